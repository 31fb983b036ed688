//! # Commands on the control connection: lines of text (RFC 959, sections 4.1 and 5.3)
//!
//! A client sends one command per line: a verb of three or four letters, optionally a space and
//! an argument, then CRLF (`RETR notes.txt\r\n`). Verbs are case-insensitive. The control
//! connection was designed as a Telnet session, and RFC 959 (4.1.3) asks a client to send the
//! Telnet "Interrupt Process" and "Synch" signals (`IAC IP IAC DM`) before `ABOR`; some clients
//! do, so we drop those bytes. (Python's ftplib does not: its `abort()` sends `ABOR\r\n` alone,
//! as TCP urgent data; see `server::connection` for what that needs from the server.)
//!
//! Two pure pieces live here, so they can be tested without a socket:
//! - [`LineBuffer`] turns the byte stream into lines. A line longer than
//!   [`MAX_COMMAND_LINE`] is never stored: its bytes are counted and thrown away up to the next
//!   newline, and the server answers `500` for it. Memory per client stays bounded whatever a
//!   peer sends.
//! - [`Command::parse`] splits a line into verb and argument.

/// Longest command line we accept, in bytes. RFC 959 (§5.3) sets no limit; 4 KiB fits any real path
/// (Linux's PATH_MAX) and keeps a client from making us buffer megabytes.
pub const MAX_COMMAND_LINE: usize = 4096;

/// After this many bytes without a newline the client is not sending commands at all, and the
/// server closes the connection instead of discarding forever.
pub const MAX_DISCARD: usize = 1 << 20;

/// What the line buffer found.
#[derive(Debug, PartialEq, Eq)]
pub enum LineEvent {
    /// A complete line, without its line ending.
    Line(Vec<u8>),
    /// A line longer than the limit ended; `length` bytes of it were discarded.
    TooLong {
        /// The length of the whole line.
        length: usize,
    },
    /// More than [`MAX_DISCARD`] bytes arrived without a newline.
    Endless,
}

/// Splits a byte stream into lines of at most `limit` bytes (see the module docs).
#[derive(Debug)]
pub struct LineBuffer {
    pending: Vec<u8>,
    /// Bytes of an over-long line thrown away so far, while waiting for its newline.
    discarded: Option<usize>,
    limit: usize,
}

impl LineBuffer {
    /// A buffer for lines of at most `limit` bytes.
    pub fn new(limit: usize) -> LineBuffer {
        LineBuffer {
            pending: Vec::new(),
            discarded: None,
            limit,
        }
    }

    /// Adds bytes read from the connection. Call [`LineBuffer::next_event`] until it returns
    /// `None` before pushing more: that keeps the buffer under `limit` plus one read.
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as a line (a command the client sent early).
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// The next complete line or limit event; `None` means "need more bytes".
    pub fn next_event(&mut self) -> Option<LineEvent> {
        match self.pending.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop(); // the '\n'
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let discarded = self.discarded.take().unwrap_or(0);
                if discarded > 0 || line.len() > self.limit {
                    Some(LineEvent::TooLong {
                        length: discarded + line.len(),
                    })
                } else {
                    Some(LineEvent::Line(line))
                }
            }
            None if self.pending.len() > self.limit => {
                let discarded = self.discarded.unwrap_or(0) + self.pending.len();
                self.pending.clear();
                self.discarded = Some(discarded);
                (discarded > MAX_DISCARD).then_some(LineEvent::Endless)
            }
            None => None,
        }
    }
}

/// One command: the verb in upper case and the argument as sent (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `RETR`, `USER`, ...; upper-cased, so `retr` works too.
    pub verb: String,
    /// Everything after the first space, unchanged (file names may contain spaces).
    pub arg: String,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The line is empty or the verb is not 3-4 ASCII letters: answered with 500.
    Unrecognized,
    /// The argument is not UTF-8 (RFC 2640 §3.1 makes UTF-8 the encoding of path names): 501.
    NotUtf8,
}

impl Command {
    /// Parses one line (without its CRLF).
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        let clean = strip_telnet(line);
        let text = String::from_utf8(clean).map_err(|_| CommandError::NotUtf8)?;
        let (verb, arg) = match text.split_once(' ') {
            Some((verb, arg)) => (verb, arg),
            None => (text.as_str(), ""),
        };
        let verb_ok =
            (3..=4).contains(&verb.len()) && verb.bytes().all(|byte| byte.is_ascii_alphabetic());
        if !verb_ok {
            return Err(CommandError::Unrecognized);
        }
        Ok(Command {
            verb: verb.to_ascii_uppercase(),
            arg: arg.to_string(),
        })
    }

    /// The command as it may be shown in a log or trace: the password of `PASS` is masked.
    pub fn for_display(&self) -> String {
        if self.verb == "PASS" {
            "PASS ****".to_string()
        } else if self.arg.is_empty() {
            self.verb.clone()
        } else {
            format!("{} {}", self.verb, netlab_common::term::sanitize(&self.arg))
        }
    }
}

/// Telnet "Interpret As Command" byte (RFC 854): the next byte is a command, not data.
const IAC: u8 = 0xFF;

/// Drops Telnet commands (IAC IP, IAC DM, IAC WILL x, ...) from a line; `IAC IAC` is a literal
/// 0xFF byte. A lone IAC before an ordinary byte is dropped alone: that is what remains of
/// `IAC IP IAC DM` when a socket without `SO_OOBINLINE` has taken the DM (sent as urgent data)
/// out of the stream.
fn strip_telnet(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut bytes = line.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte != IAC {
            out.push(byte);
            continue;
        }
        let mut rest = bytes.clone();
        match rest.next() {
            Some(IAC) => {
                out.push(IAC);
                bytes = rest;
            }
            // WILL, WONT, DO, DONT carry one option byte.
            Some(0xFB..=0xFE) => {
                rest.next();
                bytes = rest;
            }
            Some(0xF0..=0xFA) => bytes = rest,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn events(buffer: &mut LineBuffer) -> Vec<LineEvent> {
        std::iter::from_fn(|| buffer.next_event()).collect()
    }

    /// Lines split anywhere, several per read, with CRLF or bare LF, come out whole.
    #[test]
    fn lines_in_any_split() {
        let mut buffer = LineBuffer::new(100);
        buffer.push(b"US");
        assert_eq!(buffer.next_event(), None);
        buffer.push(b"ER a\r\nPASS b\nNO");
        assert_eq!(
            events(&mut buffer),
            vec![
                LineEvent::Line(b"USER a".to_vec()),
                LineEvent::Line(b"PASS b".to_vec())
            ]
        );
        assert_eq!(buffer.pending(), b"NO");
    }

    /// An over-long line is reported once with its full length, never stored, and the line
    /// after it is read normally.
    #[test]
    fn over_long_line_is_discarded() {
        let mut buffer = LineBuffer::new(10);
        for _ in 0..50 {
            buffer.push(&[b'x'; 100]);
            assert_eq!(buffer.next_event(), None);
            assert!(buffer.pending().len() <= 110);
        }
        buffer.push(b"xx\r\nNOOP\r\n");
        assert_eq!(
            events(&mut buffer),
            vec![
                LineEvent::TooLong { length: 5002 },
                LineEvent::Line(b"NOOP".to_vec())
            ]
        );
    }

    /// A megabyte without a newline is not a command: give up.
    #[test]
    fn endless_line_gives_up() {
        let mut buffer = LineBuffer::new(MAX_COMMAND_LINE);
        let chunk = vec![b'x'; 64 * 1024];
        let mut outcome = None;
        for _ in 0..20 {
            buffer.push(&chunk);
            if let Some(event) = buffer.next_event() {
                outcome = Some(event);
                break;
            }
        }
        assert_eq!(outcome, Some(LineEvent::Endless));
    }

    /// Verbs are case-insensitive; the argument keeps its spaces and case.
    #[test]
    fn verb_and_argument() {
        let command = Command::parse(b"retr My File.txt ").unwrap();
        assert_eq!(command.verb, "RETR");
        assert_eq!(command.arg, "My File.txt ");
        assert_eq!(Command::parse(b"PWD").unwrap().arg, "");
    }

    /// Empty lines, long verbs and symbols are unrecognized; invalid UTF-8 is its own error.
    #[test]
    fn bad_lines() {
        for line in [&b""[..], b" ", b"RETRIEVE x", b"../x", b"12345", b"AB"] {
            assert_eq!(
                Command::parse(line),
                Err(CommandError::Unrecognized),
                "{line:?}"
            );
        }
        assert_eq!(
            Command::parse(b"RETR caf\xe9 \xc3\x28"),
            Err(CommandError::NotUtf8)
        );
    }

    /// The RFC 959 (4.1.3) abort sequence before ABOR parses as ABOR: `IAC IP IAC DM`, and
    /// `IAC IP IAC` (what is left when a socket without SO_OOBINLINE took the urgent DM out).
    #[test]
    fn telnet_bytes_are_dropped() {
        assert_eq!(Command::parse(b"\xff\xf4\xffABOR").unwrap().verb, "ABOR");
        assert_eq!(
            Command::parse(b"\xff\xf4\xff\xf2ABOR").unwrap().verb,
            "ABOR"
        );
        assert_eq!(Command::parse(b"\xff\xfb\x01NOOP").unwrap().verb, "NOOP");
    }

    /// The password never reaches a log.
    #[test]
    fn password_masked() {
        let command = Command::parse(b"pass hunter2").unwrap();
        assert_eq!(command.for_display(), "PASS ****");
    }
}
