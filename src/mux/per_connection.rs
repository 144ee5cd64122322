//! One connection's way through the multiplexer once it is accepted: the
//! sniff, guarded against panicking matchers; the hand-off to its route's
//! queue or inline handler; and, when it reaches neither, the drop,
//! counted and reported. Sniffer threads and `Dispatcher::dispatch` both
//! take this path; they differ only in where the connection waits for a
//! place under the open-connection limit.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::address::Addresses;
use crate::mux::core::{Core, RouteTable};
use crate::mux::event::DropReason;
use crate::mux::pool::{Job, SnifferPool};
use crate::mux::slot::SniffSlot;
use crate::proxy::mode::ProxyMode;
use crate::proxy::PeerOrigin;
use crate::route::id::RouteId;
use crate::route::shared::HandOffError;
use crate::route::stream::{Arrival, PeekableStream};
use crate::route::target::{InlineHandler, RouteTarget};
use crate::sniff::buffer;
use crate::sniff::replay::Replay;
use crate::sniff::trace::Tracer;
use crate::sniff::{sniff, Routes, SniffLimits, SniffOutcome, Sniffed};
use crate::sync::limit::ConnectionPermit;
use crate::sync::per_source::{PerSourceLimit, SourcePlace};

/// A connection matched by an inline route, to be served once the sniff's
/// place has been given back; with the route's handler and counter.
struct InlineWork<'a, C, A> {
    id: RouteId,
    handler: &'a InlineHandler<C, A>,
    routed: &'a AtomicU64,
    stream: PeekableStream<C>,
    peer: A,
}

/// Where a matched connection went.
enum Delivery<'a, C, A> {
    /// Into the queue of this route.
    Queued(RouteId),
    /// To an inline route, whose handler has yet to run.
    Inline(InlineWork<'a, C, A>),
}

/// The message a panic was raised with, when it is a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Marks the current sniff done when the sniffer thread leaves it, even by
/// unwinding from a panic in a matcher or the event callback.
struct JobDone<'a, C: crate::Connection> {
    pool: &'a SnifferPool<C>,
    /// Whether the thread goes back to accepting next (no inline handler
    /// holds it).
    returning: bool,
}

impl<C: crate::Connection> Drop for JobDone<'_, C> {
    fn drop(&mut self) {
        let dying = thread::panicking();
        self.pool.job_done(self.returning && !dying);
        if dying {
            self.pool.thread_died();
        }
    }
}

impl<C: crate::Connection, A: Clone + Send + Sync + 'static> Core<C, A> {
    /// Sniffs and routes a connection on the calling thread: the
    /// dispatcher's path, the same as a sniffer thread's but for the
    /// open-connection limit, which refuses instead of waiting.
    pub(crate) fn dispatch(&self, conn: C, peer: A) -> Result<RouteId, DropReason> {
        self.counters.count_accepted();
        let table = match self.table.get() {
            Some(table) if !self.is_stopping() => table,
            _ => {
                drop(conn);
                return Err(self.report_drop(peer, DropReason::ShutDown, 0, None));
            }
        };
        let Some(permit) = self.connections.try_acquire() else {
            drop(conn);
            let reason = if self.is_stopping() || self.drain_deadline().is_some() {
                DropReason::ShutDown
            } else {
                DropReason::TooManyConnections
            };
            return Err(self.report_drop(peer, reason, 0, None));
        };
        let accepted_at = Instant::now();
        // You choose the threads: no limit on sniffs at once, per address
        // included.
        let sniffed = self.guarded_sniff(table, &conn, &peer, false, accepted_at, Duration::ZERO);
        match self.route_sniffed(table, conn, peer, accepted_at, permit, sniffed)? {
            Delivery::Queued(route) => Ok(route),
            Delivery::Inline(work) => self.serve_inline(work),
        }
    }

    /// Sniffs and routes a connection this sniffer thread accepted, and
    /// serves it here if an inline route took it.
    pub(super) fn sniff_accepted(&self, slot: &SniffSlot<C>, job: Job<C, A>) {
        let admitted = {
            let mut done = JobDone {
                pool: &self.pool,
                returning: false,
            };
            let inline = self.sniff_and_dispatch(slot, job);
            done.returning = inline.is_none();
            // Admitted while the sniff still counts as in progress: a
            // graceful shutdown waits for sniffs to end, so one that ended
            // in its grace reaches its handler instead of meeting the stop
            // that follows the grace.
            inline.and_then(|work| self.admit_inline(slot, work))
        };
        if let Some(work) = admitted {
            self.run_handler(work);
            slot.set_in_handler(false);
        }
    }

    /// A connection of an inline route, to serve on this thread, unless
    /// the multiplexer is stopping (then it is dropped like a queued one
    /// would be). The slot's flag tells `serve` not to wait for the
    /// handler; it is set before the stop check so that `serve` either
    /// sees it or sees the handler not run.
    fn admit_inline<'a>(
        &self,
        slot: &SniffSlot<C>,
        work: InlineWork<'a, C, A>,
    ) -> Option<InlineWork<'a, C, A>> {
        slot.set_in_handler(true);
        match self.stop_check_inline(work) {
            Ok(work) => Some(work),
            Err(_) => {
                slot.set_in_handler(false);
                None
            }
        }
    }

    /// Runs an inline route's handler on this thread, unless the
    /// multiplexer is stopping.
    // Inlined into its two callers (measured with callgrind: with `deliver`
    // inlined too, a dispatched connection costs ~150 fewer instructions,
    // as the stream is built where it is used instead of moved through
    // `Delivery` and `InlineWork`).
    #[inline(always)]
    fn serve_inline(&self, work: InlineWork<'_, C, A>) -> Result<RouteId, DropReason> {
        let work = self.stop_check_inline(work)?;
        Ok(self.run_handler(work))
    }

    /// `work`, unless the multiplexer is stopping: then its connection is
    /// dropped and reported.
    #[inline(always)]
    fn stop_check_inline<'a>(
        &self,
        work: InlineWork<'a, C, A>,
    ) -> Result<InlineWork<'a, C, A>, DropReason> {
        if self.is_stopping() {
            let InlineWork { stream, peer, .. } = work;
            let sniffed_bytes = stream.with_sniffed(<[u8]>::len);
            let proxy_header = stream.proxy_header().cloned();
            let trace = stream.decision_trace().cloned();
            drop(stream);
            return Err(self.report_sniffed_drop(
                peer,
                DropReason::ShutDown,
                sniffed_bytes,
                proxy_header,
                trace,
            ));
        }
        Ok(work)
    }

    /// Runs an inline route's handler on this thread.
    #[inline(always)]
    fn run_handler(&self, work: InlineWork<'_, C, A>) -> RouteId {
        let InlineWork {
            id,
            handler,
            routed,
            stream,
            peer,
        } = work;
        routed.fetch_add(1, Ordering::Relaxed);
        // The panic has been reported by the panic hook; the connection it
        // was serving is dropped by the unwinding.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| handler(stream, peer)));
        id
    }

    /// Sniffs and routes a sniffer thread's job; returns it when an inline
    /// route's handler is to serve it.
    fn sniff_and_dispatch(
        &self,
        slot: &SniffSlot<C>,
        job: Job<C, A>,
    ) -> Option<InlineWork<'_, C, A>> {
        let Job {
            conn,
            peer,
            accepted_at,
            mut permit,
        } = job;
        let Some(table) = self.table.get() else {
            drop(conn);
            self.report_drop(peer, DropReason::ShutDown, 0, None);
            return None;
        };
        slot.hold(conn);
        if self.is_stopping() {
            // Shutdown may have looked at the slots before this one was
            // filled; interrupting here closes that window.
            slot.interrupt();
        }
        let sniffed = slot.with(|conn| {
            self.guarded_sniff(table, conn, &peer, true, accepted_at, accepted_at.elapsed())
        });
        // Only this thread empties the slot: both hold what `hold` put in.
        let (Some(conn), Some(sniffed)) = (slot.release(), sniffed) else {
            return None;
        };
        let sniffed = match sniffed {
            Ok(sniffed) if !self.count_relayed_client(&sniffed, &mut permit) => {
                drop((conn, permit));
                self.report_sniffed_drop(
                    peer,
                    DropReason::SourceLimit,
                    sniffed.range.len(),
                    sniffed.proxy_header.map(|header| *header),
                    sniffed.trace,
                );
                buffer::give_back(sniffed.buffer);
                return None;
            }
            sniffed => sniffed,
        };
        match self.route_sniffed(table, conn, peer, accepted_at, permit, sniffed) {
            Ok(Delivery::Inline(work)) => Some(work),
            Ok(Delivery::Queued(_)) | Err(_) => None,
        }
    }

    /// Sniffs `conn`, from `peer`, with the table's routes, `waited` after
    /// it was accepted, holding a place under the per-address limit if
    /// `per_source` says so. A matcher's panic ends the sniff with the
    /// reason the connection is dropped for: it must not take the thread
    /// down.
    #[inline(always)]
    fn guarded_sniff(
        &self,
        table: &RouteTable<C, A>,
        conn: &C,
        peer: &A,
        per_source: bool,
        accepted_at: Instant,
        waited: Duration,
    ) -> Result<Sniffed, DropReason> {
        // Where the peer is matters only to a PROXY mode and to the
        // per-address limit: without them, nothing to ask (the
        // dispatcher's path, measured per instruction, stays as it was).
        let per_source = per_source && self.per_source.is_some();
        let trusting = self.limits.proxy_mode != ProxyMode::Off;
        let (adjusted, _place);
        let limits = if per_source || trusting {
            let origin = (self.peer_origin)(peer);
            adjusted = self.limits_for(origin)?;
            // Held for the sniff.
            _place = match per_source {
                true => self.source_place(origin)?,
                false => None,
            };
            &adjusted
        } else {
            &self.limits
        };
        panic::catch_unwind(AssertUnwindSafe(|| {
            // A header is parsed only from a trusted proxy, which was not
            // counted: the client it names is.
            let relayed_limit = match per_source {
                true => self.per_source.as_ref(),
                false => None,
            };
            if limits.trace {
                return self.traced_sniff(table, conn, accepted_at, waited, limits, relayed_limit);
            }
            sniff(
                conn,
                accepted_at,
                waited,
                Routes {
                    matchers: &table.matchers,
                    opening: table.opening,
                    read_addresses: table.reads_addresses,
                },
                limits,
                relayed_limit,
                &self.stop,
                (),
            )
        }))
        .map_err(|panic| DropReason::MatcherPanicked(panic_message(panic.as_ref())))
    }

    /// [`sniff`] recording a trace of the decision: kept out of the path
    /// of sniffs that record none.
    #[cold]
    #[inline(never)]
    fn traced_sniff(
        &self,
        table: &RouteTable<C, A>,
        conn: &C,
        accepted_at: Instant,
        waited: Duration,
        limits: &SniffLimits,
        relayed_limit: Option<&Arc<PerSourceLimit>>,
    ) -> Sniffed {
        let routes = Routes {
            matchers: &table.matchers,
            opening: table.opening,
            read_addresses: table.reads_addresses,
        };
        let tracer = Tracer::new(table.matchers.len());
        let stop = &self.stop;
        sniff(
            conn,
            accepted_at,
            waited,
            routes,
            limits,
            relayed_limit,
            stop,
            tracer,
        )
    }

    /// Behind a trusted proxy, whose own address is not limited, counts
    /// the client its PROXY header names under the per-address
    /// open-connection limit, in `permit`; `false` when that client has no
    /// place left.
    #[inline(always)]
    fn count_relayed_client(&self, sniffed: &Sniffed, permit: &mut ConnectionPermit) -> bool {
        let (Some(open), Some(header)) = (&self.per_source_open, sniffed.proxy_header.as_deref())
        else {
            return true;
        };
        let Some(client) = header.relay(Addresses::UNKNOWN).client else {
            return true;
        };
        match open.try_take(client.ip()) {
            Some(place) => {
                permit.hold(place);
                true
            }
            None => false,
        }
    }

    /// The limits a sniff of a connection from `origin` runs under: under
    /// a PROXY mode, a peer that is not trusted to send a header gets none
    /// parsed (`Optional`) or is refused without a read (`Required`).
    #[inline(always)]
    fn limits_for(&self, origin: PeerOrigin) -> Result<SniffLimits, DropReason> {
        let limits = self.limits;
        if limits.proxy_mode == ProxyMode::Off || self.settings.trusted_proxies.trusts(origin) {
            return Ok(limits);
        }
        match limits.proxy_mode {
            ProxyMode::Required => Err(DropReason::UntrustedProxy),
            _ => Ok(SniffLimits {
                proxy_mode: ProxyMode::Off,
                ..limits
            }),
        }
    }

    /// A place under the per-address sniff limit for a connection from
    /// `origin`, if it is limited (see `limited_address`).
    #[inline(always)]
    fn source_place(&self, origin: PeerOrigin) -> Result<Option<SourcePlace>, DropReason> {
        let (Some(per_source), Some(ip)) = (&self.per_source, self.limited_address(origin)) else {
            return Ok(None);
        };
        per_source
            .try_take(ip)
            .map(Some)
            .ok_or(DropReason::SourceLimit)
    }

    /// Delivers a connection whose guarded sniff ended, or drops and
    /// reports it if a matcher panicked.
    #[inline(always)]
    fn route_sniffed<'t>(
        &self,
        table: &'t RouteTable<C, A>,
        conn: C,
        peer: A,
        accepted_at: Instant,
        permit: ConnectionPermit,
        sniffed: Result<Sniffed, DropReason>,
    ) -> Result<Delivery<'t, C, A>, DropReason> {
        let sniffed = match sniffed {
            Ok(sniffed) => sniffed,
            Err(reason) => {
                drop(conn);
                return Err(self.report_drop(peer, reason, 0, None));
            }
        };
        let arrival = Arrival {
            proxy_header: None,
            trace: None,
            accepted_at,
            permit,
        };
        self.deliver(table, conn, peer, arrival, sniffed)
    }

    /// Queues a sniffed connection for its route, or returns it for an
    /// inline route's handler; `Err` once it has been dropped and reported.
    // Inlined into its two callers: see `serve_inline`.
    #[inline(always)]
    fn deliver<'t>(
        &self,
        table: &'t RouteTable<C, A>,
        conn: C,
        peer: A,
        mut arrival: Arrival,
        sniffed: Sniffed,
    ) -> Result<Delivery<'t, C, A>, DropReason> {
        let Sniffed {
            buffer,
            range,
            proxy_header,
            end,
            outcome,
            trace,
        } = sniffed;
        arrival.proxy_header = proxy_header;
        arrival.trace = trace;
        let sniffed_bytes = range.len();
        let reason = match outcome {
            SniffOutcome::Route(index) => {
                let route = match &table.routes[index] {
                    RouteTarget::Queue(route) => route,
                    RouteTarget::Inline {
                        id,
                        handler,
                        routed,
                    } => {
                        let replay = Replay::from_sniff(buffer, range, end);
                        let stream = PeekableStream::new(conn, replay, *id, arrival);
                        return Ok(Delivery::Inline(InlineWork {
                            id: *id,
                            handler,
                            routed,
                            stream,
                            peer,
                        }));
                    }
                };
                let replay = Replay::from_sniff(buffer, range, end);
                // A queued connection waits without a place under the
                // limit (a route nobody accepts on must not take them all):
                // it takes one when a handle accepts it. It keeps its place
                // under its address's limit: it is open.
                arrival.permit.give_back_place();
                let stream = PeekableStream::new(conn, replay, route.id, arrival);
                let (rejected, reason) = match route.hand_off(stream, peer) {
                    Ok(()) => return Ok(Delivery::Queued(route.id)),
                    Err(HandOffError::Full(rejected)) => {
                        (rejected, DropReason::QueueFull(route.id))
                    }
                    Err(HandOffError::RouteClosed(rejected)) => {
                        (rejected, DropReason::RouteClosed(route.id))
                    }
                    Err(HandOffError::ShutDown(rejected)) => (rejected, DropReason::ShutDown),
                };
                let (stream, peer) = rejected;
                let proxy_header = stream.proxy_header().cloned();
                let trace = stream.decision_trace().cloned();
                drop(stream);
                return Err(self.report_sniffed_drop(
                    peer,
                    reason,
                    sniffed_bytes,
                    proxy_header,
                    trace,
                ));
            }
            SniffOutcome::NotMatched => DropReason::NotMatched,
            SniffOutcome::TimedOut => DropReason::TimedOut,
            SniffOutcome::NoFirstByte => DropReason::NoFirstByte,
            SniffOutcome::Failed(error) => DropReason::Io(error),
            SniffOutcome::BadProxyHeader(error) => DropReason::ProxyHeader(error),
            SniffOutcome::SourceLimit => DropReason::SourceLimit,
            SniffOutcome::Interrupted => DropReason::ShutDown,
        };
        buffer::give_back(buffer);
        drop(conn);
        let proxy_header = arrival.proxy_header.map(|header| *header);
        Err(self.report_sniffed_drop(peer, reason, sniffed_bytes, proxy_header, arrival.trace))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::Shutdown;
    use std::sync::{Arc, Mutex};
    use std::thread;

    use crate::memory::{self, MemoryAddr, MemoryListener, MemoryStream};
    use crate::{matchers, DropReason, Event, Matcher, Mux};

    type Drops = Arc<Mutex<Vec<(String, usize)>>>;

    /// A mux over an unused in-memory listener whose routes queue at most
    /// one connection, and the drops it reports (reason, bytes sniffed).
    fn mux_with_drops() -> (Mux<MemoryListener>, Drops) {
        let mut mux = Mux::builder()
            .route_queue_capacity(1)
            .build(memory::listener().0)
            .unwrap();
        let drops = Drops::default();
        let seen = Arc::clone(&drops);
        mux.on_event(move |event: &Event<MemoryAddr>| {
            if let Event::Dropped {
                reason,
                sniffed_bytes,
                ..
            } = event
            {
                seen.lock()
                    .unwrap()
                    .push((reason.to_string(), *sniffed_bytes));
            }
        });
        (mux, drops)
    }

    /// A client that sent `bytes` and nothing more, and the server's end.
    fn client_sent(bytes: &[u8]) -> (MemoryStream, MemoryStream) {
        let (mut client, server) = memory::pair();
        client.write_all(bytes).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        (client, server)
    }

    fn read_all(mut client: MemoryStream) -> Vec<u8> {
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap();
        answer
    }

    #[test]
    fn a_panicking_matcher_costs_only_its_own_connection() {
        let (mut mux, drops) = mux_with_drops();
        let fussy = mux.route(|seen: &[u8]| {
            assert!(seen.first() != Some(&b'!'), "no bangs");
            matchers::prefixes(["ok"]).verdict(seen)
        });
        let dispatcher = mux.dispatcher();
        let (client, conn) = client_sent(b"!bang");
        let refused = dispatcher.dispatch(conn, MemoryAddr(1));
        assert!(
            matches!(&refused, Err(DropReason::MatcherPanicked(message)) if message == "no bangs"),
            "{refused:?}"
        );
        assert!(read_all(client).is_empty(), "the connection was closed");

        let (_client, conn) = client_sent(b"ok");
        assert_eq!(
            dispatcher.dispatch(conn, MemoryAddr(2)).unwrap(),
            fussy.route()
        );
        let stats = mux.handle().stats();
        assert_eq!((stats.matcher_panics, stats.routed), (1, vec![1]));
        assert_eq!(drops.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_full_queue_drops_the_connection_with_what_it_sent() {
        let (mut mux, drops) = mux_with_drops();
        let route = mux.route(matchers::prefixes(["AB"]));
        let dispatcher = mux.dispatcher();
        let (_first, conn) = client_sent(b"AB1");
        assert_eq!(
            dispatcher.dispatch(conn, MemoryAddr(1)).unwrap(),
            route.route()
        );
        let (second, conn) = client_sent(b"AB2");
        let refused = dispatcher.dispatch(conn, MemoryAddr(2));
        assert!(matches!(refused, Err(DropReason::QueueFull(id)) if id == route.route()));
        assert!(read_all(second).is_empty());
        assert_eq!(drops.lock().unwrap()[0].1, 3, "the event counts its bytes");
        // A queued connection holds no place under the limit until accepted.
        assert_eq!(mux.handle().open_connections(), 0);
        let (mut stream, peer) = route.accept().unwrap();
        assert_eq!((peer, mux.handle().open_connections()), (MemoryAddr(1), 1));
        let mut sent = Vec::new();
        stream.read_to_end(&mut sent).unwrap();
        assert_eq!(sent, b"AB1");
    }

    #[test]
    fn an_inline_handler_runs_on_the_dispatching_thread_with_every_byte() {
        let (mut mux, _drops) = mux_with_drops();
        let ran_on = Arc::new(Mutex::new(None));
        let record = Arc::clone(&ran_on);
        let id = mux.route_inline(matchers::prefixes(["PING"]), move |mut stream, peer| {
            *record.lock().unwrap() = Some(thread::current().id());
            let mut sent = Vec::new();
            stream.read_to_end(&mut sent).unwrap();
            assert_eq!(
                (sent.as_slice(), peer),
                (&b"PING and more"[..], MemoryAddr(3))
            );
            stream.write_all(b"PONG").unwrap();
        });
        let dispatcher = mux.dispatcher();
        let (client, conn) = client_sent(b"PING and more");
        assert_eq!(dispatcher.dispatch(conn, MemoryAddr(3)).unwrap(), id);
        assert_eq!(*ran_on.lock().unwrap(), Some(thread::current().id()));
        assert_eq!(read_all(client), b"PONG");
        assert_eq!(
            mux.handle().open_connections(),
            0,
            "the handler's place is back"
        );
    }

    #[test]
    fn unmatched_and_late_connections_are_closed_and_reported() {
        let (mut mux, drops) = mux_with_drops();
        let _ab = mux.route(matchers::prefixes(["AB"]));
        let dispatcher = mux.dispatcher();
        let (client, conn) = client_sent(b"XY");
        assert!(matches!(
            dispatcher.dispatch(conn, MemoryAddr(1)),
            Err(DropReason::NotMatched)
        ));
        assert!(read_all(client).is_empty());

        mux.handle().shutdown();
        let (client, conn) = client_sent(b"AB");
        assert!(matches!(
            dispatcher.dispatch(conn, MemoryAddr(2)),
            Err(DropReason::ShutDown)
        ));
        assert!(read_all(client).is_empty());
        let drops = drops.lock().unwrap();
        assert_eq!(drops[0].1, 2, "the unmatched bytes are counted");
        assert_eq!(drops[1].1, 0, "nothing is read after shutdown");
        let stats = mux.handle().stats();
        assert_eq!((stats.not_matched, stats.shut_down), (1, 1));
    }
}
