//! `--pcap` read back by tshark with scripts/wireshark/udp-chat.lua: a seeded lossy chat between
//! real `udp-chat` processes, each datagram of the capture decoded and compared with what the
//! program itself said about it (its `--trace` lines and its counters). Skipped, visibly, where
//! tshark is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use netlab_testkit::TempDir;

use crate::util::{have_tshark, join, serve, tshark_fields};

/// One datagram as the trace or the capture tells it: sent by us, type, seq, ack, RETRANSMIT,
/// dropped by the fault injector.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    sent: bool,
    kind: String,
    seq: u32,
    ack: u32,
    retransmit: bool,
    dropped: bool,
}

/// `[TRACE] 1.000s -> 127.0.0.1:7075 DATA seq=1 ack=2 len=43 RETRANSMIT | dropped by ...`.
fn from_trace(line: &str) -> Seen {
    let (datagram, note) = line.split_once(" | ").unwrap_or((line, ""));
    let words: Vec<&str> = datagram.split(' ').collect();
    let number =
        |word: &str, name: &str| -> u32 { word.strip_prefix(name).unwrap().parse().unwrap() };
    Seen {
        sent: words[2] == "->",
        kind: words[4].to_string(),
        seq: number(words[5], "seq="),
        ack: number(words[6], "ack="),
        retransmit: words.contains(&"RETRANSMIT"),
        dropped: note == "dropped by the fault injector",
    }
}

/// The last line of `seen` starting with `prefix`.
fn last<'a>(seen: &'a [String], prefix: &str) -> &'a str {
    seen.iter()
        .rev()
        .find(|line| line.starts_with(prefix))
        .unwrap()
}

/// The number after `label` in `line`: `datagrams sent 9 (276 bytes)` gives 9 for `sent `.
fn counter(line: &str, label: &str) -> u64 {
    let after = &line[line.find(label).unwrap() + label.len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// A chat at 30% loss (seed 2) captured by the client: tshark decodes every datagram of the
/// capture, and they are exactly the datagrams the client's `--trace` printed, in the same
/// order, with the same type, seq, ack and RETRANSMIT flag; their numbers match the client's
/// counters (sent, received, retransmissions); each dropped one is in the capture with the
/// injector's comment, and the dissector ties each retransmission to the frame of the first copy.
/// bob, lossy too but not tracing (the capture then gets dropped datagrams another way), has
/// a capture that matches his counters.
#[test]
fn lossy_capture_matches_the_trace_and_the_counters() {
    if !have_tshark("capture::lossy_capture_matches_the_trace_and_the_counters") {
        return;
    }
    let dir = TempDir::new("udp-chat-pcap");
    let pcap = dir.join("ada.pcapng");
    let server = serve(&[]);
    let bob_pcap = dir.join("bob.pcapng");
    let bob_flags = ["--loss", "30%", "--seed", "3", "--pcap"];
    let mut bob = join(
        &server,
        "bob",
        &[&bob_flags[..], &[bob_pcap.to_str().unwrap()]].concat(),
    );
    let ada_flags = ["--loss", "30%", "--seed", "2", "--trace", "--pcap"];
    let mut ada = join(
        &server,
        "ada",
        &[&ada_flags[..], &[pcap.to_str().unwrap()]].concat(),
    );
    bob.wait_for(|line| line == "[INFO] ada joined");
    for n in 0..10 {
        ada.write_line(&format!("line {n}"));
    }
    for n in 0..10 {
        bob.wait_for(|line| line == format!("[CHAT] <ada> line {n}"));
    }
    bob.write_line("bye ada");
    ada.wait_for(|line| line == "[CHAT] <bob> bye ada");
    ada.write_line("/quit");
    assert_eq!(ada.wait_exit(), 0, "{:#?}", ada.seen);

    let traced: Vec<Seen> = ada
        .seen
        .iter()
        .filter(|line| line.starts_with("[TRACE] "))
        .map(|line| from_trace(line))
        .collect();
    let port = server.addr.port();
    let fields = [
        "udp.dstport",
        "udpchat.type_name",
        "udpchat.seq",
        "udpchat.ack",
        "udpchat.flags.retransmit",
        "frame.comment",
        "frame.number",
        "udpchat.retransmission_of",
    ];
    let rows = tshark_fields(&pcap, port, &fields);
    for row in &rows {
        assert_eq!(row.len(), fields.len(), "{row:?}");
        assert!(
            !row[1].is_empty(),
            "a frame the dissector did not decode: {row:?}"
        );
    }
    let captured: Vec<Seen> = rows
        .iter()
        .map(|row| Seen {
            sent: row[0] == port.to_string(),
            kind: row[1].clone(),
            seq: row[2].parse().unwrap(),
            ack: row[3].parse().unwrap(),
            retransmit: row[4] == "1",
            dropped: row[5].starts_with("fault injector: dropped"),
        })
        .collect();
    assert_eq!(captured, traced);

    // The client's own counters, printed when it left.
    let datagrams = last(&ada.seen, "[INFO] datagrams sent ");
    let repairs = last(&ada.seen, "[INFO] retransmissions ");
    let count = |keep: fn(&Seen) -> bool| captured.iter().filter(|seen| keep(seen)).count() as u64;
    assert_eq!(count(|seen| seen.sent), counter(datagrams, "sent "));
    assert_eq!(count(|seen| !seen.sent), counter(datagrams, "received "));
    assert_eq!(
        count(|seen| seen.sent && seen.retransmit),
        counter(repairs, "retransmissions ")
    );

    // The seed loses datagrams, so the comparisons above were about something.
    let dropped: Vec<&Vec<String>> = rows.iter().filter(|row| !row[5].is_empty()).collect();
    assert!(dropped.len() >= 2, "{rows:#?}");
    assert!(counter(repairs, "retransmissions ") >= 1, "{repairs}");
    for row in &dropped {
        assert_eq!(
            row[5], "fault injector: dropped by --loss 30% (seed 2), never sent",
            "{row:?}"
        );
    }
    // Each retransmission points at the first frame with its sequence number, in its direction.
    for row in rows.iter().filter(|row| row[4] == "1") {
        let first = rows
            .iter()
            .find(|other| other[0] == row[0] && other[1] == row[1] && other[2] == row[2])
            .unwrap();
        assert_eq!(row[7], first[6], "{row:?}");
        assert_ne!(row[6], first[6]);
    }

    // bob: his capture against his counters.
    bob.write_line("/quit");
    assert_eq!(bob.wait_exit(), 0, "{:#?}", bob.seen);
    let rows = tshark_fields(
        &bob_pcap,
        port,
        &[
            "udp.dstport",
            "udpchat.type_name",
            "udpchat.flags.retransmit",
            "frame.comment",
        ],
    );
    let datagrams = last(&bob.seen, "[INFO] datagrams sent ");
    let repairs = last(&bob.seen, "[INFO] retransmissions ");
    let sent = |row: &&Vec<String>| row[0] == port.to_string();
    assert!(rows.iter().all(|row| !row[1].is_empty()), "{rows:#?}");
    assert_eq!(
        rows.iter().filter(sent).count() as u64,
        counter(datagrams, "sent ")
    );
    assert_eq!(
        rows.iter().filter(|row| !sent(row)).count() as u64,
        counter(datagrams, "received ")
    );
    assert_eq!(
        rows.iter().filter(|row| sent(row) && row[2] == "1").count() as u64,
        counter(repairs, "retransmissions ")
    );
    let dropped: Vec<&Vec<String>> = rows.iter().filter(|row| !row[3].is_empty()).collect();
    assert!(!dropped.is_empty(), "{rows:#?}");
    for row in dropped {
        assert!(sent(&row), "{row:?}");
        assert_eq!(
            row[3],
            "fault injector: dropped by --loss 30% (seed 3), never sent"
        );
    }
}

/// A capture that cannot be written (`/dev/full`: every write fails with "no space left") is
/// reported once, and the chat goes on: a line still reaches the room and the client leaves
/// with status 0.
#[cfg(target_os = "linux")]
#[test]
fn a_capture_that_cannot_be_written_stops_alone() {
    let server = serve(&[]);
    let mut bob = join(&server, "bob", &[]);
    let mut ada = join(&server, "ada", &["--pcap", "/dev/full"]);
    // The buffer is written out within a second (FLUSH_EVERY), at the end of a turn; PINGs
    // make a turn at least every 2 s.
    ada.wait_for(|line| line.starts_with("[WARN] --pcap /dev/full: cannot write the capture ("));
    ada.write_line("still here");
    bob.wait_for(|line| line == "[CHAT] <ada> still here");
    ada.write_line("/quit");
    assert_eq!(ada.wait_exit(), 0, "{:#?}", ada.seen);
    let warnings = ada
        .seen
        .iter()
        .filter(|line| line.contains("--pcap"))
        .count();
    assert_eq!(warnings, 1, "{:#?}", ada.seen);
}
