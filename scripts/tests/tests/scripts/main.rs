//! Tests of the instructor and demo scripts under scripts/, in one test binary:
//! - [`netns_lab`]: `scripts/netns-lab` end to end (root, Linux).
//! - [`demo`]: `scripts/demo`'s pair-chat section shows a real exchange of turns.
//! - [`wireshark`]: `scripts/capture` records real sessions of the TCP labs and the dissectors
//!   in `scripts/wireshark/` decode them (root, tcpdump, tshark).

mod demo;
mod netns_lab;
mod wireshark;
