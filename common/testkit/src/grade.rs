//! # Testing a grader: run `LAB grade --json`, start the broken servers it must catch
//!
//! Every lab's `tests/grade.rs` makes the same two claims: netlab's own server earns full marks,
//! and each deliberately broken server in `tests/fixtures/broken/` (a small Python program,
//! wrong in one way students often are) fails *exactly* the checks aimed at its defect, with a
//! reason a student can act on. These helpers run the grader and read its JSON rubric, start a
//! fixture (skipping visibly without python3), and assert both claims with messages that show
//! the whole rubric when they fail.

use std::path::Path;

use crate::{ServerProcess, find_program, run_cli, skip};

/// What a grader run said.
#[derive(Debug)]
pub struct Graded {
    /// The grader's exit status (0: every required check passed).
    pub code: i32,
    /// The names of all checks, in rubric order.
    pub checks: Vec<String>,
    /// The names of the checks that failed, in rubric order.
    pub failed: Vec<String>,
    /// Everything it printed, for assertion messages and reason texts.
    pub output: String,
}

impl Graded {
    /// Asserts a full pass: exit 0 and no failed check.
    pub fn assert_full_marks(&self, what: &str) {
        assert_eq!(
            (self.code, self.failed.len()),
            (0, 0),
            "{what}: {}",
            self.output
        );
        assert!(
            self.output.contains("\"passed\":true,\"checks\""),
            "{what}: {}",
            self.output
        );
    }

    /// Asserts exit 1, exactly the checks `expected` failed (in rubric order), and each of
    /// `reasons` appears in the output.
    pub fn assert_fails_exactly(&self, what: &str, expected: &[&str], reasons: &[&str]) {
        assert_eq!(self.code, 1, "{what}: {}", self.output);
        assert_eq!(self.failed, expected, "{what}: {}", self.output);
        for reason in reasons {
            assert!(
                self.output.contains(reason),
                "{what}: no {reason:?} in {}",
                self.output
            );
        }
    }
}

/// Runs `BIN grade ADDR --json ARGS...` and reads the rubric.
pub fn grade(bin: &str, addr: &str, args: &[&str]) -> Graded {
    let mut all = vec!["grade", addr, "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run_cli(bin, &all, b"");
    Graded {
        code,
        checks: check_names(&stdout, false),
        failed: check_names(&stdout, true),
        output: format!("{stdout}{stderr}"),
    }
}

/// The names of the checks in a JSON rubric, or only of the failed ones (each check is an
/// object starting with `{"name":"...` and holding `"passed":false` when it failed).
pub fn check_names(json: &str, only_failed: bool) -> Vec<String> {
    json.split("{\"name\":")
        .skip(1)
        .filter(|check| !only_failed || check.contains("\"passed\":false"))
        .filter_map(|check| check.split('"').nth(1).map(str::to_string))
        .collect()
}

/// Starts `MANIFEST_DIR/tests/fixtures/broken/NAME.py PORT_0 ARGS...` (the fixture prints
/// `listening on 127.0.0.1:PORT` like the labs do), or returns `None` after a visible skip when
/// python3 is missing.
pub fn broken_fixture(manifest_dir: &str, name: &str, args: &[&str]) -> Option<ServerProcess> {
    let Some(python) = find_program("python3") else {
        skip(name, "python3 is not installed (apt-get install python3)");
        return None;
    };
    let script = Path::new(manifest_dir)
        .join("tests/fixtures/broken")
        .join(format!("{name}.py"));
    let python = python.to_string_lossy().into_owned();
    let script = script.to_string_lossy().into_owned();
    let mut all = vec![script.as_str(), "0"];
    all.extend_from_slice(args);
    Some(ServerProcess::start(&python, &all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_are_read_from_the_rubric() {
        let json = r#"{"subject":"x","earned":1,"possible":3,"passed":false,"checks":[{"name":"echo","points":1,"earned":1,"passed":true},{"name":"half-close","points":2,"earned":0,"passed":false}]}"#;
        assert_eq!(check_names(json, true), ["half-close"]);
        assert_eq!(check_names(json, false), ["echo", "half-close"]);
    }
}
