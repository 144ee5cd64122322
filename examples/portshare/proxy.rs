//! The proxy's shared state: the routes with their backends, the
//! forwarding threads, the connection limit, the log and the PROXY header
//! setting. Built once
//! from the command line, then read by every thread for the life of the
//! process.

use std::net::SocketAddr;
use std::time::Duration;

use crate::args::{Config, ProxyV2Options, SendProxy};
use crate::backend::Backend;
use crate::limit::ConnectionLimit;
use crate::log::{Log, LogFormat};
use crate::pool::Pool;
use crate::session::Download;
use crate::spec::RouteSpec;
use crate::unique_id::UniqueIds;

/// How long a forwarding thread with nothing to do waits for a new
/// connection before it exits.
const IDLE_THREAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What every thread of the proxy reads.
pub(crate) struct Proxy {
    /// In the order given, which is the multiplexer's route order.
    pub(crate) routes: Vec<Route>,
    pub(crate) send_proxy: Option<SendProxy>,
    pub(crate) proxy_v2_options: ProxyV2Options,
    /// The IDs of `--proxy-v2-options unique-id`.
    pub(crate) unique_ids: UniqueIds,
    pub(crate) pool: Pool<Download>,
    pub(crate) limit: ConnectionLimit,
    pub(crate) log: Log,
    /// The address the listener is bound to, as the log shows it.
    pub(crate) listen: SocketAddr,
}

/// One route's spec, as logged, and its backend.
pub(crate) struct Route {
    pub(crate) label: String,
    pub(crate) backend: Backend,
    /// The ALPN protocols the route matches on (`tls-alpn:`): the one the
    /// client offered is what `--send-proxy v2` tells the backend.
    pub(crate) alpn: Vec<String>,
}

impl Proxy {
    /// The shared state for `config`'s routes and options, serving the
    /// listener bound to `listen`.
    pub(crate) fn new(config: Config, listen: SocketAddr) -> Proxy {
        Proxy {
            routes: config
                .routes
                .into_iter()
                .map(|route| Route {
                    label: route.spec.to_string(),
                    alpn: matched_alpn(&route.spec),
                    backend: route.backend,
                })
                .collect(),
            send_proxy: config.send_proxy,
            proxy_v2_options: config.proxy_v2_options,
            unique_ids: UniqueIds::new(),
            pool: Pool::new(IDLE_THREAD_TIMEOUT),
            limit: ConnectionLimit::new(config.max_conns),
            log: Log::new(config.quiet, LogFormat::Text),
            listen,
        }
    }
}

/// The ALPN protocols a route of `spec` matches on.
fn matched_alpn(spec: &RouteSpec) -> Vec<String> {
    match spec {
        RouteSpec::TlsAlpn(protocols) => protocols.clone(),
        RouteSpec::All(specs) => specs.iter().flat_map(matched_alpn).collect(),
        _ => Vec::new(),
    }
}
