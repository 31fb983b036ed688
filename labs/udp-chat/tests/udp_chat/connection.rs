//! One connection driven by hand: the retransmission timer, Karn's rule, and hostile input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use udp_chat::arq::AckError;
use udp_chat::{
    ArqMode, Config, Connection, Datagram, DatagramError, Header, Kind, RtoConfig, SendError, Seq,
    WireError,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(mode: ArqMode) -> Config {
    Config {
        mode,
        rto: RtoConfig {
            initial: ms(1000),
            min: ms(100),
            max: ms(10_000),
            granularity: ms(1),
        },
        ..Config::default()
    }
}

fn ack_for(b: &mut Connection, data: &[u8], now: Instant) -> Vec<u8> {
    b.handle_datagram(data, now).unwrap();
    b.poll_transmit(now).expect("an ACK")
}

/// Karn's rule: an ACK for a retransmitted datagram gives no RTT sample and keeps the backed-off
/// RTO; the next datagram acknowledged on its first try gives the first sample.
#[test]
fn karn_rule_ignores_retransmitted_datagrams() {
    let t0 = Instant::now();
    let mut a = Connection::new(config(ArqMode::StopAndWait)).unwrap();
    let mut b = Connection::new(config(ArqMode::StopAndWait)).unwrap();
    a.send_message(b"one").unwrap();
    let _lost = a.poll_transmit(t0).unwrap();
    assert_eq!(a.poll_timeout(), Some(t0 + ms(1000)), "RFC 6298 §2.1: 1 s");

    let t1 = t0 + ms(1000);
    a.handle_timeout(t1);
    let resent = a.poll_transmit(t1).unwrap();
    assert!(Datagram::parse(&resent).unwrap().header.flags.retransmit());
    assert_eq!(a.stats().rto, ms(2000), "RFC 6298 §5.5: doubled");

    let ack = ack_for(&mut b, &resent, t1 + ms(30));
    a.handle_datagram(&ack, t1 + ms(60)).unwrap();
    assert_eq!(a.stats().srtt, None, "no sample from a retransmission");
    assert_eq!(
        a.stats().rto,
        ms(2000),
        "backoff kept until a valid sample (RFC 6298 §5)"
    );
    assert!(a.is_idle());

    let t2 = t1 + ms(100);
    a.send_message(b"two").unwrap();
    let data = a.poll_transmit(t2).unwrap();
    let ack = ack_for(&mut b, &data, t2 + ms(25));
    a.handle_datagram(&ack, t2 + ms(50)).unwrap();
    assert_eq!(a.stats().srtt, Some(ms(50)));
    assert_eq!(a.stats().rto, ms(150), "50 + 4 * 25");
}

/// An ACK for sequence numbers never sent is refused with a typed error, counted, and moves
/// nothing.
#[test]
fn ack_for_unsent_sequence_is_refused() {
    let now = Instant::now();
    let mut a = Connection::new(config(ArqMode::SelectiveRepeat)).unwrap();
    a.send_message(b"x").unwrap();
    a.poll_transmit(now).unwrap(); // sequence number 0 is in flight
    for (seq, ack) in [(0, 5), (3, 1)] {
        let bogus = Datagram {
            header: Header {
                seq: Seq(seq),
                ack: Seq(ack),
                ..Header::new(Kind::Ack)
            },
            payload: &[],
        };
        let result = a.handle_datagram(&bogus.to_vec().unwrap(), now);
        assert!(matches!(
            result,
            Err(DatagramError::Ack(AckError::NeverSent { .. }))
        ));
    }
    assert_eq!(a.stats().malformed, 2);
    assert!(!a.is_idle(), "datagram 0 still unacknowledged");
}

/// Malformed datagrams get typed errors and are counted; the connection keeps working.
#[test]
fn malformed_datagrams_are_counted_not_fatal() {
    let now = Instant::now();
    let mut b = Connection::new(Config::default()).unwrap();
    let result = b.handle_datagram(&[], now);
    assert_eq!(result, Err(DatagramError::Wire(WireError::Empty)));
    let result = b.handle_datagram(&[1, 3, 0], now);
    assert_eq!(
        result,
        Err(DatagramError::Wire(WireError::ShortHeader { len: 3 }))
    );
    assert_eq!(b.stats().malformed, 2);

    let mut a = Connection::new(Config::default()).unwrap();
    a.send_message(b"still fine").unwrap();
    let data = a.poll_transmit(now).unwrap();
    b.handle_datagram(&data, now).unwrap();
    assert!(b.poll_event().is_some());
}

/// The room's side of a member that answers nothing: after the window (32) and the room's
/// backlog (`MEMBER_BACKLOG`) the next message is refused with `QueueFull`, only a window's worth
/// of distinct datagrams ever goes out, and what is held stays at the bound through
/// retransmissions.
#[test]
fn a_member_that_never_acknowledges_holds_window_plus_backlog() {
    let t0 = Instant::now();
    let mut room_side = Connection::new(udp_chat::room::member_config(Config::default())).unwrap();
    let most = 32 + udp_chat::room::MEMBER_BACKLOG;
    assert_eq!(room_side.max_held(), most);
    let mut sent = std::collections::BTreeSet::new();
    let mut accepted = 0;
    let refused = loop {
        match room_side.send_message(b"<ada> hello") {
            Ok(()) => accepted += 1,
            Err(err) => break err,
        }
        while let Some(bytes) = room_side.poll_transmit(t0) {
            sent.insert(Datagram::parse(&bytes).unwrap().header.seq.0);
        }
    };
    assert_eq!(refused, SendError::QueueFull { room: 0, needed: 1 });
    assert_eq!(accepted, most);
    assert_eq!(sent.len(), 32);
    assert_eq!(room_side.held(), most);
    let due = room_side.poll_timeout().unwrap();
    room_side.handle_timeout(due);
    while let Some(bytes) = room_side.poll_transmit(due) {
        assert!(sent.contains(&Datagram::parse(&bytes).unwrap().header.seq.0));
    }
    assert_eq!(room_side.held(), most);
}

/// A datagram over `max_datagram` is refused whatever its header says, even one that would be
/// held as an early datagram.
#[test]
fn oversize_datagrams_are_refused() {
    let now = Instant::now();
    let mut b = Connection::new(Config::default()).unwrap();
    let early = Datagram {
        header: Header {
            seq: Seq(5),
            ..Header::new(Kind::Data)
        },
        payload: &[0; 1185],
    }
    .to_vec()
    .unwrap();
    assert_eq!(
        b.handle_datagram(&early, now),
        Err(DatagramError::TooLarge {
            len: 1201,
            max: 1200
        })
    );
    assert_eq!(b.poll_transmit(now), None, "not even ACKed");
    assert_eq!(b.stats().malformed, 1);
}

/// A peer flooding PINGs at a caller that does not drain gets at most `MAX_CONTROL_QUEUED`
/// PONGs queued, the newest ones.
#[test]
fn unsequenced_replies_are_bounded() {
    let now = Instant::now();
    let mut b = Connection::new(Config::default()).unwrap();
    let total = udp_chat::connection::MAX_CONTROL_QUEUED as u32 + 100;
    for n in 0..total {
        let ping = Datagram {
            header: Header {
                seq: Seq(n),
                ..Header::new(Kind::Ping)
            },
            payload: &[],
        };
        b.handle_datagram(&ping.to_vec().unwrap(), now).unwrap();
    }
    let pongs: Vec<Seq> = std::iter::from_fn(|| b.poll_transmit(now))
        .map(|bytes| Datagram::parse(&bytes).unwrap().header.seq)
        .collect();
    assert_eq!(pongs.len(), udp_chat::connection::MAX_CONTROL_QUEUED);
    assert_eq!(pongs.first(), Some(&Seq(100)));
    assert_eq!(pongs.last(), Some(&Seq(total - 1)));
}

/// First pieces of messages that never complete (a member sending piece 0 of 2 again and again)
/// are kept up to `MAX_PARTIAL` and then dropped, oldest first, and counted; a whole message
/// after them is still delivered.
#[test]
fn incomplete_messages_are_bounded() {
    let now = Instant::now();
    let mut b = Connection::new(Config::default()).unwrap();
    let extra = 5;
    let firsts = udp_chat::fragment::MAX_PARTIAL as u32 + extra;
    for seq in 0..firsts {
        let piece = Datagram {
            header: Header {
                seq: Seq(seq),
                frag_index: 0,
                frag_count: 2,
                ..Header::new(Kind::Data)
            },
            payload: &[b'x'; 1000],
        };
        b.handle_datagram(&piece.to_vec().unwrap(), now).unwrap();
    }
    let whole = Datagram {
        header: Header {
            seq: Seq(firsts),
            ..Header::new(Kind::Data)
        },
        payload: b"whole",
    };
    b.handle_datagram(&whole.to_vec().unwrap(), now).unwrap();
    assert_eq!(b.stats().incomplete_dropped, u64::from(extra));
    assert_eq!(
        b.poll_event(),
        Some(udp_chat::Event::Delivered(b"whole".to_vec()))
    );
}

/// The send queue is bounded: past it, `send_message` says so instead of growing.
#[test]
fn send_queue_is_bounded() {
    let mut a = Connection::new(Config {
        max_queued: 5,
        ..Config::default()
    })
    .unwrap();
    a.send_message(&[0; 4096]).unwrap(); // 4 fragments
    assert_eq!(
        a.send_message(&[0; 2000]),
        Err(SendError::QueueFull { room: 1, needed: 2 })
    );
    assert!(matches!(
        a.send_message(&[0; 4097]),
        Err(SendError::Fragment(_))
    ));
}

proptest! {
    /// Arbitrary bytes, valid headers included, never panic a connection with data in flight;
    /// every datagram is either taken or refused and counted.
    #[test]
    fn arbitrary_datagrams_never_panic(
        inputs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..20),
        kinds in proptest::collection::vec(1u8..=6, 20),
    ) {
        let now = Instant::now();
        for mode in [ArqMode::NoRetransmit, ArqMode::StopAndWait, ArqMode::GoBackN, ArqMode::SelectiveRepeat] {
            let mut conn = Connection::new(config(mode)).unwrap();
            conn.send_message(&[7; 3000]).unwrap();
            while conn.poll_transmit(now).is_some() {}
            for (bytes, kind) in inputs.iter().zip(&kinds) {
                // Half the inputs get a valid version and type, so they reach the ARQ layer.
                let mut bytes = bytes.clone();
                if bytes.len() >= 16 && kind % 2 == 0 {
                    bytes[0] = 1;
                    bytes[1] = *kind;
                }
                let _ = conn.handle_datagram(&bytes, now);
                conn.handle_timeout(now + Duration::from_secs(1));
                while conn.poll_transmit(now).is_some() {}
                while conn.poll_event().is_some() {}
            }
            let stats = conn.stats();
            prop_assert!(stats.malformed + stats.datagrams_received >= inputs.len() as u64);
        }
    }
}

/// The same loss, two answers: datagram 0 of three is lost. Go-back-N's receiver throws 1 and 2
/// away (ACKs flagged NOT_HELD) and its sender resends all three; selective repeat's receiver
/// holds 1 and 2, and its sender resends only 0.
#[test]
fn go_back_n_resends_the_window_selective_repeat_only_the_gap() {
    for (mode, discarded, resent) in [(ArqMode::GoBackN, 2, 3), (ArqMode::SelectiveRepeat, 0, 1)] {
        let t0 = Instant::now();
        let mut a = Connection::new(config(mode)).unwrap();
        let mut b = Connection::new(config(mode)).unwrap();
        for text in ["zero", "one", "two"] {
            a.send_message(text.as_bytes()).unwrap();
        }
        let sent: Vec<Vec<u8>> = std::iter::from_fn(|| a.poll_transmit(t0)).collect();
        assert_eq!(sent.len(), 3);
        for data in &sent[1..] {
            let ack = ack_for(&mut b, data, t0 + ms(10));
            let flags = Datagram::parse(&ack).unwrap().header.flags;
            assert_eq!(flags.not_held(), mode == ArqMode::GoBackN);
            a.handle_datagram(&ack, t0 + ms(20)).unwrap();
        }
        assert_eq!(
            b.poll_event(),
            None,
            "{mode:?}: nothing deliverable before 0"
        );
        assert_eq!(b.stats().out_of_order_discarded, discarded);

        let timeout = a.poll_timeout().unwrap();
        a.handle_timeout(timeout);
        let again: Vec<Vec<u8>> = std::iter::from_fn(|| a.poll_transmit(timeout)).collect();
        assert_eq!(again.len(), resent, "{mode:?}");
        for data in &again {
            let ack = ack_for(&mut b, data, timeout + ms(10));
            a.handle_datagram(&ack, timeout + ms(20)).unwrap();
        }
        let delivered: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
        assert_eq!(delivered.len(), 3, "{mode:?}: all three, in order");
        assert!(a.is_idle());
    }
}

/// A plain-UDP end (`--arq none`) that receives a resent datagram from a reliable peer says so
/// once ([`udp_chat::Event::PeerResends`], before the copy), and still delivers every copy.
#[test]
fn plain_udp_end_reports_a_peer_that_resends_once() {
    let t0 = Instant::now();
    let mut reliable = Connection::new(config(ArqMode::StopAndWait)).unwrap();
    let mut plain = Connection::new(config(ArqMode::NoRetransmit)).unwrap();
    reliable.send_message(b"welcome").unwrap();
    let first = reliable.poll_transmit(t0).unwrap();
    plain.handle_datagram(&first, t0).unwrap();
    let mut events = Vec::new();
    for round in 1..=2 {
        let at = t0 + ms(1000) * round * 3;
        reliable.handle_timeout(at);
        let copy = reliable.poll_transmit(at).unwrap();
        plain.handle_datagram(&copy, at).unwrap();
    }
    while let Some(event) = plain.poll_event() {
        events.push(event);
    }
    assert_eq!(
        events,
        [
            udp_chat::Event::Delivered(b"welcome".to_vec()),
            udp_chat::Event::PeerResends,
            udp_chat::Event::Delivered(b"welcome".to_vec()),
            udp_chat::Event::Delivered(b"welcome".to_vec()),
        ]
    );
}
