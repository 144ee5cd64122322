//! The full route decision (every built-in matcher and combinator) over
//! arbitrary bytes: no panic, prefix monotonicity, chunk invariance.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::route_decision(data));
