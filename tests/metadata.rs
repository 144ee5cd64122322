//! What the sniff learned, on the stream: bytes captured from real clients
//! (tests/fixtures) are routed by SNI, ALPN, WebSocket upgrade and HTTP/2
//! headers, and the handler can read the ClientHello, request line and
//! HTTP/2 request back from its stream.

mod common;

use std::net::Shutdown;
use std::path::Path;

use common::{connect_and_send, read_to_end, serve, tcp_mux, WAIT};
use connmux::matchers::{http1, http2_header, tls_alpn, tls_sni, websocket, TlsVersion};
use connmux::{Listener, Mux};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// Sends a fixture and returns the stream `listener` accepts for it,
/// checking the handler reads the fixture's bytes exactly.
fn deliver(addr: std::net::SocketAddr, listener: &Listener, name: &str) -> connmux::PeekableStream {
    let bytes = fixture(name);
    let client = connect_and_send(addr, &bytes);
    client.shutdown(Shutdown::Write).unwrap();
    let (mut conn, _) = listener
        .accept_timeout(WAIT)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(read_to_end(&mut conn), bytes, "{name}");
    conn
}

#[test]
fn tls_routes_by_sni_and_alpn_and_exposes_the_client_hello() {
    let mut mux = tcp_mux(Mux::builder());
    let legacy = mux.route(tls_sni(".example.org"));
    let www = mux.route(tls_sni("*.example.com").alpn("h2"));
    let http11_only = mux.route(tls_alpn("http/1.1"));
    let running = serve(mux);

    let conn = deliver(running.addr, &www, "tls13-openssl-sni-alpn.bin");
    let hello = conn.tls_client_hello().expect("ClientHello");
    assert_eq!(hello.version, TlsVersion::TLS1_3);
    assert_eq!(hello.sni.as_deref(), Some("www.example.com"));
    assert_eq!(hello.alpn, ["h2", "http/1.1"]);

    let conn = deliver(running.addr, &legacy, "tls12-openssl-sni-alpn.bin");
    assert_eq!(conn.tls_client_hello().unwrap().version, TlsVersion::TLS1_2);

    let conn = deliver(running.addr, &http11_only, "tls-curl-https-sni.bin");
    assert_eq!(
        conn.tls_client_hello().unwrap().sni.as_deref(),
        Some("api.example.net")
    );
    running.stop().unwrap();
}

#[test]
fn http_requests_are_exposed_on_the_stream() {
    let mut mux = tcp_mux(Mux::builder());
    let h2c = mux.route(http2_header(":path", "/h2c?from=curl"));
    let upgrade = mux.route(websocket());
    let plain = mux.route(http1());
    let running = serve(mux);

    let conn = deliver(running.addr, &h2c, "http2-curl-prior-knowledge.bin");
    let request = conn.http2_request().expect("HTTP/2 request");
    assert_eq!(
        (request.method.as_deref(), request.scheme.as_deref()),
        (Some("GET"), Some("http"))
    );

    let conn = deliver(running.addr, &upgrade, "websocket-client-upgrade.bin");
    let request = conn.http1_request().expect("request line");
    assert_eq!(
        (request.method.as_str(), request.target.as_str()),
        ("GET", "/chat")
    );

    let conn = deliver(running.addr, &plain, "http1-curl-get.bin");
    assert_eq!(conn.http1_request().unwrap().target, "/hello?from=curl");
    assert!(conn.tls_client_hello().is_none() && conn.http2_request().is_none());
    running.stop().unwrap();
}
