//! `Listener`: one route's accept handle, shaped like `TcpListener`.
//!
//! It pops matched connections from the route's queue. Handles are cheap
//! to clone and may be used from several threads at once; closing one (or
//! dropping the last clone) closes only its route.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::route::error::AcceptError;
use crate::route::id::RouteId;
use crate::route::shared::RouteShared;
use crate::route::stream::PeekableStream;
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
pub struct Listener<C = TcpStream, A = SocketAddr> {
    handle: Arc<HandleGuard<C, A>>,
}

/// Closes the route when the last clone of its `Listener` is dropped.
struct HandleGuard<C, A> {
    route: Arc<RouteShared<C, A>>,
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
        }
    }
}

impl<C, A: Clone> Listener<C, A> {
    pub(crate) fn new(route: Arc<RouteShared<C, A>>) -> Self {
        Listener {
            handle: Arc::new(HandleGuard { route }),
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
    /// the peer's address.
    ///
    /// Fails with [`AcceptError::Closed`] once this route's handle has been
    /// closed, and with [`AcceptError::ShutDown`] once the multiplexer has
    /// stopped and the connections queued before that have been handed out.
    pub fn accept(&self) -> Result<(PeekableStream<C>, A), AcceptError> {
        let route = self.route_shared();
        route
            .admit(route.queue().recv())
            .map_err(|_| self.closed_error())
    }

    /// Like [`accept`](Self::accept), but fails with
    /// [`AcceptError::TimedOut`] if nothing arrives within `timeout`.
    pub fn accept_timeout(&self, timeout: Duration) -> Result<(PeekableStream<C>, A), AcceptError> {
        let route = self.route_shared();
        match route.admit(route.queue().recv_timeout(timeout)) {
            Ok(accepted) => Ok(accepted),
            Err(RecvError::Empty) => Err(AcceptError::TimedOut),
            Err(RecvError::Closed) => Err(self.closed_error()),
        }
    }

    /// Returns a queued connection if there is one, without waiting.
    ///
    /// `Ok(None)` means none is queued right now.
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
    /// multiplexer stops (instead of yielding errors forever).
    pub fn incoming(&self) -> Incoming<'_, C, A> {
        Incoming { listener: self }
    }

    /// The address of the multiplexer's listener.
    pub fn local_addr(&self) -> io::Result<A> {
        Ok(self.route_shared().local_addr.clone())
    }

    /// Which route this handle accepts for.
    pub fn route(&self) -> RouteId {
        self.route_shared().id
    }

    /// How many matched connections are waiting to be accepted.
    pub fn queued(&self) -> usize {
        self.route_shared().queue().len()
    }

    /// Closes this route, for every clone of this handle: queued
    /// connections are closed now, later matches are closed with a
    /// [`DropReason::RouteClosed`](crate::DropReason::RouteClosed) event,
    /// and `accept` fails with [`AcceptError::Closed`]. Other routes and
    /// the multiplexer's listener are not affected.
    pub fn close(&self) {
        self.route_shared().close_by_handle();
    }

    /// Whether this route was closed by its handle or by shutdown.
    pub fn is_closed(&self) -> bool {
        self.route_shared().queue().is_closed()
    }
}

impl<C, A: fmt::Debug> fmt::Debug for Listener<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("route", &self.handle.route.id)
            .field("local_addr", &self.handle.route.local_addr)
            .finish_non_exhaustive()
    }
}

/// An iterator over a route's connections; see [`Listener::incoming`].
///
/// Its items are `io::Result` so that loops written for
/// `TcpListener::incoming` compile unchanged; it never yields an error, and
/// ends when the route is closed or the multiplexer stops.
pub struct Incoming<'a, C, A> {
    listener: &'a Listener<C, A>,
}

impl<C, A: Clone> Iterator for Incoming<'_, C, A> {
    type Item = io::Result<PeekableStream<C>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.listener.accept().ok().map(|(stream, _)| Ok(stream))
    }
}

impl<C, A: fmt::Debug> fmt::Debug for Incoming<'_, C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}
