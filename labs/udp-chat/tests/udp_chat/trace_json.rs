//! `--trace-json`: every datagram with its header fields, the fault injector's drop and the
//! retransmission timeout, so a ladder diagram can draw the loss.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use netlab_testkit::traces::events_once;
use netlab_testkit::{ServerProcess, TempDir};
use serde_json::Value;

use crate::util::BIN;

/// With `--loss 30% --seed 3` the client's JOIN (seq 0) is recorded as dropped by the fault
/// injector, then a retransmission timeout, then the JOIN again with `retransmit`; the room's
/// ACK of it arrives with `ack` 1.
#[test]
fn seeded_loss_is_recorded_with_header_fields() {
    let traces = TempDir::new("udp-trace-json");
    let client_trace = traces.join("client.jsonl");
    let room = ServerProcess::start(BIN, &["serve", "--port", "0", "--ping-interval", "30"]);
    let mut ada = ServerProcess::interactive(
        BIN,
        &[
            "connect",
            &room.addr.to_string(),
            "--name",
            "ada",
            "--loss",
            "30%",
            "--seed",
            "3",
            "--trace-json",
            client_trace.to_str().unwrap(),
        ],
    );
    ada.wait_for(|line| line.contains("welcome, ada"));
    ada.close_stdin();
    assert_eq!(ada.wait_exit(), 0);
    let events = events_once(&client_trace, |events| !events.is_empty());
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(&kinds[..3], ["drop", "timer", "send"], "{events:#?}");
    let (dropped, resent) = (&events[0], &events[2]);
    for join in [dropped, resent] {
        assert_eq!(join["fields"]["type"], "JOIN");
        assert_eq!(join["fields"]["seq"], 0);
        assert_eq!(join["dir"], "out");
        assert_eq!(join["transport"], "udp");
    }
    assert_eq!(dropped["fields"]["fault"], "dropped by the fault injector");
    assert!(dropped.get("retransmit").is_none());
    assert_eq!(resent["retransmit"], true);
    assert_ne!(
        dropped["hash"], resent["hash"],
        "the RETRANSMIT flag changes the bytes"
    );
    let ack = events
        .iter()
        .find(|e: &&Value| e["event"] == "receive" && e["fields"]["type"] == "ACK")
        .expect("the room's ACK");
    assert_eq!(ack["fields"]["ack"], 1);
    assert_eq!(ack["peer"], room.addr.to_string());
}
