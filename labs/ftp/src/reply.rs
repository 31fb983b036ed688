//! # FTP replies: three digits and a line of text (RFC 959, section 4.2)
//!
//! Every command gets a reply that starts with a three-digit code. The first digit says how it
//! went, and clients usually look at nothing else:
//!
//! | first digit | meaning                                   | example                          |
//! |-------------|-------------------------------------------|----------------------------------|
//! | 1           | preliminary: started, another reply comes | `150 Opening data connection`    |
//! | 2           | done                                      | `226 Transfer complete`          |
//! | 3           | so far so good, send the next command     | `331 Password required`          |
//! | 4           | failed this time, trying again may work   | `425 Can't open data connection` |
//! | 5           | failed, do not repeat as is               | `550 No such file`               |
//!
//! A reply may span several lines: the first line has a `-` after the code (`211-Features:`) and
//! the reply ends at the line with the same code and a space (`211 End`). Lines in between must
//! not look like that last line, so we start each of them with a space, as most servers do.
//!
//! [`ReplyParser`] is the client side: a pure function over lines that says "a whole reply",
//! "need more lines" or "this is not FTP".

/// One reply: a code and its text lines (one line for most replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code, 100..=599.
    pub code: u16,
    /// The text after the code, one entry per line; never empty.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply: `first`, then each of `body`, then `last`.
    pub fn multi(code: u16, first: &str, body: Vec<String>, last: &str) -> Reply {
        let mut lines = Vec::with_capacity(body.len() + 2);
        lines.push(first.to_string());
        lines.extend(body);
        lines.push(last.to_string());
        Reply { code, lines }
    }

    /// The whole text on one line (lines joined by a space), for messages and logs.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// 1yz: a preliminary reply; another one follows when the action ends.
    pub fn is_preliminary(&self) -> bool {
        self.code / 100 == 1
    }

    /// 2yz: the action is complete.
    pub fn is_success(&self) -> bool {
        self.code / 100 == 2
    }

    /// 3yz: accepted, waiting for the next command (PASS after USER, RNTO after RNFR, REST).
    pub fn is_intermediate(&self) -> bool {
        self.code / 100 == 3
    }

    /// The bytes sent on the control connection, CRLF-terminated (RFC 959 §4.2 uses Telnet lines).
    ///
    /// Text can contain names a client chose. A CR or LF inside it would end the reply early and
    /// let a client forge a second reply line, and an ESC or a bidi control would act on the
    /// client's terminal, so every [`is_control_character`] becomes `?`.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        let last = self.lines.len().saturating_sub(1);
        for (index, line) in self.lines.iter().enumerate() {
            let clean = without_controls(line);
            if index == last {
                out.push_str(&format!("{} {clean}\r\n", self.code));
            } else if index == 0 {
                out.push_str(&format!("{}-{clean}\r\n", self.code));
            } else {
                out.push_str(&format!(" {clean}\r\n"));
            }
        }
        out
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} {}", self.code, self.text())
    }
}

fn without_controls(text: &str) -> String {
    text.chars()
        .map(|character| {
            if is_control_character(character) {
                '?'
            } else {
                character
            }
        })
        .collect()
}

/// Characters that change how a terminal shows what follows them, never sent to a client in a
/// reply or a listing, and refused in names a client creates (`server::paths`):
///
/// - C0 controls (NUL to US: CR, LF, ESC, BEL...), DEL, and C1 controls (U+0080 to U+009F,
///   among them CSI, a one-character `ESC [` on some terminals): `char::is_control`;
/// - Unicode's bidirectional controls (the `Bidi_Control` property: U+061C, U+200E, U+200F,
///   U+202A to U+202E, U+2066 to U+2069). U+202E, RIGHT-TO-LEFT OVERRIDE, shows
///   `invoice\u{202e}fdp.exe` as `invoiceexe.pdf` (the "Trojan Source" trick, CVE-2021-42574).
pub fn is_control_character(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Most lines one reply may have before the client gives up on it (a STAT listing is the
/// longest reply a normal server sends). Bounds the memory a hostile server can make us use.
pub const MAX_REPLY_LINES: usize = 100_000;

/// What [`ReplyParser::push_line`] made of a line.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseStep {
    /// The reply is complete.
    Complete(Reply),
    /// A multi-line reply continues: feed the next line.
    NeedMore,
}

/// Assembles replies from the lines a server sends (client side). Pure: no I/O.
#[derive(Debug, Default)]
pub struct ReplyParser {
    /// The code and lines of a multi-line reply in progress.
    open: Option<(u16, Vec<String>)>,
}

impl ReplyParser {
    /// A parser waiting for the first line of a reply.
    pub fn new() -> ReplyParser {
        ReplyParser::default()
    }

    /// Feeds one line (without its CRLF). An error means the peer does not speak FTP.
    pub fn push_line(&mut self, line: &str) -> Result<ParseStep, String> {
        let parsed = split_code(line);
        if let Some((code, lines)) = self.open.as_mut() {
            return match parsed {
                Some((found, ' ', text)) if found == *code => {
                    lines.push(text.to_string());
                    let (code, lines) = (*code, std::mem::take(lines));
                    self.open = None;
                    Ok(ParseStep::Complete(Reply { code, lines }))
                }
                _ if lines.len() >= MAX_REPLY_LINES => Err(format!(
                    "a multi-line reply longer than {MAX_REPLY_LINES} lines"
                )),
                _ => {
                    lines.push(line.strip_prefix(' ').unwrap_or(line).to_string());
                    Ok(ParseStep::NeedMore)
                }
            };
        }
        match parsed {
            Some((code, ' ', text)) => Ok(ParseStep::Complete(Reply::new(code, text))),
            Some((code, '-', text)) => {
                self.open = Some((code, vec![text.to_string()]));
                Ok(ParseStep::NeedMore)
            }
            _ => Err(format!(
                "expected a reply like `220 text`, got `{}`",
                netlab_common::term::sanitize(line)
            )),
        }
    }
}

/// `"226 Done"` -> `(226, ' ', "Done")`; `"211-Features"` -> `(211, '-', "Features")`;
/// a bare `"200"` counts as `(200, ' ', "")`.
fn split_code(line: &str) -> Option<(u16, char, &str)> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    if !(100..600).contains(&code) {
        return None;
    }
    let rest = line.get(3..)?;
    let mut chars = rest.chars();
    match chars.next() {
        None => Some((code, ' ', "")),
        Some(separator @ (' ' | '-')) => Some((code, separator, chars.as_str())),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// One line: code, space, text, CRLF.
    #[test]
    fn single_line_on_the_wire() {
        assert_eq!(
            Reply::new(226, "Transfer complete").to_wire(),
            "226 Transfer complete\r\n"
        );
    }

    /// Multi-line: `code-` first, indented middle lines, `code ` last (RFC 959 4.2).
    #[test]
    fn multi_line_on_the_wire() {
        let reply = Reply::multi(211, "Features:", vec!["SIZE".into(), "MDTM".into()], "End");
        assert_eq!(
            reply.to_wire(),
            "211-Features:\r\n SIZE\r\n MDTM\r\n211 End\r\n"
        );
    }

    /// A CR or LF in a file name cannot end the reply early and forge another one.
    #[test]
    fn control_characters_cannot_forge_lines() {
        let reply = Reply::new(550, "a\r\n230 fake: no such file");
        assert_eq!(reply.to_wire(), "550 a??230 fake: no such file\r\n");
    }

    /// ESC, C1 controls and bidi controls (a user name, a refused file name) never reach the
    /// client's terminal.
    #[test]
    fn escapes_and_bidi_controls_become_question_marks() {
        let reply = Reply::new(
            331,
            "Password required for a\u{1b}[2Jb\u{9b}c\u{202e}d\u{2066}e.",
        );
        assert_eq!(
            reply.to_wire(),
            "331 Password required for a?[2Jb?c?d?e.\r\n"
        );
        assert!(is_control_character('\u{7f}') && is_control_character('\u{200f}'));
        assert!(!is_control_character('é') && !is_control_character('\u{05d0}'));
    }

    /// The parser reassembles what `to_wire` produced, single and multi-line.
    #[test]
    fn parser_round_trip() {
        let reply = Reply::multi(211, "Features:", vec!["SIZE".into(), "UTF8".into()], "End");
        let mut parser = ReplyParser::new();
        let wire = reply.to_wire();
        let mut result = None;
        for line in wire.split("\r\n").filter(|line| !line.is_empty()) {
            if let ParseStep::Complete(done) = parser.push_line(line).unwrap() {
                result = Some(done);
            }
        }
        assert_eq!(result, Some(reply));
    }

    /// A middle line that starts with another code does not end the reply.
    #[test]
    fn other_codes_inside_multi_line() {
        let mut parser = ReplyParser::new();
        assert_eq!(parser.push_line("214-Help").unwrap(), ParseStep::NeedMore);
        assert_eq!(
            parser.push_line("200 not the end").unwrap(),
            ParseStep::NeedMore
        );
        let done = parser.push_line("214 End").unwrap();
        assert_eq!(
            done,
            ParseStep::Complete(Reply {
                code: 214,
                lines: vec!["Help".into(), "200 not the end".into(), "End".into()]
            })
        );
    }

    /// Lines that are not replies are errors, not panics.
    #[test]
    fn garbage_is_an_error() {
        for line in [
            "",
            "hello",
            "22",
            "2x0 nope",
            "999 too big",
            "200x",
            "é00 x",
        ] {
            assert!(ReplyParser::new().push_line(line).is_err(), "{line:?}");
        }
        assert_eq!(
            ReplyParser::new().push_line("200").unwrap(),
            ParseStep::Complete(Reply::new(200, ""))
        );
    }
}
