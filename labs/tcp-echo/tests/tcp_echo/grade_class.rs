//! Grading a class: `grade --roster FILE.csv --jobs N --out DIR` and `grade --server-cmd`
//! against servers the grader starts itself (netlab's own and the broken Python fixtures), and
//! the Gradescope and JUnit reports. Every process a started server leaves is looked for by
//! its process group afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use netlab_testkit::tempdir::TempDir;
use netlab_testkit::{find_program, run_cli, skip};

const BIN: &str = env!("CARGO_BIN_EXE_tcp-echo");

/// The shell command that starts fixture `name` on the grader's port and records its process
/// group (the shell's pid: the grader makes it a group leader) in `pids/STUDENT`.
fn fixture_cmd(dir: &TempDir, student: &str, name: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/broken")
        .join(format!("{name}.py"));
    format!(
        "echo $$ > {}; exec python3 {} {{port}}",
        dir.join(&format!("pids/{student}")).display(),
        script.display()
    )
}

/// The same for netlab's own server; `prefix` runs first (e.g. `trap '' TERM;`).
fn netlab_cmd(dir: &TempDir, student: &str, prefix: &str) -> String {
    format!(
        "echo $$ > {}; {prefix} exec {BIN} serve --port {{port}} --framing raw",
        dir.join(&format!("pids/{student}")).display()
    )
}

/// Whether any process of group `pgid` is still running (`kill -0 -PGID`).
fn group_alive(pgid: &str) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{}", pgid.trim())])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Points per student from gradebook.csv.
fn gradebook_points(csv: &str) -> BTreeMap<String, (u32, u32)> {
    csv.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (
                fields[0].to_string(),
                (fields[1].parse().unwrap(), fields[2].parse().unwrap()),
            )
        })
        .collect()
}

/// Grades one server alone with `--server-cmd` and returns (earned, possible) from its JSON.
fn alone(command: &str) -> (u32, u32) {
    let (_, stdout, stderr) = run_cli(
        BIN,
        &[
            "grade",
            "--framing",
            "raw",
            "--timeout",
            "5",
            "--json",
            "--server-cmd",
            command,
        ],
        b"",
    );
    let json: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    (
        u32::try_from(json["earned"].as_u64().unwrap()).unwrap(),
        u32::try_from(json["possible"].as_u64().unwrap()).unwrap(),
    )
}

/// 24 students, 4 at a time: netlab's servers and broken fixtures get the points they get when
/// graded alone; a server that never starts, one that exits at once and one that ignores
/// SIGTERM are reported; no process of any started server is left (checked by process group);
/// the gradebook, the per-student pages, the summary, Gradescope's results and the JUnit XML
/// are all written and well-formed.
#[test]
fn a_roster_is_graded_four_at_a_time_and_cleaned_up() {
    if find_program("python3").is_none() {
        skip("roster", "python3 is not installed");
        return;
    }
    let dir = TempDir::new("roster");
    std::fs::create_dir_all(dir.join("pids")).unwrap();
    let mut rows = vec!["student,command,workdir".to_string()];
    let mut add = |student: &str, command: String| {
        rows.push(format!("{student},\"{}\",", command.replace('"', "\"\"")));
    };
    for n in 0..12 {
        add(
            &format!("netlab{n:02}"),
            netlab_cmd(&dir, &format!("netlab{n:02}"), ""),
        );
    }
    for fixture in ["first_1024", "no_half_close", "dies_on_disconnect"] {
        for n in 0..3 {
            let student = format!("{fixture}{n}");
            add(&student, fixture_cmd(&dir, &student, fixture));
        }
    }
    add(
        "never_starts",
        format!(
            "echo $$ > {}; sleep 60",
            dir.join("pids/never_starts").display()
        ),
    );
    add(
        "exits_at_once",
        format!(
            "echo $$ > {}; echo bye >&2; exit 3",
            dir.join("pids/exits_at_once").display()
        ),
    );
    add(
        "ignores_sigterm",
        netlab_cmd(&dir, "ignores_sigterm", "trap '' TERM;"),
    );
    let roster = dir.join("class.csv");
    std::fs::write(&roster, rows.join("\n") + "\n").unwrap();
    assert_eq!(rows.len() - 1, 24);

    let out = dir.join("out");
    let junit = dir.join("junit.xml");
    let (code, stdout, stderr) = run_cli(
        BIN,
        &[
            "grade",
            "--framing",
            "raw",
            "--timeout",
            "5",
            "--startup",
            "2",
            "--roster",
            &roster.display().to_string(),
            "--jobs",
            "4",
            "--out",
            &out.display().to_string(),
            "--format",
            "gradescope",
            "--junit",
            &junit.display().to_string(),
        ],
        b"",
    );
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, 0, "{all}");

    // Nothing left running, whatever each server did.
    for entry in std::fs::read_dir(dir.join("pids")).unwrap() {
        let entry = entry.unwrap();
        let pgid = std::fs::read_to_string(entry.path()).unwrap();
        assert!(
            !group_alive(&pgid),
            "{:?}'s group {pgid} is still running",
            entry.file_name()
        );
    }
    assert_eq!(std::fs::read_dir(dir.join("pids")).unwrap().count(), 24);

    // The gradebook: one row per student, points as when graded alone.
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert!(
        csv.starts_with("student,points,max,echo,one-byte writes,"),
        "{csv}"
    );
    let points = gradebook_points(&csv);
    assert_eq!(points.len(), 24, "{csv}");
    let netlab = alone(&format!("exec {BIN} serve --port {{port}} --framing raw"));
    assert_eq!(netlab.0, netlab.1);
    for n in 0..12 {
        assert_eq!(points[&format!("netlab{n:02}")], netlab, "{csv}");
    }
    assert_eq!(points["ignores_sigterm"], netlab, "{csv}");
    for fixture in ["first_1024", "no_half_close", "dies_on_disconnect"] {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/broken/{fixture}.py"));
        let graded = alone(&format!("exec python3 {} {{port}}", script.display()));
        assert!(graded.0 < graded.1, "{fixture} {graded:?}");
        for n in 0..3 {
            assert_eq!(points[&format!("{fixture}{n}")], graded, "{fixture}: {csv}");
        }
    }
    assert_eq!(points["never_starts"], (0, netlab.1), "{csv}");
    assert_eq!(points["exits_at_once"], (0, netlab.1), "{csv}");

    // The pages say why, with the server's output when it did not start.
    let page = std::fs::read_to_string(out.join("exits_at_once.md")).unwrap();
    assert!(
        page.contains("the server exited (exit status: 3) before its port was open"),
        "{page}"
    );
    assert!(
        page.contains("## The server's output\n\n```text\nbye\n```"),
        "{page}"
    );
    let page = std::fs::read_to_string(out.join("never_starts.md")).unwrap();
    assert!(
        page.contains("the port was still closed after 2 s"),
        "{page}"
    );
    let page = std::fs::read_to_string(out.join("first_10240.md")).unwrap();
    assert!(page.contains("| 1 MiB stream | 0/2 | FAIL |"), "{page}");

    // The summary: the distribution and the checks failed most.
    assert!(stdout.contains("Graded 24 students in "), "{all}");
    assert!(
        stdout.contains(": 13 passed every required check."),
        "{all}"
    );
    assert!(
        stdout.contains("Checks failed most (what to teach again):\n     3  1 MiB stream\n"),
        "{all}"
    );
    // Progress goes to stderr, so the summary can be redirected alone.
    assert!(
        stderr.contains("graded ") && stderr.contains("(24/24)"),
        "{all}"
    );
    assert!(!stdout.contains("graded "), "progress on stdout: {stdout}");

    // Gradescope's fields, for a student who passed and one whose server never started.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("netlab00.results.json")).unwrap())
            .unwrap();
    assert_gradescope_schema(&results);
    assert_eq!(results["score"], netlab.0);
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("exits_at_once.results.json")).unwrap(),
    )
    .unwrap();
    assert_gradescope_schema(&results);
    assert!(
        results["output"].as_str().unwrap().contains("bye"),
        "{results}"
    );

    // JUnit: parsed by a real XML parser; one suite per student, a failure per failed check.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let suites: Vec<_> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 24);
    let first_1024 = suites
        .iter()
        .find(|s| s.attribute("name") == Some("first_10240"))
        .unwrap();
    let failure = first_1024
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .starts_with("expected 1048576 bytes back"),
        "{xml}"
    );
}

/// results.json holds Gradescope's documented fields, with their types: a numeric `score`, an
/// `output` string, and `tests` each with `name`, `score`, `max_score`, `output` and a
/// `visibility` Gradescope knows.
fn assert_gradescope_schema(results: &serde_json::Value) {
    assert!(results["score"].is_number(), "{results}");
    assert!(results["output"].is_string(), "{results}");
    let tests = results["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for test in tests {
        assert!(test["name"].is_string(), "{test}");
        assert!(
            test["score"].is_number() && test["max_score"].is_number(),
            "{test}"
        );
        assert!(
            test["score"].as_f64() <= test["max_score"].as_f64(),
            "{test}"
        );
        assert!(test["output"].is_string(), "{test}");
        let visibility = test["visibility"].as_str().unwrap();
        assert!(
            ["hidden", "after_due_date", "after_published", "visible"].contains(&visibility),
            "{test}"
        );
    }
}

/// A server that accepts every connection and never answers would hold the grader for every
/// check's timeout in turn; `--student-timeout` stops it at the deadline and the rubric says
/// so in a line of its own, worth no points.
#[cfg(unix)]
#[test]
fn a_server_that_never_answers_is_stopped_at_the_student_timeout() {
    if find_program("python3").is_none() {
        skip(
            "a_server_that_never_answers_is_stopped_at_the_student_timeout",
            "python3 is not installed",
        );
        return;
    }
    let silent = "python3 -c 'import socket,sys\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind((\"127.0.0.1\",int(sys.argv[1])))\ns.listen()\nheld=[]\nwhile True: held.append(s.accept())' {port}";
    let (_, stdout, stderr) = run_cli(
        BIN,
        &[
            "grade",
            "--framing",
            "raw",
            "--timeout",
            "4",
            "--student-timeout",
            "1",
            "--json",
            "--server-cmd",
            silent,
        ],
        b"",
    );
    let json: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let checks = json["checks"].as_array().unwrap();
    let deadline = checks
        .iter()
        .find(|check| check["name"] == "within the time limit")
        .unwrap_or_else(|| panic!("no deadline line: {stdout}"));
    assert_eq!(deadline["passed"], false);
    assert_eq!(deadline["points"], 0);
    assert!(
        deadline["got"]
            .as_str()
            .unwrap()
            .contains("stopped the server after 1 s"),
        "{deadline}"
    );
}
