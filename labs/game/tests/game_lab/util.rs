//! Helpers shared by the game-lab integration tests: the binary under test, and starting its
//! server on 127.0.0.1 port 0 (the port is learned from its `listening on` line) with either
//! engine.

use netlab_testkit::ServerProcess;

/// Path of the binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_game-lab");

/// Both of the server's engines: every test that exercises the server runs against each, since
/// they must be indistinguishable to a client.
pub const ENGINES: [&str; 2] = ["threads", "mio"];

/// Starts `game-lab serve --port 0 --engine ENGINE ARGS...` and waits for its `listening on`
/// line (ARGS that name an engine themselves, as a transcript about one engine does, keep it).
/// Says which engine on stderr, which the test harness shows when the test fails.
pub fn start(engine: &str, args: &[&str]) -> ServerProcess {
    let mut all = vec!["serve", "--port", "0"];
    if !args.contains(&"--engine") {
        eprintln!("--- engine {engine}");
        all.extend_from_slice(&["--engine", engine]);
    }
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all)
}
