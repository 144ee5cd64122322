//! Why a pattern text was refused: [`PatternError`], the byte offset of
//! the fault and its [`PatternErrorKind`].

use std::error::Error;
use std::fmt;

use super::limits::{PATTERN_MAX_NESTING, PATTERN_MAX_REPEAT, PATTERN_MAX_STATES};

/// Why [`pattern`](crate::matchers::pattern) refused a pattern, and where.
///
/// ```
/// use connmux::matchers::{pattern, PatternErrorKind};
///
/// let error = pattern("SSH-[0-9").unwrap_err();
/// assert_eq!(error.kind(), PatternErrorKind::UnclosedClass);
/// assert_eq!(error.offset(), 4);
/// assert_eq!(
///     error.to_string(),
///     "at byte 4 of the pattern: a class opened with [ is not closed with ]"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PatternError {
    pub(super) offset: usize,
    pub(super) kind: PatternErrorKind,
}

impl PatternError {
    /// The byte offset in the pattern text where the fault starts: the
    /// `[` of an unclosed class, the `\` of a bad escape, the `{` of a bad
    /// repetition; 0 for a fault of the whole pattern.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong.
    pub fn kind(&self) -> PatternErrorKind {
        self.kind
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {} of the pattern: {}", self.offset, self.kind)
    }
}

impl Error for PatternError {}

/// What is wrong with a pattern; see [`PatternError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// The pattern is empty: it would match every connection
    /// ([`any`](crate::matchers::any) does that).
    Empty,
    /// The pattern can match without a byte (every part of some way
    /// through it is optional, as in `a{0,3}`), so it matches every
    /// connection before its first byte.
    MatchesEmptyInput,
    /// An alternative is empty: `()`, `a|`, `|a`, `(a||b)`.
    EmptyAlternative,
    /// A `(` has no `)`.
    UnclosedGroup,
    /// Groups are nested deeper than [`PATTERN_MAX_NESTING`].
    NestedTooDeep,
    /// A `)`, `]` or `}` closes nothing.
    Unmatched(char),
    /// A `[` has no `]`.
    UnclosedClass,
    /// A class matches no byte: `[]`, `[^\x00-\xff]`.
    EmptyClass,
    /// A class range ends below its start: `[z-a]`.
    RangeOutOfOrder,
    /// The pattern ends in a `\`.
    UnfinishedEscape,
    /// A `\` is followed by a character that is neither punctuation nor
    /// one of `x`, `n`, `r`, `t`: `\d`, `\s` and `\w` are not shorthands
    /// here, write the class out.
    UnknownEscape(char),
    /// `\x` is not followed by two hexadecimal digits.
    BadHexEscape,
    /// A character that is not printable ASCII (a control character, a
    /// non-ASCII one): write its bytes as `\xHH`.
    NotPrintable(char),
    /// A character that means something in regular expressions but not
    /// here: `.`, `^` or `$`. Escape it to match it (`\.`).
    Reserved(char),
    /// `*`, `+` or `{m,}`: a repetition without an upper bound, after
    /// which the matcher could wait forever.
    UnboundedRepetition,
    /// A repetition `{…}` with nothing before it to repeat.
    NothingToRepeat,
    /// A repetition of a repetition, `a{2}{3}`: group it, `(a{2}){3}`.
    RepeatedRepetition,
    /// A `{` not followed by `n}` or `m,n}` (decimal digits only).
    BadRepetition,
    /// A repetition bound above [`PATTERN_MAX_REPEAT`].
    RepetitionTooLarge,
    /// A repetition `{m,n}` with `m` above `n`, or repeating at most zero
    /// times.
    BoundsOutOfOrder,
    /// The pattern compiles to more than [`PATTERN_MAX_STATES`] states
    /// (repetitions multiply the states of what they repeat).
    TooManyStates,
}

impl fmt::Display for PatternErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternErrorKind::Empty => {
                f.write_str("the pattern is empty: matchers::any() matches every connection")
            }
            PatternErrorKind::MatchesEmptyInput => f.write_str(
                "the pattern matches the empty input, so every connection before its first byte",
            ),
            PatternErrorKind::EmptyAlternative => f.write_str("an alternative is empty"),
            PatternErrorKind::UnclosedGroup => {
                f.write_str("a group opened with ( is not closed with )")
            }
            PatternErrorKind::NestedTooDeep => write!(
                f,
                "groups are nested deeper than {PATTERN_MAX_NESTING} levels"
            ),
            PatternErrorKind::Unmatched(close) => {
                write!(f, "{close} closes nothing: write \\{close} to match it")
            }
            PatternErrorKind::UnclosedClass => {
                f.write_str("a class opened with [ is not closed with ]")
            }
            PatternErrorKind::EmptyClass => f.write_str("the class matches no byte"),
            PatternErrorKind::RangeOutOfOrder => f.write_str("the range ends below its start"),
            PatternErrorKind::UnfinishedEscape => f.write_str("the pattern ends in a \\"),
            PatternErrorKind::UnknownEscape(escaped) => write!(
                f,
                "\\{escaped} is not an escape: the escapes are \\xHH, \\n, \\r, \\t and \\ \
                 before punctuation; write classes out, [0-9] for a digit"
            ),
            PatternErrorKind::BadHexEscape => {
                f.write_str("\\x must be followed by two hexadecimal digits")
            }
            PatternErrorKind::NotPrintable(character) => write!(
                f,
                "{character:?} is not printable ASCII: write its bytes as \\xHH"
            ),
            PatternErrorKind::Reserved(character) => write!(
                f,
                "{character} is reserved: ? is any byte, patterns are anchored at the start \
                 and match a prefix; write \\{character} to match it"
            ),
            PatternErrorKind::UnboundedRepetition => write!(
                f,
                "a repetition needs an upper bound: write {{m,n}} with n at most \
                 {PATTERN_MAX_REPEAT}"
            ),
            PatternErrorKind::NothingToRepeat => f.write_str("the repetition follows nothing"),
            PatternErrorKind::RepeatedRepetition => {
                f.write_str("a repetition cannot be repeated: group it, (a{2}){3}")
            }
            PatternErrorKind::BadRepetition => {
                f.write_str("a repetition is {n} or {m,n}, in decimal digits")
            }
            PatternErrorKind::RepetitionTooLarge => {
                write!(f, "a repetition bound is larger than {PATTERN_MAX_REPEAT}")
            }
            PatternErrorKind::BoundsOutOfOrder => {
                f.write_str("a repetition {m,n} needs m at most n, and n at least 1")
            }
            PatternErrorKind::TooManyStates => write!(
                f,
                "the pattern compiles to more than {PATTERN_MAX_STATES} states"
            ),
        }
    }
}
