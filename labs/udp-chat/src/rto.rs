//! # How long to wait before resending: the retransmission timeout (RFC 6298 §2, §5)
//!
//! A sender that resends after a timeout must choose the timeout. Too short, and it resends
//! datagrams that were only slow, adding load to a network that is already struggling. Too long,
//! and a loss stalls the conversation. The right value depends on the round-trip time (RTT),
//! which differs per path and changes over time, so it is *measured*: each acknowledgement gives
//! one RTT sample, and RFC 6298 §2 keeps two running averages of them:
//!
//! - `SRTT`, the smoothed RTT: mostly the old value, a little of the new sample (α = 1/8);
//! - `RTTVAR`, how much samples vary around SRTT (β = 1/4);
//! - `RTO = SRTT + max(G, 4·RTTVAR)`: the average plus a margin that grows when the path is
//!   jittery. `G` is the clock granularity.
//!
//! ## Karn's rule: why a retransmitted datagram gives no sample
//! Suppose datagram 5 is sent, times out, and is sent again; then an ACK for 5 arrives. Did it
//! answer the first copy or the second? The sender cannot know. Measuring from the first send
//! may count a whole timeout into the RTT (RTO grows for nothing); measuring from the second may
//! match an ACK of the first copy that was merely late, giving an RTT that is far too small, so
//! the timer fires early, causes more retransmissions, and more wrong samples. Karn and Partridge
//! (1987) fixed this by simply not sampling an acknowledged datagram that was ever retransmitted
//! (RFC 6298 §3). The sender in [`crate::arq`] applies the rule; this module only averages the
//! samples it is given.
//!
//! ## Backoff
//! When the timer fires, the RTO doubles (RFC 6298 §5.5), up to a ceiling: if the network is
//! congested, resending at the same rate would make it worse. The doubled value is kept until a
//! new valid sample arrives (RFC 6298 §5, the note after rule 5.7), and because of Karn's rule
//! that sample must come from a datagram that got through on its first try.

use std::time::Duration;

/// α = 1/8: weight of a new sample in SRTT (RFC 6298 §2.3), written as a fraction.
const ALPHA_DIV: u32 = 8;
/// β = 1/4: weight of a new deviation in RTTVAR (RFC 6298 §2.3).
const BETA_DIV: u32 = 4;
/// K = 4: how many RTTVARs of margin the RTO keeps above SRTT (RFC 6298 §2.2).
const K: u32 = 4;

/// The timer's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoConfig {
    /// RTO before any sample. RFC 6298 §2.1 says 1 second.
    pub initial: Duration,
    /// Floor. RFC 6298 §2.4 says 1 second, to avoid spurious retransmissions; Linux uses 200 ms
    /// and so does this lab by default, so a lost chat line costs a fraction of a second.
    pub min: Duration,
    /// Ceiling. RFC 6298 §2.5 allows one "provided it is at least 60 seconds"; a chat lab wants
    /// to report an unreachable peer within seconds, so the default is 4 seconds. A parameter.
    pub max: Duration,
    /// `G`, the clock granularity (RFC 6298 §2). Our clocks are fine-grained; 1 ms.
    pub granularity: Duration,
}

impl Default for RtoConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            min: Duration::from_millis(200),
            max: Duration::from_secs(4),
            granularity: Duration::from_millis(1),
        }
    }
}

/// The RFC 6298 §2 estimator: SRTT, RTTVAR and the current RTO.
#[derive(Clone, Debug)]
pub struct RtoEstimator {
    config: RtoConfig,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
}

impl RtoEstimator {
    /// An estimator that has seen no samples: RTO is `config.initial`, clamped to the bounds.
    pub fn new(config: RtoConfig) -> Self {
        Self {
            config,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: config.initial.clamp(config.min, config.max.max(config.min)),
        }
    }

    /// The smoothed RTT, once there is at least one sample.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The RTT variation.
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// The timeout to use now.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// The parameters.
    pub fn config(&self) -> RtoConfig {
        self.config
    }

    /// Takes one RTT measurement `r` (never from a retransmitted datagram: Karn's rule).
    pub fn on_sample(&mut self, r: Duration) {
        match self.srtt {
            // RFC 6298 §2.2: the first measurement sets SRTT = R, RTTVAR = R/2.
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            // RFC 6298 §2.3: RTTVAR first (it uses the *old* SRTT), then SRTT.
            //   RTTVAR = (1 - β)·RTTVAR + β·|SRTT - R'|
            //   SRTT   = (1 - α)·SRTT   + α·R'
            Some(srtt) => {
                self.rttvar = self.rttvar * (BETA_DIV - 1) / BETA_DIV + srtt.abs_diff(r) / BETA_DIV;
                self.srtt = Some(srtt * (ALPHA_DIV - 1) / ALPHA_DIV + r / ALPHA_DIV);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        // RFC 6298 §2.2/§2.3: RTO = SRTT + max(G, K·RTTVAR). A new sample also ends any backoff
        // (RFC 6298 §5, note after rule 5.7), because the RTO is recomputed from the averages.
        let rto = srtt.saturating_add(self.config.granularity.max(self.rttvar * K));
        self.rto = self.clamp(rto);
    }

    /// The timer fired: double the RTO (RFC 6298 §5.5), never past the ceiling.
    pub fn on_timeout(&mut self) {
        self.rto = self.clamp(self.rto.saturating_mul(2));
    }

    /// RFC 6298 §2.4 (floor) and §2.5 (ceiling).
    fn clamp(&self, rto: Duration) -> Duration {
        rto.max(self.config.min)
            .min(self.config.max.max(self.config.min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn estimator() -> RtoEstimator {
        RtoEstimator::new(RtoConfig {
            initial: ms(1000),
            min: ms(100),
            max: ms(3000),
            granularity: ms(1),
        })
    }

    /// Before any sample the RTO is the initial value (RFC 6298 §2.1).
    #[test]
    fn starts_at_initial() {
        let e = estimator();
        assert_eq!(e.rto(), ms(1000));
        assert_eq!(e.srtt(), None);
    }

    /// First sample: SRTT = R, RTTVAR = R/2, RTO = R + 4·R/2 = 3R (RFC 6298 §2.2).
    #[test]
    fn first_sample() {
        let mut e = estimator();
        e.on_sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), ms(50));
        assert_eq!(e.rto(), ms(300));
    }

    /// Later samples move the averages by α and β (RFC 6298 §2.3), worked by hand.
    #[test]
    fn later_samples_update_by_alpha_and_beta() {
        let mut e = estimator();
        e.on_sample(ms(100));
        e.on_sample(ms(200));
        // RTTVAR = 3/4·50 + 1/4·|100 - 200| = 37.5 + 25 = 62.5 ms
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        // SRTT = 7/8·100 + 1/8·200 = 112.5 ms
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        // RTO = 112.5 + 4·62.5 = 362.5 ms
        assert_eq!(e.rto(), Duration::from_micros(362_500));
    }

    /// A steady RTT shrinks RTTVAR until the granularity G is the margin.
    #[test]
    fn steady_rtt_converges() {
        let mut e = estimator();
        for _ in 0..200 {
            e.on_sample(ms(150));
        }
        assert_eq!(e.srtt(), Some(ms(150)));
        assert!(e.rto() < ms(152), "rto {:?}", e.rto());
    }

    /// Each timeout doubles the RTO up to the ceiling; a new sample ends the backoff.
    #[test]
    fn backoff_doubles_then_caps_then_resets() {
        let mut e = estimator();
        e.on_sample(ms(100)); // RTO 300 ms
        e.on_timeout();
        assert_eq!(e.rto(), ms(600));
        e.on_timeout();
        assert_eq!(e.rto(), ms(1200));
        e.on_timeout();
        e.on_timeout();
        assert_eq!(e.rto(), ms(3000), "capped at max");
        e.on_sample(ms(100));
        assert!(e.rto() < ms(400), "a fresh sample recomputes the RTO");
    }

    /// Tiny RTTs are held up by the floor, huge ones down by the ceiling.
    #[test]
    fn bounds_hold() {
        let mut e = estimator();
        e.on_sample(ms(1));
        assert_eq!(e.rto(), ms(100));
        let mut e = estimator();
        e.on_sample(ms(10_000));
        assert_eq!(e.rto(), ms(3000));
    }
}
