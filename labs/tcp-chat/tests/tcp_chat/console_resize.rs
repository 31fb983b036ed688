//! The full-screen console when the person resizes the terminal (a laptop screen, a split
//! pane): tmux resizes the window under a running client, as dragging a terminal's corner
//! does, and rewraps (reflows) what it shows to the new width, the client's own rows included.
//! The client must then draw its rows once, at the new width, keep what was typed and where the
//! cursor was, and leave no stale copy of its rows on the screen or in the scrollback.
//! Every wait is on what a screen shows; skipped visibly where tmux is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use netlab_testkit::tmux::Tmux;

use crate::console::{count, duplex_pair, input_row, start_pair, type_line, wait_for_input_row};
use crate::util::TempDir;

/// The size the tests start at and come back to.
const COLUMNS: u16 = 100;
const ROWS: u16 = 30;

/// The mark at the end of a status row cut to the terminal's width.
const CUT: char = '…';

/// The row of `screen` that starts with `start`, whole.
fn row_starting(screen: &[String], start: &str) -> String {
    screen
        .iter()
        .find(|row| row.starts_with(start))
        .unwrap_or_else(|| panic!("no row starts with {start:?}: {screen:#?}"))
        .clone()
}

/// Is `row` the status line `full` as it fits in `width` columns: whole when it fits,
/// otherwise its start and the cut mark, filling the row exactly?
fn fitted(row: &str, full: &str, width: usize) -> bool {
    if full.chars().count() <= width {
        return row == full;
    }
    let kept: String = full.chars().take(width - 1).collect();
    row == format!("{kept}{CUT}")
}

/// Rows of `screen` that hold the start of `full`: the line itself, or a copy of it cut to
/// some width or rewrapped by the terminal.
fn copies(screen: &[String], full: &str) -> usize {
    let head: String = full.chars().take(12).collect();
    screen.iter().filter(|row| row.contains(&head)).count()
}

/// Duplex, resized while a line is half typed: shrunk to 40x12 and grown back to 100x30, the
/// input line holds exactly what was typed with the cursor after it, each status row is drawn
/// once (cut with `…` at 40 columns, whole again at 100), the scrollback holds each earlier
/// chat line once and no stale copy of the status or input rows, and Enter then sends the
/// whole line (the peer shows exactly it).
#[test]
fn duplex_resize_keeps_the_typed_line_and_the_scrollback() {
    let Some(mut tmux) = Tmux::start(
        "duplex_resize_keeps_the_typed_line_and_the_scrollback",
        COLUMNS,
        ROWS,
    ) else {
        return;
    };
    let dir = TempDir::new("console-resize-duplex");
    let (sender_dir, receiver_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&sender_dir).unwrap();
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let (sender, receiver) = duplex_pair(&mut tmux, &sender_dir, &receiver_dir);
    let chat = ["first message", "second message", "third message"];
    for line in chat {
        type_line(&tmux, &receiver, line);
        tmux.wait_for_text(&sender, &format!("[CHAT] peer: {line}"));
    }
    let typed = "> half typed line";
    let before = wait_for_input_row(&tmux, &sender, ">");
    let status = [
        row_starting(&before, "duplex chat with "),
        row_starting(&before, "files: 0 sent, 0 received"),
    ];
    tmux.type_text(&sender, "half typed line");
    wait_for_input_row(&tmux, &sender, typed);
    assert_eq!(tmux.cursor(&sender).1, typed.len());

    tmux.resize(&sender, 40, 12);
    let narrow = tmux.wait_for(&sender, "the rows drawn again at 40 columns", |screen| {
        input_row(screen) == typed && status.iter().all(|full| has_fitted(screen, full, 40))
    });
    check_drawn_once(&tmux, &sender, &narrow, &status, typed);
    // Nor the end of a status row rewrapped onto a row of its own.
    assert_eq!(count(&narrow, "lists the commands"), 0, "{narrow:#?}");
    // The chat lines on the screen stay there, rewrapped, right above the status rows.
    let at = narrow
        .iter()
        .position(|row| row.starts_with("duplex chat"))
        .unwrap();
    let above = at.checked_sub(1).map(|row| narrow[row].as_str());
    assert_eq!(above, Some("[CHAT] peer: third message"), "{narrow:#?}");

    tmux.resize(&sender, COLUMNS, ROWS);
    let wide = tmux.wait_for(&sender, "the rows drawn again at 100 columns", |screen| {
        input_row(screen) == typed && status.iter().all(|full| count(screen, full) == 1)
    });
    check_drawn_once(&tmux, &sender, &wide, &status, typed);

    let history = tmux.history(&sender);
    for line in chat {
        let row = format!("[CHAT] peer: {line}");
        assert_eq!(count(&history, &row), 1, "{row:?} in {history:#?}");
    }
    for full in &status {
        assert_eq!(
            copies(&history, full),
            1,
            "{full:?}: stale copies in {history:#?}"
        );
    }
    assert_eq!(count(&history, "half typed"), 1, "{history:#?}");

    tmux.type_text(&sender, " and the rest");
    tmux.key(&sender, "Enter");
    let screen = tmux.wait_for_text(&receiver, "[CHAT] peer: half typed line and the rest");
    let received: Vec<&String> = screen
        .iter()
        .filter(|row| row.starts_with("[CHAT] peer: half"))
        .collect();
    assert_eq!(received, ["[CHAT] peer: half typed line and the rest"]);
}

/// Does `screen` show the status line `full` fitted to `width` columns, on one row?
fn has_fitted(screen: &[String], full: &str, width: usize) -> bool {
    screen.iter().any(|row| fitted(row, full, width))
}

/// The checks after each resize: every status row once and no piece of an old one, the typed
/// line once, as the last row drawn, with the cursor on it after the text.
fn check_drawn_once(tmux: &Tmux, window: &str, screen: &[String], status: &[String], typed: &str) {
    for full in status {
        assert_eq!(copies(screen, full), 1, "{full:?} in {screen:#?}");
    }
    assert_eq!(count(screen, "half typed"), 1, "{screen:#?}");
    let last = screen.iter().rposition(|row| !row.is_empty()).unwrap();
    assert_eq!(tmux.cursor(window), (last, typed.len()), "{screen:#?}");
}

/// Pair, shrunk to 20 columns (less than the prompt and a status line together) and to 8 (less
/// than the prompt alone): nothing panics, each status row is one row cut with `…`, the input
/// line scrolls to keep the cursor in sight, typing and Enter still send the whole line and the
/// peer's answer is shown wrapped at 20 columns; grown back to 100 columns, the status rows are
/// whole again and equal to what they were before.
#[test]
fn pair_keeps_working_narrower_than_its_prompt() {
    let Some(mut tmux) = Tmux::start("pair_keeps_working_narrower_than_its_prompt", COLUMNS, ROWS)
    else {
        return;
    };
    let dir = TempDir::new("console-resize-narrow");
    let (listener, connector, _) = start_pair(&mut tmux, dir.path());
    let before = wait_for_input_row(&tmux, &connector, "Enter Input >");
    let status = [
        row_starting(&before, "pair chat with "),
        row_starting(&before, "your turn: type a message"),
    ];
    let each_fitted =
        |screen: &[String], width| status.iter().all(|full| has_fitted(screen, full, width));
    tmux.type_text(&connector, "hello narrow");
    wait_for_input_row(&tmux, &connector, "Enter Input > hello narrow");

    tmux.resize(&connector, 20, ROWS);
    // 20 columns: the prompt (14) and a column for the cursor leave 5 for the text.
    let screen = tmux.wait_for(&connector, "the rows drawn at 20 columns", |screen| {
        input_row(screen) == "Enter Input > arrow" && each_fitted(screen, 20)
    });
    for full in &status {
        assert_eq!(copies(&screen, full), 1, "{full:?} in {screen:#?}");
    }
    // No piece of the old rows rewrapped by the terminal (the end of the second one).
    assert_eq!(count(&screen, "hangman; /q"), 0, "{screen:#?}");
    assert_eq!(tmux.cursor(&connector).1, 19, "{screen:#?}");
    tmux.type_text(&connector, " world");
    let screen = wait_for_input_row(&tmux, &connector, "Enter Input > world");
    assert_eq!(tmux.cursor(&connector).1, 19, "{screen:#?}");

    tmux.resize(&connector, 8, ROWS);
    let screen = tmux.wait_for(&connector, "the rows drawn at 8 columns", |screen| {
        each_fitted(screen, 8)
    });
    assert_eq!(count(&screen, "pair ch"), 1, "{screen:#?}");
    assert_eq!(count(&screen, "your tu"), 1, "{screen:#?}");
    assert_eq!(tmux.cursor(&connector).1, 7, "{screen:#?}");
    tmux.resize(&connector, 20, ROWS);
    wait_for_input_row(&tmux, &connector, "Enter Input > world");

    tmux.key(&connector, "Enter");
    tmux.wait_for_text(&listener, "[CHAT] peer: hello narrow world");
    type_line(&tmux, &listener, "an answer longer than twenty columns");
    let screen = tmux.wait_for_text(&connector, "[CHAT] peer: an answ");
    let at = screen
        .iter()
        .position(|row| row == "[CHAT] peer: an answ")
        .unwrap();
    assert_eq!(screen[at + 1], "er longer than twent", "{screen:#?}");
    assert_eq!(screen[at + 2], "y columns", "{screen:#?}");
    wait_for_input_row(&tmux, &connector, "Enter Input >");

    tmux.resize(&connector, COLUMNS, ROWS);
    let screen = tmux.wait_for(&connector, "the status rows whole again", |screen| {
        status.iter().all(|full| count(screen, full) == 1) && input_row(screen) == "Enter Input >"
    });
    for full in &status {
        assert_eq!(copies(&screen, full), 1, "{full:?} in {screen:#?}");
    }
    let history = tmux.history(&connector);
    assert_eq!(count(&history, "panicked"), 0, "{history:#?}");
    assert_eq!(count(&history, "[exited]"), 0, "{history:#?}");
    type_line(&tmux, &connector, "/q");
    tmux.wait_for_text(&listener, "the peer ended the chat (/q); shutting down");
}
