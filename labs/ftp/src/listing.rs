//! # Directory listings: LIST, NLST, MLSD/MLST and MDTM
//!
//! RFC 959 §4.1.3 left the format of `LIST` open ("the information on a file may vary widely from
//! system to system"), so servers copied the output of Unix `ls -l` and clients learned to parse
//! it. That guesswork is why RFC 3659 §7 added `MLSD`/`MLST`: one line of `fact=value;` pairs per
//! file, with times in UTC as `YYYYMMDDHHMMSS`, meant for programs rather than people:
//!
//! ```text
//! LIST:  -rw-r--r-- 1 ftp ftp        1234 Mar 05 14:02 notes.txt
//! MLSD:  type=file;size=1234;modify=20250305140211;perm=r; notes.txt
//! NLST:  notes.txt
//! ```
//!
//! All of it is pure formatting over an [`Entry`], so the dates are testable without files.
//! Times are shown in UTC: the server cannot know the client's time zone.

use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What kind of file system object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Anything else (device, socket, ...): listed, never transferred.
    Other,
}

/// One line of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name as shown to the client.
    pub name: String,
    /// File, directory or other.
    pub kind: Kind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub modified: SystemTime,
    /// Unix permission bits (0o644 ...); a plausible default on other systems.
    pub mode: u32,
}

impl Entry {
    /// An entry for `name` from its (symlink-followed) metadata.
    pub fn from_metadata(name: &str, metadata: &Metadata) -> Entry {
        let kind = if metadata.is_dir() {
            Kind::Dir
        } else if metadata.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Entry {
            name: printable_name(name),
            kind,
            size: metadata.len(),
            modified: metadata.modified().unwrap_or(UNIX_EPOCH),
            mode: permission_bits(metadata, kind),
        }
    }
}

#[cfg(unix)]
fn permission_bits(metadata: &Metadata, _kind: Kind) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn permission_bits(metadata: &Metadata, kind: Kind) -> u32 {
    let base = if kind == Kind::Dir { 0o755 } else { 0o644 };
    if metadata.permissions().readonly() {
        base & !0o222
    } else {
        base
    }
}

/// A name that cannot break a listing line: CR and LF (possible in Unix file names) become `?`.
fn printable_name(name: &str) -> String {
    name.replace(['\r', '\n'], "?")
}

/// A line in the `ls -l` style clients expect from `LIST`.
pub fn long_line(entry: &Entry, now: SystemTime) -> String {
    let type_char = match entry.kind {
        Kind::Dir => 'd',
        Kind::File => '-',
        Kind::Other => '?',
    };
    let mut permissions = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (entry.mode >> shift) & 0o7;
        permissions.push(if bits & 4 != 0 { 'r' } else { '-' });
        permissions.push(if bits & 2 != 0 { 'w' } else { '-' });
        permissions.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    format!(
        "{type_char}{permissions} 1 ftp ftp {:>12} {} {}",
        entry.size,
        ls_date(entry.modified, now),
        entry.name
    )
}

/// `ls` shows the time of day for files changed in the last six months, the year otherwise.
fn ls_date(modified: SystemTime, now: SystemTime) -> String {
    const SIX_MONTHS: Duration = Duration::from_secs(183 * 86_400);
    let civil = Civil::from(modified);
    let month = MONTHS
        .get(civil.month.saturating_sub(1) as usize)
        .unwrap_or(&"???");
    let recent = now
        .duration_since(modified)
        .map(|age| age < SIX_MONTHS)
        .unwrap_or(true);
    if recent {
        format!(
            "{month} {:02} {:02}:{:02}",
            civil.day, civil.hour, civil.minute
        )
    } else {
        format!("{month} {:02} {:>5}", civil.day, civil.year)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An `MLSD`/`MLST` line: facts, a space, the name (RFC 3659, section 7.2).
/// `writable` says whether this login may change the entry (the `perm` fact, 7.5.5).
pub fn facts_line(entry: &Entry, writable: bool) -> String {
    let (kind, perm) = match (entry.kind, writable) {
        (Kind::Dir, false) => ("dir", "el"),
        (Kind::Dir, true) => ("dir", "cdeflmp"),
        (Kind::File, false) => ("file", "r"),
        (Kind::File, true) => ("file", "adfrw"),
        (Kind::Other, _) => ("OS.unix=other", ""),
    };
    format!(
        "type={kind};size={};modify={};perm={perm}; {}",
        entry.size,
        timestamp(entry.modified),
        entry.name
    )
}

/// `YYYYMMDDHHMMSS` in UTC: the `MDTM` reply and the `modify` fact (RFC 3659, section 2.3).
pub fn timestamp(time: SystemTime) -> String {
    let civil = Civil::from(time);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
    )
}

/// A UTC calendar date and time of day.
#[derive(Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl From<SystemTime> for Civil {
    fn from(time: SystemTime) -> Civil {
        let seconds: i64 = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX / 2),
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX / 2),
        };
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (of_day / 3600) as u32,
            minute: (of_day % 3600 / 60) as u32,
            second: (of_day % 60) as u32,
        }
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar. This is
/// Howard Hinnant's `civil_from_days`: shift the year to start in March so the leap day is the
/// last day of the year, then count 400-year eras of 146,097 days.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    /// Known dates, including a leap day and the epoch itself.
    #[test]
    fn calendar_dates() {
        assert_eq!(timestamp(at(0)), "19700101000000");
        assert_eq!(timestamp(at(951_782_400)), "20000229000000");
        assert_eq!(timestamp(at(1_741_183_331)), "20250305140211");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    fn entry(kind: Kind, modified: SystemTime) -> Entry {
        Entry {
            name: "notes.txt".into(),
            kind,
            size: 1234,
            modified,
            mode: 0o644,
        }
    }

    /// Recent files show the time of day, old ones the year, as `ls -l` does.
    #[test]
    fn ls_style_lines() {
        let modified = at(1_741_183_331);
        let now = modified + Duration::from_secs(86_400);
        assert_eq!(
            long_line(&entry(Kind::File, modified), now),
            "-rw-r--r-- 1 ftp ftp         1234 Mar 05 14:02 notes.txt"
        );
        let much_later = modified + Duration::from_secs(400 * 86_400);
        assert_eq!(
            long_line(&entry(Kind::File, modified), much_later),
            "-rw-r--r-- 1 ftp ftp         1234 Mar 05  2025 notes.txt"
        );
    }

    /// MLSD facts for read-only and writable logins.
    #[test]
    fn machine_listing_facts() {
        let file = entry(Kind::File, at(1_741_183_331));
        assert_eq!(
            facts_line(&file, false),
            "type=file;size=1234;modify=20250305140211;perm=r; notes.txt"
        );
        let dir = Entry {
            kind: Kind::Dir,
            ..file
        };
        assert!(facts_line(&dir, true).starts_with("type=dir;size=1234;"));
        assert!(facts_line(&dir, true).contains("perm=cdeflmp; "));
    }
}
