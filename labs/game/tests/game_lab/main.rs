//! The integration tests of `game-lab`, in one test binary (one link, one run; as ripgrep
//! does). Every test starts the real `game-lab` program and talks to it over real sockets on
//! 127.0.0.1, port 0, waiting for lines, never sleeping. Shared helpers are in `util`; the
//! broken servers `grade` is tried on are in `tests/fixtures/broken/`.

mod bench;
mod console;
mod docs;
mod exhaustion;
mod grade;
mod server;
mod util;
