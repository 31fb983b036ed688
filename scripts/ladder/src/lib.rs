//! # netlab-ladder: the ladder diagram of a real run
//!
//! Every netlab lab writes what it sends and receives with `--trace-json FILE` (the schema is
//! in `netlab_common::trace_json`, which also says what a ladder diagram is). This program
//! reads one or more such files, merges them on their timestamps and draws the conversation:
//! one lifeline per address, time going down, one arrow per message, lost messages ending in a
//! cross, retransmissions and timer expiries marked. Give it the files of both ends and the
//! arrows connect the sender's send to the receiver's receive.
//!
//! ```text
//! udp-chat serve --port 7075 --trace-json server.jsonl
//! udp-chat connect 127.0.0.1:7075 --loss 30% --seed 3 --trace-json client.jsonl
//! netlab-ladder client.jsonl server.jsonl                 # text, for the terminal
//! netlab-ladder --format mermaid client.jsonl server.jsonl  # for a Markdown page
//! netlab-ladder --format svg -o run.svg client.jsonl server.jsonl
//! ```
//!
//! It lives in its own crate under `scripts/` because no lab needs it to run: it is a tool
//! over the labs' output, like `compare-protocols`, and keeps drawing code out of `common`.
//!
//! ## Layout
//! - [`events`]: reading the JSON lines (bad lines are skipped and counted).
//! - [`ladder`]: merging the files, lifelines, and pairing each send with its receive.
//! - [`text`], [`mermaid`], [`svg`]: the three ways to draw it.

pub mod events;
pub mod ladder;
pub mod mermaid;
pub mod svg;
pub mod text;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use netlab_common::{Error, Result, term};

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Plain text for a terminal.
    Text,
    /// A Mermaid sequenceDiagram for Markdown (GitHub draws it).
    Mermaid,
    /// An SVG image with arrows slanted by real time.
    Svg,
}

/// What to draw and where.
#[derive(Clone, Debug)]
pub struct Config {
    /// The `--trace-json` files.
    pub files: Vec<PathBuf>,
    /// The output format.
    pub format: Format,
    /// Write here instead of standard output.
    pub output: Option<PathBuf>,
    /// Text form: show times.
    pub times: bool,
    /// Title each file's own lifeline with the file's name (`client.jsonl` → `client`)
    /// instead of its address, which changes every run when the port is the OS's choice.
    pub name_by_file: bool,
    /// Lifelines titled by hand, `(address, name)` (`--name ADDR=NAME`): for the addresses no
    /// file's name stands for, such as an FTP data connection's ends. They win over
    /// `name_by_file`.
    pub names: Vec<(String, String)>,
}

/// Reads the files and writes the diagram.
pub fn run(config: &Config) -> Result<()> {
    let mut traces = Vec::new();
    let mut names = Vec::new();
    for file in &config.files {
        let trace = events::read(file)?;
        if trace.skipped > 0 {
            term::warn(format!(
                "{}: {} lines are not trace events; skipped",
                file.display(),
                trace.skipped
            ));
        }
        if let (Some(first), Some(stem)) = (trace.events.first(), file.file_stem()) {
            names.push((first.local.clone(), stem.to_string_lossy().into_owned()));
        }
        traces.push(trace.events);
    }
    let mut ladder = ladder::build(traces);
    if !config.name_by_file {
        names.clear();
    }
    // Later entries win: a name given by hand over a file's name.
    names.extend(config.names.iter().cloned());
    let titles: BTreeMap<String, String> = names.into_iter().collect();
    for lifeline in &mut ladder.lifelines {
        if let Some(name) = titles.get(lifeline.as_str()) {
            lifeline.clone_from(name);
        }
    }
    if ladder.steps.is_empty() {
        term::warn("no events in the traces: nothing to draw");
    }
    let drawing = match config.format {
        Format::Text => text::render(
            &ladder,
            text::TextOptions {
                times: config.times,
            },
        ),
        Format::Mermaid => mermaid::render(&ladder),
        Format::Svg => svg::render(&ladder),
    };
    match &config.output {
        Some(path) => std::fs::write(path, drawing)
            .map_err(|err| Error::Usage(format!("cannot write {}: {err}", path.display()))),
        None => std::io::stdout()
            .lock()
            .write_all(drawing.as_bytes())
            .map_err(|_| Error::OutputClosed),
    }
}
