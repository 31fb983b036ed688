//! # compare-protocols: the labs side by side, for a class
//!
//! One command runs the labs' own `bench` subcommands and writes what an instructor puts in
//! front of a class: `report.md` (tables, with what to notice under each), the same as one
//! self-contained `report.html` with the charts inline, one CSV file per comparison with every
//! repetition, and SVG charts. The tables never need the charts: a report read in a terminal or
//! a plain Markdown viewer is complete.
//!
//! One measurement on a busy machine can be an accident, so every point is measured `--reps`
//! times (3 by default), the repetitions interleaved: the first of every configuration, then the
//! second of every one, so a noisy minute hits all configurations alike. Tables and charts show
//! the median and the range, and [`claims`] prints a lesson only where every repetition
//! supports it.
//!
//! The five comparisons, each in its own module:
//! 1. [`chat`]: reliable chat over TCP and over UDP with each ARQ scheme, across loss rates;
//! 2. [`echo`]: the echo server's thread-per-client and event-loop (mio) engines under load;
//! 3. [`framing`]: raw, line and length-prefixed echo, and what breaks without framing;
//! 4. [`transfer`]: the FTP lab's throughput by block size, and the chat's in-band transfer;
//! 5. [`c10k`]: the echo and the game server at 1,000 to 10,000 clients, a thread per client
//!    against one event loop, and where the threads stop (full plan, or `--only c10k`).
//!
//! Loss must be real for TCP: its retransmissions happen in the kernel, out of reach of the
//! fault injector the UDP lab carries. As root on Linux, [`netns`] makes two network namespaces
//! joined by a veth pair that loses packets, and the chat comparison runs across that link, so
//! TCP and UDP face the same network. Elsewhere the report says so and only the UDP schemes see loss.
//!
//! `scripts/compare-protocols` (and `make compare`) builds the labs and runs this program.

mod c10k;
mod chat;
mod claims;
mod echo;
mod framing;
mod netns;
mod report;
mod run;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use netlab_common::{Error, term};

use crate::report::{Report, RunInfo};

/// The command line.
#[derive(Parser, Debug)]
#[command(
    version,
    about = "Run the labs' benchmarks side by side, each point several times, and write a report (Markdown and one HTML page, CSV, SVG charts)",
    after_help = "Examples:\n  \
compare-protocols --quick                 # under 2 minutes: for a class demo\n  \
compare-protocols --out results/today     # the full run (about 15 minutes on 2 cores)\n  \
compare-protocols --quick --only c10k     # 1,000 clients on each engine, echo and game\n  \
compare-protocols --quick --reps 5        # more repetitions where ranges overlap\n  \
sudo compare-protocols --quick            # as root: TCP and UDP share a lossy link (netns)\n\
The report is OUT/report.md and OUT/report.html (one page, charts inline); every repetition is\n\
in OUT/*.csv; the charts are also in OUT/charts/*.svg."
)]
struct Args {
    /// Fewer messages, clients and bytes: finishes in under 2 minutes on 2 cores.
    #[arg(long, conflicts_with = "smoke")]
    quick: bool,
    /// How many times to measure every point (at least 1): tables show the median and range,
    /// and a lesson is printed only where every repetition supports it.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    reps: u32,
    /// The smallest configuration, in seconds (for tests: the figures mean little).
    #[arg(long)]
    smoke: bool,
    /// Where to write report.md, report.html, the CSV files and charts/.
    #[arg(long, value_name = "DIR", default_value = "compare-results")]
    out: PathBuf,
    /// Where the lab binaries are (tcp-echo, udp-chat, ftp-lab, tcp-chat, game-lab).
    #[arg(long, value_name = "DIR", default_value = "target/release")]
    bin_dir: PathBuf,
    /// How to make the network lossy for the chat comparison: a lossy link between two network
    /// namespaces when root and `ip` allow it (auto), always (namespace: fail otherwise), or never (in-program).
    #[arg(long, value_enum, default_value_t = NetworkChoice::Auto)]
    network: NetworkChoice,
    /// Run only these comparisons (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Comparison>,
}

/// How the chat comparison gets its loss.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkChoice {
    /// A lossy link between network namespaces if possible, the in-program injector otherwise.
    Auto,
    /// A lossy link between network namespaces, or fail.
    Namespace,
    /// The UDP lab's in-program fault injector (TCP then sees no loss).
    InProgram,
}

/// The comparisons.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Reliable chat: TCP and the UDP ARQ schemes across loss rates.
    Chat,
    /// The echo server's engines: threads vs mio, by number of clients.
    Echo,
    /// Raw, line and length-prefixed framing.
    Framing,
    /// File transfer: FTP by block size, and the chat's in-band transfer.
    Transfer,
    /// C10K: echo and game servers at 1,000 to 10,000 clients, threads vs mio.
    C10k,
}

/// How big each comparison is.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `smoke`, `quick` or `full`, for the report.
    pub name: &'static str,
    /// Chat messages per run.
    pub messages: usize,
    /// Loss rates, in percent.
    pub loss_percent: Vec<u32>,
    /// Most seconds one chat bench run may take.
    pub chat_timeout_s: u32,
    /// Echo clients per run.
    pub clients: Vec<usize>,
    /// Seconds per echo run.
    pub echo_seconds: f64,
    /// Messages in the framing boundaries check.
    pub boundaries: usize,
    /// Bytes per transferred file.
    pub file_size: &'static str,
    /// FTP block sizes.
    pub block_sizes: &'static str,
    /// Clients per C10K run (none: the comparison is left out of this plan).
    pub c10k_clients: Vec<usize>,
    /// Games per bot in a C10K game run.
    pub c10k_games: usize,
    /// Bots' mean thinking time in a C10K game run, ms.
    pub c10k_think_ms: u64,
}

impl Plan {
    /// The plans are sized for their time with three repetitions on two busy cores. The chat's
    /// time is stop-and-wait's: every loss costs it a 200 ms timeout or more, so its messages
    /// and the highest loss rate set the pace (300 messages at 20% took two minutes alone).
    fn new(args: &Args) -> Self {
        if args.smoke {
            Plan {
                name: "smoke",
                messages: 20,
                loss_percent: vec![0, 10],
                chat_timeout_s: 60,
                clients: vec![1, 16],
                echo_seconds: 0.3,
                boundaries: 200,
                file_size: "1M",
                block_sizes: "4K,64K",
                c10k_clients: vec![20],
                c10k_games: 1,
                c10k_think_ms: 0,
            }
        } else if args.quick {
            // 60 messages: with fewer, one unlucky timeout decides a run's goodput; no 20%:
            // there stop-and-wait and go-back-N run into their timeout. 40 s: at 10% loss on
            // each end, stop-and-wait ran past 20 s in 1 of 15 repetitions (five quick runs,
            // 2026-12-06), and that one repetition hid "reliability is a choice".
            Plan {
                name: "quick",
                messages: 60,
                loss_percent: vec![0, 2, 5, 10],
                chat_timeout_s: 40,
                clients: vec![1, 16, 256, 1000],
                echo_seconds: 0.5,
                boundaries: 1000,
                file_size: "32M",
                block_sizes: "4K,64K,1M",
                // Thousands of clients take minutes: only when asked for by name.
                c10k_clients: if args.only.contains(&Comparison::C10k) {
                    vec![1000]
                } else {
                    Vec::new()
                },
                c10k_games: 2,
                c10k_think_ms: 100,
            }
        } else {
            Plan {
                name: "full",
                messages: 100,
                loss_percent: vec![0, 1, 5, 10, 20],
                chat_timeout_s: 60,
                clients: vec![1, 16, 256, 1000],
                echo_seconds: 1.5,
                boundaries: 5000,
                file_size: "128M",
                block_sizes: "4K,16K,64K,256K,1M",
                c10k_clients: vec![1000, 5000, 10_000],
                c10k_games: 2,
                c10k_think_ms: 100,
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    term::finish(run_all(&args))
}

fn run_all(args: &Args) -> Result<(), Error> {
    let plan = Plan::new(args);
    let bins = run::Bins::find(&args.bin_dir)?;
    netns::clean_up_on_interrupt()?;
    let wanted = |c: Comparison| args.only.is_empty() || args.only.contains(&c);
    let mut comparisons: Vec<Box<dyn run::Comparison>> = Vec::new();
    if wanted(Comparison::Chat) {
        comparisons.push(Box::new(chat::Chat::new(args.network)?));
    }
    if wanted(Comparison::Echo) {
        comparisons.push(Box::<echo::Echo>::default());
    }
    if wanted(Comparison::Framing) {
        comparisons.push(Box::<framing::Framing>::default());
    }
    if wanted(Comparison::Transfer) {
        comparisons.push(Box::<transfer::Transfer>::default());
    }
    if wanted(Comparison::C10k) && !plan.c10k_clients.is_empty() {
        // Ten thousand connections need ten thousand descriptors in the server and in the load
        // generator, which inherit this process's limits.
        c10k::raise_open_files();
        comparisons.push(Box::<c10k::C10k>::default());
    }
    let started = Instant::now();
    let reps = args.reps as usize;
    // Interleaved: repetition 1 of everything, then repetition 2 of everything, ...
    let count = comparisons.len();
    for rep in 1..=reps {
        for (i, comparison) in comparisons.iter_mut().enumerate() {
            term::info(format!(
                "repetition {rep}/{reps}, {}/{}: {}",
                i + 1,
                count,
                comparison.what()
            ));
            comparison.measure(&bins, &plan, rep)?;
        }
    }
    let mut report = Report::new(&plan);
    for comparison in &comparisons {
        report.add(comparison.section(&plan));
    }
    let run = RunInfo {
        plan: plan.name,
        reps,
        command: command_line(),
        took: started.elapsed(),
    };
    let written = report.write(&args.out, &run)?;
    // The lessons this run showed, one a line, so two runs can be compared at a glance.
    for claim in report.claims() {
        let mark = if claim.is_shown() {
            "shown"
        } else {
            "NOT shown"
        };
        term::info(format!("{mark}: {}", claim.lesson));
    }
    term::success(format!(
        "report written to {} and report.html beside it ({:.0} s)",
        written.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// The command line as typed (arguments with spaces quoted).
fn command_line() -> String {
    let mut words: Vec<String> = std::env::args()
        .map(|arg| {
            if arg.contains(' ') {
                format!("'{arg}'")
            } else {
                arg
            }
        })
        .collect();
    // The program's own path says where it was built, not how it was run.
    if let Some(program) = words.first_mut() {
        *program = "compare-protocols".into();
    }
    words.join(" ")
}
