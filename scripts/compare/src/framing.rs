//! Comparison 3: framing. The same echo server in raw, line and length-prefixed framing: what
//! each costs per message (bytes, round trips per second), and what breaks without one. TCP
//! delivers a byte stream, not messages: several writes can arrive as one read and one write as
//! several reads, so a receiver that takes each read as a message gets them merged and split.
//! The boundaries check sends many messages back to back and counts how many a receiver can
//! recover intact in each framing.

use netlab_common::{Error, term};
use serde_json::Value;

use crate::Plan;
use crate::claims::{self, Claim, Measured, Spread};
use crate::report::{Chart, Section, Table, median_cell, range_cell, raw, spread_of};
use crate::run::{self, Bins, Server, number};

const FRAMINGS: [&str; 3] = ["raw", "line", "length"];

struct Run {
    rep: usize,
    framing: &'static str,
    pingpong: Value,
    boundaries: Value,
}

impl Run {
    fn ping(&self, field: &str) -> Option<f64> {
        number(&self.pingpong, field)
    }
    fn cut(&self, field: &str) -> Option<f64> {
        number(&self.boundaries, field)
    }
    /// The share of messages recovered intact, in percent.
    fn recovered_percent(&self) -> Option<f64> {
        let of = self.cut("messages")?;
        (of > 0.0).then(|| 100.0 * self.cut("recovered").unwrap_or(0.0) / of)
    }
}

/// The comparison and every run so far.
#[derive(Default)]
pub struct Framing {
    runs: Vec<Run>,
}

impl run::Comparison for Framing {
    fn what(&self) -> &'static str {
        "framing: raw, line and length-prefixed echo"
    }

    fn measure(&mut self, bins: &Bins, plan: &Plan, rep: usize) -> Result<(), Error> {
        for framing in FRAMINGS {
            term::info(format!("   {framing} framing"));
            self.runs.push(one(bins, plan, framing, rep)?);
        }
        Ok(())
    }

    fn section(&self, plan: &Plan) -> Section {
        section(plan, &self.runs)
    }
}

fn one(bins: &Bins, plan: &Plan, framing: &'static str, rep: usize) -> Result<Run, Error> {
    let mut serve = bins.command("tcp-echo");
    serve.args([
        "serve",
        "--port",
        "0",
        "--engine",
        "mio",
        "--framing",
        framing,
    ]);
    let server = Server::start(serve)?;
    let bench = |extra: &[String]| {
        let mut command = bins.command("tcp-echo");
        command.args(["bench", &server.addr, "--framing", framing, "--json"]);
        command.args(extra);
        run::json_lines(command).map(|values| values.into_iter().next().unwrap_or(Value::Null))
    };
    let pingpong = bench(&[
        "--connections".into(),
        "16".into(),
        "--size".into(),
        "64".into(),
        "--duration".into(),
        plan.echo_seconds.to_string(),
    ])?;
    let boundaries = bench(&["--boundaries".into(), plan.boundaries.to_string()])?;
    Ok(Run {
        rep,
        framing,
        pingpong,
        boundaries,
    })
}

/// The repetitions of `framing`.
fn of<'a>(runs: &'a [Run], framing: &str) -> Vec<&'a Run> {
    runs.iter().filter(|r| r.framing == framing).collect()
}

fn section(plan: &Plan, runs: &[Run]) -> Section {
    let mut table = Table::new(&[
        "framing",
        "bytes added per message",
        "round trips/s",
        "round trips/s range",
        "p99 us",
        "messages recovered intact",
        "recovered range",
        "reads holding several messages",
        "reads cut inside a message",
    ]);
    let mut csv = Table::new(&[
        "rep",
        "framing",
        "overhead_bytes_per_message",
        "round_trips_per_sec",
        "p99_us",
        "messages",
        "recovered",
        "merged",
        "split",
    ]);
    for framing in FRAMINGS {
        let reps = of(runs, framing);
        let ping = |field: &str| spread_of(&reps, |r| r.ping(field));
        let cut = |field: &str| spread_of(&reps, |r| r.cut(field));
        let rate = ping("round_trips_per_sec");
        let recovered = cut("recovered");
        table.push(vec![
            framing.to_string(),
            median_cell(ping("overhead_bytes_per_message"), 0),
            median_cell(rate, 0),
            range_cell(rate, 0),
            median_cell(ping("p99_us"), 0),
            format!(
                "{} of {}",
                median_cell(recovered, 0),
                median_cell(cut("messages"), 0)
            ),
            range_cell(recovered, 0),
            median_cell(cut("merged"), 0),
            median_cell(cut("split"), 0),
        ]);
    }
    let mut ordered: Vec<&Run> = runs.iter().collect();
    ordered.sort_by_key(|r| r.rep);
    for run in ordered {
        csv.push(vec![
            run.rep.to_string(),
            run.framing.to_string(),
            raw(run.ping("overhead_bytes_per_message")),
            raw(run.ping("round_trips_per_sec")),
            raw(run.ping("p99_us")),
            raw(run.cut("messages")),
            raw(run.cut("recovered")),
            raw(run.cut("merged")),
            raw(run.cut("split")),
        ]);
    }
    Section {
        title: "3. Framing: raw vs line vs length prefix".into(),
        setup: vec![format!(
            "`tcp-echo serve --framing F --engine mio`; `tcp-echo bench --framing F`: 16 \
             clients doing ping-pong with 64-byte messages for {} s, then `--boundaries {}`: \
             that many messages of varied sizes sent back to back (several per write), read \
             back, and cut into messages the only way the framing allows (raw: one read, one \
             message). A newline costs one byte per message and a length prefix four; compare \
             the round trips per second to see what that costs.",
            plan.echo_seconds, plan.boundaries
        )],
        notice: notice(runs),
        tables: vec![(
            "One row per framing: the median of the repetitions and the range (least–greatest):"
                .into(),
            table,
        )],
        csv: vec![("framing.csv".into(), csv)],
        charts: vec![Chart {
            file: "framing-recovered.svg".into(),
            title: "Messages recovered intact".into(),
            y_title: "recovered intact (% of messages)".into(),
            x_title: "framing".into(),
            x_labels: FRAMINGS.iter().map(|f| f.to_string()).collect(),
            series: vec![(
                "recovered".into(),
                FRAMINGS
                    .iter()
                    .map(|f| spread_of(&of(runs, f), Run::recovered_percent))
                    .collect(),
            )],
            bars: true,
            percent: true,
        }],
    }
}

/// What to notice: each lesson a claim checked against every repetition.
fn notice(runs: &[Run]) -> Vec<Claim> {
    let recovered = |framing: &str| -> Option<Measured> {
        let spread: Spread = spread_of(&of(runs, framing), Run::recovered_percent)?;
        Some(Measured::new(
            format!("{framing} framing"),
            spread,
            "% recovered",
        ))
    };
    let mut claims = Vec::new();
    if let Some(raw) = recovered("raw") {
        claims.push(claims::always_below(
            "Without framing, messages do not survive TCP.",
            &raw,
            100.0,
            "The rest were merged with their neighbours or cut in two: TCP keeps the bytes and \
             their order, never the boundaries between writes.",
        ));
    }
    let framed: Vec<Measured> = ["line", "length"]
        .iter()
        .filter_map(|f| recovered(f))
        .collect();
    claims.push(claims::all_at_least(
        "A framing puts the boundaries back.",
        &framed,
        100.0,
        "Line and length framing recovered every message in every repetition",
        "Their reads are just as ragged; the decoder repairs them.",
    ));
    claims
}
