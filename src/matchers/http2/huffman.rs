//! The HPACK Huffman code (RFC 7541 section 5.2, table in Appendix B):
//! decoding of Huffman-coded header names and values, used by the HPACK
//! string decoder in `hpack.rs`.
//!
//! Wire format: each octet of the string is replaced by its code (5 to 30
//! bits, most significant bit first), the codes are concatenated and the
//! last octet is padded with the most significant bits of the EOS code
//! (all ones). A decoder must reject an EOS inside the string and padding
//! that is longer than 7 bits or not all ones.
//!
//! The code in Appendix B is canonical: the codes of one length are
//! consecutive numbers in symbol order, and the first code of each length
//! follows the last code of the length before it, shifted left. So the code
//! length of each symbol defines the whole table, and a partial code of
//! `l` bits is a complete one exactly when it falls inside the range of
//! `l`-bit codes.

use std::ops::ControlFlow;

use crate::matcher::cursor::{require, Stop};

/// The number of symbols: every octet, then EOS.
const SYMBOL_COUNT: usize = 257;

/// The longest code (EOS and three control characters): 30 bits.
const MAX_CODE_LENGTH: usize = 30;

/// The bit length of the code of each symbol, octets 0 to 255, then EOS
/// (RFC 7541 Appendix B, column "len").
const CODE_LENGTHS: [u8; SYMBOL_COUNT] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0..
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16..
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32..
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48..
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64..
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80..
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96..
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112..
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..
    30, // EOS (256)
];

/// The EOS symbol, which must never appear inside a string.
const EOS: u16 = 256;

/// The canonical code, derived from [`CODE_LENGTHS`] at compile time and
/// indexed by code length.
struct CanonicalCode {
    /// How many symbols have a code of each length.
    count: [u16; MAX_CODE_LENGTH + 1],
    /// The numeric value of the first code of each length.
    first_code: [u32; MAX_CODE_LENGTH + 1],
    /// Where in `symbols` the symbols with codes of each length start.
    first_index: [u16; MAX_CODE_LENGTH + 1],
    /// The symbols in code order: by code length, then by symbol.
    symbols: [u16; SYMBOL_COUNT],
}

impl CanonicalCode {
    const fn from_lengths(lengths: &[u8; SYMBOL_COUNT]) -> CanonicalCode {
        let mut code = CanonicalCode {
            count: [0; MAX_CODE_LENGTH + 1],
            first_code: [0; MAX_CODE_LENGTH + 1],
            first_index: [0; MAX_CODE_LENGTH + 1],
            symbols: [0; SYMBOL_COUNT],
        };
        let mut next_index = 0;
        let mut next_code = 0u32;
        let mut length = 1;
        while length <= MAX_CODE_LENGTH {
            next_code <<= 1;
            code.first_code[length] = next_code;
            code.first_index[length] = next_index as u16;
            let mut symbol = 0;
            while symbol < SYMBOL_COUNT {
                if lengths[symbol] as usize == length {
                    code.symbols[next_index] = symbol as u16;
                    next_index += 1;
                    code.count[length] += 1;
                    next_code += 1;
                }
                symbol += 1;
            }
            length += 1;
        }
        code
    }
}

static CODE: CanonicalCode = CanonicalCode::from_lengths(&CODE_LENGTHS);

/// The code of each symbol (right-aligned; its length is in
/// [`CODE_LENGTHS`]), derived from [`CODE`].
static CODES: [u32; SYMBOL_COUNT] = codes(&CODE);

const fn codes(code: &CanonicalCode) -> [u32; SYMBOL_COUNT] {
    let mut table = [0; SYMBOL_COUNT];
    let mut length = 1;
    while length <= MAX_CODE_LENGTH {
        let mut offset = 0;
        while offset < code.count[length] as usize {
            let symbol = code.symbols[code.first_index[length] as usize + offset];
            table[symbol as usize] = code.first_code[length] + offset as u32;
            offset += 1;
        }
        length += 1;
    }
    table
}

/// Huffman-codes `text`, padding the last octet with the most significant
/// bits of EOS (RFC 7541 section 5.2). The code is canonical and the
/// padding fixed, so this is the only valid coding of `text`: a coded
/// string decodes to `text` exactly when its octets are these.
pub(crate) fn huffman_encode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bits: u64 = 0;
    let mut bit_count = 0;
    for &byte in text {
        let length = u32::from(CODE_LENGTHS[usize::from(byte)]);
        bits = bits << length | u64::from(CODES[usize::from(byte)]);
        bit_count += length;
        while bit_count >= 8 {
            bit_count -= 8;
            out.push((bits >> bit_count) as u8);
        }
    }
    if bit_count > 0 {
        let padding = 8 - bit_count;
        out.push(((bits << padding) as u8) | ((1u8 << padding) - 1));
    }
    out
}

/// How many bits [`SHORT_CODES`] looks at: codes up to this long (the
/// letters, digits and common punctuation) decode in one lookup.
const WINDOW_BITS: u32 = 8;

/// One entry of [`SHORT_CODES`]: the symbol whose code starts the window,
/// and that code's length, or length 0 when the window is the start of a
/// longer code.
#[derive(Clone, Copy)]
struct ShortCode {
    symbol: u8,
    length: u8,
}

/// For every [`WINDOW_BITS`]-bit window, the code of at most that length
/// it starts with (RFC 7541 Appendix B), derived from [`CODE`].
static SHORT_CODES: [ShortCode; 1 << WINDOW_BITS] = short_codes(&CODE);

const fn short_codes(code: &CanonicalCode) -> [ShortCode; 1 << WINDOW_BITS] {
    let mut table = [ShortCode {
        symbol: 0,
        length: 0,
    }; 1 << WINDOW_BITS];
    let mut length = 1;
    while length <= WINDOW_BITS as usize {
        let mut offset = 0;
        while offset < code.count[length] as usize {
            let value = code.first_code[length] as usize + offset;
            let symbol = code.symbols[code.first_index[length] as usize + offset];
            let spread = WINDOW_BITS as usize - length;
            let mut window = value << spread;
            while window < (value + 1) << spread {
                table[window] = ShortCode {
                    symbol: symbol as u8,
                    length: length as u8,
                };
                window += 1;
            }
            offset += 1;
        }
        length += 1;
    }
    table
}

/// The low `bits` bits set.
fn low_bits(bits: u32) -> u64 {
    (1u64 << bits) - 1
}

/// Decodes one Huffman-coded string fed in pieces, carrying the bits of an
/// unfinished code from one piece to the next.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HuffmanDecoder {
    /// The bits read and not yet decoded, in the low `pending_bits` bits,
    /// the oldest most significant; the bits above them are stale.
    pending: u64,
    /// How many bits `pending` holds: at most 29 between pieces (every
    /// 30-bit sequence starts with a complete code), so at most 37 while
    /// an octet is added.
    pending_bits: u32,
}

impl HuffmanDecoder {
    /// Decodes the next piece of the string, passing each decoded octet to
    /// `emit` until it breaks; `Invalid` at an EOS code. The bits after
    /// the octet `emit` broke at are neither decoded nor checked.
    pub(crate) fn feed(
        &mut self,
        encoded: &[u8],
        mut emit: impl FnMut(u8) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Stop> {
        for &byte in encoded {
            self.pending = self.pending << 8 | u64::from(byte);
            self.pending_bits += 8;
            while let Some((symbol, length)) = self.next_code() {
                require(symbol != EOS)?;
                self.pending_bits -= length;
                if emit(symbol as u8).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The symbol and length of the complete code at the start of the
    /// pending bits, or `None` if they hold only part of one.
    fn next_code(&self) -> Option<(u16, u32)> {
        let available = self.pending_bits;
        // With fewer than WINDOW_BITS bits, zeros stand in for the missing
        // ones: a complete code among the known bits is a prefix of the
        // window whatever follows, and the code is prefix-free.
        let window = if available >= WINDOW_BITS {
            self.pending >> (available - WINDOW_BITS)
        } else {
            self.pending << (WINDOW_BITS - available)
        } as u8;
        let short = SHORT_CODES[usize::from(window)];
        if short.length != 0 {
            let length = u32::from(short.length);
            return (length <= available).then_some((u16::from(short.symbol), length));
        }
        let mut length = WINDOW_BITS + 1;
        while length <= available.min(MAX_CODE_LENGTH as u32) {
            let value = (self.pending >> (available - length) & low_bits(length)) as u32;
            let offset = value.wrapping_sub(CODE.first_code[length as usize]);
            if offset < u32::from(CODE.count[length as usize]) {
                let index = usize::from(CODE.first_index[length as usize]) + offset as usize;
                return Some((CODE.symbols[index], length));
            }
            length += 1;
        }
        None
    }

    /// Checks the end of the string: what is left must be padding, at most
    /// 7 bits, all ones (the start of EOS).
    pub(crate) fn finish(&self) -> Result<(), Stop> {
        let padding = low_bits(self.pending_bits.min(63));
        require(self.pending_bits <= 7 && self.pending & padding == padding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The code of `symbol`: its value (right-aligned) and bit length.
    fn code_of(symbol: usize) -> (u32, u8) {
        (CODES[symbol], CODE_LENGTHS[symbol])
    }

    /// Decodes a whole Huffman-coded string into the fixed buffer `out`,
    /// returning how many octets were written (`Invalid` if they do not fit).
    fn decode_into(encoded: &[u8], out: &mut [u8]) -> Result<usize, Stop> {
        let mut decoder = HuffmanDecoder::default();
        let mut written = 0;
        let mut overflow = false;
        let _ = decoder.feed(encoded, |byte| {
            match out.get_mut(written) {
                Some(slot) => {
                    *slot = byte;
                    written += 1;
                }
                None => overflow = true,
            }
            ControlFlow::Continue(())
        })?;
        decoder.finish()?;
        require(!overflow)?;
        Ok(written)
    }

    fn decode(encoded: &[u8]) -> Result<Vec<u8>, Stop> {
        let mut out = [0u8; 512];
        let length = decode_into(encoded, &mut out)?;
        Ok(out[..length].to_vec())
    }

    #[test]
    fn codes_agree_with_rfc_7541_appendix_b() {
        let spot_checks: &[(usize, u32, u8)] = &[
            (0, 0x1ff8, 13),
            (1, 0x7fffd8, 23),
            (10, 0x3ffffffc, 30),
            (b' ' as usize, 0x14, 6),
            (b'&' as usize, 0xf8, 8),
            (b'0' as usize, 0x0, 5),
            (b'Z' as usize, 0xfd, 8),
            (b'\\' as usize, 0x7fff0, 19),
            (b'a' as usize, 0x3, 5),
            (b'z' as usize, 0x7b, 7),
            (b'~' as usize, 0x1ffd, 13),
            (128, 0xfffe6, 20),
            (195, 0x7fff1, 19),
            (255, 0x3ffffee, 26),
            (256, 0x3fffffff, 30),
        ];
        for &(symbol, code, length) in spot_checks {
            assert_eq!(code_of(symbol), (code, length), "symbol {symbol}");
        }
    }

    #[test]
    fn the_code_is_complete() {
        // Kraft's equality: every 30-bit sequence starts with exactly one
        // code, so a pending code never grows past 29 bits.
        let total: u64 = CODE_LENGTHS.iter().map(|&l| 1u64 << (30 - l)).sum();
        assert_eq!(total, 1 << 30);
    }

    #[test]
    fn rfc_7541_appendix_c4_and_c6_strings() {
        let cases: &[(&[u8], &[u8])] = &[
            // C.4.1 :authority
            (
                &[
                    0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
                ],
                b"www.example.com",
            ),
            // C.4.2 cache-control
            (&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf], b"no-cache"),
            // C.4.3 custom-key / custom-value
            (
                &[0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f],
                b"custom-key",
            ),
            (
                &[0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf],
                b"custom-value",
            ),
            // C.6.1
            (&[0x64, 0x02], b"302"),
            (&[0xae, 0xc3, 0x77, 0x1a, 0x4b], b"private"),
            (
                &[
                    0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05, 0x95, 0x04,
                    0x0b, 0x81, 0x66, 0xe0, 0x82, 0xa6, 0x2d, 0x1b, 0xff,
                ],
                b"Mon, 21 Oct 2013 20:13:21 GMT",
            ),
            (
                &[
                    0x9d, 0x29, 0xad, 0x17, 0x18, 0x63, 0xc7, 0x8f, 0x0b, 0x97, 0xc8, 0xe9, 0xae,
                    0x82, 0xae, 0x43, 0xd3,
                ],
                b"https://www.example.com",
            ),
            // C.6.2
            (&[0x64, 0x0e, 0xff], b"307"),
            // C.6.3
            (&[0x9b, 0xd9, 0xab], b"gzip"),
            (
                &[
                    0x94, 0xe7, 0x82, 0x1d, 0xd7, 0xf2, 0xe6, 0xc7, 0xb3, 0x35, 0xdf, 0xdf, 0xcd,
                    0x5b, 0x39, 0x60, 0xd5, 0xaf, 0x27, 0x08, 0x7f, 0x36, 0x72, 0xc1, 0xab, 0x27,
                    0x0f, 0xb5, 0x29, 0x1f, 0x95, 0x87, 0x31, 0x60, 0x65, 0xc0, 0x03, 0xed, 0x4e,
                    0xe5, 0xb1, 0x06, 0x3d, 0x50, 0x07,
                ],
                b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            ),
        ];
        for (encoded, text) in cases {
            assert_eq!(decode(encoded).as_deref(), Ok(*text), "{text:?}");
            assert_eq!(huffman_encode(text), *encoded, "{text:?}");
        }
    }

    #[test]
    fn rejects_eos_and_bad_padding() {
        type Case<'a> = (&'a [u8], Result<&'a [u8], Stop>);
        let cases: &[Case] = &[
            (b"", Ok(b"")),
            // "a" (00011) padded with 111.
            (&[0x1f], Ok(b"a")),
            // "a" padded with 011: not the start of EOS.
            (&[0x1b], Err(Stop::Invalid)),
            // "a", then a whole octet of padding: longer than 7 bits.
            (&[0x1f, 0xff], Err(Stop::Invalid)),
            // Only padding, but 8 bits of it.
            (&[0xff], Err(Stop::Invalid)),
            // EOS (30 ones) then two bits of padding.
            (&[0xff, 0xff, 0xff, 0xff], Err(Stop::Invalid)),
            // "a" then EOS inside the string.
            (&[0x1f, 0xff, 0xff, 0xff, 0xfc], Err(Stop::Invalid)),
            // The first 24 bits of a 28-bit code: too long for padding.
            (&[0xff, 0xff, 0xfe], Err(Stop::Invalid)),
        ];
        for (encoded, want) in cases {
            assert_eq!(decode(encoded), want.map(<[u8]>::to_vec), "{encoded:02x?}");
        }
    }

    #[test]
    fn every_octet_decodes_alone_and_in_sequence() {
        // Short codes take the one-lookup path, long ones the search; both
        // must agree with the encoder for every symbol, at every bit offset.
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&huffman_encode(&all)), Ok(all.clone()));
        for octet in all {
            for lead in [&b""[..], b"a", b"ab", b"abc"] {
                let text = [lead, &[octet][..]].concat();
                assert_eq!(decode(&huffman_encode(&text)), Ok(text.clone()));
            }
        }
    }

    #[test]
    fn a_full_buffer_is_invalid() {
        let encoded = huffman_encode(b"www.example.com");
        let mut small = [0u8; 4];
        assert_eq!(decode_into(&encoded, &mut small), Err(Stop::Invalid));
        let mut exact = [0u8; 15];
        assert_eq!(decode_into(&encoded, &mut exact), Ok(15));
        assert_eq!(&exact, b"www.example.com");
    }

    proptest! {
        #[test]
        fn round_trips(text in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode(&huffman_encode(&text)), Ok(text));
        }

        #[test]
        fn piece_by_piece_is_the_same_as_whole(
            text in proptest::collection::vec(any::<u8>(), 0..64),
            cut in any::<prop::sample::Index>(),
        ) {
            let encoded = huffman_encode(&text);
            let cut = cut.index(encoded.len() + 1);
            let mut decoder = HuffmanDecoder::default();
            let mut decoded = Vec::new();
            let mut collect = |b| {
                decoded.push(b);
                ControlFlow::Continue(())
            };
            let whole = Ok(ControlFlow::Continue(()));
            prop_assert_eq!(decoder.feed(&encoded[..cut], &mut collect), whole);
            prop_assert_eq!(decoder.feed(&encoded[cut..], &mut collect), whole);
            decoder.finish().unwrap();
            prop_assert_eq!(decoded, text);
        }

        #[test]
        fn never_panics(encoded in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&encoded);
        }
    }
}
