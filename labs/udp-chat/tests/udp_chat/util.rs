//! What several test modules need: the program under test, a room on a free port, a welcomed
//! member, a datagram built from a header, tshark with our dissector.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use netlab_testkit::ServerProcess;
use udp_chat::wire::{Datagram, Header};

/// The `udp-chat` executable cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_udp-chat");

/// `udp-chat serve` on a free port (it prints `listening on ADDR`), with `extra` flags.
pub fn serve(extra: &[&str]) -> ServerProcess {
    let mut args = vec!["serve", "--port", "0"];
    args.extend_from_slice(extra);
    ServerProcess::start(BIN, &args)
}

/// A `udp-chat connect` member, with `extra` flags, who has been welcomed into the room.
pub fn join(server: &ServerProcess, name: &str, extra: &[&str]) -> ServerProcess {
    let addr = server.addr.to_string();
    let mut args = vec!["connect", addr.as_str(), "--name", name];
    args.extend_from_slice(extra);
    let mut member = ServerProcess::interactive(BIN, &args);
    member.wait_for(|line| line.starts_with(&format!("[INFO] welcome, {name}")));
    member
}

/// The bytes of one datagram.
pub fn datagram(header: Header, payload: &[u8]) -> Vec<u8> {
    Datagram { header, payload }.to_vec().unwrap()
}

/// The Wireshark dissector for our header.
pub const DISSECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/wireshark/udp-chat.lua"
);

/// Whether `tshark` is installed; when it is not, says visibly that `test` is skipped.
pub fn have_tshark(test: &str) -> bool {
    let found = netlab_testkit::find_program("tshark").is_some();
    if !found {
        netlab_testkit::skip(
            test,
            "tshark is not installed (apt-get install tshark; .ci/run installs it)",
        );
    }
    found
}

/// tshark reading `pcap` with our dissector loaded and registered on the room's `port`
/// (`-o udpchat.port:PORT`, the dissector's preference), then `args`; its standard output as
/// lines. Fails the test if tshark fails.
pub fn tshark(pcap: &Path, port: u16, args: &[&str]) -> Vec<String> {
    let output = Command::new("tshark")
        .arg("-X")
        .arg(format!("lua_script:{DISSECTOR}"))
        .arg("-o")
        .arg(format!("udpchat.port:{port}"))
        .arg("-r")
        .arg(pcap)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tshark failed: {stderr}");
    // A Lua error does not fail tshark; it only prints it.
    assert!(!stderr.contains("Lua"), "the dissector failed: {stderr}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// [`tshark`] printing `fields` of every frame, tab-separated: one row per frame.
pub fn tshark_fields(pcap: &Path, port: u16, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["-T", "fields", "-E", "separator=/t"];
    for field in fields {
        args.extend(["-e", field]);
    }
    tshark(pcap, port, &args)
        .iter()
        .map(|line| line.split('\t').map(String::from).collect())
        .collect()
}
