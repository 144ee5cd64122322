//! Backends: the other half of `--route SPEC=BACKEND`, a TCP address or a
//! UNIX socket path, and connecting to one.
//!
//! Host names are resolved once, at start-up, so that a connection costs
//! no DNS lookup; each of the addresses is then tried in turn.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use crate::socket::DuplexSocket;

/// Where a route's connections are forwarded.
pub(crate) enum Backend {
    /// A TCP server: the text given, and the addresses it resolved to.
    Tcp {
        name: String,
        addrs: Vec<SocketAddr>,
    },
    /// A UNIX stream socket.
    Unix(PathBuf),
}

impl Backend {
    /// A UNIX socket path if `text` contains a `/`, else `HOST:PORT`,
    /// resolved now.
    pub(crate) fn parse(text: &str) -> Result<Backend, String> {
        if text.contains('/') {
            return Ok(Backend::Unix(PathBuf::from(text)));
        }
        if text.is_empty() {
            return Err("the BACKEND after '=' is empty".into());
        }
        let invalid = |why: String| {
            format!(
                "backend '{text}': {why} (expected HOST:PORT, or a UNIX socket path containing '/')"
            )
        };
        let addrs: Vec<SocketAddr> = text
            .to_socket_addrs()
            .map_err(|error| invalid(error.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(invalid("it resolves to no address".into()));
        }
        Ok(Backend::Tcp {
            name: text.to_owned(),
            addrs,
        })
    }

    /// Connects, giving each TCP address at most `timeout`; fails with the
    /// last address's error.
    pub(crate) fn connect(&self, timeout: Duration) -> io::Result<BackendStream> {
        match self {
            Backend::Tcp { addrs, .. } => {
                let mut last_error = None;
                for addr in addrs {
                    match TcpStream::connect_timeout(addr, timeout) {
                        Ok(stream) => {
                            // Interactive protocols (SSH, redis-cli) send
                            // small writes that must not wait for an ACK.
                            stream.set_nodelay(true)?;
                            return Ok(BackendStream::Tcp(stream));
                        }
                        Err(error) => last_error = Some(error),
                    }
                }
                Err(last_error
                    .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")))
            }
            Backend::Unix(path) => UnixStream::connect(path).map(BackendStream::Unix),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Tcp { name, .. } => f.write_str(name),
            Backend::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A connection to a backend.
pub(crate) enum BackendStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl DuplexSocket for BackendStream {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BackendStream::Tcp(stream) => stream.read_some(buf),
            BackendStream::Unix(stream) => stream.read_some(buf),
        }
    }

    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            BackendStream::Tcp(stream) => stream.write_all(bytes),
            BackendStream::Unix(stream) => stream.write_all(bytes),
        }
    }

    fn write_some(&self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            BackendStream::Tcp(stream) => stream.write_some(bytes),
            BackendStream::Unix(stream) => stream.write_some(bytes),
        }
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            BackendStream::Tcp(stream) => DuplexSocket::set_read_timeout(stream, timeout),
            BackendStream::Unix(stream) => DuplexSocket::set_read_timeout(stream, timeout),
        }
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            BackendStream::Tcp(stream) => DuplexSocket::set_write_timeout(stream, timeout),
            BackendStream::Unix(stream) => DuplexSocket::set_write_timeout(stream, timeout),
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            BackendStream::Tcp(stream) => DuplexSocket::shutdown(stream, how),
            BackendStream::Unix(stream) => DuplexSocket::shutdown(stream, how),
        }
    }
}
