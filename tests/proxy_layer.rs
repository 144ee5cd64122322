//! The PROXY protocol layer over real sockets: headers a real HAProxy sent
//! (tests/fixtures/proxy-v*-haproxy.bin) are parsed, removed and exposed on
//! the stream; under `Required`, a missing, malformed or cut-off header is
//! refused with an event saying why; under `Optional`, plain clients pass.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::time::Duration;

use common::{connect, connect_and_send, is_closed_by_peer, read_to_end, serve, tcp_mux, WAIT};
use connmux::matchers::{any, http1_fast, silence};
use connmux::{Mux, ProxyAddr, ProxyCommand, ProxyHeader, ProxyMode, ProxyVersion, TrustedProxies};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: proxied\r\n\r\n";

/// A fixture file and the `src=`/`dst=` its MANIFEST line records.
fn haproxy_capture(name: &str) -> (Vec<u8>, SocketAddr, SocketAddr) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bytes = std::fs::read(fixtures.join(name)).unwrap();
    let manifest = std::fs::read_to_string(fixtures.join("MANIFEST")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.starts_with(name))
        .expect("in MANIFEST");
    let field = |key: &str| -> SocketAddr {
        let value = line
            .split([' ', '\t'])
            .find_map(|kv| kv.strip_prefix(key))
            .unwrap();
        value.parse().unwrap()
    };
    (bytes, field("src="), field("dst="))
}

fn http_mux(mode: ProxyMode) -> (common::Running<SocketAddr>, connmux::Listener) {
    let mut mux = tcp_mux(Mux::builder().proxy_protocol(mode));
    let http = mux.route(http1_fast());
    (serve(mux), http)
}

#[test]
fn headers_from_haproxy_are_parsed_removed_and_exposed() {
    for (file, version) in [
        ("proxy-v1-haproxy.bin", ProxyVersion::V1),
        ("proxy-v2-haproxy.bin", ProxyVersion::V2),
    ] {
        let (bytes, source, destination) = haproxy_capture(file);
        let (running, http) = http_mux(ProxyMode::Required);
        let client = connect_and_send(running.addr, &bytes);
        client.shutdown(Shutdown::Write).unwrap();
        let (mut conn, _) = http.accept_timeout(WAIT).expect(file);
        let header = conn.proxy_header().expect("header on the stream").clone();
        assert_eq!(header.version(), version, "{file}");
        assert_eq!(header.command(), ProxyCommand::Proxy);
        assert_eq!(header.source(), Some(ProxyAddr::Inet(source)), "{file}");
        assert_eq!(
            header.destination(),
            Some(ProxyAddr::Inet(destination)),
            "{file}"
        );
        assert_eq!(
            read_to_end(&mut conn),
            REQUEST,
            "{file}: the header is not replayed"
        );
        let request = conn
            .http1_request()
            .expect("request line in the sniffed bytes");
        assert_eq!(
            (request.method.as_str(), request.host.as_deref()),
            ("GET", Some("proxied"))
        );
        running.stop().unwrap();
    }
}

#[test]
fn a_header_arriving_byte_by_byte_is_still_found() {
    let (running, http) = http_mux(ProxyMode::Required);
    let header = ProxyHeader::tcp(
        "198.51.100.7:40000".parse().unwrap(),
        "203.0.113.1:443".parse().unwrap(),
    );
    let mut wire = header.encode_v2();
    wire.extend_from_slice(REQUEST);
    let mut client = connect(running.addr);
    client.set_nodelay(true).unwrap();
    for byte in &wire {
        client.write_all(&[*byte]).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    let (conn, _) = http.accept_timeout(WAIT).unwrap();
    assert_eq!(conn.proxy_header(), Some(&header));
    running.stop().unwrap();
}

#[test]
fn required_refuses_a_missing_header() {
    let (running, _http) = http_mux(ProxyMode::Required);
    let mut client = connect_and_send(running.addr, REQUEST);
    assert!(is_closed_by_peer(&mut client));
    let event = running.next_event();
    assert_eq!(event.kind, "proxy_header");
    assert_eq!(event.peer, Some(client.local_addr().unwrap()));
    assert!(
        event.text.contains("no PROXY header where one is required"),
        "{}",
        event.text
    );
    assert_eq!(running.handle.stats().bad_proxy_header, 1);
    running.stop().unwrap();
}

#[test]
fn a_malformed_header_is_refused_with_the_reason() {
    for mode in [ProxyMode::Required, ProxyMode::Optional] {
        let (running, _http) = http_mux(mode);
        let mut client = connect_and_send(
            running.addr,
            b"PROXY TCP4 192.0.2.1 192.0.2.2 5000 70000\r\n",
        );
        assert!(is_closed_by_peer(&mut client));
        let event = running.next_event();
        assert_eq!(event.kind, "proxy_header", "{mode:?}");
        assert!(
            event.text.contains("destination port out of range"),
            "{}",
            event.text
        );
        running.stop().unwrap();
    }
}

#[test]
fn required_refuses_a_header_cut_off_by_the_client() {
    let (running, _http) = http_mux(ProxyMode::Required);
    let client = connect_and_send(running.addr, b"PROXY TCP4 192.0.2.1 ");
    client.shutdown(Shutdown::Write).unwrap();
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("proxy_header", 21));
    assert!(
        event.text.contains("before its PROXY header was complete"),
        "{}",
        event.text
    );
    running.stop().unwrap();
}

#[test]
fn optional_passes_plain_clients_and_strips_headers() {
    let (running, http) = http_mux(ProxyMode::Optional);
    let _plain = connect_and_send(running.addr, REQUEST);
    let (mut conn, _) = http.accept_timeout(WAIT).unwrap();
    assert!(conn.proxy_header().is_none());
    let mut head = [0u8; 14];
    conn.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"GET / HTTP/1.1");

    let mut wire = ProxyHeader::local().encode_v2();
    wire.extend_from_slice(REQUEST);
    let proxied = connect_and_send(running.addr, &wire);
    proxied.shutdown(Shutdown::Write).unwrap();
    let (mut conn, _) = http.accept_timeout(WAIT).unwrap();
    assert_eq!(
        conn.proxy_header().map(ProxyHeader::command),
        Some(ProxyCommand::Local)
    );
    assert_eq!(read_to_end(&mut conn), REQUEST);
    running.stop().unwrap();
}

#[test]
fn a_client_silent_after_its_header_reaches_the_silence_route() {
    let mut mux = tcp_mux(Mux::builder().proxy_protocol(ProxyMode::Required));
    let _http = mux.route(http1_fast());
    let server_first = mux.route(silence(Duration::from_millis(50)));
    let running = serve(mux);
    let header = ProxyHeader::tcp(
        "192.0.2.9:1234".parse().unwrap(),
        "192.0.2.10:25".parse().unwrap(),
    );
    let _client = connect_and_send(running.addr, &header.encode_v1());
    let (conn, _) = server_first.accept_timeout(WAIT).unwrap();
    let parsed = conn.proxy_header().unwrap();
    assert_eq!(
        (parsed.version(), parsed.source()),
        (ProxyVersion::V1, header.source())
    );
    assert_eq!(conn.unread_len(), 0);
    running.stop().unwrap();
}

#[test]
fn an_unmatched_client_behind_a_balancer_is_reported_with_its_real_address() {
    let (running, _http) = http_mux(ProxyMode::Required);
    let header = ProxyHeader::tcp(
        "198.51.100.20:5151".parse().unwrap(),
        "192.0.2.1:443".parse().unwrap(),
    );
    let mut wire = header.encode_v1();
    wire.extend_from_slice(b"\x00garbage");
    let mut client = connect_and_send(running.addr, &wire);
    assert!(is_closed_by_peer(&mut client));
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("not_matched", 8));
    assert!(
        event.text.contains("(PROXY source 198.51.100.20:5151)"),
        "{}",
        event.text
    );
    running.stop().unwrap();
}

#[test]
fn the_stream_knows_when_it_was_accepted() {
    let (running, http) = http_mux(ProxyMode::Off);
    let before = std::time::Instant::now();
    let _client = connect_and_send(running.addr, REQUEST);
    let (conn, _) = http.accept_timeout(WAIT).unwrap();
    assert!(conn.accepted_at() >= before && conn.accepted_at() <= std::time::Instant::now());
    running.stop().unwrap();
}

#[test]
fn optional_lets_a_silent_client_reach_the_silence_route_at_its_timeout() {
    // No deadline: a sniff that held the client until one would never end.
    let mut mux = tcp_mux(
        Mux::builder()
            .proxy_protocol(ProxyMode::Optional)
            .sniff_deadline(None),
    );
    let _http = mux.route(http1_fast());
    let server_first = mux.route(silence(Duration::from_millis(50)));
    let running = serve(mux);
    let _client = connect(running.addr);
    let (conn, _) = server_first.accept_timeout(WAIT).expect("taken at silence");
    assert!(conn.proxy_header().is_none());
    running.stop().unwrap();
}

#[test]
fn a_silent_peer_is_closed_at_the_first_byte_timeout_in_both_modes() {
    // Under `Optional`, a client silent before any header; under
    // `Required`, a balancer that never sends its header.
    for mode in [ProxyMode::Optional, ProxyMode::Required] {
        let mut mux = tcp_mux(
            Mux::builder()
                .proxy_protocol(mode)
                .sniff_deadline(None)
                .first_byte_timeout(Some(Duration::from_millis(50))),
        );
        let _http = mux.route(http1_fast());
        let running = serve(mux);
        let mut client = connect(running.addr);
        let event = running.next_event();
        assert_eq!(event.kind, "no_first_byte", "{mode:?}: {event:?}");
        assert!(is_closed_by_peer(&mut client));
        running.stop().unwrap();
    }
}

#[test]
fn a_header_sent_byte_by_byte_then_closed_is_parsed_whole() {
    // The header is parsed only as often as the sniff's pace allows; the
    // end of the input parses what arrived one last time.
    use connmux::memory::{self, MemoryAddr};
    use std::io::Write as _;

    let (source, _connector) = memory::listener();
    let mut mux = Mux::builder()
        .proxy_protocol(ProxyMode::Required)
        .build(source)
        .unwrap();
    let catch_all = mux.route(connmux::matchers::any());
    let dispatcher = mux.dispatcher();
    let header = ProxyHeader::tcp(
        "192.0.2.1:4321".parse().unwrap(),
        "192.0.2.2:443".parse().unwrap(),
    );
    let (mut client, conn) = memory::pair();
    let sender = std::thread::spawn(move || {
        for byte in header.encode_v1() {
            client.write_all(&[byte]).unwrap();
        }
        client.shutdown(Shutdown::Write).unwrap();
        client
    });
    dispatcher.dispatch(conn, MemoryAddr(1)).expect("routed");
    let (conn, _) = catch_all.accept().unwrap();
    assert_eq!(
        conn.proxy_header().and_then(ProxyHeader::source),
        Some(ProxyAddr::Inet("192.0.2.1:4321".parse().unwrap()))
    );
    drop(sender.join().unwrap());
}

/// A multiplexer on 127.0.0.1 that trusts only `trusted`, with a
/// catch-all route: the tests' clients connect from 127.0.0.1.
fn trusting(
    mode: ProxyMode,
    trusted: TrustedProxies,
) -> (common::Running<SocketAddr>, connmux::Listener) {
    let mut mux = tcp_mux(Mux::builder().proxy_protocol(mode).trusted_proxies(trusted));
    let all = mux.route(any());
    (serve(mux), all)
}

/// A header claiming a client far away, then a request.
const SPOOFED: &[u8] = b"PROXY TCP4 6.6.6.6 192.0.2.1 4444 80\r\nGET / HTTP/1.1\r\n\r\n";

#[test]
fn required_refuses_a_peer_it_does_not_trust_without_reading_it() {
    let elsewhere = TrustedProxies::none().allow("127.0.0.2/32".parse().unwrap());
    let (running, all) = trusting(ProxyMode::Required, elsewhere);
    let mut client = connect_and_send(running.addr, SPOOFED);
    assert!(is_closed_by_peer(&mut client));
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("untrusted_proxy", 0));
    let peer = client.local_addr().unwrap();
    assert_eq!(event.peer, Some(peer));
    assert!(
        event.text.contains(&peer.to_string()) && event.text.contains("not trusted"),
        "{}",
        event.text
    );
    assert!(all.accept_timeout(Duration::from_millis(100)).is_err());
    assert_eq!(running.handle.stats().untrusted_proxy, 1);
    running.stop().unwrap();
}

#[test]
fn optional_takes_an_untrusted_peers_header_as_its_own_bytes() {
    let elsewhere = TrustedProxies::none().allow("10.0.0.0/8".parse().unwrap());
    let (running, all) = trusting(ProxyMode::Optional, elsewhere);
    let client = connect_and_send(running.addr, SPOOFED);
    client.shutdown(Shutdown::Write).unwrap();
    let (mut conn, peer) = all.accept_timeout(WAIT).expect("routed as it is");
    assert_eq!(peer, client.local_addr().unwrap(), "not 6.6.6.6");
    assert!(conn.proxy_header().is_none(), "nothing believed");
    assert_eq!(read_to_end(&mut conn), SPOOFED, "nothing stripped");
    running.stop().unwrap();
}

#[test]
fn a_listed_network_is_believed_and_loopback_is_by_default() {
    let listed = TrustedProxies::none().allow("127.0.0.1/32".parse().unwrap());
    for trusted in [listed, TrustedProxies::default()] {
        let (running, all) = trusting(ProxyMode::Required, trusted);
        let client = connect_and_send(running.addr, SPOOFED);
        client.shutdown(Shutdown::Write).unwrap();
        let (mut conn, _) = all.accept_timeout(WAIT).expect("believed");
        let source = conn.proxy_header().and_then(ProxyHeader::source);
        assert_eq!(
            source,
            Some(ProxyAddr::Inet("6.6.6.6:4444".parse().unwrap()))
        );
        assert_eq!(read_to_end(&mut conn), b"GET / HTTP/1.1\r\n\r\n");
        running.stop().unwrap();
    }
}

#[test]
fn local_peers_are_trusted_unless_the_list_leaves_them_out() {
    for (trusted, believed) in [
        (TrustedProxies::default(), true),
        (
            TrustedProxies::none().allow("127.0.0.0/8".parse().unwrap()),
            false,
        ),
        (TrustedProxies::none().allow_local(), true),
    ] {
        let (source, connector) = connmux::memory::listener();
        let mut mux = Mux::builder()
            .proxy_protocol(ProxyMode::Optional)
            .trusted_proxies(trusted)
            .build(source)
            .unwrap();
        let all = mux.route(any());
        let running = serve(mux);
        let mut client = connector.connect().unwrap();
        client.write_all(SPOOFED).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let (conn, _) = all.accept_timeout(WAIT).unwrap();
        assert_eq!(conn.proxy_header().is_some(), believed);
        running.stop().unwrap();
    }
}
