//! Integration tests of `tcp-chat room`: the real server on 127.0.0.1 port 0, joined by raw line
//! clients (what nc would do), by the real `room join` client, and by nc itself where installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use crate::util::room::{LineClient, serve, sha_hex};
use crate::util::{Chat, TempDir, find_program, skip};

/// Names are unique (automatic and chosen), every message is ACKed to its sender and delivered
/// to everyone else, `/msg` reaches one client only, `status` lists the session cache, and the
/// server's operator sees everything.
#[test]
fn names_ack_delivery_private_and_status() {
    let dir = TempDir::new("room-basics");
    let (mut server, addr) = serve(dir.path(), &[]);
    let (mut ann, name) = LineClient::join(addr);
    assert_eq!(name, "Client01");
    let (mut bob, name) = LineClient::join(addr);
    assert_eq!(name, "Client02");
    ann.expect("INFO Client02 joined");

    ann.send("hello room");
    ann.expect("ACK hello room");
    bob.expect("MSG Client01 hello room");

    bob.send("/nick Bob");
    bob.expect("OK you are now Bob");
    ann.expect("INFO Client02 is now Bob");
    let (mut cat, name) = LineClient::join(addr);
    assert_eq!(name, "Client03");
    ann.expect("INFO Client03 joined");
    bob.expect("INFO Client03 joined");
    cat.send("/nick bob");
    cat.expect("ERROR the name bob is taken");
    cat.send("/nick a b");
    cat.expect("ERROR names are 1 to 16 letters, digits, _ or - (and not \"host\")");

    ann.send("/msg Bob just for you");
    ann.expect("ACK /msg Bob just for you");
    bob.expect("PRIVATE Client01 just for you");
    cat.send("sync");
    cat.expect("ACK sync"); // nothing private was queued for Cat before this
    ann.expect("MSG Client03 sync");
    ann.send("/msg Nobody hi");
    ann.expect("ERROR no client named Nobody (try status)");

    ann.send("status");
    ann.expect("STATUS 3 clients");
    let lines = [ann.line(), ann.line(), ann.line()];
    ann.expect("END");
    assert!(lines[0].starts_with("Client01 127.0.0.1:"), "{lines:?}");
    assert!(lines[0].ends_with(" messages 2"), "{lines:?}");
    assert!(lines[1].starts_with("Bob 127.0.0.1:"), "{lines:?}");
    assert!(lines[1].ends_with(" messages 0"), "{lines:?}");
    assert!(lines[2].starts_with("Client03 127.0.0.1:"), "{lines:?}");
    assert!(lines[2].contains(" connected "), "{lines:?}");

    server.out.expect("[CHAT] Client01: hello room\n");
    server.out.expect("[CHAT] Client01 -> Bob: just for you\n");
}

/// `exit` says BYE and closes; a killed client is removed at once; both are announced to the
/// room and gone from `status`.
#[test]
fn exit_and_killed_client_are_removed() {
    let dir = TempDir::new("room-leave");
    let (mut server, addr) = serve(dir.path(), &[]);
    let (mut ann, _) = LineClient::join(addr);
    let (mut bob, _) = LineClient::join(addr);
    ann.expect("INFO Client02 joined");
    bob.send("exit");
    bob.expect("BYE Client02");
    bob.expect_closed();
    ann.expect("INFO Client02 left");

    let mut joiner = Chat::start_in(dir.path(), &["room", "join", &addr.to_string()]);
    joiner.out.expect("< WELCOME Client03\n");
    ann.expect("INFO Client03 joined");
    joiner.child.kill().unwrap();
    ann.expect("INFO Client03 left (connection lost)");
    server
        .out
        .expect("[INFO] Client03 left: closed the connection\n");
    ann.send("status");
    ann.expect("STATUS 1 client");
    assert!(ann.line().starts_with("Client01 "));
    ann.expect("END");
}

/// Beyond `--max-clients` a client is told the room is full and disconnected; the session log
/// has one JSON line per connect, disconnect and rejection.
#[test]
fn max_clients_rejection_and_session_log() {
    let dir = TempDir::new("room-full");
    let log = dir.path().join("sessions.jsonl");
    let log_arg = log.to_string_lossy().into_owned();
    let (mut server, addr) = serve(
        dir.path(),
        &["--max-clients", "2", "--session-log", &log_arg],
    );
    let (mut ann, _) = LineClient::join(addr);
    let (_bob, _) = LineClient::join(addr);
    let mut third = LineClient::connect(addr);
    third.expect("ERROR the room is full (2 clients, --max-clients 2); try again later");
    third.expect_closed();
    server.err.expect("[WARN] refused 127.0.0.1:");
    // The join client shows the refusal and exits with an error.
    let mut fourth = Chat::start_in(dir.path(), &["room", "join", &addr.to_string()]);
    assert_eq!(fourth.wait().code(), Some(1));
    assert!(
        fourth.out.text.contains("< ERROR the room is full"),
        "{}",
        fourth.out.text
    );
    assert!(
        fourth
            .err
            .text
            .contains("[ERROR] protocol error: the server said: ERROR the room is full"),
        "{}",
        fourth.err.text
    );
    server.err.expect("[WARN] refused 127.0.0.1:");
    ann.expect("INFO Client02 joined");
    ann.send("exit");
    ann.expect("BYE Client01");
    server.out.expect("[INFO] Client01 left: exit\n");

    let text = fs::read_to_string(&log).unwrap();
    let events: Vec<&str> = text
        .lines()
        .map(|line| {
            assert!(
                line.starts_with("{\"time\":") && line.ends_with('}'),
                "{line}"
            );
            let start = line.find("\"event\":\"").unwrap() + 9;
            let end = start + line[start..].find('"').unwrap();
            &line[start..end]
        })
        .collect();
    assert_eq!(
        events,
        ["connect", "connect", "reject", "reject", "disconnect"],
        "{text}"
    );
    assert!(text.contains("\"reason\":\"room full\""), "{text}");
    assert!(
        text.contains("\"name\":\"Client01\",\"reason\":\"exit\""),
        "{text}"
    );
}

/// `list`, `get` and `put` through the real join client are byte-exact: a file uploaded and
/// downloaded again is identical, with human-readable sizes in the listing; the raw `get`
/// framing is `FILE SIZE NAME`, the bytes, `DONE SHA256`.
#[test]
fn list_get_put_are_byte_exact() {
    let dir = TempDir::new("room-files");
    let repo = dir.path().join("repo");
    let mine = dir.path().join("mine");
    let downloads = dir.path().join("downloads");
    for path in [&repo, &mine, &downloads] {
        fs::create_dir(path).unwrap();
    }
    fs::write(repo.join("hello.txt"), b"hello\n").unwrap();
    let content: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|n| (n * 7 % 251) as u8)
        .collect();
    fs::write(mine.join("data.bin"), &content).unwrap();
    let repo_arg = repo.to_string_lossy().into_owned();
    let (_server, addr) = serve(dir.path(), &["--files", &repo_arg]);

    let downloads_arg = downloads.to_string_lossy().into_owned();
    let mut joiner = Chat::start_in(
        &mine,
        &[
            "room",
            "join",
            &addr.to_string(),
            "--download-dir",
            &downloads_arg,
        ],
    );
    joiner.out.expect("< WELCOME Client01\n");
    joiner.type_line("put missing.bin");
    joiner
        .err
        .expect("[ERROR] missing.bin: no such file; nothing sent\n");
    joiner.type_line("put data.bin");
    joiner.out.expect("< READY\n");
    joiner
        .out
        .expect(&format!("< SAVED data.bin 3145728 {}\n", sha_hex(&content)));
    assert_eq!(fs::read(repo.join("data.bin")).unwrap(), content);
    joiner.type_line("list");
    assert_eq!(
        joiner.out.expect("< END\n"),
        "< FILES 2\n<      3 MiB  data.bin\n<        6 B  hello.txt\n< END\n"
    );
    joiner.type_line("get data.bin");
    joiner.out.expect(&format!(
        "[SUCCESS] saved data.bin as new_data.bin (3 MiB, SHA-256 {})\n",
        sha_hex(&content)
    ));
    assert_eq!(fs::read(downloads.join("new_data.bin")).unwrap(), content);
    joiner.type_line("put data.bin");
    joiner
        .out
        .expect("< ERROR data.bin already exists; choose another name\n");
    joiner.type_line("exit");
    assert!(joiner.wait().success());

    let mut raw = LineClient::join(addr).0;
    raw.send("get hello.txt");
    raw.expect("FILE 6 hello.txt");
    assert_eq!(raw.raw(6), b"hello\n");
    raw.expect(&format!("DONE {}", sha_hex(b"hello\n")));
    raw.send("put two.txt 2");
    raw.expect("READY");
    raw.stream.write_all(b"hi").unwrap();
    raw.expect(&format!("SAVED two.txt 2 {}", sha_hex(b"hi")));
    assert_eq!(fs::read(repo.join("two.txt")).unwrap(), b"hi");
}

/// Names that leave the repository, uploads over `--max-upload` and uploads to a read-only room
/// are refused with a reason, before any file byte is sent; the connection carries on.
#[test]
fn traversal_oversize_and_read_only_refused() {
    let dir = TempDir::new("room-refuse");
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    fs::write(dir.path().join("secret.txt"), b"secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), repo.join("link.txt")).unwrap();
    let repo_arg = repo.to_string_lossy().into_owned();
    let (_server, addr) = serve(dir.path(), &["--files", &repo_arg, "--max-upload", "1K"]);
    let (mut client, _) = LineClient::join(addr);

    let plain = "is not a plain file name (no directories, no leading dot)";
    for name in ["../secret.txt", "/etc/passwd", "..\\secret.txt", ".."] {
        client.send(&format!("get {name}"));
        client.expect(&format!("ERROR {name} {plain}"));
    }
    #[cfg(unix)]
    {
        client.send("get link.txt");
        client.expect("ERROR link.txt is outside the repository");
    }
    client.send("get missing.txt");
    client.expect("ERROR no such file: missing.txt (try list)");
    client.send("put big.bin 1025");
    client.expect("ERROR big.bin is 1025 bytes; uploads are limited to 1024 bytes (--max-upload)");
    client.send("put ../up.txt 2");
    client.expect(&format!("ERROR ../up.txt {plain}"));
    client.send("list");
    client.expect("FILES 0");
    client.expect("END");
    assert_eq!(
        fs::read_dir(&repo).unwrap().count(),
        usize::from(cfg!(unix))
    );

    let (_read_only, addr) = serve(dir.path(), &["--files", &repo_arg, "--read-only"]);
    let (mut client, _) = LineClient::join(addr);
    client.send("put a.txt 1");
    client.expect("ERROR this room is read-only (--read-only): uploads are disabled");
    client.send("ping");
    client.expect("ACK ping");
}

/// Escape sequences typed by one user reach others (and the server's screen) as visible text,
/// never as control bytes; a line over 4096 bytes is refused and its sender disconnected.
#[test]
fn escape_sequences_and_long_lines() {
    let dir = TempDir::new("room-hostile");
    let (mut server, addr) = serve(dir.path(), &[]);
    let (mut evil, _) = LineClient::join(addr);
    let (mut victim, _) = LineClient::join(addr);
    evil.expect("INFO Client02 joined");
    evil.send("\x1b[2J\x1b]0;pwned\x07boom\u{9b}31m");
    evil.expect("ACK ^[[2J^[]0;pwned^Gboom\\u{9b}31m");
    victim.expect("MSG Client01 ^[[2J^[]0;pwned^Gboom\\u{9b}31m");
    server.out.expect("boom");
    assert!(!server.out.text.contains('\x1b'));

    evil.send(&"x".repeat(5000));
    evil.expect(
        "ERROR line longer than the 4096-byte limit (no newline within 4096 bytes); disconnecting",
    );
    evil.expect_closed();
    victim.expect("INFO Client01 left (connection lost)");
}

/// The operator types on the server's stdin: plain text goes to everyone, /msg to one.
#[test]
fn host_console_talks_to_clients() {
    let dir = TempDir::new("room-host");
    let (mut server, addr) = serve(dir.path(), &[]);
    let (mut ann, _) = LineClient::join(addr);
    let (mut bob, _) = LineClient::join(addr);
    ann.expect("INFO Client02 joined");
    server.type_line("welcome, both of you");
    ann.expect("HOST welcome, both of you");
    bob.expect("HOST welcome, both of you");
    server.type_line("/msg Client02 only you");
    bob.expect("PRIVATE host only you");
    server.out.expect("[INFO] sent to Client02\n");
    ann.send("sync");
    ann.expect("ACK sync");
}

/// nc joins the room like any client (skipped, visibly, where nc is missing).
#[test]
fn nc_joins_the_room() {
    let Some(nc) = find_program("nc") else {
        skip("nc_joins_the_room", "nc is not installed");
        return;
    };
    let dir = TempDir::new("room-nc");
    let (_server, addr) = serve(dir.path(), &[]);
    let (mut ann, _) = LineClient::join(addr);
    let mut child = Command::new(nc)
        .args([addr.ip().to_string(), addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "WELCOME Client02\n");
    stdin.write_all(b"hi from nc\r\n").unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ACK hi from nc\n");
    ann.expect("INFO Client02 joined");
    ann.expect("MSG Client02 hi from nc");
    stdin.write_all(b"exit\n").unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "BYE Client02\n");
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
}

/// A client that stops reading does not hold up the room: once its queue is full it is
/// disconnected, the server says why, and the others are told it left.
#[test]
fn a_client_that_stops_reading_is_disconnected() {
    let dir = TempDir::new("room-slow");
    let (mut server, addr) = serve(dir.path(), &[]);
    let (_slow, _) = LineClient::join(addr); // never reads again
    let (mut flood, _) = LineClient::join(addr);
    // The flooder reads its own ACKs on another thread, so it never becomes the slow one.
    let mut acks = flood.reader.get_ref().try_clone().unwrap();
    let drain = std::thread::spawn(move || {
        let mut sink = vec![0u8; 1 << 16];
        let mut seen = Vec::new();
        while let Ok(got) = acks.read(&mut sink) {
            if got == 0 {
                break;
            }
            seen.extend_from_slice(&sink[..got]);
            if String::from_utf8_lossy(&seen).contains("INFO Client01 left (connection lost)") {
                return true;
            }
            if seen.len() > 64 << 20 {
                break;
            }
        }
        false
    });
    let line = format!("{}\n", "x".repeat(4000));
    // 16 MB: far more than the socket buffers and the 256-line queue can hold for a client
    // that does not read.
    for _ in 0..4000 {
        if flood.stream.write_all(line.as_bytes()).is_err() {
            break;
        }
        if drain.is_finished() {
            break;
        }
    }
    server
        .err
        .expect("[WARN] disconnecting Client01: it is not reading (256 items waiting for it)\n");
    assert!(
        drain.join().unwrap(),
        "the room was not told that Client01 left"
    );
}
