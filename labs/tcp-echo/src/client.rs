//! # The interactive client: `tcp-echo connect HOST:PORT`
//!
//! Two things happen at once in a chat-like client: the user types, and replies arrive. Blocking
//! code cannot wait for both in one thread, so a helper thread copies standard input to the
//! socket while the main thread prints whatever the server sends.
//!
//! When input ends (Ctrl-D, or the end of a piped file) the client *half-closes*: it shuts down
//! its sending side, which tells the server "no more from me" with a FIN, but keeps reading until
//! the server has sent everything back and closed. That is why `printf 'a\nb\n' | tcp-echo connect`
//! prints every echo before it exits.

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use netlab_common::accept;
use netlab_common::framing::{FrameReader, Framing};
use netlab_common::{Error, Result, Traced, Tracer, net, term};

use crate::protocol::REPLY_HEADROOM;

/// What `connect` needs.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// `HOST:PORT` of the server.
    pub target: String,
    /// Must match the server's framing.
    pub framing: Framing,
    /// Largest message we send.
    pub max_frame: usize,
    /// `--trace`.
    pub tracer: Tracer,
}

/// Connects, forwards standard input, prints replies until the server closes.
pub fn run(config: &ConnectConfig) -> Result<()> {
    let stream = net::connect(&config.target, net::CONNECT_TIMEOUT, true)?;
    let peer = stream
        .peer_addr()
        .map_err(|err| Error::io("reading the server's address", err))?;
    term::info(format!(
        "connected to {peer} with {} framing; type a message and press Enter (exit or Ctrl-D to quit)",
        config.framing.name()
    ));
    match config.framing {
        Framing::Raw => {
            start_sender(&stream, peer, config)?;
            print_raw(&stream, peer, config)
        }
        Framing::Line | Framing::Length => {
            let wire = Traced::new(&stream, peer, config.tracer);
            let limit = config.max_frame + REPLY_HEADROOM;
            let mut frames = FrameReader::new(wire, config.framing, limit);
            // The server speaks first (WELCOME, or ERROR when it is full): wait for that before
            // sending anything, so a refused client sends nothing.
            match frames.read_frame()? {
                Some(greeting) if greeting.starts_with(b"ERROR ") => {
                    print_reply(&greeting);
                    let reason = term::sanitize_bytes(&greeting);
                    return Err(Error::Protocol(format!("the server said: {reason}")));
                }
                Some(greeting) => print_reply(&greeting),
                None => {
                    return Err(Error::Protocol(
                        "the server closed without a greeting".into(),
                    ));
                }
            }
            start_sender(&stream, peer, config)?;
            print_frames(frames)
        }
    }
}

/// Starts the thread that copies standard input to the server.
///
/// It is never joined: if the server closes first, the thread may still be blocked reading the
/// terminal, and the process simply ends without it.
fn start_sender(stream: &TcpStream, peer: SocketAddr, config: &ConnectConfig) -> Result<()> {
    let writer = stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    let sender_config = config.clone();
    accept::spawn_named("keyboard", move || send_input(writer, peer, &sender_config))?;
    Ok(())
}

/// Copies lines from standard input to the server, then half-closes.
fn send_input(stream: TcpStream, peer: SocketAddr, config: &ConnectConfig) {
    let mut wire = Traced::new(&stream, peer, config.tracer);
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.len() > config.max_frame {
            term::error(format!(
                "message is {} bytes; the limit is {} (--max-frame); not sent",
                line.len(),
                config.max_frame
            ));
            continue;
        }
        let sent = match config.framing {
            // Raw has no messages: send the line as typed, newline included, as nc would.
            Framing::Raw => wire.write_all(format!("{line}\n").as_bytes()),
            framing => match framing.encode_to_vec(line.as_bytes()) {
                Ok(frame) => wire.write_all(&frame),
                Err(err) => Err(io::Error::other(err)),
            },
        };
        if sent.is_err() || line.trim() == "exit" {
            break;
        }
    }
    // Half-close: "I will send no more", but keep reading the replies.
    let _ = stream.shutdown(Shutdown::Write);
}

/// Prints each reply frame as `< text` (sanitized: the server's bytes are not trusted either).
fn print_frames(mut frames: FrameReader<Traced<&TcpStream>>) -> Result<()> {
    let mut refusal = None;
    while let Some(frame) = frames.read_frame()? {
        print_reply(&frame);
        if frame.starts_with(b"ERROR ") {
            refusal = Some(term::sanitize_bytes(&frame));
        }
    }
    term::info("the server closed the connection");
    match refusal {
        Some(reason) => Err(Error::Protocol(format!("the server said: {reason}"))),
        None => Ok(()),
    }
}

/// Raw framing: bytes come back in arbitrary chunks; show them line by line.
fn print_raw(stream: &TcpStream, peer: SocketAddr, config: &ConnectConfig) -> Result<()> {
    let mut wire = Traced::new(stream, peer, config.tracer);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut line = Vec::new();
    loop {
        let got = match wire.read(&mut chunk) {
            Ok(0) => break,
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Error::io("reading from the server", err)),
        };
        for &byte in &chunk[..got] {
            if byte == b'\n' || line.len() >= config.max_frame {
                print_reply(&line);
                line.clear();
            }
            if byte != b'\n' {
                line.push(byte);
            }
        }
    }
    if !line.is_empty() {
        print_reply(&line);
    }
    term::info("the server closed the connection");
    Ok(())
}

fn print_reply(bytes: &[u8]) {
    anstream::println!("{} {}", term::theirs("<"), term::sanitize_bytes(bytes));
}
