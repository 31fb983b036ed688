//! # `ftp-lab grade HOST:PORT`: check a student's FTP server against docs/protocols/ftp.md
//!
//! The checks are what real clients, real networks and real attackers do to an FTP server. The
//! control connection is a TCP stream, so a command may arrive one byte at a time or three in
//! one read; a command line may be 100 KB long; a client may never open the data connection it
//! asked for, never read its replies, or vanish in the middle of an upload. And FTP has its own
//! classic attacks: paths that climb out of the served directory (`../../etc/passwd`), `PORT`
//! commands that aim the server at a third machine (the bounce attack, RFC 2577 section 3), and
//! strangers who connect to a passive port first (port theft, RFC 2577 section 8).
//!
//! Every check opens its own connections and runs under a deadline
//! ([`netlab_common::grade`]), so a hung server fails checks instead of hanging the grader.
//!
//! ## Layout
//! - this file: [`GradeConfig`] and [`run`], the target, and the list of checks in the order they
//!   run;
//! - `session`: the grader's FTP client (exact replies, data connections both ways);
//! - `dialogue`: the control dialogue (greeting, login, sequence, framing of commands);
//! - `files`: transfers (listings in three modes, uploads and downloads byte for byte);
//! - `security`: escapes from the root, the bounce attack;
//! - `foreign`: a stolen passive data connection (port theft);
//! - `stress`: many clients, a client that never reads, never connects, or vanishes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netlab_common::Result;
use netlab_common::grade::{Check, Rubric};

mod dialogue;
mod files;
mod foreign;
mod security;
mod session;
mod stress;

/// The password the grader sends for anonymous logins (by convention, an e-mail address).
pub const ANONYMOUS_PASSWORD: &str = "grader@example.org";

/// What to grade.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's control port.
    pub addr: SocketAddr,
    /// `--user NAME:PASSWORD`: an account with write access; `None` grades anonymously.
    pub user: Option<(String, String)>,
    /// Unique per run, so names the grader uploads never collide with a student's files or
    /// with another grader's run.
    pub scratch: String,
}

impl Target {
    /// The name and password to log in with.
    pub fn account(&self) -> (&str, &str) {
        match &self.user {
            Some((name, password)) => (name, password),
            None => ("anonymous", ANONYMOUS_PASSWORD),
        }
    }

    /// A file name for this run's uploads: `grader-PID-N-what`.
    pub fn scratch_name(&self, what: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        format!(
            "{}-{}-{what}",
            self.scratch,
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// What `ftp-lab grade` was asked (built by `cli.rs` from the flags).
#[derive(Debug, Clone)]
pub struct GradeConfig {
    /// The server's control port.
    pub addr: SocketAddr,
    /// `--user NAME:PASSWORD`, split: an account with write access; `None` grades anonymously.
    pub user: Option<(String, String)>,
    /// How long each check may take (`--timeout`).
    pub deadline: Duration,
    /// `--json`: the rubric as one JSON object instead of a table.
    pub json: bool,
}

/// Grades, prints the rubric, and fails (exit status 1) unless every required check passed.
pub fn run(config: &GradeConfig, plan: &netlab_common::grade::class::Plan) -> Result<()> {
    netlab_common::grade::class::run(plan, &|addr| {
        grade(addr, config.user.clone(), config.deadline)
    })
}

/// Runs every check against the server at `addr`: the write checks only with an account
/// (`user`: a name and its password).
pub fn grade(addr: SocketAddr, user: Option<(String, String)>, deadline: Duration) -> Rubric {
    let scratch = format!("grader-{}", std::process::id());
    let who = match &user {
        Some((name, _)) => format!("as {name}"),
        None => "anonymously (read-only checks; --user NAME:PASS adds uploads)".to_string(),
    };
    let target = Target {
        addr,
        user,
        scratch,
    };
    let subject = format!("an FTP server at {addr}, logged in {who}");
    Rubric::run(subject, checks(&target), deadline)
}

/// Every check, in order: the dialogue first (a server that cannot log in fails everything
/// after it for one clear reason), attacks next, the checks that may kill a server last.
fn checks(t: &Target) -> Vec<Check> {
    let mut list = dialogue::checks(t);
    list.extend(files::checks(t));
    list.extend(security::checks(t));
    list.extend(foreign::checks(t));
    list.extend(stress::checks(t));
    list
}
