//! # The ladder as a Mermaid `sequenceDiagram`
//!
//! [Mermaid](https://mermaid.js.org/syntax/sequenceDiagram.html) is a text syntax for diagrams
//! that GitHub, GitLab and many Markdown viewers draw when it sits in a ```` ```mermaid ````
//! block. A sequence diagram lists participants, then messages in order:
//!
//! - `A->>B: text` a message that arrived (solid line, arrowhead);
//! - `A-xB: text` a message that was lost (solid line ending in a cross);
//! - `A-)B: text` a message whose receiver was not traced (open arrowhead: sent, fate unknown);
//! - `Note over A: text` a timer or connection event.
//!
//! Mermaid draws every message level and evenly spaced: the order is kept, real time is not
//! (the SVG output slants arrows by time).

use crate::ladder::{End, Ladder, MarkKind, Step};

/// The diagram as Mermaid source (without the ```` ```mermaid ```` fence).
pub fn render(ladder: &Ladder) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for (index, name) in ladder.lifelines.iter().enumerate() {
        out.push_str(&format!("    participant P{index} as {}\n", escape(name)));
    }
    for step in &ladder.steps {
        match step {
            Step::Arrow(arrow) => {
                let line = match arrow.end {
                    End::Arrived => "->>",
                    End::LostOnTheWay | End::LostAtReceiver => "-x",
                    End::Untraced => "-)",
                };
                let mut label = arrow.label.clone();
                if arrow.duplicate {
                    label.push_str(" (duplicate)");
                }
                if arrow.is_lost() {
                    label.push_str(" LOST");
                }
                out.push_str(&format!(
                    "    P{}{line}P{}: {}\n",
                    arrow.from,
                    arrow.to,
                    escape(&label)
                ));
            }
            Step::Mark(mark) => {
                let kind = match mark.kind {
                    MarkKind::Timer => "timer",
                    MarkKind::Open => "open",
                    MarkKind::Close => "close",
                };
                out.push_str(&format!(
                    "    Note over P{}: {kind}: {}\n",
                    mark.lifeline,
                    escape(&mark.label)
                ));
            }
        }
    }
    out
}

/// Mermaid reads `;` as the end of a statement and `#...;` as a character entity, and passes
/// `<`/`>` to HTML; they are written as entities (`#59;`), which Mermaid turns back into the
/// characters. Line breaks cannot occur in a message.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Characters with a meaning in Mermaid become entities; nothing else changes.
    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape("a;b#c<d>\ne"), "a#59;b#35;c#lt;d#gt; e");
        assert_eq!(escape("DATA seq=3 ack=1"), "DATA seq=3 ack=1");
    }
}
