//! # Summarizing measurements
//!
//! Benchmarks report latency as percentiles, not averages: the median (p50) says what a typical
//! request sees, the 99th percentile (p99) what one request in a hundred sees, which is where
//! queueing and stalls show. An average hides both.
//!
//! A throughput bench that repeats a transfer a few times reports the **median** round: one
//! round slowed by another program on a shared machine moves an average but not a median. Its
//! rate is in MiB/s (binary, like the sizes the labs print).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::term;

/// What every lab's `bench` subcommand reports, so one function can print it the same way.
pub trait Report {
    /// One line of JSON, for scripts (`--json`).
    fn to_json(&self) -> String;
    /// One sentence for people.
    fn summary(&self) -> String;
    /// Lost, wrong or unfinished work; any makes the command fail.
    fn errors(&self) -> u64;
}

/// Prints `report` as JSON or as a status line, and fails when it counted errors, so a script
/// running a benchmark notices. `what_errors_mean` tells a student where to look.
pub fn print_report(report: &impl Report, json: bool, what_errors_mean: &str) -> Result<()> {
    if json {
        println!("{}", report.to_json());
    } else if report.errors() == 0 {
        term::success(report.summary());
    } else {
        term::error(report.summary());
    }
    match report.errors() {
        0 => Ok(()),
        errors => Err(Error::Protocol(format!(
            "{errors} errors: {what_errors_mean}"
        ))),
    }
}

/// The `pct`th percentile of `sorted` samples by the nearest-rank method (the smallest sample
/// with at least `pct`% of the samples at or below it); zero for no samples.
pub fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1) - 1;
    sorted.get(rank).copied().unwrap_or(Duration::ZERO)
}

/// The middle value of sorted samples (the mean of the two middle ones for an even count);
/// `None` for no samples.
pub fn median(sorted: &[Duration]) -> Option<Duration> {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted.get(middle).copied()
    } else {
        let (low, high) = (sorted.get(middle.checked_sub(1)?)?, sorted.get(middle)?);
        Some((*low + *high) / 2)
    }
}

/// Bytes over a duration in MiB/s (0 for no time at all, which a real transfer never takes).
pub fn mib_per_s(bytes: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        bytes as f64 / (1u64 << 20) as f64 / seconds
    } else {
        0.0
    }
}

/// `value` rounded to `places` decimal places, for figures in a report or a JSON line (a
/// benchmark's last digits are noise, and a reader should not be asked to read them).
pub fn rounded(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nearest-rank percentiles on a small sample.
    #[test]
    fn percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99), Duration::ZERO);
    }

    /// Medians of odd and even counts, none of nothing; a rate is bytes over seconds.
    #[test]
    fn medians_and_rates() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(1), ms(5), ms(9)]), Some(ms(5)));
        assert_eq!(median(&[ms(2), ms(4)]), Some(ms(3)));
        assert_eq!(median(&[]), None);
        assert_eq!(mib_per_s(1 << 20, ms(500)), 2.0);
        assert_eq!(mib_per_s(1 << 20, Duration::ZERO), 0.0);
    }
}
