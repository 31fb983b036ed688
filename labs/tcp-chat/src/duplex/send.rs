//! # Sending a file: `/send PATH`
//!
//! Before anything is sent the file is opened and its size read ([`crate::files::send::open`]), so a
//! missing, unreadable or non-regular file is refused with a clear message and nothing goes on
//! the wire. Then a thread of its own reads the file a chunk at a time (`--chunk-size`; 64 KiB
//! unless told otherwise: [`crate::duplex::wire::CHUNK`]) and queues `F`, `D`..., `E` frames
//! through the [`Outbox`], hashing as it goes. Because it has its own thread, the keyboard and
//! the screen stay free: you keep chatting while it runs.
//!
//! The main loop can stop it (Ctrl-C, or the peer gave up) by setting a flag the thread reads
//! before each chunk; the thread then sends an `X` frame, so the receiver deletes what it has.
//! Stopping takes at most one chunk: the chunks already queued still go out first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar};
use netlab_common::Result;
use netlab_common::accept::spawn_named;
use sha2::{Digest as _, Sha256};

use super::outbox::Outbox;
use super::wire::Frame;
use crate::bars;
use crate::events::Event;
use crate::files::send::{Outgoing, read_up_to};
use netlab_common::digest::Digest;

/// What the main loop hears from a file-sending thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendReport {
    /// Every byte is queued; the peer's verdict will follow in an `R` frame.
    AllQueued {
        /// Transfer id.
        id: u32,
        /// Bytes sent.
        size: u64,
        /// SHA-256 of what was sent.
        digest: Digest,
        /// When sending started.
        started: Instant,
    },
    /// The transfer was abandoned (the file could not be read, or changed size).
    Failed {
        /// Transfer id.
        id: u32,
        /// Why.
        reason: String,
    },
}

/// The reason the `X` frame gives when the sender stopped on request.
pub const CANCELLED: &str = "the sender cancelled it (Ctrl-C)";

/// Starts the thread that sends `file` as transfer `id` in `D` frames of at most `chunk` bytes,
/// until done or until `cancel` is set; an error if the system has no thread to give (nothing
/// has been sent then).
pub fn spawn<F, L>(
    id: u32,
    file: Outgoing,
    chunk: usize,
    outbox: Outbox,
    events: SyncSender<Event<F, L>>,
    bars: MultiProgress,
    cancel: Arc<AtomicBool>,
) -> Result<()>
where
    F: Send + 'static,
    L: From<SendReport> + Send + 'static,
{
    spawn_named("file-sender", move || {
        let bar = bars::transfer_bar(&bars, file.size, &format!("sending {}", file.name));
        send(id, file, chunk, &outbox, &bar, &cancel, &|report| {
            let _ = events.send(Event::Local(L::from(report)));
        });
    })?;
    Ok(())
}

/// Sends the whole file and reports how it went (nothing if the chat ended first).
fn send(
    id: u32,
    outgoing: Outgoing,
    chunk_size: usize,
    outbox: &Outbox,
    bar: &ProgressBar,
    cancel: &AtomicBool,
    report: &dyn Fn(SendReport),
) {
    let (name, size) = (outgoing.name.clone(), outgoing.size);
    let mut file = outgoing.into_file();
    let started = Instant::now();
    outbox.send(Frame::Offer {
        id,
        size,
        name: name.clone(),
    });
    let mut hasher = Sha256::new();
    let mut sent: u64 = 0;
    let failed = |reason: String| {
        bar.finish_and_clear();
        outbox.send(Frame::Abort {
            id,
            reason: reason.clone(),
        });
        report(SendReport::Failed { id, reason });
    };
    loop {
        if cancel.load(Ordering::SeqCst) {
            return failed(CANCELLED.into());
        }
        let mut chunk = vec![0u8; chunk_size.max(1)];
        let got = match read_up_to(&mut file, &mut chunk) {
            Ok(got) => got,
            Err(err) => return failed(format!("the sender could not read the file: {err}")),
        };
        if got == 0 {
            break;
        }
        chunk.truncate(got);
        sent = sent.saturating_add(got as u64);
        if sent > size {
            return failed("the file grew while it was being sent".into());
        }
        hasher.update(&chunk);
        if !outbox.send_chunk(Frame::Data { id, bytes: chunk }) {
            bar.finish_and_clear();
            return; // the chat is ending
        }
        bar.set_position(sent);
    }
    if sent != size {
        return failed("the file shrank while it was being sent".into());
    }
    bar.finish_and_clear();
    let digest: Digest = hasher.finalize().into();
    // Report before queuing `E`: the peer's verdict cannot arrive before the main loop knows the
    // digest to compare it with.
    report(SendReport::AllQueued {
        id,
        size,
        digest,
        started,
    });
    outbox.send(Frame::End { id, digest });
}
