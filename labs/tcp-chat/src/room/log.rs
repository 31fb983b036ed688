//! # `--session-log FILE`: one JSON line per connect, disconnect and rejection
//!
//! A log that programs can read is a log with one JSON object per line ("JSON Lines"): `jq`,
//! Python or a spreadsheet import can take it as it is. Each line is built in full and written with
//! one `write` call under a lock, so lines from different client threads never mix.
//!
//! Names and reasons in a line come from the network (a member picks its name), so the line is
//! written by `serde_json`, the one JSON writer every netlab program uses: quotes, backslashes
//! and control characters are escaped as RFC 8259 section 7 says, the same way the grader's
//! reports escape them. Fields keep the order they are given in (`time`, `event`, `addr`, then
//! the event's own), so the log reads the same way line after line.
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

use serde_json::{Map, Value};

/// An append-only JSON Lines file, or nothing when no `--session-log` was given.
#[derive(Debug, Default)]
pub struct SessionLog {
    file: Option<Mutex<File>>,
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

/// One JSON object and a newline: `time`, `event`, `addr`, then `fields` in order.
pub fn json_line(time: u64, event: &str, addr: SocketAddr, fields: &[(&str, Value)]) -> String {
    let mut object = Map::new();
    object.insert("time".into(), time.into());
    object.insert("event".into(), event.into());
    object.insert("addr".into(), addr.to_string().into());
    for (key, value) in fields {
        object.insert((*key).to_string(), value.clone());
    }
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The layout of a line, and escaping of anything a peer could put in a field: the line
    /// decodes back to the very text that went in.
    #[test]
    fn lines() {
        let addr: SocketAddr = ([127, 0, 0, 1], 5).into();
        assert_eq!(
            json_line(7, "connect", addr, &[("name", "Client01".into())]),
            "{\"time\":7,\"event\":\"connect\",\"addr\":\"127.0.0.1:5\",\"name\":\"Client01\"}\n"
        );
        let hostile = "a\"b\\c\n\x1b";
        let line = json_line(1, "connect", addr, &[("name", hostile.into())]);
        assert!(
            line.ends_with(",\"name\":\"a\\\"b\\\\c\\n\\u001b\"}\n"),
            "{line}"
        );
        let decoded: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(decoded["name"], hostile);
        assert_eq!(
            json_line(1, "disconnect", addr, &[("messages", 3.into())]),
            "{\"time\":1,\"event\":\"disconnect\",\"addr\":\"127.0.0.1:5\",\"messages\":3}\n"
        );
    }
}
