//! Keeps the course hub (docs/README.md) and the concepts page (docs/concepts.md) true: the
//! commands they show print what they show, and every relative link leads somewhere.
//!
//! ## What is checked
//! - **Transcripts.** Every console block of the two pages whose commands are quick and change
//!   nothing is replayed, command by command, and what each `$ COMMAND` really prints is compared
//!   with the lines under it: `--help` of `scripts/compare-protocols`, of `scripts/mininet-lab` and
//!   of the lab binaries, and short lab runs such as `udp-chat bench` (both ends in one process,
//!   on loopback). Each page's blocks are listed below, each either replayed or left out with a
//!   reason ([`Inventory`]), so a block added later cannot go unchecked unnoticed. A left-out
//!   console block made only of `--help` lines fails the test: it can be checked, so it must be.
//!   The comparison itself (minutes) and the Mininet sessions and scenarios (root, Mininet) are
//!   never replayed here: the pages show them in left-out blocks, and
//!   `scripts/tests/tests/scripts/mininet.rs` replays the Mininet ones where it can.
//! - **Links.** Every relative link of the two pages (`[text](path)`, `![alt](path)`, and
//!   `[name]: path` definitions) points to an existing file or directory, and a `#fragment` into
//!   a Markdown page names one of its headings (GitHub's anchors). The one exception is
//!   [`EXPECTED_LATER`].
//!
//! ## How a command runs
//! - `scripts/compare-protocols ARGS` runs the binary this package builds. The script does two
//!   things before that binary, `cargo build --release --workspace` and raising `ulimit -n`,
//!   and neither changes what `--help` prints; the test does not build the release workspace.
//! - `tcp-echo`, `udp-chat`, `tcp-chat`, `ftp-lab`, `game-lab` (the pages write them bare, as the
//!   walkthroughs do) run the binary of this build ([`workspace_binary`]).
//! - `scripts/mininet-lab` runs the script itself, from the workspace root, so the `$0` in its
//!   help reads `scripts/mininet-lab` as on the page. Only its help is replayed: anything else
//!   needs root and Mininet.
//!
//! Commands run through `sh -c` with `NO_COLOR` set and standard error after standard output
//! ([`shell`]); a replayed command may not use pipes, redirections, `&` or `;`.
//!
//! ## How output is compared
//! Line by line, exactly, after two normalizations on both sides and nothing else:
//! - trailing whitespace is removed: clap pads the blank lines of long help with spaces, which
//!   an editor strips from the page;
//! - in a block listed as [`Output::NumbersVary`] every number is `N` ([`mask_numbers`]):
//!   measurements change from run to run, the words and the table's shape do not.
//!
//! A line `...` on the page stands for lines left out (the pages say so). The lines between two
//! `...` must appear in the real output as they are, one after another, in the page's order; a
//! transcript that does not start (end) with `...` must start (end) where the real output does.
//!
//! Every check runs even after one fails ([`run_checks`]), so one run lists everything to fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use netlab_testkit::docs::{
    Block, Doc, DocCommand, Inventory, commands, compare, lab_command, mask_numbers, run_checks,
    shell, workspace_root,
};
use netlab_testkit::workspace_binary;

/// This package's binary, which `scripts/compare-protocols` builds and runs.
const COMPARE: &str = env!("CARGO_BIN_EXE_compare-protocols");

/// A transcript line that stands for lines left out.
const GAP: &str = "...";

/// Link targets, from the workspace root, that may be missing today because something the
/// pages describe creates them later. Each needs a reason; once the file exists it is checked
/// like any other link.
const EXPECTED_LATER: &[&str] = &[
    // The example report the instructor guide links to: `scripts/compare-protocols --out
    // docs/example-report` writes it, a run of minutes that someone makes on a quiet machine and
    // commits. Until then the link is known to lead nowhere.
    "docs/example-report/report.md",
];

/// Why the Mininet transcripts are left out here: they need root and Mininet, and take seconds.
const MININET_REPLAYED: &str = "needs root and Mininet; scripts/tests/tests/scripts/mininet.rs \
     runs it and compares its output with this block (numbers aside)";

/// How a replayed block's output is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Line for line.
    Exact,
    /// Line for line with every number masked (a measurement).
    NumbersVary,
}

/// A block, named as [`Inventory::take`] finds it: a heading it is under (the start of it) and
/// the start of its first line.
struct Place {
    section: &'static str,
    first_line: &'static str,
}

/// A page and the decision about each of its blocks.
struct Page {
    name: &'static str,
    /// Replayed, with how their output is compared.
    replayed: &'static [(Place, Output)],
    /// Left out, each with the reason.
    left_out: &'static [(Place, &'static str)],
}

const fn at(section: &'static str, first_line: &'static str) -> Place {
    Place {
        section,
        first_line,
    }
}

const HUB: Page = Page {
    name: "docs/README.md",
    replayed: &[
        (
            at(
                "### Running the comparisons",
                "$ scripts/compare-protocols --help",
            ),
            Output::Exact,
        ),
        (
            at("### Several hosts", "$ scripts/mininet-lab --help"),
            Output::Exact,
        ),
    ],
    left_out: &[
        (
            at("### Getting the programs", "$ make build"),
            "the release build takes minutes; scripts/env is tested by scripts/tests (env.rs)",
        ),
        (
            at("### Running the comparisons", "$ make compare-quick"),
            "the comparison itself: minutes of benchmarks",
        ),
        (
            at("### Running the comparisons", "$ make build"),
            "the comparison as root: a lossy link between two network namespaces, and minutes",
        ),
        (
            at(
                "#### One scenario per lab",
                "$ scripts/mininet-lab run echo",
            ),
            MININET_REPLAYED,
        ),
        (
            at(
                "#### One scenario per lab",
                "$ scripts/mininet-lab run chat",
            ),
            MININET_REPLAYED,
        ),
        (
            at(
                "#### One scenario per lab",
                "$ scripts/mininet-lab run udp-chat",
            ),
            MININET_REPLAYED,
        ),
        (
            at(
                "#### One scenario per lab",
                "$ scripts/mininet-lab run game",
            ),
            MININET_REPLAYED,
        ),
        (
            at(
                "#### One scenario per lab",
                "$ scripts/mininet-lab run ftp-nat",
            ),
            MININET_REPLAYED,
        ),
        (
            at(
                "#### Mininet's CLI",
                "$ scripts/mininet-lab cli star --script",
            ),
            MININET_REPLAYED,
        ),
        (
            at(
                "#### Mininet's CLI",
                "$ scripts/mininet-lab cli star --hosts 3",
            ),
            "an interactive Mininet session (root): typed by an instructor",
        ),
    ],
};

const CONCEPTS: Page = Page {
    name: "docs/concepts.md",
    replayed: &[
        (at("## Framing", "$ tcp-echo serve --help"), Output::Exact),
        (
            at("## TCP and UDP", "$ udp-chat bench --messages 20"),
            Output::NumbersVary,
        ),
        (
            at("## TCP and UDP", "$ udp-chat bench --messages 50"),
            Output::NumbersVary,
        ),
        (
            at("## Control and data channels", "$ ftp-lab connect --help"),
            Output::Exact,
        ),
        (
            at("## Threads and event loops", "$ tcp-echo serve --help"),
            Output::Exact,
        ),
    ],
    left_out: &[(
        at("## TCP and UDP", "  first sample R"),
        "RFC 6298 §2's formulas, not output",
    )],
};

/// Every quick console block of docs/README.md prints what the page shows.
#[test]
fn hub_transcripts_are_true() {
    replay(&HUB);
}

/// Every quick console block of docs/concepts.md prints what the page shows.
#[test]
fn concepts_transcripts_are_true() {
    replay(&CONCEPTS);
}

/// Every relative link of both pages leads to a file (and a heading, if it names one).
#[test]
fn links_lead_somewhere() {
    // The hub and the pages it sends instructors to for grading.
    let pages = [
        HUB.name,
        CONCEPTS.name,
        "docs/grading.md",
        "docs/protocols/README.md",
        "docs/protocols/echo.md",
        "docs/protocols/chat-room.md",
        "docs/protocols/udp-chat.md",
        "docs/protocols/ftp.md",
        "docs/protocols/game.md",
    ];
    let mut links = Vec::new();
    for page in pages {
        let text = read(page);
        links.extend(
            relative_links(&text)
                .into_iter()
                .map(|(line, target)| (page, line, target)),
        );
    }
    assert!(
        links.len() >= 20,
        "the pages link to the walkthroughs and the code: only {} links found",
        links.len()
    );
    run_checks("the pages' links", &links, |(page, line, target)| {
        check_link(page, *line, target);
    });
}

// ---- transcripts ----------------------------------------------------------------------------

/// Claims every block of `page` as its list says, then replays the replayed ones.
fn replay(page: &Page) {
    let doc = Doc::read(page.name);
    let mut inventory = Inventory::new(&doc);
    let mut checks: Vec<(DocCommand, Output)> = Vec::new();
    for (place, output) in page.replayed {
        let block = inventory.take(place.section, place.first_line);
        assert_eq!(
            block.info, "console",
            "{} line {}: a replayed block is a ```console block",
            page.name, block.marker_line
        );
        checks.extend(
            commands(page.name, &block)
                .into_iter()
                .map(|command| (command, *output)),
        );
    }
    for (place, why) in page.left_out {
        let block = inventory.take(place.section, place.first_line);
        assert!(
            !only_help(&block),
            "{} line {}: left out ({why}), but every command in it is `--help` of a program this \
             test runs: replay it instead",
            page.name,
            block.marker_line
        );
    }
    inventory.finish();
    run_checks(page.name, &checks, |(command, output)| {
        check_command(page.name, command, *output);
    });
}

/// Whether a block is a console block whose every command is the help of a known program.
fn only_help(block: &Block) -> bool {
    let commands: Vec<&str> = block
        .lines
        .iter()
        .filter_map(|(_, line)| line.strip_prefix("$ "))
        .collect();
    block.info == "console"
        && !commands.is_empty()
        && commands
            .iter()
            .all(|command| Program::of(command).is_some() && asks_for_help(command))
}

/// `--help`, `-h` or `help` among the words of `command`.
fn asks_for_help(command: &str) -> bool {
    command
        .split_whitespace()
        .skip(1)
        .any(|word| matches!(word, "--help" | "-h" | "help"))
}

/// What a documented command runs.
#[derive(Debug, Clone, Copy)]
enum Program {
    /// `scripts/compare-protocols`: this package's binary.
    Compare,
    /// `scripts/mininet-lab`: the script.
    MininetLab,
    /// A lab binary: its package and its name.
    Lab(&'static str, &'static str),
}

/// The lab binaries the pages may run: (package, binary).
const LABS: &[(&str, &str)] = &[
    ("tcp-echo", "tcp-echo"),
    ("udp-chat", "udp-chat"),
    ("tcp-chat", "tcp-chat"),
    ("ftp-lab", "ftp-lab"),
    ("netlab-game", "game-lab"),
];

impl Program {
    /// The program `command` starts with, if the test knows how to run it.
    fn of(command: &str) -> Option<Program> {
        match command.split_whitespace().next()? {
            "scripts/compare-protocols" => Some(Program::Compare),
            "scripts/mininet-lab" => Some(Program::MininetLab),
            first => LABS
                .iter()
                .find(|(_, bin)| *bin == first)
                .map(|(package, bin)| Program::Lab(package, bin)),
        }
    }

    /// The command line that really runs, from the workspace root.
    fn real(self, command: &str) -> String {
        match self {
            Program::Compare => lab_command(command, "scripts/compare-protocols", COMPARE, 0, None),
            Program::MininetLab => command.to_string(),
            Program::Lab(package, bin) => {
                let path = workspace_binary(package, bin);
                lab_command(command, bin, path.to_str().expect("a UTF-8 path"), 0, None)
            }
        }
    }
}

/// Runs one documented command and compares what it prints with the page.
fn check_command(doc: &str, command: &DocCommand, output: Output) {
    let shown = &command.command;
    let program = Program::of(shown).unwrap_or_else(|| {
        panic!(
            "{doc} line {}: `{shown}` is in a replayed block, but runs nothing this test knows \
             (scripts/compare-protocols, scripts/mininet-lab, or a lab binary)",
            command.line
        )
    });
    assert!(
        !shown.contains(['|', ';', '&', '<', '>', '`', '$']),
        "{doc} line {}: a replayed command is one program, without pipes, redirections, `&` \
         or `;`: `{shown}`",
        command.line
    );
    if matches!(program, Program::Compare | Program::MininetLab) {
        assert!(
            asks_for_help(shown),
            "{doc} line {}: only the help of the scripts is replayed (the rest takes minutes, or \
             root): `{shown}` belongs in a left-out block",
            command.line
        );
    }
    let normalize = |line: &String| {
        let line = line.trim_end();
        match output {
            Output::Exact => line.to_string(),
            Output::NumbersVary => mask_numbers(line),
        }
    };
    let real: Vec<String> = shell(&program.real(shown), Some(&workspace_root()))
        .iter()
        .map(normalize)
        .collect();
    let expected: Vec<String> = command.output.iter().map(normalize).collect();
    same_lines(doc, command, &real, &expected);
}

/// Compares `real` with `expected`, where a [`GAP`] line of `expected` stands for any lines.
fn same_lines(doc: &str, command: &DocCommand, real: &[String], expected: &[String]) {
    let what = format!("`{}`", command.command);
    // The runs of shown lines between gaps, each with its index in `expected`.
    let mut runs: Vec<(usize, &[String])> = Vec::new();
    let mut start = 0;
    for (index, line) in expected.iter().enumerate() {
        if line == GAP {
            runs.push((start, &expected[start..index]));
            start = index + 1;
        }
    }
    runs.push((start, &expected[start..]));
    let last = runs.len() - 1;
    if last == 0 {
        // No gap: the whole output, as the page shows it.
        compare(doc, command.line + 1, &what, real, expected);
        return;
    }
    let mut cursor = 0;
    for (number, (offset, run)) in runs.iter().enumerate() {
        if run.is_empty() {
            continue; // a gap at the start or the end
        }
        let fits = |at: usize| at >= cursor && real.get(at..at + run.len()) == Some(*run);
        let found = if number == 0 {
            fits(0).then_some(0)
        } else if number == last {
            real.len().checked_sub(run.len()).filter(|&at| fits(at))
        } else {
            (cursor..=real.len().saturating_sub(run.len())).find(|&at| fits(at))
        };
        if let Some(at) = found {
            cursor = at + run.len();
            continue;
        }
        // Name the first line that differs: compare with the real lines from where the run's
        // first line appears (or where it should have started).
        let from = if number == 0 {
            0
        } else if number == last {
            real.len().saturating_sub(run.len()).max(cursor)
        } else {
            (cursor..real.len())
                .find(|&at| real[at] == run[0])
                .unwrap_or(cursor)
        };
        let window = &real[from.min(real.len())..(from + run.len()).min(real.len())];
        let place = command.line + 1 + offset;
        compare(doc, place, &what, window, run);
        panic!(
            "{doc} line {place}: {what}: these lines are in the real output, but not after the \
             lines shown above them; all of it, real:\n{}",
            real.join("\n")
        );
    }
}

// ---- links ----------------------------------------------------------------------------------

/// A page's text, by its path from the workspace root.
fn read(page: &str) -> String {
    let path = workspace_root().join(page);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// Every link target of a Markdown page that is not a URL, with its line (1-based). Fenced
/// blocks and inline code are not Markdown, so links there are not links.
fn relative_links(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut fenced = false;
    for (index, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let text = without_code(line);
        let mut targets = Vec::new();
        // `[name]: target`, a reference definition.
        if let Some(rest) = text.trim_start().strip_prefix('[')
            && let Some((_, target)) = rest.split_once("]:")
        {
            targets.extend(target.split_whitespace().next().map(String::from));
        }
        // `[text](target)` and `![alt](target)`; an optional "title" after a space.
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            targets.extend(rest[..end].split_whitespace().next().map(String::from));
            rest = &rest[end..];
        }
        for target in targets {
            let target = target
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            let url = ["http://", "https://", "mailto:"]
                .iter()
                .any(|scheme| target.starts_with(scheme));
            if !url {
                found.push((index + 1, target));
            }
        }
    }
    found
}

/// A line with its inline code spans (`` `...` ``) removed.
fn without_code(line: &str) -> String {
    let mut out = String::new();
    for (index, part) in line.split('`').enumerate() {
        if index % 2 == 0 {
            out.push_str(part);
        }
    }
    out
}

/// Checks that `target`, linked from `page` at `line`, exists (and its heading, if named).
fn check_link(page: &str, line: usize, target: &str) {
    let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
    let page_dir = Path::new(page).parent().unwrap_or(Path::new(""));
    let linked: PathBuf = if path.is_empty() {
        PathBuf::from(page)
    } else {
        normalize_path(&page_dir.join(path))
    };
    let on_disk = workspace_root().join(&linked);
    if !on_disk.exists() {
        let later = EXPECTED_LATER
            .iter()
            .any(|expected| Path::new(expected) == linked);
        assert!(
            later,
            "{page} line {line}: the link `{target}` leads nowhere: {} does not exist",
            linked.display()
        );
        return;
    }
    if fragment.is_empty() || linked.extension().is_none_or(|ext| ext != "md") {
        return;
    }
    let anchors = anchors(&std::fs::read_to_string(&on_disk).unwrap());
    assert!(
        anchors.iter().any(|anchor| anchor == fragment),
        "{page} line {line}: the link `{target}` names no heading of {}; its anchors are:\n  {}",
        linked.display(),
        anchors.join("\n  ")
    );
}

/// `docs/../scripts/x` as `scripts/x`: a path from the workspace root, `..` resolved.
fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                assert!(out.pop(), "{} climbs out of the workspace", path.display());
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The anchors GitHub gives a page's headings: lower case, letters, digits, `-` and `_` kept,
/// spaces made `-`, everything else dropped; a repeated anchor gets `-1`, `-2`, ...
fn anchors(markdown: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let Some(title) = line
            .strip_prefix('#')
            .map(|rest| rest.trim_start_matches('#'))
        else {
            continue;
        };
        if fenced || !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let repeats = found
            .iter()
            .filter(|anchor| {
                *anchor == &slug
                    || anchor
                        .strip_prefix(slug.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|n| n.parse::<usize>().is_ok())
            })
            .count();
        found.push(if repeats == 0 {
            slug
        } else {
            format!("{slug}-{repeats}")
        });
    }
    found
}

/// The parts of this file that are not about the pages: the gap rule, links, anchors.
#[test]
fn the_rules_themselves() {
    let command = DocCommand {
        line: 10,
        command: "x".into(),
        output: Vec::new(),
    };
    let lines = |text: &str| -> Vec<String> { text.lines().map(String::from).collect() };
    let real = lines("a\nb\nc\nd\ne");
    // Gaps in the middle, at the start, at the end.
    same_lines("page", &command, &real, &lines("a\n...\nc\nd\n...\ne"));
    same_lines("page", &command, &real, &lines("...\nd\ne"));
    same_lines("page", &command, &real, &lines("a\nb\n..."));
    for wrong in [
        "a\n...\nd\nc",
        "b\n...",
        "...\nd",
        "a\n...\nx\n...",
        "a\nb\nc\nd",
    ] {
        let caught = std::panic::catch_unwind(|| {
            same_lines("page", &command, &real, &lines(wrong));
        });
        assert!(caught.is_err(), "{wrong:?} should not match");
    }
    assert_eq!(
        relative_links(
            "[a](x.md#y) `[b](no)` ![c](img.svg \"t\") [d](https://e)\n[r]: ../z\n```\n[f](no)\n```"
        ),
        [
            (1, "x.md#y".to_string()),
            (1, "img.svg".into()),
            (2, "../z".into())
        ]
    );
    assert_eq!(
        anchors("# Title\n## 3. See the bytes: `--trace`\n## Notes\n## Notes\n```\n# not\n```"),
        ["title", "3-see-the-bytes---trace", "notes", "notes-1"]
    );
    assert_eq!(
        normalize_path(Path::new("docs/../labs/./x.rs")),
        PathBuf::from("labs/x.rs")
    );
}
