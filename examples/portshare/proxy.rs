//! The proxy's shared state: the routes with their backends, the
//! forwarding threads, the connection limit, the log and the PROXY header
//! setting. Built once
//! from the command line, then read by every thread for the life of the
//! process.

use std::time::Duration;

use crate::args::{Config, SendProxy};
use crate::backend::Backend;
use crate::limit::ConnectionLimit;
use crate::log::Log;
use crate::pool::Pool;
use crate::session::Download;

/// How long a forwarding thread with nothing to do waits for a new
/// connection before it exits.
const IDLE_THREAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What every thread of the proxy reads.
pub(crate) struct Proxy {
    /// In the order given, which is the multiplexer's route order.
    pub(crate) routes: Vec<Route>,
    pub(crate) send_proxy: Option<SendProxy>,
    pub(crate) pool: Pool<Download>,
    pub(crate) limit: ConnectionLimit,
    pub(crate) log: Log,
}

/// One route's spec, as logged, and its backend.
pub(crate) struct Route {
    pub(crate) label: String,
    pub(crate) backend: Backend,
}

impl Proxy {
    /// The shared state for `config`'s routes and options.
    pub(crate) fn new(config: Config) -> Proxy {
        Proxy {
            routes: config
                .routes
                .into_iter()
                .map(|route| Route {
                    label: route.spec.to_string(),
                    backend: route.backend,
                })
                .collect(),
            send_proxy: config.send_proxy,
            pool: Pool::new(IDLE_THREAD_TIMEOUT),
            limit: ConnectionLimit::new(config.max_conns),
            log: Log::new(config.quiet),
        }
    }
}
