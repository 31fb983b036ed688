//! # Where our rows went when the terminal was resized
//!
//! A terminal holds its text as lines of cells. When the window gets narrower, most terminals
//! in use today (tmux among them) *rewrap* (reflow) each line to the new width: a row of 60
//! columns becomes two rows at 40, and the cursor moves with the cell it was on. The rows the
//! console keeps at the bottom (status, bars, the input line) are rewrapped too, so after a
//! resize they are no longer where the program drew them, and they take more rows than it drew.
//!
//! Drawing the new frame over where the rows *were* would leave the pieces that wrapped onto
//! extra rows on the screen, and later in the scrollback: a stale status row, a stale bar.
//! Clearing the whole screen (what ratatui does when the width shrinks) throws away the chat
//! lines on screen as well, or, on terminals that save a cleared screen into the scrollback
//! (tmux does), leaves a copy of the old rows there.
//!
//! Instead, [`Drawn`] remembers how wide each row was drawn and where the cursor was in them;
//! after a resize, [`Drawn::rows_above_cursor`] works out how many rows above the cursor the
//! rewrapped view now starts. The console clears from there down and draws the view again.
//! The cursor itself tells where it is now (the terminal answers a cursor position request).
//!
//! Two cases this cannot get right. A frame drawn after the terminal changed size but before
//! the program heard of it is drawn for the old size, and leaves the cursor at its old row, so
//! the answer describes the old layout. That window is wide in tmux, which tells a program of a
//! second resize within 250 ms up to 250 ms late: while a transfer's bar is redrawn 20 times a
//! second, growing the window back moves the lines tmux brings back from its scrollback under
//! the cursor's old row, and the lines just above the view are cleared with it (the tests saw
//! one line go). And when tmux rewraps, it keeps the blank rows under the cursor and pushes the
//! top rows into its scrollback: a view near the top of the screen can have its first rows
//! pushed there, where no program can clear them.
//!
//! A terminal that does not rewrap (xterm, for one) cuts long rows instead; there
//! every row stays one row, so when the width shrinks the estimate is too high by the rows that
//! would have wrapped, and that many lines just above the view are cleared with it. Better than
//! a cleared screen, which is what those terminals showed before.

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Position;
use unicode_width::UnicodeWidthStr;

/// What the console's rows on the terminal hold since they were last cleared.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drawn {
    /// For each row of the view, from its top: the columns the terminal counts as written.
    widths: Vec<u16>,
    /// Where the cursor was left, relative to the view's top-left corner.
    cursor: Position,
}

impl Drawn {
    /// Records a frame: `buffer` as drawn, with the cursor left at `cursor` (relative to the
    /// buffer's top-left corner).
    ///
    /// A row's width only grows until the rows are cleared: when a frame has less text in a
    /// row than the one before, the terminal was sent spaces over the old text, and a terminal
    /// counts written spaces as part of the line when it rewraps it.
    pub fn record(&mut self, buffer: &Buffer, cursor: Position) {
        let area = buffer.area;
        let widths = (area.top()..area.bottom()).map(|y| written_width(buffer, y));
        for (index, width) in widths.enumerate() {
            match self.widths.get_mut(index) {
                Some(known) => *known = (*known).max(width),
                None => self.widths.push(width),
            }
        }
        self.cursor = cursor;
    }

    /// The rows are blank again (cleared), with the cursor at their top-left corner.
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// Where the cursor was left, relative to the view's top-left corner.
    pub fn cursor(&self) -> Position {
        self.cursor
    }

    /// How many rows above the cursor the view starts once the terminal has rewrapped every
    /// row to `width` columns: the rows above the cursor's row, each now taking as many rows
    /// as its width needs, plus the rows of the cursor's own line before the cursor.
    pub fn rows_above_cursor(&self, width: u16) -> u16 {
        let row = usize::from(self.cursor.y);
        let above: u16 = self
            .widths
            .iter()
            .take(row)
            .map(|written| rows_needed(*written, width))
            .fold(0, u16::saturating_add);
        let own_width = self.widths.get(row).copied().unwrap_or(0);
        let own_rows = rows_needed(own_width.max(self.cursor.x), width);
        // A cursor just after the last column stays at the end of the line's last row
        // (as tmux does), not at the start of a row below it.
        let own = (self.cursor.x / width.max(1)).min(own_rows.saturating_sub(1));
        above.saturating_add(own)
    }
}

/// Rows a line of `written` columns takes on a terminal `width` columns wide (an empty line
/// still takes one).
fn rows_needed(written: u16, width: u16) -> u16 {
    written.div_ceil(width.max(1)).max(1)
}

/// Columns of row `y` of `buffer` up to its last cell that is not blank (a space with no
/// style): what the terminal was sent for that row when it was drawn on a cleared line.
fn written_width(buffer: &Buffer, y: u16) -> u16 {
    let area = buffer.area;
    let blank = Cell::default();
    (area.left()..area.right())
        .filter_map(|x| {
            let cell = buffer.cell((x, y))?;
            let columns = u16::try_from(cell.symbol().width()).unwrap_or(1).max(1);
            (cell != &blank).then_some(x - area.left() + columns)
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::{Modifier, Style};

    /// A buffer `width` wide holding `rows`, as the view would draw them.
    fn buffer(width: u16, rows: &[&str]) -> Buffer {
        let height = u16::try_from(rows.len()).unwrap_or(0);
        let mut buffer = Buffer::empty(Rect::new(0, 0, width, height));
        for (y, row) in (0..).zip(rows) {
            buffer.set_string(0, y, row, Style::new());
        }
        buffer
    }

    /// Rows that fit the new width take a row each; the cursor's own line does not count.
    #[test]
    fn nothing_wraps_when_wider() {
        let mut drawn = Drawn::default();
        drawn.record(
            &buffer(100, &["status one", "status two", "> typed"]),
            Position::new(7, 2),
        );
        assert_eq!(drawn.rows_above_cursor(100), 2);
        assert_eq!(drawn.rows_above_cursor(40), 2);
    }

    /// A 60-column status row takes two rows at 40 columns and three at 20; the input line
    /// wraps too, and the cursor is on its second row when it was past column 40.
    #[test]
    fn long_rows_wrap_when_narrower() {
        let status = "s".repeat(60);
        let input = format!("> {}", "x".repeat(48));
        let mut drawn = Drawn::default();
        drawn.record(&buffer(100, &[&status, &input]), Position::new(50, 1));
        assert_eq!(drawn.rows_above_cursor(40), 2 + 1);
        assert_eq!(drawn.rows_above_cursor(20), 3 + 2);
    }

    /// A cursor exactly at the end of a line that fills its rows stays on the line's last row.
    #[test]
    fn cursor_at_the_end_of_a_full_line() {
        let mut drawn = Drawn::default();
        drawn.record(&buffer(60, &[&"0".repeat(40)]), Position::new(40, 0));
        assert_eq!(drawn.rows_above_cursor(20), 1);
        assert_eq!(drawn.rows_above_cursor(15), 2);
    }

    /// Text deleted since an earlier frame still counts (spaces were written over it), and a
    /// status row drawn reversed is written across the whole width.
    #[test]
    fn widths_remember_the_widest_frame() {
        let mut drawn = Drawn::default();
        drawn.record(
            &buffer(100, &["", &format!("> {}", "x".repeat(58))]),
            Position::new(60, 1),
        );
        drawn.record(&buffer(100, &["", "> x"]), Position::new(3, 1));
        let mut reversed = buffer(100, &["status", "> x"]);
        reversed.set_style(
            Rect::new(0, 0, 100, 1),
            Style::new().add_modifier(Modifier::REVERSED),
        );
        drawn.record(&reversed, Position::new(3, 1));
        assert_eq!(drawn.widths, [100, 60]);
        assert_eq!(drawn.rows_above_cursor(40), 3);
        drawn.forget();
        assert_eq!(drawn.rows_above_cursor(40), 0);
    }

    /// Wide characters count two columns.
    #[test]
    fn wide_characters_count_twice() {
        let mut drawn = Drawn::default();
        drawn.record(&buffer(20, &["你好", "> "]), Position::new(2, 1));
        assert_eq!(drawn.widths[0], 4);
    }
}
