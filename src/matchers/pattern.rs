//! Byte patterns: a matcher for an opening no built-in matcher knows,
//! written in a small pattern language, compiled once and run without
//! backtracking. It covers the ground of sslh's `regex` probe and
//! HAProxy's `req.payload()` ACLs, with the guarantees every matcher here
//! gives: prefix-monotone, bounded, deciding as early as the bytes allow.
//!
//! The language, what it refuses and what a verdict costs are documented
//! on [`pattern`], where the public documentation shows them. The path a
//! pattern takes here: `syntax.rs` parses the text into a tree, checking
//! every limit on the way; `program.rs` lays the tree out as an automaton
//! whose edges all point forward; [`Pattern::run`] sweeps the automaton's
//! state set once a byte. `error.rs` holds what a refusal says, and
//! `limits.rs` the bounds every step keeps to.

mod error;
mod limits;
mod program;
mod syntax;

use std::fmt;

use crate::matcher::{Matcher, Verdict};

pub use error::{PatternError, PatternErrorKind};
pub use limits::{PATTERN_MAX_NESTING, PATTERN_MAX_REPEAT, PATTERN_MAX_STATES};
use program::{Program, State};

/// The words of a set of states, one bit a state.
const STATE_SET_WORDS: usize = PATTERN_MAX_STATES / 64;

/// A matcher for connections whose first bytes fit a pattern; see
/// [`pattern`].
#[derive(Clone)]
pub struct Pattern {
    text: Box<str>,
    program: Program,
}

/// Compiles `text` into a matcher for connections that start with bytes it
/// describes.
///
/// It says `Match` as soon as the bytes received begin with a match,
/// `NoMatch` as soon as no continuation could match, and has decided by
/// [`decides_within`](Pattern::decides_within) bytes.
///
/// # The language
///
/// A pattern describes the first bytes of a connection. It is anchored at
/// the start and matches a prefix: it says `Match` as soon as the bytes
/// received begin with something the pattern describes, whatever follows.
///
/// | write | to match |
/// |---|---|
/// | `a`, `7`, `-`, space | that byte: any printable ASCII character but `\ ? [ ] { } ( ) \| * + . ^ $` |
/// | `\xHH` | the byte of two hexadecimal digits, `\x16`, `\xFF` |
/// | `\n`, `\r`, `\t` | LF, CR, TAB |
/// | `\` then punctuation | that character: `\?`, `\[`, `\\`, `\.`, `\\|` |
/// | `?` | any one byte (as in shell globs; not "optional" as in regular expressions) |
/// | `[a-z0-9_]` | one byte of the class: characters, escapes and ranges `x-y` |
/// | `[^\r\n]` | one byte not in the class |
/// | `x{n}` | `x` exactly `n` times, `1 <= n` |
/// | `x{m,n}` | `x` at least `m` and at most `n` times, `m <= n`, `1 <= n` |
/// | `(x\|y)` | `x` or `y`; `\|` also separates alternatives at the top level |
///
/// ```text
/// pattern     = alternation
/// alternation = sequence *( "|" sequence )
/// sequence    = 1*repeated
/// repeated    = atom [ repetition ]
/// atom        = literal / escape / "?" / class / "(" alternation ")"
/// repetition  = "{" count "}" / "{" count "," count "}"
/// count       = 1*DIGIT                 at most PATTERN_MAX_REPEAT (1024)
/// class       = "[" [ "^" ] 1*member "]"
/// member      = class-char [ "-" class-char ]
/// class-char  = escape / %x20-7E except "\" and "]"
/// literal     = %x20-7E except \ ? [ ] { } ( ) | * + . ^ $
/// escape      = "\x" 2HEXDIG / "\n" / "\r" / "\t" / "\" punctuation
/// ```
///
/// In a class, `-` between two characters makes a range; first, last or
/// right after a range it is itself, and `\-` always is. A class must
/// match at least one byte. Groups nest at most [`PATTERN_MAX_NESTING`]
/// deep.
///
/// The text is ASCII: a byte above `\x7F` or a control byte is written as
/// `\xHH`, so a pattern reads the same in any editor and means bytes, not
/// characters. There is no case folding: `[Gg][Ee][Tt]`.
///
/// # What it refuses, and why
///
/// Every refusal is a [`PatternError`] naming the byte offset and the
/// [`PatternErrorKind`]:
///
/// - **No unbounded repetition**: `*`, `+` and `{m,}`. After `a*b`, a
///   client sending `aaaa…` would hold the route undecided until the sniff
///   deadline. With bounds only, the longest way through the pattern is
///   finite ([`Pattern::decides_within`]) and the matcher has decided by
///   then. Write the bound the protocol has: `[0-9]{1,5}`.
/// - **No regex punctuation with another meaning**: `.` (here `?` is any
///   byte), `^` (every pattern is anchored at the start) and `$` (a
///   pattern matches a prefix). Each is refused rather than read as
///   itself, so a regular expression pasted in fails loudly instead of
///   matching something else; `\.` is a dot.
/// - **No shorthand classes** (`\d`, `\s`, `\w`): which bytes `\s` means
///   differs between engines; on the wire, say which: `[ \t]`.
/// - **No pattern that matches the empty input**, such as `a{0,2}`: with
///   prefix matching it would match every connection at once.
///
/// # Prefix matching
///
/// Like an sslh regex probe anchored with `^`, a pattern is matched
/// against the start of the input and need not reach its end. So the first way through the pattern to
/// complete decides: `ab|a` matches what `a` matches, and an optional
/// part at the end (`GET /[a-z]{0,8}`) never changes a verdict. There is
/// no greedy or lazy choice to make, since nothing is captured. Unlike
/// sslh's probe, which answers on whatever has arrived, the matcher says
/// `NeedMore` while the bytes could still go either way:
///
/// - `Match` once the bytes received begin with a match;
/// - `NoMatch` once no continuation of them could match;
/// - `NeedMore` otherwise. Every class matches some byte, so from every
///   state still alive some continuation reaches the end of the pattern:
///   `NoMatch` comes at the first byte that rules the pattern out.
///
/// # Cost
///
/// It parses the text and lays it out as an automaton of at most
/// [`PATTERN_MAX_STATES`] states: one per byte the pattern takes, one per
/// alternative beyond the first and one per optional copy of a
/// repetition, so `x{m,n}` costs `n` copies of `x`. Every edge of the
/// automaton points forward (there is no loop to follow, all repetitions
/// being bounded), so a verdict is one ascending sweep of a bit set of
/// states per byte: each byte visits each state at most once. A verdict on
/// `seen` visits at most `(min(seen.len(), decides_within) + 1) × states`
/// states, plus `states / 64` words of the bit set per byte, whatever the
/// pattern and the bytes: no backtracking, nothing allocated (the state
/// sets are two arrays of 512 bytes on the stack).
///
/// # Examples
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::pattern;
///
/// // An OpenVPN client over TCP: a 2-byte packet length, then the
/// // opcode P_CONTROL_HARD_RESET_CLIENT_V2 (7) with key id 0.
/// let openvpn = pattern(r"\x00[\x0e-\xff]\x38")?;
/// assert_eq!(openvpn.verdict(b"\x00"), Verdict::NeedMore);
/// assert_eq!(openvpn.verdict(b"\x00\x2a\x38\x01\x02"), Verdict::Match);
/// assert_eq!(openvpn.verdict(b"\x00\x2a\x40"), Verdict::NoMatch);
///
/// // A made-up protocol: "HELLO/", a version with an optional minor
/// // part (`{0,1}`: `?` is any byte, not "optional"), then a space.
/// let hello = pattern(r"HELLO/[0-9]{1,3}(\.[0-9]{1,3}){0,1} ")?;
/// assert_eq!(hello.verdict(b"HELLO/12"), Verdict::NeedMore);
/// assert_eq!(hello.verdict(b"HELLO/12.4 world"), Verdict::Match);
/// assert_eq!(hello.verdict(b"HELLO/12 world"), Verdict::Match);
/// assert_eq!(hello.verdict(b"HELLO/x"), Verdict::NoMatch);
///
/// // Unbounded repetition is refused, with where and why.
/// let error = pattern("SSH-[0-9]+").unwrap_err();
/// assert_eq!(error.offset(), 9);
/// assert!(error.to_string().contains("upper bound"));
/// # Ok::<(), connmux::matchers::PatternError>(())
/// ```
pub fn pattern(text: &str) -> Result<Pattern, PatternError> {
    let node = syntax::parse(text)?;
    Ok(Pattern {
        text: text.into(),
        program: program::compile(&node),
    })
}

impl Pattern {
    /// The text the pattern was compiled from.
    ///
    /// ```
    /// use connmux::matchers::pattern;
    ///
    /// assert_eq!(pattern(r"\x16\x03")?.as_str(), r"\x16\x03");
    /// # Ok::<(), connmux::matchers::PatternError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The most bytes the matcher reads before it decides: the length of
    /// the longest input the pattern describes. On that many bytes or
    /// more, the verdict is `Match` or `NoMatch`.
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::pattern;
    ///
    /// let port = pattern("[0-9]{1,4}:")?;
    /// assert_eq!(port.decides_within(), 5);
    /// assert_eq!(port.verdict(b"1234"), Verdict::NeedMore);
    /// assert_eq!(port.verdict(b"12345"), Verdict::NoMatch);
    /// assert_eq!(port.verdict(b"1234:"), Verdict::Match);
    /// # Ok::<(), connmux::matchers::PatternError>(())
    /// ```
    pub fn decides_within(&self) -> usize {
        self.program.longest
    }

    /// The verdict on `seen`, and how many states it visited: the work
    /// the tests bound (see "Cost" on [`pattern`]).
    pub(crate) fn run(&self, seen: &[u8]) -> (Verdict, usize) {
        let states = &self.program.states;
        let words = states.len().div_ceil(64);
        let (mut current, mut next) = ([0u64; STATE_SET_WORDS], [0u64; STATE_SET_WORDS]);
        let (mut current, mut next) = (&mut current, &mut next);
        current[0] = 1;
        let mut visited = 0;
        let mut input = seen.iter().copied();
        loop {
            let byte = input.next();
            next[..words].fill(0);
            let mut alive = false;
            for word in 0..words {
                // A state only leads to higher ones, so a fork adds bits
                // this ascending sweep has yet to reach.
                while current[word] != 0 {
                    let number = word * 64 + current[word].trailing_zeros() as usize;
                    current[word] &= current[word] - 1;
                    visited += 1;
                    match states[number] {
                        State::Fork(first, second) => {
                            insert(current, first);
                            insert(current, second);
                        }
                        State::Byte { set, next: then } => match byte {
                            None => alive = true,
                            Some(byte) if self.program.sets[usize::from(set)].contains(byte) => {
                                insert(next, then);
                                alive = true;
                            }
                            Some(_) => {}
                        },
                        State::Match => return (Verdict::Match, visited),
                    }
                }
            }
            match (byte, alive) {
                (_, false) => return (Verdict::NoMatch, visited),
                (None, true) => return (Verdict::NeedMore, visited),
                (Some(_), true) => std::mem::swap(&mut current, &mut next),
            }
        }
    }

    /// The most states [`run`](Pattern::run) may visit on `seen`: each
    /// state once a byte, over the bytes up to the decision and the start.
    pub(crate) fn most_visits(&self, seen: &[u8]) -> usize {
        let bytes = seen.len().min(self.decides_within());
        (bytes + 1) * self.program.states.len()
    }
}

/// Adds state `number` to `set`.
fn insert(set: &mut [u64; STATE_SET_WORDS], number: u16) {
    let number = usize::from(number);
    set[number / 64] |= 1 << (number % 64);
}

impl Matcher for Pattern {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.run(seen).0
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.text).finish()
    }
}

#[cfg(test)]
mod tests;
