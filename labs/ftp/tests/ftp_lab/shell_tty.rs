//! `ftp-lab connect` in a real terminal (tmux, 120x40), as a person uses it: the status row,
//! history, Tab completion, a download's bar and its summary line, and Ctrl-C cancelling a
//! download. Every wait is on what the screen shows; skipped visibly where tmux is missing.
//!
//! Transfers over loopback are too fast to watch, so the shell runs with `--block-size 64`:
//! a read (and a write to the local file) per 64 bytes makes a download of tens of MiB last
//! seconds, and a Ctrl-C sent once the bar shows certainly arrives while bytes still move.

use std::path::Path;

use netlab_testkit::tmux::Tmux;

use crate::util::{BIN, PASSWORD, TempDir, USER, World};

/// Columns and rows of the terminal.
const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

/// Starts `ftp-lab connect` against `world` in `dir`, logged in as the writer, and waits for
/// its greeting.
fn shell(test: &str, world: &World, dir: &Path) -> Option<(Tmux, String)> {
    let mut tmux = Tmux::start(test, WIDTH, HEIGHT)?;
    let addr = world.addr().to_string();
    let args = [
        "connect",
        &addr,
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--block-size",
        "64",
    ];
    let window = tmux.run(dir, Path::new(BIN), &args);
    tmux.wait_for_text(&window, "type help");
    Some((tmux, window))
}

/// A file of `bytes` zero bytes at `path`, made sparse (no disk is written for it).
fn zero_file(path: &Path, bytes: u64) {
    let file = std::fs::File::create(path).unwrap();
    file.set_len(bytes).unwrap();
}

/// The rows showing a transfer bar for `name`.
fn bar_rows<'a>(screen: &'a [String], name: &str) -> Vec<&'a String> {
    let start = format!("{name} [");
    screen
        .iter()
        .filter(|row| row.starts_with(&start))
        .collect()
}

/// The input line: the last row with something on it.
fn input_row(screen: &[String]) -> String {
    screen
        .iter()
        .rev()
        .find(|row| !row.is_empty())
        .cloned()
        .unwrap_or_default()
}

/// The status row names server, user, directory and mode, and follows `cd`; Up recalls the
/// previous command into the input line.
#[test]
fn status_follows_cd_and_up_recalls_the_last_command() {
    let world = World::start(&[]);
    let local = TempDir::new("tty-status");
    let Some((tmux, window)) = shell("status_follows_cd", &world, &local.0) else {
        return;
    };
    let status = format!(
        "ftp {} | user {USER} | directory / | passive mode",
        world.addr()
    );
    tmux.wait_for_text(&window, &status);
    tmux.type_text(&window, "cd docs");
    tmux.key(&window, "Enter");
    let moved = status.replace("directory /", "directory /docs");
    let screen = tmux.wait_for_text(&window, &moved);
    assert!(
        !screen.iter().any(|row| row == &status),
        "the old directory is still shown: {screen:#?}"
    );
    tmux.key(&window, "Up");
    let screen = tmux.wait_for(&window, "the recalled command", |screen| {
        input_row(screen) == "ftp> cd docs"
    });
    // Recalled, not run again: the reply to the `cd` is on screen once.
    let replies = screen
        .iter()
        .filter(|row| row.contains("Directory changed"))
        .count();
    assert_eq!(replies, 1, "{screen:#?}");
}

/// Tab completes `pu` to `put ` and then a local file name; Enter uploads it.
#[test]
fn tab_completes_put_and_a_local_file() {
    let world = World::start(&[]);
    let local = TempDir::new("tty-tab");
    std::fs::write(local.join("report.txt"), b"quarterly\n").unwrap();
    let Some((tmux, window)) = shell("tab_completes_put", &world, &local.0) else {
        return;
    };
    tmux.type_text(&window, "pu");
    tmux.key(&window, "Tab");
    tmux.wait_for(&window, "`put` completed", |screen| {
        input_row(screen) == "ftp> put"
    });
    // The completed command ends with a space (trimmed from the screen; the cursor shows it).
    assert_eq!(tmux.cursor(&window).1, "ftp> put ".len());
    tmux.type_text(&window, "rep");
    tmux.key(&window, "Tab");
    tmux.wait_for(&window, "the file name completed", |screen| {
        input_row(screen) == "ftp> put report.txt"
    });
    tmux.key(&window, "Enter");
    tmux.wait_for_text(&window, "[SUCCESS] report.txt -> report.txt:");
    assert_eq!(
        std::fs::read(world.root().join("report.txt")).unwrap(),
        b"quarterly\n"
    );
}

/// A download's bar is one row that updates in place, and the finished download leaves one
/// summary line and no bar; the file arrives whole under its name, with no `.part` left.
#[test]
fn download_bar_updates_in_place_then_leaves_one_summary() {
    let world = World::start(&[]);
    let size = 64 << 20;
    zero_file(&world.root().join("big.bin"), size);
    let local = TempDir::new("tty-bar");
    let Some((tmux, window)) = shell("download_bar", &world, &local.0) else {
        return;
    };
    tmux.type_text(&window, "get big.bin");
    tmux.key(&window, "Enter");
    let first = tmux.wait_for(&window, "the bar", |screen| {
        !bar_rows(screen, "big.bin").is_empty()
    });
    let first_bar = bar_rows(&first, "big.bin")[0].clone();
    let later = tmux.wait_for(&window, "the bar to move", |screen| {
        let bars = bar_rows(screen, "big.bin");
        bars.len() == 1 && *bars[0] != first_bar
    });
    // In place: the bar's row is the same row, never a second one.
    let row_of = |screen: &[String]| screen.iter().position(|row| row.starts_with("big.bin ["));
    assert_eq!(row_of(&first), row_of(&later), "{first:#?}\n{later:#?}");
    assert_eq!(bar_rows(&first, "big.bin").len(), 1, "{first:#?}");
    let done = tmux.wait_for_text(&window, "[SUCCESS] big.bin -> big.bin: 64 MiB in");
    assert!(bar_rows(&done, "big.bin").is_empty(), "{done:#?}");
    let summaries = done.iter().filter(|row| row.contains("big.bin ->")).count();
    assert_eq!(summaries, 1, "{done:#?}");
    assert_eq!(
        std::fs::metadata(local.join("big.bin")).unwrap().len(),
        size
    );
    assert!(!local.join("big.bin.part").exists());
}

/// Ctrl-C during a `get` cancels it with ABOR (the server says so), prints one line, leaves
/// no file under the final name, and the shell goes on: `pwd` still answers.
#[test]
fn ctrl_c_cancels_a_download_and_the_shell_goes_on() {
    let mut world = World::start(&[]);
    zero_file(&world.root().join("docs/big.bin"), 200 << 20);
    let local = TempDir::new("tty-cancel");
    let Some((tmux, window)) = shell("ctrl_c_cancels", &world, &local.0) else {
        return;
    };
    tmux.type_text(&window, "cd docs");
    tmux.key(&window, "Enter");
    tmux.wait_for_text(&window, "| directory /docs |");
    tmux.type_text(&window, "get big.bin");
    tmux.key(&window, "Enter");
    tmux.wait_for(&window, "the bar", |screen| {
        !bar_rows(screen, "big.bin").is_empty()
    });
    tmux.key(&window, "C-c");
    let screen = tmux.wait_for_text(&window, "[WARN] get big.bin cancelled after ");
    let cancelled: Vec<&String> = screen
        .iter()
        .filter(|row| row.contains("cancelled after"))
        .collect();
    assert_eq!(cancelled.len(), 1, "{screen:#?}");
    assert!(
        cancelled[0].contains("of 200 MiB (ABOR sent)"),
        "{screen:#?}"
    );
    assert!(bar_rows(&screen, "big.bin").is_empty(), "{screen:#?}");
    world
        .server
        .wait_for(|line| line.contains("RETR /docs/big.bin failed: the client sent ABOR"));
    assert!(
        !local.join("big.bin").exists(),
        "a cancelled download left a file under its final name"
    );
    tmux.type_text(&window, "pwd");
    tmux.key(&window, "Enter");
    tmux.wait_for(&window, "pwd's answer", |screen| {
        screen.iter().any(|row| row == "/docs")
    });
}
