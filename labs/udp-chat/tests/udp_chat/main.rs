//! The integration tests of `udp-chat`, in one test binary (one link step, one process start),
//! one module per subject:
//! - [`connection`]: one connection driven by hand: the retransmission timer, Karn's rule,
//!   hostile input.
//! - [`simulation`]: whole conversations over a simulated bad network, on a virtual clock.
//! - [`program`]: the `udp-chat` program over real UDP sockets: the room, faults, limits, the
//!   trace, the bench.
//! - [`hostile`]: the room against members and strangers that do not play by the rules.
//! - [`grade`]: `udp-chat grade` against netlab's room and deliberately broken ones.
//! - [`capture`]: `--pcap` captures read back by tshark with scripts/wireshark/udp-chat.lua.
//! - [`terminal`]: `udp-chat connect` on a real terminal (tmux): the input line, history,
//!   commands, and the status rows under loss.
//! - [`docs`]: docs/udp-chat.md replayed against the real program.
//!
//! [`util`] holds the helpers several of them share.

mod capture;
mod connection;
mod docs;
mod grade;
mod hostile;
mod program;
mod simulation;
mod terminal;
mod trace_json;
mod util;
