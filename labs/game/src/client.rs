//! # `game-lab play`: a terminal client
//!
//! The protocol is plain lines, so `nc` can play; this client only makes it pleasant. A reader
//! thread prints what the server pushes as it arrives (boards, whose turn, chat, results), so the
//! screen updates while you think; the main thread sends what you type. Everything from the server
//! is sanitized before it reaches the terminal.

use std::io::{self, BufRead, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use netlab_common::accept;
use netlab_common::framing::{FrameReader, Framing};
use netlab_common::{Error, Result, Traced, Tracer, net, term};

/// The longest line the client accepts from the server.
const MAX_SERVER_LINE: usize = 8 * 1024;

/// What `game-lab play` was asked to do.
#[derive(Debug, Clone)]
pub struct PlayConfig {
    /// `HOST:PORT` of the server.
    pub target: String,
    /// `--trace`.
    pub tracer: Tracer,
}

/// Connects, prints pushes, and sends typed lines until `quit` or end of input.
pub fn run(config: &PlayConfig) -> Result<()> {
    let tracer = config.tracer;
    let stream = net::connect(&config.target, net::CONNECT_TIMEOUT, true)?;
    let peer = stream
        .peer_addr()
        .map_err(|err| Error::io("reading the server's address", err))?;
    term::info(format!(
        "connected to {peer}; try: quick tictactoe, help, quit"
    ));
    let reader = stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    let printer = accept::spawn_named("display", move || print_pushes(&reader, peer, tracer))?;
    send_typed_lines(&stream, peer, tracer);
    let _ = stream.shutdown(Shutdown::Write);
    printer
        .join()
        .unwrap_or_else(|_| Err(Error::Failed("the display thread failed".into())))
}

fn send_typed_lines(stream: &TcpStream, peer: SocketAddr, tracer: Tracer) {
    let mut wire = Traced::new(stream, peer, tracer);
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let line = if line.trim() == "/q" {
            "quit".to_string()
        } else {
            line
        };
        if wire.write_all(format!("{line}\n").as_bytes()).is_err() || line.trim() == "quit" {
            break;
        }
    }
}

fn print_pushes(stream: &TcpStream, peer: SocketAddr, tracer: Tracer) -> Result<()> {
    let wire = Traced::new(stream, peer, tracer);
    let mut lines = FrameReader::new(wire, Framing::Line, MAX_SERVER_LINE);
    while let Some(bytes) = lines.read_frame()? {
        show(&term::sanitize_bytes(&bytes));
    }
    term::info("the server closed the connection");
    Ok(())
}

/// Prints one server line in the style its keyword calls for.
fn show(line: &str) {
    let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
    match keyword {
        "|" => anstream::println!("    {}", color_marks(rest)),
        "BOARD" | "END" => {}
        "YOURTURN" => anstream::println!("{} {}", term::mine(">> your move"), after_room(rest)),
        "CHAT" => term::chat(after_room(rest)),
        "ERR" => term::error(rest),
        "RESULT" => term::success(after_room(rest)),
        "INFO" => term::info(rest),
        "WELCOME" | "OK" | "JOINED" | "WAITING" | "START" | "LEFT" | "SPECTATING" | "BYE" => {
            term::info(line)
        }
        _ => anstream::println!("{line}"),
    }
}

/// The part of a room push after the room number.
fn after_room(rest: &str) -> &str {
    rest.split_once(' ').map_or(rest, |(_, text)| text)
}

/// Colors X and O on a tic-tac-toe row, so the board reads at a glance.
fn color_marks(row: &str) -> String {
    row.chars()
        .map(|character| match character {
            'X' => term::mine('X'),
            'O' => term::theirs('O'),
            other => other.to_string(),
        })
        .collect()
}
