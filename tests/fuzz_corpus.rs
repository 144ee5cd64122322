//! Replays every file of the fuzz seed corpus (`fuzz/corpus/<target>/`)
//! through the same harness the cargo-fuzz targets call, on stable Rust,
//! so CI exercises it; and checks that the captures of real clients take
//! the route they should.

use std::fs;
use std::path::Path;

use connmux::fuzzing::{decide_whole, route_decision, standard_routes};
use connmux::matchers::{client_hello_version, TlsVersion};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
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

#[test]
fn route_decision_corpus_holds_its_invariants() {
    let files = corpus("route_decision");
    assert!(files.len() >= 10, "seed corpus missing");
    for (name, data) in &files {
        let outcome = std::panic::catch_unwind(|| route_decision(data));
        assert!(outcome.is_ok(), "corpus file {name} broke an invariant");
    }
}

#[test]
fn captured_clients_take_their_routes() {
    let routes = standard_routes();
    let route_of = |name: &str| {
        let data = fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/corpus/route_decision")
                .join(name),
        )
        .unwrap();
        (decide_whole(&routes, &data), data)
    };
    // standard_routes: 0 HTTP/2, 1 HTTP/1, 2 TLS 1.3, 3 any TLS, 4 SSH/SOCKS.
    assert_eq!(route_of("curl-http2-prior-knowledge").0, Some(0));
    assert_eq!(route_of("curl-http1").0, Some(1));
    assert_eq!(route_of("http1-patch").0, Some(1));
    let (route, hello) = route_of("openssl-tls13-sni-alpn");
    assert_eq!(
        (route, client_hello_version(&hello)),
        (Some(2), Some(TlsVersion::TLS1_3))
    );
    let (route, hello) = route_of("curl-https");
    assert_eq!(
        (route, client_hello_version(&hello)),
        (Some(2), Some(TlsVersion::TLS1_3))
    );
    let (route, hello) = route_of("openssl-tls12");
    assert_eq!(
        (route, client_hello_version(&hello)),
        (Some(3), Some(TlsVersion::TLS1_2))
    );
    assert_eq!(route_of("ssh-banner").0, Some(4));
    assert_eq!(route_of("socks5-greeting").0, Some(4));
    assert_eq!(route_of("socks4-connect").0, Some(4));
}
