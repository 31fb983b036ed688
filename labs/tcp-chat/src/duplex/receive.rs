//! The receiving half of the duplex main loop: `F`, `D`, `E` and `X` frames for a file coming in.
//! The bytes go to an [`Incoming`], which keeps them under a temporary name until they are
//! complete and verified (see [`crate::files::transfer`]).

use super::audience::Notice;
use super::wire::Frame;
use super::{Chat, Flow};
use crate::files::filename;
use crate::files::transfer::{self, Incoming};
use netlab_common::digest::hex;
use netlab_common::digest::{DIGEST_LEN, Digest};
use netlab_common::{progress, term};

impl Chat {
    /// `F`: a file is coming. One at a time; the bytes go to a hidden temporary file.
    pub(super) fn on_offer(&mut self, id: u32, size: u64, name: &str) -> Flow {
        if self.incoming.is_some() || self.skipping.is_some() {
            return self.protocol("a second file was offered before the first one ended");
        }
        match Incoming::begin(&self.download_dir, id, size, name, &self.bars) {
            Ok(incoming) => {
                self.info(format!(
                    "receiving {} ({}) into {}",
                    term::sanitize(incoming.base()),
                    progress::human_bytes(size),
                    term::sanitize(&self.download_dir.display().to_string())
                ));
                self.incoming = Some(incoming);
            }
            Err(err) => {
                let note = format!("the receiver cannot create a file: {err}");
                self.error(format!("refusing {}: {note}", filename::escape(name)));
                self.outbox.send(Frame::Result {
                    id,
                    ok: false,
                    received: 0,
                    digest: [0; DIGEST_LEN],
                    note,
                });
                self.skipping = Some(id);
            }
        }
        Flow::Continue
    }

    /// `D`: the next bytes of the file coming in.
    pub(super) fn on_data(&mut self, id: u32, bytes: &[u8]) -> Flow {
        if self.skipping == Some(id) {
            return Flow::Continue;
        }
        let Some(incoming) = self
            .incoming
            .as_mut()
            .filter(|incoming| incoming.id() == id)
        else {
            return self.protocol("file data arrived for a transfer that is not running");
        };
        match incoming.write(bytes) {
            Ok(()) => Flow::Continue,
            Err(transfer::TransferError::TooMuch { .. }) => {
                self.protocol("more file data arrived than the offer announced")
            }
            Err(err) => {
                let note = err.to_string();
                self.error(format!("receiving stopped: {note}; nothing saved"));
                self.cancel_incoming(note);
                Flow::Continue
            }
        }
    }

    /// Gives up on the file coming in: a negative `R` with `note` tells the sender (who then
    /// stops sending it), the temporary file is deleted, and the chunks still on their way are
    /// read and dropped. Returns what was given up (name, bytes received, size).
    pub(super) fn cancel_incoming(&mut self, note: String) -> Option<(String, u64, u64)> {
        let incoming = self.incoming.take()?;
        let id = incoming.id();
        let given_up = (
            term::sanitize(incoming.base()),
            incoming.received(),
            incoming.size(),
        );
        self.outbox.send(Frame::Result {
            id,
            ok: false,
            received: incoming.received(),
            digest: [0; DIGEST_LEN],
            note,
        });
        drop(incoming); // deletes the temporary file
        self.skipping = Some(id);
        Some(given_up)
    }

    /// `X`: the sender gave up; the temporary file is deleted.
    pub(super) fn on_abort(&mut self, id: u32, reason: &str) -> Flow {
        if self
            .incoming
            .as_ref()
            .is_some_and(|incoming| incoming.id() == id)
        {
            if let Some(incoming) = self.incoming.take() {
                self.warn(format!(
                    "the peer stopped sending {}: {}; nothing saved",
                    term::sanitize(incoming.base()),
                    term::sanitize(reason)
                ));
            }
        } else if self.skipping != Some(id) {
            return self.protocol("an abort arrived for a transfer that is not running");
        }
        self.skipping = None;
        Flow::Continue
    }

    /// `E`: all bytes sent; check size and SHA-256, name the file, answer with `R`.
    pub(super) fn on_end(&mut self, id: u32, digest: &Digest) -> Flow {
        if self.skipping == Some(id) {
            self.skipping = None;
            return Flow::Continue;
        }
        let Some(incoming) = self.incoming.take_if(|incoming| incoming.id() == id) else {
            return self.protocol("an end arrived for a transfer that is not running");
        };
        let base = term::sanitize(incoming.base());
        let started = incoming.started();
        let verdict = incoming.finish(digest);
        if verdict.ok {
            self.files_received += 1;
            self.success(format!(
                "saved {base} as {} ({}, {}, SHA-256 {})",
                term::sanitize(&verdict.note),
                progress::human_bytes(verdict.received),
                progress::human_rate(verdict.received, started.elapsed()),
                hex(&verdict.digest)
            ));
        } else {
            self.error(format!("{base}: {}", verdict.note));
        }
        self.tell(Notice::Received(verdict.clone()));
        self.outbox.send(Frame::Result {
            id,
            ok: verdict.ok,
            received: verdict.received,
            digest: verdict.digest,
            note: verdict.note,
        });
        Flow::Continue
    }

    /// Reports an unfinished incoming file when the chat ends (it is deleted when dropped).
    pub(super) fn interrupted_incoming(&mut self) {
        if let Some(incoming) = self.incoming.take() {
            self.warn(format!(
                "{} was interrupted after {} of {} bytes; nothing saved",
                term::sanitize(incoming.base()),
                incoming.received(),
                incoming.size()
            ));
        }
    }
}
