//! # One control connection, from greeting to goodbye
//!
//! This is the part of the server that touches sockets. It reads command lines (bounded, see
//! `crate::command`), asks the [`Session`] what to do, and does it: sends replies, opens the
//! passive listener or remembers the active address, and runs transfers on a data connection.
//!
//! A transfer is a little protocol of its own on the control connection (RFC 959, 5.4):
//!
//! ```text
//!   client: RETR notes.txt
//!   server: 150 Opening BINARY mode data connection for /notes.txt (1234 bytes).
//!           ... the data connection opens, the bytes flow, it closes ...
//!   server: 226 Transfer complete.
//! ```
//!
//! The `150` comes first so the client knows to expect data; the `226` (or `425` could not
//! connect, `426` connection lost, `451`/`452` disk trouble) tells whether the bytes that came
//! were the whole file. Every failure ends with a reply and the session goes on.
//!
//! Both channels have idle timeouts: `--idle-timeout` on the control connection (a client that
//! says nothing is closed with `421`, and one that reads none of our replies for that long is
//! dropped: without a write timeout, a client that sends commands and never reads the replies
//! would block its thread forever once the socket buffers are full), `--data-timeout` for a
//! data connection to arrive and for how long a transfer may go without moving a byte. During
//! a transfer the control connection is watched for `ABOR` even while the data socket is
//! blocked (`server::transfer`).
//!
//! ## ABOR sent as urgent data
//! RFC 959 (4.1.3) asks a client to abort with the Telnet "Interrupt Process" and "Synch"
//! signals, the Synch being sent as TCP *urgent data*, then `ABOR`. Python's ftplib skips the
//! Telnet part and sends `ABOR\r\n` itself with `MSG_OOB` (its `abort()` docstring says so),
//! as some other clients do. Urgent data (RFC 9293, 3.8.5) marks a position in the stream, and
//! the byte there, here the final `\n`, is by default *taken out of the stream* by BSD-derived
//! stacks, Linux included, to be read separately with `MSG_OOB`. The server would then read
//! `ABOR\r` without its line end, run it together with the next command (`ABOR\rNOOP`: `500`),
//! and stay one reply out of step. RFC 9293 §3.8.5 says new applications should not use urgent data,
//! and RFC 6093 §6 requires receiving it inline, so the control socket gets `SO_OOBINLINE`, as
//! vsftpd's does: the urgent byte stays where it was sent, and `ABOR\r\n` is an ordinary line.
//!
//! ## Under TLS (`AUTH TLS`, RFC 4217)
//! After `234` the same connection carries TLS records ([`Channel`], `crate::tls`): the command
//! loop reads and writes through the TLS session and nothing else changes, except two things.
//! Bytes the client sent in the clear after `AUTH TLS` are thrown away (`start_tls`). And the
//! `ABOR` watcher can no longer *peek*: a TLS record must be read whole and decrypted before
//! its text shows, so on a protected connection it *reads*, and keeps what it decrypted for the
//! command loop (`control_state`). With `PROT P` each data connection gets its own TLS
//! handshake, the server in the TLS server role whoever connected (RFC 4217 §7).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netlab_common::progress::{human_bytes, human_rate};
use netlab_common::trace_json::{EventKind, TraceEvent};
use netlab_common::{Error, Result, net, term};
use rustls::{ServerConnection, StreamOwned};

use super::Shared;
use super::commands::io_reply;
use super::limits::Admitted;
use super::session::{Session, Step, Transfer, TransferKind};
use super::transfer::{
    self, ControlState, DataChannel, Prepared, TransferError, Upload, Watcher, prepare, verb_of,
};
use crate::command::{Command, CommandError, LineBuffer, LineEvent, MAX_COMMAND_LINE};
use crate::data;
use crate::hostport;
use crate::reply::Reply;
use crate::tls::Channel;

/// The control connection: clear, or protected after `AUTH TLS` (`crate::tls`).
type ControlChannel = Channel<ServerConnection>;

/// How the next transfer's data connection will be opened.
#[derive(Debug)]
enum DataPlan {
    /// PASV/EPSV: we listen; the client connects.
    Passive(TcpListener),
    /// PORT/EPRT: we connect to the client.
    Active(SocketAddr),
}

impl DataPlan {
    /// Which end makes the connection, for `--trace-json`'s `open` event: a ladder diagram
    /// shows the open as a mark on the server's lifeline either way, so the words must say it.
    fn opened_by(&self) -> &'static str {
        match self {
            DataPlan::Passive(_) => "the client connected (passive mode)",
            DataPlan::Active(_) => "the server connected (active mode)",
        }
    }
}

/// What reading the control connection gave.
enum Input {
    Event(LineEvent),
    Closed,
    IdleTimeout,
}

/// Serves one control connection until it ends; logs how it ended. `_slot` frees the client's
/// place in the limits when this returns.
pub fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, _slot: Admitted) {
    term::info(format!("{peer}: connected"));
    let result = Connection::new(stream, peer, shared).and_then(|mut connection| connection.run());
    match result {
        Ok(how) => term::info(format!("{peer}: disconnected ({how})")),
        Err(err) if err.is_disconnect() => term::info(format!("{peer}: vanished ({err})")),
        Err(err) => term::warn(format!("{peer}: dropped: {err}")),
    }
}

struct Connection {
    /// The control connection: clear until `AUTH TLS`, then protected.
    control: ControlChannel,
    peer: SocketAddr,
    lines: LineBuffer,
    session: Session,
    data: Option<DataPlan>,
    shared: Arc<Shared>,
}

impl Connection {
    fn new(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) -> Result<Connection> {
        let local = stream
            .local_addr()
            .map_err(|err| Error::io("reading the local address", err))?;
        // `None` (`--idle-timeout 0`) is no timeout: a silent client, or one that reads none of
        // our replies, then keeps its thread for as long as its connection stays open.
        stream
            .set_read_timeout(shared.idle_timeout)
            .and_then(|()| stream.set_write_timeout(shared.idle_timeout))
            .map_err(|err| Error::io("setting the idle timeout", err))?;
        // Replies are small and answered one by one: do not let Nagle's algorithm hold them.
        let _ = stream.set_nodelay(true);
        // Urgent data stays in the byte stream (module docs: ABOR sent as urgent data).
        if let Err(err) = socket2::SockRef::from(&stream).set_out_of_band_inline(true) {
            term::warn(format!("{peer}: cannot set SO_OOBINLINE: {err}"));
        }
        Ok(Connection {
            control: Channel::Clear(stream),
            peer,
            lines: LineBuffer::new(MAX_COMMAND_LINE),
            session: Session::new(Arc::clone(&shared), peer, local),
            data: None,
            shared,
        })
    }

    fn run(&mut self) -> Result<&'static str> {
        self.send(&Session::greeting())?;
        loop {
            let line = match self.next_input()? {
                Input::Event(LineEvent::Line(line)) => line,
                Input::Event(LineEvent::TooLong { length }) => {
                    term::warn(format!(
                        "{}: command line of {length} bytes refused",
                        self.peer
                    ));
                    self.send(&Reply::new(
                        500,
                        format!("Command line too long ({length} bytes; the limit is {MAX_COMMAND_LINE})."),
                    ))?;
                    continue;
                }
                Input::Event(LineEvent::Endless) => {
                    term::warn(format!(
                        "{}: a megabyte without a newline; closing",
                        self.peer
                    ));
                    return self.close_with(
                        Reply::new(421, "No end of line in a megabyte of input; closing."),
                        "sent a line without end",
                    );
                }
                Input::Closed => return Ok("closed by the client"),
                Input::IdleTimeout => {
                    term::info(format!("{}: idle timeout", self.peer));
                    return self.close_with(
                        Reply::new(
                            421,
                            format!(
                                "Idle for {} s (--idle-timeout); closing the control connection.",
                                self.shared.idle_timeout.unwrap_or_default().as_secs()
                            ),
                        ),
                        "idle timeout",
                    );
                }
            };
            let command = match Command::parse(&line) {
                Ok(command) => command,
                Err(CommandError::Unrecognized) => {
                    self.trace_control(&format!("<- {}", term::sanitize_bytes(&line)));
                    self.record_command(&line, &term::sanitize_bytes(&line));
                    self.send(&Reply::new(500, "Syntax error, command unrecognized."))?;
                    continue;
                }
                Err(CommandError::NotUtf8) => {
                    self.send(&Reply::new(501, "Arguments must be UTF-8 (RFC 2640 §3.1)."))?;
                    continue;
                }
            };
            self.trace_control(&format!("<- {}", command.for_display()));
            self.record_command(&line, &command.for_display());
            let step = self.session.handle(&command, Instant::now());
            if let Some(how) = self.perform(step)? {
                return Ok(how);
            }
        }
    }

    /// Does what the session decided. `Some(how)` when the connection is over.
    fn perform(&mut self, step: Step) -> Result<Option<&'static str>> {
        match step {
            Step::Reply(reply) => self.send(&reply)?,
            Step::Close(reply) => {
                let how = if reply.code == 221 {
                    "said QUIT"
                } else {
                    "closed by the server"
                };
                return self.close_with(reply, how).map(Some);
            }
            Step::Wait(delay, then) => {
                std::thread::sleep(delay);
                return self.perform(*then);
            }
            Step::Passive { extended } => self.open_passive(extended)?,
            Step::Active(target) => {
                self.data = Some(DataPlan::Active(target));
                self.send(&Reply::new(
                    200,
                    format!("Active mode: I will connect to {target}."),
                ))?;
            }
            Step::Transfer(transfer) => self.transfer(transfer)?,
            // RFC 959 section 4.1.3: ABOR always ends with 226. When a transfer was running,
            // its own 426 went out first (the transfer loop saw the ABOR and stopped); when none
            // was, only a prepared data connection (PASV/PORT) is dropped. One wording fits both.
            Step::Abort => {
                self.data = None;
                self.send(&Reply::new(
                    226,
                    "ABOR done: no transfer is running and no data connection is open.",
                ))?;
            }
            Step::StartTls(reply) => {
                self.send(&reply)?;
                if let Err(err) = self.start_tls() {
                    term::warn(format!(
                        "{}: TLS handshake on the control connection failed: {err}",
                        self.peer
                    ));
                    return Ok(Some("TLS handshake failed"));
                }
            }
        }
        Ok(None)
    }

    /// After `234`: the TLS handshake on the control connection, in the server role. Bytes the
    /// client sent after `AUTH TLS` but before its handshake were sent in the clear and could
    /// have been injected by anyone on the path (the STARTTLS command injection of
    /// CVE-2011-0411): they are thrown away, never run as if protected.
    fn start_tls(&mut self) -> io::Result<()> {
        let early = self.lines.pending().len();
        if early > 0 {
            term::warn(format!(
                "{}: discarded {early} bytes sent in the clear after AUTH TLS, before the handshake",
                self.peer
            ));
            self.lines = LineBuffer::new(MAX_COMMAND_LINE);
        }
        self.trace("TLS handshake starts on the control connection (we are the TLS server)");
        let tcp = self.control.tcp().try_clone()?;
        let tls =
            ServerConnection::new(Arc::clone(&self.shared.tls.config)).map_err(io::Error::other)?;
        self.control = Channel::handshake(tls, tcp, None)?;
        self.session.control_protected();
        let agreed = self.control.describe().unwrap_or_default();
        self.trace(&format!(
            "TLS handshake done ({agreed}): the dialogue is now encrypted"
        ));
        Ok(())
    }

    fn next_input(&mut self) -> Result<Input> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(event) = self.lines.next_event() {
                return Ok(Input::Event(event));
            }
            match self.control.read(&mut chunk) {
                Ok(0) => return Ok(Input::Closed),
                Ok(got) => self.lines.push(chunk.get(..got).unwrap_or_default()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if transfer::is_timeout(&err) => return Ok(Input::IdleTimeout),
                Err(err) => return Err(Error::io("reading a command", err)),
            }
        }
    }

    fn send(&mut self, reply: &Reply) -> Result<()> {
        let wire = reply.to_wire();
        if let Some(json) = self.shared.tracer.json() {
            let first_line = wire.lines().next().unwrap_or_default();
            json.record(
                &TraceEvent::new(
                    EventKind::Send,
                    self.control.tcp().local_addr().ok(),
                    Some(self.peer),
                )
                .with_bytes(wire.len())
                .with_summary(first_line)
                .with_field("channel", "control")
                .with_field("reply", reply.code)
                .with_field("tls", self.control.is_protected()),
            );
        }
        if self.shared.tracer.enabled() {
            for line in wire.lines() {
                self.trace_control(&format!("-> {line}"));
            }
        }
        // A flush pushes out what TLS still holds (a clear TCP socket has nothing to flush).
        self.control
            .write_all(wire.as_bytes())
            .and_then(|()| self.control.flush())
            .map_err(|err| Error::io("sending a reply", err))
    }

    fn close_with(&mut self, reply: Reply, how: &'static str) -> Result<&'static str> {
        // The goodbye is best effort: the client may be gone already. Under TLS a close_notify
        // tells the client the dialogue ended here and was not cut (`crate::tls`).
        let _ = self.send(&reply);
        self.control.send_close_notify();
        let _ = self.control.flush();
        net::close_gracefully(self.control.tcp());
        Ok(how)
    }

    fn trace(&self, what: &str) {
        self.shared.tracer.event(self.peer, what);
    }

    /// Traces a command or reply, tagged `[tls]` when the control connection is protected: on
    /// the wire an eavesdropper would see only TLS records, not this text.
    fn trace_control(&self, what: &str) {
        if self.control.is_protected() {
            self.trace(&format!("[tls] {what}"));
        } else {
            self.trace(what);
        }
    }

    /// `--trace-json`: a command line arrived (`shown` with the password masked). Its bytes
    /// count the CRLF that ended it (RFC 959 section 5.3's line ending).
    fn record_command(&self, line: &[u8], shown: &str) {
        if let Some(json) = self.shared.tracer.json() {
            let (verb, argument) = shown.split_once(' ').unwrap_or((shown, ""));
            json.record(
                &TraceEvent::new(
                    EventKind::Receive,
                    self.control.tcp().local_addr().ok(),
                    Some(self.peer),
                )
                .with_bytes(line.len() + 2)
                .with_summary(shown)
                .with_field("channel", "control")
                .with_field("command", verb.to_ascii_uppercase())
                .with_field("argument", argument)
                .with_field("tls", self.control.is_protected()),
            );
        }
    }

    /// `--trace-json`: a data connection opened or closed, or its whole transfer (one event
    /// for all its bytes: the ladder shows the transfer, not each block).
    fn record_data(
        &self,
        kind: EventKind,
        (local, peer): (Option<SocketAddr>, Option<SocketAddr>),
        bytes: Option<u64>,
        shown: &str,
    ) {
        if let Some(json) = self.shared.tracer.json() {
            let mut event = TraceEvent::new(kind, local, peer)
                .with_summary(format!("data connection: {shown}"))
                .with_field("channel", "data")
                .with_field("tls", self.session.data_protected());
            if kind == EventKind::Close {
                event = event.with_direction(netlab_common::Direction::Sent);
            }
            if let Some(bytes) = bytes {
                event = event
                    .with_bytes(usize::try_from(bytes).unwrap_or(usize::MAX))
                    .with_summary(format!("data: {bytes} bytes of {shown}"));
            }
            json.record(&event);
        }
    }

    fn open_passive(&mut self, extended: bool) -> Result<()> {
        self.data = None; // a listener from an earlier PASV is closed
        let ip = self.control.tcp().local_addr().map_err(Error::from)?.ip();
        let listener = match data::listen_passive(ip, self.shared.pasv_ports.as_ref()) {
            Ok(listener) => listener,
            Err(err) => {
                term::warn(format!("{}: no passive port: {err}", self.peer));
                return self.send(&Reply::new(
                    425,
                    format!("Cannot open a passive port: {err}."),
                ));
            }
        };
        let addr = listener.local_addr().map_err(Error::from)?;
        self.trace(&format!(
            "data: listening on {addr} for one connection from {}",
            self.peer.ip()
        ));
        let reply = match (extended, addr.ip().to_canonical()) {
            (false, std::net::IpAddr::V4(ip)) => Reply::new(
                227,
                format!(
                    "Entering Passive Mode ({}).",
                    hostport::format_port(std::net::SocketAddrV4::new(ip, addr.port()))
                ),
            ),
            _ => Reply::new(
                229,
                format!("Entering Extended Passive Mode (|||{}|).", addr.port()),
            ),
        };
        self.data = Some(DataPlan::Passive(listener));
        self.send(&reply)
    }

    /// Runs one transfer: prepare, `150`, open the data connection, move bytes, final reply.
    fn transfer(&mut self, transfer: Transfer) -> Result<()> {
        let Some(plan) = self.data.take() else {
            return self.send(&Reply::new(425, "Use PORT, EPRT, PASV or EPSV first."));
        };
        let shown = transfer.shown.clone();
        let prepared = match prepare(&transfer, &self.shared) {
            Ok(prepared) => prepared,
            Err(refusal) => return self.send(&refusal),
        };
        self.send(&Reply::new(150, prepared.announcement(&shown)))?;
        let opened_by = plan.opened_by();
        let mut data_stream = match self.open_data(plan).and_then(|tcp| self.protect_data(tcp)) {
            Ok(stream) => stream,
            Err(reply) => return self.send(&reply),
        };
        let started = Instant::now();
        let data_ends = (
            data_stream.tcp().local_addr().ok(),
            data_stream.tcp().peer_addr().ok(),
        );
        self.record_data(
            EventKind::Open,
            data_ends,
            None,
            &format!("{shown}, {opened_by}"),
        );
        let outcome = self.move_bytes(prepared, &mut data_stream);
        drop(data_stream); // the close marks the end of the file for the client
        let moved = outcome.as_ref().ok().map(|(bytes, _)| *bytes);
        let way = if matches!(transfer.kind, TransferKind::Receive { .. }) {
            EventKind::Receive
        } else {
            EventKind::Send
        };
        self.record_data(way, data_ends, moved, &shown);
        self.record_data(EventKind::Close, data_ends, None, &shown);
        self.finish_transfer(&transfer, &shown, outcome, started)
    }

    /// With `PROT P`, the TLS handshake on a new data connection, in the server role whoever
    /// connected (RFC 4217 §7). A client may resume the control connection's TLS session.
    fn protect_data(&self, tcp: TcpStream) -> std::result::Result<DataChannel, Reply> {
        if !self.session.data_protected() {
            return Ok(Channel::Clear(tcp));
        }
        let deadline = Instant::now() + self.shared.data_timeout;
        let handshake = ServerConnection::new(Arc::clone(&self.shared.tls.data_config))
            .map_err(io::Error::other)
            .and_then(|tls| Channel::handshake(tls, tcp, Some(deadline)));
        match handshake {
            Ok(channel) => {
                self.trace(&format!(
                    "data: TLS handshake done ({})",
                    channel.describe_data_handshake()
                ));
                Ok(channel)
            }
            Err(err) => {
                term::warn(format!(
                    "{}: TLS handshake on the data connection failed: {err}",
                    self.peer
                ));
                Err(Reply::new(
                    425,
                    format!(
                        "TLS handshake on the data connection failed ({err}); PROT P needs TLS there."
                    ),
                ))
            }
        }
    }

    fn open_data(&mut self, plan: DataPlan) -> std::result::Result<TcpStream, Reply> {
        let timeout = self.shared.data_timeout;
        let peer = self.peer;
        let opened = match plan {
            DataPlan::Passive(listener) => match self.accept_watched(&listener, timeout) {
                Ok(Some((stream, from))) => {
                    self.trace(&format!("data: accepted connection from {from}"));
                    Ok(stream)
                }
                Ok(None) => {
                    term::warn(format!(
                        "{peer}: ABOR (or the client left) while waiting for the data connection"
                    ));
                    return Err(Reply::new(426, "Transfer aborted."));
                }
                Err(err) => Err(err),
            },
            DataPlan::Active(target) => {
                self.trace(&format!("data: connecting to {target} (active mode)"));
                data::connect(target, timeout)
            }
        };
        let stream = opened.map_err(|err| {
            term::warn(format!("{peer}: data connection failed: {err}"));
            if transfer::is_timeout(&err) {
                Reply::new(
                    425,
                    format!(
                        "No data connection within {} s (--data-timeout); transfer cancelled.",
                        timeout.as_secs()
                    ),
                )
            } else {
                Reply::new(425, format!("Cannot open the data connection: {err}."))
            }
        })?;
        // Short waits, with a look at the control connection between them (`server::transfer`);
        // `--data-timeout` is enforced by the transfer's `Watcher`.
        let _ = stream.set_read_timeout(Some(transfer::DATA_WAIT_SLICE));
        let _ = stream.set_write_timeout(Some(transfer::DATA_WAIT_SLICE));
        Ok(stream)
    }

    /// Waits up to `timeout` for the client's passive data connection, one
    /// [`transfer::DATA_WAIT_SLICE`] at a time, looking at the control connection in between:
    /// `None` if the client sent `ABOR` or left while we waited.
    fn accept_watched(
        &mut self,
        listener: &TcpListener,
        timeout: Duration,
    ) -> io::Result<Option<(TcpStream, SocketAddr)>> {
        let peer = self.peer;
        let mut rejected = |intruder: SocketAddr| {
            term::warn(format!(
                "{peer}: refused a data connection from {intruder}: not the client's address (port stealing, RFC 2577 section 8)"
            ));
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = transfer::DATA_WAIT_SLICE.min(left);
            match data::accept_from(listener, peer.ip(), slice, &mut rejected) {
                Ok(accepted) => return Ok(Some(accepted)),
                Err(err) if transfer::is_timeout(&err) && Instant::now() < deadline => {
                    let state = control_state(
                        &mut self.control,
                        &mut self.lines,
                        Duration::ZERO,
                        self.shared.idle_timeout,
                    );
                    if state != ControlState::Quiet {
                        return Ok(None);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn move_bytes(
        &mut self,
        prepared: Prepared,
        data_stream: &mut DataChannel,
    ) -> std::result::Result<(u64, Option<Upload>), TransferError> {
        let Connection {
            control,
            lines,
            shared,
            ..
        } = self;
        let idle = shared.idle_timeout;
        let mut watch = |wait| control_state(control, lines, wait, idle);
        let mut watcher = Watcher::new(&mut watch, shared.data_timeout);
        match prepared {
            Prepared::Send { file, length, .. } => {
                transfer::send_file(&file, data_stream, length, &mut watcher)
                    .map(|sent| (sent, None))
            }
            Prepared::Receive(mut upload) => {
                transfer::receive_file(data_stream, &mut upload, &mut watcher)
                    .map(|received| (received, Some(upload)))
            }
            Prepared::List(lines) => {
                // At most MAX_LISTING_ENTRIES lines, already built: one buffer, sent watched.
                let mut bytes = Vec::new();
                for line in lines {
                    bytes.extend_from_slice(line.as_bytes());
                    bytes.extend_from_slice(b"\r\n");
                }
                let sent = transfer::send_bytes(data_stream, &bytes, &mut watcher)?;
                transfer::finish_protected(data_stream, &mut watcher)?;
                Ok((sent, None))
            }
        }
    }

    fn finish_transfer(
        &mut self,
        transfer: &Transfer,
        shown: &str,
        outcome: std::result::Result<(u64, Option<Upload>), TransferError>,
        started: Instant,
    ) -> Result<()> {
        let verb = verb_of(&transfer.kind);
        let (bytes, upload) = match outcome {
            Ok(done) => done,
            Err(err) => {
                let discarded = if matches!(transfer.kind, TransferKind::Receive { .. }) {
                    "; the partial upload was discarded"
                } else {
                    ""
                };
                term::warn(format!(
                    "{}: {verb} {shown} failed: {err}{discarded}",
                    self.peer
                ));
                let gone = matches!(err, TransferError::ClientGone);
                let sent = self.send(&err.reply(shown));
                return if gone {
                    Err(Error::io(
                        "the client left during a transfer",
                        io::Error::from(io::ErrorKind::UnexpectedEof),
                    ))
                } else {
                    sent
                };
            }
        };
        if let Some(upload) = upload
            && let Err(err) = upload.commit()
        {
            term::warn(format!(
                "{}: STOR {shown}: cannot rename into place: {err}",
                self.peer
            ));
            return self.send(&io_reply(shown, &err));
        }
        let direction = if matches!(transfer.kind, TransferKind::Receive { .. }) {
            "received"
        } else {
            "sent"
        };
        self.trace(&format!(
            "data: {bytes} bytes {direction}, connection closed"
        ));
        let elapsed = started.elapsed();
        if !matches!(transfer.kind, TransferKind::List { .. }) {
            term::info(format!(
                "{}: {verb} {shown}: {} in {:.2} s ({})",
                self.peer,
                human_bytes(bytes),
                elapsed.as_secs_f64(),
                human_rate(bytes, elapsed)
            ));
        }
        self.send(&Reply::new(
            226,
            format!("Transfer complete ({bytes} bytes)."),
        ))
    }
}

/// Looks at the control connection, waiting at most `wait` (zero: not at all): has the client
/// sent `ABOR`, or gone away? `lines` holds bytes already read but not yet handled. `idle` is
/// the control connection's normal read timeout (`None`: none), restored afterwards.
///
/// A clear connection is *peeked* at: what is there stays for the command loop. TLS records
/// cannot be peeked into (a record must be read whole and decrypted to see its text), so a
/// protected one is *read*: the decrypted text goes into `lines`, where the command loop finds
/// it after the transfer, as if it had just arrived. To keep that bounded, nothing more is read
/// while `lines` already holds a command line's worth.
fn control_state(
    control: &mut ControlChannel,
    lines: &mut LineBuffer,
    wait: Duration,
    idle: Option<Duration>,
) -> ControlState {
    if has_abort(lines.pending()) {
        return ControlState::Aborted;
    }
    match control {
        Channel::Clear(tcp) => clear_control_state(tcp, lines.pending(), wait, idle),
        Channel::Protected(tls) if lines.pending().len() < MAX_COMMAND_LINE => {
            protected_control_state(tls, lines, wait, idle)
        }
        Channel::Protected(_) => ControlState::Quiet,
    }
}

/// [`control_state`] on a TLS control connection: reads what arrived (at most `wait`) through
/// the TLS session into `lines`.
fn protected_control_state(
    tls: &mut StreamOwned<ServerConnection, TcpStream>,
    lines: &mut LineBuffer,
    wait: Duration,
    idle: Option<Duration>,
) -> ControlState {
    if set_wait(&tls.sock, wait).is_err() {
        return ControlState::Gone;
    }
    let result = tls.conn.read_tls(&mut tls.sock);
    if restore_wait(&tls.sock, idle).is_err() {
        return ControlState::Gone;
    }
    match result {
        Ok(0) => return ControlState::Gone,
        Ok(_) => {}
        Err(err) if transfer::is_timeout(&err) => return ControlState::Quiet,
        Err(err) if err.kind() == io::ErrorKind::Interrupted => return ControlState::Quiet,
        Err(_) => return ControlState::Gone,
    }
    if tls.conn.process_new_packets().is_err() {
        return ControlState::Gone;
    }
    let mut text = [0u8; 4096];
    loop {
        match tls.conn.reader().read(&mut text) {
            Ok(0) => return ControlState::Gone, // close_notify: the client ended the session
            Ok(got) => lines.push(text.get(..got).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => return ControlState::Gone,
        }
    }
    if has_abort(lines.pending()) {
        ControlState::Aborted
    } else {
        ControlState::Quiet
    }
}

/// Makes the next read on `socket` wait at most `wait` (zero: not at all).
fn set_wait(socket: &TcpStream, wait: Duration) -> io::Result<()> {
    if wait.is_zero() {
        socket.set_nonblocking(true)
    } else {
        socket.set_read_timeout(Some(wait))
    }
}

/// Back to a blocking socket with the control connection's idle timeout.
fn restore_wait(socket: &TcpStream, idle: Option<Duration>) -> io::Result<()> {
    socket
        .set_nonblocking(false)
        .and_then(|()| socket.set_read_timeout(idle))
}

/// [`control_state`] on a clear control connection: peeks, so the bytes stay in the socket.
fn clear_control_state(
    control: &TcpStream,
    pending: &[u8],
    wait: Duration,
    idle: Option<Duration>,
) -> ControlState {
    if has_abort(pending) {
        return ControlState::Aborted;
    }
    if set_wait(control, wait).is_err() {
        return ControlState::Gone;
    }
    let mut peeked = [0u8; 512];
    let result = control.peek(&mut peeked);
    let restored = restore_wait(control, idle);
    match (result, restored) {
        (_, Err(_)) | (Ok(0), _) => ControlState::Gone,
        (Ok(got), _) if has_abort(peeked.get(..got).unwrap_or_default()) => ControlState::Aborted,
        (Ok(_), _) => ControlState::Quiet,
        (Err(err), _) if transfer::is_timeout(&err) => ControlState::Quiet,
        (Err(err), _) if err.kind() == io::ErrorKind::Interrupted => ControlState::Quiet,
        (Err(_), _) => ControlState::Gone,
    }
}

/// Is one of these lines an `ABOR` command?
fn has_abort(bytes: &[u8]) -> bool {
    bytes.split(|&byte| byte == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Command::parse(line).is_ok_and(|command| command.verb == "ABOR")
    })
}
