//! The two routes portshare adds after the configured ones, as sslh
//! behaves: `unmatched-to-last` sends a connection every route refused to
//! the last route, and `on-timeout NAME` sends one whose sniff ended
//! undecided (the deadline passed, or the byte limit or the client's end
//! came first) to the route named.
//!
//! Each is a matcher over the configured routes' own matchers: it decides
//! by what they say, so it keeps their prefix monotonicity. Placed after
//! them, it never takes a connection one of them takes, and costs one
//! more call of each matcher still undecided per read.

use connmux::{Addresses, Matcher, Verdict};

/// What the fallback route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// A connection every configured route refused, at once.
    Unmatched,
    /// A connection still undecided when the sniff ends.
    Undecided,
}

/// A fallback route's matcher: `routes` are fresh matchers of the
/// configured routes, in their order.
pub(crate) struct FallbackMatcher {
    kind: Fallback,
    routes: Vec<Box<dyn Matcher>>,
}

impl FallbackMatcher {
    pub(crate) fn new(kind: Fallback, routes: Vec<Box<dyn Matcher>>) -> FallbackMatcher {
        FallbackMatcher { kind, routes }
    }

    /// Whether every configured route has refused `seen`.
    fn all_refuse(&self, addresses: &Addresses, seen: &[u8]) -> bool {
        self.routes
            .iter()
            .all(|route| route.verdict_with(addresses, seen) == Verdict::NoMatch)
    }
}

impl Matcher for FallbackMatcher {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.verdict_with(&Addresses::UNKNOWN, seen)
    }

    fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
        // While a configured route is undecided, wait: it may still take
        // the connection, and a match here would wait for it anyway.
        match (self.kind, self.all_refuse(addresses, seen)) {
            (Fallback::Unmatched, true) => Verdict::Match,
            (Fallback::Undecided, true) => Verdict::NoMatch,
            (_, false) => Verdict::NeedMore,
        }
    }

    fn matches_at_end(&self, seen: &[u8]) -> bool {
        self.matches_at_end_with(&Addresses::UNKNOWN, seen)
    }

    fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
        // The configured routes were asked first and said no.
        self.kind == Fallback::Undecided && !self.all_refuse(addresses, seen)
    }

    fn reads_addresses(&self) -> bool {
        self.routes.iter().any(|route| route.reads_addresses())
    }
}
