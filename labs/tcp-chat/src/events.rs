//! # Two sources of input, one queue
//!
//! A chat program waits for two things at once: the person typing, and the network. A blocking
//! `read` can wait for only one, so each source gets a thread that does nothing but block on it
//! and put what it got on a channel. The main loop reads that one channel and handles events one
//! at a time, in the order they happened. The threads never touch the chat's state: only the main
//! loop does, so there are no locks to get wrong.
//!
//! The keyboard is `netlab_common::console`'s: on a terminal it keeps the line being typed at
//! the bottom of the screen (so a message arriving mid-sentence is printed above it, not into
//! it), in a pipe it reads standard input line by line as before. Either way typed lines come
//! out of one receiver, and [`spawn_keyboard`]'s thread moves them into the event queue. That
//! thread is never joined: when the chat ends it may still be waiting for the next line, and
//! the process simply exits without it.

use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender};

use netlab_common::accept::spawn_named;
use netlab_common::console::Input;
use netlab_common::framing::FrameReader;
use netlab_common::{Error, Result, Traced};

use crate::wire::FRAMING;

/// Something that happened. `F` is the mode's frame type; `L` is what the mode's own helper
/// threads report (`duplex` has file senders; `pair` has none, hence the default).
#[derive(Debug)]
pub enum Event<F, L = std::convert::Infallible> {
    /// The user typed a line (without its line ending).
    Input(String),
    /// Ctrl-C on an empty input line, on a terminal (in a pipe Ctrl-C stays a signal that ends
    /// the program): stop what is running, a file transfer say. A second one ends the input.
    Interrupt,
    /// Standard input ended (Ctrl-D, Ctrl-C twice, or the end of a piped file).
    InputEnded,
    /// The peer sent a whole, valid frame.
    Peer(F),
    /// The peer closed the connection cleanly (end of stream between frames).
    PeerClosed,
    /// Reading from or writing to the peer failed, or it sent something that breaks the protocol.
    PeerFailed(Error),
    /// A helper thread of this side has something to report.
    Local(L),
}

/// Events waiting for the main loop, at most. When the main loop falls behind (a slow disk while
/// saving a file), the reader thread blocks, stops reading the socket, and TCP flow control makes
/// the sender wait: memory stays bounded.
pub const QUEUE: usize = 16;

/// Starts the thread that moves what the person types (`inputs`, from the console) into the
/// event queue (an error if the system has no thread to give).
pub fn spawn_keyboard<F: Send + 'static, L: Send + 'static>(
    inputs: Receiver<Input>,
    events: SyncSender<Event<F, L>>,
) -> Result<()> {
    spawn_named("keyboard", move || {
        for input in inputs.iter() {
            let event = match input {
                Input::Line(line) => Event::Input(line),
                Input::Interrupt => Event::Interrupt,
                Input::Ended => break,
            };
            if events.send(event).is_err() {
                return; // the main loop has finished
            }
        }
        let _ = events.send(Event::InputEnded);
    })?;
    Ok(())
}

/// Starts the thread that reads length-prefixed frames from `wire` and decodes each with
/// `decode`, which checks it against the mode's protocol (an error if the system has no thread
/// to give).
///
/// The thread ends after the first close or error: once a stream has lost its place there is
/// no way to find the next frame boundary again.
pub fn spawn_frame_reader<R, F, L, D>(
    wire: Traced<R>,
    max_frame: usize,
    decode: D,
    events: SyncSender<Event<F, L>>,
) -> Result<()>
where
    R: Read + Send + 'static,
    F: Send + 'static,
    L: Send + 'static,
    D: Fn(&[u8]) -> Result<F> + Send + 'static,
{
    spawn_named("frame-reader", move || {
        let mut frames = FrameReader::new(wire, FRAMING, max_frame);
        loop {
            let event = match frames.read_frame() {
                Ok(Some(payload)) => match decode(&payload) {
                    Ok(frame) => Event::Peer(frame),
                    Err(err) => Event::PeerFailed(err),
                },
                Ok(None) => Event::PeerClosed,
                Err(err) => Event::PeerFailed(err),
            };
            let last = !matches!(event, Event::Peer(_));
            if events.send(event).is_err() || last {
                return;
            }
        }
    })?;
    Ok(())
}
