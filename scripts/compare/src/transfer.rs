//! Comparison 4: file transfer. The FTP lab's throughput by block size (its client reads and
//! writes the data connection in blocks of that size; the server's downloads use sendfile on
//! Linux), and the TCP chat's in-band transfer, where the file travels in chunks on the same
//! connection as the chat.

use netlab_common::{Error, term};
use serde_json::Value;

use crate::Plan;
use crate::claims::{self, Claim, Measured, Spread};
use crate::report::{Chart, Section, Table, median_cell, range_cell, raw, spread_of};
use crate::run::{self, Bins, number, text};

/// One transfer in one repetition: FTP (a direction and block size) or the chat's in band.
struct Run {
    rep: usize,
    lab: &'static str,
    value: Value,
}

impl Run {
    /// `retr`, `stor`, or the chat's transfer name.
    fn transfer(&self) -> &str {
        match self.lab {
            "ftp" => text(&self.value, "direction"),
            _ => text(&self.value, "transfer"),
        }
    }
    fn block(&self) -> Option<f64> {
        number(&self.value, "block_size")
    }
    fn rate(&self) -> Option<f64> {
        number(&self.value, "mib_per_s")
    }
}

/// The comparison and every run so far.
#[derive(Default)]
pub struct Transfer {
    runs: Vec<Run>,
}

impl run::Comparison for Transfer {
    fn what(&self) -> &'static str {
        "file transfer: FTP by block size, and the chat's in-band transfer"
    }

    fn measure(&mut self, bins: &Bins, plan: &Plan, rep: usize) -> Result<(), Error> {
        term::info(format!(
            "   ftp-lab bench: {} file, blocks {}",
            plan.file_size, plan.block_sizes
        ));
        let mut ftp = bins.command("ftp-lab");
        ftp.args(["bench", "--json", "--file-size", plan.file_size]);
        ftp.args(["--block-size", plan.block_sizes, "--rounds", "1"]);
        for value in run::json_lines(ftp)? {
            self.runs.push(Run {
                rep,
                lab: "ftp",
                value,
            });
        }
        term::info(format!(
            "   tcp-chat bench: {} file in band",
            plan.file_size
        ));
        let mut chat = bins.command("tcp-chat");
        chat.args([
            "bench",
            "--json",
            "--file-size",
            plan.file_size,
            "--rounds",
            "1",
        ]);
        for value in run::json_lines(chat)? {
            self.runs.push(Run {
                rep,
                lab: "tcp-chat",
                value,
            });
        }
        Ok(())
    }

    fn section(&self, plan: &Plan) -> Section {
        section(plan, &self.runs)
    }
}

/// The block sizes measured, smallest first.
fn block_sizes(runs: &[Run]) -> Vec<f64> {
    let mut sizes: Vec<f64> = runs.iter().filter_map(Run::block).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    sizes
}

/// The spread of FTP's rate in `direction` with `block`-byte blocks.
fn ftp_rate(runs: &[Run], direction: &str, block: f64) -> Option<Spread> {
    let reps: Vec<&Run> = runs
        .iter()
        .filter(|r| r.lab == "ftp" && r.transfer() == direction && r.block() == Some(block))
        .collect();
    spread_of(&reps, Run::rate)
}

/// The spread of the chat's in-band rate.
fn chat_rate(runs: &[Run]) -> Option<Spread> {
    let reps: Vec<&Run> = runs.iter().filter(|r| r.lab == "tcp-chat").collect();
    spread_of(&reps, Run::rate)
}

fn section(plan: &Plan, runs: &[Run]) -> Section {
    let mut table = Table::new(&["transfer", "block size", "MiB/s", "MiB/s range"]);
    let mut csv = Table::new(&[
        "rep",
        "lab",
        "transfer",
        "block_size",
        "bytes",
        "seconds",
        "mib_per_s",
    ]);
    let blocks = block_sizes(runs);
    for direction in ["retr", "stor"] {
        for &block in &blocks {
            let rate = ftp_rate(runs, direction, block);
            table.push(vec![
                format!("FTP {}", direction.to_uppercase()),
                human_bytes(block),
                median_cell(rate, 1),
                range_cell(rate, 1),
            ]);
        }
    }
    let in_band = chat_rate(runs);
    table.push(vec![
        "TCP chat, in band".into(),
        "-".into(),
        median_cell(in_band, 1),
        range_cell(in_band, 1),
    ]);
    let mut ordered: Vec<&Run> = runs.iter().collect();
    ordered.sort_by_key(|r| r.rep);
    for run in ordered {
        let get = |field: &str| raw(number(&run.value, field));
        csv.push(vec![
            run.rep.to_string(),
            run.lab.into(),
            run.transfer().into(),
            get("block_size"),
            get("bytes"),
            get("seconds"),
            get("mib_per_s"),
        ]);
    }
    Section {
        title: "4. File transfer: FTP by block size, and the chat's in-band transfer".into(),
        setup: vec![format!(
            "`ftp-lab bench --file-size {} --block-size {} --rounds 1` (its own server on \
             loopback) and `tcp-chat bench --file-size {} --rounds 1`, once per repetition. \
             (Uploads end with the server's look at the control connection, which caps a small \
             file's upload rate whatever the block size.)",
            plan.file_size, plan.block_sizes, plan.file_size
        )],
        notice: notice(runs, &blocks),
        tables: vec![(
            "One row per transfer: the median of the repetitions and the range (least–greatest):"
                .into(),
            table,
        )],
        csv: vec![("transfer.csv".into(), csv)],
        charts: vec![Chart {
            file: "transfer-block-size.svg".into(),
            title: "FTP throughput by block size".into(),
            y_title: "throughput (MiB/s)".into(),
            x_title: "block size of the client's reads and writes".into(),
            x_labels: blocks.iter().map(|b| human_bytes(*b)).collect(),
            series: ["retr", "stor"]
                .iter()
                .map(|d| {
                    (
                        d.to_uppercase(),
                        blocks.iter().map(|&b| ftp_rate(runs, d, b)).collect(),
                    )
                })
                .collect(),
            bars: true,
            percent: false,
        }],
    }
}

/// What to notice: each lesson a claim checked against every repetition.
fn notice(runs: &[Run], blocks: &[f64]) -> Vec<Claim> {
    let mut claims = Vec::new();
    let download = |block: f64| {
        ftp_rate(runs, "retr", block).map(|s| {
            Measured::new(
                format!("downloading with {} reads", human_bytes(block)),
                s,
                "MiB/s",
            )
        })
    };
    if let (Some(&small), Some(&large)) = (blocks.first(), blocks.last())
        && let (Some(fast), Some(slow)) = (download(large), download(small))
    {
        claims.push(claims::higher(
            "Every system call has a price.",
            &fast,
            &slow,
            "The bytes are the same; the number of system calls is not.",
        ));
    }
    // FTP's best configuration, by median.
    let best = ["retr", "stor"]
        .iter()
        .flat_map(|d| blocks.iter().map(move |&b| (d, b)))
        .filter_map(|(d, b)| ftp_rate(runs, d, b).map(|s| (d, b, s)))
        .max_by(|x, y| x.2.median.total_cmp(&y.2.median));
    if let (Some((direction, block, ftp)), Some(in_band)) = (best, chat_rate(runs)) {
        claims.push(claims::higher(
            "A separate data connection pays off.",
            &Measured::new(
                format!(
                    "FTP {} with {} blocks",
                    direction.to_uppercase(),
                    human_bytes(block)
                ),
                ftp,
                "MiB/s",
            ),
            &Measured::new("the chat's in-band transfer", in_band, "MiB/s"),
            "In band, the file is cut into chunks that share one connection with the chat, each \
             framed and checked, while FTP streams raw bytes on a connection of its own.",
        ));
    }
    claims
}

/// `4 KiB`, `1 MiB`.
fn human_bytes(bytes: f64) -> String {
    if bytes >= 1048576.0 {
        format!("{:.0} MiB", bytes / 1048576.0)
    } else if bytes >= 1024.0 {
        format!("{:.0} KiB", bytes / 1024.0)
    } else {
        format!("{bytes:.0} B")
    }
}
