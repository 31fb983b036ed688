//! # One client's session: the control-channel state machine
//!
//! RFC 959 §6 describes a server as a state machine driven by commands: before `USER` and `PASS`
//! nearly everything is refused with `530`; `RNFR` must be followed by `RNTO` (else `503`, "bad
//! sequence"); `REST` sets the offset the next transfer starts at; `PASV` or `PORT` must come
//! before a transfer so both sides know who connects to whom.
//!
//! [`Session`] holds that state and decides the answer to each command. It has no sockets: it
//! takes a parsed command and the current time and returns a [`Step`], either a reply to send or
//! a request for the connection code (`server::connection`) to do network work: open a passive
//! listener, remember an active address, run a transfer. Unit tests drive it directly.
//!
//! ## The FTP bounce attack (RFC 2577, section 3)
//! `PORT` tells the server "connect to this address and send the file there". Nothing in RFC 959 §4.1.2
//! says the address must be the client's own, so a client could make the server connect to a
//! third machine (an internal mail server on port 25, a printer) and replay a file it uploaded
//! earlier as if the server had written it: port scans and forged mail that appear to come from
//! the FTP server, from *inside* the firewall. RFC 2577 (section 3) suggests one defence: open no
//! data connection to a port below 1024, answering `504`. It leaves every other port open to the
//! attack, so servers add a second check that is common practice rather than an RFC's rule
//! (vsftpd's default, `port_promiscuous=NO`): the address must be the control connection's own
//! peer. `PORT`/`EPRT` are refused with `504` unless both hold.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netlab_common::term;

use super::Shared;
use super::accounts::{self, Access, LoginGuard, MAX_FAILURES_PER_CONNECTION};
use super::paths::{PathError, VirtualPath};
use super::protection::Protection;
use crate::command::Command;
use crate::data::same_host;
use crate::hostport;
use crate::reply::Reply;

/// What the connection code should do after a command.
#[derive(Debug)]
pub enum Step {
    /// Send this reply.
    Reply(Reply),
    /// Send this reply, then close the control connection.
    Close(Reply),
    /// Wait first (a failed login is answered slowly), then do the inner step.
    Wait(Duration, Box<Step>),
    /// Open a passive listener and announce it with `227` (PASV) or `229` (EPSV).
    Passive {
        /// `EPSV` (port only) rather than `PASV` (address and port).
        extended: bool,
    },
    /// The next transfer connects to this (already checked) address: reply `200`.
    Active(SocketAddr),
    /// Run a transfer on the data connection.
    Transfer(Transfer),
    /// `ABOR`: drop any prepared data connection and confirm.
    Abort,
    /// `AUTH TLS`: send this reply in the clear, then run the TLS handshake on the control
    /// connection (`server::protection`).
    StartTls(Reply),
}

/// A transfer on the data connection, with everything checked that could be checked without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// What to do.
    pub kind: TransferKind,
    /// The virtual path, for replies and logs.
    pub shown: String,
}

/// The three things a data connection carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferKind {
    /// RETR: send `path` from byte `offset` (REST) on.
    Send {
        /// The real file.
        path: PathBuf,
        /// Where to start (0 unless REST came first).
        offset: u64,
        /// The file size when checked.
        size: u64,
    },
    /// STOR / APPE: receive into `target`.
    Receive {
        /// The real path the file gets when complete.
        target: PathBuf,
        /// Keep this many bytes of the existing file, then append (REST + STOR; APPE keeps all).
        keep: Keep,
    },
    /// LIST / NLST / MLSD: send a directory listing.
    List {
        /// The real file or directory.
        path: PathBuf,
        /// Which format.
        format: ListFormat,
        /// May this login change the entries (the MLSD `perm` fact)?
        writable: bool,
    },
}

/// How much of an existing file an upload keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// STOR: replace it.
    Nothing,
    /// REST n + STOR: its first n bytes, then the upload (a resumed upload).
    First(u64),
    /// APPE: all of it, then the upload.
    All,
}

/// Listing formats (see `crate::listing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// LIST: `ls -l` lines.
    Long,
    /// NLST: names only.
    Names,
    /// MLSD: RFC 3659 §7 facts.
    Facts,
}

#[derive(Debug, Clone)]
pub(super) enum Login {
    NeedUser,
    NeedPassword { user: String },
    LoggedIn { user: String, access: Access },
}

/// The state of one control connection.
#[derive(Debug)]
pub struct Session {
    pub(super) shared: Arc<Shared>,
    /// The client's address (the other end of the control connection).
    pub(super) peer: SocketAddr,
    /// Our address on the control connection: passive listeners open on the same IP.
    pub(super) local: SocketAddr,
    pub(super) login: Login,
    pub(super) cwd: VirtualPath,
    /// The REST offset for the next transfer.
    pub(super) restart_at: u64,
    /// The path named by RNFR; only the very next command (RNTO) may use it.
    pub(super) rename_from: Option<VirtualPath>,
    /// After `EPSV ALL` only EPSV may set up data connections (RFC 2428, section 4).
    pub(super) epsv_only: bool,
    /// What AUTH TLS and PROT protect (`server::protection`).
    pub(super) protection: Protection,
    failed_logins: u32,
}

impl Session {
    /// A new session for a client at `peer`, connected to our `local` address.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, local: SocketAddr) -> Session {
        Session {
            shared,
            peer,
            local,
            login: Login::NeedUser,
            cwd: VirtualPath::root(),
            restart_at: 0,
            rename_from: None,
            epsv_only: false,
            protection: Protection::default(),
            failed_logins: 0,
        }
    }

    /// `REIN` (RFC 959, 4.1.1): back to the state of a new connection, logged out, except that
    /// the failed logins of this connection still count. A reset by REIN after an anonymous
    /// login would give a guesser three fresh tries per cycle (`server::accounts`, issue 14).
    /// TLS stays as it is: the control connection cannot become clear again (`CCC` is refused).
    pub(super) fn reinitialize(&mut self) {
        let failed_logins = self.failed_logins;
        let protection = self.protection;
        *self = Session::new(Arc::clone(&self.shared), self.peer, self.local);
        self.failed_logins = failed_logins;
        self.protection = protection;
    }

    /// The `220` greeting sent when the connection opens.
    pub fn greeting() -> Reply {
        Reply::new(220, "netlab ftp-lab ready. Log in with USER and PASS.")
    }

    /// The logged-in user's name, if any.
    pub fn user(&self) -> Option<&str> {
        match &self.login {
            Login::LoggedIn { user, .. } => Some(user),
            _ => None,
        }
    }

    /// Decides what to do about one command at time `now`.
    pub fn handle(&mut self, command: &Command, now: Instant) -> Step {
        let rename_from = self.rename_from.take();
        let arg = command.arg.as_str();
        if let Some(refusal) = self.login_needs_tls(&command.verb) {
            return refusal;
        }
        match command.verb.as_str() {
            "USER" => self.user_command(arg),
            "PASS" => self.pass_command(arg, now),
            "QUIT" => Step::Close(Reply::new(221, "Goodbye.")),
            "NOOP" => reply(200, "NOOP ok."),
            "SYST" => reply(215, "UNIX Type: L8"),
            "FEAT" => Step::Reply(super::commands::features()),
            "OPTS" => super::commands::options(arg),
            "HELP" => Step::Reply(super::commands::help()),
            "ACCT" => reply(202, "No account needed."),
            "AUTH" => self.auth(arg),
            "PBSZ" => self.protection_buffer_size(arg),
            "PROT" => self.protection_level(arg),
            "CCC" => self.clear_command_channel(),
            verb if !super::commands::is_implemented(verb) => {
                reply(502, format!("Command not implemented: {verb}."))
            }
            _ if self.user().is_none() => reply(530, "Please log in with USER and PASS first."),
            "PASV" | "EPSV" | "PORT" | "EPRT" => self.data_setup(command),
            "RNTO" => self.rename_to(arg, rename_from),
            "ABOR" => Step::Abort,
            _ => self.file_command(command),
        }
    }

    fn user_command(&mut self, name: &str) -> Step {
        if name.is_empty() {
            return reply(501, "USER needs a user name.");
        }
        self.login = Login::NeedUser;
        if accounts::is_anonymous_name(name) {
            if !self.shared.accounts.anonymous {
                return reply(
                    530,
                    "Anonymous login is disabled on this server (--no-anonymous).",
                );
            }
            self.login = Login::NeedPassword {
                user: name.to_ascii_lowercase(),
            };
            return reply(
                331,
                "Anonymous login ok, send your e-mail address as password.",
            );
        }
        self.login = Login::NeedPassword {
            user: name.to_string(),
        };
        // The same reply whether or not the account exists: USER must not reveal that.
        reply(331, format!("Password required for {name}."))
    }

    fn pass_command(&mut self, password: &str, now: Instant) -> Step {
        let user = match &self.login {
            Login::NeedPassword { user } => user.clone(),
            Login::LoggedIn { .. } => return reply(202, "Already logged in."),
            Login::NeedUser => return reply(503, "Login with USER first."),
        };
        let ip = self.peer.ip().to_canonical();
        if let Err(retry_after) = self.guard().check(ip, &user, now) {
            term::warn(format!(
                "{}: login as {} refused: too many failures from this address",
                self.peer,
                term::sanitize(&user)
            ));
            return Step::Close(Reply::new(
                421,
                format!(
                    "Too many failed logins from your address; try again in {} minutes.",
                    retry_after.as_secs().div_ceil(60)
                ),
            ));
        }
        match self.shared.accounts.check(&user, password) {
            Some(access) => {
                self.guard().record_success(ip, &user);
                let how = match access {
                    Access::ReadOnly => "read-only",
                    Access::ReadWrite => "read-write",
                };
                term::info(format!(
                    "{}: logged in as {} ({how})",
                    self.peer,
                    term::sanitize(&user)
                ));
                self.login = Login::LoggedIn { user, access };
                reply(230, format!("Login successful ({how})."))
            }
            None => self.failed_login(&user, ip, now),
        }
    }

    fn failed_login(&mut self, user: &str, ip: std::net::IpAddr, now: Instant) -> Step {
        let delay = self.guard().record_failure(ip, user, now);
        self.failed_logins += 1;
        self.login = Login::NeedUser;
        term::warn(format!(
            "{}: failed login as {} ({} on this connection)",
            self.peer,
            term::sanitize(user),
            self.failed_logins
        ));
        let step = if self.failed_logins >= MAX_FAILURES_PER_CONNECTION {
            Step::Close(Reply::new(
                421,
                format!(
                    "Login incorrect, {MAX_FAILURES_PER_CONNECTION} times; closing the connection."
                ),
            ))
        } else {
            Step::Reply(Reply::new(530, "Login incorrect."))
        };
        Step::Wait(delay, Box::new(step))
    }

    fn guard(&self) -> MutexGuard<'_, LoginGuard> {
        // The guard's table is consistent after every statement; a poisoned lock is still usable.
        self.shared
            .login_guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Does this login have write access?
    pub(super) fn writable(&self) -> bool {
        matches!(
            self.login,
            Login::LoggedIn {
                access: Access::ReadWrite,
                ..
            }
        )
    }

    fn data_setup(&mut self, command: &Command) -> Step {
        let verb = command.verb.as_str();
        let arg = command.arg.trim();
        if verb == "EPSV" {
            return self.extended_passive(arg);
        }
        if self.epsv_only {
            return reply(503, format!("{verb} not allowed after EPSV ALL; use EPSV."));
        }
        match verb {
            "PASV" if self.local.ip().to_canonical().is_ipv6() => reply(
                425,
                "PASV cannot express an IPv6 address; use EPSV (RFC 2428 §3).",
            ),
            "PASV" => Step::Passive { extended: false },
            "PORT" => match hostport::parse_port(arg) {
                Ok(target) => self.active_target(verb, SocketAddr::V4(target)),
                Err(why) => reply(501, why),
            },
            _ => match hostport::parse_eprt(arg) {
                Ok(target) => self.active_target(verb, target),
                Err(why) if why.contains("network protocol") => {
                    reply(522, "Network protocol not supported, use (1,2).")
                }
                Err(why) => reply(501, why),
            },
        }
    }

    fn extended_passive(&mut self, arg: &str) -> Step {
        let family = if self.local.ip().to_canonical().is_ipv4() {
            "1"
        } else {
            "2"
        };
        if arg.is_empty() || arg == family {
            Step::Passive { extended: true }
        } else if arg.eq_ignore_ascii_case("ALL") {
            self.epsv_only = true;
            reply(200, "EPSV ALL ok: only EPSV from now on.")
        } else if arg == "1" || arg == "2" {
            reply(
                522,
                format!("Network protocol not supported, use ({family})."),
            )
        } else {
            reply(501, "EPSV takes no argument, 1, 2 or ALL.")
        }
    }

    /// The bounce-attack checks (module docs): only the client's own address (common practice),
    /// never a privileged port (RFC 2577, section 3).
    fn active_target(&self, verb: &str, target: SocketAddr) -> Step {
        let peer_ip = self.peer.ip().to_canonical();
        if !same_host(target.ip(), peer_ip) {
            term::warn(format!(
                "{}: refused {verb} to {target}: not the client's address (the FTP bounce attack, RFC 2577 section 3)",
                self.peer
            ));
            return reply(
                504,
                format!(
                    "{verb} refused: data connections go only to your own address {peer_ip}, not {} (a defence against the FTP bounce attack).",
                    target.ip()
                ),
            );
        }
        if target.port() < 1024 {
            term::warn(format!(
                "{}: refused {verb} to privileged port {}",
                self.peer,
                target.port()
            ));
            return reply(
                504,
                format!(
                    "{verb} refused: port {} is below 1024; use a port of 1024 or more (RFC 2577, section 3).",
                    target.port()
                ),
            );
        }
        Step::Active(target)
    }

    /// The current directory joined with `arg`, or the reply explaining why not.
    pub(super) fn resolve(&self, arg: &str) -> Result<VirtualPath, Reply> {
        self.cwd
            .resolve(arg)
            .map_err(|err| self.path_reply(arg, &err))
    }

    /// The reply for a path that cannot be used; escapes are also logged.
    pub(super) fn path_reply(&self, shown: &str, err: &PathError) -> Reply {
        match err {
            PathError::Outside => term::warn(format!(
                "{}: refused {}: a symbolic link leads outside the root",
                self.peer,
                term::sanitize(shown)
            )),
            PathError::NotAllowed(why) => term::warn(format!(
                "{}: refused the name {}: {why}",
                self.peer,
                term::sanitize(shown)
            )),
            PathError::NotFound | PathError::BrokenLink => {}
        }
        let code = match err {
            PathError::NotAllowed(_) => 553,
            PathError::NotFound | PathError::Outside | PathError::BrokenLink => 550,
        };
        Reply::new(code, format!("{shown}: {err}."))
    }
}

/// A one-line reply step.
pub(super) fn reply(code: u16, text: impl Into<String>) -> Step {
    Step::Reply(Reply::new(code, text))
}
