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
pub(crate) mod prefix;
mod tls;

pub use any::{any, Any};
pub use http1::{http1_fast, http1_methods, Http1Fast, HTTP_METHODS};
pub use http2::{
    grpc, http2_header, http2_header_prefix, http2_preface, http2_request, http2_request_headers,
    Http2Header, Http2HeadersError, Http2Preface, Http2Request, HTTP2_HEADERS_LIMIT, HTTP2_PREFACE,
};
pub use prefix::{prefixes, PrefixSet};
pub use tls::{client_hello_version, tls, tls_versions, Tls, TlsVersion};
