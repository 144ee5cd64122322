//! Route priority: which route, if any, the bytes seen so far select.
//!
//! Routes are tried in registration order. A route wins when its matcher
//! says `Match` and every earlier route has said `NoMatch`; while an earlier
//! route still needs bytes, a later route's match waits. Once the input has
//! ended (EOF, deadline, byte limit), each undecided route is asked
//! `matches_at_end` and the first that says yes wins.
//!
//! Because a `NoMatch` is final (prefix monotonicity), the decider skips
//! routes that have already refused the connection, so each read costs one
//! matcher call per route still in play.

use std::time::Duration;

use crate::matcher::{Matcher, Verdict};

/// The state of the decision after the bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The route with this index (registration order) takes the connection.
    Route(usize),
    /// Every route refused the connection.
    NoRoute,
    /// Some route needs more bytes before a winner is known.
    Undecided,
}

/// Applies route priority to one connection's bytes, remembering which
/// leading routes have already refused it.
pub(crate) struct RouteDecider<'a, M> {
    matchers: &'a [M],
    /// Every route before this index has said `NoMatch`.
    first_open: usize,
}

impl<'a, M: Matcher> RouteDecider<'a, M> {
    /// A decider over `matchers`, in priority order.
    pub(crate) fn new(matchers: &'a [M]) -> Self {
        RouteDecider {
            matchers,
            first_open: 0,
        }
    }

    /// Decides on `seen`, which must extend the bytes of every earlier call.
    pub(crate) fn decide(&mut self, seen: &[u8]) -> Decision {
        while let Some(matcher) = self.matchers.get(self.first_open) {
            match matcher.verdict(seen) {
                Verdict::Match => return Decision::Route(self.first_open),
                Verdict::NeedMore => return Decision::Undecided,
                Verdict::NoMatch => self.first_open += 1,
            }
        }
        Decision::NoRoute
    }

    /// The route holding up the decision: the first that has not said
    /// `NoMatch`, if any.
    pub(crate) fn blocking(&self) -> Option<usize> {
        (self.first_open < self.matchers.len()).then_some(self.first_open)
    }

    /// Decides on `seen` as the complete input: no more bytes will come.
    /// `elapsed` is the time since accept, for silence routes: one whose
    /// timeout has passed matches an empty input.
    pub(crate) fn decide_at_end(&mut self, seen: &[u8], elapsed: Duration) -> Decision {
        let silent = seen.is_empty();
        let open = &self.matchers[self.first_open.min(self.matchers.len())..];
        match open
            .iter()
            .position(|m| m.matches_at_end(seen) || (silent && silence_passed(m, elapsed)))
        {
            Some(offset) => Decision::Route(self.first_open + offset),
            None => Decision::NoRoute,
        }
    }

    /// Decides for a client that has sent nothing for `elapsed`: once a
    /// silence route's timeout has passed, the input counts as ended at
    /// silence. `Undecided` while no silence timeout has passed.
    pub(crate) fn decide_silent(&mut self, elapsed: Duration) -> Decision {
        let open = &self.matchers[self.first_open.min(self.matchers.len())..];
        if !open.iter().any(|m| silence_passed(m, elapsed)) {
            return Decision::Undecided;
        }
        self.decide_at_end(&[], elapsed)
    }

    /// The next silence timeout, among routes still open, that has not
    /// passed after `elapsed`.
    pub(crate) fn next_silence_timeout(&self, elapsed: Duration) -> Option<Duration> {
        let open = &self.matchers[self.first_open.min(self.matchers.len())..];
        open.iter()
            .filter_map(|m| m.silence_timeout())
            .filter(|&timeout| timeout > elapsed)
            .min()
    }
}

/// Whether `matcher` is a silence matcher whose timeout has passed.
fn silence_passed<M: Matcher>(matcher: &M, elapsed: Duration) -> bool {
    matcher
        .silence_timeout()
        .is_some_and(|timeout| elapsed >= timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::{any, http1_fast, http2_preface, prefixes, silence, tls};

    fn boxed(m: impl Matcher + 'static) -> Box<dyn Matcher> {
        Box::new(m)
    }

    #[test]
    fn a_later_match_waits_for_earlier_routes() {
        let routes = [boxed(prefixes(["ABCD"])), boxed(prefixes(["AB"]))];
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(b"AB"), Decision::Undecided);
        assert_eq!(decider.decide(b"ABC"), Decision::Undecided);
        assert_eq!(decider.decide(b"ABCX"), Decision::Route(1));
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(b"ABCD"), Decision::Route(0));
    }

    #[test]
    fn the_end_of_input_settles_undecided_routes() {
        let routes = [boxed(prefixes(["ABCD"])), boxed(any())];
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(b""), Decision::Undecided);
        assert_eq!(
            decider.decide_at_end(b"", Duration::ZERO),
            Decision::Route(1)
        );
        let routes = [boxed(prefixes(["ABCD"]))];
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(b"AB"), Decision::Undecided);
        assert_eq!(
            decider.decide_at_end(b"AB", Duration::ZERO),
            Decision::NoRoute
        );
    }

    #[test]
    fn a_short_protocol_behind_long_matchers_is_decided_at_once() {
        let routes = [
            boxed(http1_fast()),
            boxed(http2_preface()),
            boxed(tls()),
            boxed(prefixes([[0x05u8]])),
        ];
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(&[0x05, 0x01, 0x00]), Decision::Route(3));
    }

    #[test]
    fn silence_ends_the_input_once_its_timeout_passes() {
        let second = Duration::from_secs(1);
        let routes = [
            boxed(http1_fast()),
            boxed(silence(2 * second)),
            boxed(silence(second)),
        ];
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(b""), Decision::Undecided);
        assert_eq!(decider.next_silence_timeout(Duration::ZERO), Some(second));
        assert_eq!(decider.decide_silent(second / 2), Decision::Undecided);
        assert_eq!(decider.decide_silent(second), Decision::Route(2));
        assert_eq!(decider.decide_silent(2 * second), Decision::Route(1));
        assert_eq!(decider.next_silence_timeout(2 * second), None);
        assert_eq!(decider.decide_at_end(b"", 3 * second), Decision::Route(1));
        assert_eq!(
            decider.decide_at_end(b"", Duration::ZERO),
            Decision::NoRoute
        );
        assert_eq!(decider.decide(b"x"), Decision::NoRoute);
    }

    #[test]
    fn at_silence_an_earlier_route_matching_empty_input_wins() {
        let routes = [
            boxed(crate::not(http1_fast())),
            boxed(silence(Duration::from_secs(1))),
        ];
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(b""), Decision::Undecided);
        assert_eq!(decider.blocking(), Some(0));
        assert_eq!(
            decider.decide_silent(Duration::from_secs(1)),
            Decision::Route(0)
        );
    }

    #[test]
    fn no_routes_and_all_refusing() {
        let routes: [Box<dyn Matcher>; 0] = [];
        assert_eq!(RouteDecider::new(&routes).decide(b""), Decision::NoRoute);
        assert_eq!(
            RouteDecider::new(&routes).decide_at_end(b"", Duration::ZERO),
            Decision::NoRoute
        );
        let routes = [boxed(http1_fast()), boxed(tls())];
        let mut decider = RouteDecider::new(&routes);
        assert_eq!(decider.decide(b"\x00"), Decision::NoRoute);
        assert_eq!(decider.blocking(), None);
        assert_eq!(
            decider.decide_at_end(b"\x00", Duration::ZERO),
            Decision::NoRoute
        );
    }
}
