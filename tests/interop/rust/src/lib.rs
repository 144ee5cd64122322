//! connmux with the libraries its users pair it with, and the small
//! servers the tests in `tests/` drive.
//!
//! [`nested`] is the crate docs' nested multiplexer (cmux's recursive
//! example: TLS or plain at the top, HTTP/2 or HTTP/1 inside TLS), line
//! for line: a test checks that the two copies agree.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

use connmux::{handshake, matchers, Listener, Mux, MuxHandle, PeekableStream};
use connmux::{Layered, Socket};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// A connection inside TLS, before the inner multiplexer's routes.
pub type InsideTls = Layered<StreamOwned<ServerConnection, Socket<PeekableStream>>, PeekableStream>;

/// A server configuration with a fresh self-signed certificate for
/// `localhost` and `127.0.0.1`, offering `h2` and `http/1.1`; and the
/// certificate, for clients to trust.
pub fn tls_config() -> (Arc<ServerConfig>, CertificateDer<'static>) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("a certificate");
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    #[allow(deprecated)]
    // ring builds without cmake; post-quantum key exchange is not the point here
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("a usable key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (Arc::new(config), cert)
}

/// The routes of the nested multiplexer and the handles that stop it.
pub struct Nested {
    /// HTTP/2 inside TLS.
    pub h2: Listener<InsideTls>,
    /// Anything else inside TLS (HTTP/1 here).
    pub h1: Listener<InsideTls>,
    /// Anything that is not TLS.
    pub plain: Listener,
    /// Stops the outer multiplexer.
    pub outer: MuxHandle,
    /// Stops the inner multiplexer.
    pub inner: MuxHandle,
}

/// The crate docs' nested multiplexer over `listener`.
pub fn nested(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Nested> {
    // nested example: begin
    let mut outer = Mux::new(listener)?;
    let tls = outer.route(matchers::tls());
    let plain = outer.route(matchers::any());
    let terminate = move |socket| {
        let session = ServerConnection::new(Arc::clone(&config)).map_err(io::Error::other)?;
        Ok(StreamOwned::new(session, socket))
    };
    let mut inner = Mux::new(handshake(tls, terminate))?;
    let h2 = inner.route(matchers::http2_preface());
    let h1 = inner.route(matchers::any());
    let (outer_handle, inner_handle) = (outer.handle(), inner.handle());
    thread::spawn(move || inner.serve());
    thread::spawn(move || outer.serve());
    // nested example: end
    Ok(Nested {
        h2,
        h1,
        plain,
        outer: outer_handle,
        inner: inner_handle,
    })
}

/// Answers one HTTP/1 request with `body`, and closes.
pub fn answer_http1(mut stream: impl Read + Write, body: &str) -> io::Result<String> {
    let mut reader = BufReader::new(&mut stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    drop(reader);
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()?;
    Ok(request_line.trim_end().to_owned())
}

/// Answers one HTTP/2 request with status 200 and no body: the server's
/// SETTINGS, an ACK of the client's, and a HEADERS frame on stream 1 that
/// ends it (`:status: 200` is entry 8 of HPACK's static table). Returns
/// once the client has closed, or after reading its opening.
pub fn answer_http2(mut stream: impl Read + Write) -> io::Result<()> {
    let mut preface = [0u8; 24];
    stream.read_exact(&mut preface)?;
    assert_eq!(&preface, matchers::HTTP2_PREFACE);
    const SETTINGS: [u8; 9] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
    const SETTINGS_ACK: [u8; 9] = [0, 0, 0, 0x4, 0x1, 0, 0, 0, 0];
    const STATUS_200: [u8; 10] = [0, 0, 1, 0x1, 0x5, 0, 0, 0, 1, 0x88];
    // The client's request comes in its first frames: wait for a HEADERS
    // frame before answering it.
    loop {
        let mut header = [0u8; 9];
        stream.read_exact(&mut header)?;
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        io::copy(&mut (&mut stream).take(length as u64), &mut io::sink())?;
        if header[3] == 0x1 {
            break;
        }
    }
    stream.write_all(&SETTINGS)?;
    stream.write_all(&SETTINGS_ACK)?;
    stream.write_all(&STATUS_200)?;
    stream.flush()?;
    // Let the client read the answer and close first.
    let _ = io::copy(&mut stream, &mut io::sink());
    Ok(())
}

/// Serves every connection of `listener` on a thread of its own with
/// `serve`, until the listener shuts down.
pub fn serve_each<C, A, F>(listener: Listener<C, A>, serve: F)
where
    C: connmux::Connection,
    A: Clone + Send + Sync + 'static,
    F: Fn(PeekableStream<C>) + Send + Sync + 'static,
{
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let serve = Arc::clone(&serve);
            thread::spawn(move || serve(stream));
        }
    });
}
