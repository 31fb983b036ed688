//! Reading a lab's `--trace-json` file in a test.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::PATIENCE;

/// The events of the trace at `path`, one JSON object per line, once `done` holds for them.
/// A server writes its buffer out every 250 ms (and at exit), so the file is read again until
/// the awaited event is in it, for at most [`PATIENCE`].
pub fn events_once(
    path: &Path,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let events: Vec<serde_json::Value> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("every line is JSON"))
            .collect();
        if done(&events) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "the trace never got there: {events:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
