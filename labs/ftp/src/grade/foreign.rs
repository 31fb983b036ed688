//! # Port theft: a data connection from a stranger (RFC 2577, section 8)
//!
//! After `PASV` the server listens on a port and waits for *the client* to connect. But anyone
//! can connect to a port: a host that guesses it (passive ports are often sequential) and
//! connects first would receive the file or listing meant for the client, or upload its own
//! file in the client's name. RFC 2577 (section 8, "Port Stealing") asks for port numbers that
//! are hard to guess; the check graded here is the common practice that goes further (vsftpd's
//! default, `pasv_promiscuous=NO`): a server accepts a passive data connection only from the IP
//! address its control connection comes from, closes any other at once without sending
//! anything, and keeps waiting for the right one.
//!
//! To test this the grader needs a second IP address to connect from. Linux routes all of
//! 127.0.0.0/8 to the loopback interface, so with the server on 127.0.0.1 a socket bound to
//! 127.0.0.2 is "another host" on the same machine ([`another_local_ip`]). Elsewhere there is
//! none, and the check is left out of the rubric.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use netlab_common::grade::conn::{PATIENCE, io_said};
use netlab_common::grade::{Check, CheckResult, Failure, show_bytes};
use socket2::{Domain, Protocol, Socket, Type};

use super::Target;
use super::dialogue::with;
use super::session::{Control, open_data, read_all, shown};

/// How long the grader listens on the control connection for a sign that the transfer went
/// to the stranger (a `226`). A correct server says nothing more until the client connects.
const AFTER_THEFT: Duration = Duration::from_millis(500);

/// The port-theft check, where the grader has a second address to connect from (see the
/// module docs); elsewhere none.
pub fn checks(t: &Target) -> Vec<Check> {
    let Some(from) = another_local_ip(t.addr.ip()) else {
        return Vec::new();
    };
    vec![Check::required(
        "foreign data connection",
        2,
        "data only from the client (against port theft)",
        with(t, move |t| stolen_data(t, from)),
    )]
}

/// `PASV`; a stranger (the grader at `from`) connects to the port first; `LIST`. The stranger
/// must be closed without a byte, and the listing must not be reported as sent (`226`). Then
/// the grader connects from the right address, so the server is not left waiting.
fn stolen_data(t: Target, from: IpAddr) -> CheckResult {
    let mut c = Control::login(&t)?;
    let at = c.passive()?;
    let stranger = connect_from(from, at)?;
    c.send("LIST")?;
    let verdict = stranger_got_nothing(stranger, from).and_then(|()| no_transfer(&mut c, from));
    if let Ok(data) = open_data(at) {
        let _ = read_all(data, "LIST");
    }
    c.quit();
    verdict
}

/// The stranger's connection ends (a close or a reset) and nothing arrives on it.
fn stranger_got_nothing(mut stranger: TcpStream, from: IpAddr) -> CheckResult {
    let expected = || {
        format!(
            "the data connection from {from}, not the client's address, closed without a byte \
             (port theft, RFC 2577 section 8)"
        )
    };
    let mut buf = [0u8; 256];
    match stranger.read(&mut buf) {
        Ok(0) => Ok(()),
        Err(err) if err.kind() == ErrorKind::ConnectionReset => Ok(()),
        Ok(n) => Err(Failure::new(
            expected(),
            format!(
                "the listing went to it: {}",
                show_bytes(buf.get(..n).unwrap_or_default())
            ),
        )),
        Err(err) => Err(Failure::new(
            expected(),
            format!("{}: the connection was kept open", io_said(&err)),
        )),
    }
}

/// No `226`/`250` on the control connection while only the stranger is connected: an empty
/// listing sent to the stranger would look like a refusal on its side, but not on this one.
fn no_transfer(c: &mut Control, from: IpAddr) -> CheckResult {
    c.set_patience(AFTER_THEFT);
    let mut outcome = Ok(());
    while let Ok(reply) = c.reply() {
        if matches!(reply.code, 226 | 250) {
            outcome = Err(Failure::new(
                format!(
                    "no transfer while only {from}, not the client's address, had connected \
                     (port theft, RFC 2577 section 8)"
                ),
                format!("{}: the listing went to {from}", shown(&reply)),
            ));
            break;
        }
    }
    c.set_patience(PATIENCE);
    outcome
}

/// The address to connect from as "another host" when the server is at `server`: on Linux
/// loopback, 127.0.0.2 (127.0.0.3 if the server is on 127.0.0.2); elsewhere none.
pub fn another_local_ip(server: IpAddr) -> Option<IpAddr> {
    let IpAddr::V4(server) = server else {
        return None;
    };
    if !cfg!(target_os = "linux") || !server.is_loopback() {
        return None;
    }
    let other = if server == Ipv4Addr::new(127, 0, 0, 2) {
        Ipv4Addr::new(127, 0, 0, 3)
    } else {
        Ipv4Addr::new(127, 0, 0, 2)
    };
    Some(IpAddr::V4(other))
}

/// A connection to `to` from the local address `from` (bound before connecting).
fn connect_from(from: IpAddr, to: SocketAddr) -> Result<TcpStream, Failure> {
    let expected = || format!("a connection from {from} to the passive port {to}");
    let socket = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))
        .map_err(|err| Failure::new(expected(), err.to_string()))?;
    socket
        .bind(&SocketAddr::new(from, 0).into())
        .and_then(|()| socket.connect_timeout(&to.into(), PATIENCE))
        .map_err(|err| Failure::new(expected(), io_said(&err)))?;
    let stream = TcpStream::from(socket);
    let _ = stream.set_read_timeout(Some(PATIENCE));
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_host_on_linux_loopback_only() {
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        if cfg!(target_os = "linux") {
            assert_eq!(
                another_local_ip(loopback),
                Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
            );
        }
        assert_eq!(
            another_local_ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            None
        );
    }
}
