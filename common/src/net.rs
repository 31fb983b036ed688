//! # Opening sockets the way servers and clients need them
//!
//! `std::net::TcpListener::bind` is one call, and it already does most of what a server needs
//! (on Unix it even sets SO_REUSEADDR, below). What it fixes for you is the **backlog** (128 on most platforms), and
//! what it hides is every choice it made. A teaching lab builds the socket step by step with
//! `socket2` so each option is written where a student can see it, then hands back a std type:
//!
//! - **SO_REUSEADDR** (Unix only; std's `bind` sets it too). When a server closes a connection
//!   first, the socket lingers in `TIME_WAIT` for up to a few minutes so stray late packets cannot
//!   be mistaken for a new connection (RFC 9293, section 3.6). Without SO_REUSEADDR a restarted
//!   server fails with "address in use" until that ends. On Windows the same option means
//!   something dangerous (another program may bind the very same port and steal connections) and
//!   rebinding after TIME_WAIT already works, so neither std nor we set it there.
//! - **backlog**: how many connections the kernel may finish (three-way handshake done) before the
//!   program calls `accept`. A busy server with a small backlog makes clients wait or fail.
//! - **TCP_NODELAY** turns off Nagle's algorithm, which holds back a small write while earlier
//!   data is unacknowledged, hoping to merge it with the next one. Good for bulk transfer, bad for
//!   request/reply: see docs/tcp-echo.md for a measured example.
//! - **IPv4 and IPv6**: the address family follows the address you give (`127.0.0.1` or `::1`).
//!
//! Servers default to 127.0.0.1, reachable only from this machine; `--bind 0.0.0.0` opts into the
//! network. A port of 0 asks the OS for any free port; [`announce_listening`] prints the one chosen.

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Result};

/// Connections the kernel may queue before `accept`. Linux caps it at `net.core.somaxconn`.
pub const LISTEN_BACKLOG: i32 = 1024;

/// How long a client waits for the TCP handshake before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Creates a listening TCP socket on `addr` with SO_REUSEADDR (Unix) and a generous backlog.
pub fn listen(addr: SocketAddr) -> Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|err| Error::binding(addr, err))?;
    #[cfg(unix)]
    socket
        .set_reuse_address(true)
        .map_err(|err| Error::binding(addr, err))?;
    socket
        .bind(&addr.into())
        .map_err(|err| Error::binding(addr, err))?;
    socket
        .listen(LISTEN_BACKLOG)
        .map_err(|err| Error::binding(addr, err))?;
    Ok(socket.into())
}

/// Binds a UDP socket (same address rules as [`listen`]).
pub fn bind_udp(addr: SocketAddr) -> Result<std::net::UdpSocket> {
    std::net::UdpSocket::bind(addr).map_err(|err| Error::binding(addr, err))
}

/// Prints the address a server actually listens on as one line: `listening on 127.0.0.1:PORT`.
///
/// Scripts and tests read this line to learn the port when `--port 0` let the OS choose.
pub fn announce_listening(addr: SocketAddr) {
    println!("listening on {addr}");
}

/// A server that is listening: its socket, the address it really got (the port the OS chose for
/// `--port 0`), and the stop request that Ctrl-C sets.
#[derive(Debug)]
pub struct Listening {
    /// The listening socket.
    pub listener: TcpListener,
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// Requested by Ctrl-C; the accept loop checks it (see [`StopSignal`]).
    pub stop: StopSignal,
}

/// Starts a server the way every lab does: [`listen`] on `addr`, print the one parseable line
/// `listening on IP:PORT` ([`announce_listening`]), and install the Ctrl-C handler that stops
/// the accept loop ([`StopSignal::on_ctrl_c`]). Then hand `listening.listener` and
/// `listening.stop` to an accept loop (`crate::accept::serve_each`, or an event loop).
pub fn start_server(addr: SocketAddr) -> Result<Listening> {
    let listener = listen(addr)?;
    let addr = listener
        .local_addr()
        .map_err(|err| Error::io("reading the listening address", err))?;
    announce_listening(addr);
    let stop = StopSignal::default();
    stop.on_ctrl_c(addr)?;
    Ok(Listening {
        listener,
        addr,
        stop,
    })
}

/// Resolves `target` (`host:port`, `127.0.0.1:7007`, `[::1]:7007`) to socket addresses.
///
/// A target without a port (`127.0.0.1`, `localhost`, `::1`) is the most common slip; the
/// error says so instead of the resolver's "invalid socket address".
pub fn resolve(target: &str) -> Result<Vec<SocketAddr>> {
    if lacks_port(target) {
        return Err(Error::Resolve {
            target: target.to_string(),
            reason: format!(
                "no port given: write HOST:PORT, such as {} (the port the server printed \
                 in its `listening on` line)",
                with_example_port(target)
            ),
        });
    }
    let addrs: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|err| Error::Resolve {
            target: target.to_string(),
            reason: err.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Resolve {
            target: target.to_string(),
            reason: "no addresses found".to_string(),
        });
    }
    Ok(addrs)
}

/// Whether `target` names a host but no port: a bare IPv4 address or name (no `:`), a bare
/// IPv6 address (it parses as an IP address on its own, colons and all), or one in brackets
/// with nothing after them (`[::1]`).
fn lacks_port(target: &str) -> bool {
    target.parse::<std::net::IpAddr>().is_ok()
        || (!target.is_empty() && !target.contains(':'))
        || (target.starts_with('[') && target.ends_with(']'))
}

/// `target` with `port` written after it: `host:port`, `[v6]:port`.
fn with_port(target: &str, port: impl std::fmt::Display) -> String {
    match target.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        _ => format!("{target}:{port}"),
    }
}

/// `target` with a port, for the example in the "no port given" message.
fn with_example_port(target: &str) -> String {
    with_port(target, "PORT")
}

/// `target` with `default_port` added if the user gave only a host (`127.0.0.1`, `localhost`,
/// `::1`, `[::1]`); `None` if it already has a port (or is empty, which [`resolve`] reports).
///
/// A TCP address is a pair, IP address *and* port, and the port says which program on that
/// host gets the connection. Clients of well-known services leave it out because the protocol
/// has a registered port (FTP 21, HTTP 80). The labs are not registered, so each has a port of
/// its own that its server listens on unless `--port` says otherwise.
pub fn add_default_port(target: &str, default_port: u16) -> Option<String> {
    lacks_port(target).then(|| with_port(target, default_port))
}

/// A client's `HOST:PORT` argument, with the lab's `default_port` filled in (and said in one
/// `[INFO]` line) when only a host was given. `server` is the command whose server listens on
/// that port by default (`tcp-echo serve`), so the line tells the student where it comes from.
pub fn client_target(target: &str, default_port: u16, server: &str) -> String {
    match add_default_port(target, default_port) {
        Some(full) => {
            crate::term::info(default_port_note(&full, server));
            full
        }
        None => target.to_string(),
    }
}

/// The line [`client_target`] prints when it chose the port.
pub fn default_port_note(full: &str, server: &str) -> String {
    format!(
        "no port given: connecting to {full}, the port `{server}` listens on unless its \
         --port says otherwise (write HOST:PORT for another)"
    )
}

/// Connects to `target`, trying each resolved address in turn, each within `timeout`.
///
/// `nodelay` sets TCP_NODELAY on the new connection (see the module docs).
pub fn connect(target: &str, timeout: Duration, nodelay: bool) -> Result<TcpStream> {
    let mut last_error = None;
    for addr in resolve(target)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                stream
                    .set_nodelay(nodelay)
                    .map_err(|err| Error::io("setting TCP_NODELAY", err))?;
                return Ok(stream);
            }
            Err(err) => last_error = Some(Error::connecting(target, err).after(timeout)),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Resolve {
        target: target.to_string(),
        reason: "no addresses found".to_string(),
    }))
}

/// [`connect`], then switches the socket to non-blocking mode for an event loop (a load generator
/// registers it with mio next).
pub fn connect_nonblocking(target: &str, timeout: Duration, nodelay: bool) -> Result<TcpStream> {
    let stream = connect(target, timeout, nodelay)?;
    stream
        .set_nonblocking(true)
        .map_err(|err| Error::io("making a socket non-blocking", err))?;
    Ok(stream)
}

/// Whether the readiness events an event loop gets here (mio's, tokio's) are *edge-triggered*:
/// reported once each time bytes arrive (or send-buffer room appears), not again while they sit
/// there. Then a `read` that returns fewer bytes than it was asked for means the socket is
/// drained for now, and new bytes will bring a new event, so the loop need not read again only
/// to hear `WouldBlock`; likewise a short `write` means the send buffer is full (epoll(7)).
/// True for epoll (Linux, Android, illumos, Redox) and kqueue (macOS and Apple's other systems,
/// the BSDs); false where mio polls level-triggered or arms the next event only after a
/// `WouldBlock` (Windows, and systems it serves with `poll(2)`). The list is tokio's, which relies
/// on the same promise (tokio's `src/io/poll_evented.rs`; tokio issue 5866 is why Windows is out).
/// The event loops of tcp-echo and game-lab, and game-lab's bots, take their short-read rule
/// from here.
pub const EDGE_TRIGGERED: bool = cfg!(any(
    // epoll
    target_os = "android",
    target_os = "illumos",
    target_os = "linux",
    target_os = "redox",
    // kqueue
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "ios",
    target_os = "macos",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "tvos",
    target_os = "visionos",
    target_os = "watchos",
));

/// How long [`close_gracefully`] waits for the peer to close its side.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// Most bytes [`close_gracefully`] reads and throws away while waiting.
pub const LINGER_DISCARD_LIMIT: usize = 256 * 1024;

/// Closes a connection so that the last thing we sent (a goodbye or an error message) arrives.
///
/// Closing a socket whose receive buffer still holds unread bytes makes the kernel answer with a
/// RST instead of a FIN (RFC 1122, 4.2.2.13), and a RST can make the peer's kernel throw away data
/// it had not yet handed to the program: our error message would vanish. So we first *half-close*
/// (send FIN: "no more data from me"), then read and discard whatever the peer still sends until it
/// closes too, for at most [`LINGER_TIMEOUT`] and [`LINGER_DISCARD_LIMIT`] bytes. Web servers call
/// this a "lingering close".
pub fn close_gracefully(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return; // already gone
    }
    if stream.set_read_timeout(Some(LINGER_TIMEOUT)).is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let mut discarded = 0;
    let mut reader = stream;
    while discarded < LINGER_DISCARD_LIMIT {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(got) => discarded += got,
        }
    }
}

/// A request to stop a server, shared by a Ctrl-C handler and the server's accept loop.
///
/// A thread blocked in `accept()` cannot be interrupted portably. [`StopSignal::request`] therefore
/// sets a flag and then *connects to the server itself*: `accept` returns, the loop checks
/// [`StopSignal::requested`] and ends. An event loop is woken the same way (its listener becomes
/// readable), so one mechanism serves every kind of server.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    requested: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StopSignal {
    /// Has someone asked the server to stop?
    pub fn requested(&self) -> bool {
        self.requested.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Asks the server listening on `listening` to stop, and wakes it with a connection.
    pub fn request(&self, listening: SocketAddr) {
        self.requested
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(reachable_addr(listening));
    }

    /// Installs a Ctrl-C handler that requests a stop of the server on `listening`.
    pub fn on_ctrl_c(&self, listening: SocketAddr) -> Result<()> {
        let signal = self.clone();
        ctrlc::set_handler(move || signal.request(listening))
            .map_err(|err| Error::Failed(format!("cannot install the Ctrl-C handler: {err}")))
    }
}

/// The address to connect to in order to reach a listener bound to `bound`: an unspecified bind
/// address (0.0.0.0 or ::) is reached through loopback.
pub fn reachable_addr(bound: SocketAddr) -> SocketAddr {
    let ip = match bound.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    SocketAddr::new(ip, bound.port())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Port 0 gives a real, non-zero port, and a second bind of that port is "address in use".
    #[test]
    fn port_zero_then_conflict() {
        let first = listen(([127, 0, 0, 1], 0).into()).unwrap();
        let taken = first.local_addr().unwrap();
        assert_ne!(taken.port(), 0);
        let second = listen(taken);
        assert!(matches!(second, Err(Error::AddrInUse { .. })), "{second:?}");
    }

    /// A target without a port says so and shows HOST:PORT, for IPv4, IPv6 and names.
    #[test]
    fn missing_port_is_named() {
        for (target, example) in [
            ("127.0.0.1", "127.0.0.1:PORT"),
            ("::1", "[::1]:PORT"),
            ("localhost", "localhost:PORT"),
            ("[::1]", "[::1]:PORT"),
        ] {
            let err = resolve(target).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("cannot resolve {target}: no port given")),
                "{err}"
            );
            assert!(err.contains(example), "{err}");
        }
        assert_eq!(
            resolve("127.0.0.1:7").unwrap(),
            vec![([127, 0, 0, 1], 7).into()]
        );
        assert_eq!(resolve("[::1]:7").unwrap().len(), 1);
    }

    /// A bare host gets the default port (IPv6 in brackets); a target with a port is left alone.
    #[test]
    fn default_port_only_for_a_bare_host() {
        for (target, full) in [
            ("127.0.0.1", "127.0.0.1:7007"),
            ("localhost", "localhost:7007"),
            ("::1", "[::1]:7007"),
            ("[::1]", "[::1]:7007"),
        ] {
            assert_eq!(add_default_port(target, 7007).as_deref(), Some(full));
        }
        for target in ["127.0.0.1:9", "[::1]:9", "localhost:9", ""] {
            assert_eq!(add_default_port(target, 7007), None, "{target}");
        }
        assert_eq!(client_target("127.0.0.1:9", 7007, "x serve"), "127.0.0.1:9");
    }

    /// Connecting where nothing listens gives the "is the server running" hint.
    #[test]
    fn refused_connect_has_hint() {
        let listener = listen(([127, 0, 0, 1], 0).into()).unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = connect(&addr.to_string(), CONNECT_TIMEOUT, true).unwrap_err();
        assert!(matches!(err, Error::ConnectionRefused { .. }), "{err:?}");
    }
}
