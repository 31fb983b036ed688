//! The command line is part of the interface: help names every mode and the walkthrough, and
//! misuse is refused with clap's message and exit code 2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::BIN;

fn run(args: &[&str]) -> (i32, String, String) {
    crate::util::run_cli(BIN, args, b"")
}

/// `--help` lists the three modes and points at the walkthrough.
#[test]
fn help_lists_every_mode() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "pair    Turn-based chat for two",
        "duplex  Full-duplex chat for two",
        "room    A chat room for many",
        "See docs/tcp-chat.md",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    let (_, out, _) = run(&["room", "serve", "--help"]);
    for flag in [
        "--bind",
        "--port",
        "--max-clients",
        "--trace",
        "--files",
        "--read-only",
        "--max-upload",
        "--session-log",
        "--idle-timeout",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
}

/// A side must be chosen, and only one; the download directory must exist.
#[test]
fn misuse_is_refused() {
    let (code, _, err) = run(&["pair"]);
    assert_eq!(code, 2);
    assert!(err.contains("--listen"), "{err}");
    let (code, _, _) = run(&["duplex", "--listen", "--connect", "127.0.0.1:1"]);
    assert_eq!(code, 2);
    let (code, _, err) = run(&[
        "duplex",
        "--listen",
        "--port",
        "0",
        "--download-dir",
        "/no/such/dir",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("[ERROR] using /no/such/dir as the download directory: "),
        "{err}"
    );
}

/// A download directory that is a file is the user's flag mistake: refused before anything
/// listens, with exit code 2 (a usage error, like clap's), not as a protocol error.
#[test]
fn download_dir_that_is_a_file_is_a_usage_error() {
    let dir = crate::util::TempDir::new("chat-cli-file-dir");
    let file = dir.join("plain.txt");
    std::fs::write(&file, b"not a directory").unwrap();
    let file = file.to_string_lossy().into_owned();
    let (code, out, err) = run(&["duplex", "--listen", "--port", "0", "--download-dir", &file]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("is not a directory"), "{err}");
    assert!(!out.contains("listening on"), "{out}");
}
