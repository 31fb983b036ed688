//! # A network in a test: two connections, two faulty links, a virtual clock
//!
//! Because [`Connection`] takes time as an argument, a whole conversation over a bad network can
//! run in milliseconds of real time and come out the same on every run. The [`Simulator`] owns
//! endpoint `a`, endpoint `b`, one [`FaultInjector`] per direction and a clock that jumps straight
//! to the next thing that happens (a datagram arriving or a timer firing): *discrete-event
//! simulation*. quinn tests its protocol the same way (`quinn-proto/src/tests/util.rs`), and
//! smoltcp's `tests/netsim.rs` does it with a seeded fault injector.

use std::time::{Duration, Instant};

use crate::connection::{Connection, Event};
use crate::fault::{FaultConfig, FaultInjector};

/// Two endpoints joined by two simulated links.
#[derive(Debug)]
pub struct Simulator {
    /// The endpoint that usually sends.
    pub a: Connection,
    /// The endpoint that usually receives.
    pub b: Connection,
    /// The link from `a` to `b`.
    pub a_to_b: FaultInjector,
    /// The link from `b` to `a`.
    pub b_to_a: FaultInjector,
    /// Events `a` reported, in order.
    pub events_a: Vec<Event>,
    /// Events `b` reported, in order.
    pub events_b: Vec<Event>,
    /// Datagrams either side refused as malformed.
    pub refused: u64,
    /// `b` has vanished: it no longer receives, sends or runs timers.
    pub b_gone: bool,
    start: Instant,
    now: Instant,
}

impl Simulator {
    /// A simulator whose virtual clock starts at `start`.
    pub fn new(
        a: Connection,
        b: Connection,
        a_to_b: FaultConfig,
        b_to_a: FaultConfig,
        start: Instant,
    ) -> Self {
        Self {
            a,
            b,
            a_to_b: FaultInjector::new(a_to_b),
            b_to_a: FaultInjector::new(b_to_a),
            events_a: Vec::new(),
            events_b: Vec::new(),
            refused: 0,
            b_gone: false,
            start,
            now: start,
        }
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Runs until nothing is left to happen (returns `true`) or `limit` of virtual time has
    /// passed (returns `false`).
    pub fn run(&mut self, limit: Duration) -> bool {
        let deadline = self.now + limit;
        loop {
            self.settle();
            let b_timer = if self.b_gone {
                None
            } else {
                self.b.poll_timeout()
            };
            let next = [
                self.a.poll_timeout(),
                b_timer,
                self.a_to_b.next_arrival(),
                self.b_to_a.next_arrival(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                None => return true,
                Some(at) if at > deadline => {
                    self.now = deadline;
                    return false;
                }
                Some(at) => self.now = self.now.max(at),
            }
        }
    }

    /// Runs until `a`'s user sees an event matching `done`, nothing is left to happen, or `limit`
    /// passes. Returns whether `done` was seen.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&Event) -> bool) -> bool {
        let deadline = self.now + limit;
        while self.now < deadline {
            let step = (deadline - self.now).min(Duration::from_millis(10));
            let quiet = self.run(step);
            if self.events_a.iter().any(&done) {
                return true;
            }
            if quiet {
                return false;
            }
        }
        false
    }

    /// Does everything due at the current instant: fire timers, move datagrams, collect events,
    /// until nothing more happens at this instant.
    fn settle(&mut self) {
        let now = self.now;
        loop {
            let mut busy = false;
            if self.a.poll_timeout().is_some_and(|at| at <= now) {
                self.a.handle_timeout(now);
            }
            if !self.b_gone && self.b.poll_timeout().is_some_and(|at| at <= now) {
                self.b.handle_timeout(now);
            }
            while let Some(datagram) = self.a.poll_transmit(now) {
                self.a_to_b.send(datagram, now);
                busy = true;
            }
            while !self.b_gone
                && let Some(datagram) = self.b.poll_transmit(now)
            {
                self.b_to_a.send(datagram, now);
                busy = true;
            }
            while let Some(datagram) = self.a_to_b.poll_deliver(now) {
                busy = true;
                if !self.b_gone && self.b.handle_datagram(&datagram, now).is_err() {
                    self.refused += 1;
                }
            }
            while let Some(datagram) = self.b_to_a.poll_deliver(now) {
                busy = true;
                if self.a.handle_datagram(&datagram, now).is_err() {
                    self.refused += 1;
                }
            }
            self.events_a
                .extend(std::iter::from_fn(|| self.a.poll_event()));
            self.events_b
                .extend(std::iter::from_fn(|| self.b.poll_event()));
            if !busy {
                return;
            }
        }
    }

    /// `b` vanishes (crashed, unplugged): from now on it neither receives nor sends.
    pub fn vanish_b(&mut self) {
        self.b_gone = true;
        self.b_to_a.clear();
    }

    /// The messages `b` has delivered so far.
    pub fn delivered_to_b(&self) -> Vec<&[u8]> {
        self.events_b
            .iter()
            .filter_map(|event| match event {
                Event::Delivered(message) => Some(message.as_slice()),
                _ => None,
            })
            .collect()
    }
}
