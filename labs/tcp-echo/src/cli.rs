//! # Command line: `tcp-echo serve | connect | bench`
//!
//! Flags shared with the other labs (`--bind`, `--port`, `--max-clients`, `--framing`, `--trace`)
//! come from `netlab_common::cli`, so every lab spells them the same way.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use netlab_common::cli::{FramingArgs, OnOff, ServerArgs, TraceArgs};
use netlab_common::{Result, Tracer, stats, term};

use crate::bench::{self, BenchConfig};
use crate::client::{self, ConnectOptions};
use crate::server::{self, EchoConfig, Engine};

/// The echo lab's default port (RFC 862 echo is port 7, which needs root; 7007 does not).
pub const DEFAULT_PORT: u16 = 7007;

/// Clients served at once unless `--max-clients` says otherwise.
pub const DEFAULT_MAX_CLIENTS: usize = 64;

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
  tcp-echo bench 127.0.0.1:7007 --connections 256 --size 64 --duration 5   # needs --framing raw
See docs/tcp-echo.md for the walkthrough.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the echo server (prints `listening on IP:PORT`; Ctrl-C stops it).
    Serve(ServeArgs),
    /// Connect and send what you type; replies are printed as they arrive.
    Connect(ConnectArgs),
    /// Load-test any raw (RFC 862) echo server: round trips/s, latency, MB/s.
    Bench(BenchArgs),
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
    /// Address of a raw echo server (ours with --framing raw, or any RFC 862 server).
    #[arg(value_name = "HOST:PORT")]
    target: String,
    /// Connections open at once, each doing its own ping-pong.
    #[arg(long, short = 'c', default_value_t = 1,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    connections: usize,
    /// Bytes per message (ping-pong). Accepts K/M suffixes.
    #[arg(long, short = 's', default_value = "64", value_parser = parse_size)]
    size: usize,
    /// Seconds to run the ping-pong test.
    #[arg(long, short = 'd', default_value_t = 5.0, value_parser = parse_seconds)]
    duration: f64,
    /// Stream mode: send this many bytes per connection while reading the echo (e.g. 1G), and
    /// report throughput instead of ping-pong latency.
    #[arg(long, value_name = "BYTES", value_parser = bench::parse_bytes)]
    stream: Option<u64>,
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

fn parse_seconds(text: &str) -> std::result::Result<f64, String> {
    match text.trim_end_matches('s').parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(seconds),
        _ => Err(format!(
            "`{text}` is not a duration in seconds (e.g. 5 or 0.5)"
        )),
    }
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
    }
}

fn run_bench(args: BenchArgs) -> Result<()> {
    let config = BenchConfig {
        target: args.target,
        connections: args.connections,
        size: args.size,
        duration: Duration::from_secs_f64(args.duration),
        stream_bytes: args.stream,
        nodelay: args.nodelay.is_on(),
    };
    if !args.json {
        match config.stream_bytes {
            Some(bytes) => term::info(format!(
                "streaming {bytes} bytes on each of {} connection(s) to {}",
                config.connections, config.target
            )),
            None => term::info(format!(
                "ping-pong: {} connection(s) x {}-byte messages for {:.1}s against {}",
                config.connections, config.size, args.duration, config.target
            )),
        }
    }
    let report = bench::run(&config)?;
    stats::print_report(
        &report,
        args.json,
        "the server lost, changed or did not return bytes (is it in raw framing?)",
    )
}
