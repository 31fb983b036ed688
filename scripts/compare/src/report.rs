//! The report: `report.md` with a section per comparison (what was run, what to notice, the
//! tables), one CSV file per comparison with the raw figures, and SVG charts under `charts/`.
//! The Markdown tables carry every figure, so the report is complete without the charts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use charts_rs::{
    AxisScale, BarChart, ChartBase, LineChart, Position, Series, SeriesBand, YAxisConfig,
};
use netlab_common::Error;

use crate::Plan;
use crate::claims::{Claim, Spread};

/// A table: column headers and rows of cells, already formatted.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows, one cell per header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers and no rows.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.headers.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.headers.len()));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }

    fn html(&self) -> String {
        let row = |cells: &[String], tag: &str| {
            let cells: Vec<String> = cells
                .iter()
                .map(|cell| format!("<{tag}>{}</{tag}>", inline(cell)))
                .collect();
            format!("<tr>{}</tr>\n", cells.join(""))
        };
        let mut out = format!(
            "<table>\n<thead>{}</thead>\n<tbody>\n",
            row(&self.headers, "th")
        );
        for cells in &self.rows {
            out += &row(cells, "td");
        }
        out + "</tbody>\n</table>"
    }

    fn csv(&self) -> String {
        let line = |cells: &[String]| {
            cells
                .iter()
                .map(|cell| csv_cell(cell))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = line(&self.headers) + "\n";
        for row in &self.rows {
            out += &(line(row) + "\n");
        }
        out
    }
}

/// RFC 4180 §2: a cell with a comma, quote or newline is quoted, quotes doubled.
fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// A chart: one line (or bar group) per series over categories on the x axis. Each point is
/// the median of the repetitions, with a bar from the least to the greatest.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name under `charts/`.
    pub file: String,
    /// Title above the chart.
    pub title: String,
    /// What the y axis measures, with its unit: `goodput (kB/s)`.
    pub y_title: String,
    /// What the x axis shows, with its unit: `loss rate (%)`.
    pub x_title: String,
    /// Categories along the x axis.
    pub x_labels: Vec<String>,
    /// Named series, one spread per x label (`None`: not measured).
    pub series: Vec<(String, Vec<Option<Spread>>)>,
    /// Bars instead of lines.
    pub bars: bool,
    /// A share in percent: the axis runs from 0 to 100.
    pub percent: bool,
}

/// Above this ratio between the largest and the smallest value a linear axis squashes the
/// small ones onto zero, so the axis is logarithmic.
const LOG_SPAN: f64 = 10.0;

impl Chart {
    /// Every value drawn: medians and both ends of the ranges.
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.series
            .iter()
            .flat_map(|(_, points)| points.iter().flatten())
            .flat_map(|s| [s.min, s.median, s.max])
    }

    /// The power of ten at or below the least positive figure (medians and ranges): where a
    /// log axis starts.
    fn log_floor(&self) -> f64 {
        let least = self
            .values()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        if least.is_finite() {
            10f64.powf(least.log10().floor())
        } else {
            1.0
        }
    }

    /// Whether the values span more than [`LOG_SPAN`] (zeros cannot be drawn on a log axis, so
    /// a chart with a zero median stays linear).
    pub fn is_log(&self) -> bool {
        if self.percent {
            return false;
        }
        let medians = || {
            self.series
                .iter()
                .flat_map(|(_, points)| points.iter().flatten())
                .map(|s| s.median)
        };
        if medians().any(|m| m <= 0.0) {
            return false;
        }
        let low = self
            .values()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let high = self.values().fold(0.0, f64::max);
        low.is_finite() && high / low > LOG_SPAN
    }

    /// What a reader needs to know to read the chart, printed under it.
    pub fn note(&self, reps: usize) -> String {
        let mut note = format!(
            "Each {} is the median of {reps} repetitions; the thin bars span the least to the \
             greatest.",
            if self.bars { "bar" } else { "point" }
        );
        if self.is_log() {
            note += " The axis is logarithmic (each gridline is ten times the one below): the \
                     figures span more than ten times, and on a linear axis the small ones would \
                     sit on zero.";
        }
        if self.bars && self.values().any(|v| v == 0.0) {
            note += " A bar of zero is labelled 0.";
        }
        note
    }

    fn svg(&self) -> Result<String, Error> {
        let log = self.is_log();
        // On a log axis nothing may be zero (log 0 is minus infinity: charts-rs then draws the
        // line off the chart, as it did for TCP's p99 of 0.04 ms, rounded to 0.0). So values are
        // not rounded there, and the axis starts at the power of ten at or below the least
        // positive figure; an error bar reaching 0 stops at that floor.
        let floor = log.then(|| self.log_floor());
        let drawn = |value: f64| match floor {
            Some(floor) => value.max(floor) as f32,
            None => label_value(value),
        };
        let series = self
            .series
            .iter()
            .map(|(name, points)| {
                let mut series = Series::new_nullable(
                    name.clone(),
                    points.iter().map(|p| p.map(|s| drawn(s.median))).collect(),
                );
                let bound = |value: f64| match floor {
                    Some(floor) => value.max(floor) as f32,
                    None => value as f32,
                };
                series.error_bar = Some(SeriesBand {
                    lower: points.iter().map(|p| p.map(|s| bound(s.min))).collect(),
                    upper: points.iter().map(|p| p.map(|s| bound(s.max))).collect(),
                    stroke_width: Some(1.5),
                });
                // A bar chart labels its bars, so a bar of zero still says "0".
                series.label_show = self.bars;
                series
            })
            .collect();
        let axis = if let Some(floor) = floor {
            Axis::log_from(floor)
        } else {
            Axis::linear(self.values().fold(0.0, f64::max), self.percent)
        };
        let svg = if self.bars {
            let mut chart = BarChart::new(series, self.x_labels.clone());
            self.dress(&mut chart.base, &mut chart.y_axis_configs, axis);
            // Above the bar, so a bar of zero still shows "0".
            chart.series_label_position = Some(Position::Top);
            chart.svg()
        } else {
            let mut chart = LineChart::new(series, self.x_labels.clone());
            self.dress(&mut chart.base, &mut chart.y_axis_configs, axis);
            chart.svg()
        };
        svg.map_err(|err| Error::Failed(format!("cannot draw {}: {err}", self.file)))
    }

    /// Title, size, axis titles, the y axis's scale and ticks, the legend below the plot.
    fn dress(&self, base: &mut ChartBase, y_axes: &mut [YAxisConfig], axis: Axis) {
        base.title.text = self.title.clone();
        // Space under the title, so a full bar's label (100 on a percentage axis) stays clear.
        base.title.margin = Some(charts_rs::Box {
            bottom: 18.0,
            ..Default::default()
        });
        base.width = 760.0;
        base.height = 440.0;
        base.x_axis.title = self.x_title.clone();
        // Right of the plot, one entry a line: in a row at the top, long names ran into each
        // other (the SVG is measured with one font and may be shown in another).
        base.legend.position = Some(Position::Right);
        // Room to the right of the longest name: charts-rs measures it in its own font, and a
        // viewer that draws a wider one (rsvg-convert's DejaVu Sans) ran "selective-repeat" off
        // the edge.
        base.legend.margin = Some(charts_rs::Box {
            right: 36.0,
            ..Default::default()
        });
        // Bar labels as a person writes them: 23,059, not 23059.4.
        base.series.label.formatter = "{t}".into();
        if let Some(y) = y_axes.first_mut() {
            y.title = Some(self.y_title.clone());
            y.scale = axis.scale;
            y.min = axis.min;
            y.max = axis.max;
            y.split_number = axis.splits;
        }
    }
}

/// A median as its bar's label shows it: whole above 100, one decimal below.
fn label_value(median: f64) -> f32 {
    if median.abs() >= 100.0 {
        median.round() as f32
    } else {
        ((median * 10.0).round() / 10.0) as f32
    }
}

/// A y axis: its scale and, on a linear one, a top and a number of steps that give round ticks.
#[derive(Debug, Clone, PartialEq)]
struct Axis {
    scale: AxisScale,
    min: Option<f32>,
    max: Option<f32>,
    splits: usize,
}

impl Axis {
    /// Logarithmic from `floor` (a power of ten): charts-rs puts a tick at each power of ten.
    fn log_from(floor: f64) -> Self {
        Axis {
            scale: AxisScale::Log(10.0),
            min: Some(floor as f32),
            max: None,
            splits: 0,
        }
    }

    /// Linear from 0 to a round top above `highest` (100 for a percentage).
    fn linear(highest: f64, percent: bool) -> Self {
        let (top, step) = if percent {
            (100.0, 20.0)
        } else {
            nice_top(highest)
        };
        Axis {
            scale: AxisScale::Linear,
            min: Some(0.0),
            max: Some(top as f32),
            splits: (top / step).round().max(1.0) as usize,
        }
    }
}

/// A round top for a linear axis over `0..=highest` and its step: the step is 1, 2 or 5 times a
/// power of ten, chosen for about five steps, so the ticks read 0, 20k, 40k, ...
fn nice_top(highest: f64) -> (f64, f64) {
    if !highest.is_finite() || highest <= 0.0 {
        return (1.0, 0.2);
    }
    let rough = highest / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power);
    ((highest / step).ceil() * step, step)
}

/// One comparison's part of the report.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// What was run, how.
    pub setup: Vec<String>,
    /// What the class should notice: claims, each printed as a lesson only where every
    /// repetition supports it ([`crate::claims`]).
    pub notice: Vec<Claim>,
    /// Tables shown, each with a caption.
    pub tables: Vec<(String, Table)>,
    /// The raw figures, one row per repetition: file name and table.
    pub csv: Vec<(String, Table)>,
    /// Charts.
    pub charts: Vec<Chart>,
}

/// How the run was made, for the report's first paragraph.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `smoke`, `quick` or `full`.
    pub plan: &'static str,
    /// Repetitions of every point.
    pub reps: usize,
    /// The command line, as typed.
    pub command: String,
    /// How long the measurements took.
    pub took: Duration,
}

/// The whole report.
pub struct Report {
    sections: Vec<Section>,
}

impl Report {
    /// An empty report for `plan`.
    pub fn new(_plan: &Plan) -> Self {
        Report {
            sections: Vec::new(),
        }
    }

    /// Adds a comparison.
    pub fn add(&mut self, section: Section) {
        self.sections.push(section);
    }

    /// Every claim, in order.
    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.sections.iter().flat_map(|s| s.notice.iter())
    }

    /// Writes `report.md`, `report.html`, the CSV files and `charts/` into `out`; returns the
    /// Markdown report's path.
    pub fn write(&self, out: &Path, run: &RunInfo) -> Result<PathBuf, Error> {
        let charts_dir = out.join("charts");
        std::fs::create_dir_all(&charts_dir)
            .map_err(|err| Error::io(format!("creating {}", charts_dir.display()), err))?;
        let machine = Machine::this_one();
        let mut md = format!(
            "# netlab: protocols compared\n\n{}\n\n",
            header(run, &machine)
        );
        let mut html = String::new();
        for section in &self.sections {
            for (file, table) in &section.csv {
                write_file(&out.join(file), &table.csv())?;
            }
            let mut svgs = Vec::new();
            for chart in &section.charts {
                let svg = chart.svg()?;
                write_file(&charts_dir.join(&chart.file), &svg)?;
                svgs.push(svg);
            }
            md += &section_markdown(section, run.reps);
            html += &section_html(section, &svgs, run.reps);
        }
        write_file(&out.join("report.html"), &html_page(run, &machine, &html))?;
        let report = out.join("report.md");
        write_file(&report, &md)?;
        Ok(report)
    }
}

/// The machine the figures come from.
struct Machine {
    kernel: String,
    cores: usize,
    /// `/proc/cpuinfo`'s `model name`, where there is one.
    cpu: Option<String>,
}

impl Machine {
    fn this_one() -> Self {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| format!("Linux {}", k.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_string());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_string())
            });
        Machine {
            kernel,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
        }
    }

    fn describe(&self) -> String {
        let cpu = self
            .cpu
            .as_ref()
            .map_or(String::new(), |m| format!(" ({m})"));
        format!("{}, {} cores{cpu}", self.kernel, self.cores)
    }
}

/// The first paragraph (Markdown): when, where, how, how long, and how to read the figures.
fn header(run: &RunInfo, machine: &Machine) -> String {
    format!(
        "Generated on {} by `{}`: the {} plan, every point measured {} times, the repetitions \
         interleaved (the first of every configuration, then the second of every one, ...), in \
         {}. Machine: {}.\n\n\
         Every figure below was measured in this run, on one machine, with the load generators \
         and the servers sharing its cores: compare the rows with each other, not with another \
         machine's numbers. Tables give the median of the repetitions and their range (least \
         to greatest); a sentence under *What to notice* is printed as a lesson only when \
         every repetition supports it. The CSV files next to this report hold every repetition \
         (column `rep`); the charts are in `charts/` and, with everything else, in \
         `report.html`.",
        utc_now(),
        run.command,
        run.plan,
        run.reps,
        minutes(run.took),
        machine.describe(),
    )
}

/// `4 min 51 s`, or `38 s`.
fn minutes(took: Duration) -> String {
    let secs = took.as_secs_f64().round() as u64;
    if secs >= 60 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{secs} s")
    }
}

fn section_markdown(section: &Section, reps: usize) -> String {
    let mut md = format!("## {}\n\n", section.title);
    for line in &section.setup {
        let _ = writeln!(md, "{line}");
    }
    md.push('\n');
    if !section.notice.is_empty() {
        md += "**What to notice:**\n\n";
        for claim in &section.notice {
            let _ = writeln!(md, "- {}", claim.line());
        }
        md.push('\n');
    }
    for (caption, table) in &section.tables {
        let _ = writeln!(md, "{caption}\n");
        md += &table.markdown();
        md.push('\n');
    }
    for chart in &section.charts {
        let _ = writeln!(
            md,
            "![{}](charts/{})\n\n{}\n",
            chart.title,
            chart.file,
            chart.note(reps)
        );
    }
    let files: Vec<String> = section
        .csv
        .iter()
        .map(|(file, _)| format!("[{file}]({file})"))
        .collect();
    if !files.is_empty() {
        let _ = writeln!(md, "Every repetition: {}.\n", files.join(", "));
    }
    md
}

/// One section in HTML: the charts inline, each with its note under it, then what to notice
/// and the tables.
fn section_html(section: &Section, svgs: &[String], reps: usize) -> String {
    let mut html = format!("<section>\n<h2>{}</h2>\n", escape(&section.title));
    for line in &section.setup {
        let _ = writeln!(html, "<p>{}</p>", inline(line));
    }
    for (chart, svg) in section.charts.iter().zip(svgs) {
        let _ = writeln!(
            html,
            "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
            escape(&chart.note(reps))
        );
    }
    if !section.notice.is_empty() {
        html += "<p><strong>What to notice:</strong></p>\n<ul>\n";
        for claim in &section.notice {
            let _ = writeln!(html, "<li>{}</li>", inline(&claim.line()));
        }
        html += "</ul>\n";
    }
    for (caption, table) in &section.tables {
        let _ = writeln!(html, "<p>{}</p>\n{}", inline(caption), table.html());
    }
    let files: Vec<String> = section
        .csv
        .iter()
        .map(|(file, _)| format!("<a href=\"{0}\">{0}</a>", escape(file)))
        .collect();
    if !files.is_empty() {
        let _ = writeln!(html, "<p>Every repetition: {}.</p>", files.join(", "));
    }
    html + "</section>\n"
}

/// The whole page: one file with no outside references but the CSV links, so it can be mailed
/// or put on a course page as it is.
fn html_page(run: &RunInfo, machine: &Machine, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>netlab: protocols compared</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 820px; margin: 2em auto; padding: 0 1em; \
         line-height: 1.45; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         figure {{ margin: 1.5em 0; }} figcaption {{ font-size: 0.9em; color: #555; }}\n\
         code {{ background: #f3f3f3; padding: 0 0.2em; }}\n\
         </style>\n</head>\n<body>\n<h1>netlab: protocols compared</h1>\n<p>{}</p>\n{body}\
         </body>\n</html>\n",
        inline(&header(run, machine)).replace("\n\n", "</p>\n<p>")
    )
}

/// Text for HTML: `<`, `>`, `&` and `"` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The little Markdown the report's sentences use, in HTML: `code`, **bold** and *italic*.
/// (Every sentence is written by this program, so a full Markdown parser would be more code
/// to trust than these lines.)
fn inline(text: &str) -> String {
    let mut html = String::new();
    let (mut code, mut bold, mut italic) = (false, false, false);
    let escaped = escape(text);
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                html += if code { "</code>" } else { "<code>" };
                code = !code;
            }
            '*' if !code && chars.peek() == Some(&'*') => {
                chars.next();
                html += if bold { "</strong>" } else { "<strong>" };
                bold = !bold;
            }
            '*' if !code => {
                html += if italic { "</em>" } else { "<em>" };
                italic = !italic;
            }
            c => html.push(c),
        }
    }
    html
}

/// `2026-12-01 14:07 UTC`. The date comes from the days since 1970 by Howard Hinnant's
/// `civil_from_days` (the proleptic Gregorian calendar); a date crate for one line of a report
/// would be more code to trust than these eight lines.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, of_day) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|err| Error::io(format!("writing {}", path.display()), err))
}

/// `12.3` with `digits` decimals, or `-` when unknown.
pub fn fixed(value: Option<f64>, digits: usize) -> String {
    value.map_or("-".to_string(), |v| format!("{v:.digits$}"))
}

/// The spread of what `pick` finds in each of `runs` (the repetitions of one configuration).
pub fn spread_of<T>(runs: &[&T], pick: impl Fn(&T) -> Option<f64>) -> Option<Spread> {
    let values: Vec<f64> = runs.iter().filter_map(|run| pick(run)).collect();
    Spread::of(&values)
}

/// A table's median cell: `12.3`, or `-`.
pub fn median_cell(spread: Option<Spread>, digits: usize) -> String {
    fixed(spread.map(|s| s.median), digits)
}

/// A table's range cell: `11.0–14.2` (least to greatest repetition), or `-`.
pub fn range_cell(spread: Option<Spread>, digits: usize) -> String {
    spread.map_or("-".into(), |s| {
        format!("{:.digits$}–{:.digits$}", s.min, s.max)
    })
}

/// A CSV cell: the figure unrounded, or empty when unknown.
pub fn raw(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tables_render_as_markdown_and_csv() {
        let mut table = Table::new(&["scheme", "note"]);
        table.push(vec!["tcp".into(), "a, \"quoted\" note".into()]);
        assert_eq!(
            table.markdown(),
            "| scheme | note |\n|---|---|\n| tcp | a, \"quoted\" note |\n"
        );
        assert_eq!(table.csv(), "scheme,note\ntcp,\"a, \"\"quoted\"\" note\"\n");
    }

    /// A chart is SVG with its title, axis titles and one error bar per point.
    #[test]
    fn charts_are_svg_with_error_bars() {
        let chart = Chart {
            file: "x.svg".into(),
            title: "Goodput".into(),
            y_title: "goodput (kB/s)".into(),
            x_title: "loss rate".into(),
            x_labels: vec!["0%".into(), "5%".into()],
            series: vec![(
                "tcp".into(),
                vec![Spread::of(&[9.0, 10.0, 12.0]), Spread::of(&[4.0, 5.0, 6.0])],
            )],
            bars: false,
            percent: false,
        };
        let svg = chart.svg().unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in ["Goodput", "goodput (kB/s)", "loss rate"] {
            assert!(svg.contains(text), "no {text} in {svg}");
        }
        assert!(!chart.is_log());
    }

    /// A chart whose figures span more than ten times gets a log axis, unless a median is zero.
    #[test]
    fn wide_spans_are_logarithmic() {
        let chart = |values: [f64; 2]| Chart {
            file: "x.svg".into(),
            title: String::new(),
            y_title: String::new(),
            x_title: String::new(),
            x_labels: vec!["a".into(), "b".into()],
            series: vec![(
                "s".into(),
                values.iter().map(|v| Spread::of(&[*v])).collect(),
            )],
            bars: true,
            percent: false,
        };
        assert!(chart([1.0, 11.0]).is_log());
        assert!(!chart([1.0, 9.0]).is_log());
        assert!(!chart([0.0, 100.0]).is_log());
        assert!(
            chart([0.0, 100.0])
                .note(3)
                .contains("A bar of zero is labelled 0.")
        );
    }

    /// Linear axes end on a round top with steps of 1, 2 or 5 times a power of ten.
    #[test]
    fn linear_ticks_are_round() {
        assert_eq!(nice_top(345_600.0), (400_000.0, 100_000.0));
        assert_eq!(nice_top(57_600.0), (60_000.0, 20_000.0));
        assert_eq!(nice_top(100.0), (100.0, 20.0));
        assert_eq!(nice_top(7.3), (8.0, 2.0));
        assert_eq!(Axis::linear(96.0, true).max, Some(100.0));
    }

    /// The report's inline Markdown becomes HTML, escaped.
    #[test]
    fn inline_markdown_becomes_html() {
        assert_eq!(
            inline("**Bold.** `a<b` and *this*"),
            "<strong>Bold.</strong> <code>a&lt;b</code> and <em>this</em>"
        );
    }
}
