//! `--max-conns`: how many connections may be forwarded at once.
//!
//! A counter, taken when a route hands over a connection and given back
//! when the connection's forwarding ends; one atomic add and one subtract
//! per connection, no lock.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the connections being forwarded against a maximum.
pub(crate) struct ConnectionLimit {
    max: usize,
    active: AtomicUsize,
}

/// A place among the connections being forwarded, given back on drop.
pub(crate) struct Permit<'a> {
    limit: &'a ConnectionLimit,
}

impl ConnectionLimit {
    /// A limit of `max` connections at once; `None` for no limit.
    pub(crate) fn new(max: Option<usize>) -> ConnectionLimit {
        ConnectionLimit {
            max: max.unwrap_or(usize::MAX),
            active: AtomicUsize::new(0),
        }
    }

    /// A permit, or `None` if `max` connections are being forwarded.
    pub(crate) fn try_acquire(&self) -> Option<Permit<'_>> {
        // Relaxed: the count guards no other memory, only itself.
        if self.active.fetch_add(1, Ordering::Relaxed) >= self.max {
            self.active.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Permit { limit: self })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limit.active.fetch_sub(1, Ordering::Relaxed);
    }
}
