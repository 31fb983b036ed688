//! # Seeing the bytes on the wire
//!
//! A protocol is easiest to understand by looking at exactly what crosses the network. With
//! `--trace`, every lab prints each chunk it sends or receives: the direction, the peer, the byte
//! count and a hex + ASCII dump, like a tiny Wireshark. You can see the 4-byte length prefix of
//! `length` framing, the `\r\n` telnet adds, or two messages arriving in one read.
//!
//! Trace lines go to standard error so they never mix with a program's normal output on standard
//! output (scripts can still parse `listening on ...`). Long chunks are shortened to their first
//! [`DUMP_LIMIT`] bytes.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

/// Bytes shown in a dump before the rest is summarized.
pub const DUMP_LIMIT: usize = 64;

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

/// Prints traffic when enabled; costs one branch when not.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tracer {
    enabled: bool,
}

impl Tracer {
    /// A tracer that prints when `enabled` (the `--trace` flag).
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// Is tracing on?
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records bytes sent to or received from `peer`.
    pub fn bytes(&self, direction: Direction, peer: SocketAddr, bytes: &[u8]) {
        if self.enabled {
            write_trace(&format_chunk(direction, peer, bytes));
        }
    }

    /// Records a connection event ("accepted", "closed", "data channel opened").
    pub fn event(&self, peer: SocketAddr, what: &str) {
        if self.enabled {
            // Built first and written in one piece, so other output cannot split the line.
            let line = format!("[TRACE] {peer} {what}\n");
            write_trace(&line);
        }
    }
}

/// Writes trace text (whole lines) to standard error, or above the input line while a
/// full-screen [`crate::console`] is open: the terminal is the console's then, and a line
/// written to it directly would land in the middle of what the user is typing.
fn write_trace(text: &str) {
    let mut lines = text.lines();
    if let Some(first) = lines.next()
        && crate::console::print_line(first)
    {
        for line in lines {
            crate::console::print_line(line);
        }
        return;
    }
    eprint!("{text}");
}

/// A stream wrapper that traces every successful `read` and `write` as it happens, so blocking
/// code shows the real chunks on the wire (two messages in one read, a frame split in two).
#[derive(Debug)]
pub struct Traced<S> {
    inner: S,
    peer: SocketAddr,
    tracer: Tracer,
}

impl<S> Traced<S> {
    /// Wraps `inner`, a connection to `peer`.
    pub fn new(inner: S, peer: SocketAddr, tracer: Tracer) -> Self {
        Self {
            inner,
            peer,
            tracer,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Read> Read for Traced<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = self.inner.read(buf)?;
        if got > 0 {
            self.tracer.bytes(
                Direction::Received,
                self.peer,
                buf.get(..got).unwrap_or_default(),
            );
        }
        Ok(got)
    }
}

impl<S: Write> Write for Traced<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let sent = self.inner.write(buf)?;
        self.tracer.bytes(
            Direction::Sent,
            self.peer,
            buf.get(..sent).unwrap_or_default(),
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
    let arrow = match direction {
        Direction::Sent => "->",
        Direction::Received => "<-",
    };
    let noun = if bytes.len() == 1 { "byte" } else { "bytes" };
    let mut out = format!("[TRACE] {arrow} {peer}  {} {noun}\n", bytes.len());
    out.push_str(&hex_dump(bytes, DUMP_LIMIT));
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

    /// The header names direction, peer and size.
    #[test]
    fn header_line() {
        let peer: SocketAddr = ([127, 0, 0, 1], 5555).into();
        let text = format_chunk(Direction::Received, peer, b"x");
        assert!(text.starts_with("[TRACE] <- 127.0.0.1:5555  1 byte\n"));
    }
}
