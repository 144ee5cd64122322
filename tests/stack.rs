//! The sniffer threads' stack: every built-in matcher and extraction
//! function, the PROXY protocol layer and the sniff itself run on their
//! worst openings on threads of exactly `MuxBuilder::MIN_SNIFFER_STACK_SIZE`,
//! in the test profile (a debug build, which needs more stack than a
//! release build: 52 KiB against 32). A thread that overflows its stack
//! aborts the whole test binary: a failure nobody can miss.
//!
//! The openings: every capture in `tests/fixtures` (real clients of each
//! protocol) and every seed of the fuzz targets in `tests/corpus`; the
//! HPACK bomb of `benches/hostile.rs` (the deepest path: Huffman-coded
//! names decoded into the dynamic table), in one HEADERS frame and in
//! sixteen CONTINUATION frames; the TLS ClientHellos in one-byte records;
//! a 16 KiB HTTP/1 head; and a 4 KiB PROXY v2 header of TLVs.

use std::fs;
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::Path;
use std::thread;

use connmux::internal::standard_routes;
use connmux::matchers::{
    client_hello_info, client_hello_version, http1_header, http1_header_prefix, http1_methods,
    http1_request, http2_header, http2_header_prefix, http2_request, http2_request_headers,
    mqtt_client_id, mqtt_version, postgres_request, redis_command, silence, socks4_request,
    socks5_methods, ssh_identification, tls_alpn, tls_alpn_any, tls_sni_any, HTTP2_PREFACE,
};
use connmux::{memory, parse_proxy_header, Matcher, Mux, MuxBuilder, ProxyMode, Verdict};

const MIN_STACK: usize = MuxBuilder::MIN_SNIFFER_STACK_SIZE;

/// The most a sniff reads by default, and so the longest opening.
const OPENING: usize = MuxBuilder::DEFAULT_MAX_SNIFF_BYTES;

/// Runs `work` on a thread of exactly the minimum stack.
fn on_minimum_stack(work: impl FnOnce() + Send + 'static) {
    thread::Builder::new()
        .name("minimum-stack".into())
        .stack_size(MIN_STACK)
        .spawn(work)
        .expect("a thread")
        .join()
        .expect("no panic");
}

/// An HTTP/2 frame on stream 1 (RFC 9113 section 4.1).
fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("24 bits");
    [
        &length.to_be_bytes()[1..],
        &[kind, flags, 0, 0, 0, 1],
        payload,
    ]
    .concat()
}

/// A client's opening whose first request carries `block`: the preface,
/// an empty SETTINGS frame, then HEADERS and `continuations` CONTINUATION
/// frames, all but the last one byte long.
fn http2_opening(block: &[u8], continuations: usize) -> Vec<u8> {
    let (pieces, last) = block.split_at(continuations);
    let mut opening = [HTTP2_PREFACE, &[0, 0, 0, 4, 0, 0, 0, 0, 0]].concat();
    let fragments = pieces.chunks(1).chain([last]);
    for (index, fragment) in fragments.enumerate() {
        let kind = if index == 0 { 0x1 } else { 0x9 };
        let end_headers = if index == continuations { 0x4 } else { 0 };
        opening.extend(frame(kind, end_headers, fragment));
    }
    opening
}

/// A header block of `length` bytes at most that fills the dynamic table
/// with one Huffman-coded 4,064-octet name (`0x40`: a literal with
/// incremental indexing, RFC 7541 section 6.2.1; `0xff 0xed 0x12`: Huffman,
/// 2,540 octets), then adds entries named after the newest one (`0x7e
/// 0x00`: name index 62, empty value) until the block is full: each
/// insertion evicts the entry before it and decodes the name.
fn hpack_bomb(length: usize) -> Vec<u8> {
    // 'a' is `00011` (RFC 7541 Appendix B): eight of them in five octets.
    let name = [0x18, 0xc6, 0x31, 0x8c, 0x63].repeat(4064 / 8);
    let mut block = [&[0x40, 0xff, 0xed, 0x12][..], &name, &[0x00]].concat();
    while block.len() + 2 <= length {
        block.extend([0x7e, 0x00]);
    }
    block
}

/// A TLS record stream carrying `records`' handshake bytes again, one per
/// record (RFC 8446 section 5.1), as a hostile client may split them.
fn one_byte_records(records: &[u8]) -> Vec<u8> {
    let handshake = records.get(5..).unwrap_or_default();
    handshake
        .iter()
        .flat_map(|&byte| [22, 0x03, 0x01, 0, 1, byte])
        .collect()
}

/// A PROXY v2 header of `length` bytes: TCP over IPv4, then empty TLVs.
fn proxy_v2_with_tlvs(length: usize) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21\x11".to_vec();
    header.extend(
        u16::try_from(length - 16)
            .expect("a v2 length")
            .to_be_bytes(),
    );
    header.extend([192, 0, 2, 1, 198, 51, 100, 1, 0x30, 0x39, 0x01, 0xbb]);
    header.resize(length, 0);
    for tlv in header[28..].chunks_exact_mut(3) {
        tlv[0] = 0xe0;
    }
    header
}

/// The openings named in the module docs.
fn worst_openings() -> Vec<Vec<u8>> {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut captures = Vec::new();
    for folder in [tests.join("fixtures"), tests.join("fixtures/manual")] {
        for entry in fs::read_dir(folder).expect("the fixtures") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|extension| extension == "bin") {
                captures.push(fs::read(path).expect("a capture"));
            }
        }
    }
    assert!(captures.len() >= 40, "{} captures", captures.len());
    let tls_hellos = captures
        .iter()
        .filter(|capture| capture.first() == Some(&22));
    let mut openings: Vec<Vec<u8>> = tls_hellos.map(|hello| one_byte_records(hello)).collect();
    openings.extend(captures);
    // The fuzz targets' seeds: each parser's odd corners.
    for target in fs::read_dir(tests.join("corpus")).expect("the seed corpora") {
        for seed in fs::read_dir(target.expect("a target").path()).expect("its seeds") {
            openings.push(fs::read(seed.expect("a seed").path()).expect("a seed"));
        }
    }
    // Room for the preface, SETTINGS and the frame headers.
    let block_room = OPENING - 24 - 9 - 17 * 9;
    openings.push(http2_opening(&hpack_bomb(block_room), 0));
    openings.push(http2_opening(&hpack_bomb(block_room), 16));
    let mut http1_head = b"GET / HTTP/1.1\r\n".to_vec();
    while http1_head.len() + 3 + 36 <= OPENING {
        http1_head.extend(b"a:\n");
    }
    http1_head.extend(b"X-Route: blue\r\nUpgrade: websocket\r\n\r\n");
    openings.push(http1_head);
    openings.push(proxy_v2_with_tlvs(4096));
    openings
}

/// A matcher over an extraction function: `Match` once it answers.
fn extraction<T>(extract: impl Fn(&[u8]) -> Option<T> + Send + Sync + 'static) -> impl Matcher {
    move |seen: &[u8]| match extract(seen) {
        Some(answer) => {
            black_box(answer);
            Verdict::Match
        }
        None => Verdict::NeedMore,
    }
}

/// Every built-in matcher, combinator and extraction function: the route
/// table of the fuzz harness, the matchers it leaves out, and the
/// functions a handler calls on the sniffed bytes.
fn every_matcher() -> Vec<Box<dyn Matcher>> {
    let mut matchers = standard_routes();
    let more: Vec<Box<dyn Matcher>> = vec![
        Box::new(http2_header("x-tenant", "blue").send_settings()),
        Box::new(http2_header_prefix("content-type", "application/grpc")),
        Box::new(http1_header("x-route", "blue")),
        Box::new(http1_header_prefix("upgrade", "web")),
        Box::new(http1_methods(["GET", "PURGE"])),
        Box::new(tls_alpn("h2")),
        Box::new(tls_sni_any(["*.example.com", "localhost"])),
        Box::new(tls_alpn_any(["h2", "http/1.1"])),
        Box::new(silence(std::time::Duration::from_millis(1))),
        Box::new(extraction(http1_request)),
        Box::new(extraction(http2_request)),
        Box::new(extraction(|seen| {
            http2_request_headers(seen, |name, value| {
                black_box((name, value));
            })
            .ok()
        })),
        Box::new(extraction(client_hello_info)),
        Box::new(extraction(client_hello_version)),
        Box::new(extraction(|seen| {
            ssh_identification(seen).map(|id| format!("{id:?}"))
        })),
        Box::new(extraction(|seen| socks5_methods(seen).map(<[u8]>::to_vec))),
        Box::new(extraction(socks4_request)),
        Box::new(extraction(redis_command)),
        Box::new(extraction(postgres_request)),
        Box::new(extraction(mqtt_version)),
        Box::new(extraction(mqtt_client_id)),
        Box::new(extraction(|seen| match parse_proxy_header(seen) {
            connmux::ProxyParse::Incomplete => None,
            parsed => Some(format!("{parsed:?}")),
        })),
    ];
    matchers.extend(more);
    matchers
}

#[test]
fn every_built_in_matcher_fits_the_minimum_stack() {
    let openings = worst_openings();
    on_minimum_stack(move || {
        for matcher in every_matcher() {
            for opening in &openings {
                // Judged as the input grows: the stack a verdict takes
                // depends on how far the bytes reach, not on how many.
                for length in (0..opening.len()).step_by(1021).chain([opening.len()]) {
                    black_box(matcher.verdict(&opening[..length]));
                }
                black_box(matcher.matches_at_end(opening));
            }
        }
    });
}

/// A multiplexer with every built-in matcher as an inline route, under
/// `ProxyMode::Optional`, whose handlers ask the stream what the sniff
/// learned and answer `ok`.
fn every_route_inline(
    builder: MuxBuilder,
) -> (Mux<memory::MemoryListener>, memory::MemoryConnector) {
    let (source, connector) = memory::listener();
    let mut mux = builder
        .proxy_protocol(ProxyMode::Optional)
        .build(source)
        .expect("a mux");
    for matcher in every_matcher() {
        mux.route_inline(matcher, |mut stream, _peer| {
            black_box((
                stream.tls_client_hello(),
                stream.http1_request(),
                stream.http2_request(),
            ));
            let _ = stream.write_all(b"ok");
        });
    }
    mux.on_event(|event| {
        black_box(event.to_string());
    });
    (mux, connector)
}

/// Each opening alone, then after a PROXY v2 header of 4 KiB.
fn with_and_without_proxy_header(openings: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let header = proxy_v2_with_tlvs(4096);
    let behind_proxy = openings
        .iter()
        .map(|opening| [&header[..], opening].concat());
    openings.iter().cloned().chain(behind_proxy).collect()
}

#[test]
fn a_dispatched_sniff_fits_the_minimum_stack() {
    let (mut mux, _connector) = every_route_inline(Mux::builder());
    let dispatcher = mux.dispatcher();
    let openings = with_and_without_proxy_header(worst_openings());
    on_minimum_stack(move || {
        for (index, opening) in openings.iter().enumerate() {
            let (mut client, server_end) = memory::pair();
            client.write_all(opening).expect("room in the pipe");
            client.shutdown(Shutdown::Write).expect("half-close");
            let peer = memory::MemoryAddr(index as u64);
            black_box(dispatcher.dispatch(server_end, peer).ok());
        }
    });
}

#[test]
fn sniffer_threads_fit_the_minimum_stack() {
    // Asked for less than the minimum, the threads get the minimum.
    let (mux, connector) = every_route_inline(Mux::builder().sniffer_stack_size(0));
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let openings = with_and_without_proxy_header(worst_openings());
    let mut answered = 0;
    for opening in &openings {
        let mut client = connector.connect().expect("a connection");
        // A sniff that decided on the first bytes may close the
        // connection while the rest is still being written: then the
        // write fails, and the answer is the close.
        let sent = client.write_all(opening).is_ok();
        let _ = client.shutdown(Shutdown::Write);
        let mut answer = Vec::new();
        let read = client.read_to_end(&mut answer);
        assert!(read.is_ok() || !sent, "the answer, or a close: {read:?}");
        answered += usize::from(answer == b"ok");
    }
    handle.shutdown();
    server.join().expect("no panic").expect("served");
    let stats = handle.stats();
    assert_eq!(stats.accepted as usize, openings.len());
    assert!(
        answered > openings.len() / 2,
        "{answered} handlers answered"
    );
}

#[test]
fn an_inline_handler_gets_the_stack_it_is_configured_with() {
    let (source, connector) = memory::listener();
    let mut mux = Mux::builder()
        .sniffer_stack_size(1024 * 1024)
        .build(source)
        .expect("a mux");
    mux.route_inline(connmux::matchers::any(), |mut stream, _peer| {
        let mut frame = [0u8; 300 * 1024];
        let read = stream.read(black_box(&mut frame)).unwrap_or(0);
        let _ = stream.write_all(&black_box(&frame)[..read]);
    });
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let mut client = connector.connect().expect("a connection");
    client.write_all(b"echo").expect("sent");
    let mut echoed = [0u8; 4];
    client.read_exact(&mut echoed).expect("the echo");
    assert_eq!(&echoed, b"echo");
    handle.shutdown();
    server.join().expect("no panic").expect("served");
}
