//! Inline routes: a handler served on the sniffer thread that matched the
//! connection, with no queue and no second thread.

mod common;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use common::{connect, connect_and_send, eventually, read_to_end, serve, tcp_mux, within, WAIT};
use connmux::matchers::{http1_fast, prefixes};
use connmux::Mux;

/// Answers `OK <what the client sent first>` and closes.
fn answer(mut stream: connmux::PeekableStream, _peer: std::net::SocketAddr) {
    let mut first = [0u8; 64];
    if let Ok(read) = stream.read(&mut first) {
        let _ = stream.write_all(b"OK ");
        let _ = stream.write_all(&first[..read]);
    }
}

#[test]
fn inline_handlers_serve_next_to_queue_routes() {
    let mut mux = tcp_mux(Mux::builder());
    let inline = mux.route_inline(prefixes(["PING"]), answer);
    let queued = mux.route(http1_fast());
    let running = serve(mux);

    let mut client = connect_and_send(running.addr, b"PING 1");
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"OK PING 1");
    let _http = connect_and_send(running.addr, b"GET / HTTP/1.1\r\n\r\n");
    queued
        .accept_timeout(WAIT)
        .expect("the queue route still works");
    assert_eq!(inline.index(), 0);
    eventually("both counted", || running.handle.stats().routed == [1, 1]);
    running.stop().unwrap();
}

#[test]
fn long_handlers_do_not_count_against_the_sniff_limit() {
    let mut mux = tcp_mux(Mux::builder().max_concurrent_sniffs(2));
    mux.route_inline(prefixes(["HOLD"]), |mut stream, _| {
        // Hold the connection until the client hangs up.
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    });
    mux.route_inline(prefixes(["PING"]), answer);
    let running = serve(mux);
    let held: Vec<_> = (0..20)
        .map(|_| connect_and_send(running.addr, b"HOLD"))
        .collect();
    eventually("20 handlers running", || {
        running.handle.stats().routed.first() == Some(&20)
    });
    let mut client = connect_and_send(running.addr, b"PING");
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        read_to_end(&mut client),
        b"OK PING",
        "a new connection is still sniffed"
    );
    drop(held);
    running.stop().unwrap();
}

#[test]
fn a_panicking_handler_affects_only_its_connection() {
    let mut mux = tcp_mux(Mux::builder().max_concurrent_sniffs(1));
    mux.route_inline(prefixes(["BOOM"]), |_, _| {
        panic!("handler failure (expected by the test)")
    });
    mux.route_inline(prefixes(["PING"]), answer);
    let running = serve(mux);
    for _ in 0..3 {
        let mut boom = connect_and_send(running.addr, b"BOOM");
        assert_eq!(
            read_to_end(&mut boom),
            b"",
            "the panicking handler's connection is closed"
        );
        let mut client = connect_and_send(running.addr, b"PING");
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(read_to_end(&mut client), b"OK PING");
    }
    running.stop().unwrap();
}

#[test]
fn serve_returns_without_waiting_for_running_handlers() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let mut mux = tcp_mux(Mux::builder());
    mux.route_inline(prefixes(["SLOW"]), move |mut stream, _| {
        let _ = release_rx.lock().unwrap().recv_timeout(WAIT);
        let _ = stream.write_all(b"finished");
    });
    let running = serve(mux);
    let mut client = connect_and_send(running.addr, b"SLOW");
    eventually("the handler to start", || {
        running.handle.stats().routed == [1]
    });
    let handle = running.handle.clone();
    within(WAIT, move || handle.shutdown());
    running
        .wait_served()
        .expect("serve returned while the handler still runs");
    release_tx.send(()).unwrap();
    let mut reply = [0u8; 8];
    client.set_read_timeout(Some(WAIT)).unwrap();
    client.read_exact(&mut reply).unwrap();
    assert_eq!(
        &reply, b"finished",
        "the handler finished its connection after shutdown"
    );
}

#[test]
fn a_sniff_cut_by_shutdown_is_dropped_not_served() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(None));
    mux.route_inline(prefixes(["PINGPONG"]), answer);
    let running = serve(mux);
    let mut client = connect(running.addr);
    client.write_all(b"PING").unwrap();
    eventually("the sniff to start", || running.handle.sniffing() == 1);
    running.stop().unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(
        common::is_closed_by_peer(&mut client),
        "no answer, just the close"
    );
    assert_eq!(running.next_event().kind, "shut_down");
}
