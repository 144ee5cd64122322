//! Where a connection comes from and goes to: IP networks, and the
//! addresses a route by address decides on.
//!
//! A leaf the other stages share: the PROXY layer believes headers from
//! some networks only, and matchers may read a connection's addresses,
//! which are fixed before its first byte.

mod addresses;
mod ip_net;

pub use addresses::Addresses;
pub use ip_net::{IpNet, IpNetError};
