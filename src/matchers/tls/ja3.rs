//! JA3 (Salesforce, 2017; <https://github.com/salesforce/ja3>): a
//! ClientHello named by five of its fields, in decimal, and the MD5 of
//! that text:
//!
//! ```text
//! SSLVersion,Cipher-Cipher-...,Extension-...,EllipticCurve-...,EllipticCurvePointFormat-...
//! 771,4865-4866-49195,0-23-65281-10-11-35-16-13-43-51,29-23-24,0
//! ```
//!
//! SSLVersion is the legacy_version field (771 for TLS 1.2 and 1.3
//! clients); the lists are in the client's order, without GREASE values;
//! a list whose extension was not sent is empty. Since clients began to
//! shuffle their extensions (Chrome 110), JA3 changes from one connection
//! to the next for them, which JA4 (`ja4.rs`) sorts away, but blocklists
//! of tools and malware still name them by JA3.

use std::fmt::Write;

use super::digest::{lower_hex, md5};
use super::fingerprint::{fingerprint_verdict, FingerprintSet};
use super::{is_grease, ClientHelloFingerprint};
use crate::matcher::{Matcher, Verdict};

impl ClientHelloFingerprint {
    /// The JA3 fingerprint: the MD5, in lower-case hex, of
    /// [`ja3_string`](Self::ja3_string).
    ///
    /// ```
    /// use connmux::matchers::client_hello_fingerprint;
    ///
    /// // `hello`: a TLS 1.3 ClientHello (its bytes are spelt out in the
    /// // example of `client_hello_fingerprint`).
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 105, 0x01, 0x00, 0x00, 101, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f, 0x01, 0x00, 0x00, 56]);
    /// # hello.extend([0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 16, 0x00, 14, 0x00, 0x00, 11]);
    /// # hello.extend(b"example.com");
    /// # hello.extend([0x00, 10, 0x00, 4, 0x00, 2, 0x00, 0x1d, 0x00, 13, 0x00, 4, 0x00, 2, 0x04, 0x03]);
    /// # hello.extend([0x00, 16, 0x00, 5, 0x00, 3, 2, b'h', b'2', 0x00, 43, 0x00, 3, 2, 0x03, 0x04]);
    /// let fingerprint = client_hello_fingerprint(&hello).unwrap();
    /// assert_eq!(fingerprint.ja3(), "8895637cac1617a0ac2d2ef56cf37391");
    /// ```
    pub fn ja3(&self) -> String {
        lower_hex(&md5(self.ja3_string().as_bytes()))
    }

    /// The text JA3 hashes: the legacy version, cipher suites, extension
    /// types, supported groups and EC point formats, in decimal, without
    /// GREASE values.
    ///
    /// ```
    /// use connmux::matchers::client_hello_fingerprint;
    ///
    /// // `hello`: a TLS 1.3 ClientHello (its bytes are spelt out in the
    /// // example of `client_hello_fingerprint`); the GREASE extension
    /// // type it sends first, 2570 (0x0a0a), is left out.
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 105, 0x01, 0x00, 0x00, 101, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f, 0x01, 0x00, 0x00, 56]);
    /// # hello.extend([0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 16, 0x00, 14, 0x00, 0x00, 11]);
    /// # hello.extend(b"example.com");
    /// # hello.extend([0x00, 10, 0x00, 4, 0x00, 2, 0x00, 0x1d, 0x00, 13, 0x00, 4, 0x00, 2, 0x04, 0x03]);
    /// # hello.extend([0x00, 16, 0x00, 5, 0x00, 3, 2, b'h', b'2', 0x00, 43, 0x00, 3, 2, 0x03, 0x04]);
    /// let fingerprint = client_hello_fingerprint(&hello).unwrap();
    /// assert_eq!(fingerprint.ja3_string(), "771,4865-49199,0-10-13-16-43,29,");
    /// ```
    pub fn ja3_string(&self) -> String {
        let point_formats = self
            .ec_point_formats
            .iter()
            .map(|&format| u16::from(format));
        format!(
            "{},{},{},{},{}",
            self.legacy_version.wire(),
            decimal_list(self.cipher_suites.iter().copied()),
            decimal_list(self.extensions.iter().copied()),
            decimal_list(self.supported_groups.iter().copied()),
            decimal_list(point_formats),
        )
    }
}

/// `codes` without GREASE values, in decimal, separated by `-`.
fn decimal_list(codes: impl Iterator<Item = u16>) -> String {
    let mut list = String::new();
    for code in codes.filter(|&code| !is_grease(code)) {
        let separator = if list.is_empty() { "" } else { "-" };
        // Writing to a String cannot fail.
        let _ = write!(list, "{separator}{code}");
    }
    list
}

/// Matches a TLS ClientHello whose JA3 fingerprint is one of a set; see
/// [`tls_ja3`].
#[derive(Debug, Clone)]
pub struct TlsJa3 {
    fingerprints: FingerprintSet,
}

/// A matcher for a TLS ClientHello whose JA3 fingerprint
/// ([`ClientHelloFingerprint::ja3`]: 32 hex digits, in either case) is one
/// of `fingerprints`.
///
/// It says `NoMatch` from the first byte that cannot start a valid
/// ClientHello, and otherwise decides once the whole ClientHello is in
/// (usually 200 to 2,000 bytes; at most
/// [`TLS_MAX_CLIENT_HELLO_BYTES`](super::TLS_MAX_CLIENT_HELLO_BYTES)).
/// Nothing is allocated before then.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tls_ja3;
///
/// // `hello`: a TLS 1.3 ClientHello (its bytes are spelt out in the
/// // example of `client_hello_fingerprint`).
/// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 105, 0x01, 0x00, 0x00, 101, 0x03, 0x03];
/// # hello.extend([0u8; 32]);
/// # hello.extend([0x00, 0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f, 0x01, 0x00, 0x00, 56]);
/// # hello.extend([0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 16, 0x00, 14, 0x00, 0x00, 11]);
/// # hello.extend(b"example.com");
/// # hello.extend([0x00, 10, 0x00, 4, 0x00, 2, 0x00, 0x1d, 0x00, 13, 0x00, 4, 0x00, 2, 0x04, 0x03]);
/// # hello.extend([0x00, 16, 0x00, 5, 0x00, 3, 2, b'h', b'2', 0x00, 43, 0x00, 3, 2, 0x03, 0x04]);
/// let blocked = tls_ja3(["8895637CAC1617A0AC2D2EF56CF37391", "e7d705a3286e19ea42f587b344ee6865"]);
/// assert_eq!(blocked.verdict(&hello), Verdict::Match);
/// assert_eq!(blocked.verdict(&hello[..60]), Verdict::NeedMore);
/// assert_eq!(tls_ja3(["e7d705a3286e19ea42f587b344ee6865"]).verdict(&hello), Verdict::NoMatch);
/// assert_eq!(blocked.verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn tls_ja3<I, S>(fingerprints: I) -> TlsJa3
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let lower_case = fingerprints
        .into_iter()
        .map(|fingerprint| fingerprint.as_ref().to_ascii_lowercase().into_boxed_str());
    TlsJa3 {
        fingerprints: FingerprintSet::new(lower_case),
    }
}

impl Matcher for TlsJa3 {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        fingerprint_verdict(seen, |fingerprint| {
            self.fingerprints.contains(&fingerprint.ja3())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::tls::TlsVersion;

    #[test]
    fn lists_are_decimal_without_grease_and_empty_when_absent() {
        let mut hello = ClientHelloFingerprint::empty(TlsVersion::TLS1_0, TlsVersion::TLS1_2);
        assert_eq!(hello.ja3_string(), "771,,,,");
        hello.cipher_suites = vec![0x1a1a, 0x1301, 0xc02b, 0x00ff];
        hello.extensions = vec![0xfafa, 0x0000, 0xff01, 0x4a4a];
        hello.supported_groups = vec![0xcaca, 0x001d, 0x0017];
        hello.ec_point_formats = vec![0, 1, 2];
        assert_eq!(hello.ja3_string(), "771,4865-49195-255,0-65281,29-23,0-1-2");
    }

    #[test]
    fn the_readme_examples_hash_as_published() {
        // The two strings and hashes of Salesforce's JA3 README.
        let cases = [
            (
                "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0",
                "ada70206e40642a3e4461f35503241d5",
            ),
            (
                "769,4-5-10-9-100-98-3-6-19-18-99,,,",
                "de350869b8c85de67a350c8d186f11e6",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(lower_hex(&md5(text.as_bytes())), want, "{text}");
        }
    }

    #[test]
    fn the_matcher_lower_cases_its_fingerprints() {
        let set = tls_ja3(["ABC", "abc", "0F"]);
        assert!(set.fingerprints.contains("abc"));
        assert!(set.fingerprints.contains("0f"));
        assert!(!set.fingerprints.contains("ABC"));
    }
}
