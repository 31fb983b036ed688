//! Keeps the room part of docs/tcp-chat.md true: its transcripts are replayed against the real
//! `tcp-chat` and compared line by line.
//!
//! A marker, an HTML comment the rendered page does not show, says how to replay the block after
//! it. All checks share one scratch directory, set up like the lab's (`shared/` with the files the
//! room serves, `send/` with files to upload, `dl/` for downloads), and run in document order, so
//! files one transcript creates are there for the next, as on the page. Parts that differ on every
//! run are normalized on both sides first: the server's port (shown as 7072), client ports, clock
//! times, "connected Ns" and the session log's times and durations.
//!
//! Reading the page's markers and blocks, running its commands, normalizing ports and comparing
//! lines come from `netlab_testkit::docs`, shared with the other labs' docs tests; this file
//! holds what is the room's own: its markers, and replaying its terminals.
//!
//! - `<!-- doc-test: room ARGS -->`: start `tcp-chat room serve --port 0 ARGS`, run each `$`
//!   command of the block with the real port in place of 7072, and compare its output (standard
//!   output and error together) with the lines under it.
//! - `<!-- doc-test: session NAME; turns A B A ... -->` declares a room session: several
//!   terminals, each a block after `<!-- doc-test: session NAME, terminal A -->` (a later block
//!   with the same marker continues that terminal). A terminal is named by its first line: the
//!   server (`$ tcp-chat room serve ...`, started first; what is typed there goes to its standard
//!   input, the host console), a client program (`$ tcp-chat room join ...`), a raw connection
//!   (`$ nc ...`, played over a socket, which is all `nc` does), or a one-off command (any other
//!   `$ ...`, run at its turn, or after everything else if `turns` does not name it).
//!
//! ## How a session is replayed
//! On a terminal, lines starting with an upper-case letter, `[`, `<` or `listening on` came from
//! the program; `...` stands for lines left out, `^C` ends the program or connection, and every
//! other line was typed (with `^[` for the ESC byte, as a terminal echoes it). `turns` names who
//! acts next, once per typed line; a client's first turn is starting or connecting. At its turn a
//! terminal reads, and checks, every line it shows before its next typed line, types it, and reads
//! the answer, the line right after it, before anybody else acts (a client program that has just
//! started must first show a line from the server, `< ...`). The server handles each client's
//! lines in order and answers under a lock, so this order fixes what every client receives.
//!
//! The server's own console is the exception: its threads print after releasing that lock, so
//! two lines printed at nearly the same moment by different threads may come out in either order.
//! Its lines between two typed lines are therefore compared as a set, and so is the session log.
//!
//! Not replayed: the pair and duplex transcripts (sections 1 to 4). They depend on a terminal
//! (prompts without a newline, keys echoed into a progress bar, the kernel's line editing) and on
//! timing (transfer rates), and stay captured runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::util::{BIN, TempDir, skip};
use netlab_testkit::docs::{
    Block, Doc, Lines, compare, lab_command, missing_program, normalize_ports,
    replace_numbers_after, shell, words,
};

const DOC: &str = "docs/tcp-chat.md";
/// The port the transcripts show.
const DOC_PORT: u16 = 7072;

/// One line of a terminal.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// The first line: `$ COMMAND`.
    Start(String),
    /// A line the user typed.
    Typed(String),
    /// `^C`.
    Interrupt,
    /// A line the program printed (or, for `nc`, the server sent).
    Printed(String),
    /// `...`: lines left out.
    Skip,
}

#[derive(Debug)]
struct Session {
    name: String,
    line: usize,
    turns: Vec<String>,
    /// Each terminal, in the order the document first shows them.
    terminals: Vec<(String, Vec<(usize, Item)>)>,
}

#[derive(Debug)]
enum Check {
    Room { args: Vec<String>, block: Block },
    Session(Session),
}

/// Reads every marker of the document into checks, in document order.
fn checks(doc: &Doc) -> Vec<Check> {
    let mut found = Vec::new();
    let mut sessions: HashMap<String, usize> = HashMap::new();
    for marker in doc.markers() {
        let line = marker.line;
        let form = marker.form.as_str();
        if let Some(args) = form.strip_prefix("room") {
            found.push(Check::Room {
                args: words(args),
                block: marker.block(doc),
            });
        } else if let Some(rest) = form.strip_prefix("session ") {
            if let Some((name, terminal)) = rest.split_once(", terminal ") {
                let &at = sessions.get(name).unwrap_or_else(|| {
                    panic!("{DOC} line {line}: session {name} is not declared above")
                });
                let Check::Session(session) = &mut found[at] else {
                    unreachable!("sessions map to session checks");
                };
                let items = terminal_items(&marker.block(doc));
                match session.terminals.iter_mut().find(|(t, _)| t == terminal) {
                    Some((_, earlier)) => earlier.extend(items),
                    None => session.terminals.push((terminal.to_string(), items)),
                }
            } else {
                let turns = marker
                    .option("turns ")
                    .unwrap_or_else(|| panic!("{DOC} line {line}: a session needs `; turns ...`"));
                sessions.insert(rest.to_string(), found.len());
                found.push(Check::Session(Session {
                    name: rest.to_string(),
                    line,
                    turns: words(turns),
                    terminals: Vec::new(),
                }));
            }
        } else {
            panic!("{DOC} line {line}: unknown marker {form:?}");
        }
    }
    found
}

fn terminal_items(block: &Block) -> Vec<(usize, Item)> {
    block
        .lines
        .iter()
        .map(|(number, line)| {
            let item = if let Some(command) = line.strip_prefix("$ ") {
                Item::Start(command.to_string())
            } else if line == "..." {
                Item::Skip
            } else if line == "^C" {
                Item::Interrupt
            } else if line.starts_with(|c: char| c.is_ascii_uppercase() || c == '[' || c == '<')
                || line.starts_with("listening on ")
            {
                Item::Printed(line.clone())
            } else {
                Item::Typed(line.clone())
            };
            (*number, item)
        })
        .collect()
}

/// Replaces what changes from run to run with fixed placeholders.
fn normalize(text: &str, server_port: Option<u16>) -> String {
    let text = normalize_ports(text.trim_end(), DOC_PORT, server_port);
    let text = replace_numbers_after(&text, "connected ", |_| "N".into());
    let text = replace_numbers_after(&text, "\"time\":", |_| "T".into());
    let text = replace_numbers_after(&text, "\"seconds\":", |_| "N".into());
    // A clock time: "(since 05:06:07 UTC)".
    let clock = text.find("(since ").and_then(|at| {
        let after = text.get(at + "(since 05:06:07".len()..)?;
        after
            .starts_with(" UTC)")
            .then(|| format!("{}(since HH:MM:SS{after}", &text[..at]))
    });
    clock.unwrap_or(text)
}

/// The scratch directory every check runs in, set up like the lab's `/tmp/cl`.
fn scratch() -> TempDir {
    let dir = TempDir::new("docs");
    let root = dir.path();
    for sub in ["shared", "send", "dl"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(root.join("shared/syllabus.txt"), "Lab 2 is due Friday.\n").unwrap();
    // 2 MiB that are the same on every run, so the digest on the page stays true.
    let slides: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    std::fs::write(root.join("shared/slides.pdf"), slides).unwrap();
    std::fs::write(root.join("send/minutes.txt"), "meeting notes\n").unwrap();
    // 30 MiB, refused by size before a byte is sent, so a sparse file does.
    let photo = std::fs::File::create(root.join("send/photo.jpg")).unwrap();
    photo.set_len(30 * 1024 * 1024).unwrap();
    dir
}

/// Where a terminal's typing goes.
enum Keyboard {
    Socket(TcpStream),
    Process(Child, Option<ChildStdin>),
}

impl Keyboard {
    fn type_line(&mut self, text: &str) {
        let bytes = format!("{}\n", text.replace("^[", "\u{1b}"));
        match self {
            Keyboard::Socket(stream) => stream.write_all(bytes.as_bytes()).unwrap(),
            Keyboard::Process(_, stdin) => {
                let stdin = stdin.as_mut().expect("standard input still open");
                stdin.write_all(bytes.as_bytes()).unwrap();
                stdin.flush().unwrap();
            }
        }
    }

    fn interrupt(&mut self) {
        match self {
            Keyboard::Socket(stream) => {
                let _ = stream.shutdown(Shutdown::Both);
            }
            Keyboard::Process(child, stdin) => {
                *stdin = None;
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Keyboard {
    fn drop(&mut self) {
        self.interrupt();
    }
}

/// Starts `command` (a documented command line) in `dir` with its output and errors together.
fn spawn(command: &str, dir: &Path, port: Option<u16>) -> (Keyboard, Lines) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {} 2>&1", real_command(command, port)))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start a documented command");
    let stdin = child.stdin.take();
    let lines = Lines::new(child.stdout.take().unwrap());
    (Keyboard::Process(child, stdin), lines)
}

/// The command with the real binary and port.
fn real_command(command: &str, port: Option<u16>) -> String {
    lab_command(command, "tcp-chat", BIN, DOC_PORT, port)
}

/// Runs a documented command to its end; its output lines, normalized.
fn run_command(command: &str, dir: &Path, port: Option<u16>) -> Vec<String> {
    shell(&real_command(command, port), Some(dir))
        .iter()
        .map(|line| normalize(line, port))
        .collect()
}

/// Why a command cannot run here, if it cannot.
fn missing_tool(command: &str) -> Option<&'static str> {
    missing_program(command, &["nc", "xxd", "sha256sum"])
}

/// A started room server: its console and its port.
struct Server {
    keyboard: Keyboard,
    console: Lines,
    port: u16,
    /// The first lines it printed (read to learn the port).
    first: Vec<String>,
}

fn start_server(command: &str, dir: &Path) -> Server {
    let (keyboard, mut console) = spawn(command, dir, Some(0));
    let listening = console.next().expect("the server prints `listening on`");

    let port = listening
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("expected `listening on IP:PORT`, got {listening:?}"));
    Server {
        keyboard,
        console,
        port,
        first: vec![listening],
    }
}

/// A `room` check: one server, the block's commands against it.
fn check_room(args: &[String], block: &Block, dir: &Path) {
    let mut commands: Vec<(usize, String, Vec<String>)> = Vec::new();
    for (number, line) in &block.lines {
        match line.strip_prefix("$ ") {
            Some(command) => commands.push((*number, command.to_string(), Vec::new())),
            None => match commands.last_mut() {
                Some((_, _, output)) => output.push(normalize(line, None)),
                None => panic!("{DOC} line {number}: a checked block starts with `$ command`"),
            },
        }
    }
    assert!(
        !commands.is_empty(),
        "{DOC} line {}: a `room` block holds `$` commands",
        block.marker_line
    );
    for (number, command, _) in &commands {
        if let Some(tool) = missing_tool(command) {
            skip(
                &format!("{DOC} line {number}"),
                &format!("`{tool}` is not installed"),
            );
            return;
        }
    }
    let server = start_server(
        &format!("tcp-chat room serve --port {DOC_PORT} {}", args.join(" ")),
        dir,
    );
    for (number, command, expected) in &commands {
        let actual = run_command(command, dir, Some(server.port));
        compare(DOC, *number, &format!("`{command}`"), &actual, expected);
    }
}

/// One terminal of a session being replayed.
struct Terminal {
    name: String,
    items: Vec<(usize, Item)>,
    cursor: usize,
    /// The server's console: its lines between typed lines are compared as a set.
    is_server: bool,
    keyboard: Option<Keyboard>,
    lines: Option<Lines>,
    /// Server console lines read ahead (as answers) that belong to the coming set.
    early: Vec<String>,
    skipping: bool,
    seen: Vec<String>,
}

impl Terminal {
    fn fail(&self, line: usize, what: &str) -> ! {
        panic!(
            "{DOC} line {line}: terminal {} differs: {what}; it showed so far:\n{}",
            self.name,
            self.seen.join("\n")
        )
    }

    fn next_line(&mut self, line: usize, port: u16) -> String {
        let Some(lines) = self.lines.as_mut() else {
            self.fail(line, "it has not started");
        };
        match lines.next() {
            Ok(text) => {
                self.seen.push(text.clone());
                normalize(&text, Some(port))
            }
            Err(why) => self.fail(line, why),
        }
    }

    /// The printed lines from the cursor up to the next thing typed (or the end).
    fn expected_until_action(&self) -> Vec<(usize, String)> {
        self.items[self.cursor..]
            .iter()
            .take_while(|(_, item)| matches!(item, Item::Printed(_) | Item::Skip))
            .filter_map(|(number, item)| match item {
                Item::Printed(line) => Some((*number, normalize(line, None))),
                _ => None,
            })
            .collect()
    }

    /// Reads and checks the next printed line shown (after `...`, passing over others).
    fn read_one(&mut self, port: u16) {
        while let Some((_, Item::Skip)) = self.items.get(self.cursor) {
            self.skipping = true;
            self.cursor += 1;
        }
        let Some((number, Item::Printed(expected))) = self.items.get(self.cursor).cloned() else {
            let number = self.items.get(self.cursor).map_or(0, |(number, _)| *number);
            self.fail(number, "a typed line must be followed by its answer");
        };
        let expected = normalize(&expected, None);
        if self.is_server {
            // An answer on the console belongs to the set of lines up to the next typed line.
            let actual = self.next_line(number, port);
            let coming: Vec<String> = self
                .expected_until_action()
                .into_iter()
                .map(|(_, l)| l)
                .collect();
            if !coming.contains(&actual) {
                self.fail(
                    number,
                    &format!("printed {actual:?}, not among the lines shown here"),
                );
            }
            self.early.push(actual);
            return;
        }
        loop {
            let actual = self.next_line(number, port);
            if actual == expected {
                break;
            }
            if !self.skipping {
                self.fail(number, &format!("expected {expected:?}, got {actual:?}"));
            }
        }
        self.skipping = false;
        self.cursor += 1;
    }

    /// Reads every printed line shown before the next typed line (or to the end).
    fn read_shown(&mut self, port: u16) {
        if self.is_server {
            let expected = self.expected_until_action();
            let mut actual = std::mem::take(&mut self.early);
            while actual.len() < expected.len() {
                let number = expected[actual.len()].0;
                actual.push(self.next_line(number, port));
            }
            let mut expected: Vec<String> = expected.into_iter().map(|(_, line)| line).collect();
            let first = self.items.get(self.cursor).map_or(0, |(number, _)| *number);
            actual.sort();
            expected.sort();
            compare(
                DOC,
                first,
                "the server's console (in any order)",
                &actual,
                &expected,
            );
            while let Some((_, Item::Printed(_) | Item::Skip)) = self.items.get(self.cursor) {
                self.cursor += 1;
            }
            return;
        }
        while let Some((_, item)) = self.items.get(self.cursor) {
            match item {
                Item::Printed(_) => self.read_one(port),
                Item::Skip => {
                    self.skipping = true;
                    self.cursor += 1;
                }
                _ => break,
            }
        }
    }
}

fn check_session(session: &Session, dir: &Path) {
    let server_at = session
        .terminals
        .iter()
        .position(|(_, items)| matches!(items.first(), Some((_, Item::Start(c))) if c.starts_with("tcp-chat room serve")))
        .unwrap_or_else(|| panic!("{DOC} line {}: session {} has no server terminal", session.line, session.name));
    let mut terminals: Vec<Terminal> = session
        .terminals
        .iter()
        .map(|(name, items)| Terminal {
            name: name.clone(),
            items: items.clone(),
            cursor: 0,
            is_server: false,
            keyboard: None,
            lines: None,
            early: Vec::new(),
            skipping: false,
            seen: Vec::new(),
        })
        .collect();
    for terminal in &terminals {
        if let Some((number, Item::Start(command))) = terminal.items.first() {
            // `nc` terminals are played over sockets; only one-off commands run other tools.
            let played = command.starts_with("nc ") || command.starts_with("tcp-chat ");
            if let Some(tool) = missing_tool(command).filter(|_| !played) {
                skip(
                    &format!("{DOC} line {number}"),
                    &format!("`{tool}` is not installed"),
                );
                return;
            }
        }
    }
    let Some((_, Item::Start(command))) = terminals[server_at].items.first().cloned() else {
        unreachable!("found above");
    };
    let server = start_server(&command, dir);
    let port = server.port;
    {
        let terminal = &mut terminals[server_at];
        terminal.is_server = true;
        terminal.cursor = 1;
        terminal.early = server
            .first
            .iter()
            .map(|line| normalize(line, Some(port)))
            .collect();
        terminal.seen.clone_from(&server.first);
        terminal.keyboard = Some(server.keyboard);
        terminal.lines = Some(server.console);
    }
    for (turn, name) in session.turns.iter().enumerate() {
        let terminal = terminals
            .iter_mut()
            .find(|terminal| terminal.name == *name)
            .unwrap_or_else(|| {
                panic!(
                    "{DOC} line {}: turn {} names {name}, who has no terminal",
                    session.line,
                    turn + 1
                )
            });
        act(terminal, dir, port);
    }
    for terminal in &mut terminals {
        if matches!(terminal.items.first(), Some((_, Item::Start(_)))) && terminal.cursor == 0 {
            // A one-off command that `turns` does not name runs after everything else.
            continue;
        }
        terminal.read_shown(port);
        if let Some((number, item)) = terminal.items.get(terminal.cursor) {
            panic!(
                "{DOC} line {number}: {}'s {item:?} never had a turn",
                terminal.name
            );
        }
    }
    for terminal in &mut terminals {
        if terminal.cursor == 0 {
            act(terminal, dir, port);
        }
    }
}

/// A terminal's turn: read up to its next action, do it, read the answer.
fn act(terminal: &mut Terminal, dir: &Path, port: u16) {
    terminal.read_shown(port);
    let Some((number, item)) = terminal.items.get(terminal.cursor).cloned() else {
        panic!(
            "{DOC}: it is {}'s turn, who has nothing more to type",
            terminal.name
        );
    };
    terminal.cursor += 1;
    match item {
        Item::Start(command) if command.starts_with("nc ") => {
            let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            terminal.lines = Some(Lines::new(stream.try_clone().unwrap()));
            terminal.keyboard = Some(Keyboard::Socket(stream));
        }
        Item::Start(command) if command.starts_with("tcp-chat ") => {
            let (keyboard, lines) = spawn(&command, dir, Some(port));
            terminal.keyboard = Some(keyboard);
            terminal.lines = Some(lines);
            // Started is not yet connected: wait until it shows a line from the server.
            while !matches!(terminal.items.get(terminal.cursor), Some((_, Item::Printed(line))) if line.starts_with('<'))
            {
                terminal.read_one(port);
            }
        }
        Item::Start(command) => {
            let expected: Vec<String> = terminal.items[terminal.cursor..]
                .iter()
                .map(|(_, item)| match item {
                    Item::Printed(line) | Item::Typed(line) => normalize(line, None),
                    other => {
                        panic!("{DOC} line {number}: a command's output cannot hold {other:?}")
                    }
                })
                .collect();
            terminal.cursor = terminal.items.len();
            let actual = run_command(&command, dir, Some(port));
            let any_order = command.starts_with("cat ") && command.ends_with(".jsonl");
            let (mut actual, mut expected) = (actual, expected);
            if any_order {
                // Client threads write the session log; see the module documentation.
                actual.sort();
                expected.sort();
            }
            compare(DOC, number, &format!("`{command}`"), &actual, &expected);
            return;
        }
        Item::Typed(text) => terminal
            .keyboard
            .as_mut()
            .expect("started")
            .type_line(&text),
        Item::Interrupt => {
            if let Some(mut keyboard) = terminal.keyboard.take() {
                keyboard.interrupt();
            }
            terminal.lines = None;
            return;
        }
        Item::Printed(_) | Item::Skip => unreachable!("read_shown stops at an action"),
    }
    terminal.read_one(port);
}

/// Every replayed transcript of docs/tcp-chat.md matches what the programs print today.
#[test]
fn room_transcripts_are_true() {
    let found = checks(&Doc::read(DOC));
    assert!(
        found.len() >= 4,
        "expected several checks, found {}",
        found.len()
    );
    let dir = scratch();
    for check in &found {
        match check {
            Check::Room { args, block } => check_room(args, block, dir.path()),
            Check::Session(session) => check_session(session, dir.path()),
        }
    }
}
