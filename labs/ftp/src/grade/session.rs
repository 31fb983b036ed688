//! # The grader's FTP client: exact replies, bounded waits, reasons a student can act on
//!
//! Unlike `crate::client`, which tries to get a file whatever the server's quirks, this client
//! exists to *judge* a server, so it does nothing behind the student's back: every command is
//! sent as written, every reply is read and compared with what RFC 959 §4.2 allows, and anything else
//! becomes a [`Failure`] naming the command and the reply (`after "SIZE x": expected 213 ...;
//! got "550 No such file"`).
//!
//! Replies are read with [`crate::reply::ReplyParser`], so multi-line replies (`211-...`, then
//! `211 End`) count as one reply, as they must. Every read has the patience of
//! [`netlab_common::grade::conn`]: a server that says nothing fails, it never hangs the grader.
//!
//! With `--tls` the same client speaks explicit FTPS (RFC 4217): [`Control::start_tls`] turns
//! the control connection into a TLS session after `AUTH TLS`, and after `PROT P`
//! ([`Control::protect_data`]) every data connection runs its own TLS handshake once the server
//! has answered `150`, and ends with TLS's `close_notify` (`super::secure`).

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use netlab_common::grade::conn::{Lines, PATIENCE, connect, io_said, leave_politely};
use netlab_common::grade::{CheckResult, Failure, show_bytes};

use super::Target;
use super::secure::{ClientChannel, SecureLines};
use crate::hostport;
use crate::reply::{ParseStep, Reply, ReplyParser};
use crate::tls::Channel;

/// The largest file or listing a check reads back (the largest one it uploads is 4 MiB).
const MAX_DOWNLOAD: u64 = 16 << 20;

/// A control connection to the server under test.
pub struct Control {
    link: Link,
    target: Target,
    /// `PROT P` was accepted: data connections run TLS.
    data_protected: bool,
}

/// The control connection's lines: in the clear, or through TLS after `AUTH TLS`.
enum Link {
    Clear(Lines),
    Protected(Box<SecureLines>),
}

impl Control {
    /// Connects and reads the greeting, which must be a `220`.
    pub fn connect(target: &Target) -> Result<Control, Failure> {
        let mut control = Control {
            link: Link::Clear(Lines::connect(target.addr, "\r\n")?),
            target: target.clone(),
            data_protected: false,
        };
        let greeting = control
            .reply()
            .map_err(|f| Failure::new("a 220 greeting when the connection opens", f.got))?;
        if greeting.code != 220 {
            return Err(Failure::new(
                "a 220 greeting when the connection opens",
                shown(&greeting),
            ));
        }
        Ok(control)
    }

    /// Connects, logs in (the `--user` account, or anonymous) and sets `TYPE I`, so sizes and
    /// transfers are byte for byte.
    pub fn login(target: &Target) -> Result<Control, Failure> {
        let mut control = Control::connect(target)?;
        control.log_in()?;
        control.expect_reply("TYPE I", &[200])?;
        Ok(control)
    }

    /// Connects, protects the control connection ([`Control::start_tls`]), then logs in and
    /// sets `TYPE I` as [`Control::login`] does: `USER` and `PASS` travel encrypted.
    pub fn login_over_tls(target: &Target) -> Result<Control, Failure> {
        let mut control = Control::connect(target)?.start_tls()?;
        control.log_in()?;
        control.expect_reply("TYPE I", &[200])?;
        Ok(control)
    }

    /// `AUTH TLS`, which must be answered `234`, then the TLS handshake on this connection,
    /// the grader as TLS client (RFC 4217 §4). Every later command and reply is encrypted.
    pub fn start_tls(mut self) -> Result<Control, Failure> {
        let Some(client) = self.target.tls.clone() else {
            return Err(Failure::new("--tls to run a TLS check", "no --tls"));
        };
        let reply = self.command("AUTH TLS")?;
        if reply.code != 234 {
            return Err(Failure::new(
                "234 after \"AUTH TLS\" (RFC 4217 §4: the server agrees to start TLS)",
                shown(&reply),
            ));
        }
        let tcp = match self.link {
            Link::Clear(lines) => lines.into_stream(),
            Link::Protected(_) => {
                return Err(Failure::new(
                    "AUTH TLS on a clear control connection",
                    "a grader bug: it is protected already",
                ));
            }
        };
        let channel =
            client.handshake(tcp, "on the control connection after \"234\" (RFC 4217 §4)")?;
        Ok(Control {
            link: Link::Protected(Box::new(SecureLines::over(channel))),
            target: self.target,
            data_protected: false,
        })
    }

    /// Whether the grader runs TLS on the data connections from now on: after the server
    /// accepted `PROT P` (`true`) or `PROT C` (`false`).
    pub fn protect_data(&mut self, protected: bool) {
        self.data_protected = protected;
    }

    /// `USER` then `PASS` with the target's account: `230` (or `202`, "already logged in").
    pub fn log_in(&mut self) -> CheckResult {
        let (user, password) = self.target.account();
        let (user, password) = (user.to_string(), password.to_string());
        let reply = self.command(&format!("USER {user}"))?;
        match reply.code {
            230 => return Ok(()),
            331 | 332 => {}
            _ => {
                return Err(Failure::new(
                    format!("331 (send the password) after \"USER {user}\""),
                    shown(&reply),
                ));
            }
        }
        let reply = self.command(&format!("PASS {password}"))?;
        if matches!(reply.code, 230 | 202) {
            Ok(())
        } else {
            Err(Failure::new(
                format!("230 (logged in) after \"PASS\" for {user}"),
                shown(&reply),
            ))
        }
    }

    /// The next whole reply (several lines when it is a multi-line reply).
    pub fn reply(&mut self) -> Result<Reply, Failure> {
        let mut parser = ReplyParser::new();
        loop {
            let (line, ending) = match &mut self.link {
                Link::Clear(lines) => (lines.next_line()?, lines.last_ending()),
                Link::Protected(lines) => (lines.next_line()?, lines.last_ending()),
            };
            if ending != "\r\n" {
                return Err(Failure::new(
                    "reply lines ending in CRLF (\\r\\n, RFC 959 section 4.2)",
                    format!("{} ending in a bare \\n", show_bytes(line.as_bytes())),
                ));
            }
            match parser.push_line(&line) {
                Ok(ParseStep::Complete(reply)) => return Ok(reply),
                Ok(ParseStep::NeedMore) => {}
                Err(_) => {
                    return Err(Failure::new(
                        "a reply: three digits, a space or '-', text",
                        show_bytes(line.as_bytes()),
                    ));
                }
            }
        }
    }

    /// Sends `line` and reads its reply; a failure names the command.
    pub fn command(&mut self, line: &str) -> Result<Reply, Failure> {
        self.send(line)?;
        self.reply_to(line)
    }

    /// The reply to `line`, which was sent already.
    pub fn reply_to(&mut self, line: &str) -> Result<Reply, Failure> {
        self.reply()
            .map_err(|f| Failure::new(format!("a reply to {}", quoted(line)), f.got))
    }

    /// Sends `line` and its CRLF.
    pub fn send(&mut self, line: &str) -> CheckResult {
        match &mut self.link {
            Link::Clear(lines) => lines.send_line(line),
            Link::Protected(lines) => lines.send_line(line),
        }
    }

    /// Sends `line`; its reply must have one of the codes in `codes`.
    pub fn expect_reply(&mut self, line: &str, codes: &[u16]) -> Result<Reply, Failure> {
        let reply = self.command(line)?;
        check_code(line, &reply, codes)?;
        Ok(reply)
    }

    /// `PWD`: the path inside the `257` reply's quotes (`""` inside stands for one `"`).
    pub fn pwd(&mut self) -> Result<String, Failure> {
        let reply = self.expect_reply("PWD", &[257])?;
        quoted_path(&reply.text()).ok_or_else(|| {
            Failure::new(
                "257 \"PATH\" ... after \"PWD\" (the path in double quotes)",
                shown(&reply),
            )
        })
    }

    /// The socket, for writes the client would never make (one byte at a time, garbage). On a
    /// protected connection, bytes written here bypass TLS.
    pub fn stream(&mut self) -> &mut TcpStream {
        match &mut self.link {
            Link::Clear(lines) => lines.stream(),
            Link::Protected(lines) => lines.tcp_mut(),
        }
    }

    /// Gives up the control connection (for checks that reset it).
    pub fn into_stream(self) -> TcpStream {
        match self.link {
            Link::Clear(lines) => lines.into_stream(),
            Link::Protected(lines) => lines.into_tcp(),
        }
    }

    /// The IP address the server sees us at: where active-mode data connections must go.
    pub fn our_ip(&mut self) -> Result<IpAddr, Failure> {
        self.stream()
            .local_addr()
            .map(|addr| addr.ip())
            .map_err(|err| Failure::new("our own address", err.to_string()))
    }

    /// Changes how long one read of a reply may wait.
    pub fn set_patience(&mut self, patience: Duration) {
        match &mut self.link {
            Link::Clear(lines) => lines.set_patience(patience),
            Link::Protected(lines) => lines.set_patience(patience),
        }
    }

    /// `QUIT`, then a polite close (the reply is read, so the server sees a FIN, not a reset;
    /// under TLS a `close_notify` goes first).
    pub fn quit(mut self) {
        let _ = self.send("QUIT");
        if let Link::Protected(lines) = &mut self.link {
            lines.close();
        }
        leave_politely(self.into_stream());
    }

    // --- data connections ------------------------------------------------------------------

    /// `PASV` (`EPSV` on IPv6): the data port the server listens on, at the control
    /// connection's address. Like curl and most clients, we connect to the address we already
    /// reach, and use only the port from the reply.
    pub fn passive(&mut self) -> Result<SocketAddr, Failure> {
        if self.target.addr.is_ipv6() {
            return self.extended_passive();
        }
        let reply = self.expect_reply("PASV", &[227])?;
        let announced = hostport::parse_pasv_reply(&reply.text()).map_err(|_| {
            Failure::new(
                "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)",
                shown(&reply),
            )
        })?;
        Ok(SocketAddr::new(self.target.addr.ip(), announced.port()))
    }

    /// `EPSV`: `229 ... (|||port|)` (RFC 2428, section 3).
    pub fn extended_passive(&mut self) -> Result<SocketAddr, Failure> {
        let reply = self.expect_reply("EPSV", &[229])?;
        let port = hostport::parse_epsv_reply(&reply.text()).map_err(|_| {
            Failure::new(
                "229 Entering Extended Passive Mode (|||port|)",
                shown(&reply),
            )
        })?;
        Ok(SocketAddr::new(self.target.addr.ip(), port))
    }

    /// Opens a passive data connection and sends `line` (`RETR x`, `LIST`): `Ok(Err(reply))`
    /// when the server refuses it at once (a `4xx`/`5xx`), else what arrived on the data
    /// connection, once the server confirmed the transfer with `226` or `250`.
    pub fn download(&mut self, line: &str) -> Result<Result<Vec<u8>, Reply>, Failure> {
        let at = self.passive()?;
        let data = open_data(at)?;
        self.download_over(data, line)
    }

    /// Like [`Control::download`], over a data connection already open.
    pub fn download_over(
        &mut self,
        data: TcpStream,
        line: &str,
    ) -> Result<Result<Vec<u8>, Reply>, Failure> {
        let started = self.command(line)?;
        if started.code >= 400 {
            return Ok(Err(started));
        }
        check_code(line, &started, &[125, 150])?;
        let data = self.open_channel(data, line)?;
        let bytes = read_all(data, line)?;
        let done = self.reply_to(line)?;
        check_code(line, &done, &[226, 250])
            .map_err(|f| Failure::new(f.expected, format!("{} after the transfer", f.got)))?;
        Ok(Ok(bytes))
    }

    /// Downloads; a refusal is a failure.
    pub fn retrieve(&mut self, line: &str) -> Result<Vec<u8>, Failure> {
        self.download(line)?.map_err(|reply| {
            Failure::new(
                format!("150, the data, then 226 for {}", quoted(line)),
                shown(&reply),
            )
        })
    }

    /// Uploads `bytes` with `line` (`STOR x`) over a passive data connection; `226` must
    /// follow the close that marks the end of the file.
    pub fn upload(&mut self, line: &str, bytes: &[u8]) -> CheckResult {
        let at = self.passive()?;
        let data = open_data(at)?;
        self.expect_reply(line, &[125, 150])?;
        let mut data = self.open_channel(data, line)?;
        data.write_all(bytes)
            .and_then(|()| data.flush())
            .map_err(|err| {
                Failure::new(
                    format!(
                        "the server to take {} bytes after {}",
                        bytes.len(),
                        quoted(line)
                    ),
                    io_said(&err),
                )
            })?;
        // The end of the file is the end of the data connection (RFC 959, section 3.4.1); over
        // TLS a close_notify says so first, authenticated (`crate::tls`).
        data.send_close_notify();
        let _ = data.flush();
        let _ = data.tcp().shutdown(Shutdown::Write);
        drain(data);
        let done = self.reply_to(line)?;
        check_code(line, &done, &[226, 250])
    }

    /// The data connection for `line`, as `PROT` says: clear, or TLS after the server's `150`
    /// (RFC 4217 §7: the FTP server is the TLS server, whoever connected).
    pub fn open_channel(&self, data: TcpStream, line: &str) -> Result<ClientChannel, Failure> {
        match (&self.target.tls, self.data_protected) {
            (Some(client), true) => client.handshake(
                data,
                &format!(
                    "on the data connection of {} after PROT P (RFC 4217 §7)",
                    quoted(line)
                ),
            ),
            _ => Ok(Channel::Clear(data)),
        }
    }

    /// `SIZE name`: the number of a `213` reply.
    pub fn size(&mut self, name: &str) -> Result<u64, Failure> {
        let line = format!("SIZE {name}");
        let reply = self.expect_reply(&line, &[213])?;
        reply.text().trim().parse().map_err(|_| {
            Failure::new(
                format!("213 and a number after {}", quoted(&line)),
                shown(&reply),
            )
        })
    }
}

/// Connects a data connection to `at`.
pub fn open_data(at: SocketAddr) -> Result<TcpStream, Failure> {
    connect(at).map_err(|f| {
        Failure::new(
            format!("a data connection to {at}, the port the server announced"),
            f.got,
        )
    })
}

/// Reads a data connection to its end (the close is the end of the file), at most
/// [`MAX_DOWNLOAD`] bytes. Over TLS the end must be a `close_notify`: a TCP close without one
/// is what an attacker who cuts the file short produces (RFC 8446 §6.1).
pub fn read_all(data: impl Read, line: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    match data.take(MAX_DOWNLOAD).read_to_end(&mut bytes) {
        Ok(_) => Ok(bytes),
        Err(err) if err.kind() == ErrorKind::UnexpectedEof => Err(Failure::new(
            format!(
                "the data for {}, then TLS close_notify, then the close",
                quoted(line)
            ),
            format!(
                "{} bytes, then a TCP close without close_notify: the client cannot tell the \
                 whole file from one cut short (RFC 8446 §6.1)",
                bytes.len()
            ),
        )),
        Err(err) => Err(Failure::new(
            format!("the data for {}, then a close", quoted(line)),
            format!("{} bytes, then {}", bytes.len(), io_said(&err)),
        )),
    }
}

/// Reads and drops what remains (so our close is a FIN, not a reset).
fn drain(mut data: ClientChannel) {
    let _ = data.tcp().set_read_timeout(Some(PATIENCE));
    let mut sink = [0u8; 4096];
    while let Ok(n) = data.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}

/// Listens for an active-mode data connection (`PORT`/`EPRT`) on `ip`.
pub fn listen_active(ip: IpAddr) -> Result<TcpListener, Failure> {
    TcpListener::bind(SocketAddr::new(ip, 0))
        .map_err(|err| Failure::new(format!("a port to listen on at {ip}"), err.to_string()))
}

/// Accepts one connection within [`PATIENCE`] (`std`'s `accept` has no timeout, so the
/// listener is polled).
pub fn accept_within(listener: &TcpListener, line: &str) -> Result<TcpStream, Failure> {
    let expected = || format!("the server to connect to us after {}", quoted(line));
    listener
        .set_nonblocking(true)
        .map_err(|err| Failure::new(expected(), err.to_string()))?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(PATIENCE));
                return Ok(stream);
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                return Err(Failure::new(
                    expected(),
                    format!("no connection for {} s", PATIENCE.as_secs()),
                ));
            }
            Err(err) => return Err(Failure::new(expected(), err.to_string())),
        }
    }
}

/// The reply must have one of `codes`.
pub fn check_code(line: &str, reply: &Reply, codes: &[u16]) -> CheckResult {
    if codes.contains(&reply.code) {
        return Ok(());
    }
    let wanted: Vec<String> = codes.iter().map(u16::to_string).collect();
    Err(Failure::new(
        format!("{} after {}", wanted.join(" or "), quoted(line)),
        shown(reply),
    ))
}

/// A reply as a reason shows it: `"550 No such file."`.
pub fn shown(reply: &Reply) -> String {
    show_bytes(reply.to_string().as_bytes())
}

/// A command as a reason shows it (a long one shortened).
pub fn quoted(line: &str) -> String {
    show_bytes(line.as_bytes())
}

/// The path in a `257` reply: `"/a ""b"""` is `/a "b"` (RFC 959, Appendix II).
pub fn quoted_path(text: &str) -> Option<String> {
    let mut chars = text.trim_start().strip_prefix('"')?.chars().peekable();
    let mut path = String::new();
    while let Some(c) = chars.next() {
        if c != '"' {
            path.push(c);
        } else if chars.peek() == Some(&'"') {
            chars.next();
            path.push('"');
        } else {
            return Some(path);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::grade::secure::TlsClient;
    use crate::tls::Trust;

    /// A server that answers `234` to `AUTH TLS`, then answers the TLS ClientHello with a
    /// plain-text line, fails the handshake with that said (not a hang, not a panic).
    #[test]
    fn plain_text_after_234_is_not_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            peer.write_all(b"220 hi\r\n").unwrap();
            let mut line = [0u8; 64];
            let _ = peer.read(&mut line); // AUTH TLS
            peer.write_all(b"234 go ahead\r\n").unwrap();
            let _ = peer.read(&mut line); // the start of the ClientHello
            peer.write_all(b"500 what is this?\r\n").unwrap();
            let _ = peer.read_to_end(&mut Vec::new());
        });
        let target = Target {
            addr,
            user: None,
            scratch: "test".into(),
            tls: Some(TlsClient::new(&Trust::Anything, "127.0.0.1").unwrap()),
        };
        let failure = match Control::connect(&target).unwrap().start_tls() {
            Ok(_) => panic!("a handshake with a plain-text server succeeded"),
            Err(failure) => failure,
        };
        assert_eq!(
            failure.expected,
            "a TLS handshake on the control connection after \"234\" (RFC 4217 §4)"
        );
        assert!(
            failure
                .got
                .starts_with("bytes that are not TLS (received corrupt message"),
            "{failure:?}"
        );
        assert!(
            failure
                .got
                .ends_with("did the server answer in plain text?"),
            "{failure:?}"
        );
    }

    /// 257 replies: the quoted path, with doubled quotes undone; no quotes is `None`.
    #[test]
    fn paths_in_257_replies() {
        assert_eq!(
            quoted_path("\"/\" is the current directory."),
            Some("/".into())
        );
        assert_eq!(quoted_path("\"/a \"\"b\"\"\" ok"), Some("/a \"b\"".into()));
        assert_eq!(quoted_path("/ is current"), None);
        assert_eq!(quoted_path("\"unterminated"), None);
    }
}
