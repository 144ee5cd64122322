//! IP networks in CIDR notation: who a PROXY header is believed from,
//! and which clients or destinations a route by address takes.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IP network in CIDR notation: `10.0.0.0/8`, `2001:db8::/32`, or one
/// address (`192.0.2.7`, `::1`).
///
/// ```
/// use connmux::IpNet;
///
/// let net: IpNet = "10.0.0.0/8".parse()?;
/// assert!(net.contains("10.1.2.3".parse()?));
/// assert!(!net.contains("11.0.0.1".parse()?));
/// // An IPv4 peer on an IPv6 socket is still an IPv4 peer.
/// assert!(net.contains("::ffff:10.9.9.9".parse()?));
/// assert_eq!(net.to_string(), "10.0.0.0/8");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// The network's address, with the bits past the prefix cleared.
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not an [`IpNet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNetError {
    text: String,
}

impl fmt::Display for IpNetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not an IP network: expected an address, or an address and a prefix \
             length (10.0.0.0/8, ::1/128)",
            self.text
        )
    }
}

impl std::error::Error for IpNetError {}

impl IpNet {
    /// The network of `addr`'s first `prefix` bits; `None` if `prefix` is
    /// longer than the address (32 bits for IPv4, 128 for IPv6).
    ///
    /// ```
    /// use connmux::IpNet;
    /// use std::net::{IpAddr, Ipv4Addr};
    ///
    /// let net = IpNet::new(IpAddr::V4(Ipv4Addr::new(192, 168, 7, 9)), 16).unwrap();
    /// assert_eq!(net.to_string(), "192.168.0.0/16");
    /// assert!(IpNet::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 33).is_none());
    /// ```
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        let addr = match addr {
            IpAddr::V4(v4) if prefix <= 32 => IpAddr::V4(mask4(u32::from(v4), prefix).into()),
            IpAddr::V6(v6) if prefix <= 128 => IpAddr::V6(mask6(u128::from(v6), prefix).into()),
            _ => return None,
        };
        Some(IpNet { addr, prefix })
    }

    /// The network's address (its first).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length, in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`, how a dual-stack socket shows an IPv4 peer) is
    /// taken as the IPv4 address it maps.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask4(u32::from(ip), self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask6(u128::from(ip), self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// Clears the bits of an IPv4 address past the first `prefix`.
fn mask4(bits: u32, prefix: u8) -> u32 {
    bits & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// Clears the bits of an IPv6 address past the first `prefix`.
fn mask6(bits: u128, prefix: u8) -> u128 {
    bits & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(text: &str) -> Result<IpNet, IpNetError> {
        let error = || IpNetError {
            text: text.to_owned(),
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => {
                // Digits only: `u8`'s parser would take "+8".
                if prefix.is_empty()
                    || prefix.len() > 3
                    || !prefix.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(error());
                }
                (addr, Some(prefix.parse::<u8>().map_err(|_| error())?))
            }
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| error())?;
        let prefix = prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
        IpNet::new(addr, prefix).ok_or_else(error)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_print_with_the_host_bits_cleared() {
        for (text, shown) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("192.0.2.7", "192.0.2.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::1", "::1/128"),
            ("2001:db8::ff/32", "2001:db8::/32"),
            ("::/0", "::/0"),
            ("fe80::1/128", "fe80::1/128"),
        ] {
            assert_eq!(net(text).to_string(), shown, "{text}");
        }
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/+8",
            "10.0.0.0/ 8",
            "10.0.0/8",
            "10.0.0.0/8/8",
            "host/8",
            "10.0.0.0/0008",
            "[::1]/128",
        ] {
            let error = bad.parse::<IpNet>().unwrap_err();
            assert!(error.to_string().contains("is not an IP network"), "{bad}");
        }
    }

    #[test]
    fn containment_at_the_edges_of_the_prefix() {
        let eight = net("10.0.0.0/8");
        assert!(eight.contains(ip("10.0.0.0")) && eight.contains(ip("10.255.255.255")));
        assert!(!eight.contains(ip("9.255.255.255")) && !eight.contains(ip("11.0.0.0")));
        let host = net("192.0.2.7/32");
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.6")));
        assert!(net("0.0.0.0/0").contains(ip("255.255.255.255")));
        assert!(
            !net("0.0.0.0/0").contains(ip("::2")),
            "no IPv6 in an IPv4 network"
        );
        let v6 = net("2001:db8::/33");
        assert!(v6.contains(ip("2001:db8:7fff::1")) && !v6.contains(ip("2001:db8:8000::")));
        assert!(net("::/0").contains(ip("ffff::1")));
        assert!(eight.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped");
        assert!(
            !net("::ffff:0.0.0.0/96").contains(ip("10.0.0.1")),
            "mapped is IPv4"
        );
    }
}
