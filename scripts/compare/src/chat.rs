//! Comparison 1: reliable chat over TCP and over UDP with each ARQ scheme, across loss rates.
//!
//! One `udp-chat bench` run per loss rate sends the same messages through TCP (the kernel's
//! reliability), plain UDP (none), stop-and-wait, go-back-N and selective repeat. With a network
//! namespace ([`crate::netns`]) the loss is the kernel's and every scheme, TCP included, faces
//! it; otherwise the UDP lab's fault injector loses datagrams and TCP is only measured at 0%.

use serde_json::Value;

use crate::claims::{self, Claim, Measured, Spread};
use crate::netns::{self, LossyLink, Network};
use crate::report::{Chart, Section, Table, fixed, median_cell, range_cell, raw, spread_of};
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

/// One scheme's figures at one loss rate, in one repetition.
struct Run {
    rep: usize,
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

/// The comparison: where its loss comes from, and every run so far.
pub struct Chat {
    network: Network,
    /// How the loss was made, for the report.
    how: String,
    runs: Vec<Run>,
}

impl Chat {
    /// Decides where the loss comes from (a namespace if `choice` allows and it can be made).
    pub fn new(choice: NetworkChoice) -> Result<Self, Error> {
        let network = Network::probe(choice)?;
        let how = match &network {
            Network::Namespace { .. } => String::new(),
            Network::InProgram { why } => {
                term::warn(format!(
                    "no network namespace ({why}): the UDP lab's fault injector makes the loss, \
                     and TCP is measured without loss only"
                ));
                format!(
                    "the UDP lab's in-program fault injector, seeded with the repetition's \
                     number ({why})"
                )
            }
        };
        Ok(Chat {
            network,
            how,
            runs: Vec::new(),
        })
    }
}

impl run::Comparison for Chat {
    fn what(&self) -> &'static str {
        "reliable chat: TCP and the UDP ARQ schemes across loss rates"
    }

    fn measure(&mut self, bins: &Bins, plan: &Plan, rep: usize) -> Result<(), Error> {
        match self.network {
            Network::Namespace { netem } => {
                let (runs, how) = in_namespaces(bins, plan, netem, rep)?;
                self.runs.extend(runs);
                self.how = how;
            }
            Network::InProgram { .. } => self.runs.extend(in_program(bins, plan, rep)?),
        }
        Ok(())
    }

    fn section(&self, plan: &Plan) -> Section {
        section(plan, &self.network, &self.how, &self.runs)
    }
}

/// A fresh lossy link (two namespaces) per loss rate, the bench run across it with the
/// in-program injector off.
fn in_namespaces(
    bins: &Bins,
    plan: &Plan,
    netem: bool,
    rep: usize,
) -> Result<(Vec<Run>, String), Error> {
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
            runs.push(Run { rep, loss, value });
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

/// One bench run over every loss rate with the in-program injector, seeded with the
/// repetition's number: each repetition meets other losses, and a rerun meets the same ones.
fn in_program(bins: &Bins, plan: &Plan, rep: usize) -> Result<Vec<Run>, Error> {
    term::info("   every loss rate, with the UDP lab's fault injector");
    let losses: Vec<String> = plan.loss_percent.iter().map(|l| format!("{l}%")).collect();
    let mut command = bins.command("udp-chat");
    command.args(bench_args(plan, &losses.join(",")));
    command.args(["--seed", &rep.to_string()]);
    let values = run::json_lines(command)?;
    Ok(values
        .into_iter()
        .map(|value| {
            let loss = (number(&value, "loss").unwrap_or(0.0) * 100.0).round() as u32;
            Run { rep, loss, value }
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
        "p99 range",
        "retransmissions",
        "wire B / delivered B",
        "wire range",
        "goodput kB/s",
        "goodput range",
        "note",
    ]);
    let mut csv = Table::new(&[
        "rep",
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
        for &loss in &plan.loss_percent {
            let reps = of(runs, scheme, loss);
            if !reps.is_empty() {
                table.push(table_row(scheme, loss, &reps));
            }
        }
    }
    let mut ordered: Vec<&Run> = runs.iter().collect();
    ordered.sort_by_key(|r| (r.rep, r.loss));
    for run in ordered {
        csv.push(csv_row(run));
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
        notice: notice(plan, runs),
        tables: vec![(
            "One row per scheme and loss rate: the median of the repetitions, and the range \
             (least–greatest) of the figures that vary most:"
                .into(),
            table,
        )],
        csv: vec![("chat.csv".into(), csv)],
        charts: charts(plan, runs),
    }
}

/// The repetitions of `scheme` at `loss`.
fn of<'a>(runs: &'a [Run], scheme: &str, loss: u32) -> Vec<&'a Run> {
    runs.iter()
        .filter(|r| r.scheme() == scheme && r.loss == loss)
        .collect()
}

/// The spread of `field` over the repetitions of `scheme` at `loss` that were run.
fn spread(runs: &[Run], scheme: &str, loss: u32, field: &str) -> Option<Spread> {
    let measured: Vec<&Run> = of(runs, scheme, loss)
        .into_iter()
        .filter(|r| r.skipped().is_none())
        .collect();
    spread_of(&measured, |r| r.get(field))
}

fn table_row(scheme: &str, loss: u32, reps: &[&Run]) -> Vec<String> {
    let mut row = vec![scheme.to_string(), format!("{loss}%")];
    if let Some(why) = reps.iter().find_map(|r| r.skipped()) {
        row.extend(["-", "-", "-", "-", "-", "-", "-", "-", "-"].map(String::from));
        row.push(format!("not run: {why}"));
        return row;
    }
    let get = |field: &str| spread_of(reps, |r| r.get(field));
    let delivered = get("delivered").map_or("-".into(), |d| {
        if d.is_steady() {
            format!("{:.0}", d.median)
        } else {
            format!("{:.0}–{:.0}", d.min, d.max)
        }
    });
    let messages = fixed(reps.first().and_then(|r| r.get("messages")), 0);
    let flagged = |flag: &str| {
        reps.iter()
            .filter(|r| r.value.get(flag).and_then(Value::as_bool) == Some(true))
            .count()
    };
    let mut note = Vec::new();
    for (flag, said) in [
        ("unreachable", "gave up: receiver unreachable"),
        ("timed_out", "timed out"),
    ] {
        let times = flagged(flag);
        if times > 0 {
            note.push(format!("{said} ({times} of {} reps)", reps.len()));
        }
    }
    let goodput = get("goodput_bytes_per_s").map(|s| scaled(s, 0.001));
    row.extend([
        format!("{delivered}/{messages}"),
        median_cell(get("p50_ms"), 1),
        median_cell(get("p99_ms"), 1),
        range_cell(get("p99_ms"), 1),
        median_cell(get("retransmissions"), 0),
        median_cell(get("wire_per_delivered"), 2),
        range_cell(get("wire_per_delivered"), 2),
        median_cell(goodput, 1),
        range_cell(goodput, 1),
        note.join("; "),
    ]);
    row
}

/// `spread` times `factor` (a unit change).
fn scaled(spread: Spread, factor: f64) -> Spread {
    Spread {
        median: spread.median * factor,
        min: spread.min * factor,
        max: spread.max * factor,
        reps: spread.reps,
    }
}

fn csv_row(run: &Run) -> Vec<String> {
    let get = |field: &str| raw(run.get(field));
    vec![
        run.rep.to_string(),
        run.loss.to_string(),
        run.scheme().to_string(),
        get("messages"),
        get("delivered"),
        get("delivery_ratio"),
        get("p50_ms"),
        get("p99_ms"),
        get("retransmissions"),
        get("wire_per_delivered"),
        get("goodput_bytes_per_s"),
        get("elapsed_s"),
        run.skipped().unwrap_or("").to_string(),
    ]
}

/// What to notice: each lesson a claim checked against every repetition.
fn notice(plan: &Plan, runs: &[Run]) -> Vec<Claim> {
    let mut claims = Vec::new();
    let worst = plan.loss_percent.iter().copied().max().unwrap_or(0);
    let measured = |scheme: &str, loss: u32, field: &str, unit: &'static str, scale: f64| {
        spread(runs, scheme, loss, field).map(|s| {
            Measured::new(
                format!("{} at {loss}% loss", name(scheme)),
                scaled(s, scale),
                unit,
            )
        })
    };
    if let Some(plain) = measured(
        "none",
        worst,
        "delivery_ratio",
        "% of messages delivered",
        100.0,
    ) {
        claims.push(claims::always_below(
            "Plain UDP loses messages.",
            &plain,
            100.0,
            "Each lost message is gone for good, and neither side is told.",
        ));
    }
    let reliable: Vec<Measured> = SCHEMES
        .iter()
        .filter(|s| **s != "none")
        .flat_map(|scheme| {
            plan.loss_percent
                .iter()
                .filter_map(move |&loss| measured(scheme, loss, "delivery_ratio", "%", 100.0))
        })
        .collect();
    claims.push(claims::all_at_least(
        "Reliability is a choice.",
        &reliable,
        100.0,
        "Every reliable scheme delivered every message, at every loss rate, in every repetition",
        "They pay for it in time and in bytes on the wire, as the next lines show.",
    ));
    if let (Some(sr), Some(sw)) = (
        measured(
            "selective-repeat",
            worst,
            "goodput_bytes_per_s",
            "kB/s",
            0.001,
        ),
        measured("stop-and-wait", worst, "goodput_bytes_per_s", "kB/s", 0.001),
    ) {
        claims.push(claims::higher(
            "Windows and fast retransmit matter.",
            &sr,
            &sw,
            "Compare at the highest loss rate: at low rates one unlucky timeout decides a \
             short run's goodput. With one datagram in flight every loss costs stop-and-wait a \
             whole retransmission timeout (at least 200 ms, a thousand loopback round trips); selective repeat keeps \
             the window moving and repairs most losses after three later ACKs.",
        ));
    }
    if let (Some(gbn), Some(sr)) = (
        measured(
            "go-back-n",
            worst,
            "wire_per_delivered",
            "B per B delivered",
            1.0,
        ),
        measured(
            "selective-repeat",
            worst,
            "wire_per_delivered",
            "B per B delivered",
            1.0,
        ),
    ) {
        claims.push(claims::higher(
            "Go-back-N pays for a loss on the wire.",
            &gbn,
            &sr,
            "Go-back-N resends the whole window after a loss; selective repeat only what was lost.",
        ));
    }
    if let (Some(lossy), Some(clean)) = (
        measured("stop-and-wait", worst, "p99_ms", "ms", 1.0),
        measured("stop-and-wait", 0, "p99_ms", "ms", 1.0),
    ) {
        claims.push(claims::higher(
            "Loss makes the tail.",
            &lossy,
            &clean,
            "A loss repaired by a timeout waits at least one RTO (200 ms), and each time the \
             retransmission is lost too the timeout doubles (RFC 6298, section 5.5).",
        ));
    }
    if let (Some(tcp), Some(sw)) = (
        measured("tcp", worst, "goodput_bytes_per_s", "kB/s", 0.001),
        measured("stop-and-wait", worst, "goodput_bytes_per_s", "kB/s", 0.001),
    ) {
        claims.push(claims::higher(
            "TCP keeps a window full too.",
            &tcp,
            &sw,
            "TCP is selective repeat with decades of tuning: a window, fast retransmit, SACK.",
        ));
    }
    claims
}

/// How the report names a scheme in a sentence.
fn name(scheme: &str) -> &str {
    match scheme {
        "tcp" => "TCP",
        "none" => "plain UDP",
        "stop-and-wait" => "stop-and-wait",
        "go-back-n" => "go-back-N",
        "selective-repeat" => "selective repeat",
        other => other,
    }
}

fn charts(plan: &Plan, runs: &[Run]) -> Vec<Chart> {
    let x_labels: Vec<String> = plan.loss_percent.iter().map(|l| format!("{l}%")).collect();
    let series = |field: &str, scale: f64| -> Vec<(String, Vec<Option<Spread>>)> {
        SCHEMES
            .iter()
            .filter_map(|scheme| {
                let values: Vec<Option<Spread>> = plan
                    .loss_percent
                    .iter()
                    .map(|&loss| spread(runs, scheme, loss, field).map(|s| scaled(s, scale)))
                    .collect();
                // A series with a missing point (TCP without a namespace) is left out.
                values
                    .iter()
                    .all(Option::is_some)
                    .then(|| (scheme.to_string(), values))
            })
            .collect()
    };
    let chart = |file: &str, title: &str, y_title: &str, field: &str, scale: f64| Chart {
        file: file.into(),
        title: title.into(),
        y_title: y_title.into(),
        x_title: "loss rate (% of packets dropped)".into(),
        x_labels: x_labels.clone(),
        series: series(field, scale),
        bars: false,
        percent: false,
    };
    vec![
        chart(
            "chat-goodput.svg",
            "Goodput by loss rate",
            "goodput (kB/s)",
            "goodput_bytes_per_s",
            0.001,
        ),
        Chart {
            percent: true,
            ..chart(
                "chat-delivery.svg",
                "Share of messages delivered",
                "delivered (% of messages)",
                "delivery_ratio",
                100.0,
            )
        },
        chart(
            "chat-p99.svg",
            "p99 latency by loss rate",
            "p99 latency (ms)",
            "p99_ms",
            1.0,
        ),
    ]
}
