//! Tests of the instructor and demo scripts under scripts/, in one test binary:
//! - [`netns_lab`]: `scripts/netns-lab` end to end (root, Linux).
//! - [`demo`]: `scripts/demo`'s pair-chat section shows a real exchange of turns.
//! - [`ladders`]: the ladder diagrams `scripts/ladders` writes in docs/ match fresh runs.

mod demo;
#[cfg(unix)]
mod ladders;
mod netns_lab;
