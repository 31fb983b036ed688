//! # What a class may conclude: claims checked against the repetitions
//!
//! One measurement on a busy machine is one sample of noise plus signal; a lesson drawn from it
//! can be an accident. Every point of the report is therefore measured several times
//! (`--reps`), and a "what to notice" sentence is a *claim* that this module checks against all
//! of them before the report prints it:
//!
//! - a [`Spread`] is what the repetitions of one figure gave: their median, least and most;
//! - "A is higher than B" holds only when A's whole range lies above B's ([`order`], [`higher`]): even
//!   A's worst repetition beat B's best, so no single noisy repetition made the lesson;
//! - a claim whose ranges overlap, or point the other way, is not printed as a lesson: the
//!   report says that this run did not show it, with the figures, and how to look again.
//!
//! The rules are pure functions over numbers, so unit tests feed them crafted data.

use std::fmt::Write as _;

/// What the repetitions of one figure gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The middle repetition (the mean of the two middle ones for an even count): one wild
    /// repetition cannot move it far.
    pub median: f64,
    /// The least repetition.
    pub min: f64,
    /// The greatest repetition.
    pub max: f64,
    /// How many repetitions.
    pub reps: usize,
}

impl Spread {
    /// The spread of `values` (NaN left out); `None` when there is none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted.get(mid).copied()?
        } else {
            (sorted.get(mid - 1).copied()? + sorted.get(mid).copied()?) / 2.0
        };
        Some(Spread {
            median,
            min,
            max,
            reps: sorted.len(),
        })
    }

    /// Every repetition gave the same figure.
    pub fn is_steady(&self) -> bool {
        self.min == self.max
    }

    /// `1,100–1,400`, or the one figure when every repetition agreed.
    pub fn range(&self) -> String {
        if self.is_steady() {
            figure(self.min)
        } else {
            format!("{}–{}", figure(self.min), figure(self.max))
        }
    }
}

/// A figure with as many digits as a reader needs: `23,059`, `46.0`, `1.25`, `0.004`.
pub fn figure(value: f64) -> String {
    let size = value.abs();
    if size >= 1000.0 {
        thousands(value.round() as i64)
    } else if size >= 100.0 || value == value.round() {
        format!("{value:.0}")
    } else if size >= 10.0 {
        format!("{value:.1}")
    } else if size >= 0.1 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// `23059` as `23,059`.
fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// Where one range lies against another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Entirely above: the first's least repetition beat the second's greatest.
    Above,
    /// Entirely below.
    Below,
    /// The ranges overlap: the repetitions cannot tell the two apart.
    Overlap,
}

/// Where `a`'s range lies against `b`'s.
pub fn order(a: &Spread, b: &Spread) -> Order {
    if a.min > b.max {
        Order::Above
    } else if a.max < b.min {
        Order::Below
    } else {
        Order::Overlap
    }
}

/// One figure of a claim, named as the report names it: `selective repeat`, with its spread
/// and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// What was measured: `selective repeat`, `threads at 1000 clients`.
    pub name: String,
    /// Its repetitions.
    pub spread: Spread,
    /// `kB/s`, `ms`, or empty.
    pub unit: &'static str,
}

impl Measured {
    /// A named spread.
    pub fn new(name: impl Into<String>, spread: Spread, unit: &'static str) -> Self {
        Measured {
            name: name.into(),
            spread,
            unit,
        }
    }

    /// `selective repeat 46,023 kB/s (38,664–52,100)`.
    fn show(&self) -> String {
        let figure = figure(self.spread.median);
        let unit = spaced(self.unit);
        if self.spread.is_steady() {
            format!("{} {figure}{unit}", self.name)
        } else {
            format!("{} {figure}{unit} ({})", self.name, self.spread.range())
        }
    }
}

/// What the repetitions say about a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every repetition supports it: the evidence, with figures.
    Shown(String),
    /// The repetitions do not support it: why, with figures.
    NotShown(String),
}

/// A lesson and its verdict. Only a shown claim is printed as a lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The lesson in a few words, as a heading: `Windows matter.`
    pub lesson: String,
    /// What the data says.
    pub verdict: Verdict,
    /// Why it happens: printed only with a shown claim.
    pub why: String,
}

impl Claim {
    /// The claim as a line of the report (Markdown): the lesson, its evidence and why; or
    /// that this run did not show it, why not, and what to do.
    pub fn line(&self) -> String {
        match &self.verdict {
            Verdict::Shown(evidence) => {
                let mut line = format!("**{}** {evidence}", self.lesson);
                if !self.why.is_empty() {
                    let _ = write!(line, " {}", self.why);
                }
                line
            }
            Verdict::NotShown(why_not) => format!(
                "*This run did not show that {}*{why_not}; rerun with `--reps 5` (on a quieter \
                 machine if you can) before drawing this lesson.",
                lower_first(self.lesson.trim_end_matches('.'))
            ),
        }
    }

    /// Whether the data supports it.
    pub fn is_shown(&self) -> bool {
        matches!(self.verdict, Verdict::Shown(_))
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The claim "`high` is higher than `low`": shown only when `high`'s whole range lies above
/// `low`'s. `lesson` names it; `why` explains it.
pub fn higher(lesson: &str, high: &Measured, low: &Measured, why: &str) -> Claim {
    let verdict = match order(&high.spread, &low.spread) {
        Order::Above => Verdict::Shown(format!(
            "{} against {}{}.",
            high.show(),
            low.show(),
            times(&high.spread, &low.spread)
        )),
        Order::Overlap => Verdict::NotShown(format!(
            ": {} and {} overlap",
            ranges_of(high),
            ranges_of(low)
        )),
        Order::Below => Verdict::NotShown(format!(
            ": the reverse held, {} against {}",
            low.show(),
            high.show()
        )),
    };
    Claim {
        lesson: lesson.into(),
        verdict,
        why: why.into(),
    }
}

/// The claim "`low` is lower than `high`" (a shorter tail, a smaller cost): [`higher`] with
/// the evidence written lowest first.
pub fn lower(lesson: &str, low: &Measured, high: &Measured, why: &str) -> Claim {
    let verdict = match order(&low.spread, &high.spread) {
        Order::Below => Verdict::Shown(format!(
            "{} against {}{}.",
            low.show(),
            high.show(),
            times(&high.spread, &low.spread)
        )),
        Order::Overlap => Verdict::NotShown(format!(
            ": {} and {} overlap",
            ranges_of(low),
            ranges_of(high)
        )),
        Order::Above => Verdict::NotShown(format!(
            ": the reverse held, {} against {}",
            high.show(),
            low.show()
        )),
    };
    Claim {
        lesson: lesson.into(),
        verdict,
        why: why.into(),
    }
}

/// The claim "every repetition of every one of `all` reached at least `floor`" (every
/// reliable scheme delivered every message, say). `what` says what reaching it means.
pub fn all_at_least(lesson: &str, all: &[Measured], floor: f64, what: &str, why: &str) -> Claim {
    let short: Vec<String> = all
        .iter()
        .filter(|m| m.spread.min < floor)
        .map(Measured::show)
        .collect();
    let verdict = if all.is_empty() {
        Verdict::NotShown(": nothing was measured".into())
    } else if short.is_empty() {
        Verdict::Shown(format!("{what}."))
    } else {
        Verdict::NotShown(format!(
            ": some repetitions fell short: {}",
            short.join(", ")
        ))
    };
    Claim {
        lesson: lesson.into(),
        verdict,
        why: why.into(),
    }
}

/// The claim "every repetition of `one` stayed below `ceiling`" (plain UDP lost messages in
/// every repetition, say).
pub fn always_below(lesson: &str, one: &Measured, ceiling: f64, why: &str) -> Claim {
    let verdict = if one.spread.max < ceiling {
        Verdict::Shown(format!("{}.", one.show()))
    } else {
        Verdict::NotShown(format!(
            ": {} reached {} in some repetition",
            one.show(),
            figure(ceiling)
        ))
    };
    Claim {
        lesson: lesson.into(),
        verdict,
        why: why.into(),
    }
}

/// `: 10–20 kB/s`: a measured's range for an "overlap" sentence.
fn ranges_of(m: &Measured) -> String {
    format!("{} ({}{})", m.name, m.spread.range(), spaced(m.unit))
}

/// A unit after a figure: ` kB/s`, but `%` written close.
fn spaced(unit: &str) -> String {
    if unit.is_empty() || unit.starts_with('%') {
        unit.to_string()
    } else {
        format!(" {unit}")
    }
}

/// ` (2.5 times)` when the medians differ by at least half; nothing otherwise.
fn times(high: &Spread, low: &Spread) -> String {
    if low.median > 0.0 && high.median / low.median >= 1.5 {
        let ratio = high.median / low.median;
        if ratio >= 10.0 {
            format!(", {} times as much", figure(ratio.round()))
        } else {
            format!(", {ratio:.1} times as much")
        }
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spread(values: &[f64]) -> Spread {
        Spread::of(values).unwrap()
    }

    /// The median is the middle repetition, so one wild repetition does not move it; the
    /// range keeps the wild one.
    #[test]
    fn a_spread_is_median_and_range() {
        let s = spread(&[58_414.0, 23_059.0, 61_000.0]);
        assert_eq!(
            (s.median, s.min, s.max, s.reps),
            (58_414.0, 23_059.0, 61_000.0, 3)
        );
        assert_eq!(spread(&[1.0, 4.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(s.range(), "23,059–61,000");
        assert_eq!(spread(&[5.0, 5.0]).range(), "5");
        assert!(Spread::of(&[]).is_none());
        assert!(Spread::of(&[f64::NAN]).is_none());
    }

    /// A beats B only when A's whole range lies above B's.
    #[test]
    fn order_needs_disjoint_ranges() {
        assert_eq!(
            order(&spread(&[10.0, 12.0]), &spread(&[8.0, 9.9])),
            Order::Above
        );
        assert_eq!(
            order(&spread(&[10.0, 12.0]), &spread(&[8.0, 10.0])),
            Order::Overlap
        );
        assert_eq!(
            order(&spread(&[1.0, 2.0]), &spread(&[3.0, 4.0])),
            Order::Below
        );
    }

    /// A claim the data supports is printed as a lesson with its figures.
    #[test]
    fn a_supported_claim_is_printed() {
        let sr = Measured::new("selective repeat", spread(&[900.0, 1000.0, 1100.0]), "kB/s");
        let sw = Measured::new("stop-and-wait", spread(&[40.0, 50.0, 60.0]), "kB/s");
        let claim = higher("Windows matter.", &sr, &sw, "Because.");
        assert!(claim.is_shown());
        assert_eq!(
            claim.line(),
            "**Windows matter.** selective repeat 1,000 kB/s (900–1,100) against stop-and-wait \
             50 kB/s (40–60), 20 times as much. Because."
        );
    }

    /// A claim contradicted by the data (the 256-client row where mio fell behind) is not
    /// printed as a lesson: the report says the reverse held.
    #[test]
    fn a_contradicted_claim_is_not_printed() {
        let mio = Measured::new(
            "mio",
            spread(&[23_059.0, 24_000.0, 22_000.0]),
            "round trips/s",
        );
        let threads = Measured::new(
            "threads",
            spread(&[58_414.0, 57_000.0, 59_000.0]),
            "round trips/s",
        );
        let claim = higher(
            "The event loop serves more round trips.",
            &mio,
            &threads,
            "Why.",
        );
        assert!(!claim.is_shown());
        let line = claim.line();
        assert!(
            line.starts_with("*This run did not show that the event loop serves more round trips*"),
            "{line}"
        );
        assert!(line.contains("the reverse held, threads 58,414"), "{line}");
        assert!(!line.contains("**"), "{line}");
        assert!(!line.contains("Why."), "{line}");
    }

    /// Overlapping ranges give the "did not show" wording and the advice to rerun.
    #[test]
    fn overlapping_ranges_are_not_a_lesson() {
        let a = Measured::new("mio", spread(&[900.0, 1500.0, 1000.0]), "µs");
        let b = Measured::new("threads", spread(&[1200.0, 2000.0, 1300.0]), "µs");
        let claim = lower("The event loop has the shorter tail.", &a, &b, "");
        assert_eq!(
            claim.line(),
            "*This run did not show that the event loop has the shorter tail*: mio (900–1,500 µs) \
             and threads (1,200–2,000 µs) overlap; rerun with `--reps 5` (on a quieter machine \
             if you can) before drawing this lesson."
        );
        let shorter = lower(
            "The event loop has the shorter tail.",
            &Measured::new("mio", spread(&[900.0, 1000.0]), "µs"),
            &b,
            "",
        );
        assert!(shorter.is_shown(), "{shorter:?}");
    }

    /// "All reached the floor" fails on one short repetition; "always below" on one that
    /// reached the ceiling.
    #[test]
    fn every_repetition_counts() {
        let full = Measured::new("go-back-n", spread(&[1.0, 1.0, 1.0]), "");
        let short = Measured::new("stop-and-wait", spread(&[1.0, 0.95, 1.0]), "");
        let all = all_at_least(
            "Reliable.",
            std::slice::from_ref(&full),
            1.0,
            "all delivered",
            "",
        );
        assert!(all.is_shown());
        let not_all = all_at_least("Reliable.", &[full, short], 1.0, "all delivered", "");
        assert!(!not_all.is_shown());
        assert!(
            not_all.line().contains("stop-and-wait 1 (0.95–1)"),
            "{}",
            not_all.line()
        );
        let lossy = Measured::new("plain UDP", spread(&[0.8, 0.9, 1.0]), "");
        assert!(!always_below("UDP loses.", &lossy, 1.0, "").is_shown());
        let lossy = Measured::new("plain UDP", spread(&[0.8, 0.9, 0.85]), "");
        assert!(always_below("UDP loses.", &lossy, 1.0, "").is_shown());
    }

    /// Figures read as a person writes them.
    #[test]
    fn figures_are_readable() {
        assert_eq!(figure(23_059.4), "23,059");
        assert_eq!(figure(1_234_567.0), "1,234,567");
        assert_eq!(figure(46.04), "46.0");
        assert_eq!(figure(100.0), "100");
        assert_eq!(figure(1.25), "1.25");
        assert_eq!(figure(0.0041), "0.004");
        assert_eq!(figure(0.0), "0");
    }
}
