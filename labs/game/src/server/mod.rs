//! # The game server: threads, one lock, bounded queues
//!
//! ```text
//!                    +------------------------------+
//!  accept thread --> |  per connection:             |
//!  (one)             |   reader thread  --line-->   |----+
//!                    |   writer thread  <--queue--  |    |   lock, handle, take lines,
//!                    +------------------------------+    |   try_send to queues, unlock
//!  ticker thread (forfeits after the grace period) ------+---> Mutex<State { Lobby, outboxes }>
//! ```
//!
//! - **One reader thread per connection** blocks in `read` on its socket. For each line it takes
//!   the lock, lets the [`Lobby`] decide, takes the lines the lobby wants sent, puts each into the
//!   recipient's *outbox* and lets go of the lock.
//! - **One writer thread per connection** takes lines from its outbox (a bounded channel) and
//!   writes them to the socket. It is the only thread that writes to that socket, so a slow client
//!   blocks only its own writer.
//! - **One lock** guards the whole state. A per-room lock would let games run in parallel, but two
//!   locks need a lock order (matchmaking touches the lobby and a room) and one lock held for a few
//!   microseconds is not the bottleneck at 1,000 players (docs/game.md has the measurement).
//!
//! ## How this avoids deadlocks and stalls
//! - No thread holds the lock while doing I/O. Under the lock, lines are only *offered* to
//!   outboxes with `try_send`, which never waits.
//! - There is only one lock, so there is no lock order to get wrong.
//! - An outbox holds at most [`OUTBOX_MESSAGES`] messages (a message is every line one event
//!   sends to one player: a move's `MOVED`, board and prompt travel together). When a client does
//!   not read, its writer blocks in `write`, its outbox fills, and the next `try_send` fails: that
//!   player is dropped ("too slow") and its socket is shut down, which also frees its blocked
//!   writer. Nobody else waits.
//!
//! ## Why lines are batched per player
//! Offering every line to the outbox on its own made the writer wake up and write one line at a
//! time while the lobby was still producing the rest: a dozen wake-ups, system calls and TCP
//! segments per move per player. Grouping one event's lines per player into one message cut that
//! to one of each (docs/game.md has the before and after).

mod connection;
pub mod lobby;
pub mod protocol;

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use netlab_common::net::{self, StopSignal};
use netlab_common::{Error, Result, Tracer, term};

pub use lobby::{Lobby, LobbyConfig, PlayerId, TokenSource};

/// Messages waiting for one client before it counts as too slow and is dropped.
pub const OUTBOX_MESSAGES: usize = 1024;

/// Stack size of the per-connection threads: they run short loops, so far less than the
/// default 2 MiB is plenty, and a thousand players cost less memory.
const THREAD_STACK: usize = 256 * 1024;

/// How often the ticker looks for players whose grace period ended.
const TICK: Duration = Duration::from_millis(250);

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Lobby limits (players, grace period, seed).
    pub lobby: LobbyConfig,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Lines per second a connection may send on average (bursts up to twice that).
    pub max_lines_per_sec: u32,
    /// `--trace`.
    pub tracer: Tracer,
}

/// A connected player's way out: its outbox, and the socket to shut down if it is too slow.
struct Outbox {
    lines: SyncSender<String>,
    socket: TcpStream,
}

/// The state behind the one lock.
struct State {
    lobby: Lobby,
    outboxes: HashMap<PlayerId, Outbox>,
}

/// Shared by every thread.
struct Shared {
    state: Mutex<State>,
    config: ServerConfig,
}

impl Shared {
    /// Takes the lock. A thread that panicked while holding it leaves it poisoned; the lobby's
    /// invariants hold between calls, so keep serving.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What happened during a delivery, for the operator's log. It is printed by the caller *after*
/// releasing the lock: writing to a terminal is I/O, and a slow terminal must not stall players.
#[must_use = "print the log after releasing the lock"]
pub(crate) struct OperatorLog {
    info: Vec<String>,
    warnings: Vec<String>,
}

impl OperatorLog {
    /// Prints the collected lines.
    pub(crate) fn print(self) {
        self.info.into_iter().for_each(term::info);
        self.warnings.into_iter().for_each(term::warn);
    }
}

impl State {
    /// Hands every line the lobby queued to its recipient's outbox, closes the outboxes of
    /// players the lobby removed, and drops players whose outbox is full.
    fn deliver(&mut self, now: Instant) -> OperatorLog {
        let mut log = OperatorLog {
            info: Vec::new(),
            warnings: Vec::new(),
        };
        loop {
            log.info.extend(self.lobby.take_log());
            let outgoing = self.lobby.take_outgoing();
            let removed = self.lobby.take_removed();
            if outgoing.is_empty() && removed.is_empty() {
                return log;
            }
            let mut too_slow = Vec::new();
            for (id, message) in batch_per_player(outgoing) {
                let Some(outbox) = self.outboxes.get(&id) else {
                    continue;
                };
                if let Err(TrySendError::Full(_)) = outbox.lines.try_send(message) {
                    too_slow.push(id);
                }
            }
            // Dropping the sender lets the writer send what is queued (a BYE) and then close.
            for id in removed {
                self.outboxes.remove(&id);
            }
            for id in too_slow {
                if let Some(outbox) = self.outboxes.remove(&id) {
                    let name = self.lobby.name_of(id).unwrap_or("?").to_string();
                    log.warnings.push(format!(
                        "{name} dropped: too slow ({OUTBOX_MESSAGES} messages waiting unread)"
                    ));
                    let _ = outbox.socket.shutdown(Shutdown::Both);
                    self.lobby.disconnect(id, now);
                }
            }
        }
    }
}

/// Joins the lines queued for each player into one message, newline-terminated, keeping each
/// player's lines in order.
fn batch_per_player(outgoing: Vec<(PlayerId, String)>) -> Vec<(PlayerId, String)> {
    let mut order: Vec<PlayerId> = Vec::new();
    let mut messages: HashMap<PlayerId, String> = HashMap::new();
    for (id, line) in outgoing {
        let message = messages.entry(id).or_insert_with(|| {
            order.push(id);
            String::new()
        });
        message.push_str(&line);
        message.push('\n');
    }
    order
        .into_iter()
        .filter_map(|id| messages.remove(&id).map(|message| (id, message)))
        .collect()
}

/// Binds, prints `listening on ADDR`, and serves until Ctrl-C.
pub fn run(config: ServerConfig) -> Result<()> {
    let listener = net::listen(config.addr)?;
    let local = listener
        .local_addr()
        .map_err(|err| Error::io("reading the listening address", err))?;
    net::announce_listening(local);
    term::info(format!(
        "max {} players, {}s grace to come back, idle timeout {}s; `nc {} {}` to play by hand",
        config.lobby.max_players,
        config.lobby.grace.as_secs(),
        config.idle_timeout.as_secs(),
        local.ip(),
        local.port()
    ));
    let stop = StopSignal::default();
    stop.on_ctrl_c(local)?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            lobby: Lobby::new(config.lobby.clone(), TokenSource::random()),
            outboxes: HashMap::new(),
        }),
        config,
    });
    start_ticker(Arc::clone(&shared), stop.clone())?;
    for incoming in listener.incoming() {
        if stop.requested() {
            break;
        }
        match incoming {
            Ok(stream) => {
                let shared = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("game-reader".into())
                    .stack_size(THREAD_STACK)
                    .spawn(move || connection::serve(&shared, stream));
                if let Err(err) = spawned {
                    term::warn(format!("cannot start a thread for a new player: {err}"));
                }
            }
            Err(err) => term::warn(format!("accept failed: {err}")),
        }
    }
    term::info("stopped (Ctrl-C)");
    Ok(())
}

/// Starts the thread that forfeits players whose grace period has ended.
fn start_ticker(shared: Arc<Shared>, stop: StopSignal) -> Result<()> {
    thread::Builder::new()
        .name("game-ticker".into())
        .spawn(move || {
            while !stop.requested() {
                thread::sleep(TICK);
                let now = Instant::now();
                let mut state = shared.lock();
                state.lobby.tick(now);
                let log = state.deliver(now);
                drop(state);
                log.print();
            }
        })
        .map(|_| ())
        .map_err(|err| Error::io("starting the ticker thread", err))
}
