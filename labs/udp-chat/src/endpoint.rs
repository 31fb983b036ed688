//! # The I/O around the state machines: one UDP socket, many peers, one loop
//!
//! [`Connection`] never touches a socket or a clock. [`Endpoint`] is the part that does: it owns
//! one UDP socket (a mio socket, so one thread can wait for "a datagram arrived" *or* "a timer is
//! due" *or* "the user typed a line"), one [`Connection`] per peer address, and per peer the
//! fault injectors that make loopback behave like a bad network.
//!
//! ## One socket for everybody
//! A TCP server gets a new socket per client from `accept`. A UDP server has *one* socket and
//! learns who sent each datagram from `recv_from`; the peer's address is the only thing that
//! tells conversations apart, so the endpoint keeps a map from address to `Peer`.
//!
//! ## The loop ([`Endpoint::turn`])
//! ```text
//!   flush: every Connection's poll_transmit ──▶ fault injector ──▶ send_to (when due)
//!   wait:  until a datagram, a wake-up (stdin, Ctrl-C), or the earliest timer:
//!          RTO, PING, a delayed datagram's arrival, a silent peer's deadline
//!   read:  recv_from until WouldBlock ──▶ (incoming faults) ──▶ handle_datagram
//!   tick:  handle_timeout, PINGs, drop peers silent for too long
//!   flush again, then hand the Connections' events to the program
//! ```
//!
//! ## Strangers
//! A datagram from an address we have no peer for is a *stranger's*. The room server accepts a
//! stranger only if its datagram is a well-formed JOIN starting the sequence (the closest thing
//! this protocol has to TCP's SYN); everything else from strangers is dropped and counted, so a
//! stray or spoofed datagram cannot create state on the server.
//!
//! ## Bounds
//! What the endpoint keeps grows with what peers send, so each piece is bounded:
//!
//! - **peers**: one per address that sent an accepted JOIN, at most [`EndpointConfig::max_peers`];
//!   past it a stranger's JOIN is dropped like any stranger's datagram (and the log says so,
//!   once per episode), so a flood of JOINs from many ports cannot fill memory;
//! - **strangers**: nothing but a counter; no per-address state is created for them;
//! - **datagrams per turn**: at most [`MAX_DATAGRAMS_PER_TURN`] are read before timers and
//!   sending get their turn, so a peer flooding the socket cannot starve the others' ACKs and
//!   retransmissions; the rest are read on the next turn, which then does not wait;
//! - each [`Connection`] bounds its own queues (see its module docs).
//!
//! ## Captures
//! With a [`Capture`] set ([`Endpoint::capture_to`], `--pcap FILE`), every datagram is recorded
//! where it crosses the program's edge: when `send_to` takes it or `recv_from` returns it, and,
//! for a datagram the outgoing fault injector drops, when it is dropped, with a comment saying
//! why (see [`crate::capture`]). So the datagrams of one flush go out one at a time, each
//! through the injector and (if it is not held back) straight to the socket, and a capture lists
//! them in the order the trace does.
//!
//! ## Connected UDP sockets
//! The client has exactly one peer, so it `connect`s its UDP socket. No handshake happens (UDP
//! has none); the kernel just remembers the peer, filters out datagrams from anybody else and,
//! on most systems, reports an ICMP "port unreachable" from the peer as `ConnectionRefused` on
//! the next `recv`. That turns "no server on that port" into an immediate error instead of a
//! chain of retransmissions.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use netlab_common::trace::Direction;
use netlab_common::trace::DumpLimit;
use netlab_common::trace_json::{EventKind, JsonTrace, TraceEvent};
use netlab_common::{Error, term};

use crate::capture::{self, Capture};
use crate::connection::{Config, Connection, Event, MAX_UDP_PAYLOAD};
use crate::describe::{self, Way};
use crate::fault::{Fate, FaultConfig, FaultInjector, Release};
use crate::seq::Seq;
use crate::stats::Stats;
use crate::wire::{Datagram, Kind};

const SOCKET: Token = Token(0);
const WAKE: Token = Token(1);

/// Socket buffer size asked for: bursts of a full window (and, with `--delay`, everything the
/// fault injector released at once) should not be dropped by our own kernel. The OS may grant
/// less (Linux caps it at `net.core.rmem_max`).
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Datagrams read from the socket in one turn. A turn then fires timers and sends, so a peer
/// flooding the socket delays everybody else's ACKs by at most this many datagrams' work (well
/// under a millisecond each); 1024 is enough to empty the socket in one turn in normal use (a
/// window of 32 from each of 32 members).
pub const MAX_DATAGRAMS_PER_TURN: usize = 1024;

/// How an endpoint behaves; the same for every peer. Built by each program (`serve`,
/// `connect`, `bench`, the grader's members) from its own config.
#[derive(Clone, Copy, Debug)]
pub struct EndpointConfig {
    /// Each peer's reliability layer.
    pub connection: Config,
    /// Faults applied to datagrams we send.
    pub faults: FaultConfig,
    /// Also apply `faults` (with another seed) to datagrams we receive.
    pub faults_incoming: bool,
    /// How often each peer is sent a PING (`None`: never).
    pub ping_every: Option<Duration>,
    /// A peer we heard nothing from (no datagram at all) for this long is dropped.
    pub silent_after: Option<Duration>,
    /// Accept a JOIN from a stranger as a new peer (servers).
    pub accept_strangers: bool,
    /// The most peers at once (`None`: no limit, for endpoints that add their peers
    /// themselves); a stranger's JOIN past it is dropped without creating anything.
    pub max_peers: Option<usize>,
    /// Print every datagram (`--trace`).
    pub trace: bool,
    /// With `trace`, also dump each datagram's bytes, this many of them (`--trace-bytes`).
    pub trace_bytes: Option<DumpLimit>,
    /// Record every datagram, drop and timer expiry for a ladder diagram (`--trace-json`).
    pub trace_json: Option<JsonTrace>,
}

impl EndpointConfig {
    /// Each peer's connection runs `connection` behind `faults`; no liveness checks, no
    /// strangers, not tracing.
    pub fn new(connection: Config, faults: FaultConfig) -> Self {
        Self {
            connection,
            faults,
            faults_incoming: false,
            ping_every: None,
            silent_after: None,
            accept_strangers: false,
            max_peers: None,
            trace: false,
            trace_bytes: None,
            trace_json: None,
        }
    }
}

/// What one turn of the loop ([`Endpoint::turn`]) hands the program to react to, always about
/// one peer. (What a single [`Connection`] reports is its [`Event`]; the endpoint adds the
/// events only it can see: silence, and the OS's "nobody there".)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// The peer's connection reported an event.
    Connection(SocketAddr, Event),
    /// A peer sent nothing at all (not even a PONG) for this long; it has been removed.
    Silent(SocketAddr, Duration),
    /// The operating system says nobody listens at the peer's port (ICMP port unreachable,
    /// reported on connected sockets).
    Refused(SocketAddr),
}

/// One peer's conversation and the simulated network between us.
#[derive(Debug)]
struct Peer {
    connection: Connection,
    outgoing: FaultInjector,
    incoming: Option<FaultInjector>,
    last_heard: Instant,
    next_ping: Option<Instant>,
    /// Removal is pending: when the connection is idle or at this deadline, whichever is first.
    retire_by: Option<Instant>,
}

/// A UDP socket serving any number of peers through their [`Connection`]s.
pub struct Endpoint {
    socket: UdpSocket,
    poll: Poll,
    events: Events,
    config: EndpointConfig,
    peers: BTreeMap<SocketAddr, Peer>,
    /// Set for a connected socket: its only peer.
    connected_to: Option<SocketAddr>,
    peers_created: u64,
    strangers: u64,
    kernel_drops: u64,
    /// The last turn stopped reading at [`MAX_DATAGRAMS_PER_TURN`]: the next one must not wait.
    more_to_read: bool,
    /// A stranger's JOIN was dropped because the peer table is full; logged once until a place
    /// frees up, so a flood cannot flood the log too.
    peers_full_logged: bool,
    buffer: Vec<u8>,
    /// The socket's address as `--trace-json` records it (read once: one system call less per
    /// datagram).
    traced_local: Option<SocketAddr>,
    /// When the endpoint was made: trace lines show seconds since then, so the gaps between a
    /// datagram and its retransmissions (the RTO and its backoff) can be read off the trace.
    started: Instant,
    /// `--pcap`: where every datagram is recorded, if anywhere.
    capture: Option<Capture>,
}

/// One step of sending to a peer, in order: a datagram handed to the outgoing fault injector
/// (kept only when traced, or captured and dropped), or a copy the injector lets go to the
/// socket.
enum Outgoing {
    Handed {
        bytes: Vec<u8>,
        fate: Fate,
        /// The injector's queue was full before it (so a drop was the queue's, not `--loss`'s).
        queue_full: bool,
    },
    Released(Release),
}

impl Endpoint {
    /// An endpoint on a new UDP socket bound to `local`.
    pub fn bind(local: SocketAddr, config: EndpointConfig) -> Result<Self, Error> {
        let socket = bind_socket(local)?;
        Self::with_socket(socket, config, None)
    }

    /// An endpoint whose socket only talks to `remote` (see the module docs); the peer is
    /// created at once.
    pub fn connect(remote: SocketAddr, config: EndpointConfig) -> Result<Self, Error> {
        let local = unspecified_like(remote);
        let socket = bind_socket(local)?;
        socket
            .connect(remote)
            .map_err(|err| Error::connecting(remote.to_string(), err))?;
        let mut endpoint = Self::with_socket(socket, config, Some(remote))?;
        endpoint.add_peer(remote, Instant::now())?;
        Ok(endpoint)
    }

    /// Two endpoints on loopback, each connected to the other (for `bench` and tests).
    pub fn pair(a: EndpointConfig, b: EndpointConfig) -> Result<(Self, Self), Error> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::pair_from(bind_socket(loopback)?, bind_socket(loopback)?, a, b)
    }

    /// Two endpoints on sockets bound already (by [`bind_socket`]), each connected to the
    /// other. The bench creates `socket_b` in another network namespace (`bench::netns`);
    /// `socket_a` may be bound to the unspecified address, and learns its own address from the
    /// route the kernel picks toward `socket_b` when it is connected.
    pub fn pair_from(
        socket_a: std::net::UdpSocket,
        socket_b: std::net::UdpSocket,
        a: EndpointConfig,
        b: EndpointConfig,
    ) -> Result<(Self, Self), Error> {
        let addr_b = local_addr(&socket_b)?;
        socket_a
            .connect(addr_b)
            .map_err(|err| Error::connecting(addr_b.to_string(), err))?;
        let addr_a = local_addr(&socket_a)?;
        socket_b
            .connect(addr_a)
            .map_err(|err| Error::connecting(addr_a.to_string(), err))?;
        let mut endpoint_a = Self::with_socket(socket_a, a, Some(addr_b))?;
        let mut endpoint_b = Self::with_socket(socket_b, b, Some(addr_a))?;
        let now = Instant::now();
        endpoint_a.add_peer(addr_b, now)?;
        endpoint_b.add_peer(addr_a, now)?;
        Ok((endpoint_a, endpoint_b))
    }

    fn with_socket(
        socket: std::net::UdpSocket,
        config: EndpointConfig,
        connected_to: Option<SocketAddr>,
    ) -> Result<Self, Error> {
        socket
            .set_nonblocking(true)
            .map_err(|err| Error::io("setting the socket non-blocking", err))?;
        let traced_local = socket.local_addr().ok();
        let mut socket = UdpSocket::from_std(socket);
        let poll = Poll::new().map_err(|err| Error::io("creating the event loop", err))?;
        poll.registry()
            .register(&mut socket, SOCKET, Interest::READABLE)
            .map_err(|err| Error::io("registering the socket", err))?;
        Ok(Self {
            socket,
            poll,
            events: Events::with_capacity(64),
            config,
            peers: BTreeMap::new(),
            connected_to,
            peers_created: 0,
            strangers: 0,
            kernel_drops: 0,
            more_to_read: false,
            peers_full_logged: false,
            started: Instant::now(),
            traced_local,
            buffer: vec![0; MAX_UDP_PAYLOAD + 1],
            capture: None,
        })
    }

    /// From now on, records every datagram sent, received or dropped by the fault injector in
    /// a pcapng file at `path` (`--pcap`; see [`crate::capture`]).
    pub fn capture_to(&mut self, path: &Path) -> Result<(), Error> {
        let capture = Capture::create(path, self.local_addr()?)?;
        self.attach_capture(capture)
    }

    /// Records into `capture` (one already written to by another endpoint, for the bench's
    /// runs) from now on.
    pub fn attach_capture(&mut self, mut capture: Capture) -> Result<(), Error> {
        capture.set_local(self.local_addr()?);
        self.capture = Some(capture);
        Ok(())
    }

    /// Stops capturing and hands the capture back, everything recorded written out.
    pub fn detach_capture(&mut self) -> Option<Capture> {
        let mut capture = self.capture.take()?;
        capture.finish();
        Some(capture)
    }

    /// A handle other threads use to wake [`Self::turn`] early (a line typed, Ctrl-C pressed).
    pub fn waker(&self) -> Result<Arc<Waker>, Error> {
        Waker::new(self.poll.registry(), WAKE)
            .map(Arc::new)
            .map_err(|err| Error::io("creating a waker", err))
    }

    /// The address the socket is bound to (with the real port when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.socket
            .local_addr()
            .map_err(|err| Error::io("reading the socket address", err))
    }

    /// How this endpoint was configured.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Starts a conversation with `addr` (nothing is sent until the program queues something).
    pub fn add_peer(&mut self, addr: SocketAddr, now: Instant) -> Result<&mut Connection, Error> {
        let connection = Connection::new(self.config.connection)
            .map_err(|err| Error::Failed(format!("invalid connection config: {err}")))?;
        // Each peer's faults get their own seed, derived from the configured one, so two peers
        // do not see the same losses and one run is still reproducible.
        let seed = self.config.faults.seed.wrapping_add(self.peers_created * 2);
        self.peers_created += 1;
        let outgoing = FaultInjector::new(FaultConfig {
            seed,
            ..self.config.faults
        });
        let incoming = self.config.faults_incoming.then(|| {
            FaultInjector::new(FaultConfig {
                seed: seed.wrapping_add(1),
                ..self.config.faults
            })
        });
        let next_ping = self.config.ping_every.map(|every| now + every);
        let peer = self.peers.entry(addr).or_insert(Peer {
            connection,
            outgoing,
            incoming,
            last_heard: now,
            next_ping,
            retire_by: None,
        });
        Ok(&mut peer.connection)
    }

    /// The connection to `addr`, if it is a peer.
    pub fn connection(&mut self, addr: SocketAddr) -> Option<&mut Connection> {
        self.peers.get_mut(&addr).map(|peer| &mut peer.connection)
    }

    /// Every peer's address.
    pub fn peer_addrs(&self) -> Vec<SocketAddr> {
        self.peers.keys().copied().collect()
    }

    /// Removes `addr` once everything queued for it has been acknowledged (so a last notice and
    /// a LEAVE still arrive), or after `grace`, whichever comes first. No more PINGs are sent.
    pub fn retire(&mut self, addr: SocketAddr, grace: Duration) {
        if let Some(peer) = self.peers.get_mut(&addr) {
            peer.next_ping = None;
            peer.retire_by = Some(Instant::now() + grace);
        }
    }

    /// Forgets `addr` at once.
    pub fn remove(&mut self, addr: SocketAddr) {
        self.peers.remove(&addr);
    }

    /// True when no peer is left.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Datagrams dropped because they came from strangers.
    pub fn strangers(&self) -> u64 {
        self.strangers
    }

    /// Datagrams our own kernel refused to send (socket buffer full): real loss, not injected.
    pub fn kernel_drops(&self) -> u64 {
        self.kernel_drops
    }

    /// Datagrams held for `addr` (sent and unacknowledged, or waiting for its window).
    pub fn held(&self, addr: SocketAddr) -> Option<usize> {
        self.peers.get(&addr).map(|peer| peer.connection.held())
    }

    /// The counters of the conversation with `addr`.
    pub fn stats(&self, addr: SocketAddr) -> Option<Stats> {
        self.peers.get(&addr).map(|peer| peer.connection.stats())
    }

    /// One round of the loop (see the module docs). Waits at most `max_wait` (`None`: until
    /// something happens) and appends what the program must react to. Returns `true` if a
    /// [`Self::waker`] woke it.
    pub fn turn(
        &mut self,
        max_wait: Option<Duration>,
        peer_events: &mut Vec<PeerEvent>,
    ) -> Result<bool, Error> {
        self.flush(Instant::now(), peer_events);
        let woken = self.wait(max_wait)?;
        self.read_all(peer_events)?;
        let now = Instant::now();
        self.tick(now, peer_events);
        self.flush(now, peer_events);
        self.collect_events(now, peer_events);
        if let Some(capture) = self.capture.as_mut() {
            capture.flush_if_due(now);
        }
        Ok(woken)
    }

    /// Sends at once whatever the connections can send now (without waiting for anything), so
    /// a program queueing many messages can fill the window before it waits.
    pub fn flush_now(&mut self, peer_events: &mut Vec<PeerEvent>) {
        self.flush(Instant::now(), peer_events);
    }

    /// Sleeps until the socket is readable, a waker fires, `max_wait` passes or the earliest
    /// timer of any peer is due.
    fn wait(&mut self, max_wait: Option<Duration>) -> Result<bool, Error> {
        let now = Instant::now();
        let timer = self
            .next_deadline()
            .map(|at| at.saturating_duration_since(now));
        let timeout = match (timer, max_wait) {
            _ if self.more_to_read => Some(Duration::ZERO),
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(err) => return Err(Error::io("waiting for datagrams", err)),
        }
        Ok(self.events.iter().any(|event| event.token() == WAKE))
    }

    fn next_deadline(&self) -> Option<Instant> {
        let silent_after = self.config.silent_after;
        self.peers
            .values()
            .flat_map(|peer| {
                [
                    peer.connection.poll_timeout(),
                    peer.outgoing.next_arrival(),
                    peer.incoming.as_ref().and_then(FaultInjector::next_arrival),
                    peer.next_ping,
                    silent_after.map(|after| peer.last_heard + after),
                    peer.retire_by,
                ]
            })
            .flatten()
            .min()
    }

    /// Reads the datagrams waiting in the socket, up to [`MAX_DATAGRAMS_PER_TURN`]. (mio wants a
    /// socket read until `WouldBlock`; stopping early is safe because every turn reads, and
    /// `more_to_read` makes the next turn's wait return at once.)
    fn read_all(&mut self, peer_events: &mut Vec<PeerEvent>) -> Result<(), Error> {
        self.more_to_read = false;
        for _ in 0..MAX_DATAGRAMS_PER_TURN {
            let received = match self.connected_to {
                Some(peer) => self.socket.recv(&mut self.buffer).map(|len| (len, peer)),
                None => self.socket.recv_from(&mut self.buffer),
            };
            match received {
                Ok((len, from)) => {
                    let bytes = self.buffer.get(..len).unwrap_or_default().to_vec();
                    self.arrived(from, bytes, Instant::now());
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // ICMP port unreachable: on a connected socket it means "no server there";
                // Windows also reports it on unconnected sockets, where it names no peer.
                Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
                    if let Some(peer) = self.connected_to {
                        peer_events.push(PeerEvent::Refused(peer));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {}
                Err(err) => return Err(Error::io("receiving a datagram", err)),
            }
        }
        self.more_to_read = true;
        Ok(())
    }

    /// A datagram arrived from `from`: through the incoming faults, then to its connection.
    fn arrived(&mut self, from: SocketAddr, bytes: Vec<u8>, now: Instant) {
        if !self.peers.contains_key(&from) && !self.welcome_stranger(from, &bytes, now) {
            self.strangers += 1;
            let note = "from a stranger: dropped";
            if let Some(capture) = self.capture.as_mut() {
                capture.received(from, &bytes, Some(note));
            }
            self.trace(Way::In, from, &bytes, Some(note));
            self.record(
                EventKind::Receive,
                Way::In,
                from,
                &bytes,
                Some("from a stranger"),
            );
            return;
        }
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        match peer.incoming.as_mut() {
            Some(incoming) => {
                let fate = incoming.send(bytes.clone(), now);
                if let Some(capture) = self.capture.as_mut() {
                    let comment = capture::incoming_comment(&fate, &incoming.config());
                    capture.received(from, &bytes, comment.as_deref());
                }
                let note = describe::fate(&fate).map(|text| format!("incoming: {text}"));
                self.trace(Way::In, from, &bytes, note.as_deref());
                if fate == Fate::Dropped {
                    let note = note.as_deref();
                    self.record(EventKind::Drop, Way::In, from, &bytes, note);
                }
            }
            None => {
                if let Some(capture) = self.capture.as_mut() {
                    capture.received(from, &bytes, None);
                }
                self.handle(from, &bytes, now);
            }
        }
    }

    /// Creates a peer for a stranger whose datagram is a JOIN opening the sequence, if there is
    /// a place for it.
    fn welcome_stranger(&mut self, from: SocketAddr, bytes: &[u8], now: Instant) -> bool {
        let opens_conversation = bytes.len() <= self.config.connection.max_datagram
            && Datagram::parse(bytes).is_ok_and(|datagram| {
                datagram.header.kind == Kind::Join
                    && datagram.header.seq == Seq(self.config.connection.initial_seq)
            });
        if !self.config.accept_strangers || !opens_conversation {
            return false;
        }
        if !self.has_place_for_a_peer() {
            if !self.peers_full_logged {
                self.peers_full_logged = true;
                term::warn(format!(
                    "JOIN from {from} dropped: {} peers already (members and peers leaving); \
                     JOINs are dropped until one goes",
                    self.peers.len()
                ));
            }
            return false;
        }
        self.add_peer(from, now).is_ok()
    }

    /// Whether [`EndpointConfig::max_peers`] leaves room for one more peer.
    fn has_place_for_a_peer(&mut self) -> bool {
        let full = self
            .config
            .max_peers
            .is_some_and(|max| self.peers.len() >= max);
        if !full {
            self.peers_full_logged = false;
        }
        !full
    }

    /// Hands a datagram that made it through the faults to its connection.
    fn handle(&mut self, from: SocketAddr, bytes: &[u8], now: Instant) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let result = peer.connection.handle_datagram(bytes, now);
        if result.is_ok() {
            peer.last_heard = now;
        }
        let note = result.err().map(|err| format!("refused: {err}"));
        self.trace(Way::In, from, bytes, note.as_deref());
        self.record(EventKind::Receive, Way::In, from, bytes, note.as_deref());
    }

    /// Timers: retransmissions, delayed incoming datagrams, PINGs, silent peers, retirements.
    fn tick(&mut self, now: Instant, peer_events: &mut Vec<PeerEvent>) {
        let mut due = Vec::new();
        for (addr, peer) in &mut self.peers {
            if let Some(incoming) = peer.incoming.as_mut() {
                while let Some(bytes) = incoming.poll_deliver(now) {
                    due.push((*addr, bytes));
                }
            }
        }
        for (addr, bytes) in due {
            if self.peers.contains_key(&addr) {
                self.handle(addr, &bytes, now);
            }
        }
        let mut silent = Vec::new();
        let mut expired = Vec::new();
        for (addr, peer) in &mut self.peers {
            let timeouts_before = peer.connection.stats().timeouts;
            peer.connection.handle_timeout(now);
            if self.config.trace_json.is_some() {
                let fired = peer.connection.stats().timeouts - timeouts_before;
                expired.extend(std::iter::repeat_n(*addr, fired as usize));
            }
            if let (Some(at), Some(every)) = (peer.next_ping, self.config.ping_every)
                && now >= at
            {
                peer.connection.ping(now);
                peer.next_ping = Some(now + every);
            }
            let quiet_for = now.saturating_duration_since(peer.last_heard);
            if self
                .config
                .silent_after
                .is_some_and(|limit| quiet_for >= limit)
            {
                silent.push((*addr, quiet_for));
            }
        }
        for addr in expired {
            self.record_timer(addr);
        }
        for (addr, quiet_for) in silent {
            self.peers.remove(&addr);
            peer_events.push(PeerEvent::Silent(addr, quiet_for));
        }
    }

    /// Sends everything the connections want to send, through the outgoing faults.
    fn flush(&mut self, now: Instant, peer_events: &mut Vec<PeerEvent>) {
        let addrs: Vec<SocketAddr> = self.peers.keys().copied().collect();
        for addr in addrs {
            self.flush_peer(addr, now, peer_events);
        }
    }

    /// Each datagram the connection wants to send goes through the outgoing fault injector,
    /// then whatever the injector lets go now (it, or copies held back earlier) to the socket.
    fn flush_peer(&mut self, addr: SocketAddr, now: Instant, peer_events: &mut Vec<PeerEvent>) {
        // The trace and the JSON trace see every datagram; a capture records here only the
        // dropped ones (the others when they reach the socket), which the injector hands back
        // without a copy.
        let traced = self.config.trace || self.config.trace_json.is_some();
        let captured = self.capture.is_some();
        let Some(peer) = self.peers.get_mut(&addr) else {
            return;
        };
        let faults = peer.outgoing.config();
        let mut steps = Vec::new();
        while let Some(bytes) = peer.connection.poll_transmit(now) {
            let queue_full = peer.outgoing.is_full();
            let copy = traced.then(|| bytes.clone());
            let (fate, dropped) = peer.outgoing.send_keeping_dropped(bytes, now);
            if let Some(bytes) = copy.or(dropped.filter(|_| captured)) {
                steps.push(Outgoing::Handed {
                    bytes,
                    fate,
                    queue_full,
                });
            }
            while let Some(release) = peer.outgoing.poll_release(now) {
                steps.push(Outgoing::Released(release));
            }
        }
        while let Some(release) = peer.outgoing.poll_release(now) {
            steps.push(Outgoing::Released(release));
        }
        for step in steps {
            match step {
                Outgoing::Handed {
                    bytes,
                    fate,
                    queue_full,
                } => self.handed(addr, &bytes, &fate, queue_full, &faults, now),
                Outgoing::Released(release) => {
                    let comment = self
                        .capture
                        .as_ref()
                        .and_then(|_| capture::release_comment(&release, &faults));
                    self.send_now(addr, &release.bytes, comment.as_deref(), peer_events);
                }
            }
        }
    }

    /// A datagram handed to the fault injector: traced, and captured if the injector dropped
    /// it (a copy it lets go is captured when it reaches the socket).
    fn handed(
        &mut self,
        addr: SocketAddr,
        bytes: &[u8],
        fate: &Fate,
        queue_full: bool,
        faults: &FaultConfig,
        now: Instant,
    ) {
        let note = describe::fate(fate);
        if self.config.trace {
            let line = describe::line(Way::Out, addr, bytes, note.as_deref());
            print_trace(now.saturating_duration_since(self.started), &line);
            self.config.trace_bytes.inspect(|&limit| dump(bytes, limit));
        }
        if self.config.trace_json.is_some() {
            let kind = match fate {
                Fate::Dropped => EventKind::Drop,
                _ => EventKind::Send,
            };
            self.record(kind, Way::Out, addr, bytes, note.as_deref());
        }
        if let (Some(capture), Fate::Dropped) = (self.capture.as_mut(), fate) {
            let comment = capture::dropped_comment(faults, queue_full);
            capture.sent(addr, bytes, Some(&comment));
        }
    }

    /// `comment`: what the fault injector did to this copy, for the capture.
    fn send_now(
        &mut self,
        addr: SocketAddr,
        bytes: &[u8],
        comment: Option<&str>,
        peer_events: &mut Vec<PeerEvent>,
    ) {
        let sent = match self.connected_to {
            Some(_) => self.socket.send(bytes),
            None => self.socket.send_to(bytes, addr),
        };
        let failure = match sent {
            Ok(_) => None,
            // Our own socket buffer is full: the kernel drops the datagram, exactly the kind of
            // loss the reliability layer exists for. Count it; retransmission will cover it.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.kernel_drops += 1;
                let note = "dropped: our socket buffer is full";
                self.trace(Way::Out, addr, bytes, Some(note));
                self.record(EventKind::Drop, Way::Out, addr, bytes, Some(note));
                Some(note.to_string())
            }
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
                if self.connected_to.is_some() {
                    peer_events.push(PeerEvent::Refused(addr));
                }
                Some("not sent: the OS reported an earlier ICMP port unreachable".to_string())
            }
            Err(err) => {
                let note = format!("send failed: {err}");
                self.trace(Way::Out, addr, bytes, Some(&note));
                self.record(EventKind::Drop, Way::Out, addr, bytes, Some(&note));
                Some(note)
            }
        };
        if let Some(capture) = self.capture.as_mut() {
            let comment = match (comment, failure) {
                (Some(fault), Some(failure)) => Some(format!("{fault}; {failure}")),
                (fault, failure) => failure.or(fault.map(String::from)),
            };
            capture.sent(addr, bytes, comment.as_deref());
        }
    }

    /// Moves the connections' events out, and removes retired peers that are done.
    fn collect_events(&mut self, now: Instant, peer_events: &mut Vec<PeerEvent>) {
        let mut finished = Vec::new();
        for (addr, peer) in &mut self.peers {
            while let Some(event) = peer.connection.poll_event() {
                peer_events.push(PeerEvent::Connection(*addr, event));
            }
            if let Some(deadline) = peer.retire_by {
                let done = peer.connection.is_idle() || peer.connection.is_unreachable();
                if done || now >= deadline {
                    finished.push(*addr);
                }
            }
        }
        for addr in finished {
            self.peers.remove(&addr);
        }
    }

    fn trace(&self, way: Way, peer: SocketAddr, bytes: &[u8], note: Option<&str>) {
        if self.config.trace {
            let line = describe::line(way, peer, bytes, note);
            print_trace(self.started.elapsed(), &line);
            self.config.trace_bytes.inspect(|&limit| dump(bytes, limit));
        }
    }

    /// `--trace-json`: one datagram event; `fault` is what the fault injector (or the kernel)
    /// did to it, if anything.
    fn record(
        &self,
        kind: EventKind,
        way: Way,
        peer: SocketAddr,
        bytes: &[u8],
        fault: Option<&str>,
    ) {
        if let Some(json) = self.config.trace_json {
            let direction = match way {
                Way::Out => Direction::Sent,
                Way::In => Direction::Received,
            };
            let mut described = describe::fields(bytes);
            let retransmit = described.fields.get("retransmit") == Some(&true.into());
            if let Some(fault) = fault {
                described.fields.insert("fault".into(), fault.into());
            }
            json.record(
                &TraceEvent::new(kind, self.traced_local, Some(peer))
                    .with_direction(direction)
                    .with_datagram(bytes)
                    .with_retransmit(retransmit)
                    .with_described(described),
            );
        }
    }

    /// `--trace-json`: the retransmission timer for `peer` expired.
    fn record_timer(&self, peer: SocketAddr) {
        if let Some(json) = self.config.trace_json {
            json.record(
                &TraceEvent::new(EventKind::Timer, self.traced_local, Some(peer))
                    .with_summary("retransmission timeout"),
            );
        }
    }
}

/// `--trace-bytes`: the datagram itself under its trace line.
fn dump(bytes: &[u8], limit: DumpLimit) {
    term::trace_text(&netlab_common::trace::hex_dump(bytes, limit.bytes()));
}

/// `[TRACE] 1.234s -> 127.0.0.1:7075 DATA seq=1 ...`: seconds since the endpoint started.
fn print_trace(since_start: Duration, line: &str) {
    // Built first and written in one piece, so other output cannot split the line; above the
    // input line while a full-screen console owns the terminal.
    let line = format!("[TRACE] {:.3}s {line}\n", since_start.as_secs_f64());
    term::trace_text(&line);
}

fn local_addr(socket: &std::net::UdpSocket) -> Result<SocketAddr, Error> {
    socket
        .local_addr()
        .map_err(|err| Error::io("reading the socket address", err))
}

/// A UDP socket on `local` with large buffers (4 MiB each way: see `SOCKET_BUFFER`).
pub fn bind_socket(local: SocketAddr) -> Result<std::net::UdpSocket, Error> {
    let socket = netlab_common::net::bind_udp(local)?;
    let socket = socket2::Socket::from(socket);
    // Best effort: a smaller buffer only means more (counted) drops under bursts.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    Ok(socket.into())
}

/// `0.0.0.0:0` or `[::]:0`: any local address and port of the same family as `remote`.
fn unspecified_like(remote: SocketAddr) -> SocketAddr {
    match remote {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    }
}
