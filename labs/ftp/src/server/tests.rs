//! The session state machine driven directly: commands in, steps out, time as an argument, no
//! sockets. Only a temporary directory stands in for `--root`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accounts::Accounts;
use super::session::{Keep, Session, Step, TransferKind};
use super::{ServeConfig, Shared};
use crate::command::Command;
use netlab_common::Tracer;

struct Fixture {
    dir: PathBuf,
    session: Session,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(label: &str) -> Fixture {
    fixture_with(label, false)
}

fn fixture_with(label: &str, require_tls: bool) -> Fixture {
    let dir = std::env::temp_dir().join(format!("ftp-lab-session-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("hello.txt"), b"hello").unwrap();
    let mut accounts = Accounts::new(true);
    accounts.add("alice", "pw").unwrap();
    let config = ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        root: dir.clone(),
        accounts,
        max_clients: 4,
        max_per_ip: 4,
        pasv_ports: None,
        idle_timeout: Some(Duration::from_secs(60)),
        data_timeout: Duration::from_secs(5),
        tracer: Tracer::new(false),
        stop_on_stdin_eof: false,
        tls: Default::default(),
        require_tls,
    };
    let shared = Arc::new(Shared::new(&config).unwrap());
    let peer: SocketAddr = "192.0.2.10:40000".parse().unwrap();
    let local: SocketAddr = "192.0.2.1:2121".parse().unwrap();
    Fixture {
        dir,
        session: Session::new(shared, peer, local),
    }
}

fn send(session: &mut Session, line: &str) -> Step {
    session.handle(&Command::parse(line.as_bytes()).unwrap(), Instant::now())
}

/// The reply code of a step that is a plain reply (or a close, or a wait for one).
fn code(step: &Step) -> u16 {
    match step {
        Step::Reply(reply) | Step::Close(reply) | Step::StartTls(reply) => reply.code,
        Step::Wait(_, inner) => code(inner),
        other => panic!("not a reply: {other:?}"),
    }
}

/// USER then PASS logs in; a wrong password is answered after a delay, and the third one on a
/// connection closes it.
#[test]
fn login_state_machine() {
    let mut fixture = fixture("login");
    let session = &mut fixture.session;
    assert_eq!(code(&send(session, "LIST")), 530);
    assert_eq!(code(&send(session, "USER alice")), 331);
    match send(session, "PASS nope") {
        Step::Wait(delay, inner) => {
            assert_eq!(delay, Duration::from_millis(250));
            assert!(matches!(*inner, Step::Reply(ref reply) if reply.code == 530));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(code(&send(session, "PASS pw")), 503, "USER must come again");
    send(session, "USER alice");
    send(session, "PASS nope");
    send(session, "USER alice");
    assert!(matches!(
        send(session, "PASS nope"),
        Step::Wait(_, inner) if matches!(*inner, Step::Close(ref reply) if reply.code == 421)
    ));
}

/// The bounce check needs no socket: the peer's address is data.
#[test]
fn port_checks() {
    let mut fixture = fixture("port");
    let session = &mut fixture.session;
    send(session, "USER anonymous");
    send(session, "PASS x");
    assert_eq!(code(&send(session, "PORT 10,0,0,1,200,0")), 504);
    assert_eq!(code(&send(session, "PORT 192,0,2,10,0,21")), 504);
    assert!(matches!(
        send(session, "PORT 192,0,2,10,200,0"),
        Step::Active(addr) if addr == "192.0.2.10:51200".parse().unwrap()
    ));
    assert!(matches!(
        send(session, "EPSV"),
        Step::Passive { extended: true }
    ));
}

/// REST applies to the next RETR or STOR; APPE keeps the whole file; anonymous cannot STOR.
#[test]
fn transfers_carry_their_offsets() {
    let mut fixture = fixture("rest");
    let session = &mut fixture.session;
    send(session, "USER anonymous");
    send(session, "PASS x");
    assert_eq!(code(&send(session, "STOR new.txt")), 550);
    assert_eq!(code(&send(session, "REST 2")), 350);
    match send(session, "RETR hello.txt") {
        Step::Transfer(transfer) => {
            assert!(matches!(
                transfer.kind,
                TransferKind::Send {
                    offset: 2,
                    size: 5,
                    ..
                }
            ));
            assert_eq!(transfer.shown, "/hello.txt");
        }
        other => panic!("{other:?}"),
    }
    send(session, "USER alice");
    send(session, "PASS pw");
    send(session, "REST 3");
    let keep_of = |step: Step| match step {
        Step::Transfer(transfer) => match transfer.kind {
            TransferKind::Receive { keep, .. } => keep,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(keep_of(send(session, "STOR hello.txt")), Keep::First(3));
    assert_eq!(keep_of(send(session, "STOR hello.txt")), Keep::Nothing);
    assert_eq!(keep_of(send(session, "APPE hello.txt")), Keep::All);
}

/// RNTO works only right after RNFR.
#[test]
fn rename_sequence() {
    let mut fixture = fixture("rename");
    let session = &mut fixture.session;
    send(session, "USER alice");
    send(session, "PASS pw");
    assert_eq!(code(&send(session, "RNFR hello.txt")), 350);
    assert_eq!(code(&send(session, "RNTO docs/moved.txt")), 250);
    assert_eq!(code(&send(session, "RNTO docs/again.txt")), 503);
    assert!(fixture.dir.join("docs/moved.txt").exists());
}

/// REIN logs out but keeps the connection's failed logins: two failures, an anonymous login,
/// REIN, and the next failure is the third on this connection (421, close).
#[test]
fn rein_keeps_the_connection_failure_count() {
    let mut fixture = fixture("rein");
    let session = &mut fixture.session;
    for _ in 0..2 {
        send(session, "USER alice");
        assert_eq!(code(&send(session, "PASS nope")), 530);
    }
    send(session, "USER anonymous");
    assert_eq!(code(&send(session, "PASS x")), 230);
    assert_eq!(code(&send(session, "REIN")), 220);
    assert_eq!(code(&send(session, "PWD")), 530);
    send(session, "USER alice");
    assert!(matches!(
        send(session, "PASS nope"),
        Step::Wait(_, inner) if matches!(*inner, Step::Close(ref reply) if reply.code == 421)
    ));
}

/// RFC 4217's order: PBSZ and PROT need AUTH TLS, PROT needs PBSZ; AUTH SSL and PROT S/E are
/// refused with their codes; CCC is refused once protected; PROT P protects data connections.
#[test]
fn protection_commands_in_order() {
    let mut fixture = fixture("protection");
    let session = &mut fixture.session;
    assert_eq!(code(&send(session, "PROT P")), 503);
    assert_eq!(code(&send(session, "PBSZ 0")), 503);
    assert_eq!(code(&send(session, "CCC")), 503);
    assert_eq!(code(&send(session, "AUTH SSL")), 504);
    assert_eq!(code(&send(session, "AUTH KERBEROS_V4")), 504);
    assert!(matches!(send(session, "AUTH TLS"), Step::StartTls(reply) if reply.code == 234));
    session.control_protected();
    assert_eq!(code(&send(session, "AUTH TLS")), 503);
    assert_eq!(code(&send(session, "PROT P")), 503);
    assert_eq!(code(&send(session, "PBSZ x")), 501);
    assert_eq!(code(&send(session, "PBSZ 0")), 200);
    assert_eq!(code(&send(session, "PROT S")), 536);
    assert_eq!(code(&send(session, "PROT E")), 536);
    assert_eq!(code(&send(session, "PROT Q")), 504);
    assert!(!session.data_protected());
    assert_eq!(code(&send(session, "PROT P")), 200);
    assert!(session.data_protected());
    assert_eq!(code(&send(session, "CCC")), 534);
    assert_eq!(code(&send(session, "USER anonymous")), 331);
    assert_eq!(code(&send(session, "PASS me@example.org")), 230);
    assert_eq!(code(&send(session, "REIN")), 220);
    assert!(session.data_protected(), "REIN keeps TLS");
}

/// `--require-tls`: USER and PASS are refused with 534 on a clear connection, and accepted
/// once the control connection is protected.
#[test]
fn require_tls_refuses_clear_logins() {
    let mut fixture = fixture_with("require-tls", true);
    let session = &mut fixture.session;
    assert_eq!(code(&send(session, "USER alice")), 534);
    assert_eq!(code(&send(session, "PASS pw")), 534);
    assert_eq!(session.user(), None);
    assert!(matches!(send(session, "AUTH TLS"), Step::StartTls(_)));
    session.control_protected();
    assert_eq!(code(&send(session, "USER alice")), 331);
    assert_eq!(code(&send(session, "PASS pw")), 230);
}

/// `--require-tls`: a transfer while data connections are clear (no `PROT P`) is refused with
/// 521 before any data connection, for every transfer verb; `PROT C` is refused with 534 and
/// leaves `PROT P` in force; after `PROT P` the same commands become transfers.
#[test]
fn require_tls_refuses_clear_transfers() {
    let mut fixture = fixture_with("require-tls-data", true);
    let session = &mut fixture.session;
    assert!(matches!(send(session, "AUTH TLS"), Step::StartTls(_)));
    session.control_protected();
    send(session, "USER alice");
    assert_eq!(code(&send(session, "PASS pw")), 230);
    for command in [
        "RETR hello.txt",
        "STOR new.txt",
        "APPE hello.txt",
        "LIST",
        "NLST",
        "MLSD",
    ] {
        match send(session, command) {
            Step::Reply(reply) => {
                assert_eq!(reply.code, 521, "{command}");
                assert!(
                    reply.lines.join(" ").contains("PROT P"),
                    "{command}: {reply:?}"
                );
            }
            other => panic!("{command}: {other:?}"),
        }
    }
    assert_eq!(code(&send(session, "PBSZ 0")), 200);
    assert_eq!(code(&send(session, "PROT C")), 534);
    assert_eq!(code(&send(session, "RETR hello.txt")), 521);
    assert_eq!(code(&send(session, "PROT P")), 200);
    assert_eq!(code(&send(session, "PROT C")), 534);
    assert!(session.data_protected(), "a refused PROT C changes nothing");
    for command in ["RETR hello.txt", "STOR new.txt", "LIST"] {
        assert!(
            matches!(send(session, command), Step::Transfer(_)),
            "{command}"
        );
    }
}

/// Without `--require-tls`, clear data connections stay the client's choice: `PROT C` is
/// accepted and a transfer after it is a transfer.
#[test]
fn clear_transfers_allowed_without_require_tls() {
    let mut fixture = fixture("clear-data");
    let session = &mut fixture.session;
    assert!(matches!(send(session, "AUTH TLS"), Step::StartTls(_)));
    session.control_protected();
    send(session, "USER alice");
    send(session, "PASS pw");
    assert!(matches!(send(session, "RETR hello.txt"), Step::Transfer(_)));
    send(session, "PBSZ 0");
    assert_eq!(code(&send(session, "PROT C")), 200);
    assert!(matches!(send(session, "LIST"), Step::Transfer(_)));
}
