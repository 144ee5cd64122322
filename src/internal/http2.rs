//! The `http2_frames` target: arbitrary frames after the HTTP/2 preface.
//! Its request checks (the HTTP/2 matchers against the extraction
//! functions [`http2_request`] and [`http2_request_headers`], and every
//! HPACK consumer within the decoder's work bound) are shared with the
//! `hpack` target, which runs them on each of its framings.

use std::borrow::Cow;

use crate::matcher::{Matcher, ReplyAck, Verdict};
use crate::matchers::{
    grpc, http2_header, http2_header_prefix, http2_preface, http2_request, http2_request_headers,
    Http2HeadersError, Http2Request, HTTP2_HEADERS_LIMIT, HTTP2_PREFACE,
};

use super::checks::is_exact_text;
use super::sample::{check_route_table_sampled, check_settles_sampled};

/// The HTTP/2 matchers the `hpack` and `http2_frames` harnesses run.
pub(super) fn http2_routes() -> Vec<Box<dyn Matcher>> {
    vec![
        Box::new(http2_preface()),
        Box::new(grpc()),
        Box::new(grpc().send_settings()),
        Box::new(http2_header(":path", "/")),
        Box::new(http2_header_prefix(":path", "/h2")),
        Box::new(http2_header(":method", "GET")),
        Box::new(http2_header(":authority", "localhost")),
        Box::new(http2_header("user-agent", "curl/7.88.1")),
        Box::new(http2_header(ABSENT_FIELD, "")),
    ]
}

/// A header field name no seed request carries: a matcher for it reads
/// the whole header block before it can say `NoMatch`.
pub(super) const ABSENT_FIELD: &str = "x-connmux-fuzz-absent";

/// The fields of the first header block, as [`http2_request_headers`]
/// lists them.
pub(super) type HeaderList = Result<Vec<(Vec<u8>, Vec<u8>)>, Http2HeadersError>;

pub(super) fn request_headers(seen: &[u8]) -> HeaderList {
    let mut fields = Vec::new();
    http2_request_headers(seen, |name, value| {
        fields.push((name.to_vec(), value.to_vec()))
    })?;
    Ok(fields)
}

/// Checks that the HTTP/2 extraction functions agree with each other and
/// with the header matchers on `wire`, and returns what they extract.
pub(super) fn check_http2_request(wire: &[u8]) -> (HeaderList, Option<Http2Request>) {
    #[cfg(any(test, fuzzing))]
    check_hpack_work(wire);
    check_settles_sampled("http2_request_headers", wire, request_headers, |headers| {
        *headers != Err(Http2HeadersError::Incomplete)
    });
    check_settles_sampled("http2_request", wire, http2_request, Option::is_some);
    let headers = request_headers(wire);
    let request = http2_request(wire);
    match &headers {
        Ok(_) => assert!(request.is_some(), "all fields listed, no request"),
        Err(
            Http2HeadersError::Incomplete
            | Http2HeadersError::Invalid
            | Http2HeadersError::HeaderListTooLarge,
        ) => {
            assert_eq!(request, None, "a request from {headers:?}");
        }
        Err(Http2HeadersError::FieldTooLong) => {}
    }
    // The matchers read only the first HTTP2_HEADERS_LIMIT bytes.
    if wire.len() >= HTTP2_HEADERS_LIMIT {
        return (headers, request);
    }
    // A matcher for a field the block lacks reads the whole block: while
    // the field has not shown up (its prefix matcher has not matched), it
    // is undecided exactly while the block is incomplete. It decodes no
    // value and compares names as sent, so it may still be undecided
    // where the extraction, which decodes every string, has met a bad
    // Huffman code and says `Invalid`.
    let absent = http2_header(ABSENT_FIELD, "").verdict(wire);
    let present = http2_header_prefix(ABSENT_FIELD, "").verdict(wire);
    let lists_absent = headers.as_ref().is_ok_and(|fields| {
        fields
            .iter()
            .any(|(name, _)| name == ABSENT_FIELD.as_bytes())
    });
    if headers.is_ok() {
        assert_eq!(present == Verdict::Match, lists_absent);
    }
    if present != Verdict::Match {
        assert_eq!(absent, present, "{ABSENT_FIELD}: exact and prefix differ");
        match absent {
            Verdict::Match => unreachable!("the prefix matcher did not match"),
            Verdict::NeedMore => assert!(
                matches!(
                    headers,
                    Err(Http2HeadersError::Incomplete
                        | Http2HeadersError::FieldTooLong
                        | Http2HeadersError::Invalid)
                ),
                "undecided on a block that {headers:?}"
            ),
            Verdict::NoMatch => assert_ne!(headers, Err(Http2HeadersError::Incomplete)),
        }
    }
    if http2_preface().verdict(wire) == Verdict::NoMatch {
        for (index, matcher) in http2_routes().iter().enumerate() {
            assert_eq!(matcher.verdict(wire), Verdict::NoMatch, "route {index}");
        }
    }
    if let Some(request) = &request {
        assert_ne!(
            present,
            Verdict::NeedMore,
            "a request from an incomplete block"
        );
        let pseudo = [
            (":method", &request.method),
            (":scheme", &request.scheme),
            (":authority", &request.authority),
            (":path", &request.path),
            ("content-type", &request.content_type),
        ];
        for (name, value) in pseudo {
            match value {
                Some(value) if is_exact_text(value) => assert_eq!(
                    http2_header(name, value).verdict(wire),
                    Verdict::Match,
                    "{name}: {value:?} extracted but not matched"
                ),
                Some(_) => {}
                None => assert_ne!(
                    http2_header_prefix(name, "").verdict(wire),
                    Verdict::Match,
                    "{name} matched but not extracted"
                ),
            }
        }
        let is_grpc = grpc().verdict(wire) == Verdict::Match;
        let grpc_type = request
            .content_type
            .as_deref()
            .is_some_and(|value| value.starts_with("application/grpc"));
        assert!(!is_grpc || grpc_type, "grpc matched {request:?}");
    }
    if let Ok(fields) = &headers {
        // The first field of each name decides that name's matchers.
        let mut names_seen: Vec<&[u8]> = Vec::new();
        for (name, value) in fields {
            if names_seen.contains(&name.as_slice()) || names_seen.len() == 8 {
                continue;
            }
            names_seen.push(name);
            if name.iter().any(u8::is_ascii_uppercase) {
                continue;
            }
            assert_eq!(http2_header(name, value).verdict(wire), Verdict::Match);
            let half = &value[..value.len() / 2];
            assert_eq!(
                http2_header_prefix(name, half).verdict(wire),
                Verdict::Match
            );
            let longer = [value.as_slice(), b"x"].concat();
            assert_eq!(http2_header(name, longer).verdict(wire), Verdict::NoMatch);
        }
    }
    (headers, request)
}

/// Checks that no HPACK consumer decodes or copies more octets on `wire`
/// than the decoder's bound for its length and the default header list
/// limit (`matchers::http2::hpack::work::bound`; `http2_request_headers` decodes
/// twice): work grows with the input and the limit, never with how often
/// a block refers to its dynamic table. The count exists in tests and
/// under `--cfg fuzzing` (which cargo-fuzz sets).
#[cfg(any(test, fuzzing))]
fn check_hpack_work(wire: &[u8]) {
    use crate::matchers::http2::hpack::work;
    use crate::matchers::DEFAULT_MAX_HEADER_LIST_SIZE;
    let bound = work::bound(wire.len(), DEFAULT_MAX_HEADER_LIST_SIZE);
    let within = |what: &str, decodings: usize, call: &dyn Fn()| {
        let _ = work::take();
        call();
        let work = work::take();
        assert!(
            work.total() <= decodings * bound,
            "{what}: {work:?}, more than {decodings} × {bound} octets"
        );
    };
    for (index, matcher) in http2_routes().iter().enumerate() {
        within(&format!("route {index}"), 1, &|| {
            let _ = matcher.verdict(wire);
        });
    }
    within("http2_request", 1, &|| {
        let _ = http2_request(wire);
    });
    within("http2_request_headers", 2, &|| {
        let _ = request_headers(wire);
    });
}

/// Checks the SETTINGS reply of `grpc().send_settings()` on `wire`: it is
/// offered only before any HEADERS frame, and the ACK it locates is a
/// SETTINGS ACK frame header after the preface, found once and for good.
fn check_settings_reply(wire: &[u8]) {
    let waiting = grpc().send_settings();
    if waiting.reply(wire).is_some() {
        assert_eq!(http2_preface().verdict(wire), Verdict::Match);
        assert_ne!(
            waiting.verdict(wire),
            Verdict::Match,
            "replied after HEADERS"
        );
    }
    assert_eq!(grpc().reply(wire), None);
    assert_eq!(grpc().reply_ack(wire), ReplyAck::None);
    check_settles_sampled(
        "reply_ack",
        wire,
        |seen| waiting.reply_ack(seen),
        |ack| *ack != ReplyAck::Pending,
    );
    if let ReplyAck::At(range) = waiting.reply_ack(wire) {
        assert!(range.start >= HTTP2_PREFACE.len(), "{range:?}");
        let frame = wire
            .get(range.clone())
            .expect("the ACK lies within the input");
        assert_eq!(frame.len(), 9);
        assert_eq!(&frame[..4], [0, 0, 0, 4], "not an empty SETTINGS frame");
        assert_eq!(frame[4] & 1, 1, "not an ACK");
        // The stream identifier's reserved high bit is ignored (RFC 9113
        // section 4.1).
        assert_eq!(frame[5] & 0x7f, 0, "not on stream 0");
        assert_eq!(&frame[6..], [0, 0, 0], "not on stream 0");
    }
}

/// The `http2_frames` target: arbitrary frames after the HTTP/2 preface
/// (added unless the input starts with `P`). The HTTP/2 matchers are
/// prefix-monotone and chunk-invariant; [`http2_request`] and
/// [`http2_request_headers`] never change once they have answered, agree
/// with each other, and agree with the matchers: `http2_request` gives a
/// request only for a complete block whose `:path` (and `:method`,
/// `:scheme`, `:authority`, `content-type`) `http2_header` matches; the
/// first field of each name in the block matches by value and by prefix; a
/// matcher for an absent field is undecided exactly while the block is
/// incomplete (the extraction may already have met a bad Huffman code in a
/// string the matcher skips); the SETTINGS reply and its ACK are where they should be;
/// and the HPACK work of each is within the decoder's bound (where it is
/// counted: tests, and `--cfg fuzzing`).
pub fn http2_frames(data: &[u8]) {
    let wire: Cow<[u8]> = if data.first() == Some(&b'P') {
        Cow::Borrowed(data)
    } else {
        Cow::Owned([HTTP2_PREFACE, data].concat())
    };
    check_route_table_sampled(&http2_routes(), &wire);
    let _ = check_http2_request(&wire);
    check_settings_reply(&wire);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_bad_huffman_string_in_an_unfinished_block() {
        // A HEADERS frame without END_HEADERS: user-agent (index 58) with
        // a Huffman value padded with zeros, which the header matchers skip
        // and the extraction rejects, then the block goes on.
        let mut wire = HTTP2_PREFACE.to_vec();
        wire.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
        wire.extend([0, 0, 5, 1, 0, 0, 0, 0, 1]); // HEADERS, stream 1
        wire.extend([0x0f, 0x2b, 0x81, 0x00, 0x84]); // user-agent, :path /
        assert_eq!(
            http2_header(ABSENT_FIELD, "").verdict(&wire),
            Verdict::NeedMore
        );
        assert_eq!(request_headers(&wire), Err(Http2HeadersError::Invalid));
        http2_frames(&wire);
    }
}
