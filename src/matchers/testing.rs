//! Input generators shared by the matchers' property tests.

use std::fmt::Debug;

use proptest::prelude::*;

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
