//! Helpers shared by the game-lab integration tests: the binary under test, and starting its
//! server on 127.0.0.1 port 0 (the port is learned from its `listening on` line).

use netlab_testkit::ServerProcess;

/// Path of the binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_game-lab");

/// Starts `game-lab serve --port 0 ARGS...` and waits for its `listening on` line.
pub fn start(args: &[&str]) -> ServerProcess {
    let mut all = vec!["serve", "--port", "0"];
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all)
}
