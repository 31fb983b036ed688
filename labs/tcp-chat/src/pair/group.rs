//! # The sockets and threads of a chat with a turn-end mark (`--turn-end`, `--peers`)
//!
//! The rules are in [`super::turns`]; this module connects them to the network and the
//! keyboard.
//!
//! - **A user** (`--connect ... --turn-end '#'`) has one connection, like a pair chat: a reader
//!   thread turns the host's frames into events, the keyboard thread adds typed lines, and the
//!   main loop hands each to its [`Guest`].
//! - **The host** (`--listen --peers N --turn-end '#'`) has one connection per user, and each
//!   user gets a **thread of its own** that blocks reading that user's socket. An accept thread
//!   takes the users as they come, up to N, then closes the listening socket (a user N+1 is
//!   refused by the kernel, as the second caller of a pair chat is). Every thread only puts
//!   events on one queue, tagged with the user's number; the main loop alone owns the
//!   [`Host`]'s state and writes to the sockets, so nothing is shared and nothing needs a lock.
//!   A user that breaks the rule, leaves or vanishes ends that user's conversation only.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, SyncSender};
use std::time::Duration;

use netlab_common::accept::spawn_named;
use netlab_common::console::{self, Console, Options};
use netlab_common::framing::{FrameReader, write_frame};
use netlab_common::{Error, Result, Traced, Tracer, net, term};

use super::turns::{Guest, HOST, Host, Step, name};
use super::wire::{Frame, MAX_PAYLOAD};
use crate::events::{self, Event};
use crate::link::{self, Rendezvous, Role, vanished};
use crate::wire::{FRAMING, MAX_MESSAGE, refusal_reason};

/// A chat with a turn-end mark: seed 002's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turns {
    /// The line that passes the turn (`--turn-end`).
    pub mark: String,
    /// With `--listen`: how many users may join (`--peers`).
    pub peers: usize,
}

/// How long a write to one user may wait for it to read: past that the user counts as gone,
/// so one stuck user cannot stop the host from serving the others.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What Tab completes at the start of a line.
const COMMANDS: &[&str] = &["Exit", crate::slash::HELP];

/// Runs the host or a user, as `rendezvous` says.
pub fn run(rendezvous: &Rendezvous, turns: &Turns, tracer: Tracer, plain: bool) -> Result<()> {
    match rendezvous {
        Rendezvous::Listen(addr) => host(*addr, turns, tracer, plain),
        Rendezvous::Connect(_) => guest(rendezvous, &turns.mark, tracer, plain),
    }
}

/// What the host's threads report: a user connected, or something from user `n`'s socket.
#[derive(Debug)]
enum FromUsers {
    Joined(TcpStream, SocketAddr),
    Frame(usize, Frame),
    Closed(usize),
    Failed(usize, Error),
}

/// The host: accepts up to `turns.peers` users and talks with each in turns.
fn host(addr: SocketAddr, turns: &Turns, tracer: Tracer, plain: bool) -> Result<()> {
    let listener = net::listen(addr)?;
    let bound = listener
        .local_addr()
        .map_err(|err| Error::io("reading the listening address", err))?;
    net::announce_listening(bound);
    term::info(format!(
        "you are {}: waiting for {} user(s) to connect; each speaks first and passes the turn \
         with a line `{}`; Exit ends the chat for everyone",
        name(HOST),
        turns.peers,
        turns.mark
    ));
    let mut console = Console::start(Options::new("").commands(COMMANDS).plain(plain))?;
    let (sender, events) = mpsc::sync_channel::<Event<FromUsers>>(events::QUEUE);
    spawn_acceptor(listener, turns.peers, sender.clone())?;
    events::spawn_keyboard(console.take_inputs(), sender.clone())?;
    let screen = Screen {
        full: console.is_full_screen(),
    };
    let mut state = Host::new(&turns.mark, turns.peers);
    let mut users: HashMap<usize, Traced<TcpStream>> = HashMap::new();
    screen.show(&[], &state.status_rows())?;
    loop {
        let steps = match events.recv().map_err(|_| vanished())? {
            Event::Input(line) => state.on_input(&line),
            Event::InputEnded => state.on_input("Exit"),
            Event::Interrupt => Vec::new(),
            Event::Peer(FromUsers::Joined(stream, from)) => {
                let (number, steps) = state.on_join(&from.to_string());
                match start_user(number, stream, from, tracer, sender.clone()) {
                    Ok(wire) => {
                        users.insert(number, wire);
                        steps
                    }
                    Err(err) => state.on_vanished(number, &err.to_string()),
                }
            }
            Event::Peer(FromUsers::Frame(number, frame)) => state.on_frame(number, frame),
            Event::Peer(FromUsers::Closed(number)) => state.on_vanished(
                number,
                "the connection closed without Exit (the program exited or was killed)",
            ),
            Event::Peer(FromUsers::Failed(number, err)) => {
                match refusal_reason(&err, MAX_MESSAGE) {
                    // It sent something that is not a pair frame: tell it why, as a pair chat does.
                    Some(reason) => state.drop_user(number, &reason),
                    None => state.on_vanished(number, &err.to_string()),
                }
            }
            Event::PeerClosed | Event::PeerFailed(_) | Event::Local(_) => Vec::new(),
        };
        if carry_out_host(steps, &mut state, &mut users, &screen)? {
            for (_, wire) in users.drain() {
                net::close_gracefully(wire.get_ref());
            }
            return Ok(());
        }
    }
}

/// Accepts users until `peers` have come, then closes the listening socket.
fn spawn_acceptor(
    listener: TcpListener,
    peers: usize,
    events: SyncSender<Event<FromUsers>>,
) -> Result<()> {
    spawn_named("acceptor", move || {
        for _ in 0..peers {
            let event = match listener.accept() {
                Ok((stream, from)) => FromUsers::Joined(stream, from),
                Err(err) => {
                    term::warn(format!("accepting a user failed: {err}"));
                    continue;
                }
            };
            if events.send(Event::Peer(event)).is_err() {
                return;
            }
        }
        // `listener` is dropped here: later callers are refused by the kernel.
    })?;
    Ok(())
}

/// Readies user `number`'s connection and starts the thread that reads it; returns the
/// writing end for the main loop.
fn start_user(
    number: usize,
    stream: TcpStream,
    from: SocketAddr,
    tracer: Tracer,
    events: SyncSender<Event<FromUsers>>,
) -> Result<Traced<TcpStream>> {
    let link = link::ready(stream, Role::Listener)?;
    link.stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(|err| Error::io("setting a write timeout", err))?;
    let reader = link
        .stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    spawn_named("user-reader", move || {
        let mut frames = FrameReader::new(Traced::new(reader, from, tracer), FRAMING, MAX_PAYLOAD);
        loop {
            let event = match frames.read_frame() {
                Ok(Some(payload)) => match Frame::decode(&payload) {
                    Ok(frame) => FromUsers::Frame(number, frame),
                    Err(err) => FromUsers::Failed(number, Error::Protocol(err.to_string())),
                },
                Ok(None) => FromUsers::Closed(number),
                Err(err) => FromUsers::Failed(number, err),
            };
            let last = !matches!(event, FromUsers::Frame(..));
            if events.send(Event::Peer(event)).is_err() || last {
                return;
            }
        }
    })?;
    Ok(Traced::new(link.stream, from, tracer))
}

/// Carries out the host's steps; true when the host is done.
fn carry_out_host(
    steps: Vec<Step>,
    state: &mut Host,
    users: &mut HashMap<usize, Traced<TcpStream>>,
    screen: &Screen,
) -> Result<bool> {
    let mut pending: Vec<Step> = steps;
    while !pending.is_empty() {
        let mut later = Vec::new();
        for step in pending {
            match step {
                Step::Send { to, frame } => {
                    let Some(wire) = users.get_mut(&to) else {
                        continue;
                    };
                    if let Err(err) = write_frame(wire, FRAMING, &frame.encode()) {
                        users.remove(&to);
                        later.extend(state.on_vanished(to, &err.to_string()));
                    }
                }
                Step::Disconnect(number) => {
                    // The clone keeps the socket open for the closing thread after `wire` is
                    // dropped here; without one, dropping `wire` closes it at once.
                    if let Some(Ok(stream)) =
                        users.remove(&number).map(|wire| wire.get_ref().try_clone())
                    {
                        close_in_background(stream);
                    }
                }
                Step::Exit => return Ok(true),
                other => screen.show(&[other], &state.status_rows())?,
            }
        }
        pending = later;
    }
    screen.show(&[], &state.status_rows())?;
    Ok(false)
}

/// Closes a dropped user's connection without holding up the host: the lingering close waits
/// up to [`net::LINGER_TIMEOUT`] for the user to close its side.
fn close_in_background(stream: TcpStream) {
    // With no thread to give, the closure is dropped unrun, and the stream closes at once.
    let _ = spawn_named("closing", move || net::close_gracefully(&stream));
}

/// A user: one connection to the host, turns ended by `mark`.
fn guest(rendezvous: &Rendezvous, mark: &str, tracer: Tracer, plain: bool) -> Result<()> {
    let link = link::establish(rendezvous)?;
    let mut console = Console::start(Options::new("").commands(COMMANDS).plain(plain))?;
    term::info(format!(
        "connected to {} ({}); you speak first: as many lines as you like, then a line `{mark}` \
         passes the turn; Exit leaves",
        name(HOST),
        link.peer
    ));
    let reader = link
        .stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    let (sender, events) = mpsc::sync_channel::<Event<Frame>>(events::QUEUE);
    events::spawn_frame_reader(
        Traced::new(reader, link.peer, tracer),
        MAX_PAYLOAD,
        |payload| Frame::decode(payload).map_err(|err| Error::Protocol(err.to_string())),
        sender.clone(),
    )?;
    events::spawn_keyboard(console.take_inputs(), sender)?;
    let screen = Screen {
        full: console.is_full_screen(),
    };
    let mut wire = Traced::new(&link.stream, link.peer, tracer);
    let mut state = Guest::new(mark);
    let mut steps = state.start();
    loop {
        for step in steps {
            match step {
                Step::Send { frame, .. } => write_frame(&mut wire, FRAMING, &frame.encode())?,
                Step::Exit => {
                    net::close_gracefully(&link.stream);
                    return Ok(());
                }
                other => screen.show(&[other], &state.status_rows())?,
            }
        }
        steps = match events.recv().map_err(|_| vanished())? {
            Event::Input(line) => state.on_input(&line),
            Event::InputEnded => state.on_input("Exit"),
            Event::Interrupt | Event::Local(_) => Vec::new(),
            Event::Peer(Frame::Refusal(reason)) => {
                return Err(Error::Protocol(format!(
                    "{} refused what we sent and closed: {}",
                    name(HOST),
                    term::sanitize(&reason)
                )));
            }
            Event::Peer(frame) => match state.on_frame(frame) {
                Ok(steps) => steps,
                Err(err) => return Err(refuse(&mut wire, Error::Protocol(err.to_string()))),
            },
            Event::PeerClosed => return Err(vanished()),
            Event::PeerFailed(err) => return Err(refuse(&mut wire, err)),
        };
    }
}

/// Tells the host why we are closing, when it broke the protocol (as the pair chat does).
fn refuse(wire: &mut Traced<&TcpStream>, err: Error) -> Error {
    if let Some(reason) = refusal_reason(&err, MAX_MESSAGE) {
        let _ = write_frame(wire, FRAMING, &Frame::Refusal(reason).encode());
        net::close_gracefully(wire.get_ref());
    }
    err
}

/// Prints steps the plain way or the full-screen way (prompt and status rows).
struct Screen {
    full: bool,
}

impl Screen {
    fn show(&self, steps: &[Step], status: &[String]) -> Result<()> {
        for step in steps {
            match step {
                Step::Said { from, text } => term::chat(format!(
                    "{} {}",
                    term::theirs(format!("{}:", name(*from))),
                    term::sanitize(text)
                )),
                Step::Info(text) => term::info(text),
                Step::Warn(text) => term::warn(text),
                Step::Prompt(prompt) if self.full => console::set_prompt(prompt),
                Step::Prompt(prompt) => {
                    print!("{prompt}");
                    // The prompt has no newline, so it must be flushed to appear.
                    io::stdout().flush().map_err(Error::stdout)?;
                }
                Step::Wait(text) => {
                    term::info(text);
                    console::set_prompt("");
                }
                Step::Send { .. } | Step::Disconnect(_) | Step::Exit => {}
            }
        }
        if self.full {
            console::set_status(status.to_vec());
        }
        Ok(())
    }
}
