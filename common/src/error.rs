//! # Errors a student can act on
//!
//! The operating system reports network failures as terse codes: `ECONNREFUSED`, `EADDRINUSE`,
//! `ECONNRESET`. Each has a usual cause, and the first thing a student needs is that cause in plain
//! words. [`Error`] turns the common ones into messages with a hint ("is the server running on
//! 127.0.0.1:7007?") and keeps the rest as I/O errors with a note of what we were doing.
//!
//! Network errors are normal events, not bugs: a peer that vanishes, a port someone else holds, a
//! frame that breaks the rules. Servers handle them per connection (that client is closed, the
//! others go on); command-line tools print the message once and exit non-zero.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::framing::FrameError;

/// Result with netlab's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking over a network, worded for a student.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing is listening at the address (the OS answered the SYN with a RST).
    #[error("connection refused by {addr}: is the server running on {addr}?")]
    ConnectionRefused {
        /// The address we tried.
        addr: String,
    },
    /// Another socket already holds the port.
    #[error(
        "cannot listen on {addr}: another process holds port {port}; pick another port (--port 0 picks any free one) or wait for it to exit"
    )]
    AddrInUse {
        /// The address we tried to bind.
        addr: SocketAddr,
        /// Its port.
        port: u16,
    },
    /// The IP address to bind is not one of this machine's.
    #[error(
        "cannot listen on {addr}: that IP address does not belong to this machine (try 127.0.0.1, or 0.0.0.0 for every interface)"
    )]
    AddrNotAvailable {
        /// The address we tried to bind.
        addr: SocketAddr,
    },
    /// Binding a port below 1024 needs privileges on Unix.
    #[error(
        "cannot listen on {addr}: permission denied (ports below 1024 need administrator rights; use a higher port)"
    )]
    PermissionDenied {
        /// The address we tried to bind.
        addr: SocketAddr,
    },
    /// A host name did not resolve.
    #[error("cannot resolve {target}: {reason}")]
    Resolve {
        /// What we tried to resolve.
        target: String,
        /// Why it failed.
        reason: String,
    },
    /// The peer closed its side while a frame was only partly received.
    #[error(
        "the peer closed the connection in the middle of a message ({buffered} bytes of it had arrived)"
    )]
    PeerClosedMidFrame {
        /// How many bytes of the unfinished frame had arrived.
        buffered: usize,
    },
    /// The peer reset the connection: it crashed, or closed without reading what we sent.
    #[error(
        "the connection was reset by the peer (it exited, crashed, or closed without reading our data)"
    )]
    Reset,
    /// A frame broke the framing rules (too large, newline in a line...).
    #[error("{0}")]
    Frame(#[from] FrameError),
    /// Text that should be UTF-8 was not.
    #[error("the peer sent text that is not valid UTF-8")]
    InvalidUtf8,
    /// An operation took longer than allowed.
    #[error("timed out after {} while {what}", format_duration(*.after))]
    Timeout {
        /// What we were doing.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// The peer broke the application protocol (unexpected reply, bad field).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Flags that cannot work together (each alone passed clap's checks): the user's mistake,
    /// reported like clap's own, with exit status 2.
    #[error("{0}")]
    Usage(String),
    /// Our own standard output was closed (`lab ... | head -1`): the reader stopped listening.
    /// Not a failure: [`crate::term::finish`] exits quietly with success, as `ripgrep` does. A
    /// *socket's* broken pipe is something else (the peer went away) and stays an [`Error::Io`].
    #[error("standard output was closed")]
    OutputClosed,
    /// Something went wrong that is neither the network's nor the user's fault to fix here
    /// (the remote peer stopped answering, a benchmark found lost data), already explained.
    #[error("{0}")]
    Failed(String),
    /// Any other I/O error, with what we were doing at the time.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// An I/O error that happened while `context` ("reading from the connection").
    /// Resets and timeouts get their own variants so callers can match on them.
    pub fn io(context: impl Into<String>, err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Error::Reset,
            // A blocking socket with a read timeout reports `WouldBlock` on Unix and `TimedOut`
            // on Windows when the timeout expires.
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout {
                what: context.into(),
                after: Duration::ZERO,
            },
            _ => Error::Io {
                context: context.into(),
                source: err,
            },
        }
    }

    /// An error writing to standard output: [`Error::OutputClosed`] when the reader went away
    /// (broken pipe), an [`Error::Io`] otherwise.
    pub fn stdout(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Error::OutputClosed
        } else {
            Error::Io {
                context: "writing to standard output".into(),
                source: err,
            }
        }
    }

    /// An error from `connect` to `addr`, with the usual hint for each failure.
    pub fn connecting(addr: impl Into<String>, err: io::Error) -> Self {
        let addr = addr.into();
        match err.kind() {
            io::ErrorKind::ConnectionRefused => Error::ConnectionRefused { addr },
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout {
                what: format!(
                    "connecting to {addr} (is the host reachable? a firewall may drop the SYN)"
                ),
                after: Duration::ZERO,
            },
            _ => Error::Io {
                context: format!("connecting to {addr}"),
                source: err,
            },
        }
    }

    /// An error from `bind`/`listen` on `addr`, with the usual hint for each failure.
    pub fn binding(addr: SocketAddr, err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::AddrInUse => Error::AddrInUse {
                addr,
                port: addr.port(),
            },
            io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable { addr },
            io::ErrorKind::PermissionDenied => Error::PermissionDenied { addr },
            _ => Error::Io {
                context: format!("listening on {addr}"),
                source: err,
            },
        }
    }

    /// Sets how long we waited, for a [`Error::Timeout`] built before the duration was known.
    pub fn after(self, waited: Duration) -> Self {
        match self {
            Error::Timeout { what, .. } => Error::Timeout {
                what,
                after: waited,
            },
            other => other,
        }
    }

    /// True when the peer simply went away (reset, closed mid-message, or a broken pipe):
    /// servers log these quietly instead of as failures.
    pub fn is_disconnect(&self) -> bool {
        match self {
            Error::Reset | Error::PeerClosedMidFrame { .. } => true,
            Error::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::io("network I/O", err)
    }
}

fn format_duration(duration: Duration) -> String {
    if duration.is_zero() {
        "the time limit".to_string()
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refused-connection message carries the hint with the address.
    #[test]
    fn refused_message_has_hint() {
        let err = Error::connecting(
            "127.0.0.1:9",
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(
            err.to_string(),
            "connection refused by 127.0.0.1:9: is the server running on 127.0.0.1:9?"
        );
    }

    /// Address in use names the port and the way out.
    #[test]
    fn addr_in_use_names_port() {
        let addr: SocketAddr = ([127, 0, 0, 1], 7007).into();
        let err = Error::binding(addr, io::Error::from(io::ErrorKind::AddrInUse));
        assert!(err.to_string().contains("another process holds port 7007"));
    }
}
