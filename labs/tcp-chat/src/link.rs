//! # One connection between two people
//!
//! A two-person chat needs exactly one TCP connection. One side *listens*: it opens a listening
//! socket, waits for one connection, and then closes the listener, so a third program that tries
//! to join is refused by the kernel (a RST answers its SYN) instead of waiting forever in the
//! backlog. The other side *connects*. After that the two sides are equal: a TCP connection is a
//! pair of byte streams, one in each direction, and either end may read or write.
//!
//! The listener sets SO_REUSEADDR (through [`net::listen`]), so restarting a chat on the same port
//! right after the previous one ended does not fail with "address in use" while the old
//! connection sits in TIME_WAIT.
//!
//! ## Noticing a peer that is gone
//! If the other program exits or is killed, its kernel closes the connection (FIN, or RST when
//! data was left unread) and our next read returns end-of-stream or an error: we notice at once.
//! If instead the network disappears (a cable pulled, a laptop closed), *nothing* arrives, and a
//! program that only reads would wait forever. TCP keepalive (RFC 1122, 4.2.3.6) fixes that: after
//! [`KEEPALIVE_IDLE`] of silence the kernel sends empty probes, and when several go unanswered it
//! fails the connection, which our blocked read then reports as an error.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use netlab_common::{Error, Result, net, term};
use socket2::{SockRef, TcpKeepalive};

/// Silence after which the kernel starts probing the peer (the OS default is often 2 hours).
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);

/// Time between unanswered keepalive probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// How the two sides meet: this side waits at an address, or goes to the other's. (Not an
/// *endpoint*: in netlab that word is a UDP socket; which end we turn out to be is the [`Role`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendezvous {
    /// Listen on this address and accept one connection.
    Listen(SocketAddr),
    /// Connect to `HOST:PORT`.
    Connect(String),
}

/// Which end of the connection we are. In `pair` it decides who speaks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We listened and accepted.
    Listener,
    /// We connected.
    Connector,
}

/// An established connection and who is at the other end.
#[derive(Debug)]
pub struct Link {
    /// The connection.
    pub stream: TcpStream,
    /// The other side's address.
    pub peer: SocketAddr,
    /// Which end we are.
    pub role: Role,
}

/// Listens and accepts one peer, or connects, depending on `rendezvous`.
///
/// A listener prints `listening on IP:PORT` (scripts and tests read the port from it).
pub fn establish(rendezvous: &Rendezvous) -> Result<Link> {
    let (stream, role) = match rendezvous {
        Rendezvous::Listen(addr) => {
            let listener = net::listen(*addr)?;
            let bound = listener
                .local_addr()
                .map_err(|err| Error::io("reading the listening address", err))?;
            net::announce_listening(bound);
            term::info("waiting for the other side to connect");
            let (stream, _) = listener
                .accept()
                .map_err(|err| Error::io("accepting a connection", err))?;
            // `listener` is dropped here: one conversation per run, later callers are refused.
            (stream, Role::Listener)
        }
        Rendezvous::Connect(target) => (
            net::connect(target, net::CONNECT_TIMEOUT, true)?,
            Role::Connector,
        ),
    };
    ready(stream, role)
}

/// Both ends of one connection over loopback, in this process: what `tcp-chat bench` runs its
/// two chats on. As with `--listen`, the listener takes port 0 (any free port), accepts one
/// connection and is closed. Connecting before accepting works: the kernel completes the
/// handshake on its own and queues the connection until `accept` takes it.
pub fn loopback_pair() -> Result<(Link, Link)> {
    let listener = net::listen(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener
        .local_addr()
        .map_err(|err| Error::io("reading the listening address", err))?;
    let connector = net::connect(&addr.to_string(), net::CONNECT_TIMEOUT, true)?;
    let (accepted, _) = listener
        .accept()
        .map_err(|err| Error::io("accepting a connection", err))?;
    Ok((
        ready(accepted, Role::Listener)?,
        ready(connector, Role::Connector)?,
    ))
}

/// Sets the options a chat connection needs and records who is at the other end.
pub(crate) fn ready(stream: TcpStream, role: Role) -> Result<Link> {
    // Chat messages are small and should leave at once: no Nagle delay.
    stream
        .set_nodelay(true)
        .map_err(|err| Error::io("setting TCP_NODELAY", err))?;
    enable_keepalive(&stream)?;
    let peer = stream
        .peer_addr()
        .map_err(|err| Error::io("reading the peer's address", err))?;
    Ok(Link { stream, peer, role })
}

/// Turns on TCP keepalive so a vanished network is noticed (see the module docs).
fn enable_keepalive(stream: &TcpStream) -> Result<()> {
    let keepalive = TcpKeepalive::new().with_time(KEEPALIVE_IDLE);
    // The probe interval and count are not settable on every OS; where they are, fail faster.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    let keepalive = keepalive.with_interval(KEEPALIVE_INTERVAL).with_retries(3);
    SockRef::from(stream)
        .set_tcp_keepalive(&keepalive)
        .map_err(|err| Error::io("enabling TCP keepalive", err))
}

/// The error for a peer that closed the connection without saying it was leaving (no quit
/// frame): the other program exited or was killed.
pub fn vanished() -> Error {
    Error::io(
        "the peer vanished",
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed without a /q (the other program exited or was killed)",
        ),
    )
}
