//! A multiplexer over another's route: the outer sniff's bytes reach the
//! inner one intact and in order, and the inner one's shutdown wakes only
//! its own handle.

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use connmux::memory::{self, MemoryAddr};
use connmux::{matchers, AcceptError, Mux};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn the_inner_sniff_sees_every_byte_the_outer_one_read_and_the_rest() {
    let (source, connector) = memory::listener();
    let mut outer = Mux::new(source).unwrap();
    let ab = outer.route(matchers::prefixes(["AB"]));
    let outer_handle = outer.handle();
    let outer_server = thread::spawn(move || outer.serve());

    let mut inner = Mux::new(ab.clone()).unwrap();
    let abc = inner.route(matchers::prefixes(["ABC"]));
    let abd = inner.route(matchers::prefixes(["ABD"]));
    let inner_handle = inner.handle();
    let inner_server = thread::spawn(move || inner.serve());

    // The outer route decides on "AB"; the inner one must wait for the
    // third byte, which comes later, then the rest.
    let mut client = connector.connect().unwrap();
    client.write_all(b"AB").unwrap();
    thread::sleep(Duration::from_millis(20));
    let body: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    client.write_all(b"D").unwrap();
    client.write_all(&body).unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();

    let (mut stream, peer) = abd.accept_timeout(WAIT).unwrap();
    assert_eq!(peer, MemoryAddr(1));
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    assert_eq!(&received[..3], b"ABD");
    assert!(received[3..] == body[..], "every byte, in order");
    assert_eq!(abc.try_accept().unwrap().map(|_| ()), None);

    inner_handle.shutdown();
    inner_server.join().unwrap().unwrap();
    outer_handle.shutdown();
    outer_server.join().unwrap().unwrap();
}

#[test]
fn the_inner_shutdown_leaves_other_handles_of_the_route_waiting() {
    let (source, connector) = memory::listener();
    let mut outer = Mux::new(source).unwrap();
    let ab = outer.route(matchers::prefixes(["AB"]));
    let outer_handle = outer.handle();
    thread::spawn(move || outer.serve());

    let mut inner = Mux::new(ab.clone()).unwrap();
    let _inner_any = inner.route(matchers::any());
    let inner_handle = inner.handle();
    let inner_server = thread::spawn(move || inner.serve());

    // Another handle of the same route, blocked in accept.
    let (accepted, next) = mpsc::channel();
    let other = ab.clone();
    thread::spawn(move || accepted.send(other.accept().map(|(stream, _)| stream.unread_len())));

    inner_handle.shutdown();
    inner_server.join().unwrap().unwrap();
    assert!(next.try_recv().is_err(), "the other handle still waits");
    assert!(!ab.is_closed());

    let mut client = connector.connect().unwrap();
    client.write_all(b"ABCD").unwrap();
    assert_eq!(next.recv_timeout(WAIT).unwrap(), Ok(4));
    outer_handle.shutdown();
}

#[test]
fn the_inner_serve_ends_when_the_outer_mux_stops() {
    let (source, _connector) = memory::listener();
    let mut outer = Mux::new(source).unwrap();
    let any = outer.route(matchers::any());
    let outer_handle = outer.handle();
    let outer_server = thread::spawn(move || outer.serve());
    let mut inner = Mux::new(any).unwrap();
    let _inner_any = inner.route(matchers::any());
    let (done, ended) = mpsc::channel();
    // The accept error that ended `serve`, out of the ServeError.
    let accept_error = |error| AcceptError::from_io(&io::Error::from(error));
    thread::spawn(move || done.send(inner.serve().map_err(accept_error)));

    outer_handle.shutdown();
    outer_server.join().unwrap().unwrap();
    let ended = ended.recv_timeout(WAIT).unwrap();
    assert_eq!(ended, Err(Some(AcceptError::ShutDown)));
}
