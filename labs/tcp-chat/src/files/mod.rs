//! # Files between two programs: what every mode that moves files shares
//!
//! `duplex` sends files inside its frames (`/send PATH`); the room's client uploads with `put`
//! and downloads with `get`. The wire formats differ, but the work at the two ends is the same,
//! so it lives here once and no mode reaches into another mode's modules for it:
//!
//! - [`send`]: opening a file to send (refused with a clear reason before anything goes on
//!   the wire) and reading it out chunk by chunk.
//! - [`transfer`]: receiving one under a hidden temporary name, and giving it its final name
//!   only when it is complete and its SHA-256 matches; never overwriting a file.
//! - [`filename`]: turning a name chosen by a (possibly hostile) sender into a safe base name,
//!   the one rule for characters no shown name may carry, `new_` prefixes.

pub mod filename;
pub mod send;
pub mod transfer;
