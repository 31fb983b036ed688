//! Comparison 1: reliable chat over TCP and over UDP with each ARQ scheme, across loss rates.
//!
//! One `udp-chat bench` run per loss rate sends the same messages through TCP (the kernel's
//! reliability), plain UDP (none), stop-and-wait, go-back-N and selective repeat. With a network
//! namespace ([`crate::netns`]) the loss is the kernel's and every scheme, TCP included, faces
//! it; otherwise the UDP lab's fault injector loses datagrams and TCP is only measured at 0%.

use serde_json::Value;

use crate::netns::{self, LossyLink, Network};
use crate::report::{Chart, Section, Table, fixed};
use crate::run::{self, Bins, number, text};
use crate::{NetworkChoice, Plan};
use netlab_common::{Error, term};

const SCHEMES: [&str; 5] = [
    "tcp",
    "none",
    "stop-and-wait",
    "go-back-n",
    "selective-repeat",
];

/// One bench run's figures at one loss rate.
struct Run {
    loss: u32,
    value: Value,
}

impl Run {
    fn scheme(&self) -> &str {
        text(&self.value, "arq")
    }
    fn skipped(&self) -> Option<&str> {
        self.value.get("skipped").and_then(Value::as_str)
    }
    fn get(&self, field: &str) -> Option<f64> {
        number(&self.value, field)
    }
}

/// Runs the comparison and builds its section of the report.
pub fn compare(bins: &Bins, plan: &Plan, choice: NetworkChoice) -> Result<Section, Error> {
    let network = Network::probe(choice)?;
    let (runs, how) = match &network {
        Network::Namespace { netem } => in_namespaces(bins, plan, *netem)?,
        Network::InProgram { why } => {
            term::warn(format!(
                "no network namespace ({why}): the UDP lab's fault injector makes the loss, and \
                 TCP is measured without loss only"
            ));
            (
                in_program(bins, plan)?,
                format!("the UDP lab's in-program fault injector ({why})"),
            )
        }
    };
    Ok(section(plan, &network, &how, &runs))
}

/// A fresh lossy link (two namespaces) per loss rate, the bench run across it with the
/// in-program injector off.
fn in_namespaces(bins: &Bins, plan: &Plan, netem: bool) -> Result<(Vec<Run>, String), Error> {
    let mut runs = Vec::new();
    let mut how = String::new();
    for &loss in &plan.loss_percent {
        term::info(format!(
            "   loss {loss}%: TCP and UDP across a lossy link between two network namespaces"
        ));
        let link = LossyLink::create()?;
        let made = link.make_lossy(loss, 0, netem)?;
        if loss > 0 {
            how = made;
        }
        let mut command = link.exec(bins.path("udp-chat"));
        command.args(bench_args(plan, "0"));
        command.args([
            "--peer-netns",
            link.receiver(),
            "--peer-addr",
            netns::RECEIVER_ADDR,
        ]);
        for value in run::json_lines(command)? {
            runs.push(Run { loss, value });
        }
    }
    Ok((
        runs,
        format!(
            "two network namespaces joined by a veth pair (a fresh pair per loss rate); \
             the link lost packets by {how}"
        ),
    ))
}

/// One bench run over every loss rate with the in-program injector.
fn in_program(bins: &Bins, plan: &Plan) -> Result<Vec<Run>, Error> {
    let losses: Vec<String> = plan.loss_percent.iter().map(|l| format!("{l}%")).collect();
    let mut command = bins.command("udp-chat");
    command.args(bench_args(plan, &losses.join(",")));
    let values = run::json_lines(command)?;
    Ok(values
        .into_iter()
        .map(|value| {
            let loss = (number(&value, "loss").unwrap_or(0.0) * 100.0).round() as u32;
            Run { loss, value }
        })
        .collect())
}

fn bench_args(plan: &Plan, losses: &str) -> Vec<String> {
    [
        "bench",
        "--json",
        "--messages",
        &plan.messages.to_string(),
        "--size",
        "1000",
        "--arq",
        &SCHEMES.join(","),
        "--loss",
        losses,
        "--timeout",
        &plan.chat_timeout_s.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn section(plan: &Plan, network: &Network, how: &str, runs: &[Run]) -> Section {
    let mut table = Table::new(&[
        "scheme",
        "loss",
        "delivered",
        "p50 ms",
        "p99 ms",
        "retransmissions",
        "wire B / delivered B",
        "goodput kB/s",
        "note",
    ]);
    let mut csv = Table::new(&[
        "loss_percent",
        "scheme",
        "messages",
        "delivered",
        "delivery_ratio",
        "p50_ms",
        "p99_ms",
        "retransmissions",
        "wire_per_delivered",
        "goodput_bytes_per_s",
        "elapsed_s",
        "skipped",
    ]);
    for scheme in SCHEMES {
        for run in runs.iter().filter(|r| r.scheme() == scheme) {
            table.push(table_row(run));
            csv.push(csv_row(run));
        }
    }
    let mut setup = vec![
        format!(
            "`udp-chat bench`: {} messages of 1000 bytes per run, window 32, RTO floor 200 ms \
             (Linux TCP's too), no added delay. Loss: {how}.",
            plan.messages
        ),
        "TCP carries the same messages on one connection, length-prefixed, at most 32 \
         undelivered at a time like the UDP windows; its retransmissions and wire bytes are \
         the kernel's counters."
            .to_string(),
    ];
    if let Network::InProgram { .. } = network {
        setup.push(
            "TCP rows above 0% are missing: the fault injector works on the UDP lab's datagrams \
             and cannot touch the kernel's TCP segments. Run as root on Linux to see TCP lose \
             packets too."
                .to_string(),
        );
    }
    Section {
        title: "1. Reliable chat: TCP vs UDP with each ARQ scheme, by loss rate".into(),
        setup,
        notice: notice(runs),
        tables: vec![("One row per scheme and loss rate:".into(), table)],
        csv: vec![("chat.csv".into(), csv)],
        charts: charts(plan, runs),
    }
}

fn table_row(run: &Run) -> Vec<String> {
    let mut row = vec![run.scheme().to_string(), format!("{}%", run.loss)];
    if let Some(why) = run.skipped() {
        row.extend(["-", "-", "-", "-", "-", "-"].map(String::from));
        row.push(format!("not run: {why}"));
        return row;
    }
    let delivered = run.get("delivered").unwrap_or(0.0);
    let messages = run.get("messages").unwrap_or(0.0);
    let mut note = Vec::new();
    if run.value.get("unreachable").and_then(Value::as_bool) == Some(true) {
        note.push("gave up: receiver unreachable");
    }
    if run.value.get("timed_out").and_then(Value::as_bool) == Some(true) {
        note.push("timed out");
    }
    row.extend([
        format!("{delivered:.0}/{messages:.0}"),
        fixed(run.get("p50_ms"), 1),
        fixed(run.get("p99_ms"), 1),
        fixed(run.get("retransmissions"), 0),
        fixed(run.get("wire_per_delivered"), 2),
        fixed(run.get("goodput_bytes_per_s").map(|b| b / 1000.0), 1),
        note.join("; "),
    ]);
    row
}

fn csv_row(run: &Run) -> Vec<String> {
    let raw = |field: &str| run.get(field).map_or(String::new(), |v| v.to_string());
    vec![
        run.loss.to_string(),
        run.scheme().to_string(),
        raw("messages"),
        raw("delivered"),
        raw("delivery_ratio"),
        raw("p50_ms"),
        raw("p99_ms"),
        raw("retransmissions"),
        raw("wire_per_delivered"),
        raw("goodput_bytes_per_s"),
        raw("elapsed_s"),
        run.skipped().unwrap_or("").to_string(),
    ]
}

/// The figure `field` of `scheme` at `loss`, if that run was made.
fn figure(runs: &[Run], scheme: &str, loss: u32, field: &str) -> Option<f64> {
    runs.iter()
        .find(|r| r.scheme() == scheme && r.loss == loss && r.skipped().is_none())
        .and_then(|r| r.get(field))
}

fn notice(runs: &[Run]) -> Vec<String> {
    let mut notes = Vec::new();
    let reliable_all = runs
        .iter()
        .filter(|r| r.scheme() != "none" && r.skipped().is_none())
        .all(|r| r.get("delivery_ratio") == Some(1.0));
    let worst = runs.iter().map(|r| r.loss).max().unwrap_or(0);
    if let Some(plain) = figure(runs, "none", worst, "delivery_ratio") {
        notes.push(format!(
            "**Reliability is a choice.** Plain UDP delivered {:.0}% of the messages at {worst}% \
             loss; {} Each lost message is gone for good, and nobody is told.",
            plain * 100.0,
            if reliable_all {
                "every reliable scheme, TCP included, delivered all of them at every loss rate."
            } else {
                "the reliable schemes delivered every message they had time for; the runs marked \
                 in the note column ran out of time, their timers backed off to seconds."
            }
        ));
    }
    let mid = 5;
    if let (Some(sw), Some(sr)) = (
        figure(runs, "stop-and-wait", mid, "elapsed_s"),
        figure(runs, "selective-repeat", mid, "elapsed_s"),
    ) {
        notes.push(format!(
            "**Windows and fast retransmit matter.** At {mid}% loss stop-and-wait needed \
             {} for its messages, selective repeat {}. With one datagram in flight \
             every loss costs a whole retransmission timeout (at least 200 ms, a thousand \
             loopback round trips); selective repeat keeps the window moving and repairs most \
             losses after three later ACKs, without waiting for the timer.",
            seconds(sw),
            seconds(sr)
        ));
    }
    if let (Some(gbn), Some(sr)) = (
        figure(runs, "go-back-n", worst, "wire_per_delivered"),
        figure(runs, "selective-repeat", worst, "wire_per_delivered"),
    ) {
        notes.push(format!(
            "**What a loss costs on the wire.** At {worst}% loss go-back-N sent {gbn:.2} bytes \
             per byte delivered, selective repeat {sr:.2}: go-back-N resends the whole window \
             after each loss."
        ));
    }
    let slowest = |scheme: &str| {
        runs.iter()
            .filter(|r| r.scheme() == scheme && r.skipped().is_none())
            .filter_map(|r| r.get("p99_ms"))
            .fold(0.0, f64::max)
    };
    if figure(runs, "tcp", worst, "delivery_ratio").is_some() {
        notes.push(format!(
            "**TCP is selective repeat with decades of tuning,** and faces the same timers: its \
             worst p99 here was {:.0} ms, hand-built selective repeat's {:.0} ms. A loss that \
             later segments cannot reveal waits for a retransmission timeout (200 ms at least, \
             1 s before the first RTT sample, RFC 6298), and each time it is lost again the \
             timeout doubles: up to 120 s for Linux TCP, 4 s for this lab's schemes. With a few \
             hundred messages per run, one unlucky loss decides the p99.",
            slowest("tcp"),
            slowest("selective-repeat")
        ));
    }
    notes
}

/// `8.0 s`, or `5 ms` below a second.
fn seconds(value: f64) -> String {
    if value < 1.0 {
        format!("{:.0} ms", value * 1000.0)
    } else {
        format!("{value:.1} s")
    }
}

fn charts(plan: &Plan, runs: &[Run]) -> Vec<Chart> {
    let x_labels: Vec<String> = plan.loss_percent.iter().map(|l| format!("{l}%")).collect();
    let series = |field: &str, scale: f64| -> Vec<(String, Vec<f64>)> {
        SCHEMES
            .iter()
            .filter_map(|scheme| {
                let values: Vec<Option<f64>> = plan
                    .loss_percent
                    .iter()
                    .map(|&loss| figure(runs, scheme, loss, field).map(|v| v * scale))
                    .collect();
                // A series with a missing point (TCP without a namespace) is left out.
                let values: Option<Vec<f64>> = values.into_iter().collect();
                values.map(|values| (scheme.to_string(), values))
            })
            .collect()
    };
    vec![
        Chart {
            file: "chat-goodput.svg".into(),
            title: "Goodput by loss rate".into(),
            y_title: "kB/s".into(),
            x_labels: x_labels.clone(),
            series: series("goodput_bytes_per_s", 0.001),
            bars: false,
        },
        Chart {
            file: "chat-delivery.svg".into(),
            title: "Share of messages delivered".into(),
            y_title: "%".into(),
            x_labels: x_labels.clone(),
            series: series("delivery_ratio", 100.0),
            bars: false,
        },
        Chart {
            file: "chat-p99.svg".into(),
            title: "p99 latency by loss rate".into(),
            y_title: "ms".into(),
            x_labels,
            series: series("p99_ms", 1.0),
            bars: false,
        },
    ]
}
