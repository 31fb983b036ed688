//! # Terminal output: status lines, colors, and text from strangers
//!
//! Every lab prints the same kinds of status lines, tagged the way students know from the course
//! projects: `[INFO]`, `[CHAT]`, `[SUCCESS]`, `[WARN]`, `[ERROR]`. On a terminal the tag is colored;
//! when output goes to a file or pipe, or when the `NO_COLOR` environment variable is set
//! (<https://no-color.org>), the same text is printed plain (anstream strips the color codes).
//!
//! ## Peer text is hostile
//! Terminals obey *escape sequences*: bytes starting with ESC (0x1B) that move the cursor, clear
//! the screen, change the window title, and on some terminals worse. If a server prints a chat
//! message exactly as received, any client can type `\x1b[2J` and wipe every other user's screen,
//! or forge a line that looks like it came from the server. [`sanitize`] replaces every control
//! character with a visible escape (`ESC` becomes `^[`) before text from the network reaches a
//! terminal. It also escapes Unicode bidirectional overrides, which can make text display in a
//! different order than it is stored ("Trojan Source").

use std::fmt::Display;
use std::io;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};

use crate::error::Error;

fn tag_style(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(color.into())).bold()
}

/// Standard output or standard error.
#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Writes `[TAG] message` and the newline with one `write` on the locked stream. A line written
/// in pieces (tag, then message) can be torn apart by another thread's line, or by the other
/// stream when stdout and stderr go to the same pipe: `[WARN][CHAT] ...`. So the line is built
/// first, colored or plain as anstream decides for that stream, and written whole.
fn emit(stream: Stream, tag: &str, color: AnsiColor, message: impl Display) {
    let line = format!("{}\n", tagged(tag, color, message));
    write_whole_line(stream, &line);
}

/// `[TAG] message` with the tag colored.
fn tagged(tag: &str, color: AnsiColor, message: impl Display) -> String {
    let style = tag_style(color);
    format!("{style}[{tag}]{style:#} {message}")
}

/// The `[INFO] ...` line [`info`] would print, as a string (for a caller that prints it itself).
pub fn tagged_info(message: impl Display) -> String {
    tagged("INFO", AnsiColor::Cyan, message)
}

/// Prints `text` as it is (it may carry colors from [`mine`] and [`theirs`]) on standard
/// output, as one line.
pub fn line(text: impl Display) {
    write_whole_line(Stream::Out, &format!("{text}\n"));
}

/// Prints `text` (one or more whole lines, each ending in `\n`: a trace line, a hex dump) on
/// standard error in one write, or above the input line while a full-screen console is open.
pub fn trace_text(text: &str) {
    write_whole_line(Stream::Err, text);
}

/// Writes one finished line (ending in `\n`) to `stream`, or above the input line while a
/// full-screen [`crate::console`] is open: then the terminal belongs to the console's thread,
/// and a line written here directly would land in the middle of what the user is typing. In
/// line mode, a progress bar on the terminal is lifted for the line and drawn again under it.
fn write_whole_line(stream: Stream, line: &str) {
    if crate::console::print_line(line.trim_end_matches('\n')) {
        return;
    }
    crate::progress::above_bars(|| write_now(stream, line));
}

/// Writes `line` to `stream` in one write, colors stripped unless it goes to a terminal.
fn write_now(stream: Stream, line: &str) {
    use std::io::Write as _;
    let choice = match stream {
        Stream::Out => anstream::AutoStream::choice(&io::stdout()),
        Stream::Err => anstream::AutoStream::choice(&io::stderr()),
    };
    // Nowhere to report a failed write to the terminal itself (a closed pipe): ignore it.
    let _ = match (choice, stream) {
        // Plain text: stripped here, so the whole line goes out in one write.
        (anstream::ColorChoice::Never, Stream::Out) => {
            let plain = anstream::adapter::strip_str(line).to_string();
            io::stdout().lock().write_all(plain.as_bytes())
        }
        (anstream::ColorChoice::Never, Stream::Err) => {
            let plain = anstream::adapter::strip_str(line).to_string();
            io::stderr().lock().write_all(plain.as_bytes())
        }
        // Colors: a terminal; anstream passes the escapes through (or, on an old Windows
        // console, turns them into console calls).
        (_, Stream::Out) => anstream::stdout().lock().write_all(line.as_bytes()),
        (_, Stream::Err) => anstream::stderr().lock().write_all(line.as_bytes()),
    };
}

/// `[INFO] ...` on standard error: how a long job is getting on (`graded alice (3/30)`), not
/// its result. Standard output keeps only the result, so `> summary.txt` or a pipe gets the
/// result alone while the person at the terminal still sees the progress.
pub fn progress(message: impl Display) {
    emit(Stream::Err, "INFO", AnsiColor::Cyan, message);
}

/// `[INFO] ...` on standard output: something happened that the user may want to know.
pub fn info(message: impl Display) {
    emit(Stream::Out, "INFO", AnsiColor::Cyan, message);
}

/// `[CHAT] ...` on standard output: a message from a person.
pub fn chat(message: impl Display) {
    emit(Stream::Out, "CHAT", AnsiColor::Magenta, message);
}

/// `[SUCCESS] ...` on standard output: something finished as intended.
pub fn success(message: impl Display) {
    emit(Stream::Out, "SUCCESS", AnsiColor::Green, message);
}

/// `[WARN] ...` on standard error: something is off but we go on.
pub fn warn(message: impl Display) {
    emit(Stream::Err, "WARN", AnsiColor::Yellow, message);
}

/// `[ERROR] ...` on standard error: something failed.
pub fn error(message: impl Display) {
    emit(Stream::Err, "ERROR", AnsiColor::Red, message);
}

/// Text in the "this is me" color (the local user's own lines in a chat).
pub fn mine(text: impl Display) -> String {
    let style = Style::new().fg_color(Some(AnsiColor::Blue.into()));
    format!("{style}{text}{style:#}")
}

/// Text in the "this is the peer" color.
pub fn theirs(text: impl Display) -> String {
    let style = Style::new().fg_color(Some(AnsiColor::Magenta.into()));
    format!("{style}{text}{style:#}")
}

/// Makes peer-supplied text safe to print: control characters and bidi overrides become visible
/// escapes, so they cannot move the cursor, clear the screen or reorder text.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        push_sanitized(&mut out, character);
    }
    out
}

/// [`sanitize`] for raw bytes: invalid UTF-8 becomes U+FFFD first.
pub fn sanitize_bytes(bytes: &[u8]) -> String {
    sanitize(&String::from_utf8_lossy(bytes))
}

fn push_sanitized(out: &mut String, character: char) {
    match character {
        '\t' => out.push(' '),
        // C0 controls (NUL..US) and DEL in caret notation: ESC is ^[, NUL is ^@, DEL is ^?.
        '\0'..='\x1f' => {
            out.push('^');
            out.push(char::from(b'@' + character as u8));
        }
        '\x7f' => out.push_str("^?"),
        // C1 controls (0x80..0x9F) include CSI (0x9B), a one-byte ESC [ on some terminals.
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(character)));
        }
        other => out.push(other),
    }
}

/// `HH:MM:SS` of a wall-clock time in UTC, for status lines ("connected since 09:30:02 UTC").
/// A date library would be overkill for a time of day: it is the seconds since the Unix epoch,
/// modulo one day.
pub fn clock_time_utc(time: std::time::SystemTime) -> String {
    let seconds = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(std::time::Duration::ZERO)
        .as_secs();
    let of_day = seconds % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Exit status for a usage mistake, the same as clap's for a bad flag.
pub const USAGE_EXIT: u8 = 2;

/// Ends a command-line program: `Ok` exits 0; an error prints one `[ERROR]` line and exits 1,
/// or 2 for a usage mistake ([`Error::Usage`], as clap does for a flag it refuses).
///
/// Our own standard output closed (`tcp-echo ... | head -1`, [`Error::OutputClosed`]) is not an
/// error worth a message: the reader simply stopped listening, so we exit quietly with success,
/// as `ripgrep` does. A broken pipe on a *socket* is different: the peer went away while we were
/// still sending, and the user must hear of it.
///
/// Buffered `--trace-json` events are written out first ([`crate::trace_json::flush_all`]).
pub fn finish(result: Result<(), Error>) -> ExitCode {
    crate::trace_json::flush_all();
    match result {
        Ok(()) | Err(Error::OutputClosed) => ExitCode::SUCCESS,
        Err(err @ Error::Usage(_)) => {
            error(&err);
            ExitCode::from(USAGE_EXIT)
        }
        Err(err) => {
            error(&err);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escape sequences are neutralized and stay visible.
    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(sanitize("\x1b[2Jhi\r\n"), "^[[2Jhi^M^J");
        assert_eq!(sanitize("a\u{9b}31m"), "a\\u{9b}31m");
        assert_eq!(sanitize("x\u{202e}y"), "x\\u{202e}y");
    }

    /// The time of day is taken from seconds since the epoch.
    #[test]
    fn clock_formatting() {
        let time =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 3 + 3600 * 9 + 61);
        assert_eq!(clock_time_utc(time), "09:01:01");
    }

    /// Exit statuses: 0 for success and for our own closed stdout, 2 for a usage mistake, 1 for
    /// anything else, a socket's broken pipe included (the peer went away: not a success).
    #[test]
    fn exit_statuses() {
        let broken = || io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(finish(Ok(())), ExitCode::SUCCESS);
        assert_eq!(finish(Err(Error::stdout(broken()))), ExitCode::SUCCESS);
        assert_eq!(
            finish(Err(Error::Usage("--a without --b".into()))),
            ExitCode::from(2)
        );
        let socket = Error::io("sending to the peer", broken());
        assert_eq!(finish(Err(socket)), ExitCode::FAILURE);
    }

    /// Ordinary text, including non-ASCII letters, is untouched.
    #[test]
    fn ordinary_text_unchanged() {
        assert_eq!(sanitize("héllo wörld 你好"), "héllo wörld 你好");
    }
}
