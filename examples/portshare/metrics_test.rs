//! The exposition text, read back by a parser of the format's line grammar
//! below, and the metrics server under slow and hostile clients.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// A bound on every wait in these tests.
const WAIT: Duration = Duration::from_secs(10);

#[test]
fn metrics_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Metrics>();
}

#[test]
fn empty_metrics_render_every_family() {
    let text = Metrics::new().render();
    let exposition = parse(&text);
    let families: Vec<&str> = exposition.types.keys().map(String::as_str).collect();
    assert_eq!(
        families,
        [
            "portshare_bytes_total",
            "portshare_connections_total",
            "portshare_dropped_bytes_total",
            "portshare_dropped_total",
            "portshare_open_connections",
            "portshare_refused_total",
            "portshare_reloads_total",
            "portshare_sniff_duration_seconds",
            "portshare_start_time_seconds",
        ]
    );
    assert_eq!(
        exposition.types["portshare_sniff_duration_seconds"],
        "histogram"
    );
    assert_eq!(exposition.types["portshare_open_connections"], "gauge");
    assert_eq!(exposition.types["portshare_connections_total"], "counter");
    assert_eq!(
        exposition.value("portshare_reloads_total", &[("result", "ok")]),
        0.0
    );
    let start = exposition.value("portshare_start_time_seconds", &[]);
    assert!(start > 1.7e9, "{start}");
}

#[test]
fn connections_are_counted_by_listener_route_and_outcome() {
    let metrics = Metrics::new();
    metrics.opened("0.0.0.0:443", "http1");
    metrics.opened("0.0.0.0:443", "http1");
    metrics.opened("0.0.0.0:443", "ssh");
    metrics.opened("[::]:8443", "http1");
    metrics.closed("0.0.0.0:443", "http1", "ok", 78, 1024);
    metrics.closed("0.0.0.0:443", "ssh", "reset", 21, 0);
    metrics.dropped("0.0.0.0:443", "no-match", 10);
    metrics.dropped("0.0.0.0:443", "no-match", 5);
    metrics.dropped("0.0.0.0:443", "timeout", 0);
    metrics.refused("[::]:8443", "source");
    metrics.reloaded(true);
    metrics.reloaded(false);
    metrics.reloaded(false);
    let exposition = parse(&metrics.render());
    let open = |listener, route| {
        exposition.value(
            "portshare_open_connections",
            &[("listener", listener), ("route", route)],
        )
    };
    assert_eq!(open("0.0.0.0:443", "http1"), 1.0);
    assert_eq!(open("0.0.0.0:443", "ssh"), 0.0);
    assert_eq!(open("[::]:8443", "http1"), 1.0);
    let ok = [
        ("listener", "0.0.0.0:443"),
        ("route", "http1"),
        ("outcome", "ok"),
    ];
    assert_eq!(exposition.value("portshare_connections_total", &ok), 1.0);
    let up = [
        ("listener", "0.0.0.0:443"),
        ("route", "http1"),
        ("direction", "up"),
    ];
    assert_eq!(exposition.value("portshare_bytes_total", &up), 78.0);
    let down = [
        ("listener", "0.0.0.0:443"),
        ("route", "ssh"),
        ("direction", "down"),
    ];
    assert_eq!(exposition.value("portshare_bytes_total", &down), 0.0);
    let no_match = [("listener", "0.0.0.0:443"), ("outcome", "no-match")];
    assert_eq!(exposition.value("portshare_dropped_total", &no_match), 2.0);
    assert_eq!(
        exposition.value("portshare_dropped_bytes_total", &no_match),
        15.0
    );
    let source = [("listener", "[::]:8443"), ("limit", "source")];
    assert_eq!(exposition.value("portshare_refused_total", &source), 1.0);
    assert_eq!(
        exposition.value("portshare_reloads_total", &[("result", "refused")]),
        2.0
    );
    // Only outcomes seen have a series: 2 of connections_total.
    let series = exposition
        .samples
        .iter()
        .filter(|s| s.name == "portshare_connections_total")
        .count();
    assert_eq!(series, 2);
}

#[test]
fn histogram_buckets_are_cumulative_and_count_matches() {
    let metrics = Metrics::new();
    let durations_us = [
        50, 100, 101, 900, 3_000, 3_000, 400_000, 2_000_000, 60_000_000,
    ];
    for us in durations_us {
        metrics.sniffed(Some("tls"), Duration::from_micros(us));
    }
    metrics.sniffed(None, Duration::from_millis(5000));
    let exposition = parse(&metrics.render());
    let buckets: Vec<(f64, f64)> = exposition
        .samples
        .iter()
        .filter(|s| s.name == "portshare_sniff_duration_seconds_bucket")
        .filter(|s| s.label("route") == Some("tls"))
        .map(|s| (parse_value(s.label("le").unwrap()), s.value))
        .collect();
    assert_eq!(buckets.len(), SNIFF_BUCKETS.len() + 1);
    assert_eq!(buckets.last().unwrap().0, f64::INFINITY);
    for pair in buckets.windows(2) {
        assert!(pair[0].0 < pair[1].0, "bounds ascend: {buckets:?}");
        assert!(pair[0].1 <= pair[1].1, "counts are cumulative: {buckets:?}");
    }
    // Each bucket counts the durations at most its bound (`le`).
    for &(bound, count) in &buckets {
        let expected = durations_us
            .iter()
            .filter(|&&us| us as f64 / 1e6 <= bound)
            .count();
        assert_eq!(count, expected as f64, "le={bound}");
    }
    let count = exposition.value(
        "portshare_sniff_duration_seconds_count",
        &[("route", "tls")],
    );
    assert_eq!(count, durations_us.len() as f64);
    let sum = exposition.value("portshare_sniff_duration_seconds_sum", &[("route", "tls")]);
    let expected: u64 = durations_us.iter().sum();
    assert!((sum - expected as f64 / 1e6).abs() < 1e-9, "{sum}");
    let none = exposition.value("portshare_sniff_duration_seconds_count", &[("route", "-")]);
    assert_eq!(none, 1.0);
    let le_5 = [("route", "-"), ("le", "5")];
    assert_eq!(
        exposition.value("portshare_sniff_duration_seconds_bucket", &le_5),
        1.0
    );
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    let hostile = "a\\b\"c\nd}e,f=\"g\" \u{fc}";
    metrics.opened(hostile, "tls-sni:*.example.com");
    metrics.refused(hostile, "x\ny");
    let text = metrics.render();
    assert!(
        text.contains("listener=\"a\\\\b\\\"c\\nd}e,f=\\\"g\\\" \u{fc}\""),
        "{text}"
    );
    let exposition = parse(&text);
    let labels = [("listener", hostile), ("route", "tls-sni:*.example.com")];
    assert_eq!(exposition.value("portshare_open_connections", &labels), 1.0);
    let labels = [("listener", hostile), ("limit", "x\ny")];
    assert_eq!(exposition.value("portshare_refused_total", &labels), 1.0);
}

#[test]
fn threads_count_together() {
    let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            thread::spawn(move || {
                let route = format!("route{}", i % 2);
                for _ in 0..1000 {
                    metrics.opened("l", &route);
                    metrics.closed("l", &route, "ok", 1, 2);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let exposition = parse(&metrics.render());
    let ok = [("listener", "l"), ("route", "route0"), ("outcome", "ok")];
    assert_eq!(exposition.value("portshare_connections_total", &ok), 2000.0);
    let open = [("listener", "l"), ("route", "route1")];
    assert_eq!(exposition.value("portshare_open_connections", &open), 0.0);
}

// --- the server ---------------------------------------------------------------

/// A metrics server on a free loopback port, giving clients `deadline`
/// (`None`: [`REQUEST_DEADLINE`], as [`serve`] does).
fn server(deadline: Option<Duration>) -> (SocketAddr, &'static Metrics) {
    let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
    metrics.opened("0.0.0.0:443", "http1");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    match deadline {
        Some(deadline) => serve_with_deadline(listener, metrics, deadline).unwrap(),
        None => serve(listener, metrics).unwrap(),
    };
    (addr, metrics)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    stream
}

/// Sends `request` and returns the status line, the headers and the body.
fn fetch(addr: SocketAddr, request: &str) -> (String, String, String) {
    let mut stream = connect(addr);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_owned(), body.to_owned())
}

#[test]
fn serves_metrics_and_refuses_the_rest() {
    let (addr, _) = server(None);
    for path in ["/metrics", "/", "/metrics?name[]=x"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
        let (status, headers, body) = fetch(addr, &request);
        assert_eq!(status, "HTTP/1.1 200 OK", "{path}");
        assert!(headers.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")));
        assert!(headers.contains(&format!("Content-Length: {}\r\n", body.len())));
        let exposition = parse(&body);
        let labels = [("listener", "0.0.0.0:443"), ("route", "http1")];
        assert_eq!(exposition.value("portshare_open_connections", &labels), 1.0);
    }
    let (status, headers, body) = fetch(addr, "HEAD /metrics HTTP/1.0\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(!headers.contains("Content-Length: 0\r\n"), "{headers}");
    assert_eq!(body, "");
    let (status, _, _) = fetch(addr, "GET /other HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, headers, _) = fetch(addr, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(headers.contains("Allow: GET, HEAD"), "{headers}");
    let (status, _, _) = fetch(addr, "GET /metrics\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
}

/// Scrapes once, and says how long it took.
fn timed_scrape(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let (status, _, _) = fetch(addr, "GET /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    started.elapsed()
}

#[test]
fn a_silent_client_delays_the_next_scrape_by_the_deadline_at_most() {
    let deadline = Duration::from_millis(200);
    let (addr, _) = server(Some(deadline));
    let silent = connect(addr);
    let took = timed_scrape(addr);
    assert!(took < deadline + Duration::from_secs(1), "{took:?}");
    // The silent client was closed.
    let mut silent = silent;
    assert_eq!(silent.read(&mut [0u8; 16]).unwrap_or(0), 0);
}

#[test]
fn a_trickling_client_is_cut_at_the_deadline() {
    let deadline = Duration::from_millis(300);
    let (addr, _) = server(Some(deadline));
    let mut trickle = connect(addr);
    let writer = thread::spawn(move || {
        // A byte every 50 ms: each read succeeds, but the whole request
        // never comes.
        for byte in b"GET /metrics HTTP/1.1\r\nX-Slow: "
            .iter()
            .cycle()
            .take(200)
        {
            if trickle.write_all(&[*byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    thread::sleep(Duration::from_millis(20));
    let took = timed_scrape(addr);
    assert!(took < deadline + Duration::from_secs(1), "{took:?}");
    writer.join().unwrap();
}

#[test]
fn a_client_sending_a_megabyte_is_refused_and_the_next_scrape_served() {
    let (addr, _) = server(Some(Duration::from_millis(500)));
    let mut flood = connect(addr);
    let writer = thread::spawn(move || {
        let megabyte = vec![b'a'; 1 << 20];
        // Refused after 8 KiB and closed: the write fails or stalls till
        // its timeout, both fine.
        let _ = flood.write_all(&megabyte);
        let _ = flood.shutdown(Shutdown::Both);
    });
    thread::sleep(Duration::from_millis(20));
    let took = timed_scrape(addr);
    assert!(took < Duration::from_secs(2), "{took:?}");
    writer.join().unwrap();
}

#[test]
fn a_request_head_too_large_gets_431() {
    let (addr, _) = server(None);
    let mut stream = connect(addr);
    let mut request = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
    request.resize(MAX_REQUEST_BYTES, b'a');
    stream.write_all(&request).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert!(
        response.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

// --- a parser of the text format (0.0.4) ------------------------------------

/// What a scrape holds: each metric's TYPE, and its samples.
struct Exposition {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(label, _)| label == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Exposition {
    /// The value of the one sample with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut found = self.samples.iter().filter(|sample| {
            sample.name == name
                && sample.labels.len() == labels.len()
                && labels.iter().all(|&(k, v)| sample.label(k) == Some(v))
        });
        let sample = found
            .next()
            .unwrap_or_else(|| panic!("no {name}{labels:?}"));
        assert!(found.next().is_none(), "{name}{labels:?} twice");
        sample.value
    }
}

/// Parses the text format's line grammar strictly: `# HELP name text`,
/// `# TYPE name type` before the metric's samples and once, samples
/// `name{label="value",...} value` whose name is the metric's (or, for
/// a histogram, its `_bucket`, `_sum` and `_count`), each metric's lines
/// together, and the file ending in a line feed. Panics on anything else.
fn parse(text: &str) -> Exposition {
    assert!(text.ends_with('\n'), "ends with a line feed");
    let mut exposition = Exposition {
        types: BTreeMap::new(),
        samples: Vec::new(),
    };
    let mut helps = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut series = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let (keyword, rest) = rest.split_once(' ').expect("a keyword");
            let (name, value) = rest.split_once(' ').expect("a name and a value");
            assert!(is_metric_name(name), "{line}");
            if current.as_deref() != Some(name) {
                assert!(
                    !exposition.types.contains_key(name) && !helps.contains_key(name),
                    "{name}'s lines are together"
                );
            }
            match keyword {
                "HELP" => assert!(helps.insert(name.to_owned(), value.to_owned()).is_none()),
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&value),
                        "{line}"
                    );
                    assert!(exposition
                        .types
                        .insert(name.to_owned(), value.to_owned())
                        .is_none());
                }
                _ => {}
            }
            current = Some(name.to_owned());
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
        let sample = parse_sample(line);
        let family = current.as_deref().expect("a TYPE before samples");
        let kind = exposition.types.get(family).expect("a TYPE before samples");
        let allowed = match kind.as_str() {
            "histogram" => {
                let suffix = sample.name.strip_prefix(family).unwrap_or("?");
                let le = sample.label("le");
                match suffix {
                    "_bucket" => parse_value(le.expect("le on a bucket")) >= 0.0,
                    "_sum" | "_count" => le.is_none(),
                    _ => false,
                }
            }
            _ => sample.name == family,
        };
        assert!(allowed, "{} in {family}", sample.name);
        assert!(
            series.insert(format!("{}{:?}", sample.name, sample.labels)),
            "a series twice: {line}"
        );
        exposition.samples.push(sample);
    }
    for name in exposition.types.keys() {
        assert!(helps.contains_key(name), "HELP of {name}");
    }
    exposition
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name`, `{label="value",...}` (values escaped: `\\`, `\"`, `\n`), a
/// space and the value (no timestamp: we write none).
fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect("a value");
    let name = &line[..name_end];
    assert!(is_metric_name(name), "{line}");
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after) = rest.split_once("=\"").expect("label=\"");
            assert!(is_label_name(label), "label {label:?} in {line}");
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                let (i, c) = chars.next().expect("a closing quote");
                match c {
                    '"' => break i,
                    '\\' => match chars.next().expect("an escape").1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => panic!("escape \\{other} in {line}"),
                    },
                    '\n' => panic!("a raw line feed"),
                    c => value.push(c),
                }
            };
            labels.push((label.to_owned(), value));
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let value = rest.strip_prefix(' ').expect("a space before the value");
    assert!(!value.contains(' '), "one value, no timestamp: {line}");
    Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(value),
    }
}

/// A sample value or `le` bound: a Go `ParseFloat` number, or `+Inf`,
/// `-Inf`, `NaN`.
fn parse_value(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => {
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)),
                "{text}"
            );
            text.parse().unwrap_or_else(|_| panic!("a number: {text}"))
        }
    }
}
