//! # Reading `--trace-json` files
//!
//! Each line of a trace is one JSON object in the schema of `netlab_common::trace_json`. A
//! trace is input like any other: a line that is not JSON, or lacks a field the diagram needs,
//! is skipped and counted (the count is reported), never a reason to stop.

use std::path::Path;

use netlab_common::{Error, Result};
use serde_json::Value;

/// What happened, as the schema's `event` field says: the kinds `netlab_common::trace_json`
/// writes.
pub use netlab_common::trace_json::EventKind as Kind;

/// Which way bytes went, as the schema's `dir` field says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From `local` to `peer`.
    Out,
    /// From `peer` to `local`.
    In,
}

/// One event of one trace file.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Wall clock, µs since the Unix epoch.
    pub time_us: u64,
    /// What happened.
    pub kind: Kind,
    /// Which way, for bytes.
    pub dir: Option<Dir>,
    /// `true` for datagrams (pair sends and receives one to one), `false` for a byte stream.
    pub datagrams: bool,
    /// This end's address (`?` when the trace did not know it).
    pub local: String,
    /// The other end's address (`?` when none).
    pub peer: String,
    /// Bytes moved (0 for events that move none).
    pub bytes: u64,
    /// A datagram's hash, to pair its send with its receive.
    pub hash: Option<String>,
    /// One line for a human.
    pub summary: String,
    /// A resent datagram.
    pub retransmit: bool,
    /// What the fault injector did (udp-chat's `fields.fault`).
    pub fault: Option<String>,
}

impl Event {
    /// Is this bytes leaving `local` (a send, or a send dropped before it left)?
    pub fn is_outgoing(&self) -> bool {
        matches!(self.kind, Kind::Send | Kind::Drop) && self.dir == Some(Dir::Out)
    }

    /// Is this bytes arriving at `local` (a receive, or an arrival dropped on the way in)?
    pub fn is_incoming(&self) -> bool {
        matches!(self.kind, Kind::Receive | Kind::Drop) && self.dir == Some(Dir::In)
    }
}

/// The events of one file, and how many lines were skipped.
#[derive(Debug, Default)]
pub struct Trace {
    /// Events in file order.
    pub events: Vec<Event>,
    /// Lines that were not events.
    pub skipped: usize,
}

/// Reads the trace at `path`.
pub fn read(path: &Path) -> Result<Trace> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::Usage(format!("cannot read {}: {err}", path.display())))?;
    Ok(parse(&text))
}

/// Parses a trace's text, one event per non-empty line.
pub fn parse(text: &str) -> Trace {
    let mut trace = Trace::default();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        match serde_json::from_str::<Value>(line)
            .ok()
            .as_ref()
            .and_then(event)
        {
            Some(event) => trace.events.push(event),
            None => trace.skipped += 1,
        }
    }
    trace
}

/// One line's event, or `None` when a needed field is missing or malformed.
fn event(line: &Value) -> Option<Event> {
    let kind = Kind::from_name(line.get("event")?.as_str()?)?;
    let dir = match line.get("dir").and_then(Value::as_str) {
        Some("out") => Some(Dir::Out),
        Some("in") => Some(Dir::In),
        _ => None,
    };
    let address = |name: &str| {
        line.get(name)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    Some(Event {
        time_us: line.get("time_us")?.as_u64()?,
        kind,
        dir,
        datagrams: line.get("transport").and_then(Value::as_str) == Some("udp"),
        local: address("local"),
        peer: address("peer"),
        bytes: line.get("bytes").and_then(Value::as_u64).unwrap_or(0),
        hash: line.get("hash").and_then(Value::as_str).map(str::to_string),
        summary: line
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        retransmit: line.get("retransmit").and_then(Value::as_bool) == Some(true),
        fault: line
            .get("fields")
            .and_then(|fields| fields.get("fault"))
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Garbage lines and lines without a time are skipped and counted; good ones are kept.
    #[test]
    fn bad_lines_are_skipped() {
        let trace = parse(
            "not json\n\
             {\"event\":\"send\"}\n\
             {\"time_us\":5,\"event\":\"send\",\"dir\":\"out\",\"transport\":\"udp\",\
              \"local\":\"a\",\"peer\":\"b\",\"bytes\":3,\"summary\":\"x\",\"fields\":{}}\n",
        );
        assert_eq!(trace.skipped, 2);
        assert_eq!(trace.events.len(), 1);
        assert!(trace.events[0].is_outgoing());
        assert!(trace.events[0].datagrams);
    }
}
