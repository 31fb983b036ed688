//! # Command line: `game-lab serve | play | bench | grade`

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use netlab_common::cli::{GradingArgs, TraceArgs, parse_seconds};
use netlab_common::{Result, Tracer, stats, term};

use crate::bench::{self, BenchConfig, BotGame};
use crate::client;
use crate::server::{self, LobbyConfig, ServerConfig};

/// The game lab's default port.
pub const DEFAULT_PORT: u16 = 7080;

/// Players connected at once unless `--max-players` says otherwise.
pub const DEFAULT_MAX_PLAYERS: usize = 256;

/// netlab game lab: a multithreaded server for tic-tac-toe, rock-paper-scissors and hangman.
#[derive(Parser, Debug)]
#[command(name = "game-lab", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  game-lab serve                                   # port 7080, thread per connection
  game-lab play 127.0.0.1:7080                     # then: quick tictactoe
  nc 127.0.0.1 7080                                # the protocol is plain lines: type help
  game-lab serve --port 0 --max-players 2000 &
  game-lab bench 127.0.0.1:PORT --players 1000     # bots play whole games, report latency
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
    /// told and closed after that long (left out when not given).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    idle_timeout: Option<f64>,
}

/// The game server's flags. `--bind` and `--port` mean what they mean in every lab; the player
/// limit is spelled `--max-players` here (with `--max-clients` as an alias, the other labs' word).
#[derive(Args, Debug)]
struct ServeArgs {
    /// IP address to listen on. 127.0.0.1 accepts only this machine; 0.0.0.0 (or ::) opens the
    /// server to your network.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// TCP port; 0 lets the OS pick a free one (printed as "listening on IP:PORT").
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Most players connected at once; the next one is told the server is full.
    #[arg(long, visible_alias = "max-clients", value_name = "N", default_value_t = DEFAULT_MAX_PLAYERS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    max_players: usize,
    /// Seconds a player who dropped out of a game may take to come back (`resume TOKEN`, with the
    /// token the server sent at the start) before forfeiting.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    grace: u64,
    /// Seconds of silence after which a connection is closed (not while it watches a game).
    #[arg(long, value_name = "SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
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
    /// Server address, e.g. 127.0.0.1:7080.
    #[arg(value_name = "HOST:PORT")]
    target: String,
    #[command(flatten)]
    trace: TraceArgs,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Server address.
    #[arg(value_name = "HOST:PORT")]
    target: String,
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
        Command::Serve(args) => {
            let addr = std::net::SocketAddr::new(args.bind, args.port);
            server::run(ServerConfig {
                addr,
                lobby: LobbyConfig {
                    max_players: args.max_players,
                    grace: Duration::from_secs(args.grace),
                    seed: args.seed,
                },
                idle_timeout: Duration::from_secs(args.idle_timeout),
                max_lines_per_sec: args.max_lines_per_sec,
                tracer: Tracer::new(args.trace.trace),
            })
        }
        Command::Play(args) => client::run(&args.target, Tracer::new(args.trace.trace)),
        Command::Grade(args) => run_grade(&args),
        Command::Bench(args) => {
            let config = BenchConfig {
                target: args.target,
                players: args.players,
                games: args.games,
                game: args.game,
                timeout: Duration::from_secs(args.timeout),
                seed: args.seed,
                think: Duration::from_millis(args.think),
            };
            if !args.json {
                term::info(format!(
                    "{} bots, {} game(s) each, think {} ms, against {}",
                    config.players, config.games, args.think, config.target
                ));
            }
            let report = bench::run(&config)?;
            stats::print_report(
                &report,
                args.json,
                "bots got ERR lines, lost connections or left games unfinished",
            )
        }
    }
}

/// Prints the rubric; fails (exit 1) unless every required check passed.
fn run_grade(args: &GradeArgs) -> Result<()> {
    let rubric = crate::grade::grade(
        args.grade.resolve()?,
        args.idle_timeout.map(Duration::from_secs_f64),
        args.grade.deadline(),
    );
    rubric.report(args.grade.json)
}
