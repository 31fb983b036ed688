//! # Remote names for Tab, from the last `ls`
//!
//! Tab after `get`, `cd` and the other commands that name a remote file completes from the
//! names of the last `ls` of the current directory. No extra command goes to the server for
//! it: asking for a listing at every Tab would cost a data connection each time, and change the
//! dialogue a `--trace` shows. After `cd` the names are forgotten until the next `ls`.
//!
//! A `LIST` reply has no fixed format (RFC 959 §4.1.3 left it open; `crate::listing` explains why
//! `MLSD` came later), so this is a guess, the one every client makes: lines shaped like Unix
//! `ls -l`, `-rw-r--r-- 1 ftp ftp 1234 Mar 05 14:02 notes.txt`, where the name is what follows
//! the eighth field and a leading `d` marks a directory. Lines that do not fit are skipped.
//! A name the completer could not put back into a line as one word (one with a space), or one
//! with control characters a hostile server might send to the terminal, is skipped too.

use netlab_common::term;

/// The commands after which Tab completes a remote name (with their aliases: the completer
/// matches the word as typed).
pub const REMOTE_NAME_COMMANDS: &[&str] = &[
    "get", "recv", "download", "reget", "resume", "cd", "cwd", "chdir", "rm", "del", "delete",
    "rmdir", "rd", "size", "rename", "mv", "ren",
];

/// Fields of an `ls -l` line before the name: mode, links, owner, group, size, and three for
/// the date.
const FIELDS_BEFORE_NAME: usize = 8;

/// The names in a `LIST` reply, directories ending in `/`, sorted.
pub fn listing_names(listing: &str) -> Vec<String> {
    let mut names: Vec<String> = listing.lines().filter_map(entry_name).collect();
    names.sort();
    names.dedup();
    names
}

/// The name on one `ls -l` line (`docs/` for a directory), if the line has that shape.
fn entry_name(line: &str) -> Option<String> {
    let mut rest = line.trim_end();
    for _ in 0..FIELDS_BEFORE_NAME {
        let field_end = rest.find(char::is_whitespace)?;
        rest = rest.get(field_end..)?.trim_start();
    }
    // A symbolic link shows as `name -> target`.
    let name = rest.split(" -> ").next()?;
    let unusable = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(char::is_whitespace)
        || term::sanitize(name) != name;
    if unusable {
        return None;
    }
    let directory = line.starts_with('d');
    Some(format!("{name}{}", if directory { "/" } else { "" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files and directories from `ls -l` lines; odd lines, `.`/`..`, names with spaces or
    /// control characters are skipped; links give their own name.
    #[test]
    fn names_from_a_listing() {
        let listing = "total 3\r\n\
            -rw-r--r-- 1 ftp ftp     52428800 Dec 07 00:17 big.bin\r\n\
            drwxr-xr-x 1 ftp ftp         4096 Dec 07 00:17 docs\r\n\
            drwxr-xr-x 1 ftp ftp         4096 Dec 07 00:17 ..\r\n\
            -rw-r--r-- 1 ftp ftp           10 Dec 07 00:17 my file.txt\r\n\
            -rw-r--r-- 1 ftp ftp           10 Dec 07 00:17 evil\x1b[2J\r\n\
            lrwxrwxrwx 1 ftp ftp            7 Dec 07 00:17 latest -> big.bin\r\n";
        assert_eq!(listing_names(listing), ["big.bin", "docs/", "latest"]);
        assert!(listing_names("").is_empty());
    }
}
