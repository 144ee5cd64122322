//! Why a PROXY header is malformed: [`ProxyError`], which the parser
//! (`parse.rs`) returns at the first byte that breaks the format and the
//! sniff reports when a required header is missing or cut short.

use std::error::Error;
use std::fmt;

use super::wire::{
    AddressFamily, Endpoint, V1Protocol, PROXY_V1_MAX_HEADER_BYTES, PROXY_V2_MAX_HEADER_BYTES,
};

/// What is wrong with a malformed PROXY header; its `Display` says it in a
/// short phrase fit for a log line or an event.
///
/// ```
/// use connmux::{parse_proxy_header, ProxyParse};
///
/// let ProxyParse::Malformed(error) = parse_proxy_header(b"PROXY TCP4 1.2.3.4 5.6.7.8 80 65536") else {
///     panic!("malformed");
/// };
/// assert_eq!(error.to_string(), "v1 destination port out of range (above 65535)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyError(pub(super) ErrorKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrorKind {
    V1TooLong,
    V1BadProtocol,
    V1BadSeparator,
    V1TooFewFields,
    V1TrailingData,
    V1StrayLineBreak,
    V1BadAddress(Endpoint, V1Protocol),
    V1BadPort(Endpoint),
    V1PortOutOfRange(Endpoint),
    V2UnknownVersion(u8),
    V2UnknownCommand(u8),
    V2UnknownFamily(u8),
    V2TooLong(usize),
    V2AddressesTooShort(AddressFamily, u16),
    V2TlvOverrun,
    V2BadChecksum,
    Missing,
    Truncated,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ErrorKind::V1TooLong => write!(
                f,
                "v1 header longer than {PROXY_V1_MAX_HEADER_BYTES} bytes (no CRLF)"
            ),
            ErrorKind::V1BadProtocol => f.write_str("v1 protocol is not TCP4, TCP6 or UNKNOWN"),
            ErrorKind::V1BadSeparator => {
                f.write_str("v1 fields not separated by exactly one space")
            }
            ErrorKind::V1TooFewFields => {
                f.write_str("v1 line ends before its two addresses and two ports")
            }
            ErrorKind::V1TrailingData => f.write_str("v1 line goes on after the destination port"),
            ErrorKind::V1StrayLineBreak => {
                f.write_str("v1 line has a CR or LF that is not its final CRLF")
            }
            ErrorKind::V1BadAddress(endpoint, protocol) => write!(
                f,
                "v1 {endpoint} address is not a valid {} address for {}",
                protocol.family(),
                protocol.name()
            ),
            ErrorKind::V1BadPort(endpoint) => write!(
                f,
                "v1 {endpoint} port is not a decimal number without leading zeros"
            ),
            ErrorKind::V1PortOutOfRange(endpoint) => {
                write!(f, "v1 {endpoint} port out of range (above 65535)")
            }
            ErrorKind::V2UnknownVersion(version) => {
                write!(f, "v2 unknown version {version} (expected 2)")
            }
            ErrorKind::V2UnknownCommand(command) => write!(
                f,
                "v2 unknown command {command} (expected 0 LOCAL or 1 PROXY)"
            ),
            ErrorKind::V2UnknownFamily(byte) => {
                write!(f, "v2 unknown address family and transport 0x{byte:02x}")
            }
            ErrorKind::V2TooLong(total) => write!(
                f,
                "v2 header of {total} bytes longer than the {PROXY_V2_MAX_HEADER_BYTES} accepted"
            ),
            ErrorKind::V2AddressesTooShort(family, length) => write!(
                f,
                "v2 address block of {length} bytes shorter than the {} {family} requires",
                family.address_bytes()
            ),
            ErrorKind::V2TlvOverrun => f.write_str("v2 TLV runs past the end of the header"),
            ErrorKind::V2BadChecksum => f.write_str("v2 CRC32C TLV does not match the header"),
            ErrorKind::Missing => f.write_str("no PROXY header where one is required"),
            ErrorKind::Truncated => {
                f.write_str("the connection stopped before its PROXY header was complete")
            }
        }
    }
}

impl Error for ProxyError {}

impl ProxyError {
    /// A connection that must start with a PROXY header does not.
    pub(crate) fn missing() -> ProxyError {
        ProxyError(ErrorKind::Missing)
    }

    /// A connection ended (or hit the sniff limits) inside its PROXY header.
    pub(crate) fn truncated() -> ProxyError {
        ProxyError(ErrorKind::Truncated)
    }
}
