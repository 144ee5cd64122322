//! `ServeError`: why `Mux::serve` ended. It ends with an error only when
//! accepting fails for good; transient accept errors are retried.
//!
//! Every error in connmux that has a cause follows one rule, the one the
//! Rust API guidelines give (C-GOOD-ERR, and the error-handling project
//! group's "print the cause once"): `Display` says what failed, and the
//! error that caused it is returned by `source()`, never written into the
//! message too. A reporter that walks `source()` (a log line printing the
//! chain, anyhow's `{:#}`) then prints each cause once. [`Event`]'s
//! `Display`, a log line rather than an error, prints the whole chain.
//!
//! [`Event`]: crate::Event

use std::error::Error;
use std::fmt;
use std::io;

/// Why [`Mux::serve`](crate::Mux::serve) stopped with an error.
///
/// Its `Display` says what failed; the I/O error behind it is its
/// [`source`](Error::source), and `?` into `io::Error` gives that error
/// back.
///
/// ```
/// use connmux::ServeError;
/// use std::error::Error;
/// use std::io;
///
/// let error = ServeError::Accept(io::Error::new(io::ErrorKind::InvalidInput, "bad fd"));
/// assert_eq!(error.to_string(), "accepting connections failed");
/// assert_eq!(error.source().unwrap().to_string(), "bad fd");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The listener's `accept` failed with an error that retrying cannot
    /// fix (a closed or invalid socket, for instance). Transient errors
    /// such as EMFILE are retried after a back-off instead.
    Accept(io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Accept(_) => f.write_str("accepting connections failed"),
        }
    }
}

impl Error for ServeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ServeError::Accept(error) => Some(error),
        }
    }
}

/// The I/O error that ended `serve`, as it came from `accept`.
impl From<ServeError> for io::Error {
    fn from(error: ServeError) -> io::Error {
        match error {
            ServeError::Accept(error) => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DropReason, ProxyError, RouteId};

    /// The messages of `error` and of each error in its `source()` chain,
    /// outermost first, as an error reporter prints them.
    fn chain(error: &(dyn Error + 'static)) -> Vec<String> {
        let mut messages = vec![error.to_string()];
        let mut cause = error.source();
        while let Some(error) = cause {
            messages.push(error.to_string());
            cause = error.source();
        }
        messages
    }

    /// Checks that no message in the chain of `error` repeats one of its
    /// causes, and that the chain is `length` long.
    fn assert_causes_printed_once(error: &(dyn Error + 'static), length: usize) {
        let messages = chain(error);
        assert_eq!(messages.len(), length, "{messages:?}");
        for (index, outer) in messages.iter().enumerate() {
            for cause in &messages[index + 1..] {
                assert!(!outer.contains(cause.as_str()), "{messages:?}");
            }
        }
    }

    #[test]
    fn serve_error_keeps_its_source() {
        let error = ServeError::Accept(io::Error::new(io::ErrorKind::InvalidInput, "bad fd"));
        assert_causes_printed_once(&error, 2);
        assert_eq!(
            chain(&error),
            ["accepting connections failed", "bad fd"],
            "what failed, then why"
        );
        assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn every_error_prints_its_cause_once() {
        let reset = || io::Error::new(io::ErrorKind::ConnectionReset, "peer reset the link");
        let with_cause = [
            DropReason::Io(reset()),
            DropReason::NoSnifferThread(io::Error::new(io::ErrorKind::WouldBlock, "EAGAIN x")),
            DropReason::ProxyHeader(ProxyError::missing()),
        ];
        for reason in with_cause {
            assert_causes_printed_once(&reason, 2);
            // `?` into io::Error keeps the chain: io::Error shows the
            // reason and gives its source.
            assert_causes_printed_once(&io::Error::from(reason), 2);
        }
        let without_cause = [
            DropReason::NotMatched,
            DropReason::TimedOut,
            DropReason::NoFirstByte,
            DropReason::QueueFull(RouteId(1)),
            DropReason::RouteClosed(RouteId(1)),
            DropReason::ShutDown,
            DropReason::MatcherPanicked("index out of bounds".into()),
            DropReason::TooManyConnections,
        ];
        for reason in without_cause {
            assert_causes_printed_once(&reason, 1);
            assert_causes_printed_once(&io::Error::from(reason), 1);
        }
        assert_causes_printed_once(&crate::AcceptError::Closed, 1);
        assert_causes_printed_once(&io::Error::from(crate::AcceptError::TimedOut), 1);
    }
}
