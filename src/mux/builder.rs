//! Settings and their defaults, and the builder that applies them.
//!
//! Every limit is on by default and sized for a public port: a client that
//! sends nothing is closed after the sniff deadline, a client that sends an
//! endless header is cut off at the byte limit, a route nobody accepts on
//! holds a bounded queue, and at most so many sniffs run at once (beyond
//! that, connections wait in the kernel's backlog).

use std::time::Duration;

use crate::proxy::mode::ProxyMode;
use crate::proxy::TrustedProxies;
use crate::sniff::SniffLimits;

/// The settings a [`Mux`](crate::Mux) runs with; see [`MuxBuilder`] for each one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) sniff_deadline: Option<Duration>,
    pub(crate) first_byte_timeout: Option<Duration>,
    pub(crate) max_connections: usize,
    pub(crate) max_sniff_bytes: usize,
    pub(crate) route_queue_capacity: usize,
    pub(crate) max_concurrent_sniffs: usize,
    pub(crate) sniffer_stack_size: usize,
    pub(crate) idle_sniffer_timeout: Duration,
    pub(crate) proxy_mode: ProxyMode,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) max_sniffs_per_source: Option<usize>,
    pub(crate) max_connections_per_source: Option<usize>,
    pub(crate) ipv6_source_prefix: u8,
    pub(crate) trace_decisions: bool,
}

impl Settings {
    /// The limits these settings give every sniff.
    pub(crate) fn sniff_limits(&self) -> SniffLimits {
        SniffLimits {
            deadline: self.sniff_deadline,
            max_bytes: self.max_sniff_bytes,
            first_byte_timeout: self.first_byte_timeout,
            proxy_mode: self.proxy_mode,
            trace: self.trace_decisions,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sniff_deadline: Some(MuxBuilder::DEFAULT_SNIFF_DEADLINE),
            first_byte_timeout: Some(MuxBuilder::DEFAULT_FIRST_BYTE_TIMEOUT),
            max_connections: MuxBuilder::DEFAULT_MAX_CONNECTIONS,
            max_sniff_bytes: MuxBuilder::DEFAULT_MAX_SNIFF_BYTES,
            route_queue_capacity: MuxBuilder::DEFAULT_ROUTE_QUEUE_CAPACITY,
            max_concurrent_sniffs: MuxBuilder::DEFAULT_MAX_CONCURRENT_SNIFFS,
            sniffer_stack_size: MuxBuilder::DEFAULT_SNIFFER_STACK_SIZE,
            idle_sniffer_timeout: MuxBuilder::DEFAULT_IDLE_SNIFFER_TIMEOUT,
            proxy_mode: ProxyMode::Off,
            trusted_proxies: TrustedProxies::default(),
            max_sniffs_per_source: Some(MuxBuilder::DEFAULT_MAX_SNIFFS_PER_SOURCE),
            max_connections_per_source: None,
            ipv6_source_prefix: MuxBuilder::DEFAULT_IPV6_SOURCE_PREFIX,
            trace_decisions: false,
        }
    }
}

/// Configures a [`Mux`](crate::Mux) before it is built over a listener.
///
/// ```
/// use connmux::Mux;
/// use std::net::TcpListener;
/// use std::time::Duration;
///
/// let mux = Mux::builder()
///     .sniff_deadline(Some(Duration::from_secs(2)))
///     .max_sniff_bytes(8 * 1024)
///     .route_queue_capacity(64)
///     .build(TcpListener::bind("127.0.0.1:0")?)?;
/// assert!(mux.local_addr()?.ip().is_loopback());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MuxBuilder {
    pub(crate) settings: Settings,
}

impl MuxBuilder {
    /// Default [`sniff_deadline`](Self::sniff_deadline): 5 seconds.
    pub const DEFAULT_SNIFF_DEADLINE: Duration = Duration::from_secs(5);
    /// Default [`first_byte_timeout`](Self::first_byte_timeout): 3 seconds.
    pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(3);
    /// Default [`max_connections`](Self::max_connections): 10,000.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
    /// Default [`max_sniff_bytes`](Self::max_sniff_bytes): 16 KiB.
    pub const DEFAULT_MAX_SNIFF_BYTES: usize = 16 * 1024;
    /// Default [`route_queue_capacity`](Self::route_queue_capacity): 128.
    pub const DEFAULT_ROUTE_QUEUE_CAPACITY: usize = 128;
    /// Default [`max_sniffs_per_source`](Self::max_sniffs_per_source): 256,
    /// a quarter of the sniffs that may run at once.
    pub const DEFAULT_MAX_SNIFFS_PER_SOURCE: usize = 256;

    /// Default [`ipv6_source_prefix`](Self::ipv6_source_prefix): 64, the
    /// network one IPv6 client usually holds.
    pub const DEFAULT_IPV6_SOURCE_PREFIX: u8 = 64;

    /// Default [`max_concurrent_sniffs`](Self::max_concurrent_sniffs): 1024.
    pub const DEFAULT_MAX_CONCURRENT_SNIFFS: usize = 1024;
    /// Default [`sniffer_stack_size`](Self::sniffer_stack_size): 256 KiB.
    pub const DEFAULT_SNIFFER_STACK_SIZE: usize = 256 * 1024;
    /// The smallest [`sniffer_stack_size`](Self::sniffer_stack_size): 64 KiB.
    ///
    /// Every built-in matcher and extraction function, the PROXY protocol
    /// layer and the sniff itself fit in it on their worst inputs, the
    /// deepest being HPACK decoding of a header block that fills the
    /// dynamic table with Huffman-coded names. Measured on x86-64 Linux by
    /// running them on threads of smaller and smaller stacks: a release
    /// build needs 32 KiB (the sniff alone fits in the 16 KiB of the
    /// smallest thread std starts), a debug build 52 KiB. `tests/stack.rs`
    /// runs them on threads of exactly this size in a debug build. What
    /// your own matchers, the event callback, a [`handshake`](crate::handshake)
    /// source's set-up (a TLS handshake) and inline handlers need comes on
    /// top.
    pub const MIN_SNIFFER_STACK_SIZE: usize = 64 * 1024;
    /// Default [`idle_sniffer_timeout`](Self::idle_sniffer_timeout): 10 seconds.
    pub const DEFAULT_IDLE_SNIFFER_TIMEOUT: Duration = Duration::from_secs(10);

    /// A builder with every setting at its default.
    ///
    /// ```
    /// use connmux::{memory, MuxBuilder};
    ///
    /// let mux = MuxBuilder::new().build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Self {
        MuxBuilder::default()
    }

    /// How long a connection may take, from accept, to be matched; `None`
    /// waits forever (not advised on a public port). When it passes, the
    /// routes decide on the bytes received so far, so a catch-all route
    /// still takes a silent client.
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    /// use std::time::Duration;
    ///
    /// // Clients on this port are slow: give them 30 seconds to be routed.
    /// let mut mux = Mux::builder()
    ///     .sniff_deadline(Some(Duration::from_secs(30)))
    ///     .build(memory::listener().0)?;
    /// let _ssh = mux.route(matchers::ssh());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sniff_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.settings.sniff_deadline = deadline;
        self
    }

    /// How long, from accept, a client may take to send its first byte
    /// (after any PROXY header); `None` leaves only the sniff deadline.
    /// Under [`ProxyMode::Required`] it also bounds the wait for the
    /// header's first byte (a load balancer sends its header as soon as it
    /// connects): a peer silent that long is refused.
    /// Silent clients are the cheapest attack on a public port, so this is
    /// shorter than the deadline by default. A [`silence`] route with a
    /// shorter timeout takes silent clients first; when this timeout
    /// passes, the routes decide on empty input at its end (a catch-all
    /// still takes the client), and otherwise the connection is closed
    /// with a [`DropReason::NoFirstByte`] event.
    ///
    /// [`silence`]: crate::matchers::silence
    /// [`DropReason::NoFirstByte`]: crate::DropReason::NoFirstByte
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    /// use std::time::Duration;
    ///
    /// // An SMTP client waits for the server to speak: a client silent for
    /// // 500 ms goes to the SMTP route, long before the timeout.
    /// let mut mux = Mux::builder()
    ///     .first_byte_timeout(Some(Duration::from_secs(3)))
    ///     .build(memory::listener().0)?;
    /// let _http = mux.route(matchers::http1_fast());
    /// let _smtp = mux.route(matchers::silence(Duration::from_millis(500)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn first_byte_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.first_byte_timeout = timeout;
        self
    }

    /// How many connections may be open at once (at least 1): those being
    /// sniffed or held by a handler (a stream counts until it is dropped
    /// or taken apart with [`into_parts`](crate::PeekableStream::into_parts)).
    /// When that many are open, no thread accepts and new connections
    /// stay in the kernel's listen backlog, as with HAProxy's `maxconn`: a
    /// thread reserves a place before it blocks in `accept`. (A connection
    /// accepted on a reservation whose place a handle's `accept` or a
    /// dispatcher took meanwhile waits on its thread for a place.)
    ///
    /// A connection queued for a route holds no place while it waits:
    /// queues are bounded by [`route_queue_capacity`](Self::route_queue_capacity),
    /// and a route nobody accepts on must not take the places of the
    /// others. It takes a place when a handle accepts it, even past the
    /// limit (an accepted connection cannot be refused); accepting then
    /// waits until the count is back under. So at most
    /// `max_connections` plus the queues' capacities are open at once.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    ///
    /// let mux = Mux::builder().max_connections(500).build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_connections(mut self, count: usize) -> Self {
        self.settings.max_connections = count.max(1);
        self
    }

    /// How many bytes a sniff may read before the routes must decide on
    /// what they have.
    ///
    /// ```
    /// use connmux::{matchers, memory, Mux};
    ///
    /// // Routing by a header that may come after large cookies.
    /// let mut mux = Mux::builder()
    ///     .max_sniff_bytes(64 * 1024)
    ///     .build(memory::listener().0)?;
    /// let tenant = matchers::http1_header("x-tenant", "blue").max_head_bytes(64 * 1024);
    /// let _blue = mux.route(tenant);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_sniff_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_sniff_bytes = bytes;
        self
    }

    /// How many matched connections each route holds for its handles
    /// before it drops new ones with [`DropReason::QueueFull`]
    /// (at least 1).
    ///
    /// [`DropReason::QueueFull`]: crate::DropReason::QueueFull
    ///
    /// ```
    /// use connmux::{memory, Mux};
    ///
    /// let mux = Mux::builder().route_queue_capacity(16).build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn route_queue_capacity(mut self, capacity: usize) -> Self {
        self.settings.route_queue_capacity = capacity.max(1);
        self
    }

    /// How many connections may be sniffed at once (at least 1); when that
    /// many are, no thread accepts and new connections stay in the
    /// kernel's listen backlog. Threads blocked in `accept` count here, so
    /// that the limit holds however many of them return with a
    /// connection.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    ///
    /// let mux = Mux::builder().max_concurrent_sniffs(64).build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_concurrent_sniffs(mut self, count: usize) -> Self {
        self.settings.max_concurrent_sniffs = count.max(1);
        self
    }

    /// The stack size of the sniffer threads, at least
    /// [`MIN_SNIFFER_STACK_SIZE`](Self::MIN_SNIFFER_STACK_SIZE) (a smaller
    /// value is raised to it), as [`std::thread::Builder::stack_size`]
    /// sets it.
    ///
    /// A sniffer thread runs the matchers, the [event callback](crate::Mux::on_event),
    /// the set-up of each connection of a [`handshake`](crate::handshake)
    /// source (a TLS handshake, and the layer's reads during the sniff),
    /// and the handlers of [inline routes](crate::Mux::route_inline): this
    /// is the stack a handler runs on, nearly all of it free when the
    /// handler starts. A thread that overflows its stack aborts the whole
    /// process, so size this for the deepest handler (deep recursion, a
    /// large buffer on the stack, a library that uses either). Connections
    /// queued for a [`Listener`](crate::Listener) are served on your own
    /// threads, whose stacks you choose; an inline handler run by
    /// [`Dispatcher::dispatch`](crate::Dispatcher::dispatch) runs on the
    /// thread that called it.
    ///
    /// ```
    /// use connmux::{matchers, Mux};
    /// use std::io::Read;
    /// use std::net::TcpListener;
    ///
    /// // An inline handler that keeps a 300 KiB buffer on its stack.
    /// let mut mux = Mux::builder()
    ///     .sniffer_stack_size(1024 * 1024)
    ///     .build(TcpListener::bind("127.0.0.1:0")?)?;
    /// mux.route_inline(matchers::any(), |mut stream, _peer| {
    ///     let mut frame = [0u8; 300 * 1024];
    ///     let _ = stream.read(&mut frame);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sniffer_stack_size(mut self, bytes: usize) -> Self {
        self.settings.sniffer_stack_size = bytes.max(Self::MIN_SNIFFER_STACK_SIZE);
        self
    }

    /// How long an idle sniffer thread waits before it exits. Sniffer
    /// threads are reused across connections: at most 64 wait in `accept`
    /// at once, and the others wait for a turn. A thread exits when it
    /// waited this long for a turn or in `accept` (which times out after
    /// this long, on sources that can: see
    /// [`Accept::set_accept_timeout`](crate::Accept::set_accept_timeout)),
    /// unless busy threads still need it to accept. With no thread left,
    /// `serve`'s own thread accepts, and starts a thread for each
    /// connection until threads are back: an idle multiplexer keeps no
    /// sniffer thread, as a burst's threads do not outlive it.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    /// use std::time::Duration;
    ///
    /// let mux = Mux::builder()
    ///     .idle_sniffer_timeout(Duration::from_secs(60))
    ///     .build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn idle_sniffer_timeout(mut self, timeout: Duration) -> Self {
        self.settings.idle_sniffer_timeout = timeout;
        self
    }

    /// Whether connections start with a PROXY protocol header: off (the
    /// default), optional or required. The header is parsed and removed
    /// before the routes see the bytes; its addresses are on the stream
    /// ([`PeekableStream::proxy_header`]). The deadline and byte limit
    /// cover the header too. Under `Optional`, a client that sends nothing
    /// is silent like any other: silence routes and the
    /// [`first_byte_timeout`](Self::first_byte_timeout) apply.
    ///
    /// ```
    /// use connmux::{Mux, ProxyMode};
    /// use std::net::TcpListener;
    ///
    /// let behind_haproxy = Mux::builder()
    ///     .proxy_protocol(ProxyMode::Required)
    ///     .build(TcpListener::bind("127.0.0.1:0")?)?;
    /// # drop(behind_haproxy);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// [`PeekableStream::proxy_header`]: crate::PeekableStream::proxy_header
    pub fn proxy_protocol(mut self, mode: ProxyMode) -> Self {
        self.settings.proxy_mode = mode;
        self
    }

    /// The peers whose PROXY header is believed, under
    /// [`proxy_protocol`](Self::proxy_protocol) `Optional` or `Required`;
    /// by default the loopback networks and peers on the same machine
    /// without an IP address ([`TrustedProxies::default`]): a load
    /// balancer on the same host. List a load balancer elsewhere.
    ///
    /// From any other peer a header is never parsed. Under `Required` the
    /// connection is closed at once, with a
    /// [`DropReason::UntrustedProxy`](crate::DropReason::UntrustedProxy)
    /// event naming the peer; under `Optional` its bytes, a header
    /// included, are the client's own, judged by the routes and passed
    /// on: a client cannot claim another address. Which peer a connection
    /// comes from is what its source's
    /// [`Accept::peer_origin`](crate::Accept::peer_origin) says.
    ///
    /// ```
    /// use connmux::{Mux, ProxyMode, TrustedProxies};
    /// use std::net::TcpListener;
    ///
    /// let behind_load_balancers = Mux::builder()
    ///     .proxy_protocol(ProxyMode::Required)
    ///     .trusted_proxies(TrustedProxies::none().allow("10.0.0.0/24".parse()?))
    ///     .build(TcpListener::bind("127.0.0.1:0")?)?;
    /// # drop(behind_load_balancers);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trusted_proxies(mut self, trusted: TrustedProxies) -> Self {
        self.settings.trusted_proxies = trusted;
        self
    }

    /// How many connections from one client address may be sniffed at
    /// once (at least 1; `None`: no limit), so that one address flooding
    /// the port cannot take the
    /// [`max_concurrent_sniffs`](Self::max_concurrent_sniffs) other
    /// clients need. Past it a connection is closed at once, with a
    /// [`DropReason::SourceLimit`](crate::DropReason::SourceLimit) event.
    ///
    /// Counted by the peer's IP address, an IPv6 peer by its network
    /// ([`ipv6_source_prefix`](Self::ipv6_source_prefix)); peers without
    /// one (Unix sockets, in-memory connections) are not limited, nor is
    /// a [trusted proxy](Self::trusted_proxies) under a PROXY mode, which
    /// speaks for many clients: the client its PROXY header names is
    /// counted instead, from the header on (and refused then, the event
    /// carrying the header). Behind a load balancer that sends no
    /// PROXY header every connection comes from its address: set `None`
    /// there. Like the other limits on sniffs at once, it does not apply
    /// to a [`Dispatcher`](crate::Dispatcher), whose caller chooses the
    /// threads.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    ///
    /// let mux = Mux::builder()
    ///     .max_sniffs_per_source(Some(16))
    ///     .build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_sniffs_per_source(mut self, max: Option<usize>) -> Self {
        self.settings.max_sniffs_per_source = max.map(|max| max.max(1));
        self
    }

    /// How many connections from one client address may be open at once
    /// (being sniffed, waiting in a route's queue, or held by a handler,
    /// until the stream is dropped; at least 1); `None`, the default, for
    /// no limit. Past it a connection is closed as soon as it is accepted,
    /// with a [`DropReason::SourceLimit`](crate::DropReason::SourceLimit)
    /// event. Addresses are counted, and exempt, as for
    /// [`max_sniffs_per_source`](Self::max_sniffs_per_source): behind a
    /// [trusted proxy](Self::trusted_proxies), the client its PROXY
    /// header names, so one client of a load balancer cannot hold every
    /// connection either.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    ///
    /// let mux = Mux::builder()
    ///     .max_connections_per_source(Some(100))
    ///     .build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_connections_per_source(mut self, max: Option<usize>) -> Self {
        self.settings.max_connections_per_source = max.map(|max| max.max(1));
        self
    }

    /// The prefix length an IPv6 peer is counted by for
    /// [`max_sniffs_per_source`](Self::max_sniffs_per_source) and
    /// [`max_connections_per_source`](Self::max_connections_per_source)
    /// (at most 128): a client given a /64 can use any address in it.
    ///
    /// ```
    /// use connmux::{memory, Mux};
    ///
    /// let mux = Mux::builder().ipv6_source_prefix(56).build(memory::listener().0)?;
    /// # drop(mux);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ipv6_source_prefix(mut self, prefix: u8) -> Self {
        self.settings.ipv6_source_prefix = prefix.min(128);
        self
    }

    /// Whether each sniff records a [`DecisionTrace`](crate::DecisionTrace):
    /// which route decided what at which byte, what ended the sniff, and
    /// after how long. A dropped connection's trace is in its
    /// [`Event::Dropped`](crate::Event::Dropped), a routed one's on its
    /// stream ([`PeekableStream::decision_trace`](crate::PeekableStream::decision_trace)).
    /// Off by default: a trace is one allocation of a step per route,
    /// and finding the byte that settled each verdict asks the route about
    /// a few shorter prefixes (a binary search).
    ///
    /// ```
    /// use connmux::{matchers, memory, Event, Mux, SniffEnd};
    /// use std::io::Write;
    /// use std::sync::{Arc, Mutex};
    ///
    /// let mut mux = Mux::builder().trace_decisions(true).build(memory::listener().0)?;
    /// let _ssh = mux.route(matchers::ssh());
    /// let _http = mux.route(matchers::http1_fast());
    /// let traces = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&traces);
    /// mux.on_event(move |event| {
    ///     if let Event::Dropped { trace: Some(trace), .. } = event {
    ///         seen.lock().unwrap().push(trace.to_string());
    ///     }
    /// });
    /// let (mut client, server_end) = memory::pair();
    /// client.write_all(b"\x16\x03\x01")?;
    /// drop(client);
    /// assert!(mux.dispatcher().dispatch(server_end, memory::MemoryAddr(1)).is_err());
    /// let traces = traces.lock().unwrap();
    /// assert!(traces[0].starts_with("no route took it, ended by every route refusing after 3 bytes"));
    /// assert!(traces[0].ends_with("route 0 NoMatch at byte 0, route 1 NoMatch at byte 0"));
    /// # let _ = SniffEnd::AllRefused;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trace_decisions(mut self, trace: bool) -> Self {
        self.settings.trace_decisions = trace;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_on_by_default_and_clamped() {
        let defaults = Settings::default();
        assert_eq!(defaults.sniff_deadline, Some(Duration::from_secs(5)));
        assert_eq!(defaults.max_sniff_bytes, 16 * 1024);
        let built = MuxBuilder::new()
            .route_queue_capacity(0)
            .max_concurrent_sniffs(0)
            .max_connections(0)
            .sniffer_stack_size(16 * 1024)
            .sniff_deadline(None)
            .settings;
        assert_eq!(built.route_queue_capacity, 1);
        assert_eq!(built.max_concurrent_sniffs, 1);
        assert_eq!(built.max_connections, 1);
        assert_eq!(built.sniffer_stack_size, 64 * 1024);
        let roomy = MuxBuilder::new().sniffer_stack_size(1 << 20).settings;
        assert_eq!(roomy.sniffer_stack_size, 1 << 20);
        assert_eq!(built.sniff_deadline, None);
    }
}
