//! # A bad network on demand: the fault injector
//!
//! On a quiet LAN or on `127.0.0.1`, UDP almost never loses or reorders anything, so a student
//! cannot see why the reliability layer exists. The [`FaultInjector`] stands between a sender
//! and the network (smoltcp's `phy/fault_injector.rs` does the same for Ethernet frames) and
//! does to each datagram what a real network sometimes does:
//!
//! - **loss**: dropped with probability `loss`;
//! - **duplication**: delivered twice with probability `duplicate`;
//! - **reordering**: with probability `reorder`, held back an extra `reorder_hold` so datagrams
//!   sent after it overtake it;
//! - **delay and jitter**: each copy arrives `delay` plus a uniform `0..=jitter` later.
//!
//! Everything is driven by a seeded generator: the same seed and the same datagrams give the same
//! faults, every run, on every machine. Each decision is recorded ([`FaultRecord`]) so a trace can
//! show what happened to each datagram. Like the rest of the crate, the injector holds no socket
//! and reads no clock: datagrams go in with [`FaultInjector::send`] and come out of
//! [`FaultInjector::poll_deliver`] once the caller's clock has reached their arrival time.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use netlab_common::random::SplitMix64;

/// Records kept when nobody collects them; older ones are dropped first (and counted).
pub const MAX_RECORDS: usize = 4096;

/// Datagrams in the air at once on one simulated link, like a router's queue: twice the largest
/// window ([`crate::MAX_WINDOW`]), each possibly duplicated, so a reliable sender never fills it;
/// a peer flooding an endpoint that delays its incoming datagrams does. Past it the link drops
/// what is sent (a full router queue's tail drop), so a delay never turns a flood into memory.
pub const MAX_IN_AIR: usize = 4 * crate::arq::MAX_WINDOW as usize;

/// What the injector does, and the seed that makes it repeatable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultConfig {
    /// Probability a datagram is dropped.
    pub loss: f64,
    /// Probability a datagram that was not dropped is delivered twice.
    pub duplicate: f64,
    /// Probability a datagram is held back by `reorder_hold`, so later ones overtake it.
    pub reorder: f64,
    /// Extra wait for a reordered datagram.
    pub reorder_hold: Duration,
    /// One-way delay of every datagram.
    pub delay: Duration,
    /// Each copy gets an extra uniform `0..=jitter` (which also reorders when it exceeds the gap
    /// between sends).
    pub jitter: Duration,
    /// The seed.
    pub seed: u64,
}

impl Default for FaultConfig {
    /// A perfect link: nothing lost, nothing delayed.
    fn default() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_hold: Duration::from_millis(20),
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            seed: 1,
        }
    }
}

/// What happened to one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    /// Datagrams are numbered from 0 in the order they were given to [`FaultInjector::send`].
    pub number: u64,
    /// When it was sent.
    pub sent_at: Instant,
    /// Its size.
    pub len: usize,
    /// The fate chosen for it.
    pub fate: Fate,
}

/// The injector's decision for one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Never delivered.
    Dropped,
    /// Delivered once after `delay`; `reordered` if it was held back so others overtake it.
    Delivered {
        /// Time from send to arrival.
        delay: Duration,
        /// Held back by the reorder rule.
        reordered: bool,
    },
    /// Delivered twice, after each of these delays.
    Duplicated {
        /// Time from send to arrival of each copy.
        delays: [Duration; 2],
        /// Held back by the reorder rule.
        reordered: bool,
    },
}

/// One copy of a datagram leaving the simulated link ([`FaultInjector::poll_release`]), with
/// what the injector did to it, so a capture can say so next to the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// The datagram.
    pub bytes: Vec<u8>,
    /// How long the injector held it (`--delay`, `--jitter`, the reorder hold).
    pub delay: Duration,
    /// It was held back by the reorder rule, so later datagrams overtook it.
    pub reordered: bool,
    /// Which copy this is: 1 for a datagram sent once; 1 or 2 for a duplicated one.
    pub copy: u8,
    /// How many copies the injector made: 1, or 2 when it duplicated the datagram.
    pub copies: u8,
}

/// One direction of a simulated link, with faults.
#[derive(Debug)]
pub struct FaultInjector {
    config: FaultConfig,
    rng: SplitMix64,
    sent: u64,
    /// Datagrams in the air, by (arrival time, order of insertion) so ties keep send order.
    in_air: BTreeMap<(Instant, u64), Release>,
    copies: u64,
    records: VecDeque<FaultRecord>,
    records_dropped: u64,
}

impl FaultInjector {
    /// An injector with its generator seeded from `config.seed`.
    pub fn new(config: FaultConfig) -> Self {
        Self {
            config,
            rng: SplitMix64::new(config.seed),
            sent: 0,
            in_air: BTreeMap::new(),
            copies: 0,
            records: VecDeque::new(),
            records_dropped: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> FaultConfig {
        self.config
    }

    /// Puts a datagram on the link at `now` and decides its fate.
    pub fn send(&mut self, datagram: Vec<u8>, now: Instant) -> Fate {
        self.send_keeping_dropped(datagram, now).0
    }

    /// Like [`Self::send`], but a dropped datagram is handed back instead of thrown away, so
    /// a capture can record it without copying every datagram in case it is dropped.
    pub fn send_keeping_dropped(
        &mut self,
        datagram: Vec<u8>,
        now: Instant,
    ) -> (Fate, Option<Vec<u8>>) {
        let number = self.sent;
        self.sent += 1;
        let len = datagram.len();
        // The generator is consulted the same number of times whatever the outcome, so one
        // datagram's fate does not shift the random numbers of every later one.
        let lost = self.rng.chance(self.config.loss);
        let duplicated = self.rng.chance(self.config.duplicate);
        let reordered = self.rng.chance(self.config.reorder);
        let hold = if reordered {
            self.config.reorder_hold
        } else {
            Duration::ZERO
        };
        let mut delay = || self.config.delay + hold + self.rng.duration_up_to(self.config.jitter);
        let (first, second) = (delay(), delay());
        let queue_full = self.is_full();
        let mut dropped = None;
        let fate = if lost || queue_full {
            dropped = Some(datagram);
            Fate::Dropped
        } else if duplicated {
            let copy = |bytes, delay, copy| Release {
                bytes,
                delay,
                reordered,
                copy,
                copies: 2,
            };
            self.put(now, copy(datagram.clone(), first, 1));
            self.put(now, copy(datagram, second, 2));
            Fate::Duplicated {
                delays: [first, second],
                reordered,
            }
        } else {
            let release = Release {
                bytes: datagram,
                delay: first,
                reordered,
                copy: 1,
                copies: 1,
            };
            self.put(now, release);
            Fate::Delivered {
                delay: first,
                reordered,
            }
        };
        if self.records.len() == MAX_RECORDS {
            self.records.pop_front();
            self.records_dropped += 1;
        }
        self.records.push_back(FaultRecord {
            number,
            sent_at: now,
            len,
            fate: fate.clone(),
        });
        (fate, dropped)
    }

    /// Puts one copy, sent at `sent_at`, in the air until `sent_at + release.delay`.
    fn put(&mut self, sent_at: Instant, release: Release) {
        self.in_air
            .insert((sent_at + release.delay, self.copies), release);
        self.copies += 1;
    }

    /// The next datagram whose arrival time is at or before `now`.
    pub fn poll_deliver(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.poll_release(now).map(|release| release.bytes)
    }

    /// Like [`Self::poll_deliver`], with what the injector did to this copy (for `--pcap`).
    pub fn poll_release(&mut self, now: Instant) -> Option<Release> {
        let entry = self.in_air.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove())
    }

    /// True when the link holds [`MAX_IN_AIR`] datagrams, so the next one sent is dropped
    /// whatever the loss rate (a full router queue's tail drop).
    pub fn is_full(&self) -> bool {
        self.in_air.len() >= MAX_IN_AIR
    }

    /// When the next datagram arrives, if any is in the air.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.in_air.keys().next().map(|(at, _)| *at)
    }

    /// Datagrams in the air.
    pub fn in_air(&self) -> usize {
        self.in_air.len()
    }

    /// Throws away everything in the air (the cable was cut).
    pub fn clear(&mut self) {
        self.in_air.clear();
    }

    /// The records since the last call (at most [`MAX_RECORDS`]).
    pub fn take_records(&mut self) -> Vec<FaultRecord> {
        self.records.drain(..).collect()
    }

    /// Records thrown away because nobody collected them in time.
    pub fn records_dropped(&self) -> u64 {
        self.records_dropped
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(seed: u64) -> Vec<Fate> {
        let mut link = FaultInjector::new(FaultConfig {
            loss: 0.3,
            duplicate: 0.1,
            reorder: 0.1,
            jitter: Duration::from_millis(5),
            seed,
            ..FaultConfig::default()
        });
        let now = Instant::now();
        (0..1000u32)
            .map(|i| link.send(i.to_be_bytes().to_vec(), now))
            .collect()
    }

    /// The same seed gives the same faults; another seed gives others.
    #[test]
    fn same_seed_same_faults() {
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    /// Over many datagrams the loss rate is near the configured probability.
    #[test]
    fn loss_rate_matches_probability() {
        let dropped = run(7).iter().filter(|f| **f == Fate::Dropped).count();
        assert!((250..350).contains(&dropped), "dropped {dropped} of 1000");
    }

    /// A held-back datagram is overtaken by one sent after it.
    #[test]
    fn reorder_lets_later_datagrams_overtake() {
        let mut link = FaultInjector::new(FaultConfig {
            reorder: 1.0,
            ..FaultConfig::default()
        });
        let start = Instant::now();
        link.send(vec![1], start);
        link.config.reorder = 0.0;
        link.send(vec![2], start + Duration::from_millis(1));
        let later = start + Duration::from_secs(1);
        assert_eq!(link.poll_deliver(later), Some(vec![2]));
        assert_eq!(link.poll_deliver(later), Some(vec![1]));
        assert_eq!(link.take_records().len(), 2);
    }

    /// A delayed link holds at most [`MAX_IN_AIR`] datagrams; a flood beyond it is dropped, as a
    /// full router queue drops, and what was in the air still arrives.
    #[test]
    fn a_flood_on_a_delayed_link_is_bounded() {
        let mut link = FaultInjector::new(FaultConfig {
            delay: Duration::from_secs(1),
            ..FaultConfig::default()
        });
        let now = Instant::now();
        let fates: Vec<Fate> = (0..MAX_IN_AIR + 10)
            .map(|_| link.send(vec![0; 10], now))
            .collect();
        assert_eq!(link.in_air(), MAX_IN_AIR);
        assert!(fates[..MAX_IN_AIR].iter().all(|f| *f != Fate::Dropped));
        assert!(fates[MAX_IN_AIR..].iter().all(|f| *f == Fate::Dropped));
        let later = now + Duration::from_secs(1);
        assert_eq!(
            std::iter::from_fn(|| link.poll_deliver(later)).count(),
            MAX_IN_AIR
        );
    }
}
