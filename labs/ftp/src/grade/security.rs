//! # Attacks every FTP server on the Internet sees
//!
//! - **Escaping the root.** A client names files with paths, and `..` climbs. A server that
//!   joins `ROOT + "/" + path` and opens the result hands out `ROOT/../../../../etc/passwd`,
//!   which is `/etc/passwd`. A correct server treats its root like the root of a `chroot`:
//!   `..` at `/` stays at `/`. So `RETR ../../../../etc/passwd` must give *exactly* what
//!   `RETR /etc/passwd` gives inside the root (usually `550`, no such file), or be refused. The
//!   grader compares the two, so a server is never failed for a file that really is in its
//!   root. Encoded forms (`..%2f`, `%2e%2e/`, `..\`) must not help: FTP paths are not URLs, and
//!   a backslash is a separator on Windows.
//! - **The bounce attack** (RFC 2577, section 3). `PORT h1,h2,h3,h4,p1,p2` tells the server
//!   where to connect for the next transfer; if that may be any host and port, the server can be
//!   made to connect to a third machine (a mail server on port 25, behind the firewall) and
//!   replay an uploaded file there. A server must refuse (`5xx`) a `PORT`/`EPRT` to ports below
//!   1024 (the defence RFC 2577 section 3 suggests) and to any address but the client's own
//!   (common practice, not in the RFC: vsftpd's default `port_promiscuous=NO`).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use netlab_common::grade::{Check, CheckResult, Failure};

use super::Target;
use super::dialogue::{expect_pwd, with};
use super::session::{Control, quoted, shown};
use crate::hostport;
use crate::reply::Reply;

/// Ways out of the root a careless server lets through, all aiming at `/etc/passwd`.
pub const ESCAPES: [&str; 5] = [
    "../../../../../../../../etc/passwd",
    "/../../../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "..\\..\\..\\..\\..\\..\\..\\..\\etc\\passwd",
];

/// What the escapes must be compared with: the same path inside the root.
pub const INSIDE: &str = "/etc/passwd";

/// A directory outside the root, by `..`, and the same path inside the root.
const ESCAPE_DIR: &str = "../../../../../../../../etc";
const INSIDE_DIR: &str = "/etc";

/// A host that is not the grader's: TEST-NET-1 (RFC 5737 §3), reserved for documentation.
const OTHER_HOST_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Its IPv6 counterpart (RFC 3849 §2).
const OTHER_HOST_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// The security checks.
pub fn checks(t: &Target) -> Vec<Check> {
    vec![
        Check::required(
            "CWD .., CDUP at the root",
            2,
            "a root that cannot be escaped",
            with(t, climb_above_root),
        ),
        Check::required(
            "traversal: SIZE",
            2,
            "paths resolved inside the root",
            with(t, traversal_size),
        ),
        Check::required(
            "traversal: RETR",
            3,
            "paths resolved inside the root",
            with(t, traversal_retr),
        ),
        Check::required(
            "traversal: LIST",
            2,
            "paths resolved inside the root",
            with(t, traversal_list),
        ),
        Check::required(
            "bounce: PORT to another host",
            2,
            "data goes only to the client (against the bounce attack)",
            with(t, bounce_other_host),
        ),
        Check::required(
            "bounce: privileged port",
            2,
            "RFC 2577 section 3: no data to ports below 1024",
            with(t, bounce_privileged_port),
        ),
    ]
}

/// `CWD ..`, `CWD ../../..` and `CDUP` at the root leave `PWD` at `/`.
fn climb_above_root(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    for line in ["CWD ..", "CWD ../../../../../../../..", "CDUP"] {
        c.command(line)?;
        expect_pwd(
            &mut c,
            "/",
            &format!("after {} at the root (`..` at / stays at /)", quoted(line)),
        )?;
    }
    c.quit();
    Ok(())
}

/// What a command got: refused, or an answer (a size, a file, the names in a listing) with
/// how a reason shows it.
#[derive(Debug)]
enum Answer {
    Refused(Reply),
    Served { answer: Vec<u8>, shown: String },
}

impl Answer {
    fn describe(&self) -> String {
        match self {
            Answer::Refused(reply) => shown(reply),
            Answer::Served { shown, .. } => shown.clone(),
        }
    }

    /// The same answer (refusals with any text count as the same).
    fn same_as(&self, other: &Answer) -> bool {
        match (self, other) {
            (Answer::Refused(_), Answer::Refused(_)) => true,
            (Answer::Served { answer: a, .. }, Answer::Served { answer: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// A file's bytes as an answer.
fn file(bytes: Vec<u8>) -> Answer {
    let shown = format!(
        "a file of {} bytes starting {}",
        bytes.len(),
        netlab_common::grade::show_bytes(bytes.get(..24).unwrap_or(&bytes))
    );
    Answer::Served {
        answer: bytes,
        shown,
    }
}

/// Each escape must be refused, or answered exactly as the same path inside the root is.
fn compare_escapes(
    c: &mut Control,
    verb: &str,
    escapes: &[&str],
    inside: &str,
    mut ask: impl FnMut(&mut Control, &str) -> Result<Answer, Failure>,
) -> CheckResult {
    let reference = ask(c, &format!("{verb} {inside}"))?;
    for escape in escapes {
        let line = format!("{verb} {escape}");
        let answer = ask(c, &line)?;
        let refused = matches!(answer, Answer::Refused(_));
        if refused || answer.same_as(&reference) {
            continue;
        }
        return Err(Failure::new(
            format!(
                "{} refused (550), or answered as {} is inside the root ({}): `..` at the root \
                 must stay at the root",
                quoted(&line),
                quoted(&format!("{verb} {inside}")),
                reference.describe()
            ),
            format!(
                "{}: the path reached outside the served directory",
                answer.describe()
            ),
        ));
    }
    Ok(())
}

/// `SIZE` of each escape against `SIZE /etc/passwd`.
fn traversal_size(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    compare_escapes(&mut c, "SIZE", &ESCAPES, INSIDE, |c, line| {
        let reply = c.command(line)?;
        Ok(match reply.code {
            213 => Answer::Served {
                answer: reply.text().trim().as_bytes().to_vec(),
                shown: shown(&reply),
            },
            _ => Answer::Refused(reply),
        })
    })?;
    c.quit();
    Ok(())
}

/// `RETR` of each escape against `RETR /etc/passwd`, byte for byte.
fn traversal_retr(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    compare_escapes(&mut c, "RETR", &ESCAPES, INSIDE, |c, line| {
        Ok(match c.download(line)? {
            Ok(bytes) => file(bytes),
            Err(reply) => Answer::Refused(reply),
        })
    })?;
    c.quit();
    Ok(())
}

/// `LIST ../../../../etc` against `LIST /etc`: the names listed must be the same. A listing
/// with no names counts as a refusal (some servers list a missing path as empty).
fn traversal_list(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    compare_escapes(&mut c, "LIST", &[ESCAPE_DIR], INSIDE_DIR, |c, line| {
        Ok(match c.download(line)? {
            Ok(bytes) => {
                let names = names_in(&bytes);
                if names.is_empty() {
                    Answer::Refused(Reply::new(226, "an empty listing"))
                } else {
                    let names: Vec<String> = names.into_iter().collect();
                    let first: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
                    Answer::Served {
                        shown: format!(
                            "a listing of {} names ({}...)",
                            names.len(),
                            first.join(", ")
                        ),
                        answer: names.join("/").into_bytes(),
                    }
                }
            }
            Err(reply) => Answer::Refused(reply),
        })
    })?;
    c.quit();
    Ok(())
}

/// The names in a listing: the last word of each line (`ls -l` lines and bare names alike).
fn names_in(listing: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(listing)
        .lines()
        .filter(|line| !line.starts_with("total "))
        .filter_map(|line| line.split_whitespace().last())
        .map(str::to_string)
        .collect()
}

/// `PORT` and `EPRT` naming a host other than the client must be refused with `5xx`.
fn bounce_other_host(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let mut lines = Vec::new();
    if t.addr.is_ipv4() {
        let other = SocketAddrV4::new(OTHER_HOST_V4, 50_000);
        lines.push(format!("PORT {}", hostport::format_port(other)));
        lines.push(format!(
            "EPRT {}",
            hostport::format_eprt(SocketAddr::V4(other))
        ));
    } else {
        let other = SocketAddr::new(IpAddr::V6(OTHER_HOST_V6), 50_000);
        lines.push(format!("EPRT {}", hostport::format_eprt(other)));
    }
    for line in lines {
        refused(
            &mut c,
            &line,
            "a host that is not the client (the FTP bounce attack, RFC 2577 section 3)",
        )?;
    }
    c.quit();
    Ok(())
}

/// `PORT` and `EPRT` naming the client's own address but a port below 1024 are refused.
fn bounce_privileged_port(t: Target) -> CheckResult {
    let mut c = Control::login(&t)?;
    let ip = c.our_ip()?;
    let mut lines = Vec::new();
    if let IpAddr::V4(v4) = ip {
        lines.push(format!(
            "PORT {}",
            hostport::format_port(SocketAddrV4::new(v4, 25))
        ));
    }
    lines.push(format!(
        "EPRT {}",
        hostport::format_eprt(SocketAddr::new(ip, 21))
    ));
    for line in lines {
        refused(
            &mut c,
            &line,
            "a port below 1024 (mail, FTP, ...: the bounce attack, RFC 2577 section 3)",
        )?;
    }
    c.quit();
    Ok(())
}

/// `line` must be answered with a `5xx`.
fn refused(c: &mut Control, line: &str, why: &str) -> CheckResult {
    let reply = c.command(line)?;
    if (500..600).contains(&reply.code) {
        return Ok(());
    }
    let meaning = match reply.code / 100 {
        2 => "accepted: the next transfer would go there",
        4 => "a 4xx: the server tried to connect there, which is the attack",
        _ => "not a refusal",
    };
    Err(Failure::new(
        format!("a 5xx refusal of {}: it names {why}", quoted(line)),
        format!("{} ({meaning})", shown(&reply)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_long_and_short_listings() {
        let long = b"total 8\r\n-rw-r--r-- 1 ftp ftp 5 Jan 1 00:00 a.txt\r\ndrwxr-xr-x 2 ftp ftp 4096 Jan 1 00:00 docs\r\n";
        let names: Vec<String> = names_in(long).into_iter().collect();
        assert_eq!(names, ["a.txt", "docs"]);
        assert!(names_in(b"").is_empty());
    }
}
