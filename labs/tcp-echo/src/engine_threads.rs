//! # Engine 1: a thread per client
//!
//! The simplest concurrent server: the main thread loops on `accept`, and every accepted
//! connection gets its own OS thread that runs ordinary blocking code: read, answer, repeat. While
//! one thread waits for its client, the OS runs the others.
//!
//! It is easy to read and to get right. Its costs: every client holds a thread (a stack, kernel
//! bookkeeping, a context switch whenever it wakes), which is why event loops ([`crate::engine_mio`])
//! exist. Compare them with `tcp-echo bench` (docs/tcp-echo.md).
//!
//! ## Back-pressure comes for free
//! If a client sends but never reads, our `write_all` of its echo eventually blocks (its receive
//! window and our send buffer are full). The thread then stops reading from that client, the
//! client's own sends block in turn, and no memory grows anywhere: the kernel's socket buffers are
//! the only queue. The other clients' threads are unaffected.
//!
//! ## Silent clients are dropped (`--idle-timeout`)
//! A blocking `read` from a client that never sends waits for ever, and the client keeps its
//! thread and its place under `--max-clients`. A killed client process is noticed at once (its
//! kernel sends FIN or RST, and `read` returns), but a pulled cable or a crashed machine sends
//! nothing at all (RFC 1122 4.2.3.6: without keepalive, TCP never probes an idle connection). So
//! every socket gets a read *and* a write timeout of `--idle-timeout` seconds: a client that sends
//! nothing, or takes none of our echo, for that long is dropped. In line and length framing a
//! client that went silent is told why first; in raw framing nothing is written (see
//! [`protocol::says_why_in_band`]).
//!
//! ## What one echo costs
//! In raw framing an echo is one `read` and one `write`, from one buffer reused for the whole
//! connection, with TCP_NODELAY on so the echo leaves at once. The rest of the cost is the
//! thread itself: each message wakes the client's thread, which runs, writes, and goes back to
//! sleep in `read`: one context switch per message, where the event loop handles many ready
//! sockets per wake-up. Measured with `perf stat` at 256 connections of 64-byte ping-pong
//! (docs/results/echo-2026-12-07.md), that makes this engine's CPU per round trip about twice
//! the mio engine's. The idle timeout is not free either: every `read` that has to wait arms
//! and then cancels a kernel timer for `--idle-timeout`; in the same measurement that was about
//! a twentieth of the server's CPU (`--idle-timeout 0` turns it off).
//!
//! ## Shared state
//! The client table is shared behind a `Mutex`, locked only to admit, remove or list clients and
//! never while reading or writing a socket: a thread stuck in a slow `write` while holding the lock
//! would stall every other client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use netlab_common::accept::{self, ClientThreads, Turnaway};
use netlab_common::framing::{FrameReader, Framing};
use netlab_common::{Error, Result, Traced, net, term};

use crate::protocol;
use crate::registry::{ClientId, Registry};
use crate::server::{ServeConfig, Stop};

/// Accepts clients until `stop` is requested, one thread each (at most `--max-clients` plus a
/// few spare ones for refusals; see `netlab_common::accept` for what happens past that, or when
/// the operating system refuses a thread).
pub fn serve(listener: TcpListener, config: ServeConfig, stop: &Stop) -> Result<()> {
    let config = Arc::new(config);
    let registry = Arc::new(Mutex::new(Registry::new(config.max_clients)));
    let threads = ClientThreads::for_clients("echo-client", config.max_clients);
    let for_clients = Arc::clone(&config);
    accept::serve_each(
        &listener,
        Some(stop),
        &threads,
        move |stream, _peer| serve_client(stream, &registry, &for_clients),
        |stream, peer, why| turn_away(stream, peer, &config, why),
    );
    Ok(())
}

/// Tells a client that got no thread why, in the framings that have room for a message. Raw
/// framing (RFC 862) has none: every byte the server sends is echo data, so it only closes.
fn turn_away(stream: &TcpStream, peer: SocketAddr, config: &ServeConfig, why: &Turnaway) {
    if config.framing == Framing::Raw {
        return;
    }
    let refusal = format!("ERROR server busy ({why}); try again later");
    if let Ok(frame) = config.framing.encode_to_vec(refusal.as_bytes()) {
        accept::write_refusal(Traced::new(stream, peer, config.tracer), &frame);
    }
}

/// Locks the client table. A thread that panicked while holding the lock leaves it "poisoned";
/// the table itself is still consistent (every change is one map operation), so keep serving.
fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How a conversation ended: why (for the log), and the frame to send on the way out.
struct Ending {
    /// For the log: "said exit", "closed by the client", "idle for 300 s".
    why: String,
    /// The last frame to send before closing (line and length framing only).
    farewell: Option<Vec<u8>>,
}

impl Ending {
    fn quietly(why: impl Into<String>) -> Ending {
        Ending {
            why: why.into(),
            farewell: None,
        }
    }
}

/// Serves one client from connection to close.
fn serve_client(stream: TcpStream, registry: &Mutex<Registry>, config: &ServeConfig) {
    let Ok(peer) = stream.peer_addr() else {
        return; // the client left before we looked at it
    };
    // A failure here only changes timing, never correctness, so it is not worth dropping a client.
    let _ = stream.set_nodelay(config.nodelay);
    // `--idle-timeout`: a read that waits this long, or a write the client does not make room for
    // in this long, fails with a timeout. Each call starts a new clock, so every byte that moves
    // restarts it.
    let _ = stream.set_read_timeout(config.idle_timeout);
    let _ = stream.set_write_timeout(config.idle_timeout);
    let admitted = lock(registry).admit(peer);
    let (id, name) = match admitted {
        Ok(admitted) => admitted,
        Err(full) => {
            term::warn(format!(
                "refused {peer}: server full ({} clients)",
                full.max_clients
            ));
            if protocol::says_why_in_band(config.framing) {
                let _ = send_frames(&stream, peer, config, &[protocol::server_full(full)]);
            }
            net::close_gracefully(&stream);
            return;
        }
    };
    term::info(format!("{name} connected from {peer}"));
    let result = match config.framing {
        Framing::Raw => echo_raw(&stream, peer, config),
        Framing::Line | Framing::Length => converse(&stream, peer, id, &name, registry, config),
    };
    // Out of the table first: the place is free (and `status` no longer lists the client) while
    // the last frame goes out and the connection closes, which may take seconds.
    lock(registry).remove(id);
    match result {
        Ok(ending) => {
            if let Some(farewell) = ending.farewell {
                let _ = send_frames(&stream, peer, config, &[farewell]);
            }
            net::close_gracefully(&stream);
            term::info(format!("{name} disconnected ({})", ending.why));
        }
        // No byte moved for `--idle-timeout` while we waited for the client to send (read) or to
        // make room for our echo (write). Which one does not matter: it is not taking part.
        Err(Error::Timeout { .. }) => {
            let idle = config.idle_timeout.unwrap_or_default();
            term::warn(format!(
                "{name}: {}; disconnecting",
                protocol::idle_reason(idle)
            ));
            net::close_gracefully(&stream);
            term::info(format!(
                "{name} disconnected ({})",
                protocol::idle_for(idle)
            ));
        }
        Err(err) if err.is_disconnect() => term::info(format!("{name} vanished ({err})")),
        Err(err) => term::warn(format!("{name} dropped: {err}")),
    }
}

/// RFC 862: send back every byte, unchanged, until the client closes. A timeout (see
/// `--idle-timeout`) comes back as [`Error::Timeout`]; nothing is written for it, since in raw
/// framing every byte we write is echo data.
fn echo_raw(stream: &TcpStream, peer: SocketAddr, config: &ServeConfig) -> Result<Ending> {
    let mut wire = Traced::new(stream, peer, config.tracer);
    let mut buf = vec![0u8; config.read_size];
    loop {
        let got = match wire.read(&mut buf) {
            Ok(0) => return Ok(Ending::quietly("closed by the client")),
            Ok(got) => got,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Error::io("reading from the client", err)),
        };
        wire.write_all(&buf[..got])
            .map_err(|err| Error::io("echoing to the client", err))?;
    }
}

/// Line or length framing: greet, then answer each message per [`protocol::respond`].
fn converse(
    stream: &TcpStream,
    peer: SocketAddr,
    id: ClientId,
    name: &str,
    registry: &Mutex<Registry>,
    config: &ServeConfig,
) -> Result<Ending> {
    // One traced writer for the whole conversation: making one asks the socket its own address
    // (a `getsockname` system call), which is not worth paying again for every reply.
    let mut replies = Traced::new(stream, peer, config.tracer);
    write_frames(&mut replies, config.framing, &[protocol::welcome(name)])?;
    let wire = Traced::new(stream, peer, config.tracer);
    let mut frames = FrameReader::new(wire, config.framing, config.max_frame);
    loop {
        let message = match frames.read_frame() {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(Ending::quietly("closed by the client")),
            Err(Error::Frame(rule_broken)) => {
                term::warn(format!("{name}: {rule_broken}"));
                return Ok(Ending {
                    why: "message over the size limit".to_string(),
                    farewell: Some(protocol::frame_error(&rule_broken)),
                });
            }
            // The read timeout passed with nothing received: the client is silent, so it still
            // has room for one short frame saying why it is dropped. (A timeout while *writing*
            // goes up as an error instead: that client is not reading, so nothing can reach it.)
            Err(Error::Timeout { .. }) => {
                let idle = config.idle_timeout.unwrap_or_default();
                term::warn(format!(
                    "{name}: {}; disconnecting",
                    protocol::idle_reason(idle)
                ));
                return Ok(Ending {
                    why: protocol::idle_for(idle),
                    farewell: Some(protocol::idle_error(idle)),
                });
            }
            Err(err) => return Err(err),
        };
        // Decide under the lock, send after releasing it.
        let reply = protocol::respond(&message, id, &lock(registry), Instant::now());
        write_frames(&mut replies, config.framing, &reply.frames)?;
        if reply.close {
            return Ok(Ending::quietly("said exit"));
        }
    }
}

/// Sends frames on a connection that has no traced writer of its own (a refusal, a farewell).
fn send_frames(
    stream: &TcpStream,
    peer: SocketAddr,
    config: &ServeConfig,
    payloads: &[Vec<u8>],
) -> Result<()> {
    let mut wire = Traced::new(stream, peer, config.tracer);
    write_frames(&mut wire, config.framing, payloads)
}

/// Frames every payload into one buffer and writes it with one `write_all`: one system call per
/// reply however many frames it has (`status` answers with several).
fn write_frames(
    wire: &mut Traced<&TcpStream>,
    framing: Framing,
    payloads: &[Vec<u8>],
) -> Result<()> {
    let mut bytes = Vec::new();
    for payload in payloads {
        framing.encode(payload, &mut bytes)?;
    }
    wire.write_all(&bytes)
        .map_err(|err| Error::io("writing to the client", err))
}
