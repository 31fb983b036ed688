//! # The ladder as plain text, for a terminal
//!
//! One row per step in time order: the time it started, the lifelines as `|` columns with the
//! arrow drawn between two of them, and the label on the right, where it cannot cover another
//! arrow. A terminal has no room to slant arrows, so the time an arrow took is written
//! instead (`+0.084 ms`).
//!
//! ```text
//!       time  127.0.0.1:36087     127.0.0.1:7075
//!     0.000s  |---------X         |   JOIN seq=0 ack=0 len=3   LOST (dropped by the fault injector)
//!     1.001s  *                   |   timer: retransmission timeout
//!     1.001s  |------------------>|   JOIN seq=0 ack=0 len=3 RETRANSMIT   +0.101 ms
//! ```

use crate::ladder::{Arrow, End, Ladder, Mark, MarkKind, Step};

/// How the text is laid out.
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// Show times (off for output that must be the same on every run, like a test's snapshot).
    pub times: bool,
}

/// The narrowest distance between two lifelines, in characters.
const MIN_GAP: usize = 16;

/// The whole diagram.
pub fn render(ladder: &Ladder, options: TextOptions) -> String {
    let gap = ladder
        .lifelines
        .iter()
        .map(|name| name.chars().count() + 2)
        .max()
        .unwrap_or(0)
        .max(MIN_GAP);
    let width = gap * ladder.lifelines.len().saturating_sub(1) + 1;
    let mut out = String::new();
    let mut header = String::new();
    for (index, name) in ladder.lifelines.iter().enumerate() {
        let column = index * gap;
        header.push_str(&" ".repeat(column.saturating_sub(header.chars().count())));
        header.push_str(name);
    }
    out.push_str(&row(options, "time", &header, ""));
    for step in &ladder.steps {
        let mut cells: Vec<char> = (0..width)
            .map(|at| if at % gap == 0 { '|' } else { ' ' })
            .collect();
        let label = match step {
            Step::Arrow(arrow) => {
                draw_arrow(&mut cells, arrow, gap);
                arrow_label(arrow, options)
            }
            Step::Mark(mark) => {
                if let Some(cell) = cells.get_mut(mark.lifeline * gap) {
                    *cell = '*';
                }
                mark_label(mark)
            }
        };
        let time = format!("{:.3}s", step.at() as f64 / 1e6);
        let lines: String = cells.into_iter().collect();
        out.push_str(&row(options, &time, &lines, &label));
    }
    out
}

fn row(options: TextOptions, time: &str, lines: &str, label: &str) -> String {
    let time = if options.times {
        format!("{time:>10}  ")
    } else {
        String::new()
    };
    let text = format!("{time}{lines}   {label}");
    format!("{}\n", text.trim_end())
}

/// Draws `|----->|`, `|<-----|`, or `|----X   |` for a loss, into the row's cells.
fn draw_arrow(cells: &mut [char], arrow: &Arrow, gap: usize) {
    let from = arrow.from * gap;
    let to = arrow.to * gap;
    let (left, right) = (from.min(to), from.max(to));
    if right == left {
        return;
    }
    for cell in cells.iter_mut().take(right).skip(left + 1) {
        *cell = '-';
    }
    let rightwards = to > from;
    match arrow.end {
        End::Arrived | End::Untraced => {
            let head = if rightwards { right - 1 } else { left + 1 };
            cells[head] = if rightwards { '>' } else { '<' };
        }
        End::LostOnTheWay => {
            let middle = (left + right) / 2;
            let blank = if rightwards {
                middle + 1..right
            } else {
                left + 1..middle
            };
            for cell in &mut cells[blank] {
                *cell = ' ';
            }
            cells[middle] = 'X';
        }
        End::LostAtReceiver => {
            let head = if rightwards { right - 1 } else { left + 1 };
            cells[head] = 'X';
        }
    }
}

fn arrow_label(arrow: &Arrow, options: TextOptions) -> String {
    let mut label = arrow.label.clone();
    if arrow.duplicate {
        label.push_str("   (duplicate)");
    }
    match arrow.end {
        End::LostOnTheWay | End::LostAtReceiver => {
            let why = arrow
                .fault
                .as_deref()
                .unwrap_or("no receive in the receiver's trace");
            label.push_str(&format!("   LOST ({why})"));
        }
        End::Untraced => label.push_str("   (not in a trace of the receiver)"),
        End::Arrived => {
            if let Some(fault) = &arrow.fault {
                label.push_str(&format!("   ({fault})"));
            }
            if let (true, Some(sent), Some(arrived)) =
                (options.times, arrow.sent_at, arrow.arrived_at)
            {
                let took = arrived.saturating_sub(sent) as f64 / 1000.0;
                label.push_str(&format!("   +{took:.3} ms"));
            }
        }
    }
    label
}

fn mark_label(mark: &Mark) -> String {
    let kind = match mark.kind {
        MarkKind::Timer => "timer",
        MarkKind::Open => "open",
        MarkKind::Close => "close",
    };
    format!("{kind}: {}", mark.label)
}
