//! Keeps docs/game.md true: its transcripts are replayed against the real `game-lab` and compared
//! line by line, so a change to the server that changes what a player sees fails here until the
//! walkthrough is updated.
//!
//! A marker, an HTML comment that the rendered page does not show, says how to replay the block
//! after it. Parts that differ on every run are normalized on both sides first: the server's port
//! (shown as 7080), client ports, and seat tokens.
//!
//! Reading the page's markers and blocks, running its commands, normalizing ports and comparing
//! lines come from `netlab_testkit::docs`, shared with the other labs' docs tests; this file
//! holds what is the game's own: its markers, and replaying players' sessions.
//!
//! - `<!-- doc-test: run -->`: run each `$ game-lab ...` line of the block; no server.
//! - `<!-- doc-test: server -->`: the block is `$ game-lab serve ARGS` and the first lines the
//!   server prints; the harness starts it with `--port 0` added.
//! - `<!-- doc-test: serve ARGS -->`: start `game-lab serve --port 0 ARGS`, then run each `$`
//!   command of the block (`nc`, `game-lab play`, `ps` with `PID` for the server's process id)
//!   with the real port in place of 7080, and compare its output with the lines under it.
//!   `<!-- doc-test: same server -->` runs the next block against the same server. Options:
//!   `; hold N` first connects N players that sit idle until the block is done; `; numbers vary`
//!   masks every number (benchmark figures). A block using `nc` is skipped, visibly, without it.
//! - `<!-- doc-test: session NAME: serve ARGS; turns A B A ... -->` declares a game played by
//!   several players, and `<!-- doc-test: session NAME, player A -->` before a block says it is
//!   A's terminal (a second block with the same marker continues it).
//! - `<!-- doc-test: log -->` before a ```text block: everything the last server started above
//!   printed after `listening on`, in any order (its threads print concurrently).
//!
//! ## How a session is replayed
//! A player's terminal interleaves what they typed with what the server sent. As the walkthrough
//! says, server lines start with an upper-case keyword or `|`; `...` stands for lines left out,
//! `^C` closes the connection, and every other line was typed (with `^[` for the ESC byte, as a
//! terminal echoes it). The harness plays each player on its own socket, as `nc` would. `turns`
//! names who acts next, once per typed line (a player's first turn is connecting). At its turn a
//! player reads, and checks, every line its terminal shows before its next typed line, sends that
//! line, and reads the server's answer (the line right after it) before anybody else acts. The
//! server handles one line at a time, so this order fixes every line every player receives: the
//! replay is the same on every run, with no sleeps. After `^C` the harness waits for the server
//! to log the disconnect instead. Seat tokens are random: a token shown on the page stands for
//! the one really received in that place, and is typed as that one.
//!
//! `DOC_TEST_RECORD=1 cargo test -p netlab-game --test docs -- --nocapture` prints what each
//! session's players really receive, in the same format, for pasting into the document after a
//! change (in that mode sessions are printed, not checked). Only that authoring aid waits for
//! quiet periods; the test itself never does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::Duration;

use netlab_testkit::docs::{
    Block, Doc, Marker, commands, compare, lab_command, mask_numbers, missing_program,
    normalize_ports, run_checks, shell, words,
};
use netlab_testkit::{ServerProcess, skip};
use regex::Regex;

use crate::util::{self, BIN, ENGINES};

/// The document under test, and the port its transcripts show.
const DOC: &str = "docs/game.md";
const DOC_PORT: u16 = 7080;

/// `$` commands run against one server, block after block.
#[derive(Debug)]
struct CommandBlock {
    block: Block,
    hold: usize,
    numbers_vary: bool,
}

/// One line of a player's terminal in a session.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// `$ nc -N 127.0.0.1 7080`
    Connect,
    /// A line the player typed.
    Typed(String),
    /// `^C`: the player's connection closes.
    Interrupt,
    /// A line the server sent.
    Received(String),
    /// `...`: lines left out.
    Skip,
}

#[derive(Debug)]
struct Session {
    name: String,
    line: usize,
    server_args: Vec<String>,
    turns: Vec<String>,
    /// Each player's terminal, in the order the document first shows them.
    players: Vec<(String, Vec<(usize, Item)>)>,
}

#[derive(Debug)]
enum Check {
    Run(Block),
    ServerStart(Block),
    Commands {
        server_args: Vec<String>,
        blocks: Vec<CommandBlock>,
        log: Option<Block>,
    },
    Session {
        session: Session,
        log: Option<Block>,
    },
}

/// Reads every marker of the document into checks, in document order.
fn checks(doc: &Doc) -> Vec<Check> {
    let mut found: Vec<Check> = Vec::new();
    let mut sessions: HashMap<String, usize> = HashMap::new();
    // The check whose server a `log` or `same server` marker refers to.
    let mut last_server: Option<usize> = None;
    for marker in doc.markers() {
        let line = marker.line;
        let form = marker.form.as_str();
        if let Some(rest) = form.strip_prefix("session ") {
            last_server = Some(session_marker(
                &mut found,
                &mut sessions,
                doc,
                &marker,
                rest,
            ));
            continue;
        }
        let block = marker.block(doc);
        match form {
            "run" => found.push(Check::Run(block)),
            "server" => found.push(Check::ServerStart(block)),
            "log" => {
                let at = last_server
                    .unwrap_or_else(|| panic!("{DOC} line {line}: a log needs a server above it"));
                match &mut found[at] {
                    Check::Commands { log, .. } | Check::Session { log, .. } => *log = Some(block),
                    _ => unreachable!("only server checks are remembered"),
                }
            }
            _ => {
                let hold = marker
                    .option("hold ")
                    .map_or(0, |count| count.parse().expect("hold N"));
                let numbers_vary = marker.has("numbers vary");
                let commands = CommandBlock {
                    block,
                    hold,
                    numbers_vary,
                };
                if form == "same server" {
                    let at = last_server.unwrap_or_else(|| {
                        panic!("{DOC} line {line}: `same server` needs a server above it")
                    });
                    match &mut found[at] {
                        Check::Commands { blocks, .. } => blocks.push(commands),
                        _ => panic!("{DOC} line {line}: `same server` follows a `serve` block"),
                    }
                } else {
                    let args = form
                        .strip_prefix("serve")
                        .unwrap_or_else(|| panic!("{DOC} line {line}: unknown marker {form:?}"));
                    last_server = Some(found.len());
                    found.push(Check::Commands {
                        server_args: words(args),
                        blocks: vec![commands],
                        log: None,
                    });
                }
            }
        }
    }
    found
}

/// A `session NAME: serve ARGS; turns ...` declaration, or a `session NAME, player P` block.
/// Returns the index of the session's check.
fn session_marker(
    found: &mut Vec<Check>,
    sessions: &mut HashMap<String, usize>,
    doc: &Doc,
    marker: &Marker,
    rest: &str,
) -> usize {
    let line = marker.line;
    if let Some((name, serve)) = rest.split_once(':') {
        let args = serve.trim().strip_prefix("serve").unwrap_or_else(|| {
            panic!("{DOC} line {line}: a session is declared as `session NAME: serve ARGS`")
        });
        let turns = marker
            .option("turns ")
            .unwrap_or_else(|| panic!("{DOC} line {line}: a session needs `; turns ...`"));
        sessions.insert(name.trim().to_string(), found.len());
        found.push(Check::Session {
            session: Session {
                name: name.trim().to_string(),
                line,
                server_args: words(args),
                turns: words(turns),
                players: Vec::new(),
            },
            log: None,
        });
        return found.len() - 1;
    }
    let (name, player) = rest
        .split_once(", player ")
        .unwrap_or_else(|| panic!("{DOC} line {line}: expected `session NAME, player P`"));
    let &at = sessions
        .get(name.trim())
        .unwrap_or_else(|| panic!("{DOC} line {line}: session {name} is not declared above"));
    let block = marker.block(doc);
    let Check::Session { session, .. } = &mut found[at] else {
        unreachable!("sessions map to session checks");
    };
    let first = session.players.iter().all(|(known, _)| known != player);
    let items = terminal(&block, first);
    match session
        .players
        .iter_mut()
        .find(|(known, _)| known == player)
    {
        Some((_, earlier)) => earlier.extend(items),
        None => session.players.push((player.to_string(), items)),
    }
    at
}

/// A player's terminal as items. The first block of a player starts with `$ nc ...`.
fn terminal(block: &Block, first: bool) -> Vec<(usize, Item)> {
    let mut items = Vec::new();
    for (number, line) in &block.lines {
        let item = if line.starts_with("$ nc ") {
            assert!(
                first,
                "{DOC} line {number}: only a player's first block connects"
            );
            Item::Connect
        } else if line == "..." {
            Item::Skip
        } else if line == "^C" {
            Item::Interrupt
        } else if line.starts_with(|c: char| c.is_ascii_uppercase() || c == '|') {
            Item::Received(line.clone())
        } else {
            Item::Typed(line.clone())
        };
        items.push((*number, item));
    }
    if first {
        assert_eq!(
            items.first().map(|(_, item)| item),
            Some(&Item::Connect),
            "{DOC} line {}: a player's first block starts with `$ nc -N 127.0.0.1 {DOC_PORT}`",
            block.marker_line
        );
    }
    items
}

/// Replaces what changes from run to run with fixed placeholders: the server's port, shown as
/// 7080, and client ports.
fn normalize(text: &str, server_port: Option<u16>) -> String {
    normalize_ports(text, DOC_PORT, server_port)
        .trim_end()
        .to_string()
}

fn starts(engine: &str, args: &[String]) -> ServerProcess {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    util::start(engine, &args)
}

/// The `$` commands of a block, each with the lines printed under it.
fn commands_of(block: &Block) -> Vec<(usize, String, Vec<String>)> {
    commands(DOC, block)
        .into_iter()
        .map(|command| (command.line, command.command, command.output))
        .collect()
}

/// Why a command cannot run here, if it cannot.
fn missing_tool(command: &str) -> Option<String> {
    if let Some(program) = missing_program(command, &["nc", "ps"]) {
        return Some(format!("`{program}` is not installed"));
    }
    if command.contains("/proc/") && !Path::new("/proc/self").exists() {
        return Some("there is no /proc here".into());
    }
    None
}

/// Runs one documented command (with the real port and binary) and returns its output lines.
fn run_command(command: &str, server: Option<&ServerProcess>) -> Vec<String> {
    let port = server.map(|server| server.addr.port());
    let mut command = lab_command(command, "game-lab", BIN, DOC_PORT, port);
    if let Some(server) = server {
        command = command.replace("PID", &server.pid().to_string());
    }
    shell(&command, None)
        .iter()
        .map(|line| normalize(line, port))
        .collect()
}

fn compare_output(
    line: usize,
    command: &str,
    actual: Vec<String>,
    expected: &[String],
    numbers_vary: bool,
) {
    let tidy = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|line| {
                if numbers_vary {
                    mask_numbers(&line)
                } else {
                    line
                }
            })
            .collect()
    };
    let expected = tidy(expected.iter().map(|line| normalize(line, None)).collect());
    compare(DOC, line, &format!("`{command}`"), &tidy(actual), &expected);
}

fn check_run(block: &Block) {
    for (line, command, expected) in commands_of(block) {
        let actual = run_command(&command, None);
        compare_output(line, &command, actual, &expected, false);
    }
}

/// `$ game-lab serve ARGS` and the lines a server prints first.
fn check_server_start(engine: &str, block: &Block) {
    let commands = commands_of(block);
    let [(line, command, expected)] = commands.as_slice() else {
        panic!(
            "{DOC} line {}: one `$ game-lab serve` per block",
            block.marker_line
        );
    };
    let args = command
        .strip_prefix("game-lab serve")
        .unwrap_or_else(|| panic!("{DOC} line {line}: expected `$ game-lab serve ARGS`"));
    let mut server = starts(engine, &words(args));
    let expected: Vec<(usize, String)> =
        expected.iter().map(|text| (*line, text.clone())).collect();
    let block = Block {
        marker_line: *line,
        lines: expected,
        ..block.clone()
    };
    check_log(&mut server, &block);
}

/// Everything the server printed after `listening on`, compared as a set of lines.
fn check_log(server: &mut ServerProcess, block: &Block) {
    let shows_listening = block
        .lines
        .iter()
        .any(|(_, line)| line.starts_with("listening on "));
    let wanted = block.lines.len() + usize::from(!shows_listening);
    while server.seen.len() < wanted {
        server.wait_for(|_| true);
    }
    let port = server.addr.port();
    let mut actual: Vec<String> = server
        .seen
        .iter()
        .map(|line| normalize(line, Some(port)))
        .collect();
    let mut expected: Vec<String> = block
        .lines
        .iter()
        .map(|(_, line)| normalize(line, None))
        .collect();
    if !expected
        .iter()
        .any(|line| line.starts_with("listening on "))
    {
        actual.retain(|line| !line.starts_with("listening on "));
    }
    let printed = actual.clone();
    actual.sort();
    expected.sort();
    assert!(
        actual == expected,
        "{DOC} line {}: the server printed something else (compared in any order); it printed:\n{}",
        block.marker_line,
        printed.join("\n")
    );
}

/// Connects `count` players and reads their greeting, so they are known to the server.
fn hold(server: &ServerProcess, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|_| {
            let stream = server.connect();
            let mut greeting = String::new();
            BufReader::new(stream.try_clone().unwrap())
                .read_line(&mut greeting)
                .unwrap();
            assert!(greeting.starts_with("WELCOME "), "{greeting}");
            stream
        })
        .collect()
}

/// Closes held players and waits until the server has noticed, so later blocks find room.
fn release(server: &mut ServerProcess, held: Vec<TcpStream>) {
    for stream in held {
        let local = stream.local_addr().unwrap();
        drop(stream);
        server.wait_for(|line| line.contains(&format!("{local} disconnected")));
    }
}

fn check_commands(
    engine: &str,
    server_args: &[String],
    blocks: &[CommandBlock],
    log: Option<&Block>,
) {
    for command in blocks {
        for (line, text, _) in commands_of(&command.block) {
            if let Some(reason) = missing_tool(&text) {
                skip(&format!("{DOC} line {line}"), &reason);
                return;
            }
        }
    }
    let mut server = starts(engine, server_args);
    for command in blocks {
        let held = hold(&server, command.hold);
        for (line, text, expected) in commands_of(&command.block) {
            let actual = run_command(&text, Some(&server));
            compare_output(line, &text, actual, &expected, command.numbers_vary);
        }
        release(&mut server, held);
    }
    if let Some(log) = log {
        check_log(&mut server, log);
    }
}

/// A player's connection.
struct Connection {
    stream: TcpStream,
    lines: BufReader<TcpStream>,
}

/// One player of a session being replayed.
struct Player {
    name: String,
    items: Vec<(usize, Item)>,
    cursor: usize,
    connection: Option<Connection>,
    /// Set by `...`: lines may be passed over until the next one shown.
    skipping: bool,
    /// Every line received, for failure messages.
    heard: Vec<String>,
}

/// The bytes a typed line stands for: a terminal echoes the ESC key as `^[`.
fn typed_bytes(line: &str) -> String {
    line.replace("^[", "\u{1b}")
}

/// What is the same in every token: 16 hexadecimal digits.
fn token_pattern() -> Regex {
    Regex::new(r"\b[0-9a-f]{16}\b").unwrap()
}

/// True when `actual` is `expected` up to seat tokens; learns which real token each one in the
/// document stands for.
fn same_line(expected: &str, actual: &str, tokens: &mut HashMap<String, String>) -> bool {
    let pattern = token_pattern();
    if pattern.replace_all(expected, "TOKEN") != pattern.replace_all(actual, "TOKEN") {
        return false;
    }
    for (shown, real) in pattern.find_iter(expected).zip(pattern.find_iter(actual)) {
        tokens.insert(shown.as_str().to_string(), real.as_str().to_string());
    }
    true
}

impl Player {
    fn connection(&mut self) -> &mut Connection {
        let name = &self.name;
        self.connection
            .as_mut()
            .unwrap_or_else(|| panic!("{name} has not connected (or has closed) here"))
    }

    /// The next line from the server; panics at a close or after `netlab_testkit::PATIENCE`.
    fn next_line(&mut self, waiting_for: usize) -> String {
        let mut line = String::new();
        let read = self.connection().lines.read_line(&mut line);
        match read {
            Ok(0) => self.fail(waiting_for, "the server closed the connection"),
            Ok(_) => {
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                self.heard.push(line.clone());
                line
            }
            Err(err) => self.fail(waiting_for, &format!("nothing arrived ({err})")),
        }
    }

    fn fail(&self, line: usize, what: &str) -> ! {
        panic!(
            "{DOC} line {line}: {}'s terminal differs: {what}; the lines received so far:\n{}",
            self.name,
            self.heard.join("\n")
        )
    }

    /// Reads and checks the next line the terminal shows (passing over lines after `...`).
    fn read_one(&mut self, tokens: &mut HashMap<String, String>) {
        while let Some((_, Item::Skip)) = self.items.get(self.cursor) {
            self.skipping = true;
            self.cursor += 1;
        }
        let Some((number, Item::Received(expected))) = self.items.get(self.cursor).cloned() else {
            let number = self.items.get(self.cursor).map_or(0, |(number, _)| *number);
            self.fail(
                number,
                "a typed line must be followed by the server's answer",
            );
        };
        loop {
            let actual = self.next_line(number);
            if same_line(&expected, &actual, tokens) {
                break;
            }
            if !self.skipping {
                self.fail(
                    number,
                    &format!("expected {expected:?}, received {actual:?}"),
                );
            }
        }
        self.skipping = false;
        self.cursor += 1;
    }

    /// Reads every line shown before the next thing this player does (or to the end).
    fn read_shown(&mut self, tokens: &mut HashMap<String, String>) {
        while let Some((_, Item::Received(_) | Item::Skip)) = self.items.get(self.cursor) {
            if matches!(self.items[self.cursor].1, Item::Skip)
                && !matches!(
                    self.items.get(self.cursor + 1),
                    Some((_, Item::Received(_)))
                )
            {
                // `...` right before a typed line: the passing over happens after it.
                self.skipping = true;
                self.cursor += 1;
                continue;
            }
            self.read_one(tokens);
        }
    }

    /// This player's turn: read up to the next action, do it, read the server's answer.
    fn act(
        &mut self,
        server: &mut ServerProcess,
        tokens: &mut HashMap<String, String>,
        turn: usize,
    ) {
        self.read_shown(tokens);
        let Some((number, item)) = self.items.get(self.cursor).cloned() else {
            panic!(
                "{DOC}: turn {turn} is {}'s, who has nothing more to type",
                self.name
            );
        };
        self.cursor += 1;
        match item {
            Item::Connect => {
                let stream = server.connect();
                let lines = BufReader::new(stream.try_clone().unwrap());
                self.connection = Some(Connection { stream, lines });
            }
            Item::Typed(text) => {
                let mut text = typed_bytes(&text);
                for (shown, real) in tokens.iter() {
                    text = text.replace(shown, real);
                }
                let sent = self
                    .connection()
                    .stream
                    .write_all(format!("{text}\n").as_bytes());
                if let Err(err) = sent {
                    self.fail(number, &format!("typing failed ({err})"));
                }
            }
            Item::Interrupt => {
                let connection = self.connection.take().expect("connected before ^C");
                let local = connection.stream.local_addr().unwrap();
                let _ = connection.stream.shutdown(Shutdown::Both);
                drop(connection);
                server.wait_for(|line| line.contains(&format!("{local} disconnected")));
                return;
            }
            Item::Received(_) | Item::Skip => unreachable!("read_shown stops at an action"),
        }
        self.read_one(tokens);
    }

    /// After the last turn: the rest of the terminal, and the close after `BYE`.
    fn finish(&mut self, tokens: &mut HashMap<String, String>) {
        self.read_shown(tokens);
        if let Some((number, item)) = self.items.get(self.cursor) {
            panic!(
                "{DOC} line {number}: {}'s {item:?} never had a turn: add {} to `turns`",
                self.name, self.name
            );
        }
        let said_bye = matches!(self.items.last(), Some((_, Item::Received(line))) if line.starts_with("BYE "));
        if said_bye && self.connection.is_some() {
            let mut rest = String::new();
            let read = self.connection().lines.read_line(&mut rest);
            assert!(
                matches!(read, Ok(0)),
                "{}: expected the server to close after BYE, got {rest:?}",
                self.name
            );
        }
    }
}

fn check_session(engine: &str, session: &Session, log: Option<&Block>) {
    let mut server = starts(engine, &session.server_args);
    let mut players: Vec<Player> = session
        .players
        .iter()
        .map(|(name, items)| Player {
            name: name.clone(),
            items: items.clone(),
            cursor: 0,
            connection: None,
            skipping: false,
            heard: Vec::new(),
        })
        .collect();
    let mut tokens = HashMap::new();
    for (turn, name) in session.turns.iter().enumerate() {
        let player = players
            .iter_mut()
            .find(|player| player.name == *name)
            .unwrap_or_else(|| {
                panic!(
                    "{DOC} line {}: turn {} names {name}, who has no terminal in session {}",
                    session.line,
                    turn + 1,
                    session.name
                )
            });
        player.act(&mut server, &mut tokens, turn + 1);
    }
    for player in &mut players {
        player.finish(&mut tokens);
    }
    if let Some(log) = log {
        check_log(&mut server, log);
    }
}

/// For the authoring aid: a token typed in the document stands for the token its owner (the
/// player whose terminal shows it in a `TOKEN` line) really received last.
fn real_tokens(session: &Session, shown: &HashMap<String, Vec<String>>, text: &str) -> String {
    let mut text = text.to_string();
    for token in token_pattern().find_iter(&text.clone()) {
        let owner = session.players.iter().find(|(_, items)| {
            items.iter().any(
                |(_, item)| matches!(item, Item::Received(line) if line.starts_with("TOKEN ") && line.contains(token.as_str())),
            )
        });
        let real = owner
            .and_then(|(name, _)| shown.get(name))
            .and_then(|lines| {
                lines
                    .iter()
                    .rev()
                    .find_map(|line| line.strip_prefix("TOKEN "))
            })
            .and_then(|rest| rest.split_whitespace().nth(1));
        if let Some(real) = real {
            text = text.replace(token.as_str(), real);
        }
    }
    text
}

/// The authoring aid: plays a session's turns and prints what each player really received,
/// with their typed lines where they typed them. It waits for quiet periods, so it is not a test.
fn record_session(session: &Session) {
    let server = starts(ENGINES[0], &session.server_args);
    let mut typed: HashMap<&str, Vec<Item>> = HashMap::new();
    for (name, items) in &session.players {
        typed.insert(
            name,
            items
                .iter()
                .map(|(_, item)| item.clone())
                .filter(|item| matches!(item, Item::Connect | Item::Typed(_) | Item::Interrupt))
                .rev()
                .collect(),
        );
    }
    let mut shown: HashMap<String, Vec<String>> = HashMap::new();
    let mut connections: HashMap<String, Connection> = HashMap::new();
    let drain = |connections: &mut HashMap<String, Connection>,
                 shown: &mut HashMap<String, Vec<String>>| {
        for (name, connection) in connections.iter_mut() {
            connection
                .stream
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            loop {
                let mut line = String::new();
                match connection.lines.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => shown
                        .entry(name.clone())
                        .or_default()
                        .push(line.trim_end().to_string()),
                    Err(err)
                        if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                    {
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    };
    for name in &session.turns {
        drain(&mut connections, &mut shown);
        let item = typed
            .get_mut(name.as_str())
            .and_then(Vec::pop)
            .expect("a typed line for this turn");
        match item {
            Item::Connect => {
                let screen = shown.entry(name.clone()).or_default();
                screen.push(format!("$ nc -N 127.0.0.1 {DOC_PORT}"));
                let stream = server.connect();
                let lines = BufReader::new(stream.try_clone().unwrap());
                connections.insert(name.clone(), Connection { stream, lines });
            }
            Item::Typed(text) => {
                let text = real_tokens(session, &shown, &text);
                let screen = shown.entry(name.clone()).or_default();
                screen.push(text.clone());
                let text = typed_bytes(&text);
                connections
                    .get_mut(name)
                    .unwrap()
                    .stream
                    .write_all(format!("{text}\n").as_bytes())
                    .unwrap();
            }
            Item::Interrupt => {
                shown.entry(name.clone()).or_default().push("^C".into());
                connections.remove(name);
            }
            _ => unreachable!(),
        }
    }
    drain(&mut connections, &mut shown);
    for (name, _) in &session.players {
        println!("=== session {}, player {name}", session.name);
        println!(
            "{}",
            shown
                .get(name)
                .map(|lines| lines.join("\n"))
                .unwrap_or_default()
        );
    }
    println!(
        "=== (the server's log is checked by `<!-- doc-test: log -->` blocks; a failing check shows it)"
    );
}

/// Every checked transcript in docs/game.md matches what the programs print today (against the
/// default engine, `threads`, which the page shows).
#[test]
fn walkthrough_transcripts_are_true() {
    let found = checks(&Doc::read(DOC));
    assert!(
        found.len() >= 12,
        "expected many checked transcripts, found {}",
        found.len()
    );
    let recording = std::env::var_os("DOC_TEST_RECORD").is_some();
    // Every check runs even after one fails, so one run lists everything to fix.
    run_checks(DOC, &found, |check| match check {
        Check::Run(block) => check_run(block),
        Check::ServerStart(block) => check_server_start("threads", block),
        Check::Commands {
            server_args,
            blocks,
            log,
        } => check_commands("threads", server_args, blocks, log.as_ref()),
        Check::Session { session, .. } if recording => record_session(session),
        Check::Session { session, log } => check_session("threads", session, log.as_ref()),
    });
}

/// The same players' sessions, `nc` transcripts and server logs, replayed against
/// `--engine mio`: a player cannot tell the engines apart, and neither can the operator reading
/// the log. Left out: what has no server (`run` blocks) and what is about threads by design
/// (blocks that count them with `ps` or `/proc`).
#[test]
fn walkthrough_transcripts_are_true_on_the_mio_engine() {
    let found = checks(&Doc::read(DOC));
    let about_threads = |blocks: &[CommandBlock]| {
        blocks.iter().any(|command| {
            commands_of(&command.block)
                .iter()
                .any(|(_, text, _)| text.starts_with("ps ") || text.contains("/proc/"))
        })
    };
    run_checks(DOC, &found, |check| match check {
        Check::Run(_) => {}
        Check::ServerStart(block) => check_server_start("mio", block),
        Check::Commands { blocks, .. } if about_threads(blocks) => {}
        Check::Commands {
            server_args,
            blocks,
            log,
        } => check_commands("mio", server_args, blocks, log.as_ref()),
        Check::Session { session, log } => check_session("mio", session, log.as_ref()),
    });
}
