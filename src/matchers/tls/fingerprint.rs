//! A ClientHello as TLS fingerprints read it: the code points the client
//! offers, each list in the client's order ([`client_hello_fingerprint`]),
//! from which JA3 (`ja3.rs`) and JA4 (`ja4.rs`) are computed and matched.
//!
//! The fields come from the same walk over the records as the matchers'
//! (`tls.rs`), one level deeper: each cipher suite and extension type, and
//! the bodies of four more extensions, which must then be well formed:
//!
//! ```text
//! supported_groups (10):     named_group_list <2..2^16-1> of u16      (RFC 8446 4.2.7, RFC 8422 5.1.1)
//! ec_point_formats (11):     ec_point_format_list <1..2^8-1> of u8    (RFC 8422 5.1.2)
//! signature_algorithms (13): supported_signature_algorithms <2..2^16-2> of u16  (RFC 8446 4.2.3)
//! key_share (51):            client_shares <0..2^16-1> of
//!                              group u16 | key_exchange <1..2^16-1>   (RFC 8446 4.2.8)
//! ```
//!
//! GREASE values (RFC 8701), which clients such as Chrome put at random
//! places of these lists on every connection, are kept where they were
//! sent; [`is_grease`] tells them apart, and the fingerprints leave them
//! out.

use std::convert::Infallible;
use std::ops::ControlFlow;

use super::{walk_client_hello, Depth, HelloPart, TlsVersion, EXTENSION_SERVER_NAME};
use crate::matcher::cursor::{Cursor, Stop};
use crate::matcher::Verdict;

/// The lists a ClientHello offers, as fingerprints read them; see
/// [`client_hello_fingerprint`].
///
/// Every list is in the client's order, GREASE values included (filter
/// them with [`is_grease`]); a list whose extension was not sent is empty.
/// [`ja3`](Self::ja3) and [`ja4`](Self::ja4) compute the fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientHelloFingerprint {
    /// The version of the first record's header: TLS 1.0 for most clients,
    /// whatever they offer (RFC 8446 section 5.1).
    pub record_version: TlsVersion,
    /// The ClientHello's legacy_version field: TLS 1.2 for TLS 1.3 clients,
    /// which list what they offer in
    /// [`supported_versions`](Self::supported_versions).
    pub legacy_version: TlsVersion,
    /// The cipher suites.
    pub cipher_suites: Vec<u16>,
    /// The extension types, in wire order.
    pub extensions: Vec<u16>,
    /// The supported_groups extension (type 10): key exchange groups and
    /// curves, such as x25519 (0x001d).
    pub supported_groups: Vec<u16>,
    /// The ec_point_formats extension (type 11): 0 for uncompressed.
    pub ec_point_formats: Vec<u8>,
    /// The signature_algorithms extension (type 13), such as
    /// ecdsa_secp256r1_sha256 (0x0403).
    pub signature_algorithms: Vec<u16>,
    /// The group of each key share the client sent (key_share, type 51).
    pub key_share_groups: Vec<u16>,
    /// The supported_versions extension (type 43), such as TLS 1.3
    /// (0x0304).
    pub supported_versions: Vec<u16>,
    /// The ALPN protocol names (type 16), byte for byte.
    pub alpn: Vec<Vec<u8>>,
}

/// Whether `code` is a GREASE value (RFC 8701 section 2): one of 0x0a0a,
/// 0x1a1a, ... 0xfafa, which clients send as cipher suites, extension
/// types, groups, signature algorithms and versions that no server knows,
/// to keep servers from choking on unknown values.
///
/// ```
/// use connmux::matchers::is_grease;
///
/// assert!(is_grease(0x0a0a) && is_grease(0x7a7a) && is_grease(0xfafa));
/// assert!(!is_grease(0x1301) && !is_grease(0x0a1a) && !is_grease(0x0b0b));
/// let cipher_suites = [0x2a2a, 0x1301, 0x1302];
/// let real: Vec<u16> = cipher_suites.into_iter().filter(|&code| !is_grease(code)).collect();
/// assert_eq!(real, [0x1301, 0x1302]);
/// ```
pub fn is_grease(code: u16) -> bool {
    let [high, low] = code.to_be_bytes();
    high == low && low & 0x0f == 0x0a
}

/// The lists a complete ClientHello offers, or `None` when `seen` does not
/// start with a whole, well-formed one (within
/// [`TLS_MAX_CLIENT_HELLO_BYTES`](super::TLS_MAX_CLIENT_HELLO_BYTES)),
/// whose record layer may split it anywhere.
///
/// Besides what [`client_hello_info`](super::client_hello_info) checks,
/// the supported_groups, ec_point_formats, signature_algorithms and
/// key_share extensions must be well formed and sent once each.
///
/// ```
/// use connmux::matchers::{client_hello_fingerprint, TlsVersion};
///
/// // A TLS 1.3 ClientHello for "example.com": two cipher suites, then a
/// // GREASE extension, server_name, supported_groups (x25519),
/// // signature_algorithms (ecdsa_secp256r1_sha256), ALPN "h2" and
/// // supported_versions (TLS 1.3).
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 105, 0x01, 0x00, 0x00, 101, 0x03, 0x03];
/// hello.extend([0u8; 32]); // random
/// hello.extend([0x00, 0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f, 0x01, 0x00]); // no session id, two suites, null compression
/// hello.extend([0x00, 56]); // extensions
/// hello.extend([0x0a, 0x0a, 0x00, 0x00]);
/// hello.extend([0x00, 0x00, 0x00, 16, 0x00, 14, 0x00, 0x00, 11]);
/// hello.extend(b"example.com");
/// hello.extend([0x00, 10, 0x00, 4, 0x00, 2, 0x00, 0x1d]);
/// hello.extend([0x00, 13, 0x00, 4, 0x00, 2, 0x04, 0x03]);
/// hello.extend([0x00, 16, 0x00, 5, 0x00, 3, 2]);
/// hello.extend(b"h2");
/// hello.extend([0x00, 43, 0x00, 3, 2, 0x03, 0x04]);
///
/// let fingerprint = client_hello_fingerprint(&hello).unwrap();
/// assert_eq!(fingerprint.legacy_version, TlsVersion::TLS1_2);
/// assert_eq!(fingerprint.cipher_suites, [0x1301, 0xc02f]);
/// assert_eq!(fingerprint.extensions, [0x0a0a, 0, 10, 13, 16, 43]);
/// assert_eq!(fingerprint.supported_groups, [0x001d]);
/// assert_eq!(fingerprint.signature_algorithms, [0x0403]);
/// assert_eq!(fingerprint.supported_versions, [0x0304]);
/// assert_eq!(fingerprint.alpn, [b"h2"]);
/// assert_eq!(fingerprint.ja4(), "t13d0205h2_c1929292aa6b_9a0586ea5dd0");
/// assert_eq!(client_hello_fingerprint(&hello[..hello.len() - 1]), None);
/// ```
pub fn client_hello_fingerprint(seen: &[u8]) -> Option<ClientHelloFingerprint> {
    complete_fingerprint(seen).ok()
}

impl ClientHelloFingerprint {
    /// Whether the client sent a server_name extension (SNI), as JA4's
    /// `d` (a domain) or `i` (an IP address) tells; the name itself is in
    /// [`client_hello_info`](super::client_hello_info).
    ///
    /// ```
    /// use connmux::matchers::client_hello_fingerprint;
    ///
    /// // A ClientHello whose only extension is server_name "a.example.com".
    /// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 69, 0x01, 0x00, 0x00, 65, 0x03, 0x03];
    /// hello.extend([0u8; 32]);
    /// hello.extend([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    /// hello.extend([0x00, 22, 0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
    /// hello.extend(b"a.example.com");
    ///
    /// assert!(client_hello_fingerprint(&hello).unwrap().has_server_name());
    /// ```
    pub fn has_server_name(&self) -> bool {
        self.extensions.contains(&EXTENSION_SERVER_NAME)
    }

    /// A fingerprint with these versions and every list empty, for a
    /// walk to fill.
    pub(super) fn empty(
        record_version: TlsVersion,
        legacy_version: TlsVersion,
    ) -> ClientHelloFingerprint {
        ClientHelloFingerprint {
            record_version,
            legacy_version,
            cipher_suites: Vec::new(),
            extensions: Vec::new(),
            supported_groups: Vec::new(),
            ec_point_formats: Vec::new(),
            signature_algorithms: Vec::new(),
            key_share_groups: Vec::new(),
            supported_versions: Vec::new(),
            alpn: Vec::new(),
        }
    }

    fn record(&mut self, part: HelloPart<'_>) {
        match part {
            HelloPart::LegacyVersion(code) => self.legacy_version = TlsVersion::from_wire(code),
            HelloPart::CipherSuite(code) => self.cipher_suites.push(code),
            HelloPart::ExtensionType(code) => self.extensions.push(code),
            HelloPart::SupportedGroup(code) => self.supported_groups.push(code),
            HelloPart::PointFormat(format) => self.ec_point_formats.push(format),
            HelloPart::SignatureAlgorithm(code) => self.signature_algorithms.push(code),
            HelloPart::KeyShareGroup(group) => self.key_share_groups.push(group),
            HelloPart::SupportedVersion(code) => self.supported_versions.push(code),
            HelloPart::AlpnProtocol(name) => self.alpn.push(name.to_vec()),
            HelloPart::SupportedVersions(_) | HelloPart::ServerName(_) | HelloPart::AlpnEnd => {}
        }
    }
}

/// The fingerprint of the complete ClientHello at the start of `seen`:
/// `Stop::Short` while it is incomplete, `Stop::Invalid` from its first
/// invalid byte.
fn complete_fingerprint(seen: &[u8]) -> Result<ClientHelloFingerprint, Stop> {
    // A first walk that keeps nothing, so that nothing is allocated before
    // the whole ClientHello is in.
    let ControlFlow::Continue(()) = walk_client_hello(seen, Depth::Fingerprint, |_| {
        ControlFlow::<Infallible>::Continue(())
    })?;
    let mut record_header = Cursor::new(seen);
    record_header.skip(1)?;
    let mut fingerprint = ClientHelloFingerprint::empty(
        TlsVersion::from_wire(record_header.u16()?),
        TlsVersion::from_wire(0),
    );
    let ControlFlow::Continue(()) = walk_client_hello(seen, Depth::Fingerprint, |part| {
        fingerprint.record(part);
        ControlFlow::<Infallible>::Continue(())
    })?;
    Ok(fingerprint)
}

/// The verdict of a matcher that accepts the ClientHellos whose
/// fingerprint passes `accept`: `NoMatch` from the first byte that cannot
/// start a valid ClientHello, `NeedMore` until the whole ClientHello is in.
pub(super) fn fingerprint_verdict(
    seen: &[u8],
    accept: impl FnOnce(&ClientHelloFingerprint) -> bool,
) -> Verdict {
    match complete_fingerprint(seen) {
        Ok(fingerprint) => Verdict::from_bool(accept(&fingerprint)),
        Err(stop) => stop.into(),
    }
}

/// The fingerprints a matcher accepts, sorted for a binary search.
#[derive(Debug, Clone)]
pub(super) struct FingerprintSet {
    sorted: Vec<Box<str>>,
}

impl FingerprintSet {
    pub(super) fn new(fingerprints: impl IntoIterator<Item = Box<str>>) -> FingerprintSet {
        let mut sorted: Vec<Box<str>> = fingerprints.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        FingerprintSet { sorted }
    }

    pub(super) fn contains(&self, fingerprint: &str) -> bool {
        self.sorted
            .binary_search_by(|listed| (**listed).cmp(fingerprint))
            .is_ok()
    }
}

#[cfg(test)]
mod clients;
#[cfg(test)]
mod tests;
