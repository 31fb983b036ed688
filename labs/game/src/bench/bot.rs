//! # One bot: a player that reads `YOURTURN` and answers with a listed move
//!
//! A bot is a non-blocking connection, the bytes it has read but not yet split into lines, and
//! the little it needs to remember to play: its name (to recognise its own `MOVED`), its game,
//! the move it is thinking about and when it sent the last one. The bench's one thread drives
//! every bot from its event loop (`bench/mod.rs`).

use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Poll, Token};
use netlab_common::framing::{FrameDecoder, Framing};
use netlab_common::random::SplitMix64;
use netlab_common::{Error, Result, net};

use super::{BenchConfig, BotGame, Tally};

/// One bot: its connection, what it has read, and where it is.
pub(super) struct Bot {
    stream: TcpStream,
    lines: FrameDecoder,
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
            lines: FrameDecoder::new(Framing::Line, 8 * 1024),
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
    /// Reads every available line and reacts; then writes what it has to say.
    pub(super) fn serve(&mut self, tally: &mut Tally, scratch: &mut [u8]) {
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

    fn take_bytes(&mut self, mut bytes: &[u8], tally: &mut Tally) {
        while !bytes.is_empty() {
            let took = self.lines.feed(bytes);
            bytes = bytes.get(took..).unwrap_or_default();
            loop {
                match self.lines.next_frame() {
                    Ok(Some(line)) => self.react(&String::from_utf8_lossy(&line), tally),
                    Ok(None) => break,
                    Err(_) => {
                        tally.errors += 1;
                        self.done = true;
                        return;
                    }
                }
            }
        }
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
