//! # The room's file repository (`--files DIR`)
//!
//! Clients may list, download and (unless `--read-only`) upload files in one directory. Every
//! name comes from the network, so every name is checked before it touches the file system:
//!
//! - it must be exactly one *normal* path component: no `/` or `\`, no `..`, no `.`, no drive
//!   prefix, and (our rule) no leading dot, so hidden files and our own temporary files are
//!   neither listed nor served;
//! - the file it names, once symbolic links are followed, must still be inside DIR (a link
//!   `DIR/passwd -> /etc/passwd` must not serve `/etc/passwd`);
//! - it must hold no control and no bidi formatting character ([`filename::is_unsafe_char`]):
//!   a name is repeated to every member (`INFO Ann uploaded NAME`, `list`), so
//!   `put bidi\u{202e}txt.exe` would show everyone a name that reads backwards. Such a name is
//!   refused with an `ERROR` line that shows it escaped, and a file already on disk with such a
//!   name is neither listed nor served.
//!
//! Uploads are written to a temporary name and get their final name only when every announced
//! byte has arrived, with the same no-overwrite claim as `duplex` ([`transfer::claim`]: a hard link that fails
//! if the name exists), so a half-sent upload never appears under its final name and an existing file
//! is never replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::files::{filename, transfer};

/// The repository and its rules.
#[derive(Debug)]
pub struct Repository {
    root: PathBuf,
    read_only: bool,
    max_upload: u64,
    next_temp: AtomicU64,
}

impl Repository {
    /// A repository over `root`, which must be an existing directory.
    pub fn open(root: &Path, read_only: bool, max_upload: u64) -> io::Result<Repository> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(Repository {
            root,
            read_only,
            max_upload,
            next_temp: AtomicU64::new(0),
        })
    }

    /// The largest upload accepted, in bytes.
    pub fn max_upload(&self) -> u64 {
        self.max_upload
    }

    /// Regular, non-hidden files and their sizes, sorted by name. A file whose name breaks
    /// [`check_component`] (put there by hand: an upload could not have that name) is left out,
    /// with a warning on the server, since it could neither be shown raw nor be served.
    pub fn list(&self) -> io::Result<Vec<(String, u64)>> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if filename::first_unsafe_char(&name).is_some() {
                netlab_common::term::warn(format!(
                    "not listing {}: a control or bidi formatting character in its name",
                    filename::escape(&name)
                ));
                continue;
            }
            if let Ok(path) = self.resolve(&name)
                && let Ok(metadata) = fs::metadata(&path)
                && metadata.is_file()
            {
                files.push((name, metadata.len()));
            }
        }
        files.sort();
        Ok(files)
    }

    /// Opens file `name` for `get`: the file and its size, or the error line to send.
    pub fn open_for_get(&self, name: &str) -> Result<(File, u64), String> {
        let path = self.resolve(name)?;
        let missing = || format!("ERROR no such file: {name} (try list)");
        let file = File::open(&path).map_err(|_| missing())?;
        let metadata = file.metadata().map_err(|_| missing())?;
        if !metadata.is_file() {
            return Err(missing());
        }
        Ok((file, metadata.len()))
    }

    /// Checks a `put NAME SIZE` before any byte is sent; returns a temporary file to receive
    /// into, or the error line to send.
    pub fn start_upload(&self, name: &str, size: u64) -> Result<Upload, String> {
        // The name first: every later message repeats it, and it must be safe to show.
        check_component(name)?;
        if self.read_only {
            return Err("ERROR this room is read-only (--read-only): uploads are disabled".into());
        }
        if size > self.max_upload {
            return Err(format!(
                "ERROR {name} is {size} bytes; uploads are limited to {} bytes (--max-upload)",
                self.max_upload
            ));
        }
        let target = self.root.join(name);
        if target.symlink_metadata().is_ok() {
            return Err(format!("ERROR {name} already exists; choose another name"));
        }
        let number = self.next_temp.fetch_add(1, Ordering::Relaxed);
        let temp = self
            .root
            .join(format!(".upload-{}-{number}.part", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|err| format!("ERROR the server cannot store files: {err}"))?;
        Ok(Upload {
            file: Some(file),
            temp,
            target,
        })
    }

    /// The path for `name` if it is a plain name inside the repository.
    fn resolve(&self, name: &str) -> Result<PathBuf, String> {
        check_component(name)?;
        let path = self.root.join(name);
        let missing = || format!("ERROR no such file: {name} (try list)");
        // Follow symbolic links, then make sure we are still inside the root.
        let real = path.canonicalize().map_err(|_| missing())?;
        if !real.starts_with(&self.root) {
            return Err(format!("ERROR {name} is outside the repository"));
        }
        Ok(real)
    }
}

/// `name` must be one normal path component without a leading dot or any separator, and hold
/// no character that [`filename::is_unsafe_char`] forbids. The error line shows the name escaped
/// ([`filename::escape`]), so it is safe to send and to log.
pub fn check_component(name: &str) -> Result<(), String> {
    if let Some(unsafe_char) = filename::first_unsafe_char(name) {
        return Err(format!(
            "ERROR {} holds U+{:04X}, a control or bidi formatting character; file names may not",
            filename::escape(name),
            u32::from(unsafe_char)
        ));
    }
    let mut components = Path::new(name).components();
    let single = matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    );
    if !single || name.starts_with('.') || name.contains(['/', '\\']) {
        return Err(format!(
            "ERROR {name} is not a plain file name (no directories, no leading dot)"
        ));
    }
    Ok(())
}

/// An upload in progress. Dropping it before [`Upload::complete`] deletes the temporary file.
#[derive(Debug)]
pub struct Upload {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
}

impl Upload {
    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.write_all(bytes),
            None => Err(io::Error::other("upload already finished")),
        }
    }

    /// Every byte is in: flush to disk and claim the final name (never replacing a file).
    pub fn complete(mut self) -> io::Result<PathBuf> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        transfer::claim(&self.temp, &self.target)?;
        Ok(self.target.clone())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        drop(self.file.take());
        let _ = fs::remove_file(&self.temp);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Only plain names pass.
    #[test]
    fn components() {
        assert!(check_component("a.txt").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "../a",
            "a/b",
            "/etc/passwd",
            "a\\b",
            ".hidden",
            "a\nb",
            "bidi\u{202e}txt.exe",
            "rlm\u{200f}.txt",
            "nul\0",
        ] {
            assert!(check_component(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_component("bidi\u{202e}txt.exe"),
            Err(
                "ERROR bidi\\u{202e}txt.exe holds U+202E, a control or bidi formatting character; \
                 file names may not"
                    .into()
            )
        );
        assert_eq!(
            check_component("\x1b[2J"),
            Err("ERROR ^[[2J holds U+001B, a control or bidi formatting character; file names may not".into())
        );
        assert!(check_component("café résumé.txt").is_ok());
    }

    /// Uploads appear only when complete, never replace, and are listed with sizes.
    #[test]
    fn upload_list_get() {
        let dir = netlab_testkit::TempDir::new("chat-unit-repo");
        let root = dir.path();
        let repo = Repository::open(root, false, 10).unwrap();
        assert!(
            repo.start_upload("big", 11)
                .unwrap_err()
                .contains("--max-upload")
        );
        let mut upload = repo.start_upload("a.txt", 3).unwrap();
        upload.write(b"abc").unwrap();
        assert!(
            repo.list().unwrap().is_empty(),
            "the temporary file is hidden"
        );
        upload.complete().unwrap();
        assert_eq!(repo.list().unwrap(), [("a.txt".to_string(), 3)]);
        assert!(
            repo.start_upload("a.txt", 3)
                .unwrap_err()
                .contains("already exists")
        );
        let dropped = repo.start_upload("b.txt", 3).unwrap();
        drop(dropped);
        assert_eq!(repo.list().unwrap().len(), 1);
        assert_eq!(fs::read_dir(root).unwrap().count(), 1);
        assert_eq!(repo.open_for_get("a.txt").unwrap().1, 3);
        assert!(repo.open_for_get("../a.txt").is_err());
        let read_only = Repository::open(root, true, 10).unwrap();
        assert!(
            read_only
                .start_upload("c", 1)
                .unwrap_err()
                .contains("read-only")
        );
    }
}
