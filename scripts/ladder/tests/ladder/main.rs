//! `netlab-ladder` on a real run: two `udp-chat` processes on loopback, the client's first
//! datagram (its JOIN) dropped by a seeded fault injector, so the run has a loss, a
//! retransmission timeout and a retransmission. The diagrams of that run are checked in all
//! three formats; the text and Mermaid forms against docs/ladder.md, which shows them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(unix)]
mod seeded;
