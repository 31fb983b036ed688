//! Integration tests of `ftp-lab serve` over real sockets on 127.0.0.1, port 0: the protocol
//! dialogue, exact reply codes, and uploads that never lose data.
//!
//! A raw client (`util::Ftp`) sends exact command lines, so what is tested is what any FTP client
//! would see. Hostile input has its own module, `hostile`.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::util::{Ftp, World, pattern};

/// Login, the informational commands clients send first, and QUIT.
#[test]
fn login_and_session_basics() {
    let world = World::start(&[]);
    let mut ftp = Ftp::connect(world.addr());
    ftp.expect("USER anonymous", 331);
    ftp.expect("PASS me@example.org", 230);
    assert_eq!(ftp.expect("SYST", 215), "UNIX Type: L8");
    let features = ftp.expect("FEAT", 211);
    for feature in [
        "EPSV",
        "EPRT",
        "MDTM",
        "SIZE",
        "REST STREAM",
        "UTF8",
        "MLST type*",
    ] {
        assert!(features.contains(feature), "{feature} in {features}");
    }
    ftp.expect("OPTS UTF8 ON", 200);
    assert_eq!(ftp.expect("PWD", 257), "\"/\" is the current directory.");
    ftp.expect("NOOP", 200);
    assert!(ftp.expect("HELP", 214).contains("RETR"));
    ftp.expect("QUIT", 221);
    ftp.expect_closed();
}

/// Directory navigation; `..` at the root stays at the root.
#[test]
fn directories() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    ftp.expect("CWD docs", 250);
    assert_eq!(
        ftp.expect("PWD", 257),
        "\"/docs\" is the current directory."
    );
    ftp.expect("CDUP", 200);
    ftp.expect("CDUP", 200);
    assert_eq!(ftp.expect("PWD", 257), "\"/\" is the current directory.");
    ftp.expect("CWD hello.txt", 550);
    ftp.expect("CWD nowhere", 550);
    ftp.expect("CWD", 501);
}

/// LIST, NLST, MLSD and MLST show the same files in their formats.
#[test]
fn listings() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    let long = ftp.listing("LIST");
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(lines.len(), 2, "{long}");
    assert!(
        lines[0].starts_with('d') && lines[0].ends_with(" docs"),
        "{long}"
    );
    assert!(
        lines[1].starts_with("-rw") && lines[1].ends_with(" hello.txt"),
        "{long}"
    );
    assert!(long.ends_with("\r\n"));
    assert!(lines[1].contains(" 11 "), "size of hello.txt: {long}");

    assert_eq!(ftp.listing("NLST"), "docs\r\nhello.txt\r\n");
    assert_eq!(ftp.listing("LIST -la docs").lines().count(), 1);

    let facts = ftp.listing("MLSD");
    assert!(facts.contains("type=dir;"), "{facts}");
    assert!(
        facts.contains("type=file;size=11;") && facts.contains(";perm=r; hello.txt\r\n"),
        "{facts}"
    );
    let one = ftp.expect("MLST hello.txt", 250);
    assert!(one.contains("type=file;size=11;"), "{one}");
    ftp.expect("MLSD hello.txt", 501);
}

/// SIZE, MDTM and RETR of a file; REST makes RETR start later.
#[test]
fn download_size_and_restart() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    assert_eq!(ftp.expect("SIZE hello.txt", 213), "11");
    let mdtm = ftp.expect("MDTM hello.txt", 213);
    assert_eq!(mdtm.len(), 14, "{mdtm}");
    ftp.expect("SIZE docs", 550);
    ftp.expect("TYPE I", 200);
    assert_eq!(ftp.retr("hello.txt"), b"hello, ftp\n");
    assert_eq!(ftp.retr("/docs/notes.txt"), b"notes\n");
    ftp.expect("REST 7", 350);
    assert_eq!(ftp.retr("hello.txt"), b"ftp\n");
    ftp.expect("REST 99", 350);
    let data = ftp.passive();
    ftp.expect("RETR hello.txt", 554);
    drop(data);
    ftp.expect("RETR missing.txt", 550);
}

/// Uploads, replacing, appending, resuming with REST, MKD/RMD/DELE/RNFR/RNTO.
#[test]
fn writing_files() {
    let world = World::start(&[]);
    let mut ftp = world.writer();
    let big = pattern(3 << 20);
    ftp.stor("upload.bin", &big);
    assert_eq!(std::fs::read(world.root().join("upload.bin")).unwrap(), big);
    ftp.stor("upload.bin", b"replaced");
    assert_eq!(ftp.expect("SIZE upload.bin", 213), "8");

    let mut data = ftp.passive();
    ftp.expect("APPE upload.bin", 150);
    data.write_all(b"+more").unwrap();
    drop(data);
    assert_eq!(ftp.reply().0, 226);
    assert_eq!(ftp.retr("upload.bin"), b"replaced+more");

    ftp.expect("REST 3", 350);
    ftp.stor("upload.bin", b"LACED");
    assert_eq!(ftp.retr("upload.bin"), b"repLACED");

    assert_eq!(ftp.expect("MKD new dir", 257), "\"/new dir\" created.");
    ftp.expect("MKD new dir", 550);
    ftp.expect("RNFR upload.bin", 350);
    ftp.expect("RNTO new dir/moved.bin", 250);
    ftp.expect("RMD new dir", 550); // not empty
    ftp.expect("DELE new dir", 550); // a directory
    ftp.expect("DELE new dir/moved.bin", 250);
    ftp.expect("RMD new dir", 250);
    ftp.expect("DELE new dir/moved.bin", 550);
    assert_eq!(world.names_in(""), ["docs", "hello.txt"]);
}

/// Sequence rules: RNTO needs RNFR right before it; PASS needs USER; a transfer needs a data
/// connection set up first.
#[test]
fn bad_sequences_get_503_and_425() {
    let world = World::start(&[]);
    let mut ftp = Ftp::connect(world.addr());
    ftp.expect("PASS nothing", 503);
    ftp.login(crate::util::USER, crate::util::PASSWORD);
    ftp.expect("RNTO x", 503);
    ftp.expect("RNFR hello.txt", 350);
    ftp.expect("NOOP", 200);
    ftp.expect("RNTO x", 503);
    ftp.expect("RETR hello.txt", 425);
    ftp.expect("PASS again", 202);
}

/// Unknown commands get 502, junk 500, bad arguments 501 or 504; the session goes on.
#[test]
fn unknown_and_malformed_commands() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    ftp.expect("XYZZ", 502);
    ftp.expect("SITE CHMOD 777 x", 502);
    ftp.expect("", 500);
    ftp.expect("RETRIEVE x", 500);
    ftp.expect("12345", 500);
    ftp.expect("TYPE X", 504);
    ftp.expect("TYPE", 501);
    ftp.expect("MODE B", 504);
    ftp.expect("STRU R", 504);
    ftp.expect("REST -5", 501);
    ftp.expect("REST lots", 501);
    ftp.expect("PORT 1,2,3", 501);
    ftp.expect("EPRT |9|1.2.3.4|5000|", 522);
    ftp.expect("EPRT nonsense", 501);
    ftp.expect("EPSV 3", 501);
    ftp.stream.write_all(b"RETR caf\xe9\r\n").unwrap();
    assert_eq!(ftp.reply().0, 501);
    ftp.expect("noop", 200);
}

/// After EPSV ALL only EPSV may set up a data connection (RFC 2428 §3).
#[test]
fn epsv_all_locks_out_pasv_and_port() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    ftp.expect("EPSV ALL", 200);
    ftp.expect("PASV", 503);
    ftp.expect("PORT 127,0,0,1,200,0", 503);
    assert_eq!(ftp.retr("hello.txt"), b"hello, ftp\n");
}

/// PASV gives an address the client can reach; active mode (PORT and EPRT) connects to us.
#[test]
fn pasv_and_active_modes() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    let text = ftp.expect("PASV", 227);
    let numbers: Vec<u16> = text[text.find('(').unwrap() + 1..text.find(')').unwrap()]
        .split(',')
        .map(|part| part.parse().unwrap())
        .collect();
    assert_eq!(&numbers[..4], &[127, 0, 0, 1]);
    let mut data = TcpStream::connect(("127.0.0.1", numbers[4] * 256 + numbers[5])).unwrap();
    ftp.expect("RETR hello.txt", 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(ftp.reply().0, 226);
    assert_eq!(got, b"hello, ftp\n");

    for verb in ["PORT", "EPRT"] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let line = if verb == "PORT" {
            format!("PORT 127,0,0,1,{},{}", port / 256, port % 256)
        } else {
            format!("EPRT |1|127.0.0.1|{port}|")
        };
        ftp.expect(&line, 200);
        ftp.expect("RETR docs/notes.txt", 150);
        let (mut data, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        data.read_to_end(&mut got).unwrap();
        assert_eq!(ftp.reply().0, 226);
        assert_eq!(got, b"notes\n", "{verb}");
    }
}

/// A passive port is used once: after the transfer nobody can connect to it again.
#[test]
fn passive_port_accepts_only_once() {
    let world = World::start(&[]);
    let mut ftp = world.anonymous();
    let text = ftp.expect("EPSV", 229);
    let port: u16 = text.split('|').nth(3).unwrap().parse().unwrap();
    let mut data = TcpStream::connect(("127.0.0.1", port)).unwrap();
    ftp.expect("NLST", 150);
    let mut listing = String::new();
    data.read_to_string(&mut listing).unwrap();
    assert_eq!(ftp.reply().0, 226);
    let again = TcpStream::connect(("127.0.0.1", port));
    assert!(again.is_err(), "the passive port still accepts connections");
}

/// `--pasv-ports` confines passive ports to the range.
#[test]
fn passive_port_range() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let range = format!("{port}-{port}");
    let world = World::start(&["--pasv-ports", &range]);
    let mut ftp = world.anonymous();
    let text = ftp.expect("EPSV", 229);
    assert_eq!(
        text,
        format!("Entering Extended Passive Mode (|||{port}|).")
    );
    // The only port is taken by that listener: a second client is told so.
    let mut other = world.anonymous();
    other.expect("EPSV", 425);
}

/// ABOR during a large download: the transfer ends with 426, the ABOR with 226, and the
/// session goes on.
#[test]
fn abort_during_download() {
    let world = World::start(&[]);
    std::fs::write(world.root().join("large.bin"), pattern(64 << 20)).unwrap();
    let mut ftp = world.anonymous();
    let mut data = ftp.passive();
    ftp.expect("RETR large.bin", 150);
    let mut first = vec![0u8; 1 << 16];
    data.read_exact(&mut first).unwrap();
    ftp.send("ABOR");
    drop(data);
    assert_eq!(ftp.reply().0, 426);
    assert_eq!(ftp.reply().0, 226);
    ftp.expect("NOOP", 200);
}

/// ABOR during an upload: the transfer ends with 426, the ABOR with 226, the old file is
/// intact and no partial file is left.
#[test]
fn abort_during_upload_keeps_the_old_file() {
    let world = World::start(&[]);
    std::fs::write(world.root().join("keep.txt"), b"old").unwrap();
    let mut ftp = world.writer();
    let mut data = ftp.passive();
    ftp.expect("STOR keep.txt", 150);
    data.write_all(&pattern(1 << 20)).unwrap();
    ftp.send("ABOR");
    drop(data);
    assert_eq!(ftp.reply().0, 426);
    assert_eq!(ftp.reply().0, 226);
    ftp.expect("NOOP", 200);
    assert_eq!(
        std::fs::read(world.root().join("keep.txt")).unwrap(),
        b"old"
    );
    assert_eq!(world.names_in(""), ["docs", "hello.txt", "keep.txt"]);
}
