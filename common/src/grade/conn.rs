//! # The grader's side of a connection: patient, but never forever
//!
//! A grader talks to code that may be wrong in any way: it may answer half a line, answer
//! nothing, close early, reset the connection, or keep the socket open and never speak. So
//! every read and write here has a timeout ([`PATIENCE`]), and every failure is turned into a
//! [`Failure`] that says, in words a student can act on, what a correct server does and what
//! this one did ("nothing for 2 s", "the connection was reset (did the server crash?)").
//!
//! Two kinds of conversation are covered: raw bytes on a [`TcpStream`] ([`send`],
//! [`expect_bytes`], [`expect_close`]), and text lines ([`Lines`]), which is how most teaching
//! protocols (chat rooms, FTP's control channel, the game) are spoken.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::{CheckResult, Failure, show_bytes};

/// How long one read or write may wait inside a check.
pub const PATIENCE: Duration = Duration::from_secs(2);

/// Opens a connection with [`PATIENCE`] on connect, reads and writes, and Nagle off (each
/// write of a check leaves at once, so "one byte per write" really is one byte per segment).
pub fn connect(addr: SocketAddr) -> Result<TcpStream, Failure> {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE)
        .map_err(|err| Failure::new(format!("a connection to {addr}"), io_said(&err)))?;
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let _ = stream.set_write_timeout(Some(PATIENCE));
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Writes all of `bytes`.
pub fn send(stream: &mut TcpStream, bytes: &[u8]) -> CheckResult {
    stream
        .write_all(bytes)
        .map_err(|err| Failure::new("the server to take our bytes", io_said(&err)))
}

/// Sends `bytes`, then pauses 10 ms: each one-byte write leaves as its own segment and reaches
/// the server on its own, as it would over a slow link, instead of piling up in the server's
/// receive buffer before its first read.
pub fn send_slowly(stream: &mut TcpStream, bytes: &[u8]) -> CheckResult {
    send(stream, bytes)?;
    thread::sleep(Duration::from_millis(10));
    Ok(())
}

/// Shuts our sending side (a FIN): "no more requests, but I am still listening".
pub fn half_close(stream: &TcpStream) -> CheckResult {
    stream
        .shutdown(Shutdown::Write)
        .map_err(|err| Failure::new("a half-close to work", err.to_string()))
}

/// An I/O error in the words of a rubric, for a read or write that waited [`PATIENCE`].
pub fn io_said(err: &std::io::Error) -> String {
    io_said_after(err, PATIENCE)
}

/// An I/O error in the words of a rubric, for a read or write that waited `patience`.
pub fn io_said_after(err: &std::io::Error, patience: Duration) -> String {
    match err.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => silence(patience),
        ErrorKind::ConnectionReset => "the connection was reset (did the server crash?)".into(),
        ErrorKind::ConnectionRefused => {
            "the connection was refused (is the server still running?)".into()
        }
        // EPIPE: our write found the connection closed by the server.
        ErrorKind::BrokenPipe => "the server had closed the connection (our write failed)".into(),
        _ => err.to_string(),
    }
}

/// What a rubric says when the server sent nothing for `waited`: "nothing for 2 s".
pub fn silence(waited: Duration) -> String {
    let seconds = waited.as_secs_f64();
    if seconds.fract() == 0.0 {
        format!("{SILENCE} {seconds:.0} s")
    } else {
        format!("{SILENCE} {seconds:.1} s")
    }
}

/// How every "the server said nothing" reason starts, so a check can tell silence (often what
/// it waits for, e.g. an idle timeout not yet passed) from a close or a reset: [`is_silence`].
pub const SILENCE: &str = "nothing for";

/// Whether a failure is the server staying silent (not a close, a reset or wrong bytes).
pub fn is_silence(failure: &Failure) -> bool {
    failure.got.starts_with(SILENCE)
}

/// Reads exactly `want.len()` bytes and compares them; stops at the first wrong byte.
pub fn expect_bytes(stream: &mut TcpStream, want: &[u8]) -> CheckResult {
    let mut got = Vec::with_capacity(want.len());
    let mut buf = [0u8; 16 * 1024];
    while got.len() < want.len() {
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(Failure::new(
                    show_bytes(want),
                    format!("{} and then the connection closed", show_bytes(&got)),
                ));
            }
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(err) => {
                return Err(Failure::new(
                    show_bytes(want),
                    format!("{} and then {}", show_bytes(&got), io_said(&err)),
                ));
            }
        }
        if !want.starts_with(got.get(..got.len().min(want.len())).unwrap_or_default()) {
            return Err(Failure::new(show_bytes(want), show_bytes(&got)));
        }
    }
    if got.len() > want.len() {
        return Err(Failure::new(show_bytes(want), show_bytes(&got)));
    }
    Ok(())
}

/// The server closes its side: a read returns 0 (a reset counts too: the connection is over).
pub fn expect_close(stream: &mut TcpStream) -> CheckResult {
    let mut buf = [0u8; 1024];
    match stream.read(&mut buf) {
        Ok(0) => Ok(()),
        Err(err) if err.kind() == ErrorKind::ConnectionReset => Ok(()),
        Ok(n) => Err(Failure::new(
            "the server to close the connection",
            format!(
                "more bytes: {}",
                show_bytes(buf.get(..n).unwrap_or_default())
            ),
        )),
        Err(err) => Err(Failure::new(
            "the server to close the connection",
            io_said(&err),
        )),
    }
}

/// How long a server gets to react to a vanished client before the next probe: a server that
/// dies of the reset does so in its own time (its thread must be scheduled first), and a probe
/// sent at once could be answered by a process that is about to exit.
pub const AFTERMATH: Duration = Duration::from_millis(500);

/// Resets `stream` (SO_LINGER 0, so the kernel sends RST instead of FIN), as a crashed client
/// would, then gives the server [`AFTERMATH`] to deal with it.
pub fn reset(stream: TcpStream) {
    let socket = socket2::SockRef::from(&stream);
    let _ = socket.set_linger(Some(Duration::ZERO));
    drop(stream);
    thread::sleep(AFTERMATH);
}

/// Reads what the server sent until it closes or has been quiet for a second, then closes.
/// Closing a socket with unread data makes the kernel reset the connection (RFC 1122
/// 4.2.2.13), which would turn any check into a "client vanishes" check as well; each check
/// tests one thing.
pub fn leave_politely(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = vec![0u8; 64 * 1024];
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// A text-line conversation: the grader's client for line protocols.
///
/// Lines are read byte-exact up to `\n`; a `\r` before it is removed, so the same client reads
/// servers that end lines with `\n` and with `\r\n` (FTP's control channel must use `\r\n`;
/// a check that cares looks at [`Lines::last_ending`]). A line longer than the limit, or
/// bytes that are not UTF-8, are a failure, not a panic.
pub struct Lines {
    stream: TcpStream,
    buffered: Vec<u8>,
    ending: &'static str,
    max_line: usize,
    last_ending: &'static str,
    patience: Duration,
}

/// The first whole line of `buffered`, taken out of it, without its ending, and how it ended
/// (`"\n"` or `"\r\n"`). `None` while no `\n` has arrived and the bytes are within `max_line`;
/// a failure for more bytes than that with no end of line, or a line that is not UTF-8. Every
/// line reader of the graders (clear here, over TLS in the FTP grader) takes its lines this way.
pub fn take_line(
    buffered: &mut Vec<u8>,
    max_line: usize,
) -> Option<Result<(String, &'static str), Failure>> {
    let Some(end) = buffered.iter().position(|&b| b == b'\n') else {
        return (buffered.len() > max_line).then(|| {
            Err(Failure::new(
                format!("a line of at most {max_line} bytes"),
                format!("{} with no end of line", show_bytes(buffered)),
            ))
        });
    };
    let mut line: Vec<u8> = buffered.drain(..=end).collect();
    line.pop();
    let ending = if line.last() == Some(&b'\r') {
        line.pop();
        "\r\n"
    } else {
        "\n"
    };
    Some(
        String::from_utf8(line)
            .map(|line| (line, ending))
            .map_err(|err| Failure::new("a line of UTF-8 text", show_bytes(err.as_bytes()))),
    )
}

impl Lines {
    /// Connects; lines we send end with `ending` (`"\n"` or `"\r\n"`).
    pub fn connect(addr: SocketAddr, ending: &'static str) -> Result<Self, Failure> {
        Ok(Lines::over(connect(addr)?, ending))
    }

    /// Speaks lines over a connection that is already open.
    pub fn over(stream: TcpStream, ending: &'static str) -> Self {
        Lines {
            stream,
            buffered: Vec::new(),
            ending,
            max_line: 64 * 1024,
            last_ending: "\n",
            patience: PATIENCE,
        }
    }

    /// The socket, for checks that need raw access (half-close, one-byte writes, reset).
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Gives the socket back (unread buffered bytes are dropped).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Changes how long one read may wait (for checks that wait on purpose, e.g. for an idle
    /// timeout).
    pub fn set_patience(&mut self, patience: Duration) {
        self.patience = patience;
        let _ = self.stream.set_read_timeout(Some(patience));
    }

    /// Sends `line` and the line ending.
    pub fn send_line(&mut self, line: &str) -> CheckResult {
        let bytes = format!("{line}{}", self.ending);
        send(&mut self.stream, bytes.as_bytes())
    }

    /// The next line, without its ending.
    pub fn next_line(&mut self) -> Result<String, Failure> {
        loop {
            if let Some(line) = take_line(&mut self.buffered, self.max_line) {
                let (line, ending) = line?;
                self.last_ending = ending;
                return Ok(line);
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    let got = if self.buffered.is_empty() {
                        "the connection closed".to_string()
                    } else {
                        format!(
                            "{} and then the connection closed",
                            show_bytes(&self.buffered)
                        )
                    };
                    return Err(Failure::new("a line", got));
                }
                Ok(n) => self
                    .buffered
                    .extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(err) => {
                    let said = io_said_after(&err, self.patience);
                    let got = if self.buffered.is_empty() {
                        said
                    } else {
                        format!("{} and then {said}", show_bytes(&self.buffered))
                    };
                    return Err(Failure::new("a line", got));
                }
            }
        }
    }

    /// How the last line read was ended: `"\n"` or `"\r\n"`.
    pub fn last_ending(&self) -> &'static str {
        self.last_ending
    }

    /// The next line must be exactly `want`.
    pub fn expect_line(&mut self, want: &str) -> CheckResult {
        let wanted = show_bytes(want.as_bytes());
        let got = self
            .next_line()
            .map_err(|f| Failure::new(wanted.clone(), f.got))?;
        if got == want {
            return Ok(());
        }
        Err(Failure::new(wanted, show_bytes(got.as_bytes())))
    }

    /// The next line must start with `prefix`; returns the rest of it.
    pub fn expect_prefix(&mut self, prefix: &str) -> Result<String, Failure> {
        let wanted = format!("a line starting with {}", show_bytes(prefix.as_bytes()));
        let got = self
            .next_line()
            .map_err(|f| Failure::new(wanted.clone(), f.got))?;
        match got.strip_prefix(prefix) {
            Some(rest) => Ok(rest.to_string()),
            None => Err(Failure::new(wanted, show_bytes(got.as_bytes()))),
        }
    }

    /// Reads lines until one satisfies `wanted`; lines before it are skipped (a chat room may
    /// send announcements in between). `what` describes the line in the failure.
    pub fn skip_until(
        &mut self,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String, Failure> {
        let mut skipped = Vec::new();
        loop {
            match self.next_line() {
                Ok(line) if wanted(&line) => return Ok(line),
                Ok(line) => skipped.push(line),
                Err(failure) => {
                    let seen = match skipped.last() {
                        Some(last) => format!(
                            "{} line(s), the last {}, then {}",
                            skipped.len(),
                            show_bytes(last.as_bytes()),
                            failure.got
                        ),
                        None => failure.got,
                    };
                    return Err(Failure::new(what, seen));
                }
            }
        }
    }

    /// The server closes the connection; bytes already received and not read count as "more
    /// bytes", not as a close.
    pub fn expect_close(&mut self) -> CheckResult {
        if !self.buffered.is_empty() {
            return Err(Failure::new(
                "the server to close the connection",
                format!("more bytes: {}", show_bytes(&self.buffered)),
            ));
        }
        expect_close(&mut self.stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server that writes `bytes` and closes; returns its address.
    fn server_saying(bytes: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        thread::spawn(move || {
            if let Ok((mut peer, _)) = listener.accept() {
                let _ = peer.write_all(bytes);
            }
        });
        addr
    }

    #[test]
    fn lines_end_with_lf_or_crlf_and_a_close_is_reported() {
        let mut lines = Lines::connect(server_saying(b"220 hi\r\nplain\npart"), "\r\n")
            .unwrap_or_else(|f| panic!("{f:?}"));
        assert_eq!(lines.next_line(), Ok("220 hi".to_string()));
        assert_eq!(lines.last_ending(), "\r\n");
        assert_eq!(lines.expect_prefix("pla"), Ok("in".to_string()));
        assert_eq!(lines.last_ending(), "\n");
        let failure = lines.next_line().err().unwrap_or_else(|| panic!("a line"));
        assert_eq!(failure.got, "\"part\" and then the connection closed");
    }

    /// A write to a connection the server closed says so, not "Broken pipe (os error 32)".
    #[test]
    fn a_broken_pipe_is_said_in_words() {
        let err = std::io::Error::from(ErrorKind::BrokenPipe);
        assert_eq!(
            io_said(&err),
            "the server had closed the connection (our write failed)"
        );
    }

    #[test]
    fn silence_names_the_wait() {
        assert_eq!(silence(PATIENCE), "nothing for 2 s");
        assert_eq!(silence(Duration::from_millis(2500)), "nothing for 2.5 s");
        assert!(is_silence(&Failure::new("a line", silence(PATIENCE))));
        assert!(!is_silence(&Failure::new(
            "a line",
            "the connection closed"
        )));
    }

    #[test]
    fn skip_until_says_what_it_skipped() {
        let mut lines =
            Lines::connect(server_saying(b"a\nb\n"), "\n").unwrap_or_else(|f| panic!("{f:?}"));
        let failure = lines
            .skip_until("a line \"c\"", |line| line == "c")
            .err()
            .unwrap_or_else(|| panic!("no c"));
        assert_eq!(
            failure.got,
            "2 line(s), the last \"b\", then the connection closed"
        );
    }
}
