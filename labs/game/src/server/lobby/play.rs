//! A game in progress: starting it, moves, prompts, boards, chat, and how it ends.

use std::fmt::Write as _;

use netlab_common::term::sanitize;

use super::protocol::MAX_CHAT;
use super::{Lobby, Place, PlayerId, RoomId};
use netlab_game_rules::game::Game;
use netlab_game_rules::rules::{Ending, Outcome, Viewer};

impl Lobby {
    pub(super) fn start_game(&mut self, room_id: RoomId) {
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
        for player in seats {
            self.issue_token(room_id, player);
        }
        self.send_boards(room_id);
        self.prompt(room_id);
    }

    pub(super) fn play_move(&mut self, id: PlayerId, text: &str) {
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
    pub(super) fn prompt(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(game) = room.game.as_ref() else {
            return;
        };
        let waiting = game.waiting_for();
        let moves = game.legal_moves().join(" ");
        let mut to_prompt = Vec::new();
        for seat in &waiting {
            if let (Some(prompted), Some(player)) =
                (room.prompted.get_mut(*seat), room.seats.get(*seat))
                && !*prompted
            {
                *prompted = true;
                to_prompt.push(*player);
            }
        }
        let names: Vec<String> = waiting
            .iter()
            .filter_map(|seat| room.seats.get(*seat))
            .filter_map(|player| self.players.get(player).map(|p| p.name.clone()))
            .collect();
        for player in to_prompt {
            self.send(player, format!("YOURTURN {room_id} moves {moves}"));
        }
        self.broadcast(room_id, &format!("TURN {room_id} {}", names.join(" ")));
    }

    pub(super) fn finish(&mut self, room_id: RoomId, ending: Ending) {
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
    pub(super) fn forfeit(&mut self, room_id: RoomId, seat: usize, name: &str, why: &str) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let line = if room.seats.len() == 2 && !room.kind.cooperative() {
            let winner = self.seat_name(room_id, 1 - seat.min(1));
            format!("RESULT {room_id} winner {winner} ({name} forfeits: {why})")
        } else {
            format!("RESULT {room_id} abandoned ({name} forfeits: {why})")
        };
        self.log.push(format!("room {room_id}: {line}"));
        self.broadcast(room_id, &line);
        self.close_room(room_id);
    }

    pub(super) fn seat_name(&self, room_id: RoomId, seat: usize) -> String {
        self.rooms
            .get(&room_id)
            .and_then(|room| room.seats.get(seat))
            .and_then(|id| self.name_of(*id))
            .unwrap_or("?")
            .to_string()
    }

    pub(super) fn say(&mut self, id: PlayerId, text: &str) {
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

    pub(super) fn send_boards(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let members: Vec<PlayerId> = room.seats.iter().chain(&room.spectators).copied().collect();
        for id in members {
            self.send_board(room_id, id);
        }
    }

    /// The board as `player` sees it (their own sealed choice, not the opponent's).
    pub(super) fn send_board(&mut self, room_id: RoomId, player: PlayerId) {
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
        let kind = room.kind.name();
        let board = game.render(viewer);
        // Written straight into the player's message: this runs for every player after every
        // move, under the server's lock, and a line-by-line `format!` costs an allocation each.
        let Some(message) = self.message_for(player) else {
            return;
        };
        let _ = writeln!(message, "BOARD {room_id} {kind}");
        for line in board {
            message.push_str("| ");
            message.push_str(&line);
            message.push('\n');
        }
        message.push_str("END\n");
    }
}
