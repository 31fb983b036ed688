//! # Summarizing measurements
//!
//! Benchmarks report latency as percentiles, not averages: the median (p50) says what a typical
//! request sees, the 99th percentile (p99) what one request in a hundred sees, which is where
//! queueing and stalls show. An average hides both.

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
}
