//! # Datagrams and set-ups in words: `--trace` lines and start-up banners
//!
//! A hex dump (what the TCP labs print) shows bytes; for this lab the interesting part is what
//! the header *says* and what the fault injector *did*, so `--trace` decodes the header into one
//! line per datagram:
//!
//! ```text
//! [TRACE] 3.104s -> 127.0.0.1:7075 DATA seq=3 ack=1 len=5 | dropped by the fault injector
//! [TRACE] 3.305s -> 127.0.0.1:7075 DATA seq=3 ack=1 len=5 RETRANSMIT | delayed 20.0 ms
//! [TRACE] 3.325s <- 127.0.0.1:7075 ACK seq=3 ack=4
//! ```
//!
//! The same goes for a program's start: the banners say which reliability scheme runs and which
//! faults are on ([`reliability_banner`], [`faults_banner`]), so nobody forgets a 30% loss they
//! asked for an hour ago.
//!
//! The functions here only build strings (and [`print_banners`] prints the two banners); the
//! endpoint and the programs decide when to print them.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use netlab_common::term;
use netlab_common::trace_json::{Described, Fields};

use crate::arq::ArqMode;
use crate::connection::Config;
use crate::fault::{Fate, FaultConfig};
use crate::wire::Datagram;

/// Which way a datagram went, as seen by this program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// Handed to the network by us.
    Out,
    /// Read from our socket.
    In,
}

impl Way {
    fn arrow(self) -> &'static str {
        match self {
            Way::Out => "->",
            Way::In => "<-",
        }
    }
}

/// `DATA seq=3 ack=1 len=5 frag=0/2 RETRANSMIT`, or why the bytes are not a datagram.
pub fn header(bytes: &[u8]) -> String {
    let datagram = match Datagram::parse(bytes) {
        Ok(datagram) => datagram,
        Err(err) => return format!("{} bytes, malformed: {err}", bytes.len()),
    };
    let header = datagram.header;
    let mut text = format!(
        "{} seq={} ack={}",
        header.kind.name(),
        header.seq.0,
        header.ack.0
    );
    if !datagram.payload.is_empty() {
        text.push_str(&format!(" len={}", datagram.payload.len()));
    }
    if header.frag_count > 1 {
        text.push_str(&format!(
            " frag={}/{}",
            header.frag_index, header.frag_count
        ));
    }
    if header.flags.retransmit() {
        text.push_str(" RETRANSMIT");
    }
    if header.flags.not_held() {
        text.push_str(" NOT_HELD");
    }
    text
}

/// The datagram's header as `--trace-json` fields (`type`, `seq`, `ack`, `len`, `frag_index`,
/// `frag_count`, `retransmit`) and the [`header`] line as its summary.
pub fn fields(bytes: &[u8]) -> Described {
    let summary = header(bytes);
    let Ok(datagram) = Datagram::parse(bytes) else {
        return Described {
            summary,
            fields: Fields::new(),
        };
    };
    let header = datagram.header;
    let mut fields = Fields::new();
    fields.insert("type".into(), header.kind.name().into());
    fields.insert("seq".into(), header.seq.0.into());
    fields.insert("ack".into(), header.ack.0.into());
    fields.insert("len".into(), datagram.payload.len().into());
    fields.insert("frag_index".into(), header.frag_index.into());
    fields.insert("frag_count".into(), header.frag_count.into());
    fields.insert("retransmit".into(), header.flags.retransmit().into());
    Described { summary, fields }
}

/// What the fault injector did, or `None` when it let the datagram through untouched.
pub fn fate(fate: &Fate) -> Option<String> {
    match fate {
        Fate::Dropped => Some("dropped by the fault injector".to_string()),
        Fate::Delivered { delay, reordered } => match (reordered, delay.is_zero()) {
            (true, _) => Some(format!("held back {} (reordered)", millis(*delay))),
            (false, true) => None,
            (false, false) => Some(format!("delayed {}", millis(*delay))),
        },
        Fate::Duplicated { delays, reordered } => Some(format!(
            "duplicated: copies after {} and {}{}",
            millis(delays[0]),
            millis(delays[1]),
            if *reordered { " (reordered)" } else { "" }
        )),
    }
}

/// One trace line (without the `[TRACE]` prefix).
pub fn line(way: Way, peer: SocketAddr, bytes: &[u8], note: Option<&str>) -> String {
    let mut text = format!("{} {peer} {}", way.arrow(), header(bytes));
    if let Some(note) = note {
        text.push_str(" | ");
        text.push_str(note);
    }
    text
}

/// `20.0 ms`.
pub fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// One line saying which faults are on, or `None` when the network is left alone. Printed at
/// start so nobody forgets they are on.
pub fn faults_banner(faults: &FaultConfig, incoming: bool) -> Option<String> {
    let mut parts = Vec::new();
    if faults.loss > 0.0 {
        parts.push(format!("loss {}", percent(faults.loss)));
    }
    if faults.duplicate > 0.0 {
        parts.push(format!("duplication {}", percent(faults.duplicate)));
    }
    if faults.reorder > 0.0 {
        parts.push(format!("reordering {}", percent(faults.reorder)));
    }
    if !faults.delay.is_zero() {
        parts.push(format!("delay {} ms", faults.delay.as_millis()));
    }
    if !faults.jitter.is_zero() {
        parts.push(format!("jitter {} ms", faults.jitter.as_millis()));
    }
    if parts.is_empty() {
        return None;
    }
    let direction = if incoming {
        "datagrams sent and received"
    } else {
        "datagrams sent"
    };
    Some(format!(
        "fault injection ON for {direction}: {}, seed {}",
        parts.join(", "),
        faults.seed
    ))
}

/// `stop-and-wait, RTO 200 ms..4000 ms, 8 retries` — what reliability a program runs with.
pub fn reliability_banner(config: &Config) -> String {
    let mut text = format!("reliability: {}", config.mode.name());
    if config.mode == ArqMode::NoRetransmit {
        text.push_str(" (plain UDP: lost messages stay lost)");
        return text;
    }
    if config.mode != ArqMode::StopAndWait {
        let _ = write!(text, ", window {}", config.window);
    }
    let _ = write!(
        text,
        ", RTO {} ms..{} ms, {} retries",
        config.rto.min.as_millis(),
        config.rto.max.as_millis(),
        config.max_retries
    );
    text
}

/// Prints the start-up banners: the reliability scheme, and the faults if any are on.
pub fn print_banners(config: &Config, faults: &FaultConfig, incoming: bool) {
    term::info(reliability_banner(config));
    if let Some(banner) = faults_banner(faults, incoming) {
        term::warn(banner);
    }
}

/// `30%` for 0.3.
pub fn percent(p: f64) -> String {
    let value = p * 100.0;
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}%")
    } else {
        format!("{value}%")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::seq::Seq;
    use crate::wire::{Flags, Header, Kind};

    fn bytes(header: Header, payload: &[u8]) -> Vec<u8> {
        Datagram { header, payload }.to_vec().unwrap()
    }

    /// The decoded header names every field a student needs to follow ARQ.
    #[test]
    fn headers_are_decoded() {
        let data = Header {
            seq: Seq(3),
            ack: Seq(1),
            flags: Flags(Flags::RETRANSMIT),
            frag_index: 1,
            frag_count: 2,
            ..Header::new(Kind::Data)
        };
        assert_eq!(
            header(&bytes(data, b"hello")),
            "DATA seq=3 ack=1 len=5 frag=1/2 RETRANSMIT"
        );
        let ack = Header {
            seq: Seq(3),
            ack: Seq(4),
            ..Header::new(Kind::Ack)
        };
        let peer: SocketAddr = "127.0.0.1:7075".parse().unwrap();
        assert_eq!(
            line(Way::In, peer, &bytes(ack, b""), None),
            "<- 127.0.0.1:7075 ACK seq=3 ack=4"
        );
        assert_eq!(
            header(b"\x01"),
            "1 bytes, malformed: datagram of 1 bytes is shorter than the 16-byte header"
        );
    }

    /// Fates read as what happened; an untouched datagram gets no note.
    #[test]
    fn fates_in_words() {
        assert_eq!(
            fate(&Fate::Dropped).unwrap(),
            "dropped by the fault injector"
        );
        let on_time = Fate::Delivered {
            delay: Duration::ZERO,
            reordered: false,
        };
        assert_eq!(fate(&on_time), None);
        let late = Fate::Delivered {
            delay: Duration::from_millis(20),
            reordered: false,
        };
        assert_eq!(fate(&late).unwrap(), "delayed 20.0 ms");
    }
}
