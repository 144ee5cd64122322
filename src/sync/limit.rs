//! The limit on open connections (HAProxy's `maxconn`): a counter with a
//! permit per connection, released when the connection is closed or
//! handed out of the multiplexer's care.
//!
//! The accept loop waits for a free place before it accepts, so that at
//! the limit new connections wait in the kernel's listen backlog instead
//! of being accepted and dropped, and takes the place once it has a
//! connection (an accept loop blocked in `accept` holds none). The permit
//! travels with the connection through the sniff to an inline handler;
//! a connection queued for a route gives its place back while it waits
//! in the queue (a route nobody accepts on must not take every place) and
//! takes one again when a handle accepts it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::sync::lock::lock;

/// How many connections are open, and the most that may be.
///
/// Taking and releasing a place are single atomic operations on `open`,
/// with no lock: the dispatcher and the sniffers do both once per
/// connection. Only a thread that must wait for a place (the accept loop
/// at the limit) takes the lock; a release takes it only when such a
/// thread is counted in `waiters`.
pub(crate) struct ConnectionLimit {
    /// Connections holding a permit.
    open: AtomicUsize,
    max_open: usize,
    stopping: AtomicBool,
    /// Held by a waiting `acquire` from before it counts itself in
    /// `waiters` until its wait begins, and by whoever notifies it.
    lock: Mutex<()>,
    /// Notified when a place is released while a thread waits, and when
    /// stopping.
    freed: Condvar,
    /// Threads inside `acquire`'s wait.
    waiters: AtomicUsize,
}

/// One open connection's place under the limit; dropping it frees the
/// place.
pub(crate) struct ConnectionPermit {
    limit: Arc<ConnectionLimit>,
}

impl ConnectionLimit {
    pub(crate) fn new(max_open: usize) -> Arc<ConnectionLimit> {
        Arc::new(ConnectionLimit {
            open: AtomicUsize::new(0),
            max_open: max_open.max(1),
            stopping: AtomicBool::new(false),
            lock: Mutex::new(()),
            freed: Condvar::new(),
            waiters: AtomicUsize::new(0),
        })
    }

    /// Takes a place if one is free.
    fn take_place(&self) -> bool {
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                (open < self.max_open).then_some(open + 1)
            })
            .is_ok()
    }

    fn permit(self: &Arc<Self>) -> ConnectionPermit {
        ConnectionPermit {
            limit: Arc::clone(self),
        }
    }

    /// Waits for a free place and takes it; `None` once stopping.
    pub(crate) fn acquire(self: &Arc<Self>) -> Option<ConnectionPermit> {
        loop {
            if !self.wait_for_place() {
                return None;
            }
            if self.take_place() {
                return Some(self.permit());
            }
        }
    }

    /// Waits until a place is free, without taking it; `false` once
    /// stopping.
    pub(crate) fn wait_for_place(&self) -> bool {
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return false;
            }
            if self.open.load(Ordering::SeqCst) < self.max_open {
                return true;
            }
            let guard = lock(&self.lock);
            self.waiters.fetch_add(1, Ordering::SeqCst);
            // Looked at again once counted: a release from here on sees
            // the count and notifies, under the lock this thread holds
            // until the wait has begun, so the notification is not lost.
            if !self.stopping.load(Ordering::SeqCst)
                && self.open.load(Ordering::SeqCst) >= self.max_open
            {
                drop(self.freed.wait(guard));
            }
            self.waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Takes a place whether or not one is free, for a connection that
    /// cannot be refused: one a route's handle accepts from its queue.
    /// The count may go past the limit; the accept loop then waits until
    /// it is back under.
    pub(crate) fn admit(self: &Arc<Self>) -> ConnectionPermit {
        self.open.fetch_add(1, Ordering::SeqCst);
        self.permit()
    }

    /// Takes a free place without waiting; `None` when every place is
    /// taken or the limit is stopping.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<ConnectionPermit> {
        if self.stopping.load(Ordering::SeqCst) || !self.take_place() {
            return None;
        }
        Some(self.permit())
    }

    /// Wakes every waiting `acquire`, which then returns `None`.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify(Condvar::notify_all);
    }

    /// How many connections hold a permit.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Wakes waiting threads with `wake`, if any wait.
    fn notify(&self, wake: fn(&Condvar)) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = lock(&self.lock);
            wake(&self.freed);
        }
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.limit.open.fetch_sub(1, Ordering::SeqCst);
        self.limit.notify(Condvar::notify_one);
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

    /// Threads taking turns at one place, waiting for each other: a lost
    /// wake-up would leave one waiting for ever.
    #[test]
    fn no_release_is_missed_by_a_waiter() {
        let rounds = if cfg!(miri) { 20 } else { 2_000 };
        let limit = ConnectionLimit::new(1);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let limit = Arc::clone(&limit);
                thread::spawn(move || {
                    for _ in 0..rounds {
                        let permit = limit.acquire().expect("not stopping");
                        assert_eq!(limit.open(), 1);
                        drop(permit);
                    }
                })
            })
            .collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !threads.iter().all(thread::JoinHandle::is_finished) {
            assert!(
                std::time::Instant::now() < deadline,
                "a waiter was never woken"
            );
            thread::sleep(Duration::from_millis(1));
        }
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(limit.open(), 0);
        assert_eq!(limit.waiters.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn waiting_for_a_place_takes_none_and_admitting_takes_one_regardless() {
        let limit = ConnectionLimit::new(1);
        assert!(limit.wait_for_place());
        assert_eq!(limit.open(), 0);
        let held = limit.acquire().unwrap();
        let waiter = {
            let limit = Arc::clone(&limit);
            thread::spawn(move || limit.wait_for_place())
        };
        let admitted = limit.admit();
        assert_eq!(limit.open(), 2, "past the limit");
        drop(held);
        thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "still at the limit");
        drop(admitted);
        assert!(waiter.join().unwrap());
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
