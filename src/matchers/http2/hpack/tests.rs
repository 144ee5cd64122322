//! Tests of the HPACK decoder: RFC 7541's integers and Appendix C
//! examples, malformed blocks, the dynamic table and its arena, the header
//! list limit, and generated blocks.

use super::wire::integer;
use super::*;
use crate::matcher::cursor::Cursor;
use crate::matchers::http2::huffman::huffman_encode;
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

/// A header list limit no test block reaches, for tests of the decoding
/// itself.
const NO_LIMIT: usize = usize::MAX;

/// Decodes a complete block with `table`, collecting its fields, each
/// name and value decoded whole.
fn decode_with(table: &mut DynamicTable, block: &[u8]) -> Result<Fields, Stop> {
    let mut fields = Vec::new();
    let mut name = StringBuffer::new();
    let mut value = StringBuffer::new();
    let end = decode_with_table(SliceBlock::new(block, true), table, NO_LIMIT, |field| {
        let name = field.text(field.name, &mut name)?.head().to_vec();
        let value = field.text(field.value, &mut value)?.head().to_vec();
        fields.push((name, value));
        Ok(ControlFlow::<()>::Continue(()))
    })?;
    assert_eq!(end, BlockEnd::Complete);
    Ok(fields)
}

fn decode(block: &[u8]) -> Result<Fields, Stop> {
    decode_with(&mut DynamicTable::new(), block)
}

/// The table after decoding `block`, with every entry decoded, so that
/// its size is exact.
fn table_after(block: &[u8]) -> DynamicTable {
    let mut table = DynamicTable::new();
    decode_with(&mut table, block).unwrap();
    table.decode_all(&SliceBlock::new(block, true)).unwrap();
    table
}

/// The name and value of dynamic entry `index` of `table`, whose strings
/// were sent in `block`.
fn entry(table: &mut DynamicTable, block: &[u8], index: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    let (name, value) = table
        .field(61 + index, &SliceBlock::new(block, true))
        .ok()?;
    let octets = |at| match table.string(at) {
        FieldString::Decoded(octets) => octets.to_vec(),
        FieldString::Sent(sent) => panic!("{sent:?} not decoded"),
    };
    Some((octets(name), octets(value)))
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
        0x40, 0x0a, b'c', b'u', b's', b't', b'o', b'm', b'-', b'k', b'e', b'y', 0x0d, b'c', b'u',
        b's', b't', b'o', b'm', b'-', b'h', b'e', b'a', b'd', b'e', b'r',
    ];
    assert_eq!(decode(c21), Ok(fields(&[("custom-key", "custom-header")])));
    // C.2.2: literal without indexing, indexed name (:path).
    let c22: &[u8] = &[
        0x04, 0x0c, b'/', b's', b'a', b'm', b'p', b'l', b'e', b'/', b'p', b'a', b't', b'h',
    ];
    assert_eq!(decode(c22), Ok(fields(&[(":path", "/sample/path")])));
    // C.2.3: never indexed, literal name.
    let c23: &[u8] = &[
        0x10, 0x08, b'p', b'a', b's', b's', b'w', b'o', b'r', b'd', 0x06, b's', b'e', b'c', b'r',
        b'e', b't',
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
        0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90,
        0xf4, 0xff,
    ];
    let c42: &[u8] = &[
        0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf,
    ];
    let c43: &[u8] = &[
        0x82, 0x87, 0x85, 0xbf, 0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f, 0x89,
        0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf,
    ];
    let request = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    assert_eq!(decode(c41), Ok(fields(&request)));
    assert_eq!(table_after(c41).size(), 57);
    let mut second = request.to_vec();
    second.push(("cache-control", "no-cache"));
    let c41_c42 = [c41, c42].concat();
    assert_eq!(
        decode(&c41_c42),
        Ok(fields(&[&request[..], &second].concat()))
    );
    assert_eq!(table_after(&c41_c42).size(), 110);
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
    let mut table = table_after(&all);
    assert_eq!(table.size(), 164);
    assert_eq!(
        entry(&mut table, &all, 1),
        Some(fields(&[("custom-key", "custom-value")])[0].clone())
    );
    assert_eq!(
        entry(&mut table, &all, 3),
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
        0x48, 0x82, 0x64, 0x02, 0x58, 0x85, 0xae, 0xc3, 0x77, 0x1a, 0x4b, 0x61, 0x96, 0xd0, 0x7a,
        0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05, 0x95, 0x04, 0x0b, 0x81, 0x66, 0xe0,
        0x82, 0xa6, 0x2d, 0x1b, 0xff, 0x6e, 0x91, 0x9d, 0x29, 0xad, 0x17, 0x18, 0x63, 0xc7, 0x8f,
        0x0b, 0x97, 0xc8, 0xe9, 0xae, 0x82, 0xae, 0x43, 0xd3,
    ];
    let c62: &[u8] = &[0x48, 0x83, 0x64, 0x0e, 0xff, 0xc1, 0xc0, 0xbf];
    let c63: &[u8] = &[
        0x88, 0xc1, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05,
        0x95, 0x04, 0x0b, 0x81, 0x66, 0xe0, 0x84, 0xa6, 0x2d, 0x1b, 0xff, 0xc0, 0x5a, 0x83, 0x9b,
        0xd9, 0xab, 0x77, 0xad, 0x94, 0xe7, 0x82, 0x1d, 0xd7, 0xf2, 0xe6, 0xc7, 0xb3, 0x35, 0xdf,
        0xdf, 0xcd, 0x5b, 0x39, 0x60, 0xd5, 0xaf, 0x27, 0x08, 0x7f, 0x36, 0x72, 0xc1, 0xab, 0x27,
        0x0f, 0xb5, 0x29, 0x1f, 0x95, 0x87, 0x31, 0x60, 0x65, 0xc0, 0x03, 0xed, 0x4e, 0xe5, 0xb1,
        0x06, 0x3d, 0x50, 0x07,
    ];
    let first = [
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    assert_eq!(decode(c61), Ok(fields(&first)));
    assert_eq!(table_after(c61).size(), 222);
    let mut second = first;
    second[0] = (":status", "307");
    let c61_c62 = [c61, c62].concat();
    assert_eq!(decode(&c61_c62), Ok(fields(&[first, second].concat())));
    assert_eq!(table_after(&c61_c62).size(), 222);
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
    let mut table = table_after(&all);
    assert_eq!(table.size(), 215);
    assert_eq!(table.count(), 3);
    assert_eq!(entry(&mut table, &all, 4), None);
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
    assert_eq!(table_after(&block).count(), 0);
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
    let end = decode_with_table(
        SliceBlock::new(&block, true),
        &mut table,
        NO_LIMIT,
        |field| {
            let value = field.text(field.value, &mut buffer)?;
            lengths.push((value.head().len(), value.complete().is_some()));
            Ok(ControlFlow::<()>::Continue(()))
        },
    );
    assert_eq!(end, Ok(BlockEnd::Complete));
    assert_eq!(lengths, [(1, true), (FIELD_CAPACITY, false)]);
    assert_eq!(table.count(), 0);
    assert_eq!(table.size(), 0);
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
    assert_eq!(table.count(), 4096 / 102);
    assert!(table.size() <= MAX_TABLE_SIZE);
}

#[test]
fn the_header_list_size_counts_decoded_lengths() {
    // `x: &&&&&` not indexed, Huffman-coded: the name (7 bits of 'x', 1
    // padding) may decode to 1 octet, the value (five 8-bit codes) to 8
    // but decodes to 5. The field counts 1 + 5 + 32 = 38.
    let huffman: &[u8] = &[0x00, 0x81, 0xf3, 0x85, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8];
    // The same, plain.
    let plain: &[u8] = &[0x00, 0x01, b'x', 0x05, b'&', b'&', b'&', b'&', b'&'];
    let field = || fields(&[("x", "&&&&&")]);
    let cases: &[(&[u8], usize, BlockEnd<()>, Fields)] = &[
        (huffman, 41, BlockEnd::Complete, field()),
        (huffman, 38, BlockEnd::Complete, field()),
        (huffman, 37, BlockEnd::ListTooLarge, vec![]),
        (plain, 38, BlockEnd::Complete, field()),
        (plain, 37, BlockEnd::ListTooLarge, vec![]),
        // :method GET (42), then :path / (38) twice.
        (
            &[0x82, 0x84, 0x84],
            118,
            BlockEnd::Complete,
            fields(&[(":method", "GET"), (":path", "/"), (":path", "/")]),
        ),
        (
            &[0x82, 0x84, 0x84],
            117,
            BlockEnd::ListTooLarge,
            fields(&[(":method", "GET"), (":path", "/")]),
        ),
        (&[0x82, 0x84, 0x84], 41, BlockEnd::ListTooLarge, vec![]),
        (&[], 0, BlockEnd::Complete, vec![]),
    ];
    for (block, limit, end, want) in cases {
        assert_eq!(
            decode_limited(block, *limit),
            (Ok(*end), want.clone()),
            "{block:02x?} within {limit}"
        );
    }
}

#[test]
fn entries_are_decoded_when_a_field_refers_to_them() {
    // Three entries added with Huffman-coded strings, `a: 1`, `b: 22`,
    // `c: 333`, never referred to: a consumer that compares names as
    // sent decodes nothing. Then a reference to `b` (index 63): `a` and
    // `b` are decoded, oldest first; `c` is not.
    let mut added = Vec::new();
    for (name, value) in [(b"a", &b"1"[..]), (b"b", b"22"), (b"c", b"333")] {
        encode_literal(&mut added, Literal::WithIndexing, 0, name, value, true);
    }
    let referred = [&added[..], &[0xbf]].concat();
    let cases: &[(&[u8], usize)] = &[(&added, 0), (&referred, 1 + 1 + 1 + 2)];
    for (block, decoded) in cases {
        let _ = work::take();
        let end = decode_block(SliceBlock::new(block, true), NO_LIMIT, |field| {
            let _ = field.equals(field.name, b"x", b"\xf3")?;
            Ok(ControlFlow::<()>::Continue(()))
        });
        assert_eq!(end, Ok(BlockEnd::Complete));
        assert_eq!(work::take().huffman_decoded, *decoded, "{block:02x?}");
    }
}

#[test]
fn the_table_fits_its_documented_stack_size() {
    // "About 11 KiB" in `DynamicTable`'s docs; the matchers' say 12 KiB
    // with the rest of a call's state.
    let size = std::mem::size_of::<DynamicTable>();
    assert!((10 * 1024..=12 * 1024).contains(&size), "{size}");
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
        let result = decode_block(SliceBlock::new(&block[..cut], false), NO_LIMIT, |_| {
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

/// A block of `generated` fields, each one added to the table followed
/// by a reference to the oldest entry still there; and its fields.
fn generated_block(generated: &[GeneratedField]) -> (Vec<u8>, Fields) {
    let mut block = Vec::new();
    let mut want = Vec::new();
    let mut indexed: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for field in generated {
        encode_literal(
            &mut block,
            field.kind,
            0,
            &field.name,
            &field.value,
            field.huffman,
        );
        want.push((field.name.clone(), field.value.clone()));
        if field.kind == Literal::WithIndexing {
            indexed.insert(0, (field.name.clone(), field.value.clone()));
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
    (block, want)
}

/// How the decoding of `block` with a header list limit of `limit` ends,
/// and the fields it hands on, each name and value decoded whole.
fn decode_limited(block: &[u8], limit: usize) -> (Result<BlockEnd<()>, Stop>, Fields) {
    let mut fields = Vec::new();
    let mut name = StringBuffer::new();
    let mut value = StringBuffer::new();
    let end = decode_block(SliceBlock::new(block, true), limit, |field| {
        let name = field.text(field.name, &mut name)?.head().to_vec();
        let value = field.text(field.value, &mut value)?.head().to_vec();
        fields.push((name, value));
        Ok(ControlFlow::Continue(()))
    });
    (end, fields)
}

proptest! {
    #[test]
    fn literal_fields_and_their_references_decode(
        generated in proptest::collection::vec(generated_field(), 0..40),
    ) {
        let (block, want) = generated_block(&generated);
        prop_assert_eq!(decode(&block), Ok(want));
    }

    #[test]
    fn a_list_of_the_limit_is_decoded_and_one_octet_more_is_not(
        generated in proptest::collection::vec(generated_field(), 1..40),
    ) {
        let (block, want) = generated_block(&generated);
        let size: usize = want.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
        let _ = work::take();
        prop_assert_eq!(decode_limited(&block, size), (Ok(BlockEnd::Complete), want.clone()));
        let work = work::take();
        prop_assert!(work.total() <= work::bound(block.len(), size), "{:?}", work);
        let all_but_last = want[..want.len() - 1].to_vec();
        prop_assert_eq!(
            decode_limited(&block, size - 1),
            (Ok(BlockEnd::ListTooLarge), all_but_last)
        );
    }

    #[test]
    fn arbitrary_blocks_never_panic(block in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&block);
        let _ = decode_block(SliceBlock::new(&block, false), NO_LIMIT, |_| {
            Ok(ControlFlow::<()>::Continue(()))
        });
    }
}
