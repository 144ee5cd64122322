//! Redis clients by their first command, in either form the server reads
//! (RESP, <https://redis.io/docs/latest/develop/reference/protocol-spec/>,
//! sections "Sending commands to a Redis server" and "Inline commands"):
//!
//! ```text
//! RESP array of bulk strings   *<count> CR LF ( $<length> CR LF <bytes> CR LF ){count}
//!                              the first bulk string is the command name
//! inline command               <command> ( SP <argument> )* CR LF   (or LF alone)
//! ```
//!
//! Numbers are decimal without sign or leading zeros, as Redis parses them.
//! Every client library sends RESP arrays; inline commands come from
//! people typing into `telnet` or `nc` and from health checks
//! (`PING\r\n`).
//!
//! Route order: an HTTP/1 request line such as `GET /index.html HTTP/1.1`
//! is also a valid inline `GET`, so HTTP routes must come before Redis.
//! As a safety net, an inline command whose name is also an HTTP method
//! (`ACL`, `COPY`, `GET`, `MOVE`, `UNLINK`) matches only once its line has
//! ended without an HTTP version as its last word.

use crate::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};
use crate::matchers::HTTP_METHODS;

/// The Redis command names (Redis 7.x and 8.0, upper case, sorted by bytes)
/// that open an inline command.
pub const REDIS_COMMANDS: &[&str] = &[
    "ACL",
    "APPEND",
    "ASKING",
    "AUTH",
    "BGREWRITEAOF",
    "BGSAVE",
    "BITCOUNT",
    "BITFIELD",
    "BITFIELD_RO",
    "BITOP",
    "BITPOS",
    "BLMOVE",
    "BLMPOP",
    "BLPOP",
    "BRPOP",
    "BRPOPLPUSH",
    "BZMPOP",
    "BZPOPMAX",
    "BZPOPMIN",
    "CLIENT",
    "CLUSTER",
    "COMMAND",
    "CONFIG",
    "COPY",
    "DBSIZE",
    "DEBUG",
    "DECR",
    "DECRBY",
    "DEL",
    "DISCARD",
    "DUMP",
    "ECHO",
    "EVAL",
    "EVALSHA",
    "EVALSHA_RO",
    "EVAL_RO",
    "EXEC",
    "EXISTS",
    "EXPIRE",
    "EXPIREAT",
    "EXPIRETIME",
    "FAILOVER",
    "FCALL",
    "FCALL_RO",
    "FLUSHALL",
    "FLUSHDB",
    "FUNCTION",
    "GEOADD",
    "GEODIST",
    "GEOHASH",
    "GEOPOS",
    "GEORADIUS",
    "GEORADIUSBYMEMBER",
    "GEORADIUSBYMEMBER_RO",
    "GEORADIUS_RO",
    "GEOSEARCH",
    "GEOSEARCHSTORE",
    "GET",
    "GETBIT",
    "GETDEL",
    "GETEX",
    "GETRANGE",
    "GETSET",
    "HDEL",
    "HELLO",
    "HEXISTS",
    "HEXPIRE",
    "HEXPIREAT",
    "HEXPIRETIME",
    "HGET",
    "HGETALL",
    "HGETDEL",
    "HGETEX",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HKEYS",
    "HLEN",
    "HMGET",
    "HMSET",
    "HPERSIST",
    "HPEXPIRE",
    "HPEXPIREAT",
    "HPEXPIRETIME",
    "HPTTL",
    "HRANDFIELD",
    "HSCAN",
    "HSET",
    "HSETEX",
    "HSETNX",
    "HSTRLEN",
    "HTTL",
    "HVALS",
    "INCR",
    "INCRBY",
    "INCRBYFLOAT",
    "INFO",
    "KEYS",
    "LASTSAVE",
    "LATENCY",
    "LCS",
    "LINDEX",
    "LINSERT",
    "LLEN",
    "LMOVE",
    "LMPOP",
    "LOLWUT",
    "LPOP",
    "LPOS",
    "LPUSH",
    "LPUSHX",
    "LRANGE",
    "LREM",
    "LSET",
    "LTRIM",
    "MEMORY",
    "MGET",
    "MIGRATE",
    "MODULE",
    "MONITOR",
    "MOVE",
    "MSET",
    "MSETNX",
    "MULTI",
    "OBJECT",
    "PERSIST",
    "PEXPIRE",
    "PEXPIREAT",
    "PEXPIRETIME",
    "PFADD",
    "PFCOUNT",
    "PFDEBUG",
    "PFMERGE",
    "PFSELFTEST",
    "PING",
    "PSETEX",
    "PSUBSCRIBE",
    "PSYNC",
    "PTTL",
    "PUBLISH",
    "PUBSUB",
    "PUNSUBSCRIBE",
    "QUIT",
    "RANDOMKEY",
    "READONLY",
    "READWRITE",
    "RENAME",
    "RENAMENX",
    "REPLCONF",
    "REPLICAOF",
    "RESET",
    "RESTORE",
    "RESTORE-ASKING",
    "ROLE",
    "RPOP",
    "RPOPLPUSH",
    "RPUSH",
    "RPUSHX",
    "SADD",
    "SAVE",
    "SCAN",
    "SCARD",
    "SCRIPT",
    "SDIFF",
    "SDIFFSTORE",
    "SELECT",
    "SENTINEL",
    "SET",
    "SETBIT",
    "SETEX",
    "SETNX",
    "SETRANGE",
    "SHUTDOWN",
    "SINTER",
    "SINTERCARD",
    "SINTERSTORE",
    "SISMEMBER",
    "SLAVEOF",
    "SLOWLOG",
    "SMEMBERS",
    "SMISMEMBER",
    "SMOVE",
    "SORT",
    "SORT_RO",
    "SPOP",
    "SPUBLISH",
    "SRANDMEMBER",
    "SREM",
    "SSCAN",
    "SSUBSCRIBE",
    "STRLEN",
    "SUBSCRIBE",
    "SUBSTR",
    "SUNION",
    "SUNIONSTORE",
    "SUNSUBSCRIBE",
    "SWAPDB",
    "SYNC",
    "TIME",
    "TOUCH",
    "TTL",
    "TYPE",
    "UNLINK",
    "UNSUBSCRIBE",
    "UNWATCH",
    "WAIT",
    "WAITAOF",
    "WATCH",
    "XACK",
    "XADD",
    "XAUTOCLAIM",
    "XCLAIM",
    "XDEL",
    "XGROUP",
    "XINFO",
    "XLEN",
    "XPENDING",
    "XRANGE",
    "XREAD",
    "XREADGROUP",
    "XREVRANGE",
    "XSETID",
    "XTRIM",
    "ZADD",
    "ZCARD",
    "ZCOUNT",
    "ZDIFF",
    "ZDIFFSTORE",
    "ZINCRBY",
    "ZINTER",
    "ZINTERCARD",
    "ZINTERSTORE",
    "ZLEXCOUNT",
    "ZMPOP",
    "ZMSCORE",
    "ZPOPMAX",
    "ZPOPMIN",
    "ZRANDMEMBER",
    "ZRANGE",
    "ZRANGEBYLEX",
    "ZRANGEBYSCORE",
    "ZRANGESTORE",
    "ZRANK",
    "ZREM",
    "ZREMRANGEBYLEX",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE",
    "ZREVRANGE",
    "ZREVRANGEBYLEX",
    "ZREVRANGEBYSCORE",
    "ZREVRANK",
    "ZSCAN",
    "ZSCORE",
    "ZUNION",
    "ZUNIONSTORE",
];

/// The length of the longest name in [`REDIS_COMMANDS`].
const LONGEST_COMMAND: usize = longest(REDIS_COMMANDS);
/// The most bulk strings in the first array. Redis itself takes up to
/// 2^31 - 1 (and at most 10 before authentication when a password is set);
/// no client opens with a command of over a million arguments.
const MAX_ARRAY_COUNT: u64 = 1 << 20;
/// The longest command name accepted in a RESP array. Redis's own names
/// have at most 20 bytes; modules add dotted names such as `FT.AGGREGATE`.
const MAX_COMMAND_NAME_LENGTH: u64 = 64;
/// How far the matcher looks for the end of an inline line whose command is
/// also an HTTP method before giving up on it.
const INLINE_LINE_LIMIT: usize = 1024;

const fn longest(names: &[&str]) -> usize {
    let mut longest = 0;
    let mut index = 0;
    while index < names.len() {
        if names[index].len() > longest {
            longest = names[index].len();
        }
        index += 1;
    }
    longest
}

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
/// Anything else is read as an inline command: a name from
/// [`REDIS_COMMANDS`] (any case) followed by a space, CR LF or LF, decided
/// within 22 bytes. A name that is also an HTTP method waits for the end
/// of its line (within 1,024 bytes) and does not match when the line ends
/// with an HTTP version. See the module documentation on route order.
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
/// assert_eq!(redis().verdict(b"AUTH secret\r\n"), Verdict::Match);
/// assert_eq!(redis().verdict(b"ping\r\n"), Verdict::Match);
/// assert_eq!(redis().verdict(b"GET counter\r\n"), Verdict::Match);
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
        _ => seen
            .split(|&byte| matches!(byte, b' ' | b'\r' | b'\n'))
            .next()?,
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
    let word_end = seen
        .iter()
        .take(LONGEST_COMMAND + 1)
        .position(|&byte| matches!(byte, b' ' | b'\r' | b'\n'));
    let (word, rest) = seen.split_at(word_end.unwrap_or(seen.len()));
    let mut upper = [0u8; LONGEST_COMMAND];
    let Some(upper) = upper.get_mut(..word.len()) else {
        return Verdict::NoMatch;
    };
    for (upper, byte) in upper.iter_mut().zip(word) {
        *upper = byte.to_ascii_uppercase();
    }
    let first_not_below = REDIS_COMMANDS.partition_point(|name| name.as_bytes() < &*upper);
    let Some(&command) = REDIS_COMMANDS
        .get(first_not_below)
        .filter(|name| name.as_bytes().starts_with(upper))
    else {
        return Verdict::NoMatch;
    };
    match rest {
        [] => Verdict::NeedMore,
        _ if command.len() != word.len() => Verdict::NoMatch,
        [b'\n', ..] | [b'\r', b'\n', ..] => Verdict::Match,
        [b'\r'] => Verdict::NeedMore,
        [b'\r', ..] => Verdict::NoMatch,
        _ if HTTP_METHODS.contains(&command) => http_safe_line_verdict(seen),
        _ => Verdict::Match,
    }
}

/// Judges an inline line that could also be an HTTP request line: `Match`
/// once it ends without an HTTP version as its last word.
fn http_safe_line_verdict(seen: &[u8]) -> Verdict {
    match seen
        .iter()
        .take(INLINE_LINE_LIMIT)
        .position(|&byte| byte == b'\n')
    {
        None if seen.len() >= INLINE_LINE_LIMIT => Verdict::NoMatch,
        None => Verdict::NeedMore,
        Some(end) => {
            let line = seen.get(..end).unwrap_or(seen);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let last_word = line.rsplit(|&byte| byte == b' ').next().unwrap_or(line);
            Verdict::from_bool(!last_word.starts_with(b"HTTP/"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::check_monotone;
    use crate::matchers::testing::near_miss;
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    const REDIS_CLI_PING: &[u8] = include_bytes!("testdata/redis_cli_ping.bin");
    const REDIS_CLI_SET: &[u8] = include_bytes!("testdata/redis_cli_set.bin");

    /// Inline commands read naively: the whole line must be there.
    fn naive_inline(line: &[u8]) -> bool {
        let text = String::from_utf8_lossy(line).to_ascii_uppercase();
        let Some(text) = text.strip_suffix('\n') else {
            return false;
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        let name = text.split(' ').next().unwrap();
        REDIS_COMMANDS.contains(&name)
            && !(HTTP_METHODS.contains(&name)
                && text.rsplit(' ').next().unwrap().starts_with("HTTP/"))
    }

    #[test]
    fn command_table_is_sorted_upper_case_and_unique() {
        assert!(REDIS_COMMANDS
            .windows(2)
            .all(|pair| pair[0].as_bytes() < pair[1].as_bytes()));
        for name in REDIS_COMMANDS {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-'),
                "{name}"
            );
        }
        assert_eq!(LONGEST_COMMAND, "GEORADIUSBYMEMBER_RO".len());
        let overlapping: Vec<&str> = REDIS_COMMANDS
            .iter()
            .copied()
            .filter(|name| HTTP_METHODS.contains(name))
            .collect();
        assert_eq!(overlapping, ["ACL", "COPY", "GET", "MOVE", "UNLINK"]);
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

    #[test]
    fn inline_table() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"P", NeedMore),
            (b"PIN", NeedMore),
            (b"PING", NeedMore),
            (b"PING\r", NeedMore),
            (b"PING\r\n", Match),
            (b"PING\n", Match),
            (b"PING\rX", NoMatch),
            (b"PING hello\r\n", Match),
            (b"PING ", Match),
            (b"ping\r\n", Match),
            (b"PiNg\r\n", Match),
            (b"PINGX", NoMatch),
            (b"PIX", NoMatch),
            (b"PIN\r\n", NoMatch),
            (b"AUTH ", Match),
            (b"HELLO 3\r\n", Match),
            (b"GEORADIUSBYMEMBER_RO ", Match),
            (b"GEORADIUSBYMEMBER_RO_", NoMatch),
            (b" PING", NoMatch),
            (b"\r\n", NoMatch),
            (b"\x00", NoMatch),
            (b"\xff", NoMatch),
            (b"GET", NeedMore),
            (b"GET ", NeedMore),
            (b"GET counter", NeedMore),
            (b"GET counter\r", NeedMore),
            (b"GET counter\r\n", Match),
            (b"GET counter\n", Match),
            (b"GET\r\n", Match),
            (b"GET / HTTP/1.1\r\n", NoMatch),
            (b"GET / HTTP/1.0\n", NoMatch),
            (b"get / HTTP/1.1\r\n", NoMatch),
            (b"COPY /a HTTP/1.1\r\n", NoMatch),
            (b"UNLINK /a HTTP/1.1\r\n", NoMatch),
            (b"MOVE key 1\r\n", Match),
            (b"POST / HTTP/1.1\r\n", NoMatch),
            (b"PRI * HTTP/2.0\r\n", NoMatch),
            (b"SSH-2.0-OpenSSH", NoMatch),
            (b"\x16\x03\x01", NoMatch),
            (b"\x05\x01\x00", NoMatch),
        ];
        for (seen, want) in cases {
            assert_eq!(
                redis().verdict(seen),
                *want,
                "{:?}",
                String::from_utf8_lossy(seen)
            );
        }
    }

    #[test]
    fn inline_lines_that_could_be_http_are_bounded() {
        let mut line = b"GET ".to_vec();
        line.resize(INLINE_LINE_LIMIT - 1, b'k');
        assert_eq!(redis().verdict(&line), NeedMore);
        let mut ended = line.clone();
        ended.push(b'\n');
        assert_eq!(redis().verdict(&ended), Match);
        line.push(b'k');
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
        assert_eq!(redis_command(b"GET / HTTP/1.1\r\n"), None);
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

    fn inline_command() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(REDIS_COMMANDS),
            any::<bool>(),
            "( [a-z0-9/:]{1,12}){0,3}",
            prop::sample::select(vec!["\r\n", "\n"]),
        )
            .prop_map(|(name, lower, arguments, end)| {
                let name = if lower {
                    name.to_ascii_lowercase()
                } else {
                    name.to_string()
                };
                format!("{name}{arguments}{end}").into_bytes()
            })
    }

    proptest! {
        #[test]
        fn monotone_near_commands(data in near_miss(prop_oneof![resp_command(), inline_command()])) {
            check_monotone(0, &redis(), &data);
            let _ = redis_command(&data);
        }

        #[test]
        fn resp_commands_match(command in resp_command()) {
            prop_assert_eq!(redis().verdict(&command), Match);
            prop_assert!(redis_command(&command).is_some());
        }

        #[test]
        fn inline_commands_agree_with_naive(command in inline_command()) {
            prop_assert_eq!(redis().verdict(&command), Match);
            prop_assert!(naive_inline(&command));
            let http = [&command[..command.len() - 1], b" HTTP/1.1\n"].concat();
            prop_assert_eq!(redis().verdict(&http) == Match, naive_inline(&http));
        }

        #[test]
        fn decides_within_the_line_limit(
            opening in prop_oneof![resp_command(), inline_command()],
            filler in prop::collection::vec(prop::sample::select(&b" \r\n*$09AGETget"[..]), 0..INLINE_LINE_LIMIT),
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
