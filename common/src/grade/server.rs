//! # A student's server, started and stopped by the grader (`--server-cmd 'CMD {port}'`)
//!
//! To grade a class, the grader starts each submission itself: it picks a free port, runs the
//! command with `{port}` replaced (through the shell, so `cd src && python3 server.py {port}`
//! works, in any language), waits until the port is open, grades, and stops the server.
//!
//! Stopping is the hard part, because the server is code we did not write. It may never open
//! its port, exit at once, ignore `SIGTERM`, or start children of its own (a shell running
//! `python3`, a pre-forking server) that outlive it. So on Unix the server starts in a **process
//! group** of its own (`setpgid`, the same idea a shell uses for a pipeline): one signal to the
//! group reaches the server and every child it started. Stopping sends `SIGTERM` to the group,
//! gives it [`GRACE`] to exit, then `SIGKILL`s whatever is left. (A child that calls `setsid`
//! leaves the group on purpose; only a container or a cgroup catches that one.) On other systems
//! the grader can only kill the process it started.
//!
//! What the server prints is kept for the feedback, at most [`OUTPUT_KEPT`] bytes of each
//! stream: the rest is read and dropped, so a server that floods its output neither fills the
//! grader's memory nor blocks on a full pipe.
//!
//! ## A memory limit (`--student-memory`)
//! A server that leaks (a buffer per message never freed, a queue for a client that never
//! reads) can eat the grading machine's memory and take the other students' servers, or the
//! grader, down with it. On Linux the grader watches the *resident* memory of the server's whole
//! process group (the pages really in RAM, summed from each member's `/proc/PID/stat`), every
//! [`MEMORY_SAMPLE`], and kills the group when it passes the limit; the rubric then says so.
//! One thread samples every server being graded in one pass over `/proc` (`Sampler`).
//! Resident memory, not a `ulimit`: `ulimit -v` (address space) and even `ulimit -d` count
//! memory a program only *reserves*, and a Java VM reserves a heap of a quarter of the
//! machine's RAM at start, so such limits stop correct Java servers before they open a port.
//! (A program that grabs memory faster than one sample period can overshoot the limit by what
//! it grabs in that time; a cgroup would be exact, but needs privileges a grading container
//! rarely has.) Other systems: no limit, said in `--help`.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a stopped server gets between `SIGTERM` and `SIGKILL`.
pub const GRACE: Duration = Duration::from_secs(2);

/// Bytes of each of the server's output streams kept for the feedback.
pub const OUTPUT_KEPT: usize = 16 * 1024;

/// How often the grader looks whether the port is open yet.
const POLL: Duration = Duration::from_millis(50);

/// How often the memory of a started server is measured (Linux).
pub const MEMORY_SAMPLE: Duration = Duration::from_millis(100);

/// Which transport the server listens on: a TCP port accepts connections; a UDP port is taken
/// once the server has bound it (our own bind to it then fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A TCP listener.
    Tcp,
    /// A bound UDP socket.
    Udp,
}

/// How to start one student's server.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The command, `{port}` standing for the port the grader chose.
    pub command: String,
    /// The directory to run it in (`None`: the grader's own).
    pub workdir: Option<PathBuf>,
    /// How long the server may take to open its port.
    pub startup: Duration,
    /// What the port is.
    pub transport: Transport,
    /// The most resident memory the server's processes may use together, in bytes
    /// (`--student-memory`; Linux only), or `None` for no limit.
    pub memory_limit: Option<u64>,
}

/// Why a server could not be graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartFailure {
    /// The command could not be run at all (no shell, no such directory).
    Spawn(String),
    /// The server exited before its port was open.
    Exited(String),
    /// The port was still closed after the startup time.
    NeverListened(Duration),
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartFailure::Spawn(why) => write!(f, "the command could not be started: {why}"),
            StartFailure::Exited(status) => {
                write!(f, "the server exited ({status}) before its port was open")
            }
            StartFailure::NeverListened(waited) => write!(
                f,
                "the port was still closed after {:.0} s (does the server use the port it is given?)",
                waited.as_secs_f64()
            ),
        }
    }
}

/// How the server ended when the grader stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// It had exited on its own already.
    Exited(String),
    /// It (and its process group) ended after `SIGTERM`.
    Terminated,
    /// It had to be killed (`SIGKILL`) after [`GRACE`].
    Killed,
}

/// A running student server.
pub struct StudentServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    stdout: Captured,
    stderr: Captured,
    memory: MemoryWatch,
}

/// What the memory watch saw of a server's process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemorySeen {
    /// The most resident memory measured, in bytes (0 where it cannot be measured).
    pub peak: u64,
    /// `Some(bytes measured)` when the group passed the limit and was killed.
    pub exceeded: Option<u64>,
}

/// What the memory watch keeps of one server's process group: written by the sampler, read by
/// the grader.
#[derive(Debug)]
struct Watched {
    /// The process group (the server's pid).
    group: u32,
    /// The most resident bytes the group may hold together (`None`: only measure).
    limit: Option<u64>,
    /// The most resident bytes measured so far.
    peak: AtomicU64,
    /// The bytes measured when the group passed the limit and was killed (0: it did not).
    exceeded: AtomicU64,
}

/// Watches a server's process group: registered with the one [`Sampler`] of the grader.
struct MemoryWatch {
    watched: Arc<Watched>,
}

impl MemoryWatch {
    /// Starts watching `group` (the server's pid). Without a limit, or where `/proc` cannot
    /// be read, only the peak is recorded (or nothing).
    fn start(group: u32, limit: Option<u64>) -> MemoryWatch {
        let watched = Arc::new(Watched {
            group,
            limit,
            peak: AtomicU64::new(0),
            exceeded: AtomicU64::new(0),
        });
        if cfg!(target_os = "linux") {
            Sampler::shared().watch(Arc::clone(&watched));
        }
        MemoryWatch { watched }
    }

    /// The most resident memory measured so far.
    fn peak(&self) -> u64 {
        self.watched.peak.load(Ordering::SeqCst)
    }

    /// Stops the watch and says what it saw. Once this returns, the sampler no longer looks
    /// at the group, so it cannot kill another program that later gets the same group id.
    fn finish(&mut self) -> MemorySeen {
        if cfg!(target_os = "linux") {
            Sampler::shared().forget(&self.watched);
        }
        let exceeded = self.watched.exceeded.load(Ordering::SeqCst);
        MemorySeen {
            peak: self.peak(),
            exceeded: (exceeded > 0).then_some(exceeded),
        }
    }
}

/// One thread that measures every watched server, every [`MEMORY_SAMPLE`]: it reads `/proc`
/// once per sample and adds up each watched group's resident memory from that one pass.
///
/// Why one for all: a sample reads the `stat` file of *every* process on the machine (Linux
/// has no "processes of group G" query), a few microseconds each. A watch thread per server
/// read them all once per server per sample: grading 64 students at a time on a machine with
/// 500 processes would read 320,000 files a second, seconds of CPU taken from the very servers
/// being graded. One pass per sample costs the same whether 1 or 64 servers are watched.
struct Sampler {
    /// The groups being watched. The sampler holds this lock for a whole sample (reading
    /// `/proc`, deciding, killing), so [`Sampler::forget`] returns only between samples.
    watched: Mutex<Vec<Arc<Watched>>>,
}

impl Sampler {
    /// The grader's sampler; its thread starts with the first watch.
    fn shared() -> &'static Sampler {
        static SHARED: std::sync::OnceLock<Sampler> = std::sync::OnceLock::new();
        static STARTED: std::sync::Once = std::sync::Once::new();
        let sampler = SHARED.get_or_init(|| Sampler {
            watched: Mutex::new(Vec::new()),
        });
        STARTED.call_once(|| {
            let _ = thread::Builder::new()
                .name("grade-server-memory".into())
                .spawn(|| sampler.run());
        });
        sampler
    }

    fn watch(&self, watched: Arc<Watched>) {
        self.lock().push(watched);
    }

    fn forget(&self, watched: &Arc<Watched>) {
        self.lock().retain(|other| !Arc::ptr_eq(other, watched));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Watched>>> {
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self) {
        loop {
            self.sample();
            thread::sleep(MEMORY_SAMPLE);
        }
    }

    /// One pass over `/proc` for every watched group; a group above its limit is killed at
    /// once and no longer watched.
    fn sample(&self) {
        let mut watched = self.lock();
        if watched.is_empty() {
            return;
        }
        let groups: Vec<u32> = watched.iter().map(|one| one.group).collect();
        let resident = groups_resident_bytes(&groups);
        watched.retain(|one| {
            let bytes = resident.get(&one.group).copied().unwrap_or(0);
            one.peak.fetch_max(bytes, Ordering::SeqCst);
            let over = one.limit.is_some_and(|limit| bytes > limit);
            if over {
                one.exceeded.store(bytes, Ordering::SeqCst);
                kill_group_now(one.group);
            }
            !over
        });
    }
}

/// Resident bytes of every process of each of `groups`, from one pass over `/proc/PID/stat`
/// (Linux; nothing elsewhere). Threads are not processes here: their memory is their process's.
fn groups_resident_bytes(groups: &[u32]) -> std::collections::HashMap<u32, u64> {
    let mut resident = std::collections::HashMap::new();
    #[cfg(target_os = "linux")]
    {
        let page = u64::try_from(rustix::param::page_size()).unwrap_or(4096);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return resident;
        };
        let stats = entries
            .flatten()
            .filter(|entry| {
                let name = entry.file_name();
                name.to_str()
                    .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
            })
            .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok());
        for (group, pages) in stats.filter_map(|stat| group_and_resident_pages(&stat)) {
            if groups.contains(&group) {
                *resident.entry(group).or_insert(0) += pages.saturating_mul(page);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = groups;
    resident
}

/// The process group (field 5) and resident pages (field 24) of one `/proc/PID/stat` line,
/// `proc(5)`. The command name (field 2) is in parentheses and may itself hold spaces and `)`,
/// so the fields are counted from the last `)`.
fn group_and_resident_pages(stat: &str) -> Option<(u32, u64)> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let group = fields.get(5 - 3)?.parse().ok()?;
    let resident = fields.get(24 - 3)?.parse().ok()?;
    Some((group, resident))
}

/// `SIGKILL` to the whole group at once: a server over its memory limit gets no grace period
/// in which to grow further.
fn kill_group_now(group: u32) {
    #[cfg(unix)]
    if let Some(group) = i32::try_from(group)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = group;
}

/// One output stream, read on a thread into a bounded buffer.
struct Captured {
    kept: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Captured {
    fn start(stream: Option<impl Read + Send + 'static>) -> Captured {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let reader = stream.and_then(|mut stream| {
            let kept = Arc::clone(&kept);
            thread::Builder::new()
                .name("grade-server-output".into())
                .spawn(move || {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                        let room = OUTPUT_KEPT.saturating_sub(kept.len());
                        kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                    }
                })
                .ok()
        });
        Captured { kept, reader }
    }

    /// What was kept, as text; waits a little for the reader to see the end of the stream.
    fn text(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let until = Instant::now() + Duration::from_millis(500);
            while !reader.is_finished() && Instant::now() < until {
                thread::sleep(Duration::from_millis(10));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::from_utf8_lossy(&kept).into_owned();
        if kept.len() >= OUTPUT_KEPT {
            text.push_str("\n[... more output dropped]");
        }
        text
    }
}

/// A free port on 127.0.0.1 of the given transport, as the kernel picks one for port 0. (Another
/// program could take it before the server does; the startup then fails and says so.)
pub fn free_port(transport: Transport) -> std::io::Result<u16> {
    match transport {
        Transport::Tcp => TcpListener::bind("127.0.0.1:0")?
            .local_addr()
            .map(|a| a.port()),
        Transport::Udp => UdpSocket::bind("127.0.0.1:0")?
            .local_addr()
            .map(|a| a.port()),
    }
}

/// The shell command line that runs `command`.
fn shell(command: &str, workdir: Option<&Path>) -> Command {
    #[cfg(unix)]
    let mut shell = {
        use std::os::unix::process::CommandExt as _;
        let mut shell = Command::new("sh");
        shell.arg("-c").arg(command);
        // A process group of its own, whose id is the server's pid: one signal reaches every
        // process it starts.
        shell.process_group(0);
        shell
    };
    #[cfg(not(unix))]
    let mut shell = {
        let mut shell = Command::new("cmd");
        shell.arg("/C").arg(command);
        shell
    };
    if let Some(dir) = workdir {
        shell.current_dir(dir);
    }
    shell
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    shell
}

impl StudentServer {
    /// Starts the server on a free port and waits until the port is open. On failure the
    /// server (and its group) is already stopped; the output it printed comes with the reason.
    pub fn start(launch: &Launch) -> Result<StudentServer, (StartFailure, String)> {
        let port = free_port(launch.transport).map_err(|err| {
            (
                StartFailure::Spawn(format!("no free port: {err}")),
                String::new(),
            )
        })?;
        let command = launch.command.replace("{port}", &port.to_string());
        let mut child = shell(&command, launch.workdir.as_deref())
            .spawn()
            .map_err(|err| (StartFailure::Spawn(err.to_string()), String::new()))?;
        let stdout = Captured::start(child.stdout.take());
        let stderr = Captured::start(child.stderr.take());
        let memory = MemoryWatch::start(child.id(), launch.memory_limit);
        let mut server = StudentServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stdout,
            stderr,
            memory,
        };
        match server.wait_until_open(launch) {
            Ok(()) => Ok(server),
            Err(failure) => {
                let (_, output, _) = server.stop();
                Err((failure, output))
            }
        }
    }

    fn wait_until_open(&mut self, launch: &Launch) -> Result<(), StartFailure> {
        let started = Instant::now();
        loop {
            if is_open(self.addr, launch.transport) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StartFailure::Exited(said(status)));
            }
            if started.elapsed() >= launch.startup {
                return Err(StartFailure::NeverListened(launch.startup));
            }
            thread::sleep(POLL);
        }
    }

    /// The most resident memory the watch has measured of the server's processes so far.
    pub fn memory_peak(&self) -> u64 {
        self.memory.peak()
    }

    /// The process group id (the server's pid), for tests that check nothing is left.
    pub fn group(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server and everything it started; returns how, what it printed, and what
    /// the memory watch saw.
    pub fn stop(mut self) -> (Stopped, String, MemorySeen) {
        let memory = self.memory.finish();
        let stopped = self.stop_group();
        let out = self.stdout.text();
        let err = self.stderr.text();
        let output = match (out.trim().is_empty(), err.trim().is_empty()) {
            (true, true) => String::new(),
            (false, true) => out,
            (true, false) => err,
            (false, false) => format!("{out}\n[stderr]\n{err}"),
        };
        (stopped, output, memory)
    }

    /// Sends SIGTERM to the server's process group without waiting (the grader's deadline:
    /// [`StudentServer::stop`] still reaps and kills whatever is left afterwards). Windows:
    /// nothing is sent; the server is killed by `stop`.
    pub fn signal_group(&self) {
        #[cfg(unix)]
        if let Some(group) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
        }
    }

    #[cfg(unix)]
    fn stop_group(&mut self) -> Stopped {
        use rustix::process::{Pid, Signal, kill_process_group};
        let already = self.child.try_wait().ok().flatten().map(said);
        let Some(group) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Stopped::Killed;
        };
        // Even when the server itself has exited, children it started may still be running.
        let _ = kill_process_group(group, Signal::TERM);
        if self.wait_for_group(group, GRACE) {
            return already.map_or(Stopped::Terminated, Stopped::Exited);
        }
        let _ = kill_process_group(group, Signal::KILL);
        self.wait_for_group(group, GRACE);
        Stopped::Killed
    }

    /// Reaps the server and waits until no process is left in its group (`kill(-pgid, 0)`
    /// fails with `ESRCH`).
    #[cfg(unix)]
    fn wait_for_group(&mut self, group: rustix::process::Pid, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            // Reaped, or the server stays a zombie that still counts as a member of the group.
            let _ = self.child.try_wait();
            if rustix::process::test_kill_process_group(group).is_err() {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[cfg(not(unix))]
    fn stop_group(&mut self) -> Stopped {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Stopped::Exited(said(status));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Stopped::Killed
    }
}

/// An exit status in words: `exit status 3`, `killed by signal 9`.
fn said(status: ExitStatus) -> String {
    status.to_string()
}

/// Whether the server's port is open: a TCP connection is accepted (and closed at once), or
/// the UDP port is taken.
fn is_open(addr: SocketAddr, transport: Transport) -> bool {
    match transport {
        Transport::Tcp => TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok(),
        Transport::Udp => UdpSocket::bind(addr).is_err(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write as _;

    fn launch(command: &str) -> Launch {
        Launch {
            command: command.into(),
            workdir: None,
            startup: Duration::from_secs(3),
            transport: Transport::Tcp,
            memory_limit: None,
        }
    }

    /// No process of the group is left.
    fn group_is_gone(group: u32) -> bool {
        let pid = rustix::process::Pid::from_raw(i32::try_from(group).unwrap()).unwrap();
        rustix::process::test_kill_process_group(pid).is_err()
    }

    /// A command that never opens its port fails to start with its output kept, and nothing of
    /// it is left running.
    #[test]
    fn a_server_that_never_listens_is_reported_and_stopped() {
        let started = Instant::now();
        let Err((failure, output)) =
            StudentServer::start(&launch("echo starting on {port}; sleep 30"))
        else {
            panic!("it started");
        };
        assert_eq!(failure, StartFailure::NeverListened(Duration::from_secs(3)));
        assert!(output.starts_with("starting on "), "{output}");
        assert!(started.elapsed() < Duration::from_secs(8));
    }

    /// A command that exits at once is reported with its status and what it said.
    #[test]
    fn a_server_that_exits_at_once_is_reported() {
        let Err((failure, output)) = StudentServer::start(&launch("echo oops >&2; exit 3")) else {
            panic!("it started");
        };
        assert_eq!(failure, StartFailure::Exited("exit status: 3".into()));
        assert_eq!(output.trim(), "oops");
    }

    /// A server that ignores SIGTERM and has a child of its own: the group is killed after the
    /// grace, and no process of it is left.
    #[test]
    fn a_server_that_ignores_sigterm_and_forks_is_killed_with_its_children() {
        let python = "import socket,sys,signal,os,time\n\
            signal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
            if os.fork() == 0:\n    signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)\n\
            s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n\
            time.sleep(60)";
        let command = format!("python3 -c \"{python}\" {{port}}");
        if crate::grade::server::which("python3").is_none() {
            return;
        }
        let server = StudentServer::start(&launch(&command)).unwrap_or_else(|e| panic!("{e:?}"));
        let group = server.group();
        assert!(!group_is_gone(group));
        let (stopped, _, _) = server.stop();
        assert_eq!(stopped, Stopped::Killed);
        assert!(group_is_gone(group), "a process of group {group} is left");
    }

    /// A well-behaved server stops at SIGTERM, its child shell with it.
    #[test]
    fn a_server_that_obeys_sigterm_is_terminated() {
        if crate::grade::server::which("python3").is_none() {
            return;
        }
        let command = "python3 -c \"import socket,sys,time; s=socket.socket(); \
                       s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)\" {port}";
        let server = StudentServer::start(&launch(command)).unwrap_or_else(|e| panic!("{e:?}"));
        let group = server.group();
        assert_eq!(server.stop().0, Stopped::Terminated);
        assert!(group_is_gone(group));
    }

    /// /proc/PID/stat is read from the last `)`: a command name with spaces and parentheses
    /// does not shift the fields.
    #[test]
    fn stat_lines_give_the_group_and_resident_pages() {
        let stat = "4242 (we ird) (x) S 1 4240 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 \
                    5000 123456789 2817 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(group_and_resident_pages(stat), Some((4240, 2817)));
        assert_eq!(group_and_resident_pages("4242 (cut) S 1"), None);
        assert_eq!(group_and_resident_pages("no parenthesis at all"), None);
    }

    /// A server whose processes grow past --student-memory is killed, group and all, by the
    /// memory watch (not only at the end), and the watch says how much it saw. The server here
    /// starts a child that takes 20 MiB a step (memory really touched: `b'x' * n` writes every
    /// byte), so the limit must count the whole group, not the server's own process.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_server_over_its_memory_limit_is_killed_and_reported() {
        if which("python3").is_none() {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED a_server_over_its_memory_limit_is_killed_and_reported: python3 is not installed"
            );
            return;
        }
        let python = "import socket,sys,os,time\n\
            s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n\
            c, _ = s.accept()\n\
            if os.fork() == 0:\n    hoard = []\n    while True: hoard.append(b'x' * (20 << 20)); time.sleep(0.01)\n\
            time.sleep(60)";
        let mut launch = launch(&format!("python3 -c \"{python}\" {{port}}"));
        let limit = 100 << 20;
        launch.memory_limit = Some(limit);
        let server = StudentServer::start(&launch).unwrap_or_else(|e| panic!("{e:?}"));
        let group = server.group();
        let mut client = TcpStream::connect(server.addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // The kill closes the server's end: the read ends (0 bytes or a reset), not times out.
        let mut byte = [0u8; 1];
        match client.read(&mut byte) {
            Ok(0) => {}
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("the server was not stopped: {other:?}"),
        }
        let (_, _, memory) = server.stop();
        let seen = memory
            .exceeded
            .unwrap_or_else(|| panic!("not reported: {memory:?}"));
        assert!(seen > limit, "{seen} bytes seen, limit {limit}");
        assert!(memory.peak >= seen);
        assert!(group_is_gone(group), "a process of group {group} is left");
    }

    /// Without a limit the watch only measures: a small server's peak is above zero and under
    /// the limit it would have had.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_server_within_bounds_has_its_peak_measured() {
        if which("python3").is_none() {
            return;
        }
        let command = "python3 -c \"import socket,sys,time; s=socket.socket(); \
                       s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)\" {port}";
        let mut launch = launch(command);
        launch.memory_limit = Some(1 << 30);
        let server = StudentServer::start(&launch).unwrap_or_else(|e| panic!("{e:?}"));
        // A Python interpreter is several MiB resident; wait until a sample has seen it.
        let until = Instant::now() + Duration::from_secs(10);
        while server.memory_peak() < 4 << 20 && Instant::now() < until {
            thread::sleep(MEMORY_SAMPLE);
        }
        let (stopped, _, memory) = server.stop();
        assert_eq!(stopped, Stopped::Terminated);
        assert_eq!(memory.exceeded, None);
        assert!(
            memory.peak >= 4 << 20 && memory.peak < 1 << 30,
            "{memory:?}"
        );
    }

    /// Two servers watched at once are both measured, each under its own group, and a finished
    /// watch is no longer sampled (so it cannot kill whoever gets its group id next).
    #[cfg(target_os = "linux")]
    #[test]
    fn one_sampler_measures_every_server_and_forgets_finished_ones() {
        if which("python3").is_none() {
            return;
        }
        let command = "python3 -c \"import socket,sys,time; s=socket.socket(); \
                       s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)\" {port}";
        let servers: Vec<StudentServer> = (0..2)
            .map(|_| StudentServer::start(&launch(command)).unwrap_or_else(|e| panic!("{e:?}")))
            .collect();
        let groups: Vec<u32> = servers.iter().map(StudentServer::group).collect();
        let resident = groups_resident_bytes(&groups);
        for group in &groups {
            assert!(
                resident.get(group).copied().unwrap_or(0) > 1 << 20,
                "{resident:?}"
            );
        }
        let until = Instant::now() + Duration::from_secs(10);
        while servers.iter().any(|server| server.memory_peak() == 0) && Instant::now() < until {
            thread::sleep(MEMORY_SAMPLE);
        }
        for server in servers {
            let group = server.group();
            let (_, _, memory) = server.stop();
            assert!(memory.peak > 1 << 20, "{memory:?}");
            let still_watched = Sampler::shared()
                .lock()
                .iter()
                .any(|one| one.group == group);
            assert!(!still_watched, "group {group} is still sampled after stop");
        }
    }
}

/// The path of `program` on `PATH`, if any (tests skip without python3).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
