//! # Progress of byte transfers
//!
//! A file transfer over TCP is a long run of `write` calls; a progress bar shows the size, how
//! fast bytes are moving, and how long is left. The bar is drawn on standard error and only when
//! standard error is a terminal: in a pipe, a log file or a test it would be noise, so it hides.
//!
//! Sizes use binary units (KiB, MiB: powers of 1024) like most operating systems' file listings;
//! rates are per second.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use humansize::{BINARY, format_size};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Every bar drawn on the terminal, in one indicatif `MultiProgress`. A bar is redrawn in place
/// many times a second; a line printed while one shows would leave the old drawing behind in
/// the scrollback, or land in the middle of it. The `MultiProgress` can *suspend* its bars:
/// take them away, let the line be printed, draw them again below it. So every bar joins it,
/// and every line the program prints in line mode goes through [`above_bars`].
static TERMINAL_BARS: OnceLock<MultiProgress> = OnceLock::new();

/// The program's bars on the terminal (made on first use): add a bar here to have the lines
/// printed by [`crate::term`] go above it.
pub fn terminal_bars() -> MultiProgress {
    TERMINAL_BARS.get_or_init(MultiProgress::new).clone()
}

/// Runs `write` with the bars on the terminal taken away, and draws them again under what was
/// written. A program that never drew a bar just runs `write`.
pub(crate) fn above_bars(write: impl FnOnce()) {
    thread_local! {
        /// Whether this thread is inside a suspend already: a second one would wait for the
        /// first's lock for ever.
        static SUSPENDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    match TERMINAL_BARS.get() {
        Some(bars) if !SUSPENDED.get() => {
            SUSPENDED.set(true);
            bars.suspend(write);
            SUSPENDED.set(false);
        }
        _ => write(),
    }
}

/// A progress bar for `total` bytes labelled `label`; hidden unless standard error is a terminal.
/// While a full-screen [`crate::console`] is open, the console draws it (in its own row above
/// the input line) and the bar itself draws nothing.
pub fn transfer_bar(total: u64, label: &str) -> ProgressBar {
    if crate::console::is_open() {
        let bar =
            ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::hidden());
        bar.set_message(label.to_string());
        crate::console::track(&bar);
        return bar;
    }
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    // Made hidden and then handed to the MultiProgress: a bar made visible draws itself once
    // at once, outside the MultiProgress, and that drawing would stay behind.
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    let template = "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    terminal_bars().add(bar)
}

/// `1536` -> `"1.50 KiB"`.
pub fn human_bytes(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

/// Bytes over a duration as `"12.3 MiB/s"`.
pub fn human_rate(bytes: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return "-".to_string();
    }
    // Rounded to whole bytes per second: the fraction does not matter for a display.
    let per_second = (bytes as f64 / seconds).round() as u64;
    format!("{}/s", format_size(per_second, BINARY))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes and rates read as a person expects.
    #[test]
    fn human_units() {
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_rate(2048, Duration::from_secs(2)), "1 KiB/s");
        assert_eq!(human_rate(1, Duration::ZERO), "-");
    }
}
