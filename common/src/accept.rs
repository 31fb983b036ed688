//! # An accept loop that survives running out of threads and file descriptors
//!
//! A thread-per-client server is a loop: `accept` a connection, start a thread for it, repeat.
//! Written the obvious way (`for stream in listener.incoming() { thread::spawn(...) }`) it has
//! three failure modes that a hostile or merely busy world finds quickly:
//!
//! 1. **No thread to be had.** `std::thread::spawn` *panics* when the operating system refuses a
//!    new thread (a per-user process limit such as `ulimit -u`, or no address space left for
//!    another stack under `ulimit -v`). A panic in the accept loop ends the whole server: one
//!    connection too many closes the port for everybody. So threads are started with
//!    [`std::thread::Builder::spawn`], which returns the error instead, and the one connection
//!    that could not get a thread is turned away ([`Turnaway::NoThread`]), with a log line.
//! 2. **Unbounded threads.** Every accepted connection costs a thread *before* the server knows
//!    whether it has room for that client: a room that is full still needs a thread to say so and
//!    to close gracefully (see [`crate::net::close_gracefully`], up to two seconds). Four hundred
//!    connections at once would be four hundred threads. So the loop counts the threads it has
//!    started and still running, and past [`ClientThreads::max_threads`] it turns the connection
//!    away at once, in the loop itself, without a thread ([`Turnaway::Busy`]).
//! 3. **No file descriptor.** Every socket is a file descriptor, and a process has a limit
//!    (`ulimit -n`). When it is reached, `accept` fails (EMFILE, "too many open files") and the
//!    waiting connection *stays in the kernel's queue*. Retrying at once fails again at once: the
//!    loop would spin a core at 100 % printing warnings. Errors that are about the whole process
//!    rather than one connection therefore make the loop pause for [`ACCEPT_BACKOFF`], during
//!    which other clients leave and free descriptors; errors about one connection (it was reset
//!    before we accepted it) are skipped at once.
//!
//! A connection turned away in the loop is told why when the lab's protocol allows it (the
//! lab's `turn_away` function writes one line, *without blocking*: a fresh socket's send buffer
//! always has room for a line, and the accept loop must never wait on one client), then closed.
//! There is no lingering close for it, because lingering needs a thread: if that client had
//! already sent bytes we never read, its kernel may answer our close with a reset and drop the
//! line. That is the price of keeping the server up when it has nothing left to give.
//!
//! Memory: with threads bounded, each costing one stack of a known size, a server's address
//! space is bounded too; when even that is refused, case 1 applies.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::net::StopSignal;
use crate::term;

/// How long the accept loop pauses after an error that is about the whole process (out of file
/// descriptors, out of kernel memory) rather than one connection. Long enough not to spin, short
/// enough that a freed descriptor is used soon.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Threads a server may run beyond one per admitted client: room for connections that are being
/// told "server full" and closed gracefully while the server is full.
pub const SPARE_THREADS: usize = 32;

/// How a server starts one thread per client.
#[derive(Debug, Clone)]
pub struct ClientThreads {
    /// Name of each client thread (shown by debuggers and `top -H`).
    pub name: &'static str,
    /// Stack size of each client thread; `None` keeps the standard library's default (2 MiB).
    pub stack_size: Option<usize>,
    /// Most client threads running at once; further connections are turned away in the loop.
    pub max_threads: usize,
}

impl ClientThreads {
    /// Threads for a server that admits `max_clients`: one each, plus [`SPARE_THREADS`].
    pub fn for_clients(name: &'static str, max_clients: usize) -> ClientThreads {
        ClientThreads {
            name,
            stack_size: None,
            max_threads: max_clients.saturating_add(SPARE_THREADS),
        }
    }

    /// The same, with a smaller stack for each thread.
    pub fn with_stack_size(mut self, bytes: usize) -> ClientThreads {
        self.stack_size = Some(bytes);
        self
    }
}

/// Why the accept loop turned a connection away without starting a thread for it.
#[derive(Debug)]
pub enum Turnaway {
    /// [`ClientThreads::max_threads`] client threads are already running.
    Busy {
        /// The limit that was reached.
        max_threads: usize,
    },
    /// The operating system refused to create a thread.
    NoThread(io::Error),
}

impl std::fmt::Display for Turnaway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Turnaway::Busy { max_threads } => {
                write!(f, "{max_threads} client threads already running")
            }
            Turnaway::NoThread(err) => write!(f, "cannot start a thread: {err}"),
        }
    }
}

/// Accepts connections until `stop` is requested (or for ever), running `handle` for each on a
/// thread of its own, within the bounds of `threads`.
///
/// A connection that cannot have a thread is passed to `turn_away`, which may write a short
/// refusal (the socket is non-blocking by then, so a write that would wait fails instead); the
/// loop then closes it and logs why.
pub fn serve_each<H, R>(
    listener: &TcpListener,
    stop: Option<&StopSignal>,
    threads: &ClientThreads,
    handle: H,
    turn_away: R,
) where
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    R: Fn(&TcpStream, SocketAddr, &Turnaway),
{
    let handle = Arc::new(handle);
    let running = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = listener.accept();
        if stop.is_some_and(StopSignal::requested) {
            break;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                pause_if_exhausted(&err);
                continue;
            }
        };
        if running.load(Ordering::SeqCst) >= threads.max_threads {
            let busy = Turnaway::Busy {
                max_threads: threads.max_threads,
            };
            refuse_in_loop(stream, peer, &busy, &turn_away);
            continue;
        }
        if let Err((stream, no_thread)) = start_client(stream, peer, threads, &handle, &running) {
            refuse_in_loop(stream, peer, &no_thread, &turn_away);
        }
    }
}

/// Logs a failed `accept`, and pauses when the failure is about the whole process.
fn pause_if_exhausted(err: &io::Error) {
    if accept_failure(err) == AcceptFailure::Exhausted {
        thread::sleep(ACCEPT_BACKOFF);
    }
}

/// What a failed `accept` means for a server, blocking loop or event loop alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptFailure {
    /// Nothing more is waiting (`WouldBlock` from a non-blocking listener): back to the event
    /// loop until the next readiness event.
    Drained,
    /// That one connection is gone (reset or aborted before it was accepted, or a signal
    /// interrupted the call): the next one may be fine.
    OneConnection,
    /// The whole process is short of something (EMFILE: out of file descriptors; ENOMEM): the
    /// connection stays in the kernel's queue, and accepting again at once would spin. Logged
    /// here; the caller pauses accepting for [`ACCEPT_BACKOFF`].
    Exhausted,
}

/// Classifies a failed `accept` (and logs the exhausted case once, with the pause).
pub fn accept_failure(err: &io::Error) -> AcceptFailure {
    match err.kind() {
        io::ErrorKind::WouldBlock => AcceptFailure::Drained,
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted => AcceptFailure::OneConnection,
        _ => {
            term::warn(format!(
                "accept failed: {err}; pausing {} ms before accepting again",
                ACCEPT_BACKOFF.as_millis()
            ));
            AcceptFailure::Exhausted
        }
    }
}

/// Counts one running client thread; the count goes down when the thread ends, however it ends
/// (a panic in a client thread unwinds through this guard too).
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts a thread for one client. If the operating system refuses, gives the connection back
/// with the reason, so the caller can still tell the client.
fn start_client<H>(
    stream: TcpStream,
    peer: SocketAddr,
    threads: &ClientThreads,
    handle: &Arc<H>,
    running: &Arc<AtomicUsize>,
) -> std::result::Result<(), (TcpStream, Turnaway)>
where
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    // `Builder::spawn` drops its closure when it fails, and the stream with it. Handing the
    // stream over through a shared slot lets us take it back and refuse the client properly.
    let handoff = Arc::new(Mutex::new(Some(stream)));
    let slot = Arc::clone(&handoff);
    let handle = Arc::clone(handle);
    running.fetch_add(1, Ordering::SeqCst);
    let counted = Running(Arc::clone(running));
    let mut builder = thread::Builder::new().name(threads.name.to_string());
    if let Some(bytes) = threads.stack_size {
        builder = builder.stack_size(bytes);
    }
    let spawned = builder.spawn(move || {
        let _counted = counted;
        let stream = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(stream) = stream {
            handle(stream, peer);
        }
    });
    match spawned {
        Ok(_) => Ok(()),
        Err(err) => {
            let stream = handoff
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            match stream {
                Some(stream) => Err((stream, Turnaway::NoThread(err))),
                None => Ok(()), // unreachable in practice: the thread never ran
            }
        }
    }
}

/// Turns a connection away from inside the accept loop: the lab's refusal (non-blocking), a
/// half-close so the client reads end of stream after it, a log line.
fn refuse_in_loop<R>(stream: TcpStream, peer: SocketAddr, why: &Turnaway, turn_away: &R)
where
    R: Fn(&TcpStream, SocketAddr, &Turnaway),
{
    term::warn(format!("turned away {peer}: {why}"));
    if stream.set_nonblocking(true).is_ok() {
        turn_away(&stream, peer, why);
    }
    let _ = stream.shutdown(Shutdown::Write);
}

/// Writes `refusal` (a line, a frame) to a connection that is being turned away (the socket, or
/// the socket wrapped in a [`crate::Traced`]), if it fits at once.
pub fn write_refusal(mut out: impl Write, refusal: &[u8]) {
    let _ = out.write_all(refusal);
}

/// Starts a named helper thread (a writer, a ticker, a console reader), returning an error a
/// student can read instead of panicking when the operating system has no thread to give.
pub fn spawn_named<F, T>(name: &str, work: F) -> Result<thread::JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    thread::Builder::new()
        .name(name.to_string())
        .spawn(work)
        .map_err(|err| Error::io(format!("starting the {name} thread"), err))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{BufRead, BufReader, Read};
    use std::sync::mpsc;

    use super::*;
    use crate::net;

    /// Starts `serve_each` on a free port with the given thread bound; every client thread waits
    /// for a line on `release` (one per client) before answering "hello" and closing.
    fn start(max_threads: usize) -> (SocketAddr, mpsc::Sender<()>) {
        let listener = net::listen(([127, 0, 0, 1], 0).into()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, released) = mpsc::channel::<()>();
        let released = Mutex::new(released);
        thread::spawn(move || {
            let threads = ClientThreads {
                name: "test-client",
                stack_size: Some(64 * 1024),
                max_threads,
            };
            serve_each(
                &listener,
                None,
                &threads,
                move |mut stream, _peer| {
                    let _ = released.lock().unwrap().recv();
                    let _ = stream.write_all(b"hello\n");
                },
                |stream, _peer, why| {
                    write_refusal(stream, format!("ERROR busy: {why}\n").as_bytes())
                },
            );
        });
        (addr, release)
    }

    fn first_line(stream: &TcpStream) -> String {
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        line
    }

    /// Past `max_threads` a connection is refused at once with the lab's line, and once a
    /// client thread ends its place is free again.
    /// A drained listener, a lost connection and an exhausted process are told apart.
    #[test]
    fn accept_failures_are_classified() {
        let kind = |kind| accept_failure(&io::Error::from(kind));
        assert_eq!(kind(io::ErrorKind::WouldBlock), AcceptFailure::Drained);
        assert_eq!(
            kind(io::ErrorKind::ConnectionAborted),
            AcceptFailure::OneConnection
        );
        assert_eq!(
            kind(io::ErrorKind::Interrupted),
            AcceptFailure::OneConnection
        );
        let emfile = io::Error::from_raw_os_error(24); // EMFILE on Linux and macOS
        assert_eq!(accept_failure(&emfile), AcceptFailure::Exhausted);
    }

    #[test]
    fn connections_past_the_thread_bound_are_turned_away_until_one_ends() {
        let (addr, release) = start(2);
        let first = TcpStream::connect(addr).unwrap();
        let second = TcpStream::connect(addr).unwrap();
        let third = TcpStream::connect(addr).unwrap();
        assert_eq!(
            first_line(&third),
            "ERROR busy: 2 client threads already running\n"
        );
        let mut rest = Vec::new();
        (&third).read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "nothing after the refusal: {rest:?}");
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert_eq!(first_line(&first), "hello\n");
        assert_eq!(first_line(&second), "hello\n");
        // A thread's place is given back just after its client reads "hello", so a client
        // that connects at that very moment may still be turned away: retry a few times.
        let served = (0..100).any(|_| {
            let fourth = TcpStream::connect(addr).unwrap();
            release.send(()).unwrap();
            first_line(&fourth) == "hello\n"
        });
        assert!(served, "the places of ended threads were never given back");
    }
}
