//! The report: `report.md` with a section per comparison (what was run, what to notice, the
//! tables), one CSV file per comparison with the raw figures, and SVG charts under `charts/`.
//! The Markdown tables carry every figure, so the report is complete without the charts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use charts_rs::{BarChart, LineChart};
use netlab_common::Error;

use crate::Plan;

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

/// RFC 4180: a cell with a comma, quote or newline is quoted, quotes doubled.
fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// A chart: one line (or bar group) per series over categories on the x axis.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name under `charts/`.
    pub file: String,
    /// Title above the chart.
    pub title: String,
    /// What the y axis measures.
    pub y_title: String,
    /// Categories along the x axis.
    pub x_labels: Vec<String>,
    /// Named series, one value per x label.
    pub series: Vec<(String, Vec<f64>)>,
    /// Bars instead of lines.
    pub bars: bool,
}

impl Chart {
    fn svg(&self) -> Result<String, Error> {
        let series = self
            .series
            .iter()
            .map(|(name, values)| {
                let values: Vec<f32> = values.iter().map(|v| *v as f32).collect();
                (name.as_str(), values).into()
            })
            .collect();
        let svg = if self.bars {
            let mut chart = BarChart::new(series, self.x_labels.clone());
            chart.title.text = self.title.clone();
            chart.width = 760.0;
            if let Some(axis) = chart.y_axis_configs.first_mut() {
                axis.title = Some(self.y_title.clone());
            }
            chart.svg()
        } else {
            let mut chart = LineChart::new(series, self.x_labels.clone());
            chart.title.text = self.title.clone();
            chart.width = 760.0;
            if let Some(axis) = chart.y_axis_configs.first_mut() {
                axis.title = Some(self.y_title.clone());
            }
            chart.svg()
        };
        svg.map_err(|err| Error::Failed(format!("cannot draw {}: {err}", self.file)))
    }
}

/// One comparison's part of the report.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// What was run, how.
    pub setup: Vec<String>,
    /// What the class should notice (one sentence each, with figures from this run).
    pub notice: Vec<String>,
    /// Tables shown, each with a caption.
    pub tables: Vec<(String, Table)>,
    /// The raw figures: file name and table.
    pub csv: Vec<(String, Table)>,
    /// Charts.
    pub charts: Vec<Chart>,
}

/// The whole report.
pub struct Report {
    plan_name: &'static str,
    sections: Vec<Section>,
}

impl Report {
    /// An empty report for `plan`.
    pub fn new(plan: &Plan) -> Self {
        Report {
            plan_name: plan.name,
            sections: Vec::new(),
        }
    }

    /// Adds a comparison.
    pub fn add(&mut self, section: Section) {
        self.sections.push(section);
    }

    /// Writes `report.md`, the CSV files and `charts/` into `out`; returns the report's path.
    pub fn write(&self, out: &Path, took: Duration) -> Result<PathBuf, Error> {
        let charts_dir = out.join("charts");
        std::fs::create_dir_all(&charts_dir)
            .map_err(|err| Error::io(format!("creating {}", charts_dir.display()), err))?;
        let mut md = self.header(took);
        for section in &self.sections {
            md += &section_markdown(section);
            for (file, table) in &section.csv {
                write_file(&out.join(file), &table.csv())?;
            }
            for chart in &section.charts {
                write_file(&charts_dir.join(&chart.file), &chart.svg()?)?;
            }
        }
        let report = out.join("report.md");
        write_file(&report, &md)?;
        Ok(report)
    }

    fn header(&self, took: Duration) -> String {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| format!("Linux {}", k.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_string());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        format!(
            "# netlab: protocols compared\n\n\
             Generated by `scripts/compare-protocols` ({} run) on {}, {kernel}, {cores} cores, \
             in {:.0} s. Every figure below was measured in this run, on one machine, with the \
             load generators and the servers sharing its cores: compare the rows with each \
             other, not with another machine's numbers. The raw figures are in the CSV files \
             next to this report; the charts are in `charts/`.\n\n",
            self.plan_name,
            utc_now(),
            took.as_secs_f64()
        )
    }
}

fn section_markdown(section: &Section) -> String {
    let mut md = format!("## {}\n\n", section.title);
    for line in &section.setup {
        let _ = writeln!(md, "{line}");
    }
    md.push('\n');
    if !section.notice.is_empty() {
        md += "**What to notice:**\n\n";
        for line in &section.notice {
            let _ = writeln!(md, "- {line}");
        }
        md.push('\n');
    }
    for (caption, table) in &section.tables {
        let _ = writeln!(md, "{caption}\n");
        md += &table.markdown();
        md.push('\n');
    }
    for chart in &section.charts {
        let _ = writeln!(md, "![{}](charts/{})\n", chart.title, chart.file);
    }
    let files: Vec<String> = section
        .csv
        .iter()
        .map(|(file, _)| format!("[{file}]({file})"))
        .collect();
    if !files.is_empty() {
        let _ = writeln!(md, "Raw figures: {}.\n", files.join(", "));
    }
    md
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

    #[test]
    fn charts_are_svg() {
        let chart = Chart {
            file: "x.svg".into(),
            title: "Goodput".into(),
            y_title: "kB/s".into(),
            x_labels: vec!["0%".into(), "5%".into()],
            series: vec![("tcp".into(), vec![10.0, 5.0])],
            bars: false,
        };
        let svg = chart.svg().unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Goodput"));
    }
}
