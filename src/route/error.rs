//! `AcceptError`: why `Listener::accept` returned no connection.
//!
//! `accept` does no I/O: it only takes a connection the sniffers queued, so
//! its error is a small `Copy` enum (closed, shut down, timed out, would
//! block) that converts into `io::Error` for `?`.

use std::error::Error;
use std::fmt;
use std::io;

/// Why [`Listener::accept`](crate::Listener::accept) returned no connection.
///
/// It converts into the `io::Error` a `TcpListener` would give in its
/// place (`NotConnected`, `TimedOut`, `WouldBlock`), and back out with
/// [`from_io`](Self::from_io). More variants may come, so a `match` on it
/// needs a `_` arm.
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
#[non_exhaustive]
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
    /// No connection is queued and the listener is in non-blocking mode
    /// ([`Listener::set_nonblocking`](crate::Listener::set_nonblocking)).
    WouldBlock,
}

impl AcceptError {
    /// Recovers the `AcceptError` inside an `io::Error` made from one;
    /// `None` for any other `io::Error`. Example: on the
    /// [type](AcceptError).
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
            AcceptError::WouldBlock => "no connection is queued, and the listener does not wait",
        })
    }
}

impl Error for AcceptError {}

impl From<AcceptError> for io::Error {
    fn from(error: AcceptError) -> io::Error {
        let kind = match error {
            AcceptError::Closed | AcceptError::ShutDown => io::ErrorKind::NotConnected,
            AcceptError::TimedOut => io::ErrorKind::TimedOut,
            AcceptError::WouldBlock => io::ErrorKind::WouldBlock,
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
            (AcceptError::WouldBlock, io::ErrorKind::WouldBlock),
        ] {
            let converted = io::Error::from(error);
            assert_eq!(converted.kind(), kind);
            assert_eq!(AcceptError::from_io(&converted), Some(error));
            assert_eq!(converted.to_string(), error.to_string());
        }
        assert_eq!(AcceptError::from_io(&io::Error::other("x")), None);
    }
}
