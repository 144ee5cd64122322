//! The TLS handler: reports the ClientHello, then refuses the handshake
//! with a fatal handshake_failure alert.

use std::io::{self, Write};
use std::net::SocketAddr;

use connmux::matchers::ClientHelloInfo;
use connmux::PeekableStream;

use crate::conn::close_gracefully;

/// A fatal alert record (RFC 8446 sections 5.1 and 6): content type 21,
/// version 3.3, length 2, level 2 (fatal), description 40
/// (handshake_failure).
const HANDSHAKE_FAILURE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

pub(crate) fn serve_tls(mut stream: PeekableStream, peer: SocketAddr) -> io::Result<()> {
    // The ClientHello is among the bytes the sniff read to route the
    // connection (real clients send it whole, in one go), so the stream
    // can tell what it says without reading more.
    let sniffed = stream.with_sniffed(<[u8]>::len);
    let hello = stream
        .tls_client_hello()
        .map_or_else(|| "incomplete or malformed".into(), describe);
    println!(
        "{peer}  TLS  {sniffed} bytes sniffed, ClientHello {hello}; refused with a handshake_failure alert"
    );
    stream.write_all(&HANDSHAKE_FAILURE_ALERT)?;
    close_gracefully(&mut stream);
    Ok(())
}

/// The ClientHello in one phrase: version, SNI and ALPN offered.
fn describe(hello: ClientHelloInfo) -> String {
    let sni = hello.sni.as_deref().unwrap_or("(none)");
    let alpn = if hello.alpn.is_empty() {
        "(none)".to_string()
    } else {
        hello.alpn.join(",")
    };
    format!("highest version {}, SNI {sni}, ALPN {alpn}", hello.version)
}
