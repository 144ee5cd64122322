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
pub(crate) mod tests;
