//! # The same measurement over TCP, for comparison (`udp-chat bench --arq tcp`)
//!
//! Everything this lab builds by hand (sequence numbers, acknowledgements, retransmission with an
//! adaptive timer, in-order delivery) TCP does inside the kernel. To compare the two fairly, the
//! TCP run sends the same messages, stamped the same way, under the same rule: at most `--window`
//! messages may be sent and not yet delivered, so a message never waits in a queue behind
//! others and the latency is the network's and the retransmissions', as in the UDP runs. The
//! messages travel as length-prefixed frames (TCP is a byte stream: without a length the
//! receiver could not tell where one message ends), over one connection on loopback, with
//! `TCP_NODELAY` as a chat wants (Nagle's algorithm would hold small messages back).
//!
//! The fault injector lives inside this program and works on datagrams; it cannot touch TCP's
//! segments, which the kernel sends. So a TCP run is made only with every fault flag at zero,
//! and loss for TCP must come from the network itself: `scripts/compare-protocols` runs the
//! bench in a network namespace whose loopback drops packets, so TCP and UDP face the same loss.
//!
//! The kernel's own counters tell what TCP did (Linux, `/proc`, for the network namespace the
//! program runs in): `RetransSegs` from `/proc/net/snmp` (segments retransmitted) and bytes from
//! `/proc/net/dev` (every packet, IP and TCP headers included): over loopback, what `lo`
//! transmitted (each packet crosses it once, whichever way it goes); with the receiver in another
//! namespace ([`super::netns`]), what the link interfaces of ours sent *and* received (received
//! counts before the loss rule drops a packet, so a lost packet still counts as sent). They count
//! the whole namespace: other traffic during the run would be counted too.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use netlab_common::Error;
use netlab_common::accept::spawn_named;
use netlab_common::framing::{FrameReader, Framing};
use netlab_common::stats::percentile;

use super::netns::{self, PeerNamespace};

/// What a TCP run measured.
#[derive(Clone, Debug, Default)]
pub struct TcpMeasured {
    /// Distinct messages delivered (TCP delivers each once, in order, or reports an error).
    pub delivered: usize,
    /// Each message's latency, sorted.
    pub latencies: Vec<Duration>,
    /// From the first write to the last delivery.
    pub elapsed: Duration,
    /// Segments the kernel retransmitted during the run, where the platform tells.
    pub retransmitted_segments: Option<u64>,
    /// Bytes the kernel sent over loopback during the run (IP and TCP headers included), where
    /// the platform tells.
    pub wire_bytes: Option<u64>,
}

impl TcpMeasured {
    /// Median and 99th percentile latency.
    pub fn p50_p99(&self) -> (Duration, Duration) {
        (
            percentile(&self.latencies, 50),
            percentile(&self.latencies, 99),
        )
    }
}

/// Sends `messages` messages of `size` bytes over one loopback TCP connection, at most `window`
/// undelivered at a time, and measures their delivery. Gives up after `timeout`. The receiving
/// end listens on loopback, or in `peer_netns`.
pub fn run(
    messages: usize,
    size: usize,
    window: usize,
    timeout: Duration,
    peer_netns: Option<&PeerNamespace>,
) -> Result<TcpMeasured, Error> {
    let bind = |addr: SocketAddr| {
        TcpListener::bind(addr).map_err(|err| Error::io("binding the TCP bench listener", err))
    };
    let listener = match peer_netns {
        Some(peer) => netns::in_namespace(&peer.name, || bind(peer.bind_addr()))?,
        None => bind(SocketAddr::from(([127, 0, 0, 1], 0)))?,
    };
    let addr = listener
        .local_addr()
        .map_err(|err| Error::io("reading the listener address", err))?;
    let over_link = peer_netns.is_some();
    let before = KernelCounters::read(over_link);
    let base = Instant::now();
    let delivered = Arc::new(AtomicUsize::new(0));
    let receiver = {
        let delivered = Arc::clone(&delivered);
        spawn_named("tcp receiver", move || {
            receive(&listener, messages, size, base, &delivered)
        })?
    };
    let mut stream =
        TcpStream::connect(addr).map_err(|err| Error::connecting(addr.to_string(), err))?;
    stream
        .set_nodelay(true)
        .map_err(|err| Error::io("setting TCP_NODELAY", err))?;
    let started = Instant::now();
    let deadline = started + timeout;
    let mut frame = Vec::with_capacity(size + 4);
    for index in 0..messages {
        // The same rule as the UDP runs: no more than a window's worth undelivered.
        while index >= delivered.load(Ordering::Acquire) + window {
            if Instant::now() >= deadline {
                return Err(Error::Failed(format!(
                    "TCP run timed out after {index} of {messages} messages"
                )));
            }
            thread::yield_now();
        }
        frame.clear();
        Framing::Length
            .encode(&stamped(index, size, base), &mut frame)
            .map_err(|err| Error::Failed(format!("cannot frame a message: {err}")))?;
        stream
            .write_all(&frame)
            .map_err(|err| Error::io("sending a message over TCP", err))?;
    }
    // Half-close: the receiver sees the end of the stream after the last message.
    stream
        .shutdown(Shutdown::Write)
        .map_err(|err| Error::io("closing the sending side", err))?;
    let (latencies, last) = receiver
        .join()
        .map_err(|_| Error::Failed("the receiving thread panicked".into()))??;
    let after = KernelCounters::read(over_link);
    let mut latencies = latencies;
    latencies.sort_unstable();
    Ok(TcpMeasured {
        delivered: latencies.len(),
        latencies,
        elapsed: last.map_or(Duration::ZERO, |last| {
            last.saturating_duration_since(started)
        }),
        retransmitted_segments: after
            .retrans_segs
            .zip(before.retrans_segs)
            .map(|(a, b)| a.saturating_sub(b)),
        wire_bytes: after
            .wire_bytes
            .zip(before.wire_bytes)
            .map(|(a, b)| a.saturating_sub(b)),
    })
}

/// Message `index`: its index and its send time since `base` (big-endian u64s), then filler.
fn stamped(index: usize, size: usize, base: Instant) -> Vec<u8> {
    let sent_at = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let mut bytes = Vec::with_capacity(size);
    bytes.extend_from_slice(&(index as u64).to_be_bytes());
    bytes.extend_from_slice(&sent_at.to_be_bytes());
    bytes.resize(size.max(16), b'.');
    bytes
}

type Deliveries = (Vec<Duration>, Option<Instant>);

/// Accepts the one connection and reads frames until the sender's half-close.
fn receive(
    listener: &TcpListener,
    messages: usize,
    size: usize,
    base: Instant,
    delivered: &AtomicUsize,
) -> Result<Deliveries, Error> {
    let (stream, _) = listener
        .accept()
        .map_err(|err| Error::io("accepting the bench connection", err))?;
    let mut frames = FrameReader::new(BufReader::new(stream), Framing::Length, size.max(16));
    let mut latencies = Vec::with_capacity(messages);
    let mut last = None;
    while let Some(frame) = frames.read_frame()? {
        let now = Instant::now();
        let Some(sent_at) = frame.get(8..16).and_then(|b| b.try_into().ok()) else {
            return Err(Error::Failed("a message shorter than its stamp".into()));
        };
        let sent = base + Duration::from_nanos(u64::from_be_bytes(sent_at));
        latencies.push(now.saturating_duration_since(sent));
        last = Some(now);
        delivered.fetch_add(1, Ordering::Release);
    }
    Ok((latencies, last))
}

/// The kernel's counters for this network namespace, where the platform has them.
#[derive(Clone, Copy, Debug, Default)]
struct KernelCounters {
    retrans_segs: Option<u64>,
    wire_bytes: Option<u64>,
}

impl KernelCounters {
    /// `over_link`: the receiver is in another namespace (count the link, not `lo`).
    #[cfg(target_os = "linux")]
    fn read(over_link: bool) -> Self {
        let file = |path| std::fs::read_to_string(path).ok();
        let dev = file("/proc/net/dev");
        Self {
            retrans_segs: file("/proc/net/snmp")
                .and_then(|text| snmp_field(&text, "Tcp:", "RetransSegs")),
            wire_bytes: dev.and_then(|text| {
                if over_link {
                    link_bytes(&text)
                } else {
                    loopback_tx_bytes(&text)
                }
            }),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn read(_over_link: bool) -> Self {
        Self::default()
    }
}

/// `/proc/net/snmp` has two lines per protocol: the field names, then the values.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn snmp_field(snmp: &str, protocol: &str, field: &str) -> Option<u64> {
    let mut lines = snmp.lines().filter(|line| line.starts_with(protocol));
    let names = lines.next()?;
    let values = lines.next()?;
    let column = names.split_whitespace().position(|name| name == field)?;
    values.split_whitespace().nth(column)?.parse().ok()
}

/// `/proc/net/dev`: `lo: rx_bytes rx_packets (6 more rx fields) tx_bytes ...`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn loopback_tx_bytes(dev: &str) -> Option<u64> {
    let line = dev
        .lines()
        .find(|line| line.trim_start().starts_with("lo:"))?;
    let (_, fields) = line.split_once(':')?;
    fields.split_whitespace().nth(8)?.parse().ok()
}

/// `/proc/net/dev`: received plus transmitted bytes of every interface but `lo` (in the bench's
/// namespace: the one end of the veth pair).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn link_bytes(dev: &str) -> Option<u64> {
    let mut total = None;
    for line in dev.lines().skip(2) {
        let Some((name, fields)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<&str> = fields.split_whitespace().collect();
        let rx: u64 = fields.first()?.parse().ok()?;
        let tx: u64 = fields.get(8)?.parse().ok()?;
        total = Some(total.unwrap_or(0) + rx + tx);
    }
    total
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every message arrives once over loopback TCP, and the latencies are all there.
    #[test]
    fn delivers_every_message() {
        let measured = run(200, 100, 8, Duration::from_secs(30), None).unwrap();
        assert_eq!(measured.delivered, 200);
        assert_eq!(measured.latencies.len(), 200);
    }

    /// RetransSegs is read from /proc/net/snmp's Tcp lines, bytes from /proc/net/dev's lo and
    /// link interfaces.
    #[test]
    fn reads_the_kernel_counters_formats() {
        let snmp = "Tcp: RtoAlgorithm RtoMin RetransSegs InErrs\nTcp: 1 200 17 0\n";
        assert_eq!(snmp_field(snmp, "Tcp:", "RetransSegs"), Some(17));
        assert_eq!(snmp_field(snmp, "Udp:", "RetransSegs"), None);
        let dev = "Inter-|   Receive  |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n    lo: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
        assert_eq!(loopback_tx_bytes(dev), Some(2000));
        let veth = format!("{dev}  veth0: 300 3 0 0 0 0 0 0 700 7 0 0 0 0 0 0\n");
        assert_eq!(link_bytes(&veth), Some(1000));
        assert_eq!(link_bytes(dev), None);
    }
}
