//! ftp-lab's integration tests, in one binary (as ripgrep's are): one module per concern, each
//! against the real `ftp-lab` executable over real sockets on loopback, with the helpers they
//! share in [`util`] and the Python servers and clients they drive in `tests/fixtures/`.
//!
//! One binary links once, instead of once per file. The tests share one process: nothing here
//! sets environment variables or installs a Ctrl-C handler in the test process (the bench and
//! the servers run as child processes), and the thread-exhaustion test serializes itself with
//! `netlab_testkit::limits`' process-wide lock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod bench;
mod cli;
mod client;
#[cfg(unix)]
mod docs;
mod exhaustion;
mod ftps;
mod grade;
mod hostile;
mod interop;
mod server;
#[cfg(unix)]
mod shell_tty;
mod trace_json;
mod util;
