//! # Receiving a file without ever leaving a half-written one
//!
//! A transfer can stop anywhere: the sender quits, the network goes, the disk fills, the bytes do
//! not match the checksum. Whatever happens, no file may appear under its final name unless it is
//! complete and verified. So [`Incoming`] writes to a hidden temporary file (`.new_NAME.PID-ID.part`)
//! in the download directory, and only when every byte has arrived and the SHA-256 matches does it
//! give the file its final name. If anything goes wrong, or the [`Incoming`] is simply dropped, the
//! temporary file is deleted.
//!
//! ## Never overwrite, even by accident
//! `rename(temp, final)` would *replace* a file that already has the final name (on Unix, silently
//! and atomically). To claim a name only if it is free, [`publish`] uses `hard_link(temp, final)`,
//! which fails with "already exists" instead, then removes the temporary name. Checking "does it
//! exist?" and then renaming would leave a gap in which another program could create the file
//! (a *time-of-check to time-of-use* race); the link does the check and the claim in one step.
//! On file systems without hard links (FAT, some network shares) it falls back to that check
//! followed by a rename.
//!
//! The temporary file lives in the download directory itself, not in /tmp, because a rename or
//! link only works within one file system.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::MultiProgress;
use sha2::{Digest as _, Sha256};

use crate::bars;
use crate::files::filename;
use netlab_common::digest::Digest;

/// A file being received.
#[derive(Debug)]
pub struct Incoming {
    id: u32,
    base: String,
    size: u64,
    received: u64,
    dir: PathBuf,
    temp: PathBuf,
    file: Option<BufWriter<File>>,
    hasher: Sha256,
    bar: indicatif::ProgressBar,
    started: Instant,
}

/// How a transfer ended, from the receiver's side: what goes back to the sender in an `R` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Saved, complete and verified.
    pub ok: bool,
    /// Bytes received.
    pub received: u64,
    /// SHA-256 of the bytes received.
    pub digest: Digest,
    /// The name it was saved under, or why it was not saved.
    pub note: String,
}

/// Why the bytes of a transfer cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The sender sent more bytes than it announced.
    #[error("the sender sent more than the {size} bytes it announced")]
    TooMuch {
        /// The announced size.
        size: u64,
    },
    /// Writing to the disk failed (full, permissions...).
    #[error("cannot write the file: {0}")]
    Disk(#[from] io::Error),
}

impl Incoming {
    /// Starts receiving transfer `id` of `size` bytes, offered as `offered_name`, into `dir`.
    /// Its progress bar joins `bars` (hidden when standard error is not a terminal).
    pub fn begin(
        dir: &Path,
        id: u32,
        size: u64,
        offered_name: &str,
        bars: &MultiProgress,
    ) -> io::Result<Incoming> {
        let base = filename::base_name(offered_name);
        let temp = dir.join(format!(
            ".{}{base}.{}-{id}.part",
            filename::PREFIX,
            std::process::id()
        ));
        // `create_new`: fail rather than reuse a file that is already there.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(Incoming {
            id,
            bar: bars::transfer_bar(bars, size, &format!("receiving {base}")),
            base,
            size,
            received: 0,
            dir: dir.to_path_buf(),
            temp,
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            hasher: Sha256::new(),
            started: Instant::now(),
        })
    }

    /// The transfer's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The safe base name (before the `new_` prefix).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The announced size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// When the offer arrived.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Appends the next chunk.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), TransferError> {
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let total = self.received.saturating_add(len);
        if total > self.size {
            return Err(TransferError::TooMuch { size: self.size });
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("file already closed"))?;
        file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.received = total;
        self.bar.set_position(total);
        Ok(())
    }

    /// All bytes are announced sent, with the sender's SHA-256: check, and if everything matches
    /// give the file its final name. The temporary file is gone afterwards either way.
    pub fn finish(mut self, sender_digest: &Digest) -> Verdict {
        self.bar.finish_and_clear();
        let digest: Digest = std::mem::take(&mut self.hasher).finalize().into();
        let fail = |note: String| Verdict {
            ok: false,
            received: self.received,
            digest,
            note,
        };
        if self.received != self.size {
            return fail(format!(
                "only {} of {} bytes arrived; nothing saved",
                self.received, self.size
            ));
        }
        if &digest != sender_digest {
            return fail(
                "the SHA-256 does not match: the bytes were damaged; nothing saved".into(),
            );
        }
        // Flush our buffer and ask the OS to put the bytes on the disk before naming the file.
        let flushed = match self.file.take() {
            Some(file) => file
                .into_inner()
                .map_err(|err| err.into_error())
                .and_then(|file| file.sync_all()),
            None => Ok(()),
        };
        if let Err(err) = flushed {
            return fail(format!("cannot write the file: {err}; nothing saved"));
        }
        match publish(&self.temp, &self.dir, &self.base) {
            Ok(path) => Verdict {
                ok: true,
                received: self.received,
                digest,
                note: path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            },
            Err(err) => fail(format!("cannot name the file: {err}; nothing saved")),
        }
    }
}

impl Drop for Incoming {
    /// Whatever ended the transfer, the temporary file does not outlive it. (After a successful
    /// [`publish`] it is already gone and this does nothing.)
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        drop(self.file.take());
        let _ = fs::remove_file(&self.temp);
    }
}

/// Gives the complete file at `temp` the first free name among `new_BASE`, `new_BASE(1)`, ...
/// in `dir`, never replacing an existing file (see the module docs).
pub fn publish(temp: &Path, dir: &Path, base: &str) -> io::Result<PathBuf> {
    for name in filename::candidates(base) {
        let target = dir.join(name);
        match claim(temp, &target) {
            Ok(()) => return Ok(target),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::other(format!(
        "all {} names for {base} are taken",
        filename::MAX_CANDIDATES
    )))
}

/// Gives the complete file at `temp` the name `target` only if no file has that name (an
/// error of kind `AlreadyExists` otherwise); `temp` is gone afterwards. The room's uploads
/// claim their one name with it too.
pub fn claim(temp: &Path, target: &Path) -> io::Result<()> {
    match fs::hard_link(temp, target) {
        Ok(()) => fs::remove_file(temp),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(err),
        Err(_) => {
            // No hard links here: check, then rename (the fallback has a small race). A
            // symbolic link counts as taken, even one that points nowhere.
            if target.symlink_metadata().is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(temp, target)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use netlab_testkit::TempDir;

    /// The names in `dir`, sorted.
    fn names(dir: &TempDir) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn sha(bytes: &[u8]) -> Digest {
        Sha256::digest(bytes).into()
    }

    /// A complete, matching file is saved as new_NAME; a second one as new_NAME(1); the first
    /// is untouched.
    #[test]
    fn saves_without_overwriting() {
        let dir = TempDir::new("chat-unit-save");
        for (round, content) in [b"first".as_slice(), b"second"].into_iter().enumerate() {
            let mut incoming = Incoming::begin(
                dir.path(),
                round as u32,
                content.len() as u64,
                "../a.txt",
                &MultiProgress::new(),
            )
            .unwrap();
            incoming.write(content).unwrap();
            let verdict = incoming.finish(&sha(content));
            assert!(verdict.ok, "{verdict:?}");
        }
        assert_eq!(names(&dir), ["new_a(1).txt", "new_a.txt"]);
        assert_eq!(fs::read(dir.join("new_a.txt")).unwrap(), b"first");
        assert_eq!(fs::read(dir.join("new_a(1).txt")).unwrap(), b"second");
    }

    /// A wrong checksum, a short transfer, too many bytes or a dropped transfer leave nothing.
    #[test]
    fn failures_leave_no_file() {
        let dir = TempDir::new("chat-unit-fail");
        let mut bad_sum = Incoming::begin(dir.path(), 1, 3, "x", &MultiProgress::new()).unwrap();
        bad_sum.write(b"abc").unwrap();
        assert!(!bad_sum.finish(&sha(b"abd")).ok);

        let mut short = Incoming::begin(dir.path(), 2, 4, "x", &MultiProgress::new()).unwrap();
        short.write(b"abc").unwrap();
        let verdict = short.finish(&sha(b"abc"));
        assert_eq!(verdict.note, "only 3 of 4 bytes arrived; nothing saved");

        let mut long = Incoming::begin(dir.path(), 3, 2, "x", &MultiProgress::new()).unwrap();
        assert!(matches!(
            long.write(b"abc"),
            Err(TransferError::TooMuch { size: 2 })
        ));
        drop(long);

        let mut dropped = Incoming::begin(dir.path(), 4, 10, "x", &MultiProgress::new()).unwrap();
        dropped.write(b"abc").unwrap();
        assert_eq!(
            names(&dir).len(),
            1,
            "the temporary file exists while receiving"
        );
        drop(dropped);
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    }
}
