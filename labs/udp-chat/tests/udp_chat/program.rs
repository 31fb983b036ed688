//! The `udp-chat` program over real UDP sockets on 127.0.0.1: a room relaying between members,
//! chat surviving injected faults, members dropped when they go silent, limits, hostile
//! datagrams, the trace of a loss and its retransmission, and the benchmark's verdicts.
//! Every wait is for a line the program prints, never a sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::UdpSocket;
use std::time::Duration;

use netlab_testkit::{ServerProcess, run_cli};
use udp_chat::seq::Seq;
use udp_chat::wire::{Datagram, Header, Kind};
use udp_chat::{Fate, FaultConfig, FaultInjector};

use crate::util::{BIN, datagram, join, serve};

/// Two members: each one's lines reach the other, prefixed with the name; joins and leaves are
/// announced; the leaver's client exits 0 after the server acknowledged its LEAVE.
#[test]
fn room_relays_messages_between_members() {
    let mut server = serve(&[]);
    let mut ada = join(&server, "ada", &[]);
    assert!(
        ada.seen
            .contains(&"[INFO] welcome, ada; nobody else is here yet".to_string())
    );
    let mut bob = join(&server, "bob", &[]);
    assert!(
        bob.seen
            .contains(&"[INFO] welcome, bob; here: ada".to_string())
    );
    ada.wait_for(|line| line == "[INFO] bob joined");
    bob.write_line("hello ada");
    ada.wait_for(|line| line == "[CHAT] <bob> hello ada");
    ada.write_line("hi bob");
    bob.wait_for(|line| line == "[CHAT] <ada> hi bob");
    bob.write_line("/quit");
    assert_eq!(bob.wait_exit(), 0);
    assert!(bob.seen.contains(&"[INFO] left the room".to_string()));
    ada.wait_for(|line| line == "[INFO] bob left");
    server.wait_for(|line| line == "[INFO] bob left (1 of 64 members)");
}

/// With loss, duplication and reordering on every datagram both ways (client and server inject
/// faults), fifty lines still arrive exactly once and in order.
#[test]
fn chat_survives_loss_duplication_and_reordering() {
    let faults = [
        "--loss",
        "30%",
        "--dup",
        "10%",
        "--reorder",
        "10%",
        "--rto-min",
        "20",
    ];
    let server = serve(&[&faults[..], &["--seed", "11"]].concat());
    let mut ada = join(&server, "ada", &[&faults[..], &["--seed", "12"]].concat());
    let mut bob = join(&server, "bob", &[&faults[..], &["--seed", "13"]].concat());
    ada.wait_for(|line| line == "[INFO] bob joined");
    for n in 0..50 {
        ada.write_line(&format!("line {n}"));
    }
    let mut received = Vec::new();
    while received.len() < 50 {
        let line = bob.wait_for(|line| line.starts_with("[CHAT] "));
        received.push(line);
    }
    let expected: Vec<String> = (0..50).map(|n| format!("[CHAT] <ada> line {n}")).collect();
    assert_eq!(received, expected);
    // The faults were real: retransmissions happened.
    ada.write_line("/stats");
    let counters = ada.wait_for(|line| line.starts_with("[INFO] retransmissions "));
    assert!(
        !counters.starts_with("[INFO] retransmissions 0 "),
        "{counters}"
    );
    drop(server);
}

/// The start-up banner says which faults are on, so nobody forgets.
#[test]
fn fault_injection_is_announced() {
    let mut server = serve(&["--loss", "5%", "--delay", "20", "--seed", "9"]);
    // The banner comes before the `listening on` line that `serve` waited for.
    let banner = "[WARN] fault injection ON for datagrams sent: loss 5%, delay 20 ms, seed 9";
    // It goes to stderr, which may be read after stdout's `listening on`.
    if !server.seen.iter().any(|line| line == banner) {
        server.wait_for(|line| line == banner);
    }
}

/// A member that vanishes (killed, no LEAVE) is dropped once it stops answering PINGs, and the
/// room is told.
#[test]
fn silent_member_is_dropped_and_the_room_told() {
    let mut server = serve(&["--ping-interval", "0.1", "--drop-after", "0.5"]);
    let mut ada = join(&server, "ada", &[]);
    let mut bob = join(&server, "bob", &[]);
    ada.wait_for(|line| line == "[INFO] bob joined");
    bob.child.kill().unwrap();
    bob.child.wait().unwrap();
    ada.wait_for(|line| line.starts_with("[INFO] bob dropped (no answer to PINGs for "));
    server.wait_for(|line| line.starts_with("[INFO] bob dropped (no answer to PINGs for "));
}

/// `--max-clients`: the next member is told the room is full and its client fails clearly;
/// the members already in the room carry on.
#[test]
fn full_room_refuses_with_a_notice() {
    let mut server = serve(&["--max-clients", "1"]);
    let mut ada = join(&server, "ada", &[]);
    let addr = server.addr.to_string();
    // Standard input stays open, so the client does not leave on its own.
    let mut bob = ServerProcess::interactive(BIN, &["connect", &addr, "--name", "bob"]);
    assert_eq!(bob.wait_exit(), 1);
    for expected in [
        "[INFO] room full: the limit is 1 members; try again later",
        "[ERROR] the server refused to let us in (its notice is above)",
    ] {
        assert!(
            bob.seen.iter().any(|line| line == expected),
            "{:#?}",
            bob.seen
        );
    }
    server.wait_for(|line| line.starts_with("[WARN] refused 127.0.0.1:"));
    ada.write_line("/stats");
    ada.wait_for(|line| line.starts_with("[INFO] datagrams sent "));
}

/// Two members asking for the same name are told apart.
#[test]
fn taken_names_get_a_number() {
    let server = serve(&[]);
    let _first = join(&server, "ada", &[]);
    let second = join(&server, "ada", &[]);
    assert!(
        second
            .seen
            .iter()
            .any(|line| line == "[INFO] welcome, ada2; here: ada"),
        "{:#?}",
        second.seen
    );
}

/// Nobody listening: a connected UDP socket gets the ICMP port unreachable as an error, so the
/// client says so at once instead of retransmitting for seconds.
#[cfg(target_os = "linux")]
#[test]
fn no_server_is_reported_at_once() {
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (code, _, stderr) = run_cli(BIN, &["connect", &addr], b"");
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("nobody is listening at {addr}")),
        "{stderr}"
    );
}

/// A server that receives but never answers: the client gives up after --max-retries
/// retransmissions and says which datagram went unacknowledged.
#[test]
fn peer_that_never_answers_is_reported_unreachable() {
    let black_hole = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = black_hole.local_addr().unwrap().to_string();
    let args = [
        "connect",
        &addr,
        "--max-retries",
        "2",
        "--rto-min",
        "20",
        "--rto-max",
        "50",
    ];
    // Standard input stays open: the client must give up by itself.
    let mut client = ServerProcess::interactive(BIN, &args);
    assert_eq!(client.wait_exit(), 1);
    let expected = format!(
        "[ERROR] server {addr} unreachable: datagram #0 was sent 3 times and never acknowledged"
    );
    assert!(
        client.seen.iter().any(|line| line.starts_with(&expected)),
        "{:#?}",
        client.seen
    );
    // It really was sent three times.
    black_hole
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = [0; 2048];
    let mut joins = 0;
    for _ in 0..3 {
        let len = black_hole.recv(&mut buf).unwrap();
        if Datagram::parse(&buf[..len]).is_ok_and(|d| d.header.kind == Kind::Join) {
            joins += 1;
        }
    }
    assert_eq!(joins, 3);
}

/// Hostile datagrams from a member and from a stranger are dropped and counted (the server's
/// trace says why for each); the conversation carries on untouched.
#[test]
fn malformed_and_stranger_datagrams_are_dropped() {
    let mut server = serve(&["--trace"]);
    let mut ada = join(&server, "ada", &[]);
    let mallory = UdpSocket::bind("127.0.0.1:0").unwrap();
    mallory.connect(server.addr).unwrap();
    let join_header = Header::new(Kind::Join);
    mallory.send(&datagram(join_header, b"mallory")).unwrap();
    ada.wait_for(|line| line == "[INFO] mallory joined");
    let valid = datagram(
        Header {
            seq: Seq(1),
            ..Header::new(Kind::Data)
        },
        b"still here",
    );
    let mut bad_version = valid.clone();
    bad_version[0] = 9;
    let mut unknown_type = valid.clone();
    unknown_type[1] = 99;
    let mut lying_length = valid.clone();
    lying_length[3] = 200;
    let ack_never_sent = datagram(
        Header {
            seq: Seq(500),
            ack: Seq(501),
            ..Header::new(Kind::Ack)
        },
        b"",
    );
    let hostile: [&[u8]; 6] = [
        b"",
        b"\x01\x03\x00",
        &bad_version,
        &unknown_type,
        &lying_length,
        &ack_never_sent,
    ];
    for bytes in hostile {
        mallory.send(bytes).unwrap();
    }
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    stranger.send_to(&valid, server.addr).unwrap();
    mallory.send(&valid).unwrap();
    ada.wait_for(|line| line == "[CHAT] <mallory> still here");
    let from_mallory = mallory.local_addr().unwrap();
    let wanted = format!("<- {from_mallory} DATA seq=1 ack=0 len=10");
    server.wait_for(|line| traced(line).is_some_and(|(_, rest)| rest == wanted));
    let refused = server
        .seen
        .iter()
        .filter(|line| line.contains(" | refused: "))
        .count();
    assert_eq!(refused, 6, "{:#?}", server.seen);
    assert!(
        server
            .seen
            .iter()
            .any(|line| line.contains("DATA seq=1 ack=0 len=10 | from a stranger: dropped")),
        "{:#?}",
        server.seen
    );
}

/// A seed whose first outgoing datagram is lost and the second is not, at 50% loss.
fn seed_losing_only_the_first_datagram() -> u64 {
    (1..)
        .find(|&seed| {
            let mut link = FaultInjector::new(FaultConfig {
                loss: 0.5,
                seed,
                ..FaultConfig::default()
            });
            let now = std::time::Instant::now();
            link.send(vec![0], now) == Fate::Dropped && link.send(vec![0], now) != Fate::Dropped
        })
        .unwrap()
}

/// `--trace` shows a datagram dropped by the fault injector and the same datagram sent again.
#[test]
fn trace_shows_a_loss_and_its_retransmission() {
    let server = serve(&[]);
    let seed = seed_losing_only_the_first_datagram().to_string();
    let addr = server.addr.to_string();
    let args = [
        "connect", &addr, "--name", "ada", "--loss", "50%", "--seed", &seed, "--trace",
    ];
    let mut ada = ServerProcess::interactive(BIN, &args);
    let lost = format!("-> {addr} JOIN seq=0 ack=0 len=3 | dropped by the fault injector");
    let resent = format!("-> {addr} JOIN seq=0 ack=0 len=3 RETRANSMIT");
    let acked = format!("<- {addr} ACK seq=0 ack=1");
    let at = |line: String| traced(&line).unwrap().0;
    let lost_at = at(ada.wait_for(|line| traced(line).is_some_and(|(_, rest)| rest == lost)));
    let resent_at = at(ada.wait_for(|line| traced(line).is_some_and(|(_, rest)| rest == resent)));
    ada.wait_for(|line| traced(line).is_some_and(|(_, rest)| rest == acked));
    // Before any RTT sample the RTO is RFC 6298 §2.1's initial 1 second: the resend waits for it.
    let gap = resent_at - lost_at;
    assert!((0.99..2.0).contains(&gap), "resent {gap} s after the loss");
}

/// Splits a `--trace` line, `[TRACE] 1.234s -> ADDR ...`, into the seconds and the rest.
fn traced(line: &str) -> Option<(f64, &str)> {
    let (seconds, rest) = line.strip_prefix("[TRACE] ")?.split_once("s ")?;
    Some((seconds.parse().ok()?, rest))
}

fn bench_json(args: &[&str]) -> (i32, Vec<String>) {
    let mut all = vec!["bench", "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run_cli(BIN, &all, b"");
    assert!(stderr.is_empty() || code != 0, "{stderr}");
    (code, stdout.lines().map(String::from).collect())
}

fn field<'a>(json: &'a str, name: &str) -> &'a str {
    let start = json.find(&format!("\"{name}\":")).unwrap() + name.len() + 3;
    let rest = &json[start..];
    &rest[..rest.find([',', '}']).unwrap()]
}

/// Every reliable mode delivers every message exactly once and in order through 30% loss, 10%
/// duplication and 10% reordering, also with 4096-byte messages cut into four fragments.
/// At 30% loss each way a round trip fails half the time, so the RTO ceiling is kept low (the
/// backoff would otherwise reach seconds) and the retries high (8 would give up now and then).
#[test]
fn bench_reliable_modes_deliver_everything_under_faults() {
    for size in ["100", "4096"] {
        let (code, runs) = bench_json(&[
            "--messages",
            "40",
            "--size",
            size,
            "--loss",
            "30%",
            "--dup",
            "10%",
            "--reorder",
            "10%",
            "--rto-min",
            "5",
            "--rto-max",
            "20",
            "--max-retries",
            "30",
            "--seed",
            "5",
            "--timeout",
            "120",
            "--arq",
            "stop-and-wait,go-back-n,selective-repeat",
        ]);
        assert_eq!(code, 0, "{runs:#?}");
        assert_eq!(runs.len(), 3);
        for run in &runs {
            assert_eq!(field(run, "delivered"), "40", "{run}");
            assert_eq!(field(run, "duplicates"), "0", "{run}");
            assert_eq!(field(run, "out_of_order"), "0", "{run}");
            assert_ne!(field(run, "retransmissions"), "0", "{run}");
            assert_eq!(field(run, "errors"), "0", "{run}");
        }
    }
}

/// Plain UDP under 30% loss loses messages, and the bench counts them (without calling it an
/// error: losing is what plain UDP does).
#[test]
fn bench_counts_what_plain_udp_loses() {
    let (code, runs) = bench_json(&["--messages", "300", "--arq", "none", "--loss", "30%"]);
    assert_eq!(code, 0, "{runs:#?}");
    let delivered: usize = field(&runs[0], "delivered").parse().unwrap();
    assert!((150..290).contains(&delivered), "{}", runs[0]);
    assert_eq!(field(&runs[0], "retransmissions"), "0");
}

/// `--arq tcp` runs the same measurement over loopback TCP: every message arrives; with an
/// in-program fault the TCP run is skipped with the reason (the injector cannot touch TCP).
#[test]
fn bench_compares_with_tcp() {
    let (code, runs) = bench_json(&["--messages", "200", "--arq", "tcp", "--loss", "0,5%"]);
    assert_eq!(code, 0, "{runs:#?}");
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert_eq!(field(&runs[0], "arq"), "\"tcp\"");
    assert_eq!(field(&runs[0], "delivered"), "200");
    assert_eq!(field(&runs[0], "errors"), "0");
    assert!(
        runs[1].contains("\"skipped\":\"the fault injector cannot touch TCP"),
        "{}",
        runs[1]
    );
}

/// Flags that cannot work together are refused with a reason, not a panic, and exit status 2 as
/// clap gives for a flag it refuses on its own.
#[test]
fn bad_flags_are_explained() {
    let (code, _, stderr) = run_cli(BIN, &["bench", "--rto-min", "500", "--rto-max", "100"], b"");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--rto-min 500 is above --rto-max 100"),
        "{stderr}"
    );
    let (code, _, stderr) = run_cli(BIN, &["serve", "--loss", "150%"], b"");
    assert_eq!(code, 2);
    assert!(stderr.contains("outside 0..1"), "{stderr}");
}
