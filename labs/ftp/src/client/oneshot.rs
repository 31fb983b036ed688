//! # `ftp-lab get` and `ftp-lab put`: one transfer, for scripts
//!
//! ## Resuming a download (`--resume`)
//! If a download broke off, the bytes that arrived are still in the local file. `REST n`
//! (RFC 3659, section 5) asks the server to start the next `RETR` at byte `n`, so only the rest
//! travels. Two checks make this safe: before, `SIZE` must be larger than what we have (equal
//! means done; smaller means the file changed on the server, and appending would corrupt it);
//! after, the local file must have exactly `SIZE` bytes. Uploads are checked with `SIZE` too:
//! in stream mode a closed data connection is the only end-of-file marker, so asking the server
//! how many bytes it stored is how the client knows the upload is whole.
//!
//! ## A file that is already there
//! A local file of the same name is never replaced without being asked: it may be the start of
//! a download that broke off (then `--resume` fetches only the rest), or a file of your own
//! that happens to share the name. `get` refuses, names both flags, and exits with status 2
//! before it connects; `--force` downloads the whole file again over it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use netlab_common::progress::{human_bytes, human_rate, transfer_bar};
use netlab_common::{Error, Result, Tracer, term};

use super::url::FtpUrl;
use super::{ANONYMOUS_PASSWORD, FtpClient, TlsOptions};

/// What `ftp-lab get` was asked.
#[derive(Debug, Clone)]
pub struct GetConfig {
    /// `ftp://...` of the file.
    pub url: String,
    /// Where to write; the file's name in the current directory if `None`.
    pub output: Option<PathBuf>,
    /// Continue a partial download.
    pub resume: bool,
    /// Replace an existing local file.
    pub force: bool,
    /// Active rather than passive mode.
    pub active: bool,
    /// Bytes per read on the data connection (`--block-size`).
    pub block_size: usize,
    /// `--trace`.
    pub tracer: Tracer,
    /// `--tls` and how to trust the server's certificate.
    pub tls: TlsOptions,
}

/// What `ftp-lab put` was asked.
#[derive(Debug, Clone)]
pub struct PutConfig {
    /// The local file.
    pub file: PathBuf,
    /// `ftp://...` of the destination; ending in `/` means "same name, in that directory".
    pub url: String,
    /// Active rather than passive mode.
    pub active: bool,
    /// Bytes per read and write on the data connection (`--block-size`).
    pub block_size: usize,
    /// `--trace`.
    pub tracer: Tracer,
    /// `--tls` and how to trust the server's certificate.
    pub tls: TlsOptions,
}

/// Connects and logs in as the URL says (anonymous if it names no user), over TLS if the URL
/// is `ftps://` or `tls` asks. A URL without a port goes to 21, and says so first
/// ([`FtpUrl::port_note`]).
pub fn open(url: &FtpUrl, active: bool, tracer: Tracer, tls: &TlsOptions) -> Result<FtpClient> {
    if let Some(note) = url.port_note() {
        term::info(note);
    }
    let mut client = FtpClient::connect(&url.target, tracer)?;
    if tls.wanted || url.tls {
        client.secure(&tls.trust, &url.target)?;
    }
    let user = url.user.as_deref().unwrap_or("anonymous");
    let password = url.password.as_deref().unwrap_or(ANONYMOUS_PASSWORD);
    client.login(user, password)?;
    client.passive = !active;
    Ok(client)
}

/// Downloads one file.
pub fn get(config: &GetConfig) -> Result<()> {
    let url = FtpUrl::parse(&config.url)?;
    let output = match &config.output {
        Some(path) => path.clone(),
        None => PathBuf::from(local_name(&url.path)?),
    };
    if !config.resume && !config.force {
        refuse_existing(&output)?;
    }
    let mut client = open(&url, config.active, config.tracer, &config.tls)?;
    client.set_block_size(config.block_size);
    let remote_size = client.size(&url.path)?;
    let offset = if config.resume {
        match resume_offset(&output, remote_size)? {
            Some(offset) => offset,
            None => {
                term::success(format!("{} is already complete", output.display()));
                client.quit();
                return Ok(());
            }
        }
    } else {
        0
    };
    let mut file = LazyFile::new(output.clone(), offset > 0);
    let bar = transfer_bar(remote_size.unwrap_or(0), &url.path);
    bar.set_position(offset);
    // The bytes already on disk were not moved now: start the rate and ETA from here.
    bar.reset_eta();
    let started = Instant::now();
    let received = client.retrieve(&url.path, offset, &mut file, &mut |got| {
        bar.set_position(offset + got)
    })?;
    bar.finish_and_clear();
    client.quit();
    drop(file);
    check_size(&output, remote_size, "download")?;
    term::success(format!(
        "{} -> {}: {} in {:.2} s ({}){}",
        url.path,
        output.display(),
        human_bytes(received),
        started.elapsed().as_secs_f64(),
        human_rate(received, started.elapsed()),
        if offset > 0 {
            format!(", resumed at byte {offset}")
        } else {
            String::new()
        }
    ));
    Ok(())
}

/// A download without `--resume` or `--force` into a file that exists: the user's call, so a
/// usage error naming both flags.
fn refuse_existing(output: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(output) else {
        return Ok(()); // nothing there
    };
    Err(Error::Usage(format!(
        "{} already exists ({}); not replacing it. --resume continues it if it is the start of \
         the same file (a download that broke off); --force downloads the whole file over it",
        output.display(),
        human_bytes(meta.len())
    )))
}

/// The local file of a download, opened at the first byte (or at the end for an empty file), so
/// a download the server refuses leaves no empty file behind and a partial one untouched.
pub(super) struct LazyFile {
    path: PathBuf,
    append: bool,
    file: Option<File>,
}

impl LazyFile {
    /// A download into `path`; `append` continues a partial file.
    pub(super) fn new(path: PathBuf, append: bool) -> LazyFile {
        LazyFile {
            path,
            append,
            file: None,
        }
    }

    fn open(&mut self) -> std::io::Result<&mut File> {
        if self.file.is_none() {
            let opened = if self.append {
                OpenOptions::new().append(true).open(&self.path)
            } else {
                File::create(&self.path)
            };
            self.file = Some(opened.map_err(|err| {
                std::io::Error::new(
                    err.kind(),
                    format!("opening {}: {err}", self.path.display()),
                )
            })?);
        }
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the local file is not open"))
    }
}

impl Write for LazyFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.open()?.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.open()?.flush()
    }
}

/// Where a resumed download starts: `None` if the local file is already complete.
pub(super) fn resume_offset(output: &Path, remote_size: Option<u64>) -> Result<Option<u64>> {
    let have = std::fs::metadata(output)
        .map(|meta| meta.len())
        .unwrap_or(0);
    match remote_size {
        Some(size) if have == size => Ok(None),
        Some(size) if have > size => Err(Error::Failed(format!(
            "{} has {have} bytes but the server's file has only {size}: it changed; not resuming",
            output.display()
        ))),
        Some(_) => Ok(Some(have)),
        None => {
            term::warn("the server does not report SIZE; resuming without a size check");
            Ok(Some(have))
        }
    }
}

/// After a transfer, the local file (download) or the server's answer (upload) must match.
pub(super) fn check_size(path: &Path, expected: Option<u64>, what: &str) -> Result<()> {
    let Some(expected) = expected else {
        term::warn(format!(
            "cannot check the {what}: the server does not report SIZE"
        ));
        return Ok(());
    };
    let actual = std::fs::metadata(path)
        .map_err(|err| Error::io(format!("checking {}", path.display()), err))?
        .len();
    if actual == expected {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "{what} incomplete: {} has {actual} bytes, the server says {expected}",
            path.display()
        )))
    }
}

/// The file name part of a remote path, refused if it is empty or could climb directories.
fn local_name(remote: &str) -> Result<String> {
    let name = remote.rsplit('/').next().unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." || name.contains('\\') {
        return Err(Error::Usage(format!(
            "cannot name the local file after `{}`; use -o FILE",
            term::sanitize(remote)
        )));
    }
    Ok(name.to_string())
}

/// Uploads one file.
pub fn put(config: &PutConfig) -> Result<()> {
    let url = FtpUrl::parse(&config.url)?;
    let mut file = File::open(&config.file)
        .map_err(|err| Error::io(format!("opening {}", config.file.display()), err))?;
    let length = file
        .metadata()
        .map_err(|err| Error::io(format!("reading {}", config.file.display()), err))?
        .len();
    let remote = if url.path.is_empty() || url.path.ends_with('/') {
        let name = config
            .file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{}{name}", url.path)
    } else {
        url.path.clone()
    };
    let mut client = open(&url, config.active, config.tracer, &config.tls)?;
    client.set_block_size(config.block_size);
    let bar = transfer_bar(length, &remote);
    let started = Instant::now();
    let sent = client.store(&remote, &mut file, &mut |done| bar.set_position(done))?;
    bar.finish_and_clear();
    let stored = client.size(&remote)?;
    client.quit();
    match stored {
        Some(size) if size != length => {
            return Err(Error::Failed(format!(
                "upload incomplete: sent {length} bytes, the server stored {size}"
            )));
        }
        None => term::warn("cannot check the upload: the server does not report SIZE"),
        Some(_) => {}
    }
    term::success(format!(
        "{} -> {remote}: {} in {:.2} s ({})",
        config.file.display(),
        human_bytes(sent),
        started.elapsed().as_secs_f64(),
        human_rate(sent, started.elapsed())
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The local name is the last path segment; nothing that could climb out.
    #[test]
    fn local_names() {
        assert_eq!(local_name("docs/notes.txt").unwrap(), "notes.txt");
        for remote in ["", "docs/", "..", "a/..", "x\\..\\y"] {
            assert!(local_name(remote).is_err(), "{remote:?}");
        }
    }
}
