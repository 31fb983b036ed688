//! # The room server: one thread per client, plus one writer thread each
//!
//! The accept loop hands every new connection to a thread of its own, which reads that client's
//! lines with plain blocking calls and acts on them. A thread per client is the simplest design
//! that lets many clients talk at once; it costs a thread stack per client, which is fine for a
//! room of people (the echo lab's mio engine shows the event-loop alternative).
//!
//! Each client also gets a *writer thread* that owns the sending side of its socket and writes
//! what other threads queue for it ([`Out`]). So when Ann's thread delivers her message to Bob it
//! only queues a line; it never blocks on Bob's socket, however slowly Bob reads.
//!
//! ## Silent clients are disconnected (`--idle-timeout`)
//! A place in the room is a thread, a socket and a slot under `--max-clients`. A client that
//! connects and then says nothing (a crashed laptop behind a NAT that never sends a FIN, or a
//! scanner that opened the port) would hold them forever. So each socket gets a read timeout of
//! `--idle-timeout` seconds: a read that waits that long ends the client's session with
//! `ERROR idle for N s (--idle-timeout N); disconnecting`. Every byte that arrives restarts the
//! clock, because each blocking read starts a new timeout. The same timeout bounds each write, so
//! a client that takes no bytes for that long is given up on as well.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netlab_common::accept::{self, ClientThreads, Turnaway};
use netlab_common::{Error, Result, Traced, Tracer, net, term};
use serde_json::Value;

use super::lines::LineReader;
use super::log::SessionLog;
use super::protocol::{self, MAX_LINE, Request};
use super::registry::{self, ClientId, Drained, Full, Out, QUEUE, QUEUE_HIGH, Queued, Registry};
use super::repository::Repository;
use super::{commands, console};

/// What `tcp-chat room serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// `--max-clients`.
    pub max_clients: usize,
    /// `--trace`.
    pub tracer: Tracer,
    /// `--files DIR`.
    pub files: Option<PathBuf>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--max-upload`.
    pub max_upload: u64,
    /// `--session-log FILE`.
    pub session_log: Option<PathBuf>,
    /// `--idle-timeout`: how long a client may stay silent; `None` for ever.
    pub idle_timeout: Option<Duration>,
}

/// What every client thread shares.
#[derive(Debug)]
pub struct Shared {
    registry: Mutex<Registry>,
    /// Wakes talkers waiting for the room to catch up ([`keep_pace_with_the_room`]).
    drained: Arc<Drained>,
    files: Option<Repository>,
    log: SessionLog,
    tracer: Tracer,
    idle_timeout: Option<Duration>,
}

impl Shared {
    /// The file repository, if the room has one (`--files`).
    pub fn files(&self) -> Option<&Repository> {
        self.files.as_ref()
    }

    /// The session cache. A thread that panicked while holding the lock cannot have left the
    /// table half-changed in a way that matters more than losing the room, so a poisoned lock is
    /// used as it is.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the room until the process is stopped.
pub fn serve(config: &ServeConfig) -> Result<()> {
    let files = config
        .files
        .as_ref()
        .map(|dir| {
            Repository::open(dir, config.read_only, config.max_upload).map_err(|err| {
                Error::io(
                    format!("opening the file repository {}", dir.display()),
                    err,
                )
            })
        })
        .transpose()?;
    let log = SessionLog::open(config.session_log.as_deref())
        .map_err(|err| Error::io("opening the session log", err))?;
    let net::Listening { listener, stop, .. } = net::start_server(config.addr)?;
    term::info(format!(
        "room open for up to {} clients; type here to talk to everyone, /msg NAME text to one, \
         status to see who is in",
        config.max_clients
    ));
    let shared = Arc::new(Shared {
        registry: Mutex::new(Registry::new(config.max_clients)),
        drained: Arc::default(),
        files,
        log,
        tracer: config.tracer,
        idle_timeout: config.idle_timeout,
    });
    console::spawn(Arc::clone(&shared))?;
    // One thread per client, bounded: see netlab_common::accept for what happens when the
    // machine has no thread or file descriptor left, or too many connections arrive at once.
    let threads = ClientThreads::for_clients("room-client", config.max_clients);
    let for_clients = Arc::clone(&shared);
    accept::serve_each(
        &listener,
        Some(&stop),
        &threads,
        move |stream, _peer| {
            if let Err(err) = handle(&for_clients, stream) {
                term::warn(format!("a client's connection failed: {err}"));
            }
        },
        |stream, peer, why| turn_away(&shared, stream, peer, why),
    );
    Ok(())
}

/// Tells a client the accept loop could not start a thread for why it is turned away (see
/// [`accept::serve_each`]); the loop closes the connection.
fn turn_away(shared: &Shared, stream: &TcpStream, peer: SocketAddr, why: &Turnaway) {
    let line = match why {
        Turnaway::Busy { .. } => {
            "ERROR the room is busy turning other clients away; try again later\n"
        }
        Turnaway::NoThread(_) => "ERROR the server has no thread left for you; try again later\n",
    };
    shared.log.record(
        "reject",
        peer,
        &[("reason", Value::String(why.to_string()))],
    );
    accept::write_refusal(Traced::new(stream, peer, shared.tracer), line.as_bytes());
}

/// Why a client left.
enum Leaving {
    /// It typed `exit`; `BYE` and a graceful close are queued for its writer.
    Exit,
    /// It broke a limit; an `ERROR` line and a graceful close are queued for its writer.
    Refused(String),
    /// It closed its side (end of stream): what was queued for it still goes out, then its
    /// writer closes. A client that half-closes after its last line still gets the answer.
    Closed,
    /// The connection failed under it.
    Lost(String),
}

/// One client, from admission to removal.
fn handle(shared: &Shared, stream: TcpStream) -> Result<()> {
    let peer = stream
        .peer_addr()
        .map_err(|err| Error::io("reading the client's address", err))?;
    let _ = stream.set_nodelay(true);
    // One socket, so the reader thread and the writer thread both get these (see the module docs).
    let _ = stream.set_read_timeout(shared.idle_timeout);
    let _ = stream.set_write_timeout(shared.idle_timeout);
    let clone = || {
        stream
            .try_clone()
            .map_err(|err| Error::io("duplicating the socket", err))
    };
    let (outbox, queue) = mpsc::sync_channel(QUEUE);
    // Admission, WELCOME and the announcement to the others are one step under the lock: once
    // the client is in the table other threads queue lines for it (`INFO ... left`), and its
    // first line must be WELCOME; once it has its name, everyone already in the room knows it.
    // Every handle on the socket is made before admission: once the client is in the table, a
    // failure (out of file descriptors) must not leave it there as a ghost holding a place.
    let socket = clone()?;
    let writer = clone()?;
    let reading = clone()?;
    let admitted = {
        let mut registry = shared.registry();
        registry.admit(peer, outbox, socket).map(|(id, name)| {
            let queued = registry.queued(id).unwrap_or_default();
            registry.send(id, Out::Line(format!("WELCOME {name}")));
            registry.broadcast(Some(id), &format!("INFO {name} joined"));
            (id, name, registry.len(), registry.max_clients(), queued)
        })
    };
    let (id, name, taken, places, queued) = match admitted {
        Ok(admitted) => admitted,
        Err(full) => {
            refuse(shared, &stream, peer, full);
            return Ok(());
        }
    };
    // Logged before the writer starts: a client that has read its WELCOME can rely on the log.
    shared
        .log
        .record("connect", peer, &[("name", Value::String(name.clone()))]);
    let tracer = shared.tracer;
    let drained = Arc::clone(&shared.drained);
    let started = accept::spawn_named("room-writer", move || {
        write_out(writer, peer, tracer, &queue, &queued, &drained);
    });
    if let Err(err) = started {
        // Without a writer nothing can reach this client: take it out again and close.
        shared.registry().remove(id);
        shared.drained.notify();
        shared
            .registry()
            .broadcast(None, &format!("INFO {name} left (connection lost)"));
        term::warn(format!("{name} from {peer} turned away: {err}"));
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return Ok(());
    }
    term::info(format!(
        "{name} joined from {peer} ({taken} of {places} places taken)"
    ));

    let reader = LineReader::new(Traced::new(reading, peer, shared.tracer), MAX_LINE);
    let leaving = serve_client(shared, id, reader);

    let removed = shared.registry().remove(id);
    // Talkers waiting for this member's queue to drain need not wait any more.
    shared.drained.notify();
    let Some(member) = removed else {
        return Ok(());
    };
    let (reason, told) = match &leaving {
        Leaving::Exit => ("exit".to_string(), format!("INFO {} left", member.name)),
        Leaving::Closed => (
            "closed the connection".to_string(),
            format!("INFO {} left (connection lost)", member.name),
        ),
        Leaving::Refused(why) | Leaving::Lost(why) => (
            why.clone(),
            format!("INFO {} left (connection lost)", member.name),
        ),
    };
    // Log first, then tell people: whoever sees the announcement can rely on the log line.
    shared.log.record(
        "disconnect",
        peer,
        &[
            ("name", Value::String(member.name.clone())),
            ("reason", Value::String(reason.clone())),
            ("seconds", member.connected_at.elapsed().as_secs().into()),
            ("messages", member.messages.into()),
        ],
    );
    shared.registry().broadcast(None, &told);
    term::info(format!("{} left: {reason}", member.name));
    if let Leaving::Lost(_) = leaving {
        // Wake the writer (it may be blocked on a dead socket) so its thread ends. After `exit`
        // or a refusal the writer closes the connection itself, once its last line is out.
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
    Ok(())
}

/// Tells a client beyond `--max-clients` why it is turned away, logs it, and closes.
fn refuse(shared: &Shared, stream: &TcpStream, peer: SocketAddr, full: Full) {
    let line = format!(
        "ERROR the room is full ({0} clients, --max-clients {0}); try again later\n",
        full.max_clients
    );
    shared.log.record(
        "reject",
        peer,
        &[("reason", Value::String("room full".into()))],
    );
    let mut wire = Traced::new(stream, peer, shared.tracer);
    let _ = wire.write_all(line.as_bytes());
    term::warn(format!("refused {peer}: the room is full"));
    net::close_gracefully(stream);
}

/// How long talkers wait for a member with more than [`QUEUE_HIGH`] items queued to catch up
/// before they stop waiting for it (see `room::registry`, "A fast talker ...").
const LAGGARD_GRACE: Duration = Duration::from_secs(2);

/// Before reading a client's next line: waits while some member's queue is over [`QUEUE_HIGH`],
/// for at most [`LAGGARD_GRACE`]. Meanwhile this client's bytes wait in the kernel, and TCP flow
/// control slows its sender. The wait sleeps until a writer drains a queue to the mark (or a
/// member leaves), see [`Drained`]; it happens only while a backlog exists, so a room that keeps
/// up never waits.
fn keep_pace_with_the_room(shared: &Shared) {
    let started = Instant::now();
    loop {
        // Noted before looking: a queue that drains after the look still wakes the wait below.
        let seen = shared.drained.generation();
        if shared.registry().longest_queue() <= QUEUE_HIGH {
            return;
        }
        let left = LAGGARD_GRACE.saturating_sub(started.elapsed());
        if left.is_zero() {
            shared.registry().stop_waiting_for_laggards(QUEUE_HIGH);
            // Other talkers waiting for the same laggard stop waiting too.
            shared.drained.notify();
            return;
        }
        shared.drained.wait_past(seen, left);
    }
}

/// Reads and answers one client's lines until it leaves.
fn serve_client<R: io::Read>(shared: &Shared, id: ClientId, mut reader: LineReader<R>) -> Leaving {
    loop {
        keep_pace_with_the_room(shared);
        let line = match reader.read_line() {
            Ok(Some(line)) => line,
            Ok(None) => {
                shared.registry().close(id);
                return Leaving::Closed;
            }
            Err(Error::Frame(err)) => return refuse_client(shared, id, &err.to_string()),
            // The socket's read timeout (`--idle-timeout`) passed with nothing received.
            Err(Error::Timeout { .. }) => {
                let seconds = shared.idle_timeout.unwrap_or_default().as_secs();
                let why = format!("idle for {seconds} s (--idle-timeout {seconds})");
                return refuse_client(shared, id, &why);
            }
            Err(err) => return Leaving::Lost(err.to_string()),
        };
        // Text from one person is shown to others: bytes that are not UTF-8 have no meaning as
        // text, so the line is refused instead of being relayed as replacement characters.
        let Ok(text) = std::str::from_utf8(&line) else {
            shared.registry().send(
                id,
                Out::Line(
                    "ERROR lines must be UTF-8 text; that one was not, and was not sent".into(),
                ),
            );
            continue;
        };
        match protocol::parse(text) {
            Request::Exit => {
                let registry = shared.registry();
                let name = registry.get(id).map(|member| member.name.clone());
                registry.send(id, Out::Line(format!("BYE {}", name.unwrap_or_default())));
                registry.send(id, Out::Close);
                return Leaving::Exit;
            }
            Request::Put { name, size } => {
                if let Err(why) = commands::receive_upload(shared, id, &mut reader, name, size) {
                    return Leaving::Lost(why);
                }
            }
            Request::List => commands::list(shared, id),
            Request::Get(name) => commands::get(shared, id, name),
            request => answer(shared, id, text, request),
        }
    }
}

/// Tells a client why it is being disconnected, then closes once that line is out.
fn refuse_client(shared: &Shared, id: ClientId, why: &str) -> Leaving {
    let registry = shared.registry();
    registry.send(id, Out::Line(format!("ERROR {why}; disconnecting")));
    registry.send(id, Out::Close);
    drop(registry);
    term::warn(format!("disconnecting a client: {why}"));
    Leaving::Refused(why.to_string())
}

/// Answers every request that needs no raw bytes from the client.
///
/// The lock is held while lines are queued, so a reply and the matching delivery to others are
/// one step that no other client's message can split. What the operator's screen shows is only
/// collected here and printed after the lock is released: a terminal (or a pipe nobody reads) can
/// be slow, and no I/O should happen while every client thread may be waiting for the lock.
fn answer(shared: &Shared, id: ClientId, line: &str, request: Request<'_>) {
    let mut console: Vec<(fn(String), String)> = Vec::new();
    let mut registry = shared.registry();
    let name = registry
        .get(id)
        .map(|member| member.name.clone())
        .unwrap_or_default();
    let reply = |registry: &Registry, text: String| {
        registry.send(id, Out::Line(text));
    };
    match request {
        Request::Empty => {}
        Request::Usage(usage) => reply(&registry, format!("ERROR {usage}")),
        Request::Say(text) => {
            let clean = term::sanitize(text);
            registry.count_message(id);
            reply(&registry, format!("ACK {clean}"));
            registry.broadcast(Some(id), &format!("MSG {name} {clean}"));
            console.push((
                term::chat,
                format!("{} {clean}", term::theirs(format!("{name}:"))),
            ));
        }
        Request::Private { to, text } => {
            let clean = term::sanitize(text);
            match registry.id_of(to) {
                Some(target) => {
                    registry.count_message(id);
                    let target_name = registry
                        .get(target)
                        .map(|member| member.name.clone())
                        .unwrap_or_default();
                    registry.send(target, Out::Line(format!("PRIVATE {name} {clean}")));
                    reply(&registry, format!("ACK {}", term::sanitize(line.trim())));
                    console.push((
                        term::chat,
                        format!(
                            "{} {clean}",
                            term::theirs(format!("{name} -> {target_name}:"))
                        ),
                    ));
                }
                None => reply(
                    &registry,
                    format!("ERROR no client named {} (try status)", term::sanitize(to)),
                ),
            }
        }
        Request::Nick(wanted) => {
            let result =
                protocol::check_name(wanted).and_then(|wanted| registry.rename(id, wanted));
            match result {
                Ok(old) => {
                    reply(&registry, format!("OK you are now {wanted}"));
                    registry.broadcast(Some(id), &format!("INFO {old} is now {wanted}"));
                    console.push((term::info, format!("{old} is now {wanted}")));
                }
                Err(error) => reply(&registry, error),
            }
        }
        Request::Status => {
            for status in registry.status_lines(Instant::now()) {
                reply(&registry, status);
            }
        }
        // Handled by the caller.
        Request::Exit | Request::Put { .. } | Request::List | Request::Get(_) => {}
    }
    drop(registry);
    for (print, text) in console {
        print(text);
    }
}

/// The writer thread: writes what is queued for one client, in order, counting each item down
/// in `queued` as it takes it, and waking waiting talkers when the count falls to
/// [`QUEUE_HIGH`]. When it ends, nothing more will be written, so nothing counts as queued any
/// more (talkers must not wait for a client that is gone).
fn write_out(
    stream: TcpStream,
    peer: SocketAddr,
    tracer: Tracer,
    queue: &Receiver<Out>,
    queued: &Queued,
    drained: &Drained,
) {
    write_queued(&stream, peer, tracer, queue, queued, drained);
    if queued.swap(0, std::sync::atomic::Ordering::SeqCst) > QUEUE_HIGH {
        drained.notify();
    }
}

fn write_queued(
    stream: &TcpStream,
    peer: SocketAddr,
    tracer: Tracer,
    queue: &Receiver<Out>,
    queued: &Queued,
    drained: &Drained,
) {
    let mut wire = Traced::new(stream, peer, tracer);
    for out in queue {
        if registry::count_down(queued) == Some(QUEUE_HIGH) {
            drained.notify();
        }
        let written = match out {
            Out::Line(line) => wire.write_all(format!("{line}\n").as_bytes()),
            Out::File { name, file, size } => commands::send_file(&mut wire, &name, file, size),
            Out::Close => {
                net::close_gracefully(stream);
                return;
            }
        };
        if written.is_err() {
            // The client is gone; its reader thread notices and removes it.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}
