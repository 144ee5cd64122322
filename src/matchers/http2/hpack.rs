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
//! 4, `hpack/table.rs`) holds at most 4096 octets, the largest size a peer
//! may use while the server has not raised SETTINGS_HEADER_TABLE_SIZE (and
//! connmux never does). Its entries stay as sent until a field refers to
//! them or eviction needs their exact sizes, then are decoded once into a
//! fixed arena; strings of literal fields are decoded only when a consumer
//! asks.
//!
//! The decoder counts the size of the header list (RFC 9113 section
//! 6.5.2: each field's name and value plus 32 octets, `hpack/list_size.rs`)
//! and stops before handing on a field that takes it past a limit. With
//! each dynamic entry decoded at most once, the octets a decoding and its
//! consumer decode or copy are bounded by a small multiple of the block's
//! octets plus the limit, whatever the block refers to (see
//! [`decode_block`]); `hpack/work.rs` counts them for the tests.
//!
//! `hpack/wire.rs` reads the wire format: integers, strings,
//! representations.

mod list_size;
mod table;
mod wire;
pub(crate) mod work;

use std::ops::ControlFlow;

use crate::matcher::cursor::{require, Stop};
use list_size::{Counted, HeaderListSize};
use table::{DynamicTable, StringAt, MAX_TABLE_SIZE};
use wire::{
    decode_string, decoded_length, read_representation, sent_pieces, CountingSource, LiteralName,
    Representation,
};
pub(crate) use wire::{BlockSource, FieldString};

/// How many octets of a decoded name or value are kept. A longer string
/// can never enter the dynamic table (its entry would exceed
/// [`MAX_TABLE_SIZE`]), so only its first octets and its length are kept.
pub(crate) const FIELD_CAPACITY: usize = MAX_TABLE_SIZE;

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

/// One header field. A string from the tables is decoded; a literal's
/// name or value is as sent, and [`Field::equals`], [`Field::decode`] and
/// [`Field::text`] read it from the block on demand.
pub(crate) struct Field<'d, S> {
    pub(crate) name: FieldString<'d>,
    pub(crate) value: FieldString<'d>,
    block: &'d S,
}

impl<S: BlockSource> Field<'_, S> {
    /// Whether `string` is `plain`, given `plain` Huffman-coded as `coded`.
    /// A Huffman-coded string is compared as sent: the coding of a string
    /// is unique (see [`crate::matchers::http2::huffman::huffman_encode`]), so
    /// nothing is decoded and a bad code is simply unequal.
    pub(crate) fn equals(
        &self,
        string: FieldString<'_>,
        plain: &[u8],
        coded: &[u8],
    ) -> Result<bool, Stop> {
        let sent = match string {
            FieldString::Decoded(octets) => return Ok(octets == plain),
            FieldString::Sent(sent) => sent,
        };
        let want = if sent.is_huffman() { coded } else { plain };
        if sent.sent_length() != want.len() {
            return Ok(false);
        }
        let mut rest = want;
        let flow = sent_pieces(self.block, sent, |piece| {
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
        string: FieldString<'_>,
        mut emit: impl FnMut(u8) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Stop> {
        decode_string(self.block, string, &mut emit)
    }

    /// Decodes `string` whole into `buffer`; `Invalid` for a bad Huffman
    /// code anywhere in it.
    pub(crate) fn text<'t>(
        &self,
        string: FieldString<'_>,
        buffer: &'t mut StringBuffer,
    ) -> Result<Text<'t>, Stop> {
        buffer.clear();
        let _ = self.decode(string, |octet| {
            buffer.push(octet);
            ControlFlow::Continue(())
        })?;
        Ok(buffer.text())
    }

    /// `Invalid` if the name or value, as sent, has a bad Huffman code. A
    /// string from the dynamic table was checked when it was decoded, and
    /// a literal is sent once, so a consumer that checks every field it is
    /// handed checks every string of the block once.
    pub(crate) fn check_strings(&self) -> Result<(), Stop> {
        for string in [self.name, self.value] {
            if let FieldString::Sent(sent) = string {
                decoded_length(self.block, sent)?;
            }
        }
        Ok(())
    }
}

/// How the decoding of a header block ended, when nothing was wrong with
/// the block so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockEnd<B> {
    /// The block ended and every field was handed on.
    Complete,
    /// The consumer broke at a field, with this value.
    Broke(B),
    /// The header list grew larger than the limit: the field that made it
    /// so, and those after it, were not handed on.
    ListTooLarge,
}

/// Decodes the header block in `source` with a new dynamic table of
/// [`MAX_TABLE_SIZE`] octets, handing each field to `on_field` in order
/// while the header list is at most `max_header_list_size` octets (RFC
/// 9113 section 6.5.2: each field's decoded name and value plus 32), and
/// stopping early when `on_field` breaks or fails.
///
/// `Invalid` for a malformed block (an integer that overflows `u32` or
/// runs past five octets, an index 0 or past the tables, a size update
/// past [`MAX_TABLE_SIZE`] or after a field, a string cut by the end of
/// the block). A bad Huffman code is `Invalid` when a string that has it
/// is decoded: by `on_field`, or by the table when a field refers to the
/// entry or eviction needs its exact size (RFC 7541 section 4.4), or to
/// count the list's size once it is near the limit.
///
/// Work: each dynamic entry is decoded at most once, whatever refers to
/// it; each literal at most once by the table and once to count the
/// list's size; and every octet the table copies belongs to a field
/// handed on, or to the one that passed the limit. So one decoding, its
/// consumer included if it decodes each string it is handed at most
/// twice, decodes or copies at most 8 × the block's octets + 3 × the
/// limit + 24 KiB (`work::bound` says why; the tests and the fuzz
/// harnesses check it).
pub(crate) fn decode_block<S: BlockSource, B>(
    source: S,
    max_header_list_size: usize,
    on_field: impl FnMut(Field<'_, S>) -> Result<ControlFlow<B>, Stop>,
) -> Result<BlockEnd<B>, Stop> {
    decode_with_table(
        source,
        &mut DynamicTable::new(),
        max_header_list_size,
        on_field,
    )
}

/// [`decode_block`] with the dynamic table `table`, which must be new.
fn decode_with_table<S: BlockSource, B>(
    source: S,
    table: &mut DynamicTable,
    max_header_list_size: usize,
    mut on_field: impl FnMut(Field<'_, S>) -> Result<ControlFlow<B>, Stop>,
) -> Result<BlockEnd<B>, Stop> {
    let block = source.clone();
    let mut reader = CountingSource::new(source);
    let mut list_size = HeaderListSize::new(max_header_list_size);
    let mut at_block_start = true;
    while !reader.source.is_done()? {
        let (name, value, counted) = match read_representation(&mut reader)? {
            Representation::SizeUpdate(max_size) => {
                require(at_block_start)?;
                table.set_max_size(max_size)?;
                continue;
            }
            Representation::Indexed(index) => {
                let (name, value) = table.field(index, &block)?;
                let counted = [Counted::from_table(name), Counted::from_table(value)];
                (name, value, counted)
            }
            Representation::Literal {
                with_indexing,
                name: literal_name,
                value: sent_value,
            } => {
                let (name, value) = if with_indexing {
                    table.insert(literal_name, sent_value, &block)?
                } else {
                    (
                        table.name(literal_name, &block)?,
                        StringAt::Sent(sent_value),
                    )
                };
                let counted_name = match literal_name {
                    LiteralName::Sent(sent) => Counted::literal(sent, name),
                    LiteralName::Indexed(_) => Counted::from_table(name),
                };
                (
                    name,
                    value,
                    [counted_name, Counted::literal(sent_value, value)],
                )
            }
        };
        at_block_start = false;
        if !list_size.add(counted, &block, reader.taken)? {
            return Ok(BlockEnd::ListTooLarge);
        }
        let field = Field {
            name: table.string(name),
            value: table.string(value),
            block: &block,
        };
        if let ControlFlow::Break(value) = on_field(field)? {
            return Ok(BlockEnd::Broke(value));
        }
    }
    Ok(BlockEnd::Complete)
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

#[cfg(test)]
pub(crate) mod tests;
