//! The built-in matchers, one protocol per file.
//!
//! Each is a pure function of the bytes seen so far that decides as early
//! as its bytes allow: a protocol routed after them is decided from the
//! first byte that rules them out, without waiting for a deadline.

mod any;
mod hpack;
mod http1;
mod http2;
mod huffman;
mod mqtt;
mod postgres;
pub(crate) mod prefix;
mod redis;
mod silence;
mod socks;
mod ssh;
#[cfg(test)]
mod testing;
mod tls;

pub use any::{any, Any};
pub use http1::{
    http1, http1_fast, http1_header, http1_header_prefix, http1_methods, http1_request, websocket,
    Http1, Http1Fast, Http1Header, Http1Request, WebSocket, DEFAULT_MAX_HEAD_BYTES, HTTP_METHODS,
    MAX_REQUEST_LINE_BYTES,
};
pub use http2::{
    grpc, http2_header, http2_header_prefix, http2_preface, http2_request, http2_request_headers,
    Http2Header, Http2HeadersError, Http2Preface, Http2Request, HTTP2_HEADERS_LIMIT, HTTP2_PREFACE,
};
pub use mqtt::{mqtt, mqtt_client_id, mqtt_version, Mqtt};
pub use postgres::{postgres, postgres_request, Postgres, PostgresRequest};
pub use prefix::{prefixes, PrefixSet};
pub use redis::{redis, redis_command, Redis, REDIS_COMMANDS};
pub use silence::{silence, Silence};
pub use socks::{
    socks4, socks4_request, socks5, socks5_methods, Socks4, Socks4Command, Socks4Request, Socks5,
    SOCKS4_MAX_DOMAIN, SOCKS4_MAX_USER_ID,
};
pub use ssh::{ssh, ssh_identification, Ssh, SshIdentification};
pub use tls::{
    client_hello_info, client_hello_version, tls, tls_alpn, tls_alpn_any, tls_sni, tls_sni_any,
    tls_versions, ClientHelloInfo, Tls, TlsVersion, TLS_MAX_CLIENT_HELLO_BYTES,
};
