//! # The lobby: players, rooms, matchmaking, turns and forfeits
//!
//! Everything the server *decides* happens here; the threads in `connection.rs` only move bytes.
//! The lobby holds no sockets and reads no clock: each call gets the time as an argument, and
//! what it wants to say is queued as `(player, line)` pairs that the caller takes with
//! [`Lobby::take_outgoing`] and delivers. That is what lets the unit tests below play whole games,
//! disconnects and forfeits in microseconds, deterministically.
//!
//! A room goes through three states: *waiting* for players, *playing*, and closed. When a game
//! ends the room closes and everyone in it is back in the lobby, free to `quick` again.
//!
//! A player who disconnects in the middle of a game is not removed at once: the seat is kept
//! *away* for a grace period, the room is told, and if the same name comes back from the same IP
//! address (`name NAME` after reconnecting) the player takes the seat back. When the grace period
//! ends ([`Lobby::tick`]), the player forfeits.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlab_common::term::sanitize;

use super::protocol::{self, Command, HELP, MAX_CHAT};
use crate::game::{Game, GameKind};
use crate::rules::{Ending, Outcome, Viewer};

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
    addr: SocketAddr,
    place: Place,
    /// Set while the connection is gone but the seat is kept.
    away_until: Option<Instant>,
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
    players: HashMap<PlayerId, Player>,
    rooms: BTreeMap<RoomId, Room>,
    next_player: PlayerId,
    next_room: RoomId,
    games_started: u64,
    outgoing: Vec<(PlayerId, String)>,
    removed: Vec<PlayerId>,
    /// Events for the server operator's log (games started and ended).
    log: Vec<String>,
}

impl Lobby {
    /// An empty lobby.
    pub fn new(config: LobbyConfig) -> Self {
        Self {
            config,
            players: HashMap::new(),
            rooms: BTreeMap::new(),
            next_player: 1,
            next_room: 1,
            games_started: 0,
            outgoing: Vec::new(),
            removed: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Events for the operator's log since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// Lines to deliver, in order, since the last call.
    pub fn take_outgoing(&mut self) -> Vec<(PlayerId, String)> {
        std::mem::take(&mut self.outgoing)
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
        };
        self.players.insert(id, player);
        Ok(id)
    }

    /// `Player07`, or the next free number if someone chose that name already.
    fn default_name(&self, id: PlayerId) -> String {
        (id..)
            .map(|number| format!("Player{number:02}"))
            .find(|name| self.id_by_name(name).is_none())
            .unwrap_or_default()
    }

    fn id_by_name(&self, name: &str) -> Option<PlayerId> {
        self.players
            .iter()
            .find(|(_, player)| player.name.eq_ignore_ascii_case(name))
            .map(|(id, _)| *id)
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
        if self.players.remove(&id).is_some() {
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

    fn free_seat(&mut self, room_id: RoomId, id: PlayerId, name: &str) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        room.seats.retain(|other| *other != id);
        if room.seats.is_empty() {
            self.close_room(room_id);
            return;
        }
        // Seats are renumbered in order; update the players who moved up.
        let seats = room.seats.clone();
        for (seat, player_id) in seats.iter().enumerate() {
            if let Some(player) = self.players.get_mut(player_id) {
                player.place = Place::Seat {
                    room: room_id,
                    seat,
                };
            }
        }
        self.broadcast(room_id, &format!("INFO {room_id} {name} left"));
        self.announce_waiting(room_id);
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
            Some(other) => return self.reclaim_or_refuse(id, other, &requested),
            None => {}
        }
        if let Some(me) = self.players.get_mut(&id) {
            me.name = requested.clone();
        }
        self.send(id, format!("OK name {requested}"));
    }

    /// `name NAME` for a name in use: if its owner is away and this connection comes from the
    /// same IP address, this is that player coming back; take over the seat.
    fn reclaim_or_refuse(&mut self, id: PlayerId, other: PlayerId, name: &str) {
        let my_ip = self.players.get(&id).map(|me| me.addr.ip());
        let Some(owner) = self.players.get(&other) else {
            return;
        };
        if owner.away_until.is_none() || Some(owner.addr.ip()) != my_ip {
            return self.send(id, format!("ERR the name {name} is taken"));
        }
        let place = owner.place;
        let name = owner.name.clone();
        self.players.remove(&other);
        if let Some(me) = self.players.get_mut(&id) {
            me.name = name.clone();
            me.place = place;
        }
        self.send(id, format!("OK name {name}"));
        if let Place::Seat { room, seat } = place {
            if let Some(room_state) = self.rooms.get_mut(&room) {
                if let Some(slot) = room_state.seats.get_mut(seat) {
                    *slot = id;
                }
                if let Some(prompted) = room_state.prompted.get_mut(seat) {
                    *prompted = false;
                }
                let kind = room_state.kind.name();
                self.send(id, format!("JOINED {room} {kind} seat {}", seat + 1));
            }
            self.broadcast(room, &format!("BACK {room} {name}"));
            self.send_board(room, id);
            self.prompt(room);
        }
    }

    fn list_games(&mut self, id: PlayerId) {
        let games: Vec<String> = GameKind::ALL
            .iter()
            .map(|kind| match (kind.min_players(), kind.max_players()) {
                (min, max) if min == max => format!("{} {min} players", kind.name()),
                (min, max) => format!("{} {min}-{max} players", kind.name()),
            })
            .collect();
        self.send(id, format!("GAMES {}", games.join(" | ")));
    }

    fn list_rooms(&mut self, id: PlayerId) {
        let mut lines = vec![format!("ROOMS {}", self.rooms.len())];
        for (room_id, room) in &self.rooms {
            let names: Vec<&str> = room
                .seats
                .iter()
                .filter_map(|seat| self.name_of(*seat))
                .collect();
            let state = if room.game.is_some() {
                "playing".to_string()
            } else {
                format!("waiting {}/{}", room.seats.len(), room.kind.max_players())
            };
            lines.push(format!(
                "ROOM {room_id} {} {state} players {} spectators {}",
                room.kind.name(),
                names.join(","),
                room.spectators.len()
            ));
        }
        lines.push("END".to_string());
        for line in lines {
            self.send(id, line);
        }
    }

    /// The player's place, or an error line sent to them when they are not in the lobby.
    fn in_lobby(&mut self, id: PlayerId) -> bool {
        let here = self
            .players
            .get(&id)
            .is_some_and(|p| p.place == Place::Lobby);
        if !here {
            self.send(id, "ERR you are in a room already; leave first".into());
        }
        here
    }

    fn game_kind(&mut self, id: PlayerId, name: &str) -> Option<GameKind> {
        let kind = GameKind::from_name(name);
        if kind.is_none() {
            let name: String = sanitize(name).chars().take(20).collect();
            self.send(
                id,
                format!("ERR unknown game '{name}'; games are tictactoe, rps, hangman"),
            );
        }
        kind
    }

    fn room_id(&mut self, id: PlayerId, text: &str) -> Option<RoomId> {
        let room = text
            .parse::<RoomId>()
            .ok()
            .filter(|room| self.rooms.contains_key(room));
        if room.is_none() {
            let text: String = sanitize(text).chars().take(20).collect();
            self.send(id, format!("ERR no room '{text}'; type rooms to list them"));
        }
        room
    }

    fn create(&mut self, id: PlayerId, game: &str) {
        if !self.in_lobby(id) {
            return;
        }
        if let Some(kind) = self.game_kind(id, game) {
            let room = self.open_room(kind, false);
            self.sit(id, room);
        }
    }

    fn quick(&mut self, id: PlayerId, game: &str) {
        if !self.in_lobby(id) {
            return;
        }
        let Some(kind) = self.game_kind(id, game) else {
            return;
        };
        let waiting = self.rooms.iter().find(|(_, room)| {
            room.quick
                && room.kind == kind
                && room.game.is_none()
                && room.seats.len() < kind.max_players()
        });
        let room = match waiting {
            Some((room, _)) => *room,
            None => self.open_room(kind, true),
        };
        self.sit(id, room);
    }

    fn join(&mut self, id: PlayerId, text: &str) {
        if !self.in_lobby(id) {
            return;
        }
        let Some(room_id) = self.room_id(id, text) else {
            return;
        };
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        if room.game.is_some() {
            return self.send(
                id,
                format!("ERR room {room_id} is playing; spectate {room_id} to watch"),
            );
        }
        if room.seats.len() >= room.kind.max_players() {
            return self.send(id, format!("ERR room {room_id} is full"));
        }
        self.sit(id, room_id);
    }

    fn open_room(&mut self, kind: GameKind, quick: bool) -> RoomId {
        let id = self.next_room;
        self.next_room = self.next_room.wrapping_add(1).max(1);
        let room = Room {
            kind,
            seats: Vec::new(),
            spectators: Vec::new(),
            game: None,
            quick,
            prompted: Vec::new(),
        };
        self.rooms.insert(id, room);
        id
    }

    fn sit(&mut self, id: PlayerId, room_id: RoomId) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        room.seats.push(id);
        let seat = room.seats.len() - 1;
        let kind = room.kind.name();
        if let Some(player) = self.players.get_mut(&id) {
            player.place = Place::Seat {
                room: room_id,
                seat,
            };
        }
        self.send(id, format!("JOINED {room_id} {kind} seat {}", seat + 1));
        let name = self.name_of(id).unwrap_or_default().to_string();
        self.broadcast_except(room_id, id, &format!("INFO {room_id} {name} joined"));
        self.maybe_start(room_id);
    }

    fn maybe_start(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let seated = room.seats.len();
        let full = seated >= room.kind.max_players();
        let quick_ready = room.quick && seated >= room.kind.min_players();
        if full || quick_ready {
            self.start_game(room_id);
        } else {
            self.announce_waiting(room_id);
        }
    }

    fn announce_waiting(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let (seated, min, max) = (
            room.seats.len(),
            room.kind.min_players(),
            room.kind.max_players(),
        );
        let line = if seated < min {
            format!("WAITING {room_id} for {} more player(s)", min - seated)
        } else {
            format!("WAITING {room_id} {seated}/{max} seated; type start to begin")
        };
        self.broadcast(room_id, &line);
    }

    fn start_command(&mut self, id: PlayerId) {
        let place = self.players.get(&id).map(|player| player.place);
        let Some(Place::Seat { room, .. }) = place else {
            return self.send(id, "ERR sit in a room first (create or join)".into());
        };
        let ready = self
            .rooms
            .get(&room)
            .is_some_and(|r| r.game.is_none() && r.seats.len() >= r.kind.min_players());
        if ready {
            self.start_game(room);
        } else {
            self.send(id, format!("ERR room {room} cannot start now"));
        }
    }

    fn start_game(&mut self, room_id: RoomId) {
        let seed = self.config.seed.wrapping_add(self.games_started);
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        match room.kind.start(room.seats.len(), seed) {
            Ok(game) => {
                room.prompted = vec![false; room.seats.len()];
                room.game = Some(game);
            }
            Err(err) => {
                let line = format!("ERR cannot start: {err}");
                return self.broadcast(room_id, &line);
            }
        }
        self.games_started += 1;
        let kind = room.kind.name();
        let seats = room.seats.clone();
        let names: Vec<String> = seats
            .iter()
            .filter_map(|seat| self.name_of(*seat).map(String::from))
            .collect();
        self.log.push(format!(
            "room {room_id}: {kind} started: {}",
            names.join(" vs ")
        ));
        self.broadcast(
            room_id,
            &format!("START {room_id} {kind} players {}", names.join(" ")),
        );
        self.send_boards(room_id);
        self.prompt(room_id);
    }

    fn spectate(&mut self, id: PlayerId, text: &str) {
        if !self.in_lobby(id) {
            return;
        }
        let Some(room_id) = self.room_id(id, text) else {
            return;
        };
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        room.spectators.push(id);
        let kind = room.kind.name();
        if let Some(player) = self.players.get_mut(&id) {
            player.place = Place::Watching(room_id);
        }
        self.send(id, format!("SPECTATING {room_id} {kind}"));
        self.send_board(room_id, id);
    }

    fn play_move(&mut self, id: PlayerId, text: &str) {
        let place = self.players.get(&id).map(|player| player.place);
        let Some(Place::Seat {
            room: room_id,
            seat,
        }) = place
        else {
            return self.send(
                id,
                "ERR you are not playing; quick tictactoe finds a game".into(),
            );
        };
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(game) = room.game.as_mut() else {
            return self.send(id, format!("ERR room {room_id} has not started yet"));
        };
        let outcome = match game.apply_text(seat, text) {
            Ok(outcome) => outcome,
            Err(refusal) => return self.send(id, format!("ERR {refusal}")),
        };
        if let Some(prompted) = room.prompted.get_mut(seat) {
            *prompted = false;
        }
        // A sealed rock-paper-scissors choice is announced without the choice (secrecy).
        let shown = match outcome {
            Outcome::Sealed { .. } => "(sealed)".to_string(),
            _ => sanitize(text.trim()).to_lowercase(),
        };
        let name = self.name_of(id).unwrap_or_default().to_string();
        self.broadcast(
            room_id,
            &format!("MOVED {room_id} {name} {shown} -- {outcome}"),
        );
        self.send_boards(room_id);
        match outcome {
            Outcome::Finished(ending) => self.finish(room_id, ending),
            _ => self.prompt(room_id),
        }
    }

    /// Sends `YOURTURN` to every seat the game waits for that has not been told yet, and
    /// `TURN` to the room.
    fn prompt(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(game) = room.game.as_ref() else {
            return;
        };
        let waiting = game.waiting_for();
        let moves = valid_moves(game);
        let mut to_prompt = Vec::new();
        for seat in &waiting {
            if let (Some(prompted), Some(player)) =
                (room.prompted.get_mut(*seat), room.seats.get(*seat))
            {
                if !*prompted {
                    *prompted = true;
                    to_prompt.push(*player);
                }
            }
        }
        let names: Vec<String> = waiting
            .iter()
            .filter_map(|seat| room.seats.get(*seat))
            .filter_map(|player| self.players.get(player).map(|p| p.name.clone()))
            .collect();
        for player in to_prompt {
            self.send(player, format!("YOURTURN {room_id} {moves}"));
        }
        self.broadcast(room_id, &format!("TURN {room_id} {}", names.join(" ")));
    }

    fn finish(&mut self, room_id: RoomId, ending: Ending) {
        let line = match ending {
            Ending::Won { winner } => {
                let name = self.seat_name(room_id, winner);
                format!("RESULT {room_id} winner {name}")
            }
            Ending::Draw => format!("RESULT {room_id} draw"),
            Ending::WordFound => format!("RESULT {room_id} word found: everybody wins"),
            Ending::Hanged => {
                let word = self.rooms.get(&room_id).and_then(|room| match &room.game {
                    Some(Game::Hangman(game)) => game.answer().map(String::from),
                    _ => None,
                });
                format!(
                    "RESULT {room_id} hanged: everybody loses (the word was {})",
                    word.unwrap_or_default()
                )
            }
        };
        self.log.push(format!("room {room_id}: {line}"));
        self.broadcast(room_id, &line);
        self.close_room(room_id);
    }

    /// A seated player leaves a game in progress: the others win (or, in cooperative hangman,
    /// the game is abandoned).
    fn forfeit(&mut self, room_id: RoomId, seat: usize, name: &str, why: &str) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let line = if room.seats.len() == 2 && room.kind != GameKind::Hangman {
            let winner = self.seat_name(room_id, 1 - seat.min(1));
            format!("RESULT {room_id} winner {winner} ({name} forfeits: {why})")
        } else {
            format!("RESULT {room_id} abandoned ({name} forfeits: {why})")
        };
        self.log.push(format!("room {room_id}: {line}"));
        self.broadcast(room_id, &line);
        self.close_room(room_id);
    }

    /// Closes a room: everyone in it returns to the lobby; away players are forgotten.
    fn close_room(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.remove(&room_id) else {
            return;
        };
        for id in room.seats.iter().chain(room.spectators.iter()) {
            let away = match self.players.get_mut(id) {
                Some(player) => {
                    player.place = Place::Lobby;
                    player.away_until.is_some()
                }
                None => false,
            };
            if away {
                self.players.remove(id);
                self.removed.push(*id);
            }
        }
    }

    fn seat_name(&self, room_id: RoomId, seat: usize) -> String {
        self.rooms
            .get(&room_id)
            .and_then(|room| room.seats.get(seat))
            .and_then(|id| self.name_of(*id))
            .unwrap_or("?")
            .to_string()
    }

    fn say(&mut self, id: PlayerId, text: &str) {
        let room = match self.players.get(&id).map(|player| player.place) {
            Some(Place::Seat { room, .. } | Place::Watching(room)) => room,
            _ => return self.send(id, "ERR join or spectate a room to chat".into()),
        };
        if text.is_empty() {
            return self.send(id, "ERR say what? (say TEXT)".into());
        }
        if text.len() > MAX_CHAT {
            return self.send(
                id,
                format!("ERR chat messages are at most {MAX_CHAT} bytes"),
            );
        }
        let name = self.name_of(id).unwrap_or_default().to_string();
        // Sanitized here, because nc users' terminals do not sanitize anything.
        self.broadcast(room, &format!("CHAT {room} {name}: {}", sanitize(text)));
    }

    fn leave(&mut self, id: PlayerId) {
        let place = self.players.get(&id).map(|player| player.place);
        let room = match place {
            Some(Place::Seat { room, .. } | Place::Watching(room)) => room,
            _ => return self.send(id, "ERR you are not in a room".into()),
        };
        self.send(id, format!("LEFT {room}"));
        self.vacate(id, "left");
    }

    fn send_boards(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let members: Vec<PlayerId> = room.seats.iter().chain(&room.spectators).copied().collect();
        for id in members {
            self.send_board(room_id, id);
        }
    }

    /// The board as `player` sees it (their own sealed choice, not the opponent's).
    fn send_board(&mut self, room_id: RoomId, player: PlayerId) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let Some(game) = room.game.as_ref() else {
            return;
        };
        let viewer = match room.seats.iter().position(|seat| *seat == player) {
            Some(seat) => Viewer::Player(seat),
            None => Viewer::Spectator,
        };
        let mut lines = vec![format!("BOARD {room_id} {}", room.kind.name())];
        lines.extend(
            game.render(viewer)
                .into_iter()
                .map(|line| format!("| {line}")),
        );
        lines.push("END".to_string());
        for line in lines {
            self.send(player, line);
        }
    }

    fn send(&mut self, id: PlayerId, line: String) {
        // Away players have no connection to send to.
        let away = self
            .players
            .get(&id)
            .is_some_and(|p| p.away_until.is_some());
        if !away {
            self.outgoing.push((id, line));
        }
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
            self.send(id, line.to_string());
        }
    }
}

/// The moves a player may make now, for the `YOURTURN` prompt.
fn valid_moves(game: &Game) -> String {
    match game {
        Game::TicTacToe(board) => {
            let free: Vec<String> = (1..=9u8)
                .filter(|square| board.mark_at(*square).is_none())
                .map(|square| square.to_string())
                .collect();
            format!("moves {}", free.join(" "))
        }
        Game::Rps(_) => "moves rock paper scissors".to_string(),
        Game::Hangman(hangman) => {
            let left: String = ('a'..='z')
                .filter(|letter| !hangman.guessed().contains(letter))
                .collect();
            let spaced: Vec<String> = left.chars().map(String::from).collect();
            format!("moves {}", spaced.join(" "))
        }
    }
}

#[cfg(test)]
mod tests;
