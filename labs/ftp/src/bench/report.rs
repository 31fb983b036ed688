//! # Numbers in and out: sizes on the command line, results as a table or JSON lines
//!
//! Sizes are binary (K = 1024, as `ls -h` and the progress bars count), so `--block-size 4K` is
//! one 4096-byte page. Each (direction, block size) is measured `--rounds` times and reported
//! by its **median** time: one round slowed by another program on a shared machine moves an
//! average but not a median. The table also shows the slowest and fastest round, so you can see
//! how much a figure can be trusted. (The median and the MiB/s arithmetic are
//! [`netlab_common::stats`], shared with `tcp-chat bench`.)

use std::time::Duration;

use netlab_common::stats::{self, median, mib_per_s};

/// Which way the file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Download: the server sends (sendfile on Linux), the client reads.
    Retr,
    /// Upload: the client reads the file and sends, the server receives and writes.
    Stor,
}

impl Direction {
    /// The FTP command, as the table shows it.
    pub fn verb(self) -> &'static str {
        match self {
            Direction::Retr => "RETR",
            Direction::Stor => "STOR",
        }
    }

    /// The name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Retr => "retr",
            Direction::Stor => "stor",
        }
    }
}

/// One (direction, block size), measured over several rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Which way.
    pub direction: Direction,
    /// The client's bytes per read (and per write, for STOR).
    pub block_size: usize,
    /// Bytes per transfer.
    pub bytes: u64,
    /// How many transfers.
    pub rounds: usize,
    /// The median transfer time.
    pub median: Duration,
    /// The fastest.
    pub fastest: Duration,
    /// The slowest.
    pub slowest: Duration,
    /// Every transfer ran over TLS (`ftp-lab bench --tls`: `PROT P` accepted by a server that
    /// refuses clear transfers).
    pub tls: bool,
}

impl Measurement {
    /// Summarizes the time of each round of clear transfers; `None` without rounds.
    pub fn new(
        direction: Direction,
        block_size: usize,
        bytes: u64,
        samples: &[Duration],
    ) -> Option<Measurement> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(Measurement {
            direction,
            block_size,
            bytes,
            rounds: sorted.len(),
            median: median(&sorted)?,
            fastest: *sorted.first()?,
            slowest: *sorted.last()?,
            tls: false,
        })
    }

    /// The same, for transfers that ran over TLS (`tls`: true) or not.
    pub fn over_tls(self, tls: bool) -> Measurement {
        Measurement { tls, ..self }
    }

    /// The direction as the table shows it: `RETR`, or `RETR over TLS`.
    fn shown_direction(&self) -> String {
        let verb = self.direction.verb();
        if self.tls {
            format!("{verb} over TLS")
        } else {
            verb.to_string()
        }
    }

    /// MiB per second at the median time.
    pub fn mib_per_s(&self) -> f64 {
        mib_per_s(self.bytes, self.median)
    }

    /// One line of JSON, the fields in a fixed order:
    /// `{"lab":"ftp","direction":"retr","block_size":65536,"bytes":N,"seconds":S,"mib_per_s":X,"rounds":R}`
    /// (seconds to the microsecond, MiB/s to one decimal; written by serde_json), and after
    /// `rounds` a last field `"tls":true` when the transfers ran over TLS (absent: clear, so the
    /// lines of a clear run are what they always were).
    pub fn to_json(&self) -> String {
        let mut line = serde_json::json!({
            "lab": "ftp",
            "direction": self.direction.name(),
            "block_size": self.block_size,
            "bytes": self.bytes,
            "seconds": stats::rounded(self.median.as_secs_f64(), 6),
            "mib_per_s": stats::rounded(self.mib_per_s(), 1),
            "rounds": self.rounds,
        });
        if self.tls {
            // serde_json keeps the order fields were inserted in (its `preserve_order`).
            line["tls"] = serde_json::Value::Bool(true);
        }
        line.to_string()
    }

    /// One row of [`TABLE_HEADER`].
    pub fn table_row(&self) -> String {
        format!(
            "| {} | {} | {:.1} | {:.1}-{:.1} | {:.3} |",
            self.shown_direction(),
            human_size(self.block_size as u64),
            self.mib_per_s(),
            mib_per_s(self.bytes, self.slowest),
            mib_per_s(self.bytes, self.fastest),
            self.median.as_secs_f64()
        )
    }
}

/// The table's header (Markdown, so it pastes into notes as it is).
pub const TABLE_HEADER: &str = "| direction | block size | MiB/s (median) | MiB/s (slowest-fastest) | seconds (median) |\n\
|---|---:|---:|---:|---:|";

/// `4096` -> `4 KiB`, `1048576` -> `1 MiB`, `1000` -> `1000 B`: whole units where they fit.
pub fn human_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}

use netlab_common::cli::parse_bytes;

/// A block size: [`parse_bytes`] within `1..=`[`crate::client::MAX_BLOCK_SIZE`].
pub fn parse_block_size(text: &str) -> Result<usize, String> {
    let max = crate::client::MAX_BLOCK_SIZE;
    let bytes = parse_bytes(text)?;
    usize::try_from(bytes)
        .ok()
        .filter(|&size| size <= max)
        .ok_or_else(|| {
            format!(
                "`{text}`: a block size is at most {}",
                human_size(max as u64)
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A block size is a size in bytes (netlab_common::cli::parse_bytes, tested there) within
    /// the client's limit.
    #[test]
    fn sizes_parse() {
        assert_eq!(parse_block_size("1M"), Ok(1 << 20));
        assert!(parse_block_size("65M").is_err());
    }

    /// The median round gives the JSON line and the table row, with the fields a script reads.
    #[test]
    fn json_and_table_row() {
        let ms = Duration::from_millis;
        let measured = Measurement::new(
            Direction::Stor,
            65536,
            1 << 20,
            &[ms(500), ms(250), ms(1000)],
        )
        .unwrap();
        assert_eq!(
            measured.to_json(),
            "{\"lab\":\"ftp\",\"direction\":\"stor\",\"block_size\":65536,\"bytes\":1048576,\
             \"seconds\":0.5,\"mib_per_s\":2.0,\"rounds\":3}"
        );
        assert_eq!(
            measured.table_row(),
            "| STOR | 64 KiB | 2.0 | 1.0-4.0 | 0.500 |"
        );
        assert_eq!(human_size(1000), "1000 B");
    }

    /// Over TLS the JSON line ends in `"tls":true` and the row says `over TLS`; the rest is
    /// the same as for clear transfers.
    #[test]
    fn tls_shows_in_json_and_table_row() {
        let ms = Duration::from_millis;
        let measured = Measurement::new(Direction::Retr, 4096, 1 << 20, &[ms(250)])
            .unwrap()
            .over_tls(true);
        assert_eq!(
            measured.to_json(),
            "{\"lab\":\"ftp\",\"direction\":\"retr\",\"block_size\":4096,\"bytes\":1048576,\
             \"seconds\":0.25,\"mib_per_s\":4.0,\"rounds\":1,\"tls\":true}"
        );
        assert_eq!(
            measured.table_row(),
            "| RETR over TLS | 4 KiB | 4.0 | 4.0-4.0 | 0.250 |"
        );
    }
}
