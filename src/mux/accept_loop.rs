//! The loop `serve` runs: wait for a place under the limits, accept, hand
//! the connection to the sniffer pool (starting a thread when none is
//! idle), and back off after a transient accept error.

use std::io;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use crate::mux::accept_retry::{classify, AcceptFailure, Backoff};
use crate::mux::core::Core;
use crate::mux::error::ServeError;
use crate::mux::event::{DropReason, Event};
use crate::mux::pool::{Job, SniffSlot, Submitted};
use crate::mux::thread_ceiling::SystemLimits;
use crate::source::accept::Accept;

type SourceCore<S> = Core<<S as Accept>::Conn, <S as Accept>::Addr>;

/// Accepts from `source` until shutdown begins or accepting fails for
/// good.
pub(super) fn accept_loop<S: Accept>(
    core: &Arc<SourceCore<S>>,
    source: &S,
) -> Result<(), ServeError> {
    if let Some(ceiling) = SystemLimits::read().thread_ceiling() {
        core.pool.set_max_threads(ceiling);
    }
    let mut backoff = Backoff::default();
    // Waiting for room takes nothing: blocked in `accept`, the loop
    // holds no place under the connection limit.
    let at_ceiling = |threads| core.emit(&Event::ThreadCeiling { threads });
    while core.connections.wait_for_place() && core.pool.wait_for_capacity(at_ceiling) {
        match source.accept() {
            Ok((conn, peer)) => {
                core.counters.count_accepted();
                let stopping = core.is_stopping() || core.drain_deadline().is_some();
                // A dispatcher may have taken the last place since:
                // then this connection waits for one.
                let permit = (!stopping).then(|| core.connections.acquire()).flatten();
                let Some(permit) = permit else {
                    // A client that raced shutdown (or, where the
                    // wake-up is a connection, the wake-up itself).
                    drop(conn);
                    core.report_drop(peer, DropReason::ShutDown, 0, None);
                    break;
                };
                backoff.reset();
                submit(
                    core,
                    Job {
                        conn,
                        peer,
                        accepted_at: Instant::now(),
                        permit,
                    },
                );
            }
            Err(_) if core.is_stopping() || core.drain_deadline().is_some() => break,
            Err(error) => match classify(&error) {
                AcceptFailure::Transient => {
                    let retry_in = backoff.next_delay();
                    core.counters.count_accept_error();
                    core.emit(&Event::AcceptFailed { error, retry_in });
                    if !core.pool.pause(retry_in) {
                        break;
                    }
                }
                AcceptFailure::Fatal => return Err(ServeError::Accept(error)),
            },
        }
    }
    Ok(())
}

/// Gives an accepted connection to an idle sniffer thread, or to a new one.
fn submit<C: crate::Connection, A: Clone + Send + Sync + 'static>(
    core: &Arc<Core<C, A>>,
    job: Job<C, A>,
) {
    match core.pool.submit(job) {
        Ok(Submitted::ToIdleThread) => {}
        Ok(Submitted::NeedsThread) => {
            if let Err(error) = start_sniffer_thread(core) {
                if let Some(Job { conn, peer, .. }) = core.pool.thread_failed_to_start() {
                    drop(conn);
                    core.report_drop(peer, DropReason::NoSnifferThread(error), 0, None);
                }
            }
        }
        Err(Job { conn, peer, .. }) => {
            drop(conn);
            core.report_drop(peer, DropReason::ShutDown, 0, None);
        }
    }
}

fn start_sniffer_thread<C: crate::Connection, A: Clone + Send + Sync + 'static>(
    core: &Arc<Core<C, A>>,
) -> io::Result<()> {
    let slot = Arc::new(SniffSlot::new());
    let thread_slot = Arc::clone(&slot);
    let thread_core = Arc::clone(core);
    let thread = thread::Builder::new()
        .name("connmux-sniffer".into())
        .stack_size(core.settings.sniffer_stack_size)
        .spawn(move || thread_core.run_sniffer(&thread_slot))?;
    core.pool.thread_started(slot, thread);
    Ok(())
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
