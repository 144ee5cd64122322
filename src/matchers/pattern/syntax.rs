//! The pattern text parsed into a tree ([`Node`]), every limit checked on
//! the way: the grammar is in the parent module's documentation, and each
//! function here reads one of its rules.

use super::error::{PatternError, PatternErrorKind};
use super::limits::{PATTERN_MAX_NESTING, PATTERN_MAX_REPEAT, PATTERN_MAX_STATES};

/// A set of byte values, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(super) struct ByteSet([u64; 4]);

impl ByteSet {
    /// Every byte: `?`.
    pub(super) const ALL: ByteSet = ByteSet([u64::MAX; 4]);

    pub(super) fn single(byte: u8) -> ByteSet {
        let mut set = ByteSet::default();
        set.insert_range(byte, byte);
        set
    }

    pub(super) fn insert_range(&mut self, low: u8, high: u8) {
        for byte in low..=high {
            self.0[usize::from(byte / 64)] |= 1 << (byte % 64);
        }
    }

    pub(super) fn complement(self) -> ByteSet {
        ByteSet(self.0.map(|word| !word))
    }

    pub(super) fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte / 64)] & (1 << (byte % 64)) != 0
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }
}

/// A parsed pattern, or a part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    /// One byte out of a set: a literal, `?` or a class.
    Byte(ByteSet),
    /// Its parts one after the other.
    Sequence(Vec<Node>),
    /// Any one of its alternatives (two or more).
    Alternation(Vec<Node>),
    /// `node` at least `min` and at most `max` times, `1 <= max`.
    Repeat { node: Box<Node>, min: u16, max: u16 },
}

impl Node {
    /// Whether the node matches the empty input.
    pub(super) fn matches_empty(&self) -> bool {
        match self {
            Node::Byte(_) => false,
            Node::Sequence(parts) => parts.iter().all(Node::matches_empty),
            Node::Alternation(alternatives) => alternatives.iter().any(Node::matches_empty),
            Node::Repeat { node, min, .. } => *min == 0 || node.matches_empty(),
        }
    }
}

/// A node and the number of program states it compiles to (as
/// `program::compile` lays them out): a byte is one state, a sequence the
/// sum of its parts, an alternation of `k` adds `k - 1` forks, and each
/// optional copy of a repetition adds one fork.
struct Sized {
    node: Node,
    states: usize,
}

/// Parses `text` into a tree whose program, with its final match state,
/// has at most [`PATTERN_MAX_STATES`] states.
pub(super) fn parse(text: &str) -> Result<Node, PatternError> {
    if text.is_empty() {
        return Err(error_at(0, PatternErrorKind::Empty));
    }
    let mut parser = Parser { text, position: 0 };
    let parsed = parser.alternation(0)?;
    if let Some(close) = parser.peek() {
        // `alternation` stops only at the end or at a `)`.
        return Err(parser.error_here(PatternErrorKind::Unmatched(char::from(close))));
    }
    if parsed.node.matches_empty() {
        return Err(error_at(0, PatternErrorKind::MatchesEmptyInput));
    }
    Ok(parsed.node)
}

fn error_at(offset: usize, kind: PatternErrorKind) -> PatternError {
    PatternError { offset, kind }
}

/// Refuses `states` past the limit (which keeps one state for the
/// program's final match), blaming the part starting at `offset`.
fn limit(states: usize, offset: usize) -> Result<usize, PatternError> {
    if states < PATTERN_MAX_STATES {
        Ok(states)
    } else {
        Err(error_at(offset, PatternErrorKind::TooManyStates))
    }
}

/// Reads the pattern text from the front, one ASCII byte at a time.
struct Parser<'a> {
    text: &'a str,
    position: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.position += 1;
        Some(byte)
    }

    fn error_here(&self, kind: PatternErrorKind) -> PatternError {
        error_at(self.position, kind)
    }

    /// The whole character at `offset`, for an error about a character
    /// that is not ASCII.
    fn char_at(&self, offset: usize) -> char {
        self.text[offset..]
            .chars()
            .next()
            .unwrap_or(char::REPLACEMENT_CHARACTER)
    }

    /// `alternation = sequence *( "|" sequence )`, inside `depth` groups.
    fn alternation(&mut self, depth: usize) -> Result<Sized, PatternError> {
        let mut alternatives = vec![self.sequence(depth)?];
        let mut states = alternatives[0].states;
        while self.peek() == Some(b'|') {
            let bar = self.position;
            self.position += 1;
            let alternative = self.sequence(depth)?;
            states = limit(states + alternative.states + 1, bar)?;
            alternatives.push(alternative);
        }
        if alternatives.len() == 1 {
            return Ok(alternatives.remove(0));
        }
        Ok(Sized {
            node: Node::Alternation(alternatives.into_iter().map(|a| a.node).collect()),
            states,
        })
    }

    /// `sequence = 1*repeated`, up to a `|`, a `)` or the end.
    fn sequence(&mut self, depth: usize) -> Result<Sized, PatternError> {
        let start = self.position;
        let mut parts = Vec::new();
        let mut states = 0;
        while !matches!(self.peek(), None | Some(b'|' | b')')) {
            let offset = self.position;
            let part = self.repeated(depth)?;
            states = limit(states + part.states, offset)?;
            parts.push(part.node);
        }
        match parts.len() {
            0 => Err(error_at(start, PatternErrorKind::EmptyAlternative)),
            1 => Ok(Sized {
                node: parts.remove(0),
                states,
            }),
            _ => Ok(Sized {
                node: Node::Sequence(parts),
                states,
            }),
        }
    }

    /// `repeated = atom [ repetition ]`
    fn repeated(&mut self, depth: usize) -> Result<Sized, PatternError> {
        let atom = self.atom(depth)?;
        let open = self.position;
        let repeated = match self.peek() {
            Some(b'{') => {
                let (min, max) = self.repetition()?;
                let optional = usize::from(max - min);
                let states = usize::from(min)
                    .saturating_mul(atom.states)
                    .saturating_add(optional.saturating_mul(atom.states + 1));
                Sized {
                    node: Node::Repeat {
                        node: Box::new(atom.node),
                        min,
                        max,
                    },
                    states: limit(states, open)?,
                }
            }
            Some(b'*' | b'+') => return Err(self.error_here(PatternErrorKind::UnboundedRepetition)),
            _ => return Ok(atom),
        };
        match self.peek() {
            Some(b'{') => Err(self.error_here(PatternErrorKind::RepeatedRepetition)),
            Some(b'*' | b'+') => Err(self.error_here(PatternErrorKind::UnboundedRepetition)),
            _ => Ok(repeated),
        }
    }

    /// `atom = literal / escape / "?" / class / "(" alternation ")"`
    fn atom(&mut self, depth: usize) -> Result<Sized, PatternError> {
        let start = self.position;
        let byte = |set| Sized {
            node: Node::Byte(set),
            states: 1,
        };
        match self.next() {
            Some(b'?') => Ok(byte(ByteSet::ALL)),
            Some(b'[') => Ok(byte(self.class(start)?)),
            Some(b'\\') => Ok(byte(ByteSet::single(self.escape(start)?))),
            Some(b'(') => {
                if depth == PATTERN_MAX_NESTING {
                    return Err(error_at(start, PatternErrorKind::NestedTooDeep));
                }
                let group = self.alternation(depth + 1)?;
                match self.next() {
                    Some(b')') => Ok(group),
                    _ => Err(error_at(start, PatternErrorKind::UnclosedGroup)),
                }
            }
            Some(b'{') => Err(error_at(start, PatternErrorKind::NothingToRepeat)),
            Some(b'*' | b'+') => Err(error_at(start, PatternErrorKind::UnboundedRepetition)),
            Some(close @ (b']' | b'}')) => Err(error_at(
                start,
                PatternErrorKind::Unmatched(char::from(close)),
            )),
            Some(reserved @ (b'.' | b'^' | b'$')) => Err(error_at(
                start,
                PatternErrorKind::Reserved(char::from(reserved)),
            )),
            Some(literal) => Ok(byte(ByteSet::single(self.printable(literal, start)?))),
            // `sequence` reads an atom only where a byte is left.
            None => Err(error_at(start, PatternErrorKind::EmptyAlternative)),
        }
    }

    /// A byte of the text taken as itself: printable ASCII only.
    fn printable(&self, byte: u8, offset: usize) -> Result<u8, PatternError> {
        if byte == b' ' || byte.is_ascii_graphic() {
            Ok(byte)
        } else {
            Err(error_at(
                offset,
                PatternErrorKind::NotPrintable(self.char_at(offset)),
            ))
        }
    }

    /// `escape = "\x" 2HEXDIG / "\n" / "\r" / "\t" / "\" punctuation`,
    /// after the `\` at `start`.
    fn escape(&mut self, start: usize) -> Result<u8, PatternError> {
        match self.next() {
            None => Err(error_at(start, PatternErrorKind::UnfinishedEscape)),
            Some(b'n') => Ok(b'\n'),
            Some(b'r') => Ok(b'\r'),
            Some(b't') => Ok(b'\t'),
            Some(b'x') => {
                let digits = self.text.get(self.position..self.position + 2);
                // `from_str_radix` alone would take a sign: "+1".
                let value = digits
                    .filter(|digits| digits.bytes().all(|digit| digit.is_ascii_hexdigit()))
                    .and_then(|digits| u8::from_str_radix(digits, 16).ok())
                    .ok_or(error_at(start, PatternErrorKind::BadHexEscape))?;
                self.position += 2;
                Ok(value)
            }
            Some(punctuation) if punctuation.is_ascii_punctuation() => Ok(punctuation),
            Some(_) => Err(error_at(
                start,
                PatternErrorKind::UnknownEscape(self.char_at(start + 1)),
            )),
        }
    }

    /// `class = "[" [ "^" ] 1*member "]"`, `member = char [ "-" char ]`,
    /// after the `[` at `start`.
    fn class(&mut self, start: usize) -> Result<ByteSet, PatternError> {
        let negated = self.peek() == Some(b'^');
        if negated {
            self.position += 1;
        }
        let mut set = ByteSet::default();
        let mut members = 0;
        loop {
            let low_offset = self.position;
            let low = match self.class_char(start)? {
                None => break,
                Some(low) => low,
            };
            let mut high = low;
            // A `-` makes a range only between two characters: before the
            // `]` it is itself.
            if self.peek() == Some(b'-')
                && self.text.as_bytes().get(self.position + 1) != Some(&b']')
            {
                self.position += 1;
                high = match self.class_char(start)? {
                    Some(high) => high,
                    None => return Err(error_at(start, PatternErrorKind::UnclosedClass)),
                };
                if high < low {
                    return Err(error_at(low_offset, PatternErrorKind::RangeOutOfOrder));
                }
            }
            set.insert_range(low, high);
            members += 1;
        }
        if negated {
            set = set.complement();
        }
        if members == 0 || set.is_empty() {
            return Err(error_at(start, PatternErrorKind::EmptyClass));
        }
        Ok(set)
    }

    /// One character of the class opened at `start`, an escape or the
    /// byte itself; `None` at the `]` that closes it.
    fn class_char(&mut self, start: usize) -> Result<Option<u8>, PatternError> {
        let offset = self.position;
        match self.next() {
            None => Err(error_at(start, PatternErrorKind::UnclosedClass)),
            Some(b']') => Ok(None),
            Some(b'\\') => self.escape(offset).map(Some),
            Some(byte) => self.printable(byte, offset).map(Some),
        }
    }

    /// `repetition = "{" count [ "," count ] "}"`, at its `{`: the least
    /// and the most number of times.
    fn repetition(&mut self) -> Result<(u16, u16), PatternError> {
        let open = self.position;
        self.position += 1;
        let min = self.count(open)?;
        let max = if self.peek() == Some(b',') {
            self.position += 1;
            if self.peek() == Some(b'}') {
                return Err(error_at(open, PatternErrorKind::UnboundedRepetition));
            }
            self.count(open)?
        } else {
            min
        };
        if self.next() != Some(b'}') {
            return Err(error_at(open, PatternErrorKind::BadRepetition));
        }
        if min > max || max == 0 {
            return Err(error_at(open, PatternErrorKind::BoundsOutOfOrder));
        }
        Ok((min, max))
    }

    /// `count = 1*DIGIT`, at most [`PATTERN_MAX_REPEAT`], in the
    /// repetition opened at `open`.
    fn count(&mut self, open: usize) -> Result<u16, PatternError> {
        let digits = self.text[self.position..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits == 0 {
            return Err(error_at(open, PatternErrorKind::BadRepetition));
        }
        let text = &self.text[self.position..self.position + digits];
        self.position += digits;
        match text.parse::<u16>() {
            Ok(count) if count <= PATTERN_MAX_REPEAT => Ok(count),
            _ => Err(error_at(open, PatternErrorKind::RepetitionTooLarge)),
        }
    }
}
