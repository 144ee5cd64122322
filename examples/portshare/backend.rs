//! Backends: the other half of `--route SPEC=BACKEND[,BACKEND...]`, each a
//! TCP address or a UNIX socket path, and connecting to the first of a
//! route's backends that answers.
//!
//! Host names are resolved once, at start-up, so that a connection costs
//! no DNS lookup; each of a host's addresses is then tried in turn.
//!
//! A route's backends are tried in the order given. One that failed is
//! skipped for `retry_after` (its connects would likely fail again, and a
//! timing-out one would cost each client the connect timeout), as nginx
//! skips a server for its `fail_timeout`; once every backend is being
//! skipped, all are tried in order anyway, so that a route never refuses a
//! client without trying (nginx, likewise, never skips the only server of
//! a group). A successful connect clears the mark. The marks live in the
//! backends, so a reload, which builds its routes' backends anew, starts
//! with none.
//!
//! Each backend's mark is one `AtomicU64`, not a `Mutex`: the sniffer
//! threads connect at once, the marks are independent of each other and
//! guard no other data, and a connect must not hold a lock for as long as
//! its timeout. Two threads racing over a mark only make one extra try of
//! a backend that just failed, or skip it once more.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::socket::DuplexSocket;

/// One place a route's connections may be forwarded to.
pub(crate) struct Backend {
    address: Address,
    /// When this backend last failed to connect, in milliseconds since
    /// [`epoch`], plus one; 0: it has not failed since its last success.
    failed_at: AtomicU64,
}

/// Where a backend listens.
enum Address {
    /// A TCP server: the text given, and the addresses it resolved to.
    Tcp {
        name: String,
        addrs: Vec<SocketAddr>,
    },
    /// A UNIX stream socket.
    Unix(PathBuf),
}

/// Connects to the first of `backends` that answers, in order, skipping
/// those that failed within the last `retry_after` unless all did; gives
/// each TCP address at most `connect_timeout`. Returns the stream and the
/// index in `backends` of the one it reached, or the last one's error.
///
/// A UNIX connect has no timeout: std connects a UNIX socket in one
/// blocking call, with no way to set `SO_SNDTIMEO` first. It fails at once
/// when nothing listens on the path, and waits only while the listener's
/// backlog is full.
pub(crate) fn connect_first(
    backends: &[Backend],
    connect_timeout: Duration,
    retry_after: Duration,
) -> io::Result<(BackendStream, usize)> {
    let now = || epoch().elapsed();
    connect_first_with(backends, now, retry_after, |backend| {
        backend.connect(connect_timeout)
    })
}

/// What the backends' failure marks count from: the first connect.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// [`connect_first`], with the clock and the connect of one backend
/// given: `now` is the time since the [`epoch`].
fn connect_first_with<S>(
    backends: &[Backend],
    now: impl Fn() -> Duration,
    retry_after: Duration,
    mut connect: impl FnMut(&Backend) -> io::Result<S>,
) -> io::Result<(S, usize)> {
    let started = now();
    let is_skipped = |backend: &&Backend| match backend.failed_at.load(Ordering::Relaxed) {
        0 => false,
        failed_at => started.saturating_sub(Duration::from_millis(failed_at - 1)) < retry_after,
    };
    let mut tried = backends
        .iter()
        .enumerate()
        .filter(|(_, backend)| !is_skipped(backend))
        .peekable();
    let order: &mut dyn Iterator<Item = (usize, &Backend)> = match tried.peek() {
        Some(_) => &mut tried,
        None => &mut backends.iter().enumerate(),
    };
    let mut last_error = None;
    for (index, backend) in order {
        match connect(backend) {
            Ok(stream) => {
                // Read first: a write per connect would bounce the cache
                // line between the threads that connect.
                if backend.failed_at.load(Ordering::Relaxed) != 0 {
                    backend.failed_at.store(0, Ordering::Relaxed);
                }
                return Ok((stream, index));
            }
            Err(error) => {
                backend
                    .failed_at
                    .store(failure_mark(now()), Ordering::Relaxed);
                last_error = Some(error);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no backend")))
}

/// The [`Backend::failed_at`] of a failure at `time` since the epoch.
fn failure_mark(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).map_or(u64::MAX, |millis| millis.saturating_add(1))
}

impl Backend {
    /// A UNIX socket path if `text` contains a `/`, else `HOST:PORT`,
    /// resolved now.
    pub(crate) fn parse(text: &str) -> Result<Backend, String> {
        let address = if text.contains('/') {
            Address::Unix(PathBuf::from(text))
        } else if text.is_empty() {
            return Err("the BACKEND after '=' is empty".into());
        } else {
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
            Address::Tcp {
                name: text.to_owned(),
                addrs,
            }
        };
        Ok(Backend {
            address,
            failed_at: AtomicU64::new(0),
        })
    }

    /// Connects, giving each TCP address at most `timeout`; fails with the
    /// last address's error.
    fn connect(&self, timeout: Duration) -> io::Result<BackendStream> {
        match &self.address {
            Address::Tcp { addrs, .. } => {
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
            Address::Unix(path) => UnixStream::connect(path).map(BackendStream::Unix),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            Address::Tcp { name, .. } => f.write_str(name),
            Address::Unix(path) => write!(f, "{}", path.display()),
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

    fn timed_write_bytes(&self) -> usize {
        match self {
            BackendStream::Tcp(stream) => stream.timed_write_bytes(),
            BackendStream::Unix(stream) => stream.timed_write_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;

    const RETRY_AFTER: Duration = Duration::from_millis(1000);

    fn parse_list(text: &str) -> Vec<Backend> {
        text.split(',')
            .map(|one| Backend::parse(one).unwrap())
            .collect()
    }

    /// Connects `backends` at `time` ms with those named in `down`
    /// refusing: the backends tried, in order, and the one reached.
    fn attempt(backends: &[Backend], time: u64, down: &[&str]) -> (Vec<String>, Option<String>) {
        let tried = RefCell::new(Vec::new());
        let clock = Cell::new(Duration::from_millis(time));
        let result = connect_first_with(
            backends,
            || clock.get(),
            RETRY_AFTER,
            |backend| {
                let name = backend.to_string();
                tried.borrow_mut().push(name.clone());
                match down.contains(&name.as_str()) {
                    true => Err(io::ErrorKind::ConnectionRefused.into()),
                    false => Ok(()),
                }
            },
        );
        let reached = result.ok().map(|((), index)| backends[index].to_string());
        (tried.into_inner(), reached)
    }

    #[test]
    fn failed_backends_are_skipped_until_retry_after() {
        let backends = parse_list("/a,/b,/c");
        // (time in ms, backends down, tried in order, reached)
        let table: &[(u64, &[&str], &[&str], Option<&str>)] = &[
            (0, &[], &["/a"], Some("/a")),
            (10, &["/a"], &["/a", "/b"], Some("/b")),
            // /a failed at 10: skipped until 1010.
            (20, &["/a"], &["/b"], Some("/b")),
            (1009, &[], &["/b"], Some("/b")),
            (1010, &["/a"], &["/a", "/b"], Some("/b")),
            // /a up again at 2010: a success clears its mark.
            (2010, &[], &["/a"], Some("/a")),
            (2011, &["/b"], &["/a"], Some("/a")),
            // All down: each is marked, then all are tried anyway.
            (3000, &["/a", "/b", "/c"], &["/a", "/b", "/c"], None),
            (3001, &["/a", "/b", "/c"], &["/a", "/b", "/c"], None),
            (3002, &["/a"], &["/a", "/b"], Some("/b")),
            // /a and /c still skipped; /b, healthy, is the only one tried.
            (3003, &["/b"], &["/b"], None),
        ];
        for &(time, down, tried, reached) in table {
            let (actual_tried, actual_reached) = attempt(&backends, time, down);
            assert_eq!(actual_tried, tried, "tried at {time} ms");
            assert_eq!(actual_reached.as_deref(), reached, "reached at {time} ms");
        }
    }

    #[test]
    fn a_refused_backend_is_skipped_next_time() {
        let refused = TcpListener::bind("127.0.0.1:0").unwrap();
        let refused_addr = refused.local_addr().unwrap();
        drop(refused);
        let listening = TcpListener::bind("127.0.0.1:0").unwrap();
        let listening_addr = listening.local_addr().unwrap();
        let backends = parse_list(&format!("{refused_addr},{listening_addr}"));
        let timeout = Duration::from_secs(2);
        let retry_after = Duration::from_secs(60);
        let (_stream, reached) = connect_first(&backends, timeout, retry_after).unwrap();
        assert_eq!(reached, 1);
        let marked = backends[0].failed_at.load(Ordering::Relaxed);
        assert_ne!(marked, 0);
        // Tried again, it would be marked later than that.
        std::thread::sleep(Duration::from_millis(20));
        let (_stream, reached) = connect_first(&backends, timeout, retry_after).unwrap();
        assert_eq!(reached, 1);
        assert_eq!(backends[0].failed_at.load(Ordering::Relaxed), marked);
        let (_stream, reached) = connect_first(&backends, timeout, Duration::ZERO).unwrap();
        assert_eq!(reached, 1);
        assert!(backends[0].failed_at.load(Ordering::Relaxed) > marked);
        let error = connect_first(&backends[..1], timeout, Duration::ZERO)
            .err()
            .unwrap();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
}
