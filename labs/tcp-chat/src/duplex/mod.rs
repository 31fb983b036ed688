//! # `tcp-chat duplex`: both sides talk at once, and files travel alongside
//!
//! A TCP connection is *full duplex*: two independent byte streams, one each way. Nothing stops
//! both sides from sending at the same moment, so here nobody waits for a turn. Each side runs:
//!
//! - a **reader thread** that blocks on the socket and turns frames into events
//!   ([`crate::events`]), so a message appears the moment it arrives, even while you type;
//! - a **writer thread** that owns the sending half and writes whole frames from a queue
//!   ([`outbox`]);
//! - a keyboard thread, and one thread per file being sent ([`send`]);
//! - the main loop (this module), the only owner of the chat's state: it prints, saves incoming
//!   files ([`crate::files::transfer`]) and decides what to send.
//!
//! `/send PATH` sends a file of any size in chunks; messages keep flowing both ways in between.
//! The receiver saves it as `new_NAME` in its download directory, checks its SHA-256 and tells
//! the sender whether it arrived intact. `/q` or `quit()` ends the chat on both sides.
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
use std::sync::mpsc::{self, Receiver, SyncSender};

use indicatif::MultiProgress;
use netlab_common::{Error, Result, Traced, Tracer, net, progress, term};

use crate::events::{self, Event};
use crate::files::filename;
use crate::files::send as outgoing;
use crate::files::transfer::Incoming;
use crate::link::{self, Link, Rendezvous, Role, vanished};
use crate::wire::MAX_MESSAGE;
use crate::wire::refusal_reason;
use audience::{Audience, Notice};
use netlab_common::digest::Digest;
use netlab_common::digest::hex;
use outbox::{Outbox, Writer};
use send::SendReport;
use wire::{Frame, MAX_PAYLOAD};

/// What `tcp-chat duplex` needs.
#[derive(Debug, Clone)]
pub struct DuplexConfig {
    /// Listen or connect.
    pub rendezvous: Rendezvous,
    /// `--trace`.
    pub tracer: Tracer,
    /// Where received files are saved.
    pub download_dir: PathBuf,
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
    /// An empty line: nothing to send.
    Nothing,
    /// Refused, with the reason to show; nothing is sent.
    Refuse(String),
}

/// Reads one typed line. Pure, so the rules are easy to test.
pub fn parse_command(line: &str) -> Command {
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
            return Command::SendFile(PathBuf::from(path));
        }
        if rest.is_empty() {
            return Command::Refuse("usage: /send PATH".into());
        }
    }
    if line.len() > MAX_MESSAGE {
        return Command::Refuse(format!(
            "message is {} bytes; the limit is {MAX_MESSAGE} bytes; nothing sent",
            line.len()
        ));
    }
    Command::Message(line.to_string())
}

/// The file this side is sending, while it is in transit.
#[derive(Debug)]
struct Sending {
    id: u32,
    name: String,
    size: u64,
    /// Set when every byte is queued: what the peer's verdict must match.
    sent: Option<(Digest, std::time::Instant)>,
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
    term::info(format!(
        "connected to {}; type any time. /send PATH sends a file (saved in the peer's download \
         directory as new_NAME); /q or quit() leaves",
        link.peer
    ));
    let (sender, events) = mpsc::sync_channel::<ChatEvent>(events::QUEUE);
    events::spawn_keyboard(sender.clone())?;
    let setup = Setup {
        tracer: config.tracer,
        download_dir,
        audience: Audience::Person,
        bars: MultiProgress::new(),
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
    events::spawn_frame_reader(
        Traced::new(clone("reader")?, link.peer, setup.tracer),
        MAX_PAYLOAD,
        |payload| Frame::decode(payload).map_err(|err| Error::Protocol(err.to_string())),
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
        audience: setup.audience,
        role: link.role,
    };
    loop {
        let event = events.recv().map_err(|_| vanished())?;
        let flow = match event {
            Event::Input(line) => chat.on_input(&line),
            Event::InputEnded => chat.on_input(QUIT),
            Event::Peer(frame) => chat.on_frame(frame),
            Event::Local(report) => chat.on_report(report),
            Event::PeerClosed => chat.fail(vanished()),
            Event::PeerFailed(err) => chat.fail(err),
        };
        if let Flow::Stop(result) = flow {
            return finish(chat, writer, &link.stream, result);
        }
    }
}

const QUIT: &str = "/q";

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
        match parse_command(line) {
            Command::Nothing => {}
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
        };
        let started = send::spawn(
            id,
            outgoing,
            self.outbox.clone(),
            self.events.clone(),
            self.bars.clone(),
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
                    self.info(line);
                }
            }
            SendReport::Failed { id, reason } => {
                if self
                    .sending
                    .as_ref()
                    .is_some_and(|sending| sending.id == id)
                {
                    self.sending = None;
                    self.error(format!("sending stopped: {reason}"));
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
        // The peer's note names the file it saved: shown with the file-name rule, which also
        // makes bidi marks visible (chat text's `term::sanitize` leaves U+200E/U+200F alone).
        let note = filename::escape(note);
        let intact = sending
            .sent
            .is_some_and(|(sent_digest, _)| &sent_digest == digest && received == sending.size);
        if ok && intact {
            self.success(format!(
                "{} arrived intact: the peer saved it as {note} ({} bytes, SHA-256 {} matches)",
                sending.name,
                received,
                hex(digest)
            ));
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
        self.interrupted_incoming();
        if let Some(reason) = refusal_reason(&err, wire::MAX_NOTE) {
            self.outbox.send(Frame::Refusal(reason));
        }
        Flow::Stop(Err(err))
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
        assert_eq!(
            parse_command("/sending is fun"),
            Command::Message("/sending is fun".into())
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
}
