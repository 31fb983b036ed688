//! # `tcp-chat room join`: a client that can also move files
//!
//! Anything typed is sent as a line, and every line from the server is printed (sanitized: the
//! server relays other people's text, and we do not trust it either). Two commands are handled
//! here rather than just sent, because they switch the connection to raw bytes for a while (see
//! [`super::protocol`]):
//!
//! - `get NAME`: the server answers `FILE SIZE NAME`, exactly SIZE raw bytes, and `DONE SHA256`;
//!   the bytes go to a hidden temporary file in `--download-dir`, which becomes `new_NAME` only if
//!   all of them arrived and the SHA-256 matches (the same code as `duplex` uses:
//!   [`crate::files::transfer`]);
//! - `put PATH`: the client sends `put NAME SIZE`, waits for `READY` (or an `ERROR`, and then
//!   sends nothing), then streams exactly SIZE bytes, with a progress bar.
//!
//! A keyboard thread writes to the socket; the main thread reads from it. When the server closes
//! the connection (after `exit`, or when the room is full), the client ends.

use std::io::{self, BufRead, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};

use indicatif::MultiProgress;
use netlab_common::accept::spawn_named;
use netlab_common::{Error, Result, Traced, Tracer, net, progress, term};

use super::lines::LineReader;
use super::protocol::MAX_LINE;
use crate::files::send;
use crate::files::transfer::{Incoming, TransferError};
use netlab_common::digest::{hex, parse_hex};

/// What `tcp-chat room join` needs.
#[derive(Debug, Clone)]
pub struct JoinConfig {
    /// `HOST:PORT` of the room.
    pub target: String,
    /// `--trace`.
    pub tracer: Tracer,
    /// Where `get` saves files.
    pub download_dir: PathBuf,
}

/// Room for `MSG NAME ` and similar in front of a maximum-length line.
const HEADROOM: usize = 64;

/// Joins the room and runs until the server closes the connection.
pub fn run(config: &JoinConfig) -> Result<()> {
    let download_dir = config.download_dir.canonicalize().map_err(|err| {
        Error::io(
            format!(
                "using {} as the download directory",
                config.download_dir.display()
            ),
            err,
        )
    })?;
    let stream = net::connect(&config.target, net::CONNECT_TIMEOUT, true)?;
    let peer = stream
        .peer_addr()
        .map_err(|err| Error::io("reading the server's address", err))?;
    term::info(format!(
        "connected to {peer}; type to talk. /nick NAME, /msg NAME text, status, list, get NAME, \
         put PATH, exit"
    ));
    let writer = stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    let awaiting_put = Arc::new(AtomicBool::new(false));
    let (answers, put_answers) = mpsc::channel();
    {
        let awaiting_put = Arc::clone(&awaiting_put);
        let tracer = config.tracer;
        spawn_named("keyboard", move || {
            keyboard(&writer, tracer, &awaiting_put, &put_answers);
        })?;
    }
    let reader = Traced::new(&stream, peer, config.tracer);
    read_server(
        LineReader::new(reader, MAX_LINE + HEADROOM),
        &download_dir,
        &awaiting_put,
        &answers,
    )
}

/// Prints what the server sends, and saves files it sends after `get`.
fn read_server<R: io::Read>(
    mut reader: LineReader<R>,
    download_dir: &Path,
    awaiting_put: &AtomicBool,
    answers: &Sender<bool>,
) -> Result<()> {
    let mut last_error = None;
    let mut transfers = 0u32;
    while let Some(line) = reader.read_line()? {
        let text = term::sanitize_bytes(&line);
        if let Some(rest) = text.strip_prefix("FILE ") {
            transfers += 1;
            receive_file(&mut reader, rest, download_dir, transfers)?;
            continue;
        }
        anstream::println!("{} {text}", term::theirs("<"));
        if awaiting_put.load(Ordering::SeqCst) && (text == "READY" || text.starts_with("ERROR ")) {
            awaiting_put.store(false, Ordering::SeqCst);
            let _ = answers.send(text == "READY");
        }
        last_error = text.starts_with("ERROR ").then_some(text);
    }
    term::info("the server closed the connection");
    match last_error {
        Some(error) => Err(Error::Protocol(format!("the server said: {error}"))),
        None => Ok(()),
    }
}

/// Reads `SIZE NAME`'s raw bytes and the `DONE` line; saves the file if it is intact.
fn receive_file<R: io::Read>(
    reader: &mut LineReader<R>,
    header: &str,
    download_dir: &Path,
    id: u32,
) -> Result<()> {
    let bad = || Error::Protocol(format!("bad FILE line: {header}"));
    let (size, name) = header.split_once(' ').ok_or_else(bad)?;
    let size: u64 = size.parse().map_err(|_| bad())?;
    let mut incoming = Incoming::begin(download_dir, id, size, name, &MultiProgress::new())
        .map_err(|err| Error::io("creating the downloaded file", err))?;
    let mut left = size;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let got = reader
            .read_raw(chunk)
            .map_err(|err| Error::io("receiving the file", err))?;
        if got == 0 {
            return Err(Error::PeerClosedMidFrame {
                buffered: usize::try_from(size - left).unwrap_or(usize::MAX),
            });
        }
        incoming
            .write(chunk.get(..got).unwrap_or_default())
            .map_err(|err| match err {
                // Our disk failed: a local error, not the server's doing.
                TransferError::Disk(err) => Error::io("saving the downloaded file", err),
                too_much => Error::Protocol(too_much.to_string()),
            })?;
        left -= got as u64;
    }
    let done = reader.read_line()?.unwrap_or_default();
    let digest = String::from_utf8_lossy(&done)
        .strip_prefix("DONE ")
        .and_then(parse_hex)
        .ok_or_else(|| Error::Protocol("the file was not followed by DONE SHA256".into()))?;
    let base = term::sanitize(incoming.base());
    let verdict = incoming.finish(&digest);
    if verdict.ok {
        term::success(format!(
            "saved {base} as {} ({}, SHA-256 {})",
            term::sanitize(&verdict.note),
            progress::human_bytes(verdict.received),
            hex(&verdict.digest)
        ));
    } else {
        term::error(format!("{base}: {}", verdict.note));
    }
    Ok(())
}

/// Sends typed lines; handles `put PATH`. Half-closes when input ends.
fn keyboard(
    stream: &TcpStream,
    tracer: Tracer,
    awaiting_put: &AtomicBool,
    answers: &Receiver<bool>,
) {
    let Ok(peer) = stream.peer_addr() else { return };
    let mut wire = Traced::new(stream, peer, tracer);
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.len() > MAX_LINE {
            term::error(format!(
                "line is {} bytes; the limit is {MAX_LINE}; not sent",
                line.len()
            ));
            continue;
        }
        let sent = match line.trim().strip_prefix("put ") {
            Some(path) => put(&mut wire, Path::new(path.trim()), awaiting_put, answers),
            None => wire.write_all(format!("{line}\n").as_bytes()),
        };
        if sent.is_err() {
            return;
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
}

/// `put PATH`: announce, wait for READY, stream the bytes.
fn put(
    wire: &mut impl Write,
    path: &Path,
    awaiting_put: &AtomicBool,
    answers: &Receiver<bool>,
) -> io::Result<()> {
    let outgoing = match send::open(path) {
        Ok(outgoing) => outgoing,
        Err(reason) => {
            term::error(reason);
            return Ok(());
        }
    };
    awaiting_put.store(true, Ordering::SeqCst);
    wire.write_all(format!("put {} {}\n", outgoing.name, outgoing.size).as_bytes())?;
    if answers.recv() != Ok(true) {
        return Ok(()); // refused: the ERROR line is already printed; nothing sent
    }
    let bar = progress::transfer_bar(outgoing.size, &format!("uploading {}", outgoing.name));
    // (Nothing else prints while an upload runs, so the plain shared bar is enough here.)
    let mut file = outgoing.into_file();
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    loop {
        let got = io::Read::read(&mut file, &mut buf)?;
        if got == 0 {
            break;
        }
        wire.write_all(buf.get(..got).unwrap_or_default())?;
        sent += got as u64;
        bar.set_position(sent);
    }
    bar.finish_and_clear();
    Ok(())
}
