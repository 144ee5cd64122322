//! `ProxyMode`: whether connections start with a PROXY protocol header.

/// Whether connections start with a PROXY protocol header (v1 or v2), as
/// they do behind HAProxy, a cloud load balancer or stunnel configured to
/// send one; see [`MuxBuilder::proxy_protocol`](crate::MuxBuilder::proxy_protocol).
///
/// Non-exhaustive: other policies (accepting one version only, say) may
/// be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ProxyMode {
    /// No PROXY header is expected: the first byte belongs to the client's
    /// protocol. The default.
    #[default]
    Off,
    /// A PROXY header is parsed and removed if the connection starts with
    /// one and comes from a [trusted peer]; connections without one, and
    /// every connection from another peer, are routed as they are. A
    /// header that starts well but breaks the protocol is still rejected.
    ///
    /// [trusted peer]: crate::MuxBuilder::trusted_proxies
    Optional,
    /// Every connection must come from a [trusted peer] and start with a
    /// valid PROXY header; one that does not is closed with a
    /// [`DropReason::UntrustedProxy`] or [`DropReason::ProxyHeader`]
    /// event.
    ///
    /// [trusted peer]: crate::MuxBuilder::trusted_proxies
    /// [`DropReason::UntrustedProxy`]: crate::DropReason::UntrustedProxy
    /// [`DropReason::ProxyHeader`]: crate::DropReason::ProxyHeader
    Required,
}
