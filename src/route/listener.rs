//! `Listener`: one route's accept handle, shaped like `TcpListener`.
//!
//! It pops matched connections from the route's queue. Handles are cheap
//! to clone and may be used from several threads at once; closing one (or
//! dropping the last clone) closes only its route.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::route::error::AcceptError;
use crate::route::id::RouteId;
use crate::route::shared::RouteShared;
use crate::route::stream::PeekableStream;
use crate::source::accept::{Accept, WakeAccept};
use crate::source::connection::Connection;
use crate::sync::queue::RecvError;

/// The accept side of one route: where the connections its matcher chose
/// arrive.
///
/// `Listener` is `Send + Sync` and `Clone`; clones share the route, and
/// several threads may block in `accept` on it at once (each connection
/// goes to one of them).
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::io::{Read, Write};
/// use std::net::{TcpListener, TcpStream};
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let echo = mux.route(matchers::any());
/// let addr = mux.local_addr()?;
/// let handle = mux.handle();
/// let server = std::thread::spawn(move || mux.serve());
///
/// let workers: Vec<_> = (0..2)
///     .map(|_| {
///         let echo = echo.clone();
///         std::thread::spawn(move || {
///             for stream in echo.incoming() {
///                 let mut stream = stream?;
///                 std::io::copy(&mut stream.try_clone()?, &mut stream)?;
///             }
///             Ok::<(), std::io::Error>(())
///         })
///     })
///     .collect();
///
/// let mut client = TcpStream::connect(addr)?;
/// client.write_all(b"hi")?;
/// let mut echoed = [0u8; 2];
/// client.read_exact(&mut echoed)?;
/// assert_eq!(&echoed, b"hi");
/// drop(client);
/// handle.shutdown();
/// server.join().unwrap()?;
/// for worker in workers {
///     worker.join().unwrap()?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Without waiting
///
/// [`try_accept`](Self::try_accept) and
/// [`accept_timeout`](Self::accept_timeout) wait for nothing, or for a
/// while; in non-blocking mode [`accept`](Self::accept) fails with
/// [`AcceptError::WouldBlock`], as `TcpListener::accept` fails with
/// `WouldBlock`. This example routes connections itself with a
/// [`Dispatcher`](crate::Dispatcher), so that nothing runs on another
/// thread:
///
/// ```
/// use connmux::{matchers, memory, AcceptError, Mux};
/// use std::io;
/// use std::time::Duration;
///
/// let (source, _unused) = memory::listener();
/// let mut mux = Mux::new(source)?;
/// let any = mux.route(matchers::any());
/// let dispatcher = mux.dispatcher();
///
/// assert!(any.try_accept()?.is_none());
/// let waited = any.accept_timeout(Duration::from_millis(1));
/// assert_eq!(waited.unwrap_err(), AcceptError::TimedOut);
/// any.set_nonblocking(true)?;
/// assert_eq!(any.accept().unwrap_err(), AcceptError::WouldBlock);
/// // As from a non-blocking TcpListener, incoming() yields WouldBlock.
/// let error = any.incoming().next().unwrap().unwrap_err();
/// assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
///
/// let (_client, conn) = memory::pair();
/// dispatcher.dispatch(conn, memory::MemoryAddr(1))?;
/// assert_eq!(any.queued(), 1);
/// let (_stream, peer) = any.accept()?;
/// assert_eq!(peer, memory::MemoryAddr(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Parity with `TcpListener`
///
/// | `std::net::TcpListener` | `Listener` |
/// |---|---|
/// | `accept` | [`accept`](Self::accept): `(stream, peer)`, the error converts into `io::Error` |
/// | `incoming` | [`incoming`](Self::incoming), and `for stream in &listener` |
/// | `set_nonblocking` | [`set_nonblocking`](Self::set_nonblocking): `accept` fails with `WouldBlock` |
/// | `local_addr` | [`local_addr`](Self::local_addr): the multiplexer's address |
/// | `try_clone` | `Clone`, which cannot fail; clones share the route and its mode |
/// | `take_error`, `set_ttl`, `ttl` | none: they belong to the multiplexer's socket, not to a route |
/// | `AsFd`, `AsRawFd`, `IntoRawFd` | none: a route is a queue in memory, with no descriptor to poll |
/// | `bind` | none: [`Mux::route`](crate::Mux::route) makes one |
/// | none | [`accept_timeout`](Self::accept_timeout), [`try_accept`](Self::try_accept), [`close`](Self::close), [`queued`](Self::queued) |
///
/// A route has no descriptor, so there is nothing to give `poll` or
/// `epoll`: wait on several routes with a thread each, with
/// `accept_timeout`, or with non-blocking `accept` in a loop of your own.
pub struct Listener<C = TcpStream, A = SocketAddr> {
    handle: Arc<HandleGuard<C, A>>,
    /// Set by the wake-up of a multiplexer this handle is the source of
    /// (see the [`Accept`] impl); each clone has its own, so waking one
    /// nested multiplexer leaves other handles waiting.
    woken: Arc<AtomicBool>,
}

/// Closes the route when the last clone of its `Listener` is dropped.
struct HandleGuard<C, A> {
    route: Arc<RouteShared<C, A>>,
    /// Set by `set_nonblocking`, for every clone (as clones of a
    /// `TcpListener` share one socket's mode).
    nonblocking: AtomicBool,
}

impl<C, A> Drop for HandleGuard<C, A> {
    fn drop(&mut self) {
        self.route.close_by_handle();
    }
}

impl<C, A> Clone for Listener<C, A> {
    fn clone(&self) -> Self {
        Listener {
            handle: Arc::clone(&self.handle),
            woken: Arc::default(),
        }
    }
}

impl<C, A: Clone> Listener<C, A> {
    pub(crate) fn new(route: Arc<RouteShared<C, A>>) -> Self {
        Listener {
            handle: Arc::new(HandleGuard {
                route,
                nonblocking: AtomicBool::new(false),
            }),
            woken: Arc::default(),
        }
    }

    fn route_shared(&self) -> &RouteShared<C, A> {
        &self.handle.route
    }

    fn closed_error(&self) -> AcceptError {
        if self.route_shared().is_closed_by_handle() {
            AcceptError::Closed
        } else {
            AcceptError::ShutDown
        }
    }

    /// Waits for the next connection on this route and returns it with
    /// the peer's address, as `TcpListener::accept` does; in non-blocking
    /// mode, returns one only if it is already queued.
    ///
    /// # Errors
    ///
    /// - [`AcceptError::Closed`] once this route's handle has been closed;
    /// - [`AcceptError::ShutDown`] once the multiplexer has stopped and the
    ///   connections queued before that have been handed out;
    /// - [`AcceptError::WouldBlock`] in non-blocking mode
    ///   ([`set_nonblocking`](Self::set_nonblocking)) when none is queued.
    ///
    /// ```
    /// use connmux::{matchers, memory, AcceptError, Mux};
    /// use std::io::Write;
    ///
    /// let (source, _unused) = memory::listener();
    /// let mut mux = Mux::new(source)?;
    /// let hello = mux.route(matchers::prefixes(["hello"]));
    /// let dispatcher = mux.dispatcher();
    /// let (mut client, conn) = memory::pair();
    /// client.write_all(b"hello")?;
    /// dispatcher.dispatch(conn, memory::MemoryAddr(1))?;
    ///
    /// let (stream, peer) = hello.accept()?;
    /// assert_eq!((peer, stream.unread_len()), (memory::MemoryAddr(1), 5));
    /// hello.close();
    /// assert!(hello.is_closed());
    /// assert_eq!(hello.accept().unwrap_err(), AcceptError::Closed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&self) -> Result<(PeekableStream<C>, A), AcceptError> {
        let route = self.route_shared();
        let received = if self.handle.nonblocking.load(Ordering::Relaxed) {
            route.queue().try_recv()
        } else {
            route.queue().recv()
        };
        match route.admit(received) {
            Ok(accepted) => Ok(accepted),
            Err(RecvError::Empty) => Err(AcceptError::WouldBlock),
            Err(RecvError::Closed) => Err(self.closed_error()),
        }
    }

    /// Like [`accept`](Self::accept), but gives up when nothing arrives
    /// within `timeout`. It waits in non-blocking mode too: the timeout
    /// says how long. Example: [Without waiting](Self#without-waiting).
    ///
    /// # Errors
    ///
    /// [`AcceptError::TimedOut`] if nothing arrives within `timeout`;
    /// otherwise as [`accept`](Self::accept), never `WouldBlock`.
    pub fn accept_timeout(&self, timeout: Duration) -> Result<(PeekableStream<C>, A), AcceptError> {
        let route = self.route_shared();
        match route.admit(route.queue().recv_timeout(timeout)) {
            Ok(accepted) => Ok(accepted),
            Err(RecvError::Empty) => Err(AcceptError::TimedOut),
            Err(RecvError::Closed) => Err(self.closed_error()),
        }
    }

    /// Returns a queued connection if there is one, without waiting, in
    /// either mode: `Ok(None)` means none is queued right now. Example:
    /// [Without waiting](Self#without-waiting).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept), never `WouldBlock`.
    pub fn try_accept(&self) -> Result<Option<(PeekableStream<C>, A)>, AcceptError> {
        let route = self.route_shared();
        match route.admit(route.queue().try_recv()) {
            Ok(accepted) => Ok(Some(accepted)),
            Err(RecvError::Empty) => Ok(None),
            Err(RecvError::Closed) => Err(self.closed_error()),
        }
    }

    /// An iterator over this route's connections, as
    /// `TcpListener::incoming`; it ends when the route is closed or the
    /// multiplexer stops (instead of yielding errors forever). In
    /// non-blocking mode it yields a `WouldBlock` error whenever none is
    /// queued, as `TcpListener::incoming` does. `for stream in &listener`
    /// is the same loop. Example: on the [type](Listener).
    pub fn incoming(&self) -> Incoming<'_, C, A> {
        Incoming { listener: self }
    }

    /// Moves this route's handle, and all its clones, into or out of
    /// non-blocking mode, as `TcpListener::set_nonblocking` does: in it,
    /// [`accept`](Self::accept) and [`incoming`](Self::incoming) fail with
    /// `WouldBlock` instead of waiting. The streams it hands out are in
    /// blocking mode either way (see
    /// [`PeekableStream::set_nonblocking`]). Example:
    /// [Without waiting](Self#without-waiting).
    ///
    /// # Errors
    ///
    /// None: the mode is a flag in memory. The `io::Result` keeps code
    /// written for `TcpListener` compiling unchanged.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.handle
            .nonblocking
            .store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// The address of the multiplexer's listener, where clients connect.
    ///
    /// # Errors
    ///
    /// None: the address is the one the multiplexer read when it was
    /// built. The `io::Result` is `TcpListener::local_addr`'s.
    ///
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::net::TcpListener;
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let any = mux.route(matchers::any());
    /// assert_eq!(any.local_addr()?, mux.local_addr()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<A> {
        Ok(self.route_shared().local_addr.clone())
    }

    /// Which route this handle accepts for; the example is on
    /// [`RouteId`].
    pub fn route(&self) -> RouteId {
        self.route_shared().id
    }

    /// How many matched connections are waiting to be accepted. Example:
    /// [Without waiting](Self#without-waiting).
    pub fn queued(&self) -> usize {
        self.route_shared().queue().len()
    }

    /// Closes this route, for every clone of this handle: queued
    /// connections are closed now, later matches are closed with a
    /// [`DropReason::RouteClosed`](crate::DropReason::RouteClosed) event,
    /// and `accept` fails with [`AcceptError::Closed`]. Other routes and
    /// the multiplexer's listener are not affected. Example:
    /// [`accept`](Self::accept).
    pub fn close(&self) {
        self.route_shared().close_by_handle();
    }

    /// Whether this route was closed by its handle or by shutdown.
    /// Example: [`accept`](Self::accept).
    pub fn is_closed(&self) -> bool {
        self.route_shared().queue().is_closed()
    }
}

impl<C, A: fmt::Debug> fmt::Debug for Listener<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("route", &self.handle.route.id)
            .field("local_addr", &self.handle.route.local_addr)
            .field(
                "nonblocking",
                &self.handle.nonblocking.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// An iterator over a route's connections; see [`Listener::incoming`].
///
/// Its items are `io::Result` so that loops written for
/// `TcpListener::incoming` compile unchanged. It ends when the route is
/// closed or the multiplexer stops; the only error it yields is
/// `WouldBlock`, in non-blocking mode.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Incoming<'a, C, A> {
    listener: &'a Listener<C, A>,
}

impl<C, A: Clone> Iterator for Incoming<'_, C, A> {
    type Item = io::Result<PeekableStream<C>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.listener.accept() {
            Ok((stream, _peer)) => Some(Ok(stream)),
            Err(AcceptError::WouldBlock) => Some(Err(AcceptError::WouldBlock.into())),
            Err(_) => None,
        }
    }
}

/// `for stream in &listener`, the same as
/// [`listener.incoming()`](Listener::incoming).
///
/// ```
/// use connmux::{matchers, memory, Mux};
///
/// let (source, _unused) = memory::listener();
/// let mut mux = Mux::new(source)?;
/// let any = mux.route(matchers::any());
/// let dispatcher = mux.dispatcher();
/// let (_client, conn) = memory::pair();
/// dispatcher.dispatch(conn, memory::MemoryAddr(1))?;
/// drop(mux); // unserved, it stops its routes: the loop ends when the queue is empty
/// let mut served = 0;
/// for stream in &any {
///     let _stream = stream?;
///     served += 1;
/// }
/// assert_eq!(served, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'a, C, A: Clone> IntoIterator for &'a Listener<C, A> {
    type Item = io::Result<PeekableStream<C>>;
    type IntoIter = Incoming<'a, C, A>;

    fn into_iter(self) -> Incoming<'a, C, A> {
        self.incoming()
    }
}

impl<C, A: fmt::Debug> fmt::Debug for Incoming<'_, C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}

/// A route's handle is a connection source for another multiplexer, as a
/// listener from cmux feeds another cmux: the nested one sniffs each
/// stream again, from its first sniffed byte (the outer sniff's bytes are
/// replayed to it intact).
///
/// The nested multiplexer's shutdown wakes only its own handle: the route
/// stays open for its other clones, so keep one to go on accepting, or to
/// nest a new multiplexer later. (Once the nested multiplexer is dropped
/// with the last handle, the route closes as with any handle.) When the
/// outer multiplexer stops, the nested one's `serve` ends with
/// [`ServeError::Accept`](crate::ServeError::Accept) (kind `NotConnected`).
/// Blocking or not, the nested multiplexer waits for connections: it does
/// not follow [`set_nonblocking`](Listener::set_nonblocking).
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::io::{Read, Write};
/// use std::net::{TcpListener, TcpStream};
///
/// let mut outer = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let text = outer.route(matchers::prefixes(["GET ", "PING"]));
/// let addr = outer.local_addr()?;
/// let mut inner = Mux::new(text.clone())?; // route the text protocols apart
/// let pings = inner.route(matchers::prefixes(["PING"]));
/// let (outer_handle, inner_handle) = (outer.handle(), inner.handle());
/// let outer_server = std::thread::spawn(move || outer.serve());
/// let inner_server = std::thread::spawn(move || inner.serve());
///
/// TcpStream::connect(addr)?.write_all(b"PING")?;
/// let (mut stream, _peer) = pings.accept()?;
/// let mut ping = [0u8; 4];
/// stream.read_exact(&mut ping)?;
/// assert_eq!(&ping, b"PING");
///
/// inner_handle.shutdown();
/// inner_server.join().unwrap()?;
/// assert!(!text.is_closed(), "the outer route stays open");
/// outer_handle.shutdown();
/// outer_server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<C, A> Accept for Listener<C, A>
where
    C: Connection,
    A: Clone + fmt::Debug + Send + Sync + 'static,
{
    type Conn = PeekableStream<C>;
    type Addr = A;

    fn accept(&self) -> io::Result<(PeekableStream<C>, A)> {
        let route = self.route_shared();
        match route.admit(route.queue().recv_unless(&self.woken)) {
            Ok(accepted) => Ok(accepted),
            Err(RecvError::Empty) => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "woken for shutdown",
            )),
            Err(RecvError::Closed) => Err(self.closed_error().into()),
        }
    }

    fn local_addr(&self) -> io::Result<A> {
        Ok(self.route_shared().local_addr.clone())
    }

    fn wake_handle(&self) -> io::Result<WakeAccept> {
        let woken = Arc::clone(&self.woken);
        let handle = Arc::clone(&self.handle);
        Ok(Box::new(move || {
            woken.store(true, Ordering::SeqCst);
            handle.route.queue().wake_receivers();
        }))
    }
}
