//! # Messages bigger than a datagram: fragmentation and reassembly
//!
//! A chat message may be up to 4096 bytes, but we keep every datagram to at most 1200 bytes
//! ([`crate::wire::DEFAULT_MAX_DATAGRAM`]) so that IP need not fragment it: over IPv6 that is
//! guaranteed (the minimum MTU is 1280 bytes), over IPv4 it holds on nearly every path but is not
//! guaranteed (the constant's docs say why). IP fragmentation is worth avoiding: an IP fragment
//! lost loses the whole datagram, and many firewalls drop fragments. So we fragment ourselves: the
//! message is cut into pieces of at most `max_datagram - HEADER_LEN` bytes, each sent as its own
//! DATA datagram with its own sequence number and the fields `fragment index / fragment count`.
//!
//! ```text
//! message of 3000 bytes, 1184 bytes of payload per datagram:
//!   DATA seq=40 frag 0/3 [1184 bytes]  DATA seq=41 frag 1/3 [1184]  DATA seq=42 frag 2/3 [632]
//! ```
//!
//! The pieces of one message have consecutive sequence numbers, so piece `i` of the message
//! whose first piece is `s` has number `s + i`: the receiver finds the start as `seq - index`.
//! With reliable, in-order delivery the pieces simply arrive one after the other. Without
//! retransmission (plain UDP mode) pieces may be missing, duplicated or out of order: the
//! [`Reassembler`] keeps a bounded number of incomplete messages and drops the oldest when the
//! bound is hit, so a lost piece costs that one message and never unbounded memory.
#![warn(clippy::indexing_slicing)]

use std::collections::VecDeque;

use crate::seq::Seq;

/// The largest chat message, in bytes, unless configured otherwise.
pub const DEFAULT_MAX_MESSAGE: usize = 4096;

/// Incomplete messages kept at once. Reliable modes never have more than one; in plain UDP mode
/// a message with a lost piece stays here until 8 newer incomplete ones push it out.
pub const MAX_PARTIAL: usize = 8;

/// Why a message could not be cut or put back together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    /// The message is longer than the configured limit.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    MessageTooLong {
        /// Bytes in the message.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Fragments of the same message disagree about the piece count.
    #[error("fragment says the message has {count} pieces, an earlier one said {expected}")]
    CountMismatch {
        /// Count in this fragment.
        count: u8,
        /// Count in earlier fragments of the message.
        expected: u8,
    },
}

/// Cuts `message` into pieces of at most `max_piece` bytes (at least one piece, even if empty).
/// Fails if the message is over `max_message` or would need more than 255 pieces.
pub fn split(
    message: &[u8],
    max_piece: usize,
    max_message: usize,
) -> Result<Vec<&[u8]>, FragmentError> {
    let too_long = FragmentError::MessageTooLong {
        len: message.len(),
        max: max_message,
    };
    if message.len() > max_message || max_piece == 0 {
        return Err(too_long);
    }
    if message.is_empty() {
        return Ok(vec![message]);
    }
    let pieces: Vec<&[u8]> = message.chunks(max_piece).collect();
    if pieces.len() > usize::from(u8::MAX) {
        return Err(too_long);
    }
    Ok(pieces)
}

#[derive(Debug)]
struct Partial {
    start: Seq,
    pieces: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

/// Puts fragments back together into messages.
#[derive(Debug)]
pub struct Reassembler {
    max_message: usize,
    partial: VecDeque<Partial>,
    evicted: u64,
}

impl Reassembler {
    /// A reassembler that refuses messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            partial: VecDeque::new(),
            evicted: 0,
        }
    }

    /// Incomplete messages given up because newer ones needed the room.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Takes piece `index` of `count`, numbered `seq`. Returns the whole message once every
    /// piece is in. A duplicate piece is ignored.
    pub fn push(
        &mut self,
        seq: Seq,
        index: u8,
        count: u8,
        payload: &[u8],
    ) -> Result<Option<Vec<u8>>, FragmentError> {
        let too_long = |len| FragmentError::MessageTooLong {
            len,
            max: self.max_message,
        };
        if count <= 1 {
            return match payload.len() {
                len if len > self.max_message => Err(too_long(len)),
                _ => Ok(Some(payload.to_vec())),
            };
        }
        let start = seq.wrapping_sub(u32::from(index));
        let at = match self.partial.iter().position(|p| p.start == start) {
            Some(at) => at,
            None => {
                if self.partial.len() == MAX_PARTIAL {
                    self.partial.pop_front();
                    self.evicted += 1;
                }
                self.partial.push_back(Partial {
                    start,
                    pieces: vec![None; usize::from(count)],
                    bytes: 0,
                });
                self.partial.len() - 1
            }
        };
        let Some(partial) = self.partial.get_mut(at) else {
            return Ok(None);
        };
        let expected = u8::try_from(partial.pieces.len()).unwrap_or(u8::MAX);
        if expected != count {
            return Err(FragmentError::CountMismatch { count, expected });
        }
        let Some(slot) = partial.pieces.get_mut(usize::from(index)) else {
            return Ok(None);
        };
        if slot.is_some() {
            return Ok(None);
        }
        let bytes = partial.bytes + payload.len();
        if bytes > self.max_message {
            self.partial.remove(at);
            return Err(too_long(bytes));
        }
        *slot = Some(payload.to_vec());
        partial.bytes = bytes;
        if partial.pieces.iter().any(Option::is_none) {
            return Ok(None);
        }
        let Some(done) = self.partial.remove(at) else {
            return Ok(None);
        };
        Ok(Some(done.pieces.into_iter().flatten().flatten().collect()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// A 4096-byte message in 1184-byte pieces is four pieces and comes back whole in any order.
    #[test]
    fn split_and_reassemble_out_of_order() {
        let message: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
        let pieces = split(&message, 1184, 4096).unwrap();
        assert_eq!(pieces.len(), 4);
        let mut r = Reassembler::new(4096);
        let start = Seq(u32::MAX - 1); // pieces straddle the wrap-around
        for i in [2u8, 0, 0, 3] {
            let seq = start.wrapping_add(u32::from(i));
            assert_eq!(r.push(seq, i, 4, pieces[usize::from(i)]).unwrap(), None);
        }
        assert_eq!(
            r.push(start.wrapping_add(1), 1, 4, pieces[1]).unwrap(),
            Some(message)
        );
    }

    /// Oversized messages are refused when sending and when receiving.
    #[test]
    fn limits_are_enforced() {
        assert!(split(&[0; 4097], 1184, 4096).is_err());
        let mut r = Reassembler::new(100);
        assert!(r.push(Seq(0), 0, 2, &[0; 60]).unwrap().is_none());
        assert!(r.push(Seq(1), 1, 2, &[0; 60]).is_err());
    }

    /// Incomplete messages are bounded: the oldest is dropped and counted.
    #[test]
    fn partial_messages_are_bounded() {
        let mut r = Reassembler::new(4096);
        for m in 0..(MAX_PARTIAL as u32 + 3) {
            r.push(Seq(m * 10), 0, 2, b"x").unwrap();
        }
        assert_eq!(r.evicted(), 3);
    }
}
