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

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a stopped server gets between `SIGTERM` and `SIGKILL`.
pub const GRACE: Duration = Duration::from_secs(2);

/// Bytes of each of the server's output streams kept for the feedback.
pub const OUTPUT_KEPT: usize = 16 * 1024;

/// How often the grader looks whether the port is open yet.
const POLL: Duration = Duration::from_millis(50);

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
        let mut server = StudentServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stdout,
            stderr,
        };
        match server.wait_until_open(launch) {
            Ok(()) => Ok(server),
            Err(failure) => {
                let (_, output) = server.stop();
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

    /// The process group id (the server's pid), for tests that check nothing is left.
    pub fn group(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server and everything it started; returns how, and what it printed.
    pub fn stop(mut self) -> (Stopped, String) {
        let stopped = self.stop_group();
        let out = self.stdout.text();
        let err = self.stderr.text();
        let output = match (out.trim().is_empty(), err.trim().is_empty()) {
            (true, true) => String::new(),
            (false, true) => out,
            (true, false) => err,
            (false, false) => format!("{out}\n[stderr]\n{err}"),
        };
        (stopped, output)
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

    fn launch(command: &str) -> Launch {
        Launch {
            command: command.into(),
            workdir: None,
            startup: Duration::from_secs(3),
            transport: Transport::Tcp,
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
        let (stopped, _) = server.stop();
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
}

/// The path of `program` on `PATH`, if any (tests skip without python3).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
