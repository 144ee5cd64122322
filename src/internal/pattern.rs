//! The `pattern` target: [`matchers::pattern`] on arbitrary text, and what it
//! compiles on arbitrary bytes.

use crate::matcher::{Matcher, Verdict};
use crate::matchers;

use super::sample::{check_route_table_sampled, chosen_lengths};

/// The `pattern` target. The input up to its first LF is the pattern text
/// (read as UTF-8, lossily), the rest the bytes to match; without an LF,
/// the whole input is both. A refused pattern names an offset at a
/// character boundary of the text. A compiled one is prefix-monotone and
/// chunk-invariant on the bytes, has decided once it has seen
/// [`decides_within`](crate::matchers::Pattern::decides_within) bytes,
/// and visits no more states than its bound (bytes up to the decision ×
/// states) on any prefix: it never backtracks. Prefixes are sampled
/// (`sample.rs`), with those on either side of the bound.
pub fn pattern(data: &[u8]) {
    let (text, seen) = match data.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, data),
    };
    let text = String::from_utf8_lossy(text);
    let compiled = match matchers::pattern(&text) {
        Ok(compiled) => compiled,
        Err(error) => {
            assert!(
                text.is_char_boundary(error.offset()),
                "{text:?}: {error:?} is not at a character of the text"
            );
            return;
        }
    };
    // The sampled prefixes, and those on either side of the bound.
    let bound = compiled.decides_within();
    let around_bound = [bound.saturating_sub(1), bound]
        .into_iter()
        .filter(|&length| length <= seen.len());
    for length in chosen_lengths(seen).chain(around_bound) {
        let prefix = &seen[..length];
        let (verdict, visited) = compiled.run(prefix);
        assert!(
            visited <= compiled.most_visits(prefix),
            "{text:?}: {visited} states visited on {length} bytes"
        );
        if length >= compiled.decides_within() {
            assert_ne!(verdict, Verdict::NeedMore, "{text:?} on {prefix:02x?}");
        }
    }
    let routes: [Box<dyn Matcher>; 1] = [Box::new(compiled)];
    check_route_table_sampled(&routes, seen);
}
