//! The `hpack` target: one HPACK header block framed many ways
//! (`http2_wire`), giving the same fields, request and verdicts each time,
//! and passing the request checks of the `http2_frames` target.
//!
//! Each of those checks decodes the block again, so a run makes one
//! family of them on one framing, as the input's first byte (the control
//! byte) says ([`chosen_checks`]):
//!
//! - its low three bits name the framing ([`FRAMINGS`]);
//! - its high five bits, modulo 5, name the checks: 0 to 3 a family of the
//!   request checks on that framing (in the order of
//!   [`RequestCheck::ALL`]: a matcher's monotonicity, an extraction
//!   function settling, the extraction agreeing with the matchers, the
//!   HPACK work bound), 4 that framing and the next one in [`FRAMINGS`]
//!   giving the same fields, request and verdicts;
//! - it is also the padding length of the padded framings, and the stream
//!   is `2 × control + 1`.
//!
//! A hash of all the block's bytes chooses how much of a long one a run
//! judges: all of it in one case in 32, else its first
//! [`JUDGED_BLOCK_OCTETS`] ([`judged`]). The last bytes of the framed
//! block, as `sample.rs` reads them, name the prefixes judged and the
//! matchers, fields and HPACK consumers checked (a padded framing ends in
//! its padding, so there the lengths choose).

use crate::matcher::Matcher;
use crate::matchers::{http2_header, http2_header_prefix, http2_request, HTTP2_HEADERS_LIMIT};

use super::http2::{http2_routes, judged, request_headers, HeaderList, RequestCheck};
use super::http2_wire::{header_block_request, BlockFraming};
use super::sample::chosen_routes;

/// The largest header block the `hpack` harness frames: what fits one
/// HEADERS frame of the default maximum frame size with its padding and
/// priority block.
const MAX_FUZZED_BLOCK: usize = 16_384 - 1 - 255 - 5;

/// How many octets of a longer block the harness judges on most runs
/// ([`judged`]): the longest block of a real client in the seeds
/// (grpcio's) is 226. Fewer than the `http2_frames` harness judges of its
/// wire, which holds the preface and frame headers besides the block.
const JUDGED_BLOCK_OCTETS: usize = 256;

/// How a framing of [`FRAMINGS`] cuts the block into fragments.
#[derive(Debug, Clone, Copy)]
enum Fragments {
    /// The whole block in the HEADERS frame.
    Whole,
    /// Fragment sizes taken from the block's bytes (`BlockFraming`).
    BlockSizes,
    /// Fragment sizes taken from the block's bytes, last first.
    ReversedSizes,
    /// One octet per fragment, or 32 for a block over 1 KiB, up to the
    /// matchers' limit on CONTINUATION frames.
    Small,
}

/// A framing of the block in a client's opening: its fragments, and
/// whether the HEADERS frame is padded (by the control byte's value) and
/// carries a priority block.
#[derive(Debug, Clone, Copy)]
struct Framing {
    fragments: Fragments,
    padded: bool,
    priority: bool,
}

/// The framings the control byte's low three bits name.
const FRAMINGS: [Framing; 8] = [
    Framing::new(Fragments::Whole, false, false),
    Framing::new(Fragments::Whole, true, false),
    Framing::new(Fragments::Whole, false, true),
    Framing::new(Fragments::Whole, true, true),
    Framing::new(Fragments::BlockSizes, false, false),
    Framing::new(Fragments::ReversedSizes, false, false),
    Framing::new(Fragments::BlockSizes, true, true),
    Framing::new(Fragments::Small, false, false),
];

impl Framing {
    const fn new(fragments: Fragments, padded: bool, priority: bool) -> Framing {
        Framing {
            fragments,
            padded,
            priority,
        }
    }

    /// A client opening carrying `block` framed this way, as the control
    /// byte `control` sets it up.
    fn wire(self, block: &[u8], control: u8) -> Vec<u8> {
        let reversed: Vec<u8>;
        let fragment_sizes: &[u8] = match self.fragments {
            Fragments::Whole => &[],
            Fragments::BlockSizes => block,
            Fragments::ReversedSizes => {
                reversed = block.iter().rev().copied().collect();
                &reversed
            }
            Fragments::Small if block.len() <= 1024 => &[0],
            Fragments::Small => &[31],
        };
        let framing = BlockFraming {
            fragment_sizes,
            padding: self.padded.then_some(control),
            priority: self.priority,
            stream: u32::from(control) * 2 + 1,
        };
        header_block_request(block, framing)
    }
}

/// The `hpack` target: the input (after its first byte, the control byte)
/// is the HPACK header block of a client's first request, sent in one
/// HEADERS frame or split across CONTINUATION frames (fragment sizes taken
/// from the input; empty fragments; one octet per frame for short blocks;
/// padding and priority on the HEADERS frame). Every framing gives the
/// same fields from [`http2_request_headers`], the same [`http2_request`]
/// and the same verdict from every HTTP/2 matcher, including matchers
/// built from the decoded fields; and every framing passes the matcher,
/// extraction and work checks of the `http2_frames` target. A run checks
/// one framing, or two against each other, as the control byte says (the
/// module's documentation).
///
/// [`http2_request_headers`]: crate::matchers::http2_request_headers
pub fn hpack(data: &[u8]) {
    let (control, block) = match data.split_first() {
        Some((&control, block)) => (control, block),
        None => (0, data),
    };
    let (framing, family) = chosen_checks(control);
    let block = judged(block, JUDGED_BLOCK_OCTETS);
    let block = &block[..block.len().min(MAX_FUZZED_BLOCK)];
    let wire = FRAMINGS[framing].wire(block, control);
    match family {
        Some(family) => family.check(&wire),
        None => {
            let next = FRAMINGS[(framing + 1) % FRAMINGS.len()].wire(block, control);
            check_same_answers(block, &wire, &next);
        }
    }
}

/// What a run checks, as the control byte says: the framing (an index
/// into [`FRAMINGS`]) and the family of request checks made on it, or
/// `None` for that framing and the next one giving the same answers.
fn chosen_checks(control: u8) -> (usize, Option<RequestCheck>) {
    let framing = usize::from(control) % FRAMINGS.len();
    let checks = usize::from(control >> 3) % (RequestCheck::ALL.len() + 1);
    (framing, RequestCheck::ALL.get(checks).copied())
}

/// Checks that two framings of `block` give the same fields, the same
/// request, and the same verdicts from two matchers the block's last
/// bytes choose among the HTTP/2 matchers and those built from the
/// fields ([`field_routes`]).
fn check_same_answers(block: &[u8], first: &[u8], second: &[u8]) {
    let headers = request_headers(first);
    assert_eq!(request_headers(second), headers, "fields differ");
    assert_eq!(
        http2_request(second),
        http2_request(first),
        "request differs"
    );
    // The matchers read only the first HTTP2_HEADERS_LIMIT bytes.
    if first.len().max(second.len()) < HTTP2_HEADERS_LIMIT {
        let fields = field_routes(&headers);
        let routes: Vec<&dyn Matcher> = http2_routes()
            .iter()
            .chain(&fields)
            .map(|matcher| matcher.as_ref())
            .collect();
        for index in chosen_routes(block, routes.len()) {
            assert_eq!(
                routes[index].verdict(first),
                routes[index].verdict(second),
                "route {index}: verdicts differ"
            );
        }
    }
}

/// For each of the first four fields of `headers` with a lowercase name,
/// a matcher of its value and one of the value's first three bytes.
fn field_routes(headers: &HeaderList) -> Vec<Box<dyn Matcher>> {
    let Ok(fields) = headers else {
        return Vec::new();
    };
    let lowercase = fields
        .iter()
        .filter(|(name, _)| !name.iter().any(u8::is_ascii_uppercase))
        .take(4);
    let mut routes: Vec<Box<dyn Matcher>> = Vec::new();
    for (name, value) in lowercase {
        routes.push(Box::new(http2_header(name, value)));
        routes.push(Box::new(http2_header_prefix(
            name,
            &value[..value.len().min(3)],
        )));
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal::http2::{
        check_every_request_family, check_hpack_work, frames_wire, hpack_consumers, http2_frames,
        seeds, ABSENT_FIELD,
    };
    use crate::matchers::Http2HeadersError;
    use crate::Verdict;

    /// The seeds of issue 13's block (a 4,064-octet Huffman-coded name,
    /// then thousands of fields named by it) hold the harnesses' work
    /// bound, which `tests/fuzz_corpus.rs` does not count (the library is
    /// built there without `cfg(test)`). Their bytes choose the work bound
    /// (the control byte of one, the last byte of the other), so that the
    /// fuzzer checks it on their mutants, on the whole block for one in
    /// 32 of them.
    #[test]
    fn the_referenced_name_bomb_seeds_stay_within_the_work_bound() {
        let seed = include_bytes!("../../tests/corpus/hpack/referenced-name-bomb");
        let (&control, block) = seed.split_first().unwrap();
        assert_eq!(chosen_checks(control).1, Some(RequestCheck::Work));
        for framing in FRAMINGS {
            check_hpack_work(&framing.wire(block, control), 0..hpack_consumers());
        }
        hpack(seed);
        let frames = include_bytes!("../../tests/corpus/http2_frames/referenced-name-bomb");
        assert_eq!(
            RequestCheck::chosen_by(frames[frames.len() - 1]),
            RequestCheck::Work
        );
        check_hpack_work(&frames_wire(frames), 0..hpack_consumers());
        http2_frames(frames);
    }

    /// Found by the `hpack` target (a harness bug, now fixed): a block
    /// whose first field is the one the harness treats as absent, followed
    /// by an integer that overflows. The matcher for that field rightly
    /// matches before it reaches the invalid integer.
    #[test]
    fn hpack_field_present_before_an_invalid_integer() {
        let mut input = vec![0]; // the control byte, every value in turn
        input.extend(b"\x00\x15x-connmux-fuzz-absent\x00"); // literal, empty value
        input.extend([0xff; 8]); // index integer running past five octets
        for control in 0..=255 {
            input[0] = control;
            hpack(&input);
        }
        let wire = FRAMINGS[0].wire(&input[1..], 0);
        assert_eq!(
            http2_header(ABSENT_FIELD, "").verdict(&wire),
            Verdict::Match
        );
        assert_eq!(request_headers(&wire), Err(Http2HeadersError::Invalid));
    }

    #[test]
    fn the_control_byte_reaches_every_framing_and_check() {
        let mut reached = Vec::new();
        for control in 0..=255 {
            let checks = chosen_checks(control);
            if !reached.contains(&checks) {
                reached.push(checks);
            }
        }
        assert_eq!(
            reached.len(),
            FRAMINGS.len() * (RequestCheck::ALL.len() + 1)
        );
    }

    /// A run of the harness makes one family of checks on one framing of
    /// each seed, as `tests/fuzz_corpus.rs` replays it; here each seed
    /// passes them all, on the framing its control byte names, with the
    /// whole block.
    #[test]
    fn every_check_holds_on_the_seeds() {
        for (name, seed) in seeds("hpack") {
            let Some((&control, block)) = seed.split_first() else {
                continue;
            };
            let block = &block[..block.len().min(MAX_FUZZED_BLOCK)];
            let (framing, _) = chosen_checks(control);
            let wire = FRAMINGS[framing].wire(block, control);
            let next = FRAMINGS[(framing + 1) % FRAMINGS.len()].wire(block, control);
            let outcome = std::panic::catch_unwind(|| {
                check_every_request_family(&wire);
                check_same_answers(block, &wire, &next);
            });
            assert!(outcome.is_ok(), "seed {name} broke an invariant");
        }
    }
}
