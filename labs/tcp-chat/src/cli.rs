//! # Command line: `tcp-chat pair | duplex | room | bench | grade`
//!
//! `--bind`, `--port`, `--max-clients` and `--trace` mean what they mean in every netlab lab. The
//! two-person modes add `--listen` / `--connect HOST:PORT`: one side waits for the other.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand};
use netlab_common::Result;
use netlab_common::cli::{
    ConsoleArgs, GradingArgs, IdleTimeoutArgs, ServerArgs, TraceArgs, parse_bytes, parse_file_size,
};
use netlab_common::net::client_target;
use netlab_common::trace_json::describe_lines;

use crate::bench::{self, BenchConfig};
use crate::duplex::wire::Limits;
use crate::duplex::{self, DuplexConfig};
use crate::grade::{self, GradeConfig};
use crate::link::Rendezvous;
use crate::pair::group::Turns;
use crate::pair::{self, PairConfig};
use crate::room::join::{self, JoinConfig};
use crate::room::server::{self, ServeConfig};

/// Default port of `tcp-chat pair --listen`.
pub const PAIR_PORT: u16 = 7070;

/// Default port of `tcp-chat duplex --listen`.
pub const DUPLEX_PORT: u16 = 7071;

/// Default port of `tcp-chat room serve`.
pub const ROOM_PORT: u16 = 7072;

/// Clients in a room unless `--max-clients` says otherwise (the course projects used 3).
pub const ROOM_MAX_CLIENTS: usize = 3;

/// Seconds a room client may stay silent unless `--idle-timeout` says otherwise: five minutes,
/// long enough for a person who reads without typing, short enough that dead connections do not
/// keep places in a small room for long.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 300;

/// Largest upload unless `--max-upload` says otherwise: 100 MiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 100 << 20;

/// netlab TCP chat lab: a turn-based pair chat with games, a full-duplex chat that sends files,
/// and a multi-client room with a file repository.
#[derive(Parser, Debug)]
#[command(name = "tcp-chat", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  tcp-chat pair --listen --port 7070              # terminal 1: waits, the other side speaks first
  tcp-chat pair --connect 127.0.0.1:7070          # terminal 2: type at `Enter Input >`, /q quits
                                                  # on your turn: play tictactoe | play rps | play hangman
  tcp-chat pair --listen --peers 2 --turn-end '#' # seed 002: you host user2 and user3; # passes a turn
  tcp-chat pair --connect 127.0.0.1 --turn-end '#'  # each user; Exit leaves
  tcp-chat duplex --listen --download-dir /tmp    # terminal 1
  tcp-chat duplex --connect 127.0.0.1:7071        # terminal 2: type any time; /send PATH sends a file
  tcp-chat room serve --files ./shared --session-log room.jsonl   # a room for 3 clients, port 7072
  tcp-chat room join 127.0.0.1:7072               # or: nc 127.0.0.1 7072
  tcp-chat bench --file-size 64M --rounds 3       # /send throughput between two duplex chats
  tcp-chat grade 127.0.0.1:9000 --idle-timeout 5  # grade any room server (docs/protocols/chat-room.md)
See docs/tcp-chat.md for the walkthrough.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Turn-based chat for two: strict turns (the connecting side first), `play GAME`, `/q`.
    Pair(PairArgs),
    /// Full-duplex chat for two: type any time, `/send PATH` sends a file while you chat.
    Duplex(DuplexArgs),
    /// A chat room for many: `room serve` runs it, `room join` (or nc) joins it.
    #[command(subcommand)]
    Room(RoomCommand),
    /// Measure `/send` between two duplex chats in this process, with chat lines flowing.
    Bench(BenchArgs),
    /// Grade a chat room server written by anyone, in any language, against
    /// docs/protocols/chat-room.md: split and merged lines, limits, many clients, a client that
    /// never reads, vanishes or stays silent.
    Grade(GradeArgs),
}

#[derive(Args, Debug)]
struct GradeArgs {
    #[command(flatten)]
    grade: GradingArgs,
    /// The --idle-timeout the room under test was started with (not a timeout of the grader's
    /// own): the "silent client" check waits this long for the room to disconnect a client that
    /// says nothing. Without it that check is skipped.
    #[arg(long = "idle-timeout", value_name = "SECS",
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..=3600))]
    room_idle_timeout: Option<u64>,
    /// Clients the "many clients" check keeps in the room at once (the server's limit must be
    /// at least this plus 2).
    #[arg(long, value_name = "N", default_value_t = grade::DEFAULT_CLIENTS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=1000))]
    clients: usize,
}

#[derive(Subcommand, Debug)]
enum RoomCommand {
    /// Run the room server (prints `listening on IP:PORT`; type on its stdin to talk as the host).
    Serve(ServeArgs),
    /// Join a room: type to talk; get NAME / put PATH move files with a progress bar.
    Join(JoinArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs<ROOM_PORT, ROOM_MAX_CLIENTS>,
    #[command(flatten)]
    trace: TraceArgs,
    /// Share the files in DIR: clients can `list`, `get NAME` and `put` (see --read-only).
    #[arg(long, value_name = "DIR")]
    files: Option<PathBuf>,
    /// With --files: refuse uploads.
    #[arg(long, requires = "files")]
    read_only: bool,
    /// With --files: largest upload accepted, in bytes (K, M, G suffixes: 10M).
    #[arg(long, value_name = "BYTES", default_value = "100M", value_parser = parse_bytes)]
    max_upload: u64,
    /// Append one JSON line per connect, disconnect and rejection to FILE.
    #[arg(long, value_name = "FILE")]
    session_log: Option<PathBuf>,
    #[command(flatten)]
    idle: IdleTimeoutArgs<DEFAULT_IDLE_TIMEOUT>,
}

#[derive(Args, Debug)]
struct JoinArgs {
    /// The room's address, e.g. 127.0.0.1:7072; a bare host means port 7072, where `tcp-chat
    /// room serve` listens by default.
    #[arg(value_name = "HOST:PORT")]
    target: String,
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    console: ConsoleArgs,
    /// Where `get` saves files (as new_NAME; an existing file is never overwritten).
    #[arg(long, value_name = "DIR", default_value = ".")]
    download_dir: PathBuf,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Size of the test file (K, M, G suffixes: 64M, 1G). The scratch directory holds it and
    /// one received copy at a time.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = parse_file_size)]
    file_size: u64,
    /// Transfers of the whole file; the result is their median.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    rounds: usize,
    /// Compare these chunk sizes (comma-separated, e.g. 1K,4K,64K): one row each, the rounds
    /// taken in turn. Without it, the default 64K alone.
    #[arg(long, value_name = "LIST", value_delimiter = ',',
          value_parser = |text: &str| parse_limit(text, CHUNK_LIMIT))]
    chunk_sizes: Option<Vec<usize>>,
    /// Print one JSON object on one line instead of a table (one line per chunk size, with a
    /// `chunk_size` field, under --chunk-sizes).
    #[arg(long)]
    json: bool,
}

/// Which end of the one connection this side is: `--listen` or `--connect HOST:PORT`.
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("side").required(true).args(["listen", "connect"])))]
struct SideArgs<const PORT: u16> {
    /// Wait for the other side to connect (prints "listening on IP:PORT"). One connection is
    /// accepted, then the listening socket is closed.
    #[arg(long)]
    listen: bool,

    /// Connect to the side that listens, e.g. 127.0.0.1:7070 or [::1]:7070; a bare host means
    /// the mode's default port (7070 for pair, 7071 for duplex).
    #[arg(long, value_name = "HOST:PORT")]
    connect: Option<String>,

    /// With --listen: IP address to listen on. 127.0.0.1 accepts only this machine; 0.0.0.0
    /// (or ::) opens the chat to your network.
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), conflicts_with = "connect")]
    bind: IpAddr,

    /// With --listen: TCP port (default 7070 for pair, 7071 for duplex); 0 lets the OS pick a
    /// free one (printed as "listening on IP:PORT").
    // Not `default_value_t = PORT`: clap's derive keeps that default's text in a `static` inside
    // the generic `augment_args`, and one static serves every `PORT`, so duplex silently got
    // pair's port. The default is applied in `rendezvous` instead.
    #[arg(long, conflicts_with = "connect")]
    port: Option<u16>,
}

impl<const PORT: u16> SideArgs<PORT> {
    /// How this side meets the other: listen on the address, or connect to the target (a bare
    /// host gets the mode's default port, said in one line).
    fn rendezvous(&self) -> Rendezvous {
        match &self.connect {
            Some(target) => Rendezvous::Connect(client_target(target, PORT, Self::listener())),
            None => Rendezvous::Listen(SocketAddr::new(self.bind, self.port.unwrap_or(PORT))),
        }
    }
}

impl<const PORT: u16> SideArgs<PORT> {
    /// The command whose side listens on `PORT` by default, for the "no port given" line.
    fn listener() -> &'static str {
        match PORT {
            DUPLEX_PORT => "tcp-chat duplex --listen",
            _ => "tcp-chat pair --listen",
        }
    }
}

#[derive(Args, Debug)]
struct PairArgs {
    #[command(flatten)]
    side: SideArgs<PAIR_PORT>,
    /// Turns of several lines (seed 002): a turn passes when its holder sends a line that is
    /// exactly MARK, e.g. '#'; Exit (any case) leaves. Give it on both sides. No games.
    #[arg(long, value_name = "MARK", value_parser = parse_turn_end)]
    turn_end: Option<String>,
    /// With --listen and --turn-end: host N users (user2, user3, ...; you are user1), each on
    /// a thread of its own; your lines go to the user who passed you the turn; your Exit ends
    /// the chat for everyone.
    #[arg(long, value_name = "N", requires = "turn_end", conflicts_with = "connect",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16))]
    peers: Option<usize>,
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    console: ConsoleArgs,
}

impl PairArgs {
    /// `--turn-end` and `--peers` as the pair chat takes them (`None`: strict turns).
    fn turns(&self) -> Option<Turns> {
        self.turn_end.as_ref().map(|mark| Turns {
            mark: mark.clone(),
            peers: self.peers.unwrap_or(1),
        })
    }
}

/// `--turn-end`: a visible mark of 1 to 16 bytes, without spaces, that is not a command.
fn parse_turn_end(text: &str) -> std::result::Result<String, String> {
    let fine = (1..=16).contains(&text.len())
        && !text.chars().any(char::is_whitespace)
        && !text.starts_with('/')
        && !text.eq_ignore_ascii_case("exit");
    if fine {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` cannot end a turn: use 1 to 16 visible characters, no spaces, not a \
             /command or Exit (the seed used #)"
        ))
    }
}

#[derive(Args, Debug)]
struct DuplexArgs {
    #[command(flatten)]
    side: SideArgs<DUPLEX_PORT>,
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    console: ConsoleArgs,
    /// Where received files are saved (as new_NAME; an existing file is never overwritten).
    #[arg(long, value_name = "DIR", default_value = ".")]
    download_dir: PathBuf,
    #[command(flatten)]
    sizes: SizeArgs,
}

/// `duplex`'s two sizes. Each side sends within its own and refuses a frame over them, so start
/// both sides with the same values.
#[derive(Args, Debug)]
struct SizeArgs {
    /// Longest chat message, in bytes: a longer line is refused before it is sent, and a longer
    /// message from the peer ends the chat with a refusal (the course's seed program used 1K).
    #[arg(long, value_name = "BYTES", default_value = "4096",
          value_parser = |text: &str| parse_limit(text, MAX_MESSAGE_LIMIT))]
    max_message: usize,
    /// Most file bytes per `D` frame: a chat line waits behind at most 4 queued chunks, so
    /// smaller chunks let lines through sooner and cost throughput (`tcp-chat bench
    /// --chunk-sizes` measures it; the seed program used 1K).
    #[arg(long, value_name = "BYTES", default_value = "64K",
          value_parser = |text: &str| parse_limit(text, CHUNK_LIMIT))]
    chunk_size: usize,
}

impl SizeArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_message: self.max_message,
            chunk: self.chunk_size,
        }
    }
}

/// Largest `--max-message`: 64 KiB, a long page of text (the default is 4096).
const MAX_MESSAGE_LIMIT: usize = 64 << 10;

/// Largest `--chunk-size` (and `bench --chunk-sizes` entry): 16 MiB. The sender keeps up to 4
/// chunks queued and the receiver holds one, so this bounds the memory a transfer takes.
const CHUNK_LIMIT: usize = 16 << 20;

/// A size in bytes with K/M suffixes, from 1 to `max`.
fn parse_limit(text: &str, max: usize) -> std::result::Result<usize, String> {
    let bytes = parse_bytes(text)?;
    usize::try_from(bytes)
        .ok()
        .filter(|size| (1..=max).contains(size))
        .ok_or_else(|| format!("`{text}` must be from 1 byte to {max} bytes"))
}

/// Runs the parsed command: builds the subcommand's plain config and hands it to its module.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Pair(args) => pair::run(&PairConfig {
            rendezvous: args.side.rendezvous(),
            tracer: args
                .trace
                .tracer("tcp-chat")?
                .describing(crate::wire::describe),
            plain: args.console.plain,
            turns: args.turns(),
        }),
        Command::Duplex(args) => duplex::run(&DuplexConfig {
            rendezvous: args.side.rendezvous(),
            tracer: args
                .trace
                .tracer("tcp-chat")?
                .describing(crate::wire::describe),
            download_dir: args.download_dir,
            plain: args.console.plain,
            limits: args.sizes.limits(),
        }),
        Command::Room(RoomCommand::Serve(args)) => server::serve(&ServeConfig {
            addr: args.server.addr(),
            max_clients: args.server.max_clients,
            tracer: args.trace.tracer("tcp-chat")?.describing(describe_lines),
            files: args.files,
            read_only: args.read_only,
            max_upload: args.max_upload,
            session_log: args.session_log,
            idle_timeout: args.idle.timeout(),
        }),
        Command::Room(RoomCommand::Join(args)) => join::run(&JoinConfig {
            tracer: args.trace.tracer("tcp-chat")?.describing(describe_lines),
            target: client_target(&args.target, ROOM_PORT, "tcp-chat room serve"),
            download_dir: args.download_dir,
            plain: args.console.plain,
        }),
        Command::Bench(args) => bench::run(&BenchConfig {
            file_size: args.file_size,
            chunk_sizes: args.chunk_sizes,
            rounds: args.rounds,
            json: args.json,
        }),
        Command::Grade(args) => run_grade(&args),
    }
}

/// Prints the rubric; fails (exit 1) unless every required check passed.
fn run_grade(args: &GradeArgs) -> Result<()> {
    let config = GradeConfig {
        deadline: args.grade.deadline(),
        room_idle_timeout: args.room_idle_timeout.map(Duration::from_secs),
        clients: args.clients,
    };
    let plan = args
        .grade
        .plan(netlab_common::grade::server::Transport::Tcp);
    netlab_common::grade::class::run(&plan, &|addr| grade::grade(addr, &config))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `--listen` and `--connect` exclude each other, one is required, and --port needs --listen.
    #[test]
    fn one_side_required() {
        assert!(Cli::try_parse_from(["tcp-chat", "pair"]).is_err());
        assert!(Cli::try_parse_from(["tcp-chat", "pair", "--listen", "--connect", "a:1"]).is_err());
        assert!(
            Cli::try_parse_from(["tcp-chat", "pair", "--connect", "a:1", "--port", "1"]).is_err()
        );
        let cli = Cli::try_parse_from(["tcp-chat", "pair", "--listen"]).unwrap();
        let Command::Pair(args) = cli.command else {
            panic!("parsed as another command")
        };
        assert_eq!(
            args.side.rendezvous(),
            Rendezvous::Listen(([127, 0, 0, 1], PAIR_PORT).into())
        );
    }

    /// Each two-person mode listens on its own default port (pair 7070, duplex 7071); a
    /// regression test for defaults shared through a generic argument struct.
    #[test]
    fn each_mode_has_its_own_default_port() {
        for (mode, port) in [("pair", PAIR_PORT), ("duplex", DUPLEX_PORT)] {
            let cli = Cli::try_parse_from(["tcp-chat", mode, "--listen"]).unwrap();
            let rendezvous = match cli.command {
                Command::Pair(args) => args.side.rendezvous(),
                Command::Duplex(args) => args.side.rendezvous(),
                _ => panic!("parsed as another command"),
            };
            assert_eq!(
                rendezvous,
                Rendezvous::Listen(([127, 0, 0, 1], port).into()),
                "{mode}"
            );
        }
    }

    /// `--turn-end` and `--peers`: peers needs a mark and --listen; the mark is checked; the
    /// default is one peer; without a mark, strict turns.
    #[test]
    fn turn_end_flags() {
        let turns = |extra: &[&str]| {
            let mut argv = vec!["tcp-chat", "pair"];
            argv.extend(extra);
            let Command::Pair(args) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("parsed as another command")
            };
            args.turns()
        };
        assert_eq!(turns(&["--listen"]), None);
        assert_eq!(
            turns(&["--listen", "--peers", "2", "--turn-end", "#"]),
            Some(Turns {
                mark: "#".into(),
                peers: 2
            })
        );
        assert_eq!(
            turns(&["--connect", "h:1", "--turn-end", "over"]).map(|t| t.peers),
            Some(1)
        );
        for bad in [
            &["--listen", "--peers", "2"][..],
            &["--connect", "h:1", "--peers", "2", "--turn-end", "#"],
            &["--listen", "--peers", "0", "--turn-end", "#"],
            &["--listen", "--turn-end", ""],
            &["--listen", "--turn-end", "a b"],
            &["--listen", "--turn-end", "/q"],
            &["--listen", "--turn-end", "EXIT"],
        ] {
            let mut argv = vec!["tcp-chat", "pair"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    /// `--connect` with a bare host gets the mode's own default port; a full target is kept.
    #[test]
    fn connect_without_port_uses_the_mode_port() {
        for (mode, target, expected) in [
            ("pair", "127.0.0.1", "127.0.0.1:7070"),
            ("duplex", "::1", "[::1]:7071"),
            ("duplex", "localhost:9", "localhost:9"),
        ] {
            let cli = Cli::try_parse_from(["tcp-chat", mode, "--connect", target]).unwrap();
            let rendezvous = match cli.command {
                Command::Pair(args) => args.side.rendezvous(),
                Command::Duplex(args) => args.side.rendezvous(),
                _ => panic!("parsed as another command"),
            };
            assert_eq!(rendezvous, Rendezvous::Connect(expected.into()), "{mode}");
        }
    }

    /// The bench's defaults; an empty file or no rounds refused.
    #[test]
    fn bench_flags() {
        let cli = Cli::try_parse_from(["tcp-chat", "bench"]).unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("parsed as another command")
        };
        assert_eq!(
            (args.file_size, args.rounds, args.json),
            (256 << 20, 3, false)
        );
        for bad in [
            ["--file-size", "0"],
            ["--file-size", "65G"],
            ["--rounds", "0"],
        ] {
            let mut argv = vec!["tcp-chat", "bench"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    /// `duplex --max-message` and `--chunk-size`: 4096 and 64 KiB unless given, K suffixes
    /// accepted, 0 and oversized values refused; `bench --chunk-sizes` takes a list.
    #[test]
    fn duplex_sizes() {
        let limits = |extra: &[&str]| {
            let mut argv = vec!["tcp-chat", "duplex", "--listen"];
            argv.extend(extra);
            let Command::Duplex(args) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("parsed as another command")
            };
            args.sizes.limits()
        };
        assert_eq!(limits(&[]), Limits::DEFAULT);
        assert_eq!(
            limits(&["--max-message", "1K", "--chunk-size", "1K"]),
            Limits::SEED
        );
        for bad in [
            ["--max-message", "0"],
            ["--max-message", "65K"],
            ["--chunk-size", "0"],
            ["--chunk-size", "17M"],
        ] {
            let mut argv = vec!["tcp-chat", "duplex", "--listen"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
        let cli = Cli::try_parse_from(["tcp-chat", "bench", "--chunk-sizes", "1K,4K,64K"]);
        let Command::Bench(args) = cli.unwrap().command else {
            panic!("parsed as another command")
        };
        assert_eq!(args.chunk_sizes, Some(vec![1024, 4096, 65536]));
    }

    /// `room serve --idle-timeout`: five minutes unless told otherwise, 0 for never; `grade`
    /// needs a target and at least two clients for its "many clients" check.
    #[test]
    fn idle_timeout_and_grade_flags() {
        let idle = |extra: &[&str]| {
            let mut argv = vec!["tcp-chat", "room", "serve"];
            argv.extend(extra);
            let Command::Room(RoomCommand::Serve(args)) =
                Cli::try_parse_from(&argv).unwrap().command
            else {
                panic!("parsed as another command")
            };
            args.idle.timeout()
        };
        assert_eq!(idle(&[]), Some(Duration::from_secs(300)));
        assert_eq!(idle(&["--idle-timeout", "0"]), None);
        assert!(Cli::try_parse_from(["tcp-chat", "room", "serve", "--idle-timeout", "x"]).is_err());
        assert!(Cli::try_parse_from(["tcp-chat", "grade"]).is_err());
        assert!(Cli::try_parse_from(["tcp-chat", "grade", "a:1", "--clients", "1"]).is_err());
        assert!(Cli::try_parse_from(["tcp-chat", "grade", "a:1", "--idle-timeout", "0"]).is_err());
        let Command::Grade(args) = Cli::try_parse_from(["tcp-chat", "grade", "a:1"])
            .unwrap()
            .command
        else {
            panic!("parsed as another command")
        };
        assert_eq!(
            (args.room_idle_timeout, args.clients, args.grade.timeout),
            (None, 10, 10.0)
        );
    }

    /// Sizes with binary suffixes; garbage and overflow refused.
    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("10M"), Ok(10 << 20));
        assert_eq!(parse_bytes("512k"), Ok(512 << 10));
        assert_eq!(parse_bytes("7"), Ok(7));
        assert!(parse_bytes("x").is_err());
        assert!(parse_bytes("99999999999999G").is_err());
    }
}
