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
//!   are judged once no more arrive for [`IDLE`], within
//!   [`JUDGE_WHEN_IDLE`] times the input, so a client that stops sending
//!   learns its fate about a millisecond after its last byte.
//! - **Reading** is free for the first [`FREE_READS`] reads, then earns
//!   one read per [`BYTES_PER_READ`] bytes received; a read that brought
//!   that many bytes, or filled its buffer, earns the next one outright
//!   (more are likely waiting). A sniff past its reads pauses before the
//!   next one, [`FIRST_PAUSE`] and doubling each time up to
//!   [`LONGEST_PAUSE`], so pieces sent back to back pile up in the kernel
//!   and one read takes them all; within the default 5-second deadline
//!   that is 13 pauses at most.
//!
//! Together, for an input of n bytes, each matcher is shown at most
//! `JUDGE_WHEN_IDLE × n` bytes while the input grows, and n more when it
//! ends undecided (`matches_at_end`): 5n in all, against n when the same
//! bytes come in one read. Reads number at most `FREE_READS + n /
//! BYTES_PER_READ` plus the pauses. Whatever the split or the timing, the
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

/// How long a client must send nothing before bytes that did not earn a
/// judgement are judged anyway.
pub(crate) const IDLE: Duration = Duration::from_millis(1);

/// Reads a sniff may make before reads must be earned by bytes.
pub(crate) const FREE_READS: usize = 4;

/// Bytes received that earn one more read.
pub(crate) const BYTES_PER_READ: usize = 1024;

/// The first pause before a read that was not earned.
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(1);

/// The longest pause before a read: without a sniff deadline, a client
/// that trickles is still read at least this often.
pub(crate) const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// One sniff's account of its reads and judgements.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    /// Reads that returned bytes.
    reads: usize,
    /// Bytes those reads returned.
    read_bytes: usize,
    /// Whether the last read filled the room it was given or brought
    /// [`BYTES_PER_READ`] bytes: more are likely waiting, and the next
    /// read is free.
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

impl Pace {
    /// How long to pause before the next read, if it has not been earned;
    /// each pause taken is twice the one before, up to [`LONGEST_PAUSE`].
    pub(crate) fn pause_before_read(&mut self) -> Option<Duration> {
        if self.last_read_was_bulk || self.reads < FREE_READS + self.read_bytes / BYTES_PER_READ {
            return None;
        }
        let pause = self.next_pause;
        self.next_pause = (pause * 2).min(LONGEST_PAUSE);
        Some(pause)
    }

    /// Counts a read that returned `bytes` bytes into `room` bytes of
    /// buffer.
    pub(crate) fn count_read(&mut self, bytes: usize, room: usize) {
        self.reads += 1;
        self.read_bytes = self.read_bytes.saturating_add(bytes);
        self.last_read_was_bulk = bytes >= room.min(BYTES_PER_READ);
    }

    /// Whether an input of `length` bytes, just grown by a read, may be
    /// judged now.
    pub(crate) fn may_judge(&self, length: usize) -> bool {
        self.may_judge_within(length, JUDGE_ON_READ)
    }

    /// Whether an input of `length` bytes holds bytes not yet judged that
    /// an idle judgement may look at: if so, the sniff wakes after
    /// [`IDLE`] with no new bytes and judges them.
    pub(crate) fn awaits_idle_judgement(&self, length: usize) -> bool {
        self.may_judge_within(length, JUDGE_WHEN_IDLE)
    }

    fn may_judge_within(&self, length: usize, times: usize) -> bool {
        length > self.judged_length
            && self.shown.saturating_add(length) <= times.saturating_mul(length)
    }

    /// Records a judgement of an input of `length` bytes.
    pub(crate) fn judged(&mut self, length: usize) {
        self.shown = self.shown.saturating_add(length);
        self.judged_length = length;
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
        assert!(pace.pause_before_read().is_some());
        pace.count_read(100, 100);
        assert_eq!(pace.pause_before_read(), None, "the buffer was full");
        pace.count_read(99, 100);
        assert!(pace.pause_before_read().is_some());
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
    fn reads_are_earned_by_bytes_and_pauses_double() {
        let mut pace = Pace::default();
        for _ in 0..FREE_READS {
            assert_eq!(pace.pause_before_read(), None);
            pace.count_read(1, 4096);
        }
        assert_eq!(pace.pause_before_read(), Some(FIRST_PAUSE));
        pace.count_read(2 * BYTES_PER_READ, 4096);
        // That read brought enough for itself and one more.
        assert_eq!(pace.pause_before_read(), None);
        pace.count_read(1, 4096);
        assert_eq!(pace.pause_before_read(), Some(2 * FIRST_PAUSE));
        pace.count_read(1, 4096);
        let mut pauses = vec![];
        for _ in 0..14 {
            pauses.extend(pace.pause_before_read());
            pace.count_read(1, 4096);
        }
        assert_eq!(pauses[0], 4 * FIRST_PAUSE);
        assert_eq!(pauses.last(), Some(&LONGEST_PAUSE));
        let within_five_seconds = [FIRST_PAUSE, 2 * FIRST_PAUSE]
            .into_iter()
            .chain(pauses)
            .scan(Duration::ZERO, |total, pause| {
                *total += pause;
                Some(*total)
            })
            .take_while(|total| *total <= Duration::from_secs(5))
            .count();
        assert_eq!(within_five_seconds, 13);
    }
}
