//! The sniff buffer each thread keeps for its next sniff, so that a
//! connection costs no allocation for its sniffed bytes.
//!
//! A sniff takes this thread's spare buffer and reads into it. A route
//! that mostly filled it gets the buffer itself as the handler's replay
//! (no copy); otherwise the few sniffed bytes are copied out and the
//! buffer goes straight back. A replay gives its buffer back to the
//! thread that drops it: an inline handler runs, and drops its stream, on
//! the thread that sniffed, so the same buffer serves connection after
//! connection. Each thread keeps at most one buffer, the largest it has
//! seen (at most the sniff byte limit).
//!
//! A thread with no spare yet (a new thread, in a burst of connections)
//! allocates its buffer only once its connection has bytes to read
//! ([`Connection::wait_for_input`](crate::Connection::wait_for_input)),
//! so a connection that sends nothing holds no buffer while it waits.

use std::cell::Cell;

/// The most a sniff reads before its first decision: enough for typical
/// request heads and ClientHellos, small enough to stay cheap per
/// connection. A sniff's buffer doubles from here up to the byte limit.
const FIRST_READ_CAPACITY: usize = 4096;

/// The length a sniff buffer of `length` bytes, all filled, grows to
/// before the next read: at least [`FIRST_READ_CAPACITY`], doubling,
/// never past `max_bytes`.
pub(crate) fn grown_length(length: usize, max_bytes: usize) -> usize {
    (length * 2).max(FIRST_READ_CAPACITY).min(max_bytes)
}

thread_local! {
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// This thread's spare buffer (empty if it has none), its bytes already
/// initialised up to its length.
// Always inlined, as is `give_back`: passed through memory, the buffer is
// stored in one shape and loaded in another, and the CPU stalls on the
// reload (`perf annotate` on the dispatch bench).
#[inline(always)]
pub(crate) fn take() -> Vec<u8> {
    SPARE.try_with(Cell::take).unwrap_or_default()
}

/// Keeps `buffer` as this thread's spare, unless the spare it has is at
/// least as large (then `buffer` is freed).
#[inline(always)]
pub(crate) fn give_back(buffer: Vec<u8>) {
    if buffer.capacity() == 0 {
        return;
    }
    // During thread exit the spare is gone; the buffer is simply freed.
    let _ = SPARE.try_with(|spare| {
        let current = spare.take();
        // Two stores rather than one of a selected value: a selected
        // vector goes through memory, and reloading it stalls.
        if current.capacity() >= buffer.capacity() {
            spare.set(current);
        } else {
            spare.set(buffer);
        }
    });
}

/// Whether a sniff that left `sniffed` bytes in a buffer of `length`
/// should hand the buffer over rather than copy them out: when they fill
/// at least half of it, so a handler never holds more than twice the
/// memory its bytes need.
pub(crate) fn worth_handing_over(sniffed: usize, length: usize) -> bool {
    sniffed * 2 >= length
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_largest_buffer() {
        assert!(take().is_empty());
        give_back(vec![1; 16]);
        give_back(vec![2; 8]);
        assert_eq!(take(), [1; 16]);
        give_back(Vec::new());
        assert_eq!(take().capacity(), 0);
        let other = std::thread::spawn(take).join().unwrap();
        assert!(other.is_empty(), "spares are per thread");
    }

    #[test]
    fn buffers_double_up_to_the_limit() {
        assert_eq!(grown_length(0, 65536), FIRST_READ_CAPACITY);
        assert_eq!(grown_length(100, 65536), FIRST_READ_CAPACITY);
        assert_eq!(grown_length(4096, 65536), 8192);
        assert_eq!(grown_length(4096, 5000), 5000);
        assert_eq!(grown_length(0, 100), 100);
    }

    #[test]
    fn half_full_buffers_are_handed_over() {
        assert!(worth_handing_over(4096, 4096));
        assert!(worth_handing_over(2048, 4096));
        assert!(!worth_handing_over(2047, 4096));
        assert!(worth_handing_over(0, 0));
    }
}
