//! # `game-lab play`: a terminal client
//!
//! The protocol is plain lines, so `nc` can play; this client only makes it pleasant. A reader
//! thread shows what the server pushes as it arrives (boards, whose turn, chat, results), so the
//! screen updates while you think; the main thread sends what you type. Everything from the server
//! is sanitized before it reaches the terminal.
//!
//! On a terminal the client uses the shared [`console`]: the line you type stays at the bottom,
//! pushes scroll past above it, and the board is not printed again and again but redrawn in
//! place in the status rows, under a line that says whose move it is. In a pipe, or with
//! `--plain`, every line is printed as it comes, boards included.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use netlab_common::accept;
use netlab_common::console::{self, Console, Input, Options};
use netlab_common::framing::{FrameReader, Framing};
use netlab_common::{Error, Result, Traced, Tracer, net, term};

/// The longest line the client accepts from the server.
const MAX_SERVER_LINE: usize = 8 * 1024;

/// The longest line the server takes from a client (docs/protocols/game.md, "Limits").
const MAX_CLIENT_LINE: usize = 512;

/// The commands Tab completes (the server's `help` explains each).
const COMMANDS: &[&str] = &[
    "/help",
    "/q",
    "quick tictactoe",
    "move",
    "say",
    "games",
    "rooms",
    "create",
    "join",
    "spectate",
    "start",
    "leave",
    "resume",
    "help",
    "quit",
];

/// What `/help` says: the client's own keys; the server explains its commands itself (`help`).
const LOCAL_HELP: &str = "this client: /q quits (so do Ctrl-D and quit), Up/Down recall \
    earlier lines, Tab completes a command; type help for the server's commands";

/// How often the keyboard loop looks whether the server has gone.
const CLOSED_CHECK: Duration = Duration::from_millis(100);

/// What `game-lab play` was asked to do.
#[derive(Debug, Clone)]
pub struct PlayConfig {
    /// `HOST:PORT` of the server.
    pub target: String,
    /// `--trace`.
    pub tracer: Tracer,
    /// `--plain`: line by line even on a terminal.
    pub plain: bool,
}

/// Connects, shows pushes, and sends typed lines until `quit` or end of input.
pub fn run(config: &PlayConfig) -> Result<()> {
    let tracer = config.tracer;
    let stream = net::connect(&config.target, net::CONNECT_TIMEOUT, true)?;
    let peer = stream
        .peer_addr()
        .map_err(|err| Error::io("reading the server's address", err))?;
    let options = Options::new("> ")
        .commands(COMMANDS)
        .max_line(MAX_CLIENT_LINE)
        .plain(config.plain);
    let console = Console::start(options)?;
    term::info(format!(
        "connected to {peer}; try: quick tictactoe, help, quit"
    ));
    let mut screen = Screen::new(peer, console.is_full_screen());
    screen.show_status();
    let reader = stream
        .try_clone()
        .map_err(|err| Error::io("duplicating the socket", err))?;
    let server_closed = Arc::new(AtomicBool::new(false));
    let closed = Arc::clone(&server_closed);
    let printer = accept::spawn_named("display", move || {
        let result = print_pushes(&reader, peer, tracer, &mut screen);
        closed.store(true, Ordering::Release);
        result
    })?;
    send_typed_lines(&stream, peer, tracer, &console, &server_closed);
    let _ = stream.shutdown(Shutdown::Write);
    let result = printer
        .join()
        .unwrap_or_else(|_| Err(Error::Failed("the display thread failed".into())));
    drop(console);
    result
}

fn send_typed_lines(
    stream: &TcpStream,
    peer: SocketAddr,
    tracer: Tracer,
    console: &Console,
    server_closed: &AtomicBool,
) {
    let mut wire = Traced::new(stream, peer, tracer);
    loop {
        let line = match console.inputs().recv_timeout(CLOSED_CHECK) {
            Ok(Input::Line(line)) => line,
            Ok(Input::Interrupt) => continue,
            Ok(Input::Ended) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) if server_closed.load(Ordering::Acquire) => break,
            Err(RecvTimeoutError::Timeout) => continue,
        };
        let line = match line.trim() {
            "/q" => "quit".to_string(),
            "/help" => {
                term::info(LOCAL_HELP);
                continue;
            }
            // The game's commands have no slash: a slash word is a typo, not a move or a chat.
            other if other.starts_with('/') => {
                term::warn(format!(
                    "{}: not a command here (/help, /q); the server's commands have no slash: type help",
                    other.split(' ').next().unwrap_or(other)
                ));
                continue;
            }
            _ => line,
        };
        if wire.write_all(format!("{line}\n").as_bytes()).is_err() || line.trim() == "quit" {
            break;
        }
    }
}

fn print_pushes(
    stream: &TcpStream,
    peer: SocketAddr,
    tracer: Tracer,
    screen: &mut Screen,
) -> Result<()> {
    let wire = Traced::new(stream, peer, tracer);
    let mut lines = FrameReader::new(wire, Framing::Line, MAX_SERVER_LINE);
    while let Some(bytes) = lines.read_frame()? {
        screen.show(&term::sanitize_bytes(&bytes));
    }
    screen.state = "the server closed the connection".into();
    screen.show_status();
    term::info("the server closed the connection");
    Ok(())
}

/// What the player sees: in the full-screen mode a status line and the board in place, in the
/// plain mode every line as it comes.
struct Screen {
    server: SocketAddr,
    full_screen: bool,
    /// One phrase for the status line: "in the lobby", "your move", "game over: ...".
    state: String,
    /// The newest board's rows, and the rows of one being received.
    board: Vec<String>,
    incoming: Option<Vec<String>>,
    /// Our name, from `WELCOME NAME`: a result is a success only for its winner.
    name: String,
}

impl Screen {
    fn new(server: SocketAddr, full_screen: bool) -> Self {
        Self {
            server,
            full_screen,
            state: "in the lobby: type quick tictactoe".into(),
            board: Vec::new(),
            incoming: None,
            name: String::new(),
        }
    }

    /// Shows one server line in the style its keyword calls for.
    fn show(&mut self, line: &str) {
        let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
        if self.full_screen && self.board_line(keyword, rest) {
            return;
        }
        match keyword {
            "|" => term::line(format!("    {}", color_marks(rest))),
            "BOARD" | "END" => {}
            "YOURTURN" => {
                self.set_state(format!("your move: {}", after_room(rest)));
                term::line(format!(
                    "{} {}",
                    term::mine(">> your move"),
                    after_room(rest)
                ));
            }
            "MOVED" => {
                self.set_state("waiting for the other player's move".into());
                term::line(line);
            }
            "START" => {
                self.set_state(format!("playing: {}", after_room(rest)));
                term::info(line);
            }
            "CHAT" => term::chat(after_room(rest)),
            // The server refusing a command is not a failure of this program: a warning.
            "ERR" => term::warn(rest),
            "RESULT" => {
                self.set_state(format!("game over: {}", after_room(rest)));
                self.show_result(after_room(rest));
            }
            "INFO" => term::info(rest),
            "WELCOME" => {
                self.name = rest.trim().to_string();
                term::info(line);
            }
            "OK" | "JOINED" | "WAITING" | "LEFT" | "SPECTATING" | "BYE" => term::info(line),
            _ => term::line(line),
        }
    }

    /// `winner NAME ...` in green only for NAME itself; a loss, a draw or someone else's game
    /// is information.
    fn show_result(&self, result: &str) {
        let winner = result
            .strip_prefix("winner ")
            .and_then(|rest| rest.split(' ').next());
        if winner.is_some_and(|winner| winner == self.name) {
            term::success(format!("{result}: you win"));
        } else {
            term::info(result);
        }
    }

    /// Full-screen mode: a board is collected between `BOARD` and `END` and drawn in the status
    /// rows instead of being printed. True if `keyword` was part of a board.
    fn board_line(&mut self, keyword: &str, rest: &str) -> bool {
        match (keyword, self.incoming.as_mut()) {
            ("BOARD", _) => self.incoming = Some(Vec::new()),
            ("|", Some(rows)) => rows.push(format!("    {}", color_marks(rest))),
            ("END", Some(_)) => {
                self.board = self.incoming.take().unwrap_or_default();
                self.show_status();
            }
            _ => return false,
        }
        true
    }

    fn set_state(&mut self, state: String) {
        self.state = state;
        self.show_status();
    }

    /// The status rows: where we are connected and what is going on, then the board.
    fn show_status(&self) {
        if !self.full_screen {
            return;
        }
        let mut lines = vec![format!("game-lab · {} · {}", self.server, self.state)];
        lines.extend(self.board.iter().cloned());
        console::set_status(lines);
    }
}

/// The part of a room push after the room number.
fn after_room(rest: &str) -> &str {
    rest.split_once(' ').map_or(rest, |(_, text)| text)
}

/// Colors X and O on a tic-tac-toe row, so the board reads at a glance.
fn color_marks(row: &str) -> String {
    row.chars()
        .map(|character| match character {
            'X' => term::mine('X'),
            'O' => term::theirs('O'),
            other => other.to_string(),
        })
        .collect()
}
