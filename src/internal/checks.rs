//! The checks every fuzz target shares, as the matchers' own tests call
//! them: thin wrappers over the public conformance kit
//! ([`crate::conformance`]) that panic with its report, and take read sizes
//! as bytes (byte `b` a read of `b + 1` bytes) as a fuzzer gives them; and
//! an extraction function settles.

use std::fmt::Debug;

use crate::conformance::{self, read_sizes, routes_agree, Conformance, FUZZ_EVERY_PREFIX_UP_TO};
use crate::matcher::{Matcher, Verdict};

/// The decision on `data` taken whole, as the sniffer would if it all
/// arrived in one read and then the input ended.
pub fn decide_whole(routes: &[Box<dyn Matcher>], data: &[u8]) -> Option<usize> {
    conformance::decide_whole(routes, data)
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
    conformance::decide_chunked(routes, data, read_sizes(chunk_sizes)).0
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
    let shown = || read_sizes(chunk_sizes).take(chunk_sizes.len()).collect();
    if let Err(violation) = routes_agree(routes, data, || read_sizes(chunk_sizes), shown) {
        panic!("{violation}");
    }
}

/// The prefix lengths of an input of `length` bytes the harnesses look at:
/// all of the first 64, then a spread, then the whole.
pub(super) fn prefix_lengths(length: usize) -> impl Iterator<Item = usize> {
    conformance::prefix_lengths(length, FUZZ_EVERY_PREFIX_UP_TO)
}

/// Asserts that once `matcher` decides on a prefix of `data` it keeps that
/// verdict on every longer prefix, and that its end answer agrees with a
/// final verdict, without panicking ([`Conformance::check_fuzz_input`]'s
/// prefixes); `index` names the matcher in the panic message.
///
/// The matchers' own property tests call it on generated input.
pub fn check_monotone(index: usize, matcher: &dyn Matcher, data: &[u8]) {
    if let Err(violation) = Conformance::new(matcher).check_prefixes(data, FUZZ_EVERY_PREFIX_UP_TO)
    {
        panic!("route {index}: {violation}");
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
