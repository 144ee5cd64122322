//! Route specs: the protocol half of portshare's `--route SPEC=BACKEND`,
//! the connmux matcher each one stands for, and their help text.
//!
//! portshare routes by these specs and `sniff` names a capture's protocol
//! by them, so `sniff` says what portshare would do with the same routes.
//! Both include this one file (`#[path = "../shared/route_spec.rs"]`); it
//! sits in a folder without a `main.rs`, which cargo does not take for an
//! example of its own.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use connmux::matchers::{ClientIn, DestinationIn};
use connmux::{all_of, matchers, not, IpNet, Matcher};

/// The specs and what each matches, as usage texts list them: one spec a
/// line (continued on the next for some), indented by two spaces.
pub(crate) const SPEC_HELP: &str = "  http1            HTTP/1.x request (by its method)
  http2            HTTP/2 with prior knowledge (the client preface)
  grpc             gRPC over cleartext HTTP/2 (content-type application/grpc);
                   answers with an empty SETTINGS frame for clients that wait
                   for the server's first
  websocket        HTTP/1.1 WebSocket opening handshake
  tls              any TLS ClientHello
  tls-sni:HOST     TLS with that server name; *.example.com matches one more
                   label, .example.com any subdomain; several: a.com,b.com
  tls-alpn:PROTO   TLS offering that ALPN protocol (h2, http/1.1, ...);
                   several: h2,http/1.1
  tls-ja4:FP       TLS whose JA4 fingerprint is FP (t13d1516h2_..._...);
                   several: a,b (sniff prints a capture's ja4)
  ssh              SSH client (SSH-2.0-..., SSH-1.99-..., SSH-1.5-...)
  socks5           SOCKS5 greeting
  socks4           SOCKS4 or SOCKS4a request
  redis            Redis command (RESP, or an inline command Redis would run)
  postgres         PostgreSQL startup, SSLRequest, GSSENCRequest or cancel
  mqtt             MQTT CONNECT (3.1, 3.1.1, 5)
  openvpn          OpenVPN over TCP (a client's hard reset: plain, tls-auth,
                   tls-crypt, tls-crypt-v2)
  rdp              RDP (the X.224 Connection Request)
  tinc             tinc daemon (its ID line)
  adb              adb host (its CNXN message)
  syslog           syslog over TCP (RFC 5424 or 3164, octet-counted or not)
  dns              DNS over TCP (a query, zone transfer, NOTIFY or UPDATE)
  xmpp             XMPP stream header (jabber:client or jabber:server)
  silence          a client that sends nothing at first (server-first
                   protocols: SMTP, FTP, MySQL, ...)
  any              anything (the catch-all; give it last)
  timeout          nothing by its bytes: a route only --on-timeout sends to
  pattern:TEXT     an opening that fits a byte pattern: literal characters,
                   \\xHH for any byte, ? for any one byte, classes [a-z],
                   bounded repetition {m,n}, groups and alternatives (a|b);
                   anchored at the first byte. Write = as \\x3d and + as
                   \\x2b (they separate BACKEND and combined SPECs)
  from:CIDR        any protocol from a client in that network (10.0.0.0/8,
                   2001:db8::/32, 192.0.2.7); several: a,b. The client is
                   the source a believed PROXY header names, else the peer
  to:CIDR          any protocol to an address in that network: the
                   destination a believed PROXY header names, else the
                   address the client dialled
  SPEC+SPEC        all of them: tls-sni:a.example+from:10.0.0.0/8 (not
                   with silence, whose timeout a combination cannot keep)
";

/// A JA4 fingerprint's length: `t13d1516h2_8daaf6152771_e5627efa2ab1`.
const JA4_BYTES: usize = 36;
/// The longest ALPN protocol name (RFC 7301 section 3.1: a length byte).
const MAX_ALPN_PROTOCOL_BYTES: usize = 255;

/// A protocol a route recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteSpec {
    Http1,
    Http2,
    Grpc,
    WebSocket,
    Tls,
    /// Server-name patterns, any of which may match.
    TlsSni(Vec<String>),
    /// ALPN protocols, any of which may be offered.
    TlsAlpn(Vec<String>),
    /// JA4 fingerprints, any of which the ClientHello may have.
    TlsJa4(Vec<String>),
    Ssh,
    Socks5,
    Socks4,
    Redis,
    Postgres,
    Mqtt,
    OpenVpn,
    Rdp,
    Tinc,
    Adb,
    Syslog,
    Dns,
    Xmpp,
    Silence,
    Any,
    /// No bytes: a route that takes only what portshare's `on-timeout`
    /// sends it (sslh's `timeout` protocol).
    Timeout,
    /// A byte pattern (its text, checked when parsed).
    Pattern(String),
    /// Clients in any of these networks.
    From(Vec<IpNet>),
    /// Destinations in any of these networks.
    To(Vec<IpNet>),
    /// Connections every one of these specs matches (none of them `All`).
    All(Vec<RouteSpec>),
}

impl RouteSpec {
    /// The matcher for this spec; `silence` is the silence route's
    /// first-byte timeout.
    pub(crate) fn matcher(&self, silence: Duration) -> Box<dyn Matcher> {
        match self {
            RouteSpec::Http1 => Box::new(matchers::http1_fast()),
            RouteSpec::Http2 => Box::new(matchers::http2_preface()),
            // Clients that wait for the server's SETTINGS (grpc-go,
            // grpc-java) get an empty one from the sniffer; the mux removes
            // their ACK so the backend never sees an ACK it did not ask for.
            RouteSpec::Grpc => Box::new(matchers::grpc().send_settings()),
            RouteSpec::WebSocket => Box::new(matchers::websocket()),
            RouteSpec::Tls => Box::new(matchers::tls()),
            RouteSpec::TlsSni(patterns) => Box::new(matchers::tls_sni_any(patterns)),
            RouteSpec::TlsAlpn(protocols) => Box::new(matchers::tls_alpn_any(protocols)),
            RouteSpec::TlsJa4(fingerprints) => Box::new(matchers::tls_ja4(fingerprints)),
            RouteSpec::Ssh => Box::new(matchers::ssh()),
            RouteSpec::Socks5 => Box::new(matchers::socks5()),
            RouteSpec::Socks4 => Box::new(matchers::socks4()),
            RouteSpec::Redis => Box::new(matchers::redis()),
            RouteSpec::Postgres => Box::new(matchers::postgres()),
            RouteSpec::Mqtt => Box::new(matchers::mqtt()),
            RouteSpec::OpenVpn => Box::new(matchers::openvpn()),
            RouteSpec::Rdp => Box::new(matchers::rdp()),
            RouteSpec::Tinc => Box::new(matchers::tinc()),
            RouteSpec::Adb => Box::new(matchers::adb()),
            RouteSpec::Syslog => Box::new(matchers::syslog()),
            RouteSpec::Dns => Box::new(matchers::dns()),
            RouteSpec::Xmpp => Box::new(matchers::xmpp()),
            RouteSpec::Silence => Box::new(matchers::silence(silence)),
            RouteSpec::Any => Box::new(matchers::any()),
            RouteSpec::Timeout => Box::new(not(matchers::any())),
            RouteSpec::Pattern(text) => {
                Box::new(matchers::pattern(text).expect("checked when the spec was parsed"))
            }
            RouteSpec::From(nets) => Box::new(ClientIn::new(nets.iter().copied())),
            RouteSpec::To(nets) => Box::new(DestinationIn::new(nets.iter().copied())),
            RouteSpec::All(specs) => Box::new(all_of(
                specs
                    .iter()
                    .map(|spec| spec.matcher(silence))
                    .collect::<Vec<_>>(),
            )),
        }
    }
}

impl FromStr for RouteSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<RouteSpec, String> {
        if text.contains('+') {
            let specs = text
                .split('+')
                .map(parse_one)
                .collect::<Result<Vec<_>, _>>()?;
            if specs.contains(&RouteSpec::Silence) {
                return Err(format!(
                    "'{text}': silence cannot be combined (a combination cannot keep its timeout)"
                ));
            }
            return Ok(RouteSpec::All(specs));
        }
        parse_one(text)
    }
}

/// One spec, without `+`.
fn parse_one(text: &str) -> Result<RouteSpec, String> {
    if let Some(pattern) = text.strip_prefix("pattern:") {
        return match matchers::pattern(pattern) {
            Ok(_) => Ok(RouteSpec::Pattern(pattern.to_owned())),
            Err(error) => Err(format!("'{pattern}' is not a pattern: {error}")),
        };
    }
    if let Some(nets) = text.strip_prefix("from:") {
        return parse_nets(nets).map(RouteSpec::From);
    }
    if let Some(nets) = text.strip_prefix("to:") {
        return parse_nets(nets).map(RouteSpec::To);
    }
    if let Some(hosts) = text.strip_prefix("tls-sni:") {
        return parse_list(hosts, "a server name", usize::MAX).map(RouteSpec::TlsSni);
    }
    if let Some(fingerprints) = text.strip_prefix("tls-ja4:") {
        return parse_list(fingerprints, "a JA4 fingerprint", JA4_BYTES).map(RouteSpec::TlsJa4);
    }
    if let Some(protocols) = text.strip_prefix("tls-alpn:") {
        return parse_list(protocols, "an ALPN protocol", MAX_ALPN_PROTOCOL_BYTES)
            .map(RouteSpec::TlsAlpn);
    }
    Ok(match text {
        "http1" => RouteSpec::Http1,
        "http2" => RouteSpec::Http2,
        "grpc" => RouteSpec::Grpc,
        "websocket" => RouteSpec::WebSocket,
        "tls" => RouteSpec::Tls,
        "ssh" => RouteSpec::Ssh,
        "socks5" => RouteSpec::Socks5,
        "socks4" => RouteSpec::Socks4,
        "redis" => RouteSpec::Redis,
        "postgres" => RouteSpec::Postgres,
        "mqtt" => RouteSpec::Mqtt,
        "openvpn" => RouteSpec::OpenVpn,
        "rdp" => RouteSpec::Rdp,
        "tinc" => RouteSpec::Tinc,
        "adb" => RouteSpec::Adb,
        "syslog" => RouteSpec::Syslog,
        "dns" => RouteSpec::Dns,
        "xmpp" => RouteSpec::Xmpp,
        "silence" => RouteSpec::Silence,
        "any" => RouteSpec::Any,
        "timeout" => RouteSpec::Timeout,
        "tls-sni" | "tls-alpn" | "tls-ja4" | "from" | "to" | "pattern" => {
            return Err(format!("{text} needs a value, as in {text}:VALUE"));
        }
        "" => return Err("an empty SPEC (see --help for the list)".into()),
        _ => return Err(format!("unknown SPEC '{text}' (see --help for the list)")),
    })
}

/// A comma-separated list of IP networks.
fn parse_nets(text: &str) -> Result<Vec<IpNet>, String> {
    parse_list(text, "an IP network", usize::MAX)?
        .iter()
        .map(|net| {
            net.parse()
                .map_err(|error: connmux::IpNetError| error.to_string())
        })
        .collect()
}

/// A comma-separated list of non-empty items of at most `max_bytes` each.
fn parse_list(text: &str, what: &str, max_bytes: usize) -> Result<Vec<String>, String> {
    text.split(',')
        .map(|item| {
            if item.is_empty() || item.contains(char::is_whitespace) {
                Err(format!("'{item}' is not {what}"))
            } else if item.len() > max_bytes {
                Err(format!(
                    "'{item}' is longer than {what} may be ({max_bytes} bytes)"
                ))
            } else {
                Ok(item.to_owned())
            }
        })
        .collect()
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets = |nets: &[IpNet]| nets.iter().map(IpNet::to_string).collect::<Vec<_>>();
        let listed;
        let (name, values) = match self {
            RouteSpec::Http1 => ("http1", None),
            RouteSpec::Http2 => ("http2", None),
            RouteSpec::Grpc => ("grpc", None),
            RouteSpec::WebSocket => ("websocket", None),
            RouteSpec::Tls => ("tls", None),
            RouteSpec::TlsSni(hosts) => ("tls-sni", Some(hosts)),
            RouteSpec::TlsAlpn(protocols) => ("tls-alpn", Some(protocols)),
            RouteSpec::TlsJa4(fingerprints) => ("tls-ja4", Some(fingerprints)),
            RouteSpec::Ssh => ("ssh", None),
            RouteSpec::Socks5 => ("socks5", None),
            RouteSpec::Socks4 => ("socks4", None),
            RouteSpec::Redis => ("redis", None),
            RouteSpec::Postgres => ("postgres", None),
            RouteSpec::Mqtt => ("mqtt", None),
            RouteSpec::OpenVpn => ("openvpn", None),
            RouteSpec::Rdp => ("rdp", None),
            RouteSpec::Tinc => ("tinc", None),
            RouteSpec::Adb => ("adb", None),
            RouteSpec::Syslog => ("syslog", None),
            RouteSpec::Dns => ("dns", None),
            RouteSpec::Xmpp => ("xmpp", None),
            RouteSpec::Silence => ("silence", None),
            RouteSpec::Any => ("any", None),
            RouteSpec::Timeout => ("timeout", None),
            RouteSpec::Pattern(text) => {
                listed = vec![text.clone()];
                ("pattern", Some(&listed))
            }
            RouteSpec::From(list) => {
                listed = nets(list);
                ("from", Some(&listed))
            }
            RouteSpec::To(list) => {
                listed = nets(list);
                ("to", Some(&listed))
            }
            RouteSpec::All(specs) => {
                for (index, spec) in specs.iter().enumerate() {
                    if index > 0 {
                        f.write_str("+")?;
                    }
                    write!(f, "{spec}")?;
                }
                return Ok(());
            }
        };
        f.write_str(name)?;
        if let Some(values) = values {
            write!(f, ":{}", values.join(","))?;
        }
        Ok(())
    }
}
