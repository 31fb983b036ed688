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
//! the sender resends only the datagram whose own timer ran out (or, below, that later ACKs
//! show missing). The window must stay below half the sequence space (here far below) or old
//! and new numbers become ambiguous.
//!
//! ### Fast retransmit: do not wait for the timer when the ACKs already tell
//! The RTO is at least 200 ms, several round trips on a fast path, and while the datagram at the
//! front of the window waits for it the window cannot slide: one loss stalls the whole sender.
//! But the selective ACKs for the datagrams *after* a hole already say that the hole is probably
//! a loss, so selective repeat resends it as soon as [`DUP_THRESH`] (3) later datagrams have been
//! selectively acknowledged, the rule TCP uses (RFC 5681 §3.2 with duplicate ACKs, RFC 6675 §4
//! with SACK: a segment is lost once `DupThresh` SACKed segments lie above it):
//! ```text
//!  sender (window N = 8)            receiver
//!    |--- DATA 1 -------X            |   lost
//!    |--- DATA 2 ------------------->|   early: held
//!    |--- DATA 3 ------------------->|   early: held
//!    |--- DATA 4 ------------------->|   early: held
//!    |--- DATA 5 ------------------->|   early: held
//!    |<------------ ACK 1 (sel 2) ---|   1 has 1 later datagram acknowledged
//!    |<------------ ACK 1 (sel 3) ---|   2 later
//!    |<------------ ACK 1 (sel 4) ---|   3 later = DUP_THRESH: resend 1 now,
//!    |--- DATA 1 (RETRANSMIT) ------>|   long before its RTO; deliver 1..5
//!    |<------------ ACK 1 (sel 5) ---|   4 later: already resent, not again
//!    |<------------ ACK 6 (sel 1) ---|   cumulative: the window slides past 1..5
//! ```
//! Why 3 and not 1: datagrams can be *reordered*, and a datagram overtaken by one or two later
//! ones is late, not lost. The sender cannot tell the two apart from one ACK, so RFC 5681 §3.2
//! waits for "a small number" of them, three, as the point where loss is more likely than
//! reordering, and RFC 6675 §2 keeps `DupThresh = 3`; a lower threshold
//! resends reordered datagrams needlessly, a higher one waits longer on real losses and never
//! fires when fewer than that many datagrams follow the hole (then the timer still does).
//!
//! A fast retransmit is still a retransmission: it carries the RETRANSMIT flag and, by Karn's rule
//! ([`crate::rto`]), its ACK gives no RTT sample. Unlike a timeout it does **not** back off the
//! RTO: ACKs are arriving, so the path works and only one datagram went missing. Each datagram is
//! fast-retransmitted at most once; if that copy is lost as well, its own timer recovers it (with
//! backoff). Fast retransmits are counted in [`crate::Stats::fast_retransmits`] as well as in
//! `retransmissions`. Stop-and-wait has nothing after the hole to be acknowledged and go-back-N's
//! receiver holds nothing early, so neither uses it.
//!
//! ## No retransmission: plain UDP
//! [`ArqMode::NoRetransmit`] numbers datagrams but never ACKs or resends, and delivers whatever
//! arrives, in arrival order, duplicates included. Run a chat over the fault injector in this mode
//! to see why the others exist.
//!
//! ## Timers and giving up
//! The timeout is the RFC 6298 §2 RTO ([`crate::rto`]). Stop-and-wait and go-back-N run one timer for
//! the oldest unacknowledged datagram, as RFC 6298 §5 describes for TCP; selective repeat keeps a
//! deadline per datagram, and may resend before it by fast retransmit.
//!
//! When to give up is counted per timer. Selective repeat: a datagram retransmitted `max_retries`
//! times whose own timer fires again. Stop-and-wait and go-back-N: `max_retries` expiries in a
//! row with nothing new acknowledged in between, and then one more. (Counting a go-back-N
//! datagram's own transmissions would be wrong: every timeout resends the whole window, so a
//! datagram at the back is resent once per loss in front of it and would use up its retries on
//! a path that works.) Then the peer is declared unreachable: the connection reports it and stops.
//!
//! ## Layout
//! - [`sender`](Sender): the send window, timers, Karn's rule, giving up;
//! - [`receiver`](Receiver): duplicate suppression, holding back or discarding early datagrams,
//!   in-order delivery, what to acknowledge.

mod receiver;
mod sender;

pub use receiver::{Received, Receiver};
pub use sender::{AckError, DUP_THRESH, GaveUp, Outbound, Outgoing, Sender};

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
