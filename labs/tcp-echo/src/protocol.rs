//! # The echo session protocol (line and length framing)
//!
//! In `raw` framing the server is a pure RFC 862 echo: bytes in, the same bytes out, no protocol
//! at all. With message framing the server can do more, because it knows where each message ends:
//!
//! | client sends        | server answers                                             |
//! |---------------------|------------------------------------------------------------|
//! | (connects)          | `WELCOME Client01`                                         |
//! | any message `m`     | `ACK m` (the acknowledgement carries the message back)     |
//! | `status`            | `STATUS n clients`, one line per client, `END`             |
//! | `exit`              | `BYE Client01`, then the server closes the connection      |
//! | (server full)       | `ERROR server full ...`, then close                        |
//! | (frame over limit)  | `ERROR frame of N bytes exceeds ...`, then close           |
//! | (silent too long)   | `ERROR idle for N s (--idle-timeout N); ...`, then close   |
//!
//! Every answer is one frame in the connection's framing (a line, or a length-prefixed message).
//! This module decides *what* to answer; it does no I/O, so both engines share it and tests can
//! call it directly.
//!
//! ## Refusals in raw framing say nothing
//! In raw framing every byte the server writes is, to the client, echoed data (RFC 862 has no
//! other kind). An `ERROR server full` written there would be read as an echo of something the
//! client never sent. So in raw framing the server refuses or drops a client by closing the
//! connection without writing a byte, and says why only in its own log;
//! [`says_why_in_band`] is that rule, and both engines ask it before writing a refusal.

use std::time::{Duration, Instant};

use netlab_common::framing::Framing;

use crate::registry::{ClientId, Full, Registry};

/// Extra bytes an answer may add to a message (`ACK `), so clients accept echoes of maximum-size
/// messages.
pub const REPLY_HEADROOM: usize = 64;

/// What to send back, and whether the conversation is over.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// Payloads to send, each as one frame.
    pub frames: Vec<Vec<u8>>,
    /// Close the connection once the frames are sent.
    pub close: bool,
}

/// Whether a refusal or farewell (`ERROR ...`) may be written to the client: only when the
/// framing has messages. In raw framing the client would take it for echoed data.
pub fn says_why_in_band(framing: Framing) -> bool {
    framing != Framing::Raw
}

/// The greeting sent when a client is admitted.
pub fn welcome(name: &str) -> Vec<u8> {
    format!("WELCOME {name}").into_bytes()
}

/// The refusal sent to a client beyond `--max-clients`.
pub fn server_full(full: Full) -> Vec<u8> {
    format!(
        "ERROR server full: {} clients connected (--max-clients {}); try again later",
        full.max_clients, full.max_clients
    )
    .into_bytes()
}

/// The last words to a client whose message broke the framing rules.
pub fn frame_error(reason: &impl std::fmt::Display) -> Vec<u8> {
    format!("ERROR {reason}; closing the connection").into_bytes()
}

/// The last words to a client that sent nothing for `--idle-timeout` seconds.
pub fn idle_error(idle_timeout: Duration) -> Vec<u8> {
    format!(
        "ERROR {}; closing the connection",
        idle_reason(idle_timeout)
    )
    .into_bytes()
}

/// Why an idle client is dropped, for the client and the log: `idle for 300 s (--idle-timeout 300)`.
pub fn idle_reason(idle_timeout: Duration) -> String {
    format!(
        "{} (--idle-timeout {})",
        idle_for(idle_timeout),
        idle_timeout.as_secs()
    )
}

/// `idle for 300 s`: the short form, for the `disconnected (...)` log line.
pub fn idle_for(idle_timeout: Duration) -> String {
    format!("idle for {} s", idle_timeout.as_secs())
}

/// Answers one message from client `me`.
pub fn respond(message: &[u8], me: ClientId, registry: &Registry, now: Instant) -> Reply {
    match command_of(message) {
        Some(Command::Status) => Reply {
            frames: registry
                .status_lines(now)
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            close: false,
        },
        Some(Command::Exit) => {
            let name = registry.name_of(me).unwrap_or("client");
            Reply {
                frames: vec![format!("BYE {name}").into_bytes()],
                close: true,
            }
        }
        None => {
            let mut ack = Vec::with_capacity(4 + message.len());
            ack.extend_from_slice(b"ACK ");
            ack.extend_from_slice(message);
            Reply {
                frames: vec![ack],
                close: false,
            }
        }
    }
}

enum Command {
    Status,
    Exit,
}

/// `status` and `exit`, ignoring surrounding spaces; anything else is a message to acknowledge.
fn command_of(message: &[u8]) -> Option<Command> {
    match message.trim_ascii() {
        b"status" => Some(Command::Status),
        b"exit" => Some(Command::Exit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn one_client() -> (Registry, ClientId) {
        let mut registry = Registry::new(4);
        let (id, _) = registry.admit(([127, 0, 0, 1], 9).into()).unwrap();
        (registry, id)
    }

    /// An ordinary message comes back behind `ACK `, byte for byte.
    #[test]
    fn message_is_acknowledged_with_its_bytes() {
        let (registry, me) = one_client();
        let reply = respond(b"hi \xff", me, &registry, Instant::now());
        assert_eq!(reply.frames, vec![b"ACK hi \xff".to_vec()]);
        assert!(!reply.close);
    }

    /// `exit` says goodbye by name and closes.
    #[test]
    fn exit_says_bye_and_closes() {
        let (registry, me) = one_client();
        let reply = respond(b"exit\r", me, &registry, Instant::now());
        assert_eq!(reply.frames, vec![b"BYE Client01".to_vec()]);
        assert!(reply.close);
    }

    /// The idle farewell names the flag and the seconds, like tcp-chat's room.
    #[test]
    fn idle_error_names_the_flag() {
        assert_eq!(
            idle_error(Duration::from_secs(300)),
            b"ERROR idle for 300 s (--idle-timeout 300); closing the connection"
        );
        assert!(!says_why_in_band(Framing::Raw));
        assert!(says_why_in_band(Framing::Length));
    }

    /// `status` returns the table framed by STATUS and END.
    #[test]
    fn status_lists_clients() {
        let (registry, me) = one_client();
        let reply = respond(b"status", me, &registry, Instant::now());
        assert_eq!(reply.frames.len(), 3);
        assert_eq!(reply.frames[0], b"STATUS 1 client");
    }
}
