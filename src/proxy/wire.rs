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
