//! # ftp-lab: a control channel, and a data channel per transfer
//!
//! FTP (RFC 959, 1985, with roots in 1971) is older than most of the ideas later protocols take
//! for granted, and it shows one design very clearly: **commands and data travel on separate
//! TCP connections.** The *control connection* (port 21; 2121 here, so no root is needed) carries
//! a text dialogue of commands and numbered replies for the whole session:
//!
//! ```text
//! USER anonymous        ->  331 Anonymous login ok, send your e-mail address as password.
//! PASS me@example.org   ->  230 Login successful (read-only).
//! EPSV                  ->  229 Entering Extended Passive Mode (|||50123|).
//! RETR notes.txt        ->  150 Opening BINARY mode data connection for /notes.txt (1234 bytes).
//!                           ... 1234 bytes on a second connection, to port 50123 ...
//!                       ->  226 Transfer complete (1234 bytes).
//! ```
//!
//! Each file or listing then gets a fresh *data connection* that carries nothing but its bytes
//! and closes at the end. Why? The byte stream of a file needs no escaping or framing at all (the
//! close marks its end), the control connection stays responsive during a transfer (`ABOR`,
//! `STAT`), and in 1971 it let one client make two servers send a file directly to each other.
//! The price is everything this lab makes you see with `--trace`: someone must *open* that second
//! connection (the server in active mode, the client in passive mode), which is why FTP fights
//! with NAT and firewalls, and why a server must check who connects and where it connects to.
//!
//! ## Layout
//! - [`cli`]: `ftp-lab serve | connect | get | put | bench | grade`: flags in, one plain Config
//!   per subcommand out (nothing else sees clap).
//! - [`server`]: the server (thread per control connection, sessions, transfers, security).
//! - [`client`]: the client (interactive shell and one-shot `get`/`put`).
//! - [`command`]: command lines: bounded line splitting and parsing (pure).
//! - [`reply`]: numbered replies, single and multi-line, both directions (pure).
//! - [`hostport`]: the addresses inside PORT, PASV, EPRT and EPSV (pure).
//! - [`listing`]: LIST, MLSD and MDTM formats (pure).
//! - [`data`]: opening a data connection: accept with a deadline from the right address only.
//! - [`tls`]: explicit FTPS (RFC 4217): TLS on the control and data connections, certificates.
//! - [`bench`](mod@bench): `ftp-lab bench`, throughput against the client's block size, every
//!   byte checked.
//! - [`grade`]: `ftp-lab grade HOST:PORT`, the conformance grader for students' servers
//!   (docs/protocols/ftp.md).

pub mod bench;
pub mod cli;
pub mod client;
pub mod command;
pub mod data;
pub mod grade;
pub mod hostport;
pub mod listing;
pub mod reply;
pub mod server;
pub mod tls;
