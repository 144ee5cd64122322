//! The TLS handler: reports the ClientHello, then refuses the handshake
//! with a fatal handshake_failure alert.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use connmux::matchers::{client_hello_info, ClientHelloInfo};
use connmux::PeekableStream;

use crate::conn::{close_gracefully, is_timeout};

/// How long to wait for the rest of a ClientHello that arrives in pieces.
const TLS_READ_TIMEOUT: Duration = Duration::from_secs(1);
/// One full TLS record (RFC 8446 section 5.1): a 5-byte header and at
/// most 2^14 bytes of fragment.
const TLS_MAX_HELLO: usize = 5 + 16_384;
/// A fatal alert record (RFC 8446 sections 5.1 and 6): content type 21,
/// version 3.3, length 2, level 2 (fatal), description 40
/// (handshake_failure).
const HANDSHAKE_FAILURE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

pub(crate) fn serve_tls(mut stream: PeekableStream, peer: SocketAddr) -> io::Result<()> {
    stream.set_read_timeout(Some(TLS_READ_TIMEOUT))?;
    let hello = read_client_hello(&mut stream)?;
    let summary = client_hello_info(&hello).map_or_else(|| "not understood".into(), describe);
    println!(
        "{peer}  TLS  ClientHello of {} bytes: {summary}; refused with a handshake_failure alert",
        hello.len()
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

/// Reads until the first record is complete and holds a ClientHello we can
/// parse, or the client stops sending, or one record's worth has arrived.
fn read_client_hello(stream: &mut PeekableStream) -> io::Result<Vec<u8>> {
    let mut hello = Vec::new();
    let mut chunk = [0u8; 4096];
    while hello.len() < TLS_MAX_HELLO && !client_hello_complete(&hello) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => hello.extend_from_slice(&chunk[..read]),
            Err(error) if is_timeout(&error) => break,
            Err(error) => return Err(error),
        }
    }
    Ok(hello)
}

fn client_hello_complete(hello: &[u8]) -> bool {
    let first_record_complete = match hello {
        [_, _, _, high, low, fragment @ ..] => {
            fragment.len() >= usize::from(u16::from_be_bytes([*high, *low]))
        }
        _ => false,
    };
    first_record_complete && client_hello_info(hello).is_some()
}
