//! # Seeing the bytes on the wire
//!
//! A protocol is easiest to understand by looking at exactly what crosses the network. With
//! `--trace`, every lab prints each chunk it sends or receives: the direction, the peer, the byte
//! count and a hex + ASCII dump, like a tiny Wireshark. You can see the 4-byte length prefix of
//! `length` framing, the `\r\n` telnet adds, or two messages arriving in one read.
//!
//! Trace lines go to standard error so they never mix with a program's normal output on standard
//! output (scripts can still parse `listening on ...`). Long chunks are shortened to their first
//! [`DUMP_LIMIT`] bytes; `--trace-bytes N` shows the first N instead, `--trace-bytes all` whole
//! chunks.
//!
//! The same [`Tracer`] also feeds `--trace-json` ([`crate::trace_json`]): every chunk becomes
//! one JSON line with both addresses and the time, for a ladder diagram. A lab may give the
//! tracer a [`Describe`] function that names what a chunk holds (a frame kind, a command), so
//! the diagram's arrows say more than "17 bytes".

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::trace_json::{Described, EventKind, JsonTrace, Stamp, TraceEvent};

/// Bytes shown in a dump before the rest is summarized (without `--trace-bytes`).
pub const DUMP_LIMIT: usize = 64;

/// How much of each chunk a dump shows (`--trace-bytes N|all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpLimit {
    /// The first N bytes, then a count of the rest.
    Bytes(usize),
    /// Every byte.
    All,
}

impl Default for DumpLimit {
    fn default() -> Self {
        DumpLimit::Bytes(DUMP_LIMIT)
    }
}

impl DumpLimit {
    /// Parses `--trace-bytes`: a byte count or `all`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.trim().eq_ignore_ascii_case("all") {
            return Ok(DumpLimit::All);
        }
        crate::cli::parse_bytes(text)
            .ok()
            .and_then(|bytes| usize::try_from(bytes).ok())
            .map(DumpLimit::Bytes)
            .ok_or_else(|| format!("`{text}` is neither a byte count (64, 4K) nor `all`"))
    }

    /// At most how many bytes to show.
    pub fn bytes(self) -> usize {
        match self {
            DumpLimit::Bytes(limit) => limit,
            DumpLimit::All => usize::MAX,
        }
    }
}

/// A lab's description of a chunk it sent or received, for `--trace-json` (a pure function of
/// the bytes: it assumes the chunk starts where a message starts, which holds for every write
/// the labs make and for most reads).
pub type Describe = fn(&[u8]) -> Described;

/// Sockets that can say their own address, so a trace names both ends.
pub trait LocalAddr {
    /// This end's address, if the OS tells it.
    fn local_addr_or_none(&self) -> Option<SocketAddr>;
}

impl LocalAddr for TcpStream {
    fn local_addr_or_none(&self) -> Option<SocketAddr> {
        self.local_addr().ok()
    }
}

impl<T: LocalAddr + ?Sized> LocalAddr for &T {
    fn local_addr_or_none(&self) -> Option<SocketAddr> {
        (**self).local_addr_or_none()
    }
}

/// Bytes per dump row, as in `hexdump -C`.
const ROW: usize = 16;

/// Which way the bytes went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// We wrote them.
    Sent,
    /// We read them.
    Received,
}

/// Prints traffic when enabled (`--trace`), records it when a JSON file is open
/// (`--trace-json`); costs one branch each when not.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tracer {
    enabled: bool,
    limit: DumpLimit,
    json: Option<JsonTrace>,
    describe: Option<Describe>,
}

impl Tracer {
    /// A tracer that prints when `enabled` (the `--trace` flag).
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    /// Dumps show `limit` bytes of each chunk (`--trace-bytes`).
    pub fn with_limit(mut self, limit: DumpLimit) -> Self {
        self.limit = limit;
        self
    }

    /// Also records every chunk in `json` (`--trace-json`).
    pub fn with_json(mut self, json: Option<JsonTrace>) -> Self {
        self.json = json;
        self
    }

    /// Names what each chunk holds in the JSON trace.
    pub fn describing(mut self, describe: Describe) -> Self {
        self.describe = Some(describe);
        self
    }

    /// Is tracing on?
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The JSON trace, if `--trace-json` is on, for a lab's own events (FTP's commands).
    pub fn json(&self) -> Option<JsonTrace> {
        self.json
    }

    /// Records bytes sent to or received from `peer`.
    pub fn bytes(&self, direction: Direction, peer: SocketAddr, bytes: &[u8]) {
        self.chunk(direction, None, peer, bytes);
    }

    /// Records bytes sent to or received from `peer` by our end at `local`.
    pub fn chunk(
        &self,
        direction: Direction,
        local: Option<SocketAddr>,
        peer: SocketAddr,
        bytes: &[u8],
    ) {
        self.chunk_at(direction, local, peer, bytes, None);
    }

    /// [`Tracer::chunk`] for bytes that moved at `stamp` (`None`: now), as a send stamped
    /// before its `write` call.
    pub fn chunk_at(
        &self,
        direction: Direction,
        local: Option<SocketAddr>,
        peer: SocketAddr,
        bytes: &[u8],
        stamp: Option<Stamp>,
    ) {
        if self.enabled {
            crate::term::trace_text(&format_chunk_limited(direction, peer, bytes, self.limit));
        }
        if let Some(json) = self.json {
            let kind = match direction {
                Direction::Sent => EventKind::Send,
                Direction::Received => EventKind::Receive,
            };
            let described = self.describe.map(|describe| describe(bytes));
            let mut event = TraceEvent::new(kind, local, Some(peer))
                .with_bytes(bytes.len())
                .with_described(described.unwrap_or_default());
            if let Some(stamp) = stamp {
                event = event.at(stamp);
            }
            json.record(&event);
        }
    }

    /// Records that the peer closed its side (a read returned 0 bytes: TCP's FIN arrived).
    pub fn peer_closed(&self, local: Option<SocketAddr>, peer: SocketAddr) {
        if let Some(json) = self.json {
            json.record(
                &TraceEvent::new(EventKind::Close, local, Some(peer))
                    .with_direction(Direction::Received)
                    .with_summary("FIN (peer closed)"),
            );
        }
    }

    /// Records a connection event ("accepted", "closed", "data channel opened").
    pub fn event(&self, peer: SocketAddr, what: &str) {
        if self.enabled {
            // Built first and written in one piece, so other output cannot split the line.
            let line = format!("[TRACE] {peer} {what}\n");
            crate::term::trace_text(&line);
        }
    }
}

/// A stream wrapper that traces every successful `read` and `write` as it happens, so blocking
/// code shows the real chunks on the wire (two messages in one read, a frame split in two).
#[derive(Debug)]
pub struct Traced<S> {
    inner: S,
    local: Option<SocketAddr>,
    peer: SocketAddr,
    tracer: Tracer,
}

impl<S: LocalAddr> Traced<S> {
    /// Wraps `inner`, a connection to `peer`.
    pub fn new(inner: S, peer: SocketAddr, tracer: Tracer) -> Self {
        let local = inner.local_addr_or_none();
        Self {
            inner,
            local,
            peer,
            tracer,
        }
    }
}

impl<S> Traced<S> {
    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Read> Read for Traced<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = self.inner.read(buf)?;
        if got > 0 {
            self.tracer.chunk(
                Direction::Received,
                self.local,
                self.peer,
                buf.get(..got).unwrap_or_default(),
            );
        } else if !buf.is_empty() {
            self.tracer.peer_closed(self.local, self.peer);
        }
        Ok(got)
    }
}

impl<S: Write> Write for Traced<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Stamped before the call: see `TraceEvent::at`.
        let started = self.tracer.json.as_ref().map(|_| Stamp::now());
        let sent = self.inner.write(buf)?;
        self.tracer.chunk_at(
            Direction::Sent,
            self.local,
            self.peer,
            buf.get(..sent).unwrap_or_default(),
            started,
        );
        Ok(sent)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One traced chunk: a header line and the dump, e.g.
///
/// ```text
/// [TRACE] -> 127.0.0.1:5555  6 bytes
///         0000  68 65 6c 6c 6f 0a                                 |hello.|
/// ```
pub fn format_chunk(direction: Direction, peer: SocketAddr, bytes: &[u8]) -> String {
    format_chunk_limited(direction, peer, bytes, DumpLimit::default())
}

/// [`format_chunk`] showing at most `limit` bytes of the dump.
pub fn format_chunk_limited(
    direction: Direction,
    peer: SocketAddr,
    bytes: &[u8],
    limit: DumpLimit,
) -> String {
    let arrow = match direction {
        Direction::Sent => "->",
        Direction::Received => "<-",
    };
    let noun = if bytes.len() == 1 { "byte" } else { "bytes" };
    let mut out = format!("[TRACE] {arrow} {peer}  {} {noun}\n", bytes.len());
    out.push_str(&hex_dump(bytes, limit.bytes()));
    out
}

/// A `hexdump -C` style dump of at most `limit` bytes, each row indented by 8 spaces.
pub fn hex_dump(bytes: &[u8], limit: usize) -> String {
    let shown = bytes.get(..limit).unwrap_or(bytes);
    let mut out = String::new();
    for (row_index, row) in shown.chunks(ROW).enumerate() {
        let _ = write!(out, "        {:04x}  ", row_index * ROW);
        for column in 0..ROW {
            match row.get(column) {
                Some(byte) => {
                    let _ = write!(out, "{byte:02x} ");
                }
                None => out.push_str("   "),
            }
        }
        out.push('|');
        out.extend(row.iter().map(|&byte| printable(byte)));
        out.push_str("|\n");
    }
    if bytes.len() > shown.len() {
        let _ = writeln!(
            out,
            "        ... {} more bytes not shown",
            bytes.len() - shown.len()
        );
    }
    out
}

/// The byte as an ASCII character if it is printable, else `.` (so control bytes and escape
/// sequences from the peer are never sent to our terminal).
fn printable(byte: u8) -> char {
    if byte.is_ascii_graphic() || byte == b' ' {
        char::from(byte)
    } else {
        '.'
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The dump shows hex and ASCII side by side, with control bytes as dots.
    #[test]
    fn dump_row_layout() {
        let dump = hex_dump(b"hi\n\x1b[2J", 64);
        assert_eq!(
            dump,
            "        0000  68 69 0a 1b 5b 32 4a                            |hi..[2J|\n"
        );
    }

    /// Long chunks are cut at the limit and the rest is counted.
    #[test]
    fn long_chunk_is_shortened() {
        let dump = hex_dump(&[0u8; 100], 32);
        assert_eq!(dump.lines().count(), 3);
        assert!(dump.ends_with("... 68 more bytes not shown\n"));
    }

    /// `--trace-bytes all` shows every row; the default stops at 64 bytes; `N` at N.
    #[test]
    fn dump_limit_from_flag() {
        let peer: SocketAddr = ([127, 0, 0, 1], 5555).into();
        let chunk = [b'x'; 100];
        let whole = format_chunk_limited(Direction::Sent, peer, &chunk, DumpLimit::All);
        assert_eq!(whole.lines().count(), 1 + 7);
        assert!(!whole.contains("not shown"));
        let default = format_chunk(Direction::Sent, peer, &chunk);
        assert!(default.ends_with("... 36 more bytes not shown\n"));
        let limited = DumpLimit::parse("16").unwrap();
        let first_row = format_chunk_limited(Direction::Sent, peer, &chunk, limited);
        assert!(first_row.ends_with("... 84 more bytes not shown\n"));
        assert_eq!(DumpLimit::parse("ALL"), Ok(DumpLimit::All));
        assert!(DumpLimit::parse("lots").is_err());
    }

    /// The header names direction, peer and size.
    #[test]
    fn header_line() {
        let peer: SocketAddr = ([127, 0, 0, 1], 5555).into();
        let text = format_chunk(Direction::Received, peer, b"x");
        assert!(text.starts_with("[TRACE] <- 127.0.0.1:5555  1 byte\n"));
    }
}
