//! The proxy's state: what lives as long as the process ([`Proxy`]: the
//! forwarding threads, the connection IDs, the limit of all connections,
//! the log and the metrics), and what a configuration decides and a
//! reload replaces ([`Table`]: the routes and how their connections are
//! forwarded).
//!
//! A connection holds the table it was routed by until it ends, so a
//! reload never changes how a connection already forwarded is handled.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::limit::ConnectionLimit;
use crate::log::Log;
use crate::metrics::Metrics;
use crate::options::{Config, ProxyV2Options, RouteConfig, SendProxy};
use crate::pool::Pool;
use crate::session::Download;
use crate::spec::RouteSpec;
use crate::unique_id::UniqueIds;

/// How long a forwarding thread with nothing to do waits for a new
/// connection before it exits.
const IDLE_THREAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What every thread of the proxy reads, for the life of the process.
pub(crate) struct Proxy {
    /// The IDs of `proxy-v2-options unique-id`, unique across reloads.
    pub(crate) unique_ids: UniqueIds,
    pub(crate) pool: Pool<Download>,
    /// `max-conns`: every listener's connections together.
    pub(crate) limit: Arc<ConnectionLimit>,
    pub(crate) log: Log,
    pub(crate) metrics: Metrics,
}

impl Proxy {
    pub(crate) fn new(config: &Config) -> Proxy {
        Proxy {
            unique_ids: UniqueIds::new(),
            pool: Pool::new(IDLE_THREAD_TIMEOUT),
            limit: ConnectionLimit::new(config.max_conns),
            log: Log::new(config.quiet, config.log_format),
            metrics: Metrics::new(),
        }
    }
}

/// The routes of one configuration and how their connections are
/// forwarded.
pub(crate) struct Table {
    /// In the configured order, which is the multiplexer's route order.
    pub(crate) routes: Vec<Route>,
    pub(crate) proxy_v2_options: ProxyV2Options,
    pub(crate) connect_timeout: Duration,
    /// How long a backend that failed is skipped while its route has
    /// others.
    pub(crate) backend_retry: Duration,
    /// `None`: a forwarded connection may stay idle for ever.
    pub(crate) idle_timeout: Option<Duration>,
}

/// One route: its name, as logged, its backends and options.
pub(crate) struct Route {
    pub(crate) name: String,
    pub(crate) backends: Vec<Backend>,
    /// The ALPN protocols the route matches on (`tls-alpn:`): the one the
    /// client offered is what `send-proxy v2` tells the backend.
    pub(crate) alpn: Vec<String>,
    pub(crate) send_proxy: Option<SendProxy>,
    pub(crate) limit: Arc<ConnectionLimit>,
    pub(crate) log: bool,
}

impl Table {
    /// The table of `config`, whose routes it takes.
    pub(crate) fn new(config: &mut Config) -> Table {
        Table {
            routes: config.routes.drain(..).map(Route::new).collect(),
            proxy_v2_options: config.proxy_v2_options,
            connect_timeout: config.connect_timeout,
            backend_retry: config.backend_retry,
            idle_timeout: config.idle_timeout,
        }
    }
}

impl Route {
    fn new(config: RouteConfig) -> Route {
        Route {
            alpn: matched_alpn(&config.spec),
            name: config.name,
            backends: config.backends,
            send_proxy: config.send_proxy,
            limit: ConnectionLimit::new(config.max_conns),
            log: config.log,
        }
    }

    /// The backends as given: `a:1,b:2`.
    pub(crate) fn backends_text(&self) -> String {
        let names: Vec<String> = self.backends.iter().map(Backend::to_string).collect();
        names.join(",")
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
