//! # Whose turn is it? The pair chat as a state machine
//!
//! In a turn-based chat both programs must agree, at every moment, on whose turn it is. Nothing on
//! the wire says "your turn": each side *derives* the turn from the frames it has sent and
//! received, with the same rules, so the two copies of the state stay in step:
//!
//! - at the start the side that connected speaks first;
//! - a chat message passes the turn to the other side;
//! - `play GAME` starts a game in which the side that typed it is player 1; during the game the
//!   game's rules say whose move it is (`Game::waiting_for`); when it ends, chat resumes and the
//!   side that did *not* start the game speaks;
//! - `/q` may be typed at any time, by either side, and ends the chat for both; `/help` and a
//!   mistyped command (`/qq`, refused with a hint) are answered locally at any time too.
//!
//! A frame that arrives when the rules say the peer may not send it (a message out of turn, an
//! illegal move) means the peer runs different rules or is hostile: the session reports a
//! [`ProtocolError`] and the chat ends, rather than letting the two copies drift apart.
//!
//! [`Session`] does no I/O. It takes one event (a line the user typed, a frame from the peer) and
//! returns the [`Action`]s to carry out: frames to send, lines to print, a prompt. The loop in
//! [`crate::pair`] does the printing and the sending, and the unit tests below drive whole
//! conversations and games without a socket.

use netlab_common::random::SplitMix64;
use netlab_game_rules::{Ending, Game, GameKind, Viewer};

use super::wire::Frame;
use crate::slash;
use crate::wire::MAX_MESSAGE;

/// The two people in the chat, from this side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// This side.
    Me,
    /// The other side.
    Peer,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Me => Side::Peer,
            Side::Peer => Side::Me,
        }
    }
}

/// What the loop around the session should do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this frame to the peer.
    Send(Frame),
    /// Print a message the peer sent (it still needs sanitizing).
    PeerSaid(String),
    /// Print a status line.
    Info(String),
    /// Print a warning: the user's input was refused, nothing was sent.
    Refused(String),
    /// Print the game board (lines of plain text made by the game rules).
    Board(Vec<String>),
    /// Print a game result.
    GameOver(String),
    /// It is our turn: show the prompt.
    Prompt,
    /// It is the peer's turn: say we are waiting.
    Wait,
    /// The chat is over; exit successfully.
    Exit,
}

/// The peer sent a frame the rules do not allow now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The peer sent a message, a game start or a move when it was not its turn.
    #[error("{0} arrived out of turn")]
    OutOfTurn(&'static str),
    /// A move arrived but no game is being played, or a message arrived during a game.
    #[error("{0}")]
    Unexpected(&'static str),
    /// The peer's move breaks the game's rules.
    #[error("an illegal move {text:?} arrived: {reason}")]
    IllegalMove {
        /// The move as received (sanitize before printing).
        text: String,
        /// Why the rules refuse it.
        reason: String,
    },
}

/// A game being played inside the chat.
#[derive(Debug, Clone)]
struct Match {
    game: Game,
    my_seat: usize,
    /// Who typed `play`; the other side speaks first when the game ends.
    starter: Side,
}

/// The state of one turn-based chat, seen from one side.
#[derive(Debug, Clone)]
pub struct Session {
    turn: Side,
    game: Option<Match>,
    /// Where the seeds of the games this side starts come from (one number per game).
    seeds: SplitMix64,
}

/// The line that shows the prompt, exactly as the course projects printed it.
pub const PROMPT: &str = "Enter Input > ";

/// The quit command.
pub const QUIT: &str = "/q";

/// What `/help` shows.
pub const HELP_TEXT: &str = "commands: /q ends the chat for both (any time); on your turn, \
     play tictactoe|rps|hangman starts a game and any other line is a message; /help shows this";

impl Session {
    /// A new chat. `i_connected` is true on the side that connected, which speaks first. `seed`
    /// feeds the games this side starts (hangman's word); pass a random number, or a fixed one in
    /// tests.
    pub fn new(i_connected: bool, seed: u64) -> Self {
        Self {
            turn: if i_connected { Side::Me } else { Side::Peer },
            game: None,
            seeds: SplitMix64::new(seed),
        }
    }

    /// Whose turn it is.
    pub fn turn(&self) -> Side {
        self.turn
    }

    /// The game being played, if any.
    pub fn game(&self) -> Option<&Game> {
        self.game.as_ref().map(|playing| &playing.game)
    }

    /// What to show when the chat starts: the prompt or the waiting line.
    pub fn start(&self) -> Vec<Action> {
        vec![self.turn_action()]
    }

    /// The user typed `line`.
    pub fn on_input(&mut self, line: &str) -> Vec<Action> {
        if line.trim() == QUIT {
            return vec![
                Action::Send(Frame::Quit),
                Action::Info("you ended the chat (/q); shutting down".into()),
                Action::Exit,
            ];
        }
        if line.trim() == slash::HELP {
            return self.with_prompt_if_mine(Action::Info(HELP_TEXT.into()));
        }
        if let Some(word) = slash::unknown(line, &[QUIT, slash::HELP]) {
            return self.with_prompt_if_mine(Action::Refused(slash::refusal(word)));
        }
        if self.turn == Side::Peer {
            return vec![Action::Refused(
                "it is not your turn: wait for the peer (only /q works now); nothing sent".into(),
            )];
        }
        if self.game.is_some() {
            return self.my_move(line);
        }
        if line.is_empty() {
            return vec![
                Action::Refused("empty message; nothing sent".into()),
                Action::Prompt,
            ];
        }
        if line.len() > MAX_MESSAGE {
            return vec![
                Action::Refused(format!(
                    "message is {} bytes; the limit is {MAX_MESSAGE} bytes. Nothing sent: type a shorter one",
                    line.len()
                )),
                Action::Prompt,
            ];
        }
        if let Some(name) = play_command(line) {
            return self.start_my_game(name);
        }
        self.turn = Side::Peer;
        vec![Action::Send(Frame::Message(line.to_string())), Action::Wait]
    }

    /// `action`, then the prompt again if it is this side's turn (the prompt has been used up
    /// by the line just typed; out of turn there is none to give back).
    fn with_prompt_if_mine(&self, action: Action) -> Vec<Action> {
        let mut actions = vec![action];
        if self.turn == Side::Me {
            actions.push(Action::Prompt);
        }
        actions
    }

    /// The user ended standard input (Ctrl-D): leave as if they typed `/q`.
    pub fn on_input_ended(&mut self) -> Vec<Action> {
        self.on_input(QUIT)
    }

    /// The peer sent `frame`.
    pub fn on_frame(&mut self, frame: Frame) -> Result<Vec<Action>, ProtocolError> {
        if frame == Frame::Quit {
            return Ok(vec![
                Action::Info("the peer ended the chat (/q); shutting down".into()),
                Action::Exit,
            ]);
        }
        if self.turn == Side::Me {
            return Err(ProtocolError::OutOfTurn(kind_name(&frame)));
        }
        match (frame, self.game.is_some()) {
            (Frame::Message(text), false) => {
                self.turn = Side::Me;
                Ok(vec![Action::PeerSaid(text), Action::Prompt])
            }
            (Frame::Play { game, seed }, false) => Ok(self.start_peer_game(game, seed)),
            (Frame::Move(text), true) => self.peer_move(text),
            (Frame::Message(_), true) => {
                Err(ProtocolError::Unexpected("a message arrived during a game"))
            }
            (Frame::Play { .. }, true) => Err(ProtocolError::Unexpected(
                "a game start arrived during a game",
            )),
            (Frame::Move(_), false) => {
                Err(ProtocolError::Unexpected("a move arrived with no game on"))
            }
            // Handled above (quit) or by the loop before the session sees it (refusal).
            (Frame::Quit | Frame::Refusal(_), _) => Ok(vec![Action::Exit]),
        }
    }

    fn start_my_game(&mut self, name: &str) -> Vec<Action> {
        let Some(kind) = GameKind::from_name(name) else {
            return vec![
                Action::Refused(format!(
                    "unknown game {:?}: try play tictactoe, play rps or play hangman",
                    name.trim()
                )),
                Action::Prompt,
            ];
        };
        let seed = self.seeds.next_u64();
        let mut actions = vec![Action::Send(Frame::Play { game: kind, seed })];
        actions.extend(self.begin(kind, seed, Side::Me));
        actions
    }

    fn start_peer_game(&mut self, kind: GameKind, seed: u64) -> Vec<Action> {
        self.begin(kind, seed, Side::Peer)
    }

    fn begin(&mut self, kind: GameKind, seed: u64, starter: Side) -> Vec<Action> {
        let my_seat = if starter == Side::Me { 0 } else { 1 };
        // Every game here takes two players, so `start(2, ..)` cannot fail; if a future game
        // needed more, the chat would say so and carry on.
        let game = match kind.start(2, seed) {
            Ok(game) => game,
            Err(err) => return vec![Action::Refused(err.to_string()), self.turn_action()],
        };
        let who = match starter {
            Side::Me => "you start",
            Side::Peer => "the peer starts",
        };
        let mut actions = vec![Action::Info(format!(
            "{who} a game of {}: you are player {}",
            kind.name(),
            my_seat + 1
        ))];
        self.game = Some(Match {
            game,
            my_seat,
            starter,
        });
        actions.extend(self.after_move());
        actions
    }

    fn my_move(&mut self, line: &str) -> Vec<Action> {
        let Some(playing) = self.game.as_mut() else {
            return vec![self.turn_action()];
        };
        match playing.game.apply_text(playing.my_seat, line) {
            Err(reason) => vec![
                Action::Refused(format!("move refused: {reason}")),
                Action::Prompt,
            ],
            Ok(_) => {
                let mut actions = vec![Action::Send(Frame::Move(line.trim().to_string()))];
                actions.extend(self.after_move());
                actions
            }
        }
    }

    fn peer_move(&mut self, text: String) -> Result<Vec<Action>, ProtocolError> {
        let Some(playing) = self.game.as_mut() else {
            return Err(ProtocolError::Unexpected("a move arrived with no game on"));
        };
        let peer_seat = 1 - playing.my_seat;
        if let Err(reason) = playing.game.apply_text(peer_seat, &text) {
            return Err(ProtocolError::IllegalMove {
                text,
                reason: reason.to_string(),
            });
        }
        Ok(self.after_move())
    }

    /// Shows the board, then either the result and back to chat, or whose move it is.
    fn after_move(&mut self) -> Vec<Action> {
        let Some(playing) = self.game.as_ref() else {
            return vec![self.turn_action()];
        };
        let mut actions = vec![Action::Board(
            playing.game.render(Viewer::Player(playing.my_seat)),
        )];
        if let Some(ending) = playing.game.ending() {
            actions.push(Action::GameOver(describe_ending(ending, playing.my_seat)));
            self.turn = playing.starter.other();
            self.game = None;
            actions.push(Action::Info("back to chat".into()));
        } else {
            let mine = playing.game.waiting_for().first() == Some(&playing.my_seat);
            self.turn = if mine { Side::Me } else { Side::Peer };
        }
        actions.push(self.turn_action());
        actions
    }

    fn turn_action(&self) -> Action {
        match self.turn {
            Side::Me => Action::Prompt,
            Side::Peer => Action::Wait,
        }
    }
}

/// `play NAME` -> `Some(NAME)`.
fn play_command(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("play")?;
    (rest.is_empty() || rest.starts_with(' ')).then_some(rest)
}

fn kind_name(frame: &Frame) -> &'static str {
    match frame {
        Frame::Message(_) => "a message",
        Frame::Play { .. } => "a game start",
        Frame::Move(_) => "a move",
        Frame::Quit => "a quit",
        Frame::Refusal(_) => "a refusal",
    }
}

/// The result line, from the point of view of the player in `my_seat`.
fn describe_ending(ending: Ending, my_seat: usize) -> String {
    match ending {
        Ending::Won { winner } if winner == my_seat => "game over: you win!".into(),
        Ending::Won { .. } => "game over: the peer wins".into(),
        Ending::Draw => "game over: a draw".into(),
        Ending::WordFound => "game over: the word is found, you both win".into(),
        Ending::Hanged => "game over: hanged, you both lose".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn sent(actions: &[Action]) -> Vec<Frame> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Send(frame) => Some(frame.clone()),
                _ => None,
            })
            .collect()
    }

    /// Delivers everything `from` sends to `to`, as the socket would.
    fn relay(actions: &[Action], to: &mut Session) -> Vec<Action> {
        let mut out = Vec::new();
        for frame in sent(actions) {
            out.extend(to.on_frame(frame).unwrap());
        }
        out
    }

    /// The connecting side speaks first; each message passes the turn.
    #[test]
    fn turns_alternate_starting_with_the_connector() {
        let mut connector = Session::new(true, 1);
        let mut listener = Session::new(false, 2);
        assert_eq!(connector.start(), vec![Action::Prompt]);
        assert_eq!(listener.start(), vec![Action::Wait]);

        let out = connector.on_input("hello");
        assert_eq!(
            out,
            vec![Action::Send(Frame::Message("hello".into())), Action::Wait]
        );
        assert_eq!(
            relay(&out, &mut listener),
            vec![Action::PeerSaid("hello".into()), Action::Prompt]
        );
        assert_eq!(connector.turn(), Side::Peer);
        assert_eq!(listener.turn(), Side::Me);
    }

    /// Typing out of turn is refused locally and sends nothing; /q always works.
    #[test]
    fn out_of_turn_input_is_refused_but_quit_works() {
        let mut listener = Session::new(false, 0);
        let out = listener.on_input("me first");
        assert!(sent(&out).is_empty());
        assert!(matches!(out[0], Action::Refused(_)));
        let out = listener.on_input("/q");
        assert_eq!(sent(&out), vec![Frame::Quit]);
        assert_eq!(out.last(), Some(&Action::Exit));
    }

    /// `/help` and unknown slash commands are answered locally, in turn or not, and send
    /// nothing; the turn does not change.
    #[test]
    fn help_and_unknown_commands_stay_local() {
        let mut connector = Session::new(true, 0);
        let out = connector.on_input("/help");
        assert_eq!(out, vec![Action::Info(HELP_TEXT.into()), Action::Prompt]);
        let out = connector.on_input("/sned hello");
        assert!(sent(&out).is_empty());
        assert_eq!(
            out,
            vec![
                Action::Refused(
                    "unknown command /sned; nothing sent. /help lists the commands".into()
                ),
                Action::Prompt
            ]
        );
        assert_eq!(connector.turn(), Side::Me);
        let mut listener = Session::new(false, 0);
        assert_eq!(
            listener.on_input("/help"),
            vec![Action::Info(HELP_TEXT.into())]
        );
        assert!(sent(&listener.on_input("/x")).is_empty());
    }

    /// A frame out of turn from the peer is a protocol error.
    #[test]
    fn peer_out_of_turn_is_an_error() {
        let mut connector = Session::new(true, 0);
        assert_eq!(
            connector.on_frame(Frame::Message("x".into())),
            Err(ProtocolError::OutOfTurn("a message"))
        );
        assert_eq!(
            connector.on_frame(Frame::Quit).unwrap().last(),
            Some(&Action::Exit)
        );
    }

    /// Exactly 4096 bytes is sent; 4097 is refused, nothing sent, prompt again.
    #[test]
    fn message_limit_is_exact() {
        let mut connector = Session::new(true, 0);
        let out = connector.on_input(&"a".repeat(MAX_MESSAGE + 1));
        assert!(sent(&out).is_empty());
        assert_eq!(out.last(), Some(&Action::Prompt));
        assert_eq!(connector.turn(), Side::Me);
        let out = connector.on_input(&"a".repeat(MAX_MESSAGE));
        assert_eq!(sent(&out).len(), 1);
        assert!(sent(&connector.on_input("")).is_empty());
    }

    /// A whole game of tic-tac-toe over the relay, with a refused move, then chat resumes with
    /// the side that did not start the game.
    #[test]
    fn tictactoe_game_then_chat() {
        let mut a = Session::new(true, 0);
        let mut b = Session::new(false, 0);
        let out = a.on_input("play tictactoe");
        let at_b = relay(&out, &mut b);
        assert_eq!(a.turn(), Side::Me);
        assert_eq!(b.turn(), Side::Peer);
        assert!(at_b.contains(&Action::Wait));

        // a = X (player 1), b = O. X: 1, 2, 3 wins; O: 5, and tries the taken 1 first.
        let moves: [(bool, &str); 5] = [
            (true, "1"),
            (false, "5"),
            (true, "2"),
            (false, "9"),
            (true, "3"),
        ];
        for (is_a, square) in moves {
            let (mover, other) = if is_a {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            if square == "5" {
                let refused = mover.on_input("1");
                assert!(sent(&refused).is_empty());
                assert_eq!(
                    refused[0],
                    Action::Refused(
                        "move refused: square 1 is already taken; pick an empty square".into()
                    )
                );
            }
            let out = mover.on_input(square);
            relay(&out, other);
        }
        assert!(a.game().is_none() && b.game().is_none());
        // a started the game, so b speaks first afterwards.
        assert_eq!(b.turn(), Side::Me);
        assert_eq!(a.turn(), Side::Peer);
    }

    /// A move the rules refuse, arriving from the peer, is a protocol error.
    #[test]
    fn illegal_peer_move_is_an_error() {
        let mut a = Session::new(true, 0);
        let mut b = Session::new(false, 0);
        relay(&a.on_input("play ttt"), &mut b);
        relay(&a.on_input("5"), &mut b);
        a.on_input("/q");
        let err = a.on_frame(Frame::Move("5".into())).unwrap_err();
        assert!(matches!(err, ProtocolError::IllegalMove { .. }), "{err:?}");
    }

    /// Rock-paper-scissors: choices alternate through the single turn, sealed from the peer.
    #[test]
    fn rps_best_of_three() {
        let mut a = Session::new(true, 0);
        let mut b = Session::new(false, 0);
        relay(&a.on_input("play rps"), &mut b);
        for _ in 0..2 {
            relay(&a.on_input("rock"), &mut b);
            let out = b.on_input("paper");
            relay(&out, &mut a);
        }
        assert!(a.game().is_none());
        assert_eq!(b.turn(), Side::Me);
    }

    /// An unknown game is refused and the turn stays.
    #[test]
    fn unknown_game_refused() {
        let mut a = Session::new(true, 0);
        let out = a.on_input("play chess");
        assert!(sent(&out).is_empty());
        assert_eq!(a.turn(), Side::Me);
        // "player" is a message, not a game.
        assert_eq!(sent(&a.on_input("player one")).len(), 1);
    }
}
