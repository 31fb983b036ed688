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
            lobby: Lobby::new(config),
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
        for (id, line) in self.lobby.take_outgoing() {
            self.inbox.entry(id).or_default().push(line);
        }
    }

    /// Everything `id` received since the last call.
    fn read(&mut self, id: PlayerId) -> Vec<String> {
        self.inbox.remove(&id).unwrap_or_default()
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

/// Within the grace period, the same name from the same IP takes the seat back and the game
/// goes on.
#[test]
fn reconnect_within_grace_takes_the_seat_back() {
    let mut table = Table::new(10);
    let (a, b) = (table.connect(1), table.connect(2));
    table.say(b, "name bob");
    table.say(a, "quick tictactoe");
    table.say(b, "quick tictactoe");
    table.say(a, "5");
    table.lobby.disconnect(b, Instant::now());
    let bob_again = table.connect(3);
    table.say(bob_again, "name bob");
    let lines = table.read(bob_again);
    assert!(lines.contains(&"OK name bob".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"JOINED 1 tictactoe seat 2".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("YOURTURN 1 moves 1 2 3 4 6"))
    );
    assert!(table.has(a, "BACK 1 bob"));
    table.say(bob_again, "1");
    assert!(table.has(a, "MOVED 1 bob 1 -- player 1 to move"));
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
