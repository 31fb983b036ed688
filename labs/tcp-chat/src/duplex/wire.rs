//! # The duplex protocol on the wire
//!
//! Like `pair`, every frame is a 4-byte big-endian length, then a kind byte, then a body; the
//! length counts the kind byte and the body. Numbers are big-endian ("network byte order").
//!
//! | kind       | body after the kind byte                                   | direction          |
//! |------------|------------------------------------------------------------|--------------------|
//! | `M` (0x4D) | message text, UTF-8, 1..=4096 bytes (`--max-message`)      | either             |
//! | `F` (0x46) | id `u32`, size `u64`, name (UTF-8, 1..=255 bytes)          | sender -> receiver |
//! | `D` (0x44) | id `u32`, 1..=65536 bytes of the file (`--chunk-size`)     | sender -> receiver |
//! | `E` (0x45) | id `u32`, SHA-256 of the whole file (32 bytes)             | sender -> receiver |
//! | `X` (0x58) | id `u32`, reason (UTF-8): the sender gave up on this file  | sender -> receiver |
//! | `R` (0x52) | id `u32`, ok `u8` (1 yes, 0 no), bytes received `u64`, SHA-256 of them (32 bytes), note (UTF-8: the saved name, or why not) | receiver -> sender |
//! | `Q` (0x51) | empty: "I am leaving"                                      | either             |
//! | `!` (0x21) | reason (UTF-8, 1..=512 bytes): "what you sent breaks the protocol; I am closing" | either |
//!
//! A file travels as `F`, any number of `D`, then `E`; the receiver answers `R`. For example a
//! 3-byte file `abc` sent as transfer 1 is:
//!
//! ```text
//! 00 00 00 12  46  00 00 00 01  00 00 00 00 00 00 00 03  61 2e 74 78 74   F id=1 size=3 "a.txt"
//! 00 00 00 08  44  00 00 00 01  61 62 63                                  D id=1 "abc"
//! 00 00 00 25  45  00 00 00 01  ba 78 16 bf ... (32 bytes)                E id=1 sha256("abc")
//! ```
//!
//! ## Why chunks, and why an end-to-end checksum
//! A file is cut into chunks of at most [`CHUNK`] bytes so that messages can be sent *between*
//! chunks: chat keeps flowing while a large file is in transit, instead of waiting behind it. The
//! receiver never holds more than one chunk in memory.
//!
//! ## Two sizes a user may choose: [`Limits`]
//! The longest message and the chunk size are settings (`--max-message`, `--chunk-size`), not
//! laws of the protocol: the course's seed program capped messages at 1 KB and sent files in
//! 1 KB chunks; the defaults here are 4096 bytes and 64 KiB. Each side enforces its own limits
//! on what it *receives* (the largest frame its reader accepts, and each field's length when
//! decoding) and keeps to them when it *sends*, so two sides started with different sizes find
//! out at the first frame that breaks the receiver's limit: it refuses it with a `!` frame that
//! says so. Nothing is negotiated; both sides must be started with the same sizes.
//!
//! TCP already checksums every segment, so why SHA-256? TCP's checksum is a 16-bit ones'-complement
//! sum (RFC 9293, section 3.1): weak enough that some damaged segments pass it, and it only covers
//! the bytes while TCP carries them. Bytes can still be damaged in memory, on disk, or by a bug in
//! either program, before or after TCP has checked them. Checking the result at the two ends is
//! the *end-to-end argument* (Saltzer, Reed and Clark, 1984). SHA-256 is also what `sha256sum` prints, so you can check by hand.

use crate::files::filename;

/// Longest chat message body, in bytes (the same limit as `pair`).
use crate::wire::MAX_MESSAGE;

use netlab_common::digest::Digest;

/// Most file bytes in one `D` frame.
pub const CHUNK: usize = 64 * 1024;

/// Longest file name in an offer, in bytes (a common file-system limit).
pub const MAX_NAME: usize = filename::MAX_NAME;

/// Longest note in an `R` or `X` frame.
pub const MAX_NOTE: usize = 512;

/// Longest frame payload (after the length prefix) with the default [`Limits`]: a `D` frame
/// with a full chunk.
pub const MAX_PAYLOAD: usize = Limits::DEFAULT.max_payload();

/// The sizes one side keeps to when it sends and enforces when it receives (see the module
/// docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest message body, in bytes (`--max-message`).
    pub max_message: usize,
    /// Most file bytes in one `D` frame (`--chunk-size`).
    pub chunk: usize,
}

impl Limits {
    /// This lab's defaults: [`MAX_MESSAGE`] and [`CHUNK`].
    pub const DEFAULT: Limits = Limits {
        max_message: MAX_MESSAGE,
        chunk: CHUNK,
    };

    /// The course's seed program: 1 KB messages, files in 1 KB chunks.
    pub const SEED: Limits = Limits {
        max_message: 1024,
        chunk: 1024,
    };

    /// The largest payload a frame may have under these limits: the largest of a full `D`
    /// frame, a longest `M`, and the fixed-size frames with their longest text (`R` with a
    /// full note is 558 bytes, so even 1-byte limits leave room for every verdict).
    pub const fn max_payload(&self) -> usize {
        let data = 1 + 4 + self.chunk;
        let message = 1 + self.max_message;
        let offer = 1 + 4 + 8 + MAX_NAME;
        let result = 1 + 4 + 1 + 8 + 32 + MAX_NOTE;
        let mut largest = data;
        if message > largest {
            largest = message;
        }
        if offer > largest {
            largest = offer;
        }
        if result > largest {
            largest = result;
        }
        largest
    }
}

/// One message of the duplex protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A chat message.
    Message(String),
    /// A file is coming.
    Offer {
        /// Transfer id, chosen by the sender.
        id: u32,
        /// Size in bytes.
        size: u64,
        /// The sender's name for it (the receiver must not trust it as a path).
        name: String,
    },
    /// Some bytes of the file.
    Data {
        /// Transfer id.
        id: u32,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// All bytes are sent; this is their SHA-256.
    End {
        /// Transfer id.
        id: u32,
        /// SHA-256 of the whole file.
        digest: Digest,
    },
    /// The sender gave up on this transfer.
    Abort {
        /// Transfer id.
        id: u32,
        /// Why.
        reason: String,
    },
    /// The receiver's verdict.
    Result {
        /// Transfer id.
        id: u32,
        /// Saved intact?
        ok: bool,
        /// Bytes the receiver got.
        received: u64,
        /// SHA-256 of the bytes the receiver got.
        digest: Digest,
        /// The saved name, or why the file was not saved.
        note: String,
    },
    /// The sender is leaving.
    Quit,
    /// The sender is closing because of something the peer sent; says why.
    Refusal(String),
}

/// Why a payload is not a valid duplex frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A frame needs at least its kind byte.
    #[error("empty frame (no kind byte)")]
    Empty,
    /// The kind byte is unknown.
    #[error("unknown frame kind 0x{0:02x}")]
    UnknownKind(u8),
    /// The body is shorter than its fixed fields, or a field has an impossible value.
    #[error("malformed {0} frame")]
    Malformed(&'static str),
    /// Text that must be UTF-8 is not.
    #[error("{0} frame carries text that is not UTF-8")]
    NotText(&'static str),
    /// A text or byte field is empty or over its limit.
    #[error("{what} of {len} bytes; the limit is {max}")]
    BadLength {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl Frame {
    /// The frame's payload (kind byte and body), without the length prefix.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Frame::Message(text) => {
                out.push(b'M');
                out.extend_from_slice(text.as_bytes());
            }
            Frame::Offer { id, size, name } => {
                out.push(b'F');
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&size.to_be_bytes());
                out.extend_from_slice(name.as_bytes());
            }
            Frame::Data { id, bytes } => {
                out.reserve(5 + bytes.len());
                out.push(b'D');
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(bytes);
            }
            Frame::End { id, digest } => {
                out.push(b'E');
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(digest);
            }
            Frame::Abort { id, reason } => {
                out.push(b'X');
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(reason.as_bytes());
            }
            Frame::Result {
                id,
                ok,
                received,
                digest,
                note,
            } => {
                out.push(b'R');
                out.extend_from_slice(&id.to_be_bytes());
                out.push(u8::from(*ok));
                out.extend_from_slice(&received.to_be_bytes());
                out.extend_from_slice(digest);
                out.extend_from_slice(note.as_bytes());
            }
            Frame::Quit => out.push(b'Q'),
            Frame::Refusal(reason) => {
                out.push(b'!');
                out.extend_from_slice(reason.as_bytes());
            }
        }
        out
    }

    /// Parses a payload (length prefix already removed) under the default [`Limits`].
    pub fn decode(payload: &[u8]) -> Result<Frame, WireError> {
        Frame::decode_within(payload, &Limits::DEFAULT)
    }

    /// Parses a payload (length prefix already removed); a message or chunk longer than
    /// `limits` allow is refused. Every fixed field is length-checked before it is read, so no
    /// payload can make this panic.
    pub fn decode_within(payload: &[u8], limits: &Limits) -> Result<Frame, WireError> {
        let (&kind, body) = payload.split_first().ok_or(WireError::Empty)?;
        let mut body = Reader(body);
        let frame = match kind {
            b'M' => Frame::Message(text(body.0, "message", 1, limits.max_message)?),
            b'F' => {
                let id = body.u32("offer")?;
                let size = body.u64("offer")?;
                let name = text(body.0, "file name", 1, MAX_NAME)?;
                Frame::Offer { id, size, name }
            }
            b'D' => {
                let id = body.u32("data")?;
                if body.0.is_empty() || body.0.len() > limits.chunk {
                    return Err(WireError::BadLength {
                        what: "data chunk",
                        len: body.0.len(),
                        max: limits.chunk,
                    });
                }
                Frame::Data {
                    id,
                    bytes: body.0.to_vec(),
                }
            }
            b'E' => {
                let id = body.u32("end")?;
                let digest = body.digest("end")?;
                body.finish("end")?;
                Frame::End { id, digest }
            }
            b'X' => {
                let id = body.u32("abort")?;
                let reason = text(body.0, "abort reason", 0, MAX_NOTE)?;
                Frame::Abort { id, reason }
            }
            b'R' => {
                let id = body.u32("result")?;
                let ok = match body.u8("result")? {
                    0 => false,
                    1 => true,
                    _ => return Err(WireError::Malformed("result")),
                };
                let received = body.u64("result")?;
                let digest = body.digest("result")?;
                let note = text(body.0, "result note", 0, MAX_NOTE)?;
                Frame::Result {
                    id,
                    ok,
                    received,
                    digest,
                    note,
                }
            }
            b'Q' => {
                body.finish("quit")?;
                Frame::Quit
            }
            b'!' => Frame::Refusal(text(body.0, "refusal", 1, MAX_NOTE)?),
            other => return Err(WireError::UnknownKind(other)),
        };
        Ok(frame)
    }
}

/// UTF-8 text of `min..=max` bytes.
fn text(bytes: &[u8], what: &'static str, min: usize, max: usize) -> Result<String, WireError> {
    if bytes.len() < min || bytes.len() > max {
        return Err(WireError::BadLength {
            what,
            len: bytes.len(),
            max,
        });
    }
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|_| WireError::NotText(what))
}

/// Takes fixed-size fields off the front of a body, checking the length first.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(WireError::Malformed(what))?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        self.take::<1>(what).map(|[byte]| byte)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        self.take(what).map(u32::from_be_bytes)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        self.take(what).map(u64::from_be_bytes)
    }

    fn digest(&mut self, what: &'static str) -> Result<Digest, WireError> {
        self.take(what)
    }

    /// The frame must end here.
    fn finish(&self, what: &'static str) -> Result<(), WireError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WireError::Malformed(what))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The example in the module docs.
    #[test]
    fn bytes_match_the_docs() {
        let offer = Frame::Offer {
            id: 1,
            size: 3,
            name: "a.txt".into(),
        };
        let mut expected = vec![b'F', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3];
        expected.extend_from_slice(b"a.txt");
        assert_eq!(offer.encode(), expected);
        assert_eq!(offer.encode().len(), 0x12);
        let data = Frame::Data {
            id: 1,
            bytes: b"abc".to_vec(),
        };
        assert_eq!(data.encode(), [b'D', 0, 0, 0, 1, b'a', b'b', b'c']);
        let end = Frame::End {
            id: 1,
            digest: [0; 32],
        };
        assert_eq!(end.encode().len(), 0x25);
    }

    /// Every frame decodes back to itself.
    #[test]
    fn round_trip() {
        let frames = [
            Frame::Message("hi\nthere".into()),
            Frame::Offer {
                id: 7,
                size: u64::MAX,
                name: "../x".into(),
            },
            Frame::Data {
                id: 7,
                bytes: vec![0; CHUNK],
            },
            Frame::End {
                id: 7,
                digest: [9; 32],
            },
            Frame::Abort {
                id: 7,
                reason: "gone".into(),
            },
            Frame::Result {
                id: 7,
                ok: true,
                received: 3,
                digest: [1; 32],
                note: "new_x".into(),
            },
            Frame::Quit,
            Frame::Refusal("no".into()),
        ];
        for frame in frames {
            assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
        }
    }

    /// Smaller limits refuse what the defaults accept, naming the field and the limit; the
    /// largest payload always has room for every fixed-size frame.
    #[test]
    fn limits_are_enforced_when_decoding() {
        let seed = Limits::SEED;
        let message = Frame::Message("m".repeat(1025)).encode();
        assert!(Frame::decode(&message).is_ok());
        assert_eq!(
            Frame::decode_within(&message, &seed),
            Err(WireError::BadLength {
                what: "message",
                len: 1025,
                max: 1024
            })
        );
        let chunk = Frame::Data {
            id: 1,
            bytes: vec![0; 1025],
        }
        .encode();
        assert_eq!(
            Frame::decode_within(&chunk, &seed).unwrap_err().to_string(),
            "data chunk of 1025 bytes; the limit is 1024"
        );
        assert_eq!(MAX_PAYLOAD, 1 + 4 + CHUNK);
        assert_eq!(seed.max_payload(), 1 + 4 + 1024);
        let tiny = Limits {
            max_message: 1,
            chunk: 1,
        };
        assert_eq!(tiny.max_payload(), 1 + 4 + 1 + 8 + 32 + MAX_NOTE);
    }

    /// Truncated, oversized or garbage payloads are refused, never a panic.
    #[test]
    fn hostile_payloads_refused() {
        assert_eq!(Frame::decode(b""), Err(WireError::Empty));
        assert_eq!(Frame::decode(b"?"), Err(WireError::UnknownKind(b'?')));
        assert_eq!(Frame::decode(b"F\0\0"), Err(WireError::Malformed("offer")));
        assert_eq!(
            Frame::decode(b"E\0\0\0\x01"),
            Err(WireError::Malformed("end"))
        );
        assert_eq!(Frame::decode(b"Qx"), Err(WireError::Malformed("quit")));
        assert!(matches!(
            Frame::decode(b"D\0\0\0\x01"),
            Err(WireError::BadLength { .. })
        ));
        assert!(matches!(
            Frame::decode(b"M"),
            Err(WireError::BadLength { .. })
        ));
        let mut bad_ok = vec![b'R', 0, 0, 0, 1, 2];
        bad_ok.extend_from_slice(&[0; 40]);
        assert_eq!(Frame::decode(&bad_ok), Err(WireError::Malformed("result")));
        let mut offer = vec![b'F', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3];
        offer.push(0xff);
        assert_eq!(Frame::decode(&offer), Err(WireError::NotText("file name")));
        // Any prefix of a valid frame is either valid or refused.
        let frame = Frame::Result {
            id: 1,
            ok: false,
            received: 2,
            digest: [3; 32],
            note: "no".into(),
        }
        .encode();
        for end in 0..frame.len() {
            let _ = Frame::decode(&frame[..end]);
        }
    }
}
