//! One connection's sniff: read until the routes decide, the deadline
//! passes, the byte limit is reached, or the client stops.
//!
//! The sniffer does all the I/O; matchers only judge bytes. As bytes
//! arrive, the route decider looks at the whole prefix received so far,
//! as often as the sniff's [`Pace`] allows: judgements and reads are
//! earned by the bytes received, so a client that splits its opening into
//! many pieces costs a constant times what one piece would. When the input
//! ends without a decision, undecided routes get one last look with the
//! input marked complete. Two matcher requests need more than reading: a
//! silence route's timeout wakes the sniff while no byte has arrived, and
//! a matcher's reply is written to the client once, after which the
//! client's acknowledgement of it is cut out of the bytes the handler will
//! read.

pub(crate) mod buffer;
pub(crate) mod decide;
pub(crate) mod pace;
pub(crate) mod replay;
pub(crate) mod trace;

use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::address::Addresses;
use crate::matcher::{Matcher, ReplyAck};
use crate::proxy::mode::ProxyMode;
use crate::proxy::{parse_proxy_header, ProxyError, ProxyHeader, ProxyParse};
use crate::sniff::decide::{Decision, Opening, RouteDecider};
use crate::sniff::pace::{
    NextRead, Pace, FIRST_INPUT_POLLS, FIRST_PAUSE, LONGEST_PAUSE, PAUSE_GROWTH,
};
use crate::sniff::replay::StreamEnd;
use crate::sniff::trace::{Record, SniffEnd};
use crate::source::clock::Clock;
use crate::source::connection::Connection;
use crate::sync::per_source::PerSourceLimit;
use crate::sync::stop::StopSignal;

/// The limits one sniff runs under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SniffLimits {
    /// Time allowed from the start of the sniff; `None` for no limit.
    pub(crate) deadline: Option<Duration>,
    /// Bytes allowed before the routes must decide (the PROXY header
    /// included).
    pub(crate) max_bytes: usize,
    /// Time allowed, from accept, for the first byte (of the PROXY header
    /// when one is required, of the client's own bytes otherwise); `None`
    /// for no limit but the deadline.
    pub(crate) first_byte_timeout: Option<Duration>,
    /// Whether a PROXY protocol header comes first.
    pub(crate) proxy_mode: ProxyMode,
    /// Whether to record the sniff's
    /// [`DecisionTrace`](crate::DecisionTrace).
    pub(crate) trace: bool,
}

/// Where the sniff ended up.
#[derive(Debug)]
pub(crate) enum SniffOutcome {
    /// The route with this index takes the connection.
    Route(usize),
    /// Every route refused (or the input ended before any matched).
    NotMatched,
    /// The deadline passed and no route took the connection.
    TimedOut,
    /// The client sent nothing within the first-byte timeout and no route
    /// took it.
    NoFirstByte,
    /// Reading (or writing a reply) failed and no route took the connection.
    Failed(io::Error),
    /// The PROXY header the settings require is missing or malformed.
    BadProxyHeader(ProxyError),
    /// The client a PROXY header names has as many sniffs running as its
    /// address may.
    SourceLimit,
    /// The multiplexer is shutting down.
    Interrupted,
}

/// The bytes a sniff read (after the PROXY header, if any), how the stream
/// ended if it did, the PROXY header, and the outcome.
#[derive(Debug)]
pub(crate) struct Sniffed {
    /// The thread's sniff buffer, holding the bytes at `range`.
    pub(crate) buffer: Vec<u8>,
    pub(crate) range: Range<usize>,
    /// Boxed: rare, and the result stays small to move.
    pub(crate) proxy_header: Option<Box<ProxyHeader>>,
    pub(crate) end: Option<StreamEnd>,
    pub(crate) outcome: SniffOutcome,
    /// How the outcome was reached, if the limits asked.
    pub(crate) trace: Option<Arc<crate::sniff::trace::DecisionTrace>>,
}

/// Why the input ended before the routes decided.
#[derive(Debug)]
enum InputEnd {
    Eof,
    ByteLimit,
    Deadline,
    /// The client sent nothing within the first-byte timeout.
    Silent,
    /// The multiplexer stopped while the sniff paused.
    Stopped,
    Error(io::Error),
}

impl InputEnd {
    /// What the handler should see after the sniffed bytes.
    fn into_stream_end(self) -> Option<StreamEnd> {
        match self {
            InputEnd::Eof => Some(StreamEnd::Eof),
            InputEnd::Error(error) => Some(StreamEnd::Error(error)),
            InputEnd::ByteLimit | InputEnd::Deadline | InputEnd::Silent | InputEnd::Stopped => None,
        }
    }

    /// What the trace says ended the sniff.
    fn sniff_end(&self) -> SniffEnd {
        match self {
            InputEnd::Eof => SniffEnd::Eof,
            InputEnd::ByteLimit => SniffEnd::ByteLimit,
            InputEnd::Deadline => SniffEnd::Deadline,
            InputEnd::Silent => SniffEnd::NoFirstByte,
            InputEnd::Stopped => SniffEnd::Shutdown,
            InputEnd::Error(_) => SniffEnd::Error,
        }
    }

    /// The outcome when no route takes the connection.
    fn unmatched(self) -> SniffOutcome {
        match self {
            InputEnd::Eof | InputEnd::ByteLimit => SniffOutcome::NotMatched,
            InputEnd::Deadline => SniffOutcome::TimedOut,
            InputEnd::Silent => SniffOutcome::NoFirstByte,
            InputEnd::Stopped => SniffOutcome::Interrupted,
            InputEnd::Error(error) => SniffOutcome::Failed(error),
        }
    }
}

/// What a wait for more bytes ended with, short of the input ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Bytes arrived.
    Bytes,
    /// Bytes waiting for a judgement saw no more arrive for a pause.
    Idle,
    /// The wake time the caller gave passed.
    Woken,
}

/// The routes a sniff decides between.
pub(crate) struct Routes<'a, M> {
    /// Their matchers, in priority order.
    pub(crate) matchers: &'a [M],
    /// Where they stand before any byte (`None` to ask them in the sniff).
    pub(crate) opening: Option<Opening>,
    /// Whether some route reads the connection's addresses: then the
    /// sniff asks the connection for them (otherwise the matchers see
    /// [`Addresses::UNKNOWN`]), a PROXY header, once parsed, names the
    /// client and destination in them, and the routes are asked about the
    /// empty input again.
    pub(crate) read_addresses: bool,
}

/// Sniffs `conn`, accepted at `accepted_at` (the deadline and silence
/// timeouts count from then), to decide between `routes`. A client a
/// PROXY header names is counted under `relayed_limit`, if given, for the
/// rest of the sniff (its proxy was not: it speaks for many). `stop` is the multiplexer's shutdown signal: a sniff that ends while it
/// is set reports `Interrupted`, since shutdown is what closed the
/// connection, and a sniff pausing between reads wakes when it is set.
///
/// `elapsed` is the time since accept, measured by the caller just before
/// (`Duration::ZERO` from a caller that accepted the connection an instant
/// ago): the clock is read once per round, and the first round's read is
/// the caller's. Every time limit is kept as a duration since accept, so a
/// round does no arithmetic on instants.
///
/// The bytes are read into this thread's spare sniff buffer (see
/// [`sniff_buffer`]), which the result carries, with the trace `recorder`
/// made of the decision: a [`Tracer`](trace::Tracer) when the limits ask
/// for one, `()` otherwise.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sniff<C: Connection, M: Matcher, R: Record>(
    conn: &C,
    accepted_at: Instant,
    elapsed: Duration,
    routes: Routes<'_, M>,
    limits: &SniffLimits,
    relayed_limit: Option<&Arc<PerSourceLimit>>,
    stop: &StopSignal,
    recorder: R,
) -> Sniffed {
    let Routes {
        matchers,
        opening,
        read_addresses,
    } = routes;
    let connection_addresses;
    let own = match read_addresses {
        true => {
            connection_addresses = conn.addresses();
            &connection_addresses
        }
        false => &Addresses::UNKNOWN,
    };
    let mut opening = opening.unwrap_or_else(|| Opening::of(matchers, own));
    let mut decider = RouteDecider::opened(matchers, own, opening);
    let mut reader = Reader::new(conn, accepted_at, limits, buffer::take(), stop, recorder);
    reader.tracer.opened(opening);
    // On a virtual clock, the connection's time starts with its sniff.
    let elapsed = match conn.clock() {
        Some(_) => Duration::ZERO,
        None => elapsed,
    };
    if let Err(error) = conn.set_up(set_up_timeout(limits, elapsed)) {
        let outcome = if stop.is_set() {
            SniffOutcome::Interrupted
        } else if is_timeout(&error) {
            SniffOutcome::TimedOut
        } else {
            SniffOutcome::Failed(error)
        };
        return reader.finish(None, outcome);
    }
    // Before the first read, unless the routes took the connection
    // without one.
    let reads = limits.proxy_mode != ProxyMode::Off || opening.decision() == Decision::Undecided;
    if reads {
        if let Err(error) = conn.poll_input(FIRST_INPUT_POLLS) {
            return reader.finish(None, SniffOutcome::Failed(error));
        }
    }
    if let Err(outcome) = reader.read_proxy_header(limits, &decider) {
        let outcome = if stop.is_set() {
            SniffOutcome::Interrupted
        } else {
            outcome
        };
        return reader.finish(None, outcome);
    }
    // Held for the rest of the sniff.
    let _relayed_place;
    if let (Some(limit), Some(header)) = (relayed_limit, reader.proxy_header.as_deref()) {
        if let Some(client) = header.relay(Addresses::UNKNOWN).client {
            match limit.try_take(client.ip()) {
                Some(place) => _relayed_place = place,
                None => return reader.finish(None, SniffOutcome::SourceLimit),
            }
        }
    }
    let relayed;
    if let (true, Some(header)) = (read_addresses, reader.proxy_header.as_deref()) {
        relayed = header.relay(*own);
        opening = Opening::of(matchers, &relayed);
        decider = RouteDecider::opened(matchers, &relayed, opening);
        reader.tracer.opened(opening);
    }
    // Reading a PROXY header took time: the first round reads the clock.
    let mut first_elapsed = (limits.proxy_mode == ProxyMode::Off).then_some(elapsed);
    // A PROXY header may have come with the client's first bytes.
    let mut decision = match reader.seen().len() {
        0 => opening.decision(),
        length => {
            reader.pace.judged(length);
            let decision = decider.decide(reader.seen());
            reader.trace_judged(&decider, decision);
            decision
        }
    };
    let mut judged = true;
    let mut replied_by = None;
    let decided = loop {
        match decision {
            Decision::Route(index) => break Ok(index),
            Decision::NoRoute => return reader.finish(None, SniffOutcome::NotMatched),
            Decision::Undecided => {}
        }
        // One clock read per round: the silence checks and the read's
        // timeout both start from it.
        let mut elapsed = first_elapsed.take().unwrap_or_else(|| reader.elapsed());
        let mut wake = None;
        if reader.seen().is_empty() {
            if let Decision::Route(index) = decider.decide_silent(elapsed) {
                let silence = SniffEnd::Silence;
                reader
                    .tracer
                    .at_end(&decider, Decision::Route(index), silence, 0);
                break Ok(index);
            }
            if limits
                .first_byte_timeout
                .is_some_and(|limit| elapsed >= limit)
            {
                break Err(InputEnd::Silent);
            }
            wake = earliest(
                decider.next_silence_timeout(elapsed),
                limits.first_byte_timeout,
            );
        }
        // A reply depends on the bytes: it is asked for when they are
        // judged, and at most once.
        if judged && replied_by.is_none() {
            let blocking = decider.blocking().and_then(|index| matchers.get(index));
            if let Some(reply) = blocking.and_then(|matcher| matcher.reply(reader.seen())) {
                replied_by = decider.blocking();
                if let Err(end) = reader.write_reply(reply, elapsed) {
                    break Err(end);
                }
                elapsed = reader.elapsed();
            }
        }
        judged = match reader.read_to_judge(wake, elapsed, Reader::<C, R>::seen_length) {
            Ok((_, judge)) => judge,
            Err(end) => break Err(end),
        };
        if judged {
            decision = decider.decide(reader.seen());
            reader.trace_judged(&decider, decision);
        }
    };
    if stop.is_set() {
        return reader.finish(None, SniffOutcome::Interrupted);
    }
    let replier = replied_by.and_then(|index| matchers.get(index));
    match decided {
        Ok(index) => {
            let end = replier.and_then(|matcher| reader.cut_reply_ack(matcher, true));
            reader.finish(
                end.and_then(InputEnd::into_stream_end),
                SniffOutcome::Route(index),
            )
        }
        Err(input_end) => {
            let decision = decider.decide_at_end(reader.seen(), reader.elapsed());
            let seen = reader.seen_length();
            reader
                .tracer
                .at_end(&decider, decision, input_end.sniff_end(), seen);
            match decision {
                Decision::Route(index) => {
                    if let Some(matcher) = replier {
                        reader.cut_reply_ack(matcher, false);
                    }
                    reader.finish(input_end.into_stream_end(), SniffOutcome::Route(index))
                }
                Decision::NoRoute | Decision::Undecided => {
                    reader.finish(None, input_end.unmatched())
                }
            }
        }
    }
}

/// How long each read of a connection's set-up may wait: until the first
/// byte is due, or the deadline, whichever comes first.
fn set_up_timeout(limits: &SniffLimits, elapsed: Duration) -> Option<Duration> {
    earliest(limits.first_byte_timeout, limits.deadline)
        .map(|limit| limit.saturating_sub(elapsed).max(TIMEOUT_SLACK))
}

/// Whether a read failed because its timeout passed.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether a read that must not wait found nothing (or was interrupted
/// before it did).
fn is_would_block(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// The earlier of two optional times; `None` only if both are.
#[inline]
fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The I/O side of a sniff: the buffer, the clock, the socket's timeout
/// and mode, and the pace of reads and judgements.
struct Reader<'a, C, R> {
    conn: &'a C,
    started: Instant,
    /// The connection's virtual clock, if it has one, and its time when
    /// the sniff started: then the sniff's time is read from it.
    clock: Option<(&'a Clock, Duration)>,
    /// The sniff deadline, as time since `started`.
    deadline: Option<Duration>,
    max_bytes: usize,
    buffer: Vec<u8>,
    filled: usize,
    /// The PROXY header at the start of the buffer and its length: the
    /// routes see the bytes after it.
    proxy_header: Option<Box<ProxyHeader>>,
    header_length: usize,
    /// How the input ended, once it has, so that later reads report it
    /// again instead of reading.
    ended: Option<InputEnd>,
    /// The read timeout the connection came with, once the sniff has
    /// looked: `finish` puts it back.
    original_timeout: Option<Option<Duration>>,
    /// The connection's read timeout, once the sniff has set it or looked.
    timeout_set: Option<Option<Duration>>,
    /// Whether the one look at what arrived by the deadline was taken.
    read_at_deadline: bool,
    pace: Pace,
    stop: &'a StopSignal,
    /// Records the decision.
    tracer: R,
}

/// How much later than asked a read may time out, rather than set the
/// socket's timeout again: reads in quick succession keep the one set.
/// (The kernel's own rounding is coarser: Linux wakes a timed-out read
/// on a timer tick, 4 ms apart at the usual 250 Hz.)
const TIMEOUT_SLACK: Duration = Duration::from_millis(1);

impl<'a, C: Connection, R: Record> Reader<'a, C, R> {
    fn new(
        conn: &'a C,
        started: Instant,
        limits: &SniffLimits,
        buffer: Vec<u8>,
        stop: &'a StopSignal,
        tracer: R,
    ) -> Self {
        Reader {
            conn,
            started,
            clock: conn.clock().map(|clock| (clock, clock.now())),
            deadline: limits.deadline,
            max_bytes: limits.max_bytes,
            buffer,
            filled: 0,
            proxy_header: None,
            header_length: 0,
            ended: None,
            original_timeout: None,
            timeout_set: None,
            read_at_deadline: false,
            pace: Pace::default(),
            stop,
            tracer,
        }
    }

    /// Records `decision`, which `decider` just made on the bytes seen,
    /// if the decision is traced.
    #[inline(always)]
    fn trace_judged<M: Matcher>(&mut self, decider: &RouteDecider<'_, M>, decision: Decision) {
        let seen = &self.buffer[self.header_length..self.filled];
        self.tracer.judged(decider, seen, decision);
    }

    /// Which route the trace says took the connection, and what ended
    /// the sniff if the routes did not judge to the end, for `outcome`.
    fn traced_outcome(outcome: &SniffOutcome) -> (Option<usize>, Option<SniffEnd>) {
        match outcome {
            SniffOutcome::Route(index) => (Some(*index), None),
            SniffOutcome::NotMatched => (None, None),
            SniffOutcome::TimedOut => (None, Some(SniffEnd::Deadline)),
            SniffOutcome::NoFirstByte => (None, Some(SniffEnd::NoFirstByte)),
            SniffOutcome::Failed(_) => (None, Some(SniffEnd::Error)),
            SniffOutcome::BadProxyHeader(_) => (None, Some(SniffEnd::ProxyHeader)),
            SniffOutcome::SourceLimit => (None, Some(SniffEnd::SourceLimit)),
            SniffOutcome::Interrupted => (None, Some(SniffEnd::Shutdown)),
        }
    }

    /// The bytes the routes judge: everything read after the PROXY header.
    fn seen(&self) -> &[u8] {
        &self.buffer[self.header_length..self.filled]
    }

    /// How many bytes the routes judge.
    #[inline]
    fn seen_length(&self) -> usize {
        self.filled - self.header_length
    }

    /// Reads more as [`read_more`](Self::read_more) does, then says
    /// whether the input, as long as `length` measures it, is to be looked
    /// at now, and counts that look: bytes that earned it, or bytes that
    /// awaited an idle client's. The look itself is the caller's.
    #[inline]
    fn read_to_judge(
        &mut self,
        wake: Option<Duration>,
        elapsed: Duration,
        length: impl Fn(&Self) -> usize,
    ) -> Result<(Arrival, bool), InputEnd> {
        let awaits_judgement = self.pace.awaits_idle_judgement(length(self));
        let arrival = self.read_more(wake, awaits_judgement, elapsed)?;
        let judge = match arrival {
            Arrival::Bytes => self.pace.may_judge(length(self)),
            Arrival::Idle => true,
            Arrival::Woken => false,
        };
        if judge {
            self.pace.judged(length(self));
        }
        Ok((arrival, judge))
    }

    /// Reads and removes the PROXY header the limits ask for. `Err` is the
    /// outcome for a connection that must be refused.
    ///
    /// While nothing has arrived, the wait is the one for a silent client:
    /// under `Optional`, a client that stays silent past a silence route's
    /// timeout or the first-byte timeout has sent no header, and the
    /// routes decide on its silence; under `Required`, a peer that sends
    /// nothing within the first-byte timeout is refused as silent (a load
    /// balancer sends its header as soon as it connects).
    fn read_proxy_header<M: Matcher>(
        &mut self,
        limits: &SniffLimits,
        decider: &RouteDecider<'_, M>,
    ) -> Result<(), SniffOutcome> {
        let mode = limits.proxy_mode;
        if mode == ProxyMode::Off {
            return Ok(());
        }
        // The header is parsed as the routes judge: as often as the pace
        // allows, and once more when the input ends.
        let mut parse = true;
        loop {
            if parse {
                if let Some(parsed) = self.parse_proxy_header(mode) {
                    return parsed;
                }
            }
            let elapsed = self.elapsed();
            let wake = match (self.filled, mode) {
                (0, ProxyMode::Optional) => earliest(
                    decider.next_silence_timeout(elapsed),
                    limits.first_byte_timeout,
                ),
                (0, _) => limits.first_byte_timeout,
                _ => None,
            };
            parse = match self.read_to_judge(wake, elapsed, |reader| reader.filled) {
                Ok((Arrival::Woken, _)) if mode == ProxyMode::Optional => return Ok(()),
                Ok((Arrival::Woken, _)) => return Err(SniffOutcome::NoFirstByte),
                Ok((_, parse)) => parse,
                Err(end) => {
                    if let Some(parsed) = self.parse_proxy_header(mode) {
                        // The routes see the end after the header.
                        self.ended = Some(end);
                        return parsed;
                    }
                    return match end {
                        // What came may be the client's own bytes; the
                        // routes judge them as a complete input.
                        end if mode == ProxyMode::Optional => {
                            self.ended = Some(end);
                            Ok(())
                        }
                        InputEnd::Eof | InputEnd::ByteLimit => {
                            Err(SniffOutcome::BadProxyHeader(ProxyError::truncated()))
                        }
                        end => Err(end.unmatched()),
                    };
                }
            };
        }
    }

    /// Parses the PROXY header `mode` asks for in what has arrived: `None`
    /// while it is incomplete, `Some(Ok)` once it is removed (or, under
    /// `Optional`, known to be absent), `Some(Err)` with the outcome for a
    /// connection that must be refused.
    fn parse_proxy_header(&mut self, mode: ProxyMode) -> Option<Result<(), SniffOutcome>> {
        let parsed = match parse_proxy_header(&self.buffer[..self.filled]) {
            ProxyParse::Complete { header, length } => {
                self.proxy_header = Some(Box::new(header));
                self.header_length = length;
                Ok(())
            }
            ProxyParse::Absent if mode == ProxyMode::Optional => Ok(()),
            ProxyParse::Absent => Err(SniffOutcome::BadProxyHeader(ProxyError::missing())),
            ProxyParse::Malformed(error) => Err(SniffOutcome::BadProxyHeader(error)),
            ProxyParse::Incomplete => return None,
        };
        // The routes' judgements have a budget of their own.
        self.pace.start_judging_anew();
        Some(parsed)
    }

    /// The time since accept, read from the clock.
    fn elapsed(&self) -> Duration {
        match self.clock {
            Some((clock, started)) => clock.now().saturating_sub(started),
            None => self.started.elapsed(),
        }
    }

    /// Sleeps for `pause`, on the connection's clock if it has one, or
    /// until the multiplexer stops; `false` if it does.
    fn sleep(&self, pause: Duration) -> bool {
        match self.clock {
            Some((clock, _)) => clock.sleep(pause, self.stop),
            None => self.stop.sleep(pause),
        }
    }

    /// The end of the part of the buffer a read may fill: the buffer may
    /// be a spare from a sniff under a larger byte limit.
    fn readable_end(&self) -> usize {
        self.buffer.len().min(self.max_bytes)
    }

    /// Makes room for a read, growing the buffer when it is full. A
    /// thread's first buffer is allocated only once the connection has
    /// input: until then a silent connection holds none.
    fn make_room(&mut self) -> io::Result<()> {
        if self.filled == self.readable_end() {
            if self.buffer.is_empty() {
                self.conn.wait_for_input()?;
            }
            let grown = buffer::grown_length(self.buffer.len(), self.max_bytes);
            self.buffer.resize(grown, 0);
        }
        Ok(())
    }

    /// One read into the free part of the buffer, counted by the pace.
    fn read_some(&mut self) -> io::Result<usize> {
        self.make_room()?;
        let end = self.readable_end();
        let count = self.conn.read_shared(&mut self.buffer[self.filled..end])?;
        if count > 0 {
            self.pace.count_read(count, end - self.filled);
        }
        self.filled += count;
        Ok(count)
    }

    /// One read of what has arrived, without waiting for more:
    /// `WouldBlock` when nothing has.
    fn read_arrived(&mut self) -> io::Result<usize> {
        self.make_room()?;
        self.conn.set_nonblocking(true)?;
        let read = self.read_some();
        self.conn.set_nonblocking(false)?;
        read
    }

    /// Waits for more bytes, at most until the deadline or `wake` (a time
    /// since accept), whichever comes first; `elapsed` is the time since
    /// accept, read just before. With `awaits_judgement`, bytes already
    /// here wait for a judgement the pace did not allow on arrival: the
    /// sniff pauses, then takes what arrived without waiting for more,
    /// and reports `Idle` if nothing did. Otherwise the read is made as
    /// [`Pace::next_read`] says: it waits for bytes, or takes what has
    /// arrived, or pauses first. `Err` when the input ended.
    fn read_more(
        &mut self,
        wake: Option<Duration>,
        awaits_judgement: bool,
        mut elapsed: Duration,
    ) -> Result<Arrival, InputEnd> {
        if let Some(end) = self.ended.take() {
            return Err(end);
        }
        if self.filled >= self.max_bytes {
            return Err(InputEnd::ByteLimit);
        }
        let pause = match self.pace.next_read(awaits_judgement) {
            NextRead::Wait => None,
            NextRead::Pause(pause) => Some(pause),
            NextRead::TakeArrived => match self.read_arrived() {
                Ok(0) => return Err(InputEnd::Eof),
                Ok(_) => return Ok(Arrival::Bytes),
                Err(error) if is_would_block(&error) => Some(self.pace.pause()),
                Err(error) => return Err(InputEnd::Error(error)),
            },
        };
        if let Some(pause) = pause {
            elapsed = self.pause(pause, wake, elapsed)?;
            if let Some(arrival) = self.look_after_pause(wake, awaits_judgement, elapsed)? {
                return Ok(arrival);
            }
        }
        loop {
            if self.deadline.is_some_and(|deadline| elapsed >= deadline) {
                return Err(InputEnd::Deadline);
            }
            if wake.is_some_and(|wake| elapsed >= wake) {
                return Ok(Arrival::Woken);
            }
            let until = earliest(self.deadline, wake);
            self.set_timeout(until.map(|until| until - elapsed))
                .map_err(InputEnd::Error)?;
            match self.read_some() {
                Ok(0) => return Err(InputEnd::Eof),
                Ok(_) => return Ok(Arrival::Bytes),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error)
                    if until.is_some()
                        && matches!(
                            error.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                Err(error) => return Err(InputEnd::Error(error)),
            }
            elapsed = self.elapsed();
        }
    }

    /// Sleeps for `pause`, but never past the deadline or `wake`; returns
    /// the time since accept after it.
    fn pause(
        &self,
        pause: Duration,
        wake: Option<Duration>,
        elapsed: Duration,
    ) -> Result<Duration, InputEnd> {
        let until = earliest(self.deadline, wake);
        let pause = until.map_or(pause, |until| pause.min(until.saturating_sub(elapsed)));
        if pause.is_zero() {
            return Ok(elapsed);
        }
        if !self.sleep(pause) {
            return Err(InputEnd::Stopped);
        }
        Ok(self.elapsed())
    }

    /// After a pause, takes what arrived during it without waiting for
    /// more, where something is due now: the deadline (which may have cut
    /// the pause short: what arrived in time is taken, once, so that the
    /// decision does not depend on the pace), an idle client's judgement,
    /// or a silence check (which bytes that came in the pause must not be
    /// missed by). `None` when nothing is due: the caller reads on.
    fn look_after_pause(
        &mut self,
        wake: Option<Duration>,
        awaits_judgement: bool,
        elapsed: Duration,
    ) -> Result<Option<Arrival>, InputEnd> {
        if self.deadline.is_some_and(|deadline| elapsed >= deadline) {
            if !self.read_at_deadline {
                self.read_at_deadline = true;
                if let Ok(1..) = self.read_arrived() {
                    return Ok(Some(Arrival::Bytes));
                }
            }
            return Err(InputEnd::Deadline);
        }
        let woken = wake.is_some_and(|wake| elapsed >= wake);
        if !awaits_judgement && !woken {
            return Ok(None);
        }
        match self.read_arrived() {
            Ok(0) => Err(InputEnd::Eof),
            Ok(_) => Ok(Some(Arrival::Bytes)),
            Err(error) if is_would_block(&error) => Ok(Some(if awaits_judgement {
                Arrival::Idle
            } else {
                Arrival::Woken
            })),
            Err(error) => Err(InputEnd::Error(error)),
        }
    }

    /// Sets the socket's read timeout to `timeout`, unless the one set
    /// already is no shorter and at most [`TIMEOUT_SLACK`] longer.
    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let current = match self.timeout_set {
            Some(current) => current,
            None => {
                let original = self.conn.read_timeout()?;
                self.original_timeout = Some(original);
                original
            }
        };
        // A virtual clock times reads exactly, so that a test knows when
        // each one ends.
        let slack = match self.clock {
            Some(_) => Duration::ZERO,
            None => TIMEOUT_SLACK,
        };
        let close_enough = match (current, timeout) {
            (Some(set), Some(wanted)) => set >= wanted && set - wanted <= slack,
            (set, wanted) => set == wanted,
        };
        if !close_enough {
            self.conn.set_read_timeout(timeout)?;
        }
        self.timeout_set = Some(if close_enough { current } else { timeout });
        Ok(())
    }

    /// Sends a matcher's reply to the client without blocking: a client
    /// that does not read it is waited for in pauses growing from
    /// [`FIRST_PAUSE`], until the deadline.
    fn write_reply(&mut self, mut bytes: &[u8], mut elapsed: Duration) -> Result<(), InputEnd> {
        self.conn.set_nonblocking(true).map_err(InputEnd::Error)?;
        let mut pause = FIRST_PAUSE;
        let written = loop {
            if bytes.is_empty() {
                break Ok(());
            }
            match self.conn.write_shared(bytes) {
                Ok(0) => break Err(InputEnd::Error(io::ErrorKind::WriteZero.into())),
                Ok(written) => bytes = &bytes[written..],
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    let left = self
                        .deadline
                        .map_or(pause, |deadline| deadline.saturating_sub(elapsed));
                    if left.is_zero() {
                        break Err(InputEnd::Deadline);
                    }
                    if !self.sleep(pause.min(left)) {
                        break Err(InputEnd::Stopped);
                    }
                    pause = (pause * PAUSE_GROWTH).min(LONGEST_PAUSE);
                    elapsed = self.elapsed();
                }
                Err(error) => break Err(InputEnd::Error(error)),
            }
        };
        match self.conn.set_nonblocking(false) {
            Ok(()) => written,
            Err(error) => Err(InputEnd::Error(error)),
        }
    }

    /// Removes the client's acknowledgement of `replier`'s reply from the
    /// sniffed bytes, reading on until it arrives if `may_read` (asking
    /// the matcher as often as the pace allows a judgement). Returns how
    /// the input ended if it did while waiting; the connection is handed
    /// over either way.
    fn cut_reply_ack<M: Matcher>(&mut self, replier: &M, may_read: bool) -> Option<InputEnd> {
        let mut ask = true;
        loop {
            if ask {
                match replier.reply_ack(self.seen()) {
                    ReplyAck::At(range) => {
                        self.cut(range);
                        return None;
                    }
                    ReplyAck::Pending if may_read => {}
                    ReplyAck::Pending | ReplyAck::None => return None,
                }
            }
            ask = match self.read_to_judge(None, self.elapsed(), Self::seen_length) {
                Ok((_, ask)) => ask,
                Err(end) => return Some(end),
            };
        }
    }

    /// Removes `range` of the bytes the routes see, if it lies within them.
    fn cut(&mut self, range: Range<usize>) {
        let (start, end) = (
            range.start + self.header_length,
            range.end + self.header_length,
        );
        if start <= end && end <= self.filled {
            self.buffer.copy_within(end..self.filled, start);
            self.filled -= end - start;
        }
    }

    /// Puts back the read timeout the connection came with, so the
    /// handler starts with the socket as accept returned it, and packs
    /// the result. (By reference, taking what it needs: the reader is not
    /// copied.)
    fn finish(&mut self, end: Option<StreamEnd>, outcome: SniffOutcome) -> Sniffed {
        if let Some(original) = self.original_timeout {
            if self.timeout_set != Some(original) {
                // A socket that refuses this is failing anyway; its
                // handler will see the error on its own first read.
                let _ = self.conn.set_read_timeout(original);
            }
        }
        let (seen, started) = (self.seen_length(), self.started);
        let trace = self.tracer.finish(|| {
            let (route, end) = Self::traced_outcome(&outcome);
            (route, end, seen, started.elapsed())
        });
        Sniffed {
            trace,
            range: self.header_length..self.filled,
            buffer: std::mem::take(&mut self.buffer),
            proxy_header: self.proxy_header.take(),
            end,
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Verdict;
    use crate::matchers::{any, http1_fast, prefixes, silence};
    use crate::memory::{pair, MemoryStream};
    use std::io::{Read, Write};
    use std::net::Shutdown;
    use std::sync::Arc;
    use std::thread;

    impl Sniffed {
        /// The bytes the routes judged.
        fn bytes(&self) -> &[u8] {
            &self.buffer[self.range.clone()]
        }
    }

    fn limits(deadline_ms: Option<u64>, max_bytes: usize) -> SniffLimits {
        SniffLimits {
            deadline: deadline_ms.map(Duration::from_millis),
            max_bytes,
            first_byte_timeout: None,
            proxy_mode: ProxyMode::Off,
            trace: false,
        }
    }

    fn run(conn: &MemoryStream, matchers: &[Box<dyn Matcher>], limits: SniffLimits) -> Sniffed {
        sniff(
            conn,
            Instant::now(),
            Duration::ZERO,
            Routes {
                matchers,
                opening: Some(Opening::of(matchers, &Addresses::UNKNOWN)),
                read_addresses: false,
            },
            &limits,
            None,
            &StopSignal::new(),
            (),
        )
    }

    fn boxed(m: impl Matcher + 'static) -> Box<dyn Matcher> {
        Box::new(m)
    }

    #[test]
    fn decides_as_soon_as_bytes_allow() {
        let (mut client, server) = pair();
        client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(any())],
            limits(Some(10_000), 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(0)));
        assert_eq!(sniffed.bytes(), b"GET / HTTP/1.1\r\n");
        assert!(sniffed.end.is_none());
        assert_eq!(
            server.read_timeout(),
            None,
            "the sniff's timeout is cleared"
        );
    }

    #[test]
    fn routes_that_need_no_bytes_decide_without_reading() {
        let (_client, server) = pair();
        let sniffed = run(&server, &[boxed(any())], limits(None, 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(0)));
        assert!(sniffed.bytes().is_empty());
    }

    #[test]
    fn the_deadline_settles_undecided_routes() {
        let (_client, server) = pair();
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(any())],
            limits(Some(30), 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        let sniffed = run(&server, &[boxed(http1_fast())], limits(Some(30), 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::TimedOut));
    }

    #[test]
    fn eof_is_kept_for_the_handler() {
        let (mut client, server) = pair();
        client.write_all(b"GE").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(any())],
            limits(None, 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        assert_eq!(sniffed.bytes(), b"GE");
        assert!(matches!(sniffed.end, Some(StreamEnd::Eof)));
        let sniffed = run(&server, &[boxed(http1_fast())], limits(None, 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::NotMatched));
    }

    #[test]
    fn the_byte_limit_ends_the_input() {
        let (mut client, server) = pair();
        client.write_all(&[b'A'; 100]).unwrap();
        let never = |_: &[u8]| Verdict::NeedMore;
        let sniffed = run(&server, &[boxed(never), boxed(any())], limits(None, 10));
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        assert_eq!(sniffed.bytes(), [b'A'; 10]);
        let sniffed = run(&server, &[boxed(never)], limits(None, 0));
        assert!(matches!(sniffed.outcome, SniffOutcome::NotMatched));
    }

    #[test]
    fn byte_by_byte_input_still_decides() {
        let (client, server) = pair();
        let writer = thread::spawn(move || {
            let mut client = client;
            for byte in b"SSH-2.0-x\r\n" {
                client.write_all(&[*byte]).unwrap();
                thread::sleep(Duration::from_millis(1));
            }
            client
        });
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(prefixes(["SSH-2.0-"]))],
            limits(None, 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        assert!(sniffed.bytes().starts_with(b"SSH-2.0-"));
        drop(writer.join().unwrap());
    }

    #[test]
    fn a_silent_client_reaches_the_silence_route_after_its_timeout() {
        let (_client, server) = pair();
        let routes = [
            boxed(http1_fast()),
            boxed(silence(Duration::from_millis(40))),
        ];
        let started = Instant::now();
        let sniffed = run(&server, &routes, limits(None, 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        assert!(started.elapsed() >= Duration::from_millis(40));
        assert_eq!(server.read_timeout(), None);
    }

    #[test]
    fn a_byte_before_the_silence_timeout_routes_as_usual() {
        let (mut client, server) = pair();
        client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        let routes = [boxed(silence(Duration::from_secs(60))), boxed(http1_fast())];
        let sniffed = run(&server, &routes, limits(None, 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
    }

    /// Replies "ready?" once it has seen "HELLO", matches "HELLO GO", and
    /// reports the client's "ACK;" (anywhere after HELLO) as the reply's
    /// acknowledgement.
    struct Handshake;

    impl Matcher for Handshake {
        fn verdict(&self, seen: &[u8]) -> Verdict {
            let want = b"HELLO";
            if !want.starts_with(&seen[..seen.len().min(5)]) {
                Verdict::NoMatch
            } else if seen.windows(2).any(|w| w == b"GO") {
                Verdict::Match
            } else {
                Verdict::NeedMore
            }
        }

        fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
            (seen == b"HELLO").then_some(b"ready?")
        }

        fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
            match seen.windows(4).position(|w| w == b"ACK;") {
                Some(at) => ReplyAck::At(at..at + 4),
                None => ReplyAck::Pending,
            }
        }
    }

    #[test]
    fn a_reply_is_written_once_and_its_acknowledgement_cut_out() {
        let (client, server) = pair();
        let talker = thread::spawn(move || {
            let mut client = client;
            client.write_all(b"HELLO").unwrap();
            let mut reply = [0u8; 6];
            client.read_exact(&mut reply).unwrap();
            assert_eq!(&reply, b"ready?");
            client.write_all(b" GO").unwrap();
            thread::sleep(Duration::from_millis(20));
            client.write_all(b" ACK; more").unwrap();
            client
        });
        let sniffed = run(&server, &[boxed(Handshake)], limits(Some(10_000), 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(0)));
        let client = talker.join().unwrap();
        let mut rest = sniffed.bytes().to_vec();
        client.shutdown(Shutdown::Write).unwrap();
        (&server).read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"HELLO GO  more");
    }

    #[test]
    fn shutdown_interrupts_a_sniff_without_deadline() {
        let (_client, server) = pair();
        let server = Arc::new(server);
        let stop = Arc::new(StopSignal::new());
        let sniffer = {
            let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
            thread::spawn(move || {
                let routes = [boxed(http1_fast())];
                sniff(
                    &*server,
                    Instant::now(),
                    Duration::ZERO,
                    Routes {
                        matchers: &routes,
                        opening: None,
                        read_addresses: false,
                    },
                    &limits(None, 1024),
                    None,
                    &stop,
                    (),
                )
                .outcome
            })
        };
        thread::sleep(Duration::from_millis(20));
        stop.set();
        server.shutdown(Shutdown::Both).unwrap();
        assert!(matches!(sniffer.join().unwrap(), SniffOutcome::Interrupted));
    }
}
