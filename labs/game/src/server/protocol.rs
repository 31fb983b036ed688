//! # The game server's text protocol
//!
//! One command per line, one reply or push per line, plain UTF-8 text: a person with `nc` can
//! play, and a program can parse every line by its first word. The full protocol with examples is
//! in docs/game.md; this module turns a typed line into a [`Command`] and holds the limits.
//!
//! Client to server (the first word is case-insensitive):
//!
//! | command          | meaning                                                         |
//! |------------------|-----------------------------------------------------------------|
//! | `name NAME`      | choose a name (1-16 letters, digits, `_` or `-`, unique)         |
//! | `resume TOKEN`   | take your seat back after a lost connection (token from `TOKEN`) |
//! | `games`          | list the games                                                   |
//! | `rooms`          | list the rooms                                                   |
//! | `create GAME`    | open a room and sit in it                                        |
//! | `join ROOM`      | sit in a waiting room                                            |
//! | `quick GAME`     | matchmaking: sit in a waiting room of that game, or open one     |
//! | `spectate ROOM`  | watch a room                                                     |
//! | `start`          | start a hangman room that has 2 or 3 players                     |
//! | `move MOVE`      | play (in a game, a line that is not a command is a move too)    |
//! | `say TEXT`       | chat with the room                                               |
//! | `leave`          | leave the room (during a game: forfeit)                          |
//! | `help`, `quit`   |                                                                  |
//!
//! Server to client, every line starts with an upper-case keyword: `WELCOME`, `OK`, `ERR`,
//! `GAMES`, `ROOMS`/`ROOM`/`END`, `JOINED`, `WAITING`, `START`, `TOKEN`, `BOARD`/`| ...`/`END`,
//! `YOURTURN`, `TURN`, `MOVED`, `CHAT`, `AWAY`, `BACK`, `LEFT`, `SPECTATING`, `RESULT`, `INFO`,
//! `BYE`.

/// The longest line a client may send. A longer line is refused and the connection closed.
pub const MAX_LINE: usize = 512;

/// The longest chat message, in bytes, after which `say` is refused.
pub const MAX_CHAT: usize = 300;

/// A parsed client line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `name NAME`
    Name(String),
    /// `resume TOKEN`
    Resume(String),
    /// `games`
    Games,
    /// `rooms`
    Rooms,
    /// `create GAME`
    Create(String),
    /// `join ROOM`
    Join(String),
    /// `quick GAME`
    Quick(String),
    /// `spectate ROOM`
    Spectate(String),
    /// `start`
    Start,
    /// `move MOVE`, or any other line while seated in a game.
    Move(String),
    /// `say TEXT`
    Say(String),
    /// `leave`
    Leave,
    /// `help`
    Help,
    /// `quit`
    Quit,
    /// An empty line: ignored.
    Nothing,
    /// An unknown first word.
    Unknown(String),
}

/// Reads one line typed by a client. `seated` says whether an unknown line should be taken as a
/// move (a player in a game can type just `5`).
pub fn parse(line: &str, seated: bool) -> Command {
    let line = line.trim();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (line, ""),
    };
    let argument = rest.to_string();
    match word.to_ascii_lowercase().as_str() {
        "" => Command::Nothing,
        "name" | "nick" => Command::Name(argument),
        "resume" => Command::Resume(argument),
        "games" => Command::Games,
        "rooms" => Command::Rooms,
        "create" => Command::Create(argument),
        "join" => Command::Join(argument),
        "quick" => Command::Quick(argument),
        "spectate" | "watch" => Command::Spectate(argument),
        "start" => Command::Start,
        "move" | "m" => Command::Move(argument),
        "say" => Command::Say(argument),
        "leave" => Command::Leave,
        "help" | "?" => Command::Help,
        "quit" | "exit" => Command::Quit,
        _ if seated => Command::Move(line.to_string()),
        _ => Command::Unknown(word.chars().take(20).collect()),
    }
}

/// Checks a requested player name: 1 to 16 ASCII letters, digits, `_` or `-`. Names appear in
/// every other player's terminal, so nothing else is allowed in them.
pub fn valid_name(name: &str) -> Result<&str, String> {
    let ok_chars = name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_' || character == '-');
    if name.is_empty() || name.len() > 16 || !ok_chars {
        return Err("a name is 1 to 16 letters, digits, '_' or '-'".to_string());
    }
    Ok(name)
}

/// The `help` text.
pub const HELP: &[&str] = &[
    "INFO commands: name NAME | games | rooms | create GAME | join ROOM | quick GAME",
    "INFO           spectate ROOM | start | move MOVE | say TEXT | leave | help | quit",
    "INFO           resume TOKEN (your seat back after a lost connection; TOKEN came at START)",
    "INFO in a game, just type your move: 1-9 (tictactoe), rock/paper/scissors (rps), a letter (hangman)",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Commands are case-insensitive and arguments are trimmed.
    #[test]
    fn parses_commands() {
        assert_eq!(
            parse("  QUICK  tictactoe ", false),
            Command::Quick("tictactoe".into())
        );
        assert_eq!(
            parse("say hello  world", false),
            Command::Say("hello  world".into())
        );
        assert_eq!(parse("", false), Command::Nothing);
        assert_eq!(
            parse("frobnicate now", false),
            Command::Unknown("frobnicate".into())
        );
    }

    /// In a game, a bare line is a move; outside, it is an unknown command.
    #[test]
    fn bare_line_is_a_move_when_seated() {
        assert_eq!(parse("5", true), Command::Move("5".into()));
        assert_eq!(parse("5", false), Command::Unknown("5".into()));
        assert_eq!(parse("say hi", true), Command::Say("hi".into()));
    }

    /// Names are short and plain: no spaces, no escape codes.
    #[test]
    fn names_are_checked() {
        assert!(valid_name("Alice_2").is_ok());
        assert!(valid_name("").is_err());
        assert!(valid_name("a\u{1b}[2J").is_err());
        assert!(valid_name("seventeen_chars_x").is_err());
    }
}
