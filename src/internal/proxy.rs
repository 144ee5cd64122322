//! The `proxy_header` target: [`parse_proxy_header`] on arbitrary bytes
//! (its v2 TLVs and their CRC32C included), every TLV accessor, and both
//! encoders on what it parses and on headers built from the input's
//! bytes.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::{
    parse_proxy_header, ProxyAddr, ProxyCommand, ProxyHeader, ProxyParse, ProxyTransport,
    ProxyVersion, UnixPath, PROXY_V1_MAX_HEADER_BYTES, PROXY_V2_MAX_HEADER_BYTES,
};

use super::checks::check_settles;

/// The `proxy_header` target: [`parse_proxy_header`] never changes its
/// answer once it is `Absent`, `Malformed` or `Complete` (nor the header
/// and length), never says `Incomplete` past its bounds, says `Absent`
/// only when the bytes start like neither version; a `Complete` header
/// reads the same from its own bytes, re-encodes with both encoders to
/// bytes that parse back to an equal header (v1 carrying only TCP, the
/// rest as `UNKNOWN`), and its canonical forms (a v1 `TCP4` line, a v2
/// `PROXY` header without TLVs) re-encode byte for byte. A header built
/// from the input's bytes with the constructors round-trips the same way.
pub fn proxy_header(data: &[u8]) {
    check_settles("parse_proxy_header", data, parse_proxy_header, |parse| {
        *parse != ProxyParse::Incomplete
    });
    let is_v2 = data.first() == Some(&b'\r');
    let parsed = parse_proxy_header(data);
    match &parsed {
        ProxyParse::Complete { header, length } => {
            let bytes = data
                .get(..*length)
                .expect("the header lies within the input");
            assert_eq!(parse_proxy_header(bytes), parsed);
            let version = if is_v2 {
                ProxyVersion::V2
            } else {
                ProxyVersion::V1
            };
            assert_eq!(header.version(), version);
            check_tlvs(header, bytes);
            check_proxy_reencoding(header, bytes);
        }
        ProxyParse::Incomplete => {
            let bound = if is_v2 {
                PROXY_V2_MAX_HEADER_BYTES
            } else {
                PROXY_V1_MAX_HEADER_BYTES
            };
            assert!(data.len() < bound, "Incomplete after {} bytes", data.len());
        }
        ProxyParse::Absent => {
            let starts_like = |signature: &[u8]| {
                let common = data.len().min(signature.len());
                data[..common] == signature[..common]
            };
            assert!(!starts_like(b"PROXY ") && !starts_like(b"\r\n\r\n\0\r\nQUIT\n"));
        }
        ProxyParse::Malformed(error) => assert!(!error.to_string().is_empty()),
    }
    if let Some(header) = header_from_bytes(data) {
        let wire = header.encode_v2();
        assert_eq!(
            parse_proxy_header(&wire),
            ProxyParse::Complete {
                header: header.clone(),
                length: wire.len()
            }
        );
        check_proxy_reencoding(&header, &wire);
    }
}

/// Checks that `header`, parsed from `original`, re-encodes with both
/// encoders to bytes that parse back to the same endpoints, and that a
/// canonical original re-encodes byte for byte.
fn check_proxy_reencoding(header: &ProxyHeader, original: &[u8]) {
    let reparse = |wire: &[u8], version: ProxyVersion| -> ProxyHeader {
        match parse_proxy_header(wire) {
            ProxyParse::Complete {
                header: again,
                length,
            } => {
                assert_eq!(length, wire.len(), "{wire:02x?}");
                assert_eq!(again.version(), version);
                again
            }
            other => panic!("{header:?} encoded as {wire:02x?} parses as {other:?}"),
        }
    };
    let v2 = header.encode_v2();
    assert_same_endpoints(header, &reparse(&v2, ProxyVersion::V2));
    let v1 = header.encode_v1();
    assert!(v1.len() <= PROXY_V1_MAX_HEADER_BYTES);
    let from_v1 = reparse(&v1, ProxyVersion::V1);
    let v1_carries = header.transport() == ProxyTransport::Stream
        && matches!(header.source(), Some(ProxyAddr::Inet(_)));
    if v1_carries {
        assert_same_endpoints(header, &from_v1);
    } else {
        assert_same_endpoints(&ProxyHeader::unknown(), &from_v1);
    }
    let canonical = match header.version() {
        ProxyVersion::V1 => matches!(header.source(), Some(ProxyAddr::Inet(SocketAddr::V4(_)))),
        ProxyVersion::V2 => header.command() == ProxyCommand::Proxy && original.len() == v2.len(),
    };
    if canonical {
        let encoded = match header.version() {
            ProxyVersion::V1 => v1,
            ProxyVersion::V2 => v2,
        };
        assert_eq!(
            encoded, original,
            "{header:?} does not re-encode as it came"
        );
    }
}

/// Every TLV accessor answers without panicking, and the TLVs walked
/// lie within the header (none for v1).
fn check_tlvs(header: &ProxyHeader, bytes: &[u8]) {
    let walked: usize = header.tlvs().map(|tlv| 3 + tlv.value.len()).sum();
    assert!(walked <= bytes.len());
    if header.version() == ProxyVersion::V1 {
        assert_eq!(walked, 0);
    }
    std::hint::black_box((
        header.alpn(),
        header.authority(),
        header.unique_id(),
        header.netns(),
        header.aws_vpce_id(),
        header.azure_link_id(),
        header.gcp_psc_id(),
    ));
    if let Some(ssl) = header.ssl() {
        std::hint::black_box((
            ssl.client_ssl(),
            ssl.client_cert(),
            ssl.verified(),
            ssl.version(),
            ssl.cn(),
            ssl.cipher(),
            ssl.sig_alg(),
            ssl.key_alg(),
            ssl.sub_tlvs().count(),
        ));
    }
}

fn assert_same_endpoints(expected: &ProxyHeader, actual: &ProxyHeader) {
    let view = |header: &ProxyHeader| {
        (
            header.command(),
            header.transport(),
            header.source(),
            header.destination(),
        )
    };
    assert_eq!(view(actual), view(expected));
}

/// Bytes read from the front of an input, zeros once it runs out.
struct ByteSource<'a>(std::slice::Iter<'a, u8>);

impl ByteSource<'_> {
    fn u8(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.u8())
    }

    fn ipv4(&mut self) -> SocketAddr {
        let ip = Ipv4Addr::from(self.array::<4>());
        SocketAddr::from((ip, u16::from_be_bytes(self.array())))
    }

    fn ipv6(&mut self) -> SocketAddr {
        let ip = Ipv6Addr::from(self.array::<16>());
        SocketAddr::from((ip, u16::from_be_bytes(self.array())))
    }

    fn unix_path(&mut self) -> UnixPath {
        let length = usize::from(self.u8()) % 109;
        let bytes: Vec<u8> = (0..length).map(|_| self.u8()).collect();
        UnixPath::new(&bytes).expect("at most 108 bytes")
    }
}

/// A header of the kind the first byte of `data` picks, with addresses
/// from the bytes after it.
fn header_from_bytes(data: &[u8]) -> Option<ProxyHeader> {
    let (&kind, rest) = data.split_first()?;
    let mut bytes = ByteSource(rest.iter());
    Some(match kind % 9 {
        0 => ProxyHeader::tcp(bytes.ipv4(), bytes.ipv4()),
        1 => ProxyHeader::tcp(bytes.ipv6(), bytes.ipv6()),
        2 => ProxyHeader::tcp(bytes.ipv4(), bytes.ipv6()),
        3 => ProxyHeader::udp(bytes.ipv4(), bytes.ipv4()),
        4 => ProxyHeader::udp(bytes.ipv6(), bytes.ipv4()),
        5 => ProxyHeader::unix(bytes.unix_path(), bytes.unix_path()),
        6 => ProxyHeader::unix_datagram(bytes.unix_path(), bytes.unix_path()),
        7 => ProxyHeader::local(),
        _ => ProxyHeader::unknown(),
    })
}
