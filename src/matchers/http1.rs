//! HTTP/1 requests: by method alone (cmux's `HTTP1Fast`), by a complete
//! request line (cmux's `HTTP1`), by a header field (cmux's
//! `HTTP1HeaderField` and `HTTP1HeaderFieldPrefix`), and WebSocket opening
//! handshakes; plus [`http1_request`], which reads the request line and
//! `Host` out of sniffed bytes.
//!
//! The request head read here (RFC 9112 sections 2.2, 3 and 5; RFC 9110
//! sections 5.5 and 5.6.2):
//!
//! ```text
//! head           = request-line *field-line line-ending
//! request-line   = method SP request-target SP HTTP-version line-ending
//! method         = token                     (any, not only registered ones)
//! token          = 1*tchar                   ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~
//! request-target = origin-form               "/where?q=1"
//!                / absolute-form             "http://www.w3.org/"   (to proxies)
//!                / authority-form            "example.com:443"      (CONNECT)
//!                / asterisk-form             "*"                    (OPTIONS)
//! HTTP-version   = "HTTP/1." DIGIT
//! field-line     = field-name ":" OWS field-value OWS line-ending
//! field-name     = token                     (compared case-insensitively)
//! field-value    = *( SP / HTAB / VCHAR / obs-text )
//! line-ending    = CRLF / LF                 (a bare LF is allowed, a bare CR is not)
//! ```
//!
//! Every matcher here walks the head with one parser (`Head`) and says
//! `NoMatch` at the first byte that breaks this grammar. A field line that
//! starts with SP or HTAB (obs-fold, RFC 9112 section 5.2, or whitespace
//! before the first field, section 2.2) is invalid, so a field is only
//! complete once the first byte of the next line has arrived and shown
//! that its value does not continue there.
//!
//! `Host` is the one field a request must not repeat: "A server MUST
//! respond with a 400 (Bad Request) status code to any HTTP/1.1 request
//! message that lacks a Host header field and to any request message that
//! contains more than one Host header field line" (RFC 9112 section 3.2).
//! Go's `net/http` ("too many Host headers") and nginx ("client sent
//! duplicate host header") do answer 400; a router that picked one of the
//! two would route by a host that a backend picking the other one does not
//! serve. So here a request with two `Host` field lines has no host: the
//! `Host` matchers and [`http1_request`] read the whole head before they
//! report one.

use std::fmt;

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};
use crate::matchers::prefix::{prefix_verdict, prefixes, PrefixSet};

/// Every method in the IANA HTTP Method Registry (RFC 9110 section 9,
/// RFC 7237, RFC 5789 for PATCH, and QUERY) except `PRI`, which only opens
/// the HTTP/2 preface, and the reserved `*`.
pub const HTTP_METHODS: &[&str] = &[
    "ACL",
    "BASELINE-CONTROL",
    "BIND",
    "CHECKIN",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LABEL",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MKREDIRECTREF",
    "MKWORKSPACE",
    "MOVE",
    "OPTIONS",
    "ORDERPATCH",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PUT",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "TRACE",
    "UNBIND",
    "UNCHECKOUT",
    "UNLINK",
    "UNLOCK",
    "UPDATE",
    "UPDATEREDIRECTREF",
    "VERSION-CONTROL",
];

/// Matches an HTTP/1 request by its method; see [`http1_fast`].
#[derive(Debug, Clone)]
pub struct Http1Fast {
    methods_with_space: PrefixSet,
}

/// A matcher for HTTP/1 requests whose method is one of [`HTTP_METHODS`].
///
/// It matches once the method and the space after it have arrived, and
/// says `NoMatch` at the first byte that no method allows, so a binary
/// protocol routed after it is decided from its first byte.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http1_fast;
///
/// assert_eq!(http1_fast().verdict(b"PATCH /item/7 HTTP/1.1\r\n"), Verdict::Match);
/// assert_eq!(http1_fast().verdict(b"PAT"), Verdict::NeedMore);
/// assert_eq!(http1_fast().verdict(b"\x05\x01\x00"), Verdict::NoMatch);
/// ```
pub fn http1_fast() -> Http1Fast {
    http1_methods(HTTP_METHODS)
}

/// A matcher for HTTP/1 requests whose method is one of `methods` (each is
/// matched followed by a space, case-sensitively as RFC 9110 requires).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::{http1_methods, HTTP_METHODS};
///
/// let with_purge = http1_methods(HTTP_METHODS.iter().copied().chain(["PURGE"]));
/// assert_eq!(with_purge.verdict(b"PURGE /cache HTTP/1.1\r\n"), Verdict::Match);
/// let reads_only = http1_methods(["GET", "HEAD"]);
/// assert_eq!(reads_only.verdict(b"POST / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn http1_methods<I, S>(methods: I) -> Http1Fast
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let with_space = methods.into_iter().map(|method| {
        let mut bytes = method.as_ref().as_bytes().to_vec();
        bytes.push(b' ');
        bytes
    });
    Http1Fast {
        methods_with_space: prefixes(with_space),
    }
}

impl Matcher for Http1Fast {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self.methods_with_space.verdict(seen)
    }
}

/// The field a request may carry once at most (RFC 9112 section 3.2).
const HOST: &[u8] = b"host";

/// The longest request line, line ending included, that [`http1`] and the
/// head parser accept: 8 KiB, the minimum RFC 9112 section 3 recommends
/// every recipient support ("request-line lengths of 8000 octets").
pub const MAX_REQUEST_LINE_BYTES: usize = 8 * 1024;

/// The default bound on a request head (request line and field lines) for
/// [`http1_header`], [`http1_header_prefix`], [`websocket`] and
/// [`http1_request`]: 16 KiB, as the sniffer's default
/// [`max_sniff_bytes`](crate::MuxBuilder::max_sniff_bytes), and enough for
/// browser requests with cookies.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 * 1024;

/// Matches a complete, valid HTTP/1 request line; see [`http1`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Http1;

/// A matcher for HTTP/1 requests by their whole request line (cmux's
/// `HTTP1`).
///
/// The method may be any token, the target any of the four forms, the
/// version `HTTP/1.0` to `HTTP/1.9`. It says `Match` once the line ending
/// (CRLF or a bare LF) has arrived and `NoMatch` at the first byte that
/// breaks the grammar, or when no line ending has arrived within
/// [`MAX_REQUEST_LINE_BYTES`]. Unlike [`http1_fast`] it needs no table of
/// methods, so extension methods match, and it still rejects the HTTP/2
/// preface (at the `2` of `HTTP/2.0`).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http1;
///
/// assert_eq!(http1().verdict(b"GET /index.html HTTP/1.1\r\nHost: a\r\n"), Verdict::Match);
/// assert_eq!(http1().verdict(b"PURGE /cache HTTP/1.0\n"), Verdict::Match);
/// assert_eq!(http1().verdict(b"GET /index.html HTTP/1.1"), Verdict::NeedMore);
/// assert_eq!(http1().verdict(b"PRI * HTTP/2"), Verdict::NoMatch);
/// assert_eq!(http1().verdict(b"GET /a b"), Verdict::NoMatch);
/// ```
pub fn http1() -> Http1 {
    Http1
}

impl Matcher for Http1 {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match Head::new(seen, MAX_REQUEST_LINE_BYTES).request_line() {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// Matches an HTTP/1 request by the value of one header field; see
/// [`http1_header`] and [`http1_header_prefix`].
#[derive(Debug, Clone)]
pub struct Http1Header {
    name: Box<[u8]>,
    value: Box<[u8]>,
    /// Whether the field's value must be `value` itself, not only start
    /// with it.
    whole_value: bool,
    max_head_bytes: usize,
}

/// A matcher for HTTP/1 requests whose first `name` header field has the
/// value `value` (cmux's `HTTP1HeaderField`).
///
/// Names compare ASCII-case-insensitively, values exactly, without the
/// optional whitespace around them. The first field with that name
/// decides, as Go's `Header.Get` does: `Match` once it is complete and
/// equal, `NoMatch` once it is complete and different. `Host` is the
/// exception: RFC 9112 section 3.2 makes a request with more than one
/// `Host` field line invalid (a server must answer 400), so an equal
/// `Host` matches only once the head has ended without a second one, and
/// a second one is `NoMatch`; [`http1_request`] reads the host by the same
/// rule.
/// The request is `NoMatch` when its head ends without the field, at the
/// first byte that breaks the grammar before the field (or, for `Host`,
/// before the end of the head), and when the head has not ended within
/// [`DEFAULT_MAX_HEAD_BYTES`] (see
/// [`max_head_bytes`](Http1Header::max_head_bytes)): it gives up with no
/// match past the bound instead of reading an unbounded header block. A
/// `name` that is not a token, or a `value` with whitespace at either end,
/// never matches.
///
/// A field is complete once the first byte of the line after it has
/// arrived (it could otherwise continue as an obs-fold line).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http1_header;
///
/// let tests = http1_header("X-Test", "yes");
/// assert_eq!(tests.verdict(b"GET / HTTP/1.1\r\nx-test:  yes \r\n\r\n"), Verdict::Match);
/// assert_eq!(tests.verdict(b"GET / HTTP/1.1\r\nX-Test: yes\r\n"), Verdict::NeedMore);
/// assert_eq!(tests.verdict(b"GET / HTTP/1.1\r\nX-Test: no\r\nX-Test: yes\r\n"), Verdict::NoMatch);
/// assert_eq!(tests.verdict(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Verdict::NoMatch);
///
/// let host = http1_header("Host", "a");
/// assert_eq!(host.verdict(b"GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n"), Verdict::NeedMore);
/// assert_eq!(host.verdict(b"GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"), Verdict::Match);
/// assert_eq!(host.verdict(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), Verdict::NoMatch);
/// ```
pub fn http1_header(name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Http1Header {
    Http1Header {
        name: name.as_ref().into(),
        value: value.as_ref().into(),
        whole_value: true,
        max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
    }
}

/// A matcher for HTTP/1 requests whose first `name` header field has a
/// value starting with `prefix` (cmux's `HTTP1HeaderFieldPrefix`).
///
/// It decides as [`http1_header`] does, comparing only the start of the
/// value (after the optional whitespace before it).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http1_header_prefix;
///
/// let grpc_web = http1_header_prefix("content-type", "application/grpc-web");
/// let request = b"POST /Svc/Call HTTP/1.1\r\nContent-Type: application/grpc-web+proto\r\n\r\n";
/// assert_eq!(grpc_web.verdict(request), Verdict::Match);
/// let form = b"POST /form HTTP/1.1\r\nContent-Type: text/plain\r\n\r\n";
/// assert_eq!(grpc_web.verdict(form), Verdict::NoMatch);
/// ```
pub fn http1_header_prefix(name: impl AsRef<[u8]>, prefix: impl AsRef<[u8]>) -> Http1Header {
    Http1Header {
        whole_value: false,
        ..http1_header(name, prefix)
    }
}

impl Http1Header {
    /// Sets the bound on the request head, request line included, past
    /// which the matcher says `NoMatch` (default [`DEFAULT_MAX_HEAD_BYTES`]).
    ///
    /// The request line is also bounded by [`MAX_REQUEST_LINE_BYTES`].
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::http1_header;
    ///
    /// let tests = http1_header("X-Test", "yes").max_head_bytes(32);
    /// let request = b"GET / HTTP/1.1\r\nCookie: a=1; b=2\r\nX-Test: yes\r\n\r\n";
    /// assert_eq!(tests.verdict(&request[..31]), Verdict::NeedMore);
    /// assert_eq!(tests.verdict(&request[..32]), Verdict::NoMatch);
    /// ```
    pub fn max_head_bytes(mut self, bytes: usize) -> Self {
        self.max_head_bytes = bytes;
        self
    }

    fn accepts(&self, value: &[u8]) -> bool {
        if self.whole_value {
            value == &self.value[..]
        } else {
            value.starts_with(&self.value)
        }
    }
}

impl Matcher for Http1Header {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        let mut head = Head::new(seen, self.max_head_bytes);
        let found = head
            .request_line()
            .and_then(|_| head.find_field(&self.name));
        match found {
            Ok(Some(value)) if self.accepts(value) => head
                .ends_without_repeating(&self.name)
                .map_or_else(Verdict::from, |()| Verdict::Match),
            Ok(_) => Verdict::NoMatch,
            Err(stop) => stop.into(),
        }
    }
}

/// Matches a WebSocket opening handshake; see [`websocket`].
#[derive(Debug, Clone)]
pub struct WebSocket {
    max_head_bytes: usize,
}

/// A matcher for WebSocket opening handshakes (RFC 6455 section 4.1): a
/// `GET` request, HTTP/1.1 or later, with an `Upgrade` field listing
/// `websocket` and a `Connection` field listing `upgrade`.
///
/// Tokens compare case-insensitively, and every `Upgrade` and `Connection`
/// field counts, each a comma-separated list. It says `Match` as soon as
/// both fields are complete, `NoMatch` at the first byte of another
/// method, at an HTTP/1.0 request line, at the first byte that breaks the
/// grammar, at the end of a head without them, and when the head has not
/// ended within [`DEFAULT_MAX_HEAD_BYTES`] (see
/// [`max_head_bytes`](WebSocket::max_head_bytes)). The other handshake
/// fields (`Sec-WebSocket-Key`, `Sec-WebSocket-Version`) are the server's
/// to check.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::websocket;
///
/// let handshake = b"GET /chat HTTP/1.1\r\nHost: example.com\r\n\
///     Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\
///     Sec-WebSocket-Version: 13\r\n\r\n";
/// assert_eq!(websocket().verdict(handshake), Verdict::Match);
/// assert_eq!(websocket().verdict(b"POST"), Verdict::NoMatch);
/// let h2c = b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
/// assert_eq!(websocket().verdict(h2c), Verdict::NoMatch);
/// ```
pub fn websocket() -> WebSocket {
    WebSocket {
        max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
    }
}

impl WebSocket {
    /// Sets the bound on the request head, request line included, past
    /// which the matcher says `NoMatch` (default [`DEFAULT_MAX_HEAD_BYTES`]).
    pub fn max_head_bytes(mut self, bytes: usize) -> Self {
        self.max_head_bytes = bytes;
        self
    }

    fn upgrade_requested(&self, seen: &[u8]) -> Result<bool, Stop> {
        let mut head = Head::new(seen, self.max_head_bytes);
        let line = head.request_line()?;
        require(line.method == b"GET" && line.minor_version >= 1)?;
        let mut upgrade_websocket = false;
        let mut connection_upgrade = false;
        while let Some(field) = head.next_field()? {
            if field.name.eq_ignore_ascii_case(b"upgrade") {
                upgrade_websocket |= lists_token(field.value, b"websocket");
            } else if field.name.eq_ignore_ascii_case(b"connection") {
                connection_upgrade |= lists_token(field.value, b"upgrade");
            }
            if upgrade_websocket && connection_upgrade {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Matcher for WebSocket {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        // Another method is ruled out at its first byte, not at its space.
        if prefix_verdict(seen, b"GET ") == Verdict::NoMatch {
            return Verdict::NoMatch;
        }
        match self.upgrade_requested(seen) {
            Ok(upgrade) => Verdict::from_bool(upgrade),
            Err(stop) => stop.into(),
        }
    }
}

/// Whether a comma-separated field value (RFC 9110 section 5.6.1) lists
/// `token`, compared case-insensitively; empty elements are allowed.
fn lists_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&byte| byte == b',')
        .any(|element| element.trim_ascii().eq_ignore_ascii_case(token))
}

/// What the request line and `Host` field of an HTTP/1 request say; see
/// [`http1_request`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Http1Request {
    /// The method, such as `GET` or `CONNECT`.
    pub method: String,
    /// The request target as sent: `/path?query`, `http://host/path`,
    /// `host:port` or `*`.
    pub target: String,
    /// The minor version: 1 for `HTTP/1.1`, 0 for `HTTP/1.0`.
    pub minor_version: u8,
    /// The value of the `Host` field, without the whitespace around it,
    /// if the head has ended in the bytes given with exactly one (see
    /// [`http1_request`]).
    pub host: Option<String>,
}

impl fmt::Display for Http1Request {
    /// Writes the request line, without its line ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} HTTP/1.{}",
            self.method, self.target, self.minor_version
        )
    }
}

/// Reads the request line and `Host` field of the HTTP/1 request at the
/// start of `seen`, or `None` when `seen` does not start with a complete,
/// valid request line (as [`http1`] judges it).
///
/// `host` is the value of the `Host` field once the whole head, up to the
/// empty line that ends it, is in `seen` within [`DEFAULT_MAX_HEAD_BYTES`]
/// and valid; it is `None` when the head has not ended yet, has no `Host`
/// field, or has two: RFC 9112 section 3.2 makes such a request invalid,
/// Go's `net/http` and nginx refuse it, and a router that picked one of
/// the two could disagree with a backend that picks the other. So a host
/// once read never changes as more bytes arrive, and it is the host the
/// `Host` matchers ([`http1_header`], [`http1_header_prefix`]) compare. Non-UTF-8 bytes in the host become U+FFFD.
///
/// ```
/// use connmux::matchers::http1_request;
///
/// let seen = b"GET http://www.w3.org/ HTTP/1.1\r\nHost: www.w3.org\r\n\r\n";
/// let request = http1_request(seen).unwrap();
/// assert_eq!(request.method, "GET");
/// assert_eq!(request.target, "http://www.w3.org/");
/// assert_eq!(request.minor_version, 1);
/// assert_eq!(request.host.as_deref(), Some("www.w3.org"));
/// assert_eq!(request.to_string(), "GET http://www.w3.org/ HTTP/1.1");
/// assert_eq!(http1_request(b"GET / HTTP/1.1\r\n").unwrap().host, None);
/// let two_hosts = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
/// assert_eq!(http1_request(two_hosts).unwrap().host, None);
/// assert_eq!(http1_request(b"GET / HTTP/1.1"), None);
/// ```
pub fn http1_request(seen: &[u8]) -> Option<Http1Request> {
    let mut head = Head::new(seen, DEFAULT_MAX_HEAD_BYTES);
    let line = head.request_line().ok()?;
    let host = head
        .find_field(HOST)
        .and_then(|host| head.ends_without_repeating(HOST).map(|()| host));
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Some(Http1Request {
        method: text(line.method),
        target: text(line.target),
        minor_version: line.minor_version,
        host: host.ok().flatten().map(text),
    })
}

/// The parts of a request line (RFC 9112 section 3).
#[derive(Debug, Clone, Copy)]
struct RequestLine<'a> {
    method: &'a [u8],
    target: &'a [u8],
    minor_version: u8,
}

/// One field line (RFC 9112 section 5): its name as sent and its value
/// without the optional whitespace around it.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

/// A reader of a request head within a byte bound: the request line, then
/// one field line at a time, without copying.
///
/// Its methods return `Stop::Short` only while more bytes could complete
/// what they read within the bound; once the input reaches the bound,
/// running out of bytes is `Stop::Invalid`.
#[derive(Debug)]
struct Head<'a> {
    cursor: Cursor<'a>,
    /// How many bytes of the head the cursor reads: `seen` cut at the
    /// bound.
    length: usize,
    /// Whether `seen` reaches the bound, so that no byte after the cut can
    /// ever be read.
    at_bound: bool,
}

impl<'a> Head<'a> {
    /// A reader of the head at the start of `seen`, giving up at
    /// `max_head_bytes`.
    fn new(seen: &'a [u8], max_head_bytes: usize) -> Self {
        let within = seen.get(..max_head_bytes).unwrap_or(seen);
        Head {
            cursor: Cursor::new(within),
            length: within.len(),
            at_bound: seen.len() >= max_head_bytes,
        }
    }

    /// Reads the request line, which must end within
    /// [`MAX_REQUEST_LINE_BYTES`].
    fn request_line(&mut self) -> Result<RequestLine<'a>, Stop> {
        match read_request_line(&mut self.cursor) {
            Ok(line) => {
                require(self.length - self.cursor.remaining() <= MAX_REQUEST_LINE_BYTES)?;
                Ok(line)
            }
            // Short: no valid line ends within what has arrived, so
            // it would end past the line bound.
            Err(Stop::Short) if self.length >= MAX_REQUEST_LINE_BYTES => Err(Stop::Invalid),
            Err(stop) => Err(self.past_bound(stop)),
        }
    }

    /// Reads the next complete field line, or the empty line that ends the
    /// head (`None`).
    fn next_field(&mut self) -> Result<Option<Field<'a>>, Stop> {
        self.read_field().map_err(|stop| self.past_bound(stop))
    }

    /// The value of the first field named `name` (compared
    /// case-insensitively) from here on, or `None` when the head ends
    /// without one.
    fn find_field(&mut self, name: &[u8]) -> Result<Option<&'a [u8]>, Stop> {
        while let Some(field) = self.next_field()? {
            if field.name.eq_ignore_ascii_case(name) {
                return Ok(Some(field.value));
            }
        }
        Ok(None)
    }

    /// After the first field named `name`: for `Host`, which a valid
    /// request has at most once, reads the rest of the head and is `Ok`
    /// once it has ended without another; for any other name, `Ok` at
    /// once.
    fn ends_without_repeating(&mut self, name: &[u8]) -> Result<(), Stop> {
        if !name.eq_ignore_ascii_case(HOST) {
            return Ok(());
        }
        while let Some(field) = self.next_field()? {
            require(!field.name.eq_ignore_ascii_case(HOST))?;
        }
        Ok(())
    }

    fn read_field(&mut self) -> Result<Option<Field<'a>>, Stop> {
        if matches!(self.line_start()?, b'\r' | b'\n') {
            line_ending(&mut self.cursor)?;
            return Ok(None);
        }
        let name = self.cursor.take_while(is_tchar);
        require(self.cursor.u8()? == b':' && !name.is_empty())?;
        let value = self.cursor.take_while(is_field_value_byte);
        line_ending(&mut self.cursor)?;
        self.line_start()?;
        // The value holds no CR, LF or other control but HTAB, so ASCII
        // whitespace here is OWS.
        let value = value.trim_ascii();
        Ok(Some(Field { name, value }))
    }

    /// The first byte of the next line, which must not be SP or HTAB: an
    /// obs-fold line (RFC 9112 section 5.2), or whitespace before the first
    /// field (section 2.2), makes the request invalid.
    fn line_start(&self) -> Result<u8, Stop> {
        let first = self.cursor.peek()?;
        require(first != b' ' && first != b'\t')?;
        Ok(first)
    }

    fn past_bound(&self, stop: Stop) -> Stop {
        if stop == Stop::Short && self.at_bound {
            Stop::Invalid
        } else {
            stop
        }
    }
}

fn read_request_line<'a>(cursor: &mut Cursor<'a>) -> Result<RequestLine<'a>, Stop> {
    let method = cursor.take_while(is_tchar);
    require(cursor.u8()? == b' ' && !method.is_empty())?;
    let target = cursor.take_while(|byte| byte.is_ascii_graphic());
    require(target_may_continue(target))?;
    require(cursor.u8()? == b' ' && target_is_complete(target))?;
    for &expected in b"HTTP/1." {
        require(cursor.u8()? == expected)?;
    }
    let minor_digit = cursor.u8()?;
    require(minor_digit.is_ascii_digit())?;
    line_ending(cursor)?;
    Ok(RequestLine {
        method,
        target,
        minor_version: minor_digit - b'0',
    })
}

/// Reads CRLF or a bare LF (RFC 9112 section 2.2); a CR without LF is
/// invalid.
fn line_ending(cursor: &mut Cursor<'_>) -> Result<(), Stop> {
    match cursor.u8()? {
        b'\n' => Ok(()),
        b'\r' => require(cursor.u8()? == b'\n'),
        _ => Err(Stop::Invalid),
    }
}

/// Whether `target` can begin a request-target (RFC 9112 section 3.2):
/// origin-form starts with `/`, asterisk-form is `*` alone, absolute-form
/// starts with a scheme's letter, authority-form with a host's letter,
/// digit or `[`.
fn target_may_continue(target: &[u8]) -> bool {
    match target.first() {
        None | Some(b'/') => true,
        Some(b'*') => target.len() == 1,
        Some(&first) => first.is_ascii_alphanumeric() || first == b'[',
    }
}

/// Whether a whole request-target has one of the four forms: absolute-form
/// needs the `:` after its scheme, authority-form the one before its port.
/// The form is not checked against the method.
fn target_is_complete(target: &[u8]) -> bool {
    match target.first() {
        None => false,
        Some(b'/' | b'*') => true,
        Some(_) => target.contains(&b':'),
    }
}

/// A token character (RFC 9110 section 5.6.2).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A byte of a field value or the whitespace around it: SP, HTAB, VCHAR
/// or obs-text (RFC 9110 section 5.5).
fn is_field_value_byte(byte: u8) -> bool {
    byte == b' ' || byte == b'\t' || byte.is_ascii_graphic() || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal::check_monotone;
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    #[test]
    fn every_method_matches_with_a_space() {
        for method in HTTP_METHODS {
            let line = format!("{method} / HTTP/1.1\r\n");
            assert_eq!(http1_fast().verdict(line.as_bytes()), Match, "{method}");
            assert_eq!(
                http1_fast().verdict(method.as_bytes()),
                NeedMore,
                "{method}"
            );
        }
    }

    #[test]
    fn decides_at_first_impossible_byte() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (b"G", NeedMore),
            (b"GET", NeedMore),
            (b"GET /", Match),
            (b"GETS", NoMatch),
            (b"get /", NoMatch),
            (b"PRI * HTTP/2.0", NoMatch),
            (b"\x16\x03\x01", NoMatch),
            (b"SSH-2.0-", NoMatch),
            (b"M", NeedMore),
            (b"MK", NeedMore),
            (b"MKCOL ", Match),
            (b"Z", NoMatch),
        ];
        for (seen, want) in cases {
            assert_eq!(http1_fast().verdict(seen), *want, "{seen:?}");
        }
    }

    // Requests recorded by a Python socket on 127.0.0.1 from curl 7.88.1
    // and Python 3.11, byte for byte.

    /// `curl -s http://127.0.0.1:46573/path -H 'X-Test: yes'`
    const CURL_GET: &[u8] = b"GET /path HTTP/1.1\r\nHost: 127.0.0.1:46573\r\n\
        User-Agent: curl/7.88.1\r\nAccept: */*\r\nX-Test: yes\r\n\r\n";
    /// `curl -s -H 'Connection: Upgrade' -H 'Upgrade: websocket'
    /// -H 'Sec-WebSocket-Version: 13'
    /// -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' http://127.0.0.1:46573/chat`
    const CURL_WEBSOCKET: &[u8] = b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:46573\r\n\
        User-Agent: curl/7.88.1\r\nAccept: */*\r\nConnection: Upgrade\r\n\
        Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    /// `curl -s -0 http://127.0.0.1:33519/old`
    const CURL_HTTP10: &[u8] = b"GET /old HTTP/1.0\r\nHost: 127.0.0.1:33519\r\n\
        User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
    /// `curl -s -x http://127.0.0.1:33519 http://www.w3.org/`
    const CURL_PROXY: &[u8] = b"GET http://www.w3.org/ HTTP/1.1\r\nHost: www.w3.org\r\n\
        User-Agent: curl/7.88.1\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n";
    /// `curl -s -p -x http://127.0.0.1:33519 https://example.com/`
    const CURL_CONNECT: &[u8] = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
        User-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n";
    /// `urllib.request.urlopen('http://127.0.0.1:33519/q?a=1&b=%20')`
    const PYTHON_URLLIB: &[u8] = b"GET /q?a=1&b=%20 HTTP/1.1\r\nAccept-Encoding: identity\r\n\
        Host: 127.0.0.1:33519\r\nUser-Agent: Python-urllib/3.11\r\nConnection: close\r\n\r\n";

    const CAPTURES: &[&[u8]] = &[
        CURL_GET,
        CURL_WEBSOCKET,
        CURL_HTTP10,
        CURL_PROXY,
        CURL_CONNECT,
        PYTHON_URLLIB,
    ];

    /// Asserts that `matcher` says `NeedMore` on every strict prefix of
    /// `input` and `want` on all of it: it decides at the last byte.
    fn assert_decided_at_last_byte(matcher: &dyn Matcher, input: &[u8], want: Verdict) {
        for end in 0..input.len() {
            assert_eq!(
                matcher.verdict(&input[..end]),
                NeedMore,
                "{} of \"{}\"",
                end,
                input.escape_ascii()
            );
        }
        assert_eq!(matcher.verdict(input), want, "\"{}\"", input.escape_ascii());
    }

    /// The request line grammar read naively on a whole first line: `None`
    /// while no LF has arrived.
    fn naive_request_line(seen: &[u8]) -> Option<bool> {
        let end = seen.iter().position(|&b| b == b'\n')?;
        let line = seen[..end].strip_suffix(b"\r").unwrap_or(&seen[..end]);
        let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let [method, target, version] = words[..] else {
            return Some(false);
        };
        let token = !method.is_empty()
            && method
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let target_form = target == b"*"
            || target.starts_with(b"/")
            || target
                .first()
                .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'[')
                && target.contains(&b':');
        let target_ok = target_form && target.iter().all(u8::is_ascii_graphic);
        let version_ok =
            version.len() == 8 && version.starts_with(b"HTTP/1.") && version[7].is_ascii_digit();
        Some(token && target_ok && version_ok && end < MAX_REQUEST_LINE_BYTES)
    }

    #[test]
    fn request_line_decides_at_its_end_or_first_bad_byte() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"GET / HTTP/1.1\r\n", Match),
            (b"GET /path?q=1&r=%20 HTTP/1.1\n", Match),
            (b"GET /old HTTP/1.0\r\n", Match),
            (b"GET / HTTP/1.9\n", Match),
            (b"GET http://www.w3.org/ HTTP/1.1\r\n", Match),
            (b"CONNECT example.com:443 HTTP/1.1\r\n", Match),
            (b"CONNECT 127.0.0.1:8080 HTTP/1.1\r\n", Match),
            (b"CONNECT [2001:db8::1]:443 HTTP/1.1\r\n", Match),
            (b"OPTIONS * HTTP/1.1\r\n", Match),
            (b"M-SEARCH * HTTP/1.1\r\n", Match),
            (b"PURGE /cache HTTP/1.1\r\n", Match),
            // Methods are case-sensitive, but any token is one.
            (b"get / HTTP/1.1\r\n", Match),
            (b"\x16", NoMatch),
            (b" ", NoMatch),
            // RFC 9112 section 2.2 lets a server skip empty lines before a
            // request line; at the start of a connection there are none.
            (b"\r", NoMatch),
            (b"\n", NoMatch),
            (b"GET\t", NoMatch),
            (b"GET  ", NoMatch),
            (b"GET /a\x00", NoMatch),
            (b"GET /a\t", NoMatch),
            (b"GET /\x7f", NoMatch),
            (b"GET /caf\xc3", NoMatch),
            (b"GET *x", NoMatch),
            (b"GET %", NoMatch),
            (b"GET ?", NoMatch),
            (b"GET www.example.com ", NoMatch),
            (b"GET / h", NoMatch),
            (b"GET / HTTP/2", NoMatch),
            (b"PRI * HTTP/2", NoMatch),
            (b"GET / HTTP/1.x", NoMatch),
            (b"GET / HTTP/1.1 ", NoMatch),
            (b"GET / HTTP/1.10", NoMatch),
            (b"GET / HTTP/1.1\x00", NoMatch),
            (b"GET / HTTP/1.1\r\r", NoMatch),
            (b"GET / HTTP/1.1\rx", NoMatch),
            (b"SSH-2.0-OpenSSH_9.2\r", NoMatch),
        ];
        for &(input, want) in cases {
            assert_decided_at_last_byte(&http1(), input, want);
            if input.ends_with(b"\n") {
                assert_eq!(naive_request_line(input), Some(want == Match));
            }
        }
        for capture in CAPTURES {
            let line_end = capture.iter().position(|&b| b == b'\n').unwrap();
            assert_decided_at_last_byte(&http1(), &capture[..=line_end], Match);
            assert_eq!(http1().verdict(capture), Match);
        }
    }

    #[test]
    fn request_line_is_bounded() {
        let line = |length: usize| {
            let mut line = b"GET /".to_vec();
            line.resize(length - b" HTTP/1.1\r\n".len(), b'a');
            line.extend(b" HTTP/1.1\r\n");
            line
        };
        let longest = line(MAX_REQUEST_LINE_BYTES);
        assert_eq!(
            http1().verdict(&longest[..MAX_REQUEST_LINE_BYTES - 1]),
            NeedMore
        );
        assert_eq!(http1().verdict(&longest), Match);
        let too_long = line(MAX_REQUEST_LINE_BYTES + 1);
        assert_eq!(
            http1().verdict(&too_long[..MAX_REQUEST_LINE_BYTES - 1]),
            NeedMore
        );
        assert_eq!(
            http1().verdict(&too_long[..MAX_REQUEST_LINE_BYTES]),
            NoMatch
        );
        assert_eq!(http1().verdict(&too_long), NoMatch);
        // The head bound of the other matchers does not lift the line's.
        let roomy = http1_header("X-Test", "yes").max_head_bytes(4 * MAX_REQUEST_LINE_BYTES);
        assert_eq!(roomy.verdict(&too_long), NoMatch);
        let mut fits = longest.clone();
        fits.extend(b"X-Test: yes\r\n\r\n");
        assert_eq!(roomy.verdict(&fits), Match);
    }

    #[test]
    fn header_field_decides_once_the_first_with_its_name_is_complete() {
        let x_test = http1_header("X-Test", "yes");
        let cases: &[(&[u8], Verdict)] = &[
            (b"GET / HTTP/1.1\r\nX-Test: yes\r\n\r", Match),
            (b"GET / HTTP/1.1\r\nx-tEST:yes\r\nA", Match),
            (b"GET / HTTP/1.1\r\nX-Test: \t yes \t\r\n\r", Match),
            (b"GET / HTTP/1.1\nHost: a\nX-Test: yes\n\n", Match),
            (b"HEAD / HTTP/1.0\r\nX-Test: yes\r\nX", Match),
            (
                b"GET / HTTP/1.1\r\nA: \xff\x80 b\r\nX-Test: yes\r\n\r",
                Match,
            ),
            (b"GET / HTTP/1.1\r\nX-Test: yes\r\nX", Match),
            (b"GET / HTTP/1.1\r\nX-Test: no\r\nX", NoMatch),
            (b"GET / HTTP/1.1\r\nX-Test: yess\r\n\r", NoMatch),
            (b"GET / HTTP/1.1\r\nX-Test: ye\r\n\r", NoMatch),
            (b"GET / HTTP/1.1\r\nX-Test: YES\r\n\r", NoMatch),
            (b"GET / HTTP/1.1\r\nX-Test: y es\r\n\r", NoMatch),
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", NoMatch),
            (b"GET / HTTP/1.1\n\n", NoMatch),
            // obs-fold, of the field itself or of an earlier one, and
            // whitespace before the first field.
            (b"GET / HTTP/1.1\r\nX-Test: yes\r\n ", NoMatch),
            (b"GET / HTTP/1.1\r\nA: b\r\n\t", NoMatch),
            (b"GET / HTTP/1.1\r\n ", NoMatch),
            (b"GET / HTTP/1.1\r\nX-\x00", NoMatch),
            (b"GET / HTTP/1.1\r\nA: b\x00", NoMatch),
            (b"GET / HTTP/1.1\r\nA: b\x7f", NoMatch),
            (b"GET / HTTP/1.1\r\nA: b\rc", NoMatch),
            (b"GET / HTTP/1.1\r\nX-Test ", NoMatch),
            (b"GET / HTTP/1.1\r\n:", NoMatch),
            (b"GET / HTTP/1.1\r\nX-Test\r", NoMatch),
            (b"GET / HTTP/1.1\r\n\r\r", NoMatch),
            (b"GET / HTTP/2", NoMatch),
            (b"\x16", NoMatch),
        ];
        for &(input, want) in cases {
            assert_decided_at_last_byte(&x_test, input, want);
        }
        assert_eq!(x_test.verdict(CURL_GET), Match);
        assert_eq!(x_test.verdict(CURL_WEBSOCKET), NoMatch);
        let curl = http1_header("user-agent", "curl/7.88.1");
        for capture in &CAPTURES[..5] {
            assert_eq!(curl.verdict(capture), Match);
        }
        assert_eq!(curl.verdict(PYTHON_URLLIB), NoMatch);
        assert_eq!(
            http1_header("Host", "www.w3.org").verdict(CURL_PROXY),
            Match
        );
        let empty = http1_header("X-Test", "");
        assert_eq!(empty.verdict(b"GET / HTTP/1.1\r\nX-Test: \t\r\n\r"), Match);
        assert_eq!(empty.verdict(b"GET / HTTP/1.1\r\nX-Test: a\r\n\r"), NoMatch);
    }

    #[test]
    fn host_decides_at_the_end_of_the_head_or_at_a_second_host() {
        let host = http1_header("Host", "a");
        let cases: &[(&[u8], Verdict)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Match),
            (b"GET / HTTP/1.1\nHost: a\nAccept: */*\n\n", Match),
            (b"GET / HTTP/1.1\r\nX: y\r\nhOST:a\r\nZ: z\r\n\r\n", Match),
            // The first Host decides a different value at once.
            (b"GET / HTTP/1.1\r\nHost: b\r\nH", NoMatch),
            // RFC 9112 section 3.2: two Host field lines make the request
            // invalid (a server answers 400), whatever the second says.
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r", NoMatch),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r", NoMatch),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nHOST: c\r\n\r",
                NoMatch,
            ),
            (b"GET / HTTP/1.1\r\nHost: a\r\nA\x00", NoMatch),
            (b"GET / HTTP/1.1\r\nHost: a\r\n ", NoMatch),
        ];
        for &(input, want) in cases {
            assert_decided_at_last_byte(&host, input, want);
        }
        let wrong_then_right = b"GET / HTTP/1.1\r\nHost: b\r\nHost: a\r\n\r\n";
        assert_eq!(host.verdict(wrong_then_right), NoMatch);
        let prefix = http1_header_prefix("host", "127.0.0.1:");
        assert_eq!(prefix.verdict(CURL_GET), Match);
        let repeated = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nHost: 127.0.0.1:1\r\n\r\n";
        assert_eq!(prefix.verdict(repeated), NoMatch);
        // Other fields may repeat: the first decides, as before.
        let x_test = http1_header("X-Test", "yes");
        let two = b"GET / HTTP/1.1\r\nX-Test: yes\r\nX-Test: no\r\n\r\n";
        assert_eq!(x_test.verdict(two), Match);
    }

    #[test]
    fn header_prefix_compares_the_start_of_the_value() {
        let grpc = http1_header_prefix("Content-Type", "application/grpc");
        let cases: &[(&[u8], Verdict)] = &[
            (
                b"POST / HTTP/1.1\r\ncontent-type: application/grpc+proto\r\n\r",
                Match,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Type:application/grpc \r\n\r",
                Match,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n\r",
                NoMatch,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Type: application/grp\r\n\r",
                NoMatch,
            ),
            (b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", NoMatch),
        ];
        for &(input, want) in cases {
            assert_decided_at_last_byte(&grpc, input, want);
        }
        let present = http1_header_prefix("X-Test", "");
        assert_eq!(present.verdict(b"GET / HTTP/1.1\r\nX-Test:\r\n\r"), Match);
        assert_eq!(present.verdict(CURL_GET), Match);
        assert_eq!(present.verdict(CURL_HTTP10), NoMatch);
    }

    #[test]
    fn head_is_bounded() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        while head.len() < 2 * DEFAULT_MAX_HEAD_BYTES {
            head.extend(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let cut = DEFAULT_MAX_HEAD_BYTES;
        for matcher in [
            &http1_header("X-Test", "yes") as &dyn Matcher,
            &http1_header_prefix("X-Test", ""),
            &websocket(),
        ] {
            assert_eq!(matcher.verdict(&head[..cut - 1]), NeedMore);
            assert_eq!(matcher.verdict(&head[..cut]), NoMatch);
            assert_eq!(matcher.verdict(&head), NoMatch);
        }
        assert_eq!(http1_request(&head).unwrap().host, None);

        // The field is complete (the next line's first byte has arrived)
        // exactly at the bound, or one byte past it.
        let request = b"GET / HTTP/1.1\r\nX-Pad: a\r\nX-Test: yes\r\n\r\n";
        let complete_at = request.len() - 1;
        let fits = http1_header("X-Test", "yes").max_head_bytes(complete_at);
        assert_decided_at_last_byte(&fits, &request[..complete_at], Match);
        let short = http1_header("X-Test", "yes").max_head_bytes(complete_at - 1);
        assert_decided_at_last_byte(&short, &request[..complete_at - 1], NoMatch);
        assert_eq!(
            http1_header("X-Test", "").max_head_bytes(0).verdict(b""),
            NoMatch
        );
        assert_eq!(websocket().max_head_bytes(0).verdict(b""), NoMatch);
    }

    #[test]
    fn websocket_needs_get_upgrade_and_connection() {
        let upgrade_at = CURL_WEBSOCKET
            .windows(22)
            .position(|w| w == b"Upgrade: websocket\r\nSe")
            .unwrap();
        let cases: &[(&[u8], Verdict)] = &[
            (&CURL_WEBSOCKET[..upgrade_at + 21], Match),
            (
                b"GET /chat HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r",
                Match,
            ),
            (b"GET / HTTP/1.1\nUpgrade: websocket\nConnection: UPGRADE\n\n", Match),
            (
                b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nUpgrade: h2c\r\n\
                  Connection: ,upgrade,\r\nUpgrade: foo, websocket\r\nX",
                Match,
            ),
            (b"P", NoMatch),
            (b"g", NoMatch),
            (b"GEX", NoMatch),
            (b"GET\t", NoMatch),
            (b"GET / HTTP/1.0\r\n", NoMatch),
            (
                b"GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
                  HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
                NoMatch,
            ),
            (b"GET / HTTP/1.1\r\nUpgrade: websocket/13\r\nConnection: upgrade\r\n\r\n", NoMatch),
            (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nX-Connection: upgrade\r\n\r\n", NoMatch),
            (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade-now\r\n\r\n", NoMatch),
            (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n ", NoMatch),
            (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\t", NoMatch),
        ];
        for &(input, want) in cases {
            assert_decided_at_last_byte(&websocket(), input, want);
        }
        assert_eq!(websocket().verdict(CURL_WEBSOCKET), Match);
        for capture in [
            CURL_GET,
            CURL_HTTP10,
            CURL_PROXY,
            CURL_CONNECT,
            PYTHON_URLLIB,
        ] {
            assert_eq!(websocket().verdict(capture), NoMatch);
        }
    }

    #[test]
    fn request_reads_line_and_first_host() {
        let request = |method: &str, target: &str, minor_version: u8, host: Option<&str>| {
            Some(Http1Request {
                method: method.into(),
                target: target.into(),
                minor_version,
                host: host.map(Into::into),
            })
        };
        let cases: &[(&[u8], Option<Http1Request>)] = &[
            (
                CURL_GET,
                request("GET", "/path", 1, Some("127.0.0.1:46573")),
            ),
            (
                CURL_HTTP10,
                request("GET", "/old", 0, Some("127.0.0.1:33519")),
            ),
            (
                CURL_PROXY,
                request("GET", "http://www.w3.org/", 1, Some("www.w3.org")),
            ),
            (
                CURL_CONNECT,
                request("CONNECT", "example.com:443", 1, Some("example.com:443")),
            ),
            (
                PYTHON_URLLIB,
                request("GET", "/q?a=1&b=%20", 1, Some("127.0.0.1:33519")),
            ),
            (b"OPTIONS * HTTP/1.1\n", request("OPTIONS", "*", 1, None)),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\n",
                request("GET", "/", 1, None),
            ),
            (
                b"GET / HTTP/1.1\r\nhOsT:  a \r\n\r\n",
                request("GET", "/", 1, Some("a")),
            ),
            // The head has not ended: a second Host could still come.
            (
                b"GET / HTTP/1.1\r\nHost: a\r\n\r",
                request("GET", "/", 1, None),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n",
                request("GET", "/", 1, None),
            ),
            // RFC 9112 section 3.2: a request with two Host field lines is
            // invalid, even when they agree or the second is empty.
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                request("GET", "/", 1, None),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: a\r\n\r\n",
                request("GET", "/", 1, None),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r\n",
                request("GET", "/", 1, None),
            ),
            // A byte that breaks the grammar after Host makes the request
            // invalid too.
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nA\x00: b\r\n\r\n",
                request("GET", "/", 1, None),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\xff\r\n\r\n",
                request("GET", "/", 1, Some("caf\u{e9}\u{fffd}")),
            ),
            (
                b"GET / HTTP/1.1\r\nA\x00: b\r\nHost: a\r\n\r\n",
                request("GET", "/", 1, None),
            ),
            (
                b"GET / HTTP/1.1\r\n\r\nHost: a\r\n\r\n",
                request("GET", "/", 1, None),
            ),
            (b"GET / HTTP/1.1", None),
            (b"GET / HTTP/2.0\r\n", None),
            (b"", None),
        ];
        for (input, want) in cases {
            assert_eq!(http1_request(input), *want, "\"{}\"", input.escape_ascii());
        }
        assert_eq!(
            http1_request(CURL_CONNECT).unwrap().to_string(),
            "CONNECT example.com:443 HTTP/1.1"
        );
    }

    /// Every matcher of this file, some with small head bounds, and each
    /// one's bound: any input that long gets a verdict.
    fn bounded_matchers(max_head_bytes: usize) -> Vec<(Box<dyn Matcher>, usize)> {
        vec![
            (Box::new(http1()), MAX_REQUEST_LINE_BYTES),
            (
                Box::new(http1_header("X-Test", "yes")),
                DEFAULT_MAX_HEAD_BYTES,
            ),
            (
                Box::new(http1_header_prefix("host", "127.")),
                DEFAULT_MAX_HEAD_BYTES,
            ),
            (Box::new(websocket()), DEFAULT_MAX_HEAD_BYTES),
            (
                Box::new(http1_header("x-test", "yes").max_head_bytes(max_head_bytes)),
                max_head_bytes,
            ),
            (
                Box::new(websocket().max_head_bytes(max_head_bytes)),
                max_head_bytes,
            ),
        ]
    }

    /// Checks every matcher's monotonicity and bound on `data`, and that
    /// `http1_request` never takes back what it read.
    fn check_invariants(data: &[u8], max_head_bytes: usize) {
        for (index, (matcher, bound)) in bounded_matchers(max_head_bytes).iter().enumerate() {
            check_monotone(index, matcher.as_ref(), data);
            if data.len() >= *bound {
                assert_ne!(
                    matcher.verdict(&data[..*bound]),
                    NeedMore,
                    "matcher {index}"
                );
            }
        }
        let mut read: Option<Http1Request> = None;
        for end in 0..=data.len() {
            let now = http1_request(&data[..end]);
            assert_eq!(now.is_some(), http1().verdict(&data[..end]) == Match);
            if let (Some(before), Some(now)) = (&read, &now) {
                assert_eq!(
                    (&before.method, &before.target, before.minor_version),
                    (&now.method, &now.target, now.minor_version)
                );
                if before.host.is_some() {
                    assert_eq!(before.host, now.host);
                }
            }
            read = now.or(read);
        }
    }

    /// A valid request head as fields and as bytes on the wire.
    #[derive(Debug, Clone)]
    struct GeneratedRequest {
        method: String,
        target: String,
        minor_version: u8,
        /// Names, and values without the whitespace around them.
        fields: Vec<(String, Vec<u8>)>,
        wire: Vec<u8>,
    }

    fn line_ending() -> impl Strategy<Value = &'static [u8]> {
        prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])]
    }

    fn ows() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(prop_oneof![Just(b' '), Just(b'\t')], 0..3)
    }

    fn field_name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}",
            Just("Host".to_string()),
            Just("hOST".to_string()),
            Just("X-Test".to_string()),
            Just("Upgrade".to_string()),
            Just("connection".to_string()),
        ]
    }

    /// A field value without the whitespace around it.
    fn field_value() -> impl Strategy<Value = Vec<u8>> {
        let value_byte = prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff, Just(b' '), Just(b'\t'),];
        let value = prop_oneof![
            proptest::collection::vec(value_byte, 0..12),
            Just(b"yes".to_vec()),
            Just(b"websocket".to_vec()),
            Just(b"keep-alive, Upgrade".to_vec()),
        ];
        value.prop_map(|value| value.trim_ascii().to_vec())
    }

    fn field() -> impl Strategy<Value = (String, Vec<u8>)> {
        (field_name(), field_value())
    }

    /// The value of the field `name` that the matchers and
    /// [`http1_request`] read among `fields`: the first, except that a
    /// second `Host` leaves none (RFC 9112 section 3.2).
    fn read_value<'a>(fields: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
        let mut named = fields
            .iter()
            .filter(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| &value[..]);
        let first = named.next();
        if name.eq_ignore_ascii_case("host") && named.next().is_some() {
            return None;
        }
        first
    }

    fn generated_request() -> impl Strategy<Value = GeneratedRequest> {
        let method = prop_oneof!["[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}", Just("GET".to_string()),];
        let target = prop_oneof![
            "/[!-~]{0,20}",
            Just("*".to_string()),
            "https?://[a-z0-9.]{1,10}(/[!-~]{0,10})?",
            "[a-z0-9][a-z0-9.-]{0,9}:[0-9]{1,5}",
            "\\[[0-9a-f:]{2,10}\\]:[0-9]{1,5}",
        ];
        let field_lines = proptest::collection::vec((field(), ows(), ows(), line_ending()), 0..8);
        // Half the requests repeat the name of one of their fields (Host
        // among them), with another value, possibly empty.
        let repeated_line = proptest::option::of((
            any::<proptest::sample::Index>(),
            field_value(),
            ows(),
            line_ending(),
        ));
        (
            method,
            target,
            0u8..10,
            line_ending(),
            field_lines,
            repeated_line,
            line_ending(),
        )
            .prop_map(
                |(
                    method,
                    target,
                    minor_version,
                    line_end,
                    mut field_lines,
                    repeated_line,
                    head_end,
                )| {
                    if let (Some((index, value, before, end)), false) =
                        (repeated_line, field_lines.is_empty())
                    {
                        let name = field_lines[index.index(field_lines.len())].0 .0.clone();
                        field_lines.push(((name, value), before, Vec::new(), end));
                    }
                    let mut wire = format!("{method} {target} HTTP/1.{minor_version}").into_bytes();
                    wire.extend(line_end);
                    let mut fields = Vec::new();
                    for ((name, value), before, after, end) in field_lines {
                        wire.extend(name.as_bytes());
                        wire.push(b':');
                        wire.extend(&before);
                        wire.extend(&value);
                        if !value.is_empty() {
                            wire.extend(&after);
                        }
                        wire.extend(end);
                        fields.push((name, value));
                    }
                    wire.extend(head_end);
                    GeneratedRequest {
                        method,
                        target,
                        minor_version,
                        fields,
                        wire,
                    }
                },
            )
    }

    /// Applies edits `(position, byte, kind)`: replace, insert or delete.
    fn mutate(mut data: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
        for &(position, byte, kind) in edits {
            let at = position % (data.len() + 1);
            match kind % 3 {
                0 if at < data.len() => data[at] = byte,
                1 => data.insert(at, byte),
                _ if at < data.len() => {
                    data.remove(at);
                }
                _ => {}
            }
        }
        data
    }

    proptest! {
        #[test]
        fn invariants_hold_on_arbitrary_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            max_head_bytes in 0usize..300,
        ) {
            check_invariants(&data, max_head_bytes);
        }

        #[test]
        fn invariants_hold_on_mutated_requests(
            capture in proptest::sample::select(CAPTURES),
            generated in generated_request(),
            use_capture in any::<bool>(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
            max_head_bytes in 0usize..300,
        ) {
            let valid = if use_capture { capture.to_vec() } else { generated.wire };
            check_invariants(&mutate(valid, &edits), max_head_bytes);
        }

        #[test]
        fn generated_requests_match(request in generated_request()) {
            let wire = &request.wire;
            check_invariants(wire, DEFAULT_MAX_HEAD_BYTES);
            prop_assert_eq!(http1().verdict(wire), Match);
            for (name, value) in &request.fields {
                let read = read_value(&request.fields, name);
                let shouted = name.to_ascii_uppercase();
                let want = Verdict::from_bool(read == Some(&value[..]));
                prop_assert_eq!(http1_header(&shouted, value).verdict(wire), want);
                let longer = [&value[..], b"x"].concat();
                let want = Verdict::from_bool(read == Some(&longer[..]));
                prop_assert_eq!(http1_header(name, &longer).verdict(wire), want);
                let start = &value[..value.len() / 2];
                let want = Verdict::from_bool(read.is_some_and(|v| v.starts_with(start)));
                prop_assert_eq!(http1_header_prefix(name, start).verdict(wire), want);
            }
            prop_assert_eq!(http1_header("X-Absent-Name", "").verdict(wire), NoMatch);
            let lists = |name: &str, token: &str| {
                request.fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).any(|(_, v)| {
                    String::from_utf8_lossy(v).split(',').any(|e| e.trim().eq_ignore_ascii_case(token))
                })
            };
            let handshake = request.method == "GET"
                && request.minor_version >= 1
                && lists("upgrade", "websocket")
                && lists("connection", "upgrade");
            prop_assert_eq!(websocket().verdict(wire), Verdict::from_bool(handshake));
            let read = http1_request(wire).unwrap();
            prop_assert_eq!(&read.method, &request.method);
            prop_assert_eq!(&read.target, &request.target);
            prop_assert_eq!(read.minor_version, request.minor_version);
            let host = read_value(&request.fields, "host").map(|v| String::from_utf8_lossy(v).into_owned());
            prop_assert_eq!(read.host, host);
        }

        #[test]
        fn request_line_agrees_with_naive(
            data in proptest::collection::vec(
                proptest::sample::select(&b"GET /*:a[HTP1.0 \r\n\t"[..]), 0..30),
        ) {
            let verdict = http1().verdict(&data);
            match naive_request_line(&data) {
                Some(valid) => prop_assert_eq!(verdict, Verdict::from_bool(valid)),
                None => prop_assert_ne!(verdict, Match),
            }
            if verdict == NoMatch {
                prop_assert_eq!(naive_request_line(&[&data[..], b"\n"].concat()), Some(false));
            }
        }

        #[test]
        fn long_heads_are_cut_at_the_bound(
            request in generated_request(),
            padding in proptest::collection::vec((field(), line_ending()), 1..60),
            max_head_bytes in 0usize..600,
        ) {
            let mut head = request.wire;
            // Drop the empty line that ends the head, then pad it.
            head.pop();
            if head.last() == Some(&b'\r') {
                head.pop();
            }
            for ((name, value), end) in padding {
                head.extend(name.as_bytes());
                head.push(b':');
                head.extend(value);
                head.extend(end);
            }
            check_invariants(&head, max_head_bytes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 32 }))]

        #[test]
        fn long_request_lines_are_cut_at_the_line_bound(
            target in proptest::collection::vec(
                0x21u8..=0x7e,
                MAX_REQUEST_LINE_BYTES - 40..MAX_REQUEST_LINE_BYTES,
            ),
            line_end in line_ending(),
        ) {
            let line = [&b"GET /"[..], &target, b" HTTP/1.1", line_end].concat();
            let fits = line.len() <= MAX_REQUEST_LINE_BYTES;
            prop_assert_eq!(http1().verdict(&line), Verdict::from_bool(fits));
            if line.len() > MAX_REQUEST_LINE_BYTES {
                prop_assert_eq!(http1().verdict(&line[..MAX_REQUEST_LINE_BYTES]), NoMatch);
            }
            let head = [&line[..], b"X-Test: yes\r\n\r\n"].concat();
            let x_test = http1_header("X-Test", "yes");
            prop_assert_eq!(x_test.verdict(&head), Verdict::from_bool(fits));
        }
    }
}
