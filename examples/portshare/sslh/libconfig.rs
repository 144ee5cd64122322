//! A reader for the libconfig file format, the syntax of sslh's
//! configuration file (<https://hyperrealm.github.io/libconfig/libconfig_manual.html>,
//! and libconfig 1.7's `lib/scanner.l` and `lib/grammar.y` where the
//! manual is silent).
//!
//! It sits first in the sslh reader: [`parse_file`] turns a file (and the
//! files it `@include`s) into a tree of [`Node`]s that remember where each
//! setting was written, and `translate.rs` reads sslh's meaning off that
//! tree. The grammar it accepts:
//!
//! ```text
//! file      = *setting
//! setting   = NAME ( ":" / "=" ) value [ ";" / "," ]
//! value     = scalar / "{" *setting "}" / "(" [ value *( "," value ) [ "," ] ] ")"
//!           / "[" [ scalar *( "," scalar ) [ "," ] ] "]"      (one scalar type per array)
//! scalar    = BOOL / INTEGER / FLOAT / 1*STRING              (adjacent strings join)
//! NAME      = [A-Za-z*] *[-A-Za-z0-9_*]
//! BOOL      = true / false, in any case
//! INTEGER   = [-+] 1*DIGIT [ "L" [ "L" ] ] / "0x" 1*HEXDIG [ "L" [ "L" ] ]
//! STRING    = '"' *( char / "\\" / "\"" / "\n" / "\r" / "\t" / "\f" / "\x" 2HEXDIG ) '"'
//! comments  = "#" or "//" to the end of the line, "/*" to "*/"
//! include   = a line that starts with @include "FILE": FILE's settings stand there
//! ```
//!
//! A backslash before any other character stays a backslash, as in
//! libconfig. Strings are bytes (`\x00` included), not text. An included
//! file is read relative to the file that includes it (libconfig reads it
//! relative to the process's directory unless told otherwise; sslh does
//! not tell it).
//!
//! Bounds: groups, lists and arrays nest at most [`MAX_NESTING`] deep,
//! includes at most [`MAX_INCLUDE_DEPTH`] deep and never in a cycle, and a
//! file is read once per include, token by token, so the work is linear in
//! the bytes read. Nothing here panics on any input.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How deep groups, lists and arrays may nest.
pub(crate) const MAX_NESTING: usize = 64;
/// How deep `@include` may nest (libconfig's own limit is 10).
pub(crate) const MAX_INCLUDE_DEPTH: usize = 10;

/// One setting, or one element of a list or array, and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// The setting's name; `None` for the elements of a list or array.
    pub(crate) name: Option<String>,
    pub(crate) value: Value,
    /// The file the setting was written in, as it was named to the parser.
    pub(crate) file: String,
    /// The line (from 1) where the setting's name, or the element, begins;
    /// 0 when `file` names something else than a file.
    pub(crate) line: usize,
}

impl Node {
    /// Where the setting was written: `FILE:LINE`, or `file` alone for
    /// a setting no file holds (line 0: one from a command line).
    pub(crate) fn origin(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }

    /// The setting called `name` in this group, if this is a group that has one.
    pub(crate) fn get(&self, name: &str) -> Option<&Node> {
        match &self.value {
            Value::Group(nodes) => nodes.iter().find(|node| node.name.as_deref() == Some(name)),
            _ => None,
        }
    }
}

/// A libconfig value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Bool(bool),
    /// Any integer, decimal or hexadecimal, with or without `L`.
    Int(i64),
    Float(f64),
    /// A string's bytes, escapes decoded, adjacent literals joined.
    Str(Vec<u8>),
    /// `{ ... }`: named settings, in the order written.
    Group(Vec<Node>),
    /// `( ... )`: values of any kind.
    List(Vec<Node>),
    /// `[ ... ]`: scalars of one kind.
    Array(Vec<Node>),
}

impl Value {
    /// What the value is, for messages: "a string", "a group".
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Group(_) => "a group",
            Value::List(_) => "a list",
            Value::Array(_) => "an array",
        }
    }
}

/// Why a configuration could not be read: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) file: String,
    /// From 1; 0 when the file itself could not be read.
    pub(crate) line: usize,
    /// From 1, in bytes.
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ParseError {}

/// The largest file read, an included one too: a configuration is a few
/// hundred lines.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The bytes of the file at `path`, refused past [`MAX_FILE_BYTES`].
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    Read::take(fs::File::open(path)?, MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

/// Reads the file at `path` and every file it includes, and returns its
/// top-level settings.
pub(crate) fn parse_file(path: &Path) -> Result<Vec<Node>, ParseError> {
    let name = path.display().to_string();
    let bytes = read_bounded(path).map_err(|error| ParseError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {error}"),
    })?;
    let identity = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Parser::new(Source::new(name, bytes, Some(identity))).parse()
}

/// Parses `text` as if read from a file named `name`; an `@include` in it
/// is read relative to the current directory.
#[cfg(test)]
pub(crate) fn parse_bytes(name: &str, text: &[u8]) -> Result<Vec<Node>, ParseError> {
    Parser::new(Source::new(name.to_owned(), text.to_vec(), None)).parse()
}

/// One file being read.
struct Source {
    name: String,
    bytes: Vec<u8>,
    /// The canonical path, for cycle detection; `None` for text not read
    /// from a file.
    identity: Option<PathBuf>,
    offset: usize,
    line: usize,
    column: usize,
}

impl Source {
    fn new(name: String, bytes: Vec<u8>, identity: Option<PathBuf>) -> Source {
        Source {
            name,
            bytes,
            identity,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.offset).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.offset + ahead).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.offset += 1;
        if byte == b'\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(byte)
    }

    /// Whether only spaces and tabs stand between the line's start and here.
    fn at_line_start(&self) -> bool {
        self.bytes[..self.offset]
            .iter()
            .rev()
            .take_while(|&&byte| byte != b'\n')
            .all(|&byte| byte == b' ' || byte == b'\t')
    }
}

/// A token and where it began.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
    Equals,
    Semicolon,
    Comma,
    GroupStart,
    GroupEnd,
    ListStart,
    ListEnd,
    ArrayStart,
    ArrayEnd,
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Name(name) => format!("the name '{name}'"),
            Token::Bool(_) => "a boolean".into(),
            Token::Int(_) => "an integer".into(),
            Token::Float(_) => "a float".into(),
            Token::Str(_) => "a string".into(),
            Token::Equals => "'=' or ':'".into(),
            Token::Semicolon => "';'".into(),
            Token::Comma => "','".into(),
            Token::GroupStart => "'{'".into(),
            Token::GroupEnd => "'}'".into(),
            Token::ListStart => "'('".into(),
            Token::ListEnd => "')'".into(),
            Token::ArrayStart => "'['".into(),
            Token::ArrayEnd => "']'".into(),
            Token::End => "the end of the file".into(),
        }
    }
}

/// Where a token began.
#[derive(Debug, Clone)]
struct Position {
    file: String,
    line: usize,
    column: usize,
}

/// The tokenizer over a stack of sources (the including files below the
/// included one) and the recursive-descent parser over its tokens.
struct Parser {
    sources: Vec<Source>,
    /// The next token, once read.
    lookahead: Option<(Token, Position)>,
}

impl Parser {
    fn new(source: Source) -> Parser {
        Parser {
            sources: vec![source],
            lookahead: None,
        }
    }

    fn parse(mut self) -> Result<Vec<Node>, ParseError> {
        let settings = self.settings(0)?;
        let (token, position) = self.next()?;
        if token != Token::End {
            return Err(error_at(
                &position,
                format!("expected a setting name, found {}", token.describe()),
            ));
        }
        Ok(settings)
    }

    /// Settings until `}` or the end, not consuming it.
    fn settings(&mut self, depth: usize) -> Result<Vec<Node>, ParseError> {
        let mut settings: Vec<Node> = Vec::new();
        let mut names = HashSet::new();
        loop {
            let (token, position) = self.peek()?;
            let name = match token {
                Token::Name(name) => name.clone(),
                _ => return Ok(settings),
            };
            let position = position.clone();
            self.next()?;
            let (token, at) = self.next()?;
            if token != Token::Equals {
                return Err(error_at(
                    &at,
                    format!(
                        "expected '=' or ':' after '{name}', found {}",
                        token.describe()
                    ),
                ));
            }
            let value = self.value(depth)?;
            if let (Token::Semicolon | Token::Comma, _) = self.peek()? {
                self.next()?;
            }
            if !names.insert(name.clone()) {
                return Err(error_at(
                    &position,
                    format!("duplicate setting '{name}' in the same group"),
                ));
            }
            settings.push(Node {
                name: Some(name),
                value,
                file: position.file,
                line: position.line,
            });
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        let (token, position) = self.next()?;
        if matches!(
            token,
            Token::GroupStart | Token::ListStart | Token::ArrayStart
        ) && depth >= MAX_NESTING
        {
            return Err(error_at(
                &position,
                format!("nested deeper than {MAX_NESTING} levels"),
            ));
        }
        match token {
            Token::Bool(value) => Ok(Value::Bool(value)),
            Token::Int(value) => Ok(Value::Int(value)),
            Token::Float(value) => Ok(Value::Float(value)),
            Token::Str(mut bytes) => {
                while let (Token::Str(_), _) = self.peek()? {
                    if let (Token::Str(more), _) = self.next()? {
                        bytes.extend_from_slice(&more);
                    }
                }
                Ok(Value::Str(bytes))
            }
            Token::GroupStart => {
                let settings = self.settings(depth + 1)?;
                let (token, at) = self.next()?;
                if token != Token::GroupEnd {
                    return Err(error_at(
                        &at,
                        format!(
                            "expected a setting name or '}}', found {}",
                            token.describe()
                        ),
                    ));
                }
                Ok(Value::Group(settings))
            }
            Token::ListStart => self.elements(depth, Token::ListEnd).map(Value::List),
            Token::ArrayStart => {
                let elements = self.elements(depth, Token::ArrayEnd)?;
                for element in &elements {
                    if matches!(
                        element.value,
                        Value::Group(_) | Value::List(_) | Value::Array(_)
                    ) {
                        return Err(ParseError {
                            file: element.file.clone(),
                            line: element.line,
                            column: 1,
                            message: format!(
                                "an array holds scalars, not {}",
                                element.value.kind()
                            ),
                        });
                    }
                    if element.value.kind() != elements[0].value.kind() {
                        return Err(ParseError {
                            file: element.file.clone(),
                            line: element.line,
                            column: 1,
                            message: format!(
                                "an array holds one kind of scalar: {} after {}",
                                element.value.kind(),
                                elements[0].value.kind()
                            ),
                        });
                    }
                }
                Ok(Value::Array(elements))
            }
            other => Err(error_at(
                &position,
                format!("expected a value, found {}", other.describe()),
            )),
        }
    }

    /// Comma-separated values up to `end`, which it consumes.
    fn elements(&mut self, depth: usize, end: Token) -> Result<Vec<Node>, ParseError> {
        let mut elements = Vec::new();
        loop {
            let (token, position) = self.peek()?;
            if *token == end {
                self.next()?;
                return Ok(elements);
            }
            let position = position.clone();
            let value = self.value(depth + 1)?;
            elements.push(Node {
                name: None,
                value,
                file: position.file,
                line: position.line,
            });
            let (token, at) = self.next()?;
            if token == end {
                return Ok(elements);
            }
            if token != Token::Comma {
                return Err(error_at(
                    &at,
                    format!(
                        "expected ',' or {}, found {}",
                        end.describe(),
                        token.describe()
                    ),
                ));
            }
        }
    }

    fn peek(&mut self) -> Result<&(Token, Position), ParseError> {
        if self.lookahead.is_none() {
            self.lookahead = Some(self.scan()?);
        }
        Ok(self.lookahead.as_ref().expect("just filled"))
    }

    fn next(&mut self) -> Result<(Token, Position), ParseError> {
        match self.lookahead.take() {
            Some(token) => Ok(token),
            None => self.scan(),
        }
    }

    /// The next token, entering and leaving included files on the way.
    fn scan(&mut self) -> Result<(Token, Position), ParseError> {
        loop {
            let source = self.sources.last_mut().expect("the including file stays");
            skip_blanks_and_comments(source)?;
            let position = Position {
                file: source.name.clone(),
                line: source.line,
                column: source.column,
            };
            let Some(byte) = source.peek() else {
                if self.sources.len() == 1 {
                    return Ok((Token::End, position));
                }
                self.sources.pop();
                continue;
            };
            if byte == b'@' && source.at_line_start() {
                self.include(&position)?;
                continue;
            }
            let token = scan_token(source, &position)?;
            return Ok((token, position));
        }
    }

    /// Reads `@include "FILE"` and pushes FILE.
    fn include(&mut self, position: &Position) -> Result<(), ParseError> {
        let depth = self.sources.len();
        let source = self.sources.last_mut().expect("the including file stays");
        for expected in b"@include" {
            if source.bump() != Some(*expected) {
                return Err(error_at(position, "expected @include \"FILE\"".into()));
            }
        }
        while matches!(source.peek(), Some(b' ' | b'\t')) {
            source.bump();
        }
        if source.bump() != Some(b'"') {
            return Err(error_at(
                position,
                "expected a quoted file name after @include".into(),
            ));
        }
        // The file name: up to the closing quote, with \\ and \" only (libconfig's INCLUDE state).
        let mut name = Vec::new();
        loop {
            match source.bump() {
                None | Some(b'\n') => {
                    return Err(error_at(
                        position,
                        "unterminated file name after @include".into(),
                    ))
                }
                Some(b'"') => break,
                Some(b'\\') if matches!(source.peek(), Some(b'\\' | b'"')) => {
                    name.push(source.bump().unwrap_or(b'\\'))
                }
                Some(byte) => name.push(byte),
            }
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        if depth > MAX_INCLUDE_DEPTH {
            return Err(error_at(
                position,
                format!("@include nested deeper than {MAX_INCLUDE_DEPTH} files"),
            ));
        }
        let base = source
            .identity
            .as_ref()
            .and_then(|path| path.parent().map(Path::to_path_buf));
        let path = match base {
            Some(dir) => dir.join(&name),
            None => PathBuf::from(&name),
        };
        let identity = fs::canonicalize(&path).map_err(|error| {
            error_at(
                position,
                format!("cannot include '{}': {error}", path.display()),
            )
        })?;
        if self
            .sources
            .iter()
            .any(|source| source.identity.as_ref() == Some(&identity))
        {
            return Err(error_at(
                position,
                format!("'{}' includes itself (an @include cycle)", path.display()),
            ));
        }
        let bytes = read_bounded(&path).map_err(|error| {
            error_at(
                position,
                format!("cannot include '{}': {error}", path.display()),
            )
        })?;
        self.sources.push(Source::new(
            path.display().to_string(),
            bytes,
            Some(identity),
        ));
        Ok(())
    }
}

fn error_at(position: &Position, message: String) -> ParseError {
    ParseError {
        file: position.file.clone(),
        line: position.line,
        column: position.column,
        message,
    }
}

fn skip_blanks_and_comments(source: &mut Source) -> Result<(), ParseError> {
    loop {
        match (source.peek(), source.peek_at(1)) {
            (Some(b' ' | b'\t' | b'\r' | b'\n' | b'\x0C'), _) => {
                source.bump();
            }
            (Some(b'#'), _) | (Some(b'/'), Some(b'/')) => {
                while !matches!(source.peek(), None | Some(b'\n')) {
                    source.bump();
                }
            }
            (Some(b'/'), Some(b'*')) => {
                let start = Position {
                    file: source.name.clone(),
                    line: source.line,
                    column: source.column,
                };
                source.bump();
                source.bump();
                loop {
                    match source.bump() {
                        None => return Err(error_at(&start, "unterminated /* comment".into())),
                        Some(b'*') if source.peek() == Some(b'/') => {
                            source.bump();
                            break;
                        }
                        Some(_) => {}
                    }
                }
            }
            _ => return Ok(()),
        }
    }
}

/// One token from a source positioned on a byte that starts one.
fn scan_token(source: &mut Source, position: &Position) -> Result<Token, ParseError> {
    let byte = source.peek().unwrap_or(0);
    let punctuation = match byte {
        b'=' | b':' => Some(Token::Equals),
        b';' => Some(Token::Semicolon),
        b',' => Some(Token::Comma),
        b'{' => Some(Token::GroupStart),
        b'}' => Some(Token::GroupEnd),
        b'(' => Some(Token::ListStart),
        b')' => Some(Token::ListEnd),
        b'[' => Some(Token::ArrayStart),
        b']' => Some(Token::ArrayEnd),
        _ => None,
    };
    if let Some(token) = punctuation {
        source.bump();
        return Ok(token);
    }
    if byte == b'"' {
        source.bump();
        return scan_string(source, position).map(Token::Str);
    }
    if byte.is_ascii_alphabetic() || byte == b'*' {
        let mut word = String::new();
        while let Some(byte) = source.peek() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'*') {
                word.push(char::from(byte));
                source.bump();
            } else {
                break;
            }
        }
        return Ok(if word.eq_ignore_ascii_case("true") {
            Token::Bool(true)
        } else if word.eq_ignore_ascii_case("false") {
            Token::Bool(false)
        } else {
            Token::Name(word)
        });
    }
    if byte.is_ascii_digit() || matches!(byte, b'-' | b'+' | b'.') {
        return scan_number(source, position);
    }
    Err(error_at(
        position,
        format!("unexpected character {}", describe_byte(byte)),
    ))
}

fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", char::from(byte))
    } else {
        format!("0x{byte:02X}")
    }
}

/// A string's bytes after its opening quote, through its closing one.
fn scan_string(source: &mut Source, position: &Position) -> Result<Vec<u8>, ParseError> {
    let mut bytes = Vec::new();
    loop {
        match source.bump() {
            None => {
                return Err(error_at(
                    position,
                    "unterminated string: expected '\"'".into(),
                ))
            }
            Some(b'"') => return Ok(bytes),
            Some(b'\\') => {
                let escaped = match source.peek() {
                    Some(b'n') => Some(b'\n'),
                    Some(b'r') => Some(b'\r'),
                    Some(b't') => Some(b'\t'),
                    Some(b'f') => Some(b'\x0C'),
                    Some(b'\\') => Some(b'\\'),
                    Some(b'"') => Some(b'"'),
                    Some(b'x' | b'X') => {
                        let high = source.peek_at(1).and_then(hex_value);
                        let low = source.peek_at(2).and_then(hex_value);
                        match (high, low) {
                            (Some(high), Some(low)) => {
                                source.bump();
                                source.bump();
                                Some(high << 4 | low)
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match escaped {
                    Some(byte) => {
                        source.bump();
                        bytes.push(byte);
                    }
                    // libconfig keeps a backslash that starts no escape.
                    None => bytes.push(b'\\'),
                }
            }
            Some(byte) => bytes.push(byte),
        }
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// An integer or a float, as libconfig's scanner reads them.
fn scan_number(source: &mut Source, position: &Position) -> Result<Token, ParseError> {
    let mut text = String::new();
    while let Some(byte) = source.peek() {
        let sign_after_exponent = matches!(byte, b'-' | b'+')
            && (text.is_empty() || text.ends_with(['e', 'E']) && !is_hex(&text));
        if byte.is_ascii_alphanumeric() || byte == b'.' || sign_after_exponent {
            text.push(char::from(byte));
            source.bump();
        } else {
            break;
        }
    }
    let bad = || error_at(position, format!("'{text}' is not a number"));
    let body = text
        .strip_suffix("LL")
        .or_else(|| text.strip_suffix('L'))
        .unwrap_or(&text);
    let (sign, digits) = match body.as_bytes().first() {
        Some(b'-') => (-1i128, &body[1..]),
        Some(b'+') => (1, &body[1..]),
        _ => (1, body),
    };
    let suffixed = body.len() != text.len();
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        if sign < 0
            || hex.is_empty()
            || hex.len() > 16
            || !hex.bytes().all(|byte| byte.is_ascii_hexdigit())
        {
            return Err(bad());
        }
        let value = u64::from_str_radix(hex, 16).map_err(|_| bad())?;
        // libconfig reads 0x as unsigned and stores the bits.
        return Ok(Token::Int(value as i64));
    }
    if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        let magnitude: i128 = digits.parse().map_err(|_| bad())?;
        let value = i64::try_from(sign * magnitude)
            .map_err(|_| error_at(position, format!("'{text}' does not fit in 64 bits")))?;
        return Ok(Token::Int(value));
    }
    if suffixed {
        return Err(bad());
    }
    let float_shape = text.bytes().any(|byte| matches!(byte, b'.' | b'e' | b'E'))
        && text.bytes().any(|byte| byte.is_ascii_digit())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'-' | b'+'));
    match text.parse::<f64>() {
        Ok(value) if float_shape => Ok(Token::Float(value)),
        _ => Err(bad()),
    }
}

fn is_hex(text: &str) -> bool {
    let digits = text.trim_start_matches(['-', '+']);
    digits.starts_with("0x") || digits.starts_with("0X")
}
