//! # The limits both engines enforce on a connection, and the words that say so
//!
//! A player is a stranger on the network: it may send lines faster than anyone types, lines that
//! never end, bytes that are not text, or nothing at all for hours; it may stop reading what the
//! server sends. Each engine enforces the same bounds, with the same message to the player and
//! the same log line, so the two engines are interchangeable for a client and for the tests.
//! Keeping the words here, in one place, is what makes "the same" true.

use std::time::{Duration, Instant};

use super::protocol::MAX_LINE;

/// Messages waiting for one client before it counts as too slow and is dropped. A message is
/// every line one event sends to that player (a move's `MOVED`, board and prompt travel
/// together), so the bound counts events the client has not taken, not bytes.
pub const OUTBOX_MESSAGES: usize = 1024;

/// Last words to a client that sent a line longer than [`MAX_LINE`].
pub fn line_too_long() -> String {
    format!("ERR line longer than {MAX_LINE} bytes; closing\n")
}

/// The answer to a line that is not UTF-8 (the connection stays open).
pub const NOT_UTF8: &str = "ERR lines must be UTF-8 text\n";

/// Last words to a connection closed for saying nothing for `idle`.
pub fn idle_words(idle: Option<Duration>) -> String {
    format!("ERR idle for {}s; closing\n", seconds(idle))
}

/// The log line for a silent spectator kept open because it watches `watching` ("NAME in room
/// N").
pub fn watching_not_idle(watching: &str, idle: Option<Duration>) -> String {
    format!(
        "{watching}: silent for {}s, but watching a game, so not idle",
        seconds(idle)
    )
}

/// The warning sent once per burst to a client over `--max-lines-per-sec`.
pub fn too_many_lines(per_second: u32) -> String {
    format!("ERR too many lines: at most {per_second} a second; ignored\n")
}

/// The log line for a player dropped because [`OUTBOX_MESSAGES`] messages wait unread.
pub fn too_slow(name: &str) -> String {
    format!("{name} dropped: too slow ({OUTBOX_MESSAGES} messages waiting unread)")
}

fn seconds(idle: Option<Duration>) -> u64 {
    idle.unwrap_or_default().as_secs()
}

/// A token bucket: `rate` tokens a second, at most `2 x rate` saved up. Each line costs one.
/// It lets a person type in bursts but stops a program flooding the room, whose lines would
/// otherwise be copied into every other player's outbox.
pub(super) struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    pub(super) fn new(per_second: u32) -> RateLimit {
        let rate = f64::from(per_second);
        RateLimit {
            rate,
            tokens: rate * 2.0,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub(super) fn allow(&mut self, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.rate * 2.0);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Descriptors the process needs besides its players' sockets (listener, terminal, trace file,
/// the Ctrl-C wake-up connection), with room to spare.
const SPARE_FILES: u64 = 64;

/// Raises this process's soft limit on open files (`ulimit -n`) so that `connections`
/// connections of `per_connection` descriptors each fit, up to the hard limit, which only an administrator can raise. Each connection is a file
/// descriptor, and the usual soft limit of 1,024 would stop a server (or a load generator) at a
/// thousand clients with "too many open files". Returns the limit now in force, and says on the
/// terminal what to raise when even the hard limit is too low; `None` where there is no such
/// limit to read (not Unix).
#[cfg(unix)]
pub fn raise_open_files_limit(connections: usize, per_connection: u64) -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let needed = (connections as u64).saturating_mul(per_connection) + SPARE_FILES;
    let mut limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= needed {
        return Some(current);
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    limit.current = Some(needed.min(hard));
    if setrlimit(Resource::Nofile, limit).is_err() {
        return Some(current);
    }
    let raised = needed.min(hard);
    if raised < needed {
        netlab_common::term::warn(format!(
            "open files limited to {raised} (hard limit); {connections} connections need about \
             {needed}: raise it first, e.g. `ulimit -Hn {needed}` as root or \
             `prlimit --pid $$ --nofile={needed}:{needed}`"
        ));
    }
    Some(raised)
}

/// Elsewhere the limit is not a soft/hard pair this program can raise.
#[cfg(not(unix))]
pub fn raise_open_files_limit(_connections: usize, _per_connection: u64) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst of twice the rate passes, the next line does not, and time earns tokens back.
    #[test]
    fn rate_limit_allows_a_burst_then_refills() {
        let mut limit = RateLimit::new(5);
        let start = limit.last;
        assert_eq!((0..10).filter(|_| limit.allow(start)).count(), 10);
        assert!(!limit.allow(start));
        assert!(limit.allow(start + Duration::from_millis(200)));
    }
}
