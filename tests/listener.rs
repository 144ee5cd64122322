//! A route's `Listener` beside `std::net::TcpListener`: each test does the
//! same to a plain listener and to a route, and expects the same shapes
//! (non-blocking accept, `incoming`, iterating `&listener`).

mod common;

use std::io;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{connect, connect_and_send, eventually, serve, tcp_mux, WAIT};
use connmux::matchers::{any, prefixes};
use connmux::{AcceptError, Mux};

#[test]
fn nonblocking_accept_would_block_as_tcp_listeners_does() {
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut mux = tcp_mux(Mux::builder());
    let route = mux.route(any());
    let running = serve(mux);
    std_listener.set_nonblocking(true).unwrap();
    route.set_nonblocking(true).unwrap();

    let std_error = std_listener.accept().unwrap_err();
    assert_eq!(std_error.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(route.accept().unwrap_err(), AcceptError::WouldBlock);
    let error = io::Error::from(route.accept().unwrap_err());
    assert_eq!(error.kind(), std_error.kind());

    // incoming() yields the error rather than ending, on both.
    let std_next = std_listener.incoming().next().unwrap().unwrap_err();
    let next = route.incoming().next().unwrap().unwrap_err();
    assert_eq!(
        (next.kind(), std_next.kind()),
        (std_error.kind(), std_error.kind())
    );
    assert_eq!(AcceptError::from_io(&next), Some(AcceptError::WouldBlock));

    // A connection that has arrived is taken at once, by both.
    let _std_client = connect(std_listener.local_addr().unwrap());
    let client = connect(running.addr);
    let mut std_accepted = None;
    let mut accepted = None;
    eventually("both accept without blocking", || {
        std_accepted = std_accepted.take().or_else(|| std_listener.accept().ok());
        accepted = accepted.take().or_else(|| route.accept().ok());
        std_accepted.is_some() && accepted.is_some()
    });
    let (_stream, peer) = accepted.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    running.stop().unwrap();
}

#[test]
fn the_mode_is_shared_by_clones_and_can_be_switched_back() {
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let std_clone = std_listener.try_clone().unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let std_error = std_clone.accept().unwrap_err();
    assert_eq!(std_error.kind(), io::ErrorKind::WouldBlock);

    let mut mux = tcp_mux(Mux::builder());
    let route = mux.route(prefixes(["late"]));
    let running = serve(mux);
    let clone = route.clone();
    route.set_nonblocking(true).unwrap();
    assert_eq!(clone.accept().unwrap_err(), AcceptError::WouldBlock);
    assert!(format!("{clone:?}").contains("nonblocking: true"));

    // Blocking again: accept waits for the connection.
    clone.set_nonblocking(false).unwrap();
    let addr = running.addr;
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        connect_and_send(addr, b"late")
    });
    let started = Instant::now();
    let (stream, _) = route.accept().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(25));
    assert_eq!(stream.unread_len(), 4);
    drop(sender.join().unwrap());
    running.stop().unwrap();
}

#[test]
fn accept_timeout_and_try_accept_do_not_depend_on_the_mode() {
    let mut mux = tcp_mux(Mux::builder());
    let route = mux.route(any());
    let running = serve(mux);
    for nonblocking in [false, true] {
        route.set_nonblocking(nonblocking).unwrap();
        assert!(route.try_accept().unwrap().is_none());
        let started = Instant::now();
        let waited = route.accept_timeout(Duration::from_millis(20));
        assert_eq!(waited.unwrap_err(), AcceptError::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(15), "it waited");
    }
    let client = connect(running.addr);
    let (_stream, peer) = route.accept_timeout(WAIT).unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    running.stop().unwrap();
}

#[test]
fn iterating_a_listener_reference_is_incoming() {
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let std_client = connect(std_listener.local_addr().unwrap());
    // `TcpListener` has no `IntoIterator`; `incoming` is the loop both share.
    let std_first = std_listener.incoming().next().unwrap().unwrap();

    let mut mux = tcp_mux(Mux::builder());
    let route = mux.route(any());
    let running = serve(mux);
    let clients: Vec<_> = (0..3).map(|_| connect(running.addr)).collect();
    let mut served = Vec::new();
    for stream in &route {
        let stream = stream.unwrap();
        served.push(stream.peer_addr().unwrap());
        if served.len() == clients.len() {
            route.close();
        }
    }
    let mut expected: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
    expected.sort();
    served.sort();
    assert_eq!(served, expected, "every connection once, then the end");
    assert_eq!(
        std_first.peer_addr().unwrap(),
        std_client.local_addr().unwrap()
    );
    running.stop().unwrap();
}

#[test]
fn incoming_ends_when_the_route_closes_even_in_nonblocking_mode() {
    let mut mux = tcp_mux(Mux::builder());
    let route = mux.route(any());
    let running = serve(mux);
    route.set_nonblocking(true).unwrap();
    route.close();
    assert!(route.incoming().next().is_none());
    assert_eq!(route.accept().unwrap_err(), AcceptError::Closed);
    running.stop().unwrap();
}
