//! # The client's control connection: send a line, read a reply
//!
//! The client's half of the dialogue is simple: write one command line, then read lines until
//! [`ReplyParser`] says the reply is complete. A server's lines are bounded ([`MAX_REPLY_LINE`])
//! so a hostile or broken server cannot make the client buffer without end, and every read has
//! a deadline ([`REPLY_TIMEOUT`]).
//!
//! With `--trace` each command and reply line is printed, with the password of `PASS` masked,
//! so the dialogue can be read next to the server's trace. After [`Control::start_tls`] the
//! lines are tagged `[tls]`: they are what the two ends see; on the wire there are only TLS
//! records (`crate::tls`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use netlab_common::trace_json::{EventKind, TraceEvent};
use netlab_common::{Error, Result, Tracer, net, term};

use crate::reply::{ParseStep, Reply, ReplyParser};
use crate::tls::Channel;

/// The control connection: clear, or protected after `AUTH TLS`.
type ControlChannel = Channel<ClientConnection>;

/// Longest reply line accepted from a server.
pub const MAX_REPLY_LINE: usize = 64 * 1024;

/// How long to wait for a reply. Generous: a `226` comes only after the server has finished
/// with the file, and a failed login may be answered after a deliberate delay.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A control connection to an FTP server.
#[derive(Debug)]
pub struct Control {
    /// Read through a buffer (replies come in lines); written through `get_mut()`.
    reader: BufReader<ControlChannel>,
    peer: SocketAddr,
    local: SocketAddr,
    tracer: Tracer,
}

impl Control {
    /// Connects to `target` (`host:port`) and returns the connection and the server's greeting.
    pub fn connect(target: &str, tracer: Tracer) -> Result<(Control, Reply)> {
        let stream = net::connect(target, net::CONNECT_TIMEOUT, true)?;
        let peer = stream.peer_addr().map_err(Error::from)?;
        let local = stream.local_addr().map_err(Error::from)?;
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(|err| Error::io("setting the reply timeout", err))?;
        let reader = BufReader::new(Channel::Clear(stream));
        tracer.event(peer, "control connection open");
        let mut control = Control {
            reader,
            peer,
            local,
            tracer,
        };
        let mut greeting = control.reply()?;
        // 120: "service ready in nnn minutes", then the real greeting follows.
        while greeting.code == 120 {
            greeting = control.reply()?;
        }
        Ok((control, greeting))
    }

    /// The server's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Our address on this connection (active mode listens on the same IP).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The tracer, for data connection events.
    pub fn tracer(&self) -> Tracer {
        self.tracer
    }

    /// Is the control connection protected by TLS?
    pub fn is_protected(&self) -> bool {
        self.reader.get_ref().is_protected()
    }

    /// After the server's `234` to `AUTH TLS`: the TLS handshake, in the client role, checking
    /// the server's certificate for `name`. Returns the version and cipher agreed. A server that
    /// sent more after its `234` sent it in the clear, where anyone could have put it: refused.
    pub fn start_tls(
        &mut self,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> std::io::Result<String> {
        if !self.reader.buffer().is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the server sent more than its 234 before the TLS handshake",
            ));
        }
        self.tracer.event(
            self.peer,
            "TLS handshake starts on the control connection (we are the TLS client)",
        );
        let tcp = self.reader.get_ref().tcp().try_clone()?;
        let tls = ClientConnection::new(config, name).map_err(std::io::Error::other)?;
        let channel = Channel::handshake(tls, tcp, None)?;
        let agreed = channel.describe().unwrap_or_default();
        self.reader = BufReader::new(channel);
        self.tracer.event(
            self.peer,
            &format!("TLS handshake done ({agreed}): the dialogue is now encrypted"),
        );
        Ok(agreed)
    }

    /// Traces a command or reply line, tagged `[tls]` when it travels inside TLS.
    fn trace_line(&self, line: &str) {
        if self.is_protected() {
            self.tracer.event(self.peer, &format!("[tls] {line}"));
        } else {
            self.tracer.event(self.peer, line);
        }
    }

    /// Sends one command line (CRLF is added). A line break inside it (typed, or `%0D%0A` in
    /// a URL) would end the command early and smuggle in a second one: that is the user's
    /// mistake, refused before anything is sent.
    pub fn send(&mut self, line: &str) -> Result<()> {
        if line.contains(['\r', '\n']) {
            return Err(Error::Usage(
                "a command cannot contain a line break".to_string(),
            ));
        }
        let shown = if line
            .get(..5)
            .is_some_and(|verb| verb.eq_ignore_ascii_case("PASS "))
        {
            "PASS ****".to_string()
        } else {
            term::sanitize(line)
        };
        self.trace_line(&format!("-> {shown}"));
        if let Some(json) = self.tracer.json() {
            let (verb, argument) = shown.split_once(' ').unwrap_or((&shown, ""));
            json.record(
                &TraceEvent::new(EventKind::Send, Some(self.local), Some(self.peer))
                    .with_bytes(line.len() + 2)
                    .with_summary(shown.as_str())
                    .with_field("channel", "control")
                    .with_field("command", verb.to_ascii_uppercase())
                    .with_field("argument", argument)
                    .with_field("tls", self.is_protected()),
            );
        }
        let channel = self.reader.get_mut();
        channel
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| channel.flush())
            .map_err(|err| Error::io("sending a command", err))
    }

    /// Reads one complete reply (one or more lines).
    pub fn reply(&mut self) -> Result<Reply> {
        let mut parser = ReplyParser::new();
        loop {
            let line = self.read_line()?;
            self.trace_line(&format!("<- {}", term::sanitize(&line)));
            if let Some(json) = self.tracer.json() {
                let mut event =
                    TraceEvent::new(EventKind::Receive, Some(self.local), Some(self.peer))
                        .with_bytes(line.len() + 2)
                        .with_summary(term::sanitize(&line))
                        .with_field("channel", "control")
                        .with_field("tls", self.is_protected());
                if let Some(code) = line.get(..3).and_then(|code| code.parse::<u16>().ok()) {
                    event = event.with_field("reply", code);
                }
                json.record(&event);
            }
            match parser.push_line(&line).map_err(Error::Protocol)? {
                ParseStep::Complete(reply) => return Ok(reply),
                ParseStep::NeedMore => {}
            }
        }
    }

    /// Waits at most `wait` for the server to start saying something; false if it stayed
    /// silent. Nothing is consumed: [`Control::reply`] reads the reply (or the end of the
    /// connection) afterwards, with the usual [`REPLY_TIMEOUT`].
    pub fn reply_pending(&mut self, wait: Duration) -> Result<bool> {
        if !self.reader.buffer().is_empty() {
            return Ok(true);
        }
        self.set_reply_timeout(wait.max(Duration::from_millis(1)))?;
        let waited = self.reader.fill_buf().map(|_| ());
        self.set_reply_timeout(REPLY_TIMEOUT)?;
        match waited {
            // Bytes, or the end of the connection: either way `reply` has something to say.
            Ok(()) => Ok(true),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(Error::io("waiting for the server's reply", err)),
        }
    }

    fn set_reply_timeout(&self, timeout: Duration) -> Result<()> {
        self.reader
            .get_ref()
            .tcp()
            .set_read_timeout(Some(timeout))
            .map_err(|err| Error::io("setting the reply timeout", err))
    }

    /// Sends a command and reads its reply.
    pub fn command(&mut self, line: &str) -> Result<Reply> {
        self.send(line)?;
        self.reply()
    }

    fn read_line(&mut self) -> Result<String> {
        let mut bytes = Vec::new();
        let limit = MAX_REPLY_LINE as u64 + 1;
        let got = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut bytes)
            .map_err(
                |err| match Error::io("waiting for the server's reply", err) {
                    Error::Timeout { what, .. } => Error::Timeout {
                        what,
                        after: REPLY_TIMEOUT,
                    },
                    other => other,
                },
            )?;
        if got == 0 {
            // The server went away (not a broken rule): an end of file, as `is_disconnect` sees.
            return Err(Error::io(
                "waiting for the server's reply",
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the control connection",
                ),
            ));
        }
        if bytes.last() != Some(&b'\n') {
            return Err(Error::Protocol(format!(
                "a reply line longer than {MAX_REPLY_LINE} bytes, or cut off"
            )));
        }
        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.pop();
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
