//! What several test modules need: the program under test, a room on a free port, a welcomed
//! member, a datagram built from a header.
#![allow(clippy::unwrap_used)]

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
