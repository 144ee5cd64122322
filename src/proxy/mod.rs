//! PROXY protocol headers, versions 1 and 2: the few bytes a load balancer
//! (HAProxy's `send-proxy`, AWS NLB, stunnel, ...) puts in front of a
//! connection to tell the server who the real client is.
//!
//! Spec: HAProxy's "The PROXY protocol, Versions 1 & 2"
//! (<https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>),
//! section 2.1 for version 1 and 2.2 for version 2.
//!
//! Version 1 is one US-ASCII line of at most 107 bytes:
//!
//! ```text
//! "PROXY" SP ("TCP4" | "TCP6") SP src-ip SP dst-ip SP src-port SP dst-port CRLF
//! "PROXY" SP "UNKNOWN" [SP anything but CR or LF] CRLF
//! ```
//!
//! Version 2 is binary, 16 bytes and then `length` more:
//!
//! ```text
//! signature [12]      0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
//! version|command u8  high nibble 2; low nibble 0 LOCAL, 1 PROXY
//! family|transport u8 00 UNSPEC, 11 TCP4, 12 UDP4, 21 TCP6, 22 UDP6,
//!                     31 UNIX stream, 32 UNIX datagram
//! length u16          bytes that follow
//! addresses           IPv4: src[4] dst[4] src-port u16 dst-port u16 (12 bytes)
//!                     IPv6: src[16] dst[16] src-port u16 dst-port u16 (36)
//!                     UNIX: src[108] dst[108], NUL-padded paths (216)
//! TLVs                type u8 | length u16 | value, to the end of `length`
//! ```
//!
//! Where it sits: before any matcher runs, the multiplexer may look for a
//! PROXY header at the start of a connection with [`parse_proxy_header`],
//! strip the bytes it occupies and remember the addresses it carries. Like
//! a matcher, the parser is a pure function of the bytes received so far,
//! prefix-monotone and bounded, and it decides as early as the bytes allow.
//! The encoders ([`ProxyHeader::encode_v1`], [`ProxyHeader::encode_v2`])
//! serve the other direction: a proxy built on connmux telling its backend
//! the real client address.
//!
//! ```
//! use connmux::{parse_proxy_header, ProxyAddr, ProxyParse};
//!
//! let seen = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
//! let ProxyParse::Complete { header, length } = parse_proxy_header(seen) else {
//!     panic!("a whole header");
//! };
//! assert_eq!(header.source(), Some(ProxyAddr::Inet("192.168.0.1:56324".parse()?)));
//! assert_eq!(&seen[length..], b"GET / HTTP/1.1\r\n");
//! # Ok::<(), std::net::AddrParseError>(())
//! ```

// The wire vocabulary (`wire.rs`) is a leaf the other files share, so that
// none of them depends on this one or on another that depends on it back.
mod error;
mod header;
pub(crate) mod mode;
mod parse;
mod tlv;
mod trust;
mod wire;

pub use error::ProxyError;
pub use header::{ProxyAddr, ProxyCommand, ProxyHeader, ProxyTransport, ProxyVersion, UnixPath};
pub use parse::{parse_proxy_header, ProxyParse};
pub use tlv::{ProxySsl, ProxyTlv, ProxyTlvs};
pub use trust::{PeerOrigin, TrustedProxies};
pub use wire::{PROXY_V1_MAX_HEADER_BYTES, PROXY_V2_MAX_HEADER_BYTES};

#[cfg(test)]
mod tests;
