//! A member speaking datagram by datagram, for checks that must control every byte: send a
//! duplicate on purpose, withhold an ACK to force a retransmission, send malformed headers.
//! It is deliberately simple: it numbers what it sends itself and acknowledges the server's
//! sequenced datagrams as they come (in order; a loopback socket without injected faults does
//! not reorder).

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use netlab_common::grade::conn::{PATIENCE, silence};
use netlab_common::grade::{CheckResult, Failure, show_bytes};

use super::member::given_name;
use crate::protocol::WELCOME;
use crate::seq::Seq;
use crate::wire::{Datagram, Flags, Header, Kind};

/// A datagram from the server, decoded.
#[derive(Debug, Clone)]
pub struct Heard {
    /// Its header.
    pub header: Header,
    /// Its payload.
    pub payload: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Heard {
    /// `DATA seq=3 "hello"`: the datagram in a rubric's words.
    pub fn describe(&self) -> String {
        let h = &self.header;
        match h.kind {
            Kind::Ack => format!("ACK seq={} ack={}", h.seq.0, h.ack.0),
            kind => format!(
                "{} seq={} {}",
                kind.name(),
                h.seq.0,
                show_bytes(&self.payload)
            ),
        }
    }
}

/// A raw member.
pub struct RawMember {
    socket: UdpSocket,
    /// The sequence number of our next sequenced datagram.
    pub next_seq: u32,
    /// The server's next sequence number we expect (our cumulative ACK).
    expected: Seq,
    /// Acknowledge the server's sequenced datagrams automatically.
    pub auto_ack: bool,
}

impl RawMember {
    /// A socket connected to `server` (so only its datagrams reach us).
    pub fn open(server: SocketAddr) -> Result<Self, Failure> {
        let local = match server {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        let socket = UdpSocket::bind(local)
            .and_then(|socket| socket.connect(server).map(|()| socket))
            .map_err(|err| {
                Failure::new(format!("a UDP socket toward {server}"), err.to_string())
            })?;
        Ok(RawMember {
            socket,
            next_seq: 0,
            expected: Seq(0),
            auto_ack: true,
        })
    }

    /// Sends bytes as one datagram, whatever they are.
    pub fn send_bytes(&self, bytes: &[u8]) -> CheckResult {
        self.socket
            .send(bytes)
            .map(|_| ())
            .map_err(|err| Failure::new("to send a datagram", err.to_string()))
    }

    /// Sends a well-formed datagram.
    pub fn send(&self, header: Header, payload: &[u8]) -> CheckResult {
        let bytes = Datagram { header, payload }
            .to_vec()
            .map_err(|err| Failure::new("a datagram the grader can encode", err.to_string()))?;
        self.send_bytes(&bytes)
    }

    /// Sends the next sequenced datagram of `kind` (fragment `index` of `count`); returns its
    /// sequence number.
    pub fn send_sequenced(
        &mut self,
        kind: Kind,
        payload: &[u8],
        fragment: (u8, u8),
    ) -> Result<u32, Failure> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let header = Header {
            seq: Seq(seq),
            ack: self.expected,
            frag_index: fragment.0,
            frag_count: fragment.1,
            ..Header::new(kind)
        };
        self.send(header, payload)?;
        Ok(seq)
    }

    /// Sends DATA carrying a whole message; returns its sequence number.
    pub fn say(&mut self, text: &[u8]) -> Result<u32, Failure> {
        self.send_sequenced(Kind::Data, text, (0, 1))
    }

    /// Opens a member and joins the room as `name`; returns it and the name the server gave.
    pub fn joined(server: SocketAddr, name: &str) -> Result<(Self, String), Failure> {
        let mut member = RawMember::open(server)?;
        let given = member.join(name)?;
        Ok((member, given))
    }

    /// Sends the JOIN (sequence number 0) and waits for its ACK and for the welcome, which may
    /// come in either order. Returns the name the welcome gives us.
    pub fn join(&mut self, name: &str) -> Result<String, Failure> {
        let seq = self.send_sequenced(Kind::Join, name.as_bytes(), (0, 1))?;
        let (mut acked, mut welcomed) = (false, None);
        let deadline = Instant::now() + PATIENCE;
        while !acked || welcomed.is_none() {
            let Some(heard) = self.receive(deadline)? else {
                let missing = if acked {
                    "a DATA starting with \"*** welcome, \""
                } else {
                    "an ACK with seq=0 ack=1"
                };
                return Err(Failure::new(
                    format!("{missing} after our JOIN {name:?}"),
                    silence(PATIENCE),
                ));
            };
            let h = heard.header;
            acked |= h.kind == Kind::Ack && h.seq == Seq(seq) && h.ack == Seq(seq).next();
            if h.kind == Kind::Data
                && let Some(rest) = heard.payload.strip_prefix(WELCOME.as_bytes())
            {
                welcomed = Some(given_name(rest));
            }
        }
        Ok(welcomed.unwrap_or_default())
    }

    /// Waits for the ACK of our datagram `seq` (selective field `seq`, cumulative `ack`
    /// past it).
    pub fn expect_ack(&mut self, seq: u32, what: &str) -> CheckResult {
        let want = Seq(seq).next();
        self.expect_datagram(
            &format!("an ACK with seq={seq} ack={} for {what}", want.0),
            PATIENCE,
            |heard| {
                heard.header.kind == Kind::Ack
                    && heard.header.seq == Seq(seq)
                    && heard.header.ack == want
            },
        )
        .map(|_| ())
    }

    /// Reads datagrams until one satisfies `wanted`; others are handled (sequenced ones
    /// acknowledged if [`Self::auto_ack`], PINGs answered) and skipped. `what` names the
    /// datagram in the failure, which also says the last one skipped.
    pub fn expect_datagram(
        &mut self,
        what: &str,
        patience: Duration,
        wanted: impl Fn(&Heard) -> bool,
    ) -> Result<Heard, Failure> {
        let deadline = Instant::now() + patience;
        let mut last_skipped: Option<String> = None;
        loop {
            let got = |last: &Option<String>| match last {
                Some(last) => format!(
                    "nothing like it for {:.1} s (the last datagram was {last})",
                    patience.as_secs_f64()
                ),
                None => silence(patience),
            };
            let Some(heard) = self
                .receive(deadline)
                .map_err(|f| Failure::new(what, f.got))?
            else {
                return Err(Failure::new(what, got(&last_skipped)));
            };
            if wanted(&heard) {
                return Ok(heard);
            }
            // PINGs are answered and not worth naming: the server may send them at any time.
            if !matches!(heard.header.kind, Kind::Ping | Kind::Pong) {
                last_skipped = Some(heard.describe());
            }
        }
    }

    /// The next datagram before `deadline` (`None`: none came). Sequenced datagrams are
    /// acknowledged (if [`Self::auto_ack`]) and PINGs answered before it is returned. A
    /// datagram that does not parse fails the check: the server must only send valid ones.
    pub fn receive(&mut self, deadline: Instant) -> Result<Option<Heard>, Failure> {
        let mut buf = vec![0u8; 65_536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let _ = self.socket.set_read_timeout(Some(left));
            let len = match self.socket.recv(&mut buf) {
                Ok(len) => len,
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) if err.kind() == ErrorKind::ConnectionRefused => {
                    return Err(Failure::new(
                        "a datagram",
                        "ICMP port unreachable: nothing listens there (did the server crash?)",
                    ));
                }
                Err(err) => return Err(Failure::new("a datagram", err.to_string())),
            };
            let bytes = buf.get(..len).unwrap_or_default();
            let datagram = Datagram::parse(bytes).map_err(|err| {
                Failure::new(
                    "well-formed datagrams from the server",
                    format!("{} ({err})", show_bytes(bytes)),
                )
            })?;
            let heard = Heard {
                header: datagram.header,
                payload: datagram.payload.to_vec(),
                at: Instant::now(),
            };
            self.react(&heard)?;
            return Ok(Some(heard));
        }
    }

    /// What a minimal member does with a datagram: ACK what is sequenced, answer PINGs.
    fn react(&mut self, heard: &Heard) -> CheckResult {
        let h = heard.header;
        if h.kind == Kind::Ping {
            return self.send(
                Header {
                    seq: h.seq,
                    ..Header::new(Kind::Pong)
                },
                &[],
            );
        }
        if !h.kind.is_sequenced() || !self.auto_ack {
            return Ok(());
        }
        if h.seq == self.expected {
            self.expected = self.expected.next();
        }
        let flags = if self.expected.is_before(h.seq.next()) {
            // Early: we keep nothing that is not next in line (go-back-N receiver).
            Flags(Flags::NOT_HELD)
        } else {
            Flags::default()
        };
        self.send(
            Header {
                seq: h.seq,
                ack: self.expected,
                flags,
                ..Header::new(Kind::Ack)
            },
            &[],
        )
    }

    /// Acknowledges the server's datagram `seq` by hand (for checks that set
    /// [`Self::auto_ack`] off).
    pub fn ack(&mut self, seq: Seq) -> CheckResult {
        if seq == self.expected {
            self.expected = self.expected.next();
        }
        self.send(
            Header {
                seq,
                ack: self.expected,
                ..Header::new(Kind::Ack)
            },
            &[],
        )
    }
}
