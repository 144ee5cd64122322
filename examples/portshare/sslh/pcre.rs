//! sslh's `regex` probe patterns (PCRE2, unanchored, matched against
//! whatever bytes have arrived) rewritten in connmux's pattern language
//! (anchored, bounded; see `connmux::matchers::pattern`).
//!
//! What changes on the way:
//!
//! - `^X` becomes `X`; an unanchored `X` becomes `?{0,1024}X`: sslh
//!   searches every byte it has read (8 KiB a read with glibc's `BUFSIZ`,
//!   more as more arrives), while the search prefix can skip at most
//!   [`SEARCH_WINDOW`] bytes, the longest repetition the language allows.
//! - `.` becomes `[^\n]` (PCRE's default: any byte but LF).
//! - `*`, `+` and `{n,}` repeat at most [`SEARCH_WINDOW`] times, with a
//!   caveat saying so.
//! - `\d`, `\s`, `\w` (and their negations outside classes) become classes.
//! - A pattern any alternative of which can match nothing (`""`, `^`,
//!   `a|`, `x*`) matches every connection: it becomes the spec `any`.
//! - Refused, with the reason: `$` (whether it matches depends on where
//!   the client's packets happen to be cut), `^` anywhere but at the start
//!   of an alternative, back-references, look-arounds, word boundaries,
//!   option settings such as `(?i)`, POSIX classes.

use connmux::matchers::PATTERN_MAX_REPEAT;

use super::NoticeKind;

/// How many bytes before a match an unanchored pattern may skip, and the
/// bound put on `*`, `+` and `{n,}`.
pub(super) const SEARCH_WINDOW: u16 = PATTERN_MAX_REPEAT;

/// How deep groups may nest (the pattern language's own limit).
const MAX_GROUP_DEPTH: usize = connmux::matchers::PATTERN_MAX_NESTING;

/// A PCRE pattern in portshare's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rewritten {
    /// `any`, or `pattern:TEXT`.
    pub(super) spec: String,
    /// What the reader should know, one line each: `Unsupported` where
    /// the rewrite matches differently from sslh, `Ignored` where sslh
    /// itself does not do what the pattern says and portshare does as sslh.
    pub(super) caveats: Vec<(NoticeKind, String)>,
}

/// Rewrites `regex` (the bytes sslh compiles, up to its first NUL as C
/// reads it) or says why it cannot be.
pub(super) fn rewrite(regex: &[u8]) -> Result<Rewritten, String> {
    let mut caveats = Vec::new();
    let regex = match regex.iter().position(|&byte| byte == 0) {
        Some(nul) => {
            caveats.push((
                NoticeKind::Ignored,
                format!(
                    "sslh reads the pattern as a C string, up to its \\x00 byte: it matches /{}/, and portshare does the same",
                    printable(&regex[..nul])
                ),
            ));
            &regex[..nul]
        }
        None => regex,
    };
    let mut parser = Parser {
        bytes: regex,
        offset: 0,
        depth: 0,
        shorthand: Vec::new(),
        caveats: &mut caveats,
    };
    let alternatives = parser.top_level()?;
    if alternatives
        .iter()
        .any(|(_, sequence)| nullable_sequence(sequence))
    {
        // Matching everything, the bounds put on repetitions change nothing.
        caveats.retain(|(kind, _)| *kind == NoticeKind::Ignored);
        return Ok(Rewritten {
            spec: "any".into(),
            caveats,
        });
    }
    let mut anchored = Vec::new();
    let mut searched = Vec::new();
    for (is_anchored, sequence) in &alternatives {
        let text = emit_sequence(sequence);
        if *is_anchored {
            anchored.push(text);
        } else {
            searched.push(text);
        }
    }
    match searched.len() {
        0 => {}
        1 => anchored.push(format!("?{{0,{SEARCH_WINDOW}}}{}", searched[0])),
        _ => anchored.push(format!("?{{0,{SEARCH_WINDOW}}}({})", searched.join("|"))),
    }
    let text = anchored.join("|");
    connmux::matchers::pattern(&text)
        .map_err(|error| format!("its rewrite '{text}' is not a portshare pattern: {error}"))?;
    Ok(Rewritten {
        spec: format!("pattern:{text}"),
        caveats,
    })
}

/// The pattern's bytes for a message: printable ASCII as is, the rest `\xHH`.
pub(super) fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&byte| {
            if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte).to_string()
            } else {
                format!("\\x{byte:02X}")
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Atom {
    /// One of these byte ranges, or (negated) none of them.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
    Group(Vec<Vec<Piece>>),
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: u16,
    max: u16,
}

struct Parser<'a, 'c> {
    bytes: &'a [u8],
    offset: usize,
    depth: usize,
    /// The ranges of shorthands (`\d`) met in the class being read.
    shorthand: Vec<(u8, u8)>,
    caveats: &'c mut Vec<(NoticeKind, String)>,
}

const DIGITS: &[(u8, u8)] = &[(b'0', b'9')];
const SPACES: &[(u8, u8)] = &[(b'\t', b'\r'), (b' ', b' ')];
const WORD: &[(u8, u8)] = &[(b'0', b'9'), (b'A', b'Z'), (b'_', b'_'), (b'a', b'z')];

impl Parser<'_, '_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.offset).copied()
    }

    fn refuse(&self, what: &str) -> String {
        format!(
            "{what} (at byte {} of /{}/)",
            self.offset,
            printable(self.bytes)
        )
    }

    /// The top-level alternatives, each with whether it started with `^`.
    fn top_level(&mut self) -> Result<Vec<(bool, Vec<Piece>)>, String> {
        let mut alternatives = Vec::new();
        loop {
            let anchored = match self.peek() {
                Some(b'^') => {
                    self.offset += 1;
                    true
                }
                Some(b'\\') if self.bytes.get(self.offset + 1) == Some(&b'A') => {
                    self.offset += 2;
                    true
                }
                _ => false,
            };
            alternatives.push((anchored, self.sequence()?));
            match self.peek() {
                Some(b'|') => self.offset += 1,
                None => return Ok(alternatives),
                Some(_) => return Err(self.refuse("an unmatched ')'")),
            }
        }
    }

    fn alternation(&mut self) -> Result<Vec<Vec<Piece>>, String> {
        let mut alternatives = vec![self.sequence()?];
        while self.peek() == Some(b'|') {
            self.offset += 1;
            alternatives.push(self.sequence()?);
        }
        Ok(alternatives)
    }

    fn sequence(&mut self) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        while let Some(byte) = self.peek() {
            if matches!(byte, b'|' | b')') {
                break;
            }
            let atom = self.atom()?;
            let (min, max) = self.quantifier()?;
            if max > 0 {
                pieces.push(Piece { atom, min, max });
            }
        }
        Ok(pieces)
    }

    fn atom(&mut self) -> Result<Atom, String> {
        let byte = self.peek().unwrap_or(0);
        self.offset += 1;
        match byte {
            b'.' => Ok(Atom::Class { negated: true, ranges: vec![(b'\n', b'\n')] }),
            b'$' => Err(self.refuse("'$' is refused: sslh tests it against the bytes that have arrived so far, so whether it matches depends on how the client's packets are cut")),
            b'^' => Err(self.refuse("'^' is only understood at the start of an alternative")),
            b'*' | b'+' | b'?' => Err(self.refuse("a repetition with nothing to repeat")),
            b'[' => self.class(),
            b'(' => {
                if self.peek() == Some(b'?') {
                    if self.bytes.get(self.offset + 1) == Some(&b':') {
                        self.offset += 2;
                    } else {
                        return Err(self.refuse("'(?' groups (options, look-arounds, named groups) are refused"));
                    }
                }
                self.depth += 1;
                if self.depth > MAX_GROUP_DEPTH {
                    return Err(self.refuse("groups nest too deep"));
                }
                let alternatives = self.alternation()?;
                self.depth -= 1;
                if self.peek() != Some(b')') {
                    return Err(self.refuse("a '(' without its ')'"));
                }
                self.offset += 1;
                Ok(Atom::Group(alternatives))
            }
            b'\\' => {
                let (negated, ranges) = self.escape()?;
                Ok(Atom::Class { negated, ranges })
            }
            _ => Ok(Atom::Class { negated: false, ranges: vec![(byte, byte)] }),
        }
    }

    /// The escape after a `\`: its bytes, and whether they are negated.
    fn escape(&mut self) -> Result<(bool, Vec<(u8, u8)>), String> {
        let Some(byte) = self.peek() else {
            return Err(self.refuse("a '\\' at the end"));
        };
        self.offset += 1;
        let single = |value: u8| Ok((false, vec![(value, value)]));
        match byte {
            b'x' => {
                let braced = self.peek() == Some(b'{');
                if braced {
                    self.offset += 1;
                }
                let mut value: u32 = 0;
                let mut digits = 0;
                while let Some(digit) = self.peek().and_then(|byte| char::from(byte).to_digit(16)) {
                    if !braced && digits == 2 {
                        break;
                    }
                    value = value.saturating_mul(16).saturating_add(digit);
                    digits += 1;
                    self.offset += 1;
                }
                if braced {
                    if self.peek() != Some(b'}') {
                        return Err(self.refuse("a '\\x{' without its '}'"));
                    }
                    self.offset += 1;
                }
                match u8::try_from(value) {
                    Ok(value) => single(value),
                    Err(_) => Err(self.refuse("a character above \\xFF")),
                }
            }
            b'n' => single(b'\n'),
            b'r' => single(b'\r'),
            b't' => single(b'\t'),
            b'f' => single(b'\x0C'),
            b'e' => single(b'\x1B'),
            b'a' => single(b'\x07'),
            b'0' => single(0),
            b'd' => Ok((false, DIGITS.to_vec())),
            b'D' => Ok((true, DIGITS.to_vec())),
            b's' => Ok((false, SPACES.to_vec())),
            b'S' => Ok((true, SPACES.to_vec())),
            b'w' => Ok((false, WORD.to_vec())),
            b'W' => Ok((true, WORD.to_vec())),
            _ if byte.is_ascii_alphanumeric() => Err(self.refuse(&format!(
                "'\\{}' (a back-reference, anchor or PCRE-specific escape) is refused",
                char::from(byte)
            ))),
            _ => single(byte),
        }
    }

    /// A class after its `[`.
    fn class(&mut self) -> Result<Atom, String> {
        let negated = self.peek() == Some(b'^');
        if negated {
            self.offset += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.refuse("a '[' without its ']'"));
            };
            if byte == b']' && !first {
                self.offset += 1;
                break;
            }
            first = false;
            if byte == b'[' && self.bytes.get(self.offset + 1) == Some(&b':') {
                return Err(self.refuse("POSIX classes ([:alpha:]) are refused"));
            }
            let low = self.class_member()?;
            let is_range = self.peek() == Some(b'-')
                && !matches!(self.bytes.get(self.offset + 1), Some(b']') | None);
            match low {
                Some(low) if is_range => {
                    self.offset += 1;
                    match self.class_member()? {
                        Some(high) if low <= high => ranges.push((low, high)),
                        Some(_) => {
                            return Err(self.refuse("a class range whose end is below its start"))
                        }
                        None => {
                            return Err(
                                self.refuse("a class range ending in a shorthand such as \\d")
                            )
                        }
                    }
                }
                Some(low) => ranges.push((low, low)),
                None => {}
            }
        }
        // Shorthands inside a class were pushed by class_member.
        ranges.append(&mut self.pending_shorthand());
        Ok(Atom::Class { negated, ranges })
    }

    /// One class member: `Some(byte)`, or `None` for a shorthand (`\d`),
    /// whose ranges go to the class directly.
    fn class_member(&mut self) -> Result<Option<u8>, String> {
        let byte = self.peek().unwrap_or(0);
        self.offset += 1;
        if byte != b'\\' {
            return Ok(Some(byte));
        }
        if self.peek() == Some(b'b') {
            self.offset += 1;
            return Ok(Some(b'\x08'));
        }
        let (negated, ranges) = self.escape()?;
        if negated {
            return Err(
                self.refuse("a negated shorthand (\\D, \\S, \\W) inside a class is refused")
            );
        }
        if let [(low, high)] = ranges[..] {
            if low == high {
                return Ok(Some(low));
            }
        }
        self.shorthand.extend(ranges);
        Ok(None)
    }

    fn pending_shorthand(&mut self) -> Vec<(u8, u8)> {
        std::mem::take(&mut self.shorthand)
    }

    /// The repetition after an atom: `(min, max)`, (1, 1) for none.
    fn quantifier(&mut self) -> Result<(u16, u16), String> {
        let unbounded = |parser: &mut Self, min: u16, written: &str| {
            parser.caveats.push((
                NoticeKind::Unsupported,
                format!("'{written}' repeats at most {SEARCH_WINDOW} times in portshare (in sslh, any number)"),
            ));
            (min, SEARCH_WINDOW)
        };
        let bounds = match self.peek() {
            Some(b'?') => {
                self.offset += 1;
                (0, 1)
            }
            Some(b'*') => {
                self.offset += 1;
                unbounded(self, 0, "*")
            }
            Some(b'+') => {
                self.offset += 1;
                unbounded(self, 1, "+")
            }
            Some(b'{') => match self.braces() {
                Some((min, None)) => {
                    let min = self.count(min)?;
                    unbounded(self, min, &format!("{{{min},}}"))
                }
                Some((min, Some(max))) => {
                    let (min, max) = (self.count(min)?, self.count(max)?);
                    if min > max {
                        return Err(self.refuse("a repetition {m,n} with m above n"));
                    }
                    (min, max)
                }
                None => return Ok((1, 1)),
            },
            _ => return Ok((1, 1)),
        };
        // Lazy (`?`) and possessive (`+`) forms decide the same prefixes.
        if matches!(self.peek(), Some(b'?' | b'+')) {
            self.offset += 1;
        }
        Ok(bounds)
    }

    fn count(&self, value: u64) -> Result<u16, String> {
        u16::try_from(value)
            .ok()
            .filter(|&value| value <= SEARCH_WINDOW)
            .ok_or_else(|| self.refuse(&format!("a repetition count above {SEARCH_WINDOW}")))
    }

    /// `{n}`, `{n,}` or `{n,m}` at the offset, consumed; `None` (nothing
    /// consumed) where PCRE reads the `{` as itself.
    fn braces(&mut self) -> Option<(u64, Option<u64>)> {
        let rest = &self.bytes[self.offset + 1..];
        let close = rest.iter().position(|&byte| byte == b'}')?;
        let inside = std::str::from_utf8(&rest[..close]).ok()?;
        let number = |text: &str| -> Option<u64> {
            if text.is_empty() || text.len() > 6 || !text.bytes().all(|byte| byte.is_ascii_digit())
            {
                None
            } else {
                text.parse().ok()
            }
        };
        let bounds = match inside.split_once(',') {
            None => {
                let count = number(inside)?;
                (count, Some(count))
            }
            Some((min, "")) => (number(min)?, None),
            Some((min, max)) => (number(min)?, Some(number(max)?)),
        };
        self.offset += close + 2;
        Some(bounds)
    }
}

fn nullable_sequence(sequence: &[Piece]) -> bool {
    sequence
        .iter()
        .all(|piece| piece.min == 0 || nullable_atom(&piece.atom))
}

fn nullable_atom(atom: &Atom) -> bool {
    match atom {
        Atom::Class { .. } => false,
        Atom::Group(alternatives) => alternatives
            .iter()
            .any(|sequence| nullable_sequence(sequence)),
    }
}

fn emit_sequence(sequence: &[Piece]) -> String {
    let mut text = String::new();
    for piece in sequence {
        match &piece.atom {
            Atom::Class {
                negated: false,
                ranges,
            } if ranges.len() == 1 && ranges[0].0 == ranges[0].1 => {
                text.push_str(&literal(ranges[0].0));
            }
            Atom::Class { negated, ranges } => {
                text.push('[');
                if *negated {
                    text.push('^');
                }
                for &(low, high) in ranges {
                    text.push_str(&format!("\\x{low:02X}"));
                    if high != low {
                        text.push_str(&format!("-\\x{high:02X}"));
                    }
                }
                text.push(']');
            }
            Atom::Group(alternatives) => {
                let inner: Vec<String> = alternatives
                    .iter()
                    .map(|sequence| emit_sequence(sequence))
                    .collect();
                text.push_str(&format!("({})", inner.join("|")));
            }
        }
        match (piece.min, piece.max) {
            (1, 1) => {}
            (min, max) if min == max => text.push_str(&format!("{{{min}}}")),
            (min, max) => text.push_str(&format!("{{{min},{max}}}")),
        }
    }
    text
}

/// One byte in the pattern language, safe inside a portshare route spec:
/// letters and digits as themselves, the rest `\xHH` (so `=`, `+`, `,` and
/// spaces never split the option).
fn literal(byte: u8) -> String {
    if byte.is_ascii_alphanumeric() {
        char::from(byte).to_string()
    } else {
        format!("\\x{byte:02X}")
    }
}
