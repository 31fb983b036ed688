//! # The pair protocol on the wire
//!
//! Every frame is a 4-byte big-endian length (the `length` framing of `netlab_common::framing`),
//! then one *kind* byte, then a body of UTF-8 text. The length counts the kind byte and the body.
//!
//! ```text
//!  0               4        5
//! +---------------+--------+----------------------------+
//! | length (u32)  |  kind  | body: UTF-8, length-1 bytes|
//! +---------------+--------+----------------------------+
//! ```
//!
//! | kind       | body                      | meaning                                        |
//! |------------|---------------------------|------------------------------------------------|
//! | `M` (0x4D) | the message, 1..=4096 bytes | a chat message; the turn passes to the peer  |
//! | `P` (0x50) | `GAME SEED`, e.g. `tictactoe 42` | start a game; the sender is player 1    |
//! | `G` (0x47) | the move as typed, e.g. `5` | a move in the game in progress               |
//! | `Q` (0x51) | empty                     | "I am leaving": both sides shut down           |
//! | `!` (0x21) | the reason, 1..=4096 bytes | "what you sent breaks the protocol; I am closing" |
//!
//! For example the message `hi` is the seven bytes `00 00 00 03 4D 68 69`.
//!
//! The kinds are ASCII letters so a `--trace` dump is readable. The length prefix is what lets a
//! message contain anything, newlines included: the receiver never guesses where it ends.
//!
//! ## The 4096-byte limit
//! A message body is at most [`MAX_MESSAGE`] bytes, so a whole frame is at most
//! [`MAX_PAYLOAD`] bytes after the prefix. The sender refuses a longer line before sending; the
//! receiver's decoder refuses a longer length prefix *before* reading or allocating the body, so a
//! peer cannot make us buffer more than one maximum frame.
//!
//! ## Why games send a seed
//! Both sides run the same game rules (`netlab-game-rules`) on their own copy of the board and apply
//! every move to it, the sender's and the peer's. Hangman picks its secret word from a seed, so
//! the side that starts the game picks the seed and sends it: both copies then hold the same word.
//! (So the word is on the wire: a `--trace` reveals it. Hiding it would take a third party that
//! both players trust, which is what the game server lab is for.)

use netlab_game_rules::GameKind;

/// Longest chat message body, in bytes (the same in both two-person modes).
use crate::wire::MAX_MESSAGE;

/// Longest frame payload after the length prefix: the kind byte and a maximum body.
pub const MAX_PAYLOAD: usize = 1 + MAX_MESSAGE;

/// Kind byte of a chat message.
pub const KIND_MESSAGE: u8 = b'M';
/// Kind byte of a game start.
pub const KIND_PLAY: u8 = b'P';
/// Kind byte of a game move.
pub const KIND_MOVE: u8 = b'G';
/// Kind byte of the quit notice.
pub const KIND_QUIT: u8 = b'Q';
/// Kind byte of a refusal: the sender is closing because the peer broke the protocol.
pub const KIND_REFUSAL: u8 = b'!';

/// One message of the pair protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A chat message.
    Message(String),
    /// Start a game of `game`; `seed` makes both copies of the game identical.
    Play {
        /// Which game.
        game: GameKind,
        /// The game's only source of chance (hangman's word).
        seed: u64,
    },
    /// A move in the game in progress, as the player typed it.
    Move(String),
    /// The sender is leaving.
    Quit,
    /// The sender is closing the connection because of something the peer sent; says why.
    Refusal(String),
}

/// Why a frame is not a valid pair frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A frame needs at least its kind byte.
    #[error("empty frame (no kind byte)")]
    Empty,
    /// The kind byte is none of `M`, `P`, `G`, `Q`.
    #[error("unknown frame kind 0x{0:02x}")]
    UnknownKind(u8),
    /// The body is not UTF-8 text.
    #[error("frame body is not UTF-8 text")]
    NotText,
    /// A message body is empty or over [`MAX_MESSAGE`] bytes.
    #[error("message of {0} bytes; messages are 1 to {MAX_MESSAGE} bytes")]
    BadMessageLength(usize),
    /// A `P` body is not `GAME SEED` with a known game.
    #[error("bad game start {0:?}: expected `tictactoe|rps|hangman SEED`")]
    BadPlay(String),
    /// A `Q` frame carries a body.
    #[error("a quit frame has no body")]
    QuitWithBody,
}

impl Frame {
    /// The frame's payload (kind byte and body), without the length prefix.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, body) = match self {
            Frame::Message(text) => (KIND_MESSAGE, text.clone()),
            Frame::Play { game, seed } => (KIND_PLAY, format!("{} {seed}", game.name())),
            Frame::Move(text) => (KIND_MOVE, text.clone()),
            Frame::Quit => (KIND_QUIT, String::new()),
            Frame::Refusal(reason) => (KIND_REFUSAL, reason.clone()),
        };
        let mut payload = Vec::with_capacity(1 + body.len());
        payload.push(kind);
        payload.extend_from_slice(body.as_bytes());
        payload
    }

    /// Parses a payload (length prefix already removed). Pure: never panics, whatever the bytes.
    pub fn decode(payload: &[u8]) -> Result<Frame, WireError> {
        let (&kind, body) = payload.split_first().ok_or(WireError::Empty)?;
        let text = std::str::from_utf8(body).map_err(|_| WireError::NotText)?;
        match kind {
            KIND_MESSAGE if (1..=MAX_MESSAGE).contains(&text.len()) => {
                Ok(Frame::Message(text.to_string()))
            }
            KIND_MESSAGE => Err(WireError::BadMessageLength(text.len())),
            KIND_PLAY => parse_play(text).ok_or_else(|| WireError::BadPlay(text.to_string())),
            KIND_MOVE => Ok(Frame::Move(text.to_string())),
            KIND_QUIT if text.is_empty() => Ok(Frame::Quit),
            KIND_QUIT => Err(WireError::QuitWithBody),
            KIND_REFUSAL if (1..=MAX_MESSAGE).contains(&text.len()) => {
                Ok(Frame::Refusal(text.to_string()))
            }
            KIND_REFUSAL => Err(WireError::BadMessageLength(text.len())),
            other => Err(WireError::UnknownKind(other)),
        }
    }
}

/// `tictactoe 42` -> `Play { TicTacToe, 42 }`.
fn parse_play(text: &str) -> Option<Frame> {
    let (name, seed) = text.split_once(' ')?;
    Some(Frame::Play {
        game: GameKind::from_name(name)?,
        seed: seed.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The byte layout in the module docs is what `encode` produces.
    #[test]
    fn bytes_match_the_docs() {
        assert_eq!(Frame::Message("hi".into()).encode(), b"Mhi");
        assert_eq!(
            Frame::Play {
                game: GameKind::TicTacToe,
                seed: 42
            }
            .encode(),
            b"Ptictactoe 42"
        );
        assert_eq!(Frame::Move("5".into()).encode(), b"G5");
        assert_eq!(Frame::Quit.encode(), b"Q");
    }

    /// Every frame decodes back to itself.
    #[test]
    fn round_trip() {
        for frame in [
            Frame::Message("héllo\nworld".into()),
            Frame::Play {
                game: GameKind::Hangman,
                seed: u64::MAX,
            },
            Frame::Move(" 5 ".into()),
            Frame::Quit,
            Frame::Refusal("too big".into()),
        ] {
            assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
        }
    }

    /// Hostile payloads are refused with a reason, never a panic.
    #[test]
    fn hostile_payloads_refused() {
        assert_eq!(Frame::decode(b""), Err(WireError::Empty));
        assert_eq!(Frame::decode(b"Z"), Err(WireError::UnknownKind(b'Z')));
        assert_eq!(Frame::decode(b"M\xff"), Err(WireError::NotText));
        assert_eq!(Frame::decode(b"M"), Err(WireError::BadMessageLength(0)));
        let long = [b'a'; MAX_MESSAGE + 1];
        let mut payload = vec![KIND_MESSAGE];
        payload.extend_from_slice(&long);
        assert_eq!(
            Frame::decode(&payload),
            Err(WireError::BadMessageLength(MAX_MESSAGE + 1))
        );
        assert!(Frame::decode(b"Pchess 1").is_err());
        assert!(Frame::decode(b"Ptictactoe x").is_err());
        assert!(Frame::decode(b"Ptictactoe").is_err());
        assert_eq!(Frame::decode(b"Qx"), Err(WireError::QuitWithBody));
    }
}
