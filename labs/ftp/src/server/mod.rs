//! # The FTP server: its Config, the accept loop, a thread per control connection
//!
//! ## Why a thread per connection
//! An FTP session is long and mostly idle (a person typing `ls`, `cd`, `get`), and each transfer
//! is a blocking pipeline: wait for the data connection, stream a file, close, reply. Written as
//! ordinary blocking code in its own thread, a session reads top to bottom in the order of the
//! RFC's dialogues, and a slow disk or a slow client stalls only its own thread. The cost is a
//! thread per client (a stack, mostly untouched, and a context switch per wake-up), which is
//! fine for the tens or hundreds of clients an FTP server has, unlike the many thousands of
//! idle connections a chat server may hold (compare the echo lab's mio engine).
//!
//! The main thread only accepts and starts a thread per connection (bounded, and surviving the
//! operating system refusing a thread: see `netlab_common::accept`). The thread first checks the
//! limits (`--max-clients`, `--max-per-ip`) and, if one is hit, refuses with `421` in a
//! non-blocking write and ends at once; otherwise it runs the session. Sessions share three
//! things, behind an `Arc` ([`Shared`]): the configuration, the accounts, and the failed-login
//! table (a `Mutex`, locked only to count).
//!
//! ## Layout
//! - [`connection`]: the control connection's loop; runs transfers on data connections.
//! - [`session`]: the per-client state machine (login, current directory, REST, RNFR); no I/O.
//! - [`commands`]: the file-system commands.
//! - [`listings`]: LIST, NLST, MLSD, MLST and STAT listings.
//! - [`transfer`]: zero-copy downloads, all-or-nothing uploads.
//! - [`paths`]: virtual paths, confined to `--root`.
//! - [`protection`]: `AUTH TLS`, `PBSZ`, `PROT`, `CCC`: explicit FTPS (RFC 4217).
//! - [`accounts`]: logins, constant-time password checks, slowing down guessing.
//! - [`limits`]: how many clients, and how many per address.

pub mod accounts;
pub mod commands;
pub mod connection;
pub mod limits;
pub mod listings;
pub mod paths;
pub mod protection;
pub mod session;
pub mod transfer;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use netlab_common::accept::{self, ClientThreads};
use netlab_common::{Error, Result, Tracer, net, term};

use accounts::{Accounts, LoginGuard};
use limits::{Admissions, Refusal};
use paths::Root;

use crate::reply::Reply;
use crate::tls::{Identity, TlsFiles};

/// What `ftp-lab serve` was asked (built by `cli.rs` from the flags).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen (`--bind`, `--port`).
    pub addr: SocketAddr,
    /// The directory served as `/`.
    pub root: PathBuf,
    /// Who may log in.
    pub accounts: Accounts,
    /// Most control connections at once.
    pub max_clients: usize,
    /// Most control connections from one IP address.
    pub max_per_ip: usize,
    /// Ports for passive data connections; any free port when `None`.
    pub pasv_ports: Option<RangeInclusive<u16>>,
    /// `--idle-timeout`: a control connection silent this long (or whose replies go unread this
    /// long) is closed; `None` for never.
    pub idle_timeout: Option<Duration>,
    /// How long to wait for a data connection, and how long a transfer may move no byte.
    pub data_timeout: Duration,
    /// `--trace`: print the control dialogue and data connection events.
    pub tracer: Tracer,
    /// `--stop-on-stdin-eof`: exit when standard input ends (see [`exit_when_stdin_ends`]).
    pub stop_on_stdin_eof: bool,
    /// `--tls-cert`, `--tls-key`, `--tls-cert-out`: the certificate for `AUTH TLS`.
    pub tls: TlsFiles,
    /// `--require-tls`: no `USER`/`PASS` on a clear control connection.
    pub require_tls: bool,
}

/// What every session thread shares.
#[derive(Debug)]
pub struct Shared {
    /// The served directory.
    pub root: Root,
    /// Who may log in.
    pub accounts: Accounts,
    /// Failed logins per address.
    pub login_guard: Mutex<LoginGuard>,
    /// Ports for passive data connections.
    pub pasv_ports: Option<RangeInclusive<u16>>,
    /// Control connection idle timeout; `None` for never.
    pub idle_timeout: Option<Duration>,
    /// Data connection timeout.
    pub data_timeout: Duration,
    /// `--trace` output.
    pub tracer: Tracer,
    /// The certificate and TLS settings every `AUTH TLS` and `PROT P` connection uses.
    pub tls: Identity,
    /// `--require-tls`.
    pub require_tls: bool,
}

impl Shared {
    /// The shared state for `config`; fails if the root is not a directory or the TLS
    /// certificate cannot be read or made.
    pub fn new(config: &ServeConfig) -> Result<Shared> {
        let root = Root::open(&config.root).map_err(|err| {
            Error::io(
                format!("opening the served directory {}", config.root.display()),
                err,
            )
        })?;
        Ok(Shared {
            root,
            accounts: config.accounts.clone(),
            login_guard: Mutex::new(LoginGuard::new()),
            pasv_ports: config.pasv_ports.clone(),
            idle_timeout: config.idle_timeout,
            data_timeout: config.data_timeout,
            tracer: config.tracer,
            tls: Identity::new(&config.tls, config.addr.ip())?,
            require_tls: config.require_tls,
        })
    }
}

/// Binds `config.addr`, announces `listening on ADDR`, and serves until Ctrl-C (or, with
/// `stop_on_stdin_eof`, until standard input ends).
pub fn run(config: ServeConfig) -> Result<()> {
    let shared = Arc::new(Shared::new(&config)?);
    if config.stop_on_stdin_eof {
        exit_when_stdin_ends()?;
    }
    let net::Listening { listener, stop, .. } = net::start_server(config.addr)?;
    term::info(format!(
        "serving {} as /; anonymous {}, {} named account(s); max {} clients, {} per address",
        shared.root.real().display(),
        if config.accounts.anonymous {
            "read-only"
        } else {
            "off"
        },
        config.accounts.named_count(),
        config.max_clients,
        config.max_per_ip
    ));
    announce_tls(&config, &shared.tls);
    serve(
        listener,
        shared,
        Admissions::new(config.max_clients, config.max_per_ip),
        &stop,
    );
    term::info("stopped (Ctrl-C)");
    Ok(())
}

/// Says where the TLS certificate comes from and prints its SHA-256 fingerprint in one line a
/// person can compare with what a client shows (`ftp-lab connect --tls-fingerprint`, a browser).
fn announce_tls(config: &ServeConfig, identity: &Identity) {
    let origin = match &config.tls.cert_and_key {
        Some((cert, _)) => format!("from {}", cert.display()),
        None => "made at start, signed by a throwaway CA".to_string(),
    };
    let required = if config.require_tls {
        "; logins and files only over TLS (--require-tls: AUTH TLS before USER, PROT P before transfers)"
    } else {
        ""
    };
    term::info(format!(
        "AUTH TLS available, certificate {origin}{required}"
    ));
    if let Some(out) = &config.tls.cert_out {
        term::info(format!(
            "clients can trust {} (curl --cacert, ftp-lab --tls-ca)",
            out.display()
        ));
    }
    term::info(format!("TLS certificate SHA-256 {}", identity.fingerprint));
}

/// `--stop-on-stdin-eof`: a thread waits for the end of standard input, then ends the process.
/// When the parent that holds the other end of the pipe exits, for any reason (`kill -9`
/// included, which no handler can catch), the kernel closes its end and the read returns end
/// of file: the server cannot outlive the program that started it (`ftp-lab bench`).
pub fn exit_when_stdin_ends() -> Result<()> {
    accept::spawn_named("ftp-stdin-watch", || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        term::info("standard input closed: stopping (--stop-on-stdin-eof)");
        std::process::exit(0);
    })
    .map(drop)
}

/// Accepts control connections until `stop` is requested, one thread each.
pub fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    admissions: Arc<Admissions>,
    stop: &net::StopSignal,
) {
    let threads = ClientThreads::for_clients("ftp-session", admissions.max_clients());
    accept::serve_each(
        &listener,
        Some(stop),
        &threads,
        move |stream, peer| match admissions.admit(peer.ip()) {
            Ok(slot) => connection::serve(stream, peer, Arc::clone(&shared), slot),
            Err(refusal) => refuse(&stream, peer, refusal),
        },
        |stream, _peer, why| {
            let reply = Reply::new(421, format!("Server busy ({why}); try again later"));
            accept::write_refusal(stream, reply.to_wire().as_bytes());
        },
    );
}

/// Sends the `421` and closes, without waiting: a fresh socket's send buffer has room for one
/// line, so a non-blocking write either succeeds at once or is skipped, and the thread ends.
fn refuse(stream: &TcpStream, peer: SocketAddr, refusal: Refusal) {
    let reply = refusal.reply();
    term::warn(format!("refused {peer}: {}", reply.text()));
    if stream.set_nonblocking(true).is_ok() {
        let _ = (&*stream).write_all(reply.to_wire().as_bytes());
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
