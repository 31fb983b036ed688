//! The sending half: a window of datagrams in flight, their timers, and when to give up.

use std::collections::VecDeque;
use std::time::Instant;

use super::ArqMode;
use crate::rto::{RtoConfig, RtoEstimator};
use crate::seq::Seq;
use crate::wire::{Flags, Header, Kind};

/// Selective repeat's fast-retransmit threshold: a datagram is presumed lost, and resent at once,
/// when this many datagrams sent after it have been selectively acknowledged. TCP's duplicate-ACK
/// threshold (RFC 5681 §3.2) and `DupThresh` (RFC 6675 §2, §4); see [`super`] for why it is 3.
pub const DUP_THRESH: u32 = 3;

/// Slots an empty send queue keeps when it gives its spare capacity back: enough for an ordinary
/// burst (a relayed message of up to 4 fragments, a few notices) without reallocating.
pub const KEPT_CAPACITY: usize = 16;

/// A sequenced datagram waiting for a sequence number and its turn in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// JOIN, LEAVE or DATA.
    pub kind: Kind,
    /// Which piece of its message.
    pub frag_index: u8,
    /// How many pieces its message has.
    pub frag_count: u8,
    /// The bytes to carry.
    pub payload: Vec<u8>,
}

/// A datagram sent and not yet acknowledged.
#[derive(Debug)]
struct InFlight {
    seq: Seq,
    item: Outgoing,
    /// When it was last sent (for the RTT sample, used only if `transmissions == 1`).
    sent_at: Instant,
    /// How many times it has been sent, 1 for the first.
    transmissions: u32,
    /// Selective repeat's per-datagram timer.
    deadline: Instant,
    /// Acknowledged selectively, but an earlier one is still missing.
    acked: bool,
    /// An RTT sample was taken from it (at most one: a later ACK may answer a duplicate).
    sampled: bool,
    /// A timer fired (or fast retransmit decided): send it again at the next `poll_transmit`.
    resend: bool,
    /// Selective repeat: how many datagrams after this one have been selectively acknowledged
    /// while this one was not (RFC 6675 §4's "SACKed sequences above it").
    sacked_after: u32,
    /// Selective repeat: already fast-retransmitted once. A datagram is fast-retransmitted at
    /// most once; if that copy is lost too, its timer recovers it (RFC 6675 §5, like TCP).
    fast_retransmitted: bool,
}

/// The peer did not acknowledge a datagram through every allowed retransmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaveUp {
    /// The datagram that was never acknowledged.
    pub seq: Seq,
    /// How many times it was sent.
    pub transmissions: u32,
}

/// Where one sequenced datagram we send stands, for a program that shows it
/// ([`Sender::outbound`]; `udp-chat connect` shows each typed line this way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// Accepted, but waiting for room in the window: not sent yet.
    Queued,
    /// Sent `transmissions` times (1 for the first) and not acknowledged yet.
    InFlight {
        /// How many times it has been sent.
        transmissions: u32,
    },
    /// Acknowledged: selectively, or cumulatively once the window slid past it. How often it
    /// was sent is no longer kept (the window forgets acknowledged datagrams).
    Acknowledged,
    /// Sent without ARQ ([`ArqMode::NoRetransmit`]): nobody will say whether it arrived.
    Unconfirmed,
}

/// An ACK that cannot be right: a confused or malicious peer. It is refused and counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The ACK claims datagrams we have not sent yet.
    #[error("ACK for {ack} but the next sequence number to send is {next}: never sent")]
    NeverSent {
        /// The number acknowledged.
        ack: Seq,
        /// The next number we would send.
        next: Seq,
    },
}

/// The sender's state for one peer.
#[derive(Debug)]
pub struct Sender {
    mode: ArqMode,
    window: u32,
    max_retries: u32,
    /// The backlog: how many datagrams may wait for the window, on top of the `window` in
    /// flight. Together they bound what this sender holds for a peer that stops acknowledging.
    max_queued: usize,
    /// The number the next new datagram gets.
    next_seq: Seq,
    /// Accepted from the user, not yet sent because the window is full. Bounded by `max_queued`;
    /// its spare capacity is given back once it drains (see [`Self::poll_transmit`]).
    queue: VecDeque<Outgoing>,
    /// Sent, not yet acknowledged, oldest first. At most `window` entries.
    in_flight: VecDeque<InFlight>,
    rto: RtoEstimator,
    /// Stop-and-wait and go-back-N: the one retransmission timer (RFC 6298 §5).
    timer: Option<Instant>,
    /// Stop-and-wait and go-back-N: timer expiries since the last ACK that acknowledged
    /// something new. This, not a datagram's own count, decides when to give up: a timeout
    /// resends the whole window, so a datagram at the back is resent once for every loss in
    /// front of it and would reach `max_retries` on a merely lossy path (TCP likewise counts
    /// consecutive expiries and resets the count when new data is acknowledged).
    timeouts_in_a_row: u32,
    /// Selective repeat: retransmissions decided by [`DUP_THRESH`] rather than a timer.
    fast_retransmits: u64,
}

impl Sender {
    /// A sender whose first datagram is numbered `initial_seq`.
    pub fn new(
        mode: ArqMode,
        window: u32,
        max_retries: u32,
        max_queued: usize,
        rto: RtoConfig,
        initial_seq: Seq,
    ) -> Self {
        Self {
            mode,
            window: mode.effective_window(window),
            max_retries,
            max_queued,
            next_seq: initial_seq,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            rto: RtoEstimator::new(rto),
            timer: None,
            timeouts_in_a_row: 0,
            fast_retransmits: 0,
        }
    }

    /// How many datagrams were fast-retransmitted (selective repeat only; 0 in other modes).
    /// Each is also a retransmission: it carries the RETRANSMIT flag and, by Karn's rule, gives
    /// no RTT sample.
    pub fn fast_retransmits(&self) -> u64 {
        self.fast_retransmits
    }

    /// The RTT estimator.
    pub fn rto(&self) -> &RtoEstimator {
        &self.rto
    }

    /// Datagrams held for the peer: waiting for the window, or sent and not yet acknowledged.
    /// At most `window + max_queued`.
    pub fn held(&self) -> usize {
        self.queue.len() + self.in_flight.len()
    }

    /// How many more datagrams the queue accepts.
    pub fn room(&self) -> usize {
        self.max_queued.saturating_sub(self.queue.len())
    }

    /// New datagrams that would be sent at once if queued now: free window slots not already
    /// claimed by the queue (plain UDP has no window: the queue's room).
    pub fn window_room(&self) -> usize {
        if self.mode == ArqMode::NoRetransmit {
            return self.room();
        }
        (self.window as usize)
            .saturating_sub(self.in_flight.len())
            .saturating_sub(self.queue.len())
    }

    /// Datagrams sent and not yet acknowledged (at most the window).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The number the next datagram pushed will carry: numbers are given in push order, when a
    /// datagram leaves the queue, so it is the next unused number plus what waits in the queue.
    pub fn next_to_push(&self) -> Seq {
        let queued = u32::try_from(self.queue.len()).unwrap_or(u32::MAX);
        self.next_seq.wrapping_add(queued)
    }

    /// Where datagram `seq` stands. Only meaningful for a number handed out recently (within
    /// 2^31 of the next one, RFC 1982 §3.2): a number from the far past reads as acknowledged or
    /// queued, whichever serial order makes it.
    pub fn outbound(&self, seq: Seq) -> Outbound {
        if !seq.is_before(self.next_seq) {
            return Outbound::Queued;
        }
        if self.mode == ArqMode::NoRetransmit {
            return Outbound::Unconfirmed;
        }
        match self.in_flight.iter().find(|entry| entry.seq == seq) {
            Some(entry) if !entry.acked => Outbound::InFlight {
                transmissions: entry.transmissions,
            },
            // Acknowledged selectively, or gone from the window because it was acknowledged.
            _ => Outbound::Acknowledged,
        }
    }

    /// Nothing queued and nothing waiting for an ACK.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_empty()
    }

    /// Queues a datagram. The caller checks [`Self::room`] first; past the bound it is refused.
    pub fn push(&mut self, item: Outgoing) -> Result<(), Outgoing> {
        if self.room() == 0 {
            return Err(item);
        }
        self.queue.push_back(item);
        Ok(())
    }

    /// The next datagram to send at `now`: retransmissions first, then new data if the window
    /// has room. The header's `ack` field is left for the caller to fill.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(Header, Vec<u8>)> {
        let rto = self.rto.rto();
        if let Some(entry) = self.in_flight.iter_mut().find(|e| e.resend && !e.acked) {
            entry.resend = false;
            entry.transmissions += 1;
            entry.sent_at = now;
            entry.deadline = now + rto;
            let mut header = header_for(entry.seq, &entry.item);
            header.flags = Flags(Flags::RETRANSMIT);
            return Some((header, entry.item.payload.clone()));
        }
        let window_full = self.in_flight.len() as u64 >= u64::from(self.window);
        if self.mode != ArqMode::NoRetransmit && window_full {
            return None;
        }
        let item = self.queue.pop_front()?;
        self.give_back_spare_capacity();
        let seq = self.next_seq;
        self.next_seq = seq.next();
        let header = header_for(seq, &item);
        if self.mode == ArqMode::NoRetransmit {
            // Plain UDP: fire and forget.
            return Some((header, item.payload));
        }
        let payload = item.payload.clone();
        self.in_flight.push_back(InFlight {
            seq,
            item,
            sent_at: now,
            transmissions: 1,
            deadline: now + rto,
            acked: false,
            sampled: false,
            resend: false,
            sacked_after: 0,
            fast_retransmitted: false,
        });
        // RFC 6298 §5.1: when data is sent and the timer is not running, start it.
        if self.timer.is_none() {
            self.timer = Some(now + rto);
        }
        Some((header, payload))
    }

    /// A `VecDeque` keeps its capacity after it drains: a queue that once held the whole backlog
    /// would go on holding the memory for it as long as the peer stays. Once the queue is empty,
    /// anything above [`KEPT_CAPACITY`] is handed back to the allocator.
    fn give_back_spare_capacity(&mut self) {
        if self.queue.is_empty() && self.queue.capacity() > KEPT_CAPACITY {
            self.queue.shrink_to(KEPT_CAPACITY);
        }
    }

    /// Takes an ACK: `header.ack` is cumulative, `header.seq` selective. Returns whether it
    /// acknowledged anything new.
    pub fn on_ack(&mut self, header: &Header, now: Instant) -> Result<bool, AckError> {
        if self.mode == ArqMode::NoRetransmit {
            return Ok(false);
        }
        let (cumulative, selective) = (header.ack, header.seq);
        // Checked before anything changes: an ACK for a number we never used is a peer bug or
        // an attack, and must not move the window.
        for claimed in [cumulative, selective.next()] {
            if self.next_seq.is_before(claimed) {
                return Err(AckError::NeverSent {
                    ack: claimed,
                    next: self.next_seq,
                });
            }
        }
        let mut progress = false;
        let mut newly_sacked = None;
        if let Some((index, entry)) = self
            .in_flight
            .iter_mut()
            .enumerate()
            .find(|(_, e)| e.seq == selective)
        {
            // Karn's rule (RFC 6298 §3): a datagram sent more than once gives no sample, because
            // we cannot tell which copy this ACK answers.
            if entry.transmissions == 1 && !entry.sampled {
                entry.sampled = true;
                self.rto
                    .on_sample(now.saturating_duration_since(entry.sent_at));
            }
            if !entry.acked && !header.flags.not_held() {
                entry.acked = true;
                progress = true;
                newly_sacked = Some(index);
            }
        }
        if self.mode == ArqMode::SelectiveRepeat
            && let Some(index) = newly_sacked
        {
            self.count_sack_above(index, cumulative);
        }
        // Slide the window past everything acknowledged cumulatively, or selectively at the front.
        while let Some(front) = self.in_flight.front() {
            if !(front.acked || front.seq.is_before(cumulative)) {
                break;
            }
            progress |= !front.acked;
            self.in_flight.pop_front();
        }
        if progress {
            self.timeouts_in_a_row = 0;
        }
        if progress && self.mode != ArqMode::SelectiveRepeat {
            // RFC 6298 §5.2: all data acknowledged, stop the timer. §5.3: new data acknowledged,
            // restart it so it times the oldest datagram still outstanding.
            self.timer = (!self.in_flight.is_empty()).then(|| now + self.rto.rto());
        }
        Ok(progress)
    }

    /// Selective repeat's fast retransmit (RFC 5681 §3.2, RFC 6675 §4-5): the datagram at
    /// `index` has just been selectively acknowledged for the first time, so every datagram
    /// before it that is still unacknowledged has one more later datagram known to have arrived.
    /// The first time that count reaches [`DUP_THRESH`], the datagram is presumed lost and marked
    /// for resending at the next `poll_transmit`, without waiting for its timer and without
    /// backing off the RTO: the ACKs show data is flowing, so this is not a timeout's signal that
    /// the path may be gone. `poll_transmit` counts it as a transmission, so Karn's rule still
    /// refuses an RTT sample from it. Datagrams before `cumulative` arrived after all (the
    /// window slides past them next), so they are not counted.
    fn count_sack_above(&mut self, index: usize, cumulative: Seq) {
        for entry in self.in_flight.iter_mut().take(index) {
            if entry.acked || entry.seq.is_before(cumulative) {
                continue;
            }
            entry.sacked_after += 1;
            if entry.sacked_after >= DUP_THRESH && !entry.fast_retransmitted && !entry.resend {
                entry.fast_retransmitted = true;
                entry.resend = true;
                self.fast_retransmits += 1;
            }
        }
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.mode {
            ArqMode::NoRetransmit => None,
            ArqMode::StopAndWait | ArqMode::GoBackN => self.timer,
            ArqMode::SelectiveRepeat => self
                .in_flight
                .iter()
                .filter(|e| !e.acked && !e.resend)
                .map(|e| e.deadline)
                .min(),
        }
    }

    /// Fires the timers due at `now`. Returns how many fired (0 or 1 per call), or that the peer
    /// is to be given up on.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<u64, GaveUp> {
        match self.mode {
            ArqMode::NoRetransmit => Ok(0),
            ArqMode::StopAndWait | ArqMode::GoBackN => {
                if self.timer.is_none_or(|at| at > now) {
                    return Ok(0);
                }
                let Some(oldest) = self.in_flight.front() else {
                    self.timer = None;
                    return Ok(0);
                };
                if self.timeouts_in_a_row >= self.max_retries {
                    return Err(GaveUp {
                        seq: oldest.seq,
                        transmissions: oldest.transmissions,
                    });
                }
                self.timeouts_in_a_row += 1;
                // RFC 6298 §5.5: back off the timer.
                self.rto.on_timeout();
                // RFC 6298 §5.4 resends only the earliest unacknowledged datagram (TCP's receiver
                // keeps early data). Our go-back-N receiver keeps nothing early, so everything in
                // flight is sent again, in order. With a window of 1 (stop-and-wait) that is the
                // one datagram.
                for entry in self.in_flight.iter_mut().filter(|e| !e.acked) {
                    entry.resend = true;
                }
                // RFC 6298 §5.6: restart the timer with the backed-off RTO.
                self.timer = Some(now + self.rto.rto());
                Ok(1)
            }
            ArqMode::SelectiveRepeat => {
                let due = |e: &&InFlight| !e.acked && !e.resend && e.deadline <= now;
                if let Some(worst) = self
                    .in_flight
                    .iter()
                    .filter(due)
                    .max_by_key(|e| e.transmissions)
                {
                    self.check_retries(worst)?;
                } else {
                    return Ok(0);
                }
                // One backoff per expiry event, however many datagrams' timers ran out together
                // (a burst loss must not multiply the RTO by 2^burst).
                self.rto.on_timeout();
                for entry in self.in_flight.iter_mut() {
                    if !entry.acked && !entry.resend && entry.deadline <= now {
                        entry.resend = true;
                    }
                }
                Ok(1)
            }
        }
    }

    /// Selective repeat: a datagram already retransmitted `max_retries` times whose own timer
    /// fires again: give up.
    fn check_retries(&self, entry: &InFlight) -> Result<(), GaveUp> {
        if entry.transmissions > self.max_retries {
            return Err(GaveUp {
                seq: entry.seq,
                transmissions: entry.transmissions,
            });
        }
        Ok(())
    }
}

fn header_for(seq: Seq, item: &Outgoing) -> Header {
    Header {
        kind: item.kind,
        seq,
        ack: Seq(0),
        flags: Flags::default(),
        frag_index: item.frag_index,
        frag_count: item.frag_count,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    fn item() -> Outgoing {
        Outgoing {
            kind: Kind::Data,
            frag_index: 0,
            frag_count: 1,
            payload: vec![0; 10],
        }
    }

    /// The ACK a receiver sends for `seq` when it has everything before `cumulative`.
    fn ack(seq: u32, cumulative: u32) -> Header {
        Header {
            seq: Seq(seq),
            ack: Seq(cumulative),
            ..Header::new(Kind::Ack)
        }
    }

    /// A sender in `mode` that has sent datagrams 0..5 at `t0` and heard the ACK for 0.
    fn sent_five(mode: ArqMode, t0: Instant) -> Sender {
        let mut sender = Sender::new(mode, 8, 8, 100, RtoConfig::default(), Seq(0));
        for _ in 0..5 {
            sender.push(item()).unwrap();
        }
        for _ in 0..5 {
            assert!(sender.poll_transmit(t0).is_some());
        }
        sender
            .on_ack(&ack(0, 1), t0 + Duration::from_millis(40))
            .unwrap();
        sender
    }

    /// `outbound` follows one datagram through its life: queued behind a full window, in
    /// flight (counting its transmissions), acknowledged selectively, and still acknowledged once
    /// the window slid past it; `next_to_push` names the number a push will get.
    #[test]
    fn outbound_follows_a_datagram() {
        let t0 = Instant::now();
        let mut sender = Sender::new(
            ArqMode::SelectiveRepeat,
            2,
            8,
            100,
            RtoConfig::default(),
            Seq(0),
        );
        for _ in 0..3 {
            sender.push(item()).unwrap();
        }
        assert_eq!(sender.next_to_push(), Seq(3));
        while sender.poll_transmit(t0).is_some() {}
        assert_eq!(sender.in_flight(), 2);
        assert_eq!(
            sender.outbound(Seq(0)),
            Outbound::InFlight { transmissions: 1 }
        );
        assert_eq!(
            sender.outbound(Seq(2)),
            Outbound::Queued,
            "the window is full"
        );
        let later = t0 + RtoConfig::default().initial;
        assert_eq!(sender.handle_timeout(later), Ok(1));
        while sender.poll_transmit(later).is_some() {}
        assert_eq!(
            sender.outbound(Seq(1)),
            Outbound::InFlight { transmissions: 2 }
        );
        sender.on_ack(&ack(1, 0), later).unwrap();
        assert_eq!(
            sender.outbound(Seq(1)),
            Outbound::Acknowledged,
            "selectively"
        );
        sender.on_ack(&ack(0, 2), later).unwrap();
        assert_eq!(
            sender.outbound(Seq(0)),
            Outbound::Acknowledged,
            "the window slid past"
        );
        assert_eq!(sender.outbound(Seq(1)), Outbound::Acknowledged);
        assert_eq!(sender.next_to_push(), Seq(3));
    }

    /// Plain UDP never hears back: a datagram sent is unconfirmed, not acknowledged.
    #[test]
    fn outbound_without_arq_is_unconfirmed() {
        let mut sender = Sender::new(
            ArqMode::NoRetransmit,
            8,
            8,
            100,
            RtoConfig::default(),
            Seq(0),
        );
        sender.push(item()).unwrap();
        assert_eq!(sender.outbound(Seq(0)), Outbound::Queued);
        assert!(sender.poll_transmit(Instant::now()).is_some());
        assert_eq!(sender.outbound(Seq(0)), Outbound::Unconfirmed);
    }

    /// Go-back-N gives up after `max_retries` expiries *in a row*: a datagram at the back of
    /// the window, resent by every timeout caused by losses in front of it, does not count
    /// against the peer as long as each timeout is followed by progress.
    #[test]
    fn go_back_n_gives_up_only_after_timeouts_without_progress() {
        let t0 = Instant::now();
        let mut sender = Sender::new(ArqMode::GoBackN, 8, 2, 100, RtoConfig::default(), Seq(0));
        for _ in 0..6 {
            sender.push(item()).unwrap();
            sender.poll_transmit(t0).unwrap();
        }
        let mut now = t0;
        let fire_and_resend = |sender: &mut Sender, now: &mut Instant| {
            *now = sender.poll_timeout().unwrap();
            let fired = sender.handle_timeout(*now);
            while sender.poll_transmit(*now).is_some() {}
            fired
        };
        // Four losses at the front, each repaired after one timeout: datagram 5 is sent five
        // times, more than max_retries + 1, and the peer is still reachable.
        for front in 0..4 {
            assert_eq!(fire_and_resend(&mut sender, &mut now), Ok(1));
            sender.on_ack(&ack(front, front + 1), now).unwrap();
        }
        // Now nothing comes back: two more expiries are allowed, the third gives up.
        assert_eq!(fire_and_resend(&mut sender, &mut now), Ok(1));
        assert_eq!(fire_and_resend(&mut sender, &mut now), Ok(1));
        let gave_up = fire_and_resend(&mut sender, &mut now).unwrap_err();
        assert_eq!(gave_up.seq, Seq(4));
    }

    /// Datagram 1 is lost; the third selective ACK for a later datagram resends it at once, with
    /// no RTO backoff, no RTT sample (Karn's rule) and only once.
    #[test]
    fn selective_repeat_fast_retransmits_after_three_later_acks() {
        let t0 = Instant::now();
        let t = t0 + Duration::from_millis(40);
        let mut sender = sent_five(ArqMode::SelectiveRepeat, t0);
        let (srtt, rto) = (sender.rto().srtt(), sender.rto().rto());
        for seq in 2..4 {
            sender.on_ack(&ack(seq, 1), t).unwrap();
            assert_eq!(sender.poll_transmit(t), None, "only {} later", seq - 1);
        }
        sender.on_ack(&ack(4, 1), t).unwrap();
        let (header, _) = sender.poll_transmit(t).unwrap();
        assert_eq!(header.seq, Seq(1));
        assert!(header.flags.retransmit());
        assert_eq!(sender.fast_retransmits(), 1);
        assert_eq!(sender.rto().rto(), rto, "no backoff");
        assert!(
            sender.poll_timeout().unwrap() > t,
            "timer restarted, not due"
        );
        // The ACK for the resent copy gives no RTT sample, however long after it comes.
        let late = t + Duration::from_millis(500);
        sender.on_ack(&ack(1, 5), late).unwrap();
        assert_eq!(sender.rto().srtt(), srtt);
        assert!(sender.is_idle());
        assert_eq!(sender.fast_retransmits(), 1);
    }

    /// A fast-retransmitted datagram that is lost again is left to its timer, not resent again.
    #[test]
    fn fast_retransmit_happens_once_per_datagram() {
        let t0 = Instant::now();
        let t = t0 + Duration::from_millis(40);
        let mut sender = Sender::new(
            ArqMode::SelectiveRepeat,
            8,
            8,
            100,
            RtoConfig::default(),
            Seq(0),
        );
        for _ in 0..8 {
            sender.push(item()).unwrap();
        }
        for _ in 0..8 {
            assert!(sender.poll_transmit(t0).is_some());
        }
        for seq in 1..4 {
            sender.on_ack(&ack(seq, 0), t).unwrap();
        }
        assert_eq!(sender.poll_transmit(t).map(|(h, _)| h.seq), Some(Seq(0)));
        for seq in 4..8 {
            sender.on_ack(&ack(seq, 0), t).unwrap();
        }
        assert_eq!(sender.poll_transmit(t), None);
        assert_eq!(sender.fast_retransmits(), 1);
        let due = sender.poll_timeout().unwrap();
        assert_eq!(sender.handle_timeout(due), Ok(1));
        assert_eq!(sender.poll_transmit(due).map(|(h, _)| h.seq), Some(Seq(0)));
    }

    /// Go-back-N (and so stop-and-wait) keeps its behaviour: later ACKs never resend early.
    #[test]
    fn go_back_n_does_not_fast_retransmit() {
        let t0 = Instant::now();
        let t = t0 + Duration::from_millis(40);
        let mut sender = sent_five(ArqMode::GoBackN, t0);
        for seq in 2..5 {
            let mut header = ack(seq, 1);
            header.flags = Flags(Flags::NOT_HELD);
            sender.on_ack(&header, t).unwrap();
        }
        assert_eq!(sender.poll_transmit(t), None);
        assert_eq!(sender.fast_retransmits(), 0);
    }

    /// A peer that never acknowledges: at most `window` datagrams go out, at most `max_queued`
    /// more wait, and the next is refused; retransmissions do not add to what is held.
    #[test]
    fn a_peer_that_never_acknowledges_holds_at_most_window_plus_backlog() {
        let t0 = Instant::now();
        let (window, backlog) = (8u32, 20usize);
        let mut sender = Sender::new(
            ArqMode::SelectiveRepeat,
            window,
            100,
            backlog,
            RtoConfig::default(),
            Seq(0),
        );
        let mut sent = std::collections::BTreeSet::new();
        let mut accepted = 0;
        while sender.push(item()).is_ok() {
            accepted += 1;
            while let Some((header, _)) = sender.poll_transmit(t0) {
                sent.insert(header.seq.0);
            }
        }
        assert_eq!(accepted, window as usize + backlog);
        assert_eq!(
            sent.len(),
            window as usize,
            "only a window's worth goes out"
        );
        assert_eq!(sender.held(), window as usize + backlog);
        assert_eq!(sender.room(), 0);
        let due = sender.poll_timeout().unwrap();
        assert_eq!(sender.handle_timeout(due), Ok(1));
        while let Some((header, _)) = sender.poll_transmit(due) {
            assert!(header.flags.retransmit());
        }
        assert_eq!(sender.held(), window as usize + backlog);
        assert_eq!(sender.push(item()), Err(item()));
    }

    /// A queue that filled up and drained gives its spare capacity back.
    #[test]
    fn a_drained_queue_gives_its_capacity_back() {
        let t0 = Instant::now();
        let mut sender = Sender::new(
            ArqMode::SelectiveRepeat,
            4,
            8,
            1000,
            RtoConfig::default(),
            Seq(0),
        );
        for _ in 0..1000 {
            sender.push(item()).unwrap();
        }
        assert!(sender.queue.capacity() >= 1000);
        for seq in 0..1000 {
            sender.poll_transmit(t0).unwrap();
            sender.on_ack(&ack(seq, seq + 1), t0).unwrap();
        }
        assert!(sender.is_idle());
        assert!(
            sender.queue.capacity() <= KEPT_CAPACITY,
            "{}",
            sender.queue.capacity()
        );
    }
}
