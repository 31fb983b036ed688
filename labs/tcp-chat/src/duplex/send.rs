//! # Sending a file: `/send PATH`
//!
//! Before anything is sent the file is opened and its size read, so a missing, unreadable or
//! non-regular file is refused with a clear message and nothing goes on the wire. Then a thread
//! of its own reads the file [`CHUNK`] bytes at a time and queues `F`, `D`..., `E` frames
//! through the [`Outbox`], hashing as it goes. Because it has its own thread, the keyboard and
//! the screen stay free: you keep chatting while it runs.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc::SyncSender;
use std::thread;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar};
use sha2::{Digest as _, Sha256};

use crate::bars;
use crate::duplex::outbox::Outbox;
use crate::duplex::wire::{CHUNK, Digest, Frame, MAX_NAME};
use crate::events::Event;

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

/// A file that has been opened and may be sent.
#[derive(Debug)]
pub struct Outgoing {
    file: File,
    /// The name offered to the peer (the base name of the path).
    pub name: String,
    /// Size in bytes when opened.
    pub size: u64,
}

impl Outgoing {
    /// The open file, for callers that stream it themselves.
    pub fn into_file(self) -> File {
        self.file
    }
}

/// Opens `path` for sending, or says why it cannot be sent.
pub fn open(path: &Path) -> Result<Outgoing, String> {
    let shown = path.display();
    let refuse = |err: io::Error| match err.kind() {
        io::ErrorKind::NotFound => format!("{shown}: no such file; nothing sent"),
        io::ErrorKind::PermissionDenied => format!("{shown}: permission denied; nothing sent"),
        _ => format!("{shown}: cannot open it ({err}); nothing sent"),
    };
    // Look before opening: on some systems a directory can be opened like a file.
    if !fs::metadata(path).map_err(refuse)?.is_file() {
        return Err(format!("{shown}: not a regular file; nothing sent"));
    }
    let file = File::open(path).map_err(refuse)?;
    let metadata = file
        .metadata()
        .map_err(|err| format!("{shown}: cannot read its size ({err}); nothing sent"))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{shown}: has no file name; nothing sent"))?;
    if name.len() > MAX_NAME {
        return Err(format!(
            "{shown}: the name is over {MAX_NAME} bytes; nothing sent"
        ));
    }
    Ok(Outgoing {
        file,
        name,
        size: metadata.len(),
    })
}

/// Starts the thread that sends `file` as transfer `id`.
pub fn spawn<F, L>(
    id: u32,
    file: Outgoing,
    outbox: Outbox,
    events: SyncSender<Event<F, L>>,
    bars: MultiProgress,
) where
    F: Send + 'static,
    L: From<SendReport> + Send + 'static,
{
    thread::spawn(move || {
        let bar = bars::transfer_bar(&bars, file.size, &format!("sending {}", file.name));
        send(id, file, &outbox, &bar, &|report| {
            let _ = events.send(Event::Local(L::from(report)));
        });
    });
}

/// Sends the whole file and reports how it went (nothing if the chat ended first).
fn send(
    id: u32,
    outgoing: Outgoing,
    outbox: &Outbox,
    bar: &ProgressBar,
    report: &dyn Fn(SendReport),
) {
    let Outgoing {
        mut file,
        name,
        size,
    } = outgoing;
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
        let mut chunk = vec![0u8; CHUNK];
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

/// Fills `buf` as far as the file allows; returns fewer bytes only at the end of the file.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match file.read(rest) {
            Ok(0) => break,
            Ok(got) => filled += got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}
