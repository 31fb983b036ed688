//! Comparison 4: file transfer. The FTP lab's throughput by block size (its client reads and
//! writes the data connection in blocks of that size; the server's downloads use sendfile on
//! Linux), and the TCP chat's in-band transfer, where the file travels in chunks on the same
//! connection as the chat.

use netlab_common::{Error, term};
use serde_json::Value;

use crate::Plan;
use crate::report::{Chart, Section, Table, fixed};
use crate::run::{self, Bins, number, text};

/// Runs the comparison and builds its section of the report.
pub fn compare(bins: &Bins, plan: &Plan) -> Result<Section, Error> {
    term::info(format!(
        "   ftp-lab bench: {} file, blocks {}",
        plan.file_size, plan.block_sizes
    ));
    let mut ftp = bins.command("ftp-lab");
    ftp.args(["bench", "--json", "--file-size", plan.file_size]);
    ftp.args([
        "--block-size",
        plan.block_sizes,
        "--rounds",
        &plan.rounds.to_string(),
    ]);
    let ftp = run::json_lines(ftp)?;
    term::info(format!(
        "   tcp-chat bench: {} file in band",
        plan.file_size
    ));
    let mut chat = bins.command("tcp-chat");
    chat.args(["bench", "--json", "--file-size", plan.file_size]);
    chat.args(["--rounds", &plan.rounds.to_string()]);
    let chat = run::json_lines(chat)?;
    Ok(section(plan, &ftp, &chat))
}

fn section(plan: &Plan, ftp: &[Value], chat: &[Value]) -> Section {
    let mut table = Table::new(&["transfer", "block size", "MiB/s"]);
    let mut csv = Table::new(&[
        "lab",
        "transfer",
        "block_size",
        "bytes",
        "seconds",
        "mib_per_s",
    ]);
    let block_sizes: Vec<f64> = {
        let mut sizes: Vec<f64> = ftp.iter().filter_map(|v| number(v, "block_size")).collect();
        sizes.sort_by(f64::total_cmp);
        sizes.dedup();
        sizes
    };
    for value in ftp {
        let block = number(value, "block_size");
        table.push(vec![
            format!("FTP {}", text(value, "direction").to_uppercase()),
            block.map_or("-".into(), human_bytes),
            fixed(number(value, "mib_per_s"), 1),
        ]);
        csv.push(csv_row(value, "ftp", text(value, "direction")));
    }
    for value in chat {
        table.push(vec![
            "TCP chat, in band".into(),
            "-".into(),
            fixed(number(value, "mib_per_s"), 1),
        ]);
        csv.push(csv_row(value, "tcp-chat", text(value, "transfer")));
    }
    let rate = |direction: &str, block: f64| {
        ftp.iter()
            .find(|v| text(v, "direction") == direction && number(v, "block_size") == Some(block))
            .and_then(|v| number(v, "mib_per_s"))
            .unwrap_or(0.0)
    };
    let labels: Vec<String> = block_sizes.iter().map(|b| human_bytes(*b)).collect();
    Section {
        title: "4. File transfer: FTP by block size, and the chat's in-band transfer".into(),
        setup: vec![format!(
            "`ftp-lab bench --file-size {} --block-size {}` (its own server on loopback, \
             median of {} round(s)) and `tcp-chat bench --file-size {}`.",
            plan.file_size, plan.block_sizes, plan.rounds, plan.file_size
        )],
        notice: notice(ftp, chat, &block_sizes),
        tables: vec![("One row per transfer:".into(), table)],
        csv: vec![("transfer.csv".into(), csv)],
        charts: vec![Chart {
            file: "transfer-block-size.svg".into(),
            title: "FTP throughput by block size".into(),
            y_title: "MiB/s".into(),
            x_labels: labels,
            series: ["retr", "stor"]
                .iter()
                .map(|d| {
                    (
                        d.to_uppercase(),
                        block_sizes.iter().map(|&b| rate(d, b)).collect(),
                    )
                })
                .collect(),
            bars: true,
        }],
    }
}

fn csv_row(value: &Value, lab: &str, transfer: &str) -> Vec<String> {
    let raw = |field: &str| number(value, field).map_or(String::new(), |v| v.to_string());
    vec![
        lab.into(),
        transfer.into(),
        raw("block_size"),
        raw("bytes"),
        raw("seconds"),
        raw("mib_per_s"),
    ]
}

fn notice(ftp: &[Value], chat: &[Value], block_sizes: &[f64]) -> Vec<String> {
    let mut notes = Vec::new();
    let rate = |direction: &str, block: f64| {
        ftp.iter()
            .find(|v| text(v, "direction") == direction && number(v, "block_size") == Some(block))
            .and_then(|v| number(v, "mib_per_s"))
    };
    if let (Some(&small), Some(&large)) = (block_sizes.first(), block_sizes.last()) {
        if let (Some(slow), Some(fast)) = (rate("retr", small), rate("retr", large)) {
            notes.push(format!(
                "**Every system call has a price.** Downloading with {} reads ran at {slow:.0} \
                 MiB/s, with {} reads at {fast:.0} MiB/s: the bytes are the same, the number of \
                 system calls is not. (Uploads end with the server's 50 ms look at the control \
                 connection, which caps a small file's upload rate whatever the block size.)",
                human_bytes(small),
                human_bytes(large)
            ));
        }
    }
    let best_ftp = ftp
        .iter()
        .filter_map(|v| number(v, "mib_per_s"))
        .fold(0.0, f64::max);
    if let Some(in_band) = chat.first().and_then(|v| number(v, "mib_per_s")) {
        notes.push(format!(
            "**A separate data connection pays off.** The chat's in-band transfer reached \
             {in_band:.0} MiB/s against FTP's best {best_ftp:.0} MiB/s: in band, the file is cut \
             into chunks that share one connection with the chat, each framed and checked, \
             while FTP streams raw bytes on a connection of its own."
        ));
    }
    notes
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
