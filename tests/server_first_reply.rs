//! Matchers that talk first: for HTTP/2 clients that wait for the
//! server's SETTINGS before sending HEADERS (grpcio, grpc-go, grpc-java),
//! `grpc().send_settings()` has the sniffer send one empty SETTINGS frame,
//! and the client's ACK of it is cut from the bytes the handler reads, so
//! the real server never sees an ACK for a SETTINGS it did not send (cmux
//! issue #96). The client side is replayed from a real grpcio capture
//! (tests/fixtures/grpcio-*.bin) or written by hand.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::Path;

use common::{connect, read_to_end, serve, tcp_mux, WAIT};
use connmux::matchers::{grpc, http2_preface, HTTP2_PREFACE};
use connmux::Mux;

const EMPTY_SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];
const SETTINGS_ACK: [u8; 9] = [0, 0, 0, 4, 1, 0, 0, 0, 0];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// The byte offsets of every SETTINGS frame with the ACK flag in `bytes`
/// (which start with the client preface).
fn settings_acks(bytes: &[u8]) -> Vec<usize> {
    let mut acks = Vec::new();
    let mut at = HTTP2_PREFACE.len();
    while at + 9 <= bytes.len() {
        let length = usize::from(bytes[at]) << 16
            | usize::from(bytes[at + 1]) << 8
            | usize::from(bytes[at + 2]);
        if bytes[at + 3] == 4 && bytes[at + 4] & 1 == 1 {
            acks.push(at);
        }
        at += 9 + length;
    }
    acks
}

/// An HTTP/2 HEADERS frame on stream 1 (END_HEADERS) for a POST with the
/// given content-type, HPACK-coded without Huffman or indexing.
fn headers_frame(content_type: &str) -> Vec<u8> {
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http
    block.push(0x04); // :path, literal value
    block.push(13);
    block.extend_from_slice(b"/svc.Test/Get");
    block.push(0x0f); // content-type (static index 31), literal value
    block.push(0x10);
    block.push(content_type.len() as u8);
    block.extend_from_slice(content_type.as_bytes());
    let mut frame = vec![0, 0, block.len() as u8, 1, 0x04, 0, 0, 0, 1];
    frame.extend(block);
    frame
}

#[test]
fn a_real_grpcio_client_gets_settings_and_its_ack_never_reaches_the_handler() {
    let before = fixture("grpcio-before-settings.bin");
    let after = fixture("grpcio-after-settings.bin");
    assert!(
        after.starts_with(&before),
        "the second capture continues the first"
    );
    assert_eq!(
        settings_acks(&after).len(),
        1,
        "grpcio acknowledged our SETTINGS once"
    );

    let mut mux = tcp_mux(Mux::builder());
    let grpc_route = mux.route(grpc().send_settings());
    let running = serve(mux);
    let mut client = connect(running.addr);
    client.write_all(&before).unwrap();
    let mut settings = [0u8; 9];
    client.read_exact(&mut settings).unwrap();
    assert_eq!(
        settings, EMPTY_SETTINGS,
        "the sniffer sent the server SETTINGS"
    );
    client.write_all(&after[before.len()..]).unwrap();
    client.shutdown(Shutdown::Write).unwrap();

    let (mut conn, _) = grpc_route.accept_timeout(WAIT).expect("routed as gRPC");
    let request = conn
        .http2_request()
        .expect("the whole header block was sniffed");
    assert_eq!(request.path.as_deref(), Some("/connmux.Test/Ping"));
    assert_eq!(request.content_type.as_deref(), Some("application/grpc"));
    let replayed = read_to_end(&mut conn);
    let ack_at = settings_acks(&after)[0];
    let mut expected = after.clone();
    expected.drain(ack_at..ack_at + 9);
    assert_eq!(replayed, expected, "everything but the ACK, in order");
    assert!(settings_acks(&replayed).is_empty());
    running.stop().unwrap();
}

#[test]
fn an_ack_sent_after_the_headers_is_waited_for_and_cut() {
    let mut mux = tcp_mux(Mux::builder());
    let grpc_route = mux.route(grpc().send_settings());
    let running = serve(mux);
    let mut client = connect(running.addr);
    client.write_all(HTTP2_PREFACE).unwrap();
    client.write_all(&EMPTY_SETTINGS).unwrap();
    let mut settings = [0u8; 9];
    client.read_exact(&mut settings).unwrap();
    let headers = headers_frame("application/grpc+proto");
    client.write_all(&headers).unwrap();
    assert!(
        grpc_route
            .accept_timeout(std::time::Duration::from_millis(100))
            .is_err(),
        "handed over before the ACK arrived"
    );
    client.write_all(&SETTINGS_ACK).unwrap();
    client
        .write_all(b"\x00\x00\x00\x00\x01\x00\x00\x00\x01")
        .unwrap(); // empty DATA, END_STREAM
    client.shutdown(Shutdown::Write).unwrap();

    let (mut conn, _) = grpc_route.accept_timeout(WAIT).unwrap();
    let mut expected = HTTP2_PREFACE.to_vec();
    expected.extend(EMPTY_SETTINGS);
    expected.extend(&headers);
    expected.extend(b"\x00\x00\x00\x00\x01\x00\x00\x00\x01");
    assert_eq!(read_to_end(&mut conn), expected);
    running.stop().unwrap();
}

#[test]
fn when_another_route_wins_the_ack_is_still_cut() {
    let mut mux = tcp_mux(Mux::builder());
    let _grpc = mux.route(grpc().send_settings());
    let plain_h2 = mux.route(http2_preface());
    let running = serve(mux);
    let mut client = connect(running.addr);
    client.write_all(HTTP2_PREFACE).unwrap();
    client.write_all(&EMPTY_SETTINGS).unwrap();
    let mut settings = [0u8; 9];
    client.read_exact(&mut settings).unwrap();
    assert_eq!(settings, EMPTY_SETTINGS);
    client.write_all(&SETTINGS_ACK).unwrap();
    let headers = headers_frame("text/html");
    client.write_all(&headers).unwrap();
    client.shutdown(Shutdown::Write).unwrap();

    let (mut conn, _) = plain_h2
        .accept_timeout(WAIT)
        .expect("not gRPC: the next route");
    let mut expected = HTTP2_PREFACE.to_vec();
    expected.extend(EMPTY_SETTINGS);
    expected.extend(&headers);
    assert_eq!(read_to_end(&mut conn), expected);
    running.stop().unwrap();
}

#[test]
fn clients_that_do_not_wait_get_no_settings() {
    let mut mux = tcp_mux(Mux::builder());
    let grpc_route = mux.route(grpc().send_settings());
    let running = serve(mux);
    let mut client = connect(running.addr);
    let mut eager = HTTP2_PREFACE.to_vec();
    eager.extend(EMPTY_SETTINGS);
    eager.extend(headers_frame("application/grpc"));
    client.write_all(&eager).unwrap();
    let (mut conn, _) = grpc_route.accept_timeout(WAIT).unwrap();
    drop(grpc_route);
    conn.write_all(b"from-server").unwrap();
    let mut first = [0u8; 11];
    client.read_exact(&mut first).unwrap();
    assert_eq!(
        &first, b"from-server",
        "nothing was injected before the server's bytes"
    );
    running.stop().unwrap();
}

/// A matcher that replies a mebibyte to anything and never decides.
struct Talkative;

static MEBIBYTE: [u8; 1 << 20] = [b'!'; 1 << 20];

impl connmux::Matcher for Talkative {
    fn verdict(&self, _: &[u8]) -> connmux::Verdict {
        connmux::Verdict::NeedMore
    }

    fn reply(&self, _: &[u8]) -> Option<&'static [u8]> {
        Some(&MEBIBYTE)
    }
}

#[test]
fn a_reply_to_a_client_that_never_reads_ends_at_the_deadline() {
    use connmux::memory::{self, MemoryAddr};
    use std::time::Duration;

    // The reply is larger than the connection holds unread: a blocking
    // write would wait for the client for ever.
    let (source, _unused) = memory::listener();
    let mut mux = Mux::builder()
        .sniff_deadline(Some(Duration::from_millis(100)))
        .build(source)
        .unwrap();
    mux.route_inline(Talkative, |_, _| {});
    let dispatcher = mux.dispatcher();
    let (mut client, conn) = memory::pair();
    client.write_all(b"hello").unwrap();
    let outcome = common::within(WAIT, move || dispatcher.dispatch(conn, MemoryAddr(1)));
    assert!(
        matches!(outcome, Err(connmux::DropReason::TimedOut)),
        "{outcome:?}"
    );
    drop(client);
}
