//! Route decisions taken the way the sniffer takes them: on the whole input
//! at once, or read by read, judged only when the sniffer's pace allows
//! (`sniff::pace`), then once more at the end of the input.

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use crate::address::Addresses;
use crate::matcher::Matcher;
use crate::sniff::decide::{Decision, Opening, RouteDecider};
use crate::sniff::pace::Pace;

use super::{panic_message, Property, Seen, Violation};

/// The route `routes` choose for `input` when it arrives in one read and
/// then ends: its index, or `None` when no route takes it.
pub(crate) fn decide_whole<M: Matcher>(routes: &[M], input: &[u8]) -> Option<usize> {
    let mut decider = RouteDecider::new(routes, &Addresses::UNKNOWN);
    match decider.decide(input) {
        Decision::Route(index) => Some(index),
        Decision::NoRoute => None,
        Decision::Undecided => at_end(&mut decider, input),
    }
}

/// The route `routes` choose for `input` arriving in reads of
/// `chunk_sizes` bytes (a size of 0 counts as 1), back to back, and how
/// many bytes had arrived when they chose.
pub(crate) fn decide_chunked<M: Matcher>(
    routes: &[M],
    input: &[u8],
    chunk_sizes: impl IntoIterator<Item = usize>,
) -> (Option<usize>, usize) {
    let opening = Opening::of(routes, &Addresses::UNKNOWN);
    let mut decider = RouteDecider::opened(routes, &Addresses::UNKNOWN, opening);
    let mut decision = opening.decision();
    let mut pace = Pace::default();
    let mut sizes = chunk_sizes.into_iter();
    let mut seen = 0;
    loop {
        match decision {
            Decision::Route(index) => return (Some(index), seen),
            Decision::NoRoute => return (None, seen),
            Decision::Undecided if seen == input.len() => break,
            Decision::Undecided => {
                let size = sizes.next().unwrap_or(1).max(1);
                seen = (seen + size).min(input.len());
                if pace.may_judge(seen) {
                    pace.judged(seen);
                    decision = decider.decide(&input[..seen]);
                }
            }
        }
    }
    (at_end(&mut decider, input), seen)
}

fn at_end<M: Matcher>(decider: &mut RouteDecider<'_, M>, input: &[u8]) -> Option<usize> {
    match decider.decide_at_end(input, Duration::ZERO) {
        Decision::Route(index) => Some(index),
        Decision::NoRoute | Decision::Undecided => None,
    }
}

/// Checks that the route `routes` choose for `input` is the same whole and
/// arriving in reads of `chunk_sizes` bytes, cycled (a size of 0 counts
/// as 1), with the multiplexer's own route decision and read pacing.
///
/// [`Conformance::check_chunking`](super::Conformance::check_chunking)
/// checks a single matcher this way; this checks a route table, where a
/// later route's `Match` waits for every earlier route's `NoMatch`.
///
/// ```
/// use connmux::conformance::check_route_chunking;
/// use connmux::matchers::{http1_fast, ssh, tls};
/// use connmux::Matcher;
///
/// let routes: Vec<Box<dyn Matcher>> = vec![Box::new(tls()), Box::new(ssh()), Box::new(http1_fast())];
/// check_route_chunking(&routes, b"SSH-2.0-OpenSSH_9.6\r\n", &[1, 3, 7])?;
/// # Ok::<(), connmux::conformance::Violation>(())
/// ```
pub fn check_route_chunking<M: Matcher>(
    routes: &[M],
    input: &[u8],
    chunk_sizes: &[usize],
) -> Result<(), Violation> {
    let sizes = || chunk_sizes.iter().copied().cycle();
    routes_agree(routes, input, sizes, || chunk_sizes.to_vec())
}

/// Checks that `routes` choose the same route for `input` whole and in
/// reads of `sizes()` bytes; `shown` gives the sizes for the report.
pub(crate) fn routes_agree<M: Matcher, S: IntoIterator<Item = usize>>(
    routes: &[M],
    input: &[u8],
    sizes: impl Fn() -> S,
    shown: impl FnOnce() -> Vec<usize>,
) -> Result<(), Violation> {
    let decided = panic::catch_unwind(AssertUnwindSafe(|| {
        (
            decide_whole(routes, input),
            decide_chunked(routes, input, sizes()),
        )
    }));
    let violation = |prefix_len, seen| Violation {
        property: Property::Chunking,
        input: input.to_vec(),
        prefix_len,
        seen,
    };
    match decided {
        Ok((whole, (chunked, _))) if whole == chunked => Ok(()),
        Ok((whole, (chunked, seen))) => Err(violation(
            seen,
            Seen::Routes {
                whole,
                chunked,
                chunk_sizes: shown(),
            },
        )),
        Err(payload) => Err(Violation {
            property: Property::NoPanic,
            ..violation(
                input.len(),
                Seen::Panic {
                    call: "route decision",
                    message: panic_message(payload),
                },
            )
        }),
    }
}
