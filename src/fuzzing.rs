//! Fuzzing harnesses: invariant checks over arbitrary input, shared by the
//! `fuzz/` crate (cargo-fuzz targets call them) and by
//! `tests/fuzz_corpus.rs` (which replays the seed corpus on stable Rust).
//!
//! A harness panics only when an invariant breaks; that panic is the
//! finding. Not part of the stable API.

use crate::decide::{Decision, RouteDecider};
use crate::matcher::{Matcher, Verdict};
use crate::matchers::{
    any, client_hello_version, http1_fast, http2_preface, prefixes, tls, tls_versions, TlsVersion,
};
use crate::{all_of, any_of, not};

/// The route table the route-decision harness uses: every built-in matcher
/// and combinator, in an order where each can win.
pub fn standard_routes() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(http2_preface()),
        Box::new(http1_fast()),
        Box::new(tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)),
        Box::new(tls()),
        Box::new(prefixes([&b"SSH-"[..], &[0x05][..], &[0x04, 0x01][..]])),
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
        Decision::Undecided => match decider.decide_at_end(data) {
            Decision::Route(index) => Some(index),
            Decision::NoRoute | Decision::Undecided => None,
        },
    }
}

/// The decision on `data` arriving in chunks whose sizes come from
/// `chunk_sizes` (cycled), as the sniffer takes it read by read.
pub fn decide_chunked(
    routes: &[Box<dyn Matcher>],
    data: &[u8],
    chunk_sizes: &[u8],
) -> Option<usize> {
    let mut decider = RouteDecider::new(routes);
    let mut sizes = chunk_sizes.iter().map(|&s| usize::from(s) + 1).cycle();
    let mut seen = 0;
    loop {
        match decider.decide(&data[..seen]) {
            Decision::Route(index) => return Some(index),
            Decision::NoRoute => return None,
            Decision::Undecided if seen == data.len() => break,
            Decision::Undecided => seen = (seen + sizes.next().unwrap_or(1)).min(data.len()),
        }
    }
    match decider.decide_at_end(data) {
        Decision::Route(index) => Some(index),
        Decision::NoRoute | Decision::Undecided => None,
    }
}

/// Checks, on `data`: every route's matcher is prefix-monotone and agrees
/// with its own end-of-input answer; the route decision is the same in
/// one piece and in chunks (sizes taken from the data itself); nothing
/// panics.
pub fn route_decision(data: &[u8]) {
    let routes = standard_routes();
    for (index, matcher) in routes.iter().enumerate() {
        check_monotone(index, matcher.as_ref(), data);
    }
    let whole = decide_whole(&routes, data);
    let chunked = decide_chunked(&routes, data, data);
    assert_eq!(whole, chunked, "chunking changed the route for {data:02x?}");
    let _ = client_hello_version(data);
}

/// Asserts that once `matcher` decides on a prefix of `data` it keeps that
/// verdict on every longer prefix, and that its end answer agrees with a
/// final verdict.
pub fn check_monotone(index: usize, matcher: &dyn Matcher, data: &[u8]) {
    // Prefix lengths to check: all of the first 64, then a spread.
    let step = (data.len() / 64).max(1);
    let lengths = (0..=data.len().min(64))
        .chain((64..=data.len()).step_by(step))
        .chain([data.len()]);
    let mut settled: Option<(usize, Verdict)> = None;
    for length in lengths {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_standard_route_can_win() {
        let routes = standard_routes();
        let tls13_hello_prefix: &[u8] = &[
            0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03,
        ];
        let cases: &[(&[u8], Option<usize>)] = &[
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Some(0)),
            (b"GET / HTTP/1.1\r\n", Some(1)),
            (tls13_hello_prefix, Some(3)),
            (b"SSH-2.0-x", Some(4)),
            (b"*", Some(5)),
            (b"\x00\x00", Some(6)),
            (b"\x00", Some(7)),
            (b"zzz", Some(6)),
        ];
        for (data, want) in cases {
            assert_eq!(decide_whole(&routes, data), *want, "{data:02x?}");
            route_decision(data);
        }
    }
}
