//! HPACK header block decoding (RFC 7541), without heap allocation: the
//! HTTP/2 matchers in `http2.rs` run it over the first request header block
//! to find a header field.
//!
//! Wire format (RFC 7541 sections 5 and 6), one representation after the
//! other until the block ends:
//!
//! ```text
//! integer (5.1):  value in an N-bit prefix; if the prefix is all ones, the
//!                 rest follows 7 bits per octet, least significant first,
//!                 the high bit of each octet saying "more"
//! string (5.2):   H (1 bit, Huffman-coded) | length (7-bit prefix) | octets
//! 1xxxxxxx        indexed field (6.1): index (7-bit prefix)
//! 01xxxxxx        literal with incremental indexing (6.2.1): name index
//!                 (6-bit prefix; 0 = literal name string follows) | value
//! 001xxxxx        dynamic table size update (6.3): max size (5-bit prefix),
//!                 only before the first field of a block
//! 0000xxxx        literal without indexing (6.2.2): as 6.2.1, 4-bit prefix
//! 0001xxxx        literal never indexed (6.2.3): as 6.2.1, 4-bit prefix
//! ```
//!
//! Indices 1 to 61 name the static table (Appendix A), the next ones the
//! dynamic table, newest first (section 2.3.3). The dynamic table (section
//! 4) lives in a fixed 4096-octet arena, the largest size a peer may use
//! while the server has not raised SETTINGS_HEADER_TABLE_SIZE (and connmux
//! never does), so each entry's octets stay contiguous.

use std::ops::ControlFlow;

use crate::cursor::{require, Stop};
use crate::matchers::huffman::HuffmanDecoder;

/// The largest dynamic table a client may use: the initial value of
/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 section 6.5.2), which connmux never
/// raises.
pub(crate) const MAX_TABLE_SIZE: usize = 4096;

/// What an entry costs beyond its name and value (RFC 7541 section 4.1).
const ENTRY_OVERHEAD: usize = 32;

/// The most entries a table of [`MAX_TABLE_SIZE`] can hold.
const MAX_ENTRIES: usize = MAX_TABLE_SIZE / ENTRY_OVERHEAD;

/// How many octets of a decoded name or value are kept. A longer string
/// can never enter the dynamic table (its entry would exceed
/// [`MAX_TABLE_SIZE`]), so only its first octets and its length are kept.
pub(crate) const FIELD_CAPACITY: usize = MAX_TABLE_SIZE;

/// The most octets an integer may take after its prefix: 5 carry 35 bits,
/// enough for any `u32`.
const MAX_INTEGER_CONTINUATIONS: usize = 5;

/// The static table (RFC 7541 Appendix A): index 1 is the first entry.
const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The octets of one header block, which HTTP/2 may split over several
/// frames.
pub(crate) trait BlockSource {
    /// Takes the next 1 to `max` octets of the block (`max` is at least 1).
    /// `Short` when the input ends first, `Invalid` past the end of the
    /// block.
    fn take_up_to(&mut self, max: usize) -> Result<&[u8], Stop>;

    /// Whether every octet of the block has been taken; `Short` when the
    /// input does not say yet.
    fn is_done(&mut self) -> Result<bool, Stop>;

    /// Takes the next octet.
    fn u8(&mut self) -> Result<u8, Stop> {
        self.take_up_to(1)?.first().copied().ok_or(Stop::Short)
    }
}

/// A decoded name or value: its first [`FIELD_CAPACITY`] octets and its
/// full length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Text<'b> {
    head: &'b [u8],
    length: usize,
}

impl<'b> Text<'b> {
    fn whole(bytes: &'b [u8]) -> Text<'b> {
        Text {
            head: bytes,
            length: bytes.len(),
        }
    }

    /// The string, or `None` if it is longer than [`FIELD_CAPACITY`].
    pub(crate) fn complete(&self) -> Option<&'b [u8]> {
        (self.head.len() == self.length).then_some(self.head)
    }

    /// The first [`FIELD_CAPACITY`] octets of the string (all of it if it
    /// is no longer).
    pub(crate) fn head(&self) -> &'b [u8] {
        self.head
    }
}

/// One decoded header field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderField<'b> {
    pub(crate) name: Text<'b>,
    pub(crate) value: Text<'b>,
}

/// Decodes header blocks with one dynamic table, keeping everything in
/// fixed arrays (about 13 KiB, on the stack of whoever owns it).
pub(crate) struct BlockDecoder {
    table: DynamicTable,
    name: StringBuffer,
    value: StringBuffer,
}

impl BlockDecoder {
    /// A decoder with an empty dynamic table of [`MAX_TABLE_SIZE`] octets.
    pub(crate) fn new() -> BlockDecoder {
        BlockDecoder {
            table: DynamicTable::new(),
            name: StringBuffer::new(),
            value: StringBuffer::new(),
        }
    }

    /// Decodes the header block in `source`, handing each field to
    /// `on_field` in order and stopping early when it breaks.
    ///
    /// `Ok(Continue)` once the block ended; `Invalid` for a malformed
    /// block (an integer that overflows `u32` or runs past five octets, an
    /// index 0 or past the tables, bad Huffman code, a size update past
    /// [`MAX_TABLE_SIZE`] or after a field, a string cut by the end of the
    /// block).
    pub(crate) fn decode<B>(
        &mut self,
        source: &mut impl BlockSource,
        mut on_field: impl FnMut(HeaderField<'_>) -> ControlFlow<B>,
    ) -> Result<ControlFlow<B>, Stop> {
        let mut at_block_start = true;
        while !source.is_done()? {
            let first = source.u8()?;
            let flow = if first & 0x80 != 0 {
                let index = integer(source, first, 7)?;
                let (name, value) = lookup(&self.table, index)?;
                on_field(HeaderField {
                    name: Text::whole(name),
                    value: Text::whole(value),
                })
            } else if first & 0xe0 == 0x20 {
                require(at_block_start)?;
                let max_size = integer(source, first, 5)?;
                self.table.set_max_size(max_size)?;
                continue;
            } else {
                let with_indexing = first & 0x40 != 0;
                let prefix_bits = if with_indexing { 6 } else { 4 };
                let name_index = integer(source, first, prefix_bits)?;
                if name_index == 0 {
                    read_string(source, &mut self.name)?;
                } else {
                    let (name, _) = lookup(&self.table, name_index)?;
                    self.name.clear();
                    self.name.extend(name);
                }
                read_string(source, &mut self.value)?;
                if with_indexing {
                    self.table.insert(self.name.text(), self.value.text());
                }
                on_field(HeaderField {
                    name: self.name.text(),
                    value: self.value.text(),
                })
            };
            at_block_start = false;
            if let ControlFlow::Break(stop) = flow {
                return Ok(ControlFlow::Break(stop));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Reads an integer whose prefix is the low `prefix_bits` bits of `first`
/// (RFC 7541 section 5.1).
fn integer(source: &mut impl BlockSource, first: u8, prefix_bits: u32) -> Result<usize, Stop> {
    let prefix_max = u8::MAX >> (8 - prefix_bits);
    let mut value = u64::from(first & prefix_max);
    if value < u64::from(prefix_max) {
        return Ok(value as usize);
    }
    for continuation in 0..MAX_INTEGER_CONTINUATIONS {
        let octet = source.u8()?;
        value += u64::from(octet & 0x7f) << (7 * continuation);
        require(value <= u64::from(u32::MAX))?;
        if octet & 0x80 == 0 {
            return Ok(value as usize);
        }
    }
    Err(Stop::Invalid)
}

/// Reads a string literal (RFC 7541 section 5.2) into `out`.
fn read_string(source: &mut impl BlockSource, out: &mut StringBuffer) -> Result<(), Stop> {
    let first = source.u8()?;
    let mut left = integer(source, first, 7)?;
    out.clear();
    let mut huffman = (first & 0x80 != 0).then(HuffmanDecoder::default);
    while left > 0 {
        let piece = source.take_up_to(left)?;
        require(!piece.is_empty()).map_err(|_| Stop::Short)?;
        left -= piece.len();
        match &mut huffman {
            Some(decoder) => decoder.feed(piece, |octet| out.push(octet))?,
            None => out.extend(piece),
        }
    }
    match huffman {
        Some(decoder) => decoder.finish(),
        None => Ok(()),
    }
}

/// The name and value at `index` of the static table followed by the
/// dynamic table (RFC 7541 section 2.3.3).
fn lookup(table: &DynamicTable, index: usize) -> Result<(&[u8], &[u8]), Stop> {
    require(index != 0)?;
    match STATIC_TABLE.get(index - 1) {
        Some(&entry) => Ok(entry),
        None => table.get(index - STATIC_TABLE.len()).ok_or(Stop::Invalid),
    }
}

/// A decoded string in a fixed buffer: its first [`FIELD_CAPACITY`] octets
/// and its full length.
struct StringBuffer {
    octets: [u8; FIELD_CAPACITY],
    length: usize,
}

impl StringBuffer {
    fn new() -> StringBuffer {
        StringBuffer {
            octets: [0; FIELD_CAPACITY],
            length: 0,
        }
    }

    fn clear(&mut self) {
        self.length = 0;
    }

    fn push(&mut self, octet: u8) {
        if let Some(slot) = self.octets.get_mut(self.length) {
            *slot = octet;
        }
        self.length = self.length.saturating_add(1);
    }

    fn extend(&mut self, octets: &[u8]) {
        let kept = self.length.min(FIELD_CAPACITY);
        let copied = octets.len().min(FIELD_CAPACITY - kept);
        self.octets[kept..kept + copied].copy_from_slice(&octets[..copied]);
        self.length = self.length.saturating_add(octets.len());
    }

    fn text(&self) -> Text<'_> {
        Text {
            head: &self.octets[..self.length.min(FIELD_CAPACITY)],
            length: self.length,
        }
    }
}

/// Where one dynamic table entry's name and value sit in the arena.
#[derive(Debug, Clone, Copy, Default)]
struct EntrySpan {
    offset: u16,
    name_length: u16,
    value_length: u16,
}

impl EntrySpan {
    fn octets(&self) -> usize {
        usize::from(self.name_length) + usize::from(self.value_length)
    }
}

/// The dynamic table (RFC 7541 section 4): entries' names and values lie
/// in insertion order in `arena[live_start..live_end]`, their spans in a
/// ring of at most [`MAX_ENTRIES`].
struct DynamicTable {
    arena: [u8; MAX_TABLE_SIZE],
    live_start: usize,
    live_end: usize,
    spans: [EntrySpan; MAX_ENTRIES],
    oldest: usize,
    count: usize,
    /// The table's size as RFC 7541 section 4.1 counts it.
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    fn new() -> DynamicTable {
        DynamicTable {
            arena: [0; MAX_TABLE_SIZE],
            live_start: 0,
            live_end: 0,
            spans: [EntrySpan::default(); MAX_ENTRIES],
            oldest: 0,
            count: 0,
            size: 0,
            max_size: MAX_TABLE_SIZE,
        }
    }

    /// The entry at dynamic `index` (1 is the newest).
    fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        if index == 0 || index > self.count {
            return None;
        }
        let span = self.spans[(self.oldest + self.count - index) % MAX_ENTRIES];
        let start = usize::from(span.offset);
        let middle = start + usize::from(span.name_length);
        let end = middle + usize::from(span.value_length);
        Some((self.arena.get(start..middle)?, self.arena.get(middle..end)?))
    }

    fn evict_oldest(&mut self) {
        let span = self.spans[self.oldest];
        self.live_start += span.octets();
        self.size -= span.octets() + ENTRY_OVERHEAD;
        self.oldest = (self.oldest + 1) % MAX_ENTRIES;
        self.count -= 1;
        if self.count == 0 {
            self.live_start = 0;
            self.live_end = 0;
        }
    }

    /// Applies a dynamic table size update (RFC 7541 section 6.3).
    fn set_max_size(&mut self, max_size: usize) -> Result<(), Stop> {
        require(max_size <= MAX_TABLE_SIZE)?;
        self.max_size = max_size;
        while self.size > self.max_size {
            self.evict_oldest();
        }
        Ok(())
    }

    /// Adds an entry, evicting the oldest ones to make room; an entry
    /// larger than the table empties it (RFC 7541 section 4.4).
    fn insert(&mut self, name: Text<'_>, value: Text<'_>) {
        let entry_size = name
            .length
            .saturating_add(value.length)
            .saturating_add(ENTRY_OVERHEAD);
        if entry_size > self.max_size {
            while self.count > 0 {
                self.evict_oldest();
            }
            return;
        }
        while self.size + entry_size > self.max_size {
            self.evict_oldest();
        }
        // Both strings fit FIELD_CAPACITY, and the table now has room, so
        // the live octets plus the new ones fit the arena.
        let octets = name.head.len() + value.head.len();
        if self.live_end + octets > MAX_TABLE_SIZE {
            self.arena.copy_within(self.live_start..self.live_end, 0);
            for position in 0..self.count {
                let span = &mut self.spans[(self.oldest + position) % MAX_ENTRIES];
                span.offset -= self.live_start as u16;
            }
            self.live_end -= self.live_start;
            self.live_start = 0;
        }
        let start = self.live_end;
        let middle = start + name.head.len();
        self.arena[start..middle].copy_from_slice(name.head);
        self.arena[middle..middle + value.head.len()].copy_from_slice(value.head);
        self.spans[(self.oldest + self.count) % MAX_ENTRIES] = EntrySpan {
            offset: start as u16,
            name_length: name.head.len() as u16,
            value_length: value.head.len() as u16,
        };
        self.count += 1;
        self.size += entry_size;
        self.live_end += octets;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cursor::Cursor;
    use crate::matchers::huffman::tests::huffman_encode;
    use proptest::prelude::*;

    /// A header block held whole in one slice; with `complete` false, its
    /// end is where the input stops rather than where the block stops.
    struct SliceBlock<'a> {
        octets: Cursor<'a>,
        complete: bool,
    }

    impl<'a> SliceBlock<'a> {
        fn new(octets: &'a [u8], complete: bool) -> Self {
            SliceBlock {
                octets: Cursor::new(octets),
                complete,
            }
        }

        fn end(&self) -> Stop {
            if self.complete {
                Stop::Invalid
            } else {
                Stop::Short
            }
        }
    }

    impl BlockSource for SliceBlock<'_> {
        fn take_up_to(&mut self, max: usize) -> Result<&[u8], Stop> {
            match self.octets.remaining() {
                0 => Err(self.end()),
                remaining => self.octets.take(max.min(remaining)),
            }
        }

        fn is_done(&mut self) -> Result<bool, Stop> {
            match self.octets.remaining() {
                0 if self.complete => Ok(true),
                0 => Err(Stop::Short),
                _ => Ok(false),
            }
        }
    }

    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    /// Decodes a complete block with `decoder`, collecting its fields.
    fn decode_with(decoder: &mut BlockDecoder, block: &[u8]) -> Result<Fields, Stop> {
        let mut fields = Vec::new();
        let flow = decoder.decode(&mut SliceBlock::new(block, true), |field| {
            fields.push((field.name.head().to_vec(), field.value.head().to_vec()));
            ControlFlow::<()>::Continue(())
        })?;
        assert_eq!(flow, ControlFlow::Continue(()));
        Ok(fields)
    }

    fn decode(block: &[u8]) -> Result<Fields, Stop> {
        decode_with(&mut BlockDecoder::new(), block)
    }

    fn fields(list: &[(&str, &str)]) -> Fields {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    /// Appends `value` as an integer with a `prefix_bits` prefix after the
    /// high bits `flags` (RFC 7541 section 5.1).
    pub(crate) fn encode_integer(out: &mut Vec<u8>, flags: u8, prefix_bits: u32, value: usize) {
        let prefix_max = (1usize << prefix_bits) - 1;
        if value < prefix_max {
            out.push(flags | value as u8);
            return;
        }
        out.push(flags | prefix_max as u8);
        let mut rest = value - prefix_max;
        while rest >= 0x80 {
            out.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        out.push(rest as u8);
    }

    /// Appends a string literal, Huffman-coded or not.
    pub(crate) fn encode_string(out: &mut Vec<u8>, text: &[u8], huffman: bool) {
        if huffman {
            let coded = huffman_encode(text);
            encode_integer(out, 0x80, 7, coded.len());
            out.extend(coded);
        } else {
            encode_integer(out, 0, 7, text.len());
            out.extend(text);
        }
    }

    /// How a literal field is represented (RFC 7541 section 6.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Literal {
        WithIndexing,
        WithoutIndexing,
        NeverIndexed,
    }

    /// Appends a literal field whose name is `name_index` in the tables, or
    /// the literal `name` when `name_index` is 0.
    pub(crate) fn encode_literal(
        out: &mut Vec<u8>,
        kind: Literal,
        name_index: usize,
        name: &[u8],
        value: &[u8],
        huffman: bool,
    ) {
        let (flags, prefix_bits) = match kind {
            Literal::WithIndexing => (0x40, 6),
            Literal::WithoutIndexing => (0x00, 4),
            Literal::NeverIndexed => (0x10, 4),
        };
        encode_integer(out, flags, prefix_bits, name_index);
        if name_index == 0 {
            encode_string(out, name, huffman);
        }
        encode_string(out, value, huffman);
    }

    #[test]
    fn integers_of_rfc_7541_appendix_c1() {
        let cases: &[(&[u8], u32, Result<usize, Stop>)] = &[
            // C.1.1: 10 in a 5-bit prefix.
            (&[0x0a], 5, Ok(10)),
            // C.1.2: 1337 in a 5-bit prefix.
            (&[0x1f, 0x9a, 0x0a], 5, Ok(1337)),
            // C.1.3: 42 at an octet boundary.
            (&[0x2a], 8, Ok(42)),
            (&[0x1f, 0x00], 5, Ok(31)),
            (&[0x1f, 0x9a], 5, Err(Stop::Short)),
            // u32::MAX in five continuation octets.
            (
                &[0x1f, 0xe0, 0xff, 0xff, 0xff, 0x0f],
                5,
                Ok(u32::MAX as usize),
            ),
            // One more overflows.
            (&[0x1f, 0xe1, 0xff, 0xff, 0xff, 0x0f], 5, Err(Stop::Invalid)),
            // Overflow is seen before the integer ends.
            (&[0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f], 5, Err(Stop::Invalid)),
            // A sixth continuation octet is too long even if it adds nothing.
            (&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80], 5, Err(Stop::Invalid)),
            (&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x00], 5, Ok(31)),
        ];
        for (octets, prefix_bits, want) in cases {
            let mut source = SliceBlock::new(&octets[1..], false);
            assert_eq!(
                integer(&mut source, octets[0], *prefix_bits),
                *want,
                "{octets:02x?}"
            );
        }
    }

    #[test]
    fn the_encoder_writes_rfc_integers() {
        let mut out = Vec::new();
        encode_integer(&mut out, 0xe0, 5, 1337);
        assert_eq!(out, [0xff, 0x9a, 0x0a]);
    }

    #[test]
    fn rfc_7541_appendix_c2_single_fields() {
        // C.2.1: literal with indexing, literal name.
        let c21: &[u8] = &[
            0x40, 0x0a, b'c', b'u', b's', b't', b'o', b'm', b'-', b'k', b'e', b'y', 0x0d, b'c',
            b'u', b's', b't', b'o', b'm', b'-', b'h', b'e', b'a', b'd', b'e', b'r',
        ];
        assert_eq!(decode(c21), Ok(fields(&[("custom-key", "custom-header")])));
        // C.2.2: literal without indexing, indexed name (:path).
        let c22: &[u8] = &[
            0x04, 0x0c, b'/', b's', b'a', b'm', b'p', b'l', b'e', b'/', b'p', b'a', b't', b'h',
        ];
        assert_eq!(decode(c22), Ok(fields(&[(":path", "/sample/path")])));
        // C.2.3: never indexed, literal name.
        let c23: &[u8] = &[
            0x10, 0x08, b'p', b'a', b's', b's', b'w', b'o', b'r', b'd', 0x06, b's', b'e', b'c',
            b'r', b'e', b't',
        ];
        assert_eq!(decode(c23), Ok(fields(&[("password", "secret")])));
        // C.2.4: indexed field.
        assert_eq!(decode(&[0x82]), Ok(fields(&[(":method", "GET")])));
    }

    /// RFC 7541 Appendix C.4: three Huffman-coded requests on one
    /// connection, each adding to the dynamic table.
    #[test]
    fn rfc_7541_appendix_c4_requests_with_huffman() {
        let mut decoder = BlockDecoder::new();
        let c41: &[u8] = &[
            0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab,
            0x90, 0xf4, 0xff,
        ];
        let c42: &[u8] = &[
            0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf,
        ];
        let c43: &[u8] = &[
            0x82, 0x87, 0x85, 0xbf, 0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f,
            0x89, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf,
        ];
        let request = [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ];
        assert_eq!(decode_with(&mut decoder, c41), Ok(fields(&request)));
        assert_eq!(decoder.table.size, 57);
        let mut second = request.to_vec();
        second.push(("cache-control", "no-cache"));
        assert_eq!(decode_with(&mut decoder, c42), Ok(fields(&second)));
        assert_eq!(decoder.table.size, 110);
        let third = [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ];
        assert_eq!(decode_with(&mut decoder, c43), Ok(fields(&third)));
        assert_eq!(decoder.table.size, 164);
        assert_eq!(
            decoder.table.get(1),
            Some((&b"custom-key"[..], &b"custom-value"[..]))
        );
        assert_eq!(
            decoder.table.get(3),
            Some((&b":authority"[..], &b"www.example.com"[..]))
        );
    }

    /// RFC 7541 Appendix C.6: three Huffman-coded responses with a
    /// 256-octet table, so entries are evicted. The table size is set by a
    /// size update (`3f e1 01` = 256) at the start of the first block.
    #[test]
    fn rfc_7541_appendix_c6_responses_with_eviction() {
        let mut decoder = BlockDecoder::new();
        let c61: &[u8] = &[
            0x3f, 0xe1, 0x01, // size update to 256
            0x48, 0x82, 0x64, 0x02, 0x58, 0x85, 0xae, 0xc3, 0x77, 0x1a, 0x4b, 0x61, 0x96, 0xd0,
            0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05, 0x95, 0x04, 0x0b, 0x81,
            0x66, 0xe0, 0x82, 0xa6, 0x2d, 0x1b, 0xff, 0x6e, 0x91, 0x9d, 0x29, 0xad, 0x17, 0x18,
            0x63, 0xc7, 0x8f, 0x0b, 0x97, 0xc8, 0xe9, 0xae, 0x82, 0xae, 0x43, 0xd3,
        ];
        let c62: &[u8] = &[0x48, 0x83, 0x64, 0x0e, 0xff, 0xc1, 0xc0, 0xbf];
        let c63: &[u8] = &[
            0x88, 0xc1, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20,
            0x05, 0x95, 0x04, 0x0b, 0x81, 0x66, 0xe0, 0x84, 0xa6, 0x2d, 0x1b, 0xff, 0xc0, 0x5a,
            0x83, 0x9b, 0xd9, 0xab, 0x77, 0xad, 0x94, 0xe7, 0x82, 0x1d, 0xd7, 0xf2, 0xe6, 0xc7,
            0xb3, 0x35, 0xdf, 0xdf, 0xcd, 0x5b, 0x39, 0x60, 0xd5, 0xaf, 0x27, 0x08, 0x7f, 0x36,
            0x72, 0xc1, 0xab, 0x27, 0x0f, 0xb5, 0x29, 0x1f, 0x95, 0x87, 0x31, 0x60, 0x65, 0xc0,
            0x03, 0xed, 0x4e, 0xe5, 0xb1, 0x06, 0x3d, 0x50, 0x07,
        ];
        let first = [
            (":status", "302"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ];
        assert_eq!(decode_with(&mut decoder, c61), Ok(fields(&first)));
        assert_eq!(decoder.table.size, 222);
        let mut second = first;
        second[0] = (":status", "307");
        assert_eq!(decode_with(&mut decoder, c62), Ok(fields(&second)));
        assert_eq!(decoder.table.size, 222);
        let third = [
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", "https://www.example.com"),
            ("content-encoding", "gzip"),
            (
                "set-cookie",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            ),
        ];
        assert_eq!(decode_with(&mut decoder, c63), Ok(fields(&third)));
        assert_eq!(decoder.table.size, 215);
        assert_eq!(decoder.table.count, 3);
        assert_eq!(decoder.table.get(4), None);
    }

    #[test]
    fn malformed_blocks_are_invalid() {
        let cases: &[(&str, &[u8])] = &[
            ("index 0", &[0x80]),
            ("index past the static table", &[0xbe]),
            ("name index past the tables", &[0x7f, 0x00, 0x00]),
            ("integer overflow", &[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            ("size update past 4096", &[0x3f, 0xe2, 0x1f]),
            ("size update after a field", &[0x82, 0x20]),
            ("string cut by the block end", &[0x04, 0x05, b'/', b'a']),
            ("Huffman EOS", &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]),
            ("Huffman padding of zeros", &[0x04, 0x81, 0x18]),
            ("name string missing", &[0x40]),
        ];
        for (what, block) in cases {
            assert_eq!(decode(block), Err(Stop::Invalid), "{what}");
        }
    }

    #[test]
    fn size_updates_at_the_start_evict_and_allow_zero() {
        let mut block = Vec::new();
        encode_literal(&mut block, Literal::WithIndexing, 0, b"a", b"b", false);
        assert_eq!(decode(&block).unwrap().len(), 1);
        let mut decoder = BlockDecoder::new();
        decode_with(&mut decoder, &block).unwrap();
        assert_eq!(decoder.table.count, 1);
        // Two updates (to 0, then back to 4096) empty the table; its old
        // entry is then out of range.
        assert_eq!(
            decode_with(&mut decoder, &[0x20, 0x3f, 0xe1, 0x1f]),
            Ok(vec![])
        );
        assert_eq!(decoder.table.count, 0);
        assert_eq!(decode_with(&mut decoder, &[0xbe]), Err(Stop::Invalid));
    }

    #[test]
    fn a_new_entry_may_name_the_entry_it_evicts() {
        // A 50-octet table holds one 34-octet entry: inserting a field that
        // takes its name from entry 62 evicts that entry first.
        let mut block = vec![0x3f, 0x13]; // size update to 50
        encode_literal(&mut block, Literal::WithIndexing, 0, b"k", b"v", false);
        encode_literal(&mut block, Literal::WithIndexing, 62, b"", b"w", false);
        block.push(0xbe);
        assert_eq!(
            decode(&block),
            Ok(fields(&[("k", "v"), ("k", "w"), ("k", "w")]))
        );
    }

    #[test]
    fn an_entry_larger_than_the_table_empties_it() {
        let big = vec![b'x'; 5000];
        let mut block = Vec::new();
        encode_literal(&mut block, Literal::WithIndexing, 0, b"a", b"b", true);
        encode_literal(&mut block, Literal::WithIndexing, 0, b"big", &big, false);
        let mut decoder = BlockDecoder::new();
        let mut lengths = Vec::new();
        let flow = decoder.decode(&mut SliceBlock::new(&block, true), |field| {
            lengths.push((field.value.head().len(), field.value.complete().is_some()));
            ControlFlow::<()>::Continue(())
        });
        assert_eq!(flow, Ok(ControlFlow::Continue(())));
        assert_eq!(lengths, [(1, true), (FIELD_CAPACITY, false)]);
        assert_eq!(decoder.table.count, 0);
        assert_eq!(decoder.table.size, 0);
    }

    #[test]
    fn the_arena_compacts_when_it_wraps() {
        // 100 entries of 30 + 40 + 32 = 102 octets churn through a
        // 4096-octet table; each must still read back whole.
        let mut decoder = BlockDecoder::new();
        for round in 0..100u8 {
            let name = vec![b'a' + round % 26; 30];
            let value = vec![round; 40];
            let mut block = Vec::new();
            encode_literal(&mut block, Literal::WithIndexing, 0, &name, &value, false);
            block.push(0xbe); // the entry just added
            let decoded = decode_with(&mut decoder, &block).unwrap();
            assert_eq!(decoded[1], (name.clone(), value.clone()), "round {round}");
            assert!(decoder.table.size <= MAX_TABLE_SIZE);
        }
        assert_eq!(decoder.table.count, 4096 / 102);
    }

    #[test]
    fn a_cut_block_needs_more() {
        let mut block = Vec::new();
        encode_literal(
            &mut block,
            Literal::WithIndexing,
            0,
            b"name",
            b"value",
            true,
        );
        for cut in 0..block.len() {
            let mut decoder = BlockDecoder::new();
            let result = decoder.decode(&mut SliceBlock::new(&block[..cut], false), |_| {
                ControlFlow::<()>::Continue(())
            });
            assert_eq!(result, Err(Stop::Short), "cut at {cut}");
        }
    }

    /// One generated field and how it is represented.
    #[derive(Debug, Clone)]
    struct GeneratedField {
        name: Vec<u8>,
        value: Vec<u8>,
        kind: Literal,
        huffman: bool,
    }

    fn generated_field() -> impl Strategy<Value = GeneratedField> {
        (
            proptest::collection::vec(b'a'..=b'z', 1..12),
            proptest::collection::vec(any::<u8>(), 0..24),
            prop_oneof![
                Just(Literal::WithIndexing),
                Just(Literal::WithoutIndexing),
                Just(Literal::NeverIndexed)
            ],
            any::<bool>(),
        )
            .prop_map(|(name, value, kind, huffman)| GeneratedField {
                name,
                value,
                kind,
                huffman,
            })
    }

    proptest! {
        #[test]
        fn literal_fields_and_their_references_decode(
            generated in proptest::collection::vec(generated_field(), 0..40),
        ) {
            let mut block = Vec::new();
            let mut want = Vec::new();
            let mut indexed: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for field in &generated {
                encode_literal(&mut block, field.kind, 0, &field.name, &field.value, field.huffman);
                want.push((field.name.clone(), field.value.clone()));
                if field.kind == Literal::WithIndexing {
                    indexed.insert(0, (field.name.clone(), field.value.clone()));
                    // Refer to the oldest entry still in the table.
                    let mut size = 0;
                    let live = indexed
                        .iter()
                        .take_while(|(n, v)| {
                            size += n.len() + v.len() + 32;
                            size <= MAX_TABLE_SIZE
                        })
                        .count();
                    encode_integer(&mut block, 0x80, 7, 61 + live);
                    want.push(indexed[live - 1].clone());
                }
            }
            prop_assert_eq!(decode(&block), Ok(want));
        }

        #[test]
        fn arbitrary_blocks_never_panic(block in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&block);
            let mut decoder = BlockDecoder::new();
            let _ = decoder.decode(&mut SliceBlock::new(&block, false), |_| {
                ControlFlow::<()>::Continue(())
            });
        }
    }
}
