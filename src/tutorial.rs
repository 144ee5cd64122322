//! A tutorial: protocol sniffing from the first byte.
//!
//! This module holds no code, only this text. It teaches how a
//! multiplexer tells protocols apart from the first bytes of a
//! connection, how to write a matcher of your own, and how to convince
//! yourself it is right. Every example here is compiled and run as a test.
//!
//! # 1. What a sniffer sees
//!
//! A client connects and sends its opening: an HTTP request line, a TLS
//! ClientHello, an SSH banner. The server does not choose when those bytes
//! arrive. They may come in one read or one byte at a time, at once or
//! spread over seconds; the client may also send nothing, because its
//! protocol waits for the server to speak first (SMTP, MySQL).
//!
//! So a multiplexer does not ask "what protocol is this connection?" once.
//! It asks, each time more bytes arrive, "what do these bytes say so
//! far?", and each route answers with a [`Verdict`](crate::Verdict):
//!
//! - [`Verdict::Match`](crate::Verdict::Match): these bytes are my protocol's, whatever follows.
//! - [`Verdict::NoMatch`](crate::Verdict::NoMatch): they are not, whatever follows.
//! - [`Verdict::NeedMore`](crate::Verdict::NeedMore): I cannot tell yet.
//!
//! ```
//! use connmux::{Matcher, Verdict};
//! use connmux::matchers::{http1_fast, ssh};
//!
//! // An SSH banner, as it may arrive: in pieces.
//! let banner = b"SSH-2.0-OpenSSH_9.6\r\n";
//! assert_eq!(ssh().verdict(&banner[..3]), Verdict::NeedMore);
//! assert_eq!(ssh().verdict(banner), Verdict::Match);
//! // HTTP/1 knows at the first byte: no method starts with 'S' then 'S'.
//! assert_eq!(http1_fast().verdict(&banner[..2]), Verdict::NoMatch);
//! ```
//!
//! Routes are tried in the order they were registered, and a route wins
//! when it says `Match` and every route before it has said `NoMatch`.
//! While an earlier route still says `NeedMore`, a later route's `Match`
//! waits: the earlier route has priority, and it may yet match. This is
//! why the specific routes go first: `tls_sni("a.example")` before
//! `tls()`, `websocket()` before `http1_fast()`.
//!
//! The sniff ends in one of a few ways: a route wins; every route says
//! `NoMatch` (the connection is closed, or goes to a catch-all such as
//! [`matchers::any`](crate::matchers::any)); or the input ends undecided,
//! because the client closed, the sniff deadline passed or the byte limit
//! was reached. Then each route still undecided is asked
//! [`Matcher::matches_at_end`](crate::Matcher::matches_at_end), in order, and the first that says yes
//! wins: "the input is complete: is it yours?"
//!
//! # 2. Why matchers are pure
//!
//! A matcher is a function of the bytes received so far, and of nothing
//! else: no I/O, no clock, no state kept between calls. Two rules follow,
//! and every matcher must keep them.
//!
//! **Prefix monotonicity.** Once a matcher has said `Match` or `NoMatch`
//! on some bytes, it says the same on every longer input that starts with
//! them. The multiplexer relies on it: it stops asking a route that said
//! `NoMatch`, and it routes on the first `Match` without waiting to see
//! whether more bytes would change the answer.
//!
//! **Chunk invariance.** Because the verdict depends on the bytes and not
//! on how they arrived, the route a connection takes does not depend on
//! how the network cut it into reads. An attacker who sends an opening
//! one byte at a time gets the same route as a client that sends it whole
//! (and, as the repository's `SECURITY.md` describes, pays for the extra
//! reads, not the server).
//!
//! Purity is also what makes a matcher easy to test and to fuzz: any
//! sequence of byte strings is a complete test case, with no socket or
//! thread to set up.
//!
//! # 3. A matcher for a made-up protocol
//!
//! Say a game's clients open with the four bytes `TIDE`, a version byte
//! from 1 to 3, then a name length and the player's name. The version is
//! the last byte that can tell a TIDE client from anything else, so the
//! matcher decides at the fifth byte: it needs no more, and answering
//! early lets later routes have the connection sooner.
//!
//! ```
//! use connmux::{Matcher, Verdict};
//!
//! /// TIDE clients: `TIDE`, then a version from 1 to 3.
//! struct Tide;
//!
//! impl Matcher for Tide {
//!     fn verdict(&self, seen: &[u8]) -> Verdict {
//!         const MAGIC: &[u8] = b"TIDE";
//!         // Compare what has arrived of the magic: a difference is final.
//!         let n = seen.len().min(MAGIC.len());
//!         if seen[..n] != MAGIC[..n] {
//!             return Verdict::NoMatch;
//!         }
//!         match seen.get(MAGIC.len()) {
//!             None => Verdict::NeedMore,
//!             Some(1..=3) => Verdict::Match,
//!             Some(_) => Verdict::NoMatch,
//!         }
//!     }
//! }
//!
//! assert_eq!(Tide.verdict(b""), Verdict::NeedMore);
//! assert_eq!(Tide.verdict(b"TI"), Verdict::NeedMore);
//! assert_eq!(Tide.verdict(b"TIDE\x02"), Verdict::Match);
//! assert_eq!(Tide.verdict(b"TIDE\x02\x05alice"), Verdict::Match);
//! assert_eq!(Tide.verdict(b"TIDE\x09"), Verdict::NoMatch);
//! assert_eq!(Tide.verdict(b"TIME"), Verdict::NoMatch);
//! // Complete input that never reached the version is not TIDE.
//! assert!(!Tide.matches_at_end(b"TIDE"));
//! ```
//!
//! Three habits of good matchers show here. It says `NoMatch` at the
//! first byte that rules the protocol out (`TIME` is refused at the `M`),
//! so a connection that is not TIDE costs the other routes no waiting. It
//! reads a bounded number of bytes (five) before it decides, so a client
//! cannot keep it undecided by sending more. And it never indexes past
//! what has arrived: `seen` may be empty, or stop anywhere.
//!
//! The default [`matches_at_end`](crate::Matcher::matches_at_end) says yes only
//! where `verdict` says `Match`, which is right for TIDE. Override it for
//! a protocol whose opening can only be recognised as finished when the
//! input ends (a line-based protocol without a terminator, say).
//!
//! A closure `Fn(&[u8]) -> Verdict` is a matcher too, for a quick one.
//!
//! # 4. Routing with it
//!
//! A matcher goes wherever a built-in one does. Here a TIDE route sits
//! before HTTP/1 on an in-memory listener ([`memory`](crate::memory)), so
//! the example needs no network:
//!
//! ```
//! use connmux::{matchers, memory, Matcher, Mux, Verdict};
//! use std::io::{Read, Write};
//!
//! # struct Tide;
//! # impl Matcher for Tide {
//! #     fn verdict(&self, seen: &[u8]) -> Verdict {
//! #         let n = seen.len().min(4);
//! #         if seen[..n] != b"TIDE"[..n] { return Verdict::NoMatch; }
//! #         match seen.get(4) { None => Verdict::NeedMore, Some(1..=3) => Verdict::Match, Some(_) => Verdict::NoMatch }
//! #     }
//! # }
//! let (listener, connector) = memory::listener();
//! let mut mux = Mux::new(listener)?;
//! let tide = mux.route(Tide);
//! let http = mux.route(matchers::http1_fast());
//! let handle = mux.handle();
//! let server = std::thread::spawn(move || mux.serve());
//!
//! let mut player = connector.clone().connect()?;
//! player.write_all(b"TIDE\x01\x03bob")?;
//! let (mut conn, _peer) = tide.accept()?;
//! let mut opening = [0u8; 9];
//! conn.read_exact(&mut opening)?; // every sniffed byte, replayed
//! assert_eq!(&opening, b"TIDE\x01\x03bob");
//!
//! let mut browser = connector.connect()?;
//! browser.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
//! assert!(http.accept().is_ok());
//!
//! handle.shutdown();
//! server.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 5. Checking it with the conformance kit
//!
//! The rules of chapter 2 are easy to break by accident: an early
//! `return Verdict::Match` on a prefix that a longer input contradicts, a
//! `NeedMore` that waits for a byte that may never come, an index past
//! `seen.len()`. [`conformance`](crate::conformance) checks a matcher for
//! all of them on the inputs you give it: prefix monotonicity, the same
//! route whole and read by read (through the sniffer's own decider and
//! pacing), a decision within its bound, an end-of-input answer that
//! agrees with its verdicts, and no panic. It returns a
//! [`Violation`](crate::conformance::Violation) saying which rule broke,
//! on which input and at which prefix.
//!
//! ```
//! use connmux::conformance::{Conformance, Property};
//! use connmux::{Matcher, Verdict};
//!
//! # struct Tide;
//! # impl Matcher for Tide {
//! #     fn verdict(&self, seen: &[u8]) -> Verdict {
//! #         let n = seen.len().min(4);
//! #         if seen[..n] != b"TIDE"[..n] { return Verdict::NoMatch; }
//! #         match seen.get(4) { None => Verdict::NeedMore, Some(1..=3) => Verdict::Match, Some(_) => Verdict::NoMatch }
//! #     }
//! # }
//! // Real openings and near misses: a capture from the game's client
//! // belongs here too.
//! let inputs: [&[u8]; 4] = [b"TIDE\x01\x03bob", b"TIDE\x07", b"TIME", b"GET / HTTP/1.1\r\n"];
//! Conformance::new(&Tide).bound(5).check_all(inputs)?;
//!
//! // A matcher that looks at the length of what arrived, not at the
//! // bytes: "TI" is not refused, but "TIX" is matched.
//! let sloppy = |seen: &[u8]| match seen.len() {
//!     0..=2 => Verdict::NeedMore,
//!     _ if seen.starts_with(b"TI") => Verdict::Match,
//!     _ => Verdict::NoMatch,
//! };
//! assert!(Conformance::new(&sloppy).check(b"TIX").is_ok()); // consistent...
//! let broken = Conformance::new(&sloppy).bound(2).check(b"TIX").unwrap_err();
//! assert_eq!(broken.property, Property::Bound); // ...but slower than it says
//! # Ok::<(), connmux::conformance::Violation>(())
//! ```
//!
//! In a plain `#[test]`, [`Conformance::assert_all`](crate::conformance::Conformance::assert_all)
//! panics with a readable report instead; in a proptest, call
//! [`Conformance::assert`](crate::conformance::Conformance::assert) and
//! [`assert_chunking`](crate::conformance::Conformance::assert_chunking)
//! on the generated inputs and read sizes. Every built-in matcher's tests
//! go through the same kit.
//!
//! # 6. Fuzzing it
//!
//! Hand-picked inputs find the mistakes you thought of. A coverage-guided
//! fuzzer finds the others, and a pure matcher is the easiest thing to
//! fuzz: [`Conformance::fuzz`](crate::conformance::Conformance::fuzz) is a
//! whole target body, taking the read sizes from the input so the fuzzer
//! steers them too. Copy `fuzz/fuzz_targets/conformance_template.rs`:
//!
//! ```text
//! #![no_main]
//! use connmux::conformance::Conformance;
//! use libfuzzer_sys::fuzz_target;
//!
//! fuzz_target!(|data: &[u8]| Conformance::new(&Tide).bound(5).fuzz(data));
//! ```
//!
//! then `cargo +nightly fuzz run tide`. A finding is a panic whose message
//! is the violation; `cargo fuzz tmin` shortens the input, which then
//! belongs in your tests.
//!
//! # 7. Reading a trace
//!
//! When a connection goes somewhere unexpected, or nowhere, ask the
//! multiplexer why. [`MuxBuilder::trace_decisions`](crate::MuxBuilder::trace_decisions)
//! makes every sniff record a [`DecisionTrace`](crate::DecisionTrace):
//! which route decided what at which byte, what ended the sniff and after
//! how long. A dropped connection's [`Event::Dropped`](crate::Event::Dropped)
//! carries it, and a routed stream has it
//! ([`PeekableStream::decision_trace`](crate::PeekableStream::decision_trace)).
//! The same trace, without a connection, comes from
//! [`DecisionTrace::explain`](crate::DecisionTrace::explain) on a capture:
//!
//! ```
//! use connmux::{matchers, Addresses, DecisionTrace, Matcher, SniffEnd, Verdict};
//!
//! # struct Tide;
//! # impl Matcher for Tide {
//! #     fn verdict(&self, seen: &[u8]) -> Verdict {
//! #         let n = seen.len().min(4);
//! #         if seen[..n] != b"TIDE"[..n] { return Verdict::NoMatch; }
//! #         match seen.get(4) { None => Verdict::NeedMore, Some(1..=3) => Verdict::Match, Some(_) => Verdict::NoMatch }
//! #     }
//! # }
//! let routes: Vec<Box<dyn Matcher>> = vec![
//!     Box::new(Tide),
//!     Box::new(matchers::http1_fast()),
//!     Box::new(matchers::any()),
//! ];
//! // A client that sent "TID" and closed: TIDE held the decision up, so
//! // the routes after it were asked only at the end, and the catch-all
//! // took it.
//! let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"TID");
//! assert_eq!(trace.ended_by(), SniffEnd::Eof);
//! assert_eq!(trace.waiting_on(), Some(0));
//! assert_eq!(trace.route(), Some(2));
//! assert!(trace.steps().iter().all(|step| step.at_end()));
//! assert_eq!(
//!     format!("{trace:#}"),
//!     "route 2 took it, ended by the end of input after 3 bytes, waiting on route 0\n  \
//!      route 0 NoMatch at the end (3 bytes)\n  \
//!      route 1 NoMatch at the end (3 bytes)\n  \
//!      route 2 Match at the end (3 bytes)"
//! );
//!
//! // A browser: TIDE refused it at its first byte, HTTP/1 matched at the
//! // space after the method.
//! let trace = DecisionTrace::explain(&routes, &Addresses::UNKNOWN, b"GET / HTTP/1.1\r\n\r\n");
//! assert_eq!((trace.ended_by(), trace.route()), (SniffEnd::Matched, Some(1)));
//! let (tide, http) = (&trace.steps()[0], &trace.steps()[1]);
//! assert_eq!((tide.verdict(), tide.at_end()), (Verdict::NoMatch, false));
//! assert_eq!((http.verdict(), http.at_end()), (Verdict::Match, false));
//! ```
//!
//! `examples/sniff` does this for a capture file against the routes you
//! deploy, in portshare's route names (a byte pattern stands for TIDE):
//! `cargo run --example sniff -- --explain --routes
//! 'pattern:TIDE[\x01-\x03] http1 any' capture.bin`, or `--routes
//! portshare.conf`.
