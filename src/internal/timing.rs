//! The `timing` target: a client's bytes *and their arrival times*,
//! played on a virtual [`Clock`] against a dispatcher with a silence
//! route, a first-byte timeout, a sniff deadline and a byte limit.
//!
//! The input is a script. Its first byte sets the limits:
//!
//! | bit | when set                                                  |
//! |-----|-----------------------------------------------------------|
//! | 0   | route 0 is `silence(100 ms)`                              |
//! | 1   | a first-byte timeout of 500 ms                            |
//! | 2   | a sniff deadline of 1 s                                   |
//! | 3   | the client lingers at the end (else it closes: EOF)       |
//! | 4-5 | `max_sniff_bytes`: 16, 64, 256 or 4096                    |
//!
//! Then come steps, each a byte `h` and `h & 15` bytes to write; after
//! writing them the clock advances by [`DELAYS`]`[h >> 4]`. A client
//! that lingers with no time limit set closes instead.
//!
//! Between steps the harness waits until the thread it drives (the sniff,
//! then the route's handler) sleeps on the clock, so every run of a
//! script is the same run. It checks that nothing panics or hangs; that
//! the route taken is the one a reference computes from the script alone
//! (the bytes that arrived before the sniff's first time limit or the
//! client's EOF, judged as a complete input at that time); that a handler
//! reads every byte the client wrote, in order; and that a second run
//! gives the same outcome.

use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::address::Addresses;
use crate::matcher::Matcher;
use crate::matchers::silence;
use crate::memory::{Clock, MemoryAddr};
use crate::mux::builder::MuxBuilder;
use crate::sniff::decide::{Decision, RouteDecider};
use crate::sync::lock::lock;
use crate::Connection;

use super::route_decision::standard_routes;

/// The clock's advance after each step, in milliseconds: around the time
/// limits, so that the fuzzer reaches each side of each.
pub const DELAYS: [u64; 16] = [
    0, 0, 1, 2, 3, 10, 99, 100, 101, 200, 499, 500, 501, 999, 1000, 1001,
];

const SILENCE: Duration = Duration::from_millis(100);
const FIRST_BYTE: Duration = Duration::from_millis(500);
const DEADLINE: Duration = Duration::from_secs(1);
const MAX_BYTES: [usize; 4] = [16, 64, 256, 4096];
/// Steps read from one input.
const MAX_STEPS: usize = 64;
/// How long, in real time, a thread may take to settle before the run
/// counts as hung.
const HANG: Duration = Duration::from_secs(10);

/// One script: its limits and its steps.
#[derive(Debug)]
struct Script {
    silence: bool,
    first_byte: Option<Duration>,
    deadline: Option<Duration>,
    lingers: bool,
    max_bytes: usize,
    /// Bytes to write, then the clock's advance.
    steps: Vec<(Vec<u8>, Duration)>,
}

impl Script {
    fn parse(data: &[u8]) -> Script {
        let (&config, mut rest) = data.split_first().unwrap_or((&0, &[]));
        let mut steps = Vec::new();
        while let Some((&head, after)) = rest.split_first() {
            if steps.len() == MAX_STEPS {
                break;
            }
            let length = usize::from(head & 15).min(after.len());
            let delay = Duration::from_millis(DELAYS[usize::from(head >> 4)]);
            steps.push((after[..length].to_vec(), delay));
            rest = &after[length..];
        }
        let first_byte = (config & 2 != 0).then_some(FIRST_BYTE);
        let deadline = (config & 4 != 0).then_some(DEADLINE);
        let silence = config & 1 != 0;
        Script {
            silence,
            first_byte,
            deadline,
            lingers: config & 8 != 0 && (silence || first_byte.is_some() || deadline.is_some()),
            max_bytes: MAX_BYTES[usize::from(config >> 4) & 3],
            steps,
        }
    }

    fn routes(&self) -> Vec<Box<dyn Matcher>> {
        let mut routes: Vec<Box<dyn Matcher>> = Vec::new();
        if self.silence {
            routes.push(Box::new(silence(SILENCE)));
        }
        // Without the catch-all, so that the time limits can drop a
        // client.
        let mut standard = standard_routes();
        standard.pop();
        routes.extend(standard);
        routes
    }

    /// Every byte the client writes, in order.
    fn bytes(&self) -> Vec<u8> {
        self.steps
            .iter()
            .flat_map(|(bytes, _)| bytes.clone())
            .collect()
    }

    /// The route the sniff must take, from the script alone: the input ends
    /// at the first of the silence timeout (nothing sent before it), the
    /// first-byte timeout (likewise), the deadline and the client's EOF;
    /// a byte written at the instant a limit passes is late.
    fn reference(&self) -> Option<usize> {
        let mut time = Duration::ZERO;
        let mut arrivals = Vec::new();
        for (bytes, delay) in &self.steps {
            if !bytes.is_empty() {
                arrivals.push((time, bytes.as_slice()));
            }
            time += *delay;
        }
        let eof = (!self.lingers).then_some(time);
        let first_byte_at = arrivals.first().map(|(at, _)| *at);
        let silent_past = |limit: Duration| first_byte_at.is_none_or(|at| at >= limit);
        let limits = [
            (self.silence && silent_past(SILENCE)).then_some(SILENCE),
            self.first_byte.filter(|&limit| silent_past(limit)),
            self.deadline,
        ];
        let limit = limits.into_iter().flatten().min();
        // The client's last bytes come before its EOF, at the same
        // instant; a limit reached at that instant came first.
        let (end, by_eof) = match (limit, eof) {
            (Some(limit), Some(eof)) if eof < limit => (Some(eof), true),
            (None, eof) => (eof, true),
            (limit, _) => (limit, false),
        };
        let mut seen: Vec<u8> = arrivals
            .iter()
            .filter(|(at, _)| by_eof || end.is_none_or(|end| *at < end))
            .flat_map(|(_, bytes)| bytes.iter().copied())
            .collect();
        seen.truncate(self.max_bytes);
        let routes = self.routes();
        let mut decider = RouteDecider::new(&routes, &Addresses::UNKNOWN);
        match decider.decide(&seen) {
            Decision::Route(index) => return Some(index),
            Decision::NoRoute => return None,
            Decision::Undecided => {}
        }
        match decider.decide_at_end(&seen, end.unwrap_or(Duration::MAX)) {
            Decision::Route(index) => Some(index),
            Decision::NoRoute | Decision::Undecided => None,
        }
    }
}

/// What one run of a script gave.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    /// The route's index, or the reason the connection was dropped.
    outcome: Result<usize, String>,
    /// What the route's handler read.
    handled: Option<Vec<u8>>,
}

/// Plays `script` on a new clock.
fn run(script: &Script) -> Run {
    let clock = Clock::new();
    let (source, _connector) = clock.listener();
    let mut mux = MuxBuilder::new()
        .max_sniff_bytes(script.max_bytes)
        .first_byte_timeout(script.first_byte)
        .sniff_deadline(script.deadline)
        .build(source)
        .expect("a valid configuration");
    let handled = Arc::new(Mutex::new(None));
    let routed = Arc::new(AtomicBool::new(false));
    for matcher in script.routes() {
        let (handled, routed, clock) = (Arc::clone(&handled), Arc::clone(&routed), clock.clone());
        mux.route_inline(matcher, move |mut stream, _| {
            routed.store(true, Ordering::SeqCst);
            clock.recheck();
            let mut bytes = Vec::new();
            let read = std::io::Read::read_to_end(&mut stream, &mut bytes);
            *lock(&handled) = Some(read.map(|_| bytes).unwrap_or_default());
        });
    }
    let dispatcher = mux.dispatcher();
    let (mut client, conn) = clock.pair();
    assert!(conn.clock().is_some());
    let done = Arc::new(AtomicBool::new(false));
    let (outcome_tx, outcome) = mpsc::channel();
    let sniff = {
        let (done, clock) = (Arc::clone(&done), clock.clone());
        thread::spawn(move || {
            let outcome = dispatcher.dispatch(conn, MemoryAddr(1));
            let _ = outcome_tx.send(outcome.map(|id| id.index()).map_err(|r| r.to_string()));
            done.store(true, Ordering::SeqCst);
            clock.recheck();
        })
    };
    let ended = || done.load(Ordering::SeqCst);
    let settle = || {
        assert!(
            clock.wait_for_sleepers_or(1, HANG, ended),
            "hung at {:?}",
            clock.now()
        );
    };
    for (bytes, delay) in &script.steps {
        settle();
        if ended() {
            break;
        }
        // Refused once the sniff dropped the connection.
        let _ = client.write_all(bytes);
        settle();
        clock.advance(*delay);
    }
    if script.lingers {
        // Time runs on until the sniff ends at one of its limits.
        for _ in 0..MAX_STEPS {
            settle();
            if ended() || routed.load(Ordering::SeqCst) {
                break;
            }
            let Some(wake) = clock.next_wake() else { break };
            clock.advance(wake.saturating_sub(clock.now()));
        }
    }
    let _ = client.shutdown(Shutdown::Write);
    // Waits and pauses after the EOF end when the clock reaches them.
    for _ in 0..MAX_STEPS {
        settle();
        if ended() {
            break;
        }
        match clock.next_wake() {
            Some(wake) => clock.advance(wake.saturating_sub(clock.now())),
            None => clock.advance(Duration::from_millis(1)),
        }
    }
    let outcome = outcome.recv_timeout(HANG).expect("the sniff ended");
    sniff.join().expect("the sniffing thread");
    let handled = lock(&handled).take();
    Run { outcome, handled }
}

/// The `timing` harness: see the module docs.
pub fn timing(data: &[u8]) {
    let script = Script::parse(data);
    let first = run(&script);
    match first.outcome {
        Ok(index) => {
            assert_eq!(Some(index), script.reference(), "{script:?}");
            assert_eq!(first.handled.as_deref(), Some(&script.bytes()[..]));
        }
        Err(ref reason) => {
            assert_eq!(script.reference(), None, "{script:?}: dropped ({reason})");
        }
    }
    assert_eq!(run(&script), first, "{script:?}: a second run differed");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A script: the config byte, then (delay index, bytes) steps.
    fn script(config: u8, steps: &[(u8, &[u8])]) -> Vec<u8> {
        let mut data = vec![config];
        for (delay, bytes) in steps {
            data.push(delay << 4 | bytes.len() as u8);
            data.extend_from_slice(bytes);
        }
        data
    }

    #[test]
    fn each_time_limit_is_met_on_both_sides() {
        let all = 1 | 2 | 4;
        let cases: &[(Vec<u8>, Option<usize>)] = &[
            // Silent for 99 ms, then HTTP: routed by method.
            (script(all, &[(6, b""), (0, b"GET / HTTP/1.1")]), Some(4)),
            // Silent for 100 ms: the silence route.
            (script(all, &[(7, b""), (0, b"GET / HTTP/1.1")]), Some(0)),
            // No silence route, silent for 500 ms: the input ends empty,
            // where "not 00" matches.
            (
                script(2 | 4, &[(11, b""), (0, b"GET / HTTP/1.1")]),
                Some(16),
            ),
            // ... but 499 ms is in time.
            (script(2 | 4, &[(10, b""), (0, b"GET / HTTP/1.1")]), Some(3)),
            // "GE" then the rest at 999 ms, or at 1 s: in time, then late.
            (script(4, &[(13, b"GE"), (0, b"T / HTTP/1.1")]), Some(3)),
            (script(4, &[(14, b"GE"), (0, b"T / HTTP/1.1")]), Some(16)),
            // Nothing matches a lone 00, sent in time or not at all.
            (script(4, &[(13, b"\0"), (0, b"\0")]), Some(16)),
            (script(4, &[(14, b"\0"), (0, b"\0")]), None),
            // Lingering until the deadline: the `SSH-` prefix, not SSH.
            (script(4 | 8, &[(0, b"SSH-2.0")]), Some(11)),
        ];
        for (data, expected) in cases {
            let parsed = Script::parse(data);
            assert_eq!(parsed.reference(), *expected, "{parsed:?}");
            timing(data);
        }
    }
}
