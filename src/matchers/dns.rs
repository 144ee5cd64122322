//! DNS clients over TCP by their first message (RFC 1035 sections 4.1 and
//! 4.2.2, RFC 7766): a query, a zone transfer request, a NOTIFY or an
//! UPDATE, each behind the two-octet length TCP puts before a message.
//!
//! ```text
//! length     u16: the octets of the message that follows
//! header     ID u16
//!            | QR(1) OPCODE(4) AA(1) TC(1) RD(1) | RA(1) Z(1) AD(1) CD(1) RCODE(4)
//!            | QDCOUNT u16 | ANCOUNT u16 | NSCOUNT u16 | ARCOUNT u16
//! question   QNAME: labels, each a length octet of 1 to 63 and that many
//!            octets, ended by a zero octet, 255 octets in all
//!            | QTYPE u16 | QCLASS u16
//! then       ANCOUNT + NSCOUNT + ARCOUNT resource records:
//!            NAME | TYPE u16 | CLASS u16 | TTL u32 | RDLENGTH u16 | RDATA
//! ```
//!
//! What a client sends first, by OPCODE, and so what the matcher takes:
//!
//! | OPCODE | sent by | sections |
//! |---|---|---|
//! | 0 QUERY | stub resolvers and `dig +tcp`, resolvers retrying a truncated answer, zone transfers (AXFR, IXFR) | one question; no answer; an authority record only for IXFR (RFC 1995 section 3: the client's SOA); up to two additional records, EDNS's OPT (RFC 6891) and a TSIG (RFC 8945) |
//! | 4 NOTIFY | primaries telling secondaries a zone changed (RFC 1996) | one question; at most one answer (the new SOA); no authority; up to two additional |
//! | 5 UPDATE | `nsupdate` and DHCP servers (RFC 2136) | one zone, of type SOA; prerequisite, update and additional records as many as fit |
//!
//! The other opcodes are not a client's opening: IQUERY (1) is obsolete,
//! STATUS (2) never defined, and DSO (6, RFC 8490) opens with a question
//! count of zero, as a query for a server cookie alone (RFC 7873 section
//! 5.4) does; none of these match.

use crate::matcher::cursor::{require, within, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

const HEADER_LENGTH: usize = 12;
/// The root name (one zero octet), QTYPE and QCLASS.
const MIN_QUESTION_LENGTH: usize = 5;
/// The root name, TYPE, CLASS, TTL and RDLENGTH, with no RDATA.
const MIN_RECORD_LENGTH: usize = 11;
/// RFC 1035 section 2.3.4.
const MAX_LABEL_LENGTH: u8 = 63;
/// RFC 1035 section 2.3.4, length octets and the final zero included.
const MAX_NAME_LENGTH: usize = 255;

const QR: u8 = 0x80;
const AA: u8 = 0x04;
const TC: u8 = 0x02;
const RD: u8 = 0x01;
const AD: u8 = 0x20;
const CD: u8 = 0x10;
/// A compression pointer's first octet has both high bits set (RFC 1035
/// section 4.1.4); `01` and `10` are the retired extended label types.
const POINTER: u8 = 0xc0;

const TYPE_SOA: u16 = 6;
const TYPE_OPT: u16 = 41;
const TYPE_IXFR: u16 = 251;
/// IN, CH (Chaos: `version.bind`), HS (Hesiod) and ANY (RFC 1035 section
/// 3.2.5).
const CLASSES: [u16; 4] = [1, 3, 4, 255];

/// Matches a DNS client's first message over TCP; see [`dns`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Dns;

/// A matcher for DNS over TCP: a length, then a QUERY, NOTIFY or UPDATE
/// whose header and first question are what a client sends.
///
/// It checks, octet by octet, and says `NoMatch` at the first that fails:
///
/// - the length: at least 17, a header and the shortest question;
/// - the flags: QR clear (a request), OPCODE QUERY, NOTIFY or UPDATE, TC,
///   RA, Z and RCODE clear; AA clear but in a NOTIFY; RD, AD and CD as a
///   client likes, and in an UPDATE all of them clear (RFC 2136 section
///   2.2);
/// - the counts, as the module's table says for each opcode, and that
///   the length can hold the records they count;
/// - the first question: labels of 1 to 63 octets, no compression pointer,
///   255 octets in all, within the length; a QTYPE other than 0 (SOA in an
///   UPDATE, IXFR where there is an authority record); a QCLASS of IN, CH,
///   HS or ANY.
///
/// It says `Match` at the last octet of the QCLASS, if what is left of the
/// length can hold the records counted and is empty when none are. So it
/// decides within 273 octets (a name of 255), and usually within 30.
///
/// Route SOCKS5 before DNS: a SOCKS5 greeting (`05 01 00`) reads as a
/// length and an ID, and its client then waits for the server, so DNS
/// could only say `NoMatch` to it at the sniff deadline.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::dns;
///
/// // dig +tcp +noedns example.com MX
/// let query = [
///     0x00, 0x1d, 0xca, 0xd6, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
///     0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00,
///     0x00, 0x0f, 0x00, 0x01,
/// ];
/// assert_eq!(dns().verdict(&query), Verdict::Match);
/// assert_eq!(dns().verdict(&query[..30]), Verdict::NeedMore);
/// // A response (QR set) is no client's opening.
/// assert_eq!(dns().verdict(&[0x00, 0x1d, 0xca, 0xd6, 0x81]), Verdict::NoMatch);
/// assert_eq!(dns().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn dns() -> Dns {
    Dns
}

impl Matcher for Dns {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match read_framed(seen, |message, length| read_opening(message, length)) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// A DNS message's OPCODE, of those [`dns`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsOpcode {
    /// 0: a query or a zone transfer request.
    Query,
    /// 4: a zone changed (RFC 1996).
    Notify,
    /// 5: a dynamic update (RFC 2136); its "question" is the zone.
    Update,
}

/// A DNS client's first message over TCP; see [`dns_question`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsQuestion {
    /// The message ID, which the answer repeats.
    pub id: u16,
    /// QUERY, NOTIFY or UPDATE.
    pub opcode: DnsOpcode,
    /// The first question's name (an UPDATE's zone), dotted, without the
    /// final dot but `.` for the root, in the case sent. Octets other than
    /// printable ASCII, and `.` and `\` within a label, are written as
    /// master files write them: `\.`, `\\`, `\DDD`.
    pub name: String,
    /// The QTYPE: 1 A, 28 AAAA, 6 SOA, 252 AXFR, 251 IXFR, ...
    pub qtype: u16,
    /// The QCLASS: 1 IN, 3 CH, 4 HS or 255 ANY.
    pub qclass: u16,
    /// Whether the additional section holds an OPT record (EDNS, RFC 6891).
    pub edns: bool,
}

/// The ID, opcode, first question and EDNS of a DNS client's first
/// message, once the whole of it has arrived, or `None` if `seen` does not
/// start with one [`dns`] matches or its records do not fill its length
/// exactly.
///
/// Clients write a message with its length in one go (RFC 7766 section 8),
/// so a connection that [`dns`] matched has usually sent all of it.
///
/// ```
/// use connmux::matchers::{dns_question, DnsOpcode};
///
/// // dig +tcp +noedns example.com MX
/// let query = [
///     0x00, 0x1d, 0xca, 0xd6, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
///     0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00,
///     0x00, 0x0f, 0x00, 0x01,
/// ];
/// let question = dns_question(&query).unwrap();
/// assert_eq!(question.id, 0xcad6);
/// assert_eq!(question.opcode, DnsOpcode::Query);
/// assert_eq!(question.name, "example.com");
/// assert_eq!((question.qtype, question.qclass), (15, 1));
/// assert!(!question.edns);
/// assert_eq!(dns_question(&query[..30]), None);
/// ```
pub fn dns_question(seen: &[u8]) -> Option<DnsQuestion> {
    read_framed(seen, |message, length| {
        let opening = read_opening(message, length)?;
        if message.remaining() < opening.records_length {
            return Err(Stop::Short);
        }
        let mut edns = false;
        let [answers, authority, additional] = opening.sections.map(usize::from);
        for index in 0..answers + authority + additional {
            let record_type = read_record(message, usize::from(length))?;
            edns |= index >= answers + authority && record_type == TYPE_OPT;
        }
        require(message.remaining() == 0)?;
        Ok(DnsQuestion {
            id: opening.id,
            opcode: opening.opcode,
            name: presentation(opening.name),
            qtype: opening.qtype,
            qclass: opening.qclass,
            edns,
        })
    })
    .ok()
}

/// What [`read_opening`] reads of a message.
struct Opening<'a> {
    id: u16,
    opcode: DnsOpcode,
    /// ANCOUNT, NSCOUNT and ARCOUNT (in an UPDATE: prerequisites, updates
    /// and additional records).
    sections: [u16; 3],
    /// The first question's name in wire form.
    name: &'a [u8],
    qtype: u16,
    qclass: u16,
    /// The octets of the message after the first question, which hold
    /// the records.
    records_length: usize,
}

/// How many records of each section a client's first message may carry,
/// and which flags it may set, by opcode.
struct Rules {
    opcode: DnsOpcode,
    /// Most ANCOUNT, NSCOUNT and ARCOUNT.
    max_sections: [u16; 3],
    /// Which of AA, TC and RD, in the octet OPCODE ends, may be set.
    free_flags: u8,
    /// Which bits of the next octet (RA, Z, AD, CD, RCODE) may be set.
    free_low_flags: u8,
}

/// The opcodes a client opens with, and what each allows.
const RULES: [(u8, Rules); 3] = [
    (
        0,
        Rules {
            opcode: DnsOpcode::Query,
            max_sections: [0, 1, 2],
            free_flags: RD,
            free_low_flags: AD | CD,
        },
    ),
    (
        4,
        Rules {
            opcode: DnsOpcode::Notify,
            max_sections: [1, 0, 2],
            free_flags: AA | RD,
            free_low_flags: AD | CD,
        },
    ),
    (
        5,
        Rules {
            opcode: DnsOpcode::Update,
            max_sections: [u16::MAX; 3],
            free_flags: 0,
            free_low_flags: 0,
        },
    ),
];

/// Reads the length and runs `parse` over the message it frames (reading
/// past it is invalid), passing the length on.
fn read_framed<'a, T>(
    seen: &'a [u8],
    parse: impl FnOnce(&mut Cursor<'a>, u16) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let mut stream = Cursor::new(seen);
    let length = stream.u16()?;
    require(usize::from(length) >= HEADER_LENGTH + MIN_QUESTION_LENGTH)?;
    within(stream.rest(), usize::from(length), |message| {
        parse(message, length)
    })
}

/// Reads the header and the first question of a message of `length`
/// octets, up to the end of QCLASS.
fn read_opening<'a>(message: &mut Cursor<'a>, length: u16) -> Result<Opening<'a>, Stop> {
    let length = usize::from(length);
    let id = message.u16()?;
    let flags = message.u8()?;
    require(flags & QR == 0)?;
    let rules = RULES
        .iter()
        .find(|(opcode, _)| *opcode == flags >> 3)
        .map(|(_, rules)| rules)
        .ok_or(Stop::Invalid)?;
    require(flags & (AA | TC | RD) & !rules.free_flags == 0)?;
    require(message.u8()? & !rules.free_low_flags == 0)?;
    let questions = read_u16(message, true)?;
    require(questions == 1)?;
    let mut sections = [0; 3];
    for (count, &max) in sections.iter_mut().zip(&rules.max_sections) {
        *count = read_u16(message, max <= 0xff)?;
        require(*count <= max)?;
    }
    let records: usize = sections.iter().map(|&count| usize::from(count)).sum();
    require(HEADER_LENGTH + MIN_QUESTION_LENGTH + records * MIN_RECORD_LENGTH <= length)?;
    let name = read_question_name(message)?;
    let is_ixfr_request = rules.opcode == DnsOpcode::Query && sections[1] == 1;
    let fixed_qtype = match rules.opcode {
        DnsOpcode::Update => Some(TYPE_SOA),
        _ if is_ixfr_request => Some(TYPE_IXFR),
        _ => None,
    };
    let qtype = read_u16(message, fixed_qtype.is_some())?;
    require(fixed_qtype.map_or(qtype != 0, |fixed| qtype == fixed))?;
    let qclass = read_u16(message, true)?;
    require(CLASSES.contains(&qclass))?;
    let records_length = length - (HEADER_LENGTH + name.len() + 4);
    require(records_length >= records * MIN_RECORD_LENGTH)?;
    require(records > 0 || records_length == 0)?;
    Ok(Opening {
        id,
        opcode: rules.opcode,
        sections,
        name,
        qtype,
        qclass,
        records_length,
    })
}

/// Reads a big-endian u16, refusing a high octet other than zero at once
/// when `small` says the value must be under 256.
fn read_u16(message: &mut Cursor<'_>, small: bool) -> Result<u16, Stop> {
    let high = message.u8()?;
    require(!small || high == 0)?;
    Ok(u16::from_be_bytes([high, message.u8()?]))
}

/// Reads the first question's name, which has no compression pointer
/// (nothing precedes it to point to), returning it in wire form.
fn read_question_name<'a>(message: &mut Cursor<'a>) -> Result<&'a [u8], Stop> {
    let start = message.clone();
    let mut name_length = 0;
    loop {
        let label_length = message.u8()?;
        require(label_length <= MAX_LABEL_LENGTH)?;
        name_length += 1 + usize::from(label_length);
        require(name_length <= MAX_NAME_LENGTH)?;
        if label_length == 0 {
            return start.clone().take(name_length);
        }
        message.skip(usize::from(label_length))?;
    }
}

/// Reads a resource record whose name may end in a compression pointer
/// (RFC 1035 section 4.1.4), in a message of `length` octets that has
/// arrived whole; returns its TYPE.
fn read_record(message: &mut Cursor<'_>, length: usize) -> Result<u16, Stop> {
    let mut name_length = 0;
    loop {
        let at = length - message.remaining();
        let label_length = message.u8()?;
        if label_length & POINTER == POINTER {
            let target = u16::from_be_bytes([label_length & !POINTER, message.u8()?]);
            require((HEADER_LENGTH..at).contains(&usize::from(target)))?;
            break;
        }
        require(label_length <= MAX_LABEL_LENGTH)?;
        name_length += 1 + usize::from(label_length);
        require(name_length <= MAX_NAME_LENGTH)?;
        if label_length == 0 {
            break;
        }
        message.skip(usize::from(label_length))?;
    }
    let record_type = message.u16()?;
    // CLASS and TTL.
    message.skip(2 + 4)?;
    let data_length = message.u16()?;
    message.skip(usize::from(data_length))?;
    Ok(record_type)
}

/// A name in wire form written out as [`DnsQuestion::name`] says.
fn presentation(wire: &[u8]) -> String {
    let mut name = String::new();
    let mut labels = Cursor::new(wire);
    while let Ok(length @ 1..) = labels.u8() {
        if !name.is_empty() {
            name.push('.');
        }
        for &byte in labels.take(usize::from(length)).unwrap_or_default() {
            match byte {
                b'.' | b'\\' => {
                    name.push('\\');
                    name.push(char::from(byte));
                }
                b'!'..=b'~' => name.push(char::from(byte)),
                _ => name.push_str(&format!("\\{byte:03}")),
            }
        }
    }
    if name.is_empty() {
        name.push('.');
    }
    name
}

#[cfg(test)]
mod tests;
