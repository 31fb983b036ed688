//! # A client that never reads: flood until our own writes block
//!
//! Every lab's grader has a "client never reads" check: one client sends and sends and never
//! reads what the server answers, and meanwhile other clients must still be served. A server
//! that writes to that client with a blocking call while holding something the others need (a
//! room's lock, its only thread) stops for everybody, but only once its write *blocks*, and a
//! write blocks only when every buffer between the server and the client is full: the server's
//! send buffer, the bytes in flight, and the client's receive buffer.
//!
//! How big those buffers are depends on the machine. Linux grows a socket's buffers on its own
//! (autotuning) up to `net.ipv4.tcp_wmem` and `tcp_rmem`'s maximum, 4 MiB and 6 MiB by
//! default and 16 or 32 MiB on machines tuned for fast links; macOS and Windows have their own
//! sizes. A check that sends a fixed number of bytes means "stuck" on one machine and "fine"
//! on another: with large buffers the whole flood fits in the kernel and a server that blocks
//! under its lock passes.
//!
//! So the flood here has no fixed size. It keeps writing until **our own writes block**: a
//! write makes no progress for [`STALL`]. That happens only when the server has stopped
//! reading us (TCP flow control: its receive buffer is full, so the window it offers is zero,
//! RFC 9293 3.8.6), which a server does only when it is stuck writing to us (its buffers are
//! full, whatever their size) or chose to stop (backpressure, the correct answer). Either way
//! the state the check needs is reached, on every machine. Our side keeps its own buffers small
//! (set before connecting, so the window we offer is small from the start) so that moment
//! comes soon after the server's side is full.
//!
//! A server may also never stop reading (it drops the answers, or buffers them without bound),
//! or disconnect the client that does not read: the flood then ends at its size or time limit,
//! or at the close, and the check goes on to its probe.

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::Failure;
use super::conn::{PATIENCE, io_said};

/// How long one write may make no progress before we call the server "not reading us".
/// Longer than a correct but busy server pauses between reads (a Python server's thread
/// switch, a room pacing a fast talker); short enough to leave the check time for its probe.
pub const STALL: Duration = Duration::from_millis(1500);

/// Our receive and send buffers, asked for before connecting. The kernel may round them up
/// (Linux doubles the value asked for); what matters is that they do not grow on their own
/// (a size set by the application turns autotuning off for that socket).
pub const SMALL_BUFFER: usize = 4096;

/// The longest a flood goes on when our writes never block. Generous on purpose: a server
/// blocks only once its send buffer toward us is full, and a slow server (an interpreted
/// language doing work for every line) may take seconds to produce that much; a check that
/// floods gets this much time on top of its deadline ([`super::Check::flooding`]).
pub const FLOOD_TIME: Duration = Duration::from_secs(8);

/// The most bytes a flood sends when our writes never block.
pub const FLOOD_CAP: u64 = 256 << 20;

/// How a flood ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// A write made no progress for [`STALL`]: the server has stopped reading us.
    Blocked,
    /// The server closed or reset the connection (it may disconnect a client that does not
    /// read); the words say how.
    Closed(String),
    /// [`FLOOD_TIME`] or [`FLOOD_CAP`] was reached and the server was still reading.
    Limit,
}

/// What a flood did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flood {
    /// Bytes the kernel took from us.
    pub sent: u64,
    /// Why it stopped.
    pub ended: Ended,
}

impl Flood {
    /// Adds to a probe's failure what the flood had done by then, so the reason says at what
    /// stage the server stopped serving the others.
    pub fn explain(&self, failure: Failure) -> Failure {
        let mib = self.sent as f64 / f64::from(1 << 20);
        let stage = match &self.ended {
            Ended::Blocked => format!(
                "after the client that never reads had sent {mib:.1} MiB and the server had \
                 stopped reading it"
            ),
            Ended::Closed(how) => {
                format!("after the client that never reads had sent {mib:.1} MiB and {how}")
            }
            Ended::Limit => {
                format!("after the client that never reads had sent {mib:.1} MiB, still read")
            }
        };
        Failure::new(failure.expected, format!("{} ({stage})", failure.got))
    }
}

/// Connects a client that will not read: small receive and send buffers, set before the
/// connection exists, so the first window we offer is already small and our writes block soon
/// after the server stops reading.
pub fn connect_unread(addr: SocketAddr) -> Result<TcpStream, Failure> {
    let failed =
        |err: std::io::Error| Failure::new(format!("a connection to {addr}"), io_said(&err));
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .map_err(failed)?;
    let _ = socket.set_recv_buffer_size(SMALL_BUFFER);
    let _ = socket.set_send_buffer_size(SMALL_BUFFER);
    socket
        .connect_timeout(&addr.into(), PATIENCE)
        .map_err(failed)?;
    let stream: TcpStream = socket.into();
    let _ = stream.set_read_timeout(Some(PATIENCE));
    Ok(stream)
}

/// Writes `chunk` again and again until our writes block (the server stopped reading us), the
/// server closes, or the limits are reached ([`FLOOD_TIME`], [`FLOOD_CAP`]).
pub fn flood(stream: &mut TcpStream, chunk: &[u8]) -> Flood {
    flood_within(stream, chunk, FLOOD_TIME, STALL)
}

/// [`flood`] with its time limit and stall given (for tests).
pub fn flood_within(
    stream: &mut TcpStream,
    chunk: &[u8],
    limit: Duration,
    stall: Duration,
) -> Flood {
    let _ = stream.set_write_timeout(Some(stall));
    let started = Instant::now();
    let mut sent: u64 = 0;
    let ended = loop {
        if started.elapsed() >= limit || sent >= FLOOD_CAP || chunk.is_empty() {
            break Ended::Limit;
        }
        // One `write`, not `write_all`: with a send timeout, a `write` that returns an error
        // took nothing for the whole timeout, while a short count is progress.
        match stream.write(chunk) {
            Ok(0) => break Ended::Closed("the connection closed".into()),
            Ok(n) => sent = sent.saturating_add(n as u64),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break Ended::Blocked;
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => break Ended::Closed(closed_how(&err)),
        }
    };
    let _ = stream.set_write_timeout(Some(PATIENCE));
    Flood { sent, ended }
}

/// A write error in words: the server closed or reset the connection.
fn closed_how(err: &std::io::Error) -> String {
    match err.kind() {
        ErrorKind::BrokenPipe => "the server closed the connection".into(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
            "the server reset the connection".into()
        }
        _ => io_said(err),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::thread;

    /// A server that reads `take` bytes, then holds the connection without reading for `hold`.
    fn server_reading(take: usize, hold: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0;
            while got < take {
                match peer.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got += n,
                }
            }
            thread::sleep(hold);
        });
        addr
    }

    /// A server that stops reading is found by our writes blocking, whatever its buffers hold;
    /// one that keeps reading runs the flood to its time limit.
    #[test]
    fn a_flood_ends_when_the_server_stops_reading() {
        let addr = server_reading(1 << 20, Duration::from_secs(5));
        let mut hog = connect_unread(addr).unwrap();
        let flood = flood_within(
            &mut hog,
            &[b'x'; 8192],
            Duration::from_secs(20),
            Duration::from_millis(300),
        );
        assert_eq!(flood.ended, Ended::Blocked);
        assert!(flood.sent >= 1 << 20, "{flood:?}");

        let addr = server_reading(usize::MAX, Duration::ZERO);
        let mut talker = connect_unread(addr).unwrap();
        let flood = flood_within(
            &mut talker,
            &[b'x'; 8192],
            Duration::from_millis(300),
            Duration::from_millis(300),
        );
        assert_eq!(flood.ended, Ended::Limit);
    }

    /// A server that closes the connection ends the flood with words saying so.
    #[test]
    fn a_flood_ends_when_the_server_closes() {
        let addr = server_reading(1000, Duration::ZERO);
        let mut hog = connect_unread(addr).unwrap();
        let flood = flood_within(
            &mut hog,
            &[b'x'; 8192],
            Duration::from_secs(20),
            Duration::from_secs(5),
        );
        assert!(matches!(flood.ended, Ended::Closed(_)), "{flood:?}");
    }
}
