//! The checks every fuzz target shares: a matcher is prefix-monotone and
//! agrees with its end-of-input answer, an extraction function settles, and
//! a route decision is the same whole and in chunks, taken the way the
//! sniffer takes it (`sniff::decide`, paced by `sniff::pace`).

use std::fmt::Debug;

use crate::address::Addresses;
use crate::matcher::{Matcher, Verdict};
use crate::sniff::decide::{Decision, Opening, RouteDecider};
use crate::sniff::pace::Pace;

/// The decision on `data` taken whole, as the sniffer would if it all
/// arrived in one read and then the input ended.
pub fn decide_whole(routes: &[Box<dyn Matcher>], data: &[u8]) -> Option<usize> {
    let mut decider = RouteDecider::new(routes, &Addresses::UNKNOWN);
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
    let opening = Opening::of(routes, &Addresses::UNKNOWN);
    let mut decider = RouteDecider::opened(routes, &Addresses::UNKNOWN, opening);
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

/// Checks every matcher of `routes` with [`check_monotone`], and that the
/// route decision on `data` is the same whole and in chunks whose sizes
/// come from the data itself.
pub fn check_route_table(routes: &[Box<dyn Matcher>], data: &[u8]) {
    for (index, matcher) in routes.iter().enumerate() {
        check_monotone(index, matcher.as_ref(), data);
    }
    check_chunking(routes, data, data);
}

/// Asserts that the route decision on `data` is the same whole and in
/// chunks whose sizes come from `chunk_sizes`.
pub fn check_chunking(routes: &[Box<dyn Matcher>], data: &[u8], chunk_sizes: &[u8]) {
    let whole = decide_whole(routes, data);
    let chunked = decide_chunked(routes, data, chunk_sizes);
    assert_eq!(
        whole, chunked,
        "chunking {chunk_sizes:?} changed the route for {data:02x?}"
    );
}

/// The prefix lengths of an input of `length` bytes the harnesses look at:
/// all of the first 64, then a spread, then the whole.
pub(super) fn prefix_lengths(length: usize) -> impl Iterator<Item = usize> {
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
pub(crate) fn check_settles<T: PartialEq + Debug>(
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
pub(super) fn verdicts(routes: &[Box<dyn Matcher>], data: &[u8]) -> Vec<Verdict> {
    routes.iter().map(|matcher| matcher.verdict(data)).collect()
}

/// Whether a string extracted with `from_utf8_lossy` is the bytes that
/// were sent, so a matcher built from it must see the same bytes.
pub(super) fn is_exact_text(text: &str) -> bool {
    !text.contains(char::REPLACEMENT_CHARACTER)
}
