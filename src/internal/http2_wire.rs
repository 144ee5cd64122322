//! HTTP/2 wire builders for the `hpack` target: a client's opening whose
//! first request carries a given header block, in one HEADERS frame or
//! split across CONTINUATION frames (RFC 9113 sections 4.1, 6.2, 6.10).

use crate::matchers::http2::MAX_CONTINUATION_FRAMES;
use crate::matchers::HTTP2_PREFACE;

/// An HTTP/2 connection opening: the preface and an empty SETTINGS frame.
fn http2_opening() -> Vec<u8> {
    [HTTP2_PREFACE, &[0, 0, 0, 4, 0, 0, 0, 0, 0]].concat()
}

/// Appends an HTTP/2 frame header (RFC 9113 section 4.1).
fn push_frame_header(wire: &mut Vec<u8>, length: usize, kind: u8, flags: u8, stream: u32) {
    let length = u32::try_from(length).expect("a frame length fits 24 bits");
    wire.extend(&length.to_be_bytes()[1..]);
    wire.extend([kind, flags]);
    wire.extend(stream.to_be_bytes());
}

/// How `header_block_request` frames a header block.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockFraming<'a> {
    /// The sizes of the fragments, cycled: each byte `b` gives a fragment
    /// of `b % 32 + 1` bytes, preceded by an empty CONTINUATION when `b`
    /// has its high bit set. Empty: the whole block in the HEADERS frame.
    pub(super) fragment_sizes: &'a [u8],
    /// Padding on the HEADERS frame (`PADDED`), if any.
    pub(super) padding: Option<u8>,
    /// Whether the HEADERS frame carries a priority block (`PRIORITY`).
    pub(super) priority: bool,
    pub(super) stream: u32,
}

const FRAME_HEADERS: u8 = 0x1;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;

/// A client opening whose first request carries `block` as its header
/// block, framed as `framing` says.
pub(super) fn header_block_request(block: &[u8], framing: BlockFraming<'_>) -> Vec<u8> {
    let mut fragments: Vec<&[u8]> = Vec::new();
    let mut rest = block;
    for &size in framing.fragment_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        // The matchers refuse a block in more pieces than the HEADERS
        // frame and MAX_CONTINUATION_FRAMES: with no room for this round's
        // two pieces (an empty one may come first), the rest goes in one.
        if fragments.len() + 3 > MAX_CONTINUATION_FRAMES + 1 {
            fragments.push(rest);
            break;
        }
        if size & 0x80 != 0 && !fragments.is_empty() {
            fragments.push(&[]);
        }
        let (fragment, after) = rest.split_at(usize::from(size % 32 + 1).min(rest.len()));
        fragments.push(fragment);
        rest = after;
    }
    if fragments.is_empty() {
        fragments.push(block);
    }
    let mut wire = http2_opening();
    let last = fragments.len() - 1;
    for (index, fragment) in fragments.iter().enumerate() {
        let end_headers = if index == last { FLAG_END_HEADERS } else { 0 };
        if index == 0 {
            let mut flags = end_headers;
            let mut overhead = Vec::new();
            if let Some(padding) = framing.padding {
                flags |= FLAG_PADDED;
                overhead.push(padding);
            }
            if framing.priority {
                flags |= FLAG_PRIORITY;
                overhead.extend([0, 0, 0, 0, 15]);
            }
            let padding = usize::from(framing.padding.unwrap_or(0));
            let length = overhead.len() + fragment.len() + padding;
            push_frame_header(&mut wire, length, FRAME_HEADERS, flags, framing.stream);
            wire.extend(overhead);
            wire.extend(*fragment);
            wire.resize(wire.len() + padding, 0);
        } else {
            push_frame_header(
                &mut wire,
                fragment.len(),
                FRAME_CONTINUATION,
                end_headers,
                framing.stream,
            );
            wire.extend(*fragment);
        }
    }
    wire
}
