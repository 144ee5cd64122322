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
//! an SSH client. The matcher decides within the first 10 bytes, before the
//! client waits for the server's identification.

use crate::matcher::{Matcher, Verdict};
use crate::matchers::prefix::prefix_verdict;

/// The openings of an SSH 2 identification string, up to the software
/// version.
const IDENTIFICATION_PREFIXES: [&[u8]; 2] = [b"SSH-2.0-", b"SSH-1.99-"];
/// RFC 4253 section 4.2: the identification line, CR LF included.
const MAX_IDENTIFICATION_LENGTH: usize = 255;

/// Matches an SSH 2 client's identification string; see [`ssh`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Ssh;

/// A matcher for SSH 2 clients (protocol version `2.0` or `1.99`).
///
/// It says `Match` once `SSH-2.0-` or `SSH-1.99-` and the first byte of the
/// software version have arrived, and `NoMatch` at the first byte that
/// breaks that, so it decides within 10 bytes. SSH 1 clients (`SSH-1.5-`)
/// do not match.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::ssh;
///
/// assert_eq!(ssh().verdict(b"SSH-2.0-OpenSSH_9.2p1\r\n"), Verdict::Match);
/// assert_eq!(ssh().verdict(b"SSH-2.0-"), Verdict::NeedMore);
/// assert_eq!(ssh().verdict(b"SSH-1.5-"), Verdict::NoMatch);
/// assert_eq!(ssh().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn ssh() -> Ssh {
    Ssh
}

impl Matcher for Ssh {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        let mut verdict = Verdict::NoMatch;
        for prefix in IDENTIFICATION_PREFIXES {
            match prefix_verdict(seen, prefix) {
                Verdict::Match => {
                    return match seen.get(prefix.len()) {
                        Some(&first) => Verdict::from_bool(is_software_version_byte(first)),
                        None => Verdict::NeedMore,
                    }
                }
                Verdict::NeedMore => verdict = Verdict::NeedMore,
                Verdict::NoMatch => {}
            }
        }
        verdict
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
/// It is as lenient as the matcher: the software version must start with a
/// byte RFC 4253 allows and be printable, but may contain `-` (Cisco sends
/// `SSH-1.99-Cisco-1.25`); the comments must be UTF-8.
///
/// ```
/// use connmux::matchers::ssh_identification;
///
/// let line = ssh_identification(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\r\n").unwrap();
/// assert_eq!(line.proto_version, "2.0");
/// assert_eq!(line.software_version, "OpenSSH_9.2p1");
/// assert_eq!(line.comments, Some("Debian-2+deb12u6"));
/// assert_eq!(ssh_identification(b"SSH-2.0-OpenSSH_9.2p1"), None);
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
    use crate::fuzzing::check_monotone;
    use crate::matchers::testing::near_miss;
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    const OPENSSH: &[u8] = include_bytes!("testdata/ssh_openssh.bin");

    /// The definition read straight off RFC 4253, to check the matcher
    /// against.
    fn naive(seen: &[u8]) -> Verdict {
        let complete = |p: &[u8]| seen.len() > p.len() && seen.starts_with(p);
        if IDENTIFICATION_PREFIXES.iter().any(|p| complete(p)) {
            let p = IDENTIFICATION_PREFIXES
                .iter()
                .find(|p| complete(p))
                .unwrap();
            Verdict::from_bool(is_software_version_byte(seen[p.len()]))
        } else if IDENTIFICATION_PREFIXES.iter().any(|p| p.starts_with(seen)) {
            NeedMore
        } else {
            NoMatch
        }
    }

    #[test]
    fn table() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (b"S", NeedMore),
            (b"SSH-", NeedMore),
            (b"SSH-2", NeedMore),
            (b"SSH-2.0-", NeedMore),
            (b"SSH-2.0-O", Match),
            (b"SSH-2.0-OpenSSH_9.2p1\r\n", Match),
            (b"SSH-1.99-", NeedMore),
            (b"SSH-1.99-Cisco-1.25\r\n", Match),
            (b"SSH-1.9", NeedMore),
            (b"SSH-1.5-", NoMatch),
            (b"SSH-2.0--", NoMatch),
            (b"SSH-2.0- ", NoMatch),
            (b"SSH-2.0-\r\n", NoMatch),
            (b"SSH-2.0-\x7f", NoMatch),
            (b"SSH-2.1-x", NoMatch),
            (b"SSH_2.0-x", NoMatch),
            (b"ssh-2.0-x", NoMatch),
            (b"GET / HTTP/1.1\r\n", NoMatch),
            (b"\x16\x03\x01", NoMatch),
        ];
        for (seen, want) in cases {
            assert_eq!(ssh().verdict(seen), *want, "{seen:?}");
            assert_eq!(naive(seen), *want, "naive {seen:?}");
        }
    }

    #[test]
    fn openssh_capture() {
        assert_eq!(ssh().verdict(OPENSSH), Match);
        assert_eq!(ssh().verdict(&OPENSSH[..9]), Match);
        for length in 0..9 {
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

    proptest! {
        #[test]
        fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
            check_monotone(0, &ssh(), &data);
            prop_assert_eq!(ssh().verdict(&data), naive(&data));
        }

        #[test]
        fn monotone_near_identifications(data in near_miss(identification())) {
            check_monotone(0, &ssh(), &data);
            prop_assert_eq!(ssh().verdict(&data), naive(&data));
        }

        #[test]
        fn identifications_match(line in identification()) {
            prop_assert_eq!(ssh().verdict(&line), Match);
            let id = ssh_identification(&line).unwrap();
            prop_assert!(line.starts_with(b"SSH-"));
            prop_assert!(!id.software_version.is_empty());
        }

        #[test]
        fn decides_within_ten_bytes(data in prop::collection::vec(any::<u8>(), 10..20)) {
            prop_assert_ne!(ssh().verdict(&data), NeedMore);
            let mut opened = b"SSH-1.99-".to_vec();
            opened.extend(&data);
            prop_assert_ne!(ssh().verdict(&opened[..10]), NeedMore);
        }
    }
}
