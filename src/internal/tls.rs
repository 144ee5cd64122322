//! The `tls_client_hello` target: the TLS matchers against each other and
//! against [`client_hello_info`] and [`client_hello_fingerprint`], also
//! with the handshake message re-split into other records (RFC 8446
//! section 5.1).
//!
//! Running every check on every input is several times too slow for a
//! fuzzer, so each input gets its info and version compared, then one
//! [`Family`] of checks, which `sample::chosen_family` picks from a hash of
//! all of the input's bytes: any mutation can move an input to another
//! family, so the fuzzer takes every family through the inputs it keeps.
//! Within a family the input's last bytes choose further (`sample.rs`):
//! the two routes judged for monotonicity and the prefixes judged.

use std::sync::OnceLock;

use crate::matcher::{Matcher, Verdict};
use crate::matchers::{
    client_hello_fingerprint, client_hello_info, client_hello_version, tls, tls_alpn, tls_alpn_any,
    tls_ja3, tls_ja4, tls_sni, tls_versions, ClientHelloFingerprint, ClientHelloInfo, TlsVersion,
    TLS_MAX_CLIENT_HELLO_BYTES,
};

use super::checks::{is_exact_text, verdicts};
use super::sample::{check_chosen_routes_sampled, check_settles_sampled, chosen_family};

/// The TLS matchers the `tls_client_hello` harness runs, built once.
fn tls_routes() -> &'static [Box<dyn Matcher>] {
    static ROUTES: OnceLock<Vec<Box<dyn Matcher>>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        vec![
            Box::new(tls()),
            Box::new(tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3)),
            Box::new(tls_versions(TlsVersion::SSL3_0..=TlsVersion::TLS1_2)),
            Box::new(tls_sni("www.example.com")),
            Box::new(tls_sni("*.example.net")),
            Box::new(tls_sni(".example.org")),
            Box::new(tls_alpn("h2")),
            Box::new(tls_alpn_any(["http/1.1", "acme-tls/1"])),
            Box::new(
                tls()
                    .sni("api.example.net")
                    .alpn("h2")
                    .versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3),
            ),
            // OpenSSL 3.0's `s_client`, as in tests/fixtures.
            Box::new(tls_ja4(["t13d3111h2_e8f1e7e78f70_1f22a2ca17c4"])),
            Box::new(tls_ja3(["5a1edc7f170af1014fc65c994878e63c"])),
        ]
    })
}

/// A family of checks of the `tls_client_hello` target, one of which runs
/// on each input.
#[derive(Clone, Copy)]
enum Family {
    /// Two routes, chosen by the input's last bytes, are prefix-monotone
    /// (on a sample of prefixes) and the route decision is the same whole
    /// and in chunks.
    RouteTable,
    /// The info and the fingerprint, once there, never change.
    Settling,
    /// The filters agree with `tls()` and with the info, and the
    /// fingerprint with the matchers and the info.
    Agreement,
    /// The handshake message re-split into records whose sizes are taken
    /// from the input keeps its info, fingerprint and verdicts.
    ResplitBySizes,
    /// The same with one byte of the message per record.
    ResplitByteRecords,
}

/// Every [`Family`], in the order `sample::chosen_family` numbers them.
const FAMILIES: [Family; 5] = [
    Family::RouteTable,
    Family::Settling,
    Family::Agreement,
    Family::ResplitBySizes,
    Family::ResplitByteRecords,
];

/// The `tls_client_hello` target: the TLS matchers are prefix-monotone
/// and chunk-invariant; [`client_hello_info`] never changes once it has
/// answered and agrees with [`client_hello_version`]; a filtered matcher
/// matches only what `tls()` matches and says `NoMatch` whenever it does;
/// on a complete ClientHello every matcher has decided, `tls()` matches,
/// the version, server name and ALPN protocols the info reports are the
/// ones the filters match (and only those), and re-splitting the
/// handshake message into other records (sizes taken from the input, or
/// one byte per record) changes neither the info nor any verdict. A
/// fingerprint, once there, never changes, is had only by what `tls()`
/// matches, agrees with the info, names the ClientHello to the
/// fingerprint matchers, and survives the re-splitting too.
///
/// The version agreement is checked on every input, the rest by one
/// family of checks the input's bytes choose (see the module doc).
pub fn tls_client_hello(data: &[u8]) {
    check_family(FAMILIES[chosen_family(data, FAMILIES.len())], data);
}

/// Checks that [`client_hello_info`] agrees with [`client_hello_version`]
/// on `data`, and the checks of `family`.
fn check_family(family: Family, data: &[u8]) {
    let info = client_hello_info(data);
    assert_eq!(
        client_hello_version(data),
        info.as_ref().map(|info| info.version)
    );
    match family {
        Family::RouteTable => check_chosen_routes_sampled(tls_routes(), data),
        Family::Settling => check_extraction_settles(data),
        Family::Agreement => check_agreement(data, info.as_ref()),
        Family::ResplitBySizes => check_resplit(data, info, data),
        Family::ResplitByteRecords => check_resplit(data, info, &[0]),
    }
}

/// Checks that the info and the fingerprint of a sample of the prefixes
/// of `data` never change once there.
fn check_extraction_settles(data: &[u8]) {
    check_settles_sampled(
        "client_hello_info",
        data,
        client_hello_info,
        Option::is_some,
    );
    check_settles_sampled(
        "client_hello_fingerprint",
        data,
        client_hello_fingerprint,
        Option::is_some,
    );
}

/// Checks that the filters follow `tls()` on `data` and, on a complete
/// ClientHello (which `info` is from), have all decided and agree with
/// the info; and that its fingerprint agrees with the matchers and info.
fn check_agreement(data: &[u8], info: Option<&ClientHelloInfo>) {
    if let Some(fingerprint) = client_hello_fingerprint(data) {
        check_fingerprint(data, &fingerprint, info);
    }
    let any_tls = tls().verdict(data);
    for (index, matcher) in tls_routes().iter().enumerate() {
        let verdict = matcher.verdict(data);
        if any_tls == Verdict::NoMatch {
            assert_eq!(verdict, Verdict::NoMatch, "route {index} after tls()");
        }
        if verdict == Verdict::Match {
            assert_eq!(any_tls, Verdict::Match, "route {index} without tls()");
        }
        if info.is_some() {
            assert_ne!(verdict, Verdict::NeedMore, "route {index} on a whole hello");
        }
    }
    if let Some(info) = info {
        check_client_hello_info(data, info);
    }
}

/// Checks that the handshake message of the complete ClientHello in
/// `data` (which `info` is from), re-split into records with fragment
/// sizes from `sizes` (see [`into_records`]), has the same info,
/// fingerprint and verdicts.
fn check_resplit(data: &[u8], info: Option<ClientHelloInfo>, sizes: &[u8]) {
    let (Some(info), Some((record_minor, message))) = (info, handshake_message(data)) else {
        return;
    };
    let records = into_records(&message, record_minor, sizes);
    if records.len() > TLS_MAX_CLIENT_HELLO_BYTES {
        return;
    }
    assert_eq!(
        client_hello_info(&records).as_ref(),
        Some(&info),
        "re-split records"
    );
    assert_eq!(
        client_hello_fingerprint(&records),
        client_hello_fingerprint(data),
        "re-split records"
    );
    let routes = tls_routes();
    assert_eq!(
        verdicts(routes, &records),
        verdicts(routes, data),
        "re-split records"
    );
}

/// Checks that the filters of [`tls`] agree with what `client_hello_info`
/// reported for the complete ClientHello in `data`.
fn check_client_hello_info(data: &[u8], info: &ClientHelloInfo) {
    let verdict = |matcher: crate::matchers::Tls| matcher.verdict(data);
    assert_eq!(verdict(tls()), Verdict::Match);
    assert_eq!(
        verdict(tls_versions(info.version..=info.version)),
        Verdict::Match
    );
    if let Some(above) = info.version.wire().checked_add(1) {
        let higher = TlsVersion::from_wire(above)..=TlsVersion::from_wire(u16::MAX);
        assert_eq!(verdict(tls_versions(higher)), Verdict::NoMatch);
    }
    assert_eq!(verdict(tls().sni_any([""; 0])), Verdict::NoMatch);
    assert_eq!(verdict(tls().alpn_any([""; 0])), Verdict::NoMatch);
    // The server name, without one trailing dot, as the patterns see it.
    let name = info
        .sni
        .as_deref()
        .map(|name| name.strip_suffix('.').unwrap_or(name));
    for pattern in ["www.example.com", "api.example.net", "connmux.invalid"] {
        let named = name.is_some_and(|name| name.eq_ignore_ascii_case(pattern));
        assert_eq!(
            verdict(tls_sni(pattern)) == Verdict::Match,
            named,
            "tls_sni({pattern:?}) on {:?}",
            info.sni
        );
    }
    match (&info.sni, name) {
        (Some(sni), Some(name))
            if is_exact_text(sni)
                && !name.is_empty()
                && !name.starts_with('.')
                && !name.starts_with("*.") =>
        {
            assert_eq!(verdict(tls_sni(sni)), Verdict::Match, "{sni:?}");
            assert_eq!(
                verdict(tls_sni(sni.to_ascii_uppercase())),
                Verdict::Match,
                "{sni:?}"
            );
            assert_eq!(verdict(tls_sni(format!("{name}x"))), Verdict::NoMatch);
        }
        _ => {}
    }
    for protocol in &info.alpn {
        if is_exact_text(protocol) {
            assert_eq!(verdict(tls_alpn(protocol)), Verdict::Match, "{protocol:?}");
        }
    }
    for protocol in ["h2", "http/1.1", "acme-tls/1"] {
        assert_eq!(
            verdict(tls_alpn(protocol)) == Verdict::Match,
            info.alpn.iter().any(|listed| listed == protocol),
            "tls_alpn({protocol:?}) on {:?}",
            info.alpn
        );
    }
}

/// Checks the fingerprint of the complete ClientHello in `data` against the
/// matchers and against its info, if it has one.
pub(crate) fn check_fingerprint(
    data: &[u8],
    fingerprint: &ClientHelloFingerprint,
    info: Option<&ClientHelloInfo>,
) {
    assert_eq!(tls().verdict(data), Verdict::Match);
    assert_eq!(tls_ja4([fingerprint.ja4()]).verdict(data), Verdict::Match);
    assert_eq!(tls_ja3([fingerprint.ja3()]).verdict(data), Verdict::Match);
    if let Some(info) = info {
        let alpn: Vec<String> = fingerprint
            .alpn
            .iter()
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        assert_eq!(alpn, info.alpn);
        assert!(info.sni.is_none() || fingerprint.has_server_name());
    }
}

/// The handshake message at the start of the TLS records in `data`, with
/// the minor version of the first record, if the records hold all of it.
fn handshake_message(data: &[u8]) -> Option<(u8, Vec<u8>)> {
    let mut message = Vec::new();
    let mut rest = data;
    let mut record_minor = None;
    loop {
        if let Some(&[high, middle, low]) = message.get(1..4) {
            let total = 4 + (usize::from(high) << 16 | usize::from(middle) << 8 | usize::from(low));
            if message.len() >= total {
                message.truncate(total);
                return Some((record_minor?, message));
            }
        }
        let (header, after) = rest.split_at_checked(5)?;
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        record_minor.get_or_insert(header[2]);
        let (fragment, after) = after.split_at_checked(length)?;
        message.extend(fragment);
        rest = after;
    }
}

/// `message` in handshake records of version 3.`record_minor`, with
/// fragment sizes `b + 1` for the bytes `b` of `sizes`, cycled.
fn into_records(message: &[u8], record_minor: u8, sizes: &[u8]) -> Vec<u8> {
    let mut records = Vec::new();
    let mut rest = message;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (fragment, after) = rest.split_at((usize::from(size) + 1).min(rest.len()));
        let length = u16::try_from(fragment.len()).expect("at most 256 bytes");
        records.extend([22, 3, record_minor]);
        records.extend(length.to_be_bytes());
        records.extend(fragment);
        rest = after;
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal::check_route_table;
    use crate::internal::sample::seed_corpus;

    /// The harness runs one family of checks per input; its seeds go
    /// through every family, and every route through every prefix.
    #[test]
    fn every_seed_passes_every_family_of_checks() {
        let seeds = seed_corpus("tls_client_hello");
        assert!(seeds.len() >= 10, "seed corpus missing");
        for seed in &seeds {
            check_route_table(tls_routes(), seed);
            for family in FAMILIES {
                check_family(family, seed);
            }
        }
    }
}
