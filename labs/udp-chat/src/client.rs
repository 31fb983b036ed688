//! # `udp-chat connect`: one member of a room
//!
//! The client must do two things at once: wait for the user to type, and wait for datagrams
//! (and timers: a retransmission is due even when nobody types). The shared console
//! ([`netlab_common::console`]) reads the keyboard on its own thread and hands each line over a
//! channel, then *wakes* the network loop with a mio [`Waker`]; the loop itself only ever waits
//! in one place, [`Endpoint::turn`]. Messages appear as they arrive, whatever the user is doing.
//!
//! On a terminal the console keeps the line being typed at the bottom, and above it the status
//! rows ([`status`]): the room, the window and the timer, and whether each recent line is
//! pending, acknowledged or resent. In a pipe, or with `--plain`, everything is printed line by
//! line, as a script expects.
//!
//! What the client keeps is bounded too: a typed line is read up to `MAX_LINE` bytes (a longer
//! one is refused, not collected: `udp-chat connect < /dev/zero` must not fill memory), the
//! console holds a bounded number of lines that wait for the loop (then its reader waits, and so
//! does whoever writes into our standard input), and the connection's backlog is
//! [`crate::connection::DEFAULT_BACKLOG`] datagrams.
//!
//! [`Waker`]: mio::Waker

pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlab_common::console::{self, Console, Input, Options};
use netlab_common::{Error, term};

use crate::capture;
use crate::connection::{Event, SendError};
use crate::describe::print_banners;
use crate::endpoint::{Endpoint, EndpointConfig, PeerEvent};
use crate::fragment::DEFAULT_MAX_MESSAGE;
use crate::protocol::{NOTICE, room_config};
use status::{Link, Offer, Status, Throttle};

/// How often the client PINGs the server, to notice a server that went away while we only read.
const PING_EVERY: Duration = Duration::from_secs(2);

/// How long leaving waits for the server to acknowledge our last messages and our LEAVE.
const FAREWELL: Duration = Duration::from_secs(2);

/// Longest line read from standard input: one byte over the message limit, so a longer line is
/// known to be too long without keeping the rest of it.
const MAX_LINE: usize = DEFAULT_MAX_MESSAGE + 1;

/// The commands Tab completes; anything else starting with `/` is refused, not sent.
const COMMANDS: &[&str] = &["/help", "/quit", "/stats"];

const HELP: &str = "type a line to send it to the room; /stats shows the counters, /quit leaves \
(so does end of input, Ctrl-D)";

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
    /// `--plain`: line by line even on a terminal.
    pub plain: bool,
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
    let waker = endpoint.waker()?;
    let console = start_console(config.plain, &waker)?;
    let interrupted = catch_ctrl_c(waker)?;
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
    let mut chat = Chat {
        server,
        started: Instant::now(),
        welcomed: false,
        status: console
            .is_full_screen()
            .then(|| Status::new(server, &config.name)),
        throttle: Throttle::default(),
    };
    let outcome = chat.converse(&mut endpoint, &console, &interrupted);
    chat.print_stats(&endpoint);
    capture::finish(endpoint.detach_capture());
    // The terminal is given back before `main` prints an error, so the error is not drawn
    // over by the status rows.
    drop(console);
    outcome
}

/// The shared console: full-screen on a terminal (unless `plain`), line by line otherwise. Each
/// line typed wakes the network loop.
fn start_console(plain: bool, waker: &Arc<mio::Waker>) -> Result<Console, Error> {
    let waker = Arc::clone(waker);
    let options = Options::new("> ")
        .commands(COMMANDS)
        .max_line(MAX_LINE)
        .plain(plain)
        .wake(move || {
            let _ = waker.wake();
        });
    Console::start(options)
}

/// Ctrl-C as a signal (the plain mode, or `kill -INT`) leaves the room like `/quit`: it raises
/// the returned flag and wakes the loop. In the full-screen mode the terminal sends no signal
/// for the key; the console delivers it as [`Input::Interrupt`] and [`Input::Ended`] instead.
fn catch_ctrl_c(waker: Arc<mio::Waker>) -> Result<Arc<AtomicBool>, Error> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || {
        flag.store(true, Ordering::Release);
        let _ = waker.wake();
    })
    .map_err(|err| Error::Failed(format!("cannot install the Ctrl-C handler: {err}")))?;
    Ok(interrupted)
}

/// The first address `target` resolves to.
fn resolve_one(target: &str) -> Result<SocketAddr, Error> {
    netlab_common::net::resolve(target)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Usage(format!("{target} resolves to no address")))
}

/// The client's view of the conversation.
struct Chat {
    server: SocketAddr,
    started: Instant,
    /// The server sent its welcome (until then, a LEAVE means we were refused).
    welcomed: bool,
    /// What the status rows show (full-screen mode only).
    status: Option<Status>,
    throttle: Throttle,
}

impl Chat {
    /// The loop: typed lines out, messages in, until one side ends it.
    fn converse(
        &mut self,
        endpoint: &mut Endpoint,
        console: &Console,
        interrupted: &AtomicBool,
    ) -> Result<(), Error> {
        let mut peer_events = Vec::new();
        let mut wait = self.show_status(endpoint);
        loop {
            endpoint.turn(wait, &mut peer_events)?;
            for peer_event in peer_events.drain(..) {
                if let Some(end) = self.react(peer_event) {
                    // Give the ACK of the server's LEAVE a chance to go out.
                    endpoint.turn(Some(Duration::ZERO), &mut Vec::new())?;
                    return end;
                }
            }
            while let Ok(input) = console.inputs().try_recv() {
                match input {
                    Input::Line(line) if is_command(&line, "/quit") => {
                        return self.leave(endpoint);
                    }
                    Input::Line(line) => self.typed(endpoint, &line),
                    // The console has shown how to quit; there is nothing running to cancel.
                    Input::Interrupt => {}
                    Input::Ended => return self.leave(endpoint),
                }
            }
            if interrupted.load(Ordering::Acquire) {
                return self.leave(endpoint);
            }
            // Typed lines leave now rather than at the next turn, so the status shows them in
            // flight, not waiting (their events are taken after the next turn).
            endpoint.flush_now(&mut peer_events);
            wait = self.show_status(endpoint);
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
                        if let Some(status) = &mut self.status {
                            status.notice(notice);
                        }
                        term::info(notice);
                    }
                    None => term::chat(text),
                }
                None
            }
            PeerEvent::Connection(_, Event::PeerResends) => {
                term::warn(
                    "the room resent a message: it runs a reliable mode and waits for \
                     acknowledgements, which plain UDP (--no-retransmit, --arq none) never sends, \
                     so every copy that arrives is shown and lines may appear twice; leave out \
                     --no-retransmit to match the room",
                );
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

    /// A line the user typed: a command or a message. A command is recognized with spaces
    /// after it (Tab completion leaves one); an unknown one is refused here, never sent as chat.
    fn typed(&mut self, endpoint: &mut Endpoint, line: &str) {
        match line {
            "" => {}
            _ if is_command(line, "/stats") => self.print_stats(endpoint),
            _ if is_command(line, "/help") => term::info(HELP),
            _ if line.starts_with('/') => {
                term::warn(format!("unknown command {}; {HELP}", term::sanitize(line)));
            }
            _ => self.send(endpoint, line),
        }
    }

    fn send(&mut self, endpoint: &mut Endpoint, message: &str) {
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
        let first = connection.next_seq();
        match connection.send_message(message.as_bytes()) {
            Ok(()) => {
                if let Some(status) = &mut self.status {
                    status.sent(message, first, connection.next_seq());
                }
            }
            Err(SendError::QueueFull { .. }) => term::warn(
                "not sent: too many messages wait for the network; try again in a moment",
            ),
            Err(err) => term::error(format!("not sent: {err}")),
        }
    }

    /// Full-screen mode: brings the status rows up to date, throttled ([`Throttle`]). Returns
    /// how soon the loop must come back to show a change held back, if one was.
    fn show_status(&mut self, endpoint: &mut Endpoint) -> Option<Duration> {
        let status = self.status.as_mut()?;
        let connection = endpoint.connection(self.server)?;
        status.follow(|seq| connection.outbound(seq));
        let link = Link {
            mode: connection.config().mode,
            in_flight: connection.in_flight(),
            window: connection.window(),
            queued: connection.held().saturating_sub(connection.in_flight()),
            srtt: connection.rtt().srtt(),
            rto: connection.rtt().rto(),
        };
        match self.throttle.offer(status.rows(&link), Instant::now()) {
            Offer::Same => None,
            Offer::Show(rows) => {
                console::set_status(rows);
                None
            }
            Offer::Later(after) => Some(after),
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

/// Is `line` the command `name`, perhaps with spaces after it?
fn is_command(line: &str, name: &str) -> bool {
    line.trim_end() == name
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use netlab_common::console::read_bounded_line;

    /// Lines lose their ending; a line over the limit comes back cut to [`MAX_LINE`] bytes (so
    /// it is refused as too long) and the rest of it is skipped, not kept. (The console reads
    /// standard input with the client's limit.)
    #[test]
    fn input_lines_are_bounded() {
        let mut long = vec![b'x'; 3 * MAX_LINE];
        long.extend_from_slice(b"\nnext\r\n");
        let mut input = &long[..];
        assert_eq!(
            read_bounded_line(&mut input, MAX_LINE).unwrap().len(),
            MAX_LINE
        );
        assert_eq!(read_bounded_line(&mut input, MAX_LINE).unwrap(), b"next");
        assert_eq!(read_bounded_line(&mut input, MAX_LINE), None);
    }

    /// Commands are known with the space Tab completion leaves; anything longer is not them.
    #[test]
    fn commands_with_trailing_spaces() {
        assert!(is_command("/stats ", "/stats"));
        assert!(is_command("/quit", "/quit"));
        assert!(!is_command("/quit now", "/quit"));
        assert!(!is_command(" /quit", "/quit"));
    }
}
