//! # Two sources of input, one queue
//!
//! A chat program waits for two things at once: the person typing, and the network. A blocking
//! `read` can wait for only one, so each source gets a thread that does nothing but block on it
//! and put what it got on a channel. The main loop reads that one channel and handles events one
//! at a time, in the order they happened. The threads never touch the chat's state: only the main
//! loop does, so there are no locks to get wrong.
//!
//! The keyboard thread is never joined: when the chat ends it may still be blocked reading the
//! terminal, and the process simply exits without it.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::SyncSender;

use netlab_common::accept::spawn_named;
use netlab_common::framing::FrameReader;
use netlab_common::{Error, Result, Traced};

use crate::wire::FRAMING;

/// Something that happened. `F` is the mode's frame type; `L` is what the mode's own helper
/// threads report (`duplex` has file senders; `pair` has none, hence the default).
#[derive(Debug)]
pub enum Event<F, L = std::convert::Infallible> {
    /// The user typed a line (without its line ending).
    Input(String),
    /// Standard input ended (Ctrl-D, or the end of a piped file).
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

/// Starts the thread that reads standard input line by line (an error if the system has no
/// thread to give).
///
/// Bytes that are not UTF-8 are replaced (U+FFFD) rather than ending the chat.
pub fn spawn_keyboard<F: Send + 'static, L: Send + 'static>(
    events: SyncSender<Event<F, L>>,
) -> Result<()> {
    spawn_named("keyboard", move || {
        let mut stdin = io::stdin().lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if events.send(Event::Input(text)).is_err() {
                        return; // the main loop has finished
                    }
                }
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
