//! tinc VPN daemons by their ID request, the first line a connecting tinc
//! sends (tinc's `protocol_auth.c`, `send_id` and `id_h`; the meta
//! protocol in tinc's manual, "The meta-protocol"):
//!
//! ```text
//! "0" SP name SP "17" [ "." minor ] LF
//!
//! 0      the request number of ID
//! name   the node's name: 1*(ALPHA / DIGIT / "_"), tinc's check_id; or,
//!        from `tinc join`, "?" and the invited node's throw-away public
//!        key in base64
//! 17     the protocol major version of tinc 1.0 and 1.1; a daemon refuses
//!        any other (id_h: "Peer uses incompatible version")
//! minor  1 to 3 digits, sent by tinc 1.1 ("17.7"); tinc 1.0 sends "17"
//! ```
//!
//! tinc 1.0.36 connecting as `connmux_test` sends `0 connmux_test 17\n`;
//! tinc 1.1 sends `0 connmux_test 17.7\n`. sslh's probe
//! (`is_tinc_protocol`) takes any opening of `0 `; this matcher asks for
//! the whole request up to the byte after the major version.
//!
//! A node's name names its host configuration file (`hosts/NAME`), so it
//! is at most 255 bytes, the longest file name Linux and the BSDs allow;
//! that bounds the line the matcher reads. Not matched: tinc's control
//! connections (name `^` and a cookie), which the `tinc` command opens to
//! its own daemon, not across the network.

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

const ID_REQUEST: &[u8] = b"0 ";
const PROTOCOL_MAJOR: &[u8] = b"17";
const INVITATION: u8 = b'?';
/// The longest name: a file name's limit, `NAME_MAX`.
const MAX_NAME_LENGTH: usize = 255;
/// `id_h` reads the minor version with `%3d`.
const MAX_MINOR_DIGITS: usize = 3;

/// Matches a tinc daemon's ID request; see [`tinc`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Tinc;

/// A matcher for tinc VPN daemons (1.0 and 1.1) and `tinc join` by their
/// ID request: `0`, a space, a node name of letters, digits and `_` (or `?`
/// and a base64 key, for an invitation), a space and protocol version 17.
///
/// It says `Match` at the byte after `17`, a `.` (tinc 1.1) or the line
/// feed (tinc 1.0), and `NoMatch` at the first byte no ID request allows,
/// so it decides within 262 bytes (a name is at most 255 bytes).
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::tinc;
///
/// assert_eq!(tinc().verdict(b"0 connmux_test 17\n"), Verdict::Match);
/// assert_eq!(tinc().verdict(b"0 alpha 17.7\n"), Verdict::Match);
/// assert_eq!(tinc().verdict(b"0 alpha 17"), Verdict::NeedMore);
/// assert_eq!(tinc().verdict(b"0 alpha 16.0\n"), Verdict::NoMatch);
/// assert_eq!(tinc().verdict(b"0 al-pha"), Verdict::NoMatch);
/// ```
pub fn tinc() -> Tinc {
    Tinc
}

impl Matcher for Tinc {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match read_opening(&mut Cursor::new(seen)) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// The fields of a tinc ID request; see [`tinc_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TincId<'a> {
    /// The connecting node's name, or for an invitation `?` and the
    /// invited node's public key.
    pub name: &'a str,
    /// The protocol minor version tinc 1.1 sends (the major is always 17);
    /// `None` from tinc 1.0.
    pub minor: Option<u16>,
}

impl TincId<'_> {
    /// Whether this is `tinc join` redeeming an invitation rather than a
    /// node connecting.
    ///
    /// ```
    /// use connmux::matchers::tinc_id;
    ///
    /// let join = tinc_id(b"0 ?Bl0b-Of_Base64 17.1\n").unwrap();
    /// assert!(join.is_invitation());
    /// assert!(!tinc_id(b"0 alpha 17.7\n").unwrap().is_invitation());
    /// ```
    pub fn is_invitation(&self) -> bool {
        self.name.as_bytes().first() == Some(&INVITATION)
    }
}

/// The fields of a tinc ID request, once its line feed has arrived, or
/// `None` if `seen` does not start with a whole one: the [`tinc`]
/// matcher's opening, then, after a `.`, 1 to 3 digits of minor version.
///
/// ```
/// use connmux::matchers::tinc_id;
///
/// let id = tinc_id(b"0 connmux_test 17.7\n").unwrap();
/// assert_eq!(id.name, "connmux_test");
/// assert_eq!(id.minor, Some(7));
/// assert_eq!(tinc_id(b"0 connmux_test 17\n").unwrap().minor, None);
/// assert_eq!(tinc_id(b"0 connmux_test 17.7"), None);
/// ```
pub fn tinc_id(seen: &[u8]) -> Option<TincId<'_>> {
    let mut line = Cursor::new(seen);
    let (name, end) = read_opening(&mut line).ok()?;
    let minor = match end {
        b'.' => {
            let digits = line.take_while(|byte| byte.is_ascii_digit());
            if !(1..=MAX_MINOR_DIGITS).contains(&digits.len()) || line.u8().ok()? != b'\n' {
                return None;
            }
            Some(std::str::from_utf8(digits).ok()?.parse().ok()?)
        }
        _ => None,
    };
    Some(TincId {
        name: std::str::from_utf8(name).ok()?,
        minor,
    })
}

/// Reads the ID request up to the byte after the major version, and
/// returns the name and that byte.
fn read_opening<'a>(line: &mut Cursor<'a>) -> Result<(&'a [u8], u8), Stop> {
    line.expect(ID_REQUEST)?;
    let name = read_name(line)?;
    line.expect(PROTOCOL_MAJOR)?;
    let end = line.u8()?;
    require(end == b'.' || end == b'\n')?;
    Ok((name, end))
}

/// Reads a node name, or `?` and an invitation key, and the space after it.
fn read_name<'a>(line: &mut Cursor<'a>) -> Result<&'a [u8], Stop> {
    let mut name = line.clone();
    let invitation = line.peek()? == INVITATION;
    let allowed: fn(u8) -> bool = if invitation {
        line.skip(1)?;
        is_base64_byte
    } else {
        is_name_byte
    };
    let run = line.take_while(allowed);
    require(!run.is_empty() || line.remaining() == 0)?;
    require(run.len() <= MAX_NAME_LENGTH)?;
    require(line.u8()? == b' ')?;
    name.take(usize::from(invitation) + run.len())
}

/// tinc's `check_id`: a node name is letters, digits and underscores.
fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// A byte of base64, in the standard or the URL-safe alphabet, unpadded.
fn is_base64_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Conformance;
    use crate::internal::check_settles;
    use crate::matchers::testing::{
        assert_apart, assert_builtin_routes_chunking, assert_decides, near_miss,
    };
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    /// What tinc 1.0.36 (Debian 12's `tinc` 1.0.36-2) sent to a Python
    /// listener on 127.0.0.1, run as `tincd -c DIR -D` with `Name =
    /// connmux_test`, `ConnectTo = beta` and `DeviceType = dummy`.
    const TINCD_1_0_36: &[u8] = b"0 connmux_test 17\n";
    /// The most bytes the matcher reads: `0 `, `?` and the longest name, a
    /// space, `17` and the byte after it.
    const MAX_OPENING_LENGTH: usize = ID_REQUEST.len() + 1 + MAX_NAME_LENGTH + 1 + 3;

    /// The grammar in the module documentation, read naively: `Match` if
    /// some prefix is a whole opening, `NeedMore` if a short tail could
    /// still make one.
    fn naive(seen: &[u8]) -> Verdict {
        let is_opening = |candidate: &[u8]| {
            let Some(rest) = candidate.strip_prefix(b"0 ") else {
                return false;
            };
            let Some(space) = rest.iter().position(|&byte| byte == b' ') else {
                return false;
            };
            let (name, version) = rest.split_at(space);
            let (allowed, name): (fn(u8) -> bool, _) = match name.split_first() {
                Some((b'?', key)) => (is_base64_byte, key),
                _ => (is_name_byte, name),
            };
            (1..=255).contains(&name.len())
                && name.iter().all(|&byte| allowed(byte))
                && (version == b" 17." || version == b" 17\n")
        };
        if (0..=seen.len()).any(|end| is_opening(&seen[..end])) {
            Match
        } else if [&b"a 17."[..], b" 17.", b"17.", b"7.", b"."]
            .iter()
            .any(|tail| is_opening(&[seen, tail].concat()))
            || b"0 ".starts_with(seen)
        {
            NeedMore
        } else {
            NoMatch
        }
    }

    #[test]
    fn decides_at_the_byte_after_the_major_version() {
        let long_name = [b"0 ".as_slice(), &[b'n'; 255], b" 17\n"].concat();
        let long_key = [b"0 ?".as_slice(), &[b'k'; 255], b" 17."].concat();
        let cases: &[(&[u8], Verdict)] = &[
            (b"0 a 17\n", Match),
            (b"0 a 17.", Match),
            (b"0 Node_9 17.", Match),
            (b"0 ?abc+/-_ 17.", Match),
            (&long_name, Match),
            (&long_key, Match),
            (b"1", NoMatch),
            (b"0x", NoMatch),
            (b"0  ", NoMatch),
            (b"0 a-", NoMatch),
            (b"0 a.", NoMatch),
            (b"0 a\n", NoMatch),
            (b"0 ^", NoMatch),
            (b"0 ? ", NoMatch),
            (b"0 ?a=", NoMatch),
            (b"0 a  ", NoMatch),
            (b"0 a 1\n", NoMatch),
            (b"0 a 16", NoMatch),
            (b"0 a 170", NoMatch),
            (b"0 a 17 ", NoMatch),
            (b"0 a 17\r", NoMatch),
        ];
        for &(seen, want) in cases {
            assert_decides(&tinc(), seen, want);
            if want != Match {
                for length in 0..seen.len() {
                    assert_eq!(
                        tinc().verdict(&seen[..length]),
                        NeedMore,
                        "{length} of {seen:?}"
                    );
                }
            }
            assert_eq!(naive(seen), want, "naive {seen:?}");
        }
        let too_long = [b"0 ".as_slice(), &[b'n'; 256]].concat();
        assert_eq!(tinc().verdict(&too_long), NoMatch);
        assert_eq!(tinc().verdict(&too_long[..257]), NeedMore);
        let too_long_key = [b"0 ?".as_slice(), &[b'k'; 256]].concat();
        assert_eq!(tinc().verdict(&too_long_key), NoMatch);
        assert_eq!(long_key.len(), MAX_OPENING_LENGTH);
    }

    #[test]
    fn id_lines() {
        let found = |name, minor| Some(TincId { name, minor });
        let cases: &[(&[u8], Option<TincId>)] = &[
            (TINCD_1_0_36, found("connmux_test", None)),
            (b"0 alpha 17.7\n", found("alpha", Some(7))),
            (b"0 alpha 17.0\n", found("alpha", Some(0))),
            (b"0 alpha 17.999\n", found("alpha", Some(999))),
            (b"0 ?key 17.1\nrest", found("?key", Some(1))),
            (b"0 alpha 17.1000\n", None),
            (b"0 alpha 17.\n", None),
            (b"0 alpha 17.7 \n", None),
            (b"0 alpha 17.7", None),
            (b"0 alpha 17", None),
        ];
        for (seen, want) in cases {
            assert_eq!(tinc_id(seen), *want, "{seen:?}");
        }
        let long_name = [b"0 ".as_slice(), &[b'n'; 255], b" 17\n"].concat();
        assert_eq!(tinc_id(&long_name).unwrap().name.len(), 255);
    }

    #[test]
    fn tincd_capture() {
        assert_decides(&tinc(), TINCD_1_0_36, Match);
        assert!(!tinc_id(TINCD_1_0_36).unwrap().is_invitation());
    }

    #[test]
    fn other_protocols_keep_apart() {
        assert_apart(
            "tinc",
            1,
            &[TINCD_1_0_36, b"0 alpha 17.7\n", b"0 ?key 17.1\n"],
        );
    }

    /// An ID request: a name or an invitation key, a minor version or
    /// none, then anything.
    fn id_line() -> impl Strategy<Value = Vec<u8>> {
        (
            "[A-Za-z0-9_]{1,40}|\\?[A-Za-z0-9+/_-]{1,60}",
            prop::option::of("[0-9]{1,3}"),
            prop::collection::vec(any::<u8>(), 0..16),
        )
            .prop_map(|(name, minor, tail)| {
                let version = minor.map_or("17".to_owned(), |minor| format!("17.{minor}"));
                [format!("0 {name} {version}\n").as_bytes(), &tail].concat()
            })
    }

    proptest! {
        #[test]
        fn id_lines_match(line in id_line()) {
            prop_assert_eq!(tinc().verdict(&line), Match);
            prop_assert!(tinc_id(&line).is_some());
        }

        #[test]
        fn monotone_near_id_lines(data in near_miss(id_line())) {
            Conformance::new(&tinc()).assert(&data);
            let owned = |seen: &[u8]| tinc_id(seen).map(|id| (id.name.to_owned(), id.minor));
            check_settles("tinc_id", &data, owned, Option::is_some);
            prop_assert_eq!(tinc().verdict(&data), naive(&data));
            if tinc_id(&data).is_some() {
                prop_assert_eq!(tinc().verdict(&data), Match);
            }
        }

        #[test]
        fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
            Conformance::new(&tinc()).assert(&data);
            prop_assert_eq!(tinc().verdict(&data), naive(&data));
            let opened = [b"0 ", &data[..]].concat();
            Conformance::new(&tinc()).assert(&opened);
            prop_assert_eq!(tinc().verdict(&opened), naive(&opened));
        }

        #[test]
        fn chunking_does_not_change_the_decision(
            data in near_miss(id_line()),
            chunk_sizes in prop::collection::vec(1usize..=256, 1..8),
        ) {
            assert_builtin_routes_chunking(&data, &chunk_sizes);
        }

        #[test]
        fn decides_within_its_bound(
            name in "\\??[A-Za-z0-9_]{0,300}",
            tail in prop::collection::vec(any::<u8>(), MAX_OPENING_LENGTH),
        ) {
            let data = [format!("0 {name}").as_bytes(), &tail].concat();
            Conformance::new(&tinc()).bound(MAX_OPENING_LENGTH).fuzz(&data);
        }
    }
}
