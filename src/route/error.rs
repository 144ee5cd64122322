//! `AcceptError`: why `Listener::accept` returned no connection.
//!
//! `accept` does no I/O: it only takes a connection the sniffers queued, so
//! its error is a small `Copy` enum (closed, shut down, timed out) that
//! converts into `io::Error` for `?`.

use std::error::Error;
use std::fmt;
use std::io;

/// Why [`Listener::accept`](crate::Listener::accept) returned no connection.
///
/// ```
/// use connmux::AcceptError;
/// use std::io;
///
/// let error: io::Error = AcceptError::ShutDown.into();
/// assert_eq!(error.kind(), io::ErrorKind::NotConnected);
/// assert_eq!(AcceptError::from_io(&error), Some(AcceptError::ShutDown));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcceptError {
    /// This route's handle was closed with
    /// [`Listener::close`](crate::Listener::close); its queued connections
    /// were closed with it.
    Closed,
    /// The multiplexer stopped (shut down, or `serve` ended) and every
    /// connection queued before that has been handed out.
    ShutDown,
    /// No connection arrived within the timeout of
    /// [`accept_timeout`](crate::Listener::accept_timeout).
    TimedOut,
}

impl AcceptError {
    /// Recovers the `AcceptError` inside an `io::Error` made from one.
    pub fn from_io(error: &io::Error) -> Option<AcceptError> {
        error.get_ref()?.downcast_ref::<AcceptError>().copied()
    }
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AcceptError::Closed => "this route's listener was closed",
            AcceptError::ShutDown => "the multiplexer has shut down",
            AcceptError::TimedOut => "no connection arrived before the timeout",
        })
    }
}

impl Error for AcceptError {}

impl From<AcceptError> for io::Error {
    fn from(error: AcceptError) -> io::Error {
        let kind = match error {
            AcceptError::Closed | AcceptError::ShutDown => io::ErrorKind::NotConnected,
            AcceptError::TimedOut => io::ErrorKind::TimedOut,
        };
        io::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_convert_and_come_back() {
        for (error, kind) in [
            (AcceptError::Closed, io::ErrorKind::NotConnected),
            (AcceptError::ShutDown, io::ErrorKind::NotConnected),
            (AcceptError::TimedOut, io::ErrorKind::TimedOut),
        ] {
            let converted = io::Error::from(error);
            assert_eq!(converted.kind(), kind);
            assert_eq!(AcceptError::from_io(&converted), Some(error));
            assert_eq!(converted.to_string(), error.to_string());
        }
        assert_eq!(AcceptError::from_io(&io::Error::other("x")), None);
    }
}
