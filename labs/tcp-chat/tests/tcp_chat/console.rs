//! The three clients on the full-screen console, as a person sees them: each runs in a real
//! terminal (tmux, 120x40), keys are typed into it and the screen is read back. What the peer
//! receives is checked on the peer's own screen (pair, duplex) or on a raw socket (the room).
//! Waiting is on what a screen shows, never on a sleep. Skipped visibly where tmux is missing.
//!
//! The pair test also keeps the screen capture in docs/tcp-chat.md true: the block after
//! `<!-- screen-test: pair listener -->` must be what the listener's screen shows at that moment.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs::File;
use std::path::Path;

use netlab_testkit::docs::{compare, replace_numbers_after};
use netlab_testkit::tmux::Tmux;

use crate::util::room::{LineClient, serve};
use crate::util::{BIN, TempDir};

const COLUMNS: u16 = 120;
const ROWS: u16 = 40;

/// The bottom row of what the client drew: the input line, with its prompt. (Rows under it are
/// blank; an input line with no prompt and nothing typed is blank too, and then this is the
/// status row above it.)
pub(crate) fn input_row(screen: &[String]) -> &str {
    screen
        .iter()
        .rev()
        .find(|row| !row.is_empty())
        .map_or("", String::as_str)
}

/// Rows of `screen` that contain `text`.
pub(crate) fn count(screen: &[String], text: &str) -> usize {
    screen.iter().filter(|row| row.contains(text)).count()
}

/// Waits until the input row of `window` is exactly `row`.
pub(crate) fn wait_for_input_row(tmux: &Tmux, window: &str, row: &str) -> Vec<String> {
    tmux.wait_for(window, &format!("the input row {row:?}"), |screen| {
        input_row(screen) == row
    })
}

pub(crate) fn type_line(tmux: &Tmux, window: &str, line: &str) {
    tmux.type_text(window, line);
    tmux.key(window, "Enter");
}

/// The address after `listening on ` on `window`'s screen.
pub(crate) fn listening_address(tmux: &Tmux, window: &str) -> String {
    let screen = tmux.wait_for_text(window, "listening on ");
    screen
        .iter()
        .find_map(|row| row.strip_prefix("listening on "))
        .expect("listening line")
        .trim()
        .to_string()
}

/// Pair on the console: the prompt `Enter Input >` only on your turn (the status rows say whose
/// turn it is), a half-typed line that survives the peer's message byte for byte and goes out
/// whole on Enter, Up recalls the previous line; the screen is the one docs/tcp-chat.md shows.
#[test]
fn pair_turns_typing_and_history() {
    let Some(mut tmux) = Tmux::start("pair_turns_typing_and_history", COLUMNS, ROWS) else {
        return;
    };
    let dir = TempDir::new("console-pair");
    let (listener, connector, addr) = start_pair(&mut tmux, dir.path());

    let screen = wait_for_input_row(&tmux, &connector, "Enter Input >");
    assert!(
        screen
            .iter()
            .any(|row| row.starts_with("your turn: type a message")),
        "{screen:#?}"
    );
    let screen = tmux.wait_for_text(&listener, "'s turn; only /q works now");
    assert_eq!(count(&screen, "Enter Input"), 0, "{screen:#?}");

    // Typed out of turn, not sent: it waits on the input line while the peer's message arrives.
    tmux.type_text(&listener, "half typed");
    wait_for_input_row(&tmux, &listener, "half typed");
    type_line(&tmux, &connector, "hello from a terminal");
    let screen = tmux.wait_for_text(&listener, "[CHAT] peer: hello from a terminal");
    let screen = if input_row(&screen) == "Enter Input > half typed" {
        screen
    } else {
        // The line above may be drawn a frame before the new prompt.
        wait_for_input_row(&tmux, &listener, "Enter Input > half typed")
    };
    assert_eq!(count(&screen, "[CHAT] peer: hello from a terminal"), 1);
    assert_eq!(count(&screen, "your turn: type a message"), 1);
    check_doc_capture(&screen, &addr);

    tmux.type_text(&listener, " line");
    tmux.key(&listener, "Enter");
    let screen = tmux.wait_for_text(&connector, "[CHAT] peer: half typed line");
    assert_eq!(count(&screen, "half typed"), 1, "{screen:#?}");
    wait_for_input_row(&tmux, &connector, "Enter Input >");
    // Out of turn again: no prompt, the status row is the last one drawn.
    let screen = tmux.wait_for(&listener, "the waiting status last", |screen| {
        input_row(screen).ends_with("'s turn; only /q works now")
    });
    assert_eq!(
        count(&screen, "Enter Input >"),
        1,
        "only the echo: {screen:#?}"
    );

    tmux.key(&connector, "Up");
    wait_for_input_row(&tmux, &connector, "Enter Input > hello from a terminal");
    tmux.key(&connector, "Enter");
    tmux.wait_for(&listener, "the recalled line received", |screen| {
        count(screen, "[CHAT] peer: hello from a terminal") == 2
    });

    type_line(&tmux, &listener, "/q");
    tmux.wait_for_text(&connector, "the peer ended the chat (/q); shutting down");
}

/// The seed-002 host on the console: the status rows list the user and whose turn it is, the
/// prompt appears when a user passes the turn with `#` and names that user, and goes again with
/// the host's own `#`; the user (a piped program) receives the host's line.
#[test]
fn turn_end_host_prompt_and_status() {
    let Some(mut tmux) = Tmux::start("turn_end_host_prompt_and_status", COLUMNS, ROWS) else {
        return;
    };
    let dir = TempDir::new("console-turns");
    let host = tmux.run(
        dir.path(),
        Path::new(BIN),
        &[
            "pair",
            "--listen",
            "--port",
            "0",
            "--peers",
            "1",
            "--turn-end",
            "#",
        ],
    );
    let addr: std::net::SocketAddr = listening_address(&tmux, &host).parse().unwrap();
    tmux.wait_for_text(
        &host,
        "you are user1 · no users connected · 1 more may join",
    );
    let mut user = crate::util::Chat::connect("pair", dir.path(), addr, &["--turn-end", "#"]);
    user.out.expect("Enter Input > ");
    tmux.wait_for_text(&host, "you are user1 · user2 (its turn)");
    user.type_line("hello host");
    user.type_line("#");
    let screen = wait_for_input_row(&tmux, &host, "to user2 >");
    assert_eq!(count(&screen, "[CHAT] user2: hello host"), 1, "{screen:#?}");
    assert_eq!(
        count(
            &screen,
            "your turn with user2: `#` passes it back; Exit ends the chat for everyone"
        ),
        1,
        "{screen:#?}"
    );
    assert_eq!(
        count(&screen, "user2 (you are answering)"),
        1,
        "{screen:#?}"
    );
    type_line(&tmux, &host, "hello user2");
    user.out.expect("[CHAT] user1: hello user2\n");
    type_line(&tmux, &host, "#");
    user.out.expect("Enter Input > ");
    let screen = tmux.wait_for(&host, "the prompt gone, nobody waiting", |screen| {
        input_row(screen) == "no one waits for your reply; Exit ends the chat for everyone"
    });
    assert_eq!(count(&screen, "to user2 > #"), 1, "the echo: {screen:#?}");
    type_line(&tmux, &host, "Exit");
    user.out
        .expect("[INFO] user1 ended the chat (Exit); shutting down\n");
    assert!(user.wait().success());
}

/// The listener's screen must be the capture under `<!-- screen-test: pair listener -->` in
/// docs/tcp-chat.md, with its ports shown as there (7070 for the listener, 51234 for the
/// connector's side).
fn check_doc_capture(screen: &[String], addr: &str) {
    let port = addr.rsplit(':').next().unwrap().to_string();
    let real: Vec<String> = screen
        .iter()
        .map(|row| {
            replace_numbers_after(row, "127.0.0.1:", |digits| {
                if digits == port { "7070" } else { "51234" }.to_string()
            })
        })
        .collect();
    let drawn = real.iter().rposition(|row| !row.is_empty()).unwrap_or(0) + 1;
    let (place, expected) = screen_capture("pair listener");
    compare(
        "docs/tcp-chat.md",
        place,
        "the pair listener's screen",
        &real[..drawn],
        &expected,
    );
}

/// The lines of the block after `<!-- screen-test: NAME -->` in docs/tcp-chat.md, and the
/// marker's line number. (Not a `doc-test` marker: those are replayed by `docs.rs`; this block
/// is a screen, checked here.)
fn screen_capture(name: &str) -> (usize, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tcp-chat.md");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let marker = format!("<!-- screen-test: {name} -->");
    let at = lines
        .iter()
        .position(|line| line.trim() == marker)
        .unwrap_or_else(|| panic!("docs/tcp-chat.md has no {marker}"));
    assert!(
        lines[at + 1].starts_with("```"),
        "a block must follow {marker}"
    );
    let block = lines[at + 2..]
        .iter()
        .take_while(|line| !line.starts_with("```"))
        .map(|line| line.to_string())
        .collect();
    (at + 1, block)
}

/// Starts a duplex listener (saving into `receiver`) and a connector (in `sender`); returns
/// their windows once both are connected.
pub(crate) fn duplex_pair(tmux: &mut Tmux, sender: &Path, receiver: &Path) -> (String, String) {
    let listener = tmux.run(
        receiver,
        Path::new(BIN),
        &["duplex", "--listen", "--port", "0"],
    );
    let addr = listening_address(tmux, &listener);
    let connector = tmux.run(sender, Path::new(BIN), &["duplex", "--connect", &addr]);
    tmux.wait_for_text(&connector, "duplex chat with");
    tmux.wait_for_text(&listener, "duplex chat with");
    (connector, listener)
}

/// Line mode (`--plain`) with `--trace` on a terminal: every trace line is printed above the
/// transfer bar, which is drawn again below it, so the scrollback holds the trace and no stale
/// copy of the bar (before, a copy was left between the frames each time the bar was drawn).
#[test]
fn plain_trace_lines_go_above_the_transfer_bar() {
    let Some(mut tmux) = Tmux::start("plain_trace_lines_go_above_the_transfer_bar", COLUMNS, ROWS)
    else {
        return;
    };
    let dir = TempDir::new("console-plain-trace");
    let (sender_dir, receiver_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&sender_dir).unwrap();
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let bytes: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(sender_dir.join("big.bin"), &bytes).unwrap();
    let receiver = tmux.run(
        &receiver_dir,
        Path::new(BIN),
        &["duplex", "--listen", "--port", "0", "--plain"],
    );
    let addr = listening_address(&tmux, &receiver);
    let sender = tmux.run(
        &sender_dir,
        Path::new(BIN),
        &["duplex", "--connect", &addr, "--plain", "--trace"],
    );
    tmux.wait_for_text(&sender, "type any time");
    tmux.type_text(&sender, "/send big.bin");
    tmux.key(&sender, "Enter");
    tmux.wait_for_text(&sender, "big.bin arrived intact");
    let history = tmux.history(&sender);
    let frames = history
        .iter()
        .filter(|row| row.starts_with("[TRACE] -> "))
        .count();
    assert!(frames >= 256, "{frames} data frames traced");
    let stale: Vec<&String> = history
        .iter()
        .filter(|row| row.contains("sending big.bin ["))
        .collect();
    assert!(stale.is_empty(), "stale bars in the scrollback: {stale:#?}");
    assert_eq!(
        std::fs::read(receiver_dir.join("new_big.bin")).unwrap(),
        bytes
    );
}

/// Duplex on the console: a half-typed line survives a message byte for byte and goes out
/// whole; Up recalls it; `/sned` is refused here and the peer receives nothing; Tab completes
/// `/send` and the file name; the `/send` shows
/// one bar row that updates in place and leaves exactly one summary line on each side, with no
/// stale bar anywhere on the screen.
#[test]
fn duplex_typing_refusal_and_one_summary_line() {
    let Some(mut tmux) = Tmux::start("duplex_typing_refusal_and_one_summary_line", COLUMNS, ROWS)
    else {
        return;
    };
    let dir = TempDir::new("console-duplex");
    let (sender_dir, receiver_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&sender_dir).unwrap();
    std::fs::create_dir_all(&receiver_dir).unwrap();
    // Bytes that vary, so the transfer is real work (48 MiB: a few seconds in a debug build).
    let bytes: Vec<u8> = (0..48u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(sender_dir.join("big.bin"), &bytes).unwrap();
    let (sender, receiver) = duplex_pair(&mut tmux, &sender_dir, &receiver_dir);

    tmux.type_text(&sender, "half typed");
    wait_for_input_row(&tmux, &sender, "> half typed");
    type_line(&tmux, &receiver, "incoming");
    let screen = tmux.wait_for_text(&sender, "[CHAT] peer: incoming");
    assert_eq!(input_row(&screen), "> half typed", "{screen:#?}");
    tmux.type_text(&sender, " line");
    tmux.key(&sender, "Enter");
    tmux.wait_for_text(&receiver, "[CHAT] peer: half typed line");
    tmux.key(&sender, "Up");
    wait_for_input_row(&tmux, &sender, "> half typed line");
    tmux.key(&sender, "C-u");

    type_line(&tmux, &sender, "/sned big.bin");
    tmux.wait_for_text(
        &sender,
        "[WARN] unknown command /sned; nothing sent. /help lists the commands",
    );
    type_line(&tmux, &sender, "after the typo");
    let screen = tmux.wait_for_text(&receiver, "[CHAT] peer: after the typo");
    assert_eq!(count(&screen, "sned"), 0, "{screen:#?}");

    // Tab completes the command, then the local file name after it.
    tmux.type_text(&sender, "/se");
    tmux.key(&sender, "Tab");
    // (with the space after it, trimmed from the screen row)
    wait_for_input_row(&tmux, &sender, "> /send");
    tmux.type_text(&sender, "bi");
    tmux.key(&sender, "Tab");
    wait_for_input_row(&tmux, &sender, "> /send big.bin");
    tmux.key(&sender, "Enter");
    let bar = "sending big.bin [";
    let first = tmux.wait_for_text(&sender, bar);
    let row = first
        .iter()
        .position(|row| row.starts_with(bar))
        .unwrap_or_else(|| panic!("the bar is not a row of its own: {first:#?}"));
    // The same row, drawn again with more bytes: the bar moves in place.
    tmux.wait_for(&sender, "the bar drawn again in its row", |screen| {
        screen[row].starts_with(bar) && screen[row] != first[row]
    });
    let summary = "[SUCCESS] big.bin arrived intact: the peer saved it as new_big.bin";
    // The summary line and the status rows are drawn in separate frames (the status at most
    // 50 ms later): wait for both to settle, then check what the settled screen holds.
    let screen = tmux.wait_for(
        &sender,
        "the summary, the bar gone, the status updated",
        |screen| {
            count(screen, summary) == 1
                && count(screen, bar) == 0
                && screen.iter().any(|row| row.starts_with("files: 1 sent"))
        },
    );
    assert_eq!(count(&screen, "[="), 0, "a stale bar: {screen:#?}");
    assert_eq!(
        count(&screen, "waiting for the peer's check"),
        0,
        "{screen:#?}"
    );
    assert!(
        screen
            .iter()
            .any(|row| row.starts_with("files: 1 sent, 0 received")),
        "{screen:#?}"
    );
    let screen = tmux.wait_for(
        &receiver,
        "the receiver's summary, and its bar gone",
        |screen| {
            count(screen, "[SUCCESS] saved big.bin as new_big.bin") == 1
                && count(screen, "receiving big.bin [") == 0
        },
    );
    assert_eq!(count(&screen, "[="), 0, "a stale bar: {screen:#?}");
    assert_eq!(
        std::fs::read(receiver_dir.join("new_big.bin")).unwrap(),
        bytes
    );
}

/// Duplex on the console: Enter on an empty line is refused with a warning above the input
/// line, and the peer's screen shows nothing for it, only the next real message.
#[test]
fn duplex_empty_line_is_refused_on_the_console() {
    let Some(mut tmux) = Tmux::start("duplex_empty_line_is_refused_on_the_console", COLUMNS, ROWS)
    else {
        return;
    };
    let dir = TempDir::new("console-duplex-empty");
    let (sender_dir, receiver_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&sender_dir).unwrap();
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let (sender, receiver) = duplex_pair(&mut tmux, &sender_dir, &receiver_dir);
    tmux.key(&sender, "Enter");
    let screen = tmux.wait_for_text(&sender, "[WARN] empty message; nothing sent");
    assert_eq!(input_row(&screen), ">", "{screen:#?}");
    type_line(&tmux, &sender, "after the empty line");
    let screen = tmux.wait_for_text(&receiver, "[CHAT] peer: after the empty line");
    assert_eq!(count(&screen, "[CHAT] peer:"), 1, "{screen:#?}");
}

/// Ctrl-C during a large duplex transfer stops it: at the sender (the receiver reports it and
/// keeps no file, under the final name or a temporary one), then at the receiver (the sender
/// reports it); Ctrl-C twice on an idle chat leaves it, for both sides.
#[test]
fn duplex_ctrl_c_stops_a_transfer_then_quits() {
    let Some(mut tmux) = Tmux::start("duplex_ctrl_c_stops_a_transfer_then_quits", COLUMNS, ROWS)
    else {
        return;
    };
    let dir = TempDir::new("console-duplex-cancel");
    let (sender_dir, receiver_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&sender_dir).unwrap();
    std::fs::create_dir_all(&receiver_dir).unwrap();
    // 4 GiB of zeros, sparse: nothing on the disk, and far too much to finish before Ctrl-C.
    File::create(sender_dir.join("huge.bin"))
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let (sender, receiver) = duplex_pair(&mut tmux, &sender_dir, &receiver_dir);
    let nothing_received = || {
        let names: Vec<String> = std::fs::read_dir(&receiver_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.is_empty(), "left behind: {names:?}");
    };

    type_line(&tmux, &sender, "/send huge.bin");
    tmux.wait_for_text(&receiver, "receiving huge.bin [");
    tmux.wait_for_text(&sender, "sending huge.bin [");
    tmux.key(&sender, "C-c");
    tmux.wait_for_text(
        &receiver,
        "[WARN] the peer stopped sending huge.bin: the sender cancelled it (Ctrl-C); nothing saved",
    );
    let screen = tmux.wait_for_text(&sender, "[WARN] sending stopped: the sender cancelled it");
    assert_eq!(
        count(&screen, "cannot be resu"),
        1,
        "the resume hint: {screen:#?}"
    );
    nothing_received();

    type_line(&tmux, &sender, "/send huge.bin");
    tmux.wait_for_text(&receiver, "receiving huge.bin [");
    tmux.key(&receiver, "C-c");
    tmux.wait_for_text(
        &sender,
        "huge.bin was not saved by the peer: the receiver cancelled it (Ctrl-C)",
    );
    tmux.wait_for_text(&receiver, "[WARN] stopped receiving huge.bin after");
    let screen = tmux.wait_for(&sender, "the sender's bar gone", |screen| {
        count(screen, "sending huge.bin [") == 0
    });
    assert_eq!(count(&screen, "[="), 0, "a stale bar: {screen:#?}");
    nothing_received();

    tmux.key(&sender, "C-c");
    tmux.key(&sender, "C-c");
    tmux.wait_for_text(&sender, "you ended the chat; shutting down");
    tmux.wait_for_text(&receiver, "the peer ended the chat; shutting down");
}

/// `room join` on the console: the status rows name the room, you and (after `status`) how many
/// are in it; a half-typed line survives a message from another client byte for byte and is sent
/// whole; Up recalls it; `/sned` is refused here, so the others receive nothing of it.
#[test]
fn room_join_typing_history_and_refusal() {
    let Some(mut tmux) = Tmux::start("room_join_typing_history_and_refusal", COLUMNS, ROWS) else {
        return;
    };
    let dir = TempDir::new("console-room");
    let (_server, addr) = serve(dir.path(), &[]);
    let addr_text = addr.to_string();
    let ann = tmux.run(dir.path(), Path::new(BIN), &["room", "join", &addr_text]);
    tmux.wait_for_text(&ann, "< WELCOME Client01");
    tmux.wait_for_text(
        &ann,
        &format!("room {addr} · you are Client01 · type status to see who is here"),
    );
    let (mut bob, bob_name) = LineClient::join(addr);
    tmux.wait_for_text(&ann, &format!("< INFO {bob_name} joined"));
    type_line(&tmux, &ann, "status");
    tmux.wait_for_text(&ann, "you are Client01 · 2 in the room");

    tmux.type_text(&ann, "I am typing a long");
    wait_for_input_row(&tmux, &ann, "> I am typing a long");
    bob.send("interrupting you");
    bob.expect("ACK interrupting you");
    let screen = tmux.wait_for_text(&ann, &format!("< MSG {bob_name} interrupting you"));
    assert_eq!(input_row(&screen), "> I am typing a long", "{screen:#?}");
    tmux.type_text(&ann, " sentence");
    tmux.key(&ann, "Enter");
    bob.expect("MSG Client01 I am typing a long sentence");

    tmux.key(&ann, "Up");
    wait_for_input_row(&tmux, &ann, "> I am typing a long sentence");
    tmux.key(&ann, "Enter");
    bob.expect("MSG Client01 I am typing a long sentence");

    type_line(&tmux, &ann, "/sned notes.txt");
    tmux.wait_for_text(
        &ann,
        "[WARN] unknown command /sned; nothing sent. /help lists the commands",
    );
    type_line(&tmux, &ann, "after the typo");
    // The next line Bob gets is this one: the typo never reached the server.
    bob.expect("MSG Client01 after the typo");
    type_line(&tmux, &ann, "/help");
    tmux.wait_for_text(&ann, "[INFO] commands: /nick NAME renames you");
}

/// A pair chat in two tmux windows started in `dir`: the listener's window, the connector's,
/// and the address the listener printed.
pub(crate) fn start_pair(tmux: &mut Tmux, dir: &Path) -> (String, String, String) {
    let listener = tmux.run(dir, Path::new(BIN), &["pair", "--listen", "--port", "0"]);
    let addr = listening_address(tmux, &listener);
    let connector = tmux.run(dir, Path::new(BIN), &["pair", "--connect", &addr]);
    (listener, connector, addr)
}
