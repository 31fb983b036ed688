//! # Grading a server you did not write: checks, a rubric, a verdict
//!
//! Each lab's `grade` subcommand connects to a server at `HOST:PORT`, written by a student in
//! any language, and runs a list of [`Check`]s against the protocol documented in
//! `docs/protocols/`. A check is a small adversarial conversation: frames cut into 1-byte
//! writes, several frames in one write, a client that half-closes, one that never reads, one
//! that vanishes mid-message. It passes, or fails with one line a student can act on: what was
//! expected and what arrived.
//!
//! Two rules make the grader safe to point at broken code:
//! - **Every check has a deadline.** A server that never answers must fail the check, not hang
//!   the grader. Each check runs on its own thread; when its time is up the rubric records
//!   "timed out" and moves on (the thread is left to finish on its own: checks set socket
//!   timeouts too, so it does).
//! - **Checks are independent.** Each opens its own connections, so one failure does not make
//!   the next check fail for the wrong reason. (A server that crashed does make later checks
//!   fail: that is the truth about it, and the first failing check says where it happened.)
//!
//! The verdict is the exit status: 0 only when every *required* check passed, so a course's
//! scripts can loop over submissions. `--json` prints the rubric for automatic grading.

use std::fmt::Write as _;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::term;

pub mod class;
pub mod conn;
pub mod flood;
pub mod report;
pub mod server;

/// Why a check failed: what the protocol expects and what the server did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What a correct server does here.
    pub expected: String,
    /// What this server did.
    pub got: String,
}

impl Failure {
    /// A failure with both halves of the reason.
    pub fn new(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Failure {
            expected: expected.into(),
            got: got.into(),
        }
    }
}

/// What a check returns.
pub type CheckResult = Result<(), Failure>;

/// One check of the rubric.
pub struct Check {
    /// Short name, as shown in the table (`half-close`).
    pub name: &'static str,
    /// Points it is worth.
    pub points: u32,
    /// Whether the verdict needs it (the others only add points).
    pub required: bool,
    /// The concept it tests, for the rubric and docs/grading.md.
    pub concept: &'static str,
    /// Time it gets on top of the rubric's deadline (a check that floods until the server
    /// stops reading, see [`flood`], needs the time the flood may take).
    pub extra_time: Duration,
    /// The conversation.
    pub run: Box<dyn FnOnce() -> CheckResult + Send>,
}

impl Check {
    /// A required check.
    pub fn required(
        name: &'static str,
        points: u32,
        concept: &'static str,
        run: impl FnOnce() -> CheckResult + Send + 'static,
    ) -> Self {
        Check {
            name,
            points,
            required: true,
            concept,
            extra_time: Duration::ZERO,
            run: Box::new(run),
        }
    }

    /// The same check with `extra` time on top of the rubric's deadline.
    pub fn with_extra_time(self, extra: Duration) -> Self {
        Check {
            extra_time: extra,
            ..self
        }
    }

    /// A "client never reads" check: its time is the rubric's deadline plus the longest a
    /// flood may take ([`flood::FLOOD_TIME`]).
    pub fn flooding(self) -> Self {
        self.with_extra_time(flood::FLOOD_TIME)
    }

    /// An optional check: points, but the verdict does not need it.
    pub fn optional(
        name: &'static str,
        points: u32,
        concept: &'static str,
        run: impl FnOnce() -> CheckResult + Send + 'static,
    ) -> Self {
        Check {
            required: false,
            ..Check::required(name, points, concept, run)
        }
    }
}

/// How one check went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The check's name.
    pub name: &'static str,
    /// Points it is worth.
    pub points: u32,
    /// Whether the verdict needs it.
    pub required: bool,
    /// What it tests.
    pub concept: &'static str,
    /// `None` when it passed.
    pub failure: Option<Failure>,
    /// How long it took.
    pub took: Duration,
}

impl Outcome {
    /// Points earned: all or nothing.
    pub fn earned(&self) -> u32 {
        if self.failure.is_none() {
            self.points
        } else {
            0
        }
    }
}

/// The whole rubric's result.
#[derive(Debug, Clone)]
pub struct Rubric {
    /// What was graded (`tcp-echo raw framing at 127.0.0.1:7007`).
    pub subject: String,
    /// One outcome per check, in order.
    pub outcomes: Vec<Outcome>,
}

impl Rubric {
    /// Runs `checks` one after another, each with `deadline`.
    pub fn run(subject: impl Into<String>, checks: Vec<Check>, deadline: Duration) -> Self {
        let outcomes = checks
            .into_iter()
            .map(|check| run_one(check, deadline))
            .collect();
        Rubric {
            subject: subject.into(),
            outcomes,
        }
    }

    /// Runs more checks after those already run, each with its own `deadline`: for a check
    /// that waits on purpose (for a server's idle timeout), or one that must come last.
    pub fn run_more(&mut self, checks: Vec<Check>, deadline: Duration) {
        self.outcomes
            .extend(checks.into_iter().map(|check| run_one(check, deadline)));
    }

    /// Every required check passed.
    pub fn passed(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| !o.required || o.failure.is_none())
    }

    /// Points earned and possible.
    pub fn score(&self) -> (u32, u32) {
        let earned = self.outcomes.iter().map(Outcome::earned).sum();
        let possible = self.outcomes.iter().map(|o| o.points).sum();
        (earned, possible)
    }

    /// The rubric as a Markdown table with a total.
    pub fn table(&self) -> String {
        let mut out = format!("Grading {}\n\n", self.subject);
        out += "| check | points | result | reason |\n|---|---|---|---|\n";
        for o in &self.outcomes {
            let result = match (&o.failure, o.required) {
                (None, _) => "pass",
                (Some(_), true) => "FAIL",
                (Some(_), false) => "fail (optional)",
            };
            let reason = o.failure.as_ref().map_or(String::new(), |f| {
                format!("expected {}; got {}", f.expected, f.got)
            });
            let _ = writeln!(
                out,
                "| {} | {}/{} | {result} | {} |",
                o.name,
                o.earned(),
                o.points,
                term::sanitize(&reason).replace('|', "\\|")
            );
        }
        let (earned, possible) = self.score();
        let verdict = if self.passed() {
            "every required check passed"
        } else {
            "required checks failed"
        };
        let _ = write!(out, "\ntotal: {earned}/{possible} points; {verdict}");
        out
    }

    /// Prints the rubric (a table, or JSON for scripts) and turns it into the command's verdict:
    /// `Ok` only when every required check passed, so the exit status says it.
    pub fn report(&self, json: bool) -> Result<(), crate::Error> {
        if json {
            println!("{}", self.json());
        } else {
            println!("{}", self.table());
        }
        if self.passed() {
            return Ok(());
        }
        let (earned, possible) = self.score();
        Err(crate::Error::Failed(format!(
            "{earned}/{possible} points: required checks failed (see the reasons above)"
        )))
    }

    /// The rubric as one JSON object.
    pub fn json(&self) -> String {
        let (earned, possible) = self.score();
        let checks: Vec<serde_json::Value> = self
            .outcomes
            .iter()
            .map(|o| {
                let (expected, got) = o
                    .failure
                    .as_ref()
                    .map_or((String::new(), String::new()), |f| {
                        (f.expected.clone(), f.got.clone())
                    });
                serde_json::json!({
                    "name": o.name,
                    "points": o.points,
                    "earned": o.earned(),
                    "required": o.required,
                    "passed": o.failure.is_none(),
                    "expected": expected,
                    "got": got,
                    "concept": o.concept,
                    "ms": u64::try_from(o.took.as_millis()).unwrap_or(u64::MAX),
                })
            })
            .collect();
        serde_json::json!({
            "subject": self.subject,
            "earned": earned,
            "possible": possible,
            "passed": self.passed(),
            "checks": checks,
        })
        .to_string()
    }
}

/// Runs one check on its own thread; past `deadline` it fails as timed out.
fn run_one(check: Check, deadline: Duration) -> Outcome {
    let deadline = deadline.saturating_add(check.extra_time);
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let run = check.run;
    let spawned = thread::Builder::new()
        .name(format!("check {}", check.name))
        .spawn(move || {
            let _ = tx.send(run());
        });
    let result = match spawned {
        Err(err) => Err(Failure::new(
            "the grader to start the check",
            err.to_string(),
        )),
        Ok(_) => match rx.recv_timeout(deadline) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Failure::new(
                format!("an answer within {} s", deadline.as_secs_f64()),
                "nothing: the check timed out (is the server stuck?)",
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::new(
                "the check to finish",
                "the check itself crashed (a grader bug: please report it)",
            )),
        },
    };
    Outcome {
        name: check.name,
        points: check.points,
        required: check.required,
        concept: check.concept,
        failure: result.err(),
        took: started.elapsed(),
    }
}

/// Runs `exchange` with every client at the same moment, each on its own thread, and keeps
/// every connection open until all have finished, so a server that serves one client at a time
/// cannot get through them one by one. Returns the clients, still open, for the caller to close
/// as its protocol likes, or the first failure, naming the client in `what`'s words
/// (`"client 3: ..."`, counting from 0 as the clients were opened).
pub fn all_at_once<C, F>(
    what: &'static str,
    clients: Vec<C>,
    exchange: F,
) -> Result<Vec<C>, Failure>
where
    C: Send + 'static,
    F: Fn(usize, &mut C) -> CheckResult + Send + Sync + 'static,
{
    let exchange = std::sync::Arc::new(exchange);
    let workers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            let exchange = std::sync::Arc::clone(&exchange);
            thread::spawn(move || {
                let result = exchange(index, &mut client);
                // Handed back, not dropped: everyone stays until all have had their answer.
                (result, client)
            })
        })
        .collect();
    let mut first_failure = None;
    let mut still_open = Vec::new();
    for (index, worker) in workers.into_iter().enumerate() {
        let failure = match worker.join() {
            Ok((result, client)) => {
                still_open.push(client);
                result.err()
            }
            Err(_) => Some(Failure::new(format!("a {what} thread"), "it panicked")),
        };
        if let (Some(failure), None) = (failure, &first_failure) {
            first_failure = Some(Failure::new(
                failure.expected,
                format!("{what} {index}: {}", failure.got),
            ));
        }
    }
    match first_failure {
        Some(failure) => Err(failure),
        None => Ok(still_open),
    }
}

/// Bytes shown in a reason: printable ASCII as is, the rest escaped, long runs shortened, so a
/// reason stays one readable line whatever the server sent.
pub fn show_bytes(bytes: &[u8]) -> String {
    const SHOWN: usize = 48;
    let mut out = String::from("\"");
    for &b in bytes.iter().take(SHOWN) {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    if bytes.len() > SHOWN {
        let _ = write!(out, "... ({} bytes)", bytes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rubric() -> Rubric {
        Rubric::run(
            "a test server",
            vec![
                Check::required("passes", 2, "nothing", || Ok(())),
                Check::required("fails", 3, "framing", || {
                    Err(Failure::new("\"ab\"", "\"a\""))
                }),
                Check::optional("hangs", 1, "timeouts", || {
                    thread::sleep(Duration::from_secs(5));
                    Ok(())
                }),
            ],
            Duration::from_millis(200),
        )
    }

    /// Points, verdict, and a hung check failing on time instead of hanging the rubric.
    #[test]
    fn scores_and_deadlines() {
        let started = Instant::now();
        let rubric = rubric();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(rubric.score(), (2, 6));
        assert!(!rubric.passed());
        let hung = &rubric.outcomes[2];
        assert!(
            hung.failure
                .as_ref()
                .is_some_and(|f| f.got.contains("timed out"))
        );
        let table = rubric.table();
        assert!(
            table.contains("| fails | 0/3 | FAIL | expected \"ab\"; got \"a\" |"),
            "{table}"
        );
        assert!(
            table.ends_with("total: 2/6 points; required checks failed"),
            "{table}"
        );
    }

    /// The JSON report is valid JSON, fields in the order written, text escaped.
    #[test]
    fn json_is_escaped() {
        let json = rubric().json();
        assert!(json.starts_with(
            "{\"subject\":\"a test server\",\"earned\":2,\"possible\":6,\"passed\":false,"
        ));
        assert!(json.contains("\"expected\":\"\\\"ab\\\"\""), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["checks"][1]["expected"], "\"ab\"", "{json}");
    }

    /// Every exchange runs at the same moment (a barrier none could pass alone), the clients
    /// come back on success, and a failure names its client.
    #[test]
    fn all_at_once_runs_together_and_names_the_failing_client() {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
        let clients = all_at_once("client", vec![10, 20, 30], move |_, client| {
            barrier.wait();
            *client += 1;
            Ok(())
        });
        assert_eq!(clients, Ok(vec![11, 21, 31]));
        let failed = all_at_once("game", vec![(); 3], |index, ()| {
            if index == 2 {
                Err(Failure::new("a move", "nothing"))
            } else {
                Ok(())
            }
        });
        assert_eq!(failed, Err(Failure::new("a move", "game 2: nothing")));
    }

    #[test]
    fn bytes_are_shown_on_one_line() {
        assert_eq!(show_bytes(b"hi\n\x00"), "\"hi\\n\\x00\"");
        assert!(show_bytes(&[b'a'; 100]).ends_with("... (100 bytes)"));
    }
}
