//! # tcp-chat: three ways to chat over one TCP connection
//!
//! The course projects this lab replaces each taught one style of chat. They are all here, behind
//! one binary, so you can run them side by side and see how they differ:
//!
//! | mode     | who may type when         | threads                              | framing               |
//! |----------|---------------------------|--------------------------------------|-----------------------|
//! | `pair`   | strict turns (walkie-talkie) | one loop over one event queue     | length prefix + kind  |
//! | `duplex` | anybody, any time         | a reader and a writer per side       | length prefix + kind  |
//! | `room`   | anybody, many people      | a reader and a writer per client     | lines (works with nc) |
//!
//! `pair` shows that a protocol can *forbid* talking out of turn and that both sides must agree
//! on whose turn it is; it also plays games over the same connection. `duplex` shows full duplex:
//! TCP carries both directions at once, so a file can stream one way while messages flow both ways.
//! `room` puts a server in the middle: it names people, relays, keeps the session cache, and sees
//! everything.
//!
//! ## Layout
//! The three modes are siblings: none imports another's modules. What two of them share lives
//! beside them ([`link`], [`events`], [`wire`], [`files`], [`bars`], [`slash`]).
//!
//! - [`cli`]: the `pair`, `duplex`, `room`, `bench` and `grade` subcommands and their flags; it
//!   builds each subcommand's plain config (`PairConfig`, `DuplexConfig`, `ServeConfig`,
//!   `JoinConfig`, `BenchConfig`, `GradeConfig`), and nothing below it sees clap.
//! - [`link`]: the one connection a two-person chat needs (its [`link::Rendezvous`]: listen and
//!   accept one, or connect), and which end we are ([`link::Role`]).
//! - [`events`]: threads that turn typed lines (from `netlab_common::console`, the terminal
//!   front end every client shares) and network frames into one queue of events.
//! - [`wire`]: what the two-person protocols share on the wire: length-prefixed frames, the
//!   message limit, the refusal a peer is told before we close.
//! - [`pair`]: turn-based chat: [`pair::wire`] (the frames, byte by byte), [`pair::session`] (the
//!   turn-taking state machine, no I/O) and the thin loop that connects them to a socket; with
//!   `--turn-end`, seed 002's rule instead: [`pair::turns`] (turns of several lines, a host
//!   answering several users, no I/O) and [`pair::group`] (a thread per user on the host).
//! - [`duplex`]: full-duplex chat with file sending: [`duplex::wire`] (the frames),
//!   [`duplex::outbox`] (one writer, a window of chunks), [`duplex::send`] (a file read out in
//!   chunks), [`duplex::audience`] (status lines for a person, notices for a program).
//! - [`files`]: what moving a file needs at both ends, for `duplex` and the room alike:
//!   [`files::send`] (opening one to send), [`files::transfer`] (saving one, never
//!   half-written; checked with `netlab_common::digest`), [`files::filename`] (base names,
//!   `new_` prefixes, never overwriting, characters no shown name may carry).
//! - [`bars`]: progress bars that chat lines can be printed around.
//! - [`slash`]: which typed lines are commands for the program (`/send`, `/q`), and refusing
//!   the unknown ones (`/sned`) instead of sending them as chat.
//! - [`room`]: the multi-client room: [`room::protocol`] (the lines), [`room::registry`] (the
//!   session cache), [`room::server`] (a thread per client), [`room::repository`] (the shared
//!   files), [`room::log`] (the session log), [`room::join`] (the client).
//! - [`bench`](mod@bench): `tcp-chat bench`, `/send` between two duplex chats measured, and why
//!   a file sent in-band costs more than FTP's separate data connection.
//! - [`grade`]: `tcp-chat grade HOST:PORT`, checking anyone's room server against
//!   docs/protocols/chat-room.md.

pub mod bars;
pub mod bench;
pub mod cli;
pub mod duplex;
pub mod events;
pub mod files;
pub mod grade;
pub mod link;
pub mod pair;
pub mod room;
pub mod slash;
pub mod wire;
