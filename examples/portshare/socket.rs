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
        }
    };
}

duplex_socket!(TcpStream);
duplex_socket!(UnixStream);
