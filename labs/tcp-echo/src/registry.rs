//! # The table of connected clients
//!
//! A server that only echoes needs no memory of its clients. As soon as it offers `status`
//! ("who else is here?") or a client limit, it needs shared state: one table that every
//! connection can read and change. This is that table. It holds no sockets, so both engines use
//! it: the mio engine owns it inside its single event-loop thread; the threads engine shares it
//! behind a `Mutex`, locked only for the few microseconds a lookup takes and never while doing I/O
//! (a lock held during a slow `write` would stall every other client).
//!
//! Names are `Client01`, `Client02`, ...: numbers are never reused, so a name identifies one
//! connection even after it leaves.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use netlab_common::term;

/// Identifies one connection for as long as the server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(u64);

/// What the server remembers about a connected client.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    /// `Client01`, `Client02`, ...
    pub name: String,
    /// The client's IP address and port.
    pub addr: SocketAddr,
    /// Wall-clock time of connection, for display.
    pub since: SystemTime,
    /// Monotonic time of connection, for "connected for 12s" (immune to clock changes).
    pub connected_at: Instant,
}

/// The server is at its `--max-clients` limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    /// The limit that was reached.
    pub max_clients: usize,
}

/// Connected clients, in connection order.
#[derive(Debug)]
pub struct Registry {
    max_clients: usize,
    connections_so_far: u64,
    clients: BTreeMap<ClientId, ClientInfo>,
}

impl Registry {
    /// An empty table that admits at most `max_clients` at once.
    pub fn new(max_clients: usize) -> Self {
        Self {
            max_clients,
            connections_so_far: 0,
            clients: BTreeMap::new(),
        }
    }

    /// Admits a new client from `addr` and names it, or refuses it when the table is full.
    pub fn admit(&mut self, addr: SocketAddr) -> Result<(ClientId, String), Full> {
        if self.clients.len() >= self.max_clients {
            return Err(Full {
                max_clients: self.max_clients,
            });
        }
        self.connections_so_far += 1;
        let id = ClientId(self.connections_so_far);
        let name = format!("Client{:02}", self.connections_so_far);
        let info = ClientInfo {
            name: name.clone(),
            addr,
            since: SystemTime::now(),
            connected_at: Instant::now(),
        };
        self.clients.insert(id, info);
        Ok((id, name))
    }

    /// Forgets a client; returns what was known about it.
    pub fn remove(&mut self, id: ClientId) -> Option<ClientInfo> {
        self.clients.remove(&id)
    }

    /// The name of a connected client.
    pub fn name_of(&self, id: ClientId) -> Option<&str> {
        self.clients.get(&id).map(|info| info.name.as_str())
    }

    /// Clients connected now.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// True when nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The limit set by `--max-clients`.
    pub fn max_clients(&self) -> usize {
        self.max_clients
    }

    /// The `status` report: a header line, one line per client, and `END`.
    ///
    /// ```text
    /// STATUS 2 clients
    /// Client01 127.0.0.1:50312 connected 14s (since 09:30:02 UTC)
    /// Client02 127.0.0.1:50320 connected 3s (since 09:30:13 UTC)
    /// END
    /// ```
    pub fn status_lines(&self, now: Instant) -> Vec<String> {
        let noun = if self.clients.len() == 1 {
            "client"
        } else {
            "clients"
        };
        let mut lines = vec![format!("STATUS {} {noun}", self.clients.len())];
        lines.extend(self.clients.values().map(|client| {
            format!(
                "{} {} connected {}s (since {} UTC)",
                client.name,
                client.addr,
                now.saturating_duration_since(client.connected_at).as_secs(),
                term::clock_time_utc(client.since)
            )
        }));
        lines.push("END".to_string());
        lines
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        ([127, 0, 0, 1], port).into()
    }

    /// Names count up and are never reused, even after a client leaves.
    #[test]
    fn names_are_unique() {
        let mut registry = Registry::new(10);
        let (first, name1) = registry.admit(addr(1)).unwrap();
        registry.remove(first);
        let (_, name2) = registry.admit(addr(2)).unwrap();
        assert_eq!((name1.as_str(), name2.as_str()), ("Client01", "Client02"));
    }

    /// The limit counts clients connected now, not clients ever connected.
    #[test]
    fn limit_counts_current_clients() {
        let mut registry = Registry::new(1);
        let (id, _) = registry.admit(addr(1)).unwrap();
        assert_eq!(registry.admit(addr(2)), Err(Full { max_clients: 1 }));
        registry.remove(id);
        assert!(registry.admit(addr(3)).is_ok());
    }

    /// Status lists every client between a count and END.
    #[test]
    fn status_layout() {
        let mut registry = Registry::new(10);
        registry.admit(addr(1)).unwrap();
        let lines = registry.status_lines(Instant::now());
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "STATUS 1 client");
        assert!(lines[1].starts_with("Client01 127.0.0.1:1 connected 0s (since "));
        assert_eq!(lines[2], "END");
    }
}
