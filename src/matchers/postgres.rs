//! PostgreSQL clients by their first message (PostgreSQL documentation,
//! "Frontend/Backend Protocol", sections "Start-up" and "Message Formats").
//!
//! The first message has no type byte, only a length and a code:
//!
//! ```text
//! Int32 length (self included) | Int32 code | body
//!
//! SSLRequest      length 8        code 80877103 (0x04D2162F)
//! GSSENCRequest   length 8        code 80877104 (0x04D21630)
//! CancelRequest   length 16..=268 code 80877102 (0x04D2162E)
//!                 | Int32 process ID | secret key: 4 bytes in protocol 3.0,
//!                 up to 256 in protocol 3.2 (PostgreSQL 18)
//! StartupMessage  length 9..=10004 code 0x0003_00mm (protocol 3.mm, mm 0..=2)
//!                 | (name NUL value NUL)* NUL
//! ```
//!
//! The server refuses a startup packet whose body (length minus the length
//! word) exceeds `MAX_STARTUP_PACKET_LENGTH`, 10000 bytes, hence 10004. A
//! client that wants TLS or GSSAPI encryption sends SSLRequest or
//! GSSENCRequest first and waits for the one-byte answer; the others are
//! sent whole.
//!
//! The matcher decides on the 8-byte header. It does not wait for the
//! StartupMessage parameters: a message without `user` or with malformed
//! pairs is still a PostgreSQL client, and the server answers it with an
//! error the client can show, where a `NoMatch` would drop it silently.

use std::ops::RangeInclusive;

use crate::matcher::cursor::Cursor;
use crate::matcher::{Matcher, Verdict};

const SSL_REQUEST_CODE: u32 = 80_877_103;
const GSSENC_REQUEST_CODE: u32 = 80_877_104;
const CANCEL_REQUEST_CODE: u32 = 80_877_102;
/// Protocol 3.0 to 3.2: the major version in the high 16 bits, the minor
/// version in the low 16.
const STARTUP_PROTOCOL_CODES: RangeInclusive<u32> = 0x0003_0000..=0x0003_0002;
/// The length word, the code, then at least the parameter list's NUL.
const MIN_STARTUP_LENGTH: u32 = 9;
/// PostgreSQL's `MAX_STARTUP_PACKET_LENGTH` (10000), plus the length word.
const MAX_STARTUP_LENGTH: u32 = 10_004;
/// The length word, the code and the process ID, then the secret key.
const CANCEL_KEY_OFFSET: u32 = 12;
/// Protocol 3.0's secret key is 4 bytes; 3.2's may be up to 256.
const CANCEL_KEY_LENGTHS: RangeInclusive<u32> = 4..=256;

/// What each kind of first message allows: (codes, lengths).
const FIRST_MESSAGES: [(RangeInclusive<u32>, RangeInclusive<u32>); 4] = [
    (SSL_REQUEST_CODE..=SSL_REQUEST_CODE, 8..=8),
    (GSSENC_REQUEST_CODE..=GSSENC_REQUEST_CODE, 8..=8),
    (
        CANCEL_REQUEST_CODE..=CANCEL_REQUEST_CODE,
        CANCEL_KEY_OFFSET + *CANCEL_KEY_LENGTHS.start()
            ..=CANCEL_KEY_OFFSET + *CANCEL_KEY_LENGTHS.end(),
    ),
    (
        STARTUP_PROTOCOL_CODES,
        MIN_STARTUP_LENGTH..=MAX_STARTUP_LENGTH,
    ),
];

/// Matches a PostgreSQL client's first message; see [`postgres`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;

/// A matcher for PostgreSQL clients: a StartupMessage for protocol 3.0 to
/// 3.2, an SSLRequest, a GSSENCRequest or a CancelRequest.
///
/// It decides on the first 8 bytes (length and code), saying `NoMatch` at
/// the first byte no valid length or code allows.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::postgres;
///
/// // psql with sslmode=prefer: an SSLRequest.
/// assert_eq!(postgres().verdict(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), Verdict::Match);
/// // A StartupMessage for protocol 3.0, 56 bytes long.
/// assert_eq!(postgres().verdict(&[0, 0, 0, 56, 0, 3, 0, 0]), Verdict::Match);
/// assert_eq!(postgres().verdict(&[0, 0, 0, 56, 0, 3]), Verdict::NeedMore);
/// assert_eq!(postgres().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// ```
pub fn postgres() -> Postgres {
    Postgres
}

impl Matcher for Postgres {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        let (length_bytes, rest) = seen.split_at(seen.len().min(4));
        let code_bytes = rest.get(..4).unwrap_or(rest);
        let mut verdict = Verdict::NoMatch;
        for (codes, lengths) in &FIRST_MESSAGES {
            if could_be(length_bytes, lengths) && could_be(code_bytes, codes) {
                if code_bytes.len() == 4 {
                    return Verdict::Match;
                }
                verdict = Verdict::NeedMore;
            }
        }
        verdict
    }
}

/// Whether a big-endian `u32` starting with the bytes `prefix` (at most 4)
/// can lie in `range`.
fn could_be(prefix: &[u8], range: &RangeInclusive<u32>) -> bool {
    let mut lowest = [0x00; 4];
    let mut highest = [0xff; 4];
    for ((low, high), &byte) in lowest.iter_mut().zip(highest.iter_mut()).zip(prefix) {
        *low = byte;
        *high = byte;
    }
    u32::from_be_bytes(lowest) <= *range.end() && u32::from_be_bytes(highest) >= *range.start()
}

/// A complete PostgreSQL first message; see [`postgres_request`].
///
/// Non-exhaustive: new protocol versions add request codes (GSSENCRequest
/// came with PostgreSQL 12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PostgresRequest {
    /// A StartupMessage: protocol 3.`minor_version`, and its parameters
    /// (`user`, `database`, `application_name`, ...) in order, invalid
    /// UTF-8 replaced.
    Startup {
        /// The protocol minor version (0 to 2).
        minor_version: u16,
        /// The name and value pairs.
        parameters: Vec<(String, String)>,
    },
    /// An SSLRequest: the client asks for TLS.
    SslRequest,
    /// A GSSENCRequest: the client asks for GSSAPI encryption.
    GssEncRequest,
    /// A CancelRequest for a query running on another connection.
    CancelRequest {
        /// The process ID of the backend whose query is to be cancelled.
        process_id: u32,
    },
}

impl PostgresRequest {
    /// A short name for the kind of message: `startup`, `ssl`, `gssenc` or
    /// `cancel`.
    ///
    /// ```
    /// use connmux::matchers::postgres_request;
    ///
    /// let ssl_request = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    /// assert_eq!(postgres_request(&ssl_request).unwrap().kind(), "ssl");
    /// let cancel = [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0x30, 0x39, 1, 2, 3, 4];
    /// assert_eq!(postgres_request(&cancel).unwrap().kind(), "cancel");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            PostgresRequest::Startup { .. } => "startup",
            PostgresRequest::SslRequest => "ssl",
            PostgresRequest::GssEncRequest => "gssenc",
            PostgresRequest::CancelRequest { .. } => "cancel",
        }
    }

    /// The value of the StartupMessage parameter `name` (such as `user` or
    /// `database`), if this is a StartupMessage that has it.
    ///
    /// ```
    /// use connmux::matchers::postgres_request;
    ///
    /// // psql's StartupMessage for protocol 3.0: user, database, application_name.
    /// let mut startup = vec![0, 0, 0, 0, 0, 3, 0, 0];
    /// startup.extend(b"user\0alice\0database\0shop\0application_name\0psql\0\0");
    /// startup[3] = startup.len() as u8;
    /// let request = postgres_request(&startup).unwrap();
    /// assert_eq!(request.parameter("application_name"), Some("psql"));
    /// assert_eq!(request.parameter("options"), None);
    /// ```
    pub fn parameter(&self, name: &str) -> Option<&str> {
        match self {
            PostgresRequest::Startup { parameters, .. } => parameters
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str()),
            _ => None,
        }
    }
}

/// The first message of a PostgreSQL connection, once all of it has
/// arrived, or `None` if `seen` does not start with a complete, well-formed
/// one (a StartupMessage's parameter list must end exactly at the end of
/// the message).
///
/// ```
/// use connmux::matchers::{postgres_request, PostgresRequest};
///
/// let mut startup = vec![0, 0, 0, 0, 0, 3, 0, 0];
/// startup.extend(b"user\0alice\0database\0shop\0\0");
/// startup[3] = startup.len() as u8;
/// let request = postgres_request(&startup).unwrap();
/// assert_eq!(request.kind(), "startup");
/// assert_eq!(request.parameter("user"), Some("alice"));
/// assert_eq!(request.parameter("database"), Some("shop"));
/// assert_eq!(postgres_request(&startup[..20]), None);
/// assert_eq!(
///     postgres_request(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]),
///     Some(PostgresRequest::SslRequest)
/// );
/// ```
pub fn postgres_request(seen: &[u8]) -> Option<PostgresRequest> {
    if postgres().verdict(seen) != Verdict::Match {
        return None;
    }
    let mut message = Cursor::new(seen);
    let length = message.u32().ok()?;
    let code = message.u32().ok()?;
    let body_length = usize::try_from(length.checked_sub(8)?).ok()?;
    let mut body = Cursor::new(message.take(body_length).ok()?);
    match code {
        SSL_REQUEST_CODE => Some(PostgresRequest::SslRequest),
        GSSENC_REQUEST_CODE => Some(PostgresRequest::GssEncRequest),
        CANCEL_REQUEST_CODE => Some(PostgresRequest::CancelRequest {
            process_id: body.u32().ok()?,
        }),
        _ => {
            let mut parameters = Vec::new();
            loop {
                let name = body.terminated(0, body_length).ok()?;
                if name.is_empty() {
                    break;
                }
                let value = body.terminated(0, body_length).ok()?;
                parameters.push((
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                ));
            }
            if body.remaining() != 0 {
                return None;
            }
            Some(PostgresRequest::Startup {
                minor_version: (code & 0xffff) as u16,
                parameters,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Conformance;
    use crate::matchers::testing::near_miss;
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    const PSQL_SSL_REQUEST: &[u8] =
        include_bytes!("../../tests/fixtures/postgres-psql-sslrequest.bin");
    const PSQL_STARTUP: &[u8] = include_bytes!("../../tests/fixtures/postgres-psql-startup.bin");

    /// The message formats read literally, on a complete 8-byte header.
    fn naive(header: [u8; 8]) -> bool {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let code = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        match code {
            80_877_103 | 80_877_104 => length == 8,
            80_877_102 => (16..=268).contains(&length),
            0x0003_0000..=0x0003_0002 => (9..=10_004).contains(&length),
            _ => false,
        }
    }

    #[test]
    fn table() {
        let cases: &[(&[u8], Verdict)] = &[
            (&[], NeedMore),
            (&[0x00], NeedMore),
            (&[0x01], NoMatch),
            (&[0x00, 0x00, 0x27], NeedMore),
            (&[0x00, 0x00, 0x28], NoMatch),
            (&[0x00, 0x00, 0x27, 0x14], NeedMore),
            (&[0x00, 0x00, 0x27, 0x15], NoMatch),
            (&[0x00, 0x00, 0x00, 0x07], NoMatch),
            (&[0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f], Match),
            (&[0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x30], Match),
            (&[0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2e], NoMatch),
            (&[0x00, 0x00, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00], NoMatch),
            (&[0x00, 0x00, 0x00, 0x08, 0x05], NoMatch),
            (&[0x00, 0x00, 0x00, 0x10, 0x04, 0xd2, 0x16, 0x2e], Match),
            (&[0x00, 0x00, 0x01, 0x0c, 0x04, 0xd2, 0x16, 0x2e], Match),
            (&[0x00, 0x00, 0x01, 0x0d, 0x04, 0xd2, 0x16, 0x2e], NoMatch),
            (&[0x00, 0x00, 0x00, 0x0f, 0x04, 0xd2, 0x16, 0x2e], NoMatch),
            (&[0x00, 0x00, 0x00, 0x10, 0x04, 0xd2, 0x16, 0x2f], NoMatch),
            (&[0x00, 0x00, 0x00, 0x10, 0x04, 0xd2, 0x16], NeedMore),
            (&[0x00, 0x00, 0x00, 0x09, 0x00, 0x03, 0x00, 0x00], Match),
            (&[0x00, 0x00, 0x27, 0x14, 0x00, 0x03, 0x00, 0x02], Match),
            (&[0x00, 0x00, 0x00, 0x38, 0x00, 0x03, 0x00, 0x03], NoMatch),
            (&[0x00, 0x00, 0x00, 0x38, 0x00, 0x02, 0x00, 0x00], NoMatch),
            (&[0x00, 0x00, 0x00, 0x38, 0x00, 0x03, 0x01], NoMatch),
            (&[0x00, 0x00, 0x00, 0x38, 0x01], NoMatch),
            (b"GET / HTTP/1.1\r\n", NoMatch),
            (&[0x16, 0x03, 0x01], NoMatch),
        ];
        for (seen, want) in cases {
            assert_eq!(postgres().verdict(seen), *want, "{seen:02x?}");
            if let Ok(header) = <[u8; 8]>::try_from(*seen) {
                assert_eq!(naive(header), *want == Match, "naive {seen:02x?}");
            }
        }
    }

    #[test]
    fn psql_captures() {
        for capture in [PSQL_SSL_REQUEST, PSQL_STARTUP] {
            assert_eq!(postgres().verdict(capture), Match);
            assert_eq!(postgres().verdict(&capture[..8]), Match);
            for length in 0..8 {
                assert_eq!(postgres().verdict(&capture[..length]), NeedMore);
            }
        }
        assert_eq!(
            postgres_request(PSQL_SSL_REQUEST),
            Some(PostgresRequest::SslRequest)
        );
        let startup = postgres_request(PSQL_STARTUP).unwrap();
        assert_eq!(startup.kind(), "startup");
        assert_eq!(startup.parameter("user"), Some("alice"));
        assert_eq!(startup.parameter("database"), Some("shop"));
        assert_eq!(startup.parameter("application_name"), Some("psql"));
        assert_eq!(startup.parameter("options"), None);
        assert_eq!(PostgresRequest::SslRequest.parameter("user"), None);
        assert_eq!(
            postgres_request(&PSQL_STARTUP[..PSQL_STARTUP.len() - 1]),
            None
        );
    }

    #[test]
    fn requests() {
        let cancel = [
            0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0x30, 0x39, 1, 2, 3, 4,
        ];
        let request = postgres_request(&cancel).unwrap();
        assert_eq!(
            request,
            PostgresRequest::CancelRequest { process_id: 12345 }
        );
        assert_eq!(request.kind(), "cancel");
        let mut long_key = cancel.to_vec();
        long_key[3] = 12 + 32;
        long_key.extend([7; 28]);
        assert_eq!(postgres_request(&long_key), Some(request));
        let gss = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];
        assert_eq!(postgres_request(&gss).map(|r| r.kind()), Some("gssenc"));
        assert_eq!(
            postgres_request(b"\0\0\0\x09\0\x03\0\x02\0"),
            Some(PostgresRequest::Startup {
                minor_version: 2,
                parameters: Vec::new(),
            })
        );
        let malformed: &[&[u8]] = &[
            b"\0\0\0\x09\0\x03\0\x00x",
            b"\0\0\0\x0c\0\x03\0\x00a\0b\0",
            b"\0\0\0\x0e\0\x03\0\x00a\0b\0\0\0",
            b"\0\0\0\x0a\0\x03\0\x00\0\0",
        ];
        for message in malformed {
            assert_eq!(postgres().verdict(message), Match);
            assert_eq!(postgres_request(message), None, "{message:02x?}");
        }
    }

    /// A StartupMessage with these parameters, or a request with this code.
    fn first_message() -> impl Strategy<Value = Vec<u8>> {
        let name = "[a-z_]{1,12}";
        let startup = (0u16..=2, prop::collection::vec((name, "[ -~]{0,12}"), 0..6)).prop_map(
            |(minor, parameters)| {
                let mut message = vec![0, 0, 0, 0, 0, 3];
                message.extend(minor.to_be_bytes());
                for (name, value) in parameters {
                    message.extend(name.as_bytes());
                    message.push(0);
                    message.extend(value.as_bytes());
                    message.push(0);
                }
                message.push(0);
                let length = message.len() as u32;
                message[..4].copy_from_slice(&length.to_be_bytes());
                message
            },
        );
        let request = prop_oneof![
            Just(SSL_REQUEST_CODE),
            Just(GSSENC_REQUEST_CODE),
            Just(CANCEL_REQUEST_CODE)
        ]
        .prop_flat_map(|code| {
            let key = if code == CANCEL_REQUEST_CODE {
                4..=256usize
            } else {
                0..=0
            };
            (
                Just(code),
                any::<u32>(),
                prop::collection::vec(any::<u8>(), key),
            )
        })
        .prop_map(|(code, process_id, key)| {
            let mut message = Vec::new();
            if code == CANCEL_REQUEST_CODE {
                message.extend((12 + key.len() as u32).to_be_bytes());
                message.extend(code.to_be_bytes());
                message.extend(process_id.to_be_bytes());
                message.extend(key);
            } else {
                message.extend(8u32.to_be_bytes());
                message.extend(code.to_be_bytes());
            }
            message
        });
        prop_oneof![startup, request]
    }

    proptest! {
        #[test]
        fn monotone_near_first_messages(data in near_miss(first_message())) {
            Conformance::new(&postgres()).assert(&data);
        }

        #[test]
        fn agrees_with_naive(header in any::<[u8; 8]>(), small in 0u8..=0x28) {
            prop_assert_eq!(postgres().verdict(&header) == Match, naive(header));
            let mut near = header;
            near[..3].copy_from_slice(&[0, 0, small]);
            prop_assert_eq!(postgres().verdict(&near) == Match, naive(near));
            Conformance::new(&postgres()).assert(&near);
        }

        #[test]
        fn first_messages_match(message in first_message()) {
            prop_assert_eq!(postgres().verdict(&message), Match);
            prop_assert!(postgres_request(&message).is_some());
            prop_assert_eq!(postgres_request(&message[..message.len() - 1]), None);
        }

        #[test]
        fn decides_within_eight_bytes(header in any::<[u8; 8]>()) {
            prop_assert_ne!(postgres().verdict(&header), NeedMore);
        }
    }
}
