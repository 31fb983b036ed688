//! `tcp-chat bench` on real loopback sockets, with a 1 MiB file: the JSON line a script reads,
//! the table a person reads, the scratch directory gone afterwards, and a copy that differs
//! from the source reported as an error, even when the chat's own check was satisfied.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crate::util::{BIN, TempDir};
use netlab_testkit::bench::{assert_cleaned_up, assert_rate, run_bench};
use tcp_chat::bench::{Bench, Undo};

const MIB: u64 = 1 << 20;

/// `--json`: exactly one line, with the fields in order, the file's byte count, the rounds, and
/// a rate that is the bytes over the seconds.
#[test]
fn one_json_line() {
    let tmp = TempDir::new("bench-json");
    let (code, out, err) = run_bench(
        BIN,
        tmp.path(),
        &["--file-size", "1M", "--rounds", "2", "--json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    let [line] = lines[..] else {
        panic!("expected one line, got:\n{out}")
    };
    let rest = line
        .strip_prefix(
            "{\"lab\":\"tcp-chat\",\"transfer\":\"duplex-in-band\",\"bytes\":1048576,\"seconds\":",
        )
        .unwrap_or_else(|| panic!("unexpected start: {line}"));
    let (seconds, rest) = rest.split_once(",\"mib_per_s\":").unwrap();
    let (rate, rest) = rest.split_once(",\"rounds\":").unwrap();
    assert_eq!(rest, "2}", "{line}");
    let (seconds, rate): (f64, f64) = (seconds.parse().unwrap(), rate.parse().unwrap());
    assert_rate(line, 1.0, seconds, rate);
    assert_cleaned_up(tmp.path());
}

/// Without `--json`: a Markdown table with one row, the chat lines' delays, and a closing line
/// saying every transfer was checked twice.
#[test]
fn table_for_people() {
    let tmp = TempDir::new("bench-table");
    let (code, out, err) = run_bench(BIN, tmp.path(), &["--file-size", "1M", "--rounds", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    let rows: Vec<&str> = out.lines().filter(|line| line.starts_with("| ")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].starts_with("| transfer | MiB/s (median) |"),
        "{out}"
    );
    assert!(rows[1].starts_with("| duplex in-band (/send) | "), "{out}");
    assert!(out.contains("[INFO] chat lines typed every 10 ms"), "{out}");
    assert!(
        out.contains("[SUCCESS] 1 transfer(s) of 1 MiB, each checked twice"),
        "{out}"
    );
    assert_cleaned_up(tmp.path());
}

/// `--chunk-sizes 1K,64K`: one JSON line per size, in the order given, each ending with its
/// `chunk_size`; the table has one row per size with the chat lines' delays beside the rate.
#[test]
fn chunk_sizes_are_compared() {
    let tmp = TempDir::new("bench-chunks");
    let args = [
        "--file-size",
        "256K",
        "--rounds",
        "2",
        "--chunk-sizes",
        "1K,64K",
    ];
    let (code, out, err) = run_bench(BIN, tmp.path(), &[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    let [small, large] = lines[..] else {
        panic!("expected two lines, got:\n{out}")
    };
    for (line, chunk) in [(small, 1024), (large, 65536)] {
        assert!(
            line.starts_with(
                "{\"lab\":\"tcp-chat\",\"transfer\":\"duplex-in-band\",\"bytes\":262144,"
            ),
            "{line}"
        );
        assert!(
            line.ends_with(&format!(",\"rounds\":2,\"chunk_size\":{chunk}}}")),
            "{line}"
        );
    }
    let (code, out, err) = run_bench(BIN, tmp.path(), &args);
    assert_eq!(code, 0, "{out}{err}");
    let rows: Vec<&str> = out.lines().filter(|line| line.starts_with("| ")).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows[0].starts_with("| chunk | MiB/s (median) |"), "{out}");
    assert!(rows[1].starts_with("| 1 KiB | "), "{out}");
    assert!(rows[2].starts_with("| 64 KiB | "), "{out}");
    assert!(
        out.contains("[SUCCESS] 2 transfer(s) of 256 KiB per chunk size, each checked twice"),
        "{out}"
    );
    assert_cleaned_up(tmp.path());
}

/// The bench checks the saved copy itself: a source changed after its fingerprint was taken
/// arrives "intact" as far as the chat can tell (sender and receiver hash the same changed
/// bytes), and still fails the round; so does a source cut short. With the source restored, a
/// round passes again, and the scratch directory goes away with the bench.
#[test]
fn a_copy_unlike_the_source_is_an_error() {
    let mut bench = Bench::start(MIB, false, &Undo::default()).unwrap();
    bench.round().unwrap();
    let source = bench.source();
    let original = std::fs::read(&source).unwrap();
    let mut damaged = original.clone();
    damaged[777_777] ^= 0x40;
    std::fs::write(&source, &damaged).unwrap();
    let err = bench.round().unwrap_err().to_string();
    assert!(
        err.contains("wrong bytes") && err.contains("SHA-256"),
        "{err}"
    );
    std::fs::write(&source, &original[..1000]).unwrap();
    let err = bench.round().unwrap_err().to_string();
    assert!(
        err.contains("the receiver got 1000 bytes; the test file has 1048576"),
        "{err}"
    );
    std::fs::write(&source, &original).unwrap();
    bench.round().unwrap();
    let scratch = bench.scratch_dir().to_path_buf();
    bench.finish().unwrap();
    assert!(!scratch.exists(), "{} is left behind", scratch.display());
}
