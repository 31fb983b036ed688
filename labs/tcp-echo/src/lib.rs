//! # tcp-echo: the first netlab lab
//!
//! An echo server sends back what it receives (RFC 862). It is the smallest server that still
//! shows the big questions of network programming: where does a message end (framing), how does
//! one program serve many clients at once (threads or an event loop), and what happens when a
//! client is slow, silent, hostile or gone.
//!
//! ## Layout
//! The program layer (sockets, threads, the terminal), one module per subcommand, each taking a
//! plain config that [`cli`] builds from the flags. No other module imports `cli` or parses a
//! flag; the one trace of clap below it is [`server::Engine`] deriving `clap::ValueEnum`, so its
//! variants and their docs are the `--engine` values (as `Framing` is in `netlab_common`).
//! - [`cli`]: the `serve`, `connect`, `bench` and `grade` flags, turned into those configs.
//! - [`server`]: `serve`'s [`ServeConfig`](server::ServeConfig), start-up and Ctrl-C, shared by
//!   both engines.
//! - [`engine_threads`]: one thread per client, blocking I/O.
//! - [`engine_mio`]: one thread, an event loop over non-blocking sockets.
//! - [`client`]: `connect`, the interactive client.
//! - [`bench`](mod@bench): `bench`, the load generator, usable against any raw echo server, or
//!   ours in any framing.
//! - [`boundaries`]: `bench --boundaries`, the experiment that shows what breaks without framing.
//! - [`grade`]: `grade`, the conformance checks for anyone's echo server
//!   (docs/protocols/echo.md).
//!
//! The pure core (no I/O, unit-tested directly):
//! - [`protocol`]: what the server answers in line/length framing (`WELCOME`, `ACK`, `status`,
//!   `exit`, `ERROR`). The framings themselves are `netlab_common::framing`.
//! - [`registry`]: the table of connected clients (names, addresses, limit).
//! - [`payload`]: the bench's made-up messages and the exact bytes a server must send back for
//!   them, per framing (used by `bench` and `boundaries`).

pub mod bench;
pub mod boundaries;
pub mod cli;
pub mod client;
pub mod engine_mio;
pub mod engine_threads;
pub mod grade;
pub mod payload;
pub mod protocol;
pub mod registry;
pub mod server;
