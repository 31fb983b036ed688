//! # The lobby: players, rooms, matchmaking, turns and forfeits
//!
//! Everything the server *decides* happens here; the threads in `connection.rs` only move bytes.
//! The lobby holds no sockets and reads no clock: each call gets the time as an argument, and
//! what it wants to say is queued per player, as a *message* (all the lines one call sends to that
//! player), which the caller takes with [`Lobby::take_outgoing`] and delivers. That is what lets
//! the unit tests below play whole games, disconnects and forfeits in microseconds,
//! deterministically.
//!
//! ## Why lines are collected per player
//! A move sends each player in the room a dozen lines (`MOVED`, the board, `TURN`, maybe
//! `YOURTURN`). Handed over one by one, each line would be a separate queue entry, and in the
//! server's first version a separate wake-up, `write` and TCP segment. Appending them to one
//! message per player as they are produced makes one of each. It also saves work where it costs
//! the most: all of this runs under the server's one lock, and every allocation saved there
//! shortens the time other players wait for it.
//!
//! A room goes through three states: *waiting* for players, *playing*, and closed. When a game
//! ends the room closes and everyone in it is back in the lobby, free to `quick` again.
//!
//! A player who disconnects in the middle of a game is not removed at once: the seat is kept
//! *away* for a grace period, the room is told, and a new connection that proves it is that
//! player takes the seat back. The proof is the seat's *token*, a random secret sent only to the
//! player when the game starts (`TOKEN` line), typed back as `resume TOKEN`. A name is no proof:
//! anyone can type it, and everyone on the same machine or behind the same home router shares an
//! IP address. When the grace period ends ([`Lobby::tick`]), the player forfeits.
//!
//! ## Layout
//! - this file: players (connect, names, disconnect, forfeit on timeout), the command dispatch,
//!   and sending lines;
//! - `resume.rs`: seat tokens and `resume`, the way back into a game;
//! - `rooms.rs`: opening, joining, matchmaking, spectating, leaving and closing rooms;
//! - `play.rs`: a game in progress: start, moves, prompts, boards, chat, results and forfeits.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab_common::term::sanitize;

use super::protocol::{self, Command, HELP};
use netlab_game_rules::game::{Game, GameKind};

/// Bytes reserved for a new message: a move's lines for one player (`MOVED`, a board, `TURN`,
/// `YOURTURN`) fit, so the message is allocated once instead of growing line by line.
const MESSAGE_CAPACITY: usize = 512;

/// Identifies a connection for as long as the server runs.
pub type PlayerId = u64;

/// Identifies a room; shown to players.
pub type RoomId = u32;

/// The lobby's limits.
#[derive(Debug, Clone)]
pub struct LobbyConfig {
    /// Players connected at once (`--max-players`).
    pub max_players: usize,
    /// How long a disconnected player's seat is kept before they forfeit.
    pub grace: Duration,
    /// Seed for hangman words, so a class can replay the same games.
    pub seed: u64,
}

/// Where a player is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Lobby,
    Seat { room: RoomId, seat: usize },
    Watching(RoomId),
}

#[derive(Debug)]
struct Player {
    name: String,
    /// Where the connection comes from; only logged (an address proves nothing about who it is).
    addr: SocketAddr,
    place: Place,
    /// Set while the connection is gone but the seat is kept.
    away_until: Option<Instant>,
    /// The secret that takes this player's seat back (`resume TOKEN`), while seated in a game.
    token: Option<SeatToken>,
}

#[derive(Debug)]
struct Room {
    kind: GameKind,
    /// Seated players in seat order.
    seats: Vec<PlayerId>,
    spectators: Vec<PlayerId>,
    /// `None` while waiting for players.
    game: Option<Game>,
    /// Opened by matchmaking: starts as soon as the game's minimum is seated.
    quick: bool,
    /// Seats already sent `YOURTURN` for the current state (so a prompt is sent once).
    prompted: Vec<bool>,
}

/// The whole shared state of the game server.
#[derive(Debug)]
pub struct Lobby {
    config: LobbyConfig,
    /// Where seat tokens come from: the OS's randomness in the server, a counter in tests.
    tokens: TokenSource,
    players: HashMap<PlayerId, Player>,
    /// Every player's name, in lower case, and whose it is: names are unique regardless of
    /// case, and looking one up must not mean reading all 10,000 players (a connection's
    /// default name is checked against them). Kept in step with `players` by [`Lobby::add`],
    /// [`Lobby::forget`] and [`Lobby::set_name`], the only places names change.
    names: HashMap<String, PlayerId>,
    rooms: BTreeMap<RoomId, Room>,
    /// The matchmade room of each game that waits for players, if any (see `quick`).
    quick_rooms: HashMap<GameKind, RoomId>,
    next_player: PlayerId,
    next_room: RoomId,
    games_started: u64,
    /// A message per player: newline-terminated lines, in the order they were sent.
    outgoing: HashMap<PlayerId, String>,
    /// The players in `outgoing`, in the order they were first sent something.
    recipients: Vec<PlayerId>,
    removed: Vec<PlayerId>,
    /// Events for the server operator's log (games started and ended).
    log: Vec<String>,
}

impl Lobby {
    /// An empty lobby that takes its seat tokens from `tokens`.
    pub fn new(config: LobbyConfig, tokens: TokenSource) -> Self {
        Self {
            config,
            tokens,
            players: HashMap::new(),
            names: HashMap::new(),
            rooms: BTreeMap::new(),
            quick_rooms: HashMap::new(),
            next_player: 1,
            next_room: 1,
            games_started: 0,
            outgoing: HashMap::new(),
            recipients: Vec::new(),
            removed: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Events for the operator's log since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// What to deliver since the last call: one message per player (one or more lines, each
    /// ending in `\n`, in the order they were sent), players in the order they were first sent
    /// something.
    pub fn take_outgoing(&mut self) -> Vec<(PlayerId, String)> {
        let outgoing = &mut self.outgoing;
        self.recipients
            .drain(..)
            .filter_map(|id| outgoing.remove(&id).map(|message| (id, message)))
            .collect()
    }

    /// Players removed since the last call: their connections should be closed once the lines
    /// already queued for them are sent.
    pub fn take_removed(&mut self) -> Vec<PlayerId> {
        std::mem::take(&mut self.removed)
    }

    /// Players known (connected or away).
    pub fn player_count(&self) -> usize {
        self.players.len()
    }

    /// Rooms open.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// A player's name.
    pub fn name_of(&self, id: PlayerId) -> Option<&str> {
        self.players.get(&id).map(|player| player.name.as_str())
    }

    /// A new connection from `addr`: its id, or the refusal line when the server is full.
    pub fn connect(&mut self, addr: SocketAddr) -> Result<PlayerId, String> {
        if self.players.len() >= self.config.max_players {
            return Err(format!(
                "ERR server full: {} players (--max-players {}); try again later",
                self.players.len(),
                self.config.max_players
            ));
        }
        let id = self.next_player;
        self.next_player += 1;
        let name = self.default_name(id);
        self.send(id, format!("WELCOME {name}"));
        self.send(
            id,
            "INFO type help for commands; quick tictactoe to play".into(),
        );
        let player = Player {
            name,
            addr,
            place: Place::Lobby,
            away_until: None,
            token: None,
        };
        self.add(id, player);
        Ok(id)
    }

    /// Registers a player and its name.
    fn add(&mut self, id: PlayerId, player: Player) {
        self.names.insert(player.name.to_ascii_lowercase(), id);
        self.players.insert(id, player);
    }

    /// Forgets a player and its name; returns what it was.
    fn forget(&mut self, id: PlayerId) -> Option<Player> {
        let player = self.players.remove(&id)?;
        let key = player.name.to_ascii_lowercase();
        if self.names.get(&key) == Some(&id) {
            self.names.remove(&key);
        }
        Some(player)
    }

    /// Gives player `id` the name `name` (which the caller checked is free, or is about to be).
    fn set_name(&mut self, id: PlayerId, name: &str) {
        let Some(player) = self.players.get_mut(&id) else {
            return;
        };
        let old = player.name.to_ascii_lowercase();
        if self.names.get(&old) == Some(&id) {
            self.names.remove(&old);
        }
        player.name = name.to_string();
        self.names.insert(name.to_ascii_lowercase(), id);
    }

    /// `Player07`, or the next free number if someone chose that name already.
    fn default_name(&self, id: PlayerId) -> String {
        (id..)
            .map(|number| format!("Player{number:02}"))
            .find(|name| self.id_by_name(name).is_none())
            .unwrap_or_default()
    }

    /// Who has `name`, in any case (names are ASCII, see `protocol::valid_name`).
    fn id_by_name(&self, name: &str) -> Option<PlayerId> {
        self.names.get(&name.to_ascii_lowercase()).copied()
    }

    /// One line typed by player `id`.
    pub fn handle_line(&mut self, id: PlayerId, line: &str) {
        let Some(player) = self.players.get(&id) else {
            return;
        };
        let seated_in_game = match player.place {
            Place::Seat { room, .. } => self.rooms.get(&room).is_some_and(|r| r.game.is_some()),
            _ => false,
        };
        match protocol::parse(line, seated_in_game) {
            Command::Nothing => {}
            Command::Name(name) => self.rename(id, &name),
            Command::Resume(token) => self.resume(id, &token),
            Command::Games => self.list_games(id),
            Command::Rooms => self.list_rooms(id),
            Command::Create(game) => self.create(id, &game),
            Command::Join(room) => self.join(id, &room),
            Command::Quick(game) => self.quick(id, &game),
            Command::Spectate(room) => self.spectate(id, &room),
            Command::Start => self.start_command(id),
            Command::Move(text) => self.play_move(id, &text),
            Command::Say(text) => self.say(id, &text),
            Command::Leave => self.leave(id),
            Command::Help => HELP.iter().for_each(|line| self.send(id, (*line).into())),
            Command::Quit => {
                // Leave the room first (the forfeit result reaches everyone), then say goodbye.
                self.vacate(id, "quit");
                let name = self.name_of(id).unwrap_or_default().to_string();
                self.send(id, format!("BYE {name}"));
                self.remove(id, "quit");
            }
            Command::Unknown(word) => {
                let word = sanitize(&word);
                self.send(id, format!("ERR unknown command '{word}'; type help"));
            }
        }
    }

    /// The connection of player `id` is gone (closed, reset, timed out, too slow).
    pub fn disconnect(&mut self, id: PlayerId, now: Instant) {
        let Some(player) = self.players.get(&id) else {
            return;
        };
        if player.away_until.is_some() {
            return;
        }
        if let Place::Seat { room, .. } = player.place {
            let playing = self.rooms.get(&room).is_some_and(|r| r.game.is_some());
            if playing && !self.config.grace.is_zero() {
                let name = player.name.clone();
                if let Some(player) = self.players.get_mut(&id) {
                    player.away_until = Some(now + self.config.grace);
                }
                let seconds = self.config.grace.as_secs();
                self.broadcast(
                    room,
                    &format!("AWAY {room} {name} (forfeits in {seconds}s unless they come back)"),
                );
                return;
            }
        }
        self.remove(id, "disconnected");
    }

    /// Forfeits players whose grace period has ended.
    pub fn tick(&mut self, now: Instant) {
        let expired: Vec<PlayerId> = self
            .players
            .iter()
            .filter(|(_, player)| player.away_until.is_some_and(|until| until <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.remove(id, "did not come back");
        }
    }

    /// Takes player `id` out of its room (forfeiting a game in progress) and forgets it.
    fn remove(&mut self, id: PlayerId, why: &str) {
        self.vacate(id, why);
        if self.forget(id).is_some() {
            self.removed.push(id);
        }
    }

    /// Leaves whatever room the player is in; a game in progress is forfeited.
    fn vacate(&mut self, id: PlayerId, why: &str) {
        let Some(player) = self.players.get_mut(&id) else {
            return;
        };
        let place = std::mem::replace(&mut player.place, Place::Lobby);
        let name = player.name.clone();
        match place {
            Place::Lobby => {}
            Place::Watching(room) => {
                if let Some(room) = self.rooms.get_mut(&room) {
                    room.spectators.retain(|other| *other != id);
                }
            }
            Place::Seat { room, seat } => {
                let playing = self.rooms.get(&room).is_some_and(|r| r.game.is_some());
                if playing {
                    self.forfeit(room, seat, &name, why);
                } else {
                    self.free_seat(room, id, &name);
                }
            }
        }
    }

    fn rename(&mut self, id: PlayerId, requested: &str) {
        let requested = match protocol::valid_name(requested) {
            Ok(name) => name.to_string(),
            Err(reason) => return self.send(id, format!("ERR {reason}")),
        };
        let Some(me) = self.players.get(&id) else {
            return;
        };
        if me.place != Place::Lobby {
            return self.send(id, "ERR change your name in the lobby (leave first)".into());
        }
        match self.id_by_name(&requested) {
            Some(other) if other == id => {}
            Some(other) => return self.refuse_name(id, other, &requested),
            None => {}
        }
        self.set_name(id, &requested);
        self.send(id, format!("OK name {requested}"));
    }

    /// `name NAME` for a name in use. When its owner is away from a game, say how to come back:
    /// the name alone does not give the seat back, the token does.
    fn refuse_name(&mut self, id: PlayerId, owner: PlayerId, name: &str) {
        let away = self
            .players
            .get(&owner)
            .is_some_and(|player| player.away_until.is_some());
        let line = if away {
            format!(
                "ERR the name {name} is kept for a player who is away from a game; \
                 to take that seat back, type resume TOKEN (from your TOKEN line)"
            )
        } else {
            format!("ERR the name {name} is taken")
        };
        self.send(id, line);
    }

    /// The room whose game player `id` is watching as a spectator, if a game is in progress
    /// there. Such a player is silent because there is nothing to say, not because the
    /// connection died, so the server does not close it for being idle (see `connection.rs`).
    pub fn watched_game(&self, id: PlayerId) -> Option<RoomId> {
        match self.players.get(&id)?.place {
            Place::Watching(room) => self
                .rooms
                .get(&room)
                .is_some_and(|r| r.game.is_some())
                .then_some(room),
            Place::Lobby | Place::Seat { .. } => None,
        }
    }

    fn send(&mut self, id: PlayerId, line: String) {
        self.send_str(id, &line);
    }

    fn send_str(&mut self, id: PlayerId, line: &str) {
        if let Some(message) = self.message_for(id) {
            message.push_str(line);
            message.push('\n');
        }
    }

    /// The message being collected for player `id`, to append lines to; `None` when the player
    /// is away (there is no connection to send to).
    fn message_for(&mut self, id: PlayerId) -> Option<&mut String> {
        let away = self
            .players
            .get(&id)
            .is_some_and(|p| p.away_until.is_some());
        if away {
            return None;
        }
        Some(self.message_to(id))
    }

    /// The message being collected for `id`, whether or not that player is still known.
    fn message_to(&mut self, id: PlayerId) -> &mut String {
        let recipients = &mut self.recipients;
        self.outgoing.entry(id).or_insert_with(|| {
            recipients.push(id);
            String::with_capacity(MESSAGE_CAPACITY)
        })
    }

    fn broadcast(&mut self, room_id: RoomId, line: &str) {
        self.broadcast_except(room_id, 0, line);
    }

    fn broadcast_except(&mut self, room_id: RoomId, except: PlayerId, line: &str) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let members: Vec<PlayerId> = room
            .seats
            .iter()
            .chain(&room.spectators)
            .copied()
            .filter(|id| *id != except)
            .collect();
        for id in members {
            self.send_str(id, line);
        }
    }
}

mod play;
mod resume;
mod rooms;

use resume::SeatToken;
pub use resume::TokenSource;

#[cfg(test)]
mod tests;
