//! # netlab-scripts-tests: tests of the instructor scripts under `scripts/`
//!
//! The scripts are shell; their tests are Rust so that `make test` runs them with everything else
//! and they share the labs' test kit (`netlab-testkit`). This library is empty: it is here to say
//! where the tests are.
//!
//! ## Layout
//! - `tests/netns_lab.rs`: `scripts/netns-lab` builds hosts in network namespaces; the echo lab's
//!   server runs in one and `nc` clients in others, through links with loss. Needs Linux and
//!   root; elsewhere it prints a `SKIPPED` line.
