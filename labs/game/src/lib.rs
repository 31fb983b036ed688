//! # netlab-game: the game server, its client, bench and grader (`game-lab`)
//!
//! A game server is two programs in one. The rules part decides whether a move is legal and who
//! won; it lives in its own crate, `netlab-game-rules` (common/game-rules), with no sockets, no
//! threads and no clock, so the chat lab can use the same games without this server. This crate
//! is the network part: it accepts players, reads the lines they type, drives the rules and the
//! lobby, and sends everyone the board.
//!
//! ## Layout
//! One module per subcommand, each taking a plain config that [`cli`] builds from the flags. No
//! other module imports `cli` or parses a flag; the traces of clap below it are
//! [`bench::BotGame`] and [`server::Engine`] deriving `clap::ValueEnum`, so their variants are
//! the `--game` and `--engine` values.
//! - [`cli`]: the `serve`, `play`, `bench` and `grade` flags, turned into those configs.
//! - [`server`]: `serve`, the server ([`ServeConfig`](server::ServeConfig)), with two engines
//!   over the same lobby: `--engine threads` (a reader and a writer thread per player, one lock,
//!   bounded outboxes) and `--engine mio` (one thread, an event loop, the same bounds). Inside
//!   it, its text [`server::protocol`] and the [`server::lobby`] state machine (rooms,
//!   matchmaking, forfeits, seat tokens), which has no I/O and takes the time as an argument.
//! - [`client`]: `play`, a terminal client that draws the board in color.
//! - [`bench`](mod@bench): `bench`, bot players that play whole games and measure move latency.
//! - [`grade`]: `grade`, which plays tic-tac-toe against a student's server and checks it
//!   against docs/protocols/game.md: the referee's rules, split and merged lines, limits,
//!   20 games at once, a client that never reads, a player who vanishes.
#![warn(clippy::indexing_slicing)]

pub mod bench;
pub mod cli;
pub mod client;
pub mod grade;
pub mod server;
