//! The socket operations forwarding needs, for the client's `TcpStream`
//! and the backend's TCP or UNIX stream alike.
//!
//! Each connection's two directions use its two sockets from two threads
//! at once, one reading a socket while the other writes it, as
//! `&TcpStream` and `&UnixStream` allow; so every operation here takes
//! `&self`.
//!
//! Bulk transfers go through a pipe with `splice(2)`, which moves pages
//! between the sockets and the pipe without copying them through user
//! space. std does this itself: on Linux, `io::copy` between a socket and
//! an `io::pipe()` end is specialised to `splice` (the specialisation sees
//! the concrete types through the generic methods below), and falls back
//! to `read` and `write` where the kernel cannot splice.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;

/// A connected stream socket that one thread may read while another
/// writes, and that either may shut down.
pub(crate) trait DuplexSocket: Sync {
    /// Reads what is there, waiting for at least one byte or the end.
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `bytes`.
    fn write_all(&self, bytes: &[u8]) -> io::Result<()>;
    /// Shuts down one or both directions.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    /// Moves what this socket receives into `pipe` until the socket's end
    /// (or the pipe's reader is gone); returns how many bytes. With an
    /// `io::PipeWriter`, std does it with `splice`.
    fn receive_into(&self, pipe: &mut impl Write) -> io::Result<u64>;
    /// Sends up to `limit` bytes from `pipe`, fewer only at the pipe's end
    /// (all its writers gone); returns how many. With an `io::PipeReader`,
    /// std does it with `splice`.
    fn send_from(&self, pipe: &mut impl Read, limit: u64) -> io::Result<u64>;
}

/// Implements [`DuplexSocket`] for a std socket type whose shared
/// reference implements `Read` and `Write`.
macro_rules! duplex_socket {
    ($socket:ty) => {
        impl DuplexSocket for $socket {
            fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
                (&mut &*self).read(buf)
            }

            fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
                Write::write_all(&mut &*self, bytes)
            }

            fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                <$socket>::shutdown(self, how)
            }

            fn receive_into(&self, pipe: &mut impl Write) -> io::Result<u64> {
                io::copy(&mut &*self, pipe)
            }

            fn send_from(&self, pipe: &mut impl Read, limit: u64) -> io::Result<u64> {
                io::copy(&mut pipe.take(limit), &mut &*self)
            }
        }
    };
}

duplex_socket!(TcpStream);
duplex_socket!(UnixStream);
