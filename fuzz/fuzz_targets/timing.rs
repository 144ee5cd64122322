//! A client's bytes and their arrival times on a virtual clock, against
//! a silence route, a first-byte timeout, a deadline and a byte limit: no
//! panic or hang, the route a reference computes from the script, every
//! byte reaching the handler in order, the same outcome on a second run.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::timing(data));
