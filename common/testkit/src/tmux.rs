//! # Driving an interactive program in a real terminal, as a person would
//!
//! A test that pipes text into a client tests the plain mode only. The full-screen mode exists
//! for a person at a terminal, so its tests run the client inside tmux, a real terminal
//! emulator with a fixed size, type into it (`send-keys`) and read what the screen shows
//! (`capture-pane`), exactly as the person would see it.
//!
//! Each [`Tmux`] runs its own tmux server on a private socket (`-L`), so tests never see each
//! other's windows or the developer's own tmux. Waiting is on what the screen shows
//! ([`Tmux::wait_for`]), with a deadline, never a fixed sleep: the screen is read again every
//! few milliseconds until the text appears.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{PATIENCE, find_program, skip};

/// How often the screen is read again while waiting for something to appear.
const POLL: Duration = Duration::from_millis(20);

/// A private tmux server with one window per program started in it; killed when dropped.
pub struct Tmux {
    socket: String,
    windows: usize,
    width: u16,
    height: u16,
}

impl Tmux {
    /// A tmux of `width` x `height` cells, or `None` (and a visible SKIPPED line for `test`)
    /// when tmux is not installed.
    pub fn start(test: &str, width: u16, height: u16) -> Option<Self> {
        if find_program("tmux").is_none() {
            skip(
                test,
                "tmux is not installed (apt-get install tmux; .ci/run installs it)",
            );
            return None;
        }
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "netlab-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Some(Self {
            socket,
            windows: 0,
            width,
            height,
        })
    }

    /// Starts `program args...` in a new window (in `dir`) and returns the window's name.
    /// `NO_COLOR` is set unless `colors`, so the screen text compares plainly.
    pub fn run(&mut self, dir: &Path, program: &Path, args: &[&str]) -> String {
        let window = format!("w{}", self.windows);
        let mut command = vec![program.display().to_string()];
        command.extend(args.iter().map(|arg| shell_quote(arg)));
        let size = (self.width.to_string(), self.height.to_string());
        let verb = if self.windows == 0 {
            "new-session"
        } else {
            "new-window"
        };
        let mut tmux_args = vec![verb, "-d", "-c"];
        let dir_text = dir.display().to_string();
        tmux_args.push(&dir_text);
        if self.windows == 0 {
            tmux_args.extend(["-s", "netlab", "-x", &size.0, "-y", &size.1]);
        }
        tmux_args.extend([
            "-n",
            &window,
            "-e",
            "NO_COLOR=1",
            "-e",
            "TERM=xterm-256color",
        ]);
        let joined = command.join(" ");
        // Keep the window open after the program ends, so its last screen can still be read.
        let line = format!("{joined}; echo '[exited]'; sleep 600");
        tmux_args.push(&line);
        self.tmux(&tmux_args);
        self.windows += 1;
        window
    }

    /// Types `keys` into `window`: text is typed literally; use [`Tmux::key`] for Enter, C-c...
    pub fn type_text(&self, window: &str, text: &str) {
        self.tmux(&["send-keys", "-t", &self.target(window), "-l", text]);
    }

    /// Presses one named key in `window` (`Enter`, `C-c`, `Up`, `Tab`, ...).
    pub fn key(&self, window: &str, key: &str) {
        self.tmux(&["send-keys", "-t", &self.target(window), key]);
    }

    /// Pastes `text` into `window` in one go, as a terminal does when you paste (all the bytes
    /// at once, newlines included), not key by key.
    pub fn paste(&self, window: &str, text: &str) {
        let mut load = Command::new("tmux")
            .args(["-L", &self.socket, "load-buffer", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("running tmux load-buffer");
        if let Some(mut stdin) = load.stdin.take() {
            std::io::Write::write_all(&mut stdin, text.as_bytes()).expect("feeding tmux");
        }
        assert!(load.wait().expect("tmux load-buffer").success());
        self.tmux(&["paste-buffer", "-d", "-t", &self.target(window)]);
    }

    /// Resizes `window` to `width` x `height` cells, as a person does by dragging the
    /// terminal's corner or splitting a pane: the program gets SIGWINCH and sees the new size.
    /// Like most terminal emulators, tmux rewraps (reflows) the lines it holds to the new width,
    /// the program's own rows included. (`resize-window` also pins this window's size: it no
    /// longer follows the session's.)
    pub fn resize(&self, window: &str, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        self.tmux(&[
            "resize-window",
            "-t",
            &self.target(window),
            "-x",
            &width,
            "-y",
            &height,
        ]);
    }

    /// What `window` shows now, one string per row, trailing spaces removed.
    pub fn screen(&self, window: &str) -> Vec<String> {
        let output = self.tmux(&["capture-pane", "-p", "-t", &self.target(window)]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|row| row.trim_end().to_string())
            .collect()
    }

    /// Everything `window` has shown: its scrollback and the screen, one string per row,
    /// trailing spaces removed.
    pub fn history(&self, window: &str) -> Vec<String> {
        let output = self.tmux(&["capture-pane", "-p", "-S", "-", "-t", &self.target(window)]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|row| row.trim_end().to_string())
            .collect()
    }

    /// Waits until `seen` holds for `window`'s screen; the screen, or a panic showing the last
    /// screen after [`PATIENCE`].
    pub fn wait_for(
        &self,
        window: &str,
        what: &str,
        seen: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen(window);
            if seen(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {PATIENCE:?} for {what}; the screen shows:\n{}",
                    screen.join("\n")
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until some row of `window` contains `text`.
    pub fn wait_for_text(&self, window: &str, text: &str) -> Vec<String> {
        self.wait_for(window, &format!("{text:?} on screen"), |screen| {
            screen.iter().any(|row| row.contains(text))
        })
    }

    /// The row where the cursor is in `window`, and the cursor's column.
    pub fn cursor(&self, window: &str) -> (usize, usize) {
        let output = self.tmux(&[
            "display-message",
            "-p",
            "-t",
            &self.target(window),
            "#{cursor_y} #{cursor_x}",
        ]);
        let text = String::from_utf8_lossy(&output.stdout);
        let mut numbers = text.split_whitespace().map(|n| n.parse().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
    }

    fn target(&self, window: &str) -> String {
        format!("netlab:{window}")
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("running tmux");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// `text` quoted for the shell tmux runs the command with.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
