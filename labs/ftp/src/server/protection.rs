//! # AUTH TLS, PBSZ, PROT, CCC: asking for protection (RFC 4217)
//!
//! The commands of explicit FTPS (`crate::tls` explains TLS's part), decided here without
//! sockets like every other command: the session answers, and for `AUTH TLS` asks the connection
//! code to run the handshake once the `234` is out ([`Step::StartTls`]).
//!
//! ```text
//!   AUTH TLS  ->  234  then the TLS handshake       (RFC 4217 §4)
//!   PBSZ 0    ->  200 PBSZ=0                        (§9; only after AUTH TLS)
//!   PROT P    ->  200, every later data connection is TLS  (§9; only after PBSZ)
//!   PROT C    ->  200, data connections in the clear again
//!   PROT S|E  ->  536: TLS protects all or nothing, it has no "integrity only" level
//!   CCC       ->  534: we do not drop TLS from the control connection (§5, a policy choice)
//! ```
//!
//! `AUTH SSL` is the pre-standard spelling (before RFC 4217) and meant "data protected too".
//! It is refused with `504`, and curl, which tries `AUTH SSL` first by default, then sends
//! `AUTH TLS`: one mechanism with one meaning.
//!
//! ## `--require-tls`: the password and the files
//! A server that requires TLS wants both things TLS protects: the login and the files.
//!
//! - `USER` and `PASS` on a clear control connection are refused with `534` ("request denied
//!   for policy reasons", RFC 2228's reply for a security policy) before their arguments are
//!   even looked at: a password sent in the clear has already been exposed, and checking it
//!   would only tell an eavesdropper it is right.
//! - A transfer (`RETR`, `STOR`, `APPE`, `LIST`, `NLST`, `MLSD`) while the data protection is
//!   clear (no `PROT P` yet, or `PROT C`) is refused with `521`, "data connection cannot be
//!   opened with this PROT setting", the reply RFC 4217 §9 adds to RFC 2228's for exactly this
//!   case. It comes before the server opens (active mode) or accepts (passive mode) a data
//!   connection, so no byte crosses one, and it says what to send: `PROT P`. (A passive client
//!   may have connected already, as curl does right after `229`: the kernel completed that
//!   handshake, but the server never accepts it.)
//!   Other servers pick other codes: vsftpd's `force_local_data_ssl` answers `522` (a code
//!   RFC 2428 §2 already gives `EPRT`'s "network protocol not supported"), and pyftpdlib's
//!   `tls_data_required` refuses `PASV`/`PORT` already, with `550`.
//! - `PROT C` itself is refused with `534`, RFC 2228's policy refusal among `PROT`'s replies,
//!   so a client that asks for clear data learns at once that it will not get it, at the
//!   command that asked, and the protection stays as it was. (vsftpd accepts `PROT C` and
//!   refuses only the transfer; curl's `--ftp-ssl-control`, which sends `PROT C`, carries on
//!   after either refusal and meets the `521` at its first transfer.)

use netlab_common::term;

use super::session::{Login, Session, Step, reply};
use crate::reply::Reply;

/// The commands that open a data connection (`STOU` is not implemented: it gets `502`).
const TRANSFERS: &[&str] = &["RETR", "STOR", "APPE", "LIST", "NLST", "MLSD"];

/// What the client asked to protect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protection {
    /// The control connection runs TLS (`AUTH TLS` and a finished handshake).
    pub control: bool,
    /// `PBSZ` was sent after `AUTH TLS`: `PROT` may follow.
    pub buffer_size_set: bool,
    /// `PROT P`: data connections run TLS.
    pub data: bool,
}

impl Session {
    /// `AUTH` (RFC 4217 §4).
    pub(super) fn auth(&mut self, mechanism: &str) -> Step {
        let mechanism = mechanism.trim().to_ascii_uppercase();
        match mechanism.as_str() {
            "TLS" | "TLS-C" if self.protection.control => {
                reply(503, "The control connection is already protected by TLS.")
            }
            "TLS" | "TLS-C" => {
                // A login made in the clear does not carry over: log in again, under TLS.
                self.login = Login::NeedUser;
                Step::StartTls(Reply::new(
                    234,
                    "AUTH TLS ok: start the TLS handshake now (RFC 4217 §4).",
                ))
            }
            "SSL" | "TLS-P" => reply(
                504,
                format!("AUTH {mechanism} is the pre-standard form; use AUTH TLS (RFC 4217 §4)."),
            ),
            "" => reply(501, "AUTH needs a mechanism: AUTH TLS."),
            _ => reply(504, "Security mechanism not understood; use AUTH TLS."),
        }
    }

    /// The TLS handshake after `AUTH TLS` succeeded: the control connection is protected.
    pub fn control_protected(&mut self) {
        self.protection.control = true;
    }

    /// `PBSZ` (RFC 4217 §9): a buffer size for RFC 2228's other mechanisms; TLS makes its own
    /// records, so it is always 0.
    pub(super) fn protection_buffer_size(&mut self, size: &str) -> Step {
        if !self.protection.control {
            return reply(503, "PBSZ needs AUTH TLS first.");
        }
        if size.trim().parse::<u64>().is_err() {
            return reply(501, "PBSZ takes a number: PBSZ 0.");
        }
        self.protection.buffer_size_set = true;
        reply(200, "PBSZ=0")
    }

    /// `PROT` (RFC 4217 §9): are data connections protected?
    pub(super) fn protection_level(&mut self, level: &str) -> Step {
        if !self.protection.control {
            return reply(503, "PROT needs AUTH TLS and PBSZ 0 first.");
        }
        if !self.protection.buffer_size_set {
            return reply(503, "Send PBSZ 0 before PROT (RFC 4217 §9).");
        }
        match level.trim().to_ascii_uppercase().as_str() {
            "P" => {
                self.protection.data = true;
                reply(200, "Protection level P: data connections use TLS.")
            }
            "C" if self.shared.require_tls => {
                term::warn(format!(
                    "{}: PROT C refused: data connections must be protected (--require-tls)",
                    self.peer
                ));
                reply(
                    534,
                    "PROT C refused: this server runs with --require-tls, data connections must be protected; send PROT P.",
                )
            }
            "C" => {
                self.protection.data = false;
                reply(200, "Protection level C: data connections in the clear.")
            }
            "S" | "E" => reply(
                536,
                "Protection level not supported by TLS: it protects all or nothing (use P or C).",
            ),
            "" => reply(501, "PROT needs a level: P or C."),
            _ => reply(504, "Protection level not understood: use P or C."),
        }
    }

    /// `CCC` (RFC 4217 §5): back to a clear control connection. Refused: the commands that
    /// follow (and a later `USER`/`PASS`) would be readable again.
    pub(super) fn clear_command_channel(&self) -> Step {
        if !self.protection.control {
            return reply(
                503,
                "The control connection is not protected; nothing to clear.",
            );
        }
        reply(
            534,
            "CCC refused by policy: the control connection stays protected.",
        )
    }

    /// `--require-tls`, a clear control connection and `USER` or `PASS`: the refusal, with the
    /// argument unread (module docs). `None` for any other command or situation.
    pub(super) fn login_needs_tls(&self, verb: &str) -> Option<Step> {
        let login = verb == "USER" || verb == "PASS";
        if !login || !self.shared.require_tls || self.protection.control {
            return None;
        }
        term::warn(format!(
            "{}: {verb} refused on a clear control connection (--require-tls)",
            self.peer
        ));
        Some(reply(
            534,
            "Log in only over TLS: send AUTH TLS first (this server runs with --require-tls).",
        ))
    }

    /// `--require-tls`, a transfer command and clear data connections: the refusal (module
    /// docs), before anything is opened. `None` for any other command or situation.
    pub(super) fn transfer_needs_tls(&self, verb: &str) -> Option<Step> {
        if !TRANSFERS.contains(&verb) || !self.shared.require_tls || self.protection.data {
            return None;
        }
        term::warn(format!(
            "{}: {verb} refused: data connections are clear and --require-tls wants them protected (PROT P)",
            self.peer
        ));
        Some(reply(
            521,
            format!(
                "{verb} refused: data connections must be protected on this server (--require-tls); send PBSZ 0 and PROT P first."
            ),
        ))
    }

    /// Do data connections run TLS (`PROT P`)?
    pub fn data_protected(&self) -> bool {
        self.protection.data
    }
}
