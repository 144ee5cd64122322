//! The `pattern` target: [`matchers::pattern`] on arbitrary text, and what it
//! compiles on arbitrary bytes.
//!
//! The input up to its first LF is the pattern text (read as UTF-8,
//! lossily), the rest the bytes to match; without an LF, the whole input
//! is both. A verdict may visit up to the pattern's states times the
//! bytes up to its decision, thousands of each (see "Cost" on
//! [`matchers::pattern`]), so the input's own bytes choose how much a run
//! judges, and where, so that the fuzzer steers it:
//!
//! - its length and last eight bytes, when a verdict on it may visit more
//!   than [`CHEAP_VISITS`] states: whether this run judges the compiled
//!   pattern at all, one run in `1 + most_visits / CHEAP_VISITS`, so that
//!   a costly input costs on average about what a cheap one does (the
//!   text is compiled, or refused, on every run);
//! - its length: when even, prefix monotonicity and the end answers are
//!   checked; when odd, the route decision whole against chunked;
//! - its last eight bytes: four of the prefixes monotonicity is judged on
//!   (`sample.rs`);
//! - the bytes to match: the read sizes of the chunked decision, `b` a
//!   read of `b + 1` bytes.
//!
//! Whichever check runs, every verdict it asks for is [`Audited`], and so
//! are the two on either side of the pattern's
//! [`decides_within`](crate::matchers::Pattern::decides_within).

use crate::matcher::{Matcher, Verdict};
use crate::matchers::{self, Pattern};

use super::checks::check_chunking;
use super::sample::check_monotone_sampled;

/// The most states a verdict may visit for the input to be judged on
/// every run. A check asks for about twenty verdicts, so judging such an
/// input visits up to some 300,000 states, a millisecond or two; a
/// costlier input is judged on a share of its runs that keeps its average
/// near that.
const CHEAP_VISITS: usize = 1 << 14;

/// The `pattern` target. A refused pattern names an offset at a character
/// boundary of the text. A compiled one, on the runs its cost leaves it,
/// is prefix-monotone and agrees with its own end answers on the bytes,
/// or routes them the same whole and chunked, as the input's length
/// chooses; on every prefix it is asked about it keeps its bounds
/// (`Audited`).
pub fn pattern(data: &[u8]) {
    let (text, seen) = match data.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, data),
    };
    let text = String::from_utf8_lossy(text);
    let audited = match matchers::pattern(&text) {
        Ok(compiled) => Audited(compiled),
        Err(error) => {
            assert!(
                text.is_char_boundary(error.offset()),
                "{text:?}: {error:?} is not at a character of the text"
            );
            return;
        }
    };
    if !is_judged_on_this_run(data, audited.0.most_visits(seen)) {
        return;
    }
    let bound = audited.0.decides_within();
    let around_bound = [bound.saturating_sub(1), bound]
        .into_iter()
        .filter(|&length| length <= seen.len());
    for length in around_bound {
        audited.verdict(&seen[..length]);
    }
    let routes: [Box<dyn Matcher>; 1] = [Box::new(audited)];
    if data.len().is_multiple_of(2) {
        check_monotone_sampled(0, routes[0].as_ref(), seen);
    } else {
        check_chunking(&routes, seen, seen);
    }
}

/// Whether this run judges an input whose verdicts may each visit up to
/// `most_visits` states: always when that is below [`CHEAP_VISITS`],
/// else when the input's length and last eight bytes, mixed, fall on one
/// run in `1 + most_visits / CHEAP_VISITS`.
fn is_judged_on_this_run(data: &[u8], most_visits: usize) -> bool {
    let one_run_in = 1 + most_visits / CHEAP_VISITS;
    let mixed = data.iter().rev().take(8).fold(data.len(), |mixed, &byte| {
        mixed.wrapping_mul(31).wrapping_add(usize::from(byte))
    });
    mixed % one_run_in == 0
}

/// A compiled pattern that asserts, on each verdict it gives, the bounds
/// a pattern keeps: it visits no more states than
/// [`most_visits`](Pattern::most_visits) (each state once a byte, up to
/// the decision: it never backtracks), and it has decided once it has
/// seen [`decides_within`](Pattern::decides_within) bytes. Judged and
/// routed in the pattern's place, it checks both on every prefix another
/// check asks about, at no cost beyond the verdict.
struct Audited(Pattern);

impl Matcher for Audited {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        let Audited(compiled) = self;
        let text = compiled.as_str();
        let (verdict, visited) = compiled.run(seen);
        assert!(
            visited <= compiled.most_visits(seen),
            "{text:?}: {visited} states visited on {} bytes",
            seen.len()
        );
        if seen.len() >= compiled.decides_within() {
            assert_ne!(verdict, Verdict::NeedMore, "{text:?} on {seen:02x?}");
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_of_either_length_hold_and_audited_verdicts_are_the_patterns() {
        // Each pattern twice, on inputs of even and of odd length.
        let inputs: &[&[u8]] = &[
            b"[0-9]{1,4}:\n1234:",
            b"[0-9]{1,4}:\n123:",
            b"HELLO/[0-9]{1,3}(\\.[0-9]{1,3}){0,1} \nHELLO/12.4 world",
            b"HELLO/[0-9]{1,3}(\\.[0-9]{1,3}){0,1} \nHELLO/1.4 world",
            b"(?{0,8}a){8}b\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            b"(?{0,8}a){8}b\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            b"SSH-[0-9]+",
            b"SSH-[0-9]+\n",
        ];
        for data in inputs {
            pattern(data);
        }
        let port = matchers::pattern("[0-9]{1,4}:").unwrap();
        let audited = Audited(port.clone());
        for seen in [&b""[..], b"12", b"1234", b"1234:", b"12345"] {
            assert_eq!(audited.verdict(seen), port.verdict(seen), "{seen:?}");
        }
    }

    #[test]
    fn a_costly_input_is_judged_on_a_share_of_runs_its_last_bytes_choose() {
        let input = |last: u8| [b'a', b'{', last];
        let cheap = CHEAP_VISITS - 1;
        assert!((0..=255).all(|last| is_judged_on_this_run(&input(last), cheap)));
        // One run in 11: about 23 of 256.
        let costly = 10 * CHEAP_VISITS;
        let judged = (0..=255)
            .filter(|&last| is_judged_on_this_run(&input(last), costly))
            .count();
        assert!((16..=32).contains(&judged), "{judged}");
    }
}
