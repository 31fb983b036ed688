//! Helpers shared by the tcp-chat integration tests: run the real `tcp-chat` binary, feed its
//! standard input through a pipe, and wait for what it prints. (`netlab-testkit` watches a
//! server's output line by line; a chat also needs its keyboard, and a prompt that has no newline,
//! so [`Chat`] keeps each output stream as text with a cursor instead.)
//!
//! Tests synchronize on events (a line printed, a prompt shown, a byte read), never on sleeps.
//! Every wait gives up after [`PATIENCE`], so a broken program fails a test instead of hanging it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

pub mod room;

/// How long any single wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Path of the binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcp-chat");

/// One output stream of a child, collected as it arrives, with a cursor: `expect` finds text
/// after the cursor and moves the cursor past it, so the same line is never matched twice.
pub struct Output {
    name: &'static str,
    chunks: Receiver<Vec<u8>>,
    /// Everything received so far (lossy UTF-8).
    pub text: String,
    cursor: usize,
    closed: bool,
}

impl Output {
    fn new(name: &'static str, mut source: impl Read + Send + 'static) -> Output {
        let (sender, chunks) = channel();
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(got) = source.read(&mut buf) {
                if got == 0 || sender.send(buf[..got].to_vec()).is_err() {
                    break;
                }
            }
        });
        Output {
            name,
            chunks,
            text: String::new(),
            cursor: 0,
            closed: false,
        }
    }

    /// Waits until `wanted` appears after the cursor; returns the text from the cursor up to and
    /// including it, and moves the cursor past it.
    pub fn expect(&mut self, wanted: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.text[self.cursor..].find(wanted) {
                let end = self.cursor + at + wanted.len();
                let seen = self.text[self.cursor..end].to_string();
                self.cursor = end;
                return seen;
            }
            if self.closed {
                panic!(
                    "{} ended without {wanted:?}; after the cursor it had:\n{}",
                    self.name,
                    &self.text[self.cursor..]
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} never printed {wanted:?}; after the cursor it had:\n{}",
                    self.name,
                    &self.text[self.cursor..]
                ),
            }
        }
    }

    /// Collects output until the stream closes (the process exited); the cursor stays.
    pub fn drain_to_close(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        while !self.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
                Err(RecvTimeoutError::Timeout) => panic!("{} never closed", self.name),
            }
        }
    }

    /// Reads until the stream closes (the process exited) and returns everything after the cursor.
    pub fn rest(&mut self) -> String {
        let deadline = Instant::now() + PATIENCE;
        while !self.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
                Err(RecvTimeoutError::Timeout) => panic!("{} never closed", self.name),
            }
        }
        let rest = self.text[self.cursor..].to_string();
        self.cursor = self.text.len();
        rest
    }
}

/// A running `tcp-chat`, with its standard input, output and error; killed when dropped.
pub struct Chat {
    pub child: Child,
    stdin: Option<ChildStdin>,
    pub out: Output,
    pub err: Output,
}

impl Chat {
    /// Starts `tcp-chat ARGS...` in `dir` with colors off.
    pub fn start_in(dir: &Path, args: &[&str]) -> Chat {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcp-chat");
        let stdin = child.stdin.take();
        let out = Output::new("stdout", child.stdout.take().unwrap());
        let err = Output::new("stderr", child.stderr.take().unwrap());
        Chat {
            child,
            stdin,
            out,
            err,
        }
    }

    /// Starts `tcp-chat ARGS...` in the system temp directory.
    pub fn start(args: &[&str]) -> Chat {
        Chat::start_in(&std::env::temp_dir(), args)
    }

    /// Starts a listening side (`MODE --listen --port 0 ARGS...`) and returns it with its address.
    pub fn listen(mode: &str, dir: &Path, args: &[&str]) -> (Chat, SocketAddr) {
        let mut chat = Chat::start_in(dir, &[&[mode, "--listen", "--port", "0"], args].concat());
        chat.out.expect("listening on ");
        let line = chat.out.expect("\n");
        let addr = line.trim().parse().expect("listening address");
        (chat, addr)
    }

    /// Starts a connecting side (`MODE --connect ADDR ARGS...`).
    pub fn connect(mode: &str, dir: &Path, addr: SocketAddr, args: &[&str]) -> Chat {
        let addr = addr.to_string();
        Chat::start_in(dir, &[&[mode, "--connect", addr.as_str()], args].concat())
    }

    /// Types `line` and Enter.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes standard input (Ctrl-D).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit and returns its status. Both output pipes close when the
    /// process exits, so waiting for that (within [`PATIENCE`]) is the event; `wait` then only
    /// collects the status.
    pub fn wait(&mut self) -> ExitStatus {
        self.out.drain_to_close();
        self.err.drain_to_close();
        self.stdin = None;
        self.child.wait().unwrap()
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh empty directory for one test, removed when dropped (the one every lab's tests use).
pub use netlab_testkit::TempDir;

/// A raw TCP connection with a read timeout, for tests that check exact bytes on the wire.
pub fn raw_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads exactly `len` bytes or panics.
pub fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).expect("read bytes");
    buf
}

// Helpers every lab's tests share: finding a program on PATH, reporting a visible SKIPPED line,
// running the binary to completion.
#[allow(unused_imports)] // each test binary uses a different subset
pub use netlab_testkit::{find_program, run_cli, skip};
