//! Keeps docs/udp-chat.md true: the walkthrough's sessions are replayed against the real
//! `udp-chat` and the lines the page shows are compared with the lines the program prints.
//!
//! What is compared, and what is not:
//! - the room's first lines (section 1);
//! - section 2, the loss and its retransmission: every line ada's terminal shows from the start
//!   up to the ACK of the retransmitted line, in order, including which datagrams the fault
//!   injector dropped (the seed makes that the same on every run), and the timer: the page's and
//!   the real gaps between the three copies both show the RTO of 200 ms, then its doubling;
//! - section 6, plain UDP: the lines bob receives, so the lost ones are the ones the page names;
//! - section 2's Wireshark part: the page's tshark command on ada's `--pcap` capture (where
//!   tshark is installed; the test says it is skipped where it is not).
//!
//! Ports, clock readings and the statistics that depend on timing (PINGs every 2 s, SRTT,
//! goodput) differ on every run; ports and clock readings are normalized, and the lines after
//! the compared part are left out. Every wait is for a line the program prints, never a sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use netlab_testkit::{ServerProcess, TempDir};

use crate::util::{BIN, have_tshark, serve};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/udp-chat.md");

/// The console block whose command line (after `$ `) starts with `command`: its output lines.
fn block(command: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(DOC).unwrap();
    let mut lines = doc.lines().skip_while(|line| {
        !line
            .strip_prefix("$ ")
            .is_some_and(|rest| rest.starts_with(command))
    });
    assert!(lines.next().is_some(), "no `$ {command}` block in {DOC}");
    lines
        .take_while(|line| !line.starts_with("```"))
        .map(String::from)
        .collect()
}

/// Lines the program printed (the doc also shows what was typed, which has no `[` prefix).
fn printed(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line.starts_with('[') || line.starts_with("listening on"))
        .cloned()
        .collect()
}

/// Ports become `PORT` and the clock reading of a trace line `T`.
fn normalize(line: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(HOST) {
        out.push_str(&rest[..at + HOST.len()]);
        out.push_str("PORT");
        rest = rest[at + HOST.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    match out
        .strip_prefix("[TRACE] ")
        .and_then(|rest| rest.split_once("s "))
    {
        Some((_, after)) => format!("[TRACE] T {after}"),
        None => out,
    }
}

/// The same lines, normalized: the trace lines in the same order, the others as the same set.
/// The program writes chat and notices to stdout and diagnostics to stderr, and the harness
/// reads the two pipes separately, so how the two streams interleave is not kept; within the
/// trace, order is what the page is about.
fn assert_same_lines(real: &[String], shown: &[String]) {
    let split = |lines: &[String]| {
        let lines: Vec<String> = lines.iter().map(|line| normalize(line)).collect();
        let (trace, mut other): (Vec<String>, Vec<String>) = lines
            .into_iter()
            .partition(|line| line.starts_with("[TRACE]"));
        other.sort();
        (trace, other)
    };
    assert_eq!(split(real), split(shown));
}

/// The clock reading of a trace line.
fn clock(line: &str) -> f64 {
    let rest = line.strip_prefix("[TRACE] ").unwrap();
    rest.split_once("s ").unwrap().0.parse().unwrap()
}

fn member(server: &ServerProcess, name: &str, extra: &[&str]) -> ServerProcess {
    let addr = server.addr.to_string();
    let mut args = vec!["connect", addr.as_str(), "--name", name];
    args.extend_from_slice(extra);
    ServerProcess::interactive(BIN, &args)
}

/// Section 1: what the room prints when it starts.
#[test]
fn room_start_is_as_shown() {
    let shown = block("udp-chat serve");
    let server = serve(&[]);
    let real: Vec<String> = server.seen.iter().map(|l| normalize(l)).collect();
    let shown: Vec<String> = printed(&shown).iter().map(|l| normalize(l)).collect();
    assert_eq!(real, shown);
}

/// Section 2: ada's terminal up to the ACK of her twice-lost line, and the gaps between the
/// three copies of it.
#[test]
fn loss_and_retransmission_are_as_shown() {
    let shown = printed(&block(
        "udp-chat connect 127.0.0.1:7075 --name ada --loss 30% --seed 2 --trace",
    ));
    let last = shown
        .iter()
        .position(|line| line.contains("<- 127.0.0.1:7075 ACK seq=1 ack=2"))
        .expect("the ACK of the retransmitted line");
    let shown = &shown[..=last];

    let server = serve(&[]);
    let mut bob = member(&server, "bob", &[]);
    bob.wait_for(|line| line.starts_with("[INFO] welcome, bob"));
    let mut ada = member(&server, "ada", &["--loss", "30%", "--seed", "2", "--trace"]);
    ada.wait_for(|line| line.starts_with("[INFO] welcome, ada"));
    bob.write_line("hi ada");
    ada.wait_for(|line| line == "[CHAT] <bob> hi ada");
    ada.write_line("hello bob, this line may be lost on the way");
    ada.wait_for(|line| line.contains("ACK seq=1 ack=2") && line.contains("<- "));
    bob.wait_for(|line| line == "[CHAT] <ada> hello bob, this line may be lost on the way");

    assert_same_lines(&ada.seen, shown);

    // The timer, on the page and for real: 200 ms (the floor), then doubled.
    for lines in [shown, &ada.seen[..]] {
        let copies: Vec<f64> = lines
            .iter()
            .filter(|line| line.contains("DATA seq=1 ack=2 len=43"))
            .map(|line| clock(line))
            .collect();
        assert_eq!(copies.len(), 3, "{lines:#?}");
        let (first, second) = (copies[1] - copies[0], copies[2] - copies[1]);
        assert!(
            (0.195..0.35).contains(&first),
            "first RTO {first} s: {lines:#?}"
        );
        assert!(
            (0.395..0.6).contains(&second),
            "backed-off RTO {second} s: {lines:#?}"
        );
    }
}

/// Section 6: over plain UDP at 30% loss with seed 5, bob receives exactly the lines the page
/// shows (lines 4 and 6 are lost).
#[test]
fn plain_udp_loses_the_lines_shown() {
    let shown_ada = block("udp-chat connect 127.0.0.1:7075 --name ada --no-retransmit");
    let typed: Vec<&String> = shown_ada
        .iter()
        .filter(|line| line.starts_with("line "))
        .collect();
    let shown_bob = printed(&block(
        "udp-chat connect 127.0.0.1:7075 --name bob --no-retransmit",
    ));

    let server = serve(&["--no-retransmit"]);
    let mut bob = member(&server, "bob", &["--no-retransmit"]);
    bob.wait_for(|line| line.starts_with("[INFO] welcome, bob"));
    let ada_flags = ["--no-retransmit", "--loss", "30%", "--seed", "5"];
    let mut ada = member(&server, "ada", &ada_flags);
    ada.wait_for(|line| line.starts_with("[INFO] welcome, ada"));
    bob.wait_for(|line| line == "[INFO] ada joined");
    for line in &typed {
        ada.write_line(line);
    }
    // The page's last line for bob is the last line that got through.
    let last = shown_bob.last().unwrap().clone();
    bob.wait_for(|line| line == last);
    assert_same_lines(&bob.seen, &shown_bob);
    assert_eq!(typed.len(), 8);
}

/// Section 2, "Seeing the datagrams in Wireshark": ada's `--pcap` capture of the same seeded
/// session, read with the page's own tshark command and the dissector, shows the page's lines
/// up to the ACK of the retransmitted line (the LEAVE after it comes when the reader quits).
/// Destination ports are compared as "the room's" or "ada's". Skipped without tshark.
#[test]
fn wireshark_capture_is_as_shown() {
    if !have_tshark("docs::wireshark_capture_is_as_shown") {
        return;
    }
    const TSHARK: &str = "tshark -X lua_script:scripts/wireshark/udp-chat.lua -r ada.pcapng";
    let shown = block(TSHARK);
    let doc = std::fs::read_to_string(DOC).unwrap();
    let command = doc
        .lines()
        .find_map(|line| {
            line.strip_prefix("$ ")
                .filter(|rest| rest.starts_with(TSHARK))
        })
        .unwrap();

    let dir = TempDir::new("udp-chat-docs-pcap");
    let pcap = dir.join("ada.pcapng");
    let server = serve(&[]);
    let mut bob = member(&server, "bob", &[]);
    bob.wait_for(|line| line.starts_with("[INFO] welcome, bob"));
    let pcap_arg = pcap.to_str().unwrap();
    // --trace only to know when the retransmitted line is acknowledged; it does not change
    // the capture.
    let ada_flags = [
        "--loss", "30%", "--seed", "2", "--pcap", pcap_arg, "--trace",
    ];
    let mut ada = member(&server, "ada", &ada_flags);
    ada.wait_for(|line| line.starts_with("[INFO] welcome, ada"));
    bob.write_line("hi ada");
    ada.wait_for(|line| line == "[CHAT] <bob> hi ada");
    ada.write_line("hello bob, this line may be lost on the way");
    ada.wait_for(|line| line.contains("<- 127.0.0.1") && line.contains("ACK seq=1 ack=2"));
    ada.write_line("/quit");
    assert_eq!(ada.wait_exit(), 0, "{:#?}", ada.seen);

    // The page's command, run from the workspace root (the dissector's path is relative to it)
    // on our capture, with the room's real port.
    let args: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(|word| match word {
            "ada.pcapng" => pcap_arg.to_string(),
            word => word.trim_matches('\'').to_string(),
        })
        .collect();
    let output = std::process::Command::new("tshark")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(&args)
        .arg("-o")
        .arg(format!("udpchat.port:{}", server.addr.port()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let real: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();

    // Rows up to the LEAVE; destination ports as whose they are.
    let rows = |lines: &[String], room_port: &str| -> Vec<String> {
        lines
            .iter()
            .take_while(|line| !line.contains("|LEAVE "))
            .map(|line| {
                let mut columns: Vec<&str> = line.split('|').collect();
                columns[1] = if columns[1] == room_port {
                    "ROOM"
                } else {
                    "ADA"
                };
                columns.join("|")
            })
            .collect()
    };
    let shown_rows = rows(&shown, "7075");
    assert_eq!(shown_rows.len(), 10, "{shown:#?}");
    assert_eq!(rows(&real, &server.addr.port().to_string()), shown_rows);
}
