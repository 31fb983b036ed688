//! The interactive flow of `tcp-chat pair` as a person sees it: both sides run in real terminals
//! (tmux panes), keys are typed into them, and the screens are read back. Skipped visibly where
//! tmux is missing.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{BIN, PATIENCE, TempDir, find_program, skip};

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    tmux: PathBuf,
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.tmux)
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// The visible text of `window`, colors stripped.
    fn screen(&self, window: &str) -> String {
        let output = self.run(&["capture-pane", "-p", "-t", window]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until `window` shows `wanted`. A terminal screen sends no event when it changes, so
    /// this reads it again every few milliseconds until the text is there or time is up.
    fn wait_for(&self, window: &str, wanted: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen(window);
            if screen.contains(wanted) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{window} never showed {wanted:?}; screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(25));
        }
    }

    fn type_line(&self, window: &str, text: &str) {
        self.run(&["send-keys", "-t", window, "-l", text]);
        self.run(&["send-keys", "-t", window, "Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn start(tmux: &Tmux, dir: &Path, name: &str, command: &str) {
    let status = tmux.run(&[
        "new-window",
        "-d",
        "-n",
        name,
        "-c",
        &dir.to_string_lossy(),
        command,
    ]);
    assert!(status.status.success(), "{status:?}");
}

/// Only the side whose turn it is shows `Enter Input >`; the other shows that it waits; a
/// message typed on one screen appears on the other with the prompt; `/q` ends both.
#[test]
fn prompts_follow_the_turn_on_real_terminals() {
    let Some(tmux_path) = find_program("tmux") else {
        skip(
            "prompts_follow_the_turn_on_real_terminals",
            "tmux is not installed",
        );
        return;
    };
    let dir = TempDir::new("pair-tty");
    let config = dir.path().join("tmux.conf");
    // Keep a window open after its program exits, so its last lines can still be read.
    std::fs::write(&config, "set -g remain-on-exit on\n").unwrap();
    let tmux = Tmux {
        tmux: tmux_path,
        socket: format!("tcp-chat-test-{}", std::process::id()),
    };
    let started = tmux.run(&[
        "-f",
        &config.to_string_lossy(),
        "new-session",
        "-d",
        "-x",
        "160",
        "-y",
        "40",
        "-n",
        "idle",
    ]);
    assert!(started.status.success(), "{started:?}");

    start(
        &tmux,
        dir.path(),
        "listener",
        &format!("{BIN} pair --listen --port 0"),
    );
    let screen = tmux.wait_for("listener", "waiting for the other side");
    let addr = screen
        .lines()
        .find_map(|line| line.strip_prefix("listening on "))
        .expect("listening line")
        .trim()
        .to_string();
    start(
        &tmux,
        dir.path(),
        "connector",
        &format!("{BIN} pair --connect {addr}"),
    );

    tmux.wait_for("connector", "Enter Input >");
    let screen = tmux.wait_for("listener", "waiting for the peer...");
    assert!(!screen.contains("Enter Input"), "{screen}");

    tmux.type_line("connector", "hello from a terminal");
    let screen = tmux.wait_for("listener", "Enter Input >");
    assert!(
        screen.contains("[CHAT] peer: hello from a terminal"),
        "{screen}"
    );
    tmux.wait_for("connector", "waiting for the peer...");

    tmux.type_line("listener", "/q");
    tmux.wait_for("listener", "you ended the chat (/q); shutting down");
    tmux.wait_for("connector", "the peer ended the chat (/q); shutting down");
}
