//! # Engine 2 (`--engine mio`): one thread, an event loop, the same lobby
//!
//! The threads engine gives each player a reader thread that blocks in `read` and a writer thread
//! that blocks in `write`, and puts one lock around the lobby because many threads touch it. Here
//! one thread serves everyone: it asks the kernel which sockets are ready (epoll on Linux, kqueue
//! on macOS; mio hides which) and does, for each, only what can be done without waiting. The
//! lobby is the same state machine, called the same way; it needs no lock, because only this
//! thread ever touches it.
//!
//! The loop (as in tcp-echo's `engine_mio.rs`, whose rules this follows):
//! 1. `poll` until a socket is ready or the next timer is due (the ticker, an idle deadline).
//! 2. The listener: accept until `WouldBlock`, greet each newcomer (or refuse it: server full).
//!    A player: write what waits in its outbox, then read lines and hand each to the lobby.
//! 3. Deliver what the lobby wants said: each message is queued in its recipient's outbox.
//! 4. Timers: forfeits (`Lobby::tick`), idle connections, closes that take too long.
//! 5. Write: every outbox that was given messages during the turn goes out, as far as the
//!    socket takes it, with one `writev` per connection; then the turn's log lines, with one
//!    `write` (`log.rs`).
//!
//! ## The event loop's rules, and where each is kept
//! - **Drain until `WouldBlock`** (mio is edge-triggered: "readable" is said once, when bytes
//!   arrive): `Connection::next_input` reads until the socket has nothing more, which a read
//!   shorter than asked for already says on Linux and macOS (`connection.rs`)...
//! - **...but take turns.** A client that sends lines faster than they are handled would keep
//!   the loop reading it for ever, and every other player would wait. So a connection is served
//!   at most [`LINES_PER_TURN`] lines per turn; if it has more, it goes on a list of connections
//!   to serve again after this round of events (`Server::unfinished`), since no new event will
//!   come for bytes already waiting. The threads engine gets this fairness from the scheduler.
//! - **A write may take only part of the output.** What the socket has no room for waits in the
//!   player's outbox; each connection is registered for writable events once, and a writable
//!   event (the kernel's buffer has room again) flushes it. Registered once, for both, means no
//!   `epoll_ctl` per write: the interest never changes, a writable event just finds an empty
//!   outbox when there was nothing to wait for.
//! - **Write once per turn.** The lobby's messages are queued while the turn's events are
//!   handled, and each connection given any is written once, at the end of the turn. A player
//!   who is sent several messages in one turn (both moves of a round of rock-paper-scissors,
//!   a result and the next `JOINED`) gets them in one `writev`, one TCP segment and one
//!   wake-up of its reader, instead of one each. On loopback a `write` costs more than its own
//!   side: the kernel runs the receiving socket's side of TCP in the same call. The price is
//!   a wait of at most one turn's work (the events one `poll` returned, some microseconds
//!   each) before a reply leaves; a turn is long only when the server is saturated, and then
//!   replies queue anyway. An outbox that fills up during a turn ([`EARLY_FLUSH`] messages) is
//!   written at once, so the bound on it still means "this client does not read", not "this
//!   turn was long".
//! - **Bound every buffer.** A line is at most 512 bytes ([`MAX_LINE`](super::protocol::MAX_LINE)),
//!   an outbox at most [`OUTBOX_MESSAGES`] messages; the player past that bound is dropped as
//!   too slow, with the same log line as in the threads engine. Nobody else waits for it.
//! - **Events can be stale.** An event may name a connection closed earlier in the same batch:
//!   its token is no longer in the map, and it is ignored.
//! - **`Ok(0)` from `read` means the client closed its side.** It may still read: what is queued
//!   goes out, then our FIN, then the connection lingers until the client's FIN (or 2 s), so
//!   the last line is not destroyed by a reset (see `netlab_common::net::close_gracefully`).
//! - **Never block, not even to wait for time.** Forfeits, idle timeouts and lingering all end
//!   at instants the loop computes; `poll`'s timeout wakes it for the nearest one.
//!
//! ## Where back-pressure lives
//! In the threads engine a slow client blocks its own writer thread, and the outbox in front of
//! that thread fills. Here nothing blocks: the outbox *is* the only place a slow client's
//! messages wait, besides the kernel's socket buffer. Reading is never paused for a client whose
//! output is waiting, exactly as the threads engine's reader keeps reading: a player's input and
//! its output are separate streams (a move is answered to the whole room, not echoed).

mod connection;
mod log;

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use netlab_common::accept::{ACCEPT_BACKOFF, AcceptFailure, accept_failure};
use netlab_common::net::{LINGER_TIMEOUT, StopSignal};
use netlab_common::{Error, Result};

use super::limits::{self, OUTBOX_MESSAGES};
use super::{Lobby, PlayerId, ServeConfig, TICK, TokenSource};
use connection::{Connection, Input, MESSAGES_PER_WRITE, Offer, Phase, Readiness};
use log::Log;

/// The token of the listening socket; connections get tokens from 1 up.
const LISTENER: Token = Token(0);

/// Readiness events handled per `poll` call.
const EVENTS_PER_POLL: usize = 1024;

/// Lines handled for one connection before the others get their turn (see "take turns").
const LINES_PER_TURN: usize = 16;

/// Messages waiting in one outbox after which it is written at once instead of at the end of the
/// turn (see "write once per turn"): as many as one `writev` takes.
const EARLY_FLUSH: usize = MESSAGES_PER_WRITE;

/// Accepts and serves players on this one thread until `stop` is requested.
pub(super) fn serve(
    listener: std::net::TcpListener,
    config: ServeConfig,
    stop: &StopSignal,
) -> Result<()> {
    listener
        .set_nonblocking(true)
        .map_err(|err| Error::io("making the listener non-blocking", err))?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new().map_err(|err| Error::io("creating the event loop", err))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|err| Error::io("registering the listener", err))?;
    let registry = poll
        .registry()
        .try_clone()
        .map_err(|err| Error::io("sharing the event loop's registry", err))?;
    let mut server = Server::new(config, registry);
    let mut events = Events::with_capacity(EVENTS_PER_POLL);
    loop {
        let timeout = server.poll_timeout(Instant::now());
        if let Err(err) = poll.poll(&mut events, Some(timeout)) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue; // a signal arrived (Ctrl-C's handler runs on its own thread)
            }
            return Err(Error::io("waiting for events", err));
        }
        for event in events.iter() {
            match event.token() {
                LISTENER => {
                    if stop.requested() {
                        server.log.flush();
                        return Ok(());
                    }
                    server.accept_all(&listener);
                }
                token => server.ready(token, event),
            }
        }
        for token in std::mem::take(&mut server.unfinished) {
            server.drive(token);
        }
        server.run_timers(Instant::now(), &listener);
        server.settle(); // the turn's writes, one per connection
        server.log.flush(); // and its log lines, before waiting again
    }
}

/// The loop's state: the lobby, every connection, and the timers.
struct Server {
    config: ServeConfig,
    lobby: Lobby,
    registry: Registry,
    connections: HashMap<Token, Connection>,
    /// The connection of each player the lobby knows as connected.
    tokens: HashMap<PlayerId, Token>,
    next_token: usize,
    /// When each open connection's idle time runs out, nearest first. As in tcp-echo, an entry
    /// may be early (the client spoke since) and is then put back at the true deadline when its
    /// time comes, which keeps the work per line down to updating one `Instant`.
    deadlines: BTreeSet<(Instant, Token)>,
    /// Connections finishing or lingering, to be closed if that takes too long.
    closing: Vec<Token>,
    /// Connections that were given messages since their last flush.
    to_flush: Vec<Token>,
    /// Connections whose write failed: the client is gone.
    failed: Vec<(Token, String)>,
    /// Connections that used up their turn with input left (see "take turns").
    unfinished: Vec<Token>,
    /// When the lobby is next asked to forfeit players whose grace period ended.
    next_tick: Instant,
    /// Set when `accept` failed for want of descriptors: no accepting until then.
    accept_paused_until: Option<Instant>,
    /// Where lingering connections' unwanted input is read into and thrown away.
    scratch: Vec<u8>,
    /// The turn's lines for the operator, printed at its end.
    log: Log,
}

impl Server {
    fn new(config: ServeConfig, registry: Registry) -> Server {
        Server {
            lobby: Lobby::new(config.lobby.clone(), TokenSource::random()),
            config,
            registry,
            connections: HashMap::new(),
            tokens: HashMap::new(),
            next_token: LISTENER.0 + 1,
            deadlines: BTreeSet::new(),
            closing: Vec::new(),
            to_flush: Vec::new(),
            failed: Vec::new(),
            unfinished: Vec::new(),
            next_tick: Instant::now() + TICK,
            accept_paused_until: None,
            scratch: vec![0; 4096],
            log: Log::default(),
        }
    }

    /// How long `poll` may wait: until the next tick (which also looks at closing connections),
    /// idle deadline or end of an accept pause; not at all when connections have input left.
    fn poll_timeout(&self, now: Instant) -> Duration {
        if !self.unfinished.is_empty() {
            return Duration::ZERO;
        }
        let idle = self.deadlines.first().map(|&(due, _)| due);
        [Some(self.next_tick), idle, self.accept_paused_until]
            .into_iter()
            .flatten()
            .min()
            .map_or(TICK, |due| due.saturating_duration_since(now))
    }

    /// Everything that happens at a time rather than on an event.
    fn run_timers(&mut self, now: Instant, listener: &TcpListener) {
        if now >= self.next_tick {
            self.next_tick = now + TICK;
            self.lobby.tick(now);
            self.deliver(now);
            self.expire_closing(now);
        }
        self.expire_idle(now);
        if self.accept_paused_until.is_some_and(|until| until <= now) {
            self.accept_paused_until = None;
            self.accept_all(listener);
        }
    }

    /// Accepts every waiting connection (edge-triggered: all of them, now). When `accept` fails
    /// for want of something the whole process needs (EMFILE, "too many open files"), the
    /// connection stays in the kernel's queue and no new event will say so: pause for
    /// [`ACCEPT_BACKOFF`] and try again then (`run_timers`), as tcp-echo's loop does.
    fn accept_all(&mut self, listener: &TcpListener) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(err) => match self.log_then(|| accept_failure(&err)) {
                    AcceptFailure::Drained => break,
                    AcceptFailure::OneConnection => {}
                    AcceptFailure::Exhausted => {
                        self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                        break;
                    }
                },
            }
        }
    }

    /// Prints the turn's log lines, then runs `f`, which may print a warning of its own: the
    /// order of the lines stays the order of the events.
    fn log_then<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.log.flush();
        f()
    }

    /// Greets a newcomer through the lobby, or tells it the server is full.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let token = Token(self.next_token);
        self.next_token += 1;
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(err) = self.registry.register(&mut stream, token, interest) {
            self.log.warn(format!("cannot watch {peer}: {err}"));
            return;
        }
        let tracer = self.config.tracer;
        let per_second = self.config.max_lines_per_sec;
        let now = Instant::now();
        match self.lobby.connect(peer) {
            Ok(id) => {
                let connection = Connection::new(stream, peer, Some(id), tracer, per_second);
                self.connections.insert(token, connection);
                self.tokens.insert(id, token);
                self.arm_idle_deadline(token, now);
                self.deliver(now);
                let name = self.lobby.name_of(id).unwrap_or("?");
                self.log.info(format!("{name} connected from {peer}"));
            }
            Err(refusal) => {
                self.log.warn(format!("refused {peer}: server full"));
                let mut connection = Connection::new(stream, peer, None, tracer, per_second);
                let _ = connection.offer(format!("{refusal}\n"));
                self.connections.insert(token, connection);
                self.closing.push(token);
                self.queue_flush(token);
            }
        }
    }

    /// An event for a player's connection. Readable or writable, the work is the same: write what
    /// waits, read what came.
    fn ready(&mut self, token: Token, event: &Event) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return; // closed earlier in this batch: a stale event
        };
        connection.event(Readiness::of(event));
        self.drive(token);
    }

    /// Serves one connection after an event: writes what waits, reads and handles lines, and
    /// moves a closing connection along (at the end of the turn, with the writes).
    fn drive(&mut self, token: Token) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return; // closed earlier in this batch: a stale event
        };
        if let Err(err) = connection.flush() {
            self.failed.push((token, err.to_string()));
        } else if connection.phase == Phase::Open {
            self.read_lines(token);
        }
        self.queue_flush(token);
    }

    /// Puts `token` on the list of connections written at the end of the turn, once.
    fn queue_flush(&mut self, token: Token) {
        if let Some(connection) = self.connections.get_mut(&token)
            && !connection.flush_queued
        {
            connection.flush_queued = true;
            self.to_flush.push(token);
        }
    }

    /// Hands the connection's lines to the lobby, until the socket has no more, the connection
    /// closes, or its turn is over.
    fn read_lines(&mut self, token: Token) {
        for _ in 0..LINES_PER_TURN {
            let Some(connection) = self.connections.get_mut(&token) else {
                return;
            };
            let (Phase::Open, Some(id)) = (connection.phase, connection.player) else {
                return; // the lobby let go of it while handling the last line (quit)
            };
            match connection.next_input() {
                Input::Line(line) => self.handle_line(token, id, &line),
                Input::Drained => return,
                Input::Closed => return self.end(token, "closed the connection", None),
                Input::TooLong => {
                    let words = limits::line_too_long();
                    return self.end(token, "sent a line over the limit", Some(words));
                }
                Input::Failed(err) => return self.end(token, &err.to_string(), None),
            }
        }
        self.unfinished.push(token); // more may be waiting, and no event will say so
    }

    /// One line from player `id`: the rate limit, the UTF-8 check, then the lobby decides.
    fn handle_line(&mut self, token: Token, id: PlayerId, line: &[u8]) {
        let now = Instant::now();
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        if !connection.rate.allow(now) {
            // Refused without touching the lobby; one warning per burst, not one per line.
            if !connection.warned {
                connection.warned = true;
                let _ = connection.offer(limits::too_many_lines(self.config.max_lines_per_sec));
                self.queue_flush(token);
            }
            return;
        }
        connection.warned = false;
        match std::str::from_utf8(line) {
            Ok(line) => {
                self.lobby.handle_line(id, line);
                self.deliver(now);
            }
            Err(_) => {
                let _ = connection.offer(limits::NOT_UTF8.into());
                self.queue_flush(token);
            }
        }
    }

    /// Queues every message the lobby produced in its recipient's outbox, lets go of players the
    /// lobby removed (their outbox is still sent), and drops players whose outbox is full. The
    /// writing happens in [`Server::settle`] at the end of the turn, or here for an outbox that
    /// has [`EARLY_FLUSH`] messages waiting.
    fn deliver(&mut self, now: Instant) {
        loop {
            for line in self.lobby.take_log() {
                self.log.info(line);
            }
            let outgoing = self.lobby.take_outgoing();
            let removed = self.lobby.take_removed();
            if outgoing.is_empty() && removed.is_empty() {
                return;
            }
            let mut too_slow = Vec::new();
            for (id, message) in outgoing {
                let Some(&token) = self.tokens.get(&id) else {
                    continue;
                };
                let Some(connection) = self.connections.get_mut(&token) else {
                    continue;
                };
                match connection.offer(message) {
                    Offer::Queued if connection.waiting() >= EARLY_FLUSH => self.flush(token),
                    Offer::Queued => self.queue_flush(token),
                    Offer::Full => too_slow.push(id),
                }
            }
            for id in removed {
                if let Some(token) = self.tokens.remove(&id) {
                    self.let_go(token, "left");
                }
            }
            for id in too_slow {
                self.drop_too_slow(id, now);
            }
        }
    }

    /// [`OUTBOX_MESSAGES`] messages wait unread: throw them away, shut the socket down and
    /// tell the lobby the player is gone (in a game: `AWAY`, then the grace period).
    fn drop_too_slow(&mut self, id: PlayerId, now: Instant) {
        let Some(token) = self.tokens.remove(&id) else {
            return;
        };
        let name = self.lobby.name_of(id).unwrap_or("?");
        self.log.warn(limits::too_slow(name));
        if let Some(connection) = self.connections.get_mut(&token) {
            debug_assert!(connection.waiting() >= OUTBOX_MESSAGES);
            connection.player = None;
            connection.shut_down();
        }
        self.close(token, "closed the connection");
        self.lobby.disconnect(id, now);
    }

    /// The client ended the conversation (closed, broke a rule, went silent): say the last
    /// words, if any, tell the lobby, and close once they are sent.
    fn end(&mut self, token: Token, reason: &str, last_words: Option<String>) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        if let Some(words) = last_words {
            let _ = connection.offer(words); // a full outbox: it would not read them anyway
        }
        let player = connection.player.take();
        let peer = connection.peer;
        self.let_go(token, "");
        if let Some(id) = player {
            self.tokens.remove(&id);
            let now = Instant::now();
            self.lobby.disconnect(id, now);
            self.deliver(now);
        }
        self.log.info(format!("{peer} disconnected: {reason}"));
    }

    /// The lobby is done with this connection: take no more input, send what is queued, then
    /// close gracefully. Logs the disconnect when `reason` is not empty.
    fn let_go(&mut self, token: Token, reason: &str) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        connection.player = None;
        connection.finish();
        if let Some(due) = connection.deadline.take() {
            self.deadlines.remove(&(due, token));
        }
        if !reason.is_empty() {
            self.log
                .info(format!("{} disconnected: {reason}", connection.peer));
        }
        self.closing.push(token);
        self.queue_flush(token);
    }

    /// Writes every outbox that was given messages, moves finished connections on to lingering,
    /// and closes the connections whose client turned out to be gone, which may give the lobby
    /// more to say; repeated until nothing is left to do.
    fn settle(&mut self) {
        loop {
            for token in std::mem::take(&mut self.to_flush) {
                self.flush(token);
            }
            if self.failed.is_empty() {
                return;
            }
            for (token, reason) in std::mem::take(&mut self.failed) {
                self.vanished(token, &reason);
            }
        }
    }

    /// Writes what waits for `token`, and moves a closing connection along.
    fn flush(&mut self, token: Token) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        connection.flush_queued = false;
        if let Err(err) = connection.flush() {
            self.failed.push((token, err.to_string()));
            return;
        }
        connection.start_lingering_if_done();
        if connection.linger(&mut self.scratch) {
            self.close(token, "");
        }
    }

    /// A write failed: nothing more can reach this client. Close at once and tell the lobby.
    fn vanished(&mut self, token: Token, reason: &str) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        let player = connection.player.take();
        if let Some(id) = player {
            self.tokens.remove(&id);
            self.close(token, reason);
            let now = Instant::now();
            self.lobby.disconnect(id, now);
            self.deliver(now);
        } else {
            self.close(token, "");
        }
    }

    /// Forgets the connection and closes its socket. Logs the disconnect when `reason` is not
    /// empty.
    fn close(&mut self, token: Token, reason: &str) {
        let Some(mut connection) = self.connections.remove(&token) else {
            return;
        };
        let _ = self.registry.deregister(&mut connection.stream);
        if let Some(due) = connection.deadline {
            self.deadlines.remove(&(due, token));
        }
        if !reason.is_empty() {
            self.log
                .info(format!("{} disconnected: {reason}", connection.peer));
        }
        // Dropping the stream closes the socket.
    }

    /// Closes connections that have been finishing or lingering for longer than
    /// [`LINGER_TIMEOUT`]: a client that takes neither its last lines nor closes is not waited
    /// for.
    fn expire_closing(&mut self, now: Instant) {
        let mut expired = Vec::new();
        self.closing.retain(|token| {
            let since = match self.connections.get(token).map(|c| c.phase) {
                Some(Phase::Finishing { since } | Phase::Lingering { since, .. }) => since,
                Some(Phase::Open) | None => return false,
            };
            if now.saturating_duration_since(since) < LINGER_TIMEOUT {
                return true;
            }
            expired.push(*token);
            false
        });
        for token in expired {
            self.close(token, "");
        }
    }

    /// Puts `token` in the idle deadlines at the end of its current quiet period.
    fn arm_idle_deadline(&mut self, token: Token, quiet_since: Instant) {
        let Some(idle) = self.config.idle_timeout else {
            return; // --idle-timeout 0: never
        };
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        let due = quiet_since + idle;
        connection.deadline = Some(due);
        self.deadlines.insert((due, token));
    }

    /// Takes every idle deadline that has passed: a connection that spoke since is re-armed; a
    /// spectator of a game in progress is kept for another period (watching is silent by
    /// nature); anyone else is told why and closed, as the threads engine's read timeout does.
    fn expire_idle(&mut self, now: Instant) {
        let idle = self.config.idle_timeout;
        while let Some(&(due, token)) = self.deadlines.first() {
            if due > now {
                return; // the set is ordered: nothing later is due either
            }
            self.deadlines.remove(&(due, token));
            let Some(connection) = self.connections.get_mut(&token) else {
                continue;
            };
            connection.deadline = None;
            let (Phase::Open, Some(id)) = (connection.phase, connection.player) else {
                continue; // closing has its own timeout
            };
            let quiet_since = connection.last_heard;
            if now < quiet_since + idle.unwrap_or_default() {
                self.arm_idle_deadline(token, quiet_since); // it spoke meanwhile
                continue;
            }
            if let Some(room) = self.lobby.watched_game(id) {
                let name = self.lobby.name_of(id).unwrap_or("?");
                let watching = format!("{name} in room {room}");
                self.log.info(limits::watching_not_idle(&watching, idle));
                connection.last_heard = now; // a new period starts, as in the threads engine
                self.arm_idle_deadline(token, now);
                continue;
            }
            self.end(token, "idle timeout", Some(limits::idle_words(idle)));
        }
    }
}
