//! A room member played by the grader, speaking the protocol with netlab's own [`Connection`]
//! behind a [`FaultInjector`] in both directions (an [`Endpoint`] with `faults_incoming`): what
//! the grader sends is dropped, duplicated or reordered before it leaves, and what the server
//! sends suffers the same on arrival. The grader's side is known to be correct, so whatever goes
//! wrong in the conversation is the server's doing.
//!
//! [`Connection`]: crate::Connection
//! [`FaultInjector`]: crate::FaultInjector

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab_common::grade::conn::{is_silence, silence};
use netlab_common::grade::{CheckResult, Failure, show_bytes};

use crate::arq::ArqMode;
use crate::connection::{Config, Event};
use crate::endpoint::{Endpoint, EndpointConfig, PeerEvent};
use crate::fault::FaultConfig;
use crate::protocol::{NOTICE, WELCOME, room_config};

/// The window of a member that sends a stream ([`Member::join_as_sender`]).
pub const SENDER_WINDOW: u32 = 8;

/// Messages delivered and not yet read by a check. No check expects more than a few hundred
/// (the longest sends 200); a room that sends more than this unasked is flooding the grader,
/// and the member stops with that as its failure instead of collecting without end.
pub const MAX_UNREAD: usize = 1024;

/// One member of the room, on its own UDP socket.
pub struct Member {
    endpoint: Endpoint,
    server: SocketAddr,
    /// The name the server gave us (asked for in the JOIN, read back from the welcome: a name
    /// left taken by an earlier run may come back numbered).
    pub name: String,
    /// A LEAVE was sent.
    left: bool,
    peer_events: Vec<PeerEvent>,
    /// Whole messages delivered by our connection, oldest first; at most [`MAX_UNREAD`].
    inbox: VecDeque<Vec<u8>>,
    /// Why the conversation cannot go on (the server stopped acknowledging, the port refused).
    broken: Option<String>,
}

impl Member {
    /// Opens a socket toward `server` whose datagrams suffer `faults` both ways, sends a JOIN
    /// carrying `name` and waits for the welcome (the first message must start with
    /// [`WELCOME`]); the name the server gave us is read from it.
    ///
    /// The member speaks selective repeat: as a receiver it holds early datagrams, which works
    /// with any sender. A member that sends much through faults uses [`Self::join_as_sender`].
    pub fn join(
        server: SocketAddr,
        name: &str,
        faults: FaultConfig,
        patience: Duration,
    ) -> Result<Self, Failure> {
        Self::join_with(server, name, faults, Config::default(), patience)
    }

    /// [`Self::join`] for a member that sends a stream through faults: go-back-N with a window
    /// of [`SENDER_WINDOW`]. A student's receiver may keep early datagrams or throw them away
    /// (NOT_HELD); go-back-N resends everything after a loss, so it suits both. (Selective
    /// repeat's per-datagram timers against a receiver that throws early datagrams away would
    /// time out the whole window one datagram at a time, backing the RTO off at each.)
    pub fn join_as_sender(
        server: SocketAddr,
        name: &str,
        faults: FaultConfig,
        patience: Duration,
    ) -> Result<Self, Failure> {
        let config = Config {
            mode: ArqMode::GoBackN,
            window: SENDER_WINDOW,
            ..Config::default()
        };
        Self::join_with(server, name, faults, config, patience)
    }

    fn join_with(
        server: SocketAddr,
        name: &str,
        faults: FaultConfig,
        config: Config,
        patience: Duration,
    ) -> Result<Self, Failure> {
        let endpoint_config = EndpointConfig {
            faults_incoming: true,
            ..EndpointConfig::new(room_config(config), faults)
        };
        let endpoint = Endpoint::connect(server, endpoint_config).map_err(|err| {
            Failure::new(format!("a UDP socket toward {server}"), err.to_string())
        })?;
        let mut member = Member {
            endpoint,
            server,
            name: name.to_string(),
            left: false,
            peer_events: Vec::new(),
            inbox: VecDeque::new(),
            broken: None,
        };
        if let Some(connection) = member.endpoint.connection(server) {
            connection
                .send_join(name.as_bytes())
                .map_err(|err| Failure::new("to queue a JOIN", err.to_string()))?;
        }
        let wanted = format!(
            "a first message starting with {}",
            show_bytes(WELCOME.as_bytes())
        );
        let first = member
            .next_message(patience)
            .map_err(|f| Failure::new(format!("{wanted} (the answer to JOIN {name:?})"), f.got))?;
        let Some(welcome) = first.strip_prefix(WELCOME.as_bytes()) else {
            return Err(Failure::new(wanted, show_bytes(&first)));
        };
        member.name = given_name(welcome);
        Ok(member)
    }

    /// Queues a chat message (fragmented by our connection if it is long).
    pub fn say(&mut self, text: &[u8]) -> CheckResult {
        let Some(connection) = self.endpoint.connection(self.server) else {
            return Err(Failure::new("a connection to the server", "none"));
        };
        connection
            .send_message(text)
            .map_err(|err| Failure::new("to queue a message", err.to_string()))?;
        self.endpoint.flush_now(&mut self.peer_events);
        Ok(())
    }

    /// Runs the loop for at most `wait`: sends what is due (ACKs, retransmissions), receives,
    /// and files what arrived.
    pub fn pump(&mut self, wait: Duration) {
        if let Err(err) = self.endpoint.turn(Some(wait), &mut self.peer_events) {
            self.broken.get_or_insert(err.to_string());
        }
        for peer_event in self.peer_events.drain(..) {
            match peer_event {
                PeerEvent::Connection(_, Event::Delivered(_)) if self.inbox.len() >= MAX_UNREAD => {
                    self.broken.get_or_insert(format!(
                        "more than {MAX_UNREAD} messages that no check asked for: a flood"
                    ));
                }
                PeerEvent::Connection(_, Event::Delivered(message)) => {
                    self.inbox.push_back(message)
                }
                PeerEvent::Connection(_, Event::Left) => {
                    self.broken
                        .get_or_insert("a LEAVE from the server: it closed our membership".into());
                }
                PeerEvent::Connection(_, Event::Unreachable { seq, transmissions }) => {
                    self.broken.get_or_insert(format!(
                        "no ACK for our datagram seq {} after {transmissions} transmissions",
                        seq.0
                    ));
                }
                PeerEvent::Refused(_) => {
                    self.broken.get_or_insert(
                        "ICMP port unreachable: nothing listens there (did the server crash?)"
                            .into(),
                    );
                }
                PeerEvent::Connection(..) | PeerEvent::Silent(..) => {}
            }
        }
    }

    /// The next whole message, notices included.
    pub fn next_message(&mut self, patience: Duration) -> Result<Vec<u8>, Failure> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(message) = self.inbox.pop_front() {
                return Ok(message);
            }
            if let Some(why) = &self.broken {
                return Err(Failure::new("a message", why.clone()));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Failure::new("a message", silence(patience)));
            }
            self.pump(deadline - now);
        }
    }

    /// The next chat message: notices from the server (`*** ...`: joins, leaves) are skipped.
    pub fn next_chat(&mut self, patience: Duration) -> Result<Vec<u8>, Failure> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next_message(left).map_err(|f| {
                let got = if is_silence(&f) {
                    silence(patience)
                } else {
                    f.got
                };
                Failure::new(f.expected, got)
            })?;
            if !message.starts_with(NOTICE.as_bytes()) {
                return Ok(message);
            }
        }
    }

    /// Keeps the conversation going for `wait` and fails if any chat message arrives: after
    /// the message a check expected, a copy would be a duplicate.
    pub fn expect_no_chat(&mut self, wait: Duration, after: &str) -> CheckResult {
        match self.next_chat(wait) {
            Ok(message) => Err(Failure::new(
                format!("nothing more after {after}"),
                format!("{} as well", show_bytes(&message)),
            )),
            Err(_) => Ok(()),
        }
    }

    /// Waits until everything we sent has been acknowledged.
    pub fn expect_acknowledged(&mut self, what: &str, patience: Duration) -> CheckResult {
        let deadline = Instant::now() + patience;
        loop {
            let idle = self
                .endpoint
                .connection(self.server)
                .is_some_and(|connection| connection.is_idle());
            if idle {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                let got = match &self.broken {
                    Some(why) => why.clone(),
                    None => format!("no ACK for {:.1} s", patience.as_secs_f64()),
                };
                return Err(Failure::new(format!("an ACK for {what}"), got));
            }
            self.pump((deadline - now).min(Duration::from_millis(20)));
        }
    }

    /// Says goodbye (LEAVE) and waits briefly for its ACK, so the room is left as found.
    pub fn leave(mut self) {
        self.send_leave();
        let _ = self.expect_acknowledged("LEAVE", Duration::from_millis(500));
    }

    fn send_leave(&mut self) {
        if !self.left
            && let Some(connection) = self.endpoint.connection(self.server)
        {
            self.left = connection.send_leave().is_ok();
            self.endpoint.flush_now(&mut self.peer_events);
        }
    }
}

impl Drop for Member {
    /// A member dropped by a failing check still says goodbye (once, without waiting), so the
    /// server does not keep it, and its name, for the next check or the next run.
    fn drop(&mut self) {
        self.send_leave();
    }
}

/// The name in a welcome's rest: `NAME; here: ...` or `NAME`.
pub fn given_name(welcome: &[u8]) -> String {
    let text = String::from_utf8_lossy(welcome);
    text.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}
