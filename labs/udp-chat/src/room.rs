//! # `udp-chat serve`: a relay room
//!
//! Members send their messages to the server; the server sends each one, prefixed with the
//! sender's name, to every other member, over each member's own reliable [`Connection`]
//! (so a loss between the server and Bob is repaired between the server and Bob, without Alice
//! resending anything). This is how most real chat systems work, and it keeps every client
//! simple: one peer, the server.
//!
//! ```text
//!   ada ──DATA "hi"──▶ ┌────────┐ ──DATA "<ada> hi"──▶ bob
//!       ◀────ACK────── │ server │ ◀──────ACK───────
//!                      └────────┘ ──DATA "<ada> hi"──▶ cy
//! ```
//!
//! ## Who is in the room
//! A member exists from its JOIN (which carries its name) to its LEAVE. UDP never says that a
//! peer went away, so the server PINGs every member (`--ping-interval`) and drops one that has
//! sent nothing, not even a PONG, for `--drop-after` seconds; a member whose datagrams stay
//! unacknowledged after every retransmission is dropped too. Either way the room is told.
//!
//! ## Limits
//! `--max-clients` members; the next one gets a notice ("room full") and a LEAVE. A member that
//! cannot keep up (its send queue is full: it stopped acknowledging while the room kept talking)
//! is dropped so it cannot hold memory forever. Names are cleaned of control characters and cut
//! to [`MAX_NAME`] characters; a name already taken gets a number.
//!
//! The server is one thread: the event loop of [`Endpoint`], because a UDP server has one socket
//! however many members it serves.
//!
//! [`Connection`]: crate::Connection

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlab_common::{Error, term};

use crate::cli::{self, ServeArgs};
use crate::connection::{Config, Event, SendError};
use crate::endpoint::{Endpoint, Happening, Settings};
use crate::fragment::DEFAULT_MAX_MESSAGE;

/// Longest member name, in characters.
pub const MAX_NAME: usize = 24;

/// Room for `<name> ` in front of a relayed message: messages are up to
/// [`DEFAULT_MAX_MESSAGE`] bytes, relayed ones up to this much longer.
pub const RELAY_OVERHEAD: usize = 4 * MAX_NAME + 3;

/// Notices from the server start with this, so clients can show them differently.
pub const NOTICE: &str = "*** ";

/// How long a departing member (or everyone, at shutdown) gets to acknowledge the last datagrams.
const FAREWELL: Duration = Duration::from_secs(2);

/// The largest message the room and its members carry: a typed message plus a name prefix.
pub fn room_config(config: Config) -> Config {
    Config {
        max_message: DEFAULT_MAX_MESSAGE + RELAY_OVERHEAD,
        ..config
    }
}

/// Runs the room until Ctrl-C.
pub fn serve(args: &ServeArgs) -> Result<(), Error> {
    let arq = if args.no_retransmit {
        cli::Arq::None
    } else {
        args.arq
    };
    let config = room_config(args.reliability.config(arq)?);
    let faults = args.faults.config(args.loss);
    let settings = Settings {
        faults_incoming: args.faults.faults_incoming,
        ping_every: Some(Duration::from_secs_f64(args.ping_interval)),
        silent_after: Some(Duration::from_secs_f64(args.drop_after)),
        accept_strangers: true,
        trace: args.trace.trace,
        ..Settings::new(config, faults)
    };
    let mut endpoint = Endpoint::bind(args.server.addr(), settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    let waker = endpoint.waker()?;
    let on_signal = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        on_signal.store(true, Ordering::SeqCst);
        let _ = waker.wake();
    })
    .map_err(|err| Error::Protocol(format!("cannot install the Ctrl-C handler: {err}")))?;
    cli::print_banners(&config, &faults, settings.faults_incoming);
    netlab_common::net::announce_listening(endpoint.local_addr()?);
    let mut room = Room::new(args.server.max_clients);
    let mut happenings = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        endpoint.turn(None, &mut happenings)?;
        for happening in happenings.drain(..) {
            room.react(&mut endpoint, happening);
        }
    }
    room.close(&mut endpoint, &mut happenings)?;
    term::info(format!(
        "room closed; datagrams from strangers dropped: {}",
        endpoint.strangers()
    ));
    Ok(())
}

/// The members, by address.
#[derive(Debug)]
pub struct Room {
    members: BTreeMap<SocketAddr, String>,
    max_members: usize,
}

impl Room {
    /// An empty room for at most `max_members`.
    pub fn new(max_members: usize) -> Self {
        Self {
            members: BTreeMap::new(),
            max_members,
        }
    }

    /// Reacts to one thing that happened on the network.
    pub fn react(&mut self, endpoint: &mut Endpoint, happening: Happening) {
        match happening {
            Happening::Event(from, Event::Joined(name)) => self.join(endpoint, from, &name),
            Happening::Event(from, Event::Delivered(message)) => {
                self.relay(endpoint, from, &message)
            }
            Happening::Event(from, Event::Left) => {
                endpoint.retire(from, FAREWELL);
                self.depart(endpoint, from, "left");
            }
            Happening::Event(from, Event::Unreachable { transmissions, .. }) => {
                endpoint.remove(from);
                let reason =
                    format!("not answering: a datagram went {transmissions} times unacknowledged");
                self.depart(endpoint, from, &format!("dropped ({reason})"));
            }
            Happening::Silent(from, quiet_for) => {
                let reason = format!("no answer to PINGs for {:.1} s", quiet_for.as_secs_f64());
                self.depart(endpoint, from, &format!("dropped ({reason})"));
            }
            Happening::Event(_, Event::Pong { .. }) | Happening::Refused(_) => {}
        }
    }

    fn join(&mut self, endpoint: &mut Endpoint, from: SocketAddr, raw_name: &[u8]) {
        if self.members.contains_key(&from) {
            return;
        }
        if self.members.len() >= self.max_members {
            term::warn(format!(
                "refused {from}: room full ({} of {} members)",
                self.members.len(),
                self.max_members
            ));
            let notice = format!(
                "{NOTICE}room full: the limit is {} members; try again later",
                self.max_members
            );
            if let Some(connection) = endpoint.connection(from) {
                let _ = connection.send_message(notice.as_bytes());
                let _ = connection.send_leave();
            }
            endpoint.retire(from, FAREWELL);
            return;
        }
        let name = self.unique_name(&clean_name(raw_name));
        let others = self.members.values().cloned().collect::<Vec<_>>();
        self.members.insert(from, name.clone());
        term::info(format!(
            "{name} joined from {from} ({} of {} members)",
            self.members.len(),
            self.max_members
        ));
        let present = if others.is_empty() {
            "nobody else is here yet".to_string()
        } else {
            format!("here: {}", others.join(", "))
        };
        self.send(
            endpoint,
            from,
            &format!("{NOTICE}welcome, {name}; {present}"),
        );
        self.broadcast(endpoint, Some(from), &format!("{NOTICE}{name} joined"));
    }

    fn relay(&mut self, endpoint: &mut Endpoint, from: SocketAddr, message: &[u8]) {
        let Some(name) = self.members.get(&from) else {
            return;
        };
        let mut relayed = format!("<{name}> ").into_bytes();
        relayed.extend_from_slice(message);
        self.broadcast_bytes(endpoint, Some(from), &relayed);
    }

    fn depart(&mut self, endpoint: &mut Endpoint, from: SocketAddr, how: &str) {
        let Some(name) = self.members.remove(&from) else {
            return;
        };
        term::info(format!(
            "{name} {how} ({} of {} members)",
            self.members.len(),
            self.max_members
        ));
        self.broadcast(endpoint, None, &format!("{NOTICE}{name} {how}"));
    }

    fn broadcast(&mut self, endpoint: &mut Endpoint, except: Option<SocketAddr>, text: &str) {
        self.broadcast_bytes(endpoint, except, text.as_bytes());
    }

    fn broadcast_bytes(
        &mut self,
        endpoint: &mut Endpoint,
        except: Option<SocketAddr>,
        bytes: &[u8],
    ) {
        let recipients: Vec<SocketAddr> = self
            .members
            .keys()
            .copied()
            .filter(|addr| Some(*addr) != except)
            .collect();
        for to in recipients {
            self.send_bytes(endpoint, to, bytes);
        }
    }

    fn send(&mut self, endpoint: &mut Endpoint, to: SocketAddr, text: &str) {
        self.send_bytes(endpoint, to, text.as_bytes());
    }

    /// Queues `bytes` for one member; a member whose queue is full is dropped (it stopped
    /// acknowledging while the room went on talking).
    fn send_bytes(&mut self, endpoint: &mut Endpoint, to: SocketAddr, bytes: &[u8]) {
        let Some(connection) = endpoint.connection(to) else {
            return;
        };
        match connection.send_message(bytes) {
            Ok(()) | Err(SendError::Unreachable) => {}
            Err(SendError::QueueFull { .. }) => {
                endpoint.remove(to);
                self.depart(endpoint, to, "dropped (too far behind: send queue full)");
            }
            Err(SendError::Fragment(err)) => term::warn(format!("not relayed to {to}: {err}")),
        }
    }

    /// Tells everyone the room is closing and waits (briefly) for their acknowledgements.
    pub fn close(
        &mut self,
        endpoint: &mut Endpoint,
        happenings: &mut Vec<Happening>,
    ) -> Result<(), Error> {
        term::info(format!(
            "shutting down; saying goodbye to {} members",
            self.members.len()
        ));
        for addr in endpoint.peer_addrs() {
            if let Some(connection) = endpoint.connection(addr) {
                let _ = connection
                    .send_message(format!("{NOTICE}the server is shutting down").as_bytes());
                let _ = connection.send_leave();
            }
            endpoint.retire(addr, FAREWELL);
        }
        self.members.clear();
        let deadline = Instant::now() + FAREWELL;
        while !endpoint.is_empty() && Instant::now() < deadline {
            endpoint.turn(Some(Duration::from_millis(50)), happenings)?;
            happenings.clear();
        }
        Ok(())
    }

    fn unique_name(&self, wanted: &str) -> String {
        let taken = |name: &str| self.members.values().any(|member| member == name);
        if !taken(wanted) {
            return wanted.to_string();
        }
        (2..)
            .map(|n| format!("{wanted}{n}"))
            .find(|candidate| !taken(candidate))
            .unwrap_or_else(|| wanted.to_string())
    }
}

/// A name fit to show others: control characters removed (a name is shown on every terminal in
/// the room), spaces collapsed, at most [`MAX_NAME`] characters, never empty.
pub fn clean_name(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control() && !is_bidi_override(*c))
        .collect();
    let words: Vec<&str> = cleaned.split(' ').filter(|w| !w.is_empty()).collect();
    let name: String = words.join("_").chars().take(MAX_NAME).collect();
    if name.is_empty() {
        "guest".to_string()
    } else {
        name
    }
}

/// The Unicode controls that reorder displayed text (the "Trojan Source" characters).
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names lose what could disturb a terminal, keep what a person typed, and stay short.
    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name(b"ada"), "ada");
        assert_eq!(clean_name(b"ada lovelace"), "ada_lovelace");
        assert_eq!(clean_name(b"\x1b[31mred\x07"), "[31mred");
        assert_eq!(clean_name(b"  \t "), "guest");
        assert_eq!(clean_name("é\u{202e}x".as_bytes()), "éx");
        assert_eq!(clean_name(&[b'a'; 100]).len(), MAX_NAME);
    }

    /// A second member asking for a taken name gets a numbered one.
    #[test]
    fn taken_names_get_numbers() {
        let mut room = Room::new(8);
        room.members
            .insert(([127, 0, 0, 1], 1).into(), "ada".into());
        room.members
            .insert(([127, 0, 0, 1], 2).into(), "ada2".into());
        assert_eq!(room.unique_name("ada"), "ada3");
        assert_eq!(room.unique_name("bob"), "bob");
    }
}
