//! `PeekableStream`: the connection a route's handler receives.
//!
//! It owns the socket and the bytes the sniff read. `Read` hands out those
//! bytes first, exactly once and in order, then whatever end the sniff saw
//! (EOF or an error), and from then on reads the socket directly with no
//! copy and no lock. Everything else (`Write`, addresses, timeouts,
//! shutdown, the raw descriptor) goes straight to the socket.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::matchers::{
    client_hello_info, http1_request, http2_request, ClientHelloInfo, Http1Request, Http2Request,
};
use crate::proxy::ProxyHeader;
use crate::route::id::RouteId;
use crate::sniff::replay::Replay;
use crate::source::connection::Connection;
use crate::sync::limit::ConnectionPermit;
use crate::sync::lock::{lock, unpoisoned};

/// Where the sniffed bytes live.
enum ReplaySlot {
    /// This stream alone owns them.
    Owned(Replay),
    /// Shared with clones made by `try_clone`, so that each sniffed byte is
    /// still read exactly once across all of them.
    Shared(Arc<Mutex<Replay>>),
}

impl ReplaySlot {
    fn read(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        match self {
            ReplaySlot::Owned(replay) => replay.read(buf),
            ReplaySlot::Shared(replay) => lock(replay).read(buf),
        }
    }

    /// Makes the replay shareable and returns a slot for a clone.
    fn share(&mut self) -> ReplaySlot {
        let placeholder = ReplaySlot::Owned(Replay::new(Vec::new(), None));
        let shared = match std::mem::replace(self, placeholder) {
            ReplaySlot::Owned(replay) => Arc::new(Mutex::new(replay)),
            ReplaySlot::Shared(shared) => shared,
        };
        *self = ReplaySlot::Shared(Arc::clone(&shared));
        ReplaySlot::Shared(shared)
    }

    fn with_replay<R>(&self, inspect: impl FnOnce(&Replay) -> R) -> R {
        match self {
            ReplaySlot::Owned(replay) => inspect(replay),
            ReplaySlot::Shared(replay) => inspect(&lock(replay)),
        }
    }

    fn into_parts(self) -> (Vec<u8>, Option<io::Error>) {
        match self {
            ReplaySlot::Owned(replay) => replay.into_parts(),
            ReplaySlot::Shared(shared) => {
                std::mem::replace(&mut *lock(&shared), Replay::new(Vec::new(), None)).into_parts()
            }
        }
    }
}

/// A connection handed to a route, with the sniffed bytes still in front
/// of it.
///
/// It reads like the `TcpStream` (or `UnixStream`, or
/// [`MemoryStream`](crate::memory::MemoryStream)) it wraps: the first reads
/// return the bytes the multiplexer sniffed, exactly once and in order; if
/// the client had already closed or failed during the sniff, the next read
/// reports that (`Ok(0)` or the error); after that, reads go to the socket.
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::io::{Read, Write};
/// use std::net::{TcpListener, TcpStream};
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let http = mux.route(matchers::http1_fast());
/// let addr = mux.local_addr()?;
/// let handle = mux.handle();
/// let server = std::thread::spawn(move || mux.serve());
///
/// let mut client = TcpStream::connect(addr)?;
/// client.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
/// client.shutdown(std::net::Shutdown::Write)?;
///
/// let (mut stream, peer) = http.accept()?;
/// assert_eq!(peer, client.local_addr()?);
/// let mut request = String::new();
/// stream.read_to_string(&mut request)?;
/// assert_eq!(request, "GET / HTTP/1.0\r\n\r\n");
/// stream.write_all(b"HTTP/1.0 204 No Content\r\n\r\n")?;
///
/// handle.shutdown();
/// server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// In declaration order (`repr(C)`): with the order the compiler picks,
// moving the stream to an inline handler copies its small fields in odd
// pieces that stall the later wide reloads (dispatch bench: ~7 ns per
// connection).
#[repr(C)]
pub struct PeekableStream<C = TcpStream> {
    conn: C,
    /// Set once this handle has read all of the replay: reads then go
    /// straight to the connection, with no lock. (Next to `conn`: a read
    /// after the replay touches these two fields alone.)
    replay_drained: bool,
    replay: Mutex<ReplaySlot>,
    route: RouteId,
    /// Boxed: rare, and the stream stays small to move.
    proxy_header: Option<Box<ProxyHeader>>,
    accepted_at: Instant,
    /// Its place under the open-connection limit, freed on drop.
    _permit: Option<ConnectionPermit>,
}

/// What the multiplexer knows of a connection besides its bytes.
pub(crate) struct Arrival {
    pub(crate) proxy_header: Option<Box<ProxyHeader>>,
    pub(crate) accepted_at: Instant,
    pub(crate) permit: Option<ConnectionPermit>,
}

/// The parts of a [`PeekableStream`]: see
/// [`PeekableStream::into_parts`].
#[derive(Debug)]
#[non_exhaustive]
pub struct StreamParts<C> {
    /// The connection itself.
    pub conn: C,
    /// Sniffed bytes the handler had not read yet.
    pub unread: Vec<u8>,
    /// A read error the sniff hit after those bytes, not yet reported.
    /// (An end of stream needs no such field: the connection reports it
    /// again on its next read.)
    pub pending_error: Option<io::Error>,
}

impl<C> PeekableStream<C> {
    // Always inlined: passed through memory, the replay is stored in one
    // shape and loaded in another, and the CPU stalls on the reload
    // (`perf annotate` on the dispatch bench: inlining took ~10 ns off a
    // dispatched connection).
    #[inline(always)]
    pub(crate) fn new(conn: C, replay: Replay, route: RouteId, arrival: Arrival) -> Self {
        PeekableStream {
            conn,
            replay: Mutex::new(ReplaySlot::Owned(replay)),
            replay_drained: false,
            route,
            proxy_header: arrival.proxy_header,
            accepted_at: arrival.accepted_at,
            _permit: arrival.permit,
        }
    }

    /// Gives the stream its place under the open-connection limit, freed
    /// when it is dropped.
    pub(crate) fn hold_permit(&mut self, permit: ConnectionPermit) {
        self._permit = Some(permit);
    }

    /// When the multiplexer accepted the connection, before the sniff:
    /// for logs that report a connection's whole duration.
    pub fn accepted_at(&self) -> Instant {
        self.accepted_at
    }

    /// The route that matched this connection.
    pub fn route(&self) -> RouteId {
        self.route
    }

    /// The PROXY protocol header the connection started with, when the
    /// multiplexer is set to expect one
    /// ([`MuxBuilder::proxy_protocol`](crate::MuxBuilder::proxy_protocol)):
    /// the real client's address as the load balancer saw it. The header's
    /// bytes are not part of what the handler reads.
    pub fn proxy_header(&self) -> Option<&ProxyHeader> {
        self.proxy_header.as_deref()
    }

    /// The TLS ClientHello the client opened with: the highest version it
    /// offers, its SNI host name and its ALPN list; `None` if the sniffed
    /// bytes do not hold a whole, valid ClientHello.
    ///
    /// A route that matched on SNI or ALPN has read the whole ClientHello;
    /// after a plain [`tls`](crate::matchers::tls) match it is there when
    /// it arrived in the sniff's first reads, as it does from real clients.
    pub fn tls_client_hello(&self) -> Option<ClientHelloInfo> {
        self.with_sniffed(client_hello_info)
    }

    /// The HTTP/1 request line (method, target, version) and, once the
    /// sniff read the whole head, the Host field (none if the request has
    /// two); `None` if the sniffed bytes do not start with a whole request
    /// line.
    pub fn http1_request(&self) -> Option<Http1Request> {
        self.with_sniffed(http1_request)
    }

    /// The HTTP/2 request's `:method`, `:scheme`, `:authority`, `:path` and
    /// `content-type`; `None` unless the sniff read the whole first header
    /// block and its header list is at most
    /// [`DEFAULT_MAX_HEADER_LIST_SIZE`](crate::matchers::DEFAULT_MAX_HEADER_LIST_SIZE)
    /// (see [`http2_request`](crate::matchers::http2_request)). An HTTP/2
    /// header or gRPC match does not guarantee either: it decides at the
    /// field it looks for.
    pub fn http2_request(&self) -> Option<Http2Request> {
        self.with_sniffed(http2_request)
    }

    /// How many sniffed bytes have not been read yet.
    pub fn unread_len(&self) -> usize {
        lock(&self.replay).with_replay(|replay| replay.unread().len())
    }

    /// Runs `inspect` on every byte the sniff read (whether or not the
    /// handler has read them since): the bytes the routes judged, which
    /// any matcher's parsing functions can look at again.
    ///
    /// ```
    /// # use connmux::{matchers, memory, Mux};
    /// # use std::io::{Read, Write};
    /// # let (source, connector) = memory::listener();
    /// # let mut mux = Mux::new(source).unwrap();
    /// # let http = mux.route(matchers::http1_fast());
    /// # let handle = mux.handle();
    /// # let server = std::thread::spawn(move || mux.serve());
    /// # connector.connect().unwrap().write_all(b"GET /status HTTP/1.1\r\n\r\n").unwrap();
    /// let (mut stream, _) = http.accept().unwrap();
    /// let mut all = Vec::new();
    /// stream.read_to_end(&mut all).unwrap();
    /// // Still there after the handler read them:
    /// assert!(stream.with_sniffed(|bytes| bytes.starts_with(b"GET /status")));
    /// # handle.shutdown();
    /// # server.join().unwrap().unwrap();
    /// ```
    pub fn with_sniffed<R>(&self, inspect: impl FnOnce(&[u8]) -> R) -> R {
        lock(&self.replay).with_replay(|replay| inspect(replay.sniffed()))
    }

    /// The underlying connection. Reading from it directly skips the
    /// sniffed bytes not read yet (see [`unread_len`](Self::unread_len)).
    pub fn get_ref(&self) -> &C {
        &self.conn
    }

    /// The underlying connection, mutably; the same caution as
    /// [`get_ref`](Self::get_ref) applies.
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.conn
    }

    /// Takes the connection and the unread sniffed bytes back out, for a
    /// handler that wants to manage them itself (to hand the socket to
    /// another library, say). The connection then no longer counts
    /// toward [`MuxBuilder::max_connections`](crate::MuxBuilder::max_connections).
    ///
    /// ```
    /// use connmux::memory;
    /// # use connmux::{matchers, Mux};
    /// # use std::io::{Read, Write};
    /// # let (source, connector) = memory::listener();
    /// # let mut mux = Mux::new(source).unwrap();
    /// # let any = mux.route(matchers::any());
    /// # let handle = mux.handle();
    /// # let server = std::thread::spawn(move || mux.serve());
    /// # let mut client = connector.connect().unwrap();
    /// # client.write_all(b"hello").unwrap();
    /// let (mut stream, _peer) = any.accept().unwrap();
    /// let mut first = [0u8; 2];
    /// stream.read_exact(&mut first).unwrap();
    /// let parts = stream.into_parts();
    /// // Exactly the sniffed bytes not read yet; the rest is in parts.conn.
    /// assert!(b"llo".starts_with(&parts.unread));
    /// # handle.shutdown();
    /// # server.join().unwrap().unwrap();
    /// ```
    pub fn into_parts(self) -> StreamParts<C> {
        let replay = unpoisoned(self.replay.into_inner());
        let (unread, pending_error) = replay.into_parts();
        StreamParts {
            conn: self.conn,
            unread,
            pending_error,
        }
    }

    /// A stream over `conn`, a clone of this one's connection, sharing the
    /// unread sniffed bytes so that each is read once across the clones.
    fn clone_with(&self, conn: C) -> PeekableStream<C> {
        PeekableStream {
            conn,
            replay: Mutex::new(lock(&self.replay).share()),
            replay_drained: self.replay_drained,
            route: self.route,
            proxy_header: self.proxy_header.clone(),
            accepted_at: self.accepted_at,
            _permit: None,
        }
    }
}

impl<C: Connection> PeekableStream<C> {
    /// Shuts down the read half, the write half, or both, as
    /// `TcpStream::shutdown` does.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.conn.shutdown(how)
    }

    /// Sets how long a read from the connection may block (replayed bytes
    /// never block); `None` blocks forever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.set_read_timeout(timeout)
    }
}

/// The methods `TcpStream` and `UnixStream` share, forwarded to the
/// socket, for `PeekableStream<$stream>`.
macro_rules! socket_methods {
    ($stream:ty, $addr:ty) => {
        impl PeekableStream<$stream> {
            /// The remote peer's address.
            pub fn peer_addr(&self) -> io::Result<$addr> {
                self.conn.peer_addr()
            }

            /// The local address of this connection.
            pub fn local_addr(&self) -> io::Result<$addr> {
                self.conn.local_addr()
            }

            /// The read timeout; `None` blocks forever.
            pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
                self.conn.read_timeout()
            }

            /// Sets how long a write may block; `None` blocks forever.
            pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                self.conn.set_write_timeout(timeout)
            }

            /// The write timeout; `None` blocks forever.
            pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
                self.conn.write_timeout()
            }

            /// Takes the socket's pending error (`SO_ERROR`), if any.
            pub fn take_error(&self) -> io::Result<Option<io::Error>> {
                self.conn.take_error()
            }

            /// A second handle to the same connection, as the socket's own
            /// `try_clone`. The clones share the unread sniffed bytes: each
            /// is read once, by whichever clone reads first.
            pub fn try_clone(&self) -> io::Result<PeekableStream<$stream>> {
                Ok(self.clone_with(self.conn.try_clone()?))
            }
        }
    };
}

socket_methods!(TcpStream, SocketAddr);
#[cfg(unix)]
socket_methods!(
    std::os::unix::net::UnixStream,
    std::os::unix::net::SocketAddr
);

impl PeekableStream<TcpStream> {
    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.conn.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.conn.nodelay()
    }

    /// Sets the IP time-to-live of outgoing packets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.conn.set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.conn.ttl()
    }
}

impl<C: Read> Read for PeekableStream<C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.replay_drained {
            let slot = unpoisoned(self.replay.get_mut());
            match slot.read(buf) {
                Some(served) => return served,
                None => self.replay_drained = true,
            }
        }
        self.conn.read(buf)
    }
}

impl<C: Write> Write for PeekableStream<C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.conn.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.conn.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.flush()
    }
}

impl<C: fmt::Debug> fmt::Debug for PeekableStream<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeekableStream")
            .field("conn", &self.conn)
            .field("route", &self.route)
            .field("unread_len", &self.unread_len())
            .finish()
    }
}

#[cfg(unix)]
impl<C: std::os::fd::AsRawFd> std::os::fd::AsRawFd for PeekableStream<C> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.conn.as_raw_fd()
    }
}

#[cfg(unix)]
impl<C: std::os::fd::AsFd> std::os::fd::AsFd for PeekableStream<C> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.conn.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory;
    use crate::sniff::replay::StreamEnd;

    fn arrival() -> Arrival {
        Arrival {
            proxy_header: None,
            accepted_at: Instant::now(),
            permit: None,
        }
    }

    fn stream_with(
        sniffed: &[u8],
        end: Option<StreamEnd>,
    ) -> (PeekableStream<memory::MemoryStream>, memory::MemoryStream) {
        let (client, server) = memory::pair();
        let replay = Replay::new(sniffed.to_vec(), end);
        (
            PeekableStream::new(server, replay, RouteId(3), arrival()),
            client,
        )
    }

    #[test]
    fn replay_then_socket_in_order() {
        let (mut stream, mut client) = stream_with(b"sniffed-", None);
        client.write_all(b"live").unwrap();
        drop(client);
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"sniffed-live");
        assert_eq!(stream.route(), RouteId(3));
    }

    #[test]
    fn eof_seen_during_sniff_comes_after_the_bytes() {
        let (mut stream, _client) = stream_with(b"abc", Some(StreamEnd::Eof));
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"abc");
    }

    #[test]
    fn clones_share_the_replay() {
        let (client, server) = memory::pair();
        drop(client);
        let mut original = PeekableStream::new(
            &server,
            Replay::new(b"0123456789".to_vec(), None),
            RouteId(0),
            arrival(),
        );
        let mut first = [0u8; 4];
        original.read_exact(&mut first).unwrap();
        let mut clone = original.clone_with(&server);
        let mut middle = [0u8; 3];
        clone.read_exact(&mut middle).unwrap();
        let mut rest = Vec::new();
        original.read_to_end(&mut rest).unwrap();
        assert_eq!((&first, &middle, &rest[..]), (b"0123", b"456", &b"789"[..]));
        assert_eq!(clone.read(&mut middle).unwrap(), 0);
        assert_eq!(clone.unread_len(), 0);
    }

    #[test]
    fn into_parts_after_partial_read() {
        let (mut stream, _client) = stream_with(b"hello", None);
        let mut two = [0u8; 2];
        stream.read_exact(&mut two).unwrap();
        assert_eq!(stream.unread_len(), 3);
        let parts = stream.into_parts();
        assert_eq!(parts.unread, b"llo");
        assert!(parts.pending_error.is_none());
    }

    #[test]
    fn writes_and_shutdown_reach_the_connection() {
        let (mut stream, mut client) = stream_with(b"", None);
        stream.write_all(b"out").unwrap();
        stream.flush().unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"out");
        stream
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        assert_eq!(
            stream.read(&mut [0u8; 1]).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }
}
