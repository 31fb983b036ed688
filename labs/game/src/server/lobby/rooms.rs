//! Rooms: open, join, matchmake, spectate, leave, close. A room waits until the game's minimum
//! (matchmaking) or maximum (a created room) of players is seated, then its game starts.

use netlab_common::term::sanitize;

use super::{Lobby, Place, PlayerId, Room, RoomId};
use netlab_game_rules::game::GameKind;

impl Lobby {
    pub(super) fn free_seat(&mut self, room_id: RoomId, id: PlayerId, name: &str) {
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

    pub(super) fn list_games(&mut self, id: PlayerId) {
        let games: Vec<String> = GameKind::ALL
            .iter()
            .map(|kind| match (kind.min_players(), kind.max_players()) {
                (min, max) if min == max => format!("{} {min} players", kind.name()),
                (min, max) => format!("{} {min}-{max} players", kind.name()),
            })
            .collect();
        self.send(id, format!("GAMES {}", games.join(" | ")));
    }

    pub(super) fn list_rooms(&mut self, id: PlayerId) {
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
    pub(super) fn in_lobby(&mut self, id: PlayerId) -> bool {
        let here = self
            .players
            .get(&id)
            .is_some_and(|p| p.place == Place::Lobby);
        if !here {
            self.send(id, "ERR you are in a room already; leave first".into());
        }
        here
    }

    pub(super) fn game_kind(&mut self, id: PlayerId, name: &str) -> Option<GameKind> {
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

    pub(super) fn room_id(&mut self, id: PlayerId, text: &str) -> Option<RoomId> {
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

    pub(super) fn create(&mut self, id: PlayerId, game: &str) {
        if !self.in_lobby(id) {
            return;
        }
        if let Some(kind) = self.game_kind(id, game) {
            let room = self.open_room(kind, false);
            self.sit(id, room);
        }
    }

    pub(super) fn quick(&mut self, id: PlayerId, game: &str) {
        if !self.in_lobby(id) {
            return;
        }
        let Some(kind) = self.game_kind(id, game) else {
            return;
        };
        let room = match self.waiting_quick_room(kind) {
            Some(room) => room,
            None => {
                let room = self.open_room(kind, true);
                self.quick_rooms.insert(kind, room);
                room
            }
        };
        self.sit(id, room);
    }

    /// The matchmade room of `kind` still waiting for players, if there is one. Matchmaking
    /// fills it before opening another, so there is at most one per game, and `quick_rooms`
    /// remembers it: looking through every room instead would make each `quick` cost a scan of
    /// all the games in progress, under the server's lock. The entry is only a hint (the room
    /// may have started or closed since), so it is checked here.
    fn waiting_quick_room(&self, kind: GameKind) -> Option<RoomId> {
        let room_id = *self.quick_rooms.get(&kind)?;
        let room = self.rooms.get(&room_id)?;
        let waiting = room.quick
            && room.kind == kind
            && room.game.is_none()
            && room.seats.len() < kind.max_players();
        waiting.then_some(room_id)
    }

    pub(super) fn join(&mut self, id: PlayerId, text: &str) {
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

    pub(super) fn open_room(&mut self, kind: GameKind, quick: bool) -> RoomId {
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

    pub(super) fn sit(&mut self, id: PlayerId, room_id: RoomId) {
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

    pub(super) fn maybe_start(&mut self, room_id: RoomId) {
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

    pub(super) fn announce_waiting(&mut self, room_id: RoomId) {
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

    pub(super) fn start_command(&mut self, id: PlayerId) {
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

    pub(super) fn spectate(&mut self, id: PlayerId, text: &str) {
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

    pub(super) fn leave(&mut self, id: PlayerId) {
        let place = self.players.get(&id).map(|player| player.place);
        let room = match place {
            Some(Place::Seat { room, .. } | Place::Watching(room)) => room,
            _ => return self.send(id, "ERR you are not in a room".into()),
        };
        self.send(id, format!("LEFT {room}"));
        self.vacate(id, "left");
    }

    /// Closes a room: everyone in it returns to the lobby; away players are forgotten.
    pub(super) fn close_room(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.remove(&room_id) else {
            return;
        };
        for id in room.seats.iter().chain(room.spectators.iter()) {
            let away = match self.players.get_mut(id) {
                Some(player) => {
                    player.place = Place::Lobby;
                    // The seat is gone, and the token that would take it back with it.
                    player.token = None;
                    player.away_until.is_some()
                }
                None => false,
            };
            if away {
                self.forget(*id);
                self.removed.push(*id);
            }
        }
    }
}
