//! Hostile clients against `tcp-echo serve`, over real sockets on 127.0.0.1, on both engines.
//!
//! Each test is one way a client can hurt a server that trusts it: by saying nothing (silent), by
//! saying it slowly (slow), by not reading (non-reading), by disappearing mid-message (vanishing),
//! by sending a lot fast (flooding), or by taking every place (resource exhaustion). Oversize
//! frames, control bytes and the first non-reading and flooding cases are in the `echo` module
//! (`oversize_frames_are_refused`, `client_neutralizes_escape_sequences`,
//! `non_reading_client_is_bounded`, `thousand_connections_leak_no_descriptors`). Timeouts are
//! tested with `--idle-timeout 1`; the test waits for the server's own events (a frame, a close,
//! a log line), never for a sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{self, Client, ENGINES, ServerExt, read_exactly, read_to_close, run_cli};
use netlab_common::framing::Framing;

/// The idle timeout the tests give the server, and its farewell in line/length framing.
const IDLE: &str = "1";
const IDLE_ERROR: &str = "ERROR idle for 1 s (--idle-timeout 1); closing the connection";

/// Waits for the server's two log lines about dropping idle client `name`: the warning (on
/// standard error) and the disconnection (on standard output), in either order.
fn wait_for_idle_log(server: &mut util::Server, name: &str) {
    let warning = format!("[WARN] {name}: idle for 1 s (--idle-timeout 1); disconnecting");
    let disconnected = format!("[INFO] {name} disconnected (idle for 1 s)");
    // The mio engine adds how many bytes a client that stopped reading left behind.
    let first = server.wait_for(|line| line.starts_with(&warning) || line == disconnected);
    let second = if first == disconnected {
        warning
    } else {
        disconnected
    };
    server.wait_for(|line| line.starts_with(&second));
}

/// A silent client in line or length framing is told `ERROR idle ...` after `--idle-timeout` (not
/// before), is closed, leaves `status`, and its place under a full `--max-clients` is free again.
#[test]
fn silent_framed_client_is_dropped_after_idle_timeout() {
    for engine in ENGINES {
        for (framing, name) in [(Framing::Line, "line"), (Framing::Length, "length")] {
            let context = format!("{engine}, {name} framing");
            let mut server = util::start(&[
                "--engine",
                engine,
                "--framing",
                name,
                "--idle-timeout",
                IDLE,
                "--max-clients",
                "1",
            ]);
            let (mut silent, _) = server.client(framing);
            let started = Instant::now();
            // The place is taken: a second client is refused while the silent one holds it.
            let mut refused = Client::new(server.connect(), framing);
            assert!(
                refused.recv_text().starts_with("ERROR server full"),
                "{context}"
            );

            assert_eq!(silent.recv_text(), IDLE_ERROR, "{context}");
            silent.expect_closed();
            assert!(
                started.elapsed() >= Duration::from_millis(900),
                "{context}: dropped after {:?}, before the timeout",
                started.elapsed()
            );
            wait_for_idle_log(&mut server, "Client01");

            let (mut next, next_name) = server.client(framing);
            assert_eq!(next_name, "Client02", "{context}: the freed place is taken");
            let listed = next.status();
            assert_eq!(listed.len(), 1, "{context}: {listed:?}");
            assert!(listed[0].starts_with("Client02 "), "{context}: {listed:?}");
        }
    }
}

/// In raw framing (RFC 862: everything the server writes is echo data) a silent client is closed
/// after `--idle-timeout` without a single byte written, and a new client then gets its place.
#[test]
fn silent_raw_client_is_closed_without_a_byte() {
    for engine in ENGINES {
        let mut server = util::start(&[
            "--engine",
            engine,
            "--framing",
            "raw",
            "--idle-timeout",
            IDLE,
            "--max-clients",
            "1",
        ]);
        let mut silent = server.connect();
        let started = Instant::now();
        assert_eq!(read_to_close(&mut silent), b"", "{engine}: bytes written");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{engine}: closed after {:?}",
            started.elapsed()
        );
        wait_for_idle_log(&mut server, "Client01");
        let mut next = server.connect();
        next.write_all(b"my turn").unwrap();
        assert_eq!(read_exactly(&mut next, 7), b"my turn", "{engine}");
    }
}

/// A client one byte at a time, each byte well inside `--idle-timeout` but the whole message
/// slower than it, is served: every byte that arrives restarts the idle clock.
#[test]
fn slow_client_is_not_idle() {
    for engine in ENGINES {
        let server = util::start(&["--engine", engine, "--idle-timeout", IDLE]);
        let (mut slow, _) = server.client(Framing::Line);
        let started = Instant::now();
        for byte in b"slow\n" {
            slow.stream.write_all(&[*byte]).unwrap();
            // The pace of the client under test, not a synchronization.
            thread::sleep(Duration::from_millis(400));
        }
        assert!(started.elapsed() > Duration::from_secs(1));
        assert_eq!(slow.recv_text(), "ACK slow", "{engine}");
    }
}

/// Past `--max-clients`, a raw-framing client reads zero bytes and then a clean end of stream
/// (FIN, not a reset, even though it had sent data); the server logs the refusal and keeps
/// echoing for the admitted client.
#[test]
fn raw_refusal_writes_nothing() {
    for engine in ENGINES {
        let mut server =
            util::start(&["--engine", engine, "--framing", "raw", "--max-clients", "1"]);
        let mut admitted = server.connect();
        admitted.write_all(b"first").unwrap();
        assert_eq!(read_exactly(&mut admitted, 5), b"first");

        let mut turned_away = server.connect();
        turned_away.write_all(b"let me in\n").unwrap();
        assert_eq!(read_to_close(&mut turned_away), b"", "{engine}");
        server.wait_for(|line| line.contains("server full (1 clients)"));

        admitted.write_all(b"still").unwrap();
        assert_eq!(read_exactly(&mut admitted, 5), b"still", "{engine}");
    }
}

/// `tcp-echo bench` with more connections than the raw server's `--max-clients` says how many
/// connections the server refused or closed, instead of blaming the framing.
#[test]
fn bench_counts_refused_connections() {
    for engine in ENGINES {
        let server = util::start(&["--engine", engine, "--framing", "raw", "--max-clients", "2"]);
        let target = server.addr.to_string();
        let (code, _, stderr) = run_cli(
            &["bench", &target, "--connections", "5", "--duration", "0.3"],
            b"",
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains(
                "3 errors: the server refused/closed 3 connection(s) before their echo was complete"
            ),
            "{engine}: {stderr}"
        );
        assert!(!stderr.contains("framing?"), "{engine}: {stderr}");
    }
}

/// A client that sends but never reads is dropped once no byte has moved for `--idle-timeout`
/// (its echo cannot go out, and the server stops reading it); meanwhile another client is served,
/// and afterwards `status` no longer lists it.
#[test]
fn non_reading_client_is_dropped_after_idle_timeout() {
    for engine in ENGINES {
        let mut server = util::start(&["--engine", engine, "--idle-timeout", IDLE]);
        let (hog, _) = server.client(Framing::Line);
        hog.stream
            .set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut writer = hog.stream.try_clone().unwrap();
        let line = [b"x".repeat(1000), b"\n".to_vec()].concat();
        // Write until the kernel takes no more: the server has stopped reading us.
        while writer.write_all(&line).is_ok() {}
        // (Connected only now: it is itself silent, and would be dropped too if it waited.)
        let (mut other, _) = server.client(Framing::Line);
        other.send(b"still served?");
        assert_eq!(other.recv(), b"ACK still served?", "{engine}");
        wait_for_idle_log(&mut server, "Client01");
        let (mut observer, _) = server.client(Framing::Line);
        let listed = observer.status();
        assert!(
            listed.iter().all(|line| !line.starts_with("Client01 ")),
            "{engine}: {listed:?}"
        );
        drop(hog);
    }
}

/// A client that resets its connection in the middle of a message is removed from `status`, and
/// the others go on being served.
#[test]
fn vanishing_mid_message_client_is_removed() {
    for engine in ENGINES {
        let mut server = util::start(&["--engine", engine, "--framing", "length"]);
        let (mut gone, _) = server.client(Framing::Length);
        let (mut stays, _) = server.client(Framing::Length);
        // Half a frame: a prefix announcing 100 bytes, then 10 of them.
        gone.stream.write_all(&100u32.to_be_bytes()).unwrap();
        gone.stream.write_all(&[b'v'; 10]).unwrap();
        // SO_LINGER 0: close sends RST, as when the client's machine drops the connection.
        socket2::SockRef::from(&gone.stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(gone);
        server.wait_for(|line| {
            line.contains("Client01 vanished") || line.contains("Client01 disconnected")
        });
        let listed = stays.status();
        assert_eq!(listed.len(), 1, "{engine}: {listed:?}");
        assert!(listed[0].starts_with("Client02 "), "{engine}");
    }
}

/// 20,000 lines in one burst are each answered, in order, while a second client is served.
#[test]
fn flood_of_lines_is_answered_in_order() {
    const LINES: usize = 20_000;
    for engine in ENGINES {
        let server = util::start(&["--engine", engine]);
        let (flooder, _) = server.client(Framing::Line);
        let (mut other, _) = server.client(Framing::Line);
        let mut writer = flooder.stream.try_clone().unwrap();
        let sender = thread::spawn(move || {
            let burst: Vec<u8> = (0..LINES)
                .flat_map(|index| format!("{index}\n").into_bytes())
                .collect();
            writer.write_all(&burst).unwrap();
        });
        other.send(b"me too");
        assert_eq!(other.recv(), b"ACK me too", "{engine}");
        let mut reader = flooder.stream;
        let mut received = Vec::new();
        let expected: Vec<u8> = (0..LINES)
            .flat_map(|index| format!("ACK {index}\n").into_bytes())
            .collect();
        let mut buf = vec![0u8; 64 * 1024];
        while received.len() < expected.len() {
            let got = reader.read(&mut buf).unwrap();
            assert!(got > 0, "{engine}: closed after {} bytes", received.len());
            received.extend_from_slice(&buf[..got]);
        }
        sender.join().unwrap();
        assert!(received == expected, "{engine}: the answers differ");
    }
}

/// Many clients at once past `--max-clients` each get an exact refusal in line framing, and the
/// admitted ones are still served. The threads engine gives at most `--max-clients` + 32 threads
/// (`netlab_common::accept`): while 32 refused clients are still being closed gracefully, the next
/// ones are turned away by the accept loop itself, with its own line.
#[test]
fn connection_flood_gets_exact_refusals() {
    for engine in ENGINES {
        let server = util::start(&["--engine", engine, "--max-clients", "10"]);
        let mut admitted: Vec<Client> = (0..10).map(|_| server.client(Framing::Line).0).collect();
        let mut refused: Vec<Client> = (0..50)
            .map(|_| Client::new(server.connect(), Framing::Line))
            .collect();
        let full = "ERROR server full: 10 clients connected (--max-clients 10); try again later";
        let busy = "ERROR server busy (42 client threads already running); try again later";
        for client in &mut refused {
            let refusal = client.recv_text();
            assert!(refusal == full || refusal == busy, "{engine}: {refusal:?}");
            client.expect_closed();
        }
        for client in &mut admitted {
            client.send(b"here");
            assert_eq!(client.recv(), b"ACK here", "{engine}");
        }
    }
}
