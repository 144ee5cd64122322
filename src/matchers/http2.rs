//! HTTP/2 requests (RFC 9113): the client connection preface, the frames
//! after it, and the header fields of the first request, decoded with
//! HPACK (`hpack.rs`). This is cmux's `HTTP2`, `HTTP2HeaderField`,
//! `HTTP2HeaderFieldPrefix` and `HTTP2MatchHeaderFieldSendSettings`, plus
//! gRPC and request extraction.
//!
//! Wire format read here:
//!
//! ```text
//! preface (3.4):       "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", then a SETTINGS frame
//! frame header (4.1):  length u24 (at most 16384, the default
//!                      SETTINGS_MAX_FRAME_SIZE) | type u8 | flags u8
//!                      | R (1 bit, ignored) + stream id (31 bits) | payload
//! HEADERS (6.2):       [pad length u8 if PADDED 0x8]
//!                      [E + stream dependency u32, weight u8 if PRIORITY 0x20]
//!                      | field block fragment | padding
//! CONTINUATION (6.10): field block fragment; the block goes on, frame after
//!                      frame on the same stream, until END_HEADERS 0x4
//! ```
//!
//! Before the first HEADERS frame a client may send SETTINGS (6.5), PING
//! (6.7), WINDOW_UPDATE (6.9), PRIORITY (6.3), GOAWAY (6.8) and extension
//! frames (5.5); DATA, RST_STREAM, PUSH_PROMISE or CONTINUATION there break
//! the protocol. The fragments of a header block are separated by frame
//! headers in the input; a reader walks them without copying.

pub(crate) mod hpack;
mod huffman;

use std::error::Error;
use std::fmt;
use std::ops::{ControlFlow, Range};

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, ReplyAck, Verdict};
use crate::matchers::prefix::prefix_verdict;
use hpack::{decode_block, BlockEnd, BlockSource, Field, StringBuffer, FIELD_CAPACITY};
use huffman::huffman_encode;

/// The HTTP/2 client connection preface (RFC 9113 section 3.4).
pub const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How many bytes the HTTP/2 header matchers look at: if the first request
/// header block has not shown the field within the first 64 KiB of the
/// connection, they say `NoMatch`.
///
/// Four maximum-size frames: a request's header block is usually under
/// 1 KiB and rarely over 16 KiB (large cookies or tokens), and the frames
/// a client sends before it (SETTINGS, WINDOW_UPDATE, PRIORITY) take a few
/// dozen bytes. The sniffer's own byte limit is usually lower.
pub const HTTP2_HEADERS_LIMIT: usize = 64 * 1024;

/// The largest header list the HTTP/2 header matchers and request
/// functions read unless told otherwise: 64 KiB, measured as RFC 9113
/// section 6.5.2 measures SETTINGS_MAX_HEADER_LIST_SIZE (each field's
/// decoded name and value plus 32 octets).
///
/// HPACK lets a block of a few bytes per field refer to large strings in
/// its dynamic table again and again; the limit bounds what decoding any
/// block can cost (the block's bytes and this many). 64 KiB is as much as
/// HTTP/2 servers commonly accept in a request's header fields (nghttp2's
/// servers refuse a request whose names and values pass 64 KiB), so a
/// request a server behind connmux would take is not refused here. Set
/// another with [`Http2Header::max_header_list_size`],
/// [`http2_request_with_limit`] and [`http2_request_headers_with_limit`].
pub const DEFAULT_MAX_HEADER_LIST_SIZE: usize = 64 * 1024;

/// The server's empty SETTINGS frame: length 0, type SETTINGS, no flags,
/// stream 0.
const SERVER_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

const FRAME_HEADER_LENGTH: usize = 9;
/// The initial SETTINGS_MAX_FRAME_SIZE (RFC 9113 section 6.5.2), which
/// binds the client until the server announces more; connmux never does.
const MAX_FRAME_SIZE: u16 = 16_384;
const STREAM_ID_MASK: u32 = 0x7fff_ffff;

// The public docs promise that names and values up to 4096 bytes are read.
const _: () = assert!(FIELD_CAPACITY == 4096);

const FRAME_DATA: u8 = 0x0;
const FRAME_HEADERS: u8 = 0x1;
const FRAME_PRIORITY: u8 = 0x2;
const FRAME_RST_STREAM: u8 = 0x3;
const FRAME_SETTINGS: u8 = 0x4;
const FRAME_PUSH_PROMISE: u8 = 0x5;
const FRAME_PING: u8 = 0x6;
const FRAME_GOAWAY: u8 = 0x7;
const FRAME_WINDOW_UPDATE: u8 = 0x8;
const FRAME_CONTINUATION: u8 = 0x9;

const FLAG_ACK: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;

/// Matches the HTTP/2 client preface; see [`http2_preface`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Http2Preface;

/// A matcher for HTTP/2 with prior knowledge (cmux's `HTTP2`).
///
/// It says `NoMatch` at the first byte that differs from the preface and
/// `Match` once all 24 bytes have arrived.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http2_preface;
///
/// assert_eq!(http2_preface().verdict(b"PRI * HTTP/2.0\r\n"), Verdict::NeedMore);
/// assert_eq!(http2_preface().verdict(b"PRX"), Verdict::NoMatch);
/// ```
pub fn http2_preface() -> Http2Preface {
    Http2Preface
}

impl Matcher for Http2Preface {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        prefix_verdict(seen, HTTP2_PREFACE)
    }
}

/// Matches an HTTP/2 request by one header field of its first header
/// block; see [`http2_header`], [`http2_header_prefix`] and [`grpc`].
#[derive(Debug, Clone)]
pub struct Http2Header {
    name: Box<[u8]>,
    /// `name` Huffman-coded, to compare with a coded name as sent.
    coded_name: Box<[u8]>,
    test: ValueTest,
    send_settings: bool,
    max_header_list_size: usize,
}

/// What the value of the field must be.
#[derive(Debug, Clone)]
enum ValueTest {
    /// Exactly this value, given plain and Huffman-coded.
    Exact(Box<[u8]>, Box<[u8]>),
    Prefix(Box<[u8]>),
    GrpcContentType,
}

impl ValueTest {
    /// Whether the value of `field` passes, decoding no more of it than
    /// the test needs.
    fn accepts(&self, field: &Field<'_, impl BlockSource>) -> Result<bool, Stop> {
        match self {
            ValueTest::Exact(plain, coded) => {
                Ok(plain.len() <= FIELD_CAPACITY && field.equals(field.value, plain, coded)?)
            }
            ValueTest::Prefix(prefix) => starts_with(field, prefix),
            ValueTest::GrpcContentType => {
                const GRPC: &[u8] = b"application/grpc";
                let mut position = 0;
                let mut passes = false;
                let flow = field.decode(field.value, |octet| {
                    match GRPC.get(position) {
                        Some(&want) if want == octet => {
                            position += 1;
                            return ControlFlow::Continue(());
                        }
                        Some(_) => {}
                        None => passes = matches!(octet, b'+' | b';'),
                    }
                    ControlFlow::Break(())
                })?;
                Ok(passes || (flow.is_continue() && position == GRPC.len()))
            }
        }
    }
}

/// Whether the value of `field` starts with `prefix`, which must lie in
/// its first [`FIELD_CAPACITY`] octets.
fn starts_with(field: &Field<'_, impl BlockSource>, prefix: &[u8]) -> Result<bool, Stop> {
    if prefix.is_empty() {
        return Ok(true);
    }
    if prefix.len() > FIELD_CAPACITY {
        return Ok(false);
    }
    let mut rest = prefix;
    let _ = field.decode(field.value, |octet| match rest.split_first() {
        Some((&want, tail)) if want == octet && !tail.is_empty() => {
            rest = tail;
            ControlFlow::Continue(())
        }
        Some((&want, tail)) => {
            if want == octet {
                rest = tail;
            }
            ControlFlow::Break(())
        }
        None => ControlFlow::Break(()),
    })?;
    Ok(rest.is_empty())
}

/// A matcher for HTTP/2 requests whose first header field named `name` has
/// exactly the value `value` (cmux's `HTTP2HeaderField`).
///
/// Only the first header block of the connection is read: the client
/// preface, then the frames up to the first HEADERS frame and its
/// CONTINUATION frames, decoded with HPACK (Huffman coding and the dynamic
/// table included). `name` is lowercased, as HTTP/2 sends names;
/// pseudo-header fields such as `:path` and `:authority` match too.
///
/// It decides as early as the bytes allow: `Match` once the field is
/// decoded with that value; `NoMatch` once it is decoded with another, when
/// the block ends without it, at the first byte that breaks the protocol
/// (including a first frame other than SETTINGS, which RFC 9113 section
/// 3.4 requires), when [`HTTP2_HEADERS_LIMIT`] bytes have not decided
/// it, or when the fields before it take the header list past
/// [`DEFAULT_MAX_HEADER_LIST_SIZE`] (64 KiB, as RFC 9113 section 6.5.2
/// counts: see [`Http2Header::max_header_list_size`]). A value longer than
/// 4096 bytes never matches. Each call decodes from byte 0 with a fixed
/// dynamic table on the stack (11 KiB; a call takes about 15 KiB of stack
/// in all in a release build), without heap allocation, and its work is
/// bounded by the bytes seen and the header list limit.
///
/// Names and values are decoded only as far as the decision needs: a
/// Huffman-coded name or value is compared as sent with `name` or `value`
/// Huffman-coded (the coding of a string is unique), the values of other
/// fields are skipped, and a prefix test stops at the last octet of the
/// prefix. So a Huffman code error (RFC 7541 section 5.2) in a string the
/// matcher did not need goes unnoticed, unless the dynamic table decoded
/// the string (a field refers to its entry, or evicting or the header list
/// limit needs its exact length), and it may say `Match` on a block that
/// [`http2_request`] and [`http2_request_headers`], which decode every
/// string, reject as invalid.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::{http2_header, HTTP2_PREFACE};
///
/// let mut request = HTTP2_PREFACE.to_vec();
/// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// request.extend([0, 0, 14, 1, 5, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS, stream 1
/// request.extend([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path / (static table)
/// request.extend(b"\x41\x09localhost"); // :authority localhost, added to the dynamic table
///
/// assert_eq!(http2_header(":authority", "localhost").verdict(&request), Verdict::Match);
/// assert_eq!(http2_header(":path", "/admin").verdict(&request), Verdict::NoMatch);
/// assert_eq!(http2_header("User-Agent", "curl").verdict(&request), Verdict::NoMatch);
/// assert_eq!(http2_header(":authority", "localhost").verdict(&request[..40]), Verdict::NeedMore);
/// ```
pub fn http2_header(name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Http2Header {
    let value = value.as_ref();
    Http2Header::new(
        name,
        ValueTest::Exact(value.into(), huffman_encode(value).into()),
    )
}

/// A matcher for HTTP/2 requests whose first header field named `name`
/// starts with `prefix` (cmux's `HTTP2HeaderFieldPrefix`); otherwise as
/// [`http2_header`]. A prefix longer than 4096 bytes never matches.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::{http2_header_prefix, HTTP2_PREFACE};
///
/// let mut request = HTTP2_PREFACE.to_vec();
/// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// request.extend([0, 0, 12, 1, 5, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS, stream 1
/// request.extend([0x82, 0x86]); // :method GET, :scheme http
/// request.extend(b"\x04\x08/api/v2/"); // :path /api/v2/, not indexed
///
/// assert_eq!(http2_header_prefix(":path", "/api/").verdict(&request), Verdict::Match);
/// assert_eq!(http2_header_prefix(":path", "/static/").verdict(&request), Verdict::NoMatch);
/// ```
pub fn http2_header_prefix(name: impl AsRef<[u8]>, prefix: impl AsRef<[u8]>) -> Http2Header {
    Http2Header::new(name, ValueTest::Prefix(prefix.as_ref().into()))
}

/// A matcher for gRPC requests: HTTP/2 whose first `content-type` field is
/// `application/grpc`, or starts with `application/grpc+` (such as
/// `application/grpc+proto`) or `application/grpc;`; otherwise as
/// [`http2_header`].
///
/// Many gRPC clients (grpc-java, grpc-go since 1.18) send their request
/// only after the server's SETTINGS frame: route them with
/// `grpc().send_settings()` (see [`Http2Header::send_settings`]).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::{grpc, HTTP2_PREFACE};
///
/// let mut request = HTTP2_PREFACE.to_vec();
/// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// request.extend([0, 0, 27, 1, 4, 0, 0, 0, 1]); // HEADERS, END_HEADERS, stream 1
/// request.extend([0x83, 0x86]); // :method POST, :scheme http
/// request.extend(b"\x0f\x10\x16application/grpc+proto"); // content-type (index 31)
///
/// assert_eq!(grpc().verdict(&request), Verdict::Match);
/// ```
pub fn grpc() -> Http2Header {
    Http2Header::new("content-type", ValueTest::GrpcContentType)
}

impl Http2Header {
    fn new(name: impl AsRef<[u8]>, test: ValueTest) -> Http2Header {
        let name = name.as_ref().to_ascii_lowercase();
        Http2Header {
            coded_name: huffman_encode(&name).into(),
            name: name.into(),
            test,
            send_settings: false,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
        }
    }

    /// The same matcher, reading at most `octets` of header list instead
    /// of [`DEFAULT_MAX_HEADER_LIST_SIZE`]: it says `NoMatch` if the fields
    /// before the one it looks for take the list past `octets`, counted as
    /// RFC 9113 section 6.5.2 counts (each field's decoded name and value
    /// plus 32 octets). A list of exactly `octets` is read.
    ///
    /// A matcher routing to a server that accepts larger header lists may
    /// raise it; the work of each call grows with it.
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::{http2_header, HTTP2_PREFACE};
    ///
    /// let mut request = HTTP2_PREFACE.to_vec();
    /// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
    /// request.extend([0, 0, 3, 1, 5, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS, stream 1
    /// request.extend([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path /
    ///
    /// // :method GET (7 + 3 + 32), :scheme http (7 + 4 + 32), :path / (5 + 1 + 32).
    /// let path = http2_header(":path", "/");
    /// assert_eq!(path.clone().max_header_list_size(123).verdict(&request), Verdict::Match);
    /// assert_eq!(path.max_header_list_size(122).verdict(&request), Verdict::NoMatch);
    /// ```
    pub fn max_header_list_size(mut self, octets: usize) -> Http2Header {
        self.max_header_list_size = octets;
        self
    }

    /// The same matcher, for clients that wait for the server's SETTINGS
    /// before they send their request (cmux's
    /// `HTTP2MatchHeaderFieldSendSettings`, without its bug #96).
    ///
    /// While this route holds up the decision, [`Matcher::reply`] has the
    /// sniffer send an empty SETTINGS frame, once the preface has arrived
    /// and no HEADERS frame has started. The client acknowledges it with a
    /// SETTINGS frame with the ACK flag; [`Matcher::reply_ack`] locates
    /// that frame (the first SETTINGS ACK after the preface: the client has
    /// nothing else to acknowledge yet) so the sniffer removes it from the
    /// bytes the handler reads, and the real server, which never sent those
    /// SETTINGS, never sees an ACK for them.
    ///
    /// ```
    /// use connmux::{Matcher, ReplyAck};
    /// use connmux::matchers::{grpc, HTTP2_PREFACE};
    ///
    /// let grpc = grpc().send_settings();
    /// let mut seen = HTTP2_PREFACE.to_vec();
    /// seen.extend([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0, 0x10, 0, 0]); // client SETTINGS
    /// assert_eq!(grpc.reply(&seen), Some(&[0, 0, 0, 4, 0, 0, 0, 0, 0][..]));
    /// assert_eq!(grpc.reply_ack(&seen), ReplyAck::Pending);
    /// seen.extend([0, 0, 0, 4, 1, 0, 0, 0, 0]); // SETTINGS with ACK
    /// assert_eq!(grpc.reply_ack(&seen), ReplyAck::At(39..48));
    /// ```
    pub fn send_settings(mut self) -> Http2Header {
        self.send_settings = true;
        self
    }

    /// Whether the first field named `self.name` in the first header block
    /// passes the value test.
    fn first_field_passes(&self, window: &[u8]) -> Result<bool, Stop> {
        let end = decode_first_block(window, self.max_header_list_size, |field| {
            Ok(if field.equals(field.name, &self.name, &self.coded_name)? {
                ControlFlow::Break(self.test.accepts(&field)?)
            } else {
                ControlFlow::Continue(())
            })
        })?;
        Ok(end == BlockEnd::Broke(true))
    }
}

impl Matcher for Http2Header {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        let window = seen.get(..HTTP2_HEADERS_LIMIT).unwrap_or(seen);
        match self.first_field_passes(window) {
            Ok(passes) => Verdict::from_bool(passes),
            Err(Stop::Short) if seen.len() >= HTTP2_HEADERS_LIMIT => Verdict::NoMatch,
            Err(stop) => stop.into(),
        }
    }

    fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
        (self.send_settings && awaits_server_settings(seen)).then_some(SERVER_SETTINGS)
    }

    fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
        if !self.send_settings {
            return ReplyAck::None;
        }
        match first_settings_ack(seen) {
            Ok(range) => ReplyAck::At(range),
            Err(Stop::Short) => ReplyAck::Pending,
            Err(Stop::Invalid) => ReplyAck::None,
        }
    }
}

/// Why [`http2_request_headers`] could not list the fields of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Http2HeadersError {
    /// The bytes are a valid start of HTTP/2, but the first header block
    /// has not arrived whole.
    Incomplete,
    /// The bytes are not HTTP/2 from a client: a wrong preface, a frame
    /// or a header block that breaks RFC 9113 or RFC 7541.
    Invalid,
    /// A field name or value is longer than 4096 bytes.
    FieldTooLong,
    /// The header list passes the limit ([`DEFAULT_MAX_HEADER_LIST_SIZE`]
    /// unless set with [`http2_request_headers_with_limit`]) before the
    /// block ends: its fields' decoded names and values plus 32 octets
    /// each (RFC 9113 section 6.5.2) add up to more. Decided as soon as
    /// the fields that pass it have arrived.
    HeaderListTooLarge,
}

impl fmt::Display for Http2HeadersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Http2HeadersError::Incomplete => "the first HTTP/2 header block is incomplete",
            Http2HeadersError::Invalid => "not a valid HTTP/2 request",
            Http2HeadersError::FieldTooLong => "an HTTP/2 header field is longer than 4096 bytes",
            Http2HeadersError::HeaderListTooLarge => {
                "the HTTP/2 header list is larger than the limit"
            }
        })
    }
}

impl Error for Http2HeadersError {}

impl From<Stop> for Http2HeadersError {
    fn from(stop: Stop) -> Http2HeadersError {
        match stop {
            Stop::Short => Http2HeadersError::Incomplete,
            Stop::Invalid => Http2HeadersError::Invalid,
        }
    }
}

/// Calls `visit` with the name and value of each field of the first
/// request header block in `seen`, in order, without allocating.
///
/// `visit` is called only if the block is complete and valid, every name
/// and value fits in 4096 bytes, and the header list is at most
/// [`DEFAULT_MAX_HEADER_LIST_SIZE`] (64 KiB, each field counted as its
/// name and value plus 32 bytes); otherwise the error says why. To read
/// larger header lists, or refuse smaller ones, use
/// [`http2_request_headers_with_limit`].
///
/// ```
/// use connmux::matchers::{http2_request_headers, HTTP2_PREFACE};
///
/// let mut request = HTTP2_PREFACE.to_vec();
/// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// request.extend([0, 0, 14, 1, 5, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS, stream 1
/// request.extend([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path /
/// request.extend(b"\x41\x09localhost"); // :authority localhost
///
/// let mut fields = Vec::new();
/// http2_request_headers(&request, |name, value| fields.push(format!(
///     "{}: {}",
///     String::from_utf8_lossy(name),
///     String::from_utf8_lossy(value),
/// )))?;
/// assert_eq!(fields, [":method: GET", ":scheme: http", ":path: /", ":authority: localhost"]);
/// # Ok::<(), connmux::matchers::Http2HeadersError>(())
/// ```
pub fn http2_request_headers(
    seen: &[u8],
    visit: impl FnMut(&[u8], &[u8]),
) -> Result<(), Http2HeadersError> {
    http2_request_headers_with_limit(seen, DEFAULT_MAX_HEADER_LIST_SIZE, visit)
}

/// [`http2_request_headers`] with a header list of at most
/// `max_header_list_size` bytes instead of
/// [`DEFAULT_MAX_HEADER_LIST_SIZE`], counted as RFC 9113 section 6.5.2
/// counts (each field's decoded name and value plus 32 bytes): a larger
/// list is [`Http2HeadersError::HeaderListTooLarge`], a list of exactly
/// that size is read.
///
/// The block is decoded twice (once to check it, once to visit it), with
/// a fixed dynamic table and two 4 KiB buffers on the stack (about 23 KiB
/// in all in a release build); the work is bounded by `seen`'s length and
/// the limit.
///
/// ```
/// use connmux::matchers::{http2_request_headers_with_limit, Http2HeadersError, HTTP2_PREFACE};
///
/// let mut request = HTTP2_PREFACE.to_vec();
/// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// request.extend([0, 0, 3, 1, 5, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS, stream 1
/// request.extend([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path /
///
/// // 42 + 43 + 38 bytes, as RFC 9113 section 6.5.2 counts.
/// assert_eq!(http2_request_headers_with_limit(&request, 123, |_, _| {}), Ok(()));
/// assert_eq!(
///     http2_request_headers_with_limit(&request, 122, |_, _| {}),
///     Err(Http2HeadersError::HeaderListTooLarge),
/// );
/// ```
pub fn http2_request_headers_with_limit(
    seen: &[u8],
    max_header_list_size: usize,
    mut visit: impl FnMut(&[u8], &[u8]),
) -> Result<(), Http2HeadersError> {
    let mut name = StringBuffer::new();
    let mut value = StringBuffer::new();
    let checked = decode_first_block(seen, max_header_list_size, |field| {
        let name = field.text(field.name, &mut name)?;
        let value = field.text(field.value, &mut value)?;
        Ok(match (name.complete(), value.complete()) {
            (Some(_), Some(_)) => ControlFlow::Continue(()),
            _ => ControlFlow::Break(()),
        })
    })?;
    match checked {
        BlockEnd::Complete => {}
        BlockEnd::Broke(()) => return Err(Http2HeadersError::FieldTooLong),
        BlockEnd::ListTooLarge => return Err(Http2HeadersError::HeaderListTooLarge),
    }
    // Every field fits, and so does the list: this pass runs to the end.
    let _ = decode_first_block(seen, max_header_list_size, |field| {
        let name = field.text(field.name, &mut name)?;
        let value = field.text(field.value, &mut value)?;
        visit(name.head(), value.head());
        Ok(ControlFlow::<()>::Continue(()))
    })?;
    Ok(())
}

/// The request-line fields of an HTTP/2 request and its content type, as
/// [`http2_request`] extracts them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Http2Request {
    /// The `:method` pseudo-header, such as `GET`.
    pub method: Option<String>,
    /// The `:scheme` pseudo-header, such as `https`.
    pub scheme: Option<String>,
    /// The `:authority` pseudo-header: the host and port the client asks
    /// for.
    pub authority: Option<String>,
    /// The `:path` pseudo-header, with the query string.
    pub path: Option<String>,
    /// The `content-type` header field.
    pub content_type: Option<String>,
}

/// The method, scheme, authority, path and content type of the first
/// request in `seen`, or `None` unless its header block is complete and
/// valid and its header list is at most [`DEFAULT_MAX_HEADER_LIST_SIZE`]
/// (64 KiB, each field counted as its name and value plus 32 bytes; see
/// [`http2_request_with_limit`]).
///
/// Each is the first field of that name; bytes that are not UTF-8 become
/// U+FFFD. A wanted field longer than 4096 bytes gives `None`.
///
/// ```
/// use connmux::matchers::{http2_request, HTTP2_PREFACE};
///
/// let mut request = HTTP2_PREFACE.to_vec();
/// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// request.extend([0, 0, 14, 1, 5, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS, stream 1
/// request.extend([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path /
/// request.extend(b"\x41\x09localhost"); // :authority localhost
///
/// let parsed = http2_request(&request).unwrap();
/// assert_eq!(parsed.method.as_deref(), Some("GET"));
/// assert_eq!(parsed.authority.as_deref(), Some("localhost"));
/// assert_eq!(parsed.content_type, None);
/// assert_eq!(http2_request(&request[..50]), None);
/// ```
pub fn http2_request(seen: &[u8]) -> Option<Http2Request> {
    http2_request_with_limit(seen, DEFAULT_MAX_HEADER_LIST_SIZE)
}

/// [`http2_request`] with a header list of at most `max_header_list_size`
/// bytes instead of [`DEFAULT_MAX_HEADER_LIST_SIZE`], counted as RFC 9113
/// section 6.5.2 counts (each field's decoded name and value plus 32
/// bytes): a larger list gives `None`, a list of exactly that size is
/// read.
///
/// It decodes the block once, with a fixed dynamic table and a 4 KiB
/// buffer on the stack (about 20 KiB in all in a release build); the work
/// is bounded by `seen`'s length and the limit.
///
/// ```
/// use connmux::matchers::{http2_request_with_limit, HTTP2_PREFACE};
///
/// let mut request = HTTP2_PREFACE.to_vec();
/// request.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// request.extend([0, 0, 3, 1, 5, 0, 0, 0, 1]); // HEADERS, END_STREAM | END_HEADERS, stream 1
/// request.extend([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path /
///
/// // 42 + 43 + 38 bytes, as RFC 9113 section 6.5.2 counts.
/// assert!(http2_request_with_limit(&request, 123).is_some());
/// assert_eq!(http2_request_with_limit(&request, 122), None);
/// ```
pub fn http2_request_with_limit(seen: &[u8], max_header_list_size: usize) -> Option<Http2Request> {
    // In the order of `found` and of the fields of `Http2Request`.
    let wanted = [
        b":method".as_slice(),
        b":scheme",
        b":authority",
        b":path",
        b"content-type",
    ]
    .map(|name| (name, huffman_encode(name)));
    let mut found: [Option<String>; 5] = Default::default();
    let mut value = StringBuffer::new();
    let end = decode_first_block(seen, max_header_list_size, |field| {
        // Every string sent is checked, wanted or not: a request comes
        // only from a valid block.
        field.check_strings()?;
        let mut wanted_slot = None;
        for ((plain, coded), slot) in wanted.iter().zip(&mut found) {
            if field.equals(field.name, plain, coded)? {
                wanted_slot = Some(slot);
                break;
            }
        }
        let Some(slot) = wanted_slot else {
            return Ok(ControlFlow::Continue(()));
        };
        if slot.is_none() {
            let value = field.text(field.value, &mut value)?;
            let Some(value) = value.complete() else {
                return Ok(ControlFlow::Break(()));
            };
            *slot = Some(String::from_utf8_lossy(value).into_owned());
        }
        Ok(ControlFlow::Continue(()))
    })
    .ok()?;
    let [method, scheme, authority, path, content_type] = found;
    (end == BlockEnd::Complete).then_some(Http2Request {
        method,
        scheme,
        authority,
        path,
        content_type,
    })
}

/// Decodes the first header block of `seen` with a header list of at
/// most `max_header_list_size` octets, handing each field to `on_field`
/// until it breaks.
fn decode_first_block<B>(
    seen: &[u8],
    max_header_list_size: usize,
    on_field: impl FnMut(Field<'_, HeaderBlockReader<'_>>) -> Result<ControlFlow<B>, Stop>,
) -> Result<BlockEnd<B>, Stop> {
    let block = first_header_block(seen)?;
    decode_block(block.reader(), max_header_list_size, on_field)
}

/// One frame header (RFC 9113 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    length: usize,
    kind: u8,
    flags: u8,
    stream: u32,
}

fn read_preface(input: &mut Cursor<'_>) -> Result<(), Stop> {
    match prefix_verdict(input.rest(), HTTP2_PREFACE) {
        Verdict::Match => input.skip(HTTP2_PREFACE.len()),
        Verdict::NoMatch => Err(Stop::Invalid),
        Verdict::NeedMore => Err(Stop::Short),
    }
}

fn read_frame_header(input: &mut Cursor<'_>) -> Result<FrameHeader, Stop> {
    // A length of at most 16384 has a zero high octet.
    require(input.u8()? == 0)?;
    let length = input.u16()?;
    require(length <= MAX_FRAME_SIZE)?;
    Ok(FrameHeader {
        length: usize::from(length),
        kind: input.u8()?,
        flags: input.u8()?,
        stream: input.u32()? & STREAM_ID_MASK,
    })
}

/// Walks from the preface to the first HEADERS frame, checking the frames
/// before it, and returns a reader over its header block.
fn first_header_block(seen: &[u8]) -> Result<HeaderBlock<'_>, Stop> {
    let mut input = Cursor::new(seen);
    read_preface(&mut input)?;
    let mut first_frame = true;
    loop {
        let frame = read_frame_header(&mut input)?;
        let ack = frame.flags & FLAG_ACK != 0;
        // RFC 9113 section 3.4: the preface goes on with a SETTINGS frame.
        require(!first_frame || (frame.kind == FRAME_SETTINGS && !ack))?;
        first_frame = false;
        match frame.kind {
            FRAME_HEADERS => return HeaderBlock::find(seen, input, frame),
            FRAME_SETTINGS => require(
                frame.stream == 0
                    && if ack {
                        frame.length == 0
                    } else {
                        frame.length % 6 == 0
                    },
            )?,
            FRAME_PING => require(frame.stream == 0 && frame.length == 8)?,
            FRAME_WINDOW_UPDATE => require(frame.length == 4)?,
            FRAME_PRIORITY => require(frame.stream != 0 && frame.length == 5)?,
            FRAME_GOAWAY => require(frame.stream == 0 && frame.length >= 8)?,
            FRAME_DATA | FRAME_RST_STREAM | FRAME_PUSH_PROMISE | FRAME_CONTINUATION => {
                return Err(Stop::Invalid)
            }
            _ => {}
        }
        input.skip(frame.length)?;
    }
}

/// Whether the client sent the whole preface and only valid frames since,
/// none of them (even in part) HEADERS: it may be waiting for the server.
fn awaits_server_settings(seen: &[u8]) -> bool {
    let mut input = Cursor::new(seen);
    if read_preface(&mut input).is_err() {
        return false;
    }
    loop {
        if input.rest().get(3) == Some(&FRAME_HEADERS) {
            return false;
        }
        let step = read_frame_header(&mut input).and_then(|frame| input.skip(frame.length));
        match step {
            Ok(()) => {}
            Err(Stop::Short) => return true,
            Err(Stop::Invalid) => return false,
        }
    }
}

/// Where the client's first SETTINGS frame with the ACK flag is.
fn first_settings_ack(seen: &[u8]) -> Result<Range<usize>, Stop> {
    let mut input = Cursor::new(seen);
    read_preface(&mut input)?;
    loop {
        let start = seen.len() - input.remaining();
        let frame = read_frame_header(&mut input)?;
        if frame.kind == FRAME_SETTINGS && frame.flags & FLAG_ACK != 0 {
            require(frame.stream == 0 && frame.length == 0)?;
            return Ok(start..start + FRAME_HEADER_LENGTH);
        }
        input.skip(frame.length)?;
    }
}

/// The most CONTINUATION frames a first header block may use; more make
/// it invalid. Clients split a block only when it outgrows a frame (16 KiB
/// unless the server raised it, more than a sniff holds), so a block in
/// many small pieces is hostile (the "CONTINUATION flood" servers guard
/// against), and the block's fragments are kept in a fixed table.
pub(crate) const MAX_CONTINUATION_FRAMES: usize = 16;

/// Where the first header block lies in the input: the fragment of its
/// HEADERS frame and of each CONTINUATION frame after it, found by walking
/// their frame headers once, before decoding. Decoding then reads a string
/// anywhere in the block by arithmetic, without walking frame headers
/// again for each (a block of many small fields in seventeen fragments
/// spent most of its time doing that).
struct HeaderBlock<'a> {
    input: &'a [u8],
    /// Where each fragment found starts in `input`, and its length; the
    /// last may run past the input's end.
    fragments: [(u32, u32); MAX_CONTINUATION_FRAMES + 1],
    found: usize,
    /// What follows the last fragment found: the block's end (`Ok`), or
    /// why no further fragment was found (`Short`: the input ends first;
    /// `Invalid`: the next frame breaks the protocol). A reader meets it
    /// only when it gets there, so that an answer decided before a bad
    /// frame stands, as it would had the input stopped there.
    after_last: Result<(), Stop>,
}

impl<'a> HeaderBlock<'a> {
    /// Finds the block that starts after the header of the HEADERS frame
    /// `frame`, `input` being positioned there in `seen`.
    fn find(
        seen: &'a [u8],
        mut input: Cursor<'a>,
        frame: FrameHeader,
    ) -> Result<HeaderBlock<'a>, Stop> {
        // Client streams have odd numbers (RFC 9113 section 5.1.1).
        require(frame.stream % 2 == 1)?;
        let padded = frame.flags & FLAG_PADDED != 0;
        let padding = if padded {
            require(frame.length >= 1)?;
            usize::from(input.u8()?)
        } else {
            0
        };
        let priority_length = if frame.flags & FLAG_PRIORITY != 0 {
            5
        } else {
            0
        };
        let overhead = usize::from(padded) + priority_length + padding;
        require(overhead <= frame.length)?;
        input.skip(priority_length)?;
        let stream = frame.stream;
        let mut block = HeaderBlock {
            input: seen,
            fragments: [(0, 0); MAX_CONTINUATION_FRAMES + 1],
            found: 0,
            after_last: Ok(()),
        };
        let mut fragment = (seen.len() - input.remaining(), frame.length - overhead);
        let mut last = frame.flags & FLAG_END_HEADERS != 0;
        let mut padding_after = padding;
        loop {
            let (start, length) = fragment;
            let (Ok(start_u32), Ok(length_u32)) = (u32::try_from(start), u32::try_from(length))
            else {
                block.after_last = Err(Stop::Invalid);
                break;
            };
            block.fragments[block.found] = (start_u32, length_u32);
            block.found += 1;
            if last {
                break;
            }
            let mut after = Cursor::new(seen);
            let next = after
                .skip(start + length + padding_after)
                .and_then(|()| read_frame_header(&mut after))
                .and_then(|frame| {
                    require(frame.kind == FRAME_CONTINUATION && frame.stream == stream)?;
                    require(block.found <= MAX_CONTINUATION_FRAMES)?;
                    Ok(frame)
                });
            match next {
                Ok(frame) => {
                    fragment = (seen.len() - after.remaining(), frame.length);
                    last = frame.flags & FLAG_END_HEADERS != 0;
                    padding_after = 0;
                }
                Err(stop) => {
                    block.after_last = Err(stop);
                    break;
                }
            }
        }
        Ok(block)
    }
}

impl HeaderBlock<'_> {
    /// A reader at the block's first octet.
    fn reader(&self) -> HeaderBlockReader<'_> {
        HeaderBlockReader {
            block: self,
            fragment: 0,
            taken: 0,
        }
    }
}

/// Reads a [`HeaderBlock`] fragment by fragment; a clone reads on from
/// where the original was.
#[derive(Clone)]
struct HeaderBlockReader<'a> {
    block: &'a HeaderBlock<'a>,
    /// The fragment being read, and the octets of it taken.
    fragment: usize,
    taken: usize,
}

impl HeaderBlockReader<'_> {
    /// Moves to a fragment with octets left; `false` at the block's end.
    #[inline]
    fn has_more(&mut self) -> Result<bool, Stop> {
        loop {
            let Some(&(_, length)) = self.block.fragments[..self.block.found].get(self.fragment)
            else {
                return self.block.after_last.map(|()| false);
            };
            if self.taken < length as usize {
                return Ok(true);
            }
            self.fragment += 1;
            self.taken = 0;
        }
    }
}

impl BlockSource for HeaderBlockReader<'_> {
    fn take_up_to(&mut self, max: usize) -> Result<&[u8], Stop> {
        require(self.has_more()?)?;
        let (start, length) = self.block.fragments[self.fragment];
        let begin = start as usize + self.taken;
        let in_input = self.block.input.len().saturating_sub(begin);
        let count = max.min(length as usize - self.taken).min(in_input);
        if count == 0 {
            return Err(Stop::Short);
        }
        self.taken += count;
        Ok(&self.block.input[begin..begin + count])
    }

    fn is_done(&mut self) -> Result<bool, Stop> {
        Ok(!self.has_more()?)
    }

    // The decoder reads most octets one at a time, and each string lookup
    // skips from the block's start: both by arithmetic on the fragments.
    #[inline]
    fn u8(&mut self) -> Result<u8, Stop> {
        if let Some(&(start, length)) = self.block.fragments[..self.block.found].get(self.fragment)
        {
            if self.taken < length as usize {
                if let Some(&octet) = self.block.input.get(start as usize + self.taken) {
                    self.taken += 1;
                    return Ok(octet);
                }
            }
        }
        self.take_up_to(1)?.first().copied().ok_or(Stop::Short)
    }

    fn skip(&mut self, mut count: usize) -> Result<(), Stop> {
        while count > 0 {
            require(self.has_more()?)?;
            let (start, length) = self.block.fragments[self.fragment];
            let step = count.min(length as usize - self.taken);
            if start as usize + self.taken + step > self.block.input.len() {
                return Err(Stop::Short);
            }
            self.taken += step;
            count -= step;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::hpack::tests::{encode_integer, encode_literal, encode_string, Literal};
    use super::hpack::work::{self, Work};
    use super::*;
    use crate::internal::check_monotone;
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    /// An empty SETTINGS frame, as a client may open with.
    const EMPTY_SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        out.extend([kind, flags]);
        out.extend(stream.to_be_bytes());
        out.extend(payload);
        out
    }

    /// The preface, an empty SETTINGS frame, then `frames`.
    fn connection(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = HTTP2_PREFACE.to_vec();
        out.extend(EMPTY_SETTINGS);
        for f in frames {
            out.extend(*f);
        }
        out
    }

    /// A request whose header block is `block`, in one HEADERS frame.
    fn request(block: &[u8]) -> Vec<u8> {
        connection(&[&frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, block)])
    }

    /// `:method GET`, `:scheme http`, `:path /`, then `:authority
    /// www.example.com` Huffman-coded and added to the dynamic table (RFC
    /// 7541 C.4.1).
    const C41_BLOCK: &[u8] = &[
        0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90,
        0xf4, 0xff,
    ];

    #[test]
    fn preface_decides_at_first_mismatch() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (b"P", NeedMore),
            (b"G", NoMatch),
            (b"PRI * HTTP/1.1", NoMatch),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r", NeedMore),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Match),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04", Match),
        ];
        for (input, want) in cases {
            assert_eq!(http2_preface().verdict(input), *want, "{input:?}");
        }
    }

    #[test]
    fn header_fields_of_a_simple_request() {
        let wire = request(C41_BLOCK);
        let cases: &[(Http2Header, Verdict)] = &[
            (http2_header(":method", "GET"), Match),
            (http2_header(":method", "POST"), NoMatch),
            (http2_header(":path", "/"), Match),
            (http2_header(":authority", "www.example.com"), Match),
            (http2_header(":Authority", "www.example.com"), Match),
            (http2_header(":authority", "www.example.co"), NoMatch),
            (http2_header_prefix(":authority", "www."), Match),
            (http2_header_prefix(":authority", ""), Match),
            (http2_header_prefix(":authority", "example"), NoMatch),
            (http2_header("user-agent", ""), NoMatch),
            (grpc(), NoMatch),
        ];
        for (matcher, want) in cases {
            assert_eq!(matcher.verdict(&wire), *want, "{matcher:?}");
            assert_eq!(matcher.clone().send_settings().verdict(&wire), *want);
        }
    }

    #[test]
    fn needs_more_until_the_deciding_byte() {
        let wire = request(C41_BLOCK);
        let authority = http2_header(":authority", "www.example.com");
        let path = http2_header(":path", "/");
        let absent = http2_header("accept", "*/*");
        let path_decided_at = wire.len() - C41_BLOCK.len() + 3;
        for cut in 0..wire.len() {
            assert_eq!(authority.verdict(&wire[..cut]), NeedMore, "cut {cut}");
            assert_eq!(absent.verdict(&wire[..cut]), NeedMore, "cut {cut}");
            let want_path = if cut < path_decided_at {
                NeedMore
            } else {
                Match
            };
            assert_eq!(path.verdict(&wire[..cut]), want_path, "cut {cut}");
        }
        assert_eq!(authority.verdict(&wire), Match);
        assert_eq!(absent.verdict(&wire), NoMatch);
    }

    #[test]
    fn decides_before_the_rest_of_the_block_arrives() {
        // A HEADERS frame that announces 100 bytes and no END_HEADERS: the
        // fields that have arrived decide.
        let mut wire = connection(&[&[0, 0, 100, FRAME_HEADERS, 0, 0, 0, 0, 1]]);
        wire.extend([0x82, 0x86]);
        assert_eq!(http2_header(":method", "GET").verdict(&wire), Match);
        assert_eq!(http2_header(":scheme", "https").verdict(&wire), NoMatch);
        assert_eq!(http2_header(":path", "/").verdict(&wire), NeedMore);
    }

    #[test]
    fn huffman_names_values_and_dynamic_references() {
        // custom-key: custom-value, literal Huffman name and value, indexed
        // (RFC 7541 C.4.3); then a reference to it (62); then a field named
        // by that entry with a new value; then :path /x, not indexed.
        let block: &[u8] = &[
            0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f, 0x89, 0x25, 0xa8, 0x49,
            0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf, // custom-key: custom-value
            0xbe, // index 62
            0x7e, 0x01, b'2', // literal with indexing, name index 62, value "2"
            0x82, 0x04, 0x02, b'/', b'x', // :method GET, :path /x
        ];
        let wire = request(block);
        assert_eq!(
            http2_header("custom-key", "custom-value").verdict(&wire),
            Match
        );
        assert_eq!(http2_header(":path", "/x").verdict(&wire), Match);
        let mut fields = Vec::new();
        http2_request_headers(&wire, |n, v| fields.push((n.to_vec(), v.to_vec()))).unwrap();
        let want: Vec<(Vec<u8>, Vec<u8>)> = [
            ("custom-key", "custom-value"),
            ("custom-key", "custom-value"),
            ("custom-key", "2"),
            (":method", "GET"),
            (":path", "/x"),
        ]
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
        assert_eq!(fields, want);
    }

    #[test]
    fn table_size_updates() {
        let cases: &[(&[u8], Verdict)] = &[
            // Size 0 at the start, then fields: fine.
            (&[0x20, 0x82, 0x04, 0x01, b'/'], Match),
            // Size 4096 (3f e1 1f), then fields.
            (&[0x3f, 0xe1, 0x1f, 0x84], Match),
            // Size 4097: more than the client may use.
            (&[0x3f, 0xe2, 0x1f, 0x84], NoMatch),
            // An update after a field.
            (&[0x82, 0x20, 0x84], NoMatch),
        ];
        for (block, want) in cases {
            assert_eq!(
                http2_header(":path", "/").verdict(&request(block)),
                *want,
                "{block:02x?}"
            );
        }
    }

    #[test]
    fn a_block_in_more_than_sixteen_continuation_frames_is_refused() {
        // C41_BLOCK in one-octet pieces: the HEADERS frame, then one
        // CONTINUATION frame per remaining octet.
        let pieces = |block: &[u8]| -> Vec<u8> {
            let mut frames = Vec::new();
            for (i, octet) in block.iter().enumerate() {
                let kind = if i == 0 {
                    FRAME_HEADERS
                } else {
                    FRAME_CONTINUATION
                };
                let flags = if i + 1 == block.len() {
                    FLAG_END_HEADERS
                } else {
                    0
                };
                frames.extend(frame(kind, flags, 1, &[*octet]));
            }
            connection(&[&frames])
        };
        let authority = http2_header(":authority", "www.example.com");
        let absent = http2_header("x-absent", "v");
        let within = pieces(C41_BLOCK);
        assert_eq!(C41_BLOCK.len(), MAX_CONTINUATION_FRAMES + 1);
        assert_eq!(
            http2_request(&within).map(|r| r.method),
            Some(Some("GET".into()))
        );
        assert_eq!(authority.verdict(&within), Match);
        assert_eq!(absent.verdict(&within), NoMatch);
        let beyond = pieces(&[C41_BLOCK, &[0x82]].concat());
        assert_eq!(http2_request(&beyond), None);
        assert!(http2_request_headers(&beyond, |_, _| ()).is_err());
        // A matcher that decided before the cap keeps its answer.
        assert_eq!(authority.verdict(&beyond), Match);
    }

    /// The octets decoded and copied while `call` runs.
    fn work_of(call: impl FnOnce()) -> Work {
        let _ = work::take();
        call();
        work::take()
    }

    /// The block of issue 13: a literal with incremental indexing whose
    /// Huffman-coded name decodes to 4,064 octets (the most an entry of a
    /// 4,096-octet table holds with an empty value), then 6,900 literals
    /// with incremental indexing named by the newest entry, each adding a
    /// 4,096-octet entry that evicts the one before. Each field counts
    /// 4,096 octets of header list: 28 MB in all, from 16,345 octets.
    fn referenced_name_bomb() -> Vec<u8> {
        // 'a' is 00011: eight of them are 40 bits, 5 octets.
        let coded_name = [0x18, 0xc6, 0x31, 0x8c, 0x63].repeat(4064 / 8);
        assert_eq!(coded_name, huffman_encode(&[b'a'; 4064]));
        // 01 000000: literal with indexing, name sent; H = 1, length 2,540
        // (7f, then 2,413 in two continuation octets).
        let mut block = vec![0x40, 0xff, 0xed, 0x12];
        block.extend(coded_name);
        block.push(0x00); // empty value
        for _ in 0..6_900 {
            // 01 111110: literal with indexing, name index 62 (the newest
            // entry); empty value.
            block.extend([0x7e, 0x00]);
        }
        assert_eq!(block.len(), 16_345);
        block
    }

    #[test]
    fn the_referenced_name_bomb_is_refused_in_bounded_work() {
        let block = referenced_name_bomb();
        let split = connection(&[
            &frame(FRAME_HEADERS, 0, 1, &block[..8_000]),
            &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, &block[8_000..]),
        ]);
        for wire in [request(&block), split] {
            let bound = work::bound(wire.len(), DEFAULT_MAX_HEADER_LIST_SIZE);
            let matchers = [
                grpc(),
                grpc().send_settings(),
                http2_header(":path", "/"),
                http2_header_prefix(":path", "/"),
            ];
            for matcher in &matchers {
                let work = work_of(|| assert_eq!(matcher.verdict(&wire), NoMatch));
                assert!(work.total() <= bound, "{matcher:?}: {work:?} > {bound}");
                // The name is decoded once, when the first field names it.
                assert_eq!(work.huffman_decoded, 4064, "{matcher:?}");
            }
            let work = work_of(|| assert_eq!(http2_request(&wire), None));
            assert!(work.total() <= bound, "http2_request: {work:?} > {bound}");
            let work = work_of(|| {
                assert_eq!(
                    http2_request_headers(&wire, |_, _| panic!("visited")),
                    Err(Http2HeadersError::HeaderListTooLarge)
                );
            });
            // It may decode twice: to check the block, then to visit it.
            assert!(work.total() <= 2 * bound, "headers: {work:?} > 2 × {bound}");
        }
    }

    #[test]
    fn an_entry_referenced_thousands_of_times_is_decoded_once() {
        // `x: a…a` (4,000 a's), both Huffman-coded, added to the table;
        // :method GET, :scheme http, :path /; then one-octet references to
        // the entry (index 62), each a field of the request.
        let value = vec![b'a'; 4000];
        let block_with = |references: usize| {
            let mut block = Vec::new();
            encode_literal(&mut block, Literal::WithIndexing, 0, b"x", &value, true);
            block.extend([0x82, 0x86, 0x84]);
            block.extend(std::iter::repeat_n(0xbe, references));
            block
        };
        let unlimited = usize::MAX;
        // Huffman-decoded octets per call: the matcher compares the literal
        // as sent and decodes the entry when the first reference reads it;
        // `http2_request` also checks the literal; `http2_request_headers`
        // decodes the literal and the entry in each of its two decodings.
        let entry = 1 + value.len();
        let absent = http2_header("x-absent", "").max_header_list_size(unlimited);
        // Fewer under miri, which interprets every decoded octet.
        let many = if cfg!(miri) { 20 } else { 10_000 };
        for references in [10, many] {
            let wire = request(&block_with(references));
            let work = work_of(|| assert_eq!(absent.verdict(&wire), NoMatch));
            assert_eq!(work.huffman_decoded, entry, "{references} references");
            let work = work_of(|| {
                let parsed = http2_request_with_limit(&wire, unlimited).expect("a valid block");
                assert_eq!(parsed.method.as_deref(), Some("GET"));
            });
            assert_eq!(work.huffman_decoded, 2 * entry, "{references} references");
            let mut fields = 0;
            let work = work_of(|| {
                http2_request_headers_with_limit(&wire, unlimited, |name, seen| {
                    fields += usize::from(name == b"x" && seen == value.as_slice());
                })
                .expect("a valid block");
            });
            assert_eq!(fields, references + 1);
            assert_eq!(work.huffman_decoded, 4 * entry, "{references} references");
            assert_eq!(
                http2_header("x", &value)
                    .max_header_list_size(unlimited)
                    .verdict(&wire),
                Match
            );
        }
        // With the default limit, the 16th reference (4,033 + 42 + 43 + 38
        // + 16 × 4,033 octets) passes 64 KiB: the block is refused, but a
        // field decided before that still matches.
        let wire = request(&block_with(16));
        assert_eq!(http2_request(&wire), None);
        assert_eq!(http2_header(":method", "GET").verdict(&wire), Match);
        assert_eq!(http2_header("x-absent", "").verdict(&wire), NoMatch);
        assert!(http2_request(&request(&block_with(15))).is_some());
    }

    /// A block whose header list is `size` octets as RFC 9113 section
    /// 6.5.2 counts them (each field's name and value plus 32), `size` from
    /// 61,544 to 69,736; its last field `:path /`. The fields: `x` with a value
    /// of half the rest, not indexed; `e` with a value of 4,063 octets,
    /// added to the table (4,096 octets) and referred to 14 times; `y` with
    /// the other half, not indexed; `:path /` (index 4, 38 octets).
    /// Huffman-coded, the values are of `&`, whose code is 8 bits long:
    /// until decoded they may be 8/5 as long.
    fn block_of_list_size(size: usize, huffman: bool) -> Vec<u8> {
        let rest = size - (33 + 15 * 4096 + 33 + 38);
        let filler = if huffman { b'&' } else { b'-' };
        let mut block = Vec::new();
        let x = vec![filler; rest / 2];
        encode_literal(&mut block, Literal::WithoutIndexing, 0, b"x", &x, huffman);
        let e = vec![filler; 4096 - 32 - 1];
        encode_literal(&mut block, Literal::WithIndexing, 0, b"e", &e, huffman);
        block.extend([0xbe; 14]);
        let y = vec![filler; rest - rest / 2];
        encode_literal(&mut block, Literal::WithoutIndexing, 0, b"y", &y, huffman);
        block.push(0x84);
        block
    }

    #[test]
    fn a_header_list_of_the_limit_is_read_and_one_octet_more_is_not() {
        let limit = DEFAULT_MAX_HEADER_LIST_SIZE;
        let path = http2_header(":path", "/");
        for huffman in [false, true] {
            let at_limit = request(&block_of_list_size(limit, huffman));
            assert_eq!(path.verdict(&at_limit), Match, "huffman {huffman}");
            assert_eq!(
                http2_request(&at_limit).and_then(|r| r.path).as_deref(),
                Some("/"),
                "huffman {huffman}"
            );
            let mut fields = 0;
            http2_request_headers(&at_limit, |_, _| fields += 1).unwrap();
            assert_eq!(fields, 18, "huffman {huffman}");
            let over_block = block_of_list_size(limit + 1, huffman);
            let over = request(&over_block);
            assert_eq!(path.verdict(&over), NoMatch, "huffman {huffman}");
            assert_eq!(http2_request(&over), None, "huffman {huffman}");
            assert_eq!(
                http2_request_headers(&over, |_, _| panic!("visited")),
                Err(Http2HeadersError::HeaderListTooLarge),
                "huffman {huffman}"
            );
            // Refused before the block ends: more bytes cannot help. The
            // block goes on with :path /a, not indexed, cut short.
            let longer = request(&[&over_block[..], &[0x04, 0x02, b'/', b'a']].concat());
            let cut = &longer[..longer.len() - 2];
            assert_eq!(path.verdict(cut), NoMatch, "huffman {huffman}");
            assert_eq!(
                http2_request_headers(cut, |_, _| ()),
                Err(Http2HeadersError::HeaderListTooLarge),
            );
        }
    }

    #[test]
    fn the_header_list_limit_is_settable() {
        // Raised: a 68,000-octet list.
        let large = request(&block_of_list_size(68_000, true));
        let path = http2_header_prefix(":path", "/");
        assert_eq!(path.verdict(&large), NoMatch);
        assert_eq!(
            path.clone().max_header_list_size(68_000).verdict(&large),
            Match
        );
        assert_eq!(
            path.clone().max_header_list_size(67_999).verdict(&large),
            NoMatch
        );
        assert_eq!(http2_request(&large), None);
        assert!(http2_request_with_limit(&large, 68_000).is_some());
        assert_eq!(http2_request_with_limit(&large, 67_999), None);
        assert_eq!(
            http2_request_headers_with_limit(&large, 68_000, |_, _| ()),
            Ok(())
        );
        assert_eq!(
            http2_request_headers_with_limit(&large, 67_999, |_, _| ()),
            Err(Http2HeadersError::HeaderListTooLarge)
        );
        // Lowered: C41_BLOCK's list is :method GET (7 + 3 + 32), :scheme
        // http (7 + 4 + 32), :path / (5 + 1 + 32) and :authority
        // www.example.com (10 + 15 + 32): 180 octets.
        let wire = request(C41_BLOCK);
        let authority = http2_header(":authority", "www.example.com");
        let cases: &[(usize, Verdict, Verdict)] = &[
            // limit, :authority, :method GET (the first field, 42 octets)
            (180, Match, Match),
            (179, NoMatch, Match),
            (42, NoMatch, Match),
            (41, NoMatch, NoMatch),
            (0, NoMatch, NoMatch),
        ];
        for &(limit, want_authority, want_method) in cases {
            let method = http2_header(":method", "GET").max_header_list_size(limit);
            assert_eq!(
                authority.clone().max_header_list_size(limit).verdict(&wire),
                want_authority,
                "{limit}"
            );
            assert_eq!(method.verdict(&wire), want_method, "{limit}");
            let read = want_authority == Match;
            assert_eq!(
                http2_request_with_limit(&wire, limit).is_some(),
                read,
                "{limit}"
            );
            assert_eq!(
                http2_request_headers_with_limit(&wire, limit, |_, _| ()).is_ok(),
                read,
                "{limit}"
            );
        }
    }

    #[test]
    fn continuation_frames_carry_the_rest_of_the_block() {
        // C41_BLOCK split inside the Huffman-coded authority.
        let (head, tail) = C41_BLOCK.split_at(8);
        let wire = connection(&[
            &frame(FRAME_HEADERS, 0, 3, head),
            &frame(FRAME_CONTINUATION, 0, 3, &[]),
            &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 3, tail),
        ]);
        let authority = http2_header(":authority", "www.example.com");
        assert_eq!(authority.verdict(&wire), Match);
        for cut in 0..wire.len() {
            assert_eq!(authority.verdict(&wire[..cut]), NeedMore, "cut {cut}");
        }
        assert_eq!(
            http2_request(&wire).and_then(|r| r.authority).as_deref(),
            Some("www.example.com")
        );
        let broken: &[(&str, Vec<u8>)] = &[
            (
                "CONTINUATION on another stream",
                connection(&[
                    &frame(FRAME_HEADERS, 0, 3, head),
                    &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 5, tail),
                ]),
            ),
            (
                "PING inside the block",
                connection(&[
                    &frame(FRAME_HEADERS, 0, 3, head),
                    &frame(FRAME_PING, 0, 0, &[0; 8]),
                    &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 3, tail),
                ]),
            ),
            (
                "block ends inside a string",
                connection(&[&frame(FRAME_HEADERS, FLAG_END_HEADERS, 3, head)]),
            ),
        ];
        for (what, wire) in broken {
            assert_eq!(authority.verdict(wire), NoMatch, "{what}");
            assert_eq!(http2_request(wire), None, "{what}");
        }
    }

    #[test]
    fn padded_and_priority_headers() {
        let mut payload = vec![3]; // pad length
        payload.extend([0x80, 0, 0, 0, 16]); // exclusive dependency on 0, weight 16
        payload.extend(C41_BLOCK);
        payload.extend([0, 0, 0]);
        let flags = FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY;
        let wire = connection(&[&frame(FRAME_HEADERS, flags, 1, &payload)]);
        let authority = http2_header(":authority", "www.example.com");
        assert_eq!(authority.verdict(&wire), Match);
        // Padding after a fragment that ends without END_HEADERS is skipped
        // before the CONTINUATION.
        let mut padded = vec![2];
        padded.extend(&C41_BLOCK[..5]);
        padded.extend([0, 0]);
        let wire = connection(&[
            &frame(FRAME_HEADERS, FLAG_PADDED, 1, &padded),
            &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, &C41_BLOCK[5..]),
        ]);
        assert_eq!(authority.verdict(&wire), Match);
        // Padding as long as the payload.
        let wire = connection(&[&frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS | FLAG_PADDED,
            1,
            &[4, 0x82, 0, 0],
        )]);
        assert_eq!(http2_header(":method", "GET").verdict(&wire), NoMatch);
        // PRIORITY flag with fewer than 5 bytes.
        let wire = connection(&[&frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS | FLAG_PRIORITY,
            1,
            &[0, 0, 0, 0],
        )]);
        assert_eq!(http2_header(":method", "GET").verdict(&wire), NoMatch);
        // PADDED with an empty payload.
        let wire = connection(&[&frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS | FLAG_PADDED,
            1,
            &[],
        )]);
        assert_eq!(http2_header(":method", "GET").verdict(&wire), NoMatch);
    }

    #[test]
    fn frames_before_headers() {
        let headers = frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, C41_BLOCK);
        let method = http2_header(":method", "GET");
        let accepted: &[(&str, Vec<u8>)] = &[
            (
                "SETTINGS with two values",
                frame(
                    FRAME_SETTINGS,
                    0,
                    0,
                    &[0, 3, 0, 0, 0, 100, 0, 4, 0, 1, 0, 0],
                ),
            ),
            ("SETTINGS ACK", frame(FRAME_SETTINGS, FLAG_ACK, 0, &[])),
            (
                "WINDOW_UPDATE",
                frame(FRAME_WINDOW_UPDATE, 0, 0, &[0, 0xff, 0, 1]),
            ),
            ("PRIORITY", frame(FRAME_PRIORITY, 0, 3, &[0, 0, 0, 0, 200])),
            ("PING", frame(FRAME_PING, 0, 0, &[1, 2, 3, 4, 5, 6, 7, 8])),
            (
                "GOAWAY",
                frame(FRAME_GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]),
            ),
            ("unknown type 0xfa", frame(0xfa, 0xff, 7, b"anything")),
            (
                "reserved bit set",
                frame(FRAME_PING, 0, 0x8000_0000, &[0; 8]),
            ),
        ];
        for (what, before) in accepted {
            assert_eq!(
                method.verdict(&connection(&[before, &headers])),
                Match,
                "{what}"
            );
        }
        let rejected: &[(&str, Vec<u8>)] = &[
            ("DATA", frame(FRAME_DATA, 0, 1, b"x")),
            ("RST_STREAM", frame(FRAME_RST_STREAM, 0, 1, &[0, 0, 0, 8])),
            (
                "PUSH_PROMISE",
                frame(FRAME_PUSH_PROMISE, 4, 1, &[0, 0, 0, 2]),
            ),
            ("CONTINUATION", frame(FRAME_CONTINUATION, 4, 1, &[0x82])),
            (
                "SETTINGS of 5 bytes",
                frame(FRAME_SETTINGS, 0, 0, &[0, 3, 0, 0, 0]),
            ),
            ("SETTINGS on a stream", frame(FRAME_SETTINGS, 0, 1, &[])),
            (
                "SETTINGS ACK with a payload",
                frame(FRAME_SETTINGS, FLAG_ACK, 0, &[0; 6]),
            ),
            ("PING of 4 bytes", frame(FRAME_PING, 0, 0, &[0; 4])),
            ("PING on a stream", frame(FRAME_PING, 0, 1, &[0; 8])),
            (
                "WINDOW_UPDATE of 3 bytes",
                frame(FRAME_WINDOW_UPDATE, 0, 0, &[0; 3]),
            ),
            ("PRIORITY on stream 0", frame(FRAME_PRIORITY, 0, 0, &[0; 5])),
            ("GOAWAY of 4 bytes", frame(FRAME_GOAWAY, 0, 0, &[0; 4])),
        ];
        for (what, before) in rejected {
            assert_eq!(
                method.verdict(&connection(&[before, &headers])),
                NoMatch,
                "{what}"
            );
        }
    }

    #[test]
    fn malformed_connections_are_no_match_at_the_first_bad_byte() {
        // Each input ends with the byte that rules HTTP/2 out.
        let with_preface = |bytes: &[u8]| [HTTP2_PREFACE, bytes].concat();
        let cases: &[(&str, Vec<u8>)] = &[
            ("HTTP/1.1", b"G".to_vec()),
            ("wrong preface byte", b"PRI * HTTP/2.1".to_vec()),
            (
                "HEADERS without SETTINGS first",
                with_preface(&[0, 0, 17, FRAME_HEADERS, 4, 0, 0, 0, 1]),
            ),
            (
                "SETTINGS ACK first",
                with_preface(&[0, 0, 0, FRAME_SETTINGS, 1, 0, 0, 0, 0]),
            ),
            ("frame length of 65536 or more", with_preface(&[0x01])),
            ("frame of 16385 bytes", connection(&[&[0x00, 0x40, 0x01]])),
            (
                "HEADERS on stream 0",
                connection(&[&[0, 0, 17, FRAME_HEADERS, 4, 0, 0, 0, 0]]),
            ),
            (
                "HEADERS on an even stream",
                connection(&[&[0, 0, 17, FRAME_HEADERS, 4, 0, 0, 0, 2]]),
            ),
            ("index 0", request(&[0x80])),
            ("index past the tables", request(&[0xbf])),
            (
                "integer overflow",
                request(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            ),
            (
                "integer of six continuation bytes",
                request(&[0xff, 0x80, 0x80, 0x80, 0x80, 0x80]),
            ),
            (
                "Huffman EOS",
                request(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]),
            ),
            ("Huffman padding of zeros", request(&[0x04, 0x81, 0x18])),
            (
                "Huffman padding of 8 bits",
                request(&[0x04, 0x82, 0x1f, 0xff]),
            ),
            ("table size 8192", request(&[0x3f, 0xe1, 0x3f])),
            ("string cut by END_HEADERS", request(&[0x04, 0x05, b'/'])),
        ];
        let method = http2_header(":method", "GET");
        for (what, wire) in cases {
            for cut in 0..wire.len() {
                assert_eq!(method.verdict(&wire[..cut]), NeedMore, "{what}, cut {cut}");
            }
            assert_eq!(method.verdict(wire), NoMatch, "{what}");
            assert_eq!(http2_request(wire), None, "{what}");
        }
    }

    #[test]
    fn grpc_content_types() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"application/grpc", Match),
            (b"application/grpc+proto", Match),
            (b"application/grpc+json", Match),
            (b"application/grpc;charset=utf-8", Match),
            (b"application/grpc-web", NoMatch),
            (b"application/grpcx", NoMatch),
            (b"application/json", NoMatch),
            (b"Application/grpc", NoMatch),
        ];
        for (content_type, want) in cases {
            let mut block = vec![0x83, 0x86];
            encode_literal(
                &mut block,
                Literal::WithoutIndexing,
                31,
                b"",
                content_type,
                true,
            );
            assert_eq!(grpc().verdict(&request(&block)), *want, "{content_type:?}");
        }
        // Only the first content-type counts.
        let mut block = Vec::new();
        encode_literal(
            &mut block,
            Literal::WithIndexing,
            31,
            b"",
            b"text/plain",
            false,
        );
        encode_literal(
            &mut block,
            Literal::WithIndexing,
            31,
            b"",
            b"application/grpc",
            false,
        );
        assert_eq!(grpc().verdict(&request(&block)), NoMatch);
    }

    #[test]
    fn bad_huffman_in_a_skipped_string_is_not_noticed() {
        // user-agent (index 58) with the value "0" Huffman-coded with
        // padding of zeros (0x00: the 5-bit code of '0', then 000), a
        // literal name "x" whose Huffman code is cut by an EOS (0xff 0xff
        // 0xff 0xff), then :path / (index 4).
        let block: &[u8] = &[
            0x0f, 0x2b, 0x81, 0x00, // user-agent: bad Huffman
            0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, b'v', // bad Huffman name
            0x84, // :path /
        ];
        let wire = request(block);
        let cases: &[(Http2Header, Verdict)] = &[
            (http2_header(":path", "/"), Match),
            (http2_header("user-agent", "curl"), NoMatch),
            // The prefix is decoded; the padding after it is not.
            (http2_header_prefix("user-agent", "0"), Match),
            (http2_header("user-agent", "0"), NoMatch),
            (http2_header("x-absent", ""), NoMatch),
            (grpc(), NoMatch),
        ];
        for (matcher, want) in cases {
            assert_eq!(matcher.verdict(&wire), *want, "{matcher:?}");
        }
        // What needs the whole request decodes every string.
        assert_eq!(http2_request(&wire), None);
        assert_eq!(
            http2_request_headers(&wire, |_, _| {}),
            Err(Http2HeadersError::Invalid)
        );
    }

    #[test]
    fn long_values_keep_their_head() {
        let long_path = [b"/".as_slice(), &[b'p'; 5000]].concat();
        let mut block = Vec::new();
        encode_literal(&mut block, Literal::WithIndexing, 4, b"", &long_path, true);
        block.push(0x82);
        let connection_bytes = connection(&[
            &frame(FRAME_HEADERS, 0, 1, &block[..2000]),
            &frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, &block[2000..]),
        ]);
        assert_eq!(
            http2_header_prefix(":path", "/ppp").verdict(&connection_bytes),
            Match
        );
        assert_eq!(
            http2_header(":path", &long_path).verdict(&connection_bytes),
            NoMatch
        );
        assert_eq!(
            http2_header(":method", "GET").verdict(&connection_bytes),
            Match
        );
        assert_eq!(
            http2_request_headers(&connection_bytes, |_, _| {}),
            Err(Http2HeadersError::FieldTooLong)
        );
        assert_eq!(http2_request(&connection_bytes), None);
    }

    #[test]
    fn request_extraction_errors() {
        let wire = request(C41_BLOCK);
        assert_eq!(
            http2_request_headers(&wire[..wire.len() - 1], |_, _| panic!("visited")),
            Err(Http2HeadersError::Incomplete)
        );
        assert_eq!(
            http2_request_headers(b"GET / HTTP/1.1\r\n", |_, _| panic!("visited")),
            Err(Http2HeadersError::Invalid)
        );
        assert_eq!(
            Http2HeadersError::FieldTooLong.to_string(),
            "an HTTP/2 header field is longer than 4096 bytes"
        );
        assert_eq!(
            http2_request(&wire),
            Some(Http2Request {
                method: Some("GET".into()),
                scheme: Some("http".into()),
                authority: Some("www.example.com".into()),
                path: Some("/".into()),
                content_type: None,
            })
        );
    }

    #[test]
    fn the_bound_decides() {
        // PING frames until past the limit: no HEADERS, so no match.
        let ping = frame(FRAME_PING, 0, 0, &[0; 8]);
        let mut wire = connection(&[]);
        while wire.len() < HTTP2_HEADERS_LIMIT {
            wire.extend(&ping);
        }
        let method = http2_header(":method", "GET");
        assert_eq!(method.verdict(&wire[..HTTP2_HEADERS_LIMIT - 1]), NeedMore);
        assert_eq!(method.verdict(&wire[..HTTP2_HEADERS_LIMIT]), NoMatch);
        // A HEADERS frame that completes after the limit does not count.
        wire.truncate(HTTP2_HEADERS_LIMIT - 5);
        wire.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, C41_BLOCK));
        assert_eq!(method.verdict(&wire), NoMatch);
    }

    // Captures of real clients talking to a socket that only records:
    // `curl --http2-prior-knowledge http://example.test:18081/search?q=connmux
    //  -H 'content-type: application/grpc+proto'` (curl 7.88.1),
    // `nghttp http://127.0.0.1:18082/index.html -H ':authority: grpc.example:443'`
    // and `h2load -n 1 http://127.0.0.1:18083/load/test` (nghttp2 1.52.0),
    // and nghttp again against a socket that sent an empty SETTINGS frame
    // right after the preface.
    const CURL: &[u8] = include_bytes!("testdata/curl_prior_knowledge.bin");
    const NGHTTP: &[u8] = include_bytes!("testdata/nghttp.bin");
    const H2LOAD: &[u8] = include_bytes!("testdata/h2load.bin");
    const NGHTTP_AFTER_SETTINGS: &[u8] =
        include_bytes!("testdata/nghttp_after_server_settings.bin");

    #[test]
    fn real_clients() {
        let cases: &[(&str, &[u8], Http2Request)] = &[
            (
                "curl",
                CURL,
                Http2Request {
                    method: Some("GET".into()),
                    scheme: Some("http".into()),
                    authority: Some("example.test:18081".into()),
                    path: Some("/search?q=connmux".into()),
                    content_type: Some("application/grpc+proto".into()),
                },
            ),
            (
                "nghttp",
                NGHTTP,
                Http2Request {
                    method: Some("GET".into()),
                    scheme: Some("http".into()),
                    authority: Some("grpc.example:443".into()),
                    path: Some("/index.html".into()),
                    content_type: None,
                },
            ),
            (
                "h2load",
                H2LOAD,
                Http2Request {
                    method: Some("GET".into()),
                    scheme: Some("http".into()),
                    authority: Some("127.0.0.1:18083".into()),
                    path: Some("/load/test".into()),
                    content_type: None,
                },
            ),
            (
                "nghttp after server SETTINGS",
                NGHTTP_AFTER_SETTINGS,
                Http2Request {
                    method: Some("GET".into()),
                    scheme: Some("http".into()),
                    authority: Some("127.0.0.1:18084".into()),
                    path: Some("/after/settings".into()),
                    content_type: None,
                },
            ),
        ];
        for (what, wire, want) in cases {
            assert_eq!(http2_request(wire).as_ref(), Some(want), "{what}");
            let path = want.path.as_deref().unwrap();
            let authority = want.authority.as_deref().unwrap();
            assert_eq!(http2_header(":path", path).verdict(wire), Match, "{what}");
            assert_eq!(
                http2_header(":path", "/other").verdict(wire),
                NoMatch,
                "{what}"
            );
            assert_eq!(
                http2_header(":authority", authority).verdict(wire),
                Match,
                "{what}"
            );
            assert_eq!(
                http2_header_prefix(":authority", "nope").verdict(wire),
                NoMatch,
                "{what}"
            );
            let want_grpc = if *what == "curl" { Match } else { NoMatch };
            assert_eq!(grpc().verdict(wire), want_grpc, "{what}");
            check_monotone(0, &http2_header(":path", path), wire);
        }
    }

    #[test]
    fn settings_reply_and_its_ack() {
        let matcher = http2_header(":path", "/after/settings").send_settings();
        let wire = NGHTTP_AFTER_SETTINGS;
        // nghttp's first frames: SETTINGS (21 bytes), then PRIORITY frames
        // from offset 45, HEADERS at 115 (its type byte at 118), the ACK of
        // our SETTINGS at 175.
        assert_eq!(matcher.reply(&wire[..23]), None);
        assert_eq!(matcher.reply(&wire[..24]), Some(SERVER_SETTINGS));
        assert_eq!(matcher.reply(&wire[..115]), Some(SERVER_SETTINGS));
        assert_eq!(matcher.reply(&wire[..118]), Some(SERVER_SETTINGS));
        assert_eq!(matcher.reply(&wire[..119]), None);
        assert_eq!(matcher.reply(wire), None);
        assert_eq!(matcher.reply_ack(&wire[..175]), ReplyAck::Pending);
        assert_eq!(matcher.reply_ack(&wire[..183]), ReplyAck::Pending);
        assert_eq!(matcher.reply_ack(wire), ReplyAck::At(175..184));
        assert_eq!(&wire[175..], &[0, 0, 0, 4, 1, 0, 0, 0, 0]);
        assert_eq!(matcher.verdict(wire), Match);
        // Without send_settings, nothing is sent or removed.
        let plain = http2_header(":path", "/after/settings");
        assert_eq!(plain.reply(&wire[..24]), None);
        assert_eq!(plain.reply_ack(wire), ReplyAck::None);
        // Not HTTP/2, or a broken frame: nothing to send, nothing to remove.
        assert_eq!(matcher.reply(b"GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(matcher.reply_ack(b"GET / HTTP/1.1\r\n\r\n"), ReplyAck::None);
        let broken = connection(&[&[0x00, 0x40, 0x01, 4, 0, 0, 0, 0, 0]]);
        assert_eq!(matcher.reply(&broken), None);
        assert_eq!(matcher.reply_ack(&broken), ReplyAck::None);
        let bad_ack = connection(&[&frame(FRAME_SETTINGS, FLAG_ACK, 0, &[0; 6])]);
        assert_eq!(matcher.reply_ack(&bad_ack), ReplyAck::None);
        // A client that waits: SETTINGS, WINDOW_UPDATE, then our ACK, then
        // HEADERS.
        let waiting = connection(&[
            &frame(FRAME_WINDOW_UPDATE, 0, 0, &[0, 0, 0xff, 0]),
            &frame(FRAME_SETTINGS, FLAG_ACK, 0, &[]),
            &frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, C41_BLOCK),
        ]);
        let ack_at = HTTP2_PREFACE.len() + 9 + 13;
        assert_eq!(matcher.reply(&waiting[..ack_at]), Some(SERVER_SETTINGS));
        assert_eq!(
            grpc().send_settings().reply_ack(&waiting),
            ReplyAck::At(ack_at..ack_at + 9)
        );
        assert_eq!(
            http2_header(":method", "GET")
                .send_settings()
                .verdict(&waiting),
            Match
        );
    }

    /// How a generated request is framed.
    #[derive(Debug, Clone)]
    struct Framing {
        stream: u32,
        /// Where to cut the block into fragments (fractions of its length).
        cuts: Vec<prop::sample::Index>,
        padding: Option<u8>,
        priority: bool,
        huffman: bool,
        ping_first: bool,
    }

    fn framing() -> impl Strategy<Value = Framing> {
        (
            (0u32..1000).prop_map(|s| 2 * s + 1),
            proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(stream, cuts, padding, priority, huffman, ping_first)| Framing {
                    stream,
                    cuts,
                    padding,
                    priority,
                    huffman,
                    ping_first,
                },
            )
    }

    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    fn fields() -> impl Strategy<Value = Fields> {
        proptest::collection::vec(
            (
                proptest::collection::vec(prop_oneof![b'a'..=b'z', Just(b'-')], 1..10),
                proptest::collection::vec(any::<u8>(), 0..20),
            ),
            1..12,
        )
    }

    /// A connection carrying `fields` as its first header block, framed as
    /// `framing` says, every other field added to the dynamic table and
    /// followed by a reference to it; and the fields the block holds.
    fn generated_request(fields: &Fields, framing: &Framing) -> (Vec<u8>, Fields) {
        let mut block = Vec::new();
        let mut decoded = Vec::new();
        for (position, (name, value)) in fields.iter().enumerate() {
            decoded.push((name.clone(), value.clone()));
            if position % 2 == 0 {
                encode_literal(
                    &mut block,
                    Literal::WithoutIndexing,
                    0,
                    name,
                    value,
                    framing.huffman,
                );
            } else {
                encode_integer(&mut block, 0x40, 6, 0);
                encode_string(&mut block, name, framing.huffman);
                encode_string(&mut block, value, !framing.huffman);
                block.push(0xbe); // index 62: the entry just added
                decoded.push((name.clone(), value.clone()));
            }
        }
        let mut cuts: Vec<usize> = framing
            .cuts
            .iter()
            .map(|c| c.index(block.len() + 1))
            .collect();
        cuts.sort_unstable();
        cuts.push(block.len());
        let mut frames = Vec::new();
        if framing.ping_first {
            frames.push(frame(FRAME_PING, 0, 0, &[9; 8]));
        }
        let mut start = 0;
        for (position, &end) in cuts.iter().enumerate() {
            let last = position + 1 == cuts.len();
            let flags = if last { FLAG_END_HEADERS } else { 0 };
            let fragment = &block[start..end];
            if position == 0 {
                let mut payload = Vec::new();
                let mut header_flags = flags;
                if let Some(padding) = framing.padding {
                    header_flags |= FLAG_PADDED;
                    payload.push(padding);
                }
                if framing.priority {
                    header_flags |= FLAG_PRIORITY;
                    payload.extend([0, 0, 0, 0, 15]);
                }
                payload.extend(fragment);
                payload.extend(vec![0; usize::from(framing.padding.unwrap_or(0))]);
                frames.push(frame(FRAME_HEADERS, header_flags, framing.stream, &payload));
            } else {
                frames.push(frame(FRAME_CONTINUATION, flags, framing.stream, fragment));
            }
            start = end;
        }
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        (connection(&refs), decoded)
    }

    proptest! {
        #[test]
        fn generated_requests_match_their_first_fields(
            fields in fields(),
            framing in framing(),
            pick in any::<prop::sample::Index>(),
        ) {
            let (wire, decoded) = generated_request(&fields, &framing);
            let mut visited = Vec::new();
            http2_request_headers(&wire, |n, v| visited.push((n.to_vec(), v.to_vec()))).unwrap();
            prop_assert_eq!(visited, decoded);
            let (name, _) = &fields[pick.index(fields.len())];
            let first_value = &fields.iter().find(|(n, _)| n == name).unwrap().1;
            let exact = http2_header(name, first_value);
            prop_assert_eq!(exact.verdict(&wire), Match);
            let mut other = first_value.clone();
            other.push(b'!');
            prop_assert_eq!(http2_header(name, &other).verdict(&wire), NoMatch);
            prop_assert_eq!(http2_header("absent:", "").verdict(&wire), NoMatch);
            check_monotone(0, &exact, &wire);
        }

        #[test]
        fn mutated_requests_stay_monotone(
            fields in fields(),
            framing in framing(),
            mutations in proptest::collection::vec(
                (any::<prop::sample::Index>(), any::<u8>()),
                1..4,
            ),
        ) {
            let (mut wire, _) = generated_request(&fields, &framing);
            for (at, byte) in mutations {
                let at = at.index(wire.len());
                wire[at] = byte;
            }
            let (name, value) = &fields[0];
            check_monotone(0, &http2_header(name, value), &wire);
            check_monotone(1, &http2_header_prefix(":path", "/"), &wire);
            check_monotone(2, &grpc().send_settings(), &wire);
            let _ = http2_request(&wire);
            let _ = http2_request_headers(&wire, |_, _| {});
            let _ = grpc().send_settings().reply(&wire);
            let _ = grpc().send_settings().reply_ack(&wire);
        }

        #[test]
        fn arbitrary_bytes_after_the_preface_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..300),
            with_settings in any::<bool>(),
        ) {
            let mut wire = HTTP2_PREFACE.to_vec();
            if with_settings {
                wire.extend(EMPTY_SETTINGS);
            }
            wire.extend(tail);
            check_monotone(0, &http2_header(":method", "GET"), &wire);
            check_monotone(1, &grpc(), &wire);
            let _ = http2_request(&wire);
            let _ = grpc().send_settings().reply(&wire);
            let _ = grpc().send_settings().reply_ack(&wire);
        }

        #[test]
        fn arbitrary_bytes_never_panic(wire in proptest::collection::vec(any::<u8>(), 0..300)) {
            check_monotone(0, &http2_header(":method", "GET"), &wire);
            let _ = http2_request(&wire);
        }

        #[test]
        fn inputs_past_the_bound_are_decided(
            filler in proptest::collection::vec(any::<u8>(), 0..40),
            frame_kind in prop_oneof![Just(FRAME_PING), Just(0xfau8)],
        ) {
            let filler_frame = if frame_kind == FRAME_PING {
                frame(FRAME_PING, 0, 0, &[0; 8])
            } else {
                frame(frame_kind, 0, 0, &filler)
            };
            let mut wire = connection(&[]);
            while wire.len() < HTTP2_HEADERS_LIMIT {
                wire.extend(&filler_frame);
            }
            prop_assert_ne!(http2_header(":method", "GET").verdict(&wire), NeedMore);
            let mut padded_filler = HTTP2_PREFACE.to_vec();
            padded_filler.extend(&filler);
            padded_filler.resize(HTTP2_HEADERS_LIMIT, 0);
            prop_assert_ne!(grpc().verdict(&padded_filler), NeedMore);
        }
    }
}
