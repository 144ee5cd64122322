//! Locks that a panic does not poison.
//!
//! A matcher, an event callback or an inline handler may panic while its
//! thread holds none of these locks, and every structure here is left
//! consistent between statements, so a poisoned lock only means that some
//! thread panicked somewhere. Treating that as fatal would turn one bad
//! connection into a panic on every later accept: each lock in the crate
//! goes through these helpers instead of `unwrap`.

use std::sync::{LockResult, Mutex, MutexGuard, PoisonError, RwLock};
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

/// What a lock operation (lock, wait, `into_inner`, ...) gives, poisoned
/// or not.
pub(crate) fn unpoisoned<T>(result: LockResult<T>) -> T {
    result.unwrap_or_else(PoisonError::into_inner)
}

/// Locks `mutex`.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    unpoisoned(mutex.lock())
}

/// Locks `lock` for reading.
pub(crate) fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    unpoisoned(lock.read())
}

/// Locks `lock` for writing.
pub(crate) fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    unpoisoned(lock.write())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic;

    #[test]
    fn a_panic_while_locked_leaves_the_value_usable() {
        let mutex = Mutex::new(1);
        let rw = RwLock::new(2);
        let _ = panic::catch_unwind(|| {
            let _held = mutex.lock().unwrap();
            let _written = rw.write().unwrap();
            panic!("poison both");
        });
        assert!(mutex.is_poisoned() && rw.is_poisoned());
        *lock(&mutex) += 1;
        *write(&rw) += 1;
        assert_eq!((*lock(&mutex), *read(&rw)), (2, 3));
        assert_eq!(unpoisoned(mutex.into_inner()), 2);
    }
}
