//! Integration tests of `tcp-echo bench --framing` and `--boundaries`, over real sockets on
//! 127.0.0.1 with port 0: the load generator speaks each framing to a server in that framing,
//! shows what a raw receiver loses that a framed one keeps, and fails fast, with a reason, against
//! a server in another framing or one that says nothing.
//!
//! Every bench runs as a real process that must exit within `netlab_testkit::PATIENCE` (20 s), so
//! a hang fails the test instead of stalling the suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::TcpListener;
use std::thread;

use crate::util::{self, BIN, ENGINES};
use netlab_testkit::ServerProcess;

/// Every framing, with its framing bytes per message and the `ACK ` bytes the server adds.
const FRAMINGS: [(&str, u64, u64); 3] = [("raw", 0, 0), ("line", 1, 4), ("length", 4, 4)];

/// Runs `tcp-echo ARGS...`; returns its exit code and every line it printed (stdout and stderr).
/// Panics if it does not exit within PATIENCE.
fn run_bounded(args: &[&str]) -> (i32, Vec<String>) {
    let mut program = ServerProcess::interactive(BIN, args);
    program.close_stdin();
    let code = program.wait_exit();
    (code, program.seen.clone())
}

/// Runs a bench that must succeed and returns its JSON line.
fn bench_json(args: &[&str]) -> String {
    let (code, lines) = run_bounded(args);
    assert_eq!(code, 0, "{args:?} failed:\n{lines:#?}");
    lines
        .into_iter()
        .find(|line| line.starts_with('{'))
        .expect("a JSON line")
}

/// The value of `key` in a flat JSON object, quotes removed.
fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let marker = format!("\"{key}\":");
    let start = json
        .find(&marker)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + marker.len();
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim_matches('"')
}

fn number(json: &str, key: &str) -> u64 {
    field(json, key)
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a whole number in {json}"))
}

/// Ping-pong and stream in each framing, against a server in the same framing on both engines:
/// no errors, the JSON names the framing and its overhead, and only payload bytes are counted.
#[test]
fn each_framing_against_its_own_server() {
    for engine in ENGINES {
        for (framing, overhead, ack) in FRAMINGS {
            let server = util::start(&["--engine", engine, "--framing", framing]);
            let target = server.addr.to_string();
            let json = bench_json(&[
                "bench",
                &target,
                "--framing",
                framing,
                "--connections",
                "4",
                "--duration",
                "0.3",
                "--json",
            ]);
            let context = format!("{engine} {framing}: {json}");
            assert_eq!(field(&json, "mode"), "pingpong", "{context}");
            assert_eq!(field(&json, "framing"), framing, "{context}");
            assert_eq!(number(&json, "overhead_bytes_per_message"), overhead);
            assert_eq!(number(&json, "ack_bytes_per_message"), ack, "{context}");
            assert_eq!(number(&json, "errors"), 0, "{context}");
            let round_trips = number(&json, "round_trips");
            assert!(round_trips > 0, "{context}");
            assert_eq!(number(&json, "bytes_echoed"), round_trips * 64, "{context}");

            // 1 MiB of payload in 1000-byte messages: raw streams it as is; framed, it is rounded
            // up to 1049 whole messages.
            let json = bench_json(&[
                "bench",
                &target,
                "--framing",
                framing,
                "--stream",
                "1M",
                "--size",
                "1000",
                "--json",
            ]);
            let expected = if framing == "raw" {
                1 << 20
            } else {
                1049 * 1000
            };
            assert_eq!(field(&json, "mode"), "stream", "{json}");
            assert_eq!(number(&json, "errors"), 0, "{engine} {framing}: {json}");
            assert_eq!(number(&json, "bytes_echoed"), expected, "{engine} {json}");
        }
    }
}

/// Boundaries: with line or length framing the decoder recovers all N messages however the reads
/// fell; a raw receiver, which can only take each read as one message, recovers fewer, because
/// every write carries several messages (1 to 8) and comes back as one lump or in pieces.
#[test]
fn framing_recovers_every_message_raw_does_not() {
    const MESSAGES: u64 = 500;
    for engine in ENGINES {
        for (framing, overhead, _) in FRAMINGS {
            let server = util::start(&["--engine", engine, "--framing", framing]);
            let target = server.addr.to_string();
            let json = bench_json(&[
                "bench",
                &target,
                "--framing",
                framing,
                "--boundaries",
                "500",
                "--json",
            ]);
            let context = format!("{engine} {framing}: {json}");
            assert_eq!(field(&json, "mode"), "boundaries", "{context}");
            assert_eq!(field(&json, "framing"), framing, "{context}");
            assert_eq!(number(&json, "overhead_bytes_per_message"), overhead);
            assert_eq!(number(&json, "messages"), MESSAGES, "{context}");
            assert_eq!(number(&json, "errors"), 0, "{context}");
            assert!(number(&json, "writes") < MESSAGES, "{context}");
            assert!(number(&json, "reads") > 0, "{context}");
            let recovered = number(&json, "recovered");
            if framing == "raw" {
                assert!(recovered < MESSAGES, "a raw receiver cannot: {context}");
            } else {
                assert_eq!(recovered, MESSAGES, "{context}");
            }
        }
    }
}

/// Without `--json`, the boundaries result is printed in words: the reads, then the verdict,
/// a success only when every message was recovered. Losing messages in raw framing is the lesson,
/// not a failure: the exit status is 0.
#[test]
fn boundaries_in_words() {
    for (framing, verdict) in [
        (
            "line",
            "[SUCCESS] line framing recovered 200 of 200 messages exactly, in order",
        ),
        ("raw", "[INFO] raw framing recovered "),
    ] {
        let server = util::start(&["--framing", framing]);
        let target = server.addr.to_string();
        let args = [
            "bench",
            target.as_str(),
            "--framing",
            framing,
            "--boundaries",
            "200",
        ];
        let (code, lines) = run_bounded(&args);
        assert_eq!(code, 0, "{lines:#?}");
        assert!(
            lines.iter().any(|line| line.starts_with("[INFO] writes ")
                && line.contains(" merged ")
                && line.contains(" split ")),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|line| line.starts_with(verdict)),
            "{lines:#?}"
        );
    }
}

/// A bench in another framing than the server's fails at once (long before its 30 s run would
/// end, and within PATIENCE) with exit status 1 and a reason: what came instead, and which
/// framing to check. Boundaries mode fails the same way.
#[test]
fn mismatched_framing_fails_fast_with_a_reason() {
    for (server_framing, _, _) in FRAMINGS {
        let server = util::start(&["--framing", server_framing]);
        let target = server.addr.to_string();
        for (bench_framing, _, _) in FRAMINGS {
            if bench_framing == server_framing {
                continue;
            }
            for mode in [["--duration", "30"], ["--boundaries", "100"]] {
                let mut args = vec!["bench", target.as_str(), "--framing", bench_framing];
                args.extend(mode);
                let (code, lines) = run_bounded(&args);
                let output = lines.join("\n");
                let context = format!("server {server_framing}, {args:?}:\n{output}");
                assert_eq!(code, 1, "{context}");
                let hint = format!("(is it in {bench_framing} framing?); first: ");
                assert!(output.contains(&hint), "{context}");
            }
        }
    }
    // Two reasons in full: a framed bench gets its own message back from a raw server instead of
    // a greeting; a raw bench gets a line server's greeting instead of its bytes.
    let raw = util::start(&["--framing", "raw"]);
    let (_, lines) = run_bounded(&["bench", &raw.addr.to_string(), "--framing", "line"]);
    assert!(
        lines.iter().any(|line| line
            .contains("first: expected the server's greeting `WELCOME <name>` first, got `!\"#$%")),
        "{lines:#?}"
    );
    let line = util::start(&["--framing", "line"]);
    let (_, lines) = run_bounded(&["bench", &line.addr.to_string(), "--duration", "30"]);
    assert!(
        lines
            .iter()
            .any(|line| line.contains("the server sent `WELCOME Client01\\n")),
        "{lines:#?}"
    );
}

/// Against a server that accepts connections and then says nothing, ping-pong and boundaries
/// both give up after their grace period (5 s) with an error, instead of waiting forever.
#[test]
fn silent_server_is_given_up_on() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    // Accept both connections and hold them open, never reading or writing, until the test ends.
    let holder = thread::spawn(move || listener.incoming().take(2).collect::<Vec<_>>());
    let mut pingpong = ServerProcess::interactive(
        BIN,
        &["bench", &target, "--framing", "line", "--duration", "0.1"],
    );
    let mut boundaries = ServerProcess::interactive(
        BIN,
        &["bench", &target, "--framing", "raw", "--boundaries", "10"],
    );
    for (bench, reason) in [
        (
            &mut pingpong,
            "1 connection(s) still waiting for an echo 5s after the end",
        ),
        (&mut boundaries, "first: no echo for 5s"),
    ] {
        bench.close_stdin();
        assert_eq!(bench.wait_exit(), 1, "{:#?}", bench.seen);
        assert!(
            bench.seen.iter().any(|line| line.contains(reason)),
            "{:#?}",
            bench.seen
        );
    }
    drop(holder);
}
