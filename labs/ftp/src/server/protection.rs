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
//! `--require-tls` refuses `USER` and `PASS` on a clear control connection with `534` before
//! their arguments are even looked at: a password sent in the clear has already been exposed,
//! and checking it would only tell an eavesdropper it is right.

use netlab_common::term;

use super::session::{Login, Session, Step, reply};
use crate::reply::Reply;

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

    /// Do data connections run TLS (`PROT P`)?
    pub fn data_protected(&self) -> bool {
        self.protection.data
    }
}
