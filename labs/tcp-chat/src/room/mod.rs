//! # `tcp-chat room`: many clients, one server
//!
//! `room serve` runs a chat room: every client connects to the server, and the server relays.
//! Unlike `pair` and `duplex`, where the two programs are equals, here one program is in the
//! middle: it gives out names, keeps the session cache, enforces `--max-clients`, serves files,
//! and sees every message. `room join` is a client for it, but any line-based tool (`nc`, telnet)
//! can join too, because the protocol is plain lines.
//!
//! - [`protocol`]: the lines, byte by byte, and parsing them (pure).
//! - [`lines`]: reading bounded lines and raw bytes from one buffered stream.
//! - [`registry`]: the session cache, unique names, the client limit, per-client queues.
//! - [`server`]: the accept loop and the thread per client.
//! - [`console`]: the operator's keyboard on the server.
//! - [`repository`]: the file repository (`--files DIR`) and its path checks.
//! - [`commands`]: `list`, `get`, `put`: moving the bytes.
//! - [`log`]: `--session-log`, one JSON line per connect, disconnect and rejection.
//! - [`join`]: the client.

pub mod commands;
pub mod console;
pub mod join;
pub mod lines;
pub mod log;
pub mod protocol;
pub mod registry;
pub mod repository;
pub mod server;
