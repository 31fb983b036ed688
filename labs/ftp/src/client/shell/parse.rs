//! # Reading a shell line: commands, aliases, prefixes, quotes
//!
//! Parsing is forgiving, as in the classic `ftp` program: commands are case-insensitive,
//! common aliases work (`dir`, `del`, `mv`, `exit`), any unambiguous prefix works (`pas` is
//! `passive`), and names with spaces go in quotes (`get "my file.txt"`). Mistakes become a
//! message for the user, never a panic. Nothing here touches a socket or the terminal.

use netlab_common::term;

/// A parsed shell line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellCommand {
    /// Empty line.
    Nothing,
    /// `ls [path]`.
    List(String),
    /// `cd path`.
    Cd(String),
    /// `pwd`.
    Pwd,
    /// `get remote [local]`.
    Get(String, Option<String>),
    /// `put local [remote]`.
    Put(String, Option<String>),
    /// `reget remote [local]`: continue a download from `LOCAL.part`.
    Reget(String, Option<String>),
    /// `mkdir path`.
    Mkdir(String),
    /// `rmdir path`.
    Rmdir(String),
    /// `rm path`.
    Rm(String),
    /// `rename from to`.
    Rename(String, String),
    /// `size path`.
    Size(String),
    /// `passive`.
    Passive,
    /// `active`.
    Active,
    /// `help`.
    Help,
    /// `quit`.
    Quit,
}

/// Each command's name, aliases, argument names and help line.
pub const COMMANDS: &[(&str, &[&str], &str, &str)] = &[
    ("ls", &["dir", "list"], "[PATH]", "list a directory (LIST)"),
    ("cd", &["cwd", "chdir"], "PATH", "change directory (CWD)"),
    ("pwd", &[], "", "show the current directory (PWD)"),
    (
        "get",
        &["recv", "download"],
        "REMOTE [LOCAL]",
        "download a file (RETR)",
    ),
    (
        "reget",
        &["resume"],
        "REMOTE [LOCAL]",
        "continue a download from LOCAL.part (REST + RETR)",
    ),
    (
        "put",
        &["send", "upload"],
        "LOCAL [REMOTE]",
        "upload a file (STOR)",
    ),
    ("mkdir", &["md"], "PATH", "create a directory (MKD)"),
    ("rmdir", &["rd"], "PATH", "remove an empty directory (RMD)"),
    ("rm", &["del", "delete"], "PATH", "delete a file (DELE)"),
    ("rename", &["mv", "ren"], "FROM TO", "rename (RNFR + RNTO)"),
    ("size", &[], "PATH", "show a file's size (SIZE)"),
    (
        "passive",
        &["pasv"],
        "",
        "we open data connections (EPSV/PASV; default)",
    ),
    (
        "active",
        &["port"],
        "",
        "the server opens data connections (PORT/EPRT)",
    ),
    ("help", &["?", "h"], "", "this list"),
    (
        "quit",
        &["exit", "bye", "q"],
        "",
        "log out and leave (QUIT)",
    ),
];

/// Parses one line; `Err` is a message for the user.
pub fn parse_line(line: &str) -> std::result::Result<ShellCommand, String> {
    let words = split_words(line)?;
    let Some((first, args)) = words.split_first() else {
        return Ok(ShellCommand::Nothing);
    };
    let name = canonical_name(first)?;
    let usage = || {
        let (_, _, arguments, _) = COMMANDS
            .iter()
            .find(|(command, ..)| *command == name)
            .copied()
            .unwrap_or(("", &[], "", ""));
        format!("usage: {name} {arguments}")
    };
    let arg = |index: usize| args.get(index).cloned();
    // A local file as a shell would read it (`~/notes.txt`): no shell sees a line typed here.
    let local = |index: usize| {
        arg(index).map(|typed| {
            netlab_common::console::local_path(&typed)
                .display()
                .to_string()
        })
    };
    let command = match (name, args.len()) {
        ("ls", 0 | 1) => ShellCommand::List(arg(0).unwrap_or_default()),
        ("pwd", 0) => ShellCommand::Pwd,
        ("passive", 0) => ShellCommand::Passive,
        ("active", 0) => ShellCommand::Active,
        ("help", _) => ShellCommand::Help,
        ("quit", _) => ShellCommand::Quit,
        ("get", 1 | 2) => ShellCommand::Get(arg(0).unwrap_or_default(), local(1)),
        ("put", 1 | 2) => ShellCommand::Put(local(0).unwrap_or_default(), arg(1)),
        ("reget", 1 | 2) => ShellCommand::Reget(arg(0).unwrap_or_default(), local(1)),
        ("rename", 2) => {
            ShellCommand::Rename(arg(0).unwrap_or_default(), arg(1).unwrap_or_default())
        }
        (_, 1) => {
            let path = arg(0).unwrap_or_default();
            match name {
                "cd" => ShellCommand::Cd(path),
                "mkdir" => ShellCommand::Mkdir(path),
                "rmdir" => ShellCommand::Rmdir(path),
                "rm" => ShellCommand::Rm(path),
                "size" => ShellCommand::Size(path),
                _ => return Err(usage()),
            }
        }
        _ => return Err(usage()),
    };
    Ok(command)
}

/// The command a typed word means: a name, an alias, or an unambiguous prefix of a name.
fn canonical_name(word: &str) -> std::result::Result<&'static str, String> {
    let lower = word.to_lowercase();
    for (name, aliases, ..) in COMMANDS {
        if *name == lower || aliases.contains(&lower.as_str()) {
            return Ok(name);
        }
    }
    let matches: Vec<&str> = COMMANDS
        .iter()
        .map(|(name, ..)| *name)
        .filter(|name| name.starts_with(&lower))
        .collect();
    match matches.as_slice() {
        [only] => Ok(only),
        [] => Err(format!(
            "unknown command `{}`; type help",
            term::sanitize(word)
        )),
        several => Err(format!(
            "`{}` could be {}; type more letters",
            term::sanitize(word),
            several.join(" or ")
        )),
    }
}

/// Splits on spaces; "double" or 'single' quotes keep spaces inside one word.
fn split_words(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for character in line.trim().chars() {
        match (quote, character) {
            (Some(open), close) if open == close => quote = None,
            (Some(_), other) => current.get_or_insert_with(String::new).push(other),
            (None, '"' | '\'') => {
                quote = Some(character);
                current.get_or_insert_with(String::new);
            }
            (None, space) if space.is_whitespace() => words.extend(current.take()),
            (None, other) => current.get_or_insert_with(String::new).push(other),
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".to_string());
    }
    words.extend(current);
    Ok(words)
}

/// The command names Tab completes (the canonical names; aliases and prefixes also work).
pub fn command_names() -> Vec<&'static str> {
    COMMANDS.iter().map(|(name, ..)| *name).collect()
}

/// The commands whose first argument is a local file: Tab completes paths after them.
pub const LOCAL_PATH_COMMANDS: &[&str] = &["put", "send", "upload"];

/// `help`: every command with its arguments, what it does, and its aliases.
pub fn help_text() -> String {
    let mut text = String::from("commands (any unambiguous prefix works):\n");
    for (name, aliases, arguments, what) in COMMANDS {
        let usage = format!("{name} {arguments}");
        let aliases = if aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", aliases.join(", "))
        };
        text.push_str(&format!("  {usage:<22} {what}{aliases}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Case, aliases, prefixes and quotes.
    #[test]
    fn forgiving_parsing() {
        assert_eq!(
            parse_line("  LS  ").unwrap(),
            ShellCommand::List(String::new())
        );
        assert_eq!(
            parse_line("dir docs").unwrap(),
            ShellCommand::List("docs".into())
        );
        assert_eq!(parse_line("pas").unwrap(), ShellCommand::Passive);
        assert_eq!(
            parse_line("get \"my file.txt\" 'local copy'").unwrap(),
            ShellCommand::Get("my file.txt".into(), Some("local copy".into()))
        );
        assert_eq!(
            parse_line("mv a b").unwrap(),
            ShellCommand::Rename("a".into(), "b".into())
        );
        assert_eq!(parse_line("EXIT").unwrap(), ShellCommand::Quit);
        assert_eq!(parse_line("").unwrap(), ShellCommand::Nothing);
        // Local paths (never remote ones) start at the home directory with `~/`.
        if let Some(home) = std::env::home_dir() {
            let at_home = |name: &str| home.join(name).display().to_string();
            assert_eq!(
                parse_line("put ~/a.txt ~/b.txt").unwrap(),
                ShellCommand::Put(at_home("a.txt"), Some("~/b.txt".into()))
            );
            assert_eq!(
                parse_line("get ~/r.txt ~/l.txt").unwrap(),
                ShellCommand::Get("~/r.txt".into(), Some(at_home("l.txt")))
            );
        }
    }

    /// Mistakes get a message, never a panic.
    #[test]
    fn helpful_errors() {
        assert_eq!(parse_line("cd").unwrap_err(), "usage: cd PATH");
        assert_eq!(parse_line("rename a").unwrap_err(), "usage: rename FROM TO");
        assert!(
            parse_line("frobnicate")
                .unwrap_err()
                .contains("unknown command")
        );
        assert!(parse_line("r").unwrap_err().contains("could be"));
        assert_eq!(
            parse_line("get \"open").unwrap_err(),
            "a quote is not closed"
        );
    }
}
