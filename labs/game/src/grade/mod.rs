//! # `game-lab grade HOST:PORT`: check a student's game server against docs/protocols/game.md
//!
//! A game server has the echo server's problems (TCP has no message boundaries, many clients
//! come at once, some never read, some vanish) and one more: it keeps *shared state* that
//! several connections change, and it is the referee. So besides the stream checks, the grader
//! sits two players of its own at a tic-tac-toe board and plays whole games against the server's
//! rules: a win and a draw must be called, a move out of turn, onto a taken square or off the
//! board must be refused with the board left as it was, and each player must be told what the
//! other did. Then it plays 20 games at once, lets one client flood the server without reading,
//! and pulls the plug on a player in the middle of a game.
//!
//! Every check opens its own connections and runs under a deadline ([`netlab_common::grade`]),
//! so a hung server fails checks instead of hanging the grader.
//!
//! ## Layout
//! - this file: the checks, in rubric order, and the game-playing steps they share.
//! - [`player`]: the grader's player, a line client that reads past pushes that only inform and
//!   reads the board.

pub mod player;

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use netlab_common::grade::class::{self, Plan};
use netlab_common::grade::conn::{PATIENCE, reset};
use netlab_common::grade::flood::{connect_unread, flood};
use netlab_common::grade::{Check, CheckResult, Failure, Rubric, all_at_once, show_bytes};

use self::player::{Board, EMPTY, Player, show_board};

/// The longest line a server must accept (bytes, without the `\n`); one byte more is refused.
pub const MAX_LINE: usize = 512;

/// Games played at once by the concurrency check.
pub const GAMES_AT_ONCE: usize = 20;

/// X wins on the diagonal 3-5-7 (X plays 5, 3, 7; O plays 1, 2): the game of docs/game.md.
pub const X_WINS: &[u8] = &[5, 1, 3, 2, 7];

/// A full board and no line: X plays 1, 3, 8, 9, 4; O plays 2, 5, 7, 6.
pub const DRAW: &[u8] = &[1, 2, 3, 5, 8, 7, 9, 6, 4];

/// What to grade.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The server.
    pub addr: SocketAddr,
}

/// What `game-lab grade` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct GradeConfig {
    /// The server to grade.
    pub target: SocketAddr,
    /// The idle timeout the assignment sets for the server (`--idle-timeout`): when given, a
    /// check that a silent client is told and closed after about that long.
    pub expected_idle_timeout: Option<Duration>,
    /// How long each check may take (`--timeout`).
    pub deadline: Duration,
    /// Print the rubric as one JSON object.
    pub json: bool,
}

/// `game-lab grade`: runs the checks and prints the rubric; fails (exit 1) unless every
/// required check passed.
pub fn run(config: &GradeConfig, plan: &Plan) -> netlab_common::Result<()> {
    let config = *config;
    class::run(plan, &|target| grade(&GradeConfig { target, ..config }))
}

/// Runs every check against the server; each may take `config.deadline`. The expected idle
/// timeout, when the assignment sets one, adds the idle check, which may take that much longer.
pub fn grade(config: &GradeConfig) -> Rubric {
    let GradeConfig {
        target: addr,
        expected_idle_timeout,
        deadline,
        ..
    } = *config;
    let t = Target { addr };
    let subject = format!("a tic-tac-toe game server at {addr}");
    let mut rubric = Rubric::run(subject, checks(t), deadline);
    if let Some(idle) = expected_idle_timeout {
        rubric.run_more(vec![idle_check(t, idle)], deadline + idle);
    }
    // Last: a server that dies here fails only this check, not every later one.
    rubric.run_more(vec![vanish_check(t)], deadline);
    rubric
}

fn checks(t: Target) -> Vec<Check> {
    vec![
        Check::required("welcome", 1, "the server speaks first", move || {
            Player::connect(t.addr, "the client").map(|_| ())
        }),
        Check::required(
            "two players seated",
            2,
            "matchmaking: shared state across connections",
            move || seat_pair(t).map(|_| ()),
        ),
        Check::required("game won", 3, "the server is the referee", move || {
            let mut game = seat_pair(t)?;
            game.play(X_WINS)?;
            game.expect_result(Some(Mark::X))
        }),
        Check::required("game drawn", 2, "a full board is a draw", move || {
            let mut game = seat_pair(t)?;
            game.play(DRAW)?;
            game.expect_result(None)
        }),
        Check::required(
            "move out of turn",
            3,
            "refuse before changing anything",
            move || out_of_turn(t),
        ),
        Check::required(
            "square taken",
            2,
            "refuse before changing anything",
            move || square_taken(t),
        ),
        Check::required(
            "bad moves",
            2,
            "input from the network is hostile",
            move || bad_moves(t),
        ),
        Check::required(
            "bad commands",
            1,
            "an unknown command is answered, not fatal",
            move || bad_commands(t),
        ),
        Check::required(
            "one-byte writes",
            2,
            "a stream has no message boundaries",
            move || one_byte_writes(t),
        ),
        Check::required(
            "lines in one write",
            2,
            "one read can hold many lines",
            move || lines_in_one_write(t),
        ),
        Check::required(
            "oversize line",
            2,
            "limits: refuse, say why, keep serving",
            move || oversize_line(t),
        ),
        Check::required(
            "quit and half-close",
            1,
            "shutdown(SHUT_WR): answer, then close",
            move || quit_and_half_close(t),
        ),
        Check::required(
            "20 games at once",
            3,
            "serving clients concurrently",
            move || games_at_once(t, GAMES_AT_ONCE),
        ),
        Check::required(
            "player never reads",
            2,
            "one slow client must not stall the rest",
            move || never_reads(t),
        )
        .flooding(),
    ]
}

fn idle_check(t: Target, idle: Duration) -> Check {
    Check::optional(
        "idle timeout",
        2,
        "a silent peer may be dead: only a timeout tells",
        move || idle_timeout(t, idle),
    )
}

fn vanish_check(t: Target) -> Check {
    Check::required(
        "player vanishes",
        3,
        "a peer can disappear mid-game",
        move || vanish(t),
    )
}

// --- a game between two grader players -----------------------------------------------------

/// X or O: seat 1 plays X and moves first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    X,
    O,
}

/// Two grader players seated in one room, and the board as it should be.
struct Game {
    x: Player,
    o: Player,
    room: String,
    board: Board,
    /// Moves played so far: whose turn it is.
    played: usize,
}

/// Seats two new players with `quick tictactoe`: the first must get seat 1 of a new room, the
/// second seat 2 of the same room; both must then get `START` and the empty board.
fn seat_pair(t: Target) -> Result<Game, Failure> {
    let mut x = Player::connect(t.addr, "player X")?;
    x.send("quick tictactoe")?;
    let room = joined(&mut x, None, 1)?;
    let mut o = Player::connect(t.addr, "player O")?;
    o.send("quick tictactoe")?;
    joined(&mut o, Some(&room), 2)?;
    start(x, o, room)
}

/// Reads `JOINED ROOM tictactoe seat N`; returns the room.
fn joined(player: &mut Player, room: Option<&str>, seat: u8) -> Result<String, Failure> {
    let what = match room {
        None => format!(
            "{}'s quick tictactoe to open a room and sit them in seat {seat}",
            player.who
        ),
        Some(room) => format!(
            "{}'s quick tictactoe to sit them in the waiting room {room}, seat {seat}",
            player.who
        ),
    };
    let line = player.expect_reply("JOINED ", &what)?;
    let words: Vec<&str> = line.split(' ').collect();
    match (words.as_slice(), room) {
        (["JOINED", got, "tictactoe", "seat", got_seat], want)
            if want.is_none_or(|want| want == *got) && *got_seat == seat.to_string() =>
        {
            Ok((*got).to_string())
        }
        _ => Err(player.blame(Failure::new(
            format!(
                "{what}: \"JOINED {} tictactoe seat {seat}\"",
                room.unwrap_or("ROOM")
            ),
            show_bytes(line.as_bytes()),
        ))),
    }
}

/// Both players read `START ROOM tictactoe players X O` and the empty board.
fn start(mut x: Player, mut o: Player, room: String) -> Result<Game, Failure> {
    let want = format!("START {room} tictactoe players {} {}", x.name, o.name);
    for player in [&mut x, &mut o] {
        let what = format!(
            "{} to be told the game started, players in seat order",
            player.who
        );
        let line = player.until("START", &what)?;
        if line != want {
            return Err(player.blame(Failure::new(
                format!("{what}: {}", show_bytes(want.as_bytes())),
                show_bytes(line.as_bytes()),
            )));
        }
        let what = format!("{} to be shown the empty board after START", player.who);
        player.expect_board(&room, &EMPTY, &what)?;
    }
    Ok(Game {
        x,
        o,
        room,
        board: EMPTY,
        played: 0,
    })
}

impl Game {
    /// Whose turn it is.
    fn to_move(&self) -> Mark {
        if self.played.is_multiple_of(2) {
            Mark::X
        } else {
            Mark::O
        }
    }

    /// The mover and the other player.
    fn players(&mut self, mover: Mark) -> (&mut Player, &mut Player) {
        match mover {
            Mark::X => (&mut self.x, &mut self.o),
            Mark::O => (&mut self.o, &mut self.x),
        }
    }

    /// Plays `squares` in turn from the board as it is (a refused move must have left it so).
    /// Each move: the mover is asked (`YOURTURN` with the empty squares), sends `move N`, and
    /// both players must see `MOVED` and the new board.
    fn play(&mut self, squares: &[u8]) -> CheckResult {
        for &square in squares {
            self.play_one(square)?;
        }
        Ok(())
    }

    fn play_one(&mut self, square: u8) -> CheckResult {
        let mover = self.to_move();
        let (room, before) = (self.room.clone(), self.board);
        let after = marked(before, square, mover);
        let (player, other) = self.players(mover);
        player.expect_your_turn(&room, &before)?;
        player.send(&format!("move {square}"))?;
        let name = player.name.clone();
        for seer in [player, other] {
            seer.expect_moved(&room, &name, square)?;
            let what = format!("{} to see the board after {name} took {square}", seer.who);
            seer.expect_board(&room, &after, &what)?;
        }
        self.board = after;
        self.played += 1;
        Ok(())
    }

    /// Both players must get `RESULT ROOM winner NAME`, or `RESULT ROOM draw` when there is
    /// no winner.
    fn expect_result(&mut self, winner: Option<Mark>) -> CheckResult {
        let want = match winner {
            Some(Mark::X) => format!("RESULT {} winner {}", self.room, self.x.name),
            Some(Mark::O) => format!("RESULT {} winner {}", self.room, self.o.name),
            None => format!("RESULT {} draw", self.room),
        };
        let board = show_board(&self.board);
        for player in [&mut self.x, &mut self.o] {
            let what = format!(
                "{} to be told the result of {board}: {}",
                player.who,
                show_bytes(want.as_bytes())
            );
            let line = player.expect_reply("RESULT ", &what)?;
            // Details in brackets may follow, as after a forfeit.
            if line != want && !line.starts_with(&format!("{want} (")) {
                return Err(player.blame(Failure::new(what, show_bytes(line.as_bytes()))));
            }
        }
        Ok(())
    }
}

/// `board` with `square` (1 to 9) taken by `mark`.
fn marked(board: Board, square: u8, mark: Mark) -> Board {
    let mut after = board;
    if let Some(cell) = after.get_mut(usize::from(square).saturating_sub(1)) {
        *cell = match mark {
            Mark::X => b'X',
            Mark::O => b'O',
        };
    }
    after
}

// --- the checks ------------------------------------------------------------------------------

/// O moves before X: refused with `ERR it is not your turn`, and nothing changes: X's next move
/// is the first one anybody sees, and the square O asked for stays empty.
fn out_of_turn(t: Target) -> CheckResult {
    let mut game = seat_pair(t)?;
    // Whose turn it is comes first, whatever the square: a taken, missing or unreadable
    // square out of turn is still "not your turn".
    for square in ["5", "0", "x"] {
        game.o.send(&format!("move {square}"))?;
        let what = match square {
            "5" => "O's move before X's first move to be refused".to_string(),
            _ => format!("O's move {square} before X's first move to be refused as out of turn"),
        };
        game.o.expect_reply("ERR it is not your turn", &what)?;
    }
    // Both must now see X's move as the first move of the game, on an otherwise empty board.
    game.play(&[1])?;
    game.o.expect_your_turn(&game.room, &game.board)
}

/// X takes 5, then O asks for 5: refused with `ERR`, and O's next move counts.
fn square_taken(t: Target) -> CheckResult {
    let mut game = seat_pair(t)?;
    game.play(&[5])?;
    game.o.send("move 5")?;
    game.o
        .expect_reply("ERR ", "O's move onto X's square 5 to be refused")?;
    game.play(&[1])
}

/// Squares that do not exist and text that is no square: each refused with `ERR`, the board
/// unchanged, X still to move.
fn bad_moves(t: Target) -> CheckResult {
    let mut game = seat_pair(t)?;
    for bad in ["0", "10", "x", "99999999999999999999", "-1", ""] {
        game.x.send(&format!("move {bad}"))?;
        let what = format!(
            "{} to be refused",
            show_bytes(format!("move {bad}").as_bytes())
        );
        game.x.expect_reply("ERR ", &what)?;
    }
    game.play(&[5])
}

/// An unknown command and a line that is not UTF-8, in the lobby: each answered with `ERR`, and
/// the connection still works.
fn bad_commands(t: Target) -> CheckResult {
    let mut c = Player::connect(t.addr, "the client")?;
    c.send("dance")?;
    c.expect_reply("ERR ", "an unknown command to be refused")?;
    c.send_bytes(b"caf\xe9 \xff\xfe\n")?;
    c.expect_reply("ERR ", "a line that is not UTF-8 to be refused")?;
    c.send("quit")?;
    c.expect_reply(
        &format!("BYE {}", c.name),
        "the connection to still work after the refusals",
    )
    .map(|_| ())
}

/// `quick tictactoe` and a move, each sent one byte per write.
fn one_byte_writes(t: Target) -> CheckResult {
    let mut x = Player::connect(t.addr, "player X")?;
    x.send_one_byte_at_a_time("quick tictactoe")?;
    let room = joined(&mut x, None, 1)?;
    let mut o = Player::connect(t.addr, "player O")?;
    o.send("quick tictactoe")?;
    joined(&mut o, Some(&room), 2)?;
    let mut game = start(x, o, room)?;
    game.x.expect_your_turn(&game.room, &EMPTY)?;
    game.x.send_one_byte_at_a_time("move 5")?;
    let name = game.x.name.clone();
    let after = marked(EMPTY, 5, Mark::X);
    for player in [&mut game.x, &mut game.o] {
        player.expect_moved(&game.room, &name, 5)?;
        let what = format!(
            "{} to see the board after a move sent one byte per write",
            player.who
        );
        player.expect_board(&game.room, &after, &what)?;
    }
    Ok(())
}

/// Two lines in one write, twice: an unknown command and `quick tictactoe`; then a move and a
/// second move (out of turn). Each line gets its own answer, in order.
fn lines_in_one_write(t: Target) -> CheckResult {
    let mut x = Player::connect(t.addr, "player X")?;
    x.send_bytes(b"dance\nquick tictactoe\n")?;
    x.expect_reply(
        "ERR ",
        "the first of two lines in one write (dance) to be refused",
    )?;
    let room = joined(&mut x, None, 1)?;
    let mut o = Player::connect(t.addr, "player O")?;
    o.send("quick tictactoe")?;
    joined(&mut o, Some(&room), 2)?;
    let mut game = start(x, o, room)?;
    game.x.send_bytes(b"move 5\nmove 0\n")?;
    let name = game.x.name.clone();
    game.x.expect_moved(&game.room, &name, 5)?;
    game.x.expect_reply(
        "ERR ",
        "the second of two moves in one write (move 0) to be refused",
    )?;
    let after = marked(EMPTY, 5, Mark::X);
    game.o.expect_moved(&game.room, &name, 5)?;
    let what = format!("{} to see only the first of the two moves", game.o.who);
    game.o.expect_board(&game.room, &after, &what)?;
    game.o.expect_your_turn(&game.room, &after)
}

/// A line of exactly [`MAX_LINE`] bytes is an ordinary (unknown) command; a longer one is
/// refused with `ERR` and the connection closed; a new client is still welcome.
fn oversize_line(t: Target) -> CheckResult {
    let mut c = Player::connect(t.addr, "the client")?;
    c.send(&"x".repeat(MAX_LINE))?;
    c.expect_reply(
        "ERR ",
        &format!("a {MAX_LINE}-byte line (the limit) to be answered as an unknown command"),
    )?;
    // No newline: the server must not wait for one (it may never come) before refusing.
    c.send_bytes("x".repeat(MAX_LINE + 100).as_bytes())?;
    c.expect_reply(
        "ERR ",
        &format!(
            "{} bytes with no newline to be refused without waiting for one",
            MAX_LINE + 100
        ),
    )?;
    let closed = c.next_line();
    match closed {
        Err(failure)
            if failure.got.ends_with("the connection closed") || failure.got.contains("reset") => {}
        Err(failure) => {
            return Err(Failure::new(
                "the server to close the connection after the ERR",
                failure.got,
            ));
        }
        Ok(line) => {
            return Err(c.blame(Failure::new(
                "the server to close the connection after the ERR",
                format!("more lines: {}", show_bytes(line.as_bytes())),
            )));
        }
    }
    still_serving(t)
}

/// `quit`, then a half-close: `BYE NAME`, then the server closes.
fn quit_and_half_close(t: Target) -> CheckResult {
    let c = Player::connect(t.addr, "the client")?;
    let name = c.name.clone();
    let Some(mut stream) = c.into_stream() else {
        return Err(Failure::new("an open connection", "it was already closed"));
    };
    netlab_common::grade::conn::send(&mut stream, b"quit\n")?;
    netlab_common::grade::conn::half_close(&stream)?;
    let mut lines = netlab_common::grade::conn::Lines::over(stream, "\n");
    let what = format!("BYE {name}, after any INFO lines");
    let line = lines
        .skip_until(&what, |line| !player::is_noise(line))
        .map_err(|f| Failure::new(what.clone(), f.got))?;
    if line != format!("BYE {name}") {
        return Err(Failure::new(what, show_bytes(line.as_bytes())));
    }
    lines.expect_close()?;
    half_close_without_quit(t)
}

/// An unknown command, then a half-close without `quit`: the `ERR` still comes (end of
/// stream means "no more lines", not "stop writing"), then the close.
fn half_close_without_quit(t: Target) -> CheckResult {
    let c = Player::connect(t.addr, "the client")?;
    let Some(mut stream) = c.into_stream() else {
        return Err(Failure::new("an open connection", "it was already closed"));
    };
    netlab_common::grade::conn::send(&mut stream, b"dance\n")?;
    netlab_common::grade::conn::half_close(&stream)?;
    let mut lines = netlab_common::grade::conn::Lines::over(stream, "\n");
    let what = "ERR for `dance` sent just before a half-close (no quit), then a close";
    let line = lines
        .skip_until(what, |line| !player::is_noise(line))
        .map_err(|f| Failure::new(what, f.got))?;
    if !line.starts_with("ERR ") {
        return Err(Failure::new(what, show_bytes(line.as_bytes())));
    }
    lines
        .expect_close()
        .map_err(|f| Failure::new(format!("{what}: {}", f.expected), f.got))
}

/// `count` pairs are seated one after another, then all the games are played at the same time,
/// each to the end.
fn games_at_once(t: Target, count: usize) -> CheckResult {
    let mut games = Vec::with_capacity(count);
    for index in 0..count {
        let game = seat_pair(t)
            .map_err(|f| Failure::new(f.expected, format!("game {index} of {count}: {}", f.got)))?;
        games.push(game);
    }
    // Every player stays connected until all games are over.
    let games = all_at_once("game", games, |index, game| {
        let (squares, winner) = if index % 2 == 0 {
            (X_WINS, Some(Mark::X))
        } else {
            (DRAW, None)
        };
        game.play(squares)?;
        game.expect_result(winner)
    })?;
    drop(games);
    Ok(())
}

/// One client floods the server with short lines (each an unknown command, answered with an
/// `ERR` line about 17 times as long) and never reads the answers, until its own writes block:
/// the server has stopped reading it, so the server's buffers toward it are full, whatever
/// their size ([`netlab_common::grade::flood`]). Then two other players must play a whole game.
/// A server that writes while holding a lock the others need (or that serves everyone from
/// one thread with blocking writes) stops for everybody at that moment.
fn never_reads(t: Target) -> CheckResult {
    let mut hog = connect_unread(t.addr)?;
    let flooded = flood(&mut hog, &b"x\n".repeat(8_192));
    let result = seat_pair(t).and_then(|mut game| {
        game.play(X_WINS)?;
        game.expect_result(Some(Mark::X))
    });
    drain(hog, Duration::from_secs(3));
    result.map_err(|f| {
        flooded.explain(Failure::new(
            format!("{}, while another client was not reading", f.expected),
            f.got,
        ))
    })
}

/// Reads and drops what the server still sends, for at most `limit`: the flood's answers are
/// taken off the server's hands before the next check, and the connection ends with a FIN,
/// not a reset.
fn drain(mut stream: TcpStream, limit: Duration) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let until = Instant::now() + limit;
    let mut buf = vec![0u8; 256 * 1024];
    while Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// A client that says nothing after `WELCOME`: the server must send `ERR ...` and close, after
/// about `idle` and not much sooner.
fn idle_timeout(t: Target, idle: Duration) -> CheckResult {
    let mut c = Player::connect(t.addr, "the silent client")?;
    let started = Instant::now();
    c.set_patience(idle + PATIENCE);
    let what = format!("ERR and a close after {} s of silence", idle.as_secs_f64());
    c.expect_reply("ERR ", &what)?;
    let after = started.elapsed();
    // Some slack: the server's clock started at its accept, a little before ours.
    if after + Duration::from_millis(300) < idle {
        return Err(Failure::new(
            what,
            format!("the ERR after only {:.1} s", after.as_secs_f64()),
        ));
    }
    c.expect_close()
}

/// Seats a pair; after X's first move O's connection is reset, as a crashed client's would be.
/// X must be told (`AWAY ROOM NAME ...` when the server keeps the seat for a while, or
/// `RESULT ROOM winner X ...` when it ends the game), and a new client must be served.
fn vanish(t: Target) -> CheckResult {
    let mut game = seat_pair(t)?;
    game.play(&[5])?;
    // O reads everything the move sent it first, so that the reset is the next thing the
    // server hears of O, and no write to O is under way when it does.
    let board = game.board;
    game.o.expect_your_turn(&game.room, &board)?;
    let o_name = game.o.name.clone();
    let Some(stream) = game.o.into_stream() else {
        return Err(Failure::new("an open connection", "it was already closed"));
    };
    reset(stream);
    let away = format!("AWAY {} {o_name}", game.room);
    let won = format!("RESULT {} winner {}", game.room, game.x.name);
    let what = format!(
        "X to be told that O vanished: {} or {}",
        show_bytes(away.as_bytes()),
        show_bytes(won.as_bytes())
    );
    let line = game
        .x
        .next_reply()
        .map_err(|f| Failure::new(what.clone(), f.got))?;
    if !line.starts_with(&away) && !line.starts_with(&won) {
        return Err(game
            .x
            .blame(Failure::new(what, show_bytes(line.as_bytes()))));
    }
    still_serving(t)
}

/// A new client is welcomed and answered: is the server still serving after what earlier
/// clients did to it?
fn still_serving(t: Target) -> CheckResult {
    let outcome = Player::connect(t.addr, "a new client").and_then(|mut c| {
        c.send("quit")?;
        c.expect_reply(&format!("BYE {}", c.name), "quit to be answered")
    });
    // One wording whatever went wrong (refused, reset, silence): the student should look at
    // what the earlier clients did to the server.
    outcome
        .map(|_| ())
        .map_err(|f| Failure::new("a new client to be served afterwards", f.got))
}
