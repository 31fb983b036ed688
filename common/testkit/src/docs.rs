//! # Keeping a walkthrough true: its transcripts, read and replayed
//!
//! A walkthrough under `docs/` shows real commands and their real output. A program changes, the
//! page does not, and a student who types along sees something else. Each lab therefore has a
//! `tests/docs.rs` that reads the page, runs what it shows against the real binary and compares
//! the output line by line. What those tests share lives here:
//!
//! - [`Doc`]: the page, its fenced blocks ([`Block`], with the heading they are under) and its
//!   markers ([`Marker`], an HTML comment such as `<!-- doc-test: serve -->` that the rendered
//!   page does not show, saying how to replay the block after it).
//! - [`Inventory`]: for tests that address blocks by section instead of by marker, proof that
//!   every block of the page is either checked or deliberately left out, with a reason.
//! - [`commands`]: a console block as `$ command` lines, each with the lines printed under it.
//! - [`lab_command`] and [`shell`]: run a documented command line with the real binary and port.
//! - Normalizing what differs from run to run, on both sides, before comparing:
//!   [`normalize_ports`], [`replace_numbers_after`], [`mask_numbers`].
//! - [`compare`]: the comparison, whose failure names the page's line and the first
//!   difference.
//! - [`Lines`]: the lines of a socket or pipe, read on a thread so every wait has a deadline.
//! - [`run_checks`]: run every check even after one fails, so one run lists everything to fix.
//!
//! A lab's page shows its own port (7080, 2121, ...) where the test's server really listens on
//! port 0; the tests put the real port into the commands they run and the page's port into the
//! output they compare.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;

use crate::PATIENCE;

/// A markdown page under test.
#[derive(Debug)]
pub struct Doc {
    /// Its path from the workspace root (`docs/game.md`), as failure messages name it.
    pub name: String,
    lines: Vec<String>,
}

/// A fenced block of a page: where it is and what it holds.
#[derive(Debug, Clone)]
pub struct Block {
    /// The line of the marker before it, or of its opening fence if it has none (1-based, as an
    /// editor shows it).
    pub marker_line: usize,
    /// The word after the opening fence: `console`, `text`, `python`, ...
    pub info: String,
    /// The nearest heading above it, as written (`## 2. Log in and look around`).
    pub section: String,
    /// Its lines, each with its line number.
    pub lines: Vec<(usize, String)>,
}

/// A `<!-- doc-test: FORM; OPTION; ... -->` comment.
#[derive(Debug, Clone)]
pub struct Marker {
    /// Its line (1-based).
    pub line: usize,
    /// What comes before the first `;`, trimmed.
    pub form: String,
    /// What comes after, split at `;` and trimmed.
    pub options: Vec<String>,
    /// The ```console or ```text block right after it, if there is one.
    block: Option<Block>,
}

/// A `$ command` line of a console block and the lines printed under it.
#[derive(Debug, Clone)]
pub struct DocCommand {
    /// The line of the `$`.
    pub line: usize,
    /// The command, without `$ `.
    pub command: String,
    /// The lines under it, up to the next `$`, as on the page.
    pub output: Vec<String>,
}

impl Doc {
    /// Reads `name`, a path from the workspace root such as `docs/game.md`.
    pub fn read(name: &str) -> Doc {
        let path = workspace_root().join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
        Doc::parse(name, &text)
    }

    /// A page from text (for tests of this module, and of tests).
    pub fn parse(name: &str, markdown: &str) -> Doc {
        Doc {
            name: name.to_string(),
            lines: markdown.lines().map(String::from).collect(),
        }
    }

    /// Every marker, in page order.
    pub fn markers(&self) -> Vec<Marker> {
        let mut found = Vec::new();
        for (index, raw) in self.lines.iter().enumerate() {
            let Some(spec) = raw
                .trim()
                .strip_prefix("<!-- doc-test:")
                .and_then(|rest| rest.strip_suffix("-->"))
            else {
                continue;
            };
            let mut parts = spec.split(';').map(str::trim);
            let form = parts.next().unwrap_or_default().to_string();
            let options = parts.map(String::from).collect();
            let opening = self.lines.get(index + 1).map(|line| line.trim());
            let block = matches!(opening, Some("```console" | "```text"))
                .then(|| self.block_at(index + 1, index + 1));
            found.push(Marker {
                line: index + 1,
                form,
                options,
                block,
            });
        }
        found
    }

    /// Every fenced block, in page order, whether or not a marker precedes it.
    pub fn blocks(&self) -> Vec<Block> {
        let mut found = Vec::new();
        let mut index = 0;
        while index < self.lines.len() {
            let line = self.lines[index].trim();
            if line.starts_with("```") {
                let before = index.checked_sub(1).map(|at| self.lines[at].trim());
                let marker_line = if before.is_some_and(|l| l.starts_with("<!-- doc-test:")) {
                    index
                } else {
                    index + 1
                };
                let block = self.block_at(index, marker_line);
                index += block.lines.len() + 2;
                found.push(block);
            } else {
                index += 1;
            }
        }
        found
    }

    /// The block whose opening fence is at `fence` (0-based).
    fn block_at(&self, fence: usize, marker_line: usize) -> Block {
        let info = self.lines[fence].trim().trim_start_matches('`').to_string();
        let section = self.heading_above(fence);
        let mut lines = Vec::new();
        let mut cursor = fence + 1;
        loop {
            let Some(line) = self.lines.get(cursor) else {
                panic!(
                    "{} line {}: the block is never closed",
                    self.name,
                    fence + 1
                );
            };
            if line.trim() == "```" {
                break;
            }
            lines.push((cursor + 1, line.clone()));
            cursor += 1;
        }
        Block {
            marker_line,
            info,
            section,
            lines,
        }
    }

    /// The last heading above line `index` (0-based), skipping fenced blocks, where a line
    /// starting with `#` is a shell or Python comment.
    fn heading_above(&self, index: usize) -> String {
        let mut heading = String::new();
        let mut fenced = false;
        for line in &self.lines[..index] {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            } else if !fenced && line.starts_with('#') {
                heading.clone_from(line);
            }
        }
        heading
    }
}

impl Marker {
    /// The block after the marker; panics if there is none.
    pub fn block(&self, doc: &Doc) -> Block {
        self.block.clone().unwrap_or_else(|| {
            panic!(
                "{} line {}: a marker must be followed by a ```console or ```text block",
                doc.name, self.line
            )
        })
    }

    /// The rest of the first option that starts with `prefix` (`hold 2` for `hold `).
    pub fn option(&self, prefix: &str) -> Option<&str> {
        self.options
            .iter()
            .find_map(|option| option.strip_prefix(prefix))
    }

    /// Whether the options include exactly `option`.
    pub fn has(&self, option: &str) -> bool {
        self.options.iter().any(|known| known == option)
    }
}

/// Where `docs/` is: two levels above this crate (`common/testkit`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `$ command` lines of a console block of the page `doc`, each with the lines under it.
pub fn commands(doc: &str, block: &Block) -> Vec<DocCommand> {
    let mut found: Vec<DocCommand> = Vec::new();
    for (number, line) in &block.lines {
        if let Some(command) = line.strip_prefix("$ ") {
            found.push(DocCommand {
                line: *number,
                command: command.to_string(),
                output: Vec::new(),
            });
        } else if let Some(last) = found.last_mut() {
            last.output.push(line.clone());
        } else {
            panic!("{doc} line {number}: a checked block starts with `$ command`");
        }
    }
    found
}

/// Panics, naming line `place` of the page `doc` and the first line that differs, unless
/// `actual` (what `what` really printed) is `expected` (what the page shows).
pub fn compare(doc: &str, place: usize, what: &str, actual: &[String], expected: &[String]) {
    let Some(differs) = first_difference(actual, expected) else {
        return;
    };
    panic!(
        "{doc} line {place}: {what} differs at its line {}:\n  page: {:?}\n  real: {:?}\nall of it, real:\n{}",
        differs + 1,
        expected.get(differs),
        actual.get(differs),
        actual.join("\n")
    );
}

/// The index of the first line that differs (or where one list ends early), or `None`.
pub fn first_difference(actual: &[String], expected: &[String]) -> Option<usize> {
    if actual == expected {
        return None;
    }
    let differs = actual
        .iter()
        .zip(expected)
        .position(|(actual, expected)| actual != expected)
        .unwrap_or(actual.len().min(expected.len()));
    Some(differs)
}

/// The blocks of a page that a test has not yet claimed. A test that finds blocks by section
/// (instead of by marker) claims each block it checks and names each it leaves out and why;
/// [`Inventory::finish`] then fails on any block nobody decided about, so a transcript added to
/// the page later cannot go unchecked without anyone noticing.
#[derive(Debug)]
pub struct Inventory {
    doc: String,
    open: Vec<Block>,
}

impl Inventory {
    /// Every block of `doc`, none claimed yet.
    pub fn new(doc: &Doc) -> Inventory {
        Inventory {
            doc: doc.name.clone(),
            open: doc.blocks(),
        }
    }

    /// Claims the one unclaimed block under a heading starting with `section` whose first line
    /// starts with `first_line`; panics if there is not exactly one.
    pub fn take(&mut self, section: &str, first_line: &str) -> Block {
        let matches = |block: &Block| {
            block.section.starts_with(section)
                && block
                    .lines
                    .first()
                    .is_some_and(|(_, line)| line.starts_with(first_line))
        };
        let found: Vec<usize> = (0..self.open.len())
            .filter(|&at| matches(&self.open[at]))
            .collect();
        match found.as_slice() {
            [at] => self.open.remove(*at),
            [] => panic!(
                "{}: no unchecked block under `{section}...` starts with {first_line:?}",
                self.doc
            ),
            _ => panic!(
                "{}: several blocks under `{section}...` start with {first_line:?}",
                self.doc
            ),
        }
    }

    /// Claims a block that is deliberately not replayed; `_why` is there for the reader.
    pub fn leave_out(&mut self, section: &str, first_line: &str, _why: &str) {
        self.take(section, first_line);
    }

    /// Panics if a block of the page was neither checked nor left out.
    pub fn finish(self) {
        let forgotten: Vec<String> = self
            .open
            .iter()
            .map(|block| {
                let first = block.lines.first().map_or("", |(_, line)| line.as_str());
                format!("  line {} ({}): {first}", block.marker_line, block.section)
            })
            .collect();
        assert!(
            forgotten.is_empty(),
            "{}: blocks nobody checks or leaves out (add them to tests/docs.rs):\n{}",
            self.doc,
            forgotten.join("\n")
        );
    }
}

/// A command line split into words (a marker's arguments).
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(String::from).collect()
}

/// Whether `command` runs `program`: it appears as a word of its own, e.g. first, after `|`,
/// `;` or `(`. Documented commands are short shell lines, so a word test is enough.
pub fn uses_program(command: &str, program: &str) -> bool {
    command
        .split(|c: char| c.is_whitespace() || "|;&()".contains(c))
        .any(|word| word == program)
}

/// The first of `programs` that `command` uses and this machine lacks, so the check can be
/// skipped visibly instead of failing.
pub fn missing_program<'a>(command: &str, programs: &[&'a str]) -> Option<&'a str> {
    programs
        .iter()
        .copied()
        .find(|program| uses_program(command, program) && crate::find_program(program).is_none())
}

/// The documented `command` as it really runs: `program` (`game-lab`) becomes `bin`, the path
/// cargo built, and when a server runs on `port`, the page's `doc_port` becomes that port in the
/// address forms `127.0.0.1:PORT` and `127.0.0.1 PORT` (as `nc` takes it), and `--port DOC_PORT`
/// becomes `--port 0`.
pub fn lab_command(
    command: &str,
    program: &str,
    bin: &str,
    doc_port: u16,
    port: Option<u16>,
) -> String {
    let mut command = command.replace(&format!("{program} "), &format!("{bin} "));
    if let Some(port) = port {
        command = command
            .replace(
                &format!("127.0.0.1:{doc_port}"),
                &format!("127.0.0.1:{port}"),
            )
            .replace(
                &format!("127.0.0.1 {doc_port}"),
                &format!("127.0.0.1 {port}"),
            )
            .replace(&format!("--port {doc_port}"), "--port 0");
    }
    command
}

/// Runs a shell command line to its end, in `dir` if given, with NO_COLOR set and no standard
/// input, and returns what it printed (standard output and error together) as lines. A
/// documented `nc -N` is typed as this machine's netcat wants it ([`crate::netcat`]).
pub fn shell(command: &str, dir: Option<&Path>) -> Vec<String> {
    let command = crate::netcat::for_local_nc(command);
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("{command} 2>&1"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    if let Some(dir) = dir {
        shell.current_dir(dir);
    }
    let output = shell.output().expect("run a documented command");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// The page shows its own port where the test's server really listens on `server_port`: this
/// writes the real port back as `doc_port` (`:PORT` and `127.0.0.1 PORT`), and every other port
/// after `127.0.0.1:` (a client's, which the OS picks) as `PORT`.
pub fn normalize_ports(text: &str, doc_port: u16, server_port: Option<u16>) -> String {
    let mut text = text.to_string();
    if let Some(port) = server_port {
        text = text
            .replace(&format!(":{port}"), &format!(":{doc_port}"))
            .replace(
                &format!("127.0.0.1 {port}"),
                &format!("127.0.0.1 {doc_port}"),
            );
    }
    let doc_port = doc_port.to_string();
    replace_numbers_after(&text, "127.0.0.1:", |digits| {
        if digits == doc_port {
            digits.to_string()
        } else {
            "PORT".to_string()
        }
    })
}

/// Replaces each run of digits right after `prefix` with what `with` makes of it.
pub fn replace_numbers_after(text: &str, prefix: &str, with: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let (before, after) = rest.split_at(at + prefix.len());
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str(&with(&after[..digits]));
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Every number (`12`, `3.25`) as `N`, for output such as benchmark figures where only the
/// words are stable.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        while chars.next_if(char::is_ascii_digit).is_some() {}
        // A fraction belongs to the number only if a digit follows the point.
        let mut ahead = chars.clone();
        if ahead.next() == Some('.') && ahead.next().is_some_and(|c| c.is_ascii_digit()) {
            chars.next();
            while chars.next_if(char::is_ascii_digit).is_some() {}
        }
        out.push('N');
    }
    out
}

/// Lines from a socket or a process, read on a thread so that every wait has a deadline.
pub struct Lines {
    lines: Receiver<String>,
    closed: bool,
}

impl Lines {
    /// Starts reading `source` line by line (lossy UTF-8, without the line end).
    pub fn new(source: impl Read + Send + 'static) -> Lines {
        let (sender, lines) = channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(source);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\r', '\n']).to_string();
                        if sender.send(text).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Lines {
            lines,
            closed: false,
        }
    }

    /// The next line; `Err` says why there is none (closed, or nothing within [`PATIENCE`]).
    #[allow(clippy::should_implement_trait)] // not an Iterator: it can time out
    pub fn next(&mut self) -> Result<String, &'static str> {
        if self.closed {
            return Err("it ended");
        }
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                Err("it ended")
            }
            Err(RecvTimeoutError::Timeout) => Err("nothing more arrived"),
        }
    }
}

/// Runs `check` on each of `checks`, catching failures so every check runs and one run lists
/// everything to fix (each failure prints its own message above); then fails if any did.
pub fn run_checks<T>(doc: &str, checks: &[T], check: impl Fn(&T)) {
    let mut failed = 0;
    for item in checks {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(item)));
        failed += usize::from(outcome.is_err());
    }
    assert_eq!(
        failed,
        0,
        "{failed} of {} checks of {doc} failed (above)",
        checks.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markers find their block; blocks know their heading; commands carry their output.
    #[test]
    fn reads_markers_blocks_and_commands() {
        let doc = Doc::parse(
            "page.md",
            "# Title\n## 1. Start\n<!-- doc-test: serve --x; hold 2 -->\n```console\n$ a\nout\n$ b\n```\n\
             <!-- doc-test: session s; turns a b -->\n```python\nprint(1)\n```\n",
        );
        let markers = doc.markers();
        assert_eq!(markers.len(), 2);
        assert_eq!(markers[0].form, "serve --x");
        assert_eq!(markers[0].option("hold "), Some("2"));
        let block = markers[0].block(&doc);
        assert_eq!(block.marker_line, 3);
        assert_eq!(block.lines[0], (5, "$ a".to_string()));
        assert!(markers[1].block.is_none(), "a python block is no marker's");
        let blocks = doc.blocks();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].section, "## 1. Start");
        assert_eq!(blocks[1].info, "python");
        assert_eq!(blocks[1].marker_line, 9, "the marker's line");
        let commands = commands("page.md", &block);
        assert_eq!(commands[0].output, ["out"]);
        assert!(commands[1].output.is_empty());
    }

    /// Ports, numbers after a prefix, and masked numbers.
    #[test]
    fn normalizes() {
        assert_eq!(
            normalize_ports("127.0.0.1:5000 from 127.0.0.1:41000", 7080, Some(5000)),
            "127.0.0.1:7080 from 127.0.0.1:PORT"
        );
        assert_eq!(
            replace_numbers_after("connected 12s, connected x", "connected ", |_| "N".into()),
            "connected Ns, connected x"
        );
        assert_eq!(mask_numbers("1.5 s, 20. 3.x 1.2.3"), "N s, N. N.x N.N");
    }

    /// A program counts as used only as a word of its own.
    #[test]
    fn finds_programs_in_commands() {
        assert!(uses_program("printf 'x' | nc -N 127.0.0.1 7080", "nc"));
        assert!(uses_program("(printf a; sleep 1) | nc -q 2 h 1", "sleep"));
        assert!(!uses_program("sync && echo nc-like", "nc"));
    }
}
