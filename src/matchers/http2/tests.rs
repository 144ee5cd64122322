//! Tests of the HTTP/2 and gRPC matchers: the preface, frames before and
//! around HEADERS, HPACK-coded fields and the work they may cost, the
//! header list limit, real clients, and generated and mutated requests.

use super::hpack::tests::{encode_integer, encode_literal, encode_string, Literal};
use super::hpack::work::{self, Work};
use super::*;
use crate::conformance::Conformance;
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

/// An empty SETTINGS frame, as a client may open with.
const EMPTY_SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

/// The preface, an empty SETTINGS frame, then `frames`.
fn connection(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = HTTP2_PREFACE.to_vec();
    out.extend(EMPTY_SETTINGS);
    for f in frames {
        out.extend(*f);
    }
    out
}

/// A request whose header block is `block`, in one HEADERS frame.
fn request(block: &[u8]) -> Vec<u8> {
    connection(&[&frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, block)])
}

/// `:method GET`, `:scheme http`, `:path /`, then `:authority
/// www.example.com` Huffman-coded and added to the dynamic table (RFC
/// 7541 C.4.1).
const C41_BLOCK: &[u8] = &[
    0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4,
    0xff,
];

#[test]
fn preface_decides_at_first_mismatch() {
    let cases: &[(&[u8], Verdict)] = &[
        (b"", NeedMore),
        (b"P", NeedMore),
        (b"G", NoMatch),
        (b"PRI * HTTP/1.1", NoMatch),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r", NeedMore),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Match),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04", Match),
    ];
    for (input, want) in cases {
        assert_eq!(http2_preface().verdict(input), *want, "{input:?}");
    }
}

#[test]
fn header_fields_of_a_simple_request() {
    let wire = request(C41_BLOCK);
    let cases: &[(Http2Header, Verdict)] = &[
        (http2_header(":method", "GET"), Match),
        (http2_header(":method", "POST"), NoMatch),
        (http2_header(":path", "/"), Match),
        (http2_header(":authority", "www.example.com"), Match),
        (http2_header(":Authority", "www.example.com"), Match),
        (http2_header(":authority", "www.example.co"), NoMatch),
        (http2_header_prefix(":authority", "www."), Match),
        (http2_header_prefix(":authority", ""), Match),
        (http2_header_prefix(":authority", "example"), NoMatch),
        (http2_header("user-agent", ""), NoMatch),
        (grpc(), NoMatch),
    ];
    for (matcher, want) in cases {
        assert_eq!(matcher.verdict(&wire), *want, "{matcher:?}");
        assert_eq!(matcher.clone().send_settings().verdict(&wire), *want);
    }
}

#[test]
fn needs_more_until_the_deciding_byte() {
    let wire = request(C41_BLOCK);
    let authority = http2_header(":authority", "www.example.com");
    let path = http2_header(":path", "/");
    let absent = http2_header("accept", "*/*");
    let path_decided_at = wire.len() - C41_BLOCK.len() + 3;
    for cut in 0..wire.len() {
        assert_eq!(authority.verdict(&wire[..cut]), NeedMore, "cut {cut}");
        assert_eq!(absent.verdict(&wire[..cut]), NeedMore, "cut {cut}");
        let want_path = if cut < path_decided_at {
            NeedMore
        } else {
            Match
        };
        assert_eq!(path.verdict(&wire[..cut]), want_path, "cut {cut}");
    }
    assert_eq!(authority.verdict(&wire), Match);
    assert_eq!(absent.verdict(&wire), NoMatch);
}

#[test]
fn decides_before_the_rest_of_the_block_arrives() {
    // A HEADERS frame that announces 100 bytes and no END_HEADERS: the
    // fields that have arrived decide.
    let mut wire = connection(&[&[0, 0, 100, FRAME_HEADERS, 0, 0, 0, 0, 1]]);
    wire.extend([0x82, 0x86]);
    assert_eq!(http2_header(":method", "GET").verdict(&wire), Match);
    assert_eq!(http2_header(":scheme", "https").verdict(&wire), NoMatch);
    assert_eq!(http2_header(":path", "/").verdict(&wire), NeedMore);
}

#[test]
fn huffman_names_values_and_dynamic_references() {
    // custom-key: custom-value, literal Huffman name and value, indexed
    // (RFC 7541 C.4.3); then a reference to it (62); then a field named
    // by that entry with a new value; then :path /x, not indexed.
    let block: &[u8] = &[
        0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f, 0x89, 0x25, 0xa8, 0x49, 0xe9,
        0x5b, 0xb8, 0xe8, 0xb4, 0xbf, // custom-key: custom-value
        0xbe, // index 62
        0x7e, 0x01, b'2', // literal with indexing, name index 62, value "2"
        0x82, 0x04, 0x02, b'/', b'x', // :method GET, :path /x
    ];
    let wire = request(block);
    assert_eq!(
        http2_header("custom-key", "custom-value").verdict(&wire),
        Match
    );
    assert_eq!(http2_header(":path", "/x").verdict(&wire), Match);
    let mut fields = Vec::new();
    http2_request_headers(&wire, |n, v| fields.push((n.to_vec(), v.to_vec()))).unwrap();
    let want: Vec<(Vec<u8>, Vec<u8>)> = [
        ("custom-key", "custom-value"),
        ("custom-key", "custom-value"),
        ("custom-key", "2"),
        (":method", "GET"),
        (":path", "/x"),
    ]
    .iter()
    .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect();
    assert_eq!(fields, want);
}

#[test]
fn table_size_updates() {
    let cases: &[(&[u8], Verdict)] = &[
        // Size 0 at the start, then fields: fine.
        (&[0x20, 0x82, 0x04, 0x01, b'/'], Match),
        // Size 4096 (3f e1 1f), then fields.
        (&[0x3f, 0xe1, 0x1f, 0x84], Match),
        // Size 4097: more than the client may use.
        (&[0x3f, 0xe2, 0x1f, 0x84], NoMatch),
        // An update after a field.
        (&[0x82, 0x20, 0x84], NoMatch),
    ];
    for (block, want) in cases {
        assert_eq!(
            http2_header(":path", "/").verdict(&request(block)),
            *want,
            "{block:02x?}"
        );
    }
}

#[test]
fn a_block_in_more_than_sixteen_continuation_frames_is_refused() {
    // C41_BLOCK in one-octet pieces: the HEADERS frame, then one
    // CONTINUATION frame per remaining octet.
    let pieces = |block: &[u8]| -> Vec<u8> {
        let mut frames = Vec::new();
        for (i, octet) in block.iter().enumerate() {
            let kind = if i == 0 {
                FRAME_HEADERS
            } else {
                FRAME_CONTINUATION
            };
            let flags = if i + 1 == block.len() {
                FLAG_END_HEADERS
            } else {
                0
            };
            frames.extend(frame(kind, flags, 1, &[*octet]));
        }
        connection(&[&frames])
    };
    let authority = http2_header(":authority", "www.example.com");
    let absent = http2_header("x-absent", "v");
    let within = pieces(C41_BLOCK);
    assert_eq!(C41_BLOCK.len(), MAX_CONTINUATION_FRAMES + 1);
    assert_eq!(
        http2_request(&within).map(|r| r.method),
        Some(Some("GET".into()))
    );
    assert_eq!(authority.verdict(&within), Match);
    assert_eq!(absent.verdict(&within), NoMatch);
    let beyond = pieces(&[C41_BLOCK, &[0x82]].concat());
    assert_eq!(http2_request(&beyond), None);
    assert!(http2_request_headers(&beyond, |_, _| ()).is_err());
    // A matcher that decided before the cap keeps its answer.
    assert_eq!(authority.verdict(&beyond), Match);
}

/// The octets decoded and copied while `call` runs.
fn work_of(call: impl FnOnce()) -> Work {
    let _ = work::take();
    call();
    work::take()
}

/// The block of issue 13: a literal with incremental indexing whose
/// Huffman-coded name decodes to 4,064 octets (the most an entry of a
/// 4,096-octet table holds with an empty value), then 6,900 literals
/// with incremental indexing named by the newest entry, each adding a
/// 4,096-octet entry that evicts the one before. Each field counts
/// 4,096 octets of header list: 28 MB in all, from 16,345 octets.
fn referenced_name_bomb() -> Vec<u8> {
    // 'a' is 00011: eight of them are 40 bits, 5 octets.
    let coded_name = [0x18, 0xc6, 0x31, 0x8c, 0x63].repeat(4064 / 8);
    assert_eq!(coded_name, huffman_encode(&[b'a'; 4064]));
    // 01 000000: literal with indexing, name sent; H = 1, length 2,540
    // (7f, then 2,413 in two continuation octets).
    let mut block = vec![0x40, 0xff, 0xed, 0x12];
    block.extend(coded_name);
    block.push(0x00); // empty value
    for _ in 0..6_900 {
        // 01 111110: literal with indexing, name index 62 (the newest
        // entry); empty value.
        block.extend([0x7e, 0x00]);
    }
    assert_eq!(block.len(), 16_345);
    block
}

#[test]
fn the_referenced_name_bomb_is_refused_in_bounded_work() {
    let block = referenced_name_bomb();
    let split = connection(&[
        &frame(FRAME_HEADERS, 0, 1, &block[..8_000]),
        &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, &block[8_000..]),
    ]);
    for wire in [request(&block), split] {
        let bound = work::bound(wire.len(), DEFAULT_MAX_HEADER_LIST_SIZE);
        let matchers = [
            grpc(),
            grpc().send_settings(),
            http2_header(":path", "/"),
            http2_header_prefix(":path", "/"),
        ];
        for matcher in &matchers {
            let work = work_of(|| assert_eq!(matcher.verdict(&wire), NoMatch));
            assert!(work.total() <= bound, "{matcher:?}: {work:?} > {bound}");
            // The name is decoded once, when the first field names it.
            assert_eq!(work.huffman_decoded, 4064, "{matcher:?}");
        }
        let work = work_of(|| assert_eq!(http2_request(&wire), None));
        assert!(work.total() <= bound, "http2_request: {work:?} > {bound}");
        let work = work_of(|| {
            assert_eq!(
                http2_request_headers(&wire, |_, _| panic!("visited")),
                Err(Http2HeadersError::HeaderListTooLarge)
            );
        });
        // It may decode twice: to check the block, then to visit it.
        assert!(work.total() <= 2 * bound, "headers: {work:?} > 2 × {bound}");
    }
}

#[test]
fn an_entry_referenced_thousands_of_times_is_decoded_once() {
    // `x: a…a` (4,000 a's), both Huffman-coded, added to the table;
    // :method GET, :scheme http, :path /; then one-octet references to
    // the entry (index 62), each a field of the request.
    let value = vec![b'a'; 4000];
    let block_with = |references: usize| {
        let mut block = Vec::new();
        encode_literal(&mut block, Literal::WithIndexing, 0, b"x", &value, true);
        block.extend([0x82, 0x86, 0x84]);
        block.extend(std::iter::repeat_n(0xbe, references));
        block
    };
    let unlimited = usize::MAX;
    // Huffman-decoded octets per call: the matcher compares the literal
    // as sent and decodes the entry when the first reference reads it;
    // `http2_request` also checks the literal; `http2_request_headers`
    // decodes the literal and the entry in each of its two decodings.
    let entry = 1 + value.len();
    let absent = http2_header("x-absent", "").max_header_list_size(unlimited);
    // Fewer under miri, which interprets every decoded octet.
    let many = if cfg!(miri) { 20 } else { 10_000 };
    for references in [10, many] {
        let wire = request(&block_with(references));
        let work = work_of(|| assert_eq!(absent.verdict(&wire), NoMatch));
        assert_eq!(work.huffman_decoded, entry, "{references} references");
        let work = work_of(|| {
            let parsed = http2_request_with_limit(&wire, unlimited).expect("a valid block");
            assert_eq!(parsed.method.as_deref(), Some("GET"));
        });
        assert_eq!(work.huffman_decoded, 2 * entry, "{references} references");
        let mut fields = 0;
        let work = work_of(|| {
            http2_request_headers_with_limit(&wire, unlimited, |name, seen| {
                fields += usize::from(name == b"x" && seen == value.as_slice());
            })
            .expect("a valid block");
        });
        assert_eq!(fields, references + 1);
        assert_eq!(work.huffman_decoded, 4 * entry, "{references} references");
        assert_eq!(
            http2_header("x", &value)
                .max_header_list_size(unlimited)
                .verdict(&wire),
            Match
        );
    }
    // With the default limit, the 16th reference (4,033 + 42 + 43 + 38
    // + 16 × 4,033 octets) passes 64 KiB: the block is refused, but a
    // field decided before that still matches.
    let wire = request(&block_with(16));
    assert_eq!(http2_request(&wire), None);
    assert_eq!(http2_header(":method", "GET").verdict(&wire), Match);
    assert_eq!(http2_header("x-absent", "").verdict(&wire), NoMatch);
    assert!(http2_request(&request(&block_with(15))).is_some());
}

/// A block whose header list is `size` octets as RFC 9113 section
/// 6.5.2 counts them (each field's name and value plus 32), `size` from
/// 61,544 to 69,736; its last field `:path /`. The fields: `x` with a value
/// of half the rest, not indexed; `e` with a value of 4,063 octets,
/// added to the table (4,096 octets) and referred to 14 times; `y` with
/// the other half, not indexed; `:path /` (index 4, 38 octets).
/// Huffman-coded, the values are of `&`, whose code is 8 bits long:
/// until decoded they may be 8/5 as long.
fn block_of_list_size(size: usize, huffman: bool) -> Vec<u8> {
    let rest = size - (33 + 15 * 4096 + 33 + 38);
    let filler = if huffman { b'&' } else { b'-' };
    let mut block = Vec::new();
    let x = vec![filler; rest / 2];
    encode_literal(&mut block, Literal::WithoutIndexing, 0, b"x", &x, huffman);
    let e = vec![filler; 4096 - 32 - 1];
    encode_literal(&mut block, Literal::WithIndexing, 0, b"e", &e, huffman);
    block.extend([0xbe; 14]);
    let y = vec![filler; rest - rest / 2];
    encode_literal(&mut block, Literal::WithoutIndexing, 0, b"y", &y, huffman);
    block.push(0x84);
    block
}

#[test]
fn a_header_list_of_the_limit_is_read_and_one_octet_more_is_not() {
    let limit = DEFAULT_MAX_HEADER_LIST_SIZE;
    let path = http2_header(":path", "/");
    for huffman in [false, true] {
        let at_limit = request(&block_of_list_size(limit, huffman));
        assert_eq!(path.verdict(&at_limit), Match, "huffman {huffman}");
        assert_eq!(
            http2_request(&at_limit).and_then(|r| r.path).as_deref(),
            Some("/"),
            "huffman {huffman}"
        );
        let mut fields = 0;
        http2_request_headers(&at_limit, |_, _| fields += 1).unwrap();
        assert_eq!(fields, 18, "huffman {huffman}");
        let over_block = block_of_list_size(limit + 1, huffman);
        let over = request(&over_block);
        assert_eq!(path.verdict(&over), NoMatch, "huffman {huffman}");
        assert_eq!(http2_request(&over), None, "huffman {huffman}");
        assert_eq!(
            http2_request_headers(&over, |_, _| panic!("visited")),
            Err(Http2HeadersError::HeaderListTooLarge),
            "huffman {huffman}"
        );
        // Refused before the block ends: more bytes cannot help. The
        // block goes on with :path /a, not indexed, cut short.
        let longer = request(&[&over_block[..], &[0x04, 0x02, b'/', b'a']].concat());
        let cut = &longer[..longer.len() - 2];
        assert_eq!(path.verdict(cut), NoMatch, "huffman {huffman}");
        assert_eq!(
            http2_request_headers(cut, |_, _| ()),
            Err(Http2HeadersError::HeaderListTooLarge),
        );
    }
}

#[test]
fn the_header_list_limit_is_settable() {
    // Raised: a 68,000-octet list.
    let large = request(&block_of_list_size(68_000, true));
    let path = http2_header_prefix(":path", "/");
    assert_eq!(path.verdict(&large), NoMatch);
    assert_eq!(
        path.clone().max_header_list_size(68_000).verdict(&large),
        Match
    );
    assert_eq!(
        path.clone().max_header_list_size(67_999).verdict(&large),
        NoMatch
    );
    assert_eq!(http2_request(&large), None);
    assert!(http2_request_with_limit(&large, 68_000).is_some());
    assert_eq!(http2_request_with_limit(&large, 67_999), None);
    assert_eq!(
        http2_request_headers_with_limit(&large, 68_000, |_, _| ()),
        Ok(())
    );
    assert_eq!(
        http2_request_headers_with_limit(&large, 67_999, |_, _| ()),
        Err(Http2HeadersError::HeaderListTooLarge)
    );
    // Lowered: C41_BLOCK's list is :method GET (7 + 3 + 32), :scheme
    // http (7 + 4 + 32), :path / (5 + 1 + 32) and :authority
    // www.example.com (10 + 15 + 32): 180 octets.
    let wire = request(C41_BLOCK);
    let authority = http2_header(":authority", "www.example.com");
    let cases: &[(usize, Verdict, Verdict)] = &[
        // limit, :authority, :method GET (the first field, 42 octets)
        (180, Match, Match),
        (179, NoMatch, Match),
        (42, NoMatch, Match),
        (41, NoMatch, NoMatch),
        (0, NoMatch, NoMatch),
    ];
    for &(limit, want_authority, want_method) in cases {
        let method = http2_header(":method", "GET").max_header_list_size(limit);
        assert_eq!(
            authority.clone().max_header_list_size(limit).verdict(&wire),
            want_authority,
            "{limit}"
        );
        assert_eq!(method.verdict(&wire), want_method, "{limit}");
        let read = want_authority == Match;
        assert_eq!(
            http2_request_with_limit(&wire, limit).is_some(),
            read,
            "{limit}"
        );
        assert_eq!(
            http2_request_headers_with_limit(&wire, limit, |_, _| ()).is_ok(),
            read,
            "{limit}"
        );
    }
}

#[test]
fn continuation_frames_carry_the_rest_of_the_block() {
    // C41_BLOCK split inside the Huffman-coded authority.
    let (head, tail) = C41_BLOCK.split_at(8);
    let wire = connection(&[
        &frame(FRAME_HEADERS, 0, 3, head),
        &frame(FRAME_CONTINUATION, 0, 3, &[]),
        &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 3, tail),
    ]);
    let authority = http2_header(":authority", "www.example.com");
    assert_eq!(authority.verdict(&wire), Match);
    for cut in 0..wire.len() {
        assert_eq!(authority.verdict(&wire[..cut]), NeedMore, "cut {cut}");
    }
    assert_eq!(
        http2_request(&wire).and_then(|r| r.authority).as_deref(),
        Some("www.example.com")
    );
    let broken: &[(&str, Vec<u8>)] = &[
        (
            "CONTINUATION on another stream",
            connection(&[
                &frame(FRAME_HEADERS, 0, 3, head),
                &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 5, tail),
            ]),
        ),
        (
            "PING inside the block",
            connection(&[
                &frame(FRAME_HEADERS, 0, 3, head),
                &frame(FRAME_PING, 0, 0, &[0; 8]),
                &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 3, tail),
            ]),
        ),
        (
            "block ends inside a string",
            connection(&[&frame(FRAME_HEADERS, FLAG_END_HEADERS, 3, head)]),
        ),
    ];
    for (what, wire) in broken {
        assert_eq!(authority.verdict(wire), NoMatch, "{what}");
        assert_eq!(http2_request(wire), None, "{what}");
    }
}

#[test]
fn padded_and_priority_headers() {
    let mut payload = vec![3]; // pad length
    payload.extend([0x80, 0, 0, 0, 16]); // exclusive dependency on 0, weight 16
    payload.extend(C41_BLOCK);
    payload.extend([0, 0, 0]);
    let flags = FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY;
    let wire = connection(&[&frame(FRAME_HEADERS, flags, 1, &payload)]);
    let authority = http2_header(":authority", "www.example.com");
    assert_eq!(authority.verdict(&wire), Match);
    // Padding after a fragment that ends without END_HEADERS is skipped
    // before the CONTINUATION.
    let mut padded = vec![2];
    padded.extend(&C41_BLOCK[..5]);
    padded.extend([0, 0]);
    let wire = connection(&[
        &frame(FRAME_HEADERS, FLAG_PADDED, 1, &padded),
        &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, &C41_BLOCK[5..]),
    ]);
    assert_eq!(authority.verdict(&wire), Match);
    // Padding as long as the payload.
    let wire = connection(&[&frame(
        FRAME_HEADERS,
        FLAG_END_HEADERS | FLAG_PADDED,
        1,
        &[4, 0x82, 0, 0],
    )]);
    assert_eq!(http2_header(":method", "GET").verdict(&wire), NoMatch);
    // PRIORITY flag with fewer than 5 bytes.
    let wire = connection(&[&frame(
        FRAME_HEADERS,
        FLAG_END_HEADERS | FLAG_PRIORITY,
        1,
        &[0, 0, 0, 0],
    )]);
    assert_eq!(http2_header(":method", "GET").verdict(&wire), NoMatch);
    // PADDED with an empty payload.
    let wire = connection(&[&frame(
        FRAME_HEADERS,
        FLAG_END_HEADERS | FLAG_PADDED,
        1,
        &[],
    )]);
    assert_eq!(http2_header(":method", "GET").verdict(&wire), NoMatch);
}

#[test]
fn frames_before_headers() {
    let headers = frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, C41_BLOCK);
    let method = http2_header(":method", "GET");
    let accepted: &[(&str, Vec<u8>)] = &[
        (
            "SETTINGS with two values",
            frame(
                FRAME_SETTINGS,
                0,
                0,
                &[0, 3, 0, 0, 0, 100, 0, 4, 0, 1, 0, 0],
            ),
        ),
        ("SETTINGS ACK", frame(FRAME_SETTINGS, FLAG_ACK, 0, &[])),
        (
            "WINDOW_UPDATE",
            frame(FRAME_WINDOW_UPDATE, 0, 0, &[0, 0xff, 0, 1]),
        ),
        ("PRIORITY", frame(FRAME_PRIORITY, 0, 3, &[0, 0, 0, 0, 200])),
        ("PING", frame(FRAME_PING, 0, 0, &[1, 2, 3, 4, 5, 6, 7, 8])),
        (
            "GOAWAY",
            frame(FRAME_GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]),
        ),
        ("unknown type 0xfa", frame(0xfa, 0xff, 7, b"anything")),
        (
            "reserved bit set",
            frame(FRAME_PING, 0, 0x8000_0000, &[0; 8]),
        ),
    ];
    for (what, before) in accepted {
        assert_eq!(
            method.verdict(&connection(&[before, &headers])),
            Match,
            "{what}"
        );
    }
    let rejected: &[(&str, Vec<u8>)] = &[
        ("DATA", frame(FRAME_DATA, 0, 1, b"x")),
        ("RST_STREAM", frame(FRAME_RST_STREAM, 0, 1, &[0, 0, 0, 8])),
        (
            "PUSH_PROMISE",
            frame(FRAME_PUSH_PROMISE, 4, 1, &[0, 0, 0, 2]),
        ),
        ("CONTINUATION", frame(FRAME_CONTINUATION, 4, 1, &[0x82])),
        (
            "SETTINGS of 5 bytes",
            frame(FRAME_SETTINGS, 0, 0, &[0, 3, 0, 0, 0]),
        ),
        ("SETTINGS on a stream", frame(FRAME_SETTINGS, 0, 1, &[])),
        (
            "SETTINGS ACK with a payload",
            frame(FRAME_SETTINGS, FLAG_ACK, 0, &[0; 6]),
        ),
        ("PING of 4 bytes", frame(FRAME_PING, 0, 0, &[0; 4])),
        ("PING on a stream", frame(FRAME_PING, 0, 1, &[0; 8])),
        (
            "WINDOW_UPDATE of 3 bytes",
            frame(FRAME_WINDOW_UPDATE, 0, 0, &[0; 3]),
        ),
        ("PRIORITY on stream 0", frame(FRAME_PRIORITY, 0, 0, &[0; 5])),
        ("GOAWAY of 4 bytes", frame(FRAME_GOAWAY, 0, 0, &[0; 4])),
    ];
    for (what, before) in rejected {
        assert_eq!(
            method.verdict(&connection(&[before, &headers])),
            NoMatch,
            "{what}"
        );
    }
}

#[test]
fn malformed_connections_are_no_match_at_the_first_bad_byte() {
    // Each input ends with the byte that rules HTTP/2 out.
    let with_preface = |bytes: &[u8]| [HTTP2_PREFACE, bytes].concat();
    let cases: &[(&str, Vec<u8>)] = &[
        ("HTTP/1.1", b"G".to_vec()),
        ("wrong preface byte", b"PRI * HTTP/2.1".to_vec()),
        (
            "HEADERS without SETTINGS first",
            with_preface(&[0, 0, 17, FRAME_HEADERS, 4, 0, 0, 0, 1]),
        ),
        (
            "SETTINGS ACK first",
            with_preface(&[0, 0, 0, FRAME_SETTINGS, 1, 0, 0, 0, 0]),
        ),
        ("frame length of 65536 or more", with_preface(&[0x01])),
        ("frame of 16385 bytes", connection(&[&[0x00, 0x40, 0x01]])),
        (
            "HEADERS on stream 0",
            connection(&[&[0, 0, 17, FRAME_HEADERS, 4, 0, 0, 0, 0]]),
        ),
        (
            "HEADERS on an even stream",
            connection(&[&[0, 0, 17, FRAME_HEADERS, 4, 0, 0, 0, 2]]),
        ),
        ("index 0", request(&[0x80])),
        ("index past the tables", request(&[0xbf])),
        (
            "integer overflow",
            request(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        ),
        (
            "integer of six continuation bytes",
            request(&[0xff, 0x80, 0x80, 0x80, 0x80, 0x80]),
        ),
        (
            "Huffman EOS",
            request(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]),
        ),
        ("Huffman padding of zeros", request(&[0x04, 0x81, 0x18])),
        (
            "Huffman padding of 8 bits",
            request(&[0x04, 0x82, 0x1f, 0xff]),
        ),
        ("table size 8192", request(&[0x3f, 0xe1, 0x3f])),
        ("string cut by END_HEADERS", request(&[0x04, 0x05, b'/'])),
    ];
    let method = http2_header(":method", "GET");
    for (what, wire) in cases {
        for cut in 0..wire.len() {
            assert_eq!(method.verdict(&wire[..cut]), NeedMore, "{what}, cut {cut}");
        }
        assert_eq!(method.verdict(wire), NoMatch, "{what}");
        assert_eq!(http2_request(wire), None, "{what}");
    }
}

#[test]
fn grpc_content_types() {
    let cases: &[(&[u8], Verdict)] = &[
        (b"application/grpc", Match),
        (b"application/grpc+proto", Match),
        (b"application/grpc+json", Match),
        (b"application/grpc;charset=utf-8", Match),
        (b"application/grpc-web", NoMatch),
        (b"application/grpcx", NoMatch),
        (b"application/json", NoMatch),
        (b"Application/grpc", NoMatch),
    ];
    for (content_type, want) in cases {
        let mut block = vec![0x83, 0x86];
        encode_literal(
            &mut block,
            Literal::WithoutIndexing,
            31,
            b"",
            content_type,
            true,
        );
        assert_eq!(grpc().verdict(&request(&block)), *want, "{content_type:?}");
    }
    // Only the first content-type counts.
    let mut block = Vec::new();
    encode_literal(
        &mut block,
        Literal::WithIndexing,
        31,
        b"",
        b"text/plain",
        false,
    );
    encode_literal(
        &mut block,
        Literal::WithIndexing,
        31,
        b"",
        b"application/grpc",
        false,
    );
    assert_eq!(grpc().verdict(&request(&block)), NoMatch);
}

#[test]
fn bad_huffman_in_a_skipped_string_is_not_noticed() {
    // user-agent (index 58) with the value "0" Huffman-coded with
    // padding of zeros (0x00: the 5-bit code of '0', then 000), a
    // literal name "x" whose Huffman code is cut by an EOS (0xff 0xff
    // 0xff 0xff), then :path / (index 4).
    let block: &[u8] = &[
        0x0f, 0x2b, 0x81, 0x00, // user-agent: bad Huffman
        0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, b'v', // bad Huffman name
        0x84, // :path /
    ];
    let wire = request(block);
    let cases: &[(Http2Header, Verdict)] = &[
        (http2_header(":path", "/"), Match),
        (http2_header("user-agent", "curl"), NoMatch),
        // The prefix is decoded; the padding after it is not.
        (http2_header_prefix("user-agent", "0"), Match),
        (http2_header("user-agent", "0"), NoMatch),
        (http2_header("x-absent", ""), NoMatch),
        (grpc(), NoMatch),
    ];
    for (matcher, want) in cases {
        assert_eq!(matcher.verdict(&wire), *want, "{matcher:?}");
    }
    // What needs the whole request decodes every string.
    assert_eq!(http2_request(&wire), None);
    assert_eq!(
        http2_request_headers(&wire, |_, _| {}),
        Err(Http2HeadersError::Invalid)
    );
}

#[test]
fn long_values_keep_their_head() {
    let long_path = [b"/".as_slice(), &[b'p'; 5000]].concat();
    let mut block = Vec::new();
    encode_literal(&mut block, Literal::WithIndexing, 4, b"", &long_path, true);
    block.push(0x82);
    let connection_bytes = connection(&[
        &frame(FRAME_HEADERS, 0, 1, &block[..2000]),
        &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, &block[2000..]),
    ]);
    assert_eq!(
        http2_header_prefix(":path", "/ppp").verdict(&connection_bytes),
        Match
    );
    assert_eq!(
        http2_header(":path", &long_path).verdict(&connection_bytes),
        NoMatch
    );
    assert_eq!(
        http2_header(":method", "GET").verdict(&connection_bytes),
        Match
    );
    assert_eq!(
        http2_request_headers(&connection_bytes, |_, _| {}),
        Err(Http2HeadersError::FieldTooLong)
    );
    assert_eq!(http2_request(&connection_bytes), None);
}

#[test]
fn request_extraction_errors() {
    let wire = request(C41_BLOCK);
    assert_eq!(
        http2_request_headers(&wire[..wire.len() - 1], |_, _| panic!("visited")),
        Err(Http2HeadersError::Incomplete)
    );
    assert_eq!(
        http2_request_headers(b"GET / HTTP/1.1\r\n", |_, _| panic!("visited")),
        Err(Http2HeadersError::Invalid)
    );
    assert_eq!(
        Http2HeadersError::FieldTooLong.to_string(),
        "an HTTP/2 header field is longer than 4096 bytes"
    );
    assert_eq!(
        http2_request(&wire),
        Some(Http2Request {
            method: Some("GET".into()),
            scheme: Some("http".into()),
            authority: Some("www.example.com".into()),
            path: Some("/".into()),
            content_type: None,
        })
    );
}

#[test]
fn the_bound_decides() {
    // PING frames until past the limit: no HEADERS, so no match.
    let ping = frame(FRAME_PING, 0, 0, &[0; 8]);
    let mut wire = connection(&[]);
    while wire.len() < HTTP2_HEADERS_LIMIT {
        wire.extend(&ping);
    }
    let method = http2_header(":method", "GET");
    assert_eq!(method.verdict(&wire[..HTTP2_HEADERS_LIMIT - 1]), NeedMore);
    assert_eq!(method.verdict(&wire[..HTTP2_HEADERS_LIMIT]), NoMatch);
    // A HEADERS frame that completes after the limit does not count.
    wire.truncate(HTTP2_HEADERS_LIMIT - 5);
    wire.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, C41_BLOCK));
    assert_eq!(method.verdict(&wire), NoMatch);
}

// Captures of real clients talking to a socket that only records:
// `curl --http2-prior-knowledge http://example.test:18081/search?q=connmux
//  -H 'content-type: application/grpc+proto'` (curl 7.88.1),
// `nghttp http://127.0.0.1:18082/index.html -H ':authority: grpc.example:443'`
// and `h2load -n 1 http://127.0.0.1:18083/load/test` (nghttp2 1.52.0),
// and nghttp again against a socket that sent an empty SETTINGS frame
// right after the preface.
const CURL: &[u8] = include_bytes!("../../../tests/fixtures/manual/http2-curl-prior-knowledge.bin");
const NGHTTP: &[u8] = include_bytes!("../../../tests/fixtures/manual/http2-nghttp.bin");
const H2LOAD: &[u8] = include_bytes!("../../../tests/fixtures/manual/http2-h2load.bin");
const NGHTTP_AFTER_SETTINGS: &[u8] =
    include_bytes!("../../../tests/fixtures/manual/http2-nghttp-after-server-settings.bin");

#[test]
fn real_clients() {
    let cases: &[(&str, &[u8], Http2Request)] = &[
        (
            "curl",
            CURL,
            Http2Request {
                method: Some("GET".into()),
                scheme: Some("http".into()),
                authority: Some("example.test:18081".into()),
                path: Some("/search?q=connmux".into()),
                content_type: Some("application/grpc+proto".into()),
            },
        ),
        (
            "nghttp",
            NGHTTP,
            Http2Request {
                method: Some("GET".into()),
                scheme: Some("http".into()),
                authority: Some("grpc.example:443".into()),
                path: Some("/index.html".into()),
                content_type: None,
            },
        ),
        (
            "h2load",
            H2LOAD,
            Http2Request {
                method: Some("GET".into()),
                scheme: Some("http".into()),
                authority: Some("127.0.0.1:18083".into()),
                path: Some("/load/test".into()),
                content_type: None,
            },
        ),
        (
            "nghttp after server SETTINGS",
            NGHTTP_AFTER_SETTINGS,
            Http2Request {
                method: Some("GET".into()),
                scheme: Some("http".into()),
                authority: Some("127.0.0.1:18084".into()),
                path: Some("/after/settings".into()),
                content_type: None,
            },
        ),
    ];
    for (what, wire, want) in cases {
        assert_eq!(http2_request(wire).as_ref(), Some(want), "{what}");
        let path = want.path.as_deref().unwrap();
        let authority = want.authority.as_deref().unwrap();
        assert_eq!(http2_header(":path", path).verdict(wire), Match, "{what}");
        assert_eq!(
            http2_header(":path", "/other").verdict(wire),
            NoMatch,
            "{what}"
        );
        assert_eq!(
            http2_header(":authority", authority).verdict(wire),
            Match,
            "{what}"
        );
        assert_eq!(
            http2_header_prefix(":authority", "nope").verdict(wire),
            NoMatch,
            "{what}"
        );
        let want_grpc = if *what == "curl" { Match } else { NoMatch };
        assert_eq!(grpc().verdict(wire), want_grpc, "{what}");
        Conformance::new(&http2_header(":path", path)).fuzz(wire);
    }
}

#[test]
fn settings_reply_and_its_ack() {
    let matcher = http2_header(":path", "/after/settings").send_settings();
    let wire = NGHTTP_AFTER_SETTINGS;
    // nghttp's first frames: SETTINGS (21 bytes), then PRIORITY frames
    // from offset 45, HEADERS at 115 (its type byte at 118), the ACK of
    // our SETTINGS at 175.
    assert_eq!(matcher.reply(&wire[..23]), None);
    assert_eq!(matcher.reply(&wire[..24]), Some(SERVER_SETTINGS));
    assert_eq!(matcher.reply(&wire[..115]), Some(SERVER_SETTINGS));
    assert_eq!(matcher.reply(&wire[..118]), Some(SERVER_SETTINGS));
    assert_eq!(matcher.reply(&wire[..119]), None);
    assert_eq!(matcher.reply(wire), None);
    assert_eq!(matcher.reply_ack(&wire[..175]), ReplyAck::Pending);
    assert_eq!(matcher.reply_ack(&wire[..183]), ReplyAck::Pending);
    assert_eq!(matcher.reply_ack(wire), ReplyAck::At(175..184));
    assert_eq!(&wire[175..], &[0, 0, 0, 4, 1, 0, 0, 0, 0]);
    assert_eq!(matcher.verdict(wire), Match);
    // Without send_settings, nothing is sent or removed.
    let plain = http2_header(":path", "/after/settings");
    assert_eq!(plain.reply(&wire[..24]), None);
    assert_eq!(plain.reply_ack(wire), ReplyAck::None);
    // Not HTTP/2, or a broken frame: nothing to send, nothing to remove.
    assert_eq!(matcher.reply(b"GET / HTTP/1.1\r\n\r\n"), None);
    assert_eq!(matcher.reply_ack(b"GET / HTTP/1.1\r\n\r\n"), ReplyAck::None);
    let broken = connection(&[&[0x00, 0x40, 0x01, 4, 0, 0, 0, 0, 0]]);
    assert_eq!(matcher.reply(&broken), None);
    assert_eq!(matcher.reply_ack(&broken), ReplyAck::None);
    let bad_ack = connection(&[&frame(FRAME_SETTINGS, FLAG_ACK, 0, &[0; 6])]);
    assert_eq!(matcher.reply_ack(&bad_ack), ReplyAck::None);
    // A client that waits: SETTINGS, WINDOW_UPDATE, then our ACK, then
    // HEADERS.
    let waiting = connection(&[
        &frame(FRAME_WINDOW_UPDATE, 0, 0, &[0, 0, 0xff, 0]),
        &frame(FRAME_SETTINGS, FLAG_ACK, 0, &[]),
        &frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, C41_BLOCK),
    ]);
    let ack_at = HTTP2_PREFACE.len() + 9 + 13;
    assert_eq!(matcher.reply(&waiting[..ack_at]), Some(SERVER_SETTINGS));
    assert_eq!(
        grpc().send_settings().reply_ack(&waiting),
        ReplyAck::At(ack_at..ack_at + 9)
    );
    assert_eq!(
        http2_header(":method", "GET")
            .send_settings()
            .verdict(&waiting),
        Match
    );
}

/// How a generated request is framed.
#[derive(Debug, Clone)]
struct Framing {
    stream: u32,
    /// Where to cut the block into fragments (fractions of its length).
    cuts: Vec<prop::sample::Index>,
    padding: Option<u8>,
    priority: bool,
    huffman: bool,
    ping_first: bool,
}

fn framing() -> impl Strategy<Value = Framing> {
    (
        (0u32..1000).prop_map(|s| 2 * s + 1),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(stream, cuts, padding, priority, huffman, ping_first)| Framing {
                stream,
                cuts,
                padding,
                priority,
                huffman,
                ping_first,
            },
        )
}

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

fn fields() -> impl Strategy<Value = Fields> {
    proptest::collection::vec(
        (
            proptest::collection::vec(prop_oneof![b'a'..=b'z', Just(b'-')], 1..10),
            proptest::collection::vec(any::<u8>(), 0..20),
        ),
        1..12,
    )
}

/// A connection carrying `fields` as its first header block, framed as
/// `framing` says, every other field added to the dynamic table and
/// followed by a reference to it; and the fields the block holds.
fn generated_request(fields: &Fields, framing: &Framing) -> (Vec<u8>, Fields) {
    let mut block = Vec::new();
    let mut decoded = Vec::new();
    for (position, (name, value)) in fields.iter().enumerate() {
        decoded.push((name.clone(), value.clone()));
        if position % 2 == 0 {
            encode_literal(
                &mut block,
                Literal::WithoutIndexing,
                0,
                name,
                value,
                framing.huffman,
            );
        } else {
            encode_integer(&mut block, 0x40, 6, 0);
            encode_string(&mut block, name, framing.huffman);
            encode_string(&mut block, value, !framing.huffman);
            block.push(0xbe); // index 62: the entry just added
            decoded.push((name.clone(), value.clone()));
        }
    }
    let mut cuts: Vec<usize> = framing
        .cuts
        .iter()
        .map(|c| c.index(block.len() + 1))
        .collect();
    cuts.sort_unstable();
    cuts.push(block.len());
    let mut frames = Vec::new();
    if framing.ping_first {
        frames.push(frame(FRAME_PING, 0, 0, &[9; 8]));
    }
    let mut start = 0;
    for (position, &end) in cuts.iter().enumerate() {
        let last = position + 1 == cuts.len();
        let flags = if last { FLAG_END_HEADERS } else { 0 };
        let fragment = &block[start..end];
        if position == 0 {
            let mut payload = Vec::new();
            let mut header_flags = flags;
            if let Some(padding) = framing.padding {
                header_flags |= FLAG_PADDED;
                payload.push(padding);
            }
            if framing.priority {
                header_flags |= FLAG_PRIORITY;
                payload.extend([0, 0, 0, 0, 15]);
            }
            payload.extend(fragment);
            payload.extend(vec![0; usize::from(framing.padding.unwrap_or(0))]);
            frames.push(frame(FRAME_HEADERS, header_flags, framing.stream, &payload));
        } else {
            frames.push(frame(FRAME_CONTINUATION, flags, framing.stream, fragment));
        }
        start = end;
    }
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    (connection(&refs), decoded)
}

proptest! {
    #[test]
    fn generated_requests_match_their_first_fields(
        fields in fields(),
        framing in framing(),
        pick in any::<prop::sample::Index>(),
    ) {
        let (wire, decoded) = generated_request(&fields, &framing);
        let mut visited = Vec::new();
        http2_request_headers(&wire, |n, v| visited.push((n.to_vec(), v.to_vec()))).unwrap();
        prop_assert_eq!(visited, decoded);
        let (name, _) = &fields[pick.index(fields.len())];
        let first_value = &fields.iter().find(|(n, _)| n == name).unwrap().1;
        let exact = http2_header(name, first_value);
        prop_assert_eq!(exact.verdict(&wire), Match);
        let mut other = first_value.clone();
        other.push(b'!');
        prop_assert_eq!(http2_header(name, &other).verdict(&wire), NoMatch);
        prop_assert_eq!(http2_header("absent:", "").verdict(&wire), NoMatch);
        Conformance::new(&exact).fuzz(&wire);
    }

    #[test]
    fn mutated_requests_stay_monotone(
        fields in fields(),
        framing in framing(),
        mutations in proptest::collection::vec(
            (any::<prop::sample::Index>(), any::<u8>()),
            1..4,
        ),
    ) {
        let (mut wire, _) = generated_request(&fields, &framing);
        for (at, byte) in mutations {
            let at = at.index(wire.len());
            wire[at] = byte;
        }
        let (name, value) = &fields[0];
        Conformance::new(&http2_header(name, value)).fuzz(&wire);
        Conformance::new(&http2_header_prefix(":path", "/")).fuzz(&wire);
        Conformance::new(&grpc().send_settings()).fuzz(&wire);
        let _ = http2_request(&wire);
        let _ = http2_request_headers(&wire, |_, _| {});
        let _ = grpc().send_settings().reply(&wire);
        let _ = grpc().send_settings().reply_ack(&wire);
    }

    #[test]
    fn arbitrary_bytes_after_the_preface_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..300),
        with_settings in any::<bool>(),
    ) {
        let mut wire = HTTP2_PREFACE.to_vec();
        if with_settings {
            wire.extend(EMPTY_SETTINGS);
        }
        wire.extend(tail);
        Conformance::new(&http2_header(":method", "GET")).fuzz(&wire);
        Conformance::new(&grpc()).fuzz(&wire);
        let _ = http2_request(&wire);
        let _ = grpc().send_settings().reply(&wire);
        let _ = grpc().send_settings().reply_ack(&wire);
    }

    #[test]
    fn arbitrary_bytes_never_panic(wire in proptest::collection::vec(any::<u8>(), 0..300)) {
        Conformance::new(&http2_header(":method", "GET")).fuzz(&wire);
        let _ = http2_request(&wire);
    }

    #[test]
    fn inputs_past_the_bound_are_decided(
        filler in proptest::collection::vec(any::<u8>(), 0..40),
        frame_kind in prop_oneof![Just(FRAME_PING), Just(0xfau8)],
    ) {
        let filler_frame = if frame_kind == FRAME_PING {
            frame(FRAME_PING, 0, 0, &[0; 8])
        } else {
            frame(frame_kind, 0, 0, &filler)
        };
        let mut wire = connection(&[]);
        while wire.len() < HTTP2_HEADERS_LIMIT {
            wire.extend(&filler_frame);
        }
        prop_assert_ne!(http2_header(":method", "GET").verdict(&wire), NeedMore);
        let mut padded_filler = HTTP2_PREFACE.to_vec();
        padded_filler.extend(&filler);
        padded_filler.resize(HTTP2_HEADERS_LIMIT, 0);
        prop_assert_ne!(grpc().verdict(&padded_filler), NeedMore);
    }
}
