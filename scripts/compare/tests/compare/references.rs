//! Keeps every RFC citation precise and the list of them (docs/references.md) true.
//!
//! A student who reads "RFC 959" has 90 pages to search; "RFC 959 §4.1.3" is one page. So:
//! - **(a)** every citation of an RFC in the tracked text (docs, README, code comments and
//!   strings, scripts) names the section that supports its sentence, unless docs/references.md
//!   lists that file under the RFC's **whole** row (an RFC with no numbered sections, or a
//!   sentence that names the protocol as a whole), with the reason;
//! - **(b)** every section cited is listed in docs/references.md under its RFC, with the file
//!   that cites it;
//! - **(c)** docs/references.md lists nothing that no file cites any more.
//!
//! ## What counts as a citation
//! The letters `RFC`, spaces, and a 3- or 4-digit number. Lines are joined first, with comment
//! markers (`//!`, `///`, `//`, `#`, `--`, `*`, `>`) removed, so a citation wrapped across two
//! comment lines is still one. Right after the number (after an optional `,` or `(`) may come:
//! - `§2.1`, with more joined by `,` `/` `-` `and` `or` (`§2.2/§2.3`, `§2, §5`);
//! - `section 3.4.1` or `sections 3 and 8`;
//! - a bare dotted number (`RFC 959, 4.1.3`, `RFC 1122 4.2.3.2`): a dot is required, so the
//!   year in "RFC 959, 1985" is not a section;
//! - `Appendix II` (or `App. II`).
//!
//! The files are those `git ls-files` lists that are UTF-8 text, except docs/references.md
//! itself and this file, whose examples above are not citations.
//!
//! Every problem is listed in one run, with the file and line to fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::process::Command;

use netlab_testkit::docs::workspace_root;

/// The list of citations, from the workspace root.
const REFERENCES: &str = "docs/references.md";

/// Files that are not scanned, and why: the list itself, and this file (its examples).
const NOT_SCANNED: &[&str] = &[REFERENCES, "scripts/compare/tests/compare/references.rs"];

/// The key of a whole-document citation in docs/references.md.
const WHOLE: &str = "whole";

/// One citation found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Citation {
    /// 1-based line of the file where `RFC` starts.
    line: usize,
    rfc: u32,
    /// Section keys as docs/references.md writes them (`§2.1`, `Appendix II`); empty when the
    /// citation names none.
    sections: Vec<String>,
}

/// One (RFC, section or `whole`, file) entry, from the files or from docs/references.md.
type Entry = (u32, String, String);

/// A line without its leading comment marker or quote marker, trimmed at the start.
fn strip_marker(line: &str) -> &str {
    let trimmed = line.trim_start();
    for marker in ["//!", "///", "//", "--", "#", "*", ">"] {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            return rest.trim_start_matches(marker).trim_start();
        }
    }
    trimmed
}

/// Every citation in `text`.
fn citations(text: &str) -> Vec<Citation> {
    // Join the lines (markers removed) with one space, remembering where each line starts.
    let mut joined = String::new();
    let mut starts = Vec::new();
    for line in text.lines() {
        starts.push(joined.len());
        joined.push_str(strip_marker(line));
        joined.push(' ');
    }
    let bytes = joined.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = joined[from..].find("RFC") {
        let at = from + offset;
        from = at + 3;
        if at > 0 && bytes[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &joined[at + 3..];
        let digits_at = rest.len() - rest.trim_start_matches(' ').len();
        if digits_at == 0 {
            continue;
        }
        let digits: String = rest[digits_at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let after = &rest[digits_at + digits.len()..];
        if !(3..=4).contains(&digits.len()) || after.starts_with(|c: char| c.is_alphanumeric()) {
            continue;
        }
        let line = starts.partition_point(|&start| start <= at);
        found.push(Citation {
            line,
            rfc: digits.parse().unwrap(),
            sections: sections(after),
        });
    }
    found
}

/// A section number at the start of `text` (`4.1.3`), and what follows it.
fn number(text: &str) -> Option<(String, &str)> {
    let mut end = 0;
    let bytes = text.as_bytes();
    while end < bytes.len()
        && (bytes[end].is_ascii_digit()
            || (bytes[end] == b'.'
                && end > 0
                && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)))
    {
        end += 1;
    }
    (end > 0 && bytes[0].is_ascii_digit()).then(|| (text[..end].to_string(), &text[end..]))
}

/// An appendix at the start of `text` (`Appendix II`, `App. II`), as `Appendix II`.
fn appendix(text: &str) -> Option<String> {
    let name = text
        .strip_prefix("Appendix ")
        .or_else(|| text.strip_prefix("App. "))?;
    let letters: String = name
        .chars()
        .take_while(|c| c.is_ascii_uppercase())
        .collect();
    (!letters.is_empty()).then(|| format!("Appendix {letters}"))
}

/// The sections named right after an RFC number, as keys (`§4.1.3`), or none.
fn sections(after: &str) -> Vec<String> {
    let text = after.strip_prefix(',').unwrap_or(after).trim_start();
    let text = text.strip_prefix('(').unwrap_or(text).trim_start();
    if let Some(name) = appendix(text) {
        return vec![name];
    }
    let (listed, first) = if let Some(rest) = text.strip_prefix('§') {
        (true, rest.trim_start())
    } else if let Some(rest) = text
        .strip_prefix("sections ")
        .or_else(|| text.strip_prefix("section "))
    {
        (true, rest)
    } else {
        (false, text)
    };
    let Some((section, mut rest)) = number(first) else {
        return Vec::new();
    };
    if !listed && !section.contains('.') {
        return Vec::new();
    }
    let mut found = vec![format!("§{section}")];
    if !listed {
        return found;
    }
    // More sections joined to the first: `, §5`, `/§2.3`, `-5`, ` and 8`, ` or §4`.
    loop {
        let trimmed = rest.trim_start();
        let Some(joined) = [",", "/", "-", "–", "and ", "or "]
            .iter()
            .find_map(|joint| trimmed.strip_prefix(joint))
        else {
            break;
        };
        let next = joined.trim_start();
        let next = next.strip_prefix('§').unwrap_or(next).trim_start();
        let Some((section, after)) = number(next) else {
            break;
        };
        found.push(format!("§{section}"));
        rest = after;
    }
    found
}

/// The files to scan: tracked, UTF-8, not in [`NOT_SCANNED`]; with their text.
fn tracked_texts() -> Vec<(String, String)> {
    let root = workspace_root();
    let listed = Command::new("git")
        .arg("ls-files")
        .arg("-z")
        .current_dir(&root)
        .output()
        .expect("git ls-files runs (the test reads the tracked files)");
    assert!(listed.status.success(), "git ls-files failed");
    String::from_utf8(listed.stdout)
        .unwrap()
        .split('\0')
        .filter(|path| !path.is_empty() && !NOT_SCANNED.contains(path))
        .filter_map(|path| {
            let text = std::fs::read_to_string(root.join(path)).ok()?;
            Some((path.to_string(), text))
        })
        .collect()
}

/// The entries of docs/references.md: under each `## RFC N: title` heading, the rows of its
/// table, `| §X or whole | what it says | `file`, `file` |`.
fn listed_entries(text: &str) -> Result<BTreeSet<Entry>, String> {
    let mut entries = BTreeSet::new();
    let mut rfc = None;
    for (index, line) in text.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## RFC ") {
            let (number, title) = heading
                .split_once(": ")
                .ok_or_else(|| format!("{REFERENCES}:{}: `## RFC N: title`", index + 1))?;
            rfc = Some(number.parse::<u32>().map_err(|e| format!("{line}: {e}"))?);
            assert!(
                !title.trim().is_empty(),
                "{REFERENCES}:{}: no title",
                index + 1
            );
            continue;
        }
        if line.starts_with("## ") {
            rfc = None;
        }
        let (Some(rfc), Some(row)) = (rfc, line.strip_prefix('|')) else {
            continue;
        };
        let cells: Vec<&str> = row
            .trim_end_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let key = cells[0];
        if key == "Section" || key.starts_with("---") {
            continue;
        }
        if !(key == WHOLE || key.starts_with('§') || key.starts_with("Appendix ")) {
            return Err(format!(
                "{REFERENCES}:{}: a row starts with `§N`, `Appendix N` or `{WHOLE}`, not {key:?}",
                index + 1
            ));
        }
        let files = cells.last().copied().unwrap_or_default();
        for file in files.split(',') {
            let file = file.trim().trim_matches('`');
            if !file.is_empty() {
                entries.insert((rfc, key.to_string(), file.to_string()));
            }
        }
    }
    Ok(entries)
}

/// What is wrong between the citations in `texts` and the `listed` entries, one line each.
fn problems(texts: &[(String, String)], listed: &BTreeSet<Entry>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut cited = BTreeSet::new();
    for (path, text) in texts {
        for citation in citations(text) {
            let rfc = citation.rfc;
            let at = format!("{path}:{}", citation.line);
            if citation.sections.is_empty() {
                let entry = (rfc, WHOLE.to_string(), path.clone());
                if !listed.contains(&entry) {
                    problems.push(format!(
                        "(a) {at}: RFC {rfc} names no section: cite the section that supports \
                         the sentence (`RFC {rfc} §N`), or list `{path}` in the `{WHOLE}` row of \
                         RFC {rfc} in {REFERENCES} with the reason"
                    ));
                }
                cited.insert(entry);
            }
            for section in citation.sections {
                let entry = (rfc, section.clone(), path.clone());
                if !listed.contains(&entry) {
                    problems.push(format!(
                        "(b) {at}: RFC {rfc} {section} is not in {REFERENCES}: add `{path}` to \
                         the {section} row of RFC {rfc}"
                    ));
                }
                cited.insert(entry);
            }
        }
    }
    for (rfc, key, path) in listed.difference(&cited) {
        problems.push(format!(
            "(c) {REFERENCES} lists RFC {rfc} {key} in `{path}`, which no longer cites it there: \
             remove it"
        ));
    }
    problems
}

/// Every RFC citation in the tracked text names its section or is a listed whole-document
/// citation, and docs/references.md lists exactly the sections cited, file by file.
#[test]
fn every_rfc_citation_names_its_section_and_is_listed() {
    let references = std::fs::read_to_string(workspace_root().join(REFERENCES)).unwrap();
    let listed = listed_entries(&references).unwrap_or_else(|e| panic!("{e}"));
    let problems = problems(&tracked_texts(), &listed);
    assert!(
        problems.is_empty(),
        "{} RFC citation problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The citation grammar: which forms name a section, and which do not.
#[test]
fn the_citation_forms() {
    let cited = |text: &str| -> Vec<(u32, Vec<String>)> {
        citations(text)
            .into_iter()
            .map(|c| (c.rfc, c.sections))
            .collect()
    };
    let keys = |keys: &[&str]| -> Vec<String> { keys.iter().map(|k| k.to_string()).collect() };
    assert_eq!(cited("RFC 6298 §2.1."), [(6298, keys(&["§2.1"]))]);
    assert_eq!(
        cited("(RFC 6298 §2.2/§2.3)"),
        [(6298, keys(&["§2.2", "§2.3"]))]
    );
    assert_eq!(
        cited("RFC 6298 §2 and §5, Karn's rule"),
        [(6298, keys(&["§2", "§5"]))]
    );
    assert_eq!(cited("RFC 6675 §4-5"), [(6675, keys(&["§4", "§5"]))]);
    assert_eq!(
        cited("RFC 2577, sections 3 and 8"),
        [(2577, keys(&["§3", "§8"]))]
    );
    assert_eq!(cited("RFC 959 (4.1.3)"), [(959, keys(&["§4.1.3"]))]);
    assert_eq!(cited("RFC 1122 4.2.3.2;"), [(1122, keys(&["§4.2.3.2"]))]);
    assert_eq!(cited("RFC 959, App. II"), [(959, keys(&["Appendix II"]))]);
    assert_eq!(
        cited("RFC 959 §4.2.1's meanings"),
        [(959, keys(&["§4.2.1"]))]
    );
    // A year is not a section; neither is a plain number after a space.
    assert_eq!(cited("FTP (RFC 959, 1985)"), [(959, keys(&[]))]);
    assert_eq!(cited("the RFC 6298 estimator"), [(6298, keys(&[]))]);
    assert_eq!(cited("RFC 862 echo is port 7"), [(862, keys(&[]))]);
    // Wrapped across comment lines, and what is not a citation at all.
    let wrapped = cited("/// reset (RFC 1122\n/// 4.2.2.13), which");
    assert_eq!(wrapped, [(1122, keys(&["§4.2.2.13"]))]);
    assert_eq!(citations("//! x RFC\n//! 2577 section 8")[0].line, 1);
    assert!(cited("RFCs and textbooks; rfc959; XRFC 12; RFC 12345").is_empty());
}

/// The three kinds of problem are each reported, and a true list gives none.
#[test]
fn the_list_is_compared_both_ways() {
    let texts = [(
        "a.md".to_string(),
        "See RFC 862. Timer: RFC 6298 §2.1, §5.".to_string(),
    )];
    let list = "## RFC 862: Echo Protocol\n\n| Section | what | Cited in |\n|---|---|---|\n\
                | whole | no sections | `a.md` |\n\n## RFC 6298: Computing TCP's Retransmission \
                Timer\n\n| §2.1 | first RTO | `a.md` |\n| §5 | timer | `a.md` |\n";
    let listed = listed_entries(list).unwrap();
    assert_eq!(problems(&texts, &listed), Vec::<String>::new());
    let stale = format!("{list}| §2.4 | floor | `a.md`, `b.rs` |\n");
    let found = problems(&texts, &listed_entries(&stale).unwrap());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|p| p.starts_with("(c) ")), "{found:?}");
    let missing = list.replace("| whole | no sections | `a.md` |\n", "");
    let found = problems(&texts, &listed_entries(&missing).unwrap());
    assert!(
        found.len() == 1 && found[0].starts_with("(a) a.md:1: RFC 862 names no section"),
        "{found:?}"
    );
    let found = problems(
        &texts,
        &listed_entries(&list.replace("| §5 | timer | `a.md` |\n", "")).unwrap(),
    );
    assert!(
        found.len() == 1 && found[0].starts_with("(b) a.md:1: RFC 6298 §5 is not in"),
        "{found:?}"
    );
}
