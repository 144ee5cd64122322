//! XMPP clients and servers by the stream header that opens their XML
//! stream (RFC 6120 sections 4.7, 4.8 and 11):
//!
//! ```text
//! header       [ declaration *S ] "<stream:stream" 1*( S attribute ) *S ">"
//! declaration  "<?xml" S "version" Eq quoted("1.0")
//!              [ S "encoding" Eq quoted("UTF-8") ]
//!              [ S "standalone" Eq quoted("yes" / "no") ] *S "?>"
//! attribute    Name Eq ( "'" value "'" / DQUOTE value DQUOTE ), no "<"
//!              in a value
//! Eq           *S "=" *S
//! S            SP / HTAB / CR / LF
//!
//! xmlns         "jabber:client" (client to server, 4.8.2)
//!               or "jabber:server" (server to server)
//! xmlns:stream  "http://etherx.jabber.org/streams" (4.8.1)
//! to, from      the domains (or JIDs) of the two ends (4.7.1, 4.7.2)
//! version       "1.0"; absent from clients older than RFC 3920 (4.7.5)
//! xml:lang      the default language of the stream (4.7.4)
//! ```
//!
//! Section 11 keeps the stream simple: UTF-8 only (11.6), no comments,
//! processing instructions or DTD (11.1), so after the optional declaration
//! the stream header is the first thing sent. Clients write it in one go:
//! slixmpp without a declaration, Net::XMPP (sendxmpp) and go-sendxmpp
//! with one.

use crate::matcher::cursor::{require, within, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

/// The most bytes of a stream header, declaration included, the matcher
/// reads: past them it says `NoMatch`. Real headers take 130 to 170
/// (slixmpp, sendxmpp, go-sendxmpp); the bound leaves room for domains of
/// their 255 octets (RFC 7622 section 3.2) in both `to` and `from`.
pub const XMPP_MAX_HEADER_BYTES: usize = 1024;

const STREAM_ELEMENT: &[u8] = b"stream:stream";
const STREAM_NAMESPACES: &[&[u8]] = &[b"http://etherx.jabber.org/streams"];
const CLIENT_NAMESPACE: &[u8] = b"jabber:client";
const SERVER_NAMESPACE: &[u8] = b"jabber:server";
const CONTENT_NAMESPACES: &[&[u8]] = &[CLIENT_NAMESPACE, SERVER_NAMESPACE];
/// The XML declaration's pseudo-attributes, in the order XML 1.0 (section
/// 2.8) requires, with the values RFC 6120 allows (encoding names are
/// case-insensitive).
const DECLARATION: [(&[u8], Expected); 3] = [
    (b"version", Expected::OneOf(&[b"1.0"])),
    (b"encoding", Expected::OneOfIgnoringCase(&[b"UTF-8"])),
    (b"standalone", Expected::OneOf(&[b"yes", b"no"])),
];
/// The pseudo-attributes that may come next, by how many of
/// [`DECLARATION`]'s come before the last one read: `version` first, then
/// the others in order, each at most once.
const NEXT_IN_DECLARATION: [&[&[u8]]; 4] = [
    &[b"version"],
    &[b"encoding", b"standalone"],
    &[b"standalone"],
    &[],
];

/// Matches an XMPP stream header; see [`xmpp`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Xmpp;

/// A matcher for XMPP clients and servers: the stream header, after an
/// optional XML declaration, whose content namespace is `jabber:client` or
/// `jabber:server`.
///
/// It reads the declaration (`<?xml version='1.0'?>`, encoding UTF-8 and
/// standalone allowed, either quote) and white space after it, then
/// `<stream:stream` and its attributes, in any order, each name at most
/// once, until the `>` that closes the start tag. It says `Match` there
/// if the attributes declared `xmlns` as `jabber:client` or
/// `jabber:server` and `xmlns:stream` as `http://etherx.jabber.org/streams`,
/// with a `version` (if any) of digits, a dot and digits.
///
/// It says `NoMatch` at the first byte that cannot continue that: a first
/// byte other than `<`, a declaration or element name that is not XMPP's,
/// a namespace value that departs from both, a control byte or `<` in a
/// value, a `/>`, and at the `>` of a header without those namespaces. A
/// header must end within [`XMPP_MAX_HEADER_BYTES`], so it decides within
/// 1 KiB. The component protocol (XEP-0114, `jabber:component:accept`) and
/// XMPP over WebSocket (RFC 7395, an `<open/>` element) do not match.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::xmpp;
///
/// // slixmpp 1.17.0, connecting as alice@example.com
/// let header = b"<stream:stream to='example.com' xmlns:stream='http://etherx.jabber.org/streams' \
///     xmlns='jabber:client' xml:lang='en' version='1.0'>";
/// assert_eq!(xmpp().verdict(header), Verdict::Match);
/// assert_eq!(xmpp().verdict(&header[..header.len() - 1]), Verdict::NeedMore);
/// assert_eq!(xmpp().verdict(b"<?xml version='1.0'?><stream:str"), Verdict::NeedMore);
/// assert_eq!(xmpp().verdict(b"<?xml version='1.0'?><html>"), Verdict::NoMatch);
/// assert_eq!(xmpp().verdict(b"<stream:stream xmlns='jabber:component:accept'"), Verdict::NoMatch);
/// assert_eq!(xmpp().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn xmpp() -> Xmpp {
    Xmpp
}

impl Matcher for Xmpp {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match within(seen, XMPP_MAX_HEADER_BYTES, read_stream_header) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// Which stream an XMPP stream header opens: its content namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XmppNamespace {
    /// `jabber:client`: a client connecting to its server.
    Client,
    /// `jabber:server`: a server connecting to another.
    Server,
}

/// The attributes of an XMPP stream header; see [`xmpp_stream_header`].
///
/// Values are as sent, between their quotes: an entity reference such as
/// `&apos;` is not replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XmppStreamHeader<'a> {
    /// `jabber:client` or `jabber:server`.
    pub namespace: XmppNamespace,
    /// The `to` attribute: the domain the stream is for.
    pub to: Option<&'a str>,
    /// The `from` attribute: the initiating entity's JID, if it says.
    pub from: Option<&'a str>,
    /// The `version` attribute, `1.0` from any client since RFC 3920.
    pub version: Option<&'a str>,
    /// The `xml:lang` attribute.
    pub lang: Option<&'a str>,
}

/// The attributes of the stream header `seen` starts with, once the
/// matcher says `Match`; `None` before that or if it is not XMPP.
///
/// ```
/// use connmux::matchers::{xmpp_stream_header, XmppNamespace};
///
/// // sendxmpp 1.24 (Net::XMPP 1.05)
/// let header = xmpp_stream_header(
///     b"<?xml version='1.0'?><stream:stream version='1.0' \
///     xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' \
///     to='example.com' from='localhost' xml:lang='en' >",
/// )
/// .unwrap();
/// assert_eq!(header.namespace, XmppNamespace::Client);
/// assert_eq!(header.to, Some("example.com"));
/// assert_eq!(header.from, Some("localhost"));
/// assert_eq!(header.version, Some("1.0"));
/// assert_eq!(header.lang, Some("en"));
/// assert_eq!(xmpp_stream_header(b"<stream:stream xmlns='jabber:client'"), None);
/// ```
pub fn xmpp_stream_header(seen: &[u8]) -> Option<XmppStreamHeader<'_>> {
    within(seen, XMPP_MAX_HEADER_BYTES, read_stream_header).ok()
}

/// What a token (a name or a value) may be.
#[derive(Debug, Clone, Copy)]
enum Expected {
    Any,
    OneOf(&'static [&'static [u8]]),
    OneOfIgnoringCase(&'static [&'static [u8]]),
}

impl Expected {
    /// Whether some allowed token starts with `read`.
    fn allows_prefix(self, read: &[u8]) -> bool {
        self.any(|allowed, ignore_case| {
            allowed
                .get(..read.len())
                .is_some_and(|start| same(start, read, ignore_case))
        })
    }

    /// Whether `token` is allowed.
    fn allows(self, token: &[u8]) -> bool {
        self.any(|allowed, ignore_case| same(allowed, token, ignore_case))
    }

    /// Whether `test` holds of an allowed token (told whether case is
    /// ignored), or anything is allowed.
    fn any(self, test: impl Fn(&[u8], bool) -> bool) -> bool {
        match self {
            Expected::Any => true,
            Expected::OneOf(allowed) => allowed.iter().any(|token| test(token, false)),
            Expected::OneOfIgnoringCase(allowed) => allowed.iter().any(|token| test(token, true)),
        }
    }
}

/// Whether two tokens are the same, ignoring ASCII case if told to.
fn same(one: &[u8], other: &[u8], ignore_case: bool) -> bool {
    one == other || (ignore_case && one.eq_ignore_ascii_case(other))
}

/// The attributes of the stream header that the matcher checks or
/// [`xmpp_stream_header`] reports, as they are read.
#[derive(Debug, Default)]
struct Attributes<'a> {
    namespace: Option<&'a [u8]>,
    stream_namespace: Option<&'a [u8]>,
    to: Option<&'a [u8]>,
    from: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    lang: Option<&'a [u8]>,
}

impl<'a> Attributes<'a> {
    /// Where the attribute `name` goes and what its value may be; `None`
    /// for an attribute nobody reads.
    fn slot(&mut self, name: &[u8]) -> Option<(&mut Option<&'a [u8]>, Expected)> {
        Some(match name {
            b"xmlns" => (&mut self.namespace, Expected::OneOf(CONTENT_NAMESPACES)),
            b"xmlns:stream" => (
                &mut self.stream_namespace,
                Expected::OneOf(STREAM_NAMESPACES),
            ),
            b"to" => (&mut self.to, Expected::Any),
            b"from" => (&mut self.from, Expected::Any),
            b"version" => (&mut self.version, Expected::Any),
            b"xml:lang" => (&mut self.lang, Expected::Any),
            _ => return None,
        })
    }
}

/// Reads the optional declaration and the stream header through its `>`.
fn read_stream_header<'a>(header: &mut Cursor<'a>) -> Result<XmppStreamHeader<'a>, Stop> {
    require(header.u8()? == b'<')?;
    if header.peek()? == b'?' {
        read_declaration(header)?;
        header.take_while(is_space);
        require(header.u8()? == b'<')?;
    }
    read_literal(header, STREAM_ELEMENT)?;
    let mut attributes = Attributes::default();
    loop {
        let spaced = !header.take_while(is_space).is_empty();
        if header.peek()? == b'>' {
            header.u8()?;
            break;
        }
        require(spaced)?;
        read_attribute(header, &mut attributes)?;
    }
    let namespace = match attributes.namespace {
        Some(CLIENT_NAMESPACE) => XmppNamespace::Client,
        Some(SERVER_NAMESPACE) => XmppNamespace::Server,
        _ => return Err(Stop::Invalid),
    };
    require(attributes.stream_namespace.is_some())?;
    require(attributes.version.is_none_or(is_version))?;
    let text = |value: Option<&'a [u8]>| value.map(std::str::from_utf8).transpose();
    Ok(XmppStreamHeader {
        namespace,
        to: text(attributes.to).map_err(|_| Stop::Invalid)?,
        from: text(attributes.from).map_err(|_| Stop::Invalid)?,
        version: text(attributes.version).map_err(|_| Stop::Invalid)?,
        lang: text(attributes.lang).map_err(|_| Stop::Invalid)?,
    })
}

/// Reads an XML declaration after its `<`, through its `?>`.
fn read_declaration(header: &mut Cursor<'_>) -> Result<(), Stop> {
    read_literal(header, b"?xml")?;
    let mut read = 0;
    loop {
        let spaced = !header.take_while(is_space).is_empty();
        if header.peek()? == b'?' {
            header.u8()?;
            require(read > 0)?;
            return require(header.u8()? == b'>');
        }
        require(spaced)?;
        let allowed = Expected::OneOf(NEXT_IN_DECLARATION[read]);
        let name = read_token(header, is_name_byte, allowed)?;
        let position = DECLARATION
            .iter()
            .position(|&(known, _)| known == name)
            .ok_or(Stop::Invalid)?;
        read_eq(header)?;
        read_quoted(header, DECLARATION[position].1)?;
        read = position + 1;
    }
}

/// Reads an attribute of the stream header, recording it if it is one of
/// [`Attributes`]; each of those may appear once.
fn read_attribute<'a>(
    header: &mut Cursor<'a>,
    attributes: &mut Attributes<'a>,
) -> Result<(), Stop> {
    require(is_name_start_byte(header.peek()?))?;
    let name = read_token(header, is_name_byte, Expected::Any)?;
    match attributes.slot(name) {
        Some((slot, expected)) => {
            require(slot.is_none())?;
            read_eq(header)?;
            *slot = Some(read_quoted(header, expected)?);
        }
        None => {
            read_eq(header)?;
            read_quoted(header, Expected::Any)?;
        }
    }
    Ok(())
}

/// Reads `*S "=" *S`.
fn read_eq(header: &mut Cursor<'_>) -> Result<(), Stop> {
    header.take_while(is_space);
    require(header.u8()? == b'=')?;
    header.take_while(is_space);
    Ok(())
}

/// Reads a value in single or double quotes, which `expected` says what
/// it may be, returning it without them.
fn read_quoted<'a>(header: &mut Cursor<'a>, expected: Expected) -> Result<&'a [u8], Stop> {
    let quote = header.u8()?;
    require(quote == b'\'' || quote == b'"')?;
    let value = read_token(
        header,
        |byte| byte != quote && is_value_byte(byte),
        expected,
    )?;
    require(header.u8()? == quote)?;
    Ok(value)
}

/// Reads the bytes `accept` takes, refusing at the first that leaves them
/// a prefix of nothing `expected` allows, and at the end of a token that
/// `expected` does not allow.
fn read_token<'a>(
    cursor: &mut Cursor<'a>,
    accept: impl Fn(u8) -> bool,
    expected: Expected,
) -> Result<&'a [u8], Stop> {
    let start = cursor.rest();
    loop {
        let read = &start[..start.len() - cursor.remaining()];
        let byte = cursor.peek()?;
        if !accept(byte) {
            require(expected.allows(read))?;
            return Ok(read);
        }
        require(expected.allows_prefix(&start[..=read.len()]))?;
        cursor.u8()?;
    }
}

/// Reads `literal`, refusing at its first wrong byte.
fn read_literal(cursor: &mut Cursor<'_>, literal: &[u8]) -> Result<(), Stop> {
    for &expected in literal {
        require(cursor.u8()? == expected)?;
    }
    Ok(())
}

/// XML's white space (section 2.3, `S`).
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// A byte that may start an XML name: a letter, `_`, `:`, or a byte of a
/// non-ASCII character (section 2.3, `NameStartChar`, loosely).
fn is_name_start_byte(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b':' || !byte.is_ascii()
}

/// A byte of an XML name after its first (section 2.3, `NameChar`,
/// loosely).
fn is_name_byte(byte: u8) -> bool {
    is_name_start_byte(byte) || byte.is_ascii_digit() || byte == b'-' || byte == b'.'
}

/// A byte an attribute value may hold besides its closing quote: no `<`,
/// no control byte but white space (section 2.3, `AttValue`; section 2.2,
/// `Char`).
fn is_value_byte(byte: u8) -> bool {
    (byte >= 0x20 && byte != b'<') || is_space(byte)
}

/// RFC 6120 section 4.7.5: `major.minor`, each a non-negative integer.
fn is_version(value: &[u8]) -> bool {
    let mut numbers = value.split(|&byte| byte == b'.');
    let number = |digits: Option<&[u8]>| {
        digits.is_some_and(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
    };
    number(numbers.next()) && number(numbers.next()) && numbers.next().is_none()
}

#[cfg(test)]
mod tests;
