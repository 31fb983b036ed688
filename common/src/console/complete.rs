//! # Tab completion: the lab's commands and local file names
//!
//! The first word of a line completes from the lab's command list (`/send`, `get`, `play`, ...).
//! After a command that takes a local file (`/send`, `put`), the word completes from the files
//! on this machine, as a shell does: `put rep` + Tab becomes `put report.pdf`, and a directory
//! gets its `/` so the next Tab goes inside it. When several names fit, the word grows to their
//! longest common beginning; when it cannot grow, the candidates are listed.
//!
//! A program may also name commands whose argument is one of *names it knows while it runs*
//! ([`Completer::with_names`], [`Completer::set_names`]): the FTP shell completes `get` and `cd`
//! from the names of its last `ls`. Those names end in `/` for a directory, as paths do.
//!
//! A typed path may start with `~`, the home directory, as in a shell ([`local_path`]): it is
//! the shell that expands `~` on a command line, and a line typed into our own prompt never
//! passes through a shell, so the program must do it itself.

use std::path::{MAIN_SEPARATOR, Path, PathBuf};

/// The file a typed local path names: `~` and `~/rest` are under the home directory (`HOME`
/// on Unix, the user profile on Windows); anything else, `~user` included, is taken as typed.
pub fn local_path(typed: &str) -> PathBuf {
    expand_home(typed, std::env::home_dir().as_deref())
}

/// [`local_path`] with the home directory given (`None`: unknown, the path stays as typed).
fn expand_home(typed: &str, home: Option<&Path>) -> PathBuf {
    let rest = match typed.strip_prefix('~') {
        Some("") => Some(""),
        Some(rest) => rest.strip_prefix(['/', MAIN_SEPARATOR]),
        None => None,
    };
    match (rest, home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(typed),
    }
}

/// What Tab can do to the text before the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// No command or file fits.
    None,
    /// The text before the cursor, made longer.
    Extend(String),
    /// Several fit and none can be preferred: these are the candidates, sorted.
    Choices(Vec<String>),
}

/// Completes command names and, after the commands that take one, local paths or names.
#[derive(Debug, Clone, Default)]
pub struct Completer {
    commands: Vec<String>,
    path_commands: Vec<String>,
    name_commands: Vec<String>,
    names: Vec<String>,
}

impl Completer {
    /// Completes `commands` as first words, and paths after any of `path_commands`.
    pub fn new(commands: &[&str], path_commands: &[&str]) -> Self {
        Self {
            commands: commands.iter().map(|name| name.to_string()).collect(),
            path_commands: path_commands.iter().map(|name| name.to_string()).collect(),
            name_commands: Vec::new(),
            names: Vec::new(),
        }
    }

    /// Completes the last word after any of `commands` from the names set with
    /// [`Completer::set_names`].
    pub fn with_names(mut self, commands: &[&str]) -> Self {
        self.name_commands = commands.iter().map(|name| name.to_string()).collect();
        self
    }

    /// Replaces the names completed after the commands of [`Completer::with_names`].
    pub fn set_names(&mut self, names: Vec<String>) {
        self.names = names;
    }

    /// What Tab does to `before`, the text left of the cursor.
    pub fn complete(&self, before: &str) -> Completion {
        let Some((command, rest)) = before.split_once(' ') else {
            return self.complete_command(before);
        };
        let is = |list: &[String]| list.iter().any(|name| name == command);
        // Only the last word is being typed: `put a b` completes `b`.
        let start = before.len() - rest.len() + rest.rfind(' ').map_or(0, |at| at + 1);
        let (head, word) = before.split_at(start);
        let completion = if is(&self.path_commands) {
            complete_path(word)
        } else if is(&self.name_commands) {
            self.complete_name(word)
        } else {
            Completion::None
        };
        match completion {
            Completion::Extend(longer) => Completion::Extend(format!("{head}{longer}")),
            other => other,
        }
    }

    fn complete_name(&self, word: &str) -> Completion {
        let fits: Vec<String> = self
            .names
            .iter()
            .filter(|name| name.starts_with(word))
            .cloned()
            .collect();
        narrow(word, fits, finish_entry)
    }

    fn complete_command(&self, word: &str) -> Completion {
        let fits: Vec<String> = self
            .commands
            .iter()
            .filter(|name| name.starts_with(word))
            .cloned()
            .collect();
        // A whole command gets a space after it, ready for its argument.
        narrow(word, fits, |only| format!("{only} "))
    }
}

/// Completes `word` as a path relative to the current directory (or absolute).
fn complete_path(word: &str) -> Completion {
    let (directory, prefix) = match word.rfind(['/', MAIN_SEPARATOR]) {
        Some(at) => word.split_at(at + 1),
        None => ("", word),
    };
    let listing = if directory.is_empty() {
        PathBuf::from(".")
    } else {
        local_path(directory)
    };
    let Ok(entries) = std::fs::read_dir(listing) else {
        return Completion::None;
    };
    let mut fits = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8: cannot be typed back into a line anyway
        };
        // Hidden files only when asked for with a leading dot, as shells do.
        if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
            continue;
        }
        let is_directory = entry.file_type().is_ok_and(|kind| kind.is_dir());
        fits.push(format!(
            "{directory}{name}{}",
            if is_directory { "/" } else { "" }
        ));
    }
    fits.sort();
    narrow(word, fits, finish_entry)
}

/// A file gets a space; a directory already ends in `/`, ready for the next Tab.
fn finish_entry(only: &str) -> String {
    if only.ends_with('/') {
        only.to_string()
    } else {
        format!("{only} ")
    }
}

/// From the candidates that fit `word`: the one (finished by `finish`), their longest common
/// beginning if it is longer than `word`, or the list.
fn narrow(word: &str, mut fits: Vec<String>, finish: impl Fn(&str) -> String) -> Completion {
    fits.sort();
    fits.dedup();
    match fits.as_slice() {
        [] => Completion::None,
        [only] => Completion::Extend(finish(only)),
        [first, rest @ ..] => {
            let common = rest
                .iter()
                .fold(first.as_str(), |common, name| common_prefix(common, name));
            if common.len() > word.len() {
                Completion::Extend(common.to_string())
            } else {
                Completion::Choices(fits)
            }
        }
    }
}

/// The longest beginning `a` and `b` share, cut on a character boundary.
fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let shared = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((at, _), _)| at);
    &a[..shared]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A fresh, empty directory under the system's temporary directory.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("netlab-complete-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Commands complete as first words; nothing completes after a command without paths.
    #[test]
    fn commands() {
        let completer = Completer::new(&["get", "put", "pwd"], &["put"]);
        assert_eq!(completer.complete("g"), Completion::Extend("get ".into()));
        assert_eq!(
            completer.complete("p"),
            Completion::Choices(vec!["put".into(), "pwd".into()])
        );
        assert_eq!(completer.complete("x"), Completion::None);
        assert_eq!(completer.complete("get re"), Completion::None);
    }

    /// After a path command, the last word completes from the files on disk; directories get
    /// a `/`, hidden files stay hidden, several files narrow to their common beginning.
    #[test]
    fn paths() {
        let dir = scratch("paths");
        std::fs::write(dir.join("report-1.txt"), "").unwrap();
        std::fs::write(dir.join("report-2.txt"), "").unwrap();
        std::fs::write(dir.join(".hidden"), "").unwrap();
        std::fs::create_dir(dir.join("docs")).unwrap();
        let base = format!("{}/", dir.display());
        let completer = Completer::new(&["/send"], &["/send"]);
        assert_eq!(
            completer.complete(&format!("/send {base}rep")),
            Completion::Extend(format!("/send {base}report-"))
        );
        assert_eq!(
            completer.complete(&format!("/send {base}d")),
            Completion::Extend(format!("/send {base}docs/"))
        );
        assert_eq!(
            completer.complete(&format!("/send {base}report-")),
            Completion::Choices(vec![
                format!("{base}report-1.txt"),
                format!("{base}report-2.txt")
            ])
        );
        assert_eq!(
            completer.complete(&format!("/send {base}.h")),
            Completion::Extend(format!("/send {base}.hidden "))
        );
        assert_eq!(
            completer.complete(&format!("/send {base}h")),
            Completion::None
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// After a names command, the last word completes from the names the program set; other
    /// commands still complete nothing.
    #[test]
    fn names() {
        let mut completer = Completer::new(&["get", "cd", "pwd"], &[]).with_names(&["get", "cd"]);
        assert_eq!(completer.complete("get b"), Completion::None);
        completer.set_names(vec!["big.bin".into(), "docs/".into(), "big.txt".into()]);
        assert_eq!(
            completer.complete("get b"),
            Completion::Extend("get big.".into())
        );
        assert_eq!(
            completer.complete("get big.b"),
            Completion::Extend("get big.bin ".into())
        );
        assert_eq!(
            completer.complete("cd d"),
            Completion::Extend("cd docs/".into())
        );
        assert_eq!(completer.complete("pwd d"), Completion::None);
    }

    /// `~` and `~/...` are the home directory; `~user`, a `~` inside a path, or an unknown
    /// home stay as typed.
    #[test]
    fn home_is_expanded_as_a_shell_does() {
        let home = Path::new("/home/ann");
        assert_eq!(expand_home("~", Some(home)), PathBuf::from("/home/ann"));
        assert_eq!(
            expand_home("~/notes/a.txt", Some(home)),
            PathBuf::from("/home/ann/notes/a.txt")
        );
        assert_eq!(expand_home("~bob/x", Some(home)), PathBuf::from("~bob/x"));
        assert_eq!(expand_home("a/~/b", Some(home)), PathBuf::from("a/~/b"));
        assert_eq!(expand_home("~/x", None), PathBuf::from("~/x"));
    }

    /// `~/` completes from the home directory and stays `~/` in the line.
    #[test]
    fn a_home_path_completes_and_keeps_its_tilde() {
        let Some(home) = std::env::home_dir() else {
            return;
        };
        let Some(entry) = std::fs::read_dir(&home)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .find(|name| !name.starts_with('.') && name.len() > 1)
        else {
            return;
        };
        let completion = complete_path(&format!("~/{}", &entry[..1]));
        let shown = match completion {
            Completion::Extend(text) => vec![text],
            Completion::Choices(all) => all,
            Completion::None => panic!("nothing completed under ~/"),
        };
        assert!(shown.iter().all(|text| text.starts_with("~/")), "{shown:?}");
    }

    /// Common beginnings are cut between characters, never inside one.
    #[test]
    fn common_prefix_is_char_safe() {
        assert_eq!(common_prefix("héllo", "hélp"), "hél");
        assert_eq!(common_prefix("é", "è"), "");
        assert_eq!(common_prefix("ab", "abc"), "ab");
    }
}
