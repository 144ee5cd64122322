//! Dispatchers: connections accepted by the caller's own loop, sniffed
//! and routed on the caller's thread with the multiplexer's routes.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{read_to_end, within, WAIT};
use connmux::matchers::{http1_fast, prefixes};
use connmux::memory::{self, MemoryAddr};
use connmux::{DropReason, Event, Mux};

/// A payload larger than a first read, so that the replay and the socket
/// both serve part of it.
fn payload(opening: &[u8]) -> Vec<u8> {
    let mut bytes = opening.to_vec();
    bytes.extend((0..20_000u32).map(|i| (i % 251) as u8));
    bytes
}

/// A mux over an unused in-memory listener: the tests bring their own
/// connections.
fn memory_mux() -> Mux<memory::MemoryListener> {
    Mux::new(memory::listener().0).expect("mux")
}

#[test]
fn queue_route_gets_every_byte_over_loopback() {
    let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let _ssh = mux.route(prefixes(["SSH-"]));
    let http = mux.route(http1_fast());
    let dispatcher = mux.dispatcher();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accept_loop = thread::spawn(move || {
        let (conn, peer) = listener.accept().unwrap();
        (dispatcher.dispatch(conn, peer), peer)
    });
    let sent = payload(b"GET / HTTP/1.1\r\n");
    let mut client = TcpStream::connect(addr).unwrap();
    client.write_all(&sent).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (routed, peer) = within(WAIT, move || accept_loop.join().unwrap());
    assert_eq!(routed.ok(), Some(http.route()));
    let (mut stream, queued_peer) = http.accept().unwrap();
    assert_eq!(queued_peer, peer);
    assert_eq!(read_to_end(&mut stream), sent);
    stream.write_all(b"bye").unwrap();
    drop(stream);
    assert_eq!(read_to_end(&mut client), b"bye");
}

#[test]
fn inline_route_runs_on_the_callers_thread_with_every_byte() {
    let mut mux = memory_mux();
    let (got, received) = mpsc::channel();
    let route = mux.route_inline(prefixes(["PING"]), move |mut stream, peer| {
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        got.send((bytes, peer, thread::current().id())).unwrap();
    });
    let dispatcher = mux.dispatcher();
    for opening in [&b"PING"[..], b"PING small"] {
        let sent = if opening.len() > 4 {
            opening.to_vec()
        } else {
            payload(opening)
        };
        let (mut client, server_end) = memory::pair();
        let writer = {
            let sent = sent.clone();
            thread::spawn(move || {
                client.write_all(&sent).unwrap();
            })
        };
        assert_eq!(
            dispatcher.dispatch(server_end, MemoryAddr(3)).ok(),
            Some(route)
        );
        let (bytes, peer, thread_id) = received.recv_timeout(WAIT).unwrap();
        assert_eq!((bytes, peer), (sent, MemoryAddr(3)));
        assert_eq!(thread_id, thread::current().id());
        writer.join().unwrap();
    }
}

/// Each dropped connection's peer and reason, as the event callback saw
/// them.
type Drops<A> = Arc<Mutex<Vec<(A, String)>>>;

/// Collects every dropped connection's peer and reason.
fn record_drops<S: connmux::Accept>(mux: &mut Mux<S>) -> Drops<S::Addr>
where
    S::Addr: Send,
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    mux.on_event(move |event| {
        if let Event::Dropped { peer, reason, .. } = event {
            sink.lock()
                .unwrap()
                .push((peer.clone(), reason.to_string()));
        }
    });
    seen
}

#[test]
fn no_match_is_dropped_reported_and_counted() {
    let mut mux = memory_mux();
    let _http = mux.route(http1_fast());
    let seen = record_drops(&mut mux);
    let handle = mux.handle();
    let dispatcher = mux.dispatcher();
    let (mut client, server_end) = memory::pair();
    client.write_all(b"\x16\x03\x01 not http").unwrap();
    let outcome = dispatcher.dispatch(server_end, MemoryAddr(9));
    assert!(
        matches!(outcome, Err(DropReason::NotMatched)),
        "{outcome:?}"
    );
    assert_eq!(client.read(&mut [0u8; 4]).unwrap(), 0, "closed");
    assert_eq!(
        *seen.lock().unwrap(),
        [(MemoryAddr(9), "no route matched".to_owned())]
    );
    let stats = handle.stats();
    assert_eq!((stats.accepted, stats.not_matched), (1, 1));
}

#[test]
fn the_connection_limit_refuses_instead_of_waiting() {
    let mut mux = Mux::builder()
        .max_connections(1)
        .build(memory::listener().0)
        .unwrap();
    let http = mux.route(http1_fast());
    let seen = record_drops(&mut mux);
    let handle = mux.handle();
    let dispatcher = mux.dispatcher();
    let (mut first_client, first) = memory::pair();
    first_client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    dispatcher.dispatch(first, MemoryAddr(1)).unwrap();
    // Queued, it holds no place; accepted, it holds the only one.
    let (held, _) = http.accept().unwrap();
    let (mut second_client, second) = memory::pair();
    second_client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let refused = within(WAIT, {
        let dispatcher = dispatcher.clone();
        move || dispatcher.dispatch(second, MemoryAddr(2))
    });
    assert!(matches!(refused, Err(DropReason::TooManyConnections)));
    assert_eq!(seen.lock().unwrap()[0].0, MemoryAddr(2));
    assert_eq!(handle.stats().too_many_connections, 1);
    drop(held);
    let (mut third_client, third) = memory::pair();
    third_client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    assert!(dispatcher.dispatch(third, MemoryAddr(3)).is_ok());
}

#[test]
fn a_panicking_handler_affects_only_its_connection() {
    let mut mux = memory_mux();
    let route = mux.route_inline(prefixes(["BOOM", "OK"]), |mut stream, _| {
        let mut first = [0u8; 2];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"OK", "the handler panics on BOOM");
        stream.write_all(b"fine").unwrap();
    });
    let handle = mux.handle();
    let dispatcher = mux.dispatcher();
    let (mut client, server_end) = memory::pair();
    client.write_all(b"BOOM").unwrap();
    assert_eq!(
        dispatcher.dispatch(server_end, MemoryAddr(1)).ok(),
        Some(route)
    );
    assert_eq!(
        client.read(&mut [0u8; 4]).unwrap(),
        0,
        "closed by unwinding"
    );
    let (mut client, server_end) = memory::pair();
    client.write_all(b"OK").unwrap();
    assert_eq!(
        dispatcher.dispatch(server_end, MemoryAddr(2)).ok(),
        Some(route)
    );
    assert_eq!(read_to_end(&mut client), b"fine");
    assert_eq!(handle.stats().routed, [2]);
}

#[test]
fn events_name_the_peer_and_shutdown_refuses() {
    let mut mux = Mux::builder()
        .sniff_deadline(Some(Duration::from_millis(50)))
        .build(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let _http = mux.route(http1_fast());
    let seen = record_drops(&mut mux);
    let handle = mux.handle();
    let dispatcher = mux.dispatcher();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (conn, peer): (TcpStream, SocketAddr) = listener.accept().unwrap();
    let outcome = within(WAIT, {
        let dispatcher = dispatcher.clone();
        move || dispatcher.dispatch(conn, peer)
    });
    assert!(matches!(outcome, Err(DropReason::TimedOut)), "{outcome:?}");
    assert_eq!(seen.lock().unwrap()[0].0, peer);
    drop(silent);

    handle.shutdown();
    let late = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (conn, peer) = listener.accept().unwrap();
    assert!(matches!(
        dispatcher.dispatch(conn, peer),
        Err(DropReason::ShutDown)
    ));
    assert_eq!(seen.lock().unwrap()[1].0, late.local_addr().unwrap());
    assert_eq!(handle.stats().shut_down, 1);
}

#[test]
#[should_panic(expected = "Mux::route called after Mux::dispatcher fixed the routes")]
fn a_route_registered_after_the_dispatcher_is_refused() {
    let mut mux = memory_mux();
    let _first = mux.route(http1_fast());
    let _dispatcher = mux.dispatcher();
    let _late = mux.route(prefixes(["X"]));
}
