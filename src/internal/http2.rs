//! The `http2_frames` target: arbitrary frames after the HTTP/2 preface.
//! Its request checks (the HTTP/2 matchers' monotonicity, the extraction
//! functions [`http2_request`] and [`http2_request_headers`] settling and
//! agreeing with the matchers, and the HPACK consumers within the
//! decoder's work bound) are shared with the `hpack` target.
//!
//! Each of those checks decodes the header block again, some on twenty
//! prefixes, and a block of a few hundred bytes that refers to its dynamic
//! table again and again may take the decoder's whole work bound (over
//! 200 KB) each time. So a run makes one family of them ([`RequestCheck`])
//! on a part of the input, as the input's bytes say:
//!
//! - its last byte, modulo 4, names the family: 0 a matcher's
//!   monotonicity and the route decision's chunk invariance, 1 an
//!   extraction function settles, 2 the extraction agrees with the
//!   matchers, 3 the HPACK work bound;
//! - a hash of all its bytes chooses how much of a long input the
//!   family judges: all of it in one case in 32, else its first
//!   [`JUDGED_WIRE_BYTES`] ([`judged`]);
//! - the last bytes of the part judged, as `sample.rs` reads them (with
//!   its length), name the prefixes judged, the matcher of family 0, the
//!   extraction function of family 1, the two fields of family 2 and the
//!   two HPACK consumers of family 3.
//!
//! The SETTINGS reply is checked on every run, on the whole input: it
//! reads frame headers, not the header block, and costs little.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::matcher::{Matcher, ReplyAck, Verdict};
use crate::matchers::{
    grpc, http2_header, http2_header_prefix, http2_preface, http2_request, http2_request_headers,
    Http2HeadersError, Http2Request, HTTP2_HEADERS_LIMIT, HTTP2_PREFACE,
};

use super::checks::{check_chunking, is_exact_text};
use super::sample::{check_monotone_sampled, check_settles_sampled, chosen_family, chosen_routes};

/// The HTTP/2 matchers the `hpack` and `http2_frames` harnesses run, built
/// once rather than on every run.
pub(super) fn http2_routes() -> &'static [Box<dyn Matcher>] {
    static ROUTES: OnceLock<Vec<Box<dyn Matcher>>> = OnceLock::new();
    ROUTES.get_or_init(|| {
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
    })
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

/// How many bytes of a longer wire the `http2_frames` harness judges on
/// most runs ([`judged`]): the longest capture of a real client in the
/// seeds (grpcio's, after the server's SETTINGS) is 369. The request
/// checks decode the header block up to 40 times, and a block of a few
/// hundred bytes that refers to its dynamic table again and again may
/// cost the decoder's whole work bound (over 200 KB) each time.
const JUDGED_WIRE_BYTES: usize = 384;

/// One run in this many judges all of a longer input ([`judged`]).
const JUDGED_WHOLE_EVERY: usize = 32;

/// The part of `input` a run judges: all of it for one input in
/// [`JUDGED_WHOLE_EVERY`], as a hash of all its bytes says
/// ([`chosen_family`]), else its first `limit` bytes. A chosen byte or the
/// length would pass the choice on to every mutant that keeps them, and
/// the costly runs on whole long inputs would grow to fill a campaign; the
/// hash draws again on each mutation.
pub(super) fn judged(input: &[u8], limit: usize) -> &[u8] {
    if input.len() <= limit || chosen_family(input, JUDGED_WHOLE_EVERY) == 0 {
        input
    } else {
        &input[..limit]
    }
}

/// The families of request checks the `hpack` and `http2_frames` harnesses
/// run on a wire, one per run: all of them on every input cost hundreds of
/// HPACK decodings, each of the whole block. Which family a run makes, the
/// input's own bytes say (each harness documents which), so the fuzzer
/// steers it as it steers the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestCheck {
    /// A header matcher, which the wire's last bytes choose, is
    /// prefix-monotone and agrees with its end-of-input answers (on a
    /// sample of prefixes), and the route decision of every HTTP/2
    /// matcher is the same whole and in chunks.
    Routes,
    /// An extraction function, [`http2_request_headers`] or
    /// [`http2_request`] as the wire's length and last bytes choose, never
    /// changes its answer once it has answered (on a sample of prefixes).
    Settles,
    /// The extraction functions agree with each other and with the header
    /// matchers ([`check_extraction_agrees`]).
    Agreement,
    /// Two HPACK consumers, which the wire's last bytes choose, stay
    /// within the decoder's work bound (where it is counted: tests, and
    /// `--cfg fuzzing`).
    Work,
}

impl RequestCheck {
    /// Every family, in the order the choosing byte names them.
    pub(super) const ALL: [RequestCheck; 4] = [
        RequestCheck::Routes,
        RequestCheck::Settles,
        RequestCheck::Agreement,
        RequestCheck::Work,
    ];

    /// The family `choice` names: its value modulo the number of families.
    pub(super) fn chosen_by(choice: u8) -> RequestCheck {
        RequestCheck::ALL[usize::from(choice) % RequestCheck::ALL.len()]
    }

    /// Makes this family's checks on `wire`.
    pub(super) fn check(self, wire: &[u8]) {
        match self {
            RequestCheck::Routes => {
                let routes = http2_routes();
                for index in chosen_routes(wire, routes.len()).take(1) {
                    check_monotone_sampled(index, routes[index].as_ref(), wire);
                }
                check_chunking(routes, wire, wire);
            }
            RequestCheck::Settles => {
                // The wire chooses one of the two as it chooses routes.
                let checks = [check_headers_settle, check_request_settles];
                for index in chosen_routes(wire, checks.len()).take(1) {
                    checks[index](wire);
                }
            }
            RequestCheck::Agreement => {
                check_extraction_agrees(wire, &request_headers(wire), &http2_request(wire));
            }
            RequestCheck::Work => {
                #[cfg(any(test, fuzzing))]
                check_hpack_work(wire, chosen_routes(wire, hpack_consumers()));
            }
        }
    }
}

/// Checks that [`http2_request_headers`] never changes its answer once it
/// has answered, on a sample of the prefixes of `wire`.
fn check_headers_settle(wire: &[u8]) {
    check_settles_sampled("http2_request_headers", wire, request_headers, |headers| {
        *headers != Err(Http2HeadersError::Incomplete)
    });
}

/// Checks that [`http2_request`] never changes its answer once it has
/// answered, on a sample of the prefixes of `wire`.
fn check_request_settles(wire: &[u8]) {
    check_settles_sampled("http2_request", wire, http2_request, Option::is_some);
}

/// Checks that the HTTP/2 extraction functions agree with each other and
/// with the header matchers on `wire`, where they extracted `headers` and
/// `request`.
pub(super) fn check_extraction_agrees(
    wire: &[u8],
    headers: &HeaderList,
    request: &Option<Http2Request>,
) {
    match headers {
        Ok(_) => assert!(request.is_some(), "all fields listed, no request"),
        Err(
            Http2HeadersError::Incomplete
            | Http2HeadersError::Invalid
            | Http2HeadersError::HeaderListTooLarge,
        ) => {
            assert_eq!(*request, None, "a request from {headers:?}");
        }
        Err(Http2HeadersError::FieldTooLong) => {}
    }
    // The matchers read only the first HTTP2_HEADERS_LIMIT bytes.
    if wire.len() >= HTTP2_HEADERS_LIMIT {
        return;
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
            Verdict::NoMatch => assert_ne!(*headers, Err(Http2HeadersError::Incomplete)),
        }
    }
    if http2_preface().verdict(wire) == Verdict::NoMatch {
        for (index, matcher) in http2_routes().iter().enumerate() {
            assert_eq!(matcher.verdict(wire), Verdict::NoMatch, "route {index}");
        }
    }
    if let Some(request) = request {
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
    if let Ok(fields) = headers {
        // The first field of each name decides that name's matchers: two
        // fields, which the wire's last bytes choose as they choose two
        // routes, name the first fields checked.
        for chosen in chosen_routes(wire, fields.len()) {
            let chosen_name = &fields[chosen].0;
            let (name, value) = fields
                .iter()
                .find(|(name, _)| name == chosen_name)
                .expect("the chosen field comes at the latest");
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
}

/// How many HPACK consumers [`check_hpack_work`] tells apart: the routes
/// of [`http2_routes`], then [`http2_request`], then
/// [`http2_request_headers`].
#[cfg(any(test, fuzzing))]
pub(super) fn hpack_consumers() -> usize {
    http2_routes().len() + 2
}

/// Checks that the HPACK consumers named by `consumers` (indices as
/// [`hpack_consumers`] counts them) decode or copy no more octets on
/// `wire` than the decoder's bound for its length and the default header
/// list limit (`matchers::http2::hpack::work::bound`;
/// `http2_request_headers` decodes twice): work grows with the input and
/// the limit, never with how often a block refers to its dynamic table.
/// The count exists in tests and under `--cfg fuzzing` (which cargo-fuzz
/// sets).
#[cfg(any(test, fuzzing))]
pub(super) fn check_hpack_work(wire: &[u8], consumers: impl IntoIterator<Item = usize>) {
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
    let routes = http2_routes();
    for consumer in consumers {
        match consumer.checked_sub(routes.len()) {
            None => within(&format!("route {consumer}"), 1, &|| {
                let _ = routes[consumer].verdict(wire);
            }),
            Some(0) => within("http2_request", 1, &|| {
                let _ = http2_request(wire);
            }),
            Some(_) => within("http2_request_headers", 2, &|| {
                let _ = request_headers(wire);
            }),
        }
    }
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
/// string the matcher skips); the SETTINGS reply and its ACK are where
/// they should be; and the HPACK work of each is within the decoder's
/// bound (where it is counted: tests, and `--cfg fuzzing`). Each run
/// checks the SETTINGS reply and one family of the rest, which the
/// input's last byte names, as the module's documentation says.
pub fn http2_frames(data: &[u8]) {
    let wire = frames_wire(data);
    let family = RequestCheck::chosen_by(data.last().copied().unwrap_or(0));
    family.check(judged(&wire, JUDGED_WIRE_BYTES));
    check_settings_reply(&wire);
}

/// The connection's bytes an `http2_frames` input stands for: the HTTP/2
/// preface and the input, or the input alone if it starts with `P`.
pub(super) fn frames_wire(data: &[u8]) -> Cow<'_, [u8]> {
    if data.first() == Some(&b'P') {
        Cow::Borrowed(data)
    } else {
        Cow::Owned([HTTP2_PREFACE, data].concat())
    }
}

/// Every request check on `wire`, with every matcher and HPACK consumer,
/// as no single run makes them: for the tests, which replay seeds through
/// them all.
#[cfg(test)]
pub(super) fn check_every_request_family(wire: &[u8]) {
    super::sample::check_route_table_sampled(http2_routes(), wire);
    check_headers_settle(wire);
    check_request_settles(wire);
    RequestCheck::Agreement.check(wire);
    check_hpack_work(wire, 0..hpack_consumers());
}

/// The seeds of the cargo-fuzz target `target` (`tests/corpus/<target>`).
#[cfg(test)]
pub(super) fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    seeds
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
        check_every_request_family(&wire);
        http2_frames(&wire);
    }

    /// A run of the harness makes one family of checks on each seed, as
    /// `tests/fuzz_corpus.rs` replays it; here each seed passes them all,
    /// on the whole input.
    #[test]
    fn every_request_check_holds_on_the_seeds() {
        for (name, seed) in seeds("http2_frames") {
            let wire = frames_wire(&seed);
            let outcome = std::panic::catch_unwind(|| {
                check_every_request_family(&wire);
                check_settings_reply(&wire);
            });
            assert!(outcome.is_ok(), "seed {name} broke an invariant");
        }
    }

    #[test]
    fn the_last_byte_names_every_family() {
        for family in RequestCheck::ALL {
            assert!((0..=255).any(|byte| RequestCheck::chosen_by(byte) == family));
        }
    }

    #[test]
    fn one_long_input_in_32_is_judged_whole() {
        let limit = 100;
        assert_eq!(judged(&[7; 100], limit).len(), limit);
        let mut long = [0; 400];
        let mut whole = 0;
        for mutation in 0..3200u32 {
            long[..4].copy_from_slice(&mutation.to_le_bytes());
            match judged(&long, limit).len() {
                100 => {}
                400 => whole += 1,
                length => panic!("{length} bytes judged"),
            }
        }
        assert!((70..130).contains(&whole), "{whole} of 3200 judged whole");
    }
}
