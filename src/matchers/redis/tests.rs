//! Tests of the Redis matcher: RESP and inline commands, the redis-cli
//! captures, and properties against Redis's own line splitting ported as
//! a naive equivalent.

use super::*;
use crate::conformance::Conformance;
use crate::matchers::testing::near_miss;
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

const REDIS_CLI_PING: &[u8] = include_bytes!("../../../tests/fixtures/redis-cli-ping.bin");
const REDIS_CLI_SET: &[u8] = include_bytes!("../../../tests/fixtures/manual/redis-cli-set.bin");

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
        Conformance::new(&redis()).assert(&data);
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
