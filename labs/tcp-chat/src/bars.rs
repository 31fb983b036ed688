//! # Progress bars that share the screen with chat lines
//!
//! A progress bar redraws the last line of the terminal many times a second. If the program
//! prints another line while a bar is showing, the old drawing stays behind in the scrollback.
//! indicatif's `MultiProgress` owns every bar on the screen and can `suspend` them: hide, print
//! the line, draw them again below it. So every bar here is born inside one [`MultiProgress`],
//! the program's own (`netlab_common::progress::terminal_bars`), and every status line printed
//! while bars may show goes through its `suspend`: ours here, and the `--trace` lines and
//! `[INFO]` lines `netlab_common::term` prints, which suspend the same one.
//!
//! The bars look like `netlab_common::progress::transfer_bar` (size, rate, ETA) and, like it,
//! exist only when standard error is a terminal. They are built here rather than taken from there
//! because that bar draws itself once as soon as it is made, outside the `MultiProgress`, which
//! would leave one stale line behind.
//!
//! While the full-screen console (`netlab_common::console`) is open, the terminal belongs to it
//! and indicatif must draw nothing at all: then the bar *is* taken from
//! `netlab_common::progress::transfer_bar`, which hands it to the console. The console draws it
//! in a row of its own above the input line, at most 20 times a second, and drops the row when
//! the bar finishes; nothing joins the `MultiProgress`, so its `suspend` has nothing to hide.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A transfer bar for `total` bytes, labelled `label`, drawn inside `bars` (or by the console,
/// while it is open).
pub fn transfer_bar(bars: &MultiProgress, total: u64, label: &str) -> ProgressBar {
    if netlab_common::console::is_open() {
        return netlab_common::progress::transfer_bar(total, label);
    }
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    let template = "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bars.add(bar)
}
