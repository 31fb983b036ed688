//! # Slash commands: said to this program, not to the peer
//!
//! In every tcp-chat client a line that starts with `/` and a letter is a command for the
//! program you type into (`/q`, `/send PATH`, `/nick NAME`), and anything else is chat. A typo
//! in a command (`/sned photo.jpg`) must not go out as a chat line: the peer would read it, and
//! the user would wonder why no file is coming. So a slash word the client does not know is
//! refused right here, before anything is sent, with a hint; `/help` lists what the client knows.

/// The command word of `line` (`"/sned"` in `"/sned x"`) if the line is a slash command: it
/// starts, after spaces, with `/` and a letter. `"/ hi"`, `"/:-)"` and `"a/b"` are chat.
pub fn command_word(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let after_slash = trimmed.strip_prefix('/')?;
    if !after_slash.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    trimmed.split_whitespace().next()
}

/// The word of `line` if it is a slash command that is not in `known`.
pub fn unknown<'a>(line: &'a str, known: &[&str]) -> Option<&'a str> {
    command_word(line).filter(|word| !known.contains(word))
}

/// What the user is told when [`unknown`] finds a word: nothing was sent, and where to look.
pub fn refusal(word: &str) -> String {
    format!("unknown command {word}; nothing sent. /help lists the commands")
}

/// The command that lists the others, in every client.
pub const HELP: &str = "/help";

#[cfg(test)]
mod tests {
    use super::*;

    /// Only `/` followed by a letter makes a command; known words pass, others are caught.
    #[test]
    fn slash_words() {
        assert_eq!(command_word("/sned x"), Some("/sned"));
        assert_eq!(command_word("  /q"), Some("/q"));
        assert_eq!(command_word("/ hi"), None);
        assert_eq!(command_word("/:-)"), None);
        assert_eq!(command_word("a/b"), None);
        assert_eq!(unknown("/sned x", &["/send", "/q"]), Some("/sned"));
        assert_eq!(unknown("/send x", &["/send", "/q"]), None);
        assert_eq!(unknown("hello", &["/send"]), None);
    }
}
