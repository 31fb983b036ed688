//! # One connection: a reader thread and a writer thread
//!
//! The reader blocks in `read` and turns bytes into lines (line framing, at most
//! [`MAX_LINE`] bytes: a longer line is refused and the connection closed, so a client cannot make
//! the server buffer a 1 MB line). What the player is sent does not go through its reader: it is
//! written into the socket by whichever thread produced it, or, when the socket is full, by the
//! player's writer thread (see `outbox.rs`). So a player receives board updates and chat while
//! idle: pushes never wait for the player to send something.
//!
//! ## Idle connections
//! The reader's socket has a read timeout of `--idle-timeout` (none with `--idle-timeout 0`). A
//! connection that sends nothing for that long is usually dead: its peer crashed, or vanished
//! without a FIN, and only a timeout will ever tell. It is closed, and a player in a game goes `AWAY` like any other disconnect.
//! One kind of silence is normal, though: a spectator watching a game has nothing to say. So when
//! the timeout fires, the reader asks the lobby whether the connection is watching a game in
//! progress, and if so keeps it for another period. The exemption ends with the game: a
//! spectator left in the lobby is closed at the next timeout, so a dead spectator is not kept
//! for ever. A seated player gets no exemption, since a player who never moves would stall the
//! game for everyone.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use netlab_common::framing::{FrameReader, Framing};
use netlab_common::{Error, Traced, net, term};

use super::outbox::Outbox;
use super::{Shared, THREAD_STACK};
use crate::server::PlayerId;
use crate::server::limits::{self, RateLimit};
use crate::server::protocol::MAX_LINE;

/// Serves one accepted connection until it closes (runs on its own reader thread).
pub(super) fn serve(shared: &Shared, stream: TcpStream) {
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let config = &shared.config;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(config.idle_timeout);
    let Some(id) = admit(shared, &stream, peer) else {
        return;
    };
    let ended = read_lines(shared, &stream, peer, id);
    let now = Instant::now();
    let mut state = shared.lock();
    let last_words = ended.last_words.map(|words| state.tell(id, words));
    // Closing the outbox lets the writer finish the queued lines and close the socket.
    if let Some(outbox) = state.outboxes.remove(&id) {
        outbox.close();
    }
    state.lobby.disconnect(id, now);
    let delivery = state.deliver(now);
    drop(state);
    if let Some(last_words) = last_words {
        last_words.finish();
    }
    delivery.finish();
    term::info(format!("{peer} disconnected: {}", ended.reason));
}

/// Registers the player and starts its writer, or tells it the server is full.
fn admit(shared: &Shared, stream: &TcpStream, peer: SocketAddr) -> Option<PlayerId> {
    let socket = match stream.try_clone() {
        Ok(socket) => socket,
        Err(err) => {
            term::warn(format!("turned away {peer}: duplicating its socket: {err}"));
            return None;
        }
    };
    let outbox = Arc::new(Outbox::new(socket, peer, shared.config.tracer));
    let mut state = shared.lock();
    let id = match state.lobby.connect(peer) {
        Ok(id) => id,
        Err(refusal) => {
            drop(state);
            term::warn(format!("refused {peer}: server full"));
            let mut wire = Traced::new(stream, peer, shared.config.tracer);
            let _ = wire.write_all(format!("{refusal}\n").as_bytes());
            net::close_gracefully(stream);
            return None;
        }
    };
    state.outboxes.insert(id, Arc::clone(&outbox));
    let name = state.lobby.name_of(id).unwrap_or("?").to_string();
    let delivery = state.deliver(Instant::now());
    drop(state);
    delivery.finish();
    let spawned = thread::Builder::new()
        .name("game-writer".into())
        .stack_size(THREAD_STACK)
        .spawn(move || outbox.run_writer());
    if spawned.is_err() {
        term::warn(format!("cannot start a writer thread for {peer}"));
        let _ = stream.shutdown(Shutdown::Both);
    }
    term::info(format!("{name} connected from {peer}"));
    Some(id)
}

/// Why the reader stopped, and what to tell the client (if anything, a whole line) before
/// closing.
struct Ended {
    reason: String,
    last_words: Option<String>,
}

/// Reads lines and hands each to the lobby, until the client closes or breaks a rule.
fn read_lines(shared: &Shared, stream: &TcpStream, peer: SocketAddr, id: PlayerId) -> Ended {
    let wire = Traced::new(stream, peer, shared.config.tracer);
    let mut lines = FrameReader::new(wire, Framing::Line, MAX_LINE);
    let mut limit = RateLimit::new(shared.config.max_lines_per_sec);
    let mut warned = false;
    loop {
        let bytes = match lines.read_frame() {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return ended("closed the connection", None),
            Err(Error::Frame(_)) => {
                return ended("sent a line over the limit", Some(limits::line_too_long()));
            }
            Err(Error::Timeout { .. }) => {
                // Only a socket with a read timeout times out, so the timeout is set here.
                let idle = shared.config.idle_timeout;
                if let Some(watching) = watching_a_game(shared, id) {
                    // A spectator has nothing to say while a game goes on: keep it, and look
                    // again after another idle period (the next `read_frame` starts a new one).
                    term::info(limits::watching_not_idle(&watching, idle));
                    continue;
                }
                return ended("idle timeout", Some(limits::idle_words(idle)));
            }
            Err(err) => return ended(&err.to_string(), None),
        };
        if !limit.allow(Instant::now()) {
            // Refused without touching the lobby; one warning per burst, not one per line.
            if !warned {
                let warning = limits::too_many_lines(shared.config.max_lines_per_sec);
                let delivery = shared.lock().tell(id, warning);
                delivery.finish();
                warned = true;
            }
            continue;
        }
        warned = false;
        let mut state = shared.lock();
        let delivery = match std::str::from_utf8(&bytes) {
            Ok(line) => {
                state.lobby.handle_line(id, line);
                state.deliver(Instant::now())
            }
            Err(_) => state.tell(id, limits::NOT_UTF8.into()),
        };
        let still_connected = state.outboxes.contains_key(&id);
        drop(state);
        delivery.finish();
        if !still_connected {
            // The lobby removed us (quit) or we were too slow.
            return ended("left", None);
        }
    }
}

/// When player `id` is a spectator of a game in progress: "NAME in room N", for the log.
fn watching_a_game(shared: &Shared, id: PlayerId) -> Option<String> {
    let state = shared.lock();
    let room = state.lobby.watched_game(id)?;
    let name = state.lobby.name_of(id).unwrap_or("?");
    Some(format!("{name} in room {room}"))
}

fn ended(reason: &str, last_words: Option<String>) -> Ended {
    Ended {
        reason: reason.to_string(),
        last_words,
    }
}
