//! # Counters for the programs to print
//!
//! Everything the reliability layer does is counted, so `udp-chat bench` and `--stats` can show
//! what the network did and what it cost to hide it.

use std::time::Duration;

/// A snapshot of one connection's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams handed to the network, including retransmissions and ACKs.
    pub datagrams_sent: u64,
    /// Datagrams received that parsed (malformed ones are in `malformed`).
    pub datagrams_received: u64,
    /// Datagrams sent again, after a timeout or by fast retransmit.
    pub retransmissions: u64,
    /// Of `retransmissions`, those sent by selective repeat's fast retransmit (enough later
    /// datagrams acknowledged, see [`crate::arq`]) rather than after a timeout.
    pub fast_retransmits: u64,
    /// Retransmission timer expiries.
    pub timeouts: u64,
    /// Sequenced datagrams received again after they were already taken (dropped, re-ACKed).
    pub duplicates_dropped: u64,
    /// Datagrams that arrived early and were kept until the gap before them filled
    /// (selective repeat only).
    pub out_of_order_held: u64,
    /// Datagrams that arrived early and were thrown away (stop-and-wait, go-back-N).
    pub out_of_order_discarded: u64,
    /// Datagrams refused: bad header, impossible ACK, bad fragment.
    pub malformed: u64,
    /// Chat messages accepted by `send_message`.
    pub messages_sent: u64,
    /// Chat messages delivered to the user.
    pub messages_delivered: u64,
    /// Bytes of chat messages delivered to the user.
    pub delivered_bytes: u64,
    /// Smoothed round-trip time, once measured.
    pub srtt: Option<Duration>,
    /// The current retransmission timeout.
    pub rto: Duration,
}
