//! Input generators shared by the matchers' property tests.

use std::fmt::Debug;

use proptest::prelude::*;

use crate::conformance::check_route_chunking;
use crate::matcher::{Matcher, Verdict};

/// A valid message, then up to 16 arbitrary bytes, with one byte anywhere
/// overwritten: inputs that get deep into a parser before breaking it,
/// which uniformly random bytes rarely do.
pub(crate) fn near_miss(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        valid,
        prop::collection::vec(any::<u8>(), 0..16),
        any::<(prop::sample::Index, u8)>(),
    )
        .prop_map(|(mut data, tail, (at, byte))| {
            data.extend(tail);
            let at = at.index(data.len());
            data[at] = byte;
            data
        })
}

/// Asserts that `matcher` says `want` on `seen` and, when `want` is
/// `Match`, `NeedMore` on every strict prefix: it matches at the last byte
/// of `seen` and not before.
pub(crate) fn assert_decides(matcher: &dyn Matcher, seen: &[u8], want: Verdict) {
    assert_eq!(matcher.verdict(seen), want, "{seen:02x?}");
    if want == Verdict::Match {
        for length in 0..seen.len() {
            let verdict = matcher.verdict(&seen[..length]);
            assert_eq!(verdict, Verdict::NeedMore, "{length} of {seen:02x?}");
        }
    }
}

/// A client's first bytes for each built-in matcher's protocol, named as
/// in [`builtin_matchers`]: real captures where the crate has them.
pub(crate) const OPENINGS: [(&str, &[u8]); 13] = [
    (
        "tls",
        &[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ],
    ),
    ("ssh", b"SSH-2.0-OpenSSH_9.6\r\n"),
    ("http1", b"GET / HTTP/1.1\r\n"),
    ("http2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("socks5", &[0x05, 0x01, 0x00]),
    (
        "socks4",
        &[0x04, 0x01, 0x00, 0x50, 0x7f, 0x00, 0x00, 0x01, 0x00],
    ),
    (
        "postgres",
        &[0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f],
    ),
    (
        "mqtt",
        b"\x10\x18\x00\x04MQTT\x04\x02\x00\x3c\x00\x0cconnmux-test",
    ),
    ("redis", b"*1\r\n$4\r\nPING\r\n"),
    (
        "openvpn",
        include_bytes!("openvpn/openvpn-2.6.14-plain.bin"),
    ),
    ("rdp", include_bytes!("rdp/xfreerdp-2.11.7-nla.bin")),
    ("tinc", b"0 connmux_test 17\n"),
    ("adb", include_bytes!("adb/adb-1.0.41.bin")),
];

/// The built-in matchers of the protocols in [`OPENINGS`], by name.
pub(crate) fn builtin_matchers() -> Vec<(&'static str, Box<dyn Matcher>)> {
    use crate::matchers::{
        adb, http1_fast, http2_preface, mqtt, openvpn, postgres, rdp, redis, socks4, socks5, ssh,
        tinc, tls,
    };
    vec![
        ("tls", Box::new(tls())),
        ("ssh", Box::new(ssh())),
        ("http1", Box::new(http1_fast())),
        ("http2", Box::new(http2_preface())),
        ("socks5", Box::new(socks5())),
        ("socks4", Box::new(socks4())),
        ("postgres", Box::new(postgres())),
        ("mqtt", Box::new(mqtt())),
        ("redis", Box::new(redis())),
        ("openvpn", Box::new(openvpn())),
        ("rdp", Box::new(rdp())),
        ("tinc", Box::new(tinc())),
        ("adb", Box::new(adb())),
    ]
}

/// The built-in matchers of [`builtin_matchers`] as a route table, in
/// that order.
pub(crate) fn builtin_routes() -> Vec<Box<dyn Matcher>> {
    builtin_matchers()
        .into_iter()
        .map(|(_, matcher)| matcher)
        .collect()
}

/// Asserts that the built-in matcher `name` and the others keep apart: it
/// says `NoMatch` on every other protocol's opening within its first
/// `within` bytes, and no other built-in matcher takes any of `captures`
/// (this protocol's openings) at their end.
pub(crate) fn assert_apart(name: &str, within: usize, captures: &[&[u8]]) {
    let matchers = builtin_matchers();
    let (_, matcher) = matchers
        .iter()
        .find(|(own, _)| *own == name)
        .expect("a built-in matcher's name");
    for (other, opening) in OPENINGS.into_iter().filter(|(other, _)| *other != name) {
        let start = &opening[..opening.len().min(within)];
        assert_eq!(
            matcher.verdict(start),
            Verdict::NoMatch,
            "{name} on {other}"
        );
    }
    for (other, matcher) in matchers.iter().filter(|(other, _)| *other != name) {
        for capture in captures {
            assert!(
                !matcher.matches_at_end(capture),
                "{other} on {capture:02x?}"
            );
        }
    }
}

/// Asserts that `matcher` says `want` on `seen` and `NeedMore` on every
/// strict prefix: it decides at the last byte of `seen`, whichever way.
pub(crate) fn assert_decides_at_last_byte(matcher: &dyn Matcher, seen: &[u8], want: Verdict) {
    assert_eq!(
        matcher.verdict(seen),
        want,
        "{:?}",
        String::from_utf8_lossy(seen)
    );
    for length in 0..seen.len() {
        let verdict = matcher.verdict(&seen[..length]);
        assert_eq!(verdict, Verdict::NeedMore, "{length} of {seen:02x?}");
    }
}

/// Asserts that once `extract` gives a value on a prefix of `data`, it
/// gives the same value on every longer prefix.
pub(crate) fn assert_settles<'a, T: PartialEq + Debug>(
    data: &'a [u8],
    extract: impl Fn(&'a [u8]) -> Option<T>,
) {
    let mut settled: Option<(usize, T)> = None;
    for length in 0..=data.len() {
        let value = extract(&data[..length]);
        match (&settled, value) {
            (Some((first, decided)), value) => assert_eq!(
                value.as_ref(),
                Some(decided),
                "changed between {first} and {length} bytes of {data:02x?}"
            ),
            (None, Some(value)) => settled = Some((length, value)),
            (None, None) => {}
        }
    }
}

/// Asserts that the built-in matchers of [`builtin_routes`], as a route
/// table, route `data` the same whole and in reads of `chunk_sizes`.
pub(crate) fn assert_builtin_routes_chunking(data: &[u8], chunk_sizes: &[usize]) {
    if let Err(violation) = check_route_chunking(&builtin_routes(), data, chunk_sizes) {
        panic!("{violation}");
    }
}
