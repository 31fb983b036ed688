//! Room helpers shared by `room.rs` and `hostile.rs`: start `tcp-chat room serve` on port 0, and
//! talk to it as nc would, one line at a time over a raw socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Chat, raw_connect};

/// Starts `room serve --port 0 ARGS` and returns it with its address.
pub fn serve(dir: &Path, args: &[&str]) -> (Chat, SocketAddr) {
    let mut server = Chat::start_in(dir, &[&["room", "serve", "--port", "0"], args].concat());
    server.out.expect("listening on ");
    let addr = server.out.expect("\n").trim().parse().unwrap();
    server.out.expect("[INFO] room open");
    (server, addr)
}

/// A client speaking lines over a raw socket, as nc would.
pub struct LineClient {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
}

impl LineClient {
    pub fn connect(addr: SocketAddr) -> LineClient {
        let stream = raw_connect(addr);
        let reader = BufReader::new(stream.try_clone().unwrap());
        LineClient { stream, reader }
    }

    /// Connects and reads the WELCOME line; returns the client and its name.
    pub fn join(addr: SocketAddr) -> (LineClient, String) {
        let mut client = LineClient::connect(addr);
        let welcome = client.line();
        let name = welcome
            .strip_prefix("WELCOME ")
            .expect(&welcome)
            .to_string();
        (client, name)
    }

    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// The next line, without `\n`; panics on timeout or close.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let got = self.reader.read_line(&mut line).expect("read a line");
        assert!(got > 0, "the server closed the connection");
        line.trim_end_matches('\n').to_string()
    }

    pub fn expect(&mut self, wanted: &str) {
        assert_eq!(self.line(), wanted);
    }

    /// Exactly `len` raw bytes.
    pub fn raw(&mut self, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        self.reader.read_exact(&mut buf).unwrap();
        buf
    }

    pub fn expect_closed(&mut self) {
        let mut rest = String::new();
        let got = self.reader.read_line(&mut rest).expect("read until close");
        assert_eq!(got, 0, "expected the server to close, got {rest:?}");
    }
}

pub fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
