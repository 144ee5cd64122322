//! Connection IDs for the UNIQUE_ID TLV of `--proxy-v2-options
//! unique-id`: a backend that logs them can tie its lines to portshare's,
//! and to those of the proxy in front when it relays its own.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Hands out IDs: a prefix chosen at start-up, then a counter.
pub(crate) struct UniqueIds {
    prefix: u64,
    next: AtomicU64,
}

impl UniqueIds {
    /// IDs unique within this process (the counter) and, by their prefix,
    /// almost surely across processes and restarts: std seeds each
    /// `RandomState` from the system's random source, and the process ID
    /// and start time are hashed in too.
    pub(crate) fn new() -> UniqueIds {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(process::id());
        if let Ok(since_epoch) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            hasher.write_u128(since_epoch.as_nanos());
        }
        UniqueIds {
            prefix: hasher.finish(),
            next: AtomicU64::new(0),
        }
    }

    /// The next ID: 33 ASCII bytes, within the 128 the TLV allows.
    pub(crate) fn next(&self) -> String {
        let count = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}-{count:016x}", self.prefix)
    }
}
