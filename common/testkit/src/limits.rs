//! # Starting a server that may create only a few threads
//!
//! A thread-per-client server must survive the moment the operating system refuses it another
//! thread (see `netlab_common::accept`). To make that moment happen on purpose, a test starts
//! the server under a lowered `RLIMIT_NPROC` (`ulimit -u`): the most processes *and threads* its
//! user may have at once. Two details decide how:
//!
//! - The kernel does not apply `RLIMIT_NPROC` to root. CI runs as root, so the server is started
//!   as the unprivileged user `nobody` (uid 65534) with `setpriv`.
//! - The limit counts every thread of the *user*, not just of the server. For an ordinary
//!   developer's account that includes the test itself, the shell, the editor: the count is
//!   unpredictable. `nobody` runs nothing else, so the limit is the server's alone. Hence these
//!   tests need root and skip visibly without it.
//!
//! The limit is set on the running server with `prlimit --pid PID --nproc=N` (util-linux), after
//! the test has let it start the threads it needs for its first clients: the server's own count
//! (`Threads:` in /proc/PID/status) plus a few. The lab binary is copied to a fresh directory
//! that `nobody` can read, since the build directory may not be.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::{PATIENCE, ServerProcess, find_program, skip};

/// `setpriv` arguments that run the rest of its command line as `nobody`, with no groups.
const NOBODY: [&str; 4] = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];

/// Held while a server runs as `nobody`: the thread limit counts every thread of the user, so
/// two such servers at once (tests of one binary run in parallel) would share one limit.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A server started by [`start_as_nobody`], and the directory holding its binary (removed when
/// dropped, after the server is stopped).
pub struct Confined {
    /// The running server.
    pub server: ServerProcess,
    dir: PathBuf,
    _alone: MutexGuard<'static, ()>,
}

impl Confined {
    /// Allows the server only `extra` threads more than it runs now. Returns the limit set.
    pub fn limit_threads(&self, extra: u32) -> u32 {
        let pid = self.server.pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let running: u32 = status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .and_then(|count| count.trim().parse().ok())
            .expect("a Threads: line in /proc/PID/status");
        let limit = running + extra;
        // Changing another process's limits needs the same user (or CAP_SYS_RESOURCE, which a
        // container's root may lack), so `prlimit` runs as `nobody` too.
        let set = Command::new("setpriv")
            .args(NOBODY)
            .args([
                "prlimit",
                "--pid",
                &pid.to_string(),
                &format!("--nproc={limit}"),
            ])
            .status()
            .unwrap();
        assert!(set.success(), "prlimit --pid {pid} --nproc={limit} failed");
        limit
    }
}

impl Confined {
    /// Allows the server only `extra` file descriptors more than it has open now (`ulimit -n`).
    /// Returns the limit set.
    pub fn limit_files(&self, extra: u32) -> u32 {
        let pid = self.server.pid();
        let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count();
        let limit = u32::try_from(open).unwrap() + extra;
        self.prlimit(&format!("--nofile={limit}"));
        limit
    }

    /// Changing another process's limits needs the same user (or CAP_SYS_RESOURCE, which a
    /// container's root may lack), so `prlimit` runs as `nobody` too.
    fn prlimit(&self, limit: &str) {
        let pid = self.server.pid().to_string();
        let set = Command::new("setpriv")
            .args(NOBODY)
            .args(["prlimit", "--pid", &pid, limit])
            .status()
            .unwrap();
        assert!(set.success(), "prlimit --pid {pid} {limit} failed");
    }
}

impl Drop for Confined {
    fn drop(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `bin ARGS...` as user `nobody` and waits for its `listening on` line; then
/// [`Confined::limit_threads`] lowers its thread limit. Returns `None`, after printing
/// `SKIPPED test: reason`, where that cannot be done (not Linux, not root, `setpriv` or
/// `prlimit` missing).
pub fn start_as_nobody(test: &str, bin: &Path, args: &[&str]) -> Option<Confined> {
    if let Some(reason) = why_not_here() {
        skip(test, &reason);
        return None;
    }
    let alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = std::env::temp_dir().join(format!(
        "netlab-limits-{}-{}",
        std::process::id(),
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(bin.file_name().unwrap());
    std::fs::copy(bin, &copy).unwrap();
    let mut wrapped = NOBODY.to_vec();
    wrapped.push(copy.to_str().unwrap());
    wrapped.extend_from_slice(args);
    let server = ServerProcess::start("setpriv", &wrapped);
    Some(Confined {
        server,
        dir,
        _alone: alone,
    })
}

/// Why a thread limit cannot be applied on this machine, if it cannot.
fn why_not_here() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("RLIMIT_NPROC tests run on Linux only".into());
    }
    for tool in ["setpriv", "prlimit"] {
        if find_program(tool).is_none() {
            return Some(format!("{tool} (util-linux) is not installed"));
        }
    }
    let Ok(uid) = Command::new("id").arg("-u").output() else {
        return Some("cannot run `id -u` to learn whether this is root".into());
    };
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some(
            "needs root, to run the server as `nobody` (the thread limit counts every thread of \
             the user)"
                .into(),
        );
    }
    None
}

/// A client of a line protocol over a raw socket (what `nc` would be).
pub struct LineClient {
    /// The connection, for writing.
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl LineClient {
    /// Connects, with read and write timeouts of [`PATIENCE`].
    pub fn connect(addr: SocketAddr) -> LineClient {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        LineClient { stream, reader }
    }

    /// The next line, without its line end; empty at end of stream.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read a line");
        line.trim_end().to_string()
    }

    /// Reads lines until one starts with `prefix`, and returns it.
    pub fn line_starting(&mut self, prefix: &str) -> String {
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "connection closed before {prefix:?}");
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Sends `line` and `\n`.
    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }
}

/// A server brought to the point where the operating system refuses it threads.
pub struct Exhausted {
    /// The server, running as `nobody` with its thread limit lowered.
    pub confined: Confined,
    /// The clients admitted before the limit was lowered, each past its greeting.
    pub clients: Vec<LineClient>,
    /// The first line a connection of the burst read, from one the server had no thread for.
    pub turned_away: String,
}

/// Starts `bin ARGS` as `nobody`, admits `clients` (each reads a first line starting with
/// `greeting`), allows the server only two more threads, then opens a burst of 100 connections.
/// Waits for the server's log line saying it could not start a thread, and returns the first
/// line read by one of the burst's connections that starts with `turned_away` (the lab's
/// refusal for "no thread"). `None` (after a visible SKIPPED line) where the limit cannot be set.
pub fn exhaust_threads(
    test: &str,
    bin: &Path,
    args: &[&str],
    clients: usize,
    greeting: &str,
    turned_away: &str,
) -> Option<Exhausted> {
    let mut confined = start_as_nobody(test, bin, args)?;
    let addr = confined.server.addr;
    let mut admitted: Vec<LineClient> = (0..clients).map(|_| LineClient::connect(addr)).collect();
    for client in &mut admitted {
        client.line_starting(greeting);
    }
    confined.limit_threads(2);
    let burst: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    confined
        .server
        .wait_for(|line| line.contains("turned away") && line.contains("cannot start a thread"));
    let refusal = burst.iter().find_map(|stream| {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        line.starts_with(turned_away).then_some(line)
    });
    Some(Exhausted {
        confined,
        clients: admitted,
        turned_away: refusal.unwrap_or_default(),
    })
}

/// Whether a new client is admitted (reads a first line starting with `greeting`) before
/// [`PATIENCE`] runs out. A thread's place is given back a moment after its client saw the
/// connection end, and nothing the server sends marks that moment, so this tries again every
/// 10 ms until a newcomer is greeted (under load the moment can take a while to come).
pub fn admits_newcomer(addr: SocketAddr, greeting: &str) -> bool {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if LineClient::connect(addr).line().starts_with(greeting) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The event-loop exhaustion scenario every mio engine must survive, written once: `bin args`
/// runs as `nobody`; two line clients get `greeting`; then the server has only four file
/// descriptors to spare and meets a burst of 20 connections. `accept` must fail with "too many
/// open files", the server must log it and pause (not spin, and not forget the queued
/// connections: edge-triggered readiness is not reported again for them), `still_served` must
/// pass for each client while the burst waits, and once the burst is gone (and
/// `before_newcomer` has run, e.g. to free a seat) a newcomer is admitted and the server is
/// still running. Does nothing (SKIPPED) where [`start_as_nobody`] cannot run.
pub fn survives_a_burst_without_descriptors(
    test: &str,
    bin: &Path,
    args: &[&str],
    greeting: &str,
    mut still_served: impl FnMut(usize, &mut LineClient),
    before_newcomer: impl FnOnce(&mut Vec<LineClient>),
) {
    let Some(mut confined) = start_as_nobody(test, bin, args) else {
        return;
    };
    let addr = confined.server.addr;
    let mut clients = vec![LineClient::connect(addr), LineClient::connect(addr)];
    for client in &mut clients {
        client.line_starting(greeting);
    }
    confined.limit_files(4);
    let burst: Vec<TcpStream> = (0..20)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    confined.server.wait_for(|line| {
        line.contains("accept failed: Too many open files") && line.contains("pausing")
    });
    for (n, client) in clients.iter_mut().enumerate() {
        still_served(n, client);
    }
    drop(burst);
    before_newcomer(&mut clients);
    assert!(admits_newcomer(addr, greeting));
    assert!(
        confined.server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
}
