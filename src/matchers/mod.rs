//! The built-in matchers, one protocol per file.
//!
//! Each is a pure function of the bytes seen so far that decides as early
//! as its bytes allow: a protocol routed after them is decided from the
//! first byte that rules them out, without waiting for a deadline. Each is
//! bounded: past a documented number of bytes it decides.
//!
//! | protocol | matchers | what the stream or a function can tell you |
//! |---|---|---|
//! | anything | [`any`], [`prefixes`], [`silence`] | |
//! | addresses | [`from`] (the client), [`to`] and [`to_port`] (where it connected) | [`Addresses`](crate::Addresses) |
//! | HTTP/1 | [`http1_fast`], [`http1_methods`], [`http1`], [`http1_header`], [`http1_header_prefix`], [`websocket`] | [`http1_request`]: method, target, Host |
//! | HTTP/2, gRPC | [`http2_preface`], [`http2_header`], [`http2_header_prefix`], [`grpc`], and [`Http2Header::send_settings`] for clients that wait for the server | [`http2_request`]: `:method`, `:authority`, `:path`, content-type |
//! | TLS | [`tls`], [`tls_versions`], [`tls_sni`], [`tls_sni_any`], [`tls_alpn`], [`tls_alpn_any`], and [`Tls`]'s builder methods to combine them | [`client_hello_info`]: version, SNI, ALPN |
//! | SSH | [`ssh`] | [`ssh_identification`] |
//! | SOCKS | [`socks5`], [`socks4`] (and 4a) | [`socks5_methods`], [`socks4_request`] |
//! | Redis | [`redis`] (RESP and inline) | [`redis_command`] |
//! | PostgreSQL | [`postgres`] (startup, SSLRequest, GSSENCRequest, CancelRequest) | [`postgres_request`] |
//! | MQTT | [`mqtt`] (3.1, 3.1.1, 5) | [`mqtt_version`], [`mqtt_client_id`] |
//! | OpenVPN | [`openvpn`] (TCP, TLS mode: plain, tls-auth, tls-crypt, tls-crypt-v2) | [`openvpn_reset`]: opcode, session id, form |
//! | RDP | [`rdp`] (X.224 Connection Request) | [`rdp_request`]: cookie user name, routing token, requested protocols |
//! | tinc | [`tinc`] (1.0, 1.1, `tinc join`) | [`tinc_id`]: node name, protocol minor version |
//! | adb | [`adb`] (a host's CONNECT) | [`adb_connect`]: version, max data, system identity |
//! | DNS over TCP | [`dns`] (QUERY, zone transfers, NOTIFY, UPDATE) | [`dns_question`]: ID, opcode, name, type, class, EDNS |
//! | XMPP | [`xmpp`] (client-to-server and server-to-server streams) | [`xmpp_stream_header`]: namespace, to, from, version, xml:lang |
//! | syslog over TCP | [`syslog`] (RFC 5424 and 3164, octet-counted or not) | [`syslog_message`]: framing, format, facility, severity, hostname, app-name |
//! | any other opening | [`pattern`]: bytes, `?`, classes, bounded repetition, alternatives | |
//!
//! The PROXY protocol is not a matcher but a layer before them: see
//! [`MuxBuilder::proxy_protocol`](crate::MuxBuilder::proxy_protocol).

mod adb;
mod address;
mod any;
mod dns;
mod http1;
pub(crate) mod http2;
mod mqtt;
mod openvpn;
mod pattern;
mod postgres;
pub(crate) mod prefix;
mod rdp;
mod redis;
mod silence;
mod socks;
mod ssh;
mod syslog;
#[cfg(test)]
mod testing;
mod tinc;
mod tls;
mod xmpp;

pub use adb::{adb, adb_connect, Adb, AdbConnect};
pub use address::{from, to, to_port, ClientIn, DestinationIn, DestinationPort};
pub use any::{any, Any};
pub use dns::{dns, dns_question, Dns, DnsOpcode, DnsQuestion};
pub use http1::{
    http1, http1_fast, http1_header, http1_header_prefix, http1_methods, http1_request, websocket,
    Http1, Http1Fast, Http1Header, Http1Request, WebSocket, DEFAULT_MAX_HEAD_BYTES, HTTP_METHODS,
    MAX_REQUEST_LINE_BYTES,
};
pub use http2::{
    grpc, http2_header, http2_header_prefix, http2_preface, http2_request, http2_request_headers,
    http2_request_headers_with_limit, http2_request_with_limit, Http2Header, Http2HeadersError,
    Http2Preface, Http2Request, DEFAULT_MAX_HEADER_LIST_SIZE, HTTP2_HEADERS_LIMIT, HTTP2_PREFACE,
};
pub use mqtt::{mqtt, mqtt_client_id, mqtt_version, Mqtt};
pub use openvpn::{
    openvpn, openvpn_reset, OpenVpn, OpenVpnForm, OpenVpnReset, OPENVPN_MAX_RESET_BYTES,
};
pub use pattern::{
    pattern, Pattern, PatternError, PatternErrorKind, PATTERN_MAX_NESTING, PATTERN_MAX_REPEAT,
    PATTERN_MAX_STATES,
};
pub use postgres::{postgres, postgres_request, Postgres, PostgresRequest};
pub use prefix::{prefixes, PrefixSet};
pub use rdp::{rdp, rdp_request, Rdp, RdpProtocols, RdpRequest, RDP_MAX_CONNECTION_REQUEST_BYTES};
pub use redis::{redis, redis_command, Redis, REDIS_COMMANDS};
pub use silence::{silence, Silence};
pub use socks::{
    socks4, socks4_request, socks5, socks5_methods, Socks4, Socks4Command, Socks4Request, Socks5,
    SOCKS4_MAX_DOMAIN, SOCKS4_MAX_USER_ID,
};
pub use ssh::{ssh, ssh_identification, Ssh, SshIdentification};
pub use syslog::{syslog, syslog_message, Syslog, SyslogFormat, SyslogFraming, SyslogMessage};
pub use tinc::{tinc, tinc_id, Tinc, TincId};
pub use tls::{
    client_hello_fingerprint, is_grease, tls_ja3, tls_ja4, ClientHelloFingerprint, TlsJa3, TlsJa4,
};
pub use tls::{
    client_hello_info, client_hello_version, tls, tls_alpn, tls_alpn_any, tls_sni, tls_sni_any,
    tls_versions, ClientHelloInfo, Tls, TlsVersion, TLS_MAX_CLIENT_HELLO_BYTES,
};
pub use xmpp::{
    xmpp, xmpp_stream_header, Xmpp, XmppNamespace, XmppStreamHeader, XMPP_MAX_HEADER_BYTES,
};
