//! Tests of the instructor and demo scripts under scripts/, in one test binary:
//! - [`mininet`]: `scripts/mininet-lab` end to end: every scenario, the CLI, and nothing left
//!   behind (root, Linux, Mininet); `scripts/netns-lab` pointing to it.
//! - [`demo`]: `scripts/demo`'s pair-chat section shows a real exchange of turns.

mod demo;
mod mininet;
