//! # From events to a ladder: lifelines, arrows, marks
//!
//! The traces of both ends are merged on their wall-clock times (both programs read the same
//! clock when they run on one machine). Every address that sends or receives becomes a
//! **lifeline**, in the order it first appears. Then each message becomes one **arrow**, from
//! the event where it left its sender to the event where it reached its receiver:
//!
//! - **Datagrams** (udp-chat) are paired by content: a receive belongs to the earliest send on
//!   the same (sender, receiver) pair with the same hash of the bytes that is not paired yet.
//!   A datagram's bytes include its sequence number and its RETRANSMIT flag, so a
//!   retransmission is a different datagram from the original; two byte-identical datagrams
//!   (two ACKs of the same thing) are paired in order, the first send with the first receive.
//!   A second receive of an already received datagram (the fault injector duplicated it) is
//!   drawn as a second arrow from the same send.
//! - **Byte streams** (the TCP labs) do not keep writes apart: one read may hold two writes,
//!   or half of one. Each direction of a connection is numbered by byte (the position of a
//!   chunk is the sum of the sizes before it, as TCP's sequence numbers do), and a write's
//!   arrow ends at the read that delivered its *last* byte: the moment the receiver had all of
//!   it.
//!
//! A send with no receive is drawn as **lost** (ending in a cross) when the receiver's trace is
//! there to say it never arrived; when only one end was traced, the arrow just reaches the
//! other lifeline. A drop recorded by the sender (udp-chat's fault injector) is lost by
//! definition. Events that move no bytes (a retransmission timeout, a connection opened or
//! closed) are **marks** on their lifeline.

use std::collections::{BTreeMap, BTreeSet};

use crate::events::{Event, Kind};

/// Where an arrow ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// At the receiver, who got it.
    Arrived,
    /// Lost: the fault injector dropped it before it left the sender (or the socket buffer
    /// was full), or the receiver's trace has no receive for it.
    LostOnTheWay,
    /// Lost on arrival: the receiver's own fault injector dropped it.
    LostAtReceiver,
    /// The receiver was not traced (or its trace had ended): where it ended is unknown.
    Untraced,
}

/// One message.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    /// The sender's lifeline.
    pub from: usize,
    /// The receiver's lifeline.
    pub to: usize,
    /// When it left (µs since the diagram's start), if the sender was traced.
    pub sent_at: Option<u64>,
    /// When it arrived or was dropped on arrival, if the receiver was traced.
    pub arrived_at: Option<u64>,
    /// What it was (the sender's summary when there is one).
    pub label: String,
    /// How it ended.
    pub end: End,
    /// A resent datagram.
    pub retransmit: bool,
    /// A second copy of a datagram (made by the fault injector).
    pub duplicate: bool,
    /// What the fault injector did, if anything.
    pub fault: Option<String>,
}

impl Arrow {
    /// When the arrow starts on the page: when it was sent, or when it arrived if only the
    /// receiver was traced.
    pub fn starts_at(&self) -> u64 {
        self.sent_at.or(self.arrived_at).unwrap_or(0)
    }

    /// Lost, one way or the other.
    pub fn is_lost(&self) -> bool {
        matches!(self.end, End::LostOnTheWay | End::LostAtReceiver)
    }
}

/// What a mark shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A timer expired (a retransmission timeout).
    Timer,
    /// A connection opened.
    Open,
    /// A connection closed.
    Close,
}

/// An event on one lifeline that moved no bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// Whose lifeline.
    pub lifeline: usize,
    /// When (µs since the diagram's start).
    pub at: u64,
    /// What happened.
    pub kind: MarkKind,
    /// In words.
    pub label: String,
}

/// One row of the diagram, in time order.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A message.
    Arrow(Arrow),
    /// A timer or connection event.
    Mark(Mark),
}

impl Step {
    /// When the step starts (µs since the diagram's start).
    pub fn at(&self) -> u64 {
        match self {
            Step::Arrow(arrow) => arrow.starts_at(),
            Step::Mark(mark) => mark.at,
        }
    }
}

/// A whole diagram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ladder {
    /// The lifelines' addresses, left to right.
    pub lifelines: Vec<String>,
    /// Wall-clock time of the first event (µs since the Unix epoch); times are relative to it.
    pub start_us: u64,
    /// Arrows and marks, in time order.
    pub steps: Vec<Step>,
}

impl Ladder {
    /// The arrows, in order.
    pub fn arrows(&self) -> impl Iterator<Item = &Arrow> {
        self.steps.iter().filter_map(|step| match step {
            Step::Arrow(arrow) => Some(arrow),
            Step::Mark(_) => None,
        })
    }
}

/// Builds the ladder of the events of several traces (each trace's events in file order).
pub fn build(traces: Vec<Vec<Event>>) -> Ladder {
    let mut events: Vec<Event> = traces.into_iter().flatten().collect();
    events.sort_by_key(|event| event.time_us);
    resolve_unspecified(&mut events);
    let Some(start_us) = events.first().map(|event| event.time_us) else {
        return Ladder::default();
    };
    let lifelines = lifelines(&events);
    let column = |address: &str| lifelines.iter().position(|line| line == address);
    // Each traced address and the time of its trace's last event: a send after that cannot be
    // called lost (the receiver had stopped, or stopped tracing).
    let mut traced_until: BTreeMap<&str, u64> = BTreeMap::new();
    for event in &events {
        traced_until.insert(event.local.as_str(), event.time_us);
    }
    let pairing = pair(&events);
    let since = |event: &Event| event.time_us.saturating_sub(start_us);

    let mut steps = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let (Some(local), Some(peer)) = (column(&event.local), column(&event.peer)) else {
            continue;
        };
        if event.is_outgoing() {
            let receives = pairing.get(&index).map(Vec::as_slice).unwrap_or_default();
            for (copy, &receive) in receives.iter().enumerate() {
                let arrival = &events[receive];
                steps.push(Step::Arrow(Arrow {
                    arrived_at: Some(since(arrival)),
                    end: if arrival.kind == Kind::Drop {
                        End::LostAtReceiver
                    } else {
                        End::Arrived
                    },
                    duplicate: copy > 0,
                    fault: arrival.fault.clone().or_else(|| event.fault.clone()),
                    ..arrow(event, local, peer, Some(since(event)))
                }));
            }
            if receives.is_empty() {
                let receiver_tracing = traced_until
                    .get(event.peer.as_str())
                    .is_some_and(|&until| until >= event.time_us);
                let end = if event.kind == Kind::Drop || receiver_tracing {
                    End::LostOnTheWay
                } else {
                    End::Untraced
                };
                steps.push(Step::Arrow(Arrow {
                    end,
                    ..arrow(event, local, peer, Some(since(event)))
                }));
            }
        } else if let Some(kind) = mark_kind(event.kind) {
            let label = if event.summary.is_empty() {
                format!("{:?}", event.kind).to_lowercase()
            } else {
                event.summary.clone()
            };
            steps.push(Step::Mark(Mark {
                lifeline: local,
                at: since(event),
                kind,
                label,
            }));
        }
    }
    // Receives whose send is not in any trace: drawn from the sender's lifeline as they came.
    for (index, event) in events.iter().enumerate() {
        let (Some(local), Some(peer)) = (column(&event.local), column(&event.peer)) else {
            continue;
        };
        if event.is_incoming() && !pairing.covered(index) {
            steps.push(Step::Arrow(Arrow {
                arrived_at: Some(since(event)),
                end: if event.kind == Kind::Drop {
                    End::LostAtReceiver
                } else {
                    End::Arrived
                },
                ..arrow(event, peer, local, None)
            }));
        }
    }
    steps.sort_by_key(Step::at);
    Ladder {
        lifelines,
        start_us,
        steps,
    }
}

/// An arrow from `from` to `to` for `event`, arriving nowhere yet.
fn arrow(event: &Event, from: usize, to: usize, sent_at: Option<u64>) -> Arrow {
    let label = if event.summary.is_empty() {
        format!("{} bytes", event.bytes)
    } else {
        event.summary.clone()
    };
    Arrow {
        from,
        to,
        sent_at,
        arrived_at: None,
        label,
        end: End::Arrived,
        retransmit: event.retransmit,
        duplicate: false,
        fault: event.fault.clone(),
    }
}

fn mark_kind(kind: Kind) -> Option<MarkKind> {
    match kind {
        Kind::Timer => Some(MarkKind::Timer),
        Kind::Open => Some(MarkKind::Open),
        Kind::Close => Some(MarkKind::Close),
        Kind::Send | Kind::Receive | Kind::Drop => None,
    }
}

/// Lifelines in the order their addresses first appear (this end first, then its peer).
fn lifelines(events: &[Event]) -> Vec<String> {
    let mut lifelines: Vec<String> = Vec::new();
    for event in events {
        for address in [&event.local, &event.peer] {
            if address != "?" && !lifelines.contains(address) {
                lifelines.push(address.clone());
            }
        }
    }
    lifelines
}

/// A server bound to `0.0.0.0:7075` records that as its address, while its clients record
/// `127.0.0.1:7075`: the same lifeline. An unspecified local address takes the address peers
/// used for that port.
fn resolve_unspecified(events: &mut [Event]) {
    let used: Vec<String> = events.iter().map(|event| event.peer.clone()).collect();
    for event in events.iter_mut() {
        let Some(port) = unspecified_port(&event.local) else {
            continue;
        };
        if let Some(address) = used
            .iter()
            .find(|address| unspecified_port(address).is_none() && port_of(address) == Some(port))
        {
            event.local = address.clone();
        }
    }
}

fn unspecified_port(address: &str) -> Option<&str> {
    address
        .strip_prefix("0.0.0.0:")
        .or_else(|| address.strip_prefix("[::]:"))
}

fn port_of(address: &str) -> Option<&str> {
    address.rsplit_once(':').map(|(_, port)| port)
}

/// Which incoming events each outgoing event reached (by index into the sorted events), and
/// which incoming events hold bytes of some send.
#[derive(Debug, Default)]
struct Pairing {
    receives_of: BTreeMap<usize, Vec<usize>>,
    covered: BTreeSet<usize>,
}

impl Pairing {
    fn get(&self, send: &usize) -> Option<&Vec<usize>> {
        self.receives_of.get(send)
    }

    fn covered(&self, receive: usize) -> bool {
        self.covered.contains(&receive)
    }
}

/// Pairs sends with receives, per (sender, receiver) address pair (see the module docs).
fn pair(events: &[Event]) -> Pairing {
    type Flow = (String, String);
    let mut outgoing: BTreeMap<Flow, Vec<usize>> = BTreeMap::new();
    let mut incoming: BTreeMap<Flow, Vec<usize>> = BTreeMap::new();
    for (index, event) in events.iter().enumerate() {
        if event.is_outgoing() {
            let flow = (event.local.clone(), event.peer.clone());
            outgoing.entry(flow).or_default().push(index);
        } else if event.is_incoming() {
            let flow = (event.peer.clone(), event.local.clone());
            incoming.entry(flow).or_default().push(index);
        }
    }
    let mut pairing = Pairing::default();
    for (flow, receives) in incoming {
        let sends = outgoing.remove(&flow).unwrap_or_default();
        let datagrams = receives
            .first()
            .is_some_and(|&first| events[first].datagrams);
        if datagrams {
            pair_datagrams(events, &sends, &receives, &mut pairing);
        } else {
            pair_stream(events, &sends, &receives, &mut pairing);
        }
    }
    pairing
}

/// Datagrams: equal hash, first unpaired send first; a receive of a datagram already received
/// is a duplicate of the latest such send.
fn pair_datagrams(events: &[Event], sends: &[usize], receives: &[usize], pairing: &mut Pairing) {
    let mut paired = BTreeSet::new();
    for &receive in receives {
        let hash = &events[receive].hash;
        let same =
            |send: &&usize| events[**send].kind == Kind::Send && &events[**send].hash == hash;
        let send = sends
            .iter()
            .filter(same)
            .find(|send| !paired.contains(*send))
            .or_else(|| {
                sends
                    .iter()
                    .filter(same)
                    .rfind(|&&send| events[send].time_us <= events[receive].time_us)
            });
        if let Some(&send) = send {
            paired.insert(send);
            pairing.receives_of.entry(send).or_default().push(receive);
            pairing.covered.insert(receive);
        }
    }
}

/// Byte streams: a send's arrow ends at the receive holding its last byte.
fn pair_stream(events: &[Event], sends: &[usize], receives: &[usize], pairing: &mut Pairing) {
    let mut received_to = Vec::with_capacity(receives.len());
    let mut total = 0u64;
    for &receive in receives {
        total = total.saturating_add(events[receive].bytes);
        received_to.push(total);
        pairing.covered.insert(receive);
    }
    let mut sent_to = 0u64;
    for &send in sends
        .iter()
        .filter(|&&send| events[send].kind == Kind::Send)
    {
        if events[send].bytes == 0 {
            continue;
        }
        sent_to = sent_to.saturating_add(events[send].bytes);
        if let Some(at) = received_to.iter().position(|&end| end >= sent_to) {
            pairing
                .receives_of
                .entry(send)
                .or_default()
                .push(receives[at]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Dir;

    fn event(time_us: u64, kind: Kind, dir: Option<Dir>, local: &str, peer: &str) -> Event {
        Event {
            time_us,
            kind,
            dir,
            datagrams: true,
            local: local.into(),
            peer: peer.into(),
            bytes: 4,
            hash: Some("h".into()),
            summary: "DATA".into(),
            retransmit: false,
            fault: None,
        }
    }

    /// A datagram dropped by the sender's injector is lost; its retransmission arrives, and
    /// the receiver's trace pairs with the retransmission, not the lost original.
    #[test]
    fn lost_then_retransmitted() {
        let a = "127.0.0.1:1";
        let b = "127.0.0.1:2";
        let mut retransmitted = event(300, Kind::Send, Some(Dir::Out), a, b);
        retransmitted.hash = Some("r".into());
        retransmitted.retransmit = true;
        let mut received = event(310, Kind::Receive, Some(Dir::In), b, a);
        received.hash = Some("r".into());
        let ladder = build(vec![
            vec![
                event(100, Kind::Drop, Some(Dir::Out), a, b),
                event(300, Kind::Timer, None, a, b),
                retransmitted,
            ],
            vec![received],
        ]);
        assert_eq!(ladder.lifelines, [a, b]);
        let arrows: Vec<&Arrow> = ladder.arrows().collect();
        assert_eq!(arrows.len(), 2);
        assert_eq!(arrows[0].end, End::LostOnTheWay);
        assert_eq!(arrows[1].end, End::Arrived);
        assert!(arrows[1].retransmit);
        assert_eq!(
            (arrows[1].sent_at, arrows[1].arrived_at),
            (Some(200), Some(210))
        );
        assert!(matches!(
            ladder.steps[1],
            Step::Mark(Mark {
                kind: MarkKind::Timer,
                ..
            })
        ));
    }

    /// In a byte stream, two writes read at once both end at that read, and a write read in
    /// two pieces ends at the second piece.
    #[test]
    fn stream_writes_end_where_their_last_byte_was_read() {
        let a = "127.0.0.1:1";
        let b = "127.0.0.1:2";
        let stream = |mut event: Event, bytes| {
            event.datagrams = false;
            event.bytes = bytes;
            event
        };
        let ladder = build(vec![
            vec![
                stream(event(1, Kind::Send, Some(Dir::Out), a, b), 3),
                stream(event(2, Kind::Send, Some(Dir::Out), a, b), 3),
                stream(event(3, Kind::Send, Some(Dir::Out), a, b), 10),
            ],
            vec![
                stream(event(5, Kind::Receive, Some(Dir::In), b, a), 6),
                stream(event(6, Kind::Receive, Some(Dir::In), b, a), 4),
                stream(event(7, Kind::Receive, Some(Dir::In), b, a), 6),
            ],
        ]);
        let arrived: Vec<Option<u64>> = ladder.arrows().map(|arrow| arrow.arrived_at).collect();
        assert_eq!(arrived, [Some(4), Some(4), Some(6)]);
    }

    /// A server that recorded `0.0.0.0:7075` is the lifeline its client calls `127.0.0.1:7075`.
    #[test]
    fn unspecified_server_address_joins_the_clients_view() {
        let client = "127.0.0.1:5000";
        let ladder = build(vec![
            vec![event(
                1,
                Kind::Send,
                Some(Dir::Out),
                client,
                "127.0.0.1:7075",
            )],
            vec![event(
                2,
                Kind::Receive,
                Some(Dir::In),
                "0.0.0.0:7075",
                client,
            )],
        ]);
        assert_eq!(ladder.lifelines, [client, "127.0.0.1:7075"]);
        assert_eq!(ladder.arrows().count(), 1);
    }
}
