//! # The load generator: `tcp-echo bench HOST:PORT`
//!
//! Measures an echo server from the outside, so it works against any RFC 862 echo server, ours or
//! not. It uses raw bytes only: no framing, no greeting.
//!
//! - **Ping-pong** (default): each of `--connections` connections sends one `--size`-byte message
//!   and waits until all of it has come back before sending the next. The time from send to the
//!   last byte back is one *round trip*. Reports round trips per second, p50/p99 latency and the
//!   payload rate.
//! - **Stream** (`--stream BYTES`): each connection sends `BYTES` as fast as the server takes them
//!   while reading the echo at the same time, and reports throughput. Reading concurrently matters:
//!   a client that only writes would fill the server's output, the server would stop reading (see
//!   back-pressure in the engines), and both would wait forever.
//!
//! Every byte that comes back is checked against what was sent, so a server that loses, reorders
//! or invents bytes is reported as errors, not as fast.
//!
//! The generator is one thread with a mio event loop, so it can drive a thousand connections and
//! leaves the other core to the server. On one machine the generator and the server share the
//! CPUs: compare ratios between servers measured the same way, not absolute numbers.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use netlab_common::{Error, Result, net};

/// The checked payload pattern repeats every 251 bytes (a prime, so it never lines up with
/// power-of-two buffer sizes and a misplaced chunk is caught).
const PATTERN_PERIOD: usize = 251;

/// Largest single write in stream mode.
const STREAM_CHUNK: usize = 64 * 1024;

/// After the deadline, how long unfinished round trips may take before they count as errors.
const GRACE: Duration = Duration::from_secs(5);

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// `HOST:PORT` of an echo server in raw framing.
    pub target: String,
    /// Connections open at once.
    pub connections: usize,
    /// Bytes per ping-pong message.
    pub size: usize,
    /// How long to run ping-pong.
    pub duration: Duration,
    /// Stream mode: bytes to send on each connection.
    pub stream_bytes: Option<u64>,
    /// TCP_NODELAY on our side.
    pub nodelay: bool,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// `pingpong` or `stream`.
    pub mode: &'static str,
    /// Connections used.
    pub connections: usize,
    /// Message size (ping-pong) or chunk size (stream).
    pub size: usize,
    /// Wall time measured.
    pub elapsed: Duration,
    /// Completed round trips (ping-pong).
    pub round_trips: u64,
    /// Payload bytes that came back intact.
    pub bytes_echoed: u64,
    /// Median round-trip latency.
    pub p50: Duration,
    /// 99th percentile round-trip latency.
    pub p99: Duration,
    /// Wrong bytes, early closes, unfinished round trips.
    pub errors: u64,
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

    /// One line of JSON, for scripts.
    pub fn to_json(&self) -> String {
        format!(
            concat!(
                "{{\"mode\":\"{}\",\"connections\":{},\"size\":{},\"seconds\":{:.3},",
                "\"round_trips\":{},\"round_trips_per_sec\":{:.1},\"p50_us\":{},\"p99_us\":{},",
                "\"bytes_echoed\":{},\"mb_per_sec\":{:.2},\"errors\":{}}}"
            ),
            self.mode,
            self.connections,
            self.size,
            self.elapsed.as_secs_f64(),
            self.round_trips,
            self.round_trips_per_sec(),
            self.p50.as_micros(),
            self.p99.as_micros(),
            self.bytes_echoed,
            self.megabytes_per_sec(),
            self.errors
        )
    }

    /// A sentence for people.
    pub fn summary(&self) -> String {
        let latency = |value: Duration| format!("{:.3} ms", value.as_secs_f64() * 1e3);
        match self.mode {
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
        }
    }
}

/// One connection's progress through its current message (ping-pong) or its stream.
struct Flow {
    stream: TcpStream,
    /// Bytes of the current message (or the stream) to send in all.
    goal: u64,
    written: u64,
    received: u64,
    sent_at: Instant,
    finished: bool,
}

/// Runs the benchmark described by `config`.
pub fn run(config: &BenchConfig) -> Result<BenchReport> {
    let mut poll = Poll::new().map_err(|err| Error::io("creating the event loop", err))?;
    let goal = config.stream_bytes.unwrap_or(config.size as u64);
    let mut flows = open_flows(config, &poll, goal)?;
    let chunk = match config.stream_bytes {
        Some(_) => STREAM_CHUNK,
        None => config.size,
    };
    let pattern: Vec<u8> = (0..chunk + PATTERN_PERIOD)
        .map(|index| (index % PATTERN_PERIOD) as u8)
        .collect();
    let mut scratch = vec![0u8; 256 * 1024];
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut echoed = 0u64;
    let started = Instant::now();
    let deadline = started + config.duration;
    let ping_pong = config.stream_bytes.is_none();

    for flow in flows.iter_mut() {
        flow.sent_at = Instant::now();
        errors += pump_writes(flow, &pattern, chunk);
    }
    let mut events = Events::with_capacity(1024);
    let mut unfinished = flows.len();
    while unfinished > 0 {
        let now = Instant::now();
        if ping_pong && now > deadline + GRACE {
            errors += unfinished as u64; // round trips that never completed
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .map_err(|err| Error::io("waiting for events", err))?;
        for event in events.iter() {
            let Some(flow) = flows.get_mut(event.token().0) else {
                continue;
            };
            if flow.finished {
                continue;
            }
            errors += pump_writes(flow, &pattern, chunk);
            let (got, bad) = pump_reads(flow, &mut scratch);
            echoed += got;
            errors += bad;
            if bad > 0 || flow.finished {
                flow.finished = true;
                unfinished -= 1;
                continue;
            }
            if flow.received == flow.goal {
                latencies.push(flow.sent_at.elapsed());
                let now = Instant::now();
                if ping_pong && now < deadline {
                    flow.written = 0;
                    flow.received = 0;
                    flow.sent_at = now;
                    errors += pump_writes(flow, &pattern, chunk);
                } else {
                    flow.finished = true;
                    unfinished -= 1;
                }
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(BenchReport {
        mode: if ping_pong { "pingpong" } else { "stream" },
        connections: config.connections,
        size: chunk,
        elapsed,
        round_trips: if ping_pong { latencies.len() as u64 } else { 0 },
        bytes_echoed: echoed,
        p50: netlab_common::stats::percentile(&latencies, 50),
        p99: netlab_common::stats::percentile(&latencies, 99),
        errors,
    })
}

fn open_flows(config: &BenchConfig, poll: &Poll, goal: u64) -> Result<Vec<Flow>> {
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
            goal,
            written: 0,
            received: 0,
            sent_at: Instant::now(),
            finished: false,
        });
    }
    Ok(flows)
}

/// Writes as much of the flow's remaining bytes as the socket takes. Returns errors seen (0/1).
fn pump_writes(flow: &mut Flow, pattern: &[u8], chunk: usize) -> u64 {
    while flow.written < flow.goal {
        let offset = (flow.written % PATTERN_PERIOD as u64) as usize;
        let want = (flow.goal - flow.written).min(chunk as u64) as usize;
        let Some(bytes) = pattern.get(offset..offset + want) else {
            return 1;
        };
        match flow.stream.write(bytes) {
            Ok(written) => flow.written += written as u64,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return 0,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                flow.finished = true;
                return 1;
            }
        }
    }
    0
}

/// Reads everything available and checks it. Returns (good bytes, errors).
fn pump_reads(flow: &mut Flow, scratch: &mut [u8]) -> (u64, u64) {
    let mut good = 0;
    loop {
        match flow.stream.read(scratch) {
            Ok(0) => {
                // The server closed before echoing everything.
                flow.finished = true;
                return (good, u64::from(flow.received < flow.goal));
            }
            Ok(got) => {
                let start = flow.received;
                let intact = scratch.iter().take(got).enumerate().all(|(index, &byte)| {
                    byte == ((start + index as u64) % PATTERN_PERIOD as u64) as u8
                });
                flow.received += got as u64;
                if !intact || flow.received > flow.goal {
                    return (good, 1);
                }
                good += got as u64;
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return (good, 0),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                flow.finished = true;
                return (good, 1);
            }
        }
    }
}

/// Parses a byte count with an optional binary suffix: `4096`, `64K`, `1M`, `1G`.
pub fn parse_bytes(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let (digits, multiplier) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 1u64 << 10),
        Some((at, 'm' | 'M')) => (&text[..at], 1 << 20),
        Some((at, 'g' | 'G')) => (&text[..at], 1 << 30),
        _ => (text, 1),
    };
    let number: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count (examples: 4096, 64K, 1M, 1G)"))?;
    number
        .checked_mul(multiplier)
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| format!("`{text}` must be between 1 byte and 16 EiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte counts accept binary suffixes and refuse nonsense.
    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64K"), Ok(65536));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("0").is_err());
    }
}
