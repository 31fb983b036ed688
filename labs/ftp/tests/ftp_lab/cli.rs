//! What the command line does with a user's mistakes and with `--idle-timeout`: flags that
//! cannot work together exit with status 2 (as clap's own errors do) and never call themselves a
//! "protocol error" (nor does a server's correct refusal: see
//! `client::refused_download_leaves_no_file`); and `--idle-timeout 0` means "never", not "at
//! once".

use crate::util::{BIN, TempDir, World, run_cli};

/// Runs `ftp-lab ARGS` and returns its exit status and standard error.
fn ftp_lab(args: &[&str]) -> (i32, String) {
    let (code, _, err) = run_cli(BIN, args, b"");
    (code, err)
}

/// `serve` with accounts nobody could use is a usage error (exit 2): `--no-anonymous` alone, a
/// `--user` without a colon, and a `--users` file with a bad line. A `--users` file that cannot
/// be read is an I/O error (exit 1).
#[test]
fn serve_account_mistakes_are_usage_errors() {
    let dir = TempDir::new("cli-accounts");
    let root = dir.path().to_str().unwrap();
    let bad_file = dir.join("bad-users");
    std::fs::write(&bad_file, "# accounts\nalice:pw\nbob\n").unwrap();
    let bad_file = bad_file.to_str().unwrap();
    let missing = dir.join("no-such-file");
    let missing = missing.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["--no-anonymous"],
            2,
            "[ERROR] --no-anonymous without --user or --users: nobody could log in",
        ),
        (
            &["--user", "alice"],
            2,
            "[ERROR] --user alice: expected NAME:PASSWORD",
        ),
        (
            &["--user", "anonymous:x"],
            2,
            "is the anonymous login; use --no-anonymous",
        ),
        (
            &["--users", bad_file],
            2,
            "bad-users line 3: expected NAME:PASSWORD",
        ),
        (&["--users", missing], 1, "[ERROR] reading the users file"),
    ];
    for (flags, status, message) in cases {
        let mut args = vec!["serve", "--root", root, "--port", "0"];
        args.extend(flags);
        let (code, err) = ftp_lab(&args);
        assert_eq!(code, status, "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
        assert!(!err.contains("protocol error"), "{flags:?}: {err}");
    }
}

/// A malformed URL, or one with no file name to save under, is the user's mistake (exit 2).
#[test]
fn client_usage_mistakes_exit_2() {
    for (args, message) in [
        (
            ["get", "http://127.0.0.1/x"],
            "[ERROR] bad URL `http://127.0.0.1/x`: it must start with ftp://",
        ),
        (
            ["get", "ftp://127.0.0.1:1/%zz"],
            "[ERROR] bad %-escape in `%zz`",
        ),
        (
            ["get", "ftp://127.0.0.1:1/docs/"],
            "[ERROR] cannot name the local file after `docs/`; use -o FILE",
        ),
    ] {
        let (code, err) = ftp_lab(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

/// `--idle-timeout 0` is accepted and means no timeout: sessions are served (a zero read
/// timeout would be refused by the operating system and end every session at once).
#[test]
fn idle_timeout_zero_means_never() {
    let world = World::start(&["--idle-timeout", "0"]);
    let mut ftp = world.anonymous();
    ftp.expect("NOOP", 200);
    ftp.listing("LIST");
}
