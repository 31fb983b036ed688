//! # Opening a file to send, and reading it out
//!
//! Before anything is sent the file is opened and its size read, so a missing, unreadable or
//! non-regular file is refused with a clear message and nothing goes on the wire: `duplex`'s
//! `/send PATH` and the room client's `put PATH` both start here. Each mode then streams the
//! bytes in its own way (framed chunks, or raw bytes after `READY`).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use crate::files::filename::MAX_NAME;

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

/// Fills `buf` as far as the file allows; returns fewer bytes only at the end of the file.
pub fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
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
