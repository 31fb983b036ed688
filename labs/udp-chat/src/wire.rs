//! # The datagram header
//!
//! UDP hands us whole datagrams, so unlike TCP there is no framing problem: one `recv` is one
//! datagram. What UDP does *not* give is any promise that a datagram arrives, arrives once, or
//! arrives in order. To build those promises ourselves every datagram needs a small header.
//! Ours is 16 bytes, all multi-byte fields big-endian ("network byte order"):
//!
//! ```text
//!  0               1               2               3
//! +---------------+---------------+-------------------------------+
//! |   version=1   |     type      |        payload length         |
//! +---------------+---------------+-------------------------------+
//! |                        sequence number                        |
//! +---------------------------------------------------------------+
//! |                    acknowledgement number                     |
//! +---------------+---------------+---------------+---------------+
//! |     flags     | frag. index   | frag. count   |  reserved (0) |
//! +---------------+---------------+---------------+---------------+
//! |                    payload (length bytes) ...                 |
//! ```
//!
//! - **version** lets a future header be told apart; anything but [`VERSION`] is refused.
//! - **type**: [`Kind`]. JOIN, LEAVE and DATA are *sequenced* (the reliability layer delivers
//!   them once and in order); ACK, PING and PONG are not.
//! - **payload length** repeats what UDP already knows. It is redundant on purpose: a datagram
//!   whose length field disagrees with its size was cut or corrupted, and is refused.
//! - **sequence**: for sequenced types, this datagram's number. In an ACK, the datagram whose
//!   arrival triggered the ACK: a *selective* acknowledgement, "I hold this one", unless NOT_HELD
//!   is set (see [`crate::arq`]). In a PONG, the PING's number.
//! - **acknowledgement**: cumulative, as in TCP: "I have everything before this number".
//! - **flags**: bit 0 [`Flags::RETRANSMIT`] marks a resent datagram, for traces only (the protocol
//!   never relies on it). Bit 1 [`Flags::NOT_HELD`], in an ACK: the datagram named in `seq`
//!   arrived but was thrown away (it came early). Other bits are reserved and must be zero.
//! - **fragment index/count**: a chat message longer than one datagram is cut into `count`
//!   pieces; this is piece `index` (see [`crate::fragment`]). Non-DATA datagrams are `0/1`.
//!
//! Parsing follows smoltcp's `wire/udp.rs`: every field is a named byte range, and [`Datagram::parse`]
//! checks the length once, before reading any field, so no accessor can panic. smoltcp keeps a
//! checked `Packet` wrapper and a `Repr` apart; our header is small and fixed, so [`Datagram`] plays
//! both parts: `parse` checks and decodes, `emit` encodes.
#![warn(clippy::indexing_slicing)]

use crate::seq::Seq;

/// The only header version this code speaks.
pub const VERSION: u8 = 1;

/// Bytes in the header.
pub const HEADER_LEN: usize = 16;

/// Default largest datagram (header + payload) we send: 1200 bytes, the size QUIC requires every
/// path to carry (RFC 9000 §14). Over IPv6 it is guaranteed to travel unfragmented: with the
/// 40-byte IPv6 header and the 8-byte UDP header it makes 1248 bytes, within the 1280-byte MTU
/// every IPv6 link must carry (RFC 8200 §5). IPv4 guarantees far less: a link may have an MTU
/// of 68 bytes (RFC 791 §3.2), and a host need only accept datagrams of 576 bytes, reassembled
/// from fragments if need be (RFC 791 §3.1; RFC 1122 §3.3.2). So over IPv4, 1200 bytes passes
/// unfragmented on nearly every path (Ethernet carries 1500), but that is common practice, not
/// a promise: a path with a smaller MTU fragments it.
pub const DEFAULT_MAX_DATAGRAM: usize = 1200;

/// Where each field lives, as byte offsets and ranges (smoltcp's `field` module).
mod field {
    use std::ops::Range;
    pub const VERSION: usize = 0;
    pub const KIND: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    pub const FLAGS: usize = 12;
    pub const FRAG_INDEX: usize = 13;
    pub const FRAG_COUNT: usize = 14;
    pub const RESERVED: usize = 15;
}

/// What a datagram is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// "I am here"; the payload is the sender's name. Sequenced.
    Join = 1,
    /// "I am going"; no payload. Sequenced.
    Leave = 2,
    /// A chat message, or one fragment of one. Sequenced.
    Data = 3,
    /// Acknowledges sequenced datagrams; no payload.
    Ack = 4,
    /// Asks for a PONG, to check the peer is alive and measure the round trip; no payload.
    Ping = 5,
    /// The answer to a PING, carrying the PING's sequence number; no payload.
    Pong = 6,
}

impl Kind {
    /// True for the types the reliability layer numbers and delivers in order.
    pub fn is_sequenced(self) -> bool {
        matches!(self, Kind::Join | Kind::Leave | Kind::Data)
    }

    /// The name printed in traces.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Join => "JOIN",
            Kind::Leave => "LEAVE",
            Kind::Data => "DATA",
            Kind::Ack => "ACK",
            Kind::Ping => "PING",
            Kind::Pong => "PONG",
        }
    }
}

impl TryFrom<u8> for Kind {
    type Error = WireError;

    fn try_from(byte: u8) -> Result<Self, WireError> {
        Ok(match byte {
            1 => Kind::Join,
            2 => Kind::Leave,
            3 => Kind::Data,
            4 => Kind::Ack,
            5 => Kind::Ping,
            6 => Kind::Pong,
            found => return Err(WireError::UnknownKind { found }),
        })
    }
}

/// The flags byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// This datagram was sent before and is being sent again (for traces; never relied on).
    pub const RETRANSMIT: u8 = 0b0000_0001;
    /// In an ACK: the datagram named in `seq` arrived (so the sender may take an RTT sample from
    /// it) but the receiver did not keep it (so the sender must still resend it).
    pub const NOT_HELD: u8 = 0b0000_0010;
    /// Every bit a version-1 sender may set.
    pub const KNOWN: u8 = Self::RETRANSMIT | Self::NOT_HELD;

    /// True if the RETRANSMIT bit is set.
    pub fn retransmit(self) -> bool {
        self.0 & Self::RETRANSMIT != 0
    }

    /// True if the NOT_HELD bit is set.
    pub fn not_held(self) -> bool {
        self.0 & Self::NOT_HELD != 0
    }
}

/// Why bytes are not a valid datagram. Each one is counted and the datagram dropped; the
/// connection carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A zero-byte datagram (legal in UDP, meaningless here).
    #[error("empty datagram")]
    Empty,
    /// Fewer bytes than the header needs.
    #[error("datagram of {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    ShortHeader {
        /// Bytes received.
        len: usize,
    },
    /// A version this code does not speak.
    #[error("header version {found}, expected {VERSION}")]
    BadVersion {
        /// The version byte received.
        found: u8,
    },
    /// A type byte that is not one of [`Kind`].
    #[error("unknown datagram type {found}")]
    UnknownKind {
        /// The type byte received.
        found: u8,
    },
    /// The length field disagrees with the bytes that arrived (cut, padded or corrupted).
    #[error("length field says {claimed} payload bytes but {actual} arrived")]
    LengthMismatch {
        /// What the header claims.
        claimed: usize,
        /// What is really there after the header.
        actual: usize,
    },
    /// Reserved flag bits or the reserved byte are not zero.
    #[error("reserved bits set (flags {flags:#04x}, reserved byte {reserved:#04x})")]
    Reserved {
        /// The flags byte.
        flags: u8,
        /// The reserved byte.
        reserved: u8,
    },
    /// Fragment fields that cannot be right (`index >= count`, or several pieces for a type that
    /// is never fragmented).
    #[error("bad fragment fields: piece {index} of {count} in a {kind} datagram")]
    BadFragment {
        /// Type of the datagram.
        kind: &'static str,
        /// Fragment index.
        index: u8,
        /// Fragment count.
        count: u8,
    },
    /// A type that never carries a payload came with one.
    #[error("{kind} datagram must have no payload, got {len} bytes")]
    UnexpectedPayload {
        /// Type of the datagram.
        kind: &'static str,
        /// Payload bytes received.
        len: usize,
    },
    /// (Sending) the payload does not fit in the 16-bit length field.
    #[error("payload of {len} bytes does not fit in a datagram")]
    PayloadTooLarge {
        /// Payload bytes.
        len: usize,
    },
}

/// The fixed-size part of a datagram, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the datagram is for.
    pub kind: Kind,
    /// Sequence number (see the module docs for its meaning per type).
    pub seq: Seq,
    /// Cumulative acknowledgement: everything before this number has arrived.
    pub ack: Seq,
    /// Flag bits.
    pub flags: Flags,
    /// Which piece of a fragmented message (0 for unfragmented).
    pub frag_index: u8,
    /// How many pieces the message has (1 for unfragmented).
    pub frag_count: u8,
}

impl Header {
    /// A header for an unfragmented datagram of `kind`, with zero sequence numbers and flags.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            seq: Seq(0),
            ack: Seq(0),
            flags: Flags::default(),
            frag_index: 0,
            frag_count: 1,
        }
    }
}

/// A parsed datagram: the header and a view of the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The decoded header.
    pub header: Header,
    /// The payload bytes (exactly as many as the length field says).
    pub payload: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// Checks and decodes `bytes`. Pure: no allocation, no panic, whatever the input.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        if bytes.is_empty() {
            return Err(WireError::Empty);
        }
        // The one length check; after it every field read below is in bounds.
        let Some((head, payload)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(WireError::ShortHeader { len: bytes.len() });
        };
        let version = head[field::VERSION];
        if version != VERSION {
            return Err(WireError::BadVersion { found: version });
        }
        let kind = Kind::try_from(head[field::KIND])?;
        let claimed = usize::from(u16::from_be_bytes(read::<2>(head, field::LENGTH)));
        if claimed != payload.len() {
            return Err(WireError::LengthMismatch {
                claimed,
                actual: payload.len(),
            });
        }
        let flags = head[field::FLAGS];
        let reserved = head[field::RESERVED];
        if flags & !Flags::KNOWN != 0 || reserved != 0 {
            return Err(WireError::Reserved { flags, reserved });
        }
        let (index, count) = (head[field::FRAG_INDEX], head[field::FRAG_COUNT]);
        let fragmentable = kind == Kind::Data;
        if index >= count || (!fragmentable && count != 1) {
            return Err(WireError::BadFragment {
                kind: kind.name(),
                index,
                count,
            });
        }
        if matches!(kind, Kind::Leave | Kind::Ack | Kind::Ping | Kind::Pong) && !payload.is_empty()
        {
            return Err(WireError::UnexpectedPayload {
                kind: kind.name(),
                len: payload.len(),
            });
        }
        let header = Header {
            kind,
            seq: Seq(u32::from_be_bytes(read::<4>(head, field::SEQ))),
            ack: Seq(u32::from_be_bytes(read::<4>(head, field::ACK))),
            flags: Flags(flags),
            frag_index: index,
            frag_count: count,
        };
        Ok(Datagram { header, payload })
    }

    /// Appends the encoded datagram to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = u16::try_from(self.payload.len()).map_err(|_| WireError::PayloadTooLarge {
            len: self.payload.len(),
        })?;
        let h = &self.header;
        out.reserve(HEADER_LEN + self.payload.len());
        out.extend_from_slice(&[VERSION, h.kind as u8]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&h.seq.0.to_be_bytes());
        out.extend_from_slice(&h.ack.0.to_be_bytes());
        out.extend_from_slice(&[h.flags.0, h.frag_index, h.frag_count, 0]);
        out.extend_from_slice(self.payload);
        Ok(())
    }

    /// The encoded datagram as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::new();
        self.emit(&mut out)?;
        Ok(out)
    }
}

/// Copies the bytes of `range` out of the header. The range is one of the constants in `field`,
/// all inside `HEADER_LEN`, so the fallback of zeros is never used; it only keeps this panic-free.
fn read<const N: usize>(head: &[u8; HEADER_LEN], range: std::ops::Range<usize>) -> [u8; N] {
    head.get(range)
        .and_then(|bytes| bytes.try_into().ok())
        .unwrap_or([0; N])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn data(payload: &[u8]) -> Vec<u8> {
        let mut header = Header::new(Kind::Data);
        header.seq = Seq(7);
        header.ack = Seq(0x0102_0304);
        Datagram { header, payload }.to_vec().unwrap()
    }

    /// The bytes on the wire are exactly the documented layout, big-endian.
    #[test]
    fn layout_is_big_endian() {
        assert_eq!(
            data(b"hi"),
            [1, 3, 0, 2, 0, 0, 0, 7, 1, 2, 3, 4, 0, 0, 1, 0, b'h', b'i']
        );
    }

    /// Each kind of malformed datagram gets its own typed error.
    #[test]
    fn malformed_datagrams_are_typed_errors() {
        let good = data(b"hi");
        let parse = |bytes: &[u8]| Datagram::parse(bytes).map(|_| ()).unwrap_err();
        assert_eq!(parse(&[]), WireError::Empty);
        assert_eq!(parse(&good[..5]), WireError::ShortHeader { len: 5 });
        let mut bad = good.clone();
        bad[0] = 2;
        assert_eq!(parse(&bad), WireError::BadVersion { found: 2 });
        let mut bad = good.clone();
        bad[1] = 99;
        assert_eq!(parse(&bad), WireError::UnknownKind { found: 99 });
        // A length field that lies, in both directions.
        assert_eq!(
            parse(&good[..17]),
            WireError::LengthMismatch {
                claimed: 2,
                actual: 1
            }
        );
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(parse(&long), WireError::LengthMismatch { .. }));
        let mut bad = good.clone();
        bad[12] = 0x80; // an unknown flag bit
        assert!(matches!(parse(&bad), WireError::Reserved { .. }));
        let mut bad = good.clone();
        bad[13] = 1; // piece 1 of 1
        assert!(matches!(parse(&bad), WireError::BadFragment { .. }));
        let mut ack = good.clone();
        ack[1] = Kind::Ack as u8;
        assert!(matches!(parse(&ack), WireError::UnexpectedPayload { .. }));
    }

    proptest! {
        /// Arbitrary bytes never panic the parser, and whatever parses re-encodes to the same bytes.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(datagram) = Datagram::parse(&bytes) {
                prop_assert_eq!(datagram.to_vec().unwrap(), bytes);
            }
        }

        /// Any header and payload survive an emit/parse round trip.
        #[test]
        fn round_trip(seq: u32, ack: u32, retransmit: bool, count in 1u8.., payload in proptest::collection::vec(any::<u8>(), 0..100)) {
            let header = Header {
                kind: Kind::Data,
                seq: Seq(seq),
                ack: Seq(ack),
                flags: Flags(if retransmit { Flags::RETRANSMIT } else { 0 }),
                frag_index: count - 1,
                frag_count: count,
            };
            let bytes = Datagram { header, payload: &payload }.to_vec().unwrap();
            let parsed = Datagram::parse(&bytes).unwrap();
            prop_assert_eq!(parsed.header, header);
            prop_assert_eq!(parsed.payload, &payload[..]);
        }
    }
}
