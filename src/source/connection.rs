//! The `Connection` trait: what the sniffer needs from an accepted stream.
//!
//! The sniffer reads through a shared reference so that, at shutdown,
//! another thread can shut a connection down while its sniff is blocked in
//! `read` (that is what makes shutdown prompt without a deadline). Sockets
//! in std support exactly this (`impl Read for &TcpStream`); the in-memory
//! streams of [`memory`](crate::memory) do too.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use crate::address::Addresses;
use crate::source::clock::Clock;

/// A byte stream the multiplexer can sniff: `TcpStream`, `UnixStream`,
/// [`MemoryStream`](crate::memory::MemoryStream), or your own.
///
/// ```
/// use connmux::Connection;
/// use std::net::TcpStream;
///
/// fn is_connection<C: Connection>() {}
/// is_connection::<TcpStream>();
/// ```
pub trait Connection: Read + Write + Send + Sync + Sized + 'static {
    /// Reads into `buf` through a shared reference, with the semantics of
    /// [`Read::read`].
    ///
    /// # Errors
    ///
    /// As [`Read::read`]: `WouldBlock` or `TimedOut` when the read timeout
    /// passes, `WouldBlock` in non-blocking mode when nothing has arrived,
    /// and whatever the transport fails with.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Connection};
    /// use std::io::Write;
    ///
    /// let (mut client, server) = memory::pair();
    /// client.write_all(b"PING")?;
    /// let mut buf = [0; 16];
    /// assert_eq!(server.read_shared(&mut buf)?, 4); // `server` is not `mut`
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes from `buf` through a shared reference, with the semantics of
    /// [`Write::write`]; the sniffer uses it for a matcher's
    /// [`reply`](crate::Matcher::reply).
    ///
    /// # Errors
    ///
    /// As [`Write::write`]: when the peer has closed the connection
    /// (`BrokenPipe`, `ConnectionReset`), `WouldBlock` in non-blocking mode
    /// when the send buffer is full, and whatever the transport fails with.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Connection};
    /// use std::io::Read;
    ///
    /// let (mut client, server) = memory::pair();
    /// assert_eq!(server.write_shared(b"PONG")?, 4);
    /// let mut reply = [0; 4];
    /// client.read_exact(&mut reply)?;
    /// assert_eq!(&reply, b"PONG");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn write_shared(&self, buf: &[u8]) -> io::Result<usize>;

    /// Does the work the connection needs before its first byte can be
    /// read (a TLS handshake, say: see [`handshake`](crate::handshake)).
    /// The sniffer calls it first, on the connection's own thread, and
    /// each read it makes must wait at most `timeout` (what is left of the
    /// first-byte timeout or the deadline; `None` for no limit). A
    /// timeout ends the sniff as its deadline would; another error closes
    /// the connection with a [`DropReason::Io`](crate::DropReason::Io).
    ///
    /// The default does nothing; [`Layered`](crate::Layered) connections
    /// set their layer up here (an example is on [`handshake`](crate::handshake)).
    ///
    /// # Errors
    ///
    /// What the set-up's reads and writes failed with; a timeout is
    /// `WouldBlock` or `TimedOut`, as from a read.
    fn set_up(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Looks whether a read would return at once (bytes have arrived, or
    /// the stream has ended or failed) without blocking and without
    /// consuming anything, up to `polls` times, yielding the processor
    /// between looks; `Ok(true)` as soon as one would. `Ok(false)`: none
    /// did, or the connection cannot look without blocking (the default).
    ///
    /// The sniffer polls a few times before its first read. A client's
    /// first bytes often follow its handshake by microseconds (on loopback,
    /// where a proxy in front or a local client connects, and when the
    /// client runs on the same processors), and letting it run is cheaper
    /// than a sleep and a wake-up, which on a virtual machine cost tens of
    /// microseconds each. A client farther away costs the polls: `polls`
    /// looks and yields, and two system calls on a `TcpStream` to switch
    /// non-blocking mode on and back off.
    ///
    /// # Errors
    ///
    /// When the connection's blocking mode cannot be switched (and back).
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::Connection;
    /// use std::io::Write;
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// let (server, _) = listener.accept()?;
    /// assert!(!server.poll_input(1)?, "nothing sent yet");
    /// client.write_all(b"GET / HTTP/1.1\r\n")?;
    /// while !server.poll_input(1000)? {} // loopback: there in microseconds
    /// assert!(server.peek(&mut [0; 4])? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_input(&self, polls: u32) -> io::Result<bool> {
        let _ = polls;
        Ok(false)
    }

    /// Blocks, like a read, until a read would not block (bytes have
    /// arrived, or the stream has ended or failed), without consuming
    /// anything; the read timeout applies as it does to a read. The
    /// sniffer waits here before it gives a connection a read buffer, so a
    /// connection that sends nothing holds none.
    ///
    /// The default returns at once (the read that follows does the
    /// waiting); `TcpStream` peeks at one byte.
    ///
    /// # Errors
    ///
    /// As a read: `WouldBlock` or `TimedOut` when the read timeout passes,
    /// and whatever the transport fails with.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::Connection;
    /// use std::io::Write;
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// let (server, _) = listener.accept()?;
    /// client.write_all(b"SSH-2.0-")?;
    /// server.wait_for_input()?; // returns once bytes are there, reading none
    /// assert!(server.peek(&mut [0; 8])? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn wait_for_input(&self) -> io::Result<()> {
        Ok(())
    }

    /// Sets how long a read may block; `None` blocks forever. A read that
    /// times out fails with `WouldBlock` or `TimedOut`.
    ///
    /// # Errors
    ///
    /// When the transport refuses the timeout: std's sockets and the
    /// in-memory streams refuse `Some(Duration::ZERO)` with `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Connection};
    /// use std::io::ErrorKind;
    /// use std::time::Duration;
    ///
    /// let (_client, server) = memory::pair();
    /// Connection::set_read_timeout(&server, Some(Duration::from_millis(10)))?;
    /// let silent = server.read_shared(&mut [0; 1]).unwrap_err();
    /// assert_eq!(silent.kind(), ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// The read timeout, as [`set_read_timeout`](Connection::set_read_timeout)
    /// last set it. The sniffer puts it back when it hands the connection
    /// on, so a timeout the [`Accept`](crate::Accept) source set survives
    /// the sniff.
    ///
    /// # Errors
    ///
    /// When the transport cannot tell: for sockets, when `getsockopt`
    /// fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Connection};
    /// use std::time::Duration;
    ///
    /// let (_client, server) = memory::pair();
    /// assert_eq!(Connection::read_timeout(&server)?, None);
    /// Connection::set_read_timeout(&server, Some(Duration::from_secs(5)))?;
    /// assert_eq!(Connection::read_timeout(&server)?, Some(Duration::from_secs(5)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn read_timeout(&self) -> io::Result<Option<Duration>>;

    /// Moves the connection into or out of non-blocking mode: while in it,
    /// a read or write that would wait fails with `WouldBlock` instead.
    ///
    /// Connections are handed to the sniffer, and by it to handlers, in
    /// blocking mode. The sniffer uses non-blocking mode briefly, to take
    /// what has arrived without waiting for more, and to write a matcher's
    /// [`reply`](crate::Matcher::reply) to a client that may never read
    /// it without blocking past the sniff deadline.
    ///
    /// # Errors
    ///
    /// When the transport cannot change mode: for sockets, when `fcntl`
    /// (or `ioctlsocket`) fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Connection};
    /// use std::io::ErrorKind;
    ///
    /// let (_client, server) = memory::pair();
    /// Connection::set_nonblocking(&server, true)?;
    /// let nothing_yet = server.read_shared(&mut [0; 1]).unwrap_err();
    /// assert_eq!(nothing_yet.kind(), ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;

    /// Shuts down the read half, the write half, or both; a read blocked
    /// in another thread must then return.
    ///
    /// # Errors
    ///
    /// When the transport's own shutdown fails: for std's sockets, as
    /// `TcpStream::shutdown` documents (a second call fails with
    /// `NotConnected` on macOS). The in-memory streams never fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use connmux::{memory, Connection};
    /// use std::io::Read;
    /// use std::net::Shutdown;
    ///
    /// let (mut client, server) = memory::pair();
    /// Connection::shutdown(&server, Shutdown::Write)?;
    /// assert_eq!(client.read(&mut [0; 1])?, 0); // end of stream
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// The connection's IP addresses, for routes that read them
    /// ([`from`](crate::matchers::from), [`to`](crate::matchers::to)):
    /// asked once per connection, before its first byte, and only when
    /// some route reads addresses. The default knows none
    /// ([`Addresses::UNKNOWN`]); `TcpStream` gives its peer and local
    /// addresses.
    ///
    /// ```
    /// use connmux::Connection;
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let client = TcpStream::connect(listener.local_addr()?)?;
    /// let (server, _) = listener.accept()?;
    /// let addresses = server.addresses();
    /// assert_eq!(addresses.client, Some(client.local_addr()?));
    /// assert_eq!(addresses.destination, Some(listener.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn addresses(&self) -> Addresses {
        Addresses::UNKNOWN
    }

    /// The virtual clock the connection's time runs on, for tests: `None`
    /// (the default) for real time. A sniff of a connection with a clock
    /// reads its time, pauses and times its reads on the clock, so a test
    /// drives first-byte timeouts, silence routes and the sniff deadline
    /// with [`Clock::advance`] instead of sleeping. The in-memory streams
    /// a [`Clock`] makes have it; wrappers forward their connection's.
    ///
    /// ```
    /// use connmux::{memory, Connection};
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let _client = TcpStream::connect(listener.local_addr()?)?;
    /// assert!(listener.accept()?.0.clock().is_none(), "real time");
    /// let (_client, server) = memory::Clock::new().pair();
    /// assert!(server.clock().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[inline]
    fn clock(&self) -> Option<&Clock> {
        None
    }
}

impl Connection for TcpStream {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn wait_for_input(&self) -> io::Result<()> {
        self.peek(&mut [0; 1]).map(drop)
    }

    fn poll_input(&self, polls: u32) -> io::Result<bool> {
        if polls == 0 {
            return Ok(false);
        }
        self.set_nonblocking(true)?;
        let mut ready = false;
        for poll in 0..polls {
            if poll > 0 {
                std::thread::yield_now();
            }
            match self.peek(&mut [0; 1]) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // Bytes, the end of the stream, or an error the read will
                // report.
                _ => {
                    ready = true;
                    break;
                }
            }
        }
        self.set_nonblocking(false)?;
        Ok(ready)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        TcpStream::read_timeout(self)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        TcpStream::set_nonblocking(self, nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }

    fn addresses(&self) -> Addresses {
        match (self.peer_addr(), self.local_addr()) {
            (Ok(peer), Ok(local)) => Addresses::direct(peer, local),
            // A connection reset before this was asked; its sniff fails at
            // the first read.
            _ => Addresses::UNKNOWN,
        }
    }
}

#[cfg(unix)]
impl Connection for std::os::unix::net::UnixStream {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        std::os::unix::net::UnixStream::read_timeout(self)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_nonblocking(self, nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, how)
    }
}
