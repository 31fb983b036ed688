//! # `udp-chat grade HOST:PORT`: check a student's room against docs/protocols/udp-chat.md
//!
//! UDP promises nothing, so a reliable room is judged by what it does when the network
//! misbehaves. The grader plays members of the room. Most are netlab's own [`Connection`]
//! behind the [`FaultInjector`], in both directions: what the grader sends is dropped,
//! duplicated or reordered before it leaves, and what the server sends suffers the same on
//! arrival, with a fixed seed so a run can be repeated datagram for datagram. A member whose
//! datagrams get through only if the server acknowledges, drops duplicates, puts early
//! datagrams back in order and resends what was lost, is a member that receives every message
//! exactly once and in order; the checks count that exactly rather than time it.
//!
//! The other checks need every byte under control, so they use a [`RawMember`] that writes
//! datagrams by hand: it withholds an ACK to see the server resend, repeats a DATA to see it
//! dropped and acknowledged again, and sends malformed headers that must be ignored. Every check
//! has a deadline ([`netlab_common::grade`]), and every member is a new UDP socket, so the
//! server sees a new peer for each.
//!
//! ## Layout
//! - this file: the checks;
//! - [`member`]: a member over netlab's reliable connection and the fault injector;
//! - [`raw`]: a member that writes datagrams by hand.
//!
//! [`Connection`]: crate::Connection
//! [`FaultInjector`]: crate::FaultInjector

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netlab_common::Error;
use netlab_common::accept::spawn_named;
use netlab_common::grade::conn::{PATIENCE, is_silence, silence};
use netlab_common::grade::{Check, CheckResult, Failure, Rubric, show_bytes};

use crate::describe::percent;
use crate::fault::FaultConfig;
use crate::seq::Seq;
use crate::wire::{Flags, HEADER_LEN, Header, Kind, VERSION};

pub mod member;
pub mod raw;

use member::Member;
use raw::RawMember;

/// Messages sent through the faulty network in the "200 messages through faults" check.
pub const MESSAGES: usize = 200;

/// Members in the "10 members at once" check.
pub const CROWD: usize = 10;

/// How long a stream of messages may make no progress before the check gives up. A correct
/// sender's RTO after a few losses in a row (200 ms floor, doubled per timeout) stays well under
/// this; a sender that never resends stalls for good.
pub const STALL: Duration = Duration::from_secs(5);

/// A retransmission sooner than this is not a timer at all but a flood.
pub const EARLIEST_RESEND: Duration = Duration::from_millis(100);

/// A datagram whose ACK does not come must be resent within this (RFC 6298 §2.1: a first RTO of
/// 1 s; the page allows up to 3 s).
pub const LATEST_RESEND: Duration = Duration::from_secs(3);

/// A member that vanished must be dropped within this: 8 timeouts in a row with the RTO
/// doubling to a 4 s ceiling take about 36 s (netlab's own room drops a member silent for 10 s
/// first).
pub const GIVE_UP_BOUND: Duration = Duration::from_secs(40);

/// What to grade, and the network to grade it through.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The room.
    pub addr: SocketAddr,
    /// The faults of the members that go through the injector (the seed is shifted per member).
    pub faults: FaultConfig,
}

impl Target {
    /// `faults` with the seed shifted by `by`, so two members do not lose the same datagrams.
    fn faults(&self, by: u64) -> FaultConfig {
        FaultConfig {
            seed: self.faults.seed.wrapping_add(by.wrapping_mul(16)),
            ..self.faults
        }
    }
}

/// A perfect link: checks that are not about faults run without them.
fn clean() -> FaultConfig {
    FaultConfig::default()
}

/// How long the "200 messages through faults" check may take beyond `--timeout`: a stop-and-wait
/// room pays a retransmission timeout (200 ms or more) for every loss, so 200 messages through 5%
/// loss both ways can take tens of seconds. A room that stops resending fails sooner, after
/// [`STALL`] without progress.
pub const THROUGH_FAULTS_EXTRA: Duration = Duration::from_secs(60);

/// What `udp-chat grade` runs with; `cli.rs` builds it from the flags.
#[derive(Clone, Copy, Debug)]
pub struct GradeConfig {
    /// The room to grade.
    pub addr: SocketAddr,
    /// The faults the grader's members go through (`--loss`, `--dup`, `--reorder`, `--seed`).
    pub faults: FaultConfig,
    /// How long one check may take (`--timeout`).
    pub deadline: Duration,
    /// Print the rubric as JSON (`--json`).
    pub json: bool,
}

/// Grades the room and prints the rubric; fails (exit 1) unless every required check passed.
pub fn run(config: &GradeConfig, plan: &netlab_common::grade::class::Plan) -> Result<(), Error> {
    let config = *config;
    netlab_common::grade::class::run(plan, &|addr| grade(addr, config.faults, config.deadline))
}

/// Runs every check against the room at `addr`, the members behind `faults`. Each check may take
/// `deadline`; the two that wait by nature (a stream through faults, a vanished member given up
/// on) get more.
pub fn grade(addr: SocketAddr, faults: FaultConfig, deadline: Duration) -> Rubric {
    let t = Target { addr, faults };
    let subject = format!(
        "a udp-chat room at {addr} (faults: loss {}, duplication {}, reordering {}, seed {})",
        percent(faults.loss),
        percent(faults.duplicate),
        percent(faults.reorder),
        faults.seed
    );
    let mut rubric = Rubric::run(subject, first_checks(t), deadline);
    rubric.run_more(
        vec![Check::required(
            "200 messages through faults",
            4,
            "loss, duplication, reordering: exactly once, in order",
            move || through_faults(t),
        )],
        deadline + THROUGH_FAULTS_EXTRA,
    );
    rubric.run_more(last_checks(t), deadline);
    rubric.run_more(
        vec![Check::optional(
            "vanished member dropped",
            1,
            "giving up on a peer within a bound",
            move || vanished_dropped(t),
        )],
        deadline + GIVE_UP_BOUND,
    );
    rubric
}

/// The checks before the stream through faults.
fn first_checks(t: Target) -> Vec<Check> {
    vec![
        Check::required(
            "join",
            1,
            "a JOIN is acknowledged and answered",
            move || {
                let mut a = Member::join(t.addr, "join-a", clean(), PATIENCE)?;
                a.expect_acknowledged("our JOIN (seq 0)", PATIENCE)?;
                a.leave();
                Ok(())
            },
        ),
        Check::required(
            "relay",
            2,
            "one message, delivered exactly once",
            move || relay(t),
        ),
        Check::required(
            "retransmits",
            2,
            "no ACK in time: resend (RFC 6298 §5 timer)",
            move || retransmits(t),
        ),
        Check::required(
            "duplicate re-ACKed",
            2,
            "a lost ACK is repaired by ACKing the duplicate",
            move || duplicate_reacked(t),
        ),
        Check::required(
            "duplicate dropped",
            2,
            "a resent datagram is delivered once",
            move || duplicate_dropped(t),
        ),
        Check::required(
            "malformed ignored",
            2,
            "hostile datagrams are dropped, the conversation goes on",
            move || malformed_ignored(t),
        ),
    ]
}

/// The checks after it; a room that dies in "member vanishes" fails only the checks from there
/// on, not every later one.
fn last_checks(t: Target) -> Vec<Check> {
    vec![
        Check::optional(
            "fragmented message",
            1,
            "a message longer than a datagram",
            move || fragmented(t),
        ),
        Check::required(
            "10 members at once",
            2,
            "one socket serves every peer",
            move || crowd(t),
        ),
        Check::required(
            "member vanishes",
            2,
            "a peer can disappear mid-message; the others go on",
            move || vanishes(t),
        ),
    ]
}

// --- the checks --------------------------------------------------------------------------

/// A's message reaches B once, prefixed with A's name; A does not get it back.
fn relay(t: Target) -> CheckResult {
    let mut b = Member::join(t.addr, "relay-b", clean(), PATIENCE)?;
    let mut a = Member::join(t.addr, "relay-a", clean(), PATIENCE)?;
    a.say(b"hello from relay-a")?;
    let want = format!("<{}> hello from relay-a", a.name);
    let want = want.as_bytes();
    let got = next_chat_of(&mut b, &mut [&mut a], PATIENCE)
        .map_err(|f| Failure::new(format!("{} at relay-b", show_bytes(want)), f.got))?;
    if got != want {
        return Err(Failure::new(
            format!("{} at relay-b", show_bytes(want)),
            show_bytes(&got),
        ));
    }
    b.expect_no_chat(Duration::from_millis(300), &show_bytes(want))?;
    a.expect_no_chat(
        Duration::from_millis(100),
        "its own message (it is not sent back)",
    )
    .map_err(|f| Failure::new("the sender not to get its own message back", f.got))?;
    a.leave();
    b.leave();
    Ok(())
}

/// The welcome is never acknowledged: the server must send it again, after a timer.
fn retransmits(t: Target) -> CheckResult {
    let mut a = RawMember::open(t.addr)?;
    a.auto_ack = false;
    a.send_sequenced(Kind::Join, b"resend-a", (0, 1))?;
    let first = a.expect_datagram(
        "the welcome (DATA seq=0) after our JOIN",
        PATIENCE,
        |heard| heard.header.kind == Kind::Data,
    )?;
    let seq = first.header.seq;
    let wanted = format!(
        "DATA seq={} sent again, {} ms to {} s after the first copy, since we did not ACK it",
        seq.0,
        EARLIEST_RESEND.as_millis(),
        LATEST_RESEND.as_secs()
    );
    let again = a
        .expect_datagram(&wanted, LATEST_RESEND, |heard| {
            heard.header.kind == Kind::Data && heard.header.seq == seq
        })
        .map_err(|f| {
            Failure::new(
                f.expected,
                format!("{}: it was sent once and never again", f.got),
            )
        })?;
    let after = again.at.saturating_duration_since(first.at);
    if after < EARLIEST_RESEND {
        return Err(Failure::new(
            wanted,
            format!(
                "a copy after {} ms: that is no timer (the first RTO is 1 s, RFC 6298 §2.1)",
                after.as_millis()
            ),
        ));
    }
    if again.payload != first.payload {
        return Err(Failure::new(
            format!("the same payload {}", show_bytes(&first.payload)),
            show_bytes(&again.payload),
        ));
    }
    // Now acknowledged: the resending must stop (and the membership stay).
    a.ack(seq)?;
    leave_raw(&mut a)
}

/// Our ACK "was lost": we send the same DATA again and must get a new ACK for it.
fn duplicate_reacked(t: Target) -> CheckResult {
    let (mut a, _) = RawMember::joined(t.addr, "reack-a")?;
    let seq = a.say(b"say it twice")?;
    a.expect_ack(seq, "our DATA")?;
    let copy = Header {
        seq: Seq(seq),
        ack: Seq(1),
        flags: Flags(Flags::RETRANSMIT),
        ..Header::new(Kind::Data)
    };
    a.send(copy, b"say it twice")?;
    a.expect_ack(
        seq,
        "the same DATA again (our first ACK may have been lost)",
    )
    .map_err(|f| {
        Failure::new(
            f.expected,
            format!(
                "{}: a sender whose ACK was lost resends until it gets one, forever",
                f.got
            ),
        )
    })?;
    leave_raw(&mut a)
}

/// The same DATA twice (a retransmission whose original did arrive): B gets it once.
fn duplicate_dropped(t: Target) -> CheckResult {
    let mut b = Member::join(t.addr, "dup-b", clean(), PATIENCE)?;
    let (mut a, name) = RawMember::joined(t.addr, "dup-a")?;
    let seq = a.say(b"once")?;
    a.expect_ack(seq, "our DATA")?;
    let copy = Header {
        seq: Seq(seq),
        ack: Seq(1),
        flags: Flags(Flags::RETRANSMIT),
        ..Header::new(Kind::Data)
    };
    // Its ACK is not awaited: re-ACKing is the previous check's business, this one is about
    // delivery. Datagrams on one loopback path arrive in the order sent.
    a.send(copy, b"once")?;
    let after = a.say(b"after")?;
    a.expect_ack(after, "our next DATA")?;
    let once = format!("<{name}> once");
    let after = format!("<{name}> after");
    expect_chats(&mut b, &[once.as_bytes(), after.as_bytes()]).map_err(|f| {
        if f.got.contains(&show_bytes(once.as_bytes())) {
            Failure::new(
                f.expected,
                format!(
                    "{}: the duplicate was relayed (keep the next expected seq and drop \
                     what is before it)",
                    f.got
                ),
            )
        } else {
            f
        }
    })?;
    leave_raw(&mut a)?;
    b.leave();
    Ok(())
}

/// Malformed datagrams, each naming its defect in its payload, then a good one: B must get only
/// the good one.
fn malformed_ignored(t: Target) -> CheckResult {
    let mut b = Member::join(t.addr, "bad-b", clean(), PATIENCE)?;
    let (mut a, name) = RawMember::joined(t.addr, "bad-a")?;
    let seq = a.next_seq;
    let data = |payload: &[u8]| -> Vec<u8> {
        let header = Header {
            seq: Seq(seq),
            ack: Seq(1),
            ..Header::new(Kind::Data)
        };
        crate::wire::Datagram { header, payload }
            .to_vec()
            .unwrap_or_default()
    };
    let mut bad_version = data(b"bad version 2");
    set(&mut bad_version, 0, VERSION.wrapping_add(1));
    let mut unknown_type = data(b"unknown type 9");
    set(&mut unknown_type, 1, 9);
    let mut lying_long = data(b"length says 200");
    set(&mut lying_long, 3, 200);
    let mut lying_short = data(b"length says 4, lying");
    set(&mut lying_short, 3, 4);
    let truncated: Vec<u8> = data(b"").into_iter().take(HEADER_LEN - 6).collect();
    for bytes in [
        Vec::new(),
        truncated,
        bad_version,
        unknown_type,
        lying_long,
        lying_short,
    ] {
        a.send_bytes(&bytes)?;
    }
    let good = a.say(b"still here")?;
    a.expect_ack(good, "a good DATA after six malformed ones")
        .map_err(|f| {
            Failure::new(
                f.expected,
                format!("{} (did a malformed one crash it?)", f.got),
            )
        })?;
    let still = format!("<{name}> still here");
    expect_chats(&mut b, &[still.as_bytes()]).map_err(|f| {
        Failure::new(
            format!("{}; every malformed datagram dropped", f.expected),
            format!("{}: a datagram failing a header check was relayed", f.got),
        )
    })?;
    leave_raw(&mut a)?;
    b.leave();
    Ok(())
}

/// 200 numbered messages from A to B, both behind the fault injector: each exactly once, in
/// order.
fn through_faults(t: Target) -> CheckResult {
    let mut b = Member::join(t.addr, "lossy-b", t.faults(1), STALL)?;
    let mut a = Member::join_as_sender(t.addr, "lossy-a", t.faults(2), STALL)?;
    let prefix = format!("<{}> m", a.name);
    for index in 0..MESSAGES {
        a.say(format!("m{index:03}").as_bytes())?;
    }
    let mut expected = 0;
    while expected < MESSAGES {
        let message = next_chat_of(&mut b, &mut [&mut a], STALL).map_err(|f| {
            Failure::new(
                format!("{MESSAGES} messages at lossy-b, each once and in order"),
                format!(
                    "{}, then {} (m{expected:03} never came: was it lost and never resent?)",
                    arrived(expected),
                    f.got
                ),
            )
        })?;
        let index = String::from_utf8_lossy(&message)
            .strip_prefix(&prefix)
            .and_then(|rest| rest.parse::<usize>().ok());
        let wanted = format!("\"{prefix}{expected:03}\"");
        match index {
            Some(index) if index == expected => expected += 1,
            Some(index) if index < expected => {
                return Err(Failure::new(
                    wanted,
                    format!(
                        "{} a second time: a duplicate was delivered (drop what is before the \
                         next expected seq)",
                        show_bytes(&message)
                    ),
                ));
            }
            Some(_) => {
                return Err(Failure::new(
                    wanted,
                    format!(
                        "{} first: out of order (hold early datagrams, or discard them, until \
                         the gap is filled)",
                        show_bytes(&message)
                    ),
                ));
            }
            None => return Err(Failure::new(wanted, show_bytes(&message))),
        }
    }
    b.expect_no_chat(Duration::from_millis(500), "the last message")?;
    a.leave();
    b.leave();
    Ok(())
}

/// `m000..m041` (or `no message`) for the first `count` messages of the stream.
fn arrived(count: usize) -> String {
    match count {
        0 => "no message".to_string(),
        1 => "m000".to_string(),
        n => format!("m000..m{:03}", n - 1),
    }
}

/// A message of 3000 bytes (three datagrams) reaches B whole.
fn fragmented(t: Target) -> CheckResult {
    let mut b = Member::join(t.addr, "frag-b", clean(), PATIENCE)?;
    let mut a = Member::join(t.addr, "frag-a", clean(), PATIENCE)?;
    let long: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
    a.say(&long)?;
    let mut want = format!("<{}> ", a.name).into_bytes();
    want.extend_from_slice(&long);
    let wanted = format!("one message of {} bytes: {}", want.len(), show_bytes(&want));
    let got = next_chat_of(&mut b, &mut [&mut a], PATIENCE)
        .map_err(|f| Failure::new(wanted.clone(), f.got))?;
    if got != want {
        return Err(Failure::new(
            wanted,
            format!("{} bytes: {}", got.len(), show_bytes(&got)),
        ));
    }
    a.leave();
    b.leave();
    Ok(())
}

/// Ten members join, each says one line, each hears the nine others.
///
/// Each member is a thread. Nobody speaks before all ten are in (or failed to get in), so no
/// message goes to a room that is still filling up: each thread reports on `joined`, then waits
/// for its own `go`. If a thread cannot be started, the `go` senders are dropped instead and the
/// members already started leave without speaking.
fn crowd(t: Target) -> CheckResult {
    let (joined, joins) = mpsc::channel();
    let mut members = Vec::with_capacity(CROWD);
    let mut gos = Vec::with_capacity(CROWD);
    for index in 0..CROWD {
        let (go, wait_for_go) = mpsc::channel();
        let joined = joined.clone();
        let name = format!("crowd-{index}");
        let thread_name = name.clone();
        let started = spawn_named(&thread_name, move || -> CheckResult {
            let member = Member::join(t.addr, &name, clean(), PATIENCE);
            let _ = joined.send(());
            drop(joined);
            if wait_for_go.recv().is_err() {
                return Ok(());
            }
            let mut member =
                member.map_err(|f| Failure::new(f.expected, format!("{name}: {}", f.got)))?;
            crowd_member_talks(&mut member, &name)?;
            member.leave();
            Ok(())
        });
        match started {
            Ok(member) => members.push(member),
            Err(err) => return Err(Failure::new("a thread per member", err.to_string())),
        }
        gos.push(go);
    }
    // Every thread holds a sender until it has reported, so this ends even if one panicked.
    drop(joined);
    while joins.recv().is_ok() {}
    for go in gos {
        let _ = go.send(());
    }
    let mut first = Ok(());
    for member in members {
        let result = member
            .join()
            .unwrap_or_else(|_| Err(Failure::new("a member thread", "it panicked")));
        if first.is_ok() {
            first = result;
        }
    }
    first
}

/// One member of the crowd says its line and hears each of the others' once.
fn crowd_member_talks(member: &mut Member, name: &str) -> CheckResult {
    member.say(format!("hi from {name}").as_bytes())?;
    let mut heard = HashSet::new();
    while heard.len() < CROWD - 1 {
        let message = member.next_chat(PATIENCE).map_err(|f| {
            Failure::new(
                format!("{} messages from the others at {name}", CROWD - 1),
                format!("{} of them, then {}", heard.len(), f.got),
            )
        })?;
        if !heard.insert(message.clone()) {
            return Err(Failure::new(
                format!("each message once at {name}"),
                format!("{} twice", show_bytes(&message)),
            ));
        }
    }
    Ok(())
}

/// A member sends the first half of a two-piece message and disappears (never ACKs again);
/// the others' conversation must go on.
fn vanishes(t: Target) -> CheckResult {
    let mut b = Member::join(t.addr, "stay-b", clean(), PATIENCE)?;
    let mut c = Member::join(t.addr, "stay-c", clean(), PATIENCE)?;
    let (mut a, _) = RawMember::joined(t.addr, "gone-a")?;
    a.send_sequenced(Kind::Data, b"the first half of a mess", (0, 2))?;
    drop(a);
    for index in 0..20 {
        c.say(format!("n{index:02}").as_bytes())?;
    }
    let mut want: Vec<Vec<u8>> = (0..20)
        .map(|index| format!("<{}> n{index:02}", c.name).into_bytes())
        .collect();
    want.reverse();
    while let Some(next) = want.pop() {
        let got = next_chat_of(&mut b, &mut [&mut c], PATIENCE).map_err(|f| {
            Failure::new(
                format!("{} at stay-b while gone-a is gone", show_bytes(&next)),
                format!("{} (is the server waiting for the vanished member?)", f.got),
            )
        })?;
        if got != next {
            return Err(Failure::new(show_bytes(&next), show_bytes(&got)));
        }
    }
    b.leave();
    c.leave();
    Ok(())
}

/// A member disappears while a message to it is in flight: the server must give up on it
/// (retries exhausted, or silence) and tell the room, within [`GIVE_UP_BOUND`].
fn vanished_dropped(t: Target) -> CheckResult {
    let mut b = Member::join(t.addr, "watch-b", clean(), PATIENCE)?;
    let (a, name) = RawMember::joined(t.addr, "lost-a")?;
    drop(a);
    // Something for the server to resend to the vanished member, unacknowledged forever.
    b.say(b"are you there?")?;
    let started = Instant::now();
    let notice = format!("*** {name} ");
    let wanted = format!(
        "a notice {} within {} s (8 timeouts in a row at most, or silence)",
        show_bytes(format!("{notice}dropped (...)").as_bytes()),
        GIVE_UP_BOUND.as_secs()
    );
    loop {
        let left = GIVE_UP_BOUND.saturating_sub(started.elapsed());
        let message = b.next_message(left).map_err(|f| {
            let got = if is_silence(&f) {
                format!(
                    "nothing for {} s: the server still keeps (and resends to) a member that \
                     is gone",
                    GIVE_UP_BOUND.as_secs()
                )
            } else {
                f.got
            };
            Failure::new(wanted.clone(), got)
        })?;
        let text = String::from_utf8_lossy(&message);
        if text.starts_with(&notice) && (text.contains("dropped") || text.contains("left")) {
            break;
        }
    }
    b.leave();
    Ok(())
}

// --- helpers -----------------------------------------------------------------------------

/// The next chat message at `to`, while keeping `others` alive (their ACKs and retransmissions
/// must go on while we wait).
fn next_chat_of(
    to: &mut Member,
    others: &mut [&mut Member],
    patience: Duration,
) -> Result<Vec<u8>, Failure> {
    let deadline = Instant::now() + patience;
    loop {
        for other in others.iter_mut() {
            other.pump(Duration::ZERO);
        }
        let slice =
            Duration::from_millis(5).min(deadline.saturating_duration_since(Instant::now()));
        match to.next_chat(slice) {
            Ok(message) => return Ok(message),
            Err(f) if is_silence(&f) => {}
            Err(f) => return Err(f),
        }
        if Instant::now() >= deadline {
            return Err(Failure::new("a message", silence(patience)));
        }
    }
}

/// `member`'s next chat messages are exactly `want`, and nothing follows for a moment.
fn expect_chats(member: &mut Member, want: &[&[u8]]) -> CheckResult {
    let all = want
        .iter()
        .map(|w| show_bytes(w))
        .collect::<Vec<_>>()
        .join(", then ");
    for (index, wanted) in want.iter().enumerate() {
        let got = member
            .next_chat(PATIENCE)
            .map_err(|f| Failure::new(format!("{all}, once each"), f.got))?;
        if got != *wanted {
            let before = if index == 0 {
                String::new()
            } else {
                "after the first, ".to_string()
            };
            return Err(Failure::new(
                format!("{all}, once each"),
                format!("{before}{}", show_bytes(&got)),
            ));
        }
    }
    member
        .expect_no_chat(Duration::from_millis(300), "them")
        .map_err(|f| Failure::new(format!("{all}, once each"), f.got))
}

/// Sends LEAVE and waits for its ACK (everything the server sends meanwhile is acknowledged).
fn leave_raw(a: &mut RawMember) -> CheckResult {
    a.auto_ack = true;
    let seq = a.send_sequenced(Kind::Leave, &[], (0, 1))?;
    a.expect_ack(seq, "our LEAVE")
}

/// Sets byte `index` of a datagram the grader builds (always in range: the header is 16 bytes).
fn set(bytes: &mut [u8], index: usize, value: u8) {
    if let Some(byte) = bytes.get_mut(index) {
        *byte = value;
    }
}
