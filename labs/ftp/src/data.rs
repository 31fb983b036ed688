//! # Opening the data connection (both sides use this)
//!
//! Each transfer (a file, a directory listing) travels on its own TCP connection, opened for
//! that one transfer and closed at its end: in stream mode the *close* is what marks the end of
//! the file (RFC 959, 3.4.1). Who opens it depends on the mode:
//!
//! ```text
//!   passive (PASV/EPSV)                      active (PORT/EPRT)
//!   client ----control----> server:2121      client ----control----> server:2121
//!   client ----data-------> server:50123     client <---data-------- server
//!          (client connects to a port               (server connects to a port the
//!           the server just opened)                   client just opened)
//! ```
//!
//! Whoever waits for the connection must not wait forever (the other side may never connect)
//! and must not take a connection from just anybody: between `PASV` and the connection, any
//! host that guesses the port could connect first and receive the file ("port stealing", RFC
//! 2577 section 8, whose remedy is port numbers that are hard to guess). [`accept_from`]
//! therefore also waits with a deadline and accepts only the expected IP address, a check that
//! is common practice rather than an RFC's rule (vsftpd's `pasv_promiscuous=NO`, its default);
//! connections from other addresses are closed and reported, and the wait goes on.
//!
//! `std`'s `accept` has no timeout, so the wait uses mio: the listener is made non-blocking and
//! we sleep in `poll` until it is readable or the deadline passes.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use netlab_common::net;

/// Accepts one connection on `listener` from `allowed` within `timeout`.
///
/// Connections from any other IP address are closed at once and passed to `rejected` (to log
/// them); the wait continues until the deadline. On time-out the error kind is `TimedOut`.
pub fn accept_from(
    listener: &TcpListener,
    allowed: IpAddr,
    timeout: Duration,
    mut rejected: impl FnMut(SocketAddr),
) -> io::Result<(TcpStream, SocketAddr)> {
    const LISTENER: Token = Token(0);
    listener.set_nonblocking(true)?;
    let mut poll = Poll::new()?;
    // mio takes ownership of what it watches, so it watches a second handle to the same socket
    // while we keep accepting on ours.
    let mut watched = mio::net::TcpListener::from_std(listener.try_clone()?);
    poll.registry()
        .register(&mut watched, LISTENER, Interest::READABLE)?;
    let deadline = Instant::now() + timeout;
    let mut events = Events::with_capacity(4);
    loop {
        // Drain every queued connection before sleeping again (readiness is edge-triggered).
        loop {
            match listener.accept() {
                Ok((stream, from)) if same_host(from.ip(), allowed) => {
                    // Some systems hand out accepted sockets in the listener's non-blocking mode.
                    stream.set_nonblocking(false)?;
                    return Ok((stream, from));
                }
                Ok((stream, from)) => {
                    drop(stream);
                    rejected(from);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no data connection arrived in time",
            ));
        }
        match poll.poll(&mut events, Some(left)) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Are these the same host? An IPv4 client on a dual-stack socket shows up as `::ffff:a.b.c.d`.
pub fn same_host(one: IpAddr, other: IpAddr) -> bool {
    one.to_canonical() == other.to_canonical()
}

/// Connects to `addr` within `timeout` (active mode on the server, passive on the client).
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    TcpStream::connect_timeout(&addr, timeout)
}

/// Where the next search for a free passive port starts, so consecutive transfers do not all
/// fight over the first port of the range.
static NEXT_PASSIVE: AtomicUsize = AtomicUsize::new(0);

/// Opens a listener for one passive data connection on `ip`: any free port, or the first free
/// one in `range` (`--pasv-ports`, so a firewall can open exactly those). An `AddrInUse`
/// error if every port of the range is taken.
pub fn listen_passive(ip: IpAddr, range: Option<&RangeInclusive<u16>>) -> io::Result<TcpListener> {
    let Some(range) = range else {
        return net::listen(SocketAddr::new(ip, 0)).map_err(io::Error::other);
    };
    let ports: Vec<u16> = range.clone().collect();
    let start = NEXT_PASSIVE.fetch_add(1, Ordering::Relaxed);
    for offset in 0..ports.len() {
        let Some(&port) = ports.get((start + offset) % ports.len()) else {
            continue;
        };
        if let Ok(listener) = net::listen(SocketAddr::new(ip, port)) {
            return Ok(listener);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "every passive port in {}-{} is in use",
            range.start(),
            range.end()
        ),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The expected peer is accepted; with nobody connecting, the wait ends at the deadline.
    #[test]
    fn accepts_expected_peer_and_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).unwrap();
        let (accepted, from) =
            accept_from(&listener, addr.ip(), Duration::from_secs(5), |_| {}).unwrap();
        assert_eq!(from, client.local_addr().unwrap());
        drop(accepted);

        let started = Instant::now();
        let err =
            accept_from(&listener, addr.ip(), Duration::from_millis(200), |_| {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    /// A connection from another address is refused and reported, and does not end the wait.
    #[cfg(target_os = "linux")]
    #[test]
    fn other_address_is_rejected() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Linux routes all of 127.0.0.0/8 to loopback, so 127.0.0.2 is "another host".
        let intruder = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None);
        let intruder = intruder.unwrap();
        intruder
            .bind(&SocketAddr::from(([127, 0, 0, 2], 0)).into())
            .unwrap();
        intruder.connect(&addr.into()).unwrap();
        let mut seen = Vec::new();
        let err = accept_from(&listener, addr.ip(), Duration::from_millis(300), |from| {
            seen.push(from)
        })
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].ip(), IpAddr::from([127, 0, 0, 2]));
    }

    /// A passive port comes from the configured range.
    #[test]
    fn passive_port_in_range() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let range = port..=port;
        let listener = listen_passive([127, 0, 0, 1].into(), Some(&range)).unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), port);
        let full = listen_passive([127, 0, 0, 1].into(), Some(&range)).unwrap_err();
        assert_eq!(full.kind(), io::ErrorKind::AddrInUse);
    }
}
