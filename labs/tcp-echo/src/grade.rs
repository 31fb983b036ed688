//! # `tcp-echo grade HOST:PORT`: check a student's echo server against docs/protocols/echo.md
//!
//! The checks are the ways real networks and real clients break naive servers. TCP is a byte
//! stream, so a frame may arrive one byte at a time or three frames in one read; a client may
//! half-close (shut its sending side and still wait for every answer); many clients come at
//! once; one vanishes in the middle of a message; one never reads what it is sent. A server that
//! survives all of them is one a student can trust. Every check opens its own connections and
//! runs under a deadline ([`netlab_common::grade`]), so a hung server fails checks instead of
//! hanging the grader.
//!
//! In `raw` framing the protocol is RFC 862: every byte comes back unchanged. In `line` and
//! `length` framing it is the lab's message protocol: `WELCOME NAME` on connect, `ACK m` for
//! each message `m`, `exit` answered by `BYE NAME` and a close, a frame over the limit answered
//! by `ERROR ...` and a close.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use netlab_common::accept;
use netlab_common::grade::class::{self, Plan};
use netlab_common::grade::conn::{
    connect, expect_bytes, expect_close, half_close, io_said, leave_politely, reset, send,
    send_slowly,
};
use netlab_common::grade::flood::{connect_unread, flood};
use netlab_common::grade::{Check, CheckResult, Failure, Rubric, all_at_once, show_bytes};
use netlab_common::random::SplitMix64;
use netlab_common::{FrameDecoder, Framing};

/// What to grade.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The server.
    pub addr: SocketAddr,
    /// The framing it speaks.
    pub framing: Framing,
    /// Its frame size limit (line and length framing).
    pub max_frame: usize,
}

/// What `tcp-echo grade` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct GradeConfig {
    /// The server to grade.
    pub target: SocketAddr,
    /// The framing it speaks (`--framing`).
    pub framing: Framing,
    /// Its frame size limit (`--max-frame`).
    pub max_frame: usize,
    /// How long each check may take (`--timeout`).
    pub deadline: Duration,
    /// Print the rubric as one JSON object.
    pub json: bool,
}

/// `tcp-echo grade`: runs the checks and prints the rubric; fails (exit 1) unless every
/// required check passed.
pub fn run(config: &GradeConfig, plan: &Plan) -> netlab_common::Result<()> {
    let config = *config;
    class::run(plan, &|target| grade(&GradeConfig { target, ..config }))
}

/// Runs every check for the configured framing against the server.
pub fn grade(config: &GradeConfig) -> Rubric {
    let GradeConfig {
        target: addr,
        framing,
        max_frame,
        deadline,
        ..
    } = *config;
    let target = Target {
        addr,
        framing,
        max_frame,
    };
    let checks = match framing {
        Framing::Raw => raw_checks(target),
        Framing::Line | Framing::Length => framed_checks(target),
    };
    let subject = format!("an echo server in {} framing at {addr}", framing.name());
    Rubric::run(subject, checks, deadline)
}

fn raw_checks(t: Target) -> Vec<Check> {
    vec![
        Check::required("echo", 2, "RFC 862: every byte comes back", move || {
            let mut c = connect(t.addr)?;
            send(&mut c, b"hello, echo\n")?;
            expect_bytes(&mut c, b"hello, echo\n")
        }),
        Check::required(
            "one-byte writes",
            2,
            "a stream has no message boundaries",
            move || {
                let mut c = connect(t.addr)?;
                for byte in b"split into single bytes" {
                    send_slowly(&mut c, &[*byte])?;
                }
                expect_bytes(&mut c, b"split into single bytes")
            },
        ),
        Check::required("all byte values", 1, "binary data is data", move || {
            let mut c = connect(t.addr)?;
            let all: Vec<u8> = (0..=255).collect();
            send(&mut c, &all)?;
            expect_bytes(&mut c, &all)
        }),
        Check::required(
            "1 MiB stream",
            2,
            "partial writes and back-pressure",
            move || stream_echo(t, 1 << 20),
        ),
        Check::required(
            "half-close",
            2,
            "shutdown(SHUT_WR): answer, then close",
            move || {
                let mut c = connect(t.addr)?;
                send(&mut c, b"last words")?;
                half_close(&c)?;
                expect_bytes(&mut c, b"last words")?;
                expect_close(&mut c)
            },
        ),
    ]
    .into_iter()
    .chain(everyone_else_checks(t, b"half a messa".to_vec()))
    .collect()
}

fn framed_checks(t: Target) -> Vec<Check> {
    let max = t.max_frame;
    vec![
        Check::required("welcome", 1, "the server speaks first", move || {
            let mut c = Framed::connect(t)?;
            c.expect_prefix("WELCOME ").map(|_| ())
        }),
        Check::required("ack", 2, "one message in, one answer out", move || {
            let mut c = Framed::connect(t)?;
            c.welcome()?;
            c.send(&[b"hello"])?;
            c.expect_frame(b"ACK hello")
        }),
        Check::required(
            "one-byte writes",
            2,
            "a frame can arrive a byte at a time",
            move || {
                let mut c = Framed::connect(t)?;
                c.welcome()?;
                for byte in t.framing.encode_to_vec(b"slowly").unwrap_or_default() {
                    send_slowly(&mut c.stream, &[byte])?;
                }
                c.expect_frame(b"ACK slowly")
            },
        ),
        Check::required(
            "frames in one write",
            2,
            "one read can hold many frames",
            move || {
                let mut c = Framed::connect(t)?;
                c.welcome()?;
                c.send(&[b"one", b"two", b"three"])?;
                c.expect_frame(b"ACK one")?;
                c.expect_frame(b"ACK two")?;
                c.expect_frame(b"ACK three")
            },
        ),
        Check::required(
            "random-size writes",
            2,
            "frame boundaries and read boundaries are unrelated",
            move || random_size_writes(t),
        ),
        Check::required("largest frame", 1, "the limit is inclusive", move || {
            let mut c = Framed::connect(t)?;
            c.welcome()?;
            let big = vec![b'x'; max];
            c.send(&[&big])?;
            let mut want = b"ACK ".to_vec();
            want.extend_from_slice(&big);
            c.expect_frame(&want)
        }),
        Check::required(
            "oversize frame",
            2,
            "limits: refuse, say why, keep serving",
            move || {
                let mut c = Framed::connect(t)?;
                c.welcome()?;
                let too_big = vec![b'x'; max + 1];
                send(
                    &mut c.stream,
                    &t.framing.encode_to_vec(&too_big).unwrap_or_default(),
                )?;
                c.expect_prefix("ERROR ")?;
                expect_close(&mut c.stream)?;
                still_serving(t)
            },
        ),
        Check::required("exit", 1, "a clean goodbye", move || {
            let mut c = Framed::connect(t)?;
            let name = c.welcome()?;
            c.send(&[b"exit"])?;
            c.expect_frame(format!("BYE {name}").as_bytes())?;
            expect_close(&mut c.stream)
        }),
        Check::required(
            "half-close",
            2,
            "shutdown(SHUT_WR): answer everything, then close",
            move || {
                let mut c = Framed::connect(t)?;
                c.welcome()?;
                c.send(&[b"last words"])?;
                half_close(&c.stream)?;
                c.expect_frame(b"ACK last words")?;
                expect_close(&mut c.stream)
            },
        ),
    ]
    .into_iter()
    .chain(everyone_else_checks(t, {
        let frame = t
            .framing
            .encode_to_vec(b"never finished")
            .unwrap_or_default();
        frame.get(..frame.len() / 2).unwrap_or_default().to_vec()
    }))
    .collect()
}

/// The checks both protocols end with: other clients must not suffer from many at once, from
/// one that never reads, or from one that vanishes after sending `half_message`.
fn everyone_else_checks(t: Target, half_message: Vec<u8>) -> [Check; 3] {
    [
        Check::required(
            "50 clients at once",
            2,
            "serving clients concurrently",
            move || many_clients(t, 50),
        ),
        Check::required(
            "client never reads",
            2,
            "one slow client must not stall the rest",
            move || never_reads(t),
        )
        .flooding(),
        // Last: a server that dies here fails only this check, not every later one.
        Check::required(
            "client vanishes",
            2,
            "a peer can disappear mid-message",
            move || {
                vanish(t, &half_message)?;
                still_serving(t)
            },
        ),
    ]
}

// --- connections -------------------------------------------------------------------------

// --- framed conversations ----------------------------------------------------------------

/// A connection speaking the message protocol.
struct Framed {
    stream: TcpStream,
    decoder: FrameDecoder,
    framing: Framing,
}

impl Framed {
    fn connect(t: Target) -> Result<Self, Failure> {
        Ok(Framed {
            stream: connect(t.addr)?,
            // Answers are "ACK " plus a message: allow for the prefix.
            decoder: FrameDecoder::new(t.framing, t.max_frame + 64),
            framing: t.framing,
        })
    }

    fn send(&mut self, messages: &[&[u8]]) -> CheckResult {
        let mut bytes = Vec::new();
        for message in messages {
            self.framing
                .encode(message, &mut bytes)
                .map_err(|err| Failure::new("a message the grader can frame", err.to_string()))?;
        }
        // A failed write here was cut off inside the frames it carried: say so.
        send(&mut self.stream, &bytes)
            .map_err(|f| Failure::new(f.expected, format!("{} in the middle of a frame", f.got)))
    }

    fn next(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(err) => return Err(Failure::new("a well-formed frame", err.to_string())),
            }
            match self.decoder.read_from(&mut self.stream) {
                Ok(0) => return Err(Failure::new("a frame", "the connection closed")),
                Ok(_) => {}
                Err(err) => return Err(Failure::new("a frame", io_said(&err))),
            }
        }
    }

    fn expect_frame(&mut self, want: &[u8]) -> CheckResult {
        let got = self
            .next()
            .map_err(|f| Failure::new(show_bytes(want), f.got))?;
        if got == want {
            return Ok(());
        }
        Err(Failure::new(show_bytes(want), show_bytes(&got)))
    }

    fn expect_prefix(&mut self, prefix: &str) -> Result<String, Failure> {
        let wanted = format!("a frame starting with {}", show_bytes(prefix.as_bytes()));
        let got = self
            .next()
            .map_err(|f| Failure::new(wanted.clone(), f.got))?;
        match got.strip_prefix(prefix.as_bytes()) {
            Some(rest) => Ok(String::from_utf8_lossy(rest).into_owned()),
            None => Err(Failure::new(wanted, show_bytes(&got))),
        }
    }

    /// Reads `WELCOME NAME`; returns the name.
    fn welcome(&mut self) -> Result<String, Failure> {
        self.expect_prefix("WELCOME ")
    }
}

/// Frames of varied lengths, concatenated, then cut at pseudo-random places (a fixed seed, so
/// every run cuts the same way) into writes of 1 to 97 bytes, 1 ms apart: a write may end in the
/// middle of a length prefix, of a message, or between two frames, as TCP segments do on a real
/// network. Every message must be answered, in order.
fn random_size_writes(t: Target) -> CheckResult {
    const MESSAGES: usize = 40;
    let mut c = Framed::connect(t)?;
    c.welcome()?;
    let mut rng = SplitMix64::new(0x6E65_746C_6162);
    let messages: Vec<Vec<u8>> = (0..MESSAGES)
        .map(|index| {
            let length = 1 + rng.index(120.min(t.max_frame));
            let mut text = format!("m{index:02}-").into_bytes();
            text.resize(length.max(text.len()), b'a' + (index % 26) as u8);
            text
        })
        .collect();
    let mut stream = Vec::new();
    for message in &messages {
        t.framing
            .encode(message, &mut stream)
            .map_err(|err| Failure::new("a message the grader can frame", err.to_string()))?;
    }
    let mut rest = stream.as_slice();
    while !rest.is_empty() {
        let (piece, after) = rest.split_at((1 + rng.index(97)).min(rest.len()));
        send(&mut c.stream, piece)?;
        thread::sleep(Duration::from_millis(1));
        rest = after;
    }
    for (index, message) in messages.iter().enumerate() {
        let mut want = b"ACK ".to_vec();
        want.extend_from_slice(message);
        c.expect_frame(&want)
            .map_err(|f| Failure::new(f.expected, format!("answer {index}: {}", f.got)))?;
    }
    Ok(())
}

// --- checks shared by both protocols -----------------------------------------------------

/// One short exchange on a new connection: is the server still answering?
fn still_serving(t: Target) -> CheckResult {
    let outcome = match t.framing {
        Framing::Raw => connect(t.addr).and_then(|mut c| {
            send(&mut c, b"still there?")?;
            expect_bytes(&mut c, b"still there?")
        }),
        _ => Framed::connect(t).and_then(|mut c| {
            c.welcome()?;
            c.send(&[b"still there?"])?;
            c.expect_frame(b"ACK still there?")
        }),
    };
    // One wording whatever went wrong (refused, reset, silence): the student should look at
    // what the earlier clients did to the server.
    outcome.map_err(|f| Failure::new("a new client to be answered afterwards", f.got))
}

/// Sends `bytes` and resets the connection (SO_LINGER 0), as a crashed client would, then
/// gives the server [`AFTERMATH`] to deal with it.
fn vanish(t: Target, bytes: &[u8]) -> CheckResult {
    let mut c = connect(t.addr)?;
    send(&mut c, bytes)?;
    reset(c);
    Ok(())
}

/// `count` clients connect (and, in the message protocol, are welcomed) one after another and
/// stay connected; then all of them have one exchange at the same time. A server that serves
/// one client at a time fails here: the second client is never welcomed or echoed.
fn many_clients(t: Target, count: usize) -> CheckResult {
    enum Client {
        Raw(TcpStream),
        Framed(Framed),
    }
    let mut clients = Vec::with_capacity(count);
    for index in 0..count {
        let client = match t.framing {
            Framing::Raw => connect(t.addr).map(Client::Raw),
            _ => Framed::connect(t).and_then(|mut c| c.welcome().map(|_| Client::Framed(c))),
        };
        clients.push(client.map_err(|f| {
            Failure::new(f.expected, format!("client {index} of {count}: {}", f.got))
        })?);
    }
    let clients = all_at_once("client", clients, |index, client| {
        let message = format!("client {index}");
        match client {
            Client::Raw(c) => {
                send(c, message.as_bytes())?;
                expect_bytes(c, message.as_bytes())
            }
            Client::Framed(c) => {
                c.send(&[message.as_bytes()])?;
                c.expect_frame(format!("ACK {message}").as_bytes())
            }
        }
    })?;
    drop(clients);
    Ok(())
}

/// Streams `total` bytes while reading the echo concurrently; checks every byte.
fn stream_echo(t: Target, total: usize) -> CheckResult {
    let c = connect(t.addr)?;
    let mut writer = c
        .try_clone()
        .map_err(|err| Failure::new("a second handle", err.to_string()))?;
    let pattern = |i: usize| (i % 251) as u8;
    let sender = accept::spawn_named("grade-stream-writer", move || {
        let chunk: Vec<u8> = (0..total).map(pattern).collect();
        let sent = chunk
            .chunks(32 * 1024)
            .try_for_each(|piece| writer.write_all(piece));
        let _ = writer.shutdown(Shutdown::Write);
        sent
    })
    .map_err(|err| Failure::new("a thread to send the stream", err.to_string()))?;
    let mut reader = c;
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    while got < total {
        let n = match reader.read(&mut buf) {
            Ok(0) => {
                return Err(Failure::new(
                    format!("{total} bytes back"),
                    format!("{got} bytes, then the connection closed"),
                ));
            }
            Ok(n) => n,
            Err(err) => {
                return Err(Failure::new(
                    format!("{total} bytes back"),
                    format!("{got} bytes, then {}", io_said(&err)),
                ));
            }
        };
        for (offset, &byte) in buf.iter().take(n).enumerate() {
            if byte != pattern(got + offset) {
                return Err(Failure::new(
                    format!("byte {} to be {}", got + offset, pattern(got + offset)),
                    format!("{byte}: the stream was changed, reordered or lost bytes"),
                ));
            }
        }
        got += n;
    }
    match sender.join() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Failure::new("to send the whole stream", io_said(&err))),
        Err(_) => Err(Failure::new("the sending thread", "it panicked")),
    }
}

/// One client writes and never reads until its writes block (see
/// [`netlab_common::grade::flood`]: the server's buffers toward it are then full, whatever
/// their size); meanwhile another client must still get answers.
fn never_reads(t: Target) -> CheckResult {
    let mut hog = connect_unread(t.addr)?;
    let message = t
        .framing
        .encode_to_vec(&vec![b'z'; 1000.min(t.max_frame)])
        .unwrap_or_default();
    let flooded = flood(&mut hog, &message.repeat(16));
    let result = still_serving(t).map_err(|f| flooded.explain(f));
    leave_politely(hog);
    result
}
