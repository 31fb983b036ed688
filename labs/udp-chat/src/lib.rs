//! # udp-chat: reliable chat messages over UDP, built by hand
//!
//! UDP sends datagrams and promises nothing else: a datagram may be lost, duplicated, reordered
//! or delayed, and nobody tells the sender. TCP hides all that behind a byte stream; this lab
//! does the hiding itself, in a form small enough to read, so you can see each mechanism work
//! and each one fail when switched off:
//!
//! - a [header](wire) with sequence and acknowledgement numbers;
//! - three [ARQ](arq) schemes (stop-and-wait, go-back-N, selective repeat) plus plain UDP;
//! - a retransmission timer that adapts to the path ([RFC 6298 §2, §5](rto)), with Karn's rule;
//! - [fragmentation](fragment) of long messages into datagrams small enough that IP need not
//!   fragment them (guaranteed over IPv6; over IPv4, on nearly every path);
//! - a seeded [fault injector](fault) to make a perfect network misbehave on demand.
//!
//! Everything here is a *state machine*: no sockets, no threads, no clock. Time comes in as an
//! argument (quinn-proto's design), so the [simulator](sim) can run a thousand messages over a
//! network losing 30% of datagrams in a few milliseconds, identically on every run.
//!
//! ## Layout
//! - [`wire`]: the 16-byte header, [`Datagram::parse`] and `emit`, [`WireError`].
//! - [`protocol`]: what every conforming room shares above the header: the `*** ` notice
//!   prefix, the welcome, name and relayed-message limits (docs/protocols/udp-chat.md).
//! - [`seq`]: 32-bit sequence numbers that wrap around (RFC 1982 §3).
//! - [`rto`]: the RFC 6298 §2 estimator (SRTT, RTTVAR, RTO, backoff, bounds).
//! - [`arq`]: the [`ArqMode`]s with timing diagrams; the sender (window, timers, Karn's rule,
//!   giving up) and the receiver (duplicates, holding back, in-order delivery).
//! - [`fragment`]: cutting messages up and putting them back together.
//! - [`connection`]: [`Connection`], one peer's protocol state, quinn-style `poll_*` API; what
//!   it reports is an [`Event`].
//! - [`stats`]: the counters the programs print.
//! - [`fault`]: [`FaultInjector`], loss, duplication, reordering, delay and jitter, seeded.
//! - [`sim`]: [`Simulator`], two connections and two faulty links on a virtual clock.
//!
//! Around them, and kept apart, is the program `udp-chat`:
//!
//! - [`endpoint`]: one UDP socket, one [`Connection`] per peer, the fault injectors, PINGs and a
//!   mio event loop: the only module that touches a socket or a clock. It is set up with an
//!   [`EndpointConfig`](endpoint::EndpointConfig) and hands the program
//!   [`PeerEvent`](endpoint::PeerEvent)s;
//! - [`describe`]: datagrams decoded into words for `--trace`, and the start-up banners;
//! - [`capture`]: `--pcap`, every datagram in a pcapng file for Wireshark, with IP and UDP
//!   headers, and a comment on each one the fault injector dropped, duplicated or delayed;
//! - the programs, each run with a plain config: [`room`] (`udp-chat serve`,
//!   [`ServeConfig`](room::ServeConfig)), [`client`] (`udp-chat connect`,
//!   [`ConnectConfig`](client::ConnectConfig)), [`bench`](mod@bench) (`udp-chat bench`,
//!   [`BenchConfig`](bench::BenchConfig)) and [`grade`] (`udp-chat grade`,
//!   [`GradeConfig`](grade::GradeConfig): members behind the fault injector, and hand-written
//!   datagrams, checking a room written by anybody against docs/protocols/udp-chat.md);
//! - [`cli`]: the flags (clap), turned into those configs. Nothing else in the crate imports
//!   it.
//!
//! ## Example
//! ```
//! use std::time::{Duration, Instant};
//! use udp_chat::{Config, Connection, Event, FaultConfig, Simulator};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let lossy = FaultConfig { loss: 0.3, seed: 7, ..FaultConfig::default() };
//! let mut sim = Simulator::new(
//!     Connection::new(Config::default())?,
//!     Connection::new(Config::default())?,
//!     lossy,
//!     FaultConfig { seed: 8, ..lossy },
//!     Instant::now(),
//! );
//! sim.a.send_message(b"hello over a lossy link")?;
//! assert!(sim.run(Duration::from_secs(60)));
//! assert_eq!(sim.events_b, [Event::Delivered(b"hello over a lossy link".to_vec())]);
//! # Ok(())
//! # }
//! ```

pub mod arq;
pub mod bench;
pub mod capture;
pub mod cli;
pub mod client;
pub mod connection;
pub mod describe;
pub mod endpoint;
pub mod fault;
pub mod fragment;
pub mod grade;
pub mod protocol;
pub mod room;
pub mod rto;
pub mod seq;
pub mod sim;
pub mod stats;
pub mod wire;

pub use arq::{ArqMode, MAX_WINDOW};
pub use connection::{Config, ConfigError, Connection, DatagramError, Event, SendError};
pub use fault::{Fate, FaultConfig, FaultInjector, FaultRecord};
pub use rto::{RtoConfig, RtoEstimator};
pub use seq::Seq;
pub use sim::Simulator;
pub use stats::Stats;
pub use wire::{Datagram, Header, Kind, WireError};
