//! `Monitor`: a `Mutex` and a `Condvar` that skips the wake-up when no
//! thread waits.
//!
//! On Linux, std's `Condvar::notify_*` makes a futex system call whether
//! or not a thread waits. Route queues and the in-memory pipes notify on
//! every item and write, and most of the time nobody is waiting: counting
//! waiters under the lock turns those notifications into one relaxed load.
//! (The connection limit goes further and takes no lock at all unless a
//! thread waits: see [`limit`](crate::sync::limit).)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::sync::lock::{lock, unpoisoned};

/// State behind a lock, with waits and notifications on it.
pub(crate) struct Monitor<T> {
    state: Mutex<T>,
    changed: Condvar,
    /// Threads inside a wait; changed only with `state` locked.
    waiters: AtomicUsize,
}

impl<T> Monitor<T> {
    pub(crate) fn new(state: T) -> Self {
        Monitor {
            state: Mutex::new(state),
            changed: Condvar::new(),
            waiters: AtomicUsize::new(0),
        }
    }

    /// Locks the state; a panic while it was locked does not poison it
    /// (every user keeps it consistent between statements).
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        lock(&self.state)
    }

    /// Waits, with `state` unlocked, while `blocked` holds.
    pub(crate) fn wait_while<'a>(
        &self,
        mut state: MutexGuard<'a, T>,
        mut blocked: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while blocked(&mut state) {
            self.waiters.fetch_add(1, Ordering::Relaxed);
            state = unpoisoned(self.changed.wait(state));
            self.waiters.fetch_sub(1, Ordering::Relaxed);
        }
        state
    }

    /// Waits once, for a notification or at most `timeout` (callers loop
    /// on their own condition and deadline).
    pub(crate) fn wait_timeout<'a>(
        &self,
        state: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> MutexGuard<'a, T> {
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let (state, _) = unpoisoned(self.changed.wait_timeout(state, timeout));
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        state
    }

    /// Wakes one waiting thread, if any. Call it after changing the state
    /// under the lock (with the lock held or just released): a thread that
    /// began waiting before the change is counted, and one that comes
    /// after sees the change.
    pub(crate) fn notify_one(&self) {
        if self.waiters.load(Ordering::Relaxed) > 0 {
            self.changed.notify_one();
        }
    }

    /// Wakes every waiting thread, if any; called as `notify_one` is.
    pub(crate) fn notify_all(&self) {
        if self.waiters.load(Ordering::Relaxed) > 0 {
            self.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn a_waiter_is_woken_by_a_change_made_while_it_waits() {
        let monitor = Arc::new(Monitor::new(0u32));
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let monitor = Arc::clone(&monitor);
                thread::spawn(move || *monitor.wait_while(monitor.lock(), |value| *value == 0))
            })
            .collect();
        while monitor.waiters.load(Ordering::Relaxed) < 4 {
            thread::yield_now();
        }
        *monitor.lock() = 7;
        monitor.notify_all();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), 7);
        }
        assert_eq!(monitor.waiters.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_timed_wait_returns_without_a_notification() {
        let monitor = Monitor::new(());
        drop(monitor.wait_timeout(monitor.lock(), Duration::from_millis(20)));
        assert_eq!(monitor.waiters.load(Ordering::Relaxed), 0);
        monitor.notify_one();
    }
}
