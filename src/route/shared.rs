//! One route's shared state: its queue of matched connections,
//! and whether its handle closed it.
//!
//! The multiplexer's sniffers push into the queue; the route's `Listener`
//! handles pop from it. Closing the handle closes only this route.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::route::id::RouteId;
use crate::route::stream::PeekableStream;
use crate::sync::limit::ConnectionLimit;
use crate::sync::queue::{Queue, RecvError, TrySendError};

/// Why a matched connection could not be queued for its route.
pub(crate) enum HandOffError<T> {
    /// The route's queue is full.
    Full(T),
    /// The route's handle was closed.
    RouteClosed(T),
    /// The multiplexer is shutting down.
    ShutDown(T),
}

/// State shared by the multiplexer and a route's `Listener` handles.
pub(crate) struct RouteShared<C, A> {
    pub(crate) id: RouteId,
    /// The multiplexer's local address, for `Listener::local_addr`.
    pub(crate) local_addr: A,
    queue: Queue<(PeekableStream<C>, A)>,
    /// The open-connection limit: a queued connection holds no place
    /// under it, and takes one when a handle accepts it.
    connections: Arc<ConnectionLimit>,
    closed_by_handle: AtomicBool,
    routed: AtomicU64,
}

impl<C, A> RouteShared<C, A> {
    pub(crate) fn new(
        id: RouteId,
        local_addr: A,
        queue_capacity: usize,
        connections: Arc<ConnectionLimit>,
    ) -> Self {
        RouteShared {
            id,
            local_addr,
            queue: Queue::new(queue_capacity),
            connections,
            closed_by_handle: AtomicBool::new(false),
            routed: AtomicU64::new(0),
        }
    }

    pub(crate) fn queue(&self) -> &Queue<(PeekableStream<C>, A)> {
        &self.queue
    }

    /// Gives a connection taken from the queue by a handle its place
    /// under the open-connection limit.
    pub(crate) fn admit(
        &self,
        received: Result<(PeekableStream<C>, A), RecvError>,
    ) -> Result<(PeekableStream<C>, A), RecvError> {
        received.map(|(mut stream, peer)| {
            stream.hold_permit(self.connections.admit());
            (stream, peer)
        })
    }

    /// Queues a matched connection for the route's handles; it holds no
    /// place under the open-connection limit while it waits there.
    // The stream comes back by value, as a queue's `try_send` gives it
    // back: boxing it would cost an allocation per connection handed off.
    #[allow(clippy::result_large_err)]
    pub(crate) fn hand_off(
        &self,
        stream: PeekableStream<C>,
        peer: A,
    ) -> Result<(), HandOffError<(PeekableStream<C>, A)>> {
        // Counted before the connection is queued: once queued, a handle
        // may accept and serve it, and the client read its reply, before
        // this thread runs again; stats must not lag behind what a client
        // has seen.
        self.routed.fetch_add(1, Ordering::Relaxed);
        let refused = match self.queue.try_send((stream, peer)) {
            Ok(()) => return Ok(()),
            Err(refused) => refused,
        };
        self.routed.fetch_sub(1, Ordering::Relaxed);
        match refused {
            TrySendError::Full(item) => Err(HandOffError::Full(item)),
            TrySendError::Closed(item) if self.is_closed_by_handle() => {
                Err(HandOffError::RouteClosed(item))
            }
            TrySendError::Closed(item) => Err(HandOffError::ShutDown(item)),
        }
    }

    /// How many connections this route has been handed.
    pub(crate) fn routed(&self) -> u64 {
        self.routed.load(Ordering::Relaxed)
    }

    /// Closes the route from its handle: queued connections are closed now
    /// and future ones are refused.
    pub(crate) fn close_by_handle(&self) {
        self.closed_by_handle.store(true, Ordering::SeqCst);
        drop(self.queue.close_and_drain());
    }

    /// Closes the route because the multiplexer stops: handles still
    /// receive what is queued.
    pub(crate) fn close_for_shutdown(&self) {
        self.queue.close();
    }

    pub(crate) fn is_closed_by_handle(&self) -> bool {
        self.closed_by_handle.load(Ordering::SeqCst)
    }
}
