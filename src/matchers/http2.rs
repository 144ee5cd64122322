//! HTTP/2 client connection preface (RFC 9113 section 3.4): the 24 octets
//! `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` that every prior-knowledge HTTP/2
//! client (and every gRPC client) sends first.

use crate::matcher::{Matcher, Verdict};
use crate::matchers::prefix::prefix_verdict;

/// The HTTP/2 client connection preface (RFC 9113 section 3.4).
pub const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Matches the HTTP/2 client preface; see [`http2_preface`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Http2Preface;

/// A matcher for HTTP/2 with prior knowledge (cmux's `HTTP2`).
///
/// It says `NoMatch` at the first byte that differs from the preface and
/// `Match` once all 24 bytes have arrived.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http2_preface;
///
/// assert_eq!(http2_preface().verdict(b"PRI * HTTP/2.0\r\n"), Verdict::NeedMore);
/// assert_eq!(http2_preface().verdict(b"PRX"), Verdict::NoMatch);
/// ```
pub fn http2_preface() -> Http2Preface {
    Http2Preface
}

impl Matcher for Http2Preface {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        prefix_verdict(seen, HTTP2_PREFACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_at_first_mismatch() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"", Verdict::NeedMore),
            (b"P", Verdict::NeedMore),
            (b"G", Verdict::NoMatch),
            (b"PRI * HTTP/1.1", Verdict::NoMatch),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r", Verdict::NeedMore),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Verdict::Match),
            (
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04",
                Verdict::Match,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(http2_preface().verdict(input), *want, "{input:?}");
        }
    }
}
