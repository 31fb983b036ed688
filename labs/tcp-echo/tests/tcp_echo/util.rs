//! Helpers shared by the tcp-echo integration tests: start the real `tcp-echo` binary on
//! 127.0.0.1 port 0, learn its port from the `listening on` line, and talk to it over real sockets.
//!
//! Tests synchronize on events (a line printed by the server, a reply read), never on sleeps.
//! Every socket gets a read timeout so a broken server fails a test instead of hanging it.
//! Not every helper is used by every module, hence the `allow` below.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use netlab_common::framing::{FrameReader, Framing};
pub use netlab_testkit::{ServerProcess, find_program, skip};

/// Path of the binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tcp-echo");

/// A running `tcp-echo serve` (see `netlab_testkit::ServerProcess`).
pub type Server = ServerProcess;

/// Starts `tcp-echo serve --port 0 ARGS...` and waits for its `listening on` line.
pub fn start(args: &[&str]) -> Server {
    let mut all = vec!["serve", "--port", "0"];
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all)
}

/// Framed clients of a running server.
pub trait ServerExt {
    /// A framed client that has read its `WELCOME` line; returns it and its name.
    fn client(&self, framing: Framing) -> (Client, String);
}

impl ServerExt for Server {
    fn client(&self, framing: Framing) -> (Client, String) {
        let mut client = Client::new(self.connect(), framing);
        let welcome = client.recv_text();
        let name = welcome
            .strip_prefix("WELCOME ")
            .unwrap_or_else(|| panic!("expected WELCOME, got {welcome:?}"))
            .to_string();
        (client, name)
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
    netlab_testkit::run_cli(BIN, args, stdin)
}

/// Every (engine, framing) pair the server supports.
pub const ENGINES: [&str; 2] = ["threads", "mio"];
