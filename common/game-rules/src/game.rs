//! # One interface for every game
//!
//! A server that hosts games asks each of them the same questions: what is it called, how many
//! players does it take, whose move is it, which moves may they make, is it over, here is what
//! this player typed, what should this viewer see. [`GameKind`] answers the questions asked
//! before a game exists, and [`Game`] the ones asked during it, for all three games, by passing
//! each call on with a `match`. A server that asks only these questions hosts a fourth game
//! without a change: the game's module and the `match`es here are all that a new game touches.
//!
//! Why an enum and not a trait (`Box<dyn Game>`)? The games are a closed set, known when the
//! crate is compiled. An enum needs no allocation and no `dyn`, gets `Clone` and `PartialEq` for
//! free, and when a fourth game is added the compiler points at every `match` that must learn it.
//! A trait would be the better tool if other crates had to add games of their own.

use crate::hangman::{self, Hangman};
use crate::rps::{self, Rps};
use crate::rules::{Ending, MAX_MOVE_LEN, MoveError, Outcome, SetupError, Viewer};
use crate::tictactoe::{self, TicTacToe};

/// Which game: what a server needs to know before starting one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GameKind {
    /// Tic-tac-toe, 2 players.
    TicTacToe,
    /// Rock-paper-scissors, best of 3, 2 players.
    RockPaperScissors,
    /// Cooperative hangman, 2 to 4 players.
    Hangman,
}

impl GameKind {
    /// Every game, in the order a menu lists them.
    pub const ALL: [GameKind; 3] = [
        GameKind::TicTacToe,
        GameKind::RockPaperScissors,
        GameKind::Hangman,
    ];

    /// The name a player types to choose the game (`play tictactoe`).
    pub fn name(self) -> &'static str {
        self.names().first().copied().unwrap_or_default()
    }

    /// The fewest players the game takes.
    pub fn min_players(self) -> usize {
        match self {
            GameKind::TicTacToe => tictactoe::PLAYERS,
            GameKind::RockPaperScissors => rps::PLAYERS,
            GameKind::Hangman => hangman::MIN_PLAYERS,
        }
    }

    /// The most players the game takes.
    pub fn max_players(self) -> usize {
        match self {
            GameKind::TicTacToe => tictactoe::PLAYERS,
            GameKind::RockPaperScissors => rps::PLAYERS,
            GameKind::Hangman => hangman::MAX_PLAYERS,
        }
    }

    /// True when the players win or lose together (hangman): a player who leaves cannot hand
    /// the win to the others, so the game is abandoned instead.
    pub fn cooperative(self) -> bool {
        match self {
            GameKind::TicTacToe | GameKind::RockPaperScissors => false,
            GameKind::Hangman => true,
        }
    }

    /// The game a person named, forgiving case, spaces and common spellings (`ttt`, `Tic-Tac-Toe`,
    /// `rps`, `rock-paper-scissors`, `hangman`). `None` for anything else.
    pub fn from_name(text: &str) -> Option<GameKind> {
        if text.len() > MAX_MOVE_LEN {
            return None;
        }
        let text = text.trim();
        GameKind::ALL.into_iter().find(|kind| {
            kind.names()
                .iter()
                .any(|name| text.eq_ignore_ascii_case(name))
        })
    }

    /// Starts a game for `players` (seats 0 to `players - 1`). `seed` is the game's only source
    /// of chance: hangman uses it to pick its word, the others ignore it. Pass a random number for
    /// real play and a fixed one in tests.
    pub fn start(self, players: usize, seed: u64) -> Result<Game, SetupError> {
        if !(self.min_players()..=self.max_players()).contains(&players) {
            return Err(SetupError::PlayerCount {
                game: self.name(),
                min: self.min_players(),
                max: self.max_players(),
                got: players,
            });
        }
        Ok(match self {
            GameKind::TicTacToe => Game::TicTacToe(TicTacToe::new()),
            GameKind::RockPaperScissors => Game::Rps(Rps::new(rps::DEFAULT_BEST_OF)?),
            GameKind::Hangman => Game::Hangman(Hangman::new(players, hangman::pick_word(seed))?),
        })
    }

    /// Accepted spellings; the first is the official name.
    fn names(self) -> &'static [&'static str] {
        match self {
            GameKind::TicTacToe => &["tictactoe", "tic-tac-toe", "ttt"],
            GameKind::RockPaperScissors => &["rps", "rock-paper-scissors", "rockpaperscissors"],
            GameKind::Hangman => &["hangman"],
        }
    }
}

/// A game in progress, whichever it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Game {
    /// A game of tic-tac-toe.
    TicTacToe(TicTacToe),
    /// A match of rock-paper-scissors.
    Rps(Rps),
    /// A game of hangman.
    Hangman(Hangman),
}

impl Game {
    /// Which game this is.
    pub fn kind(&self) -> GameKind {
        match self {
            Game::TicTacToe(_) => GameKind::TicTacToe,
            Game::Rps(_) => GameKind::RockPaperScissors,
            Game::Hangman(_) => GameKind::Hangman,
        }
    }

    /// How many players are seated.
    pub fn players(&self) -> usize {
        match self {
            Game::TicTacToe(_) => tictactoe::PLAYERS,
            Game::Rps(_) => rps::PLAYERS,
            Game::Hangman(game) => game.players(),
        }
    }

    /// The seats whose move the game is waiting for: one seat in a turn-based game, up to both
    /// in rock-paper-scissors (they choose at the same time), none once the game is over.
    pub fn waiting_for(&self) -> Vec<usize> {
        match self {
            Game::TicTacToe(game) => game.to_move().into_iter().collect(),
            Game::Rps(game) => game.waiting_for(),
            Game::Hangman(game) => game.to_move().into_iter().collect(),
        }
    }

    /// The moves a player the game waits for may type now, spelled the way the game's
    /// `apply_text` accepts them (a server lists them in its prompt, a bot picks one). Each game
    /// knows its own moves, so a server never needs to know which game it is hosting.
    pub fn legal_moves(&self) -> Vec<String> {
        match self {
            Game::TicTacToe(game) => game.legal_moves(),
            Game::Rps(game) => game.legal_moves(),
            Game::Hangman(game) => game.legal_moves(),
        }
    }

    /// How the game ended, or `None` while it goes on.
    pub fn ending(&self) -> Option<Ending> {
        match self {
            Game::TicTacToe(game) => game.ending(),
            Game::Rps(game) => game.ending(),
            Game::Hangman(game) => game.ending(),
        }
    }

    /// True once the game is over.
    pub fn is_over(&self) -> bool {
        self.ending().is_some()
    }

    /// Applies a move typed by `player`: parse, check, play. A refused move changes nothing.
    pub fn apply_text(&mut self, player: usize, text: &str) -> Result<Outcome, MoveError> {
        match self {
            Game::TicTacToe(game) => game.apply_text(player, text),
            Game::Rps(game) => game.apply_text(player, text),
            Game::Hangman(game) => game.apply_text(player, text),
        }
    }

    /// The state as plain text lines (no colors) for `viewer`, showing only what they may see.
    pub fn render(&self, viewer: Viewer) -> Vec<String> {
        match self {
            Game::TicTacToe(game) => game.render(viewer),
            Game::Rps(game) => game.render(viewer),
            Game::Hangman(game) => game.render(viewer),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Names are forgiving of case, spaces and spelling, and refuse anything else.
    #[test]
    fn kinds_by_name() {
        assert_eq!(
            GameKind::from_name(" Tic-Tac-Toe "),
            Some(GameKind::TicTacToe)
        );
        assert_eq!(
            GameKind::from_name("RPS"),
            Some(GameKind::RockPaperScissors)
        );
        assert_eq!(GameKind::from_name("hangman\r"), Some(GameKind::Hangman));
        assert_eq!(GameKind::from_name("chess"), None);
        assert_eq!(GameKind::from_name(""), None);
        assert_eq!(GameKind::from_name(&"ttt ".repeat(10_000)), None);
        for kind in GameKind::ALL {
            assert_eq!(GameKind::from_name(kind.name()), Some(kind));
        }
    }

    /// Player counts outside a game's range are refused with the game's name.
    #[test]
    fn start_checks_player_count() {
        let err = GameKind::TicTacToe.start(3, 0).unwrap_err();
        assert_eq!(err.to_string(), "tictactoe is for 2 players, not 3");
        let err = GameKind::Hangman.start(5, 0).unwrap_err();
        assert_eq!(err.to_string(), "hangman is for 2 to 4 players, not 5");
        assert_eq!(GameKind::Hangman.start(4, 7).unwrap().players(), 4);
    }

    /// Through the common interface: rock-paper-scissors waits for both, then for one.
    #[test]
    fn uniform_turns() {
        let mut game = GameKind::RockPaperScissors.start(2, 0).unwrap();
        assert_eq!(game.waiting_for(), vec![0, 1]);
        game.apply_text(1, "r").unwrap();
        assert_eq!(game.waiting_for(), vec![0]);

        let mut game = GameKind::TicTacToe.start(2, 0).unwrap();
        assert_eq!(game.waiting_for(), vec![0]);
        assert_eq!(game.legal_moves().len(), 9);
        game.apply_text(0, "1").unwrap();
        assert_eq!(game.waiting_for(), vec![1]);
        assert_eq!(game.legal_moves(), ["2", "3", "4", "5", "6", "7", "8", "9"]);
        assert!(!game.is_over());
        assert_eq!(game.kind(), GameKind::TicTacToe);
    }
}
