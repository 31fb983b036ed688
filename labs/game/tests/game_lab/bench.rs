//! `game-lab bench` over real sockets: the bots play whole games against either engine, and the
//! bench reports what the server cost (its threads and peak memory) when it can see the server's
//! process, because it started the server itself or was given its process id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use netlab_testkit::run_cli;
use serde_json::Value;

use crate::util::{BIN, ENGINES, start};

/// Runs `game-lab bench ARGS --json` and returns its report, after checking that it succeeded.
fn bench(args: &[&str]) -> Value {
    let all = [&["bench"], args, &["--json"]].concat();
    let (code, stdout, stderr) = run_cli(BIN, &all, b"");
    assert_eq!(code, 0, "{stdout}{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

/// `--start-server ENGINE` runs the bots against a server of that engine started for the run:
/// every game finishes, and the report has a p999 and the server's cost, a thread per player
/// and more for `threads`, a handful for `mio`.
#[test]
fn bench_starts_the_server_and_reports_its_threads_and_memory() {
    for engine in ENGINES {
        let report = bench(&["--start-server", engine, "--players", "40", "--games", "1"]);
        assert_eq!(report["games_finished"], 20, "{engine}: {report}");
        assert_eq!(report["errors"], 0, "{engine}: {report}");
        assert!(
            report["p999_us"].as_u64().unwrap() >= report["p99_us"].as_u64().unwrap(),
            "{engine}: {report}"
        );
        if !cfg!(target_os = "linux") {
            continue; // /proc/PID/status is Linux's
        }
        let threads = report["server_threads"].as_u64().unwrap();
        match engine {
            "threads" => assert!(threads >= 80, "two threads per player: {report}"),
            _ => assert!(threads <= 4, "one loop, not a thread per player: {report}"),
        }
        assert!(
            report["server_peak_rss_kib"].as_u64().unwrap() > 0,
            "{report}"
        );
    }
}

/// `--server-pid PID` reports the cost of a server the bench did not start; without it the
/// cost is unknown (null), not zero.
#[test]
fn bench_reports_the_cost_of_a_server_given_by_its_pid() {
    let server = start("mio", &["--max-players", "100"]);
    let addr = server.addr.to_string();
    let report = bench(&[&addr, "--players", "10", "--games", "1"]);
    assert_eq!(report["server_threads"], Value::Null, "{report}");
    if !cfg!(target_os = "linux") {
        return;
    }
    let pid = server.pid().to_string();
    let report = bench(&[
        &addr,
        "--server-pid",
        &pid,
        "--players",
        "10",
        "--games",
        "1",
    ]);
    assert!(report["server_threads"].as_u64().unwrap() >= 1, "{report}");
    assert!(
        report["server_peak_rss_kib"].as_u64().unwrap() > 0,
        "{report}"
    );
}
