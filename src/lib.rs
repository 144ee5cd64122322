//! Serve many protocols on one TCP port, with blocking `std::net` and
//! nothing else.
//!
//! connmux accepts on one listener, reads the first bytes of each
//! connection on the sniffer thread that accepted it, asks an ordered list of routes which
//! protocol they are, and hands the connection, every byte intact, to that
//! route's [`Listener`], which you use like a `std::net::TcpListener`. It
//! does for blocking Rust what Go's cmux does for etcd, with the limits a
//! public port needs switched on by default.
//!
//! # The stages
//!
//! A connection passes through five stages, and the source tree has a
//! folder for each, read top to bottom:
//!
//! | stage | in `src/` | what happens |
//! |---|---|---|
//! | accept | `source/` | an [`Accept`] source (`TcpListener`, `UnixListener`, [`memory`]) yields a [`Connection`] |
//! | multiplex | `mux/` | [`Mux`] runs sniffer threads that take turns accepting and sniff what they accept, or a [`Dispatcher`] serves your own loop; limits, [`Event`]s, [`Stats`], shutdown |
//! | sniff | `sniff/`, `proxy/` | the first bytes are read at a pace the client pays for, a PROXY header is removed, the routes decide |
//! | judge | `matcher/`, `matchers/` | each route's [`Matcher`] gives a [`Verdict`] on the bytes so far, and on the connection's [`Addresses`] if it routes by address |
//! | hand over | `route/` | the winner's queue and [`Listener`], or its inline handler; the handler reads a [`PeekableStream`] |
//!
//! `sync/` holds the small primitives they share (a bounded queue, the
//! connection limit, the shutdown signal), and `address/` the IP networks
//! and [`Addresses`] that trust and routes by address read.
//!
//! # A first multiplexer
//!
//! ```
//! use connmux::{matchers, Mux};
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::thread;
//!
//! // 1. Build the mux over an ordinary listener.
//! let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
//!
//! // 2. Register routes, most specific first. Each returns a Listener.
//! let http = mux.route(matchers::http1_fast());
//! let tls = mux.route(matchers::tls());
//! let other = mux.route(matchers::any());
//!
//! // 3. Serve on a thread of its own; keep a handle to stop it.
//! let addr = mux.local_addr()?;
//! let handle = mux.handle();
//! let server = thread::spawn(move || mux.serve());
//!
//! // 4. Run any blocking server on each Listener.
//! let http_server = thread::spawn(move || {
//!     for stream in http.incoming() {
//!         let mut stream = stream?;
//!         let mut head = [0u8; 3];
//!         stream.read_exact(&mut head)?; // the sniffed bytes come first
//!         assert_eq!(&head, b"GET");
//!         stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")?;
//!     }
//!     Ok::<(), std::io::Error>(())
//! });
//!
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.ends_with("hi"));
//!
//! // 5. Shut down: serve returns, every accept fails with ShutDown.
//! handle.shutdown();
//! server.join().unwrap()?;
//! http_server.join().unwrap()?;
//! # drop((tls, other));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How a connection is routed
//!
//! A [`Matcher`] is a pure function of the bytes received so far that
//! answers [`Verdict::Match`], [`Verdict::NoMatch`] or
//! [`Verdict::NeedMore`]. Routes are tried in registration order: a route
//! wins when it says `Match` and every earlier route has said `NoMatch`. A
//! later route's match waits while an earlier route still needs bytes; when
//! the input ends (the client stops sending, the sniff deadline passes, or
//! the byte limit is reached), undecided routes count as no match. So a
//! three-byte SOCKS5 greeting routed after [`http1_fast`] and [`tls`] is
//! decided from its first byte, while a silent client reaches a catch-all
//! [`any`] route only when the deadline passes.
//!
//! Closures are matchers, and [`any_of`], [`all_of`] and [`not`] combine
//! them:
//!
//! ```
//! use connmux::{any_of, matchers, Matcher, Verdict};
//!
//! let starts_with_hash = |seen: &[u8]| match seen.first() {
//!     None => Verdict::NeedMore,
//!     Some(b'#') => Verdict::Match,
//!     Some(_) => Verdict::NoMatch,
//! };
//! let http_or_hash = any_of((matchers::http1_fast(), starts_with_hash));
//! assert_eq!(http_or_hash.verdict(b"#!"), Verdict::Match);
//! ```
//!
//! The [`tutorial`] teaches writing a matcher of your own from the first
//! byte.
//!
//! The [`matchers`] module has detectors for HTTP/1 (method, request line,
//! header fields, WebSocket), HTTP/2 and gRPC (with a full HPACK decoder),
//! TLS (versions, SNI, ALPN, JA3/JA4), SSH, SOCKS4/5, Redis, PostgreSQL,
//! MQTT, OpenVPN, RDP, tinc, adb, syslog, DNS and XMPP, byte patterns, and
//! a silence route for server-first protocols. Connections from a load
//! balancer can start with a PROXY protocol header, parsed and removed
//! before matching ([`MuxBuilder::proxy_protocol`]).
//!
//! # What the handler gets
//!
//! A [`PeekableStream`]: reading it returns the sniffed bytes first,
//! exactly once and in order, then whatever end of stream or error the
//! sniff saw, then reads the socket directly. Writes, addresses, timeouts
//! and shutdown go straight to the socket. It also tells what the sniff
//! learned: the route, the PROXY header's addresses, the TLS SNI and ALPN
//! list, the HTTP request line or HTTP/2 pseudo-headers.
//!
//! # Limits and failures
//!
//! Every limit has a default fit for a public port (see [`MuxBuilder`]):
//! a 5-second sniff deadline, 16 KiB of sniffed bytes, 128 queued
//! connections per route, 1024 concurrent sniffs. A connection that never
//! reaches a handler is closed and reported to the [`Mux::on_event`]
//! callback as an [`Event`] naming the peer and the [`DropReason`]; counts
//! are in [`MuxHandle::stats`]. Closing one route's [`Listener`] affects
//! only that route.
//!
//! # Other connection sources
//!
//! `Mux` works over any [`Accept`] source: `TcpListener`, `UnixListener`,
//! the in-memory listener in [`memory`], which tests and benches use, a
//! [`channel`] the program feeds with connections of any type, and a
//! route's own [`Listener`], so multiplexers nest.
//!
//! # A multiplexer inside TLS
//!
//! As with cmux's recursive example: the outer multiplexer tells TLS from
//! plain text, and an inner one, over the TLS route, tells HTTP/2 from
//! HTTP/1 inside the TLS session. [`handshake`] wraps the TLS route so
//! each connection's handshake runs on the inner multiplexer's sniffer
//! thread for that connection once `accept` has returned (never inside
//! it, where a slow client would hold up the others), under the sniff's
//! time limits. With rustls, given its `config` (an
//! `Arc<rustls::ServerConfig>`):
//!
//! ```ignore
//! use connmux::{handshake, matchers, Mux};
//! use rustls::{ServerConnection, StreamOwned};
//! use std::{io, net::TcpListener, sync::Arc, thread};
//!
//! # let listener = TcpListener::bind("127.0.0.1:0")?;
//! // nested example: begin
//! let mut outer = Mux::new(listener)?;
//! let tls = outer.route(matchers::tls());
//! let plain = outer.route(matchers::any());
//! let terminate = move |socket| {
//!     let session = ServerConnection::new(Arc::clone(&config)).map_err(io::Error::other)?;
//!     Ok(StreamOwned::new(session, socket))
//! };
//! let mut inner = Mux::new(handshake(tls, terminate))?;
//! let h2 = inner.route(matchers::http2_preface());
//! let h1 = inner.route(matchers::any());
//! let (outer_handle, inner_handle) = (outer.handle(), inner.handle());
//! thread::spawn(move || inner.serve());
//! thread::spawn(move || outer.serve());
//! // nested example: end
//! ```
//!
//! `h2`, `h1` and `plain` are listeners like any other; the streams of
//! `h2` and `h1` read and write the TLS session's plain text. This
//! example is compiled and run, line for line, by the interop tests in
//! `tests/interop/rust/` (with curl over TLS reaching both inner routes).
//! Shutting the inner multiplexer down leaves the outer route open for as
//! long as a clone of its `Listener` lives.
//!
//! # Bringing your own accept loop
//!
//! A program that accepts connections itself (its own loop, a socket
//! handed over by systemd, connections coming out of a TLS terminator)
//! routes them with a [`Dispatcher`] from [`Mux::dispatcher`]. Its
//! [`dispatch`](Dispatcher::dispatch) sniffs on the calling thread with
//! the mux's routes, deadlines, byte limit, events and counters, then
//! queues the connection for its route's [`Listener`] or runs the inline
//! route's handler right there. With inline routes nothing crosses
//! threads: no queue, no sniffer thread, and no heap allocation for the
//! sniffed bytes, since each thread keeps its sniff buffer from one
//! connection to the next.
//!
//! ```
//! use connmux::{matchers, memory, DropReason, Mux};
//! use std::io::{Read, Write};
//!
//! let (source, _unused) = memory::listener();
//! let mut mux = Mux::new(source)?;
//! mux.route_inline(matchers::prefixes(["PING"]), |mut stream, _peer| {
//!     let mut ping = [0u8; 4];
//!     if stream.read_exact(&mut ping).is_ok() {
//!         let _ = stream.write_all(b"PONG");
//!     }
//! });
//! let dispatcher = mux.dispatcher(); // Clone + Send + Sync: one per thread
//!
//! // Connections from anywhere: here, in-memory pairs.
//! let (mut client, conn) = memory::pair();
//! client.write_all(b"PING")?;
//! dispatcher.dispatch(conn, memory::MemoryAddr(1))?; // the handler ran here
//! let mut reply = [0u8; 4];
//! client.read_exact(&mut reply)?;
//! assert_eq!(&reply, b"PONG");
//!
//! let (mut client, conn) = memory::pair();
//! client.write_all(b"HELO")?;
//! let refused = dispatcher.dispatch(conn, memory::MemoryAddr(2));
//! assert!(matches!(refused, Err(DropReason::NotMatched)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`http1_fast`]: matchers::http1_fast
//! [`tls`]: matchers::tls
//! [`any`]: matchers::any

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]
// docs.rs builds with `--cfg docsrs` on nightly, where `doc_cfg` marks the
// items that exist only on Unix (Unix-socket sources, file descriptors).
#![cfg_attr(docsrs, feature(doc_cfg))]

// The stages, in the order a connection meets them.
mod address;
pub mod lint;
mod matcher;
pub mod matchers;
mod mux;
mod proxy;
mod route;
mod sniff;
mod source;
mod sync;
pub mod tutorial;

// Checks of the rules every matcher keeps, for matchers' authors.
pub mod conformance;

// Test machinery shared with fuzz/ and tests/: not part of the API.
#[doc(hidden)]
pub mod internal;

pub use source::accept::{Accept, WakeAccept};
pub use source::channel::{channel, ChannelSender, ChannelSource, SendError};
pub use source::connection::Connection;
pub use source::layered::{handshake, Handshake, Layered, Socket};
pub use source::memory;

pub use mux::builder::MuxBuilder;
pub use mux::dispatcher::Dispatcher;
pub use mux::error::ServeError;
pub use mux::event::{DropReason, Event};
pub use mux::handle::MuxHandle;
pub use mux::stats::Stats;
pub use mux::Mux;

pub use address::{Addresses, IpNet, IpNetError};
pub use proxy::mode::ProxyMode;
pub use proxy::{
    parse_proxy_header, ProxyAddr, ProxyCommand, ProxyError, ProxyHeader, ProxyParse,
    ProxyTransport, ProxyVersion, UnixPath, PROXY_V1_MAX_HEADER_BYTES, PROXY_V2_MAX_HEADER_BYTES,
};
pub use proxy::{PeerOrigin, ProxySsl, ProxyTlv, ProxyTlvs, TrustedProxies};

pub use matcher::combinators::{all_of, any_of, not, AllOf, AnyOf, MatcherList, Not};
pub use matcher::{Matcher, ReplyAck, Verdict};

pub use route::error::AcceptError;
pub use route::id::RouteId;
pub use route::listener::{Incoming, Listener};
pub use route::stream::{IntoInnerError, PeekableStream, StreamParts};

pub use sniff::trace::{DecisionTrace, SniffEnd, TraceStep};
