//! The sniffer pool: threads that take turns accepting, and sniff and
//! route what they accept themselves (the leader/followers pattern, as
//! Apache's worker MPM and nginx without `accept_mutex` share a listening
//! socket), so that a connection crosses no thread before its handler.
//!
//! A thread is in one of three states:
//! - **accepting**: it holds a turn, and waits for a place under the
//!   connection limit, then blocks in the source's `accept`. Several
//!   threads may; the kernel wakes one per connection.
//! - **waiting** for a turn: at most [`MAX_ACCEPTORS`] threads accept at
//!   once, and none may while the sniffs in progress and the turns held
//!   reach the sniff limit, or during the back-off after a transient
//!   accept error. A thread that waits longer than the idle timeout exits,
//!   unless no other thread is left to accept; so does one that waited
//!   that long in `accept`, once it has served what it accepted.
//! - **busy**: sniffing the connection it accepted, then running an inline
//!   route's handler if one matched.
//!
//! A thread leaving `accept` with a connection makes sure somebody accepts
//! after it: if it was the last thread accepting, it wakes one waiting for
//! a turn or, if none waits, asks the supervisor (the thread in `serve`)
//! to start one. Threads idle for the idle timeout exit; when none is
//! left, the supervisor accepts itself and starts a thread for what it
//! accepts, so an idle multiplexer holds no thread but `serve`'s. That is the only wake-up on the way of a connection, and
//! it happens only when every thread is busy; the supervisor never starts
//! a thread past the [`thread_ceiling`](crate::mux::thread_ceiling).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::mux::accept_retry::Backoff;
use crate::mux::slot::SniffSlot;
use crate::source::connection::Connection;
use crate::sync::limit::ConnectionPermit;
use crate::sync::lock::{lock, unpoisoned};

/// The most threads that accept at once. Each thread that finishes a
/// connection while fewer accept goes straight back to `accept`; one that
/// finds this many there waits for a turn, and has to be woken for it
/// later: a second sleep and wake-up for its next connection. So the cap
/// is high enough for the threads a loaded server cycles through
/// (measured with 32 clients at a time on 2 processors: a cap of 4 cost
/// 0.3 context switches per connection more). What it bounds is the
/// threads an idle server keeps after a burst: those in `accept` can
/// only leave with a connection.
pub(crate) const MAX_ACCEPTORS: usize = 64;

/// A connection just accepted, to be sniffed.
pub(crate) struct Job<C, A> {
    pub(crate) conn: C,
    pub(crate) peer: A,
    /// When the listener accepted it: the sniff deadline counts from here.
    pub(crate) accepted_at: Instant,
    /// Its place under the open-connection limit.
    pub(crate) permit: ConnectionPermit,
}

/// A started sniffer thread and the slot it sniffs in.
struct SnifferThread<C> {
    slot: Arc<SniffSlot<C>>,
    thread: JoinHandle<()>,
}

/// What the supervisor is to do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Task {
    /// Accept, on the supervisor's own thread, holding a turn: the pool
    /// has no thread (an idle multiplexer keeps none). A connection
    /// accepted goes to a thread started for it (count it with
    /// `starting_thread_for_a_connection`); a timeout gives the turn up
    /// (`give_up_turn`).
    AcceptHere,
    /// Start a thread: nobody is left to accept. (Counted already: report
    /// the outcome with `thread_started` or `thread_failed_to_start`.)
    StartThread,
    /// Nobody is left to accept and the pool has as many threads as it
    /// may: report it; accepting waits for a busy thread.
    ReportCeiling(usize),
    /// Accepting is over: shutdown or a graceful shutdown began, or
    /// accepting failed for good.
    End,
}

struct PoolState {
    /// Threads started and not yet exited, with one being started.
    threads: usize,
    /// Threads holding a turn.
    accepting: usize,
    /// Threads waiting for a turn.
    waiting: usize,
    /// Whether the supervisor is starting a thread.
    starting: bool,
    /// Connections accepted and not yet through their sniff.
    in_flight: usize,
    stopping: bool,
    /// No new connections will be accepted (a graceful shutdown); sniffs
    /// in progress go on.
    draining: bool,
    /// The error that ended accepting, for `serve` to return.
    failed: Option<io::Error>,
    /// The back-off after transient accept errors, shared by every thread:
    /// none takes a turn before `retry_at`.
    backoff: Backoff,
    retry_at: Option<Instant>,
    /// Whether the ceiling was reported since a thread last took a turn.
    ceiling_reported: bool,
}

impl PoolState {
    fn ending(&self) -> bool {
        self.stopping || self.draining || self.failed.is_some()
    }
}

/// The pool's bookkeeping; the threads themselves are started by the
/// supervisor, which knows what they run.
pub(crate) struct SnifferPool<C> {
    state: Mutex<PoolState>,
    /// Where threads wait for a turn.
    turn: Condvar,
    /// Where the supervisor waits for work, and a graceful shutdown for
    /// the last sniff.
    supervisor: Condvar,
    threads: Mutex<Vec<SnifferThread<C>>>,
    max_in_flight: usize,
    max_acceptors: usize,
    /// Whether the source's `accept` times out after the idle timeout
    /// (`Accept::set_accept_timeout`): then a `WouldBlock` from it means
    /// idle, not failed.
    accept_times_out: AtomicBool,
    /// The most threads it may have alive: see
    /// [`thread_ceiling`](crate::mux::thread_ceiling).
    /// Set when serving starts; no limit until then.
    max_threads: AtomicUsize,
    idle_timeout: Duration,
}

impl<C: Connection> SnifferPool<C> {
    pub(crate) fn new(max_in_flight: usize, idle_timeout: Duration) -> Self {
        SnifferPool {
            state: Mutex::new(PoolState {
                threads: 0,
                accepting: 0,
                waiting: 0,
                starting: false,
                in_flight: 0,
                stopping: false,
                draining: false,
                failed: None,
                backoff: Backoff::default(),
                retry_at: None,
                ceiling_reported: false,
            }),
            turn: Condvar::new(),
            supervisor: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            max_in_flight: max_in_flight.max(1),
            max_acceptors: MAX_ACCEPTORS,
            accept_times_out: AtomicBool::new(false),
            max_threads: AtomicUsize::new(usize::MAX),
            idle_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        lock(&self.state)
    }

    /// Caps the threads alive at `max` (at least one): the
    /// [`thread_ceiling`](crate::mux::thread_ceiling), set when serving
    /// starts.
    pub(crate) fn set_max_threads(&self, max: usize) {
        self.max_threads.store(max.max(1), Ordering::Relaxed);
    }

    /// Records whether the source's `accept` times out after the idle
    /// timeout.
    pub(crate) fn set_accept_times_out(&self, times_out: bool) {
        self.accept_times_out.store(times_out, Ordering::Relaxed);
    }

    /// Whether an `accept` that failed with `WouldBlock` or `TimedOut`
    /// only timed out.
    pub(crate) fn accept_times_out(&self) -> bool {
        self.accept_times_out.load(Ordering::Relaxed)
    }

    /// Whether a thread that has been idle for the idle timeout may exit:
    /// when another can accept, or it is the last thread (the supervisor
    /// then accepts itself). `holding`: the thread counts itself in
    /// `accepting` (1) or `waiting` (1).
    fn may_leave(&self, state: &PoolState) -> bool {
        let others = state.accepting + state.waiting + usize::from(state.starting) - 1;
        others > 0 || state.threads == 1
    }

    /// Counts a thread gone; the supervisor takes over accepting if it was
    /// the last.
    fn thread_left(&self, state: &mut PoolState) {
        state.threads -= 1;
        if state.threads == 0 {
            self.supervisor.notify_all();
        }
    }

    /// Whether a thread may take a turn now: below the acceptors' cap,
    /// and with room under the sniff limit for every turn to end in a
    /// connection.
    fn turn_free(&self, state: &PoolState) -> bool {
        state.accepting < self.max_acceptors
            && state.in_flight + state.accepting < self.max_in_flight
    }

    /// Whether no thread accepts, none will without help, and one could.
    fn needs_acceptor(&self, state: &PoolState) -> bool {
        state.accepting == 0 && !state.starting && !state.ending() && self.turn_free(state)
    }

    /// Makes sure some thread will accept, if none does and one may: wakes
    /// a thread waiting for a turn, or the supervisor to start one.
    fn find_acceptor(&self, state: &PoolState) {
        if !self.needs_acceptor(state) {
            return;
        }
        if state.waiting > 0 {
            self.turn.notify_one();
        } else {
            self.supervisor.notify_all();
        }
    }

    /// Waits for a turn to accept; `false` tells the thread to exit (the
    /// pool is ending, or it waited past the idle timeout while another
    /// thread can accept), and counts it gone. `arriving`: the thread's
    /// first turn, which ends its start.
    pub(crate) fn take_turn(&self, arriving: bool) -> bool {
        let mut state = self.lock();
        state.waiting += 1;
        if arriving {
            state.starting = false;
        }
        let mut idle_until = None;
        loop {
            if state.ending() {
                break;
            }
            state = match self.back_off(state, &self.turn) {
                Ok(state) => state,
                Err(waited) => {
                    state = waited;
                    continue;
                }
            };
            if self.turn_free(&state) {
                state.waiting -= 1;
                state.accepting += 1;
                state.ceiling_reported = false;
                return true;
            }
            let now = Instant::now();
            let mut until = *idle_until.get_or_insert(now + self.idle_timeout);
            if now >= until {
                if self.may_leave(&state) {
                    break;
                }
                // Busy threads, none accepting: this one will be needed.
                until = now + self.idle_timeout;
                idle_until = Some(until);
            }
            state = unpoisoned(self.turn.wait_timeout(state, until - now)).0;
        }
        state.waiting -= 1;
        self.thread_left(&mut state);
        false
    }

    /// Records that the thread holding a turn waited in `accept` for the
    /// idle timeout; `true` tells it to exit (counted gone), `false` to
    /// take another turn (it is the one thread that can accept while the
    /// others are busy).
    pub(crate) fn accept_timed_out(&self) -> bool {
        let mut state = self.lock();
        let leaves = self.may_leave(&state);
        state.accepting -= 1;
        if leaves {
            self.thread_left(&mut state);
            self.find_acceptor(&state);
        }
        leaves
    }

    /// Holds back while the shared back-off lasts: `Err` after a wait on
    /// `condvar` (look at the state again), `Ok` once no back-off is on.
    fn back_off<'a>(
        &self,
        mut state: MutexGuard<'a, PoolState>,
        condvar: &Condvar,
    ) -> Result<MutexGuard<'a, PoolState>, MutexGuard<'a, PoolState>> {
        if let Some(retry_at) = state.retry_at {
            let now = Instant::now();
            if now < retry_at {
                return Err(unpoisoned(condvar.wait_timeout(state, retry_at - now)).0);
            }
            state.retry_at = None;
        }
        Ok(state)
    }

    /// Records that the thread holding a turn accepted a connection, which
    /// it sniffs next. If it was the last thread accepting, another is
    /// found to take its place.
    pub(crate) fn accepted(&self) {
        let mut state = self.lock();
        state.accepting -= 1;
        state.in_flight += 1;
        state.backoff.reset();
        self.find_acceptor(&state);
    }

    /// Records a transient accept error: the thread gives its turn up and
    /// no thread takes one until the shared back-off has passed. Returns
    /// the back-off.
    pub(crate) fn accept_failed(&self) -> Duration {
        let mut state = self.lock();
        state.accepting -= 1;
        let delay = state.backoff.next_delay();
        let retry_at = Instant::now() + delay;
        state.retry_at = Some(state.retry_at.map_or(retry_at, |at| at.max(retry_at)));
        delay
    }

    /// Records a fatal accept error, which ends accepting: the first is
    /// the one `serve` returns.
    pub(crate) fn accept_failed_for_good(&self, error: io::Error) {
        let mut state = self.lock();
        state.accepting -= 1;
        state.failed.get_or_insert(error);
        drop(state);
        self.turn.notify_all();
        self.supervisor.notify_all();
    }

    /// Gives up a turn without a connection (accepting is ending). Returns
    /// how many threads still hold one: shutdown's wake-up is passed on to
    /// them, in case the source's wakes only one.
    pub(crate) fn give_up_turn(&self) -> usize {
        let mut state = self.lock();
        state.accepting -= 1;
        state.accepting
    }

    /// Marks a sniff finished. `returning`: the thread is coming back for a
    /// turn (no inline handler holds it), so it need not be replaced.
    pub(crate) fn job_done(&self, returning: bool) {
        let mut state = self.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 && state.draining {
            self.supervisor.notify_all();
        }
        if !returning {
            self.find_acceptor(&state);
        }
    }

    /// Lets a thread that waited in `accept` for longer than the idle
    /// timeout exit, once it has served what it accepted, unless no other
    /// thread is left to accept: the kernel hands connections to the
    /// threads in `accept` in turn, so under a light load after a burst
    /// each surplus thread gets one now and then and would never wait a
    /// whole idle timeout for a turn. `true`: the thread exits, counted
    /// gone.
    pub(crate) fn retire(&self) -> bool {
        let mut state = self.lock();
        let others = state.accepting + state.waiting + usize::from(state.starting);
        if others == 0 || state.ending() {
            return false;
        }
        state.threads -= 1;
        true
    }

    /// The idle timeout.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Records that a thread died mid-sniff (a panic unwound through it).
    pub(crate) fn thread_died(&self) {
        let mut state = self.lock();
        state.threads -= 1;
        self.find_acceptor(&state);
    }

    /// Waits for the supervisor's next task.
    pub(crate) fn next_task(&self) -> Task {
        let mut state = self.lock();
        loop {
            if state.ending() {
                return Task::End;
            }
            state = match self.back_off(state, &self.supervisor) {
                Ok(state) => state,
                Err(waited) => {
                    state = waited;
                    continue;
                }
            };
            if self.needs_acceptor(&state) && state.waiting == 0 {
                let threads = state.threads;
                if threads == 0 {
                    state.accepting += 1;
                    return Task::AcceptHere;
                }
                if threads < self.max_threads.load(Ordering::Relaxed) {
                    state.threads += 1;
                    state.starting = true;
                    return Task::StartThread;
                }
                if !state.ceiling_reported {
                    state.ceiling_reported = true;
                    return Task::ReportCeiling(threads);
                }
            }
            state = unpoisoned(self.supervisor.wait(state));
        }
    }

    /// Records a thread started after [`Task::StartThread`] (it ends its
    /// start itself, when it first asks for a turn). Once the list
    /// holds more than twice as many threads as are alive, it joins and
    /// drops the exited ones, so that a ramp of many starts costs
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

    /// Counts a thread about to start with a connection the supervisor
    /// accepted after [`Task::AcceptHere`]: busy with it at once, it takes
    /// turns once done. (Record it with `thread_started`, or its failure
    /// with `thread_failed_to_start`.)
    pub(crate) fn starting_thread_for_a_connection(&self) {
        let mut state = self.lock();
        state.threads += 1;
    }

    /// Records that a thread could not be started; returns the threads
    /// alive.
    pub(crate) fn thread_failed_to_start(&self) -> usize {
        let mut state = self.lock();
        state.threads -= 1;
        state.starting = false;
        state.threads
    }

    /// The error that ended accepting, if one did.
    pub(crate) fn take_failure(&self) -> Option<io::Error> {
        self.lock().failed.take()
    }

    /// Tells the threads that no more connections will be accepted;
    /// sniffs in progress go on.
    pub(crate) fn drain(&self) {
        self.lock().draining = true;
        self.turn.notify_all();
        self.supervisor.notify_all();
    }

    /// Waits until no sniff is in progress, the pool stops, or `deadline`
    /// passes.
    pub(crate) fn wait_idle(&self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = unpoisoned(
            self.supervisor
                .wait_timeout_while(self.lock(), left, |s| s.in_flight > 0 && !s.stopping),
        );
    }

    /// Sleeps for `delay` unless accepting ends first; `false` if it did.
    pub(crate) fn pause(&self, delay: Duration) -> bool {
        let (state, _) = unpoisoned(
            self.supervisor
                .wait_timeout_while(self.lock(), delay, |s| !s.ending()),
        );
        !state.ending()
    }

    /// Stops the pool: threads waiting for a turn exit, and so does each
    /// busy one when its connection is done.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.turn.notify_all();
        self.supervisor.notify_all();
    }

    /// Shuts down every connection being sniffed. The connections'
    /// `shutdown` runs after the thread list is unlocked: the supervisor
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
            if !slot.in_handler() {
                // A thread that panicked has already been accounted for.
                let _ = thread.join();
            }
        }
    }

    /// How many connections are being sniffed.
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().in_flight
    }
}

#[cfg(test)]
mod tests;
