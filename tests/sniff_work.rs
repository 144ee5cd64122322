//! The work a sniff does, counted rather than timed: the bytes its
//! matchers are shown and the reads it makes, however the client splits
//! and times its bytes. The bound (see `src/sniff/pace.rs`): each matcher is
//! shown at most 5 times the bytes received, where one write of the same
//! bytes shows it once; reads number at most 1, plus about two per KiB,
//! plus one per pause, and pauses grow eightfold from 2 ms.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use connmux::memory::{self, Clock, MemoryStream};
use connmux::{Connection, Matcher, MuxBuilder, Verdict};

use common::{scripted_source, within, WAIT};

/// The most bytes a matcher may be shown for each byte received.
const SHOWN_PER_BYTE: usize = 5;

/// What a sniff did, counted.
#[derive(Default)]
struct Work {
    /// Bytes shown to the matcher, summed over its calls.
    shown: AtomicUsize,
    /// Calls to the matcher on a non-empty input (the empty input is
    /// judged once per route table, not per connection).
    judgements: AtomicUsize,
    /// Reads of the connection, whatever they returned.
    reads: AtomicUsize,
    /// Looks for input without blocking that the sniff asked for
    /// (`Connection::poll_input`), summed over its calls, and the calls.
    polls: AtomicUsize,
    poll_calls: AtomicUsize,
}

impl Work {
    fn shown(&self) -> usize {
        self.shown.load(Ordering::Relaxed)
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Asserts the bound on the bytes shown for an opening of `opening`
    /// bytes, and at most `max_reads` reads.
    fn assert_within(&self, opening: usize, max_reads: usize) {
        assert!(
            self.shown() <= SHOWN_PER_BYTE * opening,
            "shown {} bytes for {opening}",
            self.shown()
        );
        assert!(self.reads() <= max_reads, "{} reads", self.reads());
    }
}

/// A matcher that needs `opening` bytes, then matches; it counts its work.
struct Counting {
    opening: usize,
    work: Arc<Work>,
}

impl Matcher for Counting {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.work.shown.fetch_add(seen.len(), Ordering::Relaxed);
        if !seen.is_empty() {
            self.work.judgements.fetch_add(1, Ordering::Relaxed);
        }
        if seen.len() >= self.opening {
            Verdict::Match
        } else {
            Verdict::NeedMore
        }
    }
}

/// A connection that counts its reads.
struct Counted<C> {
    conn: C,
    work: Arc<Work>,
}

impl<C: Connection> Connection for Counted<C> {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.work.reads.fetch_add(1, Ordering::Relaxed);
        self.conn.read_shared(buf)
    }

    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        self.conn.write_shared(buf)
    }

    fn wait_for_input(&self) -> io::Result<()> {
        self.conn.wait_for_input()
    }

    fn poll_input(&self, polls: u32) -> io::Result<bool> {
        self.work.poll_calls.fetch_add(1, Ordering::Relaxed);
        self.work.polls.fetch_add(polls as usize, Ordering::Relaxed);
        self.conn.poll_input(polls)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.set_read_timeout(timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.conn.read_timeout()
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.conn.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.conn.shutdown(how)
    }

    fn clock(&self) -> Option<&Clock> {
        self.conn.clock()
    }
}

impl<C: Connection> Read for Counted<C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_shared(buf)
    }
}

impl<C: Connection> Write for Counted<C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_shared(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sniffs, on this thread, the in-memory connection whose client `send`
/// drives, with one route that matches once `opening` bytes arrived and
/// no time limits (a sniff that waited for a timer would never end).
fn sniff_memory(opening: usize, send: impl FnOnce(MemoryStream) + Send + 'static) -> Arc<Work> {
    let (client, conn) = memory::pair();
    let client = thread::spawn(move || send(client));
    let work = sniff_counted(opening, conn);
    client.join().unwrap();
    work
}

/// Sniffs `conn` on this thread, counting the work, with one route that
/// matches once `opening` bytes arrived and no time limits.
fn sniff_counted<C: Connection>(opening: usize, conn: C) -> Arc<Work> {
    let work = Arc::new(Work::default());
    let (source, _script) = scripted_source::<Counted<C>>();
    let mut mux = MuxBuilder::new()
        .sniff_deadline(None)
        .first_byte_timeout(None)
        .build(source)
        .unwrap();
    mux.route_inline(
        Counting {
            opening,
            work: Arc::clone(&work),
        },
        |_, _| {},
    );
    let dispatcher = mux.dispatcher();
    let conn = Counted {
        conn,
        work: Arc::clone(&work),
    };
    within(WAIT, move || dispatcher.dispatch(conn, 1)).expect("matched");
    work
}

/// Runs `sniff` on its own thread over an in-memory connection on a
/// virtual clock, whose client writes each step's bytes and then lets the
/// clock advance by its delay, once the sniff has settled (is blocked on
/// the clock having seen everything). After the steps, the clock runs on
/// from one wake time of the sniff to the next until it ends.
fn sniff_on_clock<R: Send + 'static>(
    steps: impl IntoIterator<Item = (&'static [u8], Duration)>,
    sniff: impl FnOnce(MemoryStream) -> R + Send + 'static,
) -> R {
    let clock = Clock::new();
    let (mut client, conn) = clock.pair();
    let sniffer = thread::spawn(move || sniff(conn));
    let bound = Instant::now() + WAIT;
    // Whether the sniff settled (rather than ended).
    let settled = || loop {
        assert!(
            Instant::now() < bound,
            "the sniff neither settled nor ended"
        );
        if sniffer.is_finished() {
            return false;
        }
        if clock.wait_for_sleepers(1, Duration::from_millis(10)) {
            return true;
        }
    };
    for (bytes, delay) in steps {
        if !settled() {
            break;
        }
        client.write_all(bytes).unwrap();
        if settled() {
            clock.advance(delay);
        }
    }
    while settled() {
        let wake = clock.next_wake().expect("the sniff waits for a time");
        clock.advance(wake.saturating_sub(clock.now()));
    }
    drop(client);
    sniffer.join().unwrap()
}

/// Writes `length` bytes one at a time, back to back, and keeps the
/// connection open until the sniff has decided (the handler dropped it).
fn one_byte_at_a_time(length: usize) -> impl FnOnce(MemoryStream) + Send {
    move |mut client| {
        for _ in 0..length {
            client.write_all(b"x").unwrap();
        }
        let _ = client.read(&mut [0; 1]);
    }
}

#[test]
fn one_write_is_judged_as_the_buffer_grows() {
    // The sniff buffer starts at 4 KiB and doubles: 4, 8 and 16 KiB are
    // read and judged, 28 KiB shown in all.
    let work = sniff_memory(16 * 1024, |mut client| {
        client.write_all(&[b'x'; 16 * 1024]).unwrap();
        let _ = client.read(&mut [0; 1]);
    });
    assert_eq!(work.shown(), 28 * 1024);
    assert_eq!(work.judgements.load(Ordering::Relaxed), 3);
    assert_eq!(work.reads(), 3);
}

#[test]
fn sixteen_kib_in_one_byte_pieces_back_to_back() {
    const OPENING: usize = 16 * 1024;
    let work = sniff_memory(OPENING, one_byte_at_a_time(OPENING));
    // 1 free read, at most 32 earned, and a handful of pauses.
    work.assert_within(OPENING, 40);
}

#[test]
fn one_byte_pieces_over_tcp() {
    const OPENING: usize = 16 * 1024;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_nodelay(true).unwrap();
        for _ in 0..OPENING {
            client.write_all(b"x").unwrap();
        }
        let _ = client.read(&mut [0; 1]);
    });
    let (conn, _peer) = listener.accept().unwrap();
    let work = sniff_counted(OPENING, conn);
    client.join().unwrap();
    work.assert_within(OPENING, 40);
}

#[test]
fn a_sniff_polls_a_few_times_before_its_first_read_and_never_again() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // The opening comes late, in two pieces: polling finds nothing, and
    // the reads wait as they always did.
    let client = thread::spawn(move || {
        let mut client = TcpStream::connect(addr).unwrap();
        for piece in [b"PI", b"NG"] {
            thread::sleep(Duration::from_millis(30));
            client.write_all(piece).unwrap();
        }
        let _ = client.read(&mut [0; 1]);
    });
    let (conn, _peer) = listener.accept().unwrap();
    let work = sniff_counted(4, conn);
    client.join().unwrap();
    assert_eq!(work.poll_calls.load(Ordering::Relaxed), 1);
    assert!(work.polls.load(Ordering::Relaxed) <= 4);
    assert_eq!(work.reads(), 2, "one read per piece");
}

#[test]
fn pieces_just_under_the_idle_time() {
    // One byte every 0.9 ms of a virtual clock: a piece comes before every
    // moment the sniff, which judges bytes that missed a judgement after a
    // pause of silence, could look at them.
    const OPENING: usize = 500;
    let steps = (0..OPENING).map(|_| (&b"x"[..], Duration::from_micros(900)));
    let work = sniff_on_clock(steps, |conn| sniff_counted(OPENING, conn));
    // About half a second: 1 free read, 5 pauses at most, a read for each
    // and one more after each pause for the bytes that missed a judgement.
    work.assert_within(OPENING, 1 + 2 * 5);
}

#[test]
fn a_client_that_stops_is_judged_without_a_deadline() {
    // 3 000 one-byte pieces, then nothing: the bytes that came after the
    // last judgement the pace allowed are judged once the client is idle.
    // With no deadline, a sniff that waited for more would never end.
    let work = sniff_memory(3000, one_byte_at_a_time(3000));
    work.assert_within(3000, 40);
}

#[test]
fn a_short_greeting_in_one_write_is_judged_at_once() {
    // A SOCKS5 greeting, after which the client waits for the server: one
    // read, one judgement, no pause and no timer (there is no deadline).
    let work = sniff_memory(3, |mut client| {
        client.write_all(&[0x05, 0x01, 0x00]).unwrap();
        let _ = client.read(&mut [0; 1]);
    });
    assert_eq!(work.reads(), 1);
    assert_eq!(work.judgements.load(Ordering::Relaxed), 1);
}

#[test]
fn bytes_that_arrive_while_the_sniff_pauses_are_judged_at_the_deadline() {
    // One byte every 5 ms (of a virtual clock) for 0.7 s, then the `!` that completes the
    // opening, all before the 1 s deadline: the sniff reads them in
    // pauses that grow, and the last pause, which the deadline cuts
    // short, holds the last bytes. They came in time: they decide the
    // route, as they would in one write.
    let deadline = Duration::from_secs(1);
    let (source, _script) = scripted_source::<MemoryStream>();
    let mut mux = MuxBuilder::new()
        .sniff_deadline(Some(deadline))
        .build(source)
        .unwrap();
    mux.route_inline(
        |seen: &[u8]| match seen.last() {
            Some(b'!') => Verdict::Match,
            _ => Verdict::NeedMore,
        },
        |_, _| {},
    );
    mux.route_inline(connmux::matchers::any(), |_, _| {});
    let dispatcher = mux.dispatcher();
    let every_5_ms = (0..140).map(|_| (&b"a"[..], Duration::from_millis(5)));
    let steps = every_5_ms.chain([(&b"!"[..], Duration::ZERO)]);
    let route = sniff_on_clock(steps, move |conn| dispatcher.dispatch(conn, 1)).expect("routed");
    assert_eq!(route.index(), 0, "the whole opening was judged");
}
