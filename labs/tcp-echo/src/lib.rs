//! # tcp-echo: the first netlab lab
//!
//! An echo server sends back what it receives (RFC 862). It is the smallest server that still
//! shows the big questions of network programming: where does a message end (framing), how does
//! one program serve many clients at once (threads or an event loop), and what happens when a
//! client is slow, silent, hostile or gone.
//!
//! ## Layout
//! - [`cli`]: the `serve`, `connect` and `bench` subcommands.
//! - [`server`]: settings, start-up and Ctrl-C, shared by both engines.
//! - [`engine_threads`]: one thread per client, blocking I/O.
//! - [`engine_mio`]: one thread, an event loop over non-blocking sockets.
//! - [`protocol`]: what the server answers in line/length framing (`WELCOME`, `ACK`, `status`,
//!   `exit`); pure, no I/O.
//! - [`registry`]: the table of connected clients (names, addresses, limit).
//! - [`client`]: the interactive client.
//! - [`bench`](mod@bench): the load generator, usable against any raw echo server, or ours in any framing.
//! - [`boundaries`]: the experiment `bench --boundaries` runs: what breaks without framing.
//! - [`wire`]: the exact bytes those two send and expect back, per framing.

pub mod bench;
pub mod boundaries;
pub mod cli;
pub mod client;
pub mod engine_mio;
pub mod engine_threads;
pub mod grade;
pub mod protocol;
pub mod registry;
pub mod server;
pub mod wire;
