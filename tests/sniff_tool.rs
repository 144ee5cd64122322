//! The `sniff` example (`examples/sniff/`) run as a program: on every
//! capture in `tests/fixtures/` against `tests/fixtures/MANIFEST`, on
//! standard input, on garbage and on a malformed PROXY header, with
//! portshare's route specs given by `--route`, and its `--help` and
//! errors. That it names the route portshare takes is checked against
//! portshare itself in `tests/portshare_cli.rs`.
//!
//! `cargo test` builds the examples before it runs the tests; the binary is
//! found next to this test's own (`tests/common/example.rs`).
//!
//! How a MANIFEST line is compared with what the tool prints:
//!
//! - The printed protocol is the MANIFEST protocol, except `proxy-v1` and
//!   `proxy-v2`: the tool strips the PROXY header and names the protocol
//!   behind it, `http1` in those captures.
//! - Every MANIFEST key the tool also prints has the same value. Most keys
//!   have the same name in both; these are mapped (MANIFEST -> tool):
//!
//!   | MANIFEST | tool |
//!   | --- | --- |
//!   | `src`, `dst` of `proxy-v1`/`proxy-v2` | `proxy_src`, `proxy_dst` |
//!   | `payload.method`, `payload.target`, `payload.host` | `method`, `target`, `host` |
//!   | socks4 `userid`, `cmd` | `user`, `command` |
//!   | socks4 `dst=HOST:PORT` | `host=HOST` (SOCKS4a) or `ip=HOST`, and `port=PORT` |
//!
//!   MANIFEST keys the tool does not print (`frames`, `record_version`,
//!   `client`, `note`, ...) are not compared, but every capture must have
//!   at least one key compared.
//! - [`EXPECTED_DIFFERENCES`] lists the captures whose printed protocol
//!   differs from MANIFEST on purpose, with the reason.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;

use common::example::example_binary;

/// Captures the tool classifies differently from MANIFEST: (file, printed
/// protocol, why).
const EXPECTED_DIFFERENCES: &[(&str, &str, &str)] = &[(
    "grpcio-before-settings.bin",
    "http2",
    "grpcio sends no HEADERS until the server's SETTINGS arrive, so its bytes cannot tell \
     gRPC from any other HTTP/2 client (tests/fixtures/README.md); the tool says so with \
     headers=none, and a Mux routing grpc().send_settings() would send those SETTINGS",
)];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs the tool with `args`, feeding it `stdin`.
fn run_sniff(args: &[&OsStr], stdin: &[u8]) -> Output {
    let mut child = Command::new(example_binary("sniff"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the sniff example");
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        // The tool need not read all of it (help, errors).
        let _ = input.write_all(&stdin);
    });
    let output = child
        .wait_with_output()
        .expect("wait for the sniff example");
    writer.join().expect("stdin writer");
    output
}

/// The one line the tool printed on success.
fn sniff_line(args: &[&OsStr], stdin: &[u8]) -> String {
    let output = run_sniff(args, stdin);
    assert!(
        output.status.success(),
        "sniff {args:?} failed: {:?}, stderr {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("the line is ASCII");
    let line = stdout.strip_suffix('\n').expect("a line ending");
    assert!(!line.contains('\n'), "one line: {stdout:?}");
    line.to_string()
}

fn sniff_file(path: &Path) -> String {
    sniff_line(&[path.as_os_str()], b"")
}

fn sniff_stdin(bytes: &[u8]) -> String {
    sniff_line(&[], bytes)
}

/// A printed line, split: the protocol (`None` for `nomatch`) and the
/// `key=value` facts, values unquoted.
#[derive(Debug)]
struct Sniffed {
    protocol: Option<String>,
    facts: Vec<(String, String)>,
}

impl Sniffed {
    fn get(&self, key: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// Splits a line in the format `examples/sniff/line.rs` documents.
fn parse_line(line: &str) -> Sniffed {
    let (protocol, mut rest) = if let Some(rest) = line.strip_prefix("match ") {
        let (name, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        (Some(name.to_string()), rest)
    } else if let Some(rest) = line.strip_prefix("nomatch") {
        (None, rest.strip_prefix(' ').unwrap_or(rest))
    } else {
        panic!("neither match nor nomatch: {line:?}");
    };
    let mut facts = Vec::new();
    while !rest.is_empty() {
        let (key, after_key) = rest.split_once('=').expect("key=value");
        let (value, after_value) = match after_key.strip_prefix('"') {
            Some(quoted) => unquote(quoted),
            None => {
                let end = after_key.find(' ').unwrap_or(after_key.len());
                let (bare, after_value) = after_key.split_at(end);
                (bare.as_bytes().to_vec(), after_value)
            }
        };
        facts.push((
            key.to_string(),
            String::from_utf8_lossy(&value).into_owned(),
        ));
        rest = after_value.strip_prefix(' ').unwrap_or(after_value);
    }
    Sniffed { protocol, facts }
}

/// Reads a quoted value after its opening quote, undoing `escape_ascii`;
/// returns the bytes and what follows the closing quote.
fn unquote(quoted: &str) -> (Vec<u8>, &str) {
    let mut value = Vec::new();
    let mut bytes = quoted.bytes().enumerate();
    while let Some((at, byte)) = bytes.next() {
        match byte {
            b'"' => return (value, &quoted[at + 1..]),
            b'\\' => match bytes.next().expect("an escape").1 {
                b't' => value.push(b'\t'),
                b'r' => value.push(b'\r'),
                b'n' => value.push(b'\n'),
                b'x' => {
                    let hex = &quoted[at + 2..at + 4];
                    value.push(u8::from_str_radix(hex, 16).expect("\\xNN"));
                    bytes.nth(1);
                }
                escaped => value.push(escaped),
            },
            _ => value.push(byte),
        }
    }
    panic!("unterminated quoted value: {quoted:?}");
}

/// One MANIFEST line.
struct Capture {
    file: String,
    protocol: String,
    details: Vec<(String, String)>,
}

fn manifest() -> Vec<Capture> {
    let text = fs::read_to_string(fixtures_dir().join("MANIFEST")).expect("read MANIFEST");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut columns = line.split('\t');
            let mut column = || columns.next().expect("FILE<TAB>PROTOCOL<TAB>DETAILS");
            let (file, protocol, details) = (column(), column(), column());
            let details = details
                .split(' ')
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("key=value");
                    (key.to_string(), value.to_string())
                })
                .collect();
            Capture {
                file: file.to_string(),
                protocol: protocol.to_string(),
                details,
            }
        })
        .collect()
}

/// The protocol the tool names for a MANIFEST protocol.
fn printed_protocol(manifest_protocol: &str) -> &str {
    match manifest_protocol {
        // HAProxy relayed an HTTP/1 request in both captures.
        "proxy-v1" | "proxy-v2" => "http1",
        other => other,
    }
}

/// The value the tool prints for the MANIFEST key `key` of a capture of
/// `protocol`, if it prints one (see the table in the module docs).
fn printed_value(protocol: &str, key: &str, sniffed: &Sniffed) -> Option<String> {
    let is_proxy = protocol.starts_with("proxy-");
    let printed_key = match (protocol, key) {
        (_, "src") if is_proxy => "proxy_src",
        (_, "dst") if is_proxy => "proxy_dst",
        (_, "payload.method") => "method",
        (_, "payload.target") => "target",
        (_, "payload.host") => "host",
        ("socks4", "userid") => "user",
        ("socks4", "cmd") => "command",
        ("socks4", "dst") => {
            let host = sniffed.get("host").or_else(|| sniffed.get("ip"))?;
            return Some(format!("{host}:{}", sniffed.get("port")?));
        }
        (_, key) => key,
    };
    sniffed.get(printed_key).map(str::to_string)
}

#[test]
fn every_fixture_matches_its_manifest_line() {
    let captures = manifest();
    let mut on_disk: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("list tests/fixtures")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".bin"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = captures.iter().map(|c| c.file.clone()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every .bin file has one MANIFEST line");

    for capture in &captures {
        let line = sniff_file(&fixtures_dir().join(&capture.file));
        let sniffed = parse_line(&line);
        let expected_protocol = EXPECTED_DIFFERENCES
            .iter()
            .find(|(file, _, _)| *file == capture.file)
            .map_or(printed_protocol(&capture.protocol), |(_, printed, _)| {
                printed
            });
        assert_eq!(
            sniffed.protocol.as_deref(),
            Some(expected_protocol),
            "{}: {line}",
            capture.file
        );
        let mut compared = 0;
        for (key, want) in &capture.details {
            if let Some(got) = printed_value(&capture.protocol, key, &sniffed) {
                assert_eq!(&got, want, "{} key {key}: {line}", capture.file);
                compared += 1;
            }
        }
        assert!(compared > 0, "{}: nothing compared in {line}", capture.file);
    }
}

#[test]
fn proxy_captures_print_the_header_addresses() {
    for capture in manifest()
        .iter()
        .filter(|c| c.protocol.starts_with("proxy-"))
    {
        let sniffed = parse_line(&sniff_file(&fixtures_dir().join(&capture.file)));
        for (manifest_key, printed_key) in [("src", "proxy_src"), ("dst", "proxy_dst")] {
            let want = capture.details.iter().find(|(key, _)| key == manifest_key);
            assert_eq!(
                sniffed.get(printed_key),
                want.map(|(_, value)| value.as_str()),
                "{}",
                capture.file
            );
        }
    }
}

#[test]
fn standard_input_is_read_without_a_file_or_with_a_dash() {
    let path = fixtures_dir().join("tls13-openssl-sni-alpn.bin");
    let bytes = fs::read(&path).expect("read the fixture");
    let from_file = sniff_file(&path);
    assert_eq!(
        from_file,
        "match tls version=TLS1.3 sni=www.example.com alpn=h2,http/1.1 \
         ja4=t13d3111h2_e8f1e7e78f70_1f22a2ca17c4 ja3=5a1edc7f170af1014fc65c994878e63c"
    );
    assert_eq!(sniff_stdin(&bytes), from_file);
    assert_eq!(sniff_line(&[OsStr::new("-")], &bytes), from_file);
}

#[test]
fn ssh_openings_beyond_rfc_4253_are_ssh_without_software() {
    // What sslh routes as SSH (its tests send `SSH-2.0 hello`), and SSH 1:
    // the matcher takes them, the RFC 4253 parser reads no fields.
    assert_eq!(sniff_stdin(b"SSH-2.0 hello"), "match ssh");
    assert_eq!(sniff_stdin(b"SSH-1.5-OpenSSH_3.9p1\r\n"), "match ssh");
    assert_eq!(
        sniff_stdin(b"SSH-1.99-Cisco-1.25\r\n"),
        "match ssh software=Cisco-1.25"
    );
}

#[test]
fn routes_are_portshare_specs_tried_in_the_order_given() {
    let route = |specs: &[&str], input: &[u8]| {
        let args: Vec<&OsStr> = specs.iter().map(OsStr::new).collect();
        sniff_line(&args, input)
    };
    let ssh = b"SSH-2.0-OpenSSH_9.2p1\r\n";
    assert_eq!(
        route(&["--route", "any", "--route", "ssh"], ssh),
        "match any"
    );
    // portshare's own --route options, backends and all.
    assert_eq!(
        route(
            &["--route", "ssh=127.0.0.1:22", "--route=any=/run/x.sock"],
            ssh
        ),
        "match ssh software=OpenSSH_9.2p1"
    );
    let hello = fs::read(fixtures_dir().join("tls13-openssl-sni-alpn.bin")).unwrap();
    assert_eq!(
        route(&["--route", "tls-sni:*.example.com"], &hello),
        "match tls-sni:*.example.com version=TLS1.3 sni=www.example.com alpn=h2,http/1.1 \
         ja4=t13d3111h2_e8f1e7e78f70_1f22a2ca17c4 ja3=5a1edc7f170af1014fc65c994878e63c"
    );
    assert_eq!(
        route(&["--route", "tls-sni:example.org"], &hello),
        "nomatch"
    );
    assert_eq!(
        route(&["--route", "tls-alpn:http/1.1,h3"], &hello),
        "match tls-alpn:http/1.1,h3 version=TLS1.3 sni=www.example.com alpn=h2,http/1.1 \
         ja4=t13d3111h2_e8f1e7e78f70_1f22a2ca17c4 ja3=5a1edc7f170af1014fc65c994878e63c"
    );
    // A client that sent nothing is what a silence route takes.
    assert_eq!(
        route(&["--route", "http1", "--route", "silence"], b""),
        "match silence"
    );
    assert_eq!(
        route(&["--route", "redis"], b"PING\r\n"),
        "match redis command=PING"
    );
    assert_eq!(route(&["--route", "redis"], b"hello world\n"), "nomatch");
}

#[test]
fn http1_is_decided_at_the_method_as_portshare_does() {
    // portshare's http1 route is http1_fast: a request line still arriving
    // is HTTP/1 (without facts: http1_request wants the whole line), and a
    // method outside the IANA registry is not.
    assert_eq!(sniff_stdin(b"GET /index.html HTT"), "match http1");
    assert_eq!(
        sniff_stdin(b"PURGE /cache HTTP/1.1\r\nHost: a\r\n\r\n"),
        "nomatch"
    );
}

#[test]
fn garbage_and_empty_input_are_nomatch() {
    assert_eq!(sniff_stdin(b"\xff\xfe\xfd\xfc not a protocol"), "nomatch");
    assert_eq!(sniff_stdin(b""), "nomatch");
    // Input that ends inside a PROXY header is judged as the client's own
    // bytes, as ProxyMode::Optional does.
    assert_eq!(sniff_stdin(b"PROXY TCP4 192.0.2.1"), "nomatch");
}

#[test]
fn a_malformed_proxy_header_is_nomatch_with_the_error() {
    let line = sniff_stdin(b"PROXY TCP4 192.0.2.1 10.0.0.1 5555 65536\r\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        line,
        "nomatch proxy_error=\"v1 destination port out of range (above 65535)\""
    );
}

#[test]
fn the_protocol_behind_a_proxy_header_is_classified() {
    let v1 =
        b"PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    assert_eq!(
        sniff_stdin(v1),
        "match http1 proxy_src=192.0.2.1:5555 proxy_dst=10.0.0.1:80 \
         method=GET host=example.com target=/ version=HTTP/1.1"
    );
    let local_v2 = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00SSH-2.0-OpenSSH_9.2p1\r\n";
    assert_eq!(
        sniff_stdin(local_v2),
        "match ssh proxy=local software=OpenSSH_9.2p1"
    );
    assert_eq!(
        sniff_stdin(b"PROXY UNKNOWN\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        "match tls proxy=unknown"
    );
    assert_eq!(
        sniff_stdin(b"PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\n\xff"),
        "nomatch proxy_src=192.0.2.1:5555 proxy_dst=10.0.0.1:80"
    );
}

#[test]
fn odd_values_are_quoted_and_escaped_on_one_line() {
    let request = b"GET /a%20b HTTP/1.0\r\nHost: \"caf\xc3\xa9\" it's\\\t\r\n\r\n";
    let line = sniff_stdin(request);
    assert_eq!(
        line,
        r#"match http1 method=GET host="\"caf\xc3\xa9\" it\'s\\" target=/a%20b version=HTTP/1.0"#
    );
    let sniffed = parse_line(&line);
    assert_eq!(sniffed.get("host"), Some("\"café\" it's\\"));

    let socks4_no_user = b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00";
    assert_eq!(
        sniff_stdin(socks4_no_user),
        r#"match socks4 command=connect user="" ip=127.0.0.1 port=80"#
    );
}

#[test]
fn help_prints_usage_with_an_example() {
    for flag in ["--help", "-h"] {
        let output = run_sniff(&[OsStr::new(flag)], b"");
        assert!(output.status.success());
        let usage = String::from_utf8(output.stdout).expect("UTF-8 usage");
        assert!(usage.starts_with(
            "Usage: cargo run --example sniff -- [--explain] [--route SPEC ...] \
             [--routes LIST|CONFIG] [FILE]"
        ));
        assert!(usage.contains("Examples:"), "{usage}");
        assert!(usage.contains("--explain --routes"), "{usage}");
        assert!(usage.contains("match http1 proxy_src="), "{usage}");
        // portshare's specs, from the file both examples share.
        for spec in [
            "http1 ",
            "grpc ",
            "tls-sni:HOST",
            "tls-alpn:PROTO",
            "silence ",
            "any ",
        ] {
            assert!(usage.contains(spec), "{spec}: {usage}");
        }
    }
}

#[test]
fn a_missing_file_is_an_error_with_exit_code_2() {
    let missing = fixtures_dir().join("no-such-capture.bin");
    let output = run_sniff(&[missing.as_os_str()], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("sniff: cannot read '") && stderr.contains("no-such-capture.bin"),
        "{stderr}"
    );
}

#[test]
fn wrong_arguments_are_an_error_with_exit_code_2() {
    for args in [
        &["a.bin", "b.bin"][..],
        &["--verbose"],
        &["--route"],
        &["--route", "gopher"],
        &["--route=tls-sni"],
        &["--routes", "ssh gopher"],
        &["--routes"],
        &["--routes", " "],
        &["--routesx"],
    ] {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let output = run_sniff(&args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty());
        assert!(String::from_utf8_lossy(&output.stderr).contains("--help"));
    }
}

#[test]
fn routes_by_address_see_the_capture_s_proxy_header() {
    let route = |specs: &[&str], input: &[u8]| {
        let args: Vec<&OsStr> = specs.iter().map(OsStr::new).collect();
        sniff_line(&args, input)
    };
    let routes = [
        "--route",
        "ssh+from:10.0.0.0/8",
        "--route",
        "to:192.0.2.0/24",
    ];
    let mut relayed = b"PROXY TCP4 10.1.2.3 198.51.100.1 40000 22\r\n".to_vec();
    relayed.extend_from_slice(b"SSH-2.0-OpenSSH_9.2p1\r\n");
    assert_eq!(
        route(&routes, &relayed),
        "match ssh+from:10.0.0.0/8 proxy_src=10.1.2.3:40000 proxy_dst=198.51.100.1:22 \
         software=OpenSSH_9.2p1"
    );
    let to_doc_net = b"PROXY TCP4 203.0.113.1 192.0.2.80 40000 22\r\nSSH-2.0-x\r\n";
    assert_eq!(
        route(&routes, to_doc_net),
        "match to:192.0.2.0/24 proxy_src=203.0.113.1:40000 proxy_dst=192.0.2.80:22"
    );
    // Without a header a capture has no addresses: no route by address.
    assert_eq!(route(&routes, b"SSH-2.0-OpenSSH_9.2p1\r\n"), "nomatch");
}

#[test]
fn a_pattern_route_takes_what_fits_it() {
    let route =
        |spec: &str, input: &[u8]| sniff_line(&[OsStr::new("--route"), OsStr::new(spec)], input);
    let helo = "pattern:HELO [a-z.]{1,32}\\r\\n";
    assert_eq!(
        route(helo, b"HELO mail.example\r\n"),
        format!("match {helo}")
    );
    assert_eq!(route(helo, b"HELO MAIL\r\n"), "nomatch");
    // `=` written \x3d, as the spec's separators require.
    assert_eq!(
        route("pattern:key\\x3d[0-9]", b"key=7"),
        "match pattern:key\\x3d[0-9]"
    );
    let output = run_sniff(&[OsStr::new("--route"), OsStr::new("pattern:[a-")], b"");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a pattern: at byte"), "{stderr}");
}

#[test]
fn a_ja4_route_takes_the_client_with_that_fingerprint() {
    let hello = fs::read(fixtures_dir().join("tls13-openssl-sni-alpn.bin")).unwrap();
    let route = |spec: &str| sniff_line(&[OsStr::new("--route"), OsStr::new(spec)], &hello);
    // openssl s_client's, as FoxIO's ja4.py computes it (src/matchers/tls/fingerprint/tests.rs).
    let openssl = "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4";
    assert!(route(&format!("tls-ja4:{openssl}")).starts_with(&format!("match tls-ja4:{openssl} ")));
    let curl = "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6";
    assert_eq!(route(&format!("tls-ja4:{curl}")), "nomatch");
}

/// What the tool prints with `args`, line by line, after a success.
fn sniff_lines(args: &[&OsStr]) -> Vec<String> {
    let output = run_sniff(args, b"");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn explain_shows_each_route_s_verdict_at_its_byte() {
    let capture = fixtures_dir().join("tls-curl-https-sni.bin");
    let lines = sniff_lines(&[
        "--explain".as_ref(),
        "--routes".as_ref(),
        "ssh, tls-sni:api.example.net, http1".as_ref(),
        capture.as_os_str(),
    ]);
    assert!(
        lines[0].starts_with("match tls-sni:api.example.net "),
        "{lines:?}"
    );
    // The matcher has its answer once the server_name extension is read,
    // at byte 167 of the 517-byte ClientHello; http1 is never asked.
    assert_eq!(
        lines[1..],
        [
            "explain: tls-sni:api.example.net took it, ended by a match after 517 bytes",
            "  ssh NoMatch at byte 0",
            "  tls-sni:api.example.net Match at byte 167",
            "  http1 not asked",
        ]
    );
}

#[test]
fn explain_shows_what_held_the_decision_up_and_the_answers_at_the_end() {
    let capture = fixtures_dir().join("http1-curl-get.bin");
    let lines = sniff_lines(&[
        "--explain".as_ref(),
        "--routes".as_ref(),
        "pattern:GET\\x20/never tls any".as_ref(),
        capture.as_os_str(),
    ]);
    assert!(lines[0].starts_with("match any"), "{lines:?}");
    assert_eq!(
        lines[1],
        "explain: any took it, ended by a match after 125 bytes"
    );
    assert_eq!(lines[2], "  pattern:GET\\x20/never NoMatch at byte 5");
    assert_eq!(lines[3], "  tls NoMatch at byte 0");
    assert_eq!(lines[4], "  any Match before any byte");
}

#[test]
fn routes_read_a_portshare_configuration_s_route_lines() {
    let dir = std::env::temp_dir().join(format!("sniff-routes-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let config = dir.join("portshare.conf");
    fs::write(
        &config,
        "# as deployed\nlisten 0.0.0.0:443\nroute ssh=127.0.0.1:22\n\
         route tls-sni:a.example,api.example.net=10.0.0.2:443 send-proxy=v2\n\
         route http1=127.0.0.1:8080 name=web\ntimeout 2000\n",
    )
    .unwrap();
    let capture = fixtures_dir().join("tls-curl-https-sni.bin");
    let lines = sniff_lines(&[
        "--explain".as_ref(),
        "--routes".as_ref(),
        config.as_os_str(),
        capture.as_os_str(),
    ]);
    fs::remove_dir_all(&dir).unwrap();
    assert!(
        lines[0].starts_with("match tls-sni:a.example,api.example.net "),
        "{lines:?}"
    );
    assert_eq!(lines[2], "  ssh NoMatch at byte 0");
    assert_eq!(lines.len(), 5, "{lines:?}");
}

#[test]
fn explain_says_no_route_took_it_and_why() {
    let capture = fixtures_dir().join("ssh-openssh.bin");
    let lines = sniff_lines(&[
        "--explain".as_ref(),
        "--routes=tls http1".as_ref(),
        capture.as_os_str(),
    ]);
    assert_eq!(
        lines,
        [
            "nomatch",
            "explain: no route took it, ended by every route refusing after 40 bytes",
            "  tls NoMatch at byte 0",
            "  http1 NoMatch at byte 1",
        ]
    );
    let output = run_sniff(&["--routes".as_ref(), "".as_ref()], b"");
    assert_eq!(output.status.code(), Some(2));
}
