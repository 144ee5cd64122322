//! `Addresses`: a connection's endpoints, as a route by address sees them.

use std::net::SocketAddr;

/// A connection's addresses, fixed before its first byte: the context a
/// route by address decides on ([`from`](crate::matchers::from),
/// [`to`](crate::matchers::to), or a matcher of your own through
/// [`Matcher::verdict_with`](crate::Matcher::verdict_with)).
///
/// `peer` and `local` are the connection's own two ends. `client` and
/// `destination` are who the client is and the address it dialled: the
/// same as `peer` and `local`, unless a PROXY header from a trusted peer
/// (see [`MuxBuilder::trusted_proxies`](crate::MuxBuilder::trusted_proxies))
/// named others. A field is `None` where there is no IP address to tell:
/// Unix sockets, in-memory connections, a PROXY header naming Unix
/// sockets.
///
/// ```
/// use connmux::Addresses;
///
/// let direct = Addresses::direct("192.0.2.7:40000".parse()?, "198.51.100.1:443".parse()?);
/// assert_eq!(direct.client, direct.peer);
///
/// // Behind a load balancer that said who the client is:
/// let relayed = direct.relayed(Some("203.0.113.9:5000".parse()?), direct.local);
/// assert_eq!(relayed.client, Some("203.0.113.9:5000".parse()?));
/// assert_eq!(relayed.peer, direct.peer);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Addresses {
    /// The address of the connection's other end: the client, or a proxy
    /// in front of it.
    pub peer: Option<SocketAddr>,
    /// The connection's local address: where the peer connected to.
    pub local: Option<SocketAddr>,
    /// The client: `peer`, or the source a believed PROXY header named.
    pub client: Option<SocketAddr>,
    /// The address the client dialled: `local`, or the destination a
    /// believed PROXY header named.
    pub destination: Option<SocketAddr>,
}

impl Addresses {
    /// No address known: what matchers are asked with when the connection
    /// has none, and what [`Matcher::verdict`](crate::Matcher::verdict)
    /// stands for.
    pub const UNKNOWN: Addresses = Addresses {
        peer: None,
        local: None,
        client: None,
        destination: None,
    };

    /// The addresses of a connection from `peer` to `local`, with no proxy
    /// in between.
    pub fn direct(peer: SocketAddr, local: SocketAddr) -> Addresses {
        Addresses {
            peer: Some(peer),
            local: Some(local),
            client: Some(peer),
            destination: Some(local),
        }
    }

    /// These addresses with the client and destination a proxy in front
    /// relayed (a PROXY header's source and destination).
    pub fn relayed(self, client: Option<SocketAddr>, destination: Option<SocketAddr>) -> Addresses {
        Addresses {
            client,
            destination,
            ..self
        }
    }
}
