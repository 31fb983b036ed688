//! Comparison 5: C10K, the classic question of network programming: can one server hold ten
//! thousand clients at once? The echo server and the game server, each with a thread per
//! client (`--engine threads`) and with one event loop (`--engine mio`), at 1,000, 5,000 and
//! 10,000 clients: what each served, how fast, and what it cost the server (threads, memory).
//!
//! A thread per client stops somewhere, and where is part of the lesson. Before each run this
//! module works out what the run needs from the operating system, file descriptors for the
//! server and for the load generator, and threads, and compares it with what this machine
//! allows (`RLIMIT_NOFILE`'s hard limit, `kernel.threads-max`, `kernel.pid_max`). A run that
//! cannot fit is not started; its row says which limit stops it, with the figures. A run that
//! starts and fails says so too, instead of ending the whole comparison.

use netlab_common::{Error, term};
use serde_json::Value;

use crate::Plan;
use crate::claims::{self, Claim, Measured};
use crate::report::{Section, Table, median_cell, range_cell, raw, spread_of};
use crate::run::{self, Bins, ProcessWatch, Server, Watched, number};

const ENGINES: [&str; 2] = ["threads", "mio"];

/// Descriptors a process needs besides its connections (listener, terminal, pipes, ...).
const SPARE_FILES: u64 = 64;

/// Which server is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lab {
    /// `tcp-echo`, raw framing, 64-byte ping-pong.
    Echo,
    /// `game-lab`, bots playing whole games at a human pace.
    Game,
}

impl Lab {
    fn name(self) -> &'static str {
        match self {
            Lab::Echo => "echo",
            Lab::Game => "game",
        }
    }

    /// Descriptors and threads the server holds per client with `engine`: the game's threads
    /// engine has a reader and a writer thread per player, and a clone of each socket.
    fn per_client(self, engine: &str) -> (u64, u64) {
        match (self, engine) {
            (Lab::Game, "threads") => (2, 2),
            (Lab::Echo, "threads") => (1, 1),
            _ => (1, 0),
        }
    }
}

struct Run {
    rep: usize,
    lab: Lab,
    engine: &'static str,
    clients: usize,
    /// The bench's report, or why there is none (a limit, a failure).
    outcome: Result<(Value, Watched), String>,
}

impl Run {
    fn get(&self, field: &str) -> Option<f64> {
        self.outcome
            .as_ref()
            .ok()
            .and_then(|(value, _)| number(value, field))
    }
    /// Round trips (echo) or moves (game) per second.
    fn rate(&self) -> Option<f64> {
        self.get("round_trips_per_sec")
            .or_else(|| self.get("moves_per_sec"))
    }
    /// The most threads seen in the server, by this program's sampling or the game bench's.
    fn threads(&self) -> Option<f64> {
        let (_, watched) = self.outcome.as_ref().ok()?;
        let sampled = watched.peak_threads.map(|t| t as f64);
        match (sampled, self.get("server_threads")) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
    fn rss_mib(&self) -> Option<f64> {
        let (_, watched) = self.outcome.as_ref().ok()?;
        watched.peak_rss_kib.map(|k| k as f64 / 1024.0)
    }
    fn note(&self) -> String {
        self.outcome.as_ref().err().cloned().unwrap_or_default()
    }
}

/// The comparison and every run so far.
#[derive(Default)]
pub struct C10k {
    runs: Vec<Run>,
}

impl run::Comparison for C10k {
    fn what(&self) -> &'static str {
        "C10K: echo and game servers, a thread per client vs one event loop"
    }

    fn measure(&mut self, bins: &Bins, plan: &Plan, rep: usize) -> Result<(), Error> {
        for lab in [Lab::Echo, Lab::Game] {
            for engine in ENGINES {
                for &clients in &plan.c10k_clients {
                    term::info(format!(
                        "   {} server, {engine} engine, {clients} clients",
                        lab.name()
                    ));
                    let outcome = match what_stops(lab, engine, clients) {
                        Some(limit) => Err(limit),
                        None => one(bins, plan, lab, engine, clients),
                    };
                    if let Err(why) = &outcome {
                        term::warn(format!("   not measured: {why}"));
                    }
                    self.runs.push(Run {
                        rep,
                        lab,
                        engine,
                        clients,
                        outcome,
                    });
                }
            }
        }
        Ok(())
    }

    fn section(&self, plan: &Plan) -> Section {
        section(plan, &self.runs)
    }
}

/// Runs one server and its load generator; `Err` says why there are no figures.
fn one(
    bins: &Bins,
    plan: &Plan,
    lab: Lab,
    engine: &str,
    clients: usize,
) -> Result<(Value, Watched), String> {
    let places = (clients + 16).to_string();
    let (mut serve, mut bench) = match lab {
        Lab::Echo => (bins.command("tcp-echo"), bins.command("tcp-echo")),
        Lab::Game => (bins.command("game-lab"), bins.command("game-lab")),
    };
    serve.args(["serve", "--port", "0", "--engine", engine]);
    serve.args(["--max-clients", &places, "--idle-timeout", "0"]);
    match lab {
        Lab::Echo => serve.args(["--framing", "raw"]),
        // Bots send only the moves they are offered; the rate limit is for people.
        Lab::Game => serve.args(["--max-lines-per-sec", "1000000"]),
    };
    let server = Server::start(serve).map_err(|err| err.to_string())?;
    let watch = ProcessWatch::start(server.pid());
    match lab {
        Lab::Echo => {
            bench.args(["bench", &server.addr, "--size", "64", "--json"]);
            bench.args(["--connections", &clients.to_string()]);
            bench.args(["--duration", &plan.echo_seconds.to_string()]);
        }
        Lab::Game => {
            bench.args(["bench", &server.addr, "--json"]);
            bench.args(["--players", &clients.to_string()]);
            bench.args(["--games", &plan.c10k_games.to_string()]);
            bench.args(["--think", &plan.c10k_think_ms.to_string()]);
            // The bench samples the server itself, with every bot still connected at the end,
            // which a short run's 50 ms sampling here could miss.
            bench.args(["--server-pid", &server.pid().to_string()]);
        }
    }
    let result = run::json_lines(bench);
    let watched = watch.finish();
    drop(server);
    let value = result
        .map_err(|err| err.to_string())?
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    Ok((value, watched))
}

/// The limit that keeps `engine` of `lab` from serving `clients` here, with its figures; `None`
/// when the run fits (or the limits cannot be read: then it is tried).
fn what_stops(lab: Lab, engine: &str, clients: usize) -> Option<String> {
    let (files_each, threads_each) = lab.per_client(engine);
    let clients = clients as u64;
    let server_files = clients * files_each + SPARE_FILES;
    if let Some(hard) = limits::open_files_hard()
        && server_files > hard
    {
        return Some(format!(
            "the server would need {server_files} file descriptors ({files_each} per client); \
             the hard limit (ulimit -Hn) is {hard}"
        ));
    }
    let threads = clients * threads_each;
    if threads > 0
        && let Some(room) = limits::threads_room()
        && threads > room
    {
        return Some(format!(
            "the server would need {threads} threads ({threads_each} per client); this machine \
             has room for {room} more (kernel.threads-max, kernel.pid_max)"
        ));
    }
    None
}

/// What this machine allows, read where the kernel says it (Linux).
mod limits {
    /// The hard limit on open files, which every process this program starts inherits: what
    /// a server can raise its own limit to, and no further.
    #[cfg(unix)]
    pub fn open_files_hard() -> Option<u64> {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum
    }

    #[cfg(not(unix))]
    pub fn open_files_hard() -> Option<u64> {
        None
    }

    /// Threads (tasks) that can still be created on this machine: the smaller of
    /// `kernel.threads-max` and `kernel.pid_max` (every thread takes a process id), less the
    /// tasks that exist now (the fourth field of /proc/loadavg, "running/total").
    pub fn threads_room() -> Option<u64> {
        let read =
            |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
        let most = read("/proc/sys/kernel/threads-max")?.min(read("/proc/sys/kernel/pid_max")?);
        let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
        let tasks: u64 = loadavg
            .split_whitespace()
            .nth(3)?
            .split('/')
            .nth(1)?
            .parse()
            .ok()?;
        Some(most.saturating_sub(tasks))
    }

    /// Raises this process's soft limit on open files to the hard limit, so the servers and
    /// load generators it starts (which inherit it) can open ten thousand connections.
    #[cfg(unix)]
    pub fn raise_open_files() {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            limit.current = limit.maximum;
            let _ = setrlimit(Resource::Nofile, limit);
        }
    }

    #[cfg(not(unix))]
    pub fn raise_open_files() {}
}

pub use limits::raise_open_files;

fn section(plan: &Plan, runs: &[Run]) -> Section {
    let mut table = Table::new(&[
        "server",
        "engine",
        "clients",
        "per second",
        "range",
        "p99 ms",
        "p99 range",
        "server threads",
        "server peak RSS MiB",
        "errors",
        "not measured because",
    ]);
    let mut csv = Table::new(&[
        "rep",
        "server",
        "engine",
        "clients",
        "per_sec",
        "p50_us",
        "p99_us",
        "server_threads",
        "server_peak_rss_kib",
        "errors",
        "skipped",
    ]);
    for lab in [Lab::Echo, Lab::Game] {
        for engine in ENGINES {
            for &clients in &plan.c10k_clients {
                let reps = of(runs, lab, engine, clients);
                let get = |pick: &dyn Fn(&Run) -> Option<f64>| spread_of(&reps, pick);
                let rate = get(&Run::rate);
                let p99 = get(&|r| r.get("p99_us").map(|us| us / 1000.0));
                let measured = reps.iter().any(|r| r.outcome.is_ok());
                let errors: f64 = reps.iter().filter_map(|r| r.get("errors")).sum();
                let errors = if measured {
                    format!("{errors:.0}")
                } else {
                    "-".to_string()
                };
                let mut notes: Vec<String> = reps.iter().map(|r| r.note()).collect();
                notes.sort();
                notes.dedup();
                table.push(vec![
                    lab.name().to_string(),
                    engine.to_string(),
                    clients.to_string(),
                    median_cell(rate, 0),
                    range_cell(rate, 0),
                    median_cell(p99, 2),
                    range_cell(p99, 2),
                    median_cell(get(&Run::threads), 0),
                    median_cell(get(&Run::rss_mib), 1),
                    errors,
                    notes.join(" ").replace('|', "/"),
                ]);
            }
        }
    }
    let mut ordered: Vec<&Run> = runs.iter().collect();
    ordered.sort_by_key(|r| r.rep);
    for run in ordered {
        csv.push(vec![
            run.rep.to_string(),
            run.lab.name().to_string(),
            run.engine.to_string(),
            run.clients.to_string(),
            raw(run.rate()),
            raw(run.get("p50_us")),
            raw(run.get("p99_us")),
            raw(run.threads()),
            raw(run.rss_mib().map(|mib| mib * 1024.0)),
            raw(run.get("errors")),
            run.note().replace(',', ";"),
        ]);
    }
    Section {
        title: "5. C10K: ten thousand clients, a thread each or one event loop".into(),
        setup: setup(plan),
        notice: notice(plan, runs),
        tables: vec![(
            "One row per server, engine and number of clients: the median of the repetitions \
             and the range (least–greatest); \"per second\" is echo round trips or game moves; \
             errors are summed over the repetitions:"
                .into(),
            table,
        )],
        csv: vec![("c10k.csv".into(), csv)],
        charts: Vec::new(),
    }
}

fn setup(plan: &Plan) -> Vec<String> {
    if plan.c10k_clients.is_empty() {
        return vec![
            "Not in this plan (it takes minutes): run the full plan, or `--quick --only c10k` \
             for 1,000 clients."
                .into(),
        ];
    }
    vec![format!(
        "Echo: `tcp-echo serve --engine threads|mio --framing raw` and `tcp-echo bench --size \
         64 --duration {}` (ping-pong). Game: `game-lab serve --engine threads|mio` and \
         `game-lab bench --games {} --think {}` (bots playing whole games, thinking {} ms on \
         average before each move). One load generator, itself one mio thread, on the same \
         cores. Threads and peak memory are the server process's, from /proc. A run that this \
         machine's limits cannot hold is not started; the last column says which limit.",
        plan.echo_seconds, plan.c10k_games, plan.c10k_think_ms, plan.c10k_think_ms
    )]
}

/// The repetitions of `engine` of `lab` with `clients` clients.
fn of<'a>(runs: &'a [Run], lab: Lab, engine: &str, clients: usize) -> Vec<&'a Run> {
    runs.iter()
        .filter(|r| r.lab == lab && r.engine == engine && r.clients == clients)
        .collect()
}

/// What to notice, at the most clients both engines were measured at, and at the most the
/// event loop was.
fn notice(plan: &Plan, runs: &[Run]) -> Vec<Claim> {
    let mut claims = Vec::new();
    for lab in [Lab::Echo, Lab::Game] {
        let measured = |engine: &str, clients: usize, pick: &dyn Fn(&Run) -> Option<f64>| {
            spread_of(&of(runs, lab, engine, clients), pick)
        };
        let most_mio = plan
            .c10k_clients
            .iter()
            .copied()
            .filter(|&c| measured("mio", c, &Run::rate).is_some())
            .max();
        if let Some(clients) = most_mio
            && let Some(threads) = measured("mio", clients, &Run::threads)
        {
            claims.push(claims::always_below(
                &format!(
                    "The {} server's event loop holds {clients} clients with a handful of threads.",
                    lab.name()
                ),
                &Measured::new("server threads", threads, ""),
                8.0,
                "One thread asks the kernel which sockets are ready and serves those; a client \
                 costs a socket and its buffers, not a thread.",
            ));
        }
        let most_both = plan
            .c10k_clients
            .iter()
            .copied()
            .filter(|&c| {
                measured("mio", c, &Run::rss_mib).is_some()
                    && measured("threads", c, &Run::rss_mib).is_some()
            })
            .max();
        if let Some(clients) = most_both
            && let (Some(threads), Some(mio)) = (
                measured("threads", clients, &Run::rss_mib),
                measured("mio", clients, &Run::rss_mib),
            )
        {
            claims.push(claims::higher(
                &format!(
                    "A thread per client costs memory ({} server, peak RSS at {clients} clients).",
                    lab.name()
                ),
                &Measured::new("a thread per client", threads, "MiB"),
                &Measured::new("the event loop", mio, "MiB"),
                "Every thread has a stack and kernel bookkeeping; the loop keeps a small buffer \
                 per connection.",
            ));
        }
    }
    claims
}
