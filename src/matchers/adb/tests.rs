//! Tests of the adb matcher: hand-made CONNECT messages at the limits of
//! each field, an adb capture, adb 26.0.0 rc1's empty message, other
//! protocols' openings, and properties against a naive reading of
//! `protocol.txt`.
//!
//! The capture is the first bytes adb 1.0.41 (Debian 12's `adb`,
//! 1:29.0.6-28) sent to a Python listener on 127.0.0.1 when run as `adb
//! connect 127.0.0.1:PORT`.

use super::*;
use crate::conformance::Conformance;
use crate::internal::check_settles;
use crate::matchers::testing::{
    assert_apart, assert_builtin_routes_chunking, assert_decides, near_miss,
};
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

const ADB_1_0_41: &[u8] = include_bytes!("adb-1.0.41.bin");
/// The most bytes the matcher reads: the empty message, the CONNECT
/// header and `host:`.
const MAX_OPENING_LENGTH: usize = EMPTY_MESSAGE.len() + 24 + HOST_IDENTITY.len();

/// A CONNECT message with this version, maxdata and identity, its data
/// check the identity's byte sum.
fn connect(version: u32, max_data: u32, identity: &[u8]) -> Vec<u8> {
    let check: u32 = identity.iter().map(|&byte| u32::from(byte)).sum();
    let mut message = b"CNXN".to_vec();
    for word in [version, max_data, identity.len() as u32, check, 0xb1a7_b1bc] {
        message.extend(word.to_le_bytes());
    }
    message.extend(identity);
    message
}

/// Whether `seen` starts with a whole CONNECT message from a host, read
/// literally off `protocol.txt`, after the empty message if one comes
/// first.
fn naive(seen: &[u8]) -> bool {
    let seen = seen.strip_prefix(&EMPTY_MESSAGE[..]).unwrap_or(seen);
    let Some(header) = seen.get(..24) else {
        return false;
    };
    let word = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let length = word(12) as usize;
    word(0) == 0x4e58_4e43
        && word(4) >> 8 == 0x01_0000
        && (5..=1 << 20).contains(&length)
        && word(20) == !word(0)
        && seen.len() >= 24 + length
        && seen[24..].starts_with(b"host:")
}

#[test]
fn adb_capture() {
    assert_decides(&adb(), &ADB_1_0_41[..29], Match);
    assert!(naive(ADB_1_0_41));
    let fields = adb_connect(ADB_1_0_41).unwrap();
    assert_eq!(fields.version, 0x0100_0001);
    assert_eq!(fields.max_data, 1024 * 1024);
    assert!(fields
        .system_identity
        .starts_with("host::features=remount_shell,abb_exec,abb,"));
    assert!(fields.system_identity.ends_with(",cmd,shell_v2"));
    assert_eq!(fields.system_identity.len(), 119);
    assert_eq!(adb_connect(&ADB_1_0_41[..ADB_1_0_41.len() - 1]), None);
    // The data check is the identity's byte sum.
    assert_eq!(connect(0x0100_0001, 1 << 20, &ADB_1_0_41[24..]), ADB_1_0_41);
}

#[test]
fn after_the_empty_message() {
    let opening = [&EMPTY_MESSAGE[..], ADB_1_0_41].concat();
    assert_decides(&adb(), &opening[..53], Match);
    assert_eq!(adb_connect(&opening), adb_connect(ADB_1_0_41));
    assert!(naive(&opening));
    // One empty message only, and all of it zero but the magic.
    let twice = [&EMPTY_MESSAGE[..], &EMPTY_MESSAGE, ADB_1_0_41].concat();
    assert_eq!(adb().verdict(&twice[..25]), NoMatch);
    for at in [3, 19, 20, 23] {
        let mut broken = opening[..=at].to_vec();
        broken[at] ^= 0x01;
        assert_eq!(adb().verdict(&broken), NoMatch, "byte {at}");
        assert_eq!(adb().verdict(&broken[..at]), NeedMore, "before byte {at}");
    }
}

#[test]
fn each_field_is_checked_where_it_arrives() {
    let message = connect(0x0100_0000, 4096, b"host::\0");
    // (byte index, new value, verdict with that byte last)
    let cases: &[(usize, u8, Verdict)] = &[
        (0, b'O', NoMatch),
        (0, b'A', NoMatch),
        (3, b'X', NoMatch),
        // Versions 0x010000xx.
        (4, 0xff, NeedMore),
        (5, 0x01, NoMatch),
        (6, 0x01, NoMatch),
        (7, 0x02, NoMatch),
        // Any maxdata; the data check is not checked.
        (8, 0xff, NeedMore),
        (11, 0xff, NeedMore),
        (16, 0xff, NeedMore),
        (19, 0xff, NeedMore),
        // The magic.
        (20, 0xbd, NoMatch),
        (23, 0xb0, NoMatch),
        // A device's or a bootloader's identity.
        (24, b'd', NoMatch),
        (24, b'b', NoMatch),
        (28, b';', NoMatch),
    ];
    for &(at, value, want) in cases {
        let mut changed = message[..=at].to_vec();
        changed[at] = value;
        assert_eq!(adb().verdict(&changed), want, "byte {at} = {value:#04x}");
        assert_eq!(adb().verdict(&changed[..at]), NeedMore, "before byte {at}");
    }
    assert_decides(&adb(), &message[..29], Match);
}

#[test]
fn data_lengths_at_their_limits() {
    // (data length, verdict once its last byte is in)
    let cases = [
        (0, NoMatch),
        (4, NoMatch),
        (5, NeedMore),
        (1 << 20, NeedMore),
        ((1 << 20) + 1, NoMatch),
        (u32::MAX, NoMatch),
    ];
    for (length, want) in cases {
        let mut header = b"CNXN\x01\x00\x00\x01\x00\x10\x00\x00".to_vec();
        header.extend(u32::to_le_bytes(length));
        assert_eq!(adb().verdict(&header), want, "{length}");
    }
    let shortest = connect(0x0100_0001, 4096, b"host:");
    assert_decides(&adb(), &shortest, Match);
    assert_eq!(adb_connect(&shortest).unwrap().system_identity, "host:");
}

#[test]
fn identities() {
    let cases: &[(&[u8], &str)] = &[
        (b"host::", "host::"),
        (b"host::\0", "host::"),
        (b"host::\0\0", "host::\0"),
        (b"host:serial:banner", "host:serial:banner"),
        (b"host::features=\xff", "host::features=\u{fffd}"),
    ];
    for &(identity, want) in cases {
        let fields = adb_connect(&connect(0x0100_0001, 1 << 18, identity)).unwrap();
        assert_eq!(fields.system_identity, want, "{identity:?}");
        assert_eq!(fields.max_data, 1 << 18);
    }
}

#[test]
fn other_protocols_keep_apart() {
    let with_empty_message = [&EMPTY_MESSAGE[..], ADB_1_0_41].concat();
    // The PostgreSQL opening starts with three zero bytes, as the empty
    // message does: ruled out at its fourth.
    assert_apart("adb", 4, &[ADB_1_0_41, &with_empty_message]);
}

/// A CONNECT message from a host, after the empty message or not, with
/// any version 0x010000xx, maxdata and data check, then anything.
fn connect_message() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        any::<u8>(),
        any::<u32>(),
        "host:[A-Za-z0-9.]{0,12}:[ -~]{0,60}",
        any::<Option<u32>>(),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(empty_first, version, max_data, identity, check, tail)| {
            let mut message = connect(
                0x0100_0000 | u32::from(version),
                max_data,
                identity.as_bytes(),
            );
            if let Some(check) = check {
                message[16..20].copy_from_slice(&check.to_le_bytes());
            }
            let empty: &[u8] = if empty_first { &EMPTY_MESSAGE } else { &[] };
            [empty, &message, &tail].concat()
        })
}

proptest! {
    #[test]
    fn connect_messages_match(message in connect_message()) {
        prop_assert_eq!(adb().verdict(&message), Match);
        prop_assert!(naive(&message));
        let fields = adb_connect(&message).unwrap();
        prop_assert!(fields.system_identity.starts_with("host:"));
        prop_assert_eq!(fields.version >> 8, 0x01_0000);
    }

    #[test]
    fn monotone_near_connect_messages(data in near_miss(connect_message())) {
        Conformance::new(&adb()).assert(&data);
        check_settles("adb_connect", &data, adb_connect, Option::is_some);
        let fields = adb_connect(&data);
        prop_assert_eq!(fields.is_some(), naive(&data));
        if fields.is_some() {
            prop_assert_eq!(adb().verdict(&data), Match);
        }
    }

    #[test]
    fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..80), cnxn in any::<bool>()) {
        let data = if cnxn { [&b"CNXN"[..], &data].concat() } else { data };
        Conformance::new(&adb()).assert(&data);
        prop_assert_eq!(adb_connect(&data).is_some(), naive(&data));
    }

    #[test]
    fn chunking_does_not_change_the_decision(
        data in near_miss(connect_message()),
        chunk_sizes in prop::collection::vec(1usize..=256, 1..8),
    ) {
        assert_builtin_routes_chunking(&data, &chunk_sizes);
    }

    #[test]
    fn decides_within_its_bound(noise in prop::collection::vec(any::<u8>(), MAX_OPENING_LENGTH)) {
        Conformance::new(&adb()).bound(MAX_OPENING_LENGTH).fuzz(&noise);
        let mut longest = [&EMPTY_MESSAGE[..], b"CNXN\x01\x00\x00\x01"].concat();
        longest.extend(&noise);
        Conformance::new(&adb()).bound(MAX_OPENING_LENGTH).fuzz(&longest);
    }
}
