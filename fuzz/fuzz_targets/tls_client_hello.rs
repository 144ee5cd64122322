//! TLS ClientHello matchers and client_hello_info: monotonicity, agreement
//! between filters and extraction, invariance under record re-splitting.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::tls_client_hello(data));
