//! Prometheus metrics: counters the connection threads update as
//! connections open, end, are dropped or refused, and a small HTTP server
//! that answers `GET /metrics` with them in the text exposition format,
//! version 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>).
//!
//! Every metric is named `portshare_...`:
//!
//! | metric | type | labels | what it counts |
//! |---|---|---|---|
//! | `portshare_connections_total` | counter | `listener`, `route`, `outcome` | connections a route took, by how they ended (`ok`, `reset`, `backend-refused`, ...) |
//! | `portshare_bytes_total` | counter | `listener`, `route`, `direction` | bytes forwarded: `up` client to backend (the sniffed ones included), `down` backend to client |
//! | `portshare_open_connections` | gauge | `listener`, `route` | connections a route took that have not ended |
//! | `portshare_dropped_total` | counter | `listener`, `outcome` | connections no route took (`no-match`, `timeout`, ...) |
//! | `portshare_dropped_bytes_total` | counter | `listener`, `outcome` | the bytes sniffed from those before they were dropped |
//! | `portshare_refused_total` | counter | `listener`, `limit` | connections a limit refused (`global`, `listener`, `route`, `source`) |
//! | `portshare_sniff_duration_seconds` | histogram | `route` (`-`: none) | from accept to the route's choice, or to giving up |
//! | `portshare_reloads_total` | counter | `result` (`ok`, `refused`) | configuration reloads |
//! | `portshare_start_time_seconds` | gauge | | when the process started, in seconds since the Unix epoch |
//!
//! Routes come and go with reloads, so the label sets are found at run
//! time: the counters live in maps behind one `Mutex`. A connection costs
//! two or three short critical sections (opened, sniffed, closed), each a
//! few map look-ups by `&str` and no allocation once its label set has
//! been seen; set against the connection's own syscalls and thread
//! wake-ups that is noise, and contention needs tens of thousands of
//! connections a second. Atomics per series would still need the map
//! (behind a lock) to find them. A scrape holds the lock while it formats,
//! a few microseconds per series.
//!
//! Values are never reset, so a route a reload removed keeps its series
//! with their last values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The upper bounds of the sniff-duration histogram's buckets, in
/// seconds: from 100 µs (a request in the first packet, on loopback) to
/// 10 s (past any sniff deadline: the default is 5 s).
const SNIFF_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The route label of a sniff that chose no route.
const NO_ROUTE: &str = "-";

/// The largest request head the metrics server reads: a scraper sends one
/// line and a few headers.
const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// How long a scraper has to send its request, and then to take the
/// response: the whole of it, not each read, so that a client sending a
/// byte at a time holds the (single) serving thread no longer.
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

/// How long the metrics server waits after a failed `accept` (EMFILE, ...)
/// before the next, rather than spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The `Content-Type` of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric, shared by all threads.
pub(crate) struct Metrics {
    start_time: SystemTime,
    counters: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    /// By listener, then route.
    routes: BTreeMap<String, BTreeMap<String, RouteCounters>>,
    /// By listener, then outcome.
    drops: BTreeMap<String, BTreeMap<String, DropCounters>>,
    /// By listener, then limit.
    refusals: BTreeMap<String, BTreeMap<String, u64>>,
    /// By route (`-` for none).
    sniffs: BTreeMap<String, Histogram>,
    reloads_ok: u64,
    reloads_refused: u64,
}

#[derive(Default)]
struct RouteCounters {
    /// Signed: a `closed` without its `opened` shows as a negative gauge
    /// rather than a wrapped one.
    open: i64,
    up: u64,
    down: u64,
    /// Connections ended, by outcome.
    outcomes: BTreeMap<String, u64>,
}

#[derive(Default)]
struct DropCounters {
    connections: u64,
    sniffed_bytes: u64,
}

#[derive(Default)]
struct Histogram {
    /// Not cumulative: `buckets[i]` counts durations in
    /// `(SNIFF_BUCKETS[i - 1], SNIFF_BUCKETS[i]]`, the last one those above
    /// every bound.
    buckets: [u64; SNIFF_BUCKETS.len() + 1],
    sum_seconds: f64,
}

impl Metrics {
    /// Metrics with every counter at zero, started now.
    pub(crate) fn new() -> Metrics {
        Metrics {
            start_time: SystemTime::now(),
            counters: Mutex::new(Counters::default()),
        }
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        // A panic elsewhere while counting leaves counts that are still
        // worth serving.
        self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A route took a connection (counts open connections by route). Each
    /// `opened` is to be followed by one [`closed`](Self::closed).
    pub(crate) fn opened(&self, listener: &str, route: &str) {
        let mut counters = self.counters();
        entry(entry(&mut counters.routes, listener), route).open += 1;
    }

    /// A forwarded connection ended: its outcome word (`ok`, `reset`,
    /// `error`, `backend-refused`, `backend-timeout`, `backend-error`,
    /// `idle-timeout`, ...), the bytes up (client to backend) and down.
    pub(crate) fn closed(&self, listener: &str, route: &str, outcome: &str, up: u64, down: u64) {
        let mut counters = self.counters();
        let route = entry(entry(&mut counters.routes, listener), route);
        route.open -= 1;
        route.up += up;
        route.down += down;
        *entry(&mut route.outcomes, outcome) += 1;
    }

    /// A connection no route took (outcome: `no-match`, `timeout`,
    /// `bad-proxy-header`, `untrusted-proxy`, `source-limit`,
    /// `client-error`, `shutdown`, `dropped`), with the bytes sniffed.
    pub(crate) fn dropped(&self, listener: &str, outcome: &str, sniffed: u64) {
        let mut counters = self.counters();
        let drop = entry(entry(&mut counters.drops, listener), outcome);
        drop.connections += 1;
        drop.sniffed_bytes += sniffed;
    }

    /// A connection refused by a limit: which (`global`, `listener`,
    /// `route`, `source`). It is counted here only, not as opened or
    /// dropped.
    pub(crate) fn refused(&self, listener: &str, limit: &str) {
        let mut counters = self.counters();
        *entry(entry(&mut counters.refusals, listener), limit) += 1;
    }

    /// How long a sniff took, and which route it chose (`None`: no route).
    pub(crate) fn sniffed(&self, route: Option<&str>, duration: Duration) {
        let seconds = duration.as_secs_f64();
        // `le` is inclusive: a duration equal to a bound is in its bucket.
        let bucket = SNIFF_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(SNIFF_BUCKETS.len());
        let mut counters = self.counters();
        let histogram = entry(&mut counters.sniffs, route.unwrap_or(NO_ROUTE));
        histogram.buckets[bucket] += 1;
        histogram.sum_seconds += seconds;
    }

    /// A configuration reload: `ok`, or refused (the old configuration
    /// stays).
    pub(crate) fn reloaded(&self, ok: bool) {
        let mut counters = self.counters();
        match ok {
            true => counters.reloads_ok += 1,
            false => counters.reloads_refused += 1,
        }
    }

    /// The Prometheus text exposition format (version 0.0.4) of every
    /// metric: a `# HELP` and a `# TYPE` line per metric, then its
    /// samples, in a fixed order.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let counters = self.counters();
        family(
            &mut out,
            "portshare_connections_total",
            "counter",
            "Connections a route took, by how they ended.",
        );
        for (listener, routes) in &counters.routes {
            for (route, counts) in routes {
                for (outcome, count) in &counts.outcomes {
                    let labels = [
                        ("listener", listener),
                        ("route", route),
                        ("outcome", outcome),
                    ];
                    sample(&mut out, "portshare_connections_total", &labels, count);
                }
            }
        }
        family(
            &mut out,
            "portshare_bytes_total",
            "counter",
            "Bytes forwarded: up from client to backend (the sniffed ones included), down from backend to client.",
        );
        for (listener, routes) in &counters.routes {
            for (route, counts) in routes {
                for (direction, bytes) in [("up", counts.up), ("down", counts.down)] {
                    let labels = [
                        ("listener", listener.as_str()),
                        ("route", route),
                        ("direction", direction),
                    ];
                    sample(&mut out, "portshare_bytes_total", &labels, bytes);
                }
            }
        }
        family(
            &mut out,
            "portshare_open_connections",
            "gauge",
            "Connections a route took that have not ended.",
        );
        let open = |counts: &RouteCounters| counts.open;
        let labels = ["listener", "route"];
        nested(
            &mut out,
            "portshare_open_connections",
            labels,
            &counters.routes,
            open,
        );
        family(
            &mut out,
            "portshare_dropped_total",
            "counter",
            "Connections no route took, by why they were dropped.",
        );
        let labels = ["listener", "outcome"];
        let connections = |drop: &DropCounters| drop.connections;
        nested(
            &mut out,
            "portshare_dropped_total",
            labels,
            &counters.drops,
            connections,
        );
        family(
            &mut out,
            "portshare_dropped_bytes_total",
            "counter",
            "Bytes sniffed from connections no route took, before they were dropped.",
        );
        let bytes = |drop: &DropCounters| drop.sniffed_bytes;
        nested(
            &mut out,
            "portshare_dropped_bytes_total",
            labels,
            &counters.drops,
            bytes,
        );
        family(
            &mut out,
            "portshare_refused_total",
            "counter",
            "Connections refused by a connection limit, by which limit.",
        );
        let labels = ["listener", "limit"];
        let refused = |count: &u64| *count;
        nested(
            &mut out,
            "portshare_refused_total",
            labels,
            &counters.refusals,
            refused,
        );
        family(
            &mut out,
            "portshare_sniff_duration_seconds",
            "histogram",
            "How long connections took from accept to the choice of a route (route \"-\": none).",
        );
        for (route, histogram) in &counters.sniffs {
            let mut cumulative = 0;
            for (i, count) in histogram.buckets.iter().enumerate() {
                cumulative += count;
                let bound = match SNIFF_BUCKETS.get(i) {
                    Some(bound) => bound.to_string(),
                    None => "+Inf".to_owned(),
                };
                let labels = [("route", route.as_str()), ("le", &bound)];
                sample(
                    &mut out,
                    "portshare_sniff_duration_seconds_bucket",
                    &labels,
                    cumulative,
                );
            }
            let labels = [("route", route)];
            let sum = histogram.sum_seconds;
            sample(
                &mut out,
                "portshare_sniff_duration_seconds_sum",
                &labels,
                sum,
            );
            sample(
                &mut out,
                "portshare_sniff_duration_seconds_count",
                &labels,
                cumulative,
            );
        }
        family(
            &mut out,
            "portshare_reloads_total",
            "counter",
            "Configuration reloads, by result: ok, or refused (the old configuration stays).",
        );
        let reloads = [
            ("ok", counters.reloads_ok),
            ("refused", counters.reloads_refused),
        ];
        for (result, count) in reloads {
            sample(
                &mut out,
                "portshare_reloads_total",
                &[("result", result)],
                count,
            );
        }
        drop(counters);
        family(
            &mut out,
            "portshare_start_time_seconds",
            "gauge",
            "When the process started, in seconds since the Unix epoch.",
        );
        let start = self
            .start_time
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        sample::<&str>(&mut out, "portshare_start_time_seconds", &[], start);
        out
    }
}

/// The value for `key` in `map`, made if missing: looked up by `&str`, so
/// that only a new label value allocates.
fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    // Two look-ups on a miss: returning the first's borrow on a hit is
    // what the borrow checker cannot yet see is sound.
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("inserted")
}

/// A sample for each value in a map by two labels, `value` of it.
fn nested<V, N: std::fmt::Display>(
    out: &mut String,
    name: &str,
    [outer, inner]: [&str; 2],
    map: &BTreeMap<String, BTreeMap<String, V>>,
    value: impl Fn(&V) -> N,
) {
    for (outer_value, values) in map {
        for (inner_value, counts) in values {
            let labels = [(outer, outer_value), (inner, inner_value)];
            sample(out, name, &labels, value(counts));
        }
    }
}

/// A metric's `# HELP` and `# TYPE` lines. The help texts are ours and
/// hold no `\` or newline, the two characters HELP escapes.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample line: `name{label="value",...} value`.
fn sample<L: AsRef<str>>(
    out: &mut String,
    name: &str,
    labels: &[(&str, L)],
    value: impl std::fmt::Display,
) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            escape_label_value(out, value.as_ref());
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// A label value as the text format escapes it: `\` as `\\`, `"` as
/// `\"` and a line feed as `\n`; anything else, UTF-8 included, stands
/// for itself.
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Serves `GET /metrics` (and `GET /`) on `listener` from a thread of its
/// own, one request at a time, for the life of the process: 404 for
/// other paths, 405 for methods other than `GET` and `HEAD`. A client
/// gets [`REQUEST_DEADLINE`] to send a request of at most
/// [`MAX_REQUEST_BYTES`] and the same to take the response, so a slow or
/// hostile one delays the next scrape by that at most. Bind `listener`
/// where only the scrapers reach it: it takes no credentials.
///
/// `metrics` is `&'static`, like the rest of the proxy's shared state
/// (leaked once at start-up: no reference count per connection).
pub(crate) fn serve(
    listener: TcpListener,
    metrics: &'static Metrics,
) -> io::Result<JoinHandle<()>> {
    serve_with_deadline(listener, metrics, REQUEST_DEADLINE)
}

/// [`serve`], with the time a client gets to send its request, and to
/// take the response, set (tests shorten it).
fn serve_with_deadline(
    listener: TcpListener,
    metrics: &'static Metrics,
    deadline: Duration,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("portshare-metrics".to_owned())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    // A client that failed or gave up is the client's
                    // problem: the next one is served all the same.
                    Ok(stream) => {
                        let _ = answer(stream, metrics, deadline);
                    }
                    Err(_) => thread::sleep(ACCEPT_RETRY),
                }
            }
        })
}

/// Reads one request from `stream` and answers it, then closes.
fn answer(mut stream: TcpStream, metrics: &Metrics, deadline: Duration) -> io::Result<()> {
    let request_by = Instant::now() + deadline;
    let mut head = [0u8; MAX_REQUEST_BYTES];
    let mut len = 0;
    let end = loop {
        stream.set_read_timeout(Some(remaining(request_by)?))?;
        let read = stream.read(&mut head[len..])?;
        if read == 0 {
            return Ok(());
        }
        // The end may straddle two reads: look from 3 bytes back.
        let from = len.saturating_sub(3);
        len += read;
        if let Some(at) = find(&head[from..len], b"\r\n\r\n") {
            break from + at;
        }
        if len == head.len() {
            let response = response("431 Request Header Fields Too Large", "", b"", false);
            return write_by(&mut stream, &response, Instant::now() + deadline);
        }
    };
    let request_line = match find(&head[..end], b"\r\n") {
        Some(at) => &head[..at],
        None => &head[..end],
    };
    let response = respond(request_line, metrics);
    write_by(&mut stream, &response, Instant::now() + deadline)
}

/// The response to a request line (RFC 9112 section 3:
/// `method SP request-target SP HTTP-version`).
fn respond(request_line: &[u8], metrics: &Metrics) -> Vec<u8> {
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return response("400 Bad Request", "", b"", false);
    };
    if !version.starts_with(b"HTTP/1.") {
        return response("400 Bad Request", "", b"", false);
    }
    let head_only = match method {
        b"GET" => false,
        b"HEAD" => true,
        _ => return response("405 Method Not Allowed", "Allow: GET, HEAD\r\n", b"", false),
    };
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    match path {
        b"/metrics" | b"/" => {
            let body = metrics.render();
            let content_type = format!("Content-Type: {CONTENT_TYPE}\r\n");
            response("200 OK", &content_type, body.as_bytes(), head_only)
        }
        _ => response("404 Not Found", "", b"", head_only),
    }
}

/// A whole response, closing the connection; the body left out for HEAD.
fn response(status: &str, headers: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(body);
    }
    response
}

/// Writes all of `bytes` before `until`, or fails.
fn write_by(stream: &mut TcpStream, mut bytes: &[u8], until: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.set_write_timeout(Some(remaining(until)?))?;
        let written = stream.write(bytes)?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    Ok(())
}

/// The time left until `until`, or a timeout error when none is.
fn remaining(until: Instant) -> io::Result<Duration> {
    match until.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => Err(io::ErrorKind::TimedOut.into()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
#[path = "metrics_test.rs"]
mod tests;
