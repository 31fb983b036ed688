//! # Who is watching the chat: a person, or a program
//!
//! The main loop reports what happens as status lines for a person: `[CHAT] peer: ...`,
//! `[SUCCESS] photo.jpg arrived intact ...`. `tcp-chat bench` runs two chats in one process and
//! needs the same events as data, with nothing on the screen (its output is a table, or JSON for
//! a script). So every status line goes through the chat's [`Audience`]: a person gets it
//! printed, around the progress bars; a program gets nothing printed, and the events that matter
//! arrive on a channel as [`Noted`] values (each a [`Notice`]) instead.
//!
//! Everything else, the frames, the threads, the window, the checks, is the same for both. That
//! is the point: the bench measures exactly the code a `/send` typed by a person runs.

use std::fmt::Display;
use std::sync::mpsc::Sender;
use std::time::Instant;

use netlab_common::term;

use super::Chat;
use crate::files::transfer::Verdict;
use crate::link::Role;

/// Who the chat reports to.
#[derive(Debug, Clone)]
pub enum Audience {
    /// A person at a terminal: status lines are printed.
    Person,
    /// A program: nothing is printed; events go to the channel.
    Program(Sender<Noted>),
}

/// A notice, which end of the connection saw it, and when.
#[derive(Debug, Clone)]
pub struct Noted {
    /// The end that saw it (the listener or the connector).
    pub by: Role,
    /// When the main loop saw it (before it went through the channel).
    pub at: Instant,
    /// What happened.
    pub what: Notice,
}

/// What a program watching a chat is told: a *notice*, in the glossary's sense (something the
/// chat tells whoever runs it to show or report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A chat message from the peer, as sent (not sanitized: a program is not a terminal).
    Message(String),
    /// A file from the peer ended: saved, complete and verified, or not (the `R` frame we sent).
    Received(Verdict),
    /// The peer's verdict on a file we sent (its `R` frame).
    Delivered {
        /// The file's name.
        name: String,
        /// The peer saved it.
        ok: bool,
        /// The byte count and SHA-256 the peer reports are what we sent.
        intact: bool,
        /// Bytes the peer received.
        received: u64,
        /// The peer's note: the saved name, or why not (control characters made visible).
        note: String,
    },
    /// Sending a file stopped before its end.
    SendFailed(String),
    /// The chat is over: `Ok` after a `/q` from either side, or why it failed. Sent by whoever
    /// ran the chat, when [`super::converse`] returned.
    Ended(Result<(), String>),
}

impl Chat {
    // A person sees the status lines; `netlab_common::term` prints each one above the progress
    // bars (the bars are hidden, the line is printed, the bars are drawn again below it), since
    // printing past a live bar would leave stale copies of it on the screen.
    fn print(&self, line: impl FnOnce()) {
        if matches!(self.audience, Audience::Person) {
            line();
        }
    }

    pub(super) fn info(&self, text: impl Display) {
        self.print(|| term::info(text));
    }

    pub(super) fn warn(&self, text: impl Display) {
        self.print(|| term::warn(text));
    }

    pub(super) fn error(&self, text: impl Display) {
        self.print(|| term::error(text));
    }

    pub(super) fn success(&self, text: impl Display) {
        self.print(|| term::success(text));
    }

    pub(super) fn chat(&self, text: impl Display) {
        self.print(|| term::chat(text));
    }

    /// Tells a watching program what happened (a person has already read it in a status line).
    pub(super) fn tell(&self, what: Notice) {
        if let Audience::Program(channel) = &self.audience {
            // A program that stopped listening has nothing left to learn.
            let _ = channel.send(Noted {
                by: self.role,
                at: Instant::now(),
                what,
            });
        }
    }
}
