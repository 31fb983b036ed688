//! # The checks, one function each
//!
//! Each function is one short conversation with the room (see the table in
//! docs/protocols/chat-room.md). The protocol's constants come from [`crate::room::protocol`]:
//! the grader holds a student's room to the same page netlab's room implements.

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use netlab_common::accept::spawn_named;
use netlab_common::grade::conn::{self, PATIENCE, is_silence, leave_politely, send_slowly};
use netlab_common::grade::flood::{connect_unread, flood};
use netlab_common::grade::{CheckResult, Failure, all_at_once, show_bytes};

use super::Target;
use super::member::{Member, is_announcement};
use crate::room::protocol::MAX_LINE;

/// How much longer than `--idle-timeout` a silent client may stay before the check fails.
pub const IDLE_GRACE: Duration = Duration::from_secs(2);

/// A name nobody in the room has: the process id keeps two graders apart, a counter two checks.
fn fresh_name(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let unique = std::process::id().wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed));
    format!("{tag}{:04}", unique % 10_000)
}

/// Two members; the first has seen the second join.
fn two_members(t: Target) -> Result<(Member, Member), Failure> {
    let mut first = Member::join(t.addr)?;
    let second = Member::join(t.addr)?;
    first.expect_line(&format!("INFO {} joined", second.name))?;
    Ok((first, second))
}

/// After an incident: the room still relays between its members and welcomes a new one.
fn still_serving(t: Target, member: &mut Member) -> CheckResult {
    let outcome = member
        .say("still there?")
        .and_then(|()| member.expect_line("ACK still there?"))
        .and_then(|()| Member::join(t.addr).map(|_| ()));
    outcome.map_err(|f| Failure::new("the room to go on serving its members afterwards", f.got))
}

/// Connects: the first line is `WELCOME NAME` with a valid name.
pub(super) fn welcome(t: Target) -> CheckResult {
    Member::join(t.addr).map(|_| ())
}

/// One line, one `ACK` with the same text.
pub(super) fn ack(t: Target) -> CheckResult {
    let mut ann = Member::join(t.addr)?;
    ann.say("hello, room")?;
    ann.expect_line("ACK hello, room")
}

/// The join is announced, and a line reaches the other member as `MSG NAME text`.
pub(super) fn broadcast(t: Target) -> CheckResult {
    let (mut ann, mut bob) = two_members(t)?;
    ann.say("hello from the grader")?;
    ann.expect_line("ACK hello from the grader")?;
    bob.expect_line(&format!("MSG {} hello from the grader", ann.name))
}

/// A line sent one byte per segment is still one line.
pub(super) fn one_byte_writes(t: Target) -> CheckResult {
    let mut ann = Member::join(t.addr)?;
    for byte in b"one byte at a time\n" {
        send_slowly(ann.stream(), &[*byte])?;
    }
    ann.expect_line("ACK one byte at a time")
}

/// Three lines in one segment are three lines, answered in order.
pub(super) fn lines_in_one_write(t: Target) -> CheckResult {
    let mut ann = Member::join(t.addr)?;
    ann.send_raw(b"one\ntwo\nthree\n")?;
    ann.expect_line("ACK one")?;
    ann.expect_line("ACK two")?;
    ann.expect_line("ACK three")
}

/// A line of exactly [`MAX_LINE`] bytes is accepted.
pub(super) fn longest_line(t: Target) -> CheckResult {
    let mut ann = Member::join(t.addr)?;
    let longest = "x".repeat(MAX_LINE);
    ann.say(&longest)?;
    ann.expect_line(&format!("ACK {longest}"))
}

/// More than [`MAX_LINE`] bytes and no newline yet: `ERROR ...` and a close for that client
/// only, without waiting for a newline that may never come. Two bytes over: the first could
/// still be a line of exactly the limit and its `\r`.
pub(super) fn oversize_line(t: Target) -> CheckResult {
    let (mut ann, mut bob) = two_members(t)?;
    bob.send_raw("x".repeat(MAX_LINE + 2).as_bytes())?;
    bob.expect_prefix("ERROR ").map_err(|f| {
        Failure::new(
            format!(
                "{} once {} bytes came with no newline (before any newline)",
                f.expected,
                MAX_LINE + 2
            ),
            f.got,
        )
    })?;
    bob.expect_close()?;
    still_serving(t, &mut ann)
}

/// `/nick`: confirmed, announced, and used for the next message.
pub(super) fn rename(t: Target) -> CheckResult {
    let (mut ann, mut bob) = two_members(t)?;
    let new = fresh_name("Renamed");
    ann.say(&format!("/nick {new}"))?;
    ann.expect_line(&format!("OK you are now {new}"))?;
    bob.expect_line(&format!("INFO {} is now {new}", ann.name))?;
    ann.say("new name, same me")?;
    ann.expect_line("ACK new name, same me")?;
    bob.expect_line(&format!("MSG {new} new name, same me"))
}

/// `/msg` reaches its recipient only; an unknown recipient is an error.
pub(super) fn private_message(t: Target) -> CheckResult {
    let (mut ann, mut bob) = two_members(t)?;
    let mut cat = Member::join(t.addr)?;
    ann.expect_line(&format!("INFO {} joined", cat.name))?;
    bob.expect_line(&format!("INFO {} joined", cat.name))?;
    let private = format!("/msg {} psst", bob.name);
    ann.say(&private)?;
    ann.expect_line(&format!("ACK {private}"))?;
    bob.expect_line(&format!("PRIVATE {} psst", ann.name))?;
    ann.say("for everyone")?;
    ann.expect_line("ACK for everyone")?;
    cat.expect_line(&format!("MSG {} for everyone", ann.name))
        .map_err(|f| {
            if f.got.contains("PRIVATE") {
                Failure::new(
                    "a private message to reach its recipient only",
                    format!("a third client got {}", f.got),
                )
            } else {
                f
            }
        })?;
    ann.say("/msg NoSuchClient99 hello?")?;
    ann.expect_prefix("ERROR ").map(|_| ())
}

/// `status`: a header with the count, one line per client (the asker among them), `END`.
pub(super) fn status(t: Target) -> CheckResult {
    let mut ann = Member::join(t.addr)?;
    ann.say("status")?;
    let header = ann.expect_prefix("STATUS ")?;
    let wanted = "STATUS n client (n = 1) or STATUS n clients";
    let count = match header.split_once(' ') {
        Some((n, "clients")) => n.parse::<usize>().ok().filter(|&n| n != 1),
        Some(("1", "client")) => Some(1),
        _ => None,
    }
    .ok_or_else(|| Failure::new(wanted, show_bytes(format!("STATUS {header}").as_bytes())))?;
    let mut listed = false;
    for _ in 0..count {
        let line = ann.next_line()?;
        listed |= line.starts_with(&format!("{} ", ann.name));
    }
    ann.expect_line("END")
        .map_err(|f| Failure::new(format!("END after {count} client line(s)"), f.got))?;
    if listed {
        return Ok(());
    }
    Err(Failure::new(
        format!("a status line starting with {}", ann.name),
        "no line for the client that asked",
    ))
}

/// `exit`: `BYE NAME`, a close, and the others are told.
pub(super) fn exit(t: Target) -> CheckResult {
    let (mut ann, mut bob) = two_members(t)?;
    bob.say("exit")?;
    bob.expect_line(&format!("BYE {}", bob.name))?;
    bob.expect_close()?;
    ann.expect_line(&format!("INFO {} left", bob.name))
}

/// A line, then a half-close: the answer still comes, then the close.
pub(super) fn half_close(t: Target) -> CheckResult {
    let mut ann = Member::join(t.addr)?;
    ann.say("last words")?;
    conn::half_close(ann.stream())?;
    ann.expect_line("ACK last words")?;
    ann.expect_close()
}

/// True when `line` holds a control character (C0 or DEL): relayed raw, it would reach other
/// people's terminals as a command.
fn has_control(line: &str) -> bool {
    line.chars().any(|c| c.is_ascii_control())
}

/// Bytes that are not UTF-8 are refused; control bytes never reach anyone raw; the client
/// is still served.
pub(super) fn garbage(t: Target) -> CheckResult {
    let (mut ann, mut bob) = two_members(t)?;
    ann.send_raw(b"\xff\xfe not text \xc3\x28\n")?;
    ann.expect_prefix("ERROR ").map_err(|f| {
        Failure::new(
            format!(
                "an ERROR line for bytes that are not UTF-8 ({})",
                f.expected
            ),
            f.got,
        )
    })?;
    ann.send_raw(b"NUL \x00 BEL \x07 ESC \x1b[2J\n")?;
    let wanted = "ERROR ..., or an ACK with the control bytes made visible";
    let answer = ann.next_except(wanted, is_announcement)?;
    if !(answer.starts_with("ERROR ") || answer.starts_with("ACK ")) || has_control(&answer) {
        return Err(Failure::new(wanted, show_bytes(answer.as_bytes())));
    }
    ann.say("still fine")?;
    ann.expect_line("ACK still fine")?;
    let want = format!("MSG {} still fine", ann.name);
    loop {
        let line = bob.next_except(&show_bytes(want.as_bytes()), |_| false)?;
        if has_control(&line) || line.contains('\u{fffd}') {
            return Err(Failure::new(
                "other members to get no control bytes and no garbled text",
                show_bytes(line.as_bytes()),
            ));
        }
        if line == want {
            return Ok(());
        }
    }
}

/// [`Target::clients`] members join before any speaks, then all speak at once.
pub(super) fn many_clients(t: Target) -> CheckResult {
    let count = t.clients;
    let mut members = Vec::with_capacity(count);
    for index in 0..count {
        let member = Member::join(t.addr).map_err(|f| {
            Failure::new(
                f.expected,
                format!("client {} of {count}: {}", index + 1, f.got),
            )
        })?;
        members.push(member);
    }
    // Everyone talks at once; each waits for its own ACK among the others' messages.
    let members = all_at_once("client", members, |index, member| {
        let text = format!("client {index} here");
        let want = format!("ACK {text}");
        member.say(&text)?;
        let line = member.next_except(&show_bytes(want.as_bytes()), |line| {
            is_announcement(line) || line.starts_with("MSG ")
        })?;
        if line == want {
            Ok(())
        } else {
            Err(Failure::new(
                show_bytes(want.as_bytes()),
                show_bytes(line.as_bytes()),
            ))
        }
    })?;
    drop(members);
    Ok(())
}

/// Bytes in each line the client that never reads sends; each is answered with an `ACK` as
/// long, so its buffers fill with the room's answers about as fast as the room reads.
const HOG_LINE: usize = 1000;

/// One client sends line after line and never reads the answers, until its own writes block
/// (the room has stopped reading it, so the room's buffers toward it are full, whatever their
/// size: [`netlab_common::grade::flood`]) or the room disconnects it. Then two new members must
/// chat both ways. A room that writes to the client that does not read with a blocking call
/// under its lock is stuck by then: at the `ACK` to that client, or at the first message it
/// relays to it.
pub(super) fn never_reads(t: Target) -> CheckResult {
    let mut hog = connect_unread(t.addr)?;
    let line = format!("{}\n", "z".repeat(HOG_LINE));
    let flooded = flood(&mut hog, line.repeat(16).as_bytes());
    let result = probe_after_flood(t).map_err(|f| flooded.explain(f));
    // Reading unsticks a room that was stuck writing to the hog.
    // (Without a thread to spare the hog is simply dropped, which closes it.)
    let _ = spawn_named("grade-leave", move || leave_politely(hog));
    wait_until_quiet(t);
    result
}

/// Waits until the room has relayed nothing for half a second (at most 2 s): a flooded room may
/// still be relaying the flood's last lines, and they must not land in the middle of the next
/// check.
fn wait_until_quiet(t: Target) {
    let Ok(mut watcher) = Member::join(t.addr) else {
        return;
    };
    watcher.set_patience(Duration::from_millis(500));
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until && watcher.next_line().is_ok() {}
}

/// Two new members chat both ways while the client that never reads is still connected.
/// A failure names the member and the stage, and blames a stuck writer only when the room fell
/// silent (not when it refused the member, e.g. with `ERROR the room is full`).
fn probe_after_flood(t: Target) -> CheckResult {
    let wanted = "two other clients to chat while one client does not read";
    let failed = |stage: &'static str| {
        move |f: Failure| {
            let hint = if is_silence(&f) || f.got.contains("timed out") {
                " (is the room stuck writing to the one that does not read?)"
            } else if f.got.contains("full") {
                " (the room refused a new member: does it still count clients that left?)"
            } else {
                ""
            };
            Failure::new(wanted, format!("{stage}: {}{hint}", f.got))
        }
    };
    let mut ann = Member::join(t.addr).map_err(failed("new member 1, joining"))?;
    let mut bob = Member::join(t.addr).map_err(failed("new member 2, joining"))?;
    // Lines about the client that never reads (it may be disconnected) may come in between.
    let ack = "ACK still moving";
    ann.say("still moving")
        .map_err(failed("new member 1, sending"))?;
    ann.next_except(ack, |line| line != ack)
        .map_err(failed("new member 1, waiting for its ACK"))?;
    let msg = format!("MSG {} still moving", ann.name);
    bob.next_except(&msg, |line| line != msg)
        .map_err(failed("new member 2, waiting for new member 1's message"))?;
    bob.say("both ways")
        .map_err(failed("new member 2, sending"))?;
    let msg = format!("MSG {} both ways", bob.name);
    ann.next_except(&msg, |line| line != msg)
        .map_err(failed("new member 1, waiting for new member 2's message"))?;
    Ok(())
}

/// A member resets mid-line: the others are told it left, the half line is never relayed.
pub(super) fn vanishes(t: Target) -> CheckResult {
    let (mut ann, bob) = two_members(t)?;
    let name = bob.name.clone();
    bob.vanish(b"half a li")?;
    ann.expect_prefix(&format!("INFO {name} left"))
        .map_err(|f| {
            Failure::new(
                format!("INFO {name} left ... and the unfinished line never delivered"),
                f.got,
            )
        })?;
    // The polite version: half a line, then a FIN. End of stream in the middle of a line
    // drops the half line too.
    let carl = Member::join(t.addr)?;
    let name = carl.name.clone();
    carl.leave_mid_line(b"no newline after thi")?;
    ann.expect_prefix(&format!("INFO {name} left"))
        .map_err(|f| {
            Failure::new(
                format!(
                    "INFO {name} left ... after half a line and a close (FIN), the half line \
                     never delivered"
                ),
                f.got,
            )
        })?;
    still_serving(t, &mut ann)
}

/// A client that says nothing is disconnected after `idle`, told why; one that spoke half-way
/// through stays.
pub(super) fn silent_client(t: Target, idle: Duration) -> CheckResult {
    let secs = idle.as_secs();
    let mut quiet = Member::join(t.addr)?;
    let joined = Instant::now();
    let mut busy = Member::join(t.addr)?;
    thread::sleep(idle / 2);
    busy.say("still typing")?;
    busy.expect_line("ACK still typing")?;
    // Patience until N + grace after joining (a read that times out must not be zero: at least
    // a tenth of a second).
    let left = (idle + IDLE_GRACE).saturating_sub(joined.elapsed());
    quiet.set_patience(left.max(Duration::from_millis(100)));
    let wanted = format!("an ERROR line, then a close, after {secs} s of silence (--idle-timeout)");
    // The busy member's message reaches the quiet one too: that is not the quiet one speaking.
    let line = quiet
        .next_except(&wanted, |line| {
            is_announcement(line) || line.starts_with("MSG ")
        })
        .map_err(|f| {
            let got = if is_silence(&f) {
                format!(
                    "nothing: the silent client was still connected after {:.1} s",
                    joined.elapsed().as_secs_f64()
                )
            } else {
                f.got
            };
            Failure::new(wanted.clone(), got)
        })?;
    if !line.starts_with("ERROR ") {
        return Err(Failure::new(wanted, show_bytes(line.as_bytes())));
    }
    let after = joined.elapsed();
    if after < idle.mul_f64(0.8) {
        return Err(Failure::new(
            wanted,
            format!("the ERROR line after only {:.1} s", after.as_secs_f64()),
        ));
    }
    quiet.set_patience(PATIENCE);
    quiet.expect_close()?;
    busy.expect_prefix(&format!("INFO {} left", quiet.name))?;
    busy.say("still here")?;
    busy.expect_line("ACK still here").map_err(|f| {
        Failure::new(
            format!(
                "a client that spoke {:.1} s ago to stay (each line restarts its idle timer)",
                (idle / 2).as_secs_f64()
            ),
            f.got,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_names_are_valid_and_differ() {
        let (a, b) = (fresh_name("Renamed"), fresh_name("Renamed"));
        assert_ne!(a, b);
        assert!(crate::room::protocol::check_name(&a).is_ok(), "{a}");
        assert!(has_control("a\u{7}b") && !has_control("a ^G b"));
    }
}
