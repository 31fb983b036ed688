//! `compare-protocols --smoke`, the smallest configuration, end to end: the report has every
//! comparison's table, the CSV files and charts are there, and the figures are plausible.
//!
//! The full check runs with the in-program fault injector, whose seeded losses are the same on
//! every run (so "plain UDP lost something at 10%" is a fact, not a chance). As root on Linux a
//! second run puts the chat comparison on a lossy link between two network namespaces and checks that the report
//! says so and that TCP was measured under loss; elsewhere that part is skipped visibly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use netlab_testkit::{skip, workspace_binary};

const BIN: &str = env!("CARGO_BIN_EXE_compare-protocols");

/// The directory holding the lab binaries of this build.
fn lab_dir() -> PathBuf {
    let mut dir = PathBuf::new();
    for (package, bin) in [
        ("tcp-echo", "tcp-echo"),
        ("udp-chat", "udp-chat"),
        ("ftp-lab", "ftp-lab"),
        ("tcp-chat", "tcp-chat"),
        ("netlab-game", "game-lab"),
    ] {
        dir = workspace_binary(package, bin)
            .parent()
            .unwrap()
            .to_path_buf();
    }
    dir
}

/// Runs the comparison into a fresh directory; returns it.
fn compare(name: &str, extra: &[&str]) -> PathBuf {
    let out = std::env::temp_dir().join(format!("netlab-compare-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(BIN)
        .args(["--smoke", "--out"])
        .arg(&out)
        .arg("--bin-dir")
        .arg(lab_dir())
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "compare-protocols failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// A CSV file as rows of named cells.
fn csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let headers: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            headers
                .iter()
                .map(|h| h.to_string())
                .zip(line.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn number(row: &std::collections::HashMap<String, String>, field: &str) -> f64 {
    row[field]
        .parse()
        .unwrap_or_else(|_| panic!("{field} in {row:?}"))
}

/// `--smoke` writes every table with median and range columns, report.html with the charts
/// inline, one CSV row per repetition, and plausible figures.
#[test]
fn smoke_report_has_every_table_and_plausible_figures() {
    let out = compare("in-program", &["--network", "in-program"]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for heading in [
        "## 1. Reliable chat",
        "## 2. Concurrency",
        "## 3. Framing",
        "## 4. File transfer",
        "## 5. C10K",
        "| scheme | loss | delivered | p50 ms | p99 ms | p99 range |",
        "| engine | clients | round trips/s | round trips/s range |",
        "| framing | bytes added per message | round trips/s | round trips/s range |",
        "| transfer | block size | MiB/s | MiB/s range |",
        "| server | engine | clients | per second | range |",
        "**What to notice:**",
        "the UDP lab's in-program fault injector",
        "the smoke plan, every point measured 3 times",
        "Machine: ",
    ] {
        assert!(report.contains(heading), "no {heading:?} in:\n{report}");
    }
    // One page with everything: the charts inline as SVG, the tables, the same lessons.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert_eq!(html.matches("<svg").count(), 7, "every chart inline");
    assert!(!html.contains("<img"), "no chart by reference");
    assert!(html.contains("<th>goodput range</th>"));
    assert!(html.contains("<figcaption>Each point is the median of 3 repetitions"));
    for chart in [
        "chat-goodput.svg",
        "echo-round-trips.svg",
        "framing-recovered.svg",
    ] {
        let svg = std::fs::read_to_string(out.join("charts").join(chart)).unwrap();
        assert!(svg.starts_with("<svg"), "{chart}");
    }

    // Chat: every reliable scheme delivers everything; plain UDP loses at 10% (seeded).
    let chat = csv(&out.join("chat.csv"));
    for row in chat.iter().filter(|r| r["skipped"].is_empty()) {
        let ratio = number(row, "delivery_ratio");
        match (row["scheme"].as_str(), row["loss_percent"].as_str()) {
            ("none", "10") => assert!(ratio < 1.0, "plain UDP lost nothing: {row:?}"),
            ("none", _) => assert!(ratio > 0.5, "{row:?}"),
            _ => assert_eq!(ratio, 1.0, "{row:?}"),
        }
    }
    // Without a namespace TCP is measured at 0% only, and the rest say why.
    assert!(
        chat.iter()
            .any(|r| r["scheme"] == "tcp" && r["loss_percent"] == "0" && r["skipped"].is_empty())
    );
    assert!(chat.iter().any(|r| r["scheme"] == "tcp"
        && r["loss_percent"] == "10"
        && r["skipped"].contains("cannot touch TCP")));

    // Every CSV file holds one row per repetition: 3 of each configuration.
    for file in [
        "chat.csv",
        "echo.csv",
        "framing.csv",
        "transfer.csv",
        "c10k.csv",
    ] {
        let rows = csv(&out.join(file));
        for rep in ["1", "2", "3"] {
            assert!(
                rows.iter().any(|r| r["rep"] == rep),
                "no rep {rep} in {file}"
            );
        }
    }

    // Echo: both engines answered, without errors; threads grow with clients, mio does not.
    let echo = csv(&out.join("echo.csv"));
    assert_eq!(echo.len(), 4 * 3, "{echo:?}");
    for row in &echo {
        assert!(number(row, "round_trips_per_sec") > 0.0, "{row:?}");
        assert_eq!(number(row, "errors"), 0.0, "{row:?}");
    }
    if cfg!(target_os = "linux") {
        for rep in ["1", "2", "3"] {
            let threads = |engine: &str, clients: &str| {
                let row = echo
                    .iter()
                    .find(|r| r["engine"] == engine && r["clients"] == clients && r["rep"] == rep);
                number(row.unwrap(), "server_threads")
            };
            assert!(threads("threads", "16") >= 16.0 + threads("threads", "1") - 1.0);
            assert!(threads("mio", "16") <= 3.0);
        }
    }

    // C10K (20 clients in the smoke plan): both servers on both engines served without errors;
    // a thread per client shows in the threads engines' thread counts, not in the loops'.
    let c10k = csv(&out.join("c10k.csv"));
    assert_eq!(c10k.len(), 2 * 2 * 3, "{c10k:?}");
    for row in &c10k {
        assert!(row["skipped"].is_empty(), "{row:?}");
        assert!(number(row, "per_sec") > 0.0, "{row:?}");
        assert_eq!(number(row, "errors"), 0.0, "{row:?}");
        if cfg!(target_os = "linux") {
            let threads = number(row, "server_threads");
            match (row["server"].as_str(), row["engine"].as_str()) {
                ("game", "threads") => assert!(threads >= 40.0, "{row:?}"),
                ("echo", "threads") => assert!(threads >= 20.0, "{row:?}"),
                _ => assert!(threads <= 4.0, "{row:?}"),
            }
        }
    }

    // Framing: framed echo recovers every message; raw cannot.
    let framing = csv(&out.join("framing.csv"));
    for row in &framing {
        let (got, of) = (number(row, "recovered"), number(row, "messages"));
        match row["framing"].as_str() {
            "raw" => assert!(got < of, "{row:?}"),
            _ => assert_eq!(got, of, "{row:?}"),
        }
    }

    // Transfer: a figure for every direction and block size, and the chat's.
    let transfer = csv(&out.join("transfer.csv"));
    assert!(
        transfer.iter().filter(|r| r["lab"] == "ftp").count() >= 4,
        "{transfer:?}"
    );
    assert!(transfer.iter().any(|r| r["lab"] == "tcp-chat"));
    for row in &transfer {
        assert!(number(row, "mib_per_s") > 0.0, "{row:?}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// As root on Linux, TCP and UDP share a lossy link between two network namespaces (a veth
/// pair) and the report says so.
#[test]
fn as_root_the_chat_runs_in_a_lossy_namespace() {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|line| line.starts_with("Uid:"))
            .and_then(|line| line.split_whitespace().nth(2))
            == Some("0")
    });
    let ip = Command::new("ip").arg("-V").output().is_ok();
    if !root || !ip {
        skip(
            "as_root_the_chat_runs_in_a_lossy_namespace",
            "needs root and iproute2 on Linux (network namespaces)",
        );
        return;
    }
    let out = compare("namespace", &["--network", "namespace", "--only", "chat"]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("two network namespaces joined by a veth pair"),
        "{report}"
    );
    let chat = csv(&out.join("chat.csv"));
    let tcp = chat
        .iter()
        .find(|r| r["scheme"] == "tcp" && r["loss_percent"] == "10")
        .expect("TCP measured at 10% loss");
    assert!(tcp["skipped"].is_empty(), "{tcp:?}");
    assert_eq!(number(tcp, "delivery_ratio"), 1.0);
    let leftovers = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let leftovers = String::from_utf8_lossy(&leftovers.stdout);
    assert!(
        !leftovers.contains("netlab-cmp-"),
        "namespaces left behind: {leftovers}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
