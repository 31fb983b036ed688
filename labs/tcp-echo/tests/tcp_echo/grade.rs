//! `tcp-echo grade` against servers over real sockets: netlab's own server earns full marks in
//! every framing and engine, and each deliberately broken server in `tests/fixtures/broken/`
//! (small Python programs, each wrong in one way students often are) fails exactly the checks
//! that target its defect, with a reason that names what was expected and what arrived.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use crate::util::{BIN, start};
use netlab_testkit::grade::{broken_fixture, grade};
use netlab_testkit::{ServerProcess, run_cli};

#[test]
fn netlab_servers_earn_full_marks_in_every_framing_and_engine() {
    for framing in ["raw", "line", "length"] {
        for engine in ["threads", "mio"] {
            let server = start(&["--framing", framing, "--engine", engine]);
            grade(BIN, &server.addr.to_string(), &["--framing", framing])
                .assert_full_marks(&format!("{framing}/{engine}"));
        }
    }
}

/// Starts `tests/fixtures/broken/NAME.py` on a free port, or `None` (skipped) without python3.
fn broken(name: &str) -> Option<ServerProcess> {
    broken_fixture(env!("CARGO_MANIFEST_DIR"), name, &[])
}

fn assert_fails_exactly(fixture: &str, framing: &str, expected: &[&str], reason: &str) {
    let Some(server) = broken(fixture) else {
        return;
    };
    grade(BIN, &server.addr.to_string(), &["--framing", framing]).assert_fails_exactly(
        fixture,
        expected,
        &[reason],
    );
}

#[test]
fn serving_one_client_at_a_time_fails_the_concurrency_checks() {
    assert_fails_exactly(
        "one_at_a_time",
        "raw",
        &["50 clients at once", "client never reads"],
        "\"got\":\"client 1: \\\"\\\" and then nothing for 2 s\"",
    );
}

#[test]
fn echoing_only_1024_bytes_fails_the_stream_check() {
    assert_fails_exactly(
        "first_1024",
        "raw",
        &["1 MiB stream"],
        "\"got\":\"1024 bytes, then the connection closed\"",
    );
}

#[test]
fn dying_when_a_client_vanishes_fails_that_check() {
    assert_fails_exactly(
        "dies_on_disconnect",
        "raw",
        &["client vanishes"],
        // The next client finds the server dying (reset) or gone (refused): either way, it
        // is told to look for a crash.
        "\"expected\":\"a new client to be answered afterwards\"",
    );
}

#[test]
fn never_closing_after_half_close_fails_that_check() {
    assert_fails_exactly(
        "no_half_close",
        "raw",
        &["half-close"],
        "\"expected\":\"the server to close the connection\",\"got\":\"nothing for 2 s\"",
    );
}

#[test]
fn one_recv_one_frame_fails_the_split_merged_and_random_size_checks() {
    assert_fails_exactly(
        "length_one_recv",
        "length",
        &[
            "one-byte writes",
            "frames in one write",
            "random-size writes",
        ],
        "\"expected\":\"\\\"ACK slowly\\\"\",\"got\":\"\\\"ACK \\\"\"",
    );
}

/// The grader itself never hangs: a server that accepts and never answers fails on time.
#[test]
fn a_silent_server_fails_on_time() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let started = std::time::Instant::now();
    let (code, stdout, _) = run_cli(
        BIN,
        &[
            "grade",
            &addr,
            "--framing",
            "raw",
            "--timeout",
            "1",
            "--json",
        ],
        b"",
    );
    assert_eq!(code, 1);
    assert!(stdout.contains("\"earned\":0,"), "{stdout}");
    assert!(stdout.contains("the check timed out"), "{stdout}");
    // Eight checks of at most a second each, and nothing left hanging.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    drop(listener);
}

/// docs/grading.md shows the grader's rubric for the `first_1024` server: it is the real one.
#[test]
fn grading_walkthrough_shows_the_real_rubric() {
    let Some(server) = broken("first_1024") else {
        return;
    };
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grading.md"),
    )
    .unwrap();
    let shown: Vec<&str> = doc
        .lines()
        .skip_while(|line| *line != "$ tcp-echo grade 127.0.0.1:9000 --framing raw")
        .skip(1)
        .take_while(|line| !line.starts_with("```"))
        .collect();
    assert!(
        !shown.is_empty(),
        "the walkthrough's grade transcript is missing"
    );
    let addr = server.addr.to_string();
    let (code, stdout, stderr) = run_cli(BIN, &["grade", &addr, "--framing", "raw"], b"");
    assert_eq!(code, 1);
    let real = format!("{stdout}{stderr}").replace(&addr, "127.0.0.1:9000");
    let real: Vec<&str> = real.lines().collect();
    assert_eq!(real, shown);
}
