//! # SHA-256 fingerprints of files
//!
//! Whoever receives a file checks it against the sender's SHA-256 (the *end-to-end* check: see
//! the duplex protocol's docs for why TCP's own checksum is not enough). A digest travels as 32
//! raw bytes in a `duplex` frame, and as 64 hex digits on the room's `DONE` and `SAVED` lines,
//! the spelling `sha256sum` prints, so a person can compare by hand.

/// Bytes in a SHA-256 digest.
pub const DIGEST_LEN: usize = 32;

/// A SHA-256 digest.
pub type Digest = [u8; DIGEST_LEN];

/// SHA-256 as lowercase hex, as `sha256sum` prints it (the one spelling every lab uses).
pub use netlab_common::bench::hex;

/// 64 hex digits (either case, surrounding spaces ignored) -> 32 bytes; `None` for anything
/// else. Used on a line from the network: never panics.
pub fn parse_hex(text: &str) -> Option<Digest> {
    let text = text.trim();
    if text.len() != DIGEST_LEN * 2 || !text.is_ascii() {
        return None;
    }
    let mut digest = [0u8; DIGEST_LEN];
    for (slot, pair) in digest.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    /// Hex matches sha256sum's spelling.
    #[test]
    fn hex_digest() {
        let digest: Digest = Sha256::digest(b"abc").into();
        assert_eq!(
            hex(&digest),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// Hex digests parse back to bytes; anything else is refused.
    #[test]
    fn hex_round_trip() {
        let digest = [0xab; DIGEST_LEN];
        assert_eq!(parse_hex(&hex(&digest)), Some(digest));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex(&"zz".repeat(DIGEST_LEN)), None);
    }
}
