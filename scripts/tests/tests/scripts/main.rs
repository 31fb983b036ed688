//! Tests of the instructor and demo scripts under scripts/, in one test binary:
//! - [`netns_lab`]: `scripts/netns-lab` end to end (root, Linux).
//! - [`demo`]: `scripts/demo`'s pair-chat section shows a real exchange of turns.

mod demo;
mod netns_lab;
