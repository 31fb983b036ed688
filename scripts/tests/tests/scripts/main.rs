//! Tests of the instructor and demo scripts under scripts/, in one test binary:
//! - [`mininet`]: `scripts/mininet-lab` end to end: every scenario, the CLI, and nothing left
//!   behind (root, Linux, Mininet); `scripts/netns-lab` pointing to it.
//! - [`demo`]: `scripts/demo`'s pair-chat section shows a real exchange of turns.
//! - [`wireshark`]: `scripts/capture` records real sessions of the TCP labs and the dissectors
//!   in `scripts/wireshark/` decode them (root, tcpdump, tshark).
//! - [`env`]: `. scripts/env` puts the programs on PATH.
//! - [`ladders`]: the ladder diagrams `scripts/ladders` writes in docs/ match fresh runs.

mod demo;
mod env;
#[cfg(unix)]
mod ladders;
mod mininet;
mod wireshark;
