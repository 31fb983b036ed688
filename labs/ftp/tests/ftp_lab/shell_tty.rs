//! `ftp-lab connect` in a real terminal (tmux, 120x40), as a person uses it: the status row,
//! history, Tab completion, a download's bar and its summary line, and Ctrl-C cancelling a
//! download. Every wait is on what the screen shows; skipped visibly where tmux is missing.
//!
//! Transfers over loopback are too fast to watch, so the shell runs with `--block-size 64`:
//! a read (and a write to the local file) per 64 bytes makes a download of tens of MiB last
//! seconds, and a Ctrl-C sent once the bar shows certainly arrives while bytes still move.

use std::path::Path;

use netlab_testkit::docs::{Doc, Inventory, commands, compare, mask_numbers};
use netlab_testkit::tmux::Tmux;

use crate::util::{BIN, PASSWORD, ServerProcess, TempDir, USER, World, pattern};

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

/// Does the screen show `text`, with the transfer's rows (bar, "Ctrl-C cancels") gone and
/// the status row and the prompt drawn again? Lines are printed as they come, but the rows
/// at the bottom are redrawn at the console's next frame (20 a second at most), so a screen
/// read in between shows them as they were, or blank.
fn settled(screen: &[String], text: &str) -> bool {
    screen.iter().any(|row| row.contains(text))
        && bar_rows(screen, "big.bin").is_empty()
        && !screen.iter().any(|row| row.starts_with("Ctrl-C cancels"))
        && screen.iter().any(|row| row.starts_with("ftp 127.0.0.1:"))
        && input_row(screen) == "ftp>"
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

/// After `ls`, Tab completes remote names: a file after `get`, a directory (with its `/`)
/// after `cd`; after `cd` the old directory's names are gone.
#[test]
fn tab_completes_remote_names_from_the_last_ls() {
    let world = World::start(&[]);
    let local = TempDir::new("tty-remote-tab");
    let Some((tmux, window)) = shell("tab_completes_remote_names", &world, &local.0) else {
        return;
    };
    tmux.type_text(&window, "get he");
    tmux.key(&window, "Tab");
    // Nothing listed yet: nothing to complete from (the local directory is empty too).
    tmux.type_text(&window, "|");
    tmux.wait_for(&window, "the unchanged line", |screen| {
        input_row(screen) == "ftp> get he|"
    });
    tmux.key(&window, "C-u");
    tmux.type_text(&window, "ls");
    tmux.key(&window, "Enter");
    tmux.wait_for_text(&window, " hello.txt");
    tmux.type_text(&window, "get he");
    tmux.key(&window, "Tab");
    tmux.wait_for(&window, "the remote file completed", |screen| {
        input_row(screen) == "ftp> get hello.txt"
    });
    tmux.key(&window, "C-u");
    tmux.type_text(&window, "cd d");
    tmux.key(&window, "Tab");
    tmux.wait_for(&window, "the remote directory completed", |screen| {
        input_row(screen) == "ftp> cd docs/"
    });
    tmux.key(&window, "Enter");
    tmux.wait_for_text(&window, "| directory /docs |");
    tmux.type_text(&window, "get he");
    tmux.key(&window, "Tab");
    tmux.type_text(&window, "|");
    tmux.wait_for(&window, "the line left alone", |screen| {
        input_row(screen) == "ftp> get he|"
    });
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
    let done = tmux.wait_for(&window, "the summary, and the bar gone", |screen| {
        settled(screen, "[SUCCESS] big.bin -> big.bin: 64 MiB in")
    });
    let summaries = done.iter().filter(|row| row.contains("big.bin ->")).count();
    assert_eq!(summaries, 1, "{done:#?}");
    assert_eq!(
        std::fs::metadata(local.join("big.bin")).unwrap().len(),
        size
    );
    assert!(!local.join("big.bin.part").exists());
}

/// Rows of `rows` that hold `text`.
fn count(rows: &[String], text: &str) -> usize {
    rows.iter().filter(|row| row.contains(text)).count()
}

/// The rows of a download in progress, drawn once each at `width` columns: the status row
/// (cut with `…` when it does not fit), the bar, the Ctrl-C hint and the prompt, and no other
/// piece of them.
fn drawn_once_at(screen: &[String], status: &str, width: usize) -> bool {
    let status_row = if status.chars().count() <= width {
        status.to_string()
    } else {
        let kept: String = status.chars().take(width - 1).collect();
        format!("{kept}…")
    };
    screen.iter().filter(|row| **row == status_row).count() == 1
        && count(screen, "| user alice |") == 1
        && bar_rows(screen, "big.bin").len() == 1
        && count(screen, "Ctrl-C cancels") == 1
        && input_row(screen) == "ftp>"
}

/// Resized while a download's bar moves (120x40 to 50x15, then back): at each size the status
/// row, the bar, the Ctrl-C hint and the prompt are drawn again once each, at the new width;
/// once the download is done neither the screen nor the scrollback holds a stale copy of the
/// bar, the hint or the status row, and the file arrives byte for byte.
#[test]
fn resizing_during_a_download_leaves_no_stale_rows() {
    let world = World::start(&[]);
    // 128 MiB at 64 bytes a read: seconds, long enough to resize twice while the bar moves.
    let bytes = pattern(128 << 20);
    std::fs::write(world.root().join("big.bin"), &bytes).unwrap();
    let local = TempDir::new("tty-resize");
    let Some((tmux, window)) = shell("resizing_during_a_download", &world, &local.0) else {
        return;
    };
    let status = format!(
        "ftp {} | user {USER} | directory / | passive mode",
        world.addr()
    );
    tmux.wait_for_text(&window, &status);
    tmux.type_text(&window, "get big.bin");
    tmux.key(&window, "Enter");
    tmux.wait_for(&window, "the bar", |screen| {
        !bar_rows(screen, "big.bin").is_empty()
    });

    tmux.resize(&window, 50, 15);
    let narrow = tmux.wait_for(&window, "the rows drawn again at 50 columns", |screen| {
        drawn_once_at(screen, &status, 50)
    });
    assert_eq!(
        bar_rows(&narrow, "big.bin")[0].chars().count(),
        50,
        "{narrow:#?}"
    );
    tmux.resize(&window, WIDTH, HEIGHT);
    let wide = tmux.wait_for(&window, "the rows drawn again at 120 columns", |screen| {
        drawn_once_at(screen, &status, 120) && bar_rows(screen, "big.bin")[0].chars().count() > 50
    });
    assert_eq!(
        count(&wide, "[SUCCESS]"),
        0,
        "resized after the end: {wide:#?}"
    );

    let done = tmux.wait_for(&window, "the summary, and the bar gone", |screen| {
        settled(screen, "[SUCCESS] big.bin -> big.bin: 128 MiB in")
    });
    assert_eq!(count(&done, "big.bin ->"), 1, "{done:#?}");
    let history = tmux.history(&window);
    let stale: Vec<&String> = history
        .iter()
        .filter(|row| row.starts_with("big.bin [") || row.starts_with("Ctrl-C cancels"))
        .collect();
    assert!(stale.is_empty(), "stale rows in the scrollback: {stale:#?}");
    assert_eq!(count(&history, "| user alic"), 1, "{history:#?}");
    // Not duplicated. It may be gone: tmux tells a program of a second resize within 250 ms
    // up to 250 ms late, and the bar's frames drawn meanwhile are drawn for the old size; they
    // move the cursor back to its old row, so the lines tmux moved down when it grew are
    // taken for ours and cleared (see common/src/console/reflow.rs).
    assert!(count(&history, "ftp> get big.bin") <= 1, "{history:#?}");
    assert!(std::fs::read(local.join("big.bin")).unwrap() == bytes);
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
    let screen = tmux.wait_for(&window, "the cancel, and the bar gone", |screen| {
        settled(screen, "[WARN] get big.bin cancelled at ")
    });
    let cancelled: Vec<&String> = screen
        .iter()
        .filter(|row| row.contains("cancelled at"))
        .collect();
    assert_eq!(cancelled.len(), 1, "{screen:#?}");
    assert!(
        cancelled[0].contains("of 200 MiB (ABOR sent)"),
        "{screen:#?}"
    );
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

/// Ctrl-D during a `get` cancels it with ABOR too, then quits the shell.
#[test]
fn ctrl_d_during_a_download_cancels_it_and_quits() {
    let mut world = World::start(&[]);
    zero_file(&world.root().join("big.bin"), 200 << 20);
    let local = TempDir::new("tty-ctrl-d");
    let Some((tmux, window)) = shell("ctrl_d_during_a_download", &world, &local.0) else {
        return;
    };
    tmux.type_text(&window, "get big.bin");
    tmux.key(&window, "Enter");
    tmux.wait_for(&window, "the bar", |screen| {
        !bar_rows(screen, "big.bin").is_empty()
    });
    tmux.key(&window, "C-d");
    let screen = tmux.wait_for_text(&window, "[exited]");
    assert!(
        screen
            .iter()
            .any(|row| row.contains("get big.bin cancelled at ")),
        "{screen:#?}"
    );
    // Two lines, one on the server's standard error and one on its standard output: they may
    // be read in either order.
    let aborted = "RETR /big.bin failed: the client sent ABOR";
    let left = "disconnected (said QUIT)";
    world
        .server
        .wait_for_count(2, |line| line.contains(aborted) || line.contains(left));
    for wanted in [aborted, left] {
        let seen = &world.server.seen;
        assert!(seen.iter().any(|line| line.contains(wanted)), "{seen:#?}");
    }
    assert!(!local.join("big.bin").exists());
}

/// The walkthrough's screens (docs/ftp.md, section 4, "In the shell") are what the shell shows:
/// the same command in the middle of a download, then after Ctrl-C and `reget`. Numbers (port,
/// sizes, rates, times) and the bar's filling differ from run to run and are masked.
#[test]
fn walkthrough_screens_are_true() {
    const DOC: &str = "docs/ftp.md";
    const SECTION: &str = "### In the shell";
    let doc = Doc::read(DOC);
    let mut blocks = Inventory::new(&doc);
    let during = blocks.take(SECTION, "$ ftp-lab connect");
    let after = blocks.take(SECTION, "[INFO] connected");
    let shown = commands(DOC, &during);
    let [command] = shown.as_slice() else {
        panic!("{DOC} line {}: one command expected", during.marker_line);
    };
    let Some(mut tmux) = Tmux::start("walkthrough_screens_are_true", WIDTH, HEIGHT) else {
        return;
    };
    // The page's server: section 1's account, and section 4's file, smaller (sizes are masked)
    // so that the debug build's `reget` of the rest, 256 bytes a read, takes seconds.
    let base = TempDir::new("tty-docs");
    std::fs::create_dir_all(base.join("files")).unwrap();
    let size = 40 << 20;
    zero_file(&base.join("files/big.bin"), size);
    let root = base.join("files");
    let server = ServerProcess::start(
        BIN,
        &[
            "serve",
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
            "--user",
            "alice:secret",
        ],
    );
    std::fs::create_dir_all(base.join("local")).unwrap();
    let real = command
        .command
        .replace("127.0.0.1:2121", &server.addr.to_string());
    let words: Vec<&str> = real.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"ftp-lab"), "{real}");
    let window = tmux.run(&base.join("local"), Path::new(BIN), &words[1..]);
    tmux.wait_for_text(&window, "type help");

    tmux.type_text(&window, "get big.bin");
    tmux.key(&window, "Enter");
    let screen = tmux.wait_for(&window, "the bar", |screen| {
        !bar_rows(screen, "big.bin").is_empty()
    });
    compare(
        DOC,
        command.line,
        "the screen during `get`",
        &masked(&screen),
        &masked(&command.output),
    );

    tmux.key(&window, "C-c");
    tmux.wait_for_text(&window, "cancelled at");
    tmux.type_text(&window, "reget big.bin");
    tmux.key(&window, "Enter");
    let screen = tmux.wait_for(&window, "the summary, and the bar gone", |screen| {
        settled(screen, "[SUCCESS] big.bin -> big.bin:")
    });
    let page: Vec<String> = after.lines.iter().map(|(_, line)| line.clone()).collect();
    compare(
        DOC,
        after.marker_line,
        "the screen after `reget`",
        &masked(&screen),
        &masked(&page),
    );
    assert_eq!(
        std::fs::metadata(base.join("local/big.bin")).unwrap().len(),
        size
    );
}

/// `rows` without the empty rows at the end, numbers masked, sizes in one unit, and the bar's
/// filling (`[=====>    ]`) as `[...]`.
fn masked(rows: &[String]) -> Vec<String> {
    let mut rows: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut row = mask_numbers(row);
            for unit in ["N B", "N KiB", "N MiB", "N GiB"] {
                row = row.replace(unit, "N bytes");
            }
            unfilled_bar(&row)
        })
        .collect();
    while rows.last().is_some_and(String::is_empty) {
        rows.pop();
    }
    rows
}

/// A `[===>   ]` gauge as `[...]`.
fn unfilled_bar(row: &str) -> String {
    let Some(open) = row.find(" [") else {
        return row.to_string();
    };
    let Some(close) = row[open..].find(']').map(|at| open + at) else {
        return row.to_string();
    };
    let inside = &row[open + 2..close];
    if inside.is_empty() || !inside.chars().all(|c| matches!(c, '=' | '>' | ' ')) {
        return row.to_string();
    }
    format!("{} [...]{}", &row[..open], &row[close + 1..])
}
