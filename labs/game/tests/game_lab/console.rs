//! `game-lab play` in a real terminal (tmux, 120x40), as a person plays it: the typed line
//! survives pushes from the server, the board is redrawn in place instead of scrolling, history
//! recalls a line, and the terminal is given back on exit. The screen docs/game.md shows is
//! compared with the real one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use netlab_testkit::TempDir;
use netlab_testkit::tmux::Tmux;

use crate::util::{BIN, start};

/// The name the server gave the player in `window` (`[INFO] WELCOME Player01`).
fn welcome_name(tmux: &Tmux, window: &str) -> String {
    let screen = tmux.wait_for_text(window, "WELCOME ");
    screen
        .iter()
        .find_map(|row| row.split("WELCOME ").nth(1))
        .map(|name| name.trim().to_string())
        .unwrap()
}

/// The row under the cursor: the input line.
fn input_row(tmux: &Tmux, window: &str) -> String {
    let (row, _) = tmux.cursor(window);
    tmux.screen(window).get(row).cloned().unwrap_or_default()
}

/// The screen block docs/game.md shows after `<!-- screen: NAME`, with its port as written.
fn documented_screen(name: &str) -> Vec<String> {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/game.md"))
        .unwrap();
    let marker = format!("<!-- screen: {name}");
    let after = page.split_once(&marker).map(|(_, rest)| rest).unwrap();
    let block = after.split_once("```text\n").map(|(_, rest)| rest).unwrap();
    let block = block.split_once("```").map(|(text, _)| text).unwrap();
    block.lines().map(str::to_string).collect()
}

/// The rows of `screen` that end at the cursor row, as many as `wanted` has, with the real
/// port written as the documented one.
fn rows_to_cursor(screen: &[String], cursor_row: usize, wanted: usize, port: u16) -> Vec<String> {
    let start = (cursor_row + 1).saturating_sub(wanted);
    screen
        .get(start..=cursor_row.min(screen.len().saturating_sub(1)))
        .unwrap_or_default()
        .iter()
        .map(|row| row.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:7080"))
        .collect()
}

/// Rows that draw a board's horizontal rule.
fn board_rules(screen: &[String]) -> usize {
    screen
        .iter()
        .filter(|row| row.contains("---+---+---"))
        .count()
}

/// A half-typed line survives a chat push and a board redraw byte for byte, is sent whole on
/// Enter; the board is drawn once, in place, and the bottom of the screen is the one the
/// walkthrough shows; Up recalls the line; quitting clears the status rows.
#[test]
fn typed_line_survives_pushes_and_board_redraws_in_place() {
    let Some(mut tmux) = Tmux::start("game console", 100, 30) else {
        return;
    };
    let server = start("threads", &[]);
    let dir = TempDir::new("game-console");
    let target = server.addr.to_string();
    let ann = tmux.run(dir.path(), std::path::Path::new(BIN), &["play", &target]);
    let ann_name = welcome_name(&tmux, &ann);
    let bob = tmux.run(dir.path(), std::path::Path::new(BIN), &["play", &target]);
    let bob_name = welcome_name(&tmux, &bob);

    tmux.type_text(&ann, "quick tictactoe");
    tmux.key(&ann, "Enter");
    tmux.wait_for_text(&ann, "WAITING");
    tmux.type_text(&bob, "quick tictactoe");
    tmux.key(&bob, "Enter");
    tmux.wait_for_text(&ann, "· your move:");
    tmux.type_text(&ann, "5");
    tmux.key(&ann, "Enter");
    tmux.wait_for_text(&bob, "· your move:");

    // Ann starts a chat line; Bob talks and moves while she types.
    tmux.type_text(&ann, "say bien joué");
    tmux.type_text(&bob, "say interrupting you");
    tmux.key(&bob, "Enter");
    tmux.type_text(&bob, "1");
    tmux.key(&bob, "Enter");
    let documented = documented_screen("play-mid-game");
    let port = server.addr.port();
    let screen = tmux.wait_for(&ann, "the screen docs/game.md shows", |screen| {
        let (row, _) = tmux.cursor(&ann);
        rows_to_cursor(screen, row, documented.len(), port) == documented
    });
    assert!(
        screen
            .iter()
            .any(|row| row.contains(&format!("[CHAT] {bob_name}: interrupting you"))),
        "{screen:#?}"
    );
    assert_eq!(
        board_rules(&screen),
        2,
        "one board, redrawn in place: {screen:#?}"
    );
    assert_eq!(input_row(&tmux, &ann), "> say bien joué");

    tmux.key(&ann, "Enter");
    tmux.wait_for_text(&bob, &format!("[CHAT] {ann_name}: bien joué"));

    tmux.key(&ann, "Up");
    tmux.wait_for(&ann, "the recalled line", |_| {
        input_row(&tmux, &ann) == "> say bien joué"
    });

    // Quit: the terminal comes back without the status rows.
    tmux.key(&ann, "C-u");
    tmux.type_text(&ann, "quit");
    tmux.key(&ann, "Enter");
    let screen = tmux.wait_for_text(&ann, "[exited]");
    assert!(
        !screen.iter().any(|row| row.starts_with("game-lab ·")),
        "status rows left behind: {screen:#?}"
    );
}

/// Line by line (a pipe): a refused move is a warning, not an error; only the winner sees a
/// green success, the loser an ordinary line.
#[test]
fn result_colors_follow_the_player() {
    use netlab_testkit::ServerProcess;
    let server = start("threads", &[]);
    let target = server.addr.to_string();
    let mut first = ServerProcess::interactive(BIN, &["play", &target]);
    first.wait_for(|line| line.contains("WELCOME Player01"));
    let mut second = ServerProcess::interactive(BIN, &["play", &target]);
    second.wait_for(|line| line.contains("WELCOME Player02"));
    first.write_line("quick tictactoe");
    first.wait_for(|line| line.contains("WAITING"));
    second.write_line("quick tictactoe");
    for (player, square) in [(0, 1), (1, 4), (0, 2), (1, 5)] {
        let (mover, other) = if player == 0 {
            (&mut first, &mut second)
        } else {
            (&mut second, &mut first)
        };
        mover.wait_for(|line| line.starts_with(">> your move"));
        mover.write_line(&square.to_string());
        other.wait_for(|line| line.starts_with(&format!("MOVED 1 Player0{} {square}", player + 1)));
    }
    second.write_line("6");
    second.wait_for(|line| line == "[WARN] it is not your turn: waiting for player 1");
    first.wait_for(|line| line.starts_with(">> your move"));
    first.write_line("3");
    first.wait_for(|line| line == "[SUCCESS] winner Player01: you win");
    second.wait_for(|line| line == "[INFO] winner Player01");
}

/// Killed with SIGTERM (or its window closed: SIGHUP), the client still gives the terminal back
/// before it exits: canonical mode and echo on, exit status 143 as for any killed program.
#[cfg(unix)]
#[test]
fn sigterm_gives_the_terminal_back() {
    if netlab_testkit::find_program("pkill").is_none() {
        netlab_testkit::skip("sigterm_gives_the_terminal_back", "pkill is not installed");
        return;
    }
    let Some(mut tmux) = Tmux::start("sigterm_gives_the_terminal_back", 100, 30) else {
        return;
    };
    let server = start("mio", &[]);
    let dir = TempDir::new("game-sigterm");
    let target = server.addr.to_string();
    let script = format!(
        "'{BIN}' play {target}; echo \"status $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon\\|-*echo'"
    );
    let window = tmux.run(dir.path(), std::path::Path::new("sh"), &["-c", &script]);
    tmux.wait_for_text(&window, "game-lab ·");
    let killed = std::process::Command::new("pkill")
        // Anchored on the program's own command line: the shells around it mention it too.
        .args(["-TERM", "-f", &format!("^{BIN} play {target}$")])
        .status()
        .unwrap();
    assert!(killed.success());
    let screen = tmux.wait_for_text(&window, "[exited]");
    assert!(screen.iter().any(|row| row == "status 143"), "{screen:#?}");
    assert!(screen.iter().any(|row| row == "icanon"), "{screen:#?}");
    assert!(screen.iter().any(|row| row == "echo"), "{screen:#?}");
}

/// `/help` is answered by the client itself, and a slash word (a typo: the game's commands have
/// none) is refused locally instead of going to the server.
#[test]
fn slash_commands_stay_local() {
    use netlab_testkit::ServerProcess;
    let server = start("mio", &[]);
    let target = server.addr.to_string();
    let mut player = ServerProcess::interactive(BIN, &["play", &target]);
    player.wait_for(|line| line.contains("WELCOME Player01"));
    player.write_line("/help");
    player.wait_for(|line| line.starts_with("[INFO] this client: /q quits"));
    player.write_line("/sned hello");
    player.wait_for(|line| {
        line == "[WARN] /sned: not a command here (/help, /q); the server's commands have no slash: type help"
    });
    player.write_line("games");
    let next = player.wait_for(|line| line.starts_with("GAMES ") || line.starts_with("[WARN] "));
    assert!(
        next.starts_with("GAMES "),
        "the server answered the slash line: {next}"
    );
}
