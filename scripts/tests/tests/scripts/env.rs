//! `scripts/env`, sourced as the course guide says, puts this checkout's `target/release` first
//! on PATH (once, however often it is sourced), from the checkout and, with bash, from anywhere.

#![allow(clippy::expect_used)]

use std::process::Command;

use netlab_testkit::docs::workspace_root;

/// Sources scripts/env with `shell` (in `dir`, given `source` as its path) and returns the PATH
/// it leaves, one directory per entry.
fn path_after(shell: &str, dir: &std::path::Path, source: &str) -> Vec<String> {
    let script = format!(". {source}; . {source}; printf %s \"$PATH\"");
    let output = Command::new(shell)
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run the shell");
    String::from_utf8_lossy(&output.stdout)
        .split(':')
        .map(str::to_string)
        .collect()
}

/// From the checkout (sh and bash) and from elsewhere (bash): target/release comes first, once.
#[cfg(unix)]
#[test]
fn sourcing_env_puts_the_programs_first_on_path_once() {
    let root = workspace_root()
        .canonicalize()
        .unwrap_or_else(|_| workspace_root());
    let release = root.join("target/release").display().to_string();
    for shell in ["sh", "bash"] {
        if netlab_testkit::find_program(shell).is_none() {
            netlab_testkit::skip("sourcing_env", &format!("{shell} is not installed"));
            continue;
        }
        let path = path_after(shell, &root, "scripts/env");
        assert_eq!(path.first(), Some(&release), "{shell}: {path:?}");
        assert_eq!(
            path.iter().filter(|dir| **dir == release).count(),
            1,
            "{shell}: {path:?}"
        );
    }
    if netlab_testkit::find_program("bash").is_some() {
        let elsewhere = std::env::temp_dir();
        let source = root.join("scripts/env").display().to_string();
        let path = path_after("bash", &elsewhere, &source);
        assert_eq!(
            path.first(),
            Some(&release),
            "bash from elsewhere: {path:?}"
        );
    }
}
