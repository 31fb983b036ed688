//! # `udp-chat connect`: one member of a room
//!
//! The client must do two things at once: wait for the user to type, and wait for datagrams
//! (and timers: a retransmission is due even when nobody types). A thread reads standard input
//! and hands each line over a channel, then *wakes* the network loop with a mio [`Waker`]; the
//! loop itself only ever waits in one place, [`Endpoint::turn`]. Messages appear as they arrive,
//! whatever the user is doing.
//!
//! What the client keeps is bounded too: a typed line is read up to `MAX_LINE` bytes (a longer
//! one is refused, not collected: `udp-chat connect < /dev/zero` must not fill memory), at most
//! `LINES_WAITING` lines wait between the input thread and the loop (then the input thread
//! waits, and so does whoever writes into our standard input), and the connection's backlog is
//! [`crate::connection::DEFAULT_BACKLOG`] datagrams.
//!
//! [`Waker`]: mio::Waker

use std::io::Read;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use netlab_common::{Error, accept, term};

use crate::capture;
use crate::connection::{Event, SendError};
use crate::describe::print_banners;
use crate::endpoint::{Endpoint, EndpointConfig, PeerEvent};
use crate::fragment::DEFAULT_MAX_MESSAGE;
use crate::protocol::{NOTICE, room_config};

/// How often the client PINGs the server, to notice a server that went away while we only read.
const PING_EVERY: Duration = Duration::from_secs(2);

/// How long leaving waits for the server to acknowledge our last messages and our LEAVE.
const FAREWELL: Duration = Duration::from_secs(2);

/// Longest line read from standard input: one byte over the message limit, so a longer line is
/// known to be too long without keeping the rest of it.
const MAX_LINE: usize = DEFAULT_MAX_MESSAGE + 1;

/// Lines read but not yet taken by the network loop. The loop takes them all at every turn, so
/// this is only reached when input comes faster than that (a paste, a pipe); then the input
/// thread waits for room instead of collecting lines without end.
const LINES_WAITING: usize = 64;

const HELP: &str = "type a line to send it to the room; /stats shows the counters, /quit leaves \
(so does end of input, Ctrl-D)";

/// What the input thread (or Ctrl-C) tells the network loop.
enum Input {
    Line(Vec<u8>),
    End,
}

/// What `udp-chat connect` runs with; `cli.rs` builds it from the flags.
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    /// The room's address as typed (`HOST:PORT`), resolved when the client starts.
    pub target: String,
    /// The name asked for in the JOIN.
    pub name: String,
    /// The conversation with the room as the flags set it: reliability, faults, silence,
    /// `--trace`. [`run`] adds the client's PINGs and the room's message size.
    pub endpoint: EndpointConfig,
    /// `--pcap`: record every datagram in this pcapng file ([`crate::capture`]).
    pub pcap: Option<PathBuf>,
}

/// Joins the room and chats until the user leaves or the server goes away.
pub fn run(config: &ConnectConfig) -> Result<(), Error> {
    let server = resolve_one(&config.target)?;
    let endpoint_config = EndpointConfig {
        connection: room_config(config.endpoint.connection),
        ping_every: Some(PING_EVERY),
        ..config.endpoint
    };
    let mut endpoint = Endpoint::connect(server, endpoint_config)?;
    if let Some(path) = &config.pcap {
        endpoint.capture_to(path)?;
    }
    print_banners(
        &endpoint_config.connection,
        &endpoint_config.faults,
        endpoint_config.faults_incoming,
    );
    term::info(format!(
        "joining the room at {server} as {} (from {}); {HELP}",
        config.name,
        endpoint.local_addr()?
    ));
    if let Some(connection) = endpoint.connection(server) {
        connection
            .send_join(config.name.as_bytes())
            .map_err(|err| Error::Failed(format!("cannot send JOIN: {err}")))?;
    }
    let inputs = start_input(&endpoint)?;
    let mut chat = Chat {
        server,
        started: Instant::now(),
        welcomed: false,
    };
    let outcome = chat.converse(&mut endpoint, &inputs);
    chat.print_stats(&endpoint);
    capture::finish(endpoint.detach_capture());
    outcome
}

/// The first address `target` resolves to.
fn resolve_one(target: &str) -> Result<SocketAddr, Error> {
    netlab_common::net::resolve(target)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Usage(format!("{target} resolves to no address")))
}

/// Starts the thread that reads standard input, and routes Ctrl-C the same way.
fn start_input(endpoint: &Endpoint) -> Result<Receiver<Input>, Error> {
    let (lines, inputs) = sync_channel(LINES_WAITING);
    let waker = endpoint.waker()?;
    let ctrl_c = (lines.clone(), Arc::clone(&waker));
    ctrlc::set_handler(move || {
        let _ = ctrl_c.0.send(Input::End);
        let _ = ctrl_c.1.wake();
    })
    .map_err(|err| Error::Failed(format!("cannot install the Ctrl-C handler: {err}")))?;
    accept::spawn_named("keyboard", move || read_input(&lines, &waker))?;
    Ok(inputs)
}

fn read_input(lines: &SyncSender<Input>, waker: &mio::Waker) {
    let mut stdin = BufReader::new(std::io::stdin().lock());
    loop {
        let input = match read_line(&mut stdin) {
            Some(line) => Input::Line(line),
            None => Input::End,
        };
        let end = matches!(input, Input::End);
        if lines.send(input).is_err() || waker.wake().is_err() || end {
            return;
        }
    }
}

/// One line of standard input without its line ending, at most [`MAX_LINE`] bytes of it (the
/// rest of a longer line is read and thrown away); `None` at the end of input.
fn read_line(input: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
    match input.by_ref().take(limit).read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    if line.last() != Some(&b'\n') {
        skip_rest_of_line(input);
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Some(line)
}

/// Reads up to the next newline (or the end), keeping nothing.
fn skip_rest_of_line(input: &mut impl BufRead) {
    loop {
        let (found, used) = match input.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buffer) => match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => (true, at + 1),
                None => (false, buffer.len()),
            },
        };
        input.consume(used);
        if found {
            return;
        }
    }
}

/// The client's view of the conversation.
struct Chat {
    server: SocketAddr,
    started: Instant,
    /// The server sent its welcome (until then, a LEAVE means we were refused).
    welcomed: bool,
}

impl Chat {
    /// The loop: typed lines out, messages in, until one side ends it.
    fn converse(&mut self, endpoint: &mut Endpoint, inputs: &Receiver<Input>) -> Result<(), Error> {
        let mut peer_events = Vec::new();
        loop {
            endpoint.turn(None, &mut peer_events)?;
            for peer_event in peer_events.drain(..) {
                if let Some(end) = self.react(peer_event) {
                    // Give the ACK of the server's LEAVE a chance to go out.
                    endpoint.turn(Some(Duration::ZERO), &mut Vec::new())?;
                    return end;
                }
            }
            while let Ok(input) = inputs.try_recv() {
                match input {
                    Input::Line(line) if line == b"/quit" => return self.leave(endpoint),
                    Input::Line(line) => self.typed(endpoint, &line),
                    Input::End => return self.leave(endpoint),
                }
            }
        }
    }

    /// Shows what happened; `Some` ends the chat.
    fn react(&mut self, peer_event: PeerEvent) -> Option<Result<(), Error>> {
        match peer_event {
            PeerEvent::Connection(_, Event::Delivered(message)) => {
                let text = term::sanitize_bytes(&message);
                match text.strip_prefix(NOTICE) {
                    Some(notice) => {
                        self.welcomed |= notice.starts_with("welcome");
                        term::info(notice);
                    }
                    None => term::chat(text),
                }
                None
            }
            PeerEvent::Connection(_, Event::Left) if self.welcomed => {
                term::info("the server closed the conversation");
                Some(Ok(()))
            }
            PeerEvent::Connection(_, Event::Left) => Some(Err(Error::Failed(
                "the server refused to let us in (its notice is above)".into(),
            ))),
            PeerEvent::Connection(_, Event::Unreachable { seq, transmissions }) => {
                Some(Err(Error::Failed(format!(
                    "server {} unreachable: datagram {seq} was sent {transmissions} times and never \
                     acknowledged (raise --max-retries or --rto-max to wait longer)",
                    self.server
                ))))
            }
            PeerEvent::Silent(_, quiet_for) => Some(Err(Error::Failed(format!(
                "server {} stopped answering: nothing received for {:.1} s, not even a PONG",
                self.server,
                quiet_for.as_secs_f64()
            )))),
            PeerEvent::Refused(_) => Some(Err(Error::Failed(format!(
                "nobody is listening at {} (the OS reported ICMP port unreachable): is \
                 `udp-chat serve` running there?",
                self.server
            )))),
            PeerEvent::Connection(_, Event::Joined(_) | Event::Pong { .. }) => None,
        }
    }

    /// A line the user typed: a command or a message.
    fn typed(&self, endpoint: &mut Endpoint, line: &[u8]) {
        match line {
            b"" => {}
            b"/stats" => self.print_stats(endpoint),
            b"/help" => term::info(HELP),
            _ if line.starts_with(b"/") => {
                term::warn(format!(
                    "unknown command {}; {HELP}",
                    term::sanitize_bytes(line)
                ));
            }
            _ => self.send(endpoint, line),
        }
    }

    fn send(&self, endpoint: &mut Endpoint, message: &[u8]) {
        if message.len() > DEFAULT_MAX_MESSAGE {
            term::error(format!(
                "not sent: {} bytes is over the {DEFAULT_MAX_MESSAGE}-byte message limit",
                message.len()
            ));
            return;
        }
        let Some(connection) = endpoint.connection(self.server) else {
            return;
        };
        match connection.send_message(message) {
            Ok(()) => {}
            Err(SendError::QueueFull { .. }) => term::warn(
                "not sent: too many messages wait for the network; try again in a moment",
            ),
            Err(err) => term::error(format!("not sent: {err}")),
        }
    }

    /// Sends LEAVE and waits (briefly) until the server has acknowledged everything.
    fn leave(&self, endpoint: &mut Endpoint) -> Result<(), Error> {
        let Some(connection) = endpoint.connection(self.server) else {
            return Ok(());
        };
        if connection.send_leave().is_err() {
            return Ok(());
        }
        let deadline = Instant::now() + FAREWELL;
        let mut peer_events = Vec::new();
        while Instant::now() < deadline {
            endpoint.turn(Some(Duration::from_millis(20)), &mut peer_events)?;
            peer_events.clear();
            let done = endpoint
                .connection(self.server)
                .is_none_or(|connection| connection.is_idle() || connection.is_unreachable());
            if done {
                break;
            }
        }
        term::info("left the room");
        Ok(())
    }

    fn print_stats(&self, endpoint: &Endpoint) {
        let Some(stats) = endpoint.stats(self.server) else {
            return;
        };
        for line in stats.summary_lines(self.started.elapsed()) {
            term::info(line);
        }
        if endpoint.kernel_drops() > 0 {
            term::info(format!(
                "datagrams our own kernel dropped (socket buffer full): {}",
                endpoint.kernel_drops()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Lines lose their ending; a line over the limit comes back cut to [`MAX_LINE`] bytes (so
    /// it is refused as too long) and the rest of it is skipped, not kept.
    #[test]
    fn input_lines_are_bounded() {
        let mut long = vec![b'x'; 3 * MAX_LINE];
        long.extend_from_slice(b"\nnext\r\n");
        let mut input = &long[..];
        assert_eq!(read_line(&mut input).unwrap().len(), MAX_LINE);
        assert_eq!(read_line(&mut input).unwrap(), b"next");
        assert_eq!(read_line(&mut input), None);
    }
}
