//! Who claims what: every capture from a real client (tests/fixtures/)
//! through every built-in protocol matcher. Each capture must be claimed
//! by its own protocol's matcher and by no other, but for the overlaps
//! that are right (a gRPC request is HTTP/2, a WebSocket handshake is
//! HTTP/1). So the order of routes matters only where protocols truly
//! overlap, and no matcher takes another's opening.
//!
//! `cargo test --test claims -- --nocapture` prints the table.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use connmux::matchers::{
    adb, dns, grpc, http1_fast, http2_preface, mqtt, openvpn, postgres, rdp, redis, socks4, socks5,
    ssh, syslog, tinc, tls, websocket, xmpp,
};
use connmux::{parse_proxy_header, Matcher, ProxyParse, Verdict};

/// Every built-in protocol matcher, by the name the MANIFEST gives its
/// protocol.
fn matchers() -> Vec<(&'static str, Box<dyn Matcher>)> {
    vec![
        ("http1", Box::new(http1_fast())),
        ("http2", Box::new(http2_preface())),
        ("grpc", Box::new(grpc())),
        ("websocket", Box::new(websocket())),
        ("tls", Box::new(tls())),
        ("ssh", Box::new(ssh())),
        ("socks5", Box::new(socks5())),
        ("socks4", Box::new(socks4())),
        ("redis", Box::new(redis())),
        ("postgres", Box::new(postgres())),
        ("mqtt", Box::new(mqtt())),
        ("openvpn", Box::new(openvpn())),
        ("rdp", Box::new(rdp())),
        ("tinc", Box::new(tinc())),
        ("adb", Box::new(adb())),
        ("syslog", Box::new(syslog())),
        ("dns", Box::new(dns())),
        ("xmpp", Box::new(xmpp())),
    ]
}

/// A capture of one protocol that another protocol's matcher is right to
/// claim too: (capture's protocol, the other matcher).
const RIGHT_OVERLAPS: &[(&str, &str)] = &[("grpc", "http2"), ("websocket", "http1")];

/// A capture its own protocol's matcher cannot claim from the bytes alone:
/// (file, matcher). grpcio sends its HEADERS only after the server's
/// SETTINGS, which a capture cannot answer (`Http2Header::send_settings`
/// does, on a live connection; `tests/grpc_interop.rs`).
const NEEDS_A_REPLY: &[(&str, &str)] = &[("grpcio-before-settings.bin", "grpc")];

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// (file, protocol) of every capture in the MANIFEST.
fn captures() -> Vec<(String, String)> {
    let manifest = fs::read_to_string(fixtures_dir().join("MANIFEST")).expect("MANIFEST");
    manifest
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut columns = line.split('\t');
            let file = columns.next().expect("FILE").to_owned();
            let protocol = columns.next().expect("PROTOCOL").to_owned();
            (file, protocol)
        })
        .collect()
}

/// Whether `matcher` takes `seen` as the whole of a client's opening, as
/// the multiplexer decides once the input has ended.
fn claims(matcher: &dyn Matcher, seen: &[u8]) -> bool {
    matcher.verdict(seen) == Verdict::Match || matcher.matches_at_end(seen)
}

#[test]
fn every_capture_is_claimed_by_its_protocol_alone() {
    let matchers = matchers();
    let known: BTreeSet<&str> = matchers.iter().map(|(name, _)| *name).collect();
    let mut table = Vec::new();
    let mut wrong = Vec::new();
    for (file, protocol) in captures() {
        let bytes = fs::read(fixtures_dir().join(&file)).expect("a capture");
        // The PROXY protocol is a layer before the matchers: they judge
        // what follows the header (an HTTP/1 request in these captures).
        let (seen, protocol) = match parse_proxy_header(&bytes) {
            ProxyParse::Complete { length, .. } => (&bytes[length..], "http1".to_owned()),
            _ => (&bytes[..], protocol),
        };
        let claimed: Vec<&str> = matchers
            .iter()
            .filter(|(_, matcher)| claims(&**matcher, seen))
            .map(|(name, _)| *name)
            .collect();
        let expected: BTreeSet<&str> = known
            .iter()
            .copied()
            .filter(|&name| {
                (name == protocol || RIGHT_OVERLAPS.contains(&(protocol.as_str(), name)))
                    && !NEEDS_A_REPLY.contains(&(file.as_str(), name))
            })
            .collect();
        if claimed.iter().copied().collect::<BTreeSet<_>>() != expected {
            wrong.push(format!(
                "{file} ({protocol}): claimed by {claimed:?}, expected {expected:?}"
            ));
        }
        table.push(format!("{file:<34} {protocol:<10} {}", claimed.join(" ")));
    }
    println!("{:<34} {:<10} claimed by", "capture", "protocol");
    for row in &table {
        println!("{row}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
