//! # The operator's log, written once per loop turn
//!
//! Every game that starts or ends, every connection that comes or goes, is a line on the server's
//! standard output. Printed one by one with `term::info`, each line is a `write` system call
//! (and a check whether standard output is a terminal, another one): at saturation that was
//! about half a system call per move, as much as reading the move itself. So the loop collects
//! the turn's lines here and prints them together with one `write` at the end of the turn,
//! before it waits for events again; the text is the same, line for line and in the same order.
//!
//! Warnings go to standard error, a different stream. When both streams go to the same place
//! (a terminal, or a test that merges them), a warning must not overtake the lines that
//! happened before it, so the collected lines are printed first.

use std::fmt::Display;

use netlab_common::term;

/// The `[INFO]` lines of the current loop turn, not yet printed.
#[derive(Default)]
pub(super) struct Log {
    /// Whole tagged lines, each ending in `\n`.
    pending: String,
}

impl Log {
    /// Adds `[INFO] message`, printed at the end of the turn ([`Log::flush`]).
    pub(super) fn info(&mut self, message: impl Display) {
        self.pending.push_str(&term::tagged_info(message));
        self.pending.push('\n');
    }

    /// Prints the lines collected so far, then `[WARN] message` at once.
    pub(super) fn warn(&mut self, message: impl Display) {
        self.flush();
        term::warn(message);
    }

    /// Prints the collected lines with one write.
    pub(super) fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // `term::line` adds the last newline itself, and strips the tag's colors when standard
        // output is not a terminal, exactly as `term::info` does line by line.
        term::line(self.pending.trim_end_matches('\n'));
        self.pending.clear();
    }
}
