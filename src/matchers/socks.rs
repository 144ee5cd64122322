//! SOCKS proxy clients by their first message: the SOCKS5 method greeting
//! (RFC 1928 section 3) and the SOCKS4 / SOCKS4a request (the SOCKS4
//! protocol document by Ying-Da Lee, and its SOCKS4A extension).
//!
//! ```text
//! SOCKS5 greeting   VER=0x05 | NMETHODS (1..=255) | METHODS [NMETHODS]
//! SOCKS4 request    VN=0x04 | CD (1 CONNECT, 2 BIND) | DSTPORT u16 | DSTIP [4]
//!                   | USERID | 0x00
//! SOCKS4a request   as SOCKS4 with DSTIP = 0.0.0.x (x != 0), then
//!                   | DOMAIN | 0x00
//! ```
//!
//! Both clients send that one message and wait for the server's answer, so
//! the matchers say `Match` once the whole message has arrived. Bytes after
//! it do not change the verdict: a client that sends more without waiting
//! (its SOCKS5 request right behind the greeting, say) is still a SOCKS
//! client, and prefix monotonicity requires the same answer however the
//! bytes were split into reads.

use std::net::Ipv4Addr;

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

/// RFC 1928 section 3: X'FF' is the server's "no acceptable methods"
/// answer, never a method a client offers.
const SOCKS5_NO_ACCEPTABLE_METHODS: u8 = 0xff;
const SOCKS4_CONNECT: u8 = 1;
const SOCKS4_BIND: u8 = 2;
/// The longest SOCKS4 USERID accepted, NUL excluded. The protocol sets no
/// limit; 255 bytes is ample for a user name and keeps the matcher's bound
/// small.
pub const SOCKS4_MAX_USER_ID: usize = 255;
/// The longest SOCKS4a domain name accepted, NUL excluded: a DNS name is at
/// most 253 characters, and SOCKS5 (RFC 1928) carries at most 255.
pub const SOCKS4_MAX_DOMAIN: usize = 255;

/// Matches a SOCKS5 client greeting; see [`socks5`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Socks5;

/// A matcher for SOCKS5 clients by their method greeting.
///
/// It says `Match` once the version byte, a method count of at least one and
/// that many method bytes (none of them `0xFF`, the server's "no acceptable
/// methods") have arrived, so it decides within 257 bytes.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::socks5;
///
/// // curl: two methods, "no authentication" and GSSAPI.
/// assert_eq!(socks5().verdict(&[0x05, 0x02, 0x00, 0x01]), Verdict::Match);
/// assert_eq!(socks5().verdict(&[0x05, 0x02, 0x00]), Verdict::NeedMore);
/// assert_eq!(socks5().verdict(&[0x05, 0x00]), Verdict::NoMatch);
/// assert_eq!(socks5().verdict(&[0x04, 0x01]), Verdict::NoMatch);
/// ```
pub fn socks5() -> Socks5 {
    Socks5
}

impl Matcher for Socks5 {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match socks5_greeting(seen) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// The authentication methods a complete SOCKS5 greeting offers (RFC 1928
/// section 3: 0 none, 1 GSSAPI, 2 username/password), or `None` if `seen`
/// does not start with one.
///
/// ```
/// use connmux::matchers::socks5_methods;
///
/// assert_eq!(socks5_methods(&[0x05, 0x02, 0x00, 0x02]), Some(&[0x00, 0x02][..]));
/// assert_eq!(socks5_methods(&[0x05, 0x02, 0x00]), None);
/// ```
pub fn socks5_methods(seen: &[u8]) -> Option<&[u8]> {
    socks5_greeting(seen).ok()
}

/// Parses the greeting at the start of `seen`, returning its methods.
fn socks5_greeting(seen: &[u8]) -> Result<&[u8], Stop> {
    let mut greeting = Cursor::new(seen);
    require(greeting.u8()? == 5)?;
    let method_count = greeting.u8()?;
    require(method_count >= 1)?;
    let mut methods = greeting.clone();
    for _ in 0..method_count {
        require(greeting.u8()? != SOCKS5_NO_ACCEPTABLE_METHODS)?;
    }
    methods.take(usize::from(method_count))
}

/// Matches a SOCKS4 or SOCKS4a client request; see [`socks4`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Socks4;

/// A matcher for SOCKS4 and SOCKS4a clients by their CONNECT or BIND
/// request.
///
/// It says `Match` once the whole request has arrived: the 8-byte header,
/// the USERID and its NUL, and for SOCKS4a (destination 0.0.0.x, x ≠ 0) a
/// non-empty domain name and its NUL. A USERID longer than
/// [`SOCKS4_MAX_USER_ID`] or a domain longer than [`SOCKS4_MAX_DOMAIN`] is
/// `NoMatch`, so it decides within 520 bytes.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::socks4;
///
/// // CONNECT 127.0.0.1:80, empty USERID.
/// let connect = [0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0x00];
/// assert_eq!(socks4().verdict(&connect), Verdict::Match);
/// assert_eq!(socks4().verdict(&connect[..8]), Verdict::NeedMore);
/// // SOCKS4a: CONNECT example.com:80 for user "bob".
/// assert_eq!(socks4().verdict(b"\x04\x01\x00\x50\x00\x00\x00\x01bob\x00example.com\x00"), Verdict::Match);
/// assert_eq!(socks4().verdict(&[0x04, 0x03]), Verdict::NoMatch);
/// ```
pub fn socks4() -> Socks4 {
    Socks4
}

impl Matcher for Socks4 {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match socks4_parts(seen) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// The command of a SOCKS4 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Socks4Command {
    /// CD = 1: open a TCP connection to the destination.
    Connect,
    /// CD = 2: accept one inbound connection from the destination.
    Bind,
}

/// A complete SOCKS4 or SOCKS4a request; see [`socks4_request`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Socks4Request {
    /// CONNECT or BIND.
    pub command: Socks4Command,
    /// The destination port.
    pub port: u16,
    /// The destination address; `0.0.0.x` for SOCKS4a.
    pub ip: Ipv4Addr,
    /// The USERID (invalid UTF-8 replaced).
    pub user: String,
    /// The SOCKS4a domain name (invalid UTF-8 replaced), `None` for SOCKS4.
    pub domain: Option<String>,
}

/// The request a complete SOCKS4 or SOCKS4a opening carries, or `None` if
/// `seen` does not start with one.
///
/// ```
/// use std::net::Ipv4Addr;
/// use connmux::matchers::{socks4_request, Socks4Command};
///
/// let request = socks4_request(b"\x04\x01\x00\x50\x00\x00\x00\x01bob\x00example.com\x00").unwrap();
/// assert_eq!(request.command, Socks4Command::Connect);
/// assert_eq!(request.port, 80);
/// assert_eq!(request.ip, Ipv4Addr::new(0, 0, 0, 1));
/// assert_eq!(request.user, "bob");
/// assert_eq!(request.domain.as_deref(), Some("example.com"));
/// ```
pub fn socks4_request(seen: &[u8]) -> Option<Socks4Request> {
    let parts = socks4_parts(seen).ok()?;
    Some(Socks4Request {
        command: parts.command,
        port: parts.port,
        ip: parts.ip,
        user: String::from_utf8_lossy(parts.user).into_owned(),
        domain: parts
            .domain
            .map(|domain| String::from_utf8_lossy(domain).into_owned()),
    })
}

/// The fields of a SOCKS4 request, borrowed from the input.
struct Socks4Parts<'a> {
    command: Socks4Command,
    port: u16,
    ip: Ipv4Addr,
    user: &'a [u8],
    domain: Option<&'a [u8]>,
}

/// Parses the request at the start of `seen`.
fn socks4_parts(seen: &[u8]) -> Result<Socks4Parts<'_>, Stop> {
    let mut request = Cursor::new(seen);
    require(request.u8()? == 4)?;
    let command = match request.u8()? {
        SOCKS4_CONNECT => Socks4Command::Connect,
        SOCKS4_BIND => Socks4Command::Bind,
        _ => return Err(Stop::Invalid),
    };
    let port = request.u16()?;
    let ip = Ipv4Addr::from(request.u32()?);
    let user = request.terminated(0, SOCKS4_MAX_USER_ID)?;
    let [a, b, c, d] = ip.octets();
    let domain = if a == 0 && b == 0 && c == 0 && d != 0 {
        let domain = request.terminated(0, SOCKS4_MAX_DOMAIN)?;
        require(!domain.is_empty())?;
        Some(domain)
    } else {
        None
    };
    Ok(Socks4Parts {
        command,
        port,
        ip,
        user,
        domain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Conformance;
    use crate::matchers::testing::{assert_decides, near_miss};
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    const CURL_SOCKS5: &[u8] = include_bytes!("../../tests/fixtures/socks5-curl-greeting.bin");
    const CURL_SOCKS5_AUTH: &[u8] =
        include_bytes!("../../tests/fixtures/manual/socks5-curl-auth.bin");
    const CURL_SOCKS4: &[u8] = include_bytes!("../../tests/fixtures/socks4-curl.bin");
    const CURL_SOCKS4A: &[u8] = include_bytes!("../../tests/fixtures/socks4a-curl.bin");
    const CURL_SOCKS4A_USER: &[u8] =
        include_bytes!("../../tests/fixtures/manual/socks4a-curl-user.bin");

    /// RFC 1928 section 3 read literally, to check the SOCKS5 matcher
    /// against.
    fn naive_socks5(seen: &[u8]) -> Verdict {
        match seen {
            [] | [5] => NeedMore,
            [5, count, methods @ ..] if *count > 0 => {
                let offered = &methods[..methods.len().min(*count as usize)];
                if offered.contains(&0xff) {
                    NoMatch
                } else if offered.len() == *count as usize {
                    Match
                } else {
                    NeedMore
                }
            }
            _ => NoMatch,
        }
    }

    #[test]
    fn socks5_table() {
        let cases: &[(&[u8], Verdict)] = &[
            (&[], NeedMore),
            (&[0x05], NeedMore),
            (&[0x05, 0x01, 0x00], Match),
            (&[0x05, 0x02, 0x00, 0x02], Match),
            (&[0x05, 0x03, 0x00, 0x01, 0x80], Match),
            (&[0x05, 0x00], NoMatch),
            (&[0x05, 0x02, 0xff], NoMatch),
            (&[0x05, 0x02, 0x00, 0xff], NoMatch),
            (&[0x04, 0x01], NoMatch),
            (b"GET ", NoMatch),
        ];
        for (seen, want) in cases {
            assert_decides(&socks5(), seen, *want);
            assert_eq!(naive_socks5(seen), *want, "naive {seen:02x?}");
        }
        // A client that sends its request behind the greeting.
        let pipelined = [
            0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x00, 0x50,
        ];
        assert_eq!(socks5().verdict(&pipelined), Match);
        assert_eq!(socks5_methods(&pipelined), Some(&[0x00][..]));
        let mut all_methods = vec![0x05, 0xff];
        all_methods.extend(0..0xff);
        assert_decides(&socks5(), &all_methods, Match);
        assert_eq!(socks5_methods(&all_methods), Some(&all_methods[2..]));
    }

    #[test]
    fn socks5_curl_captures() {
        assert_decides(&socks5(), CURL_SOCKS5, Match);
        assert_eq!(socks5_methods(CURL_SOCKS5), Some(&[0x00, 0x01][..]));
        assert_decides(&socks5(), CURL_SOCKS5_AUTH, Match);
        assert_eq!(
            socks5_methods(CURL_SOCKS5_AUTH),
            Some(&[0x00, 0x01, 0x02][..])
        );
        assert_eq!(socks4().verdict(CURL_SOCKS5), NoMatch);
    }

    #[test]
    fn socks4_table() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (b"\x04", NeedMore),
            (b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00", Match),
            (b"\x04\x02\x1f\x90\x0a\x00\x00\x07alice\x00", Match),
            (b"\x04\x01\x00\x50\x00\x00\x00\x00\x00", Match),
            (
                b"\x04\x01\x00\x50\x00\x00\x00\x01\x00example.com\x00",
                Match,
            ),
            (b"\x04\x01\x00\x50\x00\x00\x00\xffbob\x00a\x00", Match),
            (b"\x04\x01\x00\x50\x00\x00\x01\x01\x00", Match),
            (b"\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00", NoMatch),
            (b"\x04\x00", NoMatch),
            (b"\x04\x03", NoMatch),
            (b"\x05\x01", NoMatch),
            (b"GET ", NoMatch),
        ];
        for (seen, want) in cases {
            assert_decides(&socks4(), seen, *want);
        }
    }

    #[test]
    fn socks4_bounds() {
        let header = b"\x04\x01\x00\x50\x00\x00\x00\x01";
        let mut longest = header.to_vec();
        longest.extend([b'u'; SOCKS4_MAX_USER_ID]);
        longest.push(0);
        longest.extend([b'd'; SOCKS4_MAX_DOMAIN]);
        assert_eq!(socks4().verdict(&longest), NeedMore);
        let mut too_long_domain = longest.clone();
        too_long_domain.push(b'd');
        assert_eq!(socks4().verdict(&too_long_domain), NoMatch);
        longest.push(0);
        assert_eq!(longest.len(), 520);
        assert_eq!(socks4().verdict(&longest), Match);
        let mut too_long_user = header.to_vec();
        too_long_user.extend([b'u'; SOCKS4_MAX_USER_ID]);
        assert_eq!(socks4().verdict(&too_long_user), NeedMore);
        too_long_user.push(b'u');
        assert_eq!(socks4().verdict(&too_long_user), NoMatch);
    }

    #[test]
    fn socks4_curl_captures() {
        assert_decides(&socks4(), CURL_SOCKS4, Match);
        assert_decides(&socks4(), CURL_SOCKS4A, Match);
        assert_decides(&socks4(), CURL_SOCKS4A_USER, Match);
        assert_eq!(
            socks4_request(CURL_SOCKS4),
            Some(Socks4Request {
                command: Socks4Command::Connect,
                port: 1,
                ip: Ipv4Addr::LOCALHOST,
                user: String::new(),
                domain: None,
            })
        );
        let socks4a = socks4_request(CURL_SOCKS4A_USER).unwrap();
        assert_eq!(socks4a.port, 80);
        assert_eq!(socks4a.user, "bob");
        assert_eq!(socks4a.domain.as_deref(), Some("example.invalid"));
        assert_eq!(
            socks4_request(&CURL_SOCKS4A[..CURL_SOCKS4A.len() - 1]),
            None
        );
        assert_eq!(socks5().verdict(CURL_SOCKS4), NoMatch);
    }

    fn socks5_greeting_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(0u8..0xff, 1..=255).prop_map(|methods| {
            let mut greeting = vec![0x05, methods.len() as u8];
            greeting.extend(methods);
            greeting
        })
    }

    fn socks4_request_bytes() -> impl Strategy<Value = Vec<u8>> {
        let text = |max: usize| prop::collection::vec(1u8..=255, 0..=max);
        (
            1u8..=2,
            any::<u16>(),
            any::<[u8; 4]>(),
            text(SOCKS4_MAX_USER_ID),
            prop::option::of((1u8..=255, text(SOCKS4_MAX_DOMAIN - 1))),
        )
            .prop_map(|(command, port, ip, user, socks4a)| {
                let mut request = vec![0x04, command];
                request.extend(port.to_be_bytes());
                match &socks4a {
                    Some((last, _)) => request.extend([0, 0, 0, *last]),
                    None => request.extend(ip),
                }
                request.extend(&user);
                request.push(0);
                if let Some((_, domain)) = socks4a {
                    request.extend(b"x");
                    request.extend(domain);
                    request.push(0);
                }
                request
            })
    }

    proptest! {
        #[test]
        fn socks5_monotone(data in near_miss(socks5_greeting_bytes())) {
            Conformance::new(&socks5()).assert(&data);
            prop_assert_eq!(socks5().verdict(&data), naive_socks5(&data));
        }

        #[test]
        fn socks5_greetings_match(greeting in socks5_greeting_bytes()) {
            prop_assert_eq!(socks5().verdict(&greeting), Match);
            prop_assert_eq!(socks5().verdict(&greeting[..greeting.len() - 1]), NeedMore);
            prop_assert_eq!(socks5_methods(&greeting), Some(&greeting[2..]));
        }

        #[test]
        fn socks5_decides_within_257_bytes(data in prop::collection::vec(any::<u8>(), 255..300)) {
            let mut opened = vec![0x05, 0xff];
            opened.extend(&data);
            prop_assert_ne!(socks5().verdict(&opened), NeedMore);
            prop_assert_ne!(socks5().verdict(&data), NeedMore);
        }

        #[test]
        fn socks4_monotone(data in near_miss(socks4_request_bytes())) {
            Conformance::new(&socks4()).assert(&data);
        }

        #[test]
        fn socks4_requests_match(request in socks4_request_bytes()) {
            prop_assert_eq!(socks4().verdict(&request), Match);
            prop_assert_eq!(socks4().verdict(&request[..request.len() - 1]), NeedMore);
            prop_assert!(socks4_request(&request).is_some());
        }

        #[test]
        fn socks4_decides_within_520_bytes(
            header in any::<[u8; 6]>(),
            rest in prop::collection::vec(prop::sample::select(&[0u8, 1, b'a'][..]), 512..600),
        ) {
            let mut opened = vec![0x04, 0x01];
            opened.extend(header);
            opened.extend(rest);
            Conformance::new(&socks4()).bound(520).fuzz(&opened);
        }
    }
}
