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
/// frames. A clone reads the block again from where the original was.
pub(crate) trait BlockSource: Clone {
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

    /// Takes the next `count` octets and drops them.
    fn skip(&mut self, count: usize) -> Result<(), Stop> {
        self.take_pieces(count, |_| Ok(ControlFlow::Continue(())))
            .map(drop)
    }

    /// Takes the next `count` octets piece by piece, handing each piece to
    /// `each` until it breaks.
    fn take_pieces(
        &mut self,
        count: usize,
        mut each: impl FnMut(&[u8]) -> Result<ControlFlow<()>, Stop>,
    ) -> Result<ControlFlow<()>, Stop> {
        let mut left = count;
        while left > 0 {
            let piece = self.take_up_to(left)?;
            require(!piece.is_empty()).map_err(|_| Stop::Short)?;
            left -= piece.len();
            if each(piece)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
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

/// A string literal as it was sent (RFC 7541 section 5.2): where its
/// octets start in the block, how many there are, and whether they are
/// Huffman-coded. It is decoded only when someone asks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SentString {
    offset: u32,
    length: u32,
    huffman: bool,
}

impl SentString {
    /// The most octets the string can decode to: every Huffman code is at
    /// least 5 bits long (RFC 7541 Appendix B).
    fn max_decoded_length(&self) -> usize {
        let length = self.length as usize;
        if self.huffman {
            length.saturating_mul(8) / 5
        } else {
            length
        }
    }
}

/// A field's name or value: from the static table, or sent in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldString {
    Static(&'static [u8]),
    Sent(SentString),
}

impl Default for FieldString {
    fn default() -> FieldString {
        FieldString::Static(b"")
    }
}

/// One header field, its name and value not yet decoded: [`Field::equals`],
/// [`Field::decode`] and [`Field::text`] read them from the block on demand.
pub(crate) struct Field<'d, S> {
    pub(crate) name: FieldString,
    pub(crate) value: FieldString,
    block: &'d S,
}

impl<S: BlockSource> Field<'_, S> {
    /// Whether `string` is `plain`, given `plain` Huffman-coded as `coded`.
    /// A Huffman-coded string is compared as sent: the coding of a string
    /// is unique (see [`crate::matchers::huffman::huffman_encode`]), so nothing is decoded and a bad
    /// code is simply unequal.
    pub(crate) fn equals(
        &self,
        string: FieldString,
        plain: &[u8],
        coded: &[u8],
    ) -> Result<bool, Stop> {
        let sent = match string {
            FieldString::Static(octets) => return Ok(octets == plain),
            FieldString::Sent(sent) => sent,
        };
        let want = if sent.huffman { coded } else { plain };
        if sent.length as usize != want.len() {
            return Ok(false);
        }
        let mut rest = want;
        let flow = self.pieces(sent, |piece| {
            let (head, tail) = rest.split_at(piece.len().min(rest.len()));
            rest = tail;
            Ok(if head == piece {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            })
        })?;
        Ok(flow.is_continue())
    }

    /// Hands the decoded octets of `string` to `emit` until it breaks.
    /// `Invalid` for a bad Huffman code before that point, or anywhere in
    /// the string (its padding included) if `emit` never breaks.
    pub(crate) fn decode(
        &self,
        string: FieldString,
        mut emit: impl FnMut(u8) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Stop> {
        decode_string(self.block, string, &mut emit)
    }

    /// Decodes `string` whole into `buffer`; `Invalid` for a bad Huffman
    /// code anywhere in it.
    pub(crate) fn text<'t>(
        &self,
        string: FieldString,
        buffer: &'t mut StringBuffer,
    ) -> Result<Text<'t>, Stop> {
        buffer.clear();
        let _ = self.decode(string, |octet| {
            buffer.push(octet);
            ControlFlow::Continue(())
        })?;
        Ok(buffer.text())
    }

    fn pieces(
        &self,
        sent: SentString,
        each: impl FnMut(&[u8]) -> Result<ControlFlow<()>, Stop>,
    ) -> Result<ControlFlow<()>, Stop> {
        sent_pieces(self.block, sent, each)
    }
}

/// Checks that every string sent in a block decodes, each one once: a
/// field that names an earlier field's string through the dynamic table
/// relies on the check made when that string was sent. Without this, a
/// block of one-octet references to a 4 KiB entry would decode the entry
/// once per reference.
///
/// Fields must be checked in block order, name before value.
#[derive(Debug, Default)]
pub(crate) struct SentStringsChecked {
    /// Where the last string checked ends in the block.
    end: u32,
}

impl SentStringsChecked {
    /// `Invalid` if `string`, sent in `field` for the first time, has a
    /// bad Huffman code.
    pub(crate) fn check<S: BlockSource>(
        &mut self,
        field: &Field<'_, S>,
        string: FieldString,
    ) -> Result<(), Stop> {
        let FieldString::Sent(sent) = string else {
            return Ok(());
        };
        if sent.offset < self.end {
            return Ok(());
        }
        self.end = sent.offset.saturating_add(sent.length);
        field
            .decode(string, |_| ControlFlow::Continue(()))
            .map(drop)
    }
}

/// Hands the octets of `sent`, as sent, to `each` until it breaks;
/// `block` reads the block from its start.
fn sent_pieces(
    block: &impl BlockSource,
    sent: SentString,
    each: impl FnMut(&[u8]) -> Result<ControlFlow<()>, Stop>,
) -> Result<ControlFlow<()>, Stop> {
    let mut source = block.clone();
    source.skip(sent.offset as usize)?;
    source.take_pieces(sent.length as usize, each)
}

/// Hands the decoded octets of `string` to `emit` until it breaks, as
/// [`Field::decode`].
fn decode_string(
    block: &impl BlockSource,
    string: FieldString,
    emit: &mut impl FnMut(u8) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, Stop> {
    let sent = match string {
        FieldString::Static(octets) => {
            return Ok(octets.iter().try_for_each(|&octet| emit(octet)));
        }
        FieldString::Sent(sent) => sent,
    };
    if !sent.huffman {
        return sent_pieces(block, sent, |piece| {
            Ok(piece.iter().try_for_each(|&octet| emit(octet)))
        });
    }
    let mut decoder = HuffmanDecoder::default();
    let flow = sent_pieces(block, sent, |piece| decoder.feed(piece, &mut *emit))?;
    if flow.is_continue() {
        decoder.finish()?;
    }
    Ok(flow)
}

/// How many octets `string` decodes to; `Invalid` for a bad Huffman code.
fn decoded_length(block: &impl BlockSource, string: FieldString) -> Result<usize, Stop> {
    let mut length = 0usize;
    let _ = decode_string(block, string, &mut |_| {
        length += 1;
        ControlFlow::Continue(())
    })?;
    Ok(length)
}

/// Decodes the header block in `source` with a new dynamic table of
/// [`MAX_TABLE_SIZE`] octets, handing each field to `on_field` in order
/// and stopping early when it breaks or fails.
///
/// `Ok(Continue)` once the block ended; `Invalid` for a malformed block
/// (an integer that overflows `u32` or runs past five octets, an index 0
/// or past the tables, a size update past [`MAX_TABLE_SIZE`] or after a
/// field, a string cut by the end of the block). Strings are not decoded
/// here: a bad Huffman code is `Invalid` only when `on_field` decodes the
/// string, or when the table must know the exact size of an entry to
/// decide what to evict (RFC 7541 section 4.4).
pub(crate) fn decode_block<S: BlockSource, B>(
    source: S,
    on_field: impl FnMut(Field<'_, S>) -> Result<ControlFlow<B>, Stop>,
) -> Result<ControlFlow<B>, Stop> {
    decode_with_table(source, &mut DynamicTable::new(), on_field)
}

/// [`decode_block`] with the dynamic table `table`, which must be new.
fn decode_with_table<S: BlockSource, B>(
    source: S,
    table: &mut DynamicTable,
    mut on_field: impl FnMut(Field<'_, S>) -> Result<ControlFlow<B>, Stop>,
) -> Result<ControlFlow<B>, Stop> {
    let block = source.clone();
    let mut reader = CountingSource { source, taken: 0 };
    let mut at_block_start = true;
    while !reader.source.is_done()? {
        let first = reader.u8()?;
        let (name, value) = if first & 0x80 != 0 {
            let index = integer(&mut reader, first, 7)?;
            lookup(table, index)?
        } else if first & 0xe0 == 0x20 {
            require(at_block_start)?;
            let max_size = integer(&mut reader, first, 5)?;
            table.set_max_size(max_size)?;
            continue;
        } else {
            let with_indexing = first & 0x40 != 0;
            let prefix_bits = if with_indexing { 6 } else { 4 };
            let name_index = integer(&mut reader, first, prefix_bits)?;
            let name = if name_index == 0 {
                FieldString::Sent(read_string(&mut reader)?)
            } else {
                lookup(table, name_index)?.0
            };
            let value = read_string(&mut reader)?;
            if with_indexing {
                table.insert(name, value, &block)?;
            }
            (name, FieldString::Sent(value))
        };
        at_block_start = false;
        let field = Field {
            name,
            value,
            block: &block,
        };
        if let ControlFlow::Break(stop) = on_field(field)? {
            return Ok(ControlFlow::Break(stop));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// A block source that counts the octets taken, so that a string can say
/// where it starts.
struct CountingSource<S> {
    source: S,
    taken: usize,
}

impl<S: BlockSource> CountingSource<S> {
    fn u8(&mut self) -> Result<u8, Stop> {
        let octet = self.source.u8()?;
        self.taken += 1;
        Ok(octet)
    }
}

/// Reads an integer whose prefix is the low `prefix_bits` bits of `first`
/// (RFC 7541 section 5.1).
#[inline]
fn integer<S: BlockSource>(
    source: &mut CountingSource<S>,
    first: u8,
    prefix_bits: u32,
) -> Result<usize, Stop> {
    let prefix_max = u8::MAX >> (8 - prefix_bits);
    let value = first & prefix_max;
    if value < prefix_max {
        return Ok(usize::from(value));
    }
    integer_continuation(source, u64::from(value))
}

/// The rest of an integer whose prefix, `value`, is all ones.
fn integer_continuation<S: BlockSource>(
    source: &mut CountingSource<S>,
    mut value: u64,
) -> Result<usize, Stop> {
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

/// Reads past a string literal (RFC 7541 section 5.2), which must be
/// there whole, and says where it lies.
fn read_string<S: BlockSource>(source: &mut CountingSource<S>) -> Result<SentString, Stop> {
    let first = source.u8()?;
    let length = integer(source, first, 7)?;
    let offset = u32::try_from(source.taken).map_err(|_| Stop::Invalid)?;
    source.source.skip(length)?;
    source.taken = source.taken.saturating_add(length);
    Ok(SentString {
        offset,
        length: u32::try_from(length).map_err(|_| Stop::Invalid)?,
        huffman: first & 0x80 != 0,
    })
}

/// The name and value at `index` of the static table followed by the
/// dynamic table (RFC 7541 section 2.3.3).
fn lookup(table: &DynamicTable, index: usize) -> Result<(FieldString, FieldString), Stop> {
    require(index != 0)?;
    match STATIC_TABLE.get(index - 1) {
        Some(&(name, value)) => Ok((FieldString::Static(name), FieldString::Static(value))),
        None => table.get(index - STATIC_TABLE.len()).ok_or(Stop::Invalid),
    }
}

/// A decoded string in a fixed buffer: its first [`FIELD_CAPACITY`] octets
/// and its full length.
pub(crate) struct StringBuffer {
    octets: [u8; FIELD_CAPACITY],
    length: usize,
}

impl StringBuffer {
    /// An empty buffer.
    pub(crate) fn new() -> StringBuffer {
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

    fn text(&self) -> Text<'_> {
        Text {
            head: self.octets.get(..self.length).unwrap_or(&self.octets),
            length: self.length,
        }
    }
}

/// One dynamic table entry: its name and value, and its size as RFC 7541
/// section 4.1 counts it, or 0 while only [`Entry::max_size`] is known.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    name: FieldString,
    value: SentString,
    size: usize,
}

impl Entry {
    /// The entry's size if known, or the most it can be.
    fn max_size(&self) -> usize {
        if self.size != 0 {
            return self.size;
        }
        let name = match self.name {
            FieldString::Static(octets) => octets.len(),
            FieldString::Sent(sent) => sent.max_decoded_length(),
        };
        name.saturating_add(self.value.max_decoded_length())
            .saturating_add(ENTRY_OVERHEAD)
    }

    /// Learns the entry's exact size by counting the decoded octets of
    /// its name and value.
    fn resolve(&mut self, block: &impl BlockSource) -> Result<(), Stop> {
        if self.size == 0 {
            let name = decoded_length(block, self.name)?;
            let value = decoded_length(block, FieldString::Sent(self.value))?;
            self.size = name.saturating_add(value).saturating_add(ENTRY_OVERHEAD);
        }
        Ok(())
    }
}

/// The dynamic table (RFC 7541 section 4) of one block: its entries point
/// at strings where they were sent, in a ring of at most [`MAX_ENTRIES`].
///
/// Sizes are exact only when eviction depends on them: while the largest
/// sizes the entries could have fit the table, nothing is decoded.
struct DynamicTable {
    entries: [Entry; MAX_ENTRIES],
    oldest: usize,
    count: usize,
    /// The sum of the entries' [`Entry::max_size`]: the table's size as
    /// RFC 7541 section 4.1 counts it, or more while some are not known.
    max_total: usize,
    max_size: usize,
}

impl DynamicTable {
    fn new() -> DynamicTable {
        DynamicTable {
            entries: [Entry::default(); MAX_ENTRIES],
            oldest: 0,
            count: 0,
            max_total: 0,
            max_size: MAX_TABLE_SIZE,
        }
    }

    /// The entry at dynamic `index` (1 is the newest).
    fn get(&self, index: usize) -> Option<(FieldString, FieldString)> {
        if index == 0 || index > self.count {
            return None;
        }
        let entry = self
            .entries
            .get((self.oldest + self.count - index) % MAX_ENTRIES)?;
        Some((entry.name, FieldString::Sent(entry.value)))
    }

    fn evict_oldest(&mut self) {
        if let Some(entry) = self.entries.get(self.oldest) {
            self.max_total = self.max_total.saturating_sub(entry.max_size());
        }
        self.oldest = (self.oldest + 1) % MAX_ENTRIES;
        self.count = self.count.saturating_sub(1);
    }

    /// Learns the exact size of every entry, so that `max_total` is the
    /// table's size.
    fn resolve(&mut self, block: &impl BlockSource) -> Result<(), Stop> {
        let mut total = 0usize;
        for position in 0..self.count {
            if let Some(entry) = self.entries.get_mut((self.oldest + position) % MAX_ENTRIES) {
                entry.resolve(block)?;
                total = total.saturating_add(entry.size);
            }
        }
        self.max_total = total;
        Ok(())
    }

    /// Applies a dynamic table size update (RFC 7541 section 6.3). Updates
    /// come only before the first field of a block, and the table lives
    /// for one block, so it is empty and nothing is evicted.
    fn set_max_size(&mut self, max_size: usize) -> Result<(), Stop> {
        require(max_size <= MAX_TABLE_SIZE)?;
        self.max_size = max_size;
        Ok(())
    }

    /// Adds an entry, evicting the oldest ones to make room; an entry
    /// larger than the table empties it (RFC 7541 section 4.4).
    fn insert(
        &mut self,
        name: FieldString,
        value: SentString,
        block: &impl BlockSource,
    ) -> Result<(), Stop> {
        let mut entry = Entry {
            name,
            value,
            size: 0,
        };
        if self.max_total.saturating_add(entry.max_size()) > self.max_size {
            self.resolve(block)?;
            entry.resolve(block)?;
            if entry.size > self.max_size {
                while self.count > 0 {
                    self.evict_oldest();
                }
                return Ok(());
            }
            while self.count > 0 && self.max_total + entry.size > self.max_size {
                self.evict_oldest();
            }
        }
        // The table holds at most MAX_TABLE_SIZE / ENTRY_OVERHEAD entries,
        // so the slot after the newest is free.
        if let Some(slot) = self
            .entries
            .get_mut((self.oldest + self.count) % MAX_ENTRIES)
        {
            *slot = entry;
        }
        self.count += 1;
        self.max_total += entry.max_size();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cursor::Cursor;
    use crate::matchers::huffman::huffman_encode;
    use proptest::prelude::*;

    /// A header block held whole in one slice; with `complete` false, its
    /// end is where the input stops rather than where the block stops.
    #[derive(Clone)]
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

    /// Decodes a complete block with `table`, collecting its fields, each
    /// name and value decoded whole.
    fn decode_with(table: &mut DynamicTable, block: &[u8]) -> Result<Fields, Stop> {
        let mut fields = Vec::new();
        let mut name = StringBuffer::new();
        let mut value = StringBuffer::new();
        let flow = decode_with_table(SliceBlock::new(block, true), table, |field| {
            let name = field.text(field.name, &mut name)?.head().to_vec();
            let value = field.text(field.value, &mut value)?.head().to_vec();
            fields.push((name, value));
            Ok(ControlFlow::<()>::Continue(()))
        })?;
        assert_eq!(flow, ControlFlow::Continue(()));
        Ok(fields)
    }

    fn decode(block: &[u8]) -> Result<Fields, Stop> {
        decode_with(&mut DynamicTable::new(), block)
    }

    /// The table after decoding `block`, with every entry's size exact.
    fn table_after(block: &[u8]) -> DynamicTable {
        let mut table = DynamicTable::new();
        decode_with(&mut table, block).unwrap();
        table.resolve(&SliceBlock::new(block, true)).unwrap();
        table
    }

    /// The decoded name and value of dynamic entry `index` of `table`,
    /// whose strings lie in `block`.
    fn entry(table: &DynamicTable, block: &[u8], index: usize) -> Option<(Vec<u8>, Vec<u8>)> {
        let (name, value) = table.get(index)?;
        let source = SliceBlock::new(block, true);
        let decoded = |string| {
            let mut octets = Vec::new();
            let _ = decode_string(&source, string, &mut |octet| {
                octets.push(octet);
                ControlFlow::Continue(())
            })
            .unwrap();
            octets
        };
        Some((decoded(name), decoded(value)))
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
            let mut source = CountingSource {
                source: SliceBlock::new(&octets[1..], false),
                taken: 0,
            };
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
    /// connection, each adding to the dynamic table. The table lives for
    /// one block, so the three are decoded as one block.
    #[test]
    fn rfc_7541_appendix_c4_requests_with_huffman() {
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
        assert_eq!(decode(c41), Ok(fields(&request)));
        assert_eq!(table_after(c41).max_total, 57);
        let mut second = request.to_vec();
        second.push(("cache-control", "no-cache"));
        let c41_c42 = [c41, c42].concat();
        assert_eq!(
            decode(&c41_c42),
            Ok(fields(&[&request[..], &second].concat()))
        );
        assert_eq!(table_after(&c41_c42).max_total, 110);
        let third = [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ];
        let all = [c41, c42, c43].concat();
        assert_eq!(
            decode(&all),
            Ok(fields(&[&request[..], &second, &third].concat()))
        );
        let table = table_after(&all);
        assert_eq!(table.max_total, 164);
        assert_eq!(
            entry(&table, &all, 1),
            Some(fields(&[("custom-key", "custom-value")])[0].clone())
        );
        assert_eq!(
            entry(&table, &all, 3),
            Some(fields(&[(":authority", "www.example.com")])[0].clone())
        );
    }

    /// RFC 7541 Appendix C.6: three Huffman-coded responses with a
    /// 256-octet table, so entries are evicted. The table size is set by a
    /// size update (`3f e1 01` = 256) at the start of the first block; the
    /// three are decoded as one block.
    #[test]
    fn rfc_7541_appendix_c6_responses_with_eviction() {
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
        assert_eq!(decode(c61), Ok(fields(&first)));
        assert_eq!(table_after(c61).max_total, 222);
        let mut second = first;
        second[0] = (":status", "307");
        let c61_c62 = [c61, c62].concat();
        assert_eq!(decode(&c61_c62), Ok(fields(&[first, second].concat())));
        assert_eq!(table_after(&c61_c62).max_total, 222);
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
        let all = [c61, c62, c63].concat();
        assert_eq!(
            decode(&all),
            Ok(fields(&[&first[..], &second, &third].concat()))
        );
        let table = table_after(&all);
        assert_eq!(table.max_total, 215);
        assert_eq!(table.count, 3);
        assert_eq!(table.get(4), None);
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
    fn size_updates_at_the_start_allow_zero() {
        let mut entry = Vec::new();
        encode_literal(&mut entry, Literal::WithIndexing, 0, b"a", b"b", false);
        // Two updates (to 0, then back to 4096): the entry is added.
        let mut block = vec![0x20, 0x3f, 0xe1, 0x1f];
        block.extend(&entry);
        block.push(0xbe);
        assert_eq!(decode(&block), Ok(fields(&[("a", "b"), ("a", "b")])));
        // A table of size 0 holds nothing: index 62 is past the tables.
        let mut block = vec![0x20];
        block.extend(&entry);
        assert_eq!(decode(&block), Ok(fields(&[("a", "b")])));
        assert_eq!(table_after(&block).count, 0);
        block.push(0xbe);
        assert_eq!(decode(&block), Err(Stop::Invalid));
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
        let mut table = DynamicTable::new();
        let mut lengths = Vec::new();
        let mut buffer = StringBuffer::new();
        let flow = decode_with_table(SliceBlock::new(&block, true), &mut table, |field| {
            let value = field.text(field.value, &mut buffer)?;
            lengths.push((value.head().len(), value.complete().is_some()));
            Ok(ControlFlow::<()>::Continue(()))
        });
        assert_eq!(flow, Ok(ControlFlow::Continue(())));
        assert_eq!(lengths, [(1, true), (FIELD_CAPACITY, false)]);
        assert_eq!(table.count, 0);
        assert_eq!(table.max_total, 0);
    }

    #[test]
    fn entries_churn_through_the_table() {
        // 100 entries of 30 + 40 + 32 = 102 octets churn through a
        // 4096-octet table; each must still read back whole.
        let mut block = Vec::new();
        let mut want = Vec::new();
        for round in 0..100u8 {
            let name = vec![b'a' + round % 26; 30];
            let value = vec![round; 40];
            encode_literal(
                &mut block,
                Literal::WithIndexing,
                0,
                &name,
                &value,
                round % 2 == 0,
            );
            block.push(0xbe); // the entry just added
            want.push((name.clone(), value.clone()));
            want.push((name, value));
        }
        assert_eq!(decode(&block), Ok(want));
        let table = table_after(&block);
        assert_eq!(table.count, 4096 / 102);
        assert!(table.max_total <= MAX_TABLE_SIZE);
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
            let result = decode_block(SliceBlock::new(&block[..cut], false), |_| {
                Ok(ControlFlow::<()>::Continue(()))
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
            let _ = decode_block(SliceBlock::new(&block, false), |_| {
                Ok(ControlFlow::<()>::Continue(()))
            });
        }
    }
}
