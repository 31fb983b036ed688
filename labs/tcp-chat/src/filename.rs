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
//! file is complete (see `duplex::transfer`), so even a file created meanwhile is never replaced.

/// Prefix of every received file's name.
pub const PREFIX: &str = "new_";

/// Longest base name kept, in bytes (room for the prefix and a `(9999)` within 255).
pub const MAX_BASE: usize = 200;

/// Name used when nothing usable is left of the offered one.
pub const FALLBACK: &str = "file";

/// How many numbered names are tried before giving up.
pub const MAX_CANDIDATES: u32 = 10_000;

/// Reduces a name from the network to a safe base name: no directories, no separators, no
/// control characters, never empty, `.` or `..`.
pub fn base_name(offered: &str) -> String {
    let last = offered.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean = String::with_capacity(last.len());
    for character in last.chars() {
        let safe = !character.is_control()
            && !matches!(character, '<' | '>' | ':' | '"' | '|' | '?' | '*')
            && !matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
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
        assert_eq!(base_name(&"é".repeat(500)).len(), MAX_BASE);
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
