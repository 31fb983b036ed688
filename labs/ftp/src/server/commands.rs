//! # The commands that work on files and directories
//!
//! Most of them answer on the control connection alone (`CWD`, `MKD`, `SIZE`, `DELE`...); the
//! transfer commands (`RETR`, `STOR`, `APPE`, `LIST`, `NLST`, `MLSD`) are checked here (does the
//! file exist, may this user write) and handed to the connection code as a [`Transfer`], so a
//! doomed transfer is refused *before* a data connection is opened. So is a transfer in the
//! clear on a server that requires TLS (`server::protection`).
//!
//! Error replies follow RFC 959 §4.2.1's meanings: `550` file unavailable (missing, no permission),
//! `553` file name not allowed, `501` bad argument, `504` parameter not implemented, `451`/`452`
//! local or storage errors, which a client may retry later.

use std::fs;
use std::io;
use std::time::SystemTime;

use netlab_common::term;

use super::paths::VirtualPath;
use super::session::{Keep, ListFormat, Session, Step, Transfer, TransferKind, reply};
use crate::command::Command;
use crate::listing;
use crate::reply::Reply;

/// Every verb the server implements, for `HELP` and for telling `502` from `530`.
pub const IMPLEMENTED: &[&str] = &[
    "ABOR", "ACCT", "ALLO", "APPE", "AUTH", "CCC", "CDUP", "CWD", "DELE", "EPRT", "EPSV", "FEAT",
    "HELP", "LIST", "MDTM", "MKD", "MLSD", "MLST", "MODE", "NLST", "NOOP", "OPTS", "PASS", "PASV",
    "PBSZ", "PORT", "PROT", "PWD", "QUIT", "REIN", "REST", "RETR", "RMD", "RNFR", "RNTO", "SIZE",
    "STAT", "STOR", "STRU", "SYST", "TYPE", "USER", "XCUP", "XCWD", "XMKD", "XPWD", "XRMD",
];

/// Is `verb` one we implement?
pub fn is_implemented(verb: &str) -> bool {
    IMPLEMENTED.contains(&verb)
}

/// `FEAT` (RFC 2389 §3): the extensions this server supports, one per line (`AUTH TLS`,
/// `PBSZ` and `PROT` as RFC 4217 §6 lists them).
pub fn features() -> Reply {
    let features = [
        "AUTH TLS",
        "EPRT",
        "EPSV",
        "MDTM",
        "MLST type*;size*;modify*;perm*;",
        "PASV",
        "PBSZ",
        "PROT",
        "REST STREAM",
        "SIZE",
        "UTF8",
    ];
    Reply::multi(
        211,
        "Features:",
        features.iter().map(|line| line.to_string()).collect(),
        "End",
    )
}

/// `OPTS UTF8 ON` (RFC 2640 §3.1: names are UTF-8 anyway) and `OPTS MLST ...` (we always send all
/// facts).
pub fn options(arg: &str) -> Step {
    let upper = arg.trim().to_ascii_uppercase();
    if upper == "UTF8 ON" || upper == "UTF8" {
        reply(200, "UTF8 mode is always on.")
    } else if upper.starts_with("MLST") {
        reply(200, "MLST OPTS type;size;modify;perm;")
    } else {
        reply(
            501,
            "Unknown option; OPTS UTF8 ON and OPTS MLST are supported.",
        )
    }
}

/// `HELP`: the implemented commands.
pub fn help() -> Reply {
    let lines = IMPLEMENTED.chunks(11).map(|row| row.join(" ")).collect();
    Reply::multi(
        214,
        "The following commands are recognized:",
        lines,
        "Help OK.",
    )
}

impl Session {
    /// Commands that need a login and work on the file system.
    pub(super) fn file_command(&mut self, command: &Command) -> Step {
        if let Some(refusal) = self.transfer_needs_tls(&command.verb) {
            return refusal;
        }
        let arg = command.arg.as_str();
        match command.verb.as_str() {
            "PWD" | "XPWD" => reply(
                257,
                format!("{} is the current directory.", quote(&self.cwd)),
            ),
            "CWD" | "XCWD" => self.change_dir(arg),
            "CDUP" | "XCUP" => {
                self.cwd = self.cwd.parent();
                reply(200, format!("Directory changed to {}.", self.cwd))
            }
            "TYPE" => transfer_type(arg),
            "MODE" => one_choice(arg, "S", "stream"),
            "STRU" => one_choice(arg, "F", "file"),
            "ALLO" => reply(202, "No storage allocation necessary."),
            "REST" => self.restart(arg),
            "REIN" => {
                self.reinitialize();
                reply(220, "Logged out; log in again with USER and PASS.")
            }
            "STAT" if arg.is_empty() => Step::Reply(self.status()),
            "STAT" => self.stat_path(arg),
            "SIZE" => self.size(arg),
            "MDTM" => self.modification_time(arg),
            "MLST" => self.machine_list_one(arg),
            "RETR" => self.retrieve(arg),
            "STOR" | "APPE" => self.store(arg, command.verb == "APPE"),
            "LIST" => self.list(arg, ListFormat::Long),
            "NLST" => self.list(arg, ListFormat::Names),
            "MLSD" => self.list(arg, ListFormat::Facts),
            "MKD" | "XMKD" => self.make_dir(arg),
            "RMD" | "XRMD" => self.remove_dir(arg),
            "DELE" => self.delete(arg),
            "RNFR" => self.rename_from(arg),
            verb => reply(502, format!("Command not implemented: {verb}.")),
        }
    }

    fn change_dir(&mut self, arg: &str) -> Step {
        if arg.is_empty() {
            return reply(501, "CWD needs a directory.");
        }
        let path = match self.resolve(arg) {
            Ok(path) => path,
            Err(refusal) => return Step::Reply(refusal),
        };
        match self.shared.root.follow(&path) {
            Ok(real) if real.is_dir() => {
                self.cwd = path;
                reply(250, format!("Directory changed to {}.", self.cwd))
            }
            Ok(_) => reply(550, format!("{arg}: not a directory.")),
            Err(err) => Step::Reply(self.path_reply(arg, &err)),
        }
    }

    fn restart(&mut self, arg: &str) -> Step {
        match arg.trim().parse::<u64>() {
            Ok(offset) => {
                self.restart_at = offset;
                reply(
                    350,
                    format!("Restarting at {offset}. Send RETR or STOR next."),
                )
            }
            Err(_) => reply(501, "REST needs a byte offset (a whole number)."),
        }
    }

    /// `STAT` without argument: the session's state, as a multi-line `211`.
    fn status(&self) -> Reply {
        let lines = vec![
            format!("Connected from {}", self.peer),
            format!("Logged in as {}", self.user().unwrap_or("nobody")),
            format!("Current directory {}", self.cwd),
            "TYPE: binary (ASCII is accepted and sent unchanged); STRUcture: File; MODE: Stream"
                .to_string(),
            format!("Restart offset {}", self.restart_at),
        ];
        Reply::multi(211, "netlab ftp-lab status:", lines, "End of status.")
    }

    /// A regular file named by `arg`: its real path and metadata, or the reply why not.
    fn existing_file(&self, arg: &str) -> Result<(std::path::PathBuf, fs::Metadata), Reply> {
        if arg.is_empty() {
            return Err(Reply::new(501, "A file name is needed."));
        }
        let path = self.resolve(arg)?;
        let real = self
            .shared
            .root
            .follow(&path)
            .map_err(|err| self.path_reply(arg, &err))?;
        let metadata = fs::metadata(&real).map_err(|err| io_reply(arg, &err))?;
        if metadata.is_file() {
            Ok((real, metadata))
        } else {
            Err(Reply::new(550, format!("{arg}: not a regular file.")))
        }
    }

    fn size(&self, arg: &str) -> Step {
        match self.existing_file(arg) {
            Ok((_, metadata)) => reply(213, metadata.len().to_string()),
            Err(refusal) => Step::Reply(refusal),
        }
    }

    fn modification_time(&self, arg: &str) -> Step {
        match self.existing_file(arg) {
            Ok((_, metadata)) => {
                let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                reply(213, listing::timestamp(modified))
            }
            Err(refusal) => Step::Reply(refusal),
        }
    }

    fn retrieve(&mut self, arg: &str) -> Step {
        let offset = std::mem::take(&mut self.restart_at);
        let (real, metadata) = match self.existing_file(arg) {
            Ok(found) => found,
            Err(refusal) => return Step::Reply(refusal),
        };
        if offset > metadata.len() {
            return reply(
                554,
                format!(
                    "REST offset {offset} is past the end of the file ({} bytes).",
                    metadata.len()
                ),
            );
        }
        Step::Transfer(Transfer {
            kind: TransferKind::Send {
                path: real,
                offset,
                size: metadata.len(),
            },
            shown: self.shown(arg),
        })
    }

    fn store(&mut self, arg: &str, append: bool) -> Step {
        let offset = std::mem::take(&mut self.restart_at);
        if let Err(refusal) = self.check_writable() {
            return refusal;
        }
        let target = match self.writable_entry(arg) {
            Ok(target) => target,
            Err(refusal) => return Step::Reply(refusal),
        };
        if target.is_dir() {
            return reply(553, format!("{arg}: is a directory."));
        }
        let keep = match (append, offset) {
            (true, _) => Keep::All,
            (false, 0) => Keep::Nothing,
            (false, offset) => Keep::First(offset),
        };
        Step::Transfer(Transfer {
            kind: TransferKind::Receive { target, keep },
            shown: self.shown(arg),
        })
    }

    fn make_dir(&self, arg: &str) -> Step {
        let target = match self
            .check_writable()
            .and_then(|()| self.writable_entry_or_reply(arg))
        {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        match fs::create_dir(&target) {
            Ok(()) => {
                let shown = self
                    .resolve(arg)
                    .map(|path| quote(&path))
                    .unwrap_or_default();
                term::info(format!("{}: MKD {}", self.peer, term::sanitize(&shown)));
                reply(257, format!("{shown} created."))
            }
            Err(err) => Step::Reply(io_reply(arg, &err)),
        }
    }

    fn remove_dir(&self, arg: &str) -> Step {
        let target = match self
            .check_writable()
            .and_then(|()| self.writable_entry_or_reply(arg))
        {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        match fs::remove_dir(&target) {
            Ok(()) => reply(250, format!("Directory {arg} removed.")),
            Err(err) if target.is_dir() && err.kind() != io::ErrorKind::NotFound => reply(
                550,
                format!("{arg}: directory not empty (or not removable)."),
            ),
            Err(err) => Step::Reply(io_reply(arg, &err)),
        }
    }

    fn delete(&self, arg: &str) -> Step {
        let target = match self
            .check_writable()
            .and_then(|()| self.writable_entry_or_reply(arg))
        {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        if target.is_dir() && !target.is_symlink() {
            return reply(550, format!("{arg}: is a directory; use RMD."));
        }
        match fs::remove_file(&target) {
            Ok(()) => {
                term::info(format!("{}: DELE {}", self.peer, self.shown(arg)));
                reply(250, format!("{arg} deleted."))
            }
            Err(err) => Step::Reply(io_reply(arg, &err)),
        }
    }

    fn rename_from(&mut self, arg: &str) -> Step {
        let target = match self
            .check_writable()
            .and_then(|()| self.writable_entry_or_reply(arg))
        {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        if target.symlink_metadata().is_err() {
            return reply(550, format!("{arg}: no such file or directory."));
        }
        match self.resolve(arg) {
            Ok(path) => {
                self.rename_from = Some(path);
                reply(350, "Ready for RNTO.")
            }
            Err(refusal) => Step::Reply(refusal),
        }
    }

    /// `RNTO`, given what the previous command (`RNFR`) left; see `Session::handle`.
    pub(super) fn rename_to(&self, arg: &str, from: Option<VirtualPath>) -> Step {
        let Some(from) = from else {
            return reply(503, "Send RNFR first.");
        };
        let to = match self
            .check_writable()
            .and_then(|()| self.writable_entry_or_reply(arg))
        {
            Ok(target) => target,
            Err(refusal) => return refusal,
        };
        let from_real = match self.shared.root.entry(&from) {
            Ok(real) => real,
            Err(err) => return Step::Reply(self.path_reply(&from.to_string(), &err)),
        };
        match fs::rename(&from_real, &to) {
            Ok(()) => {
                term::info(format!(
                    "{}: RNFR {from} RNTO {}",
                    self.peer,
                    self.shown(arg)
                ));
                reply(250, "Rename successful.")
            }
            Err(err) => Step::Reply(io_reply(arg, &err)),
        }
    }

    fn check_writable(&self) -> Result<(), Step> {
        if self.writable() {
            Ok(())
        } else {
            Err(reply(
                550,
                "Permission denied: anonymous login is read-only.",
            ))
        }
    }

    /// The real path of the entry `arg` names (its own name not followed), for changing it.
    fn writable_entry(&self, arg: &str) -> Result<std::path::PathBuf, Reply> {
        if arg.is_empty() {
            return Err(Reply::new(501, "A file name is needed."));
        }
        let path = self.resolve(arg)?;
        self.shared
            .root
            .entry(&path)
            .map_err(|err| self.path_reply(arg, &err))
    }

    fn writable_entry_or_reply(&self, arg: &str) -> Result<std::path::PathBuf, Step> {
        self.writable_entry(arg).map_err(Step::Reply)
    }

    /// `arg` as a normalized virtual path for logs and replies.
    pub(super) fn shown(&self, arg: &str) -> String {
        self.resolve(arg)
            .map(|path| path.to_string())
            .unwrap_or_else(|_| term::sanitize(arg))
    }
}

/// `TYPE A` (ASCII) and `TYPE I` (image, i.e. binary). RFC 959 (section 3.1.1.1) makes ASCII the
/// default and has it travel as NVT-ASCII with CRLF line ends, which means converting line
/// endings. Like vsftpd's default, we deviate: ASCII is accepted but files are sent unchanged,
/// so a binary file fetched in ASCII mode by mistake is not corrupted (docs/ftp.md, exercise 4).
fn transfer_type(arg: &str) -> Step {
    match arg.trim().to_ascii_uppercase().as_str() {
        "A" | "A N" => reply(200, "Type set to A (files are still sent byte for byte)."),
        "I" | "L 8" => reply(200, "Type set to I (binary)."),
        "" => reply(501, "TYPE needs A or I."),
        _ => reply(504, "Only TYPE A and TYPE I are supported."),
    }
}

/// MODE and STRU: only stream mode and file structure exist in practice.
fn one_choice(arg: &str, only: &str, name: &str) -> Step {
    let arg = arg.trim();
    if arg.eq_ignore_ascii_case(only) {
        reply(200, format!("{name} it is."))
    } else if arg.len() == 1 {
        reply(504, format!("Only {only} ({name}) is supported."))
    } else {
        reply(501, format!("Expected one letter, e.g. {only}."))
    }
}

/// A path in double quotes with inner quotes doubled, as `257` replies need (RFC 959, App. II).
fn quote(path: &VirtualPath) -> String {
    format!("\"{}\"", path.to_string().replace('"', "\"\""))
}

/// Maps a file-system error to a reply: storage full is `452`, missing or forbidden is `550`,
/// anything else a `451` ("local error", worth retrying).
pub fn io_reply(shown: &str, err: &io::Error) -> Reply {
    match err.kind() {
        io::ErrorKind::NotFound => Reply::new(550, format!("{shown}: no such file or directory.")),
        io::ErrorKind::PermissionDenied => Reply::new(550, format!("{shown}: permission denied.")),
        io::ErrorKind::AlreadyExists => Reply::new(550, format!("{shown}: already exists.")),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            Reply::new(452, format!("{shown}: insufficient storage space ({err})."))
        }
        _ => Reply::new(451, format!("{shown}: local error ({err}).")),
    }
}
