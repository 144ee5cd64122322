//! Syslog senders over TCP by their first message: RFC 6587's two framings
//! (section 3.4) around an RFC 5424 or an RFC 3164 message.
//!
//! ```text
//! frame            octet counting (3.4.1):   MSG-LEN SP SYSLOG-MSG
//!                  non-transparent (3.4.2):  SYSLOG-MSG LF
//! MSG-LEN          NONZERO-DIGIT *DIGIT, the octets of SYSLOG-MSG
//!
//! SYSLOG-MSG, RFC 5424 section 6:
//!   PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
//!   SP STRUCTURED-DATA [SP MSG]
//!   PRI            "<" PRIVAL ">", PRIVAL 1*3DIGIT from 0 to 191, written
//!                  without leading zeros (6.2.1); facility * 8 + severity
//!   VERSION        "1"
//!   TIMESTAMP      "-" or FULL-DATE "T" FULL-TIME, at most 32 octets
//!   HOSTNAME       "-" or 1*255 PRINTUSASCII
//!   APP-NAME       "-" or 1*48 PRINTUSASCII
//!
//! SYSLOG-MSG, RFC 3164 section 4.1 (the BSD format):
//!   PRI TIMESTAMP SP HOSTNAME SP TAG CONTENT
//!   TIMESTAMP      Mmm SP dd SP hh ":" mm ":" ss, an English month
//!                  abbreviation and a day space-padded ("Dec  6")
//!   TAG            the program name, ended by "[" (a process ID follows)
//!                  or ":"
//! ```
//!
//! `logger --tcp` (util-linux) sends both formats in both framings; rsyslog
//! and syslog-ng forward with either. RFC 6587 is Historic, but it is how
//! syslog over plain TCP is spoken, and octet counting is RFC 5425's
//! framing over TLS too.

use crate::matcher::cursor::{require, within, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

/// The most digits of an octet count the matcher reads: up to 999,999,999
/// octets. No syslog message comes near it (rsyslog's default limit is
/// 8 KiB); the bound keeps a stream of digits from holding the decision up.
const MAX_MSG_LEN_DIGITS: usize = 9;
/// RFC 5424 section 6.2.1: facility 23, severity 7.
const MAX_PRIVAL: u32 = 191;
/// RFC 3164 section 4.1.2's month abbreviations.
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
/// RFC 5424 section 6.2.3: `2003-08-24T05:14:15.000003-07:00`.
const MAX_TIMESTAMP_LENGTH: usize = 32;
/// RFC 5424 section 6.2.4; RFC 3164 hostnames are no longer.
const MAX_HOSTNAME_LENGTH: usize = 255;
/// RFC 5424 section 6.2.5. RFC 3164 section 4.1.3 allows a TAG of 32
/// alphanumeric characters, which senders exceed; the 5424 bound serves
/// both.
const MAX_APP_NAME_LENGTH: usize = 48;
/// RFC 5424's NILVALUE, for a field the sender does not know.
const NILVALUE: &[u8] = b"-";

/// Matches a syslog sender's first message; see [`syslog`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Syslog;

/// A matcher for syslog over TCP: an RFC 5424 or RFC 3164 message, framed
/// by octet counting or not (RFC 6587).
///
/// It reads the framing (an octet count of 1 to 9 digits without leading
/// zero, then a space; or none), then the message's PRI (a value from 0 to
/// 191 of 1 to 3 digits, `0` the only one with a leading zero), then what
/// tells the formats apart:
///
/// - RFC 5424: the VERSION `1` and the space after it, where it says
///   `Match`;
/// - RFC 3164: a timestamp, `Mmm dd hh:mm:ss` with an English month, a day
///   from 1 to 31 padded with a space or a zero, and a time of day, then
///   the space after it, where it says `Match`.
///
/// A `<` alone is not enough: XML starts with it too. It says `NoMatch`
/// at the first byte that breaks that opening, and when an octet count is
/// too short to hold it. So it decides within 31 bytes: a 9-digit count,
/// its space, `<191>` and `Dec 31 23:59:59 `.
///
/// An RFC 3164 message without a timestamp (the RFC lets a relay forward
/// one as it came) does not match: after `<PRI>` nothing else marks it as
/// syslog.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::syslog;
///
/// // logger --tcp --rfc5424 hello, and with --octet-count.
/// assert_eq!(syslog().verdict(b"<13>1 2026-12-06T13:11:45.193230+00:00 vm root - - hello\n"), Verdict::Match);
/// assert_eq!(syslog().verdict(b"97 <156>1 2026-12-06T13:11:46"), Verdict::Match);
/// // logger --tcp --rfc3164 hello
/// assert_eq!(syslog().verdict(b"<13>Dec  6 13:11:45 vm root: hello\n"), Verdict::Match);
/// assert_eq!(syslog().verdict(b"<13>Dec  6 13:11"), Verdict::NeedMore);
/// assert_eq!(syslog().verdict(b"<13>"), Verdict::NeedMore);
/// assert_eq!(syslog().verdict(b"<192>"), Verdict::NoMatch);
/// assert_eq!(syslog().verdict(b"<?xml version='1.0'?>"), Verdict::NoMatch);
/// assert_eq!(syslog().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn syslog() -> Syslog {
    Syslog
}

impl Matcher for Syslog {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match read_frame(seen, |message, _| read_opening(message)) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// How a syslog message is framed on the stream (RFC 6587 section 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyslogFraming {
    /// Octet counting: the message's length in octets, then a space, then
    /// the message.
    OctetCounted {
        /// The MSG-LEN the sender wrote.
        length: u32,
    },
    /// Non-transparent framing: the message, ended by a line feed.
    NonTransparent,
}

/// Which format a syslog message is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyslogFormat {
    /// RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME ...`.
    Rfc5424,
    /// RFC 3164, the BSD format: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: ...`.
    Rfc3164,
}

/// The header fields of a syslog sender's first message; see
/// [`syslog_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyslogMessage<'a> {
    /// Octet counting (with the length) or non-transparent framing.
    pub framing: SyslogFraming,
    /// RFC 5424 or RFC 3164.
    pub format: SyslogFormat,
    /// PRI / 8: 0 kernel, 1 user, 3 daemon, 4 auth, 16 to 23 local0 to
    /// local7 (RFC 5424 table 1).
    pub facility: u8,
    /// PRI % 8: 0 emergency to 7 debug (RFC 5424 table 2).
    pub severity: u8,
    /// The HOSTNAME, unless it is RFC 5424's `-` or the message has none.
    pub hostname: Option<&'a str>,
    /// The APP-NAME (RFC 5424) or TAG (RFC 3164), unless it is `-` or the
    /// message has none.
    pub app_name: Option<&'a str>,
}

/// The framing and header fields of a syslog sender's first message, once
/// its header has arrived up to the app-name, or `None` if `seen` does not
/// start with a message [`syslog`] matches or its header is malformed.
///
/// For RFC 5424 that is up to the space after APP-NAME, each field
/// printable ASCII within its length (TIMESTAMP 32, HOSTNAME 255, APP-NAME
/// 48), `-` giving `None`.
///
/// RFC 3164 cannot tell a missing HOSTNAME from a first word of text, so
/// this reads the words after the timestamp as senders write them: a
/// first word ending in a tag (`name:` or `name[pid]`) is the TAG of a
/// message without HOSTNAME; otherwise it is the HOSTNAME and the next
/// word is the TAG if it ends that way. A line feed or the end of an
/// octet-counted frame ends the header: the fields not reached are `None`.
///
/// ```
/// use connmux::matchers::{syslog_message, SyslogFormat, SyslogFraming};
///
/// // logger --tcp --octet-count --rfc5424 -t myapp -p local3.warning hello
/// let counted = b"97 <156>1 2026-12-06T13:11:46.228654+00:00 vm myapp - - [timeQuality tzKnown=\"1\"";
/// let message = syslog_message(counted).unwrap();
/// assert_eq!(message.framing, SyslogFraming::OctetCounted { length: 97 });
/// assert_eq!(message.format, SyslogFormat::Rfc5424);
/// assert_eq!((message.facility, message.severity), (19, 4));
/// assert_eq!(message.hostname, Some("vm"));
/// assert_eq!(message.app_name, Some("myapp"));
///
/// // logger --tcp --rfc3164 hello
/// let bsd = syslog_message(b"<13>Dec  6 13:11:45 vm root: hello\n").unwrap();
/// assert_eq!(bsd.framing, SyslogFraming::NonTransparent);
/// assert_eq!(bsd.format, SyslogFormat::Rfc3164);
/// assert_eq!((bsd.facility, bsd.severity), (1, 5));
/// assert_eq!((bsd.hostname, bsd.app_name), (Some("vm"), Some("root")));
///
/// assert_eq!(syslog_message(b"<13>Dec  6 13:11:45 vm ro"), None);
/// ```
pub fn syslog_message(seen: &[u8]) -> Option<SyslogMessage<'_>> {
    read_frame(seen, |message, frame| {
        let (prival, format) = read_opening(message)?;
        let (hostname, app_name) = match format {
            SyslogFormat::Rfc5424 => read_rfc5424_names(message)?,
            SyslogFormat::Rfc3164 => read_rfc3164_names(message, frame.complete)?,
        };
        Ok(SyslogMessage {
            framing: frame.framing,
            format,
            facility: prival / 8,
            severity: prival % 8,
            hostname,
            app_name,
        })
    })
    .ok()
}

/// What [`read_frame`] tells the message parser about the frame.
#[derive(Debug, Clone, Copy)]
struct Frame {
    framing: SyslogFraming,
    /// Whether the whole of an octet-counted frame has arrived, so that
    /// the end of the bytes is the end of the message.
    complete: bool,
}

/// Reads the framing and runs `parse` over the message: the octets an
/// octet count frames (reading past them is invalid), or the rest of the
/// input.
fn read_frame<'a, T>(
    seen: &'a [u8],
    parse: impl FnOnce(&mut Cursor<'a>, Frame) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let mut stream = Cursor::new(seen);
    match stream.peek()? {
        b'<' => {
            let frame = Frame {
                framing: SyslogFraming::NonTransparent,
                complete: false,
            };
            parse(&mut stream, frame)
        }
        b'1'..=b'9' => {
            let length = read_msg_len(&mut stream)?;
            let message = stream.rest();
            let limit = usize::try_from(length).map_err(|_| Stop::Invalid)?;
            let frame = Frame {
                framing: SyslogFraming::OctetCounted { length },
                complete: message.len() >= limit,
            };
            within(message, limit, |message| parse(message, frame))
        }
        _ => Err(Stop::Invalid),
    }
}

/// Reads MSG-LEN (its first digit is not zero) and the space after it.
fn read_msg_len(stream: &mut Cursor<'_>) -> Result<u32, Stop> {
    let mut length = 0;
    let mut digits = 0;
    loop {
        let byte = stream.u8()?;
        if byte == b' ' && digits > 0 {
            return Ok(length);
        }
        require(byte.is_ascii_digit() && digits < MAX_MSG_LEN_DIGITS)?;
        length = length * 10 + u32::from(byte - b'0');
        digits += 1;
    }
}

/// Reads PRI and what tells the formats apart: VERSION `1` and a space
/// (RFC 5424), or a timestamp and a space (RFC 3164). Returns PRIVAL.
fn read_opening(message: &mut Cursor<'_>) -> Result<(u8, SyslogFormat), Stop> {
    require(message.u8()? == b'<')?;
    let prival = read_prival(message)?;
    if message.peek()? == b'1' {
        message.u8()?;
        require(message.u8()? == b' ')?;
        return Ok((prival, SyslogFormat::Rfc5424));
    }
    read_rfc3164_timestamp(message)?;
    Ok((prival, SyslogFormat::Rfc3164))
}

/// Reads PRIVAL and the `>` after it: 1 to 3 digits, no leading zero but
/// in `0` itself, at most [`MAX_PRIVAL`].
fn read_prival(message: &mut Cursor<'_>) -> Result<u8, Stop> {
    let mut prival = 0;
    let mut digits = 0;
    loop {
        let byte = message.u8()?;
        if byte == b'>' && digits > 0 {
            return u8::try_from(prival).map_err(|_| Stop::Invalid);
        }
        require(byte.is_ascii_digit() && digits < 3 && (digits == 0 || prival != 0))?;
        prival = prival * 10 + u32::from(byte - b'0');
        digits += 1;
        require(prival <= MAX_PRIVAL)?;
    }
}

/// Reads an RFC 3164 timestamp and the space after it:
/// `Mmm dd hh:mm:ss `, the day padded with a space (as the RFC says) or a
/// zero (as some senders write it).
fn read_rfc3164_timestamp(message: &mut Cursor<'_>) -> Result<(), Stop> {
    let month = message.rest();
    for length in 1..=3 {
        message.u8()?;
        let read = &month[..length];
        require(MONTHS.iter().any(|name| name.starts_with(read)))?;
    }
    require(message.u8()? == b' ')?;
    let tens = message.u8()?;
    require(tens == b' ' || (b'0'..=b'3').contains(&tens))?;
    let ones = message.u8()?;
    require(ones.is_ascii_digit())?;
    let day = if tens == b' ' { 0 } else { tens - b'0' } * 10 + (ones - b'0');
    require((1..=31).contains(&day))?;
    require(message.u8()? == b' ')?;
    read_two_digits(message, 23)?;
    require(message.u8()? == b':')?;
    read_two_digits(message, 59)?;
    require(message.u8()? == b':')?;
    read_two_digits(message, 59)?;
    require(message.u8()? == b' ')
}

/// Reads a two-digit number up to `max`, refusing at the first digit when
/// it is already too large.
fn read_two_digits(message: &mut Cursor<'_>, max: u8) -> Result<(), Stop> {
    let tens = message.u8()?;
    require(tens.is_ascii_digit() && (tens - b'0') * 10 <= max)?;
    let ones = message.u8()?;
    require(ones.is_ascii_digit() && (tens - b'0') * 10 + (ones - b'0') <= max)
}

/// Reads the RFC 5424 header after VERSION up to the space after APP-NAME,
/// returning HOSTNAME and APP-NAME.
fn read_rfc5424_names<'a>(
    message: &mut Cursor<'a>,
) -> Result<(Option<&'a str>, Option<&'a str>), Stop> {
    read_rfc5424_field(message, MAX_TIMESTAMP_LENGTH)?;
    let hostname = read_rfc5424_field(message, MAX_HOSTNAME_LENGTH)?;
    let app_name = read_rfc5424_field(message, MAX_APP_NAME_LENGTH)?;
    Ok((unless_nil(hostname)?, unless_nil(app_name)?))
}

/// Reads one RFC 5424 header field, 1 to `max_length` PRINTUSASCII, and
/// the space after it.
fn read_rfc5424_field<'a>(message: &mut Cursor<'a>, max_length: usize) -> Result<&'a [u8], Stop> {
    let field = message.terminated(b' ', max_length)?;
    require(!field.is_empty() && field.iter().all(u8::is_ascii_graphic))?;
    Ok(field)
}

/// A field as text, or `None` for the NILVALUE.
fn unless_nil(field: &[u8]) -> Result<Option<&str>, Stop> {
    if field == NILVALUE {
        return Ok(None);
    }
    std::str::from_utf8(field)
        .map(Some)
        .map_err(|_| Stop::Invalid)
}

/// Reads the RFC 3164 words after the timestamp that hold HOSTNAME and
/// TAG (see [`syslog_message`]), returning them.
fn read_rfc3164_names<'a>(
    message: &mut Cursor<'a>,
    frame_complete: bool,
) -> Result<(Option<&'a str>, Option<&'a str>), Stop> {
    let (first, more) = read_rfc3164_word(message, frame_complete)?;
    if let Some(tag) = tag_of(first) {
        return Ok((None, Some(tag)));
    }
    if !more {
        return Ok((None, None));
    }
    require(!first.is_empty() && first.is_ascii())?;
    let hostname = std::str::from_utf8(first).map_err(|_| Stop::Invalid)?;
    let (second, _) = read_rfc3164_word(message, frame_complete)?;
    Ok((Some(hostname), tag_of(second)))
}

/// Reads a word of an RFC 3164 header: printable bytes (or non-ASCII ones,
/// in text) up to a space, which it reads, or to the message's end (a line
/// feed, or the end of a complete frame). Says whether a space ended it.
fn read_rfc3164_word<'a>(
    message: &mut Cursor<'a>,
    frame_complete: bool,
) -> Result<(&'a [u8], bool), Stop> {
    let word = message.take_while(|byte| byte.is_ascii_graphic() || !byte.is_ascii());
    require(word.len() <= MAX_HOSTNAME_LENGTH)?;
    match message.peek() {
        Ok(b' ') => message.u8().map(|_| (word, true)),
        Ok(b'\n') => Ok((word, false)),
        Ok(_) => Err(Stop::Invalid),
        Err(Stop::Short) if frame_complete => Ok((word, false)),
        Err(stop) => Err(stop),
    }
}

/// The program name of a word that is an RFC 3164 TAG: 1 to
/// [`MAX_APP_NAME_LENGTH`] printable ASCII bytes, then `[` or `:`.
fn tag_of(word: &[u8]) -> Option<&str> {
    let end = word.iter().position(|&byte| byte == b'[' || byte == b':')?;
    let tag = &word[..end];
    if tag.is_empty() || tag.len() > MAX_APP_NAME_LENGTH || !tag.iter().all(u8::is_ascii_graphic) {
        return None;
    }
    std::str::from_utf8(tag).ok()
}

#[cfg(test)]
mod tests;
