//! Tests of the DNS matcher: what dig and nsupdate send, each limit octet
//! by octet, and properties against a naive reading of the header.

use super::*;
use crate::conformance::Conformance;
use crate::matchers::testing::{assert_decides_at_last_byte, assert_settles, near_miss};
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

// Captured from the clients of bind9-dnsutils 1:9.18.49-1~deb12u3 (DiG
// 9.18.49-Debian) against a listener on 127.0.0.1 that read what they
// sent. Each line is one part of the message.

/// `dig +tcp @127.0.0.1 -p PORT example.com A`: EDNS with a cookie.
const DIG_A: [u8; 54] = [
    0x00, 0x34, // length 52
    0x30, 0x64, 0x01, 0x20, // ID, RD and AD
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // one question, one OPT
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
    0x00, 0x01, 0x00, 0x01, // A, IN
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, // OPT, 1232
    0x00, 0x0a, 0x00, 0x08, 0xc0, 0xb3, 0x7e, 0x72, 0x2a, 0x0f, 0x0e, 0x3f, // COOKIE
];
/// `dig +tcp +noedns ... example.com MX`.
const DIG_MX_NO_EDNS: [u8; 31] = [
    0x00, 0x1d, //
    0xca, 0xd6, 0x01, 0x20, //
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
    0x00, 0x0f, 0x00, 0x01, // MX, IN
];
/// `dig ... example.com AXFR`: no RD.
const DIG_AXFR: [u8; 54] = [
    0x00, 0x34, //
    0xa9, 0x24, 0x00, 0x20, //
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
    0x00, 0xfc, 0x00, 0x01, // AXFR, IN
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, //
    0x00, 0x0a, 0x00, 0x08, 0x9f, 0xd6, 0x5f, 0xed, 0x4d, 0xb0, 0x5e, 0x16, //
];
/// `dig ... example.com IXFR=2024010101`: the client's SOA in the
/// authority section, its name a pointer to the question's.
const DIG_IXFR: [u8; 88] = [
    0x00, 0x56, //
    0x1b, 0xe3, 0x00, 0x00, //
    0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, // one authority record
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
    0x00, 0xfb, 0x00, 0x01, // IXFR, IN
    0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, // SOA
    0x00, 0x00, 0x78, 0xa3, 0xf1, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, //
    0x00, 0x0a, 0x00, 0x08, 0x54, 0x99, 0xcf, 0x47, 0x77, 0x92, 0x64, 0x5a, //
];
/// `dig +tcp +opcode=notify ... example.com SOA`.
const DIG_NOTIFY: [u8; 54] = [
    0x00, 0x34, //
    0x6c, 0x24, 0x21, 0x20, // NOTIFY, RD and AD
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
    0x00, 0x06, 0x00, 0x01, // SOA, IN
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, //
    0x00, 0x0a, 0x00, 0x08, 0x16, 0x58, 0x5a, 0x1e, 0x8a, 0x56, 0x54, 0xb5, //
];
/// `nsupdate -v` sending `zone example.com`, `update add www.example.com
/// 300 A 192.0.2.1`.
const NSUPDATE: [u8; 51] = [
    0x00, 0x31, //
    0x1f, 0x73, 0x28, 0x00, // UPDATE, no flags
    0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // one zone, one update
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
    0x00, 0x06, 0x00, 0x01, // SOA, IN
    0x03, b'w', b'w', b'w', 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, // www, A, IN
    0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x01, // 300 s, 192.0.2.1
];
/// `dig +tcp ... . NS`: the root name. Its ID starts with 0x38, the
/// opcode octet of OpenVPN's first packet.
const DIG_ROOT_NS: [u8; 42] = [
    0x00, 0x28, //
    0x38, 0x4a, 0x01, 0x20, //
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x00, 0x00, 0x02, 0x00, 0x01, // the root, NS, IN
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, //
    0x00, 0x0a, 0x00, 0x08, 0xc5, 0xef, 0xbe, 0xba, 0xb5, 0xbe, 0xef, 0xe7, //
];

/// The most octets the matcher reads: the length, the header and the
/// longest first question.
const MAX_OPENING_LENGTH: usize = 2 + HEADER_LENGTH + MAX_NAME_LENGTH + 4;

/// A message from a length, a header and a question, nothing after.
fn message(header: [u8; 12], name: &[u8], qtype: u16, qclass: u16, rest: &[u8]) -> Vec<u8> {
    let mut message = header.to_vec();
    message.extend(name);
    message.extend(qtype.to_be_bytes());
    message.extend(qclass.to_be_bytes());
    message.extend(rest);
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend(message);
    framed
}

/// A QUERY header with RD and one question, and these other counts.
fn query_header(answers: u16, authority: u16, additional: u16) -> [u8; 12] {
    let mut header = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    header[6..8].copy_from_slice(&answers.to_be_bytes());
    header[8..10].copy_from_slice(&authority.to_be_bytes());
    header[10..12].copy_from_slice(&additional.to_be_bytes());
    header
}

/// An OPT record advertising 1232 octets, without options.
const OPT: [u8; 11] = [0x00, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0];
const EXAMPLE_COM: &[u8] = b"\x07example\x03com\x00";

/// Whether `seen` starts with an opening the matcher takes, read naively:
/// every field at its offset in one piece, all of it there.
fn naive_match(seen: &[u8]) -> bool {
    let field = |at: usize| u16::from_be_bytes([seen[at], seen[at + 1]]);
    if seen.len() < 14 {
        return false;
    }
    let length = usize::from(field(0));
    let (flags, low_flags) = (seen[4], seen[5]);
    let opcode = (flags >> 3) & 0x0f;
    let (an, ns, ar) = (field(8), field(10), field(12));
    let allowed = match opcode {
        0 => an == 0 && ns <= 1 && ar <= 2 && flags & 0x06 == 0 && low_flags & 0xcf == 0,
        4 => an <= 1 && ns == 0 && ar <= 2 && flags & 0x02 == 0 && low_flags & 0xcf == 0,
        5 => flags & 0x07 == 0 && low_flags == 0,
        _ => false,
    };
    let records = usize::from(an) + usize::from(ns) + usize::from(ar);
    if flags & 0x80 != 0 || !allowed || field(6) != 1 || 17 + 11 * records > length {
        return false;
    }
    let mut at = 14;
    loop {
        match seen.get(at) {
            Some(0) => break,
            Some(&label) if label <= 63 => at += 1 + usize::from(label),
            _ => return false,
        }
    }
    let end = at + 5;
    if end - 14 > 255 + 4 || end > 2 + length || seen.len() < end {
        return false;
    }
    let (qtype, qclass) = (field(at + 1), field(at + 3));
    let qtype_ok = match opcode {
        5 => qtype == 6,
        0 if ns == 1 => qtype == 251,
        _ => qtype != 0,
    };
    let left = 2 + length - end;
    qtype_ok
        && [1, 3, 4, 255].contains(&qclass)
        && left >= 11 * records
        && (records > 0 || left == 0)
}

#[test]
fn captures() {
    let question = |id, opcode, name: &str, qtype, edns| DnsQuestion {
        id,
        opcode,
        name: name.to_string(),
        qtype,
        qclass: 1,
        edns,
    };
    let cases: [(&[u8], DnsQuestion); 7] = [
        (
            &DIG_A,
            question(0x3064, DnsOpcode::Query, "example.com", 1, true),
        ),
        (
            &DIG_MX_NO_EDNS,
            question(0xcad6, DnsOpcode::Query, "example.com", 15, false),
        ),
        (
            &DIG_AXFR,
            question(0xa924, DnsOpcode::Query, "example.com", 252, true),
        ),
        (
            &DIG_IXFR,
            question(0x1be3, DnsOpcode::Query, "example.com", 251, true),
        ),
        (
            &DIG_NOTIFY,
            question(0x6c24, DnsOpcode::Notify, "example.com", 6, true),
        ),
        (
            &NSUPDATE,
            question(0x1f73, DnsOpcode::Update, "example.com", 6, false),
        ),
        (
            &DIG_ROOT_NS,
            question(0x384a, DnsOpcode::Query, ".", 2, true),
        ),
    ];
    for (capture, want) in cases {
        let question_end = capture[14..].iter().position(|&b| b == 0).unwrap() + 14 + 5;
        assert_decides_at_last_byte(&dns(), &capture[..question_end], Match);
        assert!(naive_match(capture));
        assert_eq!(dns_question(capture), Some(want));
        assert_eq!(dns_question(&capture[..capture.len() - 1]), None);
        assert_settles(capture, dns_question);
    }
}

#[test]
fn decides_at_the_first_octet_that_tells() {
    let example = |header| message(header, EXAMPLE_COM, 1, 1, &[]);
    let mut notify = query_header(1, 0, 0);
    notify[2] = 0x24; // NOTIFY, AA
    let mut update = query_header(2, 3, 0);
    update[2] = 0x28;
    let cases: Vec<(Vec<u8>, usize, Verdict)> = vec![
        // Whole openings: Match at the last octet of QCLASS.
        (example(query_header(0, 0, 0)), 31, Match),
        (
            message(query_header(0, 0, 1), EXAMPLE_COM, 1, 1, &OPT),
            31,
            Match,
        ),
        (
            message(query_header(0, 0, 0), b"\x00", 2, 1, &[]),
            19,
            Match,
        ),
        (
            message(query_header(0, 0, 0), EXAMPLE_COM, 0xffff, 255, &[]),
            31,
            Match,
        ),
        (
            message(query_header(0, 0, 0), EXAMPLE_COM, 16, 3, &[]),
            31,
            Match,
        ),
        (
            message(query_header(0, 0, 0), EXAMPLE_COM, 1, 4, &[]),
            31,
            Match,
        ),
        (
            message(query_header(0, 1, 0), EXAMPLE_COM, 251, 1, &[0; 11]),
            31,
            Match,
        ),
        (message(notify, EXAMPLE_COM, 6, 1, &[0; 11]), 31, Match),
        (message(update, EXAMPLE_COM, 6, 1, &[0; 55]), 31, Match),
        // The length: at least a header and the root's question.
        (vec![0x00, 0x10], 2, NoMatch),
        (vec![0x00, 0x00], 2, NoMatch),
        // Flags: a request, a client's opcode and flags.
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x81], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x09], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x11], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x31], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x05], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x03], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x22], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x29], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x2c], 5, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x80], 6, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x40], 6, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x01], 6, NoMatch),
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x28, 0x20], 6, NoMatch),
        // Counts: one question; the rest by opcode.
        (vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x00, 0x01], 7, NoMatch),
        (
            vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x00, 0x00, 0x00],
            8,
            NoMatch,
        ),
        (
            vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x00, 0x00, 0x02],
            8,
            NoMatch,
        ),
        (
            vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01],
            10,
            NoMatch,
        ),
        (
            vec![0x00, 0x1d, 0xca, 0xd6, 0x01, 0x00, 0x00, 0x01, 0x01],
            9,
            NoMatch,
        ),
        (
            vec![
                0x00, 0x1d, 0xca, 0xd6, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
            ],
            12,
            NoMatch,
        ),
        (
            vec![
                0x00, 0x1d, 0xca, 0xd6, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
            ],
            14,
            NoMatch,
        ),
        (
            vec![0x00, 0x1d, 0xca, 0xd6, 0x21, 0x00, 0x00, 0x01, 0x00, 0x02],
            10,
            NoMatch,
        ),
        (
            vec![
                0x00, 0x1d, 0xca, 0xd6, 0x21, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
            ],
            12,
            NoMatch,
        ),
        // The length cannot hold the records counted: 17 + 11 > 27.
        (
            vec![
                0x00, 0x1b, 0xca, 0xd6, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            ],
            14,
            NoMatch,
        ),
        // The first name: labels of at most 63, no pointer.
        (
            vec![0x00, 0x1d, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40],
            15,
            NoMatch,
        ),
        (
            vec![0x00, 0x1d, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0],
            15,
            NoMatch,
        ),
        (
            vec![0x00, 0x1d, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x80],
            15,
            NoMatch,
        ),
        // QTYPE and QCLASS.
        (
            message(query_header(0, 0, 0), EXAMPLE_COM, 0, 1, &[])[..29].to_vec(),
            29,
            NoMatch,
        ),
        (
            message(query_header(0, 0, 0), EXAMPLE_COM, 1, 2, &[])[..31].to_vec(),
            31,
            NoMatch,
        ),
        (
            message(query_header(0, 0, 0), EXAMPLE_COM, 1, 256, &[])[..30].to_vec(),
            30,
            NoMatch,
        ),
        (
            message(query_header(0, 1, 0), EXAMPLE_COM, 252, 1, &[0; 11])[..29].to_vec(),
            29,
            NoMatch,
        ),
        (
            message(query_header(0, 1, 0), EXAMPLE_COM, 0x100, 1, &[0; 11])[..28].to_vec(),
            28,
            NoMatch,
        ),
        (
            message(update, EXAMPLE_COM, 1, 1, &[0; 55])[..29].to_vec(),
            29,
            NoMatch,
        ),
        // What is left of the length: records as counted, or nothing.
        (
            message(query_header(0, 0, 0), EXAMPLE_COM, 1, 1, &[0]),
            31,
            NoMatch,
        ),
        (
            message(query_header(0, 0, 1), EXAMPLE_COM, 1, 1, &OPT[..10]),
            31,
            NoMatch,
        ),
        // The length ends inside the question, or with it.
        (
            vec![
                0x00, 0x11, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x01, b'a', 0x00, 0x00, 0x01,
            ],
            19,
            NoMatch,
        ),
        (
            vec![
                0x00, 0x11, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x01, 0x00, 0x01,
            ],
            19,
            Match,
        ),
    ];
    for (seen, decided_at, want) in cases {
        assert_decides_at_last_byte(&dns(), &seen[..decided_at], want);
        assert_eq!(dns().verdict(&seen), want, "{seen:02x?}");
        assert_eq!(naive_match(&seen), want == Match, "naive {seen:02x?}");
    }
}

#[test]
fn names_at_their_limits() {
    let label_63 = [&[63][..], &[b'a'; 63]].concat();
    let label_64 = [&[64][..], &[b'a'; 64]].concat();
    // 255 octets: three labels of 63, one of 61, and the root.
    let name_255 = [
        &label_63[..],
        &label_63,
        &label_63,
        &[61],
        &[b'b'; 61],
        &[0],
    ]
    .concat();
    assert_eq!(name_255.len(), MAX_NAME_LENGTH);
    let name_256 = [
        &label_63[..],
        &label_63,
        &label_63,
        &[62],
        &[b'b'; 62],
        &[0],
    ]
    .concat();
    let longest = message(query_header(0, 0, 0), &name_255, 1, 1, &[]);
    assert_eq!(longest.len(), MAX_OPENING_LENGTH);
    assert_decides_at_last_byte(&dns(), &longest, Match);
    let question = dns_question(&longest).unwrap();
    assert_eq!(question.name.len(), 253);
    let too_long = message(query_header(0, 0, 0), &name_256, 1, 1, &[]);
    assert_decides_at_last_byte(&dns(), &too_long[..14 + 256], NoMatch);
    let short_label = message(
        query_header(0, 0, 0),
        &[&label_63[..], &[0]].concat(),
        1,
        1,
        &[],
    );
    assert_eq!(dns().verdict(&short_label), Match);
    let long_label = message(
        query_header(0, 0, 0),
        &[&label_64[..], &[0]].concat(),
        1,
        1,
        &[],
    );
    assert_decides_at_last_byte(&dns(), &long_label[..15], NoMatch);
}

#[test]
fn questions_and_their_records() {
    let name = |wire: &[u8]| {
        let query = message(query_header(0, 0, 0), wire, 1, 1, &[]);
        dns_question(&query).map(|question| question.name)
    };
    assert_eq!(name(b"\x00").as_deref(), Some("."));
    assert_eq!(name(b"\x03WwW\x00").as_deref(), Some("WwW"));
    assert_eq!(name(b"\x04_sip\x04_tcp\x00").as_deref(), Some("_sip._tcp"));
    assert_eq!(name(b"\x03a.b\x01\\\x00").as_deref(), Some("a\\.b.\\\\"));
    assert_eq!(
        name(b"\x02\x00\xff\x01 \x00").as_deref(),
        Some("\\000\\255.\\032")
    );
    // The records must fill the length exactly, their names may point back.
    let with = |rest: &[u8]| dns_question(&message(query_header(0, 0, 1), EXAMPLE_COM, 1, 1, rest));
    assert!(with(&OPT).unwrap().edns);
    let tsig_like = [
        0xc0, 0x0c, 0x00, 0xfa, 0x00, 0xff, 0, 0, 0, 0, 0x00, 0x01, 0xaa,
    ];
    assert!(!with(&tsig_like).unwrap().edns);
    assert_eq!(with(&[&OPT[..], &[0]].concat()), None);
    assert_eq!(
        with(&[0xc0, 0x0c, 0x00, 0x29, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0xaa]),
        None
    );
    assert_eq!(
        with(&[0xc0, 0x1f, 0x00, 0x29, 0, 0, 0, 0, 0, 0, 0x00, 0x00]),
        None
    );
    assert_eq!(
        with(&[0xc0, 0x02, 0x00, 0x29, 0, 0, 0, 0, 0, 0, 0x00, 0x00]),
        None
    );
    assert_eq!(
        with(&[0x40, 0x00, 0x29, 0, 0, 0, 0, 0, 0, 0x00, 0x00]),
        None
    );
    // An answer-section OPT is not EDNS.
    let mut notify = query_header(1, 0, 0);
    notify[2] = 0x20;
    let soa_as_opt = message(notify, EXAMPLE_COM, 6, 1, &OPT);
    assert!(!dns_question(&soa_as_opt).unwrap().edns);
    assert_eq!(dns_question(b"\x00\x11"), None);
    assert_eq!(dns_question(b"GET / HTTP/1.1\r\n"), None);
}

#[test]
fn other_protocols_do_not_match() {
    for seen in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"SSH-2.0-OpenSSH_9.2p1\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"\x05\x03\x00\x01\x02",
        b"\x04\x01\x00\x50\x7f\x00\x00\x01",
        b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
        b"\x10\x18\x00\x04MQTT\x04\x02",
        b"<13>1 ",
        b"PING\r\n",
        // OpenVPN's first packet over TCP: length, P_CONTROL_HARD_RESET_
        // CLIENT_V2, then a random session ID.
        b"\x00\x0e\x38\x8e\x5a\x1f\x27\x9b\x4c\xd0\x13\x00\x00\x00\x00\x00",
    ] {
        assert_eq!(dns().verdict(seen), NoMatch, "{seen:02x?}");
    }
    // A SOCKS5 greeting is a length and an ID, then its client waits for
    // the server: hence SOCKS5 routes before DNS.
    for greeting in [&b"\x05\x01\x00"[..], b"\x05\x02\x00\x02"] {
        assert_eq!(dns().verdict(greeting), NeedMore);
    }
}

/// A first message a client sends: QUERY with EDNS or not, IXFR with its
/// SOA, NOTIFY or UPDATE, under a random name.
fn client_message() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::collection::vec(prop::collection::vec(any::<u8>(), 1..=63), 0..4)
        .prop_filter("at most 255 octets", |labels| {
            labels.iter().map(|l| l.len() + 1).sum::<usize>() < MAX_NAME_LENGTH
        })
        .prop_map(|labels| {
            let mut wire = Vec::new();
            for label in labels {
                wire.push(label.len() as u8);
                wire.extend(label);
            }
            wire.push(0);
            wire
        });
    (
        name,
        0u8..5,
        any::<u16>(),
        1u16..,
        prop::sample::select(&CLASSES[..]),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(|(name, kind, id, qtype, qclass, (rd, ad, cd))| {
            let flags = u8::from(rd);
            let low_flags = u8::from(ad) << 5 | u8::from(cd) << 4;
            let soa = [
                0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x00,
            ];
            let (opcode, qtype, counts, rest): (u8, u16, [u16; 3], Vec<u8>) = match kind {
                0 => (0, qtype, [0, 0, 0], vec![]),
                1 => (0, qtype, [0, 0, 1], OPT.to_vec()),
                2 => (0, TYPE_IXFR, [0, 1, 1], [&soa[..], &OPT].concat()),
                3 => (4, TYPE_SOA, [1, 0, 0], soa.to_vec()),
                _ => (5, TYPE_SOA, [0, 1, 0], soa.to_vec()),
            };
            let (flags, low_flags) = if opcode == 5 {
                (0, 0)
            } else {
                (flags, low_flags)
            };
            let mut header = [0; 12];
            header[..2].copy_from_slice(&id.to_be_bytes());
            header[2] = opcode << 3 | flags;
            header[3] = low_flags;
            header[5] = 1;
            for (at, count) in counts.iter().enumerate() {
                header[6 + 2 * at..8 + 2 * at].copy_from_slice(&count.to_be_bytes());
            }
            message(header, &name, qtype, qclass, &rest)
        })
}

proptest! {
    #[test]
    fn client_messages_match_with_their_question(data in client_message()) {
        prop_assert_eq!(dns().verdict(&data), Match);
        prop_assert!(naive_match(&data));
        let question = dns_question(&data).unwrap();
        prop_assert_eq!(question.id, u16::from_be_bytes([data[2], data[3]]));
        prop_assert_eq!(question.edns, data.ends_with(&OPT));
        assert_settles(&data, dns_question);
    }

    #[test]
    fn monotone_and_naive_near_messages(data in near_miss(client_message())) {
        Conformance::new(&dns()).assert(&data);
        prop_assert_eq!(dns().verdict(&data) == Match, naive_match(&data));
        if dns_question(&data).is_some() {
            prop_assert_eq!(dns().verdict(&data), Match);
        }
        assert_settles(&data, dns_question);
    }

    #[test]
    fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
        Conformance::new(&dns()).assert(&data);
        prop_assert_eq!(dns().verdict(&data) == Match, naive_match(&data));
        let _ = dns_question(&data);
    }

    #[test]
    fn chunk_invariant(
        data in prop_oneof![client_message(), near_miss(client_message())],
        chunk_sizes in prop::collection::vec(1usize..=256, 1..8),
    ) {
        Conformance::new(&dns()).assert_chunking(&data, &chunk_sizes);
    }

    #[test]
    fn decides_within_its_longest_opening(
        opening in prop_oneof![client_message(), near_miss(client_message())],
        filler in prop::collection::vec(any::<u8>(), MAX_OPENING_LENGTH),
    ) {
        let data = [&opening[..], &filler].concat();
        Conformance::new(&dns()).bound(MAX_OPENING_LENGTH).fuzz(&data);
    }
}
