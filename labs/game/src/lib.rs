//! # netlab-game: the game server, its client, bench and grader (`game-lab`)
//!
//! A game server is two programs in one. The rules part decides whether a move is legal and who
//! won; it lives in its own crate, `netlab-game-rules` (common/game-rules), with no sockets, no
//! threads and no clock, so the chat lab can use the same games without this server. This crate
//! is the network part: it accepts players, reads the lines they type, drives the rules and the
//! lobby, and sends everyone the board.
//!
//! ## Layout
//! - [`server`]: the multithreaded server (a thread per player through the shared accept loop,
//!   one lock, bounded outboxes), its text [`server::protocol`] and the [`server::lobby`] state
//!   machine (rooms, matchmaking, forfeits, seat tokens), which has no I/O either.
//! - [`client`]: `game-lab play`, a terminal client that draws the board in color.
//! - [`bench`](mod@bench): `game-lab bench`, bot players that play whole games and measure move latency.
//! - [`grade`]: `game-lab grade`, which plays tic-tac-toe against a student's server and checks
//!   it against docs/protocols/game.md: the referee's rules, split and merged lines, limits,
//!   20 games at once, a client that never reads, a player who vanishes.
//! - [`cli`]: the command line.
#![warn(clippy::indexing_slicing)]

pub mod bench;
pub mod cli;
pub mod client;
pub mod grade;
pub mod server;
