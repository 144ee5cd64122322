//! The multiplexer: `Mux`, the API a user calls (build, register routes,
//! serve, shut down), and the machinery behind it.
//!
//! `serve` supervises the sniffer pool ([`pool`]) from the calling thread:
//! its threads take turns accepting ([`accept_loop`](mod@accept_loop)),
//! and each takes what it accepted down the per-connection path
//! ([`per_connection`]) itself: sniff until the routes decide, then queue
//! it for the winning route's `Listener`, run the inline route's handler,
//! or close it and report an [`event`]. A [`Dispatcher`] takes the same path
//! on its caller's thread. What they all share, and how shutdown reaches
//! each of them, is in [`core`].

mod accept_loop;
mod accept_retry;
pub(crate) mod builder;
pub(crate) mod core;
pub(crate) mod dispatcher;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod handle;
mod per_connection;
mod pool;
mod slot;
pub(crate) mod stats;
mod thread_ceiling;

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::lint::{lint, Finding};
use crate::matcher::Matcher;
use crate::mux::accept_loop::supervise;
use crate::mux::builder::{MuxBuilder, Settings};
use crate::mux::core::{Core, EventCallback};
use crate::mux::dispatcher::Dispatcher;
use crate::mux::error::ServeError;
use crate::mux::event::Event;
use crate::mux::handle::{Control, MuxHandle};
use crate::route::id::RouteId;
use crate::route::listener::Listener;
use crate::route::shared::RouteShared;
use crate::route::stream::PeekableStream;
use crate::route::target::RouteTarget;
use crate::source::accept::Accept;

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
    /// Shared with the sniffer threads while they accept.
    source: Arc<S>,
    local_addr: S::Addr,
    core: Arc<Core<S::Conn, S::Addr>>,
    matchers: Vec<Box<dyn Matcher>>,
    routes: Vec<RouteTarget<S::Conn, S::Addr>>,
    on_event: Option<EventCallback<S::Addr>>,
}

impl Mux<TcpListener> {
    /// A builder for a multiplexer with non-default settings; see
    /// [`MuxBuilder`] for each setting and its default.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    /// use std::time::Duration;
    ///
    /// let mux = Mux::builder()
    ///     .sniff_deadline(Some(Duration::from_secs(2)))
    ///     .build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> MuxBuilder {
        MuxBuilder::new()
    }
}

impl MuxBuilder {
    /// Builds the multiplexer over `source`.
    ///
    /// ```
    /// use connmux::{MuxBuilder, ProxyMode};
    /// use std::net::TcpListener;
    ///
    /// let mux = MuxBuilder::new()
    ///     .proxy_protocol(ProxyMode::Optional)
    ///     .build(TcpListener::bind("127.0.0.1:0")?)?;
    /// assert!(mux.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Mux::new`]: the source's error when its local address cannot
    /// be read or it cannot give a way to wake it for shutdown.
    pub fn build<S: Accept>(self, source: S) -> io::Result<Mux<S>> {
        Mux::with_settings(source, self.settings)
    }
}

impl<S: Accept> Mux<S> {
    /// A multiplexer over `source` with the default settings (see
    /// [`MuxBuilder`] for what they are).
    ///
    /// ```
    /// use connmux::Mux;
    /// use std::net::TcpListener;
    ///
    /// let mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// assert!(mux.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The source's error when its local address cannot be read
    /// ([`Accept::local_addr`]), or when it cannot give a way to wake a
    /// blocked `accept` at shutdown ([`Accept::wake_handle`]: on Linux a
    /// second descriptor of the listening socket, which fails when the
    /// process is out of descriptors; elsewhere the address to connect
    /// to, which an unnamed UNIX socket does not have).
    pub fn new(source: S) -> io::Result<Self> {
        Mux::with_settings(source, Settings::default())
    }

    pub(crate) fn with_settings(source: S, settings: Settings) -> io::Result<Self> {
        let local_addr = source.local_addr()?;
        let wake_accept = source.wake_handle()?;
        Ok(Mux {
            source: Arc::new(source),
            local_addr,
            core: Arc::new(Core::new(settings, wake_accept, S::peer_origin)),
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
    ///
    /// The route stays open as long as its [`Listener`] or a clone of it
    /// does. Dropping the last one (or calling
    /// [`Listener::close`]) closes the route, not the multiplexer: the
    /// connections it matches from then on are closed and reported with
    /// [`DropReason::RouteClosed`](crate::DropReason::RouteClosed). They
    /// do not fall through to later routes: which route a connection
    /// belongs to depends on its bytes only. So `mux.route(m);` with the
    /// listener ignored refuses every client that `m` matches (the
    /// compiler warns about it); to send them to a later route, do not
    /// register this one.
    ///
    /// ```
    /// use connmux::{matchers, memory, DropReason, Mux};
    /// use std::io::Write;
    ///
    /// let mut mux = Mux::new(memory::listener().0)?;
    /// let http = mux.route(matchers::http1_fast());
    /// let _other = mux.route(matchers::any());
    /// let dispatcher = mux.dispatcher();
    ///
    /// drop(http);
    /// let (mut client, server_end) = memory::pair();
    /// client.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
    /// let refused = dispatcher.dispatch(server_end, memory::MemoryAddr(1));
    /// assert!(matches!(refused, Err(DropReason::RouteClosed(_))));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// Ignoring the listener is a warning (`unused_must_use`), here an
    /// error:
    ///
    /// ```compile_fail
    /// #![deny(unused_must_use)]
    /// let mut mux = connmux::Mux::new(connmux::memory::listener().0).unwrap();
    /// mux.route(connmux::matchers::any());
    /// ```
    ///
    /// # Panics
    ///
    /// If [`dispatcher`](Mux::dispatcher) has been called: it fixed the
    /// routes, and a route added afterwards could never get a connection.
    #[must_use = "dropping the Listener closes the route: the clients it matches are then \
                  closed (DropReason::RouteClosed), not passed to later routes"]
    #[track_caller]
    pub fn route<M: Matcher + 'static>(&mut self, matcher: M) -> Listener<S::Conn, S::Addr> {
        self.assert_routes_open("route");
        let id = RouteId(self.routes.len());
        let shared = Arc::new(RouteShared::new(
            id,
            self.local_addr.clone(),
            self.core.settings.route_queue_capacity,
            Arc::clone(&self.core.connections),
        ));
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
    /// The handler runs on the sniffer thread's stack, whose size is
    /// [`MuxBuilder::sniffer_stack_size`] (256 KiB by default): a handler
    /// that needs more (deep recursion, large buffers on the stack) needs
    /// that raised, since a stack overflow aborts the process. Through a
    /// [`Dispatcher`], the handler runs on the thread that calls
    /// [`dispatch`](Dispatcher::dispatch).
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
    ///
    /// # Panics
    ///
    /// If [`dispatcher`](Mux::dispatcher) has been called, as
    /// [`route`](Mux::route) does.
    #[track_caller]
    pub fn route_inline<M, H>(&mut self, matcher: M, handler: H) -> RouteId
    where
        M: Matcher + 'static,
        H: Fn(PeekableStream<S::Conn>, S::Addr) + Send + Sync + 'static,
    {
        self.assert_routes_open("route_inline");
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
    /// It runs on sniffer threads and on the thread in `serve` (and on
    /// a dispatcher's caller's thread): keep it short, and do not block in
    /// it. A later call replaces the callback.
    ///
    /// ```
    /// use connmux::{matchers, memory, Event, Mux};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// let mut mux = Mux::new(memory::listener().0)?;
    /// let _http = mux.route(matchers::http1_fast());
    /// let dropped = Arc::new(AtomicU64::new(0));
    /// let counter = Arc::clone(&dropped);
    /// mux.on_event(move |event| {
    ///     if let Event::Dropped { .. } = event {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// });
    ///
    /// let (client, server_end) = memory::pair();
    /// drop(client); // sends nothing: no route matches
    /// assert!(mux.dispatcher().dispatch(server_end, memory::MemoryAddr(1)).is_err());
    /// assert_eq!(dropped.load(Ordering::Relaxed), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If [`dispatcher`](Mux::dispatcher) has been called: it fixed the
    /// callback with the routes.
    #[track_caller]
    pub fn on_event<F>(&mut self, callback: F)
    where
        F: Fn(&Event<S::Addr>) + Send + Sync + 'static,
    {
        self.assert_routes_open("on_event");
        self.on_event = Some(Box::new(callback));
    }

    /// Panics if the routes are fixed: `method` would change nothing.
    #[track_caller]
    fn assert_routes_open(&self, method: &str) {
        assert!(
            self.core.table.get().is_none(),
            "connmux: Mux::{method} called after Mux::dispatcher fixed the routes; \
             register every route, and the event callback, before calling dispatcher"
        );
    }

    /// A [`Dispatcher`] that routes connections you accepted yourself,
    /// with this multiplexer's routes, limits, events and counters; see
    /// [`Dispatcher::dispatch`].
    ///
    /// The first call fixes the routes and the event callback: register
    /// them all before it ([`route`](Mux::route),
    /// [`route_inline`](Mux::route_inline) and [`on_event`](Mux::on_event)
    /// panic afterwards). Later calls give dispatchers sharing the same
    /// routes. Dispatching works with or without [`serve`](Mux::serve) running;
    /// [`MuxHandle::shutdown`], and dropping the `Mux` unserved, stop it.
    /// A program that never serves can build the `Mux` over a
    /// [`channel`](crate::channel) it never feeds, as
    /// `examples/dispatcher.rs` does: over a clone of its own
    /// `TcpListener`, shutting the `Mux` down would, on Linux, shut the
    /// shared listening socket down too.
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
        if self.core.table.get().is_none() {
            self.core.fix_routes(
                std::mem::take(&mut self.matchers),
                std::mem::take(&mut self.routes),
                self.on_event.take(),
            );
        }
    }

    /// What the [route-table lint](crate::lint::lint) finds about this
    /// multiplexer's routes: routes that never win, and routes a client
    /// reaches only when a timer runs out. `serve` reports the same list
    /// as [`Event::RouteLint`] events when it starts.
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    ///
    /// let mut mux = Mux::new(memory::listener().0)?;
    /// let _any = mux.route(matchers::any());
    /// let _http = mux.route(matchers::http1());
    /// let findings = mux.lint();
    /// assert_eq!(
    ///     findings[0].to_string(),
    ///     "route 1 never wins: route 0 matches every input, the empty one included"
    /// );
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn lint(&self) -> Vec<Finding> {
        let matchers = match self.core.table.get() {
            Some(table) => &table.matchers,
            None => &self.matchers,
        };
        let routes: Vec<&dyn Matcher> = matchers.iter().map(|m| &**m).collect();
        lint(&routes)
    }

    /// A handle that shuts this multiplexer down and reads its counters,
    /// from any thread; it stays valid after `serve` returns.
    ///
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::net::TcpListener;
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let _any = mux.route(matchers::any());
    /// let handle = mux.handle();
    /// let server = std::thread::spawn(move || mux.serve());
    /// handle.shutdown();
    /// server.join().unwrap()?;
    /// assert!(handle.is_shut_down());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(&self) -> MuxHandle {
        let control: Arc<dyn Control> = self.core.clone();
        MuxHandle::new(control)
    }

    /// The address the underlying listener is bound to: with port 0, the
    /// port the system chose.
    ///
    /// ```
    /// use connmux::Mux;
    /// use std::net::TcpListener;
    ///
    /// let mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// assert_ne!(mux.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// None: the address was read when the multiplexer was built (which
    /// fails if it cannot be). It returns `io::Result` as
    /// [`TcpListener::local_addr`] does, so code written for one works
    /// with the other.
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
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::net::TcpListener;
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let _http = mux.route(matchers::http1_fast());
    /// let handle = mux.handle();
    /// let server = std::thread::spawn(move || mux.serve());
    /// // ... accept on the routes' listeners ...
    /// handle.shutdown();
    /// server.join().unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ServeError::Accept`] when the source's `accept` fails with an
    /// error that retrying cannot fix (a closed or invalid socket, say).
    /// Transient accept errors (EMFILE, ENFILE, ECONNABORTED, ENOMEM, ...)
    /// do not end `serve`: they are reported as [`Event::AcceptFailed`]
    /// and retried after a back-off. Shutdown is not an error: `serve`
    /// returns `Ok(())`.
    pub fn serve(mut self) -> Result<(), ServeError> {
        self.fix_routes();
        // A matcher that panics on a probe must not stop serving: the
        // sniffer would catch the same panic per connection.
        if let Ok(findings) = panic::catch_unwind(AssertUnwindSafe(|| self.lint())) {
            for finding in findings {
                self.core.emit(&Event::RouteLint { finding });
            }
        }
        let result = if self.core.is_stopping() {
            Ok(())
        } else {
            supervise(&self.core, &self.source)
        };
        if let Some(deadline) = self.core.drain_deadline() {
            self.core.pool.wait_idle(deadline);
        }
        // After a fatal accept error, other threads still wait in `accept`;
        // after a shutdown or a graceful one, they were woken already.
        self.core.stop(result.is_err());
        // A thread may have taken a connection into its slot after `stop`
        // looked at the slots; none starts a sniff from here on, so this
        // last look reaches every one of them.
        self.core.pool.interrupt_sniffs();
        self.core.pool.join_threads();
        // Any clone of the listener kept elsewhere waits as before. (A
        // source that cannot take the timeout off has nothing to undo.)
        let _ = self.source.set_accept_timeout(None);
        result
    }
}

/// The source, its address, how many routes are registered, the settings,
/// and the state: `Registering` until [`dispatcher`](Mux::dispatcher) fixes
/// the routes, then `Routing`, `Draining` or `ShutDown` (a `Mux` is
/// consumed by [`serve`](Mux::serve), so none is seen while serving; its
/// [`MuxHandle`]'s `Debug` shows that).
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::net::TcpListener;
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let _http = mux.route(matchers::http1_fast());
/// let shown = format!("{mux:?}");
/// assert!(shown.starts_with("Mux { source: TcpListener {"));
/// assert!(shown.contains("routes: 1") && shown.contains("state: Registering"));
/// # Ok::<(), std::io::Error>(())
/// ```
impl<S: Accept + fmt::Debug> fmt::Debug for Mux<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes = self.routes.len() + self.core.fixed_routes().unwrap_or_default();
        f.debug_struct("Mux")
            .field("source", &self.source)
            .field("local_addr", &self.local_addr)
            .field("routes", &routes)
            .field("settings", &self.core.settings)
            .field("state", &self.core.lifecycle())
            .finish_non_exhaustive()
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

#[cfg(test)]
mod tests {
    use std::panic::{self, AssertUnwindSafe};
    use std::time::Duration;

    use crate::memory::{self, MemoryAddr, MemoryListener};
    use crate::{matchers, AcceptError, Mux, ProxyMode};

    #[test]
    fn routes_are_numbered_in_registration_order() {
        let mut mux = Mux::new(memory::listener().0).unwrap();
        let first = mux.route(matchers::http1_fast());
        let inline = mux.route_inline(matchers::tls(), |_, _| {});
        let last = mux.route(matchers::any());
        assert_eq!(
            [first.route().index(), inline.index(), last.route().index()],
            [0, 1, 2]
        );
        assert_eq!(mux.local_addr().unwrap(), MemoryAddr(0));
    }

    #[test]
    fn registering_after_the_dispatcher_panics_and_leaves_the_routes_be() {
        let mut mux = Mux::new(memory::listener().0).unwrap();
        let early = mux.route(matchers::any());
        let _dispatcher = mux.dispatcher();
        let mut assert_refused = |method: &str, call: &dyn Fn(&mut Mux<MemoryListener>)| {
            let panic = panic::catch_unwind(AssertUnwindSafe(|| call(&mut mux))).unwrap_err();
            let message = panic.downcast_ref::<String>().expect("a formatted message");
            assert!(
                message.contains(method) && message.contains("before calling dispatcher"),
                "{message}"
            );
        };
        assert_refused("Mux::route ", &|mux| drop(mux.route(matchers::any())));
        assert_refused("Mux::route_inline ", &|mux| {
            mux.route_inline(matchers::any(), |_, _| {});
        });
        assert_refused("Mux::on_event ", &|mux| mux.on_event(|_| {}));
        assert_eq!(
            early.accept_timeout(Duration::ZERO).unwrap_err(),
            AcceptError::TimedOut,
            "the routes fixed before stay open"
        );
        assert_eq!(
            mux.core.table.get().map(|table| table.routes.len()),
            Some(1)
        );
    }

    #[test]
    fn an_unserved_mux_dropped_or_shut_down_answers_its_listeners() {
        let mut mux = Mux::new(memory::listener().0).unwrap();
        let route = mux.route(matchers::any());
        drop(mux);
        assert_eq!(route.accept().unwrap_err(), AcceptError::ShutDown);

        let mut mux = Mux::new(memory::listener().0).unwrap();
        let route = mux.route(matchers::any());
        let handle = mux.handle();
        handle.shutdown();
        assert!(mux.serve().is_ok(), "serve returns at once after shutdown");
        assert!(handle.is_shut_down());
        assert_eq!(route.accept().unwrap_err(), AcceptError::ShutDown);
    }

    #[test]
    fn debug_shows_the_routes_the_settings_and_the_state() {
        let mut mux = Mux::builder()
            .max_sniff_bytes(100)
            .build(memory::listener().0)
            .unwrap();
        let _http = mux.route(matchers::http1_fast());
        mux.route_inline(matchers::any(), |_, _| {});
        let handle = mux.handle();
        let shown = format!("{mux:?}");
        for part in [
            "Mux { source: MemoryListener { .. }, local_addr: MemoryAddr(0), routes: 2,",
            "max_sniff_bytes: 100,",
            "state: Registering, .. }",
        ] {
            assert!(shown.contains(part), "{part} in {shown}");
        }
        assert_eq!(
            format!("{handle:?}"),
            "MuxHandle { state: Registering, sniffing: 0, open_connections: 0, .. }"
        );

        let dispatcher = mux.dispatcher();
        let shown = format!("{dispatcher:?}");
        assert!(shown.starts_with("Dispatcher { routes: 2, settings: Settings {"));
        assert!(shown.ends_with("state: Routing, .. }"), "{shown}");
        assert!(
            format!("{mux:?}").contains("routes: 2,"),
            "counted once fixed"
        );
        handle.shutdown_graceful(Duration::from_secs(60));
        assert!(format!("{dispatcher:?}").contains("state: Draining"));
        handle.shutdown();
        assert!(format!("{handle:?}").contains("state: ShutDown"));
    }

    #[test]
    fn the_builders_settings_reach_every_sniff() {
        let mux = Mux::builder()
            .sniff_deadline(Some(Duration::from_millis(250)))
            .first_byte_timeout(None)
            .max_sniff_bytes(100)
            .proxy_protocol(ProxyMode::Required)
            .build(memory::listener().0)
            .unwrap();
        let limits = mux.core.limits;
        assert_eq!(limits.deadline, Some(Duration::from_millis(250)));
        assert_eq!(limits.first_byte_timeout, None);
        assert_eq!(limits.max_bytes, 100);
        assert_eq!(limits.proxy_mode, ProxyMode::Required);
    }
}
