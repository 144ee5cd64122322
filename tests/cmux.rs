//! Scenarios ported from Go's soheilhy/cmux (`cmux_test.go`: TestTimeout,
//! TestRead, TestAny, TestHTTP2, TestHTTPGoRPC, TestErrorHandler,
//! TestClose), followed by regression tests for the cmux issues connmux
//! exists to fix (issue numbers are cmux's). Go's net/http and net/rpc
//! servers are replaced by small std handlers; each wait is bounded.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    connect, connect_and_send, is_closed_by_peer, read_to_end, serve, tcp_mux, within, WAIT,
};
use connmux::matchers::{any, http1_fast, http2_preface, prefixes, tls, HTTP2_PREFACE};
use connmux::{any_of, AcceptError, Listener, Mux, PeekableStream, Verdict};

const HTTP1_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhttp1";

/// Answers one HTTP/1 request per connection with `HTTP1_RESPONSE`.
fn run_http1_server(listener: Listener) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        thread::spawn(move || {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => return,
                }
            }
            let _ = stream.write_all(HTTP1_RESPONSE);
        });
    }
}

/// Echoes every connection (stands in for cmux's net/rpc server).
fn run_echo_server(listener: Listener) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        thread::spawn(move || {
            let Ok(mut reader) = stream.try_clone() else {
                return;
            };
            let _ = std::io::copy(&mut reader, &mut stream);
        });
    }
}

fn http1_get(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut client = connect_and_send(addr, b"GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    read_to_end(&mut client)
}

/// TestTimeout: a silent client reaches the catch-all route once the
/// deadline has passed, and not before.
#[test]
fn silent_client_reaches_catch_all_after_the_deadline_and_not_before() {
    let deadline = Duration::from_millis(300);
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(Some(deadline)));
    let http1 = mux.route(http1_fast());
    let catch_all = mux.route(any());
    let running = serve(mux);

    let connected_at = Instant::now();
    let mut client = connect(running.addr);
    assert_eq!(
        catch_all.accept_timeout(deadline / 2).unwrap_err(),
        AcceptError::TimedOut,
        "accepted before the deadline"
    );
    let (mut conn, _) = catch_all
        .accept_timeout(WAIT)
        .expect("catch-all gets the silent client");
    assert!(
        connected_at.elapsed() >= deadline,
        "routed before the deadline passed"
    );
    conn.write_all(b"any").unwrap();
    drop(conn);
    assert_eq!(read_to_end(&mut client), b"any");
    assert_eq!(http1.try_accept().unwrap().map(|_| ()), None);
    running.stop().unwrap();
    assert_eq!(http1.accept().unwrap_err(), AcceptError::ShutDown);
}

/// TestRead: a matcher that needs exactly one payload's worth of bytes
/// forces the sniff to stop mid-stream; the handler still reads both
/// payloads and then EOF, never an early EOF.
#[test]
fn sniffed_bytes_and_a_following_eof_replay_exactly() {
    const PAYLOAD: &[u8] = b"hello world\r\n";
    let mut mux = tcp_mux(Mux::builder());
    let needs_one_payload = |seen: &[u8]| {
        if seen.len() < PAYLOAD.len() {
            Verdict::NeedMore
        } else {
            Verdict::NoMatch
        }
    };
    let _bogus = mux.route(needs_one_payload);
    let catch_all = mux.route(any());
    let running = serve(mux);

    let mut client = connect(running.addr);
    client.write_all(&PAYLOAD.repeat(2)).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (mut conn, _) = catch_all.accept_timeout(WAIT).unwrap();
    for _ in 0..2 {
        let mut got = [0u8; PAYLOAD.len()];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(got, PAYLOAD);
    }
    assert_eq!(
        conn.read(&mut [0u8; 1]).unwrap(),
        0,
        "EOF after both payloads"
    );
    running.stop().unwrap();
}

/// TestAny: an HTTP server runs unchanged behind the catch-all route.
#[test]
fn any_route_serves_http() {
    let mut mux = tcp_mux(Mux::builder());
    let http = mux.route(any());
    let running = serve(mux);
    thread::spawn(move || run_http1_server(http));
    assert!(http1_get(running.addr).ends_with(b"http1"));
    running.stop().unwrap();
}

/// TestHTTP2: after a one-byte bogus matcher, the HTTP/2 route gets the
/// whole preface (sniffed part first, then the socket) and then EOF.
#[test]
fn http2_preface_is_replayed_whole_after_a_bogus_matcher() {
    let mut mux = tcp_mux(Mux::builder());
    let one_byte_then_no = |seen: &[u8]| {
        if seen.is_empty() {
            Verdict::NeedMore
        } else {
            Verdict::NoMatch
        }
    };
    let _bogus = mux.route(one_byte_then_no);
    let h2 = mux.route(http2_preface());
    let running = serve(mux);

    let mut client = connect(running.addr);
    client.write_all(HTTP2_PREFACE).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (mut conn, _) = h2.accept_timeout(WAIT).unwrap();
    assert_eq!(read_to_end(&mut conn), HTTP2_PREFACE);
    running.stop().unwrap();
}

/// TestHTTPGoRPC: several matchers on one route (HTTP/2 or HTTP/1), and a
/// catch-all for the rest.
#[test]
fn several_matchers_on_one_route() {
    let mut mux = tcp_mux(Mux::builder());
    let http = mux.route(any_of((http2_preface(), http1_fast())));
    let rpc = mux.route(any());
    let running = serve(mux);
    let http_probe = http.clone();
    thread::spawn(move || run_echo_server(rpc));

    assert_eq!(
        route_of(&http_probe, running.addr, b"GET / HTTP/1.1\r\n\r\n"),
        0
    );
    assert_eq!(route_of(&http_probe, running.addr, HTTP2_PREFACE), 0);

    let mut rpc_client = connect_and_send(running.addr, b"\x00\x00\x00\x10rpc-call");
    let mut echoed = [0u8; 12];
    rpc_client.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"\x00\x00\x00\x10rpc-call");
    running.stop().unwrap();
}

/// Sends `bytes` and returns the route index of the connection `listener`
/// then accepts, checking it carries those bytes.
fn route_of(listener: &Listener, addr: std::net::SocketAddr, bytes: &[u8]) -> usize {
    let _client = connect_and_send(addr, bytes);
    let (mut conn, _): (PeekableStream, _) = listener.accept_timeout(WAIT).unwrap();
    let mut got = vec![0u8; bytes.len()];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(got, bytes);
    conn.route().index()
}

/// TestErrorHandler: a client no route matches is closed and reported with
/// its address, and serving goes on.
#[test]
fn unmatched_client_is_closed_and_reported_while_serving_continues() {
    let mut mux = tcp_mux(Mux::builder());
    let http = mux.route(any_of((http2_preface(), http1_fast())));
    let running = serve(mux);
    thread::spawn(move || run_http1_server(http));

    let mut rpc_client = connect_and_send(running.addr, b"\x00\x01rpc");
    assert!(is_closed_by_peer(&mut rpc_client));
    let event = running.next_event();
    assert_eq!(event.kind, "not_matched");
    assert_eq!(event.peer, Some(rpc_client.local_addr().unwrap()));
    assert_eq!(event.sniffed_bytes, 5);
    assert!(event.text.contains("no route matched"), "{}", event.text);

    assert!(http1_get(running.addr).ends_with(b"http1"));
    let stats = running.handle.stats();
    assert_eq!((stats.not_matched, stats.routed), (1, vec![1]));
    running.stop().unwrap();
}

/// TestClose: closing a route's handle with a connection queued closes
/// that connection, and accept reports the route closed.
#[test]
fn closing_a_route_with_a_connection_queued_closes_it() {
    let mut mux = tcp_mux(Mux::builder());
    let catch_all = mux.route(any());
    let running = serve(mux);

    let _first = connect_and_send(running.addr, b"one");
    let (mut accepted, _) = catch_all.accept_timeout(WAIT).unwrap();
    let mut second = connect_and_send(running.addr, b"two");
    common::eventually("the second connection to be queued", || {
        catch_all.queued() == 1
    });
    catch_all.close();
    assert!(
        is_closed_by_peer(&mut second),
        "queued connection left open"
    );
    assert_eq!(catch_all.accept().unwrap_err(), AcceptError::Closed);
    let mut first_bytes = [0u8; 3];
    accepted.read_exact(&mut first_bytes).unwrap();
    assert_eq!(
        &first_bytes, b"one",
        "an accepted connection is not affected"
    );
    running.stop().unwrap();
}

/// TestClose, root side: shutting down makes accept return the distinct
/// `ShutDown` error.
#[test]
fn shutdown_makes_accept_return_shut_down() {
    let mut mux = tcp_mux(Mux::builder());
    let catch_all = mux.route(any());
    let running = serve(mux);
    let waiting = thread::spawn(move || catch_all.accept().map(|_| ()));
    thread::sleep(Duration::from_millis(20));
    running.stop().unwrap();
    assert_eq!(waiting.join().unwrap(), Err(AcceptError::ShutDown));
}

/// cmux #94, #79: matchers that read the socket themselves block a short
/// protocol behind `HTTP1Fast` until a timeout. Here there is no deadline
/// at all, and a 3-byte SOCKS5 greeting behind HTTP/1 and TLS matchers is
/// still answered.
#[test]
fn short_protocol_behind_longer_matchers_matches_without_a_deadline() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(None));
    let _http = mux.route(http1_fast());
    let _tls = mux.route(tls());
    let socks = mux.route(prefixes([[0x05u8]]));
    let running = serve(mux);
    thread::spawn(move || {
        if let Ok((mut conn, _)) = socks.accept() {
            let mut greeting = [0u8; 3];
            if conn.read_exact(&mut greeting).is_ok() && greeting == [0x05, 0x01, 0x00] {
                let _ = conn.write_all(&[0x05, 0x00]);
            }
        }
    });
    let addr = running.addr;
    let reply = within(WAIT, move || {
        let mut client = connect_and_send(addr, &[0x05, 0x01, 0x00]);
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).map(|_| reply).ok()
    });
    assert_eq!(reply, Some([0x05, 0x00]));
    running.stop().unwrap();
}

/// cmux: closing a sub-listener closed the root. Here closing one route
/// leaves the listener and the other routes serving.
#[test]
fn closing_one_handle_leaves_the_root_and_other_routes_open() {
    let mut mux = tcp_mux(Mux::builder());
    let alpha = mux.route(prefixes(["A"]));
    let beta = mux.route(prefixes(["B"]));
    let running = serve(mux);
    alpha.close();
    assert_eq!(alpha.accept().unwrap_err(), AcceptError::Closed);

    let mut to_alpha = connect_and_send(running.addr, b"A1");
    assert!(is_closed_by_peer(&mut to_alpha));
    let event = running.next_event();
    assert_eq!(event.kind, "route_closed");
    assert_eq!(event.peer, Some(to_alpha.local_addr().unwrap()));

    for _ in 0..3 {
        let _to_beta = connect_and_send(running.addr, b"B2");
        let (mut conn, _) = beta
            .accept_timeout(WAIT)
            .expect("the other route still serves");
        let mut got = [0u8; 2];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"B2");
    }
    running.stop().unwrap();
}

/// cmux #65, #76, #89: with no deadline, a silent client held shutdown
/// forever. Here shutdown returns promptly with 100 clients stuck
/// mid-sniff, and closes each of them.
#[test]
fn shutdown_is_prompt_with_100_clients_stuck_mid_sniff() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(None));
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    let mut clients: Vec<_> = (0..100)
        .map(|_| connect_and_send(running.addr, b"GE"))
        .collect();
    common::eventually("100 sniffs in progress", || {
        running.handle.sniffing() == 100
    });

    let started = Instant::now();
    running.stop().unwrap();
    let took = started.elapsed();
    assert!(took < WAIT, "shutdown took {took:?}");
    for client in &mut clients {
        assert!(is_closed_by_peer(client), "a stuck client was left open");
    }
    let shut_down = running
        .drain_events()
        .iter()
        .filter(|e| e.kind == "shut_down")
        .count();
    assert_eq!(shut_down, 100);
    assert_eq!(running.handle.stats().shut_down, 100);
}

/// cmux: a matched route nobody accepts on piled up blocked connections.
/// Here its bounded queue fills, later matches are dropped with an event,
/// and the other routes keep serving.
#[test]
fn a_route_nobody_accepts_on_does_not_stop_other_routes() {
    let mut mux = tcp_mux(Mux::builder().route_queue_capacity(2));
    let _ignored = mux.route(prefixes(["A"]));
    let served = mux.route(prefixes(["B"]));
    let running = serve(mux);

    let mut ignored_clients: Vec<_> = (0..5)
        .map(|_| connect_and_send(running.addr, b"A"))
        .collect();
    common::eventually("three queue_full drops", || {
        running.handle.stats().queue_full == 3
    });
    let closed = ignored_clients
        .iter_mut()
        .map(is_closed_by_peer_quickly)
        .filter(|&closed| closed)
        .count();
    assert_eq!(
        closed, 3,
        "exactly the connections beyond the queue are closed"
    );

    for _ in 0..5 {
        let _client = connect_and_send(running.addr, b"B");
        served
            .accept_timeout(WAIT)
            .expect("the other route is not blocked");
    }
    let kinds: Vec<_> = running.drain_events().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["queue_full"; 3]);
    running.stop().unwrap();
}

/// Like `is_closed_by_peer`, but gives up after a short wait, for clients
/// that are expected to stay open.
fn is_closed_by_peer_quickly(stream: &mut std::net::TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let closed = is_closed_by_peer(stream);
    stream.set_read_timeout(Some(WAIT)).unwrap();
    closed
}
