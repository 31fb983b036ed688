//! The lobby driven directly: whole games, refusals, secrecy, disconnects and forfeits, with
//! time passed in, so every test is deterministic and instant.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;

const GRACE: Duration = Duration::from_secs(10);

struct Table {
    lobby: Lobby,
    inbox: HashMap<PlayerId, Vec<String>>,
}

impl Table {
    fn new(max_players: usize) -> Table {
        let config = LobbyConfig {
            max_players,
            grace: GRACE,
            seed: 7,
        };
        Table {
            // Predictable tokens are fine here: the tests must know them, nobody guesses them.
            lobby: Lobby::new(config, TokenSource::counting(0xa000)),
            inbox: HashMap::new(),
        }
    }

    fn connect(&mut self, port: u16) -> PlayerId {
        let id = self.lobby.connect(([127, 0, 0, 1], port).into()).unwrap();
        self.pump();
        id
    }

    fn say(&mut self, id: PlayerId, line: &str) {
        self.lobby.handle_line(id, line);
        self.pump();
    }

    fn pump(&mut self) {
        for (id, message) in self.lobby.take_outgoing() {
            let inbox = self.inbox.entry(id).or_default();
            inbox.extend(message.lines().map(String::from));
        }
    }

    /// Everything `id` received since the last call.
    fn read(&mut self, id: PlayerId) -> Vec<String> {
        self.inbox.remove(&id).unwrap_or_default()
    }

    /// The seat token in the `TOKEN` line `id` received (it stays in the inbox).
    fn token_of(&self, id: PlayerId) -> String {
        self.inbox[&id]
            .iter()
            .rev()
            .find_map(|line| line.strip_prefix("TOKEN "))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .unwrap()
            .to_string()
    }

    fn has(&mut self, id: PlayerId, wanted: &str) -> bool {
        self.inbox
            .get(&id)
            .is_some_and(|lines| lines.iter().any(|line| line == wanted))
    }
}

/// Two players meet by matchmaking and play tic-tac-toe to a win; refused moves get reasons,
/// both see the result, and both are back in the lobby afterwards.
#[test]
fn full_tictactoe_game() {
    let mut table = Table::new(10);
    let alice = table.connect(1);
    let bob = table.connect(2);
    table.say(alice, "name alice");
    table.say(bob, "name bob");
    table.read(alice);
    table.read(bob);

    table.say(alice, "quick tictactoe");
    assert_eq!(
        table.read(alice),
        [
            "JOINED 1 tictactoe seat 1",
            "WAITING 1 for 1 more player(s)"
        ]
    );
    table.say(bob, "quick ttt");
    let bob_lines = table.read(bob);
    assert_eq!(bob_lines[0], "JOINED 1 tictactoe seat 2");
    assert!(bob_lines.contains(&"START 1 tictactoe players alice bob".to_string()));
    assert!(table.has(alice, "YOURTURN 1 moves 1 2 3 4 5 6 7 8 9"));
    table.read(alice);

    table.say(bob, "5");
    assert_eq!(
        table.read(bob),
        ["ERR it is not your turn: waiting for player 1"]
    );
    table.say(alice, "5");
    table.say(bob, "5");
    assert!(
        table
            .read(bob)
            .contains(&"ERR square 5 is already taken; pick an empty square".to_string())
    );
    for (who, square) in [(bob, "1"), (alice, "3"), (bob, "2"), (alice, "7")] {
        table.say(who, square);
    }
    assert!(table.has(alice, "RESULT 1 winner alice"));
    assert!(table.has(bob, "RESULT 1 winner alice"));
    assert_eq!(table.lobby.room_count(), 0);
    table.say(bob, "quick rps");
    assert!(table.read(bob).contains(&"JOINED 2 rps seat 1".to_string()));
}

/// `quick` seats a player in the waiting matchmade room of that game, however many other rooms
/// are open or playing, and opens a new room only when there is none: a room that started or
/// closed since is not reused.
#[test]
fn matchmaking_fills_the_waiting_room_first() {
    let mut table = Table::new(10);
    let [a, b, c, d, e] = [1, 2, 3, 4, 5].map(|port| table.connect(port));
    for id in [a, b, c, d, e] {
        table.read(id); // the greeting
    }
    let joined = |table: &mut Table, id, line: &str| {
        let lines = table.read(id);
        assert_eq!(lines.first().map(String::as_str), Some(line), "{lines:?}");
    };
    table.say(a, "quick tictactoe");
    joined(&mut table, a, "JOINED 1 tictactoe seat 1");
    table.say(b, "quick rps");
    joined(&mut table, b, "JOINED 2 rps seat 1");
    table.say(c, "quick tictactoe");
    joined(&mut table, c, "JOINED 1 tictactoe seat 2"); // room 1 fills and starts
    table.say(d, "quick tictactoe");
    joined(&mut table, d, "JOINED 3 tictactoe seat 1"); // room 1 is playing: a new room
    table.say(d, "leave"); // room 3 is empty, so it closes
    table.read(d);
    table.say(e, "quick tictactoe");
    joined(&mut table, e, "JOINED 4 tictactoe seat 1");
    table.say(d, "quick tictactoe");
    joined(&mut table, d, "JOINED 4 tictactoe seat 2");
    table.say(a, "quick rps"); // seated in a game: refused, room 2 still waits for someone else
    table.say(c, "leave");
    table.read(a);
    table.say(a, "quick rps");
    joined(&mut table, a, "JOINED 2 rps seat 2");
}

/// The first rock-paper-scissors choice leaks nothing: whatever it is, the other player receives
/// exactly the same lines until they have chosen too; after that both choices are revealed.
#[test]
fn rps_choice_is_secret_until_both_chose() {
    let seen_after = |first_choice: &str| {
        let mut table = Table::new(10);
        let first = table.connect(1);
        let second = table.connect(2);
        table.say(first, "quick rps");
        table.say(second, "quick rps");
        table.read(second);
        table.say(first, first_choice);
        table.read(second)
    };
    let after_rock = seen_after("rock");
    assert_eq!(after_rock, seen_after("scissors"));
    assert_eq!(after_rock, seen_after("paper"));
    assert!(
        after_rock.contains(
            &"MOVED 1 Player01 (sealed) -- choice sealed; waiting for player 2".to_string()
        )
    );

    let mut table = Table::new(10);
    let (first, second) = (table.connect(1), table.connect(2));
    table.say(first, "quick rps");
    table.say(second, "quick rps");
    table.say(first, "rock");
    table.read(second);
    table.say(second, "paper");
    let revealed = table.read(second).join("\n");
    assert!(revealed.contains("MOVED 1 Player02 paper"), "{revealed}");
    assert!(revealed.to_lowercase().contains("rock"), "{revealed}");
}

/// A spectator sees the moves, the boards and the chat of a room it watches.
#[test]
fn spectators_see_moves_and_chat() {
    let mut table = Table::new(10);
    let (a, b, watcher) = (table.connect(1), table.connect(2), table.connect(3));
    table.say(a, "create tictactoe");
    table.say(b, "join 1");
    table.say(watcher, "spectate 1");
    table.read(watcher);
    table.say(a, "5");
    table.say(b, "say nice \u{1b}[2Jmove");
    let seen = table.read(watcher);
    assert!(
        seen.contains(&"MOVED 1 Player01 5 -- player 2 to move".to_string()),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|line| line.starts_with("BOARD 1 tictactoe"))
    );
    assert!(
        seen.contains(&"CHAT 1 Player02: nice ^[[2Jmove".to_string()),
        "{seen:?}"
    );
}

/// A player who drops mid-game is AWAY for the grace period, then forfeits; the opponent wins.
#[test]
fn disconnect_forfeits_after_grace() {
    let mut table = Table::new(10);
    let (a, b) = (table.connect(1), table.connect(2));
    table.say(a, "quick tictactoe");
    table.say(b, "quick tictactoe");
    table.read(a);
    let start = Instant::now();
    table.lobby.disconnect(b, start);
    table.pump();
    assert!(table.has(a, "AWAY 1 Player02 (forfeits in 10s unless they come back)"));
    table.lobby.tick(start + GRACE - Duration::from_millis(1));
    table.pump();
    assert!(!table.read(a).iter().any(|line| line.starts_with("RESULT")));
    table.lobby.tick(start + GRACE);
    table.pump();
    assert_eq!(
        table.read(a),
        ["RESULT 1 winner Player01 (Player02 forfeits: did not come back)"]
    );
    assert_eq!(table.lobby.player_count(), 1);
}

/// Within the grace period, `resume TOKEN` from a new connection takes the seat back and the
/// game goes on; the new connection gets a fresh token, and the old one stops working.
#[test]
fn resume_within_grace_takes_the_seat_back() {
    let mut table = Table::new(10);
    let (a, b) = (table.connect(1), table.connect(2));
    table.say(b, "name bob");
    table.say(a, "quick tictactoe");
    table.say(b, "quick tictactoe");
    let token = table.token_of(b);
    table.say(a, "5");
    table.lobby.disconnect(b, Instant::now());
    let bob_again = table.connect(3);
    table.read(bob_again);
    table.say(bob_again, &format!("resume {token}"));
    let lines = table.read(bob_again);
    assert_eq!(lines[..2], ["OK name bob", "JOINED 1 tictactoe seat 2"]);
    assert!(lines[2].starts_with("TOKEN 1 "), "{lines:?}");
    assert!(!lines[2].contains(&token), "a fresh token: {lines:?}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("YOURTURN 1 moves 1 2 3 4 6"))
    );
    assert!(table.has(a, "BACK 1 bob"));
    table.say(bob_again, "1");
    assert!(table.has(a, "MOVED 1 bob 1 -- player 1 to move"));

    // The token that was used is worthless now, even while bob is away again.
    table.lobby.disconnect(bob_again, Instant::now());
    let thief = table.connect(4);
    table.read(thief);
    table.say(thief, &format!("resume {token}"));
    assert_eq!(
        table.read(thief),
        [format!(
            "ERR no seat is kept for the token '{token}'; it is good only until its game ends"
        )]
    );
}

/// The name of an away player, from the same IP address, does not take the seat; neither does a
/// wrong token. Each refusal says why, and the room hears nothing.
#[test]
fn name_or_wrong_token_does_not_take_an_away_seat() {
    let mut table = Table::new(10);
    let (a, b) = (table.connect(1), table.connect(2));
    table.say(b, "name bob");
    table.say(a, "quick tictactoe");
    table.say(b, "quick tictactoe");
    table.lobby.disconnect(b, Instant::now());
    table.pump();
    table.read(a);
    // Same IP (127.0.0.1), right name: the old rule let this in.
    let thief = table.connect(2);
    table.read(thief);
    table.say(thief, "name bob");
    table.say(thief, "resume 0123456789abcdef");
    table.say(thief, "resume");
    assert_eq!(
        table.read(thief),
        [
            "ERR the name bob is kept for a player who is away from a game; to take that seat \
             back, type resume TOKEN (from your TOKEN line)",
            "ERR no seat is kept for the token '0123456789abcdef'; it is good only until its game ends",
            "ERR resume needs the token from your TOKEN line: resume TOKEN",
        ]
    );
    assert_eq!(
        table.read(a),
        Vec::<String>::new(),
        "the room heard nothing"
    );
}

/// A seat token reaches its owner only: not the opponent, not a spectator, not the log, and not
/// a debug print of the lobby.
#[test]
fn tokens_go_only_to_their_owner() {
    let mut table = Table::new(10);
    let (a, b, watcher) = (table.connect(1), table.connect(2), table.connect(3));
    table.say(a, "create tictactoe");
    table.say(watcher, "spectate 1");
    table.say(b, "join 1");
    let (token_a, token_b) = (table.token_of(a), table.token_of(b));
    assert_ne!(token_a, token_b);
    // Every line anyone else received, and the operator's log.
    let everything_but = |table: &Table, owner: PlayerId| -> String {
        let mut seen: Vec<String> = table
            .inbox
            .iter()
            .filter(|(id, _)| **id != owner)
            .flat_map(|(_, lines)| lines.clone())
            .collect();
        seen.extend(table.lobby.log.iter().cloned());
        seen.join("\n")
    };
    assert!(!everything_but(&table, a).contains(&token_a));
    assert!(!everything_but(&table, b).contains(&token_b));
    let debug = format!("{:?}", table.lobby);
    assert!(!debug.contains(&token_a) && debug.contains("SeatToken(hidden)"));
    let lines = table.read(a);
    let start = lines
        .iter()
        .position(|line| line == "START 1 tictactoe players Player01 Player02")
        .unwrap();
    assert_eq!(
        lines[start + 1],
        format!(
            "TOKEN 1 {token_a} (if your connection drops, reconnect and type: resume {token_a})"
        )
    );
}

/// A token also takes over a seat whose connection still looks alive (it died without a FIN):
/// the old connection is told why and closed, and the new one plays on.
#[test]
fn resume_takes_over_a_seat_that_looks_connected() {
    let mut table = Table::new(10);
    let (a, b) = (table.connect(1), table.connect(2));
    table.say(a, "quick tictactoe");
    table.say(b, "quick tictactoe");
    let token = table.token_of(a);
    table.read(a);
    let again = table.connect(3);
    table.say(again, &format!("resume {token}"));
    assert_eq!(
        table.read(a),
        ["ERR your seat was resumed from another connection; closing"]
    );
    assert_eq!(table.lobby.take_removed(), [a]);
    assert!(table.has(b, "BACK 1 Player01"));
    assert!(table.has(again, "YOURTURN 1 moves 1 2 3 4 5 6 7 8 9"));
    table.say(again, "5");
    assert!(table.has(b, "MOVED 1 Player01 5 -- player 2 to move"));
    assert_eq!(table.lobby.player_count(), 2);
}

/// Spectators of a game in progress are exempt from the idle timeout; nobody else is: not a
/// player in the lobby, not a seated player, not a spectator of a room still waiting, and not a
/// spectator once the game is over.
#[test]
fn only_spectators_of_a_game_are_not_idle() {
    let mut table = Table::new(10);
    let (a, b, watcher) = (table.connect(1), table.connect(2), table.connect(3));
    table.say(a, "create tictactoe");
    table.say(watcher, "spectate 1");
    assert_eq!(table.lobby.watched_game(watcher), None, "waiting room");
    table.say(b, "join 1");
    assert_eq!(table.lobby.watched_game(watcher), Some(1));
    assert_eq!(table.lobby.watched_game(a), None, "seated");
    table.say(a, "leave");
    assert_eq!(table.lobby.watched_game(watcher), None, "game over");
    assert_eq!(table.lobby.watched_game(b), None, "lobby");
}

/// Beyond --max-players a connection is refused with a reason.
#[test]
fn max_players_refused() {
    let mut table = Table::new(1);
    table.connect(1);
    let refused = table.lobby.connect(([127, 0, 0, 1], 2).into());
    assert_eq!(
        refused,
        Err("ERR server full: 1 players (--max-players 1); try again later".to_string())
    );
}

/// Hangman for three: created, joined, started by hand; turns rotate through all three.
#[test]
fn hangman_for_three() {
    let mut table = Table::new(10);
    let (a, b, c) = (table.connect(1), table.connect(2), table.connect(3));
    table.say(a, "create hangman");
    table.say(b, "join 1");
    table.say(c, "join 1");
    assert!(table.has(c, "WAITING 1 3/4 seated; type start to begin"));
    table.say(c, "start");
    assert!(table.has(a, "START 1 hangman players Player01 Player02 Player03"));
    table.say(a, "e");
    assert!(
        table
            .read(b)
            .iter()
            .any(|line| line.starts_with("YOURTURN 1 moves"))
    );
    table.say(c, "x");
    assert!(table.read(c).iter().any(|line| line.starts_with("ERR")));
}

/// Nonsense gets a reason and changes nothing.
#[test]
fn nonsense_gets_reasons() {
    let mut table = Table::new(10);
    let a = table.connect(1);
    table.read(a);
    table.say(a, "dance");
    table.say(a, "move 5");
    table.say(a, "join 99");
    table.say(a, "quick chess");
    table.say(a, "name \u{1b}evil");
    assert_eq!(
        table.read(a),
        [
            "ERR unknown command 'dance'; type help",
            "ERR you are not playing; quick tictactoe finds a game",
            "ERR no room '99'; type rooms to list them",
            "ERR unknown game 'chess'; games are tictactoe, rps, hangman",
            "ERR a name is 1 to 16 letters, digits, '_' or '-'",
        ]
    );
}

/// Names stay unique regardless of case through renames, departures and resumes: a taken name
/// is refused, a name freed by a rename, a departure or a resume can be taken again, and a
/// resumed player's name is its old one (the name index follows every change).
#[test]
fn names_are_freed_and_taken_through_renames_quits_and_resumes() {
    let mut table = Table::new(10);
    let (a, b, c) = (table.connect(1), table.connect(2), table.connect(3));
    table.say(a, "name Alice");
    table.say(b, "name ALICE");
    assert_eq!(table.read(b).last().unwrap(), "ERR the name ALICE is taken");
    table.say(a, "name ann");
    table.say(b, "name alice");
    assert_eq!(table.read(b).last().unwrap(), "OK name alice");
    table.say(c, "quit");
    let d = table.connect(4);
    table.say(d, "name Player03");
    assert_eq!(table.read(d).last().unwrap(), "OK name Player03");

    table.say(a, "quick tictactoe");
    table.say(b, "quick tictactoe");
    let token = table.token_of(b);
    table.lobby.disconnect(b, Instant::now());
    let back = table.connect(5);
    let default = table.read(back)[0]
        .strip_prefix("WELCOME ")
        .unwrap()
        .to_string();
    table.say(back, &format!("resume {token}"));
    assert_eq!(table.read(back)[0], "OK name alice");
    table.say(d, "name alice");
    assert_eq!(table.read(d).last().unwrap(), "ERR the name alice is taken");
    table.say(d, &format!("name {default}"));
    assert_eq!(table.read(d).last().unwrap(), &format!("OK name {default}"));
}
