//! # Who may log in, and how guessing passwords is made slow
//!
//! FTP sends the user name and password in clear text (`USER alice`, `PASS secret`): anyone on
//! the path can read them, which is why real deployments use FTPS or SFTP instead. This lab
//! keeps plain FTP so the dialogue can be read, and still does three things every server must:
//!
//! - **Anonymous access is read-only.** `USER anonymous` (or `ftp`) with any password, by
//!   tradition an e-mail address, may list and download but never change anything.
//! - **Constant-time comparison.** A loop that stops at the first wrong byte answers faster the
//!   earlier the guess goes wrong; measured over many tries, that timing leaks the password byte
//!   by byte. We compare SHA-256 digests (so length differences vanish too) with every byte
//!   always examined. Unknown users go through the same work and get the same `530` as a wrong
//!   password, so the replies do not reveal which accounts exist.
//! - **Slowing down guessing (RFC 2577, section 4).** Each failed login from an address waits
//!   longer before its `530`; after [`MAX_FAILURES_PER_ADDRESS`] failures in [`FAILURE_WINDOW`]
//!   that address may not try again until the window has passed, and one connection gets
//!   [`MAX_FAILURES_PER_CONNECTION`] tries. [`LoginGuard`] is pure: time is an argument.
//!
//! Passwords given with `--user` or `--users FILE` are held only as digests in memory. The file
//! itself is plain text (`name:password` per line): fine for a lab, not for production, where
//! passwords are stored with a slow salted hash (argon2, bcrypt).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// User names that mean "anonymous" (RFC 1635).
pub const ANONYMOUS_NAMES: [&str; 2] = ["anonymous", "ftp"];

/// What a logged-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// List and download only (anonymous).
    ReadOnly,
    /// Everything: upload, delete, rename, create directories.
    ReadWrite,
}

/// The accounts a server accepts.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// Is `USER anonymous` allowed?
    pub anonymous: bool,
    digests: HashMap<String, [u8; 32]>,
}

impl Accounts {
    /// No named accounts; anonymous on or off.
    pub fn new(anonymous: bool) -> Accounts {
        Accounts {
            anonymous,
            digests: HashMap::new(),
        }
    }

    /// Adds an account with write access.
    pub fn add(&mut self, name: &str, password: &str) -> Result<(), String> {
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!(
                "user name `{name}` must be non-empty without spaces"
            ));
        }
        if is_anonymous_name(name) {
            return Err(format!(
                "`{name}` is the anonymous login; use --no-anonymous to turn it off instead"
            ));
        }
        self.digests.insert(name.to_string(), digest(password));
        Ok(())
    }

    /// Adds the accounts of a `--users` file: `name:password` per line, `#` comments.
    pub fn add_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read users file {}: {err}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, password) = split_user_spec(line)
                .map_err(|why| format!("{} line {}: {why}", path.display(), number + 1))?;
            self.add(name, password)
                .map_err(|why| format!("{} line {}: {why}", path.display(), number + 1))?;
        }
        Ok(())
    }

    /// How many named accounts exist.
    pub fn named_count(&self) -> usize {
        self.digests.len()
    }

    /// Checks a login. `None` for a wrong password, an unknown user, or anonymous when it is off.
    pub fn check(&self, user: &str, password: &str) -> Option<Access> {
        if is_anonymous_name(user) {
            return self.anonymous.then_some(Access::ReadOnly);
        }
        let offered = digest(password);
        // An unknown user is compared against a digest no password produces, so the work done
        // (and the time it takes) is the same as for a known user with a wrong password.
        let expected = self.digests.get(user).copied().unwrap_or([0xA5; 32]);
        let known = self.digests.contains_key(user);
        (constant_time_eq(&offered, &expected) && known).then_some(Access::ReadWrite)
    }
}

/// Is this one of the anonymous user names (case-insensitive)?
pub fn is_anonymous_name(user: &str) -> bool {
    ANONYMOUS_NAMES
        .iter()
        .any(|name| name.eq_ignore_ascii_case(user))
}

/// Splits `NAME:PASSWORD` (the password may itself contain `:`).
pub fn split_user_spec(spec: &str) -> Result<(&str, &str), String> {
    match spec.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name, password)),
        _ => Err("expected NAME:PASSWORD".to_string()),
    }
}

fn digest(password: &str) -> [u8; 32] {
    Sha256::digest(password.as_bytes()).into()
}

/// Compares every byte whatever the differences, so the time taken does not depend on where
/// the first difference is.
fn constant_time_eq(one: &[u8; 32], other: &[u8; 32]) -> bool {
    let difference = one
        .iter()
        .zip(other.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    difference == 0
}

/// Failed logins one address may make within [`FAILURE_WINDOW`] before it is locked out.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 10;

/// How long failures are remembered (and how long a lock-out lasts).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Failed logins one connection may make before the server closes it (with `421`).
pub const MAX_FAILURES_PER_CONNECTION: u32 = 3;

/// The wait before the first `530`; it doubles with each further failure from the address.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);

/// The longest wait before a `530`.
pub const MAX_DELAY: Duration = Duration::from_secs(4);

/// Most addresses remembered; past it, expired entries are dropped and then the oldest ones, so
/// a flood of addresses cannot grow the table without bound.
pub const MAX_TRACKED_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
}

/// Failed logins per client address, shared by all connections. Pure: time is an argument.
#[derive(Debug, Default)]
pub struct LoginGuard {
    by_address: HashMap<IpAddr, Failures>,
}

impl LoginGuard {
    /// An empty guard.
    pub fn new() -> LoginGuard {
        LoginGuard::default()
    }

    /// `Err(retry_after)` if `ip` is locked out at `now`.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(failures) = self.current(ip, now) else {
            return Ok(());
        };
        if failures.count >= MAX_FAILURES_PER_ADDRESS {
            Err(FAILURE_WINDOW.saturating_sub(now.saturating_duration_since(failures.first)))
        } else {
            Ok(())
        }
    }

    /// Records a failure and returns how long to wait before answering it.
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> Duration {
        let count = self.current(ip, now).map_or(0, |failures| failures.count) + 1;
        let first = self.current(ip, now).map_or(now, |failures| failures.first);
        self.make_room(now);
        self.by_address.insert(ip, Failures { count, first });
        let doublings = count.saturating_sub(1).min(16);
        FIRST_DELAY.saturating_mul(1u32 << doublings).min(MAX_DELAY)
    }

    /// A successful login forgets the address's failures.
    pub fn record_success(&mut self, ip: IpAddr) {
        self.by_address.remove(&ip);
    }

    /// The failures of `ip` still inside the window.
    fn current(&self, ip: IpAddr, now: Instant) -> Option<Failures> {
        self.by_address
            .get(&ip)
            .copied()
            .filter(|failures| now.saturating_duration_since(failures.first) < FAILURE_WINDOW)
    }

    fn make_room(&mut self, now: Instant) {
        if self.by_address.len() < MAX_TRACKED_ADDRESSES {
            return;
        }
        self.by_address
            .retain(|_, failures| now.saturating_duration_since(failures.first) < FAILURE_WINDOW);
        while self.by_address.len() >= MAX_TRACKED_ADDRESSES {
            let oldest = self
                .by_address
                .iter()
                .min_by_key(|(_, failures)| failures.first)
                .map(|(ip, _)| *ip);
            match oldest {
                Some(ip) => self.by_address.remove(&ip),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Right password, wrong password, unknown user, and anonymous on and off.
    #[test]
    fn checking_logins() {
        let mut accounts = Accounts::new(true);
        accounts.add("alice", "s3cret:with:colons").unwrap();
        assert_eq!(
            accounts.check("alice", "s3cret:with:colons"),
            Some(Access::ReadWrite)
        );
        assert_eq!(accounts.check("alice", "s3cret"), None);
        assert_eq!(accounts.check("mallory", "s3cret:with:colons"), None);
        assert_eq!(
            accounts.check("Anonymous", "me@example.org"),
            Some(Access::ReadOnly)
        );
        accounts.anonymous = false;
        assert_eq!(accounts.check("anonymous", "x"), None);
    }

    /// `NAME:PASSWORD` specs; the anonymous names cannot be claimed.
    #[test]
    fn user_specs() {
        assert_eq!(split_user_spec("bob:a:b").unwrap(), ("bob", "a:b"));
        assert!(split_user_spec("bob").is_err());
        assert!(split_user_spec(":pw").is_err());
        assert!(Accounts::new(true).add("ftp", "x").is_err());
    }

    /// Delays double per failure up to the cap; the tenth failure locks the address out until
    /// the window passes; other addresses are unaffected.
    #[test]
    fn failures_slow_down_then_lock_out() {
        let mut guard = LoginGuard::new();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let start = Instant::now();
        let delays: Vec<Duration> = (0..MAX_FAILURES_PER_ADDRESS)
            .map(|_| guard.record_failure(ip, start))
            .collect();
        assert_eq!(delays[0], Duration::from_millis(250));
        assert_eq!(delays[1], Duration::from_millis(500));
        assert_eq!(delays[2], Duration::from_secs(1));
        assert_eq!(delays[9], MAX_DELAY);
        assert_eq!(guard.check(ip, start), Err(FAILURE_WINDOW));
        assert_eq!(guard.check([192, 0, 2, 2].into(), start), Ok(()));
        assert_eq!(guard.check(ip, start + FAILURE_WINDOW), Ok(()));
    }

    /// A success clears the record.
    #[test]
    fn success_forgets() {
        let mut guard = LoginGuard::new();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let now = Instant::now();
        guard.record_failure(ip, now);
        guard.record_success(ip);
        assert_eq!(guard.record_failure(ip, now), FIRST_DELAY);
    }
}
