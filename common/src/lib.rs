//! # netlab-common: the pieces every lab shares
//!
//! Each lab in netlab (echo, chat, UDP chat, FTP, game) is a small program over real sockets.
//! The parts they all need live here, once, each module with a doc comment that teaches the idea
//! it implements.
//!
//! ## Layout
//! - [`framing`]: turning a byte stream into messages (raw, newline, length prefix), with a
//!   maximum frame size checked before anything is allocated.
//! - [`error`]: one error type whose messages say what went wrong and what to try.
//! - [`net`]: opening listeners and connections with the socket options servers need.
//! - [`accept`]: the thread-per-client accept loop that survives running out of threads and
//!   file descriptors, and bounds how many threads it starts.
//! - [`trace`]: `--trace`, a hex + ASCII dump of every chunk on the wire (`--trace-bytes`: how
//!   much of each).
//! - [`trace_json`]: `--trace-json`, every chunk and event as a JSON line with time and both
//!   addresses, the one schema from which `netlab-ladder` draws ladder diagrams.
//! - [`term`]: colored status lines that respect `NO_COLOR`, and sanitizing text from peers.
//! - [`progress`]: progress bars and human-readable sizes for file transfers.
//! - [`console`]: the interactive clients' terminal: the typed line pinned at the bottom, status
//!   lines and transfer bars above it, output scrolling past; plain line-by-line in pipes.
//! - [`stats`]: percentiles, medians and MiB/s for benchmark reports.
//! - [`random`]: the one seeded pseudo-random generator (SplitMix64) every lab uses, so a run
//!   with the same `--seed` repeats exactly.
//! - [`bench`](mod@bench): what the throughput benches share: a scratch directory, a
//!   pseudo-random test file, size and SHA-256 fingerprints to check every copy, clean-up on
//!   Ctrl-C.
//! - [`digest`]: SHA-256 fingerprints as 32 bytes and as the 64 hex digits `sha256sum` prints.
//! - [`cli`]: the clap flags every lab spells the same way (`--bind`, `--port`, `--trace`, ...).
//! - [`grade`]: checks with deadlines and a rubric, for the labs' `grade` subcommands.

//!
//! ## One word for one thing (the labs' glossary)
//! Every lab uses these words in the same sense, in code and in docs:
//! - **Args** / **Config**: `Args` are clap structs, and live only in a lab's `cli.rs`; `cli.rs`
//!   turns them into a plain **Config** (`ServeConfig`, `ConnectConfig`, `BenchConfig`,
//!   `GradeConfig`, or `Config` inside a module named for the subcommand), which is all a
//!   program module sees. Not "Options", not "Settings".
//! - **wire**: the module that turns a lab's messages into bytes and back (frames, datagrams,
//!   lines) and nothing else. A benchmark's made-up messages are its **payload**, not its wire.
//! - **peer**: the other end of a connection (or of a UDP conversation). **client**: a peer of
//!   a server; in a chat room it is a **member**, in the game server a **player**; an FTP
//!   client's control connection and its state are a **session**.
//! - **Event**: something a loop reacts to (a line typed, a frame received, a timer due).
//!   **Notice**: something the pure core tells the program layer to show or report.
//! - **Endpoint**: a UDP socket and the conversations on it (RFC 9000 §1.2's word). Which end of a TCP
//!   connection a program is, is its **Role** (listener or connector).
//! - **Engine**: how a server runs many clients at once (`threads`, `mio`).
//! - **Framing**: how a byte stream is cut into messages ([`Framing`]).
//! - **Outbox**: the bounded queue of output waiting for one peer's socket.
//! - **idle timeout**: `--idle-timeout SECONDS`, 0 for never ([`cli::IdleTimeoutArgs`]).

pub mod accept;
pub mod bench;
pub mod cli;
pub mod console;
pub mod digest;
pub mod error;
pub mod framing;
pub mod grade;
pub mod net;
pub mod progress;
pub mod random;
pub mod stats;
pub mod term;
pub mod trace;
pub mod trace_json;

pub use error::{Error, Result};
pub use framing::{FrameDecoder, FrameError, FrameReader, Framing, write_frame};
pub use trace::{Direction, Traced, Tracer};
