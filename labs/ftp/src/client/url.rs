//! # `ftp://` and `ftps://` URLs (RFC 1738, section 3.2)
//!
//! `ftp://[user[:password]@]host[:port]/path`. The user, password and path may contain
//! `%XX` escapes (a `@` in a password is `%40`). As in curl, the path is taken relative to the
//! directory the server puts us in after login.
//!
//! A URL without a port means FTP's registered port, 21 (RFC 1738, section 3.2): that is what
//! every FTP client reads it as, so ours does too. The lab's server listens on 2121 instead
//! (port 21 needs root), so a URL without a port says so in one line ([`FtpUrl::port_note`]).
//!
//! `ftps://` here means *explicit* FTPS (RFC 4217): the same port, then `AUTH TLS`, as
//! `--tls` does. Beware: curl reads `ftps://` as *implicit* FTPS (TLS from the first byte, on
//! port 990, an older scheme RFC 4217 does not define); its explicit form is `ftp://` with
//! `--ssl-reqd`.

use netlab_common::net::add_default_port;
use netlab_common::{Error, Result};

/// The parts of an `ftp://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpUrl {
    /// User name, if given.
    pub user: Option<String>,
    /// Password, if given.
    pub password: Option<String>,
    /// Host and port as `host:port` (`[::1]:21` for IPv6), ready for `connect`.
    pub target: String,
    /// The decoded path without its leading `/` (empty for the login directory).
    pub path: String,
    /// The URL named no port, so [`FtpUrl::target`] has FTP's standard 21.
    pub standard_port: bool,
    /// `ftps://`: protect the session with `AUTH TLS` (module docs).
    pub tls: bool,
}

/// The standard FTP control port (RFC 959, section 8; RFC 1738, section 3.2 makes it the
/// URL's default).
pub const FTP_PORT: u16 = 21;

/// The port `ftp-lab serve` listens on unless `--port` says otherwise (21 needs root).
pub const LAB_PORT: u16 = 2121;

impl FtpUrl {
    /// Parses `ftp://...` or `ftps://...`. A malformed URL is the user's mistake:
    /// [`netlab_common::Error::Usage`].
    pub fn parse(url: &str) -> Result<FtpUrl> {
        let bad = |why: &str| Error::Usage(format!("bad URL `{url}`: {why}"));
        let (tls, rest) =
            split_scheme(url).ok_or_else(|| bad("it must start with ftp:// or ftps://"))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (
                rest.get(..slash).unwrap_or_default(),
                rest.get(slash + 1..).unwrap_or_default(),
            ),
            None => (rest, ""),
        };
        let (credentials, host_port) = match authority.rfind('@') {
            Some(at) => (
                Some(authority.get(..at).unwrap_or_default()),
                authority.get(at + 1..).unwrap_or_default(),
            ),
            None => (None, authority),
        };
        let (user, password) = match credentials {
            Some(text) => match text.split_once(':') {
                Some((user, password)) => (Some(decode(user)?), Some(decode(password)?)),
                None => (Some(decode(text)?), None),
            },
            None => (None, None),
        };
        if host_port.is_empty() {
            return Err(bad("no host"));
        }
        let standard = add_default_port(host_port, FTP_PORT);
        Ok(FtpUrl {
            user,
            password,
            standard_port: standard.is_some(),
            target: standard.unwrap_or_else(|| host_port.to_string()),
            path: decode(path)?,
            tls,
        })
    }

    /// For a URL without a port, the one line that says port 21 is used and how to reach the
    /// lab's server instead; `None` when the URL names its port.
    pub fn port_note(&self) -> Option<String> {
        let host = self.target.strip_suffix(&format!(":{FTP_PORT}"))?;
        self.standard_port.then(|| {
            format!(
                "no port in the URL: connecting to {}, FTP's standard port (RFC 1738 §3.2); \
                 `ftp-lab serve` listens on {LAB_PORT}: write ftp://{host}:{LAB_PORT}/...",
                self.target
            )
        })
    }
}

/// `ftp://` (false) or `ftps://` (true), in any case, and the rest of the URL.
fn split_scheme(url: &str) -> Option<(bool, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.eq_ignore_ascii_case("ftp") {
        Some((false, rest))
    } else if scheme.eq_ignore_ascii_case("ftps") {
        Some((true, rest))
    } else {
        None
    }
}

/// Is `target` a URL (`ftp://` or `ftps://`) rather than `HOST:PORT`?
pub fn is_url(target: &str) -> bool {
    split_scheme(target).is_some()
}

/// Decodes `%XX` escapes. A NUL or invalid UTF-8 after decoding is an error.
pub fn decode(text: &str) -> Result<String> {
    let bad = || Error::Usage(format!("bad %-escape in `{text}`"));
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        if byte != b'%' {
            bytes.push(byte);
            continue;
        }
        let high = input.next().and_then(hex_value).ok_or_else(bad)?;
        let low = input.next().and_then(hex_value).ok_or_else(bad)?;
        bytes.push(high * 16 + low);
    }
    if bytes.contains(&0) {
        return Err(bad());
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every part, escapes decoded.
    #[test]
    fn full_url() {
        let url = FtpUrl::parse("ftp://alice:p%40ss@127.0.0.1:2121/docs/my%20file.txt").unwrap();
        assert_eq!(url.user.as_deref(), Some("alice"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.target, "127.0.0.1:2121");
        assert_eq!(url.path, "docs/my file.txt");
        assert!(!url.tls);
    }

    /// `ftps://` asks for TLS and is otherwise the same URL.
    #[test]
    fn ftps_url() {
        let url = FtpUrl::parse("ftps://alice@localhost:2121/a.txt").unwrap();
        assert!(url.tls);
        assert_eq!(
            (url.target.as_str(), url.path.as_str()),
            ("localhost:2121", "a.txt")
        );
        assert!(is_url("FTPS://h") && is_url("ftp://h") && !is_url("h:21"));
    }

    /// Defaults: no credentials, port 21, empty path; IPv6 brackets kept.
    #[test]
    fn minimal_urls() {
        let url = FtpUrl::parse("ftp://example.org").unwrap();
        assert_eq!(
            (url.user, url.target.as_str(), url.path.as_str()),
            (None, "example.org:21", "")
        );
        assert_eq!(FtpUrl::parse("ftp://[::1]/x").unwrap().target, "[::1]:21");
        assert_eq!(
            FtpUrl::parse("ftp://[::1]:2121/x").unwrap().target,
            "[::1]:2121"
        );
    }

    /// Only a URL without a port gets the note, and it names 21 and the lab's 2121.
    #[test]
    fn port_note_only_without_a_port() {
        let note = FtpUrl::parse("ftp://127.0.0.1/a.txt")
            .unwrap()
            .port_note()
            .unwrap();
        assert!(note.contains("connecting to 127.0.0.1:21,"), "{note}");
        assert!(note.contains("write ftp://127.0.0.1:2121/"), "{note}");
        let note = FtpUrl::parse("ftp://[::1]").unwrap().port_note().unwrap();
        assert!(note.contains("write ftp://[::1]:2121/"), "{note}");
        assert_eq!(FtpUrl::parse("ftp://h:2121/a").unwrap().port_note(), None);
    }

    /// Wrong scheme, no host, bad escapes and NULs are errors.
    #[test]
    fn bad_urls() {
        for url in [
            "http://x/y",
            "ftp:///path",
            "ftp://h/%zz",
            "ftp://h/%00",
            "ftp://h/%4",
        ] {
            assert!(FtpUrl::parse(url).is_err(), "{url}");
        }
    }
}
