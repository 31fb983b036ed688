//! # One writer for the socket, and a window that keeps files from crowding out chat
//!
//! Several threads have something to send: the keyboard (messages), a file sender (chunks), the
//! main loop (verdicts, the quit notice). Two threads writing to one socket could interleave the
//! bytes of two frames, so exactly one *writer thread* owns the sending side, and everyone else
//! hands it whole frames through a queue ([`Outbox`]). Frames leave in the order they were queued.
//!
//! ## Back-pressure, and why chat stays responsive during a transfer
//! A file sender can read from the disk much faster than the network takes the bytes. If it could
//! queue without limit, a 50 MiB file would sit in memory, and a message typed meanwhile would
//! wait behind all of it. So a file sender may have at most [`WINDOW`] chunks queued and not yet
//! written: it must take a slot from the [`Window`] before queuing a chunk, and the writer gives
//! the slot back once the chunk is on its way. A message therefore waits behind at most
//! `WINDOW` chunks (256 KiB), however big the file. When the peer reads slowly, TCP's own flow
//! control blocks the writer, the slots stay taken, and the file sender waits: memory stays
//! bounded end to end. (TCP's sliding window, RFC 9293 section 3.8.6, is the same idea one layer
//! down.)
//!
//! Messages and control frames are not counted in the window: a person types slowly, and the
//! main loop must never block on the queue, or a deadlock becomes possible when both sides send
//! files at once.

use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use netlab_common::accept::spawn_named;
use netlab_common::framing::write_frame;
use netlab_common::{Error, Result};

use super::wire::Frame;
use crate::events::Event;
use crate::wire::FRAMING;

/// Most file chunks queued but not yet written, per side.
pub const WINDOW: usize = 4;

/// Counts chunks in flight between the file sender and the writer.
#[derive(Debug, Default)]
pub struct Window {
    /// (chunks in flight, closed).
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Window {
    /// Waits for a free slot and takes it. False once the window is closed (the chat is ending
    /// or the connection failed): the caller should stop sending.
    pub fn acquire(&self) -> bool {
        // A panic in another thread while holding this lock cannot leave the counter in a state
        // worse than off by one, so a poisoned lock is used as it is.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.0 >= WINDOW && !state.1 {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.1 {
            return false;
        }
        state.0 += 1;
        true
    }

    /// Gives a slot back.
    pub fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = state.0.saturating_sub(1);
        self.changed.notify_all();
    }

    /// Wakes every waiting sender and makes `acquire` fail from now on.
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 = true;
        self.changed.notify_all();
    }
}

/// What the writer thread is asked to do.
#[derive(Debug)]
enum Job {
    /// Write a frame that is not a file chunk.
    Frame(Frame),
    /// Write a file chunk, then give its window slot back.
    Chunk(Frame),
    /// Write nothing more and end.
    Close,
}

/// The queue in front of the writer thread. Cloning it gives another thread a way to send.
#[derive(Debug, Clone)]
pub struct Outbox {
    jobs: Sender<Job>,
    window: Arc<Window>,
}

/// The writer thread, to wait for when the chat ends.
#[derive(Debug)]
pub struct Writer {
    handle: JoinHandle<()>,
}

impl Outbox {
    /// Starts the writer thread over `wire`. A write error is reported on `events` (as the
    /// connection failing) and closes the window. An error if the system has no thread to give.
    pub fn start<W, L>(wire: W, events: SyncSender<Event<Frame, L>>) -> Result<(Outbox, Writer)>
    where
        W: Write + Send + 'static,
        L: Send + 'static,
    {
        let (jobs, queue) = mpsc::channel();
        let window = Arc::new(Window::default());
        let writer_window = Arc::clone(&window);
        let handle = spawn_named("writer", move || {
            write_jobs(wire, &queue, &writer_window, &events);
        })?;
        Ok((Outbox { jobs, window }, Writer { handle }))
    }

    /// Queues a message or control frame. Never blocks.
    pub fn send(&self, frame: Frame) {
        // If the writer has ended, the connection is gone and the main loop hears about it.
        let _ = self.jobs.send(Job::Frame(frame));
    }

    /// Queues a file chunk, waiting for a window slot first. False if the chat is ending.
    pub fn send_chunk(&self, frame: Frame) -> bool {
        if !self.window.acquire() {
            return false;
        }
        self.jobs.send(Job::Chunk(frame)).is_ok()
    }

    /// Asks the writer to end after the frames already queued; file senders stop at their next
    /// chunk.
    pub fn close(&self) {
        self.window.close();
        let _ = self.jobs.send(Job::Close);
    }
}

impl Writer {
    /// Waits until everything queued before [`Outbox::close`] has been written.
    pub fn join(self) {
        let _ = self.handle.join();
    }
}

fn write_jobs<W: Write, L>(
    mut wire: W,
    queue: &Receiver<Job>,
    window: &Window,
    events: &SyncSender<Event<Frame, L>>,
) {
    for job in queue {
        let (frame, chunk) = match job {
            Job::Frame(frame) => (frame, false),
            Job::Chunk(frame) => (frame, true),
            Job::Close => break,
        };
        let written: Result<()> = write_frame(&mut wire, FRAMING, &frame.encode());
        if chunk {
            window.release();
        }
        if let Err(err) = written {
            window.close();
            let _ = events.send(Event::PeerFailed(err));
            return;
        }
    }
    let _ = wire.flush().map_err(|err| Error::io("flushing", err));
}
