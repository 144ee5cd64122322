//! Prefix matching: a fixed set of byte strings, any of which may open the
//! connection (cmux's `PrefixMatcher`). It is the building block of the
//! HTTP/1 method matcher and of most "magic bytes" protocol detectors.

use crate::matcher::{Matcher, Verdict};

/// Judges `seen` against one expected opening: `NoMatch` at the first byte
/// that differs, `Match` once all of `prefix` has arrived.
pub(crate) fn prefix_verdict(seen: &[u8], prefix: &[u8]) -> Verdict {
    let compared = seen.len().min(prefix.len());
    // Short openings (HTTP methods, magic bytes) are compared byte by
    // byte, stopping at the first difference: a call to `memcmp` costs
    // more than the few bytes it would compare.
    let differs = if compared <= 16 {
        seen[..compared]
            .iter()
            .zip(&prefix[..compared])
            .any(|(a, b)| a != b)
    } else {
        seen[..compared] != prefix[..compared]
    };
    if differs {
        Verdict::NoMatch
    } else if compared == prefix.len() {
        Verdict::Match
    } else {
        Verdict::NeedMore
    }
}

/// Matches connections that start with any of a set of byte strings; see
/// [`prefixes`].
#[derive(Debug, Clone)]
pub struct PrefixSet {
    /// The non-empty prefixes, sorted, so that those sharing a first byte
    /// are adjacent.
    sorted: Vec<Box<[u8]>>,
    /// `sorted[first_byte_start[b]..first_byte_start[b + 1]]` are the
    /// prefixes whose first byte is `b`.
    first_byte_start: Vec<u32>,
    /// Whether the set holds the empty prefix, which matches everything.
    has_empty: bool,
}

/// A matcher for connections that start with any of `prefixes`.
///
/// It says `Match` as soon as one prefix is complete, and `NoMatch` at the
/// first byte that no prefix allows. An empty prefix matches every
/// connection; an empty set matches none.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::prefixes;
///
/// let ssh_or_socks5 = prefixes([&b"SSH-"[..], &[0x05][..]]);
/// assert_eq!(ssh_or_socks5.verdict(b"SS"), Verdict::NeedMore);
/// assert_eq!(ssh_or_socks5.verdict(b"SSH-2.0-OpenSSH_9.2\r\n"), Verdict::Match);
/// assert_eq!(ssh_or_socks5.verdict(&[0x05, 0x01, 0x00]), Verdict::Match);
/// assert_eq!(ssh_or_socks5.verdict(b"GET"), Verdict::NoMatch);
/// ```
pub fn prefixes<I, P>(prefixes: I) -> PrefixSet
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    let mut has_empty = false;
    let mut sorted: Vec<Box<[u8]>> = Vec::new();
    for prefix in prefixes {
        let prefix = prefix.as_ref();
        if prefix.is_empty() {
            has_empty = true;
        } else {
            sorted.push(prefix.into());
        }
    }
    sorted.sort();
    sorted.dedup();
    let mut first_byte_start = vec![0u32; 257];
    for prefix in &sorted {
        first_byte_start[usize::from(prefix[0]) + 1] += 1;
    }
    for byte in 1..first_byte_start.len() {
        first_byte_start[byte] += first_byte_start[byte - 1];
    }
    PrefixSet {
        sorted,
        first_byte_start,
        has_empty,
    }
}

impl PrefixSet {
    /// The prefixes in the set, in sorted order (the empty prefix first if
    /// present).
    ///
    /// ```
    /// use connmux::matchers::prefixes;
    ///
    /// let set = prefixes(["SSH-", "GET ", "", "GET "]);
    /// let listed: Vec<&[u8]> = set.iter().collect();
    /// assert_eq!(listed, [&b""[..], b"GET ", b"SSH-"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let empty: &[u8] = &[];
        self.has_empty
            .then_some(empty)
            .into_iter()
            .chain(self.sorted.iter().map(|p| &p[..]))
    }
}

impl Matcher for PrefixSet {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        if self.has_empty {
            return Verdict::Match;
        }
        let Some(&first) = seen.first() else {
            return if self.sorted.is_empty() {
                Verdict::NoMatch
            } else {
                Verdict::NeedMore
            };
        };
        let start = self.first_byte_start[usize::from(first)] as usize;
        let end = self.first_byte_start[usize::from(first) + 1] as usize;
        let mut verdict = Verdict::NoMatch;
        let bucket = &self.sorted[start..end];
        for prefix in bucket {
            // A bucket's prefixes share their first byte and mostly differ
            // at the second: where there are several, one byte compared
            // here saves the full comparison of each that differs.
            if bucket.len() > 1 {
                if let (Some(byte), Some(wanted)) = (seen.get(1), prefix.get(1)) {
                    if byte != wanted {
                        continue;
                    }
                }
            }
            match prefix_verdict(seen, prefix) {
                Verdict::Match => return Verdict::Match,
                Verdict::NeedMore => verdict = Verdict::NeedMore,
                Verdict::NoMatch => {}
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Match, NeedMore, NoMatch};

    /// The obvious definition, to check the bucketed one against.
    fn naive(set: &[&[u8]], seen: &[u8]) -> Verdict {
        if set.iter().any(|p| seen.starts_with(p)) {
            Match
        } else if set.iter().any(|p| p.starts_with(seen)) {
            NeedMore
        } else {
            NoMatch
        }
    }

    #[test]
    fn table() {
        let set: &[&[u8]] = &[b"GET ", b"GETX", b"POST ", b"\x16\x03", b"P"];
        let matcher = prefixes(set);
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (b"G", NeedMore),
            (b"GE", NeedMore),
            (b"GET", NeedMore),
            (b"GET ", Match),
            (b"GETX", Match),
            (b"GETY", NoMatch),
            (b"P", Match),
            (b"POST /", Match),
            (b"\x16", NeedMore),
            (b"\x16\x03\x01", Match),
            (b"\x16\x02", NoMatch),
            (b"\xff", NoMatch),
        ];
        for (seen, want) in cases {
            assert_eq!(matcher.verdict(seen), *want, "{seen:?}");
            assert_eq!(naive(set, seen), *want, "naive {seen:?}");
        }
    }

    #[test]
    fn empty_prefix_and_empty_set() {
        assert_eq!(prefixes([b""]).verdict(b""), Match);
        assert_eq!(prefixes([&b"abc"[..], b""]).verdict(b"zzz"), Match);
        let none: [&[u8]; 0] = [];
        assert_eq!(prefixes(none).verdict(b""), NoMatch);
        assert_eq!(prefixes(none).verdict(b"a"), NoMatch);
    }

    #[test]
    fn iter_lists_sorted_unique_prefixes() {
        let set = prefixes(["b", "a", "b", ""]);
        let listed: Vec<&[u8]> = set.iter().collect();
        assert_eq!(listed, [&b""[..], b"a", b"b"]);
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_naive(
            set in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..4), 0..6),
            seen in proptest::collection::vec(0u8..4, 0..6),
        ) {
            let refs: Vec<&[u8]> = set.iter().map(|p| &p[..]).collect();
            proptest::prop_assert_eq!(prefixes(&refs).verdict(&seen), naive(&refs, &seen));
        }
    }
}
