//! # The status rows of `udp-chat connect`: the protocol at work, live
//!
//! `--trace` shows every datagram as it goes by, and a loss scrolls away among the ACKs and
//! PINGs. The status rows at the bottom of the full-screen console show the same story as
//! *state*, redrawn in place:
//!
//! ```text
//! udp-chat · 127.0.0.1:7075 · in the room as ada · with bob
//! selective-repeat · in flight 1 of 32 · queued 0 · SRTT 0.3 ms · RTO 800 ms
//!
//!   acknowledged               hi bob
//!   pending, resent x2         hello bob, this line may be lost on the way
//! ```
//!
//! The first row is the conversation with the room: joining or in it, under which name (the
//! room may have changed it), and who else is there, as the room's notices tell (`*** welcome,
//! NAME; here: ...`, `*** NAME joined`, `*** NAME left`, docs/protocols/udp-chat.md,
//! "Membership"). The second is the sender's side of the reliability layer: datagrams in flight
//! against the window, the ones waiting for room in it, and the RFC 6298 §2 estimates, SRTT and the
//! RTO (which doubles at each timeout and falls back with the next clean sample).
//!
//! Then each of the last [`RECENT_LINES`] lines you sent, the newest right above the input line
//! (there are always [`STATUS_ROWS`] rows, blank ones first, so the console's area keeps its
//! size). A line is one DATA datagram, or several if it was fragmented; it is *pending* until
//! every one of them is acknowledged, and *resent xN* counts the retransmissions it took (a timeout, or selective repeat's fast retransmit). The
//! numbers come from [`Connection::outbound`](crate::Connection::outbound), read after every
//! turn of the loop; the window forgets a datagram once it is acknowledged, so the count of
//! transmissions is the highest one seen while it was in flight.
//!
//! Everything here is pure: state in, text out, so the tests check the rows without a terminal.
//! [`Throttle`] decides when the rows are worth sending to the console: at most every
//! [`STATUS_EVERY`], and only when they changed (an ACK every millisecond must not cost a redraw
//! every millisecond).

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab_common::term;

use crate::arq::{ArqMode, Outbound};
use crate::seq::Seq;

/// Sent lines the status follows; older ones leave the rows (they are in the scrollback).
pub const RECENT_LINES: usize = 3;

/// Rows the status always has: the room, the link, and one per recent line.
pub const STATUS_ROWS: usize = 2 + RECENT_LINES;

/// Shortest time between two status updates: the console draws at most 20 frames a second, so
/// sending more often would only be thrown away.
pub const STATUS_EVERY: Duration = Duration::from_millis(50);

/// Characters of a sent line shown in its row.
const PREVIEW: usize = 60;

/// Other members named in the first row; more are counted.
const MEMBERS_NAMED: usize = 8;

/// Names kept from the room's notices. A room announces at most its member limit (64 for
/// netlab's); a server that announces more is not believed past this, so its notices cannot
/// make the client's memory grow.
const MAX_MEMBERS_KEPT: usize = 1024;

/// The welcome's first words once the notice prefix is removed ([`crate::protocol::WELCOME`]).
const WELCOME_WORDS: &str = "welcome, ";

/// Width of the state column of a sent line's row.
const STATE_WIDTH: usize = 26;

/// The conversation with the room, as far as the client can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// JOIN sent, no welcome yet.
    Joining,
    /// Welcomed.
    InRoom,
}

/// What one sent line has become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFate {
    /// Accepted, but none of its datagrams has left: the window is full.
    Queued,
    /// Sent, and not every datagram of it is acknowledged yet.
    Pending,
    /// Every datagram of it is acknowledged: the room has the line.
    Acknowledged,
    /// Sent on plain UDP (`--arq none`): nobody will say whether it arrived.
    Unconfirmed,
}

impl LineFate {
    /// Nothing will change any more.
    fn is_final(self) -> bool {
        matches!(self, LineFate::Acknowledged | LineFate::Unconfirmed)
    }
}

/// One line the user sent, followed datagram by datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentLine {
    /// The line as shown: sanitized and cut to [`PREVIEW`] characters.
    preview: String,
    /// The sequence number of its first datagram; the others follow it.
    first: Seq,
    /// The most transmissions seen for each of its datagrams.
    transmissions: Vec<u32>,
    fate: LineFate,
}

impl SentLine {
    /// Retransmissions it took, over all its datagrams.
    fn resent(&self) -> u32 {
        self.transmissions
            .iter()
            .map(|sent| sent.saturating_sub(1))
            .sum()
    }

    /// Reads where each datagram stands and updates what the line has become.
    fn follow(&mut self, outbound: &impl Fn(Seq) -> Outbound) {
        let (mut queued, mut acknowledged, mut unconfirmed) = (0, 0, 0);
        for (index, most) in (0u32..).zip(self.transmissions.iter_mut()) {
            match outbound(self.first.wrapping_add(index)) {
                Outbound::Queued => queued += 1,
                Outbound::InFlight { transmissions } => *most = (*most).max(transmissions),
                Outbound::Acknowledged => {
                    // Acknowledged before we saw it leave: it was sent at least once.
                    *most = (*most).max(1);
                    acknowledged += 1;
                }
                Outbound::Unconfirmed => unconfirmed += 1,
            }
        }
        let all = self.transmissions.len();
        self.fate = if acknowledged == all {
            LineFate::Acknowledged
        } else if unconfirmed == all {
            LineFate::Unconfirmed
        } else if queued == all {
            LineFate::Queued
        } else {
            LineFate::Pending
        };
    }

    /// `acknowledged, resent x2`, `pending`, ...
    fn state(&self) -> String {
        let fate = match self.fate {
            LineFate::Queued => "waiting for the window",
            LineFate::Pending => "pending",
            LineFate::Acknowledged => "acknowledged",
            LineFate::Unconfirmed => "sent, unconfirmed",
        };
        match self.resent() {
            0 => fate.to_string(),
            resent => format!("{fate}, resent x{resent}"),
        }
    }
}

/// The sender's side of the reliability layer at one moment, read from the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The ARQ scheme.
    pub mode: ArqMode,
    /// Datagrams sent and not yet acknowledged.
    pub in_flight: usize,
    /// The window they are counted against.
    pub window: u32,
    /// Datagrams accepted but waiting for room in the window.
    pub queued: usize,
    /// The smoothed RTT, once measured.
    pub srtt: Option<Duration>,
    /// The retransmission timeout now.
    pub rto: Duration,
}

/// What the status rows show: the room, and the recent lines.
#[derive(Clone, Debug)]
pub struct Status {
    server: SocketAddr,
    name: String,
    phase: Phase,
    /// The other members, as the room's notices name them.
    others: BTreeSet<String>,
    recent: VecDeque<SentLine>,
}

impl Status {
    /// Joining the room at `server` as `name`.
    pub fn new(server: SocketAddr, name: &str) -> Self {
        Self {
            server,
            name: term::sanitize(name),
            phase: Phase::Joining,
            others: BTreeSet::new(),
            recent: VecDeque::new(),
        }
    }

    /// Takes a notice from the room (`*** ` already removed, sanitized): the welcome names us
    /// and who is here, later notices who came and went. Anything else changes nothing.
    pub fn notice(&mut self, notice: &str) {
        if let Some(rest) = notice.strip_prefix(WELCOME_WORDS) {
            self.welcomed(rest);
        } else if let Some(name) = member_name(notice, " joined") {
            if self.others.len() < MAX_MEMBERS_KEPT {
                self.others.insert(name.to_string());
            }
        } else if let Some(name) = member_name(notice, " left").or_else(|| dropped_member(notice)) {
            self.others.remove(name);
        }
    }

    /// `NAME; nobody else is here yet` or `NAME; here: ada, bob`.
    fn welcomed(&mut self, rest: &str) {
        let (name, present) = rest.split_once("; ").unwrap_or((rest, ""));
        self.phase = Phase::InRoom;
        self.name = name.to_string();
        self.others = present
            .strip_prefix("here: ")
            .map(|names| {
                names
                    .split(", ")
                    .filter(|name| !name.is_empty())
                    .take(MAX_MEMBERS_KEPT)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
    }

    /// A line was queued as the datagrams numbered from `first` up to (not including) `next`.
    pub fn sent(&mut self, line: &str, first: Seq, next: Seq) {
        let datagrams = usize::try_from(next.since(first)).unwrap_or(0).max(1);
        if self.recent.len() == RECENT_LINES {
            self.recent.pop_front();
        }
        self.recent.push_back(SentLine {
            preview: preview(line),
            first,
            transmissions: vec![0; datagrams],
            fate: LineFate::Queued,
        });
    }

    /// Reads where the datagrams of the lines still in play stand (`outbound` is the
    /// connection's [`Connection::outbound`](crate::Connection::outbound)).
    pub fn follow(&mut self, outbound: impl Fn(Seq) -> Outbound) {
        for line in self.recent.iter_mut().filter(|line| !line.fate.is_final()) {
            line.follow(&outbound);
        }
    }

    /// The status rows for the console, given the link as it is now.
    pub fn rows(&self, link: &Link) -> Vec<String> {
        let mut lines: Vec<String> = self
            .recent
            .iter()
            .map(|line| format!("  {:<STATE_WIDTH$} {}", line.state(), line.preview))
            .collect();
        if lines.is_empty() {
            lines.push(
                "  (each line you send shows here: pending, acknowledged, resent xN)".to_string(),
            );
        }
        // Always as many rows, the newest line right above the input line: when the number of
        // rows changes the console makes its area anew and asks the terminal where the cursor
        // is, an answer a paste of many lines can delay past the console's patience.
        let mut rows = vec![self.room_row(), link_row(link)];
        rows.resize(STATUS_ROWS - lines.len(), String::new());
        rows.extend(lines);
        rows
    }

    fn room_row(&self) -> String {
        let head = format!("udp-chat · {}", self.server);
        match self.phase {
            Phase::Joining => format!("{head} · joining as {}: JOIN sent", self.name),
            Phase::InRoom => format!("{head} · in the room as {} · {}", self.name, self.company()),
        }
    }

    /// `with ada, bob`, `alone in the room`, `with a, b, ... and 3 more`.
    fn company(&self) -> String {
        if self.others.is_empty() {
            return "alone in the room".to_string();
        }
        let named: Vec<&str> = self
            .others
            .iter()
            .take(MEMBERS_NAMED)
            .map(String::as_str)
            .collect();
        let more = self.others.len().saturating_sub(MEMBERS_NAMED);
        match more {
            0 => format!("with {}", named.join(", ")),
            more => format!("with {} and {more} more", named.join(", ")),
        }
    }
}

/// The second row: the window and the timer.
fn link_row(link: &Link) -> String {
    if link.mode == ArqMode::NoRetransmit {
        return format!(
            "{} · plain UDP: no ACKs, no window, nothing resent",
            link.mode.name()
        );
    }
    let srtt = link.srtt.map_or("not measured yet".to_string(), |srtt| {
        format!("{:.1} ms", srtt.as_secs_f64() * 1000.0)
    });
    format!(
        "{} · in flight {} of {} · queued {} · SRTT {srtt} · RTO {:.0} ms",
        link.mode.name(),
        link.in_flight,
        link.window,
        link.queued,
        link.rto.as_secs_f64() * 1000.0
    )
}

/// `NAME` from `NAME joined` (names never hold spaces: the room turns them into `_`).
fn member_name<'a>(notice: &'a str, suffix: &str) -> Option<&'a str> {
    notice
        .strip_suffix(suffix)
        .filter(|name| !name.is_empty() && !name.contains(' '))
}

/// `NAME` from `NAME dropped (why)`.
fn dropped_member(notice: &str) -> Option<&str> {
    let (name, _) = notice.split_once(" dropped (")?;
    (!name.is_empty() && !name.contains(' ')).then_some(name)
}

/// A sent line as its row shows it: escapes made visible, cut to [`PREVIEW`] characters.
fn preview(line: &str) -> String {
    let clean = term::sanitize(line);
    match clean.char_indices().nth(PREVIEW) {
        Some((cut, _)) => format!("{}...", &clean[..cut]),
        None => clean,
    }
}

/// Decides when new status rows go to the console: only when they changed, and at most every
/// [`STATUS_EVERY`]; a change that comes sooner waits, and the caller wakes up for it.
#[derive(Debug, Default)]
pub struct Throttle {
    shown: Vec<String>,
    shown_at: Option<Instant>,
}

/// What to do with the rows offered to [`Throttle::offer`].
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Nothing changed.
    Same,
    /// Send them to the console now.
    Show(Vec<String>),
    /// They changed too soon after the last update: offer them again after this long.
    Later(Duration),
}

impl Throttle {
    /// What to do with `rows` at `now`.
    pub fn offer(&mut self, rows: Vec<String>, now: Instant) -> Offer {
        if rows == self.shown {
            return Offer::Same;
        }
        if let Some(at) = self.shown_at {
            let since = now.saturating_duration_since(at);
            if since < STATUS_EVERY {
                return Offer::Later(STATUS_EVERY - since);
            }
        }
        self.shown.clone_from(&rows);
        self.shown_at = Some(now);
        Offer::Show(rows)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn server() -> SocketAddr {
        "127.0.0.1:7075".parse().unwrap()
    }

    fn link() -> Link {
        Link {
            mode: ArqMode::SelectiveRepeat,
            in_flight: 1,
            window: 32,
            queued: 0,
            srtt: Some(Duration::from_micros(300)),
            rto: Duration::from_millis(800),
        }
    }

    /// The welcome is recognized by the words the protocol gives it.
    #[test]
    fn welcome_words_are_the_protocols() {
        let notice = crate::protocol::NOTICE;
        assert_eq!(format!("{notice}{WELCOME_WORDS}"), crate::protocol::WELCOME);
    }

    /// Before the welcome: joining, no line sent yet, and the link row with its numbers.
    #[test]
    fn rows_while_joining() {
        let status = Status::new(server(), "ada");
        let link = Link {
            srtt: None,
            ..link()
        };
        assert_eq!(
            status.rows(&link),
            [
                "udp-chat · 127.0.0.1:7075 · joining as ada: JOIN sent",
                "selective-repeat · in flight 1 of 32 · queued 0 · SRTT not measured yet · RTO 800 ms",
                "",
                "",
                "  (each line you send shows here: pending, acknowledged, resent xN)",
            ]
        );
    }

    /// The welcome names us (as the room spelled it) and who is here; joins, leaves and drops
    /// change the company; other notices change nothing.
    #[test]
    fn notices_follow_the_room() {
        let mut status = Status::new(server(), "ada smith");
        status.notice("welcome, ada_smith; here: bob, cy");
        assert_eq!(
            status.rows(&link())[0],
            "udp-chat · 127.0.0.1:7075 · in the room as ada_smith · with bob, cy"
        );
        status.notice("dee joined");
        status.notice("bob left");
        status.notice("cy dropped (too far behind: 1056 datagrams held)");
        status.notice("the server is shutting down");
        assert_eq!(
            status.rows(&link())[0],
            "udp-chat · 127.0.0.1:7075 · in the room as ada_smith · with dee"
        );
        status.notice("dee left");
        assert!(status.rows(&link())[0].ends_with("· alone in the room"));
        let mut crowded = Status::new(server(), "ada");
        crowded.notice("welcome, ada; nobody else is here yet");
        for n in 0..10 {
            crowded.notice(&format!("m{n} joined"));
        }
        assert!(
            crowded.rows(&link())[0].ends_with("with m0, m1, m2, m3, m4, m5, m6, m7 and 2 more")
        );
    }

    /// A line goes queued, pending, resent (the count kept once the window forgets it), and
    /// acknowledged; only the last [`RECENT_LINES`] are shown, newest last.
    #[test]
    fn lines_pending_resent_acknowledged() {
        let mut status = Status::new(server(), "ada");
        status.sent("first", Seq(1), Seq(2));
        status.follow(|_| Outbound::Queued);
        status.sent("second, in two datagrams", Seq(2), Seq(4));
        status.follow(|seq| match seq.0 {
            1 => Outbound::InFlight { transmissions: 3 },
            2 => Outbound::InFlight { transmissions: 1 },
            _ => Outbound::Queued,
        });
        let rows = status.rows(&link());
        assert_eq!(
            rows[2..],
            [
                "",
                "  pending, resent x2         first",
                "  pending                    second, in two datagrams",
            ]
        );
        status.follow(|seq| match seq.0 {
            3 => Outbound::InFlight { transmissions: 2 },
            _ => Outbound::Acknowledged,
        });
        status.follow(|_| Outbound::Acknowledged);
        status.sent("third", Seq(4), Seq(5));
        status.sent("fourth", Seq(5), Seq(6));
        status.follow(|seq| {
            if seq.0 < 5 {
                Outbound::Acknowledged
            } else {
                Outbound::InFlight { transmissions: 1 }
            }
        });
        assert_eq!(
            status.rows(&link())[2..],
            [
                "  acknowledged, resent x1    second, in two datagrams",
                "  acknowledged               third",
                "  pending                    fourth",
            ]
        );
    }

    /// A line waiting for the window says so; plain UDP says nothing will confirm it, and its
    /// link row says why.
    #[test]
    fn queued_and_unconfirmed_lines() {
        let mut status = Status::new(server(), "ada");
        status.sent("stuck", Seq(0), Seq(1));
        status.follow(|_| Outbound::Queued);
        assert_eq!(
            status.rows(&link())[4],
            "  waiting for the window     stuck"
        );
        status.follow(|_| Outbound::Unconfirmed);
        assert_eq!(
            status.rows(&link())[4],
            "  sent, unconfirmed          stuck"
        );
        let plain = Link {
            mode: ArqMode::NoRetransmit,
            ..link()
        };
        assert_eq!(
            status.rows(&plain)[1],
            "none · plain UDP: no ACKs, no window, nothing resent"
        );
    }

    /// A long line is cut in its row, and escapes typed into it are shown, not obeyed.
    #[test]
    fn previews_are_cut_and_sanitized() {
        let mut status = Status::new(server(), "ada");
        status.sent(&"é".repeat(100), Seq(0), Seq(1));
        status.sent("\u{1b}[2J", Seq(1), Seq(2));
        let rows = status.rows(&link());
        assert_eq!(rows.len(), STATUS_ROWS);
        assert!(rows[3].ends_with(&format!("{}...", "é".repeat(PREVIEW))));
        assert!(rows[4].ends_with("^[[2J"), "{}", rows[4]);
    }

    /// Rows go out when they change, at most every [`STATUS_EVERY`]; a change that comes
    /// sooner is told when to come back.
    #[test]
    fn throttle_coalesces_changes() {
        let t0 = Instant::now();
        let mut throttle = Throttle::default();
        let rows = |text: &str| vec![text.to_string()];
        assert_eq!(throttle.offer(rows("a"), t0), Offer::Show(rows("a")));
        assert_eq!(throttle.offer(rows("a"), t0), Offer::Same);
        let soon = t0 + Duration::from_millis(20);
        assert_eq!(
            throttle.offer(rows("b"), soon),
            Offer::Later(STATUS_EVERY - Duration::from_millis(20))
        );
        assert_eq!(
            throttle.offer(rows("b"), t0 + STATUS_EVERY),
            Offer::Show(rows("b"))
        );
    }
}
