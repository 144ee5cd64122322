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
    /// one; connections without one are routed as they are. A header that
    /// starts well but breaks the protocol is still rejected.
    Optional,
    /// Every connection must start with a valid PROXY header; one that does
    /// not is closed with a [`DropReason::ProxyHeader`] event. Use this
    /// when only the load balancer can reach the port: otherwise any client
    /// could claim any source address.
    ///
    /// [`DropReason::ProxyHeader`]: crate::DropReason::ProxyHeader
    Required,
}
