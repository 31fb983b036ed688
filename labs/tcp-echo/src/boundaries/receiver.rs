//! # The receiving side of the boundaries experiment: pure bookkeeping
//!
//! [`ReadTally`] records where each read of the echo fell relative to the messages' boundaries
//! (the definitions of *merged* and *split* are in the parent module, [`crate::boundaries`]).
//! [`Receiver`] is fed the bytes of one read at a time: it strips the server's greeting, keeps the
//! tally, checks every byte against what was sent, and counts the messages recovered. Neither does
//! any I/O, so the unit tests below feed them every possible split of an echo.

use netlab_common::FrameDecoder;
use netlab_common::framing::Framing;

use crate::payload;
use crate::protocol::REPLY_HEADROOM;

/// Where the reads of a stream fell relative to its messages' boundaries. Pure bookkeeping: feed
/// it the length of each read.
#[derive(Debug, Clone, Default)]
pub struct ReadTally {
    /// Where each message ends in the stream (running totals of their lengths).
    ends: Vec<u64>,
    /// The first message not yet read to its end.
    current: usize,
    /// Bytes of the stream read so far.
    offset: u64,
    /// Reads recorded.
    pub reads: usize,
    /// Reads holding bytes of more than one message.
    pub merged: usize,
    /// Reads beginning or ending inside a message.
    pub split: usize,
}

impl ReadTally {
    /// A stream of messages with these lengths, laid end to end.
    pub fn new(lengths: impl IntoIterator<Item = usize>) -> ReadTally {
        let ends = lengths
            .into_iter()
            .scan(0u64, |end, len| {
                *end += len as u64;
                Some(*end)
            })
            .collect();
        ReadTally {
            ends,
            ..ReadTally::default()
        }
    }

    /// Bytes in the whole stream.
    pub fn total(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Bytes recorded so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Records one read of `len` (> 0) bytes. Returns `true` if it held exactly one whole message.
    pub fn record(&mut self, len: usize) -> bool {
        let from = self.offset;
        let to = from + len as u64;
        let message_start = match self.current {
            0 => 0,
            current => self.ends.get(current - 1).copied().unwrap_or(u64::MAX),
        };
        let starts_on_boundary = message_start == from;
        // Invariant: the current message ends after `from`. Ends before `to` are inside the read.
        let mut inside = 0;
        while self.ends.get(self.current).is_some_and(|&end| end < to) {
            inside += 1;
            self.current += 1;
        }
        let ends_on_boundary = self.ends.get(self.current) == Some(&to);
        if ends_on_boundary {
            self.current += 1;
        }
        self.offset = to;
        self.reads += 1;
        let merged = inside > 0;
        let split = !starts_on_boundary || !ends_on_boundary;
        self.merged += usize::from(merged);
        self.split += usize::from(split);
        !merged && !split
    }
}

/// The receiving side, fed one read at a time: strips the greeting, keeps the tally, checks every
/// byte and counts the messages recovered. No I/O, so tests can feed it any split of the bytes.
pub struct Receiver {
    framing: Framing,
    sizes: Vec<usize>,
    tally: ReadTally,
    /// Line/length framing: the greeting while it arrives; `None` once checked (raw: always).
    greeting: Option<Vec<u8>>,
    decoder: FrameDecoder,
    /// The message the next decoded frame must echo, and where its payload starts in the pattern.
    next: usize,
    next_start: u64,
    recovered: usize,
    errors: u64,
    first_error: Option<String>,
}

impl Receiver {
    /// A receiver expecting the echo of messages of these `sizes`, in `framing`.
    pub fn new(framing: Framing, sizes: &[usize]) -> Receiver {
        let extra = payload::overhead_bytes(framing) + payload::ack_bytes(framing);
        let largest = sizes.iter().copied().max().unwrap_or(0);
        Receiver {
            framing,
            sizes: sizes.to_vec(),
            tally: ReadTally::new(sizes.iter().map(|size| size + extra)),
            greeting: (framing != Framing::Raw).then(Vec::new),
            // Room for the largest reply, or for an `ERROR ...` notice, which the server may send
            // instead and which must be shown whole.
            decoder: FrameDecoder::new(
                framing,
                largest.max(payload::GREETING_MAX) + REPLY_HEADROOM,
            ),
            next: 0,
            next_start: 0,
            recovered: 0,
            errors: 0,
            first_error: None,
        }
    }

    /// Where the reads fell.
    pub fn tally(&self) -> &ReadTally {
        &self.tally
    }

    /// Messages received exactly as sent, in order.
    pub fn recovered(&self) -> usize {
        self.recovered
    }

    /// Errors seen.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The first error, in words.
    pub fn first_error(&self) -> Option<&str> {
        self.first_error.as_deref()
    }

    /// Has an error been seen? After one, the rest of the stream means nothing.
    pub fn failed(&self) -> bool {
        self.errors > 0
    }

    /// Records an error.
    pub fn fail(&mut self, why: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why);
        }
    }

    /// Takes the bytes of one read.
    pub fn take_read(&mut self, bytes: &[u8]) {
        let echo = match self.after_greeting(bytes) {
            Ok(echo) => echo,
            Err(why) => return self.fail(why),
        };
        if echo.is_empty() {
            return; // all of it was greeting
        }
        let offset = self.tally.offset();
        let whole = self.tally.record(echo.len());
        match self.framing {
            Framing::Raw => self.check_raw(echo, offset, whole),
            Framing::Line | Framing::Length => self.decode(echo),
        }
    }

    /// The server closed the connection: checks that everything came back.
    pub fn finish(&mut self) {
        if let Some(greeting) = &self.greeting {
            let why = format!(
                "the server closed the connection before its greeting was complete; it sent `{}`",
                payload::show(greeting)
            );
            return self.fail(why);
        }
        let (got, expected) = (self.tally.offset(), self.tally.total());
        if got != expected {
            self.fail(format!(
                "the echo was {got} bytes long instead of the {expected} bytes sent back for \
                 {} messages",
                self.sizes.len()
            ));
        }
    }

    /// Returns the bytes of `bytes` after the greeting (all of them once it has been checked).
    fn after_greeting<'a>(&mut self, bytes: &'a [u8]) -> std::result::Result<&'a [u8], String> {
        let Some(greeting) = self.greeting.as_mut() else {
            return Ok(bytes);
        };
        let before = greeting.len();
        greeting.extend_from_slice(bytes);
        match payload::greeting_len(self.framing, greeting)? {
            None => Ok(&[]),
            Some(len) => {
                self.greeting = None;
                Ok(bytes.get(len.saturating_sub(before)..).unwrap_or_default())
            }
        }
    }

    /// Raw framing: the read is the message. It counts if it was exactly one, with the right bytes.
    fn check_raw(&mut self, echo: &[u8], offset: u64, whole: bool) {
        let wrong = echo
            .iter()
            .zip(offset..)
            .position(|(&byte, index)| byte != payload::pattern_byte(Framing::Raw, index));
        match wrong {
            Some(at) => self.fail(payload::describe_wrong(echo, at, offset)),
            None if offset + echo.len() as u64 > self.tally.total() => self.fail(format!(
                "the server sent more than the {} bytes it was sent",
                self.tally.total()
            )),
            None => self.recovered += usize::from(whole),
        }
    }

    /// Line/length framing: feeds the decoder and checks every whole frame it hands out.
    fn decode(&mut self, mut echo: &[u8]) {
        while !echo.is_empty() && !self.failed() {
            let took = self.decoder.feed(echo);
            echo = echo.get(took..).unwrap_or_default();
            let mut frames = 0;
            loop {
                match self.decoder.next_frame() {
                    Ok(Some(frame)) => {
                        frames += 1;
                        self.check_frame(&frame);
                    }
                    Ok(None) => break,
                    Err(err) => {
                        let name = self.framing.name();
                        return self.fail(format!("the echo is not valid {name} framing: {err}"));
                    }
                }
            }
            if took == 0 && frames == 0 {
                // Cannot happen with a decoder sized for the largest frame; never spin if it does.
                return self.fail("the decoder's buffer is full without a frame".to_string());
            }
        }
    }

    fn check_frame(&mut self, frame: &[u8]) {
        let Some(&size) = self.sizes.get(self.next) else {
            let why = format!("a reply after the last message: `{}`", payload::show(frame));
            return self.fail(why);
        };
        let expected = payload::ack_payload(&payload::cut(self.framing, self.next_start, size));
        self.next += 1;
        self.next_start += size as u64;
        if frame == expected {
            self.recovered += 1;
        } else {
            let number = self.next;
            self.fail(format!(
                "reply {number} is not `ACK ` and message {number}; the server sent `{}`",
                payload::show(frame)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Reads that hold one message, several, or part of one are each counted as such.
    #[test]
    fn tally_classifies_reads() {
        // Messages of 3, 2 and 4 bytes: boundaries at 0, 3, 5, 9.
        let mut exact = ReadTally::new([3, 2, 4]);
        assert!(exact.record(3) && exact.record(2) && exact.record(4));
        assert_eq!((exact.reads, exact.merged, exact.split), (3, 0, 0));

        let mut lumped = ReadTally::new([3, 2, 4]);
        assert!(!lumped.record(9)); // all three in one read: merged, not split
        assert_eq!((lumped.merged, lumped.split), (1, 0));

        let mut ragged = ReadTally::new([3, 2, 4]);
        assert!(!ragged.record(1)); // part of the first: split
        assert!(!ragged.record(6)); // rest of the first, the second, part of the third: both
        assert!(!ragged.record(2)); // the end of the third: split
        assert_eq!((ragged.reads, ragged.merged, ragged.split), (3, 1, 3));
        assert_eq!(ragged.offset(), ragged.total());
    }

    /// Raw framing: a read of exactly one message is recovered; a read of two is not.
    #[test]
    fn raw_receiver_takes_each_read_as_a_message() {
        let sent = payload::cut(Framing::Raw, 0, 6);
        let mut receiver = Receiver::new(Framing::Raw, &[2, 1, 3]);
        receiver.take_read(&sent[..2]); // message 1, alone
        receiver.take_read(&sent[2..]); // messages 2 and 3, merged
        receiver.finish();
        assert_eq!((receiver.recovered, receiver.errors), (1, 0));
        assert_eq!(receiver.tally.merged, 1);
    }

    /// Line framing: however the echo is cut, the decoder recovers every message; the greeting
    /// may share a read with the first reply.
    #[test]
    fn framed_receiver_recovers_any_split() {
        let sizes = [2, 1, 3];
        let mut echo = b"WELCOME Client01\n".to_vec();
        let mut start = 0;
        for size in sizes {
            echo.extend(
                payload::reply(Framing::Line, &payload::cut(Framing::Line, start, size)).unwrap(),
            );
            start += size as u64;
        }
        for cut in 1..echo.len() {
            let mut receiver = Receiver::new(Framing::Line, &sizes);
            receiver.take_read(&echo[..cut]);
            receiver.take_read(&echo[cut..]);
            receiver.finish();
            assert_eq!(
                (receiver.recovered, receiver.errors),
                (3, 0),
                "cut at {cut}"
            );
        }
    }

    /// A wrong byte, or a short echo, is an error with a readable reason.
    #[test]
    fn damage_is_reported() {
        let mut receiver = Receiver::new(Framing::Raw, &[3]);
        receiver.take_read(b"\x00\x01X");
        let why = receiver.first_error.unwrap();
        assert!(
            why.contains("byte 2 of the echo is wrong") && why.contains("`\\x00\\x01X`"),
            "{why}"
        );

        let mut short = Receiver::new(Framing::Length, &[3]);
        short.take_read(b"\x00\x00\x00\x10WELCOME Client01");
        short.finish();
        assert!(short.first_error.unwrap().contains("0 bytes long"));
    }
}
