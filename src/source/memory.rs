//! In-memory connections: a listener, a connector and duplex streams that
//! behave like loopback TCP (blocking reads with timeouts, half-close,
//! EOF, shutdown from another thread) without touching the network.
//!
//! Tests use them to drive the multiplexer deterministically and benches use
//! them to measure dispatch without socket costs. The streams a [`Clock`]
//! makes run on its virtual time: their read timeouts, and the time limits
//! of a sniff reading them, pass when the test advances the clock, so
//! timeouts are tested without sleeping.
//!
//! ```
//! use connmux::memory;
//! use std::io::{Read, Write};
//!
//! let (listener, connector) = memory::listener();
//! let mut client = connector.connect().unwrap();
//! client.write_all(b"ping").unwrap();
//! let (mut server, peer) = connmux::Accept::accept(&listener).unwrap();
//! let mut got = [0; 4];
//! server.read_exact(&mut got).unwrap();
//! assert_eq!(&got, b"ping");
//! assert_eq!(peer.to_string(), "memory:1");
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::proxy::PeerOrigin;
use crate::source::accept::{Accept, WakeAccept};
pub use crate::source::clock::Clock;
use crate::source::connection::Connection;
use crate::sync::lock::lock;
use crate::sync::monitor::Monitor;
use crate::sync::queue::{Queue, RecvError, TrySendError};

/// How many bytes one direction buffers before a writer blocks.
const PIPE_CAPACITY: usize = 64 * 1024;

/// The address of one end of an in-memory connection: the listener is
/// `memory:0`, connections are numbered from `memory:1` in connect order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryAddr(pub u64);

impl fmt::Display for MemoryAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "memory:{}", self.0)
    }
}

struct PipeState {
    bytes: VecDeque<u8>,
    /// The writing end shut down or dropped: readers see EOF once empty.
    writer_closed: bool,
    /// The reading end shut down or dropped: reads return EOF at once and
    /// writes fail.
    reader_closed: bool,
}

/// How long a read or write may wait.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// At most this long; `None` for as long as it takes.
    For(Option<Duration>),
    /// Not at all (non-blocking mode).
    Never,
}

/// One direction of a connection; notified on every change.
struct Pipe {
    state: Monitor<PipeState>,
    /// The virtual clock its waits are timed on and notified through.
    clock: Option<Clock>,
}

impl Pipe {
    fn new(clock: Option<&Clock>) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Monitor::new(PipeState {
                bytes: VecDeque::new(),
                writer_closed: false,
                reader_closed: false,
            }),
            clock: clock.cloned(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock()
    }

    /// Wakes the threads waiting on the pipe after a change.
    fn notify(&self) {
        self.state.notify_all();
        if let Some(clock) = &self.clock {
            clock.touch(self.input_key());
        }
    }

    /// What the threads waiting on this pipe are known by on its clock.
    fn input_key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Waits while `blocked` holds, for at most `timeout`; returns the
    /// guard and whether it gave up because the timeout passed. The clock
    /// is read only if it has to wait.
    fn wait<'a>(
        &'a self,
        mut state: MutexGuard<'a, PipeState>,
        timeout: Option<Duration>,
        blocked: impl Fn(&PipeState) -> bool,
    ) -> (MutexGuard<'a, PipeState>, bool) {
        if let Some(clock) = &self.clock {
            drop(state);
            let wake = timeout.map(|timeout| clock.now().saturating_add(timeout));
            let ready = || {
                let state = self.lock();
                (!blocked(&state)).then_some(state)
            };
            return match clock.wait(self.input_key(), wake, None, ready) {
                Some(state) => (state, false),
                None => {
                    let state = self.lock();
                    let timed_out = blocked(&state);
                    (state, timed_out)
                }
            };
        }
        let mut deadline = None;
        while blocked(&state) {
            let now = Instant::now();
            let Some(deadline) =
                *deadline.get_or_insert_with(|| timeout.and_then(|t| now.checked_add(t)))
            else {
                return (self.state.wait_while(state, |s| blocked(s)), false);
            };
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return (state, true);
            }
            state = self.state.wait_timeout(state, left);
        }
        (state, false)
    }

    /// Reads what has arrived; `wait` says how long to wait for a first
    /// byte.
    fn read(&self, buf: &mut [u8], wait: Wait) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let blocked = |s: &PipeState| s.bytes.is_empty() && !s.writer_closed && !s.reader_closed;
        let (mut state, timed_out) = match wait {
            Wait::For(timeout) => self.wait(self.lock(), timeout, blocked),
            Wait::Never => {
                let state = self.lock();
                let would_block = blocked(&state);
                (state, would_block)
            }
        };
        if state.reader_closed {
            return Ok(0);
        }
        if timed_out {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "read timed out"));
        }
        // `VecDeque<u8>` reads copy its two halves in bulk.
        let count = state.bytes.read(buf)?;
        drop(state);
        self.notify();
        Ok(count)
    }

    /// Writes what fits, waiting for room if `wait` says to.
    fn write(&self, buf: &[u8], wait: Wait) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let blocked =
            |s: &PipeState| s.bytes.len() >= PIPE_CAPACITY && !s.reader_closed && !s.writer_closed;
        let state = self.lock();
        let (mut state, full) = match wait {
            Wait::For(timeout) => self.wait(state, timeout, blocked),
            Wait::Never => {
                let full = blocked(&state);
                (state, full)
            }
        };
        if state.reader_closed || state.writer_closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the in-memory connection is closed",
            ));
        }
        if full {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the in-memory connection is full",
            ));
        }
        let count = buf.len().min(PIPE_CAPACITY - state.bytes.len());
        state.bytes.extend(&buf[..count]);
        drop(state);
        self.notify();
        Ok(count)
    }

    fn close_reader(&self) {
        self.lock().reader_closed = true;
        self.notify();
    }

    fn close_writer(&self) {
        self.lock().writer_closed = true;
        self.notify();
    }
}

/// One end of an in-memory duplex connection; see [`pair`].
///
/// Reads block until bytes arrive, the peer shuts down its write half
/// (EOF), this end shuts down its read half (EOF), or the read timeout
/// passes (`WouldBlock`). Dropping an end shuts down both halves.
pub struct MemoryStream {
    inbound: Arc<Pipe>,
    outbound: Arc<Pipe>,
    /// The read timeout in nanoseconds (saturating: a longer one is as
    /// good as forever), 0 for none; an atomic rather than a lock, as it
    /// is read on every read and set twice per sniff.
    read_timeout_nanos: AtomicU64,
    nonblocking: AtomicBool,
    /// The virtual clock it waits on, if it was made by one.
    clock: Option<Clock>,
}

impl fmt::Debug for MemoryStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStream").finish_non_exhaustive()
    }
}

/// Two connected in-memory streams: what one writes, the other reads.
///
/// ```
/// use connmux::memory;
/// use std::io::{Read, Write};
///
/// let (mut a, mut b) = memory::pair();
/// a.write_all(b"hello").unwrap();
/// drop(a);
/// let mut got = String::new();
/// b.read_to_string(&mut got).unwrap();
/// assert_eq!(got, "hello");
/// ```
pub fn pair() -> (MemoryStream, MemoryStream) {
    pair_on(None)
}

/// Two connected streams, on `clock` if given (see [`Clock::pair`]).
pub(crate) fn pair_on(clock: Option<&Clock>) -> (MemoryStream, MemoryStream) {
    let (a_to_b, b_to_a) = (Pipe::new(clock), Pipe::new(clock));
    let a = MemoryStream {
        inbound: Arc::clone(&b_to_a),
        outbound: Arc::clone(&a_to_b),
        read_timeout_nanos: AtomicU64::new(0),
        nonblocking: AtomicBool::new(false),
        clock: clock.cloned(),
    };
    let b = MemoryStream {
        inbound: a_to_b,
        outbound: b_to_a,
        read_timeout_nanos: AtomicU64::new(0),
        nonblocking: AtomicBool::new(false),
        clock: clock.cloned(),
    };
    (a, b)
}

impl MemoryStream {
    /// The current read timeout; `None` blocks forever. It is kept in
    /// nanoseconds: a timeout set beyond 584 years reads back as that.
    ///
    /// ```
    /// use connmux::memory;
    /// use std::time::Duration;
    ///
    /// let (stream, _peer) = memory::pair();
    /// assert_eq!(stream.read_timeout(), None);
    /// stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    /// assert_eq!(stream.read_timeout(), Some(Duration::from_secs(5)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> Option<Duration> {
        match self.read_timeout_nanos.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Sets how long a read may block before failing with `WouldBlock`;
    /// `None` blocks forever.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as for sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::memory;
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    ///
    /// let (mut stream, _peer) = memory::pair();
    /// stream.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// assert_eq!(stream.read(&mut [0; 1]).unwrap_err().kind(), ErrorKind::WouldBlock);
    /// assert!(stream.set_read_timeout(Some(Duration::ZERO)).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a zero read timeout is not allowed",
            ));
        }
        let nanos = timeout.map_or(0, |t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX));
        self.read_timeout_nanos.store(nanos, Ordering::Relaxed);
        Ok(())
    }

    /// Moves the stream into or out of non-blocking mode: while in it, a
    /// read with nothing to read, or a write with no room, fails with
    /// `WouldBlock` at once.
    ///
    /// # Errors
    ///
    /// None: the `io::Result` is that of `TcpStream::set_nonblocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::memory;
    /// use std::io::{ErrorKind, Read, Write};
    ///
    /// let (mut stream, mut peer) = memory::pair();
    /// stream.set_nonblocking(true)?;
    /// assert_eq!(stream.read(&mut [0; 1]).unwrap_err().kind(), ErrorKind::WouldBlock);
    /// peer.write_all(b"x")?;
    /// assert_eq!(stream.read(&mut [0; 1])?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// How long a read or write of this stream may wait.
    fn wait(&self, timeout: Option<Duration>) -> Wait {
        if self.nonblocking.load(Ordering::Relaxed) {
            Wait::Never
        } else {
            Wait::For(timeout)
        }
    }

    /// Shuts down the read half (reads return EOF, the peer's writes
    /// fail), the write half (the peer reads EOF), or both; blocked reads
    /// and writes return at once.
    ///
    /// # Errors
    ///
    /// None: the `io::Result` is that of `TcpStream::shutdown`.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::memory;
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    ///
    /// let (stream, mut peer) = memory::pair();
    /// stream.shutdown(Shutdown::Write)?;
    /// assert_eq!(peer.read(&mut [0; 1])?, 0); // end of stream
    /// peer.write_all(b"the other direction stays open")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.inbound.close_reader();
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.outbound.close_writer();
        }
        Ok(())
    }
}

impl Connection for MemoryStream {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inbound.read(buf, self.wait(self.read_timeout()))
    }

    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        self.outbound.write(buf, self.wait(None))
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        MemoryStream::set_read_timeout(self, timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(MemoryStream::read_timeout(self))
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        MemoryStream::set_nonblocking(self, nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        MemoryStream::shutdown(self, how)
    }

    fn clock(&self) -> Option<&Clock> {
        self.clock.as_ref()
    }
}

impl Read for MemoryStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_shared(buf)
    }
}

impl Read for &MemoryStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_shared(buf)
    }
}

impl Write for MemoryStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_shared(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &MemoryStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_shared(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for MemoryStream {
    fn drop(&mut self) {
        self.inbound.close_reader();
        self.outbound.close_writer();
    }
}

/// A pending connection, or `None` to wake the accepting thread.
type Backlog = Queue<Option<(MemoryStream, MemoryAddr)>>;

/// The accepting side of in-memory connections; see [`listener`].
///
/// `accept` fails with `NotConnected` once every [`MemoryConnector`] is
/// dropped and the backlog is empty, which ends a multiplexer serving it.
pub struct MemoryListener {
    backlog: Arc<Backlog>,
    /// How long `accept` waits for a connection: see
    /// [`Accept::set_accept_timeout`]; `None` for ever.
    accept_timeout: Mutex<Option<Duration>>,
}

/// The connecting side of a [`MemoryListener`]; clone it freely.
#[derive(Clone)]
pub struct MemoryConnector {
    shared: Arc<ConnectorShared>,
}

struct ConnectorShared {
    backlog: Arc<Backlog>,
    next_peer: AtomicU64,
    /// The clock its connections are on, if any.
    clock: Option<Clock>,
}

impl fmt::Debug for MemoryListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryListener").finish_non_exhaustive()
    }
}

impl fmt::Debug for MemoryConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryConnector").finish_non_exhaustive()
    }
}

/// A new in-memory listener and the connector that reaches it.
///
/// ```
/// use connmux::{memory, Accept};
///
/// let (listener, connector) = memory::listener();
/// let _first = connector.clone().connect()?;
/// let _second = connector.connect()?;
/// assert_eq!(listener.accept()?.1, memory::MemoryAddr(1));
/// assert_eq!(listener.accept()?.1.to_string(), "memory:2");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listener() -> (MemoryListener, MemoryConnector) {
    listener_on(None)
}

/// A listener whose connections are on `clock`, if given (see
/// [`Clock::listener`]).
pub(crate) fn listener_on(clock: Option<&Clock>) -> (MemoryListener, MemoryConnector) {
    let backlog = Arc::new(Queue::new(usize::MAX));
    let connector = MemoryConnector {
        shared: Arc::new(ConnectorShared {
            backlog: Arc::clone(&backlog),
            next_peer: AtomicU64::new(1),
            clock: clock.cloned(),
        }),
    };
    let listener = MemoryListener {
        backlog,
        accept_timeout: Mutex::new(None),
    };
    (listener, connector)
}

impl MemoryConnector {
    /// Opens a connection to the listener and returns the client end; the
    /// server end waits in the listener's backlog (which is unbounded).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` once the listener has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::memory;
    /// use std::io::ErrorKind;
    ///
    /// let (listener, connector) = memory::listener();
    /// assert!(connector.connect().is_ok());
    /// drop(listener);
    /// assert_eq!(connector.connect().unwrap_err().kind(), ErrorKind::ConnectionRefused);
    /// ```
    pub fn connect(&self) -> io::Result<MemoryStream> {
        let (client, server) = pair_on(self.shared.clock.as_ref());
        let peer = MemoryAddr(self.shared.next_peer.fetch_add(1, Ordering::Relaxed));
        match self.shared.backlog.try_send(Some((server, peer))) {
            Ok(()) => Ok(client),
            Err(TrySendError::Full(_) | TrySendError::Closed(_)) => Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the in-memory listener is closed",
            )),
        }
    }
}

impl Drop for ConnectorShared {
    fn drop(&mut self) {
        self.backlog.close();
    }
}

impl Drop for MemoryListener {
    fn drop(&mut self) {
        drop(self.backlog.close_and_drain());
    }
}

impl Accept for MemoryListener {
    type Conn = MemoryStream;
    type Addr = MemoryAddr;

    fn accept(&self) -> io::Result<(MemoryStream, MemoryAddr)> {
        let timeout = *lock(&self.accept_timeout);
        let next = match timeout {
            Some(timeout) => self.backlog.recv_timeout(timeout),
            None => self.backlog.recv(),
        };
        match next {
            Ok(Some(connection)) => Ok(connection),
            Ok(None) => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "woken for shutdown",
            )),
            Err(RecvError::Empty) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "no connection within the accept timeout",
            )),
            Err(RecvError::Closed) => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "every connector of this in-memory listener was dropped",
            )),
        }
    }

    fn set_accept_timeout(&self, timeout: Option<Duration>) -> io::Result<bool> {
        *lock(&self.accept_timeout) = timeout;
        Ok(true)
    }

    fn local_addr(&self) -> io::Result<MemoryAddr> {
        Ok(MemoryAddr(0))
    }

    fn peer_origin(_: &MemoryAddr) -> PeerOrigin {
        PeerOrigin::Local
    }

    fn wake_handle(&self) -> io::Result<WakeAccept> {
        let backlog = Arc::clone(&self.backlog);
        Ok(Box::new(move || {
            // A closed backlog already makes accept return.
            let _ = backlog.try_send(None);
        }))
    }
}

/// In-memory connections on a clock (here, beside the streams they make,
/// so that the clock itself knows nothing of them).
impl Clock {
    /// Two connected in-memory streams on this clock: what one writes,
    /// the other reads, and reads time out on the clock's time. Otherwise
    /// as [`memory::pair`](crate::memory::pair).
    ///
    /// ```
    /// use connmux::memory::Clock;
    /// use connmux::Connection;
    ///
    /// let clock = Clock::new();
    /// let (client, server) = clock.pair();
    /// assert!(server.clock().is_some() && client.clock().is_some());
    /// ```
    pub fn pair(&self) -> (MemoryStream, MemoryStream) {
        pair_on(Some(self))
    }

    /// A new in-memory listener whose connections are on this clock.
    /// Otherwise as [`memory::listener`](crate::memory::listener).
    ///
    /// ```
    /// use connmux::memory::Clock;
    /// use connmux::{Accept, Connection};
    ///
    /// let clock = Clock::new();
    /// let (listener, connector) = clock.listener();
    /// let _client = connector.connect()?;
    /// let (server, _) = listener.accept()?;
    /// assert!(server.clock().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listener(&self) -> (MemoryListener, MemoryConnector) {
        listener_on(Some(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn bytes_flow_both_ways_and_eof_follows_drop() {
        let (mut a, mut b) = pair();
        a.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        b.write_all(b"pong").unwrap();
        a.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"pong");
        drop(a);
        assert_eq!(b.read(&mut got).unwrap(), 0);
        assert_eq!(b.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn half_close_keeps_the_other_direction() {
        let (mut a, mut b) = pair();
        a.write_all(b"req").unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"req");
        b.write_all(b"resp").unwrap();
        let mut back = [0u8; 4];
        a.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"resp");
    }

    #[test]
    fn read_timeout_and_shutdown_from_another_thread() {
        let (_a, b) = pair();
        b.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(
            b.read_shared(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(b.read_timeout(), Some(Duration::from_millis(10)));
        assert!(b.set_read_timeout(Some(Duration::ZERO)).is_err());
        b.set_read_timeout(Some(Duration::MAX)).unwrap();
        let forever = b.read_timeout().expect("a timeout");
        assert!(forever >= Duration::from_secs(500 * 365 * 24 * 3600));
        b.set_read_timeout(None).unwrap();
        assert_eq!(b.read_timeout(), None);
        let b = Arc::new(b);
        let reader = {
            let b = Arc::clone(&b);
            thread::spawn(move || b.read_shared(&mut [0u8; 1]))
        };
        thread::sleep(Duration::from_millis(20));
        b.shutdown(Shutdown::Both).unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), 0);
    }

    #[test]
    fn non_blocking_reads_and_writes_would_block_instead_of_waiting() {
        let (mut a, b) = pair();
        b.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(
            b.read_shared(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        a.write_all(b"hi").unwrap();
        assert_eq!(b.read_shared(&mut buf).unwrap(), 2);
        a.set_nonblocking(true).unwrap();
        a.write_all(&vec![0; PIPE_CAPACITY - 1]).unwrap();
        assert_eq!(a.write(b"xy").unwrap(), 1, "what fits");
        assert_eq!(a.write(b"z").unwrap_err().kind(), io::ErrorKind::WouldBlock);
        a.set_nonblocking(false).unwrap();
        drop(b);
        assert_eq!(a.write(b"z").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_full_pipe_blocks_the_writer_until_read() {
        let (mut a, mut b) = pair();
        let payload: Vec<u8> = (0..3 * PIPE_CAPACITY).map(|i| i as u8).collect();
        let expected = payload.clone();
        let writer = thread::spawn(move || {
            a.write_all(&payload).unwrap();
        });
        let mut got = Vec::new();
        while got.len() < expected.len() {
            let mut chunk = [0u8; 4096];
            let n = b.read(&mut chunk).unwrap();
            got.extend_from_slice(&chunk[..n]);
        }
        writer.join().unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn listener_wakes_refuses_and_ends() {
        let (listener, connector) = listener();
        (listener.wake_handle().unwrap())();
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::Interrupted
        );
        let _client = connector.connect().unwrap();
        assert_eq!(listener.accept().unwrap().1, MemoryAddr(1));
        drop(connector);
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
        let (listener, connector) = super::listener();
        drop(listener);
        assert_eq!(
            connector.connect().unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
        assert_eq!(
            Accept::local_addr(&super::listener().0).unwrap(),
            MemoryAddr(0)
        );
    }
}
