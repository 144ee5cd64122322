use super::*;
use crate::matchers::{any, http1_fast, prefixes, silence, ssh, tls};

fn boxed(m: impl Matcher + 'static) -> Box<dyn Matcher> {
    Box::new(m)
}

fn step(route: usize, verdict: Verdict, bytes: usize, at_end: bool) -> TraceStep {
    TraceStep {
        route,
        verdict,
        bytes,
        at_end,
    }
}

#[test]
fn each_verdict_is_placed_at_the_byte_that_settled_it() {
    let routes = [boxed(ssh()), boxed(prefixes(["GET /x"])), boxed(any())];
    let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"GET /y HTTP/1.1");
    assert_eq!(
        trace.steps(),
        [
            step(0, Verdict::NoMatch, 1, false),
            step(1, Verdict::NoMatch, 6, false),
            step(2, Verdict::Match, 0, false),
        ]
    );
    assert_eq!(trace.route(), Some(2));
    assert_eq!(trace.ended_by(), SniffEnd::Matched);
    assert_eq!(trace.waiting_on(), None);
    assert_eq!(
        trace.to_string(),
        "route 2 took it, ended by a match after 15 bytes: route 0 NoMatch at byte 0, \
         route 1 NoMatch at byte 5, route 2 Match before any byte"
    );
}

#[test]
fn routes_refusing_the_empty_input_refuse_before_any_byte() {
    let refuse = |_: &[u8]| Verdict::NoMatch;
    let routes = [boxed(refuse), boxed(refuse)];
    let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"x");
    assert_eq!(
        trace.steps(),
        [
            step(0, Verdict::NoMatch, 0, false),
            step(1, Verdict::NoMatch, 0, false),
        ]
    );
    assert_eq!(trace.ended_by(), SniffEnd::AllRefused);
    assert_eq!(trace.route(), None);
}

#[test]
fn at_the_end_undecided_routes_answer_about_the_whole_input() {
    let routes = [boxed(http1_fast()), boxed(tls()), boxed(any())];
    let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"GE");
    assert_eq!(
        trace.steps(),
        [
            step(0, Verdict::NoMatch, 2, true),
            step(1, Verdict::NoMatch, 2, true),
            step(2, Verdict::Match, 2, true),
        ]
    );
    assert_eq!(trace.ended_by(), SniffEnd::Eof);
    assert_eq!(trace.waiting_on(), Some(0));
    assert_eq!(
        format!("{trace:#}"),
        "route 2 took it, ended by the end of input after 2 bytes, waiting on route 0\n  \
         route 0 NoMatch at the end (2 bytes)\n  \
         route 1 NoMatch at the end (2 bytes)\n  \
         route 2 Match at the end (2 bytes)"
    );
}

#[test]
fn an_empty_input_is_a_silent_client() {
    let routes = [boxed(http1_fast()), boxed(silence(Duration::from_secs(1)))];
    let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"");
    assert_eq!(trace.ended_by(), SniffEnd::Silence);
    assert_eq!(trace.route(), Some(1));
    assert_eq!(trace.steps()[1], step(1, Verdict::Match, 0, true));
    let routes = [boxed(http1_fast())];
    let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"");
    assert_eq!(trace.ended_by(), SniffEnd::Eof);
    assert_eq!(trace.route(), None);
    assert_eq!(trace.steps(), [step(0, Verdict::NoMatch, 0, true)]);
}

#[test]
fn judgements_in_chunks_place_verdicts_as_one_judgement_does() {
    let routes = [boxed(prefixes(["ABCDEF"])), boxed(prefixes(["ABCDEX"]))];
    let input = b"ABCDEXYZ";
    let whole = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, input);
    for split in 0..input.len() {
        let opening = Opening::of(&routes, &Addresses::UNKNOWN);
        let mut decider = RouteDecider::opened(&routes, &Addresses::UNKNOWN, opening);
        let mut tracer = Tracer::new(routes.len());
        tracer.opened(opening);
        let mut decision = Decision::Undecided;
        for end in [split, input.len()] {
            if decision == Decision::Undecided {
                decision = decider.decide(&input[..end]);
                tracer.judged(&decider, &input[..end], decision);
            }
        }
        let chunked = tracer.finish(Some(1), input.len(), None);
        assert_eq!(chunked, whole, "split at {split}");
    }
    assert_eq!(
        whole.steps(),
        [
            step(0, Verdict::NoMatch, 6, false),
            step(1, Verdict::Match, 6, false),
        ]
    );
}
