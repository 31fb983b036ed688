//! `--trace-json` on both ends of an echo: chunks with both addresses and the framing's fields.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use netlab_testkit::traces::events_once;
use netlab_testkit::{TempDir, run_cli};
use serde_json::Value;

use crate::util::{BIN, start};

fn first<'a>(events: &'a [Value], event: &str) -> &'a Value {
    events
        .iter()
        .find(|line| line["event"] == event)
        .unwrap_or_else(|| panic!("no {event} in {events:#?}"))
}

/// With `--framing length`, the client's write of `hello` is one 9-byte chunk whose fields say
/// `length` 5, the server records the same bytes from the other side (addresses mirrored), and
/// the echo (`ACK hello`, 9 bytes) comes back.
#[test]
fn echo_chunks_name_both_ends_and_the_frame_length() {
    let traces = TempDir::new("echo-trace-json");
    let server_trace = traces.join("server.jsonl");
    let client_trace = traces.join("client.jsonl");
    let server = start(&[
        "--framing",
        "length",
        "--trace-json",
        server_trace.to_str().unwrap(),
    ]);
    let (code, out, err) = run_cli(
        BIN,
        &[
            "connect",
            &server.addr.to_string(),
            "--framing",
            "length",
            "--trace-json",
            client_trace.to_str().unwrap(),
        ],
        b"hello\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    let client = events_once(&client_trace, |events| !events.is_empty());
    let sent = first(&client, "send");
    assert_eq!(sent["lab"], "tcp-echo");
    assert_eq!(sent["transport"], "tcp");
    assert_eq!(sent["bytes"], 9);
    assert_eq!(sent["fields"]["framing"], "length");
    assert_eq!(sent["fields"]["length"], 5);
    assert_eq!(sent["summary"], "length=5 hello");
    assert_eq!(sent["peer"], server.addr.to_string());
    let echoed =
        |line: &&Value| line["event"] == "receive" && line["summary"] == "length=9 ACK hello";
    assert!(client.iter().any(|line| echoed(&line)), "{client:#?}");

    let server_events = events_once(&server_trace, |events| {
        events.iter().any(|line| line["event"] == "send")
    });
    let received = first(&server_events, "receive");
    assert_eq!(received["summary"], "length=5 hello");
    assert_eq!(received["fields"]["length"], 5);
    assert_eq!(received["local"], sent["peer"]);
    assert_eq!(received["peer"], sent["local"]);
}

/// `--trace-bytes all` dumps a 100-byte line whole, where `--trace` alone stops at 64 bytes.
#[test]
fn trace_bytes_all_shows_whole_chunks() {
    let server = start(&[]);
    let line = format!("{}\n", "x".repeat(99));
    let target = server.addr.to_string();
    let dump = |flags: &[&str]| {
        let mut args = vec!["connect", target.as_str()];
        args.extend_from_slice(flags);
        let (code, out, err) = run_cli(BIN, &args, line.as_bytes());
        assert_eq!(code, 0, "{out}{err}");
        err
    };
    let default = dump(&["--trace"]);
    assert!(default.contains("... 36 more bytes not shown"), "{default}");
    let whole = dump(&["--trace-bytes", "all"]);
    assert!(!whole.contains("not shown"), "{whole}");
    assert!(whole.contains("        0060  78 78 78 0a"), "{whole}");
}
