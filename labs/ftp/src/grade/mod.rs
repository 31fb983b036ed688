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
//! `--tls` adds the checks of explicit FTPS (RFC 4217): `AUTH TLS`, a login nobody on the path
//! can read, and files that travel over TLS-protected data connections.
//!
//! ## Layout
//! - this file: [`GradeConfig`] and [`run`], the target, and the list of checks in the order they
//!   run;
//! - `session`: the grader's FTP client (exact replies, data connections both ways);
//! - `dialogue`: the control dialogue (greeting, login, sequence, framing of commands);
//! - `files`: transfers (listings in three modes, uploads and downloads byte for byte);
//! - `secure`: the grader's side of TLS (a bounded handshake, reply lines read through TLS);
//! - `ftps`: the `--tls` checks: `AUTH TLS`, `PBSZ`, `PROT`, transfers over TLS;
//! - `security`: escapes from the root, the bounce attack;
//! - `foreign`: a stolen passive data connection (port theft);
//! - `stress`: many clients, a client that never reads, never connects, or vanishes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netlab_common::Result;
use netlab_common::grade::{Check, Rubric};

use crate::tls::Trust;
use secure::TlsClient;

mod dialogue;
mod files;
mod foreign;
mod ftps;
mod secure;
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
    /// `--tls`: how to speak TLS to it; `None` leaves the FTPS checks out.
    pub tls: Option<TlsClient>,
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
    /// `--tls`: add the FTPS checks, trusting the server's certificate as this says
    /// (`--tls-ca`, `--tls-fingerprint`; any certificate by default).
    pub tls: Option<Trust>,
}

/// Grades, prints the rubric, and fails (exit status 1) unless every required check passed.
pub fn run(config: &GradeConfig, plan: &netlab_common::grade::class::Plan) -> Result<()> {
    if let Some(trust) = &config.tls {
        // A --tls-ca file that cannot be read is the user's mistake: said once, before grading.
        crate::tls::client_config(trust)?;
    }
    netlab_common::grade::class::run(plan, &|addr| grade(addr, config))
}

/// Runs every check against the server at `addr`: the write checks only with an account
/// (`config.user`: a name and its password), the FTPS checks only with `--tls`.
pub fn grade(addr: SocketAddr, config: &GradeConfig) -> Rubric {
    let scratch = format!("grader-{}", std::process::id());
    let user = config.user.clone();
    let mut who = match &user {
        Some((name, _)) => format!("as {name}"),
        None => "anonymously (read-only checks; --user NAME:PASS adds uploads)".to_string(),
    };
    let tls = match &config.tls {
        None => None,
        Some(trust) => match TlsClient::new(trust, &addr.ip().to_string()) {
            Ok(client) => Some(client),
            Err(err) => {
                // Checked in `run` already; a name rustls cannot check is said in the subject.
                who.push_str(&format!("; the FTPS checks are left out: {err}"));
                None
            }
        },
    };
    if tls.is_some() {
        who.push_str(", with the FTPS checks (--tls)");
    }
    let target = Target {
        addr,
        user,
        scratch,
        tls,
    };
    let subject = format!("an FTP server at {addr}, logged in {who}");
    Rubric::run(subject, checks(&target), config.deadline)
}

/// Every check, in order: the dialogue first (a server that cannot log in fails everything
/// after it for one clear reason), then transfers (clear, then over TLS with `--tls`), attacks
/// next, the checks that may kill a server last.
fn checks(t: &Target) -> Vec<Check> {
    let mut list = dialogue::checks(t);
    list.extend(files::checks(t));
    if t.tls.is_some() {
        list.extend(ftps::checks(t));
    }
    list.extend(security::checks(t));
    list.extend(foreign::checks(t));
    list.extend(stress::checks(t));
    list
}
