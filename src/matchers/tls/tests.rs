//! Tests of the TLS ClientHello matchers: real clients' ClientHellos,
//! version, server name and ALPN filters, malformed extensions and
//! lengths, and properties against a naive reading of generated hellos.

use super::*;
use crate::conformance::Conformance;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use Verdict::{Match, NeedMore, NoMatch};

/// `openssl s_client -servername www.example.com -alpn h2,http/1.1`
/// (OpenSSL 3.0), TLS 1.3.
pub(super) const OPENSSL_TLS13: &[u8] =
    include_bytes!("../../../tests/fixtures/manual/tls13-openssl-sni-alpn.bin");
/// The same with `-tls1_2`: no supported_versions extension.
pub(super) const OPENSSL_TLS12: &[u8] =
    include_bytes!("../../../tests/fixtures/manual/tls12-openssl-sni-alpn.bin");
/// `curl -k https://api.example.org:PORT/` (curl 7.88, OpenSSL 3.0):
/// ALPN h2, http/1.1, and a padding extension last.
pub(super) const CURL_TLS13: &[u8] =
    include_bytes!("../../../tests/fixtures/manual/tls13-curl-sni-alpn.bin");
/// `openssl s_client -noservername`: neither server_name nor ALPN.
pub(super) const OPENSSL_NO_SNI: &[u8] =
    include_bytes!("../../../tests/fixtures/manual/tls13-openssl-no-sni-no-alpn.bin");
const CAPTURES: [&[u8]; 4] = [OPENSSL_TLS13, OPENSSL_TLS12, CURL_TLS13, OPENSSL_NO_SNI];

/// Matchers with every kind of filter, used on every input below.
fn sample_matchers() -> Vec<Tls> {
    vec![
        tls(),
        tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3),
        tls_versions(TlsVersion::TLS1_0..=TlsVersion::TLS1_2),
        tls_sni("www.example.com"),
        tls_sni("*.EXAMPLE.org"),
        tls_sni_any(["nowhere.test", ".example.com"]),
        tls_sni("other.test"),
        tls_alpn("h2"),
        tls_alpn("h3"),
        tls_alpn_any(["acme-tls/1", "http/1.1"]),
        tls()
            .sni("www.example.com")
            .alpn("h2")
            .versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3),
    ]
}

pub(super) fn extension(extension_type: u16, data: &[u8]) -> Vec<u8> {
    let mut bytes = extension_type.to_be_bytes().to_vec();
    bytes.extend((data.len() as u16).to_be_bytes());
    bytes.extend(data);
    bytes
}

/// A server_name extension with one host_name.
pub(super) fn server_name(host_name: &[u8]) -> Vec<u8> {
    let mut list = ((host_name.len() + 3) as u16).to_be_bytes().to_vec();
    list.push(NAME_TYPE_HOST_NAME);
    list.extend((host_name.len() as u16).to_be_bytes());
    list.extend(host_name);
    extension(EXTENSION_SERVER_NAME, &list)
}

pub(super) fn alpn(protocols: &[&[u8]]) -> Vec<u8> {
    let names: Vec<u8> = protocols
        .iter()
        .flat_map(|name| [&[name.len() as u8][..], name].concat())
        .collect();
    extension(
        EXTENSION_ALPN,
        &[&(names.len() as u16).to_be_bytes()[..], &names].concat(),
    )
}

pub(super) fn supported_versions(codes: &[u16]) -> Vec<u8> {
    let mut list = vec![(codes.len() * 2) as u8];
    list.extend(codes.iter().flat_map(|code| code.to_be_bytes()));
    extension(EXTENSION_SUPPORTED_VERSIONS, &list)
}

/// A padding extension (RFC 7685, type 21) of `length` zero bytes.
pub(super) fn padding(length: usize) -> Vec<u8> {
    extension(21, &vec![0; length])
}

/// A ClientHello body with the given legacy version and extensions.
fn client_hello_body(legacy: u16, extensions: Option<&[u8]>) -> Vec<u8> {
    let mut body = legacy.to_be_bytes().to_vec();
    body.extend([0x5a; 32]);
    body.extend([0x20]);
    body.extend([0x11; 32]);
    body.extend([0x00, 0x04, 0x13, 0x01, 0x13, 0x02]);
    body.extend([0x01, 0x00]);
    if let Some(extensions) = extensions {
        body.extend((extensions.len() as u16).to_be_bytes());
        body.extend(extensions);
    }
    body
}

/// The ClientHello handshake message with this body.
pub(super) fn handshake(body: &[u8]) -> Vec<u8> {
    let mut message = vec![HANDSHAKE_CLIENT_HELLO];
    message.extend(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend(body);
    message
}

/// Splits a handshake message into records whose fragment sizes are
/// taken from `sizes`, cycled.
pub(super) fn into_records(message: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut rest = message;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (fragment, after) = rest.split_at(size.min(rest.len()));
        wire.extend([CONTENT_TYPE_HANDSHAKE, 0x03, 0x01]);
        wire.extend((fragment.len() as u16).to_be_bytes());
        wire.extend(fragment);
        rest = after;
    }
    wire
}

/// Wraps a ClientHello body into records of at most `fragment` bytes.
pub(super) fn records(body: &[u8], fragment: usize) -> Vec<u8> {
    into_records(&handshake(body), &[fragment])
}

/// A TLS 1.2-legacy ClientHello in one record with these extensions.
pub(super) fn hello(extensions: &[Vec<u8>]) -> Vec<u8> {
    records(
        &client_hello_body(0x0303, Some(&extensions.concat())),
        usize::from(MAX_FRAGMENT_LENGTH),
    )
}

/// The handshake bytes carried by the records of `wire`.
pub(super) fn handshake_message(wire: &[u8]) -> Vec<u8> {
    let mut records = Cursor::new(wire);
    let mut message = Vec::new();
    while records.remaining() > 0 {
        records.skip(3).unwrap();
        let length = records.u16().unwrap();
        message.extend(records.take(usize::from(length)).unwrap());
    }
    message
}

/// The shortest prefix of `wire` `matcher` decides on, and its verdict,
/// checking that every prefix before says `NeedMore` and every prefix
/// after says the same.
pub(super) fn decided_at(matcher: &(impl Matcher + fmt::Debug), wire: &[u8]) -> (usize, Verdict) {
    let mut decided = None;
    for length in 0..=wire.len() {
        let verdict = matcher.verdict(&wire[..length]);
        match decided {
            None if verdict != NeedMore => decided = Some((length, verdict)),
            None => {}
            Some((at, first)) => {
                assert_eq!(verdict, first, "{matcher:?} from {at} to {length}")
            }
        }
    }
    decided.unwrap_or((wire.len() + 1, NeedMore))
}

/// Where in `haystack` the first `needle` ends.
pub(super) fn end_of(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .unwrap()
        + needle.len()
}

/// The obvious definition of the server name patterns, on strings.
fn naive_sni_matches(pattern: &str, host_name: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let host_name = host_name.to_ascii_lowercase();
    let pattern = pattern.strip_suffix('.').unwrap_or(&pattern);
    let host_name = host_name.strip_suffix('.').unwrap_or(&host_name);
    if host_name.is_empty() {
        false
    } else if let Some(parent) = pattern.strip_prefix("*.") {
        host_name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent)
    } else if pattern.starts_with('.') {
        host_name.len() > pattern.len() && host_name.ends_with(pattern)
    } else {
        host_name == pattern
    }
}

fn info(version: TlsVersion, sni: Option<&str>, alpn: &[&str]) -> ClientHelloInfo {
    ClientHelloInfo {
        version,
        sni: sni.map(str::to_owned),
        alpn: alpn.iter().map(|name| name.to_string()).collect(),
    }
}

#[test]
fn any_version_decides_at_legacy_version() {
    let wire = records(&client_hello_body(0x0303, None), 1000);
    assert_eq!(decided_at(&tls(), &wire), (11, Match));
    let cases: &[(&[u8], Verdict)] = &[
        (b"", NeedMore),
        (&[0x16], NeedMore),
        (&[0x17], NoMatch),
        (&[0x16, 0x02], NoMatch),
        (&[0x16, 0x03, 0x05], NoMatch),
        (&[0x16, 0x03, 0x01, 0x00, 0x00], NoMatch),
        (&[0x16, 0x03, 0x01, 0x40, 0x01], NoMatch),
        (&[0x16, 0x03, 0x01, 0x00, 0x30, 0x02], NoMatch),
        (
            &[0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x05],
            NoMatch,
        ),
        (
            &[0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c, 0x02],
            NoMatch,
        ),
        (&[0x05, 0x01, 0x00], NoMatch),
    ];
    for (seen, want) in cases {
        assert_eq!(tls().verdict(seen), *want, "{seen:02x?}");
    }
}

#[test]
fn tls13_is_recognised_by_supported_versions() {
    let wire = hello(&[
        server_name(b"localhost"),
        supported_versions(&[0x7a7a, 0x0304, 0x0303]),
    ]);
    let only_13 = tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
    let only_10 = tls_versions(TlsVersion::TLS1_0..=TlsVersion::TLS1_0);
    assert_eq!(decided_at(&only_13, &wire), (wire.len(), Match));
    assert_eq!(decided_at(&only_10, &wire), (wire.len(), NoMatch));
    assert_eq!(client_hello_version(&wire), Some(TlsVersion::TLS1_3));
    assert_eq!(client_hello_version(&wire[..wire.len() - 1]), None);
}

#[test]
fn legacy_clients_offer_every_version_up_to_theirs() {
    let wire = records(&client_hello_body(0x0302, None), 1000);
    let from_12 = tls_versions(TlsVersion::TLS1_2..=TlsVersion::TLS1_3);
    let only_10 = tls_versions(TlsVersion::TLS1_0..=TlsVersion::TLS1_0);
    assert_eq!(decided_at(&from_12, &wire), (wire.len(), NoMatch));
    assert_eq!(decided_at(&only_10, &wire), (wire.len(), Match));
    assert_eq!(client_hello_version(&wire), Some(TlsVersion::TLS1_1));
    assert_eq!(
        client_hello_info(&wire),
        Some(info(TlsVersion::TLS1_1, None, &[]))
    );
}

#[test]
fn real_client_hellos() {
    let www = Some("www.example.com");
    let api = Some("api.example.org");
    let infos = [
        info(TlsVersion::TLS1_3, www, &["h2", "http/1.1"]),
        info(TlsVersion::TLS1_2, www, &["h2", "http/1.1"]),
        info(TlsVersion::TLS1_3, api, &["h2", "http/1.1"]),
        info(TlsVersion::TLS1_3, None, &[]),
    ];
    for (wire, want) in CAPTURES.iter().zip(&infos) {
        assert_eq!(client_hello_info(wire).as_ref(), Some(want));
        assert_eq!(client_hello_version(wire), Some(want.version));
        assert_eq!(client_hello_info(&wire[..wire.len() - 1]), None);
    }
    // Verdicts on OPENSSL_TLS13, OPENSSL_TLS12, CURL_TLS13, OPENSSL_NO_SNI.
    let tls13 = TlsVersion::TLS1_3..=TlsVersion::TLS1_3;
    let cases = [
        (tls(), [Match, Match, Match, Match]),
        (tls_versions(tls13.clone()), [Match, NoMatch, Match, Match]),
        (
            tls_versions(TlsVersion::TLS1_0..=TlsVersion::TLS1_2),
            [Match, Match, Match, Match],
        ),
        (tls_sni("www.example.com"), [Match, Match, NoMatch, NoMatch]),
        (tls_sni("*.EXAMPLE.org"), [NoMatch, NoMatch, Match, NoMatch]),
        (
            tls_sni_any(["x.test", ".example.com"]),
            [Match, Match, NoMatch, NoMatch],
        ),
        (tls_alpn("h2"), [Match, Match, Match, NoMatch]),
        (tls_alpn("h3"), [NoMatch, NoMatch, NoMatch, NoMatch]),
        (
            tls_alpn_any(["acme-tls/1", "http/1.1"]),
            [Match, Match, Match, NoMatch],
        ),
        (
            tls().sni("www.example.com").alpn("h2").versions(tls13),
            [Match, NoMatch, NoMatch, NoMatch],
        ),
    ];
    for (matcher, verdicts) in cases {
        for (wire, want) in CAPTURES.iter().zip(verdicts) {
            let (at, verdict) = decided_at(&matcher, wire);
            assert_eq!(
                verdict,
                want,
                "{matcher:?} on {:?}",
                client_hello_info(wire)
            );
            assert!(at <= wire.len());
        }
    }
}

#[test]
fn real_client_hellos_are_decided_when_the_extension_is_read() {
    let wire = OPENSSL_TLS13;
    let server_name_end = end_of(wire, b"www.example.com");
    let alpn_end = end_of(wire, b"\x08http/1.1");
    let versions_end = end_of(wire, &[0x00, 0x2b, 0x00, 0x09]) + 9;
    assert!(server_name_end < alpn_end && alpn_end < versions_end);
    let cases = [
        (tls_sni("www.example.com"), (server_name_end, Match)),
        (tls_sni("other.test"), (server_name_end, NoMatch)),
        (tls_alpn("h2"), (alpn_end, Match)),
        (tls_alpn("h3"), (alpn_end, NoMatch)),
        (
            tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3),
            (versions_end, Match),
        ),
        (tls().alpn("h2").sni("www.example.com"), (alpn_end, Match)),
        (
            tls()
                .versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)
                .alpn("h2")
                .sni("www.example.com"),
            (versions_end, Match),
        ),
        (tls().alpn("h2").sni("a.test"), (server_name_end, NoMatch)),
    ];
    for (matcher, want) in cases {
        assert_eq!(decided_at(&matcher, wire), want, "{matcher:?}");
    }
    // Without the extensions, only the end of the ClientHello decides.
    let wire = OPENSSL_NO_SNI;
    assert_eq!(decided_at(&tls_sni("x.test"), wire), (wire.len(), NoMatch));
    assert_eq!(decided_at(&tls_alpn("h2"), wire), (wire.len(), NoMatch));
}

#[test]
fn real_client_hellos_in_tiny_records() {
    // Each record split is judged at every prefix: under miri, one
    // capture in 7-octet records is enough to interpret.
    let (captures, splits): (&[&[u8]], &[&[usize]]) = if cfg!(miri) {
        (&CAPTURES[..1], &[&[7]])
    } else {
        (&CAPTURES, &[&[1], &[7], &[1, 7, 300], &[2, 1]])
    };
    for wire in captures {
        let message = handshake_message(wire);
        for &sizes in splits {
            let split = into_records(&message, sizes);
            assert_eq!(client_hello_info(&split), client_hello_info(wire));
            for matcher in sample_matchers() {
                assert_eq!(
                    decided_at(&matcher, &split).1,
                    matcher.verdict(wire),
                    "{matcher:?} in records of {sizes:?}"
                );
            }
        }
    }
}

#[test]
fn server_name_patterns() {
    let cases: &[(&str, &str, bool)] = &[
        ("www.example.com", "www.example.com", true),
        ("www.example.com", "WWW.Example.Com", true),
        ("WWW.EXAMPLE.COM", "www.example.com", true),
        ("www.example.com", "www.example.com.", true),
        ("www.example.com.", "www.example.com", true),
        ("www.example.com", "www.example.com..", false),
        ("www.example.com", "example.com", false),
        ("www.example.com", "www.example.co", false),
        ("www.example.com", "xwww.example.com", false),
        ("*.example.com", "a.example.com", true),
        ("*.example.com", "A.EXAMPLE.COM.", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "example.com.", false),
        ("*.example.com", ".example.com", false),
        ("*.example.com", "a.b.example.com", false),
        ("*.example.com", "aexample.com", false),
        ("*.example.com", "a.example.com.evil", false),
        (".example.com", "a.example.com", true),
        (".example.com", "a.b.example.com", true),
        (".EXAMPLE.com.", "A.B.example.COM.", true),
        (".example.com", "example.com", false),
        (".example.com", "badexample.com", false),
        ("a*.example.com", "ab.example.com", false),
        ("a*.example.com", "a*.example.com", true),
        ("", ".", false),
        (".", "a.", false),
    ];
    for &(pattern, host_name, want) in cases {
        let wire = hello(&[server_name(host_name.as_bytes())]);
        assert_eq!(
            tls_sni(pattern).verdict(&wire),
            Verdict::from_bool(want),
            "{pattern:?} on {host_name:?}"
        );
        assert_eq!(
            naive_sni_matches(pattern, host_name),
            want,
            "naive {pattern:?} on {host_name:?}"
        );
    }
}

#[test]
fn filters_combine_in_any_extension_order() {
    let sni_first = hello(&[server_name(b"a.example.com"), alpn(&[b"h2"])]);
    let alpn_first = hello(&[alpn(&[b"h2"]), server_name(b"a.example.com")]);
    for wire in [&sni_first, &alpn_first] {
        let both = tls().sni(".example.com").alpn("h2");
        assert_eq!(decided_at(&both, wire), (wire.len(), Match));
        let wrong_name = tls().sni("b.example.com").alpn("h2");
        assert_eq!(decided_at(&wrong_name, wire).1, NoMatch);
    }
    // The first filter to fail decides, whatever comes after.
    let wrong_protocol = tls().alpn("h3").sni(".example.com");
    assert_eq!(
        decided_at(&wrong_protocol, &alpn_first),
        (end_of(&alpn_first, b"h2"), NoMatch)
    );
    let wrong_name = tls().sni("b.example.com").alpn("h2");
    assert_eq!(
        decided_at(&wrong_name, &sni_first),
        (end_of(&sni_first, b"a.example.com"), NoMatch)
    );
    // Patterns and protocols add up; versions replace.
    let wire = &sni_first;
    assert_eq!(
        tls().sni("x.test").sni("*.example.com").verdict(wire),
        Match
    );
    assert_eq!(tls().alpn("h3").alpn_any(["h2"]).verdict(wire), Match);
    let latest = tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)
        .versions(TlsVersion::TLS1_2..=TlsVersion::TLS1_2);
    assert_eq!(latest.verdict(wire), Match);
    assert_eq!(tls_sni_any(Vec::<&str>::new()).verdict(wire), NoMatch);
    assert_eq!(tls_alpn_any(Vec::<&[u8]>::new()).verdict(wire), NoMatch);
}

#[test]
fn missing_extensions_fail_at_the_end() {
    let only_alpn = hello(&[alpn(&[b"h2"]), padding(10)]);
    assert_eq!(
        decided_at(&tls_sni("a.test"), &only_alpn),
        (only_alpn.len(), NoMatch)
    );
    let only_sni = hello(&[server_name(b"a.test"), padding(10)]);
    assert_eq!(
        decided_at(&tls_alpn("h2"), &only_sni),
        (only_sni.len(), NoMatch)
    );
    assert_eq!(
        client_hello_info(&only_sni),
        Some(info(TlsVersion::TLS1_2, Some("a.test"), &[]))
    );
    let no_extensions = records(&client_hello_body(0x0303, None), 1000);
    let empty_extensions = hello(&[]);
    for wire in [&no_extensions, &empty_extensions] {
        assert_eq!(decided_at(&tls_sni("a.test"), wire), (wire.len(), NoMatch));
        assert_eq!(decided_at(&tls_alpn("h2"), wire), (wire.len(), NoMatch));
        assert_eq!(
            client_hello_info(wire),
            Some(info(TlsVersion::TLS1_2, None, &[]))
        );
    }
    // A server_name list with only an unknown name type (name_type 1).
    let other_name_type = hello(&[extension(
        EXTENSION_SERVER_NAME,
        &[0x00, 0x05, 0x01, 0x00, 0x02, b'a', b'b'],
    )]);
    assert_eq!(
        decided_at(&tls_sni("ab").sni(".test"), &other_name_type).1,
        NoMatch
    );
    assert_eq!(
        client_hello_info(&other_name_type),
        Some(info(TlsVersion::TLS1_2, None, &[]))
    );
}

#[test]
fn host_names_longer_than_a_dns_name_match_nothing() {
    let longest = [&[b'a'; 251][..], b".com"].concat();
    let too_long = [&[b'a'; 252][..], b".com"].concat();
    assert_eq!(
        tls_sni(".com").verdict(&hello(&[server_name(&longest)])),
        Match
    );
    assert_eq!(
        tls_sni(".com").verdict(&hello(&[server_name(&too_long)])),
        NoMatch
    );
    let info_of_long = client_hello_info(&hello(&[server_name(&too_long), alpn(&[b"h2"])]));
    assert_eq!(info_of_long, Some(info(TlsVersion::TLS1_2, None, &["h2"])));
}

#[test]
fn grease_values_are_listed_but_never_offered_versions() {
    // RFC 8701 GREASE: ALPN 0x0a0a, extension type 0x1a1a, version 0x2a2a.
    let wire = hello(&[
        extension(0x1a1a, &[]),
        alpn(&[b"\x0a\x0a", b"h2"]),
        supported_versions(&[0x2a2a, 0x0304]),
    ]);
    assert_eq!(tls_alpn("h2").verdict(&wire), Match);
    assert_eq!(
        client_hello_info(&wire),
        Some(info(TlsVersion::TLS1_3, None, &["\n\n", "h2"]))
    );
    let only_grease = hello(&[supported_versions(&[0x2a2a])]);
    assert_eq!(client_hello_info(&only_grease), None);
    assert_eq!(client_hello_version(&only_grease), None);
    assert_eq!(tls().verdict(&only_grease), Match);
    let any_version = tls_versions(TlsVersion::SSL3_0..=TlsVersion::from_wire(0xffff));
    assert_eq!(any_version.verdict(&only_grease), NoMatch);
}

#[test]
fn invalid_extensions_are_no_match_at_the_first_bad_byte() {
    // Each case: the first extension (written out), and the index in it
    // of the first byte that makes it invalid.
    let cases: &[(&str, &[u8], usize)] = &[
        (
            "server_name list shorter than the extension",
            &[
                0x00, 0x00, 0x00, 0x07, 0x00, 0x03, 0x00, 0x00, 0x01, b'a', 0x00,
            ],
            5,
        ),
        (
            "host_name past the list",
            &[0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 0x00, 0x00, 0x02, b'a'],
            8,
        ),
        (
            "empty host_name",
            &[0x00, 0x00, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00],
            8,
        ),
        (
            "two host_names",
            &[
                0x00, 0x00, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x00, 0x01, b'a', 0x00, 0x00, 0x01, b'b',
            ],
            12,
        ),
        ("empty server_name extension", &[0x00, 0x00, 0x00, 0x00], 3),
        (
            "empty protocol name",
            &[0x00, 0x10, 0x00, 0x04, 0x00, 0x02, 0x00, b'x'],
            6,
        ),
        (
            "protocol list of one byte",
            &[0x00, 0x10, 0x00, 0x03, 0x00, 0x01, 0x01],
            5,
        ),
        (
            "protocol name past the list",
            &[0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x03, b'h', b'2'],
            6,
        ),
        (
            "protocol list shorter than the extension",
            &[0x00, 0x10, 0x00, 0x06, 0x00, 0x03, 0x02, b'h', b'2', 0x00],
            5,
        ),
        (
            "odd supported_versions list",
            &[0x00, 0x2b, 0x00, 0x04, 0x03, 0x03, 0x04, 0x03],
            4,
        ),
        (
            "supported_versions list past the extension",
            &[0x00, 0x2b, 0x00, 0x03, 0x04, 0x03, 0x04],
            4,
        ),
        (
            "extension past the extensions",
            &[0x00, 0x15, 0x00, 0x02, 0x00],
            3,
        ),
    ];
    let strict = tls()
        .versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)
        .sni("a.example.com")
        .alpn("h2");
    for &(name, first_extension, bad_at) in cases {
        let wire = hello(&[first_extension.to_vec()]);
        let start = wire.len() - first_extension.len();
        assert_eq!(
            decided_at(&strict, &wire),
            (start + bad_at + 1, NoMatch),
            "{name}"
        );
        assert_eq!(client_hello_info(&wire), None, "{name}");
    }
    // A repeated extension is invalid at the end of its header.
    let first = server_name(b"a.example.com");
    let wire = hello(&[first.clone(), first.clone(), alpn(&[b"h2"])]);
    let second_header_end = end_of(&wire, &first) + 4;
    assert_eq!(decided_at(&strict, &wire), (second_header_end, NoMatch));
    assert_eq!(client_hello_info(&wire), None);
}

#[test]
fn inconsistent_lengths_are_no_match() {
    let only_13 = tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
    let extensions = supported_versions(&[0x0304]);
    let body = client_hello_body(0x0303, Some(&extensions));
    let extensions_length_at = body.len() - extensions.len() - 2;
    for length in [
        0x00ff,
        0x0000,
        extensions.len() as u16 - 1,
        extensions.len() as u16 + 1,
    ] {
        let mut body = body.clone();
        body[extensions_length_at..extensions_length_at + 2].copy_from_slice(&length.to_be_bytes());
        assert_eq!(only_13.verdict(&records(&body, 1000)), NoMatch, "{length}");
    }
    // Session id longer than 32.
    let mut body = client_hello_body(0x0303, None);
    body[34] = 33;
    assert_eq!(only_13.verdict(&records(&body, 1000)), NoMatch);
    // A non-handshake record in the middle of the message.
    let mut wire = records(&client_hello_body(0x0303, None), 20);
    wire[25] = 0x17;
    assert_eq!(only_13.verdict(&wire), NoMatch);
    assert_eq!(client_hello_info(&wire), None);
}

#[test]
#[cfg_attr(miri, ignore = "300 KB of one-octet records: hours under miri")]
fn the_bound_holds_for_large_and_fragmented_client_hellos() {
    // A declared length that cannot fit is rejected at once.
    let too_long = [0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0xff, 0xf8];
    assert_eq!(decided_at(&tls_alpn("h2"), &too_long), (9, NoMatch));
    // 60 KB of padding, then ALPN, in full records: within the bound.
    let large = client_hello_body(0x0303, Some(&[padding(60_000), alpn(&[b"h2"])].concat()));
    let wire = records(&large, usize::from(MAX_FRAGMENT_LENGTH));
    assert!(wire.len() < TLS_MAX_CLIENT_HELLO_BYTES);
    assert_eq!(tls_alpn("h2").verdict(&wire), Match);
    assert_eq!(
        client_hello_info(&wire),
        Some(info(TlsVersion::TLS1_2, None, &["h2"]))
    );
    // The same in 1-byte records ends far past the bound.
    let wire = records(&large, 1);
    let alpn_h2 = tls_alpn("h2");
    assert_eq!(
        alpn_h2.verdict(&wire[..TLS_MAX_CLIENT_HELLO_BYTES - 1]),
        NeedMore
    );
    assert_eq!(
        alpn_h2.verdict(&wire[..TLS_MAX_CLIENT_HELLO_BYTES]),
        NoMatch
    );
    assert_eq!(alpn_h2.verdict(&wire), NoMatch);
    assert_eq!(client_hello_info(&wire), None);
}

fn arbitrary_client_hello_start() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(vec![
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03
        ]),
        select(CAPTURES.to_vec()).prop_map(|wire| wire[..wire.len() / 2].to_vec()),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_stay_decided(
        start in arbitrary_client_hello_start(),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let data = [start, tail].concat();
        for matcher in &sample_matchers() {
            Conformance::new(matcher).fuzz(&data);
        }
        let _ = client_hello_info(&data);
    }

    #[test]
    fn mutated_real_client_hellos_never_panic_and_stay_decided(
        wire in select(CAPTURES.to_vec()),
        sizes in proptest::collection::vec(1usize..40, 1..4),
        mutations in proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4),
    ) {
        let mut data = into_records(&handshake_message(wire), &sizes);
        for (position, byte) in mutations {
            let at = position.index(data.len());
            data[at] = byte;
        }
        for matcher in &sample_matchers() {
            Conformance::new(matcher).fuzz(&data);
        }
        let _ = client_hello_info(&data);
    }

    #[test]
    fn record_splitting_changes_nothing(
        wire in select(CAPTURES.to_vec()),
        sizes in proptest::collection::vec(1usize..=400, 1..8),
    ) {
        let split = into_records(&handshake_message(wire), &sizes);
        prop_assert_eq!(client_hello_info(&split), client_hello_info(wire));
        for matcher in &sample_matchers() {
            prop_assert_eq!(matcher.verdict(&split), matcher.verdict(wire));
            Conformance::new(matcher).fuzz(&split);
        }
    }

    #[test]
    fn generated_client_hellos_agree_with_the_naive_reading(
        labels in proptest::collection::vec(select(vec!["a", "B", "example", "com", "org", ""]), 1..5),
        trailing_dot in any::<bool>(),
        protocols in proptest::collection::vec(
            select(vec![&b"h2"[..], b"http/1.1", b"h3", b"\x0a\x0a", b"acme-tls/1"]), 1..4),
        versions in proptest::collection::vec(select(vec![0x0301u16, 0x0303, 0x0304, 0x7a7a]), 1..4),
        present in any::<[bool; 3]>(),
        order in select(vec![[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]),
        sizes in proptest::collection::vec(1usize..=200, 1..4),
    ) {
        let host_name = labels.join(".") + if trailing_dot { "." } else { "" };
        prop_assume!(!host_name.is_empty());
        let [with_sni, with_alpn, with_versions] = present;
        let parts = [
            if with_sni { server_name(host_name.as_bytes()) } else { Vec::new() },
            if with_alpn { alpn(&protocols) } else { Vec::new() },
            if with_versions { supported_versions(&versions) } else { padding(3) },
        ];
        let extensions: Vec<u8> = order.iter().flat_map(|&part| parts[part].clone()).collect();
        let wire = into_records(&handshake(&client_hello_body(0x0303, Some(&extensions))), &sizes);

        let offers_13 = if with_versions { versions.contains(&0x0304) } else { false };
        let highest = if with_versions {
            versions.iter().filter(|&&code| code >> 8 == 3).max().map(|&code| TlsVersion(code))
        } else {
            Some(TlsVersion::TLS1_2)
        };
        let sent_alpn = if with_alpn { protocols.clone() } else { Vec::new() };
        let want_info = highest.map(|version| ClientHelloInfo {
            version,
            sni: with_sni.then(|| host_name.clone()),
            alpn: sent_alpn.iter().map(|name| String::from_utf8_lossy(name).into_owned()).collect(),
        });
        prop_assert_eq!(client_hello_info(&wire), want_info);
        for pattern in ["a.example.com", "*.example.com", ".example.com", "example.com", "*.com", ".COM", "b.example.org."] {
            let want = with_sni && naive_sni_matches(pattern, &host_name);
            prop_assert_eq!(tls_sni(pattern).verdict(&wire), Verdict::from_bool(want), "{}", pattern);
        }
        for protocol in [&b"h2"[..], b"http/1.1", b"h3", b"spdy/3"] {
            let want = sent_alpn.contains(&protocol);
            prop_assert_eq!(tls_alpn(protocol).verdict(&wire), Verdict::from_bool(want));
        }
        let only_13 = tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
        prop_assert_eq!(only_13.verdict(&wire), Verdict::from_bool(offers_13));
        for matcher in &sample_matchers() {
            Conformance::new(matcher).fuzz(&wire);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 32 }))]

    #[test]
    fn every_input_as_long_as_the_bound_is_decided(
        padding_length in 0usize..64_000,
        fragment in 1usize..=usize::from(MAX_FRAGMENT_LENGTH),
    ) {
        let extensions = [padding(padding_length), alpn(&[b"h2"])].concat();
        let mut data = records(&client_hello_body(0x0303, Some(&extensions)), fragment);
        data.resize(data.len().max(TLS_MAX_CLIENT_HELLO_BYTES), 0);
        for matcher in sample_matchers() {
            Conformance::new(&matcher).bound(TLS_MAX_CLIENT_HELLO_BYTES).fuzz(&data);
        }
    }
}

#[test]
fn version_names() {
    assert_eq!(TlsVersion::SSL3_0.to_string(), "SSL 3.0");
    assert_eq!(TlsVersion::TLS1_0.to_string(), "TLS 1.0");
    assert_eq!(
        TlsVersion::from_wire(0x7a7a).to_string(),
        "TLS version 0x7a7a"
    );
    assert_eq!(TlsVersion::TLS1_2.wire(), 0x0303);
}
