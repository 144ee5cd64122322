//! The cost of one routing decision: nanoseconds per `verdict` call of each
//! built-in matcher on the bytes a real client sends first.
//!
//! Inputs are captured client openings (`tests/fixtures/`, see its
//! MANIFEST) and one built here for size: `benches/data/http2-browser-
//! headers.bin`, a browser's HTTP/2 preface, SETTINGS, WINDOW_UPDATE and a
//! 21-field Huffman-coded HEADERS block (made by
//! `benches/data/http2_browser_headers.py`). Each call sees the whole
//! opening at once, as a sniff does when the client's first segment holds
//! it; matchers are called through `&dyn Matcher`, as the mux calls them.
//!
//! Each case runs in batches until at least `MATCHERS_MIN_MS` (default 200)
//! milliseconds have passed, `MATCHERS_RUNS` (default 5) times; the table
//! shows the median and the fastest run. Rows with a target from issue 5
//! say whether the median meets it.
//!
//! Run: `cargo bench --bench matchers` (add a word to run only the cases
//! whose matcher or input contains it: `cargo bench --bench matchers -- tls`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use connmux::matchers::{
    grpc, http1, http1_fast, http1_header, http2_header, http2_preface, mqtt, postgres, redis,
    socks4, socks5, ssh, tls, tls_alpn, tls_sni, websocket, HTTP2_PREFACE,
};
use connmux::{Matcher, Verdict};

const HTTP1_CURL: &[u8] = include_bytes!("../tests/fixtures/http1-curl-get.bin");
const WEBSOCKET: &[u8] = include_bytes!("../tests/fixtures/websocket-client-upgrade.bin");
const HTTP2_BROWSER: &[u8] = include_bytes!("data/http2-browser-headers.bin");
const HTTP2_CURL: &[u8] = include_bytes!("../tests/fixtures/http2-curl-prior-knowledge.bin");
const GRPC: &[u8] = include_bytes!("../tests/fixtures/grpcio-after-settings.bin");
const TLS13_OPENSSL: &[u8] = include_bytes!("../tests/fixtures/tls13-openssl-sni-alpn.bin");
const TLS13_CURL: &[u8] = include_bytes!("../tests/fixtures/tls-curl-https-sni.bin");
const SSH: &[u8] = include_bytes!("../tests/fixtures/ssh-openssh.bin");
const SOCKS5: &[u8] = include_bytes!("../tests/fixtures/socks5-curl-greeting.bin");
const SOCKS4: &[u8] = include_bytes!("../tests/fixtures/socks4-curl.bin");
const REDIS: &[u8] = include_bytes!("../tests/fixtures/redis-cli-ping.bin");
const POSTGRES_STARTUP: &[u8] = include_bytes!("../tests/fixtures/postgres-psql-startup.bin");
const POSTGRES_SSL: &[u8] = include_bytes!("../tests/fixtures/postgres-psql-sslrequest.bin");
const MQTT311: &[u8] = include_bytes!("../tests/fixtures/mqtt311-mosquitto.bin");
const MQTT5: &[u8] = include_bytes!("../tests/fixtures/mqtt5-mosquitto.bin");

/// One measured decision: the matcher (and how to print it), the input
/// (and its name), the verdict it must give, and the target in
/// nanoseconds if it sets one.
struct Case {
    matcher_name: &'static str,
    matcher: Box<dyn Matcher>,
    input_name: &'static str,
    input: &'static [u8],
    expected: Verdict,
    target_ns: Option<f64>,
}

fn case(
    matcher_name: &'static str,
    matcher: impl Matcher + 'static,
    input_name: &'static str,
    input: &'static [u8],
    expected: Verdict,
) -> Case {
    Case {
        matcher_name,
        matcher: Box::new(matcher),
        input_name,
        input,
        expected,
        target_ns: None,
    }
}

impl Case {
    fn target(mut self, nanoseconds: f64) -> Case {
        self.target_ns = Some(nanoseconds);
        self
    }
}

fn cases() -> Vec<Case> {
    use Verdict::{Match, NoMatch};
    const FAST: f64 = 20.0;
    const CLIENT_HELLO: f64 = 300.0;
    const HEADER_BLOCK: f64 = 1000.0;
    vec![
        case("http1_fast", http1_fast(), "curl GET", HTTP1_CURL, Match).target(FAST),
        case("http1", http1(), "curl GET", HTTP1_CURL, Match),
        case(
            "http1_header(host)",
            http1_header("host", "127.0.0.1:44129"),
            "curl GET",
            HTTP1_CURL,
            Match,
        ),
        case(
            "http1_header(x-connmux-fixture)",
            http1_header("x-connmux-fixture", "curl-http1"),
            "curl GET",
            HTTP1_CURL,
            Match,
        ),
        case(
            "http1_header(x-tenant) absent",
            http1_header("x-tenant", "blue"),
            "curl GET",
            HTTP1_CURL,
            NoMatch,
        ),
        case(
            "websocket",
            websocket(),
            "websocket-client",
            WEBSOCKET,
            Match,
        ),
        case("websocket", websocket(), "curl GET", HTTP1_CURL, NoMatch),
        case(
            "http2_preface",
            http2_preface(),
            "preface",
            HTTP2_PREFACE,
            Match,
        )
        .target(FAST),
        case(
            "http2_preface",
            http2_preface(),
            "browser h2",
            HTTP2_BROWSER,
            Match,
        )
        .target(FAST),
        case(
            "http2_header(:authority)",
            http2_header(":authority", "www.example.com"),
            "browser h2",
            HTTP2_BROWSER,
            Match,
        )
        .target(HEADER_BLOCK),
        case(
            "http2_header(priority) last",
            http2_header("priority", "u=0, i"),
            "browser h2",
            HTTP2_BROWSER,
            Match,
        )
        .target(HEADER_BLOCK),
        case(
            "http2_header(x-tenant) absent",
            http2_header("x-tenant", "blue"),
            "browser h2",
            HTTP2_BROWSER,
            NoMatch,
        )
        .target(HEADER_BLOCK),
        case("grpc()", grpc(), "browser h2", HTTP2_BROWSER, NoMatch).target(HEADER_BLOCK),
        case("grpc()", grpc(), "grpcio", GRPC, Match),
        case(
            "http2_header(:authority)",
            http2_header(":authority", "127.0.0.1:41019"),
            "curl h2c",
            HTTP2_CURL,
            Match,
        ),
        case("tls()", tls(), "openssl 1.3", TLS13_OPENSSL, Match).target(CLIENT_HELLO),
        case("tls()", tls(), "curl 1.3", TLS13_CURL, Match).target(CLIENT_HELLO),
        case(
            "tls_sni",
            tls_sni("www.example.com"),
            "openssl 1.3",
            TLS13_OPENSSL,
            Match,
        )
        .target(CLIENT_HELLO),
        case(
            "tls_sni",
            tls_sni("api.example.net"),
            "curl 1.3",
            TLS13_CURL,
            Match,
        )
        .target(CLIENT_HELLO),
        case(
            "tls_sni(*.example.org) miss",
            tls_sni("*.example.org"),
            "curl 1.3",
            TLS13_CURL,
            NoMatch,
        )
        .target(CLIENT_HELLO),
        case(
            "tls_alpn(h2)",
            tls_alpn("h2"),
            "openssl 1.3",
            TLS13_OPENSSL,
            Match,
        )
        .target(CLIENT_HELLO),
        case(
            "tls_alpn(h2)",
            tls_alpn("h2"),
            "curl 1.3",
            TLS13_CURL,
            Match,
        )
        .target(CLIENT_HELLO),
        case(
            "tls_sni+alpn",
            tls_sni("api.example.net").alpn("h2"),
            "curl 1.3",
            TLS13_CURL,
            Match,
        )
        .target(CLIENT_HELLO),
        case("ssh", ssh(), "openssh", SSH, Match),
        case("socks5", socks5(), "curl greeting", SOCKS5, Match),
        case("socks4", socks4(), "curl", SOCKS4, Match),
        case("redis", redis(), "redis-cli PING", REDIS, Match),
        case(
            "postgres",
            postgres(),
            "psql startup",
            POSTGRES_STARTUP,
            Match,
        ),
        case(
            "postgres",
            postgres(),
            "psql SSLRequest",
            POSTGRES_SSL,
            Match,
        ),
        case("mqtt", mqtt(), "mosquitto 3.1.1", MQTT311, Match),
        case("mqtt", mqtt(), "mosquitto 5", MQTT5, Match),
        // What an earlier route that does not match costs the routes after it.
        case(
            "http1_fast",
            http1_fast(),
            "openssl 1.3",
            TLS13_OPENSSL,
            NoMatch,
        )
        .target(FAST),
        case(
            "http2_preface",
            http2_preface(),
            "curl GET",
            HTTP1_CURL,
            NoMatch,
        )
        .target(FAST),
        case("tls()", tls(), "curl GET", HTTP1_CURL, NoMatch),
        case("ssh", ssh(), "curl GET", HTTP1_CURL, NoMatch),
    ]
}

/// Calls `matcher` on `input` `iterations` times; returns the time taken.
fn run_batch(matcher: &dyn Matcher, input: &[u8], iterations: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        black_box(black_box(matcher).verdict(black_box(input)));
    }
    started.elapsed()
}

/// A batch size that takes about a tenth of `min_time`.
fn calibrate(matcher: &dyn Matcher, input: &[u8], min_time: Duration) -> u64 {
    let slice = min_time / 10;
    let mut iterations = 1u64;
    loop {
        let took = run_batch(matcher, input, iterations);
        if took >= slice / 4 {
            let scale = slice.as_secs_f64() / took.as_secs_f64();
            return ((iterations as f64 * scale).ceil() as u64).max(1);
        }
        iterations *= 2;
    }
}

/// Nanoseconds per call over batches run until `min_time` has passed.
fn measure_once(matcher: &dyn Matcher, input: &[u8], batch: u64, min_time: Duration) -> f64 {
    let mut elapsed = Duration::ZERO;
    let mut calls = 0u64;
    while elapsed < min_time {
        elapsed += run_batch(matcher, input, batch);
        calls += batch;
    }
    elapsed.as_nanos() as f64 / calls as f64
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let runs = env_or("MATCHERS_RUNS", 5).max(1) as usize;
    let min_time = Duration::from_millis(env_or("MATCHERS_MIN_MS", 200));
    println!(
        "ns per decision: median (and fastest) of {runs} runs of at least {} ms each",
        min_time.as_millis()
    );
    println!(
        "{:<32} {:<18} {:>5} {:>8} {:>10} {:>10}  target",
        "matcher", "input", "bytes", "verdict", "median ns", "min ns"
    );
    let mut missed = 0;
    for case in cases() {
        let selected = filters.is_empty()
            || filters.iter().any(|f| {
                case.matcher_name.contains(f.as_str()) || case.input_name.contains(f.as_str())
            });
        if !selected {
            continue;
        }
        let matcher = &*case.matcher;
        let verdict = matcher.verdict(case.input);
        assert_eq!(
            verdict, case.expected,
            "{} on {}: the input does not give the verdict the case is about",
            case.matcher_name, case.input_name
        );
        let batch = calibrate(matcher, case.input, min_time);
        let mut samples: Vec<f64> = (0..runs)
            .map(|_| measure_once(matcher, case.input, batch, min_time))
            .collect();
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        let target = match case.target_ns {
            Some(target) if median < target => format!("< {target:.0} ns: met"),
            Some(target) => {
                missed += 1;
                format!("< {target:.0} ns: MISSED")
            }
            None => String::new(),
        };
        println!(
            "{:<32} {:<18} {:>5} {:>8} {:>10.1} {:>10.1}  {target}",
            case.matcher_name,
            case.input_name,
            case.input.len(),
            format!("{verdict:?}"),
            median,
            samples[0],
        );
    }
    if missed > 0 {
        println!("{missed} case(s) missed the issue's target");
    }
}
