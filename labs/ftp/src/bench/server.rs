//! # The server under test: `ftp-lab serve`, as a child process
//!
//! The bench measures the server exactly as a student runs it, so it starts the same binary
//! (`ftp-lab serve --port 0`) as a child process rather than calling the server's code in a
//! thread. That keeps the server's behaviour unchanged (its log lines, its sendfile, its
//! end-of-upload check), keeps its log out of the bench's own output (a script reads that), and
//! puts a process boundary between client and server, as on a real network.
//!
//! The port comes from the `listening on 127.0.0.1:PORT` line the server prints (port 0: the OS
//! picks a free one). Its output is read by two threads until it exits, and the last lines are
//! kept, so a failed transfer can say what the server said about it.
//!
//! A child process can outlive its parent: if the bench is killed, nobody kills the server. So
//! its standard input is a pipe from the bench, and `--stop-on-stdin-eof` makes it exit when
//! that pipe closes, which the kernel does when the bench exits, however it exits.
//!
//! With `--tls` the server also gets `--tls-cert-out FILE` and `--require-tls`. It makes its
//! certificate at start (a throwaway CA and a certificate for 127.0.0.1 it signs) and writes the
//! CA to FILE *before* it prints `listening on`, so the bench can trust exactly that CA, the way
//! a student passes `--tls-ca` to `ftp-lab get`: no `--insecure`. `--require-tls` makes the
//! server itself refuse any transfer that is not protected (`521`), so a bench run that passes
//! moved every byte over TLS.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use netlab_common::{Error, Result, accept};

/// How long the server may take to print its `listening on` line.
const STARTUP: Duration = Duration::from_secs(10);

/// Log lines kept for error messages.
const KEEP_LINES: usize = 8;

/// A running `ftp-lab serve`, killed when dropped.
#[derive(Debug)]
pub struct ServerChild {
    /// Shared with the Ctrl-C handler, which must be able to kill it too.
    child: Arc<Mutex<Child>>,
    addr: SocketAddr,
    log: Receiver<String>,
    recent: VecDeque<String>,
}

impl ServerChild {
    /// Runs `program serve --root ROOT --users ACCOUNTS --no-anonymous --port 0
    /// --stop-on-stdin-eof` and waits for its `listening on` line. With `tls_ca_out`, also
    /// `--tls-cert-out TLS_CA_OUT --require-tls` (module docs).
    pub fn start(
        program: &Path,
        root: &Path,
        accounts: &Path,
        tls_ca_out: Option<&Path>,
    ) -> Result<ServerChild> {
        let mut command = Command::new(program);
        command
            .arg("serve")
            .arg("--root")
            .arg(root)
            .arg("--users")
            .arg(accounts)
            .args(["--no-anonymous", "--port", "0", "--stop-on-stdin-eof"]);
        if let Some(ca) = tls_ca_out {
            command.arg("--tls-cert-out").arg(ca).arg("--require-tls");
        }
        let mut child = command
            .env("NO_COLOR", "1")
            // Kept open (in `Child`) for as long as we run; see the module docs.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| {
                Error::io(
                    format!("starting the server ({} serve)", program.display()),
                    err,
                )
            })?;
        let (lines, log) = mpsc::channel();
        let output = (child.stdout.take(), child.stderr.take());
        // From here on the handle kills the child when dropped, also if a reader thread
        // cannot be started.
        let mut server = ServerChild {
            child: Arc::new(Mutex::new(child)),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            recent: VecDeque::new(),
        };
        if let Some(stdout) = output.0 {
            forward_lines("ftp-bench-stdout", stdout, lines.clone())?;
        }
        if let Some(stderr) = output.1 {
            forward_lines("ftp-bench-stderr", stderr, lines)?;
        }
        server.addr = server.wait_until_listening()?;
        Ok(server)
    }

    /// The control port's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process handle, for a Ctrl-C handler that must stop it.
    pub fn shared_child(&self) -> Arc<Mutex<Child>> {
        Arc::clone(&self.child)
    }

    /// The server's last few log lines, one per line (what it said about a failed transfer).
    pub fn recent_log(&mut self) -> String {
        while let Ok(line) = self.log.try_recv() {
            self.keep(line);
        }
        self.recent
            .iter()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn keep(&mut self, line: String) {
        if self.recent.len() == KEEP_LINES {
            self.recent.pop_front();
        }
        self.recent.push_back(line);
    }

    fn wait_until_listening(&mut self) -> Result<SocketAddr> {
        let deadline = Instant::now() + STARTUP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.log.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.failed_to_start("it exited"));
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.failed_to_start("it printed no `listening on` line in time"));
                }
            };
            if let Some(addr) = line.strip_prefix("listening on ") {
                return addr.trim().parse().map_err(|_| {
                    Error::Failed(format!("the server announced a bad address: {line}"))
                });
            }
            self.keep(line);
        }
    }

    fn failed_to_start(&mut self, why: &str) -> Error {
        Error::Failed(format!(
            "the ftp-lab server did not start: {why}; it printed:\n{}",
            self.recent_log()
        ))
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        kill(&self.child);
    }
}

/// Stops the server (if it still runs) and collects its exit status, so no zombie is left.
pub fn kill(child: &Mutex<Child>) {
    // A panic elsewhere while holding the lock leaves the handle usable: kill it anyway.
    let mut child = child.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends each line `source` prints to `lines`, until it closes (the server exited), in a
/// thread named `name`; an error if no thread can be started.
fn forward_lines(
    name: &str,
    source: impl Read + Send + 'static,
    lines: Sender<String>,
) -> Result<()> {
    accept::spawn_named(name, move || {
        for line in BufReader::new(source).lines().map_while(|line| line.ok()) {
            if lines.send(line).is_err() {
                break;
            }
        }
    })
    .map(drop)
}
