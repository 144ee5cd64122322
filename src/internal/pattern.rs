//! The `pattern` target: [`matchers::pattern`] on arbitrary text, and what it
//! compiles on arbitrary bytes.
//!
//! The input up to its first LF is the pattern text (read as UTF-8,
//! lossily), the rest the bytes to match; without an LF, the whole input
//! is both. A verdict costs up to the pattern's states times the bytes
//! judged, thousands of each, so a run makes one of the two checks that
//! judge many prefixes. The input's own bytes choose which, and where, so
//! that the fuzzer steers both:
//!
//! - its length: when even, prefix monotonicity and the end answers are
//!   checked; when odd, the route decision whole against chunked;
//! - its last eight bytes: four of the prefixes monotonicity is judged on
//!   (`sample.rs`);
//! - the bytes to match: the read sizes of the chunked decision, `b` a
//!   read of `b + 1` bytes.
//!
//! Whichever runs, every verdict it asks for is [`Audited`], and so are
//! the two on either side of the pattern's
//! [`decides_within`](crate::matchers::Pattern::decides_within).

use crate::matcher::{Matcher, Verdict};
use crate::matchers::{self, Pattern};

use super::checks::check_chunking;
use super::sample::check_monotone_sampled;

/// The `pattern` target. A refused pattern names an offset at a character
/// boundary of the text. A compiled one is prefix-monotone and agrees
/// with its own end answers on the bytes, or routes them the same whole
/// and chunked, as the input's length chooses; on every prefix it is
/// asked about it keeps its bounds (`Audited`).
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
}
