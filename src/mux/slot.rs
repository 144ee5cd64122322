//! The slot a sniffer thread holds its connection in while sniffing it,
//! where shutdown can reach it: shutting the socket down makes a blocked
//! read return at once, which is what keeps shutdown prompt when no
//! deadline is set.

use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use crate::source::connection::Connection;
use crate::sync::lock::{read, write};

/// The connection a sniffer thread is working on, reachable by shutdown.
pub(crate) struct SniffSlot<C> {
    conn: RwLock<Option<C>>,
    /// Set while the thread runs an inline route's handler: `serve` does
    /// not wait for handlers, so it does not join such a thread.
    in_handler: AtomicBool,
}

impl<C: Connection> SniffSlot<C> {
    pub(crate) fn new() -> Self {
        SniffSlot {
            conn: RwLock::new(None),
            in_handler: AtomicBool::new(false),
        }
    }

    /// Marks the thread as running (or done running) an inline handler.
    pub(crate) fn set_in_handler(&self, running: bool) {
        self.in_handler.store(running, Ordering::SeqCst);
    }

    /// Whether the thread is running an inline handler.
    pub(crate) fn in_handler(&self) -> bool {
        self.in_handler.load(Ordering::SeqCst)
    }

    /// Puts `conn` in the slot for the duration of its sniff.
    pub(crate) fn hold(&self, conn: C) {
        *write(&self.conn) = Some(conn);
    }

    /// Runs `sniff` on the held connection; `None` if the slot is empty.
    ///
    /// The sniff, and the matchers (user code) in it, run under the
    /// slot's read lock, and that is harmless: the only writer is this
    /// same thread (`hold` before, `release` after), so no writer can be
    /// waiting meanwhile, and every other user of the lock (`interrupt`,
    /// from shutdown) only reads and so gets it at once. The lock is
    /// private to the pool, so a matcher cannot take it again. What it
    /// buys is that `interrupt` can reach the connection while it is
    /// being read, with no reference count or allocation per connection.
    pub(crate) fn with<R>(&self, sniff: impl FnOnce(&C) -> R) -> Option<R> {
        let guard = read(&self.conn);
        guard.as_ref().map(sniff)
    }

    /// Takes the connection back out once its sniff is over.
    pub(crate) fn release(&self) -> Option<C> {
        write(&self.conn).take()
    }

    /// Shuts down the held connection, if any, so its sniff ends now.
    ///
    /// The connection's `shutdown` (user code, for a source of the
    /// user's) runs under the read lock, which keeps the connection from
    /// being released and dropped meanwhile; it delays only this slot's
    /// thread, whose connection is being closed anyway.
    pub(crate) fn interrupt(&self) {
        if let Some(conn) = read(&self.conn).as_ref() {
            // The connection is being dropped anyway; a socket that is
            // already closed has nothing left to interrupt.
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::pair;
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn interrupt_ends_a_blocked_read() {
        let slot = Arc::new(SniffSlot::new());
        let (_client, server) = pair();
        slot.hold(server);
        let reader = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || slot.with(|c| c.read_shared(&mut [0u8; 4]).unwrap()))
        };
        thread::sleep(Duration::from_millis(20));
        slot.interrupt();
        assert_eq!(reader.join().unwrap(), Some(0));
        assert!(slot.release().is_some());
        assert!(slot.release().is_none());
    }
}
