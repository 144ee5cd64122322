//! JA4 (FoxIO, 2023; `technical_details/JA4.md` of
//! <https://github.com/FoxIO-LLC/ja4>): a ClientHello named by three parts
//! joined by `_`, which sort the lists so that a client that shuffles its
//! extensions keeps one fingerprint:
//!
//! ```text
//! t13d1516h2_8daaf6152771_e5627efa2ab1
//! a: t              TLS over TCP (q for QUIC and d for DTLS are never seen here)
//!    13             the highest version of supported_versions, else legacy_version:
//!                   13 12 11 10 s3 s2 (d1 d2 d3 for DTLS), 00 for any other
//!    d              d with a server_name extension, i without
//!    15 16          how many cipher suites and extensions, at most 99
//!    h2             the first and last character of the first ALPN protocol, 00 without
//! b: 8daaf6152771   the first 12 hex digits of the SHA-256 of the cipher suites,
//!                   4 hex digits each, sorted, comma-separated
//! c: e5627efa2ab1   the same of the extension types, sorted, without server_name
//!                   and ALPN, then `_` and the signature algorithms in the client's
//!                   order (no `_` without them)
//! ```
//!
//! GREASE values are left out everywhere; an empty list hashes to
//! `000000000000`. `ja4_r` (raw) writes the lists of b and c instead of
//! their hashes.
//!
//! Where FoxIO's implementations disagree with the text of the spec, this
//! follows the text: a first ALPN protocol that begins or ends with a byte
//! other than an ASCII letter or digit is written as the first and last
//! digits of its hex (`0x61 0x20` is `60`, where FoxIO's Rust program
//! writes `a `), and a one-byte protocol gives its character twice. A
//! supported_versions extension with only GREASE values counts as absent.
//! GREASE signature algorithms, which Chromium sends, are left out, as
//! FoxIO's `ja4.py` and Wireshark plugin do.

use std::fmt::Write;

use super::digest::{lower_hex, sha256};
use super::fingerprint::{fingerprint_verdict, FingerprintSet};
use super::{is_grease, ClientHelloFingerprint, EXTENSION_ALPN, EXTENSION_SERVER_NAME};
use crate::matcher::{Matcher, Verdict};

/// What JA4 writes for an empty list, instead of a hash.
const EMPTY_LIST_HASH: &str = "000000000000";

impl ClientHelloFingerprint {
    /// The JA4 fingerprint, such as `t13d1516h2_8daaf6152771_e5627efa2ab1`
    /// (see the module documentation of `ja4.rs` for its parts).
    ///
    /// ```
    /// use connmux::matchers::client_hello_fingerprint;
    ///
    /// // `hello`: a TLS 1.3 ClientHello for "example.com" with two cipher
    /// // suites, a GREASE extension and five more, one signature algorithm
    /// // and ALPN "h2" (its bytes are spelt out in the example of
    /// // `client_hello_fingerprint`).
    /// # let mut hello = vec![0x16, 0x03, 0x01, 0x00, 105, 0x01, 0x00, 0x00, 101, 0x03, 0x03];
    /// # hello.extend([0u8; 32]);
    /// # hello.extend([0x00, 0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f, 0x01, 0x00, 0x00, 56]);
    /// # hello.extend([0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 16, 0x00, 14, 0x00, 0x00, 11]);
    /// # hello.extend(b"example.com");
    /// # hello.extend([0x00, 10, 0x00, 4, 0x00, 2, 0x00, 0x1d, 0x00, 13, 0x00, 4, 0x00, 2, 0x04, 0x03]);
    /// # hello.extend([0x00, 16, 0x00, 5, 0x00, 3, 2, b'h', b'2', 0x00, 43, 0x00, 3, 2, 0x03, 0x04]);
    /// let fingerprint = client_hello_fingerprint(&hello).unwrap();
    /// assert_eq!(fingerprint.ja4(), "t13d0205h2_c1929292aa6b_9a0586ea5dd0");
    /// ```
    pub fn ja4(&self) -> String {
        let parts = Ja4Parts::of(self);
        format!(
            "{}_{}_{}",
            parts.summary,
            truncated_sha256(&parts.cipher_suites),
            truncated_sha256(&parts.extensions_and_signature_algorithms)
        )
    }

    /// The raw JA4 fingerprint (FoxIO's `ja4_r`): [`ja4`](Self::ja4) with
    /// the hashed lists written out.
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
    /// assert_eq!(fingerprint.ja4_r(), "t13d0205h2_1301,c02f_000a,000d,002b_0403");
    /// ```
    pub fn ja4_r(&self) -> String {
        let parts = Ja4Parts::of(self);
        format!(
            "{}_{}_{}",
            parts.summary, parts.cipher_suites, parts.extensions_and_signature_algorithms
        )
    }
}

/// The three parts of JA4 before hashing.
struct Ja4Parts {
    /// Part a: `t13d1516h2`.
    summary: String,
    /// What part b hashes: `002f,0035,...`.
    cipher_suites: String,
    /// What part c hashes: `0005,000a,..._0403,0804,...`.
    extensions_and_signature_algorithms: String,
}

impl Ja4Parts {
    fn of(hello: &ClientHelloFingerprint) -> Ja4Parts {
        let mut cipher_suites = without_grease(&hello.cipher_suites);
        let extensions = without_grease(&hello.extensions);
        let summary = format!(
            "t{}{}{:02}{:02}{}",
            version_code(hello),
            if hello.has_server_name() { 'd' } else { 'i' },
            cipher_suites.len().min(99),
            extensions.len().min(99),
            alpn_code(hello.alpn.first().map(Vec::as_slice)),
        );
        cipher_suites.sort_unstable();
        let mut hashed_extensions: Vec<u16> = extensions
            .into_iter()
            .filter(|&code| code != EXTENSION_SERVER_NAME && code != EXTENSION_ALPN)
            .collect();
        hashed_extensions.sort_unstable();
        let mut extensions_and_signature_algorithms = hex_list(&hashed_extensions);
        let signature_algorithms = without_grease(&hello.signature_algorithms);
        if !signature_algorithms.is_empty() {
            extensions_and_signature_algorithms.push('_');
            extensions_and_signature_algorithms.push_str(&hex_list(&signature_algorithms));
        }
        Ja4Parts {
            summary,
            cipher_suites: hex_list(&cipher_suites),
            extensions_and_signature_algorithms,
        }
    }
}

fn without_grease(codes: &[u16]) -> Vec<u16> {
    codes
        .iter()
        .copied()
        .filter(|&code| !is_grease(code))
        .collect()
}

/// The version part: the highest non-GREASE value of supported_versions,
/// or the legacy version without one.
fn version_code(hello: &ClientHelloFingerprint) -> &'static str {
    let offered = hello
        .supported_versions
        .iter()
        .copied()
        .filter(|&code| !is_grease(code))
        .max();
    match offered.unwrap_or(hello.legacy_version.wire()) {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The ALPN part: the first and last characters of the first protocol
/// when both are ASCII letters or digits, else the first and last digits
/// of its hex; `00` without ALPN.
fn alpn_code(first_protocol: Option<&[u8]>) -> String {
    match first_protocol.unwrap_or_default() {
        [] => "00".to_owned(),
        [first, .., last] | [first @ last]
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() =>
        {
            format!("{}{}", char::from(*first), char::from(*last))
        }
        [first, .., last] | [first @ last] => format!("{:x}{:x}", first >> 4, last & 0x0f),
    }
}

/// `codes` as four lower-case hex digits each, comma-separated.
fn hex_list(codes: &[u16]) -> String {
    let mut list = String::with_capacity(5 * codes.len());
    for code in codes {
        let separator = if list.is_empty() { "" } else { "," };
        // Writing to a String cannot fail.
        let _ = write!(list, "{separator}{code:04x}");
    }
    list
}

/// The first 12 hex digits of the SHA-256 of `list`, or
/// [`EMPTY_LIST_HASH`] for an empty list.
fn truncated_sha256(list: &str) -> String {
    if list.is_empty() {
        return EMPTY_LIST_HASH.to_owned();
    }
    let digest = sha256(list.as_bytes());
    lower_hex(&digest[..6])
}

/// Matches a TLS ClientHello whose JA4 fingerprint is one of a set; see
/// [`tls_ja4`].
#[derive(Debug, Clone)]
pub struct TlsJa4 {
    fingerprints: FingerprintSet,
}

/// A matcher for a TLS ClientHello whose JA4 fingerprint
/// ([`ClientHelloFingerprint::ja4`], such as
/// `t13d1516h2_8daaf6152771_e5627efa2ab1`) is one of `fingerprints`,
/// compared byte for byte.
///
/// It says `NoMatch` from the first byte that cannot start a valid
/// ClientHello, and otherwise decides once the whole ClientHello is in
/// (usually 200 to 2,000 bytes; at most
/// [`TLS_MAX_CLIENT_HELLO_BYTES`](super::TLS_MAX_CLIENT_HELLO_BYTES)).
/// Nothing is allocated before then.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tls_ja4;
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
/// let known_bots = tls_ja4([
///     "t13d0205h2_c1929292aa6b_9a0586ea5dd0",
///     "t13d1516h2_8daaf6152771_e5627efa2ab1",
/// ]);
/// assert_eq!(known_bots.verdict(&hello), Verdict::Match);
/// assert_eq!(known_bots.verdict(&hello[..60]), Verdict::NeedMore);
/// assert_eq!(known_bots.verdict(b"SSH-2.0-OpenSSH_9.2\r\n"), Verdict::NoMatch);
/// let other = tls_ja4(["t13d1516h2_8daaf6152771_e5627efa2ab1"]);
/// assert_eq!(other.verdict(&hello), Verdict::NoMatch);
/// ```
pub fn tls_ja4<I, S>(fingerprints: I) -> TlsJa4
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let owned = fingerprints
        .into_iter()
        .map(|fingerprint| Box::from(fingerprint.as_ref()));
    TlsJa4 {
        fingerprints: FingerprintSet::new(owned),
    }
}

impl Matcher for TlsJa4 {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        fingerprint_verdict(seen, |fingerprint| {
            self.fingerprints.contains(&fingerprint.ja4())
        })
    }
}

#[cfg(test)]
mod tests;
