//! Where a route's matched connections go: queued for the route's
//! `Listener` handles, or handled inline by a function on the sniffer
//! thread that matched them (no queue hop, no second thread).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::route::id::RouteId;
use crate::route::shared::RouteShared;
use crate::route::stream::PeekableStream;

/// A function that serves one connection of an inline route.
pub(crate) type InlineHandler<C, A> = Box<dyn Fn(PeekableStream<C>, A) + Send + Sync>;

/// One route's destination.
pub(crate) enum RouteTarget<C, A> {
    /// Queued for the route's `Listener` handles.
    Queue(Arc<RouteShared<C, A>>),
    /// Served by `handler` on the sniffer thread.
    Inline {
        id: RouteId,
        handler: InlineHandler<C, A>,
        routed: AtomicU64,
    },
}

impl<C, A> RouteTarget<C, A> {
    /// How many connections this route has been given.
    pub(crate) fn routed(&self) -> u64 {
        match self {
            RouteTarget::Queue(shared) => shared.routed(),
            RouteTarget::Inline { routed, .. } => routed.load(Ordering::Relaxed),
        }
    }

    /// Closes a queue route because the multiplexer stops; inline routes
    /// have nothing to close.
    pub(crate) fn close_for_shutdown(&self) {
        if let RouteTarget::Queue(shared) = self {
            shared.close_for_shutdown();
        }
    }
}
