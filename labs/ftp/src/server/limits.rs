//! # How many clients, and how many from one address
//!
//! Every control connection costs a thread, a socket and, during transfers, a second socket and
//! a buffer. `--max-clients` bounds the total; `--max-per-ip` stops one address from taking every
//! slot (a script opening connections in a loop, or a download manager opening ten at once).
//! A client over a limit is told why with `421` (RFC 959 §4.2.1: "service not available, closing
//! control connection") and disconnected; everyone else is unaffected.
//!
//! An admission is a value ([`Admitted`]) that gives its slot back when dropped, so a slot can
//! never leak, whichever way a session ends (a clean `QUIT`, an error, a panic).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::reply::Reply;

/// Connections from one address unless `--max-per-ip` says otherwise.
pub const DEFAULT_MAX_PER_IP: usize = 8;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-clients` connections are open.
    Full {
        /// The limit.
        max: usize,
    },
    /// `--max-per-ip` connections are open from this address.
    TooManyFromAddress {
        /// The limit.
        max: usize,
    },
}

impl Refusal {
    /// The `421` sent before closing.
    pub fn reply(self) -> Reply {
        match self {
            Refusal::Full { max } => Reply::new(
                421,
                format!("Too many users: {max} connected (--max-clients {max}); try again later."),
            ),
            Refusal::TooManyFromAddress { max } => Reply::new(
                421,
                format!(
                    "Too many connections from your address ({max}, --max-per-ip); close one and try again."
                ),
            ),
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// The shared connection counts.
#[derive(Debug)]
pub struct Admissions {
    max_clients: usize,
    max_per_ip: usize,
    counts: Mutex<Counts>,
}

impl Admissions {
    /// Counts with the given limits.
    pub fn new(max_clients: usize, max_per_ip: usize) -> Arc<Admissions> {
        Arc::new(Admissions {
            max_clients,
            max_per_ip,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// The counts are plain numbers, consistent after every statement, so a panic elsewhere
    /// while the lock was held does not make them unusable: keep going.
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for a connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refusal> {
        let ip = ip.to_canonical();
        let mut counts = self.lock();
        if counts.total >= self.max_clients {
            return Err(Refusal::Full {
                max: self.max_clients,
            });
        }
        let from_ip = counts.per_address.entry(ip).or_insert(0);
        if *from_ip >= self.max_per_ip {
            return Err(Refusal::TooManyFromAddress {
                max: self.max_per_ip,
            });
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(Admitted {
            admissions: Arc::clone(self),
            ip,
        })
    }

    /// `--max-clients`.
    pub fn max_clients(&self) -> usize {
        self.max_clients
    }

    /// Connections open now.
    pub fn total(&self) -> usize {
        self.lock().total
    }
}

/// A taken slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Admitted {
    admissions: Arc<Admissions>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.admissions.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(from_ip) = counts.per_address.get_mut(&self.ip) {
            *from_ip = from_ip.saturating_sub(1);
            if *from_ip == 0 {
                counts.per_address.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The per-address limit refuses the third connection from one address while another
    /// address still gets in; the total limit refuses everybody; dropping frees slots.
    #[test]
    fn limits_and_release() {
        let admissions = Admissions::new(3, 2);
        let one: IpAddr = [192, 0, 2, 1].into();
        let two: IpAddr = [192, 0, 2, 2].into();
        let first = admissions.admit(one).unwrap();
        let _second = admissions.admit(one).unwrap();
        assert_eq!(
            admissions.admit(one).unwrap_err(),
            Refusal::TooManyFromAddress { max: 2 }
        );
        let _third = admissions.admit(two).unwrap();
        assert_eq!(admissions.admit(two).unwrap_err(), Refusal::Full { max: 3 });
        drop(first);
        assert_eq!(admissions.total(), 2);
        assert!(admissions.admit(one).is_ok());
    }
}
