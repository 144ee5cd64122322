//! TLS ClientHello detection, with filters on the offered versions, the
//! server name (SNI) and the application protocols (ALPN), and the
//! extraction of those three for logging ([`client_hello_info`]); the
//! client's fingerprint, JA3 and JA4 ([`client_hello_fingerprint`],
//! [`tls_ja3`], [`tls_ja4`]), comes from the files under `tls/`.
//!
//! Wire format read here (RFC 8446 sections 4.1.2, 4.2 and 5.1; RFC 5246
//! for TLS 1.2 and earlier; RFC 6066 section 3; RFC 7301 section 3.1), where
//! `<a..b>` is a vector whose length prefix is just wide enough for `b`:
//!
//! ```text
//! record:       type=22 (handshake) | version 3.x | length u16 (1..=2^14) | fragment
//! handshake:    type=1 (client_hello) | length u24 | body
//! client_hello: legacy_version u16 | random [32] | session_id <0..32>
//!               | cipher_suites <2..2^16-2> | compression_methods <1..2^8-1>
//!               | extensions <0..2^16-1>   (may be absent before TLS 1.3)
//! extension:    type u16 | extension_data <0..2^16-1>
//!
//! server_name (type 0):       server_name_list <1..2^16-1> of
//!                               name_type u8 | name <1..2^16-1>   (host_name is name_type 0)
//! application_layer_protocol_negotiation (type 16):
//!                             protocol_name_list <2..2^16-1> of protocol_name <1..2^8-1>
//! supported_versions (type 43): versions <2..254> of u16
//! ```
//!
//! The handshake message may be split across several records: one reader
//! walks the fragments as one byte stream without copying them, and one
//! walk over the ClientHello reports the legacy version and the three
//! extensions, in wire order, to whoever asks (the [`Tls`] matcher,
//! [`client_hello_version`], [`client_hello_info`]), so they share one
//! parser and agree on what is valid. A fingerprint walk (`Depth`) also
//! reports each cipher suite and extension type and reads four more
//! extensions (`tls/fingerprint.rs`); routing does not pay for it.
//!
//! Routes use [`Tls`] to send TLS connections, by version, server name or
//! application protocol, to the handler that terminates or forwards them;
//! a handler reads the same facts with [`client_hello_info`] from the bytes
//! the sniffer replays to it.

mod digest;
mod fingerprint;
mod ja3;
mod ja4;

use std::fmt;
use std::ops::{ControlFlow, RangeInclusive};

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

pub use fingerprint::{client_hello_fingerprint, is_grease, ClientHelloFingerprint};
pub use ja3::{tls_ja3, TlsJa3};
pub use ja4::{tls_ja4, TlsJa4};

const CONTENT_TYPE_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXTENSION_SERVER_NAME: u16 = 0;
const EXTENSION_SUPPORTED_GROUPS: u16 = 10;
const EXTENSION_EC_POINT_FORMATS: u16 = 11;
const EXTENSION_SIGNATURE_ALGORITHMS: u16 = 13;
const EXTENSION_ALPN: u16 = 16;
const EXTENSION_SUPPORTED_VERSIONS: u16 = 43;
const EXTENSION_KEY_SHARE: u16 = 51;
/// RFC 6066 section 3: the only name type defined.
const NAME_TYPE_HOST_NAME: u8 = 0;
/// RFC 8446 section 5.1: a plaintext fragment is at most 2^14 bytes.
const MAX_FRAGMENT_LENGTH: u16 = 1 << 14;
const RECORD_HEADER_LENGTH: usize = 5;
const HANDSHAKE_HEADER_LENGTH: usize = 4;
const RANDOM_LENGTH: usize = 32;
const MAX_SESSION_ID_LENGTH: u8 = 32;
/// The smallest ClientHello body: version, random, empty session id, one
/// cipher suite, one compression method, no extensions.
const MIN_CLIENT_HELLO_LENGTH: usize = 2 + RANDOM_LENGTH + 1 + 2 + 2 + 1 + 1;
/// The largest ClientHello body that fits, in one record, within
/// [`TLS_MAX_CLIENT_HELLO_BYTES`].
const MAX_CLIENT_HELLO_LENGTH: usize =
    TLS_MAX_CLIENT_HELLO_BYTES - RECORD_HEADER_LENGTH - HANDSHAKE_HEADER_LENGTH;
/// A DNS name is at most 255 octets (RFC 1035 section 2.3.4); a longer
/// host_name, which the wire allows, is held nowhere and matches nothing.
const MAX_HOST_NAME_LENGTH: usize = 255;
/// RFC 7301 section 3.1: `opaque ProtocolName<1..2^8-1>`.
const MAX_PROTOCOL_NAME_LENGTH: usize = 255;

/// The most bytes of a connection the TLS matchers and
/// [`client_hello_info`] read: a ClientHello whose records do not end
/// within them is `NoMatch` (and has no info), so every input of at least
/// this length gets `Match` or `NoMatch`.
///
/// The wire allows a ClientHello of 2^24-1 bytes, but real ones are 200 to
/// 600 bytes (OpenSSL, curl; the captures in this module's tests), about
/// 1.8 KB with a post-quantum X25519MLKEM768 key share (current browsers),
/// and a few KB with a large session ticket. 64 KiB leaves room for thirty
/// times that, and is also about the largest extensions block a ClientHello
/// can carry (2^16-1 bytes). In practice the sniffer's own byte limit is
/// reached first.
pub const TLS_MAX_CLIENT_HELLO_BYTES: usize = 64 * 1024;

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
    ///
    /// ```
    /// use connmux::matchers::TlsVersion;
    ///
    /// assert_eq!(TlsVersion::from_wire(0x0304), TlsVersion::TLS1_3);
    /// // A draft of TLS 1.3, as some early clients sent it.
    /// assert_eq!(TlsVersion::from_wire(0x7f1c).to_string(), "TLS version 0x7f1c");
    /// ```
    pub const fn from_wire(code: u16) -> TlsVersion {
        TlsVersion(code)
    }

    /// The two-byte wire code of this version.
    ///
    /// ```
    /// use connmux::matchers::TlsVersion;
    ///
    /// assert_eq!(TlsVersion::TLS1_2.wire(), 0x0303);
    /// assert_eq!(TlsVersion::from_wire(0x0301).wire(), 0x0301);
    /// ```
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

/// Matches a TLS ClientHello, optionally only one that passes filters on
/// its versions, server name and application protocols.
///
/// Start from [`tls`] (or [`tls_versions`], [`tls_sni`], [`tls_sni_any`],
/// [`tls_alpn`], [`tls_alpn_any`], which are shorthands for it) and narrow
/// it with [`versions`](Tls::versions), [`sni`](Tls::sni) /
/// [`sni_any`](Tls::sni_any) and [`alpn`](Tls::alpn) /
/// [`alpn_any`](Tls::alpn_any). A ClientHello matches when it passes every
/// kind of filter that is set; within one kind, any listed value will do.
///
/// The verdict comes as early as the bytes allow: `NoMatch` at the first
/// invalid byte or as soon as one filter's extension has been read with a
/// value that fails it; `Match` as soon as every filter has passed, which
/// may be before the rest of the ClientHello has arrived (extensions come
/// in any order); otherwise at the end of the ClientHello, where a missing
/// server_name or ALPN extension fails its filter. Nothing past
/// [`TLS_MAX_CLIENT_HELLO_BYTES`] is read.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::{tls, TlsVersion};
///
/// // A TLS 1.2 ClientHello with server_name "a.example.com" and ALPN "h2", "http/1.1".
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
/// hello.extend([0u8; 32]); // random
/// hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]); // no session id, one suite, null compression
/// hello.extend([0x00, 40]); // extensions
/// hello.extend([0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
/// hello.extend(b"a.example.com");
/// hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
/// hello.extend(b"h2");
/// hello.extend([8]);
/// hello.extend(b"http/1.1");
///
/// let h2_site = tls().sni("*.example.com").alpn("h2");
/// assert_eq!(h2_site.verdict(&hello), Verdict::Match);
/// let modern_h2_site = h2_site.clone().versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
/// assert_eq!(modern_h2_site.verdict(&hello), Verdict::NoMatch);
/// // Decided once the server_name extension has been read, at byte 74.
/// assert_eq!(tls().sni("other.example").verdict(&hello[..73]), Verdict::NeedMore);
/// assert_eq!(tls().sni("other.example").verdict(&hello[..74]), Verdict::NoMatch);
/// ```
#[derive(Debug, Clone)]
pub struct Tls {
    versions: Option<RangeInclusive<TlsVersion>>,
    server_names: Option<Vec<ServerNamePattern>>,
    alpn_protocols: Option<Vec<Box<[u8]>>>,
}

/// A matcher for any TLS or SSL 3.0 ClientHello.
///
/// It checks the record header, the handshake type and the ClientHello's
/// legacy version, so it decides after 11 bytes (cmux's `TLS()`). Add
/// filters with the [`Tls`] builder methods.
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
    Tls {
        versions: None,
        server_names: None,
        alpn_protocols: None,
    }
}

/// A matcher for a TLS ClientHello that offers at least one version in
/// `versions`: `tls().versions(versions)`.
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
    tls().versions(versions)
}

/// A matcher for a TLS ClientHello whose server name (SNI) matches
/// `pattern`: `tls().sni(pattern)`.
///
/// The name is the host_name of the server_name extension (RFC 6066
/// section 3), compared ignoring ASCII case and one trailing dot (on the
/// name and on the pattern). Three kinds of pattern:
///
/// - `www.example.com`: exactly that name;
/// - `*.example.com`: one more label, as a certificate wildcard (RFC 6125
///   section 6.4.3): `a.example.com`, not `example.com` nor
///   `a.b.example.com`;
/// - `.example.com` (leading dot): any subdomain at any depth,
///   `a.example.com` and `a.b.example.com`, not `example.com`.
///
/// A `*` anywhere else is an ordinary character. A ClientHello without a
/// host_name, or with one longer than 255 bytes, does not match.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tls_sni;
///
/// // A ClientHello whose only extension is server_name "a.example.com".
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 69, 0x01, 0x00, 0x00, 65, 0x03, 0x03];
/// hello.extend([0u8; 32]); // random
/// hello.extend([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]); // no session id, one suite, null compression
/// hello.extend([0x00, 22]); // extensions
/// hello.extend([0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]); // server_name, list, host_name
/// hello.extend(b"a.example.com");
///
/// assert_eq!(tls_sni("A.Example.COM").verdict(&hello), Verdict::Match);
/// assert_eq!(tls_sni("*.example.com").verdict(&hello), Verdict::Match);
/// assert_eq!(tls_sni(".example.com").verdict(&hello), Verdict::Match);
/// assert_eq!(tls_sni("*.a.example.com").verdict(&hello), Verdict::NoMatch);
/// assert_eq!(tls_sni("example.com").verdict(&hello), Verdict::NoMatch);
/// ```
pub fn tls_sni(pattern: impl AsRef<str>) -> Tls {
    tls().sni(pattern)
}

/// A matcher for a TLS ClientHello whose server name matches any of
/// `patterns` (see [`tls_sni`] for the patterns): `tls().sni_any(patterns)`.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tls_sni_any;
///
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 69, 0x01, 0x00, 0x00, 65, 0x03, 0x03];
/// hello.extend([0u8; 32]);
/// hello.extend([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
/// hello.extend([0x00, 22, 0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
/// hello.extend(b"a.example.com");
///
/// assert_eq!(tls_sni_any(["example.org", ".example.com"]).verdict(&hello), Verdict::Match);
/// assert_eq!(tls_sni_any(["example.org", "example.com"]).verdict(&hello), Verdict::NoMatch);
/// ```
pub fn tls_sni_any<I, S>(patterns: I) -> Tls
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    tls().sni_any(patterns)
}

/// A matcher for a TLS ClientHello whose ALPN extension (RFC 7301) lists
/// `protocol`, compared byte for byte (`"h2"`, `"http/1.1"`,
/// `"acme-tls/1"`): `tls().alpn(protocol)`.
///
/// A ClientHello without an ALPN extension does not match.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tls_alpn;
///
/// // A ClientHello whose only extension is ALPN "h2", "http/1.1".
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 65, 0x01, 0x00, 0x00, 61, 0x03, 0x03];
/// hello.extend([0u8; 32]); // random
/// hello.extend([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]); // no session id, one suite, null compression
/// hello.extend([0x00, 18]); // extensions
/// hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]); // ALPN, list, first name
/// hello.extend(b"h2");
/// hello.extend([8]);
/// hello.extend(b"http/1.1");
///
/// assert_eq!(tls_alpn("http/1.1").verdict(&hello), Verdict::Match);
/// assert_eq!(tls_alpn("acme-tls/1").verdict(&hello), Verdict::NoMatch);
/// ```
pub fn tls_alpn(protocol: impl AsRef<[u8]>) -> Tls {
    tls().alpn(protocol)
}

/// A matcher for a TLS ClientHello whose ALPN extension lists any of
/// `protocols`: `tls().alpn_any(protocols)`.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tls_alpn_any;
///
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 65, 0x01, 0x00, 0x00, 61, 0x03, 0x03];
/// hello.extend([0u8; 32]);
/// hello.extend([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
/// hello.extend([0x00, 18, 0x00, 16, 0x00, 14, 0x00, 12, 2]);
/// hello.extend(b"h2");
/// hello.extend([8]);
/// hello.extend(b"http/1.1");
///
/// assert_eq!(tls_alpn_any(["h3", "h2"]).verdict(&hello), Verdict::Match);
/// assert_eq!(tls_alpn_any(["h3", "spdy/3"]).verdict(&hello), Verdict::NoMatch);
/// ```
pub fn tls_alpn_any<I, P>(protocols: I) -> Tls
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    tls().alpn_any(protocols)
}

impl Tls {
    /// This matcher, but only for ClientHellos offering at least one
    /// version in `versions` (see [`tls_versions`]); replaces an earlier
    /// version filter.
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::{tls, TlsVersion};
    ///
    /// // `hello`: a TLS 1.2 ClientHello for "a.example.com" offering ALPN
    /// // "h2" and "http/1.1" (its bytes are spelt out in the example on `Tls`).
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
    /// # hello.extend([0x00, 40, 0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
    /// # hello.extend(b"a.example.com");
    /// # hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
    /// # hello.extend(b"h2\x08http/1.1");
    /// let tls13_only = tls().versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3);
    /// assert_eq!(tls13_only.verdict(&hello), Verdict::NoMatch);
    /// let up_to_tls12 = tls13_only.versions(TlsVersion::TLS1_0..=TlsVersion::TLS1_2);
    /// assert_eq!(up_to_tls12.verdict(&hello), Verdict::Match);
    /// ```
    pub fn versions(mut self, versions: RangeInclusive<TlsVersion>) -> Tls {
        self.versions = Some(versions);
        self
    }

    /// This matcher, but only for ClientHellos whose server name matches
    /// `pattern` or a pattern given before (see [`tls_sni`] for patterns).
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::tls;
    ///
    /// // `hello`: a TLS 1.2 ClientHello for "a.example.com" offering ALPN
    /// // "h2" and "http/1.1" (its bytes are spelt out in the example on `Tls`).
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
    /// # hello.extend([0x00, 40, 0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
    /// # hello.extend(b"a.example.com");
    /// # hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
    /// # hello.extend(b"h2\x08http/1.1");
    /// assert_eq!(tls().sni("example.org").verdict(&hello), Verdict::NoMatch);
    /// assert_eq!(tls().sni("example.org").sni("*.example.com").verdict(&hello), Verdict::Match);
    /// ```
    pub fn sni(self, pattern: impl AsRef<str>) -> Tls {
        self.sni_any([pattern])
    }

    /// This matcher, but only for ClientHellos whose server name matches
    /// one of `patterns` or a pattern given before; an empty list with none
    /// given before matches nothing.
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::tls;
    ///
    /// // `hello`: a TLS 1.2 ClientHello for "a.example.com" offering ALPN
    /// // "h2" and "http/1.1" (its bytes are spelt out in the example on `Tls`).
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
    /// # hello.extend([0x00, 40, 0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
    /// # hello.extend(b"a.example.com");
    /// # hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
    /// # hello.extend(b"h2\x08http/1.1");
    /// let our_sites = tls().sni_any(["example.org", ".example.com"]);
    /// assert_eq!(our_sites.verdict(&hello), Verdict::Match);
    /// assert_eq!(tls().sni_any(Vec::<String>::new()).verdict(&hello), Verdict::NoMatch);
    /// ```
    pub fn sni_any<I, S>(mut self, patterns: I) -> Tls
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let parsed = patterns
            .into_iter()
            .map(|pattern| ServerNamePattern::parse(pattern.as_ref()));
        self.server_names
            .get_or_insert_with(Vec::new)
            .extend(parsed);
        self
    }

    /// This matcher, but only for ClientHellos whose ALPN extension lists
    /// `protocol` or a protocol given before (see [`tls_alpn`]).
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::tls;
    ///
    /// // `hello`: a TLS 1.2 ClientHello for "a.example.com" offering ALPN
    /// // "h2" and "http/1.1" (its bytes are spelt out in the example on `Tls`).
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
    /// # hello.extend([0x00, 40, 0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
    /// # hello.extend(b"a.example.com");
    /// # hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
    /// # hello.extend(b"h2\x08http/1.1");
    /// assert_eq!(tls().alpn("h2").verdict(&hello), Verdict::Match);
    /// assert_eq!(tls().alpn("acme-tls/1").verdict(&hello), Verdict::NoMatch);
    /// assert_eq!(tls().alpn("acme-tls/1").alpn("h2").verdict(&hello), Verdict::Match);
    /// ```
    pub fn alpn(self, protocol: impl AsRef<[u8]>) -> Tls {
        self.alpn_any([protocol])
    }

    /// This matcher, but only for ClientHellos whose ALPN extension lists
    /// one of `protocols` or a protocol given before; an empty list with
    /// none given before matches nothing.
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::tls;
    ///
    /// // `hello`: a TLS 1.2 ClientHello for "a.example.com" offering ALPN
    /// // "h2" and "http/1.1" (its bytes are spelt out in the example on `Tls`).
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
    /// # hello.extend([0x00, 40, 0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
    /// # hello.extend(b"a.example.com");
    /// # hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
    /// # hello.extend(b"h2\x08http/1.1");
    /// let web = tls().alpn_any(["h3", "http/1.1"]);
    /// assert_eq!(web.verdict(&hello), Verdict::Match);
    /// assert_eq!(tls().alpn_any(["imap", "pop3"]).verdict(&hello), Verdict::NoMatch);
    /// ```
    pub fn alpn_any<I, P>(mut self, protocols: I) -> Tls
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let owned = protocols
            .into_iter()
            .map(|protocol| Box::from(protocol.as_ref()));
        self.alpn_protocols
            .get_or_insert_with(Vec::new)
            .extend(owned);
        self
    }

    /// Whether the ClientHello at the start of `seen` passes every filter.
    fn passes(&self, seen: &[u8]) -> Result<bool, Stop> {
        // A filter that is not set has passed from the start.
        let mut results = FilterResults {
            versions: self.versions.is_none().then_some(true),
            server_name: self.server_names.is_none().then_some(true),
            alpn: self.alpn_protocols.is_none().then_some(true),
        };
        let mut offer = VersionOffer::default();
        let mut alpn_listed = false;
        let flow = walk_client_hello(seen, Depth::Routing, |part| {
            offer.record(&part);
            match part {
                HelloPart::SupportedVersions(offered) => {
                    if let Some(range) = &self.versions {
                        results.versions = Some(offered.intersects(range));
                    }
                }
                HelloPart::ServerName(host_name) => {
                    if let Some(patterns) = &self.server_names {
                        results.server_name = Some(server_name_matches(patterns, host_name));
                    }
                }
                HelloPart::AlpnProtocol(name) => {
                    if let Some(protocols) = &self.alpn_protocols {
                        alpn_listed |= protocols.iter().any(|protocol| **protocol == *name);
                    }
                }
                HelloPart::AlpnEnd if self.alpn_protocols.is_some() => {
                    results.alpn = Some(alpn_listed);
                }
                // The legacy version is the offer's; most others are on
                // fingerprint walks only.
                _ => {}
            }
            results.outcome()
        })?;
        Ok(match flow {
            ControlFlow::Break(passed) => passed,
            // The ClientHello ended: a filter still undecided never saw its
            // extension; versions then fall back to the legacy version.
            ControlFlow::Continue(()) => {
                let versions = results.versions.unwrap_or_else(|| {
                    self.versions
                        .as_ref()
                        .is_some_and(|range| offer.offered().intersects(range))
                });
                versions && results.server_name == Some(true) && results.alpn == Some(true)
            }
        })
    }
}

impl Matcher for Tls {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match self.passes(seen) {
            Ok(passed) => Verdict::from_bool(passed),
            Err(stop) => stop.into(),
        }
    }
}

/// What a ClientHello says about the connection it opens, for logs and
/// routing metadata; see [`client_hello_info`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientHelloInfo {
    /// The highest version offered, as [`client_hello_version`] gives it.
    pub version: TlsVersion,
    /// The server name (SNI host_name) as sent, invalid UTF-8 replaced;
    /// `None` without one or when it is longer than 255 bytes.
    pub sni: Option<String>,
    /// The ALPN protocols in the client's order of preference, invalid
    /// UTF-8 replaced (GREASE values included); empty without ALPN.
    pub alpn: Vec<String>,
}

/// The version, server name and ALPN protocols of a complete ClientHello,
/// or `None` when `seen` does not start with a whole, well-formed one
/// (within [`TLS_MAX_CLIENT_HELLO_BYTES`]) offering an SSL 3.0 or TLS
/// version.
///
/// ```
/// use connmux::matchers::{client_hello_info, TlsVersion};
///
/// let mut hello = vec![0x16, 0x03, 0x01, 0x00, 87, 0x01, 0x00, 0x00, 83, 0x03, 0x03];
/// hello.extend([0u8; 32]); // random
/// hello.extend([0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]); // no session id, one suite, null compression
/// hello.extend([0x00, 40]); // extensions
/// hello.extend([0x00, 0x00, 0x00, 18, 0x00, 16, 0x00, 0x00, 13]);
/// hello.extend(b"a.example.com");
/// hello.extend([0x00, 16, 0x00, 14, 0x00, 12, 2]);
/// hello.extend(b"h2");
/// hello.extend([8]);
/// hello.extend(b"http/1.1");
///
/// let info = client_hello_info(&hello).unwrap();
/// assert_eq!(info.version, TlsVersion::TLS1_2);
/// assert_eq!(info.sni.as_deref(), Some("a.example.com"));
/// assert_eq!(info.alpn, ["h2", "http/1.1"]);
/// assert_eq!(client_hello_info(&hello[..hello.len() - 1]), None);
/// ```
pub fn client_hello_info(seen: &[u8]) -> Option<ClientHelloInfo> {
    let mut offer = VersionOffer::default();
    let mut sni = None;
    let mut alpn = Vec::new();
    let complete = walk_complete_client_hello(seen, Depth::Routing, |part| {
        offer.record(&part);
        match part {
            HelloPart::ServerName(host_name) => {
                sni = host_name.map(|name| String::from_utf8_lossy(name).into_owned());
            }
            HelloPart::AlpnProtocol(name) => alpn.push(String::from_utf8_lossy(name).into_owned()),
            _ => {}
        }
    });
    Some(ClientHelloInfo {
        version: complete.then(|| offer.offered().highest())??,
        sni,
        alpn,
    })
}

/// The highest version a complete ClientHello offers, or `None` when
/// `seen` does not start with a whole, well-formed ClientHello (within
/// [`TLS_MAX_CLIENT_HELLO_BYTES`]) offering an SSL 3.0 or TLS version.
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
    let mut offer = VersionOffer::default();
    let complete = walk_complete_client_hello(seen, Depth::Routing, |part| offer.record(&part));
    complete.then(|| offer.offered().highest())?
}

/// A server name pattern of [`tls_sni`], without its trailing dot.
#[derive(Debug, Clone)]
enum ServerNamePattern {
    /// `www.example.com`: that name.
    Exact(String),
    /// `*.example.com`, kept as `.example.com`: one label before it.
    OneLabelUnder(String),
    /// `.example.com`: one or more labels before it.
    AnyDepthUnder(String),
}

impl ServerNamePattern {
    fn parse(pattern: &str) -> ServerNamePattern {
        let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
        match pattern.strip_prefix('*') {
            Some(suffix) if suffix.starts_with('.') => {
                ServerNamePattern::OneLabelUnder(suffix.to_owned())
            }
            _ if pattern.starts_with('.') => ServerNamePattern::AnyDepthUnder(pattern.to_owned()),
            _ => ServerNamePattern::Exact(pattern.to_owned()),
        }
    }

    /// Whether `host_name` (non-empty, trailing dot removed) matches.
    fn matches(&self, host_name: &[u8]) -> bool {
        match self {
            ServerNamePattern::Exact(name) => host_name.eq_ignore_ascii_case(name.as_bytes()),
            ServerNamePattern::OneLabelUnder(suffix) => {
                strip_suffix_ignore_case(host_name, suffix.as_bytes())
                    .is_some_and(|label| !label.is_empty() && !label.contains(&b'.'))
            }
            ServerNamePattern::AnyDepthUnder(suffix) => {
                strip_suffix_ignore_case(host_name, suffix.as_bytes())
                    .is_some_and(|labels| !labels.is_empty())
            }
        }
    }
}

/// Whether a ClientHello's host_name (if any) matches one of `patterns`.
fn server_name_matches(patterns: &[ServerNamePattern], host_name: Option<&[u8]>) -> bool {
    let Some(host_name) = host_name else {
        return false;
    };
    let host_name = host_name.strip_suffix(b".").unwrap_or(host_name);
    !host_name.is_empty() && patterns.iter().any(|pattern| pattern.matches(host_name))
}

/// `name` without `suffix` at its end (ASCII case ignored), if it ends so.
fn strip_suffix_ignore_case<'n>(name: &'n [u8], suffix: &[u8]) -> Option<&'n [u8]> {
    let (head, tail) = name.split_at_checked(name.len().checked_sub(suffix.len())?)?;
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

/// What each filter of a [`Tls`] matcher has concluded so far: `None`
/// while undecided, `Some(true)` from the start for a filter not set.
struct FilterResults {
    versions: Option<bool>,
    server_name: Option<bool>,
    alpn: Option<bool>,
}

impl FilterResults {
    /// `Break` with the answer once one filter failed or all passed.
    fn outcome(&self) -> ControlFlow<bool> {
        let results = [self.versions, self.server_name, self.alpn];
        if results.contains(&Some(false)) {
            ControlFlow::Break(false)
        } else if results.iter().all(|result| *result == Some(true)) {
            ControlFlow::Break(true)
        } else {
            ControlFlow::Continue(())
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
        (0..=u8::MAX)
            .map(|minor| u16::from_be_bytes([3, minor]))
            .any(|code| range.contains(&TlsVersion(code)) && self.contains(code))
    }

    fn highest(&self) -> Option<TlsVersion> {
        (0x0300..=0x03ffu16)
            .rev()
            .find(|&code| self.contains(code))
            .map(TlsVersion)
    }
}

/// The version-related parts of a ClientHello, gathered during a walk.
#[derive(Default)]
struct VersionOffer {
    legacy_version: u16,
    supported_versions: Option<OfferedVersions>,
}

impl VersionOffer {
    fn record(&mut self, part: &HelloPart<'_>) {
        match part {
            HelloPart::LegacyVersion(code) => self.legacy_version = *code,
            HelloPart::SupportedVersions(offered) => self.supported_versions = Some(*offered),
            _ => {}
        }
    }

    /// The versions offered: supported_versions overrides the legacy
    /// version (RFC 8446 section 4.2.1).
    fn offered(&self) -> OfferedVersions {
        self.supported_versions
            .unwrap_or_else(|| OfferedVersions::up_to(self.legacy_version))
    }
}

/// One part of a ClientHello, reported by [`walk_client_hello`] in wire
/// order once it has been read and checked.
enum HelloPart<'a> {
    /// The legacy_version field; the record and handshake headers before
    /// it are valid.
    LegacyVersion(u16),
    /// A complete, valid supported_versions extension.
    SupportedVersions(OfferedVersions),
    /// A complete, valid server_name extension, with its host_name unless
    /// it has none or one longer than [`MAX_HOST_NAME_LENGTH`].
    ServerName(Option<&'a [u8]>),
    /// One protocol name of the ALPN extension; the rest of the list is
    /// still unread.
    AlpnProtocol(&'a [u8]),
    /// The end of a complete, valid ALPN extension.
    AlpnEnd,
    /// On a fingerprint walk, one cipher suite, in wire order.
    CipherSuite(u16),
    /// On a fingerprint walk, the type of the extension about to be read.
    ExtensionType(u16),
    /// On a fingerprint walk, one version of the supported_versions
    /// extension, before the extension's [`SupportedVersions`](Self::SupportedVersions).
    SupportedVersion(u16),
    /// On a fingerprint walk, one group of the supported_groups extension.
    SupportedGroup(u16),
    /// On a fingerprint walk, one format of the ec_point_formats extension.
    PointFormat(u8),
    /// On a fingerprint walk, one scheme of the signature_algorithms
    /// extension.
    SignatureAlgorithm(u16),
    /// On a fingerprint walk, the group of one key_share entry.
    KeyShareGroup(u16),
}

/// How much of a ClientHello a walk reads and shows its visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// The legacy version and the server_name, ALPN and supported_versions
    /// extensions: what routing and [`client_hello_info`] read.
    Routing,
    /// Also each cipher suite and extension type, and the lists of the
    /// extensions fingerprints read: supported_groups, ec_point_formats,
    /// signature_algorithms and key_share, which must then be valid too.
    Fingerprint,
}

/// Why a walk ended before the end of the ClientHello.
enum WalkEnd<B> {
    /// The bytes ended or broke the format.
    Stopped(Stop),
    /// The visitor had its answer.
    Answered(B),
}

impl<B> From<Stop> for WalkEnd<B> {
    fn from(stop: Stop) -> Self {
        WalkEnd::Stopped(stop)
    }
}

/// Ends the walk when the visitor breaks.
fn report<B>(flow: ControlFlow<B>) -> Result<(), WalkEnd<B>> {
    match flow {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(answer) => Err(WalkEnd::Answered(answer)),
    }
}

/// Walks the ClientHello at the start of `seen`, showing each part to
/// `visit` in wire order, and stops with `Break` as soon as `visit` does;
/// `Continue` means the whole ClientHello has been read and is valid.
///
/// Reads at most [`TLS_MAX_CLIENT_HELLO_BYTES`]: a ClientHello that needs
/// more is invalid.
fn walk_client_hello<B>(
    seen: &[u8],
    depth: Depth,
    mut visit: impl FnMut(HelloPart<'_>) -> ControlFlow<B>,
) -> Result<ControlFlow<B>, Stop> {
    let window = seen.get(..TLS_MAX_CLIENT_HELLO_BYTES).unwrap_or(seen);
    match walk_fields(window, depth, &mut visit) {
        Ok(()) => Ok(ControlFlow::Continue(())),
        Err(WalkEnd::Answered(answer)) => Ok(ControlFlow::Break(answer)),
        // Bytes past the window are never read, so no more can help.
        Err(WalkEnd::Stopped(Stop::Short)) if seen.len() >= TLS_MAX_CLIENT_HELLO_BYTES => {
            Err(Stop::Invalid)
        }
        Err(WalkEnd::Stopped(stop)) => Err(stop),
    }
}

/// Walks the whole ClientHello at the start of `seen`, showing every part
/// to `visit`; whether it was all there and valid.
fn walk_complete_client_hello(
    seen: &[u8],
    depth: Depth,
    mut visit: impl FnMut(HelloPart<'_>),
) -> bool {
    let flow = walk_client_hello(seen, depth, |part| {
        visit(part);
        ControlFlow::<()>::Continue(())
    });
    flow == Ok(ControlFlow::Continue(()))
}

fn walk_fields<B>(
    window: &[u8],
    depth: Depth,
    visit: &mut impl FnMut(HelloPart<'_>) -> ControlFlow<B>,
) -> Result<(), WalkEnd<B>> {
    let mut hello = HandshakeReader::new(window);
    require(hello.u8()? == HANDSHAKE_CLIENT_HELLO)?;
    let body_length = hello.u24()?;
    require((MIN_CLIENT_HELLO_LENGTH..=MAX_CLIENT_HELLO_LENGTH).contains(&body_length))?;
    hello.enter(body_length)?;
    require(hello.u8()? == 3)?;
    let legacy_version = u16::from_be_bytes([3, hello.u8()?]);
    report(visit(HelloPart::LegacyVersion(legacy_version)))?;
    hello.skip(RANDOM_LENGTH)?;
    let session_id_length = hello.u8()?;
    require(session_id_length <= MAX_SESSION_ID_LENGTH)?;
    hello.skip(usize::from(session_id_length))?;
    let cipher_suites_length = usize::from(hello.u16()?);
    require(cipher_suites_length >= 2 && cipher_suites_length % 2 == 0)?;
    match depth {
        Depth::Routing => hello.skip(cipher_suites_length)?,
        Depth::Fingerprint => {
            let after_cipher_suites = hello.enter(cipher_suites_length)?;
            while hello.left() > 0 {
                report(visit(HelloPart::CipherSuite(hello.u16()?)))?;
            }
            hello.leave(after_cipher_suites)?;
        }
    }
    let compression_methods_length = hello.u8()?;
    require(compression_methods_length >= 1)?;
    hello.skip(usize::from(compression_methods_length))?;
    if hello.left() == 0 {
        return Ok(());
    }
    // The extensions are the last field: they fill the rest of the body.
    require(usize::from(hello.u16()?) == hello.left())?;
    let mut read = ExtensionsRead::default();
    while hello.left() > 0 {
        let extension_type = hello.u16()?;
        let extension_length = usize::from(hello.u16()?);
        let after_extension = hello.enter(extension_length)?;
        let fingerprint = depth == Depth::Fingerprint;
        if fingerprint {
            report(visit(HelloPart::ExtensionType(extension_type)))?;
        }
        match extension_type {
            EXTENSION_SERVER_NAME => {
                read_first_time(&mut read.server_name)?;
                let mut host_name = [0; MAX_HOST_NAME_LENGTH];
                let host_name = read_server_name(&mut hello, &mut host_name)?;
                report(visit(HelloPart::ServerName(host_name)))?;
            }
            EXTENSION_ALPN => {
                read_first_time(&mut read.alpn)?;
                read_alpn(&mut hello, visit)?;
            }
            EXTENSION_SUPPORTED_VERSIONS => {
                read_first_time(&mut read.supported_versions)?;
                let offered = read_supported_versions(&mut hello, depth, visit)?;
                report(visit(HelloPart::SupportedVersions(offered)))?;
            }
            EXTENSION_SUPPORTED_GROUPS if fingerprint => {
                read_first_time(&mut read.supported_groups)?;
                read_code_list(&mut hello, HelloPart::SupportedGroup, visit)?;
            }
            EXTENSION_EC_POINT_FORMATS if fingerprint => {
                read_first_time(&mut read.ec_point_formats)?;
                read_point_formats(&mut hello, visit)?;
            }
            EXTENSION_SIGNATURE_ALGORITHMS if fingerprint => {
                read_first_time(&mut read.signature_algorithms)?;
                read_code_list(&mut hello, HelloPart::SignatureAlgorithm, visit)?;
            }
            EXTENSION_KEY_SHARE if fingerprint => {
                read_first_time(&mut read.key_share)?;
                read_key_share(&mut hello, visit)?;
            }
            _ => hello.skip(extension_length)?,
        }
        hello.leave(after_extension)?;
    }
    Ok(())
}

/// The extensions a walk has read the body of. RFC 8446 section 4.2: no
/// extension type appears twice; only the types read are tracked.
#[derive(Default)]
struct ExtensionsRead {
    server_name: bool,
    alpn: bool,
    supported_versions: bool,
    supported_groups: bool,
    ec_point_formats: bool,
    signature_algorithms: bool,
    key_share: bool,
}

/// Fails the second time an extension type is read.
fn read_first_time(already_read: &mut bool) -> Result<(), Stop> {
    require(!std::mem::replace(already_read, true))
}

/// Reads the body of a server_name extension (RFC 6066 section 3) and
/// returns its host_name, copied into `buffer`, unless it has none or one
/// too long for the buffer.
fn read_server_name<'b>(
    hello: &mut HandshakeReader<'_>,
    buffer: &'b mut [u8; MAX_HOST_NAME_LENGTH],
) -> Result<Option<&'b [u8]>, Stop> {
    let list_length = usize::from(hello.u16()?);
    require(list_length >= 1 && list_length == hello.left())?;
    let mut host_name_seen = false;
    let mut host_name_length = None;
    while hello.left() > 0 {
        let name_type = hello.u8()?;
        // Every name type starts with a 16-bit length (RFC 6066 section 3).
        let name_length = usize::from(hello.u16()?);
        if name_type != NAME_TYPE_HOST_NAME {
            hello.skip(name_length)?;
            continue;
        }
        require(!host_name_seen && name_length >= 1)?;
        host_name_seen = true;
        match buffer.get_mut(..name_length) {
            Some(host_name) => {
                hello.read_into(host_name)?;
                host_name_length = Some(name_length);
            }
            None => hello.skip(name_length)?,
        }
    }
    Ok(host_name_length.and_then(|length| buffer.get(..length)))
}

/// Reads the body of an ALPN extension (RFC 7301 section 3.1), showing
/// each protocol name to `visit` as it is read, then its end.
fn read_alpn<B>(
    hello: &mut HandshakeReader<'_>,
    visit: &mut impl FnMut(HelloPart<'_>) -> ControlFlow<B>,
) -> Result<(), WalkEnd<B>> {
    let list_length = usize::from(hello.u16()?);
    require(list_length >= 2 && list_length == hello.left())?;
    let mut buffer = [0; MAX_PROTOCOL_NAME_LENGTH];
    while hello.left() > 0 {
        let name_length = usize::from(hello.u8()?);
        require(name_length >= 1)?;
        let name = buffer.get_mut(..name_length).ok_or(Stop::Invalid)?;
        hello.read_into(name)?;
        report(visit(HelloPart::AlpnProtocol(&*name)))?;
    }
    report(visit(HelloPart::AlpnEnd))
}

/// Reads the body of a ClientHello's supported_versions extension (RFC 8446
/// section 4.2.1), showing each version to `visit` on a fingerprint walk.
fn read_supported_versions<B>(
    hello: &mut HandshakeReader<'_>,
    depth: Depth,
    visit: &mut impl FnMut(HelloPart<'_>) -> ControlFlow<B>,
) -> Result<OfferedVersions, WalkEnd<B>> {
    let list_length = usize::from(hello.u8()?);
    require(list_length >= 2 && list_length % 2 == 0 && list_length == hello.left())?;
    let mut offered = OfferedVersions::default();
    while hello.left() > 0 {
        let code = hello.u16()?;
        offered.offer(code);
        if depth == Depth::Fingerprint {
            report(visit(HelloPart::SupportedVersion(code)))?;
        }
    }
    Ok(offered)
}

/// Reads the body of a supported_groups or signature_algorithms extension
/// (RFC 8446 sections 4.2.7 and 4.2.3; RFC 8422 section 5.1.1 for TLS
/// 1.2), `<2..2^16-1>` of two-byte code points, showing each to `visit` as
/// `part`.
fn read_code_list<B>(
    hello: &mut HandshakeReader<'_>,
    part: fn(u16) -> HelloPart<'static>,
    visit: &mut impl FnMut(HelloPart<'_>) -> ControlFlow<B>,
) -> Result<(), WalkEnd<B>> {
    let list_length = usize::from(hello.u16()?);
    require(list_length >= 2 && list_length % 2 == 0 && list_length == hello.left())?;
    while hello.left() > 0 {
        report(visit(part(hello.u16()?)))?;
    }
    Ok(())
}

/// Reads the body of an ec_point_formats extension (RFC 8422 section
/// 5.1.2): `ec_point_format_list<1..2^8-1>` of one-byte formats.
fn read_point_formats<B>(
    hello: &mut HandshakeReader<'_>,
    visit: &mut impl FnMut(HelloPart<'_>) -> ControlFlow<B>,
) -> Result<(), WalkEnd<B>> {
    let list_length = usize::from(hello.u8()?);
    require(list_length >= 1 && list_length == hello.left())?;
    while hello.left() > 0 {
        report(visit(HelloPart::PointFormat(hello.u8()?)))?;
    }
    Ok(())
}

/// Reads the body of a ClientHello's key_share extension (RFC 8446 section
/// 4.2.8), showing the group of each share to `visit`:
///
/// ```text
/// client_shares <0..2^16-1> of  group u16 | key_exchange <1..2^16-1>
/// ```
fn read_key_share<B>(
    hello: &mut HandshakeReader<'_>,
    visit: &mut impl FnMut(HelloPart<'_>) -> ControlFlow<B>,
) -> Result<(), WalkEnd<B>> {
    let list_length = usize::from(hello.u16()?);
    require(list_length == hello.left())?;
    while hello.left() > 0 {
        let group = hello.u16()?;
        let key_exchange_length = usize::from(hello.u16()?);
        require(key_exchange_length >= 1)?;
        hello.skip(key_exchange_length)?;
        report(visit(HelloPart::KeyShareGroup(group)))?;
    }
    Ok(())
}

/// Reads handshake bytes out of consecutive TLS handshake records, checking
/// each record header as it is reached and never reading past the end of
/// the current length-prefixed field (its scope).
struct HandshakeReader<'a> {
    records: Cursor<'a>,
    left_in_record: usize,
    left_in_scope: usize,
}

impl<'a> HandshakeReader<'a> {
    fn new(seen: &'a [u8]) -> Self {
        HandshakeReader {
            records: Cursor::new(seen),
            left_in_record: 0,
            left_in_scope: usize::MAX,
        }
    }

    /// Narrows the scope to the next `length` bytes, which must fit in the
    /// current one; returns what will be left of the current scope after
    /// them, for [`leave`](Self::leave).
    fn enter(&mut self, length: usize) -> Result<usize, Stop> {
        require(length <= self.left_in_scope)?;
        let after = self.left_in_scope - length;
        self.left_in_scope = length;
        Ok(after)
    }

    /// Returns to the enclosing scope once the current one is used up
    /// exactly.
    fn leave(&mut self, after: usize) -> Result<(), Stop> {
        require(self.left_in_scope == 0)?;
        self.left_in_scope = after;
        Ok(())
    }

    /// Bytes left in the current scope.
    fn left(&self) -> usize {
        self.left_in_scope
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
        require(self.left_in_scope >= 1)?;
        while self.left_in_record == 0 {
            self.next_record()?;
        }
        let byte = self.records.u8()?;
        self.left_in_record -= 1;
        self.left_in_scope -= 1;
        Ok(byte)
    }

    fn u16(&mut self) -> Result<u16, Stop> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn u24(&mut self) -> Result<usize, Stop> {
        let [high, middle, low] = [self.u8()?, self.u8()?, self.u8()?];
        Ok(usize::from(high) << 16 | usize::from(middle) << 8 | usize::from(low))
    }

    /// Fills `buffer` with the next bytes, which may span records.
    fn read_into(&mut self, buffer: &mut [u8]) -> Result<(), Stop> {
        require(buffer.len() <= self.left_in_scope)?;
        for byte in buffer {
            *byte = self.u8()?;
        }
        Ok(())
    }

    fn skip(&mut self, mut count: usize) -> Result<(), Stop> {
        require(count <= self.left_in_scope)?;
        while count > 0 {
            while self.left_in_record == 0 {
                self.next_record()?;
            }
            let step = count.min(self.left_in_record);
            self.records.skip(step)?;
            self.left_in_record -= step;
            self.left_in_scope -= step;
            count -= step;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
