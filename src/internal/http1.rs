//! The `http1` target: the HTTP/1 matchers against each other and against
//! [`http1_request`], the extraction function of the same parser.

use crate::matcher::{Matcher, Verdict};
use crate::matchers::{
    http1_fast, http1_header, http1_header_prefix, http1_methods, http1_request, websocket,
    Http1Request, HTTP_METHODS,
};

use super::checks::is_exact_text;
use super::sample::{check_route_table_sampled, check_settles_sampled};

/// The HTTP/1 matchers the `http1` harness runs.
fn http1_routes() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(http1_fast()),
        Box::new(crate::matchers::http1()),
        Box::new(websocket()),
        Box::new(http1_header("host", "localhost")),
        Box::new(http1_header_prefix("content-type", "application/")),
        Box::new(http1_header("x-test", "yes").max_head_bytes(64)),
        Box::new(websocket().max_head_bytes(128)),
        Box::new(http1_methods(["GET", "PURGE"])),
    ]
}

/// The `http1` target: the HTTP/1 matchers are prefix-monotone and
/// chunk-invariant, and agree with [`http1_request`] and with each other:
///
/// - `http1_request` gives a request exactly when `http1()` matches, and
///   its request line and host never change once read;
/// - the request line it gives, written out with `Display`, reads back the
///   same; `http1_fast` matches exactly when the method is in
///   [`HTTP_METHODS`];
/// - the header matchers find the `Host` value it reports (name in any
///   case, by value and by prefix), and no other value; a `Host` matcher
///   matches exactly when it reports that host (none for a request with
///   two `Host` fields, RFC 9112 section 3.2);
/// - a header matcher or `websocket` matches only a valid request line
///   (a WebSocket one only a `GET` of HTTP/1.1 or later), and says
///   `NoMatch` whenever `http1()` does.
pub fn http1(data: &[u8]) {
    let routes = http1_routes();
    check_route_table_sampled(&routes, data);
    check_settles_sampled(
        "http1_request line",
        data,
        |seen| {
            http1_request(seen).map(|request| Http1Request {
                host: None,
                ..request
            })
        },
        Option::is_some,
    );
    check_settles_sampled(
        "http1_request host",
        data,
        |seen| http1_request(seen).and_then(|request| request.host),
        Option::is_some,
    );
    let request = http1_request(data);
    let line = crate::matchers::http1().verdict(data);
    assert_eq!(
        request.is_some(),
        line == Verdict::Match,
        "http1_request {request:?} but http1() {line:?}"
    );
    let header_matchers: Vec<Box<dyn Matcher>> = vec![
        Box::new(websocket()),
        Box::new(http1_header("host", "localhost")),
        Box::new(http1_header_prefix("content-type", "application/")),
        Box::new(http1_header("x-test", "yes").max_head_bytes(64)),
    ];
    for (index, matcher) in header_matchers.iter().enumerate() {
        let verdict = matcher.verdict(data);
        if line == Verdict::NoMatch {
            assert_eq!(verdict, Verdict::NoMatch, "header matcher {index}");
        }
        if verdict == Verdict::Match {
            assert!(
                request.is_some(),
                "header matcher {index} without a request"
            );
        }
    }
    let Some(request) = request else {
        return;
    };
    let written = format!("{request}\r\n");
    assert_eq!(
        http1_request(written.as_bytes()),
        Some(Http1Request {
            host: None,
            ..request.clone()
        }),
        "request line {written:?} does not read back"
    );
    assert_eq!(
        http1_fast().verdict(data) == Verdict::Match,
        HTTP_METHODS.contains(&request.method.as_str()),
        "http1_fast and the method {:?} disagree",
        request.method
    );
    if websocket().verdict(data) == Verdict::Match {
        assert!(request.method == "GET" && request.minor_version >= 1);
    }
    if let Some(host) = request.host.as_deref().filter(|host| is_exact_text(host)) {
        let bytes = host.as_bytes();
        assert_eq!(http1_header("host", bytes).verdict(data), Verdict::Match);
        assert_eq!(http1_header("HoSt", bytes).verdict(data), Verdict::Match);
        let half = &bytes[..bytes.len() / 2];
        assert_eq!(
            http1_header_prefix("host", half).verdict(data),
            Verdict::Match
        );
        let longer = [bytes, b"x"].concat();
        assert_eq!(http1_header("host", longer).verdict(data), Verdict::NoMatch);
    }
    assert_eq!(
        http1_header("host", "localhost").verdict(data) == Verdict::Match,
        request.host.as_deref() == Some("localhost"),
        "the Host matcher and http1_request disagree"
    );
}
