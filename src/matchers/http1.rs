//! HTTP/1 by request method (cmux's `HTTP1Fast`): a request line starts
//! with a method token and one space (RFC 9112 section 3), so the method
//! table alone recognises HTTP/1 after a handful of bytes.

use crate::matcher::{Matcher, Verdict};
use crate::matchers::prefix::{prefixes, PrefixSet};

/// Every method in the IANA HTTP Method Registry (RFC 9110 section 9,
/// RFC 7237, RFC 5789 for PATCH, and QUERY) except `PRI`, which only opens
/// the HTTP/2 preface, and the reserved `*`.
pub const HTTP_METHODS: &[&str] = &[
    "ACL",
    "BASELINE-CONTROL",
    "BIND",
    "CHECKIN",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LABEL",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MKREDIRECTREF",
    "MKWORKSPACE",
    "MOVE",
    "OPTIONS",
    "ORDERPATCH",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PUT",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "TRACE",
    "UNBIND",
    "UNCHECKOUT",
    "UNLINK",
    "UNLOCK",
    "UPDATE",
    "UPDATEREDIRECTREF",
    "VERSION-CONTROL",
];

/// Matches an HTTP/1 request by its method; see [`http1_fast`].
#[derive(Debug, Clone)]
pub struct Http1Fast {
    methods_with_space: PrefixSet,
}

/// A matcher for HTTP/1 requests whose method is one of [`HTTP_METHODS`].
///
/// It matches once the method and the space after it have arrived, and
/// says `NoMatch` at the first byte that no method allows, so a binary
/// protocol routed after it is decided from its first byte.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http1_fast;
///
/// assert_eq!(http1_fast().verdict(b"PATCH /item/7 HTTP/1.1\r\n"), Verdict::Match);
/// assert_eq!(http1_fast().verdict(b"PAT"), Verdict::NeedMore);
/// assert_eq!(http1_fast().verdict(b"\x05\x01\x00"), Verdict::NoMatch);
/// ```
pub fn http1_fast() -> Http1Fast {
    http1_methods(HTTP_METHODS)
}

/// A matcher for HTTP/1 requests whose method is one of `methods` (each is
/// matched followed by a space, case-sensitively as RFC 9110 requires).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::{http1_methods, HTTP_METHODS};
///
/// let with_purge = http1_methods(HTTP_METHODS.iter().copied().chain(["PURGE"]));
/// assert_eq!(with_purge.verdict(b"PURGE /cache HTTP/1.1\r\n"), Verdict::Match);
/// let reads_only = http1_methods(["GET", "HEAD"]);
/// assert_eq!(reads_only.verdict(b"POST / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn http1_methods<I, S>(methods: I) -> Http1Fast
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let with_space = methods.into_iter().map(|method| {
        let mut bytes = method.as_ref().as_bytes().to_vec();
        bytes.push(b' ');
        bytes
    });
    Http1Fast {
        methods_with_space: prefixes(with_space),
    }
}

impl Matcher for Http1Fast {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.methods_with_space.verdict(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
