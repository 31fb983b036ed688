//! The receiving half: drop duplicates, hold back or discard early datagrams, deliver in order,
//! and say what to acknowledge.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::ArqMode;
use crate::seq::Seq;
use crate::stats::Stats;
use crate::wire::{Flags, Header, Kind};

/// A sequenced datagram handed up, in order (or in arrival order in plain UDP mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Its header.
    pub header: Header,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// The receiver's state for one peer.
#[derive(Debug)]
pub struct Receiver {
    mode: ArqMode,
    window: u32,
    /// The next sequence number to deliver; everything before it has been delivered. This is the
    /// cumulative acknowledgement we send.
    expected: Seq,
    /// Selective repeat: datagrams that arrived early, by sequence number. Only numbers within
    /// `window` of `expected` are kept, so this never holds more than `window` entries.
    held: BTreeMap<u32, Received>,
}

impl Receiver {
    /// A receiver expecting the peer's first datagram to be numbered `initial_seq`.
    pub fn new(mode: ArqMode, window: u32, initial_seq: Seq) -> Self {
        Self {
            mode,
            window: mode.effective_window(window),
            expected: initial_seq,
            held: BTreeMap::new(),
        }
    }

    /// The cumulative acknowledgement: every number before this has been delivered.
    pub fn cumulative(&self) -> Seq {
        self.expected
    }

    /// Takes one sequenced datagram. Returns what can now be delivered, in order, and the ACK to
    /// send (none in plain UDP mode).
    pub fn on_sequenced(
        &mut self,
        header: Header,
        payload: &[u8],
        stats: &mut Stats,
    ) -> (Vec<Received>, Option<Header>) {
        let seq = header.seq;
        let this = Received {
            header,
            payload: payload.to_vec(),
        };
        if self.mode == ArqMode::NoRetransmit {
            return (vec![this], None);
        }
        let mut deliver = Vec::new();
        let mut flags = Flags::default();
        if seq.is_before(self.expected) {
            // Already delivered: the sender did not hear our ACK. Drop it, but ACK again.
            stats.duplicates_dropped += 1;
        } else if seq == self.expected {
            deliver.push(this);
            self.expected = self.expected.next();
            // Selective repeat: the gap may now be filled up to some held datagrams.
            while let Some(next) = self.held.remove(&self.expected.0) {
                deliver.push(next);
                self.expected = self.expected.next();
            }
        } else if self.mode == ArqMode::SelectiveRepeat && seq.since(self.expected) < self.window {
            match self.held.entry(seq.0) {
                Entry::Occupied(_) => stats.duplicates_dropped += 1,
                Entry::Vacant(slot) => {
                    stats.out_of_order_held += 1;
                    slot.insert(this);
                }
            }
        } else {
            // Go-back-N and stop-and-wait keep nothing that is not next in line; the sender
            // will resend it. (Selective repeat lands here only for a number beyond its window.)
            stats.out_of_order_discarded += 1;
            flags = Flags(Flags::NOT_HELD);
        }
        let ack = Header {
            seq,
            ack: self.expected,
            flags,
            ..Header::new(Kind::Ack)
        };
        (deliver, Some(ack))
    }
}
