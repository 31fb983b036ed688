//! # `--trace-json`: a run recorded for a ladder diagram
//!
//! A **ladder diagram** (a *sequence diagram*, or *message sequence chart*) is how RFCs and
//! textbooks draw a protocol: one vertical line per endpoint, time going down, and one arrow per
//! message from the sender's line to the receiver's. The slant of an arrow is the time the
//! message spent in the network; an arrow that ends in a cross is a message that was lost; a
//! second arrow with the same label further down is a retransmission.
//!
//! ```text
//!   127.0.0.1:40000          127.0.0.1:7075
//!         |  DATA seq=1          |
//!         |--------------------X |      lost
//!   (RTO) |  DATA seq=1 RETRANSMIT
//!         |--------------------->|
//!         |<---------------------|  ACK ack=2
//! ```
//!
//! To draw one from a real run, every endpoint writes what it saw, one JSON object per line
//! ("JSON Lines"), with `--trace-json FILE`; `netlab-ladder` (in `scripts/ladder`) merges the
//! files of both ends and draws the diagram. Each event needs:
//!
//! - **time**, to place it on the vertical axis and slant the arrow. Two clocks are written:
//!   `time_us`, the wall clock in microseconds since the Unix epoch, which two programs on the
//!   same machine share, so the files of both ends of a conversation line up (on two machines
//!   they line up as well as the machines' clocks agree: NTP keeps them within a millisecond or
//!   so); and `mono_us`, microseconds since this file was opened on the monotonic clock, which
//!   never jumps when the wall clock is adjusted, so gaps *within* one file (an RTO, its
//!   backoff) are exact.
//! - **direction** (`event` and `dir`), so a sent datagram is an arrow's tail and a received
//!   one its head.
//! - **both addresses** (`local` and `peer`): the lifelines are addresses, and it is the
//!   address pair that says which of the other file's events is this one's other end. (`local`
//!   is `null` where the program cannot know it: a UDP socket bound to `0.0.0.0` receives on
//!   whichever address the datagram was sent to.)
//!
//! ## The schema (one object per line, fields in this order)
//!
//! | field | meaning |
//! |---|---|
//! | `time_us` | wall clock, µs since 1970-01-01 UTC |
//! | `mono_us` | monotonic clock, µs since the file was opened |
//! | `lab` | which program wrote it: `tcp-echo`, `tcp-chat`, `udp-chat`, `ftp`, `game` |
//! | `transport` | `tcp` (a byte stream: chunks need not match messages) or `udp` (datagrams) |
//! | `event` | `send`, `receive`, `drop`, `timer`, `open`, `close` (see [`EventKind`]) |
//! | `dir` | `out` or `in`: which way the bytes went (absent for `timer`) |
//! | `local`, `peer` | `IP:PORT` of this end and of the other end |
//! | `bytes` | bytes in the chunk or datagram (absent when no bytes moved) |
//! | `hash` | datagrams only: 64-bit FNV-1a of the first 64 bytes in hex, to pair a send with its receive |
//! | `summary` | one line for a human, e.g. `DATA seq=3 ack=1 len=5` or `RETR notes.txt` |
//! | `retransmit` | present and `true` when the datagram is a resend |
//! | `fields` | the lab's own fields (below); `{}` when there are none |
//!
//! Lab fields: udp-chat `type`, `seq`, `ack`, `len`, `frag_index`, `frag_count`, `fault`;
//! FTP `command` and `argument` (control connection, client to server), `reply` (the code,
//! server to client), `channel` (`control` or `data`); tcp-chat `kind` (pair and duplex
//! frames) or `keyword` (the room's line); echo `framing`; the game `keyword` and `move`.
//!
//! ## Cost
//! A trace must not change what it measures much, so events go through a [`BufWriter`] and are
//! written in 64 KiB pieces, never flushed per line. A background thread flushes every
//! [`FLUSH_EVERY`] (so a program killed by Ctrl-C loses at most that much), and
//! [`flush_all`] runs when the program ends (`term::finish`). A write that fails is reported
//! once on standard error, and the trace stops; the program goes on.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::trace::Direction;
use crate::{Error, Result, term};

/// How often buffered events are written out by the background thread.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// What happened. `send`/`receive` are bytes handed to or taken from the network; the rest
/// are what a ladder needs besides bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// We sent bytes (`dir` out).
    Send,
    /// We received bytes (`dir` in).
    Receive,
    /// Bytes that were lost on purpose: udp-chat's fault injector dropped a datagram we sent
    /// (`dir` out) or one that arrived (`dir` in), or our socket buffer was full.
    Drop,
    /// A timer expired (udp-chat's retransmission timeout).
    Timer,
    /// A connection was opened (an FTP data connection, ...).
    Open,
    /// A connection was closed (`dir` in: the peer closed it; out: we did).
    Close,
}

impl EventKind {
    /// Every kind, in the order the schema lists them.
    pub const ALL: [EventKind; 6] = [
        EventKind::Send,
        EventKind::Receive,
        EventKind::Drop,
        EventKind::Timer,
        EventKind::Open,
        EventKind::Close,
    ];

    /// The word written in the `event` field.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Send => "send",
            EventKind::Receive => "receive",
            EventKind::Drop => "drop",
            EventKind::Timer => "timer",
            EventKind::Open => "open",
            EventKind::Close => "close",
        }
    }

    /// The kind an `event` field names (what a reader of traces, the ladder renderer, needs).
    pub fn from_name(word: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == word)
    }
}

/// Byte stream or datagrams: the renderer pairs sends with receives differently for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP: a receive may hold part of a send or several sends.
    Tcp,
    /// UDP: one send is one receive (or none, or two when duplicated).
    Udp,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// A lab's own fields of an event, e.g. `{"type": "DATA", "seq": 3}`.
pub type Fields = Map<String, Value>;

/// A one-line summary and the lab's fields for a chunk of bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Described {
    /// One line for a human.
    pub summary: String,
    /// The lab's fields.
    pub fields: Fields,
}

/// One event to record. Build it with [`TraceEvent::new`] and the `with_*` methods.
#[derive(Clone, Debug)]
pub struct TraceEvent {
    kind: EventKind,
    direction: Option<Direction>,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    bytes: Option<usize>,
    hash: Option<u64>,
    retransmit: bool,
    described: Described,
    /// When it happened, if not "now" (see [`TraceEvent::at`]).
    stamp: Option<Stamp>,
}

/// A moment on both clocks the schema records.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    wall: SystemTime,
    mono: Instant,
}

impl Stamp {
    /// Now.
    pub fn now() -> Self {
        Self {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }
}

impl TraceEvent {
    /// An event of `kind` between `local` and `peer`; its direction follows from the kind
    /// (`Send` out, `Receive` in) until [`TraceEvent::with_direction`] says otherwise.
    pub fn new(kind: EventKind, local: Option<SocketAddr>, peer: Option<SocketAddr>) -> Self {
        let direction = match kind {
            EventKind::Send => Some(Direction::Sent),
            EventKind::Receive => Some(Direction::Received),
            _ => None,
        };
        Self {
            kind,
            direction,
            local,
            peer,
            bytes: None,
            hash: None,
            retransmit: false,
            described: Described::default(),
            stamp: None,
        }
    }

    /// Happened at `stamp` rather than when recorded. A send is stamped before the `write`
    /// call: `write` may return after the peer has already read the bytes (on loopback, the
    /// other process can run first), and a send stamped after its receive would draw its arrow
    /// going up the ladder.
    pub fn at(mut self, stamp: Stamp) -> Self {
        self.stamp = Some(stamp);
        self
    }

    /// Which way the bytes went.
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = Some(direction);
        self
    }

    /// `count` bytes moved.
    pub fn with_bytes(mut self, count: usize) -> Self {
        self.bytes = Some(count);
        self
    }

    /// A datagram: its size and the [`fnv1a`] hash of its first [`HASHED_BYTES`] bytes (the
    /// header and the start of the payload tell datagrams apart; hashing all of a 1 KiB
    /// datagram cost a microsecond each, as much as sending it).
    pub fn with_datagram(mut self, datagram: &[u8]) -> Self {
        self.bytes = Some(datagram.len());
        self.hash = Some(fnv1a(datagram.get(..HASHED_BYTES).unwrap_or(datagram)));
        self
    }

    /// Marks a resent datagram.
    pub fn with_retransmit(mut self, retransmit: bool) -> Self {
        self.retransmit = retransmit;
        self
    }

    /// The summary and lab fields.
    pub fn with_described(mut self, described: Described) -> Self {
        self.described = described;
        self
    }

    /// Just a summary.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.described.summary = summary.into();
        self
    }

    /// One lab field.
    pub fn with_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.described.fields.insert(name.to_string(), value.into());
        self
    }
}

/// How much of a datagram [`TraceEvent::with_datagram`] hashes.
pub const HASHED_BYTES: usize = 64;

/// 64-bit FNV-1a (Fowler–Noll–Vo), a fast hash that is plenty to tell datagrams apart: the
/// renderer pairs a sent datagram with a received one by equal hash, in order. Not
/// cryptographic (nobody attacks a trace).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// Line protocols (the chat room, the game): the first line shown (sanitized, shortened), and
/// fields `keyword` (its first word) and `lines` (complete lines in the chunk).
pub fn describe_lines(bytes: &[u8]) -> Described {
    let text = String::from_utf8_lossy(bytes);
    let first = text.lines().next().unwrap_or_default();
    let lines = bytes.iter().filter(|&&byte| byte == b'\n').count();
    let mut summary = shortened(first);
    if lines > 1 {
        summary.push_str(&format!(" (+{} lines)", lines - 1));
    }
    let mut fields = Fields::new();
    if let Some(keyword) = first.split_whitespace().next() {
        fields.insert("keyword".into(), term::sanitize(keyword).into());
    }
    fields.insert("lines".into(), lines.into());
    Described { summary, fields }
}

/// What `framing` frames are in a chunk (tcp-echo): `framing`, and for `length` the first
/// frame's `length`; the summary is the first message's text.
pub fn describer_for(framing: crate::Framing) -> crate::trace::Describe {
    match framing {
        crate::Framing::Raw => describe_raw,
        crate::Framing::Line => describe_line_framed,
        crate::Framing::Length => describe_length_framed,
    }
}

fn describe_raw(bytes: &[u8]) -> Described {
    let mut fields = Fields::new();
    fields.insert("framing".into(), "raw".into());
    Described {
        summary: shortened(&String::from_utf8_lossy(bytes)),
        fields,
    }
}

fn describe_line_framed(bytes: &[u8]) -> Described {
    let mut described = describe_lines(bytes);
    described.fields.remove("keyword");
    described.fields.insert("framing".into(), "line".into());
    described
}

fn describe_length_framed(bytes: &[u8]) -> Described {
    let mut fields = Fields::new();
    fields.insert("framing".into(), "length".into());
    let Some((prefix, body)) = bytes.split_first_chunk::<4>() else {
        return Described {
            summary: format!("{} bytes (part of a frame)", bytes.len()),
            fields,
        };
    };
    let length = u32::from_be_bytes(*prefix);
    fields.insert("length".into(), length.into());
    let shown = body.get(..length as usize).unwrap_or(body);
    Described {
        summary: format!(
            "length={length} {}",
            shortened(&String::from_utf8_lossy(shown))
        ),
        fields,
    }
}

/// At most [`SUMMARY_CHARS`] characters of `text`, sanitized for a terminal, `…` when cut.
pub fn shortened(text: &str) -> String {
    let text = term::sanitize(text.trim_end_matches(['\r', '\n']));
    match text.char_indices().nth(SUMMARY_CHARS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text,
    }
}

/// The longest text in a summary, in characters.
pub const SUMMARY_CHARS: usize = 48;

/// An open `--trace-json` file: cheap to copy, shared by every thread of the program.
///
/// The file lives as long as the program (it is leaked on purpose, once per `--trace-json`),
/// which is what lets [`crate::Tracer`] stay `Copy` and every connection thread hold it without
/// reference counting.
#[derive(Clone, Copy, Debug)]
pub struct JsonTrace {
    file: &'static TraceFile,
}

#[derive(Debug)]
struct TraceFile {
    path: PathBuf,
    lab: &'static str,
    transport: Transport,
    opened: Instant,
    out: Mutex<Output>,
}

#[derive(Debug)]
struct Output {
    writer: BufWriter<File>,
    /// Events written since the last flush.
    dirty: bool,
    /// A write failed (reported once): nothing more is written.
    failed: bool,
}

/// Every trace file this program opened, for [`flush_all`] and the flushing thread.
static OPEN_FILES: Mutex<Vec<&'static TraceFile>> = Mutex::new(Vec::new());

impl JsonTrace {
    /// Creates (or truncates) `path` and starts recording `lab`'s events into it.
    pub fn create(path: &Path, lab: &'static str, transport: Transport) -> Result<Self> {
        let created = File::create(path).map_err(|err| {
            Error::Usage(format!(
                "--trace-json {}: cannot create: {err}",
                path.display()
            ))
        })?;
        let file: &'static TraceFile = Box::leak(Box::new(TraceFile {
            path: path.to_path_buf(),
            lab,
            transport,
            opened: Instant::now(),
            out: Mutex::new(Output {
                writer: BufWriter::with_capacity(64 * 1024, created),
                dirty: false,
                failed: false,
            }),
        }));
        let mut open = OPEN_FILES.lock().unwrap_or_else(PoisonError::into_inner);
        if open.is_empty() {
            start_flushing_thread();
        }
        open.push(file);
        Ok(Self { file })
    }

    /// Appends one event (buffered).
    pub fn record(&self, event: &TraceEvent) {
        let mut out = self.file.lock();
        if out.failed {
            return;
        }
        match self.file.write_line(&mut out.writer, event) {
            Ok(()) => out.dirty = true,
            Err(err) => self.file.give_up(&mut out, &err),
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&self) {
        self.file.flush();
    }
}

impl TraceFile {
    fn lock(&self) -> std::sync::MutexGuard<'_, Output> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn flush(&self) {
        let mut out = self.lock();
        if out.dirty && !out.failed {
            out.dirty = false;
            if let Err(err) = out.writer.flush() {
                self.give_up(&mut out, &err);
            }
        }
    }

    /// Reports a failed write once and stops recording.
    fn give_up(&self, out: &mut Output, err: &std::io::Error) {
        out.failed = true;
        term::warn(format!(
            "--trace-json {}: cannot write ({err}); no more events are recorded",
            self.path.display()
        ));
    }

    /// Writes one event as a JSON line, field by field straight into the buffer: building a
    /// `serde_json::Value` first would allocate every key and value again for each event, which
    /// made tracing several times slower (udp-chat bench). Strings go through serde_json, so
    /// they are always escaped correctly.
    fn write_line(&self, out: &mut impl Write, event: &TraceEvent) -> std::io::Result<()> {
        let stamp = event.stamp.unwrap_or_else(Stamp::now);
        let wall = stamp.wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        write!(
            out,
            "{{\"time_us\":{},\"mono_us\":{},\"lab\":",
            micros(wall),
            micros(stamp.mono.saturating_duration_since(self.opened))
        )?;
        serde_json::to_writer(&mut *out, self.lab)?;
        write!(
            out,
            ",\"transport\":\"{}\",\"event\":\"{}\"",
            self.transport.name(),
            event.kind.name()
        )?;
        if let Some(direction) = event.direction {
            let dir = match direction {
                Direction::Sent => "out",
                Direction::Received => "in",
            };
            write!(out, ",\"dir\":\"{dir}\"")?;
        }
        for (name, addr) in [("local", event.local), ("peer", event.peer)] {
            match addr {
                Some(addr) => write!(out, ",\"{name}\":\"{addr}\"")?,
                None => write!(out, ",\"{name}\":null")?,
            }
        }
        if let Some(bytes) = event.bytes {
            write!(out, ",\"bytes\":{bytes}")?;
        }
        if let Some(hash) = event.hash {
            write!(out, ",\"hash\":\"{hash:016x}\"")?;
        }
        out.write_all(b",\"summary\":")?;
        serde_json::to_writer(&mut *out, &event.described.summary)?;
        if event.retransmit {
            out.write_all(b",\"retransmit\":true")?;
        }
        out.write_all(b",\"fields\":")?;
        serde_json::to_writer(&mut *out, &event.described.fields)?;
        out.write_all(b"}\n")
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Writes out every open trace file's buffer. Called when the program ends
/// (`term::finish`) and by the flushing thread.
pub fn flush_all() {
    let open: Vec<&'static TraceFile> = OPEN_FILES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for file in open {
        file.flush();
    }
}

/// A thread that flushes every [`FLUSH_EVERY`], so a program stopped by Ctrl-C (which may end
/// without running any more of our code) leaves a file that ends at most that long before.
fn start_flushing_thread() {
    let started = std::thread::Builder::new()
        .name("trace-json flush".into())
        .spawn(|| {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flush_all();
            }
        });
    if let Err(err) = started {
        term::warn(format!(
            "--trace-json: cannot start the flushing thread ({err}); the file is written when \
             the program ends"
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every kind's word reads back as that kind, and nothing else does.
    #[test]
    fn kind_names_read_back() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(EventKind::from_name("SEND"), None);
    }

    /// An event stamped earlier (a send, stamped before its `write`) is written with that time,
    /// not the time it was recorded; an unstamped one gets the time it is recorded.
    #[test]
    fn stamped_events_keep_their_time() {
        let dir = std::env::temp_dir().join(format!("netlab-trace-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stamp.jsonl");
        let trace = JsonTrace::create(&path, "tcp-echo", Transport::Tcp).unwrap();
        let before_write = Stamp::now();
        let between = micros(SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
        trace.record(&TraceEvent::new(EventKind::Send, None, None).at(before_write));
        trace.record(&TraceEvent::new(EventKind::Receive, None, None));
        trace.flush();
        let times: Vec<u64> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line).unwrap()["time_us"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert!(times[0] <= between, "{times:?} vs {between}");
        assert!(times[1] >= between, "{times:?} vs {between}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A line protocol's chunk is named by its first word; a length frame by its prefix.
    #[test]
    fn chunks_are_described() {
        let room = describe_lines(b"MSG ada hello\nJOIN bob\n");
        assert_eq!(room.summary, "MSG ada hello (+1 lines)");
        assert_eq!(room.fields["keyword"], "MSG");
        assert_eq!(room.fields["lines"], 2);
        let framed = describer_for(crate::Framing::Length)(b"\0\0\0\x02hi");
        assert_eq!(framed.summary, "length=2 hi");
        assert_eq!(framed.fields["length"], 2);
        assert_eq!(
            shortened(&"x".repeat(60)).chars().count(),
            SUMMARY_CHARS + 1
        );
    }

    /// FNV-1a's published test vectors (the empty string and "a").
    #[test]
    fn fnv1a_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    /// An event is one line with the schema's fields in order, and reaches the file on flush.
    #[test]
    fn one_line_per_event_in_schema_order() {
        let dir = std::env::temp_dir().join(format!("netlab-trace-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("unit.jsonl");
        let trace = JsonTrace::create(&path, "udp-chat", Transport::Udp).unwrap();
        let local: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:2000".parse().unwrap();
        trace.record(
            &TraceEvent::new(EventKind::Drop, Some(local), Some(peer))
                .with_direction(Direction::Sent)
                .with_datagram(b"a")
                .with_retransmit(true)
                .with_summary("DATA seq=1")
                .with_field("seq", 1),
        );
        trace.record(&TraceEvent::new(EventKind::Timer, Some(local), Some(peer)));
        trace.flush();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let keys: Vec<&str> = lines[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "time_us",
                "mono_us",
                "lab",
                "transport",
                "event",
                "dir",
                "local",
                "peer",
                "bytes",
                "hash",
                "summary",
                "retransmit",
                "fields"
            ]
        );
        assert_eq!(lines[0]["event"], "drop");
        assert_eq!(lines[0]["dir"], "out");
        assert_eq!(lines[0]["hash"], "af63dc4c8601ec8c");
        assert_eq!(lines[0]["fields"]["seq"], 1);
        assert_eq!(lines[1]["event"], "timer");
        assert!(lines[1].get("dir").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
