//! Running the lab binaries: their `bench --json` output, servers started on port 0, and what
//! the kernel says about a server process (threads, peak memory).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use netlab_common::Error;
use serde_json::Value;

/// Where the lab binaries are.
#[derive(Debug, Clone)]
pub struct Bins {
    dir: PathBuf,
}

impl Bins {
    /// Checks that every lab binary is in `dir`.
    pub fn find(dir: &Path) -> Result<Self, Error> {
        let bins = Bins {
            dir: dir.to_path_buf(),
        };
        for name in ["tcp-echo", "udp-chat", "ftp-lab", "tcp-chat", "game-lab"] {
            if !bins.path(name).is_file() {
                return Err(Error::Usage(format!(
                    "{} not found: build the labs first (cargo build --release) or pass --bin-dir",
                    bins.path(name).display()
                )));
            }
        }
        Ok(bins)
    }

    /// The path of lab binary `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        let exe = format!("{name}{}", std::env::consts::EXE_SUFFIX);
        self.dir.join(exe)
    }

    /// A command running lab binary `name`.
    pub fn command(&self, name: &str) -> Command {
        Command::new(self.path(name))
    }
}

/// Runs `command` and returns the JSON objects it printed, one per line. A non-zero exit is an
/// error only if nothing was printed: a bench that measured and then reports errors (a reliable
/// scheme that timed out, say) still has figures for the report.
pub fn json_lines(mut command: Command) -> Result<Vec<Value>, Error> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|err| Error::io(format!("running {shown}"), err))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let values: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    if values.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Failed(format!(
            "{shown} printed no results ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    Ok(values)
}

/// A number field of a JSON object (`None` if missing or null).
pub fn number(value: &Value, field: &str) -> Option<f64> {
    value.get(field).and_then(Value::as_f64)
}

/// A text field of a JSON object.
pub fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A server started on port 0, with the address it printed. Killed when dropped.
pub struct Server {
    child: Child,
    /// `IP:PORT` from its `listening on` line.
    pub addr: String,
}

impl Server {
    /// Starts `command` and waits (up to 10 s) for its `listening on IP:PORT` line.
    pub fn start(mut command: Command) -> Result<Self, Error> {
        let shown = format!("{command:?}");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| Error::io(format!("starting {shown}"), err))?;
        let Some(stdout) = child.stdout.take() else {
            return Err(Error::Failed(format!("{shown}: no stdout")));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep reading (and discarding) after the address, so the server never blocks on a
        // full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(addr) => Ok(Server { child, addr }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(Error::Failed(format!(
                    "{shown} did not print `listening on`"
                )))
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a process's thread count while something runs, and reads its peak memory after.
pub struct ProcessWatch {
    stop: Arc<AtomicBool>,
    peak_threads: Arc<AtomicU64>,
    sampler: Option<thread::JoinHandle<()>>,
    pid: u32,
}

/// What [`ProcessWatch`] saw (`None` where the platform does not tell: not Linux).
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    /// Most threads seen at once.
    pub peak_threads: Option<u64>,
    /// Peak resident memory (the kernel's VmHWM), in KiB.
    pub peak_rss_kib: Option<u64>,
}

impl ProcessWatch {
    /// Starts sampling process `pid` every 50 ms.
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_threads = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak_threads));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(threads) = status_field(pid, "Threads:") {
                        peak.fetch_max(threads, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            })
        };
        ProcessWatch {
            stop,
            peak_threads,
            sampler: Some(sampler),
            pid,
        }
    }

    /// Stops sampling; reads the peak memory (call before the process exits).
    pub fn finish(mut self) -> Watched {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        let threads = self.peak_threads.load(Ordering::Relaxed);
        Watched {
            peak_threads: (threads > 0).then_some(threads),
            peak_rss_kib: status_field(self.pid, "VmHWM:"),
        }
    }
}

/// A number from `/proc/PID/status` (Linux); `None` elsewhere.
fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One comparison, measured one repetition at a time so the repetitions of all comparisons
/// can be interleaved (a noisy minute then hits every configuration alike, not one).
pub trait Comparison {
    /// What it compares, for the progress lines.
    fn what(&self) -> &'static str;
    /// Measures every configuration once, as repetition `rep` (1, 2, ...).
    fn measure(&mut self, bins: &Bins, plan: &crate::Plan, rep: usize) -> Result<(), Error>;
    /// Its section of the report, from every repetition measured.
    fn section(&self, plan: &crate::Plan) -> crate::report::Section;
}
