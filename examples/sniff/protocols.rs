//! The routes `sniff` tries, and what to print for each.
//!
//! A route is a portshare route spec (`examples/shared/route_spec.rs`),
//! which gives its name and its matcher, so the tool names the route
//! portshare would take with the same `--route` list. Each spec pairs
//! here with a describe function built on the parser connmux offers
//! beside its matcher for handlers and logs (`client_hello_info` beside
//! `tls`, `http1_request` beside `http1`, ...). Matchers decide as early
//! as they can, often before the message they recognise is complete; the
//! parsers want the whole message, so a fact they cannot read yet is left
//! out.

use std::time::Duration;

use connmux::matchers::{
    self, DnsOpcode, Http2HeadersError, OpenVpnForm, PostgresRequest, Socks4Command, SyslogFormat,
    SyslogFraming, TlsVersion, XmppNamespace,
};
use connmux::{
    parse_proxy_header, Addresses, DecisionTrace, Matcher, ProxyAddr, ProxyCommand, ProxyError,
    ProxyHeader, ProxyParse, Verdict, PROXY_V2_MAX_HEADER_BYTES,
};

use crate::line::Line;
use crate::spec::RouteSpec;

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

/// One route: its spec's name and matcher, and what to print when it wins.
pub(crate) struct Route {
    name: String,
    matcher: Box<dyn Matcher>,
    /// Adds the facts its parser finds in the bytes to the line.
    describe: fn(&[u8], &mut Line),
}

/// The routes tried when none are given: every protocol, most specific
/// first, as one would give them to portshare.
///
/// The order matters where protocols overlap: a gRPC request is HTTP/2, so
/// `grpc` comes before `http2`; a WebSocket handshake is an HTTP/1 request,
/// so `websocket` comes before `http1`; `dns` sits between SOCKS and
/// OpenVPN (see below). The others do not overlap, and most rule
/// themselves out at their first byte (`tests/claims.rs`).
pub(crate) fn default_specs() -> Vec<RouteSpec> {
    vec![
        RouteSpec::Tls,
        RouteSpec::Grpc,
        RouteSpec::Http2,
        RouteSpec::WebSocket,
        RouteSpec::Http1,
        RouteSpec::Ssh,
        RouteSpec::Socks5,
        RouteSpec::Socks4,
        RouteSpec::Redis,
        RouteSpec::Postgres,
        RouteSpec::Mqtt,
        // After SOCKS (a SOCKS5 greeting reads as the start of a DNS
        // message, which would wait for more) and before OpenVPN (a
        // 54-byte query without EDNS whose ID starts 0x38 fits OpenVPN's
        // tls-crypt form).
        RouteSpec::Dns,
        RouteSpec::OpenVpn,
        RouteSpec::Rdp,
        RouteSpec::Tinc,
        RouteSpec::Adb,
        RouteSpec::Syslog,
        RouteSpec::Xmpp,
    ]
}

/// The routes for `specs`, in their order.
pub(crate) fn routes(specs: &[RouteSpec]) -> Vec<Route> {
    specs
        .iter()
        .map(|spec| Route {
            name: spec.to_string(),
            // A capture has no timing: an empty one is a client that stayed
            // silent past any timeout.
            matcher: spec.matcher(Duration::ZERO),
            describe: describer(spec),
        })
        .collect()
}

/// What to print for a route of `spec`.
fn describer(spec: &RouteSpec) -> fn(&[u8], &mut Line) {
    match spec {
        RouteSpec::Tls | RouteSpec::TlsSni(_) | RouteSpec::TlsAlpn(_) | RouteSpec::TlsJa4(_) => {
            describe_tls
        }
        RouteSpec::Http2 | RouteSpec::Grpc => describe_http2,
        RouteSpec::Http1 | RouteSpec::WebSocket => describe_http1,
        RouteSpec::Ssh => describe_ssh,
        RouteSpec::Socks5 => describe_socks5,
        RouteSpec::Socks4 => describe_socks4,
        RouteSpec::Redis => describe_redis,
        RouteSpec::Postgres => describe_postgres,
        RouteSpec::Mqtt => describe_mqtt,
        RouteSpec::OpenVpn => describe_openvpn,
        RouteSpec::Rdp => describe_rdp,
        RouteSpec::Tinc => describe_tinc,
        RouteSpec::Adb => describe_adb,
        RouteSpec::Syslog => describe_syslog,
        RouteSpec::Dns => describe_dns,
        RouteSpec::Xmpp => describe_xmpp,
        // A combination is described by its protocol, if it names one.
        RouteSpec::All(specs) => specs
            .iter()
            .find(|spec| !matches!(spec, RouteSpec::From(_) | RouteSpec::To(_)))
            .map_or(describe_nothing, describer),
        RouteSpec::Silence
        | RouteSpec::Any
        | RouteSpec::Timeout
        | RouteSpec::Pattern(_)
        | RouteSpec::From(_)
        | RouteSpec::To(_) => describe_nothing,
    }
}

/// For routes whose protocol has nothing to tell.
fn describe_nothing(_: &[u8], _: &mut Line) {}

/// The line for a connection whose client sent `seen` and nothing more,
/// routed by `routes`.
pub(crate) fn classify(seen: &[u8], routes: &[Route]) -> Line {
    let mut line = Line::default();
    let (header, addresses, payload) = match split_proxy_header(seen) {
        Ok(split) => split,
        Err(error) => {
            line.fact("proxy_error", error.to_string());
            return line;
        }
    };
    if let Some(header) = header {
        describe_proxy(&header, &mut line);
    }
    if let Some(winner) = routes
        .iter()
        .find(|route| accepts(&*route.matcher, &addresses, payload))
    {
        line.protocol = Some(winner.name.clone());
        (winner.describe)(payload, &mut line);
    }
    line
}

/// The PROXY header `seen` starts with, if any, the addresses the routes
/// see, and the client's own bytes after the header.
fn split_proxy_header(seen: &[u8]) -> Result<(Option<ProxyHeader>, Addresses, &[u8]), ProxyError> {
    // A capture has no socket: routes by address see what its PROXY
    // header names, if anything.
    let mut addresses = Addresses::UNKNOWN;
    match parse_proxy_header(seen) {
        ProxyParse::Complete { header, length } => {
            if header.command() == ProxyCommand::Proxy {
                let inet = |address| match address {
                    Some(ProxyAddr::Inet(address)) => Some(address),
                    _ => None,
                };
                addresses = addresses.relayed(inet(header.source()), inet(header.destination()));
            }
            Ok((Some(header), addresses, &seen[length..]))
        }
        ProxyParse::Malformed(error) => Err(error),
        // Without a header, or with input that ended inside the first bytes
        // of one, the bytes are the client's own (`ProxyMode::Optional`).
        ProxyParse::Absent | ProxyParse::Incomplete => Ok((None, addresses, seen)),
    }
}

/// How connmux decides between the routes of `specs` on `seen`, as for
/// a client that sent it and closed: `None` when a malformed PROXY header
/// comes first.
pub(crate) fn explain(seen: &[u8], specs: &[RouteSpec]) -> Option<DecisionTrace> {
    let (_header, addresses, payload) = split_proxy_header(seen).ok()?;
    let matchers: Vec<Box<dyn Matcher>> = routes(specs)
        .into_iter()
        .map(|route| route.matcher)
        .collect();
    Some(DecisionTrace::explain(&matchers, &addresses, payload))
}

/// The lines `--explain` prints for `trace` with `routes`: what ended
/// the decision, then each route's verdict and the byte that settled it,
/// by the routes' names.
pub(crate) fn explanation(trace: &DecisionTrace, routes: &[Route]) -> Vec<String> {
    let name = |index: usize| routes[index].name.as_str();
    let winner = match trace.route() {
        Some(route) => format!("{} took it", name(route)),
        None => "no route took it".to_owned(),
    };
    let plural = if trace.bytes() == 1 { "" } else { "s" };
    let mut head = format!(
        "explain: {winner}, ended by {} after {} byte{plural}",
        trace.ended_by(),
        trace.bytes()
    );
    if let Some(route) = trace.waiting_on() {
        head.push_str(&format!(", waiting on {}", name(route)));
    }
    let mut lines = vec![head];
    for step in trace.steps() {
        let at = match (step.at_end(), step.bytes()) {
            (true, bytes) => format!(
                "at the end ({bytes} byte{})",
                if bytes == 1 { "" } else { "s" }
            ),
            (false, 0) => "before any byte".to_owned(),
            (false, bytes) => format!("at byte {}", bytes - 1),
        };
        lines.push(format!(
            "  {} {:?} {at}",
            name(step.route()),
            step.verdict()
        ));
    }
    let asked: Vec<usize> = trace.steps().iter().map(|step| step.route()).collect();
    for (index, route) in routes.iter().enumerate() {
        if !asked.contains(&index) {
            lines.push(format!("  {} not asked", route.name));
        }
    }
    lines
}

/// Whether `matcher` accepts `seen` as a complete input, as the mux
/// decides once the input has ended: `Match`, or the answer it gives when
/// no more bytes will come (`NeedMore` counts as no match for every
/// built-in matcher), or for a silence route, no input at all.
fn accepts(matcher: &dyn Matcher, addresses: &Addresses, seen: &[u8]) -> bool {
    matcher.verdict_with(addresses, seen) == Verdict::Match
        || matcher.matches_at_end_with(addresses, seen)
        || (seen.is_empty() && matcher.silence_timeout().is_some())
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
        _ => line.fact("proxy", "unknown"),
    }
}

/// `IP:PORT` (`[IPv6]:PORT`), or a UNIX socket's path as the header's bytes.
fn address_bytes(address: &ProxyAddr) -> Vec<u8> {
    match address {
        ProxyAddr::Inet(address) => address.to_string().into_bytes(),
        ProxyAddr::Unix(path) => path.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

/// TLS: the highest version offered, the server name and the ALPN
/// protocols (comma-separated, in the client's order), and its JA4 and
/// JA3 fingerprints, once the whole ClientHello is there. The matcher decides after its first 11 bytes.
fn describe_tls(seen: &[u8], line: &mut Line) {
    let Some(hello) = matchers::client_hello_info(seen) else {
        return;
    };
    line.fact("version", tls_version_name(hello.version));
    line.fact_if("sni", hello.sni);
    if !hello.alpn.is_empty() {
        line.fact("alpn", hello.alpn.join(","));
    }
    if let Some(fingerprint) = matchers::client_hello_fingerprint(seen) {
        line.fact("ja4", fingerprint.ja4());
        line.fact("ja3", fingerprint.ja3());
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
        Err(_) => "invalid",
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

/// SSH: the software version and comments of an RFC 4253 identification
/// line, once its line ending is there (the matcher decides within 12
/// bytes, and also takes openings that are not RFC 4253 lines, such as
/// `SSH-1.5-` or `SSH-2.0 hello`, which have none).
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
/// OpenVPN: the hard reset's opcode, session ID (hex) and form.
fn describe_openvpn(seen: &[u8], line: &mut Line) {
    let Some(reset) = matchers::openvpn_reset(seen) else {
        return;
    };
    let opcode = match reset.opcode {
        10 => "P_CONTROL_HARD_RESET_CLIENT_V3",
        _ => "P_CONTROL_HARD_RESET_CLIENT_V2",
    };
    line.fact("opcode", opcode);
    line.fact("session_id", format!("{:016x}", reset.session_id));
    let form = match reset.form {
        OpenVpnForm::Plain => "plain",
        OpenVpnForm::TlsAuth { .. } => "tls-auth",
        OpenVpnForm::TlsCrypt => "tls-crypt",
        _ => "tls-crypt-v2",
    };
    line.fact("form", form);
}

/// RDP: the cookie's user name and the requested protocols (the
/// RDP_NEG_REQ bitmask, in hex).
fn describe_rdp(seen: &[u8], line: &mut Line) {
    let Some(request) = matchers::rdp_request(seen) else {
        return;
    };
    line.fact_if("cookie", request.cookie);
    line.fact_if(
        "requested_protocols",
        request
            .requested_protocols
            .map(|protocols| format!("0x{:x}", protocols.bits())),
    );
}

/// tinc: the node name and the protocol version (17, or 17.MINOR).
fn describe_tinc(seen: &[u8], line: &mut Line) {
    let Some(id) = matchers::tinc_id(seen) else {
        return;
    };
    line.fact("name", id.name);
    line.fact(
        "version",
        id.minor
            .map_or("17".to_owned(), |minor| format!("17.{minor}")),
    );
}

/// adb: the protocol version (hex), the largest message the host takes,
/// and its system identity.
fn describe_adb(seen: &[u8], line: &mut Line) {
    let Some(connect) = matchers::adb_connect(seen) else {
        return;
    };
    line.fact("version", format!("0x{:08x}", connect.version));
    line.fact("max_data", connect.max_data.to_string());
    line.fact("system_identity", connect.system_identity);
}

/// syslog: the framing (and an octet count's length), the format, the
/// facility and severity, and the header's hostname and app-name.
fn describe_syslog(seen: &[u8], line: &mut Line) {
    let Some(message) = matchers::syslog_message(seen) else {
        return;
    };
    match message.framing {
        SyslogFraming::OctetCounted { length } => {
            line.fact("framing", "octet-counting");
            line.fact("length", length.to_string());
        }
        SyslogFraming::NonTransparent => line.fact("framing", "non-transparent"),
    }
    let format = match message.format {
        SyslogFormat::Rfc5424 => "rfc5424",
        SyslogFormat::Rfc3164 => "rfc3164",
    };
    line.fact("format", format);
    line.fact("facility", message.facility.to_string());
    line.fact("severity", message.severity.to_string());
    line.fact_if("hostname", message.hostname);
    line.fact_if("app_name", message.app_name);
}

/// DNS: the message ID, opcode, and the first question's name, type and
/// class (by mnemonic where common).
fn describe_dns(seen: &[u8], line: &mut Line) {
    let Some(question) = matchers::dns_question(seen) else {
        return;
    };
    line.fact("id", question.id.to_string());
    let opcode = match question.opcode {
        DnsOpcode::Query => "0",
        DnsOpcode::Notify => "4",
        DnsOpcode::Update => "5",
    };
    line.fact("opcode", opcode);
    line.fact("name", question.name);
    let qtype = match question.qtype {
        1 => "A".to_owned(),
        28 => "AAAA".to_owned(),
        15 => "MX".to_owned(),
        16 => "TXT".to_owned(),
        252 => "AXFR".to_owned(),
        other => other.to_string(),
    };
    line.fact("type", qtype);
    let class = match question.qclass {
        1 => "IN".to_owned(),
        other => other.to_string(),
    };
    line.fact("class", class);
}

/// XMPP: the stream header's namespace, `to`, and version.
fn describe_xmpp(seen: &[u8], line: &mut Line) {
    let Some(header) = matchers::xmpp_stream_header(seen) else {
        return;
    };
    let namespace = match header.namespace {
        XmppNamespace::Client => "jabber:client",
        XmppNamespace::Server => "jabber:server",
    };
    line.fact("namespace", namespace);
    line.fact_if("to", header.to);
    line.fact_if("version", header.version);
}

fn describe_mqtt(seen: &[u8], line: &mut Line) {
    line.fact_if(
        "level",
        matchers::mqtt_version(seen).map(|level| level.to_string()),
    );
    line.fact_if("client_id", matchers::mqtt_client_id(seen));
}
