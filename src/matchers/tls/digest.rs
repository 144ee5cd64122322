//! The two hash functions the ClientHello fingerprints are defined with:
//! SHA-256 (FIPS 180-4) for JA4 and MD5 (RFC 1321) for JA3, with their
//! output written as lower-case hex, as both fingerprints print it.
//!
//! std has neither hash and connmux depends on nothing, so they are
//! written here from the standards and checked against the standards' test
//! vectors. They hash a few hundred bytes of text once per complete
//! ClientHello, so they are written to be read, not to be fast.
//!
//! Both are Merkle-Damgard constructions over 64-byte blocks and pad a
//! message the same way (FIPS 180-4 section 5.1.1; RFC 1321 sections 3.1
//! and 3.2):
//!
//! ```text
//! message | 0x80 | 0x00 ... (to 56 bytes into a block) | bit length u64
//! ```
//!
//! the bit length big-endian for SHA-256 and little-endian for MD5.

mod md5;
mod sha256;

use std::fmt::Write;

pub(super) use md5::md5;
pub(super) use sha256::sha256;

const BLOCK_LENGTH: usize = 64;
/// Where the length field starts in the last padded block.
const LENGTH_AT: usize = BLOCK_LENGTH - 8;

/// Calls `compress` on each 64-byte block of `message` once padded, in
/// order; `encoded_bit_length` is the message length in bits, in the
/// hash's byte order.
fn for_each_padded_block(
    message: &[u8],
    encoded_bit_length: [u8; 8],
    mut compress: impl FnMut(&[u8; BLOCK_LENGTH]),
) {
    let (whole_blocks, rest) = message.as_chunks::<BLOCK_LENGTH>();
    whole_blocks.iter().for_each(&mut compress);
    // The rest, the 0x80 byte and the length take one block, or two when
    // the rest leaves less than 9 bytes.
    // `rest` is shorter than a block, so the 0x80 byte fits after it.
    let mut tail = [[0; BLOCK_LENGTH]; 2];
    let tail_blocks = if rest.len() < LENGTH_AT { 1 } else { 2 };
    tail[0][..rest.len()].copy_from_slice(rest);
    tail[0][rest.len()] = 0x80;
    tail[tail_blocks - 1][LENGTH_AT..].copy_from_slice(&encoded_bit_length);
    tail[..tail_blocks].iter().for_each(compress);
}

/// The length of `message` in bits, modulo 2^64 as both standards say.
fn bit_length(message: &[u8]) -> u64 {
    (message.len() as u64).wrapping_mul(8)
}

/// `bytes` as lower-case hex, two digits a byte.
pub(super) fn lower_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_takes_a_second_block_when_the_length_does_not_fit() {
        // (message length, blocks hashed)
        for (length, want_blocks) in [
            (0, 1),
            (55, 1),
            (56, 2),
            (63, 2),
            (64, 2),
            (119, 2),
            (120, 3),
        ] {
            let message = vec![0xaa; length];
            let mut padded = Vec::new();
            for_each_padded_block(&message, [1, 2, 3, 4, 5, 6, 7, 8], |block| {
                padded.extend_from_slice(block)
            });
            assert_eq!(padded.len(), want_blocks * BLOCK_LENGTH, "{length}");
            assert_eq!(padded[..length], message[..]);
            assert_eq!(padded[length], 0x80);
            assert!(padded[length + 1..padded.len() - 8].iter().all(|&b| b == 0));
            assert_eq!(padded[padded.len() - 8..], [1, 2, 3, 4, 5, 6, 7, 8]);
        }
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(lower_hex(&[]), "");
    }
}
