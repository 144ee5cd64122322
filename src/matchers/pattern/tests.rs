//! Tests of byte patterns: a table per construct, a table of refusals,
//! the work bound, and properties of generated patterns against a naive
//! backtracking matcher.

use super::*;
use crate::conformance::Conformance;
use crate::internal::check_route_table;
use crate::matchers::testing::near_miss;
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

fn compiled(text: &str) -> Pattern {
    pattern(text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

/// Checks each `(pattern, input, verdict)` row.
fn check_table(rows: &[(&str, &[u8], Verdict)]) {
    for (text, seen, want) in rows {
        assert_eq!(compiled(text).verdict(seen), *want, "{text:?} on {seen:?}");
    }
}

#[test]
fn literals_decide_at_the_first_byte_that_differs() {
    check_table(&[
        ("GET ", b"", NeedMore),
        ("GET ", b"GE", NeedMore),
        ("GET ", b"GET", NeedMore),
        ("GET ", b"GET ", Match),
        ("GET ", b"GET /index.html", Match),
        ("GET ", b"GEX", NoMatch),
        ("GET ", b"X", NoMatch),
        ("a~ !", b"a~ !", Match),
    ]);
}

#[test]
fn escapes_are_bytes() {
    check_table(&[
        (r"\x16\x03", b"\x16\x03\x01", Match),
        (r"\x16\x03", b"\x16\x02", NoMatch),
        (r"\xff\xFE\x00", b"\xff\xfe\x00", Match),
        (r"\r\n\t", b"\r\n\t", Match),
        (r"\r\n", b"\n\r", NoMatch),
        (r"\?", b"?", Match),
        (r"\?", b"x", NoMatch),
        (r"\\", b"\\", Match),
        (r"\[\]\{\}\(\)\|\*\+\.\^\$\-", b"[]{}()|*+.^$-", Match),
        (r"2\.0", b"2.0", Match),
        (r"2\.0", b"2x0", NoMatch),
    ]);
}

#[test]
fn a_question_mark_is_any_byte() {
    check_table(&[
        ("?", b"", NeedMore),
        ("?", b"\x00", Match),
        ("?", b"\xff", Match),
        ("a?c", b"a", NeedMore),
        ("a?c", b"a\x00c", Match),
        ("a?c", b"abd", NoMatch),
        // Not "optional": `a?` takes two bytes.
        ("ab?", b"ab", NeedMore),
        ("ab?", b"a", NeedMore),
    ]);
}

#[test]
fn classes_ranges_and_negation() {
    check_table(&[
        ("[a-z0-9_]", b"q", Match),
        ("[a-z0-9_]", b"7", Match),
        ("[a-z0-9_]", b"_", Match),
        ("[a-z0-9_]", b"A", NoMatch),
        ("[a-z0-9_]", b"", NeedMore),
        (r"[^\r\n]", b"x", Match),
        (r"[^\r\n]", b"\r", NoMatch),
        (r"[^\r\n]", b"\n", NoMatch),
        (r"[\x00-\x1f]", b"\x1f", Match),
        (r"[\x00-\x1f]", b" ", NoMatch),
        // `-` first, last or after a range is itself.
        ("[-a]", b"-", Match),
        ("[a-]", b"-", Match),
        ("[a-c-e]", b"-", Match),
        ("[a-c-e]", b"d", NoMatch),
        ("[a-c-e]", b"e", Match),
        (r"[a\-c]", b"b", NoMatch),
        (r"[a\-c]", b"-", Match),
        // Inside a class, pattern punctuation is itself.
        ("[?(|{.$*]", b"?", Match),
        ("[?(|{.$*]", b"$", Match),
        ("[?(|{.$*]", b"x", NoMatch),
        (r"[\]\\^]", b"]", Match),
        (r"[\]\\^]", b"\\", Match),
        (r"[\]\\^]", b"^", Match),
        (r"[^^]", b"^", NoMatch),
        (r"[^^]", b"a", Match),
    ]);
}

#[test]
fn repetition_takes_its_bounds() {
    check_table(&[
        ("a{3}", b"aa", NeedMore),
        ("a{3}", b"aaa", Match),
        ("a{3}", b"aab", NoMatch),
        ("[0-9]{1,3}:", b"1", NeedMore),
        ("[0-9]{1,3}:", b"123", NeedMore),
        ("[0-9]{1,3}:", b"1:", Match),
        ("[0-9]{1,3}:", b"123:", Match),
        ("[0-9]{1,3}:", b"1234", NoMatch),
        ("[0-9]{1,3}:", b":", NoMatch),
        ("x[0-9]{0,2}y", b"xy", Match),
        ("x[0-9]{0,2}y", b"x12y", Match),
        ("x[0-9]{0,2}y", b"x123", NoMatch),
        ("(ab){2}", b"abab", Match),
        ("(ab){2}", b"abac", NoMatch),
        ("?{4}", b"\x00\x01\x02", NeedMore),
        ("?{4}", b"\x00\x01\x02\x03", Match),
    ]);
}

#[test]
fn alternatives_at_the_top_and_in_groups() {
    check_table(&[
        ("GET |POST |PUT ", b"PO", NeedMore),
        ("GET |POST |PUT ", b"PU", NeedMore),
        ("GET |POST |PUT ", b"PUT /", Match),
        ("GET |POST |PUT ", b"PATCH", NoMatch),
        (r"SSH-(2\.0|1\.99)-", b"SSH-1.99-x", Match),
        (r"SSH-(2\.0|1\.99)-", b"SSH-2.0-x", Match),
        (r"SSH-(2\.0|1\.99)-", b"SSH-1.5-", NoMatch),
        ("((a|b)(c|d)){2}", b"adbc", Match),
        ("((a|b)(c|d)){2}", b"adbb", NoMatch),
    ]);
}

#[test]
fn the_first_way_through_to_complete_decides() {
    check_table(&[
        // A prefix: whatever follows the match does not count.
        ("ab|abcd", b"ab", Match),
        ("abcd|ab", b"ab", Match),
        ("a[0-9]{0,3}", b"a", Match),
        ("a[0-9]{0,3}", b"ax", Match),
        // A way still open keeps the verdict undecided.
        ("abc|a?d", b"ab", NeedMore),
        ("abc|a?d", b"abd", Match),
        ("abc|a?d", b"abe", NoMatch),
    ]);
}

#[test]
fn at_the_end_only_a_complete_match_counts() {
    let port = compiled("[0-9]{1,4}:");
    assert!(!port.matches_at_end(b"12"));
    assert!(port.matches_at_end(b"12:"));
    assert!(!port.matches_at_end(b""));
}

#[test]
fn refusals_name_the_offset_and_the_fault() {
    use PatternErrorKind::*;
    let rows: &[(&str, usize, PatternErrorKind)] = &[
        ("", 0, Empty),
        ("a{0,2}", 0, MatchesEmptyInput),
        ("(a|b{0,1})", 0, MatchesEmptyInput),
        ("a|", 2, EmptyAlternative),
        ("|a", 0, EmptyAlternative),
        ("(a||b)", 3, EmptyAlternative),
        ("x()", 2, EmptyAlternative),
        ("ab(cd", 2, UnclosedGroup),
        ("(a(b)", 0, UnclosedGroup),
        ("ab)", 2, Unmatched(')')),
        ("a]", 1, Unmatched(']')),
        ("a}", 1, Unmatched('}')),
        ("SSH-[0-9", 4, UnclosedClass),
        ("[a-", 0, UnclosedClass),
        (r"[\]", 0, UnclosedClass),
        ("[]", 0, EmptyClass),
        ("[^]", 0, EmptyClass),
        (r"[^\x00-\xff]", 0, EmptyClass),
        ("x[z-a]", 2, RangeOutOfOrder),
        ("ab\\", 2, UnfinishedEscape),
        (r"a\d", 1, UnknownEscape('d')),
        (r"\s", 0, UnknownEscape('s')),
        ("\\é", 0, UnknownEscape('é')),
        (r"\x1", 0, BadHexEscape),
        (r"\xg0", 0, BadHexEscape),
        (r"[\x+1]", 1, BadHexEscape),
        ("ab\u{1}", 2, NotPrintable('\u{1}')),
        ("\t", 0, NotPrintable('\t')),
        ("caf\u{e9}", 3, NotPrintable('\u{e9}')),
        ("[\u{e9}]", 1, NotPrintable('\u{e9}')),
        ("a.b", 1, Reserved('.')),
        ("^GET", 0, Reserved('^')),
        ("GET$", 3, Reserved('$')),
        ("a*", 1, UnboundedRepetition),
        ("a+", 1, UnboundedRepetition),
        ("*", 0, UnboundedRepetition),
        ("a{2,}", 1, UnboundedRepetition),
        ("a{2}+", 4, UnboundedRepetition),
        ("{2}", 0, NothingToRepeat),
        ("a|{2}", 2, NothingToRepeat),
        ("(a{2}){3}{4}", 9, RepeatedRepetition),
        ("a{2}{3}", 4, RepeatedRepetition),
        ("a{}", 1, BadRepetition),
        ("a{,3}", 1, BadRepetition),
        ("a{x}", 1, BadRepetition),
        ("a{1,2", 1, BadRepetition),
        ("a{1 }", 1, BadRepetition),
        ("a{1025}", 1, RepetitionTooLarge),
        ("a{1,99999999999999999999}", 1, RepetitionTooLarge),
        ("a{3,2}", 1, BoundsOutOfOrder),
        ("a{0}", 1, BoundsOutOfOrder),
        ("a{0,0}", 1, BoundsOutOfOrder),
        ("(?{1024}){4}", 9, TooManyStates),
        ("((?{64}){64}){64}", 8, TooManyStates),
    ];
    for (text, offset, kind) in rows {
        let error = pattern(text).expect_err(text);
        assert_eq!((error.offset(), error.kind()), (*offset, *kind), "{text:?}");
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!("at byte {offset} of the pattern: ")),
            "{shown}"
        );
    }
}

#[test]
fn nesting_is_bounded() {
    let deepest = format!(
        "{}a{}",
        "(".repeat(PATTERN_MAX_NESTING),
        ")".repeat(PATTERN_MAX_NESTING)
    );
    assert_eq!(compiled(&deepest).verdict(b"a"), Match);
    let deeper = format!("({deepest})");
    let error = pattern(&deeper).unwrap_err();
    assert_eq!(
        (error.offset(), error.kind()),
        (PATTERN_MAX_NESTING, PatternErrorKind::NestedTooDeep)
    );
    // Far deeper than any stack would take, refused just as early.
    let abyss = "(".repeat(1_000_000);
    assert_eq!(
        pattern(&abyss).unwrap_err().kind(),
        PatternErrorKind::NestedTooDeep
    );
}

#[test]
fn the_largest_patterns_compile() {
    let widest = compiled(&format!("?{{{PATTERN_MAX_REPEAT}}}"));
    assert_eq!(widest.decides_within(), usize::from(PATTERN_MAX_REPEAT));
    // 4095 states and the match: at the limit.
    let fullest = compiled("(?{1024}){3}?{1023}");
    assert_eq!(fullest.program.states.len(), PATTERN_MAX_STATES);
    assert_eq!(fullest.verdict(&[0; 4094]), NeedMore);
    assert_eq!(fullest.verdict(&[0; 4095]), Match);
    assert_eq!(
        pattern("(?{1024}){3}?{1024}").unwrap_err().kind(),
        PatternErrorKind::TooManyStates
    );
}

#[test]
fn decides_within_the_longest_way_through() {
    for (text, longest) in [
        ("a", 1),
        ("GET |POST |PUT ", 5),
        ("[0-9]{1,3}:", 4),
        ("x(ab|c){0,3}y", 8),
        ("(a{2,3}|b){2}", 6),
    ] {
        assert_eq!(compiled(text).decides_within(), longest, "{text}");
    }
}

#[test]
fn shows_its_text() {
    let tls = compiled(r"\x16\x03[\x00-\x04]");
    assert_eq!(tls.as_str(), r"\x16\x03[\x00-\x04]");
    assert_eq!(format!("{tls:?}"), r#"Pattern("\\x16\\x03[\\x00-\\x04]")"#);
}

#[test]
fn a_literal_visits_one_state_a_byte() {
    // "abc" is four states: a, b, c and the match.
    let abc = compiled("abc");
    assert_eq!(abc.run(b"abc"), (Match, 4));
    assert_eq!(abc.run(b"abcdef"), (Match, 4));
    assert_eq!(abc.run(b"ab"), (NeedMore, 3));
    assert_eq!(abc.run(b"x"), (NoMatch, 1));
}

#[test]
fn work_grows_with_bytes_times_states_never_exponentially() {
    // A backtracking matcher tries 2^20 ways through `(a|a){20}` before
    // it gives up on twenty `a`s and a `c`.
    let ambiguous = compiled("(a|a){20}b");
    let mut seen = vec![b'a'; 20];
    seen.push(b'c');
    let (verdict, visited) = ambiguous.run(&seen);
    assert_eq!(verdict, NoMatch);
    assert!(visited <= ambiguous.most_visits(&seen), "{visited}");
    // 3 states an `a` (a fork and two bytes), the `b` and the match.
    assert_eq!(ambiguous.program.states.len(), 62);
    assert_eq!(visited, 20 * 3 + 1);

    // Many ways alive at once: after k `a`s, every split of them among
    // the copies of `?{0,40}a` that ends in an `a`.
    let crowded = compiled("(?{0,40}a){25}b");
    let seen = vec![b'a'; 5000];
    let (verdict, visited) = crowded.run(&seen);
    assert_eq!(verdict, NoMatch);
    assert_eq!(crowded.decides_within(), 25 * 41 + 1);
    assert!(visited <= crowded.most_visits(&seen), "{visited}");
    // Close to the bound: about 950 of its 2051 states alive a byte.
    assert!(visited > 900 * crowded.decides_within(), "{visited}");
}

/// A part of a generated pattern, which the test renders as text and
/// walks itself, independently of the parser and the automaton.
#[derive(Debug, Clone)]
enum Part {
    Byte(u8),
    Any,
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
    Group(Vec<Vec<Part>>),
    Repeat(Box<Part>, u16, u16),
}

/// Bytes that need every kind of spelling: plain, escaped punctuation,
/// `\xHH`.
const ALPHABET: &[u8] = b"ab?-]\\\x00\xff";

impl Part {
    fn accepts(&self, byte: u8) -> bool {
        match self {
            Part::Byte(want) => byte == *want,
            Part::Any => true,
            Part::Class { negated, ranges } => {
                ranges
                    .iter()
                    .any(|&(low, high)| (low..=high).contains(&byte))
                    != *negated
            }
            Part::Group(_) | Part::Repeat(..) => unreachable!("not one byte"),
        }
    }

    fn render(&self, text: &mut String) {
        match self {
            Part::Byte(byte) => render_byte(*byte, text),
            Part::Any => text.push('?'),
            Part::Class { negated, ranges } => {
                text.push('[');
                if *negated {
                    text.push('^');
                }
                for &(low, high) in ranges {
                    render_byte(low, text);
                    if high != low {
                        text.push('-');
                        render_byte(high, text);
                    }
                }
                text.push(']');
            }
            Part::Group(alternatives) => {
                text.push('(');
                render_alternatives(alternatives, text);
                text.push(')');
            }
            Part::Repeat(part, min, max) => {
                part.render(text);
                if min == max {
                    text.push_str(&format!("{{{min}}}"));
                } else {
                    text.push_str(&format!("{{{min},{max}}}"));
                }
            }
        }
    }

    /// Whether some class in it matches no byte.
    fn has_empty_class(&self) -> bool {
        match self {
            Part::Class { .. } => (0..=u8::MAX).all(|byte| !self.accepts(byte)),
            Part::Byte(_) | Part::Any => false,
            Part::Group(alternatives) => alternatives.iter().flatten().any(Part::has_empty_class),
            Part::Repeat(part, ..) => part.has_empty_class(),
        }
    }

    /// The most bytes a way through it takes.
    fn longest(&self) -> usize {
        match self {
            Part::Byte(_) | Part::Any | Part::Class { .. } => 1,
            Part::Group(alternatives) => alternatives
                .iter()
                .map(|sequence| sequence.iter().map(Part::longest).sum())
                .max()
                .unwrap_or(0),
            Part::Repeat(part, _, max) => usize::from(*max) * part.longest(),
        }
    }

    /// Bytes the part matches, each choice taken from `choices`.
    fn sample(&self, choices: &mut impl Iterator<Item = u8>, out: &mut Vec<u8>) {
        let mut choose = |count: usize| usize::from(choices.next().unwrap_or(0)) % count;
        match self {
            Part::Byte(_) | Part::Any | Part::Class { .. } => {
                let accepted: Vec<u8> = (0..=u8::MAX).filter(|&b| self.accepts(b)).collect();
                if !accepted.is_empty() {
                    out.push(accepted[choose(accepted.len())]);
                }
            }
            Part::Group(alternatives) => {
                let sequence = &alternatives[choose(alternatives.len())];
                for part in sequence {
                    part.sample(choices, out);
                }
            }
            Part::Repeat(part, min, max) => {
                let times = usize::from(*min) + choose(usize::from(max - min) + 1);
                for _ in 0..times {
                    part.sample(choices, out);
                }
            }
        }
    }
}

fn render_byte(byte: u8, text: &mut String) {
    if byte.is_ascii_alphanumeric() {
        text.push(char::from(byte));
    } else if byte.is_ascii_punctuation() {
        text.push('\\');
        text.push(char::from(byte));
    } else {
        text.push_str(&format!("\\x{byte:02x}"));
    }
}

fn render_alternatives(alternatives: &[Vec<Part>], text: &mut String) {
    for (index, sequence) in alternatives.iter().enumerate() {
        if index > 0 {
            text.push('|');
        }
        for part in sequence {
            part.render(text);
        }
    }
}

/// How far a way through the pattern got: ordered so that the best of
/// several ways is the largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// It met a byte it does not take.
    Refused,
    /// It needs a byte past the end of the input.
    OutOfInput,
    /// It went all the way through.
    Through,
}

/// The naive matcher: tries every way through `part` from `at`, one
/// after the other, handing where each ends to `then`.
fn walk(part: &Part, seen: &[u8], at: usize, then: &mut dyn FnMut(usize) -> Reach) -> Reach {
    match part {
        Part::Byte(_) | Part::Any | Part::Class { .. } => match seen.get(at) {
            None => Reach::OutOfInput,
            Some(&byte) if part.accepts(byte) => then(at + 1),
            Some(_) => Reach::Refused,
        },
        Part::Group(alternatives) => alternatives
            .iter()
            .map(|sequence| walk_sequence(sequence, seen, at, then))
            .max()
            .unwrap_or(Reach::Refused),
        Part::Repeat(part, min, max) => walk_repeat(part, (*min, *max), 0, seen, at, then),
    }
}

fn walk_sequence(
    sequence: &[Part],
    seen: &[u8],
    at: usize,
    then: &mut dyn FnMut(usize) -> Reach,
) -> Reach {
    match sequence.split_first() {
        None => then(at),
        Some((first, rest)) => walk(first, seen, at, &mut |next| {
            walk_sequence(rest, seen, next, then)
        }),
    }
}

fn walk_repeat(
    part: &Part,
    (min, max): (u16, u16),
    done: u16,
    seen: &[u8],
    at: usize,
    then: &mut dyn FnMut(usize) -> Reach,
) -> Reach {
    let stop_here = if done >= min {
        then(at)
    } else {
        Reach::Refused
    };
    if done == max {
        return stop_here;
    }
    let go_on = walk(part, seen, at, &mut |next| {
        walk_repeat(part, (min, max), done + 1, seen, next, then)
    });
    stop_here.max(go_on)
}

/// What the naive matcher says of `seen`.
fn naive(alternatives: &[Vec<Part>], seen: &[u8]) -> Verdict {
    let top = Part::Group(alternatives.to_vec());
    match walk(&top, seen, 0, &mut |_| Reach::Through) {
        Reach::Through => Match,
        Reach::OutOfInput => NeedMore,
        Reach::Refused => NoMatch,
    }
}

fn byte() -> impl Strategy<Value = u8> {
    prop::sample::select(ALPHABET)
}

fn one_byte_part() -> impl Strategy<Value = Part> {
    prop_oneof![
        3 => byte().prop_map(Part::Byte),
        1 => Just(Part::Any),
        2 => (any::<bool>(), prop::collection::vec((byte(), byte()), 1..3)).prop_map(
            |(negated, pairs)| Part::Class {
                negated,
                ranges: pairs
                    .into_iter()
                    .map(|(a, b)| (a.min(b), a.max(b)))
                    .collect(),
            }
        ),
    ]
}

/// Patterns as alternatives of sequences, small enough for the naive
/// matcher to try every way through.
fn alternatives() -> impl Strategy<Value = Vec<Vec<Part>>> {
    let part = one_byte_part().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(prop::collection::vec(inner.clone(), 1..3), 1..3)
                .prop_map(Part::Group),
            (inner, 0u16..3, 0u16..3).prop_map(|(part, min, extra)| {
                // A repetition of a repetition is written grouped.
                let part = match part {
                    Part::Repeat(..) => Part::Group(vec![vec![part]]),
                    part => part,
                };
                Part::Repeat(Box::new(part), min, (min + extra).max(1))
            }),
        ]
    });
    prop::collection::vec(prop::collection::vec(part, 1..4), 1..3)
}

fn render(alternatives: &[Vec<Part>]) -> String {
    let mut text = String::new();
    render_alternatives(alternatives, &mut text);
    text
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(b"ab?-]\\\x00\xffc".as_slice()), 0..10)
}

/// A pattern with inputs it matches, cut and altered at random.
fn pattern_and_near_misses() -> impl Strategy<Value = (Vec<Vec<Part>>, Vec<u8>)> {
    alternatives().prop_flat_map(|alternatives| {
        let top = Part::Group(alternatives.clone());
        let matching = prop::collection::vec(any::<u8>(), 16).prop_map(move |choices| {
            let mut out = Vec::new();
            top.sample(&mut choices.into_iter(), &mut out);
            // `near_miss` alters a byte: a pattern refused for matching
            // the empty input may have sampled none.
            if out.is_empty() {
                out.push(b'a');
            }
            out
        });
        (Just(alternatives), near_miss(matching))
    })
}

/// Checks the compiled `alternatives` on `seen` and each of its prefixes
/// against the naive matcher, and every property a matcher must have.
fn check_against_naive(alternatives: &[Vec<Part>], seen: &[u8]) -> Result<(), TestCaseError> {
    let text = render(alternatives);
    let top = Part::Group(alternatives.to_vec());
    let compiled = match pattern(&text) {
        Ok(compiled) => compiled,
        Err(error) => {
            let expected = match error.kind() {
                PatternErrorKind::MatchesEmptyInput => naive(alternatives, b"") == Match,
                PatternErrorKind::EmptyClass => top.has_empty_class(),
                _ => false,
            };
            prop_assert!(expected, "{text:?}: {error}");
            return Ok(());
        }
    };
    prop_assert!(!top.has_empty_class(), "{text:?} compiled");
    prop_assert_eq!(compiled.decides_within(), top.longest(), "{:?}", text);
    for length in 0..=seen.len() {
        let prefix = &seen[..length];
        let (verdict, visited) = compiled.run(prefix);
        prop_assert_eq!(
            verdict,
            naive(alternatives, prefix),
            "{:?} on {:02x?}",
            text,
            prefix
        );
        prop_assert!(
            visited <= compiled.most_visits(prefix),
            "{text:?}: {visited}"
        );
        if length >= compiled.decides_within() {
            prop_assert_ne!(verdict, NeedMore, "{:?} on {:02x?}", text, prefix);
        }
    }
    Conformance::new(&compiled).assert(seen);
    check_route_table(&[Box::new(compiled)], seen);
    Ok(())
}

proptest! {
    #[test]
    fn agrees_with_the_naive_matcher(alternatives in alternatives(), seen in input()) {
        check_against_naive(&alternatives, &seen)?;
    }

    #[test]
    fn agrees_with_the_naive_matcher_near_matches(
        (alternatives, seen) in pattern_and_near_misses(),
    ) {
        check_against_naive(&alternatives, &seen)?;
    }

    /// Any text compiles or is refused with an offset inside it; what
    /// compiles is a correct matcher.
    #[test]
    fn any_text_compiles_or_is_refused(
        text in prop_oneof![
            r"[\\?\[\]{}()|^$.*+\-a-c0-9,x ]{0,24}",
            any::<String>(),
        ],
        seen in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        match pattern(&text) {
            Ok(compiled) => {
                Conformance::new(&compiled).assert(&seen);
                let (_, visited) = compiled.run(&seen);
                prop_assert!(visited <= compiled.most_visits(&seen));
            }
            Err(error) => {
                prop_assert!(error.offset() <= text.len());
                prop_assert!(text.is_char_boundary(error.offset()));
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }
}
