//! Comparison 3: framing. The same echo server in raw, line and length-prefixed framing: what
//! each costs per message (bytes, round trips per second), and what breaks without one. TCP
//! delivers a byte stream, not messages: several writes can arrive as one read and one write as
//! several reads, so a receiver that takes each read as a message gets them merged and split.
//! The boundaries check sends many messages back to back and counts how many a receiver can
//! recover intact in each framing.

use netlab_common::{Error, term};
use serde_json::Value;

use crate::Plan;
use crate::report::{Chart, Section, Table, fixed};
use crate::run::{self, Bins, Server, number};

const FRAMINGS: [&str; 3] = ["raw", "line", "length"];

struct Run {
    framing: &'static str,
    pingpong: Value,
    boundaries: Value,
}

/// Runs the comparison and builds its section of the report.
pub fn compare(bins: &Bins, plan: &Plan) -> Result<Section, Error> {
    let mut runs = Vec::new();
    for framing in FRAMINGS {
        term::info(format!("   {framing} framing"));
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
        runs.push(Run {
            framing,
            pingpong,
            boundaries,
        });
    }
    Ok(section(plan, &runs))
}

fn section(plan: &Plan, runs: &[Run]) -> Section {
    let mut table = Table::new(&[
        "framing",
        "bytes added per message",
        "round trips/s",
        "p99 us",
        "messages recovered intact",
        "reads holding several messages",
        "reads cut inside a message",
    ]);
    let mut csv = Table::new(&[
        "framing",
        "overhead_bytes_per_message",
        "round_trips_per_sec",
        "p99_us",
        "messages",
        "recovered",
        "merged",
        "split",
    ]);
    for run in runs {
        let ping = |field: &str| number(&run.pingpong, field);
        let cut = |field: &str| number(&run.boundaries, field);
        table.push(vec![
            run.framing.to_string(),
            fixed(ping("overhead_bytes_per_message"), 0),
            fixed(ping("round_trips_per_sec"), 0),
            fixed(ping("p99_us"), 0),
            format!(
                "{} of {}",
                fixed(cut("recovered"), 0),
                fixed(cut("messages"), 0)
            ),
            fixed(cut("merged"), 0),
            fixed(cut("split"), 0),
        ]);
        let raw = |value: Option<f64>| value.map_or(String::new(), |v| v.to_string());
        csv.push(vec![
            run.framing.to_string(),
            raw(ping("overhead_bytes_per_message")),
            raw(ping("round_trips_per_sec")),
            raw(ping("p99_us")),
            raw(cut("messages")),
            raw(cut("recovered")),
            raw(cut("merged")),
            raw(cut("split")),
        ]);
    }
    Section {
        title: "3. Framing: raw vs line vs length prefix".into(),
        setup: vec![format!(
            "`tcp-echo serve --framing F --engine mio`; `tcp-echo bench --framing F`: 16 \
             clients doing ping-pong with 64-byte messages for {} s, then `--boundaries {}`: \
             that many messages of varied sizes sent back to back (several per write), read \
             back, and cut into messages the only way the framing allows (raw: one read, one \
             message).",
            plan.echo_seconds, plan.boundaries
        )],
        notice: notice(runs),
        tables: vec![("One row per framing:".into(), table)],
        csv: vec![("framing.csv".into(), csv)],
        charts: vec![Chart {
            file: "framing-recovered.svg".into(),
            title: "Messages recovered intact".into(),
            y_title: "% of messages".into(),
            x_labels: runs.iter().map(|r| r.framing.to_string()).collect(),
            series: vec![(
                "recovered".into(),
                runs.iter()
                    .map(|r| {
                        let got = number(&r.boundaries, "recovered").unwrap_or(0.0);
                        100.0 * got / number(&r.boundaries, "messages").unwrap_or(1.0).max(1.0)
                    })
                    .collect(),
            )],
            bars: true,
        }],
    }
}

fn notice(runs: &[Run]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(raw) = runs.iter().find(|r| r.framing == "raw") {
        let got = number(&raw.boundaries, "recovered").unwrap_or(0.0);
        let of = number(&raw.boundaries, "messages").unwrap_or(0.0);
        notes.push(format!(
            "**Without framing, messages do not survive TCP.** Raw: {got:.0} of {of:.0} messages \
             came back as the same messages; the rest were merged with their neighbours or cut \
             in two, because TCP keeps the bytes and their order, never the boundaries between \
             writes."
        ));
    }
    notes.push(
        "**Framing is cheap.** A newline costs one byte per message and a length prefix four; \
         the round trips per second barely change, because a small message costs a system call \
         and a wake-up, not bytes. The line framing's catch is that a message cannot contain a \
         newline; the length prefix carries anything."
            .to_string(),
    );
    notes
}
