//! PROXY protocol headers, versions 1 and 2: the few bytes a load balancer
//! (HAProxy's `send-proxy`, AWS NLB, stunnel, ...) puts in front of a
//! connection to tell the server who the real client is.
//!
//! Spec: HAProxy's "The PROXY protocol, Versions 1 & 2"
//! (<https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>),
//! section 2.1 for version 1 and 2.2 for version 2.
//!
//! Version 1 is one US-ASCII line of at most 107 bytes:
//!
//! ```text
//! "PROXY" SP ("TCP4" | "TCP6") SP src-ip SP dst-ip SP src-port SP dst-port CRLF
//! "PROXY" SP "UNKNOWN" [SP anything but CR or LF] CRLF
//! ```
//!
//! Version 2 is binary, 16 bytes and then `length` more:
//!
//! ```text
//! signature [12]      0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
//! version|command u8  high nibble 2; low nibble 0 LOCAL, 1 PROXY
//! family|transport u8 00 UNSPEC, 11 TCP4, 12 UDP4, 21 TCP6, 22 UDP6,
//!                     31 UNIX stream, 32 UNIX datagram
//! length u16          bytes that follow
//! addresses           IPv4: src[4] dst[4] src-port u16 dst-port u16 (12 bytes)
//!                     IPv6: src[16] dst[16] src-port u16 dst-port u16 (36)
//!                     UNIX: src[108] dst[108], NUL-padded paths (216)
//! TLVs                type u8 | length u16 | value, to the end of `length`
//! ```
//!
//! Where it sits: before any matcher runs, the multiplexer may look for a
//! PROXY header at the start of a connection with [`parse_proxy_header`],
//! strip the bytes it occupies and remember the addresses it carries. Like
//! a matcher, the parser is a pure function of the bytes received so far,
//! prefix-monotone and bounded, and it decides as early as the bytes allow.
//! The encoders ([`ProxyHeader::encode_v1`], [`ProxyHeader::encode_v2`])
//! serve the other direction: a proxy built on connmux telling its backend
//! the real client address.
//!
//! ```
//! use connmux::{parse_proxy_header, ProxyAddr, ProxyParse};
//!
//! let seen = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
//! let ProxyParse::Complete { header, length } = parse_proxy_header(seen) else {
//!     panic!("a whole header");
//! };
//! assert_eq!(header.source(), Some(ProxyAddr::Inet("192.168.0.1:56324".parse()?)));
//! assert_eq!(&seen[length..], b"GET / HTTP/1.1\r\n");
//! # Ok::<(), std::net::AddrParseError>(())
//! ```

pub(crate) mod mode;

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::matcher::cursor::{Cursor, Stop};
use crate::matcher::Verdict;
use crate::matchers::prefix::prefix_verdict;

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

const V1_PREFIX: &[u8] = b"PROXY ";
const V1_PROTOCOLS: [&[u8]; 3] = [b"TCP4", b"TCP6", b"UNKNOWN"];
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
/// Signature, version and command, family and transport, length.
const V2_FIXED_BYTES: usize = 16;
const V2_VERSION: u8 = 2;
const UNIX_PATH_BYTES: usize = 108;

/// Which format a PROXY header came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyVersion {
    /// The text line of spec section 2.1 (`PROXY TCP4 ...\r\n`).
    V1,
    /// The binary header of spec section 2.2.
    V2,
}

/// What the connection carrying a PROXY header is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyCommand {
    /// The proxy opened the connection on its own behalf (a health check):
    /// the real endpoints are the connection's own, and the header carries
    /// no addresses. Version 2 only.
    Local,
    /// The proxy relays a client's connection; the header says who it is,
    /// when it can.
    Proxy,
}

/// The transport protocol of the relayed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyTransport {
    /// `SOCK_STREAM`: TCP, or a UNIX stream socket.
    Stream,
    /// `SOCK_DGRAM`: UDP, or a UNIX datagram socket.
    Datagram,
    /// Not said: a `LOCAL` header, a v1 `UNKNOWN` line, or a v2 header of
    /// family `AF_UNSPEC`. Such a header carries no addresses.
    Unspecified,
}

/// The path of a UNIX socket as a v2 header carries it: at most 108 bytes,
/// with the NUL padding after it removed.
///
/// Trailing NULs are padding; a leading NUL (a Linux abstract socket) is
/// kept. The bytes need not be UTF-8; `Display` escapes what is not
/// printable ASCII.
///
/// ```
/// use connmux::UnixPath;
///
/// let path = UnixPath::new(b"/run/app.sock\0\0\0").unwrap();
/// assert_eq!(path.as_bytes(), b"/run/app.sock");
/// assert_eq!(UnixPath::new(b"\0abstract").unwrap().to_string(), "\\x00abstract");
/// assert!(UnixPath::new(&[b'a'; 109]).is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnixPath(Box<[u8]>);

impl UnixPath {
    /// The path `bytes` without its trailing NULs, or `None` when that is
    /// longer than the 108 bytes of a v2 address field.
    pub fn new(bytes: &[u8]) -> Option<UnixPath> {
        let path = without_nul_padding(bytes);
        (path.len() <= UNIX_PATH_BYTES).then(|| UnixPath(path.into()))
    }

    /// The path's bytes, without padding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

fn without_nul_padding(mut bytes: &[u8]) -> &[u8] {
    while let [path @ .., 0] = bytes {
        bytes = path;
    }
    bytes
}

impl fmt::Display for UnixPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl fmt::Debug for UnixPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixPath(\"{}\")", self.0.escape_ascii())
    }
}

/// One endpoint of a relayed connection, as a PROXY header names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxyAddr {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A UNIX socket path (version 2 only).
    Unix(UnixPath),
}

impl fmt::Display for ProxyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyAddr::Inet(address) => address.fmt(f),
            ProxyAddr::Unix(path) => path.fmt(f),
        }
    }
}

/// The two endpoints a header carries; one family for both, so that every
/// header has a faithful v2 encoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Addresses {
    None,
    V4(SocketAddrV4, SocketAddrV4),
    V6(SocketAddrV6, SocketAddrV6),
    Unix(UnixPath, UnixPath),
}

/// A PROXY protocol header: who the proxy says the connection is from and
/// to.
///
/// Parse one with [`parse_proxy_header`], or build one with [`tcp`],
/// [`udp`], [`unix`], [`unix_datagram`], [`local`] or [`unknown`] and
/// encode it with [`encode_v1`] or [`encode_v2`]. A header has addresses
/// exactly when its command is [`ProxyCommand::Proxy`] and its transport is
/// not [`ProxyTransport::Unspecified`]; source and destination are then of
/// the same family.
///
/// ```
/// use connmux::{parse_proxy_header, ProxyHeader, ProxyParse};
///
/// let header = ProxyHeader::tcp("203.0.113.7:41000".parse()?, "192.0.2.1:443".parse()?);
/// assert_eq!(header.encode_v1(), b"PROXY TCP4 203.0.113.7 192.0.2.1 41000 443\r\n");
/// let wire = header.encode_v2();
/// assert_eq!(parse_proxy_header(&wire), ProxyParse::Complete { header, length: 28 });
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
///
/// [`tcp`]: ProxyHeader::tcp
/// [`udp`]: ProxyHeader::udp
/// [`unix`]: ProxyHeader::unix
/// [`unix_datagram`]: ProxyHeader::unix_datagram
/// [`local`]: ProxyHeader::local
/// [`unknown`]: ProxyHeader::unknown
/// [`encode_v1`]: ProxyHeader::encode_v1
/// [`encode_v2`]: ProxyHeader::encode_v2
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxyHeader {
    version: ProxyVersion,
    command: ProxyCommand,
    transport: ProxyTransport,
    addresses: Addresses,
}

impl ProxyHeader {
    /// A header relaying a TCP connection from `source` to `destination`.
    ///
    /// When one address is IPv4 and the other IPv6, the IPv4 one becomes
    /// IPv4-mapped IPv6 (`::ffff:a.b.c.d`), as HAProxy does, since a header
    /// has one family. IPv6 flow info and scope id are dropped: the wire
    /// formats do not carry them.
    ///
    /// ```
    /// use connmux::{ProxyAddr, ProxyHeader};
    ///
    /// let mixed = ProxyHeader::tcp("192.0.2.1:5000".parse()?, "[2001:db8::1]:443".parse()?);
    /// assert_eq!(mixed.source(), Some(ProxyAddr::Inet("[::ffff:192.0.2.1]:5000".parse()?)));
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn tcp(source: SocketAddr, destination: SocketAddr) -> ProxyHeader {
        ProxyHeader::inet(ProxyTransport::Stream, source, destination)
    }

    /// A header relaying UDP datagrams from `source` to `destination`
    /// (version 2 only; addresses as for [`tcp`](ProxyHeader::tcp)).
    pub fn udp(source: SocketAddr, destination: SocketAddr) -> ProxyHeader {
        ProxyHeader::inet(ProxyTransport::Datagram, source, destination)
    }

    /// A header relaying a UNIX stream connection (version 2 only).
    ///
    /// ```
    /// use connmux::{ProxyHeader, UnixPath};
    ///
    /// let header = ProxyHeader::unix(
    ///     UnixPath::new(b"/run/client.sock").unwrap(),
    ///     UnixPath::new(b"/run/server.sock").unwrap(),
    /// );
    /// assert_eq!(header.encode_v2().len(), 16 + 216);
    /// assert_eq!(header.encode_v1(), b"PROXY UNKNOWN\r\n");
    /// ```
    pub fn unix(source: UnixPath, destination: UnixPath) -> ProxyHeader {
        ProxyHeader::proxied(ProxyTransport::Stream, Addresses::Unix(source, destination))
    }

    /// A header relaying a UNIX datagram socket (version 2 only).
    pub fn unix_datagram(source: UnixPath, destination: UnixPath) -> ProxyHeader {
        ProxyHeader::proxied(
            ProxyTransport::Datagram,
            Addresses::Unix(source, destination),
        )
    }

    /// A `LOCAL` header: the proxy's own connection, such as a health
    /// check; the receiver uses the connection's real endpoints.
    ///
    /// ```
    /// use connmux::ProxyHeader;
    ///
    /// assert_eq!(ProxyHeader::local().encode_v2(), b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00");
    /// ```
    pub fn local() -> ProxyHeader {
        ProxyHeader {
            version: ProxyVersion::V2,
            command: ProxyCommand::Local,
            transport: ProxyTransport::Unspecified,
            addresses: Addresses::None,
        }
    }

    /// A header relaying a connection whose addresses cannot be said:
    /// v1 `PROXY UNKNOWN`, v2 `PROXY` with family `AF_UNSPEC`. The receiver
    /// uses the connection's real endpoints.
    pub fn unknown() -> ProxyHeader {
        ProxyHeader::proxied(ProxyTransport::Unspecified, Addresses::None)
    }

    fn proxied(transport: ProxyTransport, addresses: Addresses) -> ProxyHeader {
        ProxyHeader {
            version: ProxyVersion::V2,
            command: ProxyCommand::Proxy,
            transport,
            addresses,
        }
    }

    fn inet(transport: ProxyTransport, source: SocketAddr, destination: SocketAddr) -> ProxyHeader {
        let addresses = match (source, destination) {
            (SocketAddr::V4(source), SocketAddr::V4(destination)) => {
                Addresses::V4(source, destination)
            }
            _ => Addresses::V6(as_ipv6(source), as_ipv6(destination)),
        };
        ProxyHeader::proxied(transport, addresses)
    }

    fn with_version(self, version: ProxyVersion) -> ProxyHeader {
        ProxyHeader { version, ..self }
    }

    /// The format this header was parsed from. Headers built with the
    /// constructors say [`ProxyVersion::V2`], the format that can carry all
    /// of them; the encoders write the format their name says regardless.
    pub fn version(&self) -> ProxyVersion {
        self.version
    }

    /// Whether the connection is relayed ([`ProxyCommand::Proxy`]) or the
    /// proxy's own ([`ProxyCommand::Local`]).
    pub fn command(&self) -> ProxyCommand {
        self.command
    }

    /// The relayed connection's transport.
    pub fn transport(&self) -> ProxyTransport {
        self.transport
    }

    /// The client's address, if the header carries addresses.
    pub fn source(&self) -> Option<ProxyAddr> {
        self.endpoint(Endpoint::Source)
    }

    /// The address the client connected to, if the header carries
    /// addresses.
    pub fn destination(&self) -> Option<ProxyAddr> {
        self.endpoint(Endpoint::Destination)
    }

    fn endpoint(&self, endpoint: Endpoint) -> Option<ProxyAddr> {
        Some(match &self.addresses {
            Addresses::None => return None,
            Addresses::V4(source, destination) => {
                ProxyAddr::Inet(SocketAddr::V4(*endpoint.pick(source, destination)))
            }
            Addresses::V6(source, destination) => {
                ProxyAddr::Inet(SocketAddr::V6(*endpoint.pick(source, destination)))
            }
            Addresses::Unix(source, destination) => {
                ProxyAddr::Unix(endpoint.pick(source, destination).clone())
            }
        })
    }

    /// The header as a version 1 line (HAProxy's `send-proxy`).
    ///
    /// Version 1 carries only TCP over IPv4 or IPv6; anything else (UDP,
    /// UNIX sockets, `LOCAL`, unknown) is sent as `PROXY UNKNOWN\r\n`, as
    /// spec section 2.1 says for protocols the format cannot express. The
    /// line is at most 104 bytes.
    ///
    /// ```
    /// use connmux::ProxyHeader;
    ///
    /// let header = ProxyHeader::tcp("[2001:db8::7]:41000".parse()?, "[2001:db8::1]:443".parse()?);
    /// assert_eq!(header.encode_v1(), b"PROXY TCP6 2001:db8::7 2001:db8::1 41000 443\r\n");
    /// assert_eq!(ProxyHeader::local().encode_v1(), b"PROXY UNKNOWN\r\n");
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn encode_v1(&self) -> Vec<u8> {
        let line = match (self.transport, &self.addresses) {
            (ProxyTransport::Stream, Addresses::V4(source, destination)) => {
                v1_tcp_line("TCP4", (*source).into(), (*destination).into())
            }
            (ProxyTransport::Stream, Addresses::V6(source, destination)) => {
                v1_tcp_line("TCP6", (*source).into(), (*destination).into())
            }
            _ => "PROXY UNKNOWN\r\n".to_owned(),
        };
        line.into_bytes()
    }

    /// The header in the version 2 binary format (HAProxy's
    /// `send-proxy-v2`), without TLVs.
    ///
    /// ```
    /// use connmux::ProxyHeader;
    ///
    /// let header = ProxyHeader::tcp("192.168.0.1:56324".parse()?, "192.168.0.11:443".parse()?);
    /// let mut wire = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    /// wire.extend([0x21, 0x11, 0x00, 0x0c]); // v2 PROXY, TCP over IPv4, 12 bytes
    /// wire.extend([192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01, 0xbb]);
    /// assert_eq!(header.encode_v2(), wire);
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn encode_v2(&self) -> Vec<u8> {
        let command = match self.command {
            ProxyCommand::Local => 0,
            ProxyCommand::Proxy => 1,
        };
        let transport = match self.transport {
            ProxyTransport::Unspecified => 0,
            ProxyTransport::Stream => 1,
            ProxyTransport::Datagram => 2,
        };
        let family = match self.addresses {
            Addresses::None => AddressFamily::Unspecified,
            Addresses::V4(..) => AddressFamily::Ipv4,
            Addresses::V6(..) => AddressFamily::Ipv6,
            Addresses::Unix(..) => AddressFamily::Unix,
        };
        let mut wire = Vec::with_capacity(V2_FIXED_BYTES + family.address_bytes());
        wire.extend_from_slice(V2_SIGNATURE);
        wire.push(V2_VERSION << 4 | command);
        wire.push(family.wire() << 4 | transport);
        wire.extend(family.address_length().to_be_bytes());
        match &self.addresses {
            Addresses::None => {}
            Addresses::V4(source, destination) => {
                wire.extend(source.ip().octets());
                wire.extend(destination.ip().octets());
                wire.extend(source.port().to_be_bytes());
                wire.extend(destination.port().to_be_bytes());
            }
            Addresses::V6(source, destination) => {
                wire.extend(source.ip().octets());
                wire.extend(destination.ip().octets());
                wire.extend(source.port().to_be_bytes());
                wire.extend(destination.port().to_be_bytes());
            }
            Addresses::Unix(source, destination) => {
                for path in [source, destination] {
                    let field_end = wire.len() + UNIX_PATH_BYTES;
                    wire.extend_from_slice(path.as_bytes());
                    wire.resize(field_end, 0);
                }
            }
        }
        wire
    }
}

fn as_ipv6(address: SocketAddr) -> SocketAddrV6 {
    let ip = match address.ip() {
        IpAddr::V4(ip) => ip.to_ipv6_mapped(),
        IpAddr::V6(ip) => ip,
    };
    SocketAddrV6::new(ip, address.port(), 0, 0)
}

fn v1_tcp_line(protocol: &str, source: SocketAddr, destination: SocketAddr) -> String {
    format!(
        "PROXY {protocol} {} {} {} {}\r\n",
        source.ip(),
        destination.ip(),
        source.port(),
        destination.port()
    )
}

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
pub struct ProxyError(ErrorKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
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

/// One end of the relayed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Source,
    Destination,
}

impl Endpoint {
    fn pick<T>(self, source: T, destination: T) -> T {
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
enum AddressFamily {
    Unspecified,
    Ipv4,
    Ipv6,
    Unix,
}

impl AddressFamily {
    fn wire(self) -> u8 {
        match self {
            AddressFamily::Unspecified => 0,
            AddressFamily::Ipv4 => 1,
            AddressFamily::Ipv6 => 2,
            AddressFamily::Unix => 3,
        }
    }

    /// The size of the family's address block: two addresses, and two
    /// ports for IP.
    fn address_length(self) -> u16 {
        match self {
            AddressFamily::Unspecified => 0,
            AddressFamily::Ipv4 => 2 * 4 + 2 * 2,
            AddressFamily::Ipv6 => 2 * 16 + 2 * 2,
            AddressFamily::Unix => 2 * 108,
        }
    }

    fn address_bytes(self) -> usize {
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
enum V1Protocol {
    Tcp4,
    Tcp6,
}

impl V1Protocol {
    fn name(self) -> &'static str {
        match self {
            V1Protocol::Tcp4 => "TCP4",
            V1Protocol::Tcp6 => "TCP6",
        }
    }

    fn family(self) -> AddressFamily {
        match self {
            V1Protocol::Tcp4 => AddressFamily::Ipv4,
            V1Protocol::Tcp6 => AddressFamily::Ipv6,
        }
    }

    /// Whether `byte` may appear in an address of this family as std
    /// parses it (IPv6 may end in a dotted IPv4 address).
    fn address_byte(self, byte: u8) -> bool {
        match self {
            V1Protocol::Tcp4 => byte.is_ascii_digit() || byte == b'.',
            V1Protocol::Tcp6 => byte.is_ascii_hexdigit() || byte == b':' || byte == b'.',
        }
    }

    /// The longest address text: `255.255.255.255`, and
    /// `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255` (INET6_ADDRSTRLEN).
    fn longest_address(self) -> usize {
        match self {
            V1Protocol::Tcp4 => 15,
            V1Protocol::Tcp6 => 45,
        }
    }

    fn parse_ip(self, text: &[u8]) -> Option<IpAddr> {
        let text = std::str::from_utf8(text).ok()?;
        match self {
            V1Protocol::Tcp4 => text.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
            V1Protocol::Tcp6 => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        }
    }
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
    v2_skip_tlvs(&mut block).map_err(|_| ErrorKind::V2TlvOverrun)?;
    Ok((ProxyHeader::proxied(transport, addresses), total))
}

/// Reads the address block of an IP or UNIX header; the caller has made
/// sure it is long enough.
fn v2_addresses(block: &mut Cursor<'_>, family: AddressFamily) -> Result<Addresses, Stop> {
    Ok(match family {
        AddressFamily::Unspecified => Addresses::None,
        AddressFamily::Ipv4 => {
            let source = Ipv4Addr::from(block.array::<4>()?);
            let destination = Ipv4Addr::from(block.array::<4>()?);
            let (source_port, destination_port) = (block.u16()?, block.u16()?);
            Addresses::V4(
                SocketAddrV4::new(source, source_port),
                SocketAddrV4::new(destination, destination_port),
            )
        }
        AddressFamily::Ipv6 => {
            let source = Ipv6Addr::from(block.array::<16>()?);
            let destination = Ipv6Addr::from(block.array::<16>()?);
            let (source_port, destination_port) = (block.u16()?, block.u16()?);
            Addresses::V6(
                SocketAddrV6::new(source, source_port, 0, 0),
                SocketAddrV6::new(destination, destination_port, 0, 0),
            )
        }
        AddressFamily::Unix => {
            let source = block.take(UNIX_PATH_BYTES)?;
            let destination = block.take(UNIX_PATH_BYTES)?;
            Addresses::Unix(
                UnixPath(without_nul_padding(source).into()),
                UnixPath(without_nul_padding(destination).into()),
            )
        }
    })
}

/// Skips the TLVs (spec section 2.2: type u8, length u16, value) that fill
/// the rest of the block; a TLV that does not fit stops short.
fn v2_skip_tlvs(block: &mut Cursor<'_>) -> Result<(), Stop> {
    while block.remaining() > 0 {
        block.u8()?;
        let length = block.u16()?;
        block.skip(usize::from(length))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
