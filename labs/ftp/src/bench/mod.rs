//! # `ftp-lab bench`: throughput against block size, every byte checked
//!
//! The bench starts an `ftp-lab serve` of its own on 127.0.0.1 (any free port) over a scratch
//! directory, writes a test file there, logs in with ftp-lab's own client, and moves the file
//! both ways for each block size: `RETR` (download) and `STOR` (upload), `--rounds` times each.
//! A row of the result is the median of those rounds.
//!
//! ## What the block size changes
//! The block size is how many bytes **our client** asks for per `read` on the data connection
//! (and then writes to the local file), or, uploading, reads from the file and hands to one
//! `write` on the socket. A file of N bytes costs about 2 x N / block system calls, so 4 KiB
//! blocks make 64 times as many calls as 256 KiB blocks for the same bytes. Each call is a trip
//! into the kernel and back; past some size the copy of the bytes costs more than the trip, and
//! bigger blocks stop helping. Where that happens is what the table shows.
//!
//! The server keeps its own sizes, whatever the flag says:
//! - **RETR**: on Linux the server hands the file to the kernel with `sendfile(2)`, 4 MiB per
//!   call, and no byte passes through its memory (`server/transfer.rs`). The block size only
//!   changes the client's reads: the receiving half of the transfer.
//! - **STOR**: the server reads 64 KiB per call (`RECEIVE_BUFFER`) and writes the bytes to a
//!   temporary file. After the data connection closes it watches the control connection for
//!   10 ms (`END_OF_UPLOAD_GRACE`) before it believes the upload is complete and answers `226`
//!   (docs/ftp.md, section 5). That wait is part of every upload a client sees, so it is in the
//!   figures: 10 ms per STOR, whatever its size.
//!
//! ## Over TLS (`--tls`)
//! With `--tls` the same transfers run over explicit FTPS (RFC 4217): the client sends
//! `AUTH TLS`, checks the server's certificate against the CA the server wrote at start (the
//! bench's own `--tls-ca`, [`server`]), logs in over TLS and sends `PBSZ 0` and `PROT P`, so
//! every data connection runs its own TLS handshake. The server runs with `--require-tls`, so
//! a transfer in the clear would be refused, not measured. What changes on the server's side:
//! - **RETR**: every byte passes through the server's memory to be encrypted, so no
//!   `sendfile(2)`: it reads the file and writes TLS records, 64 KiB at a time.
//! - **STOR**: each read returns at most one TLS record's plaintext (16 KiB, RFC 8446 §5.1),
//!   decrypted in the server's memory; the server gathers them and writes the file 64 KiB at
//!   a time, as in the clear.
//!
//! Rows say `RETR over TLS`, and JSON lines end in `"tls":true`.
//!
//! ## What a round measures, and what it does not
//! A round is timed from the client's `EPSV` to the server's `226`: opening the data connection,
//! the transfer itself, and the final reply, as a user of `ftp-lab get` would wait for it. It
//! does not include logging in (once, before the first round) or the check afterwards.
//!
//! Every transfer is then checked: the client's byte count, then the size and SHA-256 of the
//! file it produced (the downloaded copy, or the server's stored upload) against the source's.
//! A mismatch is an error and the bench stops: fast but wrong is not a result. Each copy is
//! deleted after its check, so a round that silently failed to write cannot pass on the
//! previous round's file.
//!
//! ## Layout
//! - [`server`]: the server under test, a child process.
//! - [`report`]: sizes on the command line, the table and the JSON lines.
//! - The scratch directory, the test file, fingerprints (size and SHA-256) and the clean-up on
//!   Ctrl-C are [`netlab_common::bench`], shared with `tcp-chat bench`; medians and MiB/s are
//!   [`netlab_common::stats`].

pub mod report;
pub mod server;

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netlab_common::bench::{self as files, Fingerprint, Scratch, when_interrupted};
use netlab_common::progress::transfer_bar;
use netlab_common::{Error, Result, Tracer, term};

use crate::client::FtpClient;
use crate::server::transfer::{END_OF_UPLOAD_GRACE, RECEIVE_BUFFER};
use crate::tls::Trust;
pub use report::{Direction, Measurement, TABLE_HEADER, human_size, parse_block_size};
use server::ServerChild;

/// The account the bench logs in with (the server accepts no one else: `--no-anonymous`).
const USER: &str = "bench";

/// The test file's name on the server; uploads go to [`UPLOADED`].
const SOURCE: &str = "bench.bin";

/// Where uploads are stored.
const UPLOADED: &str = "upload.bin";

/// What `ftp-lab bench` was asked.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Bytes in the test file.
    pub file_size: u64,
    /// Block sizes to measure, in order.
    pub block_sizes: Vec<usize>,
    /// Transfers per (direction, block size).
    pub rounds: usize,
    /// One JSON line per result instead of a table.
    pub json: bool,
    /// Every transfer over explicit FTPS (module docs: Over TLS).
    pub tls: bool,
}

/// Runs the bench with this very program as the server.
pub fn run(config: &BenchConfig) -> Result<()> {
    let program = std::env::current_exe()
        .map_err(|err| Error::io("finding this program to start it as the server", err))?;
    let undo = Undo::on_ctrl_c()?;
    let outcome = measure_all(&program, config, &undo);
    if outcome.is_err() && undo.interrupted() {
        // Ctrl-C killed the server under a transfer, and this error is only the consequence.
        // The handler is deleting the scratch directory and then exits with 130; returning now
        // would race it and exit with 1 (seen in 5 of 20 runs of `ctrl_c_cleans_up`).
        loop {
            std::thread::park();
        }
    }
    outcome
}

/// Starts the lab, then measures and prints every direction and block size.
fn measure_all(program: &Path, config: &BenchConfig, undo: &Undo) -> Result<()> {
    let mut lab = Lab::start(program, config.file_size, config.tls, undo)?;
    if !config.json {
        describe(&lab, config);
        print_line(TABLE_HEADER)?;
    }
    for direction in [Direction::Retr, Direction::Stor] {
        for &block_size in &config.block_sizes {
            let measured = lab.measure(direction, block_size, config.rounds)?;
            if config.json {
                print_line(&measured.to_json())?;
            } else {
                print_line(&measured.table_row())?;
            }
        }
    }
    if !config.json {
        let transfers = 2 * config.block_sizes.len() * config.rounds;
        term::success(format!(
            "{transfers} transfers of {}, each checked: byte count, size and SHA-256 of the copy",
            human_size(config.file_size)
        ));
    }
    lab.finish();
    Ok(())
}

/// One line of results on standard output, flushed so a script reading the pipe sees it at
/// once. A reader that went away (`ftp-lab bench --json | head -1`) ends the bench quietly
/// ([`Error::OutputClosed`]) after the usual clean-up.
fn print_line(line: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(Error::stdout)
}

fn describe(lab: &Lab, config: &BenchConfig) {
    term::info(format!(
        "a test file of {} in {}, {} round(s) per block size, against ftp-lab serve on {}",
        human_size(config.file_size),
        lab.scratch.path().display(),
        config.rounds,
        lab.server.addr()
    ));
    let (server_sends, server_reads) = if lab.is_protected() {
        term::info(
            "over TLS: AUTH TLS, then PBSZ 0 and PROT P; each data connection runs its own TLS \
             handshake, and the server refuses clear transfers (--require-tls)",
        );
        (
            "through its memory, to encrypt it (no sendfile(2) over TLS)",
            "decrypts one TLS record (at most 16 KiB) per read and writes the file",
        )
    } else if cfg!(target_os = "linux") {
        ("with sendfile(2), whatever the block size", "reads")
    } else {
        ("with its own buffered copy", "reads")
    };
    term::info(format!(
        "RETR: the server sends {server_sends}; the block size is the client's bytes per read. \
         STOR: the client reads the file and writes the socket in blocks of that size; the \
         server {server_reads} {} KiB at a time and waits {} ms before its 226",
        RECEIVE_BUFFER / 1024,
        END_OF_UPLOAD_GRACE.as_millis()
    ));
}

/// A server, a logged-in client, and the test file. Dropping it stops the server and deletes
/// the scratch directory (fields drop in order: client, server, scratch).
pub struct Lab {
    client: FtpClient,
    /// The client logged in over TLS and the server accepted `PROT P`.
    protected: bool,
    server: ServerChild,
    scratch: Scratch,
    expected: Fingerprint,
}

impl Lab {
    /// Writes a test file of `file_size` bytes, starts `program serve` over it and logs in,
    /// over TLS if `tls` (module docs); tells `undo` what to clean up on Ctrl-C as soon as it
    /// exists.
    pub fn start(program: &Path, file_size: u64, tls: bool, undo: &Undo) -> Result<Lab> {
        let scratch = Scratch::new("ftp-lab-bench")
            .map_err(|err| Error::io("creating the bench's scratch directory", err))?;
        undo.delete(scratch.path());
        let (root, downloads) = (
            scratch.path().join("root"),
            scratch.path().join("downloads"),
        );
        for dir in [&root, &downloads] {
            fs::create_dir(dir)
                .map_err(|err| Error::io(format!("creating {}", dir.display()), err))?;
        }
        let expected = files::write_test_file(&root.join(SOURCE), file_size)
            .map_err(|err| Error::io("writing the test file", err))?;
        // The account goes in a file, not on the command line, where `ps` would show the password.
        let password = one_time_password();
        let accounts = scratch.path().join("accounts");
        fs::write(&accounts, format!("{USER}:{password}\n"))
            .map_err(|err| Error::io("writing the bench's account file", err))?;
        // Outside the served root: the CA certificate the server writes with --tls-cert-out.
        let ca = scratch.path().join("ca.pem");
        let server = ServerChild::start(program, &root, &accounts, tls.then_some(ca.as_path()))?;
        undo.stop(server.shared_child());
        let target = server.addr().to_string();
        let mut client = FtpClient::connect(&target, Tracer::new(false))?;
        if tls {
            client.secure(&Trust::Authorities(ca), &target)?;
        }
        // Over TLS, login() also sends PBSZ 0 and PROT P, and fails unless both succeed.
        client.login(USER, &password)?;
        let protected = client.is_protected();
        Ok(Lab {
            client,
            protected,
            server,
            scratch,
            expected,
        })
    }

    /// Do the transfers run over TLS (control connection protected, `PROT P` accepted)?
    pub fn is_protected(&self) -> bool {
        self.protected
    }

    /// The test file, as the server serves it (tests damage it to see the bench fail).
    pub fn source(&self) -> PathBuf {
        self.root().join(SOURCE)
    }

    /// The scratch directory: removed when the lab is dropped.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    fn root(&self) -> PathBuf {
        self.scratch.path().join("root")
    }

    /// `rounds` checked transfers one way with one block size, summarized.
    pub fn measure(
        &mut self,
        direction: Direction,
        block_size: usize,
        rounds: usize,
    ) -> Result<Measurement> {
        let mut samples = Vec::with_capacity(rounds);
        for round in 1..=rounds {
            let label = format!(
                "{} {} ({round}/{rounds})",
                direction.verb(),
                human_size(block_size as u64)
            );
            samples.push(self.transfer(direction, block_size, &label)?);
        }
        Measurement::new(direction, block_size, self.expected.size, &samples)
            .map(|measured| measured.over_tls(self.protected))
            .ok_or_else(|| Error::Usage("--rounds must be at least 1".to_string()))
    }

    /// One transfer, timed and then checked; returns its time.
    pub fn transfer(
        &mut self,
        direction: Direction,
        block_size: usize,
        label: &str,
    ) -> Result<Duration> {
        self.client.set_block_size(block_size);
        let outcome = match direction {
            Direction::Retr => self.download(label),
            Direction::Stor => self.upload(label),
        };
        outcome.map_err(|err| {
            Error::Failed(format!(
                "{label}: {err}\nthe server's last log lines:\n{}",
                self.server.recent_log()
            ))
        })
    }

    fn download(&mut self, label: &str) -> Result<Duration> {
        let copy = self.scratch.path().join("downloads").join(SOURCE);
        let mut file = File::create(&copy)
            .map_err(|err| Error::io(format!("creating {}", copy.display()), err))?;
        let bar = transfer_bar(self.expected.size, label);
        let started = Instant::now();
        let received = self
            .client
            .retrieve(SOURCE, 0, &mut file, &mut |got| bar.set_position(got))?;
        let elapsed = started.elapsed();
        bar.finish_and_clear();
        drop(file);
        self.verify(received, &copy)?;
        Ok(elapsed)
    }

    fn upload(&mut self, label: &str) -> Result<Duration> {
        let source = self.source();
        let mut file = File::open(&source)
            .map_err(|err| Error::io(format!("opening {}", source.display()), err))?;
        let bar = transfer_bar(self.expected.size, label);
        let started = Instant::now();
        let sent = self
            .client
            .store(UPLOADED, &mut file, &mut |done| bar.set_position(done))?;
        let elapsed = started.elapsed();
        bar.finish_and_clear();
        self.verify(sent, &self.root().join(UPLOADED))?;
        Ok(elapsed)
    }

    /// The byte count the client saw, then the copy at `path`, against the source; the copy is
    /// deleted either way.
    fn verify(&self, counted: u64, path: &Path) -> Result<()> {
        let checked = if counted == self.expected.size {
            files::check(path, &self.expected)
        } else {
            Err(format!(
                "the client moved {counted} bytes; the test file has {}",
                self.expected.size
            ))
        };
        let _ = fs::remove_file(path);
        checked.map_err(|why| Error::Failed(format!("wrong bytes: {why}")))
    }

    /// Says goodbye to the server (`QUIT`), then stops it and deletes the scratch directory.
    pub fn finish(self) {
        let Lab {
            client,
            server,
            scratch,
            ..
        } = self;
        client.quit();
        drop(server);
        drop(scratch);
    }
}

/// What Ctrl-C must undo, filled in as the bench creates it: the scratch directory, then the
/// server. (Dropping a [`Lab`] undoes both too; a signal handler runs instead of the drops.)
#[derive(Debug, Clone, Default)]
pub struct Undo(Arc<Mutex<Leftovers>>);

#[derive(Debug, Default)]
struct Leftovers {
    dir: Option<PathBuf>,
    server: Option<Arc<Mutex<Child>>>,
    /// Ctrl-C came: set before the server is killed, so a transfer that fails because of it
    /// can tell.
    interrupted: bool,
}

impl Undo {
    /// On Ctrl-C (from now on, once per process): stop the server, delete the scratch
    /// directory, exit with 130. Until something is registered there is nothing to undo.
    pub fn on_ctrl_c() -> Result<Undo> {
        let undo = Undo::default();
        let handler = undo.clone();
        when_interrupted(move || {
            handler.now();
            term::warn("interrupted: the server is stopped and the scratch directory deleted");
        })?;
        Ok(undo)
    }

    fn delete(&self, dir: &Path) {
        self.leftovers().dir = Some(dir.to_path_buf());
    }

    fn stop(&self, server: Arc<Mutex<Child>>) {
        self.leftovers().server = Some(server);
    }

    /// Has Ctrl-C started the clean-up?
    fn interrupted(&self) -> bool {
        self.leftovers().interrupted
    }

    fn now(&self) {
        let mut leftovers = self.leftovers();
        leftovers.interrupted = true;
        if let Some(server) = &leftovers.server {
            server::kill(server);
        }
        if let Some(dir) = &leftovers.dir {
            let _ = fs::remove_dir_all(dir);
        }
    }

    fn leftovers(&self) -> MutexGuard<'_, Leftovers> {
        // Only paths and a process handle are inside: usable even after a panic elsewhere.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A password for the bench's one account: 128 bits from std's `RandomState`, which seeds
/// every `HashMap` from the operating system's random source. (The server listens on 127.0.0.1
/// only; this keeps other users of the machine out of the scratch directory it serves.)
fn one_time_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    (0..2)
        .map(|_| {
            let random = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            format!("{random:016x}")
        })
        .collect()
}
