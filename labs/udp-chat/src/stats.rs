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
    /// Bytes of every datagram sent (headers, ACKs and retransmissions included): what the
    /// reliability costs on the wire, compared with `delivered_bytes` at the other end.
    pub bytes_sent: u64,
    /// Bytes of every datagram received that parsed.
    pub bytes_received: u64,
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
    /// Datagrams refused: bad header, impossible ACK, bad fragment, too large.
    pub malformed: u64,
    /// Incomplete fragmented messages given up because newer ones needed the room
    /// ([`crate::fragment::MAX_PARTIAL`]): a piece was lost (plain UDP) or never sent.
    pub incomplete_dropped: u64,
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

impl Stats {
    /// The counters in a few lines of text, for `/stats` and the end of a chat. `elapsed` is how
    /// long the conversation has run, for the goodput (delivered message bytes per second).
    pub fn summary_lines(&self, elapsed: Duration) -> Vec<String> {
        let srtt = self.srtt.map_or("not measured yet".to_string(), |srtt| {
            format!("{:.1} ms", millis(srtt))
        });
        let goodput = self.delivered_bytes as f64 / elapsed.as_secs_f64().max(1e-9);
        vec![
            format!(
                "datagrams sent {} ({} bytes), received {} ({} bytes), malformed {}",
                self.datagrams_sent,
                self.bytes_sent,
                self.datagrams_received,
                self.bytes_received,
                self.malformed
            ),
            format!(
                "retransmissions {} ({} fast), timeouts {}, duplicates dropped {}, \
                 out of order held back {} (discarded {})",
                self.retransmissions,
                self.fast_retransmits,
                self.timeouts,
                self.duplicates_dropped,
                self.out_of_order_held,
                self.out_of_order_discarded
            ),
            format!(
                "messages sent {}, received {} ({} bytes); SRTT {srtt}, RTO {:.0} ms; \
                 goodput {goodput:.0} B/s over {:.1} s",
                self.messages_sent,
                self.messages_delivered,
                self.delivered_bytes,
                millis(self.rto),
                elapsed.as_secs_f64()
            ),
        ]
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
