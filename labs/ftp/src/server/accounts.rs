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
//! - **Slowing down guessing (RFC 2577, section 5, "Protecting Passwords").** Each failed
//!   login from an address waits longer before its `530`; after [`MAX_FAILURES_PER_ACCOUNT`]
//!   failures for that account from that address in [`FAILURE_WINDOW`], it may not try that
//!   account again until
//!   the window has passed; after [`MAX_FAILURES_PER_ADDRESS`] failures for any accounts
//!   together (a few guesses for each of many accounts, "password spraying") the address may
//!   not log in at all. One connection gets [`MAX_FAILURES_PER_CONNECTION`] tries.
//!   [`LoginGuard`] is pure: time is an argument.
//!
//! A success clears the failures **of the account that logged in, from that address** (and
//! takes them off the address's total), and nothing else. It used to clear the whole address,
//! so a guesser could log in anonymously (any password works) after every nine wrong passwords
//! for `alice` and guess forever (issue 14). A count that protects one thing must be reset
//! only by proof about that thing. For the same reason `REIN` does not reset the count of one
//! connection (`Session::reinitialize`).
//!
//! Passwords given with `--user` or `--users FILE` are held only as digests in memory. The file
//! itself is plain text (`name:password` per line): fine for a lab, not for production, where
//! passwords are stored with a slow salted hash (argon2, bcrypt).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use netlab_common::Error;
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

    /// Adds the accounts of a `--users` file: `name:password` per line, `#` comments. A file
    /// that cannot be read is an I/O error; a line that is not an account is the user's mistake
    /// ([`Error::Usage`]), named by its line number.
    pub fn add_file(&mut self, path: &Path) -> netlab_common::Result<()> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Error::io(format!("reading the users file {}", path.display()), err))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mistake = |why: String| {
                Error::Usage(format!("{} line {}: {why}", path.display(), number + 1))
            };
            let (name, password) = split_user_spec(line).map_err(mistake)?;
            self.add(name, password).map_err(mistake)?;
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

/// Failed logins for one account from one address within [`FAILURE_WINDOW`] before that
/// address may not try that account any more.
pub const MAX_FAILURES_PER_ACCOUNT: u32 = 10;

/// Failed logins from one address, all accounts together, within [`FAILURE_WINDOW`] before the
/// address is locked out: it bounds guessing across many accounts. A success takes off only
/// the failures of the account that succeeded.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 30;

/// How long failures are remembered (and how long a lock-out lasts).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Failed logins one connection may make before the server closes it (with `421`).
pub const MAX_FAILURES_PER_CONNECTION: u32 = 3;

/// The wait before the first `530`; it doubles with each further failure from the address.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);

/// The longest wait before a `530`.
pub const MAX_DELAY: Duration = Duration::from_secs(4);

/// Most records in each table (per address, per address and account); past it, expired records
/// are dropped and then the oldest ones, so a flood of addresses or user names cannot grow the
/// tables without bound. A record is at most 80 bytes or so (an account is kept as the 32-byte
/// digest of its name, however long the name sent), so the tables stay under a few megabytes.
pub const MAX_TRACKED_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
}

/// An account as the guard remembers it: the digest of its name (a fixed size whatever a
/// client sends as `USER`).
type AccountKey = (IpAddr, [u8; 32]);

/// Failed logins per client address and per address and account, shared by all connections.
/// Pure: time is an argument.
#[derive(Debug, Default)]
pub struct LoginGuard {
    by_account: HashMap<AccountKey, Failures>,
    by_address: HashMap<IpAddr, Failures>,
}

impl LoginGuard {
    /// An empty guard.
    pub fn new() -> LoginGuard {
        LoginGuard::default()
    }

    /// `Err(retry_after)` if `ip` may not try to log in as `user` at `now`: too many failures
    /// for that account from that address, or for all accounts from that address.
    pub fn check(&mut self, ip: IpAddr, user: &str, now: Instant) -> Result<(), Duration> {
        let locked = |failures: Option<Failures>, max: u32| {
            failures
                .filter(|failures| failures.count >= max)
                .map(|failures| {
                    FAILURE_WINDOW.saturating_sub(now.saturating_duration_since(failures.first))
                })
        };
        let account = locked(
            current(&self.by_account, &key(ip, user), now),
            MAX_FAILURES_PER_ACCOUNT,
        );
        let address = locked(
            current(&self.by_address, &ip, now),
            MAX_FAILURES_PER_ADDRESS,
        );
        match account.max(address) {
            Some(retry_after) => Err(retry_after),
            None => Ok(()),
        }
    }

    /// Records a failure and returns how long to wait before answering it: the wait doubles
    /// with each failure from this address.
    pub fn record_failure(&mut self, ip: IpAddr, user: &str, now: Instant) -> Duration {
        count_failure(&mut self.by_account, key(ip, user), now);
        let count = count_failure(&mut self.by_address, ip, now);
        let doublings = count.saturating_sub(1).min(16);
        FIRST_DELAY.saturating_mul(1u32 << doublings).min(MAX_DELAY)
    }

    /// A successful login forgets the failures of that account from that address, and only
    /// those (module docs): not other accounts', not the address's total.
    pub fn record_success(&mut self, ip: IpAddr, user: &str) {
        let Some(cleared) = self.by_account.remove(&key(ip, user)) else {
            return;
        };
        if let Some(total) = self.by_address.get_mut(&ip) {
            total.count = total.count.saturating_sub(cleared.count);
        }
    }
}

fn key(ip: IpAddr, user: &str) -> AccountKey {
    (ip, Sha256::digest(user.as_bytes()).into())
}

/// The failures recorded under `key` still inside the window.
fn current<K: Eq + Hash>(table: &HashMap<K, Failures>, key: &K, now: Instant) -> Option<Failures> {
    table
        .get(key)
        .copied()
        .filter(|failures| now.saturating_duration_since(failures.first) < FAILURE_WINDOW)
}

/// Adds one failure under `key` (a new window if the last one expired); returns the count.
fn count_failure<K: Eq + Hash + Copy>(
    table: &mut HashMap<K, Failures>,
    key: K,
    now: Instant,
) -> u32 {
    let failures = match current(table, &key, now) {
        Some(failures) => Failures {
            count: failures.count.saturating_add(1),
            first: failures.first,
        },
        None => Failures {
            count: 1,
            first: now,
        },
    };
    if !table.contains_key(&key) {
        make_room(table, now);
    }
    table.insert(key, failures);
    failures.count
}

/// Keeps `table` under [`MAX_TRACKED_ADDRESSES`]: expired records first, then the oldest.
fn make_room<K: Eq + Hash + Copy>(table: &mut HashMap<K, Failures>, now: Instant) {
    if table.len() < MAX_TRACKED_ADDRESSES {
        return;
    }
    table.retain(|_, failures| now.saturating_duration_since(failures.first) < FAILURE_WINDOW);
    while table.len() >= MAX_TRACKED_ADDRESSES {
        let oldest = table
            .iter()
            .min_by_key(|(_, failures)| failures.first)
            .map(|(key, _)| *key);
        match oldest {
            Some(key) => table.remove(&key),
            None => break,
        };
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

    /// Delays double per failure up to the cap; the tenth failure locks the account out for
    /// that address until the window passes; other addresses are unaffected.
    #[test]
    fn failures_slow_down_then_lock_out() {
        let mut guard = LoginGuard::new();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let start = Instant::now();
        let delays: Vec<Duration> = (0..MAX_FAILURES_PER_ACCOUNT)
            .map(|_| guard.record_failure(ip, "alice", start))
            .collect();
        assert_eq!(delays[0], Duration::from_millis(250));
        assert_eq!(delays[1], Duration::from_millis(500));
        assert_eq!(delays[2], Duration::from_secs(1));
        assert_eq!(delays[9], MAX_DELAY);
        assert_eq!(guard.check(ip, "alice", start), Err(FAILURE_WINDOW));
        assert_eq!(guard.check([192, 0, 2, 2].into(), "alice", start), Ok(()));
        assert_eq!(guard.check(ip, "alice", start + FAILURE_WINDOW), Ok(()));
    }

    /// A success clears the record of the account that logged in.
    #[test]
    fn success_forgets() {
        let mut guard = LoginGuard::new();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let now = Instant::now();
        guard.record_failure(ip, "alice", now);
        guard.record_success(ip, "alice");
        assert_eq!(guard.record_failure(ip, "alice", now), FIRST_DELAY);
    }

    /// Issue 14, item 2: a success for another account (anonymous) from the same address
    /// clears nothing: nine failures, a success, one more failure lock `alice` out.
    #[test]
    fn success_for_another_account_keeps_the_count() {
        let mut guard = LoginGuard::new();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let now = Instant::now();
        for _ in 1..MAX_FAILURES_PER_ACCOUNT {
            guard.record_failure(ip, "alice", now);
        }
        guard.record_success(ip, "anonymous");
        guard.record_failure(ip, "bob", now);
        guard.record_success(ip, "bob");
        assert_eq!(guard.check(ip, "alice", now), Ok(()));
        assert_eq!(guard.record_failure(ip, "alice", now), MAX_DELAY);
        assert_eq!(guard.check(ip, "alice", now), Err(FAILURE_WINDOW));
        // Another account from that address, and alice from another address, may still try.
        assert_eq!(guard.check(ip, "bob", now), Ok(()));
        assert_eq!(guard.check([192, 0, 2, 2].into(), "alice", now), Ok(()));
    }

    /// One guess for each of many accounts locks the whole address out at
    /// MAX_FAILURES_PER_ADDRESS, and a success for another account does not reset that total.
    #[test]
    fn spraying_many_accounts_locks_the_address() {
        let mut guard = LoginGuard::new();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let now = Instant::now();
        for index in 0..MAX_FAILURES_PER_ADDRESS {
            assert_eq!(guard.check(ip, &format!("user{index}"), now), Ok(()));
            guard.record_failure(ip, &format!("user{index}"), now);
            guard.record_success(ip, "anonymous");
        }
        assert_eq!(guard.check(ip, "anyone", now), Err(FAILURE_WINDOW));
        assert_eq!(guard.check([192, 0, 2, 2].into(), "anyone", now), Ok(()));
    }

    /// The tables stay bounded whatever the flood of addresses and names.
    #[test]
    fn tables_stay_bounded() {
        let mut guard = LoginGuard::new();
        let now = Instant::now();
        for index in 0..(MAX_TRACKED_ADDRESSES as u32 + 50) {
            let ip = IpAddr::from(index.to_be_bytes());
            guard.record_failure(ip, &"x".repeat(4000), now);
        }
        assert!(guard.by_address.len() <= MAX_TRACKED_ADDRESSES);
        assert!(guard.by_account.len() <= MAX_TRACKED_ADDRESSES);
    }
}
