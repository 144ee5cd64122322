//! Routes by address: the client a connection comes from, the address it
//! dialled (HAProxy's `src` and `dst`, nginx's `$remote_addr`, caddy-l4's
//! `remote_ip` and `local_ip`).
//!
//! These read no byte. A connection's [`Addresses`] are fixed before its
//! first byte, so each verdict is the same for every input: `Match` or
//! `NoMatch` on the empty input already, and combined with byte matchers
//! through [`all_of`](crate::all_of), [`any_of`](crate::any_of) and
//! [`not`](crate::not) they stay prefix-monotone. Asked without addresses
//! ([`Matcher::verdict`]), they see [`Addresses::UNKNOWN`], which no
//! network contains.

use std::net::SocketAddr;

use crate::address::{Addresses, IpNet, IpNetError};
use crate::matcher::{Matcher, Verdict};

/// Matches connections whose client is in one of some networks; see
/// [`from`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIn {
    nets: Vec<IpNet>,
}

/// Matches connections that dialled an address in one of some networks;
/// see [`to`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationIn {
    nets: Vec<IpNet>,
}

/// Matches connections that dialled one of some ports; see [`to_port`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationPort {
    ports: Vec<u16>,
}

/// A matcher of connections from a client in one of `nets` (CIDR:
/// `10.0.0.0/8`, `2001:db8::/32`, or one address), whatever they send.
///
/// The client is the connection's peer, or the source a PROXY header from
/// a trusted peer named (see [`Addresses`]). An IPv4 client on an IPv6
/// socket (`::ffff:10.1.2.3`) is in IPv4 networks. An empty list matches
/// no connection.
///
/// # Errors
///
/// When a text is not an IP network.
///
/// # Examples
///
/// ```
/// use connmux::{all_of, not, Addresses, Matcher, Verdict};
/// use connmux::matchers::{from, ssh};
///
/// // SSH from the office network only; everyone else's SSH goes elsewhere.
/// let office_ssh = all_of((from(["10.0.0.0/8", "2001:db8::/32"])?, ssh()));
/// let office = Addresses::direct("10.1.2.3:50000".parse()?, "10.0.0.1:22".parse()?);
/// let outside = Addresses::direct("198.51.100.7:50000".parse()?, "10.0.0.1:22".parse()?);
/// assert_eq!(office_ssh.verdict_with(&office, b"SSH-2.0-OpenSSH_9.6\r\n"), Verdict::Match);
/// assert_eq!(office_ssh.verdict_with(&outside, b"SSH-2.0-OpenSSH_9.6\r\n"), Verdict::NoMatch);
/// // Decided before the first byte.
/// assert_eq!(not(from(["10.0.0.0/8"])?).verdict_with(&outside, b""), Verdict::Match);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from<I>(nets: I) -> Result<ClientIn, IpNetError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    parse_nets(nets).map(ClientIn::new)
}

/// A matcher of connections that dialled an address in one of `nets`,
/// whatever they send: one multiplexer serving several addresses (a
/// listener on `0.0.0.0`, or several sources fed into one
/// [`channel`](crate::channel)) routes each by the address its clients
/// dialled.
///
/// The destination is the connection's local address, or the destination
/// a PROXY header from a trusted peer named (see [`Addresses`]). An empty
/// list matches no connection.
///
/// # Errors
///
/// When a text is not an IP network.
///
/// # Examples
///
/// ```
/// use connmux::{Addresses, Matcher, Verdict};
/// use connmux::matchers::to;
///
/// let internal = to(["10.0.0.0/8"])?;
/// let dialled = Addresses::direct("10.9.9.9:40000".parse()?, "10.0.0.1:443".parse()?);
/// assert_eq!(internal.verdict_with(&dialled, b""), Verdict::Match);
/// assert_eq!(internal.verdict(b""), Verdict::NoMatch); // no address known
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to<I>(nets: I) -> Result<DestinationIn, IpNetError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    parse_nets(nets).map(DestinationIn::new)
}

/// A matcher of connections that dialled one of `ports`, whatever they
/// send: the destination port, as [`to`] reads the destination address.
///
/// ```
/// use connmux::{Addresses, Matcher, Verdict};
/// use connmux::matchers::to_port;
///
/// let dialled = Addresses::direct("192.0.2.7:40000".parse()?, "192.0.2.1:8443".parse()?);
/// assert_eq!(to_port([443, 8443]).verdict_with(&dialled, b""), Verdict::Match);
/// assert_eq!(to_port([80]).verdict_with(&dialled, b""), Verdict::NoMatch);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn to_port(ports: impl IntoIterator<Item = u16>) -> DestinationPort {
    DestinationPort {
        ports: ports.into_iter().collect(),
    }
}

fn parse_nets<I>(nets: I) -> Result<Vec<IpNet>, IpNetError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    nets.into_iter().map(|net| net.as_ref().parse()).collect()
}

/// Whether `addr` is known and in one of `nets`.
fn in_nets(nets: &[IpNet], addr: Option<SocketAddr>) -> bool {
    addr.is_some_and(|addr| nets.iter().any(|net| net.contains(addr.ip())))
}

impl ClientIn {
    /// The matcher of clients in `nets`, already parsed.
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> ClientIn {
        ClientIn {
            nets: nets.into_iter().collect(),
        }
    }

    /// The networks it matches.
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }
}

impl DestinationIn {
    /// The matcher of destinations in `nets`, already parsed.
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> DestinationIn {
        DestinationIn {
            nets: nets.into_iter().collect(),
        }
    }

    /// The networks it matches.
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }
}

/// The trait's address methods for a matcher whose verdict is a yes or no
/// on the addresses alone.
macro_rules! address_matcher {
    ($type:ty, |$self:ident, $addresses:ident| $test:expr) => {
        impl Matcher for $type {
            fn verdict(&self, seen: &[u8]) -> Verdict {
                self.verdict_with(&Addresses::UNKNOWN, seen)
            }

            fn verdict_with(&$self, $addresses: &Addresses, _seen: &[u8]) -> Verdict {
                Verdict::from_bool($test)
            }

            fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
                self.verdict_with(addresses, seen) == Verdict::Match
            }

            fn reads_addresses(&self) -> bool {
                true
            }
        }
    };
}

address_matcher!(ClientIn, |self, addresses| in_nets(
    &self.nets,
    addresses.client
));
address_matcher!(DestinationIn, |self, addresses| in_nets(
    &self.nets,
    addresses.destination
));
address_matcher!(DestinationPort, |self, addresses| addresses
    .destination
    .is_some_and(|addr| self.ports.contains(&addr.port())));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::combinators::{all_of, any_of, not};
    use crate::matchers::{http1_fast, silence};
    use std::time::Duration;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn direct(peer: &str, local: &str) -> Addresses {
        Addresses::direct(addr(peer), addr(local))
    }

    #[test]
    fn the_client_is_the_relayed_source_when_there_is_one() {
        let office = from(["10.0.0.0/8"]).unwrap();
        let balancer = direct("127.0.0.1:5000", "127.0.0.1:443");
        assert_eq!(office.verdict_with(&balancer, b""), Verdict::NoMatch);
        let relayed = balancer.relayed(Some(addr("10.2.3.4:6000")), balancer.local);
        assert_eq!(office.verdict_with(&relayed, b""), Verdict::Match);
        // A header naming Unix sockets relays no IP client.
        let unix = balancer.relayed(None, None);
        assert_eq!(office.verdict_with(&unix, b""), Verdict::NoMatch);
        assert_eq!(
            to(["127.0.0.1"]).unwrap().verdict_with(&unix, b""),
            Verdict::NoMatch
        );
    }

    #[test]
    fn networks_at_their_edges_and_mapped_clients() {
        let v4 = from(["192.0.2.0/24"]).unwrap();
        for (client, verdict) in [
            ("192.0.2.0:1", Verdict::Match),
            ("192.0.2.255:1", Verdict::Match),
            ("192.0.3.0:1", Verdict::NoMatch),
            ("192.0.1.255:1", Verdict::NoMatch),
            ("[::ffff:192.0.2.9]:1", Verdict::Match),
            ("[2001:db8::1]:1", Verdict::NoMatch),
        ] {
            let addresses = direct(client, "[::1]:443");
            assert_eq!(v4.verdict_with(&addresses, b"x"), verdict, "{client}");
        }
        let nothing = from(Vec::<String>::new()).unwrap();
        assert_eq!(
            nothing.verdict_with(&direct("10.0.0.1:1", "10.0.0.2:2"), b""),
            Verdict::NoMatch
        );
    }

    #[test]
    fn a_bad_network_is_an_error_naming_it() {
        let error = from(["10.0.0.0/8", "10.0.0.0/33"]).unwrap_err();
        assert!(error.to_string().contains("'10.0.0.0/33'"), "{error}");
        assert!(to(["example.com"]).is_err());
    }

    #[test]
    fn unknown_addresses_match_no_network_and_no_port() {
        for matcher in [
            Box::new(from(["0.0.0.0/0", "::/0"]).unwrap()) as Box<dyn Matcher>,
            Box::new(to(["0.0.0.0/0", "::/0"]).unwrap()),
            Box::new(to_port(0..=u16::MAX)),
        ] {
            assert_eq!(matcher.verdict(b""), Verdict::NoMatch);
            assert!(!matcher.matches_at_end(b"anything"));
            assert!(matcher.reads_addresses());
        }
    }

    #[test]
    fn combinators_pass_the_addresses_on() {
        let inside = direct("10.0.0.5:1000", "10.0.0.1:80");
        let outside = direct("203.0.113.5:1000", "10.0.0.1:80");
        let office_http = all_of((from(["10.0.0.0/8"]).unwrap(), http1_fast()));
        assert_eq!(office_http.verdict_with(&inside, b"GE"), Verdict::NeedMore);
        assert_eq!(office_http.verdict_with(&inside, b"GET /"), Verdict::Match);
        assert_eq!(office_http.verdict_with(&outside, b""), Verdict::NoMatch);
        assert!(office_http.reads_addresses());
        let either = any_of((to_port([443]), from(["10.0.0.0/8"]).unwrap()));
        assert_eq!(either.verdict_with(&inside, b""), Verdict::Match);
        assert_eq!(either.verdict_with(&outside, b""), Verdict::NoMatch);
        let others = not(from(["10.0.0.0/8"]).unwrap());
        assert!(others.matches_at_end_with(&outside, b""));
        assert!(!others.matches_at_end_with(&inside, b""));
        assert!(!all_of((http1_fast(), silence(Duration::from_secs(1)))).reads_addresses());
    }
}
