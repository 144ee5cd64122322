//! connmux with rustls (TLS terminated on a route, a second mux inside
//! it, reached by curl and by a rustls client), tungstenite (a WebSocket
//! route) and ureq (an HTTP client through the mux). Loopback only, port
//! 0, every wait bounded.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use connmux::{matchers, Mux};
use connmux_interop::{answer_http1, answer_http2, nested, serve_each, tls_config, Nested};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const WAIT: Duration = Duration::from_secs(10);

/// The nested mux on a fresh port, every route answering: HTTP/2 and
/// HTTP/1 inside TLS, HTTP/1 outside. Returns its port, its handles, and
/// the certificate clients must trust.
fn start_nested() -> (u16, Nested, rustls::pki_types::CertificateDer<'static>) {
    let (config, cert) = tls_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mux = nested(listener, config).unwrap();
    serve_each(mux.h2.clone(), |stream| {
        let _ = answer_http2(stream);
    });
    serve_each(mux.h1.clone(), |mut stream| {
        if answer_http1(&mut stream, "inside TLS").is_ok() {
            // End the TLS session properly: clients such as rustls treat
            // a close without close_notify as a truncation attack.
            let _ = stream.get_ref().with_layer(|tls| {
                tls.conn.send_close_notify();
                tls.flush()
            });
        }
    });
    serve_each(mux.plain.clone(), |stream| {
        let _ = answer_http1(stream, "in the clear");
    });
    (port, mux, cert)
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--insecure", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs (tests/interop/rust.sh installs it)");
    assert!(output.status.success(), "curl {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn curl_over_tls_reaches_the_inner_routes() {
    let (port, mux, _cert) = start_nested();
    let url = format!("https://127.0.0.1:{port}/");
    assert_eq!(curl(&["--http1.1", &url]), "inside TLS");
    let h2 = curl(&[
        "--http2",
        "--output",
        "/dev/null",
        "--write-out",
        "%{http_code} %{http_version}",
        &url,
    ]);
    assert_eq!(h2, "200 2");
    let plain = curl(&["--http1.1", &format!("http://127.0.0.1:{port}/")]);
    assert_eq!(plain, "in the clear");
    mux.inner.shutdown();
    mux.outer.shutdown();
}

#[test]
fn a_rustls_client_reaches_http1_inside_tls() {
    let (port, mux, cert) = start_nested();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    #[allow(deprecated)]
    // ring builds without cmake; post-quantum key exchange is not the point here
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from("localhost").unwrap();
    let session = ClientConnection::new(Arc::new(config), name).unwrap();
    let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut tls = StreamOwned::new(session, socket);
    tls.write_all(b"GET /rustls HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).unwrap();
    assert!(response.ends_with("\r\n\r\ninside TLS"), "{response}");
    assert_eq!(mux.h1.route().index(), 1);
    mux.inner.shutdown();
    mux.outer.shutdown();
}

#[test]
fn the_inner_mux_shuts_down_without_closing_the_outer_route() {
    let (config, _cert) = tls_config();
    let mut outer = Mux::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let tls = outer.route(matchers::tls());
    let addr = outer.local_addr().unwrap();
    let outer_handle = outer.handle();
    thread::spawn(move || outer.serve());

    // An inner mux over a clone of the TLS route, shut down at once.
    let terminate = move |socket| {
        let session =
            rustls::ServerConnection::new(Arc::clone(&config)).map_err(std::io::Error::other)?;
        Ok(rustls::StreamOwned::new(session, socket))
    };
    let mut inner = Mux::new(connmux::handshake(tls.clone(), terminate)).unwrap();
    let _inner_any = inner.route(matchers::any());
    let inner_handle = inner.handle();
    let (done, served) = mpsc::channel();
    thread::spawn(move || done.send(inner.serve().is_ok()));
    inner_handle.shutdown();
    assert_eq!(served.recv_timeout(WAIT), Ok(true), "the inner mux stopped");

    // The outer route is still open: a TLS client is queued on it.
    let mut client = TcpStream::connect(addr).unwrap();
    let hello = include_bytes!("../../../fixtures/tls13-openssl-sni-alpn.bin");
    client.write_all(hello).unwrap();
    let (stream, _) = tls
        .accept_timeout(WAIT)
        .expect("the route kept its clients");
    assert_eq!(stream.with_sniffed(|bytes| bytes[0]), 0x16);
    assert_eq!(outer_handle.stats().route_closed, 0);
    outer_handle.shutdown();
}

#[test]
fn a_websocket_route_served_by_tungstenite() {
    let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let websocket = mux.route(matchers::websocket());
    let addr = mux.local_addr().unwrap();
    let handle = mux.handle();
    thread::spawn(move || mux.serve());
    serve_each(websocket, |stream| {
        let mut socket = tungstenite::accept(stream).expect("a WebSocket handshake");
        while let Ok(message) = socket.read() {
            if message.is_close() || socket.send(message).is_err() {
                break;
            }
        }
    });

    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let url = format!("ws://{addr}/echo");
    let (mut socket, response) = tungstenite::client(url.as_str(), stream).unwrap();
    assert_eq!(response.status(), 101);
    socket.send("through connmux".into()).unwrap();
    assert_eq!(
        socket.read().unwrap().into_text().unwrap(),
        "through connmux"
    );
    socket.close(None).unwrap();
    handle.shutdown();
}

#[test]
fn ureq_through_the_mux() {
    let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let http = mux.route(matchers::http1_fast());
    let addr = mux.local_addr().unwrap();
    let handle = mux.handle();
    thread::spawn(move || mux.serve());
    let (seen, request_lines) = mpsc::channel();
    serve_each(http, move |stream| {
        let _ = seen.send(answer_http1(stream, "hello ureq").unwrap());
    });

    let agent = ureq::AgentBuilder::new().timeout(WAIT).build();
    let body = agent
        .get(&format!("http://{addr}/via-ureq"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(body, "hello ureq");
    assert_eq!(
        request_lines.recv_timeout(WAIT).unwrap(),
        "GET /via-ureq HTTP/1.1"
    );
    handle.shutdown();
}

#[test]
fn the_crate_docs_show_the_nested_example_line_for_line() {
    let source = include_str!("../src/lib.rs");
    let docs = include_str!("../../../../src/lib.rs");
    let between = |text: &str, strip: &str| -> Vec<String> {
        text.lines()
            .map(|line| {
                line.trim_start()
                    .trim_start_matches(strip)
                    .trim()
                    .to_owned()
            })
            .skip_while(|line| !line.ends_with("nested example: begin"))
            .skip(1)
            .take_while(|line| !line.ends_with("nested example: end"))
            .collect()
    };
    let example = between(source, "");
    assert!(example.len() > 5);
    assert_eq!(between(docs, "//!"), example);
    println!("nested example: {} lines", example.len());
}
