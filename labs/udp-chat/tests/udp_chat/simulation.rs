//! Whole conversations over a simulated bad network, on a virtual clock. Every run with the same
//! seeds gives the same result. Run with `--nocapture` to see the measured numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use udp_chat::{
    ArqMode, Config, Connection, Event, Fate, FaultConfig, SendError, Simulator, Stats,
};

const RELIABLE: [(ArqMode, u32); 4] = [
    (ArqMode::StopAndWait, 1),
    (ArqMode::GoBackN, 8),
    (ArqMode::SelectiveRepeat, 8),
    (ArqMode::SelectiveRepeat, 32),
];

/// The hostile network: 30% loss, 10% duplication, 10% reordering, 10 ms ± 5 ms.
fn hostile(seed: u64) -> FaultConfig {
    FaultConfig {
        loss: 0.3,
        duplicate: 0.1,
        reorder: 0.1,
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(5),
        seed,
        ..FaultConfig::default()
    }
}

/// At 30% loss each way a round trip fails about half the time, so the default 8 retries would
/// give up on some datagram among thousands; these tests are about delivery, not giving up.
/// Every test here queues all its messages before the first is sent: up to 1000 messages of 4
/// fragments, more than the default backlog of a program that queues as its user types.
const QUEUED_AT_ONCE: usize = 4000;

fn config(mode: ArqMode, window: u32) -> Config {
    Config {
        mode,
        window,
        max_retries: 30,
        max_queued: QUEUED_AT_ONCE,
        ..Config::default()
    }
}

fn short_messages() -> Vec<Vec<u8>> {
    (0..1000)
        .map(|i| format!("message {i:04}").into_bytes())
        .collect()
}

/// 4096-byte messages (four fragments each), every one different.
fn long_messages() -> Vec<Vec<u8>> {
    (0..1000u32)
        .map(|i| (0..4096u32).map(|j| (i * 31 + j * 7) as u8).collect())
        .collect()
}

/// Sends every message from `a` to `b` through `links` and runs until the network is quiet.
fn transfer(config: Config, links: [FaultConfig; 2], messages: &[Vec<u8>]) -> Simulator {
    let mut sim = Simulator::new(
        Connection::new(config).unwrap(),
        Connection::new(config).unwrap(),
        links[0],
        links[1],
        Instant::now(),
    );
    for message in messages {
        sim.a.send_message(message).unwrap();
    }
    assert!(
        sim.run(Duration::from_secs(24 * 3600)),
        "still busy after a day"
    );
    sim
}

fn report(label: &str, sim: &Simulator) {
    let Stats {
        datagrams_sent,
        retransmissions,
        timeouts,
        srtt,
        rto,
        ..
    } = sim.a.stats();
    let b = sim.b.stats();
    eprintln!(
        "{label}: {:.1} s virtual, sent {datagrams_sent} datagrams ({retransmissions} retransmitted, \
         {timeouts} timeouts), receiver dropped {} duplicates, held {} / discarded {} early, \
         srtt {srtt:?}, rto {rto:?}",
        sim.elapsed().as_secs_f64(),
        b.duplicates_dropped,
        b.out_of_order_held,
        b.out_of_order_discarded,
    );
}

fn assert_exactly_once_in_order(sim: &Simulator, messages: &[Vec<u8>]) {
    let delivered = sim.delivered_to_b();
    assert_eq!(delivered.len(), messages.len(), "delivered count");
    assert!(
        delivered
            .iter()
            .zip(messages)
            .all(|(got, sent)| got == sent)
    );
    assert!(sim.a.is_idle(), "everything acknowledged");
    assert!(
        !sim.events_a
            .iter()
            .any(|e| matches!(e, Event::Unreachable { .. }))
    );
}

/// 1000 short messages arrive exactly once and in order in every ARQ mode, despite 30% loss,
/// 10% duplication and 10% reordering in both directions.
#[test]
fn every_reliable_mode_delivers_1000_messages_exactly_once_in_order() {
    let messages = short_messages();
    for (mode, window) in RELIABLE {
        let sim = transfer(config(mode, window), [hostile(1), hostile(2)], &messages);
        report(&format!("{} w={window}", mode.name()), &sim);
        assert_exactly_once_in_order(&sim, &messages);
        let (a, b) = (sim.a.stats(), sim.b.stats());
        assert!(a.retransmissions > 0 && b.duplicates_dropped > 0);
        assert_eq!(b.messages_delivered, 1000);
    }
}

/// The same with 4096-byte messages, each cut into four datagrams and reassembled.
#[test]
fn every_reliable_mode_delivers_1000_fragmented_messages() {
    let messages = long_messages();
    for (mode, window) in RELIABLE {
        let sim = transfer(config(mode, window), [hostile(3), hostile(4)], &messages);
        report(&format!("4096 B {} w={window}", mode.name()), &sim);
        assert_exactly_once_in_order(&sim, &messages);
        assert_eq!(sim.b.stats().delivered_bytes, 1000 * 4096);
    }
}

/// Without retransmission, plain UDP loses about 30% of the messages and shows duplicates and
/// reordering: the test counts each, and the injector's records account for every lost one.
#[test]
fn no_retransmit_loses_duplicates_and_reorders() {
    let messages = short_messages();
    let mut sim = transfer(
        config(ArqMode::NoRetransmit, 1),
        [hostile(5), hostile(6)],
        &messages,
    );
    let delivered = sim.delivered_to_b();
    let mut unique: Vec<&[u8]> = delivered.clone();
    unique.sort();
    unique.dedup();
    let lost = messages.len() - unique.len();
    let duplicated = delivered.len() - unique.len();
    let out_of_order = delivered.windows(2).filter(|w| w[0] > w[1]).count();
    eprintln!(
        "no-retransmit: {lost} of 1000 lost, {duplicated} duplicated, {out_of_order} out of order"
    );
    assert!((200..400).contains(&lost), "lost {lost}");
    assert!(duplicated > 0 && out_of_order > 0);
    assert_eq!(sim.a.stats().retransmissions, 0);
    let records = sim.a_to_b.take_records();
    let dropped = records.iter().filter(|r| r.fate == Fate::Dropped).count();
    assert_eq!(
        (records.len(), dropped),
        (1000, lost),
        "one datagram per message"
    );
}

/// A peer that vanishes is reported unreachable within `Config::give_up_bound`, in every mode,
/// and then the connection stops: no timer, no datagram, sends refused.
#[test]
fn vanished_peer_is_reported_unreachable_within_the_bound() {
    for (mode, window) in RELIABLE {
        let config = Config {
            max_retries: 5,
            ..config(mode, window)
        };
        let link = FaultConfig {
            delay: Duration::from_millis(10),
            ..FaultConfig::default()
        };
        let messages: Vec<Vec<u8>> = short_messages().into_iter().take(20).collect();
        let mut sim = transfer(config, [link, link], &messages);
        sim.vanish_b();
        sim.a.send_message(b"anyone there?").unwrap();
        let sent_at = sim.now();
        let bound = config.give_up_bound();
        let unreachable = |e: &Event| matches!(e, Event::Unreachable { .. });
        assert!(
            sim.run_until(bound * 2, unreachable),
            "{mode:?}: never gave up"
        );
        let waited = sim.now() - sent_at;
        eprintln!(
            "{}: unreachable after {waited:?} (bound {bound:?})",
            mode.name()
        );
        assert!(waited <= bound, "{mode:?}: {waited:?} > {bound:?}");
        assert!(matches!(
            sim.events_a.last(),
            Some(Event::Unreachable {
                transmissions: 6,
                ..
            })
        ));
        assert_eq!(sim.a.poll_timeout(), None);
        assert_eq!(sim.a.poll_transmit(sim.now()), None);
        assert_eq!(sim.a.send_message(b"x"), Err(SendError::Unreachable));
    }
}

/// Sequence numbers that wrap from `u32::MAX` to 0 mid-transfer change nothing.
#[test]
fn transfer_across_sequence_wrap_around() {
    let messages = short_messages();
    for (mode, window) in RELIABLE {
        let config = Config {
            initial_seq: u32::MAX - 300,
            ..config(mode, window)
        };
        let sim = transfer(config, [hostile(7), hostile(8)], &messages);
        assert_exactly_once_in_order(&sim, &messages);
    }
}

/// The same seeds give the same run, to the datagram and the microsecond.
#[test]
fn simulation_is_deterministic() {
    let messages: Vec<Vec<u8>> = short_messages().into_iter().take(200).collect();
    let run = || {
        let sim = transfer(
            config(ArqMode::GoBackN, 8),
            [hostile(9), hostile(10)],
            &messages,
        );
        (sim.elapsed(), sim.a.stats(), sim.b.stats())
    };
    assert_eq!(run(), run());
}

/// JOIN, messages and LEAVE arrive in order as events; a PING is answered with a PONG.
#[test]
fn join_leave_and_ping() {
    let link = FaultConfig {
        delay: Duration::from_millis(20),
        ..hostile(11)
    };
    let mut sim = Simulator::new(
        Connection::new(config(ArqMode::SelectiveRepeat, 8)).unwrap(),
        Connection::new(config(ArqMode::SelectiveRepeat, 8)).unwrap(),
        link,
        FaultConfig {
            loss: 0.0,
            ..hostile(12)
        },
        Instant::now(),
    );
    sim.a.send_join(b"ann").unwrap();
    sim.a.send_message(b"hi").unwrap();
    sim.a.send_leave().unwrap();
    assert!(sim.run(Duration::from_secs(600)));
    assert_eq!(
        sim.events_b,
        [
            Event::Joined(b"ann".to_vec()),
            Event::Delivered(b"hi".to_vec()),
            Event::Left
        ]
    );
    let link = FaultConfig {
        delay: Duration::from_millis(20),
        ..FaultConfig::default()
    };
    sim.a_to_b = udp_chat::FaultInjector::new(link);
    sim.b_to_a = udp_chat::FaultInjector::new(link);
    let now = sim.now();
    sim.a.ping(now);
    assert!(sim.run(Duration::from_secs(1)));
    assert!(sim.events_a.contains(&Event::Pong {
        rtt: Duration::from_millis(40)
    }));
}

/// Goodput in virtual time, 1000 messages of 1000 bytes at 5% loss and 20 ms each way:
/// selective repeat with a window of 32 keeps the pipe full, stop-and-wait sends one per RTT.
#[test]
fn selective_repeat_outruns_stop_and_wait() {
    let messages: Vec<Vec<u8>> = (0..1000u32).map(|i| vec![i as u8; 1000]).collect();
    let link = |seed| FaultConfig {
        loss: 0.05,
        delay: Duration::from_millis(20),
        seed,
        ..FaultConfig::default()
    };
    let goodput = |mode, window| {
        let sim = transfer(config(mode, window), [link(13), link(14)], &messages);
        assert_exactly_once_in_order(&sim, &messages);
        let secs = sim.elapsed().as_secs_f64();
        let kbps = sim.b.stats().delivered_bytes as f64 / secs / 1000.0;
        eprintln!(
            "goodput {} w={window}: {kbps:.1} kB/s ({secs:.1} s)",
            mode.name()
        );
        kbps
    };
    let sr = goodput(ArqMode::SelectiveRepeat, 32);
    let gbn = goodput(ArqMode::GoBackN, 32);
    let sw = goodput(ArqMode::StopAndWait, 1);
    assert!(sr > 3.0 * sw, "SR {sr} vs SW {sw}");
    assert!(sr > gbn, "SR {sr} vs GBN {gbn}");
}

/// 1000 messages of 1000 bytes, each different, for the goodput measurements.
fn kilobyte_messages() -> Vec<Vec<u8>> {
    (0..1000u32).map(|i| vec![i as u8; 1000]).collect()
}

/// 20 ms one way and `loss` in both directions; seeds fixed so every run is the same.
fn goodput_link(loss: f64, seed: u64) -> FaultConfig {
    FaultConfig {
        loss,
        delay: Duration::from_millis(20),
        seed,
        ..FaultConfig::default()
    }
}

/// Transfers `messages` exactly once and in order, and returns the goodput in bytes per second
/// of virtual time (delivered payload bytes until the network is quiet) with the sender's stats.
fn measure_goodput(mode: ArqMode, window: u32, loss: f64, messages: &[Vec<u8>]) -> (f64, Stats) {
    let links = [goodput_link(loss, 13), goodput_link(loss, 14)];
    let sim = transfer(config(mode, window), links, messages);
    assert_exactly_once_in_order(&sim, messages);
    let goodput = sim.b.stats().delivered_bytes as f64 / sim.elapsed().as_secs_f64();
    report(
        &format!("goodput {} w={window} loss={loss}", mode.name()),
        &sim,
    );
    (goodput, sim.a.stats())
}

/// The target: at 5% loss each way and 20 ms each way, selective repeat with a window of
/// 32 delivers at least 10x the goodput of stop-and-wait. Without fast retransmit every loss at
/// the front of the window stalled the sender for an RTO (200 ms floor, five round trips) and the
/// ratio was about 4.5x; with it, about 30x.
#[test]
fn selective_repeat_goodput_is_ten_times_stop_and_wait_at_5_percent_loss() {
    let messages = kilobyte_messages();
    let (sr, sr_stats) = measure_goodput(ArqMode::SelectiveRepeat, 32, 0.05, &messages);
    let (sw, sw_stats) = measure_goodput(ArqMode::StopAndWait, 1, 0.05, &messages);
    let (_, gbn_stats) = measure_goodput(ArqMode::GoBackN, 32, 0.05, &messages);
    let ratio = sr / sw;
    eprintln!(
        "SR {:.1} kB/s, SW {:.1} kB/s: {ratio:.1}x; SR fast retransmits {} of {} retransmissions",
        sr / 1000.0,
        sw / 1000.0,
        sr_stats.fast_retransmits,
        sr_stats.retransmissions,
    );
    assert!(ratio >= 10.0, "SR {sr} B/s is only {ratio:.2}x SW {sw} B/s");
    assert!(sr_stats.fast_retransmits > 0);
    assert!(sr_stats.fast_retransmits <= sr_stats.retransmissions);
    // Only selective repeat fast-retransmits.
    assert_eq!(
        (sw_stats.fast_retransmits, gbn_stats.fast_retransmits),
        (0, 0)
    );
}

/// Without loss, selective repeat with a window of 32 is limited only by the window: 32 datagrams
/// per round trip, `window x payload / RTT`. The RTT is the configured one-way delays added,
/// 20 ms + 20 ms: the simulator models no serialization delay (infinite bandwidth), no queueing
/// and no processing time, so a datagram and its ACK take exactly the link delays. Goodput must
/// be within 15% of that limit (the shortfall is the last, partly filled round trip and the final
/// ACK's return, about 3% over 32 round trips).
#[test]
fn selective_repeat_goodput_without_loss_is_near_the_window_limit() {
    let messages = kilobyte_messages();
    let window = 32;
    let rtt = goodput_link(0.0, 13).delay + goodput_link(0.0, 14).delay;
    let payload = messages[0].len() as f64;
    let limit = f64::from(window) * payload / rtt.as_secs_f64();
    let (sr, stats) = measure_goodput(ArqMode::SelectiveRepeat, window, 0.0, &messages);
    eprintln!(
        "SR w={window} without loss: {:.1} kB/s, window limit {:.1} kB/s ({:.1}%)",
        sr / 1000.0,
        limit / 1000.0,
        100.0 * sr / limit
    );
    assert!(sr >= 0.85 * limit, "{sr} B/s vs limit {limit} B/s");
    assert!(
        sr <= limit * 1.001,
        "faster than the window allows: {sr} B/s"
    );
    assert_eq!((stats.retransmissions, stats.timeouts), (0, 0));
}
