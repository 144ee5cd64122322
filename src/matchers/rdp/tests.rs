//! Tests of the RDP matcher: hand-made Connection Requests at the limits of
//! each field, FreeRDP captures, ISO-on-TCP and other protocols' openings,
//! and properties against a naive reading of MS-RDPBCGR 2.2.1.1.
//!
//! The captures are the first bytes FreeRDP 2.11.7 (Debian 12's
//! `freerdp2-x11` 2.11.7+dfsg1-6~deb12u1) sent to a Python listener on
//! 127.0.0.1, run under `xvfb-run` as `xfreerdp /v:127.0.0.1:PORT
//! /cert:ignore` with `/u:alice` (`nla`: TLS and CredSSP requested),
//! `/u:carol /sec:tls` (`tls`), `/u:bob /sec:rdp` (`rdp-security`: no
//! negotiation request) or `/u:dave /load-balance-info:tsv://MS Terminal
//! Services Plugin.1.Sessions` (`load-balance-info`: a routing token, no
//! cookie).

use super::*;
use crate::conformance::Conformance;
use crate::internal::check_settles;
use crate::matchers::testing::{
    assert_apart, assert_builtin_routes_chunking, assert_decides, near_miss,
};
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

const NLA: &[u8] = include_bytes!("xfreerdp-2.11.7-nla.bin");
const TLS: &[u8] = include_bytes!("xfreerdp-2.11.7-tls.bin");
const RDP_SECURITY: &[u8] = include_bytes!("xfreerdp-2.11.7-rdp-security.bin");
const LOAD_BALANCE_INFO: &[u8] = include_bytes!("xfreerdp-2.11.7-load-balance-info.bin");

/// A Connection Request with this variable part, source reference 0 and
/// class 0.
fn request(variable: &[u8]) -> Vec<u8> {
    let length = MIN_CONNECTION_REQUEST_BYTES + variable.len();
    let mut pdu = vec![3, 0];
    pdu.extend((length as u16).to_be_bytes());
    pdu.extend([(length - 5) as u8, 0xe0, 0, 0, 0, 0, 0]);
    pdu.extend(variable);
    pdu
}

/// An RDP Negotiation Request for these protocols, with the correlation
/// info (and its flag) or not.
fn negotiation(flags: u8, protocols: u32, correlation_info: bool) -> Vec<u8> {
    let flags = if correlation_info {
        flags | CORRELATION_INFO_PRESENT
    } else {
        flags & !CORRELATION_INFO_PRESENT
    };
    let mut bytes = vec![0x01, flags, 0x08, 0x00];
    bytes.extend(protocols.to_le_bytes());
    if correlation_info {
        bytes.extend([0x06, 0x00, 0x24, 0x00]);
        bytes.extend([0x5a; 16]);
        bytes.extend([0; 16]);
    }
    bytes
}

/// Whether `seen` starts with a whole Connection Request, read literally
/// off MS-RDPBCGR 2.2.1.1.
fn naive(seen: &[u8]) -> bool {
    let [3, 0, high, low, length_indicator, 0xe0, 0, 0, _, _, class, ..] = *seen else {
        return false;
    };
    let length = usize::from(u16::from_be_bytes([high, low]));
    (11..=259).contains(&length)
        && usize::from(length_indicator) + 5 == length
        && class & 0xf0 == 0
        && seen.len() >= length
        && naive_variable_part(&seen[11..length], 2)
}

fn naive_variable_part(variable: &[u8], lines: usize) -> bool {
    let negotiation = |n: &[u8]| match n.len() {
        0 => true,
        8 => n[0] == 1 && n[1] & 8 == 0 && n[2..4] == [8, 0],
        44 => {
            n[0] == 1
                && n[1] & 8 != 0
                && n[2..4] == [8, 0]
                && n[8..12] == [6, 0, 36, 0]
                && n[28..] == [0; 16]
        }
        _ => false,
    };
    if variable.is_empty() || (matches!(variable.len(), 8 | 44) && variable[0] == 1) {
        return negotiation(variable);
    }
    match variable.iter().position(|&byte| byte == b'\n') {
        Some(end) if lines > 0 && end > 0 && variable[end - 1] == b'\r' => {
            naive_variable_part(&variable[end + 1..], lines - 1)
        }
        _ => false,
    }
}

#[test]
fn freerdp_captures() {
    let expected =
        |cookie: Option<&str>, routing_token: Option<&[u8]>, protocols: Option<u32>| RdpRequest {
            cookie: cookie.map(str::to_owned),
            routing_token: routing_token.map(<[u8]>::to_vec),
            requested_protocols: protocols.map(RdpProtocols::from_bits),
        };
    // (capture, bytes up to the negotiation request's length field, fields)
    let captures: [(&[u8], usize, RdpRequest); 4] = [
        (NLA, NLA.len() - 4, expected(Some("alice"), None, Some(0x3))),
        (TLS, TLS.len() - 4, expected(Some("carol"), None, Some(0x1))),
        (
            RDP_SECURITY,
            RDP_SECURITY.len(),
            expected(Some("bob"), None, None),
        ),
        (
            LOAD_BALANCE_INFO,
            LOAD_BALANCE_INFO.len() - 4,
            expected(
                None,
                Some(b"tsv://MS Terminal Services Plugin.1.Sessions"),
                Some(0x3),
            ),
        ),
    ];
    for (capture, decided_at, fields) in captures {
        assert_eq!(rdp().verdict(capture), Match);
        assert_decides(&rdp(), &capture[..decided_at], Match);
        assert!(naive(capture));
        assert_eq!(rdp_request(capture), Some(fields));
        assert_eq!(rdp_request(&capture[..capture.len() - 1]), None);
    }
}

#[test]
fn variable_parts_match_where_their_structure_ends() {
    let cookie = b"Cookie: mstshash=eltons\r\n";
    let token = b"Cookie: msts=3640205228.15629.0000\r\n";
    // (variable part, bytes the verdict waits for at the end)
    let cases: Vec<(Vec<u8>, usize)> = vec![
        (Vec::new(), 0),
        (cookie.to_vec(), 0),
        (token.to_vec(), 0),
        ([&token[..], cookie].concat(), 0),
        (negotiation(0, 0x3, false), 4),
        ([&cookie[..], &negotiation(0x01, 0xb, false)].concat(), 4),
        (
            [&token[..], cookie, &negotiation(0x02, 0x1, false)].concat(),
            4,
        ),
        // mstsc: a cookie, a negotiation request, a correlation info.
        ([&cookie[..], &negotiation(0, 0xb, true)].concat(), 0),
        (negotiation(0, 0x1f, true), 0),
        // Eight bytes not starting with type 1 are a line.
        (b"abcdef\r\n".to_vec(), 0),
        (b"\r\n".to_vec(), 0),
    ];
    for (variable, unchecked) in cases {
        let pdu = request(&variable);
        assert_decides(&rdp(), &pdu[..pdu.len() - unchecked], Match);
        assert!(naive(&pdu), "{pdu:02x?}");
        assert!(rdp_request(&pdu).is_some(), "{pdu:02x?}");
    }
}

#[test]
fn header_fields_are_checked_where_they_arrive() {
    let pdu = request(b"Cookie: mstshash=x\r\n");
    // (byte index, new value, verdict with that byte last)
    let cases: &[(usize, u8, Verdict)] = &[
        (0, 0x02, NoMatch),
        (0, 0x16, NoMatch),
        (1, 0x01, NoMatch),
        // TPKT lengths 11..=259: a high byte of 0 or 1.
        (2, 0x01, NeedMore),
        (2, 0x02, NoMatch),
        // The length indicator must be the TPKT length less 5.
        (4, 0x1e, NoMatch),
        (4, 0x20, NoMatch),
        // A Connection Confirm, a Data TPDU, credit 1.
        (5, 0xd0, NoMatch),
        (5, 0xf0, NoMatch),
        (5, 0xe1, NoMatch),
        (6, 0x01, NoMatch),
        (7, 0x01, NoMatch),
        // Any source reference; class 0 with any options.
        (8, 0x12, NeedMore),
        (9, 0x34, NeedMore),
        (10, 0x02, NeedMore),
        (10, 0x10, NoMatch),
        (10, 0x40, NoMatch),
    ];
    for &(at, value, want) in cases {
        let mut changed = pdu[..=at].to_vec();
        changed[at] = value;
        assert_eq!(rdp().verdict(&changed), want, "byte {at} = {value:#04x}");
        assert_eq!(rdp().verdict(&changed[..at]), NeedMore, "before byte {at}");
    }
    let lengths: &[(&[u8], Verdict)] = &[
        (&[3, 0, 0, 10], NoMatch),
        (&[3, 0, 0, 11], NeedMore),
        (&[3, 0, 0, 11, 6, 0xe0, 0, 0, 0, 0, 0], Match),
        (&[3, 0, 1, 3], NeedMore),
        (&[3, 0, 1, 3, 254], NeedMore),
        (&[3, 0, 1, 4], NoMatch),
    ];
    for &(seen, want) in lengths {
        assert_eq!(rdp().verdict(seen), want, "{seen:02x?}");
    }
}

#[test]
fn variable_parts_that_break_the_structure() {
    let cookie = b"Cookie: mstshash=x\r\n";
    let refused: Vec<Vec<u8>> = vec![
        // A line ended by LF alone, or not ended inside the PDU.
        b"Cookie: mstshash=x\n".to_vec(),
        b"Cookie: mstshash=x".to_vec(),
        b"Cookie: mstshash=x\r".to_vec(),
        // Three lines.
        [&cookie[..], cookie, cookie].concat(),
        // Two lines, then bytes that are no negotiation request.
        [&cookie[..], cookie, b"x"].concat(),
        // ISO-on-TCP (Siemens S7): TSAP and TPDU size parameters.
        vec![
            0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02, 0xc0, 0x01, 0x0a,
        ],
        vec![
            0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02,
        ],
        // The correlation flag without the correlation info, and the other
        // way round.
        [&cookie[..], &[0x01, 0x08, 0x08, 0x00, 3, 0, 0, 0]].concat(),
        [&cookie[..], &[0x01, 0x00, 0x08, 0x00, 3, 0, 0, 0], &[0; 36]].concat(),
        // A negotiation request's length other than 8.
        [&cookie[..], &[0x01, 0x00, 0x09, 0x00, 3, 0, 0, 0]].concat(),
        [&cookie[..], &[0x01, 0x00, 0x08, 0x01, 3, 0, 0, 0]].concat(),
    ];
    for variable in refused {
        let pdu = request(&variable);
        assert_eq!(rdp().verdict(&pdu), NoMatch, "{pdu:02x?}");
        assert!(!naive(&pdu), "{pdu:02x?}");
        assert_eq!(rdp_request(&pdu), None);
    }
    // The correlation info's type, flags, length and reserved bytes.
    let good = request(&negotiation(0, 0x3, true));
    for at in [19, 20, 21, 22, 39, 54] {
        let mut changed = good.clone();
        changed[at] ^= 0x01;
        assert_eq!(rdp().verdict(&changed[..=at]), NoMatch, "byte {at}");
        assert_eq!(rdp().verdict(&changed[..at]), NeedMore, "before byte {at}");
    }
    // The correlation id is anything.
    let mut any_id = good.clone();
    any_id[23..39].copy_from_slice(&[0xf4; 16]);
    assert_eq!(rdp().verdict(&any_id), Match);
}

#[test]
fn cookie_and_protocol_limits() {
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"Cookie: mstshash=\r\n", Some("")),
        (b"Cookie: mstshash=DOMAIN\\us\r\n", Some("DOMAIN\\us")),
        (b"Cookie: mstshash=\xe9t\xe9\r\n", Some("\u{fffd}t\u{fffd}")),
        (b"Cookie: mstshash\r\n", None),
        (b"cookie: mstshash=x\r\n", None),
    ];
    for &(line, cookie) in cases {
        let fields = rdp_request(&request(line)).unwrap();
        assert_eq!(fields.cookie.as_deref(), cookie, "{line:?}");
        assert_eq!(fields.routing_token.is_some(), cookie.is_none());
    }
    // The longest PDU: a 229-byte identifier fills the 248-byte variable
    // part; one more byte is over the length indicator's limit.
    let mut longest = COOKIE_PREFIX.to_vec();
    longest.extend([b'u'; 229]);
    longest.extend(b"\r\n");
    let pdu = request(&longest);
    assert_eq!(pdu.len(), RDP_MAX_CONNECTION_REQUEST_BYTES);
    assert_decides(&rdp(), &pdu, Match);
    assert_eq!(rdp_request(&pdu).unwrap().cookie.unwrap().len(), 229);
    longest.insert(0, b'u');
    assert_eq!(rdp().verdict(&request(&longest)[..4]), NoMatch);
    for protocols in [0, 1, 0x1f, u32::MAX] {
        let fields = rdp_request(&request(&negotiation(0, protocols, false))).unwrap();
        assert_eq!(
            fields.requested_protocols,
            Some(RdpProtocols::from_bits(protocols))
        );
    }
    let all = RdpProtocols::from_bits(0x1f);
    for known in [
        RdpProtocols::TLS,
        RdpProtocols::HYBRID,
        RdpProtocols::RDSTLS,
        RdpProtocols::HYBRID_EX,
        RdpProtocols::RDSAAD,
    ] {
        assert!(all.contains(known));
        assert!(!RdpProtocols::from_bits(0).contains(known));
    }
}

/// Every other built-in protocol's opening is ruled out within 1 byte, and
/// no other built-in matcher takes a capture.
#[test]
fn other_protocols_keep_apart() {
    assert_apart("rdp", 1, &[NLA, TLS, RDP_SECURITY, LOAD_BALANCE_INFO]);
}

/// A Connection Request: any source reference and options, an optional
/// routing token and cookie, an optional negotiation request with or
/// without correlation info, then anything.
fn connection_request() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u16>(),
        0u8..16,
        prop::option::of("Cookie: msts=[0-9.]{1,30}|tsv://[ -~]{0,30}"),
        prop::option::of("[A-Za-z0-9\\\\@._-]{0,40}"),
        prop::option::of((any::<u8>(), any::<u32>(), any::<bool>())),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(source, options, token, cookie, negotiate, tail)| {
            let mut variable = Vec::new();
            if let Some(token) = token {
                variable.extend(token.as_bytes());
                variable.extend(b"\r\n");
            }
            if let Some(cookie) = cookie {
                variable.extend(COOKIE_PREFIX);
                variable.extend(cookie.as_bytes());
                variable.extend(b"\r\n");
            }
            if let Some((flags, protocols, correlation_info)) = negotiate {
                variable.extend(negotiation(flags, protocols, correlation_info));
            }
            let mut pdu = request(&variable);
            pdu[8..10].copy_from_slice(&source.to_be_bytes());
            pdu[10] = options;
            pdu.extend(tail);
            pdu
        })
}

proptest! {
    #[test]
    fn requests_match(pdu in connection_request()) {
        prop_assert_eq!(rdp().verdict(&pdu), Match);
        prop_assert!(naive(&pdu));
        prop_assert!(rdp_request(&pdu).is_some());
        let length = usize::from(u16::from_be_bytes([pdu[2], pdu[3]]));
        prop_assert_eq!(rdp_request(&pdu[..length - 1]), None);
    }

    #[test]
    fn monotone_near_requests(data in near_miss(connection_request())) {
        Conformance::new(&rdp()).assert(&data);
        check_settles("rdp_request", &data, rdp_request, Option::is_some);
        let fields = rdp_request(&data);
        prop_assert_eq!(fields.is_some(), naive(&data));
        if fields.is_some() {
            prop_assert_eq!(rdp().verdict(&data), Match);
        }
    }

    #[test]
    fn monotone_on_arbitrary_bytes(
        data in prop::collection::vec(any::<u8>(), 0..300),
        tpkt in any::<bool>(),
    ) {
        let data = if tpkt { [&[3, 0][..], &data].concat() } else { data };
        Conformance::new(&rdp()).assert(&data);
        prop_assert_eq!(rdp_request(&data).is_some(), naive(&data));
    }

    #[test]
    fn chunking_does_not_change_the_decision(
        data in near_miss(connection_request()),
        chunk_sizes in prop::collection::vec(1usize..=256, 1..8),
    ) {
        assert_builtin_routes_chunking(&data, &chunk_sizes);
    }

    #[test]
    fn decides_within_its_bound(
        noise in prop::collection::vec(any::<u8>(), RDP_MAX_CONNECTION_REQUEST_BYTES),
        length_indicator in 6u8..=254,
    ) {
        Conformance::new(&rdp()).bound(RDP_MAX_CONNECTION_REQUEST_BYTES).fuzz(&noise);
        let length = usize::from(length_indicator) + 5;
        let mut longest = request(&noise[..length - MIN_CONNECTION_REQUEST_BYTES]);
        longest.extend(&noise);
        Conformance::new(&rdp()).bound(length).fuzz(&longest);
    }
}
