//! # The room protocol: lines a person can type
//!
//! Every message is one line of UTF-8 text ending in `\n` (`\r\n` from telnet is accepted), at
//! most [`MAX_LINE`] bytes. Anyone with `nc` can join and type; `tcp-chat room join` adds file
//! transfers and progress bars on top.
//!
//! | client sends           | server answers (to the sender)             | others receive              |
//! |------------------------|--------------------------------------------|-----------------------------|
//! | (connects)             | `WELCOME Client01`                         | `INFO Client01 joined`      |
//! | (room full)            | `ERROR the room is full ...`, then close   |                             |
//! | any other line `text`  | `ACK text`                                 | `MSG Client01 text`         |
//! | `/msg NAME text`       | `ACK /msg NAME text`                       | NAME only: `PRIVATE Client01 text` |
//! | `/nick NAME`           | `OK you are now NAME`                      | `INFO Client01 is now NAME` |
//! | `status`               | `STATUS n clients`, one line each, `END`   |                             |
//! | `exit`                 | `BYE Client01`, then close                 | `INFO Client01 left`        |
//! | `list`                 | `FILES n`, lines of human size then name, `END` |                             |
//! | `get NAME`             | `FILE SIZE NAME`, SIZE raw bytes, `DONE SHA256` |                        |
//! | `put NAME SIZE`        | `READY` (then send SIZE raw bytes) and `SAVED NAME SIZE SHA256`, or `ERROR ...` | |
//! | (server operator types)| `HOST text`, or `PRIVATE host text`        |                             |
//!
//! ## Raw bytes inside a line protocol
//! A file may contain any byte, newlines included, so it cannot travel as lines. `get` and `put`
//! switch the connection to raw bytes for *exactly* the announced SIZE, then back to lines: the
//! decimal SIZE in the `FILE`/`put` line is a length prefix written in text, as in HTTP's
//! `Content-Length`. `put` waits for `READY` so a refused upload (too big, read-only room, bad
//! name) is refused before a single byte of it is sent. The SHA-256 after the bytes lets the
//! receiving side check that what it stored is what was sent.
//!
//! ## Text from one user to another
//! Whatever a client types is relayed to the others with control characters made visible
//! ([`netlab_common::term::sanitize`]): an `nc` user's terminal obeys escape sequences, so a raw
//! relay would let one user clear everyone's screen.

/// Longest line, in bytes, in either direction.
pub const MAX_LINE: usize = 4096;

/// Longest name a client may choose.
pub const MAX_NAME: usize = 16;

/// One line from a client, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// A message for everyone.
    Say(&'a str),
    /// A message for one client.
    Private {
        /// The recipient's name.
        to: &'a str,
        /// The message.
        text: &'a str,
    },
    /// Change my name.
    Nick(&'a str),
    /// The session cache.
    Status,
    /// Leave.
    Exit,
    /// The file list.
    List,
    /// Download a file.
    Get(&'a str),
    /// Upload a file of `size` bytes.
    Put {
        /// The file's name in the repository.
        name: &'a str,
        /// Bytes that will follow `READY`.
        size: u64,
    },
    /// An empty line: ignored.
    Empty,
    /// A command used wrongly: the usage to send back.
    Usage(&'static str),
}

/// Understands one line. Pure: no I/O, never panics.
pub fn parse(line: &str) -> Request<'_> {
    let trimmed = line.trim();
    let (word, rest) = match trimmed.split_once(' ') {
        Some((word, rest)) => (word, rest.trim()),
        None => (trimmed, ""),
    };
    match (word, rest) {
        ("", _) => Request::Empty,
        ("status", "") => Request::Status,
        ("exit", "") => Request::Exit,
        ("list", "") => Request::List,
        ("get", "") => Request::Usage("usage: get NAME"),
        ("get", name) => Request::Get(name),
        ("put", args) => match args.rsplit_once(' ') {
            Some((name, size)) => match size.parse() {
                Ok(size) => Request::Put {
                    name: name.trim(),
                    size,
                },
                Err(_) => Request::Usage(
                    "usage: put NAME SIZE (tcp-chat room join does this for you: put PATH)",
                ),
            },
            None => Request::Usage(
                "usage: put NAME SIZE (tcp-chat room join does this for you: put PATH)",
            ),
        },
        ("/nick", "") => Request::Usage("usage: /nick NAME"),
        ("/nick", name) => Request::Nick(name),
        ("/msg", args) => match args.split_once(' ') {
            Some((to, text)) if !text.trim().is_empty() => Request::Private {
                to,
                text: text.trim(),
            },
            _ => Request::Usage("usage: /msg NAME text"),
        },
        _ => Request::Say(line),
    }
}

/// Checks a name a client asked for: 1 to [`MAX_NAME`] letters, digits, `_` or `-`. Names are
/// shown to everyone, so nothing else (spaces, control characters, look-alike Unicode) is allowed.
pub fn check_name(name: &str) -> Result<&str, String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '_' | '-'));
    if valid && !name.eq_ignore_ascii_case("host") {
        Ok(name)
    } else {
        Err(format!(
            "ERROR names are 1 to {MAX_NAME} letters, digits, _ or - (and not \"host\")"
        ))
    }
}

/// The automatic name for the `number`-th connection: `Client01`, `Client02`, ...
pub fn auto_name(number: u64) -> String {
    format!("Client{number:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commands are recognized only as whole words; everything else is a message.
    #[test]
    fn parsing() {
        assert_eq!(parse("hello"), Request::Say("hello"));
        assert_eq!(parse("status"), Request::Status);
        assert_eq!(parse(" exit \r"), Request::Exit);
        assert_eq!(parse("status report"), Request::Say("status report"));
        assert_eq!(parse("exiting now"), Request::Say("exiting now"));
        assert_eq!(parse(""), Request::Empty);
        assert_eq!(
            parse("/msg Bob  hi there"),
            Request::Private {
                to: "Bob",
                text: "hi there"
            }
        );
        assert!(matches!(parse("/msg Bob"), Request::Usage(_)));
        assert_eq!(parse("/nick Ann"), Request::Nick("Ann"));
        assert_eq!(parse("get a.txt"), Request::Get("a.txt"));
        assert_eq!(
            parse("put my file.txt 12"),
            Request::Put {
                name: "my file.txt",
                size: 12
            }
        );
        assert!(matches!(parse("put x -1"), Request::Usage(_)));
        assert!(matches!(parse("put x"), Request::Usage(_)));
    }

    /// Names: short, plain, not "host".
    #[test]
    fn names() {
        assert_eq!(check_name("Ann_2-b"), Ok("Ann_2-b"));
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("\x1b[2J").is_err());
        assert!(check_name("HOST").is_err());
        assert!(check_name(&"a".repeat(17)).is_err());
        assert_eq!(auto_name(3), "Client03");
        assert_eq!(auto_name(123), "Client123");
    }
}
