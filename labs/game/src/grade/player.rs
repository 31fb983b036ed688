//! # The grader's player: a line client that knows tic-tac-toe
//!
//! A game server talks in *pushes* as much as in answers: a `MOVED` arrives because the opponent
//! moved, a `TURN` because the turn changed, `INFO` lines are for people. So a grader cannot
//! read "the next line" and expect the answer to what it just sent. It reads past the lines that
//! only inform ([`NOISE`]) and stops at the first line that matters; when that line is not the
//! one a correct server sends, the failure shows it, so the student sees what their server said
//! instead.
//!
//! A [`Player`] leaves politely when dropped (it shuts its sending side and reads what is left on
//! a thread of its own), whichever way a check ended: closing a socket with unread bytes makes
//! the kernel reset the connection, and only the "player vanishes" check may do that on purpose.

use std::net::{SocketAddr, TcpStream};
use std::thread;

use netlab_common::grade::conn::{Lines, leave_politely, send_slowly};
use netlab_common::grade::{CheckResult, Failure, show_bytes};

/// Keywords of lines that inform and are read past while waiting for a reply: pushes about
/// the room (`TURN`, `WAITING`, `CHAT`), lines for people (`INFO`), the optional seat token, the
/// board block (`BOARD`, the `| ` lines, `END`) when a check is not looking at the board, and
/// `YOURTURN` (remembered, for the next move: see [`Player::expect_your_turn`]).
pub const NOISE: &[&str] = &[
    "INFO", "TOKEN", "TURN", "YOURTURN", "WAITING", "CHAT", "BOARD", "END", "|",
];

/// The nine squares as the grader expects to see them: `X`, `O`, or the square's own digit
/// when it is empty (`"X2O456789"`).
pub type Board = [u8; 9];

/// The empty board.
pub const EMPTY: Board = *b"123456789";

/// One grader connection playing the protocol of docs/protocols/game.md.
pub struct Player {
    lines: Option<Lines>,
    /// The name from `WELCOME NAME`, which the server uses in `MOVED` and `RESULT`.
    pub name: String,
    /// Who this is in a reason: `"player X"`, `"the client"`.
    pub who: String,
    /// The last `YOURTURN` line read past (while waiting for an `ERR`, say) and not yet looked
    /// at: it comes once per turn, so a refused move is not asked for again.
    your_turn: Option<String>,
}

impl Player {
    /// Connects and reads `WELCOME NAME`, which must be the first line.
    pub fn connect(addr: SocketAddr, who: &str) -> Result<Player, Failure> {
        let lines = Lines::connect(addr, "\n")
            .map_err(|f| Failure::new(f.expected, format!("{who}: {}", f.got)))?;
        let mut player = Player {
            lines: Some(lines),
            name: String::new(),
            who: who.to_string(),
            your_turn: None,
        };
        let rest = player
            .lines()?
            .expect_prefix("WELCOME ")
            .map_err(|f| player.blame(f))?;
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(player.blame(Failure::new(
                "WELCOME and a name of one word",
                show_bytes(format!("WELCOME {rest}").as_bytes()),
            )));
        }
        player.name = rest;
        Ok(player)
    }

    fn lines(&mut self) -> Result<&mut Lines, Failure> {
        self.lines
            .as_mut()
            .ok_or_else(|| Failure::new("an open connection", "it was already closed"))
    }

    /// Puts who this is in front of what arrived.
    pub fn blame(&self, failure: Failure) -> Failure {
        Failure::new(failure.expected, format!("{}: {}", self.who, failure.got))
    }

    /// Sends one line.
    pub fn send(&mut self, line: &str) -> CheckResult {
        let result = self.lines()?.send_line(line);
        result.map_err(|f| self.blame(f))
    }

    /// Sends raw bytes in one write (several lines at once, a line that is not UTF-8).
    pub fn send_bytes(&mut self, bytes: &[u8]) -> CheckResult {
        let result = netlab_common::grade::conn::send(self.lines()?.stream(), bytes);
        result.map_err(|f| self.blame(f))
    }

    /// Sends `line` and its `\n` one byte per write.
    pub fn send_one_byte_at_a_time(&mut self, line: &str) -> CheckResult {
        for byte in format!("{line}\n").bytes() {
            let result = send_slowly(self.lines()?.stream(), &[byte]);
            result.map_err(|f| self.blame(f))?;
        }
        Ok(())
    }

    /// The next line, whatever it is.
    pub fn next_line(&mut self) -> Result<String, Failure> {
        let result = self.lines()?.next_line();
        let line = result.map_err(|f| self.blame(f))?;
        if line.starts_with("YOURTURN ") {
            self.your_turn = Some(line.clone());
        }
        Ok(line)
    }

    /// The next line that is not [`NOISE`]: the reply to what this player sent, or a push that
    /// matters (`MOVED`, `RESULT`, `AWAY`, ...).
    pub fn next_reply(&mut self) -> Result<String, Failure> {
        loop {
            let line = self.next_line()?;
            if !is_noise(&line) {
                return Ok(line);
            }
        }
    }

    /// The next reply must start with `prefix`; returns the whole line.
    pub fn expect_reply(&mut self, prefix: &str, what: &str) -> Result<String, Failure> {
        let expected = format!(
            "{what}: a line starting with {}",
            show_bytes(prefix.as_bytes())
        );
        let line = self
            .next_reply()
            .map_err(|f| Failure::new(expected.clone(), f.got))?;
        if line.starts_with(prefix) {
            return Ok(line);
        }
        Err(self.blame(Failure::new(expected, show_bytes(line.as_bytes()))))
    }

    /// Reads past every line until one whose first word is `keyword` (the board block that
    /// comes with a move, a `TURN` before a `YOURTURN`). An `ERR` or `RESULT` on the way ends
    /// the wait at once: it is what went wrong, and the student should see it.
    pub fn until(&mut self, keyword: &str, what: &str) -> Result<String, Failure> {
        let expected = format!("{what}: a {keyword} line");
        loop {
            let line = self
                .next_line()
                .map_err(|f| Failure::new(expected.clone(), f.got))?;
            let first = line.split(' ').next().unwrap_or_default();
            if first == keyword {
                return Ok(line);
            }
            if first == "ERR" || first == "RESULT" {
                return Err(self.blame(Failure::new(expected, show_bytes(line.as_bytes()))));
            }
        }
    }

    /// Reads the next board block (`BOARD ROOM tictactoe`, `| ` lines, `END`) and checks it
    /// shows `want`.
    pub fn expect_board(&mut self, room: &str, want: &Board, what: &str) -> CheckResult {
        let header = self.until("BOARD", what)?;
        let wanted_header = format!("BOARD {room} tictactoe");
        if header != wanted_header {
            return Err(self.blame(Failure::new(
                format!("{what}: {}", show_bytes(wanted_header.as_bytes())),
                show_bytes(header.as_bytes()),
            )));
        }
        let mut body = Vec::new();
        loop {
            let line = self.next_line()?;
            if line == "END" {
                break;
            }
            if !line.starts_with('|') || body.len() > 20 {
                return Err(self.blame(Failure::new(
                    format!("{what}: board lines starting with \"|\", then END"),
                    show_bytes(line.as_bytes()),
                )));
            }
            body.push(line);
        }
        match parse_board(&body) {
            Some(got) if got == *want => Ok(()),
            Some(got) => Err(self.blame(Failure::new(
                format!("{what}: the board {}", show_board(want)),
                format!("the board {}", show_board(&got)),
            ))),
            None => Err(self.blame(Failure::new(
                format!("{what}: three rows like \"|  1 | X | 3\" between rules \"| ---+---+---\""),
                format!(
                    "{} board line(s), the first {}",
                    body.len(),
                    show_bytes(body.first().map_or("", String::as_str).as_bytes())
                ),
            ))),
        }
    }

    /// Waits for `YOURTURN ROOM moves ...` and checks it lists exactly the empty squares.
    pub fn expect_your_turn(&mut self, room: &str, board: &Board) -> CheckResult {
        let what = format!("{} to be asked for a move", self.who);
        let line = match self.your_turn.take() {
            Some(line) => line,
            None => {
                self.until("YOURTURN", &what)?;
                self.your_turn.take().unwrap_or_default()
            }
        };
        let empty: Vec<String> = board
            .iter()
            .filter(|square| square.is_ascii_digit())
            .map(|&square| char::from(square).to_string())
            .collect();
        let want = format!("YOURTURN {room} moves {}", empty.join(" "));
        if line == want {
            return Ok(());
        }
        Err(self.blame(Failure::new(
            format!(
                "{what}, with the empty squares: {}",
                show_bytes(want.as_bytes())
            ),
            show_bytes(line.as_bytes()),
        )))
    }

    /// Waits for `MOVED ROOM NAME SQUARE -- ...` and checks who moved where.
    pub fn expect_moved(&mut self, room: &str, mover: &str, square: u8) -> CheckResult {
        let want = format!("MOVED {room} {mover} {square} -- ");
        let what = format!("{} to be told that {mover} took square {square}", self.who);
        let line = self.until("MOVED", &what)?;
        if line.starts_with(&want) {
            return Ok(());
        }
        Err(self.blame(Failure::new(
            format!(
                "{what}: a line starting with {}",
                show_bytes(want.as_bytes())
            ),
            show_bytes(line.as_bytes()),
        )))
    }

    /// Changes how long one read may wait (the idle check waits on purpose).
    pub fn set_patience(&mut self, patience: std::time::Duration) {
        if let Some(lines) = self.lines.as_mut() {
            lines.set_patience(patience);
        }
    }

    /// The server closes the connection, with nothing more to say.
    pub fn expect_close(&mut self) -> CheckResult {
        let result = self.lines()?.expect_close();
        result.map_err(|f| self.blame(f))
    }

    /// The socket, for a check that resets the connection.
    pub fn into_stream(mut self) -> Option<TcpStream> {
        self.lines.take().map(Lines::into_stream)
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        if let Some(lines) = self.lines.take() {
            let stream = lines.into_stream();
            let _ = thread::Builder::new()
                .name("grader leaves".into())
                .spawn(move || leave_politely(stream));
        }
    }
}

/// Whether `line` only informs (see [`NOISE`]).
pub fn is_noise(line: &str) -> bool {
    if line.starts_with('|') {
        return true;
    }
    let first = line.split(' ').next().unwrap_or_default();
    NOISE.contains(&first)
}

/// Reads the three rows out of a board block's `| ` lines: the 1st, 3rd and 5th lines, each
/// three cells between `|`s. Any other shape is `None`.
pub fn parse_board(body: &[String]) -> Option<Board> {
    let mut board = EMPTY;
    for (row, line) in [body.first()?, body.get(2)?, body.get(4)?]
        .into_iter()
        .enumerate()
    {
        let cells: Vec<&str> = line.strip_prefix('|')?.split('|').map(str::trim).collect();
        if cells.len() != 3 {
            return None;
        }
        for (column, cell) in cells.into_iter().enumerate() {
            let &[mark] = cell.as_bytes() else {
                return None;
            };
            *board.get_mut(row * 3 + column)? = mark;
        }
    }
    let digits_in_place = board.iter().enumerate().all(|(index, &mark)| {
        mark == b'X' || mark == b'O' || usize::from(mark) == usize::from(b'1') + index
    });
    digits_in_place.then_some(board)
}

/// A board on one line, rows separated by `/`: `"O2X/4X6/789"`.
pub fn show_board(board: &Board) -> String {
    board
        .chunks(3)
        .map(|row| String::from_utf8_lossy(row).into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The board netlab's server draws, read back; a board of another shape is refused.
    #[test]
    fn boards_are_parsed_from_their_rows() {
        let body: Vec<String> = [
            "|  O | 2 | X",
            "| ---+---+---",
            "|  4 | X | 6",
            "| ---+---+---",
            "|  7 | 8 | 9",
            "| You are X. Your move: type the number of an empty square.",
        ]
        .map(String::from)
        .to_vec();
        let board = parse_board(&body);
        assert_eq!(board, Some(*b"O2X4X6789"));
        assert_eq!(show_board(&board.unwrap_or(EMPTY)), "O2X/4X6/789");
        let wrong: Vec<String> = ["| 1 2 3", "| -", "| 4 5 6", "| -", "| 7 8 9"]
            .map(String::from)
            .to_vec();
        assert_eq!(parse_board(&wrong), None);
        let moved_digit: Vec<String> = ["| 2 | 1 | 3", "|", "| 4 | 5 | 6", "|", "| 7 | 8 | 9"]
            .map(String::from)
            .to_vec();
        assert_eq!(parse_board(&moved_digit), None);
    }

    #[test]
    fn noise_is_only_what_informs() {
        assert!(is_noise("TURN 1 alice"));
        assert!(is_noise("|  1 | 2 | 3"));
        assert!(!is_noise("MOVED 1 alice 5 -- player 2 to move"));
        assert!(!is_noise("ERR it is not your turn"));
        assert!(!is_noise("TURNED 1"));
    }
}
