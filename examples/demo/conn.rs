//! Helpers every handler shares: recognising a read timeout, and closing
//! a connection after a final reply without losing that reply.

use std::io::{self, Read};
use std::net::Shutdown;
use std::time::Duration;

use connmux::PeekableStream;

/// Whether a read failed because its read timeout passed (the error kind
/// differs between platforms).
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
const LINGER_MAX_BYTES: u64 = 64 * 1024;

/// Closes after a final reply without losing it: closing a socket that
/// still has unread input makes the kernel send a reset, which can destroy
/// the reply before the client reads it. So stop writing first, then
/// discard input until the client closes too (or briefly goes quiet).
pub(crate) fn close_gracefully(stream: &mut PeekableStream) {
    // The reply is already written; failing to drain changes nothing for
    // the client, so errors here are not worth reporting.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER_TIMEOUT));
    let _ = io::copy(&mut stream.take(LINGER_MAX_BYTES), &mut io::sink());
}
