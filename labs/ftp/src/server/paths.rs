//! # Paths from the network, kept inside the served directory
//!
//! A client names files with *virtual* paths: `/`, `/docs/notes.txt`, or `notes.txt` relative to
//! its current directory. The server maps them onto the real directory given with `--root`, and
//! nothing a client sends may reach a file outside it. The classic ways out, and what stops each:
//!
//! - `..` (`RETR ../../etc/passwd`): virtual paths are normalized first, and `..` at `/` stays at
//!   `/`, the way `cd ..` behaves at the root of a `chroot`. The path then names a file *inside*
//!   the root, which usually does not exist: 550.
//! - absolute paths (`RETR /etc/passwd`): `/` is the virtual root, so this is `ROOT/etc/passwd`.
//! - encoded forms (`%2e%2e%2f`, `..%5c`): FTP has no URL encoding; these are literal (odd)
//!   file names. The danger would be decoding them *after* checking, so we never decode. A
//!   backslash is a separator on Windows, so names containing one are refused everywhere.
//! - symbolic links (`ROOT/escape -> /etc`): the joined path is canonicalized (every link
//!   followed) and must still start with the canonical root; otherwise it is refused.
//!
//! Operations on the entry itself (delete, rename, create, upload) follow links in the *parent*
//! directory but act on the last component itself: `DELE link` removes the link, never its
//! target, and an upload is renamed over the link, not written into what it points to. That
//! alone is not enough: `APPE link` and `REST n` + `STOR link` first *read* the old file to keep
//! its bytes, and reading `link` follows it. With `ROOT/sec.txt -> /outside/secret.txt`, an
//! `APPE sec.txt` used to copy the secret into the root, where `RETR sec.txt` then served it
//! (issue 14). So the rule is the same for every command: **a path whose last component is a
//! link is used only if the link leads inside the root** ([`Root::entry`]), and the upload
//! reads the old file through its checked real path ([`Root::confine`]), never through the link.
//! A broken link (one that leads nowhere) is refused too; listings leave both kinds out.
//!
//! ## Names a client may create
//! Every name in a path must be one plain component: no NUL, no backslash, not our temporary
//! files' prefix, and no control character ([`crate::reply::is_control_character`]: C0, DEL,
//! C1, and the Unicode bidi controls). A name like `a\x1b[2Jb` would be sent raw to every client
//! that lists the directory, where the terminal obeys it (here: clear the screen), and
//! `x\u{202e}txt.exe` shows as `xexe.txt`. Such names are refused with `553` when a client tries
//! to create them (MKD, STOR, APPE, RNTO) and also when it names one that some other program
//! put on disk: the server neither creates nor serves them, and listings leave them out
//! (`server::listings`).

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::reply::is_control_character;

/// Uploads are written to hidden files with this prefix and renamed when complete
/// (see `server::transfer`). Clients can neither see nor name them.
pub const UPLOAD_TEMP_PREFIX: &str = ".ftp-lab-upload.";

/// Why a path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A name we never accept (a NUL byte, a backslash, a drive prefix, our temporary files).
    NotAllowed(String),
    /// Nothing is there.
    NotFound,
    /// It exists, but following symbolic links leads outside the served directory.
    Outside,
    /// A symbolic link that leads nowhere (its target does not exist).
    BrokenLink,
}

impl fmt::Display for PathError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NotAllowed(why) => write!(formatter, "file name not allowed: {why}"),
            PathError::NotFound => write!(formatter, "no such file or directory"),
            PathError::Outside => write!(
                formatter,
                "permission denied: that path leads outside the served directory"
            ),
            PathError::BrokenLink => write!(
                formatter,
                "a symbolic link that leads nowhere; the server does not use it"
            ),
        }
    }
}

/// A normalized path as the client sees it: `/` followed by names, no `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualPath {
    names: Vec<String>,
}

impl VirtualPath {
    /// `/`.
    pub fn root() -> VirtualPath {
        VirtualPath::default()
    }

    /// Is this `/`?
    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }

    /// The last name, `None` for `/`.
    pub fn file_name(&self) -> Option<&str> {
        self.names.last().map(String::as_str)
    }

    /// The directory containing this path (`/` for `/`).
    pub fn parent(&self) -> VirtualPath {
        let mut names = self.names.clone();
        names.pop();
        VirtualPath { names }
    }

    /// `arg` (absolute, or relative to `self`) as a normalized path. `..` never climbs above `/`.
    pub fn resolve(&self, arg: &str) -> Result<VirtualPath, PathError> {
        if arg.contains('\0') {
            return Err(PathError::NotAllowed("it contains a NUL byte".into()));
        }
        let mut names = if arg.starts_with('/') {
            Vec::new()
        } else {
            self.names.clone()
        };
        for piece in arg.split('/') {
            match piece {
                "" | "." => {}
                ".." => {
                    names.pop();
                }
                name => {
                    check_name(name)?;
                    names.push(name.to_string());
                }
            }
        }
        Ok(VirtualPath { names })
    }
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "/{}", self.names.join("/"))
    }
}

/// One name must be one ordinary path component on this system, without control characters
/// (module docs).
fn check_name(name: &str) -> Result<(), PathError> {
    if let Some(control) = name
        .chars()
        .find(|&character| is_control_character(character))
    {
        return Err(PathError::NotAllowed(format!(
            "it contains the control character U+{:04X}",
            u32::from(control)
        )));
    }
    if name.contains('\\') {
        return Err(PathError::NotAllowed(
            "backslashes are path separators on Windows".into(),
        ));
    }
    if name.starts_with(UPLOAD_TEMP_PREFIX) {
        return Err(PathError::NotAllowed(
            "that is the prefix of unfinished uploads".into(),
        ));
    }
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) => Ok(()),
        _ => Err(PathError::NotAllowed("not a plain name".into())),
    }
}

/// The served directory (`--root`), canonicalized once at start.
#[derive(Debug, Clone)]
pub struct Root {
    real: PathBuf,
}

impl Root {
    /// Opens `dir`, which must be an existing directory.
    pub fn open(dir: &Path) -> io::Result<Root> {
        let real = dir.canonicalize()?;
        if !real.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                real.display()
            )));
        }
        Ok(Root { real })
    }

    /// The canonical real directory.
    pub fn real(&self) -> &Path {
        &self.real
    }

    /// The real path of an existing file or directory, every symbolic link followed, checked to
    /// be inside the root. For reading: RETR, SIZE, MDTM, LIST, CWD.
    pub fn follow(&self, path: &VirtualPath) -> Result<PathBuf, PathError> {
        let mut joined = self.real.clone();
        joined.extend(&path.names);
        self.confine(&joined)
    }

    /// A real path (inside the root before links are followed) with every link followed,
    /// checked to be still inside the root: `NotFound` if nothing is there (a broken link
    /// included), `Outside` if it leads out.
    pub fn confine(&self, real: &Path) -> Result<PathBuf, PathError> {
        let canonical = real.canonicalize().map_err(|_| PathError::NotFound)?;
        if canonical.starts_with(&self.real) {
            Ok(canonical)
        } else {
            Err(PathError::Outside)
        }
    }

    /// The real path of the entry itself, which may or may not exist: its parent directory is
    /// followed and checked; the entry is not followed, but if it is a symbolic link it must
    /// lead inside the root (module docs). For STOR, APPE, DELE, MKD, RMD, RNFR and RNTO.
    pub fn entry(&self, path: &VirtualPath) -> Result<PathBuf, PathError> {
        let name = path
            .file_name()
            .ok_or_else(|| PathError::NotAllowed("that is the root directory".into()))?;
        let parent = self.follow(&path.parent())?;
        if !parent.is_dir() {
            return Err(PathError::NotFound);
        }
        let entry = parent.join(name);
        if entry.is_symlink() {
            match self.confine(&entry) {
                Ok(_) => {}
                Err(PathError::NotFound) => return Err(PathError::BrokenLink),
                Err(err) => return Err(err),
            }
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn resolve(cwd: &str, arg: &str) -> Result<String, PathError> {
        let cwd = VirtualPath::root().resolve(cwd).unwrap();
        cwd.resolve(arg).map(|path| path.to_string())
    }

    /// Relative and absolute paths, `.` and repeated slashes normalize as in a shell.
    #[test]
    fn normalization() {
        assert_eq!(resolve("/docs", "notes.txt").unwrap(), "/docs/notes.txt");
        assert_eq!(resolve("/docs", "/top.txt").unwrap(), "/top.txt");
        assert_eq!(resolve("/docs", "./a//b/").unwrap(), "/docs/a/b");
        assert_eq!(resolve("/docs/a", "..").unwrap(), "/docs");
    }

    /// `..` never climbs above the virtual root, however many there are.
    #[test]
    fn dot_dot_stops_at_root() {
        assert_eq!(resolve("/", "../../etc/passwd").unwrap(), "/etc/passwd");
        assert_eq!(resolve("/docs", "../../../..").unwrap(), "/");
    }

    /// Encoded forms are literal names; backslashes, NULs, temp names and control characters
    /// (C0, DEL, C1, bidi) are refused, in the last name and in any directory before it.
    #[test]
    fn odd_names() {
        assert_eq!(resolve("/", "%2e%2e%2fx").unwrap(), "/%2e%2e%2fx");
        assert_eq!(resolve("/", "café ü").unwrap(), "/café ü");
        for arg in [
            "..\\..\\x",
            "a\0b",
            ".ftp-lab-upload.1.x",
            "a\x1b[2Jb",
            "tab\there",
            "del\x7f",
            "c1\u{9b}31m",
            "x\u{202e}txt.exe",
            "iso\u{2066}late",
            "pop\u{2069}/ok",
            "dir\u{200f}/file",
        ] {
            assert!(
                matches!(resolve("/", arg), Err(PathError::NotAllowed(_))),
                "{arg:?}"
            );
        }
    }
}
