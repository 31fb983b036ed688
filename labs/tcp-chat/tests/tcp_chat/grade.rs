//! `tcp-chat grade` against rooms over real sockets: netlab's own room earns full marks, and each
//! deliberately broken room in `tests/fixtures/broken/` (small Python programs, each wrong in one
//! way students often are) fails exactly the checks that target its defect, with a reason that
//! names what was expected and what arrived. Also the room's `--idle-timeout`, which the
//! silent-client check grades.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use netlab_testkit::ServerProcess;
use netlab_testkit::grade::{Graded, broken_fixture, grade as grade_with};

const BIN: &str = env!("CARGO_BIN_EXE_tcp-chat");

/// Grades the room at `addr` with the grader's extra flags.
fn grade(addr: &str, extra: &[&str]) -> Graded {
    grade_with(BIN, addr, extra)
}

/// Starts netlab's room with room for the "many clients" check and a short idle timeout.
fn netlab_room(idle: &str) -> ServerProcess {
    ServerProcess::start(
        BIN,
        &[
            "room",
            "serve",
            "--port",
            "0",
            "--max-clients",
            "20",
            "--idle-timeout",
            idle,
        ],
    )
}

/// Every check, the silent client included, passes against netlab's room.
#[test]
fn netlab_room_earns_full_marks() {
    let server = netlab_room("3");
    let graded = grade(&server.addr.to_string(), &["--idle-timeout", "3"]);
    graded.assert_full_marks("netlab's room");
    let output = &graded.output;
    assert!(
        output.contains("\"earned\":27,\"possible\":27,\"passed\":true"),
        "{output}"
    );
    assert!(output.contains("{\"name\":\"silent client\""), "{output}");
}

/// A silent client is told why and disconnected after `--idle-timeout`; the server logs it; a
/// client that spoke in the meantime stays and is told the other left.
#[test]
fn room_disconnects_a_silent_client() {
    let mut server = netlab_room("1");
    let connect = || {
        let stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("WELCOME "), "{line}");
        (stream, reader)
    };
    let (_quiet, mut quiet_reader) = connect();
    let joined = Instant::now();
    let (mut busy, mut busy_reader) = connect();
    let mut line = String::new();
    // The busy client speaks before its second is over: its own timer starts again.
    std::thread::sleep(Duration::from_millis(600));
    busy.write_all(b"typing\n").unwrap();
    busy_reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ACK typing\n");

    line.clear();
    quiet_reader.read_line(&mut line).unwrap();
    assert_eq!(line, "INFO Client02 joined\n");
    line.clear();
    quiet_reader.read_line(&mut line).unwrap();
    assert_eq!(line, "MSG Client02 typing\n");
    line.clear();
    quiet_reader.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        "ERROR idle for 1 s (--idle-timeout 1); disconnecting\n"
    );
    assert!(
        joined.elapsed() >= Duration::from_millis(900),
        "{:?}",
        joined.elapsed()
    );
    assert_eq!(
        quiet_reader.read(&mut [0u8; 16]).unwrap(),
        0,
        "then a close"
    );
    server.wait_for(|line| line == "[INFO] Client01 left: idle for 1 s (--idle-timeout 1)");

    line.clear();
    busy_reader.read_line(&mut line).unwrap();
    assert_eq!(line, "INFO Client01 left (connection lost)\n");
    busy.write_all(b"still here\n").unwrap();
    line.clear();
    busy_reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ACK still here\n");
}

/// Starts `tests/fixtures/broken/NAME.py ARGS` on a free port, or `None` (skipped) without
/// python3.
fn broken(name: &str, args: &[&str]) -> Option<ServerProcess> {
    broken_fixture(env!("CARGO_MANIFEST_DIR"), name, args)
}

fn assert_fails_exactly(fixture: &str, grade_args: &[&str], expected: &[&str], reason: &str) {
    let fixture_args: &[&str] = match grade_args {
        ["--idle-timeout", secs] => &[secs],
        _ => &[],
    };
    let Some(server) = broken(fixture, fixture_args) else {
        return;
    };
    grade(&server.addr.to_string(), grade_args).assert_fails_exactly(fixture, expected, &[reason]);
}

#[test]
fn never_disconnecting_a_silent_client_fails_that_check() {
    assert_fails_exactly(
        "never_times_out",
        &["--idle-timeout", "2"],
        &["silent client"],
        "\"expected\":\"an ERROR line, then a close, after 2 s of silence (--idle-timeout)\",\
         \"got\":\"nothing: the silent client was still connected after",
    );
}

#[test]
fn one_recv_one_line_fails_the_split_merged_and_unfinished_line_checks() {
    assert_fails_exactly(
        "one_recv_one_line",
        &[],
        &["one-byte writes", "lines in one write", "client vanishes"],
        "\"expected\":\"\\\"ACK one byte at a time\\\"\",\"got\":\"\\\"ACK o\\\"\"",
    );
}

#[test]
fn a_blocking_broadcast_fails_the_slow_reader_check() {
    assert_fails_exactly(
        "broadcast_blocks",
        &[],
        &["client never reads"],
        "(is the room stuck writing to the one that does not read?)",
    );
}

/// The shared fixture room, with no part swapped, is correct: the broken rooms fail only
/// because of their one defect. Without --idle-timeout the silent-client check is left out,
/// and the rubric says so.
#[test]
fn the_fixtures_reference_room_earns_full_marks() {
    let Some(server) = broken("common", &[]) else {
        return;
    };
    let graded = grade(&server.addr.to_string(), &[]);
    graded.assert_full_marks("the fixtures' reference room");
    let output = &graded.output;
    assert!(
        output.contains("(the silent-client check is skipped: give --idle-timeout SECS to run it)"),
        "{output}"
    );
    assert!(!output.contains("silent client\""), "{output}");
}

/// The grader itself never hangs: a server that accepts and never answers fails on time.
#[test]
fn a_silent_server_fails_on_time() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let Graded {
        code,
        failed,
        output,
        ..
    } = grade(&addr, &["--timeout", "0.3"]);
    assert_eq!((code, failed.len()), (1, 16), "{output}");
    assert!(output.contains("\"earned\":0,"), "{output}");
    assert!(output.contains("the check timed out"), "{output}");
    // Sixteen checks of at most 0.3 s each, and nothing left hanging.
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(listener);
}

/// A room that ends its lines with `\r\n` fails the checks that read its lines, and the reason
/// says the ending is the problem (the protocol's lines end with `\n` only).
#[test]
fn crlf_line_endings_fail_with_a_reason_naming_them() {
    let Some(server) = broken("crlf_lines", &[]) else {
        return;
    };
    let graded = grade(&server.addr.to_string(), &[]);
    assert_eq!(graded.code, 1, "{}", graded.output);
    assert!(graded.failed.len() >= 10, "{}", graded.output);
    assert!(
        graded.output.contains(
            "{\"name\":\"ack\",\"points\":1,\"earned\":0,\"required\":true,\"passed\":false,\
             \"expected\":\"\\\"ACK hello, room\\\", ending with \\\\n only\""
        ),
        "{}",
        graded.output
    );
    assert!(
        graded.output.contains(" ending with \\\\r\\\\n"),
        "{}",
        graded.output
    );
}

/// A room that measures a line only at its newline never refuses 4098 bytes that have none.
#[test]
fn waiting_for_the_newline_fails_the_oversize_check() {
    assert_fails_exactly(
        "waits_for_newline",
        &[],
        &["oversize line"],
        "\"expected\":\"a line starting with \\\"ERROR \\\" once 4098 bytes came with no newline \
         (before any newline)\",\"got\":\"nothing for 2 s",
    );
}

/// A room that relays the half line a client left when it closed (FIN) fails "client vanishes".
#[test]
fn delivering_the_half_line_at_end_of_stream_fails_the_vanish_check() {
    assert_fails_exactly(
        "delivers_half_line",
        &[],
        &["client vanishes"],
        "after half a line and a close (FIN), the half line never delivered\",\
         \"got\":\"\\\"MSG Client",
    );
}
