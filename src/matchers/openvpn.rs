//! OpenVPN clients over TCP by their first packet: the hard reset that
//! opens every TLS-mode session (OpenVPN's `ssl_pkt.h`, `tls_crypt.h`, and
//! "OpenVPN Protocol" on openvpn.net, which quotes its `ssl.h`).
//!
//! ```text
//! packet length    u16, TCP only: how many bytes follow
//! opcode | key id  the opcode in the high 5 bits: 7 P_CONTROL_HARD_RESET_CLIENT_V2,
//!                  10 P_CONTROL_HARD_RESET_CLIENT_V3 (tls-crypt-v2 only);
//!                  the key id in the low 3 bits, 0 for a new session
//! session id       8 bytes, random
//! then, by how the control channel is protected:
//!   plain          ack count u8 = 0 | message packet id u32 = 0
//!   --tls-auth     HMAC (16 to 64 bytes, by the --auth digest) | replay packet
//!                  id u32 | net time u32 | ack count u8 = 0 | message packet
//!                  id u32 = 0
//!   --tls-crypt    replay packet id u32 | net time u32 | tag (32 bytes)
//!                  | encrypted: ack count, message packet id (5 bytes)
//!   --tls-crypt-v2 as --tls-crypt, then the client's wrapped key: tag (32)
//!                  | encrypted key (256) and metadata (1 or more) | u16 the
//!                  wrapped key's length, these 2 bytes included (291 to 1024)
//! ```
//!
//! The replay packet id is 1 in the first packet and counts retransmissions
//! up from there; a client announcing early negotiation (OpenVPN 2.6 with
//! tls-crypt-v2) starts it at `EARLY_NEG_START`, 0x0f000000. No form has a
//! payload, so each has one length (the value of the length prefix):
//!
//! | form | length |
//! |---|---|
//! | plain | 14 |
//! | tls-auth | 22 + HMAC: 38 (MD5), 42 (SHA1, the default), 50 (SHA224), 54 (SHA256), 70 (SHA384), 86 (SHA512) |
//! | tls-crypt | 54 |
//! | tls-crypt-v2 | 54 + 291..=1024, so 345..=1078 |
//!
//! The length picks the candidate forms, and the matcher checks each
//! candidate's fixed bytes: the opcode byte (key id 0), the zero ack count
//! and message packet id, the high three bytes of the replay packet id and,
//! for tls-crypt-v2, the wrapped key's length at the end of the packet,
//! which must be what the packet length leaves for it. HMACs, tags, times
//! and ciphertext are random to an observer and are not checked, and
//! neither is the net time (a client without a clock sends 1970): a
//! tls-crypt reset is told by its first 14 bytes alone, its length, opcode
//! byte and the replay packet id's high bytes, and the rest cannot be told
//! from noise.
//!
//! That leaves one known look-alike: DNS over TCP (RFC 7766), also a
//! 2-byte length and a binary message. A 54-byte query whose ID starts
//! with 0x38 and which carries no EDNS record (NSCOUNT and ARCOUNT zero)
//! reads as a tls-crypt reset, about one such query in 256; route DNS
//! before OpenVPN where both share a port. And a SOCKS4 request to a port
//! from 20480 to 20735 (0x50xx) with a 3-byte user id starts like a
//! tls-crypt-v2 reset: the matcher waits for bytes the SOCKS client never
//! sends, so the request is routed only when the sniff ends; route
//! [`socks4`](crate::matchers::socks4) before OpenVPN to avoid the wait.
//!
//! sslh's TCP probe (`is_openvpn_protocol` in its `probe.c`) takes any
//! first read whose 2-byte prefix equals the number of bytes after it: any
//! length-prefixed protocol, and a verdict that depends on how the bytes
//! were split into reads. Its issue tracker has the results both ways
//! (yrutschle/sslh#48, #425: OpenVPN clients routed to SSH, SSH clients
//! routed to OpenVPN). This matcher asks for one of the packets OpenVPN
//! sends, so any other first byte than 0x00 to 0x04 is ruled out at once
//! (TLS, SSH, HTTP, SOCKS5, MQTT) and a PostgreSQL message (length 0 in
//! its first two bytes) or an RDP TPKT (opcode byte 0x00) at its second or
//! third.
//!
//! Not matched: static-key mode (`--secret`), whose packets carry no
//! opcode; key method 1 (P_CONTROL_HARD_RESET_CLIENT_V1, removed in
//! OpenVPN 2.5); a client that reaches the server through an HTTP or SOCKS
//! proxy, whose first bytes are the proxy request.

use std::ops::RangeInclusive;

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

const HARD_RESET_CLIENT_V2: u8 = 7;
const HARD_RESET_CLIENT_V3: u8 = 10;
const OPCODE_SHIFT: u32 = 3;
const SESSION_ID_LENGTH: usize = 8;
/// The HMAC sizes of the digests `--auth` takes: MD5; SHA1 and RIPEMD160;
/// SHA224 and SHA512-224; SHA256, SHA512-256, SHA3-256 and BLAKE2s256;
/// SHA384; SHA512, SHA3-512 and BLAKE2b512.
const HMAC_LENGTHS: [usize; 6] = [16, 20, 28, 32, 48, 64];
/// The high byte of the first replay packet id of a client that announces
/// early negotiation (`EARLY_NEG_START`); 0 for the others.
const EARLY_NEG_START_HIGH_BYTE: u8 = 0x0f;
/// The replay packet id's low byte and the net time, neither checked.
const REPLAY_LOW_BYTE_AND_TIME: usize = 1 + 4;
/// The ack count and the message packet id, both 0 in a hard reset.
const RELIABILITY_HEADER_LENGTH: usize = 1 + 4;
const TLS_CRYPT_TAG_LENGTH: usize = 32;
const PLAIN_LENGTH: usize = 1 + SESSION_ID_LENGTH + RELIABILITY_HEADER_LENGTH;
const TLS_AUTH_LENGTH_WITHOUT_HMAC: usize = PLAIN_LENGTH + 4 + 4;
const TLS_CRYPT_LENGTH: usize = PLAIN_LENGTH + 4 + 4 + TLS_CRYPT_TAG_LENGTH;
/// `TLS_CRYPT_V2_MAX_WKC_LEN` is 1024; the shortest wrapped key has a tag,
/// the 2048-bit client key, one byte of metadata (its type) and the length.
const WRAPPED_KEY_LENGTHS: RangeInclusive<usize> = TLS_CRYPT_TAG_LENGTH + 256 + 1 + 2..=1024;
/// The longest hard reset: tls-crypt-v2 with the longest wrapped key.
const MAX_PACKET_LENGTH: usize = TLS_CRYPT_LENGTH + *WRAPPED_KEY_LENGTHS.end();
/// The most bytes the matcher reads before it decides: the length prefix
/// and the longest packet.
pub const OPENVPN_MAX_RESET_BYTES: usize = 2 + MAX_PACKET_LENGTH;

/// Matches an OpenVPN client's hard reset over TCP; see [`openvpn`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenVpn;

/// A matcher for OpenVPN clients over TCP (TLS mode) by their first
/// packet, a P_CONTROL_HARD_RESET_CLIENT_V2 or _V3 with key id 0, plain or
/// protected by `--tls-auth`, `--tls-crypt` or `--tls-crypt-v2`.
///
/// The length prefix must be one a hard reset has (14 plain, 38 to 86
/// with tls-auth, by the HMAC's size, 54 with tls-crypt, 345 to 1078 with
/// tls-crypt-v2: see [`OpenVpnForm`]), and the packet's fixed bytes must
/// be those of a form of that length: opcode 7 (10 for tls-crypt-v2) with
/// key id 0, a zero ack count and message packet id, the high bytes of a
/// first replay packet id (`00 00 00` or early negotiation's `0f 00 00`),
/// and for tls-crypt-v2 the wrapped key's length, in the packet's last two
/// bytes, equal to what the packet length leaves for it. HMACs, tags, times
/// and ciphertext are random and are not checked. It says `NoMatch` at the
/// first byte no form allows and `Match` at the last byte a form fixes:
/// the 16th for a plain reset, the end of the packet for tls-auth and
/// tls-crypt-v2, and the 14th (the replay packet id's third byte) for
/// tls-crypt, whose other bytes are random. It decides within
/// [`OPENVPN_MAX_RESET_BYTES`] (1080), the longest tls-crypt-v2 reset.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::openvpn;
///
/// // OpenVPN 2.6 without tls-auth: 14 bytes follow, opcode 7 key id 0, a
/// // session id, no acks, message packet id 0.
/// let reset = [
///     0x00, 0x0e, 0x38, 0xa9, 0x39, 0x52, 0xc9, 0x0e, 0x9a, 0xc3, 0x2e, 0x00,
///     0x00, 0x00, 0x00, 0x00,
/// ];
/// assert_eq!(openvpn().verdict(&reset), Verdict::Match);
/// assert_eq!(openvpn().verdict(&reset[..15]), Verdict::NeedMore);
/// // The same with an ack: no client's first packet.
/// assert_eq!(openvpn().verdict(&[0x00, 0x0e, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]), Verdict::NoMatch);
/// assert_eq!(openvpn().verdict(&[0x00, 0x0f]), Verdict::NoMatch);
/// assert_eq!(openvpn().verdict(b"SSH-2.0-OpenSSH_9.6\r\n"), Verdict::NoMatch);
/// ```
pub fn openvpn() -> OpenVpn {
    OpenVpn
}

impl Matcher for OpenVpn {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        let mut stream = Cursor::new(seen);
        let length = match read_length(&mut stream) {
            Ok(length) => length,
            Err(stop) => return stop.into(),
        };
        let mut verdict = Verdict::NoMatch;
        for form in forms_of_length(length) {
            match read_form(&mut stream.clone(), form) {
                Ok(()) => return Verdict::Match,
                Err(Stop::Short) => verdict = Verdict::NeedMore,
                Err(Stop::Invalid) => {}
            }
        }
        verdict
    }
}

/// How an OpenVPN client protects its control channel, as its hard reset
/// shows it; see [`openvpn_reset`].
///
/// Each form's hard reset has one length, the value of its length prefix:
///
/// | form | length |
/// |---|---|
/// | plain | 14 |
/// | tls-auth | 22 + the HMAC: 38 (MD5), 42 (SHA1, the default), 50 (SHA224), 54 (SHA256), 70 (SHA384), 86 (SHA512) |
/// | tls-crypt | 54 |
/// | tls-crypt-v2 | 54 + the wrapped key (291 to 1024): 345 to 1078 |
///
/// Non-exhaustive: OpenVPN adds ways (tls-crypt-v2 came with 2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpenVpnForm {
    /// No `--tls-auth` or `--tls-crypt`.
    Plain,
    /// `--tls-auth`, with an HMAC of this many bytes (20 for SHA1, the
    /// default `--auth`).
    TlsAuth {
        /// The HMAC's size in bytes: 16, 20, 28, 32, 48 or 64.
        hmac_length: usize,
    },
    /// `--tls-crypt`.
    TlsCrypt,
    /// `--tls-crypt-v2`, with the client's wrapped key of this many bytes
    /// appended (its 2-byte length included).
    TlsCryptV2 {
        /// The wrapped key's size in bytes, 291 to 1024.
        wrapped_key_length: usize,
    },
}

impl OpenVpnForm {
    /// The opcode a hard reset of this form carries.
    fn opcode(self) -> u8 {
        match self {
            OpenVpnForm::TlsCryptV2 { .. } => HARD_RESET_CLIENT_V3,
            _ => HARD_RESET_CLIENT_V2,
        }
    }

    /// The value of the length prefix of a hard reset of this form.
    fn packet_length(self) -> usize {
        match self {
            OpenVpnForm::Plain => PLAIN_LENGTH,
            OpenVpnForm::TlsAuth { hmac_length } => TLS_AUTH_LENGTH_WITHOUT_HMAC + hmac_length,
            OpenVpnForm::TlsCrypt => TLS_CRYPT_LENGTH,
            OpenVpnForm::TlsCryptV2 { wrapped_key_length } => TLS_CRYPT_LENGTH + wrapped_key_length,
        }
    }
}

/// The fields of an OpenVPN client's hard reset; see [`openvpn_reset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenVpnReset {
    /// 7 (P_CONTROL_HARD_RESET_CLIENT_V2) or 10 (_V3, tls-crypt-v2). The
    /// key id beside it in the same byte is always 0: a server refuses a
    /// hard reset with another.
    pub opcode: u8,
    /// The client's session id, read big-endian, so that `{:016x}` shows
    /// it as OpenVPN's logs do (`sid=a93952c90e9ac32e`).
    pub session_id: u64,
    /// How the control channel is protected.
    pub form: OpenVpnForm,
}

/// The fields of an OpenVPN client's hard reset, once the whole packet has
/// arrived, or `None` if `seen` does not start with one the [`openvpn`]
/// matcher takes.
///
/// A 54-byte packet can be tls-auth with a 32-byte HMAC (SHA256) or
/// tls-crypt: it is reported as tls-auth when the bytes where tls-auth has
/// its fixed fields hold them (for a tls-crypt packet, whose bytes there
/// are ciphertext, a chance of 1 in 2^64), as tls-crypt otherwise.
///
/// ```
/// use connmux::matchers::{openvpn_reset, OpenVpnForm};
///
/// let reset = [
///     0x00, 0x0e, 0x38, 0xa9, 0x39, 0x52, 0xc9, 0x0e, 0x9a, 0xc3, 0x2e, 0x00,
///     0x00, 0x00, 0x00, 0x00,
/// ];
/// let fields = openvpn_reset(&reset).unwrap();
/// assert_eq!(fields.opcode, 7);
/// assert_eq!(format!("{:016x}", fields.session_id), "a93952c90e9ac32e");
/// assert_eq!(fields.form, OpenVpnForm::Plain);
/// assert_eq!(openvpn_reset(&reset[..15]), None);
/// ```
pub fn openvpn_reset(seen: &[u8]) -> Option<OpenVpnReset> {
    let mut stream = Cursor::new(seen);
    let length = read_length(&mut stream).ok()?;
    let packet = stream.take(length).ok()?;
    let form =
        forms_of_length(length).find(|&form| read_form(&mut Cursor::new(packet), form).is_ok())?;
    let mut header = Cursor::new(packet);
    let opcode = header.u8().ok()? >> OPCODE_SHIFT;
    let session_id = u64::from_be_bytes(header.array().ok()?);
    Some(OpenVpnReset {
        opcode,
        session_id,
        form,
    })
}

/// Reads the length prefix, refusing at its first byte a length no hard
/// reset has.
fn read_length(stream: &mut Cursor<'_>) -> Result<usize, Stop> {
    let high = stream.u8()?;
    require(usize::from(high) <= MAX_PACKET_LENGTH >> 8)?;
    let length = usize::from(u16::from_be_bytes([high, stream.u8()?]));
    require(forms_of_length(length).next().is_some())?;
    Ok(length)
}

/// The forms whose hard reset has this length, tls-auth before tls-crypt
/// (both can be 54 bytes long).
fn forms_of_length(length: usize) -> impl Iterator<Item = OpenVpnForm> {
    let tls_auth = HMAC_LENGTHS.map(|hmac_length| OpenVpnForm::TlsAuth { hmac_length });
    let tls_crypt_v2 = length
        .checked_sub(TLS_CRYPT_LENGTH)
        .filter(|wrapped_key_length| WRAPPED_KEY_LENGTHS.contains(wrapped_key_length))
        .map(|wrapped_key_length| OpenVpnForm::TlsCryptV2 { wrapped_key_length });
    [OpenVpnForm::Plain]
        .into_iter()
        .chain(tls_auth)
        .chain([OpenVpnForm::TlsCrypt])
        .chain(tls_crypt_v2)
        .filter(move |form| form.packet_length() == length)
}

/// Reads a hard reset of `form` (after the length prefix) up to the last
/// byte the form fixes.
fn read_form(packet: &mut Cursor<'_>, form: OpenVpnForm) -> Result<(), Stop> {
    require(packet.u8()? == form.opcode() << OPCODE_SHIFT)?;
    packet.skip(SESSION_ID_LENGTH)?;
    match form {
        OpenVpnForm::Plain => read_reliability_header(packet),
        OpenVpnForm::TlsAuth { hmac_length } => {
            packet.skip(hmac_length)?;
            read_replay_packet_id(packet)?;
            packet.skip(REPLAY_LOW_BYTE_AND_TIME)?;
            read_reliability_header(packet)
        }
        OpenVpnForm::TlsCrypt => read_replay_packet_id(packet),
        OpenVpnForm::TlsCryptV2 { wrapped_key_length } => {
            read_replay_packet_id(packet)?;
            packet.skip(
                REPLAY_LOW_BYTE_AND_TIME
                    + TLS_CRYPT_TAG_LENGTH
                    + RELIABILITY_HEADER_LENGTH
                    + wrapped_key_length
                    - 2,
            )?;
            let length_field = u16::try_from(wrapped_key_length).map_err(|_| Stop::Invalid)?;
            packet.expect(&length_field.to_be_bytes())
        }
    }
}

/// Reads the three high bytes of a first replay packet id: 0x000000 or
/// early negotiation's 0x0f0000. The low byte counts retransmissions.
fn read_replay_packet_id(packet: &mut Cursor<'_>) -> Result<(), Stop> {
    let high = packet.u8()?;
    require(high == 0 || high == EARLY_NEG_START_HIGH_BYTE)?;
    packet.expect(&[0, 0])
}

/// Reads a first packet's ack count and message packet id, both zero.
fn read_reliability_header(packet: &mut Cursor<'_>) -> Result<(), Stop> {
    packet.expect(&[0; RELIABILITY_HEADER_LENGTH])
}

#[cfg(test)]
mod tests;
