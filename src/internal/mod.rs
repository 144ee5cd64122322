//! Test machinery, hidden and not part of the API: the invariant checks
//! (oracles) the `fuzz/` crate's targets run, shared with
//! `tests/fuzz_corpus.rs` (which replays the seed corpora through them on
//! stable Rust), `tests/properties.rs` and the matchers' unit tests. It is
//! public only so that code outside the library can call it.
//!
//! Each cargo-fuzz target calls the function of its name, which panics
//! only when an invariant breaks; that panic is the finding. Each checks,
//! beyond "no panic": that every matcher it runs is prefix-monotone on the
//! input ([`check_monotone`], on a sample of prefixes the input steers:
//! `sample.rs`), that a route decision does not depend on
//! how the input is chunked, and that the matchers agree with the
//! extraction functions of the same parser.
//!
//! | file                | holds                                                 |
//! |---------------------|-------------------------------------------------------|
//! | `checks.rs`         | the checks every target shares                        |
//! | `sample.rs`         | which prefixes, routes and checks an input chooses    |
//! | `route_decision.rs` | [`standard_routes`] and the `route_decision` target   |
//! | `http1.rs`          | the `http1` target                                    |
//! | `http2.rs`          | the `http2_frames` target, with checks `hpack` reuses |
//! | `http2_wire.rs`     | a header block framed into a client's opening         |
//! | `hpack.rs`          | the `hpack` target                                    |
//! | `tls.rs`            | the `tls_client_hello` target                         |
//! | `proxy.rs`          | the `proxy_header` target                             |
//! | `pattern.rs`        | the `pattern` target                                  |
//! | `openings.rs`       | the `openings` target (OpenVPN, RDP, tinc, adb, ...)  |
//! | `timing.rs`         | the `timing` target: bytes and their arrival times    |

mod checks;
mod hpack;
mod http1;
mod http2;
mod http2_wire;
mod openings;
mod pattern;
mod proxy;
mod route_decision;
mod sample;
mod timing;
mod tls;

#[cfg(test)]
pub(crate) use checks::check_settles;
pub use checks::{check_chunking, check_monotone, check_route_table, decide_chunked, decide_whole};
pub use hpack::hpack;
pub use http1::http1;
pub use http2::http2_frames;
pub use openings::openings;
pub use pattern::pattern;
pub use proxy::proxy_header;
pub use route_decision::{route_decision, standard_routes};
pub use timing::timing;
#[cfg(test)]
pub(crate) use tls::check_fingerprint;
pub use tls::tls_client_hello;
