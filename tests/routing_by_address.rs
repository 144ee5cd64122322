//! Routes by address over real sockets: by the client (the peer, or the
//! source a believed PROXY header names) and by the address it dialled
//! (the local address, or the header's destination), alone and combined
//! with byte matchers. A header from an untrusted peer is never believed,
//! so it cannot buy a route by address.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::thread;

use common::{connect, connect_and_send, read_to_end, serve, tcp_mux, WAIT};
use connmux::matchers::{any, from, http1_fast, to, to_port};
use connmux::{all_of, channel, not, Listener, Mux, ProxyHeader, ProxyMode, TrustedProxies};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// The bytes a connection's handler reads, the client having closed its
/// side after `bytes`.
fn delivered(listener: &Listener, running_addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let client = connect_and_send(running_addr, bytes);
    client.shutdown(Shutdown::Write).unwrap();
    let (mut conn, _) = listener.accept_timeout(WAIT).expect("routed");
    read_to_end(&mut conn)
}

#[test]
fn a_route_by_client_takes_a_silent_connection_before_its_first_byte() {
    // No deadline: only the address can decide for a client that sends
    // nothing.
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(None));
    let local = mux.route(from(["127.0.0.0/8", "::1"]).unwrap());
    let running = serve(mux);
    let mut client = connect(running.addr);
    let (mut conn, peer) = local.accept_timeout(WAIT).expect("routed unread");
    assert_eq!(peer, client.local_addr().unwrap());
    client.write_all(b"late bytes").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut conn), b"late bytes");
    running.stop().unwrap();
}

#[test]
fn byte_routes_combine_with_address_routes() {
    let mut mux = tcp_mux(Mux::builder());
    let remote_http = mux.route(all_of((not(from(["127.0.0.0/8"]).unwrap()), http1_fast())));
    let local_http = mux.route(all_of((http1_fast(), from(["127.0.0.1"]).unwrap())));
    let rest = mux.route(any());
    let running = serve(mux);
    assert_eq!(delivered(&local_http, running.addr, REQUEST), REQUEST);
    assert_eq!(
        delivered(&rest, running.addr, b"SSH-2.0-x\r\n"),
        b"SSH-2.0-x\r\n"
    );
    assert!(remote_http
        .accept_timeout(std::time::Duration::ZERO)
        .is_err());
    running.stop().unwrap();
}

#[test]
fn relayed_clients_route_by_the_source_their_header_names() {
    let mut mux = tcp_mux(Mux::builder().proxy_protocol(ProxyMode::Optional));
    let office = mux.route(all_of((from(["10.0.0.0/8"]).unwrap(), http1_fast())));
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let dialled = addr("192.0.2.1:443");
    let v1 = |client: &str| ProxyHeader::tcp(addr(client), dialled).encode_v1();
    let v2 = |client: &str| ProxyHeader::tcp(addr(client), dialled).encode_v2();
    for (header, expected) in [
        (v1("10.1.2.3:5000"), &office),
        (v2("10.200.0.1:5000"), &office),
        (v2("[::ffff:10.0.0.9]:5000"), &office),
        (v1("192.0.2.77:5000"), &http),
        (v2("[2001:db8::1]:5000"), &http),
        // A health check speaks for itself: the client is the peer.
        (ProxyHeader::local().encode_v2(), &http),
        (ProxyHeader::unknown().encode_v1(), &http),
        // No header: the peer, 127.0.0.1.
        (Vec::new(), &http),
    ] {
        let mut bytes = header.clone();
        bytes.extend_from_slice(REQUEST);
        assert_eq!(
            delivered(expected, running.addr, &bytes),
            REQUEST,
            "{}",
            header.escape_ascii()
        );
    }
    running.stop().unwrap();
}

#[test]
fn a_header_from_an_untrusted_peer_buys_no_route_by_address() {
    let builder = Mux::builder()
        .proxy_protocol(ProxyMode::Optional)
        .trusted_proxies(TrustedProxies::none().allow("192.0.2.0/24".parse().unwrap()));
    let mut mux = tcp_mux(builder);
    let office = mux.route(from(["10.0.0.0/8"]).unwrap());
    let rest = mux.route(any());
    let running = serve(mux);
    let mut spoofed = ProxyHeader::tcp(addr("10.1.2.3:5000"), addr("127.0.0.1:80")).encode_v1();
    spoofed.extend_from_slice(REQUEST);
    // Judged as the client's own bytes, header included.
    assert_eq!(delivered(&rest, running.addr, &spoofed), spoofed);
    assert!(office.accept_timeout(std::time::Duration::ZERO).is_err());
    running.stop().unwrap();
}

#[test]
fn routes_by_the_address_the_client_dialled() {
    // Two loopback listeners feed one multiplexer.
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = TcpListener::bind("127.0.0.2:0").unwrap();
    let (first_addr, second_addr) = (first.local_addr().unwrap(), second.local_addr().unwrap());
    let (sender, source) = channel(first_addr, 16);
    let feeders = [first, second].map(|listener| {
        let sender = sender.clone();
        thread::spawn(move || {
            // Until the multiplexer is gone.
            while let Ok((conn, peer)) = listener.accept() {
                if sender.send(conn, peer).is_err() {
                    break;
                }
            }
        })
    });
    drop(sender);
    let mut mux = Mux::new(source).unwrap();
    let to_second = mux.route(to(["127.0.0.2"]).unwrap());
    let to_first_port = mux.route(all_of((to_port([first_addr.port()]), http1_fast())));
    let rest = mux.route(any());
    let running = serve(mux);
    for (dialled, expected, bytes) in [
        (second_addr, &to_second, REQUEST),
        (first_addr, &to_first_port, REQUEST),
        (first_addr, &rest, b"SSH-2.0-x\r\n".as_slice()),
    ] {
        assert_eq!(delivered(expected, dialled, bytes), bytes, "{dialled}");
    }
    running.stop().unwrap();
    // One more connection each, which finds the multiplexer gone.
    for (dialled, feeder) in [first_addr, second_addr].into_iter().zip(feeders) {
        drop(connect(dialled));
        feeder.join().unwrap();
    }
}

#[test]
fn relayed_destinations_route_by_the_header() {
    let mut mux = tcp_mux(Mux::builder().proxy_protocol(ProxyMode::Required));
    let public = mux.route(to(["203.0.113.0/24"]).unwrap());
    let rest = mux.route(any());
    let running = serve(mux);
    for (dialled, expected) in [("203.0.113.80:443", &public), ("198.51.100.1:443", &rest)] {
        let mut bytes = ProxyHeader::tcp(addr("192.0.2.9:4000"), addr(dialled)).encode_v2();
        bytes.extend_from_slice(b"anything");
        assert_eq!(
            delivered(expected, running.addr, &bytes),
            b"anything",
            "{dialled}"
        );
    }
    running.stop().unwrap();
}

#[test]
fn the_dispatcher_routes_by_address_too() {
    let mut mux = tcp_mux(Mux::builder());
    let local = mux.route(all_of((from(["127.0.0.1"]).unwrap(), http1_fast())));
    let _rest = mux.route(any());
    let dispatcher = mux.dispatcher();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = connect(listener.local_addr().unwrap());
    client.write_all(REQUEST).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (conn, peer) = listener.accept().unwrap();
    let route = dispatcher.dispatch(conn, peer).expect("routed");
    assert_eq!(route, local.route());
    let (mut conn, _) = local.accept_timeout(WAIT).unwrap();
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    assert_eq!(got, REQUEST);
}
