//! Integration tests of `tcp-chat duplex`: two real processes over 127.0.0.1, port 0, or one real
//! process and a raw socket playing the other side when a test must control the pace or the
//! exact bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;

use crate::util::{Chat, TempDir, raw_connect};
use netlab_common::framing::{FrameReader, Framing};
use sha2::{Digest, Sha256};

/// `count` bytes that do not compress or repeat in any helpful way (xorshift64).
fn noise(count: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(count + 8);
    while out.len() < count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(count);
    out
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A raw socket speaking the duplex frames, for tests that need exact bytes.
struct Raw {
    stream: TcpStream,
    frames: FrameReader<TcpStream>,
}

impl Raw {
    fn new(stream: TcpStream) -> Raw {
        let reader = stream.try_clone().unwrap();
        Raw {
            stream,
            frames: FrameReader::new(reader, Framing::Length, 1 << 20),
        }
    }

    fn send(&mut self, payload: &[u8]) {
        let frame = Framing::Length.encode_to_vec(payload).unwrap();
        self.stream.write_all(&frame).unwrap();
    }

    fn recv(&mut self) -> Vec<u8> {
        self.frames.read_frame().unwrap().expect("a frame")
    }

    /// Sends a whole file as transfer `id`: F, D (in 64 KiB pieces), E.
    fn send_file(&mut self, id: u32, name: &str, content: &[u8], digest: [u8; 32]) {
        let mut offer = vec![b'F'];
        offer.extend_from_slice(&id.to_be_bytes());
        offer.extend_from_slice(&(content.len() as u64).to_be_bytes());
        offer.extend_from_slice(name.as_bytes());
        self.send(&offer);
        for piece in content.chunks(65536) {
            let mut data = vec![b'D'];
            data.extend_from_slice(&id.to_be_bytes());
            data.extend_from_slice(piece);
            self.send(&data);
        }
        let mut end = vec![b'E'];
        end.extend_from_slice(&id.to_be_bytes());
        end.extend_from_slice(&digest);
        self.send(&end);
    }
}

/// The `R` frame a receiver sends for transfer `id`.
fn result_frame(id: u32, ok: bool, content: &[u8], note: &str) -> Vec<u8> {
    let mut frame = vec![b'R'];
    frame.extend_from_slice(&id.to_be_bytes());
    frame.push(u8::from(ok));
    frame.extend_from_slice(&(content.len() as u64).to_be_bytes());
    frame.extend_from_slice(&sha(content));
    frame.extend_from_slice(note.as_bytes());
    frame
}

/// A listening `duplex` with a raw socket connected as the peer.
fn listener_with_raw_peer(download: &Path) -> (Chat, Raw) {
    let dir = download.to_string_lossy().into_owned();
    let (mut chat, addr) = Chat::listen("duplex", download, &["--download-dir", &dir]);
    let raw = Raw::new(raw_connect(addr));
    chat.out.expect("[INFO] connected to ");
    (chat, raw)
}

/// Two real processes: a 50 MiB file goes one way while messages go both ways; it arrives as
/// new_NAME with identical bytes, and the sender is told it arrived intact (size and SHA-256).
#[test]
fn fifty_mib_file_with_messages_both_ways() {
    let sender_dir = TempDir::new("duplex-50-send");
    let receiver_dir = TempDir::new("duplex-50-recv");
    let content = noise(50 << 20);
    fs::write(sender_dir.path().join("big.bin"), &content).unwrap();
    let recv_arg = receiver_dir.path().to_string_lossy().into_owned();
    let (mut receiver, addr) = Chat::listen(
        "duplex",
        receiver_dir.path(),
        &["--download-dir", &recv_arg],
    );
    let mut sender = Chat::connect("duplex", sender_dir.path(), addr, &[]);
    sender.out.expect("[INFO] connected to ");
    receiver.out.expect("[INFO] connected to ");

    sender.type_line("/send big.bin");
    sender
        .out
        .expect("[INFO] sending big.bin (50 MiB); keep chatting while it goes\n");
    receiver
        .out
        .expect("[INFO] receiving big.bin (50 MiB) into ");
    // Each side's message is typed while the file is in transit; `expect` reads forward only,
    // so finding the chat line before the result line below also checks the order.
    sender.type_line("message from the sender");
    receiver.type_line("message from the receiver");
    receiver
        .out
        .expect("[CHAT] peer: message from the sender\n");
    sender
        .out
        .expect("[CHAT] peer: message from the receiver\n");

    let digest = hex(&sha(&content));
    receiver
        .out
        .expect("[SUCCESS] saved big.bin as new_big.bin (50 MiB, ");
    receiver.out.expect(&format!("SHA-256 {digest})\n"));
    sender.out.expect(&format!(
        "[SUCCESS] big.bin arrived intact: the peer saved it as new_big.bin (52428800 bytes, \
         SHA-256 {digest} matches)\n"
    ));
    let received = fs::read(receiver_dir.path().join("new_big.bin")).unwrap();
    assert!(received == content, "received bytes differ");
    assert_eq!(names(receiver_dir.path()), ["new_big.bin"]);

    sender.type_line("quit()");
    sender
        .out
        .expect("[INFO] you ended the chat; shutting down\n");
    receiver
        .out
        .expect("[INFO] the peer ended the chat; shutting down\n");
    assert!(sender.wait().success());
    assert!(receiver.wait().success());
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// While a file is in transit, a typed message overtakes the rest of the file: the peer (a raw
/// socket that reads at its own pace) finds the message among the next few frames, long before
/// the end; and a message from the peer is printed while the file is still being sent.
#[test]
fn chat_interleaves_with_file_chunks() {
    let download = TempDir::new("duplex-interleave");
    let content = noise(8 << 20);
    fs::write(download.path().join("eight.bin"), &content).unwrap();
    let (mut chat, mut peer) = listener_with_raw_peer(download.path());
    chat.type_line("/send eight.bin");
    let offer = peer.recv();
    assert_eq!(&offer[..5], &[b'F', 0, 0, 0, 1]);
    assert_eq!(&offer[5..13], &(8u64 << 20).to_be_bytes());
    assert_eq!(&offer[13..], b"eight.bin");
    // Read two chunks, then stop reading: the sender fills the socket buffers and waits.
    assert_eq!(peer.recv()[0], b'D');
    assert_eq!(peer.recv()[0], b'D');
    peer.send(b"Mhello while you send");
    chat.out.expect("[CHAT] peer: hello while you send\n");
    chat.type_line("typed mid-transfer");
    chat.out.expect("[CHAT] you: typed mid-transfer\n");
    let mut chunks_before_message = 0;
    loop {
        let frame = peer.recv();
        match frame[0] {
            b'D' => chunks_before_message += 1,
            b'M' => {
                assert_eq!(&frame[1..], b"typed mid-transfer");
                break;
            }
            other => panic!("unexpected frame kind {other}"),
        }
    }
    // 8 MiB is 128 chunks. Only what sat in the socket buffers and the outbox window (a few
    // chunks; 2 on a typical Linux) went first: the message did not wait for the file.
    assert!(
        chunks_before_message < 64,
        "{chunks_before_message} chunks first"
    );
    chat.type_line("/q");
    assert!(chat.wait().success());
}

/// Received files are named new_NAME; an existing file is never overwritten (numbered names);
/// traversal names are reduced to a base name inside the download directory; the sender gets an
/// `R` frame with the exact size, SHA-256 and saved name.
#[test]
fn naming_no_overwrite_and_traversal() {
    let root = TempDir::new("duplex-names");
    let download = root.path().join("downloads");
    fs::create_dir(&download).unwrap();
    fs::write(download.join("new_a.txt"), b"precious").unwrap();
    let (mut chat, mut peer) = listener_with_raw_peer(&download);

    let cases = [
        (1, "a.txt", "new_a(1).txt"),
        (2, "a.txt", "new_a(2).txt"),
        (3, "../../escape.txt", "new_escape.txt"),
        (4, "/etc/passwd", "new_passwd"),
        (5, "..\\..\\win.ini", "new_win.ini"),
        (6, "..", "new_file"),
        (7, "evil\u{1b}[2J.txt", "new_evil_[2J.txt"),
    ];
    for (id, offered, saved) in cases {
        let content = format!("file {id}").into_bytes();
        peer.send_file(id, offered, &content, sha(&content));
        assert_eq!(
            peer.recv(),
            result_frame(id, true, &content, saved),
            "{offered}"
        );
        assert_eq!(fs::read(download.join(saved)).unwrap(), content);
    }
    assert_eq!(fs::read(download.join("new_a.txt")).unwrap(), b"precious");
    assert_eq!(
        names(root.path()),
        ["downloads"],
        "something escaped the download dir"
    );
    assert!(
        !chat.out.text.contains('\u{1b}'),
        "an escape sequence reached the terminal"
    );
    peer.send(b"Q");
    assert!(chat.wait().success());
    assert_eq!(names(&download).len(), 8);
}

/// A file whose bytes do not match the announced SHA-256 is not saved, and the sender is told.
#[test]
fn checksum_mismatch_saves_nothing() {
    let download = TempDir::new("duplex-badsum");
    let (mut chat, mut peer) = listener_with_raw_peer(download.path());
    peer.send_file(9, "x.bin", b"abc", sha(b"abd"));
    let note = "the SHA-256 does not match: the bytes were damaged; nothing saved";
    assert_eq!(peer.recv(), result_frame(9, false, b"abc", note));
    chat.err.expect(&format!("[ERROR] x.bin: {note}\n"));
    assert!(names(download.path()).is_empty());
    peer.send(b"Q");
    assert!(chat.wait().success());
}

/// A transfer cut off by the sender vanishing leaves no file under the final name (nor the
/// temporary one), and the receiver says so.
#[test]
fn interrupted_transfer_leaves_no_file() {
    let download = TempDir::new("duplex-cut");
    let (mut chat, mut peer) = listener_with_raw_peer(download.path());
    let mut offer = vec![b'F', 0, 0, 0, 1];
    offer.extend_from_slice(&(1u64 << 20).to_be_bytes());
    offer.extend_from_slice(b"half.bin");
    peer.send(&offer);
    let mut data = vec![b'D', 0, 0, 0, 1];
    data.extend_from_slice(&[7u8; 1000]);
    peer.send(&data);
    chat.out.expect("[INFO] receiving half.bin (1 MiB)");
    drop(peer);
    assert_eq!(chat.wait().code(), Some(1));
    let err = chat.err.rest();
    assert!(
        err.contains("[WARN] half.bin was interrupted after 1000 of 1048576 bytes; nothing saved"),
        "{err}"
    );
    assert!(err.contains("[ERROR] the peer vanished"), "{err}");
    assert!(
        names(download.path()).is_empty(),
        "{:?}",
        names(download.path())
    );
}

/// Missing files and directories are refused locally and nothing is sent; empty lines send
/// nothing; the first frame the peer sees is the next real message.
#[test]
fn refused_sends_and_empty_lines_send_nothing() {
    let download = TempDir::new("duplex-refuse");
    let (mut chat, mut peer) = listener_with_raw_peer(download.path());
    chat.type_line("/send no-such-file.bin");
    chat.err
        .expect("[ERROR] no-such-file.bin: no such file; nothing sent\n");
    chat.type_line("/send .");
    chat.err
        .expect("[ERROR] .: not a regular file; nothing sent\n");
    chat.type_line("");
    chat.type_line(&"z".repeat(4097));
    chat.err
        .expect("[WARN] message is 4097 bytes; the limit is 4096 bytes; nothing sent\n");
    chat.type_line("after all that");
    assert_eq!(peer.recv(), b"Mafter all that");
    chat.type_line("/q");
    assert_eq!(peer.recv(), b"Q");
    drop(peer);
    assert!(chat.wait().success());
}

/// An empty or blank line is refused with a warning on the typing side, in plain mode, and the
/// peer receives nothing for it: its next frame is the next real message.
#[test]
fn empty_lines_are_refused_with_a_message() {
    let download = TempDir::new("duplex-empty");
    let (mut chat, mut peer) = listener_with_raw_peer(download.path());
    chat.type_line("");
    chat.err.expect("[WARN] empty message; nothing sent\n");
    chat.type_line("   ");
    chat.err.expect("[WARN] empty message; nothing sent\n");
    chat.type_line("then this");
    assert_eq!(peer.recv(), b"Mthen this");
    chat.type_line("/q");
    assert_eq!(peer.recv(), b"Q");
    drop(peer);
    assert!(chat.wait().success());
}

/// `--max-message 1K --chunk-size 1K` (the seed's sizes): a longer typed line is refused
/// locally; a file goes out in `D` frames of at most 1024 bytes; a 1025-byte message from the
/// peer is refused with a `!` frame naming the limit.
#[test]
fn seed_sizes_are_kept_when_sending_and_enforced_when_receiving() {
    let download = TempDir::new("duplex-seed-sizes");
    let dir = download.path().to_string_lossy().into_owned();
    let file = download.path().join("three-k.bin");
    let content = noise(3000);
    std::fs::write(&file, &content).unwrap();
    let seed = ["--max-message", "1K", "--chunk-size", "1K"];
    let (mut chat, addr) = Chat::listen(
        "duplex",
        download.path(),
        &[&["--download-dir", &dir][..], &seed[..]].concat(),
    );
    let mut peer = Raw::new(raw_connect(addr));
    chat.out.expect("[INFO] connected to ");
    chat.type_line(&"y".repeat(1025));
    chat.err
        .expect("[WARN] message is 1025 bytes; the limit is 1024 bytes; nothing sent\n");
    chat.type_line(&format!("/send {}", file.display()));
    assert_eq!(peer.recv()[0], b'F');
    let mut received = Vec::new();
    for expected_len in [1024, 1024, 952] {
        let frame = peer.recv();
        assert_eq!((frame[0], frame.len()), (b'D', 5 + expected_len));
        received.extend_from_slice(&frame[5..]);
    }
    assert_eq!(peer.recv()[0], b'E');
    assert!(received == content, "the chunks do not add up to the file");
    peer.send(&[b"M".as_slice(), &[b'z'; 1025]].concat());
    let reason = "message of 1025 bytes; the limit is 1024";
    assert_eq!(peer.recv(), [b"!".as_slice(), reason.as_bytes()].concat());
    drop(peer);
    assert_eq!(chat.wait().code(), Some(1));
}

/// A peer started with larger chunks than ours: its first 64 KiB `D` frame is over the largest
/// frame we accept, and both ends are told which limits are in force.
#[test]
fn a_frame_over_the_chunk_size_names_the_flags() {
    let download = TempDir::new("duplex-small-chunks");
    let dir = download.path().to_string_lossy().into_owned();
    let (mut chat, addr) = Chat::listen(
        "duplex",
        download.path(),
        &["--download-dir", &dir, "--chunk-size", "1K"],
    );
    let mut peer = Raw::new(raw_connect(addr));
    chat.out.expect("[INFO] connected to ");
    peer.send_file(1, "big.bin", &noise(65536), [0; 32]);
    let reason = "a frame of 65541 bytes; this side accepts at most 4097 (--chunk-size 1024, \
                  --max-message 4096): start both sides with the same sizes";
    assert_eq!(peer.recv(), [b"!".as_slice(), reason.as_bytes()].concat());
    drop(peer);
    assert_eq!(chat.wait().code(), Some(1));
    assert!(chat.err.rest().contains(reason));
    assert!(
        names(download.path()).is_empty(),
        "{:?}",
        names(download.path())
    );
}

/// `/q` on one side ends both, exit 0.
#[test]
fn quit_ends_both_sides() {
    let dir = TempDir::new("duplex-quit");
    let dir_arg = dir.path().to_string_lossy().into_owned();
    let (mut listener, addr) = Chat::listen("duplex", dir.path(), &["--download-dir", &dir_arg]);
    let mut connector = Chat::connect("duplex", dir.path(), addr, &[]);
    listener.out.expect("[INFO] connected to ");
    connector.out.expect("[INFO] connected to ");
    listener.type_line("/q");
    connector
        .out
        .expect("[INFO] the peer ended the chat; shutting down\n");
    assert!(listener.wait().success());
    assert!(connector.wait().success());
}

/// A peer that breaks the protocol is told why in a `!` frame, and the chat ends with that
/// reason on our side too; a refusal from the peer is reported the same way.
#[test]
fn protocol_violations_are_refused_with_a_reason() {
    let download = TempDir::new("duplex-violation");
    let (mut chat, mut peer) = listener_with_raw_peer(download.path());
    peer.send(b"D\0\0\0\x09stray bytes");
    let reason = "file data arrived for a transfer that is not running";
    assert_eq!(peer.recv(), [b"!".as_slice(), reason.as_bytes()].concat());
    drop(peer);
    assert_eq!(chat.wait().code(), Some(1));
    assert_eq!(
        chat.err.rest(),
        format!("[ERROR] protocol error: {reason}\n")
    );

    let (mut chat, mut peer) = listener_with_raw_peer(download.path());
    peer.send(b"!you sent garbage");
    assert_eq!(chat.wait().code(), Some(1));
    assert_eq!(
        chat.err.rest(),
        "[ERROR] protocol error: the peer refused what we sent and closed: you sent garbage\n"
    );
}
