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
use std::time::Duration;

use netlab_common::{Error, Result, Tracer, net};

use crate::data;
use crate::hostport;
use crate::reply::Reply;
use control::Control;

/// How long to wait for a data connection to open.
pub const DATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes per read and write on a data connection unless [`FtpClient::set_block_size`] says
/// otherwise: large enough that a gigabyte costs a few thousand system calls, not a million.
pub const DEFAULT_BLOCK_SIZE: usize = 256 * 1024;

/// The largest block size accepted: one buffer of it is allocated per transfer.
pub const MAX_BLOCK_SIZE: usize = 64 << 20;

/// The password anonymous logins send (by tradition an e-mail address, RFC 1635).
pub const ANONYMOUS_PASSWORD: &str = "netlab@example.org";

/// A data connection on its way: connected (passive) or waiting for the server (active).
enum Pending {
    Connected(TcpStream),
    Listening(TcpListener),
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
        })
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
        let pending = self.prepare_data()?;
        let mut stream = self.start_transfer(&format!("STOR {path}"), pending)?;
        let sent = copy_counting(source, &mut stream, self.block_size, progress)
            .map_err(|err| Error::io("sending the file on the data connection", err))?;
        // Closing the data connection is how the server learns the file is complete.
        drop(stream);
        self.trace_data(&format!("data: {sent} bytes sent, connection closed"));
        self.finish_transfer(&format!("STOR {path}"))?;
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
        let received = copy_counting(&mut stream, sink, self.block_size, progress)
            .map_err(|err| Error::io("receiving on the data connection", err))?;
        self.trace_data(&format!(
            "data: {received} bytes received, connection closed"
        ));
        self.finish_transfer(line)?;
        Ok(received)
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

    /// Sends the transfer command and, once the server agreed (1yz), has the data connection.
    fn start_transfer(&mut self, line: &str, pending: Pending) -> Result<TcpStream> {
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
        let _ = stream.set_read_timeout(Some(DATA_TIMEOUT));
        let _ = stream.set_write_timeout(Some(DATA_TIMEOUT));
        Ok(stream)
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

/// Copies until end of input in reads of at most `block` bytes (at least 1: an empty buffer
/// would read 0 bytes, which means end of input), reporting the running total to `progress`.
fn copy_counting(
    source: &mut dyn Read,
    sink: &mut dyn Write,
    block: usize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let mut buffer = vec![0u8; block.max(1)];
    let mut total = 0u64;
    loop {
        let got = match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        sink.write_all(buffer.get(..got).unwrap_or_default())?;
        total += got as u64;
        progress(total);
    }
    sink.flush()?;
    Ok(total)
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
