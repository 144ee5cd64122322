use super::*;
use crate::memory::MemoryStream;
use std::net::Shutdown;
use std::sync::atomic::AtomicBool;
use std::thread;

const LONG: Duration = Duration::from_secs(60);

fn pool(max_in_flight: usize, idle_timeout: Duration) -> Arc<SnifferPool<MemoryStream>> {
    Arc::new(SnifferPool::new(max_in_flight, idle_timeout))
}

/// Counts a thread as started, as the supervisor does.
fn start(pool: &SnifferPool<MemoryStream>) {
    assert_eq!(pool.next_task(), Task::StartThread);
    pool.thread_started(Arc::new(SniffSlot::new()), thread::spawn(|| {}));
    assert!(pool.lock().starting, "until the thread asks for a turn");
}

/// Waits until `done` holds of the pool's state.
fn eventually(pool: &SnifferPool<MemoryStream>, done: impl Fn(&PoolState) -> bool) {
    let deadline = Instant::now() + LONG;
    while !done(&pool.lock()) {
        assert!(Instant::now() < deadline, "never happened");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn an_empty_pool_is_accepted_for_by_the_supervisor_and_a_busy_one_gets_a_thread() {
    let pool = pool(8, LONG);
    // No thread: the supervisor accepts, and starts a thread for what it
    // accepted.
    assert_eq!(pool.next_task(), Task::AcceptHere);
    pool.accepted();
    pool.starting_thread_for_a_connection();
    pool.thread_started(Arc::new(SniffSlot::new()), thread::spawn(|| {}));
    // That thread is busy and nobody accepts: the supervisor starts one.
    start(&pool);
    assert!(pool.take_turn(true));
    pool.accepted();
    // Nobody accepts now: the supervisor starts another.
    start(&pool);
    assert!(pool.take_turn(true));
    let waiter = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || pool.next_task())
    };
    thread::sleep(Duration::from_millis(20));
    assert!(!waiter.is_finished(), "somebody accepts: no thread needed");
    // The first thread's sniff is done and it comes back: no wake-up.
    pool.job_done(true);
    assert!(pool.take_turn(false));
    pool.accepted();
    assert!(!waiter.is_finished(), "one thread still accepts");
    pool.stop();
    assert_eq!(waiter.join().unwrap(), Task::End);
}

#[test]
fn turns_are_capped_and_the_cap_leaves_room_for_every_turn_under_the_sniff_limit() {
    let pool = pool(3, LONG);
    pool.lock().threads = 1;
    start(&pool);
    assert!(pool.take_turn(true));
    pool.lock().threads = 3;
    assert!(pool.take_turn(false));
    pool.accepted();
    // One sniff and one turn leave room for one more turn.
    assert!(pool.take_turn(false));
    let third = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || pool.take_turn(false))
    };
    thread::sleep(Duration::from_millis(20));
    assert!(!third.is_finished(), "1 sniff + 2 turns = the limit of 3");
    pool.accepted();
    pool.accepted();
    // Three sniffs, no turn: nobody may accept, and nobody is started.
    assert!(!pool.needs_acceptor(&pool.lock()));
    assert!(!third.is_finished());
    // A sniff ends in an inline handler: the waiting thread is woken.
    pool.job_done(false);
    assert!(third.join().unwrap());
    assert_eq!(pool.lock().accepting, 1);
}

#[test]
fn at_most_max_acceptors_hold_turns() {
    let pool = pool(usize::MAX, LONG);
    let cap = MAX_ACCEPTORS;
    for _ in 0..cap {
        assert!(pool.take_turn(false));
    }
    let extra = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || pool.take_turn(false))
    };
    thread::sleep(Duration::from_millis(20));
    assert!(!extra.is_finished(), "past the cap");
    // Turns ending one by one wake nobody until none is left.
    for _ in 1..cap {
        pool.accepted();
        assert!(!extra.is_finished());
    }
    pool.accepted();
    assert!(
        extra.join().unwrap(),
        "the last turn ended: the waiter takes one"
    );
}

#[test]
fn surplus_threads_exit_after_the_idle_timeout_and_the_last_one_stays() {
    let pool = pool(1, Duration::from_millis(20));
    pool.lock().threads = 3;
    // Nobody may accept while one sniff runs under a limit of one.
    assert!(pool.take_turn(false));
    pool.accepted();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.take_turn(false))
        })
        .collect();
    eventually(&pool, |state| state.threads == 2);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(pool.lock().threads, 2, "the last waiter stays");
    pool.job_done(false);
    let outcomes: Vec<bool> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|&&turn| turn).count(), 1);
}

#[test]
fn a_thread_idle_in_accept_retires_unless_it_is_the_last_to_accept() {
    let pool = pool(8, LONG);
    pool.lock().threads = 2;
    assert!(pool.take_turn(false));
    pool.accepted();
    assert!(!pool.retire(), "nobody else accepts");
    assert!(pool.take_turn(false));
    pool.lock().accepting += 1; // a second thread's turn
    pool.accepted();
    assert!(pool.retire());
    assert_eq!(pool.lock().threads, 1);
}

#[test]
fn the_last_thread_idle_in_accept_leaves_accepting_to_the_supervisor() {
    let pool = pool(8, LONG);
    pool.lock().threads = 2;
    assert!(pool.take_turn(false));
    pool.accepted(); // one thread busy
    assert!(pool.take_turn(false));
    assert!(!pool.accept_timed_out(), "the busy one needs an acceptor");
    assert_eq!(pool.lock().threads, 2);
    pool.job_done(true);
    assert!(pool.take_turn(false));
    assert!(pool.take_turn(false));
    assert!(pool.accept_timed_out(), "another accepts");
    assert!(pool.accept_timed_out(), "the last thread");
    assert_eq!(pool.lock().threads, 0);
    assert_eq!(pool.next_task(), Task::AcceptHere);
}

#[test]
fn a_transient_error_holds_every_thread_back_for_the_back_off() {
    let pool = pool(8, LONG);
    assert!(pool.take_turn(false));
    let first = pool.accept_failed();
    let started = Instant::now();
    assert!(pool.take_turn(false));
    assert!(started.elapsed() >= first, "waited for the back-off");
    assert!(pool.accept_failed() > first, "the back-off grows");
    assert!(pool.take_turn(false));
    pool.accepted();
    assert!(pool.take_turn(false));
    assert_eq!(pool.accept_failed(), first, "a connection resets it");
}

#[test]
fn the_supervisor_reports_the_ceiling_once_per_wait_and_ends_on_a_fatal_error() {
    let pool = pool(8, LONG);
    pool.set_max_threads(1);
    assert_eq!(pool.next_task(), Task::AcceptHere);
    pool.accepted();
    pool.starting_thread_for_a_connection();
    assert_eq!(pool.next_task(), Task::ReportCeiling(1));
    let supervisor = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || pool.next_task())
    };
    thread::sleep(Duration::from_millis(20));
    assert!(!supervisor.is_finished(), "reported once");
    pool.job_done(true);
    assert!(pool.take_turn(false));
    pool.accept_failed_for_good(io::Error::other("bad socket"));
    assert_eq!(supervisor.join().unwrap(), Task::End);
    assert!(!pool.take_turn(false), "the thread exits");
    assert_eq!(pool.take_failure().unwrap().to_string(), "bad socket");
    assert_eq!(pool.lock().threads, 0);
}

#[test]
fn a_thread_that_fails_to_start_is_asked_for_again() {
    let pool = pool(8, LONG);
    pool.lock().threads = 1;
    assert_eq!(pool.next_task(), Task::StartThread);
    assert_eq!(pool.thread_failed_to_start(), 1);
    assert!(pool.pause(Duration::from_millis(1)));
    assert_eq!(pool.next_task(), Task::StartThread);
}

#[test]
fn stop_and_drain_end_every_wait() {
    for drain in [false, true] {
        let pool = pool(1, LONG);
        pool.lock().threads = 2;
        assert!(pool.take_turn(false));
        pool.accepted();
        let waiter = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.take_turn(false))
        };
        eventually(&pool, |state| state.waiting == 1);
        if drain {
            pool.drain();
        } else {
            pool.stop();
        }
        assert!(!waiter.join().unwrap());
        assert_eq!(pool.next_task(), Task::End);
        assert!(!pool.pause(LONG));
        assert_eq!(pool.in_flight(), 1, "the sniff goes on");
        pool.job_done(true);
        pool.wait_idle(Instant::now() + LONG);
    }
}

/// A connection whose `shutdown` records whether the pool's thread
/// list was unlocked while it ran.
struct ListProbe {
    pool: std::sync::Weak<SnifferPool<ListProbe>>,
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
    let pool = Arc::new(SnifferPool::new(1, LONG));
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
