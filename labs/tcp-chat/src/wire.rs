//! # What the two-person protocols share on the wire
//!
//! `pair` and `duplex` speak two different protocols ([`crate::pair::wire`],
//! [`crate::duplex::wire`]), built the same way: every frame is a 4-byte big-endian length
//! ([`FRAMING`]), a kind byte, then a body. The pieces they have in common live here, so that
//! neither mode reaches into the other's modules:
//!
//! - the limit on a chat message, [`MAX_MESSAGE`], the same in both;
//! - the refusal (kind `!`): when a peer breaks the protocol, the side that notices tells it why
//!   in one last frame before it closes ([`refusal_reason`]), so a student debugging their own
//!   client sees the reason instead of a bare reset.
//!
//! - what a chunk of frames is, for `--trace-json` ([`describe`]).
//!
//! (The room speaks lines, not frames: its protocol is [`crate::room::protocol`].)

use netlab_common::framing::Framing;
use netlab_common::trace_json::{Described, Fields, shortened};
use netlab_common::{Error, term};

/// How `pair` and `duplex` cut their byte stream into frames: a 4-byte big-endian length prefix.
pub const FRAMING: Framing = Framing::Length;

/// Longest chat message body, in bytes, in both two-person modes.
pub const MAX_MESSAGE: usize = 4096;

/// What to tell a peer in a refusal frame before closing, when `err` is the peer's doing (it
/// sent something that breaks the protocol): the reason, sanitized and cut to `max` bytes.
/// `None` when the error is not the peer's doing (a reset, a timeout): nothing to tell.
pub fn refusal_reason(err: &Error, max: usize) -> Option<String> {
    let reason = match err {
        Error::Protocol(reason) => term::sanitize(reason),
        Error::Frame(frame) => frame.to_string(),
        _ => return None,
    };
    Some(clip(&reason, max).to_string())
}

/// `text` cut to at most `max` bytes, at a character boundary (for reasons sent in a refusal
/// frame, whose receiver enforces a length limit).
pub fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// `--trace-json` fields of a chunk of `pair` or `duplex` frames: the first frame's `kind`
/// (its letter) and `length`, and how many frames start in the chunk (`frames`). A chunk that
/// does not start with a whole prefix (a frame split by TCP) says so.
pub fn describe(bytes: &[u8]) -> Described {
    let mut fields = Fields::new();
    let mut summary = Vec::new();
    let mut rest = bytes;
    let mut frames = 0u32;
    while let Some((prefix, after)) = rest.split_first_chunk::<4>() {
        let length = u32::from_be_bytes(*prefix) as usize;
        let Some((&kind, body)) = after.split_first() else {
            break;
        };
        let kind = char::from(kind);
        if frames == 0 {
            fields.insert("kind".into(), term::sanitize(&kind.to_string()).into());
            fields.insert("length".into(), length.into());
        }
        frames += 1;
        let body = body.get(..length.saturating_sub(1)).unwrap_or(body);
        let text = if matches!(kind, 'M' | 'P' | 'G' | '!') {
            format!(" {}", shortened(&String::from_utf8_lossy(body)))
        } else {
            format!(" ({} bytes)", body.len())
        };
        summary.push(format!("{}{text}", term::sanitize(&kind.to_string())));
        rest = after.get(length..).unwrap_or_default();
    }
    fields.insert("frames".into(), frames.into());
    let summary = if summary.is_empty() {
        format!("{} bytes (part of a frame)", bytes.len())
    } else {
        summary.join(" + ")
    };
    Described { summary, fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clipping never splits a character.
    #[test]
    fn clip_respects_characters() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("hi", 10), "hi");
    }

    /// A protocol error is told to the peer (sanitized, clipped); a local failure is not.
    #[test]
    fn only_the_peers_mistakes_are_told() {
        let told = refusal_reason(&Error::Protocol("bad\x1b kind".into()), 5);
        assert_eq!(
            told.as_deref(),
            Some(clip(&term::sanitize("bad\x1b kind"), 5))
        );
        assert_eq!(refusal_reason(&Error::Failed("disk".into()), 100), None);
    }
}
