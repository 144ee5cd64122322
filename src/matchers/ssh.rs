//! SSH by the client's identification string (RFC 4253 section 4.2), the
//! first line every SSH 2 client sends:
//!
//! ```text
//! SSH-protoversion-softwareversion SP comments CR LF
//!
//! protoversion     "2.0", or "1.99" for an implementation that also speaks
//!                  SSH 1 (section 5.1)
//! softwareversion  1*(printable US-ASCII except space and "-")
//! SP comments      optional
//! line             at most 255 bytes including CR LF; older
//!                  implementations end it with LF alone
//! ```
//!
//! A server may send other lines before its identification string, but a
//! client must not, so a connection that does not open with `SSH-` is not
//! an SSH client.
//!
//! Two readings of that line, for two jobs:
//!
//! - [`ssh`] routes. It takes what a port sharer should send to its SSH
//!   backend, as sslh does: sslh's probe takes any opening that starts
//!   with `SSH-`, and its tests route `SSH-2.0 hello` and `SSH-2.0 tester`
//!   (no software version) to SSH. The backend, not the router, is the one
//!   to refuse an SSH 1 client or a malformed line, and nothing else could
//!   want such a connection. The matcher asks a little more than sslh, so
//!   that it does not take text that merely starts with `SSH-`: a protocol
//!   version of digits, a dot and digits, then the byte that ends it.
//! - [`ssh_identification`] reports. It parses only an RFC 4253 line of
//!   protocol version `2.0` or `1.99`, so the fields it gives are the ones
//!   an SSH 2 server reads; for the other openings the matcher takes it
//!   gives `None`.

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

/// The openings of an RFC 4253 identification string, up to the software
/// version, that [`ssh_identification`] parses.
const IDENTIFICATION_PREFIXES: [&[u8]; 2] = [b"SSH-2.0-", b"SSH-1.99-"];
/// RFC 4253 section 4.2: the identification line, CR LF included.
const MAX_IDENTIFICATION_LENGTH: usize = 255;
/// The most digits in either number of a protocol version the matcher
/// takes. Every version in use has one or two (`2.0`, `1.99`, `1.5`); the
/// bound keeps a stream of digits from holding the decision up.
const MAX_VERSION_DIGITS: usize = 3;

/// Matches an SSH client's opening; see [`ssh`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Ssh;

/// A matcher for SSH clients: an opening of `SSH-`, a protocol version,
/// and the byte that ends it.
///
/// ```text
/// SSH- 1*3DIGIT "." 1*3DIGIT ( "-" / SP / CR / LF )
/// ```
///
/// That takes every RFC 4253 line (`SSH-2.0-OpenSSH_9.2p1`,
/// `SSH-1.99-Cisco-1.25`), SSH 1 clients (`SSH-1.5-...`), and the openings
/// without a software version that sslh routes as SSH (its tests send
/// `SSH-2.0 hello`): a port sharer should hand the SSH backend whatever
/// only SSH could be, and leave refusing an old or malformed client to
/// it. Asking for a version after `SSH-` keeps text that merely starts
/// with `SSH-` out. [`ssh_identification`] is stricter: it reads the
/// fields of RFC 4253 lines only. It says `Match` at the byte after
/// the version and `NoMatch` at the first byte that breaks the opening, so
/// it decides within 12 bytes.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::ssh;
///
/// assert_eq!(ssh().verdict(b"SSH-2.0-OpenSSH_9.2p1\r\n"), Verdict::Match);
/// assert_eq!(ssh().verdict(b"SSH-1.5-"), Verdict::Match);
/// assert_eq!(ssh().verdict(b"SSH-2.0 hello"), Verdict::Match);
/// assert_eq!(ssh().verdict(b"SSH-2.0"), Verdict::NeedMore);
/// assert_eq!(ssh().verdict(b"SSH-capable hosts\n"), Verdict::NoMatch);
/// assert_eq!(ssh().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn ssh() -> Ssh {
    Ssh
}

impl Matcher for Ssh {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match read_opening(&mut Cursor::new(seen)) {
            Ok(()) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// Reads `SSH-`, the protocol version and the byte that ends it.
fn read_opening(opening: &mut Cursor<'_>) -> Result<(), Stop> {
    for &expected in b"SSH-" {
        require(opening.u8()? == expected)?;
    }
    require(read_version_number(opening)? == b'.')?;
    let end = read_version_number(opening)?;
    require(matches!(end, b'-' | b' ' | b'\r' | b'\n'))
}

/// Reads one number of a protocol version, 1 to [`MAX_VERSION_DIGITS`]
/// digits, and returns the byte after it.
fn read_version_number(opening: &mut Cursor<'_>) -> Result<u8, Stop> {
    let mut digits = 0;
    loop {
        let byte = opening.u8()?;
        if !byte.is_ascii_digit() {
            require(digits > 0)?;
            return Ok(byte);
        }
        digits += 1;
        require(digits <= MAX_VERSION_DIGITS)?;
    }
}

/// RFC 4253 section 4.2: printable US-ASCII, no whitespace, no minus sign.
fn is_software_version_byte(byte: u8) -> bool {
    byte.is_ascii_graphic() && byte != b'-'
}

/// The parts of a complete SSH identification line; see
/// [`ssh_identification`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshIdentification<'a> {
    /// `2.0` or `1.99`.
    pub proto_version: &'a str,
    /// The software name and version, such as `OpenSSH_9.2p1`.
    pub software_version: &'a str,
    /// The free text after the space, such as `Debian-2+deb12u6`, if any.
    pub comments: Option<&'a str>,
}

/// The client's identification line, once all of it (up to LF) has
/// arrived, or `None` if `seen` does not start with a complete one.
///
/// This is the RFC 4253 reading, stricter than [`ssh`]'s, which routes:
/// the protocol version must be `2.0` or
/// `1.99` and a software version must follow its `-`, so an SSH 1 client
/// (`SSH-1.5-...`) or an opening without a software version
/// (`SSH-2.0 hello`) is routed by the matcher but has no identification
/// here. The software version must start with a byte RFC 4253 allows and
/// be printable, but may contain `-` (Cisco sends `SSH-1.99-Cisco-1.25`);
/// the comments must be UTF-8.
///
/// ```
/// use connmux::matchers::ssh_identification;
///
/// let line = ssh_identification(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\r\n").unwrap();
/// assert_eq!(line.proto_version, "2.0");
/// assert_eq!(line.software_version, "OpenSSH_9.2p1");
/// assert_eq!(line.comments, Some("Debian-2+deb12u6"));
/// assert_eq!(ssh_identification(b"SSH-2.0-OpenSSH_9.2p1"), None);
/// assert_eq!(ssh_identification(b"SSH-2.0 hello\r\n"), None);
/// assert_eq!(ssh_identification(b"SSH-1.5-OpenSSH_3.9p1\r\n"), None);
/// ```
pub fn ssh_identification(seen: &[u8]) -> Option<SshIdentification<'_>> {
    let prefix = IDENTIFICATION_PREFIXES
        .into_iter()
        .find(|prefix| seen.starts_with(prefix))?;
    let line_end = seen
        .iter()
        .take(MAX_IDENTIFICATION_LENGTH)
        .position(|&byte| byte == b'\n')?;
    let line = seen.get(prefix.len()..line_end)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.splitn(2, |&byte| byte == b' ');
    let software_version = parts.next()?;
    let comments = parts.next();
    if !software_version
        .first()
        .is_some_and(|&first| is_software_version_byte(first))
        || !software_version.iter().all(u8::is_ascii_graphic)
    {
        return None;
    }
    let proto_version = prefix.get(4..prefix.len() - 1)?;
    Some(SshIdentification {
        proto_version: std::str::from_utf8(proto_version).ok()?,
        software_version: std::str::from_utf8(software_version).ok()?,
        comments: comments.map(std::str::from_utf8).transpose().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Conformance;
    use crate::matchers::testing::near_miss;
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    const OPENSSH: &[u8] = include_bytes!("../../tests/fixtures/ssh-openssh.bin");
    /// The longest opening the matcher reads before it decides: `SSH-`,
    /// two numbers of [`MAX_VERSION_DIGITS`], the dot, and the byte after.
    const MAX_OPENING_LENGTH: usize = 4 + 2 * MAX_VERSION_DIGITS + 2;

    /// Whether `candidate` is a whole opening, read straight off the
    /// grammar in [`ssh`]'s documentation.
    fn is_opening(candidate: &[u8]) -> bool {
        let Some((&end, version)) = candidate
            .strip_prefix(b"SSH-")
            .and_then(|rest| rest.split_last())
        else {
            return false;
        };
        let Some(dot) = version.iter().position(|&byte| byte == b'.') else {
            return false;
        };
        let number = |digits: &[u8]| {
            (1..=MAX_VERSION_DIGITS).contains(&digits.len())
                && digits.iter().all(u8::is_ascii_digit)
        };
        number(&version[..dot]) && number(&version[dot + 1..]) && b"- \r\n".contains(&end)
    }

    /// The matcher's verdict worked out naively: `Match` if some prefix is
    /// an opening, `NeedMore` if a short tail could still make one.
    fn naive(seen: &[u8]) -> Verdict {
        let tails: [&[u8]; 5] = [b"-", b"0-", b".0-", b"0.0-", b"SSH-0.0-"];
        if (0..=seen.len()).any(|end| is_opening(&seen[..end])) {
            Match
        } else if tails.iter().any(|tail| is_opening(&[seen, tail].concat()))
            || b"SSH-".starts_with(seen)
        {
            NeedMore
        } else {
            NoMatch
        }
    }

    #[test]
    fn decides_at_the_byte_after_the_version() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"SSH-2.0-", Match),
            (b"SSH-1.99-", Match),
            (b"SSH-1.5-", Match),
            (b"SSH-2.0 ", Match),
            (b"SSH-2.0\r", Match),
            (b"SSH-2.0\n", Match),
            (b"SSH-10.0-", Match),
            (b"SSH-999.999-", Match),
            (b"s", NoMatch),
            (b"SSH_", NoMatch),
            (b"SSH- ", NoMatch),
            (b"SSH-x", NoMatch),
            (b"SSH-.", NoMatch),
            (b"SSH-2-", NoMatch),
            (b"SSH-2 ", NoMatch),
            (b"SSH-2.-", NoMatch),
            (b"SSH-2.x", NoMatch),
            (b"SSH-2.0x", NoMatch),
            (b"SSH-2.0\t", NoMatch),
            (b"SSH-2.0.", NoMatch),
            (b"SSH-9999", NoMatch),
            (b"SSH-2.9999", NoMatch),
            (b"G", NoMatch),
            (b"\x16", NoMatch),
        ];
        for &(seen, want) in cases {
            for length in 0..seen.len() {
                assert_eq!(
                    ssh().verdict(&seen[..length]),
                    NeedMore,
                    "{length} of {seen:?}"
                );
            }
            assert_eq!(ssh().verdict(seen), want, "{seen:?}");
            assert_eq!(naive(seen), want, "naive {seen:?}");
        }
        assert_eq!(MAX_OPENING_LENGTH, b"SSH-999.999-".len());
    }

    #[test]
    fn ordinary_text_and_other_protocols_do_not_match() {
        for seen in [
            &b"SSH-capable hosts only\n"[..],
            b"SSH is a protocol\n",
            b"SSH-2 is the version\n",
            b"ssh-2.0-OpenSSH_9.2p1\r\n",
            b"GET / HTTP/1.1\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        ] {
            assert_eq!(ssh().verdict(seen), NoMatch, "{seen:?}");
        }
    }

    /// Openings sslh's own tests route to its SSH backend
    /// (yrutschle/sslh `t/run`, `t_load`, `t_old`), and SSH 1.
    #[test]
    fn sslh_openings_match() {
        for opening in [
            &b"SSH-2.0 hello"[..],
            b"SSH-2.0 Tester banner\n",
            b"SSH-2.0 tester",
            b"SSH-1.5-OpenSSH_3.9p1\r\n",
        ] {
            assert_eq!(ssh().verdict(opening), Match, "{opening:?}");
        }
    }

    #[test]
    fn openssh_capture() {
        assert_eq!(ssh().verdict(OPENSSH), Match);
        assert_eq!(ssh().verdict(&OPENSSH[..8]), Match);
        for length in 0..8 {
            assert_eq!(ssh().verdict(&OPENSSH[..length]), NeedMore, "{length}");
        }
        let line = ssh_identification(OPENSSH).unwrap();
        assert_eq!(line.proto_version, "2.0");
        assert_eq!(line.software_version, "OpenSSH_9.2p1");
        assert_eq!(line.comments, Some("Debian-2+deb12u6"));
    }

    #[test]
    fn identification_lines() {
        let found = |proto_version, software_version, comments| {
            Some(SshIdentification {
                proto_version,
                software_version,
                comments,
            })
        };
        let cases: &[(&[u8], Option<SshIdentification>)] = &[
            (b"SSH-2.0-x\r\n", found("2.0", "x", None)),
            (b"SSH-2.0-x\n", found("2.0", "x", None)),
            (
                b"SSH-1.99-Cisco-1.25\r\n",
                found("1.99", "Cisco-1.25", None),
            ),
            (b"SSH-2.0-Go a b\r\n", found("2.0", "Go", Some("a b"))),
            (
                b"SSH-2.0-PuTTY_0.80\r\nrest",
                found("2.0", "PuTTY_0.80", None),
            ),
            (b"SSH-2.0--x\r\n", None),
            (b"SSH-2.0-a\tb\r\n", None),
            (b"SSH-2.0-x \xff\r\n", None),
            (b"SSH-2.0-\r\n", None),
            (b"SSH-2.0-x", None),
            (b"SSH-2.0-x\r", None),
            (b"SSH-1.5-x\r\n", None),
            (b"SSH-2.0 hello\r\n", None),
            (b"SSH-2.0\r\n", None),
        ];
        for (seen, want) in cases {
            assert_eq!(ssh_identification(seen), *want, "{seen:?}");
        }
        let mut long = b"SSH-2.0-".to_vec();
        long.resize(MAX_IDENTIFICATION_LENGTH, b'x');
        long.extend(b"\r\n");
        assert_eq!(ssh_identification(&long), None);
    }

    fn identification() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(&IDENTIFICATION_PREFIXES[..]),
            "[!-,.-~]{1,40}",
            prop::option::of("[ -~]{0,40}"),
        )
            .prop_map(|(prefix, software, comments)| {
                let mut line = prefix.to_vec();
                line.extend(software.as_bytes());
                if let Some(comments) = comments {
                    line.push(b' ');
                    line.extend(comments.as_bytes());
                }
                line.extend(b"\r\n");
                line
            })
    }

    /// An opening the matcher takes but RFC 4253 may not: any protocol
    /// version, any end, then anything.
    fn opening() -> impl Strategy<Value = Vec<u8>> {
        (
            "SSH-[0-9]{1,3}\\.[0-9]{1,3}[- \r\n]",
            prop::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(opening, rest)| [opening.as_bytes(), &rest].concat())
    }

    proptest! {
        #[test]
        fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
            Conformance::new(&ssh()).assert(&data);
            prop_assert_eq!(ssh().verdict(&data), naive(&data));
        }

        #[test]
        fn monotone_near_openings(data in near_miss(prop_oneof![identification(), opening()])) {
            Conformance::new(&ssh()).assert(&data);
            prop_assert_eq!(ssh().verdict(&data), naive(&data));
        }

        #[test]
        fn openings_match(opening in opening()) {
            prop_assert_eq!(ssh().verdict(&opening), Match);
        }

        #[test]
        fn identifications_match(line in identification()) {
            prop_assert_eq!(ssh().verdict(&line), Match);
            let id = ssh_identification(&line).unwrap();
            prop_assert!(line.starts_with(b"SSH-"));
            prop_assert!(!id.software_version.is_empty());
        }

        /// Whatever the strict parse reads, the lenient matcher takes.
        #[test]
        fn the_matcher_takes_every_identification(data in near_miss(identification())) {
            if ssh_identification(&data).is_some() {
                prop_assert_eq!(ssh().verdict(&data), Match);
            }
        }

        #[test]
        fn decides_within_its_longest_opening(
            data in prop::collection::vec(any::<u8>(), MAX_OPENING_LENGTH..20),
            version in "[0-9]{0,4}\\.?[0-9]{0,4}",
        ) {
            Conformance::new(&ssh()).bound(MAX_OPENING_LENGTH).fuzz(&data);
            let opened = [b"SSH-", version.as_bytes(), &data].concat();
            Conformance::new(&ssh()).bound(MAX_OPENING_LENGTH).fuzz(&opened);
        }
    }
}
