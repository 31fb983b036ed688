//! # `tcp-chat grade HOST:PORT`: check anyone's chat room against docs/protocols/chat-room.md
//!
//! A chat room is a relay: every line one client sends must reach the others, formatted exactly,
//! whatever the network does to it on the way in. So the checks are the ways networks and
//! clients break naive rooms: a line arriving one byte at a time, three lines in one read, a line
//! at the limit and one past it, a client that half-closes, many clients at once, one that never
//! reads (a room that writes to it with a blocking call under a lock stops for everyone), one
//! that vanishes in the middle of a line, bytes that are not text, and one that never speaks at
//! all (it must be disconnected after the room's idle timeout, or dead connections fill the room).
//!
//! Every check opens its own connections and runs under a deadline ([`netlab_common::grade`]), so
//! a hung room fails checks instead of hanging the grader.
//!
//! ## Layout
//! - this file: what to grade and the order of the checks.
//! - [`member`]: the grader's client, a member of the room that reads lines and skips
//!   announcements about other people.
//! - [`checks`]: one function per check.

use std::net::SocketAddr;
use std::time::Duration;

use netlab_common::grade::{Check, Rubric};

pub mod checks;
pub mod member;

/// Clients the "many clients" check keeps in the room at once, unless `--clients` says otherwise.
pub const DEFAULT_CLIENTS: usize = 10;

/// What `tcp-chat grade` was asked.
#[derive(Debug, Clone, Copy)]
pub struct GradeConfig {
    /// How long each check may take (`--timeout`).
    pub deadline: Duration,
    /// The idle timeout the room *under test* was started with (the grader's `--idle-timeout`:
    /// how long the silent-client check waits for the room to drop a silent client, not a
    /// timeout of the grader's own); `None` skips that check.
    pub room_idle_timeout: Option<Duration>,
    /// Clients for the "many clients" check (`--clients`).
    pub clients: usize,
}

/// The room under test.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its address.
    pub addr: SocketAddr,
    /// Clients for the "many clients" check.
    pub clients: usize,
}

/// Runs every check against the room at `addr`.
pub fn grade(addr: SocketAddr, config: &GradeConfig) -> Rubric {
    let target = Target {
        addr,
        clients: config.clients,
    };
    let mut subject = format!("a chat room at {addr}");
    if config.room_idle_timeout.is_none() {
        subject += " (the silent-client check is skipped: give --idle-timeout SECS to run it)";
    }
    let mut rubric = Rubric::run(subject, all(target), config.deadline);
    if let Some(idle) = config.room_idle_timeout {
        // This check waits on purpose, for the idle timeout and then some: its own deadline.
        let deadline = idle * 2 + config.deadline;
        rubric.run_more(
            vec![Check::required(
                "silent client",
                2,
                "idle timeout: dead connections must not keep places",
                move || checks::silent_client(target, idle),
            )],
            deadline,
        );
    }
    rubric
}

/// Every check but the silent client, in the order they run.
fn all(t: Target) -> Vec<Check> {
    vec![
        Check::required("welcome", 1, "the server speaks first", move || {
            checks::welcome(t)
        }),
        Check::required("ack", 1, "one line in, one answer out", move || {
            checks::ack(t)
        }),
        Check::required("broadcast", 2, "a relay: exact format", move || {
            checks::broadcast(t)
        }),
        Check::required(
            "one-byte writes",
            2,
            "a line can arrive a byte at a time",
            move || checks::one_byte_writes(t),
        ),
        Check::required(
            "lines in one write",
            2,
            "one read can hold many lines",
            move || checks::lines_in_one_write(t),
        ),
        Check::required("longest line", 1, "the limit is inclusive", move || {
            checks::longest_line(t)
        }),
        Check::required(
            "oversize line",
            2,
            "limits: refuse, say why, keep serving",
            move || checks::oversize_line(t),
        ),
        Check::required("rename", 1, "per-client state", move || checks::rename(t)),
        Check::required(
            "private message",
            2,
            "unicast inside a broadcast medium",
            move || checks::private_message(t),
        ),
        Check::required("status", 1, "the session cache", move || checks::status(t)),
        Check::required("exit", 1, "a clean goodbye", move || checks::exit(t)),
        Check::required(
            "half-close",
            1,
            "shutdown(SHUT_WR): answer, then close",
            move || checks::half_close(t),
        ),
        Check::required(
            "garbage",
            2,
            "hostile input: refuse it, do not relay it",
            move || checks::garbage(t),
        ),
        Check::required(
            "many clients",
            2,
            "serving clients concurrently",
            move || checks::many_clients(t),
        ),
        Check::required(
            "client never reads",
            2,
            "one slow reader must not stall the room",
            move || checks::never_reads(t),
        )
        .flooding(),
        // Last: a room that dies here fails only this check, not every later one.
        Check::required(
            "client vanishes",
            2,
            "a peer can disappear mid-line",
            move || checks::vanishes(t),
        ),
    ]
}
