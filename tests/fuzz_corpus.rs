//! Replays every file of every fuzz seed corpus (`tests/corpus/<target>/`)
//! through the harness its cargo-fuzz target calls, on stable Rust, so CI
//! exercises them; and checks that the captures of real clients take the
//! route they should.
//!
//! The seeds live here rather than in the fuzz crate so that the published
//! crate, which cannot contain `fuzz/` (cargo never packages a directory
//! holding another `Cargo.toml`), still runs these tests; `fuzz/corpus` is
//! a symbolic link to them, where `cargo fuzz run` looks.

use std::fs;
use std::path::{Path, PathBuf};

use connmux::conformance::Conformance;
use connmux::internal::{self, decide_whole, standard_routes};
use connmux::matchers::{client_hello_version, TlsVersion};
use connmux::Verdict;

/// The seed corpora, one folder per cargo-fuzz target.
fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpora().join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// A harness of `connmux::internal`: panics when an invariant breaks.
type Harness = fn(&[u8]);

/// Every cargo-fuzz target (`fuzz/fuzz_targets/<name>.rs`) and its harness.
const TARGETS: &[(&str, Harness)] = &[
    ("route_decision", internal::route_decision),
    ("http1", internal::http1),
    ("hpack", internal::hpack),
    ("http2_frames", internal::http2_frames),
    ("tls_client_hello", internal::tls_client_hello),
    ("proxy_header", internal::proxy_header),
    ("pattern", internal::pattern),
    ("openings", internal::openings),
    ("conformance_template", conformance_template),
    ("timing", internal::timing),
];

/// The template target's matcher, `fuzz/fuzz_targets/conformance_template.rs`'s
/// `zap`, written as a user would: "ZAP", a version digit, a newline.
fn zap(seen: &[u8]) -> Verdict {
    let opening: [&[u8]; 5] = [b"Z", b"A", b"P", b"0123456789", b"\n"];
    if seen
        .iter()
        .zip(opening)
        .any(|(byte, allowed)| !allowed.contains(byte))
    {
        Verdict::NoMatch
    } else {
        [Verdict::NeedMore, Verdict::Match][usize::from(seen.len() >= 5)]
    }
}

/// The template target's body: the conformance kit on its matcher.
fn conformance_template(data: &[u8]) {
    Conformance::new(&zap).bound(5).fuzz(data);
}

/// Runs every file of `target`'s corpus through its harness.
fn replay(target: &str) {
    let (_, harness) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no harness for {target}"));
    let files = corpus(target);
    assert!(files.len() >= 10, "{target}: seed corpus missing");
    for (name, data) in &files {
        let outcome = std::panic::catch_unwind(|| harness(data));
        assert!(
            outcome.is_ok(),
            "{target}: corpus file {name} broke an invariant"
        );
    }
}

#[test]
fn route_decision_corpus_holds_its_invariants() {
    replay("route_decision");
}

#[test]
fn http1_corpus_holds_its_invariants() {
    replay("http1");
}

#[test]
fn hpack_corpus_holds_its_invariants() {
    replay("hpack");
}

#[test]
fn http2_frames_corpus_holds_its_invariants() {
    replay("http2_frames");
}

#[test]
fn tls_client_hello_corpus_holds_its_invariants() {
    replay("tls_client_hello");
}

#[test]
fn proxy_header_corpus_holds_its_invariants() {
    replay("proxy_header");
}

#[test]
fn pattern_corpus_holds_its_invariants() {
    replay("pattern");
}

#[test]
fn openings_corpus_holds_its_invariants() {
    replay("openings");
}

#[test]
fn conformance_template_corpus_holds_its_invariants() {
    replay("conformance_template");
}

#[test]
fn timing_corpus_holds_its_invariants() {
    replay("timing");
}

/// The names of the entries of `dir`, without extensions, sorted.
fn stems(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_fuzz_target_has_a_corpus_and_a_test() {
    let mut listed: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    listed.sort();
    assert_eq!(stems(&corpora()), listed, "tests/corpus/");
    // The fuzz crate is not published: the packaged crate has the corpora
    // but no targets to compare them with.
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    if targets.is_dir() {
        assert_eq!(stems(&targets), listed, "fuzz/fuzz_targets/");
    }
}

#[test]
fn captured_clients_take_their_routes() {
    let routes = standard_routes();
    let route_of = |name: &str| {
        let data = fs::read(corpora().join("route_decision").join(name)).unwrap();
        (decide_whole(&routes, &data), data)
    };
    // standard_routes: 0 gRPC, 1 HTTP/2, 2 WebSocket, 3 HTTP/1 by method,
    // 5 TLS to .example.com with h2, 6 TLS 1.3, 7 any TLS, 8 SSH, 9 SOCKS5,
    // 10 SOCKS4, 12 PostgreSQL, 13 MQTT, 14 Redis.
    assert_eq!(route_of("grpcio").0, Some(0));
    assert_eq!(route_of("curl-http2-prior-knowledge").0, Some(1));
    assert_eq!(route_of("websocket-client").0, Some(2));
    assert_eq!(route_of("curl-http1").0, Some(3));
    assert_eq!(route_of("http1-patch").0, Some(3));
    let (route, hello) = route_of("openssl-tls13-sni-alpn");
    assert_eq!(
        (route, client_hello_version(&hello)),
        (Some(5), Some(TlsVersion::TLS1_3))
    );
    let (route, hello) = route_of("curl-https");
    assert_eq!(
        (route, client_hello_version(&hello)),
        (Some(6), Some(TlsVersion::TLS1_3))
    );
    let (route, hello) = route_of("openssl-tls12");
    assert_eq!(
        (route, client_hello_version(&hello)),
        (Some(7), Some(TlsVersion::TLS1_2))
    );
    assert_eq!(route_of("ssh-banner").0, Some(8));
    assert_eq!(route_of("socks5-greeting").0, Some(9));
    assert_eq!(route_of("socks4-connect").0, Some(10));
    assert_eq!(route_of("socks4a-curl").0, Some(10));
    assert_eq!(route_of("psql-startup").0, Some(12));
    assert_eq!(route_of("mosquitto-mqtt5").0, Some(13));
    assert_eq!(route_of("redis-resp").0, Some(14));
    // A PROXY header is stripped before matching; left in, it is no
    // protocol's opening but the catch-all's.
    assert_eq!(route_of("haproxy-proxy-v1").0, Some(16));
}
