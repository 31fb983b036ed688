//! # The room's conventions above the header: what every conforming room shares
//!
//! [`crate::wire`] fixes the bytes of one datagram. A chat room needs a few more agreements, on
//! what the *messages* say and how long they may be, and they are part of the protocol too
//! (docs/protocols/udp-chat.md, "Membership" and "Limits"): a client tells the server's own
//! notices from chat by their first bytes, and a member must be ready for a relayed message
//! that is longer than any it may send itself, because the room puts the sender's name in front.
//!
//! They live here, apart from netlab's room, because two programs use them: `udp-chat serve`
//! (the room, [`crate::room`]) and `udp-chat grade`, which checks a room written by anybody and
//! so may only assume what the protocol says, never what our room happens to do.

use crate::connection::Config;
use crate::fragment::DEFAULT_MAX_MESSAGE;

/// Every message the server writes itself (welcome, joined, left, dropped, room full) starts
/// with this, so clients can show notices apart from chat.
pub const NOTICE: &str = "*** ";

/// The first words of the server's first message to a new member, before its name:
/// `*** welcome, NAME; ...`.
pub const WELCOME: &str = "*** welcome, ";

/// Longest member name, in characters; a longer one is cut.
pub const MAX_NAME: usize = 24;

/// Room for `<NAME> ` in front of a relayed message: a name of [`MAX_NAME`] characters of up to
/// 4 bytes each in UTF-8, the angle brackets and the space. Messages are up to
/// [`DEFAULT_MAX_MESSAGE`] bytes; relayed ones up to this much longer.
pub const RELAY_OVERHEAD: usize = 4 * MAX_NAME + 3;

/// `config` for a conversation in a room, on either side: its largest message is a typed message
/// plus the name prefix a relay adds ([`RELAY_OVERHEAD`]).
pub fn room_config(config: Config) -> Config {
    Config {
        max_message: DEFAULT_MAX_MESSAGE + RELAY_OVERHEAD,
        ..config
    }
}
