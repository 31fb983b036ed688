//! # `tcp-chat bench`: a file sent in-band, between chat lines
//!
//! Two `duplex` chats run in this process, connected over 127.0.0.1. The bench types
//! `/send FILE` at one of them, the same command a person types, and times it until the sender
//! hears the receiver's verdict (`R`: saved, size and SHA-256 match). Meanwhile it types a chat
//! line at each side every 10 ms, so the transfer shares the connection with a conversation, as
//! it does in use; the lines' delays are reported too. Each of `--rounds` rounds sends the whole
//! file; the result is the median.
//!
//! ## Why in-band is not FTP's separate data connection
//! FTP gives every file a TCP connection of its own (`ftp-lab bench` measures that). On it the
//! bytes need no framing at all: the connection's close marks the end of the file. The receiver
//! reads straight into its buffer and writes to the file; our FTP server sends with
//! `sendfile(2)`, so a download never passes through its memory; and the control connection
//! stays free for `ABOR`. The price is a new connection per file, which is what makes FTP fight
//! with NAT and firewalls.
//!
//! `duplex` has one connection for everything, so the file must share it with chat lines:
//! - **Chunks.** TCP delivers bytes in order: a file written in one piece would hold back a
//!   message typed meanwhile until the whole file had passed. So the file travels as `D` frames
//!   of at most 64 KiB, and a message can go between two of them.
//! - **Framing, but no escaping.** Each chunk carries 9 bytes of header (length, kind, transfer
//!   id): 0.014% more bytes on the wire, nothing. Because the length prefix says where a frame
//!   ends, any byte may appear in a body; a line-based protocol would have to escape the file's
//!   newlines or switch to counted raw bytes (the `room` does the latter).
//! - **Copies and hand-offs, per chunk.** The cost is in the programs, not on the wire. The
//!   sender reads a chunk, copies it into a frame and again behind the length prefix, hashes it,
//!   takes a window slot and hands it to the writer thread. The receiver's reader copies each
//!   frame out of its buffer and again while decoding, queues it for the main loop, which copies
//!   it into a buffered writer and hashes it. FTP's receiving side does one read and one write
//!   per block, with no hash.
//! - **Checked, and on disk, before "done".** The clock stops at the receiver's verdict, which
//!   comes after its SHA-256 comparison and an `fsync` of the file (`files/transfer.rs`); the
//!   FTP server does neither before its `226`. On a disk the `fsync` is part of every round; a
//!   tmpfs (`TMPDIR=/dev/shm`) makes it nearly free.
//! - **Chat lines wait behind chunks.** A line typed at the sending side waits behind at most 4
//!   queued chunks (the window, `duplex/outbox.rs`), *plus* whatever already sits in the kernel's
//!   socket buffers, which the window does not bound and which grow on a fast connection. The
//!   "alongside" delays show that; lines going the other way do not wait behind the file.
//!
//! ## Chunk sizes: `--chunk-sizes 1K,4K,64K`
//! The chunk size trades the two things the bench measures against each other. Every chunk
//! costs the same fixed work (a frame, a window slot, a hand-off to the writer thread, a queue
//! entry at the receiver), so small chunks make the file slower; but a chat line waits behind
//! at most 4 queued chunks, so small chunks let it through sooner. With `--chunk-sizes` the
//! bench runs one pair of chats per size, both sides started with that `--chunk-size`, and
//! takes the rounds in turn (1K, 4K, 64K, 1K, ...), so that whatever else the machine is doing
//! falls on every size alike; each row is the median of its rounds.
//!
//! ## Checked twice
//! A round counts only if the chat's own check passed (the receiver's size and SHA-256 equal the
//! sender's, as the `R` frame says) **and** the bench's: the saved copy, read back, has the
//! source's size and SHA-256, computed when the bench wrote it. Anything else fails the bench,
//! as does a chat line that never arrives. The copy is deleted after each check.
//!
//! ## Layout
//! - [`chats`]: the two chats, typing into them, one round.
//! - The scratch directory, the test file, checking a copy and the clean-up on Ctrl-C are
//!   [`netlab_common::bench`], shared with `ftp-lab bench`; medians and MiB/s are
//!   [`netlab_common::stats`].

pub mod chats;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use netlab_common::bench::{self as files, Fingerprint, Scratch, when_interrupted};
use netlab_common::progress::human_bytes;
use netlab_common::stats::{median, mib_per_s};
use netlab_common::{Error, Result, term};

use crate::duplex::wire::{CHUNK, Limits};
use chats::{CHAT_EVERY, Chats, Round};

/// The test file's name; the receiver saves it as `new_bench.bin`.
const SOURCE: &str = "bench.bin";

/// What `tcp-chat bench` was asked.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Bytes in the test file.
    pub file_size: u64,
    /// `--chunk-sizes`: compare these; `None` measures the default chunk alone, as before.
    pub chunk_sizes: Option<Vec<usize>>,
    /// Transfers to make.
    pub rounds: usize,
    /// One JSON line instead of a table.
    pub json: bool,
}

/// Runs the bench and prints its result.
pub fn run(config: &BenchConfig) -> Result<()> {
    let undo = Undo::on_ctrl_c()?;
    let sizes = config.chunk_sizes.clone().unwrap_or_else(|| vec![CHUNK]);
    let compared = config.chunk_sizes.is_some();
    let mut bench = Bench::start_with(config.file_size, progress_bars(), &undo, &sizes)?;
    if !config.json {
        term::info(format!(
            "/send of a test file of {} between two duplex chats in this process over 127.0.0.1, \
             {} round(s){}; files in {}",
            human_bytes(config.file_size),
            config.rounds,
            if compared {
                format!(" for each of {} chunk sizes, taken in turn", sizes.len())
            } else {
                String::new()
            },
            bench.scratch.path().display()
        ));
    }
    let mut rounds = vec![Vec::with_capacity(config.rounds); sizes.len()];
    for _ in 0..config.rounds {
        for (which, done) in rounds.iter_mut().enumerate() {
            done.push(bench.round_of(which)?);
        }
    }
    bench.finish()?;
    let summaries = sizes
        .iter()
        .zip(&rounds)
        .map(|(&chunk, done)| Summary::new(config.file_size, done).map(|s| s.chunked(chunk)))
        .collect::<Option<Vec<Summary>>>()
        .ok_or_else(|| Error::Usage("--rounds must be at least 1".to_string()))?;
    match (config.json, compared) {
        (true, false) => summaries.iter().for_each(|s| println!("{}", s.to_json())),
        (true, true) => summaries
            .iter()
            .for_each(|s| println!("{}", s.to_json_with_chunk())),
        (false, false) => summaries.iter().for_each(Summary::print_table),
        (false, true) => print_comparison(&summaries),
    }
    let _ = std::io::stdout().flush();
    Ok(())
}

/// The `--chunk-sizes` table: one row per chunk size, with the chat lines' delays beside the
/// rate, since the chunk size trades one against the other.
fn print_comparison(summaries: &[Summary]) {
    println!(
        "| chunk | MiB/s (median) | MiB/s (slowest-fastest) | seconds (median) | lines alongside: median / max ms | lines against: median / max ms |\n\
         |---:|---:|---:|---:|---:|---:|"
    );
    for summary in summaries {
        println!(
            "| {} | {:.1} | {:.1}-{:.1} | {:.3} | {} | {} |",
            human_bytes(summary.chunk as u64),
            summary.mib_per_s(),
            mib_per_s(summary.bytes, summary.slowest),
            mib_per_s(summary.bytes, summary.fastest),
            summary.median.as_secs_f64(),
            delay_cell(&summary.alongside),
            delay_cell(&summary.against)
        );
    }
    if let Some(first) = summaries.first() {
        term::success(format!(
            "{} transfer(s) of {} per chunk size, each checked twice: by the chat (size and \
             SHA-256 in its R frame) and by the bench (the saved copy against the source)",
            first.rounds,
            human_bytes(first.bytes)
        ));
    }
}

/// `3.0 / 106.4` for sorted delays, `-` if none.
fn delay_cell(sorted: &[Duration]) -> String {
    match (median(sorted), sorted.last()) {
        (Some(median), Some(max)) => format!(
            "{:.1} / {:.1}",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        ),
        _ => "-".to_string(),
    }
}

/// Whether to draw the sender's `/send` progress bar: only where a person sees it.
fn progress_bars() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// The scratch directory, the test file, and the chats: one pair per chunk size.
pub struct Bench {
    chats: Vec<Chats>,
    scratch: Scratch,
    expected: Fingerprint,
}

impl Bench {
    /// Writes a test file of `file_size` bytes and connects two chats; tells `undo` what to
    /// delete on Ctrl-C as soon as it exists.
    pub fn start(file_size: u64, bars: bool, undo: &Undo) -> Result<Bench> {
        Bench::start_with(file_size, bars, undo, &[CHUNK])
    }

    /// [`Bench::start`] with one pair of chats per chunk size, each saving into a directory of
    /// its own.
    pub fn start_with(
        file_size: u64,
        bars: bool,
        undo: &Undo,
        chunk_sizes: &[usize],
    ) -> Result<Bench> {
        let scratch = Scratch::new("tcp-chat-bench")
            .map_err(|err| Error::io("creating the bench's scratch directory", err))?;
        undo.delete(scratch.path());
        let expected = files::write_test_file(&scratch.path().join(SOURCE), file_size)
            .map_err(|err| Error::io("writing the test file", err))?;
        let mut chats = Vec::with_capacity(chunk_sizes.len());
        for (which, &chunk) in chunk_sizes.iter().enumerate() {
            let received = scratch.path().join(format!("received-{which}"));
            fs::create_dir(&received)
                .map_err(|err| Error::io(format!("creating {}", received.display()), err))?;
            let limits = Limits {
                chunk,
                ..Limits::DEFAULT
            };
            chats.push(Chats::start_with(&received, scratch.path(), bars, limits)?);
        }
        Ok(Bench {
            chats,
            scratch,
            expected,
        })
    }

    /// The test file (tests damage it to see the bench fail).
    pub fn source(&self) -> PathBuf {
        self.scratch.path().join(SOURCE)
    }

    /// The scratch directory, deleted when the bench is dropped.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// One `/send` of the test file, timed, then the saved copy checked against the source.
    pub fn round(&mut self) -> Result<Round> {
        self.round_of(0)
    }

    /// [`Bench::round`] with the `which`-th pair of chats (the `which`-th chunk size).
    pub fn round_of(&mut self, which: usize) -> Result<Round> {
        // A round slower than 1 MiB/s, plus a minute, is stuck, not slow.
        let limit = Duration::from_secs(60 + self.expected.size / (1 << 20));
        let source = self.source();
        let chats = self
            .chats
            .get_mut(which)
            .ok_or_else(|| Error::Failed(format!("no chats for chunk size number {which}")))?;
        let sent = chats.send_file(&source, Instant::now() + limit)?;
        let checked = if sent.verdict.received == self.expected.size {
            files::check(&sent.saved, &self.expected)
        } else {
            Err(format!(
                "the receiver got {} bytes; the test file has {}",
                sent.verdict.received, self.expected.size
            ))
        };
        let _ = fs::remove_file(&sent.saved);
        checked.map_err(|why| Error::Failed(format!("wrong bytes: {why}")))?;
        Ok(sent.round)
    }

    /// Ends both chats with `/q` (they must end cleanly), then deletes the scratch directory.
    pub fn finish(self) -> Result<()> {
        let Bench { chats, scratch, .. } = self;
        let ended = chats
            .into_iter()
            .map(Chats::finish)
            .collect::<Result<Vec<()>>>();
        drop(scratch);
        ended.map(drop)
    }
}

/// What Ctrl-C must undo: the scratch directory, once it exists. (Dropping a [`Bench`] deletes
/// it too; a signal handler runs instead of the drops.)
#[derive(Debug, Clone, Default)]
pub struct Undo(Arc<Mutex<Option<PathBuf>>>);

impl Undo {
    /// On Ctrl-C (from now on, once per process): delete the scratch directory, exit with 130.
    pub fn on_ctrl_c() -> Result<Undo> {
        let undo = Undo::default();
        let dir = Arc::clone(&undo.0);
        when_interrupted(move || {
            if let Some(dir) = dir.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                let _ = fs::remove_dir_all(dir);
            }
            term::warn("interrupted: the scratch directory is deleted");
        })?;
        Ok(undo)
    }

    fn delete(&self, dir: &Path) {
        // Only a path is inside: usable even after a panic elsewhere.
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(dir.to_path_buf());
    }
}

/// The rounds, summarized.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Bytes per transfer.
    pub bytes: u64,
    /// Transfers made.
    pub rounds: usize,
    /// Median time of a transfer.
    pub median: Duration,
    /// Fastest and slowest.
    pub fastest: Duration,
    /// Slowest.
    pub slowest: Duration,
    /// Delays of chat lines typed at the sending side, sorted.
    pub alongside: Vec<Duration>,
    /// Delays of chat lines typed at the receiving side, sorted.
    pub against: Vec<Duration>,
    /// The chunk size both chats used.
    pub chunk: usize,
}

impl Summary {
    /// `None` without rounds.
    pub fn new(bytes: u64, rounds: &[Round]) -> Option<Summary> {
        let mut times: Vec<Duration> = rounds.iter().map(|round| round.elapsed).collect();
        times.sort_unstable();
        let sorted = |pick: fn(&Round) -> &Vec<Duration>| {
            let mut all: Vec<Duration> = rounds.iter().flat_map(pick).copied().collect();
            all.sort_unstable();
            all
        };
        Some(Summary {
            bytes,
            rounds: rounds.len(),
            median: median(&times)?,
            fastest: *times.first()?,
            slowest: *times.last()?,
            alongside: sorted(|round| &round.alongside),
            against: sorted(|round| &round.against),
            chunk: CHUNK,
        })
    }

    /// The same, measured with chunks of `chunk` bytes.
    pub fn chunked(self, chunk: usize) -> Summary {
        Summary { chunk, ..self }
    }

    /// MiB/s at the median time.
    pub fn mib_per_s(&self) -> f64 {
        mib_per_s(self.bytes, self.median)
    }

    /// `{"lab":"tcp-chat","transfer":"duplex-in-band","bytes":N,"seconds":S,"mib_per_s":X,"rounds":R}`.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"lab\":\"tcp-chat\",\"transfer\":\"duplex-in-band\",\"bytes\":{},\"seconds\":{:.6},\"mib_per_s\":{:.1},\"rounds\":{}}}",
            self.bytes,
            self.median.as_secs_f64(),
            self.mib_per_s(),
            self.rounds
        )
    }

    /// [`Summary::to_json`] with the chunk size last: `...,"rounds":R,"chunk_size":C}` (the
    /// lines of `--chunk-sizes --json`).
    pub fn to_json_with_chunk(&self) -> String {
        let plain = self.to_json();
        let head = plain.strip_suffix('}').unwrap_or(&plain);
        format!("{head},\"chunk_size\":{}}}", self.chunk)
    }

    fn print_table(&self) {
        println!(
            "| transfer | MiB/s (median) | MiB/s (slowest-fastest) | seconds (median) |\n\
             |---|---:|---:|---:|\n\
             | duplex in-band (/send) | {:.1} | {:.1}-{:.1} | {:.3} |",
            self.mib_per_s(),
            mib_per_s(self.bytes, self.slowest),
            mib_per_s(self.bytes, self.fastest),
            self.median.as_secs_f64()
        );
        term::info(format!(
            "chat lines typed every {} ms at each side during the transfers, all arrived: {} \
             alongside the file ({}), {} against it ({})",
            CHAT_EVERY.as_millis(),
            self.alongside.len(),
            delays(&self.alongside),
            self.against.len(),
            delays(&self.against)
        ));
        term::success(format!(
            "{} transfer(s) of {}, each checked twice: by the chat (size and SHA-256 in its R \
             frame) and by the bench (the saved copy against the source)",
            self.rounds,
            human_bytes(self.bytes)
        ));
    }
}

/// `median 0.4 ms, max 3.1 ms to arrive` for sorted delays.
fn delays(sorted: &[Duration]) -> String {
    match (median(sorted), sorted.last()) {
        (Some(median), Some(max)) => format!(
            "median {:.1} ms, max {:.1} ms to arrive",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        ),
        _ => "none typed: the transfer was over first".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The median round gives the JSON line's time and rate, in the fields a script reads.
    #[test]
    fn summary_json() {
        let ms = Duration::from_millis;
        let round = |elapsed| Round {
            elapsed,
            alongside: vec![ms(2)],
            against: Vec::new(),
        };
        let summary = Summary::new(
            4 << 20,
            &[round(ms(4000)), round(ms(1000)), round(ms(2000))],
        )
        .unwrap();
        assert_eq!(
            summary.to_json(),
            "{\"lab\":\"tcp-chat\",\"transfer\":\"duplex-in-band\",\"bytes\":4194304,\
             \"seconds\":2.000000,\"mib_per_s\":2.0,\"rounds\":3}"
        );
        assert_eq!(summary.alongside, [ms(2), ms(2), ms(2)]);
        assert_eq!(
            delays(&summary.against),
            "none typed: the transfer was over first"
        );
        assert!(Summary::new(1, &[]).is_none());
    }
}
