//! The seeded udp-chat run and its diagrams.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use netlab_testkit::{ServerProcess, TempDir, run_cli, workspace_binary};
use serde_json::Value;

/// The two trace files of one seeded run (made once, shared by the tests below).
struct SeededRun {
    _dir: TempDir,
    client: PathBuf,
    server: PathBuf,
}

/// The run: with `--loss 30% --seed 3` the client's first datagram is dropped and the next
/// four pass (the injector draws one number per datagram, so the same datagrams meet the same
/// fate every run). The server's PINGs are 30 s apart and the client leaves after about one
/// second (its first PING would be at 2 s), so no timer but the JOIN's RTO fires, and every
/// datagram is caused by the one before it: the order is the same on every run.
fn seeded_run() -> &'static SeededRun {
    static RUN: OnceLock<SeededRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let udp_chat = workspace_binary("udp-chat", "udp-chat");
        let udp_chat = udp_chat.to_str().unwrap();
        let dir = TempDir::new("netlab-ladder-seeded");
        let client = dir.join("client.jsonl");
        let server = dir.join("server.jsonl");
        let mut room = ServerProcess::start(
            udp_chat,
            &[
                "serve",
                "--port",
                "0",
                "--ping-interval",
                "30",
                "--trace-json",
                server.to_str().unwrap(),
            ],
        );
        let target = room.addr.to_string();
        let mut ada = ServerProcess::interactive(
            udp_chat,
            &[
                "connect",
                &target,
                "--name",
                "ada",
                "--loss",
                "30%",
                "--seed",
                "3",
                "--trace-json",
                client.to_str().unwrap(),
            ],
        );
        ada.wait_for(|line| line.contains("welcome, ada"));
        ada.close_stdin();
        assert_eq!(ada.wait_exit(), 0, "the client: {:#?}", ada.seen);
        let interrupted = Command::new("kill")
            .args(["-INT", &room.pid().to_string()])
            .status()
            .unwrap();
        assert!(interrupted.success());
        room.wait_for(|line| line.contains("room closed"));
        assert_eq!(room.wait_exit(), 0);
        SeededRun {
            _dir: dir,
            client,
            server,
        }
    })
}

/// `netlab-ladder ARGS... client.jsonl server.jsonl`'s standard output.
fn ladder(args: &[&str]) -> String {
    let run = seeded_run();
    let mut all: Vec<&str> = args.to_vec();
    all.extend([run.client.to_str().unwrap(), run.server.to_str().unwrap()]);
    let (code, out, err) = run_cli(env!("CARGO_BIN_EXE_netlab-ladder"), &all, b"");
    assert_eq!(code, 0, "netlab-ladder {all:?} failed: {err}");
    out
}

/// The fenced block that follows `<!-- ladder: NAME -->` in docs/ladder.md.
fn doc_block(name: &str) -> String {
    // Two levels above this crate (scripts/ladder).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let page = std::fs::read_to_string(root.join("docs/ladder.md")).unwrap();
    let marker = format!("<!-- ladder: {name} -->");
    let after = page
        .split_once(&marker)
        .unwrap_or_else(|| panic!("docs/ladder.md has no {marker}"))
        .1;
    let body = after.split_once("```").unwrap().1;
    let body = body.split_once('\n').unwrap().1;
    body.split_once("```").unwrap().0.to_string()
}

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The text form of the seeded run is the one docs/ladder.md shows: the JOIN lost, the RTO,
/// the JOIN retransmitted, then the room's ACK and welcome.
#[test]
fn text_ladder_of_a_seeded_loss_matches_the_docs() {
    let text = ladder(&["--no-times", "--name-by-file"]);
    assert_eq!(
        text,
        doc_block("text"),
        "docs/ladder.md's text ladder is out of date"
    );
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[1].contains("X") && rows[1].contains("JOIN") && rows[1].contains("LOST"));
    assert!(rows[2].starts_with('*') && rows[2].contains("retransmission timeout"));
    assert!(rows[3].contains("-->|") && rows[3].contains("JOIN seq=0 ack=0 len=3 RETRANSMIT"));
}

/// The Mermaid form is a sequenceDiagram with one participant per lifeline, one message per
/// arrow (`-x` for the lost JOIN) and one note per timer; the same as docs/ladder.md shows.
#[test]
fn mermaid_ladder_is_a_sequence_diagram() {
    let mermaid = ladder(&["--format", "mermaid", "--name-by-file"]);
    assert_eq!(
        mermaid,
        doc_block("mermaid"),
        "docs/ladder.md's Mermaid ladder is out of date"
    );
    let lines: Vec<&str> = mermaid.lines().collect();
    assert_eq!(lines[0], "sequenceDiagram");
    assert_eq!(lines[1], "    participant P0 as client");
    assert_eq!(lines[2], "    participant P1 as server");
    for line in &lines[3..] {
        let statement = line.strip_prefix("    ").unwrap();
        let message = [
            "P0->>P1: ",
            "P1->>P0: ",
            "P0-xP1: ",
            "P1-xP0: ",
            "Note over P0: ",
        ]
        .iter()
        .any(|start| statement.starts_with(start));
        assert!(message, "not a message or note: {line}");
        assert!(
            !statement.contains(';'),
            "a raw ; ends a Mermaid statement: {line}"
        );
    }
    assert_eq!(lines[3], "    P0-xP1: JOIN seq=0 ack=0 len=3 LOST");
}

/// The SVG is well-formed XML with one arrow group per datagram sent by either end (each
/// `send` or `drop` going out in the two traces) and one timer mark per timer event.
#[test]
fn svg_has_one_arrow_per_datagram() {
    let run = seeded_run();
    let all: Vec<Value> = events(&run.client)
        .into_iter()
        .chain(events(&run.server))
        .collect();
    let sent = all.iter().filter(|event| event["dir"] == "out").count();
    let timers = all.iter().filter(|event| event["event"] == "timer").count();
    let lost = all.iter().filter(|event| event["event"] == "drop").count();
    assert!(sent >= 6 && timers >= 1 && lost == 1, "{all:#?}");

    let svg = ladder(&["--format", "svg"]);
    let document = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    let groups = |class: &str| {
        document
            .descendants()
            .filter(|node| {
                node.attribute("class")
                    .is_some_and(|classes| classes.split(' ').any(|word| word == class))
            })
            .count()
    };
    assert_eq!(groups("arrow"), sent);
    assert_eq!(groups("lost"), lost);
    assert_eq!(groups("retransmit"), 1);
    assert_eq!(groups("timer"), timers);
    assert_eq!(document.root_element().tag_name().name(), "svg");
}

/// `--name ADDR=NAME` titles a lifeline by its address, and wins over `--name-by-file`: the
/// server's lifeline becomes `room`, the client's stays `client`, and no row changes.
#[test]
fn names_given_by_hand_title_lifelines() {
    let run = seeded_run();
    let server_address = events(&run.server)
        .iter()
        .find_map(|event| event["local"].as_str().map(String::from))
        .unwrap();
    let named = ladder(&[
        "--no-times",
        "--name-by-file",
        "--name",
        &format!("{server_address}=room"),
    ]);
    let plain = ladder(&["--no-times", "--name-by-file"]);
    let (named_header, named_rows) = named.split_once('\n').unwrap();
    let (plain_header, plain_rows) = plain.split_once('\n').unwrap();
    assert_eq!(plain_header, "client          server");
    assert_eq!(named_header, "client          room");
    assert_eq!(named_rows, plain_rows);
}
