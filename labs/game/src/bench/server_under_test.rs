//! # The server under test: starting it, and reading what it costs
//!
//! The figures that tell the two engines apart are not only on the wire: a thread per player
//! shows in the server's thread count and memory. On Linux the kernel reports both in
//! `/proc/PID/status`: `Threads:` (now) and `VmHWM:` (the high-water mark of the resident set,
//! "peak RSS"). The bench reads them when it knows the server's process id: given with
//! `--server-pid`, or because it started the server itself (`--start-server ENGINE`).

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use netlab_common::{Error, Result};

use crate::server::Engine;

/// Extra player places beyond the bots, so a bot is never refused for a place still held by a
/// bot that just left.
const SPARE_PLACES: usize = 16;

/// How often the server's thread count is sampled while the bots play.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// A `game-lab serve` the bench started; stopped when dropped.
pub(super) struct StartedServer {
    child: Child,
    /// Where it listens.
    pub(super) addr: String,
}

impl StartedServer {
    /// Starts this program's own `serve` with `engine` on a free port, room for `players`, no
    /// idle timeout and no line-rate limit to speak of (bots send only moves they were offered;
    /// the limit is for people and floods, and is not what is measured). Its log (20,000 lines
    /// at 10,000 players) is read and thrown away by a thread of the bench: a pipe nobody reads
    /// fills up, and then the server would wait in its next `write` to the log.
    pub(super) fn start(engine: Engine, players: usize) -> Result<StartedServer> {
        let program = std::env::current_exe()
            .map_err(|err| Error::io("finding this program to start the server", err))?;
        let places = (players + SPARE_PLACES).to_string();
        let mut child = Command::new(program)
            .args(["serve", "--port", "0", "--engine", engine.name()])
            .args(["--max-players", &places, "--idle-timeout", "0"])
            .args(["--max-lines-per-sec", "1000000"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| Error::io("starting the server", err))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(Error::Failed("the server's output is not readable".into()));
        };
        let mut stdout = BufReader::new(stdout);
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let Some(addr) = first.trim_end().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Failed(format!(
                "the server did not say where it listens (it printed {first:?})"
            )));
        };
        let addr = addr.to_string();
        let drained = std::thread::Builder::new()
            .name("server-log".into())
            .spawn(move || discard(stdout));
        if drained.is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Failed(
                "cannot start a thread to read the server's log".into(),
            ));
        }
        Ok(StartedServer { addr, child })
    }

    /// The server's process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for StartedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the server's output until it ends (the server exits), keeping none of it.
fn discard(mut output: BufReader<ChildStdout>) {
    let _ = std::io::copy(&mut output, &mut std::io::sink());
}

/// What the server cost, as far as the kernel says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerUsage {
    /// The most threads seen in the server at any sample.
    pub peak_threads: u64,
    /// Peak resident memory (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
}

/// Samples `/proc/PID/status` while the bench runs.
pub(super) struct Watch {
    pid: u32,
    usage: ServerUsage,
    next_sample: Instant,
}

impl Watch {
    pub(super) fn new(pid: u32) -> Watch {
        Watch {
            pid,
            usage: ServerUsage::default(),
            next_sample: Instant::now(),
        }
    }

    /// Reads the thread count, at most every [`SAMPLE_EVERY`].
    pub(super) fn sample(&mut self) {
        let now = Instant::now();
        if now < self.next_sample {
            return;
        }
        self.next_sample = now + SAMPLE_EVERY;
        if let Some(threads) = status_field(self.pid, "Threads:") {
            self.usage.peak_threads = self.usage.peak_threads.max(threads);
        }
    }

    /// A last sample, and the peak memory: `None` where `/proc/PID/status` cannot be read (the
    /// server is gone, or this is not Linux).
    pub(super) fn finish(mut self) -> Option<ServerUsage> {
        self.next_sample = Instant::now();
        self.sample();
        self.usage.peak_rss_kib = status_field(self.pid, "VmHWM:")?;
        Some(self.usage)
    }
}

/// The number after `field` in `/proc/PID/status` (`VmHWM:   41652 kB` gives 41652).
fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// This test's own process has at least one thread and some resident memory.
    #[test]
    fn reads_threads_and_peak_memory_of_a_process() {
        let usage = Watch::new(std::process::id()).finish().unwrap();
        assert!(usage.peak_threads >= 1, "{usage:?}");
        assert!(usage.peak_rss_kib > 100, "{usage:?}");
    }

    /// A process that does not exist has no usage, rather than zeros.
    #[test]
    fn no_usage_for_a_missing_process() {
        assert_eq!(Watch::new(u32::MAX).finish(), None);
    }
}
