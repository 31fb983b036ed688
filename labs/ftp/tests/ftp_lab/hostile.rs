//! Hostile input against `ftp-lab serve`. Each case must end in the right reply code (or a
//! logged close), nothing outside the root is read or written, and the server must go on
//! serving others. By category:
//!
//! - **oversize**: `huge_command_line_is_refused` (a 100 KB line),
//!   `endless_line_closes_the_connection` (a megabyte without a newline),
//!   `random_lines_get_one_reply_each` (lines up to 6,000 bytes). There is no upload quota: the
//!   disk limit is answered with `452` (unit test in `server::transfer`).
//! - **slow**: `slow_clients_one_byte_at_a_time` (a command byte by byte, an upload trickling in
//!   slower than the server's data-socket waits).
//! - **silent**: `idle_control_connection_is_closed`,
//!   `data_connection_that_never_arrives_times_out`, `stalled_data_connection_times_out` (a STOR
//!   that sends nothing), `abort_is_answered_while_waiting_for_the_data_connection`.
//! - **non-reading**: `stalled_data_connection_times_out` (a RETR nobody reads),
//!   `abort_is_answered_while_the_data_connection_is_stalled`,
//!   `client_that_never_reads_replies_is_dropped` (the control connection).
//! - **vanishing**: `client_killed_mid_upload_keeps_the_old_file` (FIN and RST),
//!   `client_vanishing_mid_download_is_noticed` (and the `interop` module kills a real ftplib).
//! - **flooding**: `floods_of_connections_and_commands`, `random_lines_get_one_reply_each`.
//! - **path tricks**: `traversal_attempts_stay_inside_the_root`,
//!   `symlinks_pointing_out_are_refused`, `links_out_of_the_root_are_refused_by_every_path_command`
//!   (APPE, REST + STOR, RNTO...), `port_bounce_is_refused`,
//!   `data_connection_from_another_address_is_refused`.
//! - **control bytes**: `control_characters_in_names_are_refused_and_never_listed`,
//!   `control_bytes_in_commands`.
//! - **resource exhaustion and guessing**: `connection_limits`,
//!   `floods_of_connections_and_commands`, `failed_logins_are_slowed_then_refused`,
//!   `anonymous_login_does_not_reset_the_lockout`.
//! - **order and permission**: `commands_before_login_are_refused`, `anonymous_cannot_write`,
//!   `no_anonymous`.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::{Ftp, World, pattern};

/// Another client can still log in and download: the server survived whatever came before.
fn assert_still_serving(world: &World) {
    let mut ftp = world.anonymous();
    assert_eq!(ftp.retr("hello.txt"), b"hello, ftp\n");
}

/// `..`, absolute paths, encoded forms and backslashes never reach the secret next to the root.
#[test]
fn traversal_attempts_stay_inside_the_root() {
    let world = World::start(&[]);
    let mut ftp = world.writer();
    for path in [
        "../outside/secret.txt",
        "../../../../../../outside/secret.txt",
        "docs/../../outside/secret.txt",
        "/../outside/secret.txt",
        "%2e%2e/outside/secret.txt",
        "%2e%2e%2foutside%2fsecret.txt",
        "..%2f..%2foutside/secret.txt",
    ] {
        ftp.expect(&format!("SIZE {path}"), 550);
        let data = ftp.passive();
        ftp.expect(&format!("RETR {path}"), 550);
        drop(data);
    }
    ftp.expect("SIZE ..\\outside\\secret.txt", 553);
    ftp.expect("CWD ../../..", 250);
    assert_eq!(ftp.expect("PWD", 257), "\"/\" is the current directory.");
    // Writing with `..` lands inside the root too.
    ftp.stor("../../escaped.txt", b"x");
    assert!(world.root().join("escaped.txt").exists());
    assert!(!world.base.join("escaped.txt").exists());
    ftp.expect("DELE ../outside/secret.txt", 550);
    ftp.expect("MKD /../../made", 257);
    assert!(world.root().join("made").is_dir());
    assert_eq!(
        std::fs::read(world.base.join("outside/secret.txt")).unwrap(),
        b"TOP SECRET\n"
    );
    assert_still_serving(&world);
}

/// Symbolic links inside the root that point out of it are refused for reading, listing,
/// entering and writing through, and are not listed.
#[cfg(unix)]
#[test]
fn symlinks_pointing_out_are_refused() {
    let world = World::start(&[]);
    let outside = world.base.join("outside");
    std::os::unix::fs::symlink(&outside, world.root().join("escape")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret.txt"),
        world.root().join("secret-link.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        world.root().join("hello.txt"),
        world.root().join("inside-link"),
    )
    .unwrap();
    let mut ftp = world.writer();
    ftp.expect("SIZE secret-link.txt", 550);
    ftp.expect("SIZE escape/secret.txt", 550);
    ftp.expect("CWD escape", 550);
    let data = ftp.passive();
    ftp.expect("RETR escape/secret.txt", 550);
    drop(data);
    let data = ftp.passive();
    ftp.expect("STOR escape/planted.txt", 550);
    drop(data);
    ftp.expect("DELE escape/secret.txt", 550);
    ftp.expect("MKD escape/newdir", 550);
    // A link that stays inside is fine.
    assert_eq!(ftp.retr("inside-link"), b"hello, ftp\n");
    let names = ftp.listing("NLST");
    assert_eq!(names, "docs\r\nhello.txt\r\ninside-link\r\n");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "something was written outside the root"
    );
    assert_still_serving(&world);
}

/// The FTP bounce attack: PORT/EPRT to another address or to a privileged port get 504.
#[test]
fn port_bounce_is_refused() {
    let mut world = World::start(&[]);
    let mut ftp = world.anonymous();
    ftp.expect("PORT 10,0,0,1,195,80", 504);
    world
        .server
        .wait_for(|line| line.contains("refused PORT to 10.0.0.1:50000"));
    ftp.expect("PORT 127,0,0,1,0,25", 504);
    ftp.expect("EPRT |1|192.0.2.7|5000|", 504);
    ftp.expect("EPRT |2|::1|5000|", 504);
    ftp.expect("EPRT |1|127.0.0.1|22|", 504);
    // Nothing was set up: a transfer now has no data connection.
    ftp.expect("RETR hello.txt", 425);
    assert_still_serving(&world);
}

/// A passive data connection from another address is closed and logged; the real client's
/// connection is still accepted afterwards (Linux: 127.0.0.2 is another loopback address).
#[cfg(target_os = "linux")]
#[test]
fn data_connection_from_another_address_is_refused() {
    use std::io::Read;
    let mut world = World::start(&[]);
    let mut ftp = world.anonymous();
    let text = ftp.expect("EPSV", 229);
    let port: u16 = text.split('|').nth(3).unwrap().parse().unwrap();
    let intruder =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    intruder
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 2], 0)).into())
        .unwrap();
    intruder
        .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap();
    ftp.expect("RETR hello.txt", 150);
    world
        .server
        .wait_for(|line| line.contains("refused a data connection from 127.0.0.2"));
    let mut intruder: TcpStream = intruder.into();
    intruder
        .set_read_timeout(Some(crate::util::PATIENCE))
        .unwrap();
    let mut stolen = Vec::new();
    let _ = intruder.read_to_end(&mut stolen);
    assert!(stolen.is_empty(), "the intruder received {stolen:?}");

    let mut data = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(ftp.reply().0, 226);
    assert_eq!(got, b"hello, ftp\n");
}

/// A 100 KB command line gets 500 without being stored, and the session continues.
#[test]
fn huge_command_line_is_refused() {
    let mut world = World::start(&[]);
    let mut ftp = world.anonymous();
    let mut line = b"RETR ".to_vec();
    line.extend(std::iter::repeat_n(b'a', 100 * 1024));
    line.extend(b"\r\n");
    ftp.stream.write_all(&line).unwrap();
    let (code, text) = ftp.reply();
    assert_eq!(
        (code, text.as_str()),
        (
            500,
            "Command line too long (102405 bytes; the limit is 4096)."
        )
    );
    world
        .server
        .wait_for(|line| line.contains("command line of 102405 bytes refused"));
    ftp.expect("NOOP", 200);
    assert_still_serving(&world);
}

/// Before login everything but the login commands gets 530 (unknown verbs 502).
#[test]
fn commands_before_login_are_refused() {
    let world = World::start(&[]);
    let mut ftp = Ftp::connect(world.addr());
    for line in [
        "LIST",
        "RETR hello.txt",
        "STOR x",
        "PASV",
        "EPSV",
        "PORT 127,0,0,1,200,0",
        "CWD docs",
        "PWD",
        "DELE hello.txt",
        "SIZE hello.txt",
        "MKD x",
    ] {
        ftp.expect(line, 530);
    }
    ftp.expect("BLAH", 502);
    ftp.expect("NOOP", 200);
    ftp.expect("SYST", 215);
    ftp.expect("FEAT", 211);
    ftp.login("anonymous", "x@y");
    ftp.expect("PWD", 257);
}

/// Anonymous logins are read-only: every write is refused with 550 and changes nothing.
#[test]
fn anonymous_cannot_write() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    for line in [
        "STOR new.txt",
        "APPE hello.txt",
        "STOR hello.txt",
        "DELE hello.txt",
        "MKD newdir",
        "RMD docs",
        "RNFR hello.txt",
    ] {
        let data = ftp.passive();
        let (code, text) = ftp.cmd(line);
        assert_eq!(code, 550, "{line}: {text}");
        assert_eq!(text, "Permission denied: anonymous login is read-only.");
        drop(data);
    }
    assert_eq!(world.names_in(""), ["docs", "hello.txt"]);
    assert_eq!(
        std::fs::read(world.root().join("hello.txt")).unwrap(),
        b"hello, ftp\n"
    );
}

/// `--no-anonymous` turns anonymous off; named accounts still work.
#[test]
fn no_anonymous() {
    let world = World::start(&["--no-anonymous"]);
    let mut ftp = Ftp::connect(world.addr());
    ftp.expect("USER anonymous", 530);
    ftp.login(crate::util::USER, crate::util::PASSWORD);
}

/// A client that dies mid-STOR (its kernel closes the control connection, then the data
/// connection) leaves the old file intact and no partial file; the same when the data
/// connection is reset.
#[test]
fn client_killed_mid_upload_keeps_the_old_file() {
    let mut world = World::start(&[]);
    std::fs::write(world.root().join("keep.txt"), b"old content").unwrap();
    for reset in [false, true] {
        let mut ftp = world.writer();
        let data = ftp.passive();
        ftp.expect("STOR keep.txt", 150);
        let mut data_writer = &data;
        data_writer.write_all(&pattern(1 << 20)).unwrap();
        if reset {
            // SO_LINGER 0: close with RST instead of FIN, as a crashed host's stack might.
            socket2::SockRef::from(&data)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(data);
            drop(ftp);
        } else {
            drop(ftp);
            drop(data);
        }
        world.server.wait_for(|line| {
            line.contains("STOR /keep.txt failed") && line.contains("partial upload was discarded")
        });
        assert_eq!(
            std::fs::read(world.root().join("keep.txt")).unwrap(),
            b"old content"
        );
        assert_eq!(
            world.names_in(""),
            ["docs", "hello.txt", "keep.txt"],
            "reset: {reset}"
        );
    }
    assert_still_serving(&world);
}

/// A client that announces a transfer but never opens the data connection gets 425 after
/// `--data-timeout`, and its session goes on.
#[test]
fn data_connection_that_never_arrives_times_out() {
    let world = World::start(&["--data-timeout", "1"]);
    for verb in ["EPSV", "PORT"] {
        let mut ftp = world.anonymous();
        // Passive: the client never connects, and the server gives up after the timeout.
        // Active: the client's port is closed; the server's connect fails, also with 425.
        let started = Instant::now();
        if verb == "EPSV" {
            ftp.expect("EPSV", 229);
            ftp.expect("RETR hello.txt", 150);
            let (code, text) = ftp.reply();
            assert_eq!(
                (code, text.as_str()),
                (
                    425,
                    "No data connection within 1 s (--data-timeout); transfer cancelled."
                )
            );
            assert!(started.elapsed() >= Duration::from_secs(1));
        } else {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = probe.local_addr().unwrap().port();
            drop(probe);
            ftp.expect(
                &format!("PORT 127,0,0,1,{},{}", port / 256, port % 256),
                200,
            );
            ftp.expect("RETR hello.txt", 150);
            let (code, text) = ftp.reply();
            assert_eq!(code, 425, "{text}");
        }
        ftp.expect("NOOP", 200);
        assert_eq!(ftp.retr("hello.txt"), b"hello, ftp\n");
    }
    assert_still_serving(&world);
}

/// Wrong passwords are answered slower and slower; the third on one connection closes it with
/// 421. Unknown users get the same 530 as wrong passwords.
#[test]
fn failed_logins_are_slowed_then_refused() {
    let world = World::start(&[]);
    let mut ftp = Ftp::connect(world.addr());
    let started = Instant::now();
    ftp.expect("USER alice", 331);
    ftp.expect("PASS wrong", 530);
    ftp.expect("USER nobody", 331);
    assert_eq!(ftp.expect("PASS s3cret", 530), "Login incorrect.");
    ftp.expect("USER alice", 331);
    ftp.expect("PASS wrong again", 421);
    ftp.expect_closed();
    // 250 ms + 500 ms + 1 s of deliberate delay.
    assert!(
        started.elapsed() >= Duration::from_millis(1750),
        "{:?}",
        started.elapsed()
    );
    let mut ftp = Ftp::connect(world.addr());
    ftp.login(crate::util::USER, crate::util::PASSWORD);
}

/// `--max-clients` and `--max-per-ip`: the client over the limit gets 421 and is closed; the
/// others are unaffected, and a freed slot is usable again.
#[test]
fn connection_limits() {
    let world = World::start(&["--max-clients", "2"]);
    let first = world.anonymous();
    let mut second = world.anonymous();
    let mut third = Ftp::connect_raw(world.addr());
    let (code, text) = third.reply();
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("--max-clients 2"), "{text}");
    third.expect_closed();
    second.expect("NOOP", 200);
    drop(first);
    // The slot frees when the server notices the close; retry until it has.
    let deadline = Instant::now() + crate::util::PATIENCE;
    loop {
        let mut next = Ftp::connect_raw(world.addr());
        if next.reply().0 == 220 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never freed");
    }

    let world = World::start(&["--max-per-ip", "1"]);
    let mut only = world.anonymous();
    let mut extra = Ftp::connect_raw(world.addr());
    let (code, text) = extra.reply();
    assert_eq!(code, 421);
    assert!(text.contains("--max-per-ip"), "{text}");
    only.expect("NOOP", 200);
}

/// A control connection that stays silent past `--idle-timeout` is told why and closed.
#[test]
fn idle_control_connection_is_closed() {
    let world = World::start(&["--idle-timeout", "1"]);
    let mut ftp = world.anonymous();
    let started = Instant::now();
    let (code, text) = ftp.reply();
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("--idle-timeout"), "{text}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    ftp.expect_closed();
}

/// Random bytes as command lines (a fixed seed, so every run sends the same bytes): each line
/// gets exactly one reply, the connection stays open, and NOOP still works afterwards.
#[test]
fn random_lines_get_one_reply_each() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64: a tiny deterministic generator, enough to produce varied junk.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut sent = Vec::new();
    for _ in 0..300 {
        let length = (next() % 6000) as usize;
        let mut line: Vec<u8> = (0..length)
            .map(|_| next() as u8)
            .filter(|&byte| byte != b'\n')
            .collect();
        line.extend(b"\r\n");
        sent.extend(line);
    }
    let lines = sent.iter().filter(|&&byte| byte == b'\n').count();
    ftp.stream.write_all(&sent).unwrap();
    for index in 0..lines {
        let (code, text) = ftp.reply();
        assert!(
            [500, 501, 502, 530].contains(&code) || code / 100 == 2,
            "line {index}: {code} {text}"
        );
    }
    ftp.expect("NOOP", 200);
    assert_still_serving(&world);
}

/// Issue 14, item 1: the upload paths that read the old file (APPE, REST + STOR) and every other
/// path command refuse a symbolic link that leads outside the root, before any `150`; nothing
/// outside is read into the root, written, moved or deleted. A link that stays inside still works.
#[cfg(unix)]
#[test]
fn links_out_of_the_root_are_refused_by_every_path_command() {
    use std::os::unix::fs::symlink;
    let world = World::start(&[]);
    let root = world.root();
    let outside = world.base.join("outside");
    std::fs::write(outside.join("hostname"), b"outside-host\n").unwrap();
    symlink(outside.join("secret.txt"), root.join("sec.txt")).unwrap();
    symlink(outside.join("hostname"), root.join("host.txt")).unwrap();
    symlink(&outside, root.join("escape")).unwrap();
    symlink(root.join("hello.txt"), root.join("inside-link")).unwrap();
    let refused = |name: &str| {
        format!("{name}: permission denied: that path leads outside the served directory.")
    };
    let mut ftp = world.writer();

    let data = ftp.passive();
    assert_eq!(ftp.expect("APPE sec.txt", 550), refused("sec.txt"));
    drop(data);
    ftp.expect("REST 2", 350);
    let data = ftp.passive();
    assert_eq!(ftp.expect("STOR host.txt", 550), refused("host.txt"));
    drop(data);
    let data = ftp.passive();
    ftp.expect("STOR sec.txt", 550);
    drop(data);
    for line in [
        "RETR sec.txt",
        "LIST escape",
        "NLST escape",
        "MLSD escape",
        "LIST sec.txt",
    ] {
        let data = ftp.passive();
        ftp.expect(line, 550);
        drop(data);
    }
    for line in [
        "SIZE sec.txt",
        "MDTM sec.txt",
        "STAT sec.txt",
        "MLST sec.txt",
        "DELE sec.txt",
        "RNFR sec.txt",
        "CWD escape",
        "MKD escape/made",
        "RMD escape/made",
        "RMD escape",
        "DELE escape",
        "RNFR escape",
    ] {
        ftp.expect(line, 550);
    }
    ftp.expect("RNFR hello.txt", 350);
    assert_eq!(ftp.expect("RNTO sec.txt", 550), refused("sec.txt"));

    // Nothing changed on either side of the root.
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).unwrap(),
        b"TOP SECRET\n"
    );
    assert_eq!(
        std::fs::read(outside.join("hostname")).unwrap(),
        b"outside-host\n"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 2);
    for link in ["sec.txt", "host.txt", "escape"] {
        assert!(root.join(link).is_symlink(), "{link} was replaced");
    }
    assert_eq!(
        std::fs::read(root.join("hello.txt")).unwrap(),
        b"hello, ftp\n"
    );

    // A link that stays inside: APPE keeps the file it leads to, then appends.
    let mut data = ftp.passive();
    ftp.expect("APPE inside-link", 150);
    data.write_all(b"more\n").unwrap();
    drop(data);
    assert_eq!(ftp.reply().0, 226);
    assert_eq!(ftp.retr("inside-link"), b"hello, ftp\nmore\n");
    assert_still_serving(&world);
}

/// Issue 14, item 3: names with control characters (ESC, BEL, NUL, C1, bidi controls) are
/// refused with 553 by every command that creates a name, nothing is created, replies never
/// carry the raw characters, and names some other program put on disk are left out of LIST,
/// NLST and MLSD.
#[test]
fn control_characters_in_names_are_refused_and_never_listed() {
    let world = World::start(&[]);
    let mut ftp = world.writer();
    let (code, text) = ftp.cmd("MKD a\u{1b}[2Jb");
    assert_eq!(
        (code, text.as_str()),
        (
            553,
            "a?[2Jb: file name not allowed: it contains the control character U+001B."
        )
    );
    ftp.expect("MKD a\u{2066}b", 553);
    ftp.expect("MKD nul\0byte", 553);
    for line in [
        "STOR x\u{202e}txt.exe",
        "APPE bell\u{7}.txt",
        "STOR docs/c1\u{9b}31m.txt",
    ] {
        let data = ftp.passive();
        let (code, text) = ftp.cmd(line);
        assert_eq!(code, 553, "{line:?}: {text}");
        assert!(text.contains("control character"), "{line:?}: {text}");
        drop(data);
    }
    ftp.expect("RNFR hello.txt", 350);
    let text = ftp.expect("RNTO evil\u{7f}.txt", 553);
    assert_eq!(
        text,
        "evil?.txt: file name not allowed: it contains the control character U+007F."
    );
    assert_eq!(world.names_in(""), ["docs", "hello.txt"]);
    assert_eq!(world.names_in("docs"), ["notes.txt"]);
    // A user name is echoed in the 331: its controls are not.
    let mut other = Ftp::connect(world.addr());
    let text = other.expect("USER a\u{1b}]0;owned\u{7}\u{202e}b", 331);
    assert_eq!(text, "Password required for a?]0;owned??b.");

    // Names made on disk by other means: listings skip them.
    std::fs::write(world.root().join("clear\u{1b}[2J.txt"), b"x").unwrap();
    std::fs::write(world.root().join("rlo\u{202e}fdp.exe"), b"x").unwrap();
    std::fs::create_dir(world.root().join("c1\u{85}dir")).unwrap();
    assert_eq!(ftp.listing("NLST"), "docs\r\nhello.txt\r\n");
    for line in ["LIST", "MLSD", "LIST -la"] {
        let listing = ftp.listing(line);
        assert_eq!(listing.lines().count(), 2, "{line}: {listing:?}");
        assert!(
            !listing
                .chars()
                .any(|c| c.is_control() && c != '\r' && c != '\n'),
            "{line}: {listing:?}"
        );
        assert!(!listing.contains('\u{202e}'), "{line}: {listing:?}");
    }
    let status = ftp.expect("STAT .", 213);
    assert!(
        !status.contains('\u{1b}') && !status.contains('\u{202e}'),
        "{status:?}"
    );
    // And they cannot be named either.
    ftp.expect("SIZE clear\u{1b}[2J.txt", 553);
    assert_still_serving(&world);
}

/// Issue 14, item 2: an anonymous login between wrong passwords does not reset alice's failure
/// count: nine failures, anonymous, a tenth failure, and then even the right password gets 421.
/// (The failures run on parallel connections so their growing delays overlap.)
#[test]
fn anonymous_login_does_not_reset_the_lockout() {
    let world = World::start(&["--max-per-ip", "16"]);
    let wrong_password = |count: usize| {
        let mut guessers: Vec<Ftp> = (0..count).map(|_| Ftp::connect(world.addr())).collect();
        for guesser in &mut guessers {
            guesser.send("USER alice");
            guesser.send("PASS wrong");
        }
        for guesser in &mut guessers {
            assert_eq!(guesser.reply().0, 331);
            assert_eq!(guesser.reply(), (530, "Login incorrect.".to_string()));
        }
    };
    wrong_password(9);
    let mut anonymous = world.anonymous();
    anonymous.expect("NOOP", 200);
    wrong_password(1);
    let mut ftp = Ftp::connect(world.addr());
    ftp.expect("USER alice", 331);
    let (code, text) = ftp.cmd(&format!("PASS {}", crate::util::PASSWORD));
    assert_eq!(
        (code, text.as_str()),
        (
            421,
            "Too many failed logins from your address; try again in 10 minutes."
        )
    );
    ftp.expect_closed();
    // Anonymous (another account) still gets in from that address.
    let mut other = world.anonymous();
    other.expect("PWD", 257);
}

/// Issue 14, item 4: ABOR is answered (426 for the transfer, then 226) within 2 s while the data
/// connection is stalled: a STOR whose client sends nothing, and a RETR whose client never
/// reads. `--data-timeout` is 30 s, so only watching the control connection during the wait can
/// answer in time. The old file survives the aborted STOR.
#[test]
fn abort_is_answered_while_the_data_connection_is_stalled() {
    let world = World::start(&["--data-timeout", "30"]);
    std::fs::write(world.root().join("large.bin"), pattern(64 << 20)).unwrap();
    std::fs::write(world.root().join("keep.txt"), b"old").unwrap();
    let bound = Duration::from_secs(2);
    let mut ftp = world.writer();
    for (line, what) in [
        ("STOR keep.txt", "silent STOR"),
        ("RETR large.bin", "unread RETR"),
    ] {
        let data = ftp.passive();
        ftp.expect(line, 150);
        let started = Instant::now();
        ftp.send("ABOR");
        assert_eq!(
            ftp.reply(),
            (426, "Transfer aborted.".to_string()),
            "{what}"
        );
        let (code, text) = ftp.reply();
        let elapsed = started.elapsed();
        assert_eq!(code, 226, "{what}: {text}");
        eprintln!("{what}: 426 and 226 after ABOR in {elapsed:?}");
        assert!(elapsed < bound, "{what}: ABOR answered after {elapsed:?}");
        drop(data);
        ftp.expect("NOOP", 200);
    }
    assert_eq!(
        std::fs::read(world.root().join("keep.txt")).unwrap(),
        b"old"
    );
    assert_eq!(
        world.names_in(""),
        ["docs", "hello.txt", "keep.txt", "large.bin"]
    );
    assert_still_serving(&world);
}

/// ABOR sent after the `150` while the server waits for a passive data connection that never
/// comes is answered (426, then 226) within 2 s, not after `--data-timeout` (30 s).
#[test]
fn abort_is_answered_while_waiting_for_the_data_connection() {
    let world = World::start(&["--data-timeout", "30"]);
    let mut ftp = world.anonymous();
    ftp.expect("EPSV", 229);
    ftp.expect("RETR hello.txt", 150);
    let started = Instant::now();
    ftp.send("ABOR");
    assert_eq!(ftp.reply(), (426, "Transfer aborted.".to_string()));
    assert_eq!(ftp.reply().0, 226);
    let elapsed = started.elapsed();
    eprintln!("no data connection: 426 and 226 after ABOR in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(ftp.retr("hello.txt"), b"hello, ftp\n");
}

/// Silent and non-reading data connections: a STOR whose client sends nothing and a RETR whose
/// client never reads both end with 426 after `--data-timeout` (1 s) without progress, however
/// short the server's waits on the data socket are; the session goes on.
#[test]
fn stalled_data_connection_times_out() {
    let world = World::start(&["--data-timeout", "1"]);
    std::fs::write(world.root().join("large.bin"), pattern(64 << 20)).unwrap();
    let mut ftp = world.writer();
    for line in ["STOR silent.txt", "RETR large.bin"] {
        let data = ftp.passive();
        ftp.expect(line, 150);
        let started = Instant::now();
        let (code, text) = ftp.reply();
        assert_eq!(
            (code, text.as_str()),
            (
                426,
                "Data connection idle too long (--data-timeout); transfer aborted."
            ),
            "{line}"
        );
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(900), "{line}: {elapsed:?}");
        drop(data);
        ftp.expect("NOOP", 200);
    }
    assert_eq!(world.names_in(""), ["docs", "hello.txt", "large.bin"]);
    assert_still_serving(&world);
}

/// Slow clients: a command sent one byte at a time is read whole, and an upload that trickles
/// in one byte every 300 ms (longer than the server's 100 ms waits on the data socket, shorter
/// than `--data-timeout`, and 1.5 s in all) arrives complete.
#[test]
fn slow_clients_one_byte_at_a_time() {
    let world = World::start(&["--data-timeout", "1"]);
    let mut ftp = world.writer();
    ftp.stream.set_nodelay(true).unwrap();
    for byte in b"NOOP\r\n" {
        ftp.stream.write_all(&[*byte]).unwrap();
        std::thread::sleep(Duration::from_millis(20)); // the slowness under test
    }
    assert_eq!(ftp.reply().0, 200);
    let mut data = ftp.passive();
    data.set_nodelay(true).unwrap();
    ftp.expect("STOR slow.txt", 150);
    for byte in b"slow!" {
        data.write_all(&[*byte]).unwrap();
        std::thread::sleep(Duration::from_millis(300)); // the slowness under test
    }
    drop(data);
    assert_eq!(ftp.reply().0, 226);
    assert_eq!(
        std::fs::read(world.root().join("slow.txt")).unwrap(),
        b"slow!"
    );
}

/// A client that vanishes in the middle of a download its data connection is not reading:
/// the server notices the closed control connection without waiting for `--data-timeout`
/// (30 s), logs it, and serves others.
#[test]
fn client_vanishing_mid_download_is_noticed() {
    let mut world = World::start(&["--data-timeout", "30"]);
    std::fs::write(world.root().join("large.bin"), pattern(64 << 20)).unwrap();
    let mut ftp = world.anonymous();
    let data = ftp.passive();
    ftp.expect("RETR large.bin", 150);
    let started = Instant::now();
    drop(ftp);
    world.server.wait_for(|line| {
        line.contains("RETR /large.bin failed: the client closed the control connection")
    });
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    drop(data);
    assert_still_serving(&world);
}

/// A line of a megabyte without a newline: 421 and the connection is closed (the limit on
/// what is discarded); the server goes on.
#[test]
fn endless_line_closes_the_connection() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    let junk = vec![b'x'; (1 << 20) + 8192];
    // The server may close before reading everything: a failed write is fine.
    let _ = ftp.stream.write_all(&junk);
    let (code, text) = ftp.reply();
    assert_eq!(
        (code, text.as_str()),
        (421, "No end of line in a megabyte of input; closing.")
    );
    assert_still_serving(&world);
}

/// Flooding: 40 connections at once from one address get 8 sessions (`--max-per-ip` default)
/// and 32 refusals with 421; 2,000 pipelined commands on one connection get 2,000 replies in
/// order; afterwards the server serves as before.
#[test]
fn floods_of_connections_and_commands() {
    let world = World::start(&[]);
    let mut flood: Vec<Ftp> = (0..40).map(|_| Ftp::connect_raw(world.addr())).collect();
    let codes: Vec<u16> = flood.iter_mut().map(|ftp| ftp.reply().0).collect();
    assert_eq!(
        codes.iter().filter(|&&code| code == 220).count(),
        8,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|&&code| code == 421).count(),
        32,
        "{codes:?}"
    );
    drop(flood);

    // The slots free when the server notices the closes; retry until it has.
    let deadline = Instant::now() + crate::util::PATIENCE;
    let mut ftp = loop {
        let mut next = Ftp::connect_raw(world.addr());
        if next.reply().0 == 220 {
            break next;
        }
        assert!(Instant::now() < deadline, "the slots were never freed");
    };
    let mut lines = Vec::new();
    for index in 0..2000 {
        lines.extend(if index % 2 == 0 {
            &b"NOOP\r\n"[..]
        } else {
            b"SYST\r\n"
        });
    }
    ftp.stream.write_all(&lines).unwrap();
    for index in 0..2000 {
        let expected = if index % 2 == 0 { 200 } else { 215 };
        assert_eq!(ftp.reply().0, expected, "reply {index}");
    }
    ftp.login("anonymous", "x@y");
    assert_eq!(ftp.retr("hello.txt"), b"hello, ftp\n");
}

/// Control bytes in commands: a verb with ESC, NUL or a bidi control is not a command (500),
/// a Telnet IP+Synch before a verb is dropped, and the replies carry no raw control byte.
#[test]
fn control_bytes_in_commands() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    for line in [
        &b"\x1b[2JNOOP\r\n"[..],
        b"NO\0OP\r\n",
        b"\xe2\x80\xaeNOOP\r\n",
        b"NOOP\x07\r\n",
    ] {
        ftp.stream.write_all(line).unwrap();
        assert_eq!(
            ftp.reply(),
            (500, "Syntax error, command unrecognized.".to_string()),
            "{line:?}"
        );
    }
    ftp.stream.write_all(b"\xff\xf4\xff\xf2NOOP\r\n").unwrap();
    assert_eq!(ftp.reply().0, 200);
    let (code, text) = ftp.cmd("CWD \u{1b}]0;title\u{7}");
    assert_eq!(code, 553, "{text}");
    assert!(!text.chars().any(char::is_control), "{text:?}");
    ftp.expect("NOOP", 200);
}

/// A client that floods commands and never reads the replies is dropped once the replies have
/// waited `--idle-timeout` (1 s) to be sent; its thread does not block forever, and the server
/// serves others.
#[test]
fn client_that_never_reads_replies_is_dropped() {
    let mut world = World::start(&["--idle-timeout", "1"]);
    let ftp = world.anonymous();
    let flood = b"HELP\r\n".repeat(200_000);
    let mut writer = ftp.stream.try_clone().unwrap();
    // The writes stall too once the server stops reading; they fail when it drops us.
    let flooder = std::thread::spawn(move || {
        let _ = writer.write_all(&flood);
    });
    world.server.wait_for(|line| {
        line.contains("dropped: timed out") && line.contains("while sending a reply")
    });
    let _ = ftp.stream.shutdown(std::net::Shutdown::Both);
    flooder.join().unwrap();
    assert_still_serving(&world);
}
