//! # compare-protocols: the labs side by side, for a class
//!
//! One command runs the labs' own `bench` subcommands and writes what an instructor puts in
//! front of a class: `report.md` (tables, with a sentence on what to notice under each),
//! one CSV file per comparison with the raw figures, and SVG charts. The tables never need the
//! charts: a report read in a terminal or a plain Markdown viewer is complete.
//!
//! The four comparisons, each in its own module:
//! 1. [`chat`]: reliable chat over TCP and over UDP with each ARQ scheme, across loss rates;
//! 2. [`echo`]: the echo server's thread-per-client and event-loop (mio) engines under load;
//! 3. [`framing`]: raw, line and length-prefixed echo, and what breaks without framing;
//! 4. [`transfer`]: the FTP lab's throughput by block size, and the chat's in-band transfer.
//!
//! Loss must be real for TCP: its retransmissions happen in the kernel, out of reach of the
//! fault injector the UDP lab carries. As root on Linux, [`netns`] makes two network namespaces
//! joined by a veth pair that loses packets, and the chat comparison runs across that link, so
//! TCP and UDP face the same network. Elsewhere the report says so and only the UDP schemes see loss.
//!
//! `scripts/compare-protocols` (and `make compare`) builds the labs and runs this program.

mod chat;
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

use crate::report::Report;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    version,
    about = "Run the labs' benchmarks side by side and write a report (Markdown tables, CSV, SVG charts)",
    after_help = "Examples:\n  \
compare-protocols --quick                 # under 2 minutes: for a class demo\n  \
compare-protocols --out results/today     # the full run (5 to 7 minutes on 2 cores)\n  \
sudo compare-protocols --quick            # as root: TCP and UDP share a lossy link (netns)\n\
The report is OUT/report.md; the raw figures OUT/*.csv; the charts OUT/charts/*.svg."
)]
struct Args {
    /// Fewer messages, clients and bytes: finishes in under 2 minutes on 2 cores.
    #[arg(long, conflicts_with = "smoke")]
    quick: bool,
    /// The smallest configuration, in seconds (for tests: the figures mean little).
    #[arg(long)]
    smoke: bool,
    /// Where to write report.md, the CSV files and charts/.
    #[arg(long, value_name = "DIR", default_value = "compare-results")]
    out: PathBuf,
    /// Where the lab binaries are (tcp-echo, udp-chat, ftp-lab, tcp-chat).
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
    /// Rounds per transfer measurement.
    pub rounds: u32,
}

impl Plan {
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
                rounds: 1,
            }
        } else if args.quick {
            Plan {
                name: "quick",
                messages: 40,
                loss_percent: vec![0, 1, 5, 10, 20],
                chat_timeout_s: 15,
                clients: vec![1, 16, 256, 1000],
                echo_seconds: 1.0,
                boundaries: 1000,
                file_size: "32M",
                block_sizes: "4K,64K,1M",
                rounds: 1,
            }
        } else {
            Plan {
                name: "full",
                messages: 300,
                loss_percent: vec![0, 1, 5, 10, 20],
                chat_timeout_s: 120,
                clients: vec![1, 16, 256, 1000],
                echo_seconds: 3.0,
                boundaries: 10_000,
                file_size: "256M",
                block_sizes: "4K,16K,64K,256K,1M",
                rounds: 3,
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
    let started = Instant::now();
    let mut report = Report::new(&plan);
    if wanted(Comparison::Chat) {
        term::info("1/4 reliable chat: TCP and the UDP ARQ schemes across loss rates");
        report.add(chat::compare(&bins, &plan, args.network)?);
    }
    if wanted(Comparison::Echo) {
        term::info("2/4 concurrency: the echo server's engines by number of clients");
        report.add(echo::compare(&bins, &plan)?);
    }
    if wanted(Comparison::Framing) {
        term::info("3/4 framing: raw, line and length-prefixed echo");
        report.add(framing::compare(&bins, &plan)?);
    }
    if wanted(Comparison::Transfer) {
        term::info("4/4 file transfer: FTP by block size, and the chat's in-band transfer");
        report.add(transfer::compare(&bins, &plan)?);
    }
    let written = report.write(&args.out, started.elapsed())?;
    term::success(format!(
        "report written to {} ({:.0} s)",
        written.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
