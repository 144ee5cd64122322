//! The decision trace: for one connection, which route decided what at
//! which byte, what ended the sniff, and after how long.
//!
//! A route's verdict changes once at most: `NeedMore` until the bytes
//! settle it, then `Match` or `NoMatch` for good (prefix monotonicity).
//! The trace keeps one step per route whose verdict the sniff learned, so
//! it holds at most as many steps as there are routes. The sniff records
//! into a [`Tracer`] only when
//! [`MuxBuilder::trace_decisions`](crate::MuxBuilder::trace_decisions)
//! asks for it; without one, a sniff allocates and computes nothing more.
//!
//! The sniff judges whatever prefix has arrived, so a route's verdict is
//! learned after some chunk of bytes; the trace then asks the route about
//! shorter prefixes (a binary search, `log2` of the bytes matcher calls)
//! to report the byte that decided it. The steps are therefore the same
//! however the client's bytes were split on the way.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::address::Addresses;
use crate::matcher::{Matcher, Verdict};
use crate::sniff::decide::{Decision, Opening, RouteDecider};

/// How one connection's route was decided: each route's verdict and the
/// byte that settled it, what ended the sniff, and after how long.
///
/// Recorded when the multiplexer is built with
/// [`trace_decisions(true)`](crate::MuxBuilder::trace_decisions), and
/// found in [`Event::Dropped`](crate::Event::Dropped) and on the routed
/// stream ([`PeekableStream::decision_trace`](crate::PeekableStream::decision_trace)).
/// [`DecisionTrace::explain`] makes one from a complete input, without a
/// connection.
///
/// `Display` writes one line; the alternate form (`{:#}`) writes one step
/// a line:
///
/// ```
/// use connmux::{matchers, Addresses, DecisionTrace, Matcher, SniffEnd, Verdict};
///
/// let routes: Vec<Box<dyn Matcher>> = vec![
///     Box::new(matchers::ssh()),
///     Box::new(matchers::http1_fast()),
/// ];
/// let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"GET / HTTP/1.1\r\n");
/// assert_eq!(trace.route(), Some(1));
/// assert_eq!(trace.ended_by(), SniffEnd::Matched);
/// let steps = trace.steps();
/// assert_eq!((steps[0].route(), steps[0].verdict(), steps[0].bytes()), (0, Verdict::NoMatch, 1));
/// assert_eq!((steps[1].route(), steps[1].verdict(), steps[1].bytes()), (1, Verdict::Match, 4));
/// assert_eq!(
///     trace.to_string(),
///     "route 1 took it, ended by a match after 16 bytes: \
///      route 0 NoMatch at byte 0, route 1 Match at byte 3"
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionTrace {
    steps: Vec<TraceStep>,
    ended_by: SniffEnd,
    route: Option<usize>,
    waiting_on: Option<usize>,
    bytes: usize,
    elapsed: Option<Duration>,
}

/// One route's verdict in a [`DecisionTrace`]: `Match` or `NoMatch`, and
/// how many bytes settled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceStep {
    route: usize,
    verdict: Verdict,
    bytes: usize,
    at_end: bool,
}

/// What ended a sniff, in a [`DecisionTrace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SniffEnd {
    /// A route matched, every earlier route having refused, while more
    /// bytes could still come.
    Matched,
    /// Every route refused.
    AllRefused,
    /// The client closed its side (or the input given to
    /// [`DecisionTrace::explain`] ended); the routes still undecided were
    /// asked about the input as complete.
    Eof,
    /// The sniff byte limit was reached; as for `Eof`.
    ByteLimit,
    /// The sniff deadline passed; as for `Eof`.
    Deadline,
    /// The client sent nothing until a silence route's timeout passed.
    Silence,
    /// The client sent nothing within the first-byte timeout.
    NoFirstByte,
    /// The multiplexer was shutting down.
    Shutdown,
    /// Reading from (or replying to) the client failed.
    Error,
    /// The PROXY protocol header the settings require was missing or
    /// malformed: the routes judged nothing.
    ProxyHeader,
    /// The client a PROXY header names had as many sniffs running as its
    /// address may.
    SourceLimit,
}

impl DecisionTrace {
    /// The trace of deciding between `routes` (in priority order) on
    /// `input`, the complete opening of a connection from `addresses`: as
    /// a sniff decides when the client sends `input` and closes, after
    /// every silence timeout (an empty input is a silent client). It has
    /// no [`elapsed`](Self::elapsed) time.
    ///
    /// ```
    /// use connmux::{matchers, Addresses, DecisionTrace, Matcher, SniffEnd};
    ///
    /// let routes: Vec<Box<dyn Matcher>> = vec![
    ///     Box::new(matchers::prefixes(["ABCD"])),
    ///     Box::new(matchers::any()),
    /// ];
    /// // "ABC" might still become "ABCD": the first route holds the
    /// // decision up until the input ends.
    /// let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"ABC");
    /// assert_eq!(trace.ended_by(), SniffEnd::Eof);
    /// assert_eq!(trace.waiting_on(), Some(0));
    /// assert_eq!(trace.route(), Some(1));
    /// assert!(trace.steps().iter().all(|step| step.at_end()));
    /// ```
    pub fn explain<M: Matcher>(routes: &[M], addresses: &Addresses, input: &[u8]) -> DecisionTrace {
        let opening = Opening::of(routes, addresses);
        let mut decider = RouteDecider::opened(routes, addresses, opening);
        let mut tracer = Tracer::new(routes.len());
        tracer.opened(opening);
        let mut decision = opening.decision();
        if decision == Decision::Undecided && !input.is_empty() {
            decision = decider.decide(input);
            tracer.judged(&decider, input, decision);
        }
        if decision == Decision::Undecided {
            let silent = match input.is_empty() {
                true => decider.decide_silent(Duration::MAX),
                false => Decision::Undecided,
            };
            let end;
            (end, decision) = match silent {
                Decision::Route(index) => (SniffEnd::Silence, Decision::Route(index)),
                _ => (SniffEnd::Eof, decider.decide_at_end(input, Duration::MAX)),
            };
            tracer.at_end(&decider, decision, end, input.len());
        }
        let route = match decision {
            Decision::Route(index) => Some(index),
            Decision::NoRoute | Decision::Undecided => None,
        };
        tracer.finish(route, input.len(), None)
    }

    /// Each route's verdict, in the order the sniff learned them: at most
    /// one per route. A route the sniff never had to ask (one after the
    /// winner, or behind a route that held the decision up) has none.
    pub fn steps(&self) -> &[TraceStep] {
        &self.steps
    }

    /// What ended the sniff.
    pub fn ended_by(&self) -> SniffEnd {
        self.ended_by
    }

    /// The route that took the connection, by its index in registration
    /// order (as [`RouteId::index`](crate::RouteId::index)); `None` when
    /// none did. (A route that took it may still have dropped it: its
    /// queue was full, or its listener closed.)
    pub fn route(&self) -> Option<usize> {
        self.route
    }

    /// The route that held the decision up when the input ended (by EOF,
    /// the byte limit, the deadline, silence, shutdown or an error): the
    /// first that had not refused. `None` when a route matched or every
    /// route refused as the bytes came.
    pub fn waiting_on(&self) -> Option<usize> {
        self.waiting_on
    }

    /// How many bytes the routes had seen when the sniff ended (after a
    /// PROXY header, if any).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How long the sniff took, from accept; `None` for a trace made by
    /// [`explain`](Self::explain).
    pub fn elapsed(&self) -> Option<Duration> {
        self.elapsed
    }
}

impl TraceStep {
    /// The route, by its index in registration order (as
    /// [`RouteId::index`](crate::RouteId::index)).
    pub fn route(&self) -> usize {
        self.route
    }

    /// `Match` or `NoMatch` (never `NeedMore`: a route still undecided
    /// when the input ended says `NoMatch` at the end unless its
    /// [`matches_at_end`](crate::Matcher::matches_at_end) says yes).
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// How many bytes the verdict took: the route gives it on the first
    /// `bytes` and not on fewer (for a prefix-monotone matcher), so the
    /// byte at offset `bytes - 1` decided it; 0 when it decided before
    /// any byte. For a verdict [at the end](Self::at_end), every byte the
    /// sniff saw.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the route was still undecided when the input ended, and
    /// this is its answer about the input as complete
    /// ([`matches_at_end`](crate::Matcher::matches_at_end), or a silence
    /// route's timeout).
    pub fn at_end(&self) -> bool {
        self.at_end
    }
}

/// `route 0 NoMatch at byte 0`, `route 2 Match before any byte`, `route 1
/// NoMatch at the end (3 bytes)`.
impl fmt::Display for TraceStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route {} {:?} ", self.route, self.verdict)?;
        match (self.at_end, self.bytes) {
            (true, 1) => f.write_str("at the end (1 byte)"),
            (true, bytes) => write!(f, "at the end ({bytes} bytes)"),
            (false, 0) => f.write_str("before any byte"),
            (false, bytes) => write!(f, "at byte {}", bytes - 1),
        }
    }
}

impl fmt::Display for SniffEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SniffEnd::Matched => "a match",
            SniffEnd::AllRefused => "every route refusing",
            SniffEnd::Eof => "the end of input",
            SniffEnd::ByteLimit => "the byte limit",
            SniffEnd::Deadline => "the sniff deadline",
            SniffEnd::Silence => "silence",
            SniffEnd::NoFirstByte => "the first-byte timeout",
            SniffEnd::Shutdown => "shutdown",
            SniffEnd::Error => "an I/O error",
            SniffEnd::ProxyHeader => "a bad PROXY header",
            SniffEnd::SourceLimit => "the per-source limit",
        })
    }
}

/// One line: `route 1 took it, ended by a match after 16 bytes in 1ms:
/// route 0 NoMatch at byte 0, route 1 Match at byte 3`. With `{:#}`, the
/// steps follow one a line, indented.
impl fmt::Display for DecisionTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.route {
            Some(route) => write!(f, "route {route} took it")?,
            None => f.write_str("no route took it")?,
        }
        write!(f, ", ended by {} after {} ", self.ended_by, self.bytes)?;
        f.write_str(if self.bytes == 1 { "byte" } else { "bytes" })?;
        if let Some(elapsed) = self.elapsed {
            write!(f, " in {elapsed:?}")?;
        }
        if let Some(route) = self.waiting_on {
            write!(f, ", waiting on route {route}")?;
        }
        if f.alternate() {
            for step in &self.steps {
                write!(f, "\n  {step}")?;
            }
            return Ok(());
        }
        for (index, step) in self.steps.iter().enumerate() {
            f.write_str(if index == 0 { ": " } else { ", " })?;
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

/// What a sniff tells about its decision as it makes it: where the routes
/// stood before any byte, what each judgement decided, and how the input
/// ended. A sniff is compiled once with [`Tracer`] and once with `()`,
/// which records nothing: a sniff that is not traced runs the code it
/// would run if tracing did not exist.
pub(crate) trait Record {
    /// The routes stand at `opening` before any byte (again, once a PROXY
    /// header has named the addresses they judge).
    fn opened(&mut self, opening: Opening);

    /// `decider` just decided `decision` on `seen`.
    fn judged<M: Matcher>(
        &mut self,
        decider: &RouteDecider<'_, M>,
        seen: &[u8],
        decision: Decision,
    );

    /// `decider` decided `decision` once the input, `seen` bytes, ended
    /// by `end`.
    fn at_end<M: Matcher>(
        &mut self,
        decider: &RouteDecider<'_, M>,
        decision: Decision,
        end: SniffEnd,
        seen: usize,
    );

    /// The trace, once the sniff is over: `ended` says which route took
    /// the connection, what ended the sniff if the routes did not judge
    /// to the end, how many bytes they saw and after how long.
    fn finish(
        &mut self,
        ended: impl FnOnce() -> (Option<usize>, Option<SniffEnd>, usize, Duration),
    ) -> Option<Arc<DecisionTrace>>;
}

/// Records nothing.
impl Record for () {
    #[inline(always)]
    fn opened(&mut self, _: Opening) {}

    #[inline(always)]
    fn judged<M: Matcher>(&mut self, _: &RouteDecider<'_, M>, _: &[u8], _: Decision) {}

    #[inline(always)]
    fn at_end<M: Matcher>(&mut self, _: &RouteDecider<'_, M>, _: Decision, _: SniffEnd, _: usize) {}

    #[inline(always)]
    fn finish(
        &mut self,
        _: impl FnOnce() -> (Option<usize>, Option<SniffEnd>, usize, Duration),
    ) -> Option<Arc<DecisionTrace>> {
        None
    }
}

impl Record for Tracer {
    fn opened(&mut self, opening: Opening) {
        Tracer::opened(self, opening);
    }

    fn judged<M: Matcher>(
        &mut self,
        decider: &RouteDecider<'_, M>,
        seen: &[u8],
        decision: Decision,
    ) {
        Tracer::judged(self, decider, seen, decision);
    }

    fn at_end<M: Matcher>(
        &mut self,
        decider: &RouteDecider<'_, M>,
        decision: Decision,
        end: SniffEnd,
        seen: usize,
    ) {
        Tracer::at_end(self, decider, decision, end, seen);
    }

    fn finish(
        &mut self,
        ended: impl FnOnce() -> (Option<usize>, Option<SniffEnd>, usize, Duration),
    ) -> Option<Arc<DecisionTrace>> {
        let (route, end, bytes, elapsed) = ended();
        // The outcome says why the routes did not judge to the end; the
        // tracer, how the input ended if they did. Shutdown overrides it.
        if let Some(end) = end {
            if self.end.is_none() || end == SniffEnd::Shutdown {
                self.end = Some(end);
            }
        }
        Some(Arc::new(Tracer::finish(self, route, bytes, Some(elapsed))))
    }
}

/// Records a sniff's decision as it is made (see [`Record`]).
#[derive(Debug)]
pub(crate) struct Tracer {
    steps: Vec<TraceStep>,
    /// Every route before this one has a step: the decider's `first_open`
    /// at the last judgement.
    first_open: usize,
    /// The route that said `NeedMore` at the last judgement, and how many
    /// bytes it judged: its verdict is settled by a later byte.
    need_more: Option<(usize, usize)>,
    waiting_on: Option<usize>,
    end: Option<SniffEnd>,
}

impl Tracer {
    /// A tracer for a sniff between `routes` routes.
    pub(crate) fn new(routes: usize) -> Tracer {
        Tracer {
            steps: Vec::with_capacity(routes),
            first_open: 0,
            need_more: None,
            waiting_on: None,
            end: None,
        }
    }

    /// Starts from where the routes stand before any byte (again, once a
    /// PROXY header has named the addresses they judge).
    pub(crate) fn opened(&mut self, opening: Opening) {
        self.steps.clear();
        self.need_more = None;
        self.first_open = opening.first_open();
        for route in 0..opening.first_open() {
            self.push(route, Verdict::NoMatch, 0, false);
        }
        match opening.decision() {
            Decision::Route(route) => self.push(route, Verdict::Match, 0, false),
            Decision::Undecided => self.need_more = Some((opening.first_open(), 0)),
            Decision::NoRoute => {}
        }
    }

    /// Records `decision`, which `decider` just made on `seen`: the routes
    /// it passed refused `seen`, and the one it stopped at matched it or
    /// needs more.
    pub(crate) fn judged<M: Matcher>(
        &mut self,
        decider: &RouteDecider<'_, M>,
        seen: &[u8],
        decision: Decision,
    ) {
        let first_open = decider.first_open();
        for route in self.first_open..first_open {
            self.settled(decider, route, Verdict::NoMatch, seen);
        }
        self.first_open = first_open;
        match decision {
            Decision::Route(route) => self.settled(decider, route, Verdict::Match, seen),
            Decision::Undecided => self.need_more = Some((first_open, seen.len())),
            Decision::NoRoute => {}
        }
    }

    /// Records `route`'s `verdict` on `seen` at the byte that settled it.
    fn settled<M: Matcher>(
        &mut self,
        decider: &RouteDecider<'_, M>,
        route: usize,
        verdict: Verdict,
        seen: &[u8],
    ) {
        let mut shortest = match self.need_more {
            Some((waiting, judged)) if waiting == route => judged + 1,
            _ => 0,
        };
        let matcher = &decider.matchers()[route];
        let mut longest = seen.len();
        // The verdict holds on `seen[..longest]`; for a prefix-monotone
        // matcher, on every longer prefix too.
        while shortest < longest {
            let middle = shortest + (longest - shortest) / 2;
            if matcher.verdict_with(decider.addresses(), &seen[..middle]) == verdict {
                longest = middle;
            } else {
                shortest = middle + 1;
            }
        }
        self.push(route, verdict, longest, false);
    }

    /// Records the decision `decider` made once the input, `seen`
    /// bytes, ended by `end`: the routes still undecided, up to the
    /// winner, answered about it as complete.
    pub(crate) fn at_end<M: Matcher>(
        &mut self,
        decider: &RouteDecider<'_, M>,
        decision: Decision,
        end: SniffEnd,
        seen: usize,
    ) {
        let routes = decider.matchers().len();
        let first_open = decider.first_open();
        self.waiting_on = (first_open < routes).then_some(first_open);
        let refused = match decision {
            Decision::Route(route) => route,
            Decision::NoRoute | Decision::Undecided => routes,
        };
        for route in first_open..refused {
            self.push(route, Verdict::NoMatch, seen, true);
        }
        if let Decision::Route(route) = decision {
            self.push(route, Verdict::Match, seen, true);
        }
        self.end = Some(end);
    }

    fn push(&mut self, route: usize, verdict: Verdict, bytes: usize, at_end: bool) {
        self.steps.push(TraceStep {
            route,
            verdict,
            bytes,
            at_end,
        });
    }

    /// The trace of a sniff that gave the connection to `route`, if any,
    /// having seen `bytes` in `elapsed`.
    pub(crate) fn finish(
        &mut self,
        route: Option<usize>,
        bytes: usize,
        elapsed: Option<Duration>,
    ) -> DecisionTrace {
        let ended_by = self.end.unwrap_or(match route {
            Some(_) => SniffEnd::Matched,
            None => SniffEnd::AllRefused,
        });
        // A sniff cut short without asking the routes about the end
        // (shutdown, an error) was waiting on the route that last needed
        // more.
        let unsettled = self
            .need_more
            .map(|(waiting, _)| waiting)
            .filter(|&waiting| !self.steps.iter().any(|step| step.route == waiting));
        DecisionTrace {
            waiting_on: self.waiting_on.or(unsettled),
            steps: std::mem::take(&mut self.steps),
            ended_by,
            route,
            bytes,
            elapsed,
        }
    }
}

#[cfg(test)]
mod tests;
