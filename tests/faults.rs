//! Faults that must affect only the connection at hand: a panicking
//! matcher, a panicking event callback, clients that reset, half-close or
//! connect and leave, and handlers that drop streams unread.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    connect, connect_and_send, eventually, is_closed_by_peer, read_to_end, serve, tcp_mux, Running,
    WAIT,
};
use connmux::matchers::{http1_fast, prefixes};
use connmux::{Mux, Verdict};

/// Sends `bytes` on a new connection and checks that a matcher's panic
/// closed it and was reported with `text` in its message.
fn expect_matcher_panic(running: &Running<SocketAddr>, bytes: &[u8], text: &str, round: usize) {
    let mut victim = connect_and_send(running.addr, bytes);
    assert!(is_closed_by_peer(&mut victim), "round {round}");
    let event = running.next_event();
    assert_eq!(event.kind, "matcher_panicked");
    assert!(event.text.contains(text), "{}", event.text);
}

#[test]
fn a_panicking_matcher_closes_only_its_connection() {
    let mut mux = tcp_mux(Mux::builder().max_concurrent_sniffs(1));
    let _fragile = mux.route(|seen: &[u8]| match seen {
        [b'B', b'U', b'G', ..] => panic!("matcher failure (expected by the test)"),
        _ if seen.len() < 3 => Verdict::NeedMore,
        _ => Verdict::NoMatch,
    });
    let http = mux.route(http1_fast());
    let running = serve(mux);
    for round in 0..3 {
        expect_matcher_panic(&running, b"BUG!", "matcher failure", round);
        let _fine = connect_and_send(running.addr, b"GET / HTTP/1.1\r\n\r\n");
        http.accept_timeout(WAIT)
            .expect("the same single sniffer thread goes on");
    }
    assert_eq!(running.handle.stats().matcher_panics, 3);
    running.stop().unwrap();
}

/// Routes are asked about the empty input once, when `serve` fixes them:
/// a matcher that panics there still costs only each connection, each
/// reported.
#[test]
fn a_matcher_panicking_on_empty_input_closes_only_its_connections() {
    let mut mux = tcp_mux(Mux::builder().max_concurrent_sniffs(1));
    let _fragile = mux.route(|seen: &[u8]| match seen {
        [] => panic!("matcher failure on empty input (expected by the test)"),
        _ => Verdict::NoMatch,
    });
    let http = mux.route(http1_fast());
    let running = serve(mux);
    for round in 0..2 {
        expect_matcher_panic(&running, b"GET / HTTP/1.1\r\n\r\n", "on empty input", round);
    }
    assert!(http.accept_timeout(Duration::from_millis(50)).is_err());
    assert_eq!(running.handle.stats().matcher_panics, 2);
    running.stop().unwrap();
}

#[test]
fn a_panicking_event_callback_does_not_stop_the_mux() {
    let mut mux = tcp_mux(Mux::builder().max_concurrent_sniffs(1));
    let http = mux.route(http1_fast());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    mux.on_event(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        panic!("callback failure (expected by the test)");
    });
    let handle = mux.handle();
    let addr = mux.local_addr().unwrap();
    let server = std::thread::spawn(move || mux.serve());
    for _ in 0..3 {
        let mut garbage = connect_and_send(addr, b"\x00\x01");
        assert!(is_closed_by_peer(&mut garbage));
        let _fine = connect_and_send(addr, b"GET / HTTP/1.1\r\n\r\n");
        http.accept_timeout(WAIT).expect("still serving");
    }
    eventually("three callbacks", || calls.load(Ordering::SeqCst) == 3);
    handle.shutdown();
    common::within(WAIT, move || server.join().unwrap()).unwrap();
}

#[test]
fn clients_that_leave_early_are_reported_and_serving_goes_on() {
    let mut mux = tcp_mux(Mux::builder());
    let http = mux.route(http1_fast());
    let running = serve(mux);

    drop(connect(running.addr));
    assert_eq!(
        running.next_event().kind,
        "not_matched",
        "connect and close"
    );

    let half = connect_and_send(running.addr, b"GE");
    half.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        running.next_event().kind,
        "not_matched",
        "half a method, then EOF"
    );

    let mut half_closed = connect_and_send(running.addr, b"GET /half HTTP/1.0\r\n\r\n");
    half_closed.shutdown(Shutdown::Write).unwrap();
    let (mut conn, _) = http.accept_timeout(WAIT).unwrap();
    assert_eq!(read_to_end(&mut conn), b"GET /half HTTP/1.0\r\n\r\n");
    conn.write_all(b"reply after the client's EOF").unwrap();
    drop(conn);
    assert_eq!(
        read_to_end(&mut half_closed),
        b"reply after the client's EOF"
    );

    let _fine = connect_and_send(running.addr, b"GET / HTTP/1.1\r\n\r\n");
    http.accept_timeout(WAIT).expect("still serving");
    running.stop().unwrap();
}

#[test]
fn a_handler_that_drops_streams_unread_leaves_the_mux_serving() {
    let mut mux = tcp_mux(Mux::builder());
    mux.route_inline(prefixes(["DROP"]), |stream, _| drop(stream));
    let echo = mux.route(prefixes(["ECHO"]));
    let running = serve(mux);
    for _ in 0..20 {
        let mut dropped =
            connect_and_send(running.addr, &[b"DROP".as_slice(), &[7u8; 10_000]].concat());
        assert!(is_closed_by_peer(&mut dropped));
    }
    let mut client = connect_and_send(running.addr, b"ECHO hi");
    let (mut conn, _) = echo.accept_timeout(WAIT).unwrap();
    let mut got = [0u8; 7];
    conn.read_exact(&mut got).unwrap();
    conn.write_all(&got).unwrap();
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ECHO hi");
    assert_eq!(running.handle.stats().routed[0], 20);
    running.stop().unwrap();
}
