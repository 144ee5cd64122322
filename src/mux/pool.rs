//! The sniffer pool: reusable threads that sniff accepted connections,
//! and the limit on how many sniffs run at once.
//!
//! The accept loop waits for capacity (so excess connections stay in the
//! kernel's backlog rather than in memory), then submits each accepted
//! connection as a job. A job goes to an idle sniffer thread if there is
//! one; otherwise the caller starts a new thread. Threads that stay idle
//! for the idle timeout exit, so a burst does not leave its threads behind.
//!
//! Each thread holds the connection it is sniffing in a `SniffSlot`, where
//! shutdown can reach it: shutting the socket down makes a blocked read
//! return at once, which is what keeps shutdown prompt when no deadline is
//! set.

use std::collections::VecDeque;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::source::connection::Connection;
use crate::sync::limit::ConnectionPermit;
use crate::sync::lock::{lock, read, unpoisoned, write};

/// An accepted connection waiting to be sniffed.
pub(crate) struct Job<C, A> {
    pub(crate) conn: C,
    pub(crate) peer: A,
    /// When the listener accepted it: the sniff deadline counts from here.
    pub(crate) accepted_at: Instant,
    /// Its place under the open-connection limit.
    pub(crate) permit: ConnectionPermit,
}

/// The connection a sniffer thread is working on, reachable by shutdown.
pub(crate) struct SniffSlot<C> {
    conn: RwLock<Option<C>>,
    /// Set while the thread runs an inline route's handler: `serve` does
    /// not wait for handlers, so it does not join such a thread.
    in_handler: AtomicBool,
}

impl<C: Connection> SniffSlot<C> {
    pub(crate) fn new() -> Self {
        SniffSlot {
            conn: RwLock::new(None),
            in_handler: AtomicBool::new(false),
        }
    }

    /// Marks the thread as running (or done running) an inline handler.
    pub(crate) fn set_in_handler(&self, running: bool) {
        self.in_handler.store(running, Ordering::SeqCst);
    }

    /// Puts `conn` in the slot for the duration of its sniff.
    pub(crate) fn hold(&self, conn: C) {
        *write(&self.conn) = Some(conn);
    }

    /// Runs `sniff` on the held connection; `None` if the slot is empty.
    ///
    /// The sniff, and the matchers (user code) in it, run under the
    /// slot's read lock, and that is harmless: the only writer is this
    /// same thread (`hold` before, `release` after), so no writer can be
    /// waiting meanwhile, and every other user of the lock (`interrupt`,
    /// from shutdown) only reads and so gets it at once. The lock is
    /// private to the pool, so a matcher cannot take it again. What it
    /// buys is that `interrupt` can reach the connection while it is
    /// being read, with no reference count or allocation per connection.
    pub(crate) fn with<R>(&self, sniff: impl FnOnce(&C) -> R) -> Option<R> {
        let guard = read(&self.conn);
        guard.as_ref().map(sniff)
    }

    /// Takes the connection back out once its sniff is over.
    pub(crate) fn release(&self) -> Option<C> {
        write(&self.conn).take()
    }

    /// Shuts down the held connection, if any, so its sniff ends now.
    ///
    /// The connection's `shutdown` (user code, for a source of the
    /// user's) runs under the read lock, which keeps the connection from
    /// being released and dropped meanwhile; it delays only this slot's
    /// thread, whose connection is being closed anyway.
    pub(crate) fn interrupt(&self) {
        if let Some(conn) = read(&self.conn).as_ref() {
            // The connection is being dropped anyway; a socket that is
            // already closed has nothing left to interrupt.
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

/// A started sniffer thread and the slot it sniffs in.
struct SnifferThread<C> {
    slot: Arc<SniffSlot<C>>,
    thread: JoinHandle<()>,
}

/// Who will run a submitted job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Submitted {
    /// An idle thread will take it.
    ToIdleThread,
    /// No thread is free: the caller must start one (or call
    /// [`SnifferPool::thread_failed_to_start`]).
    NeedsThread,
}

struct PoolState<C, A> {
    jobs: VecDeque<Job<C, A>>,
    /// Threads started and not yet exited (or about to be started).
    threads: usize,
    /// Threads waiting in `next_job`.
    idle: usize,
    /// Jobs queued or being sniffed.
    in_flight: usize,
    stopping: bool,
    /// No new jobs will come (a graceful shutdown): the accept loop stops
    /// waiting for capacity, while jobs in progress go on.
    draining: bool,
}

/// The pool's bookkeeping; the threads themselves are started by the
/// multiplexer, which knows what they run.
pub(crate) struct SnifferPool<C, A> {
    state: Mutex<PoolState<C, A>>,
    job_queued: Condvar,
    capacity_or_stop: Condvar,
    threads: Mutex<Vec<SnifferThread<C>>>,
    max_in_flight: usize,
    /// The most threads it may have alive: see
    /// [`thread_ceiling`](crate::mux::thread_ceiling).
    /// Set when serving starts; no limit until then.
    max_threads: AtomicUsize,
    idle_timeout: Duration,
}

impl<C: Connection, A> SnifferPool<C, A> {
    pub(crate) fn new(max_in_flight: usize, idle_timeout: Duration) -> Self {
        SnifferPool {
            state: Mutex::new(PoolState {
                jobs: VecDeque::new(),
                threads: 0,
                idle: 0,
                in_flight: 0,
                stopping: false,
                draining: false,
            }),
            job_queued: Condvar::new(),
            capacity_or_stop: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            max_in_flight: max_in_flight.max(1),
            max_threads: AtomicUsize::new(usize::MAX),
            idle_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState<C, A>> {
        lock(&self.state)
    }

    /// Caps the threads alive at `max` (at least one): the
    /// [`thread_ceiling`](crate::mux::thread_ceiling), set when serving
    /// starts.
    pub(crate) fn set_max_threads(&self, max: usize) {
        self.max_threads.store(max.max(1), Ordering::Relaxed);
    }

    fn max_threads(&self) -> usize {
        self.max_threads.load(Ordering::Relaxed)
    }

    /// Whether a job submitted now would find no idle thread and no
    /// thread could be started for it.
    fn at_thread_ceiling(&self, state: &PoolState<C, A>) -> bool {
        state.jobs.len() >= state.idle && state.threads >= self.max_threads()
    }

    /// Waits until another sniff may start, and a thread can run it;
    /// `false` once the pool stops. If it has to wait for a thread because
    /// the pool is at its thread ceiling, it first calls `at_ceiling` with
    /// the number of threads, with no lock held.
    pub(crate) fn wait_for_capacity(&self, at_ceiling: impl FnOnce(usize)) -> bool {
        let mut at_ceiling = Some(at_ceiling);
        let mut state = self.lock();
        loop {
            if state.stopping || state.draining {
                return false;
            }
            let ceiling = self.at_thread_ceiling(&state);
            if state.in_flight < self.max_in_flight && !ceiling {
                return true;
            }
            if let Some(report) = at_ceiling.take_if(|_| ceiling) {
                let threads = state.threads;
                drop(state);
                report(threads);
                state = self.lock();
                continue;
            }
            state = unpoisoned(self.capacity_or_stop.wait(state));
        }
    }

    /// Wakes the accept loop if it may be waiting at the thread ceiling
    /// for a thread that just became free or exited.
    fn thread_freed(&self, state: &PoolState<C, A>) {
        if state.threads + 1 >= self.max_threads() {
            self.capacity_or_stop.notify_all();
        }
    }

    /// Tells the accept loop that no more jobs will come; jobs in progress
    /// go on.
    pub(crate) fn drain(&self) {
        self.lock().draining = true;
        self.capacity_or_stop.notify_all();
    }

    /// Waits until no job is queued or running, the pool stops, or
    /// `deadline` passes.
    pub(crate) fn wait_idle(&self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = unpoisoned(
            self.capacity_or_stop
                .wait_timeout_while(self.lock(), left, |s| s.in_flight > 0 && !s.stopping),
        );
    }

    /// Sleeps for `delay` unless the pool stops first; `false` if it did.
    pub(crate) fn pause(&self, delay: Duration) -> bool {
        let (state, _) = unpoisoned(self.capacity_or_stop.wait_timeout_while(
            self.lock(),
            delay,
            |s| !s.stopping && !s.draining,
        ));
        !state.stopping && !state.draining
    }

    /// Queues a job; gives it back if the pool has stopped.
    pub(crate) fn submit(&self, job: Job<C, A>) -> Result<Submitted, Job<C, A>> {
        let mut state = self.lock();
        if state.stopping {
            return Err(job);
        }
        state.in_flight += 1;
        state.jobs.push_back(job);
        if state.jobs.len() <= state.idle {
            drop(state);
            self.job_queued.notify_one();
            Ok(Submitted::ToIdleThread)
        } else {
            state.threads += 1;
            Ok(Submitted::NeedsThread)
        }
    }

    /// Records a thread started after [`Submitted::NeedsThread`]. Once the
    /// list holds more than twice as many threads as are alive, it joins
    /// and drops the exited ones, so that a ramp of many starts costs
    /// amortised constant time per start.
    pub(crate) fn thread_started(&self, slot: Arc<SniffSlot<C>>, thread: JoinHandle<()>) {
        let alive = self.lock().threads;
        let mut threads = lock(&self.threads);
        threads.push(SnifferThread { slot, thread });
        if threads.len() <= 2 * alive + 16 {
            return;
        }
        let (finished, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *threads)
            .into_iter()
            .partition(|started| started.thread.is_finished());
        *threads = running;
        drop(threads);
        for SnifferThread { thread, .. } in finished {
            // A finished thread joins at once; a panic in it was already
            // accounted for when it unwound.
            let _ = thread.join();
        }
    }

    /// Records that a thread could not be started. If no thread is left
    /// to run the job just queued, it is taken back for the caller to drop.
    pub(crate) fn thread_failed_to_start(&self) -> Option<Job<C, A>> {
        let mut state = self.lock();
        state.threads -= 1;
        if state.threads > 0 {
            return None;
        }
        let job = state.jobs.pop_back()?;
        state.in_flight -= 1;
        drop(state);
        self.capacity_or_stop.notify_all();
        Some(job)
    }

    /// Waits for the next job; `None` tells the thread to exit (the pool
    /// stopped, or it stayed idle for the idle timeout).
    pub(crate) fn next_job(&self) -> Option<Job<C, A>> {
        let mut state = self.lock();
        state.idle += 1;
        self.thread_freed(&state);
        loop {
            if !state.stopping {
                if let Some(job) = state.jobs.pop_front() {
                    state.idle -= 1;
                    return Some(job);
                }
            }
            let timed_out = if state.stopping {
                true
            } else {
                let (next, wait) =
                    unpoisoned(self.job_queued.wait_timeout(state, self.idle_timeout));
                state = next;
                wait.timed_out() && state.jobs.is_empty()
            };
            if timed_out || state.stopping {
                state.idle -= 1;
                state.threads -= 1;
                self.thread_freed(&state);
                return None;
            }
        }
    }

    /// Marks a job finished, freeing its place for the accept loop.
    pub(crate) fn job_done(&self) {
        let mut state = self.lock();
        // Only the accept loop at the sniff limit, or a graceful shutdown
        // waiting for the last sniff, waits for this: a notification
        // costs a system call, so it is sent only when one may wait.
        let someone_waits = state.in_flight == self.max_in_flight || state.in_flight == 1;
        state.in_flight -= 1;
        drop(state);
        if someone_waits {
            self.capacity_or_stop.notify_all();
        }
    }

    /// Records that a thread died mid-job (a panic unwound through it).
    pub(crate) fn thread_died(&self) {
        let mut state = self.lock();
        state.threads -= 1;
        self.thread_freed(&state);
    }

    /// Stops the pool: no more jobs are accepted, waiting threads exit,
    /// and the jobs not started yet are handed back to be dropped.
    pub(crate) fn stop(&self) -> VecDeque<Job<C, A>> {
        let mut state = self.lock();
        state.stopping = true;
        let unstarted = std::mem::take(&mut state.jobs);
        state.in_flight -= unstarted.len();
        drop(state);
        self.job_queued.notify_all();
        self.capacity_or_stop.notify_all();
        unstarted
    }

    /// Shuts down every connection being sniffed. The connections'
    /// `shutdown` runs after the thread list is unlocked: the accept loop
    /// must not wait on it to record a new thread.
    pub(crate) fn interrupt_sniffs(&self) {
        let slots: Vec<Arc<SniffSlot<C>>> = lock(&self.threads)
            .iter()
            .map(|started| Arc::clone(&started.slot))
            .collect();
        for slot in slots {
            slot.interrupt();
        }
    }

    /// Waits for every sniffer thread to exit, except those running an
    /// inline handler, which exit on their own when it returns; call
    /// after `stop`.
    pub(crate) fn join_threads(&self) {
        let threads = std::mem::take(&mut *lock(&self.threads));
        for SnifferThread { slot, thread } in threads {
            if !slot.in_handler.load(Ordering::SeqCst) {
                // A thread that panicked has already been accounted for.
                let _ = thread.join();
            }
        }
    }

    /// How many connections are queued or being sniffed.
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{pair, MemoryStream};
    use std::thread;

    fn job(peer: u32) -> Job<MemoryStream, u32> {
        Job {
            conn: pair().1,
            peer,
            accepted_at: Instant::now(),
            permit: crate::sync::limit::ConnectionLimit::new(usize::MAX)
                .acquire()
                .unwrap(),
        }
    }

    #[test]
    fn jobs_need_threads_until_some_are_idle() {
        let pool = Arc::new(SnifferPool::new(8, Duration::from_secs(10)));
        assert_eq!(pool.submit(job(1)).ok(), Some(Submitted::NeedsThread));
        let worker = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let mut peers = Vec::new();
                while let Some(job) = pool.next_job() {
                    peers.push(job.peer);
                    pool.job_done();
                }
                peers
            })
        };
        while pool.in_flight() > 0 {
            thread::yield_now();
        }
        while pool.lock().idle == 0 {
            thread::yield_now();
        }
        assert_eq!(pool.submit(job(2)).ok(), Some(Submitted::ToIdleThread));
        while pool.in_flight() > 0 {
            thread::yield_now();
        }
        assert!(pool.stop().is_empty());
        assert_eq!(worker.join().unwrap(), [1, 2]);
        assert!(pool.submit(job(3)).is_err());
        assert!(!pool.wait_for_capacity(|_| {}));
    }

    #[test]
    fn capacity_blocks_until_a_job_is_done() {
        let pool = Arc::new(SnifferPool::new(1, Duration::from_secs(10)));
        assert!(pool.wait_for_capacity(|_| {}));
        pool.submit(job(1)).ok().unwrap();
        let waiter = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.wait_for_capacity(|_| {}))
        };
        thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished());
        let taken = pool.next_job().unwrap();
        pool.job_done();
        assert!(waiter.join().unwrap());
        assert_eq!(taken.peer, 1);
    }

    #[test]
    fn idle_threads_exit_after_the_timeout() {
        let pool: SnifferPool<MemoryStream, u32> = SnifferPool::new(1, Duration::from_millis(10));
        pool.lock().threads = 1;
        assert!(pool.next_job().is_none());
        assert_eq!(pool.lock().threads, 0);
    }

    #[test]
    fn stop_hands_back_unstarted_jobs_and_a_failed_start_returns_its_job() {
        let pool = SnifferPool::new(4, Duration::from_secs(10));
        pool.submit(job(1)).ok().unwrap();
        let back = pool.thread_failed_to_start().unwrap();
        assert_eq!(back.peer, 1);
        assert_eq!(pool.in_flight(), 0);
        pool.submit(job(2)).ok().unwrap();
        pool.submit(job(3)).ok().unwrap();
        let unstarted: Vec<u32> = pool.stop().into_iter().map(|j| j.peer).collect();
        assert_eq!(unstarted, [2, 3]);
        assert_eq!(pool.in_flight(), 0);
        assert!(!pool.pause(Duration::from_secs(10)));
    }

    /// A connection whose `shutdown` records whether the pool's thread
    /// list was unlocked while it ran.
    struct ListProbe {
        pool: std::sync::Weak<SnifferPool<ListProbe, u32>>,
        list_was_free: Arc<AtomicBool>,
    }

    impl std::io::Read for ListProbe {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.read_shared(buf)
        }
    }

    impl std::io::Write for ListProbe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.write_shared(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Connection for ListProbe {
        fn read_shared(&self, _: &mut [u8]) -> std::io::Result<usize> {
            Ok(0)
        }

        fn write_shared(&self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }

        fn set_read_timeout(&self, _: Option<Duration>) -> std::io::Result<()> {
            Ok(())
        }

        fn read_timeout(&self) -> std::io::Result<Option<Duration>> {
            Ok(None)
        }

        fn set_nonblocking(&self, _: bool) -> std::io::Result<()> {
            Ok(())
        }

        fn shutdown(&self, _: Shutdown) -> std::io::Result<()> {
            let pool = self.pool.upgrade().expect("the pool");
            let free = pool.threads.try_lock().is_ok();
            self.list_was_free.store(free, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn a_connection_shuts_down_outside_the_pools_locks() {
        let pool = Arc::new(SnifferPool::new(1, Duration::from_secs(10)));
        let list_was_free = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(SniffSlot::new());
        slot.hold(ListProbe {
            pool: Arc::downgrade(&pool),
            list_was_free: Arc::clone(&list_was_free),
        });
        pool.thread_started(slot, thread::spawn(|| {}));
        pool.interrupt_sniffs();
        assert!(list_was_free.load(Ordering::SeqCst));
    }

    #[test]
    fn interrupt_ends_a_blocked_read() {
        let slot = Arc::new(SniffSlot::new());
        let (_client, server) = pair();
        slot.hold(server);
        let reader = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || slot.with(|c| c.read_shared(&mut [0u8; 4]).unwrap()))
        };
        thread::sleep(Duration::from_millis(20));
        slot.interrupt();
        assert_eq!(reader.join().unwrap(), Some(0));
        assert!(slot.release().is_some());
        assert!(slot.release().is_none());
    }
}
