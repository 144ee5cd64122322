//! A template for fuzzing your own matcher: copy this file to
//! `fuzz/fuzz_targets/<your_matcher>.rs`, add a `[[bin]]` for it to
//! `fuzz/Cargo.toml`, put your matcher and its bound in place of `zap` and
//! `ZAP_MAX_BYTES`, and run `cargo fuzz run <your_matcher>`. The kit
//! (`connmux::conformance`) panics, which is the fuzzer's finding, when the
//! matcher changes a final verdict on a longer prefix, routes differently
//! in other reads, is undecided past its bound, answers at the end against
//! its verdict, or panics.
#![no_main]

use connmux::conformance::Conformance;
use connmux::Verdict;
use libfuzzer_sys::fuzz_target;

/// A made-up protocol whose clients open with `ZAP`, a version digit and a
/// newline: decided by its fifth byte.
const ZAP_MAX_BYTES: usize = 5;

fn zap(seen: &[u8]) -> Verdict {
    let opening: [&[u8]; ZAP_MAX_BYTES] = [b"Z", b"A", b"P", b"0123456789", b"\n"];
    if seen.iter().zip(opening).any(|(byte, allowed)| !allowed.contains(byte)) {
        Verdict::NoMatch
    } else if seen.len() >= ZAP_MAX_BYTES {
        Verdict::Match
    } else {
        Verdict::NeedMore
    }
}

fuzz_target!(|data: &[u8]| Conformance::new(&zap).bound(ZAP_MAX_BYTES).fuzz(data));
