//! # File names from the network
//!
//! A file offer carries a name chosen by the sender, and the sender may be hostile. Used as a
//! path, `../../.bashrc` or `/etc/passwd` would write outside the download directory (a *path
//! traversal*); a name with control characters could mess up the terminal that prints it; a
//! name that already exists would overwrite someone's file. So the receiver never uses the name
//! as a path. It keeps only a *base name*:
//!
//! 1. cut at the last `/` or `\` (either OS's separator: the sender's OS is unknown), so only
//!    the final component is left;
//! 2. replace control characters and characters Windows forbids in names (`<>:"|?*`) by `_`;
//! 3. refuse what is left if it is empty, `.` or `..`, and use `file` instead;
//! 4. bound the length.
//!
//! Then it prefixes `new_` (received files are easy to spot) and, if that name is taken, tries
//! `new_NAME(1).EXT`, `new_NAME(2).EXT`, ... The first free one is claimed *atomically* when the
//! file is complete (see [`super::transfer`]), so even a file created meanwhile is never replaced.
//!
//! ## Characters no name may carry: [`is_unsafe_char`]
//! A file name is shown to people: on the receiver's screen, and in the room, in every member's
//! `list` and `uploaded` notice. Two kinds of character there do harm without being visible:
//!
//! - *control characters* (C0 such as ESC and NUL, DEL, C1 such as CSI U+009B): a terminal obeys
//!   them, so a name can clear a screen or retitle a window;
//! - *bidirectional and invisible formatting characters* (U+202E RIGHT-TO-LEFT OVERRIDE and its
//!   family, the isolates U+2066..U+2069, the marks U+200E/U+200F/U+061C, zero-width characters):
//!   they reorder or hide what follows, so `invoice\u{202e}fdp.exe` *displays* as
//!   `invoiceexe.pdf`. This is the "Trojan Source" trick (CVE-2021-42574), and an old one in
//!   e-mail attachments.
//!
//! [`is_unsafe_char`] is the one rule every path uses: the room refuses such a name outright
//! (the room's repository), the duplex and join receivers replace those characters by `_` ([`base_name`]),
//! and anything that must *show* a refused name shows it through [`escape`].

/// Prefix of every received file's name.
pub const PREFIX: &str = "new_";

/// Longest file name a sender offers, in bytes: the limit of common file systems (ext4,
/// APFS and NTFS all stop at 255).
pub const MAX_NAME: usize = 255;

/// Longest base name kept, in bytes (room for the prefix and a `(9999)` within [`MAX_NAME`]).
pub const MAX_BASE: usize = 200;

/// Name used when nothing usable is left of the offered one.
pub const FALLBACK: &str = "file";

/// How many numbered names are tried before giving up.
pub const MAX_CANDIDATES: u32 = 10_000;

/// Whether `character` may not appear raw in a name shown to people: a control character (C0,
/// DEL, C1: Unicode category Cc), or a bidirectional or invisible formatting character that can
/// reorder or hide the text around it (see the module docs).
pub fn is_unsafe_char(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            // ARABIC LETTER MARK; zero-width space, non-joiner, joiner; LRM, RLM.
            '\u{061c}' | '\u{200b}'..='\u{200f}'
            // Line and paragraph separators; LRE, RLE, PDF, LRO, RLO (the embeddings and overrides).
            | '\u{2028}'..='\u{202e}'
            // Word joiner, invisible operators; LRI, RLI, FSI, PDI (the isolates).
            | '\u{2060}'..='\u{2069}'
            // Byte order mark (zero-width no-break space).
            | '\u{feff}'
        )
}

/// The first character of `name` that [`is_unsafe_char`] forbids, if any.
pub fn first_unsafe_char(name: &str) -> Option<char> {
    name.chars().find(|&character| is_unsafe_char(character))
}

/// `name` with every [`is_unsafe_char`] made visible, the way chat text is
/// (`netlab_common::term::sanitize`): C0 controls and DEL in caret notation (`^[`, `^@`, `^?`),
/// the others as `\u{202e}`. Safe to print and to send to anyone.
pub fn escape(name: &str) -> String {
    let mut shown = String::with_capacity(name.len());
    for character in name.chars() {
        match character {
            '\0'..='\x1f' => {
                shown.push('^');
                shown.push(char::from(b'@' + character as u8));
            }
            '\x7f' => shown.push_str("^?"),
            other if is_unsafe_char(other) => {
                shown.push_str(&format!("\\u{{{:x}}}", u32::from(other)));
            }
            other => shown.push(other),
        }
    }
    shown
}

/// Reduces a name from the network to a safe base name: no directories, no separators, no
/// control or bidi formatting characters ([`is_unsafe_char`]), never empty, `.` or `..`.
pub fn base_name(offered: &str) -> String {
    let last = offered.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean = String::with_capacity(last.len());
    for character in last.chars() {
        let safe = !is_unsafe_char(character)
            && !matches!(character, '<' | '>' | ':' | '"' | '|' | '?' | '*');
        if clean.len() + character.len_utf8() > MAX_BASE {
            break;
        }
        clean.push(if safe { character } else { '_' });
    }
    let trimmed = clean.trim();
    if trimmed.is_empty() || trimmed.chars().all(|character| character == '.') {
        FALLBACK.to_string()
    } else {
        trimmed.to_string()
    }
}

/// The names to try, in order, for a received file whose safe base name is `base`:
/// `new_report.pdf`, `new_report(1).pdf`, `new_report(2).pdf`, ...
pub fn candidates(base: &str) -> impl Iterator<Item = String> + '_ {
    // Split off the extension so the number goes before it; a leading dot (".bashrc") is part
    // of the name, not an extension.
    let (stem, extension) = match base.rfind('.') {
        Some(dot) if dot > 0 => base.split_at(dot),
        _ => (base, ""),
    };
    (0..MAX_CANDIDATES).map(move |number| match number {
        0 => format!("{PREFIX}{base}"),
        _ => format!("{PREFIX}{stem}({number}){extension}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Directories, separators of both OSes and dot names are neutralized.
    #[test]
    fn traversal_is_neutralized() {
        assert_eq!(base_name("../../etc/passwd"), "passwd");
        assert_eq!(base_name("/etc/passwd"), "passwd");
        assert_eq!(base_name("..\\..\\Windows\\win.ini"), "win.ini");
        assert_eq!(base_name(".."), "file");
        assert_eq!(base_name("a/.."), "file");
        assert_eq!(base_name("dir/"), "file");
        assert_eq!(base_name(""), "file");
        assert_eq!(base_name(".bashrc"), ".bashrc");
    }

    /// Control characters and characters Windows forbids become `_`; length is bounded.
    #[test]
    fn hostile_characters_replaced() {
        assert_eq!(base_name("a\x1b[2Jb\n.txt"), "a_[2Jb_.txt");
        assert_eq!(base_name("what?.txt"), "what_.txt");
        assert_eq!(base_name("x\u{202e}gpj.exe"), "x_gpj.exe");
        assert_eq!(base_name("a\u{200f}b\u{2067}c\u{feff}.txt"), "a_b_c_.txt");
        assert_eq!(base_name(&"é".repeat(500)).len(), MAX_BASE);
    }

    /// The unsafe set: controls of every kind and the bidi/invisible formatting characters, and
    /// nothing a real name uses (accents, other scripts, emoji).
    #[test]
    fn unsafe_characters() {
        for bad in [
            '\0', '\x1b', '\n', '\x7f', '\u{85}', '\u{9b}', '\u{61c}', '\u{200b}', '\u{200e}',
            '\u{200f}', '\u{2028}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{feff}',
        ] {
            assert!(is_unsafe_char(bad), "{bad:?}");
        }
        for good in ['a', 'é', 'ß', 'Ж', 'ש', '日', '😀', ' ', '-', '\u{2010}'] {
            assert!(!is_unsafe_char(good), "{good:?}");
        }
        assert_eq!(first_unsafe_char("bidi\u{202e}txt.exe"), Some('\u{202e}'));
        assert_eq!(first_unsafe_char("café.txt"), None);
    }

    /// Escaping shows every unsafe character and leaves the rest alone.
    #[test]
    fn escaping() {
        assert_eq!(
            escape("a\x1b[2J\0\x7f\u{9b}\u{202e}\u{200f}é.txt"),
            "a^[[2J^@^?\\u{9b}\\u{202e}\\u{200f}é.txt"
        );
        assert!(escape("x\u{2066}y").chars().all(|c| !is_unsafe_char(c)));
    }

    /// Numbered names keep the extension at the end.
    #[test]
    fn numbered_candidates() {
        let names: Vec<String> = candidates("report.pdf").take(3).collect();
        assert_eq!(
            names,
            ["new_report.pdf", "new_report(1).pdf", "new_report(2).pdf"]
        );
        let names: Vec<String> = candidates(".bashrc").take(2).collect();
        assert_eq!(names, ["new_.bashrc", "new_.bashrc(1)"]);
        assert_eq!(candidates("x").count(), MAX_CANDIDATES as usize);
    }
}
