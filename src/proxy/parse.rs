//! The PROXY header parser: [`parse_proxy_header`] reads a v1 line (spec
//! section 2.1) or a v2 binary header (section 2.2) at the start of a
//! connection through the bounds-checked [`Cursor`], and says
//! [`ProxyParse::Complete`], `Incomplete`, `Absent` or `Malformed` as early
//! as the bytes allow.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::error::{ErrorKind, ProxyError};
use super::header::{
    without_nul_padding, EndpointPair, ProxyCommand, ProxyHeader, ProxyTransport, ProxyVersion,
    UnixPath,
};
use super::wire::{
    crc32c, crc32c_value_at, well_formed_tlvs, AddressFamily, Endpoint, V1Protocol,
    PROXY_V1_MAX_HEADER_BYTES, PROXY_V2_MAX_HEADER_BYTES, UNIX_PATH_BYTES, V1_PREFIX, V1_PROTOCOLS,
    V2_FIXED_BYTES, V2_SIGNATURE, V2_VERSION,
};
use crate::matcher::cursor::{Cursor, Stop};
use crate::matcher::Verdict;
use crate::matchers::prefix::prefix_verdict;

/// What [`parse_proxy_header`] found at the start of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyParse {
    /// A whole, valid header that occupies the first `length` bytes; what
    /// follows is the connection's own data.
    Complete {
        /// The header.
        header: ProxyHeader,
        /// How many bytes the header occupies, to strip before the data.
        length: usize,
    },
    /// The bytes are a strict prefix of a possible header: more are needed.
    Incomplete,
    /// The bytes cannot start a PROXY header: they begin neither with
    /// `PROXY ` nor with the v2 signature.
    Absent,
    /// The bytes start like a PROXY header but break its rules.
    Malformed(ProxyError),
}

/// Why a header parse stopped without a header.
enum Halt {
    /// The input ended first.
    Short,
    /// The bytes break the format.
    Malformed(ErrorKind),
}

impl From<Stop> for Halt {
    /// The cursor's reads stop only for lack of bytes; this parser judges
    /// validity itself, with a reason.
    fn from(_: Stop) -> Halt {
        Halt::Short
    }
}

impl From<ErrorKind> for Halt {
    fn from(kind: ErrorKind) -> Halt {
        Halt::Malformed(kind)
    }
}

/// Looks for a PROXY protocol header, version 1 or 2, at the start of
/// `seen`, the bytes a connection has sent so far.
///
/// Like a matcher, it is pure and prefix-monotone: once it answers
/// `Complete`, `Absent` or `Malformed` for some bytes, it gives the same
/// answer (and the same `length`) for every longer input that starts with
/// them. It decides as early as the bytes allow:
///
/// - `Absent` at the first byte that differs from both `PROXY ` and the
///   12-byte v2 signature, so a connection without a header is told apart
///   from its first byte in almost every protocol;
/// - `Malformed` at the first byte that breaks the format: a v1 field is
///   checked as it arrives (a bad protocol name, a character no address may
///   hold, a port with a leading zero or above 65535), a v2 header from its
///   fixed 16 bytes (version, command, family, a length too short for the
///   addresses or over [`PROXY_V2_MAX_HEADER_BYTES`]);
/// - `Complete` at the v1 CRLF, or when the v2 length is all there.
///
/// It never answers `Incomplete` for [`PROXY_V1_MAX_HEADER_BYTES`] bytes of
/// a v1 header or [`PROXY_V2_MAX_HEADER_BYTES`] of a v2 one.
///
/// Choices where the spec leaves room: v1 addresses are parsed by std,
/// which rejects IPv4 numbers with leading zeros, as the spec requires, and
/// accepts IPv6 text ending in a dotted IPv4 address, as `inet_pton` does;
/// ports are decimal digits only, without leading zeros. After `UNKNOWN`
/// any bytes up to the CRLF are ignored, but a lone CR or LF is malformed
/// anywhere in a v1 line. A v2 `LOCAL` header and a v2 `AF_UNSPEC` header
/// skip their whole address block unread (spec: the receiver ignores it);
/// after IPv4, IPv6 and UNIX addresses the rest of the block must be whole
/// TLVs, which are skipped (their CRC32C, if any, is not checked). A v2
/// family byte other than the seven of the spec is malformed, even for
/// `LOCAL`.
///
/// ```
/// use connmux::{parse_proxy_header, ProxyHeader, ProxyParse};
///
/// assert_eq!(parse_proxy_header(b"PROXY TCP4 10.0.0"), ProxyParse::Incomplete);
/// assert_eq!(parse_proxy_header(b"GET / HTTP/1.1\r\n"), ProxyParse::Absent);
/// assert_eq!(parse_proxy_header(b"PROXI"), ProxyParse::Absent);
/// assert!(matches!(parse_proxy_header(b"PROXY TCP4 010."), ProxyParse::Incomplete));
/// assert!(matches!(parse_proxy_header(b"PROXY TCP4 010.0.0.1 "), ProxyParse::Malformed(_)));
///
/// let local = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00SSH-2.0-";
/// assert_eq!(
///     parse_proxy_header(local),
///     ProxyParse::Complete { header: ProxyHeader::local(), length: 16 },
/// );
/// ```
pub fn parse_proxy_header(seen: &[u8]) -> ProxyParse {
    let is_v2 = seen.first() == V2_SIGNATURE.first();
    let signature = if is_v2 { V2_SIGNATURE } else { V1_PREFIX };
    let parsed = match prefix_verdict(seen, signature) {
        Verdict::NoMatch => return ProxyParse::Absent,
        Verdict::NeedMore => return ProxyParse::Incomplete,
        Verdict::Match if is_v2 => parse_v2(seen),
        Verdict::Match => parse_v1(seen),
    };
    match parsed {
        Ok((header, length)) => ProxyParse::Complete { header, length },
        Err(Halt::Short) => ProxyParse::Incomplete,
        Err(Halt::Malformed(kind)) => ProxyParse::Malformed(ProxyError(kind)),
    }
}

/// Parses a v1 line within its first [`PROXY_V1_MAX_HEADER_BYTES`], so
/// that what lies beyond can never change the outcome.
fn parse_v1(seen: &[u8]) -> Result<(ProxyHeader, usize), Halt> {
    let window = seen.get(..PROXY_V1_MAX_HEADER_BYTES).unwrap_or(seen);
    let mut line = Cursor::new(window);
    match v1_line(&mut line) {
        Ok(header) => Ok((
            header.with_version(ProxyVersion::V1),
            window.len() - line.remaining(),
        )),
        Err(Halt::Short) if window.len() == PROXY_V1_MAX_HEADER_BYTES => {
            Err(ErrorKind::V1TooLong.into())
        }
        Err(halt) => Err(halt),
    }
}

fn v1_line(line: &mut Cursor<'_>) -> Result<ProxyHeader, Halt> {
    line.skip(V1_PREFIX.len())?;
    let (protocol, end) = v1_field(
        line,
        |byte| byte.is_ascii_alphanumeric(),
        |run| {
            if V1_PROTOCOLS.iter().any(|name| name.starts_with(run)) {
                Ok(())
            } else {
                Err(ErrorKind::V1BadProtocol)
            }
        },
    )?;
    let protocol = match (protocol, end) {
        (b"TCP4", b' ') => V1Protocol::Tcp4,
        (b"TCP6", b' ') => V1Protocol::Tcp6,
        (b"TCP4" | b"TCP6", b'\r' | b'\n') => return Err(ErrorKind::V1TooFewFields.into()),
        (b"UNKNOWN", b' ') => {
            line.take_while(|byte| byte != b'\r' && byte != b'\n');
            let end = line.u8()?;
            v1_line_end(line, end)?;
            return Ok(ProxyHeader::unknown());
        }
        (b"UNKNOWN", b'\r' | b'\n') => {
            v1_line_end(line, end)?;
            return Ok(ProxyHeader::unknown());
        }
        (b"", b' ') => return Err(ErrorKind::V1BadSeparator.into()),
        _ => return Err(ErrorKind::V1BadProtocol.into()),
    };
    let source = v1_address(line, protocol, Endpoint::Source)?;
    let destination = v1_address(line, protocol, Endpoint::Destination)?;
    let source_port = v1_port(line, Endpoint::Source)?;
    let destination_port = v1_port(line, Endpoint::Destination)?;
    Ok(ProxyHeader::tcp(
        SocketAddr::new(source, source_port),
        SocketAddr::new(destination, destination_port),
    ))
}

/// Reads one v1 field, the run of bytes `allowed` in it, and the byte
/// that ends it. `check` judges the run, and is called before knowing
/// whether it is whole: it must reject a run only if every longer run
/// would be rejected for the same reason.
fn v1_field<'a>(
    line: &mut Cursor<'a>,
    allowed: impl Fn(u8) -> bool,
    check: impl Fn(&[u8]) -> Result<(), ErrorKind>,
) -> Result<(&'a [u8], u8), Halt> {
    let run = line.take_while(allowed);
    check(run)?;
    Ok((run, line.u8()?))
}

/// Accepts `end` as the end of the line: a CR, then an LF.
fn v1_line_end(line: &mut Cursor<'_>, end: u8) -> Result<(), Halt> {
    if end == b'\r' && line.u8()? == b'\n' {
        Ok(())
    } else {
        Err(ErrorKind::V1StrayLineBreak.into())
    }
}

/// An address field and the space after it.
fn v1_address(
    line: &mut Cursor<'_>,
    protocol: V1Protocol,
    endpoint: Endpoint,
) -> Result<IpAddr, Halt> {
    let bad_address = ErrorKind::V1BadAddress(endpoint, protocol);
    let (text, end) = v1_field(
        line,
        |byte| protocol.address_byte(byte),
        |run| {
            if run.len() <= protocol.longest_address() {
                Ok(())
            } else {
                Err(bad_address)
            }
        },
    )?;
    match end {
        b' ' | b'\r' | b'\n' if text.is_empty() => Err(ErrorKind::V1BadSeparator.into()),
        b' ' => Ok(protocol.parse_ip(text).ok_or(bad_address)?),
        b'\r' | b'\n' => Err(ErrorKind::V1TooFewFields.into()),
        _ => Err(bad_address.into()),
    }
}

/// A port field and what follows it: a space after the source port, the
/// CRLF after the destination port.
fn v1_port(line: &mut Cursor<'_>, endpoint: Endpoint) -> Result<u16, Halt> {
    let (digits, end) = v1_field(
        line,
        |byte| byte.is_ascii_digit(),
        |run| port_number(run, endpoint).map(drop),
    )?;
    let port = port_number(digits, endpoint)?;
    match (endpoint, end) {
        (_, b' ' | b'\r' | b'\n') if digits.is_empty() => Err(ErrorKind::V1BadSeparator.into()),
        (Endpoint::Source, b' ') => Ok(port),
        (Endpoint::Source, b'\r' | b'\n') => Err(ErrorKind::V1TooFewFields.into()),
        (Endpoint::Destination, b'\r' | b'\n') => {
            v1_line_end(line, end)?;
            Ok(port)
        }
        (Endpoint::Destination, b' ') => Err(ErrorKind::V1TrailingData.into()),
        _ => Err(ErrorKind::V1BadPort(endpoint).into()),
    }
}

/// The value of a run of decimal digits (zero when empty), rejecting a
/// leading zero and values above 65535; each rejection holds for every
/// longer run.
fn port_number(digits: &[u8], endpoint: Endpoint) -> Result<u16, ErrorKind> {
    if digits.len() > 1 && digits.starts_with(b"0") {
        return Err(ErrorKind::V1BadPort(endpoint));
    }
    let out_of_range = ErrorKind::V1PortOutOfRange(endpoint);
    if digits.len() > 5 {
        return Err(out_of_range);
    }
    let value = digits
        .iter()
        .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
    u16::try_from(value).map_err(|_| out_of_range)
}

fn parse_v2(seen: &[u8]) -> Result<(ProxyHeader, usize), Halt> {
    let mut header = Cursor::new(seen);
    header.skip(V2_SIGNATURE.len())?;
    let version_command = header.u8()?;
    let version = version_command >> 4;
    if version != V2_VERSION {
        return Err(ErrorKind::V2UnknownVersion(version).into());
    }
    let command = match version_command & 0x0f {
        0 => ProxyCommand::Local,
        1 => ProxyCommand::Proxy,
        other => return Err(ErrorKind::V2UnknownCommand(other).into()),
    };
    let family_transport = header.u8()?;
    let (family, transport) = match family_transport {
        0x00 => (AddressFamily::Unspecified, ProxyTransport::Unspecified),
        0x11 => (AddressFamily::Ipv4, ProxyTransport::Stream),
        0x12 => (AddressFamily::Ipv4, ProxyTransport::Datagram),
        0x21 => (AddressFamily::Ipv6, ProxyTransport::Stream),
        0x22 => (AddressFamily::Ipv6, ProxyTransport::Datagram),
        0x31 => (AddressFamily::Unix, ProxyTransport::Stream),
        0x32 => (AddressFamily::Unix, ProxyTransport::Datagram),
        other => return Err(ErrorKind::V2UnknownFamily(other).into()),
    };
    let length = header.u16()?;
    let total = V2_FIXED_BYTES + usize::from(length);
    if total > PROXY_V2_MAX_HEADER_BYTES {
        return Err(ErrorKind::V2TooLong(total).into());
    }
    let too_short = ErrorKind::V2AddressesTooShort(family, length);
    if command == ProxyCommand::Proxy && length < family.address_length() {
        return Err(too_short.into());
    }
    let mut block = Cursor::new(header.take(usize::from(length))?);
    // Spec section 2.2: LOCAL and AF_UNSPEC blocks are skipped unread.
    if command == ProxyCommand::Local {
        return Ok((ProxyHeader::local(), total));
    }
    if family == AddressFamily::Unspecified {
        return Ok((ProxyHeader::unknown(), total));
    }
    let addresses = v2_addresses(&mut block, family).map_err(|_| too_short)?;
    let tlvs = block.take(block.remaining())?;
    if !well_formed_tlvs(tlvs) {
        return Err(ErrorKind::V2TlvOverrun.into());
    }
    if let Some(value) = crc32c_value_at(tlvs) {
        check_crc32c(
            &seen[..total],
            total - tlvs.len() + value.start,
            value.len(),
        )?;
    }
    let mut header = ProxyHeader::proxied(transport, addresses);
    header.tlvs = tlvs.to_vec();
    Ok((header, total))
}

/// Checks a CRC32C TLV (spec section 2.2.3): its 4-byte value, at `at` in
/// `whole` (the whole header), is the CRC32C of the header with that value
/// zeroed.
fn check_crc32c(whole: &[u8], at: usize, length: usize) -> Result<(), ErrorKind> {
    let sent: [u8; 4] = whole[at..at + length]
        .try_into()
        .map_err(|_| ErrorKind::V2BadChecksum)?;
    let mut zeroed = whole.to_vec();
    zeroed[at..at + 4].fill(0);
    if crc32c(&zeroed) == u32::from_be_bytes(sent) {
        Ok(())
    } else {
        Err(ErrorKind::V2BadChecksum)
    }
}

/// Reads the address block of an IP or UNIX header; the caller has made
/// sure it is long enough.
fn v2_addresses(block: &mut Cursor<'_>, family: AddressFamily) -> Result<EndpointPair, Stop> {
    Ok(match family {
        AddressFamily::Unspecified => EndpointPair::None,
        AddressFamily::Ipv4 => {
            let source = Ipv4Addr::from(block.array::<4>()?);
            let destination = Ipv4Addr::from(block.array::<4>()?);
            let (source_port, destination_port) = (block.u16()?, block.u16()?);
            EndpointPair::V4(
                SocketAddrV4::new(source, source_port),
                SocketAddrV4::new(destination, destination_port),
            )
        }
        AddressFamily::Ipv6 => {
            let source = Ipv6Addr::from(block.array::<16>()?);
            let destination = Ipv6Addr::from(block.array::<16>()?);
            let (source_port, destination_port) = (block.u16()?, block.u16()?);
            EndpointPair::V6(
                SocketAddrV6::new(source, source_port, 0, 0),
                SocketAddrV6::new(destination, destination_port, 0, 0),
            )
        }
        AddressFamily::Unix => {
            let source = block.take(UNIX_PATH_BYTES)?;
            let destination = block.take(UNIX_PATH_BYTES)?;
            EndpointPair::Unix(
                UnixPath(without_nul_padding(source).into()),
                UnixPath(without_nul_padding(destination).into()),
            )
        }
    })
}
