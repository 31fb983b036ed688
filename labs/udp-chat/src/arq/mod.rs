//! # Reliability over UDP: automatic repeat request (ARQ)
//!
//! UDP delivers each datagram at most once *if you are lucky*: datagrams can be lost (a full
//! router queue, a Wi-Fi collision), duplicated (a link-layer retry), or reordered (two paths).
//! A chat where lines vanish or swap is not usable, so we add what TCP adds: number every
//! datagram, have the receiver acknowledge (ACK) what it got, and resend what is not acknowledged
//! in time. That family of schemes is called ARQ. They differ in how much may be *in flight*
//! (sent, not yet acknowledged) and in what is resent after a loss.
//!
//! The receiver sends one ACK for every sequenced datagram that arrives. It carries two numbers
//! (see [`crate::wire`]): `ack`, *cumulative* ("I have everything before this"), and `seq`, the
//! datagram that triggered this ACK, which is a *selective* acknowledgement ("I hold this one")
//! unless the NOT_HELD flag says the receiver threw it away because it came early. Either way the
//! sender learns that the datagram crossed the network, which is all an RTT sample needs.
//!
//! ## Stop-and-wait: one at a time
//! ```text
//!  sender                 receiver
//!    |--- DATA 0 ----------->|   deliver 0
//!    |<---------- ACK 1 -----|
//!    |--- DATA 1 ----X       |   lost
//!    |    ...RTO...          |
//!    |--- DATA 1 ----------->|   deliver 1
//!    |<---------- ACK 2 -----|
//! ```
//! Simple, but at most one datagram per round trip: over 20 ms each way, 25 datagrams a second
//! whatever the link speed. (It is go-back-N with a window of 1, and is implemented as such.)
//!
//! ## Go-back-N: a window, cumulative ACKs, resend everything after a loss
//! ```text
//!  sender (window N = 4)            receiver (takes only the next in order)
//!    |--- DATA 0 ------------------->|   deliver 0
//!    |--- DATA 1 -------X            |   lost
//!    |--- DATA 2 ------------------->|   early: thrown away
//!    |--- DATA 3 ------------------->|   early: thrown away
//!    |<------------ ACK 1 (sel 0) ---|
//!    |<--- ACK 1 (sel 2, NOT_HELD) --|
//!    |<--- ACK 1 (sel 3, NOT_HELD) --|
//!    |    ...RTO for 1...            |
//!    |--- DATA 1, 2, 3 ------------->|   "go back" to 1: deliver 1, 2, 3
//!    |<------------ ACK 2, 3, 4 -----|
//! ```
//! Up to N datagrams in flight and no receive buffer. One loss costs a whole window of resends,
//! which is wasteful when the window is large or loss is frequent.
//!
//! ## Selective repeat: a window, per-datagram timers, a receive buffer
//! ```text
//!  sender (window N = 4)            receiver (holds up to N early datagrams)
//!    |--- DATA 0 ------------------->|   deliver 0
//!    |--- DATA 1 -------X            |   lost
//!    |--- DATA 2 ------------------->|   early: held
//!    |--- DATA 3 ------------------->|   early: held
//!    |<------------ ACK 1 (sel 0) ---|
//!    |<------------ ACK 1 (sel 2) ---|   2 and 3 are marked received:
//!    |<------------ ACK 1 (sel 3) ---|   their timers stop
//!    |    ...RTO for 1 only...       |
//!    |--- DATA 1 ------------------->|   deliver 1, then the held 2 and 3
//!    |<------------ ACK 4 (sel 1) ---|
//! ```
//! The receiver holds early datagrams (up to the window) and delivers them once the gap fills;
//! the sender resends only the datagram whose own timer ran out. The window must stay below half
//! the sequence space (here far below) or old and new numbers become ambiguous.
//!
//! ## No retransmission: plain UDP
//! [`ArqMode::NoRetransmit`] numbers datagrams but never ACKs or resends, and delivers whatever
//! arrives, in arrival order, duplicates included. Run a chat over the fault injector in this mode
//! to see why the others exist.
//!
//! ## Timers and giving up
//! The timeout is the RFC 6298 RTO ([`crate::rto`]). Stop-and-wait and go-back-N run one timer for
//! the oldest unacknowledged datagram, as RFC 6298 §5 describes for TCP; selective repeat keeps a
//! deadline per datagram. After a datagram has been retransmitted `max_retries` times and its
//! timer fires again, the peer is declared unreachable: the connection reports it and stops.
//!
//! ## Layout
//! - [`sender`](Sender): the send window, timers, Karn's rule, giving up;
//! - [`receiver`](Receiver): duplicate suppression, holding back or discarding early datagrams,
//!   in-order delivery, what to acknowledge.

mod receiver;
mod sender;

pub use receiver::{Received, Receiver};
pub use sender::{AckError, GaveUp, Outgoing, Sender};

/// Largest window accepted: far below 2^31, so serial-number comparisons stay unambiguous.
pub const MAX_WINDOW: u32 = 4096;

/// Which reliability scheme a connection uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArqMode {
    /// Plain UDP: number datagrams, never acknowledge or resend.
    NoRetransmit,
    /// One datagram in flight at a time.
    StopAndWait,
    /// Up to `window` in flight; the receiver takes only the next in order; resend all on timeout.
    GoBackN,
    /// Up to `window` in flight; the receiver holds early ones; resend only what timed out.
    SelectiveRepeat,
}

impl ArqMode {
    /// The name as typed on a command line.
    pub fn name(self) -> &'static str {
        match self {
            ArqMode::NoRetransmit => "none",
            ArqMode::StopAndWait => "stop-and-wait",
            ArqMode::GoBackN => "go-back-n",
            ArqMode::SelectiveRepeat => "selective-repeat",
        }
    }

    /// The window actually used: 1 for stop-and-wait, `requested` otherwise.
    pub fn effective_window(self, requested: u32) -> u32 {
        match self {
            ArqMode::StopAndWait => 1,
            _ => requested,
        }
    }
}
