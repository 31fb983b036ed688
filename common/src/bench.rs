//! # What the labs' `bench` subcommands share: a scratch directory, a test file, fingerprints
//!
//! `ftp-lab bench` and `tcp-chat bench` both move a file over loopback and time it. This module
//! holds what they need around the transfer; the transfer itself, and the report of it, stay in
//! each lab, because that is what each teaches.
//!
//! ## Every byte is checked
//! A throughput figure means something only if the bytes arrived right: a client that lost half
//! the file would look twice as fast. So the result of every transfer is compared with the
//! source by size and SHA-256 (the digest `sha256sum` prints), and a mismatch fails the bench.
//!
//! The test file is pseudo-random, not zeros. With zeros, a block delivered twice, skipped and
//! replaced by another, or written at the wrong offset would give the same bytes and the same
//! digest: a checksum only sees what differs. (A file made with `set_len` would also be
//! *sparse*, read from holes without touching the disk, which no real file is.)
//!
//! ## Nothing is left behind
//! Everything lives in one scratch directory under the system's temporary directory (`$TMPDIR`,
//! else `/tmp`), removed when [`Scratch`] is dropped: after the run, after an error, and, through
//! [`when_interrupted`], when the bench is stopped with Ctrl-C. Where that directory is matters:
//! on a disk, the kernel writes the copies back in the background while the bench runs; on a
//! tmpfs (`TMPDIR=/dev/shm`) they stay in memory.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use crate::digest::hex;
use crate::error::{Error, Result};
use crate::net;
use crate::random::SplitMix64;

/// Bytes per write when making the test file, and per read when checking one.
const IO_BLOCK: usize = 1 << 20;

/// A directory of our own under the temporary directory, deleted with everything in it when
/// dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `$TMPDIR/LABEL-PID-N`. `create_dir` (not `create_dir_all`) fails if the name is
    /// taken, so we never adopt, and later delete, a directory that is not ours.
    pub fn new(label: &str) -> io::Result<Scratch> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)?;
        Ok(Scratch { path })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// What a file's bytes must be: how many, and their SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
}

/// Writes `size` pseudo-random bytes to `path` and returns their fingerprint, computed as they
/// are written (so checking it later reads nothing back twice). The same size gives the same
/// bytes.
pub fn write_test_file(path: &Path, size: u64) -> io::Result<Fingerprint> {
    let mut file = File::create(path)?;
    let mut hasher = Sha256::new();
    let mut bytes = SplitMix64::new(size);
    let mut block = vec![0u8; IO_BLOCK];
    let mut left = size;
    while left > 0 {
        let len = usize::try_from(left).map_or(IO_BLOCK, |left| left.min(IO_BLOCK));
        let chunk = block.get_mut(..len).unwrap_or_default();
        bytes.fill(chunk);
        file.write_all(chunk)?;
        hasher.update(&*chunk);
        left -= len as u64;
    }
    file.flush()?;
    Ok(Fingerprint {
        size,
        sha256: hasher.finalize().into(),
    })
}

/// Reads `path` and returns its fingerprint.
pub fn fingerprint(path: &Path) -> io::Result<Fingerprint> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; IO_BLOCK];
    let mut size = 0u64;
    loop {
        let got = match file.read(&mut block) {
            Ok(0) => break,
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(block.get(..got).unwrap_or_default());
        size += got as u64;
    }
    Ok(Fingerprint {
        size,
        sha256: hasher.finalize().into(),
    })
}

/// Whether what a transfer left at `path` is the expected file; the error says what differs.
/// The size is checked first: it is free, and "short by 1 MiB" says more than "digest differs".
pub fn check(path: &Path, expected: &Fingerprint) -> std::result::Result<(), String> {
    let shown = path.display();
    let size = fs::metadata(path)
        .map_err(|err| format!("{shown} is not there to check: {err}"))?
        .len();
    if size != expected.size {
        return Err(format!(
            "{shown} has {size} bytes; the source has {}",
            expected.size
        ));
    }
    let found = fingerprint(path).map_err(|err| format!("reading {shown} to check it: {err}"))?;
    verdict(&found, expected).map_err(|why| format!("{shown}: {why}"))
}

/// Compares two fingerprints (pure, for tests): `Ok` or what differs.
pub fn verdict(found: &Fingerprint, expected: &Fingerprint) -> std::result::Result<(), String> {
    if found.size != expected.size {
        Err(format!(
            "{} bytes arrived; the source has {}",
            found.size, expected.size
        ))
    } else if found.sha256 != expected.sha256 {
        Err(format!(
            "the SHA-256 differs from the source's (same size, damaged bytes): {} instead of {}",
            hex(&found.sha256),
            hex(&expected.sha256)
        ))
    } else {
        Ok(())
    }
}

/// Runs `then` and exits with 130 (128 + SIGINT, what a shell reports for a program stopped by
/// Ctrl-C) when Ctrl-C is pressed; once per process. A bench passes what must not outlive it:
/// deleting its scratch directory, stopping a server it started.
///
/// netlab's Ctrl-C handler ([`net::StopSignal`]) does not stop anything itself: it sets a flag
/// and connects to a listener, to wake a server blocked in `accept`. Here the listener belongs
/// to a watchdog thread, which wakes, sees the flag and cleans up. A connection from anyone else
/// finds the flag unset and is closed.
pub fn when_interrupted(then: impl FnOnce() + Send + 'static) -> Result<()> {
    let listener = net::listen(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener
        .local_addr()
        .map_err(|err| Error::io("reading the watchdog's address", err))?;
    let stop = net::StopSignal::default();
    stop.on_ctrl_c(addr)?;
    crate::accept::spawn_named("ctrl-c watchdog", move || {
        for incoming in listener.incoming() {
            drop(incoming);
            if stop.requested() {
                then();
                std::process::exit(130);
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The test file's fingerprint is the one read back; a flipped byte or a cut file is named
    /// as such; the scratch directory goes away when dropped.
    #[test]
    fn fingerprints_catch_damage() {
        let scratch = Scratch::new("netlab-common-unit-bench").unwrap();
        let path = scratch.path().join("test.bin");
        let written = write_test_file(&path, 3 * IO_BLOCK as u64 + 5).unwrap();
        assert_eq!(fingerprint(&path).unwrap(), written);
        assert_eq!(check(&path, &written), Ok(()));

        let mut bytes = fs::read(&path).unwrap();
        bytes[IO_BLOCK + 7] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let damaged = check(&path, &written).unwrap_err();
        assert!(damaged.contains("SHA-256 differs"), "{damaged}");

        bytes.truncate(IO_BLOCK);
        fs::write(&path, &bytes).unwrap();
        let short = check(&path, &written).unwrap_err();
        assert!(
            short.contains("has 1048576 bytes; the source has"),
            "{short}"
        );

        let dir = scratch.path().to_path_buf();
        drop(scratch);
        assert!(!dir.exists());
    }

    /// Blocks of the test file differ from each other, so a repeated block would be caught.
    #[test]
    fn test_file_blocks_differ() {
        let mut bytes = SplitMix64::new(1 << 20);
        let mut first = vec![0u8; 4096];
        let mut second = vec![0u8; 4096];
        bytes.fill(&mut first);
        bytes.fill(&mut second);
        assert_ne!(first, second);
        assert!(first.iter().any(|&byte| byte != 0));
    }
}
