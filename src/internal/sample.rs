//! The prefixes a fuzz harness judges: a bounded sample the input itself
//! steers, instead of every prefix, so that a target runs tens of
//! thousands of times a second and the fuzzer spends its time on new
//! inputs rather than on the same input's prefixes.
//!
//! A matcher or an extraction function is judged on:
//!
//! - the whole input (the final verdict, which every check compares with);
//! - the first [`SHORT_PREFIXES`] lengths, where most parsers branch;
//! - [`CHOSEN_PREFIXES`] lengths named by the input's last bytes, so that
//!   the fuzzer, mutating them, steers which prefixes are judged;
//! - the lengths a bisection visits to find the shortest decided prefix
//!   (were it not monotone, some of them disagree), and the lengths just
//!   before and after it, where a verdict given too early shows.
//!
//! That is at most about 20 judgements whatever the length, against the
//! 130 of `checks::prefix_lengths`, whose every-prefix checks the unit and
//! property tests keep.
//!
//! A harness whose checks cost too much to run all of them on every input
//! runs one family of them, which [`chosen_family`] names from the input's
//! bytes; its tests run every family on every seed (`seed_corpus`).

use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::matcher::{Matcher, Verdict};

use super::checks::check_chunking;

/// How many of the shortest prefixes (from the empty one) are judged.
const SHORT_PREFIXES: usize = 3;

/// How many prefix lengths the input's last bytes choose: two bytes each,
/// read from the end.
const CHOSEN_PREFIXES: usize = 4;

/// The lengths of the prefixes of an input of `data.len()` bytes judged
/// besides those a bisection visits: the shortest ones, the whole, and
/// [`CHOSEN_PREFIXES`] chosen by the input's last bytes.
pub(super) fn chosen_lengths(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let length = data.len();
    let chooser = move |index: usize| {
        let byte = |offset: usize| {
            data.len()
                .checked_sub(offset + 1)
                .map_or(0, |at| usize::from(data[at]))
        };
        // Mixed with the index, so that repeated bytes (a run of zeros,
        // "\r\n\r\n") still choose different lengths.
        let chosen = (byte(2 * index) << 8 | byte(2 * index + 1)) ^ (index * 0x9e37);
        chosen % (length + 1)
    };
    (0..=length.min(SHORT_PREFIXES))
        .chain([length])
        .chain((0..CHOSEN_PREFIXES).map(chooser))
}

/// What `judge` says on a sample of the prefixes of `data`, shortest
/// first: the [`chosen_lengths`], and the lengths a bisection visits to
/// find the shortest prefix whose answer `is_decided` accepts (if the
/// whole input's is), with the lengths on either side of it. The
/// bisection assumes the answers are monotone; the caller checks that on
/// the sample it returns.
fn judge_sample<T>(
    data: &[u8],
    judge: impl Fn(&[u8]) -> T,
    is_decided: impl Fn(&T) -> bool,
) -> Vec<(usize, T)> {
    let mut judged = BTreeMap::new();
    let mut decided_at = |length: usize| {
        let answer = judged
            .entry(length)
            .or_insert_with(|| judge(&data[..length]));
        is_decided(answer)
    };
    let whole = data.len();
    for length in chosen_lengths(data) {
        decided_at(length);
    }
    if decided_at(whole) {
        // Every length below `low` is undecided (if monotone), `high` is.
        let (mut low, mut high) = (0, whole);
        while low < high {
            let middle = low + (high - low) / 2;
            if decided_at(middle) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        decided_at(high.saturating_sub(1));
        decided_at((high + 1).min(whole));
    }
    judged.into_iter().collect()
}

/// Asserts that `sample` (lengths and answers, shortest first) keeps the
/// first answer `is_final` accepts on every longer prefix.
fn assert_settled<T: PartialEq + Debug>(
    what: &str,
    data: &[u8],
    sample: &[(usize, T)],
    is_final: impl Fn(&T) -> bool,
) {
    let first_final = sample.iter().find(|(_, answer)| is_final(answer));
    if let Some((first, decided)) = first_final {
        for (length, answer) in sample.iter().filter(|(length, _)| length > first) {
            assert_eq!(
                answer, decided,
                "{what}: {decided:?} at {first} bytes became {answer:?} at {length} of {data:02x?}"
            );
        }
    }
}

/// [`check_monotone`](super::check_monotone) on a sample of the prefixes:
/// once `matcher` decides on a sampled prefix of `data` it keeps that
/// verdict on every longer one; and its end answer agrees with a final
/// verdict where that matters, on the whole input and on the shortest
/// decided prefix (`index` names the matcher in the panic message).
pub(super) fn check_monotone_sampled(index: usize, matcher: &dyn Matcher, data: &[u8]) {
    let is_decided = |verdict: &Verdict| *verdict != Verdict::NeedMore;
    let sample = judge_sample(data, |prefix| matcher.verdict(prefix), is_decided);
    let first_decided = sample.iter().position(|(_, verdict)| is_decided(verdict));
    let at_end_checked = [first_decided, sample.len().checked_sub(1)];
    for (length, verdict) in at_end_checked.into_iter().flatten().map(|at| &sample[at]) {
        if is_decided(verdict) {
            let at_end = matcher.matches_at_end(&data[..*length]);
            assert_eq!(
                at_end,
                *verdict == Verdict::Match,
                "route {index}: {verdict:?} but matches_at_end {at_end} on {length} bytes"
            );
        }
    }
    assert_settled(&format!("route {index}"), data, &sample, is_decided);
}

/// `checks::check_settles` on a sample of the prefixes: once `extract`
/// gives a value that `is_final` calls final on a sampled prefix of
/// `data`, it gives that same value on every longer one.
pub(super) fn check_settles_sampled<T: PartialEq + Debug>(
    what: &str,
    data: &[u8],
    extract: impl Fn(&[u8]) -> T,
    is_final: impl Fn(&T) -> bool,
) {
    let sample = judge_sample(data, extract, &is_final);
    assert_settled(what, data, &sample, is_final);
}

/// [`check_route_table`](super::check_route_table) on a sample of the
/// prefixes: every matcher of `routes` passes [`check_monotone_sampled`],
/// and the route decision on `data` is the same whole and in chunks whose
/// sizes come from the data itself (a decision the sniffer's pace already
/// bounds to a few judgements).
pub(super) fn check_route_table_sampled(routes: &[Box<dyn Matcher>], data: &[u8]) {
    check_routes_sampled(routes, data, 0..routes.len());
}

/// [`check_route_table_sampled`] for a table too costly to judge whole on
/// every input: only the two routes [`chosen_routes`] picks pass [`check_monotone_sampled`]; the decision of the whole table
/// is still checked whole against chunked. Over a campaign the fuzzer,
/// mutating the input's last bytes, takes every route through the inputs
/// it keeps.
pub(super) fn check_chosen_routes_sampled(routes: &[Box<dyn Matcher>], data: &[u8]) {
    check_routes_sampled(routes, data, chosen_routes(data, routes.len()));
}

/// The indices of the two routes (one if the table has one) of a table of
/// `count` that [`check_chosen_routes_sampled`] judges on `data`: named by
/// the input's length and its last bytes, mixed otherwise than for
/// [`chosen_lengths`], so that the same bytes do not always pair one route
/// with one set of prefixes.
pub(super) fn chosen_routes(data: &[u8], count: usize) -> impl Iterator<Item = usize> {
    let mixed = data.iter().rev().take(4).fold(data.len(), |mixed, &byte| {
        mixed.wrapping_mul(31).wrapping_add(usize::from(byte))
    });
    let first = mixed % count.max(1);
    // Any other route: 1 to count - 1 places further round the table.
    let further = 1 + (mixed / count.max(1)) % count.saturating_sub(1).max(1);
    [first, (first + further) % count.max(1)]
        .into_iter()
        .take(count.min(2))
}

/// Every matcher of `routes` named by `monotone` passes
/// [`check_monotone_sampled`], and the decision on `data` is the same
/// whole and in chunks whose sizes come from the data itself.
fn check_routes_sampled(
    routes: &[Box<dyn Matcher>],
    data: &[u8],
    monotone: impl IntoIterator<Item = usize>,
) {
    for index in monotone {
        check_monotone_sampled(index, routes[index].as_ref(), data);
    }
    check_chunking(routes, data, data);
}

/// Which of `count` families of checks (`0..count`) a harness runs on
/// `data`, for a harness too costly to run all of them on every input:
/// named by a multiplicative hash of all its bytes and its length, read
/// from its top bits (where every byte's change reaches), so that almost
/// any mutation (a bit changed, a byte inserted or erased, anywhere) can
/// move the input to another family, and the mutations of each input the
/// fuzzer keeps meet every family.
pub(super) fn chosen_family(data: &[u8], count: usize) -> usize {
    // 2^64 divided by the golden ratio: odd, with its bits spread, so a
    // change in any bit carries into every higher one.
    const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;
    let length = u64::try_from(data.len()).unwrap_or(u64::MAX);
    let hash = data.iter().fold(length, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(SPREAD)
    });
    let count = u64::try_from(count).unwrap_or(u64::MAX);
    // The top 32 bits scaled to 0..count.
    let family = (hash >> 32).wrapping_mul(count) >> 32;
    usize::try_from(family).expect("below count")
}

/// The seed corpus of the cargo-fuzz target `target`
/// (`tests/corpus/<target>/`), through which a harness that runs one
/// family of checks per input ([`chosen_family`]) runs all of them in its
/// tests.
#[cfg(test)]
pub(super) fn seed_corpus(target: &str) -> Vec<Vec<u8>> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target);
    let entries =
        std::fs::read_dir(&corpus).unwrap_or_else(|error| panic!("{}: {error}", corpus.display()));
    entries
        .map(|entry| std::fs::read(entry.expect("a corpus entry").path()).expect("a seed"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_bounded_and_holds_the_first_decided_prefix() {
        let data: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        for decided_from in [0, 1, 2, 63, 64, 65, 4_097, 9_999, 10_000] {
            let sample = judge_sample(
                &data,
                |prefix| prefix.len(),
                |&length| length >= decided_from,
            );
            let lengths: Vec<usize> = sample.iter().map(|(length, _)| *length).collect();
            assert!(lengths.len() <= 24, "{lengths:?}");
            assert!(
                lengths.contains(&decided_from),
                "{decided_from}: {lengths:?}"
            );
            assert!(lengths.contains(&10_000));
            if decided_from > 0 {
                assert!(lengths.contains(&(decided_from - 1)), "{lengths:?}");
            }
        }
    }

    #[test]
    fn the_last_bytes_choose_the_prefixes() {
        let mut data = vec![0; 1_000];
        let before: Vec<usize> = chosen_lengths(&data).collect();
        data[999] = 0x7f;
        let after: Vec<usize> = chosen_lengths(&data).collect();
        assert_ne!(before, after);
        assert!(after.iter().all(|&length| length <= 1_000));
        assert_eq!(chosen_lengths(&[]).max(), Some(0));
    }

    #[test]
    fn the_last_bytes_choose_distinct_routes_and_reach_every_one() {
        let mut reached = [false; 18];
        for last in 0..=255u8 {
            let data = [b'G', b'E', b'T', last];
            let chosen: Vec<usize> = chosen_routes(&data, 18).collect();
            assert_eq!(chosen.len(), 2);
            assert_ne!(chosen[0], chosen[1]);
            for index in chosen {
                reached[index] = true;
            }
        }
        assert!(reached.iter().all(|&reached| reached));
        assert_eq!(chosen_routes(b"x", 1).collect::<Vec<_>>(), [0]);
        for last in 0..=255u8 {
            let chosen: Vec<usize> = chosen_routes(&[last], 2).collect();
            assert!(chosen == [0, 1] || chosen == [1, 0], "{chosen:?}");
        }
        assert_eq!(chosen_routes(b"", 0).count(), 0);
    }

    #[test]
    fn a_verdict_that_changes_on_a_sampled_prefix_is_caught() {
        let data = [0u8; 300];
        // Decided at 5 bytes, changed from 200 on: the whole input and the
        // bisection's first stop (150 bytes) disagree.
        let flips = std::panic::catch_unwind(|| {
            check_settles_sampled(
                "flip",
                &data,
                |prefix| match prefix.len() {
                    0..=4 => 0,
                    5..=199 => 1,
                    _ => 2,
                },
                |&answer| answer != 0,
            )
        });
        assert!(flips.is_err());
    }

    #[test]
    fn every_byte_of_the_input_can_move_it_to_another_family() {
        let data: Vec<u8> = (0..=255).cycle().skip(100).take(64).collect();
        for count in [1, 2, 4, 5] {
            let family = chosen_family(&data, count);
            assert!(family < count);
            for at in 0..data.len() {
                let moved = (0..=255).any(|byte| {
                    let mut mutated = data.clone();
                    mutated[at] = byte;
                    chosen_family(&mutated, count) != family
                });
                assert_eq!(moved, count > 1, "byte {at} of {count} families");
            }
        }
        let mut reached = [false; 5];
        for last in 0..=255u8 {
            reached[chosen_family(&[0x16, 0x03, last], 5)] = true;
        }
        assert!(reached.iter().all(|&reached| reached));
    }
}
