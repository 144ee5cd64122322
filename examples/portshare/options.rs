//! portshare's options, one vocabulary for every way of giving them: the
//! command line (`--route ssh=127.0.0.1:22`), portshare's configuration
//! file (`route ssh=127.0.0.1:22`) and sslh's configuration or command
//! line, translated. Each source turns into a list of [`Setting`]s; this
//! file checks them and builds the [`Config`] the proxy runs with.
//!
//! A setting given twice keeps its last value, so the command line, read
//! after a file, overrides it; `listen`, `route` and `proxy-from` add up.
//! Checks that need several settings at once (a silence route needs
//! `silence` below `timeout`) run after all of them are read.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use connmux::{IpNet, ProxyMode, TrustedProxies};

use crate::backend::Backend;
use crate::log::LogFormat;
use crate::spec::RouteSpec;

/// The sniff deadline when `timeout` is not given, in milliseconds.
const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// The silence route's first-byte timeout when `silence` is not given.
const DEFAULT_SILENCE_MS: u64 = 2000;
/// The sniff byte limit when `max-sniff` is not given.
const DEFAULT_MAX_SNIFF_BYTES: usize = 16 * 1024;
/// How long a backend connect may take when `connect-timeout` is not given.
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5000;
/// How long a backend that failed is skipped when `backend-retry` is not
/// given (nginx's `fail_timeout`).
const DEFAULT_BACKEND_RETRY_MS: u64 = 10_000;

/// One option and its value, and where it was given, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    /// The option's name without dashes: `route`, `timeout`, ...
    pub(crate) name: String,
    /// `None` for a flag (`quiet`).
    pub(crate) value: Option<String>,
    /// Where it was given, as messages start: empty on the command line,
    /// `FILE:LINE: ` in a file.
    pub(crate) origin: String,
}

impl Setting {
    /// How the user spelt the option: `--route` on the command line,
    /// `route` in a file.
    fn spelt(&self) -> String {
        match self.origin.is_empty() {
            true => format!("--{}", self.name),
            false => self.name.clone(),
        }
    }
}

/// Which options take a value; the others are flags.
pub(crate) fn takes_value(name: &str) -> Option<bool> {
    match name {
        "quiet" | "unmatched-to-last" => Some(false),
        "listen" | "route" | "timeout" | "silence" | "max-sniff" | "accept-proxy"
        | "proxy-from" | "send-proxy" | "proxy-v2-options" | "max-conns" | "on-timeout"
        | "connect-timeout" | "backend-retry" | "idle-timeout" | "pidfile" | "metrics"
        | "log-format" => Some(true),
        _ => None,
    }
}

/// Which PROXY protocol version to send to backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendProxy {
    /// The text line (HAProxy's `send-proxy`).
    V1,
    /// The binary header (HAProxy's `send-proxy-v2`).
    V2,
}

impl fmt::Display for SendProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendProxy::V1 => "v1",
            SendProxy::V2 => "v2",
        })
    }
}

/// The TLVs `proxy-v2-options` adds to a PROXY v2 header, named as in
/// HAProxy's `proxy-v2-options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProxyV2Options {
    /// A UNIQUE_ID TLV: an ID of the connection, unique to this process.
    pub(crate) unique_id: bool,
    /// A CRC32C TLV: the checksum of the whole header.
    pub(crate) crc32c: bool,
}

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListenAddr {
    Tcp(SocketAddr),
    /// A UNIX stream socket path.
    Unix(PathBuf),
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(addr) => addr.fmt(f),
            ListenAddr::Unix(path) => path.display().fmt(f),
        }
    }
}

/// One `listen ADDR [max-conns=N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenConfig {
    pub(crate) addr: ListenAddr,
    /// Connections from this listener forwarded at once; `None`: no limit.
    pub(crate) max_conns: Option<usize>,
}

/// One `route SPEC=BACKEND[,BACKEND...] [KEY=VALUE ...]`.
pub(crate) struct RouteConfig {
    pub(crate) spec: RouteSpec,
    /// Tried in order.
    pub(crate) backends: Vec<Backend>,
    /// What `on-timeout` and the log call it: `name=`, else the spec.
    pub(crate) name: String,
    /// `send-proxy=`, else the global `send-proxy`.
    pub(crate) send_proxy: Option<SendProxy>,
    /// Connections of this route forwarded at once; `None`: no limit.
    pub(crate) max_conns: Option<usize>,
    /// `log=off` leaves this route's connections out of the log.
    pub(crate) log: bool,
}

/// Everything the proxy runs with.
pub(crate) struct Config {
    pub(crate) listeners: Vec<ListenConfig>,
    /// In the order given, which is the order they are tried in.
    pub(crate) routes: Vec<RouteConfig>,
    pub(crate) sniff_deadline: Duration,
    pub(crate) silence: Duration,
    pub(crate) max_sniff_bytes: usize,
    pub(crate) accept_proxy: ProxyMode,
    /// The peers whose PROXY header is believed.
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) proxy_v2_options: ProxyV2Options,
    /// Connections forwarded at once, all listeners together; `None`: no
    /// limit.
    pub(crate) max_conns: Option<usize>,
    /// The route (index into `routes`) that takes a connection whose sniff
    /// ended undecided: deadline passed, or the client stopped sending.
    pub(crate) on_timeout: Option<usize>,
    /// Whether a connection every route refused goes to the last route.
    pub(crate) unmatched_to_last: bool,
    pub(crate) connect_timeout: Duration,
    /// How long a backend that failed is skipped while its route has
    /// others; zero: never.
    pub(crate) backend_retry: Duration,
    /// `None`: a forwarded connection may stay idle for ever.
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) pidfile: Option<PathBuf>,
    /// Where to serve Prometheus metrics.
    pub(crate) metrics: Option<SocketAddr>,
    pub(crate) log_format: LogFormat,
    pub(crate) quiet: bool,
    /// What is allowed but probably not meant, one line each.
    pub(crate) warnings: Vec<String>,
}

/// A configuration that cannot run: what is wrong, and whether a file
/// (rather than the command line) said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    pub(crate) message: String,
    pub(crate) in_file: bool,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The settings, read in order, checked, and made a [`Config`].
/// `from_file`: whether any came from a file, for the errors that belong
/// to no one setting (no route given at all).
pub(crate) fn build(settings: &[Setting], from_file: bool) -> Result<Config, ConfigError> {
    let mut builder = Builder::default();
    for setting in settings {
        builder.apply(setting).map_err(|message| ConfigError {
            message: format!("{}{message}", setting.origin),
            in_file: !setting.origin.is_empty(),
        })?;
    }
    builder.finish().map_err(|message| ConfigError {
        message,
        in_file: from_file,
    })
}

/// The settings read so far.
#[derive(Default)]
struct Builder {
    listeners: Vec<ListenConfig>,
    routes: Vec<RouteConfig>,
    /// Each route's `send-proxy=`, `Some(None)` for `off`.
    route_send_proxy: Vec<Option<Option<SendProxy>>>,
    timeout_ms: Option<u64>,
    silence_ms: Option<u64>,
    max_sniff_bytes: Option<usize>,
    accept_proxy: Option<ProxyMode>,
    proxy_from: Vec<IpNet>,
    send_proxy: Option<SendProxy>,
    proxy_v2_options: Option<ProxyV2Options>,
    max_conns: Option<usize>,
    on_timeout: Option<String>,
    unmatched_to_last: bool,
    connect_timeout_ms: Option<u64>,
    backend_retry_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    pidfile: Option<PathBuf>,
    metrics: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    quiet: bool,
}

impl Builder {
    fn apply(&mut self, setting: &Setting) -> Result<(), String> {
        let option = setting.spelt();
        let value = || {
            setting
                .value
                .as_deref()
                .ok_or_else(|| format!("{option} needs a value"))
        };
        match takes_value(&setting.name) {
            None => return Err(format!("unknown option '{option}'")),
            Some(false) if setting.value.is_some() => {
                return Err(format!("{option} takes no value"))
            }
            _ => {}
        }
        match setting.name.as_str() {
            "quiet" => self.quiet = true,
            "unmatched-to-last" => self.unmatched_to_last = true,
            "listen" => self.listeners.push(parse_listen(&option, value()?)?),
            "route" => {
                let (route, send_proxy) = parse_route(&option, value()?)?;
                self.routes.push(route);
                self.route_send_proxy.push(send_proxy);
            }
            "timeout" => self.timeout_ms = Some(parse_positive(&option, value()?)?),
            "silence" => self.silence_ms = Some(parse_positive(&option, value()?)?),
            "max-sniff" => self.max_sniff_bytes = Some(parse_positive(&option, value()?)?),
            "accept-proxy" => self.accept_proxy = Some(parse_accept_proxy(&option, value()?)?),
            "proxy-from" => self.proxy_from.push(
                value()?
                    .parse()
                    .map_err(|error| format!("invalid {option}: {error}"))?,
            ),
            "send-proxy" => self.send_proxy = parse_send_proxy(&option, value()?)?,
            "proxy-v2-options" => {
                self.proxy_v2_options = Some(parse_proxy_v2_options(&option, value()?)?)
            }
            "max-conns" => self.max_conns = Some(parse_positive(&option, value()?)?),
            "on-timeout" => self.on_timeout = Some(value()?.to_owned()),
            "connect-timeout" => self.connect_timeout_ms = Some(parse_positive(&option, value()?)?),
            "backend-retry" => {
                let text = value()?;
                self.backend_retry_ms = Some(text.parse().map_err(|_| {
                    format!("invalid {option} '{text}': expected a whole number of milliseconds")
                })?)
            }
            "idle-timeout" => self.idle_timeout_ms = Some(parse_positive(&option, value()?)?),
            "pidfile" => self.pidfile = Some(PathBuf::from(value()?)),
            "metrics" => self.metrics = Some(parse_address(&option, value()?)?),
            "log-format" => {
                self.log_format = Some(match value()? {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    other => {
                        return Err(format!("invalid {option} '{other}': expected text or json"))
                    }
                })
            }
            name => unreachable!("takes_value knows '{name}'"),
        }
        Ok(())
    }

    fn finish(self) -> Result<Config, String> {
        if self.listeners.is_empty() {
            return Err("--listen ADDR is required".into());
        }
        if self.routes.is_empty() {
            return Err("at least one --route SPEC=BACKEND is required".into());
        }
        let timeout_ms = self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        let silence_ms = self.silence_ms.unwrap_or(DEFAULT_SILENCE_MS);
        let has_silence_route = self
            .routes
            .iter()
            .any(|route| route.spec == RouteSpec::Silence);
        if has_silence_route && silence_ms >= timeout_ms {
            return Err(format!(
                "--silence ({silence_ms} ms) must be below --timeout ({timeout_ms} ms), \
                 or the sniff deadline ends the wait before the silence route can match"
            ));
        }
        let accept_proxy = self.accept_proxy.unwrap_or(ProxyMode::Off);
        if !self.proxy_from.is_empty() && accept_proxy == ProxyMode::Off {
            return Err("--proxy-from needs --accept-proxy optional or required".into());
        }
        let mut routes = self.routes;
        for (route, send_proxy) in routes.iter_mut().zip(self.route_send_proxy) {
            route.send_proxy = send_proxy.unwrap_or(self.send_proxy);
        }
        let sends_v2 = routes
            .iter()
            .any(|route| route.send_proxy == Some(SendProxy::V2));
        if self.proxy_v2_options.is_some() && !sends_v2 {
            return Err("--proxy-v2-options needs --send-proxy v2".into());
        }
        let mut warnings = Vec::new();
        let on_timeout = match self.on_timeout.as_deref() {
            None => None,
            Some(name) => Some(
                routes
                    .iter()
                    .position(|route| route.name == name)
                    .ok_or_else(|| {
                        format!(
                            "--on-timeout '{name}' names no route (routes are named by \
                             name=NAME, else by their SPEC)"
                        )
                    })?,
            ),
        };
        for (index, route) in routes.iter().enumerate() {
            if route.spec == RouteSpec::Timeout && on_timeout != Some(index) {
                warnings.push(format!(
                    "route '{}' ({}) takes no connection: a timeout route is only for \
                     --on-timeout, which does not name it",
                    route.name,
                    route.backends_text()
                ));
            }
        }
        if let Some(name) = self.on_timeout.as_deref() {
            if routes.iter().filter(|route| route.name == name).count() > 1 {
                warnings.push(format!(
                    "several routes are named '{name}': --on-timeout sends to the first"
                ));
            }
        }
        let trusted_proxies = if self.proxy_from.is_empty() {
            TrustedProxies::default()
        } else {
            self.proxy_from
                .into_iter()
                .fold(TrustedProxies::none(), TrustedProxies::allow)
        };
        Ok(Config {
            listeners: self.listeners,
            routes,
            sniff_deadline: Duration::from_millis(timeout_ms),
            silence: Duration::from_millis(silence_ms),
            max_sniff_bytes: self.max_sniff_bytes.unwrap_or(DEFAULT_MAX_SNIFF_BYTES),
            accept_proxy,
            trusted_proxies,
            proxy_v2_options: self.proxy_v2_options.unwrap_or_default(),
            max_conns: self.max_conns,
            on_timeout,
            unmatched_to_last: self.unmatched_to_last,
            connect_timeout: Duration::from_millis(
                self.connect_timeout_ms
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS),
            ),
            backend_retry: Duration::from_millis(
                self.backend_retry_ms.unwrap_or(DEFAULT_BACKEND_RETRY_MS),
            ),
            idle_timeout: self.idle_timeout_ms.map(Duration::from_millis),
            pidfile: self.pidfile,
            metrics: self.metrics,
            log_format: self.log_format.unwrap_or(LogFormat::Text),
            quiet: self.quiet,
            warnings,
        })
    }
}

impl RouteConfig {
    /// The backends as given: `a:1,b:2`.
    pub(crate) fn backends_text(&self) -> String {
        let names: Vec<String> = self.backends.iter().map(Backend::to_string).collect();
        names.join(",")
    }
}

impl Config {
    /// The routes as `--check` and the start-up line show them: in order,
    /// each with its backends and options, then what takes connections
    /// no route took.
    pub(crate) fn describe_routes(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .routes
            .iter()
            .map(|route| {
                let mut line = format!("{}={}", route.spec, route.backends_text());
                if route.name != route.spec.to_string() {
                    line.push_str(&format!(" name={}", route.name));
                }
                if let Some(version) = route.send_proxy {
                    line.push_str(&format!(" send-proxy={version}"));
                }
                if let Some(max) = route.max_conns {
                    line.push_str(&format!(" max-conns={max}"));
                }
                if !route.log {
                    line.push_str(" log=off");
                }
                line
            })
            .collect();
        if self.unmatched_to_last {
            let last = self.routes.last().expect("at least one route");
            lines.push(format!("unmatched -> {}", last.name));
        }
        if let Some(index) = self.on_timeout {
            lines.push(format!("timeout -> {}", self.routes[index].name));
        }
        lines
    }
}

/// `ADDR [max-conns=N]`: `HOST:PORT`, resolved here so that a typo is an
/// error now rather than a failure to listen, or a UNIX socket path
/// (anything containing `/`).
fn parse_listen(option: &str, text: &str) -> Result<ListenConfig, String> {
    let mut words = text.split_whitespace();
    let addr = words.next().unwrap_or("");
    let addr = if addr.contains('/') {
        ListenAddr::Unix(PathBuf::from(addr))
    } else {
        let invalid =
            |why: String| format!("invalid {option} '{text}': {why} (expected HOST:PORT)");
        ListenAddr::Tcp(
            addr.to_socket_addrs()
                .map_err(|error| invalid(error.to_string()))?
                .next()
                .ok_or_else(|| invalid("it resolves to no address".into()))?,
        )
    };
    let mut listen = ListenConfig {
        addr,
        max_conns: None,
    };
    for word in words {
        match word.split_once('=') {
            Some(("max-conns", max)) => {
                listen.max_conns = Some(parse_positive(&format!("{option} max-conns"), max)?)
            }
            _ => {
                return Err(format!(
                    "invalid {option} '{text}': unknown '{word}' (only max-conns=N follows the address)"
                ))
            }
        }
    }
    Ok(listen)
}

/// `SPEC=BACKEND[,BACKEND...] [name=NAME] [send-proxy=v1|v2|off]
/// [max-conns=N] [log=on|off]`, the spec split at the first `=` (neither
/// a spec nor a host name contains one). With the route's own
/// `send-proxy`, if given (`Some(None)`: `off`).
fn parse_route(
    option: &str,
    text: &str,
) -> Result<(RouteConfig, Option<Option<SendProxy>>), String> {
    let invalid = |why: String| format!("invalid {option} '{text}': {why}");
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    let (spec, backends) = first
        .split_once('=')
        .ok_or_else(|| invalid("expected SPEC=BACKEND".into()))?;
    let spec = spec.parse::<RouteSpec>().map_err(invalid)?;
    let backends = backends
        .split(',')
        .map(Backend::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let mut route = RouteConfig {
        name: spec.to_string(),
        spec,
        backends,
        send_proxy: None,
        max_conns: None,
        log: true,
    };
    let mut send_proxy = None;
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| invalid(format!("'{word}' is not KEY=VALUE")))?;
        match key {
            "name" if !value.is_empty() => route.name = value.to_owned(),
            "send-proxy" => send_proxy = Some(parse_send_proxy(option, value)?),
            "max-conns" => {
                route.max_conns = Some(parse_positive(&format!("{option} max-conns"), value)?)
            }
            "log" => {
                route.log = match value {
                    "on" => true,
                    "off" => false,
                    _ => return Err(invalid(format!("log={value}: expected on or off"))),
                }
            }
            _ => {
                return Err(invalid(format!(
                    "unknown '{word}' (after SPEC=BACKEND: name=, send-proxy=, max-conns=, log=)"
                )))
            }
        }
    }
    Ok((route, send_proxy))
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

fn parse_address(option: &str, text: &str) -> Result<SocketAddr, String> {
    let invalid = |why: String| format!("invalid {option} '{text}': {why} (expected HOST:PORT)");
    text.to_socket_addrs()
        .map_err(|error| invalid(error.to_string()))?
        .next()
        .ok_or_else(|| invalid("it resolves to no address".into()))
}

fn parse_accept_proxy(option: &str, text: &str) -> Result<ProxyMode, String> {
    match text {
        "off" => Ok(ProxyMode::Off),
        "optional" => Ok(ProxyMode::Optional),
        "required" => Ok(ProxyMode::Required),
        _ => Err(format!(
            "invalid {option} '{text}': expected off, optional or required"
        )),
    }
}

fn parse_proxy_v2_options(option: &str, text: &str) -> Result<ProxyV2Options, String> {
    let mut options = ProxyV2Options::default();
    for name in text.split(',') {
        match name {
            "unique-id" => options.unique_id = true,
            "crc32c" => options.crc32c = true,
            _ => {
                return Err(format!(
                    "invalid {option} '{text}': '{name}' is not one of unique-id, crc32c"
                ))
            }
        }
    }
    Ok(options)
}

/// `v1`, `v2`, or `off` (`None`).
fn parse_send_proxy(option: &str, text: &str) -> Result<Option<SendProxy>, String> {
    match text {
        "v1" | "1" => Ok(Some(SendProxy::V1)),
        "v2" | "2" => Ok(Some(SendProxy::V2)),
        "off" => Ok(None),
        _ => Err(format!("invalid {option} '{text}': expected v1, v2 or off")),
    }
}
