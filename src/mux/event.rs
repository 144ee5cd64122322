//! Events: what happened to connections that never reached a handler, and
//! to the accept loop.
//!
//! The multiplexer never logs. It calls the callback given to
//! [`Mux::on_event`](crate::Mux::on_event) from the thread where the event
//! happened (a sniffer, or the accept loop), so the callback should be
//! quick and must not block.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::proxy::ProxyHeader;
use crate::route::id::RouteId;

/// Something the application may want to log or count.
///
/// ```
/// use connmux::{DropReason, Event, Mux};
/// use std::net::{SocketAddr, TcpListener};
///
/// fn log(event: &Event<SocketAddr>) {
///     match event {
///         Event::Dropped { peer, reason: DropReason::NotMatched, .. } => {
///             eprintln!("{peer}: unknown protocol")
///         }
///         other => eprintln!("{other}"),
///     }
/// }
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// mux.on_event(log);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<A = SocketAddr> {
    /// A connection was closed before any handler received it.
    #[non_exhaustive]
    Dropped {
        /// The client's address.
        peer: A,
        /// Why it was closed.
        reason: DropReason,
        /// How many bytes the sniff had read from it (after its PROXY
        /// header, if any).
        sniffed_bytes: usize,
        /// The PROXY protocol header it started with, if the multiplexer
        /// expects one and it was valid: the address of the real client
        /// behind the load balancer that `peer` is.
        proxy_header: Option<ProxyHeader>,
    },
    /// `accept` failed with a transient error (EMFILE, ECONNABORTED, ...);
    /// the accept loop retries after `retry_in`.
    #[non_exhaustive]
    AcceptFailed {
        /// The error `accept` returned.
        error: io::Error,
        /// How long the accept loop waits before the next attempt.
        retry_in: Duration,
    },
}

/// Why a connection was closed before reaching a handler.
#[derive(Debug)]
#[non_exhaustive]
pub enum DropReason {
    /// Every route refused the bytes the client sent before it stopped
    /// sending or reached the sniff byte limit.
    NotMatched,
    /// The sniff deadline passed before any route took the connection.
    TimedOut,
    /// The client sent nothing within the first-byte timeout and no route
    /// took a silent client.
    NoFirstByte,
    /// The route matched but its queue was full: nobody is accepting on
    /// that route fast enough.
    QueueFull(RouteId),
    /// The route matched but its handle had been closed.
    RouteClosed(RouteId),
    /// Reading from the client failed before any route took it.
    Io(io::Error),
    /// The multiplexer was shutting down.
    ShutDown,
    /// The connection did not start with the PROXY protocol header the
    /// settings require, or started with a malformed one.
    ProxyHeader(crate::ProxyError),
    /// A matcher panicked while judging this connection (the message is
    /// the panic's). Only this connection is affected.
    MatcherPanicked(String),
    /// No sniffer thread was free and none could be started (the process
    /// is out of threads or memory).
    NoSnifferThread(io::Error),
    /// A connection given to a [`Dispatcher`](crate::Dispatcher) found
    /// [`max_connections`](crate::MuxBuilder::max_connections) already
    /// open. (The accept loop waits for a place instead.)
    TooManyConnections,
}

impl<A: fmt::Debug> fmt::Display for Event<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Dropped {
                peer,
                reason,
                sniffed_bytes,
                proxy_header,
            } => {
                write!(f, "connection from {peer:?}")?;
                if let Some(source) = proxy_header.as_ref().and_then(ProxyHeader::source) {
                    write!(f, " (PROXY source {source})")?;
                }
                write!(f, " closed after {sniffed_bytes} sniffed bytes: {reason}")
            }
            Event::AcceptFailed { error, retry_in } => {
                write!(f, "accept failed ({error}); retrying in {retry_in:?}")
            }
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::NotMatched => f.write_str("no route matched"),
            DropReason::TimedOut => f.write_str("sniff deadline passed before a route matched"),
            DropReason::NoFirstByte => {
                f.write_str("the client sent nothing within the first-byte timeout")
            }
            DropReason::QueueFull(route) => write!(f, "{route} matched but its queue is full"),
            DropReason::RouteClosed(route) => {
                write!(f, "{route} matched but its listener is closed")
            }
            DropReason::Io(error) => write!(f, "reading from the client failed: {error}"),
            DropReason::ShutDown => f.write_str("the multiplexer is shutting down"),
            DropReason::ProxyHeader(error) => write!(f, "bad PROXY protocol header: {error}"),
            DropReason::MatcherPanicked(message) => write!(f, "a matcher panicked: {message}"),
            DropReason::NoSnifferThread(error) => {
                write!(f, "no sniffer thread could be started: {error}")
            }
            DropReason::TooManyConnections => f.write_str("the open-connection limit was reached"),
        }
    }
}

/// A `DropReason` is also the error of
/// [`Dispatcher::dispatch`](crate::Dispatcher::dispatch).
impl std::error::Error for DropReason {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DropReason::Io(error) | DropReason::NoSnifferThread(error) => Some(error),
            DropReason::ProxyHeader(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_say_what_happened_to_whom() {
        let peer: SocketAddr = "192.0.2.7:4242".parse().unwrap();
        let event = Event::Dropped {
            peer,
            reason: DropReason::QueueFull(RouteId(2)),
            sniffed_bytes: 18,
            proxy_header: None,
        };
        assert_eq!(
            event.to_string(),
            "connection from 192.0.2.7:4242 closed after 18 sniffed bytes: route 2 matched but its queue is full"
        );
        let behind_balancer = Event::Dropped {
            peer,
            reason: DropReason::NotMatched,
            sniffed_bytes: 3,
            proxy_header: Some(ProxyHeader::tcp(
                "203.0.113.5:40000".parse().unwrap(),
                "192.0.2.1:443".parse().unwrap(),
            )),
        };
        assert_eq!(
            behind_balancer.to_string(),
            "connection from 192.0.2.7:4242 (PROXY source 203.0.113.5:40000) closed after 3 sniffed bytes: no route matched"
        );
        let event: Event = Event::AcceptFailed {
            error: io::Error::other("too many open files"),
            retry_in: Duration::from_millis(40),
        };
        assert_eq!(
            event.to_string(),
            "accept failed (too many open files); retrying in 40ms"
        );
    }
}
