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
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::websocket;
    ///
    /// let handshake = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nCookie: session=0123456789\r\n\
    ///     Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    /// assert_eq!(websocket().verdict(handshake), Verdict::Match);
    /// assert_eq!(websocket().max_head_bytes(64).verdict(handshake), Verdict::NoMatch);
    /// ```
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
///
/// Non-exhaustive: more of the request head (an `Upgrade` field, say) may
/// be added.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
mod tests;
