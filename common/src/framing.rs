//! # Framing: where does one message end and the next begin?
//!
//! TCP gives you a *byte stream*, not a sequence of messages. If a client calls `write(b"hello")`
//! and then `write(b"world")`, the server may see one `read` of `helloworld`, or `hel` then
//! `loworld`, or any other split: TCP promises the bytes arrive in order, never where the writer's
//! boundaries were. A protocol that needs messages must mark the boundaries itself. That marking is
//! called *framing*, and this module offers three kinds so students can compare them:
//!
//! | framing  | on the wire                          | good for                                   |
//! |----------|--------------------------------------|--------------------------------------------|
//! | `raw`    | just the bytes, no boundaries        | RFC 862 echo, file streams                 |
//! | `line`   | text, each message ends with `\n`    | humans with `nc`/telnet (SMTP, FTP, IRC)   |
//! | `length` | 4-byte big-endian length, then bytes | binary payloads that may contain `\n`     |
//!
//! `line` framing cannot carry a payload that contains `\n`; `length` framing can carry anything
//! but a human cannot type it. "Indicate how long they are" is the socket HOWTO's advice for
//! exactly this reason.
//!
//! ## A maximum frame length, checked before anything is allocated
//! A length prefix comes from the network, so it is hostile input: a peer can send `FF FF FF FF`
//! and claim a 4 GiB message. A decoder that allocates what the header asks for can be made to eat
//! all memory with four bytes. Every decoder here knows a maximum (default
//! [`DEFAULT_MAX_FRAME`], 4096 bytes) and rejects a longer frame *as soon as it can tell*: for
//! `length` that is right after the header, for `line` it is when more than the maximum has
//! arrived without a newline. The [`FrameDecoder`] never buffers more than one maximum frame.
//!
//! ## Three layers
//! - [`decode`] is a pure function over a byte slice. It answers "here is a whole frame and how
//!   many bytes it used", "need more bytes" (the *normal* case on a stream, not an error), or
//!   "this is invalid". Pure means it is easy to test, including with property tests.
//! - [`FrameDecoder`] keeps the bytes that have arrived so far and hands out whole frames. An event
//!   loop (the `mio` engine) feeds it whatever a non-blocking read produced, in any split.
//! - [`FrameReader`] and [`write_frame`] are blocking helpers over `Read`/`Write`, for code that
//!   gives each connection its own thread.
#![warn(clippy::indexing_slicing)]

use std::io::{self, Read, Write};

use crate::error::Error;

/// The largest payload a frame may carry unless a lab says otherwise.
pub const DEFAULT_MAX_FRAME: usize = 4096;

/// Bytes in the length prefix of `length` framing: a `u32`, big-endian ("network byte order").
pub const LENGTH_PREFIX_LEN: usize = 4;

/// How messages are delimited on a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Framing {
    /// No boundaries: whatever bytes arrived form the "message" (RFC 862 echo).
    Raw,
    /// Newline-terminated text; a `\r` before the `\n` is tolerated (telnet sends `\r\n`).
    Line,
    /// A 4-byte big-endian length, then exactly that many payload bytes.
    Length,
}

impl Framing {
    /// The name as typed on the command line (`raw`, `line`, `length`).
    pub fn name(self) -> &'static str {
        match self {
            Framing::Raw => "raw",
            Framing::Line => "line",
            Framing::Length => "length",
        }
    }

    /// The most bytes of framing that can surround one payload in the decoder's buffer.
    /// For `line` that is `\r\n`; for `length` the 4-byte prefix.
    pub fn max_overhead(self) -> usize {
        match self {
            Framing::Raw => 0,
            Framing::Line => 2,
            Framing::Length => LENGTH_PREFIX_LEN,
        }
    }

    /// Appends `payload`, framed, to `out`.
    ///
    /// Building the whole frame in one buffer and writing it with one call matters: writing the
    /// 4-byte prefix and the payload separately gives Nagle's algorithm two small writes to hold
    /// back (see docs/tcp-echo.md).
    pub fn encode(self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        match self {
            Framing::Raw => out.extend_from_slice(payload),
            Framing::Line => {
                if payload.contains(&b'\n') {
                    return Err(FrameError::NewlineInLine);
                }
                out.extend_from_slice(payload);
                out.push(b'\n');
            }
            Framing::Length => {
                let len = u32::try_from(payload.len()).map_err(|_| FrameError::TooLarge {
                    len: payload.len(),
                    max: u32::MAX as usize,
                })?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(payload);
            }
        }
        Ok(())
    }

    /// Convenience: the framed bytes of one payload as a new vector.
    pub fn encode_to_vec(self, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::with_capacity(payload.len() + self.max_overhead());
        self.encode(payload, &mut out)?;
        Ok(out)
    }
}

/// Why a frame was rejected. Each message says what a student would check next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A length prefix announced more bytes than the limit allows.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Length the peer announced.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// More than the limit arrived without a newline.
    #[error("line longer than the {max}-byte limit (no newline within {max} bytes)")]
    LineTooLong {
        /// The limit in force.
        max: usize,
    },
    /// `line` framing cannot carry a payload that itself contains `\n`.
    #[error("a message sent with line framing cannot contain a newline; use length framing")]
    NewlineInLine,
}

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole frame: its payload, and how many buffer bytes (payload plus framing) it used.
    Frame {
        /// The message, without framing bytes.
        payload: &'a [u8],
        /// Bytes to drop from the front of the buffer.
        consumed: usize,
    },
    /// The buffer holds only part of a frame. On a stream this is normal: read more.
    NeedMore,
}

/// Looks for one frame at the start of `buf`. Pure: no I/O, no allocation, no panics.
pub fn decode(framing: Framing, buf: &[u8], max: usize) -> Result<Decoded<'_>, FrameError> {
    match framing {
        Framing::Raw => Ok(decode_raw(buf, max)),
        Framing::Line => decode_line(buf, max),
        Framing::Length => decode_length(buf, max),
    }
}

/// Raw framing has no boundaries, so "a frame" is whatever is buffered, up to the limit.
fn decode_raw(buf: &[u8], max: usize) -> Decoded<'_> {
    let take = buf.len().min(max);
    match buf.get(..take) {
        Some(payload) if take > 0 => Decoded::Frame {
            payload,
            consumed: take,
        },
        _ => Decoded::NeedMore,
    }
}

fn decode_line(buf: &[u8], max: usize) -> Result<Decoded<'_>, FrameError> {
    let Some(newline_at) = buf.iter().position(|&byte| byte == b'\n') else {
        // No newline yet. `max` bytes plus a `\r` could still be a valid line; anything longer
        // cannot, so say so now instead of buffering without bound.
        return if buf.len() > max + 1 {
            Err(FrameError::LineTooLong { max })
        } else {
            Ok(Decoded::NeedMore)
        };
    };
    let line = buf.get(..newline_at).unwrap_or_default();
    let payload = line.strip_suffix(b"\r").unwrap_or(line);
    if payload.len() > max {
        return Err(FrameError::LineTooLong { max });
    }
    Ok(Decoded::Frame {
        payload,
        consumed: newline_at + 1,
    })
}

fn decode_length(buf: &[u8], max: usize) -> Result<Decoded<'_>, FrameError> {
    let Some((prefix, rest)) = buf.split_first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Ok(Decoded::NeedMore);
    };
    // `u32` to `usize` cannot fail on the 32- and 64-bit targets Rust supports for std networking.
    let len = usize::try_from(u32::from_be_bytes(*prefix)).unwrap_or(usize::MAX);
    // The check that protects memory: refuse before waiting for (or allocating) the payload.
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    match rest.get(..len) {
        Some(payload) => Ok(Decoded::Frame {
            payload,
            consumed: LENGTH_PREFIX_LEN + len,
        }),
        None => Ok(Decoded::NeedMore),
    }
}

/// Collects bytes as they arrive and hands out whole frames.
///
/// Its buffer never grows past one maximum frame plus its framing ([`Self::capacity_limit`]):
/// [`Self::feed`] accepts only what fits and says how much it took, so the caller decodes the
/// frames it has before feeding the rest. After an error the decoder must not be used again: the
/// stream has lost its place and the connection should be closed.
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    max_frame: usize,
    /// Bytes received; `buf[start..]` are the ones not yet handed out as frames.
    buf: Vec<u8>,
    start: usize,
}

impl FrameDecoder {
    /// A decoder for `framing` that accepts payloads of at most `max_frame` bytes.
    pub fn new(framing: Framing, max_frame: usize) -> Self {
        Self {
            framing,
            max_frame,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The framing this decoder expects.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The most bytes the decoder will ever hold: one maximum frame and its framing.
    pub fn capacity_limit(&self) -> usize {
        self.max_frame.saturating_add(self.framing.max_overhead())
    }

    /// Bytes received but not yet returned as a frame (a frame in progress).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The last `count` bytes received (for tracing what one read brought in).
    pub fn tail(&self, count: usize) -> &[u8] {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        pending
            .get(pending.len().saturating_sub(count)..)
            .unwrap_or_default()
    }

    /// Room left before the buffer is full.
    pub fn space(&self) -> usize {
        self.capacity_limit().saturating_sub(self.buffered())
    }

    /// Bytes of memory the buffer holds (for tests that check the bound).
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Copies as many of `bytes` as fit and returns how many that was. Call
    /// [`Self::next_frame`] until it returns `None`, then feed the rest.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        self.make_room();
        let take = bytes.len().min(self.space());
        self.buf
            .extend_from_slice(bytes.get(..take).unwrap_or_default());
        take
    }

    /// Reads once from `reader` straight into the free part of the buffer. `Ok(0)` means the peer
    /// closed its side, or the buffer is full (check [`Self::space`]).
    pub fn read_from<R: Read>(&mut self, reader: &mut R) -> io::Result<usize> {
        self.make_room();
        let filled = self.buf.len();
        let limit = filled + self.space();
        self.buf.resize(limit, 0);
        let result = reader.read(self.buf.get_mut(filled..).unwrap_or_default());
        let got = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(filled + got);
        result
    }

    /// The next whole frame, `Ok(None)` if only part of one has arrived, or why the bytes are
    /// not a valid frame.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        match decode(self.framing, pending, self.max_frame)? {
            Decoded::NeedMore => Ok(None),
            Decoded::Frame { payload, consumed } => {
                let frame = payload.to_vec();
                self.start += consumed;
                Ok(Some(frame))
            }
        }
    }

    /// Moves unconsumed bytes to the front and reserves the whole (bounded) buffer once, so later
    /// appends never reallocate or grow past the limit.
    fn make_room(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let limit = self.capacity_limit();
        if self.buf.capacity() < limit {
            self.buf.reserve_exact(limit - self.buf.len());
        }
    }
}

/// Reads whole frames from a blocking reader (a `TcpStream` in a thread-per-client server).
#[derive(Debug)]
pub struct FrameReader<R> {
    reader: R,
    decoder: FrameDecoder,
}

impl<R: Read> FrameReader<R> {
    /// Wraps `reader`; frames over `max_frame` bytes are refused.
    pub fn new(reader: R, framing: Framing, max_frame: usize) -> Self {
        Self {
            reader,
            decoder: FrameDecoder::new(framing, max_frame),
        }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// Blocks until one whole frame has arrived.
    ///
    /// `Ok(None)` means the peer closed the connection cleanly between frames. A close in the
    /// middle of a frame is [`Error::PeerClosedMidFrame`]: the sender gave up or crashed.
    pub fn read_frame(&mut self) -> Result<Option<Vec<u8>>, Error> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(Some(frame));
            }
            let got = self
                .decoder
                .read_from(&mut self.reader)
                .map_err(|err| Error::io("reading from the connection", err))?;
            if got == 0 {
                return match self.decoder.buffered() {
                    0 => Ok(None),
                    buffered => Err(Error::PeerClosedMidFrame { buffered }),
                };
            }
        }
    }
}

/// Frames `payload` and writes it with a single `write_all`.
///
/// `write_all` exists because one `write` may accept only part of the buffer (the socket's send
/// buffer was nearly full); it keeps calling `write` with the rest until every byte is handed over.
pub fn write_frame<W: Write>(
    writer: &mut W,
    framing: Framing,
    payload: &[u8],
) -> Result<(), Error> {
    let frame = framing.encode_to_vec(payload)?;
    writer
        .write_all(&frame)
        .map_err(|err| Error::io("writing to the connection", err))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn frames_of(framing: Framing, wire: &[u8]) -> Vec<Vec<u8>> {
        let mut decoder = FrameDecoder::new(framing, 16);
        let mut out = Vec::new();
        let mut rest = wire;
        while !rest.is_empty() {
            let took = decoder.feed(rest);
            rest = &rest[took..];
            while let Some(frame) = decoder.next_frame().unwrap() {
                out.push(frame);
            }
        }
        out
    }

    /// A length prefix larger than the limit is refused from the 4 header bytes alone.
    #[test]
    fn length_prefix_over_limit_is_refused_before_payload() {
        let wire = [0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            decode(Framing::Length, &wire, 4096),
            Err(FrameError::TooLarge {
                len: u32::MAX as usize,
                max: 4096
            })
        );
    }

    /// Three bytes of a four-byte header is "need more", not an error.
    #[test]
    fn partial_header_needs_more() {
        assert_eq!(
            decode(Framing::Length, &[0, 0, 0], 16),
            Ok(Decoded::NeedMore)
        );
    }

    /// `\r\n` line endings (telnet, Windows) decode to the same payload as `\n`.
    #[test]
    fn line_tolerates_crlf() {
        assert_eq!(
            frames_of(Framing::Line, b"hi\r\nyo\n"),
            vec![b"hi".to_vec(), b"yo".to_vec()]
        );
    }

    /// A line of exactly the limit is fine; one byte more is refused once it cannot be a line.
    #[test]
    fn line_limit_is_exact() {
        let ok = [b'a'; 16];
        let mut wire = ok.to_vec();
        wire.push(b'\n');
        assert_eq!(frames_of(Framing::Line, &wire), vec![ok.to_vec()]);
        let too_long = [b'a'; 18];
        assert_eq!(
            decode(Framing::Line, &too_long, 16),
            Err(FrameError::LineTooLong { max: 16 })
        );
    }

    /// Encoding then decoding returns the payload, for every framing.
    #[test]
    fn encode_decode_round_trip() {
        for framing in [Framing::Line, Framing::Length] {
            let wire = framing.encode_to_vec(b"hello").unwrap();
            assert_eq!(frames_of(framing, &wire), vec![b"hello".to_vec()]);
        }
        assert_eq!(
            Framing::Length.encode_to_vec(b"hi").unwrap(),
            vec![0, 0, 0, 2, b'h', b'i']
        );
    }

    /// A payload containing a newline cannot be line-framed.
    #[test]
    fn newline_cannot_be_line_framed() {
        assert_eq!(
            Framing::Line.encode_to_vec(b"a\nb"),
            Err(FrameError::NewlineInLine)
        );
    }

    /// The blocking reader reports a close in the middle of a frame, and a clean close as None.
    #[test]
    fn reader_distinguishes_clean_close_from_mid_frame() {
        let mut clean = FrameReader::new(&b"one\n"[..], Framing::Line, 16);
        assert_eq!(clean.read_frame().unwrap(), Some(b"one".to_vec()));
        assert!(clean.read_frame().unwrap().is_none());

        let mut cut = FrameReader::new(&[0u8, 0, 0, 9, b'x'][..], Framing::Length, 16);
        assert!(matches!(
            cut.read_frame(),
            Err(Error::PeerClosedMidFrame { buffered: 5 })
        ));
    }
}
