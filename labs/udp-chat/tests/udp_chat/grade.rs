//! `udp-chat grade` against rooms over real UDP sockets: netlab's own room earns full marks in
//! every reliable ARQ mode, and each deliberately broken room in `tests/fixtures/broken/` (small
//! Python programs, each wrong in one way students often are) fails exactly the checks that
//! target its defect, with a reason that names what was expected and what arrived.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::time::{Duration, Instant};

use netlab_testkit::ServerProcess;
use netlab_testkit::grade::{Graded, broken_fixture, grade as grade_with};

use crate::util::BIN;

/// Grades the room at `addr` with the grader's extra flags.
fn grade(addr: &str, extra: &[&str]) -> Graded {
    grade_with(BIN, addr, extra)
}

/// Seconds of silence after which the rooms under test drop a member (netlab's default is 10;
/// shorter keeps the "vanished member dropped" check short).
const DROP_AFTER: &str = "3";

/// Stop-and-wait, go-back-N and selective repeat each earn every point (plain UDP, `--arq
/// none`, is not a reliable room and is not graded). The three run at once.
#[test]
fn netlab_room_earns_full_marks_in_every_reliable_arq_mode() {
    let runs: Vec<_> = ["stop-and-wait", "go-back-n", "selective-repeat"]
        .into_iter()
        .map(|arq| {
            std::thread::spawn(move || {
                let args = [
                    "serve",
                    "--port",
                    "0",
                    "--arq",
                    arq,
                    "--drop-after",
                    DROP_AFTER,
                ];
                let server = ServerProcess::start(BIN, &args);
                (arq, grade(&server.addr.to_string(), &[]))
            })
        })
        .collect();
    for run in runs {
        let (arq, graded) = run.join().unwrap();
        graded.assert_full_marks(arq);
        let output = &graded.output;
        assert!(
            output.contains("\"earned\":21,\"possible\":21,\"passed\":true"),
            "{output}"
        );
        assert!(output.contains("seed 1)"), "the seed is printed: {output}");
    }
}

/// Starts `tests/fixtures/broken/NAME.py` on a free port, or `None` (skipped) without python3.
fn broken(name: &str) -> Option<ServerProcess> {
    broken_fixture(env!("CARGO_MANIFEST_DIR"), name, &[DROP_AFTER])
}

fn assert_fails_exactly(fixture: &str, expected: &[&str], reasons: &[&str]) {
    let Some(server) = broken(fixture) else {
        return;
    };
    grade(&server.addr.to_string(), &[]).assert_fails_exactly(fixture, expected, reasons);
}

/// A room that never resends fails the retransmission and the through-faults checks, and only those.
#[test]
fn never_retransmitting_fails_the_retransmission_and_fault_checks() {
    assert_fails_exactly(
        "never_retransmits",
        &["retransmits", "200 messages through faults"],
        &[
            "\"got\":\"nothing for 3 s: it was sent once and never again\"",
            "never came: was it lost and never resent?)\"",
        ],
    );
}

/// A room that relays duplicates fails the duplicate and the through-faults checks, and only those.
#[test]
fn delivering_duplicates_fails_the_duplicate_and_fault_checks() {
    assert_fails_exactly(
        "delivers_duplicates",
        &["duplicate dropped", "200 messages through faults"],
        &[
            "\"got\":\"after the first, \\\"<dup-a> once\\\": the duplicate was relayed",
            "a second time: a duplicate was delivered (drop what is before the next expected \
             seq)\"",
        ],
    );
}

/// A room that relays out of order fails the through-faults check, and only that.
#[test]
fn delivering_out_of_order_fails_the_fault_check() {
    assert_fails_exactly(
        "out_of_order",
        &["200 messages through faults"],
        &["first: out of order (hold early datagrams, or discard them, until the gap is filled)"],
    );
}

/// A room that does not acknowledge a duplicate again fails the re-ACK check, and only that.
#[test]
fn not_acking_duplicates_fails_the_reack_check() {
    assert_fails_exactly(
        "no_reack",
        &["duplicate re-ACKed"],
        &[
            "\"expected\":\"an ACK with seq=1 ack=2 for the same DATA again (our first ACK may \
           have been lost)\",\"got\":\"nothing for 2 s: a sender whose ACK was lost resends \
           until it gets one, forever\"",
        ],
    );
}

/// The grader itself never hangs: a socket that takes datagrams and never answers fails every
/// check on time.
#[test]
fn a_silent_room_fails_on_time() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let started = Instant::now();
    let Graded {
        code,
        failed,
        output,
        ..
    } = grade(&addr, &["--timeout", "0.5"]);
    assert_eq!(code, 1);
    assert_eq!(failed.len(), 11, "{output}");
    assert!(output.contains("\"earned\":0,"), "{output}");
    assert!(output.contains("the check timed out"), "{output}");
    // Eleven checks of at most half a second each, and nothing left hanging.
    assert!(started.elapsed() < Duration::from_secs(15), "{output}");
    drop(socket);
}

/// The protocol page's bytes are real: every datagram shown in hex on
/// docs/protocols/udp-chat.md parses, and is the type and sequence number its comment says.
#[test]
fn protocol_page_examples_are_real_datagrams() {
    use udp_chat::wire::Datagram;
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocols/udp-chat.md"),
    )
    .unwrap();
    let lines: Vec<&str> = page.lines().collect();
    let mut checked = 0;
    for (index, line) in lines.iter().enumerate() {
        if !line.contains(" -> ") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().skip(3).collect();
        let is_byte = |w: &&str| w.len() == 2 && u8::from_str_radix(w, 16).is_ok();
        let hex: Vec<&str> = words
            .iter()
            .copied()
            .take_while(|w| is_byte(w) || *w == "|")
            .collect();
        if hex.len() < 16 || words.get(hex.len()) == Some(&"...") {
            continue; // a datagram told in words, or a payload cut short for the page
        }
        let bytes: Vec<u8> = hex
            .iter()
            .filter(|w| is_byte(w))
            .map(|w| u8::from_str_radix(w, 16).unwrap())
            .collect();
        let datagram = Datagram::parse(&bytes).unwrap_or_else(|err| panic!("{line}: {err}"));
        // The words after the bytes, or on the next line when the bytes fill this one.
        let mut said: Vec<&str> = words[hex.len()..].to_vec();
        if said.is_empty() {
            said = lines[index + 1].split_whitespace().collect();
        }
        assert_eq!(said[0], datagram.header.kind.name(), "{line}");
        assert_eq!(said[1], format!("seq={}", datagram.header.seq.0), "{line}");
        checked += 1;
    }
    assert_eq!(checked, 9, "datagrams shown in hex and checked");
}
