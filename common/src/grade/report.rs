//! # A rubric in the formats course infrastructure reads: Gradescope and JUnit
//!
//! - **Gradescope** runs an autograder script in a container per submission and reads
//!   `/autograder/results/results.json`: a total `score`, an `output` for the whole submission,
//!   and one entry per test with `name`, `score`, `max_score`, `output` and `visibility`
//!   (Gradescope's "Autograder Specifications", gradescope-autograders.readthedocs.io/en/latest/specs/).
//! - **JUnit XML** is what CI systems (GitHub Actions reporters, GitLab, Jenkins) show as test
//!   results: a `<testsuite>` per submission, a `<testcase>` per check, a `<failure>` holding the
//!   reason. Text is escaped for XML (`&`, `<`, `>`, quotes) and characters XML 1.0 cannot hold
//!   at all (most C0 controls) are left out, since a reason may quote anything a server sent.

use std::fmt::Write as _;

use super::{Outcome, Rubric};

/// What Gradescope shows of a test (`visible`: to the student at once).
pub const VISIBILITY: &str = "visible";

/// One check's reason in words, empty when it passed.
pub fn reason(outcome: &Outcome) -> String {
    outcome.failure.as_ref().map_or(String::new(), |f| {
        format!("expected {}; got {}", f.expected, f.got)
    })
}

/// The rubric as Gradescope's `results.json`; `output` is text for the whole submission (the
/// server's own output when it failed to start, for instance).
pub fn gradescope(rubric: &Rubric, output: &str) -> serde_json::Value {
    let (earned, _) = rubric.score();
    let tests: Vec<serde_json::Value> = rubric
        .outcomes
        .iter()
        .map(|o| {
            let text = match &o.failure {
                None => format!("pass: {}", o.concept),
                Some(_) => format!("{} ({})", reason(o), o.concept),
            };
            serde_json::json!({
                "name": o.name,
                "score": o.earned(),
                "max_score": o.points,
                "status": if o.failure.is_none() { "passed" } else { "failed" },
                "output": text,
                "visibility": VISIBILITY,
            })
        })
        .collect();
    let mut whole = format!("Grading {}", rubric.subject);
    if !output.is_empty() {
        whole.push_str("\n\nThe server's output:\n");
        whole.push_str(output);
    }
    serde_json::json!({
        "score": earned,
        "output": whole,
        "visibility": VISIBILITY,
        "stdout_visibility": "hidden",
        "tests": tests,
    })
}

/// Text made safe for XML 1.0: markup characters escaped, characters XML cannot hold dropped.
pub fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 Char: tab, newline, carriage return and everything from U+0020, minus
            // the surrogates (which a Rust char never is) and U+FFFE/U+FFFF.
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML for several graded submissions: one `<testsuite>` each, named `name`.
pub fn junit<'a>(suites: impl IntoIterator<Item = (&'a str, &'a Rubric, &'a str)>) -> String {
    let mut body = String::new();
    let (mut tests, mut failures) = (0, 0);
    for (name, rubric, output) in suites {
        let failed = rubric
            .outcomes
            .iter()
            .filter(|o| o.failure.is_some())
            .count();
        let seconds: f64 = rubric.outcomes.iter().map(|o| o.took.as_secs_f64()).sum();
        tests += rubric.outcomes.len();
        failures += failed;
        let _ = writeln!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{seconds:.3}\">",
            xml_text(name),
            rubric.outcomes.len()
        );
        for o in &rubric.outcomes {
            let _ = write!(
                body,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml_text(name),
                xml_text(o.name),
                o.took.as_secs_f64()
            );
            match &o.failure {
                None => body.push_str("/>\n"),
                Some(_) => {
                    let why = reason(o);
                    let _ = writeln!(
                        body,
                        ">\n      <failure message=\"{}\" type=\"{}\">{} ({} points; {})</failure>\n    </testcase>",
                        xml_text(&why),
                        if o.required { "required" } else { "optional" },
                        xml_text(&why),
                        o.points,
                        xml_text(o.concept)
                    );
                }
            }
        }
        if !output.is_empty() {
            let _ = writeln!(body, "    <system-out>{}</system-out>", xml_text(output));
        }
        body.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{tests}\" failures=\"{failures}\">\n{body}</testsuites>\n"
    )
}
