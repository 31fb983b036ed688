//! Comparison 2: concurrency models. The echo server with a thread per client and with one
//! mio event loop, under 1 to 1,000 clients doing ping-pong: round trips per second, p99
//! latency, and what the server process cost (threads, peak memory, from `/proc`).

use netlab_common::{Error, term};
use serde_json::Value;

use crate::Plan;
use crate::report::{Chart, Section, Table, fixed};
use crate::run::{self, Bins, ProcessWatch, Server, Watched, number};

const ENGINES: [&str; 2] = ["threads", "mio"];

struct Run {
    engine: &'static str,
    clients: usize,
    value: Value,
    watched: Watched,
}

/// Runs the comparison and builds its section of the report.
pub fn compare(bins: &Bins, plan: &Plan) -> Result<Section, Error> {
    let mut runs = Vec::new();
    for engine in ENGINES {
        for &clients in &plan.clients {
            term::info(format!("   {engine} engine, {clients} clients"));
            runs.push(one(bins, plan, engine, clients)?);
        }
    }
    Ok(section(plan, &runs))
}

fn one(bins: &Bins, plan: &Plan, engine: &'static str, clients: usize) -> Result<Run, Error> {
    let mut serve = bins.command("tcp-echo");
    serve.args([
        "serve",
        "--port",
        "0",
        "--framing",
        "raw",
        "--engine",
        engine,
    ]);
    serve.args(["--max-clients", &(clients * 2 + 16).to_string()]);
    let server = Server::start(serve)?;
    let watch = ProcessWatch::start(server.pid());
    let mut bench = bins.command("tcp-echo");
    bench.args(["bench", &server.addr, "--size", "64", "--json"]);
    bench.args(["--connections", &clients.to_string()]);
    bench.args(["--duration", &plan.echo_seconds.to_string()]);
    let result = run::json_lines(bench);
    let watched = watch.finish();
    drop(server);
    let value = result?.into_iter().next().unwrap_or(Value::Null);
    Ok(Run {
        engine,
        clients,
        value,
        watched,
    })
}

fn section(plan: &Plan, runs: &[Run]) -> Section {
    let mut table = Table::new(&[
        "engine",
        "clients",
        "round trips/s",
        "p50 us",
        "p99 us",
        "server threads",
        "server peak RSS MiB",
        "errors",
    ]);
    let mut csv = Table::new(&[
        "engine",
        "clients",
        "round_trips_per_sec",
        "p50_us",
        "p99_us",
        "server_threads",
        "server_peak_rss_kib",
        "errors",
    ]);
    for run in runs {
        let get = |field: &str| number(&run.value, field);
        table.push(vec![
            run.engine.to_string(),
            run.clients.to_string(),
            fixed(get("round_trips_per_sec"), 0),
            fixed(get("p50_us"), 0),
            fixed(get("p99_us"), 0),
            run.watched
                .peak_threads
                .map_or("-".into(), |t| t.to_string()),
            fixed(run.watched.peak_rss_kib.map(|k| k as f64 / 1024.0), 1),
            fixed(get("errors"), 0),
        ]);
        let raw = |value: Option<f64>| value.map_or(String::new(), |v| v.to_string());
        csv.push(vec![
            run.engine.to_string(),
            run.clients.to_string(),
            raw(get("round_trips_per_sec")),
            raw(get("p50_us")),
            raw(get("p99_us")),
            raw(run.watched.peak_threads.map(|t| t as f64)),
            raw(run.watched.peak_rss_kib.map(|k| k as f64)),
            raw(get("errors")),
        ]);
    }
    Section {
        title: "2. Concurrency: a thread per client vs one event loop".into(),
        setup: vec![format!(
            "`tcp-echo serve --engine threads|mio` (raw framing) and `tcp-echo bench --size 64 \
             --duration {}`: every client sends 64 bytes and waits for them to come back, again \
             and again. The load generator is itself one mio thread on the same cores. Threads \
             and peak memory are the server process's, from /proc.",
            plan.echo_seconds
        )],
        notice: notice(runs),
        tables: vec![("One row per engine and number of clients:".into(), table)],
        csv: vec![("echo.csv".into(), csv)],
        charts: charts(plan, runs),
    }
}

fn find<'a>(runs: &'a [Run], engine: &str, clients: usize) -> Option<&'a Run> {
    runs.iter()
        .find(|r| r.engine == engine && r.clients == clients)
}

fn notice(runs: &[Run]) -> Vec<String> {
    let mut notes = Vec::new();
    let most = runs.iter().map(|r| r.clients).max().unwrap_or(0);
    if let (Some(threads), Some(mio)) = (find(runs, "threads", most), find(runs, "mio", most)) {
        let count = |w: &Watched| w.peak_threads.map_or("?".into(), |t| t.to_string());
        let mib = |w: &Watched| {
            w.peak_rss_kib
                .map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
        };
        notes.push(format!(
            "**A thread per client costs a thread per client.** With {most} clients the \
             threaded server ran {} threads and peaked at {} MiB; the event loop ran {} \
             threads in {} MiB.",
            count(&threads.watched),
            mib(&threads.watched),
            count(&mio.watched),
            mib(&mio.watched)
        ));
        let rate = |r: &Run| number(&r.value, "round_trips_per_sec").unwrap_or(0.0);
        let p99 = |r: &Run| number(&r.value, "p99_us");
        notes.push(format!(
            "**Throughput is closer than the memory.** At {most} clients: {:.0} round trips/s \
             with threads, {:.0} with mio. On two cores shared with the load generator both \
             are limited by system calls and wake-ups. {}",
            rate(threads),
            rate(mio),
            tail_sentence(p99(threads), p99(mio))
        ));
    }
    notes
}

/// What this run's p99 says, and only that: which engine had the shorter tail, or that the run
/// did not measure it. (A fixed sentence praising the event loop's tail contradicted runs where
/// the threads had the shorter one.)
fn tail_sentence(threads_p99: Option<f64>, mio_p99: Option<f64>) -> String {
    match (threads_p99, mio_p99) {
        (Some(threads), Some(mio)) if mio < threads => format!(
            "The event loop also had the shorter tail here: p99 {mio:.0} µs against {threads:.0} µs."
        ),
        (Some(threads), Some(mio)) if threads < mio => format!(
            "In this run the threads had the shorter tail (p99 {threads:.0} µs against {mio:.0} \
             µs for mio): one run on a busy 2-core machine is noisy, so rerun before drawing a \
             lesson from the tail."
        ),
        (Some(p99), Some(_)) => format!("Both had the same p99, {p99:.0} µs."),
        _ => "This run did not measure the p99 of both engines.".into(),
    }
}

fn charts(plan: &Plan, runs: &[Run]) -> Vec<Chart> {
    let x_labels: Vec<String> = plan.clients.iter().map(|c| c.to_string()).collect();
    let series = |pick: &dyn Fn(&Run) -> Option<f64>| -> Vec<(String, Vec<f64>)> {
        ENGINES
            .iter()
            .map(|engine| {
                let values = plan
                    .clients
                    .iter()
                    .map(|&c| find(runs, engine, c).and_then(pick).unwrap_or(0.0))
                    .collect();
                (engine.to_string(), values)
            })
            .collect()
    };
    vec![
        Chart {
            file: "echo-round-trips.svg".into(),
            title: "Round trips per second by clients".into(),
            y_title: "round trips/s".into(),
            x_labels: x_labels.clone(),
            series: series(&|r| number(&r.value, "round_trips_per_sec")),
            bars: true,
        },
        Chart {
            file: "echo-memory.svg".into(),
            title: "Server peak memory by clients".into(),
            y_title: "MiB".into(),
            x_labels,
            series: series(&|r| r.watched.peak_rss_kib.map(|k| k as f64 / 1024.0)),
            bars: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::tail_sentence;

    /// The tail sentence follows the data: it never credits the event loop with the shorter p99
    /// when the threads had it.
    #[test]
    fn tail_sentence_follows_the_data() {
        let mio_ahead = tail_sentence(Some(5_700.0), Some(960.0));
        assert!(mio_ahead.starts_with("The event loop also had the shorter tail"));
        let threads_ahead = tail_sentence(Some(5_700.0), Some(43_500.0));
        assert!(threads_ahead.starts_with("In this run the threads had the shorter tail"));
        assert!(!threads_ahead.contains("event loop also"));
        assert_eq!(
            tail_sentence(None, Some(1.0)),
            "This run did not measure the p99 of both engines."
        );
    }
}
