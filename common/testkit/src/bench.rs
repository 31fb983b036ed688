//! # Testing a lab's `bench` subcommand
//!
//! A bench writes a large file into a scratch directory and must delete it however it ends, so
//! its tests give it a `TMPDIR` of their own ([`run_bench`]) and check afterwards that nothing
//! is left there ([`assert_cleaned_up`]). Its rate must be the bytes over the seconds it reports
//! ([`assert_rate`]), within the rounding of the printed figures.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `bin bench ARGS` with `TMPDIR` set to `tmp`, NO_COLOR set and no standard input;
/// returns (exit code, stdout, stderr).
pub fn run_bench(bin: &str, tmp: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(bin)
        .arg("bench")
        .args(args)
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("run {bin} bench: {err}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Nothing is left in the temporary directory the bench was given.
pub fn assert_cleaned_up(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp).unwrap().collect();
    assert!(
        left.is_empty(),
        "left behind in {}: {left:?}",
        tmp.display()
    );
}

/// The MiB/s figure of `line` is `mib` MiB over its `seconds`, allowing for the printed
/// precision (one decimal of MiB/s, six of seconds).
pub fn assert_rate(line: &str, mib: f64, seconds: f64, rate: f64) {
    assert!(seconds > 0.0, "{line}");
    let expected = mib / seconds;
    assert!(
        (rate - expected).abs() <= 0.05 + expected * 1e-3,
        "{line}: {rate} MiB/s is not {mib} MiB over {seconds} s"
    );
}
