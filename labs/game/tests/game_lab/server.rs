//! Integration tests of `game-lab serve` over real sockets on 127.0.0.1, port 0.
//!
//! Players are plain TCP connections speaking the line protocol, exactly as `nc` would. Tests wait
//! for lines (a `YOURTURN`, a `RESULT`, a server log line), never sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;

use netlab_testkit::{ServerProcess, find_program, run_cli, skip};

use crate::util::{BIN, ENGINES, start};

/// One player on a real connection.
struct Player {
    stream: TcpStream,
    lines: BufReader<TcpStream>,
    name: String,
    /// Every line received, for failure messages.
    heard: Vec<String>,
}

impl Player {
    /// Connects, reads the greeting, and takes `name`.
    fn join(server: &ServerProcess, name: &str) -> Player {
        let stream = server.connect();
        let lines = BufReader::new(stream.try_clone().unwrap());
        let mut player = Player {
            stream,
            lines,
            name: String::new(),
            heard: Vec::new(),
        };
        player.expect("WELCOME ");
        player.send(&format!("name {name}"));
        player.expect_line(&format!("OK name {name}"));
        player.name = name.to_string();
        player
    }

    /// Connects and reads the greeting, keeping the default name (a player coming back).
    fn anonymous(server: &ServerProcess) -> Player {
        let stream = server.connect();
        let lines = BufReader::new(stream.try_clone().unwrap());
        let mut player = Player {
            stream,
            lines,
            name: String::new(),
            heard: Vec::new(),
        };
        let welcome = player.expect("WELCOME ");
        player.name = welcome["WELCOME ".len()..].to_string();
        player
    }

    /// Reads until this player's `TOKEN` line and returns the token.
    fn token(&mut self) -> String {
        let line = self.expect("TOKEN ");
        line.split_whitespace().nth(2).unwrap().to_string()
    }

    fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// The next line, or `None` when the server closed the connection.
    fn next_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.lines.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => {
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                self.heard.push(line.clone());
                Some(line)
            }
            Err(err) => panic!(
                "{}: read failed ({err}); heard {:#?}",
                self.name, self.heard
            ),
        }
    }

    /// Reads until a line starting with `prefix`, and returns it.
    fn expect(&mut self, prefix: &str) -> String {
        loop {
            match self.next_line() {
                Some(line) if line.starts_with(prefix) => return line,
                Some(_) => {}
                None => panic!(
                    "{}: closed before {prefix:?}; heard {:#?}",
                    self.name, self.heard
                ),
            }
        }
    }

    /// Reads until exactly `wanted`.
    fn expect_line(&mut self, wanted: &str) {
        loop {
            match self.next_line() {
                Some(line) if line == wanted => return,
                Some(_) => {}
                None => panic!(
                    "{}: closed before {wanted:?}; heard {:#?}",
                    self.name, self.heard
                ),
            }
        }
    }

    /// Plays whatever the server offers until the game ends, and returns the RESULT line. The
    /// first player takes the first listed move, the other the last, so rock-paper-scissors
    /// rounds are decided (rock beats scissors) instead of tying forever.
    fn autoplay(mut self, take_last: bool) -> (Player, String) {
        loop {
            let line = self.next_line().expect("closed during a game");
            if line.starts_with("RESULT ") {
                return (self, line);
            }
            if let Some(rest) = line.strip_prefix("YOURTURN ") {
                let moves: Vec<&str> = rest.split_whitespace().skip(2).collect();
                let chosen = if take_last {
                    moves.last()
                } else {
                    moves.first()
                };
                let chosen = chosen.unwrap().to_string();
                self.send(&chosen);
            }
        }
    }
}

/// A full tic-tac-toe game between two players over the network, including a refused move; both
/// sides see the same result.
#[test]
fn tictactoe_over_the_network() {
    for engine in ENGINES {
        let server = start(engine, &[]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        alice.send("quick tictactoe");
        alice.expect_line("WAITING 1 for 1 more player(s)");
        bob.send("quick tictactoe");
        bob.expect_line("START 1 tictactoe players alice bob");
        alice.expect("YOURTURN 1 moves 1 2 3 4 5 6 7 8 9");
        alice.send("5");
        bob.expect("YOURTURN 1 moves 1 2 3 4 6 7 8 9");
        bob.send("5");
        bob.expect_line("ERR square 5 is already taken; pick an empty square");
        bob.send("1");
        bob.expect("MOVED 1 bob 1");
        alice.expect("YOURTURN");
        alice.send("3");
        alice.expect("MOVED 1 alice 3");
        bob.expect("YOURTURN");
        bob.send("2");
        bob.expect("MOVED 1 bob 2");
        alice.expect("YOURTURN");
        alice.send("7");
        alice.expect_line("RESULT 1 winner alice");
        bob.expect_line("RESULT 1 winner alice");
    }
}

/// `--trace-json`: the server records each player's moves as `move` fields, whether typed as
/// `move N` or as a bare `N`, and the `MOVED` it pushes back, with both addresses.
#[test]
fn trace_json_records_the_moves() {
    for engine in ENGINES {
        let traces = netlab_testkit::TempDir::new("game-trace-json");
        let trace = traces.join("server.jsonl");
        let server = start(engine, &["--trace-json", trace.to_str().unwrap()]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        alice.send("quick tictactoe");
        alice.expect_line("WAITING 1 for 1 more player(s)");
        bob.send("quick tictactoe");
        alice.expect("YOURTURN 1");
        alice.send("move 5");
        bob.expect("YOURTURN 1");
        bob.send("1");
        alice.expect("YOURTURN 1");
        let alice_addr = alice.stream.local_addr().unwrap().to_string();
        let events = netlab_testkit::traces::events_once(&trace, |events| {
            events
                .iter()
                .filter(|event| event["event"] == "receive" && event["fields"]["move"].is_u64())
                .count()
                == 2
        });
        let moves: Vec<(String, u64)> = events
            .iter()
            .filter(|event| event["event"] == "receive")
            .filter_map(|event| {
                Some((
                    event["summary"].as_str()?.to_string(),
                    event["fields"]["move"].as_u64()?,
                ))
            })
            .collect();
        assert_eq!(moves.len(), 2, "{moves:?}");
        assert_eq!(moves[0].1, 5);
        assert_eq!(moves[1].1, 1);
        let from_alice = events
            .iter()
            .find(|event| event["event"] == "receive" && event["fields"]["move"] == 5)
            .unwrap();
        assert_eq!(from_alice["peer"], alice_addr.as_str());
        assert_eq!(from_alice["local"], server.addr.to_string().as_str());
        let pushed = events
            .iter()
            .filter(|event| event["event"] == "send" && event["fields"]["move"] == 5)
            .count();
        assert!(
            pushed >= 2,
            "MOVED 1 alice 5 goes to both players: {events:#?}"
        );
    }
}

/// Rock-paper-scissors and hangman also play to the end between two players.
#[test]
fn rps_and_hangman_play_to_the_end() {
    for engine in ENGINES {
        for game in ["rps", "hangman"] {
            let server = start(engine, &[]);
            let first = Player::join(&server, "first");
            let mut second = Player::join(&server, "second");
            let mut first = first;
            first.send(&format!("quick {game}"));
            first.expect("WAITING");
            second.send(&format!("quick {game}"));
            let other = thread::spawn(move || second.autoplay(true));
            let (_, my_result) = first.autoplay(false);
            let (_, their_result) = other.join().unwrap();
            assert!(my_result.starts_with("RESULT 1 "), "{game}: {my_result}");
            assert_eq!(my_result, their_result, "{game}");
        }
    }
}

/// The first player's rock-paper-scissors choice is in no byte the second player receives before
/// choosing: the bytes are identical whatever the first choice was.
#[test]
fn rps_first_choice_never_reaches_the_opponent() {
    for engine in ENGINES {
        let bytes_seen_by_second = |first_choice: &str| {
            let server = start(engine, &[]);
            let mut first = Player::join(&server, "first");
            let mut second = Player::join(&server, "second");
            first.send("quick rps");
            first.expect("WAITING");
            second.send("quick rps");
            first.expect("YOURTURN 1");
            second.expect("YOURTURN 1");
            second.heard.clear();
            first.send(first_choice);
            first.expect("MOVED 1 first");
            // The server sends the second player the MOVED line, the board and TURN: read to TURN.
            second.expect("TURN 1 second");
            second.heard.join("\n")
        };
        let after_rock = bytes_seen_by_second("rock");
        assert!(
            after_rock.contains("MOVED 1 first (sealed)"),
            "{after_rock}"
        );
        assert_eq!(after_rock, bytes_seen_by_second("paper"));
        assert_eq!(after_rock, bytes_seen_by_second("scissors"));
    }
}

/// A spectator sees every move and the room chat; chat text is sanitized for nc users.
#[test]
fn spectators_and_room_chat() {
    for engine in ENGINES {
        let server = start(engine, &[]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        let mut carol = Player::join(&server, "carol");
        alice.send("create tictactoe");
        alice.expect_line("JOINED 1 tictactoe seat 1");
        bob.send("join 1");
        bob.expect("START 1");
        carol.send("spectate 1");
        carol.expect_line("SPECTATING 1 tictactoe");
        alice.expect("YOURTURN");
        alice.send("5");
        carol.expect_line("MOVED 1 alice 5 -- player 2 to move");
        bob.send("say good move \u{1b}[31mreally");
        carol.expect_line("CHAT 1 bob: good move ^[[31mreally");
        alice.expect_line("CHAT 1 bob: good move ^[[31mreally");
    }
}

/// Matchmaking puts four players into two games of two.
#[test]
fn matchmaking_pairs_players() {
    for engine in ENGINES {
        let server = start(engine, &[]);
        let mut players: Vec<Player> = ["p1", "p2", "p3", "p4"]
            .iter()
            .map(|name| Player::join(&server, name))
            .collect();
        for player in &mut players {
            player.send("quick tictactoe");
        }
        // The four requests race to the server, so who meets whom varies; the structure does not:
        // two rooms, each player in exactly one, both players of a room told the same START.
        let starts: Vec<String> = players
            .iter_mut()
            .map(|player| player.expect("START "))
            .collect();
        let mut rooms: Vec<&String> = starts.iter().collect();
        rooms.sort();
        rooms.dedup();
        assert_eq!(rooms.len(), 2, "{starts:?}");
        for (player, start) in players.iter().zip(&starts) {
            let seated: Vec<&str> = start
                .split(" players ")
                .nth(1)
                .unwrap()
                .split(' ')
                .collect();
            assert_eq!(seated.len(), 2, "{start}");
            assert!(
                seated.contains(&player.name.as_str()),
                "{} not in {start}",
                player.name
            );
            assert_eq!(
                starts.iter().filter(|other| *other == start).count(),
                2,
                "{starts:?}"
            );
        }
    }
}

/// A player who vanishes mid-game is announced AWAY, then forfeits when the grace period ends;
/// the opponent wins. Coming back in time with `resume TOKEN` takes the seat back.
#[test]
fn disconnect_forfeits_and_reconnect_returns() {
    for engine in ENGINES {
        let server = start(engine, &["--grace", "1"]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        alice.send("quick tictactoe");
        alice.expect("WAITING"); // alice is seated first, so she is X and moves first
        bob.send("quick tictactoe");
        alice.expect("YOURTURN");
        drop(bob);
        alice.expect_line("AWAY 1 bob (forfeits in 1s unless they come back)");
        alice.expect_line("RESULT 1 winner alice (bob forfeits: did not come back)");

        let server = start(engine, &["--grace", "30"]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        alice.send("quick tictactoe");
        alice.expect("WAITING"); // alice is seated first, so she is X and moves first
        bob.send("quick tictactoe");
        let token = bob.token();
        alice.expect("YOURTURN");
        drop(bob);
        alice.expect("AWAY 1 bob");
        let mut bob_again = Player::anonymous(&server);
        bob_again.send(&format!("resume {token}"));
        bob_again.expect_line("OK name bob");
        bob_again.expect_line("JOINED 1 tictactoe seat 2");
        alice.expect_line("BACK 1 bob");
        alice.send("5");
        bob_again.expect("YOURTURN 1 moves 1 2 3 4 6 7 8 9");
    }
}

/// Seat theft: another connection from the same machine (same IP) with the away player's name,
/// and then with a wrong token, is refused with a reason; the seat stays kept, the room hears
/// nothing, and the real token still works afterwards.
#[test]
fn away_seat_cannot_be_taken_without_its_token() {
    for engine in ENGINES {
        let server = start(engine, &["--grace", "30"]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        alice.send("quick tictactoe");
        alice.expect("WAITING");
        bob.send("quick tictactoe");
        let token = bob.token();
        alice.expect("YOURTURN");
        drop(bob);
        alice.expect_line("AWAY 1 bob (forfeits in 30s unless they come back)");

        let mut thief = Player::anonymous(&server);
        assert_eq!(thief.stream.local_addr().unwrap().ip(), server.addr.ip());
        thief.send("name bob");
        thief.expect_line(
            "ERR the name bob is kept for a player who is away from a game; to take that seat back, \
             type resume TOKEN (from your TOKEN line)",
        );
        let wrong = if token == "0123456789abcdef" {
            "fedcba9876543210"
        } else {
            "0123456789abcdef"
        };
        thief.send(&format!("resume {wrong}"));
        thief.expect_line(&format!(
            "ERR no seat is kept for the token '{wrong}'; it is good only until its game ends"
        ));
        thief.send("rooms");
        thief.expect_line("ROOM 1 tictactoe playing players alice,bob spectators 0");

        let mut bob_again = Player::anonymous(&server);
        bob_again.send(&format!("resume {token}"));
        bob_again.expect_line("JOINED 1 tictactoe seat 2");
        alice.expect_line("BACK 1 bob");
        let back = alice.heard.len() - 1;
        assert!(
            alice.heard[back - 1].starts_with("AWAY 1 bob"),
            "alice heard something between AWAY and BACK: {:#?}",
            alice.heard
        );
    }
}

/// A spectator watching a game is not closed for being silent, while silent players are.
#[test]
fn spectator_watching_a_game_is_not_idle() {
    for engine in ENGINES {
        let mut server = start(engine, &["--idle-timeout", "1", "--grace", "60"]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        alice.send("quick tictactoe");
        alice.expect("WAITING");
        bob.send("quick tictactoe");
        bob.expect("START 1");
        let mut carol = Player::join(&server, "carol");
        carol.send("spectate 1");
        carol.expect_line("SPECTATING 1 tictactoe");
        // Nobody types. The players are closed as idle (their seats are kept: the game goes on).
        alice.expect_line("ERR idle for 1s; closing");
        bob.expect_line("ERR idle for 1s; closing");
        // Carol's idle period ends too, and the server keeps her.
        server.wait_for(|line| {
            line.contains("carol in room 1: silent for 1s, but watching a game, so not idle")
        });
        // Both players' timeouts end at about the same moment, so their AWAY lines come in any order.
        let mut away = [carol.expect("AWAY 1 "), carol.expect("AWAY 1 ")];
        away.sort();
        assert!(away[0].starts_with("AWAY 1 alice ") && away[1].starts_with("AWAY 1 bob "));
        carol.send("rooms");
        carol.expect_line("ROOM 1 tictactoe playing players alice,bob spectators 1");
        assert!(
            !carol.heard.iter().any(|line| line.starts_with("ERR")),
            "{:#?}",
            carol.heard
        );
    }
}

/// 100 games at once between bots (200 players) all finish, with no errors.
#[test]
fn hundred_simultaneous_bot_games() {
    for engine in ENGINES {
        let server = start(engine, &["--max-players", "400"]);
        let target = server.addr.to_string();
        let (code, stdout, stderr) = run_cli(
            BIN,
            &[
                "bench",
                &target,
                "--players",
                "200",
                "--games",
                "1",
                "--json",
            ],
            b"",
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("\"games_finished\":100,"), "{stdout}");
        assert!(stdout.contains("\"errors\":0"), "{stdout}");
    }
}

/// Unknown commands, bytes that are not UTF-8 and a 1 MB line each get a reason; the server keeps
/// serving the others.
#[test]
fn bad_input_gets_reasons() {
    for engine in ENGINES {
        let server = start(engine, &[]);
        let mut vandal = Player::join(&server, "vandal");
        let mut bystander = Player::join(&server, "bystander");
        vandal.send("fly away");
        vandal.expect_line("ERR unknown command 'fly'; type help");
        vandal.stream.write_all(b"\xff\xfe\x00garbage\n").unwrap();
        vandal.expect_line("ERR lines must be UTF-8 text");
        let huge = vec![b'a'; 1 << 20];
        // The server stops reading after 512 bytes, so this write may fail part-way: that is fine.
        let _ = vandal.stream.write_all(&huge);
        vandal.expect_line("ERR line longer than 512 bytes; closing");
        bystander.send("games");
        bystander.expect_line("GAMES tictactoe 2 players | rps 2 players | hangman 2-4 players");
    }
}

/// A client that never reads cannot stall its room: when its outbox is full it is dropped, and
/// the others go on.
#[test]
fn non_reading_client_is_dropped() {
    for engine in ENGINES {
        // The talker floods on purpose, so lift the per-player line rate for this test.
        let mut server = start(engine, &["--max-lines-per-sec", "1000000"]);
        let mut talker = Player::join(&server, "talker");
        let mut listener = Player::join(&server, "listener");
        let mut sleeper = Player::join(&server, "sleeper");
        talker.send("create hangman");
        talker.expect_line("JOINED 1 hangman seat 1");
        listener.send("join 1");
        listener.expect_line("JOINED 1 hangman seat 2");
        sleeper.send("join 1");
        sleeper.expect("WAITING 1 3/4");
        // The talker's own chat comes back to it too: drain it on another thread.
        let mut talker_reader = talker.lines.get_ref().try_clone().unwrap();
        thread::spawn(move || {
            let mut sink = [0u8; 65536];
            while matches!(talker_reader.read(&mut sink), Ok(n) if n > 0) {}
        });
        let mut listener_reader = listener.lines.get_ref().try_clone().unwrap();
        let drained = thread::spawn(move || {
            let mut sink = [0u8; 65536];
            while matches!(listener_reader.read(&mut sink), Ok(n) if n > 0) {}
        });
        let text = "x".repeat(290);
        let mut burst = Vec::new();
        for _ in 0..200 {
            burst.extend_from_slice(format!("say {text}\n").as_bytes());
        }
        // Chat until the sleeper's socket buffers and its 1024-line outbox are full.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let talking = std::sync::Arc::clone(&stop);
        let mut talker_out = talker.stream.try_clone().unwrap();
        let flood = thread::spawn(move || {
            while !talking.load(std::sync::atomic::Ordering::SeqCst) {
                if talker_out.write_all(&burst).is_err() {
                    break;
                }
            }
        });
        server.wait_for(|line| line.contains("sleeper dropped: too slow"));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        flood.join().unwrap();
        drop(drained);
        let mut other = Player::join(&server, "later");
        other.send("games");
        other.expect("GAMES ");
        talker.send("rooms");
    }
}

/// A player sending lines faster than --max-lines-per-sec is told so; the excess is ignored and
/// the connection stays open.
#[test]
fn line_flood_is_rate_limited() {
    for engine in ENGINES {
        let server = start(engine, &["--max-lines-per-sec", "5"]);
        let mut flooder = Player::join(&server, "flooder");
        let burst: String = (0..50).map(|_| "games\n").collect();
        flooder.stream.write_all(burst.as_bytes()).unwrap();
        flooder.expect_line("ERR too many lines: at most 5 a second; ignored");
        let answered = flooder
            .heard
            .iter()
            .filter(|line| line.starts_with("GAMES "))
            .count();
        assert!(
            answered <= 10,
            "{answered} of 50 lines answered with a budget of 10"
        );
        flooder.send("rooms"); // the connection is still open; this may be refused or answered
    }
}

/// A connection that stays silent past --idle-timeout is told why and closed.
#[test]
fn idle_connection_is_closed() {
    for engine in ENGINES {
        let server = start(engine, &["--idle-timeout", "1"]);
        let mut idle = Player::join(&server, "idle");
        idle.expect_line("ERR idle for 1s; closing");
        assert!(idle.next_line().is_none(), "expected the server to close");
    }
}

/// Beyond --max-players the newcomer is refused with a reason.
#[test]
fn max_players_refused() {
    for engine in ENGINES {
        let server = start(engine, &["--max-players", "1"]);
        let _first = Player::join(&server, "first");
        let mut second = server.connect();
        let mut refusal = String::new();
        second.read_to_string(&mut refusal).unwrap();
        assert_eq!(
            refusal,
            "ERR server full: 1 players (--max-players 1); try again later\n"
        );
    }
}

/// `nc`, a tool nobody here wrote, plays a whole game against a socket player.
#[test]
fn netcat_plays_a_game() {
    for engine in ENGINES {
        let Some(nc) = find_program("nc") else {
            skip(
                "netcat_plays_a_game",
                "`nc` is not installed (apt-get install netcat-openbsd)",
            );
            return;
        };
        let server = start(engine, &[]);
        let mut child = std::process::Command::new(nc)
            .arg(server.addr.ip().to_string())
            .arg(server.addr.port().to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut nc_in = child.stdin.take().unwrap();
        let mut nc_out = BufReader::new(child.stdout.take().unwrap());
        let mut read_until = |prefix: &str| -> String {
            let mut line = String::new();
            loop {
                line.clear();
                assert!(
                    nc_out.read_line(&mut line).unwrap() > 0,
                    "nc output ended before {prefix}"
                );
                if line.starts_with(prefix) {
                    return line.trim_end().to_string();
                }
            }
        };
        read_until("WELCOME");
        nc_in.write_all(b"name netcat\nquick tictactoe\n").unwrap();
        read_until("WAITING");
        let mut socket_player = Player::join(&server, "socket");
        socket_player.send("quick tictactoe");
        for square in ["1", "2", "3"] {
            read_until("YOURTURN");
            nc_in.write_all(format!("{square}\n").as_bytes()).unwrap();
            if square != "3" {
                socket_player.expect("YOURTURN");
                let reply = if square == "1" { "4" } else { "5" };
                socket_player.send(reply);
            }
        }
        assert_eq!(read_until("RESULT"), "RESULT 1 winner netcat");
        socket_player.expect_line("RESULT 1 winner netcat");
        nc_in.write_all(b"quit\n").unwrap();
        drop(nc_in);
        let _ = child.wait();
    }
}

/// Hostile input, control bytes: a name holding ESC or a bidi override (U+202E) is refused with
/// the naming rule, and the same characters in room chat reach the others escaped, never raw.
#[test]
fn control_bytes_in_names_and_chat_never_reach_others_raw() {
    for engine in ENGINES {
        let server = start(engine, &[]);
        let mut alice = Player::join(&server, "alice");
        let mut bob = Player::join(&server, "bob");
        for name in ["a\u{1b}[2Jb", "bad\u{202e}txt", "nul\u{0}x"] {
            alice.send(&format!("name {name}"));
            alice.expect_line("ERR a name is 1 to 16 letters, digits, '_' or '-'");
        }
        alice.send("create tictactoe");
        alice.expect_line("JOINED 1 tictactoe seat 1");
        bob.send("join 1");
        bob.expect("START 1");
        alice.send("say left\u{202e}right \u{1b}[2J done");
        bob.expect_line("CHAT 1 alice: left\\u{202e}right ^[[2J done");
    }
}

/// Hostile input, a slow client: a command sent one byte at a time (each its own segment, 2 ms
/// apart) is read as one line and answered once, as a person typing into `nc` would expect.
#[test]
fn a_line_sent_one_byte_at_a_time_is_one_command() {
    for engine in ENGINES {
        let server = start(engine, &[]);
        let mut slow = Player::anonymous(&server);
        slow.stream.set_nodelay(true).unwrap();
        for byte in b"name slowpoke\n" {
            slow.stream.write_all(&[*byte]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        slow.expect_line("OK name slowpoke");
        slow.send("games");
        slow.expect_line("GAMES tictactoe 2 players | rps 2 players | hangman 2-4 players");
    }
}
