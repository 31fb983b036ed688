//! Property tests through the common [`Game`] interface, the way a server uses it.
//!
//! Players send anything, so any text from any seat must be answered without a panic, and a
//! refused move must leave the game exactly as it was. Random *legal* play must always end: that
//! is what lets a server promise its players a game will finish.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use netlab_game_rules::hangman::MAX_WRONG;
use netlab_game_rules::rps::RoundResult;
use netlab_game_rules::{Game, GameKind, Outcome, Viewer};
use proptest::prelude::*;

/// Every move a player of `kind` could type; the game decides which are legal right now.
fn candidate_moves(kind: GameKind) -> Vec<String> {
    match kind {
        GameKind::TicTacToe => (1..=9).map(|square| square.to_string()).collect(),
        GameKind::RockPaperScissors => ["r", "p", "s"].map(String::from).to_vec(),
        GameKind::Hangman => ('a'..='z').map(String::from).collect(),
    }
}

/// Plays one legal move chosen by `pick`: the first accepted candidate at or after `pick`.
/// Refused candidates are checked to change nothing along the way.
fn play_one_legal_move(game: &mut Game, pick: usize) -> Outcome {
    let seats = game.waiting_for();
    let seat = seats[pick % seats.len()];
    let moves = candidate_moves(game.kind());
    for offset in 0..moves.len() {
        let before = game.clone();
        match game.apply_text(seat, &moves[(pick + offset) % moves.len()]) {
            Ok(outcome) => return outcome,
            Err(_) => assert_eq!(*game, before),
        }
    }
    panic!("no legal move for seat {seat} in {game:?}");
}

/// A game of one of `kinds`, for any player count within its limits and any seed.
fn any_game(kinds: &'static [GameKind]) -> impl Strategy<Value = Game> {
    (0..kinds.len(), 0..4usize, any::<u64>()).prop_map(|(kind, extra, seed)| {
        let kind = kinds[kind];
        let range = kind.max_players() - kind.min_players() + 1;
        kind.start(kind.min_players() + extra % range, seed)
            .unwrap()
    })
}

proptest! {
    /// Tic-tac-toe ends within 9 moves and hangman within (distinct letters + 5) guesses, for
    /// any choice of legal moves and any number of players.
    #[test]
    fn random_legal_play_ends_turn_based_games(
        game in any_game(&[GameKind::TicTacToe, GameKind::Hangman]),
        picks in proptest::collection::vec(any::<usize>(), 26),
    ) {
        let mut game = game;
        let mut moves = 0;
        for pick in picks {
            if game.is_over() {
                break;
            }
            play_one_legal_move(&mut game, pick);
            moves += 1;
        }
        prop_assert!(game.is_over(), "not over after {moves} moves: {game:?}");
        let limit = match &game {
            Game::Hangman(hangman) => {
                // Every right letter but one, every wrong guess but one, then the deciding guess.
                let mut letters: Vec<char> = hangman.answer().unwrap().chars().collect();
                letters.sort_unstable();
                letters.dedup();
                letters.len() + MAX_WRONG - 1
            }
            _ => 9,
        };
        prop_assert!(moves <= limit, "{moves} moves, limit {limit}");
        prop_assert!(game.waiting_for().is_empty());
    }

    /// Rock-paper-scissors: ties may repeat, but no more than 3 rounds are ever decided in a
    /// best of 3, and the match ends exactly when someone has 2 round wins.
    #[test]
    fn random_legal_play_rps_decides_at_most_best_of_rounds(
        picks in proptest::collection::vec(any::<usize>(), 0..200),
    ) {
        let mut game = GameKind::RockPaperScissors.start(2, 0).unwrap();
        let mut decided = 0;
        for pick in picks {
            if game.is_over() {
                break;
            }
            match play_one_legal_move(&mut game, pick) {
                Outcome::Round(RoundResult { winner: Some(_), .. }) | Outcome::Finished(_) => {
                    decided += 1;
                }
                _ => {}
            }
        }
        prop_assert!(decided <= 3);
        let Game::Rps(rps) = &game else { unreachable!() };
        prop_assert_eq!(game.is_over(), rps.score().contains(&2));
    }

    /// `legal_moves` (the server's `YOURTURN` list) is exactly right at every point of any game:
    /// each listed move is accepted from every seat the game waits for, each square, letter or
    /// shape left off the list is refused, and a finished game lists nothing.
    #[test]
    fn legal_moves_are_exactly_the_accepted_moves(
        game in any_game(&GameKind::ALL),
        picks in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut game = game;
        for pick in picks {
            if game.is_over() {
                break;
            }
            play_one_legal_move(&mut game, pick);
        }
        let legal = game.legal_moves();
        if game.is_over() {
            prop_assert!(legal.is_empty(), "{legal:?}");
        }
        let every_move: Vec<String> = match game.kind() {
            GameKind::RockPaperScissors => ["rock", "paper", "scissors"].map(String::from).to_vec(),
            kind => candidate_moves(kind),
        };
        for seat in game.waiting_for() {
            for text in &every_move {
                let accepted = game.clone().apply_text(seat, text).is_ok();
                prop_assert_eq!(accepted, legal.contains(text), "seat {} typing {}", seat, text);
            }
        }
    }

    /// Any text from any seat, in any game and at any point: an answer, never a panic; a
    /// refusal changes nothing; every viewer can still be shown the game.
    #[test]
    fn hostile_text_never_panics_and_refusals_change_nothing(
        game in any_game(&GameKind::ALL),
        warmup in proptest::collection::vec(any::<usize>(), 0..6),
        seat in 0..6usize,
        text in prop_oneof![
            any::<String>(),
            "\\PC{0,40}",
            "[ \t\r\n]{0,50}[0-9a-zA-Z]{0,3}[ \t\r\n]{0,50}",
            ".{30,300}",
        ],
    ) {
        let mut game = game;
        for pick in warmup {
            if !game.is_over() {
                play_one_legal_move(&mut game, pick);
            }
        }
        let before = game.clone();
        if let Err(error) = game.apply_text(seat, &text) {
            prop_assert_eq!(&game, &before);
            prop_assert!(!error.to_string().is_empty());
        }
        for viewer in [Viewer::Spectator, Viewer::Player(seat)] {
            prop_assert!(!game.render(viewer).is_empty());
        }
    }
}
