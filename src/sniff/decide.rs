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

use crate::address::Addresses;
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

/// Where the routes stand before a connection has sent anything. Matchers
/// are pure, so this is the same for every connection with the same
/// addresses: a route table none of whose routes reads addresses works it
/// out once, and each sniff starts from it instead of asking every matcher
/// about the empty input again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opening {
    /// The decision on the empty input.
    decision: Decision,
    /// Every route before this index refuses the empty input, and so
    /// every input.
    first_open: usize,
    /// Whether a route still open has a silence timeout: without one, the
    /// silence checks are skipped.
    silence: bool,
}

impl Opening {
    /// Asks `matchers` about the empty input from a connection with
    /// `addresses`.
    pub(crate) fn of<M: Matcher>(matchers: &[M], addresses: &Addresses) -> Opening {
        let mut decider = RouteDecider::new(matchers, addresses);
        let decision = decider.decide(&[]);
        let open = &matchers[decider.first_open.min(matchers.len())..];
        Opening {
            decision,
            first_open: decider.first_open,
            silence: open.iter().any(|m| m.silence_timeout().is_some()),
        }
    }

    /// The decision on the empty input.
    pub(crate) fn decision(&self) -> Decision {
        self.decision
    }

    /// Every route before this index refuses the empty input.
    pub(crate) fn first_open(&self) -> usize {
        self.first_open
    }
}

/// Applies route priority to one connection's bytes, remembering which
/// leading routes have already refused it.
pub(crate) struct RouteDecider<'a, M> {
    matchers: &'a [M],
    /// The connection's addresses, which the matchers may read.
    addresses: &'a Addresses,
    /// Every route before this index has said `NoMatch`.
    first_open: usize,
    /// Whether some route may have a silence timeout.
    silence: bool,
}

impl<'a, M: Matcher> RouteDecider<'a, M> {
    /// A decider over `matchers`, in priority order, for a connection with
    /// `addresses`.
    pub(crate) fn new(matchers: &'a [M], addresses: &'a Addresses) -> Self {
        RouteDecider {
            matchers,
            addresses,
            first_open: 0,
            silence: true,
        }
    }

    /// A decider over `matchers` that has already seen the empty input,
    /// where they stand at `opening` ([`Opening::of`] the same matchers and
    /// addresses).
    pub(crate) fn opened(matchers: &'a [M], addresses: &'a Addresses, opening: Opening) -> Self {
        RouteDecider {
            matchers,
            addresses,
            first_open: opening.first_open,
            silence: opening.silence,
        }
    }

    /// Decides on `seen`, which must extend the bytes of every earlier call.
    pub(crate) fn decide(&mut self, seen: &[u8]) -> Decision {
        while let Some(matcher) = self.matchers.get(self.first_open) {
            match matcher.verdict_with(self.addresses, seen) {
                Verdict::Match => return Decision::Route(self.first_open),
                Verdict::NeedMore => return Decision::Undecided,
                Verdict::NoMatch => self.first_open += 1,
            }
        }
        Decision::NoRoute
    }

    /// The routes, in priority order.
    pub(crate) fn matchers(&self) -> &'a [M] {
        self.matchers
    }

    /// The addresses the routes judge.
    pub(crate) fn addresses(&self) -> &'a Addresses {
        self.addresses
    }

    /// Every route before this index has said `NoMatch`.
    pub(crate) fn first_open(&self) -> usize {
        self.first_open
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
        match open.iter().position(|m| {
            m.matches_at_end_with(self.addresses, seen) || (silent && silence_passed(m, elapsed))
        }) {
            Some(offset) => Decision::Route(self.first_open + offset),
            None => Decision::NoRoute,
        }
    }

    /// Decides for a client that has sent nothing for `elapsed`: once a
    /// silence route's timeout has passed, the input counts as ended at
    /// silence. `Undecided` while no silence timeout has passed.
    pub(crate) fn decide_silent(&mut self, elapsed: Duration) -> Decision {
        if !self.silence {
            return Decision::Undecided;
        }
        let open = &self.matchers[self.first_open.min(self.matchers.len())..];
        if !open.iter().any(|m| silence_passed(m, elapsed)) {
            return Decision::Undecided;
        }
        self.decide_at_end(&[], elapsed)
    }

    /// The next silence timeout, among routes still open, that has not
    /// passed after `elapsed`.
    pub(crate) fn next_silence_timeout(&self, elapsed: Duration) -> Option<Duration> {
        if !self.silence {
            return None;
        }
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
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
        assert_eq!(decider.decide(b"AB"), Decision::Undecided);
        assert_eq!(decider.decide(b"ABC"), Decision::Undecided);
        assert_eq!(decider.decide(b"ABCX"), Decision::Route(1));
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
        assert_eq!(decider.decide(b"ABCD"), Decision::Route(0));
    }

    #[test]
    fn the_opening_depends_on_the_addresses_when_a_route_reads_them() {
        use crate::matchers::from;
        let routes = [boxed(from(["10.0.0.0/8"]).unwrap()), boxed(http1_fast())];
        let inside = Addresses::direct(
            "10.0.0.7:1".parse().unwrap(),
            "10.0.0.1:80".parse().unwrap(),
        );
        let opening = Opening::of(&routes, &inside);
        assert_eq!(opening.decision(), Decision::Route(0));
        let opening = Opening::of(&routes, &Addresses::UNKNOWN);
        assert_eq!(opening.decision(), Decision::Undecided);
        let mut decider = RouteDecider::opened(&routes, &Addresses::UNKNOWN, opening);
        assert_eq!(decider.blocking(), Some(1), "the address route is out");
        assert_eq!(decider.decide(b"GET "), Decision::Route(1));
    }

    #[test]
    fn the_end_of_input_settles_undecided_routes() {
        let routes = [boxed(prefixes(["ABCD"])), boxed(any())];
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
        assert_eq!(decider.decide(b""), Decision::Undecided);
        assert_eq!(
            decider.decide_at_end(b"", Duration::ZERO),
            Decision::Route(1)
        );
        let routes = [boxed(prefixes(["ABCD"]))];
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
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
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
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
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
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
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
        assert_eq!(decider.decide(b""), Decision::Undecided);
        assert_eq!(decider.blocking(), Some(0));
        assert_eq!(
            decider.decide_silent(Duration::from_secs(1)),
            Decision::Route(0)
        );
    }

    #[test]
    fn the_opening_is_the_decision_on_empty_input() {
        let refuse = |_: &[u8]| Verdict::NoMatch;
        let second = Duration::from_secs(1);
        let cases = [
            (
                vec![boxed(http1_fast()), boxed(any())],
                Decision::Undecided,
                false,
            ),
            (vec![boxed(refuse), boxed(any())], Decision::Route(1), false),
            (vec![boxed(refuse), boxed(refuse)], Decision::NoRoute, false),
            (
                vec![boxed(tls()), boxed(silence(second))],
                Decision::Undecided,
                true,
            ),
            (
                vec![boxed(silence(second)), boxed(refuse)],
                Decision::Undecided,
                true,
            ),
        ];
        for (routes, decision, silence) in cases {
            let opening = Opening::of(&routes, &Addresses::UNKNOWN);
            assert_eq!(opening.decision(), decision);
            assert_eq!(opening.silence, silence);
            assert_eq!(
                RouteDecider::new(&routes, &Addresses::UNKNOWN).decide(b""),
                decision
            );
        }
    }

    #[test]
    fn a_decider_opened_decides_as_one_that_saw_the_empty_input() {
        let refuse = |_: &[u8]| Verdict::NoMatch;
        let routes = [
            boxed(refuse),
            boxed(http2_preface()),
            boxed(http1_fast()),
            boxed(silence(Duration::from_secs(1))),
            boxed(any()),
        ];
        let inputs: [&[u8]; 5] = [b"PRI * HT", b"GET / HTTP/1.1", b"\x16\x03", b"G", b""];
        for input in inputs {
            let mut fresh = RouteDecider::new(&routes, &Addresses::UNKNOWN);
            fresh.decide(b"");
            let mut opened = RouteDecider::opened(
                &routes,
                &Addresses::UNKNOWN,
                Opening::of(&routes, &Addresses::UNKNOWN),
            );
            assert_eq!(opened.decide(input), fresh.decide(input), "{input:?}");
            assert_eq!(opened.blocking(), fresh.blocking());
            let second = Duration::from_secs(1);
            assert_eq!(opened.decide_silent(second), fresh.decide_silent(second));
            assert_eq!(
                opened.decide_at_end(input, second),
                fresh.decide_at_end(input, second)
            );
        }
    }

    #[test]
    fn without_silence_routes_the_silence_checks_decide_nothing() {
        let routes = [boxed(http1_fast()), boxed(any())];
        let opened = RouteDecider::opened(
            &routes,
            &Addresses::UNKNOWN,
            Opening::of(&routes, &Addresses::UNKNOWN),
        );
        assert_eq!(opened.next_silence_timeout(Duration::ZERO), None);
        let mut opened = opened;
        assert_eq!(
            opened.decide_silent(Duration::from_secs(3600)),
            Decision::Undecided
        );
    }

    #[test]
    fn no_routes_and_all_refusing() {
        let routes: [Box<dyn Matcher>; 0] = [];
        assert_eq!(
            RouteDecider::new(&routes, &Addresses::UNKNOWN).decide(b""),
            Decision::NoRoute
        );
        assert_eq!(
            RouteDecider::new(&routes, &Addresses::UNKNOWN).decide_at_end(b"", Duration::ZERO),
            Decision::NoRoute
        );
        let routes = [boxed(http1_fast()), boxed(tls())];
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
        assert_eq!(decider.decide(b"\x00"), Decision::NoRoute);
        assert_eq!(decider.blocking(), None);
        assert_eq!(
            decider.decide_at_end(b"\x00", Duration::ZERO),
            Decision::NoRoute
        );
    }
}
