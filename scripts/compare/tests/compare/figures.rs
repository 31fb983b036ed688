//! Figures in the docs are either backed by a results file or marked as one example run.
//!
//! A performance figure (a rate such as `1,379 MB/s` or `5,714 moves/s`, a latency percentile
//! such as `p99 28.7 ms`, a ratio such as `21.4x`) is a claim about a measurement. Written by
//! hand into a page, it goes stale the day the code changes, and students learn the stale number
//! (issue 23 found several). So every figure outside a transcript must sit under a marker, an
//! HTML comment the rendered page hides, that says where it comes from:
//!
//! - `<!-- figures: docs/results/FILE -->`: every figure below it, up to the next marker or
//!   heading, must appear in that results file (which a script regenerates: `make bench-game`,
//!   `make compare`); a ratio may instead be the quotient of two numbers of the same passage,
//!   rounded as shown (`290.6 / 13.6 = 21.4x`).
//! - `<!-- figures: example -->`: the passage quotes one run, and says so where the reader sees
//!   it: the date it was measured (`2026-12-01`) or the word "example".
//!
//! Transcripts (fenced blocks) are not checked here: they are program output, replayed by each
//! lab's docs test or labelled as a captured run.

use std::path::Path;

use netlab_testkit::docs::workspace_root;

/// The pages checked.
const PAGES: &[&str] = &[
    "README.md",
    "docs/README.md",
    "docs/concepts.md",
    "docs/tcp-echo.md",
    "docs/tcp-chat.md",
    "docs/udp-chat.md",
    "docs/ftp.md",
    "docs/game.md",
    "docs/grading.md",
];

/// Where the figures of a passage come from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// Nothing said yet in this section.
    Unmarked,
    /// A results file, by path from the workspace root.
    File(String),
    /// One run, quoted as an example.
    Example,
}

/// A passage: the visible text under one marker, with where it starts.
#[derive(Debug)]
struct Passage {
    page: String,
    line: usize,
    source: Source,
    text: String,
}

/// Cuts a page into passages at markers and headings; fenced blocks and comments are left out.
fn passages(page: &str, markdown: &str) -> Vec<Passage> {
    let mut found = Vec::new();
    let mut current = Passage {
        page: page.to_string(),
        line: 1,
        source: Source::Unmarked,
        text: String::new(),
    };
    let mut fenced = false;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let marker = trimmed
            .strip_prefix("<!-- figures:")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(str::trim);
        let heading = trimmed.starts_with('#');
        if marker.is_some() || heading {
            let source = match marker {
                Some("example") => Source::Example,
                Some(path) => Source::File(path.to_string()),
                None => Source::Unmarked,
            };
            let next = Passage {
                page: page.to_string(),
                line: index + 1,
                source,
                text: String::new(),
            };
            found.push(std::mem::replace(&mut current, next));
            continue;
        }
        if trimmed.starts_with("<!--") {
            continue;
        }
        current.text.push_str(line);
        current.text.push('\n');
    }
    found.push(current);
    found
}

/// A figure as written, and its value.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    written: String,
    value: f64,
    /// Digits after the point, for rounding a computed ratio the same way.
    decimals: usize,
    ratio: bool,
}

/// Units that make a number a measured figure.
const RATE_UNITS: &[&str] = &[
    "MB/s",
    "MiB/s",
    "GB/s",
    "GiB/s",
    "KB/s",
    "KiB/s",
    "round trips/s",
    "moves/s",
    "games/s",
    "messages/s",
    "datagrams/s",
];

/// The figures in `text`: numbers followed by a rate unit, numbers after `p50`/`p99`/`p999`,
/// and ratios (`1.05x`).
fn figures(text: &str) -> Vec<Figure> {
    let mut found = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let starts_number = chars[index].is_ascii_digit()
            && (index == 0 || !(chars[index - 1].is_alphanumeric() || chars[index - 1] == '.'));
        if !starts_number {
            index += 1;
            continue;
        }
        let start = index;
        while index < chars.len()
            && (chars[index].is_ascii_digit()
                || ((chars[index] == ',' || chars[index] == '.')
                    && chars.get(index + 1).is_some_and(char::is_ascii_digit)))
        {
            index += 1;
        }
        let written: String = chars[start..index].iter().collect();
        let after: String = chars[index..chars.len().min(index + 16)].iter().collect();
        let before: String = chars[start.saturating_sub(6)..start].iter().collect();
        let ratio = after.starts_with('x')
            && !after.chars().nth(1).is_some_and(char::is_alphanumeric)
            && written.contains('.');
        let rate = RATE_UNITS
            .iter()
            .any(|unit| after.trim_start().starts_with(unit));
        let percentile = ["p50 ", "p99 ", "p999 ", "p50=", "p99="]
            .iter()
            .any(|prefix| before.ends_with(prefix));
        if ratio || rate || percentile {
            // The low end of a range (`1699-1996 MiB/s`, `1,100 to 1,400 MiB/s`) is a figure too.
            if let Some(low) = range_start(&chars[..start]) {
                found.extend(figure(&low, false));
            }
            found.extend(figure(&written, ratio));
        }
    }
    found
}

/// The number before `prefix`'s trailing ` to ` or `-`, if it ends with one.
fn range_start(prefix: &[char]) -> Option<String> {
    let text: String = prefix.iter().collect();
    let rest = text
        .strip_suffix(" to ")
        .or_else(|| text.strip_suffix('-'))
        .or_else(|| text.strip_suffix('–'))?;
    let start = rest
        .rfind(|character: char| {
            !(character.is_ascii_digit() || character == ',' || character == '.')
        })
        .map_or(0, |at| at + 1);
    let number = &rest[start..];
    number
        .starts_with(|character: char| character.is_ascii_digit())
        .then(|| number.to_string())
}

/// `written` as a figure, if it is a number.
fn figure(written: &str, ratio: bool) -> Option<Figure> {
    let plain = written.replace(',', "");
    let value = plain.parse::<f64>().ok()?;
    let decimals = plain
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    Some(Figure {
        written: written.to_string(),
        value,
        decimals,
        ratio,
    })
}

/// The numbers in the data rows of the Markdown tables in `text` (not the header, which
/// comes before the `|---|` row).
fn table_numbers(text: &str) -> Vec<Figure> {
    let mut found = Vec::new();
    let mut in_data = false;
    for line in text.lines() {
        let row = line.trim();
        if !row.starts_with('|') {
            in_data = false;
            continue;
        }
        if row.chars().all(|character| "|-: ".contains(character)) {
            in_data = true;
            continue;
        }
        if in_data {
            found.extend(
                numbers(row)
                    .iter()
                    .filter_map(|number| figure(number, false)),
            );
        }
    }
    found
}

/// Every number in `text`, thousands separators removed, as written.
fn numbers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(character) = chars.next() {
        let continues = (character == ',' || character == '.')
            && !current.is_empty()
            && chars.peek().is_some_and(char::is_ascii_digit);
        if character.is_ascii_digit() || continues {
            if character != ',' {
                current.push(character);
            }
        } else if !current.is_empty() {
            found.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        found.push(current);
    }
    found
}

/// Is `figure` backed by `source_numbers` (a results file's: the same number, or one that
/// rounds to it as written, `7,814` for `7,800`), or, for a ratio, the quotient of two of
/// `passage_numbers` rounded as written?
fn backed(figure: &Figure, source_numbers: &[String], passage_numbers: &[f64]) -> bool {
    let plain = figure.written.replace(',', "");
    if source_numbers.contains(&plain) {
        return true;
    }
    let step = rounding_step(&plain, figure.decimals);
    let rounds_to_it = |number: &String| {
        number
            .parse::<f64>()
            .is_ok_and(|value| ((value / step).round() * step - figure.value).abs() < step / 1000.0)
    };
    if source_numbers.iter().any(rounds_to_it) {
        return true;
    }
    if !figure.ratio {
        return false;
    }
    let scale = 10f64.powi(i32::try_from(figure.decimals).unwrap_or(0));
    passage_numbers.iter().any(|a| {
        passage_numbers
            .iter()
            .any(|b| *b != 0.0 && ((a / b) * scale).round() / scale == figure.value)
    })
}

/// The unit a figure was rounded to: `0.1` for `28.7`, `100` for `7,800`, `1` for `7,814`.
fn rounding_step(plain: &str, decimals: usize) -> f64 {
    if decimals > 0 {
        return 10f64.powi(-i32::try_from(decimals).unwrap_or(0));
    }
    let zeros = plain.len() - plain.trim_end_matches('0').len();
    // A figure of all zeros after one digit (`10000`) keeps its first digit significant.
    let zeros = zeros.min(plain.len().saturating_sub(1));
    10f64.powi(i32::try_from(zeros).unwrap_or(0))
}

/// What is wrong with the figures of `passage`, one line per problem.
fn problems(passage: &Passage, root: &Path) -> Vec<String> {
    let mut figures = figures(&passage.text);
    if matches!(passage.source, Source::File(_)) {
        // Under a results marker a table's cells are figures too, units or not: the unit is
        // in the header.
        figures.extend(table_numbers(&passage.text));
    }
    if figures.is_empty() {
        return Vec::new();
    }
    let place = format!("{} (passage from line {})", passage.page, passage.line);
    let shown: Vec<&str> = figures
        .iter()
        .map(|figure| figure.written.as_str())
        .collect();
    match &passage.source {
        Source::Unmarked => vec![format!(
            "{place}: figures {shown:?} without a `<!-- figures: docs/results/FILE -->` or \
             `<!-- figures: example -->` marker"
        )],
        Source::Example => {
            let dated = passage.text.contains("example") || has_date(&passage.text);
            if dated {
                Vec::new()
            } else {
                vec![format!(
                    "{place}: example figures {shown:?}, but the text does not say when they were \
                     measured (a date) or that they are an example"
                )]
            }
        }
        Source::File(path) => {
            let Ok(results) = std::fs::read_to_string(root.join(path)) else {
                return vec![format!("{place}: results file {path} does not exist")];
            };

            let source_numbers = numbers(&results);
            let passage_numbers: Vec<f64> = numbers(&passage.text)
                .iter()
                .filter_map(|number| number.parse().ok())
                .collect();
            figures
                .iter()
                .filter(|figure| !backed(figure, &source_numbers, &passage_numbers))
                .map(|figure| format!("{place}: {} is not in {path}", figure.written))
                .collect()
        }
    }
}

/// Does `text` name a day (`2026-12-01`)?
fn has_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(10).any(|window| {
        window.iter().enumerate().all(|(at, byte)| match at {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
    })
}

/// Every figure in the pages is backed by its results file or marked as a dated example.
#[test]
fn figures_are_backed_or_marked() {
    let root = workspace_root();
    let mut all = Vec::new();
    for page in PAGES {
        let markdown = std::fs::read_to_string(root.join(page)).unwrap_or_default();
        for passage in passages(page, &markdown) {
            all.extend(problems(&passage, &root));
        }
    }
    assert!(
        all.is_empty(),
        "{} problems:\n{}",
        all.len(),
        all.join("\n")
    );
}

/// The check itself: figures are found by unit, percentile and ratio; a figure changed by hand
/// no longer matches its file; a ratio may be computed from its passage; an unmarked figure and
/// an undated example are refused.
#[test]
#[allow(clippy::unwrap_used)]
fn the_check_catches_what_it_should() {
    let found: Vec<String> = figures("at 1,379 MB/s (p99 0.96 ms), 1.05x tokio, 3 threads, 30%")
        .into_iter()
        .map(|figure| figure.written)
        .collect();
    assert_eq!(found, ["1,379", "0.96", "1.05"]);
    let range: Vec<String> = figures("ran at 1699-1996 MiB/s, then 1,100 to 1,400 MiB/s")
        .into_iter()
        .map(|figure| figure.written)
        .collect();
    assert_eq!(range, ["1699", "1996", "1,100", "1,400"]);

    let root = std::env::temp_dir().join(format!("netlab-figures-{}", std::process::id()));
    std::fs::create_dir_all(root.join("r")).unwrap();
    std::fs::write(
        root.join("r/run.csv"),
        "mode,rate\nsr,290.6\nsaw,13.6\necho,1379\n",
    )
    .unwrap();
    let page = "<!-- figures: r/run.csv -->\nIt ran at 1,379 MB/s; 290.6 / 13.6 = 21.4x.\n";
    let check = |page: &str| -> Vec<String> {
        passages("page.md", page)
            .iter()
            .flat_map(|passage| problems(passage, &root))
            .collect()
    };
    assert!(check(page).is_empty(), "{:?}", check(page));
    assert_eq!(
        check(&page.replace("1,379", "1,479")).len(),
        1,
        "a figure changed by hand"
    );
    assert_eq!(
        check(&page.replace("21.4x", "22.4x")).len(),
        1,
        "a wrong ratio"
    );
    let rounded = "<!-- figures: r/run.csv -->\nAbout 1,400 MB/s or 290 MB/s, not 1,300 MB/s.\n";
    assert_eq!(check(rounded).len(), 1, "{:?}", check(rounded));
    let table = "<!-- figures: r/run.csv -->\n| mode | rate |\n|---|---:|\n| sr | 290.6 |\n";
    assert!(check(table).is_empty(), "{:?}", check(table));
    assert_eq!(
        check(&table.replace("290.6", "290.7")).len(),
        1,
        "a table cell changed"
    );
    assert_eq!(check("It ran at 5 MB/s.\n").len(), 1, "unmarked");
    assert_eq!(
        check("<!-- figures: example -->\nIt ran at 5 MB/s.\n").len(),
        1
    );
    assert!(check("<!-- figures: example -->\nOn 2026-12-01 it ran at 5 MB/s.\n").is_empty());
    let _ = std::fs::remove_dir_all(root);
}
