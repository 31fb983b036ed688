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
//! All bots run in one thread with a mio event loop, so a thousand of them (or ten thousand) cost
//! the benchmark one core at most and leave the rest of the machine to the server under test.
//! Each bot is a socket, and so a file descriptor: the bench raises its own open-files limit
//! (`ulimit -n`) as far as the hard limit allows, and says what to raise when that is not enough.
//! Every `ERR` line, early close or game short of the target counts as an error: bots only send
//! moves the server offered.
//!
//! ## What the server costs
//! With `--start-server ENGINE` the bench starts `game-lab serve` itself for the run; with
//! `--server-pid PID` it is told which process serves. Either way it reports the server's
//! threads and peak memory from `/proc/PID/status` (Linux), the numbers that tell a thread per
//! player from an event loop (`server_under_test.rs`).
//!
//! ## Layout
//! - this file: the config, the report and the three phases of a run;
//! - `bot.rs`: one bot (its socket, its lines, its strategy);
//! - `server_under_test.rs`: starting the server, and reading its threads and memory.
//!
//! ## What a round trip includes
//! The clock stops when the bot reads the reply, so a round trip also includes the time the reply
//! waited for the bots' one thread: while it handled other bots' events, and while it waited for a
//! core, which it shares with the server's 2,000 threads. docs/game.md has how much of a round
//! trip that is.

mod bot;
mod server_under_test;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use netlab_common::random::SplitMix64;
use netlab_common::{Error, Result, stats, term};

use crate::server::Engine;
use crate::server::limits::raise_open_files_limit;
use bot::{Bot, connect_bots};
pub use server_under_test::ServerUsage;
use server_under_test::{StartedServer, Watch};

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

/// Which server the bots play on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A server already running at this address.
    Address(String),
    /// Start `game-lab serve --engine ENGINE` on a free port for this run, and stop it after.
    Start(Engine),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The server.
    pub target: Target,
    /// The server's process id, to report its threads and peak memory (Linux); not needed when
    /// the bench starts the server itself.
    pub server_pid: Option<u32>,
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
    /// 99.9th percentile move round trip.
    pub p999: Duration,
    /// ERR lines, early closes, bots that did not finish.
    pub errors: u64,
    /// The server's threads and peak memory, when its process could be watched.
    pub server: Option<ServerUsage>,
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
        let server = self.server.map_or(String::new(), |usage| {
            format!(
                "; server: {} threads, peak RSS {:.1} MiB",
                usage.peak_threads,
                usage.peak_rss_kib as f64 / 1024.0
            )
        });
        format!(
            "{} games finished by {} bots in {:.2}s: {:.0} moves/s, move round trip p50 {:.3} ms, p99 {:.3} ms, p999 {:.3} ms, {} errors{server}",
            self.games_finished,
            self.players,
            self.elapsed.as_secs_f64(),
            self.moves_per_sec(),
            millis(self.p50),
            millis(self.p99),
            millis(self.p999),
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
            "p999_us": self.p999.as_micros(),
            "errors": self.errors,
            "server_threads": self.server.map(|usage| usage.peak_threads),
            "server_peak_rss_kib": self.server.map(|usage| usage.peak_rss_kib),
        })
        .to_string()
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The `per_mille`th per-mille of `sorted` by the nearest-rank method (`stats::percentile` in
/// thousandths, for the p999 that a thousand-player run has enough samples for).
fn per_mille(sorted: &[Duration], per_mille: usize) -> Duration {
    let rank = (sorted.len() * per_mille).div_ceil(1000).max(1) - 1;
    sorted.get(rank).copied().unwrap_or_default()
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
    /// The server's process, when it can be watched.
    watch: Option<Watch>,
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
        if let Some(watch) = &mut self.watch {
            watch.sample();
        }
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
            let end_reported = event.is_read_closed() || event.is_error();
            bot.serve(&mut self.tally, &mut self.scratch, end_reported);
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

/// `game-lab bench`: raises the open-files limit for its bots, starts the server if asked to,
/// says what it will do, runs the bots, prints the report. Fails (exit 1) if any bot got an
/// `ERR`, lost its connection or left a game unfinished.
pub fn run(config: &BenchConfig) -> Result<()> {
    // One descriptor per bot; a server started here inherits the raised limit too.
    raise_open_files_limit(config.players, 1);
    let started = match &config.target {
        Target::Start(engine) => Some(StartedServer::start(*engine, config.players)?),
        Target::Address(_) => None,
    };
    let target = match (&config.target, &started) {
        (_, Some(server)) => server.addr.clone(),
        (Target::Address(addr), None) => addr.clone(),
        (Target::Start(_), None) => return Err(Error::Failed("the server did not start".into())),
    };
    let pid = started
        .as_ref()
        .map(StartedServer::pid)
        .or(config.server_pid);
    if !config.json {
        let engine = match &config.target {
            Target::Start(engine) => format!(" (engine {}, started for this run)", engine.name()),
            Target::Address(_) => String::new(),
        };
        term::info(format!(
            "{} bots, {} game(s) each, think {} ms, against {target}{engine}",
            config.players,
            config.games,
            config.think.as_millis(),
        ));
    }
    let report = measure(config, &target, pid.map(Watch::new))?;
    drop(started);
    stats::print_report(
        &report,
        config.json,
        "bots got ERR lines, lost connections or left games unfinished",
    )
}

/// Runs the bots against `target` until every one has played its games, or the timeout, and
/// returns what they measured (and what the server cost, when `watch` can see it).
///
/// Three phases (the module docs say why): every bot connects and waits for its `WELCOME`; every
/// bot asks for a game and waits to be seated, holding a first move it is offered meanwhile; then
/// the clock starts, the held moves go out after their thinking time, and the bots play.
fn measure(config: &BenchConfig, target: &str, watch: Option<Watch>) -> Result<BenchReport> {
    let poll = Poll::new().map_err(|err| Error::io("creating the event loop", err))?;
    let bots = connect_bots(config, target, &poll)?;
    let mut bench = Bench {
        poll,
        events: Events::with_capacity(1024),
        connected: bots.len(),
        bots,
        tally: Tally::default(),
        scratch: vec![0u8; 64 * 1024],
        watch,
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
        p999: per_mille(&tally.latencies, 999),
        errors: tally.errors,
        server: bench.watch.and_then(Watch::finish),
    })
}

/// A thinking time uniformly spread over 0 to twice `mean`.
fn think_time(mean: Duration, random: &mut SplitMix64) -> Duration {
    random.duration_up_to(mean.saturating_mul(2))
}
