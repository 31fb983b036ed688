//! # netlab-testkit: what every lab's integration tests need
//!
//! Integration tests run the real lab binary, as a student would, on 127.0.0.1 with port 0, and
//! learn the port from the `listening on IP:PORT` line. They synchronize on events (a line the
//! server prints, a reply read from a socket), never on sleeps, and every wait has a deadline
//! ([`PATIENCE`]) so a broken server fails a test instead of hanging the suite.
//!
//! - [`ServerProcess`]: start a server, wait for lines it prints, kill it when dropped; also an
//!   interactive client whose standard input the test types into.
//! - [`run_cli`]: run a command to completion with given standard input.
//! - [`find_program`] and [`skip`]: interop tests with tools nobody here wrote (`nc`) skip
//!   *visibly* when the tool is missing.
//! - [`docs`]: what the `tests/docs.rs` of every lab needs to keep its walkthrough under `docs/`
//!   true: the page's fenced transcripts, running the commands they show, comparing the output.
//! - [`bench`](mod@bench): what every lab's `tests/bench.rs` needs: run `LAB bench` with a
//!   `TMPDIR` of its own, check that it left nothing there and that its rate adds up.
//! - [`grade`](mod@grade): what every lab's `tests/grade.rs` needs: run `LAB grade --json`,
//!   start a broken fixture server, assert full marks or exactly the expected failures.
//! - [`TempDir`]: a fresh directory per test, removed afterwards.
//! - [`netcat`]: which netcat `nc` is (OpenBSD, Ncat) and how to call it.
//! - [`tmux`]: run an interactive client in a real terminal (tmux), type into it, read its screen.
//! - [`limits`]: start a server that may create only a few threads, to test that it survives
//!   the operating system refusing it one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

pub mod bench;
pub mod docs;
pub mod grade;
pub mod limits;
pub mod netcat;
pub mod tempdir;
pub mod tmux;
pub mod traces;

pub use tempdir::TempDir;

/// How long any single wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running server process, killed when dropped.
pub struct ServerProcess {
    /// The child process.
    pub child: Child,
    /// The address from its `listening on` line.
    pub addr: SocketAddr,
    lines: Receiver<String>,
    /// Every line it printed so far that a wait has looked at (for failure messages).
    pub seen: Vec<String>,
}

impl ServerProcess {
    /// Runs `bin ARGS...` with NO_COLOR set and waits for its `listening on` line.
    /// Standard output and standard error are both watched.
    pub fn start(bin: &str, args: &[&str]) -> ServerProcess {
        Self::start_in(None, bin, args)
    }

    /// [`Self::start`] in the working directory `dir` (`None`: the test's own), for a server
    /// whose arguments name relative paths, as a walkthrough's commands do.
    pub fn start_in(dir: Option<&Path>, bin: &str, args: &[&str]) -> ServerProcess {
        let mut server = Self::spawn(dir, bin, args, Stdio::null());
        let line = server.wait_for(|line| line.starts_with("listening on "));
        server.addr = line["listening on ".len()..].parse().expect("address");
        server
    }

    /// Runs an interactive program (a chat client) with NO_COLOR set and its standard input
    /// piped: [`Self::write_line`] types, [`Self::wait_for`] reads what it prints. `addr` is not
    /// set.
    pub fn interactive(bin: &str, args: &[&str]) -> ServerProcess {
        Self::spawn(None, bin, args, Stdio::piped())
    }

    /// Types `line` and Enter into an [`Self::interactive`] program.
    pub fn write_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{line}").expect("write to the program's stdin");
        stdin.flush().expect("flush the program's stdin");
    }

    /// Closes the program's standard input (end of input, like Ctrl-D).
    pub fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Waits (at most [`PATIENCE`]) for the program to exit, collecting what it printed into
    /// `seen`; returns its exit code (-1 for a signal).
    pub fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the program") {
                // The reader threads end at end of file; collect what they still hold.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.code().unwrap_or(-1);
            }
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(20)) {
                self.seen.push(line);
            }
            assert!(
                Instant::now() < deadline,
                "the program did not exit; it printed:\n{:#?}",
                self.seen
            );
        }
    }

    fn spawn(dir: Option<&Path>, bin: &str, args: &[&str], stdin: Stdio) -> ServerProcess {
        let mut command = Command::new(bin);
        command
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("start {bin}: {err}"));
        let (sender, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let stderr_sender = sender.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = stderr_sender.send(line);
            }
        });
        ServerProcess {
            child,
            addr: ([127, 0, 0, 1], 0).into(),
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until the server prints a line matching `wanted`, and returns it.
    pub fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!(
                        "server never printed the expected line; it printed:\n{:#?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// The next line the program prints (also added to `seen`), or `None` if it closed its
    /// output or printed nothing for [`PATIENCE`]: for callers that explain a failure in their
    /// own words (a walkthrough's line) instead of [`Self::wait_for`]'s.
    pub fn next_line(&mut self) -> Option<String> {
        let line = self.lines.recv_timeout(PATIENCE).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// Waits for `count` lines matching `wanted`.
    pub fn wait_for_count(&mut self, count: usize, wanted: impl Fn(&str) -> bool) {
        for _ in 0..count {
            self.wait_for(&wanted);
        }
    }

    /// A plain TCP connection to the server, with read and write timeouts of [`PATIENCE`].
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to server");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    /// The process id, for /proc checks.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `bin ARGS...` with `stdin` and NO_COLOR set; returns (exit code, stdout, stderr).
pub fn run_cli(bin: &str, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("run {bin}: {err}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Finds a program on PATH, for interop tests that skip visibly when it is missing.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Reports a skipped test where people see it. libtest captures `eprintln!` of passing tests, so
/// this writes to the stderr handle directly, which the capture does not intercept. `make test`
/// counts these lines in its closing summary.
pub fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// The binary `bin` of workspace package `package`, from the build this test belongs to.
///
/// Cargo tells a test where its own package's binaries are (`CARGO_BIN_EXE_*`), but a lab's
/// binary belongs to another package, and a binary cannot be a dev-dependency. `cargo test
/// --workspace` (what `make test` runs) builds it beside the test, in the same profile directory
/// (`target/debug/deps/TEST-HASH` and `target/debug/BIN`). When it is not there (one crate
/// tested alone), the cargo that runs the test is asked to build it there.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test runs from target/PROFILE/deps");
    let path = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", package, "--bin", bin, "--profile", profile])
            .arg("--target-dir")
            .arg(profile_dir.parent().expect("target/"))
            .current_dir(docs::workspace_root())
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
    }
    assert!(path.is_file(), "no {bin} at {}", path.display());
    path
}
