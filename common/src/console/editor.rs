//! # The input line: editing, history and completion
//!
//! In the plain mode the terminal itself edits the line (the kernel's *canonical mode*: it
//! buffers what you type and hands the program a whole line on Enter; Backspace works, the
//! arrows print `^[[D`). The full-screen mode switches the terminal to *raw mode*, where every
//! key reaches the program at once and nothing is echoed, so the program must do the editing
//! itself. This module is that editor: one line of text with a cursor, the lines typed earlier
//! (Up and Down recall them, as in a shell), and Tab completion of the lab's commands and of
//! local file names.
//!
//! The editing keys themselves (arrows, Home/End, Ctrl-A/E/W/U/K, word moves, wide characters)
//! come from the `tui-input` crate; history, completion and the keys that end or cancel a line
//! are ours. Nothing here touches the terminal: it turns key events into outcomes, so it is
//! tested without one.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::Input as LineBuffer;
use tui_input::backend::crossterm::to_input_request;

use super::complete::{Completer, Completion};

/// Lines kept for Up/Down recall. A session's worth; older ones are forgotten.
const HISTORY_LIMIT: usize = 1000;

/// What a key did, as far as the rest of the program cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Nothing visible changed.
    Nothing,
    /// The line or the cursor changed: redraw the input line.
    Edited,
    /// Enter: this line is finished and leaves the editor.
    Submitted(String),
    /// Ctrl-C on an empty line: the program decides (cancel a transfer, or get ready to quit).
    Interrupted,
    /// Ctrl-D on an empty line, or Ctrl-C twice: the user wants to quit.
    EndOfInput,
    /// Tab found several candidates and could not extend the word: show them to the user.
    Candidates(Vec<String>),
}

/// One input line plus its history and completer.
pub struct Editor {
    line: LineBuffer,
    history: Vec<String>,
    /// Position while browsing history with Up/Down: `None` when editing a fresh line.
    browsing: Option<usize>,
    /// The fresh line put aside while browsing history, given back by Down past the newest.
    draft: String,
    completer: Completer,
    /// The previous key was a Ctrl-C that interrupted: a second one quits.
    armed_interrupt: bool,
    /// The longest line, in bytes, the editor takes.
    max_len: usize,
}

impl Editor {
    /// An empty editor completing with `completer`.
    pub fn new(completer: Completer) -> Self {
        Self {
            line: LineBuffer::default(),
            history: Vec::new(),
            browsing: None,
            draft: String::new(),
            completer,
            armed_interrupt: false,
            max_len: usize::MAX,
        }
    }

    /// Stops taking characters once the line holds `bytes` bytes (the protocol's limit).
    pub fn with_max_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// What Tab completes with (the program may change its names while it runs).
    pub fn completer_mut(&mut self) -> &mut Completer {
        &mut self.completer
    }

    /// The text being typed.
    pub fn text(&self) -> &str {
        self.line.value()
    }

    /// Where the cursor is, in terminal columns from the start of the line (wide characters
    /// such as 你 take two).
    pub fn cursor_column(&self) -> usize {
        self.line.visual_cursor()
    }

    /// How far the line must scroll left so the cursor stays visible in `width` columns.
    pub fn scroll(&self, width: usize) -> usize {
        self.line.visual_scroll(width)
    }

    /// Feeds one terminal event (key presses only; releases and repeats of other kinds are
    /// ignored, as Windows reports both).
    pub fn handle(&mut self, event: &Event) -> KeyOutcome {
        let Event::Key(key) = event else {
            return KeyOutcome::Nothing;
        };
        if key.kind == KeyEventKind::Release {
            return KeyOutcome::Nothing;
        }
        let is_ctrl_c = key.code == KeyCode::Char('c') && key.modifiers == KeyModifiers::CONTROL;
        let armed = std::mem::replace(&mut self.armed_interrupt, false);
        if is_ctrl_c {
            return self.interrupt(armed);
        }
        match (key.code, key.modifiers) {
            (KeyCode::Enter, _) => self.submit(),
            (KeyCode::Char('d'), KeyModifiers::CONTROL) if self.text().is_empty() => {
                KeyOutcome::EndOfInput
            }
            (KeyCode::Char('d'), KeyModifiers::CONTROL) => self.edit(&delete_next()),
            (KeyCode::Up, KeyModifiers::NONE) | (KeyCode::Char('p'), KeyModifiers::CONTROL) => {
                self.older()
            }
            (KeyCode::Down, KeyModifiers::NONE) | (KeyCode::Char('n'), KeyModifiers::CONTROL) => {
                self.newer()
            }
            (KeyCode::Tab, KeyModifiers::NONE) => self.complete(),
            _ => self.edit(event),
        }
    }

    /// Ctrl-C: clears a half-typed line (as a shell does); on an empty line it interrupts, and
    /// a second Ctrl-C in a row ends the input.
    fn interrupt(&mut self, armed: bool) -> KeyOutcome {
        if !self.text().is_empty() {
            self.line.reset();
            self.browsing = None;
            return KeyOutcome::Edited;
        }
        if armed {
            return KeyOutcome::EndOfInput;
        }
        self.armed_interrupt = true;
        KeyOutcome::Interrupted
    }

    fn submit(&mut self) -> KeyOutcome {
        let line = self.line.value_and_reset();
        self.browsing = None;
        self.draft.clear();
        let repeats_last = self.history.last().is_some_and(|last| *last == line);
        if !line.trim().is_empty() && !repeats_last {
            if self.history.len() == HISTORY_LIMIT {
                self.history.remove(0);
            }
            self.history.push(line.clone());
        }
        KeyOutcome::Submitted(line)
    }

    fn edit(&mut self, event: &Event) -> KeyOutcome {
        let before = self.line.clone();
        match to_input_request(event).and_then(|request| self.line.handle(request)) {
            Some(_) if self.text().len() > self.max_len => {
                self.line = before; // a character over the limit is not taken
                KeyOutcome::Nothing
            }
            Some(_) => KeyOutcome::Edited,
            None => KeyOutcome::Nothing,
        }
    }

    /// Up: the line typed before the one shown.
    fn older(&mut self) -> KeyOutcome {
        let index = match self.browsing {
            None if self.history.is_empty() => return KeyOutcome::Nothing,
            None => {
                self.draft = self.text().to_string();
                self.history.len() - 1
            }
            Some(0) => return KeyOutcome::Nothing,
            Some(index) => index - 1,
        };
        self.show_history(index)
    }

    /// Down: the line typed after the one shown, then the fresh line again.
    fn newer(&mut self) -> KeyOutcome {
        let Some(index) = self.browsing else {
            return KeyOutcome::Nothing;
        };
        if index + 1 < self.history.len() {
            return self.show_history(index + 1);
        }
        self.browsing = None;
        self.line = LineBuffer::new(std::mem::take(&mut self.draft));
        KeyOutcome::Edited
    }

    fn show_history(&mut self, index: usize) -> KeyOutcome {
        let Some(line) = self.history.get(index) else {
            return KeyOutcome::Nothing;
        };
        self.browsing = Some(index);
        self.line = LineBuffer::new(line.clone());
        KeyOutcome::Edited
    }

    /// Tab: completes the word before the cursor.
    fn complete(&mut self) -> KeyOutcome {
        let cursor_byte = self
            .text()
            .char_indices()
            .nth(self.line.cursor())
            .map_or(self.text().len(), |(at, _)| at);
        let (before, after) = self.text().split_at(cursor_byte);
        match self.completer.complete(before) {
            Completion::None => KeyOutcome::Nothing,
            Completion::Extend(longer) => {
                let cursor = longer.chars().count();
                let text = format!("{longer}{after}");
                self.line = LineBuffer::new(text).with_cursor(cursor);
                KeyOutcome::Edited
            }
            Completion::Choices(choices) => KeyOutcome::Candidates(choices),
        }
    }
}

/// The event Delete would send, for Ctrl-D on a non-empty line (delete under the cursor).
fn delete_next() -> Event {
    Event::Key(KeyEvent::new(KeyCode::Delete, KeyModifiers::NONE))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(letter: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(letter), KeyModifiers::CONTROL))
    }

    fn type_text(editor: &mut Editor, text: &str) {
        for character in text.chars() {
            editor.handle(&key(KeyCode::Char(character)));
        }
    }

    fn editor() -> Editor {
        Editor::new(Completer::new(&["/send", "/nick", "/quit"], &["/send"]))
    }

    /// Typing builds the line; Enter hands it over and leaves the editor empty.
    #[test]
    fn enter_submits_the_line() {
        let mut editor = editor();
        type_text(&mut editor, "hello");
        assert_eq!(
            editor.handle(&key(KeyCode::Enter)),
            KeyOutcome::Submitted("hello".into())
        );
        assert_eq!(editor.text(), "");
    }

    /// Home, Ctrl-E, Ctrl-W and Ctrl-U edit as in a shell.
    #[test]
    fn shell_editing_keys() {
        let mut editor = editor();
        type_text(&mut editor, "world");
        editor.handle(&key(KeyCode::Home));
        type_text(&mut editor, "hello ");
        assert_eq!(editor.text(), "hello world");
        editor.handle(&ctrl('e'));
        editor.handle(&ctrl('w'));
        assert_eq!(editor.text(), "hello ");
        editor.handle(&ctrl('u'));
        assert_eq!(editor.text(), "");
    }

    /// Up recalls earlier lines, newest first; Down walks back to the half-typed draft.
    #[test]
    fn history_recall() {
        let mut editor = editor();
        for line in ["first", "second"] {
            type_text(&mut editor, line);
            editor.handle(&key(KeyCode::Enter));
        }
        type_text(&mut editor, "draft");
        editor.handle(&key(KeyCode::Up));
        assert_eq!(editor.text(), "second");
        editor.handle(&key(KeyCode::Up));
        assert_eq!(editor.text(), "first");
        assert_eq!(editor.handle(&key(KeyCode::Up)), KeyOutcome::Nothing);
        editor.handle(&key(KeyCode::Down));
        editor.handle(&key(KeyCode::Down));
        assert_eq!(editor.text(), "draft");
    }

    /// The same line twice in a row, and blank lines, are kept once / not at all.
    #[test]
    fn history_skips_repeats_and_blanks() {
        let mut editor = editor();
        for line in ["again", "again", "  "] {
            type_text(&mut editor, line);
            editor.handle(&key(KeyCode::Enter));
        }
        editor.handle(&key(KeyCode::Up));
        assert_eq!(editor.text(), "again");
        assert_eq!(editor.handle(&key(KeyCode::Up)), KeyOutcome::Nothing);
    }

    /// Ctrl-C clears a half-typed line; on an empty line it interrupts, twice in a row quits.
    #[test]
    fn ctrl_c_clears_then_interrupts_then_quits() {
        let mut editor = editor();
        type_text(&mut editor, "oops");
        assert_eq!(editor.handle(&ctrl('c')), KeyOutcome::Edited);
        assert_eq!(editor.text(), "");
        assert_eq!(editor.handle(&ctrl('c')), KeyOutcome::Interrupted);
        assert_eq!(editor.handle(&ctrl('c')), KeyOutcome::EndOfInput);
    }

    /// A key between two Ctrl-C disarms the second: it interrupts again instead of quitting.
    #[test]
    fn ctrl_c_pair_must_be_consecutive() {
        let mut editor = editor();
        editor.handle(&ctrl('c'));
        editor.handle(&key(KeyCode::Left));
        assert_eq!(editor.handle(&ctrl('c')), KeyOutcome::Interrupted);
    }

    /// Ctrl-D quits on an empty line and deletes under the cursor otherwise.
    #[test]
    fn ctrl_d() {
        let mut editor = editor();
        type_text(&mut editor, "ab");
        editor.handle(&key(KeyCode::Home));
        editor.handle(&ctrl('d'));
        assert_eq!(editor.text(), "b");
        editor.handle(&ctrl('u'));
        assert_eq!(editor.handle(&ctrl('d')), KeyOutcome::EndOfInput);
    }

    /// The editor stops taking characters at its limit.
    #[test]
    fn max_len_is_enforced() {
        let mut editor = editor().with_max_len(3);
        type_text(&mut editor, "abcdef");
        assert_eq!(editor.text(), "abc");
    }

    /// Tab completes a command name and keeps the text after the cursor.
    #[test]
    fn tab_completes_a_command() {
        let mut editor = editor();
        type_text(&mut editor, "/ni");
        assert_eq!(editor.handle(&key(KeyCode::Tab)), KeyOutcome::Edited);
        assert_eq!(editor.text(), "/nick ");
        assert_eq!(editor.cursor_column(), 6);
    }

    /// Tab with several candidates and nothing to add lists them.
    #[test]
    fn tab_lists_choices() {
        let mut editor = Editor::new(Completer::new(&["/send", "/sell"], &[]));
        type_text(&mut editor, "/s");
        assert_eq!(editor.handle(&key(KeyCode::Tab)), KeyOutcome::Edited);
        assert_eq!(editor.text(), "/se");
        assert_eq!(
            editor.handle(&key(KeyCode::Tab)),
            KeyOutcome::Candidates(vec!["/sell".into(), "/send".into()])
        );
    }
}
