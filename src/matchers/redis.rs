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
mod tests {
    use super::*;
    use crate::internal::check_monotone;
    use crate::matchers::testing::near_miss;
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    const REDIS_CLI_PING: &[u8] = include_bytes!("testdata/redis_cli_ping.bin");
    const REDIS_CLI_SET: &[u8] = include_bytes!("testdata/redis_cli_set.bin");

    /// Redis's `sdssplitargs` ported as it is written, a state machine over
    /// a whole line without its line ending: the words as sent, quotes
    /// included, or `None` when Redis refuses the line (unbalanced quotes,
    /// text after a closing quote).
    fn naive_split(line: &[u8]) -> Option<Vec<&[u8]>> {
        let blank = |at: usize| line.get(at).is_some_and(|b| b" \t".contains(b));
        let mut words = Vec::new();
        let mut at = 0;
        loop {
            while blank(at) {
                at += 1;
            }
            if at == line.len() {
                return Some(words);
            }
            let start = at;
            let mut quote = None;
            loop {
                match (quote, line.get(at)) {
                    (Some(_), None) => return None,
                    (None, None) => break,
                    (None, Some(b' ' | b'\t')) => break,
                    (None, Some(&open @ (b'"' | b'\''))) => quote = Some(open),
                    (None, Some(_)) => {}
                    (Some(b'"'), Some(b'\\')) if at + 1 < line.len() => at += 1,
                    (Some(b'\''), Some(b'\\')) if line.get(at + 1) == Some(&b'\'') => at += 1,
                    (Some(close), Some(&byte)) if byte == close => {
                        if at + 1 < line.len() && !blank(at + 1) {
                            return None;
                        }
                        at += 1;
                        break;
                    }
                    (Some(_), Some(_)) => {}
                }
                at += 1;
            }
            words.push(&line[start..at]);
        }
    }

    /// Whether Redis's `string2ll` reads `word` as an integer.
    fn naive_integer(word: &[u8]) -> bool {
        let text = String::from_utf8_lossy(word);
        let digits = text.strip_prefix('-').unwrap_or(&text);
        (text == "0" || !digits.starts_with('0'))
            && digits.bytes().all(|b| b.is_ascii_digit())
            && text.parse::<i64>().is_ok()
    }

    /// Inline commands read naively: the whole line must be there, and
    /// Redis's checks are applied to its words one after the other.
    fn naive_inline(seen: &[u8]) -> bool {
        let Some(end) = seen
            .iter()
            .take(INLINE_LINE_LIMIT)
            .position(|&b| b == b'\n')
        else {
            return false;
        };
        let line = seen[..end].strip_suffix(b"\r").unwrap_or(&seen[..end]);
        let upper = |word: &[u8]| String::from_utf8_lossy(word).to_ascii_uppercase();
        let find = |table: &'static [Command], word: &[u8]| {
            table.iter().find(|command| command.name == upper(word))
        };
        if line.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
            return false;
        }
        let Some(words) = naive_split(line) else {
            return false;
        };
        let [name, arguments @ ..] = &words[..] else {
            return false;
        };
        let Some(named) = find(COMMANDS, name).filter(|_| line.starts_with(name)) else {
            return false;
        };
        let command = match arguments.first() {
            Some(first) if !named.subcommands.is_empty() => match find(named.subcommands, first) {
                Some(subcommand) => subcommand,
                None => return false,
            },
            _ => named,
        };
        let http_line =
            HTTP_METHODS.contains(&named.name) && words.last().unwrap().starts_with(b"HTTP/");
        command.takes(words.len())
            && !(command.integer_first && arguments.first().is_some_and(|a| !naive_integer(a)))
            && !http_line
    }

    #[test]
    fn command_names_overlap_http_methods_in_five() {
        let overlapping: Vec<&str> = REDIS_COMMANDS
            .iter()
            .copied()
            .filter(|name| HTTP_METHODS.contains(name))
            .collect();
        assert_eq!(overlapping, ["ACL", "COPY", "GET", "MOVE", "UNLINK"]);
        assert_eq!(REDIS_COMMANDS.len(), 254);
        assert_eq!(REDIS_COMMANDS.first(), Some(&"ACL"));
        assert_eq!(REDIS_COMMANDS.last(), Some(&"ZUNIONSTORE"));
    }

    #[test]
    fn resp_table() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (b"*", NeedMore),
            (b"*1", NeedMore),
            (b"*1\r", NeedMore),
            (b"*1\r\n$4\r\nPING\r", NeedMore),
            (b"*1\r\n$4\r\nPING\r\n", Match),
            (b"*2\r\n$5\r\nHELLO\r\n", Match),
            (b"*3\r\n$3\r\nset\r\n", Match),
            (b"*2\r\n$12\r\nFT.AGGREGATE\r\n", Match),
            (b"*1048576\r\n$3\r\nDEL\r\n", Match),
            (b"*1048577", NoMatch),
            (b"*10485760", NoMatch),
            (b"*0", NoMatch),
            (b"*01", NoMatch),
            (b"*-1", NoMatch),
            (b"*+1", NoMatch),
            (b"*1\n", NoMatch),
            (b"*1\r\r", NoMatch),
            (b"*1 ", NoMatch),
            (b"*1\r\n+PING", NoMatch),
            (b"*1\r\n$0", NoMatch),
            (b"*1\r\n$64\r\n", NeedMore),
            (b"*1\r\n$65", NoMatch),
            (b"*1\r\n$4\r\n1234", NoMatch),
            (b"*1\r\n$4\r\nPI G", NoMatch),
            (b"*1\r\n$4\r\nPINGS", NoMatch),
            (b"*1\r\n$4\r\nPIN\r\n", NoMatch),
        ];
        for (seen, want) in cases {
            assert_eq!(
                redis().verdict(seen),
                *want,
                "{:?}",
                String::from_utf8_lossy(seen)
            );
        }
        let mut longest = b"*1048576\r\n$64\r\n".to_vec();
        longest.extend([b'A'; 64]);
        longest.extend(b"\r\n");
        assert_eq!(longest.len(), 81);
        assert_eq!(redis().verdict(&longest), Match);
        assert_eq!(redis().verdict(&longest[..80]), NeedMore);
    }

    /// Lines a person or a health check sends, and Redis runs.
    #[test]
    fn inline_commands_redis_runs_match_at_their_line_end() {
        let lines: &[&[u8]] = &[
            b"PING\r\n",
            b"PING\n",
            b"ping\n",
            b"PiNg\r\n",
            b"PING hello\r\n",
            b"PING \r\n",
            b"QUIT\n",
            b"QUIT\r\n",
            b"SET k v\r\n",
            b"set k v\n",
            b"SET k v EX 10\r\n",
            b"SET\tk \t v\r\n",
            b"GET counter\r\n",
            b"AUTH secret\r\n",
            b"HELLO\r\n",
            b"HELLO 3\r\n",
            b"hello 3 AUTH default secret\r\n",
            b"SELECT 0\r\n",
            b"SELECT -1\r\n",
            b"WAIT 1 100\n",
            b"CLIENT LIST\r\n",
            b"client list\n",
            b"CONFIG GET maxmemory\r\n",
            b"COMMAND\r\n",
            b"MEMORY MALLOC-STATS\r\n",
            b"MOVE key 1\r\n",
            b"GEORADIUSBYMEMBER_RO k m 1 km\r\n",
            b"HSETEX h FIELDS 1 f v\r\n",
            // sdssplitargs: quotes group words, with escapes.
            b"ECHO \"hello world\"\r\n",
            b"ECHO 'hello world'\n",
            b"ECHO \"say \\\"hi\\\"\\n\"\r\n",
            b"ECHO 'it\\'s'\r\n",
            b"SET k \"\"\r\n",
            b"SET k ab\"c d\"\r\n",
            b"SET k \"caf\xc3\xa9\"\r\n",
        ];
        for &line in lines {
            let text = String::from_utf8_lossy(line);
            for length in 0..line.len() {
                assert_eq!(
                    redis().verdict(&line[..length]),
                    NeedMore,
                    "{length} of {text:?}"
                );
            }
            assert_eq!(redis().verdict(line), Match, "{text:?}");
            assert!(naive_inline(line), "naive {text:?}");
        }
    }

    /// Text, other protocols, and lines Redis refuses before running them;
    /// `decided_at` is how many bytes it takes to say so.
    #[test]
    fn other_lines_do_not_match_from_their_first_wrong_byte() {
        let cases: &[(&[u8], usize)] = &[
            // Ordinary text: known names, but no command Redis would run.
            // HELLO's protover, SELECT's index, WAIT's numreplicas and
            // SCAN's cursor are integers.
            (b"hello world\n", 12),
            (b"select all\n", 11),
            (b"wait a minute\n", 7),
            (b"scan this page\n", 10),
            // TIME takes no argument: no at the second word's first byte.
            (b"time is up\n", 6),
            (b"TIME now\r\n", 6),
            // No such CLIENT or CONFIG subcommand; a container needs one.
            (b"client side\n", 12),
            (b"config error\n", 13),
            (b"CLIENT\r\n", 8),
            // Too few or too many words: GET key, SET key value.
            (b"GET\r\n", 5),
            (b"GET a b\r\n", 7),
            (b"SET k\r\n", 7),
            // Quotes Redis refuses: unbalanced, or text after the close.
            (b"ECHO \"unbalanced\r\n", 17),
            (b"ECHO 'x'y", 9),
            (b"ECHO \"x\"y", 9),
            (b"ECHO \"a\\\r\n", 9),
            // Stricter than Redis: the name starts the line, unquoted, and
            // control bytes other than a tab are refused.
            (b"\"PING\"\r\n", 1),
            (b" PING\r\n", 1),
            (b"PING\"", 5),
            (b"PING\rX", 6),
            (b"PING\x00", 5),
            (b"PING \x0b\r\n", 6),
            (b"ECHO \"\x01\"", 7),
            // Not a command name.
            (b"PINGX", 5),
            (b"PIX", 3),
            (b"PIN\r\n", 4),
            (b"\r\n", 1),
            (b"\x00", 1),
            (b"\xff", 1),
            // HTTP request lines.
            (b"GET / HTTP/1.1\r\n", 7),
            (b"get / HTTP/1.1\r\n", 7),
            (b"COPY /a HTTP/1.1\r\n", 18),
            (b"UNLINK /a HTTP/1.1\n", 19),
            (b"MOVE /a HTTP/1.1\r\n", 18),
            (b"POST / HTTP/1.1\r\n", 2),
            (b"PRI * HTTP/2.0\r\n", 2),
            // Other protocols' first bytes.
            (b"SSH-2.0-OpenSSH", 3),
            (b"\x16\x03\x01", 1),
            (b"\x05\x01\x00", 1),
        ];
        for &(seen, decided_at) in cases {
            let text = String::from_utf8_lossy(seen);
            assert_eq!(
                redis().verdict(&seen[..decided_at - 1]),
                NeedMore,
                "{text:?}"
            );
            assert_eq!(redis().verdict(&seen[..decided_at]), NoMatch, "{text:?}");
            assert_eq!(redis().verdict(seen), NoMatch, "{text:?}");
            assert!(!naive_inline(seen), "naive {text:?}");
        }
    }

    #[test]
    fn inline_lines_are_bounded() {
        let mut line = b"SET k ".to_vec();
        line.resize(INLINE_LINE_LIMIT - 1, b'v');
        assert_eq!(redis().verdict(&line), NeedMore);
        let mut ended = line.clone();
        ended.push(b'\n');
        assert_eq!(redis().verdict(&ended), Match);
        line.push(b'v');
        assert_eq!(redis().verdict(&line), NoMatch);
    }

    #[test]
    fn redis_cli_captures() {
        for capture in [REDIS_CLI_PING, REDIS_CLI_SET] {
            assert_eq!(redis().verdict(capture), Match);
        }
        for length in 0..REDIS_CLI_PING.len() {
            assert_eq!(
                redis().verdict(&REDIS_CLI_PING[..length]),
                NeedMore,
                "{length}"
            );
        }
        assert_eq!(redis_command(REDIS_CLI_PING).as_deref(), Some("PING"));
        assert_eq!(redis_command(REDIS_CLI_SET).as_deref(), Some("SET"));
        assert_eq!(redis().verdict(&REDIS_CLI_SET[..13]), Match);
        assert_eq!(redis_command(b"GET k\r\n").as_deref(), Some("GET"));
        assert_eq!(redis_command(b"client list\n").as_deref(), Some("CLIENT"));
        assert_eq!(redis_command(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(redis_command(b"hello world\n"), None);
    }

    #[test]
    fn integers_as_redis_reads_them() {
        for (word, integer) in [
            (&b"0"[..], true),
            (b"3", true),
            (b"-1", true),
            (b"9223372036854775807", true),
            (b"-9223372036854775808", true),
            (b"9223372036854775808", false),
            (b"03", false),
            (b"-0", false),
            (b"+3", false),
            (b"", false),
            (b"-", false),
            (b"3x", false),
            (b"\"3\"", false),
        ] {
            assert_eq!(is_integer(word), integer, "{word:?}");
            assert_eq!(naive_integer(word), integer, "naive {word:?}");
        }
    }

    fn resp_command() -> impl Strategy<Value = Vec<u8>> {
        (
            1usize..=1 << 20,
            "[a-zA-Z][a-zA-Z0-9._|-]{0,63}",
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 0..4),
        )
            .prop_map(|(count, name, arguments)| {
                let mut command = format!("*{count}\r\n${}\r\n{name}\r\n", name.len()).into_bytes();
                for argument in arguments {
                    command.extend(format!("${}\r\n", argument.len()).as_bytes());
                    command.extend(argument);
                    command.extend(b"\r\n");
                }
                command
            })
    }

    /// A word as a person types it: bare, double- or single-quoted.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9/:.-]{1,12}",
            "\"([a-z '-]|\\\\[a-z\"\\\\]){0,8}\"",
            "'([a-z \"-]|\\\\'){0,8}'",
        ]
    }

    /// An inline command Redis runs: a command (and subcommand) from the
    /// table, as many words as its arity allows, an integer first where it
    /// needs one.
    fn inline_command() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(COMMANDS),
            any::<prop::sample::Index>(),
            any::<bool>(),
            prop::collection::vec(word(), 0..8),
            -100i64..100,
            prop::sample::select(vec![" ", "  ", "\t"]),
            prop::sample::select(vec!["\r\n", "\n", " \r\n"]),
        )
            .prop_map(
                |(named, subcommand, lower, mut words, number, blank, end)| {
                    let mut line = vec![named.name.to_string()];
                    let command = match named.subcommands {
                        [] => named,
                        subcommands => {
                            let subcommand = &subcommands[subcommand.index(subcommands.len())];
                            line.push(subcommand.name.to_string());
                            *subcommand
                        }
                    };
                    if command.integer_first {
                        words.insert(0, number.to_string());
                    }
                    let least = command.min_words();
                    let most = command.max_words().min(least + words.len());
                    let mut words = words.into_iter();
                    while line.len() < least || (line.len() < most && words.len() > 0) {
                        line.push(words.next().unwrap_or_else(|| "x".to_string()));
                    }
                    let line = line.join(blank);
                    let line = if lower {
                        line.to_ascii_lowercase()
                    } else {
                        line
                    };
                    format!("{line}{end}").into_bytes()
                },
            )
    }

    proptest! {
        #[test]
        fn monotone_and_naive_near_commands(data in near_miss(prop_oneof![resp_command(), inline_command()])) {
            check_monotone(0, &redis(), &data);
            let _ = redis_command(&data);
            if data.first() != Some(&b'*') {
                prop_assert_eq!(redis().verdict(&data) == Match, naive_inline(&data));
                let line_ended = data.iter().take(INLINE_LINE_LIMIT).any(|&b| b == b'\n');
                if line_ended {
                    prop_assert_ne!(redis().verdict(&data), NeedMore);
                }
            }
        }

        #[test]
        fn resp_commands_match(command in resp_command()) {
            prop_assert_eq!(redis().verdict(&command), Match);
            prop_assert!(redis_command(&command).is_some());
        }

        #[test]
        fn inline_commands_match_and_agree_with_naive(command in inline_command()) {
            prop_assert_eq!(redis().verdict(&command), Match);
            prop_assert!(naive_inline(&command));
            let without_end = command.trim_ascii_end();
            let http = [without_end, b" HTTP/1.1\n"].concat();
            prop_assert_eq!(redis().verdict(&http) == Match, naive_inline(&http));
            let one_more = [without_end, b" more\n"].concat();
            prop_assert_eq!(redis().verdict(&one_more) == Match, naive_inline(&one_more));
        }

        #[test]
        fn decides_within_the_line_limit(
            opening in prop_oneof![resp_command(), inline_command()],
            filler in prop::collection::vec(prop::sample::select(&b" \r\n*$09AGETget\"'"[..]), 0..INLINE_LINE_LIMIT),
            flip in any::<(prop::sample::Index, u8)>(),
        ) {
            let mut data = [&opening[..opening.len() / 2], &filler].concat();
            data.resize(INLINE_LINE_LIMIT, b'k');
            let at = flip.0.index(data.len());
            data[at] = flip.1;
            prop_assert_ne!(redis().verdict(&data), NeedMore);
        }
    }
}
