//! The sending half: a window of datagrams in flight, their timers, and when to give up.

use std::collections::VecDeque;
use std::time::Instant;

use super::ArqMode;
use crate::rto::{RtoConfig, RtoEstimator};
use crate::seq::Seq;
use crate::wire::{Flags, Header, Kind};

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
    /// A timer fired: send it again at the next `poll_transmit`.
    resend: bool,
}

/// The peer did not acknowledge a datagram through every allowed retransmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaveUp {
    /// The datagram that was never acknowledged.
    pub seq: Seq,
    /// How many times it was sent.
    pub transmissions: u32,
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
    max_queued: usize,
    /// The number the next new datagram gets.
    next_seq: Seq,
    /// Accepted from the user, not yet sent because the window is full. Bounded by `max_queued`.
    queue: VecDeque<Outgoing>,
    /// Sent, not yet acknowledged, oldest first. At most `window` entries.
    in_flight: VecDeque<InFlight>,
    rto: RtoEstimator,
    /// Stop-and-wait and go-back-N: the one retransmission timer (RFC 6298 §5).
    timer: Option<Instant>,
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
        }
    }

    /// The RTT estimator.
    pub fn rto(&self) -> &RtoEstimator {
        &self.rto
    }

    /// How many more datagrams the queue accepts.
    pub fn room(&self) -> usize {
        self.max_queued.saturating_sub(self.queue.len())
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
        });
        // RFC 6298 §5.1: when data is sent and the timer is not running, start it.
        if self.timer.is_none() {
            self.timer = Some(now + rto);
        }
        Some((header, payload))
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
        if let Some(entry) = self.in_flight.iter_mut().find(|e| e.seq == selective) {
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
            }
        }
        // Slide the window past everything acknowledged cumulatively, or selectively at the front.
        while let Some(front) = self.in_flight.front() {
            if !(front.acked || front.seq.is_before(cumulative)) {
                break;
            }
            progress |= !front.acked;
            self.in_flight.pop_front();
        }
        if progress && self.mode != ArqMode::SelectiveRepeat {
            // RFC 6298 §5.2: all data acknowledged, stop the timer. §5.3: new data acknowledged,
            // restart it so it times the oldest datagram still outstanding.
            self.timer = (!self.in_flight.is_empty()).then(|| now + self.rto.rto());
        }
        Ok(progress)
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
                self.check_retries(oldest)?;
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

    /// A datagram already retransmitted `max_retries` times whose timer fires again: give up.
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
