//! `scripts/capture` and the Wireshark dissectors of the TCP labs (`scripts/wireshark/*.lua`),
//! end to end: a real lab server on 127.0.0.1 port 0, `scripts/capture` (tcpdump on the loopback)
//! recording one real session, then `tshark` with the lab's dissector decoding the capture. The
//! tests assert the decoded fields (frame lengths, kinds, texts, commands, keywords), not just
//! that tshark ran, and each has one message split across two TCP segments (the dissector must
//! reassemble it) and several messages in one segment.
//!
//! One test looks at what a capture must *not* hold: FTP's password and file in the clear, then
//! hidden by FTPS (`ftps_hides_the_password_and_the_file_on_the_wire`, docs/ftp.md section 11).
//!
//! The port is random, so tshark is told which dissector to use with Decode As
//! (`-d tcp.port==PORT,PROTO`); one test uses the dissector's port preference instead.
//!
//! Capturing needs root (or CAP_NET_RAW), tcpdump and tshark: without them every test here
//! prints a `SKIPPED` line and passes. `.ci/run` installs both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use netlab_testkit::docs::workspace_root;
use netlab_testkit::{PATIENCE, ServerProcess, TempDir, find_program, skip, workspace_binary};

/// Separates the values of one field when a segment holds several messages (tshark's
/// `-E aggregator`): a byte no message in these tests contains.
const AGGREGATOR: &str = "\u{1e}";

/// Whether this machine can capture and decode; prints why not (`SKIPPED`) when it cannot.
fn can_capture(test: &str) -> bool {
    let uid = Command::new("id").arg("-u").output();
    let root = uid.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    let missing: Vec<&str> = ["tcpdump", "tshark"]
        .into_iter()
        .filter(|tool| find_program(tool).is_none())
        .collect();
    if !missing.is_empty() {
        skip(
            test,
            &format!(
                "{} not installed (apt-get install tcpdump tshark)",
                missing.join(" and ")
            ),
        );
        return false;
    }
    if !root {
        skip(test, "capturing on the loopback needs root");
        return false;
    }
    true
}

/// A running `scripts/capture PORT FILE` (until Ctrl-C form); dropping it stops the capture.
struct Capture {
    script: ServerProcess,
    file: PathBuf,
    finished: bool,
}

impl Capture {
    /// Starts capturing `port` into `file`, and returns once tcpdump listens (the script says
    /// so only after tcpdump's own "listening on" line).
    fn start(port: u16, file: &Path) -> Capture {
        let script = workspace_root().join("scripts/capture");
        let mut script = ServerProcess::interactive(
            script.to_str().unwrap(),
            &[&port.to_string(), file.to_str().unwrap()],
        );
        script.wait_for(|line| line.contains("press Ctrl-C to stop"));
        Capture {
            script,
            file: file.to_path_buf(),
            finished: false,
        }
    }

    /// Stops the capture as Ctrl-C would (SIGTERM: the script traps both) and returns the file.
    fn finish(mut self) -> PathBuf {
        self.stop();
        let saved = self
            .script
            .seen
            .iter()
            .any(|line| line.contains("TCP segments of port"));
        assert!(saved, "capture did not save: {:#?}", self.script.seen);
        // A busy machine can make the kernel drop packets tcpdump did not read in time; the
        // script says so, and the decoded fields would then be wrong for a reason to name.
        let dropped = self
            .script
            .seen
            .iter()
            .find(|line| line.contains("dropped"));
        assert!(dropped.is_none(), "{dropped:?}");
        assert!(self.file.is_file(), "no {}", self.file.display());
        self.file.clone()
    }

    fn stop(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let pid = self.script.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let code = self.script.wait_exit();
        assert_eq!(code, 0, "capture failed: {:#?}", self.script.seen);
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // Also after a failed assertion: a killed script would leave tcpdump running.
        if !self.finished && !std::thread::panicking() {
            self.stop();
        } else if !self.finished {
            self.finished = true;
            let pid = self.script.pid().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = self.script.wait_exit();
        }
    }
}

/// What tshark decoded: one row per TCP segment that holds at least one message, in capture
/// order; `columns[i]` is the i-th field asked for, with the values of several messages in one
/// segment joined by [`AGGREGATOR`].
struct Decoded {
    fields: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Runs `tshark -X lua_script:scripts/wireshark/SCRIPT -r CAPTURE` with the dissector chosen by
/// `how` (`["-d", "tcp.port==PORT,PROTO"]` or a `-o` preference), showing only segments that
/// hold `proto` messages, and the columns `tcp.srcport`, `tcp.dstport`, then `fields`.
fn decode(script: &str, how: &[&str], proto: &str, capture: &Path, fields: &[&str]) -> Decoded {
    let lua = workspace_root().join("scripts/wireshark").join(script);
    let mut command = Command::new("tshark");
    command
        .arg("-n")
        .arg("-X")
        .arg(format!("lua_script:{}", lua.display()))
        .args(how)
        .arg("-r")
        .arg(capture)
        .args(["-Y", proto, "-T", "fields", "-E", "separator=/t"])
        .args(["-E", "occurrence=a", "-E"])
        .arg(format!("aggregator={AGGREGATOR}"));
    let mut all = vec!["tcp.srcport", "tcp.dstport"];
    all.extend_from_slice(fields);
    for field in &all {
        command.args(["-e", field]);
    }
    let output = command.output().expect("run tshark");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tshark failed: {stderr}");
    // A Lua error does not fail tshark; it shows in its output instead.
    assert!(!stderr.contains("Lua"), "tshark: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("Lua Error"),
        "the dissector failed: {stdout}"
    );
    let rows = stdout
        .lines()
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect();
    Decoded {
        fields: all.iter().map(|field| field.to_string()).collect(),
        rows,
    }
}

impl Decoded {
    fn column(&self, field: &str) -> usize {
        self.fields
            .iter()
            .position(|name| name == field)
            .unwrap_or_else(|| panic!("{field} was not asked for"))
    }

    /// Every value of `field` in the messages sent from port `from` to port `to`, in order,
    /// however the messages were spread over segments.
    fn values(&self, from: u16, to: u16, field: &str) -> Vec<String> {
        let column = self.column(field);
        self.rows
            .iter()
            .filter(|row| row[0] == from.to_string() && row[1] == to.to_string())
            .filter(|row| !row[column].is_empty())
            .flat_map(|row| row[column].split(AGGREGATOR).map(str::to_owned))
            .collect()
    }

    /// The rows (segments) from `from` to `to` whose `field` holds exactly `values`: the
    /// messages that segment completed.
    fn segments_with(&self, from: u16, to: u16, field: &str, values: &[&str]) -> Vec<&Vec<String>> {
        let column = self.column(field);
        let joined = values.join(AGGREGATOR);
        self.rows
            .iter()
            .filter(|row| row[0] == from.to_string() && row[1] == to.to_string())
            .filter(|row| row[column] == joined)
            .collect()
    }

    /// The value of `field` in `row`.
    fn get<'a>(&self, row: &'a [String], field: &str) -> &'a str {
        &row[self.column(field)]
    }

    /// Asserts that exactly one segment from `from` to `to` completed just the message whose
    /// `field` is `value`, that the segment carried only `tail` bytes of it, and that TCP
    /// reassembled `total` bytes from two segments: the message was split across segments.
    fn assert_split(
        &self,
        (from, to): (u16, u16),
        field: &str,
        value: &str,
        tail: usize,
        total: usize,
    ) {
        let rows = self.segments_with(from, to, field, &[value]);
        assert_eq!(rows.len(), 1, "{value:?} in one segment: {:#?}", self.rows);
        let row = rows[0];
        assert_eq!(self.get(row, "tcp.len"), tail.to_string(), "{row:?}");
        assert_eq!(
            self.get(row, "tcp.reassembled.length"),
            total.to_string(),
            "{row:?}"
        );
        assert_eq!(self.get(row, "tcp.segment.count"), "2", "{row:?}");
    }
}

/// The fields every test asks for to check reassembly.
const SEGMENT_FIELDS: [&str; 3] = ["tcp.len", "tcp.reassembled.length", "tcp.segment.count"];

/// A plain TCP connection from the test, with Nagle's algorithm off so that each write leaves
/// as its own segment (how a test splits a message across two segments).
fn raw_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// The local port of a connection: the client's side of a conversation in the capture.
fn local_port(stream: &TcpStream) -> u16 {
    stream.local_addr().unwrap().port()
}

/// Reads length-framed messages (a 4-byte big-endian length, then the payload).
fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(prefix) as usize];
    stream.read_exact(&mut payload).unwrap();
    payload
}

/// `payload` with its 4-byte big-endian length in front.
fn framed(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// Writes `bytes` as two writes, the first `cut` bytes then the rest: two TCP segments.
fn write_split(stream: &mut TcpStream, bytes: &[u8], cut: usize) {
    stream.write_all(&bytes[..cut]).unwrap();
    stream.flush().unwrap();
    stream.write_all(&bytes[cut..]).unwrap();
}

/// A line-protocol client over a raw socket.
struct LineClient {
    stream: TcpStream,
    lines: BufReader<TcpStream>,
}

impl LineClient {
    fn connect(addr: SocketAddr) -> LineClient {
        let stream = raw_connect(addr);
        let lines = BufReader::new(stream.try_clone().unwrap());
        LineClient { stream, lines }
    }

    fn port(&self) -> u16 {
        local_port(&self.stream)
    }

    /// Reads lines until one starts with `prefix`; returns it.
    fn read_until(&mut self, prefix: &str) -> String {
        let mut seen = Vec::new();
        loop {
            let mut line = String::new();
            let read = self.lines.read_line(&mut line).unwrap();
            assert!(read > 0, "closed before {prefix:?}; got {seen:#?}");
            let line = line.trim_end_matches('\n').to_string();
            if line.starts_with(prefix) {
                return line;
            }
            seen.push(line);
        }
    }

    fn send(&mut self, bytes: &str) {
        self.stream.write_all(bytes.as_bytes()).unwrap();
    }

    fn send_split(&mut self, line: &str, cut: usize) {
        write_split(&mut self.stream, line.as_bytes(), cut);
    }
}

/// Starts `bin ARGS...` (a server or a listening chat) on port 0; returns it and its port.
fn start(bin: &Path, args: &[&str]) -> (ServerProcess, u16) {
    let server = ServerProcess::start(bin.to_str().unwrap(), args);
    let port = server.addr.port();
    (server, port)
}

/// The echo lab's length framing: every message with its length, in order, both ways; a
/// message split across two segments is reassembled, and two messages in one segment are two.
#[test]
fn echo_length_framing_decodes_a_real_session() {
    const TEST: &str = "echo_length_framing_decodes_a_real_session";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-echo-length");
    let bin = workspace_binary("tcp-echo", "tcp-echo");
    let (server, port) = start(&bin, &["serve", "--port", "0", "--framing", "length"]);
    let capture = Capture::start(port, &dir.path().join("echo.pcapng"));

    let mut client = raw_connect(server.addr);
    let client_port = local_port(&client);
    assert_eq!(read_frame(&mut client), b"WELCOME Client01");
    // "hi" cut inside its length prefix: two bytes of the prefix, then the rest.
    write_split(&mut client, &framed(b"hi"), 2);
    assert_eq!(read_frame(&mut client), b"ACK hi");
    let mut two = framed(b"one");
    two.extend_from_slice(&framed(b"exit"));
    client.write_all(&two).unwrap();
    assert_eq!(read_frame(&mut client), b"ACK one");
    assert_eq!(read_frame(&mut client), b"BYE Client01");
    assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0, "the server closes");
    let file = capture.finish();

    let decoded = decode(
        "tcp-echo.lua",
        &["-d", &format!("tcp.port=={port},netlab_echo")],
        "netlab_echo",
        &file,
        &[
            &SEGMENT_FIELDS[..],
            &[
                "netlab_echo.sender",
                "netlab_echo.length",
                "netlab_echo.message",
            ],
            &["netlab_echo.reply", "netlab_echo.framing"],
        ]
        .concat(),
    );
    let up = (client_port, port);
    let down = (port, client_port);
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_echo.message"),
        ["hi", "one", "exit"]
    );
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_echo.length"),
        ["2", "3", "4"]
    );
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_echo.sender"),
        ["client"; 3]
    );
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_echo.message"),
        ["WELCOME Client01", "ACK hi", "ACK one", "BYE Client01"]
    );
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_echo.length"),
        ["16", "6", "7", "12"]
    );
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_echo.reply"),
        ["WELCOME", "ACK", "ACK", "BYE"]
    );
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_echo.framing"),
        ["length"; 4]
    );
    // Split: the segment that completed "hi" carried 4 of its 6 bytes.
    decoded.assert_split(up, "netlab_echo.message", "hi", 4, 6);
    // Merged: one segment, two messages.
    let merged = decoded.segments_with(up.0, up.1, "netlab_echo.message", &["one", "exit"]);
    assert_eq!(merged.len(), 1, "{:#?}", decoded.rows);
    drop(server);
}

/// `scripts/capture PORT FILE -- CMD` captures while a real `tcp-echo connect` runs (line
/// framing, the lab's default), then stops by itself; the dissector reads the lines.
#[test]
fn capture_around_a_command_decodes_echo_lines() {
    const TEST: &str = "capture_around_a_command_decodes_echo_lines";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-echo-line");
    let bin = workspace_binary("tcp-echo", "tcp-echo");
    let (server, port) = start(&bin, &["serve", "--port", "0"]);
    let file = dir.path().join("echo-line.pcap");
    let script = workspace_root().join("scripts/capture");
    let addr = server.addr.to_string();
    let (code, stdout, stderr) = netlab_testkit::run_cli(
        script.to_str().unwrap(),
        &[
            &port.to_string(),
            file.to_str().unwrap(),
            "--",
            bin.to_str().unwrap(),
            "connect",
            &addr,
        ],
        b"hello\nexit\n",
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("< BYE Client01"), "{stdout}");
    assert!(
        stdout.contains(&format!("TCP segments of port {port} in ")),
        "{stdout}"
    );

    let decoded = decode(
        "tcp-echo.lua",
        &["-d", &format!("tcp.port=={port},netlab_echo")],
        "netlab_echo",
        &file,
        &[
            "netlab_echo.sender",
            "netlab_echo.message",
            "netlab_echo.framing",
        ],
    );
    let client_port = decoded.rows[0][1].parse::<u16>().unwrap();
    assert_eq!(
        decoded.values(client_port, port, "netlab_echo.message"),
        ["hello", "exit"]
    );
    assert_eq!(
        decoded.values(port, client_port, "netlab_echo.message"),
        ["WELCOME Client01", "ACK hello", "BYE Client01"]
    );
    assert_eq!(
        decoded.values(port, client_port, "netlab_echo.framing"),
        ["line"; 3]
    );
}

/// tcp-chat pair: each frame's length, kind and text, both ways; a frame split across two
/// segments and a message and a quit in one; the dissector chosen by its port preference.
#[test]
fn pair_frames_decode_with_kinds_and_texts() {
    const TEST: &str = "pair_frames_decode_with_kinds_and_texts";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-pair");
    let bin = workspace_binary("tcp-chat", "tcp-chat");
    let mut listener =
        ServerProcess::interactive(bin.to_str().unwrap(), &["pair", "--listen", "--port", "0"]);
    let line = listener.wait_for(|line| line.starts_with("listening on "));
    let addr: SocketAddr = line["listening on ".len()..].parse().unwrap();
    let port = addr.port();
    let capture = Capture::start(port, &dir.path().join("pair.pcapng"));

    let mut peer = raw_connect(addr);
    let peer_port = local_port(&peer);
    // The connecting side speaks first: "hi" (M), cut after three bytes of the length.
    write_split(&mut peer, &framed(b"Mhi"), 3);
    listener.wait_for(|line| line.contains("[CHAT] peer: hi"));
    listener.write_line("hello back");
    assert_eq!(read_frame(&mut peer), b"Mhello back");
    // "bye now" cut after six bytes; its rest and the quit frame leave in one segment, which
    // completes one reassembled frame and holds another.
    let mut last = framed(b"Mbye now");
    last.extend_from_slice(&framed(b"Q"));
    write_split(&mut peer, &last, 6);
    listener.wait_for(|line| line.contains("the peer ended the chat"));
    let file = capture.finish();

    let decoded = decode(
        "tcp-chat.lua",
        &["-o", &format!("netlab_pair.port:{port}")],
        "netlab_pair",
        &file,
        &[
            &SEGMENT_FIELDS[..],
            &[
                "netlab_pair.sender",
                "netlab_pair.length",
                "netlab_pair.kind_name",
            ],
            &["netlab_pair.text", "_ws.col.Info"],
        ]
        .concat(),
    );
    let up = (peer_port, port);
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_pair.kind_name"),
        ["message", "message", "quit"]
    );
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_pair.length"),
        ["3", "8", "1"]
    );
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_pair.text"),
        ["hi", "bye now"]
    );
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_pair.sender"),
        ["connecting side"; 3]
    );
    assert_eq!(
        decoded.values(port, peer_port, "netlab_pair.text"),
        ["hello back"]
    );
    assert_eq!(
        decoded.values(port, peer_port, "netlab_pair.length"),
        ["11"]
    );
    assert_eq!(
        decoded.values(port, peer_port, "netlab_pair.sender"),
        ["listening side"]
    );
    decoded.assert_split(up, "netlab_pair.text", "hi", 4, 7);
    let merged = decoded.segments_with(up.0, up.1, "netlab_pair.kind_name", &["message", "quit"]);
    assert_eq!(merged.len(), 1, "{:#?}", decoded.rows);
    // The Info column lists both frames of that segment, in order, with a separator.
    let info = decoded.get(merged[0], "_ws.col.Info");
    assert!(info.ends_with(" | connecting side: quit"), "{info}");
    assert_eq!(info.matches(" | ").count(), 1, "{info}");
    assert!(info.contains("bye now"), "{info}");
}

/// tcp-chat duplex: a message and a 100,000-byte file (offer, two data chunks, end) from a raw
/// peer, and the listener's result; each 64 KiB chunk spans several segments and is shown
/// whole, with its transfer id and length, and the digests on both sides agree.
#[test]
fn duplex_file_transfer_decodes_chunk_by_chunk() {
    const TEST: &str = "duplex_file_transfer_decodes_chunk_by_chunk";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-duplex");
    let download = dir.path().join("download");
    std::fs::create_dir(&download).unwrap();
    let bin = workspace_binary("tcp-chat", "tcp-chat");
    let mut listener = ServerProcess::interactive(
        bin.to_str().unwrap(),
        &[
            "duplex",
            "--listen",
            "--port",
            "0",
            "--download-dir",
            download.to_str().unwrap(),
        ],
    );
    let line = listener.wait_for(|line| line.starts_with("listening on "));
    let addr: SocketAddr = line["listening on ".len()..].parse().unwrap();
    let port = addr.port();
    let capture = Capture::start(port, &dir.path().join("duplex.pcapng"));

    let mut peer = raw_connect(addr);
    let peer_port = local_port(&peer);
    let content: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    peer.write_all(&framed(b"Mhello")).unwrap();
    let mut offer = b"F".to_vec();
    offer.extend_from_slice(&1u32.to_be_bytes());
    offer.extend_from_slice(&(content.len() as u64).to_be_bytes());
    offer.extend_from_slice(b"notes.bin");
    peer.write_all(&framed(&offer)).unwrap();
    for piece in content.chunks(65536) {
        let mut data = b"D".to_vec();
        data.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(piece);
        peer.write_all(&framed(&data)).unwrap();
    }
    listener.wait_for(|line| line.contains("receiving notes.bin"));
    let digest = sha256_of(&content, dir.path());
    let mut end = b"E".to_vec();
    end.extend_from_slice(&1u32.to_be_bytes());
    end.extend_from_slice(&digest);
    peer.write_all(&framed(&end)).unwrap();
    let result = read_frame(&mut peer);
    assert_eq!(result[0], b'R', "{result:?}");
    assert_eq!(result[5], 1, "saved intact: {result:?}");
    peer.write_all(&framed(b"Q")).unwrap();
    listener.wait_for(|line| line.contains("the peer ended the chat"));
    let file = capture.finish();

    let decoded = decode(
        "tcp-chat.lua",
        &["-d", &format!("tcp.port=={port},netlab_duplex")],
        "netlab_duplex",
        &file,
        &[
            &SEGMENT_FIELDS[..],
            &[
                "netlab_duplex.kind_name",
                "netlab_duplex.length",
                "netlab_duplex.id",
            ],
            &[
                "netlab_duplex.chunk_len",
                "netlab_duplex.name",
                "netlab_duplex.size",
            ],
            &[
                "netlab_duplex.digest",
                "netlab_duplex.ok",
                "netlab_duplex.received",
            ],
            &["netlab_duplex.text", "netlab_duplex.note"],
        ]
        .concat(),
    );
    let (up, down) = ((peer_port, port), (port, peer_port));
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_duplex.kind_name"),
        ["message", "offer", "data", "data", "end", "quit"]
    );
    // 1 kind byte + 5 text; 1 + id 4 + size 8 + 9 name; 1 + id 4 + chunk; 1 + id 4 + 32 digest; 1.
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_duplex.length"),
        ["6", "22", "65541", "34469", "37", "1"]
    );
    assert_eq!(decoded.values(up.0, up.1, "netlab_duplex.id"), ["1"; 4]);
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_duplex.chunk_len"),
        ["65536", "34464"]
    );
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_duplex.name"),
        ["notes.bin"]
    );
    assert_eq!(decoded.values(up.0, up.1, "netlab_duplex.size"), ["100000"]);
    assert_eq!(decoded.values(up.0, up.1, "netlab_duplex.text"), ["hello"]);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(
        decoded.values(up.0, up.1, "netlab_duplex.digest"),
        std::slice::from_ref(&hex)
    );
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_duplex.kind_name"),
        ["result"]
    );
    assert_eq!(decoded.values(down.0, down.1, "netlab_duplex.ok"), ["1"]);
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_duplex.received"),
        ["100000"]
    );
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_duplex.digest"),
        [hex]
    );
    assert_eq!(
        decoded.values(down.0, down.1, "netlab_duplex.note"),
        ["new_notes.bin"]
    );
    // The first chunk (65,545 bytes with its prefix) is more than one loopback segment holds.
    let chunk = decoded.segments_with(up.0, up.1, "netlab_duplex.chunk_len", &["65536"]);
    assert_eq!(chunk.len(), 1, "{:#?}", decoded.rows);
    let segments: u32 = decoded.get(chunk[0], "tcp.segment.count").parse().unwrap();
    assert!(segments >= 2, "{:?}", chunk[0]);
    drop(listener);
}

/// SHA-256 of `bytes` as `sha256sum` prints it (the test has no hashing crate of its own).
fn sha256_of(bytes: &[u8], dir: &Path) -> Vec<u8> {
    let path = dir.join("content.bin");
    std::fs::write(&path, bytes).unwrap();
    let output = Command::new("sha256sum").arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let hex = text.split_whitespace().next().unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The chat room's lines: each client line's command and text, each server line's keyword, for
/// two clients; a line split across two segments and three lines in one.
#[test]
fn room_lines_decode_as_commands_and_keywords() {
    const TEST: &str = "room_lines_decode_as_commands_and_keywords";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-room");
    let bin = workspace_binary("tcp-chat", "tcp-chat");
    let (server, port) = start(&bin, &["room", "serve", "--port", "0"]);
    let capture = Capture::start(port, &dir.path().join("room.pcapng"));

    let mut ann = LineClient::connect(server.addr);
    ann.read_until("WELCOME Client01");
    let mut bob = LineClient::connect(server.addr);
    bob.read_until("WELCOME Client02");
    ann.read_until("INFO Client02 joined");
    ann.send_split("hello room\n", 3);
    ann.read_until("ACK hello room");
    bob.read_until("MSG Client01 hello room");
    bob.send("/nick Bob\nstatus\nexit\n");
    bob.read_until("BYE Bob");
    ann.read_until("INFO Bob left");
    ann.send("exit\n");
    ann.read_until("BYE Client01");
    let file = capture.finish();

    let decoded = decode(
        "tcp-chat.lua",
        &["-d", &format!("tcp.port=={port},netlab_room")],
        "netlab_room",
        &file,
        &[
            &SEGMENT_FIELDS[..],
            &[
                "netlab_room.sender",
                "netlab_room.line",
                "netlab_room.command",
            ],
            &["netlab_room.keyword", "netlab_room.args"],
        ]
        .concat(),
    );
    let (ann_port, bob_port) = (ann.port(), bob.port());
    assert_eq!(
        decoded.values(ann_port, port, "netlab_room.line"),
        ["hello room", "exit"]
    );
    assert_eq!(
        decoded.values(ann_port, port, "netlab_room.command"),
        ["message", "exit"]
    );
    assert_eq!(
        decoded.values(bob_port, port, "netlab_room.command"),
        ["/nick", "status", "exit"]
    );
    assert_eq!(
        decoded.values(bob_port, port, "netlab_room.args"),
        ["Bob", "", ""]
    );
    assert_eq!(
        decoded.values(port, ann_port, "netlab_room.line"),
        [
            "WELCOME Client01",
            "INFO Client02 joined",
            "ACK hello room",
            "INFO Client02 is now Bob",
            "INFO Bob left",
            "BYE Client01"
        ]
    );
    let bob_keywords = decoded.values(port, bob_port, "netlab_room.keyword");
    assert_eq!(
        bob_keywords[..4],
        ["WELCOME", "MSG", "OK", "STATUS"],
        "{bob_keywords:?}"
    );
    // The two lines of the status answer start with the members' names, in some order.
    let mut members = bob_keywords[4..6].to_vec();
    members.sort();
    assert_eq!(members, ["Bob", "Client01"]);
    assert_eq!(bob_keywords[6..], ["END", "BYE"]);
    decoded.assert_split((ann_port, port), "netlab_room.line", "hello room", 8, 11);
    let merged = decoded.segments_with(
        bob_port,
        port,
        "netlab_room.command",
        &["/nick", "status", "exit"],
    );
    assert_eq!(merged.len(), 1, "{:#?}", decoded.rows);
}

/// The game protocol: two raw players start a tic-tac-toe game; their commands and moves, the
/// server's keywords, the room and every MOVED's player and square; a move split across two
/// segments, and a refused and an accepted move in one segment.
#[test]
fn game_lines_decode_as_commands_moves_and_keywords() {
    const TEST: &str = "game_lines_decode_as_commands_moves_and_keywords";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-game");
    let bin = workspace_binary("netlab-game", "game-lab");
    let (server, port) = start(&bin, &["serve", "--port", "0"]);
    let capture = Capture::start(port, &dir.path().join("game.pcapng"));

    let mut x = LineClient::connect(server.addr);
    x.read_until("WELCOME Player01");
    x.send("quick tictactoe\n");
    x.read_until("WAITING 1");
    let mut o = LineClient::connect(server.addr);
    o.read_until("WELCOME Player02");
    o.send("quick tictactoe\n");
    x.read_until("YOURTURN 1 moves 1 2 3 4 5 6 7 8 9");
    x.send_split("move 5\n", 2);
    o.read_until("YOURTURN 1 moves 1 2 3 4 6 7 8 9");
    o.send("move 5\nmove 1\n");
    o.read_until("ERR square 5 is already taken");
    x.read_until("MOVED 1 Player02 1");
    x.send("quit\n");
    x.read_until("BYE Player01");
    o.read_until("RESULT 1 winner Player02");
    o.send("quit\n");
    o.read_until("BYE Player02");
    let file = capture.finish();

    let decoded = decode(
        "game-lab.lua",
        &["-d", &format!("tcp.port=={port},netlab_game")],
        "netlab_game",
        &file,
        &[
            &SEGMENT_FIELDS[..],
            &[
                "netlab_game.command",
                "netlab_game.move",
                "netlab_game.keyword",
            ],
            &[
                "netlab_game.room",
                "netlab_game.player",
                "netlab_game.board_row",
            ],
            &["netlab_game.line"],
        ]
        .concat(),
    );
    let (x_port, o_port) = (x.port(), o.port());
    assert_eq!(
        decoded.values(x_port, port, "netlab_game.command"),
        ["quick", "move", "quit"]
    );
    assert_eq!(decoded.values(x_port, port, "netlab_game.move"), ["5"]);
    assert_eq!(
        decoded.values(o_port, port, "netlab_game.command"),
        ["quick", "move", "move", "quit"]
    );
    assert_eq!(decoded.values(o_port, port, "netlab_game.move"), ["5", "1"]);
    // What O was told, without the optional lines (INFO, TOKEN, TURN, WAITING).
    let optional = ["INFO", "TOKEN", "TURN", "WAITING"];
    let told_o: Vec<String> = decoded
        .values(port, o_port, "netlab_game.keyword")
        .into_iter()
        .filter(|keyword| !optional.contains(&keyword.as_str()))
        .collect();
    assert_eq!(
        told_o,
        [
            "WELCOME", "JOINED", "START", "BOARD", "END", "MOVED", "BOARD", "END", "YOURTURN",
            "ERR", "MOVED", "BOARD", "END", "RESULT", "BYE"
        ]
    );
    assert_eq!(
        decoded.values(port, o_port, "netlab_game.player"),
        ["Player01", "Player02"]
    );
    assert_eq!(decoded.values(port, o_port, "netlab_game.move"), ["5", "1"]);
    // Three boards, five rows each (row, rule, row, rule, row) plus the "You are O" lines.
    let rows = decoded.values(port, o_port, "netlab_game.board_row");
    assert_eq!(
        rows.iter().filter(|row| row.starts_with("---+")).count(),
        6,
        "{rows:?}"
    );
    assert!(rows.contains(&" O | 2 | 3".to_string()), "{rows:?}");
    assert!(
        decoded
            .values(port, x_port, "netlab_game.room")
            .iter()
            .all(|room| room == "1")
    );
    decoded.assert_split((x_port, port), "netlab_game.command", "move", 5, 7);
    let merged = decoded.segments_with(o_port, port, "netlab_game.move", &["5", "1"]);
    assert_eq!(merged.len(), 1, "{:#?}", decoded.rows);
    drop(server);
}

/// The dissectors' own protocols, as docs/wireshark.md's table of fields lists them.
const PROTOCOLS: [&str; 5] = [
    "netlab_echo",
    "netlab_pair",
    "netlab_duplex",
    "netlab_room",
    "netlab_game",
];

/// docs/wireshark.md's table of fields names every field the TCP labs' dissectors register, and
/// nothing else; every `netlab_*.field` the page mentions exists. The dissectors are installed
/// as the page says (copied into the personal Lua plugins folder of a fresh home directory),
/// so this also checks that they load from there without a Lua error.
#[test]
fn docs_list_exactly_the_registered_fields() {
    const TEST: &str = "docs_list_exactly_the_registered_fields";
    if find_program("tshark").is_none() {
        skip(TEST, "tshark not installed (apt-get install tshark)");
        return;
    }
    let home = TempDir::new("wireshark-home");
    let plugins = home.path().join(".local/lib/wireshark/plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for entry in std::fs::read_dir(workspace_root().join("scripts/wireshark")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "lua") {
            std::fs::copy(&path, plugins.join(path.file_name().unwrap())).unwrap();
        }
    }
    let output = Command::new("tshark")
        .args(["-G", "fields"])
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Lua"), "{stderr}");
    // Rows: F, description, name, type, ... Expert infos are rows of type FT_NONE.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let ours: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .filter(|columns| columns.len() > 3)
        .filter(|columns| {
            PROTOCOLS
                .iter()
                .any(|proto| columns[2].starts_with(&format!("{proto}.")))
        })
        .collect();
    let names_of = |experts: bool| -> Vec<String> {
        let mut names: Vec<String> = ours
            .iter()
            .filter(|columns| (columns[3] == "FT_NONE") == experts)
            .map(|columns| columns[2].to_owned())
            .collect();
        names.sort();
        names
    };
    let registered = names_of(false);
    let experts = names_of(true);
    assert!(registered.len() > 40, "{registered:?}\n{stderr}");
    assert!(experts.len() > 5, "{experts:?}");

    let page = std::fs::read_to_string(workspace_root().join("docs/wireshark.md")).unwrap();
    let mut documented = Vec::new();
    for line in page.lines() {
        let Some(proto) = PROTOCOLS
            .iter()
            .find(|proto| line.starts_with(&format!("| `{proto}` | ")))
        else {
            continue;
        };
        let names_column = line.split(" | ").nth(1).unwrap();
        // The field names are the backticked words outside parentheses.
        let mut depth = 0;
        let mut outside = String::new();
        for ch in names_column.chars() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => outside.push(ch),
                _ => {}
            }
        }
        for name in outside.split('`').skip(1).step_by(2) {
            documented.push(format!("{proto}.{name}"));
        }
    }
    documented.sort();
    assert_eq!(
        documented, registered,
        "docs/wireshark.md's table of fields"
    );
    for word in page.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')) {
        let word = word.trim_end_matches('.');
        if PROTOCOLS
            .iter()
            .any(|proto| word.starts_with(&format!("{proto}.")))
        {
            let known = registered.iter().chain(&experts).any(|name| name == word)
                || word.ends_with(".port")
                || word.ends_with(".framing")
                || word.ends_with(".max_message");
            assert!(
                known,
                "docs/wireshark.md names {word}, which no dissector registers"
            );
        }
    }
}

/// A directory of programs for `scripts/capture`'s PATH: bash and the tools the script uses,
/// and, if `tcpdump` is given, a fake tcpdump with that shell body.
fn fake_path(dir: &Path, tcpdump: Option<&str>) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "bash", "dirname", "uname", "id", "mktemp", "rm", "cat", "grep", "sleep", "sed", "wc",
        "tr", "mv",
    ] {
        let real = find_program(tool).unwrap_or_else(|| panic!("no {tool}"));
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    if let Some(body) = tcpdump {
        let fake = bin.join("tcpdump");
        std::fs::write(&fake, format!("#!/bin/sh\n{body}\n")).unwrap();
        let chmod = Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
        assert!(chmod.success());
    }
    bin
}

/// `scripts/capture` without tcpdump, or with a tcpdump that may not capture, says so and how to
/// get it, with exit code 2 ("cannot capture here"), and leaves no file behind.
#[test]
fn capture_explains_a_missing_tcpdump_and_missing_permission() {
    let dir = TempDir::new("wireshark-no-tcpdump");
    let script = workspace_root().join("scripts/capture");
    let file = dir.path().join("never.pcap");
    let run = |path: &Path| {
        Command::new(&script)
            .args(["7007", file.to_str().unwrap()])
            .env("PATH", path)
            .output()
            .unwrap()
    };

    let missing = run(&fake_path(&dir.path().join("missing"), None));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{said}");
    assert!(said.contains("tcpdump is not installed"), "{said}");
    assert!(said.contains("apt-get install tcpdump"), "{said}");

    // What tcpdump prints when an ordinary user asks it to capture on Linux.
    let refused = "echo 'tcpdump: lo: You don'\\''t have permission to perform this capture on that \
                   device (socket: Operation not permitted)' >&2; exit 1";
    let denied = run(&fake_path(&dir.path().join("denied"), Some(refused)));
    let said = String::from_utf8_lossy(&denied.stderr);
    assert_eq!(denied.status.code(), Some(2), "{said}");
    assert!(said.contains("may not capture on lo"), "{said}");
    assert!(
        said.contains("root or the CAP_NET_RAW capability"),
        "{said}"
    );
    assert!(
        said.contains("sudo setcap cap_net_raw,cap_net_admin=eip"),
        "{said}"
    );
    assert!(!file.exists());

    // The command to type again keeps the `--` before CMD, and each word quoted for the shell.
    let again = Command::new(&script)
        .args([
            "7007",
            file.to_str().unwrap(),
            "--",
            "ftp-lab",
            "get",
            "two words",
        ])
        .env(
            "PATH",
            fake_path(&dir.path().join("denied-cmd"), Some(refused)),
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    let expected = format!(
        "  sudo {} 7007 {} -- ftp-lab get two\\ words\n",
        script.display(),
        file.display()
    );
    assert!(said.contains(&expected), "{expected:?} in {said}");
}

/// A tcpdump that captures nothing: it says it listens and waits to be stopped; asked to read a
/// capture back (`-r`), it writes an empty file where `-w` says.
const SILENT_TCPDUMP: &str = r#"case " $* " in
  *" --help "*) exit 0 ;;
  *" -r "*) prev=; for arg in "$@"; do [ "$prev" = -w ] && : > "$arg"; prev=$arg; done; exit 0 ;;
  *) echo "listening on lo" >&2; exec sleep 600 ;;
esac"#;

/// The command after `--` is found in the checkout's target/release even when PATH has lost
/// what `. scripts/env` added, as under sudo (secure_path): it used to end in "command not
/// found" (status 127) and an empty capture.
#[test]
fn capture_finds_the_checkouts_programs_without_them_on_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("wireshark-sudo-path");
    // A checkout of its own: the script, and one "program" in target/release.
    let checkout = dir.path().join("netlab");
    std::fs::create_dir_all(checkout.join("scripts")).unwrap();
    std::fs::create_dir_all(checkout.join("target/release")).unwrap();
    let script = checkout.join("scripts/capture");
    std::fs::copy(workspace_root().join("scripts/capture"), &script).unwrap();
    let probe = checkout.join("target/release/netlab-probe");
    std::fs::write(&probe, "#!/bin/sh\necho \"probe ran with $*\"\n").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = fake_path(&dir.path().join("tools"), Some(SILENT_TCPDUMP));
    let file = dir.path().join("probe.pcap");

    let ran = Command::new(&script)
        .args([
            "7007",
            file.to_str().unwrap(),
            "--",
            "netlab-probe",
            "hello",
        ])
        .env("PATH", &path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    assert_eq!(ran.status.code(), Some(0), "{said}");
    assert!(said.contains("probe ran with hello"), "{said}");
    assert!(!said.contains("command not found"), "{said}");
    assert!(file.exists(), "{said}");
}

/// A hostile length prefix (FF FF FF FF: "4 GiB follow") is not believed: the dissector marks
/// it with the expert info netlab_echo.oversize instead of waiting for 4 GiB, and still decodes
/// the server's ERROR reply.
#[test]
fn echo_oversize_prefix_is_flagged_not_awaited() {
    const TEST: &str = "echo_oversize_prefix_is_flagged_not_awaited";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-echo-oversize");
    let bin = workspace_binary("tcp-echo", "tcp-echo");
    let (server, port) = start(&bin, &["serve", "--port", "0", "--framing", "length"]);
    let capture = Capture::start(port, &dir.path().join("oversize.pcapng"));
    let mut client = raw_connect(server.addr);
    let client_port = local_port(&client);
    assert_eq!(read_frame(&mut client), b"WELCOME Client01");
    client.write_all(&[0xff, 0xff, 0xff, 0xff, b'x']).unwrap();
    let error = String::from_utf8(read_frame(&mut client)).unwrap();
    assert!(error.starts_with("ERROR "), "{error}");
    let file = capture.finish();

    let decoded = decode(
        "tcp-echo.lua",
        &["-d", &format!("tcp.port=={port},netlab_echo")],
        "netlab_echo",
        &file,
        &[
            "netlab_echo.length",
            "_ws.expert.message",
            "netlab_echo.message",
        ],
    );
    assert_eq!(
        decoded.values(client_port, port, "netlab_echo.length"),
        ["4294967295"]
    );
    assert_eq!(
        decoded.values(client_port, port, "_ws.expert.message"),
        [
            "a 4294967295-byte message exceeds the 4096-byte limit: the server answers ERROR and closes"
        ]
    );
    assert_eq!(
        decoded.values(port, client_port, "netlab_echo.message"),
        ["WELCOME Client01", error.as_str()]
    );
}

/// A port the OS just gave out and took back: for a server flag that wants a number (ftp-lab's
/// `--pasv-ports`), where port 0 cannot be given. Another program could take it before the
/// server does; the OS hands out ports in turn, so that needs thousands of new sockets first.
fn port_just_freed() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether `needle` occurs anywhere in `haystack`.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// What tshark shows on each segment of `capture` that holds FTP or TLS: its protocol column and
/// the FTP command or reply code, tab-separated (`FTP\tAUTH\t`, `FTP\t\t234`, `TLSv1.3\t\t`).
fn ftp_or_tls(capture: &Path, decode_as: &str) -> Vec<String> {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(capture)
        .args(["-d", decode_as, "-Y", "ftp || tls", "-T", "fields"])
        .args(["-e", "_ws.col.Protocol", "-e", "ftp.request.command"])
        .args(["-e", "ftp.response.code"])
        .output()
        .expect("run tshark");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tshark failed: {stderr}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The proof on the wire of docs/ftp.md section 11: a capture of a clear `ftp-lab get`, control
/// and data connection, holds the bytes `PASS secret` and the file's contents; the same download
/// over explicit FTPS (`AUTH TLS`, `PROT P`) holds neither, tshark reads its control connection
/// as FTP up to `AUTH TLS` and the `234` and as TLS records after it, and its data connection
/// as TLS from its first record.
#[test]
fn ftps_hides_the_password_and_the_file_on_the_wire() {
    const TEST: &str = "ftps_hides_the_password_and_the_file_on_the_wire";
    if !can_capture(TEST) {
        return;
    }
    let dir = TempDir::new("wireshark-ftps");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    // Words no other traffic on this machine's loopback carries.
    let contents = format!(
        "netlab FTPS proof {} {:?}\n",
        std::process::id(),
        std::time::SystemTime::now()
    );
    std::fs::write(root.join("proof.txt"), &contents).unwrap();
    let ca = dir.path().join("ca.pem");
    // One passive port, so that one more capture holds every data connection.
    let data_port = port_just_freed();
    let bin = workspace_binary("ftp-lab", "ftp-lab");
    let (_server, port) = start(
        &bin,
        &[
            "serve",
            "--root",
            root.to_str().unwrap(),
            "--user",
            "alice:secret",
            "--port",
            "0",
            "--pasv-ports",
            &format!("{data_port}-{data_port}"),
            "--tls-cert-out",
            ca.to_str().unwrap(),
        ],
    );
    // Captures of a download (`ftp` clear, `ftps` over TLS), named `name`: (control connection,
    // data connection).
    let download = |name: &str, scheme: &str, trust: &[&str]| -> (PathBuf, PathBuf) {
        let control = Capture::start(port, &dir.path().join(format!("{name}-control.pcap")));
        let data = Capture::start(data_port, &dir.path().join(format!("{name}-data.pcap")));
        let copy = dir.path().join(format!("{name}.txt"));
        let url = format!("{scheme}://alice:secret@127.0.0.1:{port}/proof.txt");
        let got = Command::new(&bin)
            .args(["get", &url, "--output", copy.to_str().unwrap()])
            .args(trust)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            got.status.success(),
            "{scheme}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), contents);
        (control.finish(), data.finish())
    };
    let clear = download("clear", "ftp", &[]);
    let protected = download("protected", "ftps", &["--tls-ca", ca.to_str().unwrap()]);
    let read = |file: &PathBuf| std::fs::read(file).unwrap();

    assert!(holds(&read(&clear.0), b"PASS secret\r\n"), "clear control");
    assert!(holds(&read(&clear.1), contents.as_bytes()), "clear data");
    for capture in [&protected.0, &protected.1] {
        let bytes = read(capture);
        assert!(!holds(&bytes, b"PASS secret"), "{}", capture.display());
        assert!(!holds(&bytes, b"USER alice"), "{}", capture.display());
        assert!(!holds(&bytes, contents.as_bytes()), "{}", capture.display());
    }

    let control = ftp_or_tls(&protected.0, &format!("tcp.port=={port},ftp"));
    let (clear_part, tls_part) = control.split_at(3.min(control.len()));
    assert_eq!(
        clear_part,
        ["FTP\t\t220", "FTP\tAUTH\t", "FTP\t\t234"],
        "{control:#?}"
    );
    // The handshake, the login, the transfer's commands and replies: many TLS records, and no
    // FTP the dissector could read.
    assert!(tls_part.len() >= 10, "{control:#?}");
    assert!(
        tls_part.iter().all(|row| row.starts_with("TLS")),
        "{control:#?}"
    );

    let data = ftp_or_tls(&protected.1, &format!("tcp.port=={data_port},tls"));
    assert!(!data.is_empty(), "no TLS on the data connection");
    assert!(data.iter().all(|row| row.starts_with("TLS")), "{data:#?}");
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&protected.1)
        .args(["-d", &format!("tcp.port=={data_port},tls")])
        .args(["-Y", "tls", "-T", "fields", "-e", "tls.handshake.type"])
        .output()
        .expect("run tshark");
    let first = String::from_utf8_lossy(&output.stdout);
    // 1: a Client Hello, the client's first bytes on the connection (RFC 8446 §4.1.2).
    assert_eq!(first.lines().next(), Some("1"), "{first}");
    // Both ends close the protected data connection with FIN, not RST: the server reads the
    // client's close_notify before it closes (a socket closed with unread bytes sends a RST).
    for (name, capture) in [("clear", &clear.1), ("protected", &protected.1)] {
        let output = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(capture)
            .args([
                "-Y",
                "tcp.flags.reset == 1",
                "-T",
                "fields",
                "-e",
                "frame.number",
            ])
            .output()
            .expect("run tshark");
        let resets = String::from_utf8_lossy(&output.stdout);
        assert!(
            resets.trim().is_empty(),
            "{name} data connection reset in frames {resets}"
        );
    }
}

/// Under sudo (`SUDO_UID`/`SUDO_GID` of another user, here `nobody`), `scripts/capture PORT
/// FILE -- CMD` runs CMD as that user, not as root: the file CMD writes is theirs, `id -u` in
/// CMD prints their uid, and the capture file is theirs too. (Needs root and tcpdump, not
/// tshark.)
#[cfg(unix)]
#[test]
fn capture_under_sudo_runs_the_command_as_the_invoking_user() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    const TEST: &str = "capture_under_sudo_runs_the_command_as_the_invoking_user";
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id(&["-u"]) != Some(0) {
        skip(TEST, "it plays sudo, which only root can: run as root");
        return;
    }
    if find_program("tcpdump").is_none() {
        skip(TEST, "tcpdump is not installed (apt-get install tcpdump)");
        return;
    }
    let (Some(uid), Some(gid)) = (id(&["-u", "nobody"]), id(&["-g", "nobody"])) else {
        skip(
            TEST,
            "this system has no user `nobody` to play the invoking user",
        );
        return;
    };
    let dir = TempDir::new("capture-sudo");
    // The invoking user writes there, as in their own directory.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // A free port, so nothing else's traffic is captured; nothing needs to answer on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let written = dir.join("written-by-cmd");
    let file = dir.join("sudo.pcap");
    let output = Command::new(workspace_root().join("scripts/capture"))
        .args([&port.to_string(), file.to_str().unwrap(), "--"])
        .args(["sh", "-c", "id -u > \"$0\"", written.to_str().unwrap()])
        .env("SUDO_UID", uid.to_string())
        .env("SUDO_GID", gid.to_string())
        .env("SUDO_USER", "nobody")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{printed}");
    let owner = |path: &Path| {
        let meta = std::fs::metadata(path).unwrap();
        (meta.uid(), meta.gid())
    };
    assert_eq!(owner(&written), (uid, gid), "{printed}");
    assert_eq!(
        std::fs::read_to_string(&written).unwrap().trim(),
        uid.to_string()
    );
    assert_eq!(owner(&file), (uid, gid), "{printed}");
}
