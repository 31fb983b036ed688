//! `--trace-json`: the control dialogue and the data transfer as ladder events, on both ends.

use netlab_testkit::traces::events_once;
use netlab_testkit::{TempDir, run_cli};
use serde_json::Value;

use crate::util::{BIN, PASSWORD, USER, start_server};

/// The (command or reply, argument) of each control event in one direction.
fn control(events: &[Value], event: &str, field: &str) -> Vec<String> {
    events
        .iter()
        .filter(|line| line["event"] == event && line["fields"]["channel"] == "control")
        .filter_map(|line| line["fields"].get(field))
        .map(|value| value.to_string().trim_matches('"').to_string())
        .collect()
}

/// A `get` (USER, PASS, RETR) is recorded by both ends with its commands and reply codes, the
/// password masked, and the file as one data transfer of its size.
#[test]
fn get_session_records_commands_replies_and_the_transfer() {
    let root = TempDir::new("ftp-trace-json-root");
    std::fs::write(root.join("notes.txt"), b"twelve bytes").unwrap();
    let traces = TempDir::new("ftp-trace-json");
    let server_trace = traces.join("server.jsonl");
    let client_trace = traces.join("client.jsonl");
    let server = start_server(
        root.path(),
        &["--trace-json", server_trace.to_str().unwrap()],
    );
    let url = format!("ftp://{USER}:{PASSWORD}@{}/notes.txt", server.addr);
    let copy = traces.join("copy.txt");
    let (code, out, err) = run_cli(
        BIN,
        &[
            "get",
            &url,
            "-o",
            copy.to_str().unwrap(),
            "--trace-json",
            client_trace.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0, "{out}{err}");

    let client = events_once(&client_trace, |events| !events.is_empty());
    let sent = control(&client, "send", "command");
    assert_eq!(&sent[..2], ["USER", "PASS"]);
    assert!(sent.contains(&"RETR".to_string()), "{sent:?}");
    assert!(
        !std::fs::read_to_string(&client_trace)
            .unwrap()
            .contains(PASSWORD)
    );
    let replies = control(&client, "receive", "reply");
    assert_eq!(&replies[..3], ["220", "331", "230"]);
    assert!(replies.contains(&"150".to_string()) && replies.contains(&"226".to_string()));

    let server_events = events_once(&server_trace, |events| {
        events.iter().any(|line| line["event"] == "close")
    });
    let received = control(&server_events, "receive", "command");
    assert_eq!(&received[..2], ["USER", "PASS"]);
    let arguments = control(&server_events, "receive", "argument");
    assert_eq!(arguments[1], "****");
    assert_eq!(
        &control(&server_events, "send", "reply")[..3],
        ["220", "331", "230"]
    );
    let transfer = server_events
        .iter()
        .find(|line| line["event"] == "send" && line["fields"]["channel"] == "data")
        .expect("the transfer");
    assert_eq!(transfer["bytes"], 12);
    // Both ends name the same control connection: the client's local is the server's peer.
    let first_command = server_events
        .iter()
        .find(|line| line["event"] == "receive")
        .unwrap();
    let client_send = client.iter().find(|line| line["event"] == "send").unwrap();
    assert_eq!(first_command["peer"], client_send["local"]);
    assert_eq!(first_command["local"], client_send["peer"]);
}
