//! # Engine 2: one thread, an event loop, non-blocking sockets
//!
//! Instead of a thread per client waiting in `read`, one thread asks the OS "which of these
//! sockets can I use now?" (epoll on Linux, kqueue on macOS, IOCP on Windows; mio hides which) and
//! serves whichever are ready. Every socket is *non-blocking*: a `read` with nothing to read
//! returns `WouldBlock` at once instead of waiting.
//!
//! The loop, as in mio's own `tcp_server` example:
//! 1. `poll` blocks until some sockets are ready, and returns their *tokens* (our connection ids).
//! 2. For the listener: `accept` until `WouldBlock`. For a client: read until `WouldBlock` (or a
//!    short read, see below), answer, write what the socket accepts.
//! 3. Repeat.
//!
//! ## Rules every event loop must follow (see mio's `Poll` docs)
//! - **Drain until `WouldBlock`.** mio is edge-triggered: "readable" is reported once when data
//!   arrives, not again while it sits unread. Stop reading early and you may never hear of it again.
//!   A *short* read says the same thing one system call sooner (see "A short read means drained"
//!   below).
//! - **A write may take only part of the buffer.** The kernel's send buffer can be nearly full. The
//!   rest waits in the connection's own output buffer until a *writable* event says the socket
//!   has room again.
//! - **Bound every buffer.** A client that sends but never reads would make its output buffer grow
//!   forever. Once a connection has [`OUTPUT_LIMIT`] bytes waiting, we stop reading from it until
//!   the output drains (in raw framing: once it has any; see "The kernel's send buffer is the
//!   queue" below). Its unread bytes then stay in the kernel, TCP's flow control tells the
//!   client to stop, and the server's memory stays flat.
//!
//! Each connection is registered once for both readable and writable events. Because mio is
//! edge-triggered, a writable event arrives only when a full send buffer gets room again, so
//! asking for it costs nothing while writes succeed. Switching the interest on and off at every
//! push-back would cost an `epoll_ctl` system call each time; measured on the 1 GiB stream of
//! docs/tcp-echo.md, that was the difference between trailing tokio and matching it.
//! - **Events can be stale or spurious.** An event may name a connection we already closed (ignore
//!   it), or say "readable" when a read still gets `WouldBlock` (fine: we stop there).
//! - **`Ok(0)` from `read` means the peer closed its side** (it will send no more). It may still
//!   want our replies (a *half-close*), so we finish sending before closing.
//! - **Never block, not even to wait for time.** One thread serves everyone, so a timer cannot
//!   be a `sleep` or a thread per client. Time is one more thing `poll` waits for: its timeout.
//!
//! ## Fewer system calls per echo
//! On a busy server almost all the time is spent in the kernel (in `read`, `write` and the TCP
//! work they set off), so the cheapest echo is the one with the fewest system calls. Measured
//! with `perf stat` at 256 connections of 64-byte ping-pong, the two rules below take the
//! engine from 3.0 system calls per round trip to 2.0: one `read`, one `write`, and a share of
//! one `epoll_wait`.
//!
//! **A short read means drained.** Draining "until `WouldBlock`" costs one extra `read` per
//! event, the one that finds nothing. But with edge-triggered readiness the kernel reports
//! readable again whenever bytes arrive after a read; so if a read did not fill the buffer, the
//! socket had nothing more at that moment, and anything later brings a new event. Likewise **a
//! short write means full**: the kernel took what fitted in the send buffer and will report
//! writable once the peer's ACKs free some of it, so trying again at once would only hear
//! `WouldBlock`. Both hold for epoll (Linux) and kqueue (macOS, the BSDs), not for
//! level-triggered polling such as Windows' (see [`EDGE_TRIGGERED`]); there the engine keeps
//! going until `WouldBlock`, which is correct everywhere.
//!
//! One exception: the peer's FIN. If data and FIN arrived before `poll` returned, the single
//! event reports both ("readable", and "read closed"); a short read returns the data, and the
//! FIN, which a further read would return as `Ok(0)`, brings no new event. So once an event has
//! reported the peer's FIN, the connection reads until `Ok(0)` or `WouldBlock` as before
//! (`Connection::fin_reported`). The test `half_close_after_data_in_one_event` pins this.
//!
//! **The kernel's send buffer is the queue** (raw framing). When an echo could not all be sent,
//! the socket's send buffer is full, and bytes read now could only wait in our memory. So in raw
//! framing a connection is read only when its output is empty: every read gets the whole read
//! buffer, the echo goes straight from it to `write`, and only what the socket did not take is
//! copied aside. The unread bytes wait in the kernel's receive buffer, where TCP's flow control
//! sees them. (A stream of 1 GiB then moves in reads and writes of up to `--read-size`, never in
//! the small reads that topping up a half-full output buffer would make.)
//!
//! ## Idle deadlines (`--idle-timeout`)
//! A client that is silent (a crashed laptop behind a NAT sends no FIN, RFC 1122 4.2.3.6), or one
//! that takes none of our echo, gives the loop no event at all, so no event handler can notice it.
//! Each connection therefore records when a byte last moved, either way (`ConnInfo::moved`),
//! and the server keeps the *deadlines* (last movement plus `--idle-timeout`) in a set ordered by
//! time. Before each `poll`, the loop sets the poll timeout to the nearest deadline (see
//! `Server::poll_timeout`), so `poll` returns by then even if nothing happens; after the events
//! it takes every deadline that has passed (`Server::expire_idle`).
//!
//! Moving a deadline at every read would cost a remove and an insert in the set per read, so the
//! set is allowed to be early: an entry is only looked at once its time has come, and if the
//! connection moved bytes since, the entry is put back at the true deadline. That costs at most
//! one extra wake-up per connection per timeout, and keeps the hot path (read, echo) free of it.
//! A connection that really was idle is closed: in line and length framing it is first sent
//! `ERROR idle for N s ...` if its output is empty (a client that is not reading could not get
//! it); in raw framing nothing is written (everything written there is echo data).

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry as PollRegistry, Token};
use netlab_common::accept::{ACCEPT_BACKOFF, AcceptFailure, accept_failure};
use netlab_common::framing::{FrameDecoder, Framing};
use netlab_common::net::{LINGER_DISCARD_LIMIT, LINGER_TIMEOUT};
use netlab_common::{Direction, Error, Result, term};

use crate::protocol;
use crate::registry::{ClientId, Registry};
use crate::server::{ServeConfig, Stop};

/// Bytes of unsent output a connection may hold before we stop reading its input.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// The token of the listening socket; clients get tokens from 1 up.
const LISTENER: Token = Token(0);

/// Readiness events handled per `poll` call.
const EVENTS_PER_POLL: usize = 1024;

/// Whether readiness is edge-triggered here, so that a short read means the socket is drained
/// and a short write that it is full (see "Fewer system calls per echo"; the platforms are
/// listed in `netlab_common::net::EDGE_TRIGGERED`).
pub use netlab_common::net::EDGE_TRIGGERED;

/// Accepts and serves clients on one thread until `stop` is requested.
pub fn serve(listener: std::net::TcpListener, config: ServeConfig, stop: &Stop) -> Result<()> {
    listener
        .set_nonblocking(true)
        .map_err(|err| Error::io("making the listener non-blocking", err))?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new().map_err(|err| Error::io("creating the event loop", err))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|err| Error::io("registering the listener", err))?;

    let mut server = Server::new(config);
    let mut events = Events::with_capacity(EVENTS_PER_POLL);
    loop {
        let timeout = server.poll_timeout(Instant::now());
        if let Err(err) = poll.poll(&mut events, timeout) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue; // a signal arrived (Ctrl-C's handler runs on its own thread)
            }
            return Err(Error::io("waiting for events", err));
        }
        for event in events.iter() {
            match event.token() {
                LISTENER => {
                    if stop.requested() {
                        return Ok(());
                    }
                    server.accept_all(&listener, poll.registry());
                }
                // Readable or writable, the work is the same: flush what is queued, read what
                // arrived. Doing both on every event is simple and correct for spurious events.
                // An event for a token no longer in the map (closed earlier in this batch) is
                // ignored inside `drive`.
                token => {
                    if event.is_read_closed() {
                        server.fin_reported(token);
                    }
                    server.drive(token, poll.registry());
                }
            }
        }
        server.expire_lingering(poll.registry());
        server.expire_idle(Instant::now(), poll.registry());
        server.resume_accepting(Instant::now(), &listener, poll.registry());
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading requests and sending answers.
    Open,
    /// No more input will be processed; send what is queued, then half-close.
    Finishing,
    /// We sent FIN; discard input until the peer closes too (see `net::close_gracefully`).
    Lingering { since: Instant, discarded: usize },
}

/// What the loop does with a connection after serving an event.
enum Next {
    Keep,
    Close(String),
}

/// Output waiting for the socket to accept it: `bytes[sent..]` is still to go.
#[derive(Debug, Default)]
struct Output {
    bytes: Vec<u8>,
    sent: usize,
}

impl Output {
    fn pending(&self) -> usize {
        self.bytes.len() - self.sent
    }

    /// Writes as much as the socket takes. `Ok(true)` when everything is out.
    fn flush(&mut self, stream: &mut TcpStream, conn: &mut ConnInfo) -> io::Result<bool> {
        self.sent += write_now(stream, &self.bytes[self.sent..], conn)?;
        if self.pending() > 0 {
            // Drop the part already sent once it is large, so the buffer holds only what is
            // still to go (at most OUTPUT_LIMIT plus one read).
            if self.sent >= OUTPUT_LIMIT {
                self.bytes.drain(..self.sent);
                self.sent = 0;
            }
            return Ok(false);
        }
        // Everything is out: forget it. Keep the allocation only if it is small.
        self.bytes.clear();
        self.sent = 0;
        if self.bytes.capacity() > OUTPUT_LIMIT {
            self.bytes = Vec::new();
        }
        Ok(true)
    }
}

/// Writes `bytes` until done or the socket is full; returns how many were written.
fn write_now(stream: &mut TcpStream, bytes: &[u8], conn: &mut ConnInfo) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(count) => {
                conn.moved(Direction::Sent, &bytes[written..written + count]);
                written += count;
                if EDGE_TRIGGERED && written < bytes.len() {
                    break; // a short write: the send buffer is full, a writable event will come
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(written)
}

/// The parts of a connection that the trace and logs need.
struct ConnInfo {
    peer: SocketAddr,
    /// Our end's address, for `--trace-json`.
    local: Option<SocketAddr>,
    /// `None` for a connection refused because the server was full.
    id: Option<ClientId>,
    name: String,
    tracer: netlab_common::Tracer,
    /// Why the conversation is ending, for the log (set when the phase leaves `Open`).
    ending: String,
    /// When a byte last moved on this connection, either way: the idle clock starts here.
    last_moved: Instant,
}

impl ConnInfo {
    /// Every byte read or written passes here: it is traced (`--trace`) and restarts the idle
    /// clock.
    fn moved(&mut self, direction: Direction, bytes: &[u8]) {
        self.tracer.chunk(direction, self.local, self.peer, bytes);
        self.last_moved = Instant::now();
    }
}

struct Connection {
    stream: TcpStream,
    info: ConnInfo,
    /// Partial frames from the client; `None` in raw framing, which has no frames.
    decoder: Option<FrameDecoder>,
    output: Output,
    phase: Phase,
    /// The key under which this connection waits in [`Server::deadlines`], if it does.
    deadline: Option<Instant>,
    /// An event said the peer closed its side (FIN): a short read no longer means drained, so
    /// read on until `Ok(0)` (see "A short read means drained" above).
    fin_reported: bool,
}

struct Server {
    config: ServeConfig,
    registry: Registry,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    /// One read buffer shared by every connection: a client's bytes only stay in it until they
    /// are echoed or queued, so no connection needs a buffer of its own.
    scratch: Vec<u8>,
    /// Connections waiting for the peer's FIN, to time out.
    lingering: Vec<Token>,
    /// When each connection's idle time runs out, nearest first (see "Idle deadlines" above).
    /// An entry may be earlier than the true deadline, never later; one entry per connection.
    deadlines: BTreeSet<(Instant, Token)>,
    /// Set when `accept` failed for want of something the whole process needs (see
    /// [`Server::accept_all`]): no accepting until then.
    accept_paused_until: Option<Instant>,
}

impl Server {
    fn new(config: ServeConfig) -> Self {
        Self {
            registry: Registry::new(config.max_clients),
            scratch: vec![0; config.read_size],
            config,
            connections: HashMap::new(),
            next_token: LISTENER.0 + 1,
            lingering: Vec::new(),
            deadlines: BTreeSet::new(),
            accept_paused_until: None,
        }
    }

    /// How long `poll` may wait: until the nearest idle deadline, and at most a second while
    /// connections are lingering (to time them out); `None` (for ever) when nothing is due.
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let idle = self
            .deadlines
            .first()
            .map(|&(due, _)| due.saturating_duration_since(now));
        let lingering = (!self.lingering.is_empty()).then_some(Duration::from_secs(1));
        let paused = self
            .accept_paused_until
            .map(|until| until.saturating_duration_since(now));
        [idle, lingering, paused].into_iter().flatten().min()
    }

    /// Accepts every waiting connection (edge-triggered: all of them, now).
    ///
    /// When `accept` fails for want of something the whole process needs (EMFILE, "too many
    /// open files", is the usual one), the waiting connection stays in the kernel's queue and
    /// the listener will not be reported readable again until another connection arrives. So
    /// the loop pauses accepting for [`ACCEPT_BACKOFF`] (the poll timeout wakes it) and then
    /// tries again by itself ([`Server::resume_accepting`]); clients that leave meanwhile free
    /// descriptors. The thread-per-client servers do the same in `netlab_common::accept`.
    fn accept_all(&mut self, listener: &TcpListener, poll: &PollRegistry) {
        if self.accept_paused_until.is_some() {
            return; // the pause ends in `resume_accepting`, which drains the queue
        }
        loop {
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, poll),
                Err(err) => match accept_failure(&err) {
                    AcceptFailure::Drained => return,
                    AcceptFailure::OneConnection => {}
                    AcceptFailure::Exhausted => {
                        self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                        return;
                    }
                },
            }
        }
    }

    /// Ends a pause in accepting once it is due, and accepts what waited in the meantime.
    fn resume_accepting(&mut self, now: Instant, listener: &TcpListener, poll: &PollRegistry) {
        if self.accept_paused_until.is_some_and(|until| until <= now) {
            self.accept_paused_until = None;
            self.accept_all(listener, poll);
        }
    }

    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, poll: &PollRegistry) {
        let _ = stream.set_nodelay(self.config.nodelay);
        let token = Token(self.next_token);
        self.next_token += 1;
        let mut output = Output::default();
        let framing = self.config.framing;
        let (id, name, phase) = match self.registry.admit(peer) {
            Ok((id, name)) => {
                term::info(format!("{name} connected from {peer}"));
                if framing != Framing::Raw {
                    let _ = framing.encode(&protocol::welcome(&name), &mut output.bytes);
                }
                (Some(id), name, Phase::Open)
            }
            Err(full) => {
                term::warn(format!(
                    "refused {peer}: server full ({} clients)",
                    full.max_clients
                ));
                // In raw framing the refusal is the close itself (nothing queued: FIN at once).
                if protocol::says_why_in_band(framing) {
                    let _ = framing.encode(&protocol::server_full(full), &mut output.bytes);
                }
                (None, format!("refused {peer}"), Phase::Finishing)
            }
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(err) = poll.register(&mut stream, token, interest) {
            term::warn(format!("cannot watch {peer}: {err}"));
            if let Some(id) = id {
                self.registry.remove(id);
            }
            return;
        }
        let decoder = match self.config.framing {
            Framing::Raw => None,
            framing => Some(FrameDecoder::new(framing, self.config.max_frame)),
        };
        let local = stream.local_addr().ok();
        let connection = Connection {
            stream,
            info: ConnInfo {
                peer,
                local,
                id,
                name,
                tracer: self.config.tracer,
                ending: "closed".to_string(),
                last_moved: Instant::now(),
            },
            decoder,
            output,
            phase,
            deadline: None,
            fin_reported: false,
        };
        self.connections.insert(token, connection);
        self.arm_idle_deadline(token);
        // Send the greeting now; the client may be waiting for it before it says anything.
        self.drive(token, poll);
    }

    /// Notes that an event reported `token`'s peer closing its side.
    fn fin_reported(&mut self, token: Token) {
        if let Some(conn) = self.connections.get_mut(&token) {
            conn.fin_reported = true;
        }
    }

    fn drive(&mut self, token: Token, poll: &PollRegistry) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return;
        };
        let was_lingering = matches!(conn.phase, Phase::Lingering { .. });
        let next = conn.serve(&self.config, &mut self.registry, &mut self.scratch);
        match next {
            Next::Keep => {
                if !was_lingering && matches!(conn.phase, Phase::Lingering { .. }) {
                    self.lingering.push(token);
                }
            }
            Next::Close(why) => self.close(token, &why, poll),
        }
    }

    fn close(&mut self, token: Token, why: &str, poll: &PollRegistry) {
        let Some(mut conn) = self.connections.remove(&token) else {
            return;
        };
        let _ = poll.deregister(&mut conn.stream);
        if let Some(due) = conn.deadline {
            self.deadlines.remove(&(due, token));
        }
        if let Some(id) = conn.info.id
            && self.registry.remove(id).is_some()
        {
            term::info(format!("{} disconnected ({why})", conn.info.name));
        }
        // Dropping the stream closes the socket.
    }

    /// Closes connections that have lingered longer than `LINGER_TIMEOUT`.
    fn expire_lingering(&mut self, poll: &PollRegistry) {
        let now = Instant::now();
        let mut expired = Vec::new();
        self.lingering.retain(
            |token| match self.connections.get(token).map(|conn| conn.phase) {
                Some(Phase::Lingering { since, .. }) if now - since < LINGER_TIMEOUT => true,
                Some(_) => {
                    expired.push(*token);
                    false
                }
                None => false,
            },
        );
        for token in expired {
            self.close(token, "peer did not close in time", poll);
        }
    }

    /// Puts `token` in [`Self::deadlines`] at its true deadline: last movement plus the timeout.
    fn arm_idle_deadline(&mut self, token: Token) {
        let Some(idle) = self.config.idle_timeout else {
            return; // --idle-timeout 0: never
        };
        let Some(conn) = self.connections.get_mut(&token) else {
            return;
        };
        let due = conn.info.last_moved + idle;
        conn.deadline = Some(due);
        self.deadlines.insert((due, token));
    }

    /// Takes every deadline that has passed: a connection that moved bytes since its entry was
    /// made is re-armed at its true deadline; one that did not is idle and is dropped.
    fn expire_idle(&mut self, now: Instant, poll: &PollRegistry) {
        while let Some(&(due, token)) = self.deadlines.first() {
            if due > now {
                return; // the set is ordered: nothing later is due either
            }
            self.deadlines.remove(&(due, token));
            let Some(conn) = self.connections.get_mut(&token) else {
                continue;
            };
            conn.deadline = None;
            let idle = self.config.idle_timeout.unwrap_or_default();
            if now < conn.info.last_moved + idle {
                self.arm_idle_deadline(token); // bytes moved meanwhile: not idle
            } else {
                self.drop_idle(token, idle, poll);
            }
        }
    }

    /// Ends a connection on which no byte moved for `--idle-timeout`.
    fn drop_idle(&mut self, token: Token, idle: Duration, poll: &PollRegistry) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return;
        };
        let why = protocol::idle_reason(idle);
        let name = &conn.info.name;
        match conn.phase {
            // Lingering has its own, shorter, timeout.
            Phase::Lingering { .. } => return,
            // Silent, and nothing waiting to go out: it can still read why, then gets a FIN.
            Phase::Open if conn.output.pending() == 0 => {
                term::warn(format!("{name}: {why}; disconnecting"));
                if protocol::says_why_in_band(self.config.framing) {
                    let _ = self
                        .config
                        .framing
                        .encode(&protocol::idle_error(idle), &mut conn.output.bytes);
                }
                conn.finish(protocol::idle_for(idle));
            }
            // Output is waiting that the client has not taken for that long: it is not reading,
            // so no farewell could reach it. Close now.
            Phase::Open | Phase::Finishing => {
                term::warn(format!(
                    "{name}: {why}; disconnecting ({} bytes of output it has not taken)",
                    conn.output.pending()
                ));
                self.close(token, &protocol::idle_for(idle), poll);
                return;
            }
        }
        self.drive(token, poll);
        // Normally the farewell went out and the connection is lingering now. If the socket took
        // only part of it, give it one more timeout to drain; then the branch above closes it.
        if let Some(conn) = self.connections.get_mut(&token)
            && conn.phase == Phase::Finishing
        {
            let due = Instant::now() + idle;
            conn.deadline = Some(due);
            self.deadlines.insert((due, token));
        }
    }
}

impl Connection {
    /// Does all the work this connection allows right now.
    fn serve(&mut self, config: &ServeConfig, registry: &mut Registry, scratch: &mut [u8]) -> Next {
        if let Err(err) = self.output.flush(&mut self.stream, &mut self.info) {
            return self.vanished(registry, &err);
        }
        if self.phase == Phase::Open {
            let served = match self.decoder {
                None => self.echo_raw(scratch),
                Some(_) => self.answer_frames(config, registry),
            };
            if let Err(err) = served {
                return self.vanished(registry, &err);
            }
        }
        if self.phase == Phase::Finishing && self.output.pending() == 0 {
            self.start_lingering(registry);
        }
        if let Phase::Lingering { since, discarded } = self.phase {
            return self.linger(since, discarded, scratch);
        }
        Next::Keep
    }

    /// RFC 862: read whatever arrived and send it straight back, until the socket is drained
    /// (`WouldBlock`, or a short read) or full.
    fn echo_raw(&mut self, scratch: &mut [u8]) -> io::Result<()> {
        loop {
            if self.output.pending() > 0 {
                // The send buffer is full (the queue is the kernel's): wait for writable, then
                // read again. At most one read's worth of output is ever held.
                return Ok(());
            }
            let got = match self.stream.read(scratch) {
                Ok(0) => {
                    // Half-close: finish echoing what is queued, then close.
                    self.finish("closed by the client");
                    return Ok(());
                }
                Ok(got) => got,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            let received = &scratch[..got];
            self.info.moved(Direction::Received, received);
            // Usually the socket takes the whole echo at once and nothing is queued.
            let written = write_now(&mut self.stream, received, &mut self.info)?;
            self.output.bytes.extend_from_slice(&received[written..]);
            if self.short_read_drains() && got < scratch.len() {
                return Ok(()); // a short read: drained; new bytes will bring a new event
            }
        }
    }

    /// Line/length framing: answer every whole message, reading until `WouldBlock`.
    fn answer_frames(&mut self, config: &ServeConfig, registry: &mut Registry) -> io::Result<()> {
        // Lend the decoder out so the loop below may use `self` freely; put it back after.
        let Some(mut decoder) = self.decoder.take() else {
            return Ok(());
        };
        let result = self.answer_frames_with(&mut decoder, config, registry);
        self.decoder = Some(decoder);
        result
    }

    fn answer_frames_with(
        &mut self,
        decoder: &mut FrameDecoder,
        config: &ServeConfig,
        registry: &mut Registry,
    ) -> io::Result<()> {
        // Set by a short read: the socket has nothing more for now (see `EDGE_TRIGGERED`).
        let mut drained = false;
        loop {
            // First answer every whole message already received...
            while self.phase == Phase::Open && self.output.pending() < OUTPUT_LIMIT {
                match decoder.next_frame() {
                    Ok(Some(message)) => {
                        let reply = match self.info.id {
                            Some(id) => protocol::respond(&message, id, registry, Instant::now()),
                            None => return Ok(()),
                        };
                        for frame in &reply.frames {
                            if config
                                .framing
                                .encode(frame, &mut self.output.bytes)
                                .is_err()
                            {
                                self.finish("reply could not be framed");
                            }
                        }
                        if reply.close {
                            self.finish("said exit");
                        }
                    }
                    Ok(None) => break,
                    Err(rule_broken) => {
                        term::warn(format!("{}: {rule_broken}", self.info.name));
                        let notice = protocol::frame_error(&rule_broken);
                        let _ = config.framing.encode(&notice, &mut self.output.bytes);
                        self.finish("message over the size limit");
                    }
                }
            }
            self.output.flush(&mut self.stream, &mut self.info)?;
            if self.phase != Phase::Open || self.output.pending() >= OUTPUT_LIMIT {
                return Ok(()); // closing, or back-pressure: stop reading for now
            }
            if drained {
                return Ok(()); // everything received is answered; new bytes bring a new event
            }
            // ...then read more.
            let before = decoder.buffered();
            match decoder.read_from(&mut self.stream) {
                Ok(0) => {
                    if before > 0 {
                        term::info(format!(
                            "{} closed in the middle of a message ({before} bytes of it had arrived)",
                            self.info.name
                        ));
                    }
                    self.finish("closed by the client");
                    return Ok(());
                }
                Ok(_) => {
                    let fresh = decoder.buffered() - before;
                    self.info.moved(Direction::Received, decoder.tail(fresh));
                    // Room left in the buffer after the read: it came back short.
                    drained = self.short_read_drains() && decoder.space() > 0;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Whether a short read proves the socket drained: on edge-triggered selectors, until an
    /// event has reported the peer's FIN (which brings no event of its own once reported).
    fn short_read_drains(&self) -> bool {
        EDGE_TRIGGERED && !self.fin_reported
    }

    /// Stops processing input; queued output is still sent.
    fn finish(&mut self, why: impl Into<String>) {
        if self.phase == Phase::Open {
            self.phase = Phase::Finishing;
            self.info.ending = why.into();
        }
    }

    /// Sends FIN and starts waiting for the peer's. The client leaves the table now: it will send
    /// nothing more that we act on.
    fn start_lingering(&mut self, registry: &mut Registry) {
        if let Some(id) = self.info.id.take()
            && registry.remove(id).is_some()
        {
            term::info(format!(
                "{} disconnected ({})",
                self.info.name, self.info.ending
            ));
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        self.phase = Phase::Lingering {
            since: Instant::now(),
            discarded: 0,
        };
    }

    /// Reads and discards until the peer closes, too much arrives, or `WouldBlock`.
    fn linger(&mut self, since: Instant, mut discarded: usize, scratch: &mut [u8]) -> Next {
        loop {
            match self.stream.read(scratch) {
                Ok(0) => return Next::Close("closed".to_string()),
                Ok(got) => {
                    discarded += got;
                    if discarded > LINGER_DISCARD_LIMIT {
                        return Next::Close("kept sending after we closed".to_string());
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.phase = Phase::Lingering { since, discarded };
                    return Next::Keep;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close("closed".to_string()),
            }
        }
    }

    /// The peer is gone (reset, broken pipe): nothing more can be sent.
    fn vanished(&mut self, registry: &mut Registry, err: &io::Error) -> Next {
        if let Some(id) = self.info.id.take()
            && registry.remove(id).is_some()
        {
            term::info(format!("{} vanished ({err})", self.info.name));
        }
        Next::Close(err.to_string())
    }
}
