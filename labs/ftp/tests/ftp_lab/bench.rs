//! `ftp-lab bench` on real loopback sockets, with a 1 MiB file so it takes well under a second:
//! the JSON lines a script reads, the table a person reads, the scratch directory gone
//! afterwards, and damaged bytes reported as an error rather than as a fast result; the same
//! over TLS (`--tls`). Also `--block-size` on `get` and `put`.

use std::path::Path;
use std::process::Command;

use crate::util::{BIN, PASSWORD, ServerProcess, TempDir, USER, World, pattern, run_cli};
use ftp_lab::bench::{Direction, Lab, Undo};
use netlab_testkit::bench::{assert_cleaned_up, assert_rate, run_bench};
use regex::Regex;

const MIB: u64 = 1 << 20;

/// `--json`: one well-formed line per (direction, block size), in order, with the file's
/// byte count, the rounds, and a rate that is the bytes over the seconds (seconds to at most
/// six decimals: serde_json writes 0.01863 for 0.018630); nothing else on standard output.
#[test]
fn json_lines_for_each_direction_and_block_size() {
    let tmp = TempDir::new("bench-json");
    let (code, out, err) = run_bench(
        BIN,
        tmp.path(),
        &[
            "--file-size",
            "1M",
            "--block-size",
            "4K,64K",
            "--rounds",
            "2",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let shape = Regex::new(
        r#"^\{"lab":"ftp","direction":"(retr|stor)","block_size":(\d+),"bytes":(\d+),"seconds":(\d+\.\d{1,6}),"mib_per_s":(\d+\.\d),"rounds":(\d+)\}$"#,
    )
    .unwrap();
    let mut seen = Vec::new();
    for line in out.lines() {
        let fields = shape
            .captures(line)
            .unwrap_or_else(|| panic!("not a bench JSON line: {line:?}\nall:\n{out}"));
        let number = |at: usize| fields[at].parse::<f64>().unwrap();
        assert_eq!(number(3), MIB as f64, "{line}");
        assert_eq!(number(6), 2.0, "{line}");
        let (seconds, rate) = (number(4), number(5));
        assert_rate(line, 1.0, seconds, rate);
        seen.push((fields[1].to_string(), number(2) as usize));
    }
    let expected: Vec<(String, usize)> = [("retr", 4096), ("retr", 65536), ("stor", 4096)]
        .into_iter()
        .chain([("stor", 65536)])
        .map(|(direction, size)| (direction.to_string(), size))
        .collect();
    assert_eq!(seen, expected, "{out}");
    assert_cleaned_up(tmp.path());
}

/// Without `--json`: a Markdown table with a row per direction and block size, and a closing
/// line saying every transfer was checked.
#[test]
fn table_for_people() {
    let tmp = TempDir::new("bench-table");
    let (code, out, err) = run_bench(
        BIN,
        tmp.path(),
        &[
            "--file-size",
            "1M",
            "--block-size",
            "16K,1M",
            "--rounds",
            "1",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let rows: Vec<&str> = out.lines().filter(|line| line.starts_with("| ")).collect();
    assert_eq!(rows.len(), 5, "{out}");
    assert!(rows[0].starts_with("| direction | block size | MiB/s (median) |"));
    for (row, start) in rows[1..].iter().zip([
        "| RETR | 16 KiB | ",
        "| RETR | 1 MiB | ",
        "| STOR | 16 KiB | ",
        "| STOR | 1 MiB | ",
    ]) {
        assert!(
            row.starts_with(start),
            "{row:?} should start with {start:?}"
        );
    }
    assert!(
        out.contains("[SUCCESS] 4 transfers of 1 MiB, each checked"),
        "{out}"
    );
    assert!(
        out.contains("RETR: the server sends"),
        "the RETR caveat is shown: {out}"
    );
    assert_cleaned_up(tmp.path());
}

/// A damaged source: a flipped byte makes both directions fail on the SHA-256, a cut file on
/// the byte count; the scratch directory goes away with the lab.
#[test]
fn wrong_bytes_are_an_error() {
    let mut lab = Lab::start(Path::new(BIN), MIB, false, &Undo::default()).unwrap();
    lab.transfer(Direction::Retr, 4096, "intact").unwrap();
    let bytes = flip_byte(&lab, 12345, 0x01);
    for direction in [Direction::Retr, Direction::Stor] {
        assert_caught_by_sha256(&mut lab, direction);
    }
    std::fs::write(lab.source(), &bytes[..300_000]).unwrap();
    let err = lab
        .transfer(Direction::Retr, 65536, "cut short")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the client moved 300000 bytes; the test file has 1048576"),
        "{err}"
    );
    let scratch = lab.scratch_dir().to_path_buf();
    drop(lab);
    assert!(!scratch.exists(), "{} is left behind", scratch.display());
}

/// `--tls`: every JSON line is the clear shape plus a last field `"tls":true`, the table's rows
/// say `over TLS`, and each transfer passed the bench's own check (byte count, size and
/// SHA-256 of the copy), against a server that refuses clear transfers (`--require-tls`).
#[test]
fn tls_runs_say_so_and_move_every_byte() {
    let tmp = TempDir::new("bench-tls");
    let (code, out, err) = run_bench(
        BIN,
        tmp.path(),
        &[
            "--tls",
            "--file-size",
            "1M",
            "--block-size",
            "4K,64K",
            "--rounds",
            "1",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let shape = Regex::new(
        r#"^\{"lab":"ftp","direction":"(retr|stor)","block_size":(\d+),"bytes":1048576,"seconds":[0-9.]+,"mib_per_s":[0-9.]+,"rounds":1,"tls":true\}$"#,
    )
    .unwrap();
    let seen: Vec<(String, String)> = out
        .lines()
        .map(|line| {
            let fields = shape
                .captures(line)
                .unwrap_or_else(|| panic!("not a TLS bench JSON line: {line:?}\nall:\n{out}"));
            (fields[1].to_string(), fields[2].to_string())
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("retr", "4096"),
            ("retr", "65536"),
            ("stor", "4096"),
            ("stor", "65536")
        ]
        .map(|(direction, size)| (direction.to_string(), size.to_string())),
        "{out}"
    );
    let (code, out, err) = run_bench(
        BIN,
        tmp.path(),
        &[
            "--tls",
            "--file-size",
            "1M",
            "--block-size",
            "16K",
            "--rounds",
            "1",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let rows: Vec<&str> = out.lines().filter(|line| line.starts_with("| ")).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows[1].starts_with("| RETR over TLS | 16 KiB | "), "{out}");
    assert!(rows[2].starts_with("| STOR over TLS | 16 KiB | "), "{out}");
    assert!(
        out.contains("[INFO] over TLS: AUTH TLS, then PBSZ 0 and PROT P"),
        "{out}"
    );
    assert!(
        out.contains("[SUCCESS] 2 transfers of 1 MiB, each checked"),
        "{out}"
    );
    assert_cleaned_up(tmp.path());
}

/// A lab started with TLS is protected, moves the file both ways, and still catches a flipped
/// byte by its SHA-256: the check does not rely on TLS.
#[test]
fn tls_lab_checks_every_byte() {
    let mut lab = Lab::start(Path::new(BIN), MIB, true, &Undo::default()).unwrap();
    assert!(lab.is_protected());
    lab.transfer(Direction::Retr, 4096, "over TLS").unwrap();
    lab.transfer(Direction::Stor, 65536, "over TLS").unwrap();
    flip_byte(&lab, 4321, 0x80);
    assert_caught_by_sha256(&mut lab, Direction::Retr);
}

/// Flips the bits of `mask` in byte `at` of the lab's test file; returns the damaged bytes.
fn flip_byte(lab: &Lab, at: usize, mask: u8) -> Vec<u8> {
    let mut bytes = std::fs::read(lab.source()).unwrap();
    bytes[at] ^= mask;
    std::fs::write(lab.source(), &bytes).unwrap();
    bytes
}

/// A transfer of the damaged file fails on the bench's SHA-256 check.
fn assert_caught_by_sha256(lab: &mut Lab, direction: Direction) {
    let err = lab
        .transfer(direction, 65536, "one byte flipped")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wrong bytes") && err.contains("SHA-256"),
        "{err}"
    );
}

/// Nonsense flags are refused before anything starts.
#[test]
fn bad_sizes_are_refused() {
    let tmp = TempDir::new("bench-flags");
    for args in [
        &["--block-size", "0"][..],
        &["--block-size", "4K,lots"],
        &["--file-size", "-1"],
    ] {
        let (code, _, err) = run_bench(BIN, tmp.path(), args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    assert_cleaned_up(tmp.path());
}

/// `get` and `put` with tiny blocks move the same bytes as with the default.
#[test]
fn get_and_put_take_a_block_size() {
    let world = World::start(&[]);
    let content = pattern(100_000);
    std::fs::write(world.root().join("data.bin"), &content).unwrap();
    let local = TempDir::new("bench-block");
    let copy = local.join("copy.bin");
    let url = format!("ftp://{USER}:{PASSWORD}@{}/", world.addr());
    let (code, out, err) = run_cli(
        BIN,
        &[
            "get",
            &format!("{url}data.bin"),
            "-o",
            copy.to_str().unwrap(),
            "--block-size",
            "1000",
        ],
        b"",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(std::fs::read(&copy).unwrap() == content);
    let (code, out, err) = run_cli(
        BIN,
        &[
            "put",
            copy.to_str().unwrap(),
            &format!("{url}again.bin"),
            "--block-size",
            "3",
        ],
        b"",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(std::fs::read(world.root().join("again.bin")).unwrap() == content);
}

/// Ctrl-C (SIGINT) in the middle of a transfer: the bench stops its server and deletes its
/// scratch directory before it exits with 130. (1-byte blocks keep the first download going
/// for much longer than the test waits.)
#[cfg(unix)]
#[test]
fn ctrl_c_cleans_up() {
    let tmp = TempDir::new("bench-ctrl-c");
    let command = format!(
        "TMPDIR='{}' exec '{BIN}' bench --file-size 4M --block-size 1 --rounds 1",
        tmp.path().display()
    );
    let mut bench = ServerProcess::interactive("sh", &["-c", &command]);
    let first = bench.wait_for(|line| line.contains("against ftp-lab serve on "));
    let server = first.rsplit(' ').next().unwrap().to_string();
    bench.wait_for(|line| line.starts_with("|---"));
    let signal = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", bench.pid())])
        .status()
        .unwrap();
    assert!(signal.success());
    assert_eq!(bench.wait_exit(), 130, "{:#?}", bench.seen);
    assert_cleaned_up(tmp.path());
    assert!(
        std::net::TcpStream::connect(&server).is_err(),
        "the server on {server} outlived the bench"
    );
}

/// `serve --stop-on-stdin-eof` (what the bench starts) exits when its standard input closes,
/// as it does when the bench exits in any way.
#[test]
fn server_stops_when_its_parent_goes() {
    let root = TempDir::new("bench-stdin");
    let mut server = ServerProcess::interactive(
        BIN,
        &[
            "serve",
            "--root",
            root.path().to_str().unwrap(),
            "--port",
            "0",
            "--stop-on-stdin-eof",
        ],
    );
    server.wait_for(|line| line.starts_with("listening on "));
    server.close_stdin();
    assert_eq!(server.wait_exit(), 0, "{:#?}", server.seen);
    assert!(
        server
            .seen
            .iter()
            .any(|line| line.contains("standard input closed: stopping")),
        "{:#?}",
        server.seen
    );
}

/// A reader that stops reading (`ftp-lab bench --json | head -0`): the bench ends quietly with
/// status 0 (no panic), and its server and scratch directory are gone.
#[test]
fn closed_output_ends_the_bench_quietly() {
    let tmp = TempDir::new("bench-closed-output");
    let mut bench = Command::new(BIN)
        .args([
            "bench",
            "--file-size",
            "1M",
            "--block-size",
            "4K",
            "--rounds",
            "1",
        ])
        .arg("--json")
        .env("TMPDIR", tmp.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(bench.stdout.take()); // the reader is gone before the first line
    let output = bench.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_cleaned_up(tmp.path());
}
