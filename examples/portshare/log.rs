//! Logging: a start-up line, then one line on stdout per connection.
//!
//! A connection's line is written when it ends, in one `writeln!` on the
//! locked stdout (which is line-buffered, so one `write` call per line):
//!
//! ```text
//! peer=203.0.113.7:41000 route=http1 backend=127.0.0.1:8000 up=78 down=1024 time=1.250ms outcome=ok
//! peer=203.0.113.7:41001 route=ssh backend=127.0.0.1:22 up=21 down=0 time=0.310ms outcome=backend-refused detail="Connection refused (os error 111)"
//! peer=203.0.113.7:41002 route=- backend=- up=3 down=0 time=- outcome=no-match
//! ```
//!
//! `up` counts client-to-backend bytes (the sniffed ones included), `down`
//! backend-to-client; `time` runs from the route's hand-off to the close.
//! Connections that reach no route are logged from the multiplexer's
//! events, `up` then being the bytes sniffed before they were dropped.

use std::fmt;
use std::io::{self, Write};
use std::time::Duration;

use connmux::{DropReason, Event};

use crate::backend::Backend;
use crate::proxy::Route;

/// Where the lines go; `quiet` drops the per-connection ones.
pub(crate) struct Log {
    quiet: bool,
}

/// One connection's line.
pub(crate) struct Record<'a> {
    /// The listener that accepted it.
    pub(crate) listener: &'a dyn fmt::Display,
    /// The client: the PROXY header's source when there was one.
    pub(crate) peer: &'a dyn fmt::Display,
    /// The route's spec, or `None` when no route took the connection.
    pub(crate) route: Option<&'a Route>,
    /// The backend the connection reached; `None`: the route's backends
    /// are logged (it reached none, or no route took it).
    pub(crate) backend: Option<&'a Backend>,
    pub(crate) up: u64,
    pub(crate) down: u64,
    /// From hand-off to close; `None` when unknown.
    pub(crate) time: Option<Duration>,
    /// One word: `ok`, `reset`, `backend-refused`, `no-match`, ...
    pub(crate) outcome: &'static str,
    /// The error behind the outcome, if any.
    pub(crate) detail: Option<&'a dyn fmt::Display>,
}

impl fmt::Display for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer={}", self.peer)?;
        match self.route {
            Some(route) => match self.backend {
                Some(backend) => write!(f, " route={} backend={backend}", route.name)?,
                None => write!(f, " route={} backend={}", route.name, route.backends_text())?,
            },
            None => f.write_str(" route=- backend=-")?,
        }
        write!(f, " up={} down={}", self.up, self.down)?;
        match self.time {
            Some(time) => write!(f, " time={:.3}ms", time.as_secs_f64() * 1000.0)?,
            None => f.write_str(" time=-")?,
        }
        write!(f, " outcome={} listener={}", self.outcome, self.listener)?;
        if let Some(detail) = self.detail {
            write!(f, " detail=\"{detail}\"")?;
        }
        Ok(())
    }
}

impl Log {
    /// A log that writes connection lines unless `quiet`.
    pub(crate) fn new(quiet: bool) -> Log {
        Log { quiet }
    }

    /// The start-up line, written even when quiet: it says which address
    /// was bound (useful with port 0) and how connections are routed.
    pub(crate) fn startup(&self, listening: &[String], routes: &[String]) {
        let _ = writeln!(
            io::stdout().lock(),
            "portshare listening on {} routes: {}",
            listening.join(" "),
            routes.join(" ")
        );
    }

    /// A reload's line, written even when quiet: the routes now used.
    pub(crate) fn reloaded(&self, routes: &[String]) {
        let _ = writeln!(
            io::stdout().lock(),
            "portshare reloaded routes: {}",
            routes.join(" ")
        );
    }

    /// One connection's line. A full or closed stdout is not worth
    /// stopping the proxy for, so write errors are ignored.
    pub(crate) fn connection(&self, record: &Record<'_>) {
        if !self.quiet {
            let _ = writeln!(io::stdout().lock(), "{record}");
        }
    }

    /// Logs an event of the multiplexer: a connection dropped before it
    /// reached a route (as a connection line), or a failed `accept` (on
    /// stderr, quiet or not).
    pub(crate) fn event<A: LoggedPeer + fmt::Debug>(
        &self,
        event: &Event<A>,
        listener: &dyn fmt::Display,
        routes: &[Route],
    ) {
        match event {
            Event::Dropped {
                peer,
                reason,
                sniffed_bytes,
                ..
            } => {
                let route = match reason {
                    DropReason::QueueFull(route) | DropReason::RouteClosed(route) => {
                        routes.get(route.index())
                    }
                    _ => None,
                };
                let detail: Option<&dyn fmt::Display> = match reason {
                    DropReason::Io(error) | DropReason::NoSnifferThread(error) => Some(error),
                    DropReason::ProxyHeader(error) => Some(error),
                    _ => None,
                };
                self.connection(&Record {
                    backend: None,
                    listener,
                    peer: &LocalPeer(peer.logged(), listener),
                    route,
                    up: *sniffed_bytes as u64,
                    down: 0,
                    time: None,
                    outcome: drop_outcome(reason),
                    detail,
                });
            }
            Event::AcceptFailed {
                error, retry_in, ..
            } => {
                eprintln!("portshare: accept failed ({error}); retrying in {retry_in:?}");
            }
            other => eprintln!("portshare: {other}"),
        }
    }
}

/// A client address as the log shows it; `None` for a UNIX socket's
/// client, which the log names by its listener.
pub(crate) trait LoggedPeer {
    fn logged(&self) -> Option<&dyn fmt::Display>;
}

impl LoggedPeer for std::net::SocketAddr {
    fn logged(&self) -> Option<&dyn fmt::Display> {
        Some(self)
    }
}

impl LoggedPeer for std::os::unix::net::SocketAddr {
    fn logged(&self) -> Option<&dyn fmt::Display> {
        None
    }
}

/// A peer as logged: its address, else `unix:` and the listener's path.
struct LocalPeer<'a>(Option<&'a dyn fmt::Display>, &'a dyn fmt::Display);

impl fmt::Display for LocalPeer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(peer) => peer.fmt(f),
            None => write!(f, "unix:{}", self.1),
        }
    }
}

/// The outcome word for a connection the multiplexer dropped.
fn drop_outcome(reason: &DropReason) -> &'static str {
    match reason {
        DropReason::NotMatched => "no-match",
        DropReason::TimedOut => "timeout",
        DropReason::ProxyHeader(_) => "bad-proxy-header",
        DropReason::UntrustedProxy => "untrusted-proxy",
        DropReason::SourceLimit => "source-limit",
        DropReason::Io(_) => "client-error",
        DropReason::QueueFull(_) => "queue-full",
        DropReason::RouteClosed(_) => "route-closed",
        DropReason::ShutDown => "shutdown",
        DropReason::NoSnifferThread(_) => "no-thread",
        DropReason::TooManyConnections => "too-many-connections",
        _ => "dropped",
    }
}
