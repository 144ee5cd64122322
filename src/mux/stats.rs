//! Counters: how many connections were accepted, routed, and dropped for
//! each reason. Updated with relaxed atomics on the hot path; read as a
//! [`Stats`] snapshot through [`MuxHandle::stats`](crate::MuxHandle::stats).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::mux::event::DropReason;

/// A snapshot of the multiplexer's counters.
///
/// Every accepted connection ends up counted exactly once in `routed` or
/// in one of the drop counters, except those still being sniffed
/// (`accepted - routed - dropped()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted from the listener or given to a dispatcher.
    pub accepted: u64,
    /// Connections handed to each route, by registration order (empty
    /// before `serve` starts).
    pub routed: Vec<u64>,
    /// Connections no route matched.
    pub not_matched: u64,
    /// Connections whose sniff deadline passed.
    pub timed_out: u64,
    /// Connections that sent nothing within the first-byte timeout.
    pub no_first_byte: u64,
    /// Connections dropped because their route's queue was full.
    pub queue_full: u64,
    /// Connections dropped because their route's handle was closed.
    pub route_closed: u64,
    /// Connections dropped because reading from them failed.
    pub io_errors: u64,
    /// Connections dropped because the multiplexer was shutting down.
    pub shut_down: u64,
    /// Connections dropped for a missing or malformed PROXY header.
    pub bad_proxy_header: u64,
    /// Connections dropped because a matcher panicked on them.
    pub matcher_panics: u64,
    /// Connections dropped because no sniffer thread could be started.
    pub no_sniffer_thread: u64,
    /// Connections given to a dispatcher while the open-connection limit
    /// was reached.
    pub too_many_connections: u64,
    /// Transient `accept` failures (each followed by a back-off).
    pub accept_errors: u64,
}

impl Stats {
    /// Connections closed before reaching a handler, for any reason.
    pub fn dropped(&self) -> u64 {
        self.not_matched
            + self.timed_out
            + self.no_first_byte
            + self.queue_full
            + self.route_closed
            + self.io_errors
            + self.shut_down
            + self.bad_proxy_header
            + self.no_sniffer_thread
            + self.matcher_panics
            + self.too_many_connections
    }

    /// Connections handed to any route.
    pub fn routed_total(&self) -> u64 {
        self.routed.iter().sum()
    }
}

/// The live counters behind [`Stats`], except the per-route ones, which
/// live with each route.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    not_matched: AtomicU64,
    timed_out: AtomicU64,
    no_first_byte: AtomicU64,
    queue_full: AtomicU64,
    route_closed: AtomicU64,
    io_errors: AtomicU64,
    shut_down: AtomicU64,
    bad_proxy_header: AtomicU64,
    no_sniffer_thread: AtomicU64,
    matcher_panics: AtomicU64,
    too_many_connections: AtomicU64,
    accept_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_drop(&self, reason: &DropReason) {
        let counter = match reason {
            DropReason::NotMatched => &self.not_matched,
            DropReason::TimedOut => &self.timed_out,
            DropReason::NoFirstByte => &self.no_first_byte,
            DropReason::QueueFull(_) => &self.queue_full,
            DropReason::RouteClosed(_) => &self.route_closed,
            DropReason::Io(_) => &self.io_errors,
            DropReason::ShutDown => &self.shut_down,
            DropReason::ProxyHeader(_) => &self.bad_proxy_header,
            DropReason::NoSnifferThread(_) => &self.no_sniffer_thread,
            DropReason::MatcherPanicked(_) => &self.matcher_panics,
            DropReason::TooManyConnections => &self.too_many_connections,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, routed: Vec<u64>) -> Stats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            accepted: read(&self.accepted),
            routed,
            not_matched: read(&self.not_matched),
            timed_out: read(&self.timed_out),
            no_first_byte: read(&self.no_first_byte),
            queue_full: read(&self.queue_full),
            route_closed: read(&self.route_closed),
            io_errors: read(&self.io_errors),
            shut_down: read(&self.shut_down),
            bad_proxy_header: read(&self.bad_proxy_header),
            no_sniffer_thread: read(&self.no_sniffer_thread),
            matcher_panics: read(&self.matcher_panics),
            too_many_connections: read(&self.too_many_connections),
            accept_errors: read(&self.accept_errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::id::RouteId;

    #[test]
    fn each_reason_has_its_counter() {
        let counters = Counters::default();
        counters.count_accepted();
        counters.count_accepted();
        counters.count_accept_error();
        for reason in [
            DropReason::NotMatched,
            DropReason::TimedOut,
            DropReason::QueueFull(RouteId(0)),
            DropReason::RouteClosed(RouteId(0)),
            DropReason::Io(std::io::Error::other("x")),
            DropReason::ShutDown,
            DropReason::ShutDown,
            DropReason::NoSnifferThread(std::io::Error::other("EAGAIN")),
            DropReason::ProxyHeader(crate::ProxyError::missing()),
            DropReason::MatcherPanicked("bug".into()),
            DropReason::NoFirstByte,
            DropReason::TooManyConnections,
        ] {
            counters.count_drop(&reason);
        }
        let stats = counters.snapshot(vec![4, 1]);
        assert_eq!(stats.accepted, 2);
        assert_eq!(stats.accept_errors, 1);
        assert_eq!(stats.shut_down, 2);
        assert_eq!(stats.dropped(), 12);
        assert_eq!(stats.too_many_connections, 1);
        assert_eq!(stats.no_first_byte, 1);
        assert_eq!(stats.matcher_panics, 1);
        assert_eq!(stats.bad_proxy_header, 1);
        assert_eq!(stats.no_sniffer_thread, 1);
        assert_eq!(stats.routed_total(), 5);
    }
}
