//! The two routes portshare adds to the configured ones, as sslh behaves:
//! `unmatched-to-last` sends a connection every route refused to the last
//! route, and `on-timeout NAME` sends one whose sniff ended undecided (the
//! deadline passed, or the byte limit or the client's end came first) to
//! the route named.
//!
//! Each is a matcher over the configured routes' own matchers: it decides
//! by what they say, so it keeps their prefix monotonicity, and costs one
//! more call of each configured matcher per judgement. The unmatched route
//! goes after the configured ones: it matches only once they all refused.
//! The undecided route goes before them: it refuses as soon as their
//! priority decides (the first route that has not refused matches, or all
//! refuse), so it never takes what a route takes by its bytes, but it is
//! asked first when the sniff ends undecided. So a later route that
//! matches anything (`any`) or would take an unfinished opening at the end
//! does not take a silent or slow client from it: sslh too sends a
//! connection its probes have not decided to its on-timeout protocol. A
//! client that sent nothing is a silence route's, if there is one.

use connmux::{Addresses, Matcher, Verdict};

/// What the fallback route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// A connection every configured route refused, at once; placed
    /// after them.
    Unmatched,
    /// A connection no configured route took when the sniff ends; placed
    /// before them.
    Undecided,
}

/// A fallback route's matcher: `routes` are fresh matchers of the
/// configured routes, in their order.
pub(crate) struct FallbackMatcher {
    kind: Fallback,
    routes: Vec<Box<dyn Matcher>>,
    /// Whether a configured route is a silence route: a client that sent
    /// nothing is then its, at its timeout, not the undecided route's.
    has_silence_route: bool,
}

impl FallbackMatcher {
    pub(crate) fn new(kind: Fallback, routes: Vec<Box<dyn Matcher>>) -> FallbackMatcher {
        let has_silence_route = routes.iter().any(|route| route.silence_timeout().is_some());
        FallbackMatcher {
            kind,
            routes,
            has_silence_route,
        }
    }

    /// What the configured routes decide of `seen` by their priority (the
    /// multiplexer's rule): `Match` once the first route that has not
    /// refused matches, `NeedMore` while it waits for bytes, `NoMatch` when
    /// all refuse.
    fn routes_decide(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
        for route in &self.routes {
            match route.verdict_with(addresses, seen) {
                Verdict::NoMatch => continue,
                decided => return decided,
            }
        }
        Verdict::NoMatch
    }
}

impl Matcher for FallbackMatcher {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.verdict_with(&Addresses::UNKNOWN, seen)
    }

    fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
        match (self.kind, self.routes_decide(addresses, seen)) {
            // While a configured route is undecided, wait: it may still
            // take the connection.
            (_, Verdict::NeedMore) => Verdict::NeedMore,
            (Fallback::Unmatched, Verdict::NoMatch) => Verdict::Match,
            (Fallback::Unmatched, Verdict::Match) => Verdict::NoMatch,
            (Fallback::Undecided, _) => Verdict::NoMatch,
        }
    }

    fn matches_at_end(&self, seen: &[u8]) -> bool {
        self.matches_at_end_with(&Addresses::UNKNOWN, seen)
    }

    fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
        self.kind == Fallback::Undecided
            && !(seen.is_empty() && self.has_silence_route)
            && self.routes_decide(addresses, seen) == Verdict::NeedMore
    }

    fn reads_addresses(&self) -> bool {
        self.routes.iter().any(|route| route.reads_addresses())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connmux::matchers::{any, http1_fast, silence, ssh};
    use std::time::Duration;

    /// sslh's example.cfg in small: ssh, then a catch-all.
    fn ssh_then_any() -> Vec<Box<dyn Matcher>> {
        vec![Box::new(ssh()), Box::new(any())]
    }

    #[test]
    fn the_undecided_route_takes_what_the_priority_left_undecided_at_the_end() {
        let undecided = FallbackMatcher::new(Fallback::Undecided, ssh_then_any());
        // Silent, or a partial SSH banner: ssh waits, so `any` cannot win.
        for seen in [&b""[..], b"SSH-2"] {
            assert_eq!(undecided.verdict(seen), Verdict::NeedMore, "{seen:?}");
            assert!(undecided.matches_at_end(seen), "{seen:?}");
        }
        // Decided by the routes: ssh's banner, or garbage for `any`.
        for seen in [&b"SSH-2.0-x\r\n"[..], b"\x00\x01"] {
            assert_eq!(undecided.verdict(seen), Verdict::NoMatch, "{seen:?}");
            assert!(!undecided.matches_at_end(seen), "{seen:?}");
        }
    }

    #[test]
    fn the_unmatched_route_takes_what_every_route_refused_at_once() {
        let routes = || -> Vec<Box<dyn Matcher>> { vec![Box::new(ssh()), Box::new(http1_fast())] };
        let unmatched = FallbackMatcher::new(Fallback::Unmatched, routes());
        assert_eq!(unmatched.verdict(b""), Verdict::NeedMore);
        assert_eq!(unmatched.verdict(b"\x00"), Verdict::Match);
        assert_eq!(unmatched.verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
        assert!(!unmatched.matches_at_end(b"GE"));
        // Nothing is left undecided when every route refused.
        let undecided = FallbackMatcher::new(Fallback::Undecided, routes());
        assert_eq!(undecided.verdict(b"\x00"), Verdict::NoMatch);
    }

    #[test]
    fn a_silent_client_is_a_silence_routes_not_the_undecided_routes() {
        let routes: Vec<Box<dyn Matcher>> = vec![
            Box::new(http1_fast()),
            Box::new(silence(Duration::from_millis(100))),
        ];
        let undecided = FallbackMatcher::new(Fallback::Undecided, routes);
        assert!(!undecided.matches_at_end(b""));
        assert!(undecided.matches_at_end(b"GE"));
    }
}
