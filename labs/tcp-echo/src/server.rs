//! # Running the echo server: the config both engines take, start-up and Ctrl-C
//!
//! The two engines differ only in *how* they wait for many clients at once (a thread per client,
//! or one thread and an event loop). Everything else (the config, the announcement of the port,
//! stopping on Ctrl-C) is here, so the engines can be compared line by line.
//!
//! Ctrl-C sets a stop flag and wakes the engine by connecting to the server itself
//! (`netlab_common::net::StopSignal`): a thread blocked in `accept` cannot be interrupted any other
//! portable way, and the mio engine is woken the same way.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use netlab_common::framing::Framing;
use netlab_common::{Result, Tracer, net, term};

use crate::{engine_mio, engine_threads};

/// How the server waits for many clients at once.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// One OS thread per client, blocking reads and writes. Simple; costs a thread (and its
    /// stack) per client.
    Threads,
    /// One thread and an event loop over non-blocking sockets (epoll/kqueue via mio).
    Mio,
}

impl Engine {
    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Threads => "threads",
            Engine::Mio => "mio",
        }
    }
}

/// What `tcp-echo serve` was asked to do: where to listen, which engine, and everything an
/// engine needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen (`--bind`, `--port`).
    pub addr: SocketAddr,
    /// How to serve many clients at once.
    pub engine: Engine,
    /// How messages are delimited.
    pub framing: Framing,
    /// Largest message accepted.
    pub max_frame: usize,
    /// Clients served at once.
    pub max_clients: usize,
    /// Set TCP_NODELAY on accepted connections (turn Nagle's algorithm off).
    pub nodelay: bool,
    /// Bytes asked for per `read` in raw framing.
    pub read_size: usize,
    /// `--idle-timeout`: how long a client may go without moving a byte; `None`: no limit.
    pub idle_timeout: Option<Duration>,
    /// `--trace` output.
    pub tracer: Tracer,
}

/// The stop request shared by the Ctrl-C handler and the engine (see `netlab_common::net`).
pub type Stop = net::StopSignal;

/// Binds, announces `listening on ADDR`, installs the Ctrl-C handler and runs the engine until
/// stopped.
pub fn run(config: ServeConfig) -> Result<()> {
    let net::Listening { listener, stop, .. } = net::start_server(config.addr)?;
    term::info(format!(
        "engine {}, framing {}, max {} clients, messages up to {} bytes, TCP_NODELAY {}",
        config.engine.name(),
        config.framing.name(),
        config.max_clients,
        config.max_frame,
        if config.nodelay { "on" } else { "off" }
    ));

    serve(listener, config, &stop)?;
    term::info("stopped (Ctrl-C); open connections are closed as the process exits");
    Ok(())
}

/// Runs `config.engine` on an already bound listener until `stop` is requested.
pub fn serve(listener: TcpListener, config: ServeConfig, stop: &Stop) -> Result<()> {
    match config.engine {
        Engine::Threads => engine_threads::serve(listener, config, stop),
        Engine::Mio => engine_mio::serve(listener, config, stop),
    }
}
