//! The limit on open connections (HAProxy's `maxconn`): a counter with a
//! permit per connection, released when the connection is closed or
//! handed out of the multiplexer's care.
//!
//! The accept loop takes a permit before it accepts, so that at the limit
//! new connections wait in the kernel's listen backlog instead of being
//! accepted and dropped. The permit travels with the connection: through
//! the sniff, the route queue and the handler's `PeekableStream`.

use std::sync::{Arc, MutexGuard};

use crate::monitor::Monitor;

struct Count {
    open: usize,
    stopping: bool,
}

/// How many connections are open, and the most that may be.
pub(crate) struct ConnectionLimit {
    /// Notified when a place is released and when stopping.
    count: Monitor<Count>,
    max_open: usize,
}

/// One open connection's place under the limit; dropping it frees the
/// place.
pub(crate) struct ConnectionPermit {
    limit: Arc<ConnectionLimit>,
}

impl ConnectionLimit {
    pub(crate) fn new(max_open: usize) -> Arc<ConnectionLimit> {
        Arc::new(ConnectionLimit {
            count: Monitor::new(Count {
                open: 0,
                stopping: false,
            }),
            max_open: max_open.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Count> {
        self.count.lock()
    }

    /// Waits for a free place and takes it; `None` once stopping.
    pub(crate) fn acquire(self: &Arc<Self>) -> Option<ConnectionPermit> {
        let mut count = self
            .count
            .wait_while(self.lock(), |c| c.open >= self.max_open && !c.stopping);
        if count.stopping {
            return None;
        }
        count.open += 1;
        Some(ConnectionPermit {
            limit: Arc::clone(self),
        })
    }

    /// Takes a free place without waiting; `None` when every place is
    /// taken or the limit is stopping.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<ConnectionPermit> {
        let mut count = self.lock();
        if count.stopping || count.open >= self.max_open {
            return None;
        }
        count.open += 1;
        Some(ConnectionPermit {
            limit: Arc::clone(self),
        })
    }

    /// Wakes a waiting `acquire`, which then returns `None`.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.count.notify_all();
    }

    /// How many connections hold a permit.
    pub(crate) fn open(&self) -> usize {
        self.lock().open
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.limit.lock().open -= 1;
        self.limit.count.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn permits_count_and_free_places() {
        let limit = ConnectionLimit::new(2);
        let first = limit.acquire().unwrap();
        let second = limit.acquire().unwrap();
        assert_eq!(limit.open(), 2);
        let waiter = {
            let limit = Arc::clone(&limit);
            thread::spawn(move || limit.acquire().map(drop).is_some())
        };
        thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "a third permit while two are held");
        assert!(limit.try_acquire().is_none());
        drop(first);
        assert!(waiter.join().unwrap());
        assert!(limit.try_acquire().is_some());
        drop(second);
        assert_eq!(limit.open(), 0);
    }

    #[test]
    fn stop_wakes_a_waiter_with_nothing() {
        let limit = ConnectionLimit::new(1);
        let _held = limit.acquire().unwrap();
        let waiter = {
            let limit = Arc::clone(&limit);
            thread::spawn(move || limit.acquire().is_none())
        };
        thread::sleep(Duration::from_millis(20));
        limit.stop();
        assert!(waiter.join().unwrap());
        assert!(limit.acquire().is_none());
    }
}
