//! `RouteId`: the name a route has in events, statistics and streams.

use std::fmt;

/// Identifies a route: its position in registration order, from 0.
///
/// ```
/// use connmux::{matchers, Mux};
/// use std::net::TcpListener;
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
/// let http = mux.route(matchers::http1_fast());
/// let rest = mux.route(matchers::any());
/// assert_eq!(http.route().index(), 0);
/// assert_eq!(rest.route().to_string(), "route 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(pub(crate) usize);

impl RouteId {
    /// The route's position in registration order, from 0. Example: on
    /// the [type](RouteId).
    pub fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route {}", self.0)
    }
}
