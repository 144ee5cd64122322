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
///
/// ```
/// use connmux::{matchers, memory, Mux};
/// use std::io::Write;
///
/// let mut mux = Mux::new(memory::listener().0)?;
/// let _postgres = mux.route(matchers::postgres());
/// let _mqtt = mux.route(matchers::mqtt());
/// let dispatcher = mux.dispatcher();
/// let ssl_request = b"\x00\x00\x00\x08\x04\xd2\x16\x2f";
/// for opening in [&b"GET / HTTP/1.1\r\n\r\n"[..], ssl_request] {
///     let (mut client, server_end) = memory::pair();
///     client.write_all(opening)?;
///     let _ = dispatcher.dispatch(server_end, memory::MemoryAddr(1));
/// }
///
/// let stats = mux.handle().stats();
/// assert_eq!(stats.routed, [1, 0]);
/// assert_eq!(stats.not_matched, 1);
/// assert_eq!(stats.accepted, stats.routed_total() + stats.dropped());
/// # Ok::<(), std::io::Error>(())
/// ```
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
    /// Connections dropped because a PROXY header was required and their
    /// peer is not trusted to send one.
    pub untrusted_proxy: u64,
    /// Connections dropped because their address already had as many
    /// connections being sniffed as it may.
    pub source_limit: u64,
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

/// The one table from drop reason to counter: each reason's pattern and
/// the [`Stats`] field that counts it. A new reason is one line here and
/// its field in `Stats`; the match it expands to is exhaustive, so a
/// reason without a line does not compile.
macro_rules! drop_counters {
    ($($reason:pat => $field:ident,)*) => {
        /// A drop counter: its place in [`Counters`]' array.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy)]
        enum DropCounter {
            $($field,)*
        }

        const DROP_COUNTERS: [DropCounter; [$(DropCounter::$field),*].len()] =
            [$(DropCounter::$field),*];

        impl DropCounter {
            fn of(reason: &DropReason) -> DropCounter {
                match reason {
                    $($reason => DropCounter::$field,)*
                }
            }

            fn read(self, stats: &Stats) -> u64 {
                match self {
                    $(DropCounter::$field => stats.$field,)*
                }
            }

            fn in_stats(self, stats: &mut Stats) -> &mut u64 {
                match self {
                    $(DropCounter::$field => &mut stats.$field,)*
                }
            }
        }
    };
}

drop_counters! {
    DropReason::NotMatched => not_matched,
    DropReason::TimedOut => timed_out,
    DropReason::NoFirstByte => no_first_byte,
    DropReason::QueueFull(_) => queue_full,
    DropReason::RouteClosed(_) => route_closed,
    DropReason::Io(_) => io_errors,
    DropReason::ShutDown => shut_down,
    DropReason::ProxyHeader(_) => bad_proxy_header,
    DropReason::NoSnifferThread(_) => no_sniffer_thread,
    DropReason::UntrustedProxy => untrusted_proxy,
    DropReason::SourceLimit => source_limit,
    DropReason::MatcherPanicked(_) => matcher_panics,
    DropReason::TooManyConnections => too_many_connections,
}

impl Stats {
    /// Connections closed before reaching a handler, for any reason: the
    /// sum of the drop counters.
    ///
    /// ```
    /// let stats = connmux::Stats::default();
    /// assert_eq!(stats.dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        DROP_COUNTERS.iter().map(|counter| counter.read(self)).sum()
    }

    /// Connections handed to any route: the sum of `routed`.
    ///
    /// ```
    /// let mut stats = connmux::Stats::default();
    /// stats.routed = vec![3, 4];
    /// assert_eq!(stats.routed_total(), 7);
    /// ```
    pub fn routed_total(&self) -> u64 {
        self.routed.iter().sum()
    }
}

/// The live counters behind [`Stats`], except the per-route ones, which
/// live with each route.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    accept_errors: AtomicU64,
    dropped: [AtomicU64; DROP_COUNTERS.len()],
}

impl Counters {
    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_drop(&self, reason: &DropReason) {
        self.dropped[DropCounter::of(reason) as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, routed: Vec<u64>) -> Stats {
        let mut stats = Stats {
            accepted: self.accepted.load(Ordering::Relaxed),
            accept_errors: self.accept_errors.load(Ordering::Relaxed),
            routed,
            ..Stats::default()
        };
        for counter in DROP_COUNTERS {
            *counter.in_stats(&mut stats) = self.dropped[counter as usize].load(Ordering::Relaxed);
        }
        stats
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
            DropReason::ProxyHeader(crate::ProxyError::missing()),
            DropReason::UntrustedProxy,
            DropReason::SourceLimit,
            DropReason::MatcherPanicked("bug".into()),
            DropReason::NoSnifferThread(std::io::Error::other("EAGAIN")),
            DropReason::NoFirstByte,
            DropReason::TooManyConnections,
        ] {
            counters.count_drop(&reason);
        }
        let stats = counters.snapshot(vec![4, 1]);
        assert_eq!(stats.accepted, 2);
        assert_eq!(stats.accept_errors, 1);
        assert_eq!(stats.shut_down, 2);
        assert_eq!(stats.dropped(), 14);
        assert_eq!(stats.too_many_connections, 1);
        assert_eq!(stats.no_first_byte, 1);
        assert_eq!(stats.matcher_panics, 1);
        assert_eq!(stats.bad_proxy_header, 1);
        assert_eq!(stats.no_sniffer_thread, 1);
        assert_eq!(stats.untrusted_proxy, 1);
        assert_eq!(stats.source_limit, 1);
        assert_eq!(stats.routed_total(), 5);
    }
}
