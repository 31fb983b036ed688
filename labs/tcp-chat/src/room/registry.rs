//! # Who is in the room: the session cache
//!
//! The server keeps one record per connected client: name, address, when it connected, how many
//! messages it sent, and the queue that feeds its writer thread. Every client thread reads and
//! changes this table, so it lives behind one `Mutex`. The lock is held only to look things up and
//! to *queue* lines, never while writing to a socket: a client that reads slowly must not stall
//! everyone else.
//!
//! ## A slow reader does not hold up the room
//! Each client's queue holds at most [`QUEUE`] items. If a client stops reading, TCP flow control
//! stops its writer thread, its queue fills, and the next line for it finds the queue full. Rather
//! than make the sender wait (and with it the whole room), the server disconnects that client: it
//! shuts its socket down, which ends its threads, and it is removed like any vanished client.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::{Instant, SystemTime};

use crate::room::protocol::auto_name;

/// Items waiting for one client's writer thread, at most.
pub const QUEUE: usize = 256;

/// Something to send to one client.
#[derive(Debug)]
pub enum Out {
    /// A line (the `\n` is added by the writer).
    Line(String),
    /// `FILE SIZE NAME`, the file's bytes, `DONE SHA256`.
    File {
        /// The name to announce.
        name: String,
        /// Open file to stream.
        file: File,
        /// Bytes to send.
        size: u64,
    },
    /// Close the connection after what is queued.
    Close,
}

/// A client's identity in the table (stays the same when it changes its name).
pub type ClientId = u64;

/// One connected client.
#[derive(Debug)]
pub struct Member {
    /// Its current name.
    pub name: String,
    /// Its address.
    pub addr: SocketAddr,
    /// Wall-clock time of connecting (for people).
    pub since: SystemTime,
    /// Monotonic time of connecting (for durations).
    pub connected_at: Instant,
    /// Messages sent (to everyone or privately).
    pub messages: u64,
    outbox: SyncSender<Out>,
    stream: TcpStream,
}

/// The room is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    /// The limit.
    pub max_clients: usize,
}

/// The table of clients.
#[derive(Debug)]
pub struct Registry {
    members: BTreeMap<ClientId, Member>,
    connections_so_far: u64,
    max_clients: usize,
}

impl Registry {
    /// An empty room for at most `max_clients`.
    pub fn new(max_clients: usize) -> Self {
        Self {
            members: BTreeMap::new(),
            connections_so_far: 0,
            max_clients,
        }
    }

    /// Admits a client with the next automatic name (a counter: numbers are not reused), or says
    /// the room is full.
    pub fn admit(
        &mut self,
        addr: SocketAddr,
        outbox: SyncSender<Out>,
        stream: TcpStream,
    ) -> Result<(ClientId, String), Full> {
        if self.members.len() >= self.max_clients {
            return Err(Full {
                max_clients: self.max_clients,
            });
        }
        // Skip numbers whose name somebody took with /nick.
        let name = loop {
            self.connections_so_far += 1;
            let name = auto_name(self.connections_so_far);
            if self.id_of(&name).is_none() {
                break name;
            }
        };
        let id = self.connections_so_far;
        self.members.insert(
            id,
            Member {
                name: name.clone(),
                addr,
                since: SystemTime::now(),
                connected_at: Instant::now(),
                messages: 0,
                outbox,
                stream,
            },
        );
        Ok((id, name))
    }

    /// Removes a client; `None` if it was already gone.
    pub fn remove(&mut self, id: ClientId) -> Option<Member> {
        self.members.remove(&id)
    }

    /// The client's record.
    pub fn get(&self, id: ClientId) -> Option<&Member> {
        self.members.get(&id)
    }

    /// Counts one message sent by `id`.
    pub fn count_message(&mut self, id: ClientId) {
        if let Some(member) = self.members.get_mut(&id) {
            member.messages += 1;
        }
    }

    /// The client called `name` (names are unique ignoring case).
    pub fn id_of(&self, name: &str) -> Option<ClientId> {
        self.members
            .iter()
            .find(|(_, member)| member.name.eq_ignore_ascii_case(name))
            .map(|(&id, _)| id)
    }

    /// Renames `id` to `name` (already checked by `check_name`); returns the old name, or an
    /// error line if the name is taken.
    pub fn rename(&mut self, id: ClientId, name: &str) -> Result<String, String> {
        match self.id_of(name) {
            Some(owner) if owner != id => {
                return Err(format!("ERROR the name {name} is taken"));
            }
            _ => {}
        }
        let member = self
            .members
            .get_mut(&id)
            .ok_or_else(|| "ERROR you are not in the room".to_string())?;
        Ok(std::mem::replace(&mut member.name, name.to_string()))
    }

    /// Queues `out` for `id`. A client whose queue is full is disconnected (see the module docs);
    /// returns false if the item was not queued.
    pub fn send(&self, id: ClientId, out: Out) -> bool {
        let Some(member) = self.members.get(&id) else {
            return false;
        };
        match member.outbox.try_send(out) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                netlab_common::term::warn(format!(
                    "disconnecting {}: it is not reading ({QUEUE} items waiting for it)",
                    member.name
                ));
                // Its reader thread sees the shutdown and removes it.
                let _ = member.stream.shutdown(Shutdown::Both);
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Queues a graceful close after whatever is queued for `id` (a client that half-closed still
    /// gets its answers). A full queue means the client is not reading: its socket is shut down
    /// at once instead.
    pub fn close(&self, id: ClientId) {
        let Some(member) = self.members.get(&id) else {
            return;
        };
        if member.outbox.try_send(Out::Close).is_err() {
            let _ = member.stream.shutdown(Shutdown::Both);
        }
    }

    /// Queues `line` for every client except `except`.
    pub fn broadcast(&self, except: Option<ClientId>, line: &str) {
        for &id in self.members.keys() {
            if Some(id) != except {
                self.send(id, Out::Line(line.to_string()));
            }
        }
    }

    /// How many clients are in the room.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// The most clients allowed at once.
    pub fn max_clients(&self) -> usize {
        self.max_clients
    }

    /// True when nobody is in the room.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The `status` report: a header line, one line per client, and `END`.
    ///
    /// ```text
    /// STATUS 2 clients
    /// Client01 127.0.0.1:50312 connected 14s (since 09:30:02 UTC) messages 3
    /// Ann 127.0.0.1:50320 connected 3s (since 09:30:13 UTC) messages 0
    /// END
    /// ```
    pub fn status_lines(&self, now: Instant) -> Vec<String> {
        let noun = if self.members.len() == 1 {
            "client"
        } else {
            "clients"
        };
        let mut lines = vec![format!("STATUS {} {noun}", self.members.len())];
        lines.extend(self.members.values().map(|member| {
            format!(
                "{} {} connected {}s (since {} UTC) messages {}",
                member.name,
                member.addr,
                now.saturating_duration_since(member.connected_at).as_secs(),
                netlab_common::term::clock_time_utc(member.since),
                member.messages
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
    use std::net::TcpListener;
    use std::sync::mpsc;

    fn socket() -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        TcpStream::connect(listener.local_addr().unwrap()).unwrap()
    }

    fn admit(registry: &mut Registry) -> Result<(ClientId, String), Full> {
        let (sender, _) = mpsc::sync_channel(1);
        registry.admit(([127, 0, 0, 1], 1).into(), sender, socket())
    }

    /// Automatic names count up and skip names taken with /nick; renames stay unique.
    #[test]
    fn names_are_unique() {
        let mut registry = Registry::new(10);
        let (first, name) = admit(&mut registry).unwrap();
        assert_eq!(name, "Client01");
        assert_eq!(registry.rename(first, "Client02"), Ok("Client01".into()));
        let (second, name) = admit(&mut registry).unwrap();
        assert_eq!(name, "Client03");
        assert_eq!(
            registry.rename(second, "client02"),
            Err("ERROR the name client02 is taken".into())
        );
        assert_eq!(registry.rename(first, "CLIENT02"), Ok("Client02".into()));
    }

    /// The limit counts clients present now; leaving frees a place.
    #[test]
    fn limit() {
        let mut registry = Registry::new(1);
        let (id, _) = admit(&mut registry).unwrap();
        assert_eq!(admit(&mut registry), Err(Full { max_clients: 1 }));
        registry.remove(id);
        assert!(admit(&mut registry).is_ok());
    }
}
