//! TLS ClientHello detection with a version filter (RFC 8446 sections 4.1.2
//! and 5.1; RFC 5246 for TLS 1.2 and earlier).
//!
//! Wire format read here:
//!
//! ```text
//! record:       type=22 (handshake) | version 3.x | length u16 (1..=2^14) | fragment
//! handshake:    type=1 (client_hello) | length u24 | body
//! client_hello: legacy_version u16 | random [32] | session_id <0..32>
//!               | cipher_suites <2..2^16-2> | compression_methods <1..2^8-1>
//!               | extensions <0..2^16-1>   (supported_versions is type 43)
//! ```
//!
//! The handshake message may be split across several records; the reader
//! below walks the fragments as one byte stream without copying them.

use std::fmt;
use std::ops::RangeInclusive;

use crate::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

const CONTENT_TYPE_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXTENSION_SUPPORTED_VERSIONS: u16 = 43;
/// RFC 8446 section 5.1: a plaintext fragment is at most 2^14 bytes.
const MAX_FRAGMENT_LENGTH: u16 = 1 << 14;
/// The smallest ClientHello body: version, random, empty session id, one
/// cipher suite, one compression method, no extensions.
const MIN_CLIENT_HELLO_LENGTH: usize = 2 + 32 + 1 + 2 + 2 + 1 + 1;

/// A TLS (or SSL 3.0) protocol version as it appears on the wire.
///
/// ```
/// use connmux::matchers::TlsVersion;
///
/// assert_eq!(TlsVersion::TLS1_3.to_string(), "TLS 1.3");
/// assert_eq!(TlsVersion::from_wire(0x0303), TlsVersion::TLS1_2);
/// assert!(TlsVersion::TLS1_0 < TlsVersion::TLS1_2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TlsVersion(u16);

impl TlsVersion {
    /// SSL 3.0 (0x0300).
    pub const SSL3_0: TlsVersion = TlsVersion(0x0300);
    /// TLS 1.0 (0x0301).
    pub const TLS1_0: TlsVersion = TlsVersion(0x0301);
    /// TLS 1.1 (0x0302).
    pub const TLS1_1: TlsVersion = TlsVersion(0x0302);
    /// TLS 1.2 (0x0303).
    pub const TLS1_2: TlsVersion = TlsVersion(0x0303);
    /// TLS 1.3 (0x0304).
    pub const TLS1_3: TlsVersion = TlsVersion(0x0304);

    /// The version with this two-byte wire code.
    pub const fn from_wire(code: u16) -> TlsVersion {
        TlsVersion(code)
    }

    /// The two-byte wire code of this version.
    pub const fn wire(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0x0300 => f.write_str("SSL 3.0"),
            0x0301..=0x0309 => write!(f, "TLS 1.{}", self.0 - 0x0301),
            code => write!(f, "TLS version 0x{code:04x}"),
        }
    }
}

/// Matches a TLS ClientHello, optionally only one offering certain
/// versions; see [`tls`] and [`tls_versions`].
#[derive(Debug, Clone)]
pub struct Tls {
    versions: Option<RangeInclusive<TlsVersion>>,
}

/// A matcher for any TLS or SSL 3.0 ClientHello.
///
/// It checks the record header, the handshake type and the ClientHello's
/// legacy version, so it decides after 11 bytes (cmux's `TLS()`).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tls;
///
/// let hello_start = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03];
/// assert_eq!(tls().verdict(&hello_start), Verdict::Match);
/// assert_eq!(tls().verdict(&hello_start[..4]), Verdict::NeedMore);
/// assert_eq!(tls().verdict(b"GET / HTTP/1.1"), Verdict::NoMatch);
/// ```
pub fn tls() -> Tls {
    Tls { versions: None }
}

/// A matcher for a TLS ClientHello that offers at least one version in
/// `versions`.
///
/// The versions a client offers are those of its `supported_versions`
/// extension (RFC 8446 section 4.2.1) when present, so a TLS 1.3 client is
/// recognised as one even though its legacy version field says TLS 1.2;
/// without the extension they are every version up to the legacy version.
/// Deciding may need the whole ClientHello (usually 200 to 2,000 bytes).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::{tls_versions, TlsVersion};
///
/// // A TLS 1.2-only ClientHello: legacy version 3.3, no extensions.
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 45, 0x01, 0x00, 0x00, 41, 0x03, 0x03];
/// hello.extend([0u8; 32]); // random
/// hello.extend([0x00, 0x00, 0x02, 0x00, 0x2f, 0x01, 0x00]); // no session id, one suite, null compression
/// assert_eq!(tls_versions(TlsVersion::TLS1_2..=TlsVersion::TLS1_3).verdict(&hello), Verdict::Match);
/// assert_eq!(tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3).verdict(&hello), Verdict::NoMatch);
/// ```
pub fn tls_versions(versions: RangeInclusive<TlsVersion>) -> Tls {
    Tls {
        versions: Some(versions),
    }
}

/// The highest version a complete ClientHello offers, or `None` when
/// `seen` does not start with a whole, well-formed ClientHello.
///
/// ```
/// use connmux::matchers::{client_hello_version, TlsVersion};
///
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 45, 0x01, 0x00, 0x00, 41, 0x03, 0x02];
/// hello.extend([0u8; 32]);
/// hello.extend([0x00, 0x00, 0x02, 0x00, 0x2f, 0x01, 0x00]);
/// assert_eq!(client_hello_version(&hello), Some(TlsVersion::TLS1_1));
/// assert_eq!(client_hello_version(&hello[..20]), None);
/// ```
pub fn client_hello_version(seen: &[u8]) -> Option<TlsVersion> {
    offered_versions(seen, false).ok()?.highest()
}

impl Matcher for Tls {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match &self.versions {
            None => match offered_versions(seen, true) {
                Ok(_) => Verdict::Match,
                Err(stop) => stop.into(),
            },
            Some(range) => match offered_versions(seen, false) {
                Ok(offer) => Verdict::from_bool(offer.intersects(range)),
                Err(stop) => stop.into(),
            },
        }
    }
}

/// The set of SSL/TLS versions 3.x a client offers, one bit per minor
/// version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct OfferedVersions {
    minor_bits: [u64; 4],
}

impl OfferedVersions {
    fn offer(&mut self, code: u16) {
        let [major, minor] = code.to_be_bytes();
        if major == 3 {
            self.minor_bits[usize::from(minor / 64)] |= 1 << (minor % 64);
        }
    }

    /// Every version from SSL 3.0 up to `legacy`: what a client without the
    /// `supported_versions` extension can negotiate.
    fn up_to(legacy: u16) -> OfferedVersions {
        let mut offer = OfferedVersions::default();
        for code in 0x0300..=legacy {
            offer.offer(code);
        }
        offer
    }

    fn contains(&self, code: u16) -> bool {
        let [major, minor] = code.to_be_bytes();
        major == 3 && self.minor_bits[usize::from(minor / 64)] & (1 << (minor % 64)) != 0
    }

    fn intersects(&self, range: &RangeInclusive<TlsVersion>) -> bool {
        (range.start().0..=range.end().0).any(|code| self.contains(code))
    }

    fn highest(&self) -> Option<TlsVersion> {
        (0x0300..=0x03ffu16)
            .rev()
            .find(|&code| self.contains(code))
            .map(TlsVersion)
    }
}

/// Parses the ClientHello at the start of `seen` far enough to know which
/// versions it offers; with `legacy_only`, stops after the legacy version.
fn offered_versions(seen: &[u8], legacy_only: bool) -> Result<OfferedVersions, Stop> {
    let mut hello = HandshakeReader::new(seen);
    require(hello.u8()? == HANDSHAKE_CLIENT_HELLO)?;
    let body_length = hello.u24()?;
    require(body_length >= MIN_CLIENT_HELLO_LENGTH)?;
    hello.limit_message(body_length);
    require(hello.u8()? == 3)?;
    let legacy_version = u16::from_be_bytes([3, hello.u8()?]);
    if legacy_only {
        return Ok(OfferedVersions::up_to(legacy_version));
    }
    hello.skip(32)?;
    let session_id_length = hello.u8()?;
    require(session_id_length <= 32)?;
    hello.skip(usize::from(session_id_length))?;
    let cipher_suites_length = hello.u16()?;
    require(cipher_suites_length >= 2 && cipher_suites_length % 2 == 0)?;
    hello.skip(usize::from(cipher_suites_length))?;
    let compression_methods_length = hello.u8()?;
    require(compression_methods_length >= 1)?;
    hello.skip(usize::from(compression_methods_length))?;
    if hello.message_left() == 0 {
        return Ok(OfferedVersions::up_to(legacy_version));
    }
    let mut extensions_left = usize::from(hello.u16()?);
    require(extensions_left <= hello.message_left())?;
    while extensions_left > 0 {
        require(extensions_left >= 4)?;
        let extension_type = hello.u16()?;
        let extension_length = usize::from(hello.u16()?);
        require(extension_length <= extensions_left - 4)?;
        extensions_left -= 4 + extension_length;
        if extension_type != EXTENSION_SUPPORTED_VERSIONS {
            hello.skip(extension_length)?;
            continue;
        }
        let list_length = usize::from(hello.u8()?);
        require(list_length >= 2 && list_length % 2 == 0 && list_length + 1 == extension_length)?;
        let mut offer = OfferedVersions::default();
        for _ in 0..list_length / 2 {
            offer.offer(hello.u16()?);
        }
        return Ok(offer);
    }
    Ok(OfferedVersions::up_to(legacy_version))
}

/// Reads handshake bytes out of consecutive TLS handshake records, checking
/// each record header as it is reached and never reading past the current
/// handshake message.
struct HandshakeReader<'a> {
    records: Cursor<'a>,
    left_in_record: usize,
    left_in_message: usize,
}

impl<'a> HandshakeReader<'a> {
    fn new(seen: &'a [u8]) -> Self {
        HandshakeReader {
            records: Cursor::new(seen),
            left_in_record: 0,
            left_in_message: usize::MAX,
        }
    }

    /// Bounds further reads to the `length` bytes of the message body.
    fn limit_message(&mut self, length: usize) {
        self.left_in_message = length;
    }

    fn message_left(&self) -> usize {
        self.left_in_message
    }

    fn next_record(&mut self) -> Result<(), Stop> {
        require(self.records.u8()? == CONTENT_TYPE_HANDSHAKE)?;
        require(self.records.u8()? == 3)?;
        require(self.records.u8()? <= 4)?;
        let length = self.records.u16()?;
        require((1..=MAX_FRAGMENT_LENGTH).contains(&length))?;
        self.left_in_record = usize::from(length);
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, Stop> {
        require(self.left_in_message >= 1)?;
        while self.left_in_record == 0 {
            self.next_record()?;
        }
        let byte = self.records.u8()?;
        self.left_in_record -= 1;
        self.left_in_message -= 1;
        Ok(byte)
    }

    fn u16(&mut self) -> Result<u16, Stop> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn u24(&mut self) -> Result<usize, Stop> {
        let [high, middle, low] = [self.u8()?, self.u8()?, self.u8()?];
        Ok(usize::from(high) << 16 | usize::from(middle) << 8 | usize::from(low))
    }

    fn skip(&mut self, mut count: usize) -> Result<(), Stop> {
        require(count <= self.left_in_message)?;
        while count > 0 {
            while self.left_in_record == 0 {
                self.next_record()?;
            }
            let step = count.min(self.left_in_record);
            self.records.skip(step)?;
            self.left_in_record -= step;
            self.left_in_message -= step;
            count -= step;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Match, NeedMore, NoMatch};

    /// A ClientHello body with the given legacy version and extensions.
    fn client_hello_body(legacy: u16, extensions: Option<&[u8]>) -> Vec<u8> {
        let mut body = legacy.to_be_bytes().to_vec();
        body.extend([0x5a; 32]);
        body.extend([0x20]);
        body.extend([0x11; 32]);
        body.extend([0x00, 0x04, 0x13, 0x01, 0x13, 0x02]);
        body.extend([0x01, 0x00]);
        if let Some(extensions) = extensions {
            body.extend((extensions.len() as u16).to_be_bytes());
            body.extend(extensions);
        }
        body
    }

    /// Wraps a handshake body into a ClientHello split into records of at
    /// most `fragment` bytes.
    fn records(body: &[u8], fragment: usize) -> Vec<u8> {
        let mut message = vec![HANDSHAKE_CLIENT_HELLO];
        message.extend(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend(body);
        let mut wire = Vec::new();
        for chunk in message.chunks(fragment) {
            wire.extend([CONTENT_TYPE_HANDSHAKE, 0x03, 0x01]);
            wire.extend((chunk.len() as u16).to_be_bytes());
            wire.extend(chunk);
        }
        wire
    }

    /// Extensions: a server_name, then supported_versions with GREASE,
    /// TLS 1.3 and TLS 1.2.
    const TLS13_EXTENSIONS: &[u8] = &[
        0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, b'l', b'o', b'c', b'a', b'l', b'h',
        b'o', b's', b't', // server_name "localhost"
        0x00, 0x2b, 0x00, 0x07, 0x06, 0x7a, 0x7a, 0x03, 0x04, 0x03,
        0x03, // supported_versions
    ];

    #[test]
    fn any_version_decides_at_legacy_version() {
        let wire = records(&client_hello_body(0x0303, None), 1000);
        assert_eq!(tls().verdict(&wire[..10]), NeedMore);
        assert_eq!(tls().verdict(&wire[..11]), Match);
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (&[0x16], NeedMore),
            (&[0x17], NoMatch),
            (&[0x16, 0x02], NoMatch),
            (&[0x16, 0x03, 0x05], NoMatch),
            (&[0x16, 0x03, 0x01, 0x00, 0x00], NoMatch),
            (&[0x16, 0x03, 0x01, 0x40, 0x01], NoMatch),
            (&[0x16, 0x03, 0x01, 0x00, 0x30, 0x02], NoMatch),
            (
                &[0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x05],
                NoMatch,
            ),
            (
                &[0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c, 0x02],
                NoMatch,
            ),
            (&[0x05, 0x01, 0x00], NoMatch),
        ];
        for (seen, want) in cases {
            assert_eq!(tls().verdict(seen), *want, "{seen:02x?}");
        }
    }

    #[test]
    fn tls13_is_recognised_by_supported_versions() {
        let wire = records(&client_hello_body(0x0303, Some(TLS13_EXTENSIONS)), 1000);
        let only_13 = tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
        let only_10 = tls_versions(TlsVersion::TLS1_0..=TlsVersion::TLS1_0);
        assert_eq!(only_13.verdict(&wire), Match);
        assert_eq!(only_10.verdict(&wire), NoMatch);
        assert_eq!(only_13.verdict(&wire[..wire.len() - 1]), NeedMore);
        assert_eq!(client_hello_version(&wire), Some(TlsVersion::TLS1_3));
    }

    #[test]
    fn legacy_clients_offer_every_version_up_to_theirs() {
        let wire = records(&client_hello_body(0x0302, None), 1000);
        let from_12 = tls_versions(TlsVersion::TLS1_2..=TlsVersion::TLS1_3);
        let only_10 = tls_versions(TlsVersion::TLS1_0..=TlsVersion::TLS1_0);
        assert_eq!(from_12.verdict(&wire), NoMatch);
        assert_eq!(only_10.verdict(&wire), Match);
        assert_eq!(client_hello_version(&wire), Some(TlsVersion::TLS1_1));
    }

    #[test]
    fn split_records_read_as_one_message() {
        let body = client_hello_body(0x0303, Some(TLS13_EXTENSIONS));
        let whole = records(&body, 1000);
        let only_13 = tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
        for fragment in [1, 2, 3, 7, 50] {
            let split = records(&body, fragment);
            assert_eq!(only_13.verdict(&split), Match, "fragment {fragment}");
            assert_eq!(client_hello_version(&split), client_hello_version(&whole));
        }
    }

    #[test]
    fn inconsistent_lengths_are_no_match() {
        let mut body = client_hello_body(0x0303, Some(TLS13_EXTENSIONS));
        let only_13 = tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
        // Extension block longer than the message.
        let ext_len_at = body.len() - TLS13_EXTENSIONS.len() - 2;
        body[ext_len_at + 1] = 0xff;
        assert_eq!(only_13.verdict(&records(&body, 1000)), NoMatch);
        // Session id longer than 32.
        let mut body = client_hello_body(0x0303, None);
        body[34] = 33;
        assert_eq!(only_13.verdict(&records(&body, 1000)), NoMatch);
        // A non-handshake record in the middle of the message.
        let mut wire = records(&client_hello_body(0x0303, None), 20);
        wire[25] = 0x17;
        assert_eq!(only_13.verdict(&wire), NoMatch);
    }

    #[test]
    fn version_names() {
        assert_eq!(TlsVersion::SSL3_0.to_string(), "SSL 3.0");
        assert_eq!(TlsVersion::TLS1_0.to_string(), "TLS 1.0");
        assert_eq!(
            TlsVersion::from_wire(0x7a7a).to_string(),
            "TLS version 0x7a7a"
        );
        assert_eq!(TlsVersion::TLS1_2.wire(), 0x0303);
    }
}
