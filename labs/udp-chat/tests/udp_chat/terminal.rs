//! `udp-chat connect` on a real terminal: the client runs in tmux (120x40), keys are typed into
//! it and the screen is read back, as a person would see it. The other member of the room is a
//! piped, plain-mode client, so what the room delivered is read from its output exactly.
//! Skipped visibly where tmux is missing. Every wait is for text on a screen or a line printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use netlab_testkit::tmux::Tmux;
use netlab_testkit::{ServerProcess, TempDir};

use crate::util::{BIN, join, serve};

const WIDTH: u16 = 120;
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/udp-chat.md");

/// A room whose server never PINGs, so the only datagrams a member sends are the ones a test
/// causes (and its own PING every 2 s): the fault injector's decisions then fall on known
/// datagrams.
fn quiet_room() -> ServerProcess {
    serve(&["--ping-interval", "600"])
}

/// `udp-chat connect` in a tmux window, once its welcome is on screen.
fn member_on_terminal(
    tmux: &mut Tmux,
    dir: &Path,
    server: &ServerProcess,
    name: &str,
    extra: &[&str],
) -> String {
    let addr = server.addr.to_string();
    let mut args = vec!["connect", addr.as_str(), "--name", name];
    args.extend_from_slice(extra);
    let window = tmux.run(dir, Path::new(BIN), &args);
    tmux.wait_for_text(&window, &format!("[INFO] welcome, {name}"));
    window
}

/// The row the cursor is on: the input line, prompt included.
fn input_row(tmux: &Tmux, window: &str) -> String {
    let (row, _) = tmux.cursor(window);
    tmux.screen(window)[row].clone()
}

/// Waits until the input row of `window` reads `wanted` exactly.
fn wait_for_input(tmux: &Tmux, window: &str, wanted: &str) {
    tmux.wait_for(window, &format!("the input line {wanted:?}"), |_| {
        input_row(tmux, window) == wanted
    });
}

/// A half-typed line survives a message arriving byte for byte, stays the input line, and is
/// sent whole on Enter: the other member receives the whole sentence once.
#[test]
fn half_typed_line_survives_an_incoming_message() {
    let Some(mut tmux) = Tmux::start("half_typed_line_survives_an_incoming_message", WIDTH, 40)
    else {
        return;
    };
    let dir = TempDir::new("udp-terminal-typed");
    let server = quiet_room();
    let ann = member_on_terminal(&mut tmux, dir.path(), &server, "ann", &[]);
    let mut bob = join(&server, "bob", &[]);
    tmux.wait_for_text(&ann, "[INFO] bob joined");

    tmux.type_text(&ann, "I am typing a long");
    wait_for_input(&tmux, &ann, "> I am typing a long");
    bob.write_line("interrupting you");
    let screen = tmux.wait_for_text(&ann, "[CHAT] <bob> interrupting you");
    let chat_row = screen
        .iter()
        .find(|row| row.contains("interrupting you"))
        .unwrap();
    assert_eq!(
        chat_row, "[CHAT] <bob> interrupting you",
        "nothing typed mixed in"
    );
    // The message is printed first, the rows below it redrawn in the next frame.
    wait_for_input(&tmux, &ann, "> I am typing a long");
    let typed = tmux.screen(&ann);
    assert_eq!(
        typed
            .iter()
            .filter(|row| row.contains("I am typing"))
            .count(),
        1,
        "the half-typed text appears once, on the input line: {typed:#?}"
    );

    tmux.type_text(&ann, " sentence");
    tmux.key(&ann, "Enter");
    bob.wait_for(|line| line == "[CHAT] <ann> I am typing a long sentence");
    tmux.wait_for_text(&ann, "> I am typing a long sentence");
    wait_for_input(&tmux, &ann, ">");
}

/// Up recalls the previous line into the input line, and Enter sends it again.
#[test]
fn history_recalls_the_previous_line() {
    let Some(mut tmux) = Tmux::start("history_recalls_the_previous_line", WIDTH, 40) else {
        return;
    };
    let dir = TempDir::new("udp-terminal-history");
    let server = quiet_room();
    let mut bob = join(&server, "bob", &[]);
    let ann = member_on_terminal(&mut tmux, dir.path(), &server, "ann", &[]);

    tmux.type_text(&ann, "say it twice");
    tmux.key(&ann, "Enter");
    bob.wait_for(|line| line == "[CHAT] <ann> say it twice");
    wait_for_input(&tmux, &ann, ">");
    tmux.key(&ann, "Up");
    wait_for_input(&tmux, &ann, "> say it twice");
    tmux.key(&ann, "Enter");
    bob.wait_for(|line| line == "[CHAT] <ann> say it twice");
}

/// A pasted page (300 lines, about 15 KB, all at once as a terminal pastes) is read to the end
/// and sent line by line: the last line reaches the room without another key being pressed.
/// (crossterm's default reader stalled after a few KiB until the next key.)
#[test]
fn a_pasted_page_is_sent_whole() {
    let Some(mut tmux) = Tmux::start("a_pasted_page_is_sent_whole", WIDTH, 40) else {
        return;
    };
    let dir = TempDir::new("udp-terminal-paste");
    let server = quiet_room();
    let mut bob = join(&server, "bob", &[]);
    let ann = member_on_terminal(&mut tmux, dir.path(), &server, "ann", &[]);
    let page: String = (1..=300)
        .map(|n| format!("pasted line {n} with enough words to make a page\n"))
        .collect();
    tmux.paste(&ann, &page);
    bob.wait_for(|line| line == "[CHAT] <ann> pasted line 300 with enough words to make a page");
}

/// Tab completes the commands; an unknown command is refused on the spot with a hint and never
/// reaches the room (the line after it does, and the room keeps order).
#[test]
fn commands_complete_and_unknown_ones_stay_local() {
    let Some(mut tmux) = Tmux::start("commands_complete_and_unknown_ones_stay_local", WIDTH, 40)
    else {
        return;
    };
    let dir = TempDir::new("udp-terminal-commands");
    let server = quiet_room();
    let mut bob = join(&server, "bob", &[]);
    let ann = member_on_terminal(&mut tmux, dir.path(), &server, "ann", &[]);

    tmux.type_text(&ann, "/he");
    tmux.key(&ann, "Tab");
    wait_for_input(&tmux, &ann, "> /help");
    tmux.key(&ann, "Enter");
    tmux.wait_for_text(&ann, "[INFO] type a line to send it to the room; /stats");

    tmux.type_text(&ann, "/nosuch");
    tmux.key(&ann, "Enter");
    tmux.wait_for_text(&ann, "[WARN] unknown command /nosuch; type a line");
    tmux.type_text(&ann, "after the typo");
    tmux.key(&ann, "Enter");
    bob.wait_for(|line| line == "[CHAT] <ann> after the typo");
    assert!(
        !bob.seen
            .iter()
            .any(|line| line.contains("/nosuch") || line.contains("/help")),
        "a command reached the room: {:#?}",
        bob.seen
    );
}

/// Under `--loss 50%` (seed 1: the injector drops the 3rd to 6th datagrams ada sends, and her
/// first line is her 3rd unless up to three PINGs come first), the status row of the line says
/// it was resent, then acknowledged; bob gets the line once, whole. The screen is the one
/// docs/udp-chat.md shows, numbers aside.
#[test]
fn status_shows_a_line_resent_under_loss() {
    let Some(mut tmux) = Tmux::start("status_shows_a_line_resent_under_loss", WIDTH, 40) else {
        return;
    };
    let dir = TempDir::new("udp-terminal-loss");
    let server = quiet_room();
    let mut bob = join(&server, "bob", &[]);
    let ada = member_on_terminal(&mut tmux, dir.path(), &server, "ada", &["--loss", "50%"]);
    tmux.wait_for_text(&ada, "udp-chat · ");

    tmux.type_text(&ada, LOST_LINE);
    tmux.key(&ada, "Enter");
    tmux.wait_for(&ada, "the line pending and resent", |screen| {
        screen
            .iter()
            .any(|row| row.starts_with("  pending, resent x") && row.ends_with(LOST_LINE))
    });
    bob.wait_for(|line| line == format!("[CHAT] <ada> {LOST_LINE}"));

    let shown = doc_screen();
    let what = format!("the screen docs/udp-chat.md shows:\n{}", shown.join("\n"));
    let screen = tmux.wait_for(&ada, &what, |screen| normalize(screen) == normalize(&shown));
    assert!(
        screen
            .iter()
            .any(|row| row.starts_with("  acknowledged, resent x") && row.ends_with(LOST_LINE))
    );
}

/// Ctrl-C as a signal (the plain mode; `kill -INT`) leaves the room as `/quit` does: a LEAVE
/// the room announces, the counters, exit status 0.
#[cfg(unix)]
#[test]
fn interrupt_signal_leaves_the_room() {
    let server = quiet_room();
    let mut bob = join(&server, "bob", &[]);
    let mut ann = join(&server, "ann", &[]);
    bob.wait_for(|line| line == "[INFO] ann joined");
    let status = std::process::Command::new("kill")
        .args(["-INT", &ann.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    ann.wait_for(|line| line == "[INFO] left the room");
    assert_eq!(ann.wait_exit(), 0);
    bob.wait_for(|line| line == "[INFO] ann left");
}

/// The line ada sends in the docs' capture.
const LOST_LINE: &str = "hello bob, this line may be lost on the way";

/// The text block of docs/udp-chat.md that follows the line `<!-- screen: connect under loss -->`.
fn doc_screen() -> Vec<String> {
    let doc = std::fs::read_to_string(DOC).unwrap();
    let mut lines = doc
        .lines()
        .skip_while(|line| *line != "<!-- screen: connect under loss -->")
        .skip(1);
    assert_eq!(lines.next(), Some("```text"), "the capture block in {DOC}");
    lines
        .take_while(|line| !line.starts_with("```"))
        .map(String::from)
        .collect()
}

/// A screen as text that does not depend on the run: one string, rows the terminal wrapped
/// (full width) joined to the next as they were one line, every number (a port, `0.6`, `x3`'s
/// 3) `#`, every run of spaces one space. What stays is every word on the screen, in order.
fn normalize(rows: &[String]) -> String {
    let mut text = String::new();
    for row in rows {
        text.push_str(row);
        if row.chars().count() < usize::from(WIDTH) {
            text.push(' ');
        }
    }
    let mut hashed = String::new();
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        if character.is_ascii_digit() {
            while characters
                .next_if(|c| c.is_ascii_digit() || *c == '.')
                .is_some()
            {}
            hashed.push('#');
        } else {
            hashed.push(character);
        }
    }
    hashed.split_whitespace().collect::<Vec<_>>().join(" ")
}
