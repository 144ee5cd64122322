//! Tests of the ClientHello fingerprint: GREASE, the lists read from
//! generated and real ClientHellos, and the fingerprint matchers.

use super::*;

#[test]
fn grease_is_the_sixteen_values_of_rfc_8701() {
    let grease: Vec<u16> = (0..=u16::MAX).filter(|&code| is_grease(code)).collect();
    let want: Vec<u16> = (0..16)
        .map(|nibble| 0x0a0a | nibble << 12 | nibble << 4)
        .collect();
    assert_eq!(grease, want);
    assert_eq!(want.first(), Some(&0x0a0a));
    assert_eq!(want.last(), Some(&0xfafa));
}
