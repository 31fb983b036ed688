//! # SHA-256 fingerprints, as bytes and as people read them
//!
//! Whoever receives a file checks it against the sender's SHA-256: the *end-to-end* check. TCP's
//! own checksum is 16 bits per segment and catches most line noise, but not a bug in a program
//! that copies the bytes, nor every corruption (RFC 1122 section 4.2.2.7 makes it mandatory, not
//! strong). A digest travels as 32 raw bytes in a binary frame (tcp-chat duplex), and as 64 hex
//! digits on text lines and screens (the chat room's `DONE` and `SAVED`, the benches' reports),
//! the spelling `sha256sum` prints, so a person can compare by hand.

/// Bytes in a SHA-256 digest.
pub const DIGEST_LEN: usize = 32;

/// A SHA-256 digest.
pub type Digest = [u8; DIGEST_LEN];

/// SHA-256 as lowercase hex, as `sha256sum` prints it (the one spelling every lab uses).
pub fn hex(digest: &Digest) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

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
