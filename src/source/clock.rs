//! `Clock`: virtual time for in-memory connections, so that tests and
//! fuzz targets drive first-byte timeouts, silence routes and the sniff
//! deadline without sleeping.
//!
//! Real time is the default and costs nothing: a connection answers
//! [`Connection::clock`](crate::Connection::clock) with `None` unless it
//! is an in-memory stream made by a clock ([`Clock::pair`],
//! [`Clock::listener`]). For such a stream the sniffer reads the time from
//! the clock, pauses on it, and the stream's reads time out on it: time
//! stands still until the test calls [`Clock::advance`].
//!
//! A test must not advance the clock while a thread it wants to observe is
//! still working on the last change, or what that thread sees would
//! depend on the scheduler. Every thread blocked on the clock (a read of a
//! clocked stream, a sniff's pause) is a *sleeper*; a sleeper counts as
//! settled once it has looked at its input and the time after the latest
//! change that concerns it (bytes written to or read from its pipe, an end
//! closed, an advance that reaches its wake time) and gone back to sleep.
//! [`Clock::wait_for_sleepers`] waits until as many threads as the test
//! expects have settled: then every one of them is waiting for time or
//! input, and an advance is seen by all of them at the same virtual
//! instant. A change wakes only the sleepers it concerns, so a thousand
//! idle connections cost nothing when one of them is written to.

use std::fmt;
use std::panic::RefUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::sync::lock::{lock, unpoisoned};
use crate::sync::stop::StopSignal;

/// How often a sniff pausing on a clock looks whether the multiplexer
/// stops, in real time: the stop signal does not know the clock.
const STOP_POLL: Duration = Duration::from_millis(20);

/// Virtual time shared by in-memory connections and the sniffs reading
/// them; clones share the same time.
///
/// It starts at zero and moves only when [`advance`](Clock::advance) is
/// called. A read with a timeout on one of its streams returns the bytes
/// written meanwhile, or times out once the clock has been advanced past
/// the timeout; a sniff of such a stream measures its deadline, its
/// first-byte timeout and its silence routes on the clock. A connection's
/// time counts from the start of its sniff.
///
/// ```
/// use connmux::matchers::{http1_fast, silence};
/// use connmux::{memory::Clock, Mux};
/// use std::time::Duration;
///
/// let clock = Clock::new();
/// let (source, connector) = clock.listener();
/// let mut mux = Mux::new(source)?;
/// let http = mux.route(http1_fast());
/// let quiet = mux.route(silence(Duration::from_secs(2)));
/// std::thread::spawn(move || mux.serve());
///
/// let _client = connector.connect()?; // sends nothing
/// assert!(clock.wait_for_sleepers(1, Duration::from_secs(10)), "the sniff waits");
/// clock.advance(Duration::from_secs(2)); // no real time passes
/// let (_server_side, _) = quiet.accept_timeout(Duration::from_secs(10))?;
/// assert_eq!(http.queued(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Clock {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// [`Clock::wait_for_sleepers`] waits here for sleepers to settle.
    settled: Condvar,
    /// On a clock advanced by waits, where a wait with a wake time moves
    /// the time instead of blocking; and how many times the time may be
    /// read: see [`Clock::advanced_by_waits`].
    advanced_by_waits: Option<WakesAt>,
    max_reads: u64,
}

/// When a thread that waits until a wake time wakes: at it, or later.
/// (Unwind-safe, as a clock is.)
type WakesAt = Box<dyn Fn(Duration) -> Duration + Send + Sync + RefUnwindSafe>;

struct State {
    now: Duration,
    /// How many times [`Clock::now`] was called.
    reads: u64,
    next_id: u64,
    sleepers: Vec<Sleeper>,
}

/// A thread waiting on the clock. Each has its own condition variable, so
/// that a change wakes only the threads it concerns: input written to a
/// pipe wakes that pipe's reader, an advance the sleepers whose wake time
/// it reaches.
struct Sleeper {
    id: u64,
    /// What it waits on besides time (a pipe), or [`NO_INPUT`].
    input: usize,
    wake: Option<Duration>,
    /// It looked and found nothing to do.
    settled: bool,
    /// A change it waits for came since it registered.
    woken: bool,
    condvar: Arc<Condvar>,
}

impl State {
    fn settled(&self) -> impl Iterator<Item = &Sleeper> {
        self.sleepers.iter().filter(|s| s.settled && !s.woken)
    }

    fn sleeper(&mut self, id: u64) -> Option<&mut Sleeper> {
        self.sleepers.iter_mut().find(|s| s.id == id)
    }

    fn remove(&mut self, id: u64) {
        if let Some(at) = self.sleepers.iter().position(|s| s.id == id) {
            self.sleepers.swap_remove(at);
        }
    }

    /// Moves the time to `now` and wakes the sleepers whose wake time it
    /// reaches.
    fn advance_to(&mut self, now: Duration) {
        self.now = now;
        self.wake(|sleeper| sleeper.wake.is_some_and(|wake| wake <= now));
    }

    /// Wakes the sleepers `concerned` selects.
    fn wake(&mut self, concerned: impl Fn(&Sleeper) -> bool) {
        for sleeper in &mut self.sleepers {
            if !sleeper.woken && concerned(sleeper) {
                sleeper.woken = true;
                sleeper.condvar.notify_one();
            }
        }
    }
}

/// The input key of a sleeper that waits for time only.
pub(crate) const NO_INPUT: usize = 0;

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Clock")
            .field("now", &state.now)
            .field("sleepers", &state.settled().count())
            .finish()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock at zero, with no streams.
    ///
    /// ```
    /// use connmux::memory::Clock;
    /// use std::time::Duration;
    ///
    /// let clock = Clock::new();
    /// assert_eq!(clock.now(), Duration::ZERO);
    /// ```
    pub fn new() -> Clock {
        Clock::starting(None, u64::MAX)
    }

    /// A clock at zero that no other thread advances: a wait on it with
    /// nothing to return, rather than block, moves the time to
    /// `wakes_at(wake)`, when the waiting thread wakes: at the wait's wake
    /// time `wake`, or later, as on a busy machine (never earlier). A wait
    /// without a wake time blocks as on any clock. One thread then plays a
    /// whole script of arrivals and time limits against itself (the
    /// `timing` fuzz target), with no thread to settle.
    ///
    /// # Panics
    ///
    /// [`now`](Clock::now) panics once called more than `max_reads`
    /// times: a thread that reads the time that often spins rather than
    /// waits, and no one else would ever move the time it waits for.
    pub(crate) fn advanced_by_waits(
        max_reads: u64,
        wakes_at: impl Fn(Duration) -> Duration + Send + Sync + RefUnwindSafe + 'static,
    ) -> Clock {
        Clock::starting(Some(Box::new(wakes_at)), max_reads)
    }

    fn starting(advanced_by_waits: Option<WakesAt>, max_reads: u64) -> Clock {
        Clock {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    now: Duration::ZERO,
                    reads: 0,
                    next_id: 0,
                    sleepers: Vec::new(),
                }),
                settled: Condvar::new(),
                advanced_by_waits,
                max_reads,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// The virtual time since the clock was made.
    ///
    /// ```
    /// use connmux::memory::Clock;
    /// use std::time::Duration;
    ///
    /// let clock = Clock::new();
    /// clock.advance(Duration::from_millis(1500));
    /// assert_eq!(clock.now(), Duration::from_millis(1500));
    /// ```
    pub fn now(&self) -> Duration {
        let mut state = self.lock();
        state.reads += 1;
        let (now, reads) = (state.now, state.reads);
        drop(state);
        assert!(
            reads <= self.shared.max_reads,
            "the clock's time was read {reads} times: its reader spins"
        );
        now
    }

    /// Moves the time forward by `by` and wakes the sleepers whose wake
    /// time it reaches; it returns at once, before they have looked (see
    /// [`wait_for_sleepers`](Clock::wait_for_sleepers)).
    ///
    /// ```
    /// use connmux::memory::Clock;
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    ///
    /// let clock = Clock::new();
    /// let (_client, mut server) = clock.pair();
    /// server.set_read_timeout(Some(Duration::from_secs(30)))?;
    /// let reader = std::thread::spawn(move || server.read(&mut [0; 1]));
    /// assert!(clock.wait_for_sleepers(1, Duration::from_secs(10)));
    /// clock.advance(Duration::from_secs(30)); // half a minute in no time
    /// assert_eq!(reader.join().unwrap().unwrap_err().kind(), ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        let now = state.now.saturating_add(by);
        state.advance_to(now);
    }

    /// How many threads are blocked on the clock (reading one of its
    /// streams, or a sniff pausing) having seen its latest change.
    ///
    /// ```
    /// use connmux::memory::Clock;
    ///
    /// assert_eq!(Clock::new().sleepers(), 0);
    /// ```
    pub fn sleepers(&self) -> usize {
        self.lock().settled().count()
    }

    /// The earliest virtual time a sleeper waits for, if one waits for a
    /// time (a read without a timeout waits for input only).
    ///
    /// ```
    /// use connmux::memory::Clock;
    /// use std::io::Read;
    /// use std::time::Duration;
    ///
    /// let clock = Clock::new();
    /// let (_client, mut server) = clock.pair();
    /// server.set_read_timeout(Some(Duration::from_secs(3)))?;
    /// let reader = std::thread::spawn(move || server.read(&mut [0; 1]));
    /// assert!(clock.wait_for_sleepers(1, Duration::from_secs(10)));
    /// assert_eq!(clock.next_wake(), Some(Duration::from_secs(3)));
    /// clock.advance(Duration::from_secs(3));
    /// assert!(reader.join().unwrap().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn next_wake(&self) -> Option<Duration> {
        self.lock().settled().filter_map(|s| s.wake).min()
    }

    /// Waits, at most `timeout` of real time, until at least `count`
    /// threads sleep on the clock having seen its latest change; `false`
    /// if they did not in time. Call it before [`advance`](Clock::advance)
    /// with the number of threads that should be waiting (one per sniff in
    /// progress, plus any handler blocked in a read), so that each sees the
    /// advance at the same virtual time whatever the scheduler did.
    ///
    /// ```
    /// use connmux::memory::Clock;
    /// use std::io::{Read, Write};
    /// use std::time::Duration;
    ///
    /// let clock = Clock::new();
    /// let (mut client, mut server) = clock.pair();
    /// let reader = std::thread::spawn(move || {
    ///     let mut got = [0; 4];
    ///     server.read_exact(&mut got).map(|()| got)
    /// });
    /// assert!(clock.wait_for_sleepers(1, Duration::from_secs(10)), "blocked in read_exact");
    /// client.write_all(b"ping")?;
    /// assert_eq!(&reader.join().unwrap()?, b"ping");
    /// assert!(!clock.wait_for_sleepers(1, Duration::from_millis(1)), "nobody waits now");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_for_sleepers(&self, count: usize, timeout: Duration) -> bool {
        let until = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        loop {
            if state.settled().count() >= count {
                return true;
            }
            let left = until.map_or(Duration::MAX, |until| {
                until.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return false;
            }
            state = unpoisoned(self.shared.settled.wait_timeout(state, left)).0;
        }
    }

    /// Records a change of `input` (a pipe's bytes or ends): the threads
    /// waiting on it wake and look again.
    pub(crate) fn touch(&self, input: usize) {
        self.lock().wake(|sleeper| sleeper.input == input);
    }

    /// Waits until `ready` gives a value or the clock reaches `wake`
    /// (`None`: never): `ready` is called with the clock unlocked, first at
    /// once and then after every [`touch`](Clock::touch) of `input`.
    /// `None` when the wake time came first. With `stop`, it also looks
    /// every [`STOP_POLL`] of real time whether `stop` is set, and if it
    /// is, calls `ready` again; a sleeper stays settled meanwhile.
    /// On a clock [advanced by waits](Clock::advanced_by_waits), a wait
    /// with a wake time does not block: the clock moves to it (or later).
    pub(crate) fn wait<T>(
        &self,
        input: usize,
        wake: Option<Duration>,
        stop: Option<&StopSignal>,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        let condvar = Arc::new(Condvar::new());
        let mut state = self.lock();
        loop {
            // Registered before it looks, so that a change while it looks
            // is not missed.
            let id = state.next_id;
            state.next_id += 1;
            state.sleepers.push(Sleeper {
                id,
                input,
                wake,
                settled: false,
                woken: false,
                condvar: Arc::clone(&condvar),
            });
            let now = state.now;
            drop(state);
            let value = ready();
            state = self.lock();
            let due = value.is_some() || wake.is_some_and(|wake| now >= wake);
            // Nobody else moves this clock: the wait takes it to when the
            // thread wakes, then looks once more.
            if let (false, Some(wakes_at), Some(wake)) = (due, &self.shared.advanced_by_waits, wake)
            {
                state.remove(id);
                let woken = wakes_at(wake).max(wake);
                if state.now < woken {
                    state.advance_to(woken);
                }
                continue;
            }
            let Some(sleeper) = state.sleeper(id).filter(|s| !due && !s.woken) else {
                state.remove(id);
                match value {
                    Some(value) => return Some(value),
                    None if due => return None,
                    None => continue,
                }
            };
            sleeper.settled = true;
            self.shared.settled.notify_all();
            loop {
                state = match stop {
                    Some(_) => unpoisoned(condvar.wait_timeout(state, STOP_POLL)).0,
                    None => unpoisoned(condvar.wait(state)),
                };
                let stopped = stop.is_some_and(StopSignal::is_set);
                if stopped || state.sleeper(id).is_none_or(|s| s.woken) {
                    break;
                }
            }
            state.remove(id);
        }
    }

    /// Sleeps `duration` of the clock's time, or until `stop` is set;
    /// `false` if it is (as [`StopSignal::sleep`]).
    pub(crate) fn sleep(&self, duration: Duration, stop: &StopSignal) -> bool {
        let wake = self.now().saturating_add(duration);
        self.wait(NO_INPUT, Some(wake), Some(stop), || {
            stop.is_set().then_some(())
        })
        .is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic;
    use std::thread;

    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn a_sleep_ends_when_the_clock_reaches_it_or_the_signal_is_set() {
        let clock = Clock::new();
        let stop = Arc::new(StopSignal::new());
        let sleeper = {
            let (clock, stop) = (clock.clone(), Arc::clone(&stop));
            thread::spawn(move || clock.sleep(Duration::from_secs(5), &stop))
        };
        assert!(clock.wait_for_sleepers(1, WAIT));
        assert_eq!(clock.next_wake(), Some(Duration::from_secs(5)));
        clock.advance(Duration::from_secs(4));
        assert!(clock.wait_for_sleepers(1, WAIT), "4 s is not enough");
        clock.advance(Duration::from_secs(1));
        assert!(sleeper.join().unwrap(), "slept its course");
        assert_eq!(clock.sleepers(), 0);

        let sleeper = {
            let (clock, stop) = (clock.clone(), Arc::clone(&stop));
            thread::spawn(move || clock.sleep(Duration::from_secs(5), &stop))
        };
        assert!(clock.wait_for_sleepers(1, WAIT));
        stop.set();
        assert!(!sleeper.join().unwrap(), "woken by the signal");
    }

    #[test]
    fn a_sleep_on_a_clock_advanced_by_waits_moves_it_to_when_it_wakes() {
        // Woken on the next whole second.
        let clock = Clock::advanced_by_waits(4, |wake| {
            Duration::from_secs(wake.as_secs() + u64::from(wake.subsec_nanos() > 0))
        });
        let stop = StopSignal::new();
        assert!(clock.sleep(Duration::from_millis(300), &stop));
        assert!(clock.sleep(Duration::from_secs(1), &stop));
        assert_eq!(clock.now(), Duration::from_secs(2));
        assert_eq!(clock.sleepers(), 0);
        stop.set();
        assert!(!clock.sleep(Duration::from_secs(5), &stop), "stopped");
        let spins = panic::catch_unwind(|| clock.now());
        assert!(spins.is_err(), "a fifth read of the time");
    }

    #[test]
    fn an_advance_wakes_the_sleepers_whose_time_came() {
        let clock = Clock::new();
        let stop = Arc::new(StopSignal::new());
        let sleepers: Vec<_> = (1..=2)
            .map(|seconds| {
                let (clock, stop) = (clock.clone(), Arc::clone(&stop));
                thread::spawn(move || clock.sleep(Duration::from_secs(seconds), &stop))
            })
            .collect();
        assert!(clock.wait_for_sleepers(2, WAIT));
        assert_eq!(clock.next_wake(), Some(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert!(clock.wait_for_sleepers(1, WAIT));
        assert_eq!(clock.next_wake(), Some(Duration::from_secs(2)));
        clock.advance(Duration::from_secs(1));
        for sleeper in sleepers {
            assert!(sleeper.join().unwrap());
        }
        assert!(!clock.wait_for_sleepers(1, Duration::from_millis(1)));
        assert!(format!("{clock:?}").contains("now: 2s"));
    }
}
