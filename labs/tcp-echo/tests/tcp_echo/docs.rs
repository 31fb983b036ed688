//! Keeps docs/tcp-echo.md true: every transcript marked for checking is run against a real server
//! and its output compared with what the walkthrough shows.
//!
//! A checked transcript in the Markdown looks like this:
//!
//! ````text
//! <!-- doc-test: serve --framing line -->
//! ```console
//! $ printf 'hello\n' | tcp-echo connect 127.0.0.1:7007
//! < WELCOME Client01
//! ...
//! ```
//! ````
//!
//! The harness starts `tcp-echo serve --port 0 ARGS`, runs the `$` command with the real port in
//! place of 7007, and compares line by line. Parts that differ on every run are normalized on both
//! sides first: ephemeral client ports, clock times, "connected Ns". Options after the server's
//! arguments, each after a `;`: `; any order` compares the lines as a set, for commands whose
//! stdout and stderr interleave differently from run to run; `; numbers vary` compares every
//! number as `N`, for measurements (how many reads a benchmark saw) where only the words are
//! stable. A command using `nc` is skipped (visibly) where nc is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use crate::util::{self, BIN, find_program};
use regex::Regex;

/// One checked transcript.
struct Transcript {
    line_number: usize,
    server_args: Vec<String>,
    any_order: bool,
    numbers_vary: bool,
    command: String,
    expected: Vec<String>,
}

fn transcripts(markdown: &str) -> Vec<Transcript> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(spec) = lines[index]
            .trim()
            .strip_prefix("<!-- doc-test: serve")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            index += 1;
            continue;
        };
        let mut parts = spec.split(';').map(str::trim);
        let args = parts.next().unwrap_or_default();
        let options: Vec<&str> = parts.collect();
        for option in &options {
            assert!(
                ["any order", "numbers vary"].contains(option),
                "line {}: unknown doc-test option `{option}`",
                index + 1
            );
        }
        let fence = index + 1;
        assert_eq!(
            lines[fence].trim(),
            "```console",
            "line {}: marker must precede a console block",
            fence + 1
        );
        let command = lines[fence + 1]
            .strip_prefix("$ ")
            .unwrap_or_else(|| {
                panic!(
                    "line {}: a checked block starts with `$ command`",
                    fence + 2
                )
            })
            .to_string();
        let mut expected = Vec::new();
        let mut cursor = fence + 2;
        while lines[cursor].trim() != "```" {
            expected.push(lines[cursor].to_string());
            cursor += 1;
        }
        found.push(Transcript {
            line_number: index + 1,
            server_args: args.split_whitespace().map(String::from).collect(),
            any_order: options.contains(&"any order"),
            numbers_vary: options.contains(&"numbers vary"),
            command,
            expected,
        });
        index = cursor + 1;
    }
    found
}

/// Replaces what changes from run to run with fixed placeholders.
fn normalize(text: &str, server_port: Option<u16>) -> String {
    let mut text = text.to_string();
    if let Some(port) = server_port {
        text = text.replace(&format!(":{port}"), ":7007");
    }
    let client_port = Regex::new(r"127\.0\.0\.1:(\d+)").unwrap();
    let text = client_port.replace_all(&text, |caps: &regex::Captures| {
        if &caps[1] == "7007" {
            caps[0].to_string()
        } else {
            "127.0.0.1:PORT".to_string()
        }
    });
    let clock = Regex::new(r"\d\d:\d\d:\d\d UTC").unwrap();
    let text = clock.replace_all(&text, "HH:MM:SS UTC");
    let seconds = Regex::new(r"connected \d+s").unwrap();
    let text = seconds.replace_all(&text, "connected Ns");
    text.trim_end().to_string()
}

/// `normalize`, then, for `; numbers vary`, every number as `N`.
fn normalize_for(transcript: &Transcript, text: &str, server_port: Option<u16>) -> String {
    let text = normalize(text, server_port);
    if transcript.numbers_vary {
        netlab_testkit::docs::mask_numbers(&text)
    } else {
        text
    }
}

fn check(transcript: &Transcript) {
    if transcript.command.contains("nc ") && find_program("nc").is_none() {
        let place = format!("docs/tcp-echo.md line {}", transcript.line_number);
        util::skip(&place, "`nc` is not installed");
        return;
    }
    let args: Vec<&str> = transcript.server_args.iter().map(String::as_str).collect();
    let server = util::start(&args);
    let port = server.addr.port();
    let command = transcript
        .command
        .replace("127.0.0.1:7007", &server.addr.to_string())
        .replace("127.0.0.1 7007", &format!("127.0.0.1 {port}"))
        .replace("tcp-echo ", &format!("{BIN} "));
    let actual = netlab_testkit::docs::shell(&command, None).join("\n");
    let mut actual: Vec<String> = actual
        .lines()
        .map(|line| normalize_for(transcript, line, Some(port)))
        .collect();
    let mut expected: Vec<String> = transcript
        .expected
        .iter()
        .map(|line| normalize_for(transcript, line, None))
        .collect();
    if transcript.any_order {
        actual.sort();
        expected.sort();
    }
    assert_eq!(
        actual, expected,
        "docs/tcp-echo.md line {}: `{}` printed something else",
        transcript.line_number, transcript.command
    );
}

/// Every checked transcript in docs/tcp-echo.md matches what the programs print today.
#[test]
fn walkthrough_transcripts_are_true() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tcp-echo.md");
    let markdown = std::fs::read_to_string(&path).expect("read docs/tcp-echo.md");
    let found = transcripts(&markdown);
    assert!(
        found.len() >= 4,
        "expected several checked transcripts, found {}",
        found.len()
    );
    for transcript in &found {
        check(transcript);
    }
}

/// Where a checked block needs the server started with other flags than the block before it,
/// the page says so in text the reader sees (`tcp-echo serve --framing raw`), not only in the
/// `doc-test` comment, which a rendered page hides.
#[test]
fn server_changes_are_visible_to_the_reader() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tcp-echo.md");
    let markdown = std::fs::read_to_string(&path).expect("read docs/tcp-echo.md");
    let problems = hidden_server_changes(&markdown);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The markers whose server flags changed without the visible text before them (since the
/// previous code block) naming the new `tcp-echo serve ...` command.
fn hidden_server_changes(markdown: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // §1 starts the server with no flags, in plain sight.
    let mut running = String::new();
    let mut visible = String::new();
    let mut in_block = false;
    for (number, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            visible.clear();
            continue;
        }
        if in_block {
            continue;
        }
        let Some(spec) = line
            .trim()
            .strip_prefix("<!-- doc-test: serve")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            visible.push_str(line);
            visible.push(' ');
            continue;
        };
        let args = spec
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let command = if args.is_empty() {
            "`tcp-echo serve`".to_string()
        } else {
            format!("`tcp-echo serve {args}`")
        };
        if args != running && !visible.contains(&command) {
            problems.push(format!(
                "docs/tcp-echo.md line {}: the block needs {command}, but the text before it does not say so",
                number + 1
            ));
        }
        running = args;
    }
    problems
}

/// The visibility check itself: a change only in the comment is found, one written in the text
/// passes, and the same server twice needs no second mention.
#[test]
fn hidden_server_changes_are_found() {
    let hidden = "<!-- doc-test: serve --framing raw -->\n```console\n$ x\n```\n";
    assert_eq!(hidden_server_changes(hidden).len(), 1);
    let said = "Restart it as `tcp-echo serve --framing raw`.\n\n".to_string() + hidden;
    assert!(hidden_server_changes(&said).is_empty());
    let twice = said.clone() + "\n" + hidden;
    assert!(hidden_server_changes(&twice).is_empty());
}
