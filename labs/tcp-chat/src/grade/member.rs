//! # The grader's client: one member of the room
//!
//! In a room, lines arrive that have nothing to do with the conversation a check is having:
//! `INFO Client07 left` from a client of an earlier check that is still leaving, `HOST ...` from
//! the operator. A [`Member`] skips those announcements while it waits for the line a check
//! wants, and fails on anything else: a wrong answer is a wrong answer.
//!
//! A member leaves politely when dropped (it half-closes and reads what is left, on a thread of
//! its own): closing a socket with unread data makes the kernel send a reset (RFC 1122
//! 4.2.2.13), which would turn every check into a "client vanishes" check as well.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use netlab_common::accept::spawn_named;
use netlab_common::grade::conn::{Lines, leave_politely, reset, send};
use netlab_common::grade::{CheckResult, Failure, show_bytes};

use crate::room::protocol::check_name;

/// How a failure says that the room ended a line with `\r\n`.
const CRLF: &str = " ending with \\r\\n";

/// A client of the room under test, welcomed and named.
pub struct Member {
    lines: Lines,
    /// The name from its `WELCOME` line (or the one it took with `/nick`).
    pub name: String,
    polite: bool,
}

/// Lines about other people, which a check skips while it waits: `INFO ...` and `HOST ...`.
pub fn is_announcement(line: &str) -> bool {
    line.starts_with("INFO ") || line.starts_with("HOST ")
}

impl Member {
    /// Connects and reads `WELCOME NAME`.
    pub fn join(addr: SocketAddr) -> Result<Member, Failure> {
        let mut lines = Lines::connect(addr, "\n")?;
        let name = lines.expect_prefix("WELCOME ")?;
        if check_name(&name).is_err() {
            return Err(Failure::new(
                "WELCOME NAME, NAME of 1 to 16 letters, digits, _ or -",
                show_bytes(format!("WELCOME {name}").as_bytes()),
            ));
        }
        Ok(Member {
            lines,
            name,
            polite: true,
        })
    }

    /// Sends `line` and `\n`.
    pub fn say(&mut self, line: &str) -> CheckResult {
        self.lines.send_line(line)
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) -> CheckResult {
        send(self.lines.stream(), bytes)
    }

    /// The socket, for one-byte writes and half-closes.
    pub fn stream(&mut self) -> &mut TcpStream {
        self.lines.stream()
    }

    /// How long one read may wait (for the silent-client check).
    pub fn set_patience(&mut self, patience: Duration) {
        self.lines.set_patience(patience);
    }

    /// The next line for which `skip` is false; fails with `wanted` if none comes.
    pub fn next_except(
        &mut self,
        wanted: &str,
        skip: impl Fn(&str) -> bool,
    ) -> Result<String, Failure> {
        let mut skipped = 0;
        loop {
            let line = self.read_line().map_err(|failure| {
                let after = match skipped {
                    0 => String::new(),
                    n => format!(" (after {n} line(s) skipped)"),
                };
                let wanted = if failure.got.ends_with(CRLF) {
                    format!("{wanted}, ending with \\n only")
                } else {
                    wanted.to_string()
                };
                Failure::new(wanted, format!("{}{after}", failure.got))
            })?;
            if !skip(&line) {
                return Ok(line);
            }
            skipped += 1;
        }
    }

    /// The next line that is not an announcement about someone else must be `want` (when `want`
    /// is itself an announcement, other announcements are skipped until it comes).
    pub fn expect_line(&mut self, want: &str) -> CheckResult {
        let wanted = show_bytes(want.as_bytes());
        let line = if is_announcement(want) {
            self.next_except(&wanted, |line| line != want && is_announcement(line))?
        } else {
            self.next_except(&wanted, is_announcement)?
        };
        if line == want {
            return Ok(());
        }
        Err(Failure::new(wanted, show_bytes(line.as_bytes())))
    }

    /// Like [`Member::expect_line`] for a line starting with `prefix`; returns the rest of it.
    pub fn expect_prefix(&mut self, prefix: &str) -> Result<String, Failure> {
        let wanted = format!("a line starting with {}", show_bytes(prefix.as_bytes()));
        let line = if is_announcement(prefix) {
            self.next_except(&wanted, |line| {
                !line.starts_with(prefix) && is_announcement(line)
            })?
        } else {
            self.next_except(&wanted, is_announcement)?
        };
        match line.strip_prefix(prefix) {
            Some(rest) => Ok(rest.to_string()),
            None => Err(Failure::new(wanted, show_bytes(line.as_bytes()))),
        }
    }

    /// The next line exactly as it comes, announcements included.
    pub fn next_line(&mut self) -> Result<String, Failure> {
        self.read_line()
    }

    /// Reads a line; one the room ended with `\r\n` is a failure: the protocol's lines end
    /// with `\n` only (a client that splits at `\n` would show the `\r`).
    fn read_line(&mut self) -> Result<String, Failure> {
        let line = self.lines.next_line()?;
        if self.lines.last_ending() == "\r\n" {
            return Err(Failure::new(
                "lines ending with \\n only",
                format!("{}{CRLF}", show_bytes(line.as_bytes())),
            ));
        }
        Ok(line)
    }

    /// The server closes the connection (after any announcements).
    pub fn expect_close(&mut self) -> CheckResult {
        loop {
            match self.read_line() {
                Ok(line) if is_announcement(&line) => {}
                Ok(line) => {
                    return Err(Failure::new(
                        "the server to close the connection",
                        format!("another line: {}", show_bytes(line.as_bytes())),
                    ));
                }
                Err(failure) if failure.got == "the connection closed" => return Ok(()),
                Err(failure) if failure.got.contains("reset") => return Ok(()),
                Err(failure) => {
                    return Err(Failure::new(
                        "the server to close the connection",
                        failure.got,
                    ));
                }
            }
        }
    }

    /// Sends `bytes` (half a line), closes its sending side (a FIN) and leaves politely.
    pub fn leave_mid_line(mut self, bytes: &[u8]) -> CheckResult {
        self.send_raw(bytes)?;
        let _ = self.stream().shutdown(std::net::Shutdown::Write);
        Ok(())
    }

    /// Sends `bytes` (half a line) and resets the connection, as a crashed client would.
    pub fn vanish(mut self, bytes: &[u8]) -> CheckResult {
        self.send_raw(bytes)?;
        self.polite = false;
        let stream = self
            .lines
            .stream()
            .try_clone()
            .map_err(|err| Failure::new("a second handle on the socket", err.to_string()))?;
        drop(self);
        reset(stream);
        Ok(())
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if !self.polite {
            return;
        }
        if let Ok(stream) = self.lines.stream().try_clone() {
            // (Without a thread to spare the stream is simply dropped, which closes it.)
            let _ = spawn_named("grade-leave", move || leave_politely(stream));
        }
    }
}
