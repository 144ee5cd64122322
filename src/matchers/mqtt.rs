//! MQTT clients by their CONNECT packet, the first packet a client sends:
//! MQTT 3.1 (IBM and Eurotech, section 3.1), MQTT 3.1.1 (OASIS Standard,
//! sections 2.2 and 3.1) and MQTT 5.0 (OASIS Standard, sections 1.5.5 and
//! 3.1).
//!
//! ```text
//! fixed header     0x10 (packet type 1 CONNECT, flags 0)
//!                  | Remaining Length: variable byte integer, 1 to 4 bytes
//!                    of 7 bits each, least significant first, high bit set
//!                    on all but the last
//! variable header  protocol name: u16 length | "MQTT" (3.1.1, 5.0)
//!                                            | "MQIsdp" (3.1)
//!                  | protocol level: 4 (3.1.1), 5 (5.0), 3 (3.1)
//!                  | connect flags: bit 7 user name, 6 password, 5 will
//!                    retain, 4-3 will QoS, 2 will, 1 clean start,
//!                    0 reserved (must be 0)
//!                  | keep alive u16
//!                  | 5.0 only: properties (variable byte integer length,
//!                    then properties)
//! payload          client identifier: u16 length | UTF-8 | ...
//! ```
//!
//! The matcher decides on the connect flags byte, at most 15 bytes in.
//! Mosquitto bridges set the high bit of the protocol level (0x83, 0x84) to
//! tell a Mosquitto broker they are bridges; those match too.

use crate::matcher::cursor::{require, Cursor, Stop};
use crate::matcher::{Matcher, Verdict};

const CONNECT_FIXED_HEADER: u8 = 0x10;
/// The protocol names and the protocol levels each goes with.
const PROTOCOLS: [(&[u8], &[u8]); 2] = [(b"MQTT", &[4, 5]), (b"MQIsdp", &[3])];
/// Mosquitto's bridge flag in the protocol level byte.
const BRIDGE_LEVEL_BIT: u8 = 0x80;
const MQTT_5: u8 = 5;
const MQTT_3_1_1: u8 = 4;

const FLAG_USER_NAME: u8 = 0x80;
const FLAG_PASSWORD: u8 = 0x40;
const FLAG_WILL_RETAIN: u8 = 0x20;
const FLAG_WILL_QOS: u8 = 0x18;
const FLAG_WILL: u8 = 0x04;
const FLAG_RESERVED: u8 = 0x01;

/// Matches an MQTT CONNECT packet; see [`mqtt`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Mqtt;

/// A matcher for MQTT 3.1, 3.1.1 and 5.0 clients by their CONNECT packet.
///
/// It checks the fixed header, the Remaining Length (1 to 4 bytes, large
/// enough for the variable header and a client identifier), the protocol
/// name and level and the connect flags: the reserved bit clear, will QoS
/// not 3, and for 3.1.1 and 5.0 no will QoS or will retain without a will
/// (3.1.1 statements MQTT-3.1.2-13 and -15, 5.0 section 3.1.2.5 to 3.1.2.7)
/// and, for 3.1.1 only, no password without a user name (MQTT-3.1.2-22;
/// 5.0 allows it). It says `Match` on a valid flags byte, so it decides
/// within 15 bytes.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::mqtt;
///
/// // mosquitto_pub -V mqttv311: CONNECT, 24 bytes follow, "MQTT" level 4, clean session.
/// let connect = b"\x10\x18\x00\x04MQTT\x04\x02\x00\x3c\x00\x0cconnmux-test";
/// assert_eq!(mqtt().verdict(connect), Verdict::Match);
/// assert_eq!(mqtt().verdict(&connect[..9]), Verdict::NeedMore);
/// assert_eq!(mqtt().verdict(b"\x10\x18\x00\x04MQTT\x04\x03"), Verdict::NoMatch);
/// assert_eq!(mqtt().verdict(b"\x20"), Verdict::NoMatch);
/// ```
pub fn mqtt() -> Mqtt {
    Mqtt
}

impl Matcher for Mqtt {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        match connect_header(&mut Cursor::new(seen)) {
            Ok(_) => Verdict::Match,
            Err(stop) => stop.into(),
        }
    }
}

/// The protocol level of an MQTT CONNECT the matcher accepts: 3 (MQTT 3.1),
/// 4 (3.1.1) or 5 (5.0), Mosquitto's bridge bit cleared; `None` if `seen`
/// does not start with one.
///
/// ```
/// use connmux::matchers::mqtt_version;
///
/// assert_eq!(mqtt_version(b"\x10\x18\x00\x04MQTT\x05\x02"), Some(5));
/// assert_eq!(mqtt_version(b"\x10\x1a\x00\x06MQIsdp\x03\x02"), Some(3));
/// assert_eq!(mqtt_version(b"\x10\x18\x00\x04MQTT\x05"), None);
/// ```
pub fn mqtt_version(seen: &[u8]) -> Option<u8> {
    connect_header(&mut Cursor::new(seen)).ok()
}

/// The client identifier of an MQTT CONNECT (invalid UTF-8 replaced), once
/// it has arrived, or `None` if `seen` does not start with a CONNECT that
/// far. An empty identifier asks the server to assign one.
///
/// ```
/// use connmux::matchers::mqtt_client_id;
///
/// let connect = b"\x10\x18\x00\x04MQTT\x04\x02\x00\x3c\x00\x0cconnmux-test";
/// assert_eq!(mqtt_client_id(connect).as_deref(), Some("connmux-test"));
/// assert_eq!(mqtt_client_id(&connect[..20]), None);
/// ```
pub fn mqtt_client_id(seen: &[u8]) -> Option<String> {
    let mut packet = Cursor::new(seen);
    let level = connect_header(&mut packet).ok()?;
    packet.skip(2).ok()?;
    if level == MQTT_5 {
        let properties_length = variable_byte_integer(&mut packet).ok()?;
        packet.skip(usize::try_from(properties_length).ok()?).ok()?;
    }
    let length = packet.u16().ok()?;
    let client_id = packet.take(usize::from(length)).ok()?;
    Some(String::from_utf8_lossy(client_id).into_owned())
}

/// Reads the CONNECT packet up to and including the connect flags,
/// returning the protocol level (bridge bit cleared).
fn connect_header(packet: &mut Cursor<'_>) -> Result<u8, Stop> {
    require(packet.u8()? == CONNECT_FIXED_HEADER)?;
    let remaining_length = variable_byte_integer(packet)?;
    require(remaining_length >= min_remaining_length(4, MQTT_3_1_1))?;
    require(packet.u8()? == 0)?;
    let name_length = packet.u8()?;
    let (name, levels) = PROTOCOLS
        .iter()
        .find(|(name, _)| name.len() == usize::from(name_length))
        .ok_or(Stop::Invalid)?;
    for &expected in *name {
        require(packet.u8()? == expected)?;
    }
    let level = packet.u8()? & !BRIDGE_LEVEL_BIT;
    require(levels.contains(&level))?;
    require(remaining_length >= min_remaining_length(name_length, level))?;
    let flags = packet.u8()?;
    require(flags & FLAG_RESERVED == 0)?;
    require(flags & FLAG_WILL_QOS != FLAG_WILL_QOS)?;
    if level >= MQTT_3_1_1 && flags & FLAG_WILL == 0 {
        require(flags & (FLAG_WILL_QOS | FLAG_WILL_RETAIN) == 0)?;
    }
    if level == MQTT_3_1_1 && flags & FLAG_PASSWORD != 0 {
        require(flags & FLAG_USER_NAME != 0)?;
    }
    Ok(level)
}

/// The shortest Remaining Length a CONNECT can have: the variable header,
/// then the client identifier's length field.
fn min_remaining_length(name_length: u8, level: u8) -> u32 {
    let properties_length_field = u32::from(level == MQTT_5);
    2 + u32::from(name_length) + 1 + 1 + 2 + properties_length_field + 2
}

/// Reads an MQTT variable byte integer (MQTT 5.0 section 1.5.5, 3.1.1
/// section 2.2.3): at most 4 bytes, so a fourth byte with its continuation
/// bit set is invalid.
fn variable_byte_integer(packet: &mut Cursor<'_>) -> Result<u32, Stop> {
    let mut value = 0u32;
    for shift in [0, 7, 14, 21] {
        let byte = packet.u8()?;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Stop::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Conformance;
    use crate::matchers::testing::{assert_decides, near_miss};
    use proptest::prelude::*;
    use Verdict::{Match, NeedMore, NoMatch};

    const MOSQUITTO_V31: &[u8] = include_bytes!("../../tests/fixtures/manual/mqtt31-mosquitto.bin");
    const MOSQUITTO_V311: &[u8] =
        include_bytes!("../../tests/fixtures/manual/mqtt311-mosquitto.bin");
    const MOSQUITTO_V5: &[u8] = include_bytes!("../../tests/fixtures/manual/mqtt5-mosquitto.bin");

    #[test]
    fn table() {
        let cases: &[(&[u8], Verdict)] = &[
            (b"", NeedMore),
            (b"\x10", NeedMore),
            (b"\x11", NoMatch),
            (b"\x30", NoMatch),
            (b"\x10\x0c", NeedMore),
            (b"\x10\x0b", NoMatch),
            (b"\x10\x00", NoMatch),
            (b"\x10\x0c\x01", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x04\x02", Match),
            (b"\x10\x0b\x00\x04MQTT\x04", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x05", NoMatch),
            (b"\x10\x0d\x00\x04MQTT\x05\x02", Match),
            (b"\x10\x0e\x00\x06MQIsdp\x03\x02", Match),
            (b"\x10\x0d\x00\x06MQIsdp\x03", NoMatch),
            (b"\x10\x80\x01\x00\x04MQTT\x04\x00", Match),
            (b"\x10\xff\xff\xff\x7f\x00\x04MQTT\x04\x00", Match),
            (b"\x10\xff\xff\xff\xff", NoMatch),
            (b"\x10\x0c\x00\x05", NoMatch),
            (b"\x10\x0c\x01", NoMatch),
            (b"\x10\x0c\x00\x04MQX", NoMatch),
            (b"\x10\x0c\x00\x04MQI", NoMatch),
            (b"\x10\x0c\x00\x06MQT", NoMatch),
            (b"\x10\x0c\x00\x06MQIsdp", NeedMore),
            (b"\x10\x0c\x00\x04MQTT\x03", NoMatch),
            (b"\x10\x0e\x00\x06MQIsdp\x04", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x06", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x84\x02", Match),
            (b"\x10\x0e\x00\x06MQIsdp\x83\x02", Match),
            (b"\x10\x0c\x00\x04MQTT\x04\x03", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x04\x1e", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x04\x16", Match),
            (b"\x10\x0c\x00\x04MQTT\x04\x10", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x04\x22", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x04\x42", NoMatch),
            (b"\x10\x0c\x00\x04MQTT\x04\xc2", Match),
            (b"\x10\x0d\x00\x04MQTT\x05\x42", Match),
            (b"\x10\x0e\x00\x06MQIsdp\x03\x30", Match),
            (b"\x10\x0e\x00\x06MQIsdp\x03\x1a", NoMatch),
            (b"GET / HTTP/1.1\r\n", NoMatch),
        ];
        for (seen, want) in cases {
            assert_decides(&mqtt(), seen, *want);
        }
    }

    #[test]
    fn mosquitto_captures() {
        for (capture, level) in [(MOSQUITTO_V31, 3), (MOSQUITTO_V311, 4), (MOSQUITTO_V5, 5)] {
            assert_eq!(mqtt().verdict(capture), Match);
            assert_eq!(mqtt_version(capture), Some(level));
            assert_eq!(mqtt_client_id(capture).as_deref(), Some("connmux-test"));
            assert_eq!(mqtt_client_id(&capture[..capture.len() - 1]), None);
        }
        assert_eq!(mqtt_version(b"\x10\x0c\x00\x04MQTT\x84\x02"), Some(4));
    }

    /// A CONNECT packet: level, flags, keep alive, properties and client id.
    fn connect_packet() -> impl Strategy<Value = Vec<u8>> {
        let flags = (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0u8..=2,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(user, password, will, qos, retain, clean)| {
                let will_bits = if will {
                    0x04 | qos << 3 | u8::from(retain) << 5
                } else {
                    0
                };
                u8::from(user) << 7
                    | u8::from(password && user) << 6
                    | will_bits
                    | u8::from(clean) << 1
            });
        let protocol = prop::sample::select(vec![(&b"MQTT"[..], 4), (b"MQTT", 5), (b"MQIsdp", 3)]);
        (
            protocol,
            flags,
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..24),
            "[0-9a-zA-Z]{0,23}",
            prop::collection::vec(any::<u8>(), 0..24),
        )
            .prop_map(
                |((name, level), flags, keep_alive, properties, client_id, payload)| {
                    let mut rest = (name.len() as u16).to_be_bytes().to_vec();
                    rest.extend(name);
                    rest.extend([level, flags]);
                    rest.extend(keep_alive.to_be_bytes());
                    if level == MQTT_5 {
                        encode_variable_byte_integer(&mut rest, properties.len() as u32);
                        rest.extend(&properties);
                    }
                    rest.extend((client_id.len() as u16).to_be_bytes());
                    rest.extend(client_id.as_bytes());
                    rest.extend(&payload);
                    let mut packet = vec![CONNECT_FIXED_HEADER];
                    encode_variable_byte_integer(&mut packet, rest.len() as u32);
                    packet.extend(rest);
                    packet
                },
            )
    }

    fn encode_variable_byte_integer(into: &mut Vec<u8>, mut value: u32) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                into.push(byte);
                return;
            }
            into.push(byte | 0x80);
        }
    }

    proptest! {
        #[test]
        fn monotone_near_connects(data in near_miss(connect_packet())) {
            Conformance::new(&mqtt()).assert(&data);
            let _ = mqtt_client_id(&data);
        }

        #[test]
        fn connects_match(packet in connect_packet()) {
            prop_assert_eq!(mqtt().verdict(&packet), Match);
            prop_assert!(mqtt_version(&packet).is_some());
            prop_assert!(mqtt_client_id(&packet).is_some());
        }

        #[test]
        fn variable_byte_integers_round_trip(value in 0u32..(1 << 28)) {
            let mut encoded = Vec::new();
            encode_variable_byte_integer(&mut encoded, value);
            prop_assert_eq!(variable_byte_integer(&mut Cursor::new(&encoded)), Ok(value));
        }

        #[test]
        fn decides_within_fifteen_bytes(
            length in prop::collection::vec(any::<u8>(), 4),
            name in prop::sample::select(vec![&b"\x00\x04MQTT"[..], b"\x00\x06MQIsdp"]),
            rest in prop::collection::vec(any::<u8>(), 15),
        ) {
            let mut data = vec![CONNECT_FIXED_HEADER];
            data.extend(&length);
            data.extend(name);
            data.extend(&rest);
            Conformance::new(&mqtt()).bound(15).fuzz(&data);
            prop_assert_ne!(mqtt().verdict(&rest), NeedMore);
        }
    }
}
