//! # The bench's files: a scratch directory, a test file, and checking a copy of it
//!
//! The test file is pseudo-random, so that a chunk delivered twice or in the wrong place
//! changes the SHA-256 (with zeros it would not: a checksum only sees what differs). Everything
//! lives in one directory under the system's temporary directory (`$TMPDIR`, else `/tmp`),
//! deleted when [`Scratch`] is dropped. (`ftp-lab bench` has the same helpers; each lab is a
//! crate of its own.)

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest as _, Sha256};

use crate::duplex::transfer::hex;
use crate::duplex::wire::Digest;

/// Bytes per write when making the test file, and per read when checking a copy.
const IO_BLOCK: usize = 1 << 20;

/// A directory of our own under the temporary directory, deleted with its contents when
/// dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `$TMPDIR/LABEL-PID-N`; fails rather than adopt a directory that is already there.
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

/// What a copy must be: its size and SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: Digest,
}

/// Writes `size` pseudo-random bytes to `path`; returns their fingerprint.
pub fn write_test_file(path: &Path, size: u64) -> io::Result<Fingerprint> {
    let mut file = File::create(path)?;
    let mut hasher = Sha256::new();
    // xorshift64* (Vigna): fast, and the same bytes for the same size.
    let mut state = size | 1;
    let mut block = vec![0u8; IO_BLOCK];
    let mut left = size;
    while left > 0 {
        let len = usize::try_from(left).map_or(IO_BLOCK, |left| left.min(IO_BLOCK));
        let chunk = block.get_mut(..len).unwrap_or_default();
        for word in chunk.chunks_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bytes = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            word.copy_from_slice(bytes.get(..word.len()).unwrap_or_default());
        }
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

/// Whether the file at `path` is the expected one; the error says what differs (the size
/// first: it costs nothing and says more than a digest).
pub fn check(path: &Path, expected: &Fingerprint) -> Result<(), String> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|err| format!("{shown} is not there: {err}"))?;
    let size = file
        .metadata()
        .map_err(|err| format!("{shown}: {err}"))?
        .len();
    if size != expected.size {
        return Err(format!(
            "{shown} has {size} bytes; the source has {}",
            expected.size
        ));
    }
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; IO_BLOCK];
    loop {
        match file.read(&mut block) {
            Ok(0) => break,
            Ok(got) => hasher.update(block.get(..got).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(format!("reading {shown}: {err}")),
        }
    }
    let found: Digest = hasher.finalize().into();
    if found == expected.sha256 {
        Ok(())
    } else {
        Err(format!(
            "{shown}: SHA-256 {} differs from the source's {} (same size, damaged bytes)",
            hex(&found),
            hex(&expected.sha256)
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A copy passes; a flipped byte and a short copy are caught and named; the scratch
    /// directory is gone once dropped.
    #[test]
    fn copies_are_checked() {
        let scratch = Scratch::new("tcp-chat-unit-bench-files").unwrap();
        let path = scratch.path().join("test.bin");
        let expected = write_test_file(&path, IO_BLOCK as u64 + 3).unwrap();
        assert_eq!(check(&path, &expected), Ok(()));
        let mut bytes = fs::read(&path).unwrap();
        assert_ne!(bytes[..8], bytes[8..16], "not a repeating pattern");
        bytes[IO_BLOCK] ^= 0x80;
        fs::write(&path, &bytes).unwrap();
        assert!(check(&path, &expected).unwrap_err().contains("damaged"));
        fs::write(&path, &bytes[..10]).unwrap();
        assert!(
            check(&path, &expected)
                .unwrap_err()
                .contains("has 10 bytes")
        );
        let dir = scratch.path().to_path_buf();
        drop(scratch);
        assert!(!dir.exists());
    }
}
