//! # The load generator: `tcp-echo bench HOST:PORT`
//!
//! Measures an echo server from the outside. With `--framing raw` (the default) it speaks plain
//! bytes with no greeting, so it works against any RFC 862 echo server, ours or not. With
//! `--framing line` or `--framing length` it speaks our server's framed protocol instead: it
//! frames every message, expects the `WELCOME` greeting, and expects each message back as
//! `ACK message` (the exact bytes, per framing, are in [`crate::payload`]). Comparing the three on
//! the same server shows what framing costs.
//!
//! - **Ping-pong** (default): each of `--connections` connections sends one message of `--size`
//!   payload bytes and waits until all of its echo has come back before sending the next. The time
//!   from send to the last byte back is one *round trip*. Reports round trips per second, p50/p99
//!   latency and the payload rate.
//! - **Stream** (`--stream BYTES`): each connection sends `BYTES` of payload as fast as the server
//!   takes them while reading the echo at the same time, and reports throughput. In raw framing the
//!   payload is one unbroken run of bytes, written 64 KiB at a time; in line and length framing it
//!   is cut into `--size`-byte messages (`BYTES` rounded up to whole messages), each framed, many
//!   per write. Reading concurrently matters: a client that only writes would fill the server's
//!   output, the server would stop reading (see back-pressure in the engines), and both would wait
//!   forever.
//! - **Boundaries** (`--boundaries N`) is a different experiment, what breaks without framing:
//!   see [`crate::boundaries`].
//!
//! Every byte that comes back is compared with the exact bytes the server should send, framing
//! and `ACK ` included, so a server that loses, reorders or invents bytes, or that was started with
//! another `--framing`, is reported as errors (the first one described in words), not as fast.
//! Rates count payload bytes only; the framing and `ACK ` bytes on top are reported as
//! `overhead_bytes_per_message` and `ack_bytes_per_message`.
//!
//! A connection the server ends early (it closes or resets it before the echo is complete, or
//! greets it with `ERROR ...`) is an error too, and is also counted on its own as *refused or
//! closed* ([`BenchReport::closed_by_server`]): that is what a server at its `--max-clients` does,
//! and in raw framing (RFC 862) a refusal is nothing but the close, since every byte is echo data.
//!
//! Nothing waits forever: unfinished round trips get [`GRACE`] after the test's end, and a stream
//! in which no byte moves for [`GRACE`] is given up; both count as errors.
//!
//! The generator is one thread with a mio event loop, so it can drive a thousand connections and
//! leaves the other core to the server. On one machine the generator and the server share the
//! CPUs: compare ratios between servers measured the same way, not absolute numbers.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use netlab_common::framing::Framing;
use netlab_common::{Error, Result, net, stats, term};

use crate::payload::{self, Repeating};

/// Largest single write in stream mode.
const STREAM_CHUNK: usize = 64 * 1024;

/// Bytes asked for per read.
const READ_SIZE: usize = 256 * 1024;

/// In a raw stream every byte is payload: the stream is the binary pattern, this long a unit.
const RAW_STREAM_UNIT: usize = 251;

/// After the deadline, how long unfinished round trips may take before they count as errors; in
/// stream mode, how long no byte may move.
pub const GRACE: Duration = Duration::from_secs(5);

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// `HOST:PORT` of an echo server speaking `framing`.
    pub target: String,
    /// How messages are delimited; the server must have been started with the same framing.
    pub framing: Framing,
    /// Connections open at once.
    pub connections: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// How long to run ping-pong.
    pub duration: Duration,
    /// Stream mode: payload bytes to send on each connection.
    pub stream_bytes: Option<u64>,
    /// TCP_NODELAY on our side.
    pub nodelay: bool,
    /// Print the report as one JSON object (for scripts) instead of sentences.
    pub json: bool,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// `pingpong` or `stream`.
    pub mode: &'static str,
    /// The framing spoken.
    pub framing: Framing,
    /// Connections used.
    pub connections: usize,
    /// Message size (ping-pong, framed stream) or write size (raw stream).
    pub size: usize,
    /// Wall time measured.
    pub elapsed: Duration,
    /// Completed round trips (ping-pong).
    pub round_trips: u64,
    /// Payload bytes that came back intact (framing and `ACK ` not counted).
    pub bytes_echoed: u64,
    /// Median round-trip latency.
    pub p50: Duration,
    /// 99th percentile round-trip latency.
    pub p99: Duration,
    /// Wrong bytes, early closes, unfinished round trips.
    pub errors: u64,
    /// The first error, in words (later ones are usually its consequences).
    pub first_error: Option<String>,
    /// Connections the server refused or closed before their echo was complete (counted among
    /// `errors` too).
    pub closed_by_server: u64,
}

impl netlab_common::stats::Report for BenchReport {
    fn to_json(&self) -> String {
        self.to_json()
    }

    fn summary(&self) -> String {
        self.summary()
    }

    fn errors(&self) -> u64 {
        self.errors
    }
}

impl BenchReport {
    /// Round trips per second.
    pub fn round_trips_per_sec(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Echoed payload in megabytes (10^6 bytes) per second, one direction.
    pub fn megabytes_per_sec(&self) -> f64 {
        self.bytes_echoed as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line of JSON, for scripts; the fields in this order, rates rounded for reading.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "mode": self.mode,
            "framing": self.framing.name(),
            "overhead_bytes_per_message": payload::overhead_bytes(self.framing),
            "ack_bytes_per_message": payload::ack_bytes(self.framing),
            "connections": self.connections,
            "size": self.size,
            "seconds": stats::rounded(self.elapsed.as_secs_f64(), 3),
            "round_trips": self.round_trips,
            "round_trips_per_sec": stats::rounded(self.round_trips_per_sec(), 1),
            "p50_us": self.p50.as_micros(),
            "p99_us": self.p99.as_micros(),
            "bytes_echoed": self.bytes_echoed,
            "mb_per_sec": stats::rounded(self.megabytes_per_sec(), 2),
            "errors": self.errors,
        })
        .to_string()
    }

    /// A sentence for people.
    pub fn summary(&self) -> String {
        let latency = |value: Duration| format!("{:.3} ms", value.as_secs_f64() * 1e3);
        let measured = match self.mode {
            "stream" => format!(
                "{} bytes echoed on {} connection(s) in {:.2}s: {:.1} MB/s, {} errors",
                self.bytes_echoed,
                self.connections,
                self.elapsed.as_secs_f64(),
                self.megabytes_per_sec(),
                self.errors
            ),
            _ => format!(
                "{} round trips in {:.2}s: {:.0} round trips/s, p50 {}, p99 {}, {:.2} MB/s echoed, {} errors",
                self.round_trips,
                self.elapsed.as_secs_f64(),
                self.round_trips_per_sec(),
                latency(self.p50),
                latency(self.p99),
                self.megabytes_per_sec(),
                self.errors
            ),
        };
        match self.framing {
            Framing::Raw => measured,
            framing => format!(
                "{} framing (+{} of framing per message each way, +{} for `ACK ` in each reply): {measured}",
                framing.name(),
                plural_bytes(payload::overhead_bytes(framing)),
                payload::ack_bytes(framing)
            ),
        }
    }
}

/// `1 byte`, `4 bytes`.
fn plural_bytes(count: usize) -> String {
    match count {
        1 => "1 byte".to_string(),
        count => format!("{count} bytes"),
    }
}

/// What every connection sends and expects back; the same for all of them.
struct Script {
    framing: Framing,
    /// The bytes to send: one framed message (ping-pong), or the whole stream.
    request: Repeating,
    /// The exact bytes the server must send back (its greeting aside).
    reply: Repeating,
    /// Largest single write.
    max_write: usize,
    /// Payload bytes per reply; `None` in raw framing, where every byte is payload.
    payload_per_reply: Option<u64>,
}

impl Script {
    fn new(config: &BenchConfig) -> Result<Script> {
        let framing = config.framing;
        if let (Framing::Raw, Some(bytes)) = (framing, config.stream_bytes) {
            let unit = payload::cut(framing, 0, RAW_STREAM_UNIT);
            let stream = Repeating::new(&unit, bytes, STREAM_CHUNK.max(READ_SIZE))?;
            return Ok(Script {
                framing,
                request: stream.clone(),
                reply: stream,
                max_write: STREAM_CHUNK,
                payload_per_reply: None,
            });
        }
        let message = payload::cut(framing, 0, config.size);
        let request = payload::request(framing, &message)?;
        let reply = payload::reply(framing, &message)?;
        let messages = match config.stream_bytes {
            Some(bytes) => bytes.div_ceil(config.size.max(1) as u64),
            None => 1,
        };
        let total = |unit: &[u8]| {
            messages
                .checked_mul(unit.len() as u64)
                .ok_or_else(|| Error::Usage("that stream is too long to count in bytes".into()))
        };
        Ok(Script {
            framing,
            request: Repeating::new(&request, total(&request)?, STREAM_CHUNK)?,
            reply: Repeating::new(&reply, total(&reply)?, READ_SIZE)?,
            max_write: match config.stream_bytes {
                Some(_) => STREAM_CHUNK,
                None => request.len(),
            },
            payload_per_reply: (framing != Framing::Raw).then_some(config.size as u64),
        })
    }

    /// Payload in the first `reply_bytes` bytes of the echo. A framed message counts once all of
    /// its reply is back.
    fn payload_in(&self, reply_bytes: u64) -> u64 {
        match self.payload_per_reply {
            None => reply_bytes,
            Some(size) => reply_bytes / self.reply.unit_len() as u64 * size,
        }
    }
}

/// Errors counted, and the first one in words.
#[derive(Debug, Default)]
struct Errors {
    count: u64,
    first: Option<String>,
}

impl Errors {
    fn add(&mut self, count: u64, why: String) {
        self.count += count;
        if count > 0 && self.first.is_none() {
            self.first = Some(why);
        }
    }
}

/// One connection's progress through its current message (ping-pong) or its stream.
struct Flow {
    stream: TcpStream,
    /// Bytes of the request written so far.
    written: u64,
    /// Bytes of the echo received and found correct so far.
    received: u64,
    /// Line/length framing: the server's greeting while it is still arriving; `None` once it has
    /// been checked (and from the start in raw framing, which has none).
    greeting: Option<Vec<u8>>,
    sent_at: Instant,
    finished: bool,
    /// The server ended this connection early: closed, reset, or refused it with `ERROR ...`.
    closed_by_server: bool,
}

/// What a run has measured so far.
struct Measured {
    latencies: Vec<Duration>,
    errors: Errors,
    /// Connections the server refused or closed early.
    closed_by_server: u64,
    /// Payload bytes that came back intact.
    echoed: u64,
    /// When a byte last moved, either way, on any connection.
    last_progress: Instant,
}

/// `tcp-echo bench` in ping-pong or stream mode: says what it will do, measures, prints the
/// report. Fails (exit 1) if any byte came back wrong or late, explaining the usual cause.
pub fn run(config: &BenchConfig) -> Result<()> {
    if !config.json {
        term::info(announcement(config));
    }
    let report = measure(config)?;
    let explanation = match report.closed_by_server {
        0 => what_errors_mean(config.framing, report.first_error.as_deref()),
        closed => refused_or_closed(closed, report.errors, report.first_error.as_deref()),
    };
    stats::print_report(&report, config.json, &explanation)
}

/// The line printed before a run: what is about to be measured.
fn announcement(config: &BenchConfig) -> String {
    let in_framing = match config.framing {
        Framing::Raw => String::new(),
        framing => format!(", {} framing", framing.name()),
    };
    match config.stream_bytes {
        Some(bytes) => format!(
            "streaming {bytes} bytes on each of {} connection(s) to {}{in_framing}",
            config.connections, config.target
        ),
        None => format!(
            "ping-pong: {} connection(s) x {}-byte messages for {:.1}s against {}{in_framing}",
            config.connections,
            config.size,
            config.duration.as_secs_f64(),
            config.target
        ),
    }
}

/// The failure line's explanation: the usual cause, then the first error seen.
pub(crate) fn what_errors_mean(framing: Framing, first_error: Option<&str>) -> String {
    format!(
        "the server lost, changed or did not return bytes (is it in {} framing?){}",
        framing.name(),
        first_words(first_error)
    )
}

/// The failure line when the server ended connections early: how many, and the usual cause.
fn refused_or_closed(closed: u64, errors: u64, first_error: Option<&str>) -> String {
    let others = match errors.saturating_sub(closed) {
        0 => String::new(),
        other => format!(" ({other} other errors)"),
    };
    format!(
        "the server refused/closed {closed} connection(s) before their echo was complete \
         (are there more --connections than its --max-clients?){others}{}",
        first_words(first_error)
    )
}

/// `; first: WHY`, or nothing.
fn first_words(first_error: Option<&str>) -> String {
    first_error
        .map(|why| format!("; first: {why}"))
        .unwrap_or_default()
}

/// Runs the benchmark described by `config` and returns what it measured.
pub fn measure(config: &BenchConfig) -> Result<BenchReport> {
    let script = Script::new(config)?;
    let mut poll = Poll::new().map_err(|err| Error::io("creating the event loop", err))?;
    let mut flows = open_flows(config, &poll)?;
    let mut scratch = vec![0u8; READ_SIZE];
    let started = Instant::now();
    // Ping-pong starts round trips until the deadline; a stream is one long "round trip".
    let ping_pong_until = config
        .stream_bytes
        .is_none()
        .then_some(started + config.duration);
    let mut measured = Measured {
        latencies: Vec::new(),
        errors: Errors::default(),
        closed_by_server: 0,
        echoed: 0,
        last_progress: started,
    };
    for flow in flows.iter_mut() {
        start_round_trip(flow, &script, &mut measured, Instant::now());
    }
    let mut events = Events::with_capacity(1024);
    let mut unfinished = flows.iter().filter(|flow| !flow.finished).count();
    while unfinished > 0 {
        if let Some(why) = stalled(ping_pong_until, Instant::now(), measured.last_progress) {
            let why = format!("{unfinished} connection(s) {why}");
            measured.errors.add(unfinished as u64, why);
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .map_err(|err| Error::io("waiting for events", err))?;
        for event in events.iter() {
            let Some(flow) = flows.get_mut(event.token().0) else {
                continue;
            };
            if !flow.finished
                && serve_event(flow, &script, &mut scratch, &mut measured, ping_pong_until)
            {
                unfinished -= 1;
            }
        }
    }
    Ok(report(config, started.elapsed(), measured))
}

/// Starts a message (ping-pong) or the stream on `flow`, writing what the socket takes now.
fn start_round_trip(flow: &mut Flow, script: &Script, measured: &mut Measured, now: Instant) {
    flow.written = 0;
    flow.received = 0;
    flow.sent_at = now;
    if let Err(why) = pump_writes(flow, script) {
        flow_failed(flow, measured, why);
    }
}

/// Counts `flow`'s error (and whether the server ended it) and stops it.
fn flow_failed(flow: &mut Flow, measured: &mut Measured, why: String) {
    measured.errors.add(1, why);
    if flow.closed_by_server {
        measured.closed_by_server += 1;
    }
    flow.finished = true;
}

/// Moves the bytes `flow` can move now and checks what came back; when a round trip completes,
/// starts the next one until `ping_pong_until`. Returns `true` when the flow has just finished.
fn serve_event(
    flow: &mut Flow,
    script: &Script,
    scratch: &mut [u8],
    measured: &mut Measured,
    ping_pong_until: Option<Instant>,
) -> bool {
    let (written, received) = (flow.written, flow.received);
    let outcome = pump_writes(flow, script).and_then(|()| pump_reads(flow, scratch, script));
    measured.echoed += script.payload_in(flow.received) - script.payload_in(received);
    if (flow.written, flow.received) != (written, received) {
        measured.last_progress = Instant::now();
    }
    if let Err(why) = outcome {
        flow_failed(flow, measured, why);
    }
    if !flow.finished && flow.received == script.reply.total() {
        measured.latencies.push(flow.sent_at.elapsed());
        let now = Instant::now();
        match ping_pong_until {
            Some(deadline) if now < deadline => start_round_trip(flow, script, measured, now),
            _ => flow.finished = true,
        }
    }
    flow.finished
}

fn report(config: &BenchConfig, elapsed: Duration, mut measured: Measured) -> BenchReport {
    let ping_pong = config.stream_bytes.is_none();
    measured.latencies.sort_unstable();
    BenchReport {
        mode: if ping_pong { "pingpong" } else { "stream" },
        framing: config.framing,
        connections: config.connections,
        size: match (config.framing, ping_pong) {
            (Framing::Raw, false) => STREAM_CHUNK,
            _ => config.size,
        },
        elapsed,
        round_trips: if ping_pong {
            measured.latencies.len() as u64
        } else {
            0
        },
        bytes_echoed: measured.echoed,
        p50: netlab_common::stats::percentile(&measured.latencies, 50),
        p99: netlab_common::stats::percentile(&measured.latencies, 99),
        errors: measured.errors.count,
        first_error: measured.errors.first,
        closed_by_server: measured.closed_by_server,
    }
}

/// Why to stop waiting, once it is time: ping-pong gives the last round trips [`GRACE`] after its
/// deadline; a stream may go [`GRACE`] without moving a byte.
fn stalled(
    ping_pong_until: Option<Instant>,
    now: Instant,
    last_progress: Instant,
) -> Option<String> {
    match ping_pong_until {
        Some(deadline) if now > deadline + GRACE => Some(format!(
            "still waiting for an echo {}s after the end of the test",
            GRACE.as_secs()
        )),
        None if now > last_progress + GRACE => {
            Some(format!("moved no byte for {}s", GRACE.as_secs()))
        }
        _ => None,
    }
}

fn open_flows(config: &BenchConfig, poll: &Poll) -> Result<Vec<Flow>> {
    let mut flows = Vec::with_capacity(config.connections);
    for index in 0..config.connections {
        let stream =
            net::connect_nonblocking(&config.target, net::CONNECT_TIMEOUT, config.nodelay)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(
                &mut stream,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|err| Error::io("registering a connection", err))?;
        flows.push(Flow {
            stream,
            written: 0,
            received: 0,
            greeting: (config.framing != Framing::Raw).then(Vec::new),
            sent_at: Instant::now(),
            finished: false,
            closed_by_server: false,
        });
    }
    Ok(flows)
}

/// Writes as much of the flow's remaining request as the socket takes.
fn pump_writes(flow: &mut Flow, script: &Script) -> std::result::Result<(), String> {
    while flow.written < script.request.total() {
        let bytes = script.request.at(flow.written, script.max_write);
        match flow.stream.write(bytes) {
            Ok(0) => return Err("the connection accepted no more bytes".to_string()),
            Ok(written) => flow.written += written as u64,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                flow.closed_by_server = ended_by_peer(&err);
                return Err(format!("sending failed: {err}"));
            }
        }
    }
    Ok(())
}

/// Reads everything available and checks it against the expected echo.
fn pump_reads(
    flow: &mut Flow,
    scratch: &mut [u8],
    script: &Script,
) -> std::result::Result<(), String> {
    loop {
        let got = match flow.stream.read(scratch) {
            Ok(0) => {
                flow.finished = true;
                let verdict = closed(flow, script);
                // Early, and not after bytes of another framing (that is a framing mismatch).
                flow.closed_by_server = verdict.is_err()
                    && flow.greeting.as_ref().is_none_or(|greeting| {
                        greeting.is_empty() || payload::is_refusal(script.framing, greeting)
                    });
                return verdict;
            }
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                flow.closed_by_server = ended_by_peer(&err);
                return Err(format!("receiving failed: {err}"));
            }
        };
        let fresh = scratch.get(..got).unwrap_or_default();
        let echo = after_greeting(flow, fresh, script.framing)?;
        if let Some(wrong) = script.reply.first_difference(flow.received, echo) {
            return Err(payload::describe_wrong(echo, wrong, flow.received));
        }
        flow.received += echo.len() as u64;
    }
}

/// In line and length framing the server speaks first. Collects its greeting and checks it;
/// returns the bytes of `fresh` that follow it (the start of the echo), none while it is incomplete.
fn after_greeting<'a>(
    flow: &mut Flow,
    fresh: &'a [u8],
    framing: Framing,
) -> std::result::Result<&'a [u8], String> {
    let Some(greeting) = flow.greeting.as_mut() else {
        return Ok(fresh);
    };
    let before = greeting.len();
    greeting.extend_from_slice(fresh);
    // A refusal in place of `WELCOME` (`ERROR server full ...`): the server turned us away.
    flow.closed_by_server = payload::is_refusal(framing, greeting);
    match payload::greeting_len(framing, greeting)? {
        None => Ok(&[]),
        Some(len) => {
            flow.greeting = None;
            Ok(fresh.get(len.saturating_sub(before)..).unwrap_or_default())
        }
    }
}

/// A reset or broken pipe: the server closed the connection (with unread data, or before we
/// wrote), which is how a server that refuses a client without a word looks from here.
fn ended_by_peer(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// The server closed the connection: fine once everything has come back, an error before.
fn closed(flow: &Flow, script: &Script) -> std::result::Result<(), String> {
    if let Some(greeting) = &flow.greeting {
        return Err(format!(
            "the server closed the connection before its greeting was complete; it sent `{}`",
            payload::show(greeting)
        ));
    }
    if flow.received < script.reply.total() {
        return Err(format!(
            "the server closed the connection after {} of the {} bytes of the echo",
            flow.received,
            script.reply.total()
        ));
    }
    Ok(())
}
