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
//! Operations on the entry itself (delete, rename, create) follow links in the *parent*
//! directory but not in the last component: `DELE link` removes the link, never its target.

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

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

/// One name must be one ordinary path component on this system.
fn check_name(name: &str) -> Result<(), PathError> {
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
        let canonical = joined.canonicalize().map_err(|_| PathError::NotFound)?;
        if canonical.starts_with(&self.real) {
            Ok(canonical)
        } else {
            Err(PathError::Outside)
        }
    }

    /// The real path of the entry itself, which may or may not exist: its parent directory is
    /// followed and checked, its own name is not. For DELE, RMD, RNFR, RNTO, STOR and MKD.
    pub fn entry(&self, path: &VirtualPath) -> Result<PathBuf, PathError> {
        let name = path
            .file_name()
            .ok_or_else(|| PathError::NotAllowed("that is the root directory".into()))?;
        let parent = self.follow(&path.parent())?;
        if !parent.is_dir() {
            return Err(PathError::NotFound);
        }
        Ok(parent.join(name))
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

    /// Encoded forms are literal names; backslashes, NULs and temp names are refused.
    #[test]
    fn odd_names() {
        assert_eq!(resolve("/", "%2e%2e%2fx").unwrap(), "/%2e%2e%2fx");
        for arg in ["..\\..\\x", "a\0b", ".ftp-lab-upload.1.x"] {
            assert!(
                matches!(resolve("/", arg), Err(PathError::NotAllowed(_))),
                "{arg:?}"
            );
        }
    }
}
