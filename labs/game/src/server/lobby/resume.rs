//! Coming back to a seat: seat tokens and `resume`.
//!
//! When a game starts, each seated player is sent a *token*, privately: `TOKEN ROOM TOKEN`. It is
//! 16 hexadecimal digits (64 random bits) and it is never sent to anyone else, written to the
//! server's log, or shown in a board; its `Debug` form is `SeatToken(hidden)`, so not even a debug
//! print of the lobby shows it. (`--trace` dumps every byte sent, tokens included: it is a tool
//! for the operator of the machine, who could read the server's memory anyway.) A connection that types `resume TOKEN` proves it is that
//! player and gets the seat back: name, seat, board and turn. A name proves nothing, since anyone
//! can type it, and an IP address proves little, since everyone on one machine (127.0.0.1) or
//! behind one home router shares it; so neither is asked for. This way a player can even come
//! back from another network, as a phone moving from Wi-Fi to mobile data does.
//!
//! Two details of the design:
//!
//! - **A token works once.** Coming back issues a fresh token and the old one stops working, so
//!   a token seen over someone's shoulder after they used it is worthless.
//! - **A token beats a half-dead connection.** When a connection dies without a FIN (Wi-Fi gone,
//!   laptop asleep) the server does not know for a while: the seat still looks connected. Whoever
//!   holds the token is the player, so `resume` then takes the seat over and closes the old
//!   connection instead of making the player wait for the idle timeout.
//!
//! Guessing is hopeless: 2^64 possible tokens against at most a few hundred guesses a second
//! (the per-connection line rate limit) during a grace period of seconds.

use std::fmt;
use std::hash::{BuildHasher, RandomState};

use netlab_common::term::sanitize;

use super::{Lobby, Place, PlayerId, RoomId};

/// Where seat tokens come from. The lobby reads no clock and draws no random numbers itself
/// (that is what keeps its tests deterministic), so the caller hands it a source: the server uses
/// [`TokenSource::random`], tests [`TokenSource::counting`].
pub struct TokenSource(Box<dyn FnMut() -> u64 + Send>);

impl TokenSource {
    /// Unpredictable tokens. The standard library has no random number API, but `RandomState`
    /// is keyed with 128 bits from the operating system's random source (for hash tables that
    /// attackers cannot flood), and SipHash under a secret key is a pseudorandom function: hashing
    /// a counter gives numbers nobody can predict without the key. A server holding real money
    /// would use a dedicated generator (the `getrandom` or `rand` crates).
    pub fn random() -> TokenSource {
        let key = RandomState::new();
        let mut counter: u64 = 0;
        TokenSource(Box::new(move || {
            counter = counter.wrapping_add(1);
            key.hash_one(counter)
        }))
    }

    /// Predictable tokens (`start`, `start + 1`, ...), for tests only: anyone could guess them.
    pub fn counting(start: u64) -> TokenSource {
        let mut next = start;
        TokenSource(Box::new(move || {
            let token = next;
            next = next.wrapping_add(1);
            token
        }))
    }

    /// The next token, as the 16 hexadecimal digits players type.
    fn next(&mut self) -> String {
        format!("{:016x}", (self.0)())
    }
}

/// A seat's token. Kept in its own type so that `{:?}` on a player or the lobby cannot leak it.
pub(super) struct SeatToken(String);

impl SeatToken {
    /// True when `typed` is this token.
    fn is(&self, typed: &str) -> bool {
        self.0 == typed
    }
}

impl fmt::Debug for SeatToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeatToken(hidden)")
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSource")
    }
}

impl Lobby {
    /// Gives `player`, seated in a game in `room_id`, a new token and tells them, and only them.
    pub(super) fn issue_token(&mut self, room_id: RoomId, player: PlayerId) {
        let token = self.tokens.next();
        let Some(seated) = self.players.get_mut(&player) else {
            return;
        };
        seated.token = Some(SeatToken(token.clone()));
        self.send(
            player,
            format!(
                "TOKEN {room_id} {token} \
                 (if your connection drops, reconnect and type: resume {token})"
            ),
        );
    }

    /// `resume TOKEN`: the connection `id`, in the lobby, takes back the seat the token belongs to.
    pub(super) fn resume(&mut self, id: PlayerId, token: &str) {
        if token.is_empty() {
            return self.send(
                id,
                "ERR resume needs the token from your TOKEN line: resume TOKEN".into(),
            );
        }
        if !self.in_lobby(id) {
            return;
        }
        let owner = self
            .players
            .iter()
            .find(|(other, player)| {
                **other != id && player.token.as_ref().is_some_and(|seat| seat.is(token))
            })
            .map(|(other, _)| *other);
        let Some(owner) = owner else {
            // The same answer for a wrong token and a token whose game is over: a guesser learns
            // nothing from it.
            let shown: String = sanitize(token).chars().take(20).collect();
            return self.send(
                id,
                format!(
                    "ERR no seat is kept for the token '{shown}'; \
                     it is good only until its game ends"
                ),
            );
        };
        self.take_seat(id, owner);
    }

    /// Moves `owner`'s seat, name and turn to the connection `id`, and forgets `owner`.
    fn take_seat(&mut self, id: PlayerId, owner: PlayerId) {
        let Some(Place::Seat { room, seat }) = self.players.get(&owner).map(|old| old.place) else {
            return;
        };
        let Some(old) = self.forget(owner) else {
            return;
        };
        if old.away_until.is_none() {
            // The old connection still looked alive: tell it why it is closed, then close it.
            self.message_to(owner)
                .push_str("ERR your seat was resumed from another connection; closing\n");
            self.removed.push(owner);
        }
        let addr = self.players.get(&id).map(|me| me.addr);
        self.set_name(id, &old.name);
        if let Some(me) = self.players.get_mut(&id) {
            me.place = old.place;
        }
        let name = old.name;
        self.send(id, format!("OK name {name}"));
        let Some(room_state) = self.rooms.get_mut(&room) else {
            return;
        };
        if let Some(slot) = room_state.seats.get_mut(seat) {
            *slot = id;
        }
        if let Some(prompted) = room_state.prompted.get_mut(seat) {
            *prompted = false;
        }
        let kind = room_state.kind.name();
        if let Some(addr) = addr {
            self.log.push(format!(
                "room {room}: {name} resumed seat {} from {addr}",
                seat + 1
            ));
        }
        self.send(id, format!("JOINED {room} {kind} seat {}", seat + 1));
        self.issue_token(room, id);
        self.broadcast(room, &format!("BACK {room} {name}"));
        self.send_board(room, id);
        self.prompt(room);
    }
}
