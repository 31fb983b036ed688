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
//!
//! On a terminal the client uses the shared console (`netlab_common::console`): the line you
//! type stays at the bottom and the room's lines appear above it; two status rows show the room,
//! your name (from `WELCOME`, then `OK you are now NAME`), how many are in the room (known once
//! you type `status`, then kept up to date from the `INFO ... joined` and `left` lines) and the
//! transfers; a transfer's bar is a row of its own. A slash command the room does not know
//! (`/sned`) is refused here instead of being sent as chat, and `/help` lists the commands. In a
//! pipe, or with `--plain`, it prints line by line.
//!
//! Ctrl-C cannot stop a `get` or `put` half-way: the protocol has no way to say so (the SIZE
//! bytes were announced, and the other side reads exactly that many before it reads a line
//! again). The client says so; a second Ctrl-C, or Ctrl-D, leaves the room, which does stop the
//! transfer, and neither side keeps a partial file.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use netlab_common::accept::spawn_named;
use netlab_common::console::{self, Console, Input, Options};
use netlab_common::{Error, Result, Traced, Tracer, net, progress, term};

use super::lines::LineReader;
use super::protocol::MAX_LINE;
use crate::files::send;
use crate::files::transfer::{Incoming, TransferError};
use crate::slash;
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
    /// `--plain`: line by line even on a terminal.
    pub plain: bool,
}

/// Room for `MSG NAME ` and similar in front of a maximum-length line.
const HEADROOM: usize = 64;

/// The slash commands the room knows (docs/protocols/chat-room.md), and ours: `/help`, and
/// `/q`, which sends `exit` like in the other tcp-chat clients.
const SLASH_WORDS: &[&str] = &["/nick", "/msg", "/q", slash::HELP];

/// What Tab completes at the start of a line (and, after `put`, local paths).
const COMPLETIONS: &[&str] = &[
    "/nick", "/msg", "status", "list", "get", "put", "exit", "/q", "/help",
];

/// What `/help` shows.
pub const HELP_TEXT: &str = "commands: /nick NAME renames you; /msg NAME text talks to one \
     person; status lists who is here; list, get NAME and put PATH move files; exit or /q \
     leaves; /help shows this; any other line goes to everyone";

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
    let mut console = Console::start(
        Options::new("> ")
            .commands(COMPLETIONS)
            .path_commands(&["put"])
            .plain(config.plain),
    )?;
    term::info(format!(
        "connected to {peer}; type to talk. /nick NAME, /msg NAME text, status, list, get NAME, \
         put PATH, exit"
    ));
    let room = Arc::new(Room::new(peer, console.is_full_screen()));
    room.show();
    let writer = stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    let awaiting_put = Arc::new(AtomicBool::new(false));
    let (answers, put_answers) = mpsc::channel();
    {
        let awaiting_put = Arc::clone(&awaiting_put);
        let tracer = config.tracer;
        let inputs = console.take_inputs();
        let room = Arc::clone(&room);
        spawn_named("keyboard", move || {
            keyboard(&writer, tracer, &inputs, &room, &awaiting_put, &put_answers);
        })?;
    }
    let reader = Traced::new(&stream, peer, config.tracer);
    let result = read_server(
        LineReader::new(reader, MAX_LINE + HEADROOM),
        &download_dir,
        &room,
        &awaiting_put,
        &answers,
    );
    match result {
        // Leaving during a download cut the connection on purpose.
        Err(_) if room.leaving.load(Ordering::SeqCst) => {
            term::info("you left the room during a download; nothing of it was saved");
            Ok(())
        }
        result => result,
    }
}

/// What the status rows show, shared by the thread that reads the server and the one that
/// sends what is typed.
struct Room {
    server: SocketAddr,
    full_screen: bool,
    state: Mutex<RoomState>,
    /// The person asked to leave (Ctrl-D, or Ctrl-C twice) while a file was coming in: the
    /// connection is cut, and the error that follows is the expected end.
    leaving: AtomicBool,
}

#[derive(Default)]
struct RoomState {
    /// Our name in the room, once `WELCOME` said it.
    name: Option<String>,
    /// People in the room, once a `STATUS` answer said how many.
    members: Option<usize>,
    /// What is moving: `get slides.pdf` or `put photo.jpg`.
    transfer: Option<String>,
    files_in: u32,
    files_out: u32,
}

impl Room {
    fn new(server: SocketAddr, full_screen: bool) -> Self {
        Self {
            server,
            full_screen,
            state: Mutex::new(RoomState::default()),
            leaving: AtomicBool::new(false),
        }
    }

    fn state(&self) -> MutexGuard<'_, RoomState> {
        // Counters and names cannot be left half-changed: a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state with `change`, then shows it.
    fn update(&self, change: impl FnOnce(&mut RoomState)) {
        change(&mut self.state());
        self.show();
    }

    /// The transfer running now, if any.
    fn transfer(&self) -> Option<String> {
        self.state().transfer.clone()
    }

    /// Sets the status rows (nothing in the plain mode).
    fn show(&self) {
        if self.full_screen {
            console::set_status(status_rows(self.server, &self.state()));
        }
    }
}

/// `room 127.0.0.1:7072 · you are Client01 · 3 in the room`, then the files row.
fn status_rows(server: SocketAddr, state: &RoomState) -> Vec<String> {
    let name = state.name.as_deref().unwrap_or("(no name yet)");
    let members = match state.members {
        Some(1) => "1 in the room".to_string(),
        Some(count) => format!("{count} in the room"),
        None => "type status to see who is here".to_string(),
    };
    let mut files = format!(
        "files: {} downloaded, {} uploaded",
        state.files_in, state.files_out
    );
    if let Some(transfer) = &state.transfer {
        files.push_str(&format!(
            " · {transfer} (cannot be stopped half-way; Ctrl-C twice leaves)"
        ));
    }
    vec![
        format!("room {server} · you are {name} · {members} · /help lists the commands"),
        files,
    ]
}

/// What a line from the server changes in the status rows.
fn note_server_line(state: &mut RoomState, line: &str) {
    if let Some(name) = line.strip_prefix("WELCOME ") {
        state.name = Some(name.to_string());
    } else if let Some(name) = line.strip_prefix("OK you are now ") {
        state.name = Some(name.to_string());
    } else if let Some(count) = line
        .strip_prefix("STATUS ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
    {
        state.members = Some(count);
    } else if let Some(rest) = line.strip_prefix("INFO ") {
        let words: Vec<&str> = rest.split_whitespace().collect();
        match (words.get(1), &mut state.members) {
            (Some(&"joined"), Some(count)) if words.len() == 2 => *count += 1,
            (Some(&"left"), Some(count)) => *count = count.saturating_sub(1),
            _ => {}
        }
    } else if line.starts_with("SAVED ") {
        state.files_out += 1;
    }
}

/// Prints what the server sends, and saves files it sends after `get`.
fn read_server<R: io::Read>(
    mut reader: LineReader<R>,
    download_dir: &Path,
    room: &Room,
    awaiting_put: &AtomicBool,
    answers: &Sender<bool>,
) -> Result<()> {
    let mut last_error = None;
    let mut transfers = 0u32;
    while let Some(line) = reader.read_line()? {
        let text = term::sanitize_bytes(&line);
        if let Some(rest) = text.strip_prefix("FILE ") {
            transfers += 1;
            receive_file(&mut reader, rest, download_dir, transfers, room)?;
            continue;
        }
        term::line(format!("{} {text}", term::theirs("<")));
        room.update(|state| note_server_line(state, &text));
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
    room: &Room,
) -> Result<()> {
    let bad = || Error::Protocol(format!("bad FILE line: {header}"));
    let (size, name) = header.split_once(' ').ok_or_else(bad)?;
    let size: u64 = size.parse().map_err(|_| bad())?;
    let mut incoming = Incoming::begin(
        download_dir,
        id,
        size,
        name,
        &netlab_common::progress::terminal_bars(),
    )
    .map_err(|err| Error::io("creating the downloaded file", err))?;
    room.update(|state| state.transfer = Some(format!("get {}", term::sanitize(incoming.base()))));
    let received = receive_bytes(reader, &mut incoming, size);
    room.update(|state| state.transfer = None);
    received?;
    let done = reader.read_line()?.unwrap_or_default();
    let digest = String::from_utf8_lossy(&done)
        .strip_prefix("DONE ")
        .and_then(parse_hex)
        .ok_or_else(|| Error::Protocol("the file was not followed by DONE SHA256".into()))?;
    let base = term::sanitize(incoming.base());
    let verdict = incoming.finish(&digest);
    if verdict.ok {
        room.update(|state| state.files_in += 1);
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

/// Reads exactly `size` raw bytes into `incoming`.
fn receive_bytes<R: io::Read>(
    reader: &mut LineReader<R>,
    incoming: &mut Incoming,
    size: u64,
) -> Result<()> {
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
    Ok(())
}

/// What a typed line is for the client.
#[derive(Debug, PartialEq, Eq)]
enum Typed<'a> {
    /// Send this line to the room as it is.
    Send(&'a str),
    /// `put PATH`: upload a local file.
    Put(&'a str),
    /// `/q`: leave, as `exit` does.
    Leave,
    /// `/help`.
    Help,
    /// Refused here, with the reason; nothing is sent.
    Refuse(String),
}

/// Reads one typed line. Pure, so the rules are easy to test.
fn parse_typed(line: &str) -> Typed<'_> {
    if line.len() > MAX_LINE {
        return Typed::Refuse(format!(
            "line is {} bytes; the limit is {MAX_LINE}; not sent",
            line.len()
        ));
    }
    if let Some(path) = line.trim().strip_prefix("put ") {
        return Typed::Put(path.trim());
    }
    match line.trim() {
        "/q" => return Typed::Leave,
        slash::HELP => return Typed::Help,
        _ => {}
    }
    if let Some(word) = slash::unknown(line, SLASH_WORDS) {
        return Typed::Refuse(slash::refusal(word));
    }
    Typed::Send(line)
}

/// Sends typed lines; handles `put PATH`. Half-closes when input ends.
fn keyboard(
    stream: &TcpStream,
    tracer: Tracer,
    inputs: &Receiver<Input>,
    room: &Room,
    awaiting_put: &AtomicBool,
    answers: &Receiver<bool>,
) {
    let Ok(peer) = stream.peer_addr() else { return };
    let mut wire = Traced::new(stream, peer, tracer);
    // Lines typed during an upload wait here: the connection carries the file's bytes then.
    let mut typed_during_upload = VecDeque::new();
    loop {
        let input = match typed_during_upload.pop_front() {
            Some(line) => Input::Line(line),
            None => match inputs.recv() {
                Ok(input) => input,
                Err(_) => break,
            },
        };
        let line = match input {
            Input::Line(line) => line,
            Input::Interrupt => {
                if let Some(transfer) = room.transfer() {
                    term::warn(cannot_stop(&transfer));
                }
                continue;
            }
            Input::Ended => break,
        };
        let sent = match parse_typed(&line) {
            Typed::Send(line) => wire
                .write_all(format!("{line}\n").as_bytes())
                .map(|()| true),
            Typed::Leave => wire.write_all(b"exit\n").map(|()| true),
            Typed::Help => {
                term::info(HELP_TEXT);
                Ok(true)
            }
            Typed::Refuse(reason) => {
                term::warn(reason);
                Ok(true)
            }
            Typed::Put(path) => {
                let upload = Upload {
                    inputs,
                    room,
                    typed: &mut typed_during_upload,
                };
                // `~/notes.txt` as a shell would read it: no shell sees this line.
                let local = netlab_common::console::local_path(path);
                put(&mut wire, &local, awaiting_put, answers, upload)
            }
        };
        match sent {
            Ok(true) => {}
            Ok(false) => break, // left during an upload
            Err(_) => return,   // the connection failed: the reader reports it
        }
    }
    // Leaving while a file comes in: the server would send all of it first, so cut the
    // connection both ways; the reader's error is then the expected end.
    if room.transfer().is_some() {
        room.leaving.store(true, Ordering::SeqCst);
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
}

/// What Ctrl-C during a transfer is told.
fn cannot_stop(transfer: &str) -> String {
    format!(
        "{transfer} cannot be stopped half-way: the room protocol has no way to say so (the \
         other side reads exactly the SIZE bytes announced). Ctrl-C again, or Ctrl-D, leaves \
         the room, which stops it; no partial file is kept"
    )
}

/// What an upload watches besides the file: the keyboard (Ctrl-C, lines typed meanwhile) and
/// the status rows.
struct Upload<'a> {
    inputs: &'a Receiver<Input>,
    room: &'a Room,
    typed: &'a mut VecDeque<String>,
}

impl Upload<'_> {
    /// Takes what was typed since the last chunk; false when the person asked to leave.
    fn keep_going(&mut self, transfer: &str) -> bool {
        loop {
            match self.inputs.try_recv() {
                Ok(Input::Line(line)) => {
                    term::info(format!(
                        "the connection carries {transfer} now: that line goes out when it ends"
                    ));
                    self.typed.push_back(line);
                }
                Ok(Input::Interrupt) => term::warn(cannot_stop(transfer)),
                Ok(Input::Ended) | Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }
}

/// `put PATH`: announce, wait for READY, stream the bytes. False when the person left in the
/// middle (Ctrl-D, or Ctrl-C twice).
fn put(
    wire: &mut impl Write,
    path: &Path,
    awaiting_put: &AtomicBool,
    answers: &Receiver<bool>,
    mut upload: Upload<'_>,
) -> io::Result<bool> {
    let outgoing = match send::open(path) {
        Ok(outgoing) => outgoing,
        Err(reason) => {
            term::error(reason);
            return Ok(true);
        }
    };
    awaiting_put.store(true, Ordering::SeqCst);
    wire.write_all(format!("put {} {}\n", outgoing.name, outgoing.size).as_bytes())?;
    if answers.recv() != Ok(true) {
        return Ok(true); // refused: the ERROR line is already printed; nothing sent
    }
    let name = outgoing.name.clone();
    let transfer = format!("put {name}");
    let bar = progress::transfer_bar(outgoing.size, &format!("uploading {}", outgoing.name));
    // (Nothing else prints while an upload runs in the plain mode, so the plain shared bar is
    // enough there; on the full screen the console draws it.)
    upload
        .room
        .update(|state| state.transfer = Some(transfer.clone()));
    let streamed = stream_file(wire, outgoing.into_file(), &bar, &mut upload, &transfer);
    bar.finish_and_clear();
    upload.room.update(|state| state.transfer = None);
    if let Ok(false) = streamed {
        // The connection is closed next: the server sees it end before SIZE bytes and
        // deletes what it received.
        term::info(format!(
            "you left during the upload of {name}; the server keeps nothing of it"
        ));
    }
    streamed
}

/// Streams `file` to `wire`; false if the person asked to leave before the end.
fn stream_file(
    wire: &mut impl Write,
    mut file: std::fs::File,
    bar: &indicatif::ProgressBar,
    upload: &mut Upload<'_>,
    transfer: &str,
) -> io::Result<bool> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    loop {
        if !upload.keep_going(transfer) {
            return Ok(false);
        }
        let got = io::Read::read(&mut file, &mut buf)?;
        if got == 0 {
            return Ok(true);
        }
        wire.write_all(buf.get(..got).unwrap_or_default())?;
        sent += got as u64;
        bar.set_position(sent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Typed lines: `put PATH` uploads, `/q` leaves, `/help` and unknown slash commands stay
    /// here, the room's own commands and chat go out as typed.
    #[test]
    fn typed_lines() {
        assert_eq!(parse_typed("put a b.txt"), Typed::Put("a b.txt"));
        assert_eq!(parse_typed("/q"), Typed::Leave);
        assert_eq!(parse_typed(" /help "), Typed::Help);
        assert_eq!(
            parse_typed("/sned x"),
            Typed::Refuse("unknown command /sned; nothing sent. /help lists the commands".into())
        );
        assert_eq!(parse_typed("/nick ann"), Typed::Send("/nick ann"));
        assert_eq!(parse_typed("/msg bob hi"), Typed::Send("/msg bob hi"));
        assert_eq!(parse_typed("get x"), Typed::Send("get x"));
        assert_eq!(parse_typed(""), Typed::Send(""));
        assert!(matches!(
            parse_typed(&"a".repeat(MAX_LINE + 1)),
            Typed::Refuse(_)
        ));
    }

    /// The status rows follow WELCOME, renames, STATUS answers and people coming and going.
    #[test]
    fn status_follows_the_server() {
        let mut state = RoomState::default();
        for line in [
            "WELCOME Client01",
            "INFO Client02 joined",
            "OK you are now ann",
            "STATUS 2 clients",
            "INFO Client03 joined",
            "INFO Client02 left (connection lost)",
            "INFO bob joined the fun",
        ] {
            note_server_line(&mut state, line);
        }
        assert_eq!(state.name.as_deref(), Some("ann"));
        assert_eq!(state.members, Some(2));
        let server: SocketAddr = "127.0.0.1:7072".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(
            status_rows(server, &state),
            [
                "room 127.0.0.1:7072 · you are ann · 2 in the room · /help lists the commands",
                "files: 0 downloaded, 0 uploaded"
            ]
        );
    }
}
