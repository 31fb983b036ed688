//! # The interactive clients' terminal: a line you type, and the network talking over it
//!
//! A chat client waits for two things at once: you typing, and the peer. In the simplest
//! design both just use the terminal: the program prints what arrives, the terminal echoes what
//! you type. But the terminal has one cursor. A message that arrives while you are half-way
//! through a sentence is printed where the cursor is, in the middle of your words:
//! `I am typing a long< MSG Bob interrupting you`, and the rest of your sentence ends up alone
//! on the next line. A progress bar that redraws its row erases what you typed.
//!
//! The cure is to give the terminal to one owner. In the *full-screen mode* this module keeps
//! the last rows of the terminal for itself (ratatui's *inline viewport*): status lines that
//! show state (connection, whose turn it is, a game board, a transfer's bar) and, at the very
//! bottom, the line you are typing. Whatever the program prints is inserted *above* those rows,
//! into the terminal's ordinary scrollback, so scrolling back and copy/paste keep working as in
//! any terminal program. One thread (`console/ui.rs`) owns the terminal; every other thread
//! sends it messages. Why this and not a line editor with an "external printer" (rustyline, reedline):
//! those keep the input line safe, but have no place for a status area, a board redrawn in
//! place or several transfer bars.
//!
//! The *plain mode* is the old behaviour, line by line: lines are printed as they come and
//! standard input is read a line at a time. It is chosen whenever standard input or output is
//! not a terminal (pipes, scripts, the tests that replay the docs), when `TERM=dumb`, and with
//! `--plain`, so transcripts and scripts keep working byte for byte.
//!
//! ## Using it from a client
//! [`Console::start`] picks the mode and gives back a [`Console`]; typed lines arrive as
//! [`Input`]s on its receiver. Printing needs nothing new: [`crate::term`]'s functions send
//! their lines here while a console is open. [`set_status`] and [`set_prompt`] change the rows
//! at the bottom, [`crate::progress::transfer_bar`] bars show there, and [`set_names`] changes
//! the names Tab completes after [`Options::name_commands`]; all four do nothing in the plain
//! mode. Dropping the [`Console`] gives the terminal back as it was, and so do a panic and
//! SIGTERM/SIGHUP (the process then exits 143).

mod complete;
mod editor;
mod reflow;
mod ui;
mod view;

use std::io::{self, BufRead, IsTerminal, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;

use crate::accept::spawn_named;
use crate::error::{Error, Result};

pub use complete::{Completer, Completion, local_path};
pub use editor::{Editor, KeyOutcome};
pub use view::View;

/// What the person at the keyboard did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A finished line, without its line ending.
    Line(String),
    /// Ctrl-C on an empty line (full-screen mode only; in the plain mode Ctrl-C is a signal, as
    /// it always was). A client cancels what is running, a transfer say; a second Ctrl-C in a
    /// row arrives as [`Input::Ended`].
    Interrupt,
    /// Standard input ended: Ctrl-D, two Ctrl-C, or the end of a piped file.
    Ended,
}

/// Lines waiting between the plain mode's reader thread and the client, at most. When the
/// client falls behind, the reader waits, and so does whoever writes into our standard input.
const PLAIN_QUEUE: usize = 16;

/// Lines waiting for the terminal's thread, at most: a client printing faster than the
/// terminal can show waits, as it would on a slow terminal in the plain mode.
const UI_QUEUE: usize = 256;

/// How a client wants its console.
pub struct Options {
    prompt: String,
    commands: Vec<&'static str>,
    path_commands: Vec<&'static str>,
    name_commands: Vec<&'static str>,
    plain: bool,
    max_line: usize,
    wake: Option<Box<dyn Fn() + Send>>,
}

impl Options {
    /// A console whose input line starts with `prompt` (`"ftp> "`, or `""`).
    pub fn new(prompt: &str) -> Self {
        Self {
            prompt: prompt.to_string(),
            commands: Vec::new(),
            path_commands: Vec::new(),
            name_commands: Vec::new(),
            plain: false,
            max_line: 64 * 1024,
            wake: None,
        }
    }

    /// The lab's commands, completed by Tab as the first word of a line.
    pub fn commands(mut self, commands: &[&'static str]) -> Self {
        self.commands = commands.to_vec();
        self
    }

    /// The commands whose argument is a local file (`/send`, `put`): Tab completes paths there.
    pub fn path_commands(mut self, commands: &[&'static str]) -> Self {
        self.path_commands = commands.to_vec();
        self
    }

    /// The commands whose argument is one of the names the program sets while it runs with
    /// [`set_names`] (remote files after `get`): Tab completes those names there.
    pub fn name_commands(mut self, commands: &[&'static str]) -> Self {
        self.name_commands = commands.to_vec();
        self
    }

    /// `--plain`: line by line even on a terminal.
    pub fn plain(mut self, plain: bool) -> Self {
        self.plain = plain;
        self
    }

    /// The longest line handed over, in bytes. In the plain mode the rest of a longer line is
    /// read and thrown away (`client < /dev/zero` must not fill memory); in the full-screen
    /// mode the editor stops taking characters.
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes.max(1);
        self
    }

    /// Called after each [`Input`] is queued, from the thread that queued it: for a client
    /// whose loop sleeps somewhere else than on the receiver (a mio `Waker::wake`).
    pub fn wake(mut self, wake: impl Fn() + Send + 'static) -> Self {
        self.wake = Some(Box::new(wake));
        self
    }
}

/// Where typed input goes: the client's receiver, then its wake-up call.
pub struct InputSink {
    inputs: Queue,
    wake: Option<Box<dyn Fn() + Send>>,
}

/// The full-screen mode's queue never blocks: a person types slowly, and the terminal's thread
/// must never wait on a client that may itself be waiting to print. The plain mode's queue is
/// bounded: standard input may be a file of any size (`client < /dev/zero`).
enum Queue {
    Unbounded(Sender<Input>),
    Bounded(SyncSender<Input>),
}

impl InputSink {
    /// Queues `input` for the client and wakes it; false once the client has gone.
    fn deliver(&self, input: Input) -> bool {
        let queued = match &self.inputs {
            Queue::Unbounded(sender) => sender.send(input).is_ok(),
            Queue::Bounded(sender) => sender.send(input).is_ok(),
        };
        if queued && let Some(wake) = &self.wake {
            wake();
        }
        queued
    }
}

/// Reads standard input line by line into `sink` until it ends or the client goes.
fn read_plain_lines(sink: &InputSink, max_line: usize) {
    let mut stdin = io::BufReader::new(io::stdin().lock());
    loop {
        let input = match read_bounded_line(&mut stdin, max_line) {
            Some(line) => Input::Line(String::from_utf8_lossy(&line).into_owned()),
            None => Input::Ended,
        };
        let ended = input == Input::Ended;
        if !sink.deliver(input) || ended {
            return;
        }
    }
}

/// The open console of the process, if any: where `term` sends lines, and the status setters
/// send their changes. There is one terminal per process, hence one console.
static ACTIVE: Mutex<Option<SyncSender<ui::UiMessage>>> = Mutex::new(None);

/// An open console; dropping it gives the terminal back.
pub struct Console {
    inputs: Receiver<Input>,
    ui: Option<JoinHandle<()>>,
}

impl Console {
    /// Opens the console: full-screen on a terminal, plain otherwise (see the module docs).
    pub fn start(options: Options) -> Result<Self> {
        if wants_full_screen(options.plain) {
            Self::full_screen(options)
        } else {
            Self::plain_mode(options)
        }
    }

    /// Is the full-screen mode on?
    pub fn is_full_screen(&self) -> bool {
        self.ui.is_some()
    }

    /// What the person typed, in order.
    pub fn inputs(&self) -> &Receiver<Input> {
        &self.inputs
    }

    /// Takes the receiver of typed input away from the console, for a client that hands it to
    /// a thread of its own (one that forwards each [`Input`] into the client's event queue).
    /// The console keeps the terminal; [`Console::inputs`] then receives nothing more.
    pub fn take_inputs(&mut self) -> Receiver<Input> {
        let (_, nothing) = channel();
        std::mem::replace(&mut self.inputs, nothing)
    }

    fn plain_mode(options: Options) -> Result<Self> {
        let (sender, inputs) = sync_channel(PLAIN_QUEUE);
        let sink = InputSink {
            inputs: Queue::Bounded(sender),
            wake: options.wake,
        };
        let max_line = options.max_line;
        spawn_named("keyboard", move || read_plain_lines(&sink, max_line))?;
        Ok(Self { inputs, ui: None })
    }

    fn full_screen(options: Options) -> Result<Self> {
        install_panic_restore();
        let colors = colors_wanted();
        let completer = Completer::new(&options.commands, &options.path_commands)
            .with_names(&options.name_commands);
        let editor = Editor::new(completer).with_max_len(options.max_line);
        let view = View::new(editor, &options.prompt, colors);
        let (input_sender, inputs) = channel();
        let sink = InputSink {
            inputs: Queue::Unbounded(input_sender),
            wake: options.wake,
        };
        let max_line = options.max_line;
        let (messages, received) = sync_channel(UI_QUEUE);
        let (ready, started) = channel();
        let ui = spawn_named("terminal", move || {
            ui::Ui::new(view, received, sink, colors, max_line).run(ready);
        })?;
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(Error::io("setting up the terminal", err)),
            Err(_) => return Err(Error::Failed("the terminal thread ended at start".into())),
        }
        *lock_active() = Some(messages);
        Ok(Self {
            inputs,
            ui: Some(ui),
        })
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let Some(ui) = self.ui.take() else { return };
        // Later lines go straight to standard output; the ones already queued print first.
        if let Some(messages) = lock_active().take() {
            let _ = messages.send(ui::UiMessage::Close);
        }
        let _ = ui.join();
    }
}

/// Full-screen only when a person is at a real terminal on both ends and did not say `--plain`.
fn wants_full_screen(plain: bool) -> bool {
    let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
    !plain && !dumb && io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// `NO_COLOR` (<https://no-color.org>), or anything else that makes anstream drop colors on
/// standard output, turns every style off.
fn colors_wanted() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

fn lock_active() -> std::sync::MutexGuard<'static, Option<SyncSender<ui::UiMessage>>> {
    // A thread that panicked while holding the lock left a usable value behind.
    ACTIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends `message` to the open console; false when there is none (plain mode, or closed).
fn send(message: ui::UiMessage) -> bool {
    let sender = lock_active().clone();
    match sender {
        // Sent outside the lock: a full queue makes this thread wait, not every thread.
        Some(sender) => sender.send(message).is_ok(),
        None => false,
    }
}

/// Prints `line` above the full-screen view; false in the plain mode (the caller prints it).
pub fn print_line(line: &str) -> bool {
    send(ui::UiMessage::Line(line.to_string()))
}

/// Replaces the status lines at the bottom of the screen (nothing in the plain mode).
pub fn set_status(lines: Vec<String>) {
    send(ui::UiMessage::Status(lines));
}

/// Replaces the names Tab completes after the commands of [`Options::name_commands`] (nothing
/// in the plain mode).
pub fn set_names(names: Vec<String>) {
    send(ui::UiMessage::Names(names));
}

/// Replaces the prompt before the input line (nothing in the plain mode).
pub fn set_prompt(prompt: &str) {
    send(ui::UiMessage::Prompt(prompt.to_string()));
}

/// Is a full-screen console open?
pub fn is_open() -> bool {
    lock_active().is_some()
}

/// Shows `bar` in the view until it finishes; false in the plain mode.
pub fn track(bar: &indicatif::ProgressBar) -> bool {
    send(ui::UiMessage::Track(bar.clone()))
}

/// A panic while the terminal is in raw mode would print its message with bare line feeds
/// (no carriage returns) and leave the shell unusable. The hook gives the terminal back first.
fn install_panic_restore() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = Arc::new(std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| {
            let _ = ratatui::crossterm::terminal::disable_raw_mode();
            let _ = ratatui::crossterm::execute!(io::stdout(), ratatui::crossterm::cursor::Show);
            eprintln!();
            previous(info);
        }));
    });
}

/// One line of `input` without its line ending, at most `limit` bytes of it (the rest of a
/// longer line is read and thrown away); `None` at the end of input.
pub fn read_bounded_line(input: &mut impl BufRead, limit: usize) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    match input.by_ref().take(limit).read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    if line.last() != Some(&b'\n') {
        skip_rest_of_line(input);
    }
    while line
        .last()
        .is_some_and(|byte| *byte == b'\n' || *byte == b'\r')
    {
        line.pop();
    }
    Some(line)
}

/// Reads up to the next newline (or the end), keeping nothing.
fn skip_rest_of_line(input: &mut impl BufRead) {
    loop {
        let (found, used) = match input.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buffer) => match buffer.iter().position(|byte| *byte == b'\n') {
                Some(at) => (true, at + 1),
                None => (false, buffer.len()),
            },
        };
        input.consume(used);
        if found {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Lines are cut at the limit, the rest of a long line is skipped, endings are removed.
    #[test]
    fn bounded_lines() {
        let mut input = io::Cursor::new(b"short\r\nmuch too long\nnext".to_vec());
        assert_eq!(
            read_bounded_line(&mut input, 8).as_deref(),
            Some(&b"short"[..])
        );
        assert_eq!(
            read_bounded_line(&mut input, 8).as_deref(),
            Some(&b"much too"[..])
        );
        assert_eq!(
            read_bounded_line(&mut input, 8).as_deref(),
            Some(&b"next"[..])
        );
        assert_eq!(read_bounded_line(&mut input, 8), None);
    }

    /// Without an open console, nothing is taken: `term` prints as it always did.
    #[test]
    fn plain_when_no_console() {
        assert!(!is_open());
        assert!(!print_line("hello"));
    }
}
