//! `StopSignal`: the multiplexer's shutdown flag, which a sniff can also
//! sleep on.
//!
//! Shutdown must end every sniff at once. A sniff blocked in a read is
//! woken by shutting its socket down; a sniff that paces its reads (see
//! [`pace`](crate::sniff::pace)) sleeps between them, and this is what wakes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::sync::monitor::Monitor;

/// A flag set once, when the multiplexer stops; threads may sleep until it
/// is set.
pub(crate) struct StopSignal {
    /// Read on every check without the lock.
    set: AtomicBool,
    /// Where sleepers wait; its value mirrors `set`.
    sleepers: Monitor<bool>,
}

impl StopSignal {
    pub(crate) fn new() -> Self {
        StopSignal {
            set: AtomicBool::new(false),
            sleepers: Monitor::new(false),
        }
    }

    /// Whether the multiplexer is stopping.
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Sets the flag and wakes every sleeper; `true` on the first call.
    pub(crate) fn set(&self) -> bool {
        let first = !self.set.swap(true, Ordering::SeqCst);
        *self.sleepers.lock() = true;
        self.sleepers.notify_all();
        first
    }

    /// Sleeps for `duration`, or until the flag is set; `false` if it is.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let started = Instant::now();
        let mut stopped = self.sleepers.lock();
        while !*stopped {
            let left = duration.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            stopped = self.sleepers.wait_timeout(stopped, left);
        }
        !*stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn a_sleep_runs_its_course_unless_the_flag_is_set() {
        let signal = Arc::new(StopSignal::new());
        let started = Instant::now();
        assert!(signal.sleep(Duration::from_millis(20)));
        assert!(started.elapsed() >= Duration::from_millis(20));
        let sleeper = {
            let signal = Arc::clone(&signal);
            thread::spawn(move || signal.sleep(Duration::from_secs(3600)))
        };
        thread::sleep(Duration::from_millis(20));
        assert!(signal.set());
        assert!(!sleeper.join().unwrap(), "woken by the flag");
        assert!(!signal.set(), "only the first call is first");
        assert!(signal.is_set());
        assert!(!signal.sleep(Duration::from_secs(3600)));
    }
}
