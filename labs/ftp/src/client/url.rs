//! # `ftp://` URLs (RFC 1738, section 3.2)
//!
//! `ftp://[user[:password]@]host[:port]/path`. The user, password and path may contain
//! `%XX` escapes (a `@` in a password is `%40`); the port defaults to 21. As in curl, the path
//! is taken relative to the directory the server puts us in after login.

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
}

/// The standard FTP control port (RFC 959 §8).
pub const FTP_PORT: u16 = 21;

impl FtpUrl {
    /// Parses `ftp://...`. A malformed URL is the user's mistake: [`netlab_common::Error::Usage`].
    pub fn parse(url: &str) -> Result<FtpUrl> {
        let bad = |why: &str| Error::Usage(format!("bad URL `{url}`: {why}"));
        let rest = url
            .strip_prefix("ftp://")
            .or_else(|| url.strip_prefix("FTP://"))
            .ok_or_else(|| bad("it must start with ftp://"))?;
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
        Ok(FtpUrl {
            user,
            password,
            target: with_default_port(host_port).map_err(|why| bad(&why))?,
            path: decode(path)?,
        })
    }
}

/// `host` -> `host:21`; `host:2121` and `[::1]:2121` unchanged; `[::1]` -> `[::1]:21`.
pub fn with_default_port(host_port: &str) -> std::result::Result<String, String> {
    if host_port.is_empty() {
        return Err("no host".to_string());
    }
    let has_port = match host_port.rfind(']') {
        Some(bracket) => host_port
            .get(bracket + 1..)
            .is_some_and(|rest| rest.starts_with(':')),
        None => host_port.contains(':'),
    };
    if has_port {
        Ok(host_port.to_string())
    } else {
        Ok(format!("{host_port}:{FTP_PORT}"))
    }
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
