//! How many connections may be forwarded at once: all of them
//! (`max-conns`), each listener's (`listen ADDR max-conns=N`) and each
//! route's (`route ... max-conns=N`).
//!
//! A counter, taken when a route hands over a connection and given back
//! when the connection's forwarding ends; one atomic add and one subtract
//! per connection and limit, no lock. The maximum may change while
//! connections hold places (a reload), so it is an atomic too: a lower
//! one refuses new connections until enough of the old ones end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts the connections being forwarded against a maximum.
pub(crate) struct ConnectionLimit {
    max: AtomicUsize,
    active: AtomicUsize,
}

/// A place among the connections being forwarded, given back on drop.
pub(crate) struct Permit {
    limit: Arc<ConnectionLimit>,
}

impl ConnectionLimit {
    /// A limit of `max` connections at once; `None` for no limit.
    pub(crate) fn new(max: Option<usize>) -> Arc<ConnectionLimit> {
        Arc::new(ConnectionLimit {
            max: AtomicUsize::new(max.unwrap_or(usize::MAX)),
            active: AtomicUsize::new(0),
        })
    }

    /// Changes the maximum; places already taken are kept.
    pub(crate) fn set_max(&self, max: Option<usize>) {
        self.max.store(max.unwrap_or(usize::MAX), Ordering::Relaxed);
    }

    /// A permit, or `None` if the maximum is being forwarded.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        // Relaxed: the count guards no other memory, only itself.
        if self.active.fetch_add(1, Ordering::Relaxed) >= self.max.load(Ordering::Relaxed) {
            self.active.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Permit {
            limit: Arc::clone(self),
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limit.active.fetch_sub(1, Ordering::Relaxed);
    }
}
