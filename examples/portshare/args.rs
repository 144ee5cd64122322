//! The command line: parses the arguments into a [`Config`], or says in
//! one sentence what is wrong with them.
//!
//! Every option takes its value either as the next argument
//! (`--timeout 3000`) or after an equals sign (`--timeout=3000`). Checks
//! that need several options at once (a silence route needs `--silence`
//! below `--timeout`) run after all of them are read.

use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use connmux::{IpNet, ProxyMode, TrustedProxies};

use crate::backend::Backend;
use crate::spec::{RouteSpec, SPEC_HELP};

/// The usage text `--help` prints.
pub(crate) fn usage() -> String {
    format!(
        "\
portshare: share one TCP port between several protocols (like sslh).

Usage:
  portshare --listen ADDR --route SPEC=BACKEND [--route SPEC=BACKEND ...] [options]
  cargo run --release --example portshare -- --listen ADDR --route SPEC=BACKEND ...

Each connection is sniffed and forwarded to the backend of the first route
whose SPEC matches it; routes are tried in the order given, so put the
specific ones (websocket, tls-sni:...) before the general ones (http1, tls)
and `any` last. The sniffed bytes are forwarded too: the backend sees the
connection from its first byte. The sniff example tells which route a
capture would take with the same routes.

SPEC (protocol):
{SPEC_HELP}
The silence route takes a client once it has sent nothing for --silence ms.

BACKEND: HOST:PORT (resolved at start-up) or the path of a UNIX socket
(anything containing '/').

Options:
  --listen ADDR              address to listen on (port 0: any free port)
  --route SPEC=BACKEND       a route; repeat for more (at least one)
  --timeout MS               sniff deadline: how long a client may take to
                             be matched (default 5000)
  --silence MS               how long a client must stay silent for the
                             silence route (default 2000; below --timeout)
  --max-sniff BYTES          bytes read at most before routes must decide
                             (default 16384)
  --accept-proxy MODE        PROXY protocol header from a load balancer in
                             front: off (default), optional or required
  --proxy-from CIDR          a network whose peers may send that header;
                             repeat for more (default: 127.0.0.0/8 and
                             ::1); others are refused (required) or taken
                             as they are (optional)
  --send-proxy VERSION       send a PROXY header (v1 or v2) to the backend
                             with the real client address (v2: with the
                             SNI or Host, and ALPN, as TLVs)
  --proxy-v2-options LIST    more TLVs for --send-proxy v2, comma-separated:
                             unique-id (an ID for each connection) and
                             crc32c (a checksum of the header)
  --max-conns N              forward at most N connections at once; more
                             are closed at once (default: no limit)
  -q, --quiet                no per-connection log lines
  -h, --help                 print this help

Each connection is logged on one line when it ends:
  peer=ADDR route=SPEC backend=BACKEND up=BYTES down=BYTES time=MS outcome=WORD
(up: client to backend, down: backend to client). Outcomes: ok, reset,
error, backend-refused, backend-timeout, backend-error, refused-max-conns,
no-thread, and for connections that reach no route: no-match, timeout,
bad-proxy-header, untrusted-proxy, source-limit, client-error,
queue-full, shutdown.

Examples:
  # HTTPS and SSH on port 443
  portshare --listen 0.0.0.0:443 --route ssh=127.0.0.1:22 --route tls=127.0.0.1:8443
  # Two sites by SNI, HTTP/1 and gRPC on one port, the rest to a UNIX socket
  portshare --listen [::]:8080 --route tls-sni:*.example.com=10.0.0.2:443 \\
      --route tls=10.0.0.3:443 --route grpc=127.0.0.1:50051 \\
      --route http1=127.0.0.1:8000 --route any=/run/fallback.sock
  # Behind HAProxy, telling the backends who the client is
  portshare --listen 127.0.0.1:9000 --accept-proxy required --send-proxy v2 \\
      --route http1=127.0.0.1:8000 --route ssh=127.0.0.1:22
  # SSH from the office network only; HTTP from everyone
  portshare --listen 0.0.0.0:443 --route ssh+from:10.0.0.0/8=127.0.0.1:22 \\
      --route http1=127.0.0.1:8000
  # A server-first protocol (SMTP) beside HTTP
  portshare --listen 0.0.0.0:2525 --route http1=127.0.0.1:8000 \\
      --route silence=127.0.0.1:25 --silence 1500 --timeout 3000
"
    )
}

/// The sniff deadline when `--timeout` is not given, in milliseconds.
const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// The silence route's first-byte timeout when `--silence` is not given.
const DEFAULT_SILENCE_MS: u64 = 2000;
/// The sniff byte limit when `--max-sniff` is not given.
const DEFAULT_MAX_SNIFF_BYTES: usize = 16 * 1024;

/// What the command line asks for.
pub(crate) enum Command {
    /// Run the proxy.
    Run(Config),
    /// Print the usage text.
    Help,
}

/// Which PROXY protocol version to send to backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendProxy {
    /// The text line (HAProxy's `send-proxy`).
    V1,
    /// The binary header (HAProxy's `send-proxy-v2`).
    V2,
}

/// The TLVs `--proxy-v2-options` adds to a PROXY v2 header, named as in
/// HAProxy's `proxy-v2-options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProxyV2Options {
    /// A UNIQUE_ID TLV: an ID of the connection, unique to this process.
    pub(crate) unique_id: bool,
    /// A CRC32C TLV: the checksum of the whole header.
    pub(crate) crc32c: bool,
}

/// One `--route SPEC=BACKEND`.
pub(crate) struct RouteArg {
    pub(crate) spec: RouteSpec,
    pub(crate) backend: Backend,
}

/// Everything the proxy runs with.
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    pub(crate) routes: Vec<RouteArg>,
    pub(crate) sniff_deadline: Duration,
    pub(crate) silence: Duration,
    pub(crate) max_sniff_bytes: usize,
    pub(crate) accept_proxy: ProxyMode,
    /// The peers whose PROXY header is believed.
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) send_proxy: Option<SendProxy>,
    pub(crate) proxy_v2_options: ProxyV2Options,
    /// `None`: no limit.
    pub(crate) max_conns: Option<usize>,
    pub(crate) quiet: bool,
}

/// The command, or a message saying what is wrong with the arguments.
pub(crate) fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut listen = None;
    let mut routes = Vec::new();
    let mut timeout_ms = DEFAULT_TIMEOUT_MS;
    let mut silence_ms = DEFAULT_SILENCE_MS;
    let mut max_sniff_bytes = DEFAULT_MAX_SNIFF_BYTES;
    let mut accept_proxy = ProxyMode::Off;
    let mut proxy_from = Vec::new();
    let mut send_proxy = None;
    let mut proxy_v2_options = None;
    let mut max_conns = None;
    let mut quiet = false;

    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))?;
        let (name, mut inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        match name {
            "-h" | "--help" => return Ok(Command::Help),
            "-q" | "--quiet" => {
                if inline_value.is_some() {
                    return Err(format!("{name} takes no value"));
                }
                quiet = true;
                continue;
            }
            _ => {}
        }
        if !name.starts_with('-') {
            return Err(format!(
                "unexpected argument '{arg}' (routes are given as --route SPEC=BACKEND)"
            ));
        }
        let mut value = || -> Result<String, String> {
            match inline_value.take() {
                Some(value) => Ok(value),
                None => args
                    .next()
                    .ok_or_else(|| format!("{name} needs a value"))?
                    .into_string()
                    .map_err(|value| format!("the value {value:?} of {name} is not valid UTF-8")),
            }
        };
        match name {
            "--listen" => listen = Some(parse_listen(&value()?)?),
            "--route" => routes.push(parse_route(&value()?)?),
            "--timeout" => timeout_ms = parse_positive(name, &value()?)?,
            "--silence" => silence_ms = parse_positive(name, &value()?)?,
            "--max-sniff" => max_sniff_bytes = parse_positive(name, &value()?)?,
            "--accept-proxy" => accept_proxy = parse_accept_proxy(&value()?)?,
            "--proxy-from" => proxy_from.push(parse_proxy_from(&value()?)?),
            "--send-proxy" => send_proxy = Some(parse_send_proxy(&value()?)?),
            "--proxy-v2-options" => proxy_v2_options = Some(parse_proxy_v2_options(&value()?)?),
            "--max-conns" => max_conns = Some(parse_positive(name, &value()?)?),
            _ => return Err(format!("unknown option '{name}'")),
        }
    }

    let listen = listen.ok_or("--listen ADDR is required")?;
    if routes.is_empty() {
        return Err("at least one --route SPEC=BACKEND is required".into());
    }
    let has_silence_route = routes.iter().any(|route| route.spec == RouteSpec::Silence);
    if has_silence_route && silence_ms >= timeout_ms {
        return Err(format!(
            "--silence ({silence_ms} ms) must be below --timeout ({timeout_ms} ms), \
             or the sniff deadline ends the wait before the silence route can match"
        ));
    }
    if !proxy_from.is_empty() && accept_proxy == ProxyMode::Off {
        return Err("--proxy-from needs --accept-proxy optional or required".into());
    }
    if proxy_v2_options.is_some() && send_proxy != Some(SendProxy::V2) {
        return Err("--proxy-v2-options needs --send-proxy v2".into());
    }
    let trusted_proxies = if proxy_from.is_empty() {
        TrustedProxies::default()
    } else {
        proxy_from
            .into_iter()
            .fold(TrustedProxies::none(), TrustedProxies::allow)
    };
    Ok(Command::Run(Config {
        listen,
        routes,
        sniff_deadline: Duration::from_millis(timeout_ms),
        silence: Duration::from_millis(silence_ms),
        max_sniff_bytes,
        accept_proxy,
        trusted_proxies,
        send_proxy,
        proxy_v2_options: proxy_v2_options.unwrap_or_default(),
        max_conns,
        quiet,
    }))
}

/// Resolves the listen address here, so that a typo is a usage error
/// rather than a failure to listen.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let invalid = |why: String| format!("invalid --listen '{text}': {why} (expected HOST:PORT)");
    text.to_socket_addrs()
        .map_err(|error| invalid(error.to_string()))?
        .next()
        .ok_or_else(|| invalid("it resolves to no address".into()))
}

/// `SPEC=BACKEND`, split at the first `=` (neither a spec nor a host name
/// contains one).
fn parse_route(text: &str) -> Result<RouteArg, String> {
    let (spec, backend) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid --route '{text}': expected SPEC=BACKEND"))?;
    let spec = spec
        .parse::<RouteSpec>()
        .map_err(|why| format!("invalid --route '{text}': {why}"))?;
    let backend =
        Backend::parse(backend).map_err(|why| format!("invalid --route '{text}': {why}"))?;
    Ok(RouteArg { spec, backend })
}

/// A whole number of at least 1.
fn parse_positive<T>(option: &str, text: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    match text.parse::<T>() {
        Ok(number) if number >= T::from(1) => Ok(number),
        _ => Err(format!(
            "invalid {option} '{text}': expected a whole number of at least 1"
        )),
    }
}

fn parse_accept_proxy(text: &str) -> Result<ProxyMode, String> {
    match text {
        "off" => Ok(ProxyMode::Off),
        "optional" => Ok(ProxyMode::Optional),
        "required" => Ok(ProxyMode::Required),
        _ => Err(format!(
            "invalid --accept-proxy '{text}': expected off, optional or required"
        )),
    }
}

fn parse_proxy_from(text: &str) -> Result<IpNet, String> {
    text.parse()
        .map_err(|error| format!("invalid --proxy-from: {error}"))
}

fn parse_proxy_v2_options(text: &str) -> Result<ProxyV2Options, String> {
    let mut options = ProxyV2Options::default();
    for name in text.split(',') {
        match name {
            "unique-id" => options.unique_id = true,
            "crc32c" => options.crc32c = true,
            _ => {
                return Err(format!(
                    "invalid --proxy-v2-options '{text}': '{name}' is not one of unique-id, crc32c"
                ))
            }
        }
    }
    Ok(options)
}

fn parse_send_proxy(text: &str) -> Result<SendProxy, String> {
    match text {
        "v1" | "1" => Ok(SendProxy::V1),
        "v2" | "2" => Ok(SendProxy::V2),
        _ => Err(format!("invalid --send-proxy '{text}': expected v1 or v2")),
    }
}
