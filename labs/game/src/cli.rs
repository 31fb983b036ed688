//! # Command line: `game-lab serve | play | bench | grade`
//!
//! This is the only module that knows clap. It parses the flags into `...Args` structs, turns
//! them into the plain config each program module takes ([`ServeConfig`] with its
//! [`LobbyConfig`], [`PlayConfig`], [`BenchConfig`], [`GradeConfig`]), and calls that module's
//! `run`. `--bind`, `--port`, `--max-clients`, `--idle-timeout` and `--trace` come from
//! `netlab_common::cli`, so every lab spells them the same way.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use netlab_common::Result;
use netlab_common::cli::{
    ConsoleArgs, GradingArgs, IdleTimeoutArgs, ServerArgs, TraceArgs, parse_seconds,
};
use netlab_common::trace_json::{Described, describe_lines};

use crate::bench::{self, BenchConfig, BotGame, Target};
use crate::client::{self, PlayConfig};
use crate::grade::{self, GradeConfig};
use crate::server::{self, Engine, LobbyConfig, ServeConfig};

/// The game lab's default port.
pub const DEFAULT_PORT: u16 = 7080;

/// Players connected at once unless `--max-players` says otherwise.
pub const DEFAULT_MAX_PLAYERS: usize = 256;

/// Seconds a connection may stay silent unless `--idle-timeout` says otherwise: ten minutes, as
/// a person may think that long between games (and a spectator of a game is never idle).
pub const DEFAULT_IDLE_TIMEOUT: u64 = 600;

/// netlab game lab: a server for tic-tac-toe, rock-paper-scissors and hangman (a thread per player,
/// or one event loop: `serve --engine`).
#[derive(Parser, Debug)]
#[command(name = "game-lab", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  game-lab serve                                   # port 7080, threads per player
  game-lab serve --engine mio --max-players 10000  # one thread, an event loop
  game-lab play 127.0.0.1:7080                     # then: quick tictactoe
  nc 127.0.0.1 7080                                # the protocol is plain lines: type help
  game-lab serve --port 0 --max-players 2000 &
  game-lab bench 127.0.0.1:PORT --players 1000     # bots play whole games, report latency
  game-lab bench --start-server mio --players 10000 --think 100   # C10K: server started for the run
  game-lab grade 127.0.0.1:9000                    # grade any game server (docs/protocols/game.md)
See docs/game.md for the walkthrough and the protocol.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the game server (prints `listening on IP:PORT`; Ctrl-C stops it).
    Serve(ServeArgs),
    /// Play in the terminal: the board in color, your moves, room chat.
    Play(PlayArgs),
    /// Bot players that join by matchmaking and play whole games: games/s, move latency.
    Bench(BenchArgs),
    /// Grade a tic-tac-toe server written by anyone, in any language, against
    /// docs/protocols/game.md.
    ///
    /// Plays whole games against the server's rules, and checks refused moves, split and merged
    /// lines, limits, 20 games at once, a client that never reads and a player who vanishes
    /// mid-game. Exit status 0 only when every required check passed.
    Grade(GradeArgs),
}

#[derive(Args, Debug)]
struct GradeArgs {
    #[command(flatten)]
    grade: GradingArgs,
    /// The idle timeout the server must have, in seconds: adds a check that a silent client is
    /// told and closed after that long (left out when not given). This is what the grader
    /// *expects of the server*, not a timeout of the grader's own.
    #[arg(long = "idle-timeout", value_name = "SECS", value_parser = parse_seconds)]
    expected_idle_timeout: Option<f64>,
}

/// The game server's flags. `--bind`, `--port`, `--max-clients` and `--idle-timeout` mean what
/// they mean in every lab; the player limit may also be spelled `--max-players` here, this lab's
/// word for its clients (the alias is added to the shared flag, see `mut_arg`).
#[derive(Args, Debug)]
#[command(mut_arg("max_clients", |arg| arg.visible_alias("max-players")))]
struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs<DEFAULT_PORT, DEFAULT_MAX_PLAYERS>,
    /// How the server waits for many players at once: `threads` (a reader and a writer thread
    /// per player, one lock around the lobby) or `mio` (one thread, an event loop over
    /// non-blocking sockets). Same protocol, same limits.
    #[arg(long, value_enum, default_value_t = Engine::Threads, hide_possible_values = true)]
    engine: Engine,
    /// Seconds a player who dropped out of a game may take to come back (`resume TOKEN`, with the
    /// token the server sent at the start) before forfeiting.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    grace: u64,
    /// `--idle-timeout`: a silent connection is closed after that long, unless it is watching a
    /// game in progress.
    #[command(flatten)]
    idle: IdleTimeoutArgs<DEFAULT_IDLE_TIMEOUT>,
    /// Lines per second a player may send on average (bursts up to twice that); lines beyond it
    /// are refused with a reason, so one player's flood cannot crowd out everyone's pushes.
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_lines_per_sec: u32,
    /// Seed for hangman words (same seed, same words: a class can replay a session).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    trace: TraceArgs,
}

#[derive(Args, Debug)]
struct PlayArgs {
    /// Server address, e.g. 127.0.0.1:7080; a bare host means port 7080, where `game-lab
    /// serve` listens by default.
    #[arg(value_name = "HOST:PORT")]
    target: String,
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    console: ConsoleArgs,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Server address (or `--start-server ENGINE` instead).
    #[arg(value_name = "HOST:PORT", required_unless_present = "start_server")]
    target: Option<String>,
    /// Start `game-lab serve --engine ENGINE` on a free port for this run (room for every bot,
    /// no idle timeout, log discarded), report its threads and peak memory, and stop it after.
    #[arg(long, value_name = "ENGINE", value_enum, conflicts_with_all = ["target", "server_pid"])]
    start_server: Option<Engine>,
    /// The process id of the server at HOST:PORT: report its threads and peak memory (read from
    /// /proc/PID/status, Linux only).
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Bot players connected at once (pairs of them play each other).
    #[arg(long, default_value_t = 100,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=100_000))]
    players: usize,
    /// Games per bot on average: the run ends after players x games / 2 finished games.
    #[arg(long, default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    games: usize,
    /// Which game the bots play; `mixed` spreads them over all three.
    #[arg(long, value_enum, default_value_t = BotGame::Mixed)]
    game: BotGame,
    /// Give up after this many seconds; bots still playing count as errors.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Seed for the bots' random moves.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Mean milliseconds a bot thinks before each move (random 0 to twice this). 0 answers at
    /// once and measures the server at saturation.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    think: u64,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => server::run(serve_config(args)?),
        Command::Play(args) => client::run(&PlayConfig {
            tracer: args.trace.tracer("game")?.describing(describe_game),
            target: netlab_common::net::client_target(&args.target, DEFAULT_PORT, "game-lab serve"),
            plain: args.console.plain,
        }),
        Command::Bench(args) => bench::run(&bench_config(args)),
        Command::Grade(args) => grade::run(
            &grade_config(&args)?,
            &args
                .grade
                .plan(netlab_common::grade::server::Transport::Tcp),
        ),
    }
}

/// `serve`'s flags as the server takes them.
fn serve_config(args: ServeArgs) -> Result<ServeConfig> {
    Ok(ServeConfig {
        addr: args.server.addr(),
        engine: args.engine,
        lobby: LobbyConfig {
            max_players: args.server.max_clients,
            grace: Duration::from_secs(args.grace),
            seed: args.seed,
        },
        idle_timeout: args.idle.timeout(),
        max_lines_per_sec: args.max_lines_per_sec,
        tracer: args.trace.tracer("game")?.describing(describe_game),
    })
}

/// `bench`'s flags as the bots take them.
fn bench_config(args: BenchArgs) -> BenchConfig {
    let target = match (args.start_server, args.target) {
        (Some(engine), _) => Target::Start(engine),
        (None, target) => Target::Address(target.unwrap_or_default()),
    };
    BenchConfig {
        target,
        server_pid: args.server_pid,
        players: args.players,
        games: args.games,
        game: args.game,
        timeout: Duration::from_secs(args.timeout),
        seed: args.seed,
        think: Duration::from_millis(args.think),
        json: args.json,
    }
}

/// `grade`'s flags, the target resolved.
fn grade_config(args: &GradeArgs) -> Result<GradeConfig> {
    Ok(GradeConfig {
        target: args.grade.resolve()?,
        expected_idle_timeout: args.expected_idle_timeout.map(Duration::from_secs_f64),
        deadline: args.grade.deadline(),
        json: args.grade.json,
    })
}

/// `--trace-json` fields of the game's text lines: the first word (`keyword`) and, for a
/// player's `move N` or the server's `MOVED ROOM NAME N`, the square (`move`).
fn describe_game(bytes: &[u8]) -> Described {
    let mut described = describe_lines(bytes);
    let text = String::from_utf8_lossy(bytes);
    let words: Vec<&str> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let square = match words.as_slice() {
        [verb, square, ..] if verb.eq_ignore_ascii_case("move") => Some(*square),
        ["MOVED", _room, _name, square, ..] => Some(*square),
        // A seated player may type just the square (`5`), as the server accepts.
        [square] => Some(*square),
        _ => None,
    };
    if let Some(square) = square.and_then(|square| square.parse::<u32>().ok()) {
        described.fields.insert("move".into(), square.into());
    }
    described
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `serve`'s config from `extra` flags.
    fn serve(extra: &[&str]) -> ServeConfig {
        let cli = Cli::try_parse_from([&["game-lab", "serve"], extra].concat()).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        serve_config(args).unwrap()
    }

    /// The player limit answers to both spellings, `--max-players` (this lab's) and
    /// `--max-clients` (every lab's), with the lab's default of 256.
    #[test]
    fn max_players_has_both_spellings() {
        assert_eq!(serve(&[]).lobby.max_players, 256);
        assert_eq!(serve(&["--max-players", "3"]).lobby.max_players, 3);
        assert_eq!(serve(&["--max-clients", "4"]).lobby.max_players, 4);
        assert!(Cli::try_parse_from(["game-lab", "serve", "--max-players", "0"]).is_err());
    }

    /// `serve --idle-timeout`: 600 s by default, and 0 now means never (it was refused).
    #[test]
    fn idle_timeout_default_and_never() {
        assert_eq!(serve(&[]).idle_timeout, Some(Duration::from_secs(600)));
        assert_eq!(serve(&["--idle-timeout", "0"]).idle_timeout, None);
        assert_eq!(
            serve(&["--idle-timeout", "2"]).idle_timeout,
            Some(Duration::from_secs(2))
        );
    }

    /// `grade --idle-timeout` is what the server must do, in seconds (fractions allowed), and
    /// adds nothing when left out.
    #[test]
    fn grader_idle_timeout_is_the_servers_expected_one() {
        let grade = |extra: &[&str]| {
            let all = [&["game-lab", "grade", "127.0.0.1:7080"], extra].concat();
            let Command::Grade(args) = Cli::try_parse_from(all).unwrap().command else {
                panic!("not grade")
            };
            grade_config(&args).unwrap().expected_idle_timeout
        };
        assert_eq!(grade(&[]), None);
        assert_eq!(
            grade(&["--idle-timeout", "1.5"]),
            Some(Duration::from_millis(1500))
        );
    }
}
