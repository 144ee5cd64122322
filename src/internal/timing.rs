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
//! | 6   | the sniff wakes late (see below)                          |
//!
//! Then come steps, each a byte `h` and `h & 15` bytes to write; after
//! writing them the clock advances by [`DELAYS`]`[h >> 4]`. A client
//! that lingers with no time limit set closes instead.
//!
//! The sniff and the route's handler run on the calling thread, through
//! a [`Dispatcher`](crate::Dispatcher) whose routes are all inline,
//! reading a [`ScriptedConnection`] on a clock no other thread moves
//! ([`Clock::advanced_by_waits`]): a read that would wait moves the clock
//! to the client's next write, or to the read's timeout if that comes
//! first, and a pause of the sniff moves it to the pause's end. With bit
//! 6, the sniff wakes late, as on a busy machine: a timeout or a pause
//! ends at the first step's instant from its end on (past the last step,
//! on time), so that the sniff finds a limit overrun and bytes that came
//! while it slept. Within an instant, the sniff's time limits come before
//! the client's bytes, and a waiting read gets one step's bytes, as a
//! thread that sleeps until the client writes would. So a script is one
//! run, with no thread to start or settle, and every run makes every
//! check (none is sampled):
//!
//! - nothing panics (a matcher's panic, which the dispatcher catches,
//!   included), and a run reads the clock's time at most
//!   [`MAX_CLOCK_READS`] times: a sniff that spins instead of waiting
//!   has hung, and the clock panics;
//! - the route taken is the one a reference computes from the script
//!   alone (the bytes that arrived before the sniff's first time limit or
//!   the client's EOF, judged as a complete input at that time), and a
//!   dropped connection is one the reference routes nowhere;
//! - the route's handler reads every byte the client wrote, in order;
//! - a second run of the script gives the same outcome (the same drop
//!   reason included) and the same bytes to the handler: the run depends
//!   on nothing but the script, not on what an earlier run left on the
//!   thread (its spare sniff buffer, whose length sizes the reads).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::address::Addresses;
use crate::matcher::Matcher;
use crate::matchers::silence;
use crate::memory::{Clock, MemoryAddr};
use crate::mux::builder::MuxBuilder;
use crate::mux::event::DropReason;
use crate::mux::Mux;
use crate::route::stream::PeekableStream;
use crate::sniff::decide::{Decision, RouteDecider};
use crate::source::channel::{channel, ChannelSource};
use crate::source::connection::Connection;
use crate::sync::lock::lock;

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
/// Reads of the clock's time in one run, by the sniff and the
/// connection together, past which the sniff counts as hung. Each read
/// of the connection and each pause of the sniff reads it a few times,
/// and the pace allows a few reads and pauses per step: a few hundred for
/// [`MAX_STEPS`] steps, against the millions a spinning sniff reaches in
/// a second.
const MAX_CLOCK_READS: u64 = 10_000;

/// The settings a script's multiplexer is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Limits {
    silence: bool,
    first_byte: Option<Duration>,
    deadline: Option<Duration>,
    max_bytes: usize,
}

/// One script: its limits and its steps.
#[derive(Debug)]
struct Script {
    limits: Limits,
    lingers: bool,
    wakes_late: bool,
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
        let limits = Limits {
            silence: config & 1 != 0,
            first_byte: (config & 2 != 0).then_some(FIRST_BYTE),
            deadline: (config & 4 != 0).then_some(DEADLINE),
            max_bytes: MAX_BYTES[usize::from(config >> 4) & 3],
        };
        let timed = limits.silence || limits.first_byte.is_some() || limits.deadline.is_some();
        Script {
            limits,
            lingers: config & 8 != 0 && timed,
            wakes_late: config & 64 != 0,
            steps,
        }
    }

    /// Every byte the client writes, in order.
    fn bytes(&self) -> Vec<u8> {
        self.steps
            .iter()
            .flat_map(|(bytes, _)| bytes.clone())
            .collect()
    }

    /// When each write with bytes arrives, with its bytes; and when the
    /// client closes, unless it lingers.
    fn arrivals(&self) -> (Vec<(Duration, &[u8])>, Option<Duration>) {
        let mut time = Duration::ZERO;
        let mut arrivals = Vec::new();
        for (bytes, delay) in &self.steps {
            if !bytes.is_empty() {
                arrivals.push((time, bytes.as_slice()));
            }
            time += *delay;
        }
        (arrivals, (!self.lingers).then_some(time))
    }

    /// When the sniff wakes from a wait until a time: see the module docs.
    fn waking(&self) -> Waking {
        let mut instants = Vec::with_capacity(self.steps.len() + 1);
        let mut time = Duration::ZERO;
        instants.push(time);
        for (_, delay) in &self.steps {
            time += *delay;
            instants.push(time);
        }
        Waking {
            late: self.wakes_late,
            instants: instants.into(),
        }
    }

    /// The route the sniff must take, from the script alone: the input ends
    /// at the first of the silence timeout (nothing sent before it), the
    /// first-byte timeout (likewise), the deadline and the client's EOF;
    /// a byte written at the instant a limit passes is late.
    fn reference(&self) -> Option<usize> {
        let (arrivals, eof) = self.arrivals();
        let first_byte_at = arrivals.first().map(|(at, _)| *at);
        let silent_past = |limit: Duration| first_byte_at.is_none_or(|at| at >= limit);
        let limits = [
            (self.limits.silence && silent_past(SILENCE)).then_some(SILENCE),
            self.limits.first_byte.filter(|&limit| silent_past(limit)),
            self.limits.deadline,
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
        seen.truncate(self.limits.max_bytes);
        let routes = route_table(self.limits.silence);
        let mut decider = RouteDecider::new(routes, &Addresses::UNKNOWN);
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

/// A script's routes: the silence route if it has one, then
/// [`standard_routes`] without the catch-all, so that the time limits
/// can drop a client.
fn routes(silent_route: bool) -> Vec<Box<dyn Matcher>> {
    let mut routes: Vec<Box<dyn Matcher>> = Vec::new();
    if silent_route {
        routes.push(Box::new(silence(SILENCE)));
    }
    let mut standard = standard_routes();
    standard.pop();
    routes.extend(standard);
    routes
}

/// [`routes`], made once for the reference of every script.
fn route_table(silent_route: bool) -> &'static [Box<dyn Matcher>] {
    static TABLES: [OnceLock<Vec<Box<dyn Matcher>>>; 2] = [OnceLock::new(), OnceLock::new()];
    TABLES[usize::from(silent_route)].get_or_init(|| routes(silent_route))
}

/// The multiplexer a script's connection is dispatched through.
type ScriptMux = Mux<ChannelSource<ScriptedConnection, MemoryAddr>>;

thread_local! {
    /// The multiplexers made on this thread, one per set of limits, kept
    /// for the next script with the same: a run builds no route table.
    static MUXES: RefCell<HashMap<Limits, ScriptMux>> = RefCell::new(HashMap::new());
    /// What the handler of the route taken read. Inline handlers run on
    /// the dispatching thread: this one.
    static HANDLED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

impl Limits {
    /// A multiplexer with these limits and [`routes`], every one inline
    /// and served by [`keep_handled`].
    fn mux(self) -> ScriptMux {
        // Nothing is sent: the connections are dispatched.
        let (_sender, source) = channel(MemoryAddr(0), 1);
        let mut mux = MuxBuilder::new()
            .max_sniff_bytes(self.max_bytes)
            .first_byte_timeout(self.first_byte)
            .sniff_deadline(self.deadline)
            .build(source)
            .expect("a valid configuration");
        for matcher in routes(self.silence) {
            mux.route_inline(matcher, keep_handled);
        }
        mux
    }
}

/// Every route's handler: reads the connection to its end and keeps what
/// it read in [`HANDLED`].
fn keep_handled(mut stream: PeekableStream<ScriptedConnection>, _: MemoryAddr) {
    let mut bytes = Vec::new();
    let read = stream.read_to_end(&mut bytes);
    let handled = read.map(|_| bytes).unwrap_or_default();
    HANDLED.with(|kept| *kept.borrow_mut() = Some(handled));
}

/// When the sniff wakes from a wait until a time: on time, or late, at
/// the first of the script's step instants from then on.
#[derive(Clone)]
struct Waking {
    late: bool,
    /// When each step starts, and when the last ends, in order.
    instants: Arc<[Duration]>,
}

impl Waking {
    /// When a wait until `wake` ends.
    fn at(&self, wake: Duration) -> Duration {
        if !self.late {
            return wake;
        }
        let next = self.instants.partition_point(|&instant| instant < wake);
        self.instants.get(next).copied().unwrap_or(wake)
    }
}

/// The server's end of a connection whose client plays a script, on a
/// clock that only its reads and the sniff's pauses advance: a read that
/// would wait moves the clock to the client's next write (or close), or
/// to when the sniff wakes from the read's timeout if that comes first.
/// The client never reads: what the server writes is accepted and
/// dropped.
struct ScriptedConnection {
    clock: Clock,
    waking: Waking,
    playback: Mutex<Playback>,
}

/// Where a script's playback stands.
struct Playback {
    /// Every byte the client writes, in order.
    bytes: Vec<u8>,
    /// When each write arrives, and where its bytes end in `bytes`.
    arrivals: Vec<(Duration, usize)>,
    /// How many writes have arrived.
    arrived: usize,
    /// How many bytes the server has read.
    read: usize,
    /// When the client closes; `None` while it lingers, which ends when
    /// a read waits with no time limit and nothing left to come.
    closes_at: Option<Duration>,
    /// The client closed, or the server shut its reading down: reads
    /// return EOF once every byte is read.
    closed: bool,
    read_timeout: Option<Duration>,
    nonblocking: bool,
}

impl ScriptedConnection {
    fn new(script: &Script) -> ScriptedConnection {
        let (writes, closes_at) = script.arrivals();
        let mut bytes = Vec::new();
        let mut arrivals = Vec::with_capacity(writes.len());
        for (at, written) in writes {
            bytes.extend_from_slice(written);
            arrivals.push((at, bytes.len()));
        }
        let playback = Playback {
            bytes,
            arrivals,
            arrived: 0,
            read: 0,
            closes_at,
            closed: false,
            read_timeout: None,
            nonblocking: false,
        };
        let waking = script.waking();
        let wakes_at = waking.clone();
        ScriptedConnection {
            clock: Clock::advanced_by_waits(MAX_CLOCK_READS, move |wake| wakes_at.at(wake)),
            waking,
            playback: Mutex::new(playback),
        }
    }

    fn playback(&self) -> MutexGuard<'_, Playback> {
        lock(&self.playback)
    }
}

impl Playback {
    /// Where the bytes that have arrived end.
    fn arrived_end(&self) -> usize {
        self.arrived
            .checked_sub(1)
            .map_or(0, |last| self.arrivals[last].1)
    }

    /// When the client's next write or its close comes, if either is to.
    fn next_event(&self) -> Option<Duration> {
        match self.arrivals.get(self.arrived) {
            Some(&(at, _)) => Some(at),
            None if self.closed => None,
            None => self.closes_at,
        }
    }

    /// Takes in the client's next write, or its close.
    fn take_next_event(&mut self) {
        if self.arrived < self.arrivals.len() {
            self.arrived += 1;
        } else {
            self.closed = true;
        }
    }

    /// Takes in what the client did before `now`: what it does at `now`
    /// comes after the server's own business at that instant.
    fn take_events_before(&mut self, now: Duration) {
        while self.next_event().is_some_and(|at| at < now) {
            self.take_next_event();
        }
    }

    /// A read, waiting as [`ScriptedConnection`] says.
    fn read(&mut self, clock: &Clock, waking: &Waking, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let now = clock.now();
            self.take_events_before(now);
            let ready = &self.bytes[self.read..self.arrived_end()];
            if !ready.is_empty() {
                let count = ready.len().min(buf.len());
                buf[..count].copy_from_slice(&ready[..count]);
                self.read += count;
                return Ok(count);
            }
            if self.closed {
                return Ok(0);
            }
            if self.nonblocking {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let timeout_at = self.read_timeout.map(|timeout| now.saturating_add(timeout));
            match (self.next_event(), timeout_at) {
                (Some(at), _) if timeout_at.is_none_or(|end| at < end) => {
                    clock.advance(at.saturating_sub(now));
                    self.take_next_event();
                }
                (_, Some(end)) => {
                    clock.advance(waking.at(end) - now);
                    return Err(io::Error::new(io::ErrorKind::WouldBlock, "read timed out"));
                }
                // A lingering client with nothing left to send closes.
                (_, None) => self.closed = true,
            }
        }
    }
}

impl Connection for ScriptedConnection {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.playback().read(&self.clock, &self.waking, buf)
    }

    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a zero read timeout is not allowed",
            ));
        }
        self.playback().read_timeout = timeout;
        Ok(())
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.playback().read_timeout)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.playback().nonblocking = nonblocking;
        Ok(())
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.playback().closed = true;
        }
        Ok(())
    }

    fn clock(&self) -> Option<&Clock> {
        Some(&self.clock)
    }
}

impl Read for ScriptedConnection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_shared(buf)
    }
}

impl Write for ScriptedConnection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_shared(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

/// Plays `script` through the multiplexer for its limits, on this thread.
fn run(script: &Script) -> Run {
    let dispatcher = MUXES.with(|muxes| {
        let mut muxes = muxes.borrow_mut();
        let limits = script.limits;
        muxes
            .entry(limits)
            .or_insert_with(|| limits.mux())
            .dispatcher()
    });
    // What a run that panicked left.
    HANDLED.with(|kept| kept.borrow_mut().take());
    let outcome = match dispatcher.dispatch(ScriptedConnection::new(script), MemoryAddr(1)) {
        Ok(id) => Ok(id.index()),
        // A matcher's panic, or the clock's at a sniff that spins.
        Err(DropReason::MatcherPanicked(panic)) => {
            panic!("{script:?}: the sniff panicked: {panic}")
        }
        Err(reason) => Err(reason.to_string()),
    };
    let handled = HANDLED.with(|kept| kept.borrow_mut().take());
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
            // The same route whether the sniff wakes on time or late.
            for waking_late in [0, 64] {
                let mut data = data.clone();
                data[0] |= waking_late;
                let parsed = Script::parse(&data);
                assert_eq!(parsed.reference(), *expected, "{parsed:?}");
                timing(&data);
            }
        }
    }
}
