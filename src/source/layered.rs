//! Connections that need work before their first byte can be sniffed: a
//! TLS handshake, or any layer over a socket that must read and write
//! before it yields the client's own bytes.
//!
//! [`handshake`] wraps a source so that each connection's layer is set up
//! on the thread that sniffs it, never on the accept loop: a client that
//! stalls its handshake holds only its own sniffer thread, under the same
//! deadline and limits as a client that stalls its opening, while the
//! accept loop goes on taking connections. The layer lives in a
//! [`Layered`] connection. Its reads and writes take a lock, because a
//! layer such as a TLS session reads through `&mut`; timeouts,
//! non-blocking mode and shutdown go straight to the socket under it, so
//! another thread can still interrupt a read, or a handshake, blocked in
//! the layer.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::address::Addresses;
use crate::proxy::PeerOrigin;
use crate::source::accept::{Accept, WakeAccept};
use crate::source::clock::Clock;
use crate::source::connection::Connection;
use crate::sync::lock::lock;

/// The socket under a layer, as the layer reads and writes it.
///
/// A layer (a TLS session, say) owns a `Socket` and reads and writes it
/// like any stream; the [`Layered`] connection keeps a second handle to
/// the same socket for timeouts and shutdown. `flush` does nothing: a
/// [`Connection`] writes through
/// [`write_shared`](Connection::write_shared), unbuffered.
///
/// ```
/// use connmux::{memory, Socket};
/// use std::io::{Read, Write};
///
/// let (mut client, server) = memory::pair();
/// let mut socket = Socket::new(server);
/// client.write_all(b"hi")?;
/// let mut got = [0u8; 2];
/// socket.read_exact(&mut got)?;
/// assert_eq!(&got, b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Socket<S>(Arc<S>);

impl<S: Connection> Socket<S> {
    /// A socket handle over `conn`. Example: on the [type](Socket).
    pub fn new(conn: S) -> Self {
        Socket(Arc::new(conn))
    }

    /// The connection under this handle.
    ///
    /// ```
    /// use connmux::{memory, Socket};
    ///
    /// let (_client, server) = memory::pair();
    /// let socket = Socket::new(server);
    /// assert!(socket.get_ref().read_timeout().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.0
    }
}

impl<S> Clone for Socket<S> {
    fn clone(&self) -> Self {
        Socket(Arc::clone(&self.0))
    }
}

impl<S: Connection> Read for Socket<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_shared(buf)
    }
}

impl<S: Connection> Write for Socket<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_shared(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: fmt::Debug> fmt::Debug for Socket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Socket").field(&self.0).finish()
    }
}

/// Sets a layer up over a freshly accepted socket.
type SetUp<S, L> = dyn Fn(Socket<S>) -> io::Result<L> + Send + Sync;

/// Where a connection's layer stands.
enum Layer<S, L> {
    /// Not set up yet: `set_up`, or else the first read or write, does it.
    Pending(Arc<SetUp<S, L>>),
    Ready(L),
    /// Setting it up failed with this kind of error; every later read and
    /// write fails the same way.
    Failed(io::ErrorKind),
}

/// A connection whose bytes go through a layer (a TLS session, for
/// instance) over a socket.
///
/// Reads and writes lock the layer; timeouts, non-blocking mode, and
/// shutdown go to the socket under it, so a read blocked in the layer can
/// be interrupted from another thread, as the multiplexer's shutdown
/// does. A connection from [`handshake`] sets its layer up when the sniff
/// begins, on the thread that sniffs it
/// ([`Connection::set_up`]); one made with [`Layered::new`] is ready at
/// once.
///
/// ```
/// use connmux::{memory, Layered, Socket};
/// use std::io::{Read, Write};
///
/// let (mut client, server) = memory::pair();
/// let socket = Socket::new(server);
/// // A layer is any stream over the socket; this one adds nothing.
/// let mut conn = Layered::new(socket.clone(), socket);
/// client.write_all(b"ping")?;
/// let mut got = [0u8; 4];
/// conn.read_exact(&mut got)?;
/// assert_eq!(&got, b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Layered<L, S = TcpStream> {
    socket: Arc<S>,
    layer: Mutex<Layer<S, L>>,
}

impl<L: Read + Write, S: Connection> Layered<L, S> {
    /// A connection reading and writing through `layer`, already set up
    /// over `socket`. Example: on the [type](Layered).
    pub fn new(layer: L, socket: Socket<S>) -> Self {
        Layered {
            socket: socket.0,
            layer: Mutex::new(Layer::Ready(layer)),
        }
    }

    /// Runs `inspect` on the layer (to read what a TLS session
    /// negotiated, say), setting the layer up first if it is not yet.
    ///
    /// `inspect` runs with the layer locked: a read or write on another
    /// thread waits until it returns.
    ///
    /// # Errors
    ///
    /// The error that setting the layer up gave (the kind it gave, if
    /// this is not the first call to see it).
    ///
    /// ```
    /// use connmux::{memory, Layered, Socket};
    ///
    /// let (_client, server) = memory::pair();
    /// let layer = std::io::Cursor::new(b"buffered".to_vec());
    /// let conn = Layered::new(layer, Socket::new(server));
    /// assert_eq!(conn.with_layer(|layer| layer.get_ref().len())?, 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_layer<R>(&self, inspect: impl FnOnce(&mut L) -> R) -> io::Result<R> {
        self.with_ready(|layer| Ok(inspect(layer)))
    }

    /// The socket under the layer.
    ///
    /// ```
    /// use connmux::{memory, Layered, Socket};
    ///
    /// let (_client, server) = memory::pair();
    /// let socket = Socket::new(server);
    /// let conn = Layered::new(socket.clone(), socket);
    /// assert!(conn.socket().read_timeout().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn socket(&self) -> &S {
        &self.socket
    }

    /// Runs `use_layer` on the layer once it is set up; the set-up runs
    /// here, on the calling thread, the first time.
    fn with_ready<R>(&self, use_layer: impl FnOnce(&mut L) -> io::Result<R>) -> io::Result<R> {
        let mut layer = lock(&self.layer);
        if let Layer::Pending(set_up) = &*layer {
            let set_up = Arc::clone(set_up);
            *layer = match set_up(Socket(Arc::clone(&self.socket))) {
                Ok(ready) => Layer::Ready(ready),
                Err(error) => {
                    *layer = Layer::Failed(error.kind());
                    return Err(error);
                }
            };
        }
        match &mut *layer {
            Layer::Ready(ready) => use_layer(ready),
            Layer::Failed(kind) => Err(io::Error::new(
                *kind,
                "setting up this connection's layer failed",
            )),
            Layer::Pending(_) => unreachable!("set up above"),
        }
    }
}

impl<L: Read + Write, S: Connection> Read for Layered<L, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.with_ready(|layer| layer.read(buf))
    }
}

impl<L: Read + Write, S: Connection> Read for &Layered<L, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.with_ready(|layer| layer.read(buf))
    }
}

impl<L: Read + Write, S: Connection> Write for Layered<L, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with_ready(|layer| layer.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with_ready(Write::flush)
    }
}

impl<L: Read + Write, S: Connection> Write for &Layered<L, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with_ready(|layer| layer.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with_ready(Write::flush)
    }
}

impl<L, S> Connection for Layered<L, S>
where
    L: Read + Write + Send + 'static,
    S: Connection,
{
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.with_ready(|layer| layer.read(buf))
    }

    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        self.with_ready(|layer| layer.write(buf))
    }

    /// Sets the layer up, if it is not yet, with `timeout` as the
    /// socket's read timeout meanwhile.
    fn set_up(&self, timeout: Option<Duration>) -> io::Result<()> {
        if !matches!(*lock(&self.layer), Layer::Pending(_)) {
            return Ok(());
        }
        let original = self.socket.read_timeout()?;
        self.socket.set_read_timeout(timeout)?;
        let set_up = self.with_ready(|_| Ok(()));
        self.socket.set_read_timeout(original)?;
        set_up
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.read_timeout()
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.shutdown(how)
    }

    fn addresses(&self) -> Addresses {
        self.socket.addresses()
    }

    fn clock(&self) -> Option<&Clock> {
        self.socket.clock()
    }
}

impl<L, S: fmt::Debug> fmt::Debug for Layered<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `try_lock`: formatting must not wait for a read in progress.
        let layer = match self.layer.try_lock().as_deref() {
            Ok(Layer::Pending(_)) => "not set up",
            Ok(Layer::Ready(_)) => "ready",
            Ok(Layer::Failed(_)) => "failed",
            Err(_) => "in use",
        };
        f.debug_struct("Layered")
            .field("socket", &self.socket)
            .field("layer", &layer)
            .finish()
    }
}

/// A source whose connections each get a layer set up on the thread that
/// sniffs them: see [`handshake`].
pub struct Handshake<S: Accept, L> {
    source: S,
    set_up: Arc<SetUp<S::Conn, L>>,
}

/// Wraps `source` so that each connection is set up with `set_up` (a TLS
/// handshake, typically) before it is sniffed, on the connection's own
/// sniffer thread, never on the accept loop.
///
/// The sniff reads the layer's output: routes see the bytes the client
/// sent inside it (the HTTP request inside TLS, say). Each read the
/// set-up makes waits at most until the first byte is due (the
/// first-byte timeout, or the deadline), and shutdown interrupts it like
/// any read. A set-up that times out ends like a sniff whose deadline
/// passed; one that fails otherwise closes the connection with a
/// [`DropReason::Io`](crate::DropReason::Io) event. A PROXY protocol
/// header comes before any layer: read it in an outer multiplexer, not
/// in one over `handshake`.
///
/// This is how a multiplexer nests inside TLS: the outer mux routes TLS
/// to a [`Listener`](crate::Listener), and an inner mux over
/// `handshake(listener, terminate_tls)` routes what is inside; see the
/// crate docs.
///
/// ```
/// use connmux::{handshake, matchers, memory, Mux, Socket};
/// use std::io::{Read, Write};
///
/// // A toy layer: the client says "HELLO\n" first, and the server answers.
/// let greeted = |mut socket: Socket<memory::MemoryStream>| {
///     let mut hello = [0u8; 6];
///     socket.read_exact(&mut hello)?;
///     socket.write_all(b"OK\n")?;
///     Ok(socket)
/// };
/// let (source, connector) = memory::listener();
/// let mut mux = Mux::new(handshake(source, greeted))?;
/// let pings = mux.route(matchers::prefixes(["PING"]));
/// let handle = mux.handle();
/// let server = std::thread::spawn(move || mux.serve());
///
/// let mut client = connector.connect()?;
/// client.write_all(b"HELLO\nPING")?;
/// let (mut stream, _peer) = pings.accept()?;
/// let mut ping = [0u8; 4];
/// stream.read_exact(&mut ping)?;
/// assert_eq!(&ping, b"PING");
/// let mut ok = [0u8; 3];
/// client.read_exact(&mut ok)?;
/// assert_eq!(&ok, b"OK\n");
///
/// handle.shutdown();
/// server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn handshake<S, L, F>(source: S, set_up: F) -> Handshake<S, L>
where
    S: Accept,
    L: Read + Write + Send + 'static,
    F: Fn(Socket<S::Conn>) -> io::Result<L> + Send + Sync + 'static,
{
    Handshake {
        source,
        set_up: Arc::new(set_up),
    }
}

impl<S, L> Accept for Handshake<S, L>
where
    S: Accept,
    L: Read + Write + Send + 'static,
{
    type Conn = Layered<L, S::Conn>;
    type Addr = S::Addr;

    fn accept(&self) -> io::Result<(Self::Conn, S::Addr)> {
        let (conn, peer) = self.source.accept()?;
        let conn = Layered {
            socket: Arc::new(conn),
            layer: Mutex::new(Layer::Pending(Arc::clone(&self.set_up))),
        };
        Ok((conn, peer))
    }

    fn local_addr(&self) -> io::Result<S::Addr> {
        self.source.local_addr()
    }

    fn wake_handle(&self) -> io::Result<WakeAccept> {
        self.source.wake_handle()
    }

    fn set_accept_timeout(&self, timeout: Option<Duration>) -> io::Result<bool> {
        self.source.set_accept_timeout(timeout)
    }

    fn peer_origin(peer: &S::Addr) -> PeerOrigin {
        S::peer_origin(peer)
    }
}

impl<S: Accept + fmt::Debug, L> fmt::Debug for Handshake<S, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}
