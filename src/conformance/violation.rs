//! What the kit reports when a matcher breaks a rule: the rule, the input,
//! where in it the break showed, and what the matcher said there.

use std::fmt;

use crate::matcher::Verdict;

/// The rule a [`Violation`] broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Property {
    /// Prefix monotonicity: a `Match` or `NoMatch` on a prefix became
    /// another verdict on a longer prefix.
    Monotone,
    /// The route decision taken read by read, as the sniffer takes it,
    /// differs from the one taken on the whole input.
    Chunking,
    /// The matcher said `NeedMore` on a prefix as long as its stated
    /// bound.
    Bound,
    /// `matches_at_end` disagrees with a final verdict: `false` after
    /// `Match`, or `true` after `NoMatch`.
    EndOfInput,
    /// The matcher panicked.
    NoPanic,
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Property::Monotone => "prefix monotonicity",
            Property::Chunking => "chunk invariance",
            Property::Bound => "decided within its bound",
            Property::EndOfInput => "end-of-input consistency",
            Property::NoPanic => "no panic",
        })
    }
}

/// What the matcher (or the route table) said where a [`Violation`]
/// showed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Seen {
    /// The verdict was `decided` on the first `decided_at` bytes, and
    /// `then` on the longer prefix of the violation ([`Property::Monotone`]).
    Verdicts {
        /// The length of the prefix where the verdict was first final.
        decided_at: usize,
        /// That final verdict.
        decided: Verdict,
        /// The verdict on the longer prefix.
        then: Verdict,
    },
    /// The verdict and the end-of-input answer on one prefix
    /// ([`Property::EndOfInput`]), or the verdict alone, with
    /// `matches_at_end` not asked, on the bound's prefix
    /// ([`Property::Bound`]).
    Verdict {
        /// What `verdict` said.
        verdict: Verdict,
        /// What `matches_at_end` said, when it was asked.
        matches_at_end: Option<bool>,
    },
    /// The route taken, by index in the route table (`None`: no route),
    /// on the whole input and in chunks of these sizes, cycled
    /// ([`Property::Chunking`]). A single matcher is a table of one route.
    Routes {
        /// The route taken on the whole input.
        whole: Option<usize>,
        /// The route taken read by read.
        chunked: Option<usize>,
        /// The sizes of the reads, cycled.
        chunk_sizes: Vec<usize>,
    },
    /// The panic's message, and the method that panicked
    /// ([`Property::NoPanic`]).
    Panic {
        /// `"verdict"`, `"matches_at_end"` or `"route decision"`.
        call: &'static str,
        /// The panic's message, when it was a string.
        message: String,
    },
}

/// A rule a matcher broke, on which input, where: what the checks of
/// [`Conformance`](super::Conformance) return instead of panicking.
///
/// Its `Display` is a readable report for a test's failure message.
///
/// ```
/// use connmux::conformance::{Conformance, Property, Seen};
/// use connmux::Verdict;
///
/// // Refuses short inputs and then takes longer ones: not monotone.
/// let fickle = |seen: &[u8]| Verdict::from_bool(seen.len() >= 2);
/// let violation = Conformance::new(&fickle).check(b"abc").unwrap_err();
/// assert_eq!(violation.property, Property::Monotone);
/// assert_eq!(violation.prefix_len, 2);
/// assert_eq!(
///     violation.seen,
///     Seen::Verdicts { decided_at: 0, decided: Verdict::NoMatch, then: Verdict::Match },
/// );
/// assert!(violation.to_string().contains("NoMatch on 0 bytes became Match on 2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The rule that broke.
    pub property: Property,
    /// The whole input being checked.
    pub input: Vec<u8>,
    /// How many bytes of `input` had been seen where it broke.
    pub prefix_len: usize,
    /// What was said there.
    pub seen: Seen,
}

/// How many bytes of an input a report shows.
const SHOWN_BYTES: usize = 128;

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} broken: ", self.property)?;
        match &self.seen {
            Seen::Verdicts {
                decided_at,
                decided,
                then,
            } => write!(
                f,
                "{decided:?} on {decided_at} bytes became {then:?} on {}",
                self.prefix_len
            )?,
            Seen::Verdict {
                verdict,
                matches_at_end: Some(at_end),
            } => write!(
                f,
                "{verdict:?} but matches_at_end {at_end} on {} bytes",
                self.prefix_len
            )?,
            Seen::Verdict {
                verdict,
                matches_at_end: None,
            } => write!(f, "{verdict:?} on the first {} bytes", self.prefix_len)?,
            Seen::Routes {
                whole,
                chunked,
                chunk_sizes,
            } => write!(
                f,
                "route {whole:?} whole but {chunked:?} in chunks of {chunk_sizes:?} \
                 (decided after {} bytes)",
                self.prefix_len
            )?,
            Seen::Panic { call, message } => {
                write!(f, "{call} panicked on {} bytes: {message}", self.prefix_len)?
            }
        }
        let shown = &self.input[..self.input.len().min(SHOWN_BYTES)];
        write!(
            f,
            " of the {}-byte input b\"{}\"",
            self.input.len(),
            shown.escape_ascii()
        )?;
        if shown.len() < self.input.len() {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}
