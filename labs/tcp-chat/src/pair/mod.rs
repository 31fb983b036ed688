//! # `tcp-chat pair`: a turn-based chat on one connection
//!
//! Two people, one TCP connection, strict turns: the side that connected speaks first, then the
//! other, and so on. Only the side whose turn it is sees the prompt `Enter Input >`. On their turn
//! either person may type `play tictactoe` (or `play rps`, `play hangman`) to play a game over the
//! same connection; chat resumes when it ends. `/q` on either side ends the chat for both.
//!
//! - [`wire`]: the frames (length prefix, kind byte, UTF-8 body), byte by byte.
//! - [`session`]: the turn rules, as a state machine with no I/O.
//! - [`turns`] and [`group`]: the other turn rule, seed 002's (`--turn-end '#'`): a turn holds
//!   several lines and passes with a line `#`, and a host talks with several users
//!   (`--listen --peers N`), each on a thread of its own.
//! - this module: the loop that feeds the session keyboard lines and network frames, and carries
//!   out what it answers (send, print, prompt).
//!
//! On a terminal the chat uses the shared console (`netlab_common::console`): the line you type
//! stays at the bottom and the peer's messages appear above it, never in the middle of your
//! words; two status rows say who the chat is with and whose turn it is, and the prompt
//! `Enter Input >` is there only on your turn. In a pipe, or with `--plain`, it prints line by
//! line as the course projects did.
//!
//! Why a loop over one queue of events rather than "read the keyboard, then read the socket"? A
//! strictly alternating program could block on one source at a time, but then a peer that typed
//! `/q`, or vanished, while we wait for our own user would not be noticed until we pressed Enter.
//! With both sources feeding one queue ([`crate::events`]) every event is handled at once.

pub mod group;
pub mod session;
pub mod turns;
pub mod wire;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;

use netlab_common::console::{self, Console, Options};
use netlab_common::framing::write_frame;
use netlab_common::{Error, Result, Traced, Tracer, net, term};

use crate::events::{self, Event};
use crate::link::{self, Rendezvous, Role, vanished};
use crate::wire::{FRAMING, refusal_reason};
use session::{Action, PROMPT, Session};
use wire::{Frame, MAX_PAYLOAD};

/// What `tcp-chat pair` needs.
#[derive(Debug, Clone)]
pub struct PairConfig {
    /// Listen or connect.
    pub rendezvous: Rendezvous,
    /// `--trace`.
    pub tracer: Tracer,
    /// `--plain`: line by line even on a terminal.
    pub plain: bool,
    /// `--turn-end` (and `--peers`): seed 002's turns instead of strict alternation.
    pub turns: Option<group::Turns>,
}

/// What Tab completes at the start of a line.
const COMMANDS: &[&str] = &[
    session::QUIT,
    crate::slash::HELP,
    "play tictactoe",
    "play rps",
    "play hangman",
];

/// Runs one turn-based chat until either side quits or the peer vanishes.
pub fn run(config: &PairConfig) -> Result<()> {
    if let Some(turns) = &config.turns {
        return group::run(&config.rendezvous, turns, config.tracer, config.plain);
    }
    let link = link::establish(&config.rendezvous)?;
    // Opened once connected: until then Ctrl-C must stay the signal that stops the waiting.
    let mut console = Console::start(Options::new("").commands(COMMANDS).plain(config.plain))?;
    let i_connected = link.role == Role::Connector;
    term::info(format!(
        "connected to {}; {} first. /q quits, play tictactoe|rps|hangman starts a game",
        link.peer,
        if i_connected {
            "you speak"
        } else {
            "the peer speaks"
        }
    ));
    let reader = link
        .stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    let (sender, events) = mpsc::sync_channel::<Event<Frame>>(events::QUEUE);
    events::spawn_frame_reader(
        Traced::new(reader, link.peer, config.tracer),
        MAX_PAYLOAD,
        |payload| Frame::decode(payload).map_err(|err| Error::Protocol(err.to_string())),
        sender.clone(),
    )?;
    events::spawn_keyboard(console.take_inputs(), sender)?;

    let screen = Screen {
        peer: link.peer,
        full: console.is_full_screen(),
    };
    let mut wire = Traced::new(&link.stream, link.peer, config.tracer);
    let mut session = Session::new(i_connected, random_seed());
    let mut pending = session.start();
    loop {
        if carry_out(pending, &mut wire, &screen)? {
            net::close_gracefully(&link.stream);
            return Ok(());
        }
        pending = match events.recv() {
            Ok(Event::Input(line)) => session.on_input(&line),
            // Nothing runs in the background of a pair chat that Ctrl-C could stop; the console
            // has said that a second one quits.
            Ok(Event::Interrupt) => Vec::new(),
            Ok(Event::InputEnded) => session.on_input_ended(),
            Ok(Event::Peer(Frame::Refusal(reason))) => {
                return Err(Error::Protocol(format!(
                    "the peer refused what we sent and closed: {}",
                    term::sanitize(&reason)
                )));
            }
            Ok(Event::Peer(frame)) => match session.on_frame(frame) {
                Ok(actions) => actions,
                Err(err) => return Err(refuse(&mut wire, Error::Protocol(err.to_string()))),
            },
            Ok(Event::PeerClosed) => return Err(vanished()),
            Ok(Event::PeerFailed(err)) => return Err(refuse(&mut wire, err)),
            Ok(Event::Local(never)) => match never {},
            Err(mpsc::RecvError) => return Err(vanished()),
        };
    }
}

/// How the turn is shown. In the plain mode the prompt is printed when the turn comes (no
/// newline: the typing continues on its line); in the full-screen mode it is the input line's
/// prompt, there only while it is your turn, and the status rows say whose turn it is.
struct Screen {
    peer: SocketAddr,
    full: bool,
}

impl Screen {
    fn your_turn(&self) -> Result<()> {
        if !self.full {
            print!("{PROMPT}");
            // The prompt has no newline, so it must be flushed to appear.
            return io::stdout().flush().map_err(Error::stdout);
        }
        console::set_prompt(PROMPT);
        self.status("your turn: type a message, or play tictactoe|rps|hangman; /q quits");
        Ok(())
    }

    fn their_turn(&self) {
        term::info("waiting for the peer...");
        console::set_prompt("");
        self.status(&format!(
            "waiting for {}'s turn; only /q works now",
            self.peer
        ));
    }

    /// Two rows: who the chat is with, and whose turn it is.
    fn status(&self, turn: &str) {
        console::set_status(status_rows(self.peer, turn));
    }
}

/// The status rows of the full-screen mode (docs/tcp-chat.md shows them; the tmux tests check
/// the screen against the same text).
pub fn status_rows(peer: SocketAddr, turn: &str) -> Vec<String> {
    vec![
        format!("pair chat with {peer} · /help lists the commands"),
        turn.to_string(),
    ]
}

/// Performs the session's actions; returns true when the chat is over.
fn carry_out(actions: Vec<Action>, wire: &mut Traced<&TcpStream>, screen: &Screen) -> Result<bool> {
    for action in actions {
        match action {
            Action::Send(frame) => write_frame(wire, FRAMING, &frame.encode())?,
            Action::PeerSaid(text) => {
                term::chat(format!(
                    "{} {}",
                    term::theirs("peer:"),
                    term::sanitize(&text)
                ));
            }
            Action::Info(text) => term::info(text),
            Action::Refused(text) => term::warn(text),
            Action::Board(lines) => {
                for line in lines {
                    term::line(format!("    {line}"));
                }
            }
            Action::GameOver(text) => term::success(text),
            Action::Prompt => screen.your_turn()?,
            Action::Wait => screen.their_turn(),
            Action::Exit => return Ok(true),
        }
    }
    Ok(false)
}

/// When the peer broke the protocol, tells it why in a `!` frame before we close (best effort:
/// it may be gone already). Errors that are not the peer's doing (a reset, a timeout) are
/// returned unchanged.
fn refuse(wire: &mut Traced<&TcpStream>, err: Error) -> Error {
    let Some(reason) = refusal_reason(&err, crate::wire::MAX_MESSAGE) else {
        return err;
    };
    let _ = write_frame(wire, FRAMING, &Frame::Refusal(reason).encode());
    net::close_gracefully(wire.get_ref());
    err
}

/// A seed for the games this side starts. std has no random number generator, but every
/// `RandomState` is seeded by the OS, which is plenty for picking a hangman word.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}
