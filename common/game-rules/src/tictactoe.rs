//! # Tic-tac-toe
//!
//! Two players take turns putting their mark on an empty square of a 3x3 board. The first to own
//! a whole row, column or diagonal wins; a full board with no such line is a draw. Seat 0 plays X
//! and moves first, seat 1 plays O.
//!
//! Squares are numbered like a phone keypad, which is what players type:
//!
//! ```text
//!  1 | 2 | 3
//! ---+---+---
//!  4 | 5 | 6
//! ---+---+---
//!  7 | 8 | 9
//! ```
//!
//! Inside, the board is an array of nine cells: square `n` is cell `n - 1`. Besides the board the
//! state machine remembers only whose turn it is and, once it is over, how the game ended. A game
//! lasts at most nine moves.

use crate::rules::{Ending, MoveError, Outcome, Viewer, seat_of, typed_move};

/// Tic-tac-toe is for exactly two players.
pub const PLAYERS: usize = 2;

/// The eight lines that win, as cell indexes (square minus one).
#[rustfmt::skip]
const LINES: [[usize; 3]; 8] = [
    [0, 1, 2], [3, 4, 5], [6, 7, 8], // rows
    [0, 3, 6], [1, 4, 7], [2, 5, 8], // columns
    [0, 4, 8], [2, 4, 6],            // diagonals
];

/// A player's mark on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mark {
    /// Seat 0, who moves first.
    X,
    /// Seat 1.
    O,
}

impl Mark {
    /// The mark of a seat, or `None` for a seat not in the game.
    pub fn of_seat(seat: usize) -> Option<Mark> {
        match seat {
            0 => Some(Mark::X),
            1 => Some(Mark::O),
            _ => None,
        }
    }

    /// The seat that plays this mark.
    pub fn seat(self) -> usize {
        match self {
            Mark::X => 0,
            Mark::O => 1,
        }
    }

    /// The letter drawn on the board.
    pub fn letter(self) -> char {
        match self {
            Mark::X => 'X',
            Mark::O => 'O',
        }
    }

    fn other(self) -> Mark {
        match self {
            Mark::X => Mark::O,
            Mark::O => Mark::X,
        }
    }
}

/// Reads a square number typed by a person: `"5"`, `" 5 "`, also `"05"`.
pub fn parse_square(text: &str) -> Result<u8, MoveError> {
    let text = typed_move(text)?;
    match text.parse::<u8>() {
        Ok(square @ 1..=9) => Ok(square),
        Ok(_) => Err(MoveError::NoSuchSquare),
        // All digits but too big for a u8 is still "a number, but no such square".
        Err(_) if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) => {
            Err(MoveError::NoSuchSquare)
        }
        Err(_) => Err(MoveError::NotASquare),
    }
}

/// The state of one game of tic-tac-toe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicTacToe {
    /// Cell `n - 1` holds square `n`; `None` is an empty square.
    cells: [Option<Mark>; 9],
    /// The mark to play next (unused once `ending` is set).
    turn: Mark,
    /// `Some` once the game is over: a win or a draw.
    ending: Option<Ending>,
}

impl Default for TicTacToe {
    fn default() -> Self {
        Self::new()
    }
}

impl TicTacToe {
    /// An empty board with X to move.
    pub fn new() -> Self {
        Self {
            cells: [None; 9],
            turn: Mark::X,
            ending: None,
        }
    }

    /// The mark on `square` (1 to 9); `None` if it is empty or there is no such square.
    pub fn mark_at(&self, square: u8) -> Option<Mark> {
        let cell = usize::from(square).checked_sub(1)?;
        self.cells.get(cell).copied().flatten()
    }

    /// The seat whose move it is, or `None` once the game is over.
    pub fn to_move(&self) -> Option<usize> {
        match self.ending {
            None => Some(self.turn.seat()),
            Some(_) => None,
        }
    }

    /// The moves the player to move may type now: the numbers of the empty squares, in order.
    /// Empty once the game is over.
    pub fn legal_moves(&self) -> Vec<String> {
        if self.ending.is_some() {
            return Vec::new();
        }
        (1..=9u8)
            .filter(|square| self.mark_at(*square).is_none())
            .map(|square| square.to_string())
            .collect()
    }

    /// How the game ended, or `None` while it goes on.
    pub fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// Puts `player`'s mark on `square` (1 to 9), or says why not.
    pub fn apply(&mut self, player: usize, square: u8) -> Result<Outcome, MoveError> {
        let mark = self.check_turn(player)?;
        let cell = usize::from(square)
            .checked_sub(1)
            .and_then(|cell| self.cells.get_mut(cell))
            .ok_or(MoveError::NoSuchSquare)?;
        if cell.is_some() {
            return Err(MoveError::SquareTaken { square });
        }
        *cell = Some(mark);

        // A win is checked before a full board: a ninth move that completes a line wins.
        let ending = if self.owns_a_line(mark) {
            Ending::Won {
                winner: mark.seat(),
            }
        } else if self.cells.iter().all(Option::is_some) {
            Ending::Draw
        } else {
            self.turn = mark.other();
            return Ok(Outcome::NextTurn {
                next: self.turn.seat(),
            });
        };
        self.ending = Some(ending);
        Ok(Outcome::Finished(ending))
    }

    /// Parses what `player` typed and applies it. Turn errors come before parse errors.
    pub fn apply_text(&mut self, player: usize, text: &str) -> Result<Outcome, MoveError> {
        self.check_turn(player)?;
        let square = parse_square(text)?;
        self.apply(player, square)
    }

    /// The board as text lines, with the numbers of the empty squares, and a status line for
    /// `viewer`.
    pub fn render(&self, viewer: Viewer) -> Vec<String> {
        let labels: Vec<String> = self
            .cells
            .iter()
            .zip(1..)
            .map(|(cell, square)| match cell {
                Some(mark) => mark.letter().to_string(),
                None => square.to_string(),
            })
            .collect();
        let mut lines = Vec::new();
        for (row_number, row) in labels.chunks(3).enumerate() {
            if row_number > 0 {
                lines.push("---+---+---".to_string());
            }
            lines.push(format!(" {}", row.join(" | ")));
        }
        lines.push(self.status_line(viewer));
        lines
    }

    /// Who may move: a player of this game, in a game that is on, whose turn it is.
    fn check_turn(&self, player: usize) -> Result<Mark, MoveError> {
        let mark = Mark::of_seat(player).ok_or(MoveError::UnknownPlayer { players: PLAYERS })?;
        if self.ending.is_some() {
            return Err(MoveError::GameOver);
        }
        if mark != self.turn {
            return Err(MoveError::NotYourTurn {
                waiting_for: self.turn.seat(),
            });
        }
        Ok(mark)
    }

    fn owns_a_line(&self, mark: Mark) -> bool {
        LINES.iter().any(|line| {
            line.iter()
                .all(|&cell| self.cells.get(cell) == Some(&Some(mark)))
        })
    }

    fn status_line(&self, viewer: Viewer) -> String {
        let me = seat_of(viewer, PLAYERS).and_then(Mark::of_seat);
        match (self.ending, me) {
            (Some(Ending::Won { winner }), Some(mark)) if winner == mark.seat() => {
                "You win!".to_string()
            }
            (Some(Ending::Won { winner }), _) => {
                let letter = Mark::of_seat(winner).map_or('?', Mark::letter);
                format!("{letter} wins.")
            }
            // Tic-tac-toe ends only in a win or a draw.
            (Some(_), _) => "Draw: the board is full and nobody has a line.".to_string(),
            (None, Some(mark)) if mark == self.turn => format!(
                "You are {}. Your move: type the number of an empty square.",
                mark.letter()
            ),
            (None, Some(mark)) => format!(
                "You are {}. Waiting for {} to move.",
                mark.letter(),
                self.turn.letter()
            ),
            (None, None) => format!("{} to move.", self.turn.letter()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Plays `squares` alternately from X, stopping at the first refusal.
    fn play(squares: &[u8]) -> (TicTacToe, Vec<Outcome>) {
        let mut game = TicTacToe::new();
        let outcomes = squares
            .iter()
            .zip([0, 1].into_iter().cycle())
            .map(|(&square, seat)| game.apply(seat, square).unwrap())
            .collect();
        (game, outcomes)
    }

    /// X wins on each of the eight lines: three rows, three columns, two diagonals.
    #[test]
    fn x_wins_on_every_line() {
        for line in LINES {
            let squares: Vec<u8> = line.iter().map(|&cell| cell as u8 + 1).collect();
            // O takes the first two squares off the line: two marks can never make O a line.
            let elsewhere: Vec<u8> = (1..=9).filter(|square| !squares.contains(square)).collect();
            let moves = [
                squares[0],
                elsewhere[0],
                squares[1],
                elsewhere[1],
                squares[2],
            ];
            let (game, outcomes) = play(&moves);
            assert_eq!(
                outcomes.last(),
                Some(&Outcome::Finished(Ending::Won { winner: 0 })),
                "line {line:?}"
            );
            assert_eq!(game.to_move(), None);
        }
    }

    /// O can win too, on its third move.
    #[test]
    fn o_wins_a_column() {
        let (game, outcomes) = play(&[1, 2, 4, 5, 9, 8]);
        assert_eq!(
            outcomes.last(),
            Some(&Outcome::Finished(Ending::Won { winner: 1 }))
        );
        assert_eq!(game.render(Viewer::Player(1)).last().unwrap(), "You win!");
        assert_eq!(game.render(Viewer::Player(0)).last().unwrap(), "O wins.");
    }

    /// A full board without a line is a draw, reported on the ninth move.
    #[test]
    fn full_board_is_a_draw() {
        let (game, outcomes) = play(&[1, 2, 3, 5, 4, 6, 8, 7, 9]);
        assert_eq!(outcomes.last(), Some(&Outcome::Finished(Ending::Draw)));
        assert_eq!(game.ending(), Some(Ending::Draw));
    }

    /// A ninth move that completes a line is a win, not a draw.
    #[test]
    fn ninth_move_win_beats_draw() {
        // X: 1 3 8 5 9 (the 1-5-9 diagonal on the last square), O: 2 4 6 7.
        let (game, outcomes) = play(&[1, 2, 3, 4, 8, 6, 5, 7, 9]);
        assert_eq!(outcomes.len(), 9);
        assert_eq!(game.mark_at(9), Some(Mark::X));
        assert_eq!(
            outcomes.last(),
            Some(&Outcome::Finished(Ending::Won { winner: 0 }))
        );
    }

    /// A whole game with every kind of refusal, each with its exact error, changing nothing.
    #[test]
    fn full_game_with_refusals() {
        let mut game = TicTacToe::new();
        assert_eq!(
            game.apply_text(1, "5"),
            Err(MoveError::NotYourTurn { waiting_for: 0 })
        );
        assert_eq!(
            game.apply_text(2, "5"),
            Err(MoveError::UnknownPlayer { players: 2 })
        );
        assert_eq!(game.apply_text(0, "ten"), Err(MoveError::NotASquare));
        assert_eq!(game.apply_text(0, "0"), Err(MoveError::NoSuchSquare));
        assert_eq!(game.apply(0, 10), Err(MoveError::NoSuchSquare));
        assert_eq!(game, TicTacToe::new());

        assert_eq!(
            game.apply_text(0, " 5\r"),
            Ok(Outcome::NextTurn { next: 1 })
        );
        assert_eq!(
            game.apply_text(1, "5"),
            Err(MoveError::SquareTaken { square: 5 })
        );
        for (seat, square) in [(1, "1"), (0, "9"), (1, "3"), (0, "2"), (1, "8")] {
            assert!(!game.apply_text(seat, square).unwrap().ends_game());
        }
        assert_eq!(game.apply_text(0, "6"), Ok(Outcome::NextTurn { next: 1 }));
        let before = game.clone();
        assert_eq!(
            game.apply_text(1, "6"),
            Err(MoveError::SquareTaken { square: 6 })
        );
        assert_eq!(game, before);
        assert_eq!(game.apply_text(1, "7"), Ok(Outcome::NextTurn { next: 0 }));
        assert_eq!(
            game.apply_text(0, "4"),
            Ok(Outcome::Finished(Ending::Won { winner: 0 }))
        );
        assert_eq!(game.apply_text(1, "6"), Err(MoveError::GameOver));
        assert_eq!(game.apply_text(0, "x"), Err(MoveError::GameOver));
    }

    /// Empty squares show their numbers; the status line depends on who is looking.
    #[test]
    fn render_shows_numbers_and_whose_turn() {
        let (game, _) = play(&[5, 1]);
        let board = game.render(Viewer::Player(0));
        assert_eq!(
            board[..5],
            [
                " O | 2 | 3",
                "---+---+---",
                " 4 | X | 6",
                "---+---+---",
                " 7 | 8 | 9",
            ]
        );
        assert_eq!(
            board[5],
            "You are X. Your move: type the number of an empty square."
        );
        assert_eq!(
            game.render(Viewer::Player(1))[5],
            "You are O. Waiting for X to move."
        );
        assert_eq!(game.render(Viewer::Spectator)[5], "X to move.");
        assert_eq!(game.render(Viewer::Player(7))[5], "X to move.");
    }

    /// Odd text is refused with a reason, never a panic.
    #[test]
    fn parse_square_odd_input() {
        assert_eq!(parse_square("7"), Ok(7));
        assert_eq!(parse_square("  07 "), Ok(7));
        assert_eq!(parse_square(""), Err(MoveError::NotASquare));
        assert_eq!(parse_square("   "), Err(MoveError::NotASquare));
        assert_eq!(parse_square("-1"), Err(MoveError::NotASquare));
        assert_eq!(parse_square("５"), Err(MoveError::NotASquare));
        assert_eq!(parse_square("99999999999"), Err(MoveError::NoSuchSquare));
        assert_eq!(
            parse_square(&"9".repeat(100_000)),
            Err(MoveError::TooLong { max: 32 })
        );
    }
}
