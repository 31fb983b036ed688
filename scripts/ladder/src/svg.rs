//! # The ladder as SVG, arrows slanted by real time
//!
//! Time goes down the page. Every moment something happens (a send, an arrival, a timer) is
//! a point on the time axis; consecutive points are placed apart in proportion to the time
//! between them ([`PX_PER_MS`]), but never closer than [`MIN_STEP`] (so labels do not overlap
//! when a whole exchange takes a millisecond on loopback) nor further than [`MAX_STEP`] (so a
//! one-second retransmission timeout does not take a metre of paper). Within those bounds an
//! arrow's slant is the time the message took; the left margin gives the real time of every
//! arrow's start.
//!
//! The SVG is written by hand: it needs four kinds of element (`line`, `polygon`, `circle`,
//! `text`), and a crate for that would add more to learn than it saves. Every arrow is one
//! `<g class="arrow ...">` group (classes `lost`, `retransmit`, `duplicate` added as they
//! apply) and every mark one `<g class="mark ...">`, so a test or a stylesheet can find them.

use std::fmt::Write as _;

use crate::ladder::{Arrow, End, Ladder, MarkKind, Step};

/// Vertical pixels per millisecond between two points of the time axis.
pub const PX_PER_MS: f64 = 4.0;
/// The least distance between two points of the time axis.
pub const MIN_STEP: f64 = 22.0;
/// The most distance between two points of the time axis (longer gaps are compressed, and
/// marked with their real length).
pub const MAX_STEP: f64 = 90.0;

const LEFT: f64 = 80.0;
const GAP: f64 = 260.0;
const TOP: f64 = 80.0;
const RIGHT: f64 = 230.0;
const FONT: &str = "font-family=\"sans-serif\" font-size=\"11\"";

/// Colors: delivered, lost, resent, timers.
const INK: &str = "#222";
const LOST: &str = "#c0392b";
const RESENT: &str = "#d35400";
const TIMER: &str = "#2e6db4";

/// The diagram as a standalone SVG document.
pub fn render(ladder: &Ladder) -> String {
    let axis = Axis::new(ladder);
    let columns = ladder.lifelines.len().max(1);
    let width = LEFT + GAP * (columns - 1) as f64 + RIGHT;
    let height = axis.bottom + 30.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\">"
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    for (index, name) in ladder.lifelines.iter().enumerate() {
        let x = lifeline_x(index);
        let _ = writeln!(
            svg,
            "<g class=\"lifeline\"><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             font-family=\"sans-serif\" font-size=\"13\" font-weight=\"bold\">{}</text>\
             <line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#999\" \
             stroke-width=\"1.5\"/></g>",
            TOP - 48.0,
            escape(name),
            TOP - 38.0,
            axis.bottom + 10.0
        );
    }
    for (gap_y, millis) in &axis.breaks {
        let _ = writeln!(
            svg,
            "<text class=\"break\" x=\"4\" y=\"{:.1}\" {FONT} fill=\"#888\">⋮ {millis:.0} ms</text>",
            gap_y
        );
    }
    for (index, step) in ladder.steps.iter().enumerate() {
        let y = axis.start_of(index);
        let _ = writeln!(
            svg,
            "<text class=\"time\" x=\"4\" y=\"{:.1}\" {FONT} fill=\"#666\">{:.3}s</text>",
            y + 4.0,
            step.at() as f64 / 1e6
        );
        match step {
            Step::Arrow(arrow) => draw_arrow(&mut svg, arrow, y, axis.arrival_of(index)),
            Step::Mark(mark) => {
                let x = lifeline_x(mark.lifeline);
                let (kind, shape) = match mark.kind {
                    MarkKind::Timer => (
                        "timer",
                        format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{TIMER}\"/>"),
                    ),
                    MarkKind::Open | MarkKind::Close => (
                        if mark.kind == MarkKind::Open {
                            "open"
                        } else {
                            "close"
                        },
                        format!(
                            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"#555\"/>",
                            x - 4.0,
                            y - 4.0
                        ),
                    ),
                };
                let _ = writeln!(
                    svg,
                    "<g class=\"mark {kind}\">{shape}<text x=\"{:.1}\" y=\"{:.1}\" {FONT} \
                     fill=\"{TIMER}\">{kind}: {}</text></g>",
                    x + 9.0,
                    y + 4.0,
                    escape(&mark.label)
                );
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn lifeline_x(index: usize) -> f64 {
    LEFT + 40.0 + GAP * index as f64
}

/// Where each step's start and arrival sit on the page.
struct Axis {
    starts: Vec<f64>,
    arrivals: Vec<Option<f64>>,
    breaks: Vec<(f64, f64)>,
    bottom: f64,
}

impl Axis {
    fn new(ladder: &Ladder) -> Axis {
        // Every point in time order: (time, step, is the arrival).
        let mut points: Vec<(u64, usize, bool)> = Vec::new();
        for (index, step) in ladder.steps.iter().enumerate() {
            points.push((step.at(), index, false));
            if let Step::Arrow(arrow) = step
                && let (Some(_), Some(arrived)) = (arrow.sent_at, arrow.arrived_at)
            {
                points.push((arrived, index, true));
            }
        }
        points.sort_by_key(|&(time, index, arrival)| (time, index, arrival));
        let mut axis = Axis {
            starts: vec![TOP; ladder.steps.len()],
            arrivals: vec![None; ladder.steps.len()],
            breaks: Vec::new(),
            bottom: TOP,
        };
        let mut y = TOP;
        let mut previous: Option<u64> = None;
        for (time, index, arrival) in points {
            if let Some(before) = previous {
                let millis = time.saturating_sub(before) as f64 / 1000.0;
                let step = (millis * PX_PER_MS).clamp(MIN_STEP, MAX_STEP);
                if millis * PX_PER_MS > MAX_STEP {
                    axis.breaks.push((y + step / 2.0 + 4.0, millis));
                }
                y += step;
            }
            previous = Some(time);
            if arrival {
                axis.arrivals[index] = Some(y);
            } else {
                axis.starts[index] = y;
            }
        }
        axis.bottom = y + MIN_STEP;
        axis
    }

    fn start_of(&self, step: usize) -> f64 {
        self.starts.get(step).copied().unwrap_or(TOP)
    }

    fn arrival_of(&self, step: usize) -> Option<f64> {
        self.arrivals.get(step).copied().flatten()
    }
}

/// One arrow: its line, its head (an arrowhead, or a cross for a loss) and its label.
fn draw_arrow(svg: &mut String, arrow: &Arrow, y_start: f64, y_arrival: Option<f64>) {
    let x_from = lifeline_x(arrow.from);
    let x_to = lifeline_x(arrow.to);
    let (x_end, y_end) = match arrow.end {
        End::Arrived | End::LostAtReceiver => (x_to, y_arrival.unwrap_or(y_start)),
        End::LostOnTheWay => ((x_from + x_to) / 2.0, y_start + MIN_STEP),
        End::Untraced => (x_to, y_start + MIN_STEP),
    };
    let color = if arrow.is_lost() {
        LOST
    } else if arrow.retransmit {
        RESENT
    } else {
        INK
    };
    let mut classes = String::from("arrow");
    for (applies, class) in [
        (arrow.is_lost(), " lost"),
        (arrow.retransmit, " retransmit"),
        (arrow.duplicate, " duplicate"),
    ] {
        if applies {
            classes.push_str(class);
        }
    }
    let dash = match arrow.end {
        End::Untraced => " stroke-dasharray=\"5 4\"",
        _ => "",
    };
    let _ = write!(
        svg,
        "<g class=\"{classes}\"><line x1=\"{x_from:.1}\" y1=\"{y_start:.1}\" x2=\"{x_end:.1}\" \
         y2=\"{y_end:.1}\" stroke=\"{color}\" stroke-width=\"1.5\"{dash}/>"
    );
    let angle = (y_end - y_start).atan2(x_end - x_from);
    if arrow.is_lost() {
        let size = 6.0;
        let _ = write!(
            svg,
            "<path d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\" stroke=\"{LOST}\" \
             stroke-width=\"2.5\"/>",
            x_end - size,
            y_end - size,
            x_end + size,
            y_end + size,
            x_end - size,
            y_end + size,
            x_end + size,
            y_end - size
        );
    } else {
        let head = |turn: f64| {
            let a = angle + std::f64::consts::PI + turn;
            (x_end + 9.0 * a.cos(), y_end + 9.0 * a.sin())
        };
        let (x1, y1) = head(0.4);
        let (x2, y2) = head(-0.4);
        let _ = write!(
            svg,
            "<polygon points=\"{x_end:.1},{y_end:.1} {x1:.1},{y1:.1} {x2:.1},{y2:.1}\" \
             fill=\"{color}\"/>"
        );
    }
    let mut label = arrow.label.clone();
    if arrow.duplicate {
        label.push_str(" (duplicate)");
    }
    // A loss is said by the cross; other faults (a delay, a stranger) are written out.
    if let (false, Some(fault)) = (arrow.is_lost(), &arrow.fault) {
        label.push_str(&format!(" [{fault}]"));
    }
    // The label sits just above the arrow's start, on the side it leaves towards: the line
    // goes down from there, so it never runs through its own label. A white halo keeps the
    // label readable where another arrow crosses it.
    let (x_label, anchor) = if x_end >= x_from {
        (x_from + 8.0, "start")
    } else {
        (x_from - 8.0, "end")
    };
    let y_label = y_start - 5.0;
    let _ = writeln!(
        svg,
        "<text x=\"{x_label:.1}\" y=\"{y_label:.1}\" text-anchor=\"{anchor}\" {FONT} \
         fill=\"{color}\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">{}</text></g>",
        escape(&label)
    );
}

/// Text as XML character data.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // XML 1.0 forbids most control characters even as references.
            control if control.is_control() => out.push('?'),
            other => out.push(other),
        }
    }
    out
}
