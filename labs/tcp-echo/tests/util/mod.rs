//! Helpers shared by the tcp-echo integration tests: start the real `tcp-echo` binary on
//! 127.0.0.1 port 0, learn its port from the `listening on` line, and talk to it over real sockets.
//!
//! Tests synchronize on events (a line printed by the server, a reply read), never on sleeps.
//! Every socket gets a read timeout so a broken server fails a test instead of hanging it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use netlab_common::framing::{FrameReader, Framing};

/// How long any single wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Path of the binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcp-echo");

/// A running `tcp-echo serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    lines: Receiver<String>,
    /// Lines seen so far (kept for failure messages).
    pub seen: Vec<String>,
}

impl Server {
    /// Starts `tcp-echo serve --port 0 ARGS...` and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcp-echo serve");
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
        let mut server = Server {
            child,
            addr: ([127, 0, 0, 1], 0).into(),
            lines,
            seen: Vec::new(),
        };
        let line = server.wait_for(|line| line.starts_with("listening on "));
        server.addr = line["listening on ".len()..].parse().expect("address");
        server
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
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "server never printed the expected line; it printed:\n{:#?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Waits for `count` lines matching `wanted`.
    pub fn wait_for_count(&mut self, count: usize, wanted: impl Fn(&str) -> bool) {
        for _ in 0..count {
            self.wait_for(&wanted);
        }
    }

    /// A plain TCP connection to the server.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to server");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    /// A framed client that has read its `WELCOME` line; returns it and its name.
    pub fn client(&self, framing: Framing) -> (Client, String) {
        let mut client = Client::new(self.connect(), framing);
        let welcome = client.recv_text();
        let name = welcome
            .strip_prefix("WELCOME ")
            .unwrap_or_else(|| panic!("expected WELCOME, got {welcome:?}"))
            .to_string();
        (client, name)
    }

    /// The process id, for /proc checks.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client speaking line or length framing over a real socket.
pub struct Client {
    pub stream: TcpStream,
    framing: Framing,
    frames: FrameReader<TcpStream>,
}

impl Client {
    pub fn new(stream: TcpStream, framing: Framing) -> Client {
        let reader = stream.try_clone().unwrap();
        Client {
            stream,
            framing,
            frames: FrameReader::new(reader, framing, 1 << 20),
        }
    }

    /// Sends one framed message in one write.
    pub fn send(&mut self, payload: &[u8]) {
        let frame = self.framing.encode_to_vec(payload).unwrap();
        self.stream.write_all(&frame).unwrap();
    }

    /// Reads one frame; panics on timeout or close.
    pub fn recv(&mut self) -> Vec<u8> {
        self.frames
            .read_frame()
            .expect("read a frame")
            .expect("server closed instead of replying")
    }

    /// Reads one frame as text.
    pub fn recv_text(&mut self) -> String {
        String::from_utf8(self.recv()).expect("utf-8 reply")
    }

    /// Reads a `status` reply (STATUS line to END) and returns the client lines.
    pub fn status(&mut self) -> Vec<String> {
        self.send(b"status");
        let header = self.recv_text();
        assert!(header.starts_with("STATUS "), "got {header:?}");
        let mut lines = Vec::new();
        loop {
            let line = self.recv_text();
            if line == "END" {
                return lines;
            }
            lines.push(line);
        }
    }

    /// Asserts the server closes the connection next (after any frames already read).
    pub fn expect_closed(&mut self) {
        match self.frames.read_frame() {
            Ok(None) => {}
            other => panic!("expected the server to close, got {other:?}"),
        }
    }

    pub fn half_close(&self) {
        self.stream.shutdown(Shutdown::Write).unwrap();
    }
}

/// Reads exactly `len` bytes or panics.
pub fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).expect("read echoed bytes");
    buf
}

/// Reads until the peer closes.
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("read until close");
    all
}

/// Runs the tcp-echo binary with `args` and `stdin`, returning (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tcp-echo");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Reports a skipped test where people see it. libtest captures `eprintln!` of passing tests, so
/// this writes to the stderr handle directly, which the capture does not intercept. `make test`
/// counts these lines in its closing summary.
pub fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// Finds a program on PATH, for interop tests that skip visibly when it is missing.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Every (engine, framing) pair the server supports.
pub const ENGINES: [&str; 2] = ["threads", "mio"];
