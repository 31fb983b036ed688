//! `make demo`'s pair-chat section shows a real exchange of turns: each side's screen holds the
//! other side's line. (It once piped the listener's reply in before its turn: the reply was
//! refused with "it is not your turn" and neither side ever saw the other's message.)
//!
//! The section runs as `scripts/demo pair` with the lab binaries of this test's build
//! (`NETLAB_BIN`), so it needs no release build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use netlab_testkit::docs::workspace_root;
use netlab_testkit::workspace_binary;

/// Both sides of the demo's pair chat show the other side's line, in turn order, and the chat
/// ends with the connecting side's `/q`.
#[test]
fn demo_pair_section_shows_both_sides_talking() {
    let bin_dir = workspace_binary("tcp-chat", "tcp-chat")
        .parent()
        .unwrap()
        .to_path_buf();
    let output = Command::new("bash")
        .arg("scripts/demo")
        .arg("pair")
        .env("NETLAB_BIN", &bin_dir)
        .env("NO_COLOR", "1")
        .current_dir(workspace_root())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{shown}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (connecting, listening) = shown
        .split_once("--- the listening side ---")
        .expect("both sides are shown");
    assert!(connecting.contains("[CHAT] peer: hello back"), "{shown}");
    assert!(
        listening.contains("[CHAT] peer: hi, want to chat?"),
        "{shown}"
    );
    assert!(connecting.contains("you ended the chat (/q)"), "{shown}");
    assert!(
        listening.contains("the peer ended the chat (/q)"),
        "{shown}"
    );
    assert!(!shown.contains("not your turn"), "{shown}");
}
