//! Who may send a PROXY header: the peers a multiplexer believes.
//!
//! A PROXY header says who the client is, and anyone who can reach the
//! port can write one. So a header is parsed only from a peer in the
//! [`TrustedProxies`] (HAProxy's `expect-proxy ... if { src -f ... }`,
//! nginx's `set_real_ip_from`): by default the loopback addresses and
//! peers on the same machine (Unix sockets, in-memory connections).

use std::net::IpAddr;

use crate::address::IpNet;

/// Where a connection comes from, as far as trusting it goes: what a
/// source's [`Accept::peer_origin`](crate::Accept::peer_origin) says of
/// each peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerOrigin {
    /// A peer with this IP address.
    Ip(IpAddr),
    /// A peer on the same machine that has no IP address: a Unix socket's
    /// or an in-memory connection's.
    Local,
    /// The source cannot tell (a connection handed over through a
    /// [`channel`](crate::channel), say): trusted only by
    /// [`TrustedProxies::everyone`].
    Unknown,
}

/// The peers whose PROXY headers a multiplexer believes: see
/// [`MuxBuilder::trusted_proxies`](crate::MuxBuilder::trusted_proxies).
///
/// The default trusts the loopback networks (`127.0.0.0/8`, `::1/128`)
/// and peers on the same machine without an IP address (Unix sockets,
/// in-memory connections): a load balancer on the same host. A load
/// balancer elsewhere must be listed.
///
/// ```
/// use connmux::{PeerOrigin, TrustedProxies};
///
/// let trusted = TrustedProxies::none().allow("10.0.0.0/8".parse()?);
/// assert!(trusted.trusts(PeerOrigin::Ip("10.2.3.4".parse()?)));
/// assert!(!trusted.trusts(PeerOrigin::Ip("127.0.0.1".parse()?)));
/// assert!(!trusted.trusts(PeerOrigin::Local));
/// assert!(TrustedProxies::default().trusts(PeerOrigin::Ip("::1".parse()?)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    local: bool,
    everyone: bool,
}

impl TrustedProxies {
    /// Trusts no peer: add those to trust with [`allow`](Self::allow) and
    /// [`allow_local`](Self::allow_local).
    pub fn none() -> TrustedProxies {
        TrustedProxies {
            nets: Vec::new(),
            local: false,
            everyone: false,
        }
    }

    /// Trusts every peer, whatever its address: only for a port that
    /// nothing but the load balancer can reach (a firewall's job), as
    /// before trust could be configured.
    pub fn everyone() -> TrustedProxies {
        TrustedProxies {
            everyone: true,
            ..TrustedProxies::none()
        }
    }

    /// Also trusts the peers in `net`.
    #[must_use]
    pub fn allow(mut self, net: IpNet) -> TrustedProxies {
        self.nets.push(net);
        self
    }

    /// Also trusts peers on the same machine without an IP address (Unix
    /// sockets, in-memory connections).
    #[must_use]
    pub fn allow_local(mut self) -> TrustedProxies {
        self.local = true;
        self
    }

    /// Whether a peer from `origin` may send a PROXY header.
    pub fn trusts(&self, origin: PeerOrigin) -> bool {
        match origin {
            _ if self.everyone => true,
            PeerOrigin::Ip(ip) => self.nets.iter().any(|net| net.contains(ip)),
            PeerOrigin::Local => self.local,
            PeerOrigin::Unknown => false,
        }
    }
}

impl Default for TrustedProxies {
    fn default() -> TrustedProxies {
        let loopback = ["127.0.0.0/8", "::1/128"].map(|net| net.parse().expect("a network"));
        TrustedProxies {
            nets: loopback.to_vec(),
            local: true,
            everyone: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_trusts_this_machine_only() {
        let trusted = TrustedProxies::default();
        for origin in [
            PeerOrigin::Ip(ip("127.0.0.1")),
            PeerOrigin::Ip(ip("127.9.9.9")),
            PeerOrigin::Ip(ip("::1")),
            PeerOrigin::Ip(ip("::ffff:127.0.0.1")),
            PeerOrigin::Local,
        ] {
            assert!(trusted.trusts(origin), "{origin:?}");
        }
        for origin in [
            PeerOrigin::Ip(ip("10.0.0.1")),
            PeerOrigin::Ip(ip("::2")),
            PeerOrigin::Unknown,
        ] {
            assert!(!trusted.trusts(origin), "{origin:?}");
        }
        assert!(TrustedProxies::everyone().trusts(PeerOrigin::Unknown));
        assert!(!TrustedProxies::none().trusts(PeerOrigin::Local));
        assert!(TrustedProxies::none()
            .allow_local()
            .trusts(PeerOrigin::Local));
    }
}
