//! A conformance kit for matchers: checks that a [`Matcher`] keeps the
//! rules the multiplexer relies on, from a plain `#[test]`, a proptest
//! property or a cargo-fuzz target.
//!
//! The sniffer asks every route's matcher about the bytes received so far,
//! read after read, and trusts a `Match` or `NoMatch` as final. A matcher
//! that breaks that trust routes the same client differently depending on
//! how its bytes happened to arrive. [`Conformance`] checks, on each input
//! you give it:
//!
//! | property | rule |
//! |---|---|
//! | [`Monotone`](Property::Monotone) | once `Match` or `NoMatch` on a prefix, the same on every longer prefix |
//! | [`Chunking`](Property::Chunking) | the route decision, taken by the multiplexer's own decider and read pacing, is the same whole and read by read |
//! | [`Bound`](Property::Bound) | with [`bound(n)`](Conformance::bound): never `NeedMore` once `n` bytes have arrived |
//! | [`EndOfInput`](Property::EndOfInput) | `Match` ⇒ `matches_at_end`; `NoMatch` ⇒ not `matches_at_end` |
//! | [`NoPanic`](Property::NoPanic) | no call panics |
//!
//! A check returns `Result<(), `[`Violation`]`>`: the rule, the input, the
//! prefix length where it broke and what the matcher said there. The
//! `assert_*` methods panic with the violation's report instead.
//!
//! A matcher states its bound (the bytes after which it always decides) in
//! its documentation and as a constant beside it, such as
//! [`TLS_MAX_CLIENT_HELLO_BYTES`](crate::matchers::TLS_MAX_CLIENT_HELLO_BYTES)
//! or [`OPENVPN_MAX_RESET_BYTES`](crate::matchers::OPENVPN_MAX_RESET_BYTES);
//! the kit checks it when given it. A matcher without a bound relies on the
//! sniffer's byte limit and deadline to end the wait.
//!
//! # In a plain test
//!
//! A closure matcher for a made-up protocol whose clients open with
//! `ZAP`, a version digit and a newline, checked on a few captures, each
//! whole and cut short; and a broken matcher, caught.
//!
//! ```
//! use connmux::conformance::{Conformance, Property};
//! use connmux::Verdict;
//!
//! // "ZAP", one version digit, a newline.
//! fn zap(seen: &[u8]) -> Verdict {
//!     let opening: [&[u8]; 5] = [b"Z", b"A", b"P", b"0123456789", b"\n"];
//!     if seen.iter().zip(opening).any(|(byte, allowed)| !allowed.contains(byte)) {
//!         Verdict::NoMatch
//!     } else if seen.len() >= opening.len() {
//!         Verdict::Match
//!     } else {
//!         Verdict::NeedMore
//!     }
//! }
//!
//! let kit = Conformance::new(&zap).bound(5);
//! kit.assert_all([&b"ZAP1\nhello"[..], b"ZAP", b"ZAPX", b"GET / HTTP/1.1\r\n", b""]);
//!
//! // A broken matcher: it refuses what is too short to tell, then takes
//! // it once longer. The sniffer would drop a client whose first read
//! // was short and route the same client elsewhere when it was not.
//! let hasty = |seen: &[u8]| Verdict::from_bool(seen.starts_with(b"ZAP"));
//! let violation = Conformance::new(&hasty).check(b"ZAP1\n").unwrap_err();
//! assert_eq!(violation.property, Property::Monotone);
//! assert_eq!(violation.prefix_len, 3);
//! println!("{violation}");
//! // prefix monotonicity broken: NoMatch on 0 bytes became Match on 3
//! // of the 5-byte input b"ZAP1\n"
//! ```
//!
//! # With proptest
//!
//! The kit does not depend on proptest: a property calls
//! [`check`](Conformance::check) and
//! [`check_chunking`](Conformance::check_chunking) on the inputs and read
//! sizes it generates, and turns a [`Violation`] into a failure, which
//! proptest then shrinks.
//!
//! ```
//! use connmux::conformance::Conformance;
//! use connmux::matchers::ssh;
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//!
//! let ssh = ssh();
//! let kit = Conformance::new(&ssh);
//! let near_ssh = (prop::sample::select(vec![&b"SSH-2.0-"[..], b"SSH-", b""]), prop::collection::vec(any::<u8>(), 0..40))
//!     .prop_map(|(opening, tail)| [opening, &tail].concat());
//! let reads = prop::collection::vec(1usize..16, 1..8);
//! TestRunner::default().run(&(near_ssh, reads), |(input, reads)| {
//!     kit.check(&input).map_err(|v| TestCaseError::fail(v.to_string()))?;
//!     kit.check_chunking(&input, &reads).map_err(|v| TestCaseError::fail(v.to_string()))?;
//!     Ok(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a `proptest!` block, `kit.assert(&input)` does the same: proptest
//! catches the panic and shrinks the input.
//!
//! # In a cargo-fuzz target
//!
//! [`fuzz`](Conformance::fuzz) takes the fuzzer's bytes as the input and
//! as the read sizes, so the fuzzer steers both, and panics on a violation.
//! `fuzz/fuzz_targets/conformance_template.rs` in the repository is a
//! target to copy:
//!
//! ```text
//! #![no_main]
//! use connmux::conformance::Conformance;
//! use libfuzzer_sys::fuzz_target;
//!
//! fuzz_target!(|data: &[u8]| Conformance::new(&zap).bound(5).fuzz(data));
//! ```
//!
//! libFuzzer's panic hook aborts the process, so under the fuzzer a panic
//! inside the matcher is a crash to triage rather than a
//! [`Property::NoPanic`] violation; elsewhere the kit catches it.
//!
//! A route table is checked with [`check_route_chunking`], which gives a
//! later route's `Match` the wait for earlier routes that the sniffer
//! gives it.

mod routes;
mod violation;

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use crate::matcher::{Borrowed, Matcher, Verdict};

pub use routes::check_route_chunking;
pub(crate) use routes::{decide_chunked, decide_whole, routes_agree};
pub use violation::{Property, Seen, Violation};

/// Every prefix of an input up to this length is judged by
/// [`Conformance::check`]; past it, about as many again, spread evenly.
const EVERY_PREFIX_UP_TO: usize = 1024;

/// The same for [`Conformance::fuzz`], which must run thousands of times a
/// second.
pub(crate) const FUZZ_EVERY_PREFIX_UP_TO: usize = 64;

/// Checks one matcher against the rules the multiplexer relies on: see the
/// [module documentation](self).
///
/// ```
/// use connmux::conformance::Conformance;
/// use connmux::matchers::{tls, TLS_MAX_CLIENT_HELLO_BYTES};
///
/// let tls = tls();
/// let kit = Conformance::new(&tls).bound(TLS_MAX_CLIENT_HELLO_BYTES);
/// kit.check(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01])?;
/// kit.check(b"GET / HTTP/1.1\r\n")?;
/// # Ok::<(), connmux::conformance::Violation>(())
/// ```
#[derive(Clone, Copy)]
pub struct Conformance<'a> {
    matcher: &'a dyn Matcher,
    bound: Option<usize>,
}

impl std::fmt::Debug for Conformance<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conformance")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl<'a> Conformance<'a> {
    /// A kit for `matcher`, with no bound stated.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::Verdict;
    ///
    /// let json = |seen: &[u8]| match seen.first() {
    ///     None => Verdict::NeedMore,
    ///     Some(byte) => Verdict::from_bool(*byte == b'{'),
    /// };
    /// Conformance::new(&json).assert(b"{\"id\": 1}");
    /// ```
    pub fn new(matcher: &'a dyn Matcher) -> Conformance<'a> {
        Conformance {
            matcher,
            bound: None,
        }
    }

    /// States the matcher's bound: once `bytes` bytes have arrived it says
    /// `Match` or `NoMatch`, never `NeedMore`. Inputs shorter than the
    /// bound say nothing about it.
    ///
    /// ```
    /// use connmux::conformance::{Conformance, Property};
    /// use connmux::matchers::http2_preface;
    ///
    /// let h2 = http2_preface();
    /// // The preface is 24 bytes: a bound of 24 holds, one of 10 does not.
    /// Conformance::new(&h2).bound(24).check(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")?;
    /// let too_tight = Conformance::new(&h2).bound(10).check(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    /// assert_eq!(too_tight.unwrap_err().property, Property::Bound);
    /// # Ok::<(), connmux::conformance::Violation>(())
    /// ```
    pub fn bound(self, bytes: usize) -> Conformance<'a> {
        Conformance {
            bound: Some(bytes),
            ..self
        }
    }

    /// Checks every rule on `input`: each prefix (every one of the first
    /// 1024 bytes, then about 1024 more spread evenly, then the whole) for
    /// monotonicity, the end-of-input answer, the bound and panics; then
    /// the route decision whole against read by read, one byte per read
    /// and in reads whose sizes come from the input's own bytes.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::matchers::redis;
    ///
    /// let redis = redis();
    /// Conformance::new(&redis).check(b"*1\r\n$4\r\nPING\r\n")?;
    /// # Ok::<(), connmux::conformance::Violation>(())
    /// ```
    pub fn check(&self, input: &[u8]) -> Result<(), Violation> {
        self.check_prefixes(input, EVERY_PREFIX_UP_TO)?;
        self.check_chunking(input, &[1])?;
        self.check_reads_from(input, input)
    }

    /// [`check`](Conformance::check) on each of `inputs`, stopping at the
    /// first violation.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::matchers::socks5;
    ///
    /// let socks5 = socks5();
    /// Conformance::new(&socks5).check_all([&[5, 1, 0][..], &[5, 2, 0, 2], &[4, 1]])?;
    /// # Ok::<(), connmux::conformance::Violation>(())
    /// ```
    pub fn check_all<I>(&self, inputs: I) -> Result<(), Violation>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        inputs
            .into_iter()
            .try_for_each(|input| self.check(input.as_ref()))
    }

    /// Checks that the multiplexer routes `input` the same whole and
    /// arriving in reads of `chunk_sizes` bytes, cycled (a size of 0 counts
    /// as 1): the route decision and read pacing are the sniffer's own, the
    /// matcher the only route.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::matchers::http1_fast;
    ///
    /// let http = http1_fast();
    /// Conformance::new(&http).check_chunking(b"PATCH /item HTTP/1.1\r\n", &[2, 5, 1])?;
    /// # Ok::<(), connmux::conformance::Violation>(())
    /// ```
    pub fn check_chunking(&self, input: &[u8], chunk_sizes: &[usize]) -> Result<(), Violation> {
        check_route_chunking(&[Borrowed(self.matcher)], input, chunk_sizes)
    }

    /// Checks `data` as [`fuzz`](Conformance::fuzz) does, returning the
    /// violation instead of panicking.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::matchers::mqtt;
    ///
    /// let mqtt = mqtt();
    /// Conformance::new(&mqtt).check_fuzz_input(b"\x10\x18\x00\x04MQTT\x04\x02\x00\x3c")?;
    /// # Ok::<(), connmux::conformance::Violation>(())
    /// ```
    pub fn check_fuzz_input(&self, data: &[u8]) -> Result<(), Violation> {
        self.check_prefixes(data, FUZZ_EVERY_PREFIX_UP_TO)?;
        self.check_reads_from(data, data)
    }

    /// The body of a cargo-fuzz target: checks every rule on `data`, with
    /// read sizes taken from its own bytes (byte `b` is a read of `b + 1`
    /// bytes) so the fuzzer steers the chunking too, judging every prefix
    /// of the first 64 bytes and about 64 more spread evenly, so that it
    /// runs fast enough to fuzz. Panics with the violation's report.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::matchers::postgres;
    ///
    /// let postgres = postgres();
    /// // In fuzz/fuzz_targets/my_matcher.rs:
    /// // fuzz_target!(|data: &[u8]| Conformance::new(&postgres).bound(8).fuzz(data));
    /// Conformance::new(&postgres).bound(8).fuzz(&[0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f]);
    /// ```
    #[track_caller]
    pub fn fuzz(&self, data: &[u8]) {
        if let Err(violation) = self.check_fuzz_input(data) {
            panic!("{violation}");
        }
    }

    /// [`check`](Conformance::check), panicking with the violation's
    /// report: for a plain `#[test]` or a proptest body.
    ///
    /// ```should_panic
    /// use connmux::conformance::Conformance;
    /// use connmux::Verdict;
    ///
    /// // Says Match, yet not at the end of the input.
    /// struct Confused;
    /// impl connmux::Matcher for Confused {
    ///     fn verdict(&self, _: &[u8]) -> Verdict { Verdict::Match }
    ///     fn matches_at_end(&self, _: &[u8]) -> bool { false }
    /// }
    /// Conformance::new(&Confused).assert(b"anything");
    /// ```
    #[track_caller]
    pub fn assert(&self, input: &[u8]) {
        if let Err(violation) = self.check(input) {
            panic!("{violation}");
        }
    }

    /// [`check_all`](Conformance::check_all), panicking with the
    /// violation's report.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::matchers::ssh;
    ///
    /// let ssh = ssh();
    /// Conformance::new(&ssh).assert_all([&b"SSH-2.0-OpenSSH_9.6\r\n"[..], b"SSH-1", b"HELO"]);
    /// ```
    #[track_caller]
    pub fn assert_all<I>(&self, inputs: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        if let Err(violation) = self.check_all(inputs) {
            panic!("{violation}");
        }
    }

    /// [`check_chunking`](Conformance::check_chunking), panicking with
    /// the violation's report.
    ///
    /// ```
    /// use connmux::conformance::Conformance;
    /// use connmux::matchers::tinc;
    ///
    /// let tinc = tinc();
    /// Conformance::new(&tinc).assert_chunking(b"0 connmux_test 17\n", &[4, 1]);
    /// ```
    #[track_caller]
    pub fn assert_chunking(&self, input: &[u8], chunk_sizes: &[usize]) {
        if let Err(violation) = self.check_chunking(input, chunk_sizes) {
            panic!("{violation}");
        }
    }

    /// Checks monotonicity, the end-of-input answer, the bound and panics
    /// on the prefixes of `input`: every one up to `every` bytes, then
    /// about `every` more spread evenly, then the whole.
    pub(crate) fn check_prefixes(&self, input: &[u8], every: usize) -> Result<(), Violation> {
        let violation = |property, prefix_len, seen| Violation {
            property,
            input: input.to_vec(),
            prefix_len,
            seen,
        };
        if let Some(bound) = self.bound.filter(|&bound| bound <= input.len()) {
            let verdict = self.verdict(input, bound)?;
            if verdict == Verdict::NeedMore {
                let seen = Seen::Verdict {
                    verdict,
                    matches_at_end: None,
                };
                return Err(violation(Property::Bound, bound, seen));
            }
        }
        let mut settled: Option<(usize, Verdict)> = None;
        for length in prefix_lengths(input.len(), every) {
            let verdict = self.verdict(input, length)?;
            let at_end = self.matches_at_end(input, length)?;
            let seen = Seen::Verdict {
                verdict,
                matches_at_end: Some(at_end),
            };
            match verdict {
                Verdict::Match if !at_end => {
                    return Err(violation(Property::EndOfInput, length, seen))
                }
                Verdict::NoMatch if at_end => {
                    return Err(violation(Property::EndOfInput, length, seen))
                }
                Verdict::NeedMore if self.bound.is_some_and(|bound| length >= bound) => {
                    let seen = Seen::Verdict {
                        verdict,
                        matches_at_end: None,
                    };
                    return Err(violation(Property::Bound, length, seen));
                }
                _ => {}
            }
            match settled {
                Some((decided_at, decided)) if verdict != decided => {
                    let seen = Seen::Verdicts {
                        decided_at,
                        decided,
                        then: verdict,
                    };
                    return Err(violation(Property::Monotone, length, seen));
                }
                None if verdict != Verdict::NeedMore => settled = Some((length, verdict)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks the route decision on `input` whole against read by read,
    /// with read sizes taken from `sizes`' bytes (`b` reads `b + 1`).
    fn check_reads_from(&self, input: &[u8], sizes: &[u8]) -> Result<(), Violation> {
        routes_agree(
            &[Borrowed(self.matcher)],
            input,
            || read_sizes(sizes),
            || read_sizes(sizes).take(sizes.len()).collect(),
        )
    }

    fn verdict(&self, input: &[u8], length: usize) -> Result<Verdict, Violation> {
        no_panic(input, length, "verdict", || {
            self.matcher.verdict(&input[..length])
        })
    }

    fn matches_at_end(&self, input: &[u8], length: usize) -> Result<bool, Violation> {
        no_panic(input, length, "matches_at_end", || {
            self.matcher.matches_at_end(&input[..length])
        })
    }
}

/// Read sizes from bytes: byte `b` is a read of `b + 1` bytes, cycled.
pub(crate) fn read_sizes(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes.iter().map(|&size| usize::from(size) + 1).cycle()
}

/// The prefix lengths of an input of `length` bytes that are judged: all
/// of the first `every`, then about `every` more spread evenly, then the
/// whole.
pub(crate) fn prefix_lengths(length: usize, every: usize) -> impl Iterator<Item = usize> {
    let step = (length / every.max(1)).max(1);
    (0..=length.min(every))
        .chain((every..=length).step_by(step))
        .chain([length])
}

/// Runs `call` on the first `length` bytes of `input`, turning a panic
/// into a [`Property::NoPanic`] violation.
fn no_panic<T>(
    input: &[u8],
    length: usize,
    call: &'static str,
    run: impl FnOnce() -> T,
) -> Result<T, Violation> {
    panic::catch_unwind(AssertUnwindSafe(run)).map_err(|payload| Violation {
        property: Property::NoPanic,
        input: input.to_vec(),
        prefix_len: length,
        seen: Seen::Panic {
            call,
            message: panic_message(payload),
        },
    })
}

/// A panic's message, when it was a string.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_string(),
            Err(_) => "(not a string)".to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
