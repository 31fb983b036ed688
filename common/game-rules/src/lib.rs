//! # netlab-game-rules: the rules of three small games, and nothing else
//!
//! A game server is two programs in one. The network part accepts players, reads the lines they
//! type and sends them the board. The rules part decides whether a move is legal and who won. This
//! crate is only the rules part, so the game server and the chat lab's `play` command can share it
//! (a crate of its own, so the chat lab does not pull in the game server's sockets and threads).
//!
//! Each game is a *state machine*: a value that holds the state, and
//! `apply(player, move) -> Result<Outcome, MoveError>`, which either refuses the move with a
//! reason or changes the state and says what happened. Nothing here touches a socket, a clock or a
//! random number generator. Whatever a server would take from those (a word to guess, a seed)
//! comes in as an argument. That is what lets the tests play whole games move by move, with the
//! same result on every run; quinn's QUIC state machine is built the same way (time is an argument).
//!
//! Moves usually arrive as text a person typed, read from the network. That text is hostile input:
//! the parsers bound its length before looking at it, never index into it, and answer garbage with
//! a [`MoveError`] whose message tells the player what to type instead.
//!
//! ## Layout
//! - [`rules`]: what every game shares: seats, [`Viewer`], [`MoveError`], [`Outcome`],
//!   [`Ending`], [`SetupError`], and the length limit on typed moves.
//! - [`tictactoe`]: tic-tac-toe for two, squares numbered 1 to 9.
//! - [`rps`]: rock-paper-scissors, best of N, each choice sealed until both players have chosen.
//! - [`hangman`]: cooperative hangman for 2 to 4 players, the gallows, the built-in word list.
//! - [`game`]: [`Game`] and [`GameKind`], one interface over all three for a server.
//!
//! The network side lives elsewhere: the `game-lab` program (labs/game) serves these games to
//! players over TCP, and `tcp-chat pair` lets two chatting people play them.
//!
//! ## Example
//! ```
//! use netlab_game_rules::{Ending, TicTacToe, Viewer};
//!
//! # fn main() -> Result<(), netlab_game_rules::MoveError> {
//! let mut game = TicTacToe::new();
//! game.apply_text(0, " 5 ")?; // X takes the centre (spaces are forgiven)
//! let refused = game.apply_text(1, "5").unwrap_err();
//! assert_eq!(refused.to_string(), "square 5 is already taken; pick an empty square");
//! for (seat, square) in [(1, "1"), (0, "3"), (1, "2"), (0, "7")] {
//!     game.apply_text(seat, square)?;
//! }
//! assert_eq!(game.ending(), Some(Ending::Won { winner: 0 })); // 3-5-7, a diagonal
//! println!("{}", game.render(Viewer::Spectator).join("\n"));
//! # Ok(())
//! # }
//! ```
#![warn(clippy::indexing_slicing)]

pub mod game;
pub mod hangman;
pub mod rps;
pub mod rules;
pub mod tictactoe;

pub use game::{Game, GameKind};
pub use hangman::Hangman;
pub use rps::{Rps, Shape};
pub use rules::{Ending, MoveError, Outcome, SetupError, Viewer};
pub use tictactoe::TicTacToe;
