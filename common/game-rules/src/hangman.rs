//! # Hangman: find the word before the gallows is drawn
//!
//! Two to four players share one secret word and take turns guessing a letter each. A letter that
//! is in the word is revealed everywhere it appears. A letter that is not is a *wrong guess* and
//! draws one more piece of the gallows: head, body, two arms, two legs. Wrong guesses are shared,
//! so every player's miss draws on the same gallows.
//!
//! The game is cooperative: the players win together when the last letter is revealed, and lose
//! together on the [`MAX_WRONG`]th wrong guess, when the figure is complete. The turn passes to the
//! next seat after every guess, right or wrong, so nobody waits long. Each letter can be guessed
//! once, so a game lasts at most 26 guesses.
//!
//! The game never chooses its word: the server passes one in, usually [`pick_word`] with a number
//! from its own random source. Tests pass a word they know. While the game is on the word is a
//! secret like a sealed rock-paper-scissors choice: [`Hangman::answer`] is `None`, and `Debug`
//! shows only the revealed pattern.

use std::fmt;

use crate::rules::{
    Ending, MoveError, Outcome, SetupError, Viewer, next_seat, player_label, seat_of, typed_move,
};

/// The fewest players.
pub const MIN_PLAYERS: usize = 2;

/// The most players.
pub const MAX_PLAYERS: usize = 4;

/// Wrong guesses that complete the gallows and end the game.
pub const MAX_WRONG: usize = 6;

/// The longest secret word accepted.
pub const MAX_WORD_LEN: usize = 24;

/// The built-in words: common English, lowercase a to z, several from networking.
pub const WORDS: &[&str] = &[
    "apple", "bridge", "button", "cable", "candle", "castle", "cookie", "dragon", "engine",
    "forest", "garden", "guitar", "harbor", "island", "jungle", "kitten", "ladder", "letter",
    "market", "mirror", "music", "network", "ocean", "orange", "packet", "pencil", "planet",
    "puzzle", "rabbit", "river", "rocket", "router", "server", "signal", "silver", "socket",
    "stream", "thread", "tiger", "window", "wizard", "yellow",
];

/// Picks a word from [`WORDS`] with a number the caller chose (for example at random). Every
/// `u64` is fine: it is reduced modulo the length of the list.
pub fn pick_word(seed: u64) -> &'static str {
    let count = WORDS.len() as u64;
    let index = usize::try_from(seed % count).unwrap_or(0);
    // `index` is below the length, so the fallback is never used; it only avoids indexing.
    WORDS.get(index).copied().unwrap_or("network")
}

/// Reads a letter typed by a person: one letter a to z, in any case, with spaces around.
pub fn parse_letter(text: &str) -> Result<char, MoveError> {
    let text = typed_move(text)?;
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(letter), None) if letter.is_ascii_alphabetic() => Ok(letter.to_ascii_lowercase()),
        _ => Err(MoveError::NotALetter),
    }
}

/// The state of one game of hangman.
#[derive(Clone, PartialEq, Eq)]
pub struct Hangman {
    /// The secret, lowercase a to z.
    word: String,
    players: usize,
    /// Every letter guessed so far, in order; at most 26.
    guessed: Vec<char>,
    /// The seat to guess next (unused once `ending` is set).
    turn: usize,
    ending: Option<Ending>,
}

impl fmt::Debug for Hangman {
    /// Shows the pattern, not the word: a debug log must not give the answer away.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hangman")
            .field("pattern", &self.pattern())
            .field("players", &self.players)
            .field("guessed", &self.guessed)
            .field("turn", &self.turn)
            .field("ending", &self.ending)
            .finish()
    }
}

impl Hangman {
    /// A game for `players` (2 to 4) guessing `word` (1 to [`MAX_WORD_LEN`] letters a to z; upper
    /// case is accepted and lowered). Seat 0 guesses first.
    pub fn new(players: usize, word: &str) -> Result<Self, SetupError> {
        if !(MIN_PLAYERS..=MAX_PLAYERS).contains(&players) {
            return Err(SetupError::PlayerCount {
                game: "hangman",
                min: MIN_PLAYERS,
                max: MAX_PLAYERS,
                got: players,
            });
        }
        let valid = (1..=MAX_WORD_LEN).contains(&word.len())
            && word.bytes().all(|byte| byte.is_ascii_alphabetic());
        if !valid {
            return Err(SetupError::BadWord { max: MAX_WORD_LEN });
        }
        Ok(Self {
            word: word.to_ascii_lowercase(),
            players,
            guessed: Vec::new(),
            turn: 0,
            ending: None,
        })
    }

    /// How many players share the game.
    pub fn players(&self) -> usize {
        self.players
    }

    /// The seat whose guess it is, or `None` once the game is over.
    pub fn to_move(&self) -> Option<usize> {
        match self.ending {
            None => Some(self.turn),
            Some(_) => None,
        }
    }

    /// The moves the player to guess may type: the letters nobody has guessed yet, a to z.
    /// Empty once the game is over.
    pub fn legal_moves(&self) -> Vec<String> {
        if self.ending.is_some() {
            return Vec::new();
        }
        ('a'..='z')
            .filter(|letter| !self.guessed.contains(letter))
            .map(String::from)
            .collect()
    }

    /// How the game ended: [`Ending::WordFound`] or [`Ending::Hanged`]; `None` while it goes on.
    pub fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// The secret word, once the game is over; `None` while it is still being guessed.
    pub fn answer(&self) -> Option<&str> {
        self.ending.map(|_| self.word.as_str())
    }

    /// Letters guessed so far, in the order they were guessed.
    pub fn guessed(&self) -> &[char] {
        &self.guessed
    }

    /// Guessed letters that are not in the word, in order. Shared by all players.
    pub fn wrong_guesses(&self) -> Vec<char> {
        self.guessed
            .iter()
            .copied()
            .filter(|&letter| !self.word.contains(letter))
            .collect()
    }

    /// The word as the players see it: revealed letters, `_` for the rest, spaced (`_ e _ _ o`).
    pub fn pattern(&self) -> String {
        let shown: Vec<String> = self
            .word
            .chars()
            .map(|letter| {
                if self.guessed.contains(&letter) {
                    letter.to_string()
                } else {
                    "_".to_string()
                }
            })
            .collect();
        shown.join(" ")
    }

    /// `player` guesses `letter` (a to z, either case), or is told why not.
    pub fn apply(&mut self, player: usize, letter: char) -> Result<Outcome, MoveError> {
        self.check_turn(player)?;
        if !letter.is_ascii_alphabetic() {
            return Err(MoveError::NotALetter);
        }
        let letter = letter.to_ascii_lowercase();
        if self.guessed.contains(&letter) {
            return Err(MoveError::AlreadyGuessed { letter });
        }
        self.guessed.push(letter);

        let count = self.word.chars().filter(|&found| found == letter).count();
        let ending = if self.word.chars().all(|found| self.guessed.contains(&found)) {
            Ending::WordFound
        } else if self.wrong_guesses().len() >= MAX_WRONG {
            Ending::Hanged
        } else {
            self.turn = next_seat(self.turn, self.players);
            return Ok(Outcome::Guessed {
                letter,
                count,
                next: self.turn,
            });
        };
        self.ending = Some(ending);
        Ok(Outcome::Finished(ending))
    }

    /// Parses what `player` typed and applies it. Turn errors come before parse errors.
    pub fn apply_text(&mut self, player: usize, text: &str) -> Result<Outcome, MoveError> {
        self.check_turn(player)?;
        let letter = parse_letter(text)?;
        self.apply(player, letter)
    }

    /// The gallows, the word with blanks, the wrong letters and whose turn it is, for `viewer`.
    pub fn render(&self, viewer: Viewer) -> Vec<String> {
        let wrong = self.wrong_guesses();
        let mut lines = gallows(wrong.len());
        let letters: Vec<String> = wrong.iter().map(char::to_string).collect();
        let letters = if letters.is_empty() {
            "none".to_string()
        } else {
            letters.join(" ")
        };
        lines.push(format!(
            "Word: {} ({} letters)",
            self.pattern(),
            self.word.len()
        ));
        lines.push(format!(
            "Wrong guesses ({} of {MAX_WRONG}): {letters}",
            wrong.len(),
        ));
        lines.push(self.status_line(viewer));
        lines
    }

    /// Who may guess: a player of this game, in a game that is on, whose turn it is.
    fn check_turn(&self, player: usize) -> Result<(), MoveError> {
        if player >= self.players {
            return Err(MoveError::UnknownPlayer {
                players: self.players,
            });
        }
        if self.ending.is_some() {
            return Err(MoveError::GameOver);
        }
        if player != self.turn {
            return Err(MoveError::NotYourTurn {
                waiting_for: self.turn,
            });
        }
        Ok(())
    }

    fn status_line(&self, viewer: Viewer) -> String {
        match (self.ending, seat_of(viewer, self.players)) {
            (Some(Ending::WordFound), _) => {
                format!("The word is {}: everybody wins!", self.word)
            }
            (Some(_), _) => format!(
                "The gallows is complete. The word was {}: everybody loses.",
                self.word
            ),
            (None, Some(me)) if me == self.turn => "Your turn: guess a letter, a to z.".to_string(),
            (None, _) => format!("Waiting for {} to guess.", player_label(self.turn)),
        }
    }
}

/// The gallows after `wrong` wrong guesses, as seven lines. Piece `n` appears with the `n`th
/// wrong guess: head, body, left arm, right arm, left leg, right leg.
///
/// ```text
///   +---+
///   |   |
///   O   |
///  /|\  |
///  / \  |
///       |
/// =========
/// ```
fn gallows(wrong: usize) -> Vec<String> {
    let piece = |nth: usize, drawn: &'static str| if wrong >= nth { drawn } else { " " };
    vec![
        "  +---+".to_string(),
        "  |   |".to_string(),
        format!("  {}   |", piece(1, "O")),
        format!(" {}{}{}  |", piece(3, "/"), piece(2, "|"), piece(4, "\\")),
        format!(" {} {}  |", piece(5, "/"), piece(6, "\\")),
        "      |".to_string(),
        "=========".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Three players guess "socket" together; the turn goes round; right and wrong both pass it.
    #[test]
    fn three_players_find_the_word() {
        let mut game = Hangman::new(3, "socket").unwrap();
        let guesses = [
            (0, "s", 1),
            (1, "z", 0),
            (2, "o", 1),
            (0, "C", 1),
            (1, "k", 1),
        ];
        for (seat, text, count) in guesses {
            let next = (seat + 1) % 3;
            assert_eq!(
                game.apply_text(seat, text),
                Ok(Outcome::Guessed {
                    letter: text.to_ascii_lowercase().chars().next().unwrap(),
                    count,
                    next
                })
            );
        }
        assert_eq!(game.pattern(), "s o c k _ _");
        assert_eq!(game.answer(), None);
        assert_eq!(
            game.apply_text(2, " e"),
            Ok(Outcome::Guessed {
                letter: 'e',
                count: 1,
                next: 0
            })
        );
        assert_eq!(
            game.apply_text(0, "t"),
            Ok(Outcome::Finished(Ending::WordFound))
        );
        assert_eq!(game.answer(), Some("socket"));
        assert_eq!(game.apply_text(1, "q"), Err(MoveError::GameOver));
        assert_eq!(
            game.render(Viewer::Spectator).last().unwrap(),
            "The word is socket: everybody wins!"
        );
    }

    /// Six wrong guesses from different players complete one shared gallows.
    #[test]
    fn shared_wrong_guesses_hang_everybody() {
        let mut game = Hangman::new(2, "ocean").unwrap();
        for (seat, letter) in [(0, 'z'), (1, 'q'), (0, 'x'), (1, 'j'), (0, 'k')] {
            assert!(!game.apply(seat, letter).unwrap().ends_game());
        }
        assert_eq!(game.wrong_guesses(), vec!['z', 'q', 'x', 'j', 'k']);
        assert_eq!(game.apply(1, 'w'), Ok(Outcome::Finished(Ending::Hanged)));
        let view = game.render(Viewer::Player(0));
        assert_eq!(
            view[..7],
            [
                "  +---+",
                "  |   |",
                "  O   |",
                " /|\\  |",
                " / \\  |",
                "      |",
                "=========",
            ]
        );
        assert_eq!(view[8], "Wrong guesses (6 of 6): z q x j k w");
        assert_eq!(
            view[9],
            "The gallows is complete. The word was ocean: everybody loses."
        );
    }

    /// Refusals, each with its exact error, leave the game unchanged.
    #[test]
    fn refusals() {
        let mut game = Hangman::new(2, "river").unwrap();
        game.apply_text(0, "r").unwrap();
        let before = game.clone();
        assert_eq!(
            game.apply_text(0, "e"),
            Err(MoveError::NotYourTurn { waiting_for: 1 })
        );
        assert_eq!(
            game.apply_text(1, "R"),
            Err(MoveError::AlreadyGuessed { letter: 'r' })
        );
        assert_eq!(game.apply_text(1, "ab"), Err(MoveError::NotALetter));
        assert_eq!(game.apply_text(1, "7"), Err(MoveError::NotALetter));
        assert_eq!(game.apply_text(1, "é"), Err(MoveError::NotALetter));
        assert_eq!(game.apply_text(1, ""), Err(MoveError::NotALetter));
        assert_eq!(
            game.apply_text(3, "e"),
            Err(MoveError::UnknownPlayer { players: 2 })
        );
        assert_eq!(game, before);
    }

    /// The rendering shows the gallows, blanks and whose turn, and never the hidden word.
    #[test]
    fn render_hides_the_word() {
        let mut game = Hangman::new(2, "tiger").unwrap();
        game.apply_text(0, "e").unwrap();
        let view = game.render(Viewer::Player(1));
        assert_eq!(view[0], "  +---+");
        assert_eq!(view[7], "Word: _ _ _ e _ (5 letters)");
        assert_eq!(view[8], "Wrong guesses (0 of 6): none");
        assert_eq!(view[9], "Your turn: guess a letter, a to z.");
        assert_eq!(
            game.render(Viewer::Player(0))[9],
            "Waiting for player 2 to guess."
        );
        assert!(!view.join("\n").contains("tiger"));
        assert!(!format!("{game:?}").contains("tiger"));
    }

    /// Bad setups are refused; every seed picks a valid word.
    #[test]
    fn setup_and_word_list() {
        assert!(matches!(
            Hangman::new(5, "apple"),
            Err(SetupError::PlayerCount { got: 5, .. })
        ));
        assert!(Hangman::new(1, "apple").is_err());
        assert_eq!(Hangman::new(2, ""), Err(SetupError::BadWord { max: 24 }));
        assert!(Hangman::new(2, "two words").is_err());
        assert!(Hangman::new(2, "café").is_err());
        for word in WORDS {
            assert!(Hangman::new(2, word).is_ok(), "{word}");
        }
        assert!(WORDS.len() >= 30);
        assert_eq!(pick_word(0), WORDS[0]);
        assert_eq!(pick_word(WORDS.len() as u64 + 1), WORDS[1]);
        assert!(WORDS.contains(&pick_word(u64::MAX)));
    }
}
