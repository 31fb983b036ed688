//! # The shell's transfers: `get`, `reget`, `put`, and Ctrl-C while bytes move
//!
//! ## Never half a file under its final name
//! `get notes.txt` writes into `notes.txt.part` and renames it to `notes.txt` only when the
//! server has said `226` (the whole file came). A download that fails or is cancelled leaves
//! the old `notes.txt` as it was (or none), and the bytes that did arrive in `notes.txt.part`.
//! `reget notes.txt` continues from there: `REST n` (RFC 3659, section 5) asks the server to
//! start at byte `n`, checked against `SIZE` before and after, as `ftp-lab get --resume` does.
//! An empty `.part` is removed. Uploads cannot be resumed by ftp-lab (that would need
//! `REST` + `STOR` or `APPE`); a cancelled `put` must be started again.
//!
//! ## Ctrl-C during a transfer
//! In the full-screen mode Ctrl-C is a key, which the console delivers as [`Input::Interrupt`]
//! on the same channel as typed lines. But while a transfer runs, the shell's thread is busy
//! moving bytes and reads no input. So the transfer runs in a second thread ([`Keyboard::watched`],
//! a scoped thread: it may borrow the client and the local file), and the shell's thread
//! watches the keyboard meanwhile: Ctrl-C sets the client's [`Cancel`], which the transfer loop
//! looks at between blocks (`crate::client`, Cancelling a transfer: `ABOR`, then the server's
//! two replies). Ctrl-D, or a second Ctrl-C, cancels too and then quits. Lines typed during a
//! transfer are kept and run after it, in order. In the plain mode nothing is watched (Ctrl-C is
//! the terminal's signal there), and the transfer runs on the shell's own thread as before.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use netlab_common::console::Input;
use netlab_common::progress::{human_bytes, human_rate, transfer_bar};
use netlab_common::{Error, Result, term};

use super::Keyboard;
use crate::client::oneshot::{LazyFile, check_size, resume_offset};
use crate::client::{Cancel, FtpClient};

/// How often the watching thread looks whether the transfer has finished: the most a finished
/// transfer waits before the shell goes on.
const WATCH_TICK: Duration = Duration::from_millis(20);

/// The file a download is written into until it is complete: `NAME.part`.
pub fn partial_path(local: &Path) -> PathBuf {
    let mut name = local.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

impl Keyboard {
    /// Runs `transfer` on a second thread while this one watches the keyboard (module docs);
    /// returns its result and whether a cancel was asked for. In the plain mode it simply runs.
    pub fn watched<T: Send>(
        &mut self,
        cancel: &Cancel,
        transfer: impl FnOnce() -> T + Send,
    ) -> (T, bool) {
        if !self.console.is_full_screen() {
            return (transfer(), false);
        }
        // A request left from an earlier transfer must not stop this one.
        cancel.clear();
        let mut cancelled = false;
        let joined = std::thread::scope(|scope| {
            let worker = scope.spawn(transfer);
            while !worker.is_finished() {
                match self.console.inputs().recv_timeout(WATCH_TICK) {
                    Ok(Input::Interrupt) => {
                        cancel.request();
                        cancelled = true;
                    }
                    Ok(Input::Line(line)) => self.typed_ahead.push_back(Input::Line(line)),
                    Err(RecvTimeoutError::Timeout) => {}
                    // Ctrl-D, a second Ctrl-C, or the console gone: stop, then quit.
                    Ok(Input::Ended) | Err(RecvTimeoutError::Disconnected) => {
                        cancel.request();
                        cancelled = true;
                        self.typed_ahead.push_back(Input::Ended);
                        break;
                    }
                }
            }
            worker.join()
        });
        // A Ctrl-C that came as the transfer finished must not stop the next one either.
        cancel.clear();
        match joined {
            Ok(value) => (value, cancelled),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// `get` (`resume` false) and `reget` (true): downloads `remote` into `local` (by default its
/// last path segment) through `local.part`.
pub fn get(
    client: &mut FtpClient,
    keyboard: &mut Keyboard,
    remote: &str,
    local: Option<String>,
    resume: bool,
) -> Result<()> {
    let named = local.is_some();
    let local = match local {
        Some(local) => local,
        None => remote
            .rsplit('/')
            .next()
            .filter(|name| !name.is_empty() && *name != ".." && *name != ".")
            .ok_or_else(|| Error::Usage("name the local file: get REMOTE LOCAL".into()))?
            .to_string(),
    };
    let partial = partial_path(Path::new(&local));
    let size = client.size(remote)?;
    if resume && !partial.exists() && size.is_some_and(|size| local_size(&local) == Some(size)) {
        term::success(format!("{} is already complete", term::sanitize(&local)));
        return Ok(());
    }
    let offset = if resume {
        match resume_offset(&partial, size)? {
            Some(offset) => offset,
            None => {
                let done = format!("{} is already complete", term::sanitize(&local));
                return complete(&partial, &local, &done);
            }
        }
    } else {
        0
    };
    let mut file = LazyFile::new(partial.clone(), offset > 0);
    let bar = transfer_bar(size.unwrap_or(0), remote);
    bar.set_position(offset);
    // The bytes already on disk were not moved now: start the rate and ETA from here.
    bar.reset_eta();
    let started = Instant::now();
    let cancel = client.cancel_handle();
    let (result, cancelled) = keyboard.watched(&cancel, || {
        client.retrieve(remote, offset, &mut file, &mut |got| {
            bar.set_position(offset + got)
        })
    });
    drop(file);
    let received = match result {
        Ok(received) => received,
        Err(err) => {
            let moved = bar.position();
            drop(bar);
            let kept = kept_bytes(&partial);
            let again = reget_command(remote, &local, named);
            if cancelled && matches!(err, Error::Failed(_)) {
                term::warn(cancelled_get(remote, moved, size, kept, &partial, &again));
                return Ok(());
            }
            if kept > 0 {
                term::warn(format!(
                    "{} received are kept in {}: `{again}` resumes from there (REST)",
                    human_bytes(kept),
                    partial.display()
                ));
            }
            return Err(err);
        }
    };
    bar.finish_and_clear();
    if resume {
        check_size(&partial, size, "download")?;
    }
    let resumed = if offset > 0 {
        format!(", resumed at byte {offset}")
    } else {
        String::new()
    };
    complete(
        &partial,
        &local,
        &summary(remote, &local, received, started, &resumed),
    )
}

/// The size of the local file `path`, if there is one.
fn local_size(path: &str) -> Option<u64> {
    std::fs::metadata(path).ok().map(|meta| meta.len())
}

/// Renames the finished `partial` to `local` and says so in one line.
fn complete(partial: &Path, local: &str, summary: &str) -> Result<()> {
    std::fs::rename(partial, local)
        .map_err(|err| Error::io(format!("renaming {} to {local}", partial.display()), err))?;
    term::success(summary);
    Ok(())
}

/// Bytes in the `.part` file; an empty one (nothing came) is removed.
fn kept_bytes(partial: &Path) -> u64 {
    let kept = std::fs::metadata(partial).map_or(0, |meta| meta.len());
    if kept == 0 {
        let _ = std::fs::remove_file(partial);
    }
    kept
}

/// The `reget` line that continues this download.
fn reget_command(remote: &str, local: &str, named: bool) -> String {
    let mut line = format!("reget {}", quoted(remote));
    if named {
        line.push(' ');
        line.push_str(&quoted(local));
    }
    line
}

/// `name`, in double quotes if the shell would otherwise split it.
fn quoted(name: &str) -> String {
    if name.contains(char::is_whitespace) || name.contains('\'') {
        format!("\"{}\"", term::sanitize(name))
    } else {
        term::sanitize(name)
    }
}

/// The one line a cancelled download ends with (short enough for one row of a terminal).
fn cancelled_get(
    remote: &str,
    moved: u64,
    size: Option<u64>,
    kept: u64,
    partial: &Path,
    again: &str,
) -> String {
    let of = size.map_or(String::new(), |size| format!(" of {}", human_bytes(size)));
    let what = format!(
        "get {} cancelled at {}{of} (ABOR sent)",
        term::sanitize(remote),
        human_bytes(moved)
    );
    if kept == 0 {
        format!("{what}; nothing was written")
    } else {
        format!(
            "{what}; `{again}` resumes from {} (REST)",
            partial.display()
        )
    }
}

/// `put`: uploads `local` as `remote` (by default its file name).
pub fn put(
    client: &mut FtpClient,
    keyboard: &mut Keyboard,
    local: &str,
    remote: Option<String>,
) -> Result<()> {
    let remote = match remote {
        Some(remote) => remote,
        None => Path::new(local)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Usage("name the remote file: put LOCAL REMOTE".into()))?,
    };
    let mut file = File::open(local).map_err(|err| Error::io(format!("opening {local}"), err))?;
    let length = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let bar = transfer_bar(length, &remote);
    let started = Instant::now();
    let cancel = client.cancel_handle();
    let (result, cancelled) = keyboard.watched(&cancel, || {
        client.store(&remote, &mut file, &mut |done| bar.set_position(done))
    });
    let sent = match result {
        Ok(sent) => sent,
        Err(Error::Failed(_)) if cancelled => {
            term::warn(format!(
                "put {} cancelled at {} of {} (ABOR sent); ftp-lab cannot resume an upload: put \
                 it again",
                term::sanitize(local),
                human_bytes(bar.position()),
                human_bytes(length)
            ));
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    bar.finish_and_clear();
    term::success(summary(local, &remote, sent, started, ""));
    Ok(())
}

/// `from -> to: 200 MiB in 1.52 s (131.6 MiB/s)`: the one line a finished transfer leaves.
fn summary(from: &str, to: &str, bytes: u64, started: Instant, extra: &str) -> String {
    format!(
        "{} -> {}: {} in {:.2} s ({}){extra}",
        term::sanitize(from),
        term::sanitize(to),
        human_bytes(bytes),
        started.elapsed().as_secs_f64(),
        human_rate(bytes, started.elapsed())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.part` name sits next to the final one; the `reget` hint quotes what needs it.
    #[test]
    fn partial_names_and_hints() {
        assert_eq!(
            partial_path(Path::new("dir/big.bin")),
            PathBuf::from("dir/big.bin.part")
        );
        assert_eq!(reget_command("big.bin", "big.bin", false), "reget big.bin");
        assert_eq!(
            reget_command("my file", "copy.bin", true),
            "reget \"my file\" copy.bin"
        );
    }

    /// A cancelled download's line says how far it got, what was kept and how to go on.
    #[test]
    fn cancelled_line() {
        let line = cancelled_get(
            "big.bin",
            3 << 20,
            Some(200 << 20),
            3 << 20,
            Path::new("big.bin.part"),
            "reget big.bin",
        );
        assert_eq!(
            line,
            "get big.bin cancelled at 3 MiB of 200 MiB (ABOR sent); `reget big.bin` resumes \
             from big.bin.part (REST)"
        );
        let nothing = cancelled_get("a", 0, None, 0, Path::new("a.part"), "reget a");
        assert_eq!(
            nothing,
            "get a cancelled at 0 B (ABOR sent); nothing was written"
        );
    }
}
