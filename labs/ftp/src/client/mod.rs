//! # The FTP client
//!
//! [`FtpClient`] speaks the client half of RFC 959 over a [`control::Control`] connection, and
//! opens one data connection per transfer:
//!
//! - **passive** (the default): ask with `EPSV` (RFC 2428 §3), fall back to `PASV` if the server
//!   does not know it, then connect to the port given. From a `227` reply only the *port* is
//!   used; the IP is the one we already reach the server on. A server behind NAT often announces
//!   its private address (`10.0.0.5`) there, which we could not reach; curl does the same.
//! - **active** (`--active`): open a listener on our side of the control connection, tell the
//!   server with `PORT` (`EPRT` over IPv6), and accept its connection, only from the server's
//!   address and within a deadline (see `crate::data`).
//!
//! On the data connection bytes move in blocks of [`DEFAULT_BLOCK_SIZE`] (256 KiB) per `read`,
//! or per read-then-`write` when uploading; [`FtpClient::set_block_size`] (`--block-size` on
//! `get` and `put`) changes that, and `ftp-lab bench` measures what it costs.
//!
//! ## Cancelling a transfer
//! A [`Cancel`] handle ([`FtpClient::cancel_handle`]) lets another thread (the shell's, which
//! watches the keyboard) ask the running transfer to stop. The loop that moves the bytes looks
//! at it after every block, and the data socket's waits are cut into slices of [`DATA_SLICE`]
//! so that a transfer whose data connection has stalled still looks at least that often
//! ([`DATA_TIMEOUT`] is then counted across slices, as the server counts its `--data-timeout`). To stop,
//! the client sends `ABOR` on the control connection (RFC 959, 4.1.3), stops reading or
//! writing, and lets the *server* close the data connection ([`ABORT_GRACE`] at most; then it
//! closes it itself). Closing it first would look, to the server, like a client that died
//! (`Broken pipe` in its log) or, during an upload, exactly like the end of the file. The
//! server then answers twice: for the transfer (`426` aborted, or `226` if it had already
//! finished) and for the `ABOR` (`226`). RFC 959 also asks for the Telnet "Interrupt Process"
//! and "Synch" signals before `ABOR`, for servers that read the control connection only
//! between transfers; we send `ABOR` alone, as an ordinary line, which is how our server (and
//! vsftpd) read it anyway (`crate::server`'s connection notes on urgent data).
//!
//! ## Explicit FTPS (`--tls`, `ftps://`)
//! [`FtpClient::secure`] sends `AUTH TLS` before logging in and runs the TLS handshake on the
//! control connection (`crate::tls` explains the protocol); after the login, `PBSZ 0` and
//! `PROT P` ask for TLS on every data connection too, which the client then opens as TLS
//! client whoever made the TCP connection (RFC 4217 §7), resuming the control connection's
//! session when the server allows. A refused `AUTH TLS` or `PROT P` ends the session: the
//! client never carries on in the clear when protection was asked for. The server's
//! certificate is checked as [`crate::tls::Trust`] says (`--tls-ca`, `--tls-fingerprint`,
//! `--insecure`); with none of them every certificate is refused, with a message naming the
//! three. The end of a protected download is the server's `close_notify`: a TCP close
//! without it is an error (the file may be cut short), not the end of the file.
//!
//! Nothing here assumes our own server: replies are judged by their first digit, multi-line
//! replies are parsed generically, and `EPSV`, `SIZE` and `REST` are used with fallbacks, so the
//! client works against vsftpd, pyftpdlib and others.
//!
//! ## Layout
//! - [`control`]: sending commands, reading replies, `--trace`.
//! - [`url`]: parsing `ftp://user:pass@host:port/path`.
//! - [`oneshot`]: `ftp-lab get` and `ftp-lab put`, with progress bars and resume.
//! - [`shell`]: `ftp-lab connect`, the interactive shell.

pub mod control;
pub mod oneshot;
pub mod shell;
pub mod url;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlab_common::{Error, Result, Tracer, net, term};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::data;
use crate::hostport;
use crate::reply::Reply;
use crate::tls::{self, Channel, Trust};
use control::Control;

/// A data connection: clear, or protected after `PROT P`.
type DataChannel = Channel<ClientConnection>;

/// How long to wait for a data connection to open, and how long a transfer may move no byte.
pub const DATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes per read and write on a data connection unless [`FtpClient::set_block_size`] says
/// otherwise: large enough that a gigabyte costs a few thousand system calls, not a million.
pub const DEFAULT_BLOCK_SIZE: usize = 256 * 1024;

/// The longest a data socket's `read` or `write` waits before the transfer looks at its
/// [`Cancel`] again. A stalled transfer stops this long after Ctrl-C at worst; while bytes
/// flow the slices cost nothing (a wait ends as soon as bytes arrive).
pub const DATA_SLICE: Duration = Duration::from_millis(100);

/// After `ABOR`, how long the client waits for the server's answer before closing the data
/// connection itself. RFC 959 (4.1.3) has the *server* close it; ours notices `ABOR` within
/// its own 100 ms slice. A server that reads the control connection only between transfers
/// never answers while the transfer is stuck, and then our closing is what stops it.
pub const ABORT_GRACE: Duration = Duration::from_secs(2);

/// The largest block size accepted: one buffer of it is allocated per transfer.
pub const MAX_BLOCK_SIZE: usize = 64 << 20;

/// The password anonymous logins send (by tradition an e-mail address, RFC 1635).
pub const ANONYMOUS_PASSWORD: &str = "netlab@example.org";

/// `--tls` (or an `ftps://` URL) and the certificate check, as the client commands take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Protect the session with `AUTH TLS` and `PROT P`.
    pub wanted: bool,
    /// How to trust the server's certificate.
    pub trust: Trust,
}

/// A data connection on its way: connected (passive) or waiting for the server (active).
enum Pending {
    Connected(TcpStream),
    Listening(TcpListener),
}

/// A request to stop the running transfer, shared between the thread that moves the bytes and
/// the thread that decides to stop (the shell's, watching the keyboard). Cloning gives another
/// handle to the same request.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks the running transfer to stop: it sends `ABOR` at its next look, within a block or
    /// a [`DATA_SLICE`].
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Has a stop been asked for?
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Forgets a request. The transfer that acts on one forgets it; a request that came too
    /// late for its transfer (it had just finished) would stop the next one, so whoever makes
    /// requests clears them when its transfer is over.
    pub fn clear(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// How a copy on the data connection ended.
enum Copied {
    /// Up to the end of the input: this many bytes.
    Whole(u64),
    /// Stopped by a [`Cancel`] request after this many bytes.
    Cancelled(u64),
}

/// A logged-in FTP session.
#[derive(Debug)]
pub struct FtpClient {
    control: Control,
    /// Passive mode (we connect) rather than active (the server connects).
    pub passive: bool,
    /// The server answered EPSV with an error once: use PASV from then on.
    no_epsv: bool,
    /// Bytes per read and write on a data connection (see [`FtpClient::set_block_size`]).
    block_size: usize,
    /// Asked to stop the running transfer (see [`FtpClient::cancel_handle`]).
    cancel: Cancel,
    /// After [`FtpClient::secure`]: how data connections are protected.
    tls: Option<DataTls>,
}

/// What each protected data connection needs: the configuration (with its cache of sessions
/// to resume) and the name the certificate is checked against.
#[derive(Debug)]
struct DataTls {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl FtpClient {
    /// Connects to `target` (`host:port`) and reads the greeting.
    pub fn connect(target: &str, tracer: Tracer) -> Result<FtpClient> {
        let (control, greeting) = Control::connect(target, tracer)?;
        if !greeting.is_success() {
            return Err(refused("connecting", &greeting));
        }
        Ok(FtpClient {
            control,
            passive: true,
            no_epsv: false,
            block_size: DEFAULT_BLOCK_SIZE,
            cancel: Cancel::default(),
            tls: None,
        })
    }

    /// `AUTH TLS` and the TLS handshake on the control connection, before the login (module
    /// docs: Explicit FTPS). The certificate must be for the host of `target` (`host:port`).
    pub fn secure(&mut self, trust: &Trust, target: &str) -> Result<()> {
        if *trust == Trust::Anything {
            term::warn(
                "--insecure: the server's certificate is not checked; the session is encrypted, \
                 but whoever sits in the middle can read it",
            );
        }
        let config = tls::client_config(trust)?;
        let name = tls::server_name(target)?;
        let reply = self.control.command("AUTH TLS")?;
        if reply.code != 234 {
            return Err(refused("AUTH TLS (the server offers no TLS)", &reply));
        }
        self.control
            .start_tls(Arc::clone(&config), name.clone())
            .map_err(|err| handshake_error("on the control connection", trust, err))?;
        self.tls = Some(DataTls { config, name });
        Ok(())
    }

    /// Is the session protected by TLS ([`FtpClient::secure`])?
    pub fn is_protected(&self) -> bool {
        self.control.is_protected()
    }

    /// Sets how many bytes each `read` (downloads) or each read-then-`write` (uploads) on a
    /// data connection moves, clamped to `1..=`[`MAX_BLOCK_SIZE`]. Small blocks mean more system
    /// calls for the same file, which `ftp-lab bench` measures. Only our side changes: the
    /// server reads and writes in its own sizes.
    pub fn set_block_size(&mut self, bytes: usize) {
        self.block_size = bytes.clamp(1, MAX_BLOCK_SIZE);
    }

    /// Bytes per read and write on a data connection.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// A handle another thread can use to stop the running transfer (module docs: Cancelling
    /// a transfer). A stopped transfer returns [`Error::Failed`] once the server has answered
    /// `ABOR`. A request made while no transfer runs applies to the next one (see
    /// [`Cancel::clear`]).
    pub fn cancel_handle(&self) -> Cancel {
        self.cancel.clone()
    }

    /// `USER`, then `PASS` if asked for; then `TYPE I` so files travel byte for byte.
    pub fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let reply = self.control.command(&format!("USER {user}"))?;
        let reply = if reply.is_intermediate() {
            self.control.command(&format!("PASS {password}"))?
        } else {
            reply
        };
        if !reply.is_success() {
            return Err(refused(&format!("logging in as {user}"), &reply));
        }
        if self.tls.is_some() {
            // RFC 4217 §9: PBSZ 0 first, then PROT P: every data connection in TLS.
            self.expect_success("PBSZ 0")?;
            self.expect_success("PROT P")?;
        }
        self.expect_success("TYPE I")?;
        Ok(())
    }

    /// Sends a command that must succeed (2yz); returns the reply.
    pub fn expect_success(&mut self, line: &str) -> Result<Reply> {
        let reply = self.control.command(line)?;
        if reply.is_success() {
            Ok(reply)
        } else {
            Err(refused(line, &reply))
        }
    }

    /// Sends any command and returns its reply, whatever it is (the shell shows it).
    pub fn raw(&mut self, line: &str) -> Result<Reply> {
        self.control.command(line)
    }

    /// `PWD`: the current directory, taken from between the quotes of the `257` reply.
    pub fn pwd(&mut self) -> Result<String> {
        let reply = self.expect_success("PWD")?;
        let text = reply.text();
        let quoted = text
            .split_once('"')
            .and_then(|(_, rest)| rest.rsplit_once('"'))
            .map(|(inside, _)| inside.replace("\"\"", "\""));
        Ok(quoted.unwrap_or(text))
    }

    /// `SIZE` (RFC 3659 §4): the file's size; `None` if the server does not implement SIZE
    /// (500-504); an error if it refuses for this file (550: missing, a directory, forbidden).
    pub fn size(&mut self, path: &str) -> Result<Option<u64>> {
        let line = format!("SIZE {path}");
        let reply = self.control.command(&line)?;
        match reply.code {
            213 => Ok(reply.text().trim().parse().ok()),
            500..=504 => Ok(None),
            _ => Err(refused(&line, &reply)),
        }
    }

    /// `RNFR` + `RNTO`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let reply = self.control.command(&format!("RNFR {from}"))?;
        if !reply.is_intermediate() {
            return Err(refused(&format!("RNFR {from}"), &reply));
        }
        self.expect_success(&format!("RNTO {to}")).map(drop)
    }

    /// `LIST` (or `NLST` with `names_only`) of `path` (the current directory if empty).
    pub fn list(&mut self, path: &str, names_only: bool) -> Result<Vec<u8>> {
        let verb = if names_only { "NLST" } else { "LIST" };
        let line = if path.is_empty() {
            verb.to_string()
        } else {
            format!("{verb} {path}")
        };
        let mut listing = Vec::new();
        self.transfer_in(&line, &mut listing, &mut |_| {})?;
        Ok(listing)
    }

    /// `RETR path` into `sink`, after `REST offset` if `offset > 0`. `progress` gets the byte
    /// count received so far. Returns the bytes received.
    pub fn retrieve(
        &mut self,
        path: &str,
        offset: u64,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let pending = self.prepare_data()?;
        if offset > 0 {
            let reply = self.control.command(&format!("REST {offset}"))?;
            if !reply.is_intermediate() {
                return Err(refused(&format!("REST {offset} (resuming)"), &reply));
            }
        }
        self.run_in(&format!("RETR {path}"), pending, sink, progress)
    }

    /// `STOR path` from `source`. Returns the bytes sent.
    pub fn store(
        &mut self,
        path: &str,
        source: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let line = format!("STOR {path}");
        let pending = self.prepare_data()?;
        let mut stream = self.start_transfer(&line, pending)?;
        let copied = copy_counting(source, &mut stream, self.block_size, progress, &self.cancel)
            .map_err(|err| data_error("sending the file on the data connection", err));
        let sent = match copied {
            Ok(Copied::Whole(sent)) => sent,
            Ok(Copied::Cancelled(sent)) => return Err(self.abort(&line, stream, sent)),
            Err(err) => return Err(err),
        };
        // Closing the data connection is how the server learns the file is complete; over
        // TLS, with close_notify first (crate::tls).
        end_upload(&mut stream)
            .map_err(|err| data_error("ending the upload with TLS close_notify", err))?;
        drop(stream);
        self.trace_data(&format!("data: {sent} bytes sent, connection closed"));
        self.finish_transfer(&line)?;
        Ok(sent)
    }

    /// `QUIT` (best effort: we are leaving anyway).
    pub fn quit(mut self) {
        let _ = self.control.command("QUIT");
    }

    fn transfer_in(
        &mut self,
        line: &str,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let pending = self.prepare_data()?;
        self.run_in(line, pending, sink, progress)
    }

    fn run_in(
        &mut self,
        line: &str,
        pending: Pending,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let mut stream = self.start_transfer(line, pending)?;
        let copied = copy_counting(&mut stream, sink, self.block_size, progress, &self.cancel)
            .map_err(|err| data_error("receiving on the data connection", err));
        let received = match copied {
            Ok(Copied::Whole(received)) => received,
            Ok(Copied::Cancelled(received)) => return Err(self.abort(line, stream, received)),
            Err(err) => return Err(err),
        };
        // The server's close_notify came: ours answers it (best effort; the file is whole).
        stream.send_close_notify();
        let _ = stream.flush();
        drop(stream);
        self.trace_data(&format!(
            "data: {received} bytes received, connection closed"
        ));
        self.finish_transfer(line)?;
        Ok(received)
    }

    /// Stops the transfer `line` after `moved` bytes (module docs: Cancelling a transfer):
    /// `ABOR`; then, with the data connection left alone, up to [`ABORT_GRACE`] for the server
    /// to answer (it closes the data connection itself); then our end closed and the server's
    /// two replies read. Returns the error the transfer ends with: [`Error::Failed`] saying it
    /// was cancelled, or what went wrong on the control connection meanwhile.
    fn abort(&mut self, line: &str, stream: DataChannel, moved: u64) -> Error {
        self.cancel.clear();
        let answers = self.control.send("ABOR").and_then(|()| {
            self.control.reply_pending(ABORT_GRACE)?;
            drop(stream);
            self.trace_data(&format!(
                "data: cancelled after {moved} bytes, connection closed"
            ));
            let transfer = self.control.reply()?;
            Ok((transfer, self.control.reply()?))
        });
        match answers {
            Ok((transfer, abort)) => Error::Failed(format!(
                "{}: cancelled after {moved} bytes; the server answered {} and {}",
                netlab_common::term::sanitize(line),
                transfer.code,
                abort.code
            )),
            Err(err) => err,
        }
    }

    /// Passive: get a port and connect now. Active: listen and announce it with PORT/EPRT.
    fn prepare_data(&mut self) -> Result<Pending> {
        let server_ip = self.control.peer().ip();
        if self.passive {
            let port = self.passive_port()?;
            let addr = SocketAddr::new(server_ip, port);
            self.trace_data(&format!("data: connecting to {addr} (passive mode)"));
            let stream = data::connect(addr, DATA_TIMEOUT)
                .map_err(|err| Error::connecting(addr.to_string(), err))?;
            return Ok(Pending::Connected(stream));
        }
        let listener = net::listen(SocketAddr::new(self.control.local().ip(), 0))?;
        let addr = listener.local_addr().map_err(Error::from)?;
        let line = match addr {
            SocketAddr::V4(v4) => format!("PORT {}", hostport::format_port(v4)),
            SocketAddr::V6(_) => format!("EPRT {}", hostport::format_eprt(addr)),
        };
        self.trace_data(&format!("data: listening on {addr} (active mode)"));
        self.expect_success(&line)?;
        Ok(Pending::Listening(listener))
    }

    fn passive_port(&mut self) -> Result<u16> {
        if !self.no_epsv {
            let reply = self.control.command("EPSV")?;
            if reply.code == 229 {
                return hostport::parse_epsv_reply(&reply.text()).map_err(Error::Protocol);
            }
            self.no_epsv = true; // an old server: PASV from now on
        }
        let reply = self.expect_success("PASV")?;
        let announced = hostport::parse_pasv_reply(&reply.text()).map_err(Error::Protocol)?;
        Ok(announced.port())
    }

    /// Sends the transfer command and, once the server agreed (1yz), has the data connection
    /// (after `PROT P`, with its TLS handshake done).
    fn start_transfer(&mut self, line: &str, pending: Pending) -> Result<DataChannel> {
        let reply = self.control.command(line)?;
        if !reply.is_preliminary() {
            return Err(refused(line, &reply));
        }
        let stream = match pending {
            Pending::Connected(stream) => stream,
            Pending::Listening(listener) => {
                let server_ip = self.control.peer().ip();
                let tracer = self.control.tracer();
                let peer = self.control.peer();
                let (stream, from) =
                    data::accept_from(&listener, server_ip, DATA_TIMEOUT, |intruder| {
                        tracer.event(peer, &format!("data: refused {intruder}: not the server"));
                    })
                    .map_err(|err| Error::io("waiting for the server's data connection", err))?;
                self.trace_data(&format!("data: accepted connection from {from}"));
                stream
            }
        };
        // Waits are cut into slices, so a stalled transfer can still be cancelled; the copy
        // loop counts DATA_TIMEOUT across them (module docs: Cancelling a transfer).
        let _ = stream.set_read_timeout(Some(DATA_SLICE));
        let _ = stream.set_write_timeout(Some(DATA_SLICE));
        self.protect_data(stream)
    }

    /// With `PROT P`: the TLS handshake on a new data connection, we the TLS client whoever
    /// connected (RFC 4217 §7). The configuration remembers the control connection's session,
    /// so a server that allows it resumes it (an abbreviated handshake).
    fn protect_data(&self, stream: TcpStream) -> Result<DataChannel> {
        let Some(tls) = &self.tls else {
            return Ok(Channel::Clear(stream));
        };
        let deadline = Instant::now() + DATA_TIMEOUT;
        let connection = ClientConnection::new(Arc::clone(&tls.config), tls.name.clone())
            .map_err(|err| Error::Failed(format!("TLS: {err}")))?;
        let channel = Channel::handshake(connection, stream, Some(deadline))
            .map_err(|err| Error::io("TLS handshake on the data connection", err))?;
        self.trace_data(&format!(
            "data: TLS handshake done ({})",
            channel.describe_data_handshake()
        ));
        Ok(channel)
    }

    fn finish_transfer(&mut self, line: &str) -> Result<()> {
        let reply = self.control.reply()?;
        if reply.is_success() {
            Ok(())
        } else {
            Err(refused(line, &reply))
        }
    }

    fn trace_data(&self, what: &str) {
        self.control.tracer().event(self.control.peer(), what);
    }
}

/// The end of an upload on `stream`: on a protected one, close_notify (pushed out through the
/// socket's short waits, for at most [`DATA_TIMEOUT`]), then a lingering close, so the server's
/// own close_notify (or anything else it sent) is read and not answered with a reset that
/// could destroy the end of the file on its way (`crate::tls`, [`net::close_gracefully`]).
fn end_upload(stream: &mut DataChannel) -> io::Result<()> {
    if !stream.is_protected() {
        return Ok(());
    }
    stream.send_close_notify();
    let stall = Stall::new();
    loop {
        match stream.flush() {
            Ok(()) => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if is_slice_over(&err) => stall.check()?,
            Err(err) => return Err(err),
        }
    }
    net::close_gracefully(stream.tcp());
    Ok(())
}

/// The error for a failed TLS handshake. A certificate we were not told to trust is the user's
/// to settle, with one of three flags: [`Error::Usage`] (exit status 2) naming them.
fn handshake_error(place: &str, trust: &Trust, err: io::Error) -> Error {
    // `Pinned` (crate::tls) reports a wrong fingerprint as a General error in its own words.
    let why = match err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::General(words)) => words.clone(),
        Some(refused @ rustls::Error::InvalidCertificate(_)) => refused.to_string(),
        _ => return Error::io(format!("TLS handshake {place}"), err),
    };
    let advice = match trust {
        // Nothing trusted yet: say how to trust a certificate, the unchecked way last.
        Trust::Nothing => "no certificate is trusted unless you say which: \
             --tls-ca FILE (a CA certificate, e.g. from `ftp-lab serve --tls-cert-out FILE`), \
             --tls-fingerprint SHA256 (the line `ftp-lab serve` prints), or --insecure (no check)"
            .to_string(),
        // A certificate was named and this is not it: another server, or someone in the
        // middle. Offering --insecure here would teach the wrong reflex.
        _ => "it is not the one you said to trust. This may be another server, or someone in \
             the middle pretending to be it: compare with the fingerprint line the server \
             printed when it started (`TLS certificate SHA-256 ...`) before you trust anything"
            .to_string(),
    };
    Error::Usage(format!(
        "TLS handshake {place}: the server's certificate was refused ({why}); {advice}"
    ))
}

/// Copies until end of input in reads of at most `block` bytes (at least 1: an empty buffer
/// would read 0 bytes, which means end of input), reporting the running total to `progress`,
/// and stopping early when `cancel` is requested.
///
/// One side is a data socket whose waits end after a [`DATA_SLICE`]: a wait that ends with
/// nothing moved is a chance to look at `cancel`, and only [`DATA_TIMEOUT`] without a byte
/// moved is a failure. That is why the writes are our own loop and not `write_all`, which
/// would give up at the first slice and not say how much it had written.
fn copy_counting(
    source: &mut dyn Read,
    sink: &mut dyn Write,
    block: usize,
    progress: &mut dyn FnMut(u64),
    cancel: &Cancel,
) -> io::Result<Copied> {
    let mut buffer = vec![0u8; block.max(1)];
    let mut total = 0u64;
    let mut stall = Stall::new();
    loop {
        if cancel.is_requested() {
            return Ok(Copied::Cancelled(total));
        }
        let got = match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) if is_slice_over(&err) => {
                stall.check()?;
                continue;
            }
            Err(err) => return Err(err),
        };
        stall.moved();
        let mut rest = buffer.get(..got).unwrap_or_default();
        while !rest.is_empty() {
            match sink.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(wrote) => {
                    rest = rest.get(wrote..).unwrap_or_default();
                    stall.moved();
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if is_slice_over(&err) => {
                    if cancel.is_requested() {
                        total += (got - rest.len()) as u64;
                        return Ok(Copied::Cancelled(total));
                    }
                    stall.check()?;
                }
                Err(err) => return Err(err),
            }
        }
        total += got as u64;
        progress(total);
    }
    sink.flush()?;
    Ok(Copied::Whole(total))
}

/// The error for a failed copy; a stall reports the whole [`DATA_TIMEOUT`] it lasted.
fn data_error(what: &str, err: io::Error) -> Error {
    match Error::io(what, err) {
        Error::Timeout { what, .. } => Error::Timeout {
            what,
            after: DATA_TIMEOUT,
        },
        other => other,
    }
}

/// A socket wait that ended at its timeout ([`DATA_SLICE`]): `WouldBlock` on Unix, `TimedOut`
/// on Windows.
fn is_slice_over(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How long the data connection has moved nothing, against [`DATA_TIMEOUT`].
struct Stall {
    last_moved: Instant,
}

impl Stall {
    fn new() -> Self {
        Self {
            last_moved: Instant::now(),
        }
    }

    fn moved(&mut self) {
        self.last_moved = Instant::now();
    }

    /// After a slice with nothing moved: an error once [`DATA_TIMEOUT`] has passed so.
    fn check(&self) -> io::Result<()> {
        if self.last_moved.elapsed() >= DATA_TIMEOUT {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no byte moved for {} s on the data connection",
                    DATA_TIMEOUT.as_secs()
                ),
            ))
        } else {
            Ok(())
        }
    }
}

/// The error for a command the server refused, quoting its reply. A refusal (`550` for a
/// missing file, `530` for a wrong password) is the server following the protocol, so this is
/// [`Error::Failed`], worded as what happened, not a protocol error.
pub fn refused(what: &str, reply: &Reply) -> Error {
    let what = if what
        .get(..5)
        .is_some_and(|verb| verb.eq_ignore_ascii_case("PASS "))
    {
        "PASS ****"
    } else {
        what
    };
    Error::Failed(format!(
        "{}: the server replied {}",
        netlab_common::term::sanitize(what),
        netlab_common::term::sanitize(&reply.to_string())
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;

    /// A data socket that delivers `first` bytes and then only ends of slices (`WouldBlock`),
    /// the way a stalled connection with a read timeout does; at its `cancel_at`-th empty
    /// slice it asks `cancel` to stop, as the keyboard thread would meanwhile.
    struct Stalled {
        first: usize,
        empty_slices: usize,
        cancel_at: usize,
        cancel: Cancel,
    }

    impl Read for Stalled {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.first > 0 {
                let got = self.first.min(buffer.len());
                self.first -= got;
                return Ok(got);
            }
            self.empty_slices += 1;
            if self.empty_slices == self.cancel_at {
                self.cancel.request();
            }
            Err(io::ErrorKind::WouldBlock.into())
        }
    }

    /// A slice that ends with nothing moved is not a failure: the copy looks at its cancel
    /// request and waits again, so a stalled transfer still stops when asked.
    #[test]
    fn stalled_copy_stops_when_cancelled() {
        let cancel = Cancel::default();
        let mut source = Stalled {
            first: 1000,
            empty_slices: 0,
            cancel_at: 3,
            cancel: cancel.clone(),
        };
        let mut sink = Vec::new();
        let copied = copy_counting(&mut source, &mut sink, 4096, &mut |_| {}, &cancel).unwrap();
        assert!(matches!(copied, Copied::Cancelled(1000)));
        assert_eq!(source.empty_slices, 3);
        assert_eq!(sink.len(), 1000);
    }

    /// A server that logs in anyone, answers `RETR` with `150`, sends `sent_first` bytes on
    /// the data connection and then nothing: a stalled transfer. It reports every command it
    /// reads, and whether the data connection was still open when `ABOR` came.
    fn stalling_server(sent_first: usize) -> (SocketAddr, mpsc::Receiver<String>) {
        let control = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = control.local_addr().unwrap();
        let (heard, commands) = mpsc::channel();
        std::thread::spawn(move || {
            let (stream, _) = control.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut say = |line: &str| writer.write_all(format!("{line}\r\n").as_bytes());
            say("220 ready").unwrap();
            let data_listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let data_port = data_listener.local_addr().unwrap().port();
            let mut data = None;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let command = line.trim_end().to_string();
                line.clear();
                let verb = command.split(' ').next().unwrap_or_default().to_string();
                let reply = match verb.as_str() {
                    "USER" => "230 in".to_string(),
                    "EPSV" => format!("229 Entering Extended Passive Mode (|||{data_port}|)"),
                    "RETR" => {
                        say("150 here it comes").unwrap();
                        let (mut stream, _) = data_listener.accept().unwrap();
                        stream.write_all(&vec![7u8; sent_first]).unwrap();
                        data = Some(stream);
                        continue;
                    }
                    "ABOR" => {
                        // Is the data connection still open, as RFC 959 4.1.3 wants it?
                        let stream = data.take().unwrap();
                        stream.set_nonblocking(true).unwrap();
                        let open = matches!(
                            (&stream).read(&mut [0u8; 1]),
                            Err(err) if err.kind() == io::ErrorKind::WouldBlock
                        );
                        heard.send(format!("ABOR, data open: {open}")).unwrap();
                        drop(stream);
                        say("426 aborted").unwrap();
                        "226 ABOR done".to_string()
                    }
                    _ => "200 ok".to_string(),
                };
                heard.send(command).unwrap();
                say(&reply).unwrap();
            }
        });
        (addr, commands)
    }

    /// A cancel request stops a download whose data connection has gone quiet: `ABOR` goes
    /// out while the data connection is still open, both replies are read, and the client can
    /// go on with the next command.
    #[test]
    fn cancel_stops_a_stalled_download_with_abor() {
        let (addr, heard) = stalling_server(1000);
        let mut client = FtpClient::connect(&addr.to_string(), Tracer::new(false)).unwrap();
        client.login("alice", "pw").unwrap();
        let cancel = client.cancel_handle();
        let (got_some, first_bytes) = mpsc::channel();
        let mut sink = Vec::new();
        let worker = std::thread::spawn(move || {
            let result = client.retrieve("big.bin", 0, &mut sink, &mut |total| {
                let _ = got_some.send(total);
            });
            (client, result, sink)
        });
        assert_eq!(
            first_bytes.recv_timeout(Duration::from_secs(10)).unwrap(),
            1000
        );
        let asked = Instant::now();
        cancel.request();
        let (mut client, result, sink) = worker.join().unwrap();
        let took = asked.elapsed();
        assert!(took < Duration::from_secs(1), "stopping took {took:?}");
        let err = result.unwrap_err();
        assert!(
            err.to_string().contains(
                "RETR big.bin: cancelled after 1000 bytes; the server answered 426 and 226"
            ),
            "{err}"
        );
        assert_eq!(sink.len(), 1000);
        let commands: Vec<String> = heard.try_iter().collect();
        assert!(
            commands.contains(&"ABOR, data open: true".to_string()),
            "{commands:?}"
        );
        assert!(!cancel.is_requested(), "the request outlived its transfer");
        client.expect_success("NOOP").unwrap();
    }
}
