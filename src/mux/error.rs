//! `ServeError`: why `Mux::serve` ended. It ends with an error only when
//! accepting fails for good; transient accept errors are retried.

use std::error::Error;
use std::fmt;
use std::io;

/// Why [`Mux::serve`](crate::Mux::serve) stopped with an error.
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
            ServeError::Accept(error) => write!(f, "accepting connections failed: {error}"),
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

    #[test]
    fn serve_error_keeps_its_source() {
        let error = ServeError::Accept(io::Error::new(io::ErrorKind::InvalidInput, "bad fd"));
        assert_eq!(error.to_string(), "accepting connections failed: bad fd");
        assert_eq!(error.source().unwrap().to_string(), "bad fd");
        assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidInput);
    }
}
