//! # The thread that owns the terminal
//!
//! A terminal is one shared resource: if two threads write to it, their bytes interleave, and a
//! line printed while the user types lands in the middle of the typed text. So in the
//! full-screen mode exactly one thread writes to the terminal: this one. Everyone else sends it
//! messages ([`UiMessage`]): a line to print, new status lines, a new prompt, a transfer to show.
//!
//! The thread also reads the keyboard. It cannot block on a channel and on the keyboard at once,
//! so it *polls*: wait for a key up to [`TICK`], then take every message that arrived, then
//! redraw if something changed. Drawing is rate-limited to one frame per [`FRAME`]: a transfer
//! that moves a bar a million times a second still costs at most that many redraws, and a key
//! press is drawn at once so typing never lags.

use std::io::{self, Stdout};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use ratatui::backend::{Backend, ClearType, CrosstermBackend};
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::terminal;
use ratatui::layout::{Position, Size};
use ratatui::text::Line;
use ratatui::widgets::Widget;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::editor::KeyOutcome;
use super::reflow::Drawn;
use super::view::{View, hard_wrap};
use super::{Input, InputSink};

/// Longest wait for a key before looking at the messages again: how late a message from the
/// network can appear on screen, at worst.
pub const TICK: Duration = Duration::from_millis(20);

/// Waits up to `timeout` for a key; true when one is there to read.
///
/// On Unix this sleeps in `poll(2)` on standard input itself. crossterm's own `poll` with a
/// timeout cannot be used for the wait: it converts what is left of the timeout to whole
/// milliseconds, so in the last millisecond of every wait it calls `poll(2)` with 0 over and over
/// (seen with strace: about 2,000 calls a second, 4.6% of a core for an idle client).
#[cfg(unix)]
fn keys_waiting(timeout: Duration) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    let wait = Timespec::try_from(timeout).unwrap_or(Timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    });
    match poll(&mut fds, Some(&wait)) {
        Ok(ready) => Ok(ready > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Windows: crossterm's poll on the console.
#[cfg(not(unix))]
fn keys_waiting(timeout: Duration) -> io::Result<bool> {
    event::poll(timeout)
}

/// How long to wait for the next key once keys are coming (see `read_keys`).
const DRAIN: Duration = Duration::from_millis(1);

/// Shortest time between two redraws that no key caused (20 frames a second).
pub const FRAME: Duration = Duration::from_millis(50);

/// The error `serve` ends with when a termination signal arrived.
const TERMINATED: &str = "terminated by a signal";

/// The exit status after SIGTERM: 128 + 15, what a shell reports for a process it killed.
const EXIT_TERMINATED: i32 = 143;

/// A flag raised by SIGTERM or SIGHUP (`kill`, a closed terminal window). Without it those
/// signals would end the process at once and leave the terminal in raw mode: no echo, no line
/// editing, until the user types `reset`. With it, the terminal's thread sees the flag within
/// a tick, gives the terminal back and exits.
#[cfg(unix)]
fn termination_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        // If a handler cannot be installed, the signal keeps its default action.
        let _ = signal_hook::flag::register(signal, std::sync::Arc::clone(&flag));
    }
    flag
}

/// Windows has no SIGTERM to catch; closing the console window ends the process.
#[cfg(not(unix))]
fn termination_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false))
}

/// What other threads ask the terminal's thread to do.
pub enum UiMessage {
    /// Print this line above the view (it may carry ANSI colors).
    Line(String),
    /// Replace the status lines.
    Status(Vec<String>),
    /// Replace the prompt.
    Prompt(String),
    /// Show this transfer until it finishes.
    Track(indicatif::ProgressBar),
    /// Complete with these names after the commands that take them.
    Names(Vec<String>),
    /// Print what is queued, give the terminal back, and end.
    Close,
}

type Screen = Terminal<CrosstermBackend<Stdout>>;

/// A terminal in raw mode with our rows at its bottom; set back to normal when dropped, so
/// every way out of the thread (an error included) restores the terminal.
struct RawTerminal {
    screen: Screen,
    height: u16,
    /// A height the terminal could not be given (see [`RawTerminal::fit`]): not tried again.
    refused: Option<u16>,
    /// The terminal's size when the rows were made or last followed a resize.
    size: Size,
    /// What the rows hold now, to find them again after a resize.
    drawn: Drawn,
}

impl RawTerminal {
    fn open(height: u16) -> io::Result<Self> {
        terminal::enable_raw_mode()?;
        let opened = terminal::size().and_then(|(width, rows)| {
            let screen = inline_screen(height)?;
            Ok((screen, Size::new(width, rows)))
        });
        let (screen, size) = opened.inspect_err(|_| {
            let _ = terminal::disable_raw_mode();
        })?;
        Ok(Self {
            screen,
            height,
            refused: None,
            size,
            drawn: Drawn::default(),
        })
    }

    /// The inline viewport has a fixed height, so a view that grows or shrinks (a transfer
    /// starts, a status line goes) gets a new one, made where the old one started.
    ///
    /// Making one asks the terminal where its cursor is, and a terminal busy with a paste may
    /// not answer in time. Then the old viewport stays (the view draws into what it has: the
    /// input line always, status rows as they fit) and that height is not asked for again.
    fn fit(&mut self, height: u16) -> io::Result<()> {
        if height == self.height || self.refused == Some(height) {
            return Ok(());
        }
        clear_rows(&mut self.screen)?;
        self.drawn.forget();
        match inline_screen(height) {
            Ok(screen) => {
                self.screen = screen;
                self.height = height;
                self.refused = None;
            }
            Err(_) => self.refused = Some(height),
        }
        self.park_cursor()
    }

    /// The terminal is now `size` (the window was resized, a pane split), and has rewrapped
    /// what it shows, our rows included (see `console/reflow.rs`): clear from where our rows
    /// now start, and make new ones there. The next frame draws them at the new width.
    ///
    /// ratatui would follow the resize by itself at the next draw, but when the width shrinks
    /// it clears the whole screen: the chat lines on it are lost, or, on a terminal that saves
    /// a cleared screen into the scrollback (tmux), a copy of our old rows is left there.
    fn follow_resize(&mut self, size: Size) -> io::Result<()> {
        self.size = size;
        // A terminal too busy to answer (a paste): ratatui's own way at the next draw.
        let Ok(cursor) = self.screen.get_cursor_position() else {
            return Ok(());
        };
        let top = cursor
            .y
            .saturating_sub(self.drawn.rows_above_cursor(size.width));
        clear_from_row(&mut self.screen, top)?;
        self.drawn.forget();
        if let Ok(screen) = inline_screen(self.height) {
            self.screen = screen;
        }
        self.park_cursor()
    }

    /// Puts the cursor back where the last frame left it: printing above the rows moves it,
    /// and a resize must find it on our rows to know where they went.
    fn park_cursor(&mut self) -> io::Result<()> {
        let top = self.screen.get_frame().area().as_position();
        let cursor = self.drawn.cursor();
        self.screen
            .set_cursor_position(Position::new(top.x + cursor.x, top.y + cursor.y))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // Leave the screen as a shell expects it: our rows gone, the cursor where they began.
        let _ = clear_rows(&mut self.screen);
        let _ = self.screen.show_cursor();
        let _ = terminal::disable_raw_mode();
    }
}

fn inline_screen(height: u16) -> io::Result<Screen> {
    let options = TerminalOptions {
        viewport: Viewport::Inline(height),
    };
    Terminal::with_options(CrosstermBackend::new(io::stdout()), options)
}

/// Clears the viewport's rows and puts the cursor at their first column.
fn clear_rows(screen: &mut Screen) -> io::Result<()> {
    let top = screen.get_frame().area().top();
    clear_from_row(screen, top)
}

/// Clears the screen from `row` down, leaves the cursor at the row's first column, and makes
/// the next frame draw every cell (ratatui otherwise sends only what changed since the last).
///
/// "Clear from the cursor to the end of the screen" with the cursor in the top-left corner
/// clears the whole screen, and tmux (its `scroll-on-clear` option, on by default) saves a
/// screen cleared whole into the scrollback first: a copy of our rows would stay there. So
/// row 0 is cleared on its own, and the rest from row 1.
fn clear_from_row(screen: &mut Screen, row: u16) -> io::Result<()> {
    screen.set_cursor_position(Position::new(0, row))?;
    if row == 0 {
        screen.backend_mut().clear_region(ClearType::CurrentLine)?;
        screen.set_cursor_position(Position::new(0, 1))?;
    }
    screen.backend_mut().clear_region(ClearType::AfterCursor)?;
    // Each swap empties the buffer it makes the previous frame: two swaps empty both.
    screen.swap_buffers();
    screen.swap_buffers();
    screen.set_cursor_position(Position::new(0, row))
}

/// Everything the terminal's thread keeps between two turns of its loop.
pub struct Ui {
    view: View,
    messages: Receiver<UiMessage>,
    inputs: InputSink,
    /// Lines waiting to be printed above the view at the next frame.
    pending: Vec<String>,
    dirty: bool,
    last_frame: Instant,
    colors: bool,
    /// The longest typed line handed over, for the line-by-line fallback.
    max_line: usize,
}

impl Ui {
    /// A UI showing `view`, fed by `messages`, delivering typed lines to `inputs`.
    pub fn new(
        view: View,
        messages: Receiver<UiMessage>,
        inputs: InputSink,
        colors: bool,
        max_line: usize,
    ) -> Self {
        Self {
            view,
            messages,
            inputs,
            pending: Vec::new(),
            dirty: true,
            last_frame: Instant::now(),
            colors,
            max_line,
        }
    }

    /// Runs until told to close or until the program that sends messages is gone.
    pub fn run(mut self, ready: Sender<io::Result<()>>) {
        let mut raw = match RawTerminal::open(self.view.height()) {
            Ok(raw) => {
                let _ = ready.send(Ok(()));
                raw
            }
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        let outcome = self.serve(&mut raw);
        drop(raw);
        if let Err(err) = &outcome
            && err.to_string() == TERMINATED
        {
            // SIGTERM or SIGHUP: the terminal is ours again (above); now end as the signal
            // would have ended us, 128 + its number, as shells report it.
            std::process::exit(EXIT_TERMINATED);
        }
        if let Err(err) = outcome {
            self.fall_back(&err);
        }
    }

    /// The terminal failed under us (it stopped answering, or went away). The client must not
    /// lose its output or its keyboard because of that: the console closes, what was queued is
    /// printed line by line, and the keyboard is read line by line from now on, as in the plain
    /// mode.
    fn fall_back(mut self, err: &io::Error) {
        super::lock_active().take();
        crate::term::warn(format!(
            "the terminal stopped answering ({err}); going on line by line"
        ));
        for line in self.pending.drain(..) {
            crate::term::line(line);
        }
        while let Ok(message) = self.messages.try_recv() {
            if let UiMessage::Line(line) = message {
                crate::term::line(line);
            }
        }
        let inputs = self.inputs;
        let max_line = self.max_line;
        // On a thread of its own, so that closing the console (which waits for this thread)
        // does not wait for a key.
        let _ = crate::accept::spawn_named("keyboard", move || {
            super::read_plain_lines(&inputs, max_line);
        });
    }

    fn serve(&mut self, raw: &mut RawTerminal) -> io::Result<()> {
        let terminated = termination_flag();
        loop {
            if terminated.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, TERMINATED));
            }
            let typed = self.read_keys()?;
            let open = self.take_messages();
            // After the wait for keys, just before anything is drawn: ratatui must never see
            // the new size before we do (see `RawTerminal::follow_resize`).
            self.notice_resize(raw)?;
            self.flush_lines(raw)?;
            if self.view.prune_bars() {
                self.dirty = true;
            }
            raw.fit(self.view.height())?;
            let due = self.last_frame.elapsed() >= FRAME;
            if typed || (due && (self.dirty || self.view.has_bars())) {
                self.draw(raw)?;
            }
            if !open {
                return Ok(());
            }
        }
    }

    /// Handles the keys that come within one tick; true if any changed the input line.
    fn read_keys(&mut self) -> io::Result<bool> {
        let mut typed = false;
        if !keys_waiting(TICK)? {
            return Ok(false);
        }
        // Not zero: crossterm's poll with a zero timeout returns at once without looking at the
        // events it has already read and parsed, so a paste would then trickle in at one key
        // per tick. A millisecond lets it hand them over.
        while event::poll(DRAIN)? {
            let event = event::read()?;
            if let Event::Resize(..) = event {
                self.dirty = true;
                continue;
            }
            typed |= self.key(&event);
        }
        Ok(typed)
    }

    /// A resized terminal needs its rows found again and a full redraw; noticed by asking its
    /// size each tick, since the resize event only arrives with the next key (see
    /// [`keys_waiting`]).
    fn notice_resize(&mut self, raw: &mut RawTerminal) -> io::Result<()> {
        let (width, height) = terminal::size()?;
        let size = Size::new(width, height);
        if size != raw.size {
            raw.follow_resize(size)?;
            self.dirty = true;
        }
        Ok(())
    }

    fn key(&mut self, event: &Event) -> bool {
        match self.view.editor.handle(event) {
            KeyOutcome::Nothing => false,
            KeyOutcome::Edited => true,
            KeyOutcome::Submitted(line) => {
                // Raw mode echoes nothing: the finished line goes to the scrollback, as it
                // would have stayed on screen in the plain mode.
                let echo = format!("{}{line}", self.view.prompt());
                self.pending.push(crate::term::mine(echo));
                self.inputs.deliver(Input::Line(line));
                true
            }
            KeyOutcome::Interrupted => {
                self.pending.push(crate::term::tagged_info(
                    "Ctrl-C: press it again, or Ctrl-D, to quit",
                ));
                self.inputs.deliver(Input::Interrupt);
                true
            }
            KeyOutcome::EndOfInput => {
                self.inputs.deliver(Input::Ended);
                true
            }
            KeyOutcome::Candidates(choices) => {
                self.pending.push(choices.join("  "));
                true
            }
        }
    }

    /// Takes every waiting message; false once the console is closed or abandoned.
    fn take_messages(&mut self) -> bool {
        loop {
            match self.messages.try_recv() {
                Ok(UiMessage::Line(line)) => self.pending.push(line),
                Ok(UiMessage::Status(lines)) => {
                    self.view.set_status(lines);
                    self.dirty = true;
                }
                Ok(UiMessage::Prompt(prompt)) => {
                    self.view.set_prompt(&prompt);
                    self.dirty = true;
                }
                Ok(UiMessage::Names(names)) => self.view.editor.completer_mut().set_names(names),
                Ok(UiMessage::Track(bar)) => {
                    self.view.track(&bar);
                    self.dirty = true;
                }
                Ok(UiMessage::Close) | Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    /// Prints the waiting lines above the view, in one insertion.
    fn flush_lines(&mut self, raw: &mut RawTerminal) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let width = raw.screen.size()?.width;
        let rows: Vec<Line<'static>> = self
            .pending
            .drain(..)
            .flat_map(|text| {
                // One message may hold several lines (a hex dump): each is a row of its own.
                text.split('\n')
                    .flat_map(|line| hard_wrap(super::view::styled_line(line, self.colors), width))
                    .collect::<Vec<_>>()
            })
            .collect();
        // ratatui writes the rows in pieces of at most a screen; the count fits in a u16 for
        // any sane batch, and a larger one is cut rather than wrapped around.
        let height = u16::try_from(rows.len()).unwrap_or(u16::MAX);
        raw.screen.insert_before(height, |buffer| {
            for (row, line) in buffer.area.rows().zip(rows) {
                line.render(row, buffer);
            }
        })?;
        raw.park_cursor()?;
        self.dirty = true;
        Ok(())
    }

    fn draw(&mut self, raw: &mut RawTerminal) -> io::Result<()> {
        let view = &self.view;
        let mut cursor = Position::ORIGIN;
        let frame = raw.screen.draw(|frame| {
            let area = frame.area();
            cursor = view.render(area, frame.buffer_mut());
            frame.set_cursor_position(cursor);
        })?;
        let top = frame.buffer.area.as_position();
        let in_view = Position::new(
            cursor.x.saturating_sub(top.x),
            cursor.y.saturating_sub(top.y),
        );
        raw.drawn.record(frame.buffer, in_view);
        self.dirty = false;
        self.last_frame = Instant::now();
        Ok(())
    }
}
