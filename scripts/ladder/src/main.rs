//! `netlab-ladder`: draws the ladder diagram of `--trace-json` files (see the library docs).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use netlab_ladder::{Config, Format};

/// Draw a ladder (sequence) diagram from the --trace-json files of a netlab run.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example:\n  udp-chat serve --trace-json server.jsonl\n  \
                  udp-chat connect 127.0.0.1:7075 --loss 30% --seed 3 --trace-json client.jsonl\n  \
                  netlab-ladder client.jsonl server.jsonl\n  \
                  netlab-ladder --format svg -o run.svg client.jsonl server.jsonl"
)]
struct Cli {
    /// --trace-json files, from one or both ends of a conversation.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Output: text (terminal), mermaid (Markdown) or svg (arrows slanted by real time).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the diagram to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Text output without the time column (the same on every run of a seeded lab).
    #[arg(long)]
    no_times: bool,
    /// Title each file's own lifeline with the file's name (client.jsonl: "client") instead of
    /// its address (whose port the OS picks anew every run).
    #[arg(long)]
    name_by_file: bool,
    /// Title the lifeline of ADDR (as the diagram shows it, e.g. 127.0.0.1:40312) NAME instead;
    /// repeatable. Wins over --name-by-file.
    #[arg(long, value_name = "ADDR=NAME", value_parser = parse_name)]
    name: Vec<(String, String)>,
}

/// `ADDR=NAME` split at its first `=`.
fn parse_name(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((address, name)) if !address.is_empty() && !name.is_empty() => {
            Ok((address.to_string(), name.to_string()))
        }
        _ => Err(format!(
            "expected ADDR=NAME, e.g. 127.0.0.1:40312=client, not {text:?}"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = Config {
        files: cli.files,
        format: cli.format,
        output: cli.output,
        times: !cli.no_times,
        name_by_file: cli.name_by_file,
        names: cli.name,
    };
    netlab_common::term::finish(netlab_ladder::run(&config))
}
