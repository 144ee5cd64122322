//! Tests of the syslog matcher: `logger`'s messages in both formats and
//! framings, each limit byte by byte, and properties against a naive
//! reading of the grammar.

use super::*;
use crate::conformance::Conformance;
use crate::matchers::testing::{assert_decides_at_last_byte, assert_settles, near_miss};
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

/// What `logger --tcp -n 127.0.0.1 -P PORT --rfc5424 hello` sent (util-linux
/// 2.38.1, Debian 12): non-transparent framing.
const LOGGER_RFC5424: &[u8] = b"<13>1 2026-12-06T13:11:45.193230+00:00 vm root - - \
[timeQuality tzKnown=\"1\" isSynced=\"0\"] hello\n";
/// `logger --tcp ... --rfc3164 hello` (util-linux 2.38.1).
const LOGGER_RFC3164: &[u8] = b"<13>Dec  6 13:11:45 vm root: hello\n";
/// `logger --tcp ... --octet-count --rfc5424 -t myapp -p local3.warning
/// hello` (util-linux 2.38.1): octet counting, no line feed.
const LOGGER_RFC5424_COUNTED: &[u8] = b"97 <156>1 2026-12-06T13:11:46.228654+00:00 vm myapp - - \
[timeQuality tzKnown=\"1\" isSynced=\"0\"] hello";
/// `logger --tcp ... --octet-count --rfc3164 hello` (util-linux 2.38.1).
const LOGGER_RFC3164_COUNTED: &[u8] = b"34 <13>Dec  6 13:11:46 vm root: hello";

/// The most bytes the matcher reads before it decides.
const MAX_OPENING_LENGTH: usize = 31;

/// Whether some prefix of `seen` is a whole opening, read naively off the
/// grammar in [`syslog`]'s documentation with string parsing.
fn naive_match(seen: &[u8]) -> bool {
    let text = String::from_utf8_lossy(seen);
    let (message, frame_length) = match text.split_once(' ') {
        Some((count, message))
            if !count.starts_with('0')
                && (1..=MAX_MSG_LEN_DIGITS).contains(&count.len())
                && count.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (message, count.parse::<usize>().unwrap())
        }
        _ if text.starts_with('<') => (&text[..], usize::MAX),
        _ => return false,
    };
    let Some((pri, after)) = message.strip_prefix('<').and_then(|m| m.split_once('>')) else {
        return false;
    };
    let pri_ok = (pri == "0" || !pri.starts_with('0'))
        && (1..=3).contains(&pri.len())
        && pri.bytes().all(|b| b.is_ascii_digit())
        && pri.parse::<u32>().unwrap() <= 191;
    let opening = if after.starts_with("1 ") {
        pri.len() + 4
    } else if after.get(..16).is_some_and(is_rfc3164_timestamp) {
        pri.len() + 18
    } else {
        return false;
    };
    pri_ok && opening <= frame_length
}

/// `Mmm dd hh:mm:ss ` as RFC 3164 writes it, the day padded with a space
/// or a zero.
fn is_rfc3164_timestamp(timestamp: &str) -> bool {
    let number = |field: &str, range: std::ops::RangeInclusive<u32>| {
        field.bytes().all(|b| b.is_ascii_digit())
            && field.parse::<u32>().is_ok_and(|n| range.contains(&n))
    };
    let months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";
    timestamp.is_ascii()
        && months.split(' ').any(|month| timestamp.starts_with(month))
        && number(
            timestamp[4..6]
                .strip_prefix(' ')
                .unwrap_or(&timestamp[4..6]),
            1..=31,
        )
        && number(&timestamp[7..9], 0..=23)
        && number(&timestamp[10..12], 0..=59)
        && number(&timestamp[13..15], 0..=59)
        && [(3, ' '), (6, ' '), (9, ':'), (12, ':'), (15, ' ')]
            .iter()
            .all(|&(at, separator)| timestamp[at..].starts_with(separator))
}

#[test]
fn logger_captures() {
    let cases = [
        (
            LOGGER_RFC5424,
            6,
            None,
            SyslogFormat::Rfc5424,
            (1, 5),
            "root",
        ),
        (
            LOGGER_RFC3164,
            20,
            None,
            SyslogFormat::Rfc3164,
            (1, 5),
            "root",
        ),
        (
            LOGGER_RFC5424_COUNTED,
            10,
            Some(97),
            SyslogFormat::Rfc5424,
            (19, 4),
            "myapp",
        ),
        (
            LOGGER_RFC3164_COUNTED,
            23,
            Some(34),
            SyslogFormat::Rfc3164,
            (1, 5),
            "root",
        ),
    ];
    for (capture, decided_at, count, format, (facility, severity), app_name) in cases {
        assert_eq!(syslog().verdict(capture), Match);
        assert_decides_at_last_byte(&syslog(), &capture[..decided_at], Match);
        let framing = match count {
            Some(length) => SyslogFraming::OctetCounted { length },
            None => SyslogFraming::NonTransparent,
        };
        if let Some(length) = count {
            let count_length = length.to_string().len() + 1;
            assert_eq!(capture.len() - count_length, length as usize);
        }
        assert_eq!(
            syslog_message(capture),
            Some(SyslogMessage {
                framing,
                format,
                facility,
                severity,
                hostname: Some("vm"),
                app_name: Some(app_name),
            })
        );
        assert_settles(capture, syslog_message);
    }
}

#[test]
fn decides_at_the_first_byte_that_tells() {
    let cases: &[(&[u8], Verdict)] = &[
        // RFC 5424: PRI, VERSION 1 and its space.
        (b"<13>1 ", Match),
        (b"<0>1 ", Match),
        (b"<7>1 ", Match),
        (b"<10>1 ", Match),
        (b"<191>1 ", Match),
        (b"<100>1 ", Match),
        // RFC 3164: PRI and a timestamp, day padded either way.
        (b"<13>Dec  6 13:11:45 ", Match),
        (b"<13>Dec 06 13:11:45 ", Match),
        (b"<0>Jan  1 00:00:00 ", Match),
        (b"<191>Dec 31 23:59:59 ", Match),
        (b"<13>Feb 29 12:30:00 ", Match),
        (b"<13>Sep 30 09:05:59 ", Match),
        // Octet counting, the frame just long enough.
        (b"6 <13>1 ", Match),
        (b"20 <13>Dec  6 13:11:45 ", Match),
        (b"999999999 <191>1 ", Match),
        // The first byte.
        (b"0", NoMatch),
        (b"a", NoMatch),
        (b" ", NoMatch),
        (b"\n", NoMatch),
        (b"\x16", NoMatch),
        // PRI.
        (b"<>", NoMatch),
        (b"<a", NoMatch),
        (b"< ", NoMatch),
        (b"<00", NoMatch),
        (b"<01", NoMatch),
        (b"<192", NoMatch),
        (b"<200", NoMatch),
        (b"<1910", NoMatch),
        (b"<1000", NoMatch),
        (b"<13<", NoMatch),
        // After PRI: VERSION 1 or a month.
        (b"<13> ", NoMatch),
        (b"<13>0", NoMatch),
        (b"<13>2", NoMatch),
        (b"<13>10", NoMatch),
        (b"<13>1-", NoMatch),
        (b"<13>x", NoMatch),
        (b"<13>d", NoMatch),
        (b"<13>Jux", NoMatch),
        (b"<13>DE", NoMatch),
        (b"<13>Dec-", NoMatch),
        // The day: 1 to 31, space- or zero-padded.
        (b"<13>Dec 4", NoMatch),
        (b"<13>Dec  0", NoMatch),
        (b"<13>Dec 00", NoMatch),
        (b"<13>Dec 32", NoMatch),
        (b"<13>Dec 0 ", NoMatch),
        (b"<13>Dec 1 ", NoMatch),
        (b"<13>Dec  6-", NoMatch),
        // The time of day.
        (b"<13>Dec  6 3", NoMatch),
        (b"<13>Dec  6 24", NoMatch),
        (b"<13>Dec  6  ", NoMatch),
        (b"<13>Dec  6 13.", NoMatch),
        (b"<13>Dec  6 13:6", NoMatch),
        (b"<13>Dec  6 13:5a", NoMatch),
        (b"<13>Dec  6 13:11:6", NoMatch),
        (b"<13>Dec  6 13:11:45.", NoMatch),
        (b"<13>Dec  6 13:11:45\n", NoMatch),
        // MSG-LEN: no leading zero, at most 9 digits, then one space.
        (b"1234567890", NoMatch),
        (b"12x", NoMatch),
        (b"12\t", NoMatch),
        (b"12  ", NoMatch),
        (b"12 x", NoMatch),
        // A frame too short for the opening.
        (b"1 <", NoMatch),
        (b"5 <13>1", NoMatch),
        (b"19 <13>Dec  6 13:11:45", NoMatch),
        // Other protocols.
        (b"<?", NoMatch),
        (b"<s", NoMatch),
        (b"G", NoMatch),
        (b"S", NoMatch),
    ];
    for &(seen, want) in cases {
        assert_decides_at_last_byte(&syslog(), seen, want);
        assert_eq!(naive_match(seen), want == Match, "naive {seen:?}");
    }
}

#[test]
fn other_protocols_do_not_match() {
    for seen in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"SSH-2.0-OpenSSH_9.2p1\r\n",
        b"<?xml version='1.0'?><stream:stream",
        b"<stream:stream to='example.com'>",
        b"<html>",
        b"PING\r\n",
        b"*1\r\n$4\r\nPING\r\n",
        b"\x00\x1d\xca\xd6\x01\x20",
        b"12 hello world",
        b"2024 was a good year\n",
    ] {
        assert_eq!(syslog().verdict(seen), NoMatch, "{seen:?}");
    }
}

#[test]
fn counts_and_priorities_at_their_limits() {
    let mut longest = b"999999999 <191>Dec 31 23:59:59 ".to_vec();
    assert_eq!(longest.len(), MAX_OPENING_LENGTH);
    assert_decides_at_last_byte(&syslog(), &longest, Match);
    longest.insert(0, b'1');
    assert_decides_at_last_byte(&syslog(), &longest[..10], NoMatch);
    for (prival, facility, severity) in [(0, 0, 0), (7, 0, 7), (8, 1, 0), (191, 23, 7)] {
        let seen = format!("<{prival}>1 - host app - - -");
        let message = syslog_message(seen.as_bytes()).unwrap();
        assert_eq!((message.facility, message.severity), (facility, severity));
    }
}

#[test]
fn header_fields() {
    /// HOSTNAME and APP-NAME, if the header has arrived.
    type Names<'a> = Option<(Option<&'a str>, Option<&'a str>)>;
    fn fields(seen: &[u8]) -> Names<'_> {
        syslog_message(seen).map(|m| (m.hostname, m.app_name))
    }
    let host_255 = "h".repeat(MAX_HOSTNAME_LENGTH);
    let host_256 = "h".repeat(MAX_HOSTNAME_LENGTH + 1);
    let app_48 = "a".repeat(MAX_APP_NAME_LENGTH);
    let app_49 = "a".repeat(MAX_APP_NAME_LENGTH + 1);
    let host_255_message = format!("<13>1 - {host_255} app - - -");
    let host_256_message = format!("<13>1 - {host_256} app - - -");
    let app_48_message = format!("<13>1 - vm {app_48} - - -");
    let app_49_message = format!("<13>1 - vm {app_49} - - -");
    let tag_48_message = format!("<13>Dec  6 13:11:45 vm {app_48}: hello\n");
    let tag_49_message = format!("<13>Dec  6 13:11:45 vm {app_49}: hello\n");
    let cases: &[(&[u8], Names)] = &[
        // RFC 5424: up to the space after APP-NAME; "-" is none.
        (b"<13>1 - vm app ", Some((Some("vm"), Some("app")))),
        (b"<13>1 - - - - - -", Some((None, None))),
        (
            b"<13>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - hi",
            Some((Some("mymachine.example.com"), Some("su"))),
        ),
        (b"<13>1 - vm app", None),
        (b"<13>1 - vm  app ", None),
        (b"<13>1 - v\x01m app ", None),
        (b"<13>1 - v\xc3\xa9 app ", None),
        (
            b"<13>1 2003-10-11T22:14:15.003Z-and-then-more-text vm app ",
            None,
        ),
        (
            host_255_message.as_bytes(),
            Some((Some(host_255.as_str()), Some("app"))),
        ),
        (host_256_message.as_bytes(), None),
        (
            app_48_message.as_bytes(),
            Some((Some("vm"), Some(app_48.as_str()))),
        ),
        (app_49_message.as_bytes(), None),
        // A frame too short for the header.
        (b"12 <13>1 - vm app - - -", None),
        (b"15 <13>1 - vm app - - -", Some((Some("vm"), Some("app")))),
        // RFC 3164: HOSTNAME, then a TAG ended by ":" or "[".
        (
            b"<13>Dec  6 13:11:45 vm root: hello\n",
            Some((Some("vm"), Some("root"))),
        ),
        (
            b"<86>Dec  6 13:11:45 vm sshd[1234]: Accepted",
            Some((Some("vm"), Some("sshd"))),
        ),
        (
            b"<13>Dec  6 13:11:45 vm postfix/smtpd[7]: x",
            Some((Some("vm"), Some("postfix/smtpd"))),
        ),
        (
            b"<13>Dec  6 13:11:45 10.0.0.1 kernel: x",
            Some((Some("10.0.0.1"), Some("kernel"))),
        ),
        // No HOSTNAME: the first word is the tag.
        (
            b"<13>Dec  6 13:11:45 root: hello\n",
            Some((None, Some("root"))),
        ),
        (
            b"<13>Dec  6 13:11:45 cron[12]: x",
            Some((None, Some("cron"))),
        ),
        // No TAG: the second word is text.
        (
            b"<13>Dec  6 13:11:45 vm hello world\n",
            Some((Some("vm"), None)),
        ),
        (
            b"<13>Dec  6 13:11:45 vm h\xc3\xa9llo\n",
            Some((Some("vm"), None)),
        ),
        (b"<13>Dec  6 13:11:45 vm :x ", Some((Some("vm"), None))),
        (b"<13>Dec  6 13:11:45 vm hello", None),
        // The message ends before a HOSTNAME ends.
        (b"<13>Dec  6 13:11:45 vm\n", Some((None, None))),
        (b"<13>Dec  6 13:11:45 \n", Some((None, None))),
        (b"22 <13>Dec  6 13:11:45 vm", Some((None, None))),
        (b"25 <13>Dec  6 13:11:45 vm ab", Some((Some("vm"), None))),
        (
            b"25 <13>Dec  6 13:11:45 vm a:",
            Some((Some("vm"), Some("a"))),
        ),
        (b"<13>Dec  6 13:11:45 vm", None),
        (b"<13>Dec  6 13:11:45  root: x", None),
        (b"<13>Dec  6 13:11:45 v\xc3\xa9 root: x", None),
        (b"<13>Dec  6 13:11:45 vm\troot: x", None),
        (
            tag_48_message.as_bytes(),
            Some((Some("vm"), Some(app_48.as_str()))),
        ),
        (tag_49_message.as_bytes(), Some((Some("vm"), None))),
        // Not syslog.
        (b"<13>", None),
        (b"hello", None),
    ];
    for &(seen, want) in cases {
        assert_eq!(fields(seen), want, "{:?}", String::from_utf8_lossy(seen));
        assert_settles(seen, syslog_message);
    }
    let mut long_host = b"<13>Dec  6 13:11:45 ".to_vec();
    long_host.extend(host_255.as_bytes());
    assert_eq!(syslog_message(&long_host), None);
    long_host.push(b'h');
    assert_eq!(syslog_message(&long_host), None);
    long_host.extend(b" root: x");
    assert_eq!(syslog_message(&long_host), None);
}

/// A message as a sender writes it: either format, either framing, with
/// text after the header.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let rfc5424 = (
        0u32..=191,
        prop_oneof![
            Just("-".to_string()),
            "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-2][0-9]:[0-5][0-9])",
        ],
        "[!-,.-~][!-~]{0,19}",
        "[!-,.-~][!-~]{0,19}",
        "[ -~]{0,40}",
    )
        .prop_map(|(prival, timestamp, hostname, app_name, rest)| {
            format!("<{prival}>1 {timestamp} {hostname} {app_name} - - - {rest}")
        });
    let rfc3164 = (
        0u32..=191,
        prop::sample::select(&MONTHS[..]),
        1u32..=31,
        any::<bool>(),
        (0u32..24, 0u32..60, 0u32..60),
        "[a-z0-9.-]{1,20}",
        "[a-zA-Z0-9_/.-]{1,20}(\\[[0-9]{1,6}\\])?:",
        "[ -~]{0,40}",
    )
        .prop_map(
            |(prival, month, day, zero_padded, (h, m, s), hostname, tag, rest)| {
                let month = String::from_utf8_lossy(month);
                let day = if zero_padded {
                    format!("{day:02}")
                } else {
                    format!("{day:>2}")
                };
                format!("<{prival}>{month} {day} {h:02}:{m:02}:{s:02} {hostname} {tag} {rest}")
            },
        );
    (prop_oneof![rfc5424, rfc3164], any::<bool>()).prop_map(|(message, counted)| {
        if counted {
            format!("{} {message}", message.len()).into_bytes()
        } else {
            format!("{message}\n").into_bytes()
        }
    })
}

proptest! {
    #[test]
    fn messages_match_with_their_fields(data in message()) {
        prop_assert_eq!(syslog().verdict(&data), Match);
        prop_assert!(naive_match(&data));
        let message = syslog_message(&data).unwrap();
        prop_assert!(message.hostname.is_some() && message.app_name.is_some());
        assert_settles(&data, syslog_message);
    }

    #[test]
    fn monotone_and_naive_near_messages(data in near_miss(message())) {
        Conformance::new(&syslog()).assert(&data);
        prop_assert_eq!(syslog().verdict(&data) == Match, naive_match(&data));
        if syslog_message(&data).is_some() {
            prop_assert_eq!(syslog().verdict(&data), Match);
        }
        assert_settles(&data, syslog_message);
    }

    #[test]
    fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
        Conformance::new(&syslog()).assert(&data);
        prop_assert_eq!(syslog().verdict(&data) == Match, naive_match(&data));
        let _ = syslog_message(&data);
    }

    #[test]
    fn chunk_invariant(
        data in prop_oneof![message(), near_miss(message())],
        chunk_sizes in prop::collection::vec(1usize..=256, 1..8),
    ) {
        Conformance::new(&syslog()).assert_chunking(&data, &chunk_sizes);
    }

    #[test]
    fn decides_within_its_longest_opening(
        opening in prop_oneof![message(), near_miss(message())],
        filler in prop::collection::vec(any::<u8>(), MAX_OPENING_LENGTH),
    ) {
        let data = [&opening[..], &filler].concat();
        Conformance::new(&syslog()).bound(MAX_OPENING_LENGTH).fuzz(&data);
        prop_assert_ne!(syslog().verdict(&filler), NeedMore);
    }
}
