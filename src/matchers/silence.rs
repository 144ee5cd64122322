//! Silence: a route for clients that send nothing at first, as with
//! server-first protocols (SMTP, FTP, MySQL, or an SSH server that waits
//! for the client's banner), like sslh's `on_timeout`.
//!
//! As a byte matcher it can only say that any byte rules silence out; the
//! sniffer supplies the time: once the route's timeout has passed since
//! accept with no byte received, it treats the input as ended at silence
//! (see [`Matcher::silence_timeout`]).

use std::time::Duration;

use crate::matcher::{Matcher, Verdict};

/// Matches a client that stays silent for a first-byte timeout; see
/// [`silence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    timeout: Duration,
}

/// A matcher for clients that send nothing within `timeout` of being
/// accepted.
///
/// Register it as a route of its own (combinators do not pass the timeout
/// on). Routes before it that need bytes do not hold it up: when the
/// timeout passes with no byte received, the routes are asked about empty
/// input at its end, and the first that matches it, or this one, wins. If
/// any byte arrives first, this route says `NoMatch` and routing goes on as
/// usual. Keep `timeout` below the sniff deadline, or the deadline ends the
/// sniff first.
///
/// ```
/// use connmux::{matchers, Matcher, Mux, Verdict};
/// use std::net::TcpListener;
/// use std::time::Duration;
///
/// let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let http = mux.route(matchers::http1_fast());
/// let server_first = mux.route(matchers::silence(Duration::from_millis(500)));
///
/// let silent = matchers::silence(Duration::from_millis(500));
/// assert_eq!(silent.verdict(b""), Verdict::NeedMore);
/// assert_eq!(silent.verdict(b"x"), Verdict::NoMatch);
/// assert_eq!(silent.silence_timeout(), Some(Duration::from_millis(500)));
/// # drop((http, server_first));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn silence(timeout: Duration) -> Silence {
    Silence { timeout }
}

impl Matcher for Silence {
    fn verdict(&self, seen: &[u8]) -> Verdict {
        if seen.is_empty() {
            Verdict::NeedMore
        } else {
            Verdict::NoMatch
        }
    }

    fn silence_timeout(&self) -> Option<Duration> {
        Some(self.timeout)
    }
}
