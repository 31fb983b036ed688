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
//!
//! ## A fast talker does not get readers disconnected
//! A full queue is only evidence of a reader that stopped if the queue had time to drain. One
//! client can send thousands of lines in one burst; its thread queues an `ACK` and a `MSG` per
//! line at memory speed, far faster than the writer threads (one system call per line) can
//! empty the queues, so a queue could fill while its client reads perfectly well. So a talker's
//! thread paces itself: before each line it waits while some member has more than
//! [`QUEUE_HIGH`] items queued ([`Registry::longest_queue`]), which slows the talker to the pace
//! of the room (and TCP flow control then slows its sender). A member that does not drain below
//! that mark for a while is marked *lagging* ([`Registry::stop_waiting_for_laggards`]): nobody
//! waits for it any more, its queue fills, and it is disconnected as above. The count of queued
//! items per member is kept in an atomic counter that the member's writer thread counts down.
//!
//! A waiting talker sleeps on a condition variable ([`Drained`]) rather than looking again every
//! millisecond: a writer thread whose count falls to [`QUEUE_HIGH`] wakes the talkers, and so
//! does a member leaving or being given up on. Each waiter first notes the [`Drained`]
//! generation, then looks at the queues, then sleeps only while the generation is unchanged, so
//! a wake-up that comes between its look and its sleep is not lost.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use super::protocol::auto_name;

/// Items waiting for one client's writer thread, at most.
pub const QUEUE: usize = 256;

/// Above this many items queued for a member, talkers wait for it to catch up (see the module
/// docs): half the queue, so a burst never fills a queue that is being drained.
pub const QUEUE_HIGH: usize = QUEUE / 2;

/// Items queued for one client and not yet written, counted up by [`Registry::send`] and down by
/// the client's writer thread.
pub type Queued = Arc<AtomicUsize>;

/// Counts one item of `queued` down, never below zero (a writer that has ended sets it to zero
/// while a sender may still be counting one up and back down). Returns the new count, or `None`
/// if it already was zero.
pub fn count_down(queued: &Queued) -> Option<usize> {
    queued
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |count| {
            count.checked_sub(1)
        })
        .ok()
        .map(|before| before - 1)
}

/// Wakes talkers that wait for the room to catch up (see the module docs): a generation number
/// that goes up every time a backlog may have shrunk, and a condition variable to wait on it.
#[derive(Debug, Default)]
pub struct Drained {
    generation: Mutex<u64>,
    changed: Condvar,
}

impl Drained {
    /// The current generation, to note before looking at the queues.
    pub fn generation(&self) -> u64 {
        // A counter cannot be left half-changed by a panic, so a poisoned lock is used as it is.
        *self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Some backlog may have shrunk: a new generation, and every waiter wakes.
    pub fn notify(&self) {
        let mut generation = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        self.changed.notify_all();
    }

    /// Sleeps while the generation is still `seen`, for at most `timeout`.
    pub fn wait_past(&self, seen: u64, timeout: Duration) {
        let generation = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .changed
            .wait_timeout_while(generation, timeout, |generation| *generation == seen)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

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
    /// Items in `outbox` not yet written by the writer thread.
    queued: Queued,
    /// Talkers have stopped waiting for this member to catch up (see the module docs).
    lagging: bool,
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
                queued: Queued::default(),
                lagging: false,
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

    /// The counter of items queued for `id`, for its writer thread to count down.
    pub fn queued(&self, id: ClientId) -> Option<Queued> {
        self.members
            .get(&id)
            .map(|member| Arc::clone(&member.queued))
    }

    /// The most items queued for any member that talkers still wait for. A lagging member that
    /// has caught up (nothing queued) is waited for again.
    pub fn longest_queue(&mut self) -> usize {
        let mut longest = 0;
        for member in self.members.values_mut() {
            let queued = member.queued.load(Ordering::SeqCst);
            if queued == 0 {
                member.lagging = false;
            }
            if !member.lagging {
                longest = longest.max(queued);
            }
        }
        longest
    }

    /// Marks every member with more than `above` items queued as lagging: talkers stop waiting
    /// for it, and if it does not read, its queue fills and it is disconnected.
    pub fn stop_waiting_for_laggards(&mut self, above: usize) {
        for member in self.members.values_mut() {
            if member.queued.load(Ordering::SeqCst) > above {
                member.lagging = true;
            }
        }
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
        // Counted before it is queued: the writer may take it and count it down at once.
        member.queued.fetch_add(1, Ordering::SeqCst);
        let sent = member.outbox.try_send(out);
        if sent.is_err() {
            count_down(&member.queued);
        }
        match sent {
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

    /// Queued items are counted; a member that stays behind can be given up on, and is waited
    /// for again once it has caught up.
    #[test]
    fn queue_counts_and_laggards() {
        let mut registry = Registry::new(10);
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        let (id, _) = registry
            .admit(([127, 0, 0, 1], 1).into(), sender, socket())
            .unwrap();
        for _ in 0..3 {
            assert!(registry.send(id, Out::Line("x".into())));
        }
        assert_eq!(registry.longest_queue(), 3);
        registry.stop_waiting_for_laggards(2);
        assert_eq!(registry.longest_queue(), 0, "lagging: not waited for");
        let queued = registry.queued(id).unwrap();
        for _ in receiver.try_iter() {
            count_down(&queued);
        }
        assert_eq!(registry.longest_queue(), 0);
        assert!(registry.send(id, Out::Line("y".into())));
        assert_eq!(registry.longest_queue(), 1, "caught up: waited for again");
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

    /// A drain that happens after a talker looked at the queues but before it went to sleep
    /// still wakes it (no lost wake-up), and counting down reports the new count.
    #[test]
    fn drained_wakeup_is_not_lost() {
        let drained = Drained::default();
        let seen = drained.generation();
        drained.notify(); // the writer drains between the talker's look and its sleep
        let started = Instant::now();
        drained.wait_past(seen, Duration::from_secs(30));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "slept through the wake-up"
        );
        let queued = Queued::default();
        queued.store(QUEUE_HIGH + 1, Ordering::SeqCst);
        assert_eq!(count_down(&queued), Some(QUEUE_HIGH));
        queued.store(0, Ordering::SeqCst);
        assert_eq!(count_down(&queued), None);
    }
}
