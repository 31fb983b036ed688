//! # What the bottom of the screen holds
//!
//! The full-screen mode keeps a few rows at the bottom of the terminal for itself, ratatui's
//! *inline viewport*: the status lines a client sets (connection, whose turn it is, a game
//! board), one row per running transfer, and the input line with its prompt. Everything the
//! program prints goes *above* those rows, into the terminal's ordinary scrollback, where the
//! terminal's own scrolling and copy/paste keep working.
//!
//! [`View`] is that state and how it is drawn. It never touches a terminal: it draws into a
//! ratatui [`Buffer`], which is how the tests check what the screen would show.

use ansi_to_tui::IntoText;
use indicatif::{ProgressBar, WeakProgressBar};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::editor::Editor;
use crate::progress::human_bytes;

/// Columns of the `[=====>    ]` part of a transfer row, as in the plain mode's bars.
const GAUGE_WIDTH: usize = 30;

/// The rows at the bottom of the screen.
pub struct View {
    /// The line being typed.
    pub editor: Editor,
    prompt: String,
    status: Vec<String>,
    bars: Vec<WeakProgressBar>,
    colors: bool,
}

impl View {
    /// A view with `prompt` before the input line; `colors` false draws without any style
    /// (the user set `NO_COLOR`).
    pub fn new(editor: Editor, prompt: &str, colors: bool) -> Self {
        Self {
            editor,
            prompt: prompt.to_string(),
            status: Vec::new(),
            bars: Vec::new(),
            colors,
        }
    }

    /// Replaces the status lines (they may carry ANSI colors, as `term` makes them).
    pub fn set_status(&mut self, lines: Vec<String>) {
        self.status = lines;
    }

    /// Replaces the prompt; an empty prompt is allowed (pair chat shows none out of turn).
    pub fn set_prompt(&mut self, prompt: &str) {
        self.prompt = prompt.to_string();
    }

    /// The prompt shown before the input line.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// Shows `bar` until it finishes or every copy of it is dropped.
    pub fn track(&mut self, bar: &ProgressBar) {
        self.bars.push(bar.downgrade());
    }

    /// Forgets the bars that finished or were dropped; true when one went.
    pub fn prune_bars(&mut self) -> bool {
        let before = self.bars.len();
        self.bars
            .retain(|bar| bar.upgrade().is_some_and(|bar| !bar.is_finished()));
        self.bars.len() != before
    }

    /// Are transfers running (the screen then changes without any event)?
    pub fn has_bars(&self) -> bool {
        !self.bars.is_empty()
    }

    /// Rows the view needs: status, one per transfer, the input line.
    pub fn height(&self) -> u16 {
        let rows = self.status.len() + self.bars.len() + 1;
        u16::try_from(rows).unwrap_or(u16::MAX)
    }

    /// Draws the view into `area` of `buffer`; returns where the cursor belongs.
    pub fn render(&self, area: Rect, buffer: &mut Buffer) -> Position {
        // The input line is always the bottom row; the others fill what is left above it.
        let above = Rect {
            height: area.height.saturating_sub(1),
            ..area
        };
        let input_row = Rect {
            y: area.bottom().saturating_sub(1),
            height: 1,
            ..area
        };
        let mut rows = above.rows();
        for (index, status) in self.status.iter().enumerate() {
            let Some(row) = rows.next() else { break };
            let line = self.status_line(index, status);
            cut_to_width(line, usize::from(row.width)).render(row, buffer);
        }
        for bar in self.bars.iter().filter_map(WeakProgressBar::upgrade) {
            let Some(row) = rows.next() else { break };
            Line::raw(bar_row(&bar, usize::from(area.width))).render(row, buffer);
        }
        self.render_input(input_row, buffer)
    }

    /// The first status line is drawn reversed, as a status bar, so the viewport reads apart
    /// from the scrollback above it; without colors it is drawn as typed.
    fn status_line(&self, index: usize, text: &str) -> Line<'static> {
        let mut line = self.styled(text);
        if index == 0 && self.colors {
            line = line.patch_style(Style::new().add_modifier(Modifier::REVERSED));
        }
        line
    }

    fn render_input(&self, row: Rect, buffer: &mut Buffer) -> Position {
        let prompt_width = self.prompt.width();
        let room = usize::from(row.width)
            .saturating_sub(prompt_width + 1)
            .max(1);
        let scroll = self.editor.scroll(room);
        let visible: String = skip_columns(self.editor.text(), scroll);
        let prompt_style = if self.colors {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        Line::from(vec![
            Span::styled(self.prompt.clone(), prompt_style),
            Span::raw(visible),
        ])
        .render(row, buffer);
        let column = prompt_width + self.editor.cursor_column().saturating_sub(scroll);
        let column = u16::try_from(column)
            .unwrap_or(u16::MAX)
            .min(row.width.saturating_sub(1));
        Position::new(row.x + column, row.y)
    }

    /// A line that may carry ANSI styles, as ratatui text; plain when colors are off.
    pub fn styled(&self, text: &str) -> Line<'static> {
        styled_line(text, self.colors)
    }
}

/// `text` with its ANSI escapes turned into ratatui styles (or dropped, without colors). Text
/// from the network was sanitized before it got here, so the only escapes are our own.
pub fn styled_line(text: &str, colors: bool) -> Line<'static> {
    let converted = text
        .as_bytes()
        .into_text()
        .unwrap_or_else(|_| Text::raw(text.to_string()));
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (index, line) in converted.lines.into_iter().enumerate() {
        if index > 0 {
            spans.push(Span::raw(" "));
        }
        for span in line.spans {
            let style = if colors { span.style } else { Style::new() };
            spans.push(Span::styled(span.content, style));
        }
    }
    Line::from(spans)
}

/// `line` cut into rows of at most `width` columns, as the terminal itself would wrap it, so
/// the rows inserted above the view are exactly as many as the text needs.
pub fn hard_wrap(line: Line<'static>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    let mut rows = vec![Line::default()];
    let mut used = 0;
    for span in line.spans {
        let mut piece = String::new();
        for character in span.content.chars() {
            let columns = unicode_width::UnicodeWidthChar::width(character).unwrap_or(0);
            if used + columns > width {
                if let Some(row) = rows.last_mut() {
                    row.spans
                        .push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Line::default());
                used = 0;
            }
            piece.push(character);
            used += columns;
        }
        if let Some(row) = rows.last_mut() {
            row.spans.push(Span::styled(piece, span.style));
        }
    }
    rows
}

/// What ends a status line cut to the terminal's width, so that it reads as cut.
const CUT: &str = "…";

/// `line` as it fits in `width` columns: whole when it fits; otherwise as much of its start
/// as fits before [`CUT`], which takes the last column. (A status line is one row: wrapped
/// onto two, it would push the input line off the rows the view has.)
pub fn cut_to_width(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let room = width.saturating_sub(CUT.width());
    let mut used = 0;
    let mut spans = Vec::new();
    let mut last_style = Style::new();
    for span in line.spans {
        last_style = span.style;
        let kept: String = span
            .content
            .chars()
            .take_while(|character| {
                used += unicode_width::UnicodeWidthChar::width(*character).unwrap_or(0);
                used <= room
            })
            .collect();
        let whole = kept.len() == span.content.len();
        spans.push(Span::styled(kept, span.style));
        if !whole {
            break;
        }
    }
    if width >= CUT.width() {
        spans.push(Span::styled(CUT, last_style));
    }
    Line::from(spans).style(line.style)
}

/// `text` without its first `columns` terminal columns.
fn skip_columns(text: &str, columns: usize) -> String {
    let mut skipped = 0;
    text.chars()
        .skip_while(|character| {
            let skip = skipped < columns;
            skipped += unicode_width::UnicodeWidthChar::width(*character).unwrap_or(0);
            skip
        })
        .collect()
}

/// `bytes_per_second` as `"12.3 MiB/s"`.
fn human_rate_per_sec(bytes_per_second: f64) -> String {
    if !bytes_per_second.is_finite() || bytes_per_second < 0.0 {
        return "-".to_string();
    }
    format!("{}/s", human_bytes(bytes_per_second.round() as u64))
}

/// `send big.iso [=========>          ] 120.00 MiB/300.00 MiB 1.20 GiB/s ETA 2s`, cut to `width`.
pub fn bar_row(bar: &ProgressBar, width: usize) -> String {
    let done = bar.position();
    let total = bar.length().unwrap_or(0);
    let filled = if total == 0 {
        0
    } else {
        (u128::from(done.min(total)) * GAUGE_WIDTH as u128 / u128::from(total)) as usize
    };
    let mut gauge = "=".repeat(filled);
    if filled < GAUGE_WIDTH {
        gauge.push('>');
        gauge.push_str(&" ".repeat(GAUGE_WIDTH - filled - 1));
    }
    // indicatif's own estimate, not bytes over elapsed time: a resumed download starts at
    // its offset, and those bytes did not move in this run.
    let rate = human_rate_per_sec(bar.per_sec());
    let eta = bar.eta().as_secs();
    let row = format!(
        "{} [{gauge}] {}/{} {rate} ETA {eta}s",
        bar.message(),
        human_bytes(done),
        human_bytes(total)
    );
    row.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::console::complete::Completer;
    use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

    fn view(prompt: &str) -> View {
        View::new(Editor::new(Completer::default()), prompt, true)
    }

    fn type_text(view: &mut View, text: &str) {
        for character in text.chars() {
            let key = KeyEvent::new(KeyCode::Char(character), KeyModifiers::NONE);
            view.editor.handle(&Event::Key(key));
        }
    }

    /// The rows of `buffer` as plain text, trailing spaces removed.
    fn rows(buffer: &Buffer) -> Vec<String> {
        let area = buffer.area;
        (area.top()..area.bottom())
            .map(|y| {
                let row: String = (area.left()..area.right())
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect();
                row.trim_end().to_string()
            })
            .collect()
    }

    fn draw(view: &View, width: u16) -> (Vec<String>, Position) {
        let area = Rect::new(0, 0, width, view.height());
        let mut buffer = Buffer::empty(area);
        let cursor = view.render(area, &mut buffer);
        (rows(&buffer), cursor)
    }

    /// Status lines sit above the input line; the cursor follows the typed text.
    #[test]
    fn status_then_input() {
        let mut view = view("Enter Input > ");
        view.set_status(vec![
            "connected to 127.0.0.1:7070".into(),
            "your turn".into(),
        ]);
        type_text(&mut view, "half typed");
        let (screen, cursor) = draw(&view, 40);
        assert_eq!(
            screen,
            [
                "connected to 127.0.0.1:7070",
                "your turn",
                "Enter Input > half typed"
            ]
        );
        assert_eq!(cursor, Position::new(24, 2));
    }

    /// A line longer than the screen scrolls so the cursor stays visible.
    #[test]
    fn long_input_scrolls() {
        let mut view = view("> ");
        type_text(&mut view, "abcdefghijklmnopqrstuvwxyz");
        let (screen, cursor) = draw(&view, 12);
        assert_eq!(screen.len(), 1);
        assert!(screen[0].starts_with("> "), "{screen:?}");
        assert!(
            screen[0].ends_with('z') || screen[0].ends_with("yz"),
            "{screen:?}"
        );
        assert!(cursor.x < 12);
    }

    /// A running transfer gets a row; a finished one leaves the view.
    #[test]
    fn transfer_rows_come_and_go() {
        let mut view = view("> ");
        let bar = ProgressBar::hidden();
        bar.set_length(1024 * 1024);
        bar.set_message("send big.iso");
        bar.set_position(512 * 1024);
        view.track(&bar);
        assert_eq!(view.height(), 2);
        let (screen, _) = draw(&view, 120);
        assert!(
            screen[0].starts_with("send big.iso [===============>              ] 512 KiB/1 MiB"),
            "{screen:?}"
        );
        bar.finish();
        assert!(view.prune_bars());
        assert_eq!(view.height(), 1);
    }

    /// A dropped bar (a transfer that failed) also leaves the view.
    #[test]
    fn dropped_bar_leaves() {
        let mut view = view("> ");
        let bar = ProgressBar::hidden();
        view.track(&bar);
        drop(bar);
        assert!(view.prune_bars());
    }

    /// Colors in a status line survive as styles; without colors they are dropped.
    #[test]
    fn ansi_colors_become_styles() {
        let red = "\x1b[31mERR\x1b[0m ok";
        let line = styled_line(red, true);
        assert_eq!(line.to_string(), "ERR ok");
        assert_ne!(line.spans[0].style, Style::new());
        let plain = styled_line(red, false);
        assert!(plain.spans.iter().all(|span| span.style == Style::new()));
    }

    /// A status line wider than the terminal is cut to one row ending in `…`; one that fits
    /// is left whole; a wide character that would straddle the cut goes with it.
    #[test]
    fn status_lines_are_cut_with_a_mark() {
        let mut view = view("> ");
        view.set_status(vec![
            "duplex chat with 127.0.0.1:7070".into(),
            "short".into(),
        ]);
        type_text(&mut view, "typed");
        let (screen, cursor) = draw(&view, 20);
        assert_eq!(screen, ["duplex chat with 12…", "short", "> typed"]);
        assert_eq!(cursor, Position::new(7, 2));
        let cut = |text: &str, width| cut_to_width(Line::raw(text.to_string()), width).to_string();
        assert_eq!(cut("exactly", 7), "exactly");
        assert_eq!(cut("你好吗", 4), "你…");
        assert_eq!(cut("abc", 1), "…");
        assert_eq!(cut("abc", 0), "");
    }

    /// Wrapping cuts at the width, counting wide characters as two columns.
    #[test]
    fn hard_wrap_counts_columns() {
        let rows = hard_wrap(Line::raw("abcdefgh"), 3);
        let text: Vec<String> = rows.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["abc", "def", "gh"]);
        let rows = hard_wrap(Line::raw("你好吗"), 4);
        let text: Vec<String> = rows.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["你好", "吗"]);
        assert_eq!(hard_wrap(Line::raw(""), 10).len(), 1);
    }
}
