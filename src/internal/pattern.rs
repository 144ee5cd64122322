//! The `pattern` target: [`matchers::pattern`] on arbitrary text, and what it
//! compiles on arbitrary bytes.

use crate::matcher::{Matcher, Verdict};
use crate::matchers;

use super::checks::{check_route_table, prefix_lengths};

/// The `pattern` target. The input up to its first LF is the pattern text
/// (read as UTF-8, lossily), the rest the bytes to match; without an LF,
/// the whole input is both. A refused pattern names an offset at a
/// character boundary of the text. A compiled one is prefix-monotone and
/// chunk-invariant on the bytes, has decided once it has seen
/// [`decides_within`](crate::matchers::Pattern::decides_within) bytes,
/// and visits no more states than its bound (bytes up to the decision ×
/// states) on any prefix: it never backtracks.
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
    for length in prefix_lengths(seen.len()) {
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
    check_route_table(&routes, seen);
}
