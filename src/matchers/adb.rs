//! Android Debug Bridge hosts by their CONNECT message, the first message
//! `adb connect` sends a device's adbd over TCP (AOSP
//! `packages/modules/adb/protocol.txt`, "CONNECT(version, maxdata,
//! system-identity-string)"; `adb.h` for the constants):
//!
//! ```text
//! header   24 bytes, six little-endian u32:
//!          command "CNXN" (0x4e584e43) | arg0 version (A_VERSION: 0x01000000,
//!          0x01000001 from 2017, which skips checksums) | arg1 maxdata (the
//!          largest payload the host takes: 4096 in old versions, 1 MiB
//!          now) | data length | data check (the byte sum of the payload,
//!          or 0) | magic = command ^ 0xffffffff
//! payload  the system identity "systemtype:serialno:banner": a host
//!          sends "host::features=shell_v2,cmd,..." (older ones a NUL
//!          after it)
//! ```
//!
//! adb 26.0.0 rc1 sent an empty message before the CONNECT (all zero but
//! the magic, 0xffffffff: a side effect reverted in the next release);
//! sslh's probe (`is_adb_protocol`) skips it, and so does this matcher.
//! Like sslh's, it asks for a payload that starts `host:`: a port shared
//! with adbd is reached by hosts, not by devices.

use std::ops::RangeInclusive;

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

const CONNECT_COMMAND: [u8; 4] = *b"CNXN";
/// `command ^ 0xffffffff`, little-endian.
const CONNECT_MAGIC: [u8; 4] = [0xbc, 0xb1, 0xa7, 0xb1];
/// The version's three high bytes, little-endian after its low byte:
/// every version so far is 0x010000xx.
const VERSION_HIGH_BYTES: [u8; 3] = [0x00, 0x00, 0x01];
/// adb 26.0.0 rc1's empty message: command, arguments, length and check
/// zero, magic 0xffffffff.
const EMPTY_MESSAGE: [u8; 24] = {
    let mut message = [0; 24];
    message[20] = 0xff;
    message[21] = 0xff;
    message[22] = 0xff;
    message[23] = 0xff;
    message
};
const HOST_IDENTITY: &[u8] = b"host:";
/// A payload long enough for `host:`, and at most `MAX_PAYLOAD` (1 MiB),
/// the most any adb version sends or accepts.
const DATA_LENGTHS: RangeInclusive<u32> = 5..=1024 * 1024;

/// Matches an adb host's CONNECT message; see [`adb`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Adb;

/// A matcher for Android Debug Bridge hosts (`adb connect HOST:PORT`) by
/// their CONNECT message: the `CNXN` command, version 0x010000xx, a data
/// length of 5 bytes to 1 MiB, the magic that is the command's complement,
/// and a system identity starting `host:`, after adb 26.0.0 rc1's empty
/// message if it comes first.
///
/// It says `NoMatch` at the first byte that breaks the message (the data
/// length once its 4 bytes are in) and `Match` at the `:` of `host:`, so
/// it decides within 29 bytes, or 53 after the empty message.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::adb;
///
/// // adb 1.0.41: CNXN, version 0x01000001, maxdata 1 MiB, 119 bytes of
/// // identity, their byte sum, the magic, then the identity.
/// let connect = b"CNXN\x01\x00\x00\x01\x00\x00\x10\x00\x77\x00\x00\x00\x40\x2e\x00\x00\
///                 \xbc\xb1\xa7\xb1host::features=shell_v2,cmd";
/// assert_eq!(adb().verdict(connect), Verdict::Match);
/// assert_eq!(adb().verdict(&connect[..28]), Verdict::NeedMore);
/// assert_eq!(adb().verdict(b"CNXN\x01\x00\x00\x02"), Verdict::NoMatch);
/// assert_eq!(adb().verdict(b"OKAY"), Verdict::NoMatch);
/// ```
pub fn adb() -> Adb {
    Adb
}

impl Matcher for Adb {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match read_connect(&mut Cursor::new(seen)) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// The fields of an adb host's CONNECT message; see [`adb_connect`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdbConnect {
    /// The protocol version: 0x01000000, or 0x01000001 for a host that
    /// skips checksums.
    pub version: u32,
    /// The largest payload the host accepts, in bytes.
    pub max_data: u32,
    /// The system identity, a trailing NUL removed and invalid UTF-8
    /// replaced: `host::` and the host's features, such as
    /// `host::features=shell_v2,cmd,stat_v2`.
    pub system_identity: String,
}

/// The fields of an adb host's CONNECT message, once its whole payload
/// has arrived, or `None` if `seen` does not start with one the [`adb`]
/// matcher takes.
///
/// ```
/// use connmux::matchers::adb_connect;
///
/// let connect = b"CNXN\x01\x00\x00\x01\x00\x00\x10\x00\x1b\x00\x00\x00\x00\x00\x00\x00\
///                 \xbc\xb1\xa7\xb1host::features=shell_v2,cmd";
/// let fields = adb_connect(connect).unwrap();
/// assert_eq!(fields.version, 0x0100_0001);
/// assert_eq!(fields.max_data, 1024 * 1024);
/// assert_eq!(fields.system_identity, "host::features=shell_v2,cmd");
/// assert_eq!(adb_connect(&connect[..40]), None);
/// ```
pub fn adb_connect(seen: &[u8]) -> Option<AdbConnect> {
    let mut header = read_connect(&mut Cursor::new(seen)).ok()?;
    let data_length = usize::try_from(header.data_length).ok()?;
    let payload = header.payload.take(data_length).ok()?;
    let identity = payload.strip_suffix(b"\0").unwrap_or(payload);
    Some(AdbConnect {
        version: header.version,
        max_data: header.max_data,
        system_identity: String::from_utf8_lossy(identity).into_owned(),
    })
}

/// What the matcher reads of a CONNECT message.
struct ConnectHeader<'a> {
    version: u32,
    max_data: u32,
    data_length: u32,
    /// A cursor at the start of the payload.
    payload: Cursor<'a>,
}

/// Reads the CONNECT message, after the empty message if it comes first,
/// up to the `host:` that starts its payload.
fn read_connect<'a>(message: &mut Cursor<'a>) -> Result<ConnectHeader<'a>, Stop> {
    if message.peek()? == EMPTY_MESSAGE[0] {
        message.expect(&EMPTY_MESSAGE)?;
    }
    message.expect(&CONNECT_COMMAND)?;
    let version_low = message.u8()?;
    let high = VERSION_HIGH_BYTES;
    message.expect(&high)?;
    let max_data = u32::from_le_bytes(message.array()?);
    let data_length = u32::from_le_bytes(message.array()?);
    require(DATA_LENGTHS.contains(&data_length))?;
    message.skip(4)?;
    message.expect(&CONNECT_MAGIC)?;
    let payload = message.clone();
    message.expect(HOST_IDENTITY)?;
    Ok(ConnectHeader {
        version: u32::from_le_bytes([version_low, high[0], high[1], high[2]]),
        max_data,
        data_length,
        payload,
    })
}

#[cfg(test)]
mod tests;
