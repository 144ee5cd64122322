//! Matcher combinators: any-of, all-of and not.
//!
//! They build one route's matcher out of several (cmux's `m.Match(a, b)` is
//! `any_of((a, b))`). Each keeps prefix monotonicity when its parts have it,
//! and each answers `matches_at_end` from its parts' own end answers, so
//! `not` of an unfinished HTTP/2 preface is a match once the input ends.

use crate::address::Addresses;
use crate::matcher::{Matcher, ReplyAck, Verdict};

/// A fixed list of matchers, walked in order by [`AnyOf`] and [`AllOf`].
///
/// Implemented for tuples of up to eight matchers (they may have different
/// types), arrays, and vectors (use `Vec<Box<dyn Matcher>>` for a list built
/// at run time).
pub trait MatcherList: Send + Sync {
    /// Calls `visit` on each matcher in order until it returns `true`;
    /// returns whether some call did.
    ///
    /// ```
    /// use connmux::{MatcherList, Verdict};
    /// use connmux::matchers::{http1_fast, ssh};
    ///
    /// let list = (http1_fast(), ssh());
    /// let mut asked = 0;
    /// let matched = list.any(&mut |m| {
    ///     asked += 1;
    ///     m.verdict(b"GET / HTTP/1.1\r\n") == Verdict::Match
    /// });
    /// assert!(matched);
    /// assert_eq!(asked, 1); // ssh() was never asked
    /// ```
    fn any(&self, visit: &mut dyn FnMut(&dyn Matcher) -> bool) -> bool;
}

impl<M: Matcher> MatcherList for [M] {
    fn any(&self, visit: &mut dyn FnMut(&dyn Matcher) -> bool) -> bool {
        self.iter().any(|m| visit(m))
    }
}

impl<M: Matcher, const N: usize> MatcherList for [M; N] {
    fn any(&self, visit: &mut dyn FnMut(&dyn Matcher) -> bool) -> bool {
        self.as_slice().any(visit)
    }
}

impl<M: Matcher> MatcherList for Vec<M> {
    fn any(&self, visit: &mut dyn FnMut(&dyn Matcher) -> bool) -> bool {
        self.as_slice().any(visit)
    }
}

macro_rules! tuple_matcher_list {
    ($($name:ident . $index:tt),+) => {
        impl<$($name: Matcher),+> MatcherList for ($($name,)+) {
            fn any(&self, visit: &mut dyn FnMut(&dyn Matcher) -> bool) -> bool {
                $(visit(&self.$index))||+
            }
        }
    };
}

tuple_matcher_list!(A.0);
tuple_matcher_list!(A.0, B.1);
tuple_matcher_list!(A.0, B.1, C.2);
tuple_matcher_list!(A.0, B.1, C.2, D.3);
tuple_matcher_list!(A.0, B.1, C.2, D.3, E.4);
tuple_matcher_list!(A.0, B.1, C.2, D.3, E.4, F.5);
tuple_matcher_list!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
tuple_matcher_list!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);

/// Matches when any of its matchers matches; see [`any_of`].
#[derive(Debug, Clone)]
pub struct AnyOf<L>(L);

/// Matches when all of its matchers match; see [`all_of`].
#[derive(Debug, Clone)]
pub struct AllOf<L>(L);

/// Matches exactly what its matcher does not; see [`not`].
#[derive(Debug, Clone)]
pub struct Not<M>(M);

/// A matcher that says `Match` as soon as any of `matchers` does, and
/// `NoMatch` once all of them have.
///
/// ```
/// use connmux::{any_of, Matcher, Verdict};
/// use connmux::matchers::{http1_fast, http2_preface};
///
/// let http = any_of((http1_fast(), http2_preface()));
/// assert_eq!(http.verdict(b"GET / HTTP/1.1\r\n"), Verdict::Match);
/// assert_eq!(http.verdict(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Verdict::Match);
/// assert_eq!(http.verdict(b"SSH-2.0-"), Verdict::NoMatch);
/// ```
pub fn any_of<L: MatcherList>(matchers: L) -> AnyOf<L> {
    AnyOf(matchers)
}

/// A matcher that says `Match` once all of `matchers` do, and `NoMatch` as
/// soon as any of them does.
///
/// ```
/// use connmux::{all_of, Matcher, Verdict};
/// use connmux::matchers::{http1_fast, prefixes};
///
/// let get_only = all_of((http1_fast(), prefixes(["GET "])));
/// assert_eq!(get_only.verdict(b"GET / HTTP/1.1\r\n"), Verdict::Match);
/// assert_eq!(get_only.verdict(b"POST / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn all_of<L: MatcherList>(matchers: L) -> AllOf<L> {
    AllOf(matchers)
}

/// A matcher that swaps `Match` and `NoMatch` of `matcher`; at the end of
/// the input it matches whatever `matcher` did not.
///
/// ```
/// use connmux::{not, Matcher, Verdict};
/// use connmux::matchers::http2_preface;
///
/// let not_h2 = not(http2_preface());
/// assert_eq!(not_h2.verdict(b"GET /"), Verdict::Match);
/// assert_eq!(not_h2.verdict(b"PRI *"), Verdict::NeedMore);
/// assert!(not_h2.matches_at_end(b"PRI *"));
/// ```
pub fn not<M: Matcher>(matcher: M) -> Not<M> {
    Not(matcher)
}

impl<L: MatcherList> Matcher for AnyOf<L> {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.verdict_with(&Addresses::UNKNOWN, seen)
    }

    fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
        let mut undecided = false;
        let matched = self.0.any(&mut |m| match m.verdict_with(addresses, seen) {
            Verdict::Match => true,
            Verdict::NoMatch => false,
            Verdict::NeedMore => {
                undecided = true;
                false
            }
        });
        if matched {
            Verdict::Match
        } else if undecided {
            Verdict::NeedMore
        } else {
            Verdict::NoMatch
        }
    }

    fn matches_at_end(&self, seen: &[u8]) -> bool {
        self.matches_at_end_with(&Addresses::UNKNOWN, seen)
    }

    fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
        self.0.any(&mut |m| m.matches_at_end_with(addresses, seen))
    }

    fn reads_addresses(&self) -> bool {
        self.0.any(&mut |m| m.reads_addresses())
    }

    fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
        first_reply(&self.0, seen)
    }

    fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
        first_reply_ack(&self.0, seen)
    }
}

/// The first reply any part of `list` asks for.
fn first_reply<L: MatcherList + ?Sized>(list: &L, seen: &[u8]) -> Option<&'static [u8]> {
    let mut reply = None;
    list.any(&mut |m| {
        reply = m.reply(seen);
        reply.is_some()
    });
    reply
}

/// The acknowledgement the first part with one reports.
fn first_reply_ack<L: MatcherList + ?Sized>(list: &L, seen: &[u8]) -> ReplyAck {
    let mut ack = ReplyAck::None;
    list.any(&mut |m| {
        ack = m.reply_ack(seen);
        ack != ReplyAck::None
    });
    ack
}

impl<L: MatcherList> Matcher for AllOf<L> {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.verdict_with(&Addresses::UNKNOWN, seen)
    }

    fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
        let mut undecided = false;
        let refused = self.0.any(&mut |m| match m.verdict_with(addresses, seen) {
            Verdict::Match => false,
            Verdict::NoMatch => true,
            Verdict::NeedMore => {
                undecided = true;
                false
            }
        });
        if refused {
            Verdict::NoMatch
        } else if undecided {
            Verdict::NeedMore
        } else {
            Verdict::Match
        }
    }

    fn matches_at_end(&self, seen: &[u8]) -> bool {
        self.matches_at_end_with(&Addresses::UNKNOWN, seen)
    }

    fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
        !self.0.any(&mut |m| !m.matches_at_end_with(addresses, seen))
    }

    fn reads_addresses(&self) -> bool {
        self.0.any(&mut |m| m.reads_addresses())
    }

    fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
        first_reply(&self.0, seen)
    }

    fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
        first_reply_ack(&self.0, seen)
    }
}

impl<M: Matcher> Matcher for Not<M> {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.verdict_with(&Addresses::UNKNOWN, seen)
    }

    fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
        match self.0.verdict_with(addresses, seen) {
            Verdict::Match => Verdict::NoMatch,
            Verdict::NoMatch => Verdict::Match,
            Verdict::NeedMore => Verdict::NeedMore,
        }
    }

    fn matches_at_end(&self, seen: &[u8]) -> bool {
        self.matches_at_end_with(&Addresses::UNKNOWN, seen)
    }

    fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
        !self.0.matches_at_end_with(addresses, seen)
    }

    fn reads_addresses(&self) -> bool {
        self.0.reads_addresses()
    }

    fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
        self.0.reply(seen)
    }

    fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
        self.0.reply_ack(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Match, NeedMore, NoMatch};

    fn fixed(v: Verdict) -> impl Matcher {
        move |_: &[u8]| v
    }

    #[test]
    fn any_of_table() {
        let cases = [
            ([Match, NoMatch], Match),
            ([NeedMore, Match], Match),
            ([NeedMore, NoMatch], NeedMore),
            ([NoMatch, NoMatch], NoMatch),
        ];
        for ([a, b], want) in cases {
            assert_eq!(
                any_of((fixed(a), fixed(b))).verdict(b""),
                want,
                "{a:?} {b:?}"
            );
        }
        let empty: Vec<Box<dyn Matcher>> = Vec::new();
        assert_eq!(any_of(empty).verdict(b"x"), NoMatch);
    }

    #[test]
    fn all_of_table() {
        let cases = [
            ([Match, Match], Match),
            ([NeedMore, Match], NeedMore),
            ([NeedMore, NoMatch], NoMatch),
            ([Match, NoMatch], NoMatch),
        ];
        for ([a, b], want) in cases {
            assert_eq!(
                all_of([fixed(a), fixed(b)]).verdict(b""),
                want,
                "{a:?} {b:?}"
            );
        }
        let empty: Vec<Box<dyn Matcher>> = Vec::new();
        assert_eq!(all_of(empty).verdict(b"x"), Match);
    }

    #[test]
    fn end_of_input_follows_parts() {
        let undecided = || fixed(NeedMore);
        assert!(!any_of((undecided(), undecided())).matches_at_end(b""));
        assert!(any_of((undecided(), fixed(Match))).matches_at_end(b""));
        assert!(!all_of((undecided(), fixed(Match))).matches_at_end(b""));
        assert!(all_of((fixed(Match), fixed(Match))).matches_at_end(b""));
        assert!(not(undecided()).matches_at_end(b""));
        assert!(!not(not(undecided())).matches_at_end(b""));
        assert_eq!(not(fixed(Match)).verdict(b""), NoMatch);
        assert_eq!(not(fixed(NoMatch)).verdict(b""), Match);
    }

    /// Replies when nothing has been seen; its acknowledgement is byte 0.
    struct Greeter;
    impl Matcher for Greeter {
        fn verdict(&self, _: &[u8]) -> Verdict {
            NeedMore
        }
        fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
            seen.is_empty().then_some(b"hello")
        }
        fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
            if seen.is_empty() {
                ReplyAck::Pending
            } else {
                ReplyAck::At(0..1)
            }
        }
    }

    #[test]
    fn replies_and_acknowledgements_pass_through() {
        assert_eq!(
            any_of((fixed(NoMatch), Greeter)).reply(b""),
            Some(&b"hello"[..])
        );
        assert_eq!(
            all_of((Greeter, fixed(Match))).reply_ack(b"x"),
            ReplyAck::At(0..1)
        );
        assert_eq!(not(Greeter).reply_ack(b""), ReplyAck::Pending);
        assert_eq!(any_of((fixed(NoMatch), fixed(Match))).reply(b""), None);
        assert_eq!(
            any_of((fixed(NoMatch), fixed(Match))).reply_ack(b""),
            ReplyAck::None
        );
    }

    #[test]
    fn boxed_lists_mix_types() {
        let list: Vec<Box<dyn Matcher>> = vec![Box::new(fixed(NoMatch)), Box::new(fixed(Match))];
        assert_eq!(any_of(list).verdict(b""), Match);
    }
}
