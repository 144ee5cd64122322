//! A count of the work HPACK decoding does, for tests and fuzzing only:
//! the octets Huffman decoding produces, and the octets copied (decoded
//! strings handed out or moved, plain strings read out of the block). The
//! bound on that work is what the tests assert, never wall-clock time.
//!
//! Compiled in under `cfg(test)` and `cfg(fuzzing)` (cargo-fuzz sets it,
//! and `RUSTFLAGS='--cfg fuzzing' cargo test --test fuzz_corpus` replays
//! the corpora with it); elsewhere the counting functions do nothing and
//! the optimiser removes them.

/// The work counted on this thread since the last [`take`].
#[cfg(any(test, fuzzing))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Octets produced by Huffman decoding.
    pub(crate) huffman_decoded: usize,
    /// Octets copied: decoded strings handed out, moved or duplicated in
    /// the dynamic table's arena, and plain strings read from the block.
    pub(crate) copied: usize,
}

#[cfg(any(test, fuzzing))]
impl Work {
    /// Both counts together.
    pub(crate) fn total(&self) -> usize {
        self.huffman_decoded.saturating_add(self.copied)
    }
}

#[cfg(any(test, fuzzing))]
thread_local! {
    static COUNTED: std::cell::Cell<Work> = const {
        std::cell::Cell::new(Work { huffman_decoded: 0, copied: 0 })
    };
}

/// The most octets one decoding of a block of `block_octets` octets
/// decodes or copies, with a header list limit of `max_header_list_size`
/// (as `decode_block` in `hpack.rs` states it), a consumer included that
/// decodes each string of each field it is handed at most twice:
///
/// - a literal is decoded by the dynamic table, to count the list's size
///   exactly, by the consumer (twice), and moved once in the arena: at
///   most 8/5 of its octets each time, so 8 × the block's octets;
/// - a string from the tables is copied into a new entry, moved in the
///   arena and handed to the consumer: each belongs to a field handed on,
///   so 3 × the limit, and the field refused at the limit's (at most 4 KiB
///   each time) and one arena's worth of moves (8 KiB).
#[cfg(any(test, fuzzing))]
pub(crate) fn bound(block_octets: usize, max_header_list_size: usize) -> usize {
    block_octets
        .saturating_mul(8)
        .saturating_add(max_header_list_size.saturating_mul(3))
        .saturating_add(4 * 4096 + 8192)
}

/// The work counted on this thread since the last call, and a new count.
#[cfg(any(test, fuzzing))]
pub(crate) fn take() -> Work {
    COUNTED.with(|counted| counted.take())
}

/// Counts `octets` produced by Huffman decoding.
#[inline]
pub(super) fn huffman_decoded(octets: usize) {
    #[cfg(any(test, fuzzing))]
    COUNTED.with(|counted| {
        let mut work = counted.get();
        work.huffman_decoded = work.huffman_decoded.saturating_add(octets);
        counted.set(work);
    });
    #[cfg(not(any(test, fuzzing)))]
    let _ = octets;
}

/// Counts `octets` copied.
#[inline]
pub(super) fn copied(octets: usize) {
    #[cfg(any(test, fuzzing))]
    COUNTED.with(|counted| {
        let mut work = counted.get();
        work.copied = work.copied.saturating_add(octets);
        counted.set(work);
    });
    #[cfg(not(any(test, fuzzing)))]
    let _ = octets;
}
