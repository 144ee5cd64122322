//! The socket operations forwarding needs, for the client's `TcpStream`
//! and the backend's TCP or UNIX stream alike.
//!
//! Each connection's two directions use its two sockets from two threads
//! at once, one reading a socket while the other writes it, as
//! `&TcpStream` and `&UnixStream` allow; so every operation here takes
//! `&self`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A connected stream socket that one thread may read while another
/// writes, and that either may shut down.
pub(crate) trait DuplexSocket: Sync {
    /// Reads what is there, waiting for at least one byte or the end.
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `bytes`.
    fn write_all(&self, bytes: &[u8]) -> io::Result<()>;
    /// Writes some of `bytes`, waiting for room for at least one.
    fn write_some(&self, bytes: &[u8]) -> io::Result<usize>;
    /// Shuts down one or both directions.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    /// How long a read may wait; `None`: for ever.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// How long a write may wait; `None`: for ever.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// The most bytes to give one write whose whole call the write
    /// timeout must bound.
    fn timed_write_bytes(&self) -> usize;
}

/// A TCP send's write timeout counts all its waits for room (Linux's
/// `tcp_sendmsg` carries what is left of it from one wait to the next),
/// so it bounds a send of any size; the send then returns what it queued.
const TCP_TIMED_WRITE_BYTES: usize = usize::MAX;

/// A UNIX stream send's timeout bounds each of its waits for room, one per
/// buffer it queues (Linux's `unix_stream_sendmsg` queues at most 32 KiB
/// of pages and a small head in each), not the call: a timed write is
/// given one buffer's worth.
const UNIX_TIMED_WRITE_BYTES: usize = 32 * 1024;

/// Implements [`DuplexSocket`] for a std socket type whose shared
/// reference implements `Read` and `Write`.
macro_rules! duplex_socket {
    ($socket:ty, $timed_write_bytes:expr) => {
        impl DuplexSocket for $socket {
            fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
                (&mut &*self).read(buf)
            }

            fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
                Write::write_all(&mut &*self, bytes)
            }

            fn write_some(&self, bytes: &[u8]) -> io::Result<usize> {
                (&mut &*self).write(bytes)
            }

            fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$socket>::set_read_timeout(self, timeout)
            }

            fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$socket>::set_write_timeout(self, timeout)
            }

            fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                <$socket>::shutdown(self, how)
            }

            fn timed_write_bytes(&self) -> usize {
                $timed_write_bytes
            }
        }
    };
}

duplex_socket!(TcpStream, TCP_TIMED_WRITE_BYTES);
duplex_socket!(UnixStream, UNIX_TIMED_WRITE_BYTES);
