//! HTTP/1 matchers and http1_request over arbitrary bytes: monotonicity,
//! chunk invariance, agreement between matchers and extraction.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::http1(data));
