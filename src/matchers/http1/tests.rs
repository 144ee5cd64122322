//! Tests of the HTTP/1 matchers: request lines, header fields, the Host
//! header, WebSocket upgrades, the head bounds, and properties against a
//! naive request-line parser.

use super::*;
use crate::conformance::Conformance;
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

#[test]
fn every_method_matches_with_a_space() {
    for method in HTTP_METHODS {
        let line = format!("{method} / HTTP/1.1\r\n");
        assert_eq!(http1_fast().verdict(line.as_bytes()), Match, "{method}");
        assert_eq!(
            http1_fast().verdict(method.as_bytes()),
            NeedMore,
            "{method}"
        );
    }
}

#[test]
fn decides_at_first_impossible_byte() {
    let cases: &[(&[u8], Verdict)] = &[
        (b"", NeedMore),
        (b"G", NeedMore),
        (b"GET", NeedMore),
        (b"GET /", Match),
        (b"GETS", NoMatch),
        (b"get /", NoMatch),
        (b"PRI * HTTP/2.0", NoMatch),
        (b"\x16\x03\x01", NoMatch),
        (b"SSH-2.0-", NoMatch),
        (b"M", NeedMore),
        (b"MK", NeedMore),
        (b"MKCOL ", Match),
        (b"Z", NoMatch),
    ];
    for (seen, want) in cases {
        assert_eq!(http1_fast().verdict(seen), *want, "{seen:?}");
    }
}

// Requests recorded by a Python socket on 127.0.0.1 from curl 7.88.1
// and Python 3.11, byte for byte.

/// `curl -s http://127.0.0.1:46573/path -H 'X-Test: yes'`
const CURL_GET: &[u8] = b"GET /path HTTP/1.1\r\nHost: 127.0.0.1:46573\r\n\
    User-Agent: curl/7.88.1\r\nAccept: */*\r\nX-Test: yes\r\n\r\n";
/// `curl -s -H 'Connection: Upgrade' -H 'Upgrade: websocket'
/// -H 'Sec-WebSocket-Version: 13'
/// -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' http://127.0.0.1:46573/chat`
const CURL_WEBSOCKET: &[u8] = b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:46573\r\n\
    User-Agent: curl/7.88.1\r\nAccept: */*\r\nConnection: Upgrade\r\n\
    Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
/// `curl -s -0 http://127.0.0.1:33519/old`
const CURL_HTTP10: &[u8] = b"GET /old HTTP/1.0\r\nHost: 127.0.0.1:33519\r\n\
    User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
/// `curl -s -x http://127.0.0.1:33519 http://www.w3.org/`
const CURL_PROXY: &[u8] = b"GET http://www.w3.org/ HTTP/1.1\r\nHost: www.w3.org\r\n\
    User-Agent: curl/7.88.1\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n";
/// `curl -s -p -x http://127.0.0.1:33519 https://example.com/`
const CURL_CONNECT: &[u8] = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
    User-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n";
/// `urllib.request.urlopen('http://127.0.0.1:33519/q?a=1&b=%20')`
const PYTHON_URLLIB: &[u8] = b"GET /q?a=1&b=%20 HTTP/1.1\r\nAccept-Encoding: identity\r\n\
    Host: 127.0.0.1:33519\r\nUser-Agent: Python-urllib/3.11\r\nConnection: close\r\n\r\n";

const CAPTURES: &[&[u8]] = &[
    CURL_GET,
    CURL_WEBSOCKET,
    CURL_HTTP10,
    CURL_PROXY,
    CURL_CONNECT,
    PYTHON_URLLIB,
];

/// Asserts that `matcher` says `NeedMore` on every strict prefix of
/// `input` and `want` on all of it: it decides at the last byte.
fn assert_decided_at_last_byte(matcher: &dyn Matcher, input: &[u8], want: Verdict) {
    for end in 0..input.len() {
        assert_eq!(
            matcher.verdict(&input[..end]),
            NeedMore,
            "{} of \"{}\"",
            end,
            input.escape_ascii()
        );
    }
    assert_eq!(matcher.verdict(input), want, "\"{}\"", input.escape_ascii());
}

/// The request line grammar read naively on a whole first line: `None`
/// while no LF has arrived.
fn naive_request_line(seen: &[u8]) -> Option<bool> {
    let end = seen.iter().position(|&b| b == b'\n')?;
    let line = seen[..end].strip_suffix(b"\r").unwrap_or(&seen[..end]);
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let [method, target, version] = words[..] else {
        return Some(false);
    };
    let token = !method.is_empty()
        && method
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let target_form = target == b"*"
        || target.starts_with(b"/")
        || target
            .first()
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'[')
            && target.contains(&b':');
    let target_ok = target_form && target.iter().all(u8::is_ascii_graphic);
    let version_ok =
        version.len() == 8 && version.starts_with(b"HTTP/1.") && version[7].is_ascii_digit();
    Some(token && target_ok && version_ok && end < MAX_REQUEST_LINE_BYTES)
}

#[test]
fn request_line_decides_at_its_end_or_first_bad_byte() {
    let cases: &[(&[u8], Verdict)] = &[
        (b"GET / HTTP/1.1\r\n", Match),
        (b"GET /path?q=1&r=%20 HTTP/1.1\n", Match),
        (b"GET /old HTTP/1.0\r\n", Match),
        (b"GET / HTTP/1.9\n", Match),
        (b"GET http://www.w3.org/ HTTP/1.1\r\n", Match),
        (b"CONNECT example.com:443 HTTP/1.1\r\n", Match),
        (b"CONNECT 127.0.0.1:8080 HTTP/1.1\r\n", Match),
        (b"CONNECT [2001:db8::1]:443 HTTP/1.1\r\n", Match),
        (b"OPTIONS * HTTP/1.1\r\n", Match),
        (b"M-SEARCH * HTTP/1.1\r\n", Match),
        (b"PURGE /cache HTTP/1.1\r\n", Match),
        // Methods are case-sensitive, but any token is one.
        (b"get / HTTP/1.1\r\n", Match),
        (b"\x16", NoMatch),
        (b" ", NoMatch),
        // RFC 9112 section 2.2 lets a server skip empty lines before a
        // request line; at the start of a connection there are none.
        (b"\r", NoMatch),
        (b"\n", NoMatch),
        (b"GET\t", NoMatch),
        (b"GET  ", NoMatch),
        (b"GET /a\x00", NoMatch),
        (b"GET /a\t", NoMatch),
        (b"GET /\x7f", NoMatch),
        (b"GET /caf\xc3", NoMatch),
        (b"GET *x", NoMatch),
        (b"GET %", NoMatch),
        (b"GET ?", NoMatch),
        (b"GET www.example.com ", NoMatch),
        (b"GET / h", NoMatch),
        (b"GET / HTTP/2", NoMatch),
        (b"PRI * HTTP/2", NoMatch),
        (b"GET / HTTP/1.x", NoMatch),
        (b"GET / HTTP/1.1 ", NoMatch),
        (b"GET / HTTP/1.10", NoMatch),
        (b"GET / HTTP/1.1\x00", NoMatch),
        (b"GET / HTTP/1.1\r\r", NoMatch),
        (b"GET / HTTP/1.1\rx", NoMatch),
        (b"SSH-2.0-OpenSSH_9.2\r", NoMatch),
    ];
    for &(input, want) in cases {
        assert_decided_at_last_byte(&http1(), input, want);
        if input.ends_with(b"\n") {
            assert_eq!(naive_request_line(input), Some(want == Match));
        }
    }
    for capture in CAPTURES {
        let line_end = capture.iter().position(|&b| b == b'\n').unwrap();
        assert_decided_at_last_byte(&http1(), &capture[..=line_end], Match);
        assert_eq!(http1().verdict(capture), Match);
    }
}

#[test]
fn request_line_is_bounded() {
    let line = |length: usize| {
        let mut line = b"GET /".to_vec();
        line.resize(length - b" HTTP/1.1\r\n".len(), b'a');
        line.extend(b" HTTP/1.1\r\n");
        line
    };
    let longest = line(MAX_REQUEST_LINE_BYTES);
    assert_eq!(
        http1().verdict(&longest[..MAX_REQUEST_LINE_BYTES - 1]),
        NeedMore
    );
    assert_eq!(http1().verdict(&longest), Match);
    let too_long = line(MAX_REQUEST_LINE_BYTES + 1);
    assert_eq!(
        http1().verdict(&too_long[..MAX_REQUEST_LINE_BYTES - 1]),
        NeedMore
    );
    assert_eq!(
        http1().verdict(&too_long[..MAX_REQUEST_LINE_BYTES]),
        NoMatch
    );
    assert_eq!(http1().verdict(&too_long), NoMatch);
    // The head bound of the other matchers does not lift the line's.
    let roomy = http1_header("X-Test", "yes").max_head_bytes(4 * MAX_REQUEST_LINE_BYTES);
    assert_eq!(roomy.verdict(&too_long), NoMatch);
    let mut fits = longest.clone();
    fits.extend(b"X-Test: yes\r\n\r\n");
    assert_eq!(roomy.verdict(&fits), Match);
}

#[test]
fn header_field_decides_once_the_first_with_its_name_is_complete() {
    let x_test = http1_header("X-Test", "yes");
    let cases: &[(&[u8], Verdict)] = &[
        (b"GET / HTTP/1.1\r\nX-Test: yes\r\n\r", Match),
        (b"GET / HTTP/1.1\r\nx-tEST:yes\r\nA", Match),
        (b"GET / HTTP/1.1\r\nX-Test: \t yes \t\r\n\r", Match),
        (b"GET / HTTP/1.1\nHost: a\nX-Test: yes\n\n", Match),
        (b"HEAD / HTTP/1.0\r\nX-Test: yes\r\nX", Match),
        (
            b"GET / HTTP/1.1\r\nA: \xff\x80 b\r\nX-Test: yes\r\n\r",
            Match,
        ),
        (b"GET / HTTP/1.1\r\nX-Test: yes\r\nX", Match),
        (b"GET / HTTP/1.1\r\nX-Test: no\r\nX", NoMatch),
        (b"GET / HTTP/1.1\r\nX-Test: yess\r\n\r", NoMatch),
        (b"GET / HTTP/1.1\r\nX-Test: ye\r\n\r", NoMatch),
        (b"GET / HTTP/1.1\r\nX-Test: YES\r\n\r", NoMatch),
        (b"GET / HTTP/1.1\r\nX-Test: y es\r\n\r", NoMatch),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", NoMatch),
        (b"GET / HTTP/1.1\n\n", NoMatch),
        // obs-fold, of the field itself or of an earlier one, and
        // whitespace before the first field.
        (b"GET / HTTP/1.1\r\nX-Test: yes\r\n ", NoMatch),
        (b"GET / HTTP/1.1\r\nA: b\r\n\t", NoMatch),
        (b"GET / HTTP/1.1\r\n ", NoMatch),
        (b"GET / HTTP/1.1\r\nX-\x00", NoMatch),
        (b"GET / HTTP/1.1\r\nA: b\x00", NoMatch),
        (b"GET / HTTP/1.1\r\nA: b\x7f", NoMatch),
        (b"GET / HTTP/1.1\r\nA: b\rc", NoMatch),
        (b"GET / HTTP/1.1\r\nX-Test ", NoMatch),
        (b"GET / HTTP/1.1\r\n:", NoMatch),
        (b"GET / HTTP/1.1\r\nX-Test\r", NoMatch),
        (b"GET / HTTP/1.1\r\n\r\r", NoMatch),
        (b"GET / HTTP/2", NoMatch),
        (b"\x16", NoMatch),
    ];
    for &(input, want) in cases {
        assert_decided_at_last_byte(&x_test, input, want);
    }
    assert_eq!(x_test.verdict(CURL_GET), Match);
    assert_eq!(x_test.verdict(CURL_WEBSOCKET), NoMatch);
    let curl = http1_header("user-agent", "curl/7.88.1");
    for capture in &CAPTURES[..5] {
        assert_eq!(curl.verdict(capture), Match);
    }
    assert_eq!(curl.verdict(PYTHON_URLLIB), NoMatch);
    assert_eq!(
        http1_header("Host", "www.w3.org").verdict(CURL_PROXY),
        Match
    );
    let empty = http1_header("X-Test", "");
    assert_eq!(empty.verdict(b"GET / HTTP/1.1\r\nX-Test: \t\r\n\r"), Match);
    assert_eq!(empty.verdict(b"GET / HTTP/1.1\r\nX-Test: a\r\n\r"), NoMatch);
}

#[test]
fn host_decides_at_the_end_of_the_head_or_at_a_second_host() {
    let host = http1_header("Host", "a");
    let cases: &[(&[u8], Verdict)] = &[
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Match),
        (b"GET / HTTP/1.1\nHost: a\nAccept: */*\n\n", Match),
        (b"GET / HTTP/1.1\r\nX: y\r\nhOST:a\r\nZ: z\r\n\r\n", Match),
        // The first Host decides a different value at once.
        (b"GET / HTTP/1.1\r\nHost: b\r\nH", NoMatch),
        // RFC 9112 section 3.2: two Host field lines make the request
        // invalid (a server answers 400), whatever the second says.
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r", NoMatch),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r", NoMatch),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nHOST: c\r\n\r",
            NoMatch,
        ),
        (b"GET / HTTP/1.1\r\nHost: a\r\nA\x00", NoMatch),
        (b"GET / HTTP/1.1\r\nHost: a\r\n ", NoMatch),
    ];
    for &(input, want) in cases {
        assert_decided_at_last_byte(&host, input, want);
    }
    let wrong_then_right = b"GET / HTTP/1.1\r\nHost: b\r\nHost: a\r\n\r\n";
    assert_eq!(host.verdict(wrong_then_right), NoMatch);
    let prefix = http1_header_prefix("host", "127.0.0.1:");
    assert_eq!(prefix.verdict(CURL_GET), Match);
    let repeated = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nHost: 127.0.0.1:1\r\n\r\n";
    assert_eq!(prefix.verdict(repeated), NoMatch);
    // Other fields may repeat: the first decides, as before.
    let x_test = http1_header("X-Test", "yes");
    let two = b"GET / HTTP/1.1\r\nX-Test: yes\r\nX-Test: no\r\n\r\n";
    assert_eq!(x_test.verdict(two), Match);
}

#[test]
fn header_prefix_compares_the_start_of_the_value() {
    let grpc = http1_header_prefix("Content-Type", "application/grpc");
    let cases: &[(&[u8], Verdict)] = &[
        (
            b"POST / HTTP/1.1\r\ncontent-type: application/grpc+proto\r\n\r",
            Match,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Type:application/grpc \r\n\r",
            Match,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n\r",
            NoMatch,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Type: application/grp\r\n\r",
            NoMatch,
        ),
        (b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", NoMatch),
    ];
    for &(input, want) in cases {
        assert_decided_at_last_byte(&grpc, input, want);
    }
    let present = http1_header_prefix("X-Test", "");
    assert_eq!(present.verdict(b"GET / HTTP/1.1\r\nX-Test:\r\n\r"), Match);
    assert_eq!(present.verdict(CURL_GET), Match);
    assert_eq!(present.verdict(CURL_HTTP10), NoMatch);
}

#[test]
fn head_is_bounded() {
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    while head.len() < 2 * DEFAULT_MAX_HEAD_BYTES {
        head.extend(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let cut = DEFAULT_MAX_HEAD_BYTES;
    for matcher in [
        &http1_header("X-Test", "yes") as &dyn Matcher,
        &http1_header_prefix("X-Test", ""),
        &websocket(),
    ] {
        assert_eq!(matcher.verdict(&head[..cut - 1]), NeedMore);
        assert_eq!(matcher.verdict(&head[..cut]), NoMatch);
        assert_eq!(matcher.verdict(&head), NoMatch);
    }
    assert_eq!(http1_request(&head).unwrap().host, None);

    // The field is complete (the next line's first byte has arrived)
    // exactly at the bound, or one byte past it.
    let request = b"GET / HTTP/1.1\r\nX-Pad: a\r\nX-Test: yes\r\n\r\n";
    let complete_at = request.len() - 1;
    let fits = http1_header("X-Test", "yes").max_head_bytes(complete_at);
    assert_decided_at_last_byte(&fits, &request[..complete_at], Match);
    let short = http1_header("X-Test", "yes").max_head_bytes(complete_at - 1);
    assert_decided_at_last_byte(&short, &request[..complete_at - 1], NoMatch);
    assert_eq!(
        http1_header("X-Test", "").max_head_bytes(0).verdict(b""),
        NoMatch
    );
    assert_eq!(websocket().max_head_bytes(0).verdict(b""), NoMatch);
}

#[test]
fn websocket_needs_get_upgrade_and_connection() {
    let upgrade_at = CURL_WEBSOCKET
        .windows(22)
        .position(|w| w == b"Upgrade: websocket\r\nSe")
        .unwrap();
    let cases: &[(&[u8], Verdict)] = &[
        (&CURL_WEBSOCKET[..upgrade_at + 21], Match),
        (
            b"GET /chat HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r",
            Match,
        ),
        (
            b"GET / HTTP/1.1\nUpgrade: websocket\nConnection: UPGRADE\n\n",
            Match,
        ),
        (
            b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nUpgrade: h2c\r\n\
              Connection: ,upgrade,\r\nUpgrade: foo, websocket\r\nX",
            Match,
        ),
        (b"P", NoMatch),
        (b"g", NoMatch),
        (b"GEX", NoMatch),
        (b"GET\t", NoMatch),
        (b"GET / HTTP/1.0\r\n", NoMatch),
        (
            b"GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
              HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
            NoMatch,
        ),
        (
            b"GET / HTTP/1.1\r\nUpgrade: websocket/13\r\nConnection: upgrade\r\n\r\n",
            NoMatch,
        ),
        (
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nX-Connection: upgrade\r\n\r\n",
            NoMatch,
        ),
        (
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade-now\r\n\r\n",
            NoMatch,
        ),
        (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n ", NoMatch),
        (
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\t",
            NoMatch,
        ),
    ];
    for &(input, want) in cases {
        assert_decided_at_last_byte(&websocket(), input, want);
    }
    assert_eq!(websocket().verdict(CURL_WEBSOCKET), Match);
    for capture in [
        CURL_GET,
        CURL_HTTP10,
        CURL_PROXY,
        CURL_CONNECT,
        PYTHON_URLLIB,
    ] {
        assert_eq!(websocket().verdict(capture), NoMatch);
    }
}

#[test]
fn request_reads_line_and_first_host() {
    let request = |method: &str, target: &str, minor_version: u8, host: Option<&str>| {
        Some(Http1Request {
            method: method.into(),
            target: target.into(),
            minor_version,
            host: host.map(Into::into),
        })
    };
    let cases: &[(&[u8], Option<Http1Request>)] = &[
        (
            CURL_GET,
            request("GET", "/path", 1, Some("127.0.0.1:46573")),
        ),
        (
            CURL_HTTP10,
            request("GET", "/old", 0, Some("127.0.0.1:33519")),
        ),
        (
            CURL_PROXY,
            request("GET", "http://www.w3.org/", 1, Some("www.w3.org")),
        ),
        (
            CURL_CONNECT,
            request("CONNECT", "example.com:443", 1, Some("example.com:443")),
        ),
        (
            PYTHON_URLLIB,
            request("GET", "/q?a=1&b=%20", 1, Some("127.0.0.1:33519")),
        ),
        (b"OPTIONS * HTTP/1.1\n", request("OPTIONS", "*", 1, None)),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\n",
            request("GET", "/", 1, None),
        ),
        (
            b"GET / HTTP/1.1\r\nhOsT:  a \r\n\r\n",
            request("GET", "/", 1, Some("a")),
        ),
        // The head has not ended: a second Host could still come.
        (
            b"GET / HTTP/1.1\r\nHost: a\r\n\r",
            request("GET", "/", 1, None),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n",
            request("GET", "/", 1, None),
        ),
        // RFC 9112 section 3.2: a request with two Host field lines is
        // invalid, even when they agree or the second is empty.
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            request("GET", "/", 1, None),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: a\r\n\r\n",
            request("GET", "/", 1, None),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r\n",
            request("GET", "/", 1, None),
        ),
        // A byte that breaks the grammar after Host makes the request
        // invalid too.
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nA\x00: b\r\n\r\n",
            request("GET", "/", 1, None),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\xff\r\n\r\n",
            request("GET", "/", 1, Some("caf\u{e9}\u{fffd}")),
        ),
        (
            b"GET / HTTP/1.1\r\nA\x00: b\r\nHost: a\r\n\r\n",
            request("GET", "/", 1, None),
        ),
        (
            b"GET / HTTP/1.1\r\n\r\nHost: a\r\n\r\n",
            request("GET", "/", 1, None),
        ),
        (b"GET / HTTP/1.1", None),
        (b"GET / HTTP/2.0\r\n", None),
        (b"", None),
    ];
    for (input, want) in cases {
        assert_eq!(http1_request(input), *want, "\"{}\"", input.escape_ascii());
    }
    assert_eq!(
        http1_request(CURL_CONNECT).unwrap().to_string(),
        "CONNECT example.com:443 HTTP/1.1"
    );
}

/// Every matcher of this file, some with small head bounds, and each
/// one's bound: any input that long gets a verdict.
fn bounded_matchers(max_head_bytes: usize) -> Vec<(Box<dyn Matcher>, usize)> {
    vec![
        (Box::new(http1()), MAX_REQUEST_LINE_BYTES),
        (
            Box::new(http1_header("X-Test", "yes")),
            DEFAULT_MAX_HEAD_BYTES,
        ),
        (
            Box::new(http1_header_prefix("host", "127.")),
            DEFAULT_MAX_HEAD_BYTES,
        ),
        (Box::new(websocket()), DEFAULT_MAX_HEAD_BYTES),
        (
            Box::new(http1_header("x-test", "yes").max_head_bytes(max_head_bytes)),
            max_head_bytes,
        ),
        (
            Box::new(websocket().max_head_bytes(max_head_bytes)),
            max_head_bytes,
        ),
    ]
}

/// Checks every matcher's monotonicity and bound on `data`, and that
/// `http1_request` never takes back what it read.
fn check_invariants(data: &[u8], max_head_bytes: usize) {
    for (index, (matcher, bound)) in bounded_matchers(max_head_bytes).iter().enumerate() {
        Conformance::new(matcher.as_ref()).fuzz(data);
        if data.len() >= *bound {
            assert_ne!(
                matcher.verdict(&data[..*bound]),
                NeedMore,
                "matcher {index}"
            );
        }
    }
    let mut read: Option<Http1Request> = None;
    for end in 0..=data.len() {
        let now = http1_request(&data[..end]);
        assert_eq!(now.is_some(), http1().verdict(&data[..end]) == Match);
        if let (Some(before), Some(now)) = (&read, &now) {
            assert_eq!(
                (&before.method, &before.target, before.minor_version),
                (&now.method, &now.target, now.minor_version)
            );
            if before.host.is_some() {
                assert_eq!(before.host, now.host);
            }
        }
        read = now.or(read);
    }
}

/// A valid request head as fields and as bytes on the wire.
#[derive(Debug, Clone)]
struct GeneratedRequest {
    method: String,
    target: String,
    minor_version: u8,
    /// Names, and values without the whitespace around them.
    fields: Vec<(String, Vec<u8>)>,
    wire: Vec<u8>,
}

fn line_ending() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])]
}

fn ows() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(b' '), Just(b'\t')], 0..3)
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}",
        Just("Host".to_string()),
        Just("hOST".to_string()),
        Just("X-Test".to_string()),
        Just("Upgrade".to_string()),
        Just("connection".to_string()),
    ]
}

/// A field value without the whitespace around it.
fn field_value() -> impl Strategy<Value = Vec<u8>> {
    let value_byte = prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff, Just(b' '), Just(b'\t'),];
    let value = prop_oneof![
        proptest::collection::vec(value_byte, 0..12),
        Just(b"yes".to_vec()),
        Just(b"websocket".to_vec()),
        Just(b"keep-alive, Upgrade".to_vec()),
    ];
    value.prop_map(|value| value.trim_ascii().to_vec())
}

fn field() -> impl Strategy<Value = (String, Vec<u8>)> {
    (field_name(), field_value())
}

/// The value of the field `name` that the matchers and
/// [`http1_request`] read among `fields`: the first, except that a
/// second `Host` leaves none (RFC 9112 section 3.2).
fn read_value<'a>(fields: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    let mut named = fields
        .iter()
        .filter(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| &value[..]);
    let first = named.next();
    if name.eq_ignore_ascii_case("host") && named.next().is_some() {
        return None;
    }
    first
}

fn generated_request() -> impl Strategy<Value = GeneratedRequest> {
    let method = prop_oneof!["[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}", Just("GET".to_string()),];
    let target = prop_oneof![
        "/[!-~]{0,20}",
        Just("*".to_string()),
        "https?://[a-z0-9.]{1,10}(/[!-~]{0,10})?",
        "[a-z0-9][a-z0-9.-]{0,9}:[0-9]{1,5}",
        "\\[[0-9a-f:]{2,10}\\]:[0-9]{1,5}",
    ];
    let field_lines = proptest::collection::vec((field(), ows(), ows(), line_ending()), 0..8);
    // Half the requests repeat the name of one of their fields (Host
    // among them), with another value, possibly empty.
    let repeated_line = proptest::option::of((
        any::<proptest::sample::Index>(),
        field_value(),
        ows(),
        line_ending(),
    ));
    (
        method,
        target,
        0u8..10,
        line_ending(),
        field_lines,
        repeated_line,
        line_ending(),
    )
        .prop_map(
            |(
                method,
                target,
                minor_version,
                line_end,
                mut field_lines,
                repeated_line,
                head_end,
            )| {
                if let (Some((index, value, before, end)), false) =
                    (repeated_line, field_lines.is_empty())
                {
                    let name = field_lines[index.index(field_lines.len())].0 .0.clone();
                    field_lines.push(((name, value), before, Vec::new(), end));
                }
                let mut wire = format!("{method} {target} HTTP/1.{minor_version}").into_bytes();
                wire.extend(line_end);
                let mut fields = Vec::new();
                for ((name, value), before, after, end) in field_lines {
                    wire.extend(name.as_bytes());
                    wire.push(b':');
                    wire.extend(&before);
                    wire.extend(&value);
                    if !value.is_empty() {
                        wire.extend(&after);
                    }
                    wire.extend(end);
                    fields.push((name, value));
                }
                wire.extend(head_end);
                GeneratedRequest {
                    method,
                    target,
                    minor_version,
                    fields,
                    wire,
                }
            },
        )
}

/// Applies edits `(position, byte, kind)`: replace, insert or delete.
fn mutate(mut data: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(position, byte, kind) in edits {
        let at = position % (data.len() + 1);
        match kind % 3 {
            0 if at < data.len() => data[at] = byte,
            1 => data.insert(at, byte),
            _ if at < data.len() => {
                data.remove(at);
            }
            _ => {}
        }
    }
    data
}

proptest! {
    #[test]
    fn invariants_hold_on_arbitrary_bytes(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        max_head_bytes in 0usize..300,
    ) {
        check_invariants(&data, max_head_bytes);
    }

    #[test]
    fn invariants_hold_on_mutated_requests(
        capture in proptest::sample::select(CAPTURES),
        generated in generated_request(),
        use_capture in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
        max_head_bytes in 0usize..300,
    ) {
        let valid = if use_capture { capture.to_vec() } else { generated.wire };
        check_invariants(&mutate(valid, &edits), max_head_bytes);
    }

    #[test]
    fn generated_requests_match(request in generated_request()) {
        let wire = &request.wire;
        check_invariants(wire, DEFAULT_MAX_HEAD_BYTES);
        prop_assert_eq!(http1().verdict(wire), Match);
        for (name, value) in &request.fields {
            let read = read_value(&request.fields, name);
            let shouted = name.to_ascii_uppercase();
            let want = Verdict::from_bool(read == Some(&value[..]));
            prop_assert_eq!(http1_header(&shouted, value).verdict(wire), want);
            let longer = [&value[..], b"x"].concat();
            let want = Verdict::from_bool(read == Some(&longer[..]));
            prop_assert_eq!(http1_header(name, &longer).verdict(wire), want);
            let start = &value[..value.len() / 2];
            let want = Verdict::from_bool(read.is_some_and(|v| v.starts_with(start)));
            prop_assert_eq!(http1_header_prefix(name, start).verdict(wire), want);
        }
        prop_assert_eq!(http1_header("X-Absent-Name", "").verdict(wire), NoMatch);
        let lists = |name: &str, token: &str| {
            request.fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).any(|(_, v)| {
                String::from_utf8_lossy(v).split(',').any(|e| e.trim().eq_ignore_ascii_case(token))
            })
        };
        let handshake = request.method == "GET"
            && request.minor_version >= 1
            && lists("upgrade", "websocket")
            && lists("connection", "upgrade");
        prop_assert_eq!(websocket().verdict(wire), Verdict::from_bool(handshake));
        let read = http1_request(wire).unwrap();
        prop_assert_eq!(&read.method, &request.method);
        prop_assert_eq!(&read.target, &request.target);
        prop_assert_eq!(read.minor_version, request.minor_version);
        let host = read_value(&request.fields, "host").map(|v| String::from_utf8_lossy(v).into_owned());
        prop_assert_eq!(read.host, host);
    }

    #[test]
    fn request_line_agrees_with_naive(
        data in proptest::collection::vec(
            proptest::sample::select(&b"GET /*:a[HTP1.0 \r\n\t"[..]), 0..30),
    ) {
        let verdict = http1().verdict(&data);
        match naive_request_line(&data) {
            Some(valid) => prop_assert_eq!(verdict, Verdict::from_bool(valid)),
            None => prop_assert_ne!(verdict, Match),
        }
        if verdict == NoMatch {
            prop_assert_eq!(naive_request_line(&[&data[..], b"\n"].concat()), Some(false));
        }
    }

    #[test]
    fn long_heads_are_cut_at_the_bound(
        request in generated_request(),
        padding in proptest::collection::vec((field(), line_ending()), 1..60),
        max_head_bytes in 0usize..600,
    ) {
        let mut head = request.wire;
        // Drop the empty line that ends the head, then pad it.
        head.pop();
        if head.last() == Some(&b'\r') {
            head.pop();
        }
        for ((name, value), end) in padding {
            head.extend(name.as_bytes());
            head.push(b':');
            head.extend(value);
            head.extend(end);
        }
        check_invariants(&head, max_head_bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 32 }))]

    #[test]
    fn long_request_lines_are_cut_at_the_line_bound(
        target in proptest::collection::vec(
            0x21u8..=0x7e,
            MAX_REQUEST_LINE_BYTES - 40..MAX_REQUEST_LINE_BYTES,
        ),
        line_end in line_ending(),
    ) {
        let line = [&b"GET /"[..], &target, b" HTTP/1.1", line_end].concat();
        let fits = line.len() <= MAX_REQUEST_LINE_BYTES;
        prop_assert_eq!(http1().verdict(&line), Verdict::from_bool(fits));
        if line.len() > MAX_REQUEST_LINE_BYTES {
            prop_assert_eq!(http1().verdict(&line[..MAX_REQUEST_LINE_BYTES]), NoMatch);
        }
        let head = [&line[..], b"X-Test: yes\r\n\r\n"].concat();
        let x_test = http1_header("X-Test", "yes");
        prop_assert_eq!(x_test.verdict(&head), Verdict::from_bool(fits));
    }
}
