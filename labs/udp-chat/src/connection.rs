//! # One conversation with one peer, as a state machine
//!
//! [`Connection`] ties the pieces together: the header ([`crate::wire`]), fragmentation
//! ([`crate::fragment`]), the ARQ sender and receiver ([`crate::arq`]) and the RTO
//! ([`crate::rto`]). It is shaped like quinn-proto's connection: it owns no socket and reads no
//! clock. What is around it does the I/O and passes the time in: [`crate::endpoint`] in the
//! `udp-chat` program (serve, connect, bench, and the grader's members), or the [`crate::sim`]
//! simulator in tests:
//!
//! ```text
//!   user ── send_message ──▶ ┌────────────┐ ── poll_transmit(now) ──▶ socket.send_to
//!   user ◀── poll_event ──── │ Connection │ ◀─ handle_datagram(now) ─ socket.recv_from
//!   timer ─ handle_timeout ▶ └────────────┘ ── poll_timeout ────────▶ when to wake up
//! ```
//!
//! After every input (`send_message`, `handle_datagram`, `handle_timeout`) the caller drains
//! `poll_transmit` and `poll_event` until they return `None`, then sleeps until `poll_timeout` or
//! the next datagram. The queues behind them grow by at most a window's worth per input, so a
//! caller that drains them keeps them small.
//!
//! ## What one connection holds, at most
//! Everything a connection keeps grows with what the peer sends or fails to acknowledge, so each
//! piece has a bound, and a peer that pushes against it costs a refusal, never more memory:
//!
//! | what | bound | when it is reached |
//! |---|---|---|
//! | sent, not yet acknowledged | the window ([`Config::window`]) | new data waits for an ACK |
//! | waiting for the window | [`Config::max_queued`] (the backlog) | [`SendError::QueueFull`]: the caller decides (the room drops the member) |
//! | early datagrams held (selective repeat) | the window | later ones are thrown away, ACKed NOT_HELD |
//! | incomplete fragmented messages | [`crate::fragment::MAX_PARTIAL`] | the oldest is dropped |
//! | ACKs and PONGs waiting to go out | [`MAX_CONTROL_QUEUED`] | the oldest is dropped (the peer's retransmission repairs it) |
//! | one received datagram | [`Config::max_datagram`] | refused as [`DatagramError::TooLarge`] |
//!
//! So a connection never holds more than `window + max_queued` datagrams for its peer, each at
//! most `max_datagram` bytes: with the default settings, 32 + 1024 datagrams of 1200 bytes,
//! 1.2 MiB.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::arq::{AckError, ArqMode, MAX_WINDOW, Outbound, Outgoing, Receiver, Sender};
use crate::fragment::{self, DEFAULT_MAX_MESSAGE, FragmentError, Reassembler};
use crate::rto::{RtoConfig, RtoEstimator};
use crate::seq::Seq;
use crate::stats::Stats;
use crate::wire::{DEFAULT_MAX_DATAGRAM, Datagram, HEADER_LEN, Header, Kind, WireError};

/// The largest UDP payload over IPv4: 65 535 minus the 20-byte IP and 8-byte UDP headers.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// Datagrams in flight at most, unless configured otherwise (`--window`).
pub const DEFAULT_WINDOW: u32 = 32;

/// Datagrams that may wait for the window, unless configured otherwise: a program that queues
/// its own user's lines (`udp-chat connect`) lets a paste of about a thousand short lines through
/// a full window, and holds at most 1024 x 1200 bytes, 1.2 MB, for a peer that never
/// acknowledges. A peer cannot make it grow faster than the user types. The room gives each
/// member the same backlog ([`crate::room::MEMBER_BACKLOG`] explains why).
pub const DEFAULT_BACKLOG: usize = 1024;

/// ACKs, PINGs and PONGs waiting to be sent. One is queued per datagram received and the caller
/// sends them all after each input, so a caller that drains never comes near this; it bounds a
/// peer flooding a caller that does not. Past it the oldest is dropped: a lost ACK or PONG is
/// what the protocol already repairs (the peer resends; a newer ACK carries a cumulative
/// acknowledgement at least as new).
pub const MAX_CONTROL_QUEUED: usize = 1024;

/// Everything a connection can be tuned with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The reliability scheme.
    pub mode: ArqMode,
    /// Datagrams in flight at most (ignored by stop-and-wait, which uses 1).
    pub window: u32,
    /// Timeouts in a row, with nothing new acknowledged, before the peer is declared unreachable
    pub max_retries: u32,
    /// The retransmission timer's parameters.
    pub rto: RtoConfig,
    /// Largest datagram sent, header included.
    pub max_datagram: usize,
    /// Largest chat message, before fragmentation.
    pub max_message: usize,
    /// The backlog: datagrams accepted but not yet sent because the window is full; past it
    /// `send_message` says [`SendError::QueueFull`] (messages come faster than the peer
    /// acknowledges). With the window it bounds what the connection holds for its peer.
    pub max_queued: usize,
    /// The first sequence number, both for what we send and what we expect. A real protocol
    /// would pick it at random and exchange it in a handshake (as TCP does, RFC 9293 §3.4.1);
    /// this lab has no handshake and takes it from the configuration, so tests can start near the
    /// wrap-around.
    pub initial_seq: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: ArqMode::SelectiveRepeat,
            window: DEFAULT_WINDOW,
            max_retries: 8,
            rto: RtoConfig::default(),
            max_datagram: DEFAULT_MAX_DATAGRAM,
            max_message: DEFAULT_MAX_MESSAGE,
            max_queued: DEFAULT_BACKLOG,
            initial_seq: 0,
        }
    }
}

impl Config {
    /// The longest a sender keeps trying before it declares the peer unreachable:
    /// `max_retries + 1` timeouts, none longer than the RTO ceiling. It is counted from the later
    /// of the peer's last acknowledgement of new data and the first transmission of the datagram
    /// still waiting. A peer that vanishes is reported within this bound; nothing waits forever.
    pub fn give_up_bound(&self) -> Duration {
        self.rto
            .max
            .saturating_mul(self.max_retries.saturating_add(1))
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.window == 0 || self.window > MAX_WINDOW {
            return Err(ConfigError::Window {
                window: self.window,
            });
        }
        if self.max_datagram <= HEADER_LEN || self.max_datagram > MAX_UDP_PAYLOAD {
            return Err(ConfigError::DatagramSize {
                max_datagram: self.max_datagram,
            });
        }
        if self.rto.min.is_zero() {
            return Err(ConfigError::ZeroRto);
        }
        Ok(())
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Window outside `1..=MAX_WINDOW`.
    #[error("window {window} is outside 1..={MAX_WINDOW}")]
    Window {
        /// The window asked for.
        window: u32,
    },
    /// A datagram size that leaves no room for payload, or exceeds what UDP can carry.
    #[error("max datagram {max_datagram} must be over {HEADER_LEN} and at most {MAX_UDP_PAYLOAD}")]
    DatagramSize {
        /// The size asked for.
        max_datagram: usize,
    },
    /// An RTO floor of zero would let a timer fire again at the same instant forever.
    #[error("the RTO floor must be above zero")]
    ZeroRto,
}

/// Why a message was not accepted for sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The peer was declared unreachable; nothing more will be sent.
    #[error("peer unreachable: no acknowledgement after every retransmission")]
    Unreachable,
    /// The send queue is full; try again after some datagrams are acknowledged.
    #[error("send queue full ({room} datagrams free, {needed} needed)")]
    QueueFull {
        /// Datagrams the queue still takes.
        room: usize,
        /// Datagrams this message needs.
        needed: usize,
    },
    /// The message is too long.
    #[error(transparent)]
    Fragment(#[from] FragmentError),
}

/// Why a received datagram was refused (it is counted in [`Stats::malformed`] and dropped; the
/// connection carries on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatagramError {
    /// The bytes are not a valid datagram.
    #[error("malformed datagram: {0}")]
    Wire(#[from] WireError),
    /// An ACK that acknowledges something never sent.
    #[error("impossible acknowledgement: {0}")]
    Ack(#[from] AckError),
    /// Fragments that do not fit together.
    #[error("bad fragment: {0}")]
    Fragment(#[from] FragmentError),
    /// Bigger than any datagram this protocol sends: whatever its header says, it is not kept
    /// (an early datagram would otherwise be held, up to 64 KiB of it, for every window slot).
    #[error("datagram of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// Its size.
        len: usize,
        /// [`Config::max_datagram`].
        max: usize,
    },
}

/// Something the user should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole chat message, in order (in plain UDP mode: in arrival order).
    Delivered(Vec<u8>),
    /// The peer joined, with this name.
    Joined(Vec<u8>),
    /// The peer left.
    Left,
    /// The answer to our PING.
    Pong {
        /// Time from PING to PONG.
        rtt: Duration,
    },
    /// We run without acknowledgements (`--arq none`) and the peer resent a datagram: it runs
    /// a reliable mode and waits for ACKs we never send, so copies will keep coming and plain
    /// UDP delivers each one. Reported once per connection.
    PeerResends,
    /// The peer stopped acknowledging: datagram `seq` was sent `transmissions` times.
    /// The connection has stopped; every later send fails with [`SendError::Unreachable`].
    Unreachable {
        /// The datagram never acknowledged.
        seq: Seq,
        /// How many times it was sent.
        transmissions: u32,
    },
}

/// The protocol state for one peer.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    sender: Sender,
    receiver: Receiver,
    reassembler: Reassembler,
    /// Unsequenced datagrams to send (ACK, PING, PONG); one per received datagram at most.
    control: VecDeque<Header>,
    events: VecDeque<Event>,
    stats: Stats,
    /// The PING waiting for its PONG, and when it was sent.
    ping: Option<(Seq, Instant)>,
    next_ping: Seq,
    unreachable: bool,
    /// [`Event::PeerResends`] was reported already.
    told_resent: bool,
}

impl Connection {
    /// A connection with `config`, or why the configuration cannot work.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.check()?;
        let initial = Seq(config.initial_seq);
        Ok(Self {
            config,
            sender: Sender::new(
                config.mode,
                config.window,
                config.max_retries,
                config.max_queued,
                config.rto,
                initial,
            ),
            receiver: Receiver::new(config.mode, config.window, initial),
            reassembler: Reassembler::new(config.max_message),
            control: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            ping: None,
            next_ping: Seq(0),
            unreachable: false,
            told_resent: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Queues a chat message, cut into fragments if it does not fit in one datagram. Nothing is
    /// sent until [`Self::poll_transmit`], which is also where the send time is taken.
    pub fn send_message(&mut self, message: &[u8]) -> Result<(), SendError> {
        let pieces = fragment::split(message, self.max_piece(), self.config.max_message)?;
        let count = u8::try_from(pieces.len()).unwrap_or(u8::MAX);
        let items = pieces.iter().zip(0u8..).map(|(piece, index)| Outgoing {
            kind: Kind::Data,
            frag_index: index,
            frag_count: count,
            payload: piece.to_vec(),
        });
        self.enqueue(items.collect())?;
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Queues a JOIN carrying our name (cut to fit one datagram).
    pub fn send_join(&mut self, name: &[u8]) -> Result<(), SendError> {
        let name = name.get(..self.max_piece()).unwrap_or(name);
        self.enqueue(vec![sequenced(Kind::Join, name)])
    }

    /// Queues a LEAVE.
    pub fn send_leave(&mut self) -> Result<(), SendError> {
        self.enqueue(vec![sequenced(Kind::Leave, &[])])
    }

    /// Sends a PING (unreliable: if it or its PONG is lost, no [`Event::Pong`] comes).
    pub fn ping(&mut self, now: Instant) {
        let seq = self.next_ping;
        self.next_ping = seq.next();
        self.ping = Some((seq, now));
        self.queue_control(Header {
            seq,
            ..Header::new(Kind::Ping)
        });
    }

    /// Queues an unsequenced datagram, dropping the oldest past [`MAX_CONTROL_QUEUED`].
    fn queue_control(&mut self, header: Header) {
        if self.control.len() >= MAX_CONTROL_QUEUED {
            self.control.pop_front();
        }
        self.control.push_back(header);
    }

    fn max_piece(&self) -> usize {
        self.config.max_datagram - HEADER_LEN
    }

    fn enqueue(&mut self, items: Vec<Outgoing>) -> Result<(), SendError> {
        if self.unreachable {
            return Err(SendError::Unreachable);
        }
        let room = self.sender.room();
        if items.len() > room {
            return Err(SendError::QueueFull {
                room,
                needed: items.len(),
            });
        }
        for item in items {
            // Cannot fail: we just checked the room.
            let _ = self.sender.push(item);
        }
        Ok(())
    }

    /// Takes one datagram that arrived from the peer at `now`.
    pub fn handle_datagram(&mut self, bytes: &[u8], now: Instant) -> Result<(), DatagramError> {
        let result = self.handle_parsed(bytes, now);
        if result.is_err() {
            self.stats.malformed += 1;
        }
        result
    }

    fn handle_parsed(&mut self, bytes: &[u8], now: Instant) -> Result<(), DatagramError> {
        let max = self.config.max_datagram;
        if bytes.len() > max {
            return Err(DatagramError::TooLarge {
                len: bytes.len(),
                max,
            });
        }
        let datagram = Datagram::parse(bytes)?;
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        if self.unreachable {
            return Ok(());
        }
        let header = datagram.header;
        match header.kind {
            Kind::Ack => {
                self.sender.on_ack(&header, now)?;
            }
            Kind::Ping => self.queue_control(Header {
                seq: header.seq,
                ..Header::new(Kind::Pong)
            }),
            Kind::Pong => {
                if let Some((seq, sent_at)) = self.ping
                    && seq == header.seq
                {
                    self.ping = None;
                    let rtt = now.saturating_duration_since(sent_at);
                    self.events.push_back(Event::Pong { rtt });
                }
            }
            Kind::Join | Kind::Leave | Kind::Data => {
                if header.flags.retransmit()
                    && self.config.mode == ArqMode::NoRetransmit
                    && !self.told_resent
                {
                    // The peer resends because it waits for ACKs we never send: it runs a
                    // reliable mode and we run none. Plain UDP delivers every copy it gets.
                    self.told_resent = true;
                    self.events.push_back(Event::PeerResends);
                }
                let (ready, ack) =
                    self.receiver
                        .on_sequenced(header, datagram.payload, &mut self.stats);
                if let Some(ack) = ack {
                    self.queue_control(ack);
                }
                // Deliver everything that is ready even if one piece is bad; report the first.
                let mut first_error = Ok(());
                for received in ready {
                    let delivered = self.deliver(received.header, &received.payload);
                    if first_error.is_ok() {
                        first_error = delivered;
                    }
                }
                first_error?;
            }
        }
        Ok(())
    }

    fn deliver(&mut self, header: Header, payload: &[u8]) -> Result<(), FragmentError> {
        match header.kind {
            Kind::Join => self.events.push_back(Event::Joined(payload.to_vec())),
            Kind::Leave => self.events.push_back(Event::Left),
            _ => {
                let whole = self.reassembler.push(
                    header.seq,
                    header.frag_index,
                    header.frag_count,
                    payload,
                )?;
                if let Some(message) = whole {
                    self.stats.messages_delivered += 1;
                    self.stats.delivered_bytes += message.len() as u64;
                    self.events.push_back(Event::Delivered(message));
                }
            }
        }
        Ok(())
    }

    /// The next datagram to put on the network at `now`, if any. ACKs, PINGs and PONGs go
    /// first, then retransmissions, then new data as the window allows.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.unreachable {
            return None;
        }
        let (header, payload) = match self.control.pop_front() {
            Some(header) => (header, Vec::new()),
            None => {
                let (mut header, payload) = self.sender.poll_transmit(now)?;
                // Piggyback our cumulative ACK on data, as TCP does. This version still sends
                // a separate ACK for each datagram and does not read this field on receipt.
                header.ack = self.receiver.cumulative();
                if header.flags.retransmit() {
                    self.stats.retransmissions += 1;
                }
                (header, payload)
            }
        };
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += (HEADER_LEN + payload.len()) as u64;
        // Cannot fail: payloads are at most `max_datagram`, which `Config::check` keeps under
        // the 16-bit length field's limit.
        Datagram {
            header,
            payload: &payload,
        }
        .to_vec()
        .ok()
    }

    /// When [`Self::handle_timeout`] should be called next (`None`: no timer is running).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.unreachable {
            return None;
        }
        self.sender.poll_timeout()
    }

    /// Lets timers that are due at `now` fire: retransmissions are queued, or the peer is
    /// declared unreachable.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.unreachable {
            return;
        }
        match self.sender.handle_timeout(now) {
            Ok(fired) => self.stats.timeouts += fired,
            Err(gave_up) => {
                self.unreachable = true;
                self.events.push_back(Event::Unreachable {
                    seq: gave_up.seq,
                    transmissions: gave_up.transmissions,
                });
            }
        }
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Datagrams that would leave at once if queued now (free window slots); a program that
    /// wants to measure time in the network rather than time in the queue waits for this.
    pub fn window_room(&self) -> usize {
        self.sender.window_room()
    }

    /// Datagrams held for the peer: sent and not yet acknowledged, or waiting for the window.
    /// Never more than [`Self::max_held`].
    pub fn held(&self) -> usize {
        self.sender.held()
    }

    /// The most datagrams this connection holds for its peer: the window plus the backlog.
    pub fn max_held(&self) -> usize {
        usize::try_from(self.window())
            .unwrap_or(usize::MAX)
            .saturating_add(self.config.max_queued)
    }

    /// Datagrams sent and not yet acknowledged: what is in flight, against [`Self::window`].
    pub fn in_flight(&self) -> usize {
        self.sender.in_flight()
    }

    /// The window in use: [`Config::window`], or 1 for stop-and-wait.
    pub fn window(&self) -> u32 {
        self.config.mode.effective_window(self.config.window)
    }

    /// The sequence number the next JOIN, DATA or LEAVE queued will carry. A program that wants
    /// to follow a message notes it before [`Self::send_message`]; the message's fragments
    /// carry the numbers from there up to the value after.
    pub fn next_seq(&self) -> Seq {
        self.sender.next_to_push()
    }

    /// Where our datagram `seq` stands: waiting for the window, in flight (sent how many times),
    /// acknowledged. Read-only: for a display of the protocol at work.
    pub fn outbound(&self, seq: Seq) -> Outbound {
        self.sender.outbound(seq)
    }

    /// The retransmission timer's estimator: SRTT and the current RTO (RFC 6298 §2).
    pub fn rtt(&self) -> &RtoEstimator {
        self.sender.rto()
    }

    /// True when everything sent has been acknowledged and nothing waits to be sent.
    pub fn is_idle(&self) -> bool {
        self.sender.is_idle() && self.control.is_empty()
    }

    /// True once the peer has been declared unreachable.
    pub fn is_unreachable(&self) -> bool {
        self.unreachable
    }

    /// The counters, with the current SRTT and RTO.
    pub fn stats(&self) -> Stats {
        Stats {
            srtt: self.sender.rto().srtt(),
            rto: self.sender.rto().rto(),
            fast_retransmits: self.sender.fast_retransmits(),
            incomplete_dropped: self.reassembler.evicted(),
            ..self.stats.clone()
        }
    }
}

fn sequenced(kind: Kind, payload: &[u8]) -> Outgoing {
    Outgoing {
        kind,
        frag_index: 0,
        frag_count: 1,
        payload: payload.to_vec(),
    }
}
