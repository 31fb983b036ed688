//! # netlab-scripts-tests: tests of the scripts under `scripts/`
//!
//! The scripts are shell; their tests are Rust so that `make test` runs them with everything else
//! and they share the labs' test kit (`netlab-testkit`). This library is empty: it is here to say
//! where the tests are.
//!
//! ## Layout (one test binary, `tests/scripts/main.rs`)
//! - `tests/scripts/demo.rs`: `scripts/demo pair` shows a real exchange of turns on both sides.
//! - `tests/scripts/netns_lab.rs`: `scripts/netns-lab` builds hosts in network namespaces; the echo lab's
//!   server runs in one and `nc` clients in others, through links with loss. Needs Linux and
//!   root; elsewhere it prints a `SKIPPED` line.
//! - `tests/scripts/wireshark.rs`: `scripts/capture` records real sessions of the TCP labs (echo,
//!   pair, duplex, room, game) and `tshark` with `scripts/wireshark/*.lua` decodes them; the
//!   decoded fields are asserted. Needs root, tcpdump and tshark; elsewhere `SKIPPED`.
