//! JA4 on the examples of FoxIO's spec (`technical_details/JA4.md`) and
//! its edge cases: versions, ALPN characters, GREASE and empty lists.

use super::*;
use crate::matchers::tls::TlsVersion;

/// A TLS 1.2 ClientHello's fingerprint with one cipher suite and nothing
/// else, to change one field at a time.
fn bare() -> ClientHelloFingerprint {
    ClientHelloFingerprint {
        cipher_suites: vec![0x1301],
        ..ClientHelloFingerprint::empty(TlsVersion::TLS1_0, TlsVersion::TLS1_2)
    }
}

/// The lists of the spec's example, with GREASE values added where a
/// Chrome ClientHello has them.
fn spec_example() -> ClientHelloFingerprint {
    ClientHelloFingerprint {
        cipher_suites: vec![
            0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ],
        extensions: vec![
            0x5a5a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
            0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xeaea,
        ],
        signature_algorithms: vec![
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ],
        supported_versions: vec![0x8a8a, 0x0304, 0x0303],
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..bare()
    }
}

#[test]
fn the_spec_example() {
    let hello = spec_example();
    assert_eq!(hello.ja4(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    assert_eq!(
        hello.ja4_r(),
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9\
         _0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01\
         _0403,0804,0401,0503,0805,0501,0806,0601"
    );
    // "If there are no signature algorithms in the hello packet, then the
    // string ends without an underscore and is hashed."
    let without_signature_algorithms = ClientHelloFingerprint {
        signature_algorithms: Vec::new(),
        ..spec_example()
    };
    assert_eq!(
        without_signature_algorithms.ja4(),
        "t13d1516h2_8daaf6152771_6d807ffa2a79"
    );
}

#[test]
fn versions() {
    // (legacy version, supported_versions, version part)
    let cases: &[(u16, &[u16], &str)] = &[
        (0x0303, &[], "12"),
        (0x0301, &[], "10"),
        (0x0302, &[], "11"),
        (0x0300, &[], "s3"),
        (0x0303, &[0x0304, 0x0303], "13"),
        (0x0303, &[0x0303, 0x0304], "13"),
        (0x0303, &[0x0a0a, 0x0303], "12"),
        // Only GREASE: as if the extension were absent.
        (0x0302, &[0xfafa], "11"),
        // The highest value, even one without a name.
        (0x0303, &[0x7f1c, 0x0304], "00"),
        (0x0303, &[0xfefc], "d3"),
        (0x0303, &[0xfefd], "d2"),
        (0x0303, &[0xfeff], "d1"),
        (0x0303, &[0x0002], "s2"),
        (0x0304, &[0x0305], "00"),
    ];
    for &(legacy, supported_versions, want) in cases {
        let hello = ClientHelloFingerprint {
            legacy_version: TlsVersion::from_wire(legacy),
            supported_versions: supported_versions.to_vec(),
            ..bare()
        };
        assert_eq!(
            &hello.ja4()[1..3],
            want,
            "{legacy:04x} {supported_versions:04x?}"
        );
    }
}

#[test]
fn alpn_characters() {
    // The spec's examples, and the plain cases.
    let cases: &[(&[u8], &str)] = &[
        (b"h2", "h2"),
        (b"http/1.1", "h1"),
        (b"h3", "h3"),
        (b"x", "xx"),
        (b"acme-tls/1", "a1"),
        (&[0xab], "ab"),
        (&[0x20], "20"),
        (&[0xab, 0xcd], "ad"),
        (&[0x20, 0x61], "21"),
        (&[0x30, 0xab], "3b"),
        (&[0x61, 0x20], "60"),
        (&[0x30, 0x31, 0xab, 0xcd], "3d"),
        (&[0x30, 0xab, 0xcd, 0x31], "01"),
        (b"\x0a\x0a", "0a"),
        (b"H2", "H2"),
    ];
    for &(protocol, want) in cases {
        let hello = ClientHelloFingerprint {
            alpn: vec![protocol.to_vec(), b"h2".to_vec()],
            ..bare()
        };
        assert_eq!(&hello.ja4()[8..10], want, "{protocol:02x?}");
    }
    assert_eq!(&bare().ja4()[8..10], "00");
}

#[test]
fn counts_leave_out_grease_and_stop_at_99() {
    let hello = ClientHelloFingerprint {
        cipher_suites: (1..=150).chain([0x0a0a, 0xfafa]).collect(),
        extensions: [0x1a1a, 0x0000, 0x0010]
            .into_iter()
            .chain(100..110)
            .collect(),
        ..bare()
    };
    assert_eq!(&hello.ja4()[..10], "t12d991200");
    // server_name and ALPN count, but are not hashed.
    let only_named = ClientHelloFingerprint {
        extensions: vec![0x0010, 0x0000],
        ..bare()
    };
    // sha256("1301") = 0f2cb44170f4...
    assert_eq!(only_named.ja4(), "t12d010200_0f2cb44170f4_000000000000");
}

#[test]
fn empty_lists_hash_to_zeros() {
    let only_grease = ClientHelloFingerprint {
        cipher_suites: vec![0x2a2a],
        extensions: vec![0x0000, 0x0010, 0x3a3a],
        signature_algorithms: vec![0x4a4a],
        alpn: vec![b"h2".to_vec()],
        ..bare()
    };
    assert_eq!(only_grease.ja4(), "t12d0002h2_000000000000_000000000000");
    assert_eq!(only_grease.ja4_r(), "t12d0002h2__");
    assert_eq!(bare().ja4_r(), "t12i010000_1301_");
}

#[test]
fn grease_signature_algorithms_are_left_out() {
    let hello = ClientHelloFingerprint {
        extensions: vec![0x000d],
        signature_algorithms: vec![0x0a0a, 0x0403, 0x0804],
        ..bare()
    };
    assert_eq!(hello.ja4_r(), "t12i010100_1301_000d_0403,0804");
}

#[test]
fn the_matcher_compares_byte_for_byte() {
    let set = tls_ja4(["t13d1516h2_8daaf6152771_e5627efa2ab1", "x", "x"]);
    assert!(set
        .fingerprints
        .contains("t13d1516h2_8daaf6152771_e5627efa2ab1"));
    assert!(!set
        .fingerprints
        .contains("T13D1516H2_8DAAF6152771_E5627EFA2AB1"));
    assert!(set.fingerprints.contains("x"));
}
