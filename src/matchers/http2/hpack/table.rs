//! The dynamic table of one header block (RFC 7541 section 4), for the
//! decoder in `hpack.rs`.
//!
//! A real HPACK decoder keeps its entries decoded. This one keeps an entry
//! as it was sent (its name from the static table or the block, its value
//! in the block) until something needs its octets or its exact size, and
//! then decodes it into a fixed arena, once: every field that refers to
//! the entry (an indexed field, section 6.1, or a literal's name index,
//! 6.2) reads it there, however many there are. So a block of references
//! to one large entry costs one decoding of it, not one per reference,
//! while a block that adds fields and never refers to them (a browser's
//! first request, whose fields a header matcher compares as sent) costs
//! no decoding at all.
//!
//! Entries are decoded oldest first, so the decoded ones are the oldest
//! and lie in the arena in insertion order, each its name then its value.
//! Eviction (always of the oldest) frees the front of the arena; a new
//! entry is decoded at the end. The live entries' strings take at most
//! [`MAX_TABLE_SIZE`] - 32 octets, so an arena of twice the table holds
//! them and a new entry's at once: the name of a new entry is copied
//! before its insertion evicts anything, since it may name an entry that
//! the insertion evicts (section 4.4). When the end runs out, the live
//! strings move to the front; a move copies at most 4064 octets and
//! leaves more than 4096 free, so moves cost at most about one octet per
//! octet appended, and appended octets are decoded strings, each counted
//! in a field's size.

use std::ops::ControlFlow;

use super::wire::{decode_string, BlockSource, FieldString, LiteralName, SentString};
use super::work;
use crate::matcher::cursor::{require, Stop};

/// The largest dynamic table a client may use: the initial value of
/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 section 6.5.2), which connmux never
/// raises.
pub(crate) const MAX_TABLE_SIZE: usize = 4096;

/// What an entry costs beyond its name and value (RFC 7541 section 4.1).
/// RFC 9113 section 6.5.2 counts a field of a header list the same way.
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// The most entries a table of [`MAX_TABLE_SIZE`] can hold.
const MAX_ENTRIES: usize = MAX_TABLE_SIZE / ENTRY_OVERHEAD;

/// The arena's size: the live entries' strings and a new entry's.
const ARENA_SIZE: usize = 2 * MAX_TABLE_SIZE;

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

/// Where a string of the field being decoded is, while the table may
/// still change: in the static table, decoded in the arena, or as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringAt {
    Static(&'static [u8]),
    Arena { start: usize, length: usize },
    Sent(SentString),
}

impl StringAt {
    /// How many octets the string decodes to, if that is known without
    /// decoding it.
    #[inline]
    pub(crate) fn decoded_length(&self) -> Option<usize> {
        match *self {
            StringAt::Static(octets) => Some(octets.len()),
            StringAt::Arena { length, .. } => Some(length),
            StringAt::Sent(_) => None,
        }
    }
}

/// The name of an entry not decoded yet: the name of a static table entry
/// (by its position in [`STATIC_TABLE`], which keeps entries small), or
/// sent.
#[derive(Debug, Clone, Copy)]
enum SentName {
    Static(u8),
    Sent(SentString),
}

impl SentName {
    fn at(self) -> StringAt {
        match self {
            SentName::Static(position) => StringAt::Static(
                STATIC_TABLE
                    .get(usize::from(position))
                    .map_or(&b""[..], |&(name, _)| name),
            ),
            SentName::Sent(sent) => StringAt::Sent(sent),
        }
    }
}

// Arena positions and lengths fit in the `u16`s of a decoded entry.
const _: () = assert!(ARENA_SIZE <= u16::MAX as usize);

/// One dynamic table entry: 24 bytes.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// As sent: its size is known only up to [`Entry::max_size`].
    Sent { name: SentName, value: SentString },
    /// Decoded: its name, then its value, from `start` in the arena.
    Decoded {
        start: u16,
        name_length: u16,
        value_length: u16,
    },
}

impl Entry {
    /// A decoded entry; `Invalid` if it does not lie in the arena.
    fn decoded(start: usize, name_length: usize, value_length: usize) -> Result<Entry, Stop> {
        let narrow = |value: usize| u16::try_from(value).map_err(|_| Stop::Invalid);
        require(start + name_length + value_length <= ARENA_SIZE)?;
        Ok(Entry::Decoded {
            start: narrow(start)?,
            name_length: narrow(name_length)?,
            value_length: narrow(value_length)?,
        })
    }

    /// Where a decoded entry's name and value are.
    fn decoded_strings(&self) -> Option<(StringAt, StringAt)> {
        let Entry::Decoded {
            start,
            name_length,
            value_length,
        } = *self
        else {
            return None;
        };
        let (start, name_length) = (usize::from(start), usize::from(name_length));
        Some((
            StringAt::Arena {
                start,
                length: name_length,
            },
            StringAt::Arena {
                start: start + name_length,
                length: usize::from(value_length),
            },
        ))
    }

    /// The entry's size (RFC 7541 section 4.1) if it is decoded, or the
    /// most it can be.
    #[inline]
    fn max_size(&self) -> usize {
        let strings = match *self {
            Entry::Sent { name, value } => {
                let name = match name {
                    SentName::Static(position) => STATIC_TABLE
                        .get(usize::from(position))
                        .map_or(0, |(name, _)| name.len()),
                    SentName::Sent(sent) => sent.max_decoded_length(),
                };
                name.saturating_add(value.max_decoded_length())
            }
            Entry::Decoded {
                name_length,
                value_length,
                ..
            } => usize::from(name_length) + usize::from(value_length),
        };
        strings.saturating_add(ENTRY_OVERHEAD)
    }
}

/// The dynamic table of one block: a ring of at most [`MAX_ENTRIES`]
/// entries, the oldest `decoded` of them decoded into `arena`.
///
/// On the stack of each decoding: about 11 KiB (the arena, 8 KiB, and 128
/// entries of 24 bytes).
pub(crate) struct DynamicTable {
    entries: [Entry; MAX_ENTRIES],
    oldest: usize,
    count: usize,
    /// How many of the oldest entries are decoded.
    decoded: usize,
    /// The sum of the entries' [`Entry::max_size`]: the table's size as
    /// RFC 7541 section 4.1 counts it once every entry is decoded, or more.
    max_total: usize,
    max_size: usize,
    /// Zeroed when the first entry is decoded: most blocks never need it,
    /// and writing 8 KiB on every call would cost more than their
    /// decoding.
    arena: Option<[u8; ARENA_SIZE]>,
    /// Where the oldest decoded entry starts in `arena` (`end` if none).
    front: usize,
    /// Where the newest decoded entry ends in `arena`.
    end: usize,
}

impl DynamicTable {
    pub(crate) fn new() -> DynamicTable {
        DynamicTable {
            entries: [Entry::Decoded {
                start: 0,
                name_length: 0,
                value_length: 0,
            }; MAX_ENTRIES],
            oldest: 0,
            count: 0,
            decoded: 0,
            max_total: 0,
            max_size: MAX_TABLE_SIZE,
            arena: None,
            front: 0,
            end: 0,
        }
    }

    /// Where in `entries` the entry `position` places after the oldest is.
    fn slot(&self, position: usize) -> usize {
        (self.oldest + position) % MAX_ENTRIES
    }

    /// Applies a dynamic table size update (RFC 7541 section 6.3). Updates
    /// come only before the first field of a block, and the table lives
    /// for one block, so it is empty and nothing is evicted.
    pub(crate) fn set_max_size(&mut self, max_size: usize) -> Result<(), Stop> {
        require(max_size <= MAX_TABLE_SIZE)?;
        self.max_size = max_size;
        Ok(())
    }

    /// The name and value at `index` of the static table followed by the
    /// dynamic table (RFC 7541 section 2.3.3); a dynamic entry is decoded
    /// first, if it is not yet. `Invalid` for index 0 or an index past
    /// the tables, or a bad Huffman code in an entry decoded.
    pub(crate) fn field(
        &mut self,
        index: usize,
        block: &impl BlockSource,
    ) -> Result<(StringAt, StringAt), Stop> {
        require(index != 0)?;
        if let Some(&(name, value)) = STATIC_TABLE.get(index - 1) {
            return Ok((StringAt::Static(name), StringAt::Static(value)));
        }
        let dynamic_index = index - STATIC_TABLE.len();
        require(dynamic_index <= self.count)?;
        let position = self.count - dynamic_index;
        while self.decoded <= position {
            self.decode_oldest_sent(block)?;
        }
        self.entries
            .get(self.slot(position))
            .and_then(Entry::decoded_strings)
            .ok_or(Stop::Invalid)
    }

    /// Where the name of a literal field is; as [`DynamicTable::field`]
    /// for a name by index.
    #[inline]
    pub(crate) fn name(
        &mut self,
        name: LiteralName,
        block: &impl BlockSource,
    ) -> Result<StringAt, Stop> {
        match name {
            LiteralName::Indexed(index) => Ok(self.field(index, block)?.0),
            LiteralName::Sent(sent) => Ok(StringAt::Sent(sent)),
        }
    }

    /// The string at `at`, borrowed from the table.
    #[inline]
    pub(crate) fn string(&self, at: StringAt) -> FieldString<'_> {
        match at {
            StringAt::Static(octets) => FieldString::Decoded(octets),
            StringAt::Arena { start, length } => {
                let octets = self
                    .arena
                    .as_ref()
                    .and_then(|arena| arena.get(start..start + length));
                FieldString::Decoded(octets.unwrap_or_default())
            }
            StringAt::Sent(sent) => FieldString::Sent(sent),
        }
    }

    /// Adds the field of a literal with incremental indexing (RFC 7541
    /// section 6.2.1), evicting the oldest entries to make room, and says
    /// where its name and value are for the field.
    ///
    /// The entry stays as sent while the largest sizes the entries could
    /// have fit the table. Otherwise eviction depends on exact sizes, so
    /// every entry is decoded, and the new one after them; so is a new
    /// entry whose name is a dynamic entry's, whose octets are copied.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        name: LiteralName,
        value: SentString,
        block: &impl BlockSource,
    ) -> Result<(StringAt, StringAt), Stop> {
        let sent_name = match name {
            LiteralName::Sent(sent) => Some(SentName::Sent(sent)),
            LiteralName::Indexed(index) => (1..=STATIC_TABLE.len())
                .contains(&index)
                .then(|| SentName::Static((index - 1) as u8)),
        };
        if let Some(sent_name) = sent_name {
            let entry = Entry::Sent {
                name: sent_name,
                value,
            };
            let max_size = entry.max_size();
            if self.max_total.saturating_add(max_size) <= self.max_size {
                self.push(entry, max_size);
                return Ok((sent_name.at(), StringAt::Sent(value)));
            }
        }
        self.insert_decoded(name, value, block)
    }

    /// [`DynamicTable::insert`] when the new entry is decoded: it is
    /// written after the live entries before anything is evicted, then
    /// takes its place, or empties the table if it is larger than the
    /// table (RFC 7541 section 4.4).
    fn insert_decoded(
        &mut self,
        name: LiteralName,
        value: SentString,
        block: &impl BlockSource,
    ) -> Result<(StringAt, StringAt), Stop> {
        self.decode_all(block)?;
        // The octets an entry's strings may take: more, and it cannot fit.
        let storable = self.max_size.saturating_sub(ENTRY_OVERHEAD);
        let name_max_length = match self.name(name, block)? {
            StringAt::Sent(sent) => sent.max_decoded_length(),
            known => known.decoded_length().unwrap_or(0),
        };
        self.make_room(storable.min(name_max_length.saturating_add(value.max_decoded_length())));
        // Looked up again: making room may have moved the entries.
        let name_at = self.name(name, block)?;
        let start = self.end;
        let mut written = 0;
        let name_length = self.append(name_at, block, &mut written, storable)?;
        let name_stored = written == name_length;
        let value_length = self.append(StringAt::Sent(value), block, &mut written, storable)?;
        let size = name_length
            .saturating_add(value_length)
            .saturating_add(ENTRY_OVERHEAD);
        if size > self.max_size {
            while self.count > 0 {
                self.evict_oldest();
            }
            // The name's copy, if whole, stays readable after the end
            // until the next insertion.
            let name = if name_stored {
                StringAt::Arena {
                    start,
                    length: name_length,
                }
            } else {
                name_at
            };
            return Ok((name, StringAt::Sent(value)));
        }
        // It fits, so the room made holds it whole.
        require(written == name_length + value_length)?;
        while self.max_total + size > self.max_size {
            self.evict_oldest();
        }
        let entry = Entry::decoded(start, name_length, value_length)?;
        self.push(entry, size);
        self.decoded += 1;
        self.end = start + written;
        entry.decoded_strings().ok_or(Stop::Invalid)
    }

    /// Decodes every entry not decoded yet.
    pub(crate) fn decode_all(&mut self, block: &impl BlockSource) -> Result<(), Stop> {
        while self.decoded < self.count {
            self.decode_oldest_sent(block)?;
        }
        Ok(())
    }

    /// Decodes the oldest entry not decoded yet into the arena.
    fn decode_oldest_sent(&mut self, block: &impl BlockSource) -> Result<(), Stop> {
        let slot = self.slot(self.decoded);
        let Some(&Entry::Sent { name, value }) = self.entries.get(slot) else {
            return Err(Stop::Invalid);
        };
        let max_size = Entry::Sent { name, value }.max_size();
        // Lazy entries fit the table with their largest sizes, so their
        // strings fit in the room made, and are stored whole.
        let storable = max_size - ENTRY_OVERHEAD;
        self.make_room(storable);
        let start = self.end;
        let mut written = 0;
        let name_length = self.append(name.at(), block, &mut written, storable)?;
        let value_length = self.append(StringAt::Sent(value), block, &mut written, storable)?;
        require(written == name_length + value_length)?;
        let entry = Entry::decoded(start, name_length, value_length)?;
        self.max_total = self.max_total - max_size + entry.max_size();
        if let Some(slot) = self.entries.get_mut(slot) {
            *slot = entry;
        }
        self.decoded += 1;
        self.end = start + written;
        Ok(())
    }

    /// Writes the decoded octets of `at` into the arena, `written` octets
    /// after its end, as far as `storable` octets in all and the arena
    /// allow; returns the string's decoded length, stored or not, and adds
    /// what was stored to `written`.
    fn append(
        &mut self,
        at: StringAt,
        block: &impl BlockSource,
        written: &mut usize,
        storable: usize,
    ) -> Result<usize, Stop> {
        let destination = self.end + *written;
        let room = storable
            .saturating_sub(*written)
            .min(ARENA_SIZE.saturating_sub(destination));
        let string = match at {
            StringAt::Arena { start, length } => {
                let stored = length.min(room);
                require(start + stored <= destination)?;
                self.arena_mut()
                    .copy_within(start..start + stored, destination);
                work::copied(stored);
                *written += stored;
                return Ok(length);
            }
            StringAt::Static(octets) => FieldString::Decoded(octets),
            StringAt::Sent(sent) => FieldString::Sent(sent),
        };
        let slots = self
            .arena_mut()
            .get_mut(destination..destination + room)
            .unwrap_or_default();
        let mut length = 0usize;
        let _ = decode_string(block, string, &mut |octet| {
            if let Some(slot) = slots.get_mut(length) {
                *slot = octet;
            }
            length += 1;
            ControlFlow::Continue(())
        })?;
        *written += length.min(room);
        Ok(length)
    }

    /// Moves the decoded entries to the front of the arena unless `need`
    /// octets are free after them.
    fn make_room(&mut self, need: usize) {
        if self.end + need <= ARENA_SIZE {
            return;
        }
        let front = self.front;
        let end = self.end;
        self.arena_mut().copy_within(front..end, 0);
        work::copied(self.end - front);
        for position in 0..self.decoded {
            let slot = self.slot(position);
            if let Some(Entry::Decoded { start, .. }) = self.entries.get_mut(slot) {
                // `front` is at most every start, and an arena position.
                *start -= front as u16;
            }
        }
        self.end -= front;
        self.front = 0;
    }

    /// The arena, zeroed on first use.
    // Built lazily: zeroing 8 KiB on every call is what `arena` avoids.
    #[allow(clippy::unnecessary_lazy_evaluations)]
    fn arena_mut(&mut self) -> &mut [u8; ARENA_SIZE] {
        self.arena.get_or_insert_with(|| [0; ARENA_SIZE])
    }

    /// Adds `entry`, of [`Entry::max_size`] `max_size`, as the newest.
    #[inline]
    fn push(&mut self, entry: Entry, max_size: usize) {
        // The table holds at most MAX_TABLE_SIZE / ENTRY_OVERHEAD entries,
        // so the slot after the newest is free.
        let slot = self.slot(self.count);
        if let Some(free) = self.entries.get_mut(slot) {
            *free = entry;
        }
        self.count += 1;
        self.max_total += max_size;
    }

    fn evict_oldest(&mut self) {
        if let Some(entry) = self.entries.get(self.oldest) {
            if let Some((_, StringAt::Arena { start, length })) = entry.decoded_strings() {
                self.front = start + length;
                self.decoded -= 1;
            }
            self.max_total = self.max_total.saturating_sub(entry.max_size());
        }
        self.oldest = (self.oldest + 1) % MAX_ENTRIES;
        self.count = self.count.saturating_sub(1);
    }
}

#[cfg(test)]
impl DynamicTable {
    /// How many entries the table holds.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The table's size as RFC 7541 section 4.1 counts it, if every entry
    /// is decoded; more otherwise.
    pub(crate) fn size(&self) -> usize {
        self.max_total
    }
}
