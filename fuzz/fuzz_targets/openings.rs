//! OpenVPN, RDP, tinc, adb, syslog, DNS over TCP and XMPP matchers and
//! their field functions over arbitrary bytes: monotonicity, chunk
//! invariance, fields that settle and agree with their matcher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::openings(data));
