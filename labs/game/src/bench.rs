//! # `game-lab bench`: bots that play whole games
//!
//! Every bot connects and waits for its `WELCOME`; then every bot asks for a game by matchmaking
//! (`quick GAME`) and waits to be seated. Only when all of them sit at a game does the clock start
//! and do the first moves go out. Until then the server is accepting connections, starting two
//! threads for each, and matchmaking a thousand players who all arrived in the same few
//! milliseconds: moves made meanwhile would measure how the server copes with a crowd arriving,
//! not how fast it plays.
//!
//! From then on, whenever the server says `YOURTURN ... moves a b c`, a bot picks one of the listed
//! moves at random and sends it. The time from sending a move to reading the server's announcement
//! of it (`MOVED room me ...`) is one *move round trip*. When a game ends (`RESULT`), the bot asks
//! for the next one. The run ends when `players x games / 2` games have finished (every game has
//! two bots). A per-bot quota would not do: near the end a bot could be left needing a game when
//! every other bot of its kind has stopped, and wait for an opponent who never comes.
//!
//! With `--think MS`, a bot waits a random 0 to 2xMS before each move, as a person would; the
//! latency clock starts when the move is actually sent. Without it (the default, 0) bots answer
//! instantly and the benchmark measures the server at saturation: every game always has a move in
//! flight, so latency is the queue (moves in flight / moves per second, Little's law).
//!
//! All bots run in one thread with a mio event loop, so a thousand of them cost the benchmark one
//! core at most and leave the rest of the machine to the server under test. Every `ERR` line, early
//! close or game short of the target counts as an error: bots only send moves the server offered.
//!
//! ## What a round trip includes
//! The clock stops when the bot reads the reply, so a round trip also includes the time the reply
//! waited for the bots' one thread: while it handled other bots' events, and while it waited for a
//! core, which it shares with the server's 2,000 threads. docs/game.md has how much of a round
//! trip that is.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use netlab_common::framing::{FrameDecoder, Framing};
use netlab_common::random::SplitMix64;
use netlab_common::{Error, Result, net, stats, term};

/// Which games the bots ask for.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotGame {
    /// Pairs of bots spread over all three games.
    Mixed,
    /// Tic-tac-toe only.
    Tictactoe,
    /// Rock-paper-scissors only.
    Rps,
    /// Hangman only (two bots per game).
    Hangman,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Server address.
    pub target: String,
    /// Bots connected at once.
    pub players: usize,
    /// Games per bot, on average: the run stops after `players x games / 2` games.
    pub games: usize,
    /// Which games.
    pub game: BotGame,
    /// Give up after this long.
    pub timeout: Duration,
    /// Seed for the bots' choices.
    pub seed: u64,
    /// Mean thinking time before each move (0: answer at once).
    pub think: Duration,
    /// Print the report as one JSON object (for scripts) instead of a sentence.
    pub json: bool,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Bots.
    pub players: usize,
    /// Distinct games that reached a result.
    pub games_finished: usize,
    /// Moves made by all bots.
    pub moves: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Median move round trip.
    pub p50: Duration,
    /// 99th percentile move round trip.
    pub p99: Duration,
    /// ERR lines, early closes, bots that did not finish.
    pub errors: u64,
}

impl netlab_common::stats::Report for BenchReport {
    fn to_json(&self) -> String {
        self.to_json()
    }

    fn summary(&self) -> String {
        self.summary()
    }

    fn errors(&self) -> u64 {
        self.errors
    }
}

impl BenchReport {
    /// Moves per second over the whole run.
    pub fn moves_per_sec(&self) -> f64 {
        self.moves as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A sentence for people.
    pub fn summary(&self) -> String {
        format!(
            "{} games finished by {} bots in {:.2}s: {:.0} moves/s, move round trip p50 {:.3} ms, p99 {:.3} ms, {} errors",
            self.games_finished,
            self.players,
            self.elapsed.as_secs_f64(),
            self.moves_per_sec(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.errors
        )
    }

    /// One line of JSON, for scripts; the fields in this order, rates rounded for reading.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "players": self.players,
            "games_finished": self.games_finished,
            "moves": self.moves,
            "seconds": stats::rounded(self.elapsed.as_secs_f64(), 3),
            "moves_per_sec": stats::rounded(self.moves_per_sec(), 1),
            "p50_us": self.p50.as_micros(),
            "p99_us": self.p99.as_micros(),
            "errors": self.errors,
        })
        .to_string()
    }
}

/// One bot: its connection, what it has read, and where it is.
struct Bot {
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
    done: bool,
}

/// Everything the bots measured together.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    rooms_finished: HashSet<String>,
    errors: u64,
    /// Bots that decided a move and want it sent after their thinking time.
    thinking: Vec<usize>,
    /// Bots that have their `WELCOME` (and so their name).
    welcomed: usize,
    /// Bots seated at their first game (`JOINED`), before the clock starts.
    seated: usize,
    /// The clock has started: moves go out after their thinking time.
    playing: bool,
    /// Bots whose first move waits for the clock to start.
    held: Vec<usize>,
}

/// The bots and their event loop.
struct Bench {
    poll: Poll,
    events: Events,
    bots: Vec<Bot>,
    tally: Tally,
    /// Bots whose connection is still open.
    connected: usize,
    scratch: Vec<u8>,
}

impl Bench {
    /// Runs the event loop until `ready(tally, bots connected)` or the deadline.
    fn wait_for(&mut self, deadline: Instant, ready: fn(&Tally, usize) -> bool) -> Result<()> {
        while !ready(&self.tally, self.connected) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.pump(left.min(Duration::from_millis(200)), usize::MAX)?;
        }
        Ok(())
    }

    /// Waits up to `wait` for events, then lets every bot with something to read react to it,
    /// stopping early once `target` games have finished (so the count does not overshoot when
    /// several games end at once).
    fn pump(&mut self, wait: Duration, target: usize) -> Result<()> {
        self.poll
            .poll(&mut self.events, Some(wait))
            .map_err(|err| Error::io("waiting for events", err))?;
        for event in self.events.iter() {
            let Some(bot) = self.bots.get_mut(event.token().0) else {
                continue;
            };
            if bot.done {
                continue;
            }
            bot.serve(&mut self.tally, &mut self.scratch);
            if bot.done {
                self.connected -= 1;
            }
            if self.tally.rooms_finished.len() >= target {
                break;
            }
        }
        Ok(())
    }
}

/// `game-lab bench`: says what it will do, runs the bots, prints the report. Fails (exit 1) if
/// any bot got an `ERR`, lost its connection or left a game unfinished.
pub fn run(config: &BenchConfig) -> Result<()> {
    if !config.json {
        term::info(format!(
            "{} bots, {} game(s) each, think {} ms, against {}",
            config.players,
            config.games,
            config.think.as_millis(),
            config.target
        ));
    }
    let report = measure(config)?;
    stats::print_report(
        &report,
        config.json,
        "bots got ERR lines, lost connections or left games unfinished",
    )
}

/// Runs the bots until every one has played its games, or the timeout, and returns what they
/// measured.
///
/// Three phases (the module docs say why): every bot connects and waits for its `WELCOME`; every
/// bot asks for a game and waits to be seated, holding a first move it is offered meanwhile; then
/// the clock starts, the held moves go out after their thinking time, and the bots play.
pub fn measure(config: &BenchConfig) -> Result<BenchReport> {
    let poll = Poll::new().map_err(|err| Error::io("creating the event loop", err))?;
    let bots = connect_bots(config, &poll)?;
    let mut bench = Bench {
        poll,
        events: Events::with_capacity(1024),
        connected: bots.len(),
        bots,
        tally: Tally::default(),
        scratch: vec![0u8; 64 * 1024],
    };
    let deadline = Instant::now() + config.timeout;
    // A bot the server refuses is closed (and counted as an error), so wait for the others only.
    bench.wait_for(deadline, |tally, connected| tally.welcomed >= connected)?;
    for bot in &mut bench.bots {
        bot.ask_for_a_game(&mut bench.tally);
    }
    bench.connected = bench.bots.iter().filter(|bot| !bot.done).count();
    bench.wait_for(deadline, |tally, connected| tally.seated >= connected)?;
    let started = Instant::now();
    bench.tally.playing = true;
    let held = std::mem::take(&mut bench.tally.held);
    bench.tally.thinking.extend(held);
    let target = (config.players * config.games / 2).max(1);
    // Moves waiting for their thinking time to pass, earliest first.
    let mut due: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
    let mut random = SplitMix64::new(config.seed);
    while bench.tally.rooms_finished.len() < target
        && bench.connected > 0
        && Instant::now() < deadline
    {
        // Bots that just decided a move start thinking; moves whose time has come go out.
        for index in bench.tally.thinking.drain(..) {
            let delay = think_time(config.think, &mut random);
            due.push(Reverse((Instant::now() + delay, index)));
        }
        while let Some(Reverse((when, index))) = due.peek().copied() {
            if when > Instant::now() {
                break;
            }
            due.pop();
            if let Some(bot) = bench.bots.get_mut(index) {
                bot.send_pending_move(&mut bench.tally);
                if bot.done {
                    bench.connected -= 1;
                }
            }
        }
        let wait = due
            .peek()
            .map_or(Duration::from_millis(200), |Reverse((when, _))| {
                when.saturating_duration_since(Instant::now())
            });
        bench.pump(wait, target)?;
    }
    let elapsed = started.elapsed();
    let mut tally = bench.tally;
    tally.errors += target.saturating_sub(tally.rooms_finished.len()) as u64;
    tally.latencies.sort_unstable();
    Ok(BenchReport {
        players: bench.bots.len(),
        games_finished: tally.rooms_finished.len(),
        moves: tally.latencies.len() as u64,
        elapsed,
        p50: netlab_common::stats::percentile(&tally.latencies, 50),
        p99: netlab_common::stats::percentile(&tally.latencies, 99),
        errors: tally.errors,
    })
}

fn connect_bots(config: &BenchConfig, poll: &Poll) -> Result<Vec<Bot>> {
    let mut bots = Vec::with_capacity(config.players);
    for index in 0..config.players {
        let stream = net::connect_nonblocking(&config.target, net::CONNECT_TIMEOUT, true)?;
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
    fn serve(&mut self, tally: &mut Tally, scratch: &mut [u8]) {
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
    fn ask_for_a_game(&mut self, tally: &mut Tally) {
        if !self.done {
            self.say(&format!("quick {}", self.game));
            self.flush(tally);
        }
    }

    fn pick<'a>(&mut self, moves: &[&'a str]) -> Option<&'a str> {
        moves.get(self.random.index(moves.len())).copied()
    }

    /// Sends the move decided earlier, now that the thinking time has passed.
    fn send_pending_move(&mut self, tally: &mut Tally) {
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

/// A thinking time uniformly spread over 0 to twice `mean`.
fn think_time(mean: Duration, random: &mut SplitMix64) -> Duration {
    random.duration_up_to(mean.saturating_mul(2))
}
