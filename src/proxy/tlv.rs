//! PROXY v2 TLVs (spec section 2.2.1 onwards): what a load balancer adds
//! after the addresses (the ALPN and authority it saw, a unique ID, the
//! TLS it terminated, cloud endpoint IDs), kept on the header as read and
//! served by type; and the CRC32C checksum that covers the whole header,
//! verified when present.
//!
//! ```
//! use connmux::{parse_proxy_header, ProxyParse};
//!
//! // A v2 header (TCP over IPv4) with an AUTHORITY and an ALPN TLV.
//! let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x1f".to_vec();
//! header.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2, 0x1f, 0x90, 0x01, 0xbb]);
//! header.extend_from_slice(b"\x02\x00\x0bexample.com\x01\x00\x02h2");
//! let ProxyParse::Complete { header, .. } = parse_proxy_header(&header) else {
//!     panic!("a whole header");
//! };
//! assert_eq!(header.authority(), Some("example.com"));
//! assert_eq!(header.alpn(), Some(&b"h2"[..]));
//! assert_eq!(header.tlvs().count(), 2);
//! ```

use crate::proxy::header::ProxyHeader;
use crate::proxy::wire::{kind, next_tlv};

/// One TLV of a PROXY v2 header: its type and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyTlv<'a> {
    /// The type byte (`0x01` ALPN, `0x02` AUTHORITY, ...).
    pub kind: u8,
    /// The value, as sent.
    pub value: &'a [u8],
}

impl ProxyTlv<'_> {
    /// The application protocol the client chose or offered (ALPN).
    pub const ALPN: u8 = kind::ALPN;
    /// The host name the client asked for (TLS SNI, HTTP Host).
    pub const AUTHORITY: u8 = kind::AUTHORITY;
    /// The CRC32C checksum of the whole header: give it four bytes of any
    /// value, and [`ProxyHeader::encode_v2`] computes them.
    pub const CRC32C: u8 = kind::CRC32C;
    /// Padding, to be ignored.
    pub const NOOP: u8 = kind::NOOP;
    /// An opaque ID of the connection, at most 128 bytes.
    pub const UNIQUE_ID: u8 = kind::UNIQUE_ID;
    /// The TLS the proxy terminated, with its sub-TLVs: see
    /// [`ProxyHeader::ssl`].
    pub const SSL: u8 = kind::SSL;
    /// The network namespace the proxy accepted the connection in.
    pub const NETNS: u8 = kind::NETNS;
    /// The most bytes a [`UNIQUE_ID`](Self::UNIQUE_ID) value may have
    /// (spec section 2.2.5).
    pub const UNIQUE_ID_MAX_BYTES: usize = 128;
}

/// The TLVs of a header, in the order sent: see [`ProxyHeader::tlvs`].
#[derive(Debug, Clone)]
pub struct ProxyTlvs<'a> {
    rest: &'a [u8],
}

impl<'a> ProxyTlvs<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        ProxyTlvs { rest: bytes }
    }
}

impl<'a> Iterator for ProxyTlvs<'a> {
    type Item = ProxyTlv<'a>;

    /// The next TLV; the bytes were checked when parsed, and a TLV that
    /// does not fit ends the walk.
    fn next(&mut self) -> Option<ProxyTlv<'a>> {
        let Some((kind, value, rest)) = next_tlv(self.rest) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest;
        Some(ProxyTlv { kind, value })
    }
}

/// The TLS the proxy terminated, from the SSL TLV (spec section 2.2.5):
/// see [`ProxyHeader::ssl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxySsl<'a> {
    client: u8,
    verify: u32,
    sub_tlvs: &'a [u8],
}

impl<'a> ProxySsl<'a> {
    /// Whether the client connected over TLS (`PP2_CLIENT_SSL`).
    pub fn client_ssl(&self) -> bool {
        self.client & 0x01 != 0
    }

    /// Whether the client presented a certificate, on this connection
    /// (`PP2_CLIENT_CERT_CONN`) or an earlier one of its session
    /// (`PP2_CLIENT_CERT_SESS`).
    pub fn client_cert(&self) -> bool {
        self.client & 0x06 != 0
    }

    /// Whether the client's certificate was verified: `verify` is zero.
    pub fn verified(&self) -> bool {
        self.verify == 0
    }

    /// The TLS version, such as `TLSv1.3`.
    pub fn version(&self) -> Option<&'a str> {
        self.text(kind::SSL_VERSION)
    }

    /// The common name of the client certificate's subject.
    pub fn cn(&self) -> Option<&'a str> {
        self.text(kind::SSL_CN)
    }

    /// The cipher, such as `ECDHE-RSA-AES128-GCM-SHA256`.
    pub fn cipher(&self) -> Option<&'a str> {
        self.text(kind::SSL_CIPHER)
    }

    /// The algorithm the certificate was signed with, such as `SHA256`.
    pub fn sig_alg(&self) -> Option<&'a str> {
        self.text(kind::SSL_SIG_ALG)
    }

    /// The algorithm of the certificate's key, such as `RSA2048`.
    pub fn key_alg(&self) -> Option<&'a str> {
        self.text(kind::SSL_KEY_ALG)
    }

    /// Every sub-TLV, in the order sent.
    pub fn sub_tlvs(&self) -> ProxyTlvs<'a> {
        ProxyTlvs::new(self.sub_tlvs)
    }

    fn text(&self, wanted: u8) -> Option<&'a str> {
        let tlv = self.sub_tlvs().find(|tlv| tlv.kind == wanted)?;
        std::str::from_utf8(tlv.value).ok()
    }
}

/// What a v2 header's TLVs say, by type.
impl ProxyHeader {
    /// Every TLV the header carried, in the order sent (none for v1, and
    /// for headers built here). Unknown types are kept as they came.
    pub fn tlvs(&self) -> ProxyTlvs<'_> {
        ProxyTlvs::new(&self.tlvs)
    }

    /// The first TLV of `kind`'s value.
    fn tlv(&self, kind: u8) -> Option<&[u8]> {
        self.tlvs()
            .find(|tlv| tlv.kind == kind)
            .map(|tlv| tlv.value)
    }

    /// The application protocol the proxy negotiated with the client
    /// (ALPN, `PP2_TYPE_ALPN`), such as `h2`.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.tlv(kind::ALPN)
    }

    /// The host name the client asked the proxy for (its TLS SNI or HTTP
    /// Host, `PP2_TYPE_AUTHORITY`), if it is UTF-8 as the spec requires.
    pub fn authority(&self) -> Option<&str> {
        std::str::from_utf8(self.tlv(kind::AUTHORITY)?).ok()
    }

    /// The proxy's unique ID for the connection (`PP2_TYPE_UNIQUE_ID`,
    /// at most 128 bytes).
    pub fn unique_id(&self) -> Option<&[u8]> {
        self.tlv(kind::UNIQUE_ID)
    }

    /// The TLS the proxy terminated (`PP2_TYPE_SSL`), if it said.
    pub fn ssl(&self) -> Option<ProxySsl<'_>> {
        let value = self.tlv(kind::SSL)?;
        let [client, v0, v1, v2, v3, sub_tlvs @ ..] = value else {
            return None;
        };
        Some(ProxySsl {
            client: *client,
            verify: u32::from_be_bytes([*v0, *v1, *v2, *v3]),
            sub_tlvs,
        })
    }

    /// The network namespace the connection came from
    /// (`PP2_TYPE_NETNS`).
    pub fn netns(&self) -> Option<&str> {
        std::str::from_utf8(self.tlv(kind::NETNS)?).ok()
    }

    /// The AWS VPC endpoint ID (`PP2_TYPE_AWS`, subtype
    /// `PP2_SUBTYPE_AWS_VPCE_ID`), if it is text.
    pub fn aws_vpce_id(&self) -> Option<&str> {
        std::str::from_utf8(self.cloud(kind::AWS, 0x01)?).ok()
    }

    /// The Azure private endpoint LinkID (`PP2_TYPE_AZURE`, subtype
    /// `PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID`), its bytes as sent.
    pub fn azure_link_id(&self) -> Option<&[u8]> {
        self.cloud(kind::AZURE, 0x01)
    }

    /// The Google Cloud Private Service Connect connection ID
    /// (`PP2_TYPE_GCP`), its bytes as sent.
    pub fn gcp_psc_id(&self) -> Option<&[u8]> {
        self.tlv(kind::GCP)
    }

    /// The value of a cloud TLV of `kind` whose first byte is `subtype`,
    /// after that byte.
    fn cloud(&self, kind: u8, subtype: u8) -> Option<&[u8]> {
        let value = self.tlv(kind)?;
        let (&first, rest) = value.split_first()?;
        (first == subtype).then_some(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlvs_walk_in_order_and_stop_at_a_short_one() {
        let bytes = b"\x01\x00\x02h2\x04\x00\x00\xEE\x00\x05\x01\x04\x03\x02\x01";
        let kinds: Vec<u8> = ProxyTlvs::new(bytes).map(|tlv| tlv.kind).collect();
        assert_eq!(kinds, [kind::ALPN, 0x04, kind::AZURE]);
        assert_eq!(ProxyTlvs::new(b"\x01\x00\x05h2").count(), 0);
    }
}
