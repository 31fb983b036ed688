//! Property tests of the frame decoder: the guarantees an event loop relies on.
//!
//! TCP may split or merge writes anywhere, so a decoder is only correct if *every* split of the
//! same bytes yields the same frames. Peers may send anything, so arbitrary bytes must never panic
//! and never make the decoder hold more than one maximum frame.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use netlab_common::framing::{FrameDecoder, Framing};
use proptest::prelude::*;

const MAX: usize = 64;

/// Feeds `wire` to a decoder in pieces of the given sizes and collects frames until an error.
fn decode_in_pieces(
    framing: Framing,
    wire: &[u8],
    piece_sizes: &[usize],
) -> (Vec<Vec<u8>>, bool, usize) {
    let mut decoder = FrameDecoder::new(framing, MAX);
    let mut frames = Vec::new();
    let mut rest = wire;
    let mut sizes = piece_sizes.iter().cycle();
    let mut peak_allocation = 0;
    while !rest.is_empty() {
        let piece_len = (*sizes.next().unwrap()).clamp(1, rest.len());
        let mut piece = &rest[..piece_len];
        rest = &rest[piece_len..];
        while !piece.is_empty() {
            let took = decoder.feed(piece);
            piece = &piece[took..];
            peak_allocation = peak_allocation.max(decoder.allocated());
            loop {
                match decoder.next_frame() {
                    Ok(Some(frame)) => frames.push(frame),
                    Ok(None) => break,
                    Err(_) => return (frames, true, peak_allocation),
                }
            }
            if took == 0 && decoder.space() == 0 {
                // A full buffer that yields no frame must have produced an error above.
                panic!("decoder full but neither a frame nor an error");
            }
        }
    }
    (frames, false, peak_allocation)
}

fn payloads(framing: Framing) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let byte = match framing {
        // Line payloads may hold any byte but the newline that ends them (and no trailing \r).
        Framing::Line => prop_oneof![0u8..=9, 11u8..=12, 14u8..=255].boxed(),
        _ => any::<u8>().boxed(),
    };
    prop::collection::vec(prop::collection::vec(byte, 0..=MAX), 0..12)
}

fn check_any_split(framing: Framing, frames: Vec<Vec<u8>>, sizes: Vec<usize>) {
    let mut wire = Vec::new();
    for frame in &frames {
        framing.encode(frame, &mut wire).unwrap();
    }
    let (decoded, failed, _) = decode_in_pieces(framing, &wire, &sizes);
    assert!(!failed, "valid frames reported as invalid");
    assert_eq!(decoded, frames);
}

proptest! {
    /// Any split of any sequence of valid length-prefixed frames decodes to the same frames.
    #[test]
    fn length_frames_survive_any_split(
        frames in payloads(Framing::Length),
        sizes in prop::collection::vec(1usize..40, 1..20),
    ) {
        check_any_split(Framing::Length, frames, sizes);
    }

    /// Any split of any sequence of valid lines decodes to the same lines.
    #[test]
    fn line_frames_survive_any_split(
        frames in payloads(Framing::Line),
        sizes in prop::collection::vec(1usize..40, 1..20),
    ) {
        check_any_split(Framing::Line, frames, sizes);
    }

    /// Raw framing loses no byte and adds none, whatever the split.
    #[test]
    fn raw_keeps_every_byte(
        wire in prop::collection::vec(any::<u8>(), 0..500),
        sizes in prop::collection::vec(1usize..200, 1..20),
    ) {
        let (decoded, failed, _) = decode_in_pieces(Framing::Raw, &wire, &sizes);
        prop_assert!(!failed);
        prop_assert_eq!(decoded.concat(), wire);
    }

    /// Arbitrary bytes never panic, and the decoder never allocates more than one maximum frame
    /// plus its framing.
    #[test]
    fn arbitrary_bytes_are_bounded(
        wire in prop::collection::vec(any::<u8>(), 0..2000),
        sizes in prop::collection::vec(1usize..300, 1..10),
    ) {
        for framing in [Framing::Raw, Framing::Line, Framing::Length] {
            let (frames, _, peak) = decode_in_pieces(framing, &wire, &sizes);
            let limit = MAX + framing.max_overhead();
            prop_assert!(peak <= limit, "{framing:?} allocated {peak} > {limit}");
            prop_assert!(frames.iter().all(|frame| frame.len() <= MAX));
        }
    }
}
