//! # Two duplex chats in one process, and a program typing into them
//!
//! [`Chats::start`] connects two chats over loopback ([`link::loopback_pair`]) and runs each
//! with [`duplex::converse`], the function `tcp-chat duplex` runs, in a thread of its own. No
//! keyboard thread: the bench puts typed lines on each chat's event queue itself, as the keyboard
//! thread would, and reads what happens from the chats' [`Noted`] channel instead of the screen.
//!
//! A round ([`Chats::send_file`]) types `/send PATH` at the connecting side (the sender), then,
//! every [`CHAT_EVERY`] until the sender hears the receiver's verdict, one chat line at each
//! side: lines from the sender travel with the file's chunks, lines from the receiver against
//! them. Each line carries its round and number, so its arrival can be matched to the moment it
//! was typed. A line is typed only if the chat's queue has room (`try_send`): the bench never
//! waits on a busy chat, as a person typing would not hold up the program.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressDrawTarget};
use netlab_common::accept::spawn_named;
use netlab_common::{Error, Result, Tracer};

use crate::duplex::audience::{Audience, Noted, Notice};
use crate::duplex::wire::Limits;
use crate::duplex::{self, ChatEvent, Setup};
use crate::events::{self, Event};
use crate::files::transfer::Verdict;
use crate::link::{self, Link, Role};

/// How often a chat line is typed at each side while a file is in transit.
pub const CHAT_EVERY: Duration = Duration::from_millis(10);

/// How long the chat lines still on their way may take after the file's verdict, and the chats
/// to end after `/q`.
const SETTLE: Duration = Duration::from_secs(10);

/// The text of chat line `number` of round `round`. The round is in the text so that a line
/// left over from a failed round cannot pass for one of the next.
fn line_text(round: usize, number: usize) -> String {
    format!("bench line {round}.{number}")
}

/// Two chats over one loopback connection: the connector sends files, the listener saves them.
pub struct Chats {
    sender: Side,
    receiver: Side,
    noted: Receiver<Noted>,
    /// Rounds started so far.
    rounds: usize,
}

/// One chat: where its typed lines go, and where it saves files.
struct Side {
    keyboard: SyncSender<ChatEvent>,
    download_dir: PathBuf,
}

/// What one round measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// From typing `/send` to the sender hearing the receiver's verdict.
    pub elapsed: Duration,
    /// How long each chat line typed at the sender took to arrive (alongside the file).
    pub alongside: Vec<Duration>,
    /// The same for lines typed at the receiver (against the file's direction).
    pub against: Vec<Duration>,
}

impl Chats {
    /// Connects two chats; the receiver saves into `received`, the sender into `sent_from`
    /// (where nothing arrives). Progress bars: the sender's `/send` bar on a terminal, if
    /// `bars`; the receiver's never (two bars for one file would say nothing more).
    pub fn start(received: &Path, sent_from: &Path, bars: bool) -> Result<Chats> {
        Chats::start_with(received, sent_from, bars, Limits::DEFAULT)
    }

    /// [`Chats::start`], both sides with `limits` (`--chunk-size`, `--max-message`).
    pub fn start_with(
        received: &Path,
        sent_from: &Path,
        bars: bool,
        limits: Limits,
    ) -> Result<Chats> {
        let (listener, connector) = link::loopback_pair()?;
        let (tell, noted) = mpsc::channel();
        let receiver = Side::start(listener, received, tell.clone(), false, limits)?;
        let sender = Side::start(connector, sent_from, tell, bars, limits)?;
        Ok(Chats {
            sender,
            receiver,
            noted,
            rounds: 0,
        })
    }

    /// One timed `/send` of `path` with chat lines around it; checks the verdicts (not yet the
    /// saved file: see [`Sent::saved`]). Gives up at `deadline`.
    pub fn send_file(&mut self, path: &Path, deadline: Instant) -> Result<Sent> {
        self.rounds += 1;
        let started = Instant::now();
        self.sender
            .type_line(format!("/send {}", path.display()), true)?;
        let mut chatter = Chatter::new(started, self.rounds);
        let mut received = None;
        let delivered_at = loop {
            let wait = chatter.next_tick.saturating_duration_since(Instant::now());
            match self.noted.recv_timeout(wait) {
                Ok(Noted { by, at, what }) => match what {
                    Notice::Message(text) => chatter.arrived(by, &text, at),
                    Notice::Received(verdict) => received = Some(verdict),
                    Notice::Delivered {
                        ok, intact, note, ..
                    } => {
                        delivered(ok, intact, &note)?;
                        break at;
                    }
                    Notice::SendFailed(reason) => {
                        return Err(Error::Failed(format!("sending stopped: {reason}")));
                    }
                    Notice::Ended(result) => return Err(ended(by, result)),
                },
                Err(RecvTimeoutError::Timeout) => chatter.type_lines(&self.sender, &self.receiver),
                Err(RecvTimeoutError::Disconnected) => return Err(ended_unheard()),
            }
            if Instant::now() > deadline {
                return Err(Error::Failed(
                    "the transfer is stuck: no verdict before the deadline".to_string(),
                ));
            }
        };
        self.settle(&mut chatter)?;
        let verdict = received.ok_or_else(|| {
            Error::Failed("the sender heard a verdict the receiver never gave".to_string())
        })?;
        Ok(Sent {
            round: Round {
                elapsed: delivered_at.saturating_duration_since(started),
                alongside: chatter.latencies(Role::Connector),
                against: chatter.latencies(Role::Listener),
            },
            saved: self.receiver.download_dir.join(&verdict.note),
            verdict,
        })
    }

    /// Waits until every chat line typed in the round has arrived.
    fn settle(&mut self, chatter: &mut Chatter) -> Result<()> {
        let deadline = Instant::now() + SETTLE;
        while !chatter.all_arrived() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.noted.recv_timeout(left) {
                Ok(Noted {
                    by,
                    at,
                    what: Notice::Message(text),
                }) => chatter.arrived(by, &text, at),
                Ok(Noted {
                    by,
                    what: Notice::Ended(result),
                    ..
                }) => return Err(ended(by, result)),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::Failed(format!(
                        "chat lines were lost: {} typed, {} never arrived",
                        chatter.typed,
                        chatter.pending.len()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => return Err(ended_unheard()),
            }
        }
        Ok(())
    }

    /// Types `/q` at the sender and waits for both chats to end cleanly.
    pub fn finish(self) -> Result<()> {
        self.sender.type_line("/q".to_string(), true)?;
        let deadline = Instant::now() + SETTLE;
        let mut ended = 0;
        while ended < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.noted.recv_timeout(left) {
                Ok(Noted {
                    by,
                    what: Notice::Ended(result),
                    ..
                }) => {
                    result.map_err(|why| {
                        Error::Failed(format!("the {} chat ended badly: {why}", side(by)))
                    })?;
                    ended += 1;
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::Failed(format!(
                        "the chats did not end within {} s of /q",
                        SETTLE.as_secs()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => return Err(ended_unheard()),
            }
        }
        Ok(())
    }
}

impl Drop for Chats {
    /// After an error: end both chats without waiting (each thread ends by itself).
    fn drop(&mut self) {
        let _ = self
            .sender
            .keyboard
            .try_send(Event::Input("/q".to_string()));
        let _ = self
            .receiver
            .keyboard
            .try_send(Event::Input("/q".to_string()));
    }
}

/// A finished round, before the bench has checked the saved copy.
#[derive(Debug)]
pub struct Sent {
    /// The timings.
    pub round: Round,
    /// The receiver's own verdict (ok, bytes, SHA-256, saved name).
    pub verdict: Verdict,
    /// Where the receiver saved the file.
    pub saved: PathBuf,
}

impl Side {
    fn start(
        link: Link,
        download_dir: &Path,
        tell: Sender<Noted>,
        bars: bool,
        limits: Limits,
    ) -> Result<Side> {
        let download_dir = duplex::check_download_dir(download_dir)?;
        let (keyboard, events) = mpsc::sync_channel::<ChatEvent>(events::QUEUE);
        let setup = Setup {
            tracer: Tracer::new(false),
            download_dir: download_dir.clone(),
            audience: Audience::Program(tell.clone()),
            bars: if bars {
                MultiProgress::new()
            } else {
                MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
            },
            limits,
        };
        let chat_events = keyboard.clone();
        let role = link.role;
        spawn_named("bench-chat", move || {
            let result = duplex::converse(&link, setup, chat_events, events);
            let _ = tell.send(Noted {
                by: role,
                at: Instant::now(),
                what: Notice::Ended(result.map_err(|err| err.to_string())),
            });
        })?;
        Ok(Side {
            keyboard,
            download_dir,
        })
    }

    /// Types `line`. `wait`: even if the chat's queue is full; otherwise only if it has room
    /// (returns whether it was typed).
    fn type_line(&self, line: String, wait: bool) -> Result<bool> {
        let gone = || Error::Failed("a chat ended while the bench was typing".to_string());
        if wait {
            self.keyboard.send(Event::Input(line)).map_err(|_| gone())?;
            return Ok(true);
        }
        match self.keyboard.try_send(Event::Input(line)) {
            Ok(()) => Ok(true),
            Err(TrySendError::Full(_)) => Ok(false),
            Err(TrySendError::Disconnected(_)) => Err(gone()),
        }
    }
}

/// The chat lines of one round: when each was typed, and how long each took to arrive.
struct Chatter {
    next_tick: Instant,
    round: usize,
    next_number: usize,
    /// Lines on their way: number -> (who typed it, when).
    pending: HashMap<usize, (Role, Instant)>,
    typed: usize,
    /// (who typed it, how long it took to arrive).
    latencies: Vec<(Role, Duration)>,
}

impl Chatter {
    fn new(started: Instant, round: usize) -> Chatter {
        Chatter {
            next_tick: started + CHAT_EVERY,
            round,
            next_number: 0,
            pending: HashMap::new(),
            typed: 0,
            latencies: Vec::new(),
        }
    }

    /// One line at each side, if its queue has room.
    fn type_lines(&mut self, sender: &Side, receiver: &Side) {
        for (side, role) in [(sender, Role::Connector), (receiver, Role::Listener)] {
            let number = self.next_number;
            if let Ok(true) = side.type_line(line_text(self.round, number), false) {
                self.pending.insert(number, (role, Instant::now()));
                self.next_number += 1;
                self.typed += 1;
            }
        }
        self.next_tick = Instant::now() + CHAT_EVERY;
    }

    /// A chat message arrived at `by`: if it is one of this round's on its way to that side,
    /// note how long it took.
    fn arrived(&mut self, by: Role, text: &str, at: Instant) {
        let Some(number) = text
            .strip_prefix(&format!("bench line {}.", self.round))
            .and_then(|number| number.parse::<usize>().ok())
        else {
            return;
        };
        let Some(&(typed_by, typed_at)) = self.pending.get(&number) else {
            return;
        };
        if typed_by != by {
            self.pending.remove(&number);
            self.latencies
                .push((typed_by, at.saturating_duration_since(typed_at)));
        }
    }

    fn all_arrived(&self) -> bool {
        self.pending.is_empty()
    }

    fn latencies(&self, typed_by: Role) -> Vec<Duration> {
        self.latencies
            .iter()
            .filter(|(by, _)| *by == typed_by)
            .map(|(_, latency)| *latency)
            .collect()
    }
}

/// The sender's verdict must say: saved, and the same size and SHA-256 as sent.
fn delivered(ok: bool, intact: bool, note: &str) -> Result<()> {
    match (ok, intact) {
        (true, true) => Ok(()),
        (true, false) => Err(Error::Failed(format!(
            "the receiver saved {note}, but its size or SHA-256 differs from what was sent"
        ))),
        (false, _) => Err(Error::Failed(format!(
            "the receiver did not save the file: {note}"
        ))),
    }
}

fn side(role: Role) -> &'static str {
    match role {
        Role::Listener => "receiving",
        Role::Connector => "sending",
    }
}

fn ended(by: Role, result: std::result::Result<(), String>) -> Error {
    let why = result.err().unwrap_or_else(|| "it quit".to_string());
    Error::Failed(format!(
        "the {} chat ended in the middle of a round: {why}",
        side(by)
    ))
}

fn ended_unheard() -> Error {
    Error::Failed("both chats ended without a word".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A verdict that is not "saved and intact" fails the round, whichever part is missing.
    #[test]
    fn verdicts_are_judged() {
        assert!(delivered(true, true, "new_a.bin").is_ok());
        let damaged = delivered(true, false, "new_a.bin").unwrap_err().to_string();
        assert!(damaged.contains("differs from what was sent"), "{damaged}");
        let refused = delivered(false, false, "the SHA-256 does not match")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("did not save the file"), "{refused}");
    }

    /// Only this round's numbered lines, arriving at the other side, count; each once.
    #[test]
    fn chat_lines_are_matched() {
        let start = Instant::now();
        let mut chatter = Chatter::new(start, 2);
        chatter.pending.insert(0, (Role::Connector, start));
        chatter.pending.insert(1, (Role::Listener, start));
        chatter.arrived(Role::Connector, &line_text(2, 0), start); // its own side: no
        chatter.arrived(Role::Listener, "hello", start); // not ours
        chatter.arrived(Role::Listener, &line_text(1, 0), start); // an earlier round's
        assert!(!chatter.all_arrived());
        chatter.arrived(Role::Listener, &line_text(2, 0), start + CHAT_EVERY);
        chatter.arrived(Role::Listener, &line_text(2, 0), start); // a second time: no
        chatter.arrived(Role::Connector, &line_text(2, 1), start);
        assert!(chatter.all_arrived());
        assert_eq!(chatter.latencies(Role::Connector), [CHAT_EVERY]);
        assert_eq!(chatter.latencies(Role::Listener), [Duration::ZERO]);
    }
}
