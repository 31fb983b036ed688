//! # Command line: `tcp-echo serve | connect | bench | grade`
//!
//! Flags shared with the other labs (`--bind`, `--port`, `--max-clients`, `--framing`, `--trace`)
//! come from `netlab_common::cli`, so every lab spells them the same way.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use netlab_common::cli::{FramingArgs, OnOff, ServerArgs, TraceArgs, parse_seconds};
use netlab_common::framing::Framing;
use netlab_common::{Result, Tracer, stats, term};

use crate::bench::{self, BenchConfig};
use crate::boundaries::{self, BoundariesConfig, BoundariesReport};
use crate::client::{self, ConnectOptions};
use crate::server::{self, EchoConfig, Engine};

/// The echo lab's default port (RFC 862 echo is port 7, which needs root; 7007 does not).
pub const DEFAULT_PORT: u16 = 7007;

/// Clients served at once unless `--max-clients` says otherwise.
pub const DEFAULT_MAX_CLIENTS: usize = 64;

/// Seconds a client may stay silent unless `--idle-timeout` says otherwise: five minutes, as in
/// `tcp-chat room serve`. Long enough for a person thinking at `tcp-echo connect`; short enough
/// that connections to dead machines do not hold places under `--max-clients` for long.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 300;

/// netlab TCP echo lab: the simplest useful server, two ways to serve many clients, three framings.
#[derive(Parser, Debug)]
#[command(name = "tcp-echo", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  tcp-echo serve                                  # line framing, thread per client, port 7007
  tcp-echo connect 127.0.0.1:7007                 # type messages, see ACKs; `status`, `exit`
  tcp-echo serve --framing raw --engine mio --port 0
  nc 127.0.0.1 7007                               # any line-based tool can talk to it
  tcp-echo bench 127.0.0.1:7007 --connections 256 --size 64 --duration 5   # a raw server
  tcp-echo bench 127.0.0.1:7007 --framing line --boundaries 1000   # what breaks without framing
  tcp-echo grade 127.0.0.1:9000 --framing raw     # grade any echo server (docs/protocols/echo.md)
See docs/tcp-echo.md for the walkthrough.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the echo server (prints `listening on IP:PORT`; Ctrl-C stops it).
    Serve(ServeArgs),
    /// Connect and send what you type; replies are printed as they arrive.
    Connect(ConnectArgs),
    /// Load-test an echo server (any RFC 862 server in raw framing, or ours in any framing):
    /// round trips/s, latency, MB/s; or show what breaks without framing (--boundaries).
    Bench(BenchArgs),
    /// Grade an echo server written by anyone, in any language, against docs/protocols/echo.md:
    /// split and merged frames, half-close, many clients, a client that never reads or vanishes.
    Grade(GradeArgs),
}

#[derive(Args, Debug)]
struct GradeArgs {
    #[command(flatten)]
    grade: netlab_common::cli::GradingArgs,
    #[command(flatten)]
    framing: FramingArgs,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs<DEFAULT_PORT, DEFAULT_MAX_CLIENTS>,
    #[command(flatten)]
    framing: FramingArgs,
    #[command(flatten)]
    trace: TraceArgs,
    /// How to serve many clients at once: a thread per client, or one event-loop thread (mio).
    #[arg(long, value_enum, default_value_t = Engine::Threads)]
    engine: Engine,
    /// TCP_NODELAY on accepted connections. `off` lets Nagle's algorithm delay small writes;
    /// with `--read-size 1024` that reproduces a classic 40 ms stall (docs/tcp-echo.md).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    nodelay: OnOff,
    /// Bytes asked for per read in raw framing (the echo is written back one read at a time).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16 * 1024 * 1024))]
    read_size: usize,
    /// Disconnect a client that moves no byte for SECONDS seconds (told why in line and length
    /// framing; in raw framing the connection is just closed); 0: never. A pulled cable or a
    /// crashed laptop behind a NAT sends no FIN, so without keepalive or an idle timeout the
    /// server never learns the peer is gone (RFC 1122 4.2.3.6) and its place is taken for ever.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_IDLE_TIMEOUT,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(0..=86_400))]
    idle_timeout: u64,
}

#[derive(Args, Debug)]
struct ConnectArgs {
    /// Server address, e.g. 127.0.0.1:7007 or [::1]:7007.
    #[arg(value_name = "HOST:PORT")]
    target: String,
    #[command(flatten)]
    framing: FramingArgs,
    #[command(flatten)]
    trace: TraceArgs,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Address of an echo server: any RFC 862 server for --framing raw, or ours started with the
    /// same --framing.
    #[arg(value_name = "HOST:PORT")]
    target: String,
    /// How messages are delimited: raw (bytes, no boundaries), line (each message ends with \n;
    /// the server answers `ACK message`) or length (4-byte big-endian length prefix, also
    /// answered with `ACK message`). The server must use the same framing.
    #[arg(long, value_enum, default_value_t = Framing::Raw)]
    framing: Framing,
    /// Connections open at once, each doing its own ping-pong.
    #[arg(long, short = 'c', default_value_t = 1,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    connections: usize,
    /// Payload bytes per message (ping-pong; stream in line/length framing; the largest message
    /// with --boundaries). Accepts K/M suffixes.
    #[arg(long, short = 's', default_value = "64", value_parser = parse_size)]
    size: usize,
    /// Seconds to run the ping-pong test.
    #[arg(long, short = 'd', default_value_t = 5.0, value_parser = parse_seconds)]
    duration: f64,
    /// Stream mode: send this many payload bytes per connection while reading the echo (e.g. 1G),
    /// and report throughput instead of ping-pong latency.
    #[arg(long, value_name = "BYTES", value_parser = bench::parse_bytes)]
    stream: Option<u64>,
    /// Boundaries mode: send N messages of 1 to --size bytes, several per write, on one
    /// connection, and count how many the receiver gets back whole: with raw framing each read is
    /// taken as a message; with line or length framing the decoder splits them.
    #[arg(long, value_name = "N", conflicts_with_all = ["stream", "connections", "duration"],
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    boundaries: Option<usize>,
    /// TCP_NODELAY on the generator's connections.
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    nodelay: OnOff,
    /// Print the result as one JSON object (for scripts).
    #[arg(long)]
    json: bool,
}

fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let bytes = bench::parse_bytes(text)?;
    usize::try_from(bytes)
        .ok()
        .filter(|&size| size <= 64 << 20)
        .ok_or_else(|| format!("`{text}` is too large for one message (max 64M)"))
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = EchoConfig {
                framing: args.framing.framing,
                max_frame: args.framing.max_frame,
                max_clients: args.server.max_clients,
                nodelay: args.nodelay.is_on(),
                read_size: args.read_size,
                idle_timeout: idle_timeout(args.idle_timeout),
                tracer: Tracer::new(args.trace.trace),
            };
            server::run(args.server.addr(), args.engine, config)
        }
        Command::Connect(args) => client::run(&ConnectOptions {
            target: args.target,
            framing: args.framing.framing,
            max_frame: args.framing.max_frame,
            tracer: Tracer::new(args.trace.trace),
        }),
        Command::Bench(args) => run_bench(args),
        Command::Grade(args) => run_grade(&args),
    }
}

/// `--idle-timeout SECONDS` as the server takes it: 0 means never. (Whole seconds and 0 allowed,
/// as in `tcp-chat room serve`; `netlab_common::cli::parse_seconds` refuses 0, so it does not fit.)
fn idle_timeout(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// Prints the rubric; fails (exit 1) unless every required check passed.
fn run_grade(args: &GradeArgs) -> Result<()> {
    let target = args.grade.resolve()?;
    let rubric = crate::grade::grade(
        target,
        args.framing.framing,
        args.framing.max_frame,
        args.grade.deadline(),
    );
    rubric.report(args.grade.json)
}

fn run_bench(args: BenchArgs) -> Result<()> {
    if let Some(messages) = args.boundaries {
        return run_boundaries(args, messages);
    }
    let in_framing = match args.framing {
        Framing::Raw => String::new(),
        framing => format!(", {} framing", framing.name()),
    };
    let config = BenchConfig {
        target: args.target,
        framing: args.framing,
        connections: args.connections,
        size: args.size,
        duration: Duration::from_secs_f64(args.duration),
        stream_bytes: args.stream,
        nodelay: args.nodelay.is_on(),
    };
    if !args.json {
        match config.stream_bytes {
            Some(bytes) => term::info(format!(
                "streaming {bytes} bytes on each of {} connection(s) to {}{in_framing}",
                config.connections, config.target
            )),
            None => term::info(format!(
                "ping-pong: {} connection(s) x {}-byte messages for {:.1}s against {}{in_framing}",
                config.connections, config.size, args.duration, config.target
            )),
        }
    }
    let report = bench::run(&config)?;
    let explanation = match report.closed_by_server {
        0 => what_errors_mean(config.framing, report.first_error.as_deref()),
        closed => refused_or_closed(closed, report.errors, report.first_error.as_deref()),
    };
    stats::print_report(&report, args.json, &explanation)
}

/// The failure line's explanation: the usual cause, then the first error seen.
fn what_errors_mean(framing: Framing, first_error: Option<&str>) -> String {
    format!(
        "the server lost, changed or did not return bytes (is it in {} framing?){}",
        framing.name(),
        first_words(first_error)
    )
}

/// The failure line when the server ended connections early: how many, and the usual cause.
fn refused_or_closed(closed: u64, errors: u64, first_error: Option<&str>) -> String {
    let others = match errors.saturating_sub(closed) {
        0 => String::new(),
        other => format!(" ({other} other errors)"),
    };
    format!(
        "the server refused/closed {closed} connection(s) before their echo was complete \
         (are there more --connections than its --max-clients?){others}{}",
        first_words(first_error)
    )
}

/// `; first: WHY`, or nothing.
fn first_words(first_error: Option<&str>) -> String {
    first_error
        .map(|why| format!("; first: {why}"))
        .unwrap_or_default()
}

fn run_boundaries(args: BenchArgs, messages: usize) -> Result<()> {
    let config = BoundariesConfig {
        target: args.target,
        framing: args.framing,
        messages,
        size: args.size,
        nodelay: args.nodelay.is_on(),
    };
    if !args.json {
        term::info(format!(
            "boundaries: {messages} messages of 1 to {} bytes, 1 to {} per write, {} framing, to {}",
            config.size,
            boundaries::MAX_BATCH,
            config.framing.name(),
            config.target
        ));
    }
    let report = boundaries::run(&config)?;
    print_boundaries(&report, args.json);
    match report.errors {
        0 => Ok(()),
        errors => Err(netlab_common::Error::Protocol(format!(
            "{errors} errors: {}",
            what_errors_mean(config.framing, report.first_error.as_deref())
        ))),
    }
}

/// Prints the boundaries result. Messages a raw receiver could not recover are the lesson, not a
/// failure, so that verdict is plain information; only errors (bad bytes) are reported as such.
fn print_boundaries(report: &BoundariesReport, json: bool) {
    if json {
        println!("{}", report.to_json());
        return;
    }
    term::info(report.reads_sentence());
    if report.errors > 0 {
        term::error(report.verdict());
    } else if report.recovered == report.messages {
        term::success(report.verdict());
    } else {
        term::info(report.verdict());
    }
}
