//! # Rock-paper-scissors: a choice stays sealed until both are in
//!
//! Rock blunts scissors, scissors cut paper, paper wraps rock. Across a table both players show
//! their hands at the same moment. Across a network there is no "same moment": one choice always
//! reaches the server first. If anything about it reached the other player before they chose (in
//! a rendering, in the reply to the first player, in a debug log) the other player could always
//! win. So a choice is *sealed* until the other player has chosen too:
//!
//! - a pending choice is kept in a private `Sealed` value; nothing outside this module can read
//!   it, and its `Debug` prints `Sealed(hidden)`, so even `{:?}` on the game does not leak it;
//! - the reply to the first player, [`Outcome::Sealed`], carries no shape at all;
//! - [`Rps::render`] shows a player their own sealed choice, and everybody else only "has chosen".
//!
//! When the second choice arrives the round is resolved at once and both shapes become public in
//! a [`RoundResult`]. A tie does not count: the round is played again, so a match has no upper
//! bound on its number of ties. The match is "best of N" with N odd, so somebody must win: the
//! first to win N/2 + 1 rounds (2 of 3) wins the game.
//!
//! Here the server is a trusted referee. Players who cannot trust a server use a *commitment*
//! instead: each first sends a hash of their choice and a random secret, and reveals both only
//! after seeing the other's hash.

use std::fmt;

use crate::rules::{
    Ending, MoveError, Outcome, SetupError, Viewer, player_label, seat_of, typed_move,
};

/// Rock-paper-scissors is for exactly two players.
pub const PLAYERS: usize = 2;

/// The match length used when a server does not choose one: best of 3.
pub const DEFAULT_BEST_OF: u32 = 3;

/// The longest match allowed, so a match cannot be set up to last for ever.
pub const MAX_BEST_OF: u32 = 99;

/// One of the three hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Blunts scissors.
    Rock,
    /// Wraps rock.
    Paper,
    /// Cut paper.
    Scissors,
}

impl Shape {
    /// All three shapes.
    pub const ALL: [Shape; 3] = [Shape::Rock, Shape::Paper, Shape::Scissors];

    /// The name as players type it: `rock`, `paper`, `scissors`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Rock => "rock",
            Shape::Paper => "paper",
            Shape::Scissors => "scissors",
        }
    }

    /// The one-letter shortcut: `r`, `p`, `s`.
    pub fn initial(self) -> &'static str {
        match self {
            Shape::Rock => "r",
            Shape::Paper => "p",
            Shape::Scissors => "s",
        }
    }

    /// True when `self` wins against `other`.
    pub fn beats(self, other: Shape) -> bool {
        matches!(
            (self, other),
            (Shape::Rock, Shape::Scissors)
                | (Shape::Scissors, Shape::Paper)
                | (Shape::Paper, Shape::Rock)
        )
    }
}

/// Reads a shape typed by a person: `rock` or `r`, in any case, with spaces around.
pub fn parse_shape(text: &str) -> Result<Shape, MoveError> {
    let text = typed_move(text)?;
    Shape::ALL
        .into_iter()
        .find(|shape| {
            text.eq_ignore_ascii_case(shape.name()) || text.eq_ignore_ascii_case(shape.initial())
        })
        .ok_or(MoveError::NotAShape)
}

/// A choice made but not yet revealed. Private: only this module can put a shape in or take it out.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Sealed(Shape);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed(hidden)")
    }
}

/// A resolved round: both shapes, now public, and who won it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundResult {
    /// `shapes[seat]` is what that seat played.
    pub shapes: [Shape; 2],
    /// The seat that won the round, or `None` for a tie (the round is replayed).
    pub winner: Option<usize>,
}

impl RoundResult {
    fn between(first: Shape, second: Shape) -> Self {
        let winner = if first.beats(second) {
            Some(0)
        } else if second.beats(first) {
            Some(1)
        } else {
            None
        };
        Self {
            shapes: [first, second],
            winner,
        }
    }
}

impl fmt::Display for RoundResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [first, second] = self.shapes;
        match self.winner {
            None => write!(
                f,
                "both played {}: a tie, the round is replayed",
                first.name()
            ),
            Some(winner) => write!(
                f,
                "player 1 played {}, player 2 played {}: {} wins the round",
                first.name(),
                second.name(),
                player_label(winner)
            ),
        }
    }
}

/// The state of one match of rock-paper-scissors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rps {
    best_of: u32,
    /// Rounds won by each seat.
    wins: [u32; 2],
    /// Each seat's choice in the round being played; `None` until that seat chooses.
    sealed: [Option<Sealed>; 2],
    /// The last resolved round, shown to everybody.
    last_round: Option<RoundResult>,
    ending: Option<Ending>,
}

impl Rps {
    /// A match of best of `best_of` rounds (odd, 1 to [`MAX_BEST_OF`]).
    pub fn new(best_of: u32) -> Result<Self, SetupError> {
        if best_of.is_multiple_of(2) || best_of > MAX_BEST_OF {
            return Err(SetupError::BestOf {
                got: best_of,
                max: MAX_BEST_OF,
            });
        }
        Ok(Self {
            best_of,
            wins: [0, 0],
            sealed: [None, None],
            last_round: None,
            ending: None,
        })
    }

    /// The N of "best of N".
    pub fn best_of(&self) -> u32 {
        self.best_of
    }

    /// Round wins a player needs to win the match: more than half of N.
    pub fn wins_needed(&self) -> u32 {
        self.best_of / 2 + 1
    }

    /// Rounds won so far, by seat.
    pub fn score(&self) -> [u32; 2] {
        self.wins
    }

    /// The number of the round being played, from 1 (a tied round keeps its number).
    pub fn round_number(&self) -> u32 {
        self.wins[0] + self.wins[1] + 1
    }

    /// The last resolved round, if any: both shapes are public once a round is resolved.
    pub fn last_round(&self) -> Option<RoundResult> {
        self.last_round
    }

    /// True when `seat` has chosen in the current round. This is public knowledge ("your opponent
    /// has chosen"); *what* was chosen is not.
    pub fn has_chosen(&self, seat: usize) -> bool {
        matches!(self.sealed.get(seat), Some(Some(_)))
    }

    /// The seats the match is waiting for: those that have not chosen yet (none once it is over).
    pub fn waiting_for(&self) -> Vec<usize> {
        if self.ending.is_some() {
            return Vec::new();
        }
        (0..PLAYERS)
            .filter(|&seat| !self.has_chosen(seat))
            .collect()
    }

    /// The moves a player who has not chosen yet may type: the three shapes, every round.
    /// Empty once the match is over.
    pub fn legal_moves(&self) -> Vec<String> {
        if self.ending.is_some() {
            return Vec::new();
        }
        Shape::ALL
            .iter()
            .map(|shape| shape.name().to_string())
            .collect()
    }

    /// How the match ended, or `None` while it goes on.
    pub fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// Seals `player`'s choice for this round; resolves the round if the other player has chosen.
    pub fn apply(&mut self, player: usize, shape: Shape) -> Result<Outcome, MoveError> {
        self.check_can_choose(player)?;
        if let Some(slot) = self.sealed.get_mut(player) {
            *slot = Some(Sealed(shape));
        }
        match self.sealed {
            [Some(Sealed(first)), Some(Sealed(second))] => Ok(self.resolve(first, second)),
            _ => Ok(Outcome::Sealed {
                waiting_for: opponent(player),
            }),
        }
    }

    /// Parses what `player` typed and applies it. Turn errors come before parse errors.
    pub fn apply_text(&mut self, player: usize, text: &str) -> Result<Outcome, MoveError> {
        self.check_can_choose(player)?;
        let shape = parse_shape(text)?;
        self.apply(player, shape)
    }

    /// The match as text lines for `viewer`: score, last round, and the state of this round.
    pub fn render(&self, viewer: Viewer) -> Vec<String> {
        let me = seat_of(viewer, PLAYERS);
        let name = |seat: usize| Self::name_for(seat, me);
        let mut lines = vec![
            format!(
                "Rock, paper, scissors: best of {}, first to {} round wins.",
                self.best_of,
                self.wins_needed()
            ),
            format!(
                "Round wins: {} for {}, {} for {}.",
                self.wins[0],
                name(0),
                self.wins[1],
                name(1)
            ),
        ];
        if let Some(round) = self.last_round {
            lines.push(Self::describe_round(round, &name));
        }
        lines.push(match self.ending {
            Some(Ending::Won { winner }) => format!("Match over: {} won.", name(winner)),
            Some(_) => "Match over.".to_string(),
            None => self.current_round_line(me, &name),
        });
        lines
    }

    /// Who may choose now: a player of this match, in a match that is on, who has not chosen.
    fn check_can_choose(&self, player: usize) -> Result<(), MoveError> {
        let slot = self
            .sealed
            .get(player)
            .ok_or(MoveError::UnknownPlayer { players: PLAYERS })?;
        if self.ending.is_some() {
            return Err(MoveError::GameOver);
        }
        if slot.is_some() {
            return Err(MoveError::AlreadyChosen);
        }
        Ok(())
    }

    /// Both choices are in: open them, score the round, start the next one.
    fn resolve(&mut self, first: Shape, second: Shape) -> Outcome {
        self.sealed = [None, None];
        let round = RoundResult::between(first, second);
        self.last_round = Some(round);
        let Some(winner) = round.winner else {
            return Outcome::Round(round); // a tie: nobody scores, the round is replayed
        };
        // `winner` is 0 or 1, so this always finds a score; `get_mut` just avoids indexing.
        let Some(wins) = self.wins.get_mut(winner) else {
            return Outcome::Round(round);
        };
        *wins += 1;
        if *wins < self.wins_needed() {
            return Outcome::Round(round);
        }
        let ending = Ending::Won { winner };
        self.ending = Some(ending);
        Outcome::Finished(ending)
    }

    /// "you", "your opponent" or "player N", depending on who is looking.
    fn name_for(seat: usize, me: Option<usize>) -> String {
        match me {
            Some(me) if me == seat => "you".to_string(),
            Some(_) => "your opponent".to_string(),
            None => player_label(seat),
        }
    }

    fn describe_round(round: RoundResult, name: &impl Fn(usize) -> String) -> String {
        let [first, second] = round.shapes;
        let result = match round.winner {
            None => "a tie, so the round is played again".to_string(),
            Some(winner) => format!("{} won the round", name(winner)),
        };
        format!(
            "Last round: {} played {}, {} played {}: {result}.",
            name(0),
            first.name(),
            name(1),
            second.name()
        )
    }

    /// The line about the round in progress. The only place a sealed shape is read for display,
    /// and only for its owner.
    fn current_round_line(&self, me: Option<usize>, name: &impl Fn(usize) -> String) -> String {
        let round = format!("Round {}:", self.round_number());
        let Some(me) = me else {
            return match self.waiting_for().as_slice() {
                [seat] => format!(
                    "{round} {} has chosen; waiting for {}.",
                    name(opponent(*seat)),
                    name(*seat)
                ),
                _ => format!("{round} waiting for both players to choose."),
            };
        };
        match self.sealed.get(me).copied().flatten() {
            Some(Sealed(mine)) => format!(
                "{round} you chose {}; waiting for your opponent.",
                mine.name()
            ),
            None if self.has_chosen(opponent(me)) => format!(
                "{round} your opponent has chosen. Your move: rock, paper or scissors (r, p, s)."
            ),
            None => format!("{round} your move: rock, paper or scissors (r, p, s)."),
        }
    }
}

/// The other seat of a two-player game.
fn opponent(seat: usize) -> usize {
    if seat == 0 { 1 } else { 0 }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn best_of_3() -> Rps {
        Rps::new(3).unwrap()
    }

    /// After one player chooses, the other player's view, the spectator's view, the reply and
    /// the Debug output are the same whichever shape was chosen: nothing leaks the choice.
    #[test]
    fn first_choice_stays_secret() {
        let views: Vec<_> = Shape::ALL
            .into_iter()
            .map(|secret| {
                let mut game = best_of_3();
                let reply = game.apply(0, secret).unwrap();
                (
                    reply,
                    reply.to_string(),
                    game.render(Viewer::Player(1)),
                    game.render(Viewer::Spectator),
                    format!("{game:?}"),
                )
            })
            .collect();
        assert!(views.iter().all(|view| *view == views[0]));

        let (reply, reply_text, opponent, spectator, debug) = &views[0];
        assert_eq!(*reply, Outcome::Sealed { waiting_for: 1 });
        assert_eq!(reply_text, "choice sealed; waiting for player 2");
        assert!(
            opponent
                .iter()
                .any(|line| line.contains("your opponent has chosen"))
        );
        assert!(
            spectator
                .iter()
                .any(|line| line.contains("player 1 has chosen"))
        );
        assert!(debug.contains("Sealed(hidden)"));
        for text in [reply_text, debug] {
            assert!(!text.to_lowercase().contains("rock"), "{text}");
        }
    }

    /// The chooser sees their own sealed choice; the opponent's status line never names it.
    #[test]
    fn only_the_chooser_sees_the_choice() {
        let mut game = best_of_3();
        game.apply_text(0, "Rock").unwrap();
        let mine = game.render(Viewer::Player(0));
        assert_eq!(
            mine.last().unwrap(),
            "Round 1: you chose rock; waiting for your opponent."
        );
        let theirs = game.render(Viewer::Player(1));
        assert_eq!(
            theirs.last().unwrap(),
            "Round 1: your opponent has chosen. Your move: rock, paper or scissors (r, p, s)."
        );
        // The opponent's view before and after the choice differs only in "has chosen".
        let fresh = best_of_3().render(Viewer::Player(1));
        assert_eq!(theirs[..theirs.len() - 1], fresh[..fresh.len() - 1]);
    }

    /// Best of 3 with a tied round: the tie is replayed and does not count.
    #[test]
    fn best_of_three_with_a_tie() {
        let mut game = best_of_3();
        assert_eq!(
            game.apply_text(1, "s"),
            Ok(Outcome::Sealed { waiting_for: 0 })
        );
        assert_eq!(game.apply_text(1, "r"), Err(MoveError::AlreadyChosen));
        let tie = RoundResult {
            shapes: [Shape::Scissors, Shape::Scissors],
            winner: None,
        };
        assert_eq!(game.apply_text(0, " SCISSORS "), Ok(Outcome::Round(tie)));
        assert_eq!(game.round_number(), 1);
        assert_eq!(game.score(), [0, 0]);
        assert_eq!(
            game.render(Viewer::Spectator)[2],
            "Last round: player 1 played scissors, player 2 played scissors: \
             a tie, so the round is played again."
        );

        game.apply_text(0, "rock").unwrap();
        let round = game.apply_text(1, "paper").unwrap();
        assert_eq!(
            round.to_string(),
            "player 1 played rock, player 2 played paper: player 2 wins the round"
        );
        assert_eq!((game.score(), game.round_number()), ([0, 1], 2));

        game.apply_text(0, "p").unwrap();
        game.apply_text(1, "r").unwrap();
        assert_eq!(game.score(), [1, 1]);

        game.apply_text(1, "paper").unwrap();
        assert_eq!(
            game.apply_text(0, "scissors"),
            Ok(Outcome::Finished(Ending::Won { winner: 0 }))
        );
        assert_eq!(game.ending(), Some(Ending::Won { winner: 0 }));
        assert_eq!(game.waiting_for(), Vec::<usize>::new());
        assert_eq!(game.apply_text(1, "rock"), Err(MoveError::GameOver));
        assert_eq!(
            game.render(Viewer::Player(1)).last().unwrap(),
            "Match over: your opponent won."
        );
    }

    /// Refusals: strangers, garbage, and a match length that cannot produce a winner.
    #[test]
    fn refusals() {
        let mut game = best_of_3();
        assert_eq!(
            game.apply_text(2, "rock"),
            Err(MoveError::UnknownPlayer { players: 2 })
        );
        assert_eq!(game.apply_text(0, "lizard"), Err(MoveError::NotAShape));
        assert_eq!(game.apply_text(0, ""), Err(MoveError::NotAShape));
        assert_eq!(game.apply_text(0, "ｒｏｃｋ"), Err(MoveError::NotAShape));
        assert_eq!(game, best_of_3());
        assert_eq!(Rps::new(2), Err(SetupError::BestOf { got: 2, max: 99 }));
        assert!(Rps::new(0).is_err());
        assert!(Rps::new(101).is_err());
    }

    /// Every shape beats exactly one other.
    #[test]
    fn each_shape_beats_one() {
        for shape in Shape::ALL {
            let beaten = Shape::ALL.into_iter().filter(|&other| shape.beats(other));
            assert_eq!(beaten.count(), 1);
        }
    }
}
