//! Where connections come from: the [`Accept`](accept::Accept) sources a
//! multiplexer listens on (`TcpListener`, `UnixListener`, the in-memory
//! listener of [`memory`]), how each wakes a thread blocked in its
//! `accept`, and the [`Connection`](connection::Connection) it yields;
//! connections the program hands over ([`channel`]); and connections
//! that need a layer (a TLS session) set up before they are sniffed
//! ([`layered`]).

pub(crate) mod accept;
pub(crate) mod channel;
pub(crate) mod clock;
pub(crate) mod connection;
pub(crate) mod layered;
pub mod memory;
