//! tcp-chat's integration tests, in one test binary (as ripgrep does): one module per area,
//! each running the real `tcp-chat` over loopback sockets, and the helpers they share in
//! [`util`]. One binary links once, instead of once per file.
//!
//! They share one process: nothing here may assume it runs alone. The tests that exhaust
//! threads or file descriptors (`exhaustion`) take `netlab_testkit::limits`' process-wide lock,
//! and no test installs a Ctrl-C handler or changes an environment variable.

mod bench;
mod cli;
#[cfg(unix)]
mod console;
#[cfg(unix)]
mod console_resize;
mod docs;
mod duplex;
mod exhaustion;
mod grade;
mod hostile;
mod pair;
#[cfg(unix)]
mod pair_tty;
mod room;
mod turns;
mod util;
