//! The `Accept` trait: a source of connections, which a multiplexer's
//! sniffer threads take turns accepting from.
//!
//! `TcpListener` and `UnixListener` implement it, and so does the in-memory
//! [`MemoryListener`](crate::memory::MemoryListener) used by tests and
//! benches. Besides accepting, a source says how to wake the threads
//! blocked in its `accept`, which shutdown needs. On Linux, shutting a listening
//! socket down wakes every thread blocked in `accept` on it (with EINVAL)
//! and refuses connections from then on, so nothing a client sends can be
//! mistaken for the wake-up. Elsewhere the wake-up is one connection to the
//! listener's own address (tiny_http does the same), which a client
//! connecting at that instant can race; it wakes one thread, which wakes
//! the next the same way until none is left in `accept`.

use std::fmt;
use std::io;
#[cfg(not(target_os = "linux"))]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::proxy::PeerOrigin;
use crate::source::connection::Connection;

/// A function that makes every thread blocked in [`Accept::accept`] return
/// soon (with a connection or an error, either will do; one that wakes a
/// single thread is called again by the thread it woke while others are
/// left). The multiplexer keeps it until `serve` returns, or until the
/// [`Mux`](crate::Mux) is dropped unserved, and may call it more than once.
pub type WakeAccept = Box<dyn Fn() + Send + Sync>;

/// How long the shutdown wake-up connection may take to connect.
#[cfg(not(target_os = "linux"))]
const WAKE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A listener the multiplexer can accept connections from.
///
/// The listener must be in blocking mode (the default for std listeners).
/// Several sniffer threads call [`accept`](Accept::accept) at once, as
/// several threads may on one `TcpListener`, and each connection must go
/// to one of them: hence `Sync`. (A source that cannot be shared can be
/// wrapped in a `Mutex` by its `Accept` impl: the threads then take turns
/// in `accept`.)
///
/// ```
/// use connmux::Accept;
/// use std::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = Accept::local_addr(&listener).unwrap();
/// assert!(addr.ip().is_loopback());
/// ```
pub trait Accept: Send + Sync + 'static {
    /// The accepted connection type.
    type Conn: Connection;
    /// The peer and local address type.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;

    /// Blocks until a connection arrives and returns it with the peer's
    /// address.
    ///
    /// # Errors
    ///
    /// Whatever the source's own `accept` fails with. For sockets, a
    /// [`Mux`](crate::Mux) retries the transient errors (running out of
    /// descriptors or memory, a client that aborted), reporting each as
    /// [`Event::AcceptFailed`](crate::Event::AcceptFailed); any other error
    /// ends `serve`. A [`MemoryListener`](crate::memory::MemoryListener)
    /// fails with `NotConnected` once every connector has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::Accept;
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let client = TcpStream::connect(listener.local_addr()?)?;
    /// let (_server, peer) = Accept::accept(&listener)?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn accept(&self) -> io::Result<(Self::Conn, Self::Addr)>;

    /// The address this listener is bound to.
    ///
    /// # Errors
    ///
    /// When the source cannot tell: for sockets, when `getsockname` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Accept};
    ///
    /// let (listener, _connector) = memory::listener();
    /// assert_eq!(listener.local_addr()?, memory::MemoryAddr(0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn local_addr(&self) -> io::Result<Self::Addr>;

    /// A function that wakes the threads blocked in
    /// [`accept`](Accept::accept) on this listener; called from another
    /// thread at shutdown.
    ///
    /// Best, the wake-up is an error from `accept` (as shutting a socket
    /// down gives on Linux): a connection accepted after shutdown began is
    /// then known to be a client's, and is counted and reported as
    /// [`DropReason::ShutDown`](crate::DropReason::ShutDown).
    ///
    /// # Errors
    ///
    /// When the wake-up cannot be prepared: on Linux, when the listening
    /// socket's descriptor cannot be duplicated (`EMFILE`); elsewhere,
    /// when the listener's address cannot be read, or a `UnixListener` has
    /// no path to connect to (`InvalidInput`). [`Mux::new`](crate::Mux::new)
    /// and [`MuxBuilder::build`](crate::MuxBuilder::build) return it.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Accept};
    /// use std::thread;
    ///
    /// let (listener, _connector) = memory::listener();
    /// let wake = listener.wake_handle()?;
    /// let blocked = thread::spawn(move || listener.accept().map(drop));
    /// wake();
    /// assert!(blocked.join().unwrap().is_err()); // woken, with no connection
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn wake_handle(&self) -> io::Result<WakeAccept>;

    /// Makes [`accept`](Accept::accept) give up after `timeout` without a
    /// connection, failing with `WouldBlock` or `TimedOut` (`None`: wait
    /// for ever); `Ok(false)` if this source cannot, the default.
    ///
    /// A [`Mux`](crate::Mux) sets its
    /// [`idle_sniffer_timeout`](crate::MuxBuilder::idle_sniffer_timeout)
    /// here when serving starts, so that sniffer threads waiting in
    /// `accept` with nothing to do exit, and takes it off when `serve`
    /// returns. On a `TcpListener` or `UnixListener` it is the socket's
    /// `SO_RCVTIMEO`, which Linux applies to `accept`: a clone of the
    /// listener used elsewhere meanwhile times out too. Elsewhere, and for
    /// a source that cannot, the threads in `accept` stay until a
    /// connection or shutdown comes (at most 64 of them).
    ///
    /// # Errors
    ///
    /// When the timeout cannot be set: the listener's descriptor cannot
    /// be duplicated to set it (`EMFILE`), or the system refuses it.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::Accept;
    /// use std::io::ErrorKind;
    /// use std::net::TcpListener;
    /// use std::time::Duration;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// if listener.set_accept_timeout(Some(Duration::from_millis(10)))? {
    ///     let idle = Accept::accept(&listener).unwrap_err();
    ///     assert!(matches!(idle.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_accept_timeout(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let _ = timeout;
        Ok(false)
    }

    /// Where a peer with this address is, for deciding whether to believe
    /// its PROXY header (see
    /// [`MuxBuilder::trusted_proxies`](crate::MuxBuilder::trusted_proxies)).
    ///
    /// The default, for a source that cannot tell, is
    /// [`PeerOrigin::Unknown`], which only
    /// [`TrustedProxies::everyone`](crate::TrustedProxies::everyone)
    /// trusts. `TcpListener` gives the peer's IP address; `UnixListener`
    /// and in-memory listeners give [`PeerOrigin::Local`].
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{Accept, PeerOrigin};
    /// use std::net::TcpListener;
    ///
    /// let peer = "192.0.2.7:40000".parse()?;
    /// let origin = <TcpListener as Accept>::peer_origin(&peer);
    /// assert_eq!(origin, PeerOrigin::Ip("192.0.2.7".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn peer_origin(peer: &Self::Addr) -> PeerOrigin {
        let _ = peer;
        PeerOrigin::Unknown
    }

    /// Whether the source will never give another connection, asked
    /// after `accept` failed: a [`channel`](crate::channel) whose senders
    /// are all gone and whose backlog is empty. The multiplexer then ends
    /// as a graceful shutdown does: connections being sniffed finish
    /// their sniff and are routed, and `serve` returns `Ok(())`. A source
    /// that ends otherwise (a closed socket) is an error `serve` returns.
    ///
    /// The default, for a listening socket, is `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{channel, memory, Accept};
    ///
    /// let (sender, source) = channel::<memory::MemoryStream, _>(memory::MemoryAddr(0), 4);
    /// assert!(!source.has_ended());
    /// drop(sender);
    /// assert!(source.accept().is_err() && source.has_ended());
    /// ```
    fn has_ended(&self) -> bool {
        false
    }
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

    #[cfg(target_os = "linux")]
    fn set_accept_timeout(&self, timeout: Option<Duration>) -> io::Result<bool> {
        // Another descriptor of the same socket, as a stream: std sets
        // SO_RCVTIMEO on streams only.
        let socket = TcpStream::from(std::os::fd::OwnedFd::from(self.try_clone()?));
        socket.set_read_timeout(timeout)?;
        Ok(true)
    }

    #[cfg(target_os = "linux")]
    fn wake_handle(&self) -> io::Result<WakeAccept> {
        let listening = TcpStream::from(std::os::fd::OwnedFd::from(self.try_clone()?));
        Ok(wake_by_shutdown(listening))
    }

    #[cfg(not(target_os = "linux"))]
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

    fn peer_origin(peer: &SocketAddr) -> PeerOrigin {
        PeerOrigin::Ip(peer.ip())
    }
}

/// Wakes the threads blocked in `accept` on the listening socket that
/// `listening` is a second descriptor of, by shutting it down; the
/// descriptor is closed when the returned function is dropped.
#[cfg(target_os = "linux")]
fn wake_by_shutdown(listening: impl Connection) -> WakeAccept {
    Box::new(move || {
        // A socket that is no longer listening has no accept to wake.
        let _ = Connection::shutdown(&listening, std::net::Shutdown::Both);
    })
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

    #[cfg(target_os = "linux")]
    fn set_accept_timeout(&self, timeout: Option<Duration>) -> io::Result<bool> {
        // As for TCP.
        let socket =
            std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(self.try_clone()?));
        socket.set_read_timeout(timeout)?;
        Ok(true)
    }

    #[cfg(target_os = "linux")]
    fn wake_handle(&self) -> io::Result<WakeAccept> {
        let listening =
            std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(self.try_clone()?));
        Ok(wake_by_shutdown(listening))
    }

    #[cfg(not(target_os = "linux"))]
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

    fn peer_origin(_: &Self::Addr) -> PeerOrigin {
        PeerOrigin::Local
    }
}
