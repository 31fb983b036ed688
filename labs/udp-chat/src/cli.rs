//! # The `udp-chat` command line
//!
//! Four subcommands, as in every netlab lab: `serve` (a relay room), `connect` (an interactive
//! member), `bench` (two endpoints in one process, measured) and `grade` (check anybody's room
//! against docs/protocols/udp-chat.md). The reliability flags (`--arq`,
//! `--window`, `--max-retries`, `--rto-min`, `--rto-max`) and the fault flags (`--loss`, `--dup`,
//! `--reorder`, `--delay`, `--jitter`, `--seed`) are spelled the same in all three, so a class
//! can repeat one experiment with the server, a client or the benchmark.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use netlab_common::Error;
use netlab_common::cli::{ConsoleArgs, GradingArgs, ServerArgs, TraceMoreArgs, parse_seconds};
use netlab_common::trace_json::Transport;

use crate::arq::{ArqMode, MAX_WINDOW};
use crate::bench::netns::PeerNamespace;
use crate::bench::{self, BenchConfig, Scheme};
use crate::client::{self, ConnectConfig};
use crate::connection::Config;
use crate::endpoint::EndpointConfig;
use crate::fault::FaultConfig;
use crate::grade::{self, GradeConfig};
use crate::room::{self, DEFAULT_MAX_MEMBERS, ServeConfig};
use crate::rto::RtoConfig;

/// The lab's default UDP port.
pub const DEFAULT_PORT: u16 = 7075;

/// `udp-chat`: a chat room on UDP, made reliable by hand.
#[derive(Parser, Debug)]
#[command(
    name = "udp-chat",
    version,
    about = "A chat room over UDP with hand-built reliability: watch messages survive loss.",
    long_about = "A chat room over UDP with hand-built reliability (stop-and-wait, go-back-N or \
selective repeat, with an RFC 6298 retransmission timer). A fault injector inside the program \
loses, duplicates, reorders and delays datagrams on demand, so loopback behaves like a bad \
network; --no-retransmit shows the same chat on plain UDP.\n\n\
Try:\n  udp-chat serve\n  udp-chat connect 127.0.0.1:7075 --name ada --loss 30% --trace\n  \
udp-chat connect 127.0.0.1:7075 --loss 30% --pcap ada.pcapng   # open it in Wireshark\n  \
udp-chat bench --arq stop-and-wait,selective-repeat --loss 0,5% --delay 20\n  \
udp-chat grade 127.0.0.1:9000   # grade anybody's room (docs/protocols/udp-chat.md)"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a relay room: members join with a name and every message reaches every other member.
    Serve(ServeArgs),
    /// Join a room and chat: type lines at any time; /stats, /help, /quit.
    Connect(ConnectArgs),
    /// Send N messages between two endpoints in this process and measure delivery, latency,
    /// retransmissions and goodput, for each ARQ mode and loss rate given.
    Bench(BenchArgs),
    /// Grade a room written by anyone, in any language, against docs/protocols/udp-chat.md:
    /// members behind a seeded fault injector, retransmission, duplicates, malformed datagrams,
    /// many members, a member that vanishes. Exit status 0 only if every required check passed.
    Grade(GradeArgs),
}

/// `udp-chat grade`.
#[derive(Args, Debug)]
pub struct GradeArgs {
    #[command(flatten)]
    grade: GradingArgs,
    /// Probability that the grader's members lose a datagram, in each direction: 0.05 or 5%.
    #[arg(long, value_name = "P", default_value = "5%", value_parser = probability)]
    loss: f64,
    /// Probability that a datagram is delivered twice, in each direction.
    #[arg(long, value_name = "P", default_value = "5%", value_parser = probability)]
    dup: f64,
    /// Probability that a datagram is held back 20 ms so later ones overtake it.
    #[arg(long, value_name = "P", default_value = "5%", value_parser = probability)]
    reorder: f64,
    /// Seed of the fault injector: the same seed, the same faults (printed with the rubric).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

impl GradeArgs {
    /// The grader's config: the target resolved, the faults its members go through.
    fn config(&self) -> Result<GradeConfig, Error> {
        Ok(GradeConfig {
            addr: self.grade.resolve()?,
            faults: FaultConfig {
                loss: self.loss,
                duplicate: self.dup,
                reorder: self.reorder,
                seed: self.seed,
                ..FaultConfig::default()
            },
            deadline: self.grade.deadline(),
            json: self.grade.json,
        })
    }
}

/// `udp-chat serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs<DEFAULT_PORT, DEFAULT_MAX_MEMBERS>,
    #[command(flatten)]
    link: LinkArgs,
    /// Seconds between PINGs to each member.
    #[arg(long, value_name = "SECS", default_value_t = 2.0, value_parser = parse_seconds)]
    ping_interval: f64,
    /// Seconds of silence (no datagram, not even a PONG) after which a member is dropped and the
    /// room is told.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_seconds)]
    drop_after: f64,
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    capture: CaptureArgs,
}

impl ServeArgs {
    /// The room's config.
    fn config(&self) -> Result<ServeConfig, Error> {
        Ok(ServeConfig {
            addr: self.server.addr(),
            max_members: self.server.max_clients,
            endpoint: EndpointConfig {
                ping_every: Some(Duration::from_secs_f64(self.ping_interval)),
                silent_after: Some(Duration::from_secs_f64(self.drop_after)),
                ..self.link.endpoint_config(&self.trace)?
            },
            pcap: self.capture.pcap.clone(),
        })
    }
}

/// `udp-chat connect`.
#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// The room's address, e.g. 127.0.0.1:7075; a bare host means port 7075, where `udp-chat
    /// serve` listens by default.
    #[arg(value_name = "HOST:PORT")]
    target: String,
    /// Your name in the room.
    #[arg(long, default_value = "guest")]
    name: String,
    #[command(flatten)]
    console: ConsoleArgs,
    #[command(flatten)]
    link: LinkArgs,
    /// Seconds of silence from the server after which the client gives up.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_seconds)]
    drop_after: f64,
    #[command(flatten)]
    trace: TraceArgs,
    #[command(flatten)]
    capture: CaptureArgs,
}

impl ConnectArgs {
    /// The client's config.
    fn config(&self) -> Result<ConnectConfig, Error> {
        Ok(ConnectConfig {
            target: netlab_common::net::client_target(&self.target, DEFAULT_PORT, "udp-chat serve"),
            name: self.name.clone(),
            endpoint: EndpointConfig {
                silent_after: Some(Duration::from_secs_f64(self.drop_after)),
                ..self.link.endpoint_config(&self.trace)?
            },
            pcap: self.capture.pcap.clone(),
            plain: self.console.plain,
        })
    }
}

/// The flags `serve` and `connect` share, in this order in their `--help`: how reliable the
/// conversation is and how bad the simulated network.
#[derive(Args, Debug)]
struct LinkArgs {
    #[command(flatten)]
    reliability: ReliabilityArgs,
    /// Reliability scheme (none = plain UDP).
    #[arg(long, value_enum, default_value_t = Arq::SelectiveRepeat)]
    arq: Arq,
    /// Same as --arq none: plain UDP, so messages lost by the network stay lost.
    #[arg(long)]
    no_retransmit: bool,
    /// Probability that a datagram is dropped: 0.3 or 30%.
    #[arg(long, value_name = "P", default_value = "0", value_parser = probability)]
    loss: f64,
    #[command(flatten)]
    faults: FaultArgs,
}

impl LinkArgs {
    /// The endpoint's reliability and faults (`--no-retransmit` wins over `--arq`), tracing if
    /// `trace`; no PINGs, no silence limit.
    fn endpoint_config(&self, trace: &TraceArgs) -> Result<EndpointConfig, Error> {
        let arq = if self.no_retransmit {
            Arq::None
        } else {
            self.arq
        };
        trace.applied_to(EndpointConfig {
            faults_incoming: self.faults.faults_incoming,
            ..EndpointConfig::new(self.reliability.config(arq)?, self.faults.config(self.loss))
        })
    }
}

/// `udp-chat bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Messages to send in each run.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    messages: usize,
    /// Bytes per message (at least 16: index and send time travel inside it). Up to 4096;
    /// above one datagram's payload (1184 bytes) messages are fragmented.
    #[arg(long, value_name = "BYTES", default_value_t = 1000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(16..=4096))]
    size: usize,
    /// Reliability schemes to run, comma-separated (none = plain UDP, tcp = the kernel's TCP).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "selective-repeat"
    )]
    arq: Vec<BenchScheme>,
    /// Loss probabilities to run, comma-separated: 0,1%,5%,10%.
    #[arg(long, value_name = "P,...", value_delimiter = ',', default_value = "0",
          value_parser = probability)]
    loss: Vec<f64>,
    #[command(flatten)]
    reliability: ReliabilityArgs,
    #[command(flatten)]
    faults: FaultArgs,
    /// Give up on a run after this many seconds (it is then reported as unfinished).
    #[arg(long, value_name = "SECS", default_value_t = 300.0, value_parser = parse_seconds)]
    timeout: f64,
    /// One JSON object per run instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    placement: PlacementArgs,
    #[command(flatten)]
    trace: TraceArgs,
    /// Record the sending end's datagrams of every UDP run in FILE, pcapng (Wireshark, tshark):
    /// its DATA, the ACKs that reached it, and what its fault injector dropped, duplicated or
    /// delayed, each with a packet comment saying so. (ACKs the receiving end's injector
    /// dropped never reach the sending end and are not in it.)
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
}

impl BenchArgs {
    /// The bench's config. The ARQ mode and the loss are set per run; the reliability flags are
    /// checked once here.
    fn config(&self) -> Result<BenchConfig, Error> {
        Ok(BenchConfig {
            messages: self.messages,
            size: self.size,
            schemes: self.arq.iter().map(|scheme| scheme.scheme()).collect(),
            losses: self.loss.clone(),
            endpoint: self.trace.applied_to(EndpointConfig {
                faults_incoming: self.faults.faults_incoming,
                ..EndpointConfig::new(
                    self.reliability.config(Arq::SelectiveRepeat)?,
                    self.faults.config(0.0),
                )
            })?,
            timeout: Duration::from_secs_f64(self.timeout),
            json: self.json,
            peer_netns: self.placement.peer_namespace(),
            pcap: self.pcap.clone(),
        })
    }
}

/// Where the bench's receiving end lives (`udp-chat bench`; see `bench/netns.rs`).
#[derive(Args, Debug, Clone, Default)]
struct PlacementArgs {
    /// Linux, root: create the receiving end's socket in this network namespace (one made with
    /// `ip netns add`), so the two ends talk over a real (virtual) link instead of loopback.
    /// Needs --peer-addr. Used by scripts/compare-protocols.
    #[arg(long, value_name = "NAME", requires = "peer_addr")]
    peer_netns: Option<String>,
    /// The receiving end's address inside --peer-netns (the sending end's address is whatever
    /// the route to it picks).
    #[arg(long, value_name = "IP", requires = "peer_netns")]
    peer_addr: Option<IpAddr>,
}

impl PlacementArgs {
    /// The namespace and address, or `None` for plain loopback (clap makes each flag require
    /// the other).
    fn peer_namespace(&self) -> Option<PeerNamespace> {
        Some(PeerNamespace {
            name: self.peer_netns.clone()?,
            addr: self.peer_addr?,
        })
    }
}

/// The reliability schemes, as typed.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arq {
    /// Plain UDP: no acknowledgements, no retransmission.
    None,
    /// One datagram in flight at a time.
    StopAndWait,
    /// A window; the receiver keeps only in-order datagrams; a timeout resends the whole window.
    GoBackN,
    /// A window; the receiver keeps early datagrams; only what is missing is resent.
    SelectiveRepeat,
}

impl Arq {
    /// The library's mode.
    pub fn mode(self) -> ArqMode {
        match self {
            Arq::None => ArqMode::NoRetransmit,
            Arq::StopAndWait => ArqMode::StopAndWait,
            Arq::GoBackN => ArqMode::GoBackN,
            Arq::SelectiveRepeat => ArqMode::SelectiveRepeat,
        }
    }
}

/// What `udp-chat bench` can measure: the UDP schemes, and TCP for comparison.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchScheme {
    /// Plain UDP: no acknowledgements, no retransmission.
    None,
    /// One datagram in flight at a time.
    StopAndWait,
    /// A window; the receiver keeps only in-order datagrams; a timeout resends the whole window.
    GoBackN,
    /// A window; the receiver keeps early datagrams; only what is missing is resent.
    SelectiveRepeat,
    /// The kernel's TCP on one loopback connection (the fault injector cannot touch it: run it
    /// with the fault flags at zero, on a lossy network; see scripts/compare-protocols).
    Tcp,
}

impl BenchScheme {
    /// What the bench runs for this choice.
    fn scheme(self) -> Scheme {
        match self {
            BenchScheme::None => Scheme::Udp(ArqMode::NoRetransmit),
            BenchScheme::StopAndWait => Scheme::Udp(ArqMode::StopAndWait),
            BenchScheme::GoBackN => Scheme::Udp(ArqMode::GoBackN),
            BenchScheme::SelectiveRepeat => Scheme::Udp(ArqMode::SelectiveRepeat),
            BenchScheme::Tcp => Scheme::Tcp,
        }
    }
}

/// Window, retries and the retransmission timer's bounds.
#[derive(Args, Debug, Clone, Copy)]
pub struct ReliabilityArgs {
    /// Datagrams in flight at most (go-back-N, selective repeat; stop-and-wait always uses 1).
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..=u64::from(MAX_WINDOW)))]
    pub window: u32,
    /// Timeouts in a row, with nothing new acknowledged, before the peer is declared unreachable
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(0..=100))]
    pub max_retries: u32,
    /// Floor of the retransmission timeout, in milliseconds (RFC 6298 §2.4 says 1000; Linux uses 200).
    #[arg(long, value_name = "MS", default_value_t = 200,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..=600_000))]
    pub rto_min: u64,
    /// Ceiling of the retransmission timeout, in milliseconds (backoff stops doubling here).
    #[arg(long, value_name = "MS", default_value_t = 4000,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..=600_000))]
    pub rto_max: u64,
}

impl ReliabilityArgs {
    /// The connection configuration for `arq`.
    pub fn config(&self, arq: Arq) -> Result<Config, Error> {
        if self.rto_min > self.rto_max {
            return Err(Error::Usage(format!(
                "--rto-min {} is above --rto-max {}",
                self.rto_min, self.rto_max
            )));
        }
        let min = Duration::from_millis(self.rto_min);
        let max = Duration::from_millis(self.rto_max);
        let defaults = RtoConfig::default();
        Ok(Config {
            mode: arq.mode(),
            window: self.window,
            max_retries: self.max_retries,
            rto: RtoConfig {
                initial: defaults.initial.clamp(min, max),
                min,
                max,
                ..defaults
            },
            ..Config::default()
        })
    }
}

/// What the fault injector does besides loss (loss has its own flag because `bench` takes a
/// list of loss rates).
#[derive(Args, Debug, Clone, Copy)]
pub struct FaultArgs {
    /// Probability that a datagram is delivered twice: 0.1 or 10%.
    #[arg(long, value_name = "P", default_value = "0", value_parser = probability)]
    pub dup: f64,
    /// Probability that a datagram is held back so later ones overtake it: 0.1 or 10%.
    #[arg(long, value_name = "P", default_value = "0", value_parser = probability)]
    pub reorder: f64,
    /// Added one-way delay of every datagram, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(0..=60_000))]
    pub delay: u64,
    /// Extra random delay of 0..=MS milliseconds per datagram (reorders when larger than the gap
    /// between sends).
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(0..=60_000))]
    pub jitter: u64,
    /// Seed of the fault injector: the same seed loses the same datagrams, run after run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Also apply the faults to datagrams as they arrive (by default only to those we send).
    #[arg(long)]
    pub faults_incoming: bool,
}

impl FaultArgs {
    /// The injector's configuration with loss probability `loss`.
    pub fn config(&self, loss: f64) -> FaultConfig {
        FaultConfig {
            loss,
            duplicate: self.dup,
            reorder: self.reorder,
            delay: Duration::from_millis(self.delay),
            jitter: Duration::from_millis(self.jitter),
            seed: self.seed,
            // A reordered datagram waits long enough for several later ones to pass it.
            reorder_hold: Duration::from_millis(20.max(self.jitter * 2)),
        }
    }
}

/// Parses `0.3` or `30%` into a probability in `[0, 1]`.
pub fn probability(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, scale) = match text.strip_suffix('%') {
        Some(number) => (number, 100.0),
        None => (text, 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a probability: write 0.3 or 30%"))?;
    let p = value / scale;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("`{text}` is outside 0..1 (0%..100%)"));
    }
    Ok(p)
}

/// Runs the parsed command line: each subcommand's flags become its program's config.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Serve(args) => room::serve(&args.config()?),
        Command::Connect(args) => client::run(&args.config()?),
        Command::Bench(args) => bench::run(&args.config()?),
        Command::Grade(args) => grade::run(
            &args.config()?,
            &args
                .grade
                .plan(netlab_common::grade::server::Transport::Udp),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::describe::{faults_banner, percent};

    /// Probabilities are accepted as fractions or percentages, and nothing outside 0..1.
    #[test]
    fn probabilities() {
        assert_eq!(probability("0.3"), Ok(0.3));
        assert_eq!(probability("30%"), Ok(0.3));
        assert_eq!(probability("0"), Ok(0.0));
        assert!(probability("1.5").is_err());
        assert!(probability("-1%").is_err());
        assert!(probability("lots").is_err());
        assert_eq!(percent(0.05), "5%");
    }

    /// The banner names every active fault and the seed, and is absent on a perfect network.
    #[test]
    fn banner_names_the_faults() {
        let faults = FaultArgs {
            dup: 0.1,
            reorder: 0.0,
            delay: 20,
            jitter: 0,
            seed: 7,
            faults_incoming: false,
        };
        assert_eq!(
            faults_banner(&faults.config(0.3), false).unwrap(),
            "fault injection ON for datagrams sent: loss 30%, duplication 10%, delay 20 ms, seed 7"
        );
        let none = FaultArgs {
            dup: 0.0,
            delay: 0,
            ..faults
        };
        assert_eq!(faults_banner(&none.config(0.0), false), None);
    }

    /// The clap definition is consistent (no clashing flags across flattened groups).
    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

/// `--trace` for datagrams: the TCP labs dump bytes; here the decoded header and the fault
/// injector's decision say more (see [`crate::describe`]).
#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    /// Print every datagram on stderr: seconds since start, direction, peer, the decoded header,
    /// and whether the fault injector dropped, duplicated or delayed it
    #[arg(long)]
    pub trace: bool,
    /// `--trace-bytes` (a hex dump of each datagram under its line) and `--trace-json`.
    #[command(flatten)]
    pub more: TraceMoreArgs,
}

impl TraceArgs {
    /// `config` with these tracing flags set (opening the `--trace-json` file).
    fn applied_to(&self, config: EndpointConfig) -> Result<EndpointConfig, Error> {
        Ok(EndpointConfig {
            trace: self.trace || self.more.trace_bytes.is_some(),
            trace_bytes: self.more.trace_bytes,
            trace_json: self.more.open_json("udp-chat", Transport::Udp)?,
            ..config
        })
    }
}

/// `--pcap` for `serve` and `connect`.
#[derive(Args, Debug, Clone)]
pub struct CaptureArgs {
    /// Record every datagram sent or received in FILE, in pcapng, the format Wireshark and
    /// tshark open: each with IP and UDP headers and the time it crossed the program's edge.
    /// Datagrams the fault injector dropped (they never reached the network, so tcpdump cannot
    /// see them), duplicated or delayed are in it too, each with a packet comment saying what the
    /// injector did, e.g. "fault injector: dropped by --loss 30% (seed 2), never sent". To decode
    /// our header, load scripts/wireshark/udp-chat.lua (see docs/udp-chat.md).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
}
