//! # The game server: one lobby, two ways to wait for players
//!
//! Everything the server *decides* (rooms, matchmaking, turns, secrets, forfeits) is in the
//! [`lobby`], a state machine with no sockets and no clock. What is left is moving bytes between
//! the players' sockets and the lobby, and there are two classic ways to do that, chosen with
//! `--engine`:
//!
//! - **`threads`** (the default): a reader thread and a writer thread per player, and one lock
//!   around the lobby. Each thread blocks in `read` or `write` and the kernel's scheduler decides
//!   who runs. Simple to write and to follow; costs two threads per player.
//! - **`mio`**: one thread and an event loop over non-blocking sockets. The thread asks the kernel
//!   which sockets are ready (epoll, kqueue) and serves those. The lobby needs no lock, because
//!   only that thread touches it; a player costs a socket and a few hundred bytes.
//!
//! Both speak the same protocol byte for byte, enforce the same limits with the same words
//! ([`limits`]), and write the same log lines: the integration tests run against each.
//! docs/game.md ("Two engines") compares them, with measurements.
//!
//! ## Layout
//! - [`protocol`]: the text protocol (one command per line) and its limits.
//! - [`lobby`]: the state machine; time and seat-token randomness come in as arguments.
//! - [`limits`]: what both engines enforce on a connection, and the messages that say so.
//! - `engine_threads/`: the thread-per-player engine (`mod.rs` the lock and the delivery,
//!   `connection.rs` a player's reader thread, `outbox.rs` its bounded queue and writer thread).
//! - `engine_mio/`: the event-loop engine (`mod.rs` the loop, accepting, timers and delivery,
//!   `connection.rs` one player's socket, buffers and lingering close, `log.rs` the operator's
//!   log lines, printed once per turn).

mod engine_mio;
mod engine_threads;
pub mod limits;
pub mod lobby;
pub mod protocol;

use std::net::SocketAddr;
use std::time::Duration;

use netlab_common::{Result, Tracer, net, term};

pub use limits::OUTBOX_MESSAGES;
pub use lobby::{Lobby, LobbyConfig, PlayerId, TokenSource};

/// Whether a socket `read` that returns fewer bytes than it was asked for may be taken as "the
/// kernel's receive buffer is empty, and new bytes will bring a new readiness event", so that an
/// event loop need not read again to hear `WouldBlock` (the event loop's `connection.rs` has the
/// whole argument): where readiness is edge-triggered (`netlab_common::net::EDGE_TRIGGERED`
/// lists the platforms). Used by the server's event loop and by the bench's bots.
pub(crate) const SHORT_READ_MEANS_DRAINED: bool = netlab_common::net::EDGE_TRIGGERED;

/// How often the lobby is asked to forfeit players whose grace period ended
/// ([`Lobby::tick`]): by the ticker thread, or by the event loop's poll timeout.
const TICK: Duration = Duration::from_millis(250);

/// How the server waits for many players at once.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A reader and a writer thread per player, one lock around the lobby.
    Threads,
    /// One thread and an event loop over non-blocking sockets (epoll/kqueue via mio).
    Mio,
}

impl Engine {
    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Threads => "threads",
            Engine::Mio => "mio",
        }
    }
}

/// What `game-lab serve` was asked to do: everything the server needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Which engine moves the bytes.
    pub engine: Engine,
    /// Lobby limits (players, grace period, seed).
    pub lobby: LobbyConfig,
    /// A connection that sends nothing for this long is closed (unless it watches a game);
    /// `None`: never (`--idle-timeout 0`).
    pub idle_timeout: Option<Duration>,
    /// Lines per second a connection may send on average (bursts up to twice that).
    pub max_lines_per_sec: u32,
    /// `--trace`.
    pub tracer: Tracer,
}

/// Binds, prints `listening on ADDR`, and serves with the chosen engine until Ctrl-C.
pub fn run(config: ServeConfig) -> Result<()> {
    let net::Listening {
        listener,
        addr: local,
        stop,
    } = net::start_server(config.addr)?;
    // Thousands of players need thousands of descriptors; ask for what the system allows. The
    // threads engine holds two per player (its reader's socket and the outbox's clone of it).
    let per_player = match config.engine {
        Engine::Threads => 2,
        Engine::Mio => 1,
    };
    limits::raise_open_files_limit(config.lobby.max_players, per_player);
    term::info(format!(
        "max {} players, {}s grace to come back, {}; `nc {} {}` to play by hand",
        config.lobby.max_players,
        config.lobby.grace.as_secs(),
        match config.idle_timeout {
            Some(idle) => format!("idle timeout {}s", idle.as_secs()),
            None => "no idle timeout".to_string(),
        },
        local.ip(),
        local.port()
    ));
    match config.engine {
        Engine::Threads => engine_threads::serve(&listener, config, &stop)?,
        Engine::Mio => engine_mio::serve(listener, config, &stop)?,
    }
    term::info("stopped (Ctrl-C)");
    Ok(())
}
