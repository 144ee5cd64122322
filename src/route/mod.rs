//! Where a decided connection goes, and what the user holds: each route's
//! shared state (its queue of matched connections, or its inline handler),
//! the [`Listener`](listener::Listener) that accepts from it, and the
//! [`PeekableStream`](stream::PeekableStream) a handler reads, which
//! replays the sniffed bytes before the socket's.

pub(crate) mod error;
pub(crate) mod id;
pub(crate) mod listener;
pub(crate) mod shared;
pub(crate) mod stream;
pub(crate) mod target;
