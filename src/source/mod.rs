//! Where connections come from: the [`Accept`](accept::Accept) sources a
//! multiplexer listens on (`TcpListener`, `UnixListener`, the in-memory
//! listener of [`memory`]), how each wakes a thread blocked in its
//! `accept`, and the [`Connection`](connection::Connection) it yields.

pub(crate) mod accept;
pub(crate) mod connection;
pub mod memory;
