//! An HPACK header block in a HEADERS frame, whole and split across
//! CONTINUATION frames: the same fields and verdicts whatever the framing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::hpack(data));
