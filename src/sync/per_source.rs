//! Limits per client address (on connections being sniffed, and on
//! connections open), so that one address flooding the port cannot take
//! the places other clients need: a count per address (per /64 network
//! for IPv6, where one client holds a whole /64), behind one lock taken
//! twice per limited connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::address::IpNet;
use crate::sync::lock::lock;

/// How many places each address holds, and the most it may.
pub(crate) struct PerSourceLimit {
    max: usize,
    /// The prefix an IPv6 address is counted by.
    v6_prefix: u8,
    /// Addresses with a sniff running; an address leaves the map with its
    /// last sniff, so the map holds at most one entry per running sniff.
    running: Mutex<HashMap<IpAddr, usize>>,
}

/// One place under an address's limit; dropping it frees the place.
pub(crate) struct SourcePlace {
    limit: Arc<PerSourceLimit>,
    key: IpAddr,
}

impl PerSourceLimit {
    pub(crate) fn new(max: usize, v6_prefix: u8) -> Arc<PerSourceLimit> {
        Arc::new(PerSourceLimit {
            max: max.max(1),
            v6_prefix: v6_prefix.min(128),
            running: Mutex::new(HashMap::new()),
        })
    }

    /// The address `ip` is counted under: itself for IPv4 (an IPv4-mapped
    /// IPv6 address counts as the IPv4 address), its network for IPv6.
    fn key(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpNet::new(ip, self.v6_prefix).map_or(ip, |net| net.addr()),
            },
        }
    }

    /// Takes a place for a connection from `ip`; `None` if its address
    /// already has the most it may.
    pub(crate) fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<SourcePlace> {
        let key = self.key(ip);
        let mut running = lock(&self.running);
        let count = running.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(SourcePlace {
            limit: Arc::clone(self),
            key,
        })
    }

    /// How many sniffs the address of `ip` has running.
    #[cfg(test)]
    fn running(&self, ip: IpAddr) -> usize {
        let key = self.key(ip);
        lock(&self.running).get(&key).copied().unwrap_or(0)
    }
}

impl Drop for SourcePlace {
    fn drop(&mut self) {
        let mut running = lock(&self.limit.running);
        if let Some(count) = running.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.key);
            }
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
    fn each_address_gets_at_most_its_share_and_frees_it() {
        let limit = PerSourceLimit::new(2, 64);
        let first = limit.try_take(ip("192.0.2.1")).unwrap();
        let _second = limit.try_take(ip("192.0.2.1")).unwrap();
        assert!(limit.try_take(ip("192.0.2.1")).is_none(), "a third");
        assert!(limit.try_take(ip("::ffff:192.0.2.1")).is_none(), "mapped");
        assert!(limit.try_take(ip("192.0.2.2")).is_some(), "another address");
        drop(first);
        assert_eq!(limit.running(ip("192.0.2.1")), 1);
        assert!(limit.try_take(ip("192.0.2.1")).is_some());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_network() {
        let limit = PerSourceLimit::new(1, 64);
        let _held = limit.try_take(ip("2001:db8:1:2::1")).unwrap();
        assert!(
            limit.try_take(ip("2001:db8:1:2:ffff::9")).is_none(),
            "same /64"
        );
        assert!(limit.try_take(ip("2001:db8:1:3::1")).is_some(), "next /64");
        let exact = PerSourceLimit::new(1, 128);
        let _held = exact.try_take(ip("2001:db8::1")).unwrap();
        assert!(exact.try_take(ip("2001:db8::2")).is_some());
    }

    #[test]
    fn the_map_forgets_addresses_with_nothing_running() {
        let limit = PerSourceLimit::new(4, 64);
        for last in 0..=255u8 {
            drop(limit.try_take(IpAddr::from([10, 0, 0, last])).unwrap());
        }
        assert!(lock(&limit.running).is_empty());
    }
}
