//! # `ftp-lab connect`: an interactive FTP shell
//!
//! One command per line, like the classic `ftp` program: `ls`, `cd docs`, `get notes.txt`,
//! `put report.pdf`, `passive`/`active` to switch who opens the data connections. A failed
//! command prints the server's reply and the shell goes on; only a lost control connection ends
//! it. Standard input may be a pipe, so scripts can drive it.
//!
//! ## On a terminal
//! The shell reads its lines through the shared console (`netlab_common::console`). On a
//! terminal that is the *full-screen mode*: the line you type stays at the bottom after the
//! prompt `ftp> `, with line editing, history (Up) and Tab completion of the commands, of local
//! file names after `put`, and of remote names after `get`, `cd` and the like (from the last
//! `ls`, see [`names`]); a status row above it shows the server, the user, the remote
//! working directory and the data connection mode; a running transfer gets a progress bar there,
//! and ends as one summary line in the scrollback. The remote directory is asked for with `PWD`
//! after login and after every `cd`, and only in this mode, so a script sees the same dialogue
//! as before. With `--plain`, or when standard input or output is not a terminal, the shell
//! prints line by line exactly as it always did.
//!
//! Ctrl-C during a transfer cancels that transfer and the shell goes on (see [`transfers`]);
//! on an empty line it only warns; a second Ctrl-C in a row, or Ctrl-D, quits. In the plain
//! mode Ctrl-C is the terminal's signal, as in any line-by-line program: it ends the shell.
//!
//! ## Layout
//! - [`parse`]: a typed line as a [`ShellCommand`]: aliases, prefixes, quotes.
//! - [`names`]: the remote names Tab completes, from the last `ls`.
//! - [`transfers`]: `get`, `reget` and `put`, the `.part` file, and Ctrl-C while bytes move.

pub mod names;
pub mod parse;
pub mod transfers;

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};

use netlab_common::console::{self, Console, Input, Options};
use netlab_common::progress::human_bytes;
use netlab_common::{Error, Result, Tracer, net, term};

use super::url::{FtpUrl, LAB_PORT, is_url};
use super::{ANONYMOUS_PASSWORD, FtpClient, TlsOptions};
pub use parse::{ShellCommand, parse_line};

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
    /// Bytes per read and write on the data connection (`--block-size`).
    pub block_size: usize,
    /// `--plain`: line by line even on a terminal.
    pub plain: bool,
    /// `--trace`.
    pub tracer: Tracer,
    /// `--tls` and how to trust the server's certificate.
    pub tls: TlsOptions,
}

/// The prompt before the line being typed.
pub const PROMPT: &str = "ftp> ";

/// Runs the shell until `quit` or the end of standard input.
pub fn run(config: &ConnectConfig) -> Result<()> {
    let (target, url_user, url_password, start_dir, url_tls) = if is_url(&config.target) {
        let url = FtpUrl::parse(&config.target)?;
        if let Some(note) = url.port_note() {
            term::info(note);
        }
        (url.target, url.user, url.password, url.path, url.tls)
    } else {
        let target = net::client_target(&config.target, LAB_PORT, "ftp-lab serve");
        (target, None, None, String::new(), false)
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
    if config.tls.wanted || url_tls {
        client.secure(&config.tls.trust, &target)?;
    }
    client.login(&user, &password)?;
    client.passive = !config.active;
    client.set_block_size(config.block_size);
    if !start_dir.is_empty() {
        client.expect_success(&format!("CWD {start_dir}"))?;
    }
    let options = Options::new(PROMPT)
        .commands(&parse::command_names())
        .path_commands(parse::LOCAL_PATH_COMMANDS)
        .name_commands(names::REMOTE_NAME_COMMANDS)
        .plain(config.plain);
    let console = Console::start(options)?;
    let mut shell = Shell {
        place: Place {
            target: target.clone(),
            user: user.clone(),
            directory: None,
            passive: client.passive,
            protected: client.is_protected(),
        },
        client,
        keyboard: Keyboard {
            console,
            typed_ahead: VecDeque::new(),
            prompt_on_stdin: io::stdin().is_terminal(),
        },
    };
    shell.refresh_directory();
    term::info(format!(
        "connected to {target} as {}; {} mode{}; type help",
        term::sanitize(&user),
        mode_name(shell.client.passive),
        if shell.place.protected {
            "; TLS on the control and data connections"
        } else {
            ""
        }
    ));
    let outcome = shell.serve();
    let Shell {
        client, keyboard, ..
    } = shell;
    match outcome {
        // Whoever read our output is gone (`... | head`): still say goodbye to the server.
        Ok(()) | Err(Error::OutputClosed) => client.quit(),
        // The control connection is gone: nobody to say goodbye to.
        Err(_) => {}
    }
    // The terminal is given back before main prints an error, so it lands in the scrollback.
    drop(keyboard);
    outcome
}

/// Where the shell is: what the status row shows.
struct Place {
    target: String,
    user: String,
    /// The remote working directory, from the last `PWD` (full-screen mode only).
    directory: Option<String>,
    passive: bool,
    /// The session runs TLS (`--tls`, `ftps://`).
    protected: bool,
}

impl Place {
    /// The status rows: `ftp 127.0.0.1:2121 | user alice | directory /docs | passive mode`
    /// (`ftps ... | TLS` when protected), and while a transfer runs, how to stop it.
    fn status(&self, transferring: bool) -> Vec<String> {
        let directory = self.directory.as_deref().unwrap_or("?");
        let (scheme, protection) = if self.protected {
            ("ftps", " | TLS")
        } else {
            ("ftp", "")
        };
        let mut rows = vec![format!(
            "{scheme} {} | user {} | directory {} | {} mode{protection}",
            self.target,
            term::sanitize(&self.user),
            term::sanitize(directory),
            mode_name(self.passive)
        )];
        if transferring {
            rows.push("Ctrl-C cancels the transfer; a second Ctrl-C quits".to_string());
        }
        rows
    }
}

/// Typed input: the console, and lines typed while a transfer ran (they run after it).
pub struct Keyboard {
    console: Console,
    typed_ahead: VecDeque<Input>,
    /// The plain mode on a terminal shows `ftp> ` before each line, as it always did.
    prompt_on_stdin: bool,
}

impl Keyboard {
    /// The next thing typed; [`Input::Ended`] once the console is gone.
    fn next(&mut self) -> Input {
        if let Some(input) = self.typed_ahead.pop_front() {
            return input;
        }
        if self.prompt_on_stdin && !self.console.is_full_screen() {
            // The prompt is a courtesy: a terminal that cannot show it is noticed at the next
            // output.
            let mut stdout = io::stdout().lock();
            let _ = write!(stdout, "{PROMPT}").and_then(|()| stdout.flush());
        }
        self.console.inputs().recv().unwrap_or(Input::Ended)
    }

    /// Is the full-screen mode on?
    pub fn is_full_screen(&self) -> bool {
        self.console.is_full_screen()
    }
}

/// The shell's state between two commands.
struct Shell {
    client: FtpClient,
    keyboard: Keyboard,
    place: Place,
}

impl Shell {
    /// Reads and runs commands until `quit`, the end of input, or a lost connection.
    fn serve(&mut self) -> Result<()> {
        loop {
            let line = match self.keyboard.next() {
                Input::Line(line) => line,
                // Nothing is running: the console has already said how to quit.
                Input::Interrupt => continue,
                Input::Ended => return Ok(()),
            };
            let command = match parse_line(&line) {
                Ok(ShellCommand::Quit) => return Ok(()),
                Ok(command) => command,
                Err(message) => {
                    term::warn(message);
                    continue;
                }
            };
            if let Err(err) = self.execute(command) {
                if matches!(err, Error::OutputClosed) {
                    return Err(err);
                }
                term::error(&err);
                // Was that the server refusing one command, or is the connection gone?
                self.client.raw("NOOP")?;
            }
        }
    }

    fn execute(&mut self, command: ShellCommand) -> Result<()> {
        let client = &mut self.client;
        match command {
            ShellCommand::Nothing | ShellCommand::Quit => {}
            ShellCommand::Help => print_out(&parse::help_text())?,
            ShellCommand::List(path) => {
                let listing = client.list(&path, false)?;
                let listing = String::from_utf8_lossy(&listing);
                if path.is_empty() {
                    console::set_names(names::listing_names(&listing));
                }
                let mut shown = String::new();
                for line in listing.lines() {
                    shown.push_str(&term::sanitize(line));
                    shown.push('\n');
                }
                print_out(&shown)?;
            }
            ShellCommand::Pwd => {
                let directory = client.pwd()?;
                print_out(&format!("{}\n", term::sanitize(&directory)))?;
                self.place.directory = Some(directory);
                self.show_status();
            }
            ShellCommand::Cd(path) => {
                show(&client.expect_success(&format!("CWD {path}"))?);
                // The last listing was of the directory we left.
                console::set_names(Vec::new());
                self.refresh_directory();
            }
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
                self.place.passive = client.passive;
                term::info(format!("{} mode", mode_name(client.passive)));
                self.show_status();
            }
            ShellCommand::Get(remote, local) => self.transfer(|shell| {
                transfers::get(
                    &mut shell.client,
                    &mut shell.keyboard,
                    &remote,
                    local,
                    false,
                )
            })?,
            ShellCommand::Reget(remote, local) => self.transfer(|shell| {
                transfers::get(&mut shell.client, &mut shell.keyboard, &remote, local, true)
            })?,
            ShellCommand::Put(local, remote) => self.transfer(|shell| {
                transfers::put(&mut shell.client, &mut shell.keyboard, &local, remote)
            })?,
        }
        Ok(())
    }

    /// Runs a transfer with the status row saying how to cancel it.
    fn transfer(&mut self, run: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        self.show_status_with(true);
        let result = run(self);
        self.show_status();
        result
    }

    /// Asks the server where we are, for the status row (full-screen mode only; a server that
    /// will not say shows `?`).
    fn refresh_directory(&mut self) {
        if !self.keyboard.is_full_screen() {
            return;
        }
        self.place.directory = self.client.pwd().ok();
        self.show_status();
    }

    fn show_status(&self) {
        self.show_status_with(false);
    }

    fn show_status_with(&self, transferring: bool) {
        console::set_status(self.place.status(transferring));
    }
}

fn mode_name(passive: bool) -> &'static str {
    if passive { "passive" } else { "active" }
}

/// Writes command output: to standard output, where a closed pipe is [`Error::OutputClosed`],
/// which ends the shell quietly (`println!` would panic instead); in the full-screen mode above
/// the input line, since nothing else may write to the terminal then.
fn print_out(text: &str) -> Result<()> {
    if console::is_open() {
        text.lines().for_each(term::line);
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::stdout)
}

fn show(reply: &crate::reply::Reply) {
    term::info(term::sanitize(&reply.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status row names server, user, directory and mode; a transfer adds how to stop it;
    /// a name from the server cannot reach the terminal with its control characters.
    #[test]
    fn status_rows() {
        let mut place = Place {
            target: "127.0.0.1:2121".into(),
            user: "alice".into(),
            directory: None,
            passive: true,
            protected: false,
        };
        assert_eq!(
            place.status(false),
            ["ftp 127.0.0.1:2121 | user alice | directory ? | passive mode"]
        );
        place.directory = Some("/docs\x1b[2J".into());
        place.passive = false;
        assert_eq!(
            place.status(true),
            [
                "ftp 127.0.0.1:2121 | user alice | directory /docs^[[2J | active mode",
                "Ctrl-C cancels the transfer; a second Ctrl-C quits",
            ]
        );
        place.protected = true;
        place.directory = Some("/".into());
        assert_eq!(
            place.status(false),
            ["ftps 127.0.0.1:2121 | user alice | directory / | active mode | TLS"]
        );
    }
}
