//! # Progress of byte transfers
//!
//! A file transfer over TCP is a long run of `write` calls; a progress bar shows the size, how
//! fast bytes are moving, and how long is left. The bar is drawn on standard error and only when
//! standard error is a terminal: in a pipe, a log file or a test it would be noise, so it hides.
//!
//! Sizes use binary units (KiB, MiB: powers of 1024) like most operating systems' file listings;
//! rates are per second.

use std::io::IsTerminal;
use std::time::Duration;

use humansize::{BINARY, format_size};
use indicatif::{ProgressBar, ProgressStyle};

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
    let bar = ProgressBar::new(total);
    let template = "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
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
