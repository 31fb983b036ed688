//! # `udp-chat bench`: what each ARQ scheme costs and delivers
//!
//! Two endpoints in this process, on two real UDP sockets on loopback, one thread each. The
//! sender pushes N messages of S bytes through the chosen ARQ scheme and the fault injector; the
//! receiver records what arrives. Every message carries its index and its send time, so the
//! receiver can count losses, duplicates and reordering and measure each message's latency.
//!
//! ## What is measured
//! - **delivered**: distinct messages that arrived (reliable modes must deliver all, exactly once,
//!   in order; anything else is an error and the command fails).
//! - **latency p50/p99**: from handing the message to the connection to its delivery. The sender
//!   offers a message only when the window has room for it, so it leaves at once: this is the
//!   time the network and the retransmissions take (one-way delay when nothing is lost), not
//!   time spent waiting in a queue.
//! - **goodput**: message bytes delivered per second, from the first send to the last delivery.
//!   The ceiling of a windowed protocol is `window × payload / RTT`; the table shows how close
//!   each run came to it when `--delay` sets the RTT.
//! - **wire bytes per delivered byte**: every datagram both ways (ACKs and retransmissions
//!   included, and the 28 bytes of IPv4 and UDP header each one carries on the wire) over the
//!   message bytes delivered: the price of reliability.
//!
//! `--arq tcp` runs the same measurement over the kernel's TCP, for comparison; see [`tcp`].
//!
//! Plain UDP (`--arq none`) has no acknowledgements and so no flow control: a sender would blast
//! all N messages at once and measure the size of the kernel's socket buffer. The bench paces it
//! at the window limit instead (window datagrams per round trip), the rate the reliable schemes
//! reach, so the comparison is fair.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlab_common::accept::spawn_named;
use netlab_common::stats::{self, percentile};
use netlab_common::{Error, term};

use crate::arq::ArqMode;
use crate::capture::{self, Capture};
use crate::connection::{Config, Event, SendError};
use crate::describe::{faults_banner, percent};
use crate::endpoint::{Endpoint, EndpointConfig, PeerEvent, bind_socket};
use crate::fault::FaultConfig;
use crate::stats::Stats;
use crate::wire::{DEFAULT_MAX_DATAGRAM, HEADER_LEN};

pub mod netns;
pub mod tcp;

use netns::PeerNamespace;

/// What `udp-chat bench` runs with; `cli.rs` builds it from the flags.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Messages sent in each run (`--messages`).
    pub messages: usize,
    /// Bytes per message, at least 16 (`--size`).
    pub size: usize,
    /// The schemes to run, in order (`--arq`).
    pub schemes: Vec<Scheme>,
    /// The loss probabilities to run each scheme at (`--loss`).
    pub losses: Vec<f64>,
    /// Both endpoints as the flags set them: window, retries and RTO bounds, the faults besides
    /// loss, `--faults-incoming`, `--trace`. Each run sets the ARQ mode and the loss.
    pub endpoint: EndpointConfig,
    /// A run still going after this is reported as unfinished (`--timeout`).
    pub timeout: Duration,
    /// One JSON object per run instead of a table (`--json`).
    pub json: bool,
    /// Where the receiving end lives: `None` on loopback, or in another network namespace
    /// (`--peer-netns`, `--peer-addr`).
    pub peer_netns: Option<PeerNamespace>,
    /// `--pcap`: record the sending end's datagrams of every UDP run in this pcapng file
    /// ([`crate::capture`]).
    pub pcap: Option<PathBuf>,
}

/// What one run measures: one of the UDP schemes, or the kernel's TCP for comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Our datagrams with this reliability scheme (`NoRetransmit`: plain UDP).
    Udp(ArqMode),
    /// The kernel's TCP on one connection (see [`tcp`]).
    Tcp,
}

impl Scheme {
    /// The name as typed after `--arq`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Udp(mode) => mode.name(),
            Scheme::Tcp => "tcp",
        }
    }
}

/// Bytes at the start of each message: its index and its send time (both u64, big-endian).
const STAMP: usize = 16;

/// What each datagram carries on the wire besides our bytes: an IPv4 header (20) and a UDP
/// header (8). The bench runs on 127.0.0.1.
const IP_UDP_HEADERS: u64 = 28;

/// One run's results.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The scheme.
    pub scheme: Scheme,
    /// The loss probability.
    pub loss: f64,
    /// Messages sent.
    pub messages: usize,
    /// Bytes per message.
    pub size: usize,
    /// Distinct messages delivered.
    pub delivered: usize,
    /// Messages delivered more than once.
    pub duplicates: usize,
    /// Messages delivered after a later one.
    pub out_of_order: usize,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// The sender's counters.
    pub sender: Stats,
    /// The receiver's counters.
    pub receiver: Stats,
    /// From the first send to the last delivery.
    pub elapsed: Duration,
    /// Message bytes delivered per second.
    pub goodput: f64,
    /// `window × payload / RTT`, when `--delay` gives an RTT.
    pub window_limit: Option<f64>,
    /// The sender declared the receiver unreachable.
    pub unreachable: bool,
    /// The run ended by `--timeout` before everything was acknowledged.
    pub timed_out: bool,
    /// TCP only: what the kernel's counters say (see [`tcp`]), where the platform has them.
    pub kernel: Option<KernelSaid>,
}

/// TCP's retransmissions and wire bytes, from the kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelSaid {
    /// Segments retransmitted.
    pub retransmissions: Option<u64>,
    /// Bytes sent over loopback, headers included.
    pub wire_bytes: Option<u64>,
}

impl RunResult {
    /// A reliable mode that lost, repeated or reordered anything, or did not finish.
    pub fn errors(&self) -> u64 {
        if self.scheme == Scheme::Udp(ArqMode::NoRetransmit) {
            return 0;
        }
        let missing = self.messages.saturating_sub(self.delivered);
        (missing + self.duplicates + self.out_of_order) as u64
            + u64::from(self.unreachable || self.timed_out)
    }

    /// Delivered messages over sent ones.
    pub fn delivery_ratio(&self) -> f64 {
        self.delivered as f64 / self.messages.max(1) as f64
    }

    /// Retransmissions: the sender's, or the kernel's segments for TCP (`None`: not known).
    pub fn retransmissions(&self) -> Option<u64> {
        match self.kernel {
            Some(kernel) => kernel.retransmissions,
            None => Some(self.sender.retransmissions),
        }
    }

    /// Bytes on the wire both ways, IP and UDP/TCP headers included (`None`: not known).
    pub fn wire_bytes(&self) -> Option<u64> {
        match self.kernel {
            Some(kernel) => kernel.wire_bytes,
            None => {
                let datagrams = self.sender.datagrams_sent + self.receiver.datagrams_sent;
                let ours = self.sender.bytes_sent + self.receiver.bytes_sent;
                Some(ours + IP_UDP_HEADERS * datagrams)
            }
        }
    }

    /// Wire bytes per message byte delivered.
    pub fn wire_per_delivered(&self) -> Option<f64> {
        let delivered = (self.delivered * self.size).max(1) as f64;
        self.wire_bytes().map(|wire| wire as f64 / delivered)
    }

    /// One line of JSON (`null` where a figure is not known), figures rounded as the table
    /// shows them: milliseconds to the microsecond, ratios to 3 or 4 decimals.
    pub fn to_json(&self) -> String {
        let datagrams = self
            .kernel
            .is_none()
            .then(|| self.sender.datagrams_sent + self.receiver.datagrams_sent);
        serde_json::json!({
            "arq": self.scheme.name(),
            "loss": self.loss,
            "messages": self.messages,
            "size": self.size,
            "delivered": self.delivered,
            "delivery_ratio": stats::rounded(self.delivery_ratio(), 4),
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "p50_ms": stats::rounded(ms(self.p50), 3),
            "p99_ms": stats::rounded(ms(self.p99), 3),
            "retransmissions": self.retransmissions(),
            "fast_retransmits": self.sender.fast_retransmits,
            "timeouts": self.sender.timeouts,
            "datagrams_sent": datagrams,
            "wire_bytes": self.wire_bytes(),
            "wire_per_delivered": self.wire_per_delivered().map(|r| stats::rounded(r, 3)),
            "goodput_bytes_per_s": self.goodput.round() as u64,
            "window_limit_bytes_per_s": self.window_limit.map(|limit| limit.round() as u64),
            "elapsed_s": stats::rounded(self.elapsed.as_secs_f64(), 3),
            "unreachable": self.unreachable,
            "timed_out": self.timed_out,
            "errors": self.errors(),
        })
        .to_string()
    }

    /// One Markdown table row (see [`TABLE_HEADER`]).
    pub fn table_row(&self) -> String {
        let of_limit = self.window_limit.map_or("-".to_string(), |limit| {
            format!("{:.0}%", 100.0 * self.goodput / limit)
        });
        let retransmissions = self
            .retransmissions()
            .map_or("-".to_string(), |n| n.to_string());
        let wire_per = self
            .wire_per_delivered()
            .map_or("-".to_string(), |r| format!("{r:.2}"));
        let mut row = format!(
            "| {} | {} | {}/{} | {} | {:.1} | {:.1} | {retransmissions} | {wire_per} | {:.1} | {of_limit} | {:.1} |",
            self.scheme.name(),
            percent(self.loss),
            self.delivered,
            self.messages,
            self.duplicates,
            ms(self.p50),
            ms(self.p99),
            self.goodput / 1000.0,
            self.elapsed.as_secs_f64()
        );
        if self.unreachable {
            row.push_str(" receiver unreachable");
        }
        if self.timed_out {
            row.push_str(" timed out");
        }
        row
    }
}

/// The Markdown table's header.
pub const TABLE_HEADER: &str = "| ARQ | loss | delivered | duplicates | p50 ms | p99 ms | \
retransmissions | wire B / delivered B | goodput kB/s | of window limit | time s |\n\
|---|---|---|---|---|---|---|---|---|---|---|";

/// Runs every requested combination of scheme and loss rate, printing as it goes.
pub fn run(config: &BenchConfig) -> Result<(), Error> {
    if !config.json {
        describe_setup(config);
        print_line(TABLE_HEADER)?;
    }
    let mut errors = 0;
    let mut capture = None;
    for &scheme in &config.schemes {
        for &loss in &config.losses {
            let result = match scheme {
                Scheme::Udp(mode) => run_one(config, mode, loss, &mut capture)?,
                Scheme::Tcp => match run_tcp(config, loss)? {
                    Ok(result) => result,
                    Err(why) => {
                        print_skipped(config, scheme, loss, &why)?;
                        continue;
                    }
                },
            };
            errors += result.errors();
            if config.json {
                print_line(&result.to_json())?;
            } else {
                print_line(&result.table_row())?;
            }
        }
    }
    capture::finish(capture);
    if errors > 0 {
        return Err(Error::Failed(format!(
            "{errors} errors: a reliable mode lost, repeated or reordered messages, or did not finish"
        )));
    }
    Ok(())
}

/// Writes one line of results to standard output at once (a run can take minutes, and whoever
/// reads the pipe wants each row as it comes). A closed pipe is an error, not a panic.
fn print_line(line: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(Error::stdout)
}

fn describe_setup(config: &BenchConfig) {
    let endpoint = &config.endpoint;
    let faults = FaultConfig {
        loss: 0.0,
        ..endpoint.faults
    };
    let path = match &config.peer_netns {
        Some(peer) => format!("to {} in network namespace {}", peer.addr, peer.name),
        None => "over loopback".to_string(),
    };
    let mut setup = format!(
        "{} messages of {} bytes per run {path}, window {}",
        config.messages, config.size, endpoint.connection.window
    );
    if let Some(banner) = faults_banner(&faults, endpoint.faults_incoming) {
        let _ = write!(setup, "; besides the loss column, {banner}");
    }
    term::info(setup);
}

/// A run that cannot be made, with the reason.
fn print_skipped(config: &BenchConfig, scheme: Scheme, loss: f64, why: &str) -> Result<(), Error> {
    if config.json {
        let skipped = serde_json::json!({"arq": scheme.name(), "loss": loss, "skipped": why});
        print_line(&skipped.to_string())
    } else {
        print_line(&format!(
            "| {} | {} | skipped: {why} | | | | | | | | |",
            scheme.name(),
            percent(loss)
        ))
    }
}

/// One TCP run, or why it cannot be made: the fault injector cannot act on TCP.
fn run_tcp(config: &BenchConfig, loss: f64) -> Result<Result<RunResult, String>, Error> {
    let faults = FaultConfig {
        loss,
        ..config.endpoint.faults
    };
    let faulty = faults.loss > 0.0
        || faults.duplicate > 0.0
        || faults.reorder > 0.0
        || !faults.delay.is_zero()
        || !faults.jitter.is_zero();
    if faulty {
        return Ok(Err(
            "the fault injector cannot touch TCP (make the network lossy instead)".to_string(),
        ));
    }
    let window = config.endpoint.connection.window as usize;
    let measured = tcp::run(
        config.messages,
        config.size,
        window,
        config.timeout,
        config.peer_netns.as_ref(),
    )?;
    let (p50, p99) = measured.p50_p99();
    let delivered_bytes = (measured.delivered * config.size) as f64;
    Ok(Ok(RunResult {
        scheme: Scheme::Tcp,
        loss,
        messages: config.messages,
        size: config.size,
        delivered: measured.delivered,
        duplicates: 0,
        out_of_order: 0,
        p50,
        p99,
        sender: Stats::default(),
        receiver: Stats::default(),
        elapsed: measured.elapsed,
        goodput: delivered_bytes / measured.elapsed.as_secs_f64().max(1e-9),
        window_limit: None,
        unreachable: false,
        timed_out: false,
        kernel: Some(KernelSaid {
            retransmissions: measured.retransmitted_segments,
            wire_bytes: measured.wire_bytes,
        }),
    }))
}

/// One run: `mode` at loss `loss`. With `--pcap`, the sending end records into `capture`
/// (created by the first run, handed from run to run, so one file holds them all).
pub fn run_one(
    bench: &BenchConfig,
    mode: ArqMode,
    loss: f64,
    capture: &mut Option<Capture>,
) -> Result<RunResult, Error> {
    let pieces_per_message = bench.size.div_ceil(DEFAULT_MAX_DATAGRAM - HEADER_LEN);
    let config = Config {
        mode,
        // Messages are offered only when the window has room (see the module docs).
        max_queued: pieces_per_message,
        ..bench.endpoint.connection
    };
    let faults = FaultConfig {
        loss,
        ..bench.endpoint.faults
    };
    let endpoint_config = |seed: u64| EndpointConfig {
        connection: config,
        faults: FaultConfig { seed, ..faults },
        ..bench.endpoint
    };
    // The two directions get different seeds, so ACKs are not lost in step with data.
    let (mut sender, receiver) = endpoints(
        bench.peer_netns.as_ref(),
        endpoint_config(faults.seed),
        endpoint_config(faults.seed.wrapping_add(0x9E37_79B9)),
    )?;
    match (capture.take(), &bench.pcap) {
        (Some(open), _) => sender.attach_capture(open)?,
        (None, Some(path)) => sender.capture_to(path)?,
        (None, None) => {}
    }
    let plan = Plan {
        messages: bench.messages,
        size: bench.size,
        // A message wider than the window (4 fragments, stop-and-wait) waits for an empty window.
        offer_at_room: pieces_per_message.min(config.mode.effective_window(config.window) as usize),
        base: Instant::now(),
        deadline: Instant::now() + bench.timeout,
        pace: pace(&config, &faults, pieces_per_message),
        grace: faults.delay + faults.jitter * 2 + faults.reorder_hold + Duration::from_millis(100),
    };
    let done = Arc::new(AtomicBool::new(false));
    let receiving = {
        let done = Arc::clone(&done);
        spawn_named("bench receiver", move || receive(receiver, plan, &done))?
    };
    let sent = send(sender, plan, capture);
    done.store(true, Ordering::SeqCst);
    let received = receiving
        .join()
        .map_err(|_| Error::Failed("the receiving thread panicked".into()))??;
    let sent = sent?;
    Ok(summarize(loss, &config, &faults, plan, sent, received))
}

/// The sending and the receiving endpoint: both on loopback, or the receiver in another
/// network namespace ([`netns`]).
fn endpoints(
    peer_netns: Option<&PeerNamespace>,
    sending: EndpointConfig,
    receiving: EndpointConfig,
) -> Result<(Endpoint, Endpoint), Error> {
    let Some(peer) = peer_netns else {
        return Endpoint::pair(sending, receiving);
    };
    let receiver_addr = peer.bind_addr();
    let receiver_socket = netns::in_namespace(&peer.name, || bind_socket(receiver_addr))?;
    let unspecified = SocketAddr::new(unspecified_like(receiver_addr.ip()), 0);
    Endpoint::pair_from(
        bind_socket(unspecified)?,
        receiver_socket,
        sending,
        receiving,
    )
}

/// 0.0.0.0 or ::, matching `ip`'s family.
pub(crate) fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// What both threads need to know.
#[derive(Clone, Copy, Debug)]
struct Plan {
    messages: usize,
    size: usize,
    /// Free window slots needed before the next message is offered.
    offer_at_room: usize,
    base: Instant,
    deadline: Instant,
    /// Plain UDP only: time between messages.
    pace: Option<Duration>,
    /// Plain UDP only: how long datagrams may still be in the air after the last send.
    grace: Duration,
}

/// Plain UDP is paced at the window limit; the reliable modes pace themselves by their ACKs.
fn pace(config: &Config, faults: &FaultConfig, pieces: usize) -> Option<Duration> {
    if config.mode != ArqMode::NoRetransmit {
        return None;
    }
    let rtt = (faults.delay * 2).max(Duration::from_millis(1));
    let per_rtt = (config.window as usize / pieces).max(1) as u32;
    Some(rtt / per_rtt)
}

struct Sent {
    started: Instant,
    stats: Stats,
    unreachable: bool,
    timed_out: bool,
}

/// Sends the plan's messages; hands the endpoint's capture back in `capture`.
fn send(mut endpoint: Endpoint, plan: Plan, capture: &mut Option<Capture>) -> Result<Sent, Error> {
    let sent = send_all(&mut endpoint, plan);
    *capture = endpoint.detach_capture();
    sent
}

fn send_all(endpoint: &mut Endpoint, plan: Plan) -> Result<Sent, Error> {
    let Some(&peer) = endpoint.peer_addrs().first() else {
        return Err(Error::Failed("the bench endpoints have no peer".into()));
    };
    let started = Instant::now();
    let mut next = 0;
    let mut next_at = started;
    let mut peer_events = Vec::new();
    let mut unreachable = false;
    loop {
        while next < plan.messages && Instant::now() >= next_at {
            let Some(connection) = endpoint.connection(peer) else {
                break;
            };
            if connection.window_room() < plan.offer_at_room {
                break;
            }
            match connection.send_message(&message(next, plan)) {
                Ok(()) => next += 1,
                Err(SendError::QueueFull { .. }) => break,
                Err(SendError::Unreachable) => {
                    unreachable = true;
                    break;
                }
                Err(err) => return Err(Error::Failed(format!("cannot send: {err}"))),
            }
            if let Some(pace) = plan.pace {
                next_at += pace;
            }
            endpoint.flush_now(&mut peer_events);
        }
        let wait = match plan.pace {
            Some(_) if next < plan.messages => next_at.saturating_duration_since(Instant::now()),
            _ => Duration::from_millis(50),
        };
        endpoint.turn(Some(wait), &mut peer_events)?;
        unreachable |= peer_events
            .drain(..)
            .any(|e| matches!(e, PeerEvent::Connection(_, Event::Unreachable { .. })));
        let idle = endpoint.connection(peer).is_some_and(|c| c.is_idle());
        if unreachable || (next == plan.messages && idle) || Instant::now() >= plan.deadline {
            break;
        }
    }
    let timed_out = !unreachable && Instant::now() >= plan.deadline;
    if plan.pace.is_some() {
        // Let the last datagrams (delayed by the injector) reach the receiver.
        let until = Instant::now() + plan.grace;
        while Instant::now() < until {
            endpoint.turn(
                Some(until.saturating_duration_since(Instant::now())),
                &mut peer_events,
            )?;
            peer_events.clear();
        }
    }
    Ok(Sent {
        started,
        stats: endpoint.stats(peer).unwrap_or_default(),
        unreachable,
        timed_out,
    })
}

/// Message `index`: its index, its send time since `plan.base`, then filler.
fn message(index: usize, plan: Plan) -> Vec<u8> {
    let sent_at = u64::try_from(plan.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let mut bytes = Vec::with_capacity(plan.size);
    bytes.extend_from_slice(&(index as u64).to_be_bytes());
    bytes.extend_from_slice(&sent_at.to_be_bytes());
    bytes.resize(plan.size.max(STAMP), b'.');
    bytes
}

struct Received {
    latencies: Vec<Duration>,
    delivered: usize,
    duplicates: usize,
    out_of_order: usize,
    last_delivery: Option<Instant>,
    stats: Stats,
}

fn receive(mut endpoint: Endpoint, plan: Plan, done: &AtomicBool) -> Result<Received, Error> {
    let peer = endpoint.peer_addrs().first().copied();
    let mut seen = vec![false; plan.messages];
    let mut received = Received {
        latencies: Vec::with_capacity(plan.messages),
        delivered: 0,
        duplicates: 0,
        out_of_order: 0,
        last_delivery: None,
        stats: Stats::default(),
    };
    let mut highest: Option<u64> = None;
    let mut peer_events = Vec::new();
    while !done.load(Ordering::SeqCst) {
        endpoint.turn(Some(Duration::from_millis(20)), &mut peer_events)?;
        let now = Instant::now();
        for peer_event in peer_events.drain(..) {
            let PeerEvent::Connection(_, Event::Delivered(bytes)) = peer_event else {
                continue;
            };
            let Some((index, sent_at)) = stamp(&bytes) else {
                continue;
            };
            received.last_delivery = Some(now);
            if highest.is_some_and(|high| index < high) {
                received.out_of_order += 1;
            }
            highest = highest.max(Some(index));
            match usize::try_from(index).ok().and_then(|i| seen.get_mut(i)) {
                Some(true) => received.duplicates += 1,
                Some(slot) => {
                    *slot = true;
                    received.delivered += 1;
                    let sent = plan.base + Duration::from_nanos(sent_at);
                    received.latencies.push(now.saturating_duration_since(sent));
                }
                None => {}
            }
        }
    }
    received.stats = peer
        .and_then(|peer| endpoint.stats(peer))
        .unwrap_or_default();
    Ok(received)
}

/// The index and send time at the start of a message.
fn stamp(bytes: &[u8]) -> Option<(u64, u64)> {
    let index = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let sent_at = u64::from_be_bytes(bytes.get(8..STAMP)?.try_into().ok()?);
    Some((index, sent_at))
}

fn summarize(
    loss: f64,
    config: &Config,
    faults: &FaultConfig,
    plan: Plan,
    sent: Sent,
    mut received: Received,
) -> RunResult {
    received.latencies.sort_unstable();
    let elapsed = received.last_delivery.map_or(Duration::ZERO, |last| {
        last.saturating_duration_since(sent.started)
    });
    let delivered_bytes = (received.delivered * plan.size) as f64;
    let pieces = plan.size.div_ceil(DEFAULT_MAX_DATAGRAM - HEADER_LEN);
    let payload_per_datagram = plan.size as f64 / pieces as f64;
    let rtt = faults.delay * 2;
    let window = f64::from(config.mode.effective_window(config.window));
    RunResult {
        scheme: Scheme::Udp(config.mode),
        loss,
        messages: plan.messages,
        size: plan.size,
        delivered: received.delivered,
        duplicates: received.duplicates,
        out_of_order: received.out_of_order,
        p50: percentile(&received.latencies, 50),
        p99: percentile(&received.latencies, 99),
        sender: sent.stats,
        receiver: received.stats,
        elapsed,
        goodput: delivered_bytes / elapsed.as_secs_f64().max(1e-9),
        window_limit: (!rtt.is_zero()).then(|| window * payload_per_datagram / rtt.as_secs_f64()),
        unreachable: sent.unreachable,
        timed_out: sent.timed_out,
        kernel: None,
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
