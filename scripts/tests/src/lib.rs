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
//! - `tests/scripts/mininet.rs`: `scripts/mininet-lab` runs every scenario on Mininet (the echo
//!   and chat labs across a switch, udp-chat over a lossy WAN, game bots on three hosts, FTP
//!   through a NAT) and a CLI script; each matches its transcript in docs/README.md and leaves
//!   nothing behind. Needs Linux, root and Mininet; elsewhere it prints a `SKIPPED` line.
//! - `tests/scripts/wireshark.rs`: `scripts/capture` records real sessions of the TCP labs (echo,
//!   pair, duplex, room, game) and `tshark` with `scripts/wireshark/*.lua` decodes them; the
//!   decoded fields are asserted. Needs root, tcpdump and tshark; elsewhere `SKIPPED`.
