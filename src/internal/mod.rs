//! Fuzzing harnesses: invariant checks over arbitrary input, shared by the
//! `fuzz/` crate (each cargo-fuzz target calls the harness of its name) and
//! by `tests/fuzz_corpus.rs` (which replays the seed corpora on stable
//! Rust).
//!
//! A harness panics only when an invariant breaks; that panic is the
//! finding. Each checks, beyond "no panic": that every matcher it runs is
//! prefix-monotone on the input ([`check_monotone`]), that a route decision
//! does not depend on how the input is chunked, and that the matchers agree
//! with the extraction functions of the same parser. Not part of the
//! stable API.

use std::borrow::Cow;
use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::matcher::{Matcher, ReplyAck, Verdict};
use crate::matchers::http2::MAX_CONTINUATION_FRAMES;
use crate::matchers::{
    any, client_hello_info, client_hello_version, grpc, http1_fast, http1_header,
    http1_header_prefix, http1_methods, http1_request, http2_header, http2_header_prefix,
    http2_preface, http2_request, http2_request_headers, mqtt, postgres, prefixes, redis, socks4,
    socks5, ssh, tls, tls_alpn, tls_alpn_any, tls_sni, tls_versions, websocket, ClientHelloInfo,
    Http1Request, Http2HeadersError, Http2Request, TlsVersion, HTTP2_HEADERS_LIMIT, HTTP2_PREFACE,
    HTTP_METHODS, TLS_MAX_CLIENT_HELLO_BYTES,
};
use crate::sniff::decide::{Decision, Opening, RouteDecider};
use crate::sniff::pace::Pace;
use crate::{
    all_of, any_of, not, parse_proxy_header, ProxyAddr, ProxyCommand, ProxyHeader, ProxyParse,
    ProxyTransport, ProxyVersion, UnixPath, PROXY_V1_MAX_HEADER_BYTES, PROXY_V2_MAX_HEADER_BYTES,
};

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

/// The decision on `data` taken whole, as the sniffer would if it all
/// arrived in one read and then the input ended.
pub fn decide_whole(routes: &[Box<dyn Matcher>], data: &[u8]) -> Option<usize> {
    let mut decider = RouteDecider::new(routes);
    match decider.decide(data) {
        Decision::Route(index) => Some(index),
        Decision::NoRoute => None,
        Decision::Undecided => match decider.decide_at_end(data, std::time::Duration::ZERO) {
            Decision::Route(index) => Some(index),
            Decision::NoRoute | Decision::Undecided => None,
        },
    }
}

/// The decision on `data` arriving in chunks whose sizes come from
/// `chunk_sizes` (cycled), as the sniffer takes it read by read when the
/// chunks come back to back: judged after a read only when its pace
/// allows, and once more at the end.
pub fn decide_chunked(
    routes: &[Box<dyn Matcher>],
    data: &[u8],
    chunk_sizes: &[u8],
) -> Option<usize> {
    let opening = Opening::of(routes);
    let mut decider = RouteDecider::opened(routes, opening);
    let mut decision = opening.decision();
    let mut pace = Pace::default();
    let mut sizes = chunk_sizes.iter().map(|&s| usize::from(s) + 1).cycle();
    let mut seen = 0;
    loop {
        match decision {
            Decision::Route(index) => return Some(index),
            Decision::NoRoute => return None,
            Decision::Undecided if seen == data.len() => break,
            Decision::Undecided => {
                seen = (seen + sizes.next().unwrap_or(1)).min(data.len());
                if pace.may_judge(seen) {
                    pace.judged(seen);
                    decision = decider.decide(&data[..seen]);
                }
            }
        }
    }
    match decider.decide_at_end(data, std::time::Duration::ZERO) {
        Decision::Route(index) => Some(index),
        Decision::NoRoute | Decision::Undecided => None,
    }
}

/// Checks, on `data`: every route's matcher is prefix-monotone and agrees
/// with its own end-of-input answer; the route decision is the same in
/// one piece and in chunks (sizes taken from the data itself); nothing
/// panics.
pub fn route_decision(data: &[u8]) {
    check_route_table(&standard_routes(), data);
    let _ = client_hello_version(data);
}

/// Checks every matcher of `routes` with [`check_monotone`], and that the
/// route decision on `data` is the same whole and in chunks whose sizes
/// come from the data itself.
pub fn check_route_table(routes: &[Box<dyn Matcher>], data: &[u8]) {
    for (index, matcher) in routes.iter().enumerate() {
        check_monotone(index, matcher.as_ref(), data);
    }
    let whole = decide_whole(routes, data);
    let chunked = decide_chunked(routes, data, data);
    assert_eq!(whole, chunked, "chunking changed the route for {data:02x?}");
}

/// The prefix lengths of an input of `length` bytes the harnesses look at:
/// all of the first 64, then a spread, then the whole.
fn prefix_lengths(length: usize) -> impl Iterator<Item = usize> {
    let step = (length / 64).max(1);
    (0..=length.min(64))
        .chain((64..=length).step_by(step))
        .chain([length])
}

/// Asserts that once `matcher` decides on a prefix of `data` it keeps that
/// verdict on every longer prefix, and that its end answer agrees with a
/// final verdict; `index` names the matcher in the panic message.
///
/// The matchers' own property tests call it on generated input.
pub fn check_monotone(index: usize, matcher: &dyn Matcher, data: &[u8]) {
    let mut settled: Option<(usize, Verdict)> = None;
    for length in prefix_lengths(data.len()) {
        let verdict = matcher.verdict(&data[..length]);
        let at_end = matcher.matches_at_end(&data[..length]);
        match verdict {
            Verdict::Match => assert!(
                at_end,
                "route {index}: Match but not at end on {length} bytes"
            ),
            Verdict::NoMatch => assert!(
                !at_end,
                "route {index}: NoMatch but matches at end on {length} bytes"
            ),
            Verdict::NeedMore => {}
        }
        if let Some((first, decided)) = settled {
            assert_eq!(
                verdict, decided,
                "route {index}: {decided:?} at {first} bytes became {verdict:?} at {length} of {data:02x?}"
            );
        } else if verdict != Verdict::NeedMore {
            settled = Some((length, verdict));
        }
    }
}

/// Asserts that an extraction function is prefix-monotone on `data`: once
/// `extract` gives a value that `is_final` calls final on some prefix, it
/// gives that same value on every longer prefix.
fn check_settles<T: PartialEq + Debug>(
    what: &str,
    data: &[u8],
    extract: impl Fn(&[u8]) -> T,
    is_final: impl Fn(&T) -> bool,
) {
    let mut settled: Option<(usize, T)> = None;
    for length in prefix_lengths(data.len()) {
        let value = extract(&data[..length]);
        match &settled {
            Some((first, decided)) => assert_eq!(
                &value, decided,
                "{what}: changed between {first} and {length} bytes of {data:02x?}"
            ),
            None if is_final(&value) => settled = Some((length, value)),
            None => {}
        }
    }
}

/// The verdict of every matcher of `routes` on `data`.
fn verdicts(routes: &[Box<dyn Matcher>], data: &[u8]) -> Vec<Verdict> {
    routes.iter().map(|matcher| matcher.verdict(data)).collect()
}

/// Whether a string extracted with `from_utf8_lossy` is the bytes that
/// were sent, so a matcher built from it must see the same bytes.
fn is_exact_text(text: &str) -> bool {
    !text.contains(char::REPLACEMENT_CHARACTER)
}

/// The HTTP/1 matchers the `http1` harness runs.
fn http1_routes() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(http1_fast()),
        Box::new(crate::matchers::http1()),
        Box::new(websocket()),
        Box::new(http1_header("host", "localhost")),
        Box::new(http1_header_prefix("content-type", "application/")),
        Box::new(http1_header("x-test", "yes").max_head_bytes(64)),
        Box::new(websocket().max_head_bytes(128)),
        Box::new(http1_methods(["GET", "PURGE"])),
    ]
}

/// The `http1` target: the HTTP/1 matchers are prefix-monotone and
/// chunk-invariant, and agree with [`http1_request`] and with each other:
///
/// - `http1_request` gives a request exactly when `http1()` matches, and
///   its request line and host never change once read;
/// - the request line it gives, written out with `Display`, reads back the
///   same; `http1_fast` matches exactly when the method is in
///   [`HTTP_METHODS`];
/// - the header matchers find the `Host` value it reports (name in any
///   case, by value and by prefix), and no other value; a `Host` matcher
///   matches exactly when it reports that host (none for a request with
///   two `Host` fields, RFC 9112 section 3.2);
/// - a header matcher or `websocket` matches only a valid request line
///   (a WebSocket one only a `GET` of HTTP/1.1 or later), and says
///   `NoMatch` whenever `http1()` does.
pub fn http1(data: &[u8]) {
    let routes = http1_routes();
    check_route_table(&routes, data);
    check_settles(
        "http1_request line",
        data,
        |seen| {
            http1_request(seen).map(|request| Http1Request {
                host: None,
                ..request
            })
        },
        Option::is_some,
    );
    check_settles(
        "http1_request host",
        data,
        |seen| http1_request(seen).and_then(|request| request.host),
        Option::is_some,
    );
    let request = http1_request(data);
    let line = crate::matchers::http1().verdict(data);
    assert_eq!(
        request.is_some(),
        line == Verdict::Match,
        "http1_request {request:?} but http1() {line:?}"
    );
    let header_matchers: Vec<Box<dyn Matcher>> = vec![
        Box::new(websocket()),
        Box::new(http1_header("host", "localhost")),
        Box::new(http1_header_prefix("content-type", "application/")),
        Box::new(http1_header("x-test", "yes").max_head_bytes(64)),
    ];
    for (index, matcher) in header_matchers.iter().enumerate() {
        let verdict = matcher.verdict(data);
        if line == Verdict::NoMatch {
            assert_eq!(verdict, Verdict::NoMatch, "header matcher {index}");
        }
        if verdict == Verdict::Match {
            assert!(
                request.is_some(),
                "header matcher {index} without a request"
            );
        }
    }
    let Some(request) = request else {
        return;
    };
    let written = format!("{request}\r\n");
    assert_eq!(
        http1_request(written.as_bytes()),
        Some(Http1Request {
            host: None,
            ..request.clone()
        }),
        "request line {written:?} does not read back"
    );
    assert_eq!(
        http1_fast().verdict(data) == Verdict::Match,
        HTTP_METHODS.contains(&request.method.as_str()),
        "http1_fast and the method {:?} disagree",
        request.method
    );
    if websocket().verdict(data) == Verdict::Match {
        assert!(request.method == "GET" && request.minor_version >= 1);
    }
    if let Some(host) = request.host.as_deref().filter(|host| is_exact_text(host)) {
        let bytes = host.as_bytes();
        assert_eq!(http1_header("host", bytes).verdict(data), Verdict::Match);
        assert_eq!(http1_header("HoSt", bytes).verdict(data), Verdict::Match);
        let half = &bytes[..bytes.len() / 2];
        assert_eq!(
            http1_header_prefix("host", half).verdict(data),
            Verdict::Match
        );
        let longer = [bytes, b"x"].concat();
        assert_eq!(http1_header("host", longer).verdict(data), Verdict::NoMatch);
    }
    assert_eq!(
        http1_header("host", "localhost").verdict(data) == Verdict::Match,
        request.host.as_deref() == Some("localhost"),
        "the Host matcher and http1_request disagree"
    );
}

/// The HTTP/2 matchers the `hpack` and `http2_frames` harnesses run.
fn http2_routes() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(http2_preface()),
        Box::new(grpc()),
        Box::new(grpc().send_settings()),
        Box::new(http2_header(":path", "/")),
        Box::new(http2_header_prefix(":path", "/h2")),
        Box::new(http2_header(":method", "GET")),
        Box::new(http2_header(":authority", "localhost")),
        Box::new(http2_header("user-agent", "curl/7.88.1")),
        Box::new(http2_header(ABSENT_FIELD, "")),
    ]
}

/// A header field name no seed request carries: a matcher for it reads
/// the whole header block before it can say `NoMatch`.
const ABSENT_FIELD: &str = "x-connmux-fuzz-absent";

/// The fields of the first header block, as [`http2_request_headers`]
/// lists them.
type HeaderList = Result<Vec<(Vec<u8>, Vec<u8>)>, Http2HeadersError>;

fn request_headers(seen: &[u8]) -> HeaderList {
    let mut fields = Vec::new();
    http2_request_headers(seen, |name, value| {
        fields.push((name.to_vec(), value.to_vec()))
    })?;
    Ok(fields)
}

/// Checks that the HTTP/2 extraction functions agree with each other and
/// with the header matchers on `wire`, and returns what they extract.
fn check_http2_request(wire: &[u8]) -> (HeaderList, Option<Http2Request>) {
    #[cfg(any(test, fuzzing))]
    check_hpack_work(wire);
    check_settles("http2_request_headers", wire, request_headers, |headers| {
        *headers != Err(Http2HeadersError::Incomplete)
    });
    check_settles("http2_request", wire, http2_request, Option::is_some);
    let headers = request_headers(wire);
    let request = http2_request(wire);
    match &headers {
        Ok(_) => assert!(request.is_some(), "all fields listed, no request"),
        Err(
            Http2HeadersError::Incomplete
            | Http2HeadersError::Invalid
            | Http2HeadersError::HeaderListTooLarge,
        ) => {
            assert_eq!(request, None, "a request from {headers:?}");
        }
        Err(Http2HeadersError::FieldTooLong) => {}
    }
    // The matchers read only the first HTTP2_HEADERS_LIMIT bytes.
    if wire.len() >= HTTP2_HEADERS_LIMIT {
        return (headers, request);
    }
    // A matcher for a field the block lacks reads the whole block: while
    // the field has not shown up (its prefix matcher has not matched), it
    // is undecided exactly while the block is incomplete. It decodes no
    // value and compares names as sent, so it may still be undecided
    // where the extraction, which decodes every string, has met a bad
    // Huffman code and says `Invalid`.
    let absent = http2_header(ABSENT_FIELD, "").verdict(wire);
    let present = http2_header_prefix(ABSENT_FIELD, "").verdict(wire);
    let lists_absent = headers.as_ref().is_ok_and(|fields| {
        fields
            .iter()
            .any(|(name, _)| name == ABSENT_FIELD.as_bytes())
    });
    if headers.is_ok() {
        assert_eq!(present == Verdict::Match, lists_absent);
    }
    if present != Verdict::Match {
        assert_eq!(absent, present, "{ABSENT_FIELD}: exact and prefix differ");
        match absent {
            Verdict::Match => unreachable!("the prefix matcher did not match"),
            Verdict::NeedMore => assert!(
                matches!(
                    headers,
                    Err(Http2HeadersError::Incomplete
                        | Http2HeadersError::FieldTooLong
                        | Http2HeadersError::Invalid)
                ),
                "undecided on a block that {headers:?}"
            ),
            Verdict::NoMatch => assert_ne!(headers, Err(Http2HeadersError::Incomplete)),
        }
    }
    if http2_preface().verdict(wire) == Verdict::NoMatch {
        for (index, matcher) in http2_routes().iter().enumerate() {
            assert_eq!(matcher.verdict(wire), Verdict::NoMatch, "route {index}");
        }
    }
    if let Some(request) = &request {
        assert_ne!(
            present,
            Verdict::NeedMore,
            "a request from an incomplete block"
        );
        let pseudo = [
            (":method", &request.method),
            (":scheme", &request.scheme),
            (":authority", &request.authority),
            (":path", &request.path),
            ("content-type", &request.content_type),
        ];
        for (name, value) in pseudo {
            match value {
                Some(value) if is_exact_text(value) => assert_eq!(
                    http2_header(name, value).verdict(wire),
                    Verdict::Match,
                    "{name}: {value:?} extracted but not matched"
                ),
                Some(_) => {}
                None => assert_ne!(
                    http2_header_prefix(name, "").verdict(wire),
                    Verdict::Match,
                    "{name} matched but not extracted"
                ),
            }
        }
        let is_grpc = grpc().verdict(wire) == Verdict::Match;
        let grpc_type = request
            .content_type
            .as_deref()
            .is_some_and(|value| value.starts_with("application/grpc"));
        assert!(!is_grpc || grpc_type, "grpc matched {request:?}");
    }
    if let Ok(fields) = &headers {
        // The first field of each name decides that name's matchers.
        let mut names_seen: Vec<&[u8]> = Vec::new();
        for (name, value) in fields {
            if names_seen.contains(&name.as_slice()) || names_seen.len() == 8 {
                continue;
            }
            names_seen.push(name);
            if name.iter().any(u8::is_ascii_uppercase) {
                continue;
            }
            assert_eq!(http2_header(name, value).verdict(wire), Verdict::Match);
            let half = &value[..value.len() / 2];
            assert_eq!(
                http2_header_prefix(name, half).verdict(wire),
                Verdict::Match
            );
            let longer = [value.as_slice(), b"x"].concat();
            assert_eq!(http2_header(name, longer).verdict(wire), Verdict::NoMatch);
        }
    }
    (headers, request)
}

/// Checks that no HPACK consumer decodes or copies more octets on `wire`
/// than the decoder's bound for its length and the default header list
/// limit (`matchers::http2::hpack::work::bound`; `http2_request_headers` decodes
/// twice): work grows with the input and the limit, never with how often
/// a block refers to its dynamic table. The count exists in tests and
/// under `--cfg fuzzing` (which cargo-fuzz sets).
#[cfg(any(test, fuzzing))]
fn check_hpack_work(wire: &[u8]) {
    use crate::matchers::http2::hpack::work;
    use crate::matchers::DEFAULT_MAX_HEADER_LIST_SIZE;
    let bound = work::bound(wire.len(), DEFAULT_MAX_HEADER_LIST_SIZE);
    let within = |what: &str, decodings: usize, call: &dyn Fn()| {
        let _ = work::take();
        call();
        let work = work::take();
        assert!(
            work.total() <= decodings * bound,
            "{what}: {work:?}, more than {decodings} × {bound} octets"
        );
    };
    for (index, matcher) in http2_routes().iter().enumerate() {
        within(&format!("route {index}"), 1, &|| {
            let _ = matcher.verdict(wire);
        });
    }
    within("http2_request", 1, &|| {
        let _ = http2_request(wire);
    });
    within("http2_request_headers", 2, &|| {
        let _ = request_headers(wire);
    });
}

/// Checks the SETTINGS reply of `grpc().send_settings()` on `wire`: it is
/// offered only before any HEADERS frame, and the ACK it locates is a
/// SETTINGS ACK frame header after the preface, found once and for good.
fn check_settings_reply(wire: &[u8]) {
    let waiting = grpc().send_settings();
    if waiting.reply(wire).is_some() {
        assert_eq!(http2_preface().verdict(wire), Verdict::Match);
        assert_ne!(
            waiting.verdict(wire),
            Verdict::Match,
            "replied after HEADERS"
        );
    }
    assert_eq!(grpc().reply(wire), None);
    assert_eq!(grpc().reply_ack(wire), ReplyAck::None);
    check_settles(
        "reply_ack",
        wire,
        |seen| waiting.reply_ack(seen),
        |ack| *ack != ReplyAck::Pending,
    );
    if let ReplyAck::At(range) = waiting.reply_ack(wire) {
        assert!(range.start >= HTTP2_PREFACE.len(), "{range:?}");
        let frame = wire
            .get(range.clone())
            .expect("the ACK lies within the input");
        assert_eq!(frame.len(), 9);
        assert_eq!(&frame[..4], [0, 0, 0, 4], "not an empty SETTINGS frame");
        assert_eq!(frame[4] & 1, 1, "not an ACK");
        // The stream identifier's reserved high bit is ignored (RFC 9113
        // section 4.1).
        assert_eq!(frame[5] & 0x7f, 0, "not on stream 0");
        assert_eq!(&frame[6..], [0, 0, 0], "not on stream 0");
    }
}

/// The `http2_frames` target: arbitrary frames after the HTTP/2 preface
/// (added unless the input starts with `P`). The HTTP/2 matchers are
/// prefix-monotone and chunk-invariant; [`http2_request`] and
/// [`http2_request_headers`] never change once they have answered, agree
/// with each other, and agree with the matchers: `http2_request` gives a
/// request only for a complete block whose `:path` (and `:method`,
/// `:scheme`, `:authority`, `content-type`) `http2_header` matches; the
/// first field of each name in the block matches by value and by prefix; a
/// matcher for an absent field is undecided exactly while the block is
/// incomplete (the extraction may already have met a bad Huffman code in a
/// string the matcher skips); the SETTINGS reply and its ACK are where they should be;
/// and the HPACK work of each is within the decoder's bound (where it is
/// counted: tests, and `--cfg fuzzing`).
pub fn http2_frames(data: &[u8]) {
    let wire: Cow<[u8]> = if data.first() == Some(&b'P') {
        Cow::Borrowed(data)
    } else {
        Cow::Owned([HTTP2_PREFACE, data].concat())
    };
    check_route_table(&http2_routes(), &wire);
    let _ = check_http2_request(&wire);
    check_settings_reply(&wire);
}

/// An HTTP/2 connection opening: the preface and an empty SETTINGS frame.
fn http2_opening() -> Vec<u8> {
    [HTTP2_PREFACE, &[0, 0, 0, 4, 0, 0, 0, 0, 0]].concat()
}

/// Appends an HTTP/2 frame header (RFC 9113 section 4.1).
fn push_frame_header(wire: &mut Vec<u8>, length: usize, kind: u8, flags: u8, stream: u32) {
    let length = u32::try_from(length).expect("a frame length fits 24 bits");
    wire.extend(&length.to_be_bytes()[1..]);
    wire.extend([kind, flags]);
    wire.extend(stream.to_be_bytes());
}

/// How `header_block_request` frames a header block.
#[derive(Debug, Clone, Copy)]
struct BlockFraming<'a> {
    /// The sizes of the fragments, cycled: each byte `b` gives a fragment
    /// of `b % 32 + 1` bytes, preceded by an empty CONTINUATION when `b`
    /// has its high bit set. Empty: the whole block in the HEADERS frame.
    fragment_sizes: &'a [u8],
    /// Padding on the HEADERS frame (`PADDED`), if any.
    padding: Option<u8>,
    /// Whether the HEADERS frame carries a priority block (`PRIORITY`).
    priority: bool,
    stream: u32,
}

const FRAME_HEADERS: u8 = 0x1;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;

/// A client opening whose first request carries `block` as its header
/// block, framed as `framing` says.
fn header_block_request(block: &[u8], framing: BlockFraming<'_>) -> Vec<u8> {
    let mut fragments: Vec<&[u8]> = Vec::new();
    let mut rest = block;
    for &size in framing.fragment_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        // The matchers refuse a block in more pieces than the HEADERS
        // frame and MAX_CONTINUATION_FRAMES: with no room for this round's
        // two pieces (an empty one may come first), the rest goes in one.
        if fragments.len() + 3 > MAX_CONTINUATION_FRAMES + 1 {
            fragments.push(rest);
            break;
        }
        if size & 0x80 != 0 && !fragments.is_empty() {
            fragments.push(&[]);
        }
        let (fragment, after) = rest.split_at(usize::from(size % 32 + 1).min(rest.len()));
        fragments.push(fragment);
        rest = after;
    }
    if fragments.is_empty() {
        fragments.push(block);
    }
    let mut wire = http2_opening();
    let last = fragments.len() - 1;
    for (index, fragment) in fragments.iter().enumerate() {
        let end_headers = if index == last { FLAG_END_HEADERS } else { 0 };
        if index == 0 {
            let mut flags = end_headers;
            let mut overhead = Vec::new();
            if let Some(padding) = framing.padding {
                flags |= FLAG_PADDED;
                overhead.push(padding);
            }
            if framing.priority {
                flags |= FLAG_PRIORITY;
                overhead.extend([0, 0, 0, 0, 15]);
            }
            let padding = usize::from(framing.padding.unwrap_or(0));
            let length = overhead.len() + fragment.len() + padding;
            push_frame_header(&mut wire, length, FRAME_HEADERS, flags, framing.stream);
            wire.extend(overhead);
            wire.extend(*fragment);
            wire.resize(wire.len() + padding, 0);
        } else {
            push_frame_header(
                &mut wire,
                fragment.len(),
                FRAME_CONTINUATION,
                end_headers,
                framing.stream,
            );
            wire.extend(*fragment);
        }
    }
    wire
}

/// The largest header block the `hpack` harness frames: what fits one
/// HEADERS frame of the default maximum frame size with its padding and
/// priority block.
const MAX_FUZZED_BLOCK: usize = 16_384 - 1 - 255 - 5;

/// The `hpack` target: the input (after its first byte, which picks the
/// framing) is the HPACK header block of a client's first request, sent in
/// one HEADERS frame and again split across CONTINUATION frames (fragment
/// sizes taken from the input; empty fragments; one octet per frame for
/// short blocks; padding and priority on the HEADERS frame). Every framing
/// gives the same fields from [`http2_request_headers`], the same
/// [`http2_request`] and the same verdict from every HTTP/2 matcher,
/// including matchers built from the decoded fields. The whole framing and
/// the split one also pass the matcher, extraction and work checks of the
/// `http2_frames` target.
pub fn hpack(data: &[u8]) {
    let (control, block) = match data.split_first() {
        Some((&control, block)) => (control, block),
        None => (0, data),
    };
    let block = &block[..block.len().min(MAX_FUZZED_BLOCK)];
    let stream = u32::from(control) * 2 + 1;
    let framing = |fragment_sizes, padding, priority| BlockFraming {
        fragment_sizes,
        padding,
        priority,
        stream,
    };
    let whole = header_block_request(block, framing(&[], None, false));
    let fixed_routes = http2_routes();
    check_route_table(&fixed_routes, &whole);
    let (headers, request) = check_http2_request(&whole);
    let mut routes = fixed_routes;
    if let Ok(fields) = &headers {
        let lowercase = fields
            .iter()
            .filter(|(name, _)| !name.iter().any(u8::is_ascii_uppercase))
            .take(4);
        for (name, value) in lowercase {
            routes.push(Box::new(http2_header(name, value)));
            routes.push(Box::new(http2_header_prefix(
                name,
                &value[..value.len().min(3)],
            )));
        }
    }
    let expected = verdicts(&routes, &whole);
    let reversed: Vec<u8> = block.iter().rev().copied().collect();
    let split_sizes: &[u8] = if control & 1 == 0 { block } else { &reversed };
    let split = header_block_request(block, framing(split_sizes, None, false));
    check_route_table(&http2_routes(), &split);
    let _ = check_http2_request(&split);
    let one_octet: &[u8] = if block.len() <= 1024 { &[0] } else { &[31] };
    let other_framings = [
        framing(split_sizes, Some(control), control & 2 != 0),
        framing(one_octet, None, false),
        framing(&[], Some(control >> 1), true),
    ];
    let wires = [split]
        .into_iter()
        .chain(other_framings.map(|framing| header_block_request(block, framing)));
    for wire in wires {
        assert_eq!(request_headers(&wire), headers, "fields differ");
        assert_eq!(http2_request(&wire), request, "request differs");
        if wire.len() < HTTP2_HEADERS_LIMIT {
            assert_eq!(verdicts(&routes, &wire), expected, "verdicts differ");
        }
    }
}

/// The TLS matchers the `tls_client_hello` harness runs.
fn tls_routes() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(tls()),
        Box::new(tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)),
        Box::new(tls_versions(TlsVersion::SSL3_0..=TlsVersion::TLS1_2)),
        Box::new(tls_sni("www.example.com")),
        Box::new(tls_sni("*.example.net")),
        Box::new(tls_sni(".example.org")),
        Box::new(tls_alpn("h2")),
        Box::new(tls_alpn_any(["http/1.1", "acme-tls/1"])),
        Box::new(
            tls()
                .sni("api.example.net")
                .alpn("h2")
                .versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3),
        ),
    ]
}

/// The `tls_client_hello` target: the TLS matchers are prefix-monotone
/// and chunk-invariant; [`client_hello_info`] never changes once it has
/// answered and agrees with [`client_hello_version`]; a filtered matcher
/// matches only what `tls()` matches and says `NoMatch` whenever it does;
/// on a complete ClientHello every matcher has decided, `tls()` matches,
/// the version, server name and ALPN protocols the info reports are the
/// ones the filters match (and only those), and re-splitting the
/// handshake message into other records (sizes taken from the input, and
/// one byte per record) changes neither the info nor any verdict.
pub fn tls_client_hello(data: &[u8]) {
    let routes = tls_routes();
    check_route_table(&routes, data);
    check_settles(
        "client_hello_info",
        data,
        client_hello_info,
        Option::is_some,
    );
    let info = client_hello_info(data);
    assert_eq!(
        client_hello_version(data),
        info.as_ref().map(|info| info.version)
    );
    let any_tls = tls().verdict(data);
    for (index, matcher) in routes.iter().enumerate() {
        let verdict = matcher.verdict(data);
        if any_tls == Verdict::NoMatch {
            assert_eq!(verdict, Verdict::NoMatch, "route {index} after tls()");
        }
        if verdict == Verdict::Match {
            assert_eq!(any_tls, Verdict::Match, "route {index} without tls()");
        }
        if info.is_some() {
            assert_ne!(verdict, Verdict::NeedMore, "route {index} on a whole hello");
        }
    }
    let Some(info) = info else {
        return;
    };
    check_client_hello_info(data, &info);
    if let Some((record_minor, message)) = handshake_message(data) {
        let expected = verdicts(&routes, data);
        for sizes in [data, &[0]] {
            let records = into_records(&message, record_minor, sizes);
            if records.len() > TLS_MAX_CLIENT_HELLO_BYTES {
                continue;
            }
            assert_eq!(
                client_hello_info(&records).as_ref(),
                Some(&info),
                "re-split records"
            );
            assert_eq!(verdicts(&routes, &records), expected, "re-split records");
        }
    }
}

/// Checks that the filters of [`tls`] agree with what `client_hello_info`
/// reported for the complete ClientHello in `data`.
fn check_client_hello_info(data: &[u8], info: &ClientHelloInfo) {
    let verdict = |matcher: crate::matchers::Tls| matcher.verdict(data);
    assert_eq!(verdict(tls()), Verdict::Match);
    assert_eq!(
        verdict(tls_versions(info.version..=info.version)),
        Verdict::Match
    );
    if let Some(above) = info.version.wire().checked_add(1) {
        let higher = TlsVersion::from_wire(above)..=TlsVersion::from_wire(u16::MAX);
        assert_eq!(verdict(tls_versions(higher)), Verdict::NoMatch);
    }
    assert_eq!(verdict(tls().sni_any([""; 0])), Verdict::NoMatch);
    assert_eq!(verdict(tls().alpn_any([""; 0])), Verdict::NoMatch);
    // The server name, without one trailing dot, as the patterns see it.
    let name = info
        .sni
        .as_deref()
        .map(|name| name.strip_suffix('.').unwrap_or(name));
    for pattern in ["www.example.com", "api.example.net", "connmux.invalid"] {
        let named = name.is_some_and(|name| name.eq_ignore_ascii_case(pattern));
        assert_eq!(
            verdict(tls_sni(pattern)) == Verdict::Match,
            named,
            "tls_sni({pattern:?}) on {:?}",
            info.sni
        );
    }
    match (&info.sni, name) {
        (Some(sni), Some(name))
            if is_exact_text(sni)
                && !name.is_empty()
                && !name.starts_with('.')
                && !name.starts_with("*.") =>
        {
            assert_eq!(verdict(tls_sni(sni)), Verdict::Match, "{sni:?}");
            assert_eq!(
                verdict(tls_sni(sni.to_ascii_uppercase())),
                Verdict::Match,
                "{sni:?}"
            );
            assert_eq!(verdict(tls_sni(format!("{name}x"))), Verdict::NoMatch);
        }
        _ => {}
    }
    for protocol in &info.alpn {
        if is_exact_text(protocol) {
            assert_eq!(verdict(tls_alpn(protocol)), Verdict::Match, "{protocol:?}");
        }
    }
    for protocol in ["h2", "http/1.1", "acme-tls/1"] {
        assert_eq!(
            verdict(tls_alpn(protocol)) == Verdict::Match,
            info.alpn.iter().any(|listed| listed == protocol),
            "tls_alpn({protocol:?}) on {:?}",
            info.alpn
        );
    }
}

/// The handshake message at the start of the TLS records in `data`, with
/// the minor version of the first record, if the records hold all of it.
fn handshake_message(data: &[u8]) -> Option<(u8, Vec<u8>)> {
    let mut message = Vec::new();
    let mut rest = data;
    let mut record_minor = None;
    loop {
        if let Some(&[high, middle, low]) = message.get(1..4) {
            let total = 4 + (usize::from(high) << 16 | usize::from(middle) << 8 | usize::from(low));
            if message.len() >= total {
                message.truncate(total);
                return Some((record_minor?, message));
            }
        }
        let (header, after) = rest.split_at_checked(5)?;
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        record_minor.get_or_insert(header[2]);
        let (fragment, after) = after.split_at_checked(length)?;
        message.extend(fragment);
        rest = after;
    }
}

/// `message` in handshake records of version 3.`record_minor`, with
/// fragment sizes `b + 1` for the bytes `b` of `sizes`, cycled.
fn into_records(message: &[u8], record_minor: u8, sizes: &[u8]) -> Vec<u8> {
    let mut records = Vec::new();
    let mut rest = message;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (fragment, after) = rest.split_at((usize::from(size) + 1).min(rest.len()));
        let length = u16::try_from(fragment.len()).expect("at most 256 bytes");
        records.extend([22, 3, record_minor]);
        records.extend(length.to_be_bytes());
        records.extend(fragment);
        rest = after;
    }
    records
}

/// The `proxy_header` target: [`parse_proxy_header`] never changes its
/// answer once it is `Absent`, `Malformed` or `Complete` (nor the header
/// and length), never says `Incomplete` past its bounds, says `Absent`
/// only when the bytes start like neither version; a `Complete` header
/// reads the same from its own bytes, re-encodes with both encoders to
/// bytes that parse back to an equal header (v1 carrying only TCP, the
/// rest as `UNKNOWN`), and its canonical forms (a v1 `TCP4` line, a v2
/// `PROXY` header without TLVs) re-encode byte for byte. A header built
/// from the input's bytes with the constructors round-trips the same way.
pub fn proxy_header(data: &[u8]) {
    check_settles("parse_proxy_header", data, parse_proxy_header, |parse| {
        *parse != ProxyParse::Incomplete
    });
    let is_v2 = data.first() == Some(&b'\r');
    let parsed = parse_proxy_header(data);
    match &parsed {
        ProxyParse::Complete { header, length } => {
            let bytes = data
                .get(..*length)
                .expect("the header lies within the input");
            assert_eq!(parse_proxy_header(bytes), parsed);
            let version = if is_v2 {
                ProxyVersion::V2
            } else {
                ProxyVersion::V1
            };
            assert_eq!(header.version(), version);
            check_proxy_reencoding(header, bytes);
        }
        ProxyParse::Incomplete => {
            let bound = if is_v2 {
                PROXY_V2_MAX_HEADER_BYTES
            } else {
                PROXY_V1_MAX_HEADER_BYTES
            };
            assert!(data.len() < bound, "Incomplete after {} bytes", data.len());
        }
        ProxyParse::Absent => {
            let starts_like = |signature: &[u8]| {
                let common = data.len().min(signature.len());
                data[..common] == signature[..common]
            };
            assert!(!starts_like(b"PROXY ") && !starts_like(b"\r\n\r\n\0\r\nQUIT\n"));
        }
        ProxyParse::Malformed(error) => assert!(!error.to_string().is_empty()),
    }
    if let Some(header) = header_from_bytes(data) {
        let wire = header.encode_v2();
        assert_eq!(
            parse_proxy_header(&wire),
            ProxyParse::Complete {
                header: header.clone(),
                length: wire.len()
            }
        );
        check_proxy_reencoding(&header, &wire);
    }
}

/// Checks that `header`, parsed from `original`, re-encodes with both
/// encoders to bytes that parse back to the same endpoints, and that a
/// canonical original re-encodes byte for byte.
fn check_proxy_reencoding(header: &ProxyHeader, original: &[u8]) {
    let reparse = |wire: &[u8], version: ProxyVersion| -> ProxyHeader {
        match parse_proxy_header(wire) {
            ProxyParse::Complete {
                header: again,
                length,
            } => {
                assert_eq!(length, wire.len(), "{wire:02x?}");
                assert_eq!(again.version(), version);
                again
            }
            other => panic!("{header:?} encoded as {wire:02x?} parses as {other:?}"),
        }
    };
    let v2 = header.encode_v2();
    assert_same_endpoints(header, &reparse(&v2, ProxyVersion::V2));
    let v1 = header.encode_v1();
    assert!(v1.len() <= PROXY_V1_MAX_HEADER_BYTES);
    let from_v1 = reparse(&v1, ProxyVersion::V1);
    let v1_carries = header.transport() == ProxyTransport::Stream
        && matches!(header.source(), Some(ProxyAddr::Inet(_)));
    if v1_carries {
        assert_same_endpoints(header, &from_v1);
    } else {
        assert_same_endpoints(&ProxyHeader::unknown(), &from_v1);
    }
    let canonical = match header.version() {
        ProxyVersion::V1 => matches!(header.source(), Some(ProxyAddr::Inet(SocketAddr::V4(_)))),
        ProxyVersion::V2 => header.command() == ProxyCommand::Proxy && original.len() == v2.len(),
    };
    if canonical {
        let encoded = match header.version() {
            ProxyVersion::V1 => v1,
            ProxyVersion::V2 => v2,
        };
        assert_eq!(
            encoded, original,
            "{header:?} does not re-encode as it came"
        );
    }
}

fn assert_same_endpoints(expected: &ProxyHeader, actual: &ProxyHeader) {
    let view = |header: &ProxyHeader| {
        (
            header.command(),
            header.transport(),
            header.source(),
            header.destination(),
        )
    };
    assert_eq!(view(actual), view(expected));
}

/// Bytes read from the front of an input, zeros once it runs out.
struct ByteSource<'a>(std::slice::Iter<'a, u8>);

impl ByteSource<'_> {
    fn u8(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.u8())
    }

    fn ipv4(&mut self) -> SocketAddr {
        let ip = Ipv4Addr::from(self.array::<4>());
        SocketAddr::from((ip, u16::from_be_bytes(self.array())))
    }

    fn ipv6(&mut self) -> SocketAddr {
        let ip = Ipv6Addr::from(self.array::<16>());
        SocketAddr::from((ip, u16::from_be_bytes(self.array())))
    }

    fn unix_path(&mut self) -> UnixPath {
        let length = usize::from(self.u8()) % 109;
        let bytes: Vec<u8> = (0..length).map(|_| self.u8()).collect();
        UnixPath::new(&bytes).expect("at most 108 bytes")
    }
}

/// A header of the kind the first byte of `data` picks, with addresses
/// from the bytes after it.
fn header_from_bytes(data: &[u8]) -> Option<ProxyHeader> {
    let (&kind, rest) = data.split_first()?;
    let mut bytes = ByteSource(rest.iter());
    Some(match kind % 9 {
        0 => ProxyHeader::tcp(bytes.ipv4(), bytes.ipv4()),
        1 => ProxyHeader::tcp(bytes.ipv6(), bytes.ipv6()),
        2 => ProxyHeader::tcp(bytes.ipv4(), bytes.ipv6()),
        3 => ProxyHeader::udp(bytes.ipv4(), bytes.ipv4()),
        4 => ProxyHeader::udp(bytes.ipv6(), bytes.ipv4()),
        5 => ProxyHeader::unix(bytes.unix_path(), bytes.unix_path()),
        6 => ProxyHeader::unix_datagram(bytes.unix_path(), bytes.unix_path()),
        7 => ProxyHeader::local(),
        _ => ProxyHeader::unknown(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_skipped_bad_huffman_string_in_an_unfinished_block() {
        // A HEADERS frame without END_HEADERS: user-agent (index 58) with
        // a Huffman value padded with zeros, which the header matchers skip
        // and the extraction rejects, then the block goes on.
        let mut wire = HTTP2_PREFACE.to_vec();
        wire.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
        wire.extend([0, 0, 5, 1, 0, 0, 0, 0, 1]); // HEADERS, stream 1
        wire.extend([0x0f, 0x2b, 0x81, 0x00, 0x84]); // user-agent, :path /
        assert_eq!(
            http2_header(ABSENT_FIELD, "").verdict(&wire),
            Verdict::NeedMore
        );
        assert_eq!(request_headers(&wire), Err(Http2HeadersError::Invalid));
        http2_frames(&wire);
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

    /// The seeds of issue 13's block (a 4,064-octet Huffman-coded name,
    /// then thousands of fields named by it) hold the harnesses' work
    /// bound, which `tests/fuzz_corpus.rs` does not count (the library is
    /// built there without `cfg(test)`).
    #[test]
    fn the_referenced_name_bomb_seeds_stay_within_the_work_bound() {
        hpack(include_bytes!(
            "../../fuzz/corpus/hpack/referenced-name-bomb"
        ));
        http2_frames(include_bytes!(
            "../../fuzz/corpus/http2_frames/referenced-name-bomb"
        ));
    }

    /// Found by the `hpack` target (a harness bug, now fixed): a block
    /// whose first field is the one the harness treats as absent, followed
    /// by an integer that overflows. The matcher for that field rightly
    /// matches before it reaches the invalid integer.
    #[test]
    fn hpack_field_present_before_an_invalid_integer() {
        let mut input = vec![0x14]; // framing control byte
        input.extend(b"\x00\x15x-connmux-fuzz-absent\x00"); // literal, empty value
        input.extend([0xff; 8]); // index integer running past five octets
        hpack(&input);
        let wire = header_block_request(
            &input[1..],
            BlockFraming {
                fragment_sizes: &[],
                padding: None,
                priority: false,
                stream: 41,
            },
        );
        assert_eq!(
            http2_header(ABSENT_FIELD, "").verdict(&wire),
            Verdict::Match
        );
        assert_eq!(request_headers(&wire), Err(Http2HeadersError::Invalid));
    }
}
