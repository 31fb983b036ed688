//! # Sequence numbers that wrap around
//!
//! Every reliable datagram carries a 32-bit sequence number. After `u32::MAX` comes `0` again, so
//! "is 3 after 4 000 000 000?" cannot be answered with `<`. We use *serial number arithmetic*
//! (RFC 1982 §3.2, the same rule TCP uses for its sequence space): `a` comes before `b` when going
//! forward from `a` reaches `b` in fewer than 2^31 steps. That works as long as the two numbers
//! being compared are never more than 2^31 apart, which the window limit guarantees
//! ([`crate::MAX_WINDOW`] is far below 2^31).
//!
//! All arithmetic here is explicitly `wrapping_*`: overflow is the normal case, not a bug.

use std::fmt;

/// A 32-bit sequence number with wrap-around comparison (RFC 1982 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seq(pub u32);

impl Seq {
    /// The number after this one (`u32::MAX` is followed by `0`).
    pub fn next(self) -> Seq {
        self.wrapping_add(1)
    }

    /// `self + n`, wrapping around.
    pub fn wrapping_add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }

    /// `self - n`, wrapping around.
    pub fn wrapping_sub(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }

    /// How many steps forward from `base` to `self` (wrapping): `Seq(1).since(Seq(u32::MAX)) == 2`.
    pub fn since(self, base: Seq) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// True if `self` comes strictly before `other` in serial-number order (RFC 1982 §3.2).
    pub fn is_before(self, other: Seq) -> bool {
        let forward = other.since(self);
        forward != 0 && forward < 1 << 31
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ordering keeps working across the wrap from `u32::MAX` to `0`.
    #[test]
    fn comparison_survives_wrap_around() {
        let last = Seq(u32::MAX);
        assert_eq!(last.next(), Seq(0));
        assert!(last.is_before(Seq(0)));
        assert!(!Seq(0).is_before(last));
        assert_eq!(Seq(1).since(last), 2);
        assert!(!Seq(5).is_before(Seq(5)));
    }
}
