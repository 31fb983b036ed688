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
//! `--max-clients` members; the next one gets a notice ("room full") and a LEAVE. Names are
//! cleaned of control characters and cut to [`MAX_NAME`] characters; a name already taken gets a
//! number. Peers that are not members (strangers being refused, members saying goodbye) take at
//! most [`PARTING_PEERS`] more places; past that a stranger's JOIN is dropped unanswered, and its
//! client's retransmission asks again later.
//!
//! ## A member that does not keep up
//! The room holds, for each member, every datagram relayed to it until the member acknowledges
//! it: up to the window in flight, then up to [`MEMBER_BACKLOG`] waiting for the window. A member
//! that answers PINGs but never acknowledges DATA (a stuck client, a suspended laptop behind a
//! NAT that still answers, or an attacker) stops that queue from draining, and each message the
//! room relays adds to it. Something must give; the choices are:
//!
//! - **refuse the sender's message**: one slow member would then silence everybody, the very
//!   head-of-line blocking that per-member connections exist to avoid;
//! - **throw away the oldest messages queued for the slow member**: its client would show a
//!   conversation with holes and never know, breaking the one promise of this protocol (every
//!   message, once, in order); and datagrams already sent carry sequence numbers that cannot be
//!   taken back;
//! - **drop the slow member**, tell everyone else, free its memory at once. That is what a real
//!   chat service does (IRC servers close a client with "Max SendQ exceeded"), and what a
//!   student would expect: the others' messages keep flowing, the slow member can join again.
//!
//! The room does the third, twice over:
//!
//! 1. **per member**: a message that does not fit in a member's backlog drops that member,
//!    `*** NAME dropped (too far behind: ...)`, after the message was queued for everyone else;
//! 2. **for the whole room**: when all members together hold more than [`MAX_HELD_IN_ROOM`]
//!    datagrams (several members far behind at once, or a larger `--window` or
//!    `--max-clients`), the member holding the most is dropped the same way, until the room is
//!    under its limit.
//!
//! Dropping removes the member's connection with everything queued for it, so the memory goes
//! back to the allocator when the member goes, not when a timer notices. The dropped member is
//! not told (its queue is the thing that is stuck); its datagrams are a stranger's from then on,
//! and its client notices the silence. Each drop is a warning in the room's log.
//!
//! The server is one thread: the event loop of [`Endpoint`], because a UDP server has one socket
//! however many members it serves.
//!
//! [`Connection`]: crate::Connection

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlab_common::{Error, term};

use crate::capture;
use crate::connection::{Config, DEFAULT_BACKLOG, Event, SendError};
use crate::describe::print_banners;
use crate::endpoint::{Endpoint, EndpointConfig, PeerEvent};
use crate::protocol::{MAX_NAME, NOTICE, room_config};

/// Members a room takes by default (`--max-clients`).
pub const DEFAULT_MAX_MEMBERS: usize = 64;

/// How long a departing member (or everyone, at shutdown) gets to acknowledge the last datagrams.
const FAREWELL: Duration = Duration::from_secs(2);

/// Datagrams that may wait for a member's window, on top of the window in flight: as many as a
/// netlab client keeps waiting for its own window ([`DEFAULT_BACKLOG`]). A member who pastes a
/// long text sends its whole queue as fast as the room acknowledges, which is faster than a
/// member whose client is busier (printing, on a slower link) acknowledges what the room relays;
/// with a backlog as long as the sender's, such a burst drops nobody who is still acknowledging.
/// (256, enough for one longest message from each member of a full room at once, was tried
/// first: a well-behaved member was dropped during a 400-line paste in a debug build.)
/// With the default window a member holds at most 32 + 1024 datagrams of at most 1200 bytes,
/// 1.2 MiB; the old bound was 8192 waiting, 9.4 MiB, which 10 members that never acknowledged
/// turned into 85 MB of the room's memory.
pub const MEMBER_BACKLOG: usize = DEFAULT_BACKLOG;

/// Datagrams the room holds for all its members together: a full default room (64) in which
/// every member sends one message of the longest kind (4 datagrams when relayed) at the same
/// moment holds 64 x 63 x 4 = 16 128; rounded up to 16 384, at most 19 MiB. Several members far
/// behind at once reach it before each reaches its own bound; then the one holding the most goes.
pub const MAX_HELD_IN_ROOM: usize = 16_384;

/// Peers the room keeps beyond its members: a stranger refused ("room full") and a member that
/// left each keep their connection for `FAREWELL` so the last notice and LEAVE get through.
/// 64 is a whole default room leaving at once; more strangers than that in 2 s are a flood, and
/// their JOINs are dropped without creating anything.
pub const PARTING_PEERS: usize = 64;

/// What `udp-chat serve` runs with; `cli.rs` builds it from the flags.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Where the room's one socket is bound.
    pub addr: SocketAddr,
    /// Members at once (`--max-clients`).
    pub max_members: usize,
    /// Each member's conversation as the flags set it: reliability, faults, PINGs, silence,
    /// `--trace`. [`serve`] adds the room's own rules (strangers may JOIN, the peer limit, the
    /// backlog of [`member_config`]).
    pub endpoint: EndpointConfig,
    /// `--pcap`: record every datagram in this pcapng file ([`crate::capture`]).
    pub pcap: Option<PathBuf>,
}

/// The room's side of each member's conversation: [`room_config`] with the backlog bounded by
/// [`MEMBER_BACKLOG`].
pub fn member_config(config: Config) -> Config {
    Config {
        max_queued: MEMBER_BACKLOG,
        ..room_config(config)
    }
}

/// Runs the room until Ctrl-C.
pub fn serve(config: &ServeConfig) -> Result<(), Error> {
    let endpoint_config = EndpointConfig {
        connection: member_config(config.endpoint.connection),
        accept_strangers: true,
        max_peers: Some(config.max_members.saturating_add(PARTING_PEERS)),
        ..config.endpoint
    };
    let mut endpoint = Endpoint::bind(config.addr, endpoint_config)?;
    if let Some(path) = &config.pcap {
        endpoint.capture_to(path)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let waker = endpoint.waker()?;
    let on_signal = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        on_signal.store(true, Ordering::SeqCst);
        let _ = waker.wake();
    })
    .map_err(|err| Error::Failed(format!("cannot install the Ctrl-C handler: {err}")))?;
    print_banners(
        &endpoint_config.connection,
        &endpoint_config.faults,
        endpoint_config.faults_incoming,
    );
    netlab_common::net::announce_listening(endpoint.local_addr()?);
    let mut room = Room::new(config.max_members);
    let mut peer_events = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        endpoint.turn(None, &mut peer_events)?;
        for peer_event in peer_events.drain(..) {
            room.react(&mut endpoint, peer_event);
        }
    }
    room.close(&mut endpoint, &mut peer_events)?;
    term::info(format!(
        "room closed; datagrams from strangers dropped: {}",
        endpoint.strangers()
    ));
    capture::finish(endpoint.detach_capture());
    Ok(())
}

/// The members, by address.
#[derive(Debug)]
pub struct Room {
    members: BTreeMap<SocketAddr, String>,
    max_members: usize,
    /// Members found too far behind while a message was being queued for everyone, with the
    /// reason; they are dropped once the message has been queued for all the others.
    behind: VecDeque<(SocketAddr, String)>,
}

impl Room {
    /// An empty room for at most `max_members`.
    pub fn new(max_members: usize) -> Self {
        Self {
            members: BTreeMap::new(),
            max_members,
            behind: VecDeque::new(),
        }
    }

    /// Reacts to one thing that happened on the network, then drops the members that fell too
    /// far behind because of it.
    pub fn react(&mut self, endpoint: &mut Endpoint, peer_event: PeerEvent) {
        self.react_to(endpoint, peer_event);
        self.drop_members_behind(endpoint);
    }

    fn react_to(&mut self, endpoint: &mut Endpoint, peer_event: PeerEvent) {
        match peer_event {
            PeerEvent::Connection(from, Event::Joined(name)) => self.join(endpoint, from, &name),
            PeerEvent::Connection(from, Event::Delivered(message)) => {
                self.relay(endpoint, from, &message)
            }
            PeerEvent::Connection(from, Event::Left) => {
                endpoint.retire(from, FAREWELL);
                self.depart(endpoint, from, "left");
            }
            PeerEvent::Connection(from, Event::Unreachable { transmissions, .. }) => {
                endpoint.remove(from);
                let reason =
                    format!("not answering: a datagram went {transmissions} times unacknowledged");
                self.depart(endpoint, from, &format!("dropped ({reason})"));
            }
            PeerEvent::Silent(from, quiet_for) => {
                let reason = format!("no answer to PINGs for {:.1} s", quiet_for.as_secs_f64());
                self.depart(endpoint, from, &format!("dropped ({reason})"));
            }
            PeerEvent::Connection(from, Event::PeerResends) => term::warn(format!(
                "{from} resends what this room never acknowledges: it runs a reliable mode and \
                 the room runs none (plain UDP), so its lines may be relayed more than once"
            )),
            PeerEvent::Connection(_, Event::Pong { .. }) | PeerEvent::Refused(_) => {}
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

    /// Drops every member found too far behind, and then, while the room as a whole holds more
    /// than [`MAX_HELD_IN_ROOM`] datagrams, the member holding the most (see the module docs).
    /// Each notice of a drop is itself queued for the others, and may find one more too far
    /// behind: the loop goes on until nobody is.
    fn drop_members_behind(&mut self, endpoint: &mut Endpoint) {
        loop {
            let (addr, why) = match self.behind.pop_front() {
                Some(found) => found,
                None => match self.member_holding_most(endpoint) {
                    Some(found) => found,
                    None => return,
                },
            };
            if let Some(name) = self.members.get(&addr) {
                term::warn(format!("dropping {name} ({addr}): {why}"));
            }
            endpoint.remove(addr);
            self.depart(endpoint, addr, &format!("dropped ({why})"));
        }
    }

    /// The member to drop when the room holds more than [`MAX_HELD_IN_ROOM`] datagrams.
    fn member_holding_most(&self, endpoint: &Endpoint) -> Option<(SocketAddr, String)> {
        let held: Vec<(SocketAddr, usize)> = self
            .members
            .keys()
            .filter_map(|addr| Some((*addr, endpoint.held(*addr)?)))
            .collect();
        let total = held.iter().map(|(_, count)| count).sum();
        let (addr, most) = most_behind(&held, total, MAX_HELD_IN_ROOM)?;
        Some((
            addr,
            format!(
                "too far behind: the room holds {total} datagrams for its members, over its \
                 limit of {MAX_HELD_IN_ROOM}, and {most} of them are for this one"
            ),
        ))
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

    /// Queues `bytes` for one member. A member whose backlog cannot take the message is noted
    /// as too far behind (it stopped acknowledging while the room went on talking) and dropped
    /// by [`Self::drop_members_behind`] once the message is queued for everybody else.
    fn send_bytes(&mut self, endpoint: &mut Endpoint, to: SocketAddr, bytes: &[u8]) {
        let Some(connection) = endpoint.connection(to) else {
            return;
        };
        match connection.send_message(bytes) {
            Ok(()) | Err(SendError::Unreachable) => {}
            Err(SendError::QueueFull { needed, .. }) => {
                let why = format!(
                    "too far behind: {} datagrams wait for its acknowledgements, {needed} more \
                     would pass the limit of {}",
                    connection.held(),
                    connection.max_held()
                );
                self.behind.push_back((to, why));
            }
            Err(SendError::Fragment(err)) => term::warn(format!("not relayed to {to}: {err}")),
        }
    }

    /// Tells everyone the room is closing and waits (briefly) for their acknowledgements.
    pub fn close(
        &mut self,
        endpoint: &mut Endpoint,
        peer_events: &mut Vec<PeerEvent>,
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
            endpoint.turn(Some(Duration::from_millis(50)), peer_events)?;
            peer_events.clear();
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

/// Whom to drop when the room holds `total` datagrams, over `limit`: the member holding the
/// most (`held`: each member's count), since it is the one furthest behind and dropping it gives
/// back the most. Among equals, the first. `None` when the room is within its limit.
fn most_behind(
    held: &[(SocketAddr, usize)],
    total: usize,
    limit: usize,
) -> Option<(SocketAddr, usize)> {
    if total <= limit {
        return None;
    }
    held.iter().copied().rev().max_by_key(|(_, count)| *count)
}

/// The Unicode controls that reorder displayed text (the "Trojan Source" characters).
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fragment::DEFAULT_MAX_MESSAGE;
    use crate::protocol::RELAY_OVERHEAD;

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

    /// Within the limit nobody is dropped; over it, the member holding the most (the first of
    /// equals) is.
    #[test]
    fn the_member_holding_most_is_dropped_over_the_room_limit() {
        let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let held = [(at(1), 10), (at(2), 300), (at(3), 300), (at(4), 5)];
        assert_eq!(most_behind(&held, 615, 615), None);
        assert_eq!(most_behind(&held, 616, 615), Some((at(2), 300)));
        assert_eq!(most_behind(&[], 1, 0), None);
    }

    /// A full default room in which everybody sends one longest message at once stays under the
    /// room's limit; one member's whole backlog does too.
    #[test]
    fn the_room_limit_leaves_room_for_a_full_room_talking_at_once() {
        let longest = DEFAULT_MAX_MESSAGE + RELAY_OVERHEAD;
        let pieces = longest.div_ceil(crate::wire::DEFAULT_MAX_DATAGRAM - crate::wire::HEADER_LEN);
        assert_eq!(pieces, 4);
        let everybody_at_once = DEFAULT_MAX_MEMBERS * (DEFAULT_MAX_MEMBERS - 1) * pieces;
        assert!(everybody_at_once <= MAX_HELD_IN_ROOM);
        let member = member_config(Config::default());
        assert!(member.window as usize + member.max_queued < MAX_HELD_IN_ROOM);
    }
}
