//! # Engine 1 (`--engine threads`): threads, one lock, bounded queues
//!
//! ```text
//!                    +------------------------------+
//!  accept thread --> |  per connection:             |
//!  (one)             |   reader thread  --line-->   |----+   lock, handle, queue each player's
//!                    |   outbox (bounded queue)     |    |   message in its outbox, unlock;
//!                    |   writer thread (if full)    |    |   then write to the sockets without
//!                    +------------------------------+    |   waiting
//!  ticker thread (forfeits after the grace period) ------+---> Mutex<State { Lobby, outboxes }>
//! ```
//!
//! - **One reader thread per connection** blocks in `read` on its socket. For each line it takes
//!   the lock, lets the [`Lobby`] decide, puts the message the lobby wants each player sent into
//!   that player's *outbox* (a bounded queue), and lets go of the lock. Then it writes those
//!   messages into the players' sockets with non-blocking `send`s: a move reaches both players
//!   without waking any other thread.
//! - **One writer thread per connection** sleeps until a non-blocking `send` finds that player's
//!   socket full, then takes over and writes with blocking writes. It is the only thread that ever
//!   waits for that client, so a slow client blocks only its own writer (`outbox.rs` explains the
//!   hand-over and why messages stay in order).
//! - **One lock** guards the whole state. A per-room lock would let games run in parallel, but two
//!   locks need a lock order (matchmaking touches the lobby and a room), and the one lock is not
//!   the bottleneck at 1,000 players: at 11,000 moves a second it is held for about 15 us per move
//!   and the median wait for it is under a microsecond (docs/game.md has the measurement).
//!
//! ## How this avoids deadlocks and stalls
//! - No thread holds the lock while doing I/O. Under the lock, messages are only pushed onto
//!   outbox queues, which never waits; the `send`s come after the lock is released.
//! - There is only one lock that is held for long, so there is no lock order to get wrong. (Each
//!   outbox has a small mutex of its own for its queue, taken for a push or a pop and never while
//!   waiting for anything; the lobby lock may be held while taking it, never the other way round.)
//! - An outbox holds at most [`OUTBOX_MESSAGES`](super::OUTBOX_MESSAGES) messages (a message is every line one event
//!   sends to one player: a move's `MOVED`, board and prompt travel together). When a client does
//!   not read, its socket fills, its writer blocks in `write`, its queue fills, and the next
//!   message for it does not fit: that player is dropped ("too slow") and its socket is shut down,
//!   which also frees its blocked writer. Nobody else waits.
//!
//! ## What made it fast, measured
//! - Batching: one message per player per event instead of one queue entry per line (a dozen
//!   wake-ups, writes and TCP segments per move per player became one of each).
//! - Writing directly from the thread that produced the message, instead of waking the
//!   recipient's writer thread for every message: a move used to wake three threads among 2,000
//!   (the mover's reader, two writers); now it wakes one.
//! - Little work under the lock: the lobby appends lines straight into each player's message,
//!   and matchmaking remembers its waiting room instead of scanning every room.

mod connection;
mod outbox;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Instant;

use netlab_common::accept::{self, ClientThreads};
use netlab_common::net::StopSignal;
use netlab_common::{Result, term};

use super::limits;
use super::{Lobby, PlayerId, ServeConfig, TICK, TokenSource};
use outbox::{Offer, Outbox};

/// Stack size of the per-connection threads: they run short loops, so far less than the
/// default 2 MiB is plenty, and a thousand players cost less memory.
const THREAD_STACK: usize = 256 * 1024;

/// The state behind the one lock.
struct State {
    lobby: Lobby,
    /// Each connected player's outbox, shared with that player's writer thread.
    outboxes: HashMap<PlayerId, Arc<Outbox>>,
}

/// Shared by every thread.
struct Shared {
    state: Mutex<State>,
    config: ServeConfig,
}

impl Shared {
    /// Takes the lock. A thread that panicked while holding it leaves it poisoned; the lobby's
    /// invariants hold between calls, so keep serving.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What is left to do after a delivery, once the lock is released: write the queued messages
/// and print the operator's log. Both are I/O: a full socket or a slow terminal must not stall
/// the players waiting for the lock.
#[must_use = "call finish() after releasing the lock"]
pub(super) struct Delivery {
    /// Outboxes that were given messages, in the order they were given them.
    flush: Vec<Arc<Outbox>>,
    info: Vec<String>,
    warnings: Vec<String>,
}

impl Delivery {
    fn new() -> Delivery {
        Delivery {
            flush: Vec::new(),
            info: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Queues `message` for `outbox` (under the lock) and remembers to flush it. Returns
    /// [`Offer::Full`] when the client is too slow.
    fn offer(&mut self, outbox: &Arc<Outbox>, message: String) -> Offer {
        let offer = outbox.offer(message);
        if offer == Offer::Queued {
            // Listed once per message; flushing an outbox a second time finds it empty.
            self.flush.push(Arc::clone(outbox));
        }
        offer
    }

    /// Writes what was queued (each outbox without waiting; a full socket is left to that
    /// player's writer thread), then prints the collected log lines.
    pub(super) fn finish(self) {
        self.flush.iter().for_each(|outbox| outbox.flush());
        self.info.into_iter().for_each(term::info);
        self.warnings.into_iter().for_each(term::warn);
    }
}

impl State {
    /// Queues every line the lobby produced in its recipient's outbox, closes the outboxes of
    /// players the lobby removed, and drops players whose outbox is full. Nothing here waits: the
    /// writing happens in [`Delivery::finish`], after the caller releases the lock.
    fn deliver(&mut self, now: Instant) -> Delivery {
        let mut delivery = Delivery::new();
        loop {
            delivery.info.extend(self.lobby.take_log());
            let outgoing = self.lobby.take_outgoing();
            let removed = self.lobby.take_removed();
            if outgoing.is_empty() && removed.is_empty() {
                return delivery;
            }
            let mut too_slow = Vec::new();
            for (id, message) in outgoing {
                let Some(outbox) = self.outboxes.get(&id) else {
                    continue;
                };
                if delivery.offer(outbox, message) == Offer::Full {
                    too_slow.push(id);
                }
            }
            // Closing lets the writer send what is queued (a BYE) and then close the socket.
            for id in removed {
                if let Some(outbox) = self.outboxes.remove(&id) {
                    outbox.close();
                }
            }
            for id in too_slow {
                if let Some(outbox) = self.outboxes.remove(&id) {
                    let name = self.lobby.name_of(id).unwrap_or("?").to_string();
                    delivery.warnings.push(limits::too_slow(&name));
                    outbox.shut_down();
                    self.lobby.disconnect(id, now);
                }
            }
        }
    }

    /// Queues one line for player `id` only (not from the lobby: a rate-limit warning, an
    /// encoding error, last words before closing).
    fn tell(&self, id: PlayerId, line: String) -> Delivery {
        let mut delivery = Delivery::new();
        if let Some(outbox) = self.outboxes.get(&id) {
            // A full outbox here is left alone: the next delivery to this player drops it.
            let _ = delivery.offer(outbox, line);
        }
        delivery
    }
}

/// Serves on `listener` with a reader thread (and a writer thread) per player until `stop` is
/// requested.
pub(super) fn serve(listener: &TcpListener, config: ServeConfig, stop: &StopSignal) -> Result<()> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            lobby: Lobby::new(config.lobby.clone(), TokenSource::random()),
            outboxes: HashMap::new(),
        }),
        config,
    });
    start_ticker(Arc::clone(&shared), stop.clone())?;
    // A reader thread per player (its writer is started in `connection`), bounded; see
    // netlab_common::accept for what happens past the bound or when no thread can be had.
    let threads = ClientThreads::for_clients("game-reader", shared.config.lobby.max_players)
        .with_stack_size(THREAD_STACK);
    accept::serve_each(
        listener,
        Some(stop),
        &threads,
        move |stream, _peer| connection::serve(&shared, stream),
        |stream, _peer, why| {
            let refusal = format!("ERR server busy ({why}); try again later\n");
            accept::write_refusal(stream, refusal.as_bytes());
        },
    );
    Ok(())
}

/// Starts the thread that forfeits players whose grace period has ended.
fn start_ticker(shared: Arc<Shared>, stop: StopSignal) -> Result<()> {
    accept::spawn_named("game-ticker", move || {
        while !stop.requested() {
            thread::sleep(TICK);
            let now = Instant::now();
            let mut state = shared.lock();
            state.lobby.tick(now);
            let delivery = state.deliver(now);
            drop(state);
            delivery.finish();
        }
    })
    .map(|_| ())
}
