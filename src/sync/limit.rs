//! The limit on open connections (HAProxy's `maxconn`): a counter with a
//! permit per connection, released when the connection is closed or
//! handed out of the multiplexer's care.
//!
//! A sniffer thread reserves a free place before it accepts, so that at
//! the limit new connections wait in the kernel's listen backlog instead
//! of being accepted and dropped, however many threads accept at once; it
//! takes the place once it has a connection (a thread blocked in `accept`
//! holds a reservation, which is not an open connection). The permit
//! travels with the connection through the sniff to an inline handler;
//! a connection queued for a route gives its place back while it waits
//! in the queue (a route nobody accepts on must not take every place) and
//! takes one again when a handle accepts it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::sync::lock::lock;
use crate::sync::per_source::SourcePlace;

/// How many connections are open, and the most that may be.
///
/// Taking and releasing a place are single atomic operations on `open`
/// (and `reserved`), with no lock: the dispatcher and the sniffers do both
/// once per connection. Only a thread that must wait for a place (an
/// accepting thread at the limit) takes the lock; a release takes it only
/// when such a thread is counted in `waiters`.
pub(crate) struct ConnectionLimit {
    /// Connections holding a permit.
    open: AtomicUsize,
    /// Places reserved by threads about to accept.
    reserved: AtomicUsize,
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
    /// The limit this permit holds a place under; `None` for a connection
    /// waiting in a route's queue, which holds none.
    limit: Option<Arc<ConnectionLimit>>,
    /// The connection's place under its address's limit, if it has one:
    /// freed with the permit. Boxed (only when that limit is set) to keep
    /// the permit, which every connection carries, one pointer wider.
    source: Option<Box<SourcePlace>>,
}

impl ConnectionLimit {
    pub(crate) fn new(max_open: usize) -> Arc<ConnectionLimit> {
        Arc::new(ConnectionLimit {
            open: AtomicUsize::new(0),
            reserved: AtomicUsize::new(0),
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
            limit: Some(Arc::clone(self)),
            source: None,
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
    fn wait_for_place(&self) -> bool {
        self.wait_until(|| self.open.load(Ordering::SeqCst) < self.max_open)
    }

    /// Waits until `free` says a place is, counted in `waiters` while it
    /// waits; `false` once stopping.
    fn wait_until(&self, free: impl Fn() -> bool) -> bool {
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return false;
            }
            if free() {
                return true;
            }
            let guard = lock(&self.lock);
            self.waiters.fetch_add(1, Ordering::SeqCst);
            // Looked at again once counted: a release from here on sees
            // the count and notifies, under the lock this thread holds
            // until the wait has begun, so the notification is not lost.
            if !self.stopping.load(Ordering::SeqCst) && !free() {
                drop(self.freed.wait(guard));
            }
            self.waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Reserves a place for a connection about to be accepted, waiting
    /// until one is free beyond those taken or reserved; `false` once
    /// stopping. The reservation ends with [`claim`](Self::claim) once a
    /// connection is accepted, or [`unreserve`](Self::unreserve).
    pub(crate) fn reserve(&self) -> bool {
        self.wait_until(|| {
            self.reserved
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |reserved| {
                    (self.open.load(Ordering::SeqCst) + reserved < self.max_open)
                        .then_some(reserved + 1)
                })
                .is_ok()
        })
    }

    /// Gives a reservation back unused.
    pub(crate) fn unreserve(&self) {
        self.reserved.fetch_sub(1, Ordering::SeqCst);
        self.notify(Condvar::notify_all);
    }

    /// Turns a reservation into a permit for the connection just
    /// accepted. If a connection that reserved nothing took the place
    /// meanwhile (a dispatcher's), this one waits for a place like
    /// [`acquire`](Self::acquire); `None` once stopping.
    pub(crate) fn claim(self: &Arc<Self>) -> Option<ConnectionPermit> {
        // Taken before the reservation is given back, so that no other
        // thread can reserve the place in between.
        let taken = self.take_place();
        self.reserved.fetch_sub(1, Ordering::SeqCst);
        if taken {
            return Some(self.permit());
        }
        self.notify(Condvar::notify_all);
        self.acquire()
    }

    /// Takes a place whether or not one is free, for a connection that
    /// cannot be refused: one a route's handle accepts from its queue.
    /// The count may go past the limit; accepting then waits until
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

impl ConnectionPermit {
    /// A permit that holds no place (a stream made outside a
    /// multiplexer's care).
    pub(crate) fn none() -> ConnectionPermit {
        ConnectionPermit {
            limit: None,
            source: None,
        }
    }

    /// Makes the permit hold `place` too, freed with it.
    pub(crate) fn hold(&mut self, place: SourcePlace) {
        self.source = Some(Box::new(place));
    }

    /// Frees the connection's place under the limit, keeping its place
    /// under its address's limit: a connection waiting in a route's queue
    /// is still open for its address.
    pub(crate) fn give_back_place(&mut self) {
        if let Some(limit) = self.limit.take() {
            limit.open.fetch_sub(1, Ordering::SeqCst);
            // All: a thread waiting to reserve and one waiting to claim
            // may not both be able to use the place.
            limit.notify(Condvar::notify_all);
        }
    }

    /// Takes the place under the limit that `other` holds (a handle
    /// accepted the connection from its route's queue), keeping this
    /// permit's place under its address's limit.
    pub(crate) fn take_place_of(&mut self, mut other: ConnectionPermit) {
        self.give_back_place();
        self.limit = other.limit.take();
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.give_back_place();
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
    fn a_reservation_takes_no_place_and_admitting_takes_one_regardless() {
        let limit = ConnectionLimit::new(1);
        assert!(limit.reserve());
        assert_eq!(limit.open(), 0);
        limit.unreserve();
        let held = limit.acquire().unwrap();
        let waiter = {
            let limit = Arc::clone(&limit);
            thread::spawn(move || limit.reserve())
        };
        let admitted = limit.admit();
        assert_eq!(limit.open(), 2, "past the limit");
        drop(held);
        thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "still at the limit");
        drop(admitted);
        assert!(waiter.join().unwrap());
        assert_eq!(limit.open(), 0);
        assert!(limit.claim().is_some());
    }

    #[test]
    fn reservations_never_outnumber_the_free_places() {
        let limit = ConnectionLimit::new(2);
        let held = limit.acquire().unwrap();
        assert!(limit.reserve());
        let second = {
            let limit = Arc::clone(&limit);
            thread::spawn(move || limit.reserve())
        };
        thread::sleep(Duration::from_millis(20));
        assert!(!second.is_finished(), "one place, reserved already");
        let claimed = limit.claim().expect("the reserved place");
        assert_eq!(limit.open(), 2);
        drop(held);
        assert!(second.join().unwrap(), "the released place");
        // A dispatcher takes the reserved place: the claim waits for one.
        let dispatched = limit.try_acquire().expect("a place nobody holds");
        let claim = {
            let limit = Arc::clone(&limit);
            thread::spawn(move || limit.claim().map(drop).is_some())
        };
        thread::sleep(Duration::from_millis(20));
        assert!(!claim.is_finished(), "both places taken");
        drop(dispatched);
        assert!(claim.join().unwrap());
        drop(claimed);
        assert_eq!(
            (limit.open(), limit.reserved.load(Ordering::SeqCst)),
            (0, 0)
        );
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
