//! Integration tests of `tcp-chat pair`: two real processes talking over 127.0.0.1, port 0, with
//! their keyboards replaced by pipes. One test drives the prompts through a real terminal (tmux).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::net::SocketAddr;

use crate::util::{Chat, TempDir, raw_connect, read_exactly};

const PROMPT: &str = "Enter Input > ";
const WAITING: &str = "[INFO] waiting for the peer...\n";

/// Starts a listener and a connector, and waits until both know whose turn it is.
fn start_pair(dir: &TempDir) -> (Chat, Chat) {
    let (mut listener, addr) = Chat::listen("pair", dir.path(), &[]);
    let mut connector = Chat::connect("pair", dir.path(), addr, &[]);
    connector.out.expect("you speak first");
    connector.out.expect(PROMPT);
    listener.out.expect("the peer speaks first");
    listener.out.expect(WAITING);
    (listener, connector)
}

/// The connecting side speaks first; typing out of turn is refused locally and nothing is sent;
/// then the turn alternates message by message.
#[test]
fn turns_alternate_and_out_of_turn_input_is_refused() {
    let dir = TempDir::new("pair-turns");
    let (mut listener, mut connector) = start_pair(&dir);

    listener.type_line("me first");
    listener.err.expect(
        "[WARN] it is not your turn: wait for the peer (only /q works now); nothing sent\n",
    );

    connector.type_line("hello");
    connector.out.expect(WAITING);
    assert_eq!(
        listener.out.expect(PROMPT),
        "[CHAT] peer: hello\nEnter Input > "
    );

    // Now the connector waits: its typing is refused, the listener's goes through.
    connector.type_line("again");
    connector.err.expect("[WARN] it is not your turn");
    listener.type_line("hi there");
    assert_eq!(
        connector.out.expect(PROMPT),
        "[CHAT] peer: hi there\nEnter Input > "
    );

    connector.type_line("/q");
    assert!(connector.wait().success());
    assert!(listener.wait().success());
    // The refused lines never crossed the wire.
    assert!(
        !connector.out.text.contains("me first"),
        "{}",
        connector.out.text
    );
    assert!(
        !listener.out.text.contains("again"),
        "{}",
        listener.out.text
    );
}

/// `/q` on either side, even out of turn, prints a shutdown line on both sides; both exit 0.
#[test]
fn quit_shuts_down_both_sides() {
    for quitter_is_listener in [false, true] {
        let dir = TempDir::new("pair-quit");
        let (mut listener, mut connector) = start_pair(&dir);
        let (quitter, other) = if quitter_is_listener {
            (&mut listener, &mut connector)
        } else {
            (&mut connector, &mut listener)
        };
        quitter.type_line("/q");
        quitter
            .out
            .expect("[INFO] you ended the chat (/q); shutting down\n");
        other
            .out
            .expect("[INFO] the peer ended the chat (/q); shutting down\n");
        assert!(quitter.wait().success());
        assert!(other.wait().success());
    }
}

/// 4097 bytes are refused locally with the prompt shown again; exactly 4096 bytes arrive whole.
#[test]
fn messages_are_limited_to_4096_bytes() {
    let dir = TempDir::new("pair-limit");
    let (mut listener, mut connector) = start_pair(&dir);
    connector.type_line(&"x".repeat(4097));
    connector.err.expect(
        "[WARN] message is 4097 bytes; the limit is 4096 bytes. Nothing sent: type a shorter one\n",
    );
    connector.out.expect(PROMPT);
    let longest = "y".repeat(4096);
    connector.type_line(&longest);
    let got = listener.out.expect(PROMPT);
    assert_eq!(got, format!("[CHAT] peer: {longest}\n{PROMPT}"));
    connector.type_line("/q");
    assert!(listener.wait().success());
    assert!(!listener.out.text.contains(&"x".repeat(4097)));
}

/// A whole game of tic-tac-toe, started by the listener on its turn, with an occupied square
/// and a nonsense move refused with a reason; both sides see every board and the result; then
/// chat resumes with the side that did not start the game.
#[test]
fn tictactoe_full_game_with_invalid_moves() {
    let dir = TempDir::new("pair-ttt");
    let (mut listener, mut connector) = start_pair(&dir);
    connector.type_line("shall we play?");
    listener.out.expect(PROMPT);
    listener.type_line("play tictactoe");
    listener
        .out
        .expect("[INFO] you start a game of tictactoe: you are player 1\n");
    connector
        .out
        .expect("[INFO] the peer starts a game of tictactoe: you are player 2\n");
    assert_eq!(
        listener.out.expect(PROMPT),
        "     1 | 2 | 3\n    ---+---+---\n     4 | 5 | 6\n    ---+---+---\n     7 | 8 | 9\n    \
         You are X. Your move: type the number of an empty square.\nEnter Input > "
    );
    connector.out.expect("You are O. Waiting for X to move.\n");
    connector.out.expect(WAITING);

    // X (listener) takes 1, 2, 3; O (connector) takes 5 and 9, first trying the taken square 1.
    listener.type_line("1");
    connector.out.expect(PROMPT);
    connector.type_line("1");
    connector
        .err
        .expect("[WARN] move refused: square 1 is already taken; pick an empty square\n");
    connector.out.expect(PROMPT);
    connector.type_line("banana");
    connector
        .err
        .expect("[WARN] move refused: type the number of a square, 1 to 9\n");
    connector.out.expect(PROMPT);
    connector.type_line("5");
    listener.out.expect(PROMPT);
    listener.type_line("2");
    connector.out.expect(PROMPT);
    connector.type_line("9");
    listener.out.expect(PROMPT);
    listener.type_line("3");

    let end_board =
        "     X | X | X\n    ---+---+---\n     4 | O | 6\n    ---+---+---\n     7 | 8 | O\n";
    let seen = listener.out.expect("[INFO] back to chat\n");
    assert!(
        seen.ends_with(&format!(
            "{end_board}    You win!\n[SUCCESS] game over: you win!\n[INFO] back to chat\n"
        )),
        "{seen}"
    );
    let seen = connector.out.expect("[INFO] back to chat\n");
    assert!(
        seen.ends_with(&format!(
            "{end_board}    X wins.\n[SUCCESS] game over: the peer wins\n[INFO] back to chat\n"
        )),
        "{seen}"
    );
    // The listener started the game, so the connector speaks first after it.
    connector.out.expect(PROMPT);
    listener.out.expect(WAITING);
    connector.type_line("good game");
    listener.out.expect("[CHAT] peer: good game\n");
    listener.type_line("/q");
    assert!(connector.wait().success());
}

/// Rock-paper-scissors, best of three, through the same turn: the second chooser does not see
/// the first choice before choosing.
#[test]
fn rps_best_of_three() {
    let dir = TempDir::new("pair-rps");
    let (mut listener, mut connector) = start_pair(&dir);
    connector.type_line("play rps");
    connector.out.expect("you start a game of rps");
    for _ in 0..2 {
        connector.out.expect(PROMPT);
        connector.type_line("rock");
        let seen = listener.out.expect(PROMPT);
        // The listener learns that a choice was made, not which: that comes with the result.
        assert!(
            seen.contains("your opponent has chosen. Your move"),
            "{seen}"
        );
        assert!(!seen.contains("chose rock"), "choice leaked: {seen}");
        listener.type_line("paper");
    }
    connector.out.expect("[SUCCESS] game over: the peer wins\n");
    listener.out.expect("[SUCCESS] game over: you win!\n");
    listener.out.expect(PROMPT);
    listener.type_line("/q");
    assert!(connector.wait().success());
}

/// Hangman starts with the same word on both sides (the starter sends the seed) and refuses a
/// guess that is not a letter.
#[test]
fn hangman_starts_on_both_sides() {
    let dir = TempDir::new("pair-hangman");
    let (mut listener, mut connector) = start_pair(&dir);
    connector.type_line("play hangman");
    let mine = connector.out.expect(PROMPT);
    let theirs = listener.out.expect(WAITING);
    let word_line = |text: &str| {
        text.lines()
            .find(|line| line.contains("Word: "))
            .unwrap()
            .to_string()
    };
    assert_eq!(word_line(&mine), word_line(&theirs));
    connector.type_line("42");
    connector
        .err
        .expect("[WARN] move refused: guess one letter, a to z\n");
    connector.type_line("/q");
    assert!(listener.wait().success());
}

/// A peer that is killed is reported on the other side as one error line and exit 1, not a
/// panic or a hang.
#[test]
fn vanished_peer_is_reported() {
    let dir = TempDir::new("pair-vanish");
    let (mut listener, mut connector) = start_pair(&dir);
    connector.child.kill().unwrap();
    let status = listener.wait();
    assert_eq!(status.code(), Some(1));
    let err = listener.err.rest();
    assert!(err.contains("[ERROR] the peer vanished"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The bytes on the wire are the documented frames: 4-byte big-endian length, kind, body.
/// A raw socket plays the connecting side.
#[test]
fn wire_bytes_are_exact() {
    let dir = TempDir::new("pair-wire");
    let (mut listener, addr) = Chat::listen("pair", dir.path(), &[]);
    let mut peer = raw_connect(addr);
    listener.out.expect(WAITING);
    peer.write_all(&[0, 0, 0, 3, b'M', b'h', b'i']).unwrap();
    listener.out.expect("[CHAT] peer: hi\nEnter Input > ");
    listener.type_line("yo");
    assert_eq!(read_exactly(&mut peer, 7), [0, 0, 0, 3, b'M', b'y', b'o']);
    listener.type_line("/q");
    assert_eq!(read_exactly(&mut peer, 5), [0, 0, 0, 1, b'Q']);
    drop(peer);
    assert!(listener.wait().success());
}

/// Hostile peers: a length prefix over the limit is refused from the header alone, a message
/// out of turn ends the chat, and escape sequences are shown, not obeyed.
#[test]
fn hostile_peer_is_refused() {
    let dir = TempDir::new("pair-hostile");
    let cases: [(&[u8], &str); 3] = [
        (
            &[0xFF, 0xFF, 0xFF, 0xFF],
            "frame of 4294967295 bytes exceeds the 4097-byte limit",
        ),
        (&[0, 0, 0, 1, b'Z'], "unknown frame kind 0x5a"),
        (&[0, 0, 0, 2, b'G', b'5'], "a move arrived with no game on"),
    ];
    for (bytes, reason) in cases {
        let (mut listener, addr) = Chat::listen("pair", dir.path(), &[]);
        let mut peer = raw_connect(addr);
        peer.write_all(bytes).unwrap();
        // The peer is told why, in a `!` frame, before the connection closes.
        let mut expected = (reason.len() as u32 + 1).to_be_bytes().to_vec();
        expected.push(b'!');
        expected.extend_from_slice(reason.as_bytes());
        assert_eq!(read_exactly(&mut peer, expected.len()), expected);
        drop(peer);
        assert_eq!(listener.wait().code(), Some(1));
        let err = listener.err.rest();
        assert!(err.contains(reason), "{err}");
    }

    // A refusal from the peer is shown as the reason the chat ended.
    let (mut listener, addr) = Chat::listen("pair", dir.path(), &[]);
    let mut peer = raw_connect(addr);
    peer.write_all(&[0, 0, 0, 5, b'!', b'n', b'o', b'p', b'e'])
        .unwrap();
    assert_eq!(listener.wait().code(), Some(1));
    assert_eq!(
        listener.err.rest(),
        "[ERROR] protocol error: the peer refused what we sent and closed: nope\n"
    );

    let (mut listener, addr) = Chat::listen("pair", dir.path(), &[]);
    let mut peer = raw_connect(addr);
    let evil = b"M\x1b[2Jgotcha";
    peer.write_all(&[0, 0, 0, evil.len() as u8]).unwrap();
    peer.write_all(evil).unwrap();
    listener.out.expect("[CHAT] peer: ^[[2Jgotcha\n");
    listener.type_line("/q");
    listener.wait();
    assert!(!listener.out.text.contains('\x1b'));
}

/// A second connection after the pair is formed is refused: the listener closed its socket.
#[test]
fn third_party_is_refused() {
    let dir = TempDir::new("pair-third");
    let (mut listener, addr) = Chat::listen("pair", dir.path(), &[]);
    let _connector = Chat::connect("pair", dir.path(), addr, &[]);
    listener.out.expect("the peer speaks first");
    let third = std::net::TcpStream::connect::<SocketAddr>(addr);
    assert!(third.is_err(), "a third side connected");
}

/// The listener sets SO_REUSEADDR: after a chat that the listener closed first (leaving its side
/// of the old connection in TIME_WAIT), a new listener on the same port starts at once.
#[test]
fn listener_restarts_on_the_same_port() {
    let dir = TempDir::new("pair-restart");
    let (mut listener, mut connector) = start_pair(&dir);
    let port = listener
        .out
        .text
        .lines()
        .find_map(|line| line.strip_prefix("listening on "))
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    listener.type_line("/q");
    assert!(listener.wait().success());
    assert!(connector.wait().success());
    let mut again = Chat::start_in(dir.path(), &["pair", "--listen", "--port", &port]);
    again
        .out
        .expect(&format!("listening on 127.0.0.1:{port}\n"));
}

/// `--trace` shows each frame as it crossed the wire: the 4-byte length, the kind, the body.
#[test]
fn trace_shows_the_frame_bytes() {
    let dir = TempDir::new("pair-trace");
    let (mut listener, addr) = Chat::listen("pair", dir.path(), &["--trace"]);
    let mut peer = raw_connect(addr);
    listener.out.expect(WAITING);
    peer.write_all(&[0, 0, 0, 3, b'M', b'h', b'i']).unwrap();
    listener.err.expect("[TRACE] <- 127.0.0.1:");
    let dump = listener.err.expect("|\n");
    // hexdump -C layout: 16 columns of 3 characters, then the printable bytes.
    let row = format!("{:<48}|....Mhi|", "00 00 00 03 4d 68 69 ");
    assert!(
        dump.ends_with(&format!("7 bytes\n        0000  {row}\n")),
        "{dump}"
    );
    listener.type_line("/q");
    listener.err.expect("[TRACE] -> 127.0.0.1:");
    let dump = listener.err.expect("|\n");
    assert!(
        dump.contains("5 bytes\n        0000  00 00 00 01 51 "),
        "{dump}"
    );
}
