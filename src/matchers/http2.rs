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
#[non_exhaustive]
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
/// # Errors
///
/// [`Http2HeadersError::Incomplete`] while the preface, the frames before
/// the first HEADERS frame or the header block itself have not all
/// arrived; [`Invalid`](Http2HeadersError::Invalid) when the bytes are not
/// an HTTP/2 client's (a wrong preface, a frame or HPACK block that breaks
/// RFC 9113 or RFC 7541); [`FieldTooLong`](Http2HeadersError::FieldTooLong)
/// when a name or value is longer than 4096 bytes;
/// [`HeaderListTooLarge`](Http2HeadersError::HeaderListTooLarge) when the
/// list passes [`DEFAULT_MAX_HEADER_LIST_SIZE`].
///
/// # Examples
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
/// # Errors
///
/// As [`http2_request_headers`], with `max_header_list_size` as the limit
/// past which the list is [`Http2HeadersError::HeaderListTooLarge`].
///
/// # Examples
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
///
/// Non-exhaustive: more fields of the request (`:protocol` of an extended
/// CONNECT, say) may be added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
mod tests;
