//! # The bench's payload: what a load generator sends, and what must come back, in each framing
//!
//! A benchmark makes up its own messages: they are its *payload* (in the glossary of
//! `netlab_common`'s crate doc, *wire* is a lab's real message format; the echo lab's is
//! [`netlab_common::framing`] plus [`crate::protocol`]). `tcp-echo bench` talks to an echo server
//! in any of the three framings, and checks every byte that comes back. In `raw` framing the
//! server is RFC 862: the bytes come back unchanged. In `line` and `length` framing our server
//! runs the small protocol of [`crate::protocol`]: it speaks first (`WELCOME Client01`) and
//! answers every message `m` with the frame `ACK m`. So for a payload `p`:
//!
//! | framing  | the client sends | the server sends back  | framing bytes per message, each way |
//! |----------|------------------|------------------------|-------------------------------------|
//! | `raw`    | `p`              | `p`                    | 0                                   |
//! | `line`   | `p` `\n`         | `ACK ` `p` `\n`        | 1 (the `\n`)                        |
//! | `length` | `len(p)` `p`     | `len(4+p)` `ACK ` `p`  | 4 (the big-endian length)           |
//!
//! The four bytes of `ACK ` in every reply are the echo *protocol*, not framing, so reports count
//! them separately ([`ack_bytes`]); the greeting is sent once per connection and counts as
//! neither.
//!
//! ## The payloads
//! Payloads are cut from a fixed pattern, so a byte that comes back in the wrong place is caught:
//! - `raw` and `length` carry any byte: the pattern is `0, 1, 2, ..., 250, 0, 1, ...`. Its period,
//!   251, is a prime, so it never lines up with power-of-two buffer sizes. It contains `\n` (10),
//!   which is fine: neither framing gives that byte a meaning.
//! - `line` cannot carry a `\n` inside a message ([`netlab_common::FrameError::NewlineInLine`]),
//!   so its pattern is printable text, `!` to `y` (89 characters, a prime again). It has no `\n`,
//!   no `\r` (which the line decoder would strip from a line's end), and no spaces.
//!
//! Either way a payload is a run of consecutive byte values, so it can never read `status` or
//! `exit`, the two words the server treats as commands instead of messages.

use netlab_common::framing::{self, Decoded, Framing, LENGTH_PREFIX_LEN};
use netlab_common::{FrameError, Result};

/// What the server puts in front of each echoed message in line and length framing.
pub const ACK_PREFIX: &[u8] = b"ACK ";

/// How the server's greeting starts; the rest is the client's name.
pub const GREETING_PREFIX: &[u8] = b"WELCOME ";

/// The longest greeting accepted (`WELCOME Client01` is 16 bytes; this leaves room for any name).
pub const GREETING_MAX: usize = 256;

/// Period of the binary pattern (`raw`, `length`): a prime, see the module docs.
const BINARY_PERIOD: u64 = 251;

/// Period of the printable pattern (`line`): `!` (0x21) up to `y` (0x79), a prime number of bytes.
const TEXT_PERIOD: u64 = 89;

/// Framing bytes added to each message in each direction: 0, 1 or 4.
pub fn overhead_bytes(framing: Framing) -> usize {
    match framing {
        Framing::Raw => 0,
        Framing::Line => 1,
        Framing::Length => LENGTH_PREFIX_LEN,
    }
}

/// Protocol bytes (`ACK `) the server adds to each reply: none in raw framing, 4 otherwise.
pub fn ack_bytes(framing: Framing) -> usize {
    match framing {
        Framing::Raw => 0,
        Framing::Line | Framing::Length => ACK_PREFIX.len(),
    }
}

/// Byte number `index` of the endless payload pattern for `framing`.
pub fn pattern_byte(framing: Framing, index: u64) -> u8 {
    // Both results are below 256, so the conversions cannot truncate.
    match framing {
        Framing::Line => b'!' + (index % TEXT_PERIOD) as u8,
        Framing::Raw | Framing::Length => (index % BINARY_PERIOD) as u8,
    }
}

/// `len` bytes of the pattern, starting at byte `start` of it.
pub fn cut(framing: Framing, start: u64, len: usize) -> Vec<u8> {
    (start..start + len as u64)
        .map(|index| pattern_byte(framing, index))
        .collect()
}

/// The bytes the client writes for one message.
pub fn request(framing: Framing, payload: &[u8]) -> std::result::Result<Vec<u8>, FrameError> {
    framing.encode_to_vec(payload)
}

/// The exact bytes our server sends back for one message: the payload itself in raw framing,
/// otherwise the frame `ACK payload`.
pub fn reply(framing: Framing, payload: &[u8]) -> std::result::Result<Vec<u8>, FrameError> {
    match framing {
        Framing::Raw => Ok(payload.to_vec()),
        Framing::Line | Framing::Length => framing.encode_to_vec(&ack_payload(payload)),
    }
}

/// `ACK ` followed by `payload`: what a decoded reply frame must hold.
pub fn ack_payload(payload: &[u8]) -> Vec<u8> {
    let mut ack = Vec::with_capacity(ACK_PREFIX.len() + payload.len());
    ack.extend_from_slice(ACK_PREFIX);
    ack.extend_from_slice(payload);
    ack
}

/// Looks for the server's greeting at the start of `received` (line and length framing only).
///
/// `Ok(None)`: not all of it has arrived yet. `Ok(Some(n))`: the greeting is the first `n` bytes.
/// `Err`: these bytes are not a greeting in this framing, in words a student can act on; the
/// usual cause is a server started with a different `--framing`.
pub fn greeting_len(
    framing: Framing,
    received: &[u8],
) -> std::result::Result<Option<usize>, String> {
    match framing::decode(framing, received, GREETING_MAX) {
        Ok(Decoded::NeedMore) => Ok(None),
        Ok(Decoded::Frame { payload, consumed }) if payload.starts_with(GREETING_PREFIX) => {
            Ok(Some(consumed))
        }
        Ok(Decoded::Frame { .. }) => Err(format!(
            "expected the server's greeting `WELCOME <name>` first, got `{}`",
            show(received)
        )),
        Err(err) => Err(format!(
            "the server's first bytes are not a {} frame ({err}): `{}`",
            framing.name(),
            show(received)
        )),
    }
}

/// Whether `received` starts with a whole `ERROR ...` frame where the greeting should be: the
/// server refused the connection (`ERROR server full ...`) and will close it.
pub fn is_refusal(framing: Framing, received: &[u8]) -> bool {
    matches!(
        framing::decode(framing, received, GREETING_MAX),
        Ok(Decoded::Frame { payload, .. }) if payload.starts_with(b"ERROR ")
    )
}

/// Up to 120 bytes, escaped so that every byte prints as visible ASCII (`\n`, `\x00`, ...): bytes
/// from a peer must never reach the terminal raw (see `netlab_common::term`).
pub fn show(bytes: &[u8]) -> String {
    const SHOWN: usize = 120;
    let mut text = String::new();
    for &byte in bytes.iter().take(SHOWN) {
        match byte {
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            b'\\' => text.push_str("\\\\"),
            b' '..=b'~' => text.push(char::from(byte)),
            other => text.push_str(&format!("\\x{other:02x}")),
        }
    }
    if bytes.len() > SHOWN {
        text.push_str("...");
    }
    text
}

/// Describes a wrong byte at index `wrong` of `received` (one read's worth), showing the bytes
/// from the start of the read when the wrong one is near it, so a header is seen whole.
pub fn describe_wrong(received: &[u8], wrong: usize, stream_offset: u64) -> String {
    let from = if wrong < 16 { 0 } else { wrong };
    format!(
        "the echo is not what was sent (byte {} of the echo is wrong); {} `{}`",
        stream_offset + wrong as u64,
        if from == 0 {
            "the server sent"
        } else {
            "from there the server sent"
        },
        show(received.get(from..).unwrap_or_default())
    )
}

/// A byte stream made of one unit repeated: `total` bytes of `unit, unit, unit, ...`.
///
/// A ping-pong message is one unit sent once; a stream is the same framed message (or, in raw
/// framing, the 251-byte pattern) over and over. The unit is stored repeated a few times, so any
/// window of the stream up to `window` bytes long is one contiguous slice: one `write` call, one
/// comparison, no copying.
#[derive(Debug, Clone)]
pub struct Repeating {
    unit_len: usize,
    bytes: Vec<u8>,
    total: u64,
}

impl Repeating {
    /// `total` bytes of `unit` repeated, readable in slices of up to `window` bytes.
    pub fn new(unit: &[u8], total: u64, window: usize) -> Result<Self> {
        if unit.is_empty() {
            return Err(netlab_common::Error::Usage(
                "a message must have at least one byte".to_string(),
            ));
        }
        let copies = if total <= unit.len() as u64 {
            1
        } else {
            window.div_ceil(unit.len()) + 1
        };
        Ok(Self {
            unit_len: unit.len(),
            bytes: unit.repeat(copies),
            total,
        })
    }

    /// Bytes in the whole stream.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes in one unit.
    pub fn unit_len(&self) -> usize {
        self.unit_len
    }

    /// The stream's bytes from `offset` on: at most `max`, never past the end. Empty at the end.
    pub fn at(&self, offset: u64, max: usize) -> &[u8] {
        let start = (offset % self.unit_len as u64) as usize;
        let left = self.total.saturating_sub(offset);
        let len = max.min(usize::try_from(left).unwrap_or(usize::MAX));
        let available = self.bytes.get(start..).unwrap_or_default();
        available.get(..len).unwrap_or(available)
    }

    /// Compares `received` with the stream from `offset` on. `None`: every byte is as expected.
    /// `Some(i)`: byte `i` of `received` is wrong, or lies beyond the end of the stream.
    pub fn first_difference(&self, offset: u64, received: &[u8]) -> Option<usize> {
        let mut checked = 0;
        while checked < received.len() {
            let rest = received.get(checked..).unwrap_or_default();
            let expected = self.at(offset + checked as u64, rest.len());
            if expected.is_empty() {
                return Some(checked); // more bytes than were ever sent
            }
            if let Some(at) = expected
                .iter()
                .zip(rest)
                .position(|(want, got)| want != got)
            {
                return Some(checked + at);
            }
            checked += expected.len();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// What the server sends back is exactly `ACK ` plus the payload, framed; raw is untouched.
    #[test]
    fn replies_match_the_server_protocol() {
        assert_eq!(reply(Framing::Raw, b"hi").unwrap(), b"hi");
        assert_eq!(reply(Framing::Line, b"hi").unwrap(), b"ACK hi\n");
        assert_eq!(
            reply(Framing::Length, b"hi").unwrap(),
            b"\x00\x00\x00\x06ACK hi"
        );
        for framing in [Framing::Raw, Framing::Line, Framing::Length] {
            let sent = request(framing, b"hi").unwrap();
            assert_eq!(sent.len(), 2 + overhead_bytes(framing), "{framing:?}");
            let back = reply(framing, b"hi").unwrap();
            let extra = overhead_bytes(framing) + ack_bytes(framing);
            assert_eq!(back.len(), 2 + extra, "{framing:?}");
        }
    }

    /// The line pattern is printable, has no newline, carriage return or space, so every cut of
    /// it is a valid line that the server will not mistake for `status` or `exit`.
    #[test]
    fn line_pattern_is_safe_text() {
        let text = cut(Framing::Line, 0, 1000);
        assert!(text.iter().all(|byte| byte.is_ascii_graphic()));
        assert!(request(Framing::Line, &text).is_ok());
        let binary = cut(Framing::Raw, 0, 300);
        assert!(binary.contains(&b'\n'));
        assert_eq!(binary.get(251), Some(&0));
    }

    /// The greeting is recognized when whole, awaited when partial, refused when it is not one.
    #[test]
    fn greeting_is_recognized() {
        assert_eq!(
            greeting_len(Framing::Line, b"WELCOME Client01\nACK"),
            Ok(Some(17))
        );
        assert_eq!(greeting_len(Framing::Line, b"WELCOME Cli"), Ok(None));
        assert!(greeting_len(Framing::Line, b"!\"#$\n").is_err());
        // A line server's greeting read as a length prefix announces a huge frame.
        let err = greeting_len(Framing::Length, b"WELCOME Client01\n").unwrap_err();
        assert!(err.contains("not a length frame"), "{err}");
    }

    /// Any window of a repeating stream is one slice, and differences are found where they are.
    #[test]
    fn repeating_stream_windows() {
        let stream = Repeating::new(b"abc", 10, 4).unwrap();
        assert_eq!(stream.at(0, 4), b"abca");
        assert_eq!(stream.at(8, 4), b"ca");
        assert_eq!(stream.at(10, 4), b"");
        assert_eq!(stream.first_difference(2, b"cabcabca"), None);
        assert_eq!(stream.first_difference(2, b"cabXab"), Some(3));
        assert_eq!(stream.first_difference(8, b"cab"), Some(2));
        let once = Repeating::new(b"hello", 5, 1 << 20).unwrap();
        assert_eq!(once.at(1, 100), b"ello");
    }

    /// Escaped bytes never contain control characters.
    #[test]
    fn shown_bytes_are_escaped() {
        assert_eq!(show(b"a\nb\x00\"\x1b"), "a\\nb\\x00\"\\x1b");
        assert!(show(&[b'x'; 200]).ends_with("..."));
    }
}
