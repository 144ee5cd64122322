//! Tests of the ClientHello fingerprint: GREASE; real clients' JA3 and
//! JA4 as reference implementations computed them; the lists read from
//! generated ClientHellos split into any records; the extensions only a
//! fingerprint reads; and the fingerprint matchers' verdicts.

use super::clients::{CHROMIUM, GO_CRYPTO_TLS, PYTHON_SSL};
use super::*;
use crate::conformance::Conformance;
use crate::internal::check_fingerprint;
use crate::matcher::Matcher;
use crate::matchers::tls::tests::{
    alpn, decided_at, end_of, extension, handshake, handshake_message, hello, into_records,
    server_name, supported_versions, CURL_TLS13, OPENSSL_NO_SNI, OPENSSL_TLS12, OPENSSL_TLS13,
};
use crate::matchers::tls::{
    client_hello_info, tls, tls_ja3, tls_ja4, EXTENSION_EC_POINT_FORMATS, EXTENSION_KEY_SHARE,
    EXTENSION_SIGNATURE_ALGORITHMS, EXTENSION_SUPPORTED_GROUPS,
};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use Verdict::{Match, NoMatch};

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

/// Every real ClientHello here, with its JA3 and JA4 as four reference
/// implementations computed them from the same bytes (each wrapped in a
/// pcap of one TCP connection): JA3 by tshark 4.0.17's
/// `tls.handshake.ja3` and by Salesforce's `ja3` 1.0.0 (PyPI `pyja3`),
/// JA4 by FoxIO's `python/ja4.py` (FoxIO-LLC/ja4 at 0e54bc8, over tshark
/// 4.0.17) and by `ja4plus` 1.4.0. They agreed with each other on every
/// value, and on `ja3_string` and `ja4_r`.
fn references() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        (
            "openssl TLS 1.3",
            OPENSSL_TLS13.to_vec(),
            "5a1edc7f170af1014fc65c994878e63c",
            "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4",
        ),
        (
            "openssl TLS 1.2",
            OPENSSL_TLS12.to_vec(),
            "22558766122974704364c9c75c5cce0a",
            "t12d2808h2_d943125447b4_e7e480e5a997",
        ),
        (
            "curl",
            CURL_TLS13.to_vec(),
            "0149f47eabf9a20d0893e2a44e5a6323",
            "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6",
        ),
        (
            "openssl without SNI or ALPN",
            OPENSSL_NO_SNI.to_vec(),
            "c216e752cae6f8755fd27f561d031636",
            "t13i310900_e8f1e7e78f70_1f22a2ca17c4",
        ),
        (
            "Python ssl",
            unhex(PYTHON_SSL),
            "93c7d42c0df602fb91589311534831f5",
            "t13d181100_85036bcba153_d41ae481755e",
        ),
        (
            "Go crypto/tls",
            unhex(GO_CRYPTO_TLS),
            "3fed133de60c35724739b913924b6c24",
            "t13d1910h2_9dc949149365_97f8aa674fd9",
        ),
        (
            "Chromium",
            unhex(CHROMIUM),
            "2dc05959ef748bdfc2dc82e53cd78859",
            "t13d1517h2_8daaf6152771_cb7bf5808d99",
        ),
    ]
}

fn fingerprint_of(wire: &[u8]) -> ClientHelloFingerprint {
    client_hello_fingerprint(wire).expect("a whole ClientHello")
}

#[test]
fn grease_is_the_sixteen_values_of_rfc_8701() {
    let grease: Vec<u16> = (0..=u16::MAX).filter(|&code| is_grease(code)).collect();
    let want: Vec<u16> = (0..16)
        .map(|nibble| 0x0a0a | nibble << 12 | nibble << 4)
        .collect();
    assert_eq!(grease, want);
    assert_eq!(want.first(), Some(&0x0a0a));
    assert_eq!(want.last(), Some(&0xfafa));
}

#[test]
fn real_client_hellos_have_the_references_fingerprints() {
    for (name, wire, ja3, ja4) in references() {
        let fingerprint = fingerprint_of(&wire);
        assert_eq!(fingerprint.ja3(), ja3, "{name}");
        assert_eq!(fingerprint.ja4(), ja4, "{name}");
        assert_eq!(client_hello_fingerprint(&wire[..wire.len() - 1]), None);
    }
    // The unhashed forms, from the same references, for two of them.
    let go = fingerprint_of(&unhex(GO_CRYPTO_TLS));
    assert_eq!(
        go.ja3_string(),
        "771,49195-49199-49196-49200-52393-52392-49161-49171-49162-49172-156-157-47-53-49170-10-\
         4865-4866-4867,0-5-10-11-13-65281-16-18-43-51,29-23-24-25,0"
    );
    assert_eq!(
        go.ja4_r(),
        "t13d1910h2_000a,002f,0035,009c,009d,1301,1302,1303,c009,c00a,c012,c013,c014,c02b,c02c,\
         c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,002b,0033,ff01_0804,0403,0807,0805,0806,\
         0401,0501,0601,0503,0603,0201,0203"
    );
    let chromium = fingerprint_of(&unhex(CHROMIUM));
    assert_eq!(
        chromium.ja3_string(),
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
         18-43-45-17613-51-23-27-5-35-51764-16-13-10-0-11-65281-65037,4588-29-23-24,0"
    );
    assert_eq!(
        chromium.ja4_r(),
        "t13d1517h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_\
         0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,ca34,fe0d,ff01_\
         0904,0905,0906,0403,0804,0401,0503,0805,0501,0806,0601"
    );
}

/// Every TLS capture in `tests/fixtures/` has the `ja3=` and `ja4=` that
/// `capture.py` had the reference implementations (Salesforce's `ja3`,
/// FoxIO's `ja4plus`, both installed from PyPI) compute when it made the
/// file.
#[test]
fn every_tls_capture_has_the_fingerprints_the_references_computed() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let manifest = std::fs::read_to_string(fixtures.join("MANIFEST")).expect("MANIFEST");
    let mut checked = 0;
    for line in manifest.lines().filter(|line| !line.starts_with('#')) {
        let mut columns = line.split('\t');
        let (Some(file), Some("tls"), Some(details)) =
            (columns.next(), columns.next(), columns.next())
        else {
            continue;
        };
        let fact = |key: &str| {
            details
                .split(' ')
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("{file}: no {key}= in MANIFEST"))
        };
        let wire = std::fs::read(fixtures.join(file)).expect("a capture");
        let fingerprint = fingerprint_of(&wire);
        assert_eq!(fingerprint.ja3(), fact("ja3"), "{file}");
        assert_eq!(fingerprint.ja4(), fact("ja4"), "{file}");
        checked += 1;
    }
    // curl, openssl (TLS 1.2 and 1.3), Python's ssl and Go's crypto/tls.
    assert!(checked >= 5, "only {checked} TLS captures");
}

#[test]
fn the_lists_of_a_real_client_hello() {
    // Go's, each list as tshark 4.0.17 dissects it.
    let go = fingerprint_of(&unhex(GO_CRYPTO_TLS));
    let want = ClientHelloFingerprint {
        record_version: TlsVersion::TLS1_0,
        legacy_version: TlsVersion::TLS1_2,
        cipher_suites: vec![
            0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014, 0x009c,
            0x009d, 0x002f, 0x0035, 0xc012, 0x000a, 0x1301, 0x1302, 0x1303,
        ],
        extensions: vec![
            0x0000, 0x0005, 0x000a, 0x000b, 0x000d, 0xff01, 0x0010, 0x0012, 0x002b, 0x0033,
        ],
        supported_groups: vec![0x001d, 0x0017, 0x0018, 0x0019],
        ec_point_formats: vec![0],
        signature_algorithms: vec![
            0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603, 0x0201,
            0x0203,
        ],
        key_share_groups: vec![0x001d],
        supported_versions: vec![0x0304, 0x0303],
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    };
    assert_eq!(go, want);
    assert!(go.has_server_name());
}

#[test]
fn chromium_sends_grease_which_the_lists_keep_and_the_fingerprints_leave_out() {
    let chromium = fingerprint_of(&unhex(CHROMIUM));
    // As tshark 4.0.17 dissects them: GREASE first in every list but the
    // extensions, which also end with one; 0x11ec is X25519MLKEM768.
    assert_eq!(
        chromium.supported_groups,
        [0x9a9a, 0x11ec, 0x001d, 0x0017, 0x0018]
    );
    assert_eq!(chromium.key_share_groups, [0x9a9a, 0x11ec, 0x001d]);
    assert_eq!(chromium.supported_versions, [0x5a5a, 0x0304, 0x0303]);
    assert_eq!(chromium.signature_algorithms[..2], [0x6a6a, 0x0904]);
    assert_eq!(chromium.cipher_suites[..2], [0x0a0a, 0x1301]);
    let extensions = &chromium.extensions;
    assert!(is_grease(extensions[0]) && is_grease(extensions[extensions.len() - 1]));
    let grease_count = |codes: &[u16]| codes.iter().filter(|&&code| is_grease(code)).count();
    assert_eq!(grease_count(extensions), 2);
    assert_eq!(grease_count(&chromium.cipher_suites), 1);
    // 17 extensions without GREASE, 15 cipher suites: t13d1517h2.
    assert_eq!(extensions.len(), 19);
    assert_eq!(chromium.cipher_suites.len(), 16);
    assert!(!chromium.ja3_string().contains("2570"));
}

#[test]
fn fingerprints_agree_with_the_info_and_ignore_record_boundaries() {
    for (name, wire, _, _) in references() {
        let fingerprint = fingerprint_of(&wire);
        let info = client_hello_info(&wire).unwrap();
        let alpn: Vec<String> = fingerprint
            .alpn
            .iter()
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        assert_eq!(alpn, info.alpn, "{name}");
        assert_eq!(fingerprint.has_server_name(), info.sni.is_some(), "{name}");
        for sizes in [&[1][..], &[7], &[2, 300]] {
            let split = into_records(&handshake_message(&wire), sizes);
            let mut resplit = fingerprint_of(&split);
            assert_eq!(resplit.record_version, TlsVersion::TLS1_0);
            resplit.record_version = fingerprint.record_version;
            assert_eq!(resplit, fingerprint, "{name} in records of {sizes:?}");
        }
    }
}

#[test]
fn the_matchers_decide_at_the_end_of_the_client_hello() {
    // Every prefix of every hello is judged: under miri, one is enough.
    let references = references();
    let references = if cfg!(miri) {
        &references[..1]
    } else {
        &references[..]
    };
    for &(name, ref wire, ja3, ja4) in references {
        let end = wire.len();
        let cases = [
            (decided_at(&tls_ja4([ja4]), wire), Match),
            (
                decided_at(
                    &tls_ja4(["t13d1516h2_8daaf6152771_e5627efa2ab1", ja4]),
                    wire,
                ),
                Match,
            ),
            (
                decided_at(&tls_ja4(["t13d1516h2_8daaf6152771_e5627efa2ab1"]), wire),
                NoMatch,
            ),
            (
                decided_at(&tls_ja4([ja4.to_ascii_uppercase()]), wire),
                NoMatch,
            ),
            (
                decided_at(&tls_ja3([ja3.to_ascii_uppercase()]), wire),
                Match,
            ),
            (
                decided_at(&tls_ja3(["0123456789abcdef0123456789abcdef"]), wire),
                NoMatch,
            ),
            (decided_at(&tls_ja3([""; 0]), wire), NoMatch),
        ];
        for (index, (decided, want)) in cases.into_iter().enumerate() {
            assert_eq!(decided, (end, want), "{name}, case {index}");
        }
    }
    // Not TLS: decided at the first byte.
    let any_ja4 = tls_ja4(["t13d1516h2_8daaf6152771_e5627efa2ab1"]);
    assert_eq!(decided_at(&any_ja4, b"GET / HTTP/1.1\r\n"), (1, NoMatch));
    assert_eq!(decided_at(&tls_ja3(["x"]), b"SSH-2.0-x\r\n"), (1, NoMatch));
}

#[test]
fn extensions_only_a_fingerprint_reads_must_be_well_formed() {
    // Each case: the first extension (written out), and the index in it
    // of the first byte that makes it invalid. Routing, which skips
    // these extensions, still sees a valid ClientHello.
    let cases: &[(&str, &[u8], usize)] = &[
        (
            "odd supported_groups list",
            &[0x00, 0x0a, 0x00, 0x05, 0x00, 0x03, 0x00, 0x1d, 0x00],
            5,
        ),
        (
            "supported_groups list shorter than the extension",
            &[0x00, 0x0a, 0x00, 0x06, 0x00, 0x02, 0x00, 0x1d, 0x00, 0x17],
            5,
        ),
        (
            "empty supported_groups list",
            &[0x00, 0x0a, 0x00, 0x02, 0x00, 0x00],
            5,
        ),
        (
            "empty ec_point_formats list",
            &[0x00, 0x0b, 0x00, 0x01, 0x00],
            4,
        ),
        (
            "ec_point_formats list past the extension",
            &[0x00, 0x0b, 0x00, 0x02, 0x02, 0x00],
            4,
        ),
        (
            "odd signature_algorithms list",
            &[0x00, 0x0d, 0x00, 0x05, 0x00, 0x03, 0x04, 0x03, 0x01],
            5,
        ),
        (
            "key share without a key",
            &[0x00, 0x33, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x00],
            9,
        ),
        (
            "key past the client_shares list",
            &[
                0x00, 0x33, 0x00, 0x07, 0x00, 0x05, 0x00, 0x1d, 0x00, 0x02, 0xaa,
            ],
            9,
        ),
        (
            "client_shares list shorter than the extension",
            &[0x00, 0x33, 0x00, 0x04, 0x00, 0x01, 0x00, 0x1d],
            5,
        ),
    ];
    let any_ja4 = tls_ja4(["t13d1516h2_8daaf6152771_e5627efa2ab1"]);
    for &(name, first_extension, bad_at) in cases {
        let wire = hello(&[first_extension.to_vec()]);
        let start = wire.len() - first_extension.len();
        assert_eq!(
            decided_at(&any_ja4, &wire),
            (start + bad_at + 1, NoMatch),
            "{name}"
        );
        assert_eq!(client_hello_fingerprint(&wire), None, "{name}");
        assert!(client_hello_info(&wire).is_some(), "{name}");
        assert_eq!(tls().verdict(&wire), Match, "{name}");
    }
    // Each of them twice is invalid at the end of the second's header.
    for extension_type in [
        EXTENSION_SUPPORTED_GROUPS,
        EXTENSION_EC_POINT_FORMATS,
        EXTENSION_SIGNATURE_ALGORITHMS,
        EXTENSION_KEY_SHARE,
    ] {
        let first = well_formed(extension_type);
        let wire = hello(&[first.clone(), first.clone()]);
        let second_header_end = end_of(&wire, &first) + 4;
        assert_eq!(
            decided_at(&any_ja4, &wire),
            (second_header_end, NoMatch),
            "{extension_type}"
        );
        assert!(client_hello_info(&wire).is_some());
    }
    // An empty client_shares list is valid: the client asks the server
    // to choose (RFC 8446 section 4.2.8).
    let wire = hello(&[extension(EXTENSION_KEY_SHARE, &[0x00, 0x00])]);
    assert_eq!(fingerprint_of(&wire).key_share_groups, []);
}

/// A short, valid extension of one of the types a fingerprint reads.
fn well_formed(extension_type: u16) -> Vec<u8> {
    match extension_type {
        EXTENSION_SUPPORTED_GROUPS => code_list(EXTENSION_SUPPORTED_GROUPS, &[0x001d]),
        EXTENSION_EC_POINT_FORMATS => point_formats(&[0]),
        EXTENSION_SIGNATURE_ALGORITHMS => code_list(EXTENSION_SIGNATURE_ALGORITHMS, &[0x0403]),
        _ => key_share(&[0x001d]),
    }
}

/// An extension whose body is a list of two-byte codes with a two-byte
/// length: supported_groups, signature_algorithms.
fn code_list(extension_type: u16, codes: &[u16]) -> Vec<u8> {
    let mut body = ((codes.len() * 2) as u16).to_be_bytes().to_vec();
    body.extend(codes.iter().flat_map(|code| code.to_be_bytes()));
    extension(extension_type, &body)
}

fn point_formats(formats: &[u8]) -> Vec<u8> {
    let body = [&[formats.len() as u8][..], formats].concat();
    extension(EXTENSION_EC_POINT_FORMATS, &body)
}

/// A key_share extension with a share of `group` for each group, its key
/// as long as the group's low byte (at least 1).
fn key_share(groups: &[u16]) -> Vec<u8> {
    let shares: Vec<u8> = groups
        .iter()
        .flat_map(|&group| {
            let key_length = usize::from(group.to_be_bytes()[1].max(1));
            let mut share = group.to_be_bytes().to_vec();
            share.extend((key_length as u16).to_be_bytes());
            share.extend(vec![0x42; key_length]);
            share
        })
        .collect();
    let body = [&(shares.len() as u16).to_be_bytes()[..], &shares].concat();
    extension(EXTENSION_KEY_SHARE, &body)
}

/// A ClientHello handshake message with these cipher suites and
/// extensions.
fn client_hello_message(legacy: u16, cipher_suites: &[u16], extensions: &[u8]) -> Vec<u8> {
    let mut body = legacy.to_be_bytes().to_vec();
    body.extend([0x5a; 32]);
    body.push(0);
    body.extend(((cipher_suites.len() * 2) as u16).to_be_bytes());
    body.extend(cipher_suites.iter().flat_map(|code| code.to_be_bytes()));
    body.extend([0x01, 0x00]);
    body.extend((extensions.len() as u16).to_be_bytes());
    body.extend(extensions);
    handshake(&body)
}

/// Codes a client may send, GREASE among them.
fn codes() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => any::<u16>(),
        1 => (0u16..16).prop_map(|nibble| 0x0a0a | nibble << 12 | nibble << 4),
        1 => select(vec![0x0000u16, 0x0010, 0x1301, 0x0303, 0x0304, 0x001d]),
    ]
}

/// Real ClientHellos for the no-panic properties: under miri, which
/// judges some hundred prefixes of each input, only the shortest.
fn real_client_hellos() -> Vec<Vec<u8>> {
    if cfg!(miri) {
        return vec![OPENSSL_TLS12.to_vec()];
    }
    references()
        .into_iter()
        .map(|(_, wire, _, _)| wire)
        .collect()
}

/// A valid message, or the start of one, for arbitrary bytes to follow.
fn arbitrary_client_hello_start() -> impl Strategy<Value = Vec<u8>> {
    let real = real_client_hellos();
    prop_oneof![
        Just(Vec::new()),
        select(real.clone()).prop_map(|wire| wire[..wire.len() / 2].to_vec()),
        select(real),
    ]
}

/// Fingerprint matchers of every kind, for the monotonicity checks.
fn sample_matchers() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(tls_ja4(["t13d3111h2_e8f1e7e78f70_1f22a2ca17c4"])),
        Box::new(tls_ja4(["t13d1516h2_8daaf6152771_e5627efa2ab1"])),
        Box::new(tls_ja3(["5a1edc7f170af1014fc65c994878e63c"])),
        Box::new(tls_ja3(["0123456789abcdef0123456789abcdef"])),
    ]
}

/// What the fingerprint of `data` must agree with, when it has one: the
/// check the `tls_client_hello` fuzz target makes.
fn check_against_routing(data: &[u8]) {
    if let Some(fingerprint) = client_hello_fingerprint(data) {
        check_fingerprint(data, &fingerprint, client_hello_info(data).as_ref());
    }
}

proptest! {
    #[test]
    fn generated_client_hellos_give_back_their_lists(
        cipher_suites in prop::collection::vec(codes(), 1..40),
        groups in prop::collection::vec(codes(), 1..8),
        formats in prop::collection::vec(any::<u8>(), 1..4),
        algorithms in prop::collection::vec(codes(), 1..12),
        shares in prop::collection::vec(codes(), 0..3),
        versions in prop::collection::vec(codes(), 1..4),
        protocols in prop::collection::vec(
            select(vec![&b"h2"[..], b"http/1.1", b"\x0a\x0a", b"a b", b"x"]), 1..3),
        present in any::<[bool; 7]>(),
        grease_extension in (0u16..16).prop_map(|nibble| 0x0a0a | nibble << 12 | nibble << 4),
        sizes in prop::collection::vec(1usize..=300, 1..4),
    ) {
        let mut extensions = Vec::new();
        let parts: [(u16, Vec<u8>); 7] = [
            (grease_extension, extension(grease_extension, &[])),
            (0x0000, server_name(b"a.example.com")),
            (EXTENSION_SUPPORTED_GROUPS, code_list(EXTENSION_SUPPORTED_GROUPS, &groups)),
            (EXTENSION_EC_POINT_FORMATS, point_formats(&formats)),
            (EXTENSION_SIGNATURE_ALGORITHMS, code_list(EXTENSION_SIGNATURE_ALGORITHMS, &algorithms)),
            (0x0010, alpn(&protocols)),
            (EXTENSION_KEY_SHARE, key_share(&shares)),
        ];
        let mut types = Vec::new();
        for ((extension_type, bytes), sent) in parts.into_iter().zip(present) {
            if sent {
                types.push(extension_type);
                extensions.extend(bytes);
            }
        }
        types.push(0x002b);
        extensions.extend(supported_versions(&versions));
        let message = client_hello_message(0x0303, &cipher_suites, &extensions);
        let wire = into_records(&message, &sizes);

        let fingerprint = fingerprint_of(&wire);
        let sent = |index: usize| present[index];
        let want = ClientHelloFingerprint {
            record_version: TlsVersion::TLS1_0,
            legacy_version: TlsVersion::TLS1_2,
            cipher_suites: cipher_suites.clone(),
            extensions: types.clone(),
            supported_groups: if sent(2) { groups.clone() } else { Vec::new() },
            ec_point_formats: if sent(3) { formats.clone() } else { Vec::new() },
            signature_algorithms: if sent(4) { algorithms.clone() } else { Vec::new() },
            key_share_groups: if sent(6) { shares.clone() } else { Vec::new() },
            supported_versions: versions.clone(),
            alpn: if sent(5) { protocols.iter().map(|name| name.to_vec()).collect() } else { Vec::new() },
        };
        prop_assert_eq!(&fingerprint, &want);

        // JA3 the obvious way.
        let decimal = |codes: &[u16]| codes.iter().filter(|&&code| !is_grease(code))
            .map(u16::to_string).collect::<Vec<_>>().join("-");
        let format_list: Vec<u16> = want.ec_point_formats.iter().map(|&format| u16::from(format)).collect();
        let naive_ja3 = format!("771,{},{},{},{}",
            decimal(&cipher_suites), decimal(&types), decimal(&want.supported_groups),
            format_list.iter().map(u16::to_string).collect::<Vec<_>>().join("-"));
        prop_assert_eq!(fingerprint.ja3_string(), naive_ja3);

        check_against_routing(&wire);
        for matcher in &sample_matchers() {
            Conformance::new(matcher.as_ref()).fuzz(&wire);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_decided(
        start in arbitrary_client_hello_start(),
        tail in prop::collection::vec(any::<u8>(), 0..if cfg!(miri) { 16 } else { 400 }),
    ) {
        let data = [start, tail].concat();
        for matcher in &sample_matchers() {
            Conformance::new(matcher.as_ref()).fuzz(&data);
        }
        check_against_routing(&data);
    }

    #[test]
    fn mutated_real_client_hellos_never_panic_and_stay_decided(
        wire in select(real_client_hellos()),
        sizes in prop::collection::vec(1usize..60, 1..4),
        mutations in prop::collection::vec((any::<Index>(), any::<u8>()), 1..4),
    ) {
        let mut data = into_records(&handshake_message(&wire), &sizes);
        for (position, byte) in mutations {
            let at = position.index(data.len());
            data[at] = byte;
        }
        for matcher in &sample_matchers() {
            Conformance::new(matcher.as_ref()).fuzz(&data);
        }
        check_against_routing(&data);
    }
}
