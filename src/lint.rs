//! The route-table lint: routes that can never win, and routes a client
//! reaches only when a timer runs out, found when the table is built.
//!
//! It sits beside the route decision (`sniff/decide.rs`): it asks the same
//! route decider the sniffer uses about inputs no connection has sent yet,
//! using only the [`Matcher`] trait's methods. Two kinds of answers come
//! out of it:
//!
//! - **Exact**, from the empty input and the 256 one-byte inputs. Matchers
//!   are pure and prefix-monotone, so a matcher that says `Match` (or
//!   `NoMatch`) on the empty input says it on every input, and one that
//!   says `Match` on each one-byte input says it on every input that has a
//!   byte. A matcher that breaks monotonicity breaks these findings too
//!   (the conformance checks catch that).
//! - **Heuristic**, from probe inputs a user supplies
//!   ([`lint_with_probes`]): what the routes do with these inputs, which
//!   says nothing about the inputs not tried.
//!
//! Matchers that read the connection's [`Addresses`]
//! are judged with [`Addresses::UNKNOWN`], which is not what a real
//! connection has: no finding says such a route never wins or takes
//! every input, and the silent-client findings are left out when any
//! route reads addresses.
//!
//! ```
//! use connmux::lint::{lint, Finding};
//! use connmux::matchers::{any, http1_fast, ssh};
//!
//! let findings = lint(&[&http1_fast(), &any(), &ssh()]);
//! assert!(matches!(findings[1], Finding::Shadowed { .. }));
//! assert_eq!(
//!     findings[1].to_string(),
//!     "route 2 never wins: route 1 matches every input, the empty one included"
//! );
//! ```

use std::fmt;
use std::time::Duration;

use crate::address::Addresses;
use crate::matcher::{Matcher, Verdict};
use crate::route::id::RouteId;
use crate::sniff::decide::{Decision, RouteDecider};

/// Something the lint found about one route of a table.
///
/// Each displays as one line naming routes as `route N` (their
/// [`RouteId`]); [`named`](Finding::named) puts the names a program gives
/// its routes beside the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The route's matcher refuses every input: it says `NoMatch` on the
    /// empty input, or on each one-byte input while neither matching the
    /// empty input at its end nor waiting for silence. The route never
    /// wins. Exact.
    #[non_exhaustive]
    RefusesEverything {
        /// The route that never wins.
        route: RouteId,
    },
    /// An earlier route's matcher says `Match` on the empty input, and so
    /// on every input: this route never wins. Exact.
    #[non_exhaustive]
    Shadowed {
        /// The route that never wins.
        route: RouteId,
        /// The earlier route that takes every connection this one could.
        by: RouteId,
    },
    /// A silence route that never wins: its matcher refuses every input
    /// that has a byte, and a client that sends nothing goes to another
    /// route first (one with a shorter silence timeout, or one that
    /// matches the empty input at its end). Exact.
    #[non_exhaustive]
    SilenceTaken {
        /// The silence route that never wins.
        route: RouteId,
        /// The route that takes the clients that send nothing.
        by: RouteId,
    },
    /// An earlier route's matcher says `Match` on each one-byte input,
    /// and so on every input that has a byte: this route can win only
    /// clients that send nothing. Exact.
    #[non_exhaustive]
    OnlySilentClients {
        /// The route that wins no client that sends a byte.
        route: RouteId,
        /// The earlier route that takes every client that sends a byte.
        by: RouteId,
    },
    /// A client that sends nothing reaches this route, but only when a
    /// timer runs out, because an earlier route (or this one) waits for
    /// bytes. Exact.
    #[non_exhaustive]
    SilentClientWaits {
        /// The route that takes clients that send nothing.
        route: RouteId,
        /// The first route that says `NeedMore` on the empty input.
        waits_for: RouteId,
        /// What lets the client through.
        until: Wait,
    },
    /// A client that sends this probe and then waits for the server
    /// reaches this route only when the sniff ends (its deadline, or the
    /// byte limit): the route says `Match` on the probe, but an earlier
    /// route still says `NeedMore`. The short-protocol-behind-a-long-one
    /// trap of cmux #94. From a probe: heuristic.
    #[non_exhaustive]
    ProbeWaits {
        /// The route that matched the probe.
        route: RouteId,
        /// The earlier route that still needs bytes.
        waits_for: RouteId,
        /// The probe's index in the probes given.
        probe: usize,
    },
    /// No probe reaches this route: each either goes to another route or
    /// to none. From probes: heuristic. Silence routes are left out, as
    /// probes are bytes.
    #[non_exhaustive]
    Unreached {
        /// The route no probe reaches.
        route: RouteId,
        /// An earlier route that took a probe this route matches, if
        /// any.
        taken_by: Option<RouteId>,
    },
}

/// What lets a client that sends nothing through to its route; in
/// [`Finding::SilentClientWaits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// The end of the sniff: its deadline, the first-byte timeout, or the
    /// client closing the connection.
    EndOfSniff,
    /// A silence route's [`silence_timeout`](Matcher::silence_timeout),
    /// which ends the input at silence.
    Silence {
        /// The silence route whose timeout runs out first.
        route: RouteId,
        /// Its timeout.
        timeout: Duration,
    },
}

/// Lints a route table: `routes` in priority order, as registered.
///
/// Returns the [exact](self) findings, ordered by route. Call it in a test
/// of the table a program builds, or read them from a [`Mux`](crate::Mux)
/// with [`Mux::lint`](crate::Mux::lint); `serve` reports each as an
/// [`Event::RouteLint`](crate::Event::RouteLint).
///
/// ```
/// use connmux::lint::{lint, Finding, Wait};
/// use connmux::matchers::{any, http1_fast, silence, tls};
/// use std::time::Duration;
///
/// // A server-first protocol after silence: no finding.
/// assert_eq!(lint(&[&http1_fast(), &tls(), &silence(Duration::from_secs(2))]), []);
///
/// // A catch-all after routes that wait for bytes: a client that sends
/// // nothing gets there only when the sniff ends.
/// let findings = lint(&[&http1_fast(), &tls(), &any()]);
/// assert!(matches!(
///     findings[..],
///     [Finding::SilentClientWaits { until: Wait::EndOfSniff, .. }]
/// ));
///
/// // A matcher that refuses everything.
/// let refuses = |_: &[u8]| connmux::Verdict::NoMatch;
/// let findings = lint(&[&refuses, &http1_fast()]);
/// assert_eq!(findings[0].to_string(), "route 0 never wins: its matcher refuses every input");
/// ```
pub fn lint(routes: &[&dyn Matcher]) -> Vec<Finding> {
    lint_with_probes(routes, &[])
}

/// Lints a route table as [`lint`] does, and also runs each of `probes`
/// through it as a client that sends those bytes and then waits: a route
/// that matches a probe but waits for an earlier route to stop needing
/// bytes ([`Finding::ProbeWaits`]), and a route no probe reaches
/// ([`Finding::Unreached`]).
///
/// Probes say nothing about the inputs not tried: give one real opening
/// per protocol the table serves (captured client bytes, say).
///
/// ```
/// use connmux::lint::{lint_with_probes, Finding};
/// use connmux::matchers::{http1_fast, prefixes, ssh};
///
/// let probes: [&[u8]; 2] = [b"GET / HTTP/1.1\r\n\r\n", b"SSH-2.0-OpenSSH_9.6\r\n"];
///
/// // "AB" waits for "ABCD" to be refused, and no probe reaches ssh.
/// let long = prefixes(["ABCD"]);
/// let short = prefixes(["AB"]);
/// let findings = lint_with_probes(&[&long, &short, &ssh()], &probes[1..]);
/// let shown: Vec<String> = findings.iter().map(Finding::to_string).collect();
/// assert_eq!(shown, ["no probe reaches route 0", "no probe reaches route 1"]);
/// let findings = lint_with_probes(&[&long, &short, &ssh()], &[b"AB"]);
/// assert_eq!(
///     findings[1].to_string(),
///     "route 1 matches probe 0 but gets it only when the sniff ends: route 0 still needs bytes"
/// );
///
/// let findings = lint_with_probes(&[&http1_fast(), &ssh()], &probes);
/// assert_eq!(findings, []);
/// ```
pub fn lint_with_probes(routes: &[&dyn Matcher], probes: &[&[u8]]) -> Vec<Finding> {
    let facts: Vec<Facts> = routes.iter().map(|m| Facts::of(*m)).collect();
    let mut findings = never_wins(&facts);
    if !facts.iter().any(|f| f.reads_addresses) {
        let shut_out = shut_out(&findings);
        findings.extend(silent_client(routes, &facts, &shut_out));
    }
    if !probes.is_empty() {
        let shut_out = shut_out(&findings);
        findings.extend(probed(routes, &facts, probes, &shut_out));
    }
    findings.sort_by_key(Finding::route);
    findings
}

impl Finding {
    /// The route this finding is about.
    ///
    /// ```
    /// use connmux::lint::lint;
    /// use connmux::matchers::{any, tls};
    ///
    /// assert_eq!(lint(&[&any(), &tls()])[0].route().index(), 1);
    /// ```
    pub fn route(&self) -> RouteId {
        match *self {
            Finding::RefusesEverything { route }
            | Finding::Shadowed { route, .. }
            | Finding::SilenceTaken { route, .. }
            | Finding::OnlySilentClients { route, .. }
            | Finding::SilentClientWaits { route, .. }
            | Finding::ProbeWaits { route, .. }
            | Finding::Unreached { route, .. } => route,
        }
    }

    /// Whether the finding says the route never wins any connection
    /// ([`RefusesEverything`](Finding::RefusesEverything),
    /// [`Shadowed`](Finding::Shadowed),
    /// [`SilenceTaken`](Finding::SilenceTaken)), rather than when or
    /// which clients it wins.
    ///
    /// ```
    /// use connmux::lint::lint;
    /// use connmux::matchers::{any, http1_fast, tls};
    ///
    /// assert!(lint(&[&any(), &tls()])[0].never_wins());
    /// assert!(!lint(&[&http1_fast(), &any()])[0].never_wins());
    /// ```
    pub fn never_wins(&self) -> bool {
        matches!(
            self,
            Finding::RefusesEverything { .. }
                | Finding::Shadowed { .. }
                | Finding::SilenceTaken { .. }
        )
    }

    /// The finding displayed with each route's name beside its number:
    /// `names[i]` is route `i`'s; a route without one shows its number
    /// alone.
    ///
    /// ```
    /// use connmux::lint::lint;
    /// use connmux::matchers::{any, ssh};
    ///
    /// let findings = lint(&[&any(), &ssh()]);
    /// assert_eq!(
    ///     findings[0].named(&["fallback", "shell"]).to_string(),
    ///     "route 1 (shell) never wins: route 0 (fallback) matches every input, the empty one included"
    /// );
    /// ```
    pub fn named<'a>(&'a self, names: &'a [&'a str]) -> impl fmt::Display + 'a {
        Named {
            finding: self,
            names,
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, names: &[&str]) -> fmt::Result {
        let name = |route: RouteId| RouteName { route, names };
        match *self {
            Finding::RefusesEverything { route } => {
                write!(f, "{} never wins: its matcher refuses every input", name(route))
            }
            Finding::Shadowed { route, by } => write!(
                f,
                "{} never wins: {} matches every input, the empty one included",
                name(route),
                name(by)
            ),
            Finding::SilenceTaken { route, by } => write!(
                f,
                "{} never wins: its matcher refuses every byte, and {} takes a client \
                 that sends nothing first",
                name(route),
                name(by)
            ),
            Finding::OnlySilentClients { route, by } => write!(
                f,
                "{} wins only clients that send nothing: {} matches every input of one byte or more",
                name(route),
                name(by)
            ),
            Finding::SilentClientWaits {
                route,
                waits_for,
                until,
            } => {
                write!(f, "{} takes a client that sends nothing ", name(route))?;
                match until {
                    Wait::EndOfSniff => f.write_str(
                        "only when the sniff ends (its deadline, the first-byte timeout \
                         or the client closing)",
                    )?,
                    Wait::Silence { route, timeout } => write!(
                        f,
                        "only after {}'s silence timeout ({timeout:?})",
                        name(route)
                    )?,
                }
                if waits_for == route {
                    f.write_str(": its matcher waits for bytes")
                } else {
                    write!(f, ": {} waits for bytes", name(waits_for))
                }
            }
            Finding::ProbeWaits {
                route,
                waits_for,
                probe,
            } => write!(
                f,
                "{} matches probe {probe} but gets it only when the sniff ends: {} still needs bytes",
                name(route),
                name(waits_for)
            ),
            Finding::Unreached {
                route,
                taken_by: None,
            } => write!(f, "no probe reaches {}", name(route)),
            Finding::Unreached {
                route,
                taken_by: Some(by),
            } => write!(
                f,
                "no probe reaches {}: {} takes the probes it matches",
                name(route),
                name(by)
            ),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, &[])
    }
}

/// A finding displayed with route names; see [`Finding::named`].
struct Named<'a> {
    finding: &'a Finding,
    names: &'a [&'a str],
}

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.finding.write(f, self.names)
    }
}

/// `route N`, or `route N (name)` when the route has a name.
struct RouteName<'a> {
    route: RouteId,
    names: &'a [&'a str],
}

impl fmt::Display for RouteName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.names.get(self.route.index()) {
            Some(name) => write!(f, "{} ({name})", self.route),
            None => write!(f, "{}", self.route),
        }
    }
}

/// What one route's matcher says about the inputs whose answer holds for
/// every input.
struct Facts {
    /// The verdict on the empty input.
    empty: Verdict,
    /// Whether it matches the empty input at its end.
    matches_empty_at_end: bool,
    /// The verdict every one-byte input gets, if they all get the same.
    every_byte: Option<Verdict>,
    silence_timeout: Option<Duration>,
    reads_addresses: bool,
}

impl Facts {
    fn of(matcher: &dyn Matcher) -> Facts {
        let first = matcher.verdict(&[0]);
        let same = (1..=u8::MAX).all(|byte| matcher.verdict(&[byte]) == first);
        Facts {
            empty: matcher.verdict(&[]),
            matches_empty_at_end: matcher.matches_at_end(&[]),
            every_byte: same.then_some(first),
            silence_timeout: matcher.silence_timeout(),
            reads_addresses: matcher.reads_addresses(),
        }
    }

    /// Whether it matches every input (the empty one, so every one).
    fn matches_everything(&self) -> bool {
        !self.reads_addresses && self.empty == Verdict::Match
    }

    /// Whether it refuses every input, the empty one at its end and at
    /// silence included.
    fn refuses_everything(&self) -> bool {
        !self.reads_addresses
            && (self.empty == Verdict::NoMatch
                || (self.every_byte == Some(Verdict::NoMatch)
                    && !self.matches_empty_at_end
                    && self.silence_timeout.is_none()))
    }
}

/// The exact findings of routes that never win, or win only clients that
/// send nothing.
fn never_wins(facts: &[Facts]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut takes_everything = None;
    let mut takes_every_byte = None;
    for (index, route_facts) in facts.iter().enumerate() {
        let route = RouteId(index);
        if let Some(by) = takes_everything {
            findings.push(Finding::Shadowed { route, by });
            continue;
        }
        if route_facts.refuses_everything() {
            findings.push(Finding::RefusesEverything { route });
            continue;
        }
        if let Some(by) = takes_every_byte {
            findings.push(Finding::OnlySilentClients { route, by });
        }
        if route_facts.matches_everything() {
            takes_everything = Some(route);
        } else if !route_facts.reads_addresses
            && route_facts.every_byte == Some(Verdict::Match)
            && takes_every_byte.is_none()
        {
            takes_every_byte = Some(route);
        }
    }
    findings
}

/// The routes `findings` say never win.
fn shut_out(findings: &[Finding]) -> Vec<RouteId> {
    findings
        .iter()
        .filter(|f| f.never_wins())
        .map(Finding::route)
        .collect()
}

/// Where a client that sends nothing goes: the route it reaches, if a
/// timer must run out first, and the silence routes it never reaches
/// (`shut_out` are those already found never to win). Exact for routes
/// that do not read addresses.
fn silent_client(routes: &[&dyn Matcher], facts: &[Facts], shut_out: &[RouteId]) -> Vec<Finding> {
    let mut decider = RouteDecider::new(routes, &Addresses::UNKNOWN);
    let (Decision::Undecided, Some(blocking)) = (decider.decide(&[]), decider.blocking()) else {
        return Vec::new();
    };
    let waits_for = RouteId(blocking);
    let (decision, until) = match decider.next_silence_timeout(Duration::ZERO) {
        Some(timeout) => {
            let Some(silence) = facts
                .iter()
                .position(|f| f.silence_timeout == Some(timeout))
            else {
                return Vec::new();
            };
            let until = Wait::Silence {
                route: RouteId(silence),
                timeout,
            };
            (decider.decide_silent(timeout), until)
        }
        None => (decider.decide_at_end(&[], Duration::ZERO), Wait::EndOfSniff),
    };
    let Decision::Route(index) = decision else {
        return Vec::new();
    };
    let route = RouteId(index);
    let mut findings = Vec::new();
    // A silence route taking silent clients at its own timeout is what it
    // is for.
    if !matches!(until, Wait::Silence { route: silence, .. } if silence == route) {
        findings.push(Finding::SilentClientWaits {
            route,
            waits_for,
            until,
        });
    }
    for (other, route_facts) in facts.iter().enumerate() {
        let only_silence = route_facts.silence_timeout.is_some()
            && route_facts.every_byte == Some(Verdict::NoMatch)
            && !route_facts.matches_empty_at_end;
        if only_silence && other != index && !shut_out.contains(&RouteId(other)) {
            findings.push(Finding::SilenceTaken {
                route: RouteId(other),
                by: route,
            });
        }
    }
    findings
}

/// The heuristic findings from running `probes` through the table;
/// `shut_out` are the routes already found never to win.
fn probed(
    routes: &[&dyn Matcher],
    facts: &[Facts],
    probes: &[&[u8]],
    shut_out: &[RouteId],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut reached = vec![false; routes.len()];
    let mut taken_from: Vec<Option<RouteId>> = vec![None; routes.len()];
    for (probe, &input) in probes.iter().enumerate() {
        let mut decider = RouteDecider::new(routes, &Addresses::UNKNOWN);
        let winner = match decider.decide(input) {
            Decision::Route(index) => Some(index),
            Decision::NoRoute => None,
            Decision::Undecided => {
                let waits_for = decider.blocking();
                match decider.decide_at_end(input, Duration::ZERO) {
                    Decision::Route(index) => {
                        let (route, matched) = (
                            RouteId(index),
                            routes[index].verdict(input) == Verdict::Match,
                        );
                        if let Some(waits_for) = waits_for.filter(|_| matched).map(RouteId) {
                            let known = findings.iter().any(|f| {
                                matches!(f, Finding::ProbeWaits { route: r, waits_for: w, .. }
                                    if *r == route && *w == waits_for)
                            });
                            if waits_for != route && !known {
                                findings.push(Finding::ProbeWaits {
                                    route,
                                    waits_for,
                                    probe,
                                });
                            }
                        }
                        Some(index)
                    }
                    _ => None,
                }
            }
        };
        if let Some(index) = winner {
            reached[index] = true;
        }
        for (index, matcher) in routes.iter().enumerate() {
            let matches = matcher.verdict(input) == Verdict::Match || matcher.matches_at_end(input);
            if matches && winner != Some(index) && taken_from[index].is_none() {
                taken_from[index] = winner.filter(|&w| w < index).map(RouteId);
            }
        }
    }
    for (index, route_facts) in facts.iter().enumerate() {
        let route = RouteId(index);
        let left_out = route_facts.silence_timeout.is_some()
            || route_facts.reads_addresses
            || shut_out.contains(&route);
        if !reached[index] && !left_out {
            findings.push(Finding::Unreached {
                route,
                taken_by: taken_from[index],
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::{any, from, http1_fast, prefixes, silence, ssh, tls};
    use crate::not;

    const SECOND: Duration = Duration::from_secs(1);

    fn refuses(_: &[u8]) -> Verdict {
        Verdict::NoMatch
    }

    /// Matches every input with a byte, and waits on the empty one.
    fn every_byte(seen: &[u8]) -> Verdict {
        if seen.is_empty() {
            Verdict::NeedMore
        } else {
            Verdict::Match
        }
    }

    fn shown(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(Finding::to_string).collect()
    }

    #[test]
    fn a_usual_table_has_no_finding() {
        assert_eq!(lint(&[&http1_fast(), &tls(), &ssh()]), []);
        assert_eq!(lint(&[&tls(), &silence(2 * SECOND)]), []);
        assert_eq!(lint(&[&any()]), []);
        assert_eq!(lint(&[]), []);
    }

    #[test]
    fn a_route_after_one_that_matches_everything_never_wins() {
        assert_eq!(
            lint(&[&any(), &http1_fast(), &refuses]),
            [
                Finding::Shadowed {
                    route: RouteId(1),
                    by: RouteId(0)
                },
                Finding::Shadowed {
                    route: RouteId(2),
                    by: RouteId(0)
                },
            ]
        );
    }

    #[test]
    fn a_matcher_that_refuses_everything_never_wins() {
        // NoMatch on empty input; and NoMatch on every byte, with nothing
        // to say at the end of the empty input.
        let findings = lint(&[&refuses, &|seen: &[u8]| refuses(seen)]);
        assert_eq!(
            shown(&findings),
            [
                "route 0 never wins: its matcher refuses every input",
                "route 1 never wins: its matcher refuses every input",
            ]
        );
        let never_on_bytes = |seen: &[u8]| {
            if seen.is_empty() {
                Verdict::NeedMore
            } else {
                Verdict::NoMatch
            }
        };
        assert_eq!(
            lint(&[&never_on_bytes, &http1_fast()]),
            [Finding::RefusesEverything { route: RouteId(0) }]
        );
        // The same with a silence timeout is a silence route.
        assert_eq!(lint(&[&http1_fast(), &silence(SECOND)]), []);
    }

    #[test]
    fn a_route_after_one_that_takes_every_byte_wins_only_silent_clients() {
        let findings = lint(&[&every_byte, &http1_fast(), &silence(SECOND)]);
        assert_eq!(
            shown(&findings),
            [
                "route 1 wins only clients that send nothing: route 0 matches every input of one byte or more",
                "route 2 wins only clients that send nothing: route 0 matches every input of one byte or more",
            ]
        );
    }

    #[test]
    fn a_silent_client_waits_for_the_end_of_the_sniff_or_a_silence_timeout() {
        assert_eq!(
            lint(&[&http1_fast(), &tls(), &any()]),
            [Finding::SilentClientWaits {
                route: RouteId(2),
                waits_for: RouteId(0),
                until: Wait::EndOfSniff,
            }]
        );
        let not_http = not(http1_fast());
        assert_eq!(
            shown(&lint(&[&not_http])),
            ["route 0 takes a client that sends nothing only when the sniff ends \
              (its deadline, the first-byte timeout or the client closing): its matcher waits for bytes"]
        );
        // The earlier route matching empty input at its end takes silent
        // clients at the silence route's timeout; the silence route never
        // gets one.
        let findings = lint(&[&tls(), &not_http, &silence(2 * SECOND)]);
        assert_eq!(
            findings,
            [
                Finding::SilentClientWaits {
                    route: RouteId(1),
                    waits_for: RouteId(0),
                    until: Wait::Silence {
                        route: RouteId(2),
                        timeout: 2 * SECOND
                    },
                },
                Finding::SilenceTaken {
                    route: RouteId(2),
                    by: RouteId(1)
                },
            ]
        );
        assert_eq!(
            findings[0].to_string(),
            "route 1 takes a client that sends nothing only after route 2's silence timeout (2s): \
             route 0 waits for bytes"
        );
        // Of two silence routes, the shorter timeout takes the client.
        let findings = lint(&[&silence(2 * SECOND), &silence(SECOND)]);
        assert_eq!(
            shown(&findings),
            [
                "route 0 never wins: its matcher refuses every byte, and route 1 takes a client \
              that sends nothing first"
            ]
        );
    }

    #[test]
    fn routes_by_address_are_left_out() {
        let inside = from(["10.0.0.0/8"]).unwrap();
        assert_eq!(lint(&[&inside, &http1_fast(), &any()]), []);
        let refuses_unknown = crate::all_of((from(["10.0.0.0/8"]).unwrap(), refuses));
        assert_eq!(lint(&[&refuses_unknown, &tls()]), []);
    }

    #[test]
    fn probes_find_waits_and_unreached_routes() {
        let long = prefixes(["ABCD"]);
        let short = prefixes(["AB"]);
        let probes: [&[u8]; 3] = [b"AB", b"ABX", b"GET / HTTP/1.1\r\n"];
        let findings = lint_with_probes(&[&long, &short, &http1_fast(), &ssh()], &probes);
        assert_eq!(
            findings,
            [
                Finding::Unreached {
                    route: RouteId(0),
                    taken_by: None
                },
                Finding::ProbeWaits {
                    route: RouteId(1),
                    waits_for: RouteId(0),
                    probe: 0
                },
                Finding::Unreached {
                    route: RouteId(3),
                    taken_by: None
                },
            ]
        );
        let findings = lint_with_probes(&[&http1_fast(), &prefixes(["GET"])], &probes[2..]);
        assert_eq!(
            shown(&findings),
            ["no probe reaches route 1: route 0 takes the probes it matches"]
        );
    }

    #[test]
    fn probes_leave_out_routes_already_found_and_silence_routes() {
        let probes: [&[u8]; 1] = [b"GET / HTTP/1.1\r\n"];
        let findings = lint_with_probes(&[&any(), &http1_fast(), &silence(SECOND)], &probes);
        assert!(findings
            .iter()
            .all(|f| matches!(f, Finding::Shadowed { .. })));
        assert_eq!(
            lint_with_probes(&[&http1_fast(), &silence(SECOND)], &probes),
            []
        );
    }

    #[test]
    fn names_go_beside_the_numbers() {
        let finding = Finding::Unreached {
            route: RouteId(2),
            taken_by: Some(RouteId(0)),
        };
        assert_eq!(
            finding.named(&["web", "shell"]).to_string(),
            "no probe reaches route 2: route 0 (web) takes the probes it matches"
        );
    }
}
