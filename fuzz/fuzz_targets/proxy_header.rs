//! PROXY protocol v1/v2 parsing: monotone answers, bounds, and re-encoding
//! round trips through both encoders.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::proxy_header(data));
