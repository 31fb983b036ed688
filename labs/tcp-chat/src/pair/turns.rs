//! # Turns of several lines, and a host with several users: seed 002's rules
//!
//! The course's seed 002 ran a chat like this: `user1` hosts, `user2` and `user3` connect, and
//! the host talks with each of them in turns. A turn may hold several lines; it passes when its
//! holder sends a line that is just the turn-end mark (`#`). `Exit`, in any case, ends a user's
//! chat; the host's `Exit` ends everyone's. Here it is a mode of the pair chat
//! (`tcp-chat pair --listen --peers 2 --turn-end '#'`, and `--connect ... --turn-end '#'` for
//! each user), on the pair protocol's own frames ([`super::wire`]).
//!
//! ## The turn rule, and who derives it
//! Nothing new goes on the wire. Every line is an `M` frame, the mark included: `M #` is the
//! frame that passes the turn. As in the strict pair chat ([`super::session`]) both ends of a
//! connection work out whose turn it is from the frames they have sent and received, with the
//! same rule, so they never need to tell each other:
//!
//! - each conversation (host and one user) starts with the **user's** turn, as the side that
//!   connected speaks first in a pair chat;
//! - a message that is exactly the mark passes the turn to the other end; any other message
//!   keeps it;
//! - `Exit` (or `/q`) may be typed at any time and sends `Q`.
//!
//! A frame that breaks the rule (a message while the receiver holds the turn) ends that
//! conversation with a refusal (`!`), as in the pair chat. On the host it ends only that user's:
//! the others keep talking.
//!
//! ## One keyboard, several conversations
//! The host has one keyboard for all its users. Its lines go to the user whose turn has passed
//! to the host; when several have passed it theirs, they wait in the order they did so, and the
//! host answers them one after the other: its `#` hands the turn back to the first and its next
//! lines go to the next ([`Host`]'s `waiting` queue). A host with nobody waiting is told so and
//! sends nothing. Each user, meanwhile, only ever talks with the host ([`Guest`]); the users do
//! not see each other's lines.
//!
//! Both ends here are state machines with no I/O, like [`super::session::Session`]: they take a
//! typed line or a frame and return [`Step`]s for the loop in `group.rs` to carry out.

use std::collections::VecDeque;

use super::session::{PROMPT, ProtocolError};
use super::wire::Frame;
use crate::slash;
use crate::wire::MAX_MESSAGE;

/// The host's number: the users who connect are 2, 3, ... in the order they connect.
pub const HOST: usize = 1;

/// The words that end a chat: `Exit` in any case (the seed's), or `/q` (the pair chat's).
pub fn is_exit(line: &str) -> bool {
    let word = line.trim();
    word.eq_ignore_ascii_case("exit") || word == "/q"
}

/// What the loop around a [`Guest`] or [`Host`] should do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this frame to user `to` ([`HOST`] from a guest).
    Send {
        /// The user number.
        to: usize,
        /// The frame.
        frame: Frame,
    },
    /// Print a line user `from` sent (it still needs sanitizing).
    Said {
        /// The user number.
        from: usize,
        /// The text.
        text: String,
    },
    /// Print a status line.
    Info(String),
    /// Print a warning: input refused (nothing sent), or a user dropped.
    Warn(String),
    /// It is our turn: show this prompt (it names whom the lines go to).
    Prompt(String),
    /// It is not our turn: say whom we wait for.
    Wait(String),
    /// Close the connection to user `n` (after what was queued for it).
    Disconnect(usize),
    /// The chat is over for this program; exit successfully.
    Exit,
}

/// The display name of user `number`: `user1` is the host.
pub fn name(number: usize) -> String {
    format!("user{number}")
}

/// A line the local user typed, sorted before any turn rule applies.
enum Typed<'a> {
    Exit,
    Help,
    Refused(String),
    Mark,
    Message(&'a str),
}

/// Sorts a typed `line`: the commands that work at any time, the refusals that hold whoever
/// has the turn (empty, too long, a mistyped command), the mark, or a message.
fn sort<'a>(line: &'a str, mark: &str) -> Typed<'a> {
    if is_exit(line) {
        return Typed::Exit;
    }
    if line.trim() == slash::HELP {
        return Typed::Help;
    }
    if let Some(word) = slash::unknown(line, &["/q", slash::HELP]) {
        return Typed::Refused(slash::refusal(word));
    }
    if line.trim().is_empty() {
        return Typed::Refused("empty message; nothing sent".into());
    }
    if line.len() > MAX_MESSAGE {
        return Typed::Refused(format!(
            "message is {} bytes; the limit is {MAX_MESSAGE} bytes. Nothing sent: type a shorter one",
            line.len()
        ));
    }
    if line.trim() == mark {
        return Typed::Mark;
    }
    Typed::Message(line)
}

/// One user's end (`user2`, `user3`, ...): a conversation with the host, starting with this
/// side's turn.
#[derive(Debug, Clone)]
pub struct Guest {
    mark: String,
    my_turn: bool,
}

impl Guest {
    /// A user's chat with turn-end mark `mark`; the user speaks first.
    pub fn new(mark: &str) -> Guest {
        Guest {
            mark: mark.to_string(),
            my_turn: true,
        }
    }

    /// Whether this side holds the turn.
    pub fn my_turn(&self) -> bool {
        self.my_turn
    }

    /// What to show when the chat starts.
    pub fn start(&self) -> Vec<Step> {
        vec![self.turn_step()]
    }

    /// The user typed `line`.
    pub fn on_input(&mut self, line: &str) -> Vec<Step> {
        match sort(line, &self.mark) {
            Typed::Exit => vec![
                Step::Send {
                    to: HOST,
                    frame: Frame::Quit,
                },
                Step::Info("you left the chat (Exit); shutting down".into()),
                Step::Exit,
            ],
            Typed::Help => self.again(Step::Info(self.help())),
            Typed::Refused(reason) => self.again(Step::Warn(reason)),
            _ if !self.my_turn => vec![Step::Warn(format!(
                "it is not your turn: {} is answering until it sends `{}` (only Exit works now); \
                 nothing sent",
                name(HOST),
                self.mark
            ))],
            Typed::Mark => {
                self.my_turn = false;
                vec![self.send(&self.mark), self.turn_step()]
            }
            Typed::Message(text) => vec![self.send(text), self.turn_step()],
        }
    }

    /// The host sent `frame`. (A refusal is handled by the loop before this is called.)
    pub fn on_frame(&mut self, frame: Frame) -> Result<Vec<Step>, ProtocolError> {
        match frame {
            Frame::Quit => Ok(vec![
                Step::Info(format!(
                    "{} ended the chat (Exit); shutting down",
                    name(HOST)
                )),
                Step::Exit,
            ]),
            _ if self.my_turn => Err(ProtocolError::OutOfTurn(
                "a message (the turn is ours until we send the mark)",
            )),
            Frame::Message(text) if text == self.mark => {
                self.my_turn = true;
                Ok(vec![
                    Step::Info(format!(
                        "{} passed the turn to you (`{}`)",
                        name(HOST),
                        self.mark
                    )),
                    self.turn_step(),
                ])
            }
            Frame::Message(text) => Ok(vec![Step::Said { from: HOST, text }]),
            Frame::Play { .. } | Frame::Move(_) => Err(ProtocolError::Unexpected(
                "a game frame arrived: games are not played in a chat with a turn-end mark",
            )),
            Frame::Refusal(_) => Ok(vec![Step::Exit]),
        }
    }

    /// `step`, then the prompt again if the turn is ours (the typed line used it up).
    fn again(&self, step: Step) -> Vec<Step> {
        let mut steps = vec![step];
        if self.my_turn {
            steps.push(self.turn_step());
        }
        steps
    }

    fn send(&self, text: &str) -> Step {
        Step::Send {
            to: HOST,
            frame: Frame::Message(text.to_string()),
        }
    }

    fn turn_step(&self) -> Step {
        if self.my_turn {
            Step::Prompt(PROMPT.into())
        } else {
            Step::Wait(format!(
                "waiting for {} (its turn until it sends `{}`)...",
                name(HOST),
                self.mark
            ))
        }
    }

    fn help(&self) -> String {
        format!(
            "commands: on your turn every line goes to {host}; a line `{mark}` passes the turn to \
             {host}; Exit (any case) or /q leaves (any time); /help shows this",
            host = name(HOST),
            mark = self.mark
        )
    }

    /// The status rows of the full-screen mode.
    pub fn status_rows(&self) -> Vec<String> {
        let turn = if self.my_turn {
            format!(
                "your turn: type as many lines as you like, `{}` passes the turn; Exit leaves",
                self.mark
            )
        } else {
            format!(
                "{}'s turn until it sends `{}`; only Exit works now",
                name(HOST),
                self.mark
            )
        };
        vec![
            format!(
                "chat with {} (turns end with `{}`) · /help lists the commands",
                name(HOST),
                self.mark
            ),
            turn,
        ]
    }
}

/// Who holds the turn in one host-user conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    User,
    Host,
}

/// One user, as the host sees it.
#[derive(Debug, Clone)]
struct User {
    present: bool,
    holder: Holder,
}

/// The host's end (`user1`): a conversation with each user, one keyboard for all of them.
#[derive(Debug, Clone)]
pub struct Host {
    mark: String,
    /// Users by number minus 2 (`user2` first), present or gone.
    users: Vec<User>,
    /// Users whose turn has passed to the host, in the order they passed it: the host's lines
    /// go to the first.
    waiting: VecDeque<usize>,
    /// How many users may join in all (`--peers`).
    expected: usize,
}

impl Host {
    /// A host for `expected` users, with turn-end mark `mark`.
    pub fn new(mark: &str, expected: usize) -> Host {
        Host {
            mark: mark.to_string(),
            users: Vec::new(),
            waiting: VecDeque::new(),
            expected,
        }
    }

    /// The user the host's lines go to now, if any.
    pub fn answering(&self) -> Option<usize> {
        self.waiting.front().copied()
    }

    /// A user connected from `from`: its number, and what to show.
    pub fn on_join(&mut self, from: &str) -> (usize, Vec<Step>) {
        self.users.push(User {
            present: true,
            holder: Holder::User,
        });
        let number = self.users.len() + 1;
        let more = self.expected.saturating_sub(self.users.len());
        let steps = vec![Step::Info(format!(
            "{} joined from {from}; it speaks first{}",
            name(number),
            match more {
                0 => String::new(),
                1 => "; 1 more user may join".to_string(),
                more => format!("; {more} more users may join"),
            }
        ))];
        (number, steps)
    }

    /// The host typed `line`.
    pub fn on_input(&mut self, line: &str) -> Vec<Step> {
        let Some(answering) = self.answering() else {
            return match sort(line, &self.mark) {
                Typed::Exit => self.exit_all(),
                Typed::Help => vec![Step::Info(self.help())],
                Typed::Refused(reason) => vec![Step::Warn(reason)],
                Typed::Mark | Typed::Message(_) => vec![Step::Warn(format!(
                    "no one is waiting for your reply: each user speaks first and passes the \
                     turn with `{}`; nothing sent",
                    self.mark
                ))],
            };
        };
        match sort(line, &self.mark) {
            Typed::Exit => self.exit_all(),
            Typed::Help => vec![Step::Info(self.help()), self.turn_step()],
            Typed::Refused(reason) => vec![Step::Warn(reason), self.turn_step()],
            Typed::Mark => {
                self.waiting.pop_front();
                if let Some(user) = self.user_mut(answering) {
                    user.holder = Holder::User;
                }
                let mut steps = vec![
                    send(answering, &self.mark),
                    Step::Info(format!("turn passed back to {}", name(answering))),
                ];
                if let Some(next) = self.answering() {
                    steps.push(Step::Info(format!("now answering {}", name(next))));
                }
                steps.push(self.turn_step());
                steps
            }
            Typed::Message(text) => vec![send(answering, text), self.turn_step()],
        }
    }

    /// User `from` sent `frame`. While the host is answering someone, the prompt comes again
    /// after whatever this printed: in the plain mode the line printed took the old one's place.
    pub fn on_frame(&mut self, from: usize, frame: Frame) -> Vec<Step> {
        let mut steps = self.handle_frame(from, frame);
        let prompted = steps
            .iter()
            .any(|step| matches!(step, Step::Prompt(_) | Step::Wait(_) | Step::Exit));
        if !steps.is_empty() && !prompted && self.answering().is_some() {
            steps.push(self.turn_step());
        }
        steps
    }

    fn handle_frame(&mut self, from: usize, frame: Frame) -> Vec<Step> {
        let Some(user) = self.user(from).filter(|user| user.present) else {
            return Vec::new(); // a frame still in flight from a user already dropped
        };
        match frame {
            Frame::Quit => {
                let mut steps = vec![Step::Info(format!("{} left the chat (Exit)", name(from)))];
                steps.extend(self.remove(from));
                steps
            }
            Frame::Refusal(reason) => {
                let mut steps = vec![Step::Warn(format!(
                    "{} refused what we sent and left: {reason}",
                    name(from)
                ))];
                steps.extend(self.remove(from));
                steps
            }
            _ if user.holder == Holder::Host => self.drop_user(
                from,
                &format!(
                    "a message arrived out of turn: {} holds the turn until it sends `{}`",
                    name(HOST),
                    self.mark
                ),
            ),
            Frame::Message(text) if text == self.mark => self.turn_passed_to_me(from),
            Frame::Message(text) => vec![Step::Said { from, text }],
            Frame::Play { .. } | Frame::Move(_) => self.drop_user(
                from,
                "a game frame arrived: games are not played in a chat with a turn-end mark",
            ),
        }
    }

    /// User `from`'s connection closed without `Exit`, or failed.
    pub fn on_vanished(&mut self, from: usize, why: &str) -> Vec<Step> {
        if !self.user(from).is_some_and(|user| user.present) {
            return Vec::new();
        }
        let mut steps = vec![Step::Warn(format!("{} vanished: {why}", name(from)))];
        steps.extend(self.remove(from));
        steps
    }

    /// User `from` broke the turn rule: tell it why, close its connection, keep the others.
    pub fn drop_user(&mut self, from: usize, reason: &str) -> Vec<Step> {
        let mut steps = vec![
            Step::Send {
                to: from,
                frame: Frame::Refusal(reason.to_string()),
            },
            Step::Disconnect(from),
            Step::Warn(format!(
                "{} broke the turn rule ({reason}); it is disconnected, the others stay",
                name(from)
            )),
        ];
        steps.extend(self.remove(from));
        steps
    }

    fn turn_passed_to_me(&mut self, from: usize) -> Vec<Step> {
        if let Some(user) = self.user_mut(from) {
            user.holder = Holder::Host;
        }
        self.waiting.push_back(from);
        let mut steps = vec![Step::Info(format!(
            "{} passed the turn to you (`{}`)",
            name(from),
            self.mark
        ))];
        match self.answering() {
            Some(first) if first == from => steps.push(self.turn_step()),
            Some(first) => steps.push(Step::Info(format!(
                "{} waits for your reply after {}",
                name(from),
                name(first)
            ))),
            None => {}
        }
        steps
    }

    /// Marks `from` gone; ends the host when every user that may join has joined and left.
    fn remove(&mut self, from: usize) -> Vec<Step> {
        let was_answering = self.answering() == Some(from);
        if let Some(user) = self.user_mut(from) {
            user.present = false;
        }
        self.waiting.retain(|&waiting| waiting != from);
        let everyone_joined = self.users.len() >= self.expected;
        if everyone_joined && self.users.iter().all(|user| !user.present) {
            return vec![
                Step::Info("every user has left; shutting down".into()),
                Step::Exit,
            ];
        }
        // Only the user being answered changes what the keyboard does.
        if !was_answering {
            return Vec::new();
        }
        let mut steps = Vec::new();
        if let Some(next) = self.answering() {
            steps.push(Step::Info(format!("now answering {}", name(next))));
        }
        steps.push(self.turn_step());
        steps
    }

    fn exit_all(&mut self) -> Vec<Step> {
        let mut steps: Vec<Step> = self
            .present()
            .map(|to| Step::Send {
                to,
                frame: Frame::Quit,
            })
            .collect();
        steps.push(Step::Info(
            "you ended the chat for everyone (Exit); shutting down".into(),
        ));
        steps.push(Step::Exit);
        steps
    }

    /// The numbers of the users still connected.
    pub fn present(&self) -> impl Iterator<Item = usize> + '_ {
        self.users
            .iter()
            .enumerate()
            .filter(|(_, user)| user.present)
            .map(|(index, _)| index + 2)
    }

    fn user(&self, number: usize) -> Option<&User> {
        self.users.get(number.checked_sub(2)?)
    }

    fn user_mut(&mut self, number: usize) -> Option<&mut User> {
        self.users.get_mut(number.checked_sub(2)?)
    }

    /// The prompt when a user waits for our reply, else the waiting line.
    pub fn turn_step(&self) -> Step {
        match self.answering() {
            Some(user) => Step::Prompt(format!("to {} > ", name(user))),
            None => Step::Wait("waiting for a user to pass you the turn...".into()),
        }
    }

    fn help(&self) -> String {
        format!(
            "commands: your lines go to the user you are answering (the prompt names it); a line \
             `{}` passes the turn back to it; Exit (any case) or /q ends the chat for everyone; \
             /help shows this",
            self.mark
        )
    }

    /// The status rows of the full-screen mode: the users and their turns, then what the
    /// keyboard does now.
    pub fn status_rows(&self) -> Vec<String> {
        let users: Vec<String> = self
            .present()
            .map(|number| {
                let state = match (self.answering() == Some(number), self.waits(number)) {
                    (true, _) => "you are answering",
                    (false, true) => "waiting for your reply",
                    (false, false) => "its turn",
                };
                format!("{} ({state})", name(number))
            })
            .collect();
        let more = self.expected.saturating_sub(self.users.len());
        let mut first = format!(
            "you are {} · {}",
            name(HOST),
            if users.is_empty() {
                "no users connected".to_string()
            } else {
                users.join(", ")
            }
        );
        if more > 0 {
            first.push_str(&format!(" · {more} more may join"));
        }
        let second = match self.answering() {
            Some(user) => format!(
                "your turn with {}: `{}` passes it back; Exit ends the chat for everyone",
                name(user),
                self.mark
            ),
            None => "no one waits for your reply; Exit ends the chat for everyone".to_string(),
        };
        vec![first, second]
    }

    fn waits(&self, number: usize) -> bool {
        self.waiting.contains(&number)
    }
}

/// The `M` frame carrying `text` to user `to`.
fn send(to: usize, text: &str) -> Step {
    Step::Send {
        to,
        frame: Frame::Message(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn message(text: &str) -> Frame {
        Frame::Message(text.into())
    }

    fn sent(steps: &[Step]) -> Vec<(usize, Frame)> {
        steps
            .iter()
            .filter_map(|step| match step {
                Step::Send { to, frame } => Some((*to, frame.clone())),
                _ => None,
            })
            .collect()
    }

    /// A user's turn holds several lines and passes only with the mark; the host's lines then
    /// come in, and its mark gives the turn back.
    #[test]
    fn a_guest_turn_holds_lines_until_the_mark() {
        let mut guest = Guest::new("#");
        assert_eq!(guest.start(), vec![Step::Prompt(PROMPT.into())]);
        assert_eq!(
            guest.on_input("hello"),
            vec![send(HOST, "hello"), Step::Prompt(PROMPT.into())]
        );
        assert_eq!(
            sent(&guest.on_input("second line")),
            [(HOST, message("second line"))]
        );
        assert!(guest.my_turn());
        let out = guest.on_input("#");
        assert_eq!(sent(&out), [(HOST, message("#"))]);
        assert!(matches!(out[1], Step::Wait(_)));
        assert!(!guest.my_turn());
        let out = guest.on_input("too early");
        assert!(sent(&out).is_empty());
        assert!(matches!(&out[..], [Step::Warn(text)] if text.starts_with("it is not your turn")));
        assert_eq!(
            guest.on_frame(message("hi user2")).unwrap(),
            [Step::Said {
                from: HOST,
                text: "hi user2".into()
            }]
        );
        let out = guest.on_frame(message("#")).unwrap();
        assert_eq!(out.last(), Some(&Step::Prompt(PROMPT.into())));
        assert!(guest.my_turn());
    }

    /// `Exit` in any case (and `/q`) leaves at any time; a message while we hold the turn is a
    /// protocol error; the host's quit ends the guest.
    #[test]
    fn guest_exit_and_violations() {
        for word in ["Exit", "exit", "EXIT", " eXiT ", "/q"] {
            let mut guest = Guest::new("#");
            let _ = guest.on_input("#");
            let out = guest.on_input(word);
            assert_eq!(sent(&out), [(HOST, Frame::Quit)], "{word}");
            assert_eq!(out.last(), Some(&Step::Exit));
        }
        let mut guest = Guest::new("#");
        assert!(matches!(
            guest.on_frame(message("out of turn")),
            Err(ProtocolError::OutOfTurn(_))
        ));
        assert_eq!(
            guest.on_frame(Frame::Quit).unwrap().last(),
            Some(&Step::Exit)
        );
        let out = guest.on_input("");
        assert!(matches!(&out[0], Step::Warn(text) if text == "empty message; nothing sent"));
        assert!(sent(&out).is_empty());
    }

    /// The host answers users in the order they passed it the turn: its lines go to the first,
    /// its mark hands the turn back and moves to the next.
    #[test]
    fn the_host_answers_each_user_in_turn() {
        let mut host = Host::new("#", 2);
        assert_eq!(host.on_join("127.0.0.1:50002").0, 2);
        assert_eq!(host.on_join("127.0.0.1:50003").0, 3);
        let out = host.on_input("anyone?");
        assert!(sent(&out).is_empty(), "nobody passed the turn yet");
        assert_eq!(
            host.on_frame(3, message("from three")),
            [Step::Said {
                from: 3,
                text: "from three".into()
            }]
        );
        let out = host.on_frame(3, message("#"));
        assert_eq!(out.last(), Some(&Step::Prompt("to user3 > ".into())));
        let out = host.on_frame(2, message("#"));
        assert_eq!(
            out[out.len() - 2..],
            [
                Step::Info("user2 waits for your reply after user3".into()),
                Step::Prompt("to user3 > ".into())
            ]
        );
        assert_eq!(sent(&host.on_input("hi three")), [(3, message("hi three"))]);
        assert_eq!(sent(&host.on_input("line two")), [(3, message("line two"))]);
        let out = host.on_input("#");
        assert_eq!(sent(&out), [(3, message("#"))]);
        assert_eq!(out.last(), Some(&Step::Prompt("to user2 > ".into())));
        assert_eq!(sent(&host.on_input("hi two")), [(2, message("hi two"))]);
        let out = host.on_input("#");
        assert!(matches!(out.last(), Some(Step::Wait(_))));
        assert_eq!(host.answering(), None);
    }

    /// A user that sends while the host holds its turn is refused and dropped, and only it;
    /// users leaving one by one end the host when the last has gone; the host's Exit sends `Q`
    /// to everyone still there.
    #[test]
    fn violations_leaving_and_the_hosts_exit() {
        let mut host = Host::new("#", 2);
        host.on_join("a");
        host.on_join("b");
        let _ = host.on_frame(2, message("#"));
        let out = host.on_frame(2, message("but wait"));
        assert!(matches!(&sent(&out)[..], [(2, Frame::Refusal(_))]));
        assert!(out.contains(&Step::Disconnect(2)));
        assert!(!out.contains(&Step::Exit));
        assert_eq!(host.present().collect::<Vec<_>>(), [3]);
        assert!(host.on_frame(2, message("late")).is_empty());
        let out = host.on_frame(3, Frame::Quit);
        assert_eq!(out.last(), Some(&Step::Exit));

        let mut host = Host::new("#", 2);
        host.on_join("a");
        host.on_join("b");
        let out = host.on_input("EXIT");
        assert_eq!(sent(&out), [(2, Frame::Quit), (3, Frame::Quit)]);
        assert_eq!(out.last(), Some(&Step::Exit));

        let mut host = Host::new("#", 2);
        host.on_join("a");
        let out = host.on_frame(2, Frame::Quit);
        assert!(!out.contains(&Step::Exit), "user3 may still join");
    }
}
