//! One route's connections, from the match to their log line: the
//! connection limit, connecting to the backend, the PROXY header for it,
//! the two forwarding directions, and the outcome.
//!
//! A matched connection is served on the sniffer thread that accepted
//! and matched it (an inline route: no queue, no hand-off): that thread
//! connects to the backend, sends the opening, and forwards the reply
//! itself while it is small and quick (the [first
//! exchange](crate::forward::first_exchange)). Most connections, a
//! request and its reply, end there, and the thread then waits for the
//! client's end. A reply that goes on is handed to a pool thread
//! ([`Download`]) and this thread forwards client to backend. Whichever
//! direction ends last writes the log line; the sockets close when both
//! are done.
//!
//! What a forwarded connection costs in hand-offs: none, for a request
//! and a quick reply. Its context switches (4.4 per `Connection: close`
//! request, `benches/README.md` says where) are the waits for what the
//! peers do: the connection in `accept`, the backend's reply, the
//! client's end. A keep-alive connection is handed over once, after
//! 2 ms without a reply, and then costs two per request: the request
//! wakes the upload, the reply wakes the download, each blocked on its
//! own socket, as std has no call that waits on two.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use connmux::{PeekableStream, ProxyAddr, ProxyHeader, ProxyTlv, StreamParts};

use crate::backend::{self, Backend, BackendStream};
use crate::forward::{
    self, Failure, FirstExchange, Flow, Idle, Opening, Operation, Relayed, Resume, BUFFER_BYTES,
};
use crate::limit::Permit;
use crate::listeners::ListenerState;
use crate::log::Record;
use crate::options::SendProxy;
use crate::pool::Work;
use crate::proxy::{Proxy, Route, Table};

thread_local! {
    /// The upload buffer of a sniffer thread, kept for the connections it
    /// serves after this one (the multiplexer reuses its threads).
    static UPLOAD_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; BUFFER_BYTES]);
}

/// The backend-to-client direction of a connection being forwarded, from
/// where the first exchange left it: work for a pool thread.
pub(crate) struct Download {
    connection: Arc<Connection>,
    resume: Resume,
}

/// A connection being forwarded, shared by its two directions.
pub(crate) struct Connection {
    proxy: &'static Proxy,
    /// The routes it was routed by, kept however often they are reloaded.
    table: Arc<Table>,
    route: usize,
    listener: &'static ListenerState,
    peer: Peer,
    facts: ClientFacts,
    accepted: Instant,
    client: BackendStream,
    backend: BackendStream,
    /// Which of the route's backends it reached.
    reached: usize,
    idle: Option<Idle>,
    /// The flow of the direction that ended first, until the other ends.
    first_ended: Mutex<Option<Flow>>,
    _permits: [Permit; 3],
}

/// A client connection portshare accepts: over TCP or a UNIX socket.
pub(crate) trait Client: Sized {
    /// The socket, for forwarding.
    fn into_socket(self) -> BackendStream;
    /// Who the client is, as the log shows it: the source of the PROXY
    /// header it came with, else the peer.
    fn peer(stream: &PeekableStream<Self>, listener: &ListenerState) -> Peer;
    /// The PROXY header to tell a backend about a connection that came
    /// without one.
    fn own_header(stream: &PeekableStream<Self>) -> ProxyHeader;
    /// Sends small writes at once: interactive protocols (SSH, redis-cli)
    /// must not wait for an ACK.
    fn send_small_writes_at_once(stream: &PeekableStream<Self>);
}

impl Client for TcpStream {
    fn into_socket(self) -> BackendStream {
        BackendStream::Tcp(self)
    }

    fn peer(stream: &PeekableStream<TcpStream>, _: &ListenerState) -> Peer {
        let header = stream.proxy_header().and_then(ProxyHeader::source);
        match (header, stream.peer_addr()) {
            (Some(source), _) => Peer::Addr(source),
            (None, Ok(peer)) => Peer::Addr(ProxyAddr::Inet(peer)),
            (None, Err(_)) => Peer::Unknown,
        }
    }

    fn own_header(stream: &PeekableStream<TcpStream>) -> ProxyHeader {
        match (stream.peer_addr(), stream.local_addr()) {
            (Ok(peer), Ok(local)) => ProxyHeader::tcp(peer, local),
            _ => ProxyHeader::unknown(),
        }
    }

    fn send_small_writes_at_once(stream: &PeekableStream<TcpStream>) {
        // Failing changes only latency.
        let _ = stream.set_nodelay(true);
    }
}

impl Client for UnixStream {
    fn into_socket(self) -> BackendStream {
        BackendStream::Unix(self)
    }

    fn peer(stream: &PeekableStream<UnixStream>, listener: &ListenerState) -> Peer {
        match stream.proxy_header().and_then(ProxyHeader::source) {
            Some(source) => Peer::Addr(source),
            None => Peer::Local(listener.name.clone()),
        }
    }

    fn own_header(_: &PeekableStream<UnixStream>) -> ProxyHeader {
        // A local client has no address a PROXY header can carry.
        ProxyHeader::unknown()
    }

    fn send_small_writes_at_once(_: &PeekableStream<UnixStream>) {
        // A UNIX socket sends at once.
    }
}

/// A client as the log names it.
pub(crate) enum Peer {
    Addr(ProxyAddr),
    /// A client of a UNIX socket listener (named here by its path).
    Local(Arc<str>),
    Unknown,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Addr(addr) => addr.fmt(f),
            Peer::Local(path) => write!(f, "unix:{path}"),
            Peer::Unknown => f.write_str("-"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

impl Work for Download {
    fn run(self, buffer: &mut [u8]) {
        let Download { connection, resume } = self;
        let flow = forward::download(
            &connection.client,
            &connection.backend,
            resume,
            buffer,
            connection.idle.as_ref(),
        );
        connection.direction_ended(Direction::Down, flow);
    }
}

/// Serves one connection that route `route` of `table` matched, on the
/// thread that matched it: refused past a connection limit (all
/// connections', the listener's, the route's), else forwarded to the
/// route's backend.
pub(crate) fn serve<C: Client>(
    proxy: &'static Proxy,
    table: Arc<Table>,
    route: usize,
    listener: &'static ListenerState,
    stream: PeekableStream<C>,
) {
    let accepted = stream.accepted_at();
    let route_name = &table.routes[route].name;
    proxy.metrics.sniffed(Some(route_name), accepted.elapsed());
    let peer = C::peer(&stream, listener);
    let facts = ClientFacts::of(&stream, proxy, &table.routes[route]);
    let permits = [
        (&proxy.limit, "refused-max-conns", "global"),
        (&listener.limit, "refused-listener-max-conns", "listener"),
        (
            &table.routes[route].limit,
            "refused-route-max-conns",
            "route",
        ),
    ]
    .map(|(limit, outcome, which)| limit.try_acquire().ok_or((outcome, which)));
    let permits = match permits {
        [Ok(all), Ok(listener), Ok(route)] => [all, listener, route],
        [Err((outcome, which)), ..]
        | [_, Err((outcome, which)), _]
        | [_, _, Err((outcome, which))] => {
            proxy.metrics.refused(&listener.name, which);
            let ending = Ending {
                proxy,
                listener,
                peer: &peer,
                route: &table.routes[route],
                facts: &facts,
                accepted,
            };
            return ending.log(&End::nothing_sent(outcome, None));
        }
    };
    proxy.metrics.opened(&listener.name, route_name);
    let matched = Matched {
        proxy,
        table,
        route,
        listener,
        stream,
        peer,
        facts,
        accepted,
        permits,
    };
    UPLOAD_BUFFER.with(|buffer| open(matched, &mut buffer.borrow_mut()));
}

/// A connection a route matched, within the connection limits.
struct Matched<C> {
    proxy: &'static Proxy,
    table: Arc<Table>,
    route: usize,
    listener: &'static ListenerState,
    stream: PeekableStream<C>,
    peer: Peer,
    facts: ClientFacts,
    accepted: Instant,
    permits: [Permit; 3],
}

/// Connects to the backend and forwards the connection: the opening and
/// the first exchange on this thread; then, if the reply goes on, the
/// download on a pool thread, and the upload on this one.
fn open<C: Client>(matched: Matched<C>, buffer: &mut [u8]) {
    let Matched {
        proxy,
        table,
        route: route_index,
        listener,
        stream,
        peer,
        facts,
        accepted,
        permits,
    } = matched;
    let route = &table.routes[route_index];
    let connected =
        backend::connect_first(&route.backends, table.connect_timeout, table.backend_retry);
    let (backend, reached) = match connected {
        Ok(connected) => connected,
        Err(error) => {
            let ending = Ending {
                proxy,
                listener,
                peer: &peer,
                route,
                facts: &facts,
                accepted,
            };
            return ending.closed(&End::nothing_sent(connect_outcome(&error), Some(&error)));
        }
    };
    C::send_small_writes_at_once(&stream);
    let header = route
        .send_proxy
        .map(|version| proxy_header(&stream, version, proxy, &table, route));
    let StreamParts {
        conn: client,
        unread,
        pending_error,
        ..
    } = stream.into_parts();
    let opening = Opening {
        client_bytes: unread.len(),
        bytes: match header {
            Some(mut header) => {
                header.extend_from_slice(&unread);
                header
            }
            None => unread,
        },
        pending_error,
    };
    let idle = table.idle_timeout.map(Idle::new);
    let connection = Arc::new(Connection {
        proxy,
        table,
        route: route_index,
        listener,
        peer,
        facts,
        accepted,
        client: client.into_socket(),
        backend,
        reached,
        idle,
        first_ended: Mutex::new(None),
        _permits: permits,
    });
    let sent = match forward::send_opening(&connection.client, &connection.backend, opening) {
        Ok(sent) => sent,
        Err(flow) => {
            let nothing = Flow {
                bytes: 0,
                failure: None,
            };
            connection.direction_ended(Direction::Down, nothing);
            return connection.direction_ended(Direction::Up, flow);
        }
    };
    let idle = connection.idle.as_ref();
    match forward::first_exchange(&connection.client, &connection.backend, buffer, idle) {
        FirstExchange::Done(flow) => connection.direction_ended(Direction::Down, flow),
        FirstExchange::GoesOn(resume) => {
            let down = resume.bytes();
            let download = Download {
                connection: Arc::clone(&connection),
                resume,
            };
            if let Err(error) = proxy.pool.run(download) {
                return connection.log(sent, down, "no-thread", Some(&error));
            }
        }
    }
    let flow = forward::upload(&connection.client, &connection.backend, sent, buffer, idle);
    connection.direction_ended(Direction::Up, flow);
}

impl Connection {
    /// Records that one direction ended; the second to end logs the
    /// connection.
    fn direction_ended(&self, direction: Direction, flow: Flow) {
        let mut first_ended = self
            .first_ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(other) = first_ended.take() else {
            *first_ended = Some(flow);
            return;
        };
        drop(first_ended);
        let (up, down) = match direction {
            Direction::Up => (flow, other),
            Direction::Down => (other, flow),
        };
        let relayed = Relayed { up, down };
        let (up, down) = (relayed.up.bytes, relayed.down.bytes);
        match relayed.failure() {
            None => self.log(up, down, "ok", None),
            Some(failure) => self.log(up, down, failure_outcome(failure), Some(failure)),
        }
    }

    fn log(&self, up: u64, down: u64, outcome: &'static str, detail: Option<&dyn fmt::Display>) {
        let route = &self.table.routes[self.route];
        let ending = Ending {
            proxy: self.proxy,
            listener: self.listener,
            peer: &self.peer,
            route,
            facts: &self.facts,
            accepted: self.accepted,
        };
        ending.closed(&End {
            backend: route.backends.get(self.reached),
            up,
            down,
            outcome,
            detail,
        });
    }
}

/// What the client's opening said that the log shows: its TLS server
/// name and ALPN protocols, its HTTP/1 Host. Read only when the log
/// writes the connection's line.
#[derive(Default)]
struct ClientFacts {
    sni: Option<String>,
    alpn: Vec<String>,
    host: Option<String>,
}

impl ClientFacts {
    fn of<C>(stream: &PeekableStream<C>, proxy: &Proxy, route: &Route) -> ClientFacts {
        if !route.log || !proxy.log.writes_connections() {
            return ClientFacts::default();
        }
        match stream.tls_client_hello() {
            Some(hello) => ClientFacts {
                sni: hello.sni,
                alpn: hello.alpn,
                host: None,
            },
            None => ClientFacts {
                host: stream.http1_request().and_then(|request| request.host),
                ..ClientFacts::default()
            },
        }
    }
}

/// A connection a route took, as its log line and the metrics tell it.
struct Ending<'a> {
    proxy: &'static Proxy,
    listener: &'a ListenerState,
    peer: &'a Peer,
    route: &'a Route,
    facts: &'a ClientFacts,
    accepted: Instant,
}

/// How a connection ended: the backend it reached, the bytes each way,
/// the outcome word and the error behind it.
struct End<'a> {
    backend: Option<&'a Backend>,
    up: u64,
    down: u64,
    outcome: &'static str,
    detail: Option<&'a dyn fmt::Display>,
}

impl<'a> End<'a> {
    /// The end of a connection closed before a byte was forwarded.
    fn nothing_sent(outcome: &'static str, detail: Option<&'a dyn fmt::Display>) -> End<'a> {
        End {
            backend: None,
            up: 0,
            down: 0,
            outcome,
            detail,
        }
    }
}

impl Ending<'_> {
    /// The end of a connection the route took: counted, and logged.
    fn closed(&self, end: &End<'_>) {
        let metrics = &self.proxy.metrics;
        metrics.closed(
            &self.listener.name,
            &self.route.name,
            end.outcome,
            end.up,
            end.down,
        );
        self.log(end);
    }

    /// The connection's line, unless its route logs none.
    fn log(&self, end: &End<'_>) {
        if !self.route.log {
            return;
        }
        self.proxy.log.connection(&Record {
            peer: self.peer,
            listener: &self.listener.name,
            route: Some(self.route),
            backend: end.backend,
            up: end.up,
            down: end.down,
            time: Some(self.accepted.elapsed()),
            outcome: end.outcome,
            detail: end.detail,
            sni: self.facts.sni.as_deref(),
            alpn: &self.facts.alpn,
            host: self.facts.host.as_deref(),
        });
    }
}

/// The PROXY header telling the backend who the client is: the one the
/// connection came with, if it carried addresses, else one from the TCP
/// peer to the address it connected to.
fn proxy_header<C: Client>(
    stream: &PeekableStream<C>,
    version: SendProxy,
    proxy: &Proxy,
    table: &Table,
    route: &Route,
) -> Vec<u8> {
    let own;
    let header = match stream.proxy_header() {
        // A LOCAL or UNKNOWN header carries none: the receiver is to use
        // the connection's own endpoints, which are ours to tell.
        Some(received) if received.source().is_some() => received,
        _ => {
            own = C::own_header(stream);
            &own
        }
    };
    match version {
        SendProxy::V1 => header.encode_v1(),
        SendProxy::V2 => with_tlvs(header.clone(), stream, proxy, table, route).encode_v2(),
    }
}

/// PROXY v2 TLVs, as HAProxy's `proxy-v2-options` sends them: the
/// authority the client asked for (its TLS SNI, or its HTTP/1 Host), the
/// application protocol (ALPN: the one a `tls-alpn:` route matched on, else
/// the first the client offered) and, as `--proxy-v2-options` asks, a
/// unique ID and a CRC32C checksum. A TLV the header relayed from a load
/// balancer carries already is kept as it came.
fn with_tlvs<C>(
    mut header: ProxyHeader,
    stream: &PeekableStream<C>,
    proxy: &Proxy,
    table: &Table,
    route: &Route,
) -> ProxyHeader {
    let hello = stream.tls_client_hello();
    let authority = match &hello {
        Some(hello) => hello.sni.clone(),
        None => stream.http1_request().and_then(|request| request.host),
    };
    let alpn = hello.and_then(|hello| {
        let mut offered = hello.alpn.into_iter();
        match route.alpn.is_empty() {
            true => offered.next(),
            false => offered.find(|protocol| route.alpn.contains(protocol)),
        }
    });
    let options = table.proxy_v2_options;
    // A relayed ID is kept: none is taken for it.
    let relayed_id = header.unique_id().is_some();
    let unique_id = (options.unique_id && !relayed_id).then(|| proxy.unique_ids.next());
    // Any four bytes: the encoder computes the checksum.
    let crc32c = options.crc32c.then(|| "\0\0\0\0".to_owned());
    for (kind, value) in [
        (ProxyTlv::AUTHORITY, authority),
        (ProxyTlv::ALPN, alpn),
        (ProxyTlv::UNIQUE_ID, unique_id),
        (ProxyTlv::CRC32C, crc32c),
    ] {
        let Some(value) = value else { continue };
        if header.tlvs().any(|tlv| tlv.kind == kind) {
            continue;
        }
        // A value that would take the header past its bound is left out.
        if let Some(longer) = header.clone().with_tlv(kind, value.as_bytes()) {
            header = longer;
        }
    }
    header
}

/// The outcome word for a failed backend connect.
fn connect_outcome(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "backend-refused",
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "backend-timeout",
        _ => "backend-error",
    }
}

/// The outcome word for a connection that ended on a failure.
fn failure_outcome(failure: &Failure) -> &'static str {
    if failure.operation == Operation::Idle {
        return "idle-timeout";
    }
    match failure.error.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => "reset",
        _ => "error",
    }
}
