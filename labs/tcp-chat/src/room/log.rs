//! # `--session-log FILE`: one JSON line per connect, disconnect and rejection
//!
//! A log that programs can read is a log with one JSON object per line ("JSON Lines"): `jq`,
//! Python or a spreadsheet import can take it as it is. Each line is built in full and written with
//! one `write` call under a lock, so lines from different client threads never mix.
//!
//! ```text
//! {"time":1763787000,"event":"connect","addr":"127.0.0.1:50312","name":"Client01"}
//! {"time":1763787009,"event":"disconnect","addr":"127.0.0.1:50312","name":"Ann","reason":"exit","seconds":9,"messages":2}
//! {"time":1763787010,"event":"reject","addr":"127.0.0.1:50340","reason":"room full"}
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// An append-only JSON Lines file, or nothing when no `--session-log` was given.
#[derive(Debug, Default)]
pub struct SessionLog {
    file: Option<Mutex<File>>,
}

/// One field value.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (escaped on output).
    Text(String),
    /// A number.
    Number(u64),
}

impl SessionLog {
    /// Opens (creating or appending to) `path`, or a log that records nothing for `None`.
    pub fn open(path: Option<&Path>) -> io::Result<SessionLog> {
        let file = match path {
            Some(path) => Some(Mutex::new(
                OpenOptions::new().create(true).append(true).open(path)?,
            )),
            None => None,
        };
        Ok(SessionLog { file })
    }

    /// Records `event` for `addr` with extra `fields`. A failed write is reported once on stderr
    /// and does not disturb the room.
    pub fn record(&self, event: &str, addr: SocketAddr, fields: &[(&str, Value)]) {
        let Some(file) = &self.file else { return };
        let line = json_line(now(), event, addr, fields);
        let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = file.write_all(line.as_bytes()) {
            netlab_common::term::warn(format!("cannot write the session log: {err}"));
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// One JSON object and a newline.
pub fn json_line(time: u64, event: &str, addr: SocketAddr, fields: &[(&str, Value)]) -> String {
    let mut line = format!(
        "{{\"time\":{time},\"event\":{},\"addr\":{}",
        json_string(event),
        json_string(&addr.to_string())
    );
    for (key, value) in fields {
        line.push(',');
        line.push_str(&json_string(key));
        line.push(':');
        match value {
            Value::Text(text) => line.push_str(&json_string(text)),
            Value::Number(number) => line.push_str(&number.to_string()),
        }
    }
    line.push_str("}\n");
    line
}

/// A JSON string literal (RFC 8259, section 7): quotes, backslashes and control characters escaped.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            character if u32::from(character) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(character)));
            }
            character => out.push(character),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout of a line, and escaping of anything a peer could put in a field.
    #[test]
    fn lines() {
        let addr: SocketAddr = ([127, 0, 0, 1], 5).into();
        assert_eq!(
            json_line(
                7,
                "connect",
                addr,
                &[("name", Value::Text("Client01".into()))]
            ),
            "{\"time\":7,\"event\":\"connect\",\"addr\":\"127.0.0.1:5\",\"name\":\"Client01\"}\n"
        );
        assert_eq!(json_string("a\"b\\c\n\x1b"), "\"a\\\"b\\\\c\\n\\u001b\"");
        assert_eq!(
            json_line(1, "disconnect", addr, &[("messages", Value::Number(3))]),
            "{\"time\":1,\"event\":\"disconnect\",\"addr\":\"127.0.0.1:5\",\"messages\":3}\n"
        );
    }
}
