//! The size of a header list as RFC 9113 section 6.5.2 counts it (each
//! field's decoded name and value plus 32 octets), kept by the decoder in
//! `hpack.rs` so that it stops before handing on a field past a limit:
//! however a block refers to its dynamic table, no consumer is handed
//! more than the limit's worth of decoded fields.
//!
//! Strings from the tables have known lengths, and so have literals sent
//! plain; a Huffman-coded literal's length is known only by decoding it,
//! which the header matchers avoid (they compare strings as sent). So it
//! counts as the most it can decode to (8/5 of its octets) until the most
//! the list can be passes the limit. Then the block so far is read again,
//! once, to learn the length of each Huffman-coded literal in it, and each
//! later one is decoded as it comes: a list is refused exactly when its
//! size passes the limit.

use super::table::{StringAt, ENTRY_OVERHEAD};
use super::wire::{
    decoded_length, read_representation, BlockSource, CountingSource, LiteralName, Representation,
    SentString,
};
use crate::matcher::cursor::Stop;

/// How a name or value counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// A string whose decoded length is known.
    Known(usize),
    /// A Huffman-coded literal, and its decoded length if the dynamic
    /// table has decoded it.
    Huffman {
        sent: SentString,
        decoded: Option<usize>,
    },
}

impl Counted {
    /// A string from the tables, found at `at`.
    #[inline]
    pub(crate) fn from_table(at: StringAt) -> Counted {
        Counted::Known(at.decoded_length().unwrap_or(0))
    }

    /// A literal sent as `sent`, now found at `at`.
    #[inline]
    pub(crate) fn literal(sent: SentString, at: StringAt) -> Counted {
        if sent.is_huffman() {
            Counted::Huffman {
                sent,
                decoded: at.decoded_length(),
            }
        } else {
            Counted::Known(sent.sent_length())
        }
    }
}

/// The size of the header list decoded so far, and its limit.
#[derive(Debug)]
pub(crate) struct HeaderListSize {
    limit: usize,
    /// The octets counted exactly: 32 per field, the strings from the
    /// tables, the literals sent plain and, once `exact`, the
    /// Huffman-coded literals.
    known: usize,
    /// The most the Huffman-coded literals counted so far can decode to,
    /// while not `exact`.
    huffman_max: usize,
    exact: bool,
}

impl HeaderListSize {
    /// An empty list that may grow to `limit` octets.
    pub(crate) fn new(limit: usize) -> HeaderListSize {
        HeaderListSize {
            limit,
            known: 0,
            huffman_max: 0,
            exact: false,
        }
    }

    /// Adds a field whose name and value count as `strings`; `false` if
    /// the list is now larger than the limit. `block` reads the block from
    /// its start, of which `read` octets, the field's included, have been
    /// read. `Invalid` for a bad Huffman code in a literal it decodes.
    #[inline(always)]
    pub(crate) fn add(
        &mut self,
        strings: [Counted; 2],
        block: &impl BlockSource,
        read: usize,
    ) -> Result<bool, Stop> {
        self.known = self.known.saturating_add(ENTRY_OVERHEAD);
        for string in strings {
            match string {
                Counted::Known(length) => self.known = self.known.saturating_add(length),
                Counted::Huffman { sent, decoded } if self.exact => {
                    let length = match decoded {
                        Some(length) => length,
                        None => decoded_length(block, sent)?,
                    };
                    self.known = self.known.saturating_add(length);
                }
                Counted::Huffman { sent, .. } => {
                    self.huffman_max = self.huffman_max.saturating_add(sent.max_decoded_length());
                }
            }
        }
        if !self.exact
            && self.known <= self.limit
            && self.known.saturating_add(self.huffman_max) > self.limit
        {
            self.known = self
                .known
                .saturating_add(huffman_literals_length(block, read)?);
            self.huffman_max = 0;
            self.exact = true;
        }
        Ok(self.known <= self.limit)
    }
}

/// How many octets the Huffman-coded literals in the first `read` octets
/// of `block` decode to.
fn huffman_literals_length(block: &impl BlockSource, read: usize) -> Result<usize, Stop> {
    let mut reader = CountingSource::new(block.clone());
    let mut total = 0usize;
    while reader.taken < read {
        let Representation::Literal { name, value, .. } = read_representation(&mut reader)? else {
            continue;
        };
        let name = match name {
            LiteralName::Sent(sent) => Some(sent),
            LiteralName::Indexed(_) => None,
        };
        for sent in name.into_iter().chain([value]) {
            if sent.is_huffman() {
                total = total.saturating_add(decoded_length(block, sent)?);
            }
        }
    }
    Ok(total)
}
