//! # Command line: `tcp-echo serve | connect | bench | grade`
//!
//! This is the only module that knows clap. It parses the flags into `...Args` structs, turns
//! them into the plain config each program module takes ([`ServeConfig`], [`ConnectConfig`],
//! [`BenchConfig`] or [`BoundariesConfig`], [`GradeConfig`]), and calls that module's `run`.
//! Flags shared with the other labs (`--bind`, `--port`, `--max-clients`, `--framing`, `--trace`,
//! `--idle-timeout`) come from `netlab_common::cli`, so every lab spells them the same way.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use netlab_common::Result;
use netlab_common::cli::{
    FramingArgs, IdleTimeoutArgs, OnOff, ServerArgs, TraceArgs, parse_bytes, parse_seconds,
};
use netlab_common::framing::Framing;
use netlab_common::trace_json::describer_for;

use crate::bench::{self, BenchConfig};
use crate::boundaries::{self, BoundariesConfig};
use crate::client::{self, ConnectConfig};
use crate::grade::{self, GradeConfig};
use crate::server::{self, Engine, ServeConfig};

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
    /// `--idle-timeout`: a client that moves no byte for that long is disconnected (told why in
    /// line and length framing; in raw framing the connection is just closed).
    #[command(flatten)]
    idle: IdleTimeoutArgs<DEFAULT_IDLE_TIMEOUT>,
}

#[derive(Args, Debug)]
struct ConnectArgs {
    /// Server address, e.g. 127.0.0.1:7007 or [::1]:7007; a bare host means port 7007, where
    /// `tcp-echo serve` listens by default.
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
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
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

/// `--size`: a byte count ([`parse_bytes`]) small enough for one message.
fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let bytes = parse_bytes(text)?;
    usize::try_from(bytes)
        .ok()
        .filter(|&size| size <= 64 << 20)
        .ok_or_else(|| format!("`{text}` is too large for one message (max 64M)"))
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => server::run(serve_config(args)?),
        Command::Connect(args) => client::run(&connect_config(args)?),
        Command::Bench(args) => match args.boundaries {
            Some(messages) => boundaries::run(&boundaries_config(args, messages)),
            None => bench::run(&bench_config(args)),
        },
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
        framing: args.framing.framing,
        max_frame: args.framing.max_frame,
        max_clients: args.server.max_clients,
        nodelay: args.nodelay.is_on(),
        read_size: args.read_size,
        idle_timeout: args.idle.timeout(),
        tracer: args
            .trace
            .tracer("tcp-echo")?
            .describing(describer_for(args.framing.framing)),
    })
}

/// `connect`'s flags as the client takes them.
fn connect_config(args: ConnectArgs) -> Result<ConnectConfig> {
    Ok(ConnectConfig {
        tracer: args
            .trace
            .tracer("tcp-echo")?
            .describing(describer_for(args.framing.framing)),
        target: netlab_common::net::client_target(&args.target, DEFAULT_PORT, "tcp-echo serve"),
        framing: args.framing.framing,
        max_frame: args.framing.max_frame,
    })
}

/// `bench`'s flags for ping-pong or stream mode.
fn bench_config(args: BenchArgs) -> BenchConfig {
    BenchConfig {
        target: args.target,
        framing: args.framing,
        connections: args.connections,
        size: args.size,
        duration: Duration::from_secs_f64(args.duration),
        stream_bytes: args.stream,
        nodelay: args.nodelay.is_on(),
        json: args.json,
    }
}

/// `bench --boundaries N`'s flags.
fn boundaries_config(args: BenchArgs, messages: usize) -> BoundariesConfig {
    BoundariesConfig {
        target: args.target,
        framing: args.framing,
        messages,
        size: args.size,
        nodelay: args.nodelay.is_on(),
        json: args.json,
    }
}

/// `grade`'s flags, the target resolved.
fn grade_config(args: &GradeArgs) -> Result<GradeConfig> {
    Ok(GradeConfig {
        target: args.grade.resolve()?,
        framing: args.framing.framing,
        max_frame: args.framing.max_frame,
        deadline: args.grade.deadline(),
        json: args.grade.json,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Byte counts accept binary suffixes and refuse nonsense.
    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64K"), Ok(65536));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("0").is_err());
    }

    /// `serve --idle-timeout`: 300 s by default, 0 for never, a day at most (a usage error
    /// beyond, not a clock overflow in the engine).
    #[test]
    fn idle_timeout_default_never_and_cap() {
        let serve = |extra: &[&str]| {
            let cli = Cli::try_parse_from([&["tcp-echo", "serve"], extra].concat()).unwrap();
            let Command::Serve(args) = cli.command else {
                panic!("not serve")
            };
            serve_config(args)
        };
        let timeout = |extra: &[&str]| serve(extra).unwrap().idle_timeout;
        assert_eq!(timeout(&[]), Some(Duration::from_secs(300)));
        assert_eq!(timeout(&["--idle-timeout", "0"]), None);
        assert_eq!(
            timeout(&["--idle-timeout", "86400"]),
            Some(Duration::from_secs(86_400))
        );
        // Above a day (common's MAX_IDLE_TIMEOUT) clap refuses it: exit status 2, as a usage
        // mistake, never a clock overflow in the engine.
        let refused = Cli::try_parse_from(["tcp-echo", "serve", "--idle-timeout", "86401"]);
        assert!(refused.is_err());
    }
}
