//! Redis clients by their first command, in either form the server reads
//! (RESP, <https://redis.io/docs/latest/develop/reference/protocol-spec/>,
//! sections "Sending commands to a Redis server" and "Inline commands"):
//!
//! ```text
//! RESP array of bulk strings   *<count> CR LF ( $<length> CR LF <bytes> CR LF ){count}
//!                              the first bulk string is the command name
//! inline command               <command> ( 1*blank <argument> )* *blank CR LF   (or LF alone)
//!                              blank = SP / HTAB; an argument may hold one
//!                              "double-quoted" (backslash escapes) or
//!                              'single-quoted' part, which must end it
//! ```
//!
//! Numbers are decimal without sign or leading zeros, as Redis parses them.
//! Every client library, `redis-cli` included, sends RESP arrays; inline
//! commands come from people typing into `telnet` or `nc` and from health
//! checks (`PING\r\n`).
//!
//! An inline command is a line of words, and ordinary text is too
//! (`hello world`, `time is up`), so an inline line matches only when
//! Redis would take it as a command: [`redis`] checks it as Redis does
//! before running it (the command table and its rules are in
//! `redis/commands.rs`).
//!
//! Route order: an HTTP/1 request line such as `COPY /a HTTP/1.1` is also
//! a valid inline `COPY`, so HTTP routes must come before Redis. As a
//! safety net, an inline command whose name is also an HTTP method (`ACL`,
//! `COPY`, `GET`, `MOVE`, `UNLINK`) does not match when the last word of
//! its line is an HTTP version.

mod commands;

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};
use crate::matchers::HTTP_METHODS;
use commands::{first_starting_with, Command, COMMANDS};

/// The Redis command names (Redis 7.x and 8.0, upper case, sorted by bytes)
/// that open an inline command.
pub const REDIS_COMMANDS: &[&str] = &{
    let mut names = [""; COMMANDS.len()];
    let mut index = 0;
    while index < COMMANDS.len() {
        names[index] = COMMANDS[index].name;
        index += 1;
    }
    names
};

/// The most bulk strings in the first array. Redis itself takes up to
/// 2^31 - 1 (and at most 10 before authentication when a password is set);
/// no client opens with a command of over a million arguments.
const MAX_ARRAY_COUNT: u64 = 1 << 20;
/// The longest command name accepted in a RESP array. Redis's own names
/// have at most 20 bytes; modules add dotted names such as `FT.AGGREGATE`.
const MAX_COMMAND_NAME_LENGTH: u64 = 64;
/// The longest inline line the matcher reads, line ending included, before
/// it gives up on it. Redis reads up to 64 KiB (`PROTO_INLINE_MAX_SIZE`);
/// a command typed by hand fits in far less.
const INLINE_LINE_LIMIT: usize = 1024;

/// Matches a Redis client's first command; see [`redis`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Redis;

/// A matcher for Redis clients by their first command.
///
/// A RESP array (`*`) matches once its first bulk string, the command
/// name, is complete: an array of 1 to 1,048,576 elements whose first is
/// 1 to 64 bytes, a letter then letters, digits or `.`, `|`, `-`, `_`. The
/// name is not looked up: RESP arrays are specific enough, and module
/// commands have names no table holds. That decides within 81 bytes.
///
/// Anything else is read as an inline command, whole line at a time, as
/// Redis splits it (`sdssplitargs`: words between blanks, quotes group
/// words and must be balanced). It matches once its line has ended, within
/// 1,024 bytes, when Redis would run it rather than refuse it before
/// running it:
///
/// - the first word, at the first byte and unquoted, is a command of
///   [`REDIS_COMMANDS`] in any case, and for a container command (`CLIENT`,
///   `CONFIG`, ...) the second word is one of its subcommands;
/// - the number of words fits the command's arity, Redis's rule of how
///   many words a command takes (`TIME`: none after the name; `SET`: two
///   or more);
/// - for a command whose first argument is a number (`HELLO protover`,
///   `SELECT index`, `WAIT numreplicas`, ...), that argument is a decimal
///   integer, written bare.
///
/// It says `NoMatch` at the first byte no command name allows, at the
/// first byte of a word beyond the arity, at the end of a wrong subcommand
/// or number, at the line's end when it has too few words, and at a
/// control byte, an unbalanced quote or text after a closing quote. It is
/// stricter than Redis in refusing control bytes, blanks before the name
/// and a quoted name.
///
/// Route HTTP/1 before Redis: `COPY /a HTTP/1.1` is a valid inline `COPY`
/// too. As a safety net, a line whose command is also an HTTP method
/// (`ACL`, `COPY`, `GET`, `MOVE`, `UNLINK`) does not match when its last
/// word is an HTTP version.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::redis;
///
/// // redis-cli PING
/// assert_eq!(redis().verdict(b"*1\r\n$4\r\nPING\r\n"), Verdict::Match);
/// assert_eq!(redis().verdict(b"*1\r\n$4\r\nPING"), Verdict::NeedMore);
/// assert_eq!(redis().verdict(b"*0\r\n"), Verdict::NoMatch);
/// // Inline commands.
/// assert_eq!(redis().verdict(b"ping\n"), Verdict::Match);
/// assert_eq!(redis().verdict(b"SET greeting \"hello world\"\r\n"), Verdict::Match);
/// assert_eq!(redis().verdict(b"HELLO 3\r\n"), Verdict::Match);
/// assert_eq!(redis().verdict(b"HELLO 3"), Verdict::NeedMore);
/// // Text that is no command Redis would run.
/// assert_eq!(redis().verdict(b"hello world\n"), Verdict::NoMatch);
/// assert_eq!(redis().verdict(b"time is"), Verdict::NoMatch);
/// assert_eq!(redis().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// assert_eq!(redis().verdict(b"SSH-2.0-"), Verdict::NoMatch);
/// ```
pub fn redis() -> Redis {
    Redis
}

impl Matcher for Redis {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match seen.first() {
            None => Verdict::NeedMore,
            Some(b'*') => match resp_command_name(seen) {
                Ok(_) => Verdict::Match,
                Err(stop) => stop.into(),
            },
            Some(_) => inline_verdict(seen),
        }
    }
}

/// The name of the first command, upper-cased, once the matcher says
/// `Match`; `None` before that or if `seen` is not Redis.
///
/// ```
/// use connmux::matchers::redis_command;
///
/// assert_eq!(redis_command(b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n").as_deref(), Some("SET"));
/// assert_eq!(redis_command(b"hello 3\r\n").as_deref(), Some("HELLO"));
/// assert_eq!(redis_command(b"*1\r\n$4\r\nPI"), None);
/// ```
pub fn redis_command(seen: &[u8]) -> Option<String> {
    if redis().verdict(seen) != Verdict::Match {
        return None;
    }
    let name = match seen.first() {
        Some(b'*') => resp_command_name(seen).ok()?,
        _ => seen.split(|&byte| !is_bare_byte(byte)).next()?,
    };
    Some(String::from_utf8_lossy(name).to_ascii_uppercase())
}

/// Reads a RESP array up to the end of its first bulk string, returning the
/// string.
fn resp_command_name(seen: &[u8]) -> Result<&[u8], Stop> {
    let mut command = Cursor::new(seen);
    require(command.u8()? == b'*')?;
    positive_decimal_line(&mut command, MAX_ARRAY_COUNT)?;
    require(command.u8()? == b'$')?;
    let name_length = positive_decimal_line(&mut command, MAX_COMMAND_NAME_LENGTH)?;
    let mut name = command.clone();
    for index in 0..name_length {
        let byte = command.u8()?;
        require(if index == 0 {
            byte.is_ascii_alphabetic()
        } else {
            byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'|' | b'-' | b'_')
        })?;
    }
    require(command.u8()? == b'\r')?;
    require(command.u8()? == b'\n')?;
    name.take(usize::try_from(name_length).map_err(|_| Stop::Invalid)?)
}

/// Reads a decimal number from 1 to `max`, without sign or leading zeros,
/// and the CR LF after it.
fn positive_decimal_line(command: &mut Cursor<'_>, max: u64) -> Result<u64, Stop> {
    let first = command.u8()?;
    require((b'1'..=b'9').contains(&first))?;
    let mut value = u64::from(first - b'0');
    loop {
        require(value <= max)?;
        let byte = command.u8()?;
        if byte == b'\r' {
            require(command.u8()? == b'\n')?;
            return Ok(value);
        }
        require(byte.is_ascii_digit())?;
        value = value * 10 + u64::from(byte - b'0');
    }
}

/// Judges `seen` as an inline command line.
fn inline_verdict(seen: &[u8]) -> Verdict {
    // The name is judged byte by byte, so that text no command starts
    // with is ruled out at its first byte.
    let name_end = seen
        .iter()
        .position(|&byte| !is_bare_byte(byte))
        .unwrap_or(seen.len());
    let name = &seen[..name_end];
    if name.is_empty() || first_starting_with(COMMANDS, name).is_none() {
        return Verdict::NoMatch;
    }
    let within = seen.get(..INLINE_LINE_LIMIT).unwrap_or(seen);
    match read_inline_command(&mut Cursor::new(within)) {
        Ok(()) => Verdict::Match,
        Err(Stop::Short) if seen.len() >= INLINE_LINE_LIMIT => Verdict::NoMatch,
        Err(stop) => stop.into(),
    }
}

/// Reads an inline command line through its line ending and checks it as
/// Redis does before running it (`processCommand` in `server.c`): a known
/// command and subcommand, as many words as the arity allows, an integer
/// first argument where the command takes one. The line must start with
/// the name, unquoted.
fn read_inline_command(line: &mut Cursor<'_>) -> Result<(), Stop> {
    let name = line.take_while(is_bare_byte);
    require(ends_word(line.peek()?))?;
    let named = exactly(COMMANDS, name)?;
    let mut command = named;
    let mut words = 1;
    let mut last_word = name;
    while word_starts(line)? {
        words += 1;
        require(words <= command.max_words())?;
        let word = read_word(line)?;
        if words == 2 && !command.subcommands.is_empty() {
            command = exactly(command.subcommands, word)?;
        } else if words == 2 && command.integer_first {
            require(is_integer(word))?;
        }
        last_word = word;
    }
    require(command.takes(words))?;
    require(!(HTTP_METHODS.contains(&named.name) && last_word.starts_with(b"HTTP/")))
}

/// The command of `table` whose name is `word`, ignoring ASCII case.
fn exactly(table: &'static [Command], word: &[u8]) -> Result<&'static Command, Stop> {
    first_starting_with(table, word)
        .filter(|command| command.name.len() == word.len())
        .ok_or(Stop::Invalid)
}

/// Skips the blanks before the next word: `true` if a word starts there,
/// `false` at the end of the line (CR LF or LF), which it reads.
fn word_starts(line: &mut Cursor<'_>) -> Result<bool, Stop> {
    line.take_while(|byte| byte == b' ' || byte == b'\t');
    match line.peek()? {
        b'\n' => {
            line.u8()?;
            Ok(false)
        }
        b'\r' => {
            line.u8()?;
            require(line.u8()? == b'\n')?;
            Ok(false)
        }
        _ => Ok(true),
    }
}

/// Reads one word as Redis's `sdssplitargs` splits it: bare bytes, then at
/// most one quoted part, after which the word must end. Returns the word
/// as sent, quotes included, once the blank or line ending after it has
/// arrived.
fn read_word<'a>(line: &mut Cursor<'a>) -> Result<&'a [u8], Stop> {
    let start = line.clone();
    line.take_while(is_bare_byte);
    let mut after = line.peek()?;
    if let quote @ (b'"' | b'\'') = after {
        line.u8()?;
        read_quoted(line, quote)?;
        after = line.peek()?;
    }
    require(ends_word(after))?;
    let length = start.remaining() - line.remaining();
    start.clone().take(length)
}

/// Reads a quoted part after its opening `quote`, through its closing one.
/// In double quotes a backslash escapes the byte after it; in single
/// quotes it escapes only a single quote. A line ending before the closing
/// quote leaves it unbalanced, which Redis refuses.
fn read_quoted(line: &mut Cursor<'_>, quote: u8) -> Result<(), Stop> {
    loop {
        let byte = line.u8()?;
        require(is_quoted_byte(byte))?;
        if byte == quote {
            return Ok(());
        }
        if byte == b'\\' && (quote == b'"' || line.peek()? == b'\'') {
            require(is_quoted_byte(line.u8()?))?;
        }
    }
}

/// A blank or the start of a line ending: what must follow a word.
fn ends_word(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// A byte of a word outside quotes: printable, not a quote, or non-ASCII.
/// Redis takes any byte but its blanks; control bytes are refused here.
fn is_bare_byte(byte: u8) -> bool {
    (byte.is_ascii_graphic() && byte != b'"' && byte != b'\'') || !byte.is_ascii()
}

/// A byte inside quotes: printable, a space or a tab, or non-ASCII.
fn is_quoted_byte(byte: u8) -> bool {
    byte == b' ' || byte == b'\t' || byte.is_ascii_graphic() || !byte.is_ascii()
}

/// Whether `word` is a decimal integer as Redis's `string2ll` reads one:
/// `0`, or an optional `-` and digits without a leading zero, within a
/// signed 64-bit integer.
fn is_integer(word: &[u8]) -> bool {
    let digits = word.strip_prefix(b"-").unwrap_or(word);
    let canonical = word == b"0" || digits.first().is_some_and(|&first| first != b'0');
    canonical
        && digits.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(word).is_ok_and(|text| text.parse::<i64>().is_ok())
}

#[cfg(test)]
mod tests;
