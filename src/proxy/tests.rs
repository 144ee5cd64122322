//! Tests of the PROXY protocol parser and encoders: the spec's examples
//! and byte tables, every malformation at its first bad byte, HAProxy's
//! captures, round trips, and properties against a naive v1 parser.

use std::error::Error;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

use super::error::ErrorKind;
use super::header::EndpointPair;
use super::wire::{AddressFamily, Endpoint, V1Protocol, UNIX_PATH_BYTES, V1_PREFIX, V2_SIGNATURE};
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
        let canonical =
            field.iter().all(u8::is_ascii_digit) && (field.len() == 1 || !field.starts_with(b"0"));
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
        (ProxyTransport::Stream, EndpointPair::V4(..) | EndpointPair::V6(..)) => header.clone(),
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
                0x21, 0x11, 0x00, 0x0c, 192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01, 0xbb,
                b'G', b'E', b'T',
            ]),
            ProxyHeader::tcp(socket("192.168.0.1:56324"), socket("192.168.0.11:443")),
            28,
        ),
        (
            // PROXY, UDP over IPv6, 36 bytes: [2001:db8::1]:53 -> [2001:db8::2]:12345
            v2(&[
                0x21, 0x22, 0x00, 0x24, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x00, 0x35, 0x30, 0x39,
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
                0x21, 0x11, 0x00, 0x13, 127, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0x00, 0x50, 0x04,
                0x00, 0x01, 0xaa, 0x02, 0x00, 0x00,
            ]),
            with_tlvs(
                ProxyHeader::tcp(socket("127.0.0.1:12345"), socket("127.0.0.1:80")),
                &[0x04, 0x00, 0x01, 0xaa, 0x02, 0x00, 0x00],
            ),
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

/// `header` with `tlvs` as a parsed v2 header keeps them.
fn with_tlvs(mut header: ProxyHeader, tlvs: &[u8]) -> ProxyHeader {
    header.tlvs = tlvs.to_vec();
    header
}

#[test]
fn the_largest_v2_header_accepted() {
    let mut wire = v2(&[0x21, 0x11, 0x0f, 0xf0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 2]);
    wire.extend([0xe0, 0x0f, 0xe1]);
    wire.resize(PROXY_V2_MAX_HEADER_BYTES, 0x55);
    let header = with_tlvs(
        ProxyHeader::tcp(socket("1.1.1.1:1"), socket("2.2.2.2:2")),
        &wire[28..],
    );
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

/// What HAProxy 2.6 sends (see `tests/fixtures/README.md`): each capture is
/// the header, then the client's `hello\n`.
#[test]
fn haproxy_captures() {
    let cases: [(&[u8], ProxyVersion, &str, &str, usize); 5] = [
        (
            include_bytes!("../../tests/fixtures/manual/proxy-v1-haproxy-tcp4.bin"),
            ProxyVersion::V1,
            "127.0.0.1:54404",
            "127.0.0.1:18401",
            44,
        ),
        (
            include_bytes!("../../tests/fixtures/manual/proxy-v1-haproxy-tcp6.bin"),
            ProxyVersion::V1,
            "[::1]:40486",
            "[::1]:18404",
            32,
        ),
        (
            include_bytes!("../../tests/fixtures/manual/proxy-v2-haproxy-tcp4.bin"),
            ProxyVersion::V2,
            "127.0.0.1:45170",
            "127.0.0.1:18402",
            28,
        ),
        (
            include_bytes!("../../tests/fixtures/manual/proxy-v2-haproxy-tcp6.bin"),
            ProxyVersion::V2,
            "[::1]:39376",
            "[::1]:18405",
            52,
        ),
        (
            include_bytes!("../../tests/fixtures/manual/proxy-v2-haproxy-tlv-tcp4.bin"),
            ProxyVersion::V2,
            "127.0.0.1:52382",
            "127.0.0.1:18403",
            60,
        ),
    ];
    for (capture, version, source, destination, length) in cases {
        let header = ProxyHeader::tcp(socket(source), socket(destination)).with_version(version);
        // HAProxy's TLVs, CRC32C included (so its checksum was verified).
        let header = match version {
            ProxyVersion::V2 => {
                let addresses = if source.starts_with('[') { 36 } else { 12 };
                with_tlvs(header, &capture[16 + addresses..length])
            }
            _ => header,
        };
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

/// HAProxy terminating TLS with `proxy-v2-options
/// authority,crc32c,unique-id,ssl,ssl-cipher,cert-sig,cert-key`; the
/// expected values are the MANIFEST's, which the capture script checked
/// against what its TLS client negotiated.
#[test]
fn haproxy_tls_capture_tlvs() {
    let capture = include_bytes!("../../tests/fixtures/proxy-v2-haproxy-tls.bin");
    let ProxyParse::Complete { header, length } = parse_proxy_header(capture) else {
        panic!("a whole header, its CRC32C verified");
    };
    assert_eq!(length, 179);
    assert_eq!(&capture[length..length + 4], b"GET ");
    let kinds: Vec<u8> = header.tlvs().map(|tlv| tlv.kind).collect();
    assert_eq!(
        kinds,
        [
            ProxyTlv::CRC32C,
            ProxyTlv::ALPN,
            ProxyTlv::AUTHORITY,
            ProxyTlv::UNIQUE_ID,
            ProxyTlv::SSL
        ]
    );
    assert_eq!(header.authority(), Some("lb.fixture"));
    assert_eq!(header.alpn(), Some(&b"http/1.1"[..]));
    let unique_id = header.unique_id().expect("a unique ID");
    assert!(
        unique_id.starts_with(b"7F000001:"),
        "{}",
        unique_id.escape_ascii()
    );
    let ssl = header.ssl().expect("the SSL TLV");
    assert!(ssl.client_ssl() && !ssl.client_cert() && ssl.verified());
    assert_eq!(ssl.version(), Some("TLSv1.3"));
    assert_eq!(ssl.cipher(), Some("TLS_AES_256_GCM_SHA384"));
    assert_eq!(ssl.sig_alg(), Some("ecdsa-with-SHA256"));
    assert_eq!(ssl.key_alg(), Some("EC256"));
    assert_eq!(ssl.cn(), None, "no client certificate");
    // Re-encoded with our CRC32C, it parses to the same header.
    let ours = header.encode_v2();
    assert_eq!(ours, capture[..length], "we encode as HAProxy does");
    assert_prefix_monotone(capture);
    // One bit off in the checksum, and the header is refused.
    let mut corrupted = capture.to_vec();
    corrupted[16 + 12 + 3] ^= 1;
    assert!(matches!(
        parse_proxy_header(&corrupted),
        ProxyParse::Malformed(_)
    ));
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
        (any_unix_path(), any_unix_path())
            .prop_map(|(source, destination)| { ProxyHeader::unix_datagram(source, destination) }),
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

#[test]
fn haproxys_crc32c_and_unique_id_are_read_and_a_wrong_checksum_is_refused() {
    let capture = include_bytes!("../../tests/fixtures/manual/proxy-v2-haproxy-tlv-tcp4.bin");
    let ProxyParse::Complete { header, length } = parse_proxy_header(capture) else {
        panic!("HAProxy's header, its CRC32C verified");
    };
    assert_eq!(length, 60);
    let kinds: Vec<u8> = header.tlvs().map(|tlv| tlv.kind).collect();
    assert_eq!(kinds, [0x03, 0x05], "CRC32C, UNIQUE_ID");
    assert_eq!(header.unique_id(), Some(&b"connmux-test-127.0.0.1"[..]));
    assert_eq!((header.alpn(), header.authority()), (None, None));
    for flipped in [16, 20, 31, 40, 59] {
        let mut corrupt = capture.to_vec();
        corrupt[flipped] ^= 0x01;
        assert_eq!(
            parse_proxy_header(&corrupt),
            malformed(ErrorKind::V2BadChecksum),
            "byte {flipped} flipped"
        );
    }
}

#[test]
fn the_ssl_tlv_and_its_sub_tlvs() {
    let mut ssl = vec![0x05, 0, 0, 0, 0]; // client: SSL and a certificate; verified
    for (kind, text) in [
        (0x21u8, &b"TLSv1.3"[..]),
        (0x22, b"client.example"),
        (0x23, b"TLS_AES_128_GCM_SHA256"),
        (0x24, b"SHA256"),
        (0x25, b"RSA2048"),
    ] {
        ssl.extend([kind, 0, text.len() as u8]);
        ssl.extend_from_slice(text);
    }
    let mut tlvs = vec![0x20, 0, ssl.len() as u8];
    tlvs.extend(&ssl);
    tlvs.extend(b"\x30\x00\x03red\xEA\x00\x04\x01vpc\xE0\x00\x02\x12\x34\x99\x00\x01z");
    let mut wire = v2(&[0x21, 0x11, 0x00, 12 + tlvs.len() as u8]);
    wire.extend([1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 2]);
    wire.extend(&tlvs);
    let ProxyParse::Complete { header, .. } = parse_proxy_header(&wire) else {
        panic!("a whole header");
    };
    let ssl = header.ssl().expect("the SSL TLV");
    assert!(ssl.client_ssl() && ssl.client_cert() && ssl.verified());
    assert_eq!(ssl.version(), Some("TLSv1.3"));
    assert_eq!(ssl.cn(), Some("client.example"));
    assert_eq!(ssl.cipher(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(
        (ssl.sig_alg(), ssl.key_alg()),
        (Some("SHA256"), Some("RSA2048"))
    );
    assert_eq!(header.netns(), Some("red"));
    assert_eq!(header.aws_vpce_id(), Some("vpc"));
    assert_eq!(header.gcp_psc_id(), Some(&[0x12, 0x34][..]));
    let unknown = header.tlvs().last().expect("the unknown TLV");
    assert_eq!((unknown.kind, unknown.value), (0x99, &b"z"[..]));
    assert_prefix_monotone(&wire);
}

#[test]
fn tlvs_are_written_and_a_crc32c_is_computed_over_the_result() {
    let header = ProxyHeader::tcp(socket("[2001:db8::1]:5000"), socket("[2001:db8::2]:443"))
        .with_tlv(0x01, b"h2")
        .and_then(|header| header.with_tlv(0x03, &[0xff; 4]))
        .and_then(|header| header.with_tlv(0x05, b"id-1"))
        .expect("within the bound");
    let wire = header.encode_v2();
    assert_eq!(wire.len(), 16 + 36 + 5 + 7 + 7);
    let ProxyParse::Complete {
        header: read,
        length,
    } = parse_proxy_header(&wire)
    else {
        panic!("its own encoding");
    };
    assert_eq!(length, wire.len());
    assert_eq!(
        (read.alpn(), read.unique_id()),
        (Some(&b"h2"[..]), Some(&b"id-1"[..]))
    );
    // The CRC32C written is the one the parser checks; the header re-encodes
    // byte for byte.
    assert_eq!(read.encode_v2(), wire);
    let mut corrupt = wire.clone();
    corrupt[60] ^= 0x80;
    assert_eq!(
        parse_proxy_header(&corrupt),
        malformed(ErrorKind::V2BadChecksum)
    );

    // The bound: a header may take PROXY_V2_MAX_HEADER_BYTES, not one more.
    let base = ProxyHeader::tcp(socket("1.1.1.1:1"), socket("2.2.2.2:2"));
    let room = PROXY_V2_MAX_HEADER_BYTES - 28 - 3;
    let full = base
        .clone()
        .with_tlv(0xe0, &vec![0; room])
        .expect("exactly full");
    assert_eq!(full.encode_v2().len(), PROXY_V2_MAX_HEADER_BYTES);
    assert!(base.with_tlv(0xe0, &vec![0; room + 1]).is_none());
}
