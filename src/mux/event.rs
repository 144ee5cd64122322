//! Events: what happened to connections that never reached a handler, and
//! to accepting.
//!
//! The multiplexer never logs. It calls the callback given to
//! [`Mux::on_event`](crate::Mux::on_event) from the thread where the event
//! happened (a sniffer thread, or the thread in `serve`), so the callback should be
//! quick and must not block.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::lint::Finding;
use crate::proxy::ProxyHeader;
use crate::route::id::RouteId;
use crate::sniff::trace::DecisionTrace;

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
        /// How the routes decided, if the multiplexer was built with
        /// [`trace_decisions(true)`](crate::MuxBuilder::trace_decisions)
        /// and the sniff ran (`None` for a connection dropped before it,
        /// or whose matcher panicked). Not part of the event's `Display`:
        /// print it beside.
        trace: Option<Arc<DecisionTrace>>,
    },
    /// `accept` failed with a transient error (EMFILE, ECONNABORTED, ...);
    /// no thread accepts again before `retry_in` has passed.
    #[non_exhaustive]
    AcceptFailed {
        /// The error `accept` returned.
        error: io::Error,
        /// How long accepting waits before the next attempt.
        retry_in: Duration,
    },
    /// Every sniffer thread is busy and no other can be started: the pool
    /// has as many as the system lets this process start, less a reserve
    /// for the rest of the program (read from `vm.max_map_count`,
    /// `kernel.threads-max`, `kernel.pid_max` and `RLIMIT_NPROC` when
    /// serving starts), or starting one just failed. Accepting waits for a
    /// thread to be free, leaving new connections in the kernel's backlog.
    /// Reported each time it starts waiting, and after each failed start
    /// (retried after a back-off).
    #[non_exhaustive]
    ThreadCeiling {
        /// The threads the pool has.
        threads: usize,
        /// Why a thread could not be started; `None` at the ceiling read
        /// from the system.
        error: Option<io::Error>,
    },
    /// The [route-table lint](crate::lint) found something about the
    /// routes: reported once for each finding when `serve` starts (the
    /// same list as [`Mux::lint`](crate::Mux::lint)).
    #[non_exhaustive]
    RouteLint {
        /// What it found.
        finding: Finding,
    },
}

/// Why a connection was closed before reaching a handler: in an
/// [`Event::Dropped`], and as the error of
/// [`Dispatcher::dispatch`](crate::Dispatcher::dispatch).
///
/// ```
/// use connmux::{matchers, memory, DropReason, Mux};
/// use std::io::Write;
///
/// let mut mux = Mux::builder().route_queue_capacity(1).build(memory::listener().0)?;
/// let _mqtt = mux.route(matchers::mqtt());
/// let dispatcher = mux.dispatcher();
/// let connect = b"\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04test";
/// let mut outcomes = Vec::new();
/// for peer in 0..2 {
///     let (mut client, server_end) = memory::pair();
///     client.write_all(connect)?;
///     outcomes.push(dispatcher.dispatch(server_end, memory::MemoryAddr(peer)));
/// }
/// // Nobody accepts: the second client finds the queue full.
/// assert!(outcomes[0].is_ok());
/// assert!(matches!(outcomes[1], Err(DropReason::QueueFull(_))));
/// # Ok::<(), std::io::Error>(())
/// ```
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
    /// The settings require a PROXY header and the peer is not one of the
    /// [trusted proxies](crate::MuxBuilder::trusted_proxies): nothing was
    /// read from it.
    UntrustedProxy,
    /// The client's address already had as many connections being
    /// sniffed, or open, as
    /// [`max_sniffs_per_source`](crate::MuxBuilder::max_sniffs_per_source)
    /// or [`max_connections_per_source`](crate::MuxBuilder::max_connections_per_source)
    /// allows: nothing was read from it.
    SourceLimit,
    /// A matcher panicked while judging this connection (the message is
    /// the panic's). Only this connection is affected.
    MatcherPanicked(String),
    /// `serve`'s own thread accepted it, as it does while no sniffer
    /// thread exists (an idle multiplexer), and no thread could be
    /// started to sniff it (the process is out of threads or memory).
    NoSnifferThread(io::Error),
    /// A connection given to a [`Dispatcher`](crate::Dispatcher) found
    /// [`max_connections`](crate::MuxBuilder::max_connections) already
    /// open. (`serve` waits for a place instead.)
    TooManyConnections,
}

impl<A: fmt::Debug> fmt::Display for Event<A> {
    /// One log line: what happened, then each cause in the chain.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Dropped {
                peer,
                reason,
                sniffed_bytes,
                proxy_header,
                ..
            } => {
                write!(f, "connection from {peer:?}")?;
                if let Some(source) = proxy_header.as_ref().and_then(ProxyHeader::source) {
                    write!(f, " (PROXY source {source})")?;
                }
                write!(f, " closed after {sniffed_bytes} sniffed bytes: {reason}")?;
                let mut cause = reason.source();
                while let Some(error) = cause {
                    write!(f, ": {error}")?;
                    cause = error.source();
                }
                Ok(())
            }
            Event::AcceptFailed { error, retry_in } => {
                write!(f, "accept failed ({error}); retrying in {retry_in:?}")
            }
            Event::ThreadCeiling {
                threads,
                error: None,
            } => write!(
                f,
                "{threads} sniffer threads, as many as the system allows: \
                 accepting waits for one to be free"
            ),
            Event::ThreadCeiling {
                threads,
                error: Some(error),
            } => write!(
                f,
                "no sniffer thread could be started beside {threads} ({error}): \
                 accepting waits for one to be free"
            ),
            Event::RouteLint { finding } => write!(f, "route table: {finding}"),
        }
    }
}

/// Says what failed; the error that caused it, if any, is the
/// [`source`](Error::source), not repeated here (see
/// [`ServeError`](crate::ServeError) for the rule).
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
            DropReason::Io(_) => f.write_str("reading from the client failed"),
            DropReason::ShutDown => f.write_str("the multiplexer is shutting down"),
            DropReason::ProxyHeader(_) => f.write_str("bad PROXY protocol header"),
            DropReason::SourceLimit => {
                f.write_str("its address already has as many connections as it may")
            }
            DropReason::UntrustedProxy => {
                f.write_str("a PROXY header is required and the peer is not trusted to send one")
            }
            DropReason::MatcherPanicked(message) => write!(f, "a matcher panicked: {message}"),
            DropReason::NoSnifferThread(_) => f.write_str("no sniffer thread could be started"),
            DropReason::TooManyConnections => f.write_str("the open-connection limit was reached"),
        }
    }
}

/// A `DropReason` is also the error of
/// [`Dispatcher::dispatch`](crate::Dispatcher::dispatch); its source is the
/// I/O error or PROXY header error behind it, if any.
impl Error for DropReason {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            DropReason::Io(error) | DropReason::NoSnifferThread(error) => Some(error),
            DropReason::ProxyHeader(error) => Some(error),
            _ => None,
        }
    }
}

impl DropReason {
    /// The [`io::ErrorKind`] this reason converts to (see the `From`
    /// impl).
    fn io_kind(&self) -> io::ErrorKind {
        match self {
            DropReason::NotMatched | DropReason::ProxyHeader(_) => io::ErrorKind::InvalidData,
            DropReason::TimedOut | DropReason::NoFirstByte => io::ErrorKind::TimedOut,
            DropReason::QueueFull(_) | DropReason::TooManyConnections | DropReason::SourceLimit => {
                io::ErrorKind::ConnectionRefused
            }
            DropReason::RouteClosed(_) | DropReason::ShutDown => io::ErrorKind::NotConnected,
            DropReason::UntrustedProxy => io::ErrorKind::PermissionDenied,
            DropReason::Io(error) | DropReason::NoSnifferThread(error) => error.kind(),
            DropReason::MatcherPanicked(_) => io::ErrorKind::Other,
        }
    }

    /// The `DropReason` inside an `io::Error` made from one, so that a
    /// caller of [`dispatch`](crate::Dispatcher::dispatch) that used `?`
    /// into `io::Error` can still tell the reasons apart.
    ///
    /// ```
    /// use connmux::DropReason;
    /// use std::io;
    ///
    /// let error = io::Error::from(DropReason::NotMatched);
    /// assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    /// assert!(matches!(DropReason::from_io(&error), Some(DropReason::NotMatched)));
    /// assert!(DropReason::from_io(&io::Error::other("elsewhere")).is_none());
    /// ```
    pub fn from_io(error: &io::Error) -> Option<&DropReason> {
        error.get_ref()?.downcast_ref::<DropReason>()
    }
}

/// An `io::Error` whose kind says what kind of failure the reason is, with
/// the reason inside it (recover it with [`DropReason::from_io`]):
///
/// | reason | `io::ErrorKind` |
/// |---|---|
/// | `NotMatched`, `ProxyHeader` | `InvalidData`: the client's bytes are not what a route or the PROXY layer accepts |
/// | `TimedOut`, `NoFirstByte` | `TimedOut` |
/// | `QueueFull`, `TooManyConnections`, `SourceLimit` | `ConnectionRefused`: refused for want of room (the connection is closed, there is nothing to retry) |
/// | `RouteClosed`, `ShutDown` | `NotConnected`, as [`AcceptError`](crate::AcceptError)'s `Closed` and `ShutDown` |
/// | `UntrustedProxy` | `PermissionDenied` |
/// | `Io(e)`, `NoSnifferThread(e)` | `e.kind()` |
/// | `MatcherPanicked` | `Other` |
///
/// ```
/// use connmux::{matchers, memory, DropReason, Mux};
/// use std::io::{self, Write};
///
/// let mut mux = Mux::new(memory::listener().0)?;
/// let _http = mux.route(matchers::http1_fast());
/// let dispatcher = mux.dispatcher();
///
/// let (mut client, server_end) = memory::pair();
/// client.write_all(b"\x16\x03\x01")?;
/// drop(client);
/// let refused = || -> io::Result<()> {
///     dispatcher.dispatch(server_end, memory::MemoryAddr(1))?;
///     Ok(())
/// }();
/// let error = refused.unwrap_err();
/// assert_eq!(error.kind(), io::ErrorKind::InvalidData);
/// assert!(matches!(DropReason::from_io(&error), Some(DropReason::NotMatched)));
/// # Ok::<(), io::Error>(())
/// ```
impl From<DropReason> for io::Error {
    fn from(reason: DropReason) -> io::Error {
        io::Error::new(reason.io_kind(), reason)
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
            trace: None,
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
            trace: None,
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

    #[test]
    fn an_event_prints_the_reason_and_its_cause_once() {
        let event: Event = Event::Dropped {
            peer: "192.0.2.7:4242".parse().unwrap(),
            reason: DropReason::Io(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
            sniffed_bytes: 0,
            proxy_header: None,
            trace: None,
        };
        assert_eq!(
            event.to_string(),
            "connection from 192.0.2.7:4242 closed after 0 sniffed bytes: reading from the client failed: reset"
        );
    }

    #[test]
    fn a_drop_reason_converts_into_io_error_and_comes_back() {
        use io::ErrorKind::*;
        let cases = [
            (DropReason::NotMatched, InvalidData),
            (
                DropReason::ProxyHeader(crate::ProxyError::missing()),
                InvalidData,
            ),
            (DropReason::TimedOut, TimedOut),
            (DropReason::NoFirstByte, TimedOut),
            (DropReason::QueueFull(RouteId(3)), ConnectionRefused),
            (DropReason::TooManyConnections, ConnectionRefused),
            (DropReason::SourceLimit, ConnectionRefused),
            (DropReason::RouteClosed(RouteId(3)), NotConnected),
            (DropReason::ShutDown, NotConnected),
            (DropReason::UntrustedProxy, PermissionDenied),
            (
                DropReason::Io(io::Error::from(ConnectionReset)),
                ConnectionReset,
            ),
            (
                DropReason::NoSnifferThread(io::Error::from(OutOfMemory)),
                OutOfMemory,
            ),
            (DropReason::MatcherPanicked("bug".into()), Other),
        ];
        for (reason, kind) in cases {
            let message = reason.to_string();
            let error = io::Error::from(reason);
            assert_eq!(error.kind(), kind, "{message}");
            assert_eq!(error.to_string(), message);
            let back = DropReason::from_io(&error).expect("the reason is inside");
            assert_eq!(back.to_string(), message);
        }
        assert!(DropReason::from_io(&io::Error::from(TimedOut)).is_none());
    }
}
