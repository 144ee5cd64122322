//! Byte patterns: any text compiles or is refused at a character of it;
//! what compiles is monotone, chunk-invariant, bounded in bytes and work.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connmux::internal::pattern(data));
