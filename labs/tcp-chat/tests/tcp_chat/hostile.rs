//! Hostile peers against `tcp-chat room serve` and `tcp-chat duplex`, over real sockets.
//!
//! Each test is one way a peer can hurt the others: names built to mislead or to attack a
//! terminal (control bytes, bidi overrides), input dribbled one byte at a time (slow), a flood of
//! lines, a client that vanishes in the middle of an upload, one that takes the last place.
//! The other categories are pinned elsewhere: oversize (`room.rs`:
//! `escape_sequences_and_long_lines`, `traversal_oversize_and_read_only_refused`), silent
//! (`grade.rs`: `room_disconnects_a_silent_client`), non-reading (`room.rs`:
//! `a_client_that_stops_reading_is_disconnected`), path tricks (`room.rs`:
//! `traversal_oversize_and_read_only_refused`, `duplex.rs`: `naming_no_overwrite_and_traversal`),
//! control bytes in chat text (`room.rs`: `escape_sequences_and_long_lines`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::Duration;

use crate::util::room::{LineClient, serve};
use crate::util::{Chat, TempDir, raw_connect};
use netlab_common::framing::{FrameReader, Framing};
use sha2::{Digest, Sha256};

/// Control and bidi formatting characters no name on the wire or on a screen may carry raw.
const RAW_CONTROLS: [char; 8] = [
    '\u{1b}', '\0', '\u{9b}', '\u{202e}', '\u{202d}', '\u{2066}', '\u{200e}', '\u{200f}',
];

fn has_raw_control(text: &str) -> bool {
    text.chars()
        .any(|character| RAW_CONTROLS.contains(&character))
}

/// A room with a file repository; returns the server, its address and the repository path.
fn room_with_files(
    dir: &TempDir,
    args: &[&str],
) -> (Chat, std::net::SocketAddr, std::path::PathBuf) {
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    let repo_arg = repo.to_string_lossy().into_owned();
    let (server, addr) = serve(
        dir.path(),
        &[&["--files", repo_arg.as_str()], args].concat(),
    );
    (server, addr, repo)
}

/// `put` with a bidi override (U+202E) in the name is refused with the exact `ERROR` line showing
/// it escaped, before any byte is sent; nothing is saved, no other member hears of it, and the
/// server's log has no raw control character either.
#[test]
fn bidi_file_name_is_refused() {
    let dir = TempDir::new("hostile-bidi-put");
    let (mut server, addr, repo) = room_with_files(&dir, &[]);
    let (mut uploader, _) = LineClient::join(addr);
    let (mut member, _) = LineClient::join(addr);
    uploader.expect("INFO Client02 joined");

    uploader.send("put bidi\u{202e}txt.exe 3");
    uploader.expect(
        "ERROR bidi\\u{202e}txt.exe holds U+202E, a control or bidi formatting character; \
         file names may not",
    );
    // Refused before READY: the connection is still in line mode and carries on.
    uploader.send("ping");
    uploader.expect("ACK ping");
    member.expect("MSG Client01 ping");
    assert_eq!(fs::read_dir(&repo).unwrap().count(), 0, "nothing saved");

    for (name, code) in [
        ("nul\0.txt", "U+0000"),
        ("esc\u{1b}[2J.txt", "U+001B"),
        ("rlm\u{200f}.txt", "U+200F"),
        ("iso\u{2066}late.txt", "U+2066"),
    ] {
        uploader.send(&format!("put {name} 1"));
        let refusal = uploader.line();
        assert!(refusal.starts_with("ERROR "), "{refusal:?}");
        assert!(refusal.contains(&format!("holds {code}")), "{refusal:?}");
        assert!(!has_raw_control(&refusal), "{refusal:?}");
    }
    server
        .err
        .expect("[WARN] upload refused: iso\\u{2066}late.txt holds U+2066");
    assert!(!has_raw_control(&server.err.text), "{}", server.err.text);
    assert!(!has_raw_control(&server.out.text), "{}", server.out.text);
}

/// `list` never carries a raw control: a file put in the repository by hand with a bidi or an
/// escape character in its name is left out (and cannot be fetched), while a name with merely
/// unusual characters (accents, a space) is listed and served as it is.
#[test]
fn list_and_get_never_carry_a_raw_control() {
    let dir = TempDir::new("hostile-list");
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    // (Windows refuses control characters in file names, so only the bidi ones are planted there.)
    let mut planted = vec!["evil\u{202e}txt.exe", "mark\u{200e}.txt"];
    if cfg!(unix) {
        planted.push("esc\u{1b}]0;pwned\u{7}.txt");
    }
    for name in planted {
        fs::write(repo.join(name), b"x").unwrap();
    }
    fs::write(repo.join("café menu.txt"), b"soup").unwrap();
    let repo_arg = repo.to_string_lossy().into_owned();
    let (mut server, addr) = serve(dir.path(), &["--files", &repo_arg]);
    let (mut client, _) = LineClient::join(addr);

    client.send("list");
    client.expect("FILES 1");
    client.expect("       4 B  café menu.txt");
    client.expect("END");
    client.send("get café menu.txt");
    client.expect("FILE 4 café menu.txt");
    assert_eq!(client.raw(4), b"soup");
    client.expect(&format!("DONE {}", crate::util::room::sha_hex(b"soup")));

    client.send("get evil\u{202e}txt.exe");
    let refusal = client.line();
    assert_eq!(
        refusal,
        "ERROR evil\\u{202e}txt.exe holds U+202E, a control or bidi formatting character; \
         file names may not"
    );
    server
        .err
        .expect("[WARN] not listing evil\\u{202e}txt.exe: a control or bidi formatting character");
    assert!(!has_raw_control(&server.err.text), "{}", server.err.text);
}

/// An upload's name reaches other members only through names that passed the check: the
/// `uploaded` notice and `list` of an odd but legal name carry it as it is.
#[test]
fn uploaded_notice_carries_only_checked_names() {
    let dir = TempDir::new("hostile-notice");
    let (_server, addr, repo) = room_with_files(&dir, &[]);
    let (mut uploader, _) = LineClient::join(addr);
    let (mut member, _) = LineClient::join(addr);
    uploader.expect("INFO Client02 joined");
    uploader.send("put naïve – 日本.txt 2");
    uploader.expect("READY");
    uploader.stream.write_all(b"ok").unwrap();
    let saved = uploader.line();
    assert!(saved.starts_with("SAVED naïve – 日本.txt 2 "), "{saved}");
    member.expect("INFO Client01 uploaded naïve – 日本.txt (2 B)");
    assert_eq!(fs::read(repo.join("naïve – 日本.txt")).unwrap(), b"ok");
}

/// A chosen name (`/nick`) with a bidi override or an escape is refused with the usual rule, so
/// joining names, too, never carry one.
#[test]
fn nick_with_controls_is_refused() {
    let dir = TempDir::new("hostile-nick");
    let (_server, addr) = serve(dir.path(), &[]);
    let (mut client, _) = LineClient::join(addr);
    for wanted in ["Ann\u{202e}", "\u{1b}[2J", "Bob\u{200f}"] {
        client.send(&format!("/nick {wanted}"));
        client.expect("ERROR names are 1 to 16 letters, digits, _ or - (and not \"host\")");
    }
    client.send("status");
    client.expect("STATUS 1 client");
    assert!(client.line().starts_with("Client01 "));
    client.expect("END");
}

/// A duplex peer that offers files named with bidi and invisible formatting characters gets
/// them saved under a base name with `_` in their place; neither the saved name, nor the `R`
/// verdict it is told, nor the receiver's screen carries one raw.
#[test]
fn duplex_offered_names_lose_their_controls() {
    let root = TempDir::new("hostile-duplex");
    let download = root.path().join("downloads");
    fs::create_dir(&download).unwrap();
    let dir = download.to_string_lossy().into_owned();
    let (mut chat, addr) = Chat::listen("duplex", &download, &["--download-dir", &dir]);
    let stream = raw_connect(addr);
    let mut frames = FrameReader::new(stream.try_clone().unwrap(), Framing::Length, 1 << 20);
    let mut peer = stream;
    chat.out.expect("[INFO] connected to ");

    let cases = [
        (1, "invoice\u{202e}fdp.exe", "new_invoice_fdp.exe"),
        (2, "a\u{200f}b\u{2066}c.txt", "new_a_b_c.txt"),
        (3, "\u{feff}zero\u{200b}width", "new__zero_width"),
    ];
    for (id, offered, saved) in cases {
        let content = format!("file {id}").into_bytes();
        send_file(&mut peer, id, offered, &content);
        let verdict = frames.read_frame().unwrap().expect("an R frame");
        let note = String::from_utf8(verdict[46..].to_vec()).unwrap();
        assert_eq!(
            (verdict[0], verdict[5], note.as_str()),
            (b'R', 1, saved),
            "{offered:?}"
        );
        assert_eq!(fs::read(download.join(saved)).unwrap(), content);
    }
    peer.write_all(&Framing::Length.encode_to_vec(b"Q").unwrap())
        .unwrap();
    assert!(chat.wait().success());
    assert!(!has_raw_control(&chat.out.text), "{}", chat.out.text);
    assert!(!has_raw_control(&chat.err.text), "{}", chat.err.text);
}

/// Sends a whole file as duplex transfer `id`: F, one D, E (see `duplex::wire`).
fn send_file(peer: &mut TcpStream, id: u32, name: &str, content: &[u8]) {
    let mut offer = vec![b'F'];
    offer.extend_from_slice(&id.to_be_bytes());
    offer.extend_from_slice(&(content.len() as u64).to_be_bytes());
    offer.extend_from_slice(name.as_bytes());
    let mut data = vec![b'D'];
    data.extend_from_slice(&id.to_be_bytes());
    data.extend_from_slice(content);
    let mut end = vec![b'E'];
    end.extend_from_slice(&id.to_be_bytes());
    end.extend_from_slice(&Sha256::digest(content));
    for frame in [offer, data, end] {
        peer.write_all(&Framing::Length.encode_to_vec(&frame).unwrap())
            .unwrap();
    }
}

/// A line dribbled one byte at a time is relayed whole, once, when its newline arrives.
#[test]
fn slow_line_one_byte_at_a_time() {
    let dir = TempDir::new("hostile-slow");
    let (_server, addr) = serve(dir.path(), &[]);
    let (mut slow, _) = LineClient::join(addr);
    let (mut member, _) = LineClient::join(addr);
    slow.expect("INFO Client02 joined");
    slow.stream.set_nodelay(true).unwrap();
    for byte in b"one byte at a time\n" {
        slow.stream.write_all(&[*byte]).unwrap();
        // The pace of the client under test, not a synchronization.
        thread::sleep(Duration::from_millis(10));
    }
    slow.expect("ACK one byte at a time");
    member.expect("MSG Client01 one byte at a time");
}

/// 3,000 lines sent in one burst are each acknowledged to the sender and relayed to another
/// member, in order, and the room still answers afterwards.
#[test]
fn flood_of_lines_is_relayed_in_order() {
    const LINES: usize = 3000;
    let dir = TempDir::new("hostile-flood");
    let (_server, addr) = serve(dir.path(), &[]);
    let (mut flooder, _) = LineClient::join(addr);
    let (mut member, _) = LineClient::join(addr);
    flooder.expect("INFO Client02 joined");
    let burst: String = (0..LINES).map(|index| format!("line {index}\n")).collect();
    let mut writer = flooder.stream.try_clone().unwrap();
    let sender = thread::spawn(move || writer.write_all(burst.as_bytes()).unwrap());
    // Both read at once, so neither becomes a client that "stopped reading".
    let relay = thread::spawn(move || {
        for index in 0..LINES {
            member.expect(&format!("MSG Client01 line {index}"));
        }
        member
    });
    for index in 0..LINES {
        flooder.expect(&format!("ACK line {index}"));
    }
    sender.join().unwrap();
    let mut member = relay.join().unwrap();
    member.send("still open?");
    member.expect("ACK still open?");
}

/// A client that resets its connection in the middle of an upload leaves no file under the
/// final name and no temporary file; the others are told it left; the room goes on.
#[test]
fn vanishing_mid_upload_leaves_no_file() {
    let dir = TempDir::new("hostile-vanish");
    let (mut server, addr, repo) = room_with_files(&dir, &[]);
    let (mut quitter, _) = LineClient::join(addr);
    let (mut member, _) = LineClient::join(addr);
    quitter.expect("INFO Client02 joined");
    quitter.send("put half.bin 1000");
    quitter.expect("READY");
    quitter.stream.write_all(&[7u8; 100]).unwrap();
    // SO_LINGER 0: close sends RST, as when the client's machine drops the connection.
    socket2::SockRef::from(&quitter.stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(quitter);
    member.expect("INFO Client01 left (connection lost)");
    server.out.expect("[INFO] Client01 left: ");
    assert_eq!(entries(&repo), Vec::<String>::new(), "no file, no .part");
    member.send("list");
    member.expect("FILES 0");
    member.expect("END");
}

fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// With the room full, the next client gets the exact refusal and a close; once a member leaves,
/// its place is free and a new client is welcomed.
#[test]
fn full_room_refuses_then_frees_a_place() {
    let dir = TempDir::new("hostile-full");
    let (mut server, addr) = serve(dir.path(), &["--max-clients", "2"]);
    let (mut ann, _) = LineClient::join(addr);
    let (mut bob, _) = LineClient::join(addr);
    ann.expect("INFO Client02 joined");
    for _ in 0..5 {
        let mut refused = LineClient::connect(addr);
        refused.expect("ERROR the room is full (2 clients, --max-clients 2); try again later");
        refused.expect_closed();
    }
    bob.send("exit");
    bob.expect("BYE Client02");
    server.out.expect("[INFO] Client02 left: exit\n");
    let (mut carol, name) = LineClient::join(addr);
    assert_eq!(name, "Client03");
    carol.send("status");
    carol.expect("STATUS 2 clients");
    let mut reader_lines = Vec::new();
    for _ in 0..2 {
        reader_lines.push(carol.line());
    }
    carol.expect("END");
    assert!(reader_lines[0].starts_with("Client01 "), "{reader_lines:?}");
    assert!(reader_lines[1].starts_with("Client03 "), "{reader_lines:?}");
}
