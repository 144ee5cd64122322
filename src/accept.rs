//! The `Accept` trait: a source of connections for the accept loop.
//!
//! `TcpListener` and `UnixListener` implement it, and so does the in-memory
//! [`MemoryListener`](crate::memory::MemoryListener) used by tests and
//! benches. Besides accepting, a source says how to wake a thread blocked
//! in its `accept`, which shutdown needs: for sockets that is one connection
//! to the listener's own address (tiny_http does the same).

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::connection::Connection;

/// A function that makes a thread blocked in [`Accept::accept`] return soon
/// (with a connection or an error, either will do).
pub type WakeAccept = Box<dyn Fn() + Send + Sync>;

/// How long the shutdown wake-up connection may take to connect.
const WAKE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A listener the multiplexer can accept connections from.
///
/// The listener must be in blocking mode (the default for std listeners).
///
/// ```
/// use connmux::Accept;
/// use std::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = Accept::local_addr(&listener).unwrap();
/// assert!(addr.ip().is_loopback());
/// ```
pub trait Accept: Send + 'static {
    /// The accepted connection type.
    type Conn: Connection;
    /// The peer and local address type.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;

    /// Blocks until a connection arrives and returns it with the peer's
    /// address.
    fn accept(&self) -> io::Result<(Self::Conn, Self::Addr)>;

    /// The address this listener is bound to.
    fn local_addr(&self) -> io::Result<Self::Addr>;

    /// A function that wakes a thread blocked in [`accept`](Accept::accept)
    /// on this listener; called once, from another thread, at shutdown.
    fn wake_handle(&self) -> io::Result<WakeAccept>;
}

impl Accept for TcpListener {
    type Conn = TcpStream;
    type Addr = SocketAddr;

    fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        TcpListener::accept(self)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpListener::local_addr(self)
    }

    fn wake_handle(&self) -> io::Result<WakeAccept> {
        let mut target = TcpListener::local_addr(self)?;
        if target.ip().is_unspecified() {
            target.set_ip(match target.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Ok(Box::new(move || {
            // The accept loop drops this connection once it sees the
            // shutdown flag; a failed connect means accept is not blocked
            // on a live listener, so there is nothing to wake.
            let _ = TcpStream::connect_timeout(&target, WAKE_CONNECT_TIMEOUT);
        }))
    }
}

#[cfg(unix)]
impl Accept for std::os::unix::net::UnixListener {
    type Conn = std::os::unix::net::UnixStream;
    type Addr = std::os::unix::net::SocketAddr;

    fn accept(&self) -> io::Result<(Self::Conn, Self::Addr)> {
        std::os::unix::net::UnixListener::accept(self)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        std::os::unix::net::UnixListener::local_addr(self)
    }

    fn wake_handle(&self) -> io::Result<WakeAccept> {
        let target = std::os::unix::net::UnixListener::local_addr(self)?;
        if target.is_unnamed() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an unnamed UNIX listener cannot be woken at shutdown; bind it to a path",
            ));
        }
        Ok(Box::new(move || {
            // As for TCP: the accept loop drops this connection.
            let _ = std::os::unix::net::UnixStream::connect_addr(&target);
        }))
    }
}
