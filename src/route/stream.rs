//! `PeekableStream`: the connection a route's handler receives.
//!
//! It owns the socket and the bytes the sniff read. `Read` hands out those
//! bytes first, exactly once and in order, then whatever end the sniff saw
//! (EOF or an error), and from then on reads the socket directly with no
//! copy and no lock. Everything else (`Write`, addresses, timeouts,
//! shutdown, the raw descriptor) goes straight to the socket.
//!
//! The replay sits behind a lock so that the stream can be read through
//! `&self` (as `&TcpStream` can); the lock is held for a copy of replayed
//! bytes at most, never while a user's code runs, and after the replay is
//! drained a read takes no lock at all.

use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use crate::address::Addresses;
use crate::matchers::{
    client_hello_info, http1_request, http2_request, ClientHelloInfo, Http1Request, Http2Request,
};
use crate::proxy::ProxyHeader;
use crate::route::id::RouteId;
use crate::sniff::buffer;
use crate::sniff::replay::Replay;
use crate::sniff::trace::DecisionTrace;
use crate::source::clock::Clock;
use crate::source::connection::Connection;
use crate::source::memory::MemoryStream;
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

    /// How many sniffed bytes are unread, if that is known without waiting
    /// for a lock.
    fn try_unread_len(&self) -> Option<usize> {
        match self {
            ReplaySlot::Owned(replay) => Some(replay.unread().len()),
            ReplaySlot::Shared(replay) => try_lock(replay).map(|replay| replay.unread().len()),
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

/// Locks `mutex` if no one holds it, poisoned or not.
fn try_lock<T>(mutex: &Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
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
///
/// # Socket options
///
/// The socket's own methods are forwarded: for `PeekableStream<TcpStream>`
/// and `PeekableStream<UnixStream>` alike, except `peek`, `nodelay` and the
/// TTL, which are TCP's alone. This example routes a connection it accepted
/// itself, with a [`Dispatcher`](crate::Dispatcher), so that everything
/// runs on one thread:
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::io::{Read, Write};
/// use std::net::{Shutdown, TcpListener, TcpStream};
/// use std::time::Duration;
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let ssh = mux.route(matchers::ssh());
/// let dispatcher = mux.dispatcher();
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let mut client = TcpStream::connect(listener.local_addr()?)?;
/// client.write_all(b"SSH-2.0-client\r\n")?;
/// let (conn, peer) = listener.accept()?;
/// dispatcher.dispatch(conn, peer)?;
/// let (mut stream, _) = ssh.accept()?;
///
/// assert_eq!(stream.peer_addr()?, client.local_addr()?);
/// assert_eq!(stream.local_addr()?, listener.local_addr()?);
/// stream.set_read_timeout(Some(Duration::from_secs(5)))?;
/// assert_eq!(stream.read_timeout()?, Some(Duration::from_secs(5)));
/// stream.set_write_timeout(Some(Duration::from_secs(5)))?;
/// assert_eq!(stream.write_timeout()?, Some(Duration::from_secs(5)));
/// stream.set_nodelay(true)?;
/// assert!(stream.nodelay()?);
/// stream.set_ttl(64)?;
/// assert_eq!(stream.ttl()?, 64);
/// assert!(stream.take_error()?.is_none());
///
/// let mut head = [0u8; 4];
/// assert_eq!(stream.peek(&mut head)?, 4); // the sniffed bytes, left in place
/// assert_eq!(&head, b"SSH-");
/// stream.read_exact(&mut head)?;
/// assert_eq!(&head, b"SSH-");
/// stream.write_all(b"SSH-2.0-server\r\n")?;
/// stream.shutdown(Shutdown::Write)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # What the sniff learned
///
/// The route that took the connection, and what its first bytes said:
///
/// ```
/// use connmux::{matchers, memory, Mux};
/// use std::io::Write;
///
/// let (source, _unused) = memory::listener();
/// let mut mux = Mux::new(source)?;
/// let http = mux.route(matchers::http1());
/// let dispatcher = mux.dispatcher();
/// let (mut client, conn) = memory::pair();
/// let head = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
/// client.write_all(head)?;
/// dispatcher.dispatch(conn, memory::MemoryAddr(7))?;
/// let (mut stream, _) = http.accept()?;
///
/// assert_eq!(stream.route(), http.route());
/// assert!(stream.accepted_at().elapsed().as_secs() < 60);
/// let request = stream.http1_request().unwrap();
/// assert_eq!((request.method.as_str(), request.target.as_str()), ("GET", "/index.html"));
/// assert_eq!(request.host.as_deref(), Some("example.com"));
/// assert!(stream.tls_client_hello().is_none() && stream.http2_request().is_none());
/// assert!(stream.proxy_header().is_none()); // no PROXY protocol configured
/// assert_eq!(stream.unread_len(), head.len()); // all sniffed, none read yet
/// assert!(stream.get_ref().read_timeout().is_none());
/// stream.get_mut().set_read_timeout(None)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Reading and writing from two threads
///
/// As with `&TcpStream`, one thread can read through `&stream` while
/// another writes through it (over `TcpStream`, `UnixStream` or
/// `MemoryStream`):
///
/// ```
/// use connmux::{matchers, memory, Mux};
/// use std::io::{Read, Write};
///
/// let (source, _unused) = memory::listener();
/// let mut mux = Mux::new(source)?;
/// let hello = mux.route(matchers::prefixes(["HELLO"]));
/// let dispatcher = mux.dispatcher();
/// let (mut client, conn) = memory::pair();
/// client.write_all(b"HELLO server")?;
/// client.shutdown(std::net::Shutdown::Write)?;
/// dispatcher.dispatch(conn, memory::MemoryAddr(1))?;
/// let (stream, _) = hello.accept()?;
///
/// std::thread::scope(|scope| {
///     let reader = scope.spawn(|| {
///         let mut request = String::new();
///         (&stream).read_to_string(&mut request).map(|_| request)
///     });
///     (&stream).write_all(b"HELLO client")?;
///     assert_eq!(reader.join().unwrap()?, "HELLO server");
///     Ok::<(), std::io::Error>(())
/// })?;
/// drop(stream);
/// let mut reply = String::new();
/// client.read_to_string(&mut reply)?;
/// assert_eq!(reply, "HELLO client");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Parity with `TcpStream`
///
/// | `std::net::TcpStream` | `PeekableStream<TcpStream>` |
/// |---|---|
/// | `Read`, `Read for &TcpStream` | the same, sniffed bytes first |
/// | `Write`, `Write for &TcpStream` | the same, straight to the socket |
/// | `peek` | [`peek`](Self::peek): unread sniffed bytes first, then the socket's `peek` |
/// | `set_nonblocking` | [`set_nonblocking`](Self::set_nonblocking): sniffed bytes first, then `WouldBlock` |
/// | `peer_addr`, `local_addr`, `shutdown`, `take_error` | the same |
/// | `set_read_timeout`, `read_timeout` | the same; sniffed bytes never wait |
/// | `set_write_timeout`, `write_timeout`, `set_nodelay`, `nodelay`, `set_ttl`, `ttl` | the same |
/// | `try_clone` | the same; the clones share the unread sniffed bytes |
/// | `AsFd`, `AsRawFd` | the same |
/// | `IntoRawFd`, `From<TcpStream> for OwnedFd` | not offered: [`into_inner`](Self::into_inner), then the socket's own |
/// | the `TcpStream` itself | [`into_inner`](Self::into_inner) or `TryFrom` once the sniffed bytes are read; [`into_parts`](Self::into_parts) always |
/// | `connect`, `connect_timeout` | none: a stream comes from a [`Listener`](crate::Listener) |
/// | `AsSocket`, `AsRawSocket` (Windows) | not yet: [`get_ref`](Self::get_ref) |
/// | `set_linger` and other unstable methods | [`get_ref`](Self::get_ref) |
///
/// Where parity is impossible:
///
/// - `IntoRawFd` cannot fail, so it would have to drop the sniffed bytes
///   not yet read, silently. Give the socket back with `into_inner`, which
///   refuses while bytes are unread, and take its descriptor from there.
/// - `peek` needs the socket's own: `UnixStream::peek` is unstable in std
///   and [`MemoryStream`](crate::memory::MemoryStream) has none, so
///   `PeekableStream<UnixStream>` and `<MemoryStream>` have no `peek`.
///   [`with_sniffed`](Self::with_sniffed) and
///   [`unread_len`](Self::unread_len) show the sniffed bytes on any stream.
/// - `take_error` reports the socket's pending error (`SO_ERROR`); a read
///   error the sniff hit comes from the read that follows the sniffed
///   bytes, as it would have from the socket.
/// - `UnixStream` has no TTL or `nodelay`, and so neither has
///   `PeekableStream<UnixStream>`.
/// - `Read` and `Write` for `&PeekableStream<C>` exist for `TcpStream`,
///   `UnixStream` and `MemoryStream`, not for every `C` whose `&C` reads:
///   that blanket impl would recurse through `PeekableStream<PeekableStream<…>>`
///   and make rustc overflow (E0275) on user code bounded by
///   `for<'a> &'a S: Read`, even for `S = TcpStream`.
// In declaration order (`repr(C)`): with the order the compiler picks,
// moving the stream to an inline handler copies its small fields in odd
// pieces that stall the later wide reloads (dispatch bench: ~7 ns per
// connection).
#[repr(C)]
pub struct PeekableStream<C = TcpStream> {
    conn: C,
    /// Set once this handle has read all of the replay: reads then go
    /// straight to the connection, with no lock. (Next to `conn`: a read
    /// after the replay touches these two fields alone.) Atomic so that a
    /// read through `&self` can set it; it only ever goes from false to
    /// true, and only once the replay, under its lock, has nothing left,
    /// so relaxed loads are enough: a reader that sees `true` skips a
    /// replay that is empty, and one that sees `false` takes the lock.
    replay_drained: AtomicBool,
    replay: Mutex<ReplaySlot>,
    route: RouteId,
    /// Boxed: rare, and the stream stays small to move.
    proxy_header: Option<Box<ProxyHeader>>,
    /// How its route was decided, if the multiplexer traces decisions.
    trace: Option<Arc<DecisionTrace>>,
    accepted_at: Instant,
    /// Its places under the open-connection limits, freed on drop.
    permit: ConnectionPermit,
}

/// What the multiplexer knows of a connection besides its bytes.
pub(crate) struct Arrival {
    pub(crate) proxy_header: Option<Box<ProxyHeader>>,
    pub(crate) trace: Option<Arc<DecisionTrace>>,
    pub(crate) accepted_at: Instant,
    pub(crate) permit: ConnectionPermit,
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
            replay_drained: AtomicBool::new(false),
            route,
            proxy_header: arrival.proxy_header,
            trace: arrival.trace,
            accepted_at: arrival.accepted_at,
            permit: arrival.permit,
        }
    }

    /// Gives the stream the place under the open-connection limit that
    /// `permit` holds, freed when it is dropped; it keeps its place under
    /// its address's limit.
    pub(crate) fn hold_permit(&mut self, permit: ConnectionPermit) {
        self.permit.take_place_of(permit);
    }

    /// Reads through `&self`: the replay first, then `read_conn` on the
    /// connection.
    ///
    /// The seam for every way of reading a shared stream: `Read for
    /// &PeekableStream` passes `Read for &C`, and a caller holding only
    /// `C: Connection` passes [`Connection::read_shared`]. The replay's
    /// lock is held while replayed bytes are copied into `buf`, never
    /// while `read_conn` runs; once the replay is drained, a read is a
    /// relaxed load and `read_conn`. Whether anything is still to be
    /// replayed (for `Connection::wait_for_input`, say) is
    /// `self.peek_replay(&mut []).is_some()`.
    #[inline]
    pub(crate) fn read_through(
        &self,
        buf: &mut [u8],
        read_conn: impl FnOnce(&C, &mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        match self.read_replay_shared(buf) {
            Some(served) => served,
            None => read_conn(&self.conn, buf),
        }
    }

    /// Serves a read from the replay through `&self`; `None` once it is
    /// drained.
    #[inline]
    fn read_replay_shared(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        if self.replay_drained.load(Ordering::Relaxed) {
            return None;
        }
        let served = lock(&self.replay).read(buf);
        if served.is_none() {
            self.replay_drained.store(true, Ordering::Relaxed);
        }
        served
    }

    /// Serves a read from the replay through `&mut self`, with no lock;
    /// `None` once it is drained.
    #[inline]
    fn read_replay(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let drained = self.replay_drained.get_mut();
        if *drained {
            return None;
        }
        let served = unpoisoned(self.replay.get_mut()).read(buf);
        *drained = served.is_none();
        served
    }

    /// What the next read would take from the replay, left in place:
    /// unread sniffed bytes, then the end the sniff saw; `None` once the
    /// replay is drained and reads go to the connection.
    pub(crate) fn peek_replay(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        if self.replay_drained.load(Ordering::Relaxed) {
            return None;
        }
        lock(&self.replay).with_replay(|replay| replay.peek(buf))
    }

    /// When the multiplexer accepted the connection, before the sniff:
    /// for logs that report a connection's whole duration. Example:
    /// [What the sniff learned](Self#what-the-sniff-learned).
    pub fn accepted_at(&self) -> Instant {
        self.accepted_at
    }

    /// The route that matched this connection. Example:
    /// [What the sniff learned](Self#what-the-sniff-learned).
    pub fn route(&self) -> RouteId {
        self.route
    }

    /// The PROXY protocol header the connection started with, when the
    /// multiplexer is set to expect one
    /// ([`MuxBuilder::proxy_protocol`](crate::MuxBuilder::proxy_protocol)):
    /// the real client's address as the load balancer saw it. The header's
    /// bytes are not part of what the handler reads.
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux, ProxyAddr, ProxyMode};
    /// use std::io::{Read, Write};
    ///
    /// let (source, _unused) = memory::listener();
    /// let mut mux = Mux::builder().proxy_protocol(ProxyMode::Required).build(source)?;
    /// let http = mux.route(matchers::http1_fast());
    /// let dispatcher = mux.dispatcher();
    /// let (mut balancer, conn) = memory::pair();
    /// balancer.write_all(b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\nGET / HTTP/1.0\r\n\r\n")?;
    /// dispatcher.dispatch(conn, memory::MemoryAddr(1))?;
    /// let (mut stream, _balancer_addr) = http.accept()?;
    ///
    /// let client = stream.proxy_header().unwrap().source();
    /// assert_eq!(client, Some(ProxyAddr::Inet("192.0.2.1:56324".parse()?)));
    /// let mut head = [0u8; 3];
    /// stream.read_exact(&mut head)?;
    /// assert_eq!(&head, b"GET"); // the header is gone
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn proxy_header(&self) -> Option<&ProxyHeader> {
        self.proxy_header.as_deref()
    }

    /// How this connection's route was decided: which route decided what
    /// at which byte, what ended the sniff, after how long. `None` unless
    /// the multiplexer was built with
    /// [`trace_decisions(true)`](crate::MuxBuilder::trace_decisions).
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux, SniffEnd};
    /// use std::io::Write;
    ///
    /// let mut mux = Mux::builder().trace_decisions(true).build(memory::listener().0)?;
    /// let _tls = mux.route(matchers::tls());
    /// let http = mux.route(matchers::http1_fast());
    /// let (mut client, conn) = memory::pair();
    /// client.write_all(b"GET / HTTP/1.1\r\n")?;
    /// mux.dispatcher().dispatch(conn, memory::MemoryAddr(1))?;
    /// let (stream, _peer) = http.accept()?;
    ///
    /// let trace = stream.decision_trace().unwrap();
    /// assert_eq!(trace.ended_by(), SniffEnd::Matched);
    /// // "route 1 took it, ended by a match after 16 bytes in 25µs:
    /// //  route 0 NoMatch at byte 0, route 1 Match at byte 3"
    /// assert!(trace.to_string().ends_with("route 0 NoMatch at byte 0, route 1 Match at byte 3"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decision_trace(&self) -> Option<&Arc<DecisionTrace>> {
        self.trace.as_ref()
    }

    /// The TLS ClientHello the client opened with: the highest version it
    /// offers, its SNI host name and its ALPN list; `None` if the sniffed
    /// bytes do not hold a whole, valid ClientHello (the bytes it reads are
    /// shown at [`client_hello_info`](crate::matchers::client_hello_info)).
    ///
    /// A route that matched on SNI or ALPN has read the whole ClientHello;
    /// after a plain [`tls`](crate::matchers::tls) match it is there when
    /// it arrived in the sniff's first reads, as it does from real clients.
    /// Example: [What the sniff learned](Self#what-the-sniff-learned).
    pub fn tls_client_hello(&self) -> Option<ClientHelloInfo> {
        self.parse_sniffed(client_hello_info)
    }

    /// The HTTP/1 request line (method, target, version) and, once the
    /// sniff read the whole head, the Host field (none if the request has
    /// two); `None` if the sniffed bytes do not start with a whole request
    /// line. Example: [What the sniff learned](Self#what-the-sniff-learned).
    pub fn http1_request(&self) -> Option<Http1Request> {
        self.parse_sniffed(http1_request)
    }

    /// The HTTP/2 request's `:method`, `:scheme`, `:authority`, `:path` and
    /// `content-type`; `None` unless the sniff read the whole first header
    /// block and its header list is at most
    /// [`DEFAULT_MAX_HEADER_LIST_SIZE`](crate::matchers::DEFAULT_MAX_HEADER_LIST_SIZE)
    /// (see [`http2_request`](crate::matchers::http2_request)). An HTTP/2
    /// header or gRPC match does not guarantee either: it decides at the
    /// field it looks for. Example:
    /// [What the sniff learned](Self#what-the-sniff-learned).
    pub fn http2_request(&self) -> Option<Http2Request> {
        self.parse_sniffed(http2_request)
    }

    /// How many sniffed bytes have not been read yet. Example:
    /// [What the sniff learned](Self#what-the-sniff-learned).
    pub fn unread_len(&self) -> usize {
        lock(&self.replay).with_replay(|replay| replay.unread().len())
    }

    /// Runs one of the crate's parsers on the sniffed bytes, in place.
    ///
    /// A `fn`, not a closure: it captures nothing, so it cannot reach this
    /// stream again while the replay is locked, and the crate's parsers
    /// never block. User code goes through `with_sniffed` instead.
    fn parse_sniffed<R>(&self, parse: fn(&[u8]) -> R) -> R {
        lock(&self.replay).with_replay(|replay| parse(replay.sniffed()))
    }

    /// Runs `inspect` on every byte the sniff read (whether or not the
    /// handler has read them since): the bytes the routes judged, which
    /// any matcher's parsing functions can look at again.
    ///
    /// `inspect` gets a copy, made in this thread's spare sniff buffer (no
    /// allocation once the thread has one), and runs with no lock held: it
    /// may read, peek at, inspect or format this stream.
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
        let mut copy = buffer::take();
        let length = lock(&self.replay).with_replay(|replay| {
            let sniffed = replay.sniffed();
            if copy.len() < sniffed.len() {
                copy.resize(sniffed.len(), 0);
            }
            copy[..sniffed.len()].copy_from_slice(sniffed);
            sniffed.len()
        });
        let inspected = inspect(&copy[..length]);
        buffer::give_back(copy);
        inspected
    }

    /// The underlying connection. Reading from it directly skips the
    /// sniffed bytes not read yet (see [`unread_len`](Self::unread_len)).
    /// Example: [What the sniff learned](Self#what-the-sniff-learned).
    pub fn get_ref(&self) -> &C {
        &self.conn
    }

    /// The underlying connection, mutably; the same caution as
    /// [`get_ref`](Self::get_ref) applies. Example:
    /// [What the sniff learned](Self#what-the-sniff-learned).
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.conn
    }

    /// Gives the connection back once every sniffed byte has been read, as
    /// the stream it wraps; otherwise an error that hands this stream back.
    ///
    /// An end of stream the sniff saw and no read has reported yet does
    /// not stand in the way: the connection reports it again. The
    /// connection then no longer counts toward
    /// [`MuxBuilder::max_connections`](crate::MuxBuilder::max_connections).
    /// `TcpStream::try_from(stream)` (and the same for `UnixStream`) does
    /// the same. For the descriptor, `into_inner()?.into_raw_fd()`.
    ///
    /// # Errors
    ///
    /// [`IntoInnerError`] while sniffed bytes, or a read error the sniff
    /// hit after them, have not been read; its
    /// [`into_stream`](IntoInnerError::into_stream) gives this stream
    /// back, unchanged.
    ///
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::io::{Read, Write};
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let ssh = mux.route(matchers::ssh());
    /// let dispatcher = mux.dispatcher();
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// client.write_all(b"SSH-2.0-client\r\n")?;
    /// let (conn, peer) = listener.accept()?;
    /// dispatcher.dispatch(conn, peer)?;
    /// let (stream, _) = ssh.accept()?;
    ///
    /// // The sniffed bytes are not read yet: the stream comes back.
    /// let refused = stream.into_inner().unwrap_err();
    /// assert!(refused.to_string().ends_with("sniffed bytes have not been read yet"));
    /// let mut stream = refused.into_stream();
    /// let mut banner = vec![0u8; stream.unread_len()];
    /// stream.read_exact(&mut banner)?;
    /// assert!(banner.starts_with(b"SSH-2.0-"));
    ///
    /// let socket: TcpStream = stream.into_inner()?;
    /// assert_eq!(socket.peer_addr()?, client.local_addr()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(mut self) -> Result<C, IntoInnerError<C>> {
        let unread = if *self.replay_drained.get_mut() {
            None
        } else {
            unpoisoned(self.replay.get_mut()).with_replay(Unread::of)
        };
        match unread {
            None => Ok(self.conn),
            Some(unread) => Err(IntoInnerError {
                stream: Box::new(self),
                unread,
            }),
        }
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
            replay_drained: AtomicBool::new(self.replay_drained.load(Ordering::Relaxed)),
            route: self.route,
            proxy_header: self.proxy_header.clone(),
            trace: self.trace.clone(),
            accepted_at: self.accepted_at,
            permit: ConnectionPermit::none(),
        }
    }
}

impl<C: Connection> PeekableStream<C> {
    /// Shuts down the read half, the write half, or both, as
    /// `TcpStream::shutdown` does. Example:
    /// [Socket options](Self#socket-options).
    ///
    /// # Errors
    ///
    /// Those of the connection's own `shutdown`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.conn.shutdown(how)
    }

    /// Sets how long a read from the connection may block (replayed bytes
    /// never block); `None` blocks forever. Example:
    /// [Socket options](Self#socket-options).
    ///
    /// # Errors
    ///
    /// Those of the connection's own `set_read_timeout`: a zero duration
    /// is refused with `InvalidInput`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.set_read_timeout(timeout)
    }

    /// Moves the connection into or out of non-blocking mode, as
    /// `TcpStream::set_nonblocking` does: a read or write that would wait
    /// fails with `WouldBlock` instead. Unread sniffed bytes still come
    /// first: a read returns them (and the end the sniff saw, if any)
    /// before it reaches the socket and its `WouldBlock`.
    ///
    /// # Errors
    ///
    /// Those of the connection's own `set_nonblocking`.
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    /// use std::io::{self, Read, Write};
    ///
    /// let (source, _unused) = memory::listener();
    /// let mut mux = Mux::new(source)?;
    /// let echo = mux.route(matchers::prefixes(["ECHO"]));
    /// let dispatcher = mux.dispatcher();
    /// let (mut client, conn) = memory::pair();
    /// client.write_all(b"ECHO")?;
    /// dispatcher.dispatch(conn, memory::MemoryAddr(1))?;
    /// let (mut stream, _) = echo.accept()?;
    ///
    /// stream.set_nonblocking(true)?;
    /// let mut buf = [0u8; 16];
    /// assert_eq!(stream.read(&mut buf)?, 4); // the sniffed bytes
    /// let nothing_yet = stream.read(&mut buf).unwrap_err();
    /// assert_eq!(nothing_yet.kind(), io::ErrorKind::WouldBlock);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.conn.set_nonblocking(nonblocking)
    }
}

/// The methods `TcpStream` and `UnixStream` share, forwarded to the
/// socket, for `PeekableStream<$stream>`.
macro_rules! socket_methods {
    ($stream:ty, $addr:ty) => {
        impl PeekableStream<$stream> {
            /// The remote peer's address. Example:
            /// [Socket options](Self#socket-options).
            ///
            /// # Errors
            ///
            /// Those of the socket's own `peer_addr`.
            pub fn peer_addr(&self) -> io::Result<$addr> {
                self.conn.peer_addr()
            }

            /// The local address of this connection. Example:
            /// [Socket options](Self#socket-options).
            ///
            /// # Errors
            ///
            /// Those of the socket's own `local_addr`.
            pub fn local_addr(&self) -> io::Result<$addr> {
                self.conn.local_addr()
            }

            /// The read timeout; `None` blocks forever. Example:
            /// [Socket options](Self#socket-options).
            ///
            /// # Errors
            ///
            /// Those of the socket's own `read_timeout`.
            pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
                self.conn.read_timeout()
            }

            /// Sets how long a write may block; `None` blocks forever.
            /// Example: [Socket options](Self#socket-options).
            ///
            /// # Errors
            ///
            /// Those of the socket's own `set_write_timeout`: a zero
            /// duration is refused with `InvalidInput`.
            pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                self.conn.set_write_timeout(timeout)
            }

            /// The write timeout; `None` blocks forever. Example:
            /// [Socket options](Self#socket-options).
            ///
            /// # Errors
            ///
            /// Those of the socket's own `write_timeout`.
            pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
                self.conn.write_timeout()
            }

            /// Takes the socket's pending error (`SO_ERROR`), if any. A
            /// read error the sniff hit is not here: the read after the
            /// sniffed bytes reports it. Example:
            /// [Socket options](Self#socket-options).
            ///
            /// # Errors
            ///
            /// Those of the socket's own `take_error`.
            pub fn take_error(&self) -> io::Result<Option<io::Error>> {
                self.conn.take_error()
            }

            /// A second handle to the same connection, as the socket's own
            /// `try_clone`. The clones share the unread sniffed bytes: each
            /// is read once, by whichever clone reads first.
            ///
            /// # Errors
            ///
            /// Those of the socket's own `try_clone`.
            ///
            /// ```
            /// # use connmux::{matchers, Mux};
            /// # use std::io::{Read, Write};
            /// # use std::net::{TcpListener, TcpStream};
            /// # let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
            /// # let route = mux.route(matchers::prefixes(["hello"]));
            /// # let dispatcher = mux.dispatcher();
            /// # let listener = TcpListener::bind("127.0.0.1:0")?;
            /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
            /// # client.write_all(b"hello")?;
            /// # let (conn, peer) = listener.accept()?;
            /// # dispatcher.dispatch(conn, peer)?;
            /// let (mut stream, _) = route.accept()?;
            /// let mut clone = stream.try_clone()?;
            /// let mut two = [0u8; 2];
            /// clone.read_exact(&mut two)?; // "he"
            /// let mut three = [0u8; 3];
            /// stream.read_exact(&mut three)?; // "llo": each byte read once
            /// assert_eq!((&two, &three), (b"he", b"llo"));
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn try_clone(&self) -> io::Result<PeekableStream<$stream>> {
                Ok(self.clone_with(self.conn.try_clone()?))
            }
        }

        /// The socket back once every sniffed byte has been read: see
        /// [`PeekableStream::into_inner`].
        impl TryFrom<PeekableStream<$stream>> for $stream {
            type Error = IntoInnerError<$stream>;

            fn try_from(stream: PeekableStream<$stream>) -> Result<Self, Self::Error> {
                stream.into_inner()
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
    /// Reads without consuming, as `TcpStream::peek` does: unread sniffed
    /// bytes first (only those, even if the socket has more), then the end
    /// the sniff saw (`Ok(0)`, or a copy of the error with its kind and
    /// message), and once a read has taken all of that, the socket's own
    /// `peek`. Example: [Socket options](Self#socket-options).
    ///
    /// # Errors
    ///
    /// The read error the sniff hit, while no read has reported it yet;
    /// after that, those of `TcpStream::peek` (`WouldBlock` in
    /// non-blocking mode when nothing has arrived).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.peek_replay(buf) {
            Some(peeked) => peeked,
            None => self.conn.peek(buf),
        }
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    /// Example: [Socket options](Self#socket-options).
    ///
    /// # Errors
    ///
    /// Those of `TcpStream::set_nodelay`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.conn.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set. Example:
    /// [Socket options](Self#socket-options).
    ///
    /// # Errors
    ///
    /// Those of `TcpStream::nodelay`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.conn.nodelay()
    }

    /// Sets the IP time-to-live of outgoing packets. Example:
    /// [Socket options](Self#socket-options).
    ///
    /// # Errors
    ///
    /// Those of `TcpStream::set_ttl`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.conn.set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets. Example:
    /// [Socket options](Self#socket-options).
    ///
    /// # Errors
    ///
    /// Those of `TcpStream::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.conn.ttl()
    }
}

/// The first non-empty buffer of `bufs`, where a vectored read puts
/// replayed bytes (as `Read::read_vectored`'s default does).
fn first_nonempty<'a>(bufs: &'a mut [IoSliceMut<'_>]) -> &'a mut [u8] {
    match bufs.iter_mut().find(|buf| !buf.is_empty()) {
        Some(buf) => buf,
        None => &mut [],
    }
}

/// Sniffed bytes first, then the connection. After the sniffed bytes a
/// read goes straight to the connection, with no lock.
impl<C: Read> Read for PeekableStream<C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_replay(buf) {
            Some(served) => served,
            None => self.conn.read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match self.read_replay(first_nonempty(bufs)) {
            Some(served) => served,
            None => self.conn.read_vectored(bufs),
        }
    }
}

/// Straight to the connection.
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

/// `Read` and `Write` through a shared reference for `PeekableStream` over
/// each stream type below, as std has them for `&TcpStream`.
///
/// For these stream types alone: a blanket `impl<C> Read for
/// &PeekableStream<C> where for<'a> &'a C: Read` recurses through
/// `PeekableStream<PeekableStream<…>>`, and rustc then overflows (E0275) on
/// user code as plain as a call `f(&tcp_stream)` to a function bounded by
/// `for<'a> &'a S: Read`. A handler holding another connection type reads
/// it through `&mut`.
macro_rules! shared_io {
    ($conn:ty) => {
        /// Reads through a shared reference, as `Read for &TcpStream` does,
        /// so that one thread can read while another writes: sniffed bytes
        /// first (each read once, whichever reference reads it), then the
        /// connection. Example:
        /// [Reading and writing from two threads](PeekableStream#reading-and-writing-from-two-threads).
        impl Read for &PeekableStream<$conn> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.read_through(buf, |mut conn, buf| conn.read(buf))
            }

            fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
                match self.read_replay_shared(first_nonempty(bufs)) {
                    Some(served) => served,
                    None => (&self.conn).read_vectored(bufs),
                }
            }
        }

        /// Straight to the connection, through a shared reference, as
        /// `Write for &TcpStream` does. Example:
        /// [Reading and writing from two threads](PeekableStream#reading-and-writing-from-two-threads).
        impl Write for &PeekableStream<$conn> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                (&self.conn).write(buf)
            }

            fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                (&self.conn).write_vectored(bufs)
            }

            fn flush(&mut self) -> io::Result<()> {
                (&self.conn).flush()
            }
        }
    };
}

shared_io!(TcpStream);
shared_io!(MemoryStream);
#[cfg(unix)]
shared_io!(std::os::unix::net::UnixStream);

/// Shows the connection, the route and how many sniffed bytes are unread.
/// It never waits for the replay's lock: while another thread copies
/// replayed bytes, the count shows as `<locked>`.
/// A stream handed to a route is a connection too, so that another
/// multiplexer can sniff it (see the [`Accept`](crate::Accept) impl of
/// [`Listener`](crate::Listener)): its reads serve the sniffed bytes first,
/// intact, then the connection's own.
impl<C: Connection> Connection for PeekableStream<C> {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_through(buf, C::read_shared)
    }

    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        self.conn.write_shared(buf)
    }

    fn set_up(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.set_up(timeout)
    }

    fn wait_for_input(&self) -> io::Result<()> {
        if self.peek_replay(&mut []).is_some() {
            return Ok(());
        }
        self.conn.wait_for_input()
    }

    fn poll_input(&self, polls: u32) -> io::Result<bool> {
        if self.peek_replay(&mut []).is_some() {
            return Ok(true);
        }
        self.conn.poll_input(polls)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.set_read_timeout(timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.conn.read_timeout()
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.conn.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.conn.shutdown(how)
    }

    /// The connection's addresses, with the client and destination its
    /// PROXY header named: the multiplexer that parsed the header believed
    /// it.
    fn addresses(&self) -> Addresses {
        let own = self.conn.addresses();
        match self.proxy_header() {
            Some(header) => header.relay(own),
            None => own,
        }
    }

    fn clock(&self) -> Option<&Clock> {
        self.conn.clock()
    }
}

impl<C: fmt::Debug> fmt::Debug for PeekableStream<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unread_len = if self.replay_drained.load(Ordering::Relaxed) {
            Some(0)
        } else {
            try_lock(&self.replay).and_then(|slot| slot.try_unread_len())
        };
        let mut debug = f.debug_struct("PeekableStream");
        debug.field("conn", &self.conn).field("route", &self.route);
        match unread_len {
            Some(length) => debug.field("unread_len", &length),
            None => debug.field("unread_len", &format_args!("<locked>")),
        };
        debug.finish()
    }
}

/// The socket's descriptor. Reading from it directly skips the sniffed
/// bytes not read yet.
#[cfg(unix)]
impl<C: std::os::fd::AsRawFd> std::os::fd::AsRawFd for PeekableStream<C> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.conn.as_raw_fd()
    }
}

/// The socket's descriptor, borrowed. Reading from it directly skips the
/// sniffed bytes not read yet.
#[cfg(unix)]
impl<C: std::os::fd::AsFd> std::os::fd::AsFd for PeekableStream<C> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.conn.as_fd()
    }
}

/// What keeps a stream from giving its connection back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    /// Sniffed bytes not read yet.
    Bytes(usize),
    /// A read error the sniff hit, not reported yet.
    Error(io::ErrorKind),
}

impl Unread {
    /// What in `replay` a read has still to hand out, besides an end of
    /// stream (the connection reports that again).
    fn of(replay: &Replay) -> Option<Unread> {
        match replay.unread().len() {
            0 => match replay.peek(&mut [0u8; 1]) {
                Some(Err(error)) => Some(Unread::Error(error.kind())),
                Some(Ok(_)) | None => None,
            },
            bytes => Some(Unread::Bytes(bytes)),
        }
    }
}

/// Why [`PeekableStream::into_inner`] kept the connection: sniffed bytes,
/// or a read error the sniff hit, have not been read yet. It holds the
/// stream, unchanged; [`into_stream`](Self::into_stream) gives it back.
///
/// Converting it into `io::Error` (for `?`) closes the connection, as
/// std's `io::IntoInnerError` does with its writer. The example is on
/// [`PeekableStream::into_inner`].
#[derive(Debug)]
pub struct IntoInnerError<C> {
    /// Boxed: the error path pays for the move, not every `Ok`.
    stream: Box<PeekableStream<C>>,
    unread: Unread,
}

impl<C> IntoInnerError<C> {
    /// The stream that could not give its connection back, unchanged:
    /// read what it still holds, then try again. Example:
    /// [`PeekableStream::into_inner`].
    pub fn into_stream(self) -> PeekableStream<C> {
        *self.stream
    }
}

impl<C> fmt::Display for IntoInnerError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unread {
            Unread::Bytes(1) => f.write_str("1 sniffed byte has not been read yet"),
            Unread::Bytes(count) => write!(f, "{count} sniffed bytes have not been read yet"),
            Unread::Error(kind) => write!(
                f,
                "a read error the sniff hit ({kind}) has not been read yet"
            ),
        }
    }
}

impl<C: fmt::Debug> Error for IntoInnerError<C> {}

impl<C> From<IntoInnerError<C>> for io::Error {
    fn from(error: IntoInnerError<C>) -> io::Error {
        io::Error::other(error.to_string())
    }
}

#[cfg(test)]
mod tests;
