//! HTTP/2 frames after the preface: header matchers, request extraction
//! and the SETTINGS reply agree and never change their answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::http2_frames(data));
