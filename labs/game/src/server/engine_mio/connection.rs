//! # One player's connection in the event loop: buffers instead of threads
//!
//! In the threads engine a player's state lives partly on its threads' stacks: where the reader
//! is in a line, what the writer is waiting to write. Here nothing may wait, so all of it is in
//! this struct, and the loop calls in whenever the socket is ready:
//!
//! - `lines` holds the start of a line that has not ended yet (at most [`MAX_LINE`] bytes, the
//!   same bound the threads engine's reader has);
//! - `outbox` holds the messages the socket had no room for, at most [`OUTBOX_MESSAGES`]. That
//!   bound is the engine's back-pressure: a client that does not read fills its socket's kernel
//!   buffers, then its outbox, and is dropped as too slow, exactly as in the threads engine;
//! - `phase` says where the connection is in its life: open, finishing its last lines, or
//!   lingering (FIN sent, waiting for the client's, as `netlab_common::net::close_gracefully`
//!   does with a blocking socket);
//! - `drained` remembers that the socket had nothing more to read, so the loop does not ask
//!   again before the next event (below); `write_blocked`, that the socket's send buffer was
//!   full, so the loop does not try again before a writable event says there is room: a client
//!   that has stopped reading costs no `writev` per message sent its way, only its outbox.
//!
//! ## A short read means "drained"
//! mio's events are edge-triggered: "readable" is said once, when bytes arrive, so the loop must
//! read everything that is there before it waits again. The obvious way to know it has is to
//! read until `WouldBlock`; but that costs one more `recv` per event that only says "nothing":
//! at one event per move, half of the server's `recv`s were those. The kernel gives a
//! cheaper answer: a `read` that returns *fewer* bytes than it was asked for has emptied the
//! socket's receive buffer (epoll(7), "for stream-oriented files ... if you call read(2) by
//! asking to read a certain amount of data and read(2) returns a lower number of bytes, you can
//! be sure of having exhausted the read I/O space"). Bytes that arrive afterwards are a new edge,
//! and a new event. Two exceptions keep the full rule:
//! - an event that reports the client's FIN or an error: the data and the FIN can come in one
//!   event, and after the short read of the data, only the next read returns the `Ok(0)` that
//!   says the client closed; no further event would come for it;
//! - other systems than those of epoll and kqueue: mio on Windows, for one, emulates readiness
//!   and arms the next event only once an operation has returned `WouldBlock`
//!   ([`SHORT_READ_MEANS_DRAINED`]).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use mio::event::Event;
use mio::net::TcpStream;
use netlab_common::framing::{FrameDecoder, Framing};
use netlab_common::net::LINGER_DISCARD_LIMIT;
use netlab_common::{Direction, Tracer};

use crate::server::limits::{OUTBOX_MESSAGES, RateLimit};
use crate::server::protocol::MAX_LINE;
use crate::server::{PlayerId, SHORT_READ_MEANS_DRAINED};

/// Most messages handed to the kernel in one `writev`: a client that fell behind gets its
/// backlog in few system calls.
pub(super) const MESSAGES_PER_WRITE: usize = 64;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Reading lines and sending messages.
    Open,
    /// No more input is taken; the outbox is sent, then FIN. `since` bounds the wait.
    Finishing { since: Instant },
    /// FIN sent; input is read and thrown away until the client closes too.
    Lingering { since: Instant, discarded: usize },
}

/// The answer to [`Connection::offer`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Offer {
    /// The message waits in the outbox (or nobody will read it: the connection is closing).
    Queued,
    /// [`OUTBOX_MESSAGES`] messages are already waiting: the client is too slow.
    Full,
}

/// What one read from the socket brought.
pub(super) enum Input {
    /// A whole line (without its newline), to hand to the lobby.
    Line(Vec<u8>),
    /// Nothing more for now: the socket would block.
    Drained,
    /// The client closed its side.
    Closed,
    /// A line longer than [`MAX_LINE`] started.
    TooLong,
    /// The connection failed (reset, ...).
    Failed(io::Error),
}

/// What one readiness event said about a socket: mio's [`Event`], reduced to what a connection
/// needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Readiness {
    /// Bytes may have arrived since the last read.
    pub(super) readable: bool,
    /// The send buffer has room again.
    pub(super) writable: bool,
    /// The client closed its side, or the connection failed.
    pub(super) end: bool,
}

impl Readiness {
    pub(super) fn of(event: &Event) -> Readiness {
        Readiness {
            readable: event.is_readable(),
            writable: event.is_writable(),
            end: event.is_read_closed() || event.is_error(),
        }
    }
}

/// A player's (or a refused client's) socket and everything the loop keeps for it.
pub(super) struct Connection {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    local: Option<SocketAddr>,
    tracer: Tracer,
    /// `None` for a client refused because the server is full, and once the lobby is done with
    /// the player (the connection is closing).
    pub(super) player: Option<PlayerId>,
    lines: FrameDecoder,
    pub(super) rate: RateLimit,
    /// A rate-limit warning went out for the current burst.
    pub(super) warned: bool,
    outbox: VecDeque<Vec<u8>>,
    /// Bytes of the front message already written.
    front_sent: usize,
    pub(super) phase: Phase,
    /// When the current quiet period began: the last byte from the client, or the moment a
    /// silent spectator of a game was given another period. The idle clock starts here.
    pub(super) last_heard: Instant,
    /// The key under which this connection waits in the loop's idle deadlines, if it does.
    pub(super) deadline: Option<Instant>,
    /// The last read emptied the socket: nothing more to read until the next event.
    drained: bool,
    /// An event reported the client's FIN or an error (or this is Windows): read until the
    /// socket says so (`Ok(0)`, an error or `WouldBlock`), whatever the size of the reads.
    read_to_the_end: bool,
    /// The last write found the send buffer full: no more writing until a writable event.
    write_blocked: bool,
    /// Waits in the loop's list of connections to write at the end of the turn.
    pub(super) flush_queued: bool,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        player: Option<PlayerId>,
        tracer: Tracer,
        max_lines_per_sec: u32,
    ) -> Connection {
        let now = Instant::now();
        Connection {
            local: stream.local_addr().ok(),
            stream,
            peer,
            tracer,
            player,
            lines: FrameDecoder::new(Framing::Line, MAX_LINE),
            rate: RateLimit::new(max_lines_per_sec),
            warned: false,
            outbox: VecDeque::new(),
            front_sent: 0,
            phase: if player.is_some() {
                Phase::Open
            } else {
                Phase::Finishing { since: now }
            },
            last_heard: now,
            deadline: None,
            drained: false,
            read_to_the_end: !SHORT_READ_MEANS_DRAINED,
            write_blocked: false,
            flush_queued: false,
        }
    }

    /// An event for this socket. (An event that is only "writable" brings no bytes: the socket
    /// stays drained; one that is only "readable" brings no room: a full send buffer stays full.)
    pub(super) fn event(&mut self, readiness: Readiness) {
        if readiness.readable || readiness.end {
            self.drained = false;
        }
        if readiness.writable || readiness.end {
            self.write_blocked = false; // room again, or an error the next write will report
        }
        // Once reported, the end stays: a later event that does not repeat it changes nothing.
        self.read_to_the_end |= readiness.end;
    }

    /// Queues `message` (whole lines) for the client. Never writes: the loop calls
    /// [`Connection::flush`] once the event's messages are all queued.
    pub(super) fn offer(&mut self, message: String) -> Offer {
        if matches!(self.phase, Phase::Lingering { .. }) {
            return Offer::Queued; // FIN is sent: nothing more can go out
        }
        if self.outbox.len() >= OUTBOX_MESSAGES {
            return Offer::Full;
        }
        self.outbox.push_back(message.into_bytes());
        Offer::Queued
    }

    /// Messages not yet (completely) handed to the kernel.
    pub(super) fn waiting(&self) -> usize {
        self.outbox.len()
    }

    /// Writes what the socket takes, several messages per system call, until the outbox is empty
    /// or the socket is full (the rest waits for a writable event, and so does this method: it
    /// does not ask a full socket again).
    pub(super) fn flush(&mut self) -> io::Result<()> {
        while !self.outbox.is_empty() && !self.write_blocked {
            let written = match self.write_some() {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => written,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.write_blocked = true;
                    return Ok(());
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            self.consume(written);
        }
        Ok(())
    }

    /// One `writev` of the front messages. The list of slices is on the stack: this runs for
    /// every recipient of every move, and should not cost an allocation besides the system call.
    fn write_some(&mut self) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); MESSAGES_PER_WRITE];
        let mut count = 0;
        for (slot, message) in slices.iter_mut().zip(&self.outbox) {
            let skip = if count == 0 { self.front_sent } else { 0 };
            *slot = IoSlice::new(message.get(skip..).unwrap_or_default());
            count += 1;
        }
        self.stream
            .write_vectored(slices.get(..count).unwrap_or_default())
    }

    /// Takes `written` bytes off the front of the outbox, tracing them.
    fn consume(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.outbox.front() else {
                return;
            };
            let unsent = front.get(self.front_sent..).unwrap_or_default();
            let took = unsent.len().min(written);
            let sent = unsent.get(..took).unwrap_or_default();
            self.tracer
                .chunk(Direction::Sent, self.local, self.peer, sent);
            written -= took;
            if took == unsent.len() {
                self.outbox.pop_front();
                self.front_sent = 0;
            } else {
                self.front_sent += took;
            }
        }
    }

    /// The next thing the socket has for the lobby: a whole line already buffered, or else one
    /// `read`'s worth of bytes (traced, and restarting the idle clock) and then a line if one
    /// ended. `Drained` once a read came back short or would block (see the module docs).
    pub(super) fn next_input(&mut self) -> Input {
        loop {
            match self.lines.next_frame() {
                Ok(Some(line)) => return Input::Line(line),
                Ok(None) => {}
                // Line framing has one way to break its rule: too long a line.
                Err(_) => return Input::TooLong,
            }
            if self.drained {
                return Input::Drained;
            }
            let before = self.lines.buffered();
            let asked = self.lines.space();
            match self.lines.read_from(&mut self.stream) {
                Ok(0) => {
                    self.tracer.peer_closed(self.local, self.peer);
                    return Input::Closed;
                }
                Ok(got) => {
                    let fresh = self.lines.buffered() - before;
                    let bytes = self.lines.tail(fresh);
                    self.tracer
                        .chunk(Direction::Received, self.local, self.peer, bytes);
                    self.last_heard = Instant::now();
                    self.drained = got < asked && !self.read_to_the_end;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.drained = true;
                    return Input::Drained;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Input::Failed(err),
            }
        }
    }

    /// Takes no more input; what is queued still goes out, then FIN.
    pub(super) fn finish(&mut self) {
        if self.phase == Phase::Open {
            self.phase = Phase::Finishing {
                since: Instant::now(),
            };
        }
    }

    /// A finishing connection whose outbox is empty sends FIN and starts lingering.
    pub(super) fn start_lingering_if_done(&mut self) {
        if matches!(self.phase, Phase::Finishing { .. }) && self.outbox.is_empty() {
            let _ = self.stream.shutdown(Shutdown::Write);
            self.phase = Phase::Lingering {
                since: Instant::now(),
                discarded: 0,
            };
        }
    }

    /// Reads and throws away what a lingering client still sends. `true` once it can be closed:
    /// the client closed too, failed, or sent more than [`LINGER_DISCARD_LIMIT`] bytes.
    pub(super) fn linger(&mut self, scratch: &mut [u8]) -> bool {
        let Phase::Lingering {
            since,
            mut discarded,
        } = self.phase
        else {
            return false;
        };
        loop {
            match self.stream.read(scratch) {
                Ok(0) => return true,
                Ok(got) => {
                    discarded += got;
                    if discarded > LINGER_DISCARD_LIMIT {
                        return true;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.phase = Phase::Lingering { since, discarded };
                    return false;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }

    /// The client is too slow: throw its messages away and shut the socket down both ways.
    pub(super) fn shut_down(&mut self) {
        self.outbox.clear();
        self.front_sent = 0;
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::time::Duration;

    use mio::{Events, Interest, Poll, Token};

    use super::*;

    /// Waits (at most 10 s) for the next readiness event of the one socket registered with
    /// `poll`, as the loop passes it to [`Connection::event`].
    fn next_event(poll: &mut Poll) -> Option<Readiness> {
        let mut events = Events::with_capacity(4);
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        events.iter().next().map(Readiness::of)
    }

    /// What the loop does with one event: everything `next_input` hands out until it says
    /// `Drained` (`None`) or `Closed` (`Some(None)`), as text.
    fn serve_event(connection: &mut Connection, event: Readiness) -> Vec<Option<String>> {
        connection.event(event);
        let mut inputs = Vec::new();
        loop {
            match connection.next_input() {
                Input::Line(line) => inputs.push(Some(String::from_utf8(line).unwrap())),
                Input::Closed => {
                    inputs.push(None);
                    return inputs;
                }
                Input::Drained => return inputs,
                Input::TooLong | Input::Failed(_) => panic!("unexpected input"),
            }
        }
    }

    /// A client that sends its last line and closes at once: its line and its FIN arrive
    /// together and are reported by one event. The short read of the line must not be taken as
    /// "drained" then, or the close (`Ok(0)` on the next read) would wait for an event that
    /// never comes.
    #[test]
    fn a_line_and_the_close_in_one_event_are_both_seen() {
        let (mut connection, mut client) = connection();
        client.write_all(b"games\n").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        // Registered after both were sent, so that one event reports them together.
        let mut poll = Poll::new().unwrap();
        let token = Token(1);
        poll.registry()
            .register(&mut connection.stream, token, Interest::READABLE)
            .unwrap();
        let mut inputs = Vec::new();
        while inputs.last() != Some(&None) {
            // No event within 10 s: the close was never seen.
            let event = next_event(&mut poll).unwrap();
            inputs.extend(serve_event(&mut connection, event));
        }
        assert_eq!(inputs, [Some("games".to_string()), None]);
    }

    /// After a read that took less than it asked for, the connection counts as drained until
    /// the next event: it does not ask the socket again just to hear "would block". Bytes that
    /// arrive meanwhile are read when their own event is served.
    #[test]
    fn a_short_read_means_drained_until_the_next_event() {
        if !SHORT_READ_MEANS_DRAINED {
            return; // this system keeps reading until `WouldBlock`
        }
        let (mut connection, mut client) = connection();
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut connection.stream, Token(1), Interest::READABLE)
            .unwrap();
        client.write_all(b"first\n").unwrap();
        let event = next_event(&mut poll).unwrap();
        connection.event(event);
        assert!(matches!(connection.next_input(), Input::Line(line) if line == b"first"));
        // The read that brought "first" was short. More bytes come before the next call...
        client.write_all(b"second\n").unwrap();
        let event = next_event(&mut poll).unwrap();
        assert!(
            matches!(connection.next_input(), Input::Drained),
            "...but without their event, nothing is read"
        );
        assert_eq!(serve_event(&mut connection, event), [Some("second".into())]);
    }

    /// A connection on loopback: (the server's end as a non-blocking mio stream, the client's
    /// end, blocking).
    fn connection() -> (Connection, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let stream = TcpStream::from_std(server);
        let connection = Connection::new(stream, peer, Some(1), Tracer::new(false), 50);
        (connection, client)
    }

    /// A client that never reads: the offer past [`OUTBOX_MESSAGES`] waiting messages is
    /// refused, so the loop can drop the player instead of buffering without bound.
    #[test]
    fn offer_past_the_bound_is_refused() {
        let (mut connection, _client) = connection();
        for _ in 0..OUTBOX_MESSAGES {
            assert_eq!(connection.offer("CHAT 1 bob: hi\n".into()), Offer::Queued);
        }
        assert_eq!(connection.offer("CHAT 1 bob: hi\n".into()), Offer::Full);
        assert_eq!(connection.waiting(), OUTBOX_MESSAGES);
    }

    /// After a write that found the socket's send buffer full, the connection does not write
    /// again until a writable event says there is room: a client that stopped reading costs no
    /// `writev` per message sent its way.
    #[test]
    fn a_full_socket_is_not_written_again_before_a_writable_event() {
        let (mut connection, mut client) = connection();
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut connection.stream, Token(1), Interest::WRITABLE)
            .unwrap();
        assert!(next_event(&mut poll).unwrap().writable); // a new socket has room
        let filler = "x".repeat(64 * 1024);
        for _ in 0..400 {
            assert_eq!(connection.offer(format!("{filler}\n")), Offer::Queued);
        }
        connection.flush().unwrap(); // 25 MiB: more than loopback's buffers take
        let waiting = connection.waiting();
        assert!(waiting > 0, "the socket took everything");
        let mut taken = vec![0; 4 * 1024 * 1024];
        client.read_exact(&mut taken).unwrap();
        let event = next_event(&mut poll).unwrap(); // there is room again...
        connection.flush().unwrap();
        assert_eq!(
            connection.waiting(),
            waiting,
            "...but until the event is served, no write"
        );
        connection.event(event);
        connection.flush().unwrap();
        assert!(connection.waiting() < waiting);
    }

    /// Messages larger than the socket's buffers are written in many partial `writev`s as the
    /// client reads; every one arrives, whole and in order.
    #[test]
    fn partial_writes_keep_messages_whole_and_in_order() {
        let (mut connection, client) = connection();
        let filler = "x".repeat(32 * 1024);
        for number in 0..200 {
            assert_eq!(
                connection.offer(format!("{number} {filler}\n")),
                Offer::Queued
            );
        }
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(client).lines();
            for number in 0..200 {
                let line = lines.next().unwrap().unwrap();
                assert_eq!(line, format!("{number} {}", "x".repeat(32 * 1024)));
            }
        });
        // 6.4 MiB: more than loopback's buffers hold, so `flush` stops at `WouldBlock` and is
        // called again when a writable event says there is room, as in the loop.
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut connection.stream, Token(1), Interest::WRITABLE)
            .unwrap();
        connection.flush().unwrap();
        while connection.waiting() > 0 {
            let event = next_event(&mut poll).unwrap(); // none within 10 s: stuck
            connection.event(event);
            connection.flush().unwrap();
        }
        reader.join().unwrap();
    }
}
