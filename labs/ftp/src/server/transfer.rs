//! # Moving bytes on the data connection without losing any
//!
//! ## Downloads (RETR): zero-copy
//! A naive server reads the file into a buffer and writes the buffer to the socket: every byte
//! is copied from the kernel into the program and back, a few kilobytes per system call.
//! `sendfile(2)` instead asks the kernel to move bytes from the file (its page cache) straight
//! into the socket: no copy through our memory, and one system call per few megabytes. A 1 GiB
//! file costs no more memory than a 1 KiB one.
//!
//! `std::io::copy` from a `File` to a `TcpStream` looks like it would do this, but std
//! deliberately does *not* use sendfile for that pair: pages handed to a socket are sent later,
//! so a change to the file after `copy` returned could still show up in bytes it "already
//! wrote", which breaks what `Write` promises. (Measured here: `read` + `sendto` of 8 KiB each,
//! about half of vsftpd's speed.) An FTP server can accept that: a file changed during a
//! download arrives mixed whichever way it is read, and this server never changes a file in
//! place anyway (uploads are renamed over the old file, see below), so the old pages being sent
//! stay as they were. So on Linux we call sendfile ourselves, through rustix's safe wrapper; on
//! other systems `io::copy` does an ordinary buffered copy.
//!
//! Each sendfile call moves at most [`CHECK_EVERY`] bytes, so that between calls we can look at
//! the control connection for an `ABOR` (next section).
//!
//! ## Watching the control connection while the data connection is stuck
//! During a transfer the session's thread is busy with the *data* connection, but the client
//! may speak on the *control* connection: `ABOR` (RFC 959, 4.1.3), or closing it. The thread
//! must notice within a fraction of a second, and the hard case is when the data socket is
//! *blocked*: a client that stops reading during a RETR (the socket buffers fill and sendfile
//! waits) or that sends nothing during a STOR (read waits). With `--data-timeout` as the data
//! socket's timeout, such a wait lasted up to 30 s before the thread looked at the control
//! connection again (issue 14).
//!
//! Three designs would do, and we chose the first:
//!
//! 1. **Short waits on the data socket** ([`DATA_WAIT_SLICE`], 100 ms). Its read and write
//!    timeouts are one slice; a wait that ends with nothing moved is not yet a failure: the
//!    thread peeks at the control connection, and only when nothing has moved for the whole
//!    `--data-timeout` does the transfer fail ([`Watcher`]). While bytes flow, the control
//!    connection is looked at whenever a slice has passed since the last look. The code stays
//!    ordinary blocking code that works the same on Linux, macOS and Windows, and the cost is a
//!    wake-up every 100 ms of a *stalled* transfer (nothing measurable while bytes flow: one
//!    clock read per read or sendfile call, a peek per 100 ms). An `ABOR` is noticed after at
//!    most one slice.
//! 2. A `poll` over both sockets: exact, but `poll(2)` is not in std (it needs rustix on Unix
//!    and `WSAPoll` on Windows), and sendfile and the reads would have to switch to
//!    non-blocking sockets and readiness loops: an event loop inside every transfer.
//! 3. A second thread reading the control connection that shuts the data socket down on
//!    `ABOR`: prompt, but two threads then read one control connection, and who consumes the
//!    `ABOR` line becomes a race to reason about.
//!
//! Over TLS (`PROT P`, `crate::tls`) there is no zero-copy here: TLS runs in our program
//! (rustls), so every byte must pass through our memory to be encrypted, and a protected
//! download reads the file in blocks and writes them through the TLS session ([`send_file`]),
//! ending with TLS's `close_notify`. (Linux can also run TLS's record encryption in the kernel,
//! "kTLS", and then sendfile works again; it needs the kernel's `tls` module, which this lab's
//! machines do not all have, and a kernel-specific hand-over of the session's keys.)
//!
//! ## Uploads (STOR/APPE): all or nothing
//! In stream mode the end of a file is marked by closing the data connection (RFC 959, 3.4.1).
//! A client that crashes closes it too, and its kernel sends the same FIN: the server cannot
//! tell "finished" from "died half-way" by looking at the data connection alone. So:
//!
//! 1. bytes are written to a hidden temporary file in the target's directory ([`Upload`]);
//! 2. when the data connection ends, we check that the *control* connection is still there and
//!    has no `ABOR` waiting. A killed client's kernel closes both connections, but in no fixed
//!    order (on Linux the data connection's FIN often comes first), so we give the control
//!    connection [`END_OF_UPLOAD_GRACE`] to show its own end before believing the upload is
//!    whole. A client that closes the control connection without waiting for our `226` loses
//!    its upload: that is the safe side to err on;
//! 3. over TLS, the end must also be authenticated: a data connection that ends with a bare TCP
//!    FIN and no `close_notify` alert may have been cut short by anyone on the path (a
//!    truncation attack, RFC 8446 §6.1), so it fails with `426` like a dead client
//!    ([`TransferError::Truncated`]);
//! 4. only then is the temporary file renamed over the target. `rename(2)` within one directory
//!    is atomic: other clients see the old file or the new one, never a mix. On any failure the
//!    temporary file is deleted ([`Upload`]'s `Drop`), and the old file is untouched.
//!
//! A fully reliable answer needs the size up front (block mode, or the client checking `SIZE`
//! afterwards, which `ftp-lab put` does). We do not `fsync` before the rename: the upload is
//! safe from crashes of the *client*, not from a power cut on the server. That would cost a
//! wait for the disk on every upload; production servers make the same trade by default.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Shared;
use super::commands::io_reply;
use super::listings::listing_lines;
use super::paths::{PathError, Root, UPLOAD_TEMP_PREFIX};
use super::session::{Keep, Transfer, TransferKind};
use crate::reply::Reply;
use crate::tls::Channel;

/// A data connection: clear, or protected after `PROT P` (`crate::tls`).
pub type DataChannel = Channel<rustls::ServerConnection>;

/// Most bytes one sendfile call moves: the call returns after this many (or after one
/// [`DATA_WAIT_SLICE`] with the socket full), so the control connection can be looked at.
pub const CHECK_EVERY: u64 = 4 << 20;

/// The data socket's read and write timeout: the longest the thread waits on the data
/// connection without looking at the control connection (module docs). It bounds how late an
/// `ABOR` is noticed; `--data-timeout` still bounds how long the data connection may stall.
pub const DATA_WAIT_SLICE: Duration = Duration::from_millis(100);

/// How long to watch the control connection after an upload's data connection ends (module
/// docs). A dying client's kernel closes both connections in one go, so the two FINs leave its
/// machine microseconds apart and arrive about as close together; 10 ms is a wide margin that
/// costs a live client 10 ms per upload. (It was 50 ms: 5% of a 1 GiB upload at 1 GB/s, and
/// a loss of the second FIN would be retransmitted after 200 ms or more, which no grace short
/// enough to be cheap could cover anyway.)
pub const END_OF_UPLOAD_GRACE: Duration = Duration::from_millis(10);

/// Bytes per read when receiving an upload (one buffer per upload, freed at its end).
///
/// Bigger is not faster here. With 256 KiB, 1 GiB uploads from curl over loopback ran at
/// either about 620 or about 2,170 MiB/s from one upload to the next (6 uploads, 2 cores);
/// with 64 KiB they ran at 1,063-1,710 MiB/s, median about 1,450, as steady as vsftpd (which
/// also reads 64 KiB). Our guess, not measured: a 64 KiB buffer stays in the CPU's cache while
/// the kernel copies the socket's bytes into it and then out to the file's page cache; a 256 KiB
/// one competes for the cache with curl when both run on the same core.
pub const RECEIVE_BUFFER: usize = 64 * 1024;

/// The most plaintext one TLS record carries (2^14 bytes, RFC 8446 §5.1): what one read from a
/// protected data connection returns at most.
const TLS_RECORD_PLAINTEXT: usize = 16 * 1024;

/// What the control connection shows during a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlState {
    /// Nothing new: carry on.
    Quiet,
    /// The client sent `ABOR`.
    Aborted,
    /// The client closed the control connection (or it failed).
    Gone,
}

/// Why a transfer stopped early.
#[derive(Debug)]
pub enum TransferError {
    /// The data connection failed or timed out.
    Network(io::Error),
    /// Writing the file failed (disk full, I/O error).
    Disk(io::Error),
    /// The client sent `ABOR`.
    Aborted,
    /// The client closed the control connection.
    ClientGone,
    /// A protected upload's TCP connection ended without TLS's `close_notify`: the file may
    /// be cut short, by a crash or by someone on the path (`crate::tls`).
    Truncated,
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransferError::Network(err) if is_timeout(err) => {
                write!(formatter, "the data connection was idle too long")
            }
            TransferError::Network(err) => write!(formatter, "data connection: {err}"),
            TransferError::Disk(err) => write!(formatter, "writing the file: {err}"),
            TransferError::Aborted => write!(formatter, "the client sent ABOR"),
            TransferError::ClientGone => {
                write!(formatter, "the client closed the control connection")
            }
            TransferError::Truncated => write!(
                formatter,
                "the data connection closed without TLS close_notify (cut short?)"
            ),
        }
    }
}

impl TransferError {
    /// The reply that ends the transfer.
    pub fn reply(&self, shown: &str) -> Reply {
        match self {
            TransferError::Network(err) if is_timeout(err) => Reply::new(
                426,
                "Data connection idle too long (--data-timeout); transfer aborted.",
            ),
            TransferError::Network(err) => Reply::new(
                426,
                format!("Data connection failed ({err}); transfer aborted."),
            ),
            TransferError::Disk(err) => super::commands::io_reply(shown, err),
            TransferError::Truncated => Reply::new(
                426,
                "Data connection closed without TLS close_notify: the upload may be cut short; discarded.",
            ),
            TransferError::Aborted | TransferError::ClientGone => {
                Reply::new(426, "Transfer aborted.")
            }
        }
    }
}

/// Did a blocking socket operation end because its timeout expired?
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Looks at the control connection, waiting at most the given time for something to happen.
pub type Watch<'a> = dyn FnMut(Duration) -> ControlState + 'a;

/// Watches the control connection during one transfer and keeps the data connection's clock:
/// when it last moved bytes (for `--data-timeout`) and when the control connection was last
/// looked at (module docs).
pub struct Watcher<'w, 'a> {
    watch: &'w mut Watch<'a>,
    patience: Duration,
    last_progress: Instant,
    last_look: Instant,
}

impl<'w, 'a> Watcher<'w, 'a> {
    /// A watcher that lets the data connection stall for `patience` (`--data-timeout`).
    pub fn new(watch: &'w mut Watch<'a>, patience: Duration) -> Watcher<'w, 'a> {
        let now = Instant::now();
        Watcher {
            watch,
            patience,
            last_progress: now,
            last_look: now,
        }
    }

    /// Bytes moved: looks at the control connection if a slice has passed since the last look.
    fn moved(&mut self) -> Result<(), TransferError> {
        let now = Instant::now();
        self.last_progress = now;
        if now.saturating_duration_since(self.last_look) >= DATA_WAIT_SLICE {
            self.look(now)
        } else {
            Ok(())
        }
    }

    /// A wait on the data socket ended with nothing moved (`timeout`, after one slice): looks
    /// at the control connection, and fails with `timeout` once nothing has moved for the whole
    /// `--data-timeout`.
    fn stalled(&mut self, timeout: io::Error) -> Result<(), TransferError> {
        let now = Instant::now();
        self.look(now)?;
        if now.saturating_duration_since(self.last_progress) >= self.patience {
            Err(TransferError::Network(timeout))
        } else {
            Ok(())
        }
    }

    fn look(&mut self, now: Instant) -> Result<(), TransferError> {
        self.last_look = now;
        stop_if_interrupted((self.watch)(Duration::ZERO))
    }

    /// The upload's data connection ended: finished, or a client that died? (module docs)
    fn upload_ended(&mut self) -> Result<(), TransferError> {
        stop_if_interrupted((self.watch)(END_OF_UPLOAD_GRACE))
    }
}

/// Sends `length` bytes of `file` (already positioned) on `data`, watching the control
/// connection through `watcher`. Returns the bytes sent. A protected channel ends with TLS's
/// `close_notify` ([`finish_protected`]).
pub fn send_file(
    file: &File,
    data: &mut DataChannel,
    length: u64,
    watcher: &mut Watcher<'_, '_>,
) -> Result<u64, TransferError> {
    match data {
        Channel::Clear(tcp) => send_file_clear(file, tcp, length, watcher),
        Channel::Protected(_) => {
            let sent = send_file_protected(file, data, length, watcher)?;
            finish_protected(data, watcher)?;
            Ok(sent)
        }
    }
}

/// Over TLS every byte must pass through our memory to be encrypted, so sendfile(2) cannot
/// be used: one read from the file and one write through TLS per [`PROTECTED_BLOCK`] bytes.
///
/// Each byte is copied three times on its way, and where our block sits decides how fast two
/// of those copies run (`main.rs` tells the story: on some processors a copy whose destination
/// lies 1 to 15 bytes *ahead* of its source within a 4 KiB page runs 20 times slower):
///
/// | copy | by | from (offset in its page) | to (offset in its page) | distance |
/// |---|---|---|---|---|
/// | file to our block | the kernel, `read` | page cache (0) | our block (64) | 64 ahead |
/// | our block to a record | rustls | our block (64) | its record buffer (5, after the header) | 59 behind |
/// | record to the socket | the kernel, `write` | the record buffer | socket buffers | varies |
///
/// A block at a page boundary made rustls's copy slow (5 ahead; perf: 35% of the server's CPU
/// on a 1 GiB download); a block 5 bytes into a page made the kernel's slow instead (46%). At
/// [`BLOCK_PAGE_OFFSET`] both are fast. The table assumes the file is read from page
/// boundaries; a download resumed with `REST` at another offset first reads up to the next
/// one (`first_read_ends_on_a_page`), where the whole download would otherwise be slow.
fn send_file_protected(
    mut file: &File,
    data: &mut DataChannel,
    length: u64,
    watcher: &mut Watcher<'_, '_>,
) -> Result<u64, TransferError> {
    let mut buffer = vec![0u8; PROTECTED_BLOCK + PAGE_SIZE];
    let block = at_page_offset(&mut buffer, BLOCK_PAGE_OFFSET, PROTECTED_BLOCK);
    let start = file.stream_position().map_err(TransferError::Disk)?;
    let mut sent: u64 = 0;
    while sent < length {
        let want = next_read(start + sent, length - sent);
        let got = match file.read(block.get_mut(..want).unwrap_or_default()) {
            Ok(0) => break, // the file was truncated while we sent it
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(TransferError::Network(err)),
        };
        sent += send_bytes(data, block.get(..got).unwrap_or_default(), watcher)?;
    }
    Ok(sent)
}

/// Bytes to read next at file position `position` with `left` bytes still to send: a whole
/// [`PROTECTED_BLOCK`], except that a read starting inside a page stops at the next page
/// boundary, so every later read starts on one ([`send_file_protected`]).
fn next_read(position: u64, left: u64) -> usize {
    let to_boundary = PAGE_SIZE - (position % PAGE_SIZE as u64) as usize;
    let most = if to_boundary < PAGE_SIZE {
        to_boundary
    } else {
        PROTECTED_BLOCK
    };
    usize::try_from(left).map_or(most, |left| left.min(most))
}

/// Bytes a protected download reads from the file and hands to TLS at once (four records).
const PROTECTED_BLOCK: usize = 64 * 1024;

/// The size of a memory page on the systems students use (x86-64 and most ARM: 4 KiB; Apple's
/// ARM processors use 16 KiB pages, a multiple, so an offset within 4 KiB keeps its meaning).
const PAGE_SIZE: usize = 4096;

/// Where within a page a protected download's block starts ([`send_file_protected`]): one
/// cache line in, so neither the kernel's copy into it nor rustls's copy out of it (to 5 bytes
/// into a page) has its destination 1 to 15 bytes ahead of its source.
const BLOCK_PAGE_OFFSET: usize = 64;

/// The `len` bytes of `buffer` (which must hold `len + PAGE_SIZE`) that start `offset` bytes
/// into a page. The address of a buffer is an ordinary number; only where it falls within its
/// page matters here.
fn at_page_offset(buffer: &mut [u8], offset: usize, len: usize) -> &mut [u8] {
    let address = buffer.as_ptr() as usize;
    let lead = (offset + PAGE_SIZE - address % PAGE_SIZE) % PAGE_SIZE;
    let end = buffer.len().min(lead + len);
    buffer.get_mut(lead..end).unwrap_or_default()
}

/// Ends a protected data connection: `close_notify` (`crate::tls`), pushed out through the
/// socket's short waits like any other byte, then a lingering close. The client answers our
/// `close_notify` with its own; a socket closed with those bytes still unread makes the kernel
/// send a RST instead of a FIN (RFC 1122 §4.2.2.13), so we half-close and read until the client
/// closes too (at most `LINGER_TIMEOUT`, `net::close_gracefully`). Nothing to do on a clear one.
pub fn finish_protected(
    data: &mut DataChannel,
    watcher: &mut Watcher<'_, '_>,
) -> Result<(), TransferError> {
    if !data.is_protected() {
        return Ok(());
    }
    data.send_close_notify();
    loop {
        match data.flush() {
            Ok(()) => {
                netlab_common::net::close_gracefully(data.tcp());
                return Ok(());
            }
            Err(err) if is_timeout(&err) => watcher.stalled(err)?,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(TransferError::Network(err)),
        }
    }
}

/// [`send_file`] on a clear connection: sendfile(2), no copy through our memory (module docs).
fn send_file_clear(
    file: &File,
    data: &TcpStream,
    length: u64,
    watcher: &mut Watcher<'_, '_>,
) -> Result<u64, TransferError> {
    let mut sent = 0;
    while sent < length {
        match send_chunk(file, data, CHECK_EVERY.min(length - sent)) {
            Ok(0) => break, // the file was truncated while we sent it
            Ok(moved) => {
                sent += moved;
                watcher.moved()?;
            }
            Err(err) if is_timeout(&err) => watcher.stalled(err)?,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(TransferError::Network(err)),
        }
    }
    Ok(sent)
}

/// Sends up to `count` bytes from the file's current position with one sendfile(2) call;
/// returns the bytes sent (0 only at the end of the file). The socket's write timeout
/// ([`DATA_WAIT_SLICE`]) applies: a client that stops reading makes sendfile return what it
/// moved so far, or fail with `EAGAIN` (a timeout) if it moved nothing.
#[cfg(target_os = "linux")]
fn send_chunk(file: &File, data: &TcpStream, count: u64) -> io::Result<u64> {
    let want = usize::try_from(count).unwrap_or(usize::MAX);
    // `None`: read from the file's own position (where REST put it) and advance it.
    let moved = rustix::fs::sendfile(data, file, None, want)?;
    Ok(moved as u64)
}

/// Elsewhere: one read from the file and one write to the socket. Bytes the write did not take
/// (the socket's timeout ended it part-way) are read again next time: the file position is
/// moved back over them.
#[cfg(not(target_os = "linux"))]
fn send_chunk(file: &File, data: &TcpStream, count: u64) -> io::Result<u64> {
    let mut buffer = vec![0u8; RECEIVE_BUFFER.min(usize::try_from(count).unwrap_or(usize::MAX))];
    let got = (&*file).read(&mut buffer)?;
    let bytes = buffer.get(..got).unwrap_or_default();
    if bytes.is_empty() {
        return Ok(0);
    }
    let written = match (&*data).write(bytes) {
        Ok(0) => Err(io::Error::from(io::ErrorKind::WriteZero)),
        other => other,
    };
    let unsent = got - written.as_ref().map_or(0, |&written| written);
    (&*file).seek(SeekFrom::Current(
        -i64::try_from(unsent).unwrap_or(i64::MAX),
    ))?;
    written.map(|written| written as u64)
}

/// Sends `bytes` (a listing, or a block of a file over TLS) on `data`, watching the control
/// connection through `watcher`.
pub fn send_bytes(
    data: &mut impl Write,
    bytes: &[u8],
    watcher: &mut Watcher<'_, '_>,
) -> Result<u64, TransferError> {
    let mut sent = 0;
    while let Some(rest) = bytes.get(sent..).filter(|rest| !rest.is_empty()) {
        match data.write(rest) {
            Ok(0) => {
                return Err(TransferError::Network(io::Error::from(
                    io::ErrorKind::WriteZero,
                )));
            }
            Ok(written) => {
                sent += written;
                watcher.moved()?;
            }
            Err(err) if is_timeout(&err) => watcher.stalled(err)?,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(TransferError::Network(err)),
        }
    }
    Ok(sent as u64)
}

/// Receives until the client closes `data`, writing into `upload`, watching the control
/// connection through `watcher`. Returns the bytes received.
///
/// Over TLS the end must be a `close_notify`: a TCP close without one is
/// [`TransferError::Truncated`] and the upload is discarded (`crate::tls`). We answer the
/// client's `close_notify` with ours (Python's ftplib waits for it), as best we can: the
/// file is whole either way.
pub fn receive_file(
    data: &mut DataChannel,
    upload: &mut Upload,
    watcher: &mut Watcher<'_, '_>,
) -> Result<u64, TransferError> {
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    // Bytes at the front of `buffer` not yet written to the file. A read over TLS returns at
    // most one record's plaintext (16 KiB, RFC 8446 §5.1), so writing after every read would
    // cost four writes to the file per buffer; the bytes are gathered until the buffer could
    // not take another record, then written at once. (A clear read usually fills the buffer.)
    let mut gathered = 0;
    let mut received: u64 = 0;
    loop {
        let room = buffer.get_mut(gathered..).unwrap_or_default();
        let got = match data.read(room) {
            Ok(0) => break,
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof && data.is_protected() => {
                return Err(TransferError::Truncated);
            }
            Err(err) if is_timeout(&err) => {
                watcher.stalled(err)?;
                continue;
            }
            Err(err) => return Err(TransferError::Network(err)),
        };
        gathered += got;
        received += got as u64;
        if buffer.len() - gathered < TLS_RECORD_PLAINTEXT {
            let bytes = buffer.get(..gathered).unwrap_or_default();
            upload.file.write_all(bytes).map_err(TransferError::Disk)?;
            gathered = 0;
        }
        watcher.moved()?;
    }
    let rest = buffer.get(..gathered).unwrap_or_default();
    upload.file.write_all(rest).map_err(TransferError::Disk)?;
    if data.is_protected() {
        data.send_close_notify();
        let _ = data.flush();
    }
    watcher.upload_ended()?;
    Ok(received)
}

fn stop_if_interrupted(state: ControlState) -> Result<(), TransferError> {
    match state {
        ControlState::Quiet => Ok(()),
        ControlState::Aborted => Err(TransferError::Aborted),
        ControlState::Gone => Err(TransferError::ClientGone),
    }
}

/// Numbers the temporary files of this process.
static NEXT_UPLOAD: AtomicU64 = AtomicU64::new(0);

/// An upload in progress: a hidden temporary file next to its target. Dropped without
/// [`Upload::commit`], it deletes the temporary file and the target stays as it was.
#[derive(Debug)]
pub struct Upload {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Upload {
    /// Creates the temporary file; with REST or APPE, first copies the part of the existing
    /// file that is kept (std uses copy_file_range(2) on Linux, no bytes through our memory).
    /// `root` confines that read: the old file is opened through its checked real path.
    pub fn begin(root: &Root, target: &Path, keep: Keep, shown: &str) -> Result<Upload, Reply> {
        let dir = target
            .parent()
            .ok_or_else(|| Reply::new(553, format!("{shown}: not a file name.")))?;
        let number = NEXT_UPLOAD.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(
            "{UPLOAD_TEMP_PREFIX}{}.{number}.part",
            std::process::id()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|err| super::commands::io_reply(shown, &err))?;
        let mut upload = Upload {
            file,
            temp,
            target: target.to_path_buf(),
            committed: false,
        };
        upload.keep_existing(root, keep, shown)?;
        Ok(upload)
    }

    /// Copies the kept part of the old file. The old file is read through its real path with
    /// every link followed and checked to be inside the root: `APPE link` where `link` leads
    /// outside must not copy what it points to into the root (`server::paths`, issue 14). The
    /// session refused such links already; this is the check at the moment of reading.
    fn keep_existing(&mut self, root: &Root, keep: Keep, shown: &str) -> Result<(), Reply> {
        if keep == Keep::Nothing {
            return Ok(());
        }
        let existing = match root.confine(&self.target) {
            Ok(real) => {
                let file = File::open(real).map_err(|err| io_reply(shown, &err))?;
                let length = file.metadata().map_err(|err| io_reply(shown, &err))?.len();
                Some((file, length))
            }
            Err(PathError::NotFound) => None,
            Err(err) => return Err(Reply::new(550, format!("{shown}: {err}."))),
        };
        let (existing, length) = match (keep, existing) {
            (Keep::Nothing, _) | (Keep::All, None) => return Ok(()),
            (Keep::All, Some((file, length))) => (file, length),
            (Keep::First(offset), Some((file, length))) if offset <= length => (file, offset),
            (Keep::First(offset), _) => {
                return Err(Reply::new(
                    554,
                    format!("REST {offset} is past the end of {shown} on the server."),
                ));
            }
        };
        let copied = io::copy(&mut (&existing).take(length), &mut self.file)
            .map_err(|err| super::commands::io_reply(shown, &err))?;
        if copied == length {
            Ok(())
        } else {
            Err(Reply::new(
                451,
                format!("{shown} changed while it was being resumed; try again."),
            ))
        }
    }

    /// Gives the temporary file its final name, replacing any old file in one atomic step.
    pub fn commit(mut self) -> io::Result<()> {
        self.file.flush()?;
        fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// A transfer whose file is open (or listing built), ready for the data connection.
#[derive(Debug)]
pub enum Prepared {
    /// RETR: the open file, where it starts, and how many bytes to send.
    Send {
        /// The file, positioned at `offset`.
        file: File,
        /// The REST offset.
        offset: u64,
        /// Bytes to send.
        length: u64,
    },
    /// STOR/APPE: the upload's temporary file.
    Receive(Upload),
    /// LIST/NLST/MLSD: the lines to send.
    List(Vec<String>),
}

impl Prepared {
    /// The text of the `150` reply.
    pub fn announcement(&self, shown: &str) -> String {
        match self {
            Prepared::Send {
                length, offset: 0, ..
            } => {
                format!("Opening BINARY mode data connection for {shown} ({length} bytes).")
            }
            Prepared::Send { length, offset, .. } => format!(
                "Opening BINARY mode data connection for {shown} ({length} bytes, from byte {offset})."
            ),
            Prepared::Receive(_) => format!("Ok to send data for {shown}."),
            Prepared::List(_) => "Here comes the directory listing.".to_string(),
        }
    }
}

/// Opens the file, creates the upload's temporary file, or builds the listing, before the
/// `150`: a problem found here is a plain error reply and no data connection is opened.
pub fn prepare(transfer: &Transfer, shared: &Shared) -> std::result::Result<Prepared, Reply> {
    let shown = transfer.shown.as_str();
    match &transfer.kind {
        TransferKind::Send { path, offset, size } => {
            let mut file = File::open(path).map_err(|err| io_reply(shown, &err))?;
            file.seek(SeekFrom::Start(*offset))
                .map_err(|err| io_reply(shown, &err))?;
            Ok(Prepared::Send {
                file,
                offset: *offset,
                length: size.saturating_sub(*offset),
            })
        }
        TransferKind::Receive { target, keep } => {
            Upload::begin(&shared.root, target, *keep, shown).map(Prepared::Receive)
        }
        TransferKind::List {
            path,
            format,
            writable,
        } => listing_lines(shared.root.real(), path, *format, *writable)
            .map(Prepared::List)
            .map_err(|err| io_reply(shown, &err)),
    }
}

/// The command name of a transfer, for logs.
pub fn verb_of(kind: &TransferKind) -> &'static str {
    match kind {
        TransferKind::Send { .. } => "RETR",
        TransferKind::Receive { .. } => "STOR",
        TransferKind::List { .. } => "LIST",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn temp_dir(label: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("ftp-lab-unit-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    /// An upload dropped before commit leaves the old file and no temporary file behind.
    #[test]
    fn uncommitted_upload_changes_nothing() {
        let dir = temp_dir("drop");
        let target = dir.0.join("file.txt");
        fs::write(&target, b"old").unwrap();
        let root = Root::open(&dir.0).unwrap();
        let mut upload = Upload::begin(&root, &target, Keep::Nothing, "/file.txt").unwrap();
        upload.file.write_all(b"new and partial").unwrap();
        drop(upload);
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    /// REST + STOR keeps the first bytes; APPE keeps everything; commit replaces atomically.
    #[test]
    fn resumed_and_appended_uploads() {
        let dir = temp_dir("keep");
        let target = dir.0.join("file.txt");
        fs::write(&target, b"0123456789").unwrap();
        let root = Root::open(&dir.0).unwrap();
        let mut upload = Upload::begin(&root, &target, Keep::First(4), "/file.txt").unwrap();
        upload.file.write_all(b"abc").unwrap();
        upload.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"0123abc");
        let mut upload = Upload::begin(&root, &target, Keep::All, "/file.txt").unwrap();
        upload.file.write_all(b"!").unwrap();
        upload.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"0123abc!");
        let past_end = Upload::begin(&root, &target, Keep::First(99), "/file.txt").unwrap_err();
        assert_eq!(past_end.code, 554);
    }

    /// APPE and REST + STOR on a link that leads outside the root read nothing through it:
    /// refused with 550, no temporary file left, the outside file untouched.
    #[cfg(unix)]
    #[test]
    fn keeping_the_old_file_never_reads_outside_the_root() {
        let dir = temp_dir("outside");
        fs::create_dir_all(dir.0.join("root")).unwrap();
        fs::write(dir.0.join("secret.txt"), b"TOP SECRET").unwrap();
        let target = dir.0.join("root/sec.txt");
        std::os::unix::fs::symlink(dir.0.join("secret.txt"), &target).unwrap();
        let root = Root::open(&dir.0.join("root")).unwrap();
        for keep in [Keep::All, Keep::First(2)] {
            let refused = Upload::begin(&root, &target, keep, "/sec.txt").unwrap_err();
            assert_eq!(refused.code, 550, "{keep:?}: {refused}");
        }
        assert_eq!(fs::read_dir(dir.0.join("root")).unwrap().count(), 1);
        assert_eq!(fs::read(dir.0.join("secret.txt")).unwrap(), b"TOP SECRET");
    }

    /// A protected download's block starts BLOCK_PAGE_OFFSET bytes into a page and is as long
    /// as asked, wherever the allocator put the buffer around it.
    #[test]
    fn download_blocks_start_one_cache_line_into_a_page() {
        for extra in [0, 1, 5, 63, 4095] {
            let mut buffer = vec![0u8; PROTECTED_BLOCK + PAGE_SIZE + extra];
            let skew = extra.min(buffer.len());
            let shifted = &mut buffer[skew..];
            let block = at_page_offset(shifted, BLOCK_PAGE_OFFSET, PROTECTED_BLOCK);
            assert_eq!(block.len(), PROTECTED_BLOCK);
            assert_eq!(block.as_ptr() as usize % PAGE_SIZE, BLOCK_PAGE_OFFSET);
        }
    }

    /// A protected download reads whole blocks from page boundaries; one resumed inside a page
    /// first reads up to the next boundary; the end of the file shortens the last read.
    #[test]
    fn first_read_ends_on_a_page() {
        let gib = 1 << 30;
        assert_eq!(next_read(0, gib), PROTECTED_BLOCK);
        assert_eq!(next_read(8192, gib), PROTECTED_BLOCK);
        assert_eq!(next_read(55, gib), PAGE_SIZE - 55);
        assert_eq!(next_read(4096 + 100, gib), PAGE_SIZE - 100);
        assert_eq!(next_read(55, 10), 10);
        assert_eq!(next_read(0, 1000), 1000);
    }

    /// Storage errors map to 452, other local errors to 451.
    #[test]
    fn disk_errors_map_to_replies() {
        let full = TransferError::Disk(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(full.reply("/x").code, 452);
        let other = TransferError::Disk(io::Error::other("I/O error"));
        assert_eq!(other.reply("/x").code, 451);
    }
}
