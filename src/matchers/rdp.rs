//! RDP clients by their first PDU, the X.224 Connection Request
//! (MS-RDPBCGR section 2.2.1.1, TPKT in ITU-T T.123 section 8, the
//! Connection Request TPDU in ITU-T X.224 section 13.3):
//!
//! ```text
//! TPKT header          version 3 | reserved 0 | length u16 (the whole PDU)
//! X.224 CR TPDU        length indicator u8 (the bytes after it: TPKT length
//!                      - 5) | 0xE0 (CR, credit 0) | destination reference
//!                      u16 = 0 | source reference u16 | class and options
//!                      (class 0 in the high 4 bits)
//! routingToken         optional: bytes ending CR LF, from a load balancer
//!                      (often "Cookie: msts=..."; FreeRDP's
//!                      /load-balance-info sends any text)
//! cookie               optional: "Cookie: mstshash=IDENTIFIER" CR LF
//! rdpNegReq            optional, 8 bytes: type 0x01 | flags | length u16 LE
//!                      = 8 | requestedProtocols u32 LE
//! rdpCorrelationInfo   36 bytes, when rdpNegReq's flags have
//!                      CORRELATION_INFO_PRESENT (0x08): type 0x06 | flags 0
//!                      | length u16 LE = 36 | correlationId (16) | reserved
//!                      (16 zero bytes)
//! ```
//!
//! The length indicator is one byte, at most 254, so the PDU is 11 to 259
//! bytes long. A client sends a routing token or a cookie, not both, and
//! no X.224 parameters in the variable part (section 3.2.5.3.1, "MUST NOT
//! be specified"); a server takes a routing token and a cookie together
//! (section 3.3.5.3.1), so up to two lines are read before the negotiation
//! request. Having no parameters keeps out another protocol that opens
//! with a TPKT and a Connection Request: ISO-on-TCP (RFC 1006) as Siemens
//! S7 PLCs speak it, whose Connection Request carries parameters (TPDU
//! size `C0 01 0A`, TSAPs `C1 02 ...`, `C2 02 ...`) rather than lines
//! ending in CR LF.
//!
//! sslh's probe (`is_msrdp_protocol`) asks for version 3 and a TPKT length
//! equal to the bytes read so far; this matcher reads the Connection
//! Request's structure instead, so it does not depend on how the bytes
//! were split into reads.

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

const TPKT_VERSION: u8 = 3;
/// The TPKT header and the length indicator byte, which the length
/// indicator does not count.
const TPKT_AND_LENGTH_INDICATOR: usize = 5;
const X224_CONNECTION_REQUEST: u8 = 0xe0;
/// The CR TPDU's fixed part after the length indicator: code,
/// destination and source references, class and options.
const FIXED_PART_LENGTH: usize = 6;
/// The class, in the high 4 bits of the class and options byte; the
/// options in the low 4 bits are not checked, a server ignores them.
const CLASS_MASK: u8 = 0xf0;
/// ITU-T X.224 section 13.2.1: 255 is reserved.
const MAX_LENGTH_INDICATOR: usize = 254;
/// The longest Connection Request: TPKT header, length indicator, and the
/// most the length indicator can count.
pub const RDP_MAX_CONNECTION_REQUEST_BYTES: usize =
    TPKT_AND_LENGTH_INDICATOR + MAX_LENGTH_INDICATOR;
const MIN_CONNECTION_REQUEST_BYTES: usize = TPKT_AND_LENGTH_INDICATOR + FIXED_PART_LENGTH;
const COOKIE_PREFIX: &[u8] = b"Cookie: mstshash=";
/// A routing token, then a cookie.
const MAX_LINES: usize = 2;
const TYPE_RDP_NEG_REQ: u8 = 0x01;
const NEGOTIATION_REQUEST_LENGTH: usize = 8;
const CORRELATION_INFO_PRESENT: u8 = 0x08;
const TYPE_RDP_CORRELATION_INFO: u8 = 0x06;
const CORRELATION_INFO_LENGTH: usize = 36;
const CORRELATION_ID_LENGTH: usize = 16;
const CORRELATION_RESERVED_LENGTH: usize = 16;

/// Matches an RDP client's X.224 Connection Request; see [`rdp`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Rdp;

/// A matcher for RDP clients by their X.224 Connection Request
/// (MS-RDPBCGR 2.2.1.1): a TPKT header (version 3) whose length agrees
/// with the X.224 length indicator, a Class 0 Connection Request TPDU with
/// destination reference 0, then what the rest of the PDU may hold: up to
/// two lines ending CR LF (a routing token, a `Cookie: mstshash=` cookie),
/// then an RDP Negotiation Request (type 1, length 8) and, when its flags
/// say so, the 36-byte RDP Correlation Info.
///
/// Each part must fit the length the TPKT header gives: a line must end
/// where what follows it still fits, the negotiation request must end the
/// PDU or be followed by exactly the correlation info. It says `NoMatch`
/// at the first byte no Connection Request allows and `Match` at the last
/// byte the structure fixes: the end of the PDU, or the negotiation
/// request's length field when only the requested protocols follow. So it
/// decides within [`RDP_MAX_CONNECTION_REQUEST_BYTES`] (259).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::rdp;
///
/// // FreeRDP 2 as user alice: a cookie, then TLS and CredSSP requested.
/// let request = b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=alice\r\n\
///                 \x01\x00\x08\x00\x03\x00\x00\x00";
/// assert_eq!(rdp().verdict(request), Verdict::Match);
/// assert_eq!(rdp().verdict(&request[..20]), Verdict::NeedMore);
/// // A TPKT length the length indicator does not agree with.
/// assert_eq!(rdp().verdict(b"\x03\x00\x00\x2b\x25"), Verdict::NoMatch);
/// assert_eq!(rdp().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn rdp() -> Rdp {
    Rdp
}

impl Matcher for Rdp {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match read_connection_request(&mut Cursor::new(seen)) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// The protocols an RDP client asks the server to secure the connection
/// with: the `requestedProtocols` bitmask of its RDP Negotiation Request
/// (MS-RDPBCGR 2.2.1.1.1). No flag set is standard RDP security alone.
///
/// ```
/// use connmux::matchers::RdpProtocols;
///
/// let requested = RdpProtocols::from_bits(0x0000_0003);
/// assert!(requested.contains(RdpProtocols::TLS));
/// assert!(requested.contains(RdpProtocols::HYBRID));
/// assert!(!requested.contains(RdpProtocols::RDSTLS));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RdpProtocols(u32);

impl RdpProtocols {
    /// `PROTOCOL_SSL`: TLS.
    pub const TLS: RdpProtocols = RdpProtocols(0x0000_0001);
    /// `PROTOCOL_HYBRID`: CredSSP (Network Level Authentication).
    pub const HYBRID: RdpProtocols = RdpProtocols(0x0000_0002);
    /// `PROTOCOL_RDSTLS`: RDSTLS, for server redirection.
    pub const RDSTLS: RdpProtocols = RdpProtocols(0x0000_0004);
    /// `PROTOCOL_HYBRID_EX`: CredSSP with the Early User Authorization
    /// Result PDU.
    pub const HYBRID_EX: RdpProtocols = RdpProtocols(0x0000_0008);
    /// `PROTOCOL_RDSAAD`: RDS-AAD-Auth (Microsoft Entra ID).
    pub const RDSAAD: RdpProtocols = RdpProtocols(0x0000_0010);

    /// The protocols of a `requestedProtocols` value, unknown flags kept.
    pub const fn from_bits(bits: u32) -> RdpProtocols {
        RdpProtocols(bits)
    }

    /// The `requestedProtocols` value.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every protocol of `other` is requested.
    pub const fn contains(self, other: RdpProtocols) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The fields of an RDP client's X.224 Connection Request; see
/// [`rdp_request`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RdpRequest {
    /// The IDENTIFIER of the `Cookie: mstshash=IDENTIFIER` line (invalid
    /// UTF-8 replaced): the user name the client was given, which mstsc
    /// truncates to 9 bytes. Neither it nor the routing token is
    /// authenticated: the client writes what it likes.
    pub cookie: Option<String>,
    /// Any other line, CR LF removed: a load balancer's routing token,
    /// such as `Cookie: msts=3640205228.15629.0000`.
    pub routing_token: Option<Vec<u8>>,
    /// The RDP Negotiation Request's protocols; `None` when the client
    /// sent none, which asks for standard RDP security.
    pub requested_protocols: Option<RdpProtocols>,
}

/// The fields of an RDP client's X.224 Connection Request, once the whole
/// PDU has arrived, or `None` if `seen` does not start with one the
/// [`rdp`] matcher takes.
///
/// ```
/// use connmux::matchers::{rdp_request, RdpProtocols};
///
/// let request = b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=alice\r\n\
///                 \x01\x00\x08\x00\x03\x00\x00\x00";
/// let fields = rdp_request(request).unwrap();
/// assert_eq!(fields.cookie.as_deref(), Some("alice"));
/// assert_eq!(fields.routing_token, None);
/// assert_eq!(fields.requested_protocols, Some(RdpProtocols::from_bits(0x3)));
/// assert_eq!(rdp_request(&request[..42]), None);
/// ```
pub fn rdp_request(seen: &[u8]) -> Option<RdpRequest> {
    let mut pdu = Cursor::new(seen);
    let request = read_connection_request(&mut pdu).ok()?;
    let rest_of_pdu = request.length - (seen.len() - pdu.remaining());
    pdu.skip(rest_of_pdu).ok()?;
    let mut fields = RdpRequest {
        cookie: None,
        routing_token: None,
        requested_protocols: None,
    };
    for line in request.lines.into_iter().flatten() {
        match line.strip_prefix(COOKIE_PREFIX) {
            Some(identifier) => {
                fields.cookie = Some(String::from_utf8_lossy(identifier).into_owned());
            }
            None => fields.routing_token = Some(line.to_vec()),
        }
    }
    if let Some(protocols) = request.requested_protocols {
        let bits = <[u8; 4]>::try_from(protocols).ok()?;
        fields.requested_protocols = Some(RdpProtocols(u32::from_le_bytes(bits)));
    }
    Some(fields)
}

/// What the matcher reads of a Connection Request.
struct ConnectionRequest<'a> {
    /// The TPKT length: the whole PDU.
    length: usize,
    /// The routing token and cookie lines, CR LF removed, in order.
    lines: [Option<&'a [u8]>; MAX_LINES],
    /// The bytes of `requestedProtocols` that have arrived, if the PDU
    /// has a negotiation request: all four once the whole PDU has.
    requested_protocols: Option<&'a [u8]>,
}

/// Reads a Connection Request up to the last byte its structure fixes.
fn read_connection_request<'a>(pdu: &mut Cursor<'a>) -> Result<ConnectionRequest<'a>, Stop> {
    pdu.expect(&[TPKT_VERSION, 0])?;
    let high = pdu.u8()?;
    require(usize::from(high) <= RDP_MAX_CONNECTION_REQUEST_BYTES >> 8)?;
    let length = usize::from(u16::from_be_bytes([high, pdu.u8()?]));
    require((MIN_CONNECTION_REQUEST_BYTES..=RDP_MAX_CONNECTION_REQUEST_BYTES).contains(&length))?;
    require(usize::from(pdu.u8()?) == length - TPKT_AND_LENGTH_INDICATOR)?;
    pdu.expect(&[X224_CONNECTION_REQUEST, 0, 0])?;
    pdu.skip(2)?;
    require(pdu.u8()? & CLASS_MASK == 0)?;
    let mut remaining = length - MIN_CONNECTION_REQUEST_BYTES;
    let mut lines = [None; MAX_LINES];
    for slot in &mut lines {
        if remaining == 0 || starts_negotiation_request(pdu, remaining)? {
            break;
        }
        let line = pdu.terminated(b'\n', remaining - 1)?;
        remaining -= line.len() + 1;
        *slot = Some(line.strip_suffix(b"\r").ok_or(Stop::Invalid)?);
    }
    let requested_protocols = match remaining {
        0 => None,
        _ => Some(read_negotiation_request(pdu, remaining)?),
    };
    Ok(ConnectionRequest {
        length,
        lines,
        requested_protocols,
    })
}

/// Whether the `remaining` bytes of the PDU start an RDP Negotiation
/// Request: they have its length, alone or with the correlation info,
/// and its type.
fn starts_negotiation_request(pdu: &Cursor<'_>, remaining: usize) -> Result<bool, Stop> {
    let fits = remaining == NEGOTIATION_REQUEST_LENGTH
        || remaining == NEGOTIATION_REQUEST_LENGTH + CORRELATION_INFO_LENGTH;
    Ok(fits && pdu.peek()? == TYPE_RDP_NEG_REQ)
}

/// Reads the RDP Negotiation Request that fills the `remaining` bytes of
/// the PDU, with the correlation info its flags announce, and returns the
/// bytes of `requestedProtocols` that have arrived.
fn read_negotiation_request<'a>(pdu: &mut Cursor<'a>, remaining: usize) -> Result<&'a [u8], Stop> {
    let with_correlation_info = match remaining {
        NEGOTIATION_REQUEST_LENGTH => false,
        _ => {
            require(remaining == NEGOTIATION_REQUEST_LENGTH + CORRELATION_INFO_LENGTH)?;
            true
        }
    };
    require(pdu.u8()? == TYPE_RDP_NEG_REQ)?;
    let flags = pdu.u8()?;
    require((flags & CORRELATION_INFO_PRESENT != 0) == with_correlation_info)?;
    pdu.expect(&(NEGOTIATION_REQUEST_LENGTH as u16).to_le_bytes())?;
    let requested_protocols = pdu.clone().take(4).unwrap_or_else(|_| pdu.rest());
    if with_correlation_info {
        pdu.skip(4)?;
        pdu.expect(&[TYPE_RDP_CORRELATION_INFO, 0])?;
        pdu.expect(&(CORRELATION_INFO_LENGTH as u16).to_le_bytes())?;
        pdu.skip(CORRELATION_ID_LENGTH)?;
        pdu.expect(&[0; CORRELATION_RESERVED_LENGTH])?;
    }
    Ok(requested_protocols)
}

#[cfg(test)]
mod tests;
