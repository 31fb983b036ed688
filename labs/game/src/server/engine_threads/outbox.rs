//! # A player's outbox: write now if the socket has room, or leave it to the writer thread
//!
//! Every message for a player goes through that player's [`Outbox`], a bounded queue. Two kinds of
//! thread take messages out of it and write them to the player's socket:
//!
//! - **The thread that produced them**, usually another player's reader that just handled a move.
//!   After it lets go of the lobby lock it calls [`Outbox::flush`], which writes the queue with a
//!   *non-blocking* `send` (`MSG_DONTWAIT`): the kernel copies the bytes into the socket's send
//!   buffer, or says "would block" at once. A player who reads their socket has room in it almost
//!   always, so the move reaches them without waking anyone.
//! - **The player's writer thread**, which sleeps until a non-blocking `send` found the socket
//!   full. Then it takes over and writes with an ordinary blocking `write`, however long the
//!   client takes to read. Only this thread ever waits for the client, so a slow client blocks
//!   only its own writer, as before.
//!
//! Why not let the writer thread write everything, as the first version of this server did? Each
//! move then woke three threads (the mover's reader and the two players' writers), and waking a
//! thread costs a system call, a context switch and a trip through the scheduler's run queue. With
//! 2,000 threads on two cores those wake-ups were most of the server's work, and a move's latency
//! included waiting for a core for each writer. Writing directly leaves one wake-up per move: the
//! mover's reader (docs/game.md has the measurements).
//!
//! ## Order and the rules that keep it
//! - Messages enter the queue under the lobby lock, in the order the lobby produced them.
//! - Only one thread at a time takes messages out (`writing`), and it takes them from the front. So
//!   the bytes reach the socket in queue order, whichever thread writes them.
//! - The outbox's own mutex is held for pushing and popping, never during a `send` or `write`, and
//!   it is the only lock a writer thread takes. Lock order: lobby, then outbox, never the reverse.
//! - At most [`OUTBOX_MESSAGES`] messages wait. When the queue is full the player is too slow:
//!   [`Outbox::offer`] says so, and the server drops that player instead of waiting.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use netlab_common::trace::Direction;
use netlab_common::{Traced, Tracer, net};

pub(super) use crate::server::limits::OUTBOX_MESSAGES;

/// One player's queue of messages and the socket they go to.
pub(super) struct Outbox {
    /// A clone of the player's connection: for writing, and for shutting it down.
    socket: TcpStream,
    peer: SocketAddr,
    tracer: Tracer,
    queue: Mutex<Queue>,
    /// Signalled when the writer thread has work: the socket was full, or the outbox closed.
    writer_wanted: Condvar,
}

/// What the outbox's mutex guards.
#[derive(Default)]
struct Queue {
    /// Each message is every line one event sends to this player, newline-terminated.
    messages: VecDeque<Vec<u8>>,
    /// A thread is writing (a producer's `flush` or the writer thread). Only that thread takes
    /// messages out of the queue, which keeps them in order.
    writing: bool,
    /// No more messages will come: the writer thread writes what is queued, then closes.
    closed: bool,
    /// The connection failed or was shut down: queued and new messages are thrown away.
    broken: bool,
}

/// The answer to [`Outbox::offer`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Offer {
    /// The message waits in the queue; call [`Outbox::flush`] after releasing the lobby lock.
    Queued,
    /// [`OUTBOX_MESSAGES`] messages are already waiting: the client is too slow.
    Full,
}

/// What one non-blocking `send` achieved.
enum Sent {
    /// Every byte is in the kernel's send buffer.
    All,
    /// The send buffer is full; these bytes are still to be written.
    Rest(Vec<u8>),
    /// The connection is gone.
    Failed,
}

impl Outbox {
    /// An empty outbox for the connection `socket` to `peer`.
    pub(super) fn new(socket: TcpStream, peer: SocketAddr, tracer: Tracer) -> Outbox {
        Outbox {
            socket,
            peer,
            tracer,
            queue: Mutex::new(Queue::default()),
            writer_wanted: Condvar::new(),
        }
    }

    /// Takes the outbox's mutex. A thread that panicked while holding it leaves the queue in a
    /// consistent state (every change is a single push, pop or flag), so keep going.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `message` at the back of the queue. Never waits for I/O, so it may be called under
    /// the lobby lock (and must be, to keep messages in the lobby's order).
    pub(super) fn offer(&self, message: String) -> Offer {
        let mut queue = self.lock();
        if queue.broken {
            return Offer::Queued; // nobody will read it; the reader is noticing the failure
        }
        if queue.messages.len() >= OUTBOX_MESSAGES {
            return Offer::Full;
        }
        queue.messages.push_back(message.into_bytes());
        Offer::Queued
    }

    /// Writes what is queued without waiting, unless another thread is already writing. What the
    /// socket has no room for is handed to the writer thread. Call it *after* releasing the lobby
    /// lock: a `send` is a system call, and on loopback it runs the receiver's TCP stack too.
    pub(super) fn flush(&self) {
        let mut queue = self.lock();
        if queue.writing || queue.messages.is_empty() || queue.broken {
            return; // someone else writes it, or there is nothing to do
        }
        queue.writing = true;
        loop {
            let batch = take_all(&mut queue.messages);
            drop(queue);
            let sent = self.send_now(batch);
            queue = self.lock();
            match sent {
                Sent::All if !queue.messages.is_empty() => continue, // more arrived meanwhile
                Sent::All => {}
                Sent::Rest(rest) => queue.messages.push_front(rest),
                Sent::Failed => queue.broken = true,
            }
            queue.writing = false;
            if !queue.messages.is_empty() || queue.closed || queue.broken {
                self.writer_wanted.notify_one();
            }
            return;
        }
    }

    /// No more messages will be offered: the writer thread sends what is queued, then closes the
    /// connection.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.writer_wanted.notify_one();
    }

    /// The client is too slow: throw its messages away and shut the socket down, which also frees
    /// a writer thread blocked in `write` to it.
    pub(super) fn shut_down(&self) {
        {
            let mut queue = self.lock();
            queue.broken = true;
            queue.messages.clear();
        }
        let _ = self.socket.shutdown(Shutdown::Both);
        self.writer_wanted.notify_one();
    }

    /// The writer thread: sleeps until a `flush` hands it messages the socket had no room for (or
    /// the outbox closes), writes them with blocking writes, and closes the connection at the end.
    pub(super) fn run_writer(&self) {
        while let Some(batch) = self.next_batch() {
            let mut wire = Traced::new(&self.socket, self.peer, self.tracer);
            let written = wire.write_all(&batch);
            let mut queue = self.lock();
            queue.writing = false;
            if written.is_err() {
                queue.broken = true; // the client is gone; the reader will notice too
            }
        }
        // Half-close and wait for the client to close too, so the last line (BYE, an ERR) is not
        // destroyed by a reset (see close_gracefully).
        net::close_gracefully(&self.socket);
    }

    /// Waits until the writer thread should write (and returns everything queued, now marked as
    /// being written), or should stop (`None`).
    fn next_batch(&self) -> Option<Vec<u8>> {
        let mut queue = self.lock();
        loop {
            if queue.broken && !queue.writing {
                return None;
            }
            if !queue.writing && !queue.messages.is_empty() {
                queue.writing = true;
                return Some(take_all(&mut queue.messages));
            }
            if queue.closed && !queue.writing {
                return None;
            }
            queue = self
                .writer_wanted
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// One non-blocking `send` of `batch` (retried only when a signal interrupted it).
    fn send_now(&self, batch: Vec<u8>) -> Sent {
        loop {
            match send_without_waiting(&self.socket, &batch) {
                Ok(written) => {
                    let done = batch.get(..written).unwrap_or_default();
                    let local = self.socket.local_addr().ok();
                    self.tracer.chunk(Direction::Sent, local, self.peer, done);
                    return match batch.get(written..) {
                        Some(rest) if !rest.is_empty() => Sent::Rest(rest.to_vec()),
                        _ => Sent::All,
                    };
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Sent::Rest(batch),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Sent::Failed,
            }
        }
    }
}

/// Joins every queued message into one buffer, so one system call writes them all.
fn take_all(messages: &mut VecDeque<Vec<u8>>) -> Vec<u8> {
    let mut batch = messages.pop_front().unwrap_or_default();
    for message in messages.drain(..) {
        batch.extend_from_slice(&message);
    }
    batch
}

/// `send(2)` with `MSG_DONTWAIT`: copies what fits into the socket's send buffer and returns at
/// once, even though the socket itself is in blocking mode (its reader thread relies on that).
/// `MSG_NOSIGNAL` turns a write to a closed connection into an error instead of a SIGPIPE.
#[cfg(unix)]
fn send_without_waiting(socket: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    use rustix::net::SendFlags;
    Ok(rustix::net::send(
        socket,
        bytes,
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
    )?)
}

/// Elsewhere there is no per-call non-blocking flag: always leave the writing to the writer
/// thread, as if the socket were full.
#[cfg(not(unix))]
fn send_without_waiting(_socket: &TcpStream, _bytes: &[u8]) -> io::Result<usize> {
    Err(io::ErrorKind::WouldBlock.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::thread;

    use super::*;

    /// A connection on loopback: (the server's end, the client's end).
    fn connection() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    fn outbox_for(server: TcpStream) -> Arc<Outbox> {
        let peer = server.peer_addr().unwrap();
        Arc::new(Outbox::new(server, peer, Tracer::new(false)))
    }

    fn start_writer(outbox: &Arc<Outbox>) -> thread::JoinHandle<()> {
        let outbox = Arc::clone(outbox);
        thread::spawn(move || outbox.run_writer())
    }

    /// A client that reads gets its messages from `flush` alone: no writer thread runs here.
    #[test]
    fn flush_writes_without_the_writer_thread() {
        let (server, client) = connection();
        let outbox = outbox_for(server);
        assert_eq!(outbox.offer("MOVED 1 alice 5\n".into()), Offer::Queued);
        assert_eq!(outbox.offer("TURN 1 bob\n".into()), Offer::Queued);
        outbox.flush();
        let mut lines = BufReader::new(client).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "MOVED 1 alice 5");
        assert_eq!(lines.next().unwrap().unwrap(), "TURN 1 bob");
    }

    /// When the client stops reading, its socket fills and `flush` leaves the rest to the writer
    /// thread; once the client reads again it gets every message, in order, then the close.
    #[test]
    fn full_socket_hands_over_to_the_writer_in_order() {
        let (server, client) = connection();
        let outbox = outbox_for(server);
        let writer = start_writer(&outbox);
        // 1,000 messages of 32 KiB, 32 MiB in all: more than the kernel buffers of a loopback
        // connection hold, so some `send` must find the socket full while the client is not
        // reading.
        let filler = "x".repeat(32 * 1024);
        for number in 0..1000 {
            assert_eq!(outbox.offer(format!("{number} {filler}\n")), Offer::Queued);
            outbox.flush();
        }
        outbox.close();
        let mut lines = BufReader::new(client).lines();
        for number in 0..1000 {
            let line = lines.next().unwrap().unwrap();
            assert_eq!(line.split(' ').next(), Some(number.to_string().as_str()));
        }
        assert!(
            lines.next().is_none(),
            "the writer closes after the last message"
        );
        drop(lines);
        writer.join().unwrap();
    }

    /// A client that never reads fills its queue: the offer past the bound is refused, and
    /// nothing waits.
    #[test]
    fn offer_past_the_bound_is_refused() {
        let (server, _client) = connection();
        let outbox = outbox_for(server);
        for _ in 0..OUTBOX_MESSAGES {
            assert_eq!(outbox.offer("CHAT 1 bob: hi\n".into()), Offer::Queued);
        }
        assert_eq!(outbox.offer("CHAT 1 bob: hi\n".into()), Offer::Full);
    }

    /// Dropping a slow client (`shut_down`) frees its writer thread, even when it is blocked in
    /// `write` to a client that never reads.
    #[test]
    fn shut_down_frees_the_writer() {
        let (server, _client) = connection();
        let outbox = outbox_for(server);
        let writer = start_writer(&outbox);
        let filler = "x".repeat(1024 * 1024);
        for _ in 0..32 {
            assert_eq!(outbox.offer(format!("{filler}\n")), Offer::Queued);
            outbox.flush();
        }
        outbox.shut_down();
        writer.join().unwrap();
        assert_eq!(
            outbox.offer("more\n".into()),
            Offer::Queued,
            "thrown away, not queued"
        );
        assert!(outbox.lock().messages.is_empty());
    }
}
