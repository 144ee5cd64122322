//! Tests of the OpenVPN matcher: hand-made resets of every form at the
//! limits of each field, OpenVPN 2.6 captures, other protocols' openings,
//! and properties against a naive reading of the formats.
//!
//! The captures are the first bytes OpenVPN 2.6.14 (Debian 12's
//! `openvpn` 2.6.14-1+deb12u1, OpenSSL 3.0) sent to a Python listener on
//! 127.0.0.1, run as `openvpn --client --proto tcp-client --dev null
//! --remote 127.0.0.1 PORT --ca ca.crt --cert cli.crt --key cli.key` with
//! throw-away keys and, per file, nothing more (`plain`), `--tls-auth
//! ta.key 1` (`tls-auth-sha1`), with `--auth SHA256` (`tls-auth-sha256`,
//! which holds the first packet and the client's resend of it two seconds
//! later) or `--auth SHA512`, `--tls-crypt ta.key`, or `--tls-crypt-v2
//! client.key`.

use super::*;
use crate::conformance::Conformance;
use crate::internal::check_settles;
use crate::matchers::testing::{
    assert_apart, assert_builtin_routes_chunking, assert_decides, near_miss,
};
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

const PLAIN: &[u8] = include_bytes!("openvpn-2.6.14-plain.bin");
const TLS_AUTH_SHA1: &[u8] = include_bytes!("openvpn-2.6.14-tls-auth-sha1.bin");
const TLS_AUTH_SHA256_RESENT: &[u8] = include_bytes!("openvpn-2.6.14-tls-auth-sha256-resent.bin");
const TLS_AUTH_SHA512: &[u8] = include_bytes!("openvpn-2.6.14-tls-auth-sha512.bin");
const TLS_CRYPT: &[u8] = include_bytes!("openvpn-2.6.14-tls-crypt.bin");
const TLS_CRYPT_V2: &[u8] = include_bytes!("openvpn-2.6.14-tls-crypt-v2.bin");

const V2: u8 = HARD_RESET_CLIENT_V2 << OPCODE_SHIFT;
const V3: u8 = HARD_RESET_CLIENT_V3 << OPCODE_SHIFT;
const SESSION_ID: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];

/// A hard reset of `form` with the length prefix: `replay_id` as the
/// replay packet id, `filler` (cycled) where the HMAC, the net time, the
/// tag, the ciphertext and the wrapped key go.
fn reset_with(form: OpenVpnForm, replay_id: u32, filler: &[u8]) -> Vec<u8> {
    let mut packet = vec![form.opcode() << OPCODE_SHIFT];
    packet.extend(SESSION_ID);
    let mut filler = filler.iter().copied().cycle();
    let mut fill = |packet: &mut Vec<u8>, count: usize| packet.extend(filler.by_ref().take(count));
    match form {
        OpenVpnForm::Plain => packet.extend([0; 5]),
        OpenVpnForm::TlsAuth { hmac_length } => {
            fill(&mut packet, hmac_length);
            packet.extend(replay_id.to_be_bytes());
            fill(&mut packet, 4);
            packet.extend([0; 5]);
        }
        OpenVpnForm::TlsCrypt | OpenVpnForm::TlsCryptV2 { .. } => {
            packet.extend(replay_id.to_be_bytes());
            fill(&mut packet, 4 + 32 + 5);
        }
    }
    if let OpenVpnForm::TlsCryptV2 { wrapped_key_length } = form {
        fill(&mut packet, wrapped_key_length - 2);
        packet.extend((wrapped_key_length as u16).to_be_bytes());
    }
    let mut reset = (packet.len() as u16).to_be_bytes().to_vec();
    reset.extend(packet);
    reset
}

/// A hard reset of `form`, replay packet id 1, filled with 0xa5.
fn reset(form: OpenVpnForm) -> Vec<u8> {
    reset_with(form, 1, &[0xa5; 1024])
}

fn tls_auth(hmac_length: usize) -> OpenVpnForm {
    OpenVpnForm::TlsAuth { hmac_length }
}

fn tls_crypt_v2(wrapped_key_length: usize) -> OpenVpnForm {
    OpenVpnForm::TlsCryptV2 { wrapped_key_length }
}

/// Whether `seen` starts with a complete hard reset, read literally off
/// the table in the module documentation.
fn naive(seen: &[u8]) -> bool {
    let Some(length) = seen
        .get(..2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    else {
        return false;
    };
    let Some(packet) = seen.get(2..2 + length) else {
        return false;
    };
    let zero = |from: usize| packet[from..from + 5] == [0; 5];
    let replay_id = |at: usize| matches!(packet[at..at + 3], [0x00 | 0x0f, 0, 0]);
    match (length, packet.first()) {
        (14, Some(0x38)) => zero(9),
        (38 | 42 | 50 | 54 | 70 | 86, Some(0x38)) if replay_id(length - 13) && zero(length - 5) => {
            true
        }
        (54, Some(0x38)) => replay_id(9),
        (345..=1078, Some(0x50)) => {
            replay_id(9) && packet[length - 2..] == ((length - 54) as u16).to_be_bytes()
        }
        _ => false,
    }
}

#[test]
fn every_form_matches_at_its_last_fixed_byte() {
    let forms = [
        (OpenVpnForm::Plain, 16),
        (tls_auth(16), 40),
        (tls_auth(20), 44),
        (tls_auth(28), 52),
        (tls_auth(32), 56),
        (tls_auth(48), 72),
        (tls_auth(64), 88),
        (tls_crypt_v2(291), 347),
        (tls_crypt_v2(299), 355),
        (tls_crypt_v2(1024), 1080),
    ];
    for (form, length) in forms {
        let reset = reset(form);
        assert_eq!(reset.len(), length, "{form:?}");
        assert_decides(&openvpn(), &reset, Match);
        assert!(naive(&reset), "{form:?}");
        let fields = openvpn_reset(&reset).unwrap();
        assert_eq!(fields.form, form);
        assert_eq!(fields.session_id, 0x0123_4567_89ab_cdef);
        assert_eq!(fields.opcode, form.opcode());
        assert_eq!(openvpn_reset(&reset[..length - 1]), None, "{form:?}");
    }
    // tls-crypt: the replay packet id's third byte; then random bytes.
    let tls_crypt = reset(OpenVpnForm::TlsCrypt);
    assert_eq!(tls_crypt.len(), 56);
    assert_decides(&openvpn(), &tls_crypt[..14], Match);
    assert_eq!(
        openvpn_reset(&tls_crypt).unwrap().form,
        OpenVpnForm::TlsCrypt
    );
    assert_eq!(openvpn_reset(&tls_crypt[..55]), None);
}

#[test]
fn lengths_no_reset_has_are_refused_at_once() {
    let cases: &[(&[u8], Verdict)] = &[
        (b"", NeedMore),
        (&[0x00], NeedMore),
        (&[0x04], NeedMore),
        (&[0x05], NoMatch),
        (&[0x16], NoMatch),
        (&[0x00, 0x00], NoMatch),
        (&[0x00, 0x0d], NoMatch),
        (&[0x00, 0x0e], NeedMore),
        (&[0x00, 0x0f], NoMatch),
        (&[0x00, 0x25], NoMatch),
        (&[0x00, 0x26], NeedMore),
        (&[0x00, 0x2a], NeedMore),
        (&[0x00, 0x36], NeedMore),
        (&[0x00, 0x37], NoMatch),
        (&[0x00, 0x56], NeedMore),
        (&[0x00, 0xff], NoMatch),
        (&[0x01, 0x58], NoMatch),
        (&[0x01, 0x59], NeedMore),
        (&[0x04, 0x36], NeedMore),
        (&[0x04, 0x37], NoMatch),
    ];
    for &(seen, want) in cases {
        assert_eq!(openvpn().verdict(seen), want, "{seen:02x?}");
    }
}

#[test]
fn each_fixed_byte_is_checked_where_it_arrives() {
    let plain = reset(OpenVpnForm::Plain);
    let sha1 = reset(tls_auth(20));
    let tls_crypt = reset(OpenVpnForm::TlsCrypt);
    let v2 = reset(tls_crypt_v2(299));
    // (reset, byte index, new value, verdict with that byte last)
    let cases: &[(&[u8], usize, u8, Verdict)] = &[
        // Key id 1, opcode 1 (key method 1), opcode 8 (a server's reset).
        (&plain, 2, V2 | 1, NoMatch),
        (&plain, 2, 1 << 3, NoMatch),
        (&plain, 2, 8 << 3, NoMatch),
        // V3 only with tls-crypt-v2, V2 never with it.
        (&plain, 2, V3, NoMatch),
        (&v2, 2, V2, NoMatch),
        // The session id is anything.
        (&plain, 3, 0xff, NeedMore),
        (&plain, 10, 0x00, NeedMore),
        // An ack count, a message packet id other than 0.
        (&plain, 11, 1, NoMatch),
        (&plain, 12, 1, NoMatch),
        (&plain, 15, 1, NoMatch),
        (&sha1, 39, 1, NoMatch),
        (&sha1, 43, 1, NoMatch),
        // Replay packet ids: 0x00 or 0x0f, then 0, 0, then anything.
        (&sha1, 31, 0x0f, NeedMore),
        (&sha1, 31, 0x01, NoMatch),
        (&sha1, 32, 0x01, NoMatch),
        (&sha1, 33, 0x01, NoMatch),
        (&sha1, 34, 0xff, NeedMore),
        (&tls_crypt, 11, 0x0f, NeedMore),
        // A 54-byte packet that is not tls-crypt may still be tls-auth
        // with a SHA256 HMAC.
        (&tls_crypt, 11, 0x10, NeedMore),
        (&tls_crypt, 13, 0x01, NeedMore),
        (&v2, 12, 0x01, NoMatch),
        // The wrapped key's length must be what the packet length leaves.
        (&v2, 353, 0x02, NoMatch),
        (&v2, 354, 0x2c, NoMatch),
    ];
    for &(reset, at, value, want) in cases {
        let mut changed = reset[..=at].to_vec();
        changed[at] = value;
        assert_eq!(
            openvpn().verdict(&changed),
            want,
            "byte {at} = {value:#04x} of {reset:02x?}"
        );
        assert_eq!(
            openvpn().verdict(&changed[..at]),
            NeedMore,
            "before byte {at}"
        );
    }
}

#[test]
fn a_54_byte_reset_is_tls_auth_or_tls_crypt() {
    // tls-auth's fixed fields at 41..54 with tls-crypt's broken: tls-auth.
    let mut sha256 = reset_with(tls_auth(32), 0x0f00_0002, &[0xa5; 1024]);
    assert_decides(&openvpn(), &sha256, Match);
    assert_eq!(openvpn_reset(&sha256).unwrap().form, tls_auth(32));
    // Both readings fit: tls-auth is reported, tls-crypt matched at byte 14.
    sha256[11..15].copy_from_slice(&[0, 0, 0, 7]);
    assert_eq!(openvpn().verdict(&sha256[..14]), Match);
    assert_eq!(openvpn_reset(&sha256).unwrap().form, tls_auth(32));
    // tls-crypt only.
    let mut tls_crypt = reset(OpenVpnForm::TlsCrypt);
    assert_eq!(
        openvpn_reset(&tls_crypt).unwrap().form,
        OpenVpnForm::TlsCrypt
    );
    tls_crypt[11] = 0x01;
    assert_eq!(openvpn().verdict(&tls_crypt[..14]), NeedMore);
    assert_eq!(openvpn().verdict(&tls_crypt), NoMatch);
    assert_eq!(openvpn_reset(&tls_crypt), None);
}

#[test]
fn wrapped_key_lengths_at_their_limits() {
    for wrapped_key_length in [291, 292, 1023, 1024] {
        let reset = reset(tls_crypt_v2(wrapped_key_length));
        assert_decides(&openvpn(), &reset, Match);
    }
    let too_short = (TLS_CRYPT_LENGTH + 290) as u16;
    let too_long = (TLS_CRYPT_LENGTH + 1025) as u16;
    assert_eq!(openvpn().verdict(&too_short.to_be_bytes()), NoMatch);
    assert_eq!(openvpn().verdict(&too_long.to_be_bytes()), NoMatch);
    assert_eq!(OPENVPN_MAX_RESET_BYTES, 1080);
}

#[test]
fn openvpn_2_6_captures() {
    let first_resets: [(&[u8], OpenVpnForm); 6] = [
        (PLAIN, OpenVpnForm::Plain),
        (TLS_AUTH_SHA1, tls_auth(20)),
        (&TLS_AUTH_SHA256_RESENT[..56], tls_auth(32)),
        (TLS_AUTH_SHA512, tls_auth(64)),
        (TLS_CRYPT, OpenVpnForm::TlsCrypt),
        (TLS_CRYPT_V2, tls_crypt_v2(299)),
    ];
    for (capture, form) in first_resets {
        assert_eq!(openvpn().verdict(capture), Match, "{form:?}");
        assert!(naive(capture), "{form:?}");
        if form == OpenVpnForm::TlsCrypt {
            assert_decides(&openvpn(), &capture[..14], Match);
        } else {
            assert_decides(&openvpn(), capture, Match);
        }
        let fields = openvpn_reset(capture).unwrap();
        assert_eq!(fields.form, form);
        assert_eq!(fields.opcode, form.opcode());
    }
    assert_eq!(
        openvpn_reset(PLAIN).unwrap().session_id,
        0xa939_52c9_0e9a_c32e
    );
    assert_eq!(openvpn_reset(TLS_CRYPT_V2).unwrap().opcode, 10);
    // The resend: the same session, replay packet id 2.
    let resent = &TLS_AUTH_SHA256_RESENT[56..];
    assert_eq!(resent[2 + 9 + 32..2 + 9 + 32 + 4], [0, 0, 0, 2]);
    assert_eq!(openvpn().verdict(resent), Match);
    assert_eq!(
        openvpn_reset(resent).unwrap().session_id,
        openvpn_reset(TLS_AUTH_SHA256_RESENT).unwrap().session_id
    );
    // tls-crypt-v2 announces early negotiation in its replay packet id.
    assert_eq!(TLS_CRYPT_V2[11..15], [0x0f, 0, 0, 1]);
}

/// The look-alike the module documentation names: a 54-byte DNS query
/// over TCP with an ID of 0x38xx and no EDNS record.
#[test]
fn dns_over_tcp_look_alike() {
    let query = |id: u16, additional: u16| {
        let mut message = id.to_be_bytes().to_vec();
        message.extend([0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]);
        message.extend(additional.to_be_bytes());
        message.extend(b"\x20connmux-look-alike-zz-zz-zz-zz-z\x03net\x00\x00\x01\x00\x01");
        [(message.len() as u16).to_be_bytes().as_slice(), &message].concat()
    };
    assert_eq!(query(0x38c1, 0).len(), 56);
    assert_eq!(openvpn().verdict(&query(0x38c1, 0)), Match);
    assert_eq!(
        openvpn_reset(&query(0x38c1, 0)).unwrap().form,
        OpenVpnForm::TlsCrypt
    );
    assert_eq!(openvpn().verdict(&query(0x38c1, 1)[..14]), NeedMore);
    assert_eq!(openvpn().verdict(&query(0x38c1, 1)), NoMatch);
    assert_eq!(openvpn().verdict(&query(0x1234, 0)[..3]), NoMatch);
}

/// The SOCKS4 request the module documentation names keeps the matcher
/// waiting; other ports do not.
#[test]
fn socks4_look_alike_waits() {
    let request = b"\x04\x01\x50\x00\x7f\x00\x00\x01abc\x00";
    assert_eq!(openvpn().verdict(request), NeedMore);
    assert!(!openvpn().matches_at_end(request));
    assert_eq!(openvpn().verdict(b"\x04\x01\x00\x50"), NoMatch);
    assert_eq!(
        openvpn().verdict(b"\x04\x01\x50\x00\x7f\x00\x00\x01abcd"),
        NoMatch
    );
}

/// Every other built-in protocol's opening is ruled out within 3 bytes, and
/// no other built-in matcher takes a capture.
#[test]
fn other_protocols_keep_apart() {
    assert_apart(
        "openvpn",
        3,
        &[
            PLAIN,
            TLS_AUTH_SHA1,
            &TLS_AUTH_SHA256_RESENT[..56],
            TLS_AUTH_SHA512,
            TLS_CRYPT,
            TLS_CRYPT_V2,
        ],
    );
}

fn form() -> impl Strategy<Value = OpenVpnForm> {
    prop_oneof![
        Just(OpenVpnForm::Plain),
        prop::sample::select(&HMAC_LENGTHS[..]).prop_map(tls_auth),
        Just(OpenVpnForm::TlsCrypt),
        WRAPPED_KEY_LENGTHS.prop_map(tls_crypt_v2),
    ]
}

/// A hard reset of any form, with any replay packet id a first packet or
/// its resend can have and random bytes where the form has them.
fn any_reset() -> impl Strategy<Value = Vec<u8>> {
    (
        form(),
        prop::sample::select(vec![0x0000_0000u32, 0x0f00_0000]),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 1024),
    )
        .prop_map(|(form, high, low, filler)| reset_with(form, high | u32::from(low), &filler))
}

/// Bytes that start like a hard reset of any length a form has, then
/// anything.
fn reset_opening() -> impl Strategy<Value = Vec<u8>> {
    (
        form(),
        prop::sample::select(vec![V2, V3]),
        prop::collection::vec(prop::sample::select(vec![0x00, 0x0f, 0xa5]), 0..24),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(form, opcode, body, tail)| {
            let mut opening = (form.packet_length() as u16).to_be_bytes().to_vec();
            opening.push(opcode);
            opening.extend(body);
            opening.extend(tail);
            opening
        })
}

proptest! {
    #[test]
    fn monotone_near_resets(data in near_miss(any_reset())) {
        Conformance::new(&openvpn()).assert(&data);
        check_settles("openvpn_reset", &data, openvpn_reset, Option::is_some);
        let fields = openvpn_reset(&data);
        prop_assert_eq!(fields.is_some(), naive(&data));
        if fields.is_some() {
            prop_assert_eq!(openvpn().verdict(&data), Match);
        }
    }

    #[test]
    fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..128)) {
        Conformance::new(&openvpn()).assert(&data);
        prop_assert_eq!(openvpn_reset(&data).is_some(), naive(&data));
    }

    #[test]
    fn monotone_near_openings(data in reset_opening()) {
        Conformance::new(&openvpn()).assert(&data);
        prop_assert_eq!(openvpn_reset(&data).is_some(), naive(&data));
    }

    #[test]
    fn resets_match(reset in any_reset()) {
        prop_assert_eq!(openvpn().verdict(&reset), Match);
        prop_assert!(naive(&reset));
        prop_assert!(openvpn_reset(&reset).is_some());
        prop_assert_eq!(openvpn_reset(&reset[..reset.len() - 1]), None);
    }

    #[test]
    fn chunking_does_not_change_the_decision(
        data in prop_oneof![near_miss(any_reset()), reset_opening()],
        chunk_sizes in prop::collection::vec(1usize..=256, 1..8),
    ) {
        assert_builtin_routes_chunking(&data, &chunk_sizes);
    }

    #[test]
    fn decides_within_its_bound(noise in prop::collection::vec(any::<u8>(), OPENVPN_MAX_RESET_BYTES)) {
        Conformance::new(&openvpn()).bound(OPENVPN_MAX_RESET_BYTES).fuzz(&noise);
        // The longest tls-crypt-v2 reset's fixed opening, then noise.
        let mut longest = vec![0x04, 0x36, V3];
        longest.extend(SESSION_ID);
        longest.extend([0, 0, 0, 1]);
        longest.extend(&noise);
        Conformance::new(&openvpn()).bound(OPENVPN_MAX_RESET_BYTES).fuzz(&longest);
    }
}
