//! `MuxHandle`: shut a running multiplexer down, or read its counters,
//! from any thread.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::mux::stats::Stats;

/// Where a multiplexer is in its life, as its `Debug` output shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Routes may still be registered: neither `serve` nor `dispatcher`
    /// has been called.
    Registering,
    /// The routes are fixed and connections are being routed (by `serve`
    /// or through a `Dispatcher`).
    Routing,
    /// A graceful shutdown is letting the sniffs in progress finish.
    Draining,
    /// Shut down: nothing is routed any more.
    ShutDown,
}

/// What a handle can ask of the multiplexer, whatever its listener type.
pub(crate) trait Control: Send + Sync {
    fn shutdown(&self);
    fn shutdown_graceful(&self, grace: Duration);
    fn is_shut_down(&self) -> bool;
    fn lifecycle(&self) -> Lifecycle;
    fn stats(&self) -> Stats;
    fn sniffing(&self) -> usize;
    fn open_connections(&self) -> usize;
}

/// A cloneable handle to a [`Mux`](crate::Mux), valid before, during and
/// after `serve`.
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::net::TcpListener;
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let any = mux.route(matchers::any());
/// let handle = mux.handle();
/// let server = std::thread::spawn(move || mux.serve());
/// handle.shutdown();
/// server.join().unwrap()?;
/// assert!(handle.is_shut_down());
/// assert_eq!(handle.stats().accepted, 0);
/// assert_eq!(any.accept().unwrap_err(), connmux::AcceptError::ShutDown);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MuxHandle {
    control: Arc<dyn Control>,
}

impl MuxHandle {
    pub(crate) fn new(control: Arc<dyn Control>) -> Self {
        MuxHandle { control }
    }

    /// Stops the multiplexer and returns at once; `serve` returns soon
    /// after (join its thread to wait for that).
    ///
    /// Accepting stops, connections being sniffed are closed now (even
    /// with no sniff deadline), and each route's `accept` hands out the
    /// connections already queued, then fails with
    /// [`AcceptError::ShutDown`](crate::AcceptError::ShutDown). Calling it
    /// again does nothing; calling it before `serve` makes `serve` return
    /// at once.
    ///
    /// ```
    /// use connmux::{matchers, AcceptError, Mux};
    /// use std::net::TcpListener;
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let tls = mux.route(matchers::tls());
    /// let handle = mux.handle();
    /// let server = std::thread::spawn(move || mux.serve());
    /// let tls_server = std::thread::spawn(move || tls.accept().map(drop));
    /// handle.shutdown();
    /// server.join().unwrap()?;
    /// assert_eq!(tls_server.join().unwrap(), Err(AcceptError::ShutDown));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&self) {
        self.control.shutdown();
    }

    /// Stops accepting at once and lets the connections being sniffed
    /// finish their sniff for up to `grace` (they are routed as usual),
    /// then shuts down as [`shutdown`](Self::shutdown) does; returns at
    /// once. `serve` returns as soon as every sniff has ended, or when
    /// `grace` has passed. Calling [`shutdown`](Self::shutdown) meanwhile
    /// cuts the grace short.
    ///
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::net::TcpListener;
    /// use std::time::Duration;
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let http = mux.route(matchers::http1_fast());
    /// let handle = mux.handle();
    /// let server = std::thread::spawn(move || mux.serve());
    /// handle.shutdown_graceful(Duration::from_secs(2));
    /// server.join().unwrap()?;
    /// assert!(http.accept().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_graceful(&self, grace: Duration) {
        self.control.shutdown_graceful(grace);
    }

    /// Whether shutdown has begun (by this or another handle, or because
    /// `serve` returned). A graceful shutdown counts once its grace is
    /// over.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    ///
    /// let mux = Mux::new(memory::listener().0)?;
    /// let handle = mux.handle();
    /// assert!(!handle.is_shut_down());
    /// drop(mux);
    /// assert!(handle.is_shut_down());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.control.is_shut_down()
    }

    /// A snapshot of the counters.
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    /// use std::io::Write;
    ///
    /// let mut mux = Mux::new(memory::listener().0)?;
    /// let _http = mux.route(matchers::http1_fast());
    /// let dispatcher = mux.dispatcher();
    /// let (mut client, server_end) = memory::pair();
    /// client.write_all(b"\x16\x03\x01")?;
    /// drop(client);
    /// let _ = dispatcher.dispatch(server_end, memory::MemoryAddr(1));
    ///
    /// let stats = mux.handle().stats();
    /// assert_eq!((stats.accepted, stats.not_matched, stats.routed), (1, 1, vec![0]));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.control.stats()
    }

    /// How many connections are being sniffed (or waiting for a sniffer
    /// thread) right now, by `serve`'s sniffer threads.
    ///
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::net::{TcpListener, TcpStream};
    /// use std::time::{Duration, Instant};
    ///
    /// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let _http = mux.route(matchers::http1_fast());
    /// let (addr, handle) = (mux.local_addr()?, mux.handle());
    /// let server = std::thread::spawn(move || mux.serve());
    ///
    /// let _silent = TcpStream::connect(addr)?; // sends nothing: still sniffed
    /// let deadline = Instant::now() + Duration::from_secs(10);
    /// while handle.sniffing() == 0 && Instant::now() < deadline {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// assert_eq!(handle.sniffing(), 1);
    /// handle.shutdown();
    /// server.join().unwrap()?;
    /// assert_eq!(handle.sniffing(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sniffing(&self) -> usize {
        self.control.sniffing()
    }

    /// How many connections hold a place under the open-connection limit
    /// right now: those being sniffed or held by a handler, not those
    /// queued for a route (see
    /// [`MuxBuilder::max_connections`](crate::MuxBuilder::max_connections)).
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    /// use std::io::Write;
    ///
    /// let mut mux = Mux::new(memory::listener().0)?;
    /// let ssh = mux.route(matchers::ssh());
    /// let (dispatcher, handle) = (mux.dispatcher(), mux.handle());
    /// let (mut client, server_end) = memory::pair();
    /// client.write_all(b"SSH-2.0-OpenSSH_9.6\r\n")?;
    /// dispatcher.dispatch(server_end, memory::MemoryAddr(1))?;
    /// assert_eq!(handle.open_connections(), 0, "queued: no place held");
    ///
    /// let (stream, _peer) = ssh.accept()?;
    /// assert_eq!(handle.open_connections(), 1);
    /// drop(stream);
    /// assert_eq!(handle.open_connections(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_connections(&self) -> usize {
        self.control.open_connections()
    }
}

/// The multiplexer's state (registering routes, routing, draining, shut
/// down) and how many connections it is sniffing and holding.
impl fmt::Debug for MuxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MuxHandle")
            .field("state", &self.control.lifecycle())
            .field("sniffing", &self.sniffing())
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}
