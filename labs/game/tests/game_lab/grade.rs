//! `game-lab grade` against servers over real sockets: netlab's own game server earns full
//! marks, and each deliberately broken server in `tests/fixtures/broken/` (small Python
//! tic-tac-toe servers sharing `common.py`, each wrong in one way students often are) fails
//! exactly the checks that target its defect, with a reason that says what was expected and
//! what arrived.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use netlab_testkit::grade::{Graded, broken_fixture, grade as grade_with};
use netlab_testkit::{ServerProcess, run_cli};

use crate::util::{BIN, ENGINES, start};

/// Grades the server at `addr` with `--json` and `extra` flags.
fn grade(addr: &str, extra: &[&str]) -> Graded {
    grade_with(BIN, addr, extra)
}

/// Every check passes against netlab's server, the idle check included when the server and the
/// grader are given the same idle timeout.
#[test]
fn netlab_server_earns_full_marks_with_the_idle_check() {
    for engine in ENGINES {
        let server = start(engine, &["--idle-timeout", "1"]);
        let graded = grade(&server.addr.to_string(), &["--idle-timeout", "1"]);
        graded.assert_full_marks("netlab's server");
        let (all, output) = (&graded.checks, &graded.output);
        assert_eq!(all.len(), 16, "{output}");
        assert_eq!(all[14], "idle timeout");
        assert_eq!(all.last().unwrap(), "player vanishes");
        assert!(
            output.contains("\"earned\":33,\"possible\":33,\"passed\":true"),
            "{output}"
        );
        assert_eq!(
            *all,
            documented_checks(),
            "docs/protocols/game.md lists other checks"
        );
    }
}

/// docs/protocols/game.md, the protocol page.
fn protocol_page() -> String {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocols/game.md");
    std::fs::read_to_string(page).unwrap()
}

/// The check names in the first column of the page's "What `game-lab grade` checks" table.
fn documented_checks() -> Vec<String> {
    protocol_page()
        .lines()
        .skip_while(|line| !line.starts_with("## What `game-lab grade` checks"))
        .filter(|line| line.starts_with("| ") && !line.starts_with("| check "))
        .map(|line| line.split(" | ").next().unwrap()[2..].to_string())
        .collect()
}

/// The page's "whole game on the wire" is what netlab's server really sends: each `P>` line is
/// sent on player P's connection, each `P<` line must be the next line P receives (seat tokens
/// are random, so only their shape is compared).
#[test]
fn the_protocol_page_shows_the_real_conversation() {
    let page = protocol_page();
    let transcript: Vec<&str> = page
        .lines()
        .skip_while(|line| *line != "<!-- grade-test: wire -->")
        .skip(2)
        .take_while(|line| !line.starts_with("```"))
        .collect();
    assert!(transcript.len() > 100, "the wire transcript is missing");
    let token = regex::Regex::new("[0-9a-f]{16}").unwrap();
    for engine in ENGINES {
        let server = start(engine, &[]);
        let mut players: HashMap<&str, (TcpStream, BufReader<TcpStream>)> = HashMap::new();
        for (number, line) in transcript.iter().enumerate() {
            let (who, rest) = line.split_at(2);
            let (stream, reader) = players.entry(&who[..1]).or_insert_with(|| {
                let stream = server.connect();
                let reader = BufReader::new(stream.try_clone().unwrap());
                (stream, reader)
            });
            let text = &rest[1..];
            if who.ends_with('>') {
                stream.write_all(format!("{text}\n").as_bytes()).unwrap();
                continue;
            }
            let mut got = String::new();
            reader.read_line(&mut got).unwrap();
            let got = got.trim_end_matches('\n');
            assert_eq!(
                token.replace_all(got, "TOKEN"),
                token.replace_all(text, "TOKEN"),
                "transcript line {}: {line}",
                number + 1
            );
        }
    }
}

/// Without `--idle-timeout` the idle check is left out, and the table says every required
/// check passed.
#[test]
fn netlab_server_earns_full_marks_without_the_idle_check() {
    for engine in ENGINES {
        let server = start(engine, &[]);
        let addr = server.addr.to_string();
        let (code, stdout, stderr) = run_cli(BIN, &["grade", &addr], b"");
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(!stdout.contains("idle timeout"), "{stdout}");
        assert!(
            stdout.contains("| move out of turn | 3/3 | pass |  |"),
            "{stdout}"
        );
        assert!(
            stdout.ends_with("total: 31/31 points; every required check passed\n"),
            "{stdout}"
        );
    }
}

/// Starts `tests/fixtures/broken/NAME.py` on a free port, or `None` (skipped) without python3.
fn broken(name: &str) -> Option<ServerProcess> {
    broken_fixture(env!("CARGO_MANIFEST_DIR"), name, &[])
}

fn assert_fails_exactly(fixture: &str, expected: &[&str], reason: &str) {
    let Some(server) = broken(fixture) else {
        return;
    };
    grade(&server.addr.to_string(), &[]).assert_fails_exactly(fixture, expected, &[reason]);
}

/// The shared code of the fixtures, run as it is, is a correct server that speaks only the
/// required part of the protocol: the page's "optional" lines really are optional.
#[test]
fn the_minimal_python_server_earns_full_marks() {
    let Some(server) = broken("common") else {
        return;
    };
    let graded = grade(&server.addr.to_string(), &[]);
    graded.assert_full_marks("common.py");
    assert_eq!(graded.checks.len(), 15, "{}", graded.output);
}

/// The issue's example: a server that lets a player move out of turn.
#[test]
fn moving_out_of_turn_fails_that_check() {
    assert_fails_exactly(
        "out_of_turn",
        &["move out of turn"],
        "\"expected\":\"O's move before X's first move to be refused: a line starting with \
         \\\"ERR it is not your turn\\\"\",\"got\":\"player O: \\\"MOVED ",
    );
}

#[test]
fn dying_when_a_player_vanishes_fails_that_check() {
    assert_fails_exactly(
        "dies_on_disconnect",
        &["player vanishes"],
        "\"got\":\"player X: the connection closed\"",
    );
}

#[test]
fn writing_under_the_lock_fails_the_slow_client_check() {
    assert_fails_exactly(
        "sends_under_lock",
        &["player never reads"],
        // Which player notices first depends on when the server's write to the flooding
        // client blocks: usually X, waiting for WELCOME.
        ", while another client was not reading\",\"got\":\"player ",
    );
}

/// The grader itself never hangs: a server that accepts and never answers fails every check
/// on time.
#[test]
fn a_silent_server_fails_on_time() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let Graded {
        code,
        checks: all,
        failed,
        output,
    } = grade(&addr, &["--timeout", "0.5"]);
    assert_eq!(code, 1);
    assert_eq!(failed, all, "{output}");
    assert!(output.contains("\"earned\":0,"), "{output}");
    assert!(output.contains("the check timed out"), "{output}");
    // Fifteen checks of at most half a second each, and nothing left hanging.
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(listener);
}

/// The same defect with the kernel's own (growing) socket buffers: the flood goes on until the
/// grader's own writes block, so the check fails whatever size the buffers reach.
#[test]
fn writing_under_the_lock_fails_with_default_buffers_too() {
    assert_fails_exactly(
        "sends_under_lock_default_buffers",
        &["player never reads"],
        "the server had stopped reading it)\"",
    );
}

/// A server that checks the square before the turn answers `move 0` out of turn wrongly.
#[test]
fn checking_the_square_before_the_turn_fails_the_out_of_turn_check() {
    assert_fails_exactly(
        "turn_checked_late",
        &["move out of turn"],
        "\"expected\":\"O's move 0 before X's first move to be refused as out of turn: a line \
         starting with \\\"ERR it is not your turn\\\"\",\"got\":\"player O: \\\"ERR there is no \
         such square",
    );
}

/// A server that measures a line only at its newline never refuses 612 bytes that have none.
#[test]
fn waiting_for_the_newline_fails_the_oversize_check() {
    assert_fails_exactly(
        "waits_for_newline",
        &["oversize line"],
        "\"expected\":\"612 bytes with no newline to be refused without waiting for one: a line \
         starting with \\\"ERR \\\"\",\"got\":\"the client: nothing for 2 s\"",
    );
}

/// A server that stops answering at end of input (unless the last line was `quit`) fails the
/// half-close check's second half: `dance`, then a FIN without `quit`.
#[test]
fn dropping_replies_at_a_half_close_without_quit_fails_that_check() {
    assert_fails_exactly(
        "half_close_drops_replies",
        &["quit and half-close"],
        "\"expected\":\"ERR for `dance` sent just before a half-close (no quit), then a close\",\
         \"got\":\"the connection closed\"",
    );
}
