//! What a PROXY header says, and its two encodings: the version it came
//! in, the command, the transport and the two endpoints ([`ProxyHeader`]),
//! built by the parser (`parse.rs`) or by a proxy that writes one with
//! [`ProxyHeader::encode_v1`] or [`ProxyHeader::encode_v2`].

use std::fmt;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::address::Addresses;

use super::wire::{
    AddressFamily, Endpoint, UNIX_PATH_BYTES, V2_FIXED_BYTES, V2_SIGNATURE, V2_VERSION,
};

/// Which format a PROXY header came in.
///
/// Non-exhaustive: the header's 4-bit version field leaves room for a
/// third format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyVersion {
    /// The text line of spec section 2.1 (`PROXY TCP4 ...\r\n`).
    V1,
    /// The binary header of spec section 2.2.
    V2,
}

/// What the connection carrying a PROXY header is.
///
/// Non-exhaustive: version 2 has a 4-bit command field of which the spec
/// defines two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
///
/// Non-exhaustive: version 2 has a 4-bit transport field of which the
/// spec defines three values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
pub struct UnixPath(pub(super) Box<[u8]>);

impl UnixPath {
    /// The path `bytes` without its trailing NULs, or `None` when that is
    /// longer than the 108 bytes of a v2 address field.
    ///
    /// ```
    /// use connmux::UnixPath;
    ///
    /// // As a v2 header carries it: the path, then NULs to 108 bytes.
    /// let mut field = b"/var/run/haproxy.sock".to_vec();
    /// field.resize(108, 0);
    /// assert_eq!(UnixPath::new(&field).unwrap().to_string(), "/var/run/haproxy.sock");
    /// assert_eq!(UnixPath::new(&[b'x'; 200]), None);
    /// ```
    pub fn new(bytes: &[u8]) -> Option<UnixPath> {
        let path = without_nul_padding(bytes);
        (path.len() <= UNIX_PATH_BYTES).then(|| UnixPath(path.into()))
    }

    /// The path's bytes, without padding.
    ///
    /// ```
    /// use connmux::UnixPath;
    ///
    /// let abstract_socket = UnixPath::new(b"\0connmux\0\0").unwrap();
    /// assert_eq!(abstract_socket.as_bytes(), b"\0connmux");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

pub(super) fn without_nul_padding(mut bytes: &[u8]) -> &[u8] {
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
///
/// Non-exhaustive: version 2 has a 4-bit address family field of which
/// the spec defines four values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
pub(super) enum EndpointPair {
    None,
    V4(SocketAddrV4, SocketAddrV4),
    V6(SocketAddrV6, SocketAddrV6),
    Unix(UnixPath, UnixPath),
}

/// A PROXY protocol header: who the proxy says the connection is from and
/// to.
///
/// Parse one with [`parse_proxy_header`](super::parse_proxy_header), or build one with [`tcp`],
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
    pub(super) version: ProxyVersion,
    pub(super) command: ProxyCommand,
    pub(super) transport: ProxyTransport,
    pub(super) addresses: EndpointPair,
    /// The v2 TLVs as read, checked whole; empty for v1 and for headers
    /// built here.
    pub(super) tlvs: Vec<u8>,
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
    ///
    /// ```
    /// use connmux::{ProxyHeader, ProxyTransport};
    ///
    /// let dns = ProxyHeader::udp("198.51.100.4:53124".parse()?, "192.0.2.53:53".parse()?);
    /// assert_eq!(dns.transport(), ProxyTransport::Datagram);
    /// assert_eq!(dns.encode_v2()[13], 0x12); // UDP over IPv4
    /// assert_eq!(dns.encode_v1(), b"PROXY UNKNOWN\r\n");
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
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
        ProxyHeader::proxied(
            ProxyTransport::Stream,
            EndpointPair::Unix(source, destination),
        )
    }

    /// A header relaying a UNIX datagram socket (version 2 only).
    ///
    /// ```
    /// use connmux::{ProxyHeader, ProxyTransport, UnixPath};
    ///
    /// let log = UnixPath::new(b"/dev/log").unwrap();
    /// let header = ProxyHeader::unix_datagram(log.clone(), log);
    /// assert_eq!(header.transport(), ProxyTransport::Datagram);
    /// assert_eq!(header.encode_v2()[13], 0x32); // UNIX datagram
    /// ```
    pub fn unix_datagram(source: UnixPath, destination: UnixPath) -> ProxyHeader {
        ProxyHeader::proxied(
            ProxyTransport::Datagram,
            EndpointPair::Unix(source, destination),
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
            addresses: EndpointPair::None,
            tlvs: Vec::new(),
        }
    }

    /// A header relaying a connection whose addresses cannot be said:
    /// v1 `PROXY UNKNOWN`, v2 `PROXY` with family `AF_UNSPEC`. The receiver
    /// uses the connection's real endpoints.
    ///
    /// ```
    /// use connmux::{ProxyCommand, ProxyHeader};
    ///
    /// let header = ProxyHeader::unknown();
    /// assert_eq!(header.command(), ProxyCommand::Proxy);
    /// assert_eq!(header.source(), None);
    /// assert_eq!(header.encode_v1(), b"PROXY UNKNOWN\r\n");
    /// ```
    pub fn unknown() -> ProxyHeader {
        ProxyHeader::proxied(ProxyTransport::Unspecified, EndpointPair::None)
    }

    pub(super) fn proxied(transport: ProxyTransport, addresses: EndpointPair) -> ProxyHeader {
        ProxyHeader {
            version: ProxyVersion::V2,
            command: ProxyCommand::Proxy,
            transport,
            addresses,
            tlvs: Vec::new(),
        }
    }

    fn inet(transport: ProxyTransport, source: SocketAddr, destination: SocketAddr) -> ProxyHeader {
        let addresses = match (source, destination) {
            (SocketAddr::V4(source), SocketAddr::V4(destination)) => {
                EndpointPair::V4(source, destination)
            }
            _ => EndpointPair::V6(as_ipv6(source), as_ipv6(destination)),
        };
        ProxyHeader::proxied(transport, addresses)
    }

    pub(super) fn with_version(self, version: ProxyVersion) -> ProxyHeader {
        ProxyHeader { version, ..self }
    }

    /// The format this header was parsed from. Headers built with the
    /// constructors say [`ProxyVersion::V2`], the format that can carry all
    /// of them; the encoders write the format their name says regardless.
    ///
    /// ```
    /// use connmux::{parse_proxy_header, ProxyHeader, ProxyParse, ProxyVersion};
    ///
    /// let seen = b"PROXY TCP4 203.0.113.7 192.0.2.1 41000 443\r\n";
    /// let ProxyParse::Complete { header, .. } = parse_proxy_header(seen) else { panic!() };
    /// assert_eq!(header.version(), ProxyVersion::V1);
    /// assert_eq!(ProxyHeader::local().version(), ProxyVersion::V2);
    /// ```
    pub fn version(&self) -> ProxyVersion {
        self.version
    }

    /// Whether the connection is relayed ([`ProxyCommand::Proxy`]) or the
    /// proxy's own ([`ProxyCommand::Local`]).
    ///
    /// ```
    /// use connmux::{parse_proxy_header, ProxyCommand, ProxyParse};
    ///
    /// // An AWS NLB or HAProxy health check: v2, LOCAL, no addresses.
    /// let seen = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
    /// let ProxyParse::Complete { header, .. } = parse_proxy_header(seen) else { panic!() };
    /// assert_eq!(header.command(), ProxyCommand::Local);
    /// ```
    pub fn command(&self) -> ProxyCommand {
        self.command
    }

    /// The relayed connection's transport.
    ///
    /// ```
    /// use connmux::{parse_proxy_header, ProxyParse, ProxyTransport};
    ///
    /// let seen = b"PROXY TCP6 2001:db8::7 2001:db8::1 41000 443\r\n";
    /// let ProxyParse::Complete { header, .. } = parse_proxy_header(seen) else { panic!() };
    /// assert_eq!(header.transport(), ProxyTransport::Stream);
    /// ```
    pub fn transport(&self) -> ProxyTransport {
        self.transport
    }

    /// The client's address, if the header carries addresses.
    ///
    /// ```
    /// use connmux::{parse_proxy_header, ProxyAddr, ProxyParse};
    ///
    /// let seen = b"PROXY TCP4 203.0.113.7 192.0.2.1 41000 443\r\nGET / HTTP/1.1\r\n";
    /// let ProxyParse::Complete { header, .. } = parse_proxy_header(seen) else { panic!() };
    /// assert_eq!(header.source(), Some(ProxyAddr::Inet("203.0.113.7:41000".parse()?)));
    /// let ProxyParse::Complete { header, .. } = parse_proxy_header(b"PROXY UNKNOWN\r\n") else {
    ///     panic!()
    /// };
    /// assert_eq!(header.source(), None);
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn source(&self) -> Option<ProxyAddr> {
        self.endpoint(Endpoint::Source)
    }

    /// The address the client connected to, if the header carries
    /// addresses.
    ///
    /// ```
    /// use connmux::{parse_proxy_header, ProxyAddr, ProxyParse};
    ///
    /// let seen = b"PROXY TCP4 203.0.113.7 192.0.2.1 41000 443\r\nGET / HTTP/1.1\r\n";
    /// let ProxyParse::Complete { header, .. } = parse_proxy_header(seen) else { panic!() };
    /// assert_eq!(header.destination(), Some(ProxyAddr::Inet("192.0.2.1:443".parse()?)));
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn destination(&self) -> Option<ProxyAddr> {
        self.endpoint(Endpoint::Destination)
    }

    /// `own`, the connection's addresses, with the client and destination
    /// this header names: none for Unix sockets, which have no IP address.
    /// A header that names no endpoints (LOCAL, UNKNOWN) leaves `own` as it
    /// is: its receiver is to use the connection's own.
    pub(crate) fn relay(&self, own: Addresses) -> Addresses {
        if self.command != ProxyCommand::Proxy || self.source().is_none() {
            return own;
        }
        let inet = |endpoint| match self.endpoint(endpoint) {
            Some(ProxyAddr::Inet(addr)) => Some(addr),
            _ => None,
        };
        own.relayed(inet(Endpoint::Source), inet(Endpoint::Destination))
    }

    fn endpoint(&self, endpoint: Endpoint) -> Option<ProxyAddr> {
        Some(match &self.addresses {
            EndpointPair::None => return None,
            EndpointPair::V4(source, destination) => {
                ProxyAddr::Inet(SocketAddr::V4(*endpoint.pick(source, destination)))
            }
            EndpointPair::V6(source, destination) => {
                ProxyAddr::Inet(SocketAddr::V6(*endpoint.pick(source, destination)))
            }
            EndpointPair::Unix(source, destination) => {
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
            (ProxyTransport::Stream, EndpointPair::V4(source, destination)) => {
                v1_tcp_line("TCP4", (*source).into(), (*destination).into())
            }
            (ProxyTransport::Stream, EndpointPair::V6(source, destination)) => {
                v1_tcp_line("TCP6", (*source).into(), (*destination).into())
            }
            _ => "PROXY UNKNOWN\r\n".to_owned(),
        };
        line.into_bytes()
    }

    /// This header with a v2 TLV of `kind` carrying `value` after those it
    /// has, for [`encode_v2`](Self::encode_v2) to write (version 1 has
    /// none); [`ProxyTlv`](crate::ProxyTlv) names the types. For a CRC32C
    /// TLV give 4 bytes of any value: the encoder computes it. `None` if
    /// the header would pass
    /// [`PROXY_V2_MAX_HEADER_BYTES`](crate::PROXY_V2_MAX_HEADER_BYTES).
    ///
    /// ```
    /// use connmux::{parse_proxy_header, ProxyHeader, ProxyParse, ProxyTlv};
    ///
    /// let header = ProxyHeader::tcp("192.0.2.1:5000".parse()?, "192.0.2.2:443".parse()?)
    ///     .with_tlv(ProxyTlv::AUTHORITY, b"example.com")
    ///     .and_then(|header| header.with_tlv(ProxyTlv::CRC32C, &[0; 4]))
    ///     .expect("within the bound");
    /// let wire = header.encode_v2();
    /// let ProxyParse::Complete { header: read, .. } = parse_proxy_header(&wire) else {
    ///     panic!("its own encoding, checksum included");
    /// };
    /// assert_eq!(read.authority(), Some("example.com"));
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn with_tlv(mut self, kind: u8, value: &[u8]) -> Option<ProxyHeader> {
        let length = u16::try_from(value.len()).ok()?;
        let family_bytes = self.family().address_bytes();
        let total = V2_FIXED_BYTES + family_bytes + self.tlvs.len() + 3 + value.len();
        if total > crate::PROXY_V2_MAX_HEADER_BYTES {
            return None;
        }
        self.tlvs.push(kind);
        self.tlvs.extend(length.to_be_bytes());
        self.tlvs.extend_from_slice(value);
        Some(self)
    }

    fn family(&self) -> AddressFamily {
        match self.addresses {
            EndpointPair::None => AddressFamily::Unspecified,
            EndpointPair::V4(..) => AddressFamily::Ipv4,
            EndpointPair::V6(..) => AddressFamily::Ipv6,
            EndpointPair::Unix(..) => AddressFamily::Unix,
        }
    }

    /// The header in the version 2 binary format (HAProxy's
    /// `send-proxy-v2`), with its TLVs (those it was parsed with, or given
    /// by [`with_tlv`](Self::with_tlv)), a CRC32C TLV's value computed
    /// over the result.
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
        let family = self.family();
        let mut wire =
            Vec::with_capacity(V2_FIXED_BYTES + family.address_bytes() + self.tlvs.len());
        wire.extend_from_slice(V2_SIGNATURE);
        wire.push(V2_VERSION << 4 | command);
        wire.push(family.wire() << 4 | transport);
        // Within u16: `with_tlv` and the parser bound the whole header.
        let length = family.address_bytes() + self.tlvs.len();
        wire.extend((length as u16).to_be_bytes());
        match &self.addresses {
            EndpointPair::None => {}
            EndpointPair::V4(source, destination) => {
                wire.extend(source.ip().octets());
                wire.extend(destination.ip().octets());
                wire.extend(source.port().to_be_bytes());
                wire.extend(destination.port().to_be_bytes());
            }
            EndpointPair::V6(source, destination) => {
                wire.extend(source.ip().octets());
                wire.extend(destination.ip().octets());
                wire.extend(source.port().to_be_bytes());
                wire.extend(destination.port().to_be_bytes());
            }
            EndpointPair::Unix(source, destination) => {
                for path in [source, destination] {
                    let field_end = wire.len() + UNIX_PATH_BYTES;
                    wire.extend_from_slice(path.as_bytes());
                    wire.resize(field_end, 0);
                }
            }
        }
        let tlvs_at = wire.len();
        wire.extend_from_slice(&self.tlvs);
        if let Some(value) = super::wire::crc32c_value_at(&self.tlvs) {
            let value = tlvs_at + value.start..tlvs_at + value.end;
            if value.len() == 4 {
                wire[value.clone()].fill(0);
                let crc = super::wire::crc32c(&wire);
                wire[value].copy_from_slice(&crc.to_be_bytes());
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
