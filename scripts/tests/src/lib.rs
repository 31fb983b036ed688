//! # netlab-scripts-tests: tests of the scripts under `scripts/`
//!
//! The scripts are shell; their tests are Rust so that `make test` runs them with everything else
//! and they share the labs' test kit (`netlab-testkit`). This library is empty: it is here to say
//! where the tests are.
//!
//! ## Layout (one test binary, `tests/scripts/main.rs`)
//! - `tests/scripts/demo.rs`: `scripts/demo pair` shows a real exchange of turns on both sides.
//! - `tests/scripts/ladders.rs`: every ladder diagram `scripts/ladders` generated in docs/ is
//!   what a fresh run of its scenario draws (Unix: the script is bash).
//! - `tests/scripts/netns_lab.rs`: `scripts/netns-lab` builds hosts in network namespaces; the echo lab's
//!   server runs in one and `nc` clients in others, through links with loss. Needs Linux and
//!   root; elsewhere it prints a `SKIPPED` line.
