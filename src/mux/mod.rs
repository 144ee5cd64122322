//! `Mux`: route registration, the accept loop, the sniffer threads' work,
//! and shutdown.
//!
//! `serve` runs the accept loop on the calling thread. Each accepted
//! connection becomes a job for the sniffer pool; a sniffer thread reads
//! it until the routes decide, then queues it for the winning route's
//! `Listener` or closes it and reports an event.

mod accept_retry;
pub(crate) mod builder;
pub(crate) mod dispatcher;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod handle;
mod pool;
pub(crate) mod stats;

use std::io;
use std::net::TcpListener;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::matcher::Matcher;
use crate::mux::accept_retry::{classify, AcceptFailure, Backoff};
use crate::mux::builder::{MuxBuilder, Settings};
use crate::mux::dispatcher::Dispatcher;
use crate::mux::error::ServeError;
use crate::mux::event::{DropReason, Event};
use crate::mux::handle::{Control, MuxHandle};
use crate::mux::pool::{Job, SniffSlot, SnifferPool, Submitted};
use crate::mux::stats::{Counters, Stats};
use crate::proxy::ProxyHeader;
use crate::route::id::RouteId;
use crate::route::listener::Listener;
use crate::route::shared::{HandOffError, RouteShared};
use crate::route::stream::{Arrival, PeekableStream};
use crate::route::target::{InlineHandler, RouteTarget};
use crate::sniff::buffer;
use crate::sniff::decide::Opening;
use crate::sniff::replay::Replay;
use crate::sniff::{sniff, SniffLimits, SniffOutcome, Sniffed};
use crate::source::accept::{Accept, WakeAccept};
use crate::sync::limit::ConnectionLimit;
use crate::sync::stop::StopSignal;

type EventCallback<A> = Box<dyn Fn(&Event<A>) + Send + Sync>;

/// What the sniffers consult for every connection; fixed once `serve`
/// starts.
struct RouteTable<C, A> {
    matchers: Vec<Box<dyn Matcher>>,
    /// Where the matchers stand before any byte; `None` if asking them
    /// panicked (each sniff then asks again, and reports the panic).
    opening: Option<Opening>,
    routes: Vec<RouteTarget<C, A>>,
    on_event: Option<EventCallback<A>>,
}

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

/// State shared by `serve`, the sniffer threads and every `MuxHandle`.
pub(crate) struct Core<C, A> {
    settings: Settings,
    /// The settings a sniff runs under.
    limits: SniffLimits,
    stop: StopSignal,
    /// Wakes the accept loop; dropped once `serve` returns (on Linux it
    /// holds a descriptor of the listening socket, which must close with
    /// the listener).
    wake_accept: Mutex<Option<WakeAccept>>,
    pool: SnifferPool<C, A>,
    /// When a graceful shutdown must give up waiting for sniffs.
    drain_deadline: Mutex<Option<Instant>>,
    connections: Arc<ConnectionLimit>,
    counters: Counters,
    table: OnceLock<RouteTable<C, A>>,
}

/// A protocol multiplexer over one listener.
///
/// Register routes in priority order with [`route`](Mux::route); each
/// returns the [`Listener`] on which that route's connections arrive. Then
/// call [`serve`](Mux::serve), which blocks until the multiplexer is shut
/// down through a [`MuxHandle`] or accepting fails for good.
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::io::{Read, Write};
/// use std::net::{TcpListener, TcpStream};
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let http = mux.route(matchers::http1_fast());
/// let tls = mux.route(matchers::tls());
/// let other = mux.route(matchers::any());
/// let addr = mux.local_addr()?;
/// let handle = mux.handle();
/// let server = std::thread::spawn(move || mux.serve());
///
/// // An SSH client is neither HTTP nor TLS: the catch-all route gets it.
/// let mut client = TcpStream::connect(addr)?;
/// client.write_all(b"SSH-2.0-OpenSSH_9.2\r\n")?;
/// let (mut conn, _peer) = other.accept()?;
/// let mut banner = [0u8; 8];
/// conn.read_exact(&mut banner)?;
/// assert_eq!(&banner, b"SSH-2.0-");
///
/// handle.shutdown();
/// server.join().unwrap()?;
/// assert!(http.accept().is_err() && tls.accept().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Mux<S: Accept = TcpListener> {
    source: S,
    local_addr: S::Addr,
    core: Arc<Core<S::Conn, S::Addr>>,
    matchers: Vec<Box<dyn Matcher>>,
    routes: Vec<RouteTarget<S::Conn, S::Addr>>,
    on_event: Option<EventCallback<S::Addr>>,
}

impl Mux<TcpListener> {
    /// A builder for a multiplexer with non-default settings.
    pub fn builder() -> MuxBuilder {
        MuxBuilder::new()
    }
}

impl MuxBuilder {
    /// Builds the multiplexer over `source`.
    ///
    /// Fails if the listener's local address cannot be read, or if it
    /// cannot be woken for shutdown (an unnamed UNIX socket).
    pub fn build<S: Accept>(self, source: S) -> io::Result<Mux<S>> {
        Mux::with_settings(source, self.settings)
    }
}

impl<S: Accept> Mux<S> {
    /// A multiplexer over `source` with the default settings (see
    /// [`MuxBuilder`] for what they are).
    ///
    /// Fails if the listener's local address cannot be read, or if it
    /// cannot be woken for shutdown (an unnamed UNIX socket).
    pub fn new(source: S) -> io::Result<Self> {
        Mux::with_settings(source, Settings::default())
    }

    pub(crate) fn with_settings(source: S, settings: Settings) -> io::Result<Self> {
        let local_addr = source.local_addr()?;
        let wake_accept = source.wake_handle()?;
        let connections = ConnectionLimit::new(settings.max_connections);
        let pool = SnifferPool::new(
            settings.max_concurrent_sniffs,
            settings.idle_sniffer_timeout,
        );
        Ok(Mux {
            source,
            local_addr,
            core: Arc::new(Core {
                limits: settings.sniff_limits(),
                settings,
                stop: StopSignal::new(),
                wake_accept: Mutex::new(Some(wake_accept)),
                pool,
                drain_deadline: Mutex::new(None),
                connections,
                counters: Counters::default(),
                table: OnceLock::new(),
            }),
            matchers: Vec::new(),
            routes: Vec::new(),
            on_event: None,
        })
    }

    /// Adds a route after those already registered and returns the
    /// listener its connections arrive on.
    ///
    /// A connection goes to the first route whose matcher says `Match`
    /// while every earlier route has said `NoMatch`. Routes registered
    /// after a catch-all such as [`any`](crate::matchers::any) never match.
    pub fn route<M: Matcher + 'static>(&mut self, matcher: M) -> Listener<S::Conn, S::Addr> {
        let id = RouteId(self.routes.len());
        let shared = Arc::new(RouteShared::new(
            id,
            self.local_addr.clone(),
            self.core.settings.route_queue_capacity,
            Arc::clone(&self.core.connections),
        ));
        if self.core.table.get().is_some() {
            // The routes were fixed by `dispatcher`: this one never gets a
            // connection, so its handles must not wait for one.
            shared.close_for_shutdown();
        }
        self.matchers.push(Box::new(matcher));
        self.routes.push(RouteTarget::Queue(Arc::clone(&shared)));
        Listener::new(shared)
    }

    /// Adds a route whose connections `handler` serves on the sniffer
    /// thread that matched them: no queue, no hand-off to another thread,
    /// which makes short connections cheaper than with [`route`](Mux::route)
    /// and a thread per connection.
    ///
    /// Each connection occupies a thread from the multiplexer's pool for as
    /// long as `handler` runs; the pool starts threads as needed (the
    /// concurrent-sniff limit counts only sniffing, not handlers). A
    /// handler that panics affects only its own connection. `serve` does
    /// not wait for running handlers when it returns: each one's thread
    /// exits when its handler does.
    ///
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::io::{Read, Write};
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// mux.route_inline(matchers::http1_fast(), |mut stream, _peer| {
    ///     let mut request = [0u8; 16];
    ///     if stream.read_exact(&mut request).is_ok() {
    ///         let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
    ///     }
    /// });
    /// let addr = mux.local_addr()?;
    /// let handle = mux.handle();
    /// let server = std::thread::spawn(move || mux.serve());
    ///
    /// let mut client = TcpStream::connect(addr)?;
    /// client.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
    /// let mut status = [0u8; 12];
    /// client.read_exact(&mut status)?;
    /// assert_eq!(&status, b"HTTP/1.1 204");
    /// handle.shutdown();
    /// server.join().unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn route_inline<M, H>(&mut self, matcher: M, handler: H) -> RouteId
    where
        M: Matcher + 'static,
        H: Fn(PeekableStream<S::Conn>, S::Addr) + Send + Sync + 'static,
    {
        let id = RouteId(self.routes.len());
        self.matchers.push(Box::new(matcher));
        self.routes.push(RouteTarget::Inline {
            id,
            handler: Box::new(handler),
            routed: AtomicU64::new(0),
        });
        id
    }

    /// Sets the function that receives an [`Event`] for every connection
    /// closed before reaching a handler and every transient accept error.
    ///
    /// It runs on sniffer threads and on the accept loop's thread: keep it
    /// short, and do not block in it.
    pub fn on_event<F>(&mut self, callback: F)
    where
        F: Fn(&Event<S::Addr>) + Send + Sync + 'static,
    {
        self.on_event = Some(Box::new(callback));
    }

    /// A [`Dispatcher`] that routes connections you accepted yourself,
    /// with this multiplexer's routes, limits, events and counters; see
    /// [`Dispatcher::dispatch`].
    ///
    /// The first call fixes the routes: register every route before it.
    /// A route registered afterwards never receives a connection (its
    /// `Listener` reports [`AcceptError::ShutDown`](crate::AcceptError::ShutDown)).
    /// Dispatching works with or without [`serve`](Mux::serve) running;
    /// [`MuxHandle::shutdown`], and dropping the `Mux` unserved, stop it.
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    /// use std::io::{Read, Write};
    ///
    /// let (source, _) = memory::listener();
    /// let mut mux = Mux::new(source)?;
    /// let http = mux.route(matchers::http1_fast());
    /// let dispatcher = mux.dispatcher();
    ///
    /// let (mut client, server_end) = memory::pair();
    /// client.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
    /// let route = dispatcher.dispatch(server_end, memory::MemoryAddr(7))?;
    /// assert_eq!(route, http.route());
    /// let (mut stream, peer) = http.accept()?;
    /// let mut method = [0u8; 3];
    /// stream.read_exact(&mut method)?;
    /// assert_eq!((&method, peer), (b"GET", memory::MemoryAddr(7)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`MuxHandle::shutdown`]: crate::MuxHandle::shutdown
    pub fn dispatcher(&mut self) -> Dispatcher<S::Conn, S::Addr> {
        self.fix_routes();
        Dispatcher::new(Arc::clone(&self.core))
    }

    /// Moves the routes into the shared core, where sniffers and
    /// dispatchers read them; later calls keep the first table.
    fn fix_routes(&mut self) {
        if self.core.table.get().is_some() {
            return;
        }
        let matchers = std::mem::take(&mut self.matchers);
        // The panic hook has reported a panicking matcher; every sniff
        // will report it again, as a dropped connection.
        let opening = panic::catch_unwind(AssertUnwindSafe(|| Opening::of(&matchers))).ok();
        let table = RouteTable {
            opening,
            matchers,
            routes: std::mem::take(&mut self.routes),
            on_event: self.on_event.take(),
        };
        // Only `&mut self` methods set it, so this `set` succeeds.
        let _ = self.core.table.set(table);
    }

    /// A handle that shuts this multiplexer down and reads its counters,
    /// from any thread.
    pub fn handle(&self) -> MuxHandle {
        let control: Arc<dyn Control> = self.core.clone();
        MuxHandle::new(control)
    }

    /// The address the underlying listener is bound to.
    pub fn local_addr(&self) -> io::Result<S::Addr> {
        Ok(self.local_addr.clone())
    }

    /// Accepts and routes connections until the multiplexer is shut down
    /// or accepting fails for good.
    ///
    /// On return, every sniffer thread has exited, connections still being
    /// sniffed have been closed (each with a [`DropReason::ShutDown`](crate::DropReason::ShutDown)
    /// event), and every route's `accept` hands out the connections
    /// already queued and then fails with
    /// [`AcceptError::ShutDown`](crate::AcceptError::ShutDown). The
    /// listener is closed when `serve` returns. (On Linux a `TcpListener`
    /// or `UnixListener` stops listening as soon as shutdown begins: that
    /// is how the accept loop is woken. A clone of it kept elsewhere
    /// stops accepting too.)
    ///
    /// Transient accept errors (EMFILE, ENFILE, ECONNABORTED, ENOMEM, ...)
    /// are reported as [`Event::AcceptFailed`] and retried after a back-off;
    /// any other accept error ends `serve` with [`ServeError::Accept`].
    pub fn serve(mut self) -> Result<(), ServeError> {
        self.fix_routes();
        let result = if self.core.is_stopping() {
            Ok(())
        } else {
            self.accept_loop()
        };
        if let Some(deadline) = self.core.drain_deadline() {
            self.core.pool.wait_idle(deadline);
        }
        self.core.stop(false);
        // A sniffer thread started just before shutdown may have taken its
        // connection after `stop` looked at the slots; no thread starts
        // from here on, so this last look reaches every one of them.
        self.core.pool.interrupt_sniffs();
        self.core.pool.join_threads();
        result
    }

    fn accept_loop(&self) -> Result<(), ServeError> {
        let core = &self.core;
        let mut backoff = Backoff::default();
        // Waiting for room takes nothing: blocked in `accept`, the loop
        // holds no place under the connection limit.
        while core.connections.wait_for_place() && core.pool.wait_for_capacity() {
            match self.source.accept() {
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
                    self.submit(Job {
                        conn,
                        peer,
                        accepted_at: Instant::now(),
                        permit,
                    });
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

    fn submit(&self, job: Job<S::Conn, S::Addr>) {
        let core = &self.core;
        match core.pool.submit(job) {
            Ok(Submitted::ToIdleThread) => {}
            Ok(Submitted::NeedsThread) => {
                if let Err(error) = self.start_sniffer_thread() {
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

    fn start_sniffer_thread(&self) -> io::Result<()> {
        let slot = Arc::new(SniffSlot::new());
        let thread_slot = Arc::clone(&slot);
        let core = Arc::clone(&self.core);
        let thread = thread::Builder::new()
            .name("connmux-sniffer".into())
            .stack_size(self.core.settings.sniffer_stack_size)
            .spawn(move || core.run_sniffer(&thread_slot))?;
        self.core.pool.thread_started(slot, thread);
        Ok(())
    }
}

impl<S: Accept> Drop for Mux<S> {
    fn drop(&mut self) {
        // A Mux dropped without serving still owes its handles an answer.
        for route in &self.routes {
            route.close_for_shutdown();
        }
        self.core.stop(false);
        self.core.release_wake_accept();
    }
}

/// The message a panic was raised with, when it is a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Marks the current job done when the sniffer thread leaves it, even by
/// unwinding from a panic in a matcher or the event callback.
struct JobDone<'a, C: crate::Connection, A> {
    pool: &'a SnifferPool<C, A>,
}

impl<C: crate::Connection, A> Drop for JobDone<'_, C, A> {
    fn drop(&mut self) {
        self.pool.job_done();
        if thread::panicking() {
            self.pool.thread_died();
        }
    }
}

impl<C: crate::Connection, A: Clone + Send + Sync + 'static> Core<C, A> {
    fn is_stopping(&self) -> bool {
        self.stop.is_set()
    }

    fn wake_accept_loop(&self) {
        if let Some(wake) = &*self
            .wake_accept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            wake();
        }
    }

    /// Drops the wake-up function: nothing will accept any more.
    fn release_wake_accept(&self) {
        let wake = self
            .wake_accept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(wake);
    }

    /// When a graceful shutdown, if one began, stops waiting for sniffs.
    fn drain_deadline(&self) -> Option<Instant> {
        *self
            .drain_deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops everything; `wake` also wakes the accept loop, which is only
    /// needed when another thread asks.
    ///
    /// Order matters: the flag first (sniffs that end from now on report
    /// `Interrupted`), then the route queues (nothing new gets queued),
    /// then the sniffs in progress are interrupted.
    ///
    /// The route queues are closed on every call, because a shutdown that
    /// came before `serve` found no routes to close yet.
    fn stop(&self, wake: bool) {
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
        for Job { conn, peer, .. } in self.pool.stop() {
            drop(conn);
            self.report_drop(peer, DropReason::ShutDown, 0, None);
        }
        self.pool.interrupt_sniffs();
        if wake {
            self.wake_accept_loop();
        }
    }

    fn emit(&self, event: &Event<A>) {
        if let Some(callback) = self.table.get().and_then(|t| t.on_event.as_ref()) {
            // A panicking callback must not take a sniffer thread or the
            // accept loop down with it; the panic hook has reported it.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| callback(event)));
        }
    }

    /// Counts and reports a connection closed before reaching a handler;
    /// the caller has already dropped it. Returns the reason, for a
    /// dispatcher's caller.
    fn report_drop(
        &self,
        peer: A,
        reason: DropReason,
        sniffed_bytes: usize,
        proxy_header: Option<ProxyHeader>,
    ) -> DropReason {
        self.counters.count_drop(&reason);
        let event = Event::Dropped {
            peer,
            reason,
            sniffed_bytes,
            proxy_header,
        };
        self.emit(&event);
        match event {
            Event::Dropped { reason, .. } => reason,
            Event::AcceptFailed { .. } => unreachable!("built as Event::Dropped above"),
        }
    }

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
        let sniffed = panic::catch_unwind(AssertUnwindSafe(|| {
            sniff(
                &conn,
                accepted_at,
                Duration::ZERO,
                &table.matchers,
                table.opening,
                &self.limits,
                &self.stop,
            )
        }));
        let sniffed = match sniffed {
            Ok(sniffed) => sniffed,
            Err(panic) => {
                drop(conn);
                let reason = DropReason::MatcherPanicked(panic_message(panic.as_ref()));
                return Err(self.report_drop(peer, reason, 0, None));
            }
        };
        let arrival = Arrival {
            proxy_header: None,
            accepted_at,
            permit: Some(permit),
        };
        match self.deliver(table, conn, peer, arrival, sniffed)? {
            Delivery::Queued(route) => Ok(route),
            Delivery::Inline(work) => self.serve_inline(work),
        }
    }

    /// A sniffer thread's life: take jobs until the pool says stop.
    fn run_sniffer(&self, slot: &SniffSlot<C>) {
        while let Some(job) = self.pool.next_job() {
            let inline = {
                let _done = JobDone { pool: &self.pool };
                self.sniff_and_dispatch(slot, job)
            };
            if let Some(work) = inline {
                self.run_inline(slot, work);
            }
        }
    }

    /// Serves a connection of an inline route on this thread, unless the
    /// multiplexer is stopping (then it is dropped like a queued one would
    /// be). The slot's flag tells `serve` not to wait for the handler; it
    /// is set before the stop check so that `serve` either sees it or sees
    /// the handler not run.
    fn run_inline(&self, slot: &SniffSlot<C>, work: InlineWork<'_, C, A>) {
        slot.set_in_handler(true);
        let _ = self.serve_inline(work);
        slot.set_in_handler(false);
    }

    /// Runs an inline route's handler on this thread, unless the
    /// multiplexer is stopping.
    // Inlined into its two callers (measured with callgrind: with `deliver`
    // inlined too, a dispatched connection costs ~150 fewer instructions,
    // as the stream is built where it is used instead of moved through
    // `Delivery` and `InlineWork`).
    #[inline(always)]
    fn serve_inline(&self, work: InlineWork<'_, C, A>) -> Result<RouteId, DropReason> {
        let InlineWork {
            id,
            handler,
            routed,
            stream,
            peer,
        } = work;
        if self.is_stopping() {
            let sniffed_bytes = stream.with_sniffed(<[u8]>::len);
            let proxy_header = stream.proxy_header().cloned();
            drop(stream);
            return Err(self.report_drop(peer, DropReason::ShutDown, sniffed_bytes, proxy_header));
        }
        routed.fetch_add(1, Ordering::Relaxed);
        // The panic has been reported by the panic hook; the connection it
        // was serving is dropped by the unwinding.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| handler(stream, peer)));
        Ok(id)
    }

    fn sniff_and_dispatch(
        &self,
        slot: &SniffSlot<C>,
        job: Job<C, A>,
    ) -> Option<InlineWork<'_, C, A>> {
        let Job {
            conn,
            peer,
            accepted_at,
            permit,
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
            panic::catch_unwind(AssertUnwindSafe(|| {
                sniff(
                    conn,
                    accepted_at,
                    accepted_at.elapsed(),
                    &table.matchers,
                    table.opening,
                    &self.limits,
                    &self.stop,
                )
            }))
        });
        match (slot.release(), sniffed) {
            (Some(conn), Some(Ok(sniffed))) => {
                let arrival = Arrival {
                    proxy_header: None,
                    accepted_at,
                    permit: Some(permit),
                };
                match self.deliver(table, conn, peer, arrival, sniffed) {
                    Ok(Delivery::Inline(work)) => Some(work),
                    Ok(Delivery::Queued(_)) | Err(_) => None,
                }
            }
            (Some(conn), Some(Err(panic))) => {
                drop(conn);
                self.report_drop(
                    peer,
                    DropReason::MatcherPanicked(panic_message(panic.as_ref())),
                    0,
                    None,
                );
                None
            }
            _ => None,
        }
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
        } = sniffed;
        arrival.proxy_header = proxy_header;
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
                // it takes one when a handle accepts it.
                arrival.permit = None;
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
                drop(stream);
                return Err(self.report_drop(peer, reason, sniffed_bytes, proxy_header));
            }
            SniffOutcome::NotMatched => DropReason::NotMatched,
            SniffOutcome::TimedOut => DropReason::TimedOut,
            SniffOutcome::NoFirstByte => DropReason::NoFirstByte,
            SniffOutcome::Failed(error) => DropReason::Io(error),
            SniffOutcome::BadProxyHeader(error) => DropReason::ProxyHeader(error),
            SniffOutcome::Interrupted => DropReason::ShutDown,
        };
        buffer::give_back(buffer);
        drop(conn);
        let proxy_header = arrival.proxy_header.map(|header| *header);
        Err(self.report_drop(peer, reason, sniffed_bytes, proxy_header))
    }
}

impl<C: crate::Connection, A: Clone + Send + Sync + 'static> Control for Core<C, A> {
    fn shutdown(&self) {
        self.stop(true);
    }

    fn shutdown_graceful(&self, grace: Duration) {
        /// Longer graces are as good as forever.
        const LONGEST_GRACE: Duration = Duration::from_secs(365 * 24 * 3600);
        let deadline = Instant::now() + grace.min(LONGEST_GRACE);
        {
            let mut drain_deadline = self
                .drain_deadline
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if drain_deadline.is_some() || self.is_stopping() {
                return;
            }
            *drain_deadline = Some(deadline);
        }
        self.pool.drain();
        self.connections.stop();
        self.wake_accept_loop();
    }

    fn is_shut_down(&self) -> bool {
        self.is_stopping()
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
