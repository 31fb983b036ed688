//! # The grader's side of TLS: a handshake that cannot hang, lines read through TLS
//!
//! After `AUTH TLS` and its `234` (RFC 4217 §4) the grader is the TLS *client* on the control
//! connection, and again on every data connection after `PROT P` (RFC 4217 §7: whoever opened
//! the TCP connection, the FTP server is the TLS server). This module holds the pieces the
//! checks share:
//!
//! - [`TlsClient`]: the rustls configuration (which certificates to trust) and the name the
//!   server's certificate is checked against. One configuration for the whole run, so its
//!   session cache lets a data connection resume the control connection's TLS session, as
//!   curl does and as some servers (vsftpd's `require_ssl_reuse`) insist.
//! - [`handshake`]: the TLS handshake on a TCP connection, bounded by the socket's timeouts, so
//!   a server that answers `234` and then says nothing, or sends plain text, fails with a reason.
//! - [`SecureLines`]: the control connection's reply lines, read through TLS with the same
//!   patience and the same reasons as the clear [`netlab_common::grade::conn::Lines`].
//!
//! By default the grader trusts any certificate (`Trust::Anything`): a student's server has a
//! self-signed one. `--tls-ca FILE` or `--tls-fingerprint HEX` make it check.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use netlab_common::grade::conn::{PATIENCE, io_said_after};
use netlab_common::grade::{CheckResult, Failure, show_bytes};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::tls::{self, Channel, Trust};

/// One of the grader's connections, clear or protected by TLS (the grader is the TLS client).
pub type ClientChannel = Channel<ClientConnection>;

/// The longest reply line read through TLS, as for clear lines (`conn::Lines`).
const MAX_LINE: usize = 64 * 1024;

/// How the grader speaks TLS to the server under test (built once per run).
#[derive(Debug, Clone)]
pub struct TlsClient {
    /// Which certificates to trust, with the session cache every connection shares.
    pub config: Arc<ClientConfig>,
    /// The name the certificate must carry: the address graded (only checked with `--tls-ca`).
    pub name: ServerName<'static>,
}

impl TlsClient {
    /// The client for the server at `host` (an IP address), trusting what `trust` says.
    pub fn new(trust: &Trust, host: &str) -> netlab_common::Result<TlsClient> {
        Ok(TlsClient {
            config: tls::client_config(trust)?,
            name: tls::server_name(host)?,
        })
    }

    /// Runs the TLS handshake on `tcp` as its client. `when` says which connection it is and
    /// the rule, for the reason (`on the control connection after "234" (RFC 4217 §4)`).
    pub fn handshake(&self, tcp: TcpStream, when: &str) -> Result<ClientChannel, Failure> {
        handshake(self, tcp, when)
    }
}

/// The TLS handshake on `tcp`, each read and write bounded by the socket's timeouts: silence
/// ends it as "nothing for 2 s", plain text as "not TLS".
pub fn handshake(client: &TlsClient, tcp: TcpStream, when: &str) -> Result<ClientChannel, Failure> {
    let expected = || format!("a TLS handshake {when}");
    let patience = tcp.read_timeout().ok().flatten().unwrap_or(PATIENCE);
    let connection = ClientConnection::new(Arc::clone(&client.config), client.name.clone())
        .map_err(|err| Failure::new(expected(), format!("the grader's TLS: {err}")))?;
    Channel::handshake(connection, tcp, None)
        .map_err(|err| Failure::new(expected(), handshake_said(&err, patience)))
}

/// A failed handshake in a rubric's words.
fn handshake_said(err: &io::Error, patience: Duration) -> String {
    let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return io_said_after(err, patience);
    };
    match tls {
        rustls::Error::InvalidMessage(_) => {
            format!("bytes that are not TLS ({tls}): did the server answer in plain text?")
        }
        rustls::Error::InvalidCertificate(_) => {
            format!("a certificate the grader does not trust: {tls}")
        }
        // `--tls-fingerprint`'s own words (`crate::tls`).
        rustls::Error::General(said) => format!("a certificate the grader does not trust: {said}"),
        _ => format!("the handshake failed: {tls}"),
    }
}

/// Lines of text read and written through TLS: the protected control connection.
pub struct SecureLines {
    channel: ClientChannel,
    buffered: Vec<u8>,
    last_ending: &'static str,
    patience: Duration,
}

impl SecureLines {
    /// Speaks lines over a connection whose handshake is done.
    pub fn over(channel: ClientChannel) -> SecureLines {
        SecureLines {
            channel,
            buffered: Vec::new(),
            last_ending: "\n",
            patience: PATIENCE,
        }
    }

    /// The TCP socket, for bytes that bypass TLS.
    pub fn tcp_mut(&mut self) -> &mut TcpStream {
        match &mut self.channel {
            Channel::Clear(tcp) => tcp,
            Channel::Protected(tls) => &mut tls.sock,
        }
    }

    /// Gives the TCP socket back (for a reset); the TLS session is dropped.
    pub fn into_tcp(self) -> TcpStream {
        match self.channel {
            Channel::Clear(tcp) => tcp,
            Channel::Protected(tls) => tls.sock,
        }
    }

    /// Changes how long one read may wait.
    pub fn set_patience(&mut self, patience: Duration) {
        self.patience = patience;
        let _ = self.channel.tcp().set_read_timeout(Some(patience));
    }

    /// Sends `line` and CRLF, encrypted.
    pub fn send_line(&mut self, line: &str) -> CheckResult {
        let bytes = format!("{line}\r\n");
        self.channel
            .write_all(bytes.as_bytes())
            .and_then(|()| self.channel.flush())
            .map_err(|err| {
                Failure::new(
                    "the server to take our bytes",
                    io_said_after(&err, PATIENCE),
                )
            })
    }

    /// Sends `close_notify`, then half-closes: the polite end of a TLS session.
    pub fn close(&mut self) {
        self.channel.send_close_notify();
        let _ = self.channel.flush();
        let _ = self.channel.tcp().shutdown(std::net::Shutdown::Write);
    }

    /// How the last line read was ended: `"\n"` or `"\r\n"`.
    pub fn last_ending(&self) -> &'static str {
        self.last_ending
    }

    /// The next line, without its ending; the same reasons as `conn::Lines::next_line`.
    pub fn next_line(&mut self) -> Result<String, Failure> {
        loop {
            if let Some(line) = netlab_common::grade::conn::take_line(&mut self.buffered, MAX_LINE)
            {
                let (line, ending) = line?;
                self.last_ending = ending;
                return Ok(line);
            }
            let mut buf = [0u8; 4096];
            let said = match self.channel.read(&mut buf) {
                Ok(0) => "the connection closed (TLS close_notify)".to_string(),
                Ok(n) => {
                    self.buffered
                        .extend_from_slice(buf.get(..n).unwrap_or_default());
                    continue;
                }
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                    "the connection closed (without TLS close_notify)".to_string()
                }
                Err(err) => io_said_after(&err, self.patience),
            };
            let got = if self.buffered.is_empty() {
                said
            } else {
                format!("{} and then {said}", show_bytes(&self.buffered))
            };
            return Err(Failure::new("a line", got));
        }
    }
}
