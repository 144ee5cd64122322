//! Routing over real sockets: priority between routes, each built-in
//! matcher choosing its protocol, closures and combinators as routes, and
//! the in-memory source.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{connect_and_send, is_closed_by_peer, read_to_end, serve, tcp_mux, WAIT};
use connmux::matchers::{
    any, http1_fast, http2_preface, prefixes, tls, tls_versions, TlsVersion, HTTP2_PREFACE,
};
use connmux::{memory, not, AcceptError, Listener, Mux, Verdict};

/// A TLS 1.3 ClientHello as OpenSSL 3 sends it, trimmed to what the
/// matchers read: legacy version 3.3, random, session id, suites,
/// compression, then server_name "localhost" and supported_versions
/// (TLS 1.3, TLS 1.2).
fn tls13_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend([0x42; 32]);
    body.push(32);
    body.extend([0x17; 32]);
    body.extend([0x00, 0x06, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01]);
    body.extend([0x01, 0x00]);
    let extensions: &[u8] = &[
        0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, b'l', b'o', b'c', b'a', b'l', b'h',
        b'o', b's', b't', 0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,
    ];
    body.extend((extensions.len() as u16).to_be_bytes());
    body.extend(extensions);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(((body.len() + 4) as u16).to_be_bytes());
    record.push(0x01);
    record.extend(&(body.len() as u32).to_be_bytes()[1..]);
    record.extend(body);
    record
}

/// A TLS 1.0 ClientHello with no extensions.
fn tls10_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x01];
    body.extend([0x24; 32]);
    body.extend([0x00, 0x00, 0x02, 0x00, 0x2f, 0x01, 0x00]);
    let mut record = vec![
        0x16,
        0x03,
        0x01,
        0x00,
        (body.len() + 4) as u8,
        0x01,
        0x00,
        0x00,
        body.len() as u8,
    ];
    record.extend(body);
    record
}

/// Sends `bytes` on a new connection and returns which listener got it
/// (by index into `listeners`), checking the handler reads those bytes.
fn routed_to(addr: std::net::SocketAddr, listeners: &[Listener], bytes: &[u8]) -> usize {
    let client = connect_and_send(addr, bytes);
    client.shutdown(std::net::Shutdown::Write).unwrap();
    for _ in 0..(WAIT.as_millis() / 5) {
        for (index, listener) in listeners.iter().enumerate() {
            if let Some((mut conn, _)) = listener.try_accept().unwrap() {
                assert_eq!(read_to_end(&mut conn), bytes);
                assert_eq!(conn.route(), listener.route());
                return index;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no route took {bytes:02x?}");
}

#[test]
fn each_built_in_matcher_takes_its_protocol() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(Some(Duration::from_secs(2))));
    let listeners = vec![
        mux.route(http2_preface()),
        mux.route(http1_fast()),
        mux.route(tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)),
        mux.route(tls()),
        mux.route(prefixes(["SSH-"])),
        mux.route(prefixes([[0x05u8]])),
        mux.route(any()),
    ];
    let running = serve(mux);
    let mut h2 = HTTP2_PREFACE.to_vec();
    h2.extend([0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]);
    let cases: Vec<(Vec<u8>, usize)> = vec![
        (h2, 0),
        (b"PATCH /items/1 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 1),
        (b"GET / HTTP/1.0\r\n\r\n".to_vec(), 1),
        (tls13_client_hello(), 2),
        (tls10_client_hello(), 3),
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec(), 4),
        (vec![0x05, 0x01, 0x00], 5),
        (b"PRI * HTTP/1.1\r\n".to_vec(), 6),
        (b"hello\n".to_vec(), 6),
        (Vec::new(), 6),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            routed_to(running.addr, &listeners, &bytes),
            want,
            "{bytes:02x?}"
        );
    }
    running.stop().unwrap();
}

#[test]
fn a_later_match_waits_while_an_earlier_route_needs_bytes() {
    let mut mux = tcp_mux(Mux::builder());
    let long = mux.route(prefixes(["ABCD"]));
    let short = mux.route(prefixes(["AB"]));
    let running = serve(mux);

    let mut client = connect_and_send(running.addr, b"ABC");
    assert_eq!(
        short
            .accept_timeout(Duration::from_millis(150))
            .unwrap_err(),
        AcceptError::TimedOut,
        "the later route won while the earlier one still needed bytes"
    );
    client.write_all(b"X").unwrap();
    let (mut conn, _) = short.accept_timeout(WAIT).unwrap();
    let mut got = [0u8; 4];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ABCX");

    let _client = connect_and_send(running.addr, b"ABCD");
    long.accept_timeout(WAIT)
        .expect("the earlier route wins when it matches");
    running.stop().unwrap();
}

#[test]
fn closures_and_combinators_are_routes() {
    let mut mux = tcp_mux(Mux::builder());
    let even_length_line = mux.route(|seen: &[u8]| match seen.iter().position(|&b| b == b'\n') {
        None => Verdict::NeedMore,
        Some(end) => Verdict::from_bool(end % 2 == 0),
    });
    let not_http = mux.route(not(http1_fast()));
    let running = serve(mux);
    let listeners = [even_length_line, not_http];
    assert_eq!(routed_to(running.addr, &listeners, b"ab\n"), 0);
    assert_eq!(routed_to(running.addr, &listeners, b"abc\n"), 1);
    let mut http = connect_and_send(running.addr, b"GET /x HTTP/1.1\n");
    assert!(is_closed_by_peer(&mut http));
    assert_eq!(running.next_event().kind, "not_matched");
    running.stop().unwrap();
}

#[test]
fn with_no_routes_every_connection_is_reported_unmatched() {
    let mux = tcp_mux(Mux::builder());
    let running = serve(mux);
    let mut client = connect_and_send(running.addr, b"anything");
    assert!(is_closed_by_peer(&mut client));
    assert_eq!(running.next_event().kind, "not_matched");
    running.stop().unwrap();
}

#[test]
fn the_in_memory_source_routes_like_tcp() {
    let (source, connector) = memory::listener();
    let mut mux = Mux::new(source).unwrap();
    let http = mux.route(http1_fast());
    let other = mux.route(any());
    let running = serve(mux);

    let mut client = connector.connect().unwrap();
    client.write_all(b"OPTIONS * HTTP/1.1\r\n\r\n").unwrap();
    let (mut conn, peer) = http.accept_timeout(WAIT).unwrap();
    assert_eq!(peer, memory::MemoryAddr(1));
    let mut method = [0u8; 7];
    conn.read_exact(&mut method).unwrap();
    assert_eq!(&method, b"OPTIONS");

    let mut client = connector.connect().unwrap();
    client.write_all(&[0x16, 0x03]).unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let (mut conn, _) = other.accept_timeout(WAIT).unwrap();
    assert_eq!(read_to_end(&mut conn), [0x16, 0x03]);
    assert_eq!(running.addr, memory::MemoryAddr(0));

    drop(connector);
    match running.wait_served() {
        Err(connmux::ServeError::Accept(error)) => {
            assert_eq!(error.kind(), std::io::ErrorKind::NotConnected)
        }
        other => panic!("serve ended with {other:?}"),
    }
}

#[test]
fn a_silent_client_reaches_the_server_first_route_and_talkers_do_not() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(Some(WAIT)));
    let http = mux.route(http1_fast());
    let smtp_like = mux.route(connmux::matchers::silence(Duration::from_millis(100)));
    let running = serve(mux);
    std::thread::spawn(move || {
        while let Ok((mut conn, _)) = smtp_like.accept() {
            let _ = conn.write_all(b"220 ready\r\n");
        }
    });

    let started = std::time::Instant::now();
    let mut silent = common::connect(running.addr);
    let mut banner = [0u8; 11];
    silent.read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"220 ready\r\n");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "served before the silence timeout"
    );

    let _talker = connect_and_send(running.addr, b"GET / HTTP/1.1\r\n\r\n");
    http.accept_timeout(WAIT)
        .expect("a client that talks is routed by its bytes");
    running.stop().unwrap();
}
