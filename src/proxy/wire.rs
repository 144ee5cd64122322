//! The PROXY protocol's wire vocabulary, shared by the encoders
//! (`header.rs`), the parser (`parse.rs`) and its errors (`error.rs`): the
//! header size limits, the v1 prefix and the v2 signature, the v2 address
//! families, the two endpoints, and the two address-carrying v1 protocols.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest version 1 header, CRLF included (spec section 2.1: `PROXY
/// UNKNOWN` with two full IPv6 addresses and ports). A receiver that has
/// this many bytes without a CRLF has a malformed header.
pub const PROXY_V1_MAX_HEADER_BYTES: usize = 107;

/// The longest version 2 header this parser accepts: 16 fixed bytes plus
/// the length field.
///
/// The wire format allows up to 16 + 65,535 bytes, but a header is
/// addresses (at most 216 bytes) plus TLVs, and real senders stay far
/// below a kilobyte. Capping it at 4 KiB keeps the header within a quarter
/// of connmux's default 16 KiB sniff limit, leaving the rest for the bytes
/// the matchers need after it.
pub const PROXY_V2_MAX_HEADER_BYTES: usize = 4096;

pub(super) const V1_PREFIX: &[u8] = b"PROXY ";
pub(super) const V1_PROTOCOLS: [&[u8]; 3] = [b"TCP4", b"TCP6", b"UNKNOWN"];
pub(super) const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
/// Signature, version and command, family and transport, length.
pub(super) const V2_FIXED_BYTES: usize = 16;
pub(super) const V2_VERSION: u8 = 2;
pub(super) const UNIX_PATH_BYTES: usize = 108;

/// One end of the relayed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Source,
    Destination,
}

impl Endpoint {
    pub(super) fn pick<T>(self, source: T, destination: T) -> T {
        match self {
            Endpoint::Source => source,
            Endpoint::Destination => destination,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Source => "source",
            Endpoint::Destination => "destination",
        })
    }
}

/// The address families of spec section 2.2, high nibble of byte 14.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AddressFamily {
    Unspecified,
    Ipv4,
    Ipv6,
    Unix,
}

impl AddressFamily {
    pub(super) fn wire(self) -> u8 {
        match self {
            AddressFamily::Unspecified => 0,
            AddressFamily::Ipv4 => 1,
            AddressFamily::Ipv6 => 2,
            AddressFamily::Unix => 3,
        }
    }

    /// The size of the family's address block: two addresses, and two
    /// ports for IP.
    pub(super) fn address_length(self) -> u16 {
        match self {
            AddressFamily::Unspecified => 0,
            AddressFamily::Ipv4 => 2 * 4 + 2 * 2,
            AddressFamily::Ipv6 => 2 * 16 + 2 * 2,
            AddressFamily::Unix => 2 * 108,
        }
    }

    pub(super) fn address_bytes(self) -> usize {
        usize::from(self.address_length())
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressFamily::Unspecified => "AF_UNSPEC",
            AddressFamily::Ipv4 => "IPv4",
            AddressFamily::Ipv6 => "IPv6",
            AddressFamily::Unix => "UNIX",
        })
    }
}

/// The two address-carrying protocols of a v1 line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum V1Protocol {
    Tcp4,
    Tcp6,
}

impl V1Protocol {
    pub(super) fn name(self) -> &'static str {
        match self {
            V1Protocol::Tcp4 => "TCP4",
            V1Protocol::Tcp6 => "TCP6",
        }
    }

    pub(super) fn family(self) -> AddressFamily {
        match self {
            V1Protocol::Tcp4 => AddressFamily::Ipv4,
            V1Protocol::Tcp6 => AddressFamily::Ipv6,
        }
    }

    /// Whether `byte` may appear in an address of this family as std
    /// parses it (IPv6 may end in a dotted IPv4 address).
    pub(super) fn address_byte(self, byte: u8) -> bool {
        match self {
            V1Protocol::Tcp4 => byte.is_ascii_digit() || byte == b'.',
            V1Protocol::Tcp6 => byte.is_ascii_hexdigit() || byte == b':' || byte == b'.',
        }
    }

    /// The longest address text: `255.255.255.255`, and
    /// `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255` (INET6_ADDRSTRLEN).
    pub(super) fn longest_address(self) -> usize {
        match self {
            V1Protocol::Tcp4 => 15,
            V1Protocol::Tcp6 => 45,
        }
    }

    pub(super) fn parse_ip(self, text: &[u8]) -> Option<IpAddr> {
        let text = std::str::from_utf8(text).ok()?;
        match self {
            V1Protocol::Tcp4 => text.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
            V1Protocol::Tcp6 => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        }
    }
}

/// PROXY v2 TLV types the spec registers (section 2.2.1 to 2.2.8).
pub(super) mod kind {
    pub(in crate::proxy) const ALPN: u8 = 0x01;
    pub(in crate::proxy) const AUTHORITY: u8 = 0x02;
    pub(in crate::proxy) const CRC32C: u8 = 0x03;
    pub(in crate::proxy) const NOOP: u8 = 0x04;
    pub(in crate::proxy) const UNIQUE_ID: u8 = 0x05;
    pub(in crate::proxy) const SSL: u8 = 0x20;
    pub(in crate::proxy) const NETNS: u8 = 0x30;
    /// Sub-TLVs of SSL.
    pub(in crate::proxy) const SSL_VERSION: u8 = 0x21;
    pub(in crate::proxy) const SSL_CN: u8 = 0x22;
    pub(in crate::proxy) const SSL_CIPHER: u8 = 0x23;
    pub(in crate::proxy) const SSL_SIG_ALG: u8 = 0x24;
    pub(in crate::proxy) const SSL_KEY_ALG: u8 = 0x25;
    /// The custom range's registered cloud types, each a subtype byte
    /// then the value.
    pub(in crate::proxy) const AWS: u8 = 0xEA;
    pub(in crate::proxy) const AZURE: u8 = 0xEE;
    pub(in crate::proxy) const GCP: u8 = 0xE0;
}

/// The first TLV of `tlvs` (type, value) and the bytes after it; `None`
/// when none fits.
pub(super) fn next_tlv(tlvs: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let [kind, high, low, rest @ ..] = tlvs else {
        return None;
    };
    let length = usize::from(u16::from_be_bytes([*high, *low]));
    let (value, rest) = rest.split_at_checked(length)?;
    Some((*kind, value, rest))
}

/// Whether `tlvs` is a whole number of TLVs: each type, length and value
/// within the bytes.
pub(super) fn well_formed_tlvs(mut tlvs: &[u8]) -> bool {
    while !tlvs.is_empty() {
        match next_tlv(tlvs) {
            Some((_, _, rest)) => tlvs = rest,
            None => return false,
        }
    }
    true
}

/// Where the CRC32C TLV's value sits in `tlvs`, if there is one.
pub(super) fn crc32c_value_at(tlvs: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut rest = tlvs;
    while let Some((kind, value, after)) = next_tlv(rest) {
        let start = tlvs.len() - rest.len() + 3;
        if kind == kind::CRC32C {
            return Some(start..start + value.len());
        }
        rest = after;
    }
    None
}

/// CRC32C (Castagnoli, the polynomial 0x1EDC6F41 reflected), as the
/// CRC32C TLV carries it: over the whole header, that TLV's value zeroed.
pub(super) fn crc32c(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut index = 0;
        while index < 256 {
            let mut crc = index as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[index] = crc;
            index += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &byte| {
        TABLE[usize::from((crc as u8) ^ byte)] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tlv_tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_values() {
        // The common check value, and RFC 3720 appendix B.4.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46DD_794E);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn tlvs_are_whole_or_not() {
        assert!(well_formed_tlvs(b"\x01\x00\x02h2\x04\x00\x00"));
        assert!(!well_formed_tlvs(b"\x01\x00\x05h2"), "value past the end");
        assert!(!well_formed_tlvs(b"\x01\x00"), "length cut");
        assert_eq!(
            crc32c_value_at(b"\x04\x00\x01x\x03\x00\x04abcd"),
            Some(7..11)
        );
    }
}
