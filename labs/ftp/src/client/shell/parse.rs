//! # `ftp-lab connect`: an interactive FTP shell
//!
//! One command per line, like the classic `ftp` program: `ls`, `cd docs`, `get notes.txt`,
//! `put report.pdf`, `passive`/`active` to switch who opens the data connections. Parsing is
//! forgiving: commands are case-insensitive, common aliases work (`dir`, `del`, `mv`, `exit`), any
//! unambiguous prefix works (`pas` is `passive`), and names with spaces go in quotes
//! (`get "my file.txt"`). A failed command prints the server's reply and the shell goes on; only
//! a lost control connection ends it. Standard input may be a pipe, so scripts can drive it.

use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use netlab_common::progress::{human_bytes, human_rate, transfer_bar};
use netlab_common::{Error, Result, Tracer, term};

use super::url::{FtpUrl, with_default_port};
use super::{ANONYMOUS_PASSWORD, FtpClient};

/// What `ftp-lab connect` was asked.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// `host:port`, or an `ftp://` URL (whose user, password and path are used).
    pub target: String,
    /// User name; anonymous if neither this nor the URL names one.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Start in active mode.
    pub active: bool,
    /// `--trace`.
    pub tracer: Tracer,
}

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
const COMMANDS: &[(&str, &[&str], &str, &str)] = &[
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
    let command = match (name, args.len()) {
        ("ls", 0 | 1) => ShellCommand::List(arg(0).unwrap_or_default()),
        ("pwd", 0) => ShellCommand::Pwd,
        ("passive", 0) => ShellCommand::Passive,
        ("active", 0) => ShellCommand::Active,
        ("help", _) => ShellCommand::Help,
        ("quit", _) => ShellCommand::Quit,
        ("get", 1 | 2) => ShellCommand::Get(arg(0).unwrap_or_default(), arg(1)),
        ("put", 1 | 2) => ShellCommand::Put(arg(0).unwrap_or_default(), arg(1)),
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

fn help_text() -> String {
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

/// Runs the shell until `quit` or the end of standard input.
pub fn run(config: &ConnectConfig) -> Result<()> {
    let (target, url_user, url_password, start_dir) = if config.target.starts_with("ftp://") {
        let url = FtpUrl::parse(&config.target)?;
        (url.target, url.user, url.password, url.path)
    } else {
        let target = with_default_port(&config.target)
            .map_err(|why| Error::Usage(format!("bad address `{}`: {why}", config.target)))?;
        (target, None, None, String::new())
    };
    let user = config
        .user
        .clone()
        .or(url_user)
        .unwrap_or_else(|| "anonymous".into());
    let password = config
        .password
        .clone()
        .or(url_password)
        .unwrap_or_else(|| ANONYMOUS_PASSWORD.into());
    let mut client = FtpClient::connect(&target, config.tracer)?;
    client.login(&user, &password)?;
    client.passive = !config.active;
    if !start_dir.is_empty() {
        client.expect_success(&format!("CWD {start_dir}"))?;
    }
    term::info(format!(
        "connected to {target} as {}; {} mode; type help",
        term::sanitize(&user),
        mode_name(client.passive)
    ));
    let interactive = io::stdin().is_terminal();
    let mut lines = io::stdin().lock().lines();
    loop {
        if interactive {
            // The prompt is a courtesy: a terminal that cannot show it is noticed at the next
            // output.
            let mut stdout = io::stdout().lock();
            let _ = write!(stdout, "ftp> ").and_then(|()| stdout.flush());
        }
        let Some(line) = lines.next() else { break };
        let line = line.map_err(|err| Error::io("reading standard input", err))?;
        let command = match parse_line(&line) {
            Ok(ShellCommand::Quit) => break,
            Ok(command) => command,
            Err(message) => {
                term::warn(message);
                continue;
            }
        };
        if let Err(err) = execute(&mut client, command) {
            if matches!(err, Error::OutputClosed) {
                // Whoever read our output is gone (`... | head`): nothing more to show anyone.
                client.quit();
                return Err(err);
            }
            term::error(&err);
            // Was that the server refusing one command, or is the connection gone?
            client.raw("NOOP")?;
        }
    }
    client.quit();
    Ok(())
}

fn mode_name(passive: bool) -> &'static str {
    if passive { "passive" } else { "active" }
}

fn execute(client: &mut FtpClient, command: ShellCommand) -> Result<()> {
    match command {
        ShellCommand::Nothing | ShellCommand::Quit => {}
        ShellCommand::Help => print_out(&help_text())?,
        ShellCommand::List(path) => {
            let listing = client.list(&path, false)?;
            let mut shown = String::new();
            for line in String::from_utf8_lossy(&listing).lines() {
                shown.push_str(&term::sanitize(line));
                shown.push('\n');
            }
            print_out(&shown)?;
        }
        ShellCommand::Pwd => print_out(&format!("{}\n", term::sanitize(&client.pwd()?)))?,
        ShellCommand::Cd(path) => show(&client.expect_success(&format!("CWD {path}"))?),
        ShellCommand::Mkdir(path) => show(&client.expect_success(&format!("MKD {path}"))?),
        ShellCommand::Rmdir(path) => show(&client.expect_success(&format!("RMD {path}"))?),
        ShellCommand::Rm(path) => show(&client.expect_success(&format!("DELE {path}"))?),
        ShellCommand::Rename(from, to) => {
            client.rename(&from, &to)?;
            term::success(format!(
                "renamed {} to {}",
                term::sanitize(&from),
                term::sanitize(&to)
            ));
        }
        ShellCommand::Size(path) => match client.size(&path)? {
            Some(size) => print_out(&format!(
                "{}: {size} bytes ({})\n",
                term::sanitize(&path),
                human_bytes(size)
            ))?,
            None => term::warn(format!(
                "the server gives no size for {}",
                term::sanitize(&path)
            )),
        },
        ShellCommand::Passive | ShellCommand::Active => {
            client.passive = command == ShellCommand::Passive;
            term::info(format!("{} mode", mode_name(client.passive)));
        }
        ShellCommand::Get(remote, local) => get(client, &remote, local)?,
        ShellCommand::Put(local, remote) => put(client, &local, remote)?,
    }
    Ok(())
}

/// Writes command output to standard output; a closed pipe is [`Error::OutputClosed`], which
/// ends the shell quietly (`println!` would panic instead).
fn print_out(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::stdout)
}

fn show(reply: &crate::reply::Reply) {
    term::info(term::sanitize(&reply.to_string()));
}

fn get(client: &mut FtpClient, remote: &str, local: Option<String>) -> Result<()> {
    let local = match local {
        Some(local) => local,
        None => remote
            .rsplit('/')
            .next()
            .filter(|name| !name.is_empty() && *name != ".." && *name != ".")
            .ok_or_else(|| Error::Usage("name the local file: get REMOTE LOCAL".into()))?
            .to_string(),
    };
    let size = client.size(remote)?;
    let mut file = super::oneshot::LazyFile::new(local.clone().into(), false);
    let bar = transfer_bar(size.unwrap_or(0), remote);
    let started = Instant::now();
    let received = client.retrieve(remote, 0, &mut file, &mut |got| bar.set_position(got))?;
    bar.finish_and_clear();
    report(remote, &local, received, started);
    Ok(())
}

fn put(client: &mut FtpClient, local: &str, remote: Option<String>) -> Result<()> {
    let remote = match remote {
        Some(remote) => remote,
        None => Path::new(local)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Usage("name the remote file: put LOCAL REMOTE".into()))?,
    };
    let mut file = File::open(local).map_err(|err| Error::io(format!("opening {local}"), err))?;
    let length = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let bar = transfer_bar(length, &remote);
    let started = Instant::now();
    let sent = client.store(&remote, &mut file, &mut |done| bar.set_position(done))?;
    bar.finish_and_clear();
    report(local, &remote, sent, started);
    Ok(())
}

fn report(from: &str, to: &str, bytes: u64, started: Instant) {
    term::success(format!(
        "{} -> {}: {} in {:.2} s ({})",
        term::sanitize(from),
        term::sanitize(to),
        human_bytes(bytes),
        started.elapsed().as_secs_f64(),
        human_rate(bytes, started.elapsed())
    ));
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
