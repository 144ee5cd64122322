//! The built-in matchers in route order, and what to print for each.
//!
//! Each protocol pairs a matcher, which only says whether the bytes are
//! that protocol, with a describe function built on the parser connmux
//! offers beside it for handlers and logs (`client_hello_info` beside
//! `tls`, `http1_request` beside `http1`, ...). Matchers decide as early
//! as they can, often before the message they recognise is complete; the
//! parsers want the whole message, so a fact they cannot read yet is left
//! out.

use connmux::matchers::{self, Http2HeadersError, PostgresRequest, Socks4Command, TlsVersion};
use connmux::{
    parse_proxy_header, Matcher, ProxyAddr, ProxyCommand, ProxyHeader, ProxyParse, Verdict,
    PROXY_V2_MAX_HEADER_BYTES,
};

use crate::line::Line;

/// The most bytes any built-in matcher reads after a PROXY header
/// (`TLS_MAX_CLIENT_HELLO_BYTES` and `HTTP2_HEADERS_LIMIT`, 64 KiB each).
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
const _: () = assert!(
    matchers::TLS_MAX_CLIENT_HELLO_BYTES <= MAX_PAYLOAD_BYTES
        && matchers::HTTP2_HEADERS_LIMIT <= MAX_PAYLOAD_BYTES
);

/// The most input worth reading: the longest PROXY header, then every byte
/// a matcher could look at.
pub(crate) const MAX_INPUT_BYTES: usize = PROXY_V2_MAX_HEADER_BYTES + MAX_PAYLOAD_BYTES;

/// One route: a name, its matcher, and what to print when it wins.
struct Protocol {
    name: &'static str,
    matcher: Box<dyn Matcher>,
    /// Adds the facts its parser finds in the bytes to the line.
    describe: fn(&[u8], &mut Line),
}

/// The routes, most specific first, as one would register them on a `Mux`.
///
/// The order matters where protocols overlap: a gRPC request is HTTP/2, so
/// `grpc` comes before `http2`; a WebSocket handshake is an HTTP/1 request,
/// so `websocket` comes before `http1`. The others do not overlap, and most
/// rule themselves out at their first byte.
fn protocols() -> [Protocol; 11] {
    [
        protocol("tls", matchers::tls(), describe_tls),
        protocol("grpc", matchers::grpc(), describe_http2),
        protocol("http2", matchers::http2_preface(), describe_http2),
        protocol("websocket", matchers::websocket(), describe_http1),
        protocol("http1", matchers::http1(), describe_http1),
        protocol("ssh", matchers::ssh(), describe_ssh),
        protocol("socks5", matchers::socks5(), describe_socks5),
        protocol("socks4", matchers::socks4(), describe_socks4),
        protocol("redis", matchers::redis(), describe_redis),
        protocol("postgres", matchers::postgres(), describe_postgres),
        protocol("mqtt", matchers::mqtt(), describe_mqtt),
    ]
}

/// The protocols' names, in the order they are tried.
pub(crate) fn protocol_names() -> Vec<&'static str> {
    protocols().iter().map(|protocol| protocol.name).collect()
}

fn protocol(
    name: &'static str,
    matcher: impl Matcher + 'static,
    describe: fn(&[u8], &mut Line),
) -> Protocol {
    Protocol {
        name,
        matcher: Box::new(matcher),
        describe,
    }
}

/// The line for a connection whose client sent `seen` and nothing more.
pub(crate) fn classify(seen: &[u8]) -> Line {
    let mut line = Line::default();
    let payload = match parse_proxy_header(seen) {
        ProxyParse::Complete { header, length } => {
            describe_proxy(&header, &mut line);
            &seen[length..]
        }
        ProxyParse::Malformed(error) => {
            line.fact("proxy_error", error.to_string());
            return line;
        }
        // Without a header, or with input that ended inside the first bytes
        // of one, the bytes are the client's own (`ProxyMode::Optional`).
        ProxyParse::Absent | ProxyParse::Incomplete => seen,
    };
    if let Some(winner) = protocols()
        .into_iter()
        .find(|protocol| accepts(&*protocol.matcher, payload))
    {
        line.protocol = Some(winner.name);
        (winner.describe)(payload, &mut line);
    }
    line
}

/// Whether `matcher` accepts `seen` as a complete input: `Match`, or the
/// answer it gives when no more bytes will come (`NeedMore` counts as no
/// match for every built-in matcher).
fn accepts(matcher: &dyn Matcher, seen: &[u8]) -> bool {
    matcher.verdict(seen) == Verdict::Match || matcher.matches_at_end(seen)
}

/// PROXY header: `proxy_src` and `proxy_dst`, or `proxy=local` (a health
/// check from the proxy itself) or `proxy=unknown` (no addresses given).
fn describe_proxy(header: &ProxyHeader, line: &mut Line) {
    match (header.command(), header.source(), header.destination()) {
        (ProxyCommand::Local, _, _) => line.fact("proxy", "local"),
        (ProxyCommand::Proxy, Some(source), Some(destination)) => {
            line.fact("proxy_src", address_bytes(&source));
            line.fact("proxy_dst", address_bytes(&destination));
        }
        (ProxyCommand::Proxy, _, _) => line.fact("proxy", "unknown"),
    }
}

/// `IP:PORT` (`[IPv6]:PORT`), or a UNIX socket's path as the header's bytes.
fn address_bytes(address: &ProxyAddr) -> Vec<u8> {
    match address {
        ProxyAddr::Inet(address) => address.to_string().into_bytes(),
        ProxyAddr::Unix(path) => path.as_bytes().to_vec(),
    }
}

/// TLS: the highest version offered, the server name and the ALPN
/// protocols (comma-separated, in the client's order), once the whole
/// ClientHello is there. The matcher decides after its first 11 bytes.
fn describe_tls(seen: &[u8], line: &mut Line) {
    let Some(hello) = matchers::client_hello_info(seen) else {
        return;
    };
    line.fact("version", tls_version_name(hello.version));
    line.fact_if("sni", hello.sni);
    if !hello.alpn.is_empty() {
        line.fact("alpn", hello.alpn.join(","));
    }
}

/// `TLS1.3`, `SSL3.0`: `TlsVersion`'s `Display` without its space.
fn tls_version_name(version: TlsVersion) -> String {
    version.to_string().replace(' ', "")
}

/// HTTP/2 and gRPC: the first request's `:method`, `:authority` and
/// `:path`, or `headers=` saying why there is no request to read.
fn describe_http2(seen: &[u8], line: &mut Line) {
    match matchers::http2_request(seen) {
        Some(request) => {
            line.fact_if("method", request.method);
            line.fact_if("authority", request.authority);
            line.fact_if("path", request.path);
        }
        None => line.fact("headers", missing_headers(seen)),
    }
}

/// Why an HTTP/2 client's first request cannot be read: `none` when it
/// sent only frames other than HEADERS, `incomplete`, `invalid`,
/// `too-long` (a field over 4096 bytes), or `too-large` (a header list
/// over 64 KiB).
fn missing_headers(seen: &[u8]) -> &'static str {
    // `send_settings()` has the sniffer send the server's SETTINGS exactly
    // when the client waits for them: it has sent the preface, and frames
    // other than HEADERS. gRPC clients do, before their first request.
    if matchers::grpc().send_settings().reply(seen).is_some() {
        return "none";
    }
    match matchers::http2_request_headers(seen, |_name, _value| {}) {
        Err(Http2HeadersError::Invalid) => "invalid",
        Err(Http2HeadersError::FieldTooLong) => "too-long",
        Err(Http2HeadersError::HeaderListTooLarge) => "too-large",
        Err(Http2HeadersError::Incomplete) | Ok(()) => "incomplete",
    }
}

/// HTTP/1 and WebSocket: the request line and the `Host` field.
fn describe_http1(seen: &[u8], line: &mut Line) {
    let Some(request) = matchers::http1_request(seen) else {
        return;
    };
    line.fact("method", &request.method);
    line.fact_if("host", request.host.as_ref());
    line.fact("target", &request.target);
    line.fact("version", format!("HTTP/1.{}", request.minor_version));
}

/// SSH: the software version and comments of the identification line, once
/// its line ending is there (the matcher decides within 10 bytes).
fn describe_ssh(seen: &[u8], line: &mut Line) {
    let Some(identification) = matchers::ssh_identification(seen) else {
        return;
    };
    line.fact("software", identification.software_version);
    line.fact_if("comments", identification.comments);
}

/// SOCKS5: the authentication methods offered, in hex (RFC 1928 section 3:
/// `00` none, `01` GSSAPI, `02` username/password).
fn describe_socks5(seen: &[u8], line: &mut Line) {
    let Some(methods) = matchers::socks5_methods(seen) else {
        return;
    };
    let hex: Vec<String> = methods.iter().map(|code| format!("{code:02x}")).collect();
    line.fact("methods", hex.join(","));
}

/// SOCKS4 and SOCKS4a: the command, the user id, and the destination: a
/// host name (SOCKS4a) or an IPv4 address, and a port.
fn describe_socks4(seen: &[u8], line: &mut Line) {
    let Some(request) = matchers::socks4_request(seen) else {
        return;
    };
    let command = match request.command {
        Socks4Command::Connect => "connect",
        Socks4Command::Bind => "bind",
    };
    line.fact("command", command);
    line.fact("user", &request.user);
    match &request.domain {
        Some(host) => line.fact("host", host),
        None => line.fact("ip", request.ip.to_string()),
    }
    line.fact("port", request.port.to_string());
}

/// Redis: the first command's name, upper-cased.
fn describe_redis(seen: &[u8], line: &mut Line) {
    line.fact_if("command", matchers::redis_command(seen));
}

/// PostgreSQL: the kind of first message, and for a StartupMessage its
/// protocol version, user and database, once the whole message is there
/// (the matcher decides on its first 8 bytes).
fn describe_postgres(seen: &[u8], line: &mut Line) {
    let Some(request) = matchers::postgres_request(seen) else {
        return;
    };
    line.fact("request", request.kind());
    if let PostgresRequest::Startup { minor_version, .. } = &request {
        line.fact("protocol", format!("3.{minor_version}"));
    }
    line.fact_if("user", request.parameter("user"));
    line.fact_if("database", request.parameter("database"));
}

/// MQTT: the protocol level (3 = 3.1, 4 = 3.1.1, 5 = 5.0) and the client
/// identifier, once it is there (the matcher decides within 15 bytes).
fn describe_mqtt(seen: &[u8], line: &mut Line) {
    line.fact_if(
        "level",
        matchers::mqtt_version(seen).map(|level| level.to_string()),
    );
    line.fact_if("client_id", matchers::mqtt_client_id(seen));
}
