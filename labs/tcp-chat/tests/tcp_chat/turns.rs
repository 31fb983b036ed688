//! `tcp-chat pair --turn-end '#'` and `--listen --peers N`: seed 002's turns, with a host and
//! several users as real processes over 127.0.0.1 (port 0), their keyboards replaced by pipes;
//! a raw socket plays a user that breaks the rule.
//!
//! The walkthrough's transcripts of this mode (docs/tcp-chat.md, the blocks after
//! `<!-- turns-test: NAME -->`) are the ones [`seed_002_walkthrough_is_true`] produces: each
//! program's standard output, with each line the test typed inserted where it typed it, as a
//! terminal echoes it in the plain mode. The test waits for what a program prints before it
//! types the next line, so the transcripts come out the same on every run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;

use netlab_testkit::docs::{compare, replace_numbers_after};

use crate::util::{Chat, TempDir, raw_connect};

const PROMPT: &str = "Enter Input > ";

/// A program in the walkthrough: its output, and the lines typed into it and where.
struct Terminal {
    chat: Chat,
    /// (offset in the output at the moment of typing, the line typed).
    typed: Vec<(usize, String)>,
}

impl Terminal {
    fn new(chat: Chat) -> Terminal {
        Terminal {
            chat,
            typed: Vec::new(),
        }
    }

    fn expect(&mut self, wanted: &str) -> String {
        self.chat.out.expect(wanted)
    }

    fn type_line(&mut self, line: &str) {
        self.typed
            .push((self.chat.out.text.len(), line.to_string()));
        self.chat.type_line(line);
    }

    /// What a terminal would have shown: the output, each typed line echoed where it was typed.
    fn transcript(&mut self) -> Vec<String> {
        self.chat.out.drain_to_close();
        let output = &self.chat.out.text;
        let mut shown = String::new();
        let mut from = 0;
        for (at, line) in &self.typed {
            shown.push_str(&output[from..*at]);
            shown.push_str(line);
            shown.push('\n');
            from = *at;
        }
        shown.push_str(&output[from..]);
        shown.lines().map(str::to_string).collect()
    }
}

/// Starts the host: `pair --listen --port 0 --peers N --turn-end #`.
fn host(dir: &Path, peers: &str) -> (Terminal, SocketAddr) {
    let (chat, addr) = Chat::listen("pair", dir, &["--peers", peers, "--turn-end", "#"]);
    (Terminal::new(chat), addr)
}

/// Starts a user: `pair --connect ADDR --turn-end #`.
fn user(dir: &Path, addr: SocketAddr) -> Terminal {
    let mut user = Terminal::new(Chat::connect("pair", dir, addr, &["--turn-end", "#"]));
    user.expect(PROMPT);
    user
}

/// The walkthrough's session: two users each speak a turn of several lines, the host answers
/// both in the order they passed it the turn, user2 leaves with `exit`, and the host's `EXIT`
/// ends user3's chat too; every program exits 0, and what each shows is the page's transcript.
#[test]
fn seed_002_walkthrough_is_true() {
    let dir = TempDir::new("turns-walk");
    let (mut host, addr) = host(dir.path(), "2");
    host.expect("Exit ends the chat for everyone\n");
    let mut user2 = user(dir.path(), addr);
    host.expect("user2 joined from");
    host.expect("1 more user may join\n");
    let mut user3 = user(dir.path(), addr);
    host.expect("user3 joined from");

    user2.type_line("hello from user2");
    host.expect("[CHAT] user2: hello from user2\n");
    user2.expect(PROMPT);
    user2.type_line("this turn has two lines");
    host.expect("[CHAT] user2: this turn has two lines\n");
    user2.expect(PROMPT);
    user2.type_line("#");
    host.expect("to user2 > ");
    user2.expect("waiting for user1");
    user3.type_line("user3 here");
    host.expect("[CHAT] user3: user3 here\n");
    user3.expect(PROMPT);
    user3.type_line("#");
    host.expect("user3 waits for your reply after user2\n");
    host.expect("to user2 > ");
    user3.expect("waiting for user1");

    host.type_line("hi user2, you were first");
    user2.expect("[CHAT] user1: hi user2, you were first\n");
    host.expect("to user2 > ");
    host.type_line("#");
    user2.expect(PROMPT);
    host.expect("to user3 > ");
    host.type_line("and now you, user3");
    user3.expect("[CHAT] user1: and now you, user3\n");
    host.expect("to user3 > ");
    host.type_line("#");
    user3.expect(PROMPT);
    host.expect("waiting for a user to pass you the turn...\n");

    user2.type_line("exit");
    host.expect("[INFO] user2 left the chat (Exit)\n");
    assert!(user2.chat.wait().success());
    host.type_line("EXIT");
    assert!(host.chat.wait().success());
    assert!(user3.chat.wait().success());

    let port = addr.port().to_string();
    // Each user's port, in the order first seen, shown as 51234, 51236, ...
    let user_ports = std::cell::RefCell::new(Vec::<String>::new());
    let normalize = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|line| {
                replace_numbers_after(line, "127.0.0.1:", |digits| {
                    if digits == port {
                        return "7070".to_string();
                    }
                    let mut seen = user_ports.borrow_mut();
                    let index = seen
                        .iter()
                        .position(|known| known == digits)
                        .unwrap_or_else(|| {
                            seen.push(digits.to_string());
                            seen.len() - 1
                        });
                    (51234 + 2 * index).to_string()
                })
            })
            .collect()
    };
    for (name, terminal) in [
        ("user1", &mut host),
        ("user2", &mut user2),
        ("user3", &mut user3),
    ] {
        let real = normalize(terminal.transcript());
        let (place, block) = doc_block(name);
        compare(
            "docs/tcp-chat.md",
            place,
            &format!("{name}'s terminal"),
            &real,
            &block[1..],
        );
    }
    // Nothing went to standard error: no refusals in this session.
    for terminal in [&mut host, &mut user2, &mut user3] {
        terminal.chat.err.drain_to_close();
        assert_eq!(terminal.chat.err.text, "");
    }
}

/// The block after `<!-- turns-test: NAME -->` in docs/tcp-chat.md (its first line is the
/// command), and the marker's line number.
fn doc_block(name: &str) -> (usize, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tcp-chat.md");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let marker = format!("<!-- turns-test: {name} -->");
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

/// A user that sends while the host holds its turn gets a `!` refusal naming the rule and is
/// disconnected; the other user's conversation goes on; when that user leaves too, the host,
/// whose users have all come and gone, ends by itself with status 0.
#[test]
fn a_user_breaking_the_rule_is_dropped_alone() {
    let dir = TempDir::new("turns-rule");
    let (mut host, addr) = host(dir.path(), "2");
    let mut user2 = user(dir.path(), addr);
    host.expect("user2 joined from");
    let mut raw = raw_connect(addr);
    host.expect("user3 joined from");
    send(&mut raw, b"M#");
    host.expect("[INFO] user3 passed the turn to you (`#`)\n");
    send(&mut raw, b"Mbut wait");
    let reason = "a message arrived out of turn: user1 holds the turn until it sends `#`";
    assert_eq!(
        recv(&mut raw),
        [b"!".as_slice(), reason.as_bytes()].concat()
    );
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "the host closed after its refusal: {rest:?}"
    );
    host.chat.err.expect(&format!(
        "[WARN] user3 broke the turn rule ({reason}); it is disconnected, the others stay\n"
    ));

    user2.type_line("still here?");
    host.expect("[CHAT] user2: still here?\n");
    user2.type_line("#");
    host.expect("to user2 > ");
    host.type_line("yes");
    user2.expect("[CHAT] user1: yes\n");
    user2.type_line("EXIT");
    host.expect("[INFO] user2 left the chat (Exit)\n");
    host.expect("[INFO] every user has left; shutting down\n");
    assert!(host.chat.wait().success());
    assert!(user2.chat.wait().success());
}

/// Out of turn a user's line is refused locally and nothing is sent (the host shows nothing);
/// the host with nobody waiting for its reply is refused too; `--peers 1` takes one user and
/// the kernel refuses the next caller.
#[test]
fn out_of_turn_input_is_refused_and_extra_users_are_not_accepted() {
    let dir = TempDir::new("turns-refused");
    let (mut host, addr) = host(dir.path(), "1");
    host.type_line("anybody?");
    host.chat.err.expect(
        "[WARN] no one is waiting for your reply: each user speaks first and passes the turn \
         with `#`; nothing sent\n",
    );
    let mut user2 = user(dir.path(), addr);
    host.expect("user2 joined from");
    user2.type_line("#");
    user2.expect("waiting for user1");
    host.expect("to user2 > ");
    user2.type_line("sneaky");
    user2.chat.err.expect(
        "[WARN] it is not your turn: user1 is answering until it sends `#` (only Exit works \
         now); nothing sent\n",
    );
    // A second caller: the listening socket closed after the one user, so it is refused, or
    // (if it raced into the backlog) reset without a byte.
    match std::net::TcpStream::connect(addr) {
        Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}"),
        Ok(mut late) => {
            late.set_read_timeout(Some(crate::util::PATIENCE)).unwrap();
            let mut byte = [0u8; 1];
            assert!(
                !matches!(late.read(&mut byte), Ok(1)),
                "a late caller got data"
            );
        }
    }
    host.type_line("exit");
    user2.expect("[INFO] user1 ended the chat (Exit); shutting down\n");
    assert!(host.chat.wait().success());
    assert!(user2.chat.wait().success());
    assert!(!host.chat.out.text.contains("sneaky"));
}

fn send(stream: &mut std::net::TcpStream, payload: &[u8]) {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    stream.write_all(&frame).unwrap();
}

fn recv(stream: &mut std::net::TcpStream) -> Vec<u8> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(prefix) as usize];
    stream.read_exact(&mut payload).unwrap();
    payload
}
