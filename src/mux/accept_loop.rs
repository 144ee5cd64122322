//! Accepting: the loop every sniffer thread runs (take a turn, accept,
//! sniff and route what came on the same thread; see
//! [`pool`](crate::mux::pool)), and the supervisor `serve` runs, which
//! starts a thread when nobody is left to accept and reports the thread
//! ceiling.

use std::io;
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::mux::accept_retry::{classify, AcceptFailure, Backoff};
use crate::mux::core::Core;
use crate::mux::error::ServeError;
use crate::mux::event::{DropReason, Event};
use crate::mux::pool::{Job, Task};
use crate::mux::slot::SniffSlot;
use crate::mux::thread_ceiling::SystemLimits;
use crate::source::accept::Accept;
use crate::sync::limit::ConnectionPermit;
use crate::sync::lock::lock;

type SourceCore<S> = Core<<S as Accept>::Conn, <S as Accept>::Addr>;

/// Runs on `serve`'s thread until shutdown begins or accepting fails for
/// good: starts the sniffer threads, which do the accepting, and accepts
/// itself while there is none (an idle multiplexer keeps no thread).
pub(super) fn supervise<S: Accept>(
    core: &Arc<SourceCore<S>>,
    source: &Arc<S>,
) -> Result<(), ServeError> {
    if let Some(ceiling) = SystemLimits::read().thread_ceiling() {
        core.pool.set_max_threads(ceiling);
    }
    let idle = core.pool.idle_timeout();
    core.pool
        .set_accept_times_out(source.set_accept_timeout(Some(idle)).unwrap_or(false));
    // Threads hold the source only while they accept: one running an
    // inline handler must not keep the listener open after `serve`.
    let source = Arc::downgrade(source);
    let mut backoff = Backoff::default();
    loop {
        let started = match core.pool.next_task() {
            Task::StartThread => start_sniffer_thread(core, &source, None),
            Task::AcceptHere => match accept_one(core, &source) {
                Turn::Accepted(job) => {
                    core.pool.starting_thread_for_a_connection();
                    start_sniffer_thread(core, &source, Some(job))
                }
                Turn::Idle => {
                    core.pool.give_up_turn();
                    Ok(())
                }
                Turn::Over => Ok(()),
            },
            Task::ReportCeiling(threads) => {
                core.emit(&Event::ThreadCeiling {
                    threads,
                    error: None,
                });
                Ok(())
            }
            Task::End => break,
        };
        let Err((error, unsniffed)) = started else {
            backoff.reset();
            continue;
        };
        let threads = core.pool.thread_failed_to_start();
        if let Some(Job { conn, peer, .. }) = unsniffed {
            drop(conn);
            core.pool.job_done(true);
            let error = io::Error::new(error.kind(), error.to_string());
            core.report_drop(peer, DropReason::NoSnifferThread(error), 0, None);
        }
        core.emit(&Event::ThreadCeiling {
            threads,
            error: Some(error),
        });
        if !core.pool.pause(backoff.next_delay()) {
            break;
        }
    }
    core.pool
        .take_failure()
        .map_or(Ok(()), |error| Err(ServeError::Accept(error)))
}

/// Starts a sniffer thread, which sniffs `first` if it is given one.
/// Gives `first` back if the thread could not be started.
fn start_sniffer_thread<S: Accept>(
    core: &Arc<SourceCore<S>>,
    source: &Weak<S>,
    first: Option<SourceJob<S>>,
) -> Result<(), (io::Error, Option<SourceJob<S>>)> {
    let slot = Arc::new(SniffSlot::new());
    let thread_slot = Arc::clone(&slot);
    let thread_core = Arc::clone(core);
    let thread_source = Weak::clone(source);
    // Handed over through a cell, so that a failed start gives it back.
    let first = Arc::new(Mutex::new(first));
    let thread_first = Arc::clone(&first);
    let started = thread::Builder::new()
        .name("connmux-sniffer".into())
        .stack_size(core.settings.sniffer_stack_size)
        .spawn(move || {
            let first = lock(&thread_first).take();
            run_sniffer(&thread_core, &thread_source, &thread_slot, first);
        });
    match started {
        Ok(thread) => {
            core.pool.thread_started(slot, thread);
            Ok(())
        }
        Err(error) => Err((error, lock(&first).take())),
    }
}

/// A sniffer thread's life: `first`, if it was given a connection, then
/// turns at accepting, each connection sniffed, routed and (for an inline
/// route) served right here, until the pool says exit.
fn run_sniffer<S: Accept>(
    core: &SourceCore<S>,
    source: &Weak<S>,
    slot: &SniffSlot<S::Conn>,
    first: Option<SourceJob<S>>,
) {
    // A thread started to accept ends its start when it first asks for a
    // turn; one started with a connection was never counted as starting.
    let mut arriving = first.is_none();
    if let Some(job) = first {
        core.sniff_accepted(slot, job);
    }
    while core.pool.take_turn(std::mem::take(&mut arriving)) {
        let turn_taken = Instant::now();
        match accept_one(core, source) {
            Turn::Accepted(job) => {
                let idle = job.accepted_at.saturating_duration_since(turn_taken)
                    >= core.pool.idle_timeout();
                core.sniff_accepted(slot, job);
                if idle && core.pool.retire() {
                    return;
                }
            }
            Turn::Idle => {
                if core.pool.accept_timed_out() {
                    return;
                }
            }
            Turn::Over => {}
        }
    }
}

/// How a turn at accepting ended.
enum Turn<J> {
    /// With a connection to sniff.
    Accepted(J),
    /// With `accept` timing out: nothing came for the idle timeout. The
    /// turn is still held.
    Idle,
    /// Without a connection, the turn given up.
    Over,
}

type SourceJob<S> = Job<<S as Accept>::Conn, <S as Accept>::Addr>;

/// Uses a turn: reserves a place under the connection limit, accepts, and
/// returns the connection to sniff, if the turn ends with one.
fn accept_one<S: Accept>(core: &SourceCore<S>, source: &Weak<S>) -> Turn<SourceJob<S>> {
    // Waiting for a place comes first, so that connections past the
    // limit wait in the kernel's backlog.
    if !core.connections.reserve() {
        end_turn(core);
        return Turn::Over;
    }
    // `serve` holds the source until every thread that can be here has
    // exited: it is gone only once accepting has ended.
    let Some(source) = source.upgrade() else {
        core.connections.unreserve();
        end_turn(core);
        return Turn::Over;
    };
    let accepted = source.accept();
    let source_ended = accepted.is_err() && source.has_ended();
    drop(source);
    let ending = core.is_stopping() || core.drain_deadline().is_some();
    match accepted {
        Ok((conn, peer)) => {
            core.counters.count_accepted();
            if core.pool.accept_times_out() {
                // The socket inherited the listener's accept timeout (Linux
                // copies SO_RCVTIMEO to accepted sockets): the handler must
                // get it as the client connected, with no read timeout.
                let _ = crate::Connection::set_read_timeout(&conn, None);
            }
            // A dispatcher, or a connection a handle accepted from a
            // route's queue, may have taken the reserved place: then this
            // connection waits for one, not yet counted as sniffing.
            let permit = if ending {
                core.connections.unreserve();
                None
            } else {
                core.connections.claim()
            };
            if let Some(mut permit) = permit {
                if let Err(()) = take_source_place(core, &peer, &mut permit) {
                    drop((conn, permit));
                    core.pool.give_up_turn();
                    core.report_drop(peer, DropReason::SourceLimit, 0, None);
                    return Turn::Over;
                }
                core.pool.accepted();
                return Turn::Accepted(Job {
                    conn,
                    peer,
                    accepted_at: Instant::now(),
                    permit,
                });
            }
            // A client that raced shutdown (or, where the wake-up is a
            // connection, the wake-up itself).
            drop(conn);
            core.report_drop(peer, DropReason::ShutDown, 0, None);
            end_turn(core);
        }
        Err(_) if ending => {
            core.connections.unreserve();
            end_turn(core);
        }
        Err(_) if source_ended => {
            // No connection will come: the sniffs in progress finish as
            // in a graceful shutdown, however long their deadlines are.
            core.connections.unreserve();
            core.drain(Duration::MAX);
            end_turn(core);
        }
        Err(error) if core.pool.accept_times_out() && is_timeout(&error) => {
            core.connections.unreserve();
            return Turn::Idle;
        }
        Err(error) => {
            core.connections.unreserve();
            match classify(&error) {
                AcceptFailure::Transient => {
                    let retry_in = core.pool.accept_failed();
                    core.counters.count_accept_error();
                    core.emit(&Event::AcceptFailed { error, retry_in });
                }
                AcceptFailure::Fatal => core.pool.accept_failed_for_good(error),
            }
        }
    }
    Turn::Over
}

/// Adds to `permit` a place under the per-address open-connection limit,
/// if `peer`'s address is limited; `Err` if it has no place left.
fn take_source_place<C: crate::Connection, A: Clone + Send + Sync + 'static>(
    core: &Core<C, A>,
    peer: &A,
    permit: &mut ConnectionPermit,
) -> Result<(), ()> {
    let Some(open) = &core.per_source_open else {
        return Ok(());
    };
    let Some(ip) = core.limited_address((core.peer_origin)(peer)) else {
        return Ok(());
    };
    permit.hold(open.try_take(ip).ok_or(())?);
    Ok(())
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Ends a turn without a connection, as accepting ends.
fn end_turn<C: crate::Connection, A: Clone + Send + Sync + 'static>(core: &Core<C, A>) {
    let still_accepting = core.pool.give_up_turn();
    pass_wake_up_on(core, still_accepting);
}

/// Wakes the threads still in `accept` once more, in case the source's
/// wake-up reaches only one of them (a connection to the listener's own
/// address does).
fn pass_wake_up_on<C: crate::Connection, A: Clone + Send + Sync + 'static>(
    core: &Core<C, A>,
    still_accepting: usize,
) {
    if still_accepting > 0 {
        core.wake_accept_loop();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::{self, Read, Write};
    use std::sync::{Arc, Mutex};

    use crate::memory::{self, MemoryAddr, MemoryStream};
    use crate::{matchers, Accept, Event, Mux, ServeError, WakeAccept};

    /// A source that gives what it was told to, in order.
    struct Scripted(Mutex<VecDeque<io::Result<(MemoryStream, MemoryAddr)>>>);

    impl Accept for Scripted {
        type Conn = MemoryStream;
        type Addr = MemoryAddr;

        fn accept(&self) -> io::Result<(MemoryStream, MemoryAddr)> {
            let next = self.0.lock().unwrap().pop_front();
            next.unwrap_or_else(|| Err(io::Error::from(io::ErrorKind::InvalidInput)))
        }

        fn local_addr(&self) -> io::Result<MemoryAddr> {
            Ok(MemoryAddr(0))
        }

        fn wake_handle(&self) -> io::Result<WakeAccept> {
            Ok(Box::new(|| {}))
        }
    }

    #[test]
    fn transient_errors_are_retried_and_reported_and_a_fatal_one_ends_serve() {
        let (mut client, conn) = memory::pair();
        client.write_all(b"hello").unwrap();
        let script = [
            Err(io::Error::from(io::ErrorKind::ConnectionAborted)),
            Ok((conn, MemoryAddr(1))),
            Err(io::Error::from_raw_os_error(24)), // EMFILE
        ];
        let mut mux = Mux::new(Scripted(Mutex::new(script.into()))).unwrap();
        let route = mux.route(matchers::prefixes(["hello"]));
        let retries = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&retries);
        mux.on_event(move |event| {
            if let Event::AcceptFailed { retry_in, .. } = event {
                seen.lock().unwrap().push(*retry_in);
            }
        });
        let handle = mux.handle();

        let ended = mux.serve();
        assert!(
            matches!(ended, Err(ServeError::Accept(e)) if e.kind() == io::ErrorKind::InvalidInput)
        );
        let retries = retries.lock().unwrap();
        assert_eq!(retries.len(), 2, "both transient errors were reported");
        assert_eq!(
            retries[0], retries[1],
            "a connection between them resets the back-off"
        );
        let stats = handle.stats();
        assert_eq!((stats.accepted, stats.accept_errors), (1, 2));

        let (mut stream, peer) = route.accept().unwrap();
        let mut sent = [0u8; 5];
        stream.read_exact(&mut sent).unwrap();
        assert_eq!((&sent, peer), (b"hello", MemoryAddr(1)));
    }
}
