//! # The file commands of the room: `list`, `get NAME`, `put NAME SIZE`
//!
//! Checking names is [`super::repository`]'s job; this module moves the bytes. A download is queued
//! for the client's writer thread as one item, so the `FILE` line, the raw bytes and the `DONE`
//! line leave together and no chat line can land in the middle of the file. An upload is read
//! by the client's own thread, which is the only reader of that socket.

use std::io::{self, Write};

use netlab_common::{progress, term};
use sha2::{Digest as _, Sha256};

use super::lines::LineReader;
use super::registry::{ClientId, Out};
use super::server::Shared;
use netlab_common::digest::{Digest, hex};

/// `list`: the disk is read without holding the registry lock (other clients go on meanwhile);
/// the reply lines are then queued under one lock, so no other line can land between them.
pub(super) fn list(shared: &Shared, id: ClientId) {
    let lines = match shared.files() {
        None => vec![no_files()],
        Some(files) => match files.list() {
            Ok(list) => {
                let mut lines = vec![format!("FILES {}", list.len())];
                lines
                    .extend(list.into_iter().map(|(file, size)| {
                        format!("{:>10}  {file}", progress::human_bytes(size))
                    }));
                lines.push("END".into());
                lines
            }
            Err(err) => vec![format!("ERROR cannot list the files: {err}")],
        },
    };
    let registry = shared.registry();
    for line in lines {
        registry.send(id, Out::Line(line));
    }
}

/// `get NAME`: open the file here; the client's writer thread streams it.
pub(super) fn get(shared: &Shared, id: ClientId, file: &str) {
    let out = match shared.files() {
        None => Out::Line(no_files()),
        Some(files) => match files.open_for_get(file) {
            Ok((handle, size)) => {
                let who = shared.registry().get(id).map(|member| member.name.clone());
                term::info(format!(
                    "{} downloads {file} ({})",
                    who.unwrap_or_default(),
                    progress::human_bytes(size)
                ));
                Out::File {
                    name: file.to_string(),
                    file: handle,
                    size,
                }
            }
            Err(error) => Out::Line(error),
        },
    };
    shared.registry().send(id, out);
}

pub(super) fn no_files() -> String {
    "ERROR this room has no file repository (the server was started without --files DIR)".into()
}

/// `put NAME SIZE`: refuse before any byte is sent, or say `READY` and read exactly SIZE bytes.
/// An `Err` means the connection is lost (it ended mid-upload).
pub(super) fn receive_upload<R: io::Read>(
    shared: &Shared,
    id: ClientId,
    reader: &mut LineReader<R>,
    name: &str,
    size: u64,
) -> std::result::Result<(), String> {
    let send = |text: String| {
        shared.registry().send(id, Out::Line(text));
    };
    let Some(files) = shared.files() else {
        send(no_files());
        return Ok(());
    };
    let mut upload = match files.start_upload(name, size) {
        Ok(upload) => upload,
        Err(error) => {
            term::warn(format!(
                "upload refused: {}",
                error.trim_start_matches("ERROR ")
            ));
            send(error);
            return Ok(());
        }
    };
    send("READY".into());
    let mut hasher = Sha256::new();
    let mut left = size;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let got = match reader.read_raw(chunk) {
            Ok(0) => return Err(format!("closed the connection during the upload of {name}")),
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(format!("upload of {name} failed: {err}")),
        };
        let bytes = chunk.get(..got).unwrap_or_default();
        hasher.update(bytes);
        if let Err(err) = upload.write(bytes) {
            // The bytes keep coming; the connection cannot be resynchronized, so end it.
            send(format!("ERROR the server cannot store {name}: {err}"));
            return Err(format!("upload of {name} failed: {err}"));
        }
        left -= got as u64;
    }
    match upload.complete() {
        Ok(_) => {
            let digest: Digest = hasher.finalize().into();
            send(format!("SAVED {name} {size} {}", hex(&digest)));
            let registry = shared.registry();
            let who = registry
                .get(id)
                .map(|member| member.name.clone())
                .unwrap_or_default();
            registry.broadcast(
                Some(id),
                &format!(
                    "INFO {who} uploaded {name} ({})",
                    progress::human_bytes(size)
                ),
            );
            term::info(format!(
                "{who} uploaded {name} ({})",
                progress::human_bytes(size)
            ));
        }
        Err(err) => send(format!("ERROR {name} was not saved: {err}")),
    }
    Ok(())
}

/// `FILE SIZE NAME`, exactly SIZE raw bytes, then `DONE SHA256`.
pub(super) fn send_file(
    wire: &mut impl Write,
    name: &str,
    mut file: std::fs::File,
    size: u64,
) -> io::Result<()> {
    wire.write_all(format!("FILE {size} {name}\n").as_bytes())?;
    let mut hasher = Sha256::new();
    let mut left = size;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let got = io::Read::read(&mut file, chunk)?;
        if got == 0 {
            // The file shrank after we announced its size: the stream cannot be repaired.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being sent",
            ));
        }
        let bytes = chunk.get(..got).unwrap_or_default();
        hasher.update(bytes);
        wire.write_all(bytes)?;
        left -= got as u64;
    }
    let digest: Digest = hasher.finalize().into();
    wire.write_all(format!("DONE {}\n", hex(&digest)).as_bytes())
}
