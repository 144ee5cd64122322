//! The `http1` target: the HTTP/1 matchers against each other and against
//! [`http1_request`], the extraction function of the same parser.
//!
//! Running every check on every input is too slow for a fuzzer, so each
//! input gets one [`Family`] of checks, which `sample::chosen_family`
//! picks from a hash of all of the input's bytes: any mutation can move an
//! input to another family, so the fuzzer takes every family through the
//! inputs it keeps. Within a family the input's last bytes choose further
//! (`sample.rs`): the prefixes judged.

use std::ops::Range;
use std::sync::OnceLock;

use crate::matcher::{Matcher, Verdict};
use crate::matchers::{
    http1_fast, http1_header, http1_header_prefix, http1_methods, http1_request, websocket,
    Http1Request, HTTP_METHODS,
};

use super::checks::{is_exact_text, verdicts};
use super::sample::{check_route_table_sampled, check_settles_sampled, chosen_family};

/// The HTTP/1 matchers the `http1` harness runs, built once.
///
/// | index | route                                                  |
/// |-------|--------------------------------------------------------|
/// | 0     | `http1_fast()`                                         |
/// | 1     | `http1()`, by request line                             |
/// | 2     | `websocket()`                                          |
/// | 3     | `Host: localhost`                                      |
/// | 4     | `Content-Type` starting `application/`                 |
/// | 5     | `X-Test: yes` in a head of at most 64 bytes            |
/// | 6     | `websocket()` in a head of at most 128 bytes           |
/// | 7     | the methods `GET` and `PURGE`                          |
fn http1_routes() -> &'static [Box<dyn Matcher>] {
    static ROUTES: OnceLock<Vec<Box<dyn Matcher>>> = OnceLock::new();
    ROUTES.get_or_init(|| {
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
    })
}

/// The index of `http1_fast()` in [`http1_routes`].
const FAST_ROUTE: usize = 0;
/// The index of `http1()` in [`http1_routes`].
const REQUEST_LINE_ROUTE: usize = 1;
/// The index of `websocket()` in [`http1_routes`].
const WEBSOCKET_ROUTE: usize = 2;
/// The index of the `Host: localhost` matcher in [`http1_routes`].
const LOCALHOST_ROUTE: usize = 3;
/// The indices of the matchers of [`http1_routes`] that read the header
/// fields, `websocket` among them.
const HEADER_ROUTES: Range<usize> = 2..7;

/// A family of checks of the `http1` target, one of which runs on each
/// input.
#[derive(Clone, Copy)]
enum Family {
    /// Every route is prefix-monotone (on a sample of prefixes) and the
    /// route decision is the same whole and in chunks.
    RouteTable,
    /// The request line and host of [`http1_request`], once there, never
    /// change.
    Settling,
    /// The matchers agree with [`http1_request`] and with each other.
    Agreement,
}

/// Every [`Family`], in the order `sample::chosen_family` numbers them.
const FAMILIES: [Family; 3] = [Family::RouteTable, Family::Settling, Family::Agreement];

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
///
/// Each input goes through one family of these checks, which its bytes
/// choose (see the module doc).
pub fn http1(data: &[u8]) {
    check_family(FAMILIES[chosen_family(data, FAMILIES.len())], data);
}

/// Runs the checks of `family` on `data`.
fn check_family(family: Family, data: &[u8]) {
    match family {
        Family::RouteTable => check_route_table_sampled(http1_routes(), data),
        Family::Settling => check_request_settles(data),
        Family::Agreement => check_agreement(data),
    }
}

/// Checks that the request line and the host [`http1_request`] gives on
/// a sample of the prefixes of `data` never change once there.
fn check_request_settles(data: &[u8]) {
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
}

/// Checks that the matchers agree with [`http1_request`] on `data` and
/// with each other.
fn check_agreement(data: &[u8]) {
    let verdicts = verdicts(http1_routes(), data);
    let request = http1_request(data);
    let line = verdicts[REQUEST_LINE_ROUTE];
    assert_eq!(
        request.is_some(),
        line == Verdict::Match,
        "http1_request {request:?} but http1() {line:?}"
    );
    for index in HEADER_ROUTES {
        if line == Verdict::NoMatch {
            assert_eq!(verdicts[index], Verdict::NoMatch, "header route {index}");
        }
        if verdicts[index] == Verdict::Match {
            assert!(request.is_some(), "header route {index} without a request");
        }
    }
    if let Some(request) = request {
        check_request(data, request, &verdicts);
    }
}

/// Checks the `request` [`http1_request`] read from `data` against the
/// `verdicts` of [`http1_routes`] on it and against the matchers built
/// from what it reports.
fn check_request(data: &[u8], request: Http1Request, verdicts: &[Verdict]) {
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
        verdicts[FAST_ROUTE] == Verdict::Match,
        HTTP_METHODS.contains(&request.method.as_str()),
        "http1_fast and the method {:?} disagree",
        request.method
    );
    if verdicts[WEBSOCKET_ROUTE] == Verdict::Match {
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
        verdicts[LOCALHOST_ROUTE] == Verdict::Match,
        request.host.as_deref() == Some("localhost"),
        "the Host matcher and http1_request disagree"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal::check_route_table;
    use crate::internal::sample::seed_corpus;

    /// The harness runs one family of checks per input; its seeds go
    /// through every family, and every route through every prefix.
    #[test]
    fn every_seed_passes_every_family_of_checks() {
        let seeds = seed_corpus("http1");
        assert!(seeds.len() >= 10, "seed corpus missing");
        for seed in &seeds {
            check_route_table(http1_routes(), seed);
            for family in FAMILIES {
                check_family(family, seed);
            }
        }
    }
}
