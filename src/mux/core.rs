//! `Core`: the state the accept loop, the sniffer threads, every
//! `Dispatcher` and every `MuxHandle` share (settings, route table,
//! sniffer pool, connection limit, counters, shutdown state), and how a
//! shutdown, abrupt or graceful, reaches each of them.

use std::net::IpAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::address::Addresses;
use crate::matcher::Matcher;
use crate::mux::builder::Settings;
use crate::mux::event::{DropReason, Event};
use crate::mux::handle::{Control, Lifecycle};
use crate::mux::pool::SnifferPool;
use crate::mux::stats::{Counters, Stats};
use crate::proxy::mode::ProxyMode;
use crate::proxy::{PeerOrigin, ProxyHeader};
use crate::route::target::RouteTarget;
use crate::sniff::decide::Opening;
use crate::sniff::trace::DecisionTrace;
use crate::sniff::SniffLimits;
use crate::source::accept::WakeAccept;
use crate::sync::limit::ConnectionLimit;
use crate::sync::lock::lock;
use crate::sync::per_source::PerSourceLimit;
use crate::sync::stop::StopSignal;

pub(super) type EventCallback<A> = Box<dyn Fn(&Event<A>) + Send + Sync>;

/// What the sniffers consult for every connection; fixed once `serve`
/// starts.
pub(super) struct RouteTable<C, A> {
    pub(super) matchers: Vec<Box<dyn Matcher>>,
    /// Where the matchers stand before any byte; `None` if asking them
    /// panicked (each sniff then asks again, and reports the panic), or if
    /// a route reads addresses (each sniff asks with its connection's).
    pub(super) opening: Option<Opening>,
    /// Whether some route reads the connection's addresses.
    pub(super) reads_addresses: bool,
    pub(super) routes: Vec<RouteTarget<C, A>>,
    pub(super) on_event: Option<EventCallback<A>>,
}

/// State shared by `serve`, the sniffer threads and every `MuxHandle`.
pub(crate) struct Core<C, A> {
    pub(super) settings: Settings,
    /// The settings a sniff runs under.
    pub(super) limits: SniffLimits,
    /// Where a peer address is: the source's `Accept::peer_origin`.
    pub(super) peer_origin: fn(&A) -> PeerOrigin,
    pub(super) stop: StopSignal,
    /// Wakes the accept loop; dropped once `serve` returns (on Linux it
    /// holds a descriptor of the listening socket, which must close with
    /// the listener). An `Arc` so that it runs outside the lock: a source
    /// of the user's supplies it.
    pub(super) wake_accept: Mutex<Option<Arc<WakeAccept>>>,
    pub(super) pool: SnifferPool<C>,
    /// When a graceful shutdown must give up waiting for sniffs.
    pub(super) drain_deadline: Mutex<Option<Instant>>,
    pub(super) connections: Arc<ConnectionLimit>,
    /// The sniffs each client address may run at once, if limited.
    pub(super) per_source: Option<Arc<PerSourceLimit>>,
    /// The connections each client address may have open, if limited.
    pub(super) per_source_open: Option<Arc<PerSourceLimit>>,
    pub(super) counters: Counters,
    pub(super) table: OnceLock<RouteTable<C, A>>,
}

/// What any holder of the core may ask, whatever its connection type.
impl<C, A> Core<C, A> {
    pub(super) fn is_stopping(&self) -> bool {
        self.stop.is_set()
    }

    /// When a graceful shutdown, if one began, stops waiting for sniffs.
    pub(super) fn drain_deadline(&self) -> Option<Instant> {
        *lock(&self.drain_deadline)
    }

    pub(super) fn lifecycle(&self) -> Lifecycle {
        if self.is_stopping() {
            Lifecycle::ShutDown
        } else if self.drain_deadline().is_some() {
            Lifecycle::Draining
        } else if self.table.get().is_some() {
            Lifecycle::Routing
        } else {
            Lifecycle::Registering
        }
    }

    /// The address a connection from `origin` is counted under for the
    /// per-address limits, if it is: a peer's IP address, unless the peer
    /// is a trusted proxy under a PROXY mode (it speaks for many clients).
    pub(super) fn limited_address(&self, origin: PeerOrigin) -> Option<IpAddr> {
        let PeerOrigin::Ip(ip) = origin else {
            return None;
        };
        let speaks_for_others = self.settings.proxy_mode != ProxyMode::Off
            && self.settings.trusted_proxies.trusts(origin);
        (!speaks_for_others).then_some(ip)
    }

    /// How many routes the table holds, once fixed.
    pub(super) fn fixed_routes(&self) -> Option<usize> {
        self.table.get().map(|table| table.routes.len())
    }
}

impl<C: crate::Connection, A: Clone + Send + Sync + 'static> Core<C, A> {
    /// The core of a multiplexer that has yet to fix its routes.
    pub(super) fn new(
        settings: Settings,
        wake_accept: WakeAccept,
        peer_origin: fn(&A) -> PeerOrigin,
    ) -> Self {
        Core {
            peer_origin,
            limits: settings.sniff_limits(),
            stop: StopSignal::new(),
            wake_accept: Mutex::new(Some(Arc::new(wake_accept))),
            pool: SnifferPool::new(
                settings.max_concurrent_sniffs,
                settings.idle_sniffer_timeout,
            ),
            drain_deadline: Mutex::new(None),
            connections: ConnectionLimit::new(settings.max_connections),
            per_source: settings
                .max_sniffs_per_source
                .map(|max| PerSourceLimit::new(max, settings.ipv6_source_prefix)),
            per_source_open: settings
                .max_connections_per_source
                .map(|max| PerSourceLimit::new(max, settings.ipv6_source_prefix)),
            counters: Counters::default(),
            table: OnceLock::new(),
            settings,
        }
    }

    /// Fixes the routes: sniffers and dispatchers read them from here on.
    /// Only the first table is kept.
    pub(super) fn fix_routes(
        &self,
        matchers: Vec<Box<dyn Matcher>>,
        routes: Vec<RouteTarget<C, A>>,
        on_event: Option<EventCallback<A>>,
    ) {
        // The panic hook has reported a panicking matcher; every sniff
        // will report it again, as a dropped connection.
        let reads_addresses = panic::catch_unwind(AssertUnwindSafe(|| {
            matchers.iter().any(|matcher| matcher.reads_addresses())
        }))
        .unwrap_or(false);
        // Routes that read addresses are asked about each connection's
        // empty input, with its addresses.
        let opening = match reads_addresses {
            true => None,
            false => panic::catch_unwind(AssertUnwindSafe(|| {
                Opening::of(&matchers, &Addresses::UNKNOWN)
            }))
            .ok(),
        };
        let _ = self.table.set(RouteTable {
            matchers,
            opening,
            reads_addresses,
            routes,
            on_event,
        });
    }

    pub(super) fn wake_accept_loop(&self) {
        // Called outside the lock: it may block, or shut the multiplexer
        // down itself. A wake-up that races `release_wake_accept` keeps
        // its descriptor open until it returns.
        let wake = lock(&self.wake_accept).clone();
        if let Some(wake) = wake {
            wake();
        }
    }

    /// Drops the wake-up function: nothing will accept any more. (Its
    /// last clone, if a wake-up is running, is dropped when that returns.)
    /// Stops accepting and lets the sniffs in progress finish for up to
    /// `grace` (a graceful shutdown); does nothing if stopping has begun.
    pub(super) fn drain(&self, grace: Duration) {
        /// Longer graces are as good as forever.
        const LONGEST_GRACE: Duration = Duration::from_secs(365 * 24 * 3600);
        let deadline = Instant::now() + grace.min(LONGEST_GRACE);
        {
            let mut drain_deadline = lock(&self.drain_deadline);
            if drain_deadline.is_some() || self.is_stopping() {
                return;
            }
            *drain_deadline = Some(deadline);
        }
        self.pool.drain();
        self.connections.stop();
        self.wake_accept_loop();
    }

    pub(super) fn release_wake_accept(&self) {
        let wake = lock(&self.wake_accept).take();
        drop(wake);
    }

    /// Stops everything; `wake` also wakes the threads blocked in
    /// `accept`, which `serve` needs only after a fatal accept error.
    ///
    /// Order matters: the flag first (sniffs that end from now on report
    /// `Interrupted`), then the route queues (nothing new gets queued),
    /// then the sniffs in progress are interrupted.
    ///
    /// The route queues are closed on every call, because a shutdown that
    /// came before `serve` found no routes to close yet.
    pub(super) fn stop(&self, wake: bool) {
        let first_call = self.stop.set();
        if let Some(table) = self.table.get() {
            for route in &table.routes {
                route.close_for_shutdown();
            }
        }
        if !first_call {
            return;
        }
        self.connections.stop();
        self.pool.stop();
        self.pool.interrupt_sniffs();
        if wake {
            self.wake_accept_loop();
        }
    }

    pub(super) fn emit(&self, event: &Event<A>) {
        if let Some(callback) = self.table.get().and_then(|t| t.on_event.as_ref()) {
            // A panicking callback must not take a sniffer thread or the
            // accept loop down with it; the panic hook has reported it.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| callback(event)));
        }
    }

    /// Counts and reports a connection closed before reaching a handler;
    /// the caller has already dropped it. Returns the reason, for a
    /// dispatcher's caller.
    pub(super) fn report_drop(
        &self,
        peer: A,
        reason: DropReason,
        sniffed_bytes: usize,
        proxy_header: Option<ProxyHeader>,
    ) -> DropReason {
        self.report_sniffed_drop(peer, reason, sniffed_bytes, proxy_header, None)
    }

    /// [`report_drop`](Self::report_drop) for a connection whose sniff
    /// may have left a trace.
    pub(super) fn report_sniffed_drop(
        &self,
        peer: A,
        reason: DropReason,
        sniffed_bytes: usize,
        proxy_header: Option<ProxyHeader>,
        trace: Option<Arc<DecisionTrace>>,
    ) -> DropReason {
        self.counters.count_drop(&reason);
        let event = Event::Dropped {
            peer,
            reason,
            sniffed_bytes,
            proxy_header,
            trace,
        };
        self.emit(&event);
        match event {
            Event::Dropped { reason, .. } => reason,
            _ => unreachable!("built as Event::Dropped above"),
        }
    }
}

impl<C: crate::Connection, A: Clone + Send + Sync + 'static> Control for Core<C, A> {
    fn shutdown(&self) {
        self.stop(true);
    }

    fn shutdown_graceful(&self, grace: Duration) {
        self.drain(grace);
    }

    fn is_shut_down(&self) -> bool {
        self.is_stopping()
    }

    fn lifecycle(&self) -> Lifecycle {
        Core::lifecycle(self)
    }

    fn stats(&self) -> Stats {
        let routed = self
            .table
            .get()
            .map(|t| t.routes.iter().map(|r| r.routed()).collect())
            .unwrap_or_default();
        self.counters.snapshot(routed)
    }

    fn sniffing(&self) -> usize {
        self.pool.in_flight()
    }

    fn open_connections(&self) -> usize {
        self.connections.open()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::{mpsc, Arc, OnceLock};
    use std::thread;
    use std::time::Duration;

    use crate::memory::{self, MemoryAddr, MemoryStream};
    use crate::{matchers, Accept, DropReason, Mux, MuxHandle, WakeAccept};

    #[test]
    fn a_panicking_event_callback_does_not_reach_the_caller() {
        let mut mux = Mux::new(memory::listener().0).unwrap();
        let _ab = mux.route(matchers::prefixes(["AB"]));
        mux.on_event(|_| panic!("callback"));
        let dispatcher = mux.dispatcher();
        let (mut client, conn) = memory::pair();
        client.write_all(b"XY").unwrap();
        let refused = dispatcher.dispatch(conn, MemoryAddr(1));
        assert!(matches!(refused, Err(DropReason::NotMatched)));
        assert_eq!(mux.handle().stats().not_matched, 1);
    }

    /// A source of nothing whose wake-up shuts the multiplexer down with
    /// the handle it is given.
    struct ShutsDownOnWake(Arc<OnceLock<MuxHandle>>);

    impl Accept for ShutsDownOnWake {
        type Conn = MemoryStream;
        type Addr = MemoryAddr;

        fn accept(&self) -> io::Result<(MemoryStream, MemoryAddr)> {
            Err(io::ErrorKind::InvalidInput.into())
        }

        fn local_addr(&self) -> io::Result<MemoryAddr> {
            Ok(MemoryAddr(0))
        }

        fn wake_handle(&self) -> io::Result<WakeAccept> {
            let handle = Arc::clone(&self.0);
            Ok(Box::new(move || handle.get().expect("set").shutdown()))
        }
    }

    #[test]
    fn the_wake_up_of_a_users_source_runs_outside_the_lock() {
        let handle_for_wake = Arc::new(OnceLock::new());
        let mux = Mux::new(ShutsDownOnWake(Arc::clone(&handle_for_wake))).unwrap();
        let handle = mux.handle();
        let _ = handle_for_wake.set(mux.handle());
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            // Wakes the accept loop, whose wake-up shuts down, which wakes
            // the accept loop again: under the lock, a deadlock.
            handle.shutdown_graceful(Duration::from_secs(60));
            done.send(handle.is_shut_down()).unwrap();
        });
        let shut_down = finished.recv_timeout(Duration::from_secs(10));
        assert_eq!(shut_down, Ok(true), "no deadlock");
        drop(mux);
    }

    #[test]
    fn a_graceful_shutdown_starts_once_and_not_after_a_stop() {
        let mut mux = Mux::new(memory::listener().0).unwrap();
        let _any = mux.route(matchers::any());
        let handle = mux.handle();
        handle.shutdown_graceful(Duration::from_secs(60));
        let deadline = mux.core.drain_deadline().expect("draining");
        handle.shutdown_graceful(Duration::ZERO);
        assert_eq!(
            mux.core.drain_deadline(),
            Some(deadline),
            "the first grace stands"
        );
        assert!(!handle.is_shut_down(), "draining is not yet stopped");

        let mut stopped = Mux::new(memory::listener().0).unwrap();
        let _any = stopped.route(matchers::any());
        stopped.handle().shutdown();
        stopped.handle().shutdown_graceful(Duration::from_secs(60));
        assert_eq!(stopped.core.drain_deadline(), None);
        assert!(stopped.handle().is_shut_down());
    }
}
