//! `Dispatcher`: the multiplexer's routing without its accept loop, for
//! programs that accept connections themselves (or get them from
//! elsewhere: a systemd socket, a TLS terminator, a test).
//!
//! `dispatch` does on the caller's thread what a sniffer thread does for
//! `serve`: sniff, decide, then queue the connection for its route's
//! `Listener` or run the inline route's handler right there.

use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use crate::mux::core::Core;
use crate::mux::event::DropReason;
use crate::route::id::RouteId;
use crate::source::connection::Connection;

/// Routes connections you accepted yourself through a [`Mux`](crate::Mux)'s
/// routes; made by [`Mux::dispatcher`](crate::Mux::dispatcher). Clone it
/// for each thread that accepts.
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::io::{Read, Write};
/// use std::net::{TcpListener, TcpStream};
///
/// // Your own listener and accept loop; the Mux's listener stays unused.
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// mux.route_inline(matchers::http1_fast(), |mut stream, _peer| {
///     let mut request = [0u8; 18];
///     if stream.read_exact(&mut request).is_ok() {
///         let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
///     }
/// });
/// let dispatcher = mux.dispatcher();
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let accept_loop = std::thread::spawn(move || {
///     let (conn, peer) = listener.accept()?;
///     Ok::<_, std::io::Error>(dispatcher.dispatch(conn, peer))
/// });
///
/// let mut client = TcpStream::connect(addr)?;
/// client.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
/// let mut status = [0u8; 12];
/// client.read_exact(&mut status)?;
/// assert_eq!(&status, b"HTTP/1.1 204");
/// assert!(accept_loop.join().unwrap()?.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Dispatcher<C = TcpStream, A = SocketAddr> {
    core: Arc<Core<C, A>>,
}

impl<C, A> Clone for Dispatcher<C, A> {
    fn clone(&self) -> Self {
        Dispatcher {
            core: Arc::clone(&self.core),
        }
    }
}

/// How many routes it dispatches to, the settings it sniffs under, and
/// the multiplexer's state (`Routing`, `Draining` or `ShutDown`).
impl<C, A> fmt::Debug for Dispatcher<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("routes", &self.core.fixed_routes().unwrap_or_default())
            .field("settings", &self.core.settings)
            .field("state", &self.core.lifecycle())
            .finish_non_exhaustive()
    }
}

impl<C, A> Dispatcher<C, A> {
    pub(crate) fn new(core: Arc<Core<C, A>>) -> Self {
        Dispatcher { core }
    }
}

impl<C: Connection, A: Clone + Send + Sync + 'static> Dispatcher<C, A> {
    /// Sniffs `conn` on this thread, under the multiplexer's deadlines and
    /// byte limit, and delivers it: queued for a [`route`](crate::Mux::route)'s
    /// `Listener`, or served by an [`inline`](crate::Mux::route_inline)
    /// route's handler, which runs on this thread before `dispatch`
    /// returns. Returns the route that took it.
    ///
    /// A connection no route takes is closed, counted and reported to the
    /// [`on_event`](crate::Mux::on_event) callback with `peer`, as one
    /// `serve` accepted would be, and `Err` says why. It counts toward
    /// [`max_connections`](crate::MuxBuilder::max_connections) like one
    /// `serve` accepted, but at the limit it is refused with
    /// [`DropReason::TooManyConnections`] instead of waiting. The
    /// concurrent-sniff limit does not apply: you choose the threads.
    ///
    /// A sniff in progress is not interrupted by shutdown: it ends at its
    /// deadline, or when the client sends enough, and then reports
    /// [`DropReason::ShutDown`].
    ///
    /// ```
    /// use connmux::{matchers, memory, DropReason, Mux};
    /// use std::io::Write;
    ///
    /// let mut mux = Mux::new(memory::listener().0)?;
    /// let redis = mux.route(matchers::redis());
    /// let dispatcher = mux.dispatcher();
    ///
    /// let (mut client, server_end) = memory::pair();
    /// client.write_all(b"*1\r\n$4\r\nPING\r\n")?;
    /// assert_eq!(dispatcher.dispatch(server_end, memory::MemoryAddr(1))?, redis.route());
    ///
    /// let (mut client, server_end) = memory::pair();
    /// client.write_all(b"SSH-2.0-OpenSSH_9.6\r\n")?;
    /// let refused = dispatcher.dispatch(server_end, memory::MemoryAddr(2));
    /// assert!(matches!(refused, Err(DropReason::NotMatched)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`DropReason`] the connection was closed for when it reached no
    /// route: no route matched ([`NotMatched`](DropReason::NotMatched)),
    /// the sniff's time ran out ([`TimedOut`](DropReason::TimedOut),
    /// [`NoFirstByte`](DropReason::NoFirstByte)), its route could not take
    /// it ([`QueueFull`](DropReason::QueueFull),
    /// [`RouteClosed`](DropReason::RouteClosed)), reading failed
    /// ([`Io`](DropReason::Io)), the PROXY header was missing or bad
    /// ([`ProxyHeader`](DropReason::ProxyHeader)), a matcher panicked
    /// ([`MatcherPanicked`](DropReason::MatcherPanicked)), the
    /// open-connection limit was reached
    /// ([`TooManyConnections`](DropReason::TooManyConnections)), or the
    /// multiplexer is shutting down ([`ShutDown`](DropReason::ShutDown)).
    /// The connection is closed by then, and the event reported. An
    /// inline handler's own failures are not errors here: `dispatch`
    /// returns `Ok` once the handler returns (or panics).
    pub fn dispatch(&self, conn: C, peer: A) -> Result<RouteId, DropReason> {
        self.core.dispatch(conn, peer)
    }
}
