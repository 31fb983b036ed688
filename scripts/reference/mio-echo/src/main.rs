//! Reference RFC 862 echo server: what a careful hand-written event loop does. One thread, one
//! mio `Poll`, non-blocking sockets, and nothing else: no framings, no client table, no limits
//! beyond a fixed buffer, no tracing, no idle timeout. It is the yardstick for
//! `tcp-echo serve --engine mio`, which must be as fast while doing all of those things.
//!
//! What makes it careful (each is a system call or a copy it does not make):
//! - **Each connection owns one 64 KiB buffer**, the same size as tokio-echo's and tcp-echo's
//!   read buffer. Bytes are read into its free end and written from its filled front, so every
//!   byte is copied exactly twice (kernel to buffer, buffer to kernel) and never moved inside it.
//!   The buffer is allocated when the connection first has bytes to hold, so an idle connection
//!   costs no buffer memory.
//! - **A short read means drained.** With edge-triggered readiness (epoll, kqueue) any byte that
//!   arrives after a read produces a new event, so a read that did not fill the buffer has taken
//!   everything there was; reading again would only hear `WouldBlock`. Likewise **a short write
//!   means full**: the kernel took what fitted and will report writable when the peer's ACKs make
//!   room. (Level-triggered selectors, as on Windows, do not give that promise; there it reads
//!   and writes until `WouldBlock`.) One exception: once an event has reported the peer's FIN,
//!   that FIN brings no event of its own, so the connection reads on until `Ok(0)`.
//! - **Registered once for readable and writable.** Edge-triggered writable events only come
//!   when a full send buffer gets room, so asking for them costs nothing; no `epoll_ctl` per
//!   push-back.
//! - **Tokens index a `Vec`**: finding a connection is an array access, not a hash.
//! - **TCP_NODELAY on**, as in tokio-echo and tcp-echo: an echo must not wait for an ACK.
//!
//! Usage: `mio-echo-reference [PORT]` (default 0); prints `listening on ADDR`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// Each connection's buffer, as tokio-echo's.
const BUFFER: usize = 64 * 1024;

const LISTENER: Token = Token(usize::MAX);

/// Edge-triggered selectors (epoll, kqueue): a short read means drained, a short write full.
/// The list of systems is tokio's (`tokio/src/io/poll_evented.rs`, tokio issue 5866).
const EDGE_TRIGGERED: bool = cfg!(any(
    target_os = "android",
    target_os = "illumos",
    target_os = "linux",
    target_os = "redox",
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

struct Connection {
    stream: TcpStream,
    /// `buffer[start..end]` is read and not yet written back; empty until first needed.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// The peer sent FIN: write back what is left, then close.
    peer_closed: bool,
    /// An event reported the peer's FIN: a short read no longer means drained.
    fin_reported: bool,
}

/// What to do with a connection after serving an event.
enum Next {
    Wait,
    Close,
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    println!("listening on {}", listener.local_addr()?);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut connections: Vec<Option<Connection>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    loop {
        if let Err(err) = poll.poll(&mut events, None) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                accept_all(&listener, &poll, &mut connections, &mut free);
                continue;
            }
            let index = event.token().0;
            let Some(Some(conn)) = connections.get_mut(index) else {
                continue; // closed earlier in this batch
            };
            conn.fin_reported |= event.is_read_closed();
            if let Next::Close = conn.serve() {
                if let Some(mut conn) = connections.get_mut(index).and_then(Option::take) {
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
                free.push(index);
            }
        }
    }
}

fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    connections: &mut Vec<Option<Connection>>,
    free: &mut Vec<usize>,
) {
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
            Err(err) => {
                eprintln!("accept: {err}");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let index = free.pop().unwrap_or(connections.len());
        let interest = Interest::READABLE | Interest::WRITABLE;
        if poll
            .registry()
            .register(&mut stream, Token(index), interest)
            .is_err()
        {
            free.push(index);
            continue;
        }
        let conn = Connection {
            stream,
            buffer: Vec::new(),
            start: 0,
            end: 0,
            peer_closed: false,
            fin_reported: false,
        };
        match connections.get_mut(index) {
            Some(slot) => *slot = Some(conn),
            None => connections.push(Some(conn)),
        }
    }
}

impl Connection {
    /// Writes what is held, then reads more, until the socket says wait (or short: see above).
    fn serve(&mut self) -> Next {
        loop {
            match self.write_held() {
                Ok(true) => {}
                Ok(false) => return Next::Wait, // the send buffer is full: wait for writable
                Err(_) => return Next::Close,
            }
            if self.peer_closed {
                return Next::Close; // everything echoed; dropping the stream sends our FIN
            }
            if self.buffer.is_empty() {
                self.buffer = vec![0; BUFFER];
            }
            match self.stream.read(&mut self.buffer[self.end..]) {
                Ok(0) => self.peer_closed = true,
                Ok(got) => {
                    let room = BUFFER - self.end;
                    self.end += got;
                    if EDGE_TRIGGERED && !self.fin_reported && got < room {
                        // Drained: echo it, and wait for the next event.
                        return match self.write_held() {
                            Ok(_) => Next::Wait,
                            Err(_) => Next::Close,
                        };
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
    }

    /// Writes `buffer[start..end]`. `Ok(true)` once all of it is out (the buffer is empty
    /// again), `Ok(false)` when the socket is full.
    fn write_held(&mut self) -> io::Result<bool> {
        while self.start < self.end {
            match self.stream.write(&self.buffer[self.start..self.end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(sent) => {
                    self.start += sent;
                    if EDGE_TRIGGERED && self.start < self.end {
                        return Ok(false); // short write: the send buffer is full
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        self.start = 0;
        self.end = 0;
        Ok(true)
    }
}
