//! The `route_decision` target: arbitrary bytes against a route table of
//! every built-in matcher and combinator ([`standard_routes`], which
//! `tests/fuzz_corpus.rs` and `tests/properties.rs` also decide on).
//!
//! The input's own bytes choose what a run judges, so the fuzzer steers
//! it (`sample.rs`): its length and last four bytes name the two routes
//! whose monotonicity is checked; its last eight bytes name four of the
//! prefixes they are judged on; each of its bytes, `b`, is a read of
//! `b + 1` bytes for the chunked decision of the whole table.

use std::sync::LazyLock;

use crate::matcher::Matcher;
use crate::matchers::{
    any, client_hello_version, grpc, http1_fast, http2_preface, mqtt, postgres, prefixes, redis,
    socks4, socks5, ssh, tls, tls_sni, tls_versions, websocket, TlsVersion,
};
use crate::{all_of, any_of, not};

use super::sample::check_chosen_routes_sampled;

/// The route table the route-decision harness uses: every built-in matcher
/// and combinator, in an order where each can win.
///
/// | index | route                                   |
/// |-------|-----------------------------------------|
/// | 0     | gRPC (HTTP/2 `content-type`)            |
/// | 1     | HTTP/2 preface                          |
/// | 2     | WebSocket handshake                     |
/// | 3     | HTTP/1 by method (`http1_fast`)         |
/// | 4     | HTTP/1 by request line (`http1`)        |
/// | 5     | TLS to `.example.com` offering `h2`     |
/// | 6     | TLS 1.3                                 |
/// | 7     | any TLS                                 |
/// | 8     | SSH                                     |
/// | 9     | SOCKS5                                  |
/// | 10    | SOCKS4                                  |
/// | 11    | `SSH-`, `05` or `04 01` prefixes        |
/// | 12    | PostgreSQL                              |
/// | 13    | MQTT                                    |
/// | 14    | Redis                                   |
/// | 15    | not HTTP/1 and `*`                      |
/// | 16    | `00 00`, or not `00`                    |
/// | 17    | anything                                |
pub fn standard_routes() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(grpc()),
        Box::new(http2_preface()),
        Box::new(websocket()),
        Box::new(http1_fast()),
        Box::new(crate::matchers::http1()),
        Box::new(tls_sni(".example.com").alpn("h2")),
        Box::new(tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)),
        Box::new(tls()),
        Box::new(ssh()),
        Box::new(socks5()),
        Box::new(socks4()),
        Box::new(prefixes([&b"SSH-"[..], &[0x05][..], &[0x04, 0x01][..]])),
        Box::new(postgres()),
        Box::new(mqtt()),
        Box::new(redis()),
        Box::new(all_of((not(http1_fast()), prefixes(["*"])))),
        Box::new(any_of((prefixes(["\x00\x00"]), not(prefixes(["\x00"]))))),
        Box::new(any()),
    ]
}

/// [`standard_routes`], built once per process: building the table (its
/// HTTP methods, prefix lists and SNI suffix) costs more than judging a
/// typical input with it.
static STANDARD_ROUTES: LazyLock<Vec<Box<dyn Matcher>>> = LazyLock::new(standard_routes);

/// Checks, on `data`: two routes' matchers, chosen by the input's last
/// bytes (`sample.rs`), are prefix-monotone and agree with their own
/// end-of-input answers (on a sample of prefixes); the route decision of
/// the whole table is the same in one piece and in chunks (sizes taken
/// from the data itself); nothing panics.
pub fn route_decision(data: &[u8]) {
    check_chosen_routes_sampled(&STANDARD_ROUTES, data);
    let _ = client_hello_version(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal::checks::decide_whole;
    use crate::matchers::HTTP2_PREFACE;

    /// A TLS 1.2 ClientHello with server_name "a.example.com" and ALPN
    /// "h2", "http/1.1" (the example of the `Tls` docs).
    fn tls12_hello_to_a_example_com() -> Vec<u8> {
        let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
        hello.extend([0u8; 32]);
        hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
        hello.extend([0x00, 40]);
        hello.extend([0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
        hello.extend(b"a.example.com");
        hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
        hello.extend(b"h2");
        hello.extend([8]);
        hello.extend(b"http/1.1");
        hello
    }

    #[test]
    fn each_standard_route_can_win() {
        let routes = standard_routes();
        let mut grpc_request = HTTP2_PREFACE.to_vec();
        grpc_request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
        grpc_request.extend([0, 0, 27, 1, 4, 0, 0, 0, 1]); // HEADERS, END_HEADERS, stream 1
        grpc_request.extend([0x83, 0x86]); // :method POST, :scheme http
        grpc_request.extend(b"\x0f\x10\x16application/grpc+proto");
        let tls12_hello = tls12_hello_to_a_example_com();
        let tls13_hello: &[u8] =
            include_bytes!("../../tests/fixtures/manual/tls13-openssl-no-sni-no-alpn.bin");
        let tls13_hello_prefix: &[u8] = &[
            0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03,
        ];
        let cases: &[(&[u8], Option<usize>)] = &[
            (&grpc_request, Some(0)),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Some(1)),
            (
                b"GET /chat HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                Some(2),
            ),
            (b"GET / HTTP/1.1\r\n", Some(3)),
            (b"PURGE /cache HTTP/1.0\n", Some(4)),
            (&tls12_hello, Some(5)),
            (tls13_hello, Some(6)),
            (tls13_hello_prefix, Some(7)),
            (b"SSH-2.0-x", Some(8)),
            (&[0x05, 0x01, 0x00], Some(9)),
            (
                &[0x04, 0x01, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x00],
                Some(10),
            ),
            // Not an SSH opening (no protocol version), but `SSH-`.
            (b"SSH-x", Some(11)),
            (&[0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f], Some(12)),
            (
                b"\x10\x18\x00\x04MQTT\x04\x02\x00\x3c\x00\x0cconnmux-test",
                Some(13),
            ),
            (b"*1\r\n$4\r\nPING\r\n", Some(14)),
            (b"*", Some(15)),
            (b"\x00\x00", Some(16)),
            (b"zzz", Some(16)),
            (b"\x00", Some(17)),
        ];
        for (data, want) in cases {
            assert_eq!(decide_whole(&routes, data), *want, "{data:02x?}");
            route_decision(data);
        }
        assert_eq!(cases.len(), routes.len() + 1);
    }
}
