//! The `Matcher` trait: a pure verdict on the bytes a client has sent so far.
//!
//! Matchers sit between the sniffer (which does all the I/O) and the route
//! table (which applies priority). A matcher sees the whole prefix received
//! so far, every time, and answers `Match`, `NoMatch` or `NeedMore`. It never
//! reads, never sleeps and keeps no per-connection state, so the same bytes
//! always give the same answer, whatever chunks they arrived in.

pub(crate) mod combinators;
pub(crate) mod cursor;

use std::time::Duration;

use crate::address::Addresses;

/// What a [`Matcher`] says about the bytes a client has sent so far.
///
/// A verdict of `Match` or `NoMatch` is final: a correct matcher gives the
/// same verdict for every longer input that starts with the same bytes.
/// `NeedMore` means more bytes could still change the answer.
///
/// ```
/// use connmux::{Matcher, Verdict};
/// use connmux::matchers::http2_preface;
///
/// let h2 = http2_preface();
/// assert_eq!(h2.verdict(b"PRI * HT"), Verdict::NeedMore);
/// assert_eq!(h2.verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
/// assert_eq!(h2.verdict(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Verdict::Match);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The bytes belong to this matcher's protocol, whatever follows.
    Match,
    /// The bytes cannot belong to this matcher's protocol, whatever follows.
    NoMatch,
    /// More bytes are needed to decide.
    NeedMore,
}

impl Verdict {
    /// Turns a yes/no answer on complete input into a verdict.
    ///
    /// ```
    /// use connmux::Verdict;
    ///
    /// let starts_with_brace = |seen: &[u8]| Verdict::from_bool(seen.first() == Some(&b'{'));
    /// assert_eq!(starts_with_brace(b"{\"id\":1}"), Verdict::Match);
    /// assert_eq!(starts_with_brace(b"GET /"), Verdict::NoMatch);
    /// ```
    pub fn from_bool(matched: bool) -> Verdict {
        if matched {
            Verdict::Match
        } else {
            Verdict::NoMatch
        }
    }
}

/// A protocol detector: a pure function of the bytes received so far.
///
/// Implement [`verdict`](Matcher::verdict); closures of type
/// `Fn(&[u8]) -> Verdict` are matchers too. Two rules make a matcher
/// correct, and the crate's property tests check them for every built-in
/// matcher:
///
/// - **Prefix monotonicity**: once `verdict(p)` is `Match` or `NoMatch`,
///   `verdict(p + q)` is the same for every `q`.
/// - **No I/O, no state**: the answer depends on the bytes alone. The
///   multiplexer relies on it: it asks about the empty input (and for a
///   [`silence_timeout`](Matcher::silence_timeout)) once, when its routes
///   are fixed, not for every connection. A matcher may also read the
///   connection's [`Addresses`], which are fixed before its first byte:
///   see [`verdict_with`](Matcher::verdict_with).
///
/// ```
/// use connmux::{Matcher, Verdict};
///
/// // A matcher for a made-up protocol whose clients start with "HELO".
/// let helo = |seen: &[u8]| {
///     let want = b"HELO";
///     let n = seen.len().min(want.len());
///     if seen[..n] != want[..n] {
///         Verdict::NoMatch
///     } else if n == want.len() {
///         Verdict::Match
///     } else {
///         Verdict::NeedMore
///     }
/// };
/// assert_eq!(helo.verdict(b"HE"), Verdict::NeedMore);
/// assert_eq!(helo.verdict(b"HELO there"), Verdict::Match);
/// assert!(!helo.matches_at_end(b"HE"));
/// ```
pub trait Matcher: Send + Sync {
    /// Judges the bytes received so far (`seen` always starts at byte 0 of
    /// the connection).
    ///
    /// ```
    /// use connmux::{Matcher, Verdict};
    /// use connmux::matchers::ssh;
    ///
    /// assert_eq!(ssh().verdict(b"SSH-2."), Verdict::NeedMore);
    /// assert_eq!(ssh().verdict(b"SSH-2.0-OpenSSH_9.6\r\n"), Verdict::Match);
    /// assert_eq!(ssh().verdict(b"GET / HTTP/1.1\r\n"), Verdict::NoMatch);
    /// ```
    fn verdict(&self, seen: &[u8]) -> Verdict;

    /// Judges input that is complete: the client closed, the sniff deadline
    /// passed or the byte limit was reached, so no more bytes will be
    /// looked at.
    ///
    /// The default treats `NeedMore` as no match, which is right for every
    /// matcher except those whose answer flips at the end, such as
    /// [`not`](crate::not): "not HTTP/2" is true of an input that stopped
    /// half-way through the HTTP/2 preface.
    ///
    /// ```
    /// use connmux::{not, Matcher};
    /// use connmux::matchers::http2_preface;
    ///
    /// // A client that sent "PRI * HT" and then stopped.
    /// assert!(!http2_preface().matches_at_end(b"PRI * HT"));
    /// assert!(not(http2_preface()).matches_at_end(b"PRI * HT"));
    /// ```
    fn matches_at_end(&self, seen: &[u8]) -> bool {
        self.verdict(seen) == Verdict::Match
    }

    /// Judges the bytes received so far from a connection with these
    /// [`Addresses`]. The sniffer asks this, never [`verdict`](Matcher::verdict)
    /// directly; the default ignores the addresses.
    ///
    /// A matcher that routes by address overrides it, together with
    /// [`matches_at_end_with`](Matcher::matches_at_end_with) and
    /// [`reads_addresses`](Matcher::reads_addresses), and answers
    /// `verdict` as `verdict_with` of [`Addresses::UNKNOWN`]. The addresses
    /// are fixed before the first byte, so such a matcher stays a pure
    /// function of its input, and prefix-monotone.
    ///
    /// ```
    /// use connmux::{Addresses, Matcher, Verdict};
    /// use connmux::matchers::tls;
    ///
    /// // A matcher for TLS from clients on loopback only.
    /// struct LocalTls;
    ///
    /// impl Matcher for LocalTls {
    ///     fn verdict(&self, seen: &[u8]) -> Verdict {
    ///         self.verdict_with(&Addresses::UNKNOWN, seen)
    ///     }
    ///     fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
    ///         match addresses.client {
    ///             Some(client) if client.ip().is_loopback() => tls().verdict(seen),
    ///             _ => Verdict::NoMatch,
    ///         }
    ///     }
    ///     fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
    ///         self.verdict_with(addresses, seen) == Verdict::Match
    ///     }
    ///     fn reads_addresses(&self) -> bool {
    ///         true
    ///     }
    /// }
    ///
    /// let local = Addresses::direct("127.0.0.1:40000".parse()?, "127.0.0.1:443".parse()?);
    /// let hello = [0x16, 0x03, 0x01];
    /// assert_eq!(LocalTls.verdict_with(&local, &hello), Verdict::NeedMore);
    /// assert_eq!(LocalTls.verdict(&hello), Verdict::NoMatch);
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
        let _ = addresses;
        self.verdict(seen)
    }

    /// [`matches_at_end`](Matcher::matches_at_end) for a connection with
    /// these [`Addresses`]; the default ignores them.
    fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
        let _ = addresses;
        self.matches_at_end(seen)
    }

    /// Whether this matcher's verdicts depend on the connection's
    /// [`Addresses`]. The multiplexer reads a connection's addresses, and
    /// asks the routes about its empty input, for each connection when one
    /// of its routes does, and once for all of them otherwise. The default
    /// is `false`.
    ///
    /// ```
    /// use connmux::{all_of, Matcher};
    /// use connmux::matchers::{from, tls};
    ///
    /// assert!(all_of((from(["10.0.0.0/8"])?, tls())).reads_addresses());
    /// assert!(!tls().reads_addresses());
    /// # Ok::<(), connmux::IpNetError>(())
    /// ```
    fn reads_addresses(&self) -> bool {
        false
    }

    /// Bytes the sniffer should send the client, once per connection, while
    /// this matcher's route is the one holding up the decision (it says
    /// `NeedMore` and every earlier route has said `NoMatch`).
    ///
    /// For protocols whose clients wait for the server before they say
    /// enough to be recognised: gRPC clients that send HEADERS only after
    /// the server's HTTP/2 SETTINGS. `None` sends nothing, and is the
    /// default.
    ///
    /// ```
    /// use connmux::Matcher;
    /// use connmux::matchers::{grpc, HTTP2_PREFACE};
    ///
    /// let waits_for_server = grpc().send_settings();
    /// // Once the preface has arrived: an empty server SETTINGS frame.
    /// assert_eq!(waits_for_server.reply(HTTP2_PREFACE), Some(&[0, 0, 0, 4, 0, 0, 0, 0, 0][..]));
    /// assert_eq!(waits_for_server.reply(b"PRI * "), None);
    /// assert_eq!(grpc().reply(HTTP2_PREFACE), None);
    /// ```
    fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
        let _ = seen;
        None
    }

    /// Where, in `seen`, the client acknowledged the [`reply`](Matcher::reply)
    /// this matcher had the sniffer send, so that the acknowledgement is
    /// removed from the bytes the handler reads: the real server never
    /// sent that reply and must not see its acknowledgement. Asked once a
    /// route has matched, only of the matcher whose reply was sent.
    ///
    /// ```
    /// use connmux::{Matcher, ReplyAck};
    /// use connmux::matchers::{grpc, HTTP2_PREFACE};
    ///
    /// let mut seen = HTTP2_PREFACE.to_vec();
    /// seen.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // the client's SETTINGS
    /// assert_eq!(grpc().send_settings().reply_ack(&seen), ReplyAck::Pending);
    /// seen.extend([0, 0, 0, 4, 1, 0, 0, 0, 0]); // its ACK of the server's
    /// assert_eq!(grpc().send_settings().reply_ack(&seen), ReplyAck::At(33..42));
    /// ```
    fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
        let _ = seen;
        ReplyAck::None
    }

    /// For a matcher of silence ([`silence`](crate::matchers::silence)):
    /// how long a client may stay silent before this route takes it. Once
    /// that long has passed since accept with no byte received, the
    /// sniffer treats the input as ended at silence: the first route that
    /// matches empty input at its end, or whose silence timeout has
    /// passed, wins. The default is `None`: not a silence matcher.
    ///
    /// ```
    /// use connmux::Matcher;
    /// use connmux::matchers::{http1_fast, silence};
    /// use std::time::Duration;
    ///
    /// let server_first = silence(Duration::from_secs(2));
    /// assert_eq!(server_first.silence_timeout(), Some(Duration::from_secs(2)));
    /// assert_eq!(http1_fast().silence_timeout(), None);
    /// ```
    fn silence_timeout(&self) -> Option<Duration> {
        None
    }
}

/// Where a client's acknowledgement of a matcher's
/// [`reply`](Matcher::reply) sits in the sniffed bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReplyAck {
    /// These bytes are the acknowledgement: the handler never reads them.
    At(std::ops::Range<usize>),
    /// The acknowledgement has not arrived yet: the sniffer keeps reading
    /// (within its deadline and byte limit) until it does.
    Pending,
    /// There is nothing to remove.
    None,
}

impl<F> Matcher for F
where
    F: Fn(&[u8]) -> Verdict + Send + Sync,
{
    fn verdict(&self, seen: &[u8]) -> Verdict {
        self(seen)
    }
}

/// Matcher for a pointer to a matcher: every method asks the pointee, so
/// that a boxed or shared matcher keeps its end answers, replies, silence
/// timeout and address reading.
macro_rules! forward_matcher {
    ($(impl$(<$param:ident>)? for $pointer:ty;)+) => {$(
        impl$(<$param: Matcher + ?Sized>)? Matcher for $pointer {
            fn verdict(&self, seen: &[u8]) -> Verdict {
                (**self).verdict(seen)
            }

            fn matches_at_end(&self, seen: &[u8]) -> bool {
                (**self).matches_at_end(seen)
            }

            fn verdict_with(&self, addresses: &Addresses, seen: &[u8]) -> Verdict {
                (**self).verdict_with(addresses, seen)
            }

            fn matches_at_end_with(&self, addresses: &Addresses, seen: &[u8]) -> bool {
                (**self).matches_at_end_with(addresses, seen)
            }

            fn reads_addresses(&self) -> bool {
                (**self).reads_addresses()
            }

            fn reply(&self, seen: &[u8]) -> Option<&'static [u8]> {
                (**self).reply(seen)
            }

            fn reply_ack(&self, seen: &[u8]) -> ReplyAck {
                (**self).reply_ack(seen)
            }

            fn silence_timeout(&self) -> Option<Duration> {
                (**self).silence_timeout()
            }
        }
    )+};
}

forward_matcher! {
    impl for Box<dyn Matcher>;
    impl for &dyn Matcher;
    impl<M> for std::sync::Arc<M>;
    impl for Borrowed<'_>;
}

/// A borrowed matcher as a route of a table (`&[M]` where `M: Matcher`):
/// what the conformance kit decides with, since a reference to a matcher
/// cannot be one itself (it would be a second `Matcher` impl of a
/// reference to a closure).
pub(crate) struct Borrowed<'a>(pub(crate) &'a dyn Matcher);

impl<'a> std::ops::Deref for Borrowed<'a> {
    type Target = dyn Matcher + 'a;

    fn deref(&self) -> &Self::Target {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_are_matchers_and_default_end_is_match_only() {
        let need_more = |_: &[u8]| Verdict::NeedMore;
        let yes = |_: &[u8]| Verdict::Match;
        assert!(!need_more.matches_at_end(b"x"));
        assert!(yes.matches_at_end(b""));
        let boxed: Box<dyn Matcher> = Box::new(yes);
        assert_eq!(boxed.verdict(b"abc"), Verdict::Match);
        let shared = std::sync::Arc::new(need_more);
        assert_eq!(shared.verdict(b"abc"), Verdict::NeedMore);
        assert_eq!(shared.reply(b""), None);
        assert_eq!(shared.reply_ack(b""), ReplyAck::None);
    }

    #[test]
    fn from_bool() {
        assert_eq!(Verdict::from_bool(true), Verdict::Match);
        assert_eq!(Verdict::from_bool(false), Verdict::NoMatch);
    }
}
