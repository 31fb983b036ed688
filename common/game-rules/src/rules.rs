//! # What every game shares
//!
//! Every game in this crate has the same shape: a value holding the state, and
//! `apply(player, move) -> Result<Outcome, MoveError>`. Keeping the shape the same lets a server
//! treat the games alike (see [`crate::game`]), and lets a student who has read one game read the
//! others quickly.
//!
//! ## Seats
//! A player is a *seat*: a `usize` counted from 0, in the order the players joined. The API counts
//! from 0 like every Rust index; text meant for people counts from 1 ("player 1"), as people do.
//!
//! ## A refused move changes nothing
//! `apply` makes every check before it changes anything, so an `Err` leaves the game exactly as it
//! was. The checks come in a fixed order: is this a player of the game, is the game still on, is
//! it this player's turn, and only then is the move itself legal. A player who types while it is
//! not their turn is told "not your turn", not that their text was garbage.
//!
//! ## Typed text is hostile
//! Moves usually arrive as text a person typed, read from a socket. The sender may be a person with
//! caps lock on, a telnet client adding `\r`, or a program sending junk on purpose. Every parser
//! starts with `typed_move`: it refuses text longer than [`MAX_MOVE_LEN`] *before* looking at it,
//! then trims whitespace. After that the parsers compare with `eq_ignore_ascii_case` and walk
//! `chars()`; they never index, so no input can make them panic or work for long.

use std::fmt;

use crate::rps::RoundResult;

/// The longest move text accepted, in bytes. The longest real move is `scissors` (8 bytes); the
/// rest is room for stray spaces. Longer text is refused before it is trimmed or compared, so the
/// work spent on one move is bounded whatever arrives.
pub const MAX_MOVE_LEN: usize = 32;

/// Who is looking at a rendering. Each game shows a viewer only what that viewer may know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// The player in this seat: the text says "you", and shows this player's own secret choices.
    /// A seat that is not in the game gets the spectator's view.
    Player(usize),
    /// Someone watching, or a log: sees only what is public.
    Spectator,
}

/// Why a move was refused. Each message is written to be sent to the player as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// The seat is not one of this game's players.
    #[error("there is no such player: this game has {players} players")]
    UnknownPlayer {
        /// How many players the game has.
        players: usize,
    },
    /// The game has ended; it accepts no more moves.
    #[error("the game is over; start a new one to play again")]
    GameOver,
    /// Another player must move first.
    #[error("it is not your turn: waiting for {}", player_label(*.waiting_for))]
    NotYourTurn {
        /// The seat whose move the game is waiting for.
        waiting_for: usize,
    },
    /// Rock-paper-scissors: this player has already chosen in this round.
    #[error("you have already chosen this round; waiting for your opponent")]
    AlreadyChosen,
    /// The text is longer than any move could be.
    #[error("a move is at most {max} bytes long")]
    TooLong {
        /// The limit, [`MAX_MOVE_LEN`].
        max: usize,
    },
    /// Tic-tac-toe: the text is not a number.
    #[error("type the number of a square, 1 to 9")]
    NotASquare,
    /// Tic-tac-toe: a number, but not one of the squares.
    #[error("there is no such square: the squares are numbered 1 to 9")]
    NoSuchSquare,
    /// Tic-tac-toe: the square already holds an X or an O.
    #[error("square {square} is already taken; pick an empty square")]
    SquareTaken {
        /// The square asked for, 1 to 9.
        square: u8,
    },
    /// Rock-paper-scissors: the text names none of the three shapes.
    #[error("choose rock, paper or scissors (or just r, p or s)")]
    NotAShape,
    /// Hangman: the text is not one letter from a to z.
    #[error("guess one letter, a to z")]
    NotALetter,
    /// Hangman: somebody already guessed this letter.
    #[error("'{letter}' has already been guessed; try another letter")]
    AlreadyGuessed {
        /// The letter, in lowercase.
        letter: char,
    },
}

/// Why a game could not be started. These come from the server's settings, not from a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The game cannot be played by this many players.
    #[error("{game} is for {} players, not {got}", player_range(*.min, *.max))]
    PlayerCount {
        /// The game's name.
        game: &'static str,
        /// The fewest players it takes.
        min: usize,
        /// The most players it takes.
        max: usize,
        /// How many were asked for.
        got: usize,
    },
    /// Rock-paper-scissors: "best of N" needs an odd N, so that somebody must win the match.
    #[error("best of {got} is not possible: choose an odd number from 1 to {max}")]
    BestOf {
        /// The N asked for.
        got: u32,
        /// The largest N allowed.
        max: u32,
    },
    /// Hangman: the secret word is empty, too long, or not made of the letters a to z.
    #[error("the secret word must be 1 to {max} letters, a to z")]
    BadWord {
        /// The longest word allowed.
        max: usize,
    },
}

/// How a finished game ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ending {
    /// One player won (tic-tac-toe, rock-paper-scissors).
    Won {
        /// The winner's seat.
        winner: usize,
    },
    /// Nobody won: a full tic-tac-toe board without a line.
    Draw,
    /// Hangman: the players revealed the word, and win together.
    WordFound,
    /// Hangman: the gallows was completed, and the players lose together.
    Hanged,
}

/// What an accepted move did. The `Display` text is a neutral one-line report ("player 2 to
/// move") that a server may send to every player; it never reveals a sealed choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The move was made and the game goes on; it is now `next`'s turn.
    NextTurn {
        /// The seat to move next.
        next: usize,
    },
    /// Hangman: the letter was guessed, and the game goes on.
    Guessed {
        /// The letter, in lowercase.
        letter: char,
        /// How many times it appears in the word; 0 is a wrong guess.
        count: usize,
        /// The seat to guess next.
        next: usize,
    },
    /// Rock-paper-scissors: the choice is sealed until the other player has chosen. It carries
    /// no shape on purpose, so it can be shown to anyone.
    Sealed {
        /// The seat still to choose.
        waiting_for: usize,
    },
    /// Rock-paper-scissors: both players chose, the round is decided (or tied, and will be
    /// replayed), and the match goes on.
    Round(RoundResult),
    /// The move ended the game.
    Finished(Ending),
}

impl Outcome {
    /// True when the move ended the game.
    pub fn ends_game(self) -> bool {
        matches!(self, Outcome::Finished(_))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::NextTurn { next } => write!(f, "{} to move", player_label(*next)),
            Outcome::Guessed {
                letter,
                count: 0,
                next,
            } => write!(
                f,
                "'{letter}' is not in the word; {} guesses next",
                player_label(*next)
            ),
            Outcome::Guessed {
                letter,
                count,
                next,
            } => write!(
                f,
                "'{letter}' is in the word ({count}x); {} guesses next",
                player_label(*next)
            ),
            Outcome::Sealed { waiting_for } => {
                write!(
                    f,
                    "choice sealed; waiting for {}",
                    player_label(*waiting_for)
                )
            }
            Outcome::Round(round) => round.fmt(f),
            Outcome::Finished(ending) => ending.fmt(f),
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Won { winner } => write!(f, "{} wins the game", player_label(*winner)),
            Ending::Draw => f.write_str("a draw: nobody wins"),
            Ending::WordFound => f.write_str("the word is found: everybody wins"),
            Ending::Hanged => f.write_str("the gallows is complete: everybody loses"),
        }
    }
}

/// How a seat is named in text for people: seat 0 is "player 1".
pub(crate) fn player_label(seat: usize) -> String {
    format!("player {}", seat.saturating_add(1))
}

/// "2" or "2 to 4", for messages about player counts.
fn player_range(min: usize, max: usize) -> String {
    if min == max {
        min.to_string()
    } else {
        format!("{min} to {max}")
    }
}

/// The first step of every move parser: refuse overlong text unread, then trim it.
pub(crate) fn typed_move(text: &str) -> Result<&str, MoveError> {
    if text.len() > MAX_MOVE_LEN {
        return Err(MoveError::TooLong { max: MAX_MOVE_LEN });
    }
    Ok(text.trim())
}

/// The seat after `seat`, wrapping around. `players` is never 0: every game refuses to start
/// without players.
pub(crate) fn next_seat(seat: usize, players: usize) -> usize {
    seat.saturating_add(1) % players.max(1)
}

/// The seat a viewer plays in a game of `players`, or `None` for a spectator (or a stranger).
pub(crate) fn seat_of(viewer: Viewer, players: usize) -> Option<usize> {
    match viewer {
        Viewer::Player(seat) if seat < players => Some(seat),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text longer than the limit is refused without being trimmed: padding does not get around it.
    #[test]
    fn typed_move_bounds_then_trims() {
        assert_eq!(typed_move("  Rock \r\n"), Ok("Rock"));
        let padded = format!("{}5", " ".repeat(MAX_MOVE_LEN));
        assert_eq!(
            typed_move(&padded),
            Err(MoveError::TooLong { max: MAX_MOVE_LEN })
        );
        // The limit counts bytes (`str::len`), and the message says so: "é" is one character
        // but two bytes, so 17 of them are refused although they are only 17 characters.
        let seventeen = "é".repeat(17);
        let refused = typed_move(&seventeen).map_err(|err| err.to_string());
        assert_eq!(refused, Err("a move is at most 32 bytes long".to_string()));
    }

    /// Messages count players from 1 and never overflow on a hostile seat number.
    #[test]
    fn labels_count_from_one() {
        assert_eq!(
            MoveError::NotYourTurn { waiting_for: 0 }.to_string(),
            "it is not your turn: waiting for player 1"
        );
        assert_eq!(player_label(usize::MAX), format!("player {}", usize::MAX));
    }

    /// Player-count errors read naturally for fixed and ranged counts.
    #[test]
    fn setup_messages() {
        let fixed = SetupError::PlayerCount {
            game: "tic-tac-toe",
            min: 2,
            max: 2,
            got: 3,
        };
        assert_eq!(fixed.to_string(), "tic-tac-toe is for 2 players, not 3");
        let ranged = SetupError::PlayerCount {
            game: "hangman",
            min: 2,
            max: 4,
            got: 1,
        };
        assert_eq!(ranged.to_string(), "hangman is for 2 to 4 players, not 1");
    }
}
