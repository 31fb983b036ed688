//! # The host console: the server operator takes part
//!
//! The server prints every message that passes through it, public or private: the operator of a
//! server can always read everything, which is worth remembering about any chat service that does
//! not encrypt end to end. The operator can also type on the server's standard input:
//!
//! - `text` goes to everyone as `HOST text`;
//! - `/msg NAME text` goes to one client as `PRIVATE host text`;
//! - `status` prints the session cache here.
//!
//! When standard input is not a terminal and ends at once (a service, a test), the console thread
//! simply ends and the room runs on.

use std::io::{self, BufRead};
use std::sync::Arc;
use std::time::Instant;

use netlab_common::accept::spawn_named;
use netlab_common::{Result, term};

use super::protocol::{self, Request};
use super::registry::Out;
use super::server::Shared;

/// Starts the console thread (an error if the system has no thread to give).
pub fn spawn(shared: Arc<Shared>) -> Result<()> {
    spawn_named("console", move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            command(&shared, &line);
        }
    })?;
    Ok(())
}

/// Carries out one console line. The registry lock is held only to queue lines; what the
/// operator sees is printed after it is released.
fn command(shared: &Shared, line: &str) {
    match protocol::parse(line) {
        Request::Empty => {}
        Request::Status => {
            let lines = shared.registry().status_lines(Instant::now());
            for status in lines {
                println!("{status}");
            }
        }
        Request::Private { to, text } => {
            let sent = {
                let registry = shared.registry();
                registry
                    .id_of(to)
                    .map(|id| registry.send(id, Out::Line(format!("PRIVATE host {text}"))))
            };
            match sent {
                Some(_) => term::info(format!("sent to {to}")),
                None => term::warn(format!("no client named {to}; try status")),
            }
        }
        _ => {
            let count = {
                let registry = shared.registry();
                registry.broadcast(None, &format!("HOST {}", line.trim()));
                registry.len()
            };
            let noun = if count == 1 { "client" } else { "clients" };
            term::info(format!("sent to everyone ({count} {noun})"));
        }
    }
}
