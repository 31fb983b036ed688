//! # Listings: LIST, NLST, MLSD (on the data connection), STAT and MLST (on the control one)
//!
//! A directory listing is built completely before the `150` is sent, sorted by name, and capped
//! at [`MAX_LISTING_ENTRIES`] so a huge directory cannot make the server build an unbounded
//! reply. Three kinds of entries are left out:
//!
//! - symbolic links that lead outside the root, or nowhere: listing them would reveal the size
//!   and date of files the client may not read;
//! - names with a control character ([`is_control_character`]: C0 such as ESC, DEL, C1, the
//!   Unicode bidi controls). Clients cannot create them (`server::paths`), but another program
//!   can. Sent raw, `a\x1b[2Jb` would clear the screen of every client that lists the
//!   directory. They are **skipped, not escaped**: an escaped form (`a^[[2Jb`) is a name that
//!   does not exist, which an NLST- or MLSD-driven client (a mirror script) would then ask for
//!   and fail on, and the server refuses to serve such names anyway. The count of skipped names
//!   is logged so the administrator can rename them;
//! - our own unfinished uploads.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use netlab_common::term;

use super::commands::io_reply;
use super::paths::{UPLOAD_TEMP_PREFIX, VirtualPath};
use super::session::{ListFormat, Session, Step, Transfer, TransferKind, reply};
use crate::listing::{self, Entry};
use crate::reply::Reply;
use crate::reply::is_control_character;

/// Entries one listing may hold: a directory with millions of files must not make the server
/// build an unbounded reply. Past this the listing is cut short and the cut is logged.
pub const MAX_LISTING_ENTRIES: usize = 100_000;

impl Session {
    pub(super) fn list(&mut self, arg: &str, format: ListFormat) -> Step {
        self.restart_at = 0;
        // `LIST -la` and `LIST -a dir`: clients pass `ls` options; we ignore them.
        let path_arg = arg
            .split(' ')
            .filter(|word| !word.starts_with('-') && !word.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let (real, _) = match self.listing_target(&path_arg) {
            Ok(found) => found,
            Err(refusal) => return Step::Reply(refusal),
        };
        if matches!(format, ListFormat::Facts) && !real.is_dir() {
            return reply(
                501,
                format!("{path_arg}: MLSD lists directories; use MLST for a file."),
            );
        }
        Step::Transfer(Transfer {
            kind: TransferKind::List {
                path: real,
                format,
                writable: self.writable(),
            },
            shown: self.shown(if path_arg.is_empty() { "." } else { &path_arg }),
        })
    }

    /// What a listing command names: `arg`, or the current directory when it is empty.
    fn listing_target(&self, arg: &str) -> Result<(PathBuf, VirtualPath), Reply> {
        let path = self.resolve(if arg.is_empty() { "." } else { arg })?;
        let real = self
            .shared
            .root
            .follow(&path)
            .map_err(|err| self.path_reply(arg, &err))?;
        Ok((real, path))
    }

    /// `STAT path`: a LIST over the control connection (no data connection needed).
    pub(super) fn stat_path(&self, arg: &str) -> Step {
        match self.listing_target(arg) {
            Ok((real, _)) => {
                match listing_lines(self.shared.root.real(), &real, ListFormat::Long, false) {
                    Ok(lines) => Step::Reply(Reply::multi(
                        213,
                        "Status follows:",
                        lines,
                        "End of status.",
                    )),
                    Err(err) => Step::Reply(io_reply(arg, &err)),
                }
            }
            Err(refusal) => Step::Reply(refusal),
        }
    }

    /// `MLST path`: the facts of one entry on the control connection (RFC 3659, 7.2).
    pub(super) fn machine_list_one(&self, arg: &str) -> Step {
        let target = if arg.is_empty() { "." } else { arg };
        let (real, shown) = match self.listing_target(target) {
            Ok(found) => found,
            Err(refusal) => return Step::Reply(refusal),
        };
        match fs::metadata(&real) {
            Ok(metadata) => {
                let entry = Entry::from_metadata(&shown.to_string(), &metadata);
                let facts = listing::facts_line(&entry, self.writable());
                Step::Reply(Reply::multi(250, "Listing:", vec![facts], "End."))
            }
            Err(err) => Step::Reply(io_reply(arg, &err)),
        }
    }
}

/// The lines of a listing of `real` (a directory, or one file) in `format`, sorted by name.
/// `root` is the served directory: symbolic links leading outside it are left out.
pub fn listing_lines(
    root: &Path,
    real: &Path,
    format: ListFormat,
    writable: bool,
) -> io::Result<Vec<String>> {
    let now = SystemTime::now();
    let metadata = fs::metadata(real)?;
    let entries = if metadata.is_dir() {
        directory_entries(root, real)?
    } else {
        // The real name: for a link that stays inside, the name of the file it leads to.
        let name = real
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if has_control_character(&name) {
            term::warn(format!(
                "left {} out of a listing: its name has a control character",
                term::sanitize(&real.display().to_string())
            ));
            Vec::new()
        } else {
            vec![Entry::from_metadata(&name, &metadata)]
        }
    };
    Ok(entries
        .iter()
        .map(|entry| match format {
            ListFormat::Long => listing::long_line(entry, now),
            ListFormat::Names => entry.name.clone(),
            ListFormat::Facts => listing::facts_line(entry, writable),
        })
        .collect())
}

fn directory_entries(root: &Path, dir: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut unsafe_names = 0usize;
    for item in fs::read_dir(dir)? {
        let Ok(item) = item else { continue };
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with(UPLOAD_TEMP_PREFIX) {
            continue; // an upload in progress is not a file yet
        }
        if has_control_character(&name) {
            unsafe_names += 1; // never sent to a terminal (module docs)
            continue;
        }
        if entries.len() >= MAX_LISTING_ENTRIES {
            term::warn(format!(
                "listing of {} cut at {MAX_LISTING_ENTRIES} entries",
                dir.display()
            ));
            break;
        }
        // A link leading outside the root would leak the size and date of a file there.
        let is_link = item
            .file_type()
            .map(|kind| kind.is_symlink())
            .unwrap_or(true);
        if is_link && !leads_inside(root, &item.path()) {
            continue;
        }
        // Follow symbolic links for size and type, as `ls -lL` does; a broken link is skipped.
        if let Ok(metadata) = fs::metadata(item.path()) {
            entries.push(Entry::from_metadata(&name, &metadata));
        }
    }
    if unsafe_names > 0 {
        term::warn(format!(
            "left {unsafe_names} name(s) with control characters out of a listing of {}",
            term::sanitize(&dir.display().to_string())
        ));
    }
    entries.sort_by(|one, other| one.name.cmp(&other.name));
    Ok(entries)
}

/// Would this name act on a terminal (module docs)?
fn has_control_character(name: &str) -> bool {
    name.chars().any(is_control_character)
}

/// Does `path`, all links followed, stay inside `root`?
fn leads_inside(root: &Path, path: &Path) -> bool {
    path.canonicalize()
        .map(|real| real.starts_with(root))
        .unwrap_or(false)
}
