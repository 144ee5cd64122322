//! How often a sniff reads and asks its routes: the bound on the work one
//! connection costs, however its bytes are split and timed.
//!
//! Matchers are pure functions of the whole input, so asking them after
//! every read would cost the sum of the input's lengths: n one-byte
//! pieces would show each matcher n²/2 bytes, and reading them would take
//! n system calls. A sniff paces both against what the client has sent.
//!
//! - **Judging** (asking the routes) after a read happens while the bytes
//!   shown so far, this judgement included, stay within [`JUDGE_ON_READ`]
//!   times the input's length. Each judgement must be earned by growth: an
//!   input judged at 100 bytes is judged next at about 150.
//! - **Judging when idle**: bytes that arrived without earning a judgement
//!   are judged once no more arrive for a pause (see below), within
//!   [`JUDGE_WHEN_IDLE`] times the input, so a client that stops sending
//!   learns its fate soon after its last byte.
//! - **Polling**: before the first read, the sniff looks
//!   [`FIRST_INPUT_POLLS`] times whether bytes have arrived, yielding the
//!   processor in between, so that a request that follows its handshake
//!   by microseconds is read without the thread sleeping and being woken.
//! - **Reading**: the first [`FREE_READS`] reads wait for bytes; after
//!   them, one read per [`BYTES_PER_READ`] bytes received is earned (and a
//!   read that filled its buffer earns the next), and takes what has
//!   arrived without waiting. A read that was not earned, or found
//!   nothing, and a look for the bytes of an idle judgement, wait for a
//!   pause first: [`FIRST_PAUSE`], then [`PAUSE_GROWTH`] times the one
//!   before, up to [`LONGEST_PAUSE`]. Pieces sent back to back pile up in
//!   the kernel meanwhile and one read takes them all; after a pause, a
//!   read waits for bytes again, so a client that went quiet is read as
//!   soon as it speaks.
//!
//! Waiting is what a split opening costs most: each time the sniffing
//! thread sleeps and wakes costs tens of microseconds of CPU (25 to 100 µs
//! on the 2-core VM this was measured on, `benches/README.md`), as much as
//! judging 16 KiB. So the pauses grow fast: however a client trickles its
//! opening, a sniff starts at most 4 pauses in its first second and 5 in
//! the default 5-second deadline, besides its free read. Clients that
//! send their opening in one piece, or in full segments, never pause; one
//! in two small pieces is read at most 2 ms after its second.
//!
//! Together, for an input of n bytes, each matcher is shown at most
//! `JUDGE_WHEN_IDLE × n` bytes while the input grows, and n more when it
//! ends undecided (`matches_at_end`): 5n in all, against n when the same
//! bytes come in one read. Reads number at most `FREE_READS + n /
//! BYTES_PER_READ`, plus one per buffer filled, plus two per pause (a
//! look that found nothing, and a read after the pause). Whatever the
//! split or the timing, the
//! decision is the same: verdicts are prefix-monotone, so judging fewer
//! prefixes changes only when the decision is seen, never what it is.
//!
//! Why this and not the alternatives. A hint carried by `NeedMore` ("nothing
//! new before byte N") helps only length-prefixed protocols (TLS, PROXY
//! v2); an HTTP/1 head can be refused at any byte. Matcher state kept from
//! one read to the next would make every matcher, and every user's closure,
//! an incremental parser with state to test. Judging on growth keeps
//! matchers pure and tests byte-slice simple, and bounds closures too.

use std::time::Duration;

/// How many times the input's length the bytes shown to each matcher may
/// reach through judgements made as bytes arrive.
pub(crate) const JUDGE_ON_READ: usize = 3;

/// How many times the input's length the bytes shown to each matcher may
/// reach once idle judgements are counted too.
pub(crate) const JUDGE_WHEN_IDLE: usize = 4;

/// Reads a sniff may make before reads must be earned by bytes. One: an
/// opening that comes in two small pieces (a PROXY header then the
/// client's bytes, a gRPC client's preface then its request) pauses
/// [`FIRST_PAUSE`] before its second read, which a client that waits for
/// the server's reply (the gRPC one) does not notice, while every wake-up
/// saved counts (see the module docs).
pub(crate) const FREE_READS: usize = 1;

/// How many times a sniff looks whether the client's first bytes have
/// arrived, yielding the processor in between, before its first read
/// waits for them: see [`Connection::poll_input`](crate::Connection::poll_input).
pub(crate) const FIRST_INPUT_POLLS: u32 = 2;

/// Bytes received that earn one more read.
pub(crate) const BYTES_PER_READ: usize = 1024;

/// The first pause before a read that was not earned.
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(2);

/// How many times longer each pause is than the one before.
pub(crate) const PAUSE_GROWTH: u32 = 8;

/// The longest pause before a read: without a sniff deadline, a client
/// that trickles is still read at least this often.
pub(crate) const LONGEST_PAUSE: Duration = Duration::from_secs(4);

/// One sniff's account of its reads and judgements.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    /// Reads that returned bytes.
    reads: usize,
    /// Bytes those reads returned.
    read_bytes: usize,
    /// Whether the last read filled the room it was given: more are likely
    /// waiting, and the next read is earned.
    last_read_was_bulk: bool,
    /// The pause before the next read that was not earned.
    next_pause: Duration,
    /// The lengths of every input judged, summed: the bytes each matcher
    /// has been shown.
    shown: usize,
    /// The input's length at the last judgement.
    judged_length: usize,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            reads: 0,
            read_bytes: 0,
            last_read_was_bulk: false,
            next_pause: FIRST_PAUSE,
            shown: 0,
            judged_length: 0,
        }
    }
}

/// How a sniff makes its next read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextRead {
    /// A free read: wait for bytes as long as it takes.
    Wait,
    /// An earned read: take what has arrived, without waiting; if nothing
    /// has, [`Pace::pause`] first, then wait.
    TakeArrived,
    /// Pause this long first (the client's bytes pile up meanwhile).
    Pause(Duration),
}

impl Pace {
    /// How to make the next read. The free reads wait for bytes; a read
    /// earned by the bytes received takes what has arrived (waiting for
    /// more could wake the sniff for every byte of a trickle); any other
    /// read, and a look for bytes that `await` an idle judgement, pause
    /// first.
    #[inline]
    pub(crate) fn next_read(&mut self, awaits_judgement: bool) -> NextRead {
        if awaits_judgement {
            NextRead::Pause(self.pause())
        } else if self.reads < FREE_READS {
            NextRead::Wait
        } else if self.last_read_was_bulk
            || self.reads < FREE_READS + self.read_bytes / BYTES_PER_READ
        {
            NextRead::TakeArrived
        } else {
            NextRead::Pause(self.pause())
        }
    }

    /// The next pause: [`PAUSE_GROWTH`] times the one before (the first is
    /// [`FIRST_PAUSE`]), up to [`LONGEST_PAUSE`].
    pub(crate) fn pause(&mut self) -> Duration {
        let pause = self.next_pause;
        self.next_pause = (pause * PAUSE_GROWTH).min(LONGEST_PAUSE);
        pause
    }

    /// Counts a read that returned `bytes` bytes into `room` bytes of
    /// buffer.
    #[inline]
    pub(crate) fn count_read(&mut self, bytes: usize, room: usize) {
        self.reads += 1;
        self.read_bytes = self.read_bytes.saturating_add(bytes);
        self.last_read_was_bulk = bytes == room;
    }

    /// Whether an input of `length` bytes, just grown by a read, may be
    /// judged now.
    #[inline]
    pub(crate) fn may_judge(&self, length: usize) -> bool {
        self.may_judge_within(length, JUDGE_ON_READ)
    }

    /// Whether an input of `length` bytes holds bytes not yet judged that
    /// an idle judgement may look at: if so, the sniff wakes after
    /// a pause with no new bytes and judges them.
    #[inline]
    pub(crate) fn awaits_idle_judgement(&self, length: usize) -> bool {
        self.may_judge_within(length, JUDGE_WHEN_IDLE)
    }

    #[inline]
    fn may_judge_within(&self, length: usize, times: usize) -> bool {
        length > self.judged_length
            && self.shown.saturating_add(length) <= times.saturating_mul(length)
    }

    /// Records a judgement of an input of `length` bytes.
    #[inline]
    pub(crate) fn judged(&mut self, length: usize) {
        self.shown = self.shown.saturating_add(length);
        self.judged_length = length;
    }

    /// Forgets the judgements so far, keeping the account of reads: the
    /// PROXY header, parsed as paced as the routes' judgements, is done,
    /// and the routes judge the bytes after it.
    pub(crate) fn start_judging_anew(&mut self) {
        self.shown = 0;
        self.judged_length = 0;
    }

    /// The bytes each matcher has been shown so far.
    #[cfg(test)]
    pub(crate) fn shown(&self) -> usize {
        self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `length` bytes in pieces of `piece` bytes, judging when the
    /// pace allows after each read and, if `idle_after_each`, when idle;
    /// returns the pace and how many judgements were made.
    fn feed(length: usize, piece: usize, idle_after_each: bool) -> (Pace, usize) {
        let mut pace = Pace::default();
        let mut judgements = 0;
        let mut seen = 0;
        while seen < length {
            seen = (seen + piece).min(length);
            pace.count_read(piece, 4096);
            if pace.may_judge(seen) || (idle_after_each && pace.awaits_idle_judgement(seen)) {
                pace.judged(seen);
                judgements += 1;
            }
        }
        (pace, judgements)
    }

    #[test]
    fn one_read_is_judged_once() {
        let (pace, judgements) = feed(16 * 1024, 16 * 1024, false);
        assert_eq!((pace.shown(), judgements), (16 * 1024, 1));
    }

    #[test]
    fn growth_earns_judgements_and_bounds_the_bytes_shown() {
        for length in [1, 2, 3, 10, 100, 1000, 16 * 1024, 64 * 1024] {
            for piece in [1, 2, 7, 100, 1500] {
                for idle_after_each in [false, true] {
                    let (pace, judgements) = feed(length, piece, idle_after_each);
                    let times = if idle_after_each {
                        JUDGE_WHEN_IDLE
                    } else {
                        JUDGE_ON_READ
                    };
                    assert!(
                        pace.shown() <= times * length,
                        "{length} bytes in pieces of {piece}: shown {}",
                        pace.shown()
                    );
                    // Judgements grow geometrically: logarithmically many.
                    let reads = length.div_ceil(piece);
                    let log = usize::BITS - length.leading_zeros();
                    assert!(
                        judgements <= reads.min(4 * log as usize + 8),
                        "{length}/{piece}: {judgements}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_read_that_fills_its_buffer_earns_the_next() {
        let mut pace = Pace::default();
        for _ in 0..FREE_READS {
            pace.count_read(1, 4096);
        }
        assert!(matches!(pace.next_read(false), NextRead::Pause(_)));
        pace.count_read(100, 100);
        assert_eq!(
            pace.next_read(false),
            NextRead::TakeArrived,
            "the buffer was full"
        );
        pace.count_read(99, 100);
        assert!(matches!(pace.next_read(false), NextRead::Pause(_)));
    }

    #[test]
    fn the_first_judgements_of_a_small_input_are_free() {
        // A client that sends a few small pieces is judged after each.
        let mut pace = Pace::default();
        for seen in [5, 10, 300] {
            pace.count_read(0, 4096);
            assert!(pace.may_judge(seen), "{seen}");
            pace.judged(seen);
        }
        assert!(!pace.may_judge(300), "nothing new");
        assert!(!pace.awaits_idle_judgement(300), "nothing new");
    }

    #[test]
    fn bytes_that_missed_their_judgement_are_judged_when_idle() {
        let mut pace = Pace::default();
        let mut seen = 0;
        // One-byte pieces until a read may not judge.
        loop {
            seen += 1;
            if !pace.may_judge(seen) {
                break;
            }
            pace.judged(seen);
        }
        assert!(pace.awaits_idle_judgement(seen));
        pace.judged(seen);
        assert!(!pace.awaits_idle_judgement(seen), "nothing new");
        // The idle budget is spent on growth too: judged at every byte,
        // idle or not, the input soon stops earning judgements.
        let refused = (seen + 1..4 * seen).find(|&more| {
            let allowed = pace.awaits_idle_judgement(more);
            if allowed {
                pace.judged(more);
            }
            !allowed
        });
        assert!(refused.is_some());
        assert!(pace.shown() <= JUDGE_WHEN_IDLE * refused.unwrap());
    }

    #[test]
    fn reads_are_earned_by_bytes_and_pauses_grow() {
        let mut pace = Pace::default();
        for _ in 0..FREE_READS {
            assert_eq!(pace.next_read(false), NextRead::Wait);
            pace.count_read(1, 4096);
        }
        assert_eq!(pace.next_read(false), NextRead::Pause(FIRST_PAUSE));
        pace.count_read(2 * BYTES_PER_READ, 4096);
        // That read brought enough for itself and one more.
        assert_eq!(pace.next_read(false), NextRead::TakeArrived);
        pace.count_read(1, 4096);
        let growth = PAUSE_GROWTH;
        assert_eq!(pace.next_read(false), NextRead::Pause(growth * FIRST_PAUSE));
        pace.count_read(1, 4096);
        let mut pauses = vec![FIRST_PAUSE, growth * FIRST_PAUSE];
        for _ in 0..14 {
            if let NextRead::Pause(pause) = pace.next_read(false) {
                pauses.push(pause);
            }
            pace.count_read(1, 4096);
        }
        assert_eq!(pauses[2], growth * growth * FIRST_PAUSE);
        assert_eq!(pauses.last(), Some(&LONGEST_PAUSE));
        // How many pauses start before `limit`.
        let within = |limit: Duration| {
            pauses
                .iter()
                .scan(Duration::ZERO, |start, pause| {
                    let this = *start;
                    *start += *pause;
                    Some(this)
                })
                .take_while(|start| *start < limit)
                .count()
        };
        // What the module's docs promise.
        assert_eq!(within(Duration::from_secs(5)), 5);
        assert_eq!(within(Duration::from_secs(1)), 4);
    }

    #[test]
    fn a_look_for_an_idle_judgement_waits_a_pause_too() {
        let mut pace = Pace::default();
        // Even a free read, when bytes await an idle judgement, pauses,
        // longer each time.
        assert_eq!(pace.next_read(true), NextRead::Pause(FIRST_PAUSE));
        assert_eq!(
            pace.next_read(true),
            NextRead::Pause(PAUSE_GROWTH * FIRST_PAUSE)
        );
        assert_eq!(
            pace.next_read(false),
            NextRead::Wait,
            "a read is still free"
        );
    }
}
