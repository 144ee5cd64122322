//! The kit catches each kind of broken matcher, and passes correct ones.

use super::*;
use crate::matchers::{http2_preface, tls};
use Verdict::{Match, NeedMore, NoMatch};

/// Takes inputs starting with "ok", refusing anything else.
fn ok(seen: &[u8]) -> Verdict {
    let want = b"ok";
    let n = seen.len().min(want.len());
    if seen[..n] != want[..n] {
        NoMatch
    } else if n == want.len() {
        Match
    } else {
        NeedMore
    }
}

#[test]
fn a_correct_matcher_passes_every_check() {
    let kit = Conformance::new(&ok).bound(2);
    kit.assert_all([&b""[..], b"o", b"ok", b"ok then more", b"no", b"o!"]);
    kit.assert_chunking(b"ok then more", &[1, 2, 3]);
    kit.fuzz(b"ok\xff\x00");
    kit.fuzz(b"");
}

#[test]
fn a_verdict_that_changes_breaks_monotonicity() {
    let flips = |seen: &[u8]| if seen.len() < 3 { Match } else { NoMatch };
    let violation = Conformance::new(&flips).check(b"abcd").unwrap_err();
    assert_eq!(violation.property, Property::Monotone);
    assert_eq!(violation.prefix_len, 3);
    assert_eq!(
        violation.seen,
        Seen::Verdicts {
            decided_at: 0,
            decided: Match,
            then: NoMatch
        }
    );
    assert_eq!(violation.input, b"abcd");
}

#[test]
fn an_end_answer_against_the_verdict_is_caught() {
    struct Contrary;
    impl Matcher for Contrary {
        fn verdict(&self, _: &[u8]) -> Verdict {
            NoMatch
        }
        fn matches_at_end(&self, seen: &[u8]) -> bool {
            seen.len() == 2
        }
    }
    let violation = Conformance::new(&Contrary).check(b"abc").unwrap_err();
    assert_eq!(violation.property, Property::EndOfInput);
    assert_eq!(violation.prefix_len, 2);
    assert_eq!(
        violation.seen,
        Seen::Verdict {
            verdict: NoMatch,
            matches_at_end: Some(true)
        }
    );
}

#[test]
fn need_more_at_the_bound_is_caught_even_between_sampled_prefixes() {
    let slow = |seen: &[u8]| if seen.len() < 500 { NeedMore } else { Match };
    let long = vec![b'x'; 5000];
    let violation = Conformance::new(&slow)
        .bound(499)
        .check_fuzz_input(&long)
        .unwrap_err();
    assert_eq!(violation.property, Property::Bound);
    assert_eq!(violation.prefix_len, 499);
    Conformance::new(&slow).bound(500).fuzz(&long);
    // Shorter inputs than the bound say nothing about it.
    Conformance::new(&slow).bound(1).assert(b"");
}

#[test]
fn a_panic_is_reported_with_the_prefix() {
    let fragile = |seen: &[u8]| {
        assert!(seen.len() < 4, "too long: {}", seen.len());
        NeedMore
    };
    let violation = Conformance::new(&fragile).check(b"abcdef").unwrap_err();
    assert_eq!(violation.property, Property::NoPanic);
    assert_eq!(violation.prefix_len, 4);
    assert_eq!(
        violation.seen,
        Seen::Panic {
            call: "verdict",
            message: "too long: 4".to_string()
        }
    );
}

/// A matcher whose answer depends on how often it has been asked: what a
/// matcher with per-connection state looks like to the sniffer, which
/// judges fewer prefixes in small reads than one at a time.
#[test]
fn a_decision_that_depends_on_the_reads_is_caught() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let asked = AtomicUsize::new(0);
    let stateful = |seen: &[u8]| {
        if seen.len() < 8 {
            return NeedMore;
        }
        Verdict::from_bool(asked.fetch_add(1, Ordering::Relaxed).is_multiple_of(2))
    };
    let input = [0u8; 16];
    let violation = (1..8)
        .find_map(|size| {
            Conformance::new(&stateful)
                .check_chunking(&input, &[size])
                .err()
        })
        .expect("some chunking routes it differently");
    assert_eq!(violation.property, Property::Chunking);
    assert!(matches!(violation.seen, Seen::Routes { .. }));
}

#[test]
fn route_tables_decide_the_same_in_any_reads() {
    let routes: Vec<Box<dyn Matcher>> = vec![Box::new(http2_preface()), Box::new(tls())];
    for sizes in [&[1][..], &[3, 7], &[0], &[]] {
        check_route_chunking(&routes, crate::matchers::HTTP2_PREFACE, sizes).unwrap();
    }
}

#[test]
fn the_report_names_the_rule_the_prefix_and_the_input() {
    let flips = |seen: &[u8]| Verdict::from_bool(seen.len() > 1);
    let report = Conformance::new(&flips)
        .check(b"a\x00\xffb")
        .unwrap_err()
        .to_string();
    assert_eq!(
        report,
        "prefix monotonicity broken: NoMatch on 0 bytes became Match on 2 \
         of the 4-byte input b\"a\\x00\\xffb\""
    );
    let long = Conformance::new(&flips)
        .check(&[b'z'; 300])
        .unwrap_err()
        .to_string();
    assert!(
        long.ends_with("zz\"...") && long.contains("300-byte"),
        "{long}"
    );
}

#[test]
#[should_panic(expected = "no panic broken: verdict panicked on 0 bytes: boom")]
fn assert_panics_with_the_report() {
    let boom = |_: &[u8]| -> Verdict { panic!("boom") };
    Conformance::new(&boom).assert(b"");
}

#[test]
fn prefix_lengths_cover_the_start_then_spread() {
    let lengths: Vec<usize> = prefix_lengths(10, 4).collect();
    assert_eq!(lengths, [0, 1, 2, 3, 4, 4, 6, 8, 10, 10]);
    assert_eq!(prefix_lengths(0, 64).collect::<Vec<_>>(), [0, 0]);
}
