//! Which `accept` errors are worth retrying, and how long to wait.
//!
//! Running out of descriptors (EMFILE, ENFILE), of memory or buffers, and a
//! client that aborted before accept returned are transient: accepting
//! backs off (5 ms, doubling up to 1 s, as Go's net/http does; no sniffer
//! thread takes a turn meanwhile) and tries again. Linux also reports pending network errors of the new
//! socket through accept (see accept(2), "Error handling"); those are
//! retried at once. Anything else (a closed or invalid listener) ends
//! `serve`.

use std::io;
use std::time::Duration;

/// First back-off after a transient accept error.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// Longest back-off between two accept attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// errno values (identical on Linux, the BSDs and macOS).
const ENOMEM: i32 = 12;
const ENFILE: i32 = 23;
const EMFILE: i32 = 24;
#[cfg(target_os = "linux")]
const ENOBUFS: i32 = 105;
#[cfg(not(target_os = "linux"))]
const ENOBUFS: i32 = 55;
/// Linux-only network errors that accept(2) says to treat like EAGAIN.
#[cfg(target_os = "linux")]
const LINUX_NETWORK_ERRORS: &[i32] = &[
    71,  // EPROTO
    64,  // ENONET
    92,  // ENOPROTOOPT
    100, // ENETDOWN
    101, // ENETUNREACH
    112, // EHOSTDOWN
    113, // EHOSTUNREACH
    1,   // EPERM: firewall rules forbade the connection
];
#[cfg(not(target_os = "linux"))]
const LINUX_NETWORK_ERRORS: &[i32] = &[];

/// What a thread does after an `accept` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcceptFailure {
    /// Retry after the back-off.
    Transient,
    /// Give up: `serve` returns the error.
    Fatal,
}

/// Sorts an `accept` error into transient or fatal.
pub(crate) fn classify(error: &io::Error) -> AcceptFailure {
    use io::ErrorKind::*;
    let transient_kind = matches!(
        error.kind(),
        ConnectionAborted
            | ConnectionReset
            | Interrupted
            | WouldBlock
            | TimedOut
            | OutOfMemory
            | NetworkDown
            | NetworkUnreachable
            | HostUnreachable
    );
    let transient_code = error.raw_os_error().is_some_and(|code| {
        [ENOMEM, ENFILE, EMFILE, ENOBUFS].contains(&code) || LINUX_NETWORK_ERRORS.contains(&code)
    });
    if transient_kind || transient_code {
        AcceptFailure::Transient
    } else {
        AcceptFailure::Fatal
    }
}

/// Exponential back-off between failed accepts, reset by a success.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    last: Option<Duration>,
}

impl Backoff {
    /// The wait before the next attempt, doubling each time up to a cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = match self.last {
            None => FIRST_BACKOFF,
            Some(last) => (last * 2).min(MAX_BACKOFF),
        };
        self.last = Some(delay);
        delay
    }

    /// Forgets past failures after a successful accept.
    pub(crate) fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_exhaustion_is_transient_and_bad_sockets_are_fatal() {
        for code in [EMFILE, ENFILE, ENOBUFS, ENOMEM] {
            assert_eq!(
                classify(&io::Error::from_raw_os_error(code)),
                AcceptFailure::Transient,
                "{code}"
            );
        }
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::ConnectionAborted)),
            AcceptFailure::Transient
        );
        const EBADF: i32 = 9;
        const EINVAL: i32 = 22;
        assert_eq!(
            classify(&io::Error::from_raw_os_error(EBADF)),
            AcceptFailure::Fatal
        );
        assert_eq!(
            classify(&io::Error::from_raw_os_error(EINVAL)),
            AcceptFailure::Fatal
        );
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::NotConnected)),
            AcceptFailure::Fatal
        );
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<_> = (0..10).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays[0], Duration::from_millis(5));
        assert_eq!(delays[1], Duration::from_millis(10));
        assert_eq!(delays[9], Duration::from_secs(1));
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(5));
    }
}
