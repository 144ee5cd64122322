//! A bounded multi-producer, multi-consumer queue with close, on
//! `Mutex<VecDeque>` and one `Condvar` (a [`Monitor`], which skips the
//! wake-up when no receiver waits).
//!
//! It carries matched connections from the sniffers to a route's
//! `Listener`. Producers never block: `try_send` hands the item back when
//! the queue is full or closed, so the caller decides what to do with it
//! (close it and report an event) outside the lock. Receivers block, with
//! or without a timeout; after `close`, they drain what is queued and then
//! see `Closed`. `std::sync::mpsc::Receiver` is neither `Sync` nor `Clone`,
//! which is why this exists.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use crate::sync::monitor::Monitor;

/// Why `try_send` gave the item back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TrySendError<T> {
    /// The queue holds `capacity` items already.
    Full(T),
    /// The queue was closed.
    Closed(T),
}

/// Why a receive returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvError {
    /// The queue is closed and empty.
    Closed,
    /// Nothing arrived before the timeout (or, for `try_recv`, at once).
    Empty,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

/// The queue; share it behind an `Arc`.
pub(crate) struct Queue<T> {
    /// Notified on each item and on close.
    state: Monitor<State<T>>,
    capacity: usize,
}

impl<T> Queue<T> {
    /// An empty, open queue holding at most `capacity` items (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Queue {
            state: Monitor::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    /// Appends `item` unless the queue is full or closed; never blocks.
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut state = self.lock();
        if state.closed {
            return Err(TrySendError::Closed(item));
        }
        if state.items.len() >= self.capacity {
            return Err(TrySendError::Full(item));
        }
        state.items.push_back(item);
        drop(state);
        self.state.notify_one();
        Ok(())
    }

    /// Takes the oldest item, waiting as long as it takes.
    pub(crate) fn recv(&self) -> Result<T, RecvError> {
        let mut state = self
            .state
            .wait_while(self.lock(), |s| s.items.is_empty() && !s.closed);
        state.items.pop_front().ok_or(RecvError::Closed)
    }

    /// Takes the oldest item, waiting until there is one or `woken` is
    /// set (then `Empty`); [`wake_receivers`](Self::wake_receivers) makes
    /// a waiting receiver look at `woken` again.
    pub(crate) fn recv_unless(&self, woken: &AtomicBool) -> Result<T, RecvError> {
        let is_woken = || woken.load(Ordering::SeqCst);
        let mut state = self.state.wait_while(self.lock(), |s| {
            s.items.is_empty() && !s.closed && !is_woken()
        });
        match state.items.pop_front() {
            Some(item) => Ok(item),
            None if state.closed => Err(RecvError::Closed),
            None => Err(RecvError::Empty),
        }
    }

    /// Wakes every waiting receiver without changing the queue: those in
    /// [`recv_unless`](Self::recv_unless) look at their flag again, the
    /// others go back to waiting.
    pub(crate) fn wake_receivers(&self) {
        drop(self.lock());
        self.state.notify_all();
    }

    /// Takes the oldest item, waiting at most `timeout`.
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvError> {
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            return self.recv();
        };
        let mut state = self.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                return Ok(item);
            }
            if state.closed {
                return Err(RecvError::Closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvError::Empty);
            }
            state = self.state.wait_timeout(state, left);
        }
    }

    /// Takes the oldest item if there is one, without waiting.
    pub(crate) fn try_recv(&self) -> Result<T, RecvError> {
        let mut state = self.lock();
        match state.items.pop_front() {
            Some(item) => Ok(item),
            None if state.closed => Err(RecvError::Closed),
            None => Err(RecvError::Empty),
        }
    }

    /// Closes the queue and wakes every waiting receiver; the items still
    /// queued stay available to receivers.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.state.notify_all();
    }

    /// Closes the queue and takes every queued item out, so the caller can
    /// drop them after the lock is released.
    pub(crate) fn close_and_drain(&self) -> VecDeque<T> {
        let drained = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.items)
        };
        self.state.notify_all();
        drained
    }

    /// How many items are queued.
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether `close` or `close_and_drain` has been called.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn fifo_and_bounded() {
        let q = Queue::new(2);
        assert_eq!(q.try_send(1), Ok(()));
        assert_eq!(q.try_send(2), Ok(()));
        assert_eq!(q.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(q.len(), 2);
        assert_eq!(q.recv(), Ok(1));
        assert_eq!(q.try_recv(), Ok(2));
        assert_eq!(q.try_recv(), Err(RecvError::Empty));
    }

    #[test]
    fn close_lets_receivers_drain_then_reports_closed() {
        let q = Queue::new(4);
        q.try_send("a").unwrap();
        q.close();
        assert!(q.is_closed());
        assert_eq!(q.try_send("b"), Err(TrySendError::Closed("b")));
        assert_eq!(q.recv(), Ok("a"));
        assert_eq!(q.recv(), Err(RecvError::Closed));
        assert_eq!(
            q.recv_timeout(Duration::from_secs(5)),
            Err(RecvError::Closed)
        );
        assert_eq!(q.try_recv(), Err(RecvError::Closed));
    }

    #[test]
    fn close_and_drain_hands_items_back() {
        let q = Queue::new(4);
        q.try_send(7).unwrap();
        q.try_send(8).unwrap();
        assert_eq!(q.close_and_drain(), [7, 8]);
        assert_eq!(q.recv(), Err(RecvError::Closed));
    }

    #[test]
    fn recv_timeout_times_out_and_wakes_on_send() {
        let q = Arc::new(Queue::new(1));
        assert_eq!(
            q.recv_timeout(Duration::from_millis(20)),
            Err(RecvError::Empty)
        );
        let sender = Arc::clone(&q);
        let t = thread::spawn(move || sender.try_send(5));
        assert_eq!(q.recv_timeout(Duration::from_secs(10)), Ok(5));
        t.join().unwrap().unwrap();
        q.try_send(6).unwrap();
        assert_eq!(q.recv_timeout(Duration::MAX), Ok(6));
    }

    #[test]
    fn close_wakes_every_blocked_receiver() {
        let q = Arc::new(Queue::<u32>::new(1));
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let q = Arc::clone(&q);
                thread::spawn(move || q.recv())
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        q.close();
        for r in receivers {
            assert_eq!(r.join().unwrap(), Err(RecvError::Closed));
        }
    }

    #[test]
    fn many_producers_and_consumers_lose_nothing() {
        let q = Arc::new(Queue::new(8));
        let producers: Vec<_> = (0..4u32)
            .map(|p| {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    for i in 0..500 {
                        let mut item = p * 1000 + i;
                        while let Err(TrySendError::Full(back)) = q.try_send(item) {
                            item = back;
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok(item) = q.recv() {
                        got.push(item);
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        q.close();
        let mut all: Vec<u32> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        let want: Vec<u32> = (0..4)
            .flat_map(|p| (0..500).map(move |i| p * 1000 + i))
            .collect();
        assert_eq!(all, want);
    }

    #[test]
    fn a_wake_up_ends_only_the_receiver_whose_flag_is_set() {
        let queue = Arc::new(Queue::<u32>::new(4));
        let (mine, other) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let waiters: Vec<_> = [&mine, &other]
            .into_iter()
            .map(|flag| {
                let (queue, flag) = (Arc::clone(&queue), Arc::clone(flag));
                thread::spawn(move || queue.recv_unless(&flag))
            })
            .collect();
        mine.store(true, Ordering::SeqCst);
        queue.wake_receivers();
        let mut waiters = waiters.into_iter();
        assert_eq!(
            waiters.next().unwrap().join().unwrap(),
            Err(RecvError::Empty)
        );
        // The other receiver went back to waiting: it takes the next item.
        queue.try_send(7).unwrap();
        assert_eq!(waiters.next().unwrap().join().unwrap(), Ok(7));
        assert_eq!(
            queue.recv_unless(&mine),
            Err(RecvError::Empty),
            "no wait once woken"
        );
    }
}
