//! # What breaks without framing: `tcp-echo bench HOST:PORT --boundaries N`
//!
//! TCP delivers a stream of bytes. The sender's `write` calls are not messages to the receiver:
//! one `read` may return the bytes of several writes, or part of one (see the module docs of
//! `netlab_common::framing`). This experiment makes that visible, and counts it.
//!
//! ## The experiment
//! 1. The client makes up N messages of varied sizes, 1 to `--size` bytes, and groups them into
//!    batches of 1 to [`MAX_BATCH`] messages. Sizes and batch lengths come from a generator with a
//!    fixed seed ([`Plan`]), so every run sends the same bytes in the same writes.
//! 2. A writer thread sends each batch, every message framed in `--framing`, with one `write`, as
//!    fast as the server takes them, then half-closes. Several messages per write means a batch
//!    arrives as one lump: "one read, one message" cannot hold, even on a quiet loopback.
//! 3. Meanwhile the reader reads the echo until the server closes, and splits it into messages
//!    the only way the framing allows:
//!    - `raw`: the bytes carry no boundaries, so each `read` (of up to 64 KiB) is taken as one
//!      message. That is all a raw receiver can do.
//!    - `line`, `length`: the bytes go through the decoder the server itself uses
//!      ([`FrameDecoder`](netlab_common::FrameDecoder)), which hands out whole frames however the reads fell.
//!
//! ## What is counted
//! The echo is a sequence of messages laid end to end: in raw framing the messages themselves; in
//! line and length framing the reply frames (`ACK m` and its framing), after the greeting, which is
//! not counted. Where one message ends and the next begins is a *boundary*. Each read returns one
//! stretch of that stream ([`ReadTally`]):
//! - a read is **merged** if a boundary falls strictly inside it: it holds bytes of more than one
//!   message;
//! - a read is **split** if it begins or ends inside a message: it holds only part of that
//!   message, whose rest came or comes in another read. A read can be both merged and split;
//! - a read that is neither holds exactly one whole message.
//!
//! **Recovered** counts the messages the receiver got back exactly as sent, in order. In raw
//! framing these are the reads that hold exactly one whole message with the right bytes; every
//! merged or split read is a message lost to the receiver, which gets a lump or a fragment
//! instead. In line and length framing they are the decoded frames equal to `ACK ` plus the
//! message of that number.
//!
//! So with line or length framing, recovered is always N, however ragged the reads were: that is
//! what framing is for. With raw framing it is less than N on any real run, and varies from run to
//! run: how reads fall depends on timing. `merged` and `split` are counted in every framing, to
//! show that the reads are just as ragged when the messages are framed; the decoder repairs them.
//!
//! Every byte is still checked against what was sent: wrong bytes, an early close or no echo for
//! [`GRACE`] count as *errors*. A message lost in raw framing is not an error: the server returned
//! every byte; it is the receiver that cannot tell where the messages were.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

use netlab_common::framing::Framing;
use netlab_common::random::SplitMix64;
use netlab_common::{Error, Result, net, term};

use crate::bench::{GRACE, what_errors_mean};
use crate::payload;

mod receiver;
pub use receiver::{ReadTally, Receiver};

/// Most messages in one write.
pub const MAX_BATCH: usize = 8;

/// Largest `--size` accepted: each write holds up to [`MAX_BATCH`] messages, built in memory.
pub const MAX_SIZE: usize = 1 << 20;

/// The generator's seed: any fixed number would do; fixed means every run sends the same messages.
const SEED: u64 = 0x5EED_F00D_CAFE_1234;

/// Bytes asked for per read: the same as the server's default `--read-size`.
const READ_SIZE: usize = 64 * 1024;

/// What to send.
#[derive(Debug, Clone)]
pub struct BoundariesConfig {
    /// `HOST:PORT` of an echo server speaking `framing`.
    pub target: String,
    /// How messages are delimited; the server must have been started with the same framing.
    pub framing: Framing,
    /// Messages to send.
    pub messages: usize,
    /// Largest message, in payload bytes; sizes vary from 1 to this.
    pub size: usize,
    /// TCP_NODELAY on our side.
    pub nodelay: bool,
    /// Print the report as one JSON object (for scripts) instead of sentences.
    pub json: bool,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct BoundariesReport {
    /// The framing spoken.
    pub framing: Framing,
    /// Messages sent.
    pub messages: usize,
    /// Largest message.
    pub size: usize,
    /// `write` calls (batches) used to send them.
    pub writes: usize,
    /// Counts of the reads of the echo.
    pub tally: ReadTally,
    /// Messages received exactly as sent, in order.
    pub recovered: usize,
    /// Wrong bytes, an early close, no echo in time.
    pub errors: u64,
    /// The first error, in words.
    pub first_error: Option<String>,
}

impl netlab_common::stats::Report for BoundariesReport {
    fn to_json(&self) -> String {
        self.to_json()
    }

    fn summary(&self) -> String {
        format!("{}; {}", self.reads_sentence(), self.verdict())
    }

    fn errors(&self) -> u64 {
        self.errors
    }
}

impl BoundariesReport {
    /// One line of JSON, for scripts; the fields in this order.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "mode": "boundaries",
            "framing": self.framing.name(),
            "overhead_bytes_per_message": payload::overhead_bytes(self.framing),
            "ack_bytes_per_message": payload::ack_bytes(self.framing),
            "messages": self.messages,
            "size": self.size,
            "writes": self.writes,
            "reads": self.tally.reads,
            "recovered": self.recovered,
            "merged": self.tally.merged,
            "split": self.tally.split,
            "errors": self.errors,
        })
        .to_string()
    }

    /// How the writes came back as reads, in words.
    pub fn reads_sentence(&self) -> String {
        format!(
            "writes {}, reads {}: merged {} (held more than one message), split {} (began or ended \
             inside a message)",
            self.writes, self.tally.reads, self.tally.merged, self.tally.split
        )
    }

    /// What the receiver made of them, in words.
    pub fn verdict(&self) -> String {
        let how = match self.framing {
            Framing::Raw => "each read taken as one message",
            Framing::Line | Framing::Length => "split by the decoder",
        };
        format!(
            "{} framing recovered {} of {} messages exactly, in order ({how}); {} errors",
            self.framing.name(),
            self.recovered,
            self.messages,
            self.errors
        )
    }
}

/// The messages of one run: their sizes, and how many go into each write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Payload bytes of each message, 1 to the largest size.
    pub sizes: Vec<usize>,
    /// Messages in each write, 1 to [`MAX_BATCH`]; they add up to `sizes.len()`.
    pub batches: Vec<usize>,
}

impl Plan {
    /// `messages` messages of 1 to `max_size` bytes, from the fixed seed.
    pub fn new(messages: usize, max_size: usize) -> Plan {
        let mut random = SplitMix64::new(SEED);
        let sizes = (0..messages)
            .map(|_| 1 + random.index(max_size.max(1)))
            .collect();
        let mut batches = Vec::new();
        let mut left = messages;
        while left > 0 {
            let batch = (1 + random.index(MAX_BATCH)).min(left);
            batches.push(batch);
            left -= batch;
        }
        Plan { sizes, batches }
    }
}

/// `tcp-echo bench --boundaries N`: says what it will send, runs the experiment, prints the
/// report. Fails (exit 1) only on errors (bad bytes, an early close, no echo in time); messages a
/// raw receiver could not recover are the lesson, not a failure.
pub fn run(config: &BoundariesConfig) -> Result<()> {
    if !config.json {
        term::info(format!(
            "boundaries: {} messages of 1 to {} bytes, 1 to {MAX_BATCH} per write, {} framing, to {}",
            config.messages,
            config.size,
            config.framing.name(),
            config.target
        ));
    }
    let report = measure(config)?;
    print_report(&report, config.json);
    match report.errors {
        0 => Ok(()),
        errors => Err(Error::Protocol(format!(
            "{errors} errors: {}",
            what_errors_mean(config.framing, report.first_error.as_deref())
        ))),
    }
}

/// Prints the report: as JSON, or as two sentences. Messages a raw receiver could not recover
/// are plain information; only errors (bad bytes) are reported as such.
fn print_report(report: &BoundariesReport, json: bool) {
    if json {
        println!("{}", report.to_json());
        return;
    }
    term::info(report.reads_sentence());
    if report.errors > 0 {
        term::error(report.verdict());
    } else if report.recovered == report.messages {
        term::success(report.verdict());
    } else {
        term::info(report.verdict());
    }
}

/// Runs the experiment described by `config` and returns what came back.
pub fn measure(config: &BoundariesConfig) -> Result<BoundariesReport> {
    if config.size > MAX_SIZE {
        return Err(Error::Usage(format!(
            "--boundaries sends messages of at most 1M (--size {} is larger)",
            config.size
        )));
    }
    let plan = Plan::new(config.messages, config.size);
    let stream = net::connect(&config.target, net::CONNECT_TIMEOUT, config.nodelay)?;
    // Every wait is bounded: a server that stops answering ends the run with an error.
    for timeout in [
        stream.set_read_timeout(Some(GRACE)),
        stream.set_write_timeout(Some(GRACE)),
    ] {
        timeout.map_err(|err| Error::io("setting socket timeouts", err))?;
    }
    let writer = stream
        .try_clone()
        .map_err(|err| Error::io("cloning the connection for the writer", err))?;
    let mut receiver = Receiver::new(config.framing, &plan.sizes);
    let sent = thread::scope(|scope| {
        // A thread the OS cannot give is an error, not a panic (as `accept::spawn_named`).
        let sending = thread::Builder::new()
            .name("boundaries-writer".to_string())
            .spawn_scoped(scope, || send_all(&writer, &plan, config.framing))
            .map_err(|err| Error::io("starting the writer thread", err))?;
        read_all(&stream, &mut receiver);
        if receiver.failed() {
            // Unblocks a writer stuck in `write` on a server that stopped reading.
            let _ = stream.shutdown(Shutdown::Both);
        }
        Ok::<_, Error>(sending.join())
    })?;
    match sent {
        Ok(Ok(())) => {}
        // After a receiving error, a sending error is only its consequence.
        Ok(Err(why)) if !receiver.failed() => receiver.fail(why),
        Ok(Err(_)) => {}
        Err(_) => receiver.fail("the writer thread panicked".to_string()),
    }
    Ok(BoundariesReport {
        framing: config.framing,
        messages: config.messages,
        size: config.size,
        writes: plan.batches.len(),
        tally: receiver.tally().clone(),
        recovered: receiver.recovered(),
        errors: receiver.errors(),
        first_error: receiver.first_error().map(str::to_string),
    })
}

/// Sends every batch of messages, framed, with one `write_all` each, then half-closes.
fn send_all(
    mut stream: &TcpStream,
    plan: &Plan,
    framing: Framing,
) -> std::result::Result<(), String> {
    let mut sizes = plan.sizes.iter();
    let mut start = 0u64;
    for &count in &plan.batches {
        let mut batch = Vec::new();
        for &size in sizes.by_ref().take(count) {
            let message = payload::cut(framing, start, size);
            start += size as u64;
            framing
                .encode(&message, &mut batch)
                .map_err(|err| err.to_string())?;
        }
        stream
            .write_all(&batch)
            .map_err(|err| format!("sending failed: {err}"))?;
    }
    stream
        .shutdown(Shutdown::Write)
        .map_err(|err| format!("half-closing failed: {err}"))
}

/// Reads the echo until the server closes, the receiver sees an error, or nothing comes for
/// [`GRACE`].
fn read_all(mut stream: &TcpStream, receiver: &mut Receiver) {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return receiver.finish(),
            Ok(got) => {
                receiver.take_read(buf.get(..got).unwrap_or_default());
                if receiver.failed() {
                    return;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return receiver.fail(format!("no echo for {}s", GRACE.as_secs()));
            }
            Err(err) => return receiver.fail(format!("receiving failed: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The same seed gives the same plan; sizes stay in range and batches add up.
    #[test]
    fn plan_is_repeatable_and_in_range() {
        let plan = Plan::new(1000, 64);
        assert_eq!(plan, Plan::new(1000, 64));
        assert!(plan.sizes.iter().all(|&size| (1..=64).contains(&size)));
        assert!(plan.sizes.contains(&1));
        assert!(plan.sizes.contains(&64));
        assert_eq!(plan.batches.iter().sum::<usize>(), 1000);
        assert!(
            plan.batches
                .iter()
                .all(|&batch| (1..=MAX_BATCH).contains(&batch))
        );
        assert!(plan.batches.iter().any(|&batch| batch > 1));
    }
}
