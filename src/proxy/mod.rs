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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn socket(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn malformed(kind: ErrorKind) -> ProxyParse {
        ProxyParse::Malformed(ProxyError(kind))
    }

    fn complete(header: ProxyHeader, length: usize) -> ProxyParse {
        ProxyParse::Complete { header, length }
    }

    /// The v2 signature followed by `rest`.
    fn v2(rest: &[u8]) -> Vec<u8> {
        let mut wire = V2_SIGNATURE.to_vec();
        wire.extend_from_slice(rest);
        wire
    }

    /// A UNIX path field: `path` padded with NULs to 108 bytes.
    fn unix_field(path: &[u8]) -> Vec<u8> {
        let mut field = path.to_vec();
        field.resize(UNIX_PATH_BYTES, 0);
        field
    }

    /// Asserts that every strict prefix of `wire` is `Incomplete`.
    fn assert_prefixes_incomplete(wire: &[u8]) {
        for length in 0..wire.len() {
            assert_eq!(
                parse_proxy_header(&wire[..length]),
                ProxyParse::Incomplete,
                "{:?}",
                wire[..length].escape_ascii().to_string()
            );
        }
    }

    /// Asserts that once the outcome is decided on a prefix of `data`, it
    /// stays the same on every longer prefix.
    fn assert_prefix_monotone(data: &[u8]) {
        let mut settled: Option<(usize, ProxyParse)> = None;
        for length in 0..=data.len() {
            let outcome = parse_proxy_header(&data[..length]);
            match &settled {
                Some((first, decided)) => assert_eq!(
                    &outcome, decided,
                    "decided at {first} bytes, changed at {length} of {data:02x?}"
                ),
                None if outcome != ProxyParse::Incomplete => settled = Some((length, outcome)),
                None => {}
            }
        }
    }

    /// A naive v1 parser for comparison: the line up to the first CRLF,
    /// split at spaces, each field checked whole.
    fn naive_v1(seen: &[u8]) -> Option<(ProxyHeader, usize)> {
        let end = seen.windows(2).position(|pair| pair == b"\r\n")?;
        let line = &seen[..end];
        if end + 2 > 107 || line.contains(&b'\r') || line.contains(&b'\n') {
            return None;
        }
        let ip = |field: &[u8]| std::str::from_utf8(field).ok()?.parse::<IpAddr>().ok();
        let port = |field: &[u8]| {
            let canonical = field.iter().all(u8::is_ascii_digit)
                && (field.len() == 1 || !field.starts_with(b"0"));
            canonical.then(|| std::str::from_utf8(field).ok()?.parse::<u16>().ok())?
        };
        let fields: Vec<&[u8]> = line.split(|&byte| byte == b' ').collect();
        let header = match fields.as_slice() {
            [b"PROXY", b"UNKNOWN", ..] => ProxyHeader::unknown(),
            [b"PROXY", protocol @ (b"TCP4" | b"TCP6"), source, destination, source_port, destination_port] =>
            {
                let (source, destination) = (ip(source)?, ip(destination)?);
                let ipv4 = *protocol == b"TCP4";
                if source.is_ipv4() != ipv4 || destination.is_ipv4() != ipv4 {
                    return None;
                }
                ProxyHeader::tcp(
                    SocketAddr::new(source, port(source_port)?),
                    SocketAddr::new(destination, port(destination_port)?),
                )
            }
            _ => return None,
        };
        Some((header.with_version(ProxyVersion::V1), end + 2))
    }

    /// What a header becomes after a trip through version 1.
    fn v1_view(header: &ProxyHeader) -> ProxyHeader {
        let header = match (header.transport, &header.addresses) {
            (ProxyTransport::Stream, Addresses::V4(..) | Addresses::V6(..)) => header.clone(),
            _ => ProxyHeader::unknown(),
        };
        header.with_version(ProxyVersion::V1)
    }

    #[test]
    fn spec_v1_examples() {
        let cases: &[(&[u8], ProxyHeader, usize)] = &[
            (
                b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n",
                ProxyHeader::tcp(socket("192.168.0.1:56324"), socket("192.168.0.11:443")),
                47,
            ),
            (
                b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
                ProxyHeader::tcp(socket("255.255.255.255:65535"), socket("255.255.255.255:65535")),
                56,
            ),
            (
                b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
                ProxyHeader::tcp(
                    socket("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
                    socket("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
                ),
                104,
            ),
            (b"PROXY UNKNOWN\r\n", ProxyHeader::unknown(), 15),
            (
                b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
                ProxyHeader::unknown(),
                107,
            ),
            (
                b"PROXY TCP4 0.0.0.0 10.0.0.1 0 1\r\n",
                ProxyHeader::tcp(socket("0.0.0.0:0"), socket("10.0.0.1:1")),
                33,
            ),
            (
                b"PROXY TCP6 ::ffff:10.0.0.1 2001:DB8::1 1 2\r\n",
                ProxyHeader::tcp(socket("[::ffff:10.0.0.1]:1"), socket("[2001:db8::1]:2")),
                44,
            ),
            (
                b"PROXY UNKNOWN anything\x00\xff goes\r\n",
                ProxyHeader::unknown(),
                31,
            ),
        ];
        for (wire, header, length) in cases {
            let header = header.clone().with_version(ProxyVersion::V1);
            assert_eq!(
                parse_proxy_header(wire),
                complete(header.clone(), *length),
                "{}",
                wire.escape_ascii()
            );
            assert_eq!(naive_v1(wire), Some((header, *length)));
            assert_prefixes_incomplete(&wire[..*length]);
        }
    }

    #[test]
    fn v2_byte_tables() {
        let mut unix = v2(&[0x21, 0x31, 0x00, 0xd8]);
        unix.extend(unix_field(b"/var/run/client.sock"));
        unix.extend(unix_field(b"\0abstract"));
        let cases: Vec<(Vec<u8>, ProxyHeader, usize)> = vec![
            (
                // PROXY, TCP over IPv4, 12 bytes: 192.168.0.1:56324 -> 192.168.0.11:443
                v2(&[
                    0x21, 0x11, 0x00, 0x0c, 192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01,
                    0xbb, b'G', b'E', b'T',
                ]),
                ProxyHeader::tcp(socket("192.168.0.1:56324"), socket("192.168.0.11:443")),
                28,
            ),
            (
                // PROXY, UDP over IPv6, 36 bytes: [2001:db8::1]:53 -> [2001:db8::2]:12345
                v2(&[
                    0x21, 0x22, 0x00, 0x24, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 1, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x00, 0x35,
                    0x30, 0x39,
                ]),
                ProxyHeader::udp(socket("[2001:db8::1]:53"), socket("[2001:db8::2]:12345")),
                52,
            ),
            (
                unix,
                ProxyHeader::unix(
                    UnixPath::new(b"/var/run/client.sock").unwrap(),
                    UnixPath::new(b"\0abstract").unwrap(),
                ),
                232,
            ),
            (
                // LOCAL, UNSPEC, no addresses: a health check.
                v2(&[0x20, 0x00, 0x00, 0x00]),
                ProxyHeader::local(),
                16,
            ),
            (
                // LOCAL with an IPv4 block: the addresses are ignored.
                v2(&[0x20, 0x11, 0x00, 0x0c, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2]),
                ProxyHeader::local(),
                28,
            ),
            (
                // PROXY, AF_UNSPEC: the 3-byte block is skipped unread.
                v2(&[0x21, 0x00, 0x00, 0x03, 0xff, 0xff, 0xff]),
                ProxyHeader::unknown(),
                19,
            ),
            (
                // TCP over IPv4, then a NOOP TLV with one byte and an empty AUTHORITY.
                v2(&[
                    0x21, 0x11, 0x00, 0x13, 127, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0x00, 0x50,
                    0x04, 0x00, 0x01, 0xaa, 0x02, 0x00, 0x00,
                ]),
                ProxyHeader::tcp(socket("127.0.0.1:12345"), socket("127.0.0.1:80")),
                35,
            ),
        ];
        for (wire, header, length) in &cases {
            assert_eq!(parse_proxy_header(wire), complete(header.clone(), *length));
            assert_prefixes_incomplete(&wire[..*length]);
        }
        assert_eq!(cases[0].1.encode_v2(), cases[0].0[..28]);
        assert_eq!(cases[1].1.encode_v2(), cases[1].0);
        assert_eq!(cases[2].1.encode_v2(), cases[2].0);
        assert_eq!(cases[3].1.encode_v2(), cases[3].0);
        assert_eq!(cases[5].1.encode_v2(), v2(&[0x21, 0x00, 0x00, 0x00]));
    }

    #[test]
    fn absent_at_the_first_differing_byte() {
        let cases: &[&[u8]] = &[
            b"G",
            b"\x16",
            b"S",
            b"PROXX",
            b"PROXY\r",
            b"p",
            b"\r\r",
            b"\r\n\r\n\x00\r\nQUI\n",
            b"\r\n\r\n\x00\r\nQUIT\r",
        ];
        for wire in cases {
            assert_eq!(parse_proxy_header(wire), ProxyParse::Absent, "{wire:02x?}");
            assert_prefixes_incomplete(wire);
        }
        assert_eq!(parse_proxy_header(b""), ProxyParse::Incomplete);
        assert_eq!(parse_proxy_header(b"PROXY "), ProxyParse::Incomplete);
        assert_eq!(parse_proxy_header(V2_SIGNATURE), ProxyParse::Incomplete);
    }

    #[test]
    fn every_malformation_at_its_first_bad_byte() {
        use Endpoint::{Destination, Source};
        use ErrorKind::*;
        use V1Protocol::{Tcp4, Tcp6};
        let long_unknown = [b"PROXY UNKNOWN ".as_slice(), &[b'a'; 93]].concat();
        let long_tcp6 = [b"PROXY TCP6 ".as_slice(), &[b'f'; 46]].concat();
        let cases: Vec<(Vec<u8>, ErrorKind)> = vec![
            (b"PROXY TCP5".to_vec(), V1BadProtocol),
            (b"PROXY t".to_vec(), V1BadProtocol),
            (b"PROXY UNKNOWNS".to_vec(), V1BadProtocol),
            (b"PROXY UNKNOWN-".to_vec(), V1BadProtocol),
            (b"PROXY TCP4-".to_vec(), V1BadProtocol),
            (b"PROXY \r".to_vec(), V1BadProtocol),
            (b"PROXY  ".to_vec(), V1BadSeparator),
            (b"PROXY TCP4\r".to_vec(), V1TooFewFields),
            (b"PROXY UNKNOWN\n".to_vec(), V1StrayLineBreak),
            (b"PROXY UNKNOWN\rX".to_vec(), V1StrayLineBreak),
            (b"PROXY UNKNOWN x\n".to_vec(), V1StrayLineBreak),
            (b"PROXY UNKNOWN x\r\r".to_vec(), V1StrayLineBreak),
            (long_unknown, V1TooLong),
            (b"PROXY TCP4 \r".to_vec(), V1BadSeparator),
            (b"PROXY TCP4 1.2.3.4  ".to_vec(), V1BadSeparator),
            (b"PROXY TCP4 01.2.3.4 ".to_vec(), V1BadAddress(Source, Tcp4)),
            (b"PROXY TCP4 1.2.3 ".to_vec(), V1BadAddress(Source, Tcp4)),
            (b"PROXY TCP4 1.2.3.4x".to_vec(), V1BadAddress(Source, Tcp4)),
            (b"PROXY TCP4 :".to_vec(), V1BadAddress(Source, Tcp4)),
            (
                b"PROXY TCP4 1234567890123456".to_vec(),
                V1BadAddress(Source, Tcp4),
            ),
            (
                b"PROXY TCP4 1.2.3.4 256.0.0.1 ".to_vec(),
                V1BadAddress(Destination, Tcp4),
            ),
            (b"PROXY TCP6 1.2.3.4 ".to_vec(), V1BadAddress(Source, Tcp6)),
            (
                b"PROXY TCP6 ::1 ::g".to_vec(),
                V1BadAddress(Destination, Tcp6),
            ),
            (long_tcp6, V1BadAddress(Source, Tcp6)),
            (b"PROXY TCP4 1.2.3.4\r".to_vec(), V1TooFewFields),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8\r".to_vec(), V1TooFewFields),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 80\r".to_vec(), V1TooFewFields),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 08".to_vec(), V1BadPort(Source)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 +".to_vec(), V1BadPort(Source)),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 65536".to_vec(),
                V1PortOutOfRange(Source),
            ),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 80 00".to_vec(),
                V1BadPort(Destination),
            ),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 80 99999".to_vec(),
                V1PortOutOfRange(Destination),
            ),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 80 4x".to_vec(),
                V1BadPort(Destination),
            ),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 80 443 ".to_vec(),
                V1TrailingData,
            ),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 80 \r".to_vec(), V1BadSeparator),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 80 443\n".to_vec(),
                V1StrayLineBreak,
            ),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 80 443\rX".to_vec(),
                V1StrayLineBreak,
            ),
            (v2(&[0x11]), V2UnknownVersion(1)),
            (v2(&[0x31]), V2UnknownVersion(3)),
            (v2(&[0x22]), V2UnknownCommand(2)),
            (v2(&[0x21, 0x13]), V2UnknownFamily(0x13)),
            (v2(&[0x21, 0x10]), V2UnknownFamily(0x10)),
            (v2(&[0x20, 0x01]), V2UnknownFamily(0x01)),
            (v2(&[0x21, 0x41]), V2UnknownFamily(0x41)),
            (v2(&[0x21, 0x00, 0x0f, 0xf1]), V2TooLong(4097)),
            (v2(&[0x20, 0x11, 0xff, 0xff]), V2TooLong(65551)),
            (
                v2(&[0x21, 0x11, 0x00, 0x0b]),
                V2AddressesTooShort(AddressFamily::Ipv4, 11),
            ),
            (
                v2(&[0x21, 0x22, 0x00, 0x23]),
                V2AddressesTooShort(AddressFamily::Ipv6, 35),
            ),
            (
                v2(&[0x21, 0x32, 0x00, 0xd7]),
                V2AddressesTooShort(AddressFamily::Unix, 215),
            ),
            (
                v2(&[
                    0x21, 0x11, 0x00, 0x0e, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 2, 0x04, 0x00,
                ]),
                V2TlvOverrun,
            ),
            (
                v2(&[
                    0x21, 0x11, 0x00, 0x0f, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 2, 0x04, 0x00, 0x01,
                ]),
                V2TlvOverrun,
            ),
        ];
        for (wire, kind) in &cases {
            assert_eq!(
                parse_proxy_header(wire),
                malformed(*kind),
                "{}",
                wire.escape_ascii()
            );
            assert_prefixes_incomplete(wire);
        }
    }

    #[test]
    fn the_largest_v2_header_accepted() {
        let mut wire = v2(&[0x21, 0x11, 0x0f, 0xf0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 2]);
        wire.extend([0xe0, 0x0f, 0xe1]);
        wire.resize(PROXY_V2_MAX_HEADER_BYTES, 0x55);
        let header = ProxyHeader::tcp(socket("1.1.1.1:1"), socket("2.2.2.2:2"));
        assert_eq!(
            parse_proxy_header(&wire),
            complete(header, PROXY_V2_MAX_HEADER_BYTES)
        );
        assert_eq!(
            parse_proxy_header(&wire[..PROXY_V2_MAX_HEADER_BYTES - 1]),
            ProxyParse::Incomplete
        );
    }

    #[test]
    fn error_messages_say_what_is_wrong() {
        let message = |wire: &[u8]| match parse_proxy_header(wire) {
            ProxyParse::Malformed(error) => error.to_string(),
            other => panic!("{other:?}"),
        };
        let long_unknown = [b"PROXY UNKNOWN ".as_slice(), &[b'a'; 93]].concat();
        assert_eq!(
            message(&long_unknown),
            "v1 header longer than 107 bytes (no CRLF)"
        );
        assert_eq!(
            message(b"PROXY TCP4 1.2.3.4 5.6.7.8 80 70000"),
            "v1 destination port out of range (above 65535)"
        );
        assert_eq!(
            message(b"PROXY TCP6 1.2.3.4 "),
            "v1 source address is not a valid IPv6 address for TCP6"
        );
        assert_eq!(message(&v2(&[0x31])), "v2 unknown version 3 (expected 2)");
        assert_eq!(
            message(&v2(&[0x21, 0x21, 0x00, 0x0c])),
            "v2 address block of 12 bytes shorter than the 36 IPv6 requires"
        );
        assert_eq!(
            message(&v2(&[0x21, 0x00, 0x10, 0x00])),
            "v2 header of 4112 bytes longer than the 4096 accepted"
        );
        let error = ProxyError(ErrorKind::V2TlvOverrun);
        assert_eq!(
            (&error as &dyn Error).to_string(),
            "v2 TLV runs past the end of the header"
        );
    }

    #[test]
    fn encoders() {
        let header = ProxyHeader::tcp(socket("192.168.0.1:56324"), socket("192.168.0.11:443"));
        assert_eq!(
            header.encode_v1(),
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
        );
        let mixed = ProxyHeader::tcp(socket("10.0.0.1:1"), socket("[2001:db8::1]:2"));
        assert_eq!(
            mixed.encode_v1(),
            b"PROXY TCP6 ::ffff:10.0.0.1 2001:db8::1 1 2\r\n"
        );
        let scoped = ProxyHeader::tcp(socket("[fe80::1%7]:1"), socket("[fe80::2]:2"));
        assert_eq!(
            scoped.source(),
            Some(ProxyAddr::Inet(socket("[fe80::1]:1")))
        );
        let udp = ProxyHeader::udp(socket("10.0.0.1:53"), socket("10.0.0.2:53"));
        assert_eq!(udp.encode_v1(), b"PROXY UNKNOWN\r\n");
        assert_eq!(
            udp.encode_v2(),
            v2(&[0x21, 0x12, 0x00, 0x0c, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53])
        );
        assert_eq!(ProxyHeader::unknown().encode_v1(), b"PROXY UNKNOWN\r\n");
        let longest = ProxyHeader::tcp(
            socket("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
            socket("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
        );
        assert_eq!(longest.encode_v1().len(), 104);
    }

    #[test]
    fn accessors_and_display() {
        let header = ProxyHeader::unix_datagram(
            UnixPath::new(b"/tmp/a").unwrap(),
            UnixPath::new(b"/tmp/b\0\0").unwrap(),
        );
        assert_eq!(header.version(), ProxyVersion::V2);
        assert_eq!(header.command(), ProxyCommand::Proxy);
        assert_eq!(header.transport(), ProxyTransport::Datagram);
        let source = header.source().unwrap();
        assert_eq!(source.to_string(), "/tmp/a");
        assert_eq!(header.destination().unwrap().to_string(), "/tmp/b");
        assert_eq!(format!("{source:?}"), "Unix(UnixPath(\"/tmp/a\"))");
        assert_eq!(
            ProxyAddr::Inet(socket("1.2.3.4:5")).to_string(),
            "1.2.3.4:5"
        );
        assert_eq!(
            UnixPath::new(&[b'x'; 108]).map(|path| path.as_bytes().len()),
            Some(108)
        );
        let local = ProxyHeader::local();
        assert_eq!(local.command(), ProxyCommand::Local);
        assert_eq!(local.transport(), ProxyTransport::Unspecified);
        assert_eq!((local.source(), local.destination()), (None, None));
    }

    /// What HAProxy 2.6 sends (see `testdata/README.md`): each capture is
    /// the header, then the client's `hello\n`.
    #[test]
    fn haproxy_captures() {
        let cases: [(&[u8], ProxyVersion, &str, &str, usize); 5] = [
            (
                include_bytes!("testdata/haproxy-send-proxy-tcp4.bin"),
                ProxyVersion::V1,
                "127.0.0.1:54404",
                "127.0.0.1:18401",
                44,
            ),
            (
                include_bytes!("testdata/haproxy-send-proxy-tcp6.bin"),
                ProxyVersion::V1,
                "[::1]:40486",
                "[::1]:18404",
                32,
            ),
            (
                include_bytes!("testdata/haproxy-send-proxy-v2-tcp4.bin"),
                ProxyVersion::V2,
                "127.0.0.1:45170",
                "127.0.0.1:18402",
                28,
            ),
            (
                include_bytes!("testdata/haproxy-send-proxy-v2-tcp6.bin"),
                ProxyVersion::V2,
                "[::1]:39376",
                "[::1]:18405",
                52,
            ),
            (
                include_bytes!("testdata/haproxy-send-proxy-v2-tlv-tcp4.bin"),
                ProxyVersion::V2,
                "127.0.0.1:52382",
                "127.0.0.1:18403",
                60,
            ),
        ];
        for (capture, version, source, destination, length) in cases {
            let header =
                ProxyHeader::tcp(socket(source), socket(destination)).with_version(version);
            assert_eq!(
                parse_proxy_header(capture),
                complete(header.clone(), length),
                "{source}"
            );
            assert_eq!(&capture[length..], b"hello\n");
            assert_prefix_monotone(capture);
            let ours = match version {
                ProxyVersion::V1 => header.encode_v1(),
                ProxyVersion::V2 => header.encode_v2(),
            };
            if length != 60 {
                assert_eq!(ours, capture[..length], "we encode as HAProxy does");
            }
        }
    }

    fn any_unix_path() -> impl Strategy<Value = UnixPath> {
        proptest::collection::vec(any::<u8>(), 0..=UNIX_PATH_BYTES)
            .prop_map(|bytes| UnixPath::new(&bytes).unwrap())
    }

    fn any_header() -> impl Strategy<Value = ProxyHeader> {
        prop_oneof![
            Just(ProxyHeader::local()),
            Just(ProxyHeader::unknown()),
            (any::<SocketAddr>(), any::<SocketAddr>())
                .prop_map(|(source, destination)| ProxyHeader::tcp(source, destination)),
            (any::<SocketAddr>(), any::<SocketAddr>())
                .prop_map(|(source, destination)| ProxyHeader::udp(source, destination)),
            (any::<SocketAddrV4>(), any::<SocketAddrV4>()).prop_map(|(source, destination)| {
                ProxyHeader::tcp(source.into(), destination.into())
            }),
            (any_unix_path(), any_unix_path())
                .prop_map(|(source, destination)| ProxyHeader::unix(source, destination)),
            (any_unix_path(), any_unix_path()).prop_map(|(source, destination)| {
                ProxyHeader::unix_datagram(source, destination)
            }),
        ]
    }

    /// Valid headers of either version with a few bytes overwritten and
    /// random bytes after them: input that reaches every parse step.
    fn near_headers() -> impl Strategy<Value = Vec<u8>> {
        (
            any_header(),
            any::<bool>(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            proptest::collection::vec(any::<u8>(), 0..32),
        )
            .prop_map(|(header, version_2, edits, tail)| {
                let mut wire = if version_2 {
                    header.encode_v2()
                } else {
                    header.encode_v1()
                };
                for (at, byte) in edits {
                    let at = at % wire.len();
                    wire[at] = byte;
                }
                wire.extend(tail);
                wire
            })
    }

    /// v1-looking lines built from fields that are valid, nearly valid or
    /// wrong, joined by good and bad separators.
    fn v1_lines() -> impl Strategy<Value = Vec<u8>> {
        let fields = prop::sample::select(vec![
            "PROXY",
            "TCP4",
            "TCP6",
            "UNKNOWN",
            "1.2.3.4",
            "255.255.255.255",
            "01.2.3.4",
            "1.2.3",
            "::1",
            "::ffff:1.2.3.4",
            "2001:db8::",
            "fe80::1%1",
            "0",
            "80",
            "080",
            "65535",
            "65536",
            "+1",
            "x",
            "",
        ]);
        let separators = prop::sample::select(vec![" ", " ", " ", "  ", "\r\n", "\r", "\n", ""]);
        (
            any::<bool>(),
            proptest::collection::vec((fields, separators), 0..8),
        )
            .prop_map(|(proxy_first, parts)| {
                let mut line = if proxy_first {
                    b"PROXY ".to_vec()
                } else {
                    Vec::new()
                };
                for (field, separator) in parts {
                    line.extend_from_slice(field.as_bytes());
                    line.extend_from_slice(separator.as_bytes());
                }
                line
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn v2_round_trip(header in any_header(), tail in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut wire = header.encode_v2();
            let length = wire.len();
            wire.extend(&tail);
            prop_assert_eq!(parse_proxy_header(&wire), complete(header, length));
            for cut in 0..length {
                prop_assert_eq!(parse_proxy_header(&wire[..cut]), ProxyParse::Incomplete);
            }
        }

        #[test]
        fn v1_round_trip(header in any_header(), tail in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut wire = header.encode_v1();
            let length = wire.len();
            prop_assert!(length <= 104);
            wire.extend(&tail);
            prop_assert_eq!(parse_proxy_header(&wire), complete(v1_view(&header), length));
            for cut in 0..length {
                prop_assert_eq!(parse_proxy_header(&wire[..cut]), ProxyParse::Incomplete);
            }
        }

        #[test]
        fn monotone_on_near_headers(data in near_headers()) {
            assert_prefix_monotone(&data);
        }

        #[test]
        fn monotone_and_no_panic_on_arbitrary_bytes(
            start in prop::sample::select(vec![&b""[..], b"PROXY ", b"PROXY TCP4 ", b"PROXY TCP6 ", V2_SIGNATURE]),
            rest in proptest::collection::vec(any::<u8>(), 0..160),
        ) {
            assert_prefix_monotone(&[start, &rest].concat());
        }

        #[test]
        fn matches_the_naive_v1_parser(line in v1_lines()) {
            let ours = parse_proxy_header(&line);
            match naive_v1(&line) {
                Some((header, length)) => prop_assert_eq!(ours, complete(header, length)),
                None => {
                    let has_crlf = line.get(..PROXY_V1_MAX_HEADER_BYTES).unwrap_or(&line).windows(2).any(|pair| pair == b"\r\n");
                    prop_assert!(!matches!(ours, ProxyParse::Complete { .. }), "{:?}", ours);
                    if has_crlf && line.starts_with(V1_PREFIX) {
                        prop_assert!(matches!(ours, ProxyParse::Malformed(_)), "{:?}", ours);
                    }
                }
            }
            assert_prefix_monotone(&line);
        }

        #[test]
        fn bounded(
            start in prop::sample::select(vec![&b"PROXY "[..], b"PROXY UNKNOWN ", b"PROXY TCP6 ", V2_SIGNATURE]),
            version_2_fixed in proptest::collection::vec(any::<u8>(), 4),
            fill in any::<u8>(),
        ) {
            let mut data = [start, &version_2_fixed[..]].concat();
            data.resize(PROXY_V2_MAX_HEADER_BYTES, fill);
            prop_assert_ne!(parse_proxy_header(&data), ProxyParse::Incomplete);
            if start != V2_SIGNATURE {
                prop_assert_ne!(parse_proxy_header(&data[..PROXY_V1_MAX_HEADER_BYTES]), ProxyParse::Incomplete);
            }
        }

        #[test]
        fn absent_decided_at_the_first_differing_byte(
            version_2 in any::<bool>(),
            at in 0usize..12,
            byte in any::<u8>(),
            tail in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let signature = if version_2 { V2_SIGNATURE } else { V1_PREFIX };
            let at = at % signature.len();
            prop_assume!(byte != signature[at]);
            prop_assume!(at > 0 || (byte != V1_PREFIX[0] && byte != V2_SIGNATURE[0]));
            let data = [&signature[..at], &[byte], &tail].concat();
            prop_assert_eq!(parse_proxy_header(&data[..at]), ProxyParse::Incomplete);
            for length in at + 1..=data.len() {
                prop_assert_eq!(parse_proxy_header(&data[..length]), ProxyParse::Absent);
            }
        }
    }
}
