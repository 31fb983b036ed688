//! # One bot: a player that reads `YOURTURN` and answers with a listed move
//!
//! A bot is a non-blocking connection, the start of a line it has read but not yet seen the end
//! of, and the little it needs to remember to play: its name (to recognise its own `MOVED`), its
//! game, the move it is thinking about and when it sent the last one. The bench's one thread
//! drives every bot from its event loop (`bench/mod.rs`).
//!
//! ## Cheap on purpose
//! The bench shares the machine with the server it measures, so every microsecond it spends per
//! move is taken from the server (or makes the replies wait for the bench). Each move brings a
//! bot half a dozen lines (`MOVED`, the board, `TURN`, `YOURTURN`), and two bots read them:
//! - lines are cut out of the buffer the socket was read into, in place (`framing::decode`), not
//!   copied each into a new buffer first; only a line split between two reads is put together;
//! - a read shorter than the buffer has emptied the socket (epoll(7)), so the bot does not ask
//!   again to hear "would block", unless the event reported the server's FIN or an error, whose
//!   `Ok(0)` or error only a further read returns (the server's `engine_mio/connection.rs` has
//!   the whole argument; like there, systems without epoll or kqueue keep reading until
//!   `WouldBlock`: `SHORT_READ_MEANS_DRAINED`).

use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Poll, Token};
use netlab_common::framing::{self, Decoded, Framing};
use netlab_common::random::SplitMix64;
use netlab_common::{Error, Result, net};

use super::{BenchConfig, BotGame, Tally};
use crate::server::SHORT_READ_MEANS_DRAINED;

/// The longest line a bot accepts from the server; a longer one is an error (a board is a few
/// dozen bytes, `ROOMS` lines are the longest the server sends).
const MAX_LINE: usize = 8 * 1024;

/// One bot: its connection, what it has read, and where it is.
pub(super) struct Bot {
    stream: TcpStream,
    /// The start of a line whose end has not arrived yet (at most [`MAX_LINE`] bytes).
    partial: Vec<u8>,
    output: Vec<u8>,
    name: String,
    game: &'static str,
    move_sent_at: Option<Instant>,
    /// A move decided but not yet sent (the bot is "thinking").
    pending_move: Option<String>,
    /// This bot's position in the bench's list (its token).
    index: usize,
    /// Picks this bot's moves; seeded from `--seed` and the bot's index.
    random: SplitMix64,
    pub(super) done: bool,
}

/// Connects `config.players` bots to `target`, one after another, and registers each with the
/// event loop (token = its index).
pub(super) fn connect_bots(config: &BenchConfig, target: &str, poll: &Poll) -> Result<Vec<Bot>> {
    let mut bots = Vec::with_capacity(config.players);
    for index in 0..config.players {
        let stream = net::connect_nonblocking(target, net::CONNECT_TIMEOUT, true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(
                &mut stream,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|err| Error::io("registering a bot", err))?;
        bots.push(Bot {
            stream,
            partial: Vec::new(),
            output: Vec::new(),
            name: String::new(),
            game: game_for(config.game, index),
            move_sent_at: None,
            pending_move: None,
            index,
            // One generator per bot, each seeded differently but all fixed by --seed.
            random: SplitMix64::new(
                config.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            done: false,
        });
    }
    Ok(bots)
}

/// Pairs of bots (by index) ask for the same game, so matchmaking pairs them quickly.
fn game_for(choice: BotGame, index: usize) -> &'static str {
    match choice {
        BotGame::Tictactoe => "tictactoe",
        BotGame::Rps => "rps",
        BotGame::Hangman => "hangman",
        BotGame::Mixed => match (index / 2) % 3 {
            0 => "tictactoe",
            1 => "rps",
            _ => "hangman",
        },
    }
}

impl Bot {
    /// Reads every available line and reacts; then writes what it has to say. `end_reported`:
    /// the event said the server closed or the connection failed.
    pub(super) fn serve(&mut self, tally: &mut Tally, scratch: &mut [u8], end_reported: bool) {
        let read_to_the_end = end_reported || !SHORT_READ_MEANS_DRAINED;
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    tally.errors += 1; // the server closed on a bot that was still playing
                    self.done = true;
                    return;
                }
                Ok(got) => {
                    let fresh = scratch.get(..got).unwrap_or_default();
                    self.take_bytes(fresh, tally);
                    if self.done {
                        return;
                    }
                    if got < scratch.len() && !read_to_the_end {
                        break; // drained: new bytes will bring a new event
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    tally.errors += 1;
                    self.done = true;
                    return;
                }
            }
        }
        self.flush(tally);
    }

    /// Reacts to every whole line in `bytes` (completing the line a previous read left
    /// unfinished first) and keeps the unfinished end for the next read.
    fn take_bytes(&mut self, mut bytes: &[u8], tally: &mut Tally) {
        if !self.partial.is_empty() {
            let Some(end) = bytes.iter().position(|&byte| byte == b'\n') else {
                return self.keep_partial(bytes, tally);
            };
            let (head, rest) = bytes.split_at(end + 1);
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(head);
            self.take_lines(&line, tally);
            bytes = rest;
        }
        let unfinished = self.take_lines(bytes, tally);
        self.keep_partial(unfinished, tally);
    }

    /// Reacts to the whole lines at the start of `bytes`; returns what follows the last one.
    fn take_lines<'a>(&mut self, mut bytes: &'a [u8], tally: &mut Tally) -> &'a [u8] {
        while !self.done {
            match framing::decode(Framing::Line, bytes, MAX_LINE) {
                Ok(Decoded::Frame { payload, consumed }) => {
                    self.react(&String::from_utf8_lossy(payload), tally);
                    bytes = bytes.get(consumed..).unwrap_or_default();
                }
                Ok(Decoded::NeedMore) => return bytes,
                Err(_) => self.fail(tally),
            }
        }
        &[]
    }

    /// Keeps the start of an unfinished line, or fails the bot if the line is already too long.
    fn keep_partial(&mut self, bytes: &[u8], tally: &mut Tally) {
        if self.partial.len() + bytes.len() > MAX_LINE + 1 {
            return self.fail(tally);
        }
        self.partial.extend_from_slice(bytes);
    }

    /// The server broke the protocol: count it, and stop this bot.
    fn fail(&mut self, tally: &mut Tally) {
        tally.errors += 1;
        self.done = true;
    }

    /// The bot's whole strategy.
    fn react(&mut self, line: &str, tally: &mut Tally) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("WELCOME") => {
                self.name = words.next().unwrap_or_default().to_string();
                tally.welcomed += 1;
            }
            Some("JOINED") if !tally.playing => tally.seated += 1,
            Some("YOURTURN") => {
                let moves: Vec<&str> = words.skip(2).collect(); // room, "moves"
                if let Some(choice) = self.pick(&moves) {
                    self.pending_move = Some(format!("move {choice}"));
                    if tally.playing {
                        tally.thinking.push(self.index);
                    } else {
                        tally.held.push(self.index);
                    }
                }
            }
            Some("MOVED") => {
                let _room = words.next();
                if words.next() == Some(self.name.as_str())
                    && let Some(sent) = self.move_sent_at.take()
                {
                    tally.latencies.push(sent.elapsed());
                }
            }
            Some("RESULT") => {
                if let Some(room) = words.next() {
                    tally.rooms_finished.insert(room.to_string());
                }
                self.say(&format!("quick {}", self.game));
            }
            Some("ERR") => tally.errors += 1,
            _ => {}
        }
    }

    /// Matchmaking: asks for a game of this bot's kind.
    pub(super) fn ask_for_a_game(&mut self, tally: &mut Tally) {
        if !self.done {
            self.say(&format!("quick {}", self.game));
            self.flush(tally);
        }
    }

    fn pick<'a>(&mut self, moves: &[&'a str]) -> Option<&'a str> {
        moves.get(self.random.index(moves.len())).copied()
    }

    /// Sends the move decided earlier, now that the thinking time has passed.
    pub(super) fn send_pending_move(&mut self, tally: &mut Tally) {
        if let Some(line) = self.pending_move.take() {
            self.say(&line);
            self.move_sent_at = Some(Instant::now());
            self.flush(tally);
        }
    }

    fn say(&mut self, line: &str) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.push(b'\n');
    }

    fn flush(&mut self, tally: &mut Tally) {
        while !self.output.is_empty() {
            match self.stream.write(&self.output) {
                Ok(written) => {
                    self.output.drain(..written);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    tally.errors += 1;
                    self.done = true;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A bot on a loopback connection (nothing is sent on it: these tests feed it bytes as if
    /// they had been read).
    fn bot() -> (Bot, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_end, _) = listener.accept().unwrap();
        stream.set_nonblocking(true).unwrap();
        let bot = Bot {
            stream: TcpStream::from_std(stream),
            partial: Vec::new(),
            output: Vec::new(),
            name: String::new(),
            game: "tictactoe",
            move_sent_at: None,
            pending_move: None,
            index: 0,
            random: SplitMix64::new(1),
            done: false,
        };
        (bot, server_end)
    }

    /// Lines cut anywhere by the reads, even several times within one line, reach the bot's
    /// strategy whole, once each, in order.
    #[test]
    fn lines_split_across_reads_arrive_whole() {
        let (mut bot, _server) = bot();
        let mut tally = Tally::default();
        for piece in [
            "WEL",
            "COME Play",
            "er07\r\nINFO a\nYOURTU",
            "RN 1 moves 5\n",
        ] {
            bot.take_bytes(piece.as_bytes(), &mut tally);
        }
        assert_eq!(tally.welcomed, 1);
        assert_eq!(bot.name, "Player07");
        assert_eq!(bot.pending_move.as_deref(), Some("move 5"));
        assert_eq!(tally.held, [0]);
        assert!(bot.partial.is_empty());
        assert_eq!(tally.errors, 0);
    }

    /// A line that grows past the bot's limit over several reads is an error, and is not
    /// buffered further.
    #[test]
    fn a_line_over_the_limit_is_an_error() {
        let (mut bot, _server) = bot();
        let mut tally = Tally::default();
        let chunk = vec![b'x'; MAX_LINE / 2];
        for _ in 0..3 {
            bot.take_bytes(&chunk, &mut tally);
        }
        assert!(bot.done);
        assert_eq!(tally.errors, 1);
        assert!(bot.partial.len() <= MAX_LINE + 1);
    }
}
