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
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use connmux::{PeekableStream, ProxyAddr, ProxyHeader, ProxyTlv, StreamParts};

use crate::args::SendProxy;
use crate::backend::BackendStream;
use crate::forward::{self, Failure, FirstExchange, Flow, Opening, Relayed, Resume, BUFFER_BYTES};
use crate::limit::Permit;
use crate::log::Record;
use crate::pool::Work;
use crate::proxy::{Proxy, Route};

/// How long connecting to a backend may take before the client is closed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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
    route: &'static Route,
    peer: ProxyAddr,
    accepted: Instant,
    client: TcpStream,
    backend: BackendStream,
    /// The flow of the direction that ended first, until the other ends.
    first_ended: Mutex<Option<Flow>>,
    _permit: Permit<'static>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

impl Work for Download {
    fn run(self, buffer: &mut [u8]) {
        let Download { connection, resume } = self;
        let flow = forward::download(&connection.client, &connection.backend, resume, buffer);
        connection.direction_ended(Direction::Down, flow);
    }
}

/// Serves one connection `route` matched, on the thread that matched it:
/// refused past `--max-conns`, else forwarded to the route's backend.
pub(crate) fn serve(
    proxy: &'static Proxy,
    route: &'static Route,
    stream: PeekableStream,
    tcp_peer: SocketAddr,
) {
    let accepted = stream.accepted_at();
    let peer = client_address(&stream, tcp_peer);
    let Some(permit) = proxy.limit.try_acquire() else {
        return proxy.log.connection(&Record {
            peer: &peer,
            route: Some(route),
            up: 0,
            down: 0,
            time: Some(accepted.elapsed()),
            outcome: "refused-max-conns",
            detail: None,
            listener: &proxy.listen,
            sni: None,
            alpn: &[],
            host: None,
        });
    };
    let matched = Matched {
        proxy,
        route,
        stream,
        tcp_peer,
        peer,
        accepted,
        permit,
    };
    UPLOAD_BUFFER.with(|buffer| open(matched, &mut buffer.borrow_mut()));
}

/// A connection a route matched, within the connection limit.
struct Matched {
    proxy: &'static Proxy,
    route: &'static Route,
    stream: PeekableStream,
    tcp_peer: SocketAddr,
    peer: ProxyAddr,
    accepted: Instant,
    permit: Permit<'static>,
}

/// The client's address as the log shows it: the source of the PROXY
/// header it came with, else the TCP peer.
fn client_address(stream: &PeekableStream, tcp_peer: SocketAddr) -> ProxyAddr {
    stream
        .proxy_header()
        .and_then(ProxyHeader::source)
        .unwrap_or(ProxyAddr::Inet(tcp_peer))
}

/// Connects to the backend and forwards the connection: the opening and
/// the first exchange on this thread; then, if the reply goes on, the
/// download on a pool thread, and the upload on this one.
fn open(matched: Matched, buffer: &mut [u8]) {
    let Matched {
        proxy,
        route,
        stream,
        tcp_peer,
        peer,
        accepted,
        permit,
    } = matched;
    let backend = match route.backend.connect(CONNECT_TIMEOUT) {
        Ok(backend) => backend,
        Err(error) => {
            return proxy.log.connection(&Record {
                peer: &peer,
                route: Some(route),
                up: 0,
                down: 0,
                time: Some(accepted.elapsed()),
                outcome: connect_outcome(&error),
                detail: Some(&error),
                listener: &proxy.listen,
                sni: None,
                alpn: &[],
                host: None,
            });
        }
    };
    // Interactive protocols (SSH, redis-cli) send small writes that must
    // not wait for an ACK; failing to set it changes only latency.
    let _ = stream.set_nodelay(true);
    let header = proxy
        .send_proxy
        .map(|version| proxy_header(&stream, tcp_peer, version, proxy, route));
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
    let connection = Arc::new(Connection {
        proxy,
        route,
        peer,
        accepted,
        client,
        backend,
        first_ended: Mutex::new(None),
        _permit: permit,
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
    match forward::first_exchange(&connection.client, &connection.backend, buffer) {
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
    let flow = forward::upload(&connection.client, &connection.backend, sent, buffer);
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
        self.proxy.log.connection(&Record {
            peer: &self.peer,
            route: Some(self.route),
            up,
            down,
            time: Some(self.accepted.elapsed()),
            outcome,
            detail,
            listener: &self.proxy.listen,
            sni: None,
            alpn: &[],
            host: None,
        });
    }
}

/// The PROXY header telling the backend who the client is: the one the
/// connection came with, if it carried addresses, else one from the TCP
/// peer to the address it connected to.
fn proxy_header(
    stream: &PeekableStream,
    tcp_peer: SocketAddr,
    version: SendProxy,
    proxy: &Proxy,
    route: &Route,
) -> Vec<u8> {
    let own;
    let header = match stream.proxy_header() {
        // A LOCAL or UNKNOWN header carries none: the receiver is to use
        // the connection's own endpoints, which are ours to tell.
        Some(received) if received.source().is_some() => received,
        _ => {
            own = match stream.local_addr() {
                Ok(local) => ProxyHeader::tcp(tcp_peer, local),
                Err(_) => ProxyHeader::unknown(),
            };
            &own
        }
    };
    match version {
        SendProxy::V1 => header.encode_v1(),
        SendProxy::V2 => with_tlvs(header.clone(), stream, proxy, route).encode_v2(),
    }
}

/// PROXY v2 TLVs, as HAProxy's `proxy-v2-options` sends them: the
/// authority the client asked for (its TLS SNI, or its HTTP/1 Host), the
/// application protocol (ALPN: the one a `tls-alpn:` route matched on, else
/// the first the client offered) and, as `--proxy-v2-options` asks, a
/// unique ID and a CRC32C checksum. A TLV the header relayed from a load
/// balancer carries already is kept as it came.
fn with_tlvs(
    mut header: ProxyHeader,
    stream: &PeekableStream,
    proxy: &Proxy,
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
    let options = proxy.proxy_v2_options;
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
    match failure.error.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => "reset",
        _ => "error",
    }
}
