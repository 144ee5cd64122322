//! HPACK's wire format (RFC 7541 sections 5 and 6): the integers, string
//! literals and field representations of a header block, read from a
//! [`BlockSource`], and the decoding of a string, Huffman-coded or not.
//! The decoder in `hpack.rs`, the dynamic table and the header list size
//! read the block through here.

use std::ops::ControlFlow;

use super::work;
use crate::matcher::cursor::{require, Stop};
use crate::matchers::http2::huffman::HuffmanDecoder;

/// The most octets an integer may take after its prefix: 5 carry 35 bits,
/// enough for any `u32`.
const MAX_INTEGER_CONTINUATIONS: usize = 5;

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
    #[inline]
    fn skip(&mut self, count: usize) -> Result<(), Stop> {
        self.take_pieces(count, |_| Ok(ControlFlow::Continue(())))
            .map(drop)
    }

    /// Takes the next `count` octets piece by piece, handing each piece to
    /// `each` until it breaks.
    #[inline]
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

/// A string literal as it was sent (RFC 7541 section 5.2): where its
/// octets start in the block, how many there are, and whether they are
/// Huffman-coded. It is decoded only when someone asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SentString {
    offset: u32,
    length: u32,
    huffman: bool,
}

impl SentString {
    /// How many octets were sent.
    pub(crate) fn sent_length(&self) -> usize {
        self.length as usize
    }

    /// Whether the octets are Huffman-coded.
    pub(crate) fn is_huffman(&self) -> bool {
        self.huffman
    }

    /// The most octets the string can decode to: every Huffman code is at
    /// least 5 bits long (RFC 7541 Appendix B).
    pub(crate) fn max_decoded_length(&self) -> usize {
        let length = self.length as usize;
        if self.huffman {
            length.saturating_mul(8) / 5
        } else {
            length
        }
    }
}

/// A field's name or value: decoded octets (from the static table, or
/// from the dynamic table, which decodes an entry before a field reads
/// it), or a literal as it was sent in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldString<'d> {
    Decoded(&'d [u8]),
    Sent(SentString),
}

/// A block source that counts the octets taken, so that a string can say
/// where it starts.
pub(crate) struct CountingSource<S> {
    pub(crate) source: S,
    pub(crate) taken: usize,
}

impl<S: BlockSource> CountingSource<S> {
    /// Reads `source` from where it is, which counts as offset 0.
    pub(crate) fn new(source: S) -> CountingSource<S> {
        CountingSource { source, taken: 0 }
    }

    fn u8(&mut self) -> Result<u8, Stop> {
        let octet = self.source.u8()?;
        self.taken += 1;
        Ok(octet)
    }
}

/// Reads an integer whose prefix is the low `prefix_bits` bits of `first`
/// (RFC 7541 section 5.1).
#[inline]
pub(crate) fn integer<S: BlockSource>(
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
#[inline(always)]
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

/// One field representation, or a table size update (RFC 7541 section
/// 6), with its strings not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Representation {
    /// `1xxxxxxx`: the field at this index of the tables (6.1).
    Indexed(usize),
    /// `01xxxxxx` (6.2.1), `0000xxxx` (6.2.2) or `0001xxxx` (6.2.3): a
    /// field whose value is sent, added to the dynamic table or not.
    Literal {
        with_indexing: bool,
        name: LiteralName,
        value: SentString,
    },
    /// `001xxxxx`: a dynamic table size update (6.3).
    SizeUpdate(usize),
}

/// The name of a literal field: an index in the tables, or sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiteralName {
    Indexed(usize),
    Sent(SentString),
}

/// Reads the next representation. `Invalid` for an integer that overflows
/// `u32` or runs past five octets, or a string cut by the end of the
/// block; indices are checked against the tables by whoever looks them up.
#[inline(always)]
pub(crate) fn read_representation<S: BlockSource>(
    reader: &mut CountingSource<S>,
) -> Result<Representation, Stop> {
    let first = reader.u8()?;
    if first & 0x80 != 0 {
        return Ok(Representation::Indexed(integer(reader, first, 7)?));
    }
    if first & 0xe0 == 0x20 {
        return Ok(Representation::SizeUpdate(integer(reader, first, 5)?));
    }
    let with_indexing = first & 0x40 != 0;
    let prefix_bits = if with_indexing { 6 } else { 4 };
    let name = match integer(reader, first, prefix_bits)? {
        0 => LiteralName::Sent(read_string(reader)?),
        index => LiteralName::Indexed(index),
    };
    Ok(Representation::Literal {
        with_indexing,
        name,
        value: read_string(reader)?,
    })
}

/// Hands the octets of `sent`, as sent, to `each` until it breaks;
/// `block` reads the block from its start.
pub(crate) fn sent_pieces(
    block: &impl BlockSource,
    sent: SentString,
    each: impl FnMut(&[u8]) -> Result<ControlFlow<()>, Stop>,
) -> Result<ControlFlow<()>, Stop> {
    let mut source = block.clone();
    source.skip(sent.offset as usize)?;
    source.take_pieces(sent.length as usize, each)
}

/// Hands the decoded octets of `string` to `emit` until it breaks.
/// `Invalid` for a bad Huffman code before that point, or anywhere in the
/// string (its padding included) if `emit` never breaks. `block` reads
/// the block from its start.
pub(crate) fn decode_string(
    block: &impl BlockSource,
    string: FieldString<'_>,
    emit: &mut impl FnMut(u8) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, Stop> {
    let mut produced = 0usize;
    let mut counted_emit = |octet| {
        produced += 1;
        emit(octet)
    };
    let flow = match string {
        FieldString::Decoded(octets) => {
            Ok(octets.iter().try_for_each(|&octet| counted_emit(octet)))
        }
        FieldString::Sent(sent) if !sent.huffman => sent_pieces(block, sent, |piece| {
            Ok(piece.iter().try_for_each(|&octet| counted_emit(octet)))
        }),
        FieldString::Sent(sent) => {
            let mut decoder = HuffmanDecoder::default();
            let flow = sent_pieces(block, sent, |piece| decoder.feed(piece, &mut counted_emit));
            work::huffman_decoded(produced);
            let flow = flow?;
            if flow.is_continue() {
                decoder.finish()?;
            }
            return Ok(flow);
        }
    };
    work::copied(produced);
    flow
}

/// How many octets `sent` decodes to; `Invalid` for a bad Huffman code.
pub(crate) fn decoded_length(block: &impl BlockSource, sent: SentString) -> Result<usize, Stop> {
    if !sent.huffman {
        return Ok(sent.sent_length());
    }
    let mut length = 0usize;
    let _ = decode_string(block, FieldString::Sent(sent), &mut |_| {
        length += 1;
        ControlFlow::Continue(())
    })?;
    Ok(length)
}
