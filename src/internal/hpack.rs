//! The `hpack` target: one HPACK header block framed many ways
//! (`http2_wire`), giving the same fields, request and verdicts each time,
//! and passing the request checks of the `http2_frames` target.

use crate::matchers::{http2_header, http2_header_prefix, http2_request, HTTP2_HEADERS_LIMIT};

use super::checks::verdicts;
use super::http2::{check_http2_request, http2_routes, request_headers};
use super::http2_wire::{header_block_request, BlockFraming};
use super::sample::check_route_table_sampled;

/// The largest header block the `hpack` harness frames: what fits one
/// HEADERS frame of the default maximum frame size with its padding and
/// priority block.
const MAX_FUZZED_BLOCK: usize = 16_384 - 1 - 255 - 5;

/// The `hpack` target: the input (after its first byte, which picks the
/// framing) is the HPACK header block of a client's first request, sent in
/// one HEADERS frame and again split across CONTINUATION frames (fragment
/// sizes taken from the input; empty fragments; one octet per frame for
/// short blocks; padding and priority on the HEADERS frame). Every framing
/// gives the same fields from [`http2_request_headers`], the same
/// [`http2_request`] and the same verdict from every HTTP/2 matcher,
/// including matchers built from the decoded fields. The whole framing or
/// the split one (bit 2 of the first byte picks which) also passes the
/// matcher, extraction and work checks of the `http2_frames` target.
///
/// [`http2_request_headers`]: crate::matchers::http2_request_headers
pub fn hpack(data: &[u8]) {
    let (control, block) = match data.split_first() {
        Some((&control, block)) => (control, block),
        None => (0, data),
    };
    let block = &block[..block.len().min(MAX_FUZZED_BLOCK)];
    let stream = u32::from(control) * 2 + 1;
    let framing = |fragment_sizes, padding, priority| BlockFraming {
        fragment_sizes,
        padding,
        priority,
        stream,
    };
    let whole = header_block_request(block, framing(&[], None, false));
    let reversed: Vec<u8> = block.iter().rev().copied().collect();
    let split_sizes: &[u8] = if control & 1 == 0 { block } else { &reversed };
    let split = header_block_request(block, framing(split_sizes, None, false));
    // The matcher, extraction and work checks cost most: they run on one
    // of the two framings, which the control byte picks; every framing is
    // then compared with the whole one.
    let fixed_routes = http2_routes();
    let checked = if control & 4 == 0 { &whole } else { &split };
    check_route_table_sampled(&fixed_routes, checked);
    let _ = check_http2_request(checked);
    let headers = request_headers(&whole);
    let request = http2_request(&whole);
    let mut routes = fixed_routes;
    if let Ok(fields) = &headers {
        let lowercase = fields
            .iter()
            .filter(|(name, _)| !name.iter().any(u8::is_ascii_uppercase))
            .take(4);
        for (name, value) in lowercase {
            routes.push(Box::new(http2_header(name, value)));
            routes.push(Box::new(http2_header_prefix(
                name,
                &value[..value.len().min(3)],
            )));
        }
    }
    let expected = verdicts(&routes, &whole);
    let one_octet: &[u8] = if block.len() <= 1024 { &[0] } else { &[31] };
    let other_framings = [
        framing(split_sizes, Some(control), control & 2 != 0),
        framing(one_octet, None, false),
        framing(&[], Some(control >> 1), true),
    ];
    let wires = [split]
        .into_iter()
        .chain(other_framings.map(|framing| header_block_request(block, framing)));
    for wire in wires {
        assert_eq!(request_headers(&wire), headers, "fields differ");
        assert_eq!(http2_request(&wire), request, "request differs");
        if wire.len() < HTTP2_HEADERS_LIMIT {
            assert_eq!(verdicts(&routes, &wire), expected, "verdicts differ");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal::http2::{http2_frames, ABSENT_FIELD};
    use crate::matcher::{Matcher, Verdict};
    use crate::matchers::Http2HeadersError;

    /// The seeds of issue 13's block (a 4,064-octet Huffman-coded name,
    /// then thousands of fields named by it) hold the harnesses' work
    /// bound, which `tests/fuzz_corpus.rs` does not count (the library is
    /// built there without `cfg(test)`).
    #[test]
    fn the_referenced_name_bomb_seeds_stay_within_the_work_bound() {
        hpack(include_bytes!(
            "../../tests/corpus/hpack/referenced-name-bomb"
        ));
        http2_frames(include_bytes!(
            "../../tests/corpus/http2_frames/referenced-name-bomb"
        ));
    }

    /// Found by the `hpack` target (a harness bug, now fixed): a block
    /// whose first field is the one the harness treats as absent, followed
    /// by an integer that overflows. The matcher for that field rightly
    /// matches before it reaches the invalid integer.
    #[test]
    fn hpack_field_present_before_an_invalid_integer() {
        let mut input = vec![0x14]; // framing control byte
        input.extend(b"\x00\x15x-connmux-fuzz-absent\x00"); // literal, empty value
        input.extend([0xff; 8]); // index integer running past five octets
        hpack(&input);
        let wire = header_block_request(
            &input[1..],
            BlockFraming {
                fragment_sizes: &[],
                padding: None,
                priority: false,
                stream: 41,
            },
        );
        assert_eq!(
            http2_header(ABSENT_FIELD, "").verdict(&wire),
            Verdict::Match
        );
        assert_eq!(request_headers(&wire), Err(Http2HeadersError::Invalid));
    }
}
