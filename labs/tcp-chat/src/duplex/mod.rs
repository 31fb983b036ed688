//! # `tcp-chat duplex`: both sides talk at once, and files travel alongside
//!
//! A TCP connection is *full duplex*: two independent byte streams, one each way. Nothing stops
//! both sides from sending at the same moment, so here nobody waits for a turn. Each side runs:
//!
//! - a **reader thread** that blocks on the socket and turns frames into events
//!   ([`crate::events`]), so a message appears the moment it arrives, even while you type;
//! - a **writer thread** that owns the sending half and writes whole frames from a queue
//!   ([`outbox`]);
//! - a keyboard thread (the console's input, forwarded into the event queue), and one thread per
//!   file being sent ([`send`]);
//! - the main loop (this module), the only owner of the chat's state: it prints, saves incoming
//!   files ([`crate::files::transfer`]) and decides what to send.
//!
//! `/send PATH` sends a file of any size in chunks; messages keep flowing both ways in between.
//! The receiver saves it as `new_NAME` in its download directory, checks its SHA-256 and tells
//! the sender whether it arrived intact. `/q` or `quit()` ends the chat on both sides.
//!
//! On a terminal the chat uses the shared console (`netlab_common::console`): the line you type
//! stays at the bottom, messages appear above it, a transfer's bar is a row of its own that
//! updates in place, and two status rows name the peer and count the files. Ctrl-C stops the
//! file being sent or received (the protocol has a frame for each: `X` from the sender, a
//! negative `R` from the receiver); a second Ctrl-C, or Ctrl-D, leaves. In a pipe, or with
//! `--plain`, it prints line by line.
//!
//! The frames are in [`wire`], byte by byte. [`converse`] is the chat itself, once the
//! connection exists and whatever types into it: [`run`] gives it a keyboard and a person
//! ([`audience`]); `tcp-chat bench` gives it a program that types `/send` and reads the results.

pub mod audience;
pub mod outbox;
mod receive;
pub mod send;
pub mod wire;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};

use indicatif::MultiProgress;
use netlab_common::console::{self, Console, Options};
use netlab_common::{Error, Result, Traced, Tracer, net, progress, term};

use crate::events::{self, Event};
use crate::files::filename;
use crate::files::send as outgoing;
use crate::files::transfer::Incoming;
use crate::link::{self, Link, Rendezvous, Role, vanished};
use crate::slash;
use crate::wire::MAX_MESSAGE;
use crate::wire::refusal_reason;
use audience::{Audience, Notice};
use netlab_common::digest::Digest;
use netlab_common::digest::hex;
use netlab_common::framing::FrameError;
use outbox::{Outbox, Writer};
use send::SendReport;
use wire::{Frame, Limits};

/// What `tcp-chat duplex` needs.
#[derive(Debug, Clone)]
pub struct DuplexConfig {
    /// Listen or connect.
    pub rendezvous: Rendezvous,
    /// `--trace`.
    pub tracer: Tracer,
    /// Where received files are saved.
    pub download_dir: PathBuf,
    /// `--plain`: line by line even on a terminal.
    pub plain: bool,
    /// `--max-message` and `--chunk-size`.
    pub limits: Limits,
}

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send this chat message.
    Message(String),
    /// Send this file.
    SendFile(PathBuf),
    /// Leave (`/q` or `quit()`).
    Quit,
    /// An empty (or blank) line: nothing to send. The wire has no empty message (an `M` frame
    /// carries 1 byte or more), so the chat says so instead of sending it or dropping it
    /// silently.
    Nothing,
    /// `/help`: list the commands.
    Help,
    /// Refused, with the reason to show; nothing is sent.
    Refuse(String),
}

/// Reads one typed line under the default message limit. Pure, so the rules are easy to test.
pub fn parse_command(line: &str) -> Command {
    parse_command_within(line, MAX_MESSAGE)
}

/// Reads one typed line; a message over `max_message` bytes is refused here, before anything
/// is sent.
pub fn parse_command_within(line: &str, max_message: usize) -> Command {
    let trimmed = line.trim();
    if trimmed == "/q" || trimmed == "quit()" {
        return Command::Quit;
    }
    if trimmed.is_empty() {
        return Command::Nothing;
    }
    if let Some(rest) = trimmed.strip_prefix("/send") {
        let path = rest.trim();
        if rest.starts_with(char::is_whitespace) && !path.is_empty() {
            // `~/notes.txt` as a shell would read it: no shell sees this line.
            return Command::SendFile(netlab_common::console::local_path(path));
        }
        if rest.is_empty() {
            return Command::Refuse("usage: /send PATH".into());
        }
    }
    if trimmed == slash::HELP {
        return Command::Help;
    }
    if let Some(word) = slash::unknown(line, COMMAND_WORDS) {
        return Command::Refuse(slash::refusal(word));
    }
    if line.len() > max_message {
        return Command::Refuse(format!(
            "message is {} bytes; the limit is {max_message} bytes; nothing sent",
            line.len()
        ));
    }
    Command::Message(line.to_string())
}

/// The slash commands of a duplex chat.
const COMMAND_WORDS: &[&str] = &["/send", QUIT, slash::HELP];

/// What Tab completes at the start of a line (and, after `/send`, local paths).
const COMPLETIONS: &[&str] = &["/send", QUIT, "quit()", slash::HELP];

/// What `/help` shows.
pub const HELP_TEXT: &str = "commands: /send PATH sends a file (the peer saves it as new_NAME); \
     Ctrl-C stops the file being sent or received; /q or quit() leaves (so do Ctrl-C twice and \
     Ctrl-D); /help shows this; any other line is a message";

/// The file this side is sending, while it is in transit.
#[derive(Debug)]
struct Sending {
    id: u32,
    name: String,
    size: u64,
    /// Set when every byte is queued: what the peer's verdict must match.
    sent: Option<(Digest, std::time::Instant)>,
    /// Set to make the sending thread stop at its next chunk (Ctrl-C, or the peer refused).
    cancel: Arc<AtomicBool>,
}

/// What the main loop waits for: keyboard lines, frames from the peer, reports from a file
/// sender, the connection failing.
pub type ChatEvent = Event<Frame, SendReport>;

/// How one chat runs, once its connection exists.
#[derive(Debug)]
pub struct Setup {
    /// `--trace`.
    pub tracer: Tracer,
    /// Where received files are saved (checked with [`check_download_dir`]).
    pub download_dir: PathBuf,
    /// A person (status lines) or a program (events on a channel).
    pub audience: Audience,
    /// Where progress bars are drawn (a hidden target for nobody).
    pub bars: MultiProgress,
    /// The sizes this side sends with and accepts.
    pub limits: Limits,
}

/// The state the main loop owns. (Its file-receiving half is in `receive.rs`, its status lines
/// in `audience.rs`.)
struct Chat {
    outbox: Outbox,
    events: SyncSender<ChatEvent>,
    download_dir: PathBuf,
    next_id: u32,
    sending: Option<Sending>,
    incoming: Option<Incoming>,
    /// A transfer we refused (could not create the file): its chunks are read and dropped.
    skipping: Option<u32>,
    /// Every progress bar on the screen, so lines can be printed without tearing them.
    bars: MultiProgress,
    /// Who reads what happens.
    audience: Audience,
    /// Which end of the connection this side is.
    role: Role,
    /// The sizes this side sends with and accepts.
    limits: Limits,
    /// Files sent and received whole in this chat, for the status rows.
    files_sent: u32,
    files_received: u32,
    /// The status rows last shown (full-screen mode), or `None` when there are none to show
    /// (plain mode, or a program watching).
    status: Option<Vec<String>>,
    peer: std::net::SocketAddr,
}

/// What the main loop does after an event.
enum Flow {
    Continue,
    Stop(Result<()>),
}

/// Runs one full-duplex chat until either side quits or the connection fails.
pub fn run(config: &DuplexConfig) -> Result<()> {
    let download_dir = check_download_dir(&config.download_dir)?;
    let link = link::establish(&config.rendezvous)?;
    // Opened once connected: until then Ctrl-C must stay the signal that stops the waiting.
    let mut console = Console::start(
        Options::new("> ")
            .commands(COMPLETIONS)
            .path_commands(&["/send"])
            .plain(config.plain),
    )?;
    term::info(format!(
        "connected to {}; type any time. /send PATH sends a file (saved in the peer's download \
         directory as new_NAME); /q or quit() leaves",
        link.peer
    ));
    let (sender, events) = mpsc::sync_channel::<ChatEvent>(events::QUEUE);
    events::spawn_keyboard(console.take_inputs(), sender.clone())?;
    let setup = Setup {
        tracer: config.tracer,
        download_dir,
        audience: Audience::Person,
        // The program's one MultiProgress: netlab_common::term prints --trace lines above its
        // bars too.
        bars: netlab_common::progress::terminal_bars(),
        limits: config.limits,
    };
    converse(&link, setup, sender, events)
}

/// The chat over `link` until either side quits or the connection fails. Typed lines arrive on
/// `events` as [`Event::Input`] (from the keyboard thread, or from a program); `sender` is that
/// queue's sending side, which the chat's own threads (reader, writer, file senders) use too.
pub fn converse(
    link: &Link,
    setup: Setup,
    sender: SyncSender<ChatEvent>,
    events: Receiver<ChatEvent>,
) -> Result<()> {
    // A peer that stops reading (but stays connected) would block our writer forever once the
    // socket's send buffer is full; past this limit we treat it as gone.
    link.stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(|err| Error::io("setting a write timeout", err))?;
    let clone = |what| {
        link.stream
            .try_clone()
            .map_err(|err| Error::io(format!("duplicating the socket for the {what}"), err))
    };
    let limits = setup.limits;
    events::spawn_frame_reader(
        Traced::new(clone("reader")?, link.peer, setup.tracer),
        limits.max_payload(),
        move |payload| {
            Frame::decode_within(payload, &limits).map_err(|err| Error::Protocol(err.to_string()))
        },
        sender.clone(),
    )?;
    let (outbox, writer) = Outbox::start(
        Traced::new(clone("writer")?, link.peer, setup.tracer),
        sender.clone(),
    )?;
    let mut chat = Chat {
        outbox,
        events: sender,
        download_dir: setup.download_dir,
        next_id: 1,
        sending: None,
        incoming: None,
        skipping: None,
        bars: setup.bars,
        status: (matches!(setup.audience, Audience::Person) && console::is_open()).then(Vec::new),
        audience: setup.audience,
        role: link.role,
        limits,
        files_sent: 0,
        files_received: 0,
        peer: link.peer,
    };
    chat.show_status();
    loop {
        let event = events.recv().map_err(|_| vanished())?;
        // A chunk of a file changes nothing the status rows show (its bar counts the bytes),
        // and a 1 GiB file is 16,384 of them: only other events refresh the rows.
        let changes_status = !matches!(event, Event::Peer(Frame::Data { .. }));
        let flow = match event {
            Event::Input(line) => chat.on_input(&line),
            Event::Interrupt => chat.on_interrupt(),
            Event::InputEnded => chat.on_input(QUIT),
            Event::Peer(frame) => chat.on_frame(frame),
            Event::Local(report) => chat.on_report(report),
            Event::PeerClosed => chat.fail(vanished()),
            Event::PeerFailed(err) => chat.fail(err),
        };
        if let Flow::Stop(result) = flow {
            return finish(chat, writer, &link.stream, result);
        }
        if changes_status {
            chat.show_status();
        }
    }
}

const QUIT: &str = "/q";

/// What an empty line is answered with (the same words as `pair`'s).
pub const EMPTY_REFUSAL: &str = "empty message; nothing sent";

/// How long one write may wait for the peer to make room before the peer counts as gone.
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Writes what is queued (the quit notice), then closes the connection.
fn finish(chat: Chat, writer: Writer, stream: &TcpStream, result: Result<()>) -> Result<()> {
    chat.outbox.close();
    writer.join();
    drop(chat.incoming); // an unfinished file is deleted here
    net::close_gracefully(stream);
    result
}

impl Chat {
    fn on_input(&mut self, line: &str) -> Flow {
        match parse_command_within(line, self.limits.max_message) {
            Command::Nothing => self.warn(EMPTY_REFUSAL),
            Command::Help => self.info(HELP_TEXT),
            Command::Refuse(reason) => self.warn(reason),
            Command::Quit => {
                self.outbox.send(Frame::Quit);
                self.info("you ended the chat; shutting down");
                self.interrupted_incoming();
                return Flow::Stop(Ok(()));
            }
            Command::Message(text) => {
                self.outbox.send(Frame::Message(text.clone()));
                self.chat(format!("{} {text}", term::mine("you:")));
            }
            Command::SendFile(path) => self.start_sending(&path),
        }
        Flow::Continue
    }

    fn start_sending(&mut self, path: &Path) {
        if let Some(busy) = &self.sending {
            self.warn(format!(
                "{} is still being sent; wait for its result before sending another file",
                busy.name
            ));
            return;
        }
        let outgoing = match outgoing::open(path) {
            Ok(outgoing) => outgoing,
            Err(reason) => return self.error(reason),
        };
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.info(format!(
            "sending {} ({}); keep chatting while it goes",
            outgoing.name,
            progress::human_bytes(outgoing.size)
        ));
        let sending = Sending {
            id,
            name: outgoing.name.clone(),
            size: outgoing.size,
            sent: None,
            cancel: Arc::new(AtomicBool::new(false)),
        };
        let started = send::spawn(
            id,
            outgoing,
            self.limits.chunk,
            self.outbox.clone(),
            self.events.clone(),
            self.bars.clone(),
            Arc::clone(&sending.cancel),
        );
        match started {
            Ok(()) => self.sending = Some(sending),
            // Nothing went on the wire: the offer is the thread's first frame.
            Err(err) => self.error(format!("{}: not sent: {err}", sending.name)),
        }
    }

    fn on_report(&mut self, report: SendReport) -> Flow {
        match report {
            SendReport::AllQueued {
                id,
                size,
                digest,
                started,
            } => {
                if let Some(sending) = self.sending.as_mut().filter(|sending| sending.id == id) {
                    sending.sent = Some((digest, started));
                    let line = format!(
                        "all {} of {} sent ({}); waiting for the peer's check",
                        progress::human_bytes(size),
                        sending.name,
                        progress::human_rate(size, started.elapsed())
                    );
                    // On the full screen this is a state, shown in the status rows until the
                    // verdict comes; the transfer then leaves one line, the verdict.
                    if self.status.is_none() {
                        self.info(line);
                    }
                }
            }
            SendReport::Failed { id, reason } => {
                if self
                    .sending
                    .as_ref()
                    .is_some_and(|sending| sending.id == id)
                {
                    let cancelled = self
                        .sending
                        .take()
                        .is_some_and(|sending| sending.cancel.load(Ordering::SeqCst));
                    if cancelled {
                        self.warn(format!(
                            "sending stopped: {reason}; the peer keeps nothing of it. A duplex \
                             transfer cannot be resumed: /send the file again to start over"
                        ));
                    } else {
                        self.error(format!("sending stopped: {reason}"));
                    }
                    self.tell(Notice::SendFailed(reason));
                }
            }
        }
        Flow::Continue
    }

    fn on_frame(&mut self, frame: Frame) -> Flow {
        match frame {
            Frame::Message(text) => {
                self.chat(format!(
                    "{} {}",
                    term::theirs("peer:"),
                    term::sanitize(&text)
                ));
                self.tell(Notice::Message(text));
            }
            Frame::Refusal(reason) => {
                self.interrupted_incoming();
                return Flow::Stop(Err(Error::Protocol(format!(
                    "the peer refused what we sent and closed: {}",
                    term::sanitize(&reason)
                ))));
            }
            Frame::Quit => {
                self.info("the peer ended the chat; shutting down");
                self.interrupted_incoming();
                return Flow::Stop(Ok(()));
            }
            Frame::Offer { id, size, name } => return self.on_offer(id, size, &name),
            Frame::Data { id, bytes } => return self.on_data(id, &bytes),
            Frame::End { id, digest } => return self.on_end(id, &digest),
            Frame::Abort { id, reason } => return self.on_abort(id, &reason),
            Frame::Result {
                id,
                ok,
                received,
                digest,
                note,
            } => self.on_result(id, ok, received, &digest, &note),
        }
        Flow::Continue
    }

    fn on_result(&mut self, id: u32, ok: bool, received: u64, digest: &Digest, note: &str) {
        let Some(sending) = self.sending.take_if(|sending| sending.id == id) else {
            self.warn("the peer sent a verdict for a file we are not sending; ignored");
            return;
        };
        // A verdict before the end: the peer gave up on the file (Ctrl-C, a full disk), so the
        // rest of it would be read and thrown away: stop sending it.
        sending.cancel.store(true, Ordering::SeqCst);
        // The peer's note names the file it saved: shown with the file-name rule, which also
        // makes bidi marks visible (chat text's `term::sanitize` leaves U+200E/U+200F alone).
        let note = filename::escape(note);
        let intact = sending
            .sent
            .is_some_and(|(sent_digest, _)| &sent_digest == digest && received == sending.size);
        if ok && intact {
            // The full screen showed "all sent" as a state only: its one summary line says how
            // long the whole transfer took, from /send to the peer's verdict.
            let took = match (&self.status, sending.sent) {
                (Some(_), Some((_, started))) => format!(
                    " in {:.2} s ({})",
                    started.elapsed().as_secs_f64(),
                    progress::human_rate(received, started.elapsed())
                ),
                _ => String::new(),
            };
            self.success(format!(
                "{} arrived intact: the peer saved it as {note} ({} bytes, SHA-256 {} matches){took}",
                sending.name,
                received,
                hex(digest)
            ));
            self.files_sent += 1;
        } else if ok {
            self.error(format!(
                "{}: the peer saved {note} but its size or SHA-256 differs from what was sent",
                sending.name
            ));
        } else {
            self.error(format!(
                "{} was not saved by the peer: {note}",
                sending.name
            ));
        }
        self.tell(Notice::Delivered {
            name: sending.name,
            ok,
            intact,
            received,
            note,
        });
    }

    /// Ends the chat with `err`. When the peer broke the protocol it is told why in a `!` frame,
    /// queued before the connection closes.
    fn fail(&mut self, err: Error) -> Flow {
        let err = self.explain_too_large(err);
        self.interrupted_incoming();
        if let Some(reason) = refusal_reason(&err, wire::MAX_NOTE) {
            self.outbox.send(Frame::Refusal(reason));
        }
        Flow::Stop(Err(err))
    }

    /// Ctrl-C: stop the file being sent, or else the one being received. Nothing else runs
    /// that it could stop; the console has already said that a second Ctrl-C leaves.
    fn on_interrupt(&mut self) -> Flow {
        if let Some(sending) = &self.sending {
            if sending.sent.is_some() {
                self.info(format!(
                    "all of {} is sent already; nothing to stop: waiting for the peer's check",
                    sending.name
                ));
            } else {
                // The sending thread sees it before its next chunk, tells the peer with an `X`
                // frame and reports back; that report prints the outcome.
                sending.cancel.store(true, Ordering::SeqCst);
            }
        } else if let Some((name, received, size)) =
            self.cancel_incoming("the receiver cancelled it (Ctrl-C)".into())
        {
            self.warn(format!(
                "stopped receiving {name} after {received} of {size} bytes (Ctrl-C); nothing \
                 saved. A duplex transfer cannot be resumed: the peer must /send it again"
            ));
        }
        Flow::Continue
    }

    /// The status rows of the full-screen mode, shown again when they changed.
    fn show_status(&mut self) {
        let Some(shown) = &self.status else { return };
        let rows = vec![
            format!("duplex chat with {} · /help lists the commands", self.peer),
            self.transfer_status(),
        ];
        if &rows != shown {
            console::set_status(rows.clone());
            self.status = Some(rows);
        }
    }

    /// `files: 1 sent, 0 received, saved into DIR`, and what is in transit (its bar is a row of
    /// its own below).
    fn transfer_status(&self) -> String {
        let mut row = format!(
            "files: {} sent, {} received, saved into {}",
            self.files_sent,
            self.files_received,
            term::sanitize(&self.download_dir.display().to_string())
        );
        if let Some(sending) = &self.sending {
            let state = if sending.cancel.load(Ordering::SeqCst) {
                "stopping (Ctrl-C)"
            } else if sending.sent.is_some() {
                "all sent, waiting for the peer's check"
            } else {
                "sending (Ctrl-C stops it)"
            };
            row.push_str(&format!(" · {}: {state}", sending.name));
        }
        if let Some(incoming) = &self.incoming {
            row.push_str(&format!(
                " · {}: receiving (Ctrl-C stops it)",
                term::sanitize(incoming.base())
            ));
        }
        row
    }

    /// A frame longer than this side accepts is most often a peer started with a larger
    /// `--chunk-size` or `--max-message`: say which limits are in force, on both screens.
    fn explain_too_large(&self, err: Error) -> Error {
        match err {
            Error::Frame(FrameError::TooLarge { len, max }) => Error::Protocol(format!(
                "a frame of {len} bytes; this side accepts at most {max} (--chunk-size {}, \
                 --max-message {}): start both sides with the same sizes",
                self.limits.chunk, self.limits.max_message
            )),
            other => other,
        }
    }

    fn protocol(&mut self, what: &str) -> Flow {
        self.fail(Error::Protocol(what.to_string()))
    }
}

/// The download directory must exist; everything received goes inside it. Returns it
/// canonical (absolute, no symbolic links), as the status lines show it.
pub fn check_download_dir(dir: &Path) -> Result<PathBuf> {
    let canonical = dir.canonicalize().map_err(|err| {
        Error::io(
            format!("using {} as the download directory", dir.display()),
            err,
        )
    })?;
    if !canonical.is_dir() {
        return Err(Error::Usage(format!(
            "the download directory {} is not a directory",
            dir.display()
        )));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Typed lines map to commands: quit both ways, /send needs a path, empty lines send nothing,
    /// the 4096-byte limit holds.
    #[test]
    fn commands() {
        assert_eq!(parse_command("/q"), Command::Quit);
        assert_eq!(parse_command(" quit() "), Command::Quit);
        assert_eq!(parse_command(""), Command::Nothing);
        assert_eq!(parse_command("   "), Command::Nothing);
        assert_eq!(
            parse_command("/send  my file.bin"),
            Command::SendFile(PathBuf::from("my file.bin"))
        );
        assert_eq!(
            parse_command("/send"),
            Command::Refuse("usage: /send PATH".into())
        );
        if let Some(home) = std::env::home_dir() {
            assert_eq!(
                parse_command("/send ~/notes.txt"),
                Command::SendFile(home.join("notes.txt"))
            );
        }
        assert_eq!(
            parse_command("/sending is fun"),
            Command::Refuse(
                "unknown command /sending; nothing sent. /help lists the commands".into()
            )
        );
        assert_eq!(
            parse_command(&"a".repeat(4096)),
            Command::Message("a".repeat(4096))
        );
        assert!(matches!(
            parse_command(&"a".repeat(4097)),
            Command::Refuse(_)
        ));
    }

    /// `/help` is answered here; a mistyped command is refused, not sent as chat; a slash that
    /// does not start a word is chat.
    #[test]
    fn help_and_unknown_commands() {
        assert_eq!(parse_command("/help"), Command::Help);
        assert_eq!(
            parse_command("/sned photo.jpg"),
            Command::Refuse("unknown command /sned; nothing sent. /help lists the commands".into())
        );
        assert_eq!(parse_command("/ shrug"), Command::Message("/ shrug".into()));
        assert_eq!(parse_command("and/or"), Command::Message("and/or".into()));
    }
}
